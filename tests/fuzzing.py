"""schemathesis against a service's OpenAPI, as one subprocess run: the runner every service's
fuzz test uses (bounded examples, fixed seed, one worker: two trip a hypothesis cache race)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

ST = Path(sys.executable).parent / "st"
BOTH_CHECKS = "not_a_server_error,response_schema_conformance"


async def fuzz(
    base: str,
    cwd: Path,
    *selection: str,
    token: str | None = None,
    max_examples: int = 10,
    seed: int = 4242,
    checks: str = BOTH_CHECKS,
    min_generated: int = 100,
) -> str:
    """Run schemathesis; fail with the report on a 5xx or a response outside its schema."""
    auth = ["--header", f"Authorization: Bearer {token}"] if token else []
    proc = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{base}/openapi.json",
        "--checks", checks,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--no-shrink",
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "20",
        "--no-color",
        *auth,
        *selection,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    report = out.decode(errors="replace")
    (cwd / "schemathesis.log").write_text(report)
    start = max(report.find("FAILURES"), 0)
    assert proc.returncode == 0, report[start : start + 8000]
    generated = re.search(r"(\d+) generated", report)
    assert generated and int(generated.group(1)) >= min_generated, report[-2000:]
    return report

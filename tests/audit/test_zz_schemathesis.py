"""schemathesis against audit's OpenAPI: no 5xx, every response within its schema (runs last)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import make_user

pytestmark = pytest.mark.asyncio
ST = Path(sys.executable).parent / "st"


async def fuzz(base: str, token: str, cwd: Path, max_examples: int) -> str:
    """Run schemathesis with a bearer token; fail with the report on any 5xx or schema break."""
    proc = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{base}/openapi.json",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(max_examples),
        "--seed", "4244",
        "--no-shrink",
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "20",
        "--header", f"Authorization: Bearer {token}",
        "--no-color",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 150)
    report = out.decode(errors="replace")
    (cwd / "schemathesis.log").write_text(report)
    start = max(report.find("FAILURES"), 0)
    assert proc.returncode == 0, report[start : start + 8000]
    generated = re.search(r"(\d+) generated", report)
    assert generated and int(generated.group(1)) > 100, report[-2000:]
    return report


class TestNoServerError:
    async def test_fuzz_as_medical_director(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        director = await make_user(http, stack, "medical_director")
        await fuzz(stack.url("audit"), director.token, tmp_path, 8)

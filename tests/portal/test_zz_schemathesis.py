"""schemathesis against the portal's OpenAPI: no 5xx, whatever a browser (or a bot) sends."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from common.devstack import Stack

pytestmark = pytest.mark.asyncio
ST = Path(sys.executable).parent / "st"


class TestNoServerError:
    async def test_fuzz_without_a_session(self, stack: Stack, tmp_path: Path):
        # Without a session every page sends the visitor to the login page or refuses the form
        # (no CSRF token): what matters is that nothing a client sends makes the portal fail.
        proc = await asyncio.create_subprocess_exec(
            str(ST), "run", f"{stack.url('portal')}/openapi.json",
            "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "10",
            "--seed", "4244",
            "--no-shrink",
            "--generation-database", "none",
            "--workers", "1",
            "--request-timeout", "20",
            "--no-color",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
        report = out.decode(errors="replace")
        start = max(report.find("FAILURES"), 0)
        assert proc.returncode == 0, report[start : start + 8000]
        generated = re.search(r"(\d+) generated", report)
        assert generated and int(generated.group(1)) > 100, report[-2000:]

"""schemathesis against identity's OpenAPI: no 5xx, no response outside its schema (runs last)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import make_user

pytestmark = pytest.mark.asyncio
ST = Path(sys.executable).parent / "st"


async def fuzz(base: str, token: str, cwd: Path, *selection: str) -> str:
    """Run schemathesis (bounded examples per operation); return its report."""
    proc = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{base}/openapi.json",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "20",
        "--seed", "4242",
        "--no-shrink",
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "20",
        "--header", f"Authorization: Bearer {token}",
        "--no-color",
        *selection,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 150)
    report = out.decode(errors="replace")
    (cwd / "schemathesis.log").write_text(report)
    assert proc.returncode == 0, report[:12000]
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated and generated.group(1) == generated.group(2), report[-3000:]
    return report


@pytest.fixture(autouse=True)
def keep_bootstrap_admin(stack: Stack) -> Iterator[None]:
    """Put the bootstrap admin back: as an officer the fuzzer may demote, rename or lock it."""
    columns = "display_name, profile, active, password_hash, failed_attempts, locked_until"
    saved = stack.postgres.psql(
        f"SELECT row_to_json(a) FROM (SELECT {columns} FROM account WHERE username = 'admin') a",
        "identity",
    ).strip()
    yield
    stack.postgres.psql(
        f"UPDATE account SET ({columns}) = (SELECT {columns} FROM "
        f"json_populate_record(NULL::account, $${saved}$$::json)) WHERE username = 'admin'",
        "identity",
    )


class TestNoServerError:
    async def test_every_operation_as_security_officer(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        # A dedicated officer: the fuzzer may lock it or end its session without harming admin.
        fuzzer = await make_user(http, stack, "security_officer")
        await fuzz(stack.url("identity"), fuzzer.token, tmp_path, "--exclude-path", "/auth/logout")

    async def test_grants_as_medical_director(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        director = await make_user(http, stack, "medical_director")
        await fuzz(
            stack.url("identity"),
            director.token,
            tmp_path,
            "--include-path-regex",
            "^/access-grants",
        )

"""schemathesis against identity's OpenAPI: no 5xx, no response outside its schema (runs last)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.fuzzing import fuzz
from tests.helpers import make_user

pytestmark = pytest.mark.asyncio


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
        await fuzz(
            stack.url("identity"),
            tmp_path,
            "--exclude-path",
            "/auth/logout",
            token=fuzzer.token,
            max_examples=20,
            min_generated=1,
        )

    async def test_grants_as_medical_director(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        director = await make_user(http, stack, "medical_director")
        await fuzz(
            stack.url("identity"),
            tmp_path,
            "--include-path-regex",
            "^/access-grants",
            token=director.token,
            max_examples=20,
            min_generated=1,
        )

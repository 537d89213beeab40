"""schemathesis against register's OpenAPI: no 5xx, no response outside its schema (runs last)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.fuzzing import fuzz
from tests.helpers import make_user

pytestmark = pytest.mark.asyncio


class TestNoServerError:
    async def test_fuzz_as_security_officer(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        fuzzer = await make_user(http, stack, "security_officer")
        await fuzz(stack.url("register"), tmp_path, token=fuzzer.token, seed=4243)

    async def test_fuzz_as_worker(self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path):
        worker = await make_user(http, stack, "worker", worker_id="w-fuzz")
        await fuzz(stack.url("register"), tmp_path, token=worker.token, max_examples=4, seed=4243)

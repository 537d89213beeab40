"""schemathesis against audit's OpenAPI: no 5xx, every response within its schema (runs last)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from common.devstack import Stack
from tests.fuzzing import fuzz
from tests.helpers import make_user

pytestmark = pytest.mark.asyncio


class TestNoServerError:
    async def test_fuzz_as_medical_director(
        self, stack: Stack, http: httpx.AsyncClient, tmp_path: Path
    ):
        director = await make_user(http, stack, "medical_director")
        await fuzz(stack.url("audit"), tmp_path, token=director.token, max_examples=8, seed=4244)

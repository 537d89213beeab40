"""schemathesis against the portal's OpenAPI: no 5xx, whatever a browser (or a bot) sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.devstack import Stack
from tests.fuzzing import fuzz

pytestmark = pytest.mark.asyncio


class TestNoServerError:
    async def test_fuzz_without_a_session(self, stack: Stack, tmp_path: Path):
        # Without a session every page sends the visitor to the login page or refuses the form
        # (no CSRF token): what matters is that nothing a client sends makes the portal fail.
        # Pages answer HTML, so only server errors are checked.
        await fuzz(stack.url("portal"), tmp_path, checks="not_a_server_error", seed=4245)

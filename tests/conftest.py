"""One private stack per test session: real PostgreSQL, real broker, the four services.

OHS_TEST_SERVICES=identity,records limits which services start (for focused local runs).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from common.devstack import Ports, Stack
from tests.audit.support import FAKE_SEQ_BASE

os.environ.setdefault("OHS_ENVIRONMENT", "development")


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """PostgreSQL, Tansu and every service on free ports, migrated, without demo data."""
    data_dir = tmp_path_factory.mktemp("stack")
    only = os.environ.get("OHS_TEST_SERVICES")
    stack = Stack(
        data_dir,
        Ports.free(),
        demo=False,
        durable=False,
        admin_password="Admin-Test-Passw0rd!",
        services=only.split(",") if only else None,
        say=lambda _: None,
        # The audit tests publish envelopes of their own, numbered from FAKE_SEQ_BASE up so they
        # never take a number a real relay will use: far past the relays' heartbeats, which the
        # consumer would otherwise quarantine as implausible (tests/audit/test_gaps_policy.py
        # checks that rule with the production margin).
        extra_env={"AUDIT_IMPLAUSIBLE_SEQ_MARGIN": str(10 * FAKE_SEQ_BASE)},
    )
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the services of the stack."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client

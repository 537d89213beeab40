"""Fixtures for the shared library's tests: a service built with create_app, run in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.devstack import Stack
from common.settings import ServiceSettings
from tests.common.apps import KeyServer, SigningKey, build


@pytest.fixture
def keys() -> KeyServer:
    return KeyServer(keys=[SigningKey()])


@pytest.fixture
async def client(stack: Stack, keys: KeyServer) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        service_name="libtest",
        database_url=stack.postgres.url("records"),
        kafka_bootstrap=stack.broker.bootstrap,
        max_body_bytes=10_000,
    )
    app = build(settings, keys)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield client

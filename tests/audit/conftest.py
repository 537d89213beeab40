"""Fixtures of the audit tests: a producer on the stack's broker, SQL as superuser."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, dev_signers, dsn


@pytest.fixture(scope="session")
async def producer(stack: Stack) -> AsyncIterator[SignedProducer]:
    """A producer on the stack's broker, signing with the stack's dev keys as a relay does."""
    p = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, enable_idempotence=False)
    await p.start()
    try:
        yield SignedProducer(p, dev_signers(stack))
    finally:
        await p.stop()


@pytest.fixture(scope="session")
async def db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    """The audit database as the superuser (to look, and to tamper like an intruder)."""
    conn = await asyncpg.connect(dsn(stack))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def events(db: asyncpg.Connection) -> Events:
    """The envelope factory."""
    return Events(db)

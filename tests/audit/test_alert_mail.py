"""The medical director's e-mail of a new high alert, sent to a local SMTP server (aiosmtpd)
that the test starts; off by default."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from audit.alerts.mail import AlertMailer, enabled
from audit.settings import Settings
from common.db import make_engine, make_sessionmaker, utcnow
from common.devstack import Stack
from tests.audit.support import Events, SignedProducer, care, staff
from tests.audit.test_alert_quality import send_all
from tests.helpers import eventually

pytestmark = pytest.mark.asyncio


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_off_by_default():
    assert not enabled(Settings())
    assert not enabled(Settings(smtp_host="127.0.0.1"))


async def test_a_high_alert_is_mailed_to_the_director_once(
    stack: Stack, db, producer: SignedProducer, events: Events, smtp
):
    inbox, port = smtp
    settings = Settings(
        database_url=stack.database_url("audit"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        alert_mail_to="director@example.org",
        alert_mail_poll_seconds=0.2,
    )
    engine = make_engine(settings.database_url, pool_size=1)
    mailer = AlertMailer(settings, make_sessionmaker(engine), utcnow())
    stop = asyncio.Event()
    task = asyncio.create_task(mailer.run(stop))
    try:
        actor = staff("assistant", name="Nurse Mailed")
        review = await events.make(
            worker_id=f"w-{uuid.uuid4()}", actor=staff("developer"),
            details=care(True, grant="g-mail"),
        )  # fmt: skip
        high = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=actor, details=care(False))
        await send_all(db, producer, [review, high])
        await eventually(lambda: asyncio.sleep(0, inbox.messages), timeout=15)
        await asyncio.sleep(1)
        mine = [m for to, m in inbox.messages if "Nurse Mailed" in m.get_payload()]
        assert len(mine) == 1
        (to, msg), *_ = [(t, m) for t, m in inbox.messages if m in mine]
        assert to == ["director@example.org"]
        assert msg["Subject"] == "[occupational health] high alert: outside_care_team"
        assert "http://127.0.0.1:8005/desk" in msg.get_payload()
        assert not [m for _, m in inbox.messages if "grant_use" in m["Subject"]]
    finally:
        stop.set()
        await task
        await engine.dispose()

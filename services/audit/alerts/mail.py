"""The medical director is told at once (seed 001 §7.2): every new high alert by e-mail.

Off by default: it runs (in the consumer process) only when `AUDIT_SMTP_HOST` and
`AUDIT_ALERT_MAIL_TO` are set. It watches the alert projection for high alerts raised after it
started (a rebuild keeps the old `raised_at`, so nothing is mailed twice), sends each in a
thread, and on an SMTP failure tries the same alerts again on the next tick. The mail names the
rule, the actor and the summary, never medical content (the rules' summaries carry none), and
links to the desk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.projections.models import Alert
from audit.settings import Settings
from audit.tables import table_of
from common.db import utcnow

log = logging.getLogger("ohs.audit.mail")
ALERT = table_of(Alert)


def enabled(settings: Settings) -> bool:
    """Whether alert e-mails are configured."""
    return bool(settings.smtp_host and settings.alert_mail_to)


def message_for(alert: Any, settings: Settings) -> EmailMessage:
    """The e-mail of one alert."""
    msg = EmailMessage()
    msg["Subject"] = f"[occupational health] {alert.severity} alert: {alert.kind}"
    msg["From"] = settings.smtp_from
    msg["To"] = settings.alert_mail_to or ""
    who = f"{alert.actor_name} ({alert.actor_profile})" if alert.actor_name else "no actor"
    msg.set_content(
        f"A {alert.severity} alert was raised at {alert.raised_at.isoformat()}.\n\n"
        f"Rule: {alert.kind}\nActor: {who}\nWhat happened: {alert.summary}\n\n"
        f"Triage it on the desk: {settings.desk_url}\nAlert id: {alert.id}\n"
    )
    return msg


def _send(settings: Settings, messages: list[EmailMessage]) -> None:
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        for msg in messages:
            smtp.send_message(msg)


class AlertMailer:
    """Mails the high alerts raised since it started."""

    def __init__(
        self, settings: Settings, maker: async_sessionmaker[AsyncSession], since: datetime | None
    ) -> None:
        self.settings = settings
        self.maker = maker
        self.mark = since or utcnow()
        self.sent = 0

    async def tick(self) -> int:
        """Send what is new; returns how many were sent."""
        async with self.maker() as session:
            rows = (
                (
                    await session.execute(
                        select(Alert)
                        .where(ALERT.c.severity == "high", ALERT.c.raised_at > self.mark)
                        .order_by(ALERT.c.raised_at)
                        .limit(50)
                    )
                )
                .scalars()
                .all()
            )
        if not rows:
            return 0
        messages = [message_for(a, self.settings) for a in rows]
        await asyncio.to_thread(_send, self.settings, messages)
        self.mark = rows[-1].raised_at
        self.sent += len(rows)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every `alert_mail_poll_seconds` until stop; SMTP trouble is logged, retried."""
        while not stop.is_set():
            try:
                await self.tick()
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("alert e-mail not sent (%s): retrying", exc)
            except Exception:
                log.exception("alert e-mail failed: retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.alert_mail_poll_seconds)

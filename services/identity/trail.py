"""Identity's trail: resource blocks, and the events of work done outside a request."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from common.events import Client, Resource, Source
from common.trail import RequestEvents
from identity.users.models import Account

SOURCE: Source = "identity"


def account_resource(account: Account) -> Resource:
    """The resource block for an account."""
    return Resource(type="account", id=str(account.id))


def session_resource(session_id: object) -> Resource:
    """The resource block for a login session."""
    return Resource(type="session", id=str(session_id))


def background_events(app: FastAPI, session: AsyncSession) -> RequestEvents:
    """Events of start-up work and sweeps: no caller, no client, in `session`'s transaction."""
    return RequestEvents(trail=app.state.trail, session=session, client=Client(), caller=None)

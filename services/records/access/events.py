"""access-event/1 for every access to a file, written in the request's transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import make_engine, make_sessionmaker
from common.errors import problem_response
from common.outbox import GroupCommit, build_event, record_events
from common.tokens import Denied, Principal
from records.access.service import Access, AccessDenied

SOURCE = "records"
log = logging.getLogger("records.access")


@dataclass(frozen=True)
class FileContext:
    """What the audit service needs about the file touched: owner, employer, care relation."""

    worker_id: str
    employer: str | None
    care_relationship: bool


def actor_of(principal: Principal) -> dict[str, str]:
    """The actor block of an event."""
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "display_name": principal.display_name,
        "profile": principal.profile.value,
    }


def client_of(request: Request) -> dict[str, str | None]:
    """The client block of an event."""
    return {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent"),
    }


def access_event(
    request: Request,
    access: Access,
    *,
    action: str,
    file: FileContext | None,
    part: str,
    resource_type: str = "worker",
    resource_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One successful access, with the care relationship and grant the audit alerts use."""
    grant = access.grant
    details: dict[str, Any] = {
        "care_relationship": bool(file and file.care_relationship),
        "worker_employer": file.employer if file else None,
        "grant_id": grant.id if grant else None,
        "own_file": access.own_file,
    }
    if extra:
        details.update(extra)
    worker_id = file.worker_id if file else None
    return build_event(
        source=SOURCE,
        action=action,
        outcome="success",
        actor=actor_of(access.principal),
        worker_id=worker_id,
        resource={"type": resource_type, "id": resource_id or worker_id, "part": part},
        purpose=grant.reason if grant else None,
        client=client_of(request),
        details=details,
    )


async def trace(
    session: AsyncSession, request: Request, events: Sequence[dict[str, Any]], *, read: bool
) -> None:
    """Writes: events in the request's transaction. Reads: committed with other reads' traces
    before this returns (tracing of reads can be switched off for benchmark baselines only)."""
    if not read:
        await record_events(session, events)
    elif request.app.state.settings.audit_access:
        await request.app.state.group_commit.record(events)


@asynccontextmanager
async def group_commit_hook(app: FastAPI) -> AsyncIterator[None]:
    """One group-commit writer per app, on a connection of its own.

    Requests hold their pooled connection while they wait for their trace: sharing that pool
    would let a burst of reads take every connection and leave none to commit their traces."""
    engine = make_engine(app.state.settings.database_url, pool_size=1)
    app.state.group_commit = GroupCommit(make_sessionmaker(engine))
    app.state.group_commit.start()
    try:
        yield
    finally:
        await app.state.group_commit.close()
        await engine.dispose()


async def _file_context(session: AsyncSession, worker_id: str, user_id: str) -> FileContext | None:
    row = (
        await session.execute(
            text(
                "SELECT w.employer, EXISTS (SELECT 1 FROM care_member c "
                "WHERE c.worker_id = w.id AND c.user_id = :user) AS care "
                "FROM worker w WHERE w.id = CAST(:id AS uuid)"
            ),
            {"id": worker_id, "user": user_id},
        )
    ).first()
    if row is None:
        return None
    return FileContext(worker_id, row.employer, bool(row.care))


async def on_denied(request: Request, exc: Exception) -> JSONResponse:
    """Trace a refused attempt in its own transaction (the request's was rolled back), then 403."""
    assert isinstance(exc, Denied)
    principal = exc.principal
    if isinstance(exc, AccessDenied):
        action, worker_id, resource = exc.action, exc.worker_id, exc.resource
    else:
        worker_id = request.path_params.get("worker_id")
        worker_id = str(worker_id) if worker_id else None
        action = {"GET": "read", "POST": "create"}.get(request.method, "update")
        resource = {"type": "worker", "id": worker_id, "part": exc.right}
    grant = principal.grant_for(worker_id) if worker_id else None
    try:
        async with request.app.state.sessionmaker() as session:
            file = await _file_context(session, worker_id, principal.user_id) if worker_id else None
            event = build_event(
                source=SOURCE,
                action=action,
                outcome="denied",
                actor=actor_of(principal),
                worker_id=worker_id,
                resource=resource,
                purpose=grant.reason if grant else None,
                client=client_of(request),
                details={
                    "care_relationship": bool(file and file.care_relationship),
                    "worker_employer": file.employer if file else None,
                    "grant_id": grant.id if grant else None,
                    "reason": exc.detail,
                },
            )
            await record_events(session, [event])
            await session.commit()
    except Exception:
        # The refusal stands even when it cannot be traced: nothing was served.
        log.exception("could not trace a denied attempt on %s", request.url.path)
    return problem_response(exc)

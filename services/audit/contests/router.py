"""A worker's own side of the trail: one entry, the PDF of the history, contests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from audit.contests import service
from audit.contests.schemas import ContestCreate, ContestCreated, ContestList
from audit.history.router import Filter
from audit.history.schemas import AccessEntryRead
from audit.history.service import entry_read
from audit.reports.router import _rows, log_positions
from audit.reports.service import pdf_report
from audit.settings import Settings
from audit.store.service import head
from common.db import SessionDep, utcnow
from common.events import Resource
from common.tokens import CurrentUser, bearer_token
from common.trail import TracedEvents

router = APIRouter(tags=["contests"])

EventId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
WardId = Annotated[str | None, Query(max_length=64, description="a ward's file (guardians)")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get(
    "/me/access-history/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="Who accessed my file, as a printable PDF (worker, or guardian with worker_id)",
)
async def my_report(
    session: SessionDep,
    principal: CurrentUser,
    events: TracedEvents,
    flt: Filter,
    worker_id: WardId = None,
) -> Response:
    """The worker's own history as the report the medical director prints, without details."""
    chosen = service.own_file(principal, worker_id)
    rows = await _rows(session, chosen, flt)
    position, head_hash = await head(session)
    proofs, checkpoints = await log_positions(session, rows)
    body = pdf_report(
        rows,
        worker_id=chosen,
        since=flt.since,
        until=flt.until,
        audience="worker",
        requested_by=f"{principal.display_name} ({principal.profile.value})",
        generated_at=utcnow(),
        integrity=f"chain head {position} {head_hash[:16]}...",
        proofs=proofs,
        checkpoints=checkpoints,
    )
    await events.emit(
        events.draft(
            "export",
            worker_id=chosen,
            resource=Resource(type="access_report", id=chosen, part="pdf-worker"),
        )
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="access-report-{chosen}.pdf"'},
    )


@router.get(
    "/me/access-history/{event_id}",
    response_model=AccessEntryRead,
    summary="One entry of my access history (404 when it is not on my own files)",
)
async def my_entry(
    session: SessionDep, principal: CurrentUser, events: TracedEvents, event_id: EventId
) -> AccessEntryRead:
    """The entry, as the history shows it (no details); a foreign event is a traced 404."""
    service.own_file(principal, None)
    row = await service.own_entry(session, events, principal, event_id)
    await events.emit(
        events.draft(
            "read_history",
            worker_id=row.worker_id,
            resource=Resource(type="access_entry", id=str(row.event_id), part=None),
        )
    )
    return entry_read(row, with_details=False)


@router.post(
    "/me/access-history/{event_id}/contest",
    status_code=201,
    response_model=ContestCreated,
    summary="Contest an access on my history: a request, an incident and an alert",
)
async def contest(
    request: Request,
    session: SessionDep,
    principal: CurrentUser,
    events: TracedEvents,
    event_id: EventId,
    body: ContestCreate,
) -> ContestCreated:
    """Files a data-subject request and an incident (72 h assessment) in the register, and
    stores the contest with its access_contested event (which raises a contested_access alert)
    in one transaction. 404 off the caller's history, 409 when contested already, 503 when the
    register cannot file it (nothing stored then; a retry is safe)."""
    service.own_file(principal, None)
    entry = await service.own_entry(session, events, principal, event_id)
    return await service.create(
        session,
        events,
        principal,
        entry,
        body.reason,
        http=request.app.state.http,
        settings=_settings(request),
        token=bearer_token(request),
        now=utcnow(),
    )


@router.get("/me/contests", response_model=ContestList, summary="My contests and their status")
async def my_contests(
    request: Request,
    session: SessionDep,
    principal: CurrentUser,
    events: TracedEvents,
    worker_id: WardId = None,
) -> ContestList:
    """Newest first; the status and answer come from the register's request."""
    chosen = service.own_file(principal, worker_id)
    contests = await service.listing(
        session,
        chosen,
        http=request.app.state.http,
        settings=_settings(request),
        token=bearer_token(request),
    )
    await events.emit(
        events.draft(
            "read_contests",
            worker_id=chosen,
            resource=Resource(type="contest", id=chosen),
            details={"entries": len(contests.items)},
        )
    )
    return contests

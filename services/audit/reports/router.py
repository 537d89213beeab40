"""Printable access reports (PDF) and the FHIR AuditEvent export of a worker's history."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlmodel import col

from audit.access import Monitor, sees_medical
from audit.history.router import Filter, WorkerId
from audit.history.service import entries
from audit.log.service import latest_checkpoint
from audit.projections.models import AccessEntry
from audit.reports.service import MAX_REPORT_ENTRIES, fhir_bundle, pdf_report
from audit.store.models import Event
from audit.store.service import head
from common.db import SessionDep, utcnow
from common.errors import Problem
from common.events import Resource
from common.rights import Right
from common.tokens import Denied
from common.trail import RequestEvents, TracedEvents

router = APIRouter(tags=["reports"])


async def _rows(session: SessionDep, worker_id: str, flt: Filter) -> list:
    rows, _ = await entries(session, worker_id, flt, limit=MAX_REPORT_ENTRIES)
    if len(rows) >= MAX_REPORT_ENTRIES:
        raise Problem(422, f"More than {MAX_REPORT_ENTRIES} entries: narrow the period")
    return rows


async def log_positions(
    session: SessionDep, rows: list[AccessEntry]
) -> tuple[dict[str, tuple[int, int]], dict[int, str]]:
    """Each row's (leaf index, tree size) in the newest signed tree, and that checkpoint."""
    checkpoint = await latest_checkpoint(session)
    if checkpoint is None:
        return {}, {}
    size = checkpoint.tree_size
    # Leaf i of the tree is the event at store position i + 1 (audit.log.service.receipts).
    proofs = {str(r.event_id): (r.position - 1, size) for r in rows if 0 < r.position <= size}
    return proofs, {size: checkpoint.note}


async def _trace(events: RequestEvents, worker_id: str, what: str) -> None:
    await events.emit(
        events.draft(
            "export",
            worker_id=worker_id,
            resource=Resource(type="access_report", id=worker_id, part=what),
        )
    )


@router.get(
    "/access-history/{worker_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="Printable list of persons who accessed a file (PDF)",
)
async def access_report(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    worker_id: WorkerId,
    flt: Filter,
    audience: Annotated[Literal["director", "authority"], Query()] = "director",
) -> Response:
    """For the medical director, or to hand to the data-protection authority."""
    if audience == "director" and not sees_medical(principal):
        raise Denied(principal, Right.ACCESS_HISTORIES, "The director's report is the director's")
    rows = await _rows(session, worker_id, flt)
    position, head_hash = await head(session)
    proofs, checkpoints = await log_positions(session, rows)
    body = pdf_report(
        rows,
        worker_id=worker_id,
        since=flt.since,
        until=flt.until,
        audience=audience,
        requested_by=f"{principal.display_name} ({principal.profile.value})",
        generated_at=utcnow(),
        integrity=f"chain head {position} {head_hash[:16]}...",
        proofs=proofs,
        checkpoints=checkpoints,
    )
    await _trace(events, worker_id, f"pdf-{audience}")
    filename = f"access-report-{worker_id}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/access-history/{worker_id}/fhir",
    response_class=JSONResponse,
    responses={200: {"content": {"application/fhir+json": {}}}},
    summary="A worker's history as a FHIR R4 Bundle of AuditEvent",
)
async def fhir_export(
    request: Request,
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    worker_id: WorkerId,
    flt: Filter,
) -> JSONResponse:
    """IHE BALP AuditEvents, one per access, each claiming the profile of its kind."""
    rows = await _rows(session, worker_id, flt)
    ids = [r.event_id for r in rows]
    stored = await session.execute(
        select(col(Event.event_id), col(Event.body)).where(col(Event.event_id).in_(ids))
    )
    envelopes = {event_id: json.loads(body) for event_id, body in stored}
    await _trace(events, worker_id, "fhir")
    site = request.app.state.settings.own_employer
    return JSONResponse(
        fhir_bundle(rows, envelopes, generated_at=utcnow(), site=site),
        media_type="application/fhir+json",
    )

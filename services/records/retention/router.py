"""/retention: files past their term, batches the medical director approves, legal holds."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select
from sqlmodel import col

from common.db import SessionDep, utcnow
from common.errors import conflict, not_found
from common.events import Resource
from common.tokens import CurrentUser
from common.trail import TracedEvents
from records.access.events import FileAccess, TracedFile
from records.retention import service
from records.retention.models import Erasure, ErasureBatch, LegalHold
from records.retention.schemas import (
    DueFileRead,
    DuePage,
    ErasureBatchApproval,
    ErasureBatchCreate,
    ErasureBatchRead,
    ErasureRead,
    LegalHoldCreate,
    LegalHoldLift,
    LegalHoldRead,
)

router = APIRouter(tags=["retention"])

HoldPlacing = FileAccess("update", part="legal_hold", medical=False, lock=True)
HoldReading = FileAccess("read", part="legal_hold", medical=False)
BATCH = Resource(type="erasure_batch", part="retention")


def _batch_resource(batch_id: uuid.UUID | None) -> Resource:
    return Resource(type="erasure_batch", id=str(batch_id) if batch_id else None, part="retention")


@router.get("/retention/due", summary="Files past their retention term (medical director)")
async def due_files(
    principal: CurrentUser,
    session: SessionDep,
    events: TracedEvents,
    as_of: Annotated[date | None, Query(ge=date(1900, 1, 1), le=date(2200, 12, 31))] = None,
) -> DuePage:
    """15 years after the end of employment, 40 for listed exposures; held files marked."""
    service.require_director(principal, action="search", worker_id=None, resource=BATCH)
    day = as_of or utcnow().date()
    due = await service.list_due(session, day)
    drafts = [
        events.draft(
            "search",
            worker_id=str(d.worker_id),
            resource=Resource(type="worker", id=str(d.worker_id), part="retention"),
            details={"care_relationship": False, "worker_employer": d.employer},
        )
        for d in due
    ] or [events.draft("search", resource=BATCH, details={"as_of": day.isoformat()})]
    await events.emit(*drafts, now=True)
    return DuePage(
        as_of=day,
        items=[
            DueFileRead(
                worker_id=d.worker_id,
                employment_end=d.employment_end,
                years_after_employment=d.years_after_employment,
                term_ended_on=d.term_ended_on,
                legal_hold=d.held,
            )
            for d in due
        ],
    )


@router.post(
    "/retention/batches",
    status_code=status.HTTP_201_CREATED,
    summary="Propose the files due for erasure (medical director)",
)
async def propose_batch(
    body: ErasureBatchCreate, principal: CurrentUser, session: SessionDep, events: TracedEvents
) -> ErasureBatchRead:
    """A batch of the files due and not held; nothing is erased until it is approved."""
    service.require_director(principal, action="create", worker_id=None, resource=BATCH)
    batch = await service.propose(
        session, body.as_of or utcnow().date(), principal.user_id, body.worker_ids
    )
    await events.emit(
        events.draft(
            "create",
            resource=_batch_resource(batch.id),
            details={"as_of": batch.as_of.isoformat(), "files": len(batch.worker_ids)},
        )
    )
    return ErasureBatchRead.model_validate(batch.model_dump())


@router.get("/retention/batches", summary="Erasure batches (medical director)")
async def list_batches(
    principal: CurrentUser,
    session: SessionDep,
    events: TracedEvents,
    status: Annotated[str | None, Query(pattern="^(proposed|approved)$")] = None,
) -> list[ErasureBatchRead]:
    """Newest first."""
    service.require_director(principal, action="read", worker_id=None, resource=BATCH)
    query = select(ErasureBatch).order_by(col(ErasureBatch.proposed_at).desc()).limit(100)
    if status:
        query = query.where(col(ErasureBatch.status) == status)
    rows = list((await session.execute(query)).scalars())
    await events.emit(
        events.draft("read", resource=BATCH, details={"batches": len(rows)}), now=True
    )
    return [ErasureBatchRead.model_validate(b.model_dump()) for b in rows]


async def _batch(session: SessionDep, batch_id: uuid.UUID, *, lock: bool = False) -> ErasureBatch:
    query = select(ErasureBatch).where(col(ErasureBatch.id) == batch_id)
    batch = (await session.execute(query.with_for_update() if lock else query)).scalar()
    if batch is None:
        raise not_found("Erasure batch")
    return batch


@router.get("/retention/batches/{batch_id}", summary="One erasure batch (medical director)")
async def read_batch(
    batch_id: uuid.UUID, principal: CurrentUser, session: SessionDep, events: TracedEvents
) -> ErasureBatchRead:
    """The files proposed, and once approved what was erased and the copies to recall."""
    service.require_director(
        principal, action="read", worker_id=None, resource=_batch_resource(batch_id)
    )
    batch = await _batch(session, batch_id)
    await events.emit(events.draft("read", resource=_batch_resource(batch.id)), now=True)
    return ErasureBatchRead.model_validate(batch.model_dump())


@router.post(
    "/retention/batches/{batch_id}/approve", summary="Approve a batch: erase its files (director)"
)
async def approve_batch(
    batch_id: uuid.UUID,
    body: ErasureBatchApproval,
    principal: CurrentUser,
    session: SessionDep,
    events: TracedEvents,
) -> ErasureBatchRead:
    """Each file still due and not held is erased (one `erase` event each); 409 once approved."""
    service.require_director(
        principal, action="erase", worker_id=None, resource=_batch_resource(batch_id)
    )
    batch = await _batch(session, batch_id, lock=True)
    drafts = await service.approve(session, events, batch, principal, body.comment, utcnow().date())
    await events.emit(*drafts)
    return ErasureBatchRead.model_validate(batch.model_dump())


@router.get(
    "/retention/erasures/{worker_id}", summary="The proof of an erasure and the copies to recall"
)
async def read_erasure(
    worker_id: uuid.UUID, principal: CurrentUser, session: SessionDep, events: TracedEvents
) -> ErasureRead:
    """What is left of an erased file; 404 while the file is not erased."""
    resource = Resource(type="erasure", id=str(worker_id), part="retention")
    service.require_director(principal, action="read", worker_id=str(worker_id), resource=resource)
    erasure = await session.get(Erasure, worker_id)
    if erasure is None:
        raise not_found("Erasure")
    await events.emit(
        events.draft(
            "read",
            worker_id=str(worker_id),
            resource=resource,
            details={"care_relationship": False},
        ),
        now=True,
    )
    return ErasureRead.model_validate(erasure.model_dump())


@router.post(
    "/workers/{worker_id}/legal-holds",
    status_code=status.HTTP_201_CREATED,
    summary="Place a legal hold on a file (medical director)",
)
async def place_hold(
    worker_id: uuid.UUID,
    body: LegalHoldCreate,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, HoldPlacing],
) -> LegalHoldRead:
    """Litigation or an ongoing claim: the file is skipped by every erasure until it is lifted."""
    service.require_director(
        principal,
        action="update",
        worker_id=str(worker_id),
        resource=Resource(type="legal_hold", id=str(worker_id), part="legal_hold"),
    )
    if await session.get(Erasure, worker_id) is not None:
        raise conflict("The file was erased; there is nothing left to hold")
    hold = LegalHold(worker_id=worker_id, placed_by=principal.user_id, **body.model_dump())
    session.add(hold)
    await session.flush()
    file.touched(str(hold.id), hold="placed", kind=hold.kind, reference=hold.reference)
    return LegalHoldRead.model_validate(hold.model_dump())


@router.get("/workers/{worker_id}/legal-holds", summary="Legal holds of a file (medical director)")
async def list_holds(
    worker_id: uuid.UUID,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, HoldReading],
) -> list[LegalHoldRead]:
    """Every hold, lifted ones included, newest first."""
    service.require_director(
        principal,
        action="read",
        worker_id=str(worker_id),
        resource=Resource(type="legal_hold", id=str(worker_id), part="legal_hold"),
    )
    rows = (
        await session.execute(
            select(LegalHold)
            .where(col(LegalHold.worker_id) == worker_id)
            .order_by(col(LegalHold.placed_at).desc())
        )
    ).scalars()
    return [LegalHoldRead.model_validate(h.model_dump()) for h in rows]


@router.post(
    "/workers/{worker_id}/legal-holds/{hold_id}/lift",
    summary="Lift a legal hold (medical director)",
)
async def lift_hold(
    worker_id: uuid.UUID,
    hold_id: uuid.UUID,
    body: LegalHoldLift,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, HoldPlacing],
) -> LegalHoldRead:
    """The hold stays on record with who lifted it, when and why; 409 when lifted already."""
    service.require_director(
        principal,
        action="update",
        worker_id=str(worker_id),
        resource=Resource(type="legal_hold", id=str(hold_id), part="legal_hold"),
    )
    hold = await session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None or hold.worker_id != worker_id:
        raise not_found("Legal hold")
    if hold.lifted_at is not None:
        raise conflict("The hold was lifted already")
    hold.lifted_at = utcnow()
    hold.lifted_by = principal.user_id
    hold.lift_reason = body.reason
    await session.flush()
    file.touched(str(hold.id), hold="lifted")
    return LegalHoldRead.model_validate(hold.model_dump())

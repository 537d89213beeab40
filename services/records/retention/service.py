"""Retention that acts: the files past their term, legal holds, approved batches, erasure.

Nothing is erased without a batch the medical director approved; each file of the batch is
checked again at approval (term passed, no hold, not erased already) under a row lock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, not_found
from common.events import EventDraft, Resource
from common.rights import Profile, Right, Scope
from common.tokens import Principal
from common.trail import RequestEvents
from records.access.service import Access, AccessDenied
from records.exams.models import Exam, FitnessDecision, LabResult
from records.history.models import Revision
from records.history.service import add_revision
from records.movements.models import Movement
from records.notes.models import Note
from records.rectification.models import RectificationTask
from records.retention.models import Erasure, ErasureBatch, LegalHold
from records.workers.models import CareMember, Exposure, Worker, worker_snapshot
from records.workers.service import LONG_RETENTION_AGENTS, SHORT_YEARS, retention

ERASED_NAME = "(erased)"
COPY_KINDS = ("print", "export")
LEGAL_BASIS = (
    "GDPR Art. 17(3)(b) and (c): the file is kept to comply with a legal obligation and for "
    "reasons of public health; the occupational-health file is kept {rule} (until {until})."
)


@dataclass(frozen=True)
class DueFile:
    """A file whose retention term has passed on the day asked."""

    worker_id: uuid.UUID
    employer: str
    employment_end: date
    years_after_employment: int
    term_ended_on: date
    held: bool


def require_director(
    principal: Principal, *, action: str, worker_id: str | None, resource: Resource
) -> Access:
    """Retention decisions are the medical director's: anyone else gets a traced 403."""
    if principal.profile is not Profile.MEDICAL_DIRECTOR:
        raise AccessDenied(
            principal,
            Right.MODIFY,
            action=action,
            worker_id=worker_id,
            resource=resource,
            detail="Only the medical director decides on retention and legal holds",
        )
    return Access(principal=principal, right=Right.MODIFY, scope=Scope.ALL)


DUE_SQL = text(
    """
    SELECT w.id, w.employer, w.employment_end,
      COALESCE((SELECT bool_or(x.agent = ANY(:agents)) FROM exposure x
                WHERE x.worker_id = w.id), false) AS long,
      EXISTS (SELECT 1 FROM legal_hold h WHERE h.worker_id = w.id AND h.lifted_at IS NULL)
        AS held
    FROM worker w
    WHERE w.employment_end IS NOT NULL
      AND w.employment_end <= CAST(:as_of AS date) - make_interval(years => :short)
      AND NOT EXISTS (SELECT 1 FROM erasure e WHERE e.worker_id = w.id)
      AND (CAST(:only AS uuid[]) IS NULL OR w.id = ANY(CAST(:only AS uuid[])))
    ORDER BY w.employment_end, w.id
    """
)


async def list_due(
    session: AsyncSession, as_of: date, only: list[uuid.UUID] | None = None
) -> list[DueFile]:
    """Files past their term on `as_of` (15 years after employment, 40 for listed exposures)."""
    rows = await session.execute(
        DUE_SQL,
        {
            "as_of": as_of,
            "short": SHORT_YEARS,
            "agents": sorted(LONG_RETENTION_AGENTS),
            "only": [str(w) for w in only] if only is not None else None,
        },
    )
    due = []
    for row in rows:
        term = retention(row.employment_end, bool(row.long))
        ends = term["earliest_deletion_on"]
        if ends is not None and ends <= as_of:
            due.append(
                DueFile(
                    row.id,
                    row.employer,
                    row.employment_end,
                    term["years_after_employment"],
                    ends,
                    bool(row.held),
                )
            )
    return due


async def propose(
    session: AsyncSession, as_of: date, proposed_by: str, only: list[uuid.UUID] | None = None
) -> ErasureBatch:
    """A batch of the files due and not held (of `only`, when named), for the director."""
    due = await list_due(session, as_of, only)
    batch = ErasureBatch(
        as_of=as_of,
        worker_ids=[str(d.worker_id) for d in due if not d.held],
        proposed_by=proposed_by,
        outcome={"held": [str(d.worker_id) for d in due if d.held]},
    )
    session.add(batch)
    await session.flush()
    return batch


async def active_holds(session: AsyncSession, worker_id: uuid.UUID) -> list[LegalHold]:
    """The holds not lifted on a file."""
    query = select(LegalHold).where(
        col(LegalHold.worker_id) == worker_id, col(LegalHold.lifted_at).is_(None)
    )
    return list((await session.execute(query)).scalars())


async def copies_of(session: AsyncSession, worker_id: uuid.UUID) -> list[dict[str, Any]]:
    """Printed and exported copies of a file (from its movements), to be recalled."""
    query = (
        select(Movement)
        .where(col(Movement.worker_id) == worker_id, col(Movement.kind).in_(COPY_KINDS))
        .order_by(col(Movement.occurred_at))
    )
    return [
        {
            "movement_id": str(m.id),
            "kind": m.kind,
            "occurred_at": m.occurred_at.isoformat(),
            "actor_id": m.actor_id,
            "actor_name": m.actor_name,
            "actor_profile": m.actor_profile,
            "bundle_id": m.details.get("bundle_id"),
            "subject_request_id": m.details.get("subject_request_id"),
        }
        for m in (await session.execute(query)).scalars()
    ]


async def erase(
    session: AsyncSession, worker: Worker, due: DueFile, batch: ErasureBatch, principal: Principal
) -> Erasure:
    """Erase the health content and reduce the identity to what proves the file and its end."""
    wid = worker.id
    copies = await copies_of(session, wid)
    # Decisions point at exams: they go first.
    for model in (FitnessDecision, Exam, LabResult, Exposure, Note, CareMember, RectificationTask):
        await session.execute(delete(model).where(col(model.worker_id) == wid))
    await session.execute(delete(Revision).where(col(Revision.worker_id) == wid))
    worker.first_name = ERASED_NAME
    worker.last_name = ERASED_NAME
    worker.birth_date = date(worker.birth_date.year, 1, 1)
    worker.department = None
    worker.job_title = None
    worker.guardian_name = None
    worker.surveillance_reasons = []
    worker.version += 1
    worker.updated_at = utcnow()
    worker.updated_by = principal.user_id
    add_revision(
        session,
        entity="worker",
        entity_id=wid,
        worker_id=wid,
        version=worker.version,
        data=worker_snapshot(worker),
        principal=principal,
    )
    erasure = Erasure(
        worker_id=wid,
        batch_id=batch.id,
        employment_end=due.employment_end,
        term_ended_on=due.term_ended_on,
        years_after_employment=due.years_after_employment,
        approved_by=principal.user_id,
        copies=copies,
    )
    session.add(erasure)
    await session.flush()
    return erasure


async def approve(
    session: AsyncSession,
    events: RequestEvents,
    batch: ErasureBatch,
    principal: Principal,
    comment: str,
    today: date,
) -> list[EventDraft]:
    """Erase every file of the batch still due and not held; one `erase` event per file."""
    if batch.status != "proposed":
        raise conflict(f"The batch is {batch.status}; only a proposed batch can be approved")
    ids = [uuid.UUID(w) for w in batch.worker_ids]
    locked = (
        await session.execute(
            select(Worker).where(col(Worker.id).in_(ids)).order_by(col(Worker.id)).with_for_update()
        )
    ).scalars()
    workers = {w.id: w for w in locked}
    due = {d.worker_id: d for d in await list_due(session, today, only=ids)}
    now = utcnow()
    batch.status = "approved"
    batch.approved_at = now
    batch.approved_by = principal.user_id
    batch.approved_by_name = principal.display_name
    batch.approval_comment = comment
    erased: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    drafts = []
    for wid in ids:
        file = due.get(wid)
        worker = workers.get(wid)
        if worker is None or file is None:
            skipped.append({"worker_id": str(wid), "reason": "not due (erased already or term)"})
            continue
        if file.held:
            skipped.append({"worker_id": str(wid), "reason": "legal hold"})
            continue
        erasure = await erase(session, worker, file, batch, principal)
        erased.append(
            {
                "worker_id": str(wid),
                "term_ended_on": file.term_ended_on.isoformat(),
                "copies": erasure.copies,
            }
        )
        drafts.append(
            events.draft(
                "erase",
                worker_id=str(wid),
                resource=Resource(type="worker", id=str(wid), part="record"),
                purpose=f"retention term ended {file.term_ended_on.isoformat()}",
                details={
                    "approval": {
                        "batch_id": str(batch.id),
                        "approved_by": principal.user_id,
                        "approved_by_name": principal.display_name,
                        "approved_at": now.isoformat(),
                        "comment": comment,
                    },
                    "employment_end": file.employment_end.isoformat(),
                    "term_ended_on": file.term_ended_on.isoformat(),
                    "years_after_employment": file.years_after_employment,
                    "copies_to_recall": len(erasure.copies),
                    "care_relationship": False,
                    "worker_employer": file.employer,
                },
            )
        )
    batch.outcome = {**batch.outcome, "erased": erased, "skipped": skipped}
    drafts.append(
        events.draft(
            "update",
            resource=Resource(type="erasure_batch", id=str(batch.id), part="retention"),
            details={"status": "approved", "erased": len(erased), "skipped": len(skipped)},
        )
    )
    await session.flush()
    return drafts


async def file_retention(
    session: AsyncSession, worker_id: uuid.UUID, today: date
) -> dict[str, Any]:
    """The term of one file, its holds and whether it may be erased today (erasure requests)."""
    worker = await session.get(Worker, worker_id)
    if worker is None:
        raise not_found("Worker")
    erasure = await session.get(Erasure, worker_id)
    long = bool(
        (
            await session.execute(
                select(col(Exposure.id)).where(
                    col(Exposure.worker_id) == worker_id,
                    col(Exposure.agent).in_(LONG_RETENTION_AGENTS),
                )
            )
        ).first()
    )
    term = retention(worker.employment_end, long)
    holds = await active_holds(session, worker_id)
    until = term["earliest_deletion_on"]
    erasable = erasure is None and until is not None and until <= today and not holds
    if erasure is not None:
        reason = f"The file was erased on {erasure.erased_at.date().isoformat()}."
    elif until is None or until > today:
        reason = LEGAL_BASIS.format(
            rule=term["rule"], until=until.isoformat() if until else "15 years after it ends"
        )
    elif holds:
        reason = (
            "GDPR Art. 17(3)(e): the file is needed for the establishment, exercise or defence "
            f"of legal claims ({', '.join(f'{h.kind} {h.reference}' for h in holds)})."
        )
    else:
        reason = "The retention term has passed: the file goes to the next retention batch."
    return {
        "worker_id": str(worker_id),
        "earliest_deletion_on": until.isoformat() if until else None,
        "rule": term["rule"],
        "legal_holds": len(holds),
        "erased": erasure is not None,
        "erasable": erasable,
        "legal_reason": reason,
    }

"""Files: create, find, update (versioned), care team, exposures, retention, the whole record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, null, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, invalid
from common.tokens import Principal
from records.access.service import Access
from records.exams.models import FitnessDecision
from records.history.service import add_revision
from records.workers.models import CareMember, Exposure, Worker, worker_snapshot
from records.workers.schemas import ExposureCreate, WorkerCreate, WorkerUpdate

LONG_RETENTION_AGENTS = frozenset({"asbestos", "ionizing_radiation", "carcinogens"})
SHORT_YEARS, LONG_YEARS = 15, 40


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention(employment_end: date | None, long_retention: bool) -> dict[str, Any]:
    """Earliest deletion: 15 years after employment ends, 40 after a listed exposure."""
    years = LONG_YEARS if long_retention else SHORT_YEARS
    rule = (
        f"{years} years after the end of employment"
        + (" (exposure to carcinogens, asbestos or ionizing radiation)" if long_retention else "")
        + ("" if employment_end else "; employment has not ended")
    )
    return {
        "earliest_deletion_on": add_years(employment_end, years) if employment_end else None,
        "years_after_employment": years,
        "rule": rule,
    }


def worker_view(worker: Worker | dict[str, Any], long_retention: bool) -> dict[str, Any]:
    """The administrative part as served, with its retention."""
    data = dict(worker) if isinstance(worker, dict) else worker.model_dump()
    end = data.get("employment_end")
    if isinstance(end, str):
        end = date.fromisoformat(end)
    data["retention"] = retention(end, long_retention)
    return data


def long_retention_column(worker_id: Any) -> Any:
    """Whether the file lists an exposure that keeps it 40 years."""
    return (
        select(func.coalesce(func.bool_or(col(Exposure.agent).in_(LONG_RETENTION_AGENTS)), False))
        .where(col(Exposure.worker_id) == worker_id)
        .scalar_subquery()
    )


def next_exam_due_column(worker_id: Any) -> Any:
    """The review date of the latest fitness decision (null without one or without a date).

    The only date the directory serves from the medical part: the decision itself, the exam
    and the restrictions stay in the file."""
    return (
        select(col(FitnessDecision.review_on))
        .where(col(FitnessDecision.worker_id) == worker_id)
        .order_by(col(FitnessDecision.decided_on).desc(), col(FitnessDecision.created_at).desc())
        .limit(1)
        .scalar_subquery()
    )


def directory_entry(worker: Worker | dict[str, Any], next_exam_due: date | None) -> dict[str, Any]:
    """What administrative staff see of a worker: enough to find them and schedule an exam."""
    data = dict(worker) if isinstance(worker, dict) else worker.model_dump()
    keep = ("id", "first_name", "last_name", "birth_date", "employer", "department")
    return {**{k: data[k] for k in keep}, "next_exam_due": next_exam_due}


async def next_exam_due(session: AsyncSession, worker_id: uuid.UUID) -> date | None:
    """The directory's next-exam date of one worker."""
    due: date | None = (await session.execute(select(next_exam_due_column(worker_id)))).scalar()
    return due


async def create_worker(
    session: AsyncSession, body: WorkerCreate, principal: Principal
) -> tuple[Worker, bool]:
    """A new file with its exposures and care team; version 1 kept."""
    fields = body.model_dump(exclude={"exposures", "care_team"})
    worker = Worker(**fields, created_by=principal.user_id, updated_by=principal.user_id)
    session.add(worker)
    await session.flush()
    for item in body.exposures:
        await add_exposure(session, worker.id, item, principal, flush=False)
    for user_id in dict.fromkeys(body.care_team):
        session.add(CareMember(worker_id=worker.id, user_id=user_id, added_by=principal.user_id))
    add_revision(
        session,
        entity="worker",
        entity_id=worker.id,
        worker_id=worker.id,
        version=1,
        data=worker_snapshot(worker),
        principal=principal,
    )
    await session.flush()
    long = any(e.agent in LONG_RETENTION_AGENTS for e in body.exposures)
    return worker, long


async def update_worker(
    session: AsyncSession, worker: Worker, body: WorkerUpdate, principal: Principal
) -> Worker:
    """A new version of the administrative part; 409 when the client's version is stale."""
    if body.version != worker.version:
        raise conflict(
            f"Worker was changed since version {body.version}", current_version=worker.version
        )
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    for key, value in changes.items():
        setattr(worker, key, value)
    start, end = worker.employment_start, worker.employment_end
    if start and end and end < start:
        raise invalid("employment ends before it starts", [{"field": "body.employment_end"}])
    worker.version += 1
    worker.updated_at = utcnow()
    worker.updated_by = principal.user_id
    add_revision(
        session,
        entity="worker",
        entity_id=worker.id,
        worker_id=worker.id,
        version=worker.version,
        data=worker_snapshot(worker),
        principal=principal,
    )
    await session.flush()
    return worker


async def add_exposure(
    session: AsyncSession,
    worker_id: uuid.UUID,
    body: ExposureCreate,
    principal: Principal,
    *,
    flush: bool = True,
) -> Exposure:
    """Record an exposure (version 1 kept)."""
    exposure = Exposure(
        worker_id=worker_id,
        **body.model_dump(),
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(exposure)
    add_revision(
        session,
        entity="exposure",
        entity_id=exposure.id,
        worker_id=worker_id,
        version=1,
        data=exposure.model_dump(mode="json"),
        principal=principal,
    )
    if flush:
        await session.flush()
    return exposure


async def set_care_team(
    session: AsyncSession, worker_id: uuid.UUID, user_ids: Sequence[str], principal: Principal
) -> list[str]:
    """Replace the care team."""
    await session.execute(delete(CareMember).where(col(CareMember.worker_id) == worker_id))
    unique = list(dict.fromkeys(user_ids))
    session.add_all(
        CareMember(worker_id=worker_id, user_id=u, added_by=principal.user_id) for u in unique
    )
    await session.flush()
    return sorted(unique)


async def search_workers(
    session: AsyncSession,
    *,
    q: str | None,
    employer: str | None,
    only: str | None,
    limit: int,
    offset: int,
    user_id: str,
    directory: bool = False,
) -> list[tuple[Worker, bool, date | None]]:
    """Workers matching a name (prefix, case-insensitive) and employer, with the care relation
    (and, for the directory, the next exam due)."""
    care = (
        exists()
        .where(col(CareMember.worker_id) == Worker.id, col(CareMember.user_id) == user_id)
        .label("care")
    )
    due = next_exam_due_column(Worker.id) if directory else null()
    query = select(Worker, care, due.label("next_exam_due"))
    if q:
        pattern = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(Worker.last_name).like(pattern + "%", escape="\\"),
                func.lower(Worker.first_name).like(pattern + "%", escape="\\"),
            )
        )
    if employer:
        query = query.where(func.lower(Worker.employer) == employer.strip().lower())
    if only:
        try:
            query = query.where(col(Worker.id) == uuid.UUID(only))
        except ValueError:
            return []
    query = query.order_by(col(Worker.last_name), col(Worker.first_name), col(Worker.id))
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [(w, bool(c), d) for w, c, d in rows]


RECORD_SQL = text(
    """
    SELECT to_jsonb(w) AS worker,
      EXISTS (SELECT 1 FROM care_member c WHERE c.worker_id = w.id AND c.user_id = :user)
        AS care,
      COALESCE((SELECT jsonb_agg(to_jsonb(x) ORDER BY x.started_on NULLS LAST, x.created_at)
        FROM exposure x WHERE x.worker_id = w.id), '[]'::jsonb) AS exposures,
      COALESCE((SELECT jsonb_agg(to_jsonb(e) ORDER BY e.performed_on DESC, e.created_at DESC)
        FROM exam e WHERE e.worker_id = w.id), '[]'::jsonb) AS exams,
      COALESCE((SELECT jsonb_agg(to_jsonb(f) ORDER BY f.decided_on DESC, f.created_at DESC)
        FROM fitness_decision f WHERE f.worker_id = w.id), '[]'::jsonb) AS fitness,
      COALESCE((SELECT jsonb_agg(to_jsonb(l) ORDER BY l.sampled_on DESC, l.received_at DESC)
        FROM lab_result l WHERE l.worker_id = w.id), '[]'::jsonb) AS labs,
      COALESCE((SELECT jsonb_agg(c.user_id ORDER BY c.user_id)
        FROM care_member c WHERE c.worker_id = w.id), '[]'::jsonb) AS care_team
    FROM worker w WHERE w.id = :id
    """
)


async def load_record(
    session: AsyncSession, worker_id: uuid.UUID, user_id: str
) -> dict[str, Any] | None:
    """The whole file in one round trip (no N+1 however many exams it holds)."""
    row = (await session.execute(RECORD_SQL, {"id": worker_id, "user": user_id})).first()
    if row is None:
        return None
    data = row._asdict()
    agents = {x["agent"] for x in data["exposures"]}
    data["long_retention"] = bool(agents & LONG_RETENTION_AGENTS)
    return data


def shape_record(data: dict[str, Any], access: Access) -> dict[str, Any]:
    """The record as this caller may see it: a worker gets no third-party data."""
    exams = data["exams"]
    if access.filtered:
        exams = [{**e, "third_party_info": None} for e in exams]
    return {
        "view": "worker" if access.filtered else "full",
        "worker": worker_view(data["worker"], data["long_retention"]),
        "exposures": data["exposures"],
        "exams": exams,
        "fitness_decisions": data["fitness"],
        "lab_results": data["labs"],
        "care_team": data["care_team"],
    }

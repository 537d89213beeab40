"""DPIA: create, assess, validate."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, invalid, not_found
from common.events import Resource
from common.tokens import Principal
from common.trail import RequestEvents
from register.activities.models import ProcessingActivity
from register.dpia.models import Dpia
from register.dpia.schemas import (
    LEVEL_RANK,
    DpiaCreate,
    DpiaRead,
    DpiaStatus,
    DpiaUpdate,
    Level,
    RiskKind,
)

CONTENT = ("title", "context", "risks", "dpo_opinion")


def priority(likelihood: str, severity: str) -> str:
    """High when both axes reach 'significant', medium when one does, low otherwise."""
    high = LEVEL_RANK[Level.SIGNIFICANT]
    hits = sum(LEVEL_RANK[Level(v)] >= high for v in (likelihood, severity))
    return ("low", "medium", "high")[hits]


def missing_risks(risks: list[dict[str, Any]]) -> list[RiskKind]:
    """The feared events not yet assessed."""
    assessed = {r["kind"] for r in risks}
    return [k for k in RiskKind if k.value not in assessed]


def to_read(dpia: Dpia) -> DpiaRead:
    """The served form with priorities."""
    return DpiaRead.model_validate(
        {
            **{k: getattr(dpia, k) for k in DpiaRead.model_fields if hasattr(dpia, k)},
            "risks": [
                {**r, "priority": priority(r["likelihood"], r["severity"])} for r in dpia.risks
            ],
            "missing_risks": missing_risks(dpia.risks),
        }
    )


async def create(
    session: AsyncSession, events: RequestEvents, principal: Principal, body: DpiaCreate
) -> Dpia:
    """A draft DPIA for an existing activity."""
    if await session.get(ProcessingActivity, body.activity_id) is None:
        raise invalid(
            "activity_id names no processing activity",
            [{"field": "body.activity_id", "message": "unknown processing activity"}],
        )
    data = body.model_dump(mode="json")
    dpia = Dpia(
        **{**data, "activity_id": body.activity_id},
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(dpia)
    await session.flush()
    await events.emit(
        events.draft(
            "dpia_created",
            resource=Resource(type="dpia", id=str(dpia.id)),
            details={"activity_id": str(dpia.activity_id), "version": 1},
        )
    )
    return dpia


async def get(session: AsyncSession, dpia_id: uuid.UUID, *, lock: bool = False) -> Dpia:
    """One DPIA or 404."""
    query = select(Dpia).where(col(Dpia.id) == dpia_id)
    if lock:
        query = query.with_for_update()
    dpia = (await session.execute(query)).scalar_one_or_none()
    if dpia is None:
        raise not_found("DPIA")
    return dpia


async def update(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    dpia_id: uuid.UUID,
    body: DpiaUpdate,
) -> Dpia:
    """Change content or validation state; any content change returns a validated DPIA to draft."""
    dpia = await get(session, dpia_id, lock=True)
    if body.version != dpia.version:
        raise conflict(
            f"The DPIA is at version {dpia.version}, not {body.version}; reload it",
            current_version=dpia.version,
        )
    changes = body.changes()
    status = changes.pop("status", None)
    changed = sorted(k for k in CONTENT if k in changes and changes[k] != getattr(dpia, k))
    for name in changed:
        setattr(dpia, name, changes[name])
    if changed and dpia.status != DpiaStatus.DRAFT and status is None:
        status = DpiaStatus.DRAFT
    if status is not None and status != dpia.status:
        if status == DpiaStatus.VALIDATED:
            problems = []
            if not dpia.dpo_opinion:
                problems.append({"field": "body.dpo_opinion", "message": "the DPO's opinion"})
            for kind in missing_risks(dpia.risks):
                problems.append({"field": "body.risks", "message": f"risk {kind.value}"})
            if problems:
                raise invalid(
                    "A DPIA is validated only with the DPO's opinion and all three risks "
                    "assessed; missing: " + ", ".join(p["message"] for p in problems),
                    problems,
                )
            dpia.validated_at = utcnow()
            dpia.validated_by = principal.user_id
        else:
            dpia.validated_at = None
            dpia.validated_by = None
        dpia.status = status
        changed.append("status")
    if not changed:
        return dpia
    dpia.version += 1
    dpia.updated_at = utcnow()
    dpia.updated_by = principal.user_id
    await events.emit(
        events.draft(
            "dpia_updated",
            resource=Resource(type="dpia", id=str(dpia.id)),
            details={"version": dpia.version, "changed": changed, "status": dpia.status},
        )
    )
    await session.flush()
    return dpia


async def listing(session: AsyncSession, activity_id: uuid.UUID | None = None) -> list[Dpia]:
    """Every DPIA, newest first."""
    query = select(Dpia).order_by(col(Dpia.created_at).desc())
    if activity_id is not None:
        query = query.where(col(Dpia.activity_id) == activity_id)
    return list((await session.execute(query)).scalars())

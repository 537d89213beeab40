"""Incidents and breaches: the register, the 72-hour notification rule, Art. 34 information."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.db import utcnow
from common.errors import conflict, invalid, not_found
from common.events import Resource, format_time
from common.tokens import Principal
from common.trail import RequestEvents
from register import deadlines
from register.incidents.models import Incident
from register.incidents.schemas import (
    IncidentCreate,
    IncidentRead,
    IncidentStatus,
    IncidentUpdate,
    NotificationCreate,
)

# Clocks of the callers and of the service are not perfectly in step.
CLOCK_SKEW = timedelta(minutes=5)
ART_33_FACTS = (
    "breach_nature",
    "approx_subjects",
    "approx_records",
    "likely_consequences",
    "measures_taken",
    "dpo_contact",
)


def alert_url(audit_url: str, alert_id: str | None) -> str | None:
    """The audit alert an incident was opened from."""
    return f"{audit_url.rstrip('/')}/alerts/{alert_id}" if alert_id else None


def to_read(incident: Incident, audit_url: str, now: datetime) -> IncidentRead:
    """The served form with the deadline, its state and the link back to the alert."""
    breach = incident.personal_data_breach
    deadline = deadlines.breach_deadline(incident.aware_at) if breach else None
    data = {k: getattr(incident, k) for k in IncidentRead.model_fields if hasattr(incident, k)}
    return IncidentRead.model_validate(
        {
            **data,
            "alert_url": alert_url(audit_url, incident.alert_id),
            "notification_deadline": deadline,
            "notification_overdue": bool(
                deadline and incident.notified_at is None and now > deadline
            ),
            "notified_late": (
                deadlines.notification_late(incident.aware_at, incident.notified_at)
                if breach and incident.notified_at
                else None
            ),
        }
    )


def _field(name: str, message: str) -> list[dict[str, str]]:
    return [{"field": f"body.{name}", "message": message}]


def _not_future(name: str, value: datetime | None, now: datetime) -> None:
    if value is not None and value > now + CLOCK_SKEW:
        raise invalid(f"{name} cannot be in the future", _field(name, "future"))


def late_problem(aware_at: datetime, at: datetime, what: str) -> Exception:
    """The 422 for a breach past its 72-hour window without the reasons for the delay."""
    hours = deadlines.hours_after(aware_at, at)
    deadline = format_time(deadlines.breach_deadline(aware_at))
    return invalid(
        f"{what} {hours} hours after awareness, past the 72-hour deadline ({deadline}): "
        "GDPR Art. 33(1) requires the reasons for the delay; give late_reason",
        _field("late_reason", "required when the 72-hour deadline has passed"),
    )


async def _alert_taken(session: AsyncSession, alert_id: str) -> uuid.UUID | None:
    query = select(col(Incident.id)).where(col(Incident.alert_id) == alert_id)
    return (await session.execute(query)).scalar_one_or_none()


async def create(
    session: AsyncSession, events: RequestEvents, principal: Principal, body: IncidentCreate
) -> Incident:
    """Record an incident; a breach recorded past its deadline needs the reason for the delay."""
    now = utcnow()
    aware_at = body.aware_at or now
    _not_future("aware_at", aware_at, now)
    _not_future("occurred_at", body.occurred_at, now)
    if body.occurred_at is not None and body.occurred_at > aware_at:
        raise invalid(
            "occurred_at cannot be after aware_at", _field("occurred_at", "after aware_at")
        )
    late = now > deadlines.breach_deadline(aware_at)
    if body.personal_data_breach and late and not body.late_reason:
        raise late_problem(aware_at, now, "This breach is declared")
    if body.alert_id is not None:
        existing = await _alert_taken(session, body.alert_id)
        if existing is not None:
            raise conflict(
                f"Alert {body.alert_id} already has an incident", incident_id=str(existing)
            )
    data = body.model_dump(mode="json", exclude={"aware_at", "occurred_at"})
    incident = Incident(
        **data,
        aware_at=aware_at,
        occurred_at=body.occurred_at,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(incident)
    await session.flush()
    await events.emit(
        events.draft(
            "incident_created",
            resource=Resource(type="incident", id=str(incident.id)),
            worker_id=incident.worker_id,
            details={
                "kind": incident.kind,
                "personal_data_breach": incident.personal_data_breach,
                "alert_id": incident.alert_id,
            },
        )
    )
    return incident


async def get(session: AsyncSession, incident_id: uuid.UUID, *, lock: bool = False) -> Incident:
    """One incident or 404."""
    query = select(Incident).where(col(Incident.id) == incident_id)
    if lock:
        query = query.with_for_update()
    incident = (await session.execute(query)).scalar_one_or_none()
    if incident is None:
        raise not_found("Incident")
    return incident


def _check_version(incident: Incident, version: int) -> None:
    if version != incident.version:
        raise conflict(
            f"The incident is at version {incident.version}, not {version}; reload it",
            current_version=incident.version,
        )


async def update(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    incident_id: uuid.UUID,
    body: IncidentUpdate,
) -> Incident:
    """Change an incident from `version`; qualifying it as a late breach needs a reason."""
    now = utcnow()
    incident = await get(session, incident_id, lock=True)
    _check_version(incident, body.version)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"version"})
    _not_future("occurred_at", changes.get("occurred_at"), now)
    _not_future("subjects_informed_at", changes.get("subjects_informed_at"), now)
    occurred = changes.get("occurred_at", incident.occurred_at)
    if occurred is not None and occurred > incident.aware_at:
        raise invalid(
            "occurred_at cannot be after aware_at", _field("occurred_at", "after aware_at")
        )
    becomes_breach = changes.get("personal_data_breach") and not incident.personal_data_breach
    late_reason = changes.get("late_reason", incident.late_reason)
    if (
        becomes_breach
        and incident.notified_at is None
        and now > deadlines.breach_deadline(incident.aware_at)
        and not late_reason
    ):
        raise late_problem(incident.aware_at, now, "This incident is qualified as a breach")
    if changes.get("personal_data_breach") is False and incident.notified_at is not None:
        raise conflict("A breach already notified to the authority stays a breach")
    informed = changes.get("subjects_informed", incident.subjects_informed)
    if "subjects_informed" in changes:
        if informed:
            changes.setdefault("subjects_informed_at", now)
            changes["subjects_not_informed_reason"] = None
        elif not changes.get("subjects_not_informed_reason", incident.subjects_not_informed_reason):
            raise invalid(
                "Not informing the people concerned needs a reason (GDPR Art. 34(3))",
                _field("subjects_not_informed_reason", "required"),
            )
    if "status" in changes:
        closing = changes["status"] == IncidentStatus.CLOSED
        changes["closed_at"] = (incident.closed_at or now) if closing else None
    for key in ("kind", "status"):
        if changes.get(key) is not None:
            changes[key] = changes[key].value
    if "breach_nature" in changes:
        changes["breach_nature"] = [n.value for n in changes["breach_nature"]]
    changed = sorted(k for k, v in changes.items() if getattr(incident, k) != v)
    if not changed:
        return incident
    for name in changed:
        setattr(incident, name, changes[name])
    incident.version += 1
    incident.updated_at = now
    incident.updated_by = principal.user_id
    await events.emit(
        events.draft(
            "incident_updated",
            resource=Resource(type="incident", id=str(incident.id)),
            worker_id=incident.worker_id,
            details={"version": incident.version, "changed": changed, "status": incident.status},
        )
    )
    await session.flush()
    return incident


async def notify(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    incident_id: uuid.UUID,
    body: NotificationCreate,
) -> Incident:
    """Record the notification to the authority; past 72 hours it carries the delay's reasons."""
    now = utcnow()
    incident = await get(session, incident_id, lock=True)
    if not incident.personal_data_breach:
        raise conflict("Only a personal-data breach is notified to the authority")
    if incident.notified_at is not None:
        raise conflict(f"The breach was already notified at {format_time(incident.notified_at)}")
    notified_at = body.notified_at or now
    _not_future("notified_at", notified_at, now)
    if notified_at < incident.aware_at:
        raise invalid(
            "notified_at cannot be before aware_at", _field("notified_at", "before aware_at")
        )
    missing = [name for name in ART_33_FACTS if getattr(incident, name) in (None, [], "")]
    if missing:
        raise invalid(
            "A notification describes the breach (GDPR Art. 33(3)); missing: " + ", ".join(missing),
            [{"field": f"incident.{m}", "message": "required to notify"} for m in missing],
        )
    late = deadlines.notification_late(incident.aware_at, notified_at)
    reason = body.late_reason or incident.late_reason
    if late and not reason:
        raise late_problem(incident.aware_at, notified_at, "Notified")
    incident.notified_at = notified_at
    incident.late_reason = reason
    if body.authority_reference:
        incident.authority_reference = body.authority_reference
    incident.version += 1
    incident.updated_at = now
    incident.updated_by = principal.user_id
    await events.emit(
        events.draft(
            "breach_notified",
            resource=Resource(type="incident", id=str(incident.id)),
            worker_id=incident.worker_id,
            details={
                "hours_after_awareness": deadlines.hours_after(incident.aware_at, notified_at),
                "late": late,
            },
        )
    )
    await session.flush()
    return incident


async def listing(
    session: AsyncSession,
    *,
    breach: bool | None = None,
    status: IncidentStatus | None = None,
) -> list[Incident]:
    """Incidents, most recent awareness first."""
    query = select(Incident).order_by(col(Incident.aware_at).desc())
    if breach is not None:
        query = query.where(col(Incident.personal_data_breach) == breach)
    if status is not None:
        query = query.where(col(Incident.status) == status.value)
    return list((await session.execute(query)).scalars())


async def notification_overdue(session: AsyncSession, now: datetime) -> list[Incident]:
    """Breaches not notified whose 72 hours have passed."""
    query = (
        select(Incident)
        .where(
            col(Incident.personal_data_breach).is_(True),
            col(Incident.notified_at).is_(None),
            col(Incident.aware_at) < now - deadlines.BREACH_WINDOW,
        )
        .order_by(col(Incident.aware_at))
    )
    return list((await session.execute(query)).scalars())

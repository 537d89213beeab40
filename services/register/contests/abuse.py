"""POST /alert-intake: an alert the monitoring committee resolved as abuse opens an incident.

Two proofs, as for contests (common.intake): the caller's own token (the medical director or
the security officer, who triaged the alert in audit) and audit's HMAC signature over the body
(audit checked the alert exists and is theirs to resolve). The incident's id derives from the
alert (and `alert_id` is unique), so a retry returns what the first call filed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from common.db import SessionDep
from common.errors import Problem
from common.events import Resource
from common.intake import SIGNATURE_HEADER, verify
from common.rights import Profile, Right
from common.tokens import CurrentUser, Denied
from common.trail import EventContext
from register import deadlines
from register.contests.router import NAMESPACE, TEXT_MAX
from register.deps import SettingsDep
from register.incidents.models import Incident
from register.incidents.schemas import IncidentKind

router = APIRouter(tags=["contests"])
MONITORS = frozenset({Profile.MEDICAL_DIRECTOR, Profile.SECURITY_OFFICER})
KINDS = {"colleague_file": IncidentKind.COLLEAGUE_CURIOSITY}


class AlertIntake(BaseModel):
    """The alert as audit files it."""

    model_config = ConfigDict(extra="forbid")

    alert_id: uuid.UUID
    kind: str
    summary: str
    worker_id: str | None = None
    actor_name: str | None = None
    actor_profile: str | None = None
    occurred_at: datetime
    count: int = 1
    comment: str
    resolved_by: str


class AlertFiled(BaseModel):
    """The incident filed for the alert."""

    incident_id: uuid.UUID
    assessment_due_at: datetime


@router.post(
    "/alert-intake",
    status_code=201,
    response_model=AlertFiled,
    summary="Open an incident for an alert resolved as abuse (called by audit, signed)",
)
async def alert_intake(
    request: Request,
    session: SessionDep,
    events: EventContext,
    principal: CurrentUser,
    settings: SettingsDep,
) -> AlertFiled | JSONResponse:
    """An incident (illicit access or a colleague's curiosity) with a 72-hour clock from now."""
    raw = await request.body()
    if not verify(
        settings.contest_secret.get_secret_value(), raw, request.headers.get(SIGNATURE_HEADER)
    ):
        raise Problem(403, "Alerts are filed through the audit service (signature missing)")
    if principal.profile not in MONITORS:
        raise Denied(principal, Right.GDPR_REGISTER, "Only the monitoring committee files abuse")
    body = AlertIntake.model_validate_json(raw)
    incident_id = uuid.uuid5(NAMESPACE, f"alert-incident:{body.alert_id}")
    existing = await session.get(Incident, incident_id)
    if existing is not None:
        return JSONResponse(
            AlertFiled(
                incident_id=incident_id,
                assessment_due_at=deadlines.breach_deadline(existing.aware_at),
            ).model_dump(mode="json"),
            status_code=200,
        )
    now = datetime.now(UTC)
    kind = KINDS.get(body.kind, IncidentKind.ILLICIT_ACCESS)
    who = f"{body.actor_name or 'someone'} ({body.actor_profile or 'unknown profile'})"
    description = (
        f"Alert {body.alert_id} ({body.kind}, {body.count} event(s) from {body.occurred_at}) "
        f"resolved as abuse by {body.resolved_by}: {body.summary}. Actor: {who}. "
        f"Comment: {body.comment}"
    )[:TEXT_MAX]
    session.add(
        Incident(
            id=incident_id,
            kind=kind.value,
            title=f"Abuse of access found by the monitoring committee ({body.kind})"[:200],
            description=description,
            occurred_at=body.occurred_at,
            aware_at=now,
            worker_id=body.worker_id,
            alert_id=str(body.alert_id),
            created_by=principal.user_id,
            updated_by=principal.user_id,
        )
    )
    await session.flush()
    await events.emit(
        events.draft(
            "incident_created",
            resource=Resource(type="incident", id=str(incident_id)),
            worker_id=body.worker_id,
            details={
                "kind": kind.value,
                "personal_data_breach": False,
                "alert_id": str(body.alert_id),
            },
        )
    )
    return AlertFiled(incident_id=incident_id, assessment_due_at=deadlines.breach_deadline(now))

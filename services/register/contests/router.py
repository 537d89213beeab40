"""POST /contest-intake: audit files a worker's contest as a data-subject request and an incident.

Two proofs are needed: the worker's own bearer token (who contests, which file) and audit's
HMAC signature over the body (audit checked that the contested event is on that file's
history). A worker calling this directly has no signature; audit alone has no worker token.
The ids derive from the contested event, so a retry returns what the first call filed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from common.db import SessionDep
from common.errors import Problem
from common.events import Resource, format_time
from common.intake import SIGNATURE_HEADER, verify
from common.rights import Right, Scope
from common.tokens import Denied
from common.trail import EventContext
from register import deadlines
from register.access import RegisterAccess
from register.common_schemas import Short, WorkerRef
from register.deps import SettingsDep
from register.incidents.models import Incident
from register.incidents.schemas import IncidentKind
from register.subject_requests.models import SubjectRequest
from register.subject_requests.schemas import RequestKind

router = APIRouter(tags=["contests"])
NAMESPACE = uuid.UUID("2b0f7e55-7c1e-4a43-9d8b-5f3b0c6a9e21")
TEXT_MAX = 4000
INCIDENT_TITLE = "Suspected unauthorised access (contested by the worker)"


class ContestedEvent(BaseModel):
    """What the worker's history shows of the contested access."""

    model_config = ConfigDict(extra="ignore")

    occurred_at: datetime
    actor_name: str | None = None
    actor_profile: str | None = None
    action: str
    part: str | None = None
    outcome: str


class ContestIntake(BaseModel):
    """The contest as audit files it."""

    model_config = ConfigDict(extra="forbid")

    contest_id: uuid.UUID
    event_id: uuid.UUID
    worker_id: WorkerRef
    reason: str
    contested_at: datetime
    assessment_due_at: datetime
    alert_id: Short
    event: ContestedEvent


class ContestFiled(BaseModel):
    """What the register filed for the contest."""

    subject_request_id: uuid.UUID
    incident_id: uuid.UUID
    due_on: str
    assessment_due_at: datetime


def filed_ids(event_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The request's and the incident's ids for a contested event (idempotent filing)."""
    return (
        uuid.uuid5(NAMESPACE, f"contest-request:{event_id}"),
        uuid.uuid5(NAMESPACE, f"contest-incident:{event_id}"),
    )


def _clip(text: str) -> str:
    if len(text) <= TEXT_MAX:
        return text
    return text[: TEXT_MAX - 60].rstrip() + " [...] (full reason in the audit contest)"


@router.post(
    "/contest-intake",
    status_code=201,
    response_model=ContestFiled,
    summary="File a worker's contest of an access (called by audit, signed)",
)
async def contest_intake(
    request: Request,
    session: SessionDep,
    events: EventContext,
    auth: RegisterAccess,
    settings: SettingsDep,
) -> ContestFiled | JSONResponse:
    """A data-subject request (objection, due in one month) and an incident "suspected
    unauthorised access" with a 72-hour breach-assessment clock, both naming the event."""
    raw = await request.body()
    if not verify(
        settings.contest_secret.get_secret_value(), raw, request.headers.get(SIGNATURE_HEADER)
    ):
        raise Problem(403, "Contests are filed through the audit service (signature missing)")
    body = ContestIntake.model_validate_json(raw)
    principal = auth.principal
    if auth.scope is not Scope.OWN or body.worker_id not in principal.own_worker_ids():
        raise Denied(principal, Right.GDPR_REGISTER, "A worker contests accesses to their own file")
    request_id, incident_id = filed_ids(body.event_id)
    existing = await session.get(SubjectRequest, request_id)
    incident = await session.get(Incident, incident_id)
    if existing is not None and incident is not None:
        return JSONResponse(
            ContestFiled(
                subject_request_id=request_id,
                incident_id=incident_id,
                due_on=existing.due_on.isoformat(),
                assessment_due_at=deadlines.breach_deadline(incident.aware_at),
            ).model_dump(mode="json"),
            status_code=200,
        )
    today = settings.today()
    due = deadlines.response_due(today)
    ev = body.event
    who = f"{ev.actor_name or 'someone'} ({ev.actor_profile or 'unknown profile'})"
    seen = (
        f"access event {body.event_id}: {who} {ev.action} "
        f"{ev.part or 'the file'} at {format_time(ev.occurred_at)} ({ev.outcome})"
    )
    if existing is None:
        session.add(
            SubjectRequest(
                id=request_id,
                worker_id=body.worker_id,
                kind=RequestKind.OBJECTION.value,
                received_on=today,
                details=_clip(f"Contest {body.contest_id} of {seen}. Reason: {body.reason}"),
                due_on=due,
                initial_due_on=due,
                filed_by_profile=principal.profile.value,
                created_by=principal.user_id,
                updated_by=principal.user_id,
            )
        )
    if incident is None:
        session.add(
            Incident(
                id=incident_id,
                kind=IncidentKind.ILLICIT_ACCESS.value,
                title=INCIDENT_TITLE,
                description=_clip(
                    f"The worker contests {seen}. Breach assessment due by "
                    f"{format_time(body.contested_at + timedelta(hours=72))} (GDPR Art. 33): "
                    f"close it as a breach or as no breach, with a reason. "
                    f"Contest {body.contest_id}, alert {body.alert_id}, subject request "
                    f"{request_id}. Reason: {body.reason}"
                ),
                occurred_at=ev.occurred_at,
                aware_at=body.contested_at,
                worker_id=body.worker_id,
                alert_id=body.alert_id,
                created_by=principal.user_id,
                updated_by=principal.user_id,
            )
        )
    await session.flush()
    details = {"contest_id": str(body.contest_id), "contested_event_id": str(body.event_id)}
    await events.emit(
        events.draft(
            "subject_request_created",
            resource=Resource(type="subject_request", id=str(request_id)),
            worker_id=body.worker_id,
            details={
                "kind": "objection",
                "status": "received",
                "due_on": due.isoformat(),
                **details,
            },
        ),
        events.draft(
            "incident_created",
            resource=Resource(type="incident", id=str(incident_id)),
            worker_id=body.worker_id,
            details={
                "kind": IncidentKind.ILLICIT_ACCESS.value,
                "personal_data_breach": False,
                "alert_id": body.alert_id,
                **details,
            },
        ),
    )
    return ContestFiled(
        subject_request_id=request_id,
        incident_id=incident_id,
        due_on=due.isoformat(),
        assessment_due_at=deadlines.breach_deadline(body.contested_at),
    )

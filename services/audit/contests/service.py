"""Filing a contest: check the entry is the caller's, file in the register, store with its event."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from audit.contests.models import Contest
from audit.contests.schemas import ContestCreated, ContestList, ContestRead
from audit.core.models import derived_id
from audit.projections.models import AccessEntry
from audit.settings import Settings
from audit.tables import table_of
from common.errors import Problem, conflict, not_found, unavailable
from common.events import Resource, format_time
from common.intake import SIGNATURE_HEADER, sign
from common.rights import Right, Scope
from common.tokens import Denied, Principal
from common.trail import RequestEvents

ENTRY = table_of(AccessEntry)
CONTEST = table_of(Contest)
ALERT_KIND = "contested_access"


def own_file(principal: Principal, worker_id: str | None) -> str:
    """The file a worker (or guardian) acts on; 403 for anyone else or another file."""
    if principal.scope(Right.ACCESS_HISTORIES) is not Scope.OWN:
        raise Denied(principal, Right.ACCESS_HISTORIES, "Only workers and guardians have a file")
    own = principal.own_worker_ids()
    chosen = worker_id or (own[0] if own else None)
    if chosen is None or chosen not in own:
        raise Denied(principal, Right.ACCESS_HISTORIES, "That file is not yours")
    return chosen


async def own_entry(
    session: AsyncSession, events: RequestEvents, principal: Principal, event_id: str
) -> AccessEntry:
    """The history entry of an event on the caller's own files, or a traced 404.

    404 rather than 403: whether an event exists on someone else's file is not the caller's
    business. The attempt is traced all the same (committed at once: the request rolls back)."""
    try:
        eid = uuid.UUID(event_id)
    except ValueError:
        eid = None
    row = None
    if eid is not None and principal.own_worker_ids():
        row = (
            await session.execute(
                select(AccessEntry).where(
                    ENTRY.c.event_id == eid, ENTRY.c.worker_id.in_(principal.own_worker_ids())
                )
            )
        ).scalar_one_or_none()
    if row is None:
        await events.emit(
            events.draft(
                "read_history",
                outcome="denied",
                resource=Resource(type="access_entry", id=event_id[:64], part=None),
                details={"reason": "not on the caller's own history"},
            ),
            now=True,
        )
        raise not_found("Entry on your access history")
    return row


def contest_ids(event_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The access_contested event's id and its alert's id, fixed by the contested event: a
    retried contest can neither raise a second alert nor file a second incident."""
    audit_event_id = derived_id("access-contested", event_id)
    return audit_event_id, derived_id("alert", ALERT_KIND, audit_event_id)


async def file_in_register(
    http: httpx.AsyncClient, settings: Settings, token: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """POST register /contest-intake (idempotent per event); 503 when it cannot be done."""
    body = json.dumps(payload, sort_keys=True).encode()
    signature = sign(settings.contest_secret.get_secret_value(), body)
    try:
        resp = await http.post(
            settings.register_url.rstrip("/") + "/contest-intake",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature,
            },
            timeout=settings.register_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise unavailable(
            "The register cannot be reached: the contest was not recorded, try again later"
        ) from exc
    if resp.status_code != 201 and resp.status_code != 200:
        raise Problem(
            503,
            f"The register refused the contest ({resp.status_code}): it was not recorded, "
            "try again later",
            title="Service Unavailable",
        )
    return dict(resp.json())


async def create(
    session: AsyncSession,
    events: RequestEvents,
    principal: Principal,
    entry: AccessEntry,
    reason: str,
    *,
    http: httpx.AsyncClient,
    settings: Settings,
    token: str,
    now: datetime,
) -> ContestCreated:
    """One contest: a request and an incident in the register, then the contest with its
    access_contested event in one transaction (the event raises the alert)."""
    if (
        await session.execute(select(CONTEST.c.id).where(CONTEST.c.event_id == entry.event_id))
    ).first() is not None:
        raise conflict("This access is contested already")
    contest_id = uuid.uuid4()
    audit_event_id, alert_id = contest_ids(entry.event_id)
    due = now + timedelta(hours=settings.contest_assessment_hours)
    filed = await file_in_register(
        http,
        settings,
        token,
        {
            "contest_id": str(contest_id),
            "event_id": str(entry.event_id),
            "worker_id": entry.worker_id,
            "reason": reason,
            "contested_at": format_time(now),
            "assessment_due_at": format_time(due),
            "alert_id": str(alert_id),
            "event": {
                "occurred_at": format_time(entry.occurred_at),
                "actor_name": entry.actor_name,
                "actor_profile": entry.actor_profile,
                "action": entry.action,
                "part": entry.part,
                "outcome": entry.outcome,
            },
        },
    )
    request_id = uuid.UUID(str(filed["subject_request_id"]))
    incident_id = uuid.UUID(str(filed["incident_id"]))
    answer_due = filed.get("due_on")
    session.add(
        Contest(
            id=contest_id,
            event_id=entry.event_id,
            worker_id=entry.worker_id,
            contested_by=principal.user_id,
            reason=reason,
            created_at=now,
            event_occurred_at=entry.occurred_at,
            event_actor_name=entry.actor_name,
            audit_event_id=audit_event_id,
            subject_request_id=request_id,
            incident_id=incident_id,
            alert_id=alert_id,
            assessment_due_at=due,
            answer_due_on=datetime.fromisoformat(answer_due).date() if answer_due else None,
        )
    )
    draft = events.draft(
        "access_contested",
        worker_id=entry.worker_id,
        resource=Resource(type="access_entry", id=str(entry.event_id), part=entry.part),
        purpose=reason,
        details={
            "contest_id": str(contest_id),
            "contested_event_id": str(entry.event_id),
            "contested_actor": entry.actor_name,
            "contested_action": entry.action,
            "subject_request_id": str(request_id),
            "incident_id": str(incident_id),
            "alert_id": str(alert_id),
            "assessment_due_at": format_time(due),
        },
    ).model_copy(update={"event_id": audit_event_id})
    await events.emit(draft)
    await session.flush()
    return ContestCreated(
        contest_id=contest_id,
        event_id=entry.event_id,
        subject_request_id=request_id,
        incident_id=incident_id,
        alert_id=alert_id,
        assessment_due_at=due,
        answer_due_on=datetime.fromisoformat(answer_due).date() if answer_due else None,
    )


async def listing(
    session: AsyncSession, worker_id: str, *, http: httpx.AsyncClient, settings: Settings,
    token: str,
) -> ContestList:  # fmt: skip
    """The contests on a file, newest first, with the status of their register request."""
    rows = list(
        (
            await session.execute(
                select(Contest)
                .where(CONTEST.c.worker_id == worker_id)
                .order_by(CONTEST.c.created_at.desc())
            )
        ).scalars()
    )
    requests: dict[str, dict[str, Any]] = {}
    answers_unavailable = False
    if rows:
        try:
            resp = await http.get(
                settings.register_url.rstrip("/") + "/subject-requests",
                params={"worker_id": worker_id},
                headers={"Authorization": f"Bearer {token}"},
                timeout=settings.register_timeout_seconds,
            )
            if resp.status_code == 200:
                requests = {str(r["id"]): r for r in resp.json()}
            else:
                answers_unavailable = True
        except httpx.HTTPError:
            answers_unavailable = True
    items = []
    for c in rows:
        req = requests.get(str(c.subject_request_id)) or {}
        status = req.get("status", "received")
        answer = req.get("answer") if status == "answered" else req.get("refusal_reason")
        items.append(
            ContestRead(
                contest_id=c.id,
                event_id=c.event_id,
                worker_id=c.worker_id,
                reason=c.reason,
                created_at=c.created_at,
                event_occurred_at=c.event_occurred_at,
                actor_name=c.event_actor_name,
                subject_request_id=c.subject_request_id,
                incident_id=c.incident_id,
                alert_id=c.alert_id,
                assessment_due_at=c.assessment_due_at,
                answer_due_on=req.get("due_on") or c.answer_due_on,
                status=status
                if status in ("received", "in_progress", "answered", "refused")
                else "received",
                answer=answer,
            )
        )
    return ContestList(worker_id=worker_id, items=items, answers_unavailable=answers_unavailable)

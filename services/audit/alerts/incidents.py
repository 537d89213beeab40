"""An alert resolved as abuse opens an incident in the register in one step.

The same two proofs as a contest (common.intake): the caller's own bearer token (a member of the
monitoring committee) and audit's HMAC signature of the body (audit checked the alert exists).
The incident's id derives from the alert in the register, so a retry files nothing twice."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from audit.projections.models import Alert
from audit.settings import Settings
from common.errors import Problem, unavailable
from common.events import format_time
from common.intake import SIGNATURE_HEADER, sign


async def open_incident(
    http: httpx.AsyncClient,
    settings: Settings,
    token: str,
    alert: Alert,
    comment: str,
    resolved_by: str,
) -> uuid.UUID:
    """POST register /alert-intake; the incident's id, or 503 when it cannot be filed."""
    payload: dict[str, Any] = {
        "alert_id": str(alert.id),
        "kind": alert.kind,
        "summary": alert.summary,
        "worker_id": alert.worker_id,
        "actor_name": alert.actor_name,
        "actor_profile": alert.actor_profile,
        "occurred_at": format_time(alert.occurred_at),
        "count": alert.count,
        "comment": comment,
        "resolved_by": resolved_by,
    }
    body = json.dumps(payload, sort_keys=True).encode()
    try:
        resp = await http.post(
            settings.register_url.rstrip("/") + "/alert-intake",
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(settings.contest_secret.get_secret_value(), body),
            },
            timeout=settings.register_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise unavailable(
            "The register cannot be reached: the alert was not resolved, try again later"
        ) from exc
    if resp.status_code not in (200, 201):
        raise Problem(
            503,
            f"The register refused the incident ({resp.status_code}): the alert was not "
            "resolved, try again later",
            title="Service Unavailable",
        )
    return uuid.UUID(str(resp.json()["incident_id"]))

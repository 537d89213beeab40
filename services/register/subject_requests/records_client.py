"""Calling records for a data-subject request: signed by the register, with the caller's token."""

from __future__ import annotations

import json
from typing import Any

import httpx

from common.errors import Problem, invalid, unavailable
from common.intake import SIGNATURE_HEADER, sign
from register.settings import Settings


async def call_records(
    http: httpx.AsyncClient,
    settings: Settings,
    token: str,
    path: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    """POST one signed intake to records; its refusals become the register's, outages 503."""
    raw = json.dumps(body, sort_keys=True).encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(settings.contest_secret.get_secret_value(), raw),
    }
    url = f"{settings.records_url.rstrip('/')}/subject-request-intake/{path}"
    try:
        resp = await http.post(
            url, content=raw, headers=headers, timeout=settings.audit_timeout_seconds
        )
    except httpx.HTTPError as exc:
        raise unavailable("The records service is unreachable; nothing was changed") from exc
    if resp.status_code in (200, 201):
        answer: dict[str, Any] = resp.json()
        return answer
    if resp.status_code in (404, 422):
        raise invalid(
            "The records service knows no such worker file for this request",
            [{"field": "worker_id", "message": f"records answered {resp.status_code}"}],
        )
    if resp.status_code in (401, 403):
        raise Problem(403, "The records service refused this request for your profile")
    raise unavailable(f"The records service answered {resp.status_code}; nothing was changed")

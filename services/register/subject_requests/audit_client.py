"""Fetching a worker's access history from the audit service, with the caller's token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from common.db import utcnow
from common.errors import forbidden, unavailable

ENTRY_FIELDS = ("occurred_at", "actor_name", "actor_profile", "action", "outcome", "resource")
MAX_PAGES = 50
PAGE_SIZE = "200"


def _page(body: Any) -> tuple[list[dict[str, Any]], str | None]:
    # audit's AccessHistoryPage: {"worker_id", "items": [...], "next_cursor"}.
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ValueError("not an access-history page")
    cursor = body.get("next_cursor")
    return body["items"], cursor if isinstance(cursor, str) and cursor else None


async def fetch_access_history(
    http: httpx.AsyncClient,
    audit_url: str,
    worker_id: str,
    token: str,
    *,
    max_entries: int,
    timeout: float,
) -> dict[str, Any]:
    """Every page of the worker's history (up to max_entries), or a 503 problem."""
    base = f"{audit_url.rstrip('/')}/access-history/{quote(worker_id, safe='')}"
    headers = {"Authorization": f"Bearer {token}"}
    entries: list[dict[str, Any]] = []
    url, params = base, {"limit": PAGE_SIZE}
    complete = False
    for _ in range(MAX_PAGES):
        try:
            resp = await http.get(url, params=params, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise unavailable(
                "The audit service is unreachable; the access history cannot be attached now"
            ) from exc
        if resp.status_code in (401, 403):
            raise forbidden("The audit service does not let you read this worker's history")
        if resp.status_code != 200:
            raise unavailable(
                f"The audit service answered {resp.status_code} for the access history; "
                "nothing was changed, try again later"
            )
        try:
            items, cursor = _page(resp.json())
        except ValueError as exc:
            raise unavailable(
                "The audit service sent an access history that cannot be read"
            ) from exc
        entries.extend({k: e.get(k) for k in ENTRY_FIELDS} for e in items if isinstance(e, dict))
        if cursor is None:
            complete = True
            break
        if len(entries) >= max_entries:
            break
        url, params = base, {"limit": PAGE_SIZE, "cursor": cursor}
    return {
        "fetched_at": utcnow().isoformat(),
        "source": base,
        "complete": complete and len(entries) <= max_entries,
        "entries": entries[:max_entries],
    }

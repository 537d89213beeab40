"""The compliance desk: the medical director's and the security officer's pages.

Alerts inbox (filters, triage, live push of new alerts by Server-Sent Events), a worker's access
history (PDF, FHIR), an actor's activity, the trail's health and the register's deadlines. Every
call goes to the services with the logged-in user's own token, so each service decides and
traces as it does for the API; any other profile gets the refusal page, and the attempt is
traced by audit (the portal asks audit on the caller's behalf, audit refuses and records it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from portal.backend import SessionEnded, Unavailable
from portal.i18n import _
from portal.pages import (
    DESK_PROFILES,
    SAFE_ID,
    LoginNeeded,
    NotForProfile,
    backend_of,
    client_headers,
    csrf_refused,
    redirect,
    refused,
    render,
    unavailable_page,
    user_session,
)
from portal.sessions import PortalSession
from portal.words import entry_view

router = APIRouter(include_in_schema=False)

KINDS = (
    "outside_care_team", "colleague_file", "grant_use", "mass_access", "repeated_denials",
    "lockout", "contested_access", "gap", "forged_event", "broker_log_reset", "tracing_disabled",
)  # fmt: skip
SEVERITIES = ("high", "medium", "review")
STATUSES = ("open", "acknowledged", "resolved", "all")
VERBS = ("acknowledge", "assign", "resolve")
UUID_RE = re.compile(r"^[0-9a-fA-F-]{36}$")
# How often the stream asks audit for the newest alert, and how long one stream lasts before the
# browser reconnects (with Last-Event-ID: nothing is missed).
STREAM_POLL_SECONDS = 1.0
STREAM_MAX_SECONDS = 300.0


async def desk_session(request: Request, *, live: bool = False) -> PortalSession:
    """The medical director or the security officer; anyone else is refused, and audit traces
    the refused attempt (the portal asks it for the alerts with the caller's own token)."""
    sess = await user_session(request, live=live)
    assert sess.user is not None
    if sess.user.profile not in DESK_PROFILES:
        with contextlib.suppress(Unavailable, SessionEnded):
            await backend_of(request).call(
                sess, "audit", "GET", "/alerts", client_headers(request), params={"limit": 1}
            )
        raise NotForProfile()
    return sess


def _clean(value: str | None, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _day(value: str | None) -> date | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return date.fromisoformat(value)
    return None


def alert_view(a: dict[str, Any]) -> dict[str, Any]:
    """What a row of the inbox shows of one alert."""
    return {**a, "open": a.get("status") != "resolved"}


def _rows_html(request: Request, alerts: list[dict[str, Any]], csrf: str) -> str:
    env = request.app.state.templates
    return str(
        env.get_template("_alert_rows.html").render(
            {"alerts": [alert_view(a) for a in alerts], "csrf": csrf}
        )
    )


async def _alerts(request: Request, sess: PortalSession, params: dict[str, Any]) -> Any:
    return await backend_of(request).call(
        sess, "audit", "GET", "/alerts", client_headers(request), params=params
    )


@router.get("/desk", response_class=HTMLResponse)
async def inbox(
    request: Request,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=16)] = "open",
    actor: Annotated[str | None, Query(max_length=64)] = None,
    worker: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    done: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The alerts inbox: filters, triage on every row, new high alerts pushed live."""
    sess = await desk_session(request)
    chosen = {
        "kind": _clean(kind, KINDS),
        "severity": _clean(severity, SEVERITIES),
        "status": _clean(status, STATUSES) or "open",
        "actor_user_id": actor if actor and SAFE_ID.match(actor) else None,
        "worker_id": worker if worker and SAFE_ID.match(worker) else None,
    }
    start, end = _day(since), _day(until)
    params: dict[str, Any] = {k: v for k, v in chosen.items() if v}
    if start:
        params["since"] = datetime.combine(start, datetime.min.time(), UTC).isoformat()
    if end:
        params["until"] = (
            datetime.combine(end, datetime.min.time(), UTC) + timedelta(1)
        ).isoformat()
    if cursor:
        params["cursor"] = cursor
    params["limit"] = 50
    resp = await _alerts(request, sess, params)
    if resp.status_code != 200:
        return refused(request, resp)
    page = resp.json()
    # Live push only on the unfiltered open inbox's first page (what "new" means there).
    live = chosen["status"] == "open" and not cursor
    return render(
        request,
        "desk_inbox.html",
        {
            "alerts": [alert_view(a) for a in page["items"]],
            "next_cursor": page.get("next_cursor"),
            "filters": {**chosen, "since": since or "", "until": until or ""},
            "kinds": KINDS,
            "severities": SEVERITIES,
            "statuses": STATUSES,
            "live": live,
            "stream_since": datetime.now(UTC).isoformat(),
            "done": done if done in ("acknowledged", "assigned", "resolved") else None,
        },
    )


@router.post("/desk/alerts/{alert_id}/{verb}", response_class=HTMLResponse)
async def triage(
    request: Request,
    alert_id: str,
    verb: str,
    csrf_token: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
    assignee: Annotated[str, Form(max_length=200)] = "",
    resolution: Annotated[str, Form(max_length=16)] = "",
    open_incident: Annotated[str, Form(max_length=8)] = "",
    back: Annotated[str, Form(max_length=500)] = "/desk",
) -> Response:
    """Acknowledge, assign or resolve one alert (each an audit event), then back to the list."""
    sess = await desk_session(request)
    if not sess.check_csrf(csrf_token):
        return csrf_refused(request)
    if verb not in VERBS or not UUID_RE.match(alert_id):
        return render(request, "error.html", {"title": _("Page not found"), "detail": ""}, 404)
    body: dict[str, Any]
    if verb == "acknowledge":
        body = {"comment": comment.strip() or _("Seen")}
    elif verb == "assign":
        body = {"assignee": assignee.strip() or (sess.user.username if sess.user else "")}
        if comment.strip():
            body["comment"] = comment.strip()
    else:
        body = {
            "resolution": "abuse" if resolution == "abuse" else "justified",
            "comment": comment.strip(),
            "open_incident": resolution == "abuse" and bool(open_incident),
        }
        if not body["comment"]:
            return render(
                request,
                "error.html",
                {
                    "title": _("Invalid input"),
                    "detail": _("A resolution needs a comment: say what you found."),
                },
                status=422,
            )
    try:
        resp = await backend_of(request).call(
            sess, "audit", "POST", f"/alerts/{alert_id}/{verb}", client_headers(request),
            json=body,
        )  # fmt: skip
    except Unavailable as exc:
        return unavailable_page(request, exc.service)
    if resp.status_code != 200:
        return refused(request, resp)
    done = {"acknowledge": "acknowledged", "assign": "assigned", "resolve": "resolved"}[verb]
    target = back if back.startswith("/desk") and "//" not in back else "/desk"
    sep = "&" if "?" in target else "?"
    return redirect(request, f"{target}{sep}done={done}")


def _later(a: str, b: str) -> str:
    """The later of two RFC 3339 times ("Z" or "+00:00"), as an ISO string."""
    first = datetime.fromisoformat(a.replace("Z", "+00:00"))
    second = datetime.fromisoformat(b.replace("Z", "+00:00"))
    return max(first, second).isoformat()


async def _stream(request: Request, sess: PortalSession, since: str) -> AsyncIterator[str]:
    """Every second: has audit a newer alert? Then the new open high ones, as table rows."""
    backend = backend_of(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen: set[str] = set()
    last_marker: str | None = None
    cursor = since
    down = False
    yield "retry: 1000\n\n"
    while loop.time() - started < STREAM_MAX_SECONDS:
        if await request.is_disconnected():
            return
        try:
            marker = await backend.call(
                sess, "audit", "GET", "/alerts/latest", client_headers(request)
            )
            if down:
                down = False
                yield "event: status\ndata: up\n\n"
            newest = marker.json().get("newest_id") if marker.status_code == 200 else None
            if marker.status_code == 200 and newest and newest != last_marker:
                resp = await _alerts(
                    request, sess,
                    {"status": "open", "severity": "high", "since": cursor, "limit": 200},
                )  # fmt: skip
                if resp.status_code == 200:
                    last_marker = newest
                    fresh = [a for a in resp.json()["items"] if a["id"] not in seen]
                    for a in reversed(fresh):
                        seen.add(a["id"])
                        cursor = _later(cursor, a["raised_at"])
                        html = _rows_html(request, [a], sess.csrf).replace("\n", " ")
                        yield f"id: {cursor}\nevent: alert\ndata: {html}\n\n"
            elif marker.status_code != 200:
                yield "event: status\ndata: refused\n\n"
                return
        except Unavailable:
            if not down:
                down = True
                yield "event: status\ndata: down\n\n"
        except SessionEnded:
            yield "event: status\ndata: ended\n\n"
            return
        await asyncio.sleep(STREAM_POLL_SECONDS)


@router.get("/desk/stream")
async def stream(
    request: Request, since: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """Server-Sent Events: new open high alerts as they are raised. A reconnect sends
    Last-Event-ID (the newest alert's time it got), so what was raised meanwhile comes too."""
    try:
        sess = await desk_session(request, live=True)
    except (LoginNeeded, NotForProfile):
        return JSONResponse({"login": "/"}, status_code=401)
    start = request.headers.get("last-event-id") or since or datetime.now(UTC).isoformat()
    try:
        datetime.fromisoformat(start)
    except ValueError:
        start = datetime.now(UTC).isoformat()
    return StreamingResponse(
        _stream(request, sess, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- a worker's history, an actor's activity ----------------------------------------------


@router.get("/desk/history", response_class=HTMLResponse)
async def worker_history(
    request: Request,
    worker: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Search a worker (records, traced as a search), then their access history."""
    sess = await desk_session(request)
    backend = backend_of(request)
    found: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    next_cursor = None
    unavailable: list[str] = []
    if q and q.strip():
        try:
            resp = await backend.call(
                sess, "records", "GET", "/workers", client_headers(request),
                params={"q": q.strip()},
            )  # fmt: skip
            if resp.status_code == 200:
                body = resp.json()
                found = list(body.get("items", body) if isinstance(body, dict) else body)[:50]
        except Unavailable:
            unavailable.append("records")
    chosen = worker if worker and SAFE_ID.match(worker) else None
    if chosen:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        try:
            resp = await backend.call(
                sess, "audit", "GET", f"/access-history/{chosen}", client_headers(request),
                params=params,
            )  # fmt: skip
        except Unavailable:
            unavailable.append("audit")
        else:
            if resp.status_code != 200:
                return refused(request, resp)
            page = resp.json()
            entries = [{**entry_view(e), "raw": e} for e in page["items"]]
            next_cursor = page.get("next_cursor")
    return render(
        request,
        "desk_history.html",
        {
            "worker": chosen,
            "q": q or "",
            "found": found,
            "entries": entries,
            "next_cursor": next_cursor,
            "unavailable": unavailable,
        },
    )


async def _download(request: Request, path: str, media: str, filename: str) -> Response:
    sess = await desk_session(request)
    try:
        resp = await backend_of(request).call(sess, "audit", "GET", path, client_headers(request))
    except Unavailable:
        return unavailable_page(request, "audit")
    if resp.status_code != 200:
        return refused(request, resp)
    return Response(
        resp.content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/desk/history/report.pdf")
async def history_pdf(request: Request, worker: Annotated[str, Query(max_length=64)]) -> Response:
    """The printable report of a worker's history (the director's, or the authority's for the
    security officer, who sees no medical content)."""
    if not SAFE_ID.match(worker):
        return render(request, "error.html", {"title": _("Page not found"), "detail": ""}, 404)
    sess = await desk_session(request)
    audience = "director" if sess.user and sess.user.profile == "medical_director" else "authority"
    return await _download(
        request,
        f"/access-history/{worker}/report.pdf?audience={audience}",
        "application/pdf",
        f"access-report-{worker}.pdf",
    )


@router.get("/desk/history/fhir")
async def history_fhir(request: Request, worker: Annotated[str, Query(max_length=64)]) -> Response:
    """The history as a FHIR R4 Bundle of AuditEvent."""
    if not SAFE_ID.match(worker):
        return render(request, "error.html", {"title": _("Page not found"), "detail": ""}, 404)
    return await _download(
        request, f"/access-history/{worker}/fhir", "application/fhir+json",
        f"access-history-{worker}.fhir.json",
    )  # fmt: skip


@router.get("/desk/actor", response_class=HTMLResponse)
async def actor_activity(
    request: Request,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    profile: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """Staff activity: totals per actor; one actor's accesses over a period and their alerts."""
    sess = await desk_session(request)
    backend = backend_of(request)
    params: dict[str, Any] = {"limit": 200}
    if profile and SAFE_ID.match(profile):
        params["profile"] = profile
    resp = await backend.call(
        sess, "audit", "GET", "/actor-activity", client_headers(request), params=params
    )
    if resp.status_code != 200:
        return refused(request, resp)
    actors = list(resp.json())
    chosen = actor if actor and SAFE_ID.match(actor) else None
    alerts: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    truncated = False
    person = None
    start, end = _day(since), _day(until)
    if chosen:
        person = next((a for a in actors if a["user_id"] == chosen), None)
        found = await _alerts(request, sess, {"actor_user_id": chosen, "limit": 100})
        if found.status_code == 200:
            alerts = [alert_view(a) for a in found.json()["items"]]
        period: dict[str, Any] = {"limit": 200}
        if start:
            period["from"] = datetime.combine(start, datetime.min.time(), UTC).isoformat()
        if end:
            period["to"] = (
                datetime.combine(end, datetime.min.time(), UTC) + timedelta(1)
            ).isoformat()
        resp = await backend.call(
            sess, "audit", "GET", f"/actor-activity/{chosen}/entries", client_headers(request),
            params=period,
        )  # fmt: skip
        if resp.status_code == 200:
            entries = [{**entry_view(e), "raw": e} for e in resp.json()["items"]]
            truncated = bool(resp.json().get("truncated"))
    return render(
        request,
        "desk_actor.html",
        {
            "actors": actors, "actor": chosen, "person": person, "alerts": alerts,
            "entries": entries, "truncated": truncated,
            "since": since or "", "until": until or "",
        },
    )  # fmt: skip


@router.get("/desk/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_events(request: Request, alert_id: str) -> Response:
    """The events behind one alert (an aggregated alert counts several)."""
    sess = await desk_session(request)
    if not UUID_RE.match(alert_id):
        return render(request, "error.html", {"title": _("Page not found"), "detail": ""}, 404)
    resp = await backend_of(request).call(
        sess, "audit", "GET", f"/alerts/{alert_id}/events", client_headers(request)
    )
    if resp.status_code != 200:
        return refused(request, resp)
    return render(
        request, "desk_alert.html", {"alert_id": alert_id, "events": resp.json()["events"]}
    )


# --- trail health, deadlines --------------------------------------------------------------


def hourly_chart(hourly: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Events per source per hour over 24 hours, as the bars of a server-rendered SVG."""
    sources = sorted({row["source"] for row in hourly})
    end = now.replace(minute=0, second=0, microsecond=0)
    hours = [end - timedelta(hours=23 - n) for n in range(24)]
    counts: dict[tuple[str, datetime], int] = {}
    for row in hourly:
        when = datetime.fromisoformat(str(row["hour"])).astimezone(UTC)
        counts[(row["source"], when)] = int(row["events"])
    peak = max([sum(counts.get((s, t), 0) for s in sources) for t in hours] + [1])
    colours = ["#0b4f8a", "#17572a", "#8a1c10", "#8a6d00", "#5b2a86", "#1f6f78"]
    width, height, left, bottom = 720, 220, 48, 24
    bar = (width - left) / 24
    bars = []
    for i, t in enumerate(hours):
        y = float(height - bottom)
        for j, s in enumerate(sources):
            n = counts.get((s, t), 0)
            if not n:
                continue
            tall = (height - bottom - 10) * n / peak
            y -= tall
            bars.append(
                {
                    "x": round(left + i * bar + 1, 1), "y": round(y, 1), "w": round(bar - 2, 1),
                    "h": round(tall, 1), "fill": colours[j % len(colours)],
                    "label": f"{s} {t:%H}:00 {n}",
                }
            )  # fmt: skip
    ticks = [
        {"x": round(left + i * bar + bar / 2, 1), "label": f"{t:%H}"}
        for i, t in enumerate(hours)
        if i % 3 == 0
    ]
    legend = [{"source": s, "fill": colours[j % len(colours)]} for j, s in enumerate(sources)]
    return {
        "bars": bars, "ticks": ticks, "legend": legend, "peak": peak, "width": width,
        "height": height, "left": left, "base": height - bottom,
    }  # fmt: skip


@router.get("/desk/health", response_class=HTMLResponse)
async def trail_health(request: Request, verify: Annotated[str | None, Query()] = None) -> Response:
    """Consumer lag, open gaps, events per hour; the integrity verification on demand."""
    sess = await desk_session(request)
    backend = backend_of(request)
    stats: dict[str, Any] | None = None
    integrity: dict[str, Any] | None = None
    unavailable: list[str] = []
    try:
        resp = await backend.call(sess, "audit", "GET", "/stats", client_headers(request))
        stats = resp.json() if resp.status_code == 200 else None
        if verify:
            resp = await backend.call(sess, "audit", "GET", "/integrity", client_headers(request))
            if resp.status_code != 200:
                return refused(request, resp)
            integrity = resp.json()
            sess.last_integrity = {"at": integrity.get("checked_at"), "ok": bool(integrity["ok"])}
    except Unavailable:
        unavailable.append("audit")
    chart = hourly_chart((stats or {}).get("hourly", []), datetime.now(UTC))
    return render(
        request,
        "desk_health.html",
        {
            "stats": stats,
            "integrity": integrity,
            "integrity_json": json.dumps(integrity, indent=2)[:4000] if integrity else "",
            "last_check": sess.last_integrity,
            "chart": chart,
            "unavailable": unavailable,
        },
    )


@router.get("/desk/deadlines", response_class=HTMLResponse)
async def deadlines(request: Request) -> Response:
    """Open subject requests by due date (overdue in red), 72-hour breach clocks, contests
    awaiting an answer, DPIAs to review: from the register's API."""
    sess = await desk_session(request)
    backend = backend_of(request)
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    data: dict[str, list[dict[str, Any]]] = {}
    unavailable: list[str] = []
    try:
        for name, path in (
            ("requests", "/subject-requests"),
            ("incidents", "/incidents"),
            ("dpias", "/dpia"),
        ):
            resp = await backend.call(sess, "register", "GET", path, client_headers(request))
            if resp.status_code != 200:
                return refused(request, resp)
            body = resp.json()
            data[name] = list(body.get("items", []) if isinstance(body, dict) else body)
    except Unavailable:
        unavailable.append("register")
    closed = {"answered", "refused"}
    requests = sorted(
        (r for r in data.get("requests", []) if r.get("status") not in closed),
        key=lambda r: str(r.get("due_on") or ""),
    )
    for r in requests:
        r["overdue"] = bool(r.get("due_on")) and str(r["due_on"]) < today.isoformat()
    contests = [r for r in requests if r.get("kind") == "objection"]
    clocks = []
    for i in data.get("incidents", []):
        if i.get("status") == "closed" or i.get("closed_at") or i.get("notified_at"):
            continue
        with contextlib.suppress(KeyError, ValueError, TypeError):
            due = datetime.fromisoformat(str(i["aware_at"])) + timedelta(hours=72)
            left = due - now
            clocks.append(
                {**i, "due_at": due.isoformat(), "overdue": left.total_seconds() < 0,
                 "hours_left": round(left.total_seconds() / 3600, 1)}
            )  # fmt: skip
    clocks.sort(key=lambda c: c["due_at"])
    dpias = [d for d in data.get("dpias", []) if str(d.get("status", "")) == "draft"]
    return render(
        request,
        "desk_deadlines.html",
        {
            "requests": requests,
            "contests": contests,
            "clocks": clocks,
            "dpias": dpias,
            "today": today.isoformat(),
            "unavailable": unavailable,
        },
    )

"""The pages: login, who opened my file, contest an access, my contests, my file, the desk."""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from portal.backend import Backend, SessionEnded, Unavailable
from portal.i18n import LANGUAGES, _, language
from portal.sessions import COOKIE, PortalSession, SessionStore
from portal.settings import Settings
from portal.words import contest_status, entry_view

router = APIRouter(tags=["pages"])

WORKER_PROFILES = frozenset({"worker"})
DESK_PROFILES = frozenset({"medical_director", "security_officer"})
REASON_MAX = 4999
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LIVE_HEADER = "x-portal-live"


class LoginNeeded(Exception):
    """No session, or it ended: back to the login page with a message."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "login")
        self.reason = reason


def settings_of(request: Request) -> Settings:
    """The portal's settings."""
    settings: Settings = request.app.state.settings
    return settings


def backend_of(request: Request) -> Backend:
    """The portal's client of the other services."""
    backend: Backend = request.app.state.backend
    return backend


def store_of(request: Request) -> SessionStore:
    """The session store."""
    store: SessionStore = request.app.state.sessions
    return store


def client_headers(request: Request) -> dict[str, str]:
    """The browser's user agent travels with every call, so the trail names the real client."""
    agent = request.headers.get("user-agent")
    return {"User-Agent": agent[:255]} if agent else {}


def session_of(request: Request) -> PortalSession:
    """The browser's session, a new anonymous one when it has none (set on the response)."""
    cached: PortalSession | None = getattr(request.state, "portal_session", None)
    if cached is not None:
        return cached
    store = store_of(request)
    sess = store.get(request.cookies.get(COOKIE))
    if sess is None:
        sess = store.new()
        request.state.set_cookie = True
    request.state.portal_session = sess
    return sess


def finish(request: Request, response: Response) -> Response:
    """Set the session cookie when the session is new: HttpOnly, SameSite=Strict, Secure."""
    if getattr(request.state, "set_cookie", False):
        sess: PortalSession = request.state.portal_session
        response.set_cookie(
            COOKIE,
            sess.sid,
            httponly=True,
            samesite="strict",
            secure=settings_of(request).secure_cookies,
            path="/",
        )
    return response


async def user_session(request: Request, *, live: bool = False) -> PortalSession:
    """The logged-in session; ends it (here and at identity) once idle too long."""
    sess = session_of(request)
    if sess.user is None:
        raise LoginNeeded()
    now = time.time()
    if now - sess.last_active > settings_of(request).idle_seconds:
        await end_session(request, sess, "idle")
        raise LoginNeeded("idle")
    if not live:
        sess.last_active = now
    return sess


async def end_session(request: Request, sess: PortalSession, reason: str) -> None:
    """Log out at identity, forget the session, keep a message for the login page."""
    await backend_of(request).logout(sess)
    store = store_of(request)
    store.drop(sess)
    fresh = store.new()
    fresh.flash = {"kind": reason}
    request.state.portal_session = fresh
    request.state.set_cookie = True


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """A page with the layout's needs: the user, the CSRF token, the language switch."""
    sess = session_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    env = request.app.state.templates
    body = env.get_template(template).render(
        {
            "user": sess.user,
            "csrf": sess.csrf,
            "lang": language(),
            "switch": {
                code: f"/lang/{code}?next={quote(here, safe='')}"
                for code in LANGUAGES
                if code != language()
            },
            "path": request.url.path,
            "live_seconds": settings_of(request).live_seconds,
            **(context or {}),
        }
    )
    return finish(request, HTMLResponse(body, status_code=status))


def redirect(request: Request, to: str) -> Response:
    """303 See Other (after a form), keeping a new cookie."""
    return finish(request, RedirectResponse(to, status_code=303))


def problem_detail(resp: Any) -> str:
    """The detail of a service's problem+json answer."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get("detail", "")) if isinstance(body, dict) else ""


def refused(request: Request, resp: Any) -> Response:
    """The API's refusal, shown as a page with the same status."""
    return render(
        request,
        "refused.html",
        {"status": resp.status_code, "detail": problem_detail(resp)},
        status=resp.status_code,
    )


def csrf_refused(request: Request) -> Response:
    """403, nothing written."""
    return render(
        request,
        "error.html",
        {
            "title": _("Request refused"),
            "detail": _(
                "This form had expired or did not come from this site, so nothing was done. "
                "Please reload the page and try again."
            ),
        },
        status=403,
    )


def landing(profile: str) -> str:
    """Where a profile lands after login."""
    if profile in WORKER_PROFILES:
        return "/history"
    if profile in DESK_PROFILES:
        return "/desk"
    return "/refused"


# --- login, logout, language -------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    """The login page (or the landing page of whoever is logged in)."""
    sess = session_of(request)
    if sess.user is not None:
        try:
            await user_session(request)
            return redirect(request, landing(sess.user.profile))
        except LoginNeeded:
            sess = session_of(request)
    flash, sess.flash = sess.flash, None
    return render(request, "login.html", {"flash": flash})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Log in against identity; every refusal gets its own clear message."""
    sess = session_of(request)
    if not sess.check_csrf(csrf_token):
        return csrf_refused(request)
    if not username or not password:
        return render(
            request, "login.html", {"error": {"kind": "missing"}, "username": username}, 422
        )
    outcome = await backend_of(request).login(username, password, client_headers(request))
    if not outcome.ok:
        status = {"invalid": 401, "locked": 423, "expired": 403, "unavailable": 503}.get(
            outcome.kind, 400
        )
        error: dict[str, Any] = {"kind": outcome.kind}
        if outcome.retry_after:
            minutes, seconds = divmod(outcome.retry_after, 60)
            error.update(minutes=minutes, seconds=seconds)
        response = render(
            request, "login.html", {"error": error, "username": username}, status=status
        )
        if outcome.kind == "locked" and outcome.retry_after:
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    fresh = store_of(request).rotate(sess)
    assert outcome.tokens is not None
    backend_of(request).open(fresh, outcome.tokens)
    request.state.portal_session = fresh
    request.state.set_cookie = True
    assert fresh.user is not None
    return redirect(request, landing(fresh.user.profile))


@router.post("/logout")
async def logout(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """End the session here and at identity."""
    sess = session_of(request)
    if not sess.check_csrf(csrf_token):
        return csrf_refused(request)
    if sess.user is not None:
        await end_session(request, sess, "logged_out")
    return redirect(request, "/")


@router.get("/lang/{code}")
async def switch_language(request: Request, code: str, next: str = "/") -> Response:
    """Choose the page language (kept in a cookie); back to the same page."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            "ohs_lang",
            code,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            path="/",
            secure=settings_of(request).secure_cookies,
        )
    return finish(request, response)


# --- who opened my file ------------------------------------------------------------------


def _worker_param(worker: str | None) -> str | None:
    return worker if worker and SAFE_ID.match(worker) else None


async def worker_session(request: Request, *, live: bool = False) -> PortalSession:
    """A logged-in worker (or guardian); anyone else gets LoginNeeded or the refusal page."""
    sess = await user_session(request, live=live)
    assert sess.user is not None
    if sess.user.profile not in WORKER_PROFILES:
        raise NotForProfile()
    return sess


class NotForProfile(Exception):
    """This page is for workers."""


async def _history_page(
    request: Request, sess: PortalSession, worker: str | None, cursor: str | None
) -> tuple[Any, dict[str, Any] | None]:
    params: dict[str, Any] = {"limit": settings_of(request).history_page_size}
    if cursor:
        params["cursor"] = cursor
    if worker:
        params["worker_id"] = worker
    resp = await backend_of(request).call(
        sess, "audit", "GET", "/me/access-history", client_headers(request), params=params
    )
    return resp, (resp.json() if resp.status_code == 200 else None)


async def _contests(request: Request, sess: PortalSession, worker: str | None) -> Any:
    params = {"worker_id": worker} if worker else {}
    resp = await backend_of(request).call(
        sess, "audit", "GET", "/me/contests", client_headers(request), params=params
    )
    return resp.json().get("items", []) if resp.status_code == 200 else []


@router.get("/history", response_class=HTMLResponse)
async def history(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    worker: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Who opened my file: newest first, a page at a time, with the contests made."""
    sess = await worker_session(request)
    assert sess.user is not None
    worker = _worker_param(worker)
    unavailable: list[str] = []
    entries: list[dict[str, Any]] = []
    next_cursor = None
    try:
        resp, page = await _history_page(request, sess, worker, cursor)
        if page is None:
            return refused(request, resp)
        entries = [entry_view(e) for e in page["items"]]
        next_cursor = page.get("next_cursor")
    except Unavailable:
        unavailable.append("audit")
    show_notice = await _notice_due(request, sess)
    contested: dict[str, dict[str, Any]] = {}
    if "audit" not in unavailable:
        try:
            for c in await _contests(request, sess, worker):
                contested[str(c.get("event_id"))] = c
        except Unavailable:
            unavailable.append("audit")
    return render(
        request,
        "history.html",
        {
            "entries": entries,
            "next_cursor": next_cursor,
            "first_page": cursor is None,
            "contested": contested,
            "status_words": contest_status,
            "unavailable": unavailable,
            "worker": worker,
            "files": sess.user.files(),
            "top": entries[0]["event_id"] if entries and cursor is None else "",
            "show_notice": show_notice,
            "log_key": await request.app.state.log_key.get(),
            "receipt_words": receipt_words(),
        },
    )


async def _notice_due(request: Request, sess: PortalSession) -> bool:
    """True until identity records that this worker saw the notice (asked once a session)."""
    if sess.notice_seen is None:
        try:
            resp = await backend_of(request).call(
                sess, "identity", "GET", "/users/me", client_headers(request)
            )
        except Unavailable:
            return False
        if resp.status_code != 200:
            return False
        sess.notice_seen = resp.json().get("file_notice_seen_at") is not None
    return not sess.notice_seen


@router.post("/notice", response_class=HTMLResponse)
async def dismiss_notice(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """The worker read the notice: identity keeps the date, the page stops showing it."""
    sess = await worker_session(request)
    if not sess.check_csrf(csrf_token):
        return csrf_refused(request)
    try:
        resp = await backend_of(request).call(
            sess, "identity", "POST", "/users/me/file-notice", client_headers(request)
        )
    except Unavailable:
        return unavailable_page(request, "identity")
    if resp.status_code != 200:
        return refused(request, resp)
    sess.notice_seen = True
    return redirect(request, "/history")


def receipt_words() -> str:
    """What static/receipt.js writes beside an entry, in the page's language (JSON)."""
    return json.dumps(
        {
            "checking": _("checking the receipt…"),
            "verified": _("verified"),
            "failed": _("not verified"),
            "pending": _("pending"),
            "unchecked": _("not checked"),
            "none": "",
            "leaf": _("leaf"),
            "tree": _("tree size"),
        },
        ensure_ascii=False,
    )


@router.get("/history/live", response_class=HTMLResponse)
async def history_live(
    request: Request,
    top: Annotated[str, Query(max_length=64)] = "",
    worker: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Entries newer than the one on top of the page, as rows to insert (204 when none)."""
    try:
        sess = await worker_session(request, live=True)
    except (LoginNeeded, NotForProfile) as exc:
        reason = exc.reason if isinstance(exc, LoginNeeded) else None
        return finish(request, JSONResponse({"login": "/", "reason": reason}, status_code=401))
    try:
        resp, page = await _history_page(request, sess, _worker_param(worker), None)
    except Unavailable:
        return Response(status_code=503)
    except SessionEnded:
        await end_session(request, sess, "ended")
        return finish(request, JSONResponse({"login": "/"}, status_code=401))
    if page is None:
        return Response(status_code=resp.status_code)
    fresh = []
    for item in page["items"]:
        if item.get("event_id") == top:
            break
        fresh.append(entry_view(item))
    if not fresh or not top:
        return Response(status_code=204)
    env = request.app.state.templates
    body = env.get_template("_entries.html").render(
        {
            "entries": fresh,
            "contested": {},
            "status_words": contest_status,
            "worker": worker,
            "lang": language(),
        }
    )
    return HTMLResponse(body)


@router.get("/history/report.pdf")
async def history_report(
    request: Request, worker: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The same history as the printable PDF report."""
    sess = await worker_session(request)
    params = {"worker_id": w} if (w := _worker_param(worker)) else {}
    try:
        resp = await backend_of(request).call(
            sess,
            "audit",
            "GET",
            "/me/access-history/report.pdf",
            client_headers(request),
            params=params,
        )
    except Unavailable:
        return unavailable_page(request, "audit")
    if resp.status_code != 200:
        return refused(request, resp)
    return Response(
        resp.content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="who-opened-my-file.pdf"'},
    )


def unavailable_page(request: Request, part: str) -> Response:
    """One part is down: say which; the rest of the portal keeps working."""
    return render(request, "unavailable.html", {"part": part}, status=503)


# --- contest -----------------------------------------------------------------------------


async def _entry(request: Request, sess: PortalSession, event_id: str, worker: str | None) -> Any:
    params = {"worker_id": worker} if worker else {}
    return await backend_of(request).call(
        sess,
        "audit",
        "GET",
        f"/me/access-history/{quote(event_id, safe='')}",
        client_headers(request),
        params=params,
    )


@router.get("/history/{event_id}/contest", response_class=HTMLResponse)
async def contest_form(
    request: Request, event_id: str, worker: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The form: the entry contested and the reason."""
    sess = await worker_session(request)
    worker = _worker_param(worker)
    try:
        resp = await _entry(request, sess, event_id, worker)
    except Unavailable:
        return unavailable_page(request, "audit")
    if resp.status_code != 200:
        return refused(request, resp)
    return render(
        request,
        "contest.html",
        {"entry": entry_view(resp.json()), "worker": worker, "reason": "", "error": None},
    )


@router.post("/history/{event_id}/contest", response_class=HTMLResponse)
async def contest(
    request: Request,
    event_id: str,
    reason: Annotated[str, Form(max_length=20000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    worker: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """File the contest through audit; nothing is written when the form is not ours."""
    sess = await worker_session(request)
    if not sess.check_csrf(csrf_token):
        return csrf_refused(request)
    worker = _worker_param(worker)
    params = {"worker_id": worker} if worker else {}
    entry: dict[str, Any] = {"event_id": event_id}

    def again(error: str, status: int) -> Response:
        return render(
            request,
            "contest.html",
            {"entry": entry_view(entry), "worker": worker, "reason": reason, "error": error},
            status=status,
        )

    try:
        found = await _entry(request, sess, event_id, worker)
        if found.status_code != 200:
            return refused(request, found)
        entry = found.json()
        if not reason.strip():
            return again("empty", 422)
        if len(reason) > REASON_MAX:
            return again("long", 422)
        resp = await backend_of(request).call(
            sess,
            "audit",
            "POST",
            f"/me/access-history/{quote(event_id, safe='')}/contest",
            client_headers(request),
            json={"reason": reason},
            params=params,
        )
    except Unavailable as exc:
        return again(f"unavailable:{exc.service}", 503)
    if resp.status_code == 201:
        sess.flash = {"kind": "contested"}
        return redirect(request, "/contests" + (f"?worker={worker}" if worker else ""))
    if resp.status_code == 409:
        return again("already", 409)
    if resp.status_code == 422:
        return again("invalid", 422)
    if resp.status_code == 503:
        return again("unavailable:register", 503)
    return refused(request, resp)


async def _own_get(
    request: Request, sess: PortalSession, service: str, path: str, worker: str | None
) -> httpx.Response | Response:
    """A worker's own GET (or a ward's): the answer, or the page saying why there is none."""
    params = {"worker_id": worker} if worker else {}
    try:
        resp = await backend_of(request).call(
            sess, service, "GET", path, client_headers(request), params=params
        )
    except Unavailable:
        return unavailable_page(request, service)
    if resp.status_code != 200:
        return refused(request, resp)
    return resp


@router.get("/contests", response_class=HTMLResponse)
async def contests(
    request: Request, worker: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """My contests and where they stand (received, being examined, answered)."""
    sess = await worker_session(request)
    flash, sess.flash = sess.flash, None
    worker = _worker_param(worker)
    resp = await _own_get(request, sess, "audit", "/me/contests", worker)
    if not isinstance(resp, httpx.Response):
        return resp
    body = resp.json()
    return render(
        request,
        "contests.html",
        {
            "items": body.get("items", []),
            "status_words": contest_status,
            "flash": flash,
            "worker": worker,
            "answers_unavailable": bool(body.get("answers_unavailable")),
        },
    )


# --- my file -----------------------------------------------------------------------------


@router.get("/record", response_class=HTMLResponse)
async def record(
    request: Request, worker: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """My file as I may see it (without the physician's personal notes)."""
    sess = await worker_session(request)
    worker = _worker_param(worker)
    resp = await _own_get(request, sess, "records", "/me/record", worker)
    if not isinstance(resp, httpx.Response):
        return resp
    return render(request, "record.html", {"record": resp.json(), "worker": worker})


@router.get("/record/download")
async def record_download(
    request: Request, worker: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """My file as I may see it, to keep (JSON)."""
    sess = await worker_session(request)
    resp = await _own_get(request, sess, "records", "/me/record", _worker_param(worker))
    if not isinstance(resp, httpx.Response):
        return resp
    return Response(
        resp.content,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-health-file.json"'},
    )


# --- other profiles ----------------------------------------------------------------------


@router.get("/refused", response_class=HTMLResponse)
async def refused_profile(request: Request) -> Response:
    """Any profile the portal does not serve."""
    await user_session(request)
    return render(request, "profile_refused.html", status=403)


def install(app: Any) -> None:
    """Handlers that turn LoginNeeded and NotForProfile into pages."""

    async def _login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginNeeded)
        sess = session_of(request)
        if exc.reason:
            sess.flash = {"kind": exc.reason}
        return redirect(request, "/")

    async def _profile(request: Request, exc: Exception) -> Response:
        return render(request, "profile_refused.html", status=403)

    async def _ended(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SessionEnded)
        sess = session_of(request)
        await end_session(request, sess, "idle" if exc.reason == "idle" else "ended")
        return redirect(request, "/")

    async def _down(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Unavailable)
        if exc.service == "identity":
            return unavailable_page(request, "identity")
        return unavailable_page(request, exc.service)

    app.add_exception_handler(LoginNeeded, _login)
    app.add_exception_handler(NotForProfile, _profile)
    app.add_exception_handler(SessionEnded, _ended)
    app.add_exception_handler(Unavailable, _down)

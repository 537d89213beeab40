"""The portal's app factory: like common.app.create_app, minus the database and the broker
(the portal has neither), plus HTML pages, security headers, languages and sessions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.app import BodyLimitMiddleware, _add_problem_schema
from common.errors import Problem, install_error_handlers, problem_response
from common.telemetry import TracingMiddleware, setup_tracing
from portal import i18n
from portal.backend import Backend
from portal.logkey import LogKey
from portal.sessions import SessionStore
from portal.settings import Settings

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
LANG_COOKIE = "ohs_lang"


class PageMiddleware:
    """Every response gets the security headers (CSP without inline scripts) and no caching of
    pages; every request gets its language (cookie, then Accept-Language)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        chosen = None
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == LANG_COOKIE:
                chosen = value
        lang = i18n.negotiate(headers.get("accept-language"), chosen)
        i18n.set_language(lang)
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if not static:
                    extra.append((b"cache-control", b"no-store"))
                extra.append((b"content-language", lang.encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def templates() -> Environment:
    """Jinja2 with autoescaping everywhere and the catalogue's gettext."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2's i18n extension
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.globals["when"] = i18n.when
    env.globals["day"] = i18n.day
    env.globals["languages"] = i18n.LANGUAGE_NAMES
    env.globals["language"] = i18n.language
    return env


def wants_html(request: Request) -> bool:
    """A browser navigating (HTML), as opposed to an API client (problem+json)."""
    return "text/html" in request.headers.get("accept", "")


def build_app(settings: Settings | None = None) -> FastAPI:
    """The portal app."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.tracer_provider = setup_tracing(settings.service_name, settings.otlp_endpoint)
        app.state.http = httpx.AsyncClient()
        app.state.backend = Backend(app.state.http, settings)
        app.state.sessions = SessionStore(settings.max_sessions, settings.anonymous_seconds)
        app.state.log_key = LogKey(app.state.http, settings.audit_url, settings.log_key)
        await app.state.log_key.get()
        for lang in i18n.LANGUAGES:
            i18n.translations(lang)  # compile the catalogues now, not on a first request
        try:
            yield
        finally:
            await app.state.http.aclose()
            app.state.tracer_provider.shutdown()

    app = FastAPI(
        title="Portal",
        description="Web pages of the workers' portal (backend-for-frontend).",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = templates()
    install_error_handlers(app)
    install_page_errors(app)

    from portal.desk import router as desk_router
    from portal.pages import install
    from portal.pages import router as pages_router

    install(app)
    app.include_router(pages_router)
    app.include_router(desk_router)
    app.include_router(health_router())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(PageMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TracingMiddleware, service_name=settings.service_name)
    _add_problem_schema(app)
    return app


def render_error(request: Request, status: int, title: str, detail: str) -> Response:
    """An error as a page (browsers) or problem+json (everything else); never a stack trace."""
    if not wants_html(request):
        return problem_response(Problem(status, detail, title=title))
    from portal.pages import render

    return render(request, "error.html", {"title": title, "detail": detail}, status=status)


def install_page_errors(app: FastAPI) -> None:
    """HTML error pages for browsers on top of the shared problem+json handlers."""
    from portal.i18n import _

    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not wants_html(request):
            return problem_response(Problem(exc.status_code, str(exc.detail)))
        title = _("Page not found") if exc.status_code == 404 else _("Request refused")
        return render_error(request, exc.status_code, title, str(exc.detail))

    async def _validation(request: Request, exc: Exception) -> Response:
        if not wants_html(request):
            return JSONResponse(
                Problem(422, "Invalid input").body(),
                status_code=422,
                media_type="application/problem+json",
            )
        return render_error(request, 422, _("Invalid input"), _("The form was not complete."))

    async def _unexpected(request: Request, exc: Exception) -> Response:
        return render_error(
            request, 500, _("Something went wrong"), _("Please try again in a moment.")
        )

    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)


def health_router() -> Any:
    """/healthz (process up) and /readyz (identity reachable: nobody can log in without it)."""
    from fastapi import APIRouter

    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="identity reachable", response_model=None)
    async def readyz(request: Request) -> dict[str, Any]:
        backend: Backend = request.app.state.backend

        async def probe(service: str) -> str | None:
            with contextlib.suppress(httpx.HTTPError):
                resp = await backend.http.get(backend.urls[service] + "/healthz", timeout=2)
                if resp.status_code == 200:
                    return None
            return service

        down = [d for d in await asyncio.gather(*(probe(s) for s in backend.urls)) if d]
        if "identity" in down:
            raise Problem(503, "identity: not reachable (nobody can log in)")
        if down:
            return {"status": "ready", "warnings": [f"{d}: not reachable" for d in down]}
        return {"status": "ready"}

    return router

"""The FastAPI app factory every service uses: errors, limits, tracing, health, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.db import make_engine, make_sessionmaker
from common.errors import PROBLEM_JSON, Problem, install_error_handlers, problem_response
from common.runtime import settle_heap
from common.settings import ServiceSettings
from common.telemetry import TracingMiddleware, setup_tracing
from common.tokens import HttpSessionChecker, TokenVerifier
from common.trail import trace_denials

log = logging.getLogger("ohs.app")
TRACING_OFF = "read tracing is OFF (OHS_AUDIT_ACCESS=false): reads of health files leave no trace"
Hook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


class BodyLimitMiddleware:
    """Refuses bodies over a size with 413 problem+json, before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = problem_response(Problem(413, f"Request body larger than {self.max_bytes} bytes"))
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await too_big(scope, receive, send)
                return
        # Bodies without a declared length are read here, up to the limit, then replayed:
        # the framework would turn an error raised mid-parse into a vague 400.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await too_big(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def database_ready(app: FastAPI) -> str | None:
    """None when the database answers, else the reason."""
    try:
        async with app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 2)
    except Exception as exc:
        return f"database: {type(exc).__name__}"
    return None


async def broker_ready(app: FastAPI) -> str | None:
    """None when a broker of the bootstrap list accepts a connection, else the reason."""
    settings: ServiceSettings = app.state.settings
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2)
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        return None
    return f"broker: none of {settings.kafka_bootstrap} reachable"


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    hooks: Sequence[Hook] = (),
    verifier_factory: Callable[[FastAPI], TokenVerifier] | None = None,
) -> FastAPI:
    """Build a service: engine, HTTP client, token verifier and tracing live in lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.tracer_provider = setup_tracing(settings.service_name, settings.otlp_endpoint)
        app.state.engine = make_engine(settings.database_url, settings.db_pool_size)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.http = httpx.AsyncClient()
        app.state.verifier = (verifier_factory or default_verifier)(app)
        try:
            async with contextlib.AsyncExitStack() as stack:
                for hook in hooks:
                    await stack.enter_async_context(hook(app))
                settle_heap()
                yield
        finally:
            await app.state.http.aclose()
            await app.state.engine.dispose()
            app.state.tracer_provider.shutdown()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        # TracingMiddleware makes the request's one server span and carries its trace into
        # the outbox. FastAPI's native telemetry would add a second server span and one span
        # per dependency, endpoint and serialization: about 5 spans of a history request.
        telemetry={"tracing": False, "operation_spans": False},
        responses={
            "default": {
                "description": "Error (RFC 9457 problem details)",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        },
    )
    install_error_handlers(app)
    trace_denials(app)
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TracingMiddleware, service_name=settings.service_name)
    _add_problem_schema(app)
    return app


def default_verifier(app: FastAPI) -> TokenVerifier:
    """Verify against identity's JWKS and ask identity whether the session is open."""
    settings: ServiceSettings = app.state.settings
    checker = (
        HttpSessionChecker(app.state.http, settings.identity_url, settings.session_check_seconds)
        if settings.session_check_seconds > 0
        else None
    )
    return TokenVerifier(
        jwks_url=settings.identity_url.rstrip("/") + "/.well-known/jwks.json",
        audience=settings.token_audience,
        issuer=settings.token_issuer,
        http=app.state.http,
        cache_seconds=settings.jwks_cache_seconds,
        session_checker=checker,
    )


def health_router() -> APIRouter:
    """/healthz (process up) and /readyz (database and broker reachable)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database and broker reachable", response_model=None)
    async def readyz(request: Request) -> dict[str, Any] | JSONResponse:
        reasons = [
            r
            for r in await asyncio.gather(database_ready(request.app), broker_ready(request.app))
            if r
        ]
        if reasons:
            raise Problem(503, "; ".join(reasons), title="Service Unavailable")
        if not request.app.state.settings.audit_access:
            return {"status": "ready", "warnings": [TRACING_OFF]}
        return {"status": "ready"}

    return router


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents this override but types openapi as a method

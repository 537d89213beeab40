"""The one way a service traces what a caller did: drafts from the request, one verb, a sink."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import SessionDep
from common.errors import Problem, problem_response
from common.events import Actor, Client, EventDraft, Outcome, Resource, Source
from common.tokens import Denied, Principal

log = logging.getLogger("ohs.trail")

# Demo and migration loads send this header; outside production their events carry
# `details.seeding = true`, and audit's alert rules skip them (seeded data is no behaviour).
SEEDING_HEADER = "X-OHS-Seeding"
SEEDING_HEADERS = {SEEDING_HEADER: "demo"}


def is_seeding(request: Request) -> bool:
    """A seeding run's request (honoured outside production only)."""
    if not request.headers.get(SEEDING_HEADER):
        return False
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "environment", "production") != "production"


class Sink(Protocol):
    """Where a service's drafts go: its outbox (publishers) or its own pending table (audit)."""

    async def write(self, session: AsyncSession, drafts: Sequence[EventDraft]) -> None:
        """In the caller's transaction: durable when the caller commits."""

    async def write_now(self, drafts: Sequence[EventDraft]) -> None:
        """In a transaction of its own: durable when this returns."""


# Extra details for a refused attempt (records adds the care relationship of the file).
DenialDetails = Callable[[Request, Denied, str | None], Awaitable[dict[str, Any]]]


@dataclass
class Trail:
    """A service's trail, made in lifespan and kept on app.state.trail."""

    source: Source
    sink: Sink
    denial_details: DenialDetails | None = None


@dataclass
class RequestEvents:
    """The events of one request: who, from where, into which transaction."""

    trail: Trail
    session: AsyncSession | None
    client: Client
    caller: Actor | Callable[[], Actor | None] | None
    drafts: list[EventDraft] = field(default_factory=list)
    seeding: bool = False

    @property
    def actor(self) -> Actor | None:
        """The verified caller, known once the route's token dependency has run."""
        return self.caller() if callable(self.caller) else self.caller

    def draft(
        self,
        action: str,
        *,
        outcome: Outcome = "success",
        worker_id: str | None = None,
        resource: Resource | None = None,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> EventDraft:
        """One envelope of this request (the caller is the actor unless another is named)."""
        if self.seeding:
            details = {**(details or {}), "seeding": True}
        return EventDraft(
            source=self.trail.source,
            actor=actor or self.actor,
            action=action,
            outcome=outcome,
            worker_id=worker_id,
            resource=resource,
            purpose=purpose,
            client=self.client,
            details=details,
        )

    async def emit(self, *drafts: EventDraft, now: bool = False) -> None:
        """Write drafts: in the request's transaction, or (now=True) committed before returning."""
        if not drafts:
            return
        if now or self.session is None:
            await self.trail.sink.write_now(drafts)
        else:
            await self.trail.sink.write(self.session, drafts)
        self.drafts.extend(drafts)


def request_events(request: Request, session: AsyncSession | None) -> RequestEvents:
    """The events of a request, its caller as actor when a token was verified."""

    def caller() -> Actor | None:
        principal: Principal | None = getattr(request.state, "principal", None)
        return Actor.of(principal) if principal else None

    return RequestEvents(
        trail=request.app.state.trail,
        session=session,
        client=Client.of(request),
        caller=caller,
        seeding=is_seeding(request),
    )


async def _event_context(request: Request, session: SessionDep) -> RequestEvents:
    return request_events(request, session)


EventContext = Annotated[RequestEvents, Depends(_event_context)]


def trace_denials(app: FastAPI) -> None:
    """Every 403 of the grid leaves a denied event before it is answered, in every service."""

    async def on_denied(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Denied)
        trail: Trail | None = getattr(request.app.state, "trail", None)
        if trail is not None:
            try:
                await _trace_denial(request, exc, trail)
            except Exception:
                # The refusal stands even when it cannot be traced: nothing was served.
                log.exception("could not trace a denied attempt on %s", request.url.path)
        return problem_response(exc)

    app.add_exception_handler(Denied, on_denied)


async def _trace_denial(request: Request, exc: Denied, trail: Trail) -> None:
    worker_id = getattr(exc, "worker_id", None) or request.path_params.get("worker_id")
    worker_id = str(worker_id) if worker_id else None
    resource = getattr(exc, "resource", None) or Resource(
        type=_resource_type(request), id=worker_id or _first_path_id(request), part=exc.right
    )
    action = getattr(exc, "action", None) or _action_of(request.method)
    grant = exc.principal.grant_for(worker_id) if worker_id else None
    details: dict[str, Any] = {"reason": exc.detail, "path": request.url.path}
    if trail.denial_details is not None:
        details.update(await trail.denial_details(request, exc, worker_id))
    events = RequestEvents(
        trail, None, Client.of(request), Actor.of(exc.principal), seeding=is_seeding(request)
    )
    await events.emit(
        events.draft(
            action,
            outcome="denied",
            worker_id=worker_id,
            resource=resource,
            purpose=grant.reason if grant else None,
            details=details,
        )
    )


def _action_of(method: str) -> str:
    return {"GET": "read", "HEAD": "read", "POST": "create", "DELETE": "delete"}.get(
        method, "update"
    )


def _resource_type(request: Request) -> str:
    segments = [s for s in request.url.path.split("/") if s]
    return segments[0].replace("-", "_") if segments else "service"


def _first_path_id(request: Request) -> str | None:
    values = [str(v) for v in request.path_params.values()]
    return values[0] if values else None


async def _traced_events(events: EventContext) -> AsyncIterator[RequestEvents]:
    yield events
    if not events.drafts:
        # A programming error, never a client's: the data stays in the service.
        raise Problem(
            500, "The response was withheld: it carries traced data and left no access event"
        )


# A function attribute (PEP 232), set through __dict__ as mypy cannot declare one.
_traced_events.__dict__["__ohs_traces__"] = True

# For a route that returns health or trail data: the response is refused unless it emitted.
TracedEvents = Annotated[RequestEvents, Depends(_traced_events, scope="function")]


def is_traced(route: APIRoute) -> bool:
    """True when the route depends on something that writes (or insists on) its access event."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if getattr(dependant.call, "__ohs_traces__", False):
            return True
        pending.extend(dependant.dependencies)
    return False

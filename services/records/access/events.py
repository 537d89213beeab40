"""Traced by construction: a route reaches a file only through FileAccess, which writes its event.

`FileAccess("read", part="exam", by=Exam)` authorises before it loads (a refusal says nothing
about existence), loads what the route needs, and hands the route a `TracedFile`. When the route
returns, the dependency writes the access event: a write's in the request's transaction (the
session dependency commits it before the response), a read's committed with other reads' traces
before the response leaves. A route that raises writes no success event; a refusal is traced by
`common.trail.trace_denials` with the file's care relationship (`denial_details`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from sqlalchemy import exists, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from common.db import SessionDep
from common.errors import conflict, not_found
from common.events import EventDraft, Resource
from common.rights import Right, Scope
from common.tokens import CurrentUser, Denied, Principal
from common.trail import EventContext, RequestEvents
from records.access.service import (
    ACTION_RIGHT,
    Access,
    AccessDenied,
    authorize,
    authorize_notes,
)

READ_ACTIONS = frozenset({"read", "search"})
# What an erased file refuses: what is left of it is the proof of its erasure, nothing to add to.
WRITE_ACTIONS = frozenset({"create", "update", "delete"})


@dataclass(frozen=True)
class FileContext:
    """What the audit service needs about the file touched: owner, employer, care relation."""

    worker_id: str
    employer: str | None
    care_relationship: bool


@dataclass
class TracedFile:
    """A file the caller was allowed to touch; the event it leaves is written on return."""

    access: Access
    action: str
    part: str
    resource_type: str
    resource_id: str | None
    context: FileContext | None = None
    worker: Any = None
    item: Any = None
    long_retention: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    found: list[FileContext] | None = None

    @property
    def worker_id(self) -> str | None:
        """The file concerned, once known."""
        return self.context.worker_id if self.context else None

    def opened(self, context: FileContext, *, resource_id: str | None = None) -> None:
        """The file the route created or loaded itself (its event names it)."""
        self.context = context
        if resource_id is not None:
            self.resource_id = resource_id

    def touched(self, resource_id: str | None = None, **details: Any) -> None:
        """Name the item the route created, and details the event carries."""
        if resource_id is not None:
            self.resource_id = resource_id
        self.details.update(details)

    def listed(self, contexts: Sequence[FileContext]) -> None:
        """A search: one event per file found (one without a file when none is)."""
        self.found = list(contexts)

    def drafts(self, events: RequestEvents) -> list[EventDraft]:
        """The events this access leaves."""
        contexts: Sequence[FileContext | None] = [self.context]
        if self.found is not None:
            contexts = self.found or [None]
        return [self._draft(events, c) for c in contexts]

    def _draft(self, events: RequestEvents, context: FileContext | None) -> EventDraft:
        grant = self.access.grant
        worker_id = context.worker_id if context else None
        per_file = self.found is not None
        return events.draft(
            self.action,
            worker_id=worker_id,
            resource=Resource(
                type=self.resource_type,
                id=worker_id if per_file else (self.resource_id or worker_id),
                part=self.part,
            ),
            purpose=grant.reason if grant else None,
            details={
                "care_relationship": bool(context and context.care_relationship),
                "worker_employer": context.employer if context else None,
                "grant_id": grant.id if grant else None,
                "own_file": self.access.own_file,
                **self.details,
            },
        )


async def _care_and_employer(
    session: AsyncSession, worker_id: str, user_id: str
) -> FileContext | None:
    row = (
        await session.execute(
            text(
                "SELECT w.employer, EXISTS (SELECT 1 FROM care_member c "
                "WHERE c.worker_id = w.id AND c.user_id = :user) AS care "
                "FROM worker w WHERE w.id = CAST(:id AS uuid)"
            ),
            {"id": worker_id, "user": user_id},
        )
    ).first()
    if row is None:
        return None
    return FileContext(worker_id, row.employer, bool(row.care))


async def denial_details(request: Request, exc: Denied, worker_id: str | None) -> dict[str, Any]:
    """A refused attempt carries the care relationship and employer the denial rules use."""
    grant = exc.principal.grant_for(worker_id) if worker_id else None
    file = None
    if worker_id:
        try:
            uuid.UUID(worker_id)
        except ValueError:
            pass
        else:
            async with request.app.state.sessionmaker() as session:
                file = await _care_and_employer(session, worker_id, exc.principal.user_id)
    return {
        "care_relationship": bool(file and file.care_relationship),
        "worker_employer": file.employer if file else None,
        "grant_id": grant.id if grant else None,
    }


async def _load_worker(
    session: AsyncSession, principal: Principal, worker_id: uuid.UUID, *, lock: bool, action: str
) -> tuple[Any, FileContext, bool]:
    # Imported here: the workers and retention domains import FileContext from this module.
    from records.retention.models import Erasure
    from records.workers.models import CareMember, Worker
    from records.workers.service import long_retention_column

    care = (
        exists()
        .where(col(CareMember.worker_id) == Worker.id, col(CareMember.user_id) == principal.user_id)
        .label("care")
    )
    # Only a write asks whether the file was erased: reads, the hot path, skip the lookup.
    erased = (
        exists().where(col(Erasure.worker_id) == Worker.id)
        if action in WRITE_ACTIONS
        else literal(False)
    )
    query = select(
        Worker, care, long_retention_column(Worker.id).label("long"), erased.label("erased")
    ).where(col(Worker.id) == worker_id)
    if lock:
        query = query.with_for_update(of=Worker)
    row = (await session.execute(query)).first()
    if row is None:
        raise not_found("Worker")
    worker, is_care, long, is_erased = row
    if is_erased and action in WRITE_ACTIONS:
        raise conflict(
            "This file was erased at the end of its retention term and takes no new entries",
            worker_id=str(worker.id),
        )
    return worker, FileContext(str(worker.id), worker.employer, bool(is_care)), bool(long)


def _reaches_every_file(principal: Principal, right: Right) -> bool:
    scope = principal.scope(right)
    return scope is Scope.ALL or (scope is Scope.GRANT and principal.grant_for(None) is not None)


async def _emit_on_return(file: TracedFile, events: RequestEvents, request: Request) -> None:
    if file.action in READ_ACTIONS:
        if request.app.state.settings.audit_access:
            await events.emit(*file.drafts(events), now=True)
    else:
        await events.emit(*file.drafts(events))


def FileAccess(
    action: str,
    *,
    part: str,
    by: Literal["worker", "files", "own"] | type[SQLModel] = "worker",
    resource_type: str | None = None,
    medical: bool = True,
    lock: bool = False,
    load: bool = True,
    notes: bool = False,
    param: str | None = None,
) -> Any:
    """The route's only way to a file: authorise, load, and write the access event on return.

    Use as `file: Annotated[TracedFile, FileAccess(...)]`.

    `by="worker"`: the file is the path's `worker_id`; `by=Model`: the path's `<model>_id` names
    an item of a file (exam, fitness decision); `by="files"`: no file yet (creation, import,
    search: the route names what it touched with `opened` or `listed`); `by="own"`: the caller's
    own file (or a ward's). `load=False`: the route loads the file itself."""
    kind: str = resource_type or "worker"
    if resource_type is None and not isinstance(by, str):
        kind = str(by.__tablename__)

    async def by_worker(
        worker_id: uuid.UUID,
        principal: CurrentUser,
        session: SessionDep,
        events: EventContext,
        request: Request,
    ) -> AsyncIterator[TracedFile]:
        if notes:
            access = authorize_notes(principal, action, worker_id=str(worker_id))
        else:
            access = authorize(
                principal,
                action,
                worker_id=str(worker_id),
                part=part,
                resource_type=kind,
                medical=medical,
            )
        file = TracedFile(access, action, part, kind, str(worker_id))
        if load:
            file.worker, file.context, file.long_retention = await _load_worker(
                session, principal, worker_id, lock=lock, action=action
            )
        else:
            file.context = FileContext(str(worker_id), None, False)
        yield file
        await _emit_on_return(file, events, request)

    async def by_item(
        item_id: uuid.UUID,
        principal: CurrentUser,
        session: SessionDep,
        events: EventContext,
        request: Request,
    ) -> AsyncIterator[TracedFile]:
        assert not isinstance(by, str)
        right = ACTION_RIGHT[action]
        model: Any = by  # an exam or a decision: any model with an id and a worker_id
        query = select(by).where(col(model.id) == item_id)
        if lock:
            query = query.with_for_update()
        item: Any = (await session.execute(query)).scalar_one_or_none()
        scope = principal.scope(right)
        # Rights before existence: a caller who could not reach the item wherever it is gets
        # the same 403 whether the id exists or not (the trace names the file when there is one).
        hopeless = scope is Scope.NONE or (scope is Scope.DIRECTORY and medical)
        if item is None and not hopeless and _reaches_every_file(principal, right):
            raise not_found(by.__name__)
        # One refusal, word for word, for an item that exists and one that does not.
        refusal = AccessDenied(
            principal,
            right,
            action=action,
            worker_id=str(item.worker_id) if item is not None else None,
            resource=Resource(type=kind, id=str(item_id), part=part),
            detail=f"Profile {principal.profile.value} may not {action} this {kind}",
        )
        if item is None or hopeless:
            raise refusal
        try:
            access = authorize(
                principal,
                action,
                worker_id=str(item.worker_id),
                part=part,
                resource_type=kind,
                resource_id=str(item_id),
                medical=medical,
            )
        except AccessDenied:
            raise refusal from None
        file = TracedFile(access, action, part, kind, str(item_id), item=item)
        file.worker, file.context, file.long_retention = await _load_worker(
            session, principal, item.worker_id, lock=False, action=action
        )
        yield file
        await _emit_on_return(file, events, request)

    async def for_files(
        principal: CurrentUser, events: EventContext, request: Request
    ) -> AsyncIterator[TracedFile]:
        access = authorize(
            principal, action, worker_id=None, part=part, resource_type=kind, medical=medical
        )
        file = TracedFile(access, action, part, kind, None)
        yield file
        await _emit_on_return(file, events, request)

    async def for_own(
        principal: CurrentUser,
        events: EventContext,
        request: Request,
        worker_id: Annotated[
            uuid.UUID | None, Query(description="a ward's file, for a guardian")
        ] = None,
    ) -> AsyncIterator[TracedFile]:
        own = principal.own_worker_ids()
        if not own:
            raise AccessDenied(
                principal,
                ACTION_RIGHT[action],
                action=action,
                worker_id=None,
                resource=Resource(type=kind, part=part),
                detail="No worker file is attached to this account",
            )
        try:
            chosen = worker_id or uuid.UUID(own[0])
        except ValueError:
            raise not_found("Worker") from None
        access = authorize(principal, action, worker_id=str(chosen), part=part, resource_type=kind)
        file = TracedFile(access, action, part, kind, str(chosen))
        file.context = FileContext(str(chosen), None, False)
        yield file
        await _emit_on_return(file, events, request)

    dependency: Any
    if by == "worker":
        dependency = by_worker
    elif by == "files":
        dependency = for_files
    elif by == "own":
        dependency = for_own
    else:
        dependency = _renamed(by_item, param or f"{kind}_id")
    dependency.__ohs_traces__ = True
    return Depends(dependency, scope="function")


def _renamed(function: Any, name: str) -> Any:
    """The item dependency with its path parameter named as the route names it."""
    import inspect

    signature = inspect.signature(function)
    params = [
        p.replace(name=name) if p.name == "item_id" else p for p in signature.parameters.values()
    ]

    async def renamed(**kwargs: Any) -> AsyncIterator[TracedFile]:
        kwargs["item_id"] = kwargs.pop(name)
        async for value in function(**kwargs):
            yield value

    # What inspect.signature (so FastAPI) reads; a function attribute mypy cannot declare.
    renamed.__dict__["__signature__"] = signature.replace(parameters=params)
    return renamed

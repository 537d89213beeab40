"""GET /me/access-history (worker, guardian) and GET /access-history/{worker_id}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from audit.access import Monitor, sees_medical
from audit.history.schemas import AccessHistoryPage
from audit.history.service import HistoryFilter, page, page_json
from audit.log.router import LogNodes
from common.db import SessionDep
from common.errors import invalid
from common.events import Resource
from common.rights import Profile, Right, Scope
from common.tokens import CurrentUser, Denied
from common.trail import RequestEvents, TracedEvents

router = APIRouter(tags=["access history"])

WorkerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


def check_period(since: datetime | None, until: datetime | None) -> None:
    """422 unless both ends carry a timezone and `since` comes before `until`."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise invalid(
                "Times need a timezone",
                [{"field": f"query.{name}", "message": "add Z or an offset"}],
            )
    if since and until and since >= until:
        raise invalid("from must be before to", [{"field": "query.from", "message": "after to"}])


async def history_filter(
    since: Annotated[datetime | None, Query(alias="from", description="inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="exclusive")] = None,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    profile: Annotated[Profile | None, Query()] = None,
) -> HistoryFilter:
    """The filters of a history query (async: a plain def would run in the thread pool)."""
    check_period(since, until)
    return HistoryFilter(since, until, action, profile.value if profile else None)


Filter = Annotated[HistoryFilter, Depends(history_filter)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of a page")]
Limit = Annotated[int, Query(ge=1, le=200)]


async def _trace_read(events: RequestEvents, worker_id: str, n: int) -> None:
    await events.emit(
        events.draft(
            "read_history",
            worker_id=worker_id,
            resource=Resource(type="access_history", id=worker_id),
            details={"entries": n},
        )
    )


@router.get(
    "/me/access-history",
    response_model=AccessHistoryPage,
    summary="Who accessed my file (worker, or guardian with worker_id)",
)
async def my_history(
    session: SessionDep,
    principal: CurrentUser,
    events: TracedEvents,
    flt: Filter,
    nodes: LogNodes,
    cursor: Cursor = None,
    limit: Limit = 50,
    worker_id: Annotated[str | None, Query(max_length=64, description="a ward's file")] = None,
) -> Response:
    """The caller's own file history (or a ward's), without medical details."""
    if principal.scope(Right.ACCESS_HISTORIES) is not Scope.OWN:
        raise Denied(principal, Right.ACCESS_HISTORIES, "Only workers and guardians have a file")
    own = principal.own_worker_ids()
    chosen = worker_id or (own[0] if own else None)
    if chosen is None or chosen not in own:
        raise Denied(principal, Right.ACCESS_HISTORIES, "That file is not yours")
    result = await page(
        session, chosen, flt, limit=limit, cursor=cursor, with_details=False, nodes=nodes
    )
    await _trace_read(events, chosen, len(result["items"]))
    return Response(page_json(result), media_type="application/json")


@router.get(
    "/access-history/{worker_id}",
    response_model=AccessHistoryPage,
    summary="Who accessed a worker's file (medical director, security officer)",
)
async def worker_history(
    session: SessionDep,
    principal: Monitor,
    events: TracedEvents,
    worker_id: WorkerId,
    flt: Filter,
    nodes: LogNodes,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """A worker's history; the security officer's view carries no medical details."""
    result = await page(
        session,
        worker_id,
        flt,
        limit=limit,
        cursor=cursor,
        with_details=sees_medical(principal),
        nodes=nodes,
    )
    await _trace_read(events, worker_id, len(result["items"]))
    return Response(page_json(result), media_type="application/json")

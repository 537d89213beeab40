"""GET /integrity (whole-store verification) and the published checkpoints."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlmodel import col

from audit.access import Monitor
from audit.log.service import verify_all
from audit.store.models import Checkpoint
from audit.store.schemas import BrokenLinkRead, CheckpointRead, IntegrityRead, PublicKeyRead
from audit.store.service import configured_public_keys, public_keys
from common.db import SessionDep, utcnow

router = APIRouter(tags=["integrity"])


@router.get("/integrity", response_model=IntegrityRead, summary="Verify the whole event store")
async def integrity(request: Request, session: SessionDep, auth: Monitor) -> IntegrityRead:
    """Walk the hash chain and its checkpoints, then rebuild the Merkle tree and check its
    tiles and signed checkpoints; report the first problem of each."""
    started = time.perf_counter()
    extra = configured_public_keys(request.app.state.settings.checkpoint_public_keys)
    report, tree = await verify_all(session, extra_keys=extra)
    broken = report.first_broken
    result = IntegrityRead(
        ok=report.ok and tree.ok,
        events_checked=report.events_checked,
        broken_links=report.broken_links,
        first_broken=BrokenLinkRead(**broken.__dict__) if broken else None,
        head_position=report.head_position,
        head_hash=report.head_hash,
        checkpoints_checked=report.checkpoints_checked,
        checkpoint_problem=report.checkpoint_problem,
        log_tree_size=tree.tree_size,
        log_checkpoints_checked=tree.checkpoints_checked,
        log_problem=tree.problem,
        checked_at=utcnow(),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    # The last verdict, for /stats (the desk's trail health): kept by this process.
    request.app.state.last_integrity = {
        "ok": result.ok,
        "checked_at": result.checked_at,
        "events_checked": result.events_checked,
        "broken_links": result.broken_links,
    }
    return result


@router.get(
    "/checkpoints", response_model=list[CheckpointRead], summary="Signed checkpoints, newest first"
)
async def checkpoints(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> list[CheckpointRead]:
    """Public: anyone may keep copies, so a later rewrite of history shows."""
    rows = await session.execute(
        select(Checkpoint).order_by(col(Checkpoint.position).desc()).limit(limit)
    )
    return [CheckpointRead.model_validate(r, from_attributes=True) for r in rows.scalars()]


@router.get(
    "/checkpoints/public-keys",
    response_model=list[PublicKeyRead],
    summary="Keys that verify checkpoint signatures",
)
async def checkpoint_keys(request: Request, session: SessionDep) -> list[PublicKeyRead]:
    """Every checkpoint key, newest first: recorded by the consumer when it first signs with
    one, then the retired keys of AUDIT_CHECKPOINT_PUBLIC_KEYS (created_at null)."""
    keys = [
        PublicKeyRead(key_id=k.key_id, public_key_pem=k.public_pem, created_at=k.created_at)
        for k in await public_keys(session)
    ]
    known = {k.key_id for k in keys}
    extra = configured_public_keys(request.app.state.settings.checkpoint_public_keys)
    keys += [
        PublicKeyRead(key_id=kid, public_key_pem=pem, created_at=None)
        for kid, pem in extra.items()
        if kid not in known
    ]
    return keys

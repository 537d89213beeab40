"""GET /log/checkpoint, /log/key, /log/consistency, /log/inclusion: the public face of the tree."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse

from audit.log.schemas import ConsistencyRead, InclusionRead, LogKeyRead
from audit.log.service import (
    NodeCache,
    consistency_proof,
    inclusion_proof,
    latest_checkpoint,
    log_verifier,
)
from common.db import SessionDep
from common.errors import invalid, unavailable

router = APIRouter(prefix="/log", tags=["log"])


@contextlib.asynccontextmanager
async def node_cache(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan hook: app.state.log_nodes, the complete subtree hashes proofs have needed."""
    app.state.log_nodes = NodeCache()
    yield


async def nodes_of(request: Request) -> NodeCache:
    """The app's cache of subtree hashes."""
    cache: NodeCache = request.app.state.log_nodes
    return cache


LogNodes = Annotated[NodeCache, Depends(nodes_of)]

Size = Annotated[int, Query(ge=0, le=2**62)]


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def _none_yet() -> Exception:
    return unavailable("No signed tree yet: the sequencer has not signed a checkpoint")


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The newest signed checkpoint (C2SP tlog-checkpoint, signed note)",
    responses={200: {"content": {"text/plain": {}}}},
)
async def checkpoint(session: SessionDep) -> PlainTextResponse:
    """Public: witnesses keep copies, so a rewritten or forked log shows."""
    latest = await latest_checkpoint(session)
    if latest is None:
        raise _none_yet()
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-store"})


@router.get("/key", response_model=LogKeyRead, summary="The key that verifies checkpoints")
async def key(session: SessionDep) -> LogKeyRead:
    """The Ed25519 key of the newest checkpoint, raw and as a signed-note verifier key."""
    verifier = await log_verifier(session)
    if verifier is None:
        raise _none_yet()
    return LogKeyRead(
        name=verifier.name,
        public_key=base64.b64encode(verifier.public_key).decode(),
        verifier_key=verifier.string(),
    )


async def _checked_size(session: SessionDep, *sizes: tuple[str, int]) -> int:
    latest = await latest_checkpoint(session)
    if latest is None:
        raise _none_yet()
    for name, value in sizes:
        if value > latest.tree_size:
            raise invalid(
                "Beyond the signed tree",
                [{"field": f"query.{name}", "message": f"the tree has {latest.tree_size} leaves"}],
            )
    return latest.tree_size


@router.get(
    "/consistency", response_model=ConsistencyRead, summary="Consistency proof between two sizes"
)
async def consistency(session: SessionDep, first: Size, second: Size) -> ConsistencyRead:
    """RFC 9162 2.1.4: proves the tree of `second` leaves extends the one of `first`."""
    if not 0 < first <= second:
        raise invalid(
            "first must be in 1..second",
            [{"field": "query.first", "message": "0 < first <= second"}],
        )
    await _checked_size(session, ("second", second))
    return ConsistencyRead(
        first=first, second=second, proof=_b64(await consistency_proof(session, first, second))
    )


@router.get("/inclusion", response_model=InclusionRead, summary="Inclusion proof of one leaf")
async def inclusion(session: SessionDep, leaf_index: Size, tree_size: Size) -> InclusionRead:
    """RFC 9162 2.1.3: the hashes that lead from a leaf to the root of a signed size."""
    if not leaf_index < tree_size:
        raise invalid(
            "leaf_index must be below tree_size",
            [{"field": "query.leaf_index", "message": "not in the tree"}],
        )
    await _checked_size(session, ("tree_size", tree_size))
    return InclusionRead(
        leaf_index=leaf_index,
        tree_size=tree_size,
        proof=_b64(await inclusion_proof(session, leaf_index, tree_size)),
    )

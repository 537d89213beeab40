"""GET /stats: consumer lag per partition, events per source, last event time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlmodel import col

from audit.ingest.models import ConsumerPosition, PendingEvent, Quarantine
from audit.log.models import LogCheckpoint
from audit.projections.models import Gap, ProjectionPosition, SourceStat
from audit.store.models import Event
from common.db import SessionDep
from common.events import ALL_TOPICS, HEARTBEAT_TOPIC
from common.kafka import client_options

CONSUMED_TOPICS = (*ALL_TOPICS, HEARTBEAT_TOPIC)

router = APIRouter(tags=["stats"])


class PartitionLag(BaseModel):
    """How far the consumer is behind on one partition."""

    topic: str
    partition: int
    next_offset: int | None
    end_offset: int | None
    lag: int | None


class SourceRead(BaseModel):
    """Totals of one source."""

    source: str
    events: int
    max_seq: int
    last_event_at: datetime
    last_recorded_at: datetime


class GapRead(BaseModel):
    """A range of missing source_seq values."""

    source: str
    from_seq: int
    to_seq: int
    opened_at: datetime
    resolved_at: datetime | None


class HourlyCount(BaseModel):
    """Events of one source stored in one hour."""

    source: str
    hour: datetime
    events: int


class StatsRead(BaseModel):
    """Health of the trail."""

    events_stored: int
    last_event_at: datetime | None
    sources: list[SourceRead]
    partitions: list[PartitionLag]
    broker: str
    quarantined: int
    pending_own_events: int
    open_gaps: list[GapRead]
    hourly: list[HourlyCount] = []
    # The last GET /integrity answered by this audit process (none since it started: null).
    last_integrity: dict[str, Any] | None = None
    # Where the projector is (the histories, alerts and tree stop moving when it stops): the
    # position folded and when, and the size of the newest signed tree.
    projected_position: int = 0
    projected_at: datetime | None = None
    events_not_projected: int = 0
    signed_tree_size: int = 0


# Events per source per hour over the last 24 hours, read from the newest positions only (an
# index range on the primary key), so the figure stays cheap on a store of tens of millions.
HOURLY_SQL = text(
    "SELECT source, date_trunc('hour', recorded_at) AS hour, count(*) AS n FROM event "
    "WHERE position > (SELECT coalesce(max(position), 0) - :window FROM event) "
    "AND recorded_at > now() - interval '24 hours' GROUP BY 1, 2 ORDER BY 2, 1"
)
HOURLY_WINDOW = 200_000


@contextlib.asynccontextmanager
async def broker_client(app: FastAPI) -> AsyncIterator[None]:
    """A group-less Kafka client for end offsets, connected on first use."""
    app.state.kafka_meta = None
    app.state.kafka_lock = asyncio.Lock()
    try:
        yield
    finally:
        if app.state.kafka_meta is not None:
            with contextlib.suppress(Exception):
                await app.state.kafka_meta.stop()


async def _end_offsets(request: Request) -> dict[tuple[str, int], int] | None:
    app = request.app
    async with app.state.kafka_lock:
        try:
            if app.state.kafka_meta is None:
                client = AIOKafkaConsumer(
                    bootstrap_servers=app.state.settings.kafka_bootstrap,
                    **client_options(app.state.settings),
                    request_timeout_ms=3000,
                    enable_auto_commit=False,
                )
                await asyncio.wait_for(client.start(), 3)
                app.state.kafka_meta = client
            client = app.state.kafka_meta
            partitions = [
                TopicPartition(t, p)
                for t in CONSUMED_TOPICS
                for p in sorted(client.partitions_for_topic(t) or ())
            ]
            if not partitions:
                await asyncio.wait_for(client._client.force_metadata_update(), 3)
                partitions = [
                    TopicPartition(t, p)
                    for t in CONSUMED_TOPICS
                    for p in sorted(client.partitions_for_topic(t) or ())
                ]
            ends = await asyncio.wait_for(client.end_offsets(partitions), 3)
            return {(tp.topic, tp.partition): o for tp, o in ends.items()}
        except Exception:
            old, app.state.kafka_meta = app.state.kafka_meta, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.stop()
            return None


@router.get("/stats", response_model=StatsRead, summary="Consumer lag and event totals")
async def stats(request: Request, session: SessionDep) -> StatsRead:
    """Public operational figures (no personal data)."""
    positions = {
        (r.topic, r.partition): r.next_offset
        for r in (await session.execute(select(ConsumerPosition))).scalars()
    }
    ends = await _end_offsets(request)
    keys = sorted(set(positions) | set(ends or {}))
    partitions = []
    for key in keys:
        nxt = positions.get(key)
        end = ends.get(key) if ends is not None else None
        lag = max(end - (nxt or 0), 0) if end is not None else None
        partitions.append(
            PartitionLag(topic=key[0], partition=key[1], next_offset=nxt, end_offset=end, lag=lag)
        )
    sources = [
        SourceRead(
            source=s.source,
            events=s.events,
            max_seq=s.max_seq,
            last_event_at=s.last_occurred_at,
            last_recorded_at=s.last_recorded_at,
        )
        for s in (await session.execute(select(SourceStat))).scalars()
    ]
    head = (await session.execute(select(func.max(Event.position)))).scalar_one()
    folded = (
        await session.execute(
            select(col(ProjectionPosition.position), col(ProjectionPosition.updated_at)).where(
                col(ProjectionPosition.name) == "projections"
            )
        )
    ).first()
    signed = (await session.execute(select(func.max(LogCheckpoint.tree_size)))).scalar_one()
    gaps = (await session.execute(select(Gap).where(col(Gap.resolved_at).is_(None)))).scalars()
    return StatsRead(
        events_stored=int(head or 0),
        last_event_at=max((s.last_event_at for s in sources), default=None),
        sources=sources,
        partitions=partitions,
        broker="reachable" if ends is not None else "unreachable",
        quarantined=(
            await session.execute(select(func.count()).select_from(Quarantine))
        ).scalar_one(),
        pending_own_events=(
            await session.execute(select(func.count()).select_from(PendingEvent))
        ).scalar_one(),
        open_gaps=[GapRead.model_validate(g, from_attributes=True) for g in gaps],
        last_integrity=getattr(request.app.state, "last_integrity", None),
        projected_position=folded.position if folded else 0,
        projected_at=folded.updated_at if folded else None,
        events_not_projected=max(int(head or 0) - (folded.position if folded else 0), 0),
        signed_tree_size=int(signed or 0),
        hourly=[
            HourlyCount(source=r.source, hour=r.hour, events=r.n)
            for r in await session.execute(HOURLY_SQL, {"window": HOURLY_WINDOW})
        ],
    )

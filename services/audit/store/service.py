"""Appending to the hash chain, signing checkpoints, verifying the whole store."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.chain import ChainVerifier, columns_of, link
from audit.core.hashing import GENESIS, checkpoint_message
from audit.core.models import Break, ChainRow, StoredEvent
from audit.store.models import Checkpoint, Event, SigningKey
from audit.tables import table_of
from common.db import utcnow
from common.events import AccessEvent, format_time

CHAIN_LOCK = zlib.crc32(b"audit-chain")
KEY_LOCK = zlib.crc32(b"audit-signing-key")
EVENT = table_of(Event)


@dataclass(frozen=True)
class Incoming:
    """An envelope to append, with where it was read from (None for the audit's own)."""

    event: AccessEvent
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


async def lock_chain(session: AsyncSession) -> None:
    """Serialize appenders (consumer, app, rebuild) until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})


async def head(session: AsyncSession) -> tuple[int, str]:
    """(position, hash) of the last link, or (0, GENESIS) for an empty store."""
    row = (
        await session.execute(
            select(EVENT.c.position, EVENT.c.hash).order_by(EVENT.c.position.desc()).limit(1)
        )
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


async def next_seq(session: AsyncSession, source: str) -> int:
    """The next source_seq of a source written by this service (under the chain lock)."""
    last = (
        await session.execute(select(func.max(EVENT.c.source_seq)).where(EVENT.c.source == source))
    ).scalar_one()
    return int(last or 0) + 1


async def append(session: AsyncSession, incoming: Sequence[Incoming]) -> list[StoredEvent]:
    """Append the envelopes not stored yet (dedup on event_id); returns what was stored."""
    if not incoming:
        return []
    await lock_chain(session)
    unique: dict[str, Incoming] = {}
    for item in incoming:
        unique.setdefault(str(item.event.event_id), item)
    existing = set(
        (
            await session.execute(
                select(EVENT.c.event_id).where(EVENT.c.event_id.in_(list(unique)))
            )
        ).scalars()
    )
    fresh = [i for k, i in unique.items() if k not in {str(e) for e in existing}]
    if not fresh:
        return []
    # Within a batch, sequence order makes partitions interleave without transient gaps.
    fresh.sort(key=lambda i: (i.event.source, i.event.source_seq))
    position, prev_hash = await head(session)
    recorded_at = utcnow()
    rows: list[dict[str, Any]] = []
    stored: list[StoredEvent] = []
    links = link(prev_hash, position, recorded_at, (i.event for i in fresh))
    for item, (pos, prev, digest, body) in zip(fresh, links, strict=True):
        columns = columns_of(item.event)
        columns["occurred_at"] = item.event.occurred_at
        columns["event_id"] = item.event.event_id
        rows.append(
            {
                **columns,
                "position": pos,
                "recorded_at": recorded_at,
                "origin_topic": item.topic,
                "origin_partition": item.partition,
                "origin_offset": item.offset,
                "body": body,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        stored.append(StoredEvent(pos, recorded_at, item.event))
    await session.execute(insert(EVENT), rows)
    return stored


def stored_from_row(position: int, recorded_at: datetime, body: str) -> StoredEvent:
    """A StoredEvent from the columns of a store row."""
    return StoredEvent(position, recorded_at, AccessEvent.model_validate_json(body))


class Signer:
    """The checkpoint key, loaded (or created on first start) from the audit database."""

    def __init__(self, key_id: str, private: Ed25519PrivateKey, public_pem: str) -> None:
        self.key_id = key_id
        self.private = private
        self.public_pem = public_pem

    @classmethod
    async def load(cls, session: AsyncSession) -> Signer:
        """The newest key; generate and store one when there is none."""
        row = await _newest_key(session)
        if row is None:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": KEY_LOCK})
            row = await _newest_key(session)
        if row is None:
            private = Ed25519PrivateKey.generate()
            public_pem = (
                private.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            private_pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            key_id = key_id_of(public_pem)
            await session.execute(
                insert(table_of(SigningKey)),
                {
                    "key_id": key_id,
                    "private_pem": private_pem,
                    "public_pem": public_pem,
                    "created_at": utcnow(),
                },
            )
            return cls(key_id, private, public_pem)
        private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
        assert isinstance(private, Ed25519PrivateKey)
        return cls(row.key_id, private, row.public_pem)

    def sign(self, position: int, head_hash: str, signed_at: datetime) -> str:
        """Base64 signature of a checkpoint."""
        message = checkpoint_message(position, head_hash, format_time(signed_at), self.key_id)
        return base64.b64encode(self.private.sign(message)).decode()


def key_id_of(public_pem: str) -> str:
    """A short stable id of a public key."""
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


async def _newest_key(session: AsyncSession) -> Any:
    return (
        await session.execute(
            select(SigningKey).order_by(SigningKey.created_at.desc()).limit(1)  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()


async def public_keys(session: AsyncSession) -> list[SigningKey]:
    """Every checkpoint key ever used, newest first."""
    result = await session.execute(
        select(SigningKey).order_by(SigningKey.created_at.desc())  # type: ignore[attr-defined]
    )
    return list(result.scalars())


async def checkpoint(session: AsyncSession, signer: Signer) -> Checkpoint | None:
    """Sign the current head unless it is already signed; None when nothing is new."""
    position, head_hash = await head(session)
    if position == 0:
        return None
    last = (
        await session.execute(
            select(func.max(Checkpoint.position))  # type: ignore[arg-type]
        )
    ).scalar_one()
    if last is not None and last >= position:
        return None
    signed_at = utcnow()
    row = Checkpoint(
        position=position,
        hash=head_hash,
        signed_at=signed_at,
        key_id=signer.key_id,
        signature=signer.sign(position, head_hash, signed_at),
    )
    session.add(row)
    await session.flush()
    return row


def signature_valid(cp: Checkpoint, public_pem: str | None) -> bool:
    """Whether a checkpoint's signature holds under its key."""
    if public_pem is None:
        return False
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        return False
    message = checkpoint_message(cp.position, cp.hash, format_time(cp.signed_at), cp.key_id)
    try:
        key.verify(base64.b64decode(cp.signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class IntegrityReport:
    """The outcome of verifying the whole store."""

    ok: bool
    events_checked: int
    broken_links: int
    first_broken: Break | None
    head_position: int
    head_hash: str
    checkpoints_checked: int
    checkpoint_problem: str | None


async def verify(session: AsyncSession, batch: int = 5000) -> IntegrityReport:
    """Walk the chain from the first link: positions, links, hashes, columns, checkpoints."""
    keys = {k.key_id: k.public_pem for k in await public_keys(session)}
    checkpoints = list(
        (await session.execute(select(Checkpoint).order_by(Checkpoint.position))).scalars()  # type: ignore[arg-type]
    )
    wanted = {cp.position: cp for cp in checkpoints}
    checkpoint_problem: str | None = None
    for cp in checkpoints:
        if not signature_valid(cp, keys.get(cp.key_id)):
            checkpoint_problem = f"checkpoint at position {cp.position} has a bad signature"
            break
    verifier = ChainVerifier()
    last_position = 0
    result = await session.stream(
        select(
            EVENT.c.position, EVENT.c.prev_hash, EVENT.c.hash, EVENT.c.recorded_at,
            EVENT.c.body, EVENT.c.event_id, EVENT.c.source, EVENT.c.source_seq,
            EVENT.c.occurred_at, EVENT.c.worker_id, EVENT.c.actor_user_id,
            EVENT.c.actor_profile, EVENT.c.action, EVENT.c.outcome,
        )
        .order_by(EVENT.c.position)
        .execution_options(yield_per=batch)
    )  # fmt: skip
    async for r in result:
        columns = {
            "event_id": str(r.event_id),
            "source": r.source,
            "source_seq": r.source_seq,
            "occurred_at": format_time(r.occurred_at),
            "worker_id": r.worker_id,
            "actor_user_id": r.actor_user_id,
            "actor_profile": r.actor_profile,
            "action": r.action,
            "outcome": r.outcome,
        }
        row = ChainRow(r.position, r.prev_hash, r.hash, r.recorded_at, r.body, columns)
        verifier.feed(row)
        last_position = r.position
        cp = wanted.get(r.position)
        if cp is not None and cp.hash != r.hash and checkpoint_problem is None:
            checkpoint_problem = f"position {r.position} no longer matches its signed checkpoint"
    if checkpoints and checkpoints[-1].position > last_position and checkpoint_problem is None:
        checkpoint_problem = (
            f"the store ends at {last_position} but a checkpoint signed position "
            f"{checkpoints[-1].position}: events were removed"
        )
    if checkpoint_problem and verifier.broken is None:
        verifier.broken = Break(last_position, checkpoint_problem)
        verifier.broken_count += 1
    position, head_hash = (last_position, verifier.prev_hash)
    return IntegrityReport(
        ok=verifier.broken is None and checkpoint_problem is None,
        events_checked=verifier.checked,
        broken_links=verifier.broken_count,
        first_broken=verifier.broken,
        head_position=position,
        head_hash=head_hash,
        checkpoints_checked=len(checkpoints),
        checkpoint_problem=checkpoint_problem,
    )

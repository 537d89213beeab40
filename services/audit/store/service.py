"""Appending to the hash chain, signing checkpoints, verifying the whole store."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import BigInteger, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from audit.core.chain import ChainVerifier, body_and_columns
from audit.core.hashing import GENESIS, checkpoint_message, link_hash
from audit.core.models import Break, ChainRow, StoredEvent
from audit.store.models import Checkpoint, Event, SigningKey
from audit.tables import copy_rows, table_of
from common.db import utcnow
from common.events import AccessEvent, format_time
from common.signing import SigningKeyError, key_from_secret, load_public_key

CHAIN_LOCK = zlib.crc32(b"audit-chain")
COPY_COLUMNS = (
    "position", "event_id", "source", "source_seq", "occurred_at", "recorded_at", "worker_id",
    "actor_user_id", "actor_profile", "action", "outcome", "origin_topic", "origin_partition",
    "origin_offset", "body", "prev_hash", "hash",
)  # fmt: skip
KEY_LOCK = zlib.crc32(b"audit-signing-key")
# Notified in every appending transaction (delivered at its commit): a projector process wakes.
APPENDED_CHANNEL = "audit_appended"
# pending_event's trigger (migration audit_0060) notifies here when the audit app wrote drafts.
PENDING_CHANNEL = "audit_pending"
EVENT = table_of(Event)
# A batch's ids as one array parameter: an IN list of 500 is rendered and bound anew per batch.
IDS = ARRAY(UUID(as_uuid=False))
SEQS = ARRAY(BigInteger)


@dataclass(frozen=True)
class Incoming:
    """An envelope to append, with where it was read from (None for the audit's own)."""

    event: AccessEvent
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    # The broker message it was read from (audit.ingest.Message), kept for the quarantine.
    message: Any = None


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


async def _refuse_taken(
    session: AsyncSession,
    fresh: list[Incoming],
    refused: list[tuple[Incoming, str]] | None,
) -> list[Incoming]:
    """Drop envelopes whose (source, source_seq) is taken by another event (store or batch).

    The store's UNIQUE (source, source_seq) would refuse them anyway, failing the whole batch;
    under the chain lock they are set aside here instead, with the reason."""
    wanted: dict[str, set[int]] = {}
    for item in fresh:
        wanted.setdefault(item.event.source, set()).add(item.event.source_seq)
    holder: dict[tuple[str, int], str] = {}
    for source, seqs in wanted.items():
        rows = await session.execute(
            select(EVENT.c.source_seq, EVENT.c.event_id).where(
                EVENT.c.source == source,
                EVENT.c.source_seq == any_(bindparam("seqs", sorted(seqs), type_=SEQS)),
            )
        )
        holder.update({(source, int(r.source_seq)): str(r.event_id) for r in rows})
    kept: list[Incoming] = []
    for item in fresh:
        place = (item.event.source, item.event.source_seq)
        taken_by = holder.get(place)
        if taken_by is None:
            holder[place] = str(item.event.event_id)
            kept.append(item)
            continue
        reason = f"source_seq {place[1]} of {place[0]} is already taken by event {taken_by}"
        if refused is None:
            raise ValueError(reason)
        refused.append((item, reason))
    return kept


async def fresh_of(
    session: AsyncSession,
    incoming: Sequence[Incoming],
    refused: list[tuple[Incoming, str]] | None = None,
) -> list[Incoming]:
    """The envelopes not stored yet (dedup on event_id), without a taken (source, source_seq).

    Outside the chain lock: an appender racing on the same event fails the store's UNIQUE
    constraints under the lock, and its batch is read again (and deduplicated here)."""
    unique: dict[str, Incoming] = {}
    for item in incoming:
        unique.setdefault(str(item.event.event_id), item)
    if not unique:
        return []
    existing = {
        str(e)
        for e in (
            await session.execute(
                select(EVENT.c.event_id).where(
                    EVENT.c.event_id == any_(bindparam("ids", list(unique), type_=IDS))
                )
            )
        ).scalars()
    }
    fresh = [i for k, i in unique.items() if k not in existing]
    if fresh:
        fresh = await _refuse_taken(session, fresh, refused)
    return fresh


async def write(session: AsyncSession, fresh: Sequence[Incoming]) -> list[StoredEvent]:
    """Number, link and COPY envelopes already checked by fresh_of; the caller commits next.

    The chain lock is taken here and held to the commit: positions are dense in commit order
    (a reader that sees position p sees every position before it), and everything else of
    the batch (parsing, verifying, deduplicating, projecting) happens outside it."""
    if not fresh:
        return []
    # Within a batch, sequence order makes partitions interleave without transient gaps.
    ordered = sorted(fresh, key=lambda i: (i.event.source, i.event.source_seq))
    derived = [body_and_columns(i.event) for i in ordered]
    await lock_chain(session)
    position, prev_hash = await head(session)
    recorded_at = utcnow()
    stamp = format_time(recorded_at)
    records: list[tuple[Any, ...]] = []
    stored: list[StoredEvent] = []
    for item, (body, cols) in zip(ordered, derived, strict=True):
        position += 1
        digest = link_hash(prev_hash, position, stamp, body)
        event = item.event
        records.append(
            (
                position, event.event_id, cols["source"], cols["source_seq"], event.occurred_at,
                recorded_at, cols["worker_id"], cols["actor_user_id"], cols["actor_profile"],
                cols["action"], cols["outcome"], item.topic, item.partition, item.offset,
                body, prev_hash, digest,
            )
        )  # fmt: skip
        prev_hash = digest
        stored.append(StoredEvent(position, recorded_at, event))
    await copy_rows(session, "event", COPY_COLUMNS, records)
    await session.execute(text(f"NOTIFY {APPENDED_CHANNEL}"))
    return stored


async def append(
    session: AsyncSession,
    incoming: Sequence[Incoming],
    refused: list[tuple[Incoming, str]] | None = None,
) -> list[StoredEvent]:
    """Append the envelopes not stored yet (dedup on event_id); returns what was stored.

    A different event with a (source, source_seq) already taken is not appended: it goes to
    `refused` with the reason (raises ValueError when no list is given). Holds the chain
    lock until the transaction ends: call it last before the commit."""
    return await write(session, await fresh_of(session, incoming, refused))


def stored_from_row(position: int, recorded_at: datetime, body: str) -> StoredEvent:
    """A StoredEvent from the columns of a store row."""
    return StoredEvent(position, recorded_at, AccessEvent.model_validate_json(body))


class Signer:
    """The checkpoint key, given to the consumer as a file or a secret; never in the database.

    Only its public half is recorded (table checkpoint_key), so /integrity verifies every
    checkpoint ever signed, also after a rotation."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public_pem = public_pem_of(private.public_key())
        self.key_id = key_id_of(self.public_pem)

    @classmethod
    async def load(cls, session: AsyncSession, private: Ed25519PrivateKey) -> Signer:
        """The signer of this key; its public key is recorded on first use."""
        signer = cls(private)
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": KEY_LOCK})
        known = (
            await session.execute(
                select(col(SigningKey.key_id)).where(col(SigningKey.key_id) == signer.key_id)
            )
        ).first()
        if known is None:
            await session.execute(
                insert(table_of(SigningKey)),
                {"key_id": signer.key_id, "public_pem": signer.public_pem, "created_at": utcnow()},
            )
        return signer

    def sign(self, position: int, head_hash: str, signed_at: datetime) -> str:
        """Base64 signature of a checkpoint."""
        message = checkpoint_message(position, head_hash, format_time(signed_at), self.key_id)
        return base64.b64encode(self.private.sign(message)).decode()


def checkpoint_private_key(settings: Any) -> Ed25519PrivateKey:
    """AUDIT_CHECKPOINT_KEY_FILE or AUDIT_CHECKPOINT_KEY; refused when neither is set."""
    secret = settings.checkpoint_key
    private = key_from_secret(
        secret.get_secret_value() if secret is not None else None,
        settings.checkpoint_key_file,
        "AUDIT_CHECKPOINT_KEY",
    )
    if private is None:
        raise SigningKeyError(
            "the audit process that signs checkpoints (the projector, or a consumer without "
            "one) needs its checkpoint key: set AUDIT_CHECKPOINT_KEY_FILE (a PEM "
            "or base64 Ed25519 private key, e.g. a Docker secret) or AUDIT_CHECKPOINT_KEY"
        )
    return private


def public_pem_of(key: Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM of a public key."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id_of(public_pem: str) -> str:
    """A short stable id of a public key."""
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


def configured_public_keys(text: str | None) -> dict[str, str]:
    """AUDIT_CHECKPOINT_PUBLIC_KEYS (base64 or PEM, comma-separated) as {key_id: PEM}."""
    keys: dict[str, str] = {}
    if not text:
        return keys
    parts = [text] if "-----BEGIN" in text else text.split(",")
    for part in parts:
        if part.strip():
            pem = public_pem_of(load_public_key(part))
            keys[key_id_of(pem)] = pem
    return keys


async def public_keys(session: AsyncSession) -> list[SigningKey]:
    """Every checkpoint key ever used, newest first."""
    result = await session.execute(select(SigningKey).order_by(col(SigningKey.created_at).desc()))
    return list(result.scalars())


async def checkpoint(session: AsyncSession, signer: Signer) -> Checkpoint | None:
    """Sign the current head unless it is already signed; None when nothing is new."""
    position, head_hash = await head(session)
    if position == 0:
        return None
    last = (await session.execute(select(func.max(Checkpoint.position)))).scalar_one()
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


async def verify(
    session: AsyncSession,
    batch: int = 5000,
    extra_keys: dict[str, str] | None = None,
    observe: Callable[[int, str], Awaitable[None]] | None = None,
) -> IntegrityReport:
    """Walk the chain from the first link: positions, links, hashes, columns, checkpoints.

    extra_keys: {key_id: PEM} of retired checkpoint keys given by configuration; observe: sees
    each (position, body) of the walk (the Merkle tree's check rides on it)."""
    keys = {**(extra_keys or {}), **{k.key_id: k.public_pem for k in await public_keys(session)}}
    checkpoints = list(
        (await session.execute(select(Checkpoint).order_by(col(Checkpoint.position)))).scalars()
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
        if observe is not None:
            await observe(r.position, r.body)
        last_position = r.position
        signed = wanted.get(r.position)
        if signed is not None and signed.hash != r.hash and checkpoint_problem is None:
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

"""The trust boundary: the store takes only envelopes signed by a key of their claimed source.

Black-box against the stack's broker: whoever can publish on it (no credentials needed on the
test broker) tries to slip events into the trail."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.devstack import Stack
from common.events import AccessEvent
from common.signing import EventSigner, header
from tests.audit.support import Events, SignedProducer, care, dsn, publish, staff, stored
from tests.helpers import Account, eventually, make_user

pytestmark = pytest.mark.asyncio
TOPIC = "access-events"


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director (reads histories and alerts)."""
    return await make_user(http, stack, "medical_director")


async def forgery(events: Events, worker: str) -> AccessEvent:
    """A valid access-event/1 of records about the worker; its number is given back, so the
    genuine envelope that follows takes it and the fake sequence stays without holes."""
    event = await events.make(worker_id=worker, actor=staff(), details=care())
    events.last["records"] -= 1
    return event


async def quarantine_row(db: asyncpg.Connection, meta: Any) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT reason, value FROM quarantine "
        'WHERE topic = $1 AND partition = $2 AND "offset" = $3',
        meta.topic,
        meta.partition,
        meta.offset,
    )


async def forged_alert(
    stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection, who: Account, meta: Any
) -> dict | None:
    """The forged_event alert raised for the message at meta (its trace lists the message)."""
    where = [{"topic": meta.topic, "partition": meta.partition, "offset": meta.offset}]
    event_id = await db.fetchval(
        "SELECT event_id FROM event WHERE source = 'audit' AND action = 'forged_event_detected' "
        "AND body::jsonb -> 'details' -> 'quarantined' @> $1::jsonb",
        json.dumps(where),
    )
    if event_id is None:
        return None
    resp = await http.get(
        f"{stack.url('audit')}/alerts",
        params={"kind": "forged_event", "limit": 200},
        headers=who.headers,
    )
    assert resp.status_code == 200, resp.text
    return next((a for a in resp.json()["items"] if a["event_id"] == str(event_id)), None)


async def history_ids(
    stack: Stack, http: httpx.AsyncClient, who: Account, worker: str
) -> list[str]:
    resp = await http.get(
        f"{stack.url('audit')}/access-history/{worker}",
        params={"limit": 200},
        headers=who.headers,
    )
    assert resp.status_code == 200, resp.text
    return [item["event_id"] for item in resp.json()["items"]]


def other_key_headers(value: bytes) -> list[tuple[str, bytes]]:
    return EventSigner(Ed25519PrivateKey.generate()).headers(value)


class TestForgedEnvelopes:
    @pytest.mark.parametrize(
        ("variant", "reason"),
        [
            ("unsigned", "unsigned"),
            ("unknown key", "unknown kid"),
            ("key of another source", "is a key of identity"),
            ("signature of other bytes", "bad signature"),
        ],
    )
    async def test_forgery_is_quarantined_never_in_a_history_and_raises_forged_event(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
        variant: str,
        reason: str,
    ):
        worker = f"w-{uuid.uuid4()}"
        forged = await forgery(events, worker)
        value = forged.to_json()
        headers = {
            "unsigned": [],
            "unknown key": other_key_headers(value),
            "key of another source": producer.signers["identity"].headers(value),
            "signature of other bytes": producer.signers["records"].headers(value + b" "),
        }[variant]
        meta = await producer.raw.send_and_wait(TOPIC, value, key=worker.encode(), headers=headers)
        # A genuine envelope behind it on the same partition: once it is in, the forgery was read.
        genuine = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, genuine)
        await eventually(lambda: stored(db, genuine))

        row = await quarantine_row(db, meta)
        assert row is not None and reason in row["reason"], row
        assert row["value"] == value
        assert not await stored(db, forged)
        assert await history_ids(stack, http, director, worker) == [str(genuine.event_id)]
        alert = await eventually(lambda: forged_alert(stack, http, db, director, meta))
        assert alert["severity"] == "high" and alert["status"] == "open"
        assert "records" in alert["summary"]


class TestReplay:
    async def test_a_replayed_genuine_envelope_is_deduplicated(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        if "records" not in stack.services:
            pytest.skip("needs the records service and its relay")
        physician = await make_user(http, stack, "physician")
        body = {"first_name": "Rita", "last_name": "Replay", "birth_date": "1980-02-03",
                "employer": "Acme"}  # fmt: skip
        resp = await http.post(
            f"{stack.url('records')}/workers", json=body, headers=physician.headers
        )
        assert resp.status_code == 201, resp.text
        worker = resp.json()["id"]

        # The relay's own message, with its headers, as anyone on the broker can read it.
        consumer = AIOKafkaConsumer(
            TOPIC, bootstrap_servers=stack.broker.bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, group_id=None,
        )  # fmt: skip
        await consumer.start()
        try:

            async def find() -> Any:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        try:
                            claimed = json.loads(r.value).get("worker_id")
                        except (ValueError, AttributeError):
                            continue  # other tests' poison
                        if claimed == worker and header(r.headers, "sig"):
                            return r
                return None

            real = await eventually(find, timeout=30)
        finally:
            await consumer.stop()
        envelope = json.loads(real.value)
        assert header(real.headers, "kid") == producer.signers["records"].kid.encode()
        await eventually(lambda: db.fetchval(
            "SELECT count(*) FROM event WHERE event_id = $1", uuid.UUID(envelope["event_id"])
        ))  # fmt: skip
        before = await history_ids(stack, http, director, worker)
        assert envelope["event_id"] in before

        replay = await producer.raw.send_and_wait(
            TOPIC, real.value, key=real.key, headers=list(real.headers)
        )
        marker = await events.make(worker_id=worker, actor=staff(), details=care())
        await producer.send_and_wait(TOPIC, marker.to_json(), key=real.key)
        await eventually(lambda: stored(db, marker))

        count = await db.fetchval(
            "SELECT count(*) FROM event WHERE event_id = $1", uuid.UUID(envelope["event_id"])
        )
        assert count == 1
        after = await history_ids(stack, http, director, worker)
        assert after.count(envelope["event_id"]) == 1
        assert await quarantine_row(db, replay) is None, "a replay is a duplicate, not a forgery"


class TestSequenceTakeover:
    async def test_a_genuinely_signed_envelope_on_a_taken_number_is_quarantined(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        db: asyncpg.Connection,
        producer: SignedProducer,
        events: Events,
        director: Account,
    ):
        worker = f"w-{uuid.uuid4()}"
        first = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, first)
        await eventually(lambda: stored(db, first))
        # Same source, same number, another event_id, signed with the source's own key.
        usurper = await events.make(
            worker_id=worker, actor=staff(), details=care(), seq=first.source_seq
        )
        meta = await producer.send_and_wait(TOPIC, usurper.to_json(), key=worker.encode())
        row = await eventually(lambda: quarantine_row(db, meta))
        assert f"already taken by event {first.event_id}" in row["reason"]
        assert not await stored(db, usurper)
        assert await history_ids(stack, http, director, worker) == [str(first.event_id)]
        alert = await eventually(lambda: forged_alert(stack, http, db, director, meta))
        assert alert["severity"] == "high"

    async def test_two_claimants_of_one_number_in_one_batch_keep_the_first(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        worker = f"w-{uuid.uuid4()}"
        a = await events.make(worker_id=worker, actor=staff(), details=care())
        b = await events.make(worker_id=worker, actor=staff(), details=care(), seq=a.source_seq)
        after = await events.make(worker_id=worker, actor=staff(), details=care())
        await publish(producer, a, b, after)
        await eventually(lambda: stored(db, after))
        assert await stored(db, a) and not await stored(db, b)
        assert await db.fetchval(
            "SELECT count(*) FROM quarantine WHERE reason LIKE $1",
            f"%source_seq {a.source_seq} of records is already taken by event {a.event_id}%",
        )

    async def test_the_store_itself_refuses_a_second_event_on_a_number(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        event = await events.make(worker_id=f"w-{uuid.uuid4()}", actor=staff(), details=care())
        await publish(producer, event)
        await eventually(lambda: stored(db, event))
        assert await db.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'event'::regclass "
            "AND contype = 'u' AND conname = 'uq_event_source_seq'"
        )
        with pytest.raises(asyncpg.UniqueViolationError):
            async with db.transaction():
                await db.execute(
                    "INSERT INTO event (position, event_id, source, source_seq, occurred_at, "
                    "recorded_at, action, outcome, body, prev_hash, hash) "
                    "SELECT position + 1000000000, $1, source, source_seq, occurred_at, "
                    "recorded_at, action, outcome, body, prev_hash, hash FROM event "
                    "WHERE event_id = $2",
                    uuid.uuid4(),
                    event.event_id,
                )


class TestHeartbeats:
    async def test_an_unsigned_heartbeat_opens_no_tail_gap(
        self, db: asyncpg.Connection, producer: SignedProducer, events: Events
    ):
        seq = await events.next_seq("identity")
        anchor = await events.make(source="identity", action="login", seq=seq)
        await publish(producer, anchor)
        await eventually(lambda: stored(db, anchor))
        beat = {"source": "identity", "last_seq": seq + 5, "at": "2026-01-01T00:00:00Z"}
        await producer.raw.send_and_wait(
            "outbox-heartbeat", json.dumps(beat).encode(), key=b"identity"
        )
        await asyncio.sleep(8)  # past the gap grace and a housekeeping round
        assert not await db.fetchval(
            "SELECT count(*) FROM gap WHERE source = 'identity' AND to_seq = $1", seq + 5
        )
        events.last["identity"] = seq


class TestKeysOutOfReach:
    async def test_the_app_role_reads_no_private_key(self, stack: Stack, db: asyncpg.Connection):
        # Nothing in the audit database is a private key, or a column meant for one.
        columns = await db.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND (column_name ILIKE '%private%' "
            "OR column_name ILIKE '%secret%')"
        )
        assert not columns, columns
        app = await asyncpg.connect(dsn(stack, "audit_app"))
        try:
            keys = await eventually(lambda: app.fetch("SELECT * FROM checkpoint_key"), timeout=30)
            assert set(keys[0].keys()) == {"key_id", "public_pem", "created_at"}
            for row in keys:
                assert "PRIVATE" not in row["public_pem"]
            tables = await app.fetch(
                "SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
                "AND has_table_privilege(c.oid, 'SELECT')"
            )
            assert {"event", "checkpoint_key", "quarantine"} <= {t["table_name"] for t in tables}
            for t in tables:
                name = t["table_name"]
                hits = await app.fetchval(
                    f"SELECT count(*) FROM \"{name}\" x WHERE x::text LIKE '%PRIVATE KEY%'"
                )
                assert hits == 0, f"{name} holds a private key"
        finally:
            await app.close()
        # The consumer signs with the key file the process was given; its public half is known.
        from cryptography.hazmat.primitives import serialization

        from common.signing import load_private_key

        private = load_private_key(stack.checkpoint_key_path.read_bytes())
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert pem.decode() in {r["public_pem"] for r in keys}

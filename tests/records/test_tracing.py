"""The core promise: every access reaches the broker, and no trace means no health data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from common.devstack import Stack
from common.events import AccessEvent
from records.main import build_app
from records.settings import Settings
from tests.helpers import Account, eventually, make_user
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio
LIMITED_ROLE = "records_no_outbox"


async def consume_for(stack: Stack, actor_id: str, expected: int, timeout: float = 30) -> list:
    """Every access-events message of one actor; waits for `expected`, then a little more."""
    consumer = AIOKafkaConsumer(
        "access-events",
        bootstrap_servers=stack.broker.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle = None
        while loop.time() < deadline and (settle is None or loop.time() < settle):
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for m in messages:
                    try:
                        event = json.loads(m.value)
                    except ValueError:
                        continue  # other tests put malformed messages on the topic on purpose
                    if not isinstance(event, dict):
                        continue
                    if (event.get("actor") or {}).get("user_id") == actor_id:
                        assert m.key is None or m.key.decode() == event["worker_id"]
                        out.append(event)
            if len(out) >= expected and settle is None:
                settle = loop.time() + 1.5  # linger: a duplicate or extra event would show up
    finally:
        await consumer.stop()
    return out


class TestConcurrentReads:
    async def test_n_reads_give_exactly_n_events_on_kafka(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
    ):
        n = 24
        f = await new_file(http, stack, staff["physician"], last_name="Concurrent")
        reader = await make_user(http, stack, "assistant")
        url = f"{stack.url('records')}/workers/{f.worker_id}/record"
        responses = await asyncio.gather(*(http.get(url, headers=reader.headers) for _ in range(n)))
        assert [r.status_code for r in responses] == [200] * n
        events = await consume_for(stack, reader.id, n)
        assert len(events) == n
        assert len({e["event_id"] for e in events}) == n
        for e in events:
            AccessEvent.model_validate(e)
            assert e["schema"] == "access-event/1" and e["source"] == "records"
            assert e["action"] == "read" and e["outcome"] == "success"
            assert e["worker_id"] == f.worker_id
            assert e["resource"] == {"type": "worker", "id": f.worker_id, "part": "record"}
            assert e["actor"]["profile"] == "assistant"
            assert e["actor"]["display_name"] == reader.display_name
            assert isinstance(e["source_seq"], int)
            assert e["trace_id"] and len(e["trace_id"]) == 32

    async def test_denied_attempts_reach_kafka_too(
        self, stack: Stack, http: httpx.AsyncClient, file: File
    ):
        clerk = await make_user(http, stack, "admin_staff")
        url = f"{stack.url('records')}/workers/{file.worker_id}/record"
        assert (await http.get(url, headers=clerk.headers)).status_code == 403
        [event] = await consume_for(stack, clerk.id, 1)
        assert event["outcome"] == "denied" and event["worker_id"] == file.worker_id


@pytest.fixture
async def limited_url(stack: Stack) -> AsyncIterator[str]:
    """A records database role that may do everything except insert into the outbox."""
    stack.postgres.psql(
        f"DROP ROLE IF EXISTS {LIMITED_ROLE}; CREATE ROLE {LIMITED_ROLE} LOGIN; "
        f"GRANT USAGE ON SCHEMA public TO {LIMITED_ROLE}; "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {LIMITED_ROLE}; "
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {LIMITED_ROLE}; "
        f"REVOKE INSERT ON outbox FROM {LIMITED_ROLE};",
        "records",
    )
    try:
        yield stack.postgres.url("records", LIMITED_ROLE)
    finally:
        stack.postgres.psql(
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {LIMITED_ROLE}; "
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {LIMITED_ROLE}; "
            f"REVOKE ALL ON SCHEMA public FROM {LIMITED_ROLE}; DROP ROLE {LIMITED_ROLE};",
            "records",
        )


async def in_process(stack: Stack, monkeypatch: pytest.MonkeyPatch, **settings) -> AsyncIterator:
    """A second records app in this process, on the stack's identity and broker."""
    monkeypatch.setenv("OHS_IDENTITY_URL", stack.url("identity"))
    monkeypatch.setenv("OHS_KAFKA_BOOTSTRAP", stack.broker.bootstrap)
    for key, value in settings.pop("env", {}).items():
        monkeypatch.setenv(key, value)
    app = build_app(Settings(**settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://records") as client:
            yield client


class TestOutboxFailure:
    async def test_read_fails_503_without_health_data_when_the_trace_cannot_be_stored(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        limited_url: str,
        monkeypatch: pytest.MonkeyPatch,
    ):
        doc = staff["physician"]
        async for client in in_process(stack, monkeypatch, database_url=limited_url):
            untraced = await client.get("/.well-known/records-signing-key")
            assert untraced.status_code == 200, "the role reads; only the outbox insert fails"
            for path in ("/record", "", "/notes"):
                resp = await client.get(f"/workers/{file.worker_id}{path}", headers=doc.headers)
                assert resp.status_code == 503, resp.text
                assert resp.headers["content-type"] == "application/problem+json"
                for secret in ("Mild hearing loss", "H83.3", file.note, file.third_party):
                    assert secret not in resp.text
            exam = await client.get(f"/exams/{file.exam_id}", headers=doc.headers)
            assert exam.status_code == 503 and "H83.3" not in exam.text
            write = await client.post(
                f"/workers/{file.worker_id}/exams",
                json={"kind": "periodic", "performed_on": "2024-01-01"},
                headers=doc.headers,
            )
            assert write.status_code == 503
        healthy = await http.get(
            f"{stack.url('records')}/workers/{file.worker_id}/record", headers=doc.headers
        )
        assert healthy.status_code == 200


class TestAuditSwitch:
    async def test_audit_access_off_skips_read_traces_only(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
        monkeypatch: pytest.MonkeyPatch,
    ):
        doc = staff["physician"]
        before = await last_outbox_id(records_db)
        async for client in in_process(
            stack,
            monkeypatch,
            database_url=stack.postgres.url("records"),
            env={"OHS_AUDIT_ACCESS": "false"},
        ):
            [announced] = await events_since(records_db, before)
            assert announced["action"] == "tracing_disabled"
            assert announced["resource"] == {"type": "service", "id": "records", "part": "reads"}
            ready = await client.get("/readyz")
            assert "read tracing is OFF" in ready.json()["warnings"][0]
            before = await last_outbox_id(records_db)
            resp = await client.get(f"/workers/{file.worker_id}/record", headers=doc.headers)
            assert resp.status_code == 200
            assert await events_since(records_db, before) == []
            created = await client.post(
                f"/workers/{file.worker_id}/lab-results",
                json={"test": "Hb", "value": str(uuid.uuid4())[:8], "sampled_on": "2024-01-01"},
                headers=doc.headers,
            )
            assert created.status_code == 201
            [event] = await events_since(records_db, before)
            assert event["action"] == "create" and event["resource"]["part"] == "lab"

        async def raised() -> list[dict]:
            resp = await http.get(
                f"{stack.url('audit')}/alerts",
                params={"kind": "tracing_disabled"},
                headers=staff["medical_director"].headers,
            )
            return [a for a in resp.json()["items"] if a["event_id"] == announced["event_id"]]

        await eventually(raised)

    async def test_the_switch_is_refused_in_production(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("OHS_ENVIRONMENT", "production")
        monkeypatch.setenv("OHS_AUDIT_ACCESS", "false")
        with pytest.raises(ValueError, match="refused in production"):
            Settings()

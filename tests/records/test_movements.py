"""Print-outs and signed transfer bundles: movements kept, tampering refused."""

from __future__ import annotations

import base64
import copy
import json

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio


def canonical(document: dict) -> bytes:
    """The signed bytes, as a receiving service computes them."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture(scope="module")
async def exported(
    stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]
) -> tuple[File, dict]:
    """A file with two versions of its exam, exported by its physician."""
    doc = staff["physician"]
    f = await new_file(http, stack, doc, last_name="Transfer")
    base = stack.url("records")
    resp = await http.patch(
        f"{base}/exams/{f.exam_id}", json={"version": 1, "findings": "v2"}, headers=doc.headers
    )
    assert resp.status_code == 200
    resp = await http.get(f"{base}/workers/{f.worker_id}/export", headers=doc.headers)
    assert resp.status_code == 200, resp.text
    return f, resp.json()


class TestPrint:
    async def test_print_is_a_pdf_and_a_traced_movement(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
    ):
        director = staff["medical_director"]
        before = await last_outbox_id(records_db)
        resp = await http.post(
            f"{stack.url('records')}/workers/{file.worker_id}/print", headers=director.headers
        )
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.content.startswith(b"%PDF") and len(resp.content) > 500
        [event] = await events_since(records_db, before, user_id=director.id)
        assert event["action"] == "print" and event["resource"]["part"] == "record"
        kind = await records_db.fetchval(
            "SELECT kind FROM movement WHERE id = $1::uuid", event["details"]["movement_id"]
        )
        assert kind == "print"
        movements = await http.get(
            f"{stack.url('records')}/workers/{file.worker_id}/movements", headers=director.headers
        )
        assert any(m["kind"] == "print" and m["actor_id"] == director.id for m in movements.json())


class TestExport:
    async def test_bundle_holds_every_version_and_verifies_with_the_published_key(
        self, stack: Stack, http: httpx.AsyncClient, exported: tuple[File, dict]
    ):
        f, bundle = exported
        exam_versions = [v for v in bundle["versions"] if v["entity"] == "exam"]
        assert [v["version"] for v in exam_versions] == [1, 2]
        assert bundle["record"]["exams"][0]["third_party_info"] == f.third_party
        assert f.note not in json.dumps(bundle)
        keys = (await http.get(f"{stack.url('records')}/.well-known/records-signing-key")).json()
        [key] = [k for k in keys["keys"] if k["kid"] == bundle["issuer"]["kid"]]
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
        public.verify(base64.b64decode(bundle["signature"]), canonical(bundle))

    async def test_the_key_is_kept_in_the_database_not_the_repository(
        self, records_db: asyncpg.Pool, exported: tuple[File, dict]
    ):
        pem = await records_db.fetchval(
            "SELECT private_pem FROM bundle_key WHERE kid = $1", exported[1]["issuer"]["kid"]
        )
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")


class TestImport:
    async def test_import_recreates_the_file_with_its_versions(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        exported: tuple[File, dict],
        records_db: asyncpg.Pool,
    ):
        f, bundle = exported
        doc, base = staff["physician"], stack.url("records")
        resp = await http.post(f"{base}/imports", json=bundle, headers=doc.headers)
        assert resp.status_code == 201, resp.text
        body = resp.json()
        assert body["exams"] == 1 and body["fitness_decisions"] == 1
        assert body["worker_id"] != f.worker_id
        record = (
            await http.get(f"{base}/workers/{body['worker_id']}/record", headers=doc.headers)
        ).json()
        assert record["worker"]["imported_from"].endswith(bundle["bundle_id"])
        assert record["exams"][0]["findings"] == "v2"
        versions = await http.get(
            f"{base}/exams/{record['exams'][0]['id']}/versions", headers=doc.headers
        )
        assert [v["data"]["findings"] for v in versions.json()] == ["Mild hearing loss", "v2"]
        again = await http.post(f"{base}/imports", json=bundle, headers=doc.headers)
        assert again.status_code == 409

    @pytest.mark.parametrize(
        "tamper,reason",
        [
            (lambda b: b["record"]["exams"][0].update(findings="forged"), "altered"),
            (lambda b: b["record"]["worker"].update(last_name="Someone"), "altered"),
            (lambda b: b["versions"].pop(), "altered"),
            (lambda b: b.update(signature=base64.b64encode(b"x" * 64).decode()), "altered"),
            (lambda b: b.pop("signature"), "no signature"),
            (lambda b: b["issuer"].update(kid="rec-unknown"), "does not trust"),
            (lambda b: b.update(format="other/1"), "Not a"),
        ],
    )
    async def test_tampered_bundle_is_refused(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        exported: tuple[File, dict],
        records_db: asyncpg.Pool,
        tamper,
        reason: str,
    ):
        bundle = copy.deepcopy(exported[1])
        tamper(bundle)
        workers = await records_db.fetchval("SELECT count(*) FROM worker")
        resp = await http.post(
            f"{stack.url('records')}/imports", json=bundle, headers=staff["physician"].headers
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert reason in resp.json()["detail"]
        assert await records_db.fetchval("SELECT count(*) FROM worker") == workers

    async def test_bundle_re_signed_with_a_foreign_key_is_refused(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], exported
    ):
        bundle = copy.deepcopy(exported[1])
        bundle["record"]["exams"][0]["findings"] = "forged"
        forger = Ed25519PrivateKey.generate()
        raw = forger.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        bundle["public_key"] = base64.b64encode(raw).decode()
        bundle["signature"] = base64.b64encode(forger.sign(canonical(bundle))).decode()
        resp = await http.post(
            f"{stack.url('records')}/imports", json=bundle, headers=staff["physician"].headers
        )
        assert resp.status_code == 422
        assert "does not trust" in resp.json()["detail"]

    async def test_import_needs_the_create_right(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], exported
    ):
        for profile in ("admin_staff", "security_officer", "helpdesk"):
            resp = await http.post(
                f"{stack.url('records')}/imports", json=exported[1], headers=staff[profile].headers
            )
            assert resp.status_code == 403, profile

    async def test_unstorable_text_in_a_bundle_is_422(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], exported
    ):
        bundle = copy.deepcopy(exported[1])
        bundle["record"]["exams"][0]["findings"] = "lone \ud800"
        resp = await http.post(
            f"{stack.url('records')}/imports",
            content=json.dumps(bundle).encode(),
            headers={**staff["physician"].headers, "content-type": "application/json"},
        )
        assert resp.status_code == 422

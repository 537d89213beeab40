"""The Art. 30 register, DPIA and exports over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.register.conftest import assert_problem, register_events

pytestmark = pytest.mark.asyncio
SEEDED = {
    "Worker health files (occupational health surveillance)",
    "Access traces of health files (audit trail)",
    "Staff and worker accounts (identity and access management)",
}


def activity(**over: Any) -> dict[str, Any]:
    """A valid new entry."""
    body: dict[str, Any] = {
        "name": f"Vaccination campaign {uuid.uuid4().hex[:8]}",
        "controller": {"name": "OHS", "contact": "privacy@ohs.example"},
        "dpo": {"name": "DPO", "contact": "dpo@ohs.example"},
        "purposes": ["Flu vaccination of workers"],
        "legal_basis": "consent",
        "special_category_condition": "Art. 9(2)(a) explicit consent",
        "data_subject_categories": ["Workers"],
        "data_categories": [{"name": "Vaccination status", "special_category": True}],
        "recipients": ["Nurses"],
        "transfers": [{"country": "CH", "recipient": "Vaccine registry", "safeguard": "Adequacy"}],
        "retention": [{"data": "Vaccination record", "period": "5 years"}],
        "security_measures": ["Access traced"],
        "review_on": "2030-01-01",
    }
    body.update(over)
    return body


async def create_activity(http: httpx.AsyncClient, reg: str, who: Account, **over: Any) -> dict:
    """POST /processing-activities, expecting 201."""
    resp = await http.post(
        f"{reg}/processing-activities", json=activity(**over), headers=who.headers
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


class TestSeededRegister:
    async def test_real_processing_is_registered(
        self, http: httpx.AsyncClient, reg: str, physician: Account
    ):
        resp = await http.get(f"{reg}/processing-activities", headers=physician.headers)
        entries = {a["name"]: a for a in resp.json()}
        assert entries.keys() >= SEEDED
        health = entries["Worker health files (occupational health surveillance)"]
        assert health["special_category_data"] is True
        assert "9(2)(h)" in health["special_category_condition"]
        assert any("40 years" in r["period"] for r in health["retention"])


class TestVersions:
    async def test_update_makes_a_new_version_and_keeps_the_old(
        self, http: httpx.AsyncClient, reg: str, officer: Account, director: Account, stack: Stack
    ):
        created = await create_activity(http, reg, officer)
        url = f"{reg}/processing-activities/{created['id']}"
        resp = await http.patch(
            url, json={"version": 1, "purposes": ["Flu and COVID vaccination"]},
            headers=officer.headers,
        )  # fmt: skip
        assert resp.status_code == 200, resp.text
        assert resp.json()["version"] == 2
        stale = await http.patch(
            url, json={"version": 1, "recipients": []}, headers=officer.headers
        )
        assert assert_problem(stale, 409)["current_version"] == 2
        versions = (await http.get(f"{url}/versions", headers=director.headers)).json()
        assert [v["version"] for v in versions] == [1, 2]
        assert versions[1]["changed_fields"] == ["purposes"]
        assert versions[1]["changed_by"] == officer.id
        old = (await http.get(f"{url}/versions/1", headers=director.headers)).json()
        assert old["snapshot"]["purposes"] == ["Flu vaccination of workers"]
        assert_problem(await http.get(f"{url}/versions/9", headers=director.headers), 404)
        await register_events(
            stack,
            [
                ("processing_activity_created", created["id"]),
                ("processing_activity_updated", created["id"]),
            ],
        )

    async def test_special_category_needs_art_9_condition(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        resp = await http.post(
            f"{reg}/processing-activities",
            json=activity(special_category_condition=None),
            headers=officer.headers,
        )
        assert "Art. 9" in assert_problem(resp, 422)["errors"][0]["message"]
        created = await create_activity(http, reg, officer)
        resp = await http.patch(
            f"{reg}/processing-activities/{created['id']}",
            json={"version": 1, "special_category_condition": None},
            headers=officer.headers,
        )
        assert_problem(resp, 422)

    @pytest.mark.parametrize(
        "over",
        [
            {"purposes": []},
            {"legal_basis": "because"},
            {"transfers": [{"country": "US", "recipient": "Cloud"}]},
            {"review_on": "soon"},
            {"name": ""},
            {"unknown": 1},
        ],
    )
    async def test_bad_entries(
        self, http: httpx.AsyncClient, reg: str, officer: Account, over: dict
    ):
        resp = await http.post(
            f"{reg}/processing-activities", json=activity(**over), headers=officer.headers
        )
        assert_problem(resp, 422)

    async def test_duplicate_name_and_null_fields(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        created = await create_activity(http, reg, officer)
        dup = await http.post(
            f"{reg}/processing-activities",
            json=activity(name=created["name"]),
            headers=officer.headers,
        )
        assert_problem(dup, 409)
        nulled = await http.patch(
            f"{reg}/processing-activities/{created['id']}",
            json={"version": 1, "name": None},
            headers=officer.headers,
        )
        assert_problem(nulled, 422)

    async def test_review_overdue(self, http: httpx.AsyncClient, reg: str, officer: Account):
        late = await create_activity(http, reg, officer, review_on="2020-01-01")
        ok = await create_activity(http, reg, officer, review_on="2999-01-01")
        listed = await http.get(
            f"{reg}/processing-activities/review-overdue", headers=officer.headers
        )
        ids = [a["id"] for a in listed.json()]
        assert late["id"] in ids and ok["id"] not in ids
        assert late["review_overdue"] is True

    async def test_rights(
        self, http: httpx.AsyncClient, reg: str, physician: Account, worker_a: Account,
        assistant: Account,
    ):  # fmt: skip
        resp = await http.post(
            f"{reg}/processing-activities", json=activity(), headers=physician.headers
        )
        assert_problem(resp, 403)
        for other in (worker_a, assistant):
            assert_problem(
                await http.get(f"{reg}/processing-activities", headers=other.headers), 403
            )
        missing = f"{reg}/processing-activities/00000000-0000-4000-8000-000000000000"
        assert_problem(await http.get(missing, headers=physician.headers), 404)


class TestDpia:
    async def test_assess_and_validate(
        self, http: httpx.AsyncClient, reg: str, officer: Account, stack: Stack
    ):
        act = await create_activity(http, reg, officer)
        resp = await http.post(
            f"{reg}/dpia",
            json={
                "activity_id": act["id"], "title": "DPIA vaccination",
                "risks": [{"kind": "illegitimate_access", "likelihood": "significant",
                           "severity": "maximum", "existing_measures": ["Access grid"]}],
            },
            headers=officer.headers,
        )  # fmt: skip
        assert resp.status_code == 201, resp.text
        dpia = resp.json()
        assert dpia["status"] == "draft"
        assert dpia["risks"][0]["priority"] == "high"
        assert set(dpia["missing_risks"]) == {"unwanted_modification", "disappearance"}
        url = f"{reg}/dpia/{dpia['id']}"
        early = await http.patch(
            url, json={"version": 1, "status": "validated"}, headers=officer.headers
        )
        problem = assert_problem(early, 422)
        assert "opinion" in problem["detail"] and "disappearance" in problem["detail"]
        risks = [
            *dpia["risks"],
            {"kind": "unwanted_modification", "likelihood": "limited", "severity": "significant"},
            {"kind": "disappearance", "likelihood": "negligible", "severity": "limited"},
        ]
        for r in risks:
            r.pop("priority", None)
        done = await http.patch(
            url,
            json={"version": 1, "risks": risks, "dpo_opinion": "Acceptable", "status": "validated"},
            headers=officer.headers,
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "validated"
        assert [r["priority"] for r in done.json()["risks"]] == ["high", "medium", "low"]
        edited = await http.patch(
            url, json={"version": 2, "title": "DPIA v2"}, headers=officer.headers
        )
        assert edited.json()["status"] == "draft"
        await register_events(stack, [("dpia_created", dpia["id"]), ("dpia_updated", dpia["id"])])

    @pytest.mark.parametrize(
        "body",
        [
            {"activity_id": "00000000-0000-4000-8000-000000000000", "title": "x"},
            {"activity_id": "nope", "title": "x"},
            {"title": "x"},
        ],
    )
    async def test_bad_dpia(self, http: httpx.AsyncClient, reg: str, officer: Account, body: dict):
        assert_problem(await http.post(f"{reg}/dpia", json=body, headers=officer.headers), 422)

    async def test_risk_assessed_once_and_on_the_cnil_scale(
        self, http: httpx.AsyncClient, reg: str, officer: Account
    ):
        act = await create_activity(http, reg, officer)
        risk = {"kind": "disappearance", "likelihood": "limited", "severity": "limited"}
        for risks in ([risk, risk], [{**risk, "severity": "huge"}]):
            resp = await http.post(
                f"{reg}/dpia", json={"activity_id": act["id"], "title": "x", "risks": risks},
                headers=officer.headers,
            )  # fmt: skip
            assert_problem(resp, 422)


class TestExports:
    async def test_json_for_the_authority(
        self, http: httpx.AsyncClient, reg: str, director: Account
    ):
        resp = await http.get(f"{reg}/register/export.json", headers=director.headers)
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        assert {a["name"] for a in doc["processing_activities"]} >= SEEDED
        assert {"controller", "dpia", "incidents", "subject_requests"} <= doc.keys()

    async def test_pdf(self, http: httpx.AsyncClient, reg: str, officer: Account):
        resp = await http.get(f"{reg}/register/export.pdf", headers=officer.headers)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/pdf"
        assert resp.content.startswith(b"%PDF")
        assert len(resp.content) > 2000

    async def test_workers_and_others_cannot_export(
        self, http: httpx.AsyncClient, reg: str, worker_a: Account, assistant: Account
    ):
        for who in (worker_a, assistant):
            for fmt in ("json", "pdf"):
                resp = await http.get(f"{reg}/register/export.{fmt}", headers=who.headers)
                assert_problem(resp, 403)

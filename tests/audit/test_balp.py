"""The FHIR export against the IHE BALP profiles it claims, through the running audit service."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle

from common.devstack import Stack
from common.events import AccessEvent, Client
from tests.audit.support import Events, SignedProducer, care, publish, staff, stored
from tests.helpers import Account, eventually, make_user

pytestmark = pytest.mark.asyncio

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
REST = ("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest")
INTERACTION = "http://hl7.org/fhir/restful-interaction"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
SOURCE_ROLE = (DCM, "110153")
DESTINATION_ROLE = (DCM, "110152")
DATA_SOURCES = {(PARTICIPATION, c) for c in ("AUT", "INF", "CST")}
REST_OBJECT_ROLES = {(OBJECT_ROLE, c) for c in ("4", "3", "20")}


@dataclass(frozen=True)
class Profile:
    """The required elements of one BALP 1.1.3 profile, as its StructureDefinition states them."""

    type: tuple[str, str]
    subtype: set[tuple[str, str]]
    action: str
    client: set[tuple[str, str]]
    server: set[tuple[str, str]]
    user: set[tuple[str, str]]
    data_roles: set[tuple[str, str]] | None
    closed: bool = False
    observer_is_source: bool = False


PROFILES = {
    "IHE.BasicAudit.PatientRead": Profile(
        REST, {(INTERACTION, "read"), (INTERACTION, "vread")}, "R",
        {DESTINATION_ROLE}, {SOURCE_ROLE}, {(PARTICIPATION, "IRCP")}, REST_OBJECT_ROLES,
    ),
    "IHE.BasicAudit.PatientQuery": Profile(
        REST, {(INTERACTION, c) for c in ("search", "search-type", "search-system")}, "E",
        {SOURCE_ROLE}, {DESTINATION_ROLE}, {(PARTICIPATION, "IRCP")}, None,
    ),
    "IHE.BasicAudit.PatientCreate": Profile(
        REST, {(INTERACTION, "create")}, "C",
        {SOURCE_ROLE}, {DESTINATION_ROLE}, DATA_SOURCES, REST_OBJECT_ROLES,
    ),
    "IHE.BasicAudit.PatientUpdate": Profile(
        REST, {(INTERACTION, "update"), (INTERACTION, "patch")}, "U",
        {SOURCE_ROLE}, {DESTINATION_ROLE}, DATA_SOURCES, REST_OBJECT_ROLES,
    ),
    "IHE.BasicAudit.PatientDelete": Profile(
        REST, {(INTERACTION, "delete")}, "D",
        {(DCM, "110150")},
        {("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "custodian")},
        DATA_SOURCES, REST_OBJECT_ROLES, closed=True,
    ),
    "IHE.BasicAudit.PrivacyDisclosure.Source": Profile(
        (DCM, "110106"), {(LIFECYCLE, "disclose")},
        "R", {DESTINATION_ROLE}, {SOURCE_ROLE}, {(PARTICIPATION, "IRCP")}, None,
        observer_is_source=True,
    ),
}  # fmt: skip


def _pair(coding: dict[str, Any]) -> tuple[str, str]:
    return coding.get("system", ""), coding.get("code", "")


def _slice(items: list[dict[str, Any]], codes: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The agents whose type carries one of the codes (BALP slices agents by type pattern)."""
    return [a for a in items if any(_pair(c) in codes for c in a["type"].get("coding", []))]


def _entities(items: list[dict[str, Any]], kind: str, role: set[tuple[str, str]]) -> list[dict]:
    return [
        e for e in items if _pair(e["type"]) == (ENTITY_TYPE, kind) and _pair(e["role"]) in role
    ]


def balp_errors(event: dict[str, Any]) -> list[str]:
    """What the event lacks for the BALP profile it claims in meta.profile (empty: conforms)."""
    claimed = event.get("meta", {}).get("profile", [])
    if len(claimed) != 1 or not claimed[0].startswith(BALP):
        return [f"claims {claimed}"]
    p = PROFILES[claimed[0].removeprefix(BALP)]
    errors = []
    if _pair(event["type"]) != p.type:
        errors.append(f"type {event['type']}")
    if not {_pair(s) for s in event.get("subtype", [])} & p.subtype:
        errors.append(f"subtype {event.get('subtype')}")
    if event["action"] != p.action:
        errors.append(f"action {event['action']}")
    if event["outcome"] != "0" or not event.get("recorded"):
        errors.append("outcome/recorded")
    agents = event["agent"]
    for name, codes in (("client", p.client), ("server", p.server)):
        found = _slice(agents, codes)
        if len(found) != 1:
            errors.append(f"agent[{name}] x{len(found)}")
            continue
        agent = found[0]
        if not agent.get("who") or not agent.get("network", {}).get("address") or "media" in agent:
            errors.append(f"agent[{name}] who/network/media {agent}")
        if p.closed and {"role", "altId", "name", "location", "policy"} & set(agent):
            errors.append(f"agent[{name}] carries what the closed profile forbids")
    users = _slice(agents, p.user)
    if len(users) > 1:
        errors.append("more than one user agent")
    for user in users:
        if user.get("requestor") is not True or not user.get("who") or "network" in user:
            errors.append(f"agent[user] {user}")
    if p.closed and len(agents) != 2 + len(users):
        errors.append("agents outside the closed slices")
    patients = _entities(event["entity"], "1", {(OBJECT_ROLE, "1")})
    if len(patients) != 1:
        errors.append(f"entity[patient] x{len(patients)}")
    else:
        what = patients[0]["what"]
        if not what.get("reference", "").startswith("Patient/") and what.get("type") != "Patient":
            errors.append(f"entity[patient].what is not a Patient reference: {what}")
    if p.data_roles is None and p.type == REST:
        queries = _entities(event["entity"], "2", {(OBJECT_ROLE, "24")})
        if len(queries) != 1 or "what" in queries[0] or "detail" in queries[0]:
            errors.append(f"entity[query] {queries}")
        else:
            base64.b64decode(queries[0]["query"], validate=True)
    elif p.data_roles is not None:
        data = _entities(event["entity"], "2", p.data_roles)
        if len(data) != 1 or not data[0].get("what"):
            errors.append(f"entity[data] {data}")
    if p.closed and len(event["entity"]) != 2:
        errors.append("entities outside the closed slices")
    if p.observer_is_source:
        source = _slice(agents, p.server)
        if not source or source[0]["who"] != event["source"]["observer"]:
            errors.append("agent[source].who is not source.observer (val-audit-source)")
    else:
        # Base R4 requires the observer; BALP marks source must-support.
        if not event["source"].get("observer"):
            errors.append("source.observer")
    return errors


@dataclass
class Kinds:
    """A worker's file touched once by every kind of access, and one refused attempt."""

    worker_id: str
    by_action: dict[str, AccessEvent]


@pytest.fixture(scope="module")
async def every_kind(
    stack: Stack,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
    producer: SignedProducer,
    events: Events,
) -> Kinds:
    """Read, search, create, update, delete, print, export and a denied read of one file."""
    worker_id = f"w-{uuid.uuid4()}"
    doctor = staff("physician", "Dr Ada Balp")
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    made: dict[str, AccessEvent] = {}
    for i, action in enumerate(
        ["read", "search", "create", "update", "delete", "print", "export", "denied"]
    ):
        envelope = await events.make(
            worker_id=worker_id,
            actor=doctor,
            action="read" if action == "denied" else action,
            outcome="denied" if action == "denied" else "success",
            part="search" if action == "search" else "exam",
            details=care(),
            occurred_at=t0 + timedelta(minutes=i),
        )
        made[action] = envelope.model_copy(
            update={"client": Client(ip="10.1.2.3", user_agent="Firefox/140")}
        )
    await publish(producer, *made.values())
    await eventually(lambda: stored(db, *made.values()))
    return Kinds(worker_id, made)


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    """A medical director."""
    return await make_user(http, stack, "medical_director")


@pytest.fixture(scope="module")
async def exported(
    stack: Stack, http: httpx.AsyncClient, every_kind: Kinds, director: Account
) -> dict[str, dict[str, Any]]:
    """The FHIR export of that file, AuditEvents by the action of the event they render."""
    resp = await http.get(
        f"{stack.url('audit')}/access-history/{every_kind.worker_id}/fhir",
        headers=director.headers,
    )
    assert resp.status_code == 200, resp.text
    Bundle.model_validate(resp.json())
    by_id = {e["resource"]["id"]: e["resource"] for e in resp.json()["entry"]}
    return {action: by_id[str(env.event_id)] for action, env in every_kind.by_action.items()}


class TestBalpProfiles:
    @pytest.mark.parametrize(
        ("action", "profile"),
        [
            ("read", "IHE.BasicAudit.PatientRead"),
            ("search", "IHE.BasicAudit.PatientQuery"),
            ("create", "IHE.BasicAudit.PatientCreate"),
            ("update", "IHE.BasicAudit.PatientUpdate"),
            ("delete", "IHE.BasicAudit.PatientDelete"),
            ("print", "IHE.BasicAudit.PrivacyDisclosure.Source"),
            ("export", "IHE.BasicAudit.PrivacyDisclosure.Source"),
        ],
    )
    async def test_each_kind_claims_its_profile_and_has_its_required_elements(
        self, exported: dict[str, dict[str, Any]], action: str, profile: str
    ):
        event = exported[action]
        AuditEvent.model_validate(event)
        assert event["meta"]["profile"] == [BALP + profile]
        assert balp_errors(event) == []

    async def test_the_patient_is_a_reference_to_the_worker(
        self, exported: dict[str, dict[str, Any]], every_kind: Kinds
    ):
        for event in exported.values():
            patient = next(e for e in event["entity"] if e["role"]["code"] == "1")
            assert patient["what"]["reference"] == f"Patient/{every_kind.worker_id}"
            assert patient["what"]["identifier"]["value"] == every_kind.worker_id

    async def test_agents_name_the_user_with_role_and_the_client_address(
        self, exported: dict[str, dict[str, Any]]
    ):
        read = exported["read"]
        user = next(a for a in read["agent"] if a["requestor"])
        assert user["name"] == "Dr Ada Balp"
        assert user["role"][0]["coding"][0]["code"] == "physician"
        client = next(a for a in read["agent"] if a["type"]["coding"][0]["code"] == "110152")
        assert client["network"] == {"address": "10.1.2.3", "type": "2"}
        assert read["source"]["observer"]["identifier"]["value"] == "records"

    async def test_a_denied_access_claims_no_success_profile(
        self, exported: dict[str, dict[str, Any]]
    ):
        denied = exported["denied"]
        AuditEvent.model_validate(denied)
        assert "meta" not in denied
        assert denied["outcome"] == "4"
        assert denied["subtype"][0]["code"] == "read"

    async def test_the_checker_catches_a_missing_patient_and_a_wrong_role(
        self, exported: dict[str, dict[str, Any]]
    ):
        broken = dict(exported["read"], entity=exported["read"]["entity"][1:])
        assert any("entity[patient]" in e for e in balp_errors(broken))
        agents = [dict(a, type={"coding": [{"system": DCM, "code": "110150"}]})
                  for a in exported["update"]["agent"]]  # fmt: skip
        assert any(
            "agent[client]" in e for e in balp_errors(dict(exported["update"], agent=agents))
        )

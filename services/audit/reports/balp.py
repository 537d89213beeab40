"""FHIR R4 AuditEvents shaped by the IHE Basic Audit Log Patterns (BALP 1.1.3) profiles.

Each access of a worker's history becomes one AuditEvent that claims the BALP profile of its
kind (read, query, create, update, delete, export) in `meta.profile`. The profiles describe
successful events only, so a denied or failed access keeps the same codes but claims none.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from audit.projections.models import AccessEntry
from common.events import format_time

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
OUTCOME = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
PROVENANCE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
NETWORK_TYPE = "http://hl7.org/fhir/network-type"
# Our own identifiers: the worker's file id, the staff account id and the profile code.
WORKER_SYSTEM = "https://occupational-health.invalid/fhir/worker-id"
USER_SYSTEM = "https://occupational-health.invalid/fhir/user-id"
SERVICE_SYSTEM = "https://occupational-health.invalid/fhir/service"
PROFILE_SYSTEM = "https://occupational-health.invalid/fhir/CodeSystem/profile"

OUTCOME_CODES = {"success": "0", "denied": "4", "error": "8"}


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


SOURCE_ROLE = _coding(DCM, "110153", "Source Role ID")
DESTINATION_ROLE = _coding(DCM, "110152", "Destination Role ID")
APPLICATION = _coding(DCM, "110150", "Application")
CUSTODIAN = _coding(PROVENANCE, "custodian", "Custodian")
RECIPIENT = _coding(PARTICIPATION, "IRCP", "information recipient")
AUTHOR = _coding(PARTICIPATION, "AUT", "author (originator)")
REST = _coding(EVENT_TYPE, "rest", "Restful Operation")
EXPORT = _coding(DCM, "110106", "Export")
DISCLOSE = _coding(LIFECYCLE, "disclose", "Disclose Record Lifecycle Event")
PERSON = _coding(ENTITY_TYPE, "1", "Person")
SYSTEM_OBJECT = _coding(ENTITY_TYPE, "2", "System Object")
PATIENT_ROLE = _coding(OBJECT_ROLE, "1", "Patient")
DOMAIN_RESOURCE = _coding(OBJECT_ROLE, "4", "Domain Resource")
REPORT = _coding(OBJECT_ROLE, "3", "Report")
QUERY_ROLE = _coding(OBJECT_ROLE, "24", "Query")


@dataclass(frozen=True)
class Kind:
    """One BALP event kind: its profile, codes and the agents' roles in the profile."""

    profile: str
    type: dict[str, str]
    subtypes: tuple[dict[str, str], ...]
    action: str
    client: dict[str, str]
    server: dict[str, str]
    user: dict[str, str]
    data_role: dict[str, str] | None


# The client is the data's destination on a read but its source on a query, create or update:
# the DICOM convention BALP keeps (the query parameters flow from the client to the server).
KINDS: dict[str, Kind] = {
    "read": Kind(
        "IHE.BasicAudit.PatientRead",
        REST,
        (_coding(INTERACTION, "read", "read"),),
        "R",
        DESTINATION_ROLE,
        SOURCE_ROLE,
        RECIPIENT,
        DOMAIN_RESOURCE,
    ),
    "search": Kind(
        "IHE.BasicAudit.PatientQuery",
        REST,
        (_coding(INTERACTION, "search-type", "search type"),),
        "E",
        SOURCE_ROLE,
        DESTINATION_ROLE,
        RECIPIENT,
        None,
    ),
    "create": Kind(
        "IHE.BasicAudit.PatientCreate",
        REST,
        (_coding(INTERACTION, "create", "create"),),
        "C",
        SOURCE_ROLE,
        DESTINATION_ROLE,
        AUTHOR,
        DOMAIN_RESOURCE,
    ),
    "update": Kind(
        "IHE.BasicAudit.PatientUpdate",
        REST,
        (_coding(INTERACTION, "update", "update"),),
        "U",
        SOURCE_ROLE,
        DESTINATION_ROLE,
        AUTHOR,
        DOMAIN_RESOURCE,
    ),
    "delete": Kind(
        "IHE.BasicAudit.PatientDelete",
        REST,
        (_coding(INTERACTION, "delete", "delete"),),
        "D",
        APPLICATION,
        CUSTODIAN,
        AUTHOR,
        DOMAIN_RESOURCE,
    ),
    # A print-out or an export bundle leaves the service with the worker's data: a disclosure
    # recorded at its source, the server that released it.
    "export": Kind(
        "IHE.BasicAudit.PrivacyDisclosure.Source",
        EXPORT,
        (DISCLOSE, _coding(INTERACTION, "read", "read")),
        "R",
        DESTINATION_ROLE,
        SOURCE_ROLE,
        RECIPIENT,
        REPORT,
    ),
}
ALIASES = {"print": "export", "erase": "delete"}


def kind_of(action: str) -> Kind | None:
    """The BALP kind of a trail action, or None for an action BALP has no pattern for."""
    return KINDS.get(ALIASES.get(action, action))


def profile_url(kind: Kind) -> str:
    """The canonical URL of the kind's BALP StructureDefinition."""
    return BALP + kind.profile


def _reference(kind: str, system: str, value: str, display: str | None) -> dict[str, Any]:
    ref: dict[str, Any] = {"type": kind, "identifier": {"system": system, "value": value}}
    if display:
        ref["display"] = display
    return ref


def _client(role: dict[str, str], client: dict[str, Any]) -> dict[str, Any]:
    ip = client.get("ip")
    agent = client.get("user_agent")
    return {
        "type": {"coding": [role]},
        "who": {"display": agent or ip or "unknown client"},
        "requestor": False,
        # The trail keeps the caller's address; without one the agent is still named.
        "network": {"address": ip or "unknown", "type": "2" if ip else "1"},
    }


def _observer(source: str) -> dict[str, Any]:
    return _reference("Device", SERVICE_SYSTEM, source, f"ohs-{source}")


def _server(role: dict[str, str], source: str) -> dict[str, Any]:
    # The service that answered is also the observer: the disclosure profile requires the
    # source agent to be `source.observer` (invariant val-audit-source).
    return {
        "type": {"coding": [role]},
        "who": _observer(source),
        "requestor": False,
        "network": {"address": f"ohs-{source}", "type": "1"},
    }


def _user(role: dict[str, str], row: AccessEntry) -> dict[str, Any] | None:
    if not row.actor_user_id:
        return None
    user: dict[str, Any] = {
        "type": {"coding": [role]},
        "who": _reference("Practitioner", USER_SYSTEM, row.actor_user_id, row.actor_name),
        "requestor": True,
    }
    if row.actor_name:
        user["name"] = row.actor_name
    if row.actor_profile:
        user["role"] = [
            {
                "coding": [{"system": PROFILE_SYSTEM, "code": row.actor_profile}],
                "text": row.actor_profile,
            }
        ]
    if row.actor_profile == "worker":
        user["who"]["type"] = "Patient"
    return user


def patient_entity(worker_id: str) -> dict[str, Any]:
    """The worker as the BALP patient entity: a reference to the Patient the file is about."""
    return {
        "what": {
            "reference": f"Patient/{worker_id}",
            "type": "Patient",
            "identifier": {"system": WORKER_SYSTEM, "value": worker_id},
        },
        "type": PERSON,
        "role": PATIENT_ROLE,
    }


def _data_entity(role: dict[str, str], row: AccessEntry, worker_id: str) -> dict[str, Any]:
    part = row.part or "file"
    return {
        "what": {
            "identifier": {"system": WORKER_SYSTEM, "value": row.resource_id or worker_id},
            "display": f"{row.resource_type or 'file'} / {part}",
        },
        "type": SYSTEM_OBJECT,
        "role": role,
        "description": part,
    }


def _query_entity(row: AccessEntry) -> dict[str, Any]:
    # The trail keeps which files a search listed, never its terms (they may name people):
    # the recorded request is the search route itself.
    raw = f"GET /workers ({row.part or 'search'})"
    return {
        "type": SYSTEM_OBJECT,
        "role": QUERY_ROLE,
        "description": raw,
        "query": base64.b64encode(raw.encode()).decode(),
    }


def audit_event(row: AccessEntry, envelope: dict[str, Any] | None, *, site: str) -> dict[str, Any]:
    """One history entry as a FHIR AuditEvent following its BALP profile when it succeeded."""
    worker_id = row.worker_id
    client = (envelope or {}).get("client") or {}
    kind = kind_of(row.action)
    event: dict[str, Any] = {"resourceType": "AuditEvent", "id": str(row.event_id)}
    if kind is None:
        event["type"] = _coding(DCM, "110110", "Patient Record")
        event["action"] = "E"
        agents = [_client(SOURCE_ROLE, client), _server(DESTINATION_ROLE, row.source)]
        user = _user(RECIPIENT, row)
        entities = [patient_entity(worker_id), _data_entity(DOMAIN_RESOURCE, row, worker_id)]
    else:
        if row.outcome == "success":
            event["meta"] = {"profile": [profile_url(kind)]}
        event["type"] = kind.type
        event["subtype"] = list(kind.subtypes)
        event["action"] = kind.action
        agents = [_client(kind.client, client), _server(kind.server, row.source)]
        user = _user(kind.user, row)
        data = (
            _query_entity(row)
            if kind.data_role is None
            else _data_entity(kind.data_role, row, worker_id)
        )
        entities = [patient_entity(worker_id), data]
    event["recorded"] = format_time(row.occurred_at)
    event["outcome"] = OUTCOME_CODES.get(row.outcome, "8")
    if row.outcome != "success":
        event["outcomeDesc"] = f"{row.action} {row.outcome}"
    if row.purpose:
        event["purposeOfEvent"] = [{"text": row.purpose}]
    event["agent"] = agents + ([user] if user else [])
    event["source"] = {
        "site": site,
        "observer": _observer(row.source),
        "type": [_coding(SOURCE_TYPE, "4", "Application Server")],
    }
    event["entity"] = entities
    return event

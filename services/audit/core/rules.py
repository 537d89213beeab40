"""Alert rules of the monitoring committee, as pure functions of an event and its context."""

from __future__ import annotations

from audit.core.models import ActorWindow, AlertDraft, GapChange, RuleSettings
from common.events import AccessEvent
from common.rights import Profile

FILE_SOURCES = frozenset({"records", "register"})
NON_MEDICAL_PARTS = frozenset({"administrative"})
# The medical director oversees every file; the security officer never opens one.
CARE_EXEMPT = frozenset({Profile.MEDICAL_DIRECTOR.value, Profile.SECURITY_OFFICER.value})
STAFF = frozenset(p.value for p in Profile if p is not Profile.WORKER)
# Opening a file: what mass_access counts. A search lists names; it opens nothing.
OPENING_ACTIONS = frozenset({"read", "print", "export"})
# Aggregation of each rule: one open alert per (rule, actor, worker) or per (rule, actor).
PER_WORKER = frozenset({"outside_care_team", "colleague_file", "grant_use"})
PER_ACTOR = frozenset({"mass_access", "repeated_denials", "lockout"})

SEVERITY = {
    "outside_care_team": "high",
    "colleague_file": "high",
    "grant_use": "review",
    "mass_access": "high",
    "repeated_denials": "medium",
    "lockout": "medium",
    "gap": "high",
    "broker_log_reset": "high",
    "tracing_disabled": "high",
    "forged_event": "high",
    "contested_access": "high",
}


def forged_summary(details: dict[str, object]) -> str:
    """The summary of a forged_event alert, from its forged_event_detected trace."""
    reasons = details.get("reasons")
    listed = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
    return (
        f"{details.get('count')} envelope(s) claiming source {details.get('source')} refused "
        f"(kid {details.get('kid') or 'none'}): {listed}"
    )[:1000]


def is_staff_access(event: AccessEvent) -> bool:
    """A staff member touching a worker's file."""
    return (
        event.source in FILE_SOURCES
        and event.worker_id is not None
        and event.actor is not None
        and event.actor.profile in STAFF
    )


def is_seeding(event: AccessEvent) -> bool:
    """Demo or migration data loaded by a seeding run (never staff behaviour)."""
    return (event.details or {}).get("seeding") is True


def is_opening(event: AccessEvent) -> bool:
    """A staff member opening a file (read, print, export), as mass_access counts it."""
    return (
        is_staff_access(event)
        and event.outcome == "success"
        and event.action in OPENING_ACTIONS
        and not is_seeding(event)
    )


def aggregation_key(kind: str) -> str | None:
    """How alerts of a rule merge: per worker, per actor, or never (one per cause)."""
    if kind in PER_WORKER:
        return "worker"
    if kind in PER_ACTOR:
        return "actor"
    return None


def needs_window(event: AccessEvent) -> bool:
    """Whether the windowed rules (mass access, denials) must look at the actor's past."""
    if event.actor is None or is_seeding(event):
        return False
    return event.outcome == "denied" or is_opening(event)


def _details(event: AccessEvent) -> dict[str, object]:
    return event.details or {}


def _is_colleague(event: AccessEvent, own_employer: str) -> bool:
    details = _details(event)
    employer = details.get("worker_employer")
    same_employer = (
        isinstance(employer, str) and employer.strip().casefold() == own_employer.strip().casefold()
    )
    return same_employer or details.get("worker_is_staff") is True


def alerts_for(event: AccessEvent, window: ActorWindow, rules: RuleSettings) -> list[AlertDraft]:
    """Every alert this event raises, given what its actor did just before."""
    drafts: list[AlertDraft] = []
    if is_seeding(event):
        return drafts
    details = _details(event)
    name = event.actor.display_name if event.actor else "unknown"
    part = event.resource.part if event.resource else None
    # A search hit is traced (one event per worker found) but opens no file.
    listed_only = event.action == "search"

    def add(kind: str, summary: str) -> None:
        drafts.append(AlertDraft(kind, SEVERITY[kind], summary, aggregation_key(kind)))

    if is_staff_access(event) and event.outcome == "success" and not listed_only:
        assert event.actor is not None
        medical = event.resource is not None and part not in NON_MEDICAL_PARTS
        if (
            medical
            and details.get("care_relationship") is False
            and event.actor.profile not in CARE_EXEMPT
        ):
            add("outside_care_team", f"{name} ({event.actor.profile}) {event.action} "
                f"part {part or 'file'} without a care relationship")  # fmt: skip
    if is_staff_access(event) and not listed_only and _is_colleague(event, rules.own_employer):
        add("colleague_file", f"{name} {event.action} the file of a colleague")
    if details.get("grant_id") or event.action == "grant_used":
        add("grant_use", f"{name} used an access grant: {event.purpose or 'no reason given'}")
    if (
        is_opening(event)
        and (
            window.outside_workers > rules.mass_access_workers
            or window.distinct_workers > rules.mass_access_care_team_workers
        )
        and not window.mass_alerted
    ):
        outside = window.outside_workers > rules.mass_access_workers
        counted = window.outside_workers if outside else window.distinct_workers
        add("mass_access", f"{name} opened {counted} files "
            f"{'outside their care team ' if outside else ''}in "
            f"{rules.mass_access_minutes} minutes")  # fmt: skip
    if (
        event.outcome == "denied"
        and event.actor is not None
        and window.denials >= rules.denial_count
        and not window.denials_alerted
    ):
        add("repeated_denials", f"{name} was denied {window.denials} times in "
            f"{rules.denial_minutes} minutes")  # fmt: skip
    if event.action == "tracing_disabled":
        add("tracing_disabled", f"{event.source}: reads of health files are no longer traced")
    if event.action == "lockout":
        add("lockout", f"account {event.actor.username if event.actor else '?'} locked out")
    return drafts


def audit_alerts_for(event: AccessEvent) -> list[AlertDraft]:
    """Alerts raised by the audit service's own events (a worker contesting an access)."""
    if event.source != "audit" or event.action != "access_contested":
        return []
    details = _details(event)
    who = details.get("contested_actor") or "someone"
    action = details.get("contested_action") or "access"
    return [
        AlertDraft(
            "contested_access",
            SEVERITY["contested_access"],
            f"The worker contests an access to their file: {who} ({action}), event "
            f"{details.get('contested_event_id')}; incident {details.get('incident_id')}, "
            f"request {details.get('subject_request_id')}",
        )
    ]


def gap_step(current_max: int, seq: int) -> GapChange:
    """How an incoming source_seq changes the sequence of its source."""
    if seq > current_max + 1:
        return GapChange(new_max=seq, opened=(current_max + 1, seq - 1))
    if seq <= current_max:
        return GapChange(new_max=current_max, fills=True)
    return GapChange(new_max=seq)

"""Trail vocabulary in words a worker understands (translated through the catalogue)."""

from __future__ import annotations

import json
from typing import Any

from portal.i18n import _

# Parts a worker may not see: the entry says so and shows no content (audit marks them too).
WITHHELD_PARTS = frozenset({"notes"})


def role(profile: str | None) -> str:
    """The profile of whoever acted, as a worker would say it."""
    roles = {
        "physician": _("an occupational physician"),
        "assistant": _("a nurse or medical assistant"),
        "medical_director": _("the medical director"),
        "security_officer": _("the data-protection officer"),
        "admin_staff": _("administrative staff"),
        "developer": _("a technician, under a time-limited authorisation"),
        "helpdesk": _("the helpdesk, under a time-limited authorisation"),
        "worker": _("you or your guardian"),
    }
    return roles.get(profile or "", profile or _("unknown"))


def action(name: str) -> str:
    """What was done."""
    actions = {
        "read": _("read"),
        "search": _("searched and found you"),
        "create": _("added to"),
        "update": _("corrected"),
        "print": _("printed"),
        "export": _("exported"),
        "import": _("imported"),
        "grant_used": _("used an authorisation on"),
        "subject_request_created": _("filed a request about"),
        "subject_request_updated": _("updated a request about"),
        "incident_created": _("opened an incident about"),
    }
    return actions.get(name, name.replace("_", " "))


def part(name: str | None) -> str:
    """Which part of the file."""
    parts = {
        None: _("your file"),
        "record": _("your file"),
        "administrative": _("your administrative details"),
        "exam": _("an examination"),
        "fitness": _("a fitness decision"),
        "lab": _("a laboratory result"),
        "exposure": _("your exposures"),
        "notes": _("a personal note of the physician"),
        "movements": _("the list of print-outs and exports"),
        "care_team": _("your care team"),
    }
    return parts.get(name, (name or "").replace("_", " "))


def entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    """What the history page shows of one entry (no medical content is ever in it)."""
    resource = entry.get("resource") or {}
    the_part = entry.get("part") or resource.get("part")
    withheld = bool(entry.get("withheld")) or the_part in WITHHELD_PARTS
    receipt = entry.get("receipt")
    return {
        "event_id": entry.get("event_id"),
        "action": entry.get("action"),
        "occurred_at": entry.get("occurred_at"),
        "who": entry.get("actor_name") or _("someone"),
        "role": role(entry.get("actor_profile")),
        "did": action(str(entry.get("action", ""))),
        "what": part(the_part),
        "purpose": entry.get("purpose"),
        "denied": entry.get("outcome") == "denied",
        "error": entry.get("outcome") == "error",
        "withheld": withheld,
        # The worker's own actions (reading their file, filing a request) are not contested.
        "own": entry.get("actor_profile") == "worker",
        # The browser checks the receipt itself (static/receipt.js); the page only carries it.
        "receipt_json": json.dumps(receipt) if isinstance(receipt, dict) else "",
        "pending": bool(entry.get("pending")) and not receipt,
    }


def contest_status(status: str | None) -> str:
    """received / being examined / answered."""
    return {
        "received": _("received"),
        "in_progress": _("being examined"),
        "examining": _("being examined"),
        "answered": _("answered"),
        "refused": _("answered (refused)"),
    }.get(status or "", status or _("received"))

"""Projection folding: what one stored event contributes to each projection."""

from __future__ import annotations

from typing import Any

from audit.core.models import StoredEvent

# Identity events name a worker for account or grant changes: not accesses to the file.
HISTORY_SOURCES = frozenset({"records", "register"})


def history_entry(stored: StoredEvent) -> dict[str, Any] | None:
    """The per-worker history row of an event, or None when it concerns no worker's file."""
    event = stored.event
    # The audit service's own events (history reads, alerts) are traces about traces.
    if event.worker_id is None or event.source not in HISTORY_SOURCES:
        return None
    actor = event.actor
    resource = event.resource
    return {
        "position": stored.position,
        "event_id": event.event_id,
        "worker_id": event.worker_id,
        "occurred_at": event.occurred_at,
        "source": event.source,
        "actor_user_id": actor.user_id if actor else None,
        "actor_name": actor.display_name if actor else None,
        "actor_profile": actor.profile if actor else None,
        "action": event.action,
        "outcome": event.outcome,
        "resource_type": resource.type if resource else None,
        "resource_id": resource.id if resource else None,
        "part": resource.part if resource else None,
        "purpose": event.purpose,
        "details": event.details,
    }


def actor_delta(stored: StoredEvent) -> dict[str, Any] | None:
    """The per-actor activity increment of an event, or None when nobody acted."""
    event = stored.event
    if event.actor is None:
        return None
    return {
        "user_id": event.actor.user_id,
        "username": event.actor.username,
        "display_name": event.actor.display_name,
        "profile": event.actor.profile,
        "events": 1,
        "denied": 1 if event.outcome == "denied" else 0,
        "file_accesses": 1 if event.worker_id is not None and event.source != "audit" else 0,
        "first_at": event.occurred_at,
        "last_at": event.occurred_at,
    }

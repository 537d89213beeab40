"""The access-event/1 envelope (CONTRACT.md) as frozen models, and its JSON Schema."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from common.telemetry import current_trace_id

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

SCHEMA = "access-event/1"
Source = Literal["identity", "records", "register", "audit"]
Outcome = Literal["success", "denied", "error"]

TOPIC_BY_SOURCE: dict[str, str] = {
    "identity": "auth-events",
    "records": "access-events",
    "register": "register-events",
}
ALL_TOPICS: tuple[str, ...] = tuple(TOPIC_BY_SOURCE.values())
HEARTBEAT_TOPIC = "outbox-heartbeat"
RESEND_TOPIC = "outbox-resend"
USER_AGENT_MAX = 255


class _Person(Protocol):
    """A verified caller (user_id) or an account row (id) with its profile."""

    @property
    def username(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """Who acted."""

    user_id: str
    username: str
    display_name: str
    profile: str

    @classmethod
    def of(cls, who: _Person) -> Actor:
        """The actor block for a verified caller or an account."""
        user_id = getattr(who, "user_id", None) or getattr(who, "id", None)
        profile = getattr(who, "profile", "")
        return cls(
            user_id=str(user_id),
            username=who.username,
            display_name=who.display_name,
            profile=profile.value if isinstance(profile, Enum) else str(profile),
        )


class Resource(_Frozen):
    """What was touched, and which part of it."""

    type: str
    id: str | None = None
    part: str | None = None


class Client(_Frozen):
    """Where the request came from."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, request: HTTPConnection | None) -> Client:
        """The caller's address and browser, the user agent cut to a bounded length."""
        if request is None:
            return cls()
        agent = (request.headers.get("user-agent") or "")[:USER_AGENT_MAX]
        return cls(ip=request.client.host if request.client else None, user_agent=agent or None)


class AccessEvent(_Frozen):
    """One traced access; unique forever by event_id."""

    event_id: UUID
    schema_: Literal["access-event/1"] = Field(default="access-event/1", alias="schema")
    occurred_at: datetime
    source: Source
    source_seq: int = Field(ge=1)
    actor: Actor | None
    action: str = Field(min_length=1, max_length=64)
    outcome: Outcome
    worker_id: str | None
    resource: Resource | None
    purpose: str | None = None
    client: Client = Client()
    trace_id: str | None = None
    details: dict[str, Any] | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_serializer("occurred_at")
    def _rfc3339(self, value: datetime) -> str:
        return format_time(value)

    def to_json(self) -> bytes:
        """The wire form."""
        return self.model_dump_json(by_alias=True).encode()


def _now() -> datetime:
    return datetime.now(UTC)


class EventDraft(_Frozen):
    """An access-event/1 envelope before its source numbers it: every field but source_seq."""

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=_now)
    source: Source
    actor: Actor | None
    action: str = Field(min_length=1, max_length=64)
    outcome: Outcome = "success"
    worker_id: str | None = None
    resource: Resource | None = None
    purpose: str | None = None
    client: Client = Client()
    trace_id: str | None = Field(default_factory=current_trace_id)
    details: dict[str, Any] | None = None

    @field_serializer("occurred_at")
    def _rfc3339(self, value: datetime) -> str:
        return format_time(value)

    @property
    def topic(self) -> str:
        """The topic the source publishes on."""
        return TOPIC_BY_SOURCE[self.source]

    def payload(self) -> dict[str, Any]:
        """The envelope as JSON-ready data, waiting for its source_seq."""
        return {"schema": SCHEMA, **self.model_dump(mode="json")}

    def sequenced(self, source_seq: int) -> AccessEvent:
        """The envelope numbered by its source."""
        return AccessEvent.model_validate({**self.payload(), "source_seq": source_seq})


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds; a naive time is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value.year < 1000:
        # strftime() leaves such a year unpadded, and stored envelopes keep the form they have.
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as strftime() in half its time: every envelope stored is dumped with it.
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def json_schema() -> dict[str, Any]:
    """The JSON Schema published in schemas/access-event-1.schema.json."""
    schema = AccessEvent.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ohs.example/schemas/access-event-1.schema.json"
    return schema


def main() -> None:
    """Print the JSON Schema (used to refresh the published copy)."""
    json.dump(json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

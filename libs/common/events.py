"""The access-event/1 envelope (CONTRACT.md) as frozen models, and its JSON Schema."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_serializer

SCHEMA = "access-event/1"
Source = Literal["identity", "records", "register", "audit"]
Outcome = Literal["success", "denied", "error"]

TOPIC_BY_SOURCE: dict[str, str] = {
    "identity": "auth-events",
    "records": "access-events",
    "register": "register-events",
}
ALL_TOPICS: tuple[str, ...] = tuple(TOPIC_BY_SOURCE.values())


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """Who acted."""

    user_id: str
    username: str
    display_name: str
    profile: str


class Resource(_Frozen):
    """What was touched, and which part of it."""

    type: str
    id: str | None = None
    part: str | None = None


class Client(_Frozen):
    """Where the request came from."""

    ip: str | None = None
    user_agent: str | None = None


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


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with microseconds; a naive time is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

"""Shared input rules: partial updates that may not null required fields, merged checks."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError, model_validator

from common.errors import invalid

M = TypeVar("M", bound=BaseModel)


class PartialUpdate(BaseModel):
    """An update body: absent fields stay unchanged; fields listed in NULLABLE may be cleared."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PartialUpdate:
        cleared = [
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.NULLABLE
        ]
        if cleared:
            raise ValueError(f"{', '.join(sorted(cleared))} cannot be null")
        return self

    def changes(self, *, skip: frozenset[str] = frozenset({"version"})) -> dict[str, Any]:
        """The fields the caller sent, as plain data."""
        return self.model_dump(mode="json", exclude_unset=True, exclude=set(skip))


def revalidate(schema: type[M], data: dict[str, Any]) -> M:
    """Check a merged state against the full schema; errors become a 422 problem."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ())) or "body",
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
            for err in exc.errors()
        ]
        raise invalid("The change would leave the entry invalid", errors) from exc

"""A history page is written as JSON without building its pydantic model: that JSON must be
exactly the model's (pure, no stack)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.core.receipt import Receipt
from audit.history.schemas import AccessHistoryPage
from audit.history.service import ReceiptEncoder, entry_data, page_json

texts = st.text(max_size=12)
maybe = st.none() | texts
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
# What a JSONB column can hold (JSON has no NaN or infinity).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
rows = st.builds(
    SimpleNamespace,
    occurred_at=times,
    actor_name=maybe,
    actor_profile=maybe,
    action=texts,
    outcome=texts,
    resource_type=maybe,
    resource_id=maybe,
    part=st.none() | st.sampled_from(["notes", "exams", "identity"]),
    purpose=maybe,
    source=texts,
    event_id=st.uuids(),
    details=st.none() | st.dictionaries(texts, json_values, max_size=4),
)
receipts = st.none() | st.builds(
    Receipt,
    log=texts,
    leaf_index=st.integers(0, 2**40),
    leaf=st.binary(max_size=64),
    tree_size=st.integers(1, 2**40),
    inclusion_proof=st.lists(st.binary(min_size=32, max_size=32), max_size=5).map(tuple),
    checkpoint=texts,
)


def page_data(
    entries: list[tuple[SimpleNamespace, Receipt | None]], with_details: bool, cursor: str | None
) -> dict[str, Any]:
    """What service.page returns, from given rows and receipts."""
    encoder = ReceiptEncoder()
    return {
        "worker_id": "w-1",
        "items": [
            entry_data(
                row,
                with_details=with_details,
                receipt=encoder.data(r) if r else None,
                pending=r is None,
            )
            for row, r in entries
        ],
        "next_cursor": cursor,
    }


class TestPageJsonIsTheModelsJson:
    @settings(max_examples=300, deadline=None)
    @given(
        entries=st.lists(st.tuples(rows, receipts), max_size=6),
        with_details=st.booleans(),
        cursor=maybe,
    )
    def test_any_page(
        self,
        entries: list[tuple[SimpleNamespace, Receipt | None]],
        with_details: bool,
        cursor: str | None,
    ) -> None:
        data = page_data(entries, with_details, cursor)
        fast = page_json(data)
        assert fast.decode() == AccessHistoryPage.model_validate(data).model_dump_json()
        # And it reads back as the published model.
        AccessHistoryPage.model_validate_json(fast)

    def test_a_withheld_note_and_a_pending_entry(self) -> None:
        row = SimpleNamespace(
            occurred_at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC),
            actor_name="Dr Martens",
            actor_profile="physician",
            action="read",
            outcome="success",
            resource_type="note",
            resource_id="n-1",
            part="notes",
            purpose="care",
            source="records",
            event_id=uuid.UUID(int=1),
            details={"fields": ["text"]},
        )
        item = json.loads(page_json(page_data([(row, None)], False, None)))["items"][0]
        assert item["occurred_at"] == "2026-12-02T09:30:00Z"
        assert item["withheld"] is True and item["pending"] is True
        assert item["receipt"] is None and item["details"] is None
        assert item["event_id"] == str(uuid.UUID(int=1))

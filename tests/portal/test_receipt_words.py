"""What the history page carries of a receipt: the JSON, pending, or nothing (no stack)."""

from __future__ import annotations

import html
import json

from portal.app import templates
from portal.words import entry_view
from tests.audit.tlog import MemoryLog


def render(entry: dict[str, object]) -> str:
    view = entry_view({"event_id": "e-1", "action": "read", "actor_profile": "physician", **entry})
    return (
        templates()
        .get_template("_entries.html")
        .render(
            {"entries": [view], "contested": {}, "status_words": str, "worker": None, "lang": "en"}
        )
    )


class TestEntryReceipts:
    def test_a_receipt_travels_whole_in_the_entry(self) -> None:
        log = MemoryLog()
        log.grow(3)
        receipt = log.receipt(1).as_json()
        page = render({"receipt": receipt, "pending": False})
        carried = page.split('data-receipt="', 1)[1].split('"', 1)[0]
        assert json.loads(html.unescape(carried)) == receipt
        assert 'data-state="checking"' in page

    def test_a_pending_entry_and_one_without_receipt_render(self) -> None:
        pending = render({"receipt": None, "pending": True})
        assert 'data-pending="1"' in pending and 'data-state="pending">pending<' in pending
        assert "data-receipt" not in pending
        bare = render({"receipt": None})
        assert "data-receipt" not in bare and "data-pending" not in bare
        assert 'class="receipt"' not in bare

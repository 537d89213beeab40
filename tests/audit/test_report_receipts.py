"""The history PDF prints each entry's leaf index and the checkpoint it was proved against."""

from __future__ import annotations

import re
import uuid
import zlib
from datetime import UTC, datetime

from audit.projections.models import AccessEntry
from audit.reports.service import pdf_report
from tests.audit.tlog import MemoryLog


def text_of(pdf: bytes) -> str:
    """The text drawn in a PDF made by fpdf2 (its page streams, inflated)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "".join(re.findall(r"\((.*?)\)\s*Tj", "\n".join(out)))


def row(n: int) -> AccessEntry:
    return AccessEntry(
        position=n, event_id=uuid.UUID(int=n + 1), worker_id="w-1",
        occurred_at=datetime(2026, 12, 1, 9, n, tzinfo=UTC), source="records",
        actor_name=f"Dr Leaf {n}", actor_profile="physician", action="read", outcome="success",
    )  # fmt: skip


class TestLeafAndCheckpointInThePdf:
    def test_each_entry_has_its_leaf_and_tree_size_and_the_checkpoint_is_printed(self) -> None:
        log = MemoryLog()
        log.grow(12)
        rows = [row(3), row(7), row(11)]
        proofs = {str(rows[0].event_id): (3, 12), str(rows[1].event_id): (7, 12)}
        pdf = pdf_report(
            rows, worker_id="w-1", since=None, until=None, audience="worker",
            requested_by="me", generated_at=datetime(2026, 12, 1, tzinfo=UTC), integrity="ok",
            proofs=proofs, checkpoints={12: log.checkpoint()},
        )  # fmt: skip
        text = text_of(pdf)
        assert "Log leaf / tree" in text
        assert "3 / 12" in text and "7 / 12" in text and "pending" in text
        root = log.checkpoint().split("\n")[2]
        assert "ohs.test/audit" in text and root in text.replace("\\", "")

    def test_without_receipts_the_report_still_prints(self) -> None:
        pdf = pdf_report(
            [row(1)], worker_id="w-1", since=None, until=None, audience="director",
            requested_by="me", generated_at=datetime(2026, 12, 1, tzinfo=UTC), integrity="ok",
        )  # fmt: skip
        assert pdf.startswith(b"%PDF") and "Dr Leaf 1" in text_of(pdf)

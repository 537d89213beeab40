"""Printable PDF access reports and the FHIR R4 AuditEvent export (IHE BALP)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF

from audit.projections.models import AccessEntry
from audit.reports.balp import audit_event
from common.events import format_time

MAX_REPORT_ENTRIES = 10_000


def _text(value: object) -> str:
    # The PDF core fonts are Latin-1: keep every character printable rather than fail.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def persons(rows: Sequence[AccessEntry]) -> list[dict[str, Any]]:
    """Every distinct person who touched the file, with profile, counts, first and last time."""
    seen: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
    for row in rows:
        key = (row.actor_name or "unknown", row.actor_profile or "-")
        person = seen.setdefault(
            key,
            {"name": key[0], "profile": key[1], "actions": {}, "first": row.occurred_at,
             "last": row.occurred_at},
        )  # fmt: skip
        person["actions"][row.action] = person["actions"].get(row.action, 0) + 1
        person["first"] = min(person["first"], row.occurred_at)
        person["last"] = max(person["last"], row.occurred_at)
    return list(seen.values())


def pdf_report(
    rows: Sequence[AccessEntry],
    *,
    worker_id: str,
    since: datetime | None,
    until: datetime | None,
    audience: str,
    requested_by: str,
    generated_at: datetime,
    integrity: str,
    proofs: Mapping[str, tuple[int, int]] | None = None,
    checkpoints: Mapping[int, str] | None = None,
) -> bytes:
    """The list of persons who accessed, printed or modified a file, for a period.

    `proofs` maps an event id to (leaf index, size of the tree it was proved in), `checkpoints`
    a tree size to its signed note, printed so that a reader can check the entries later.
    """
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Access report {worker_id}")
    pdf.set_author("Occupational Health Service - audit")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    title = {
        "authority": "Access report for the data-protection authority",
        "worker": "Who opened your file: access report for the worker",
    }.get(audience, "Access report for the medical director")
    pdf.cell(0, 9, _text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    period = f"{_when(since) if since else 'the beginning'} to {_when(until) if until else 'now'}"
    for line in (
        f"Worker file: {worker_id}",
        f"Period: {period}",
        f"Generated {_when(generated_at)} by {requested_by}",
        f"Entries: {len(rows)}; trail integrity at generation: {integrity}",
    ):
        pdf.cell(0, 6, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Persons who accessed, printed or modified the file", new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    pdf.set_font("Helvetica", "", 9)
    with pdf.table(col_widths=(60, 40, 90, 45, 45), text_align="LEFT") as table:
        table.row(["Name", "Profile", "Actions", "First", "Last"])
        for p in persons(rows):
            actions = ", ".join(f"{a} x{n}" for a, n in sorted(p["actions"].items()))
            table.row([_text(p["name"]), _text(p["profile"]), _text(actions),
                       _when(p["first"]), _when(p["last"])])  # fmt: skip
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Every access, newest first", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(col_widths=(38, 46, 30, 22, 28, 18, 62, 33), text_align="LEFT") as table:
        table.row(["Time", "Name", "Profile", "Action", "Part", "Outcome", "Reason (grant)",
                   "Log leaf / tree"])  # fmt: skip
        for r in rows:
            proved = (proofs or {}).get(str(r.event_id))
            leaf = f"{proved[0]} / {proved[1]}" if proved else "pending" if proofs else "-"
            table.row([_when(r.occurred_at), _text(r.actor_name), _text(r.actor_profile),
                       _text(r.action), _text(r.part), _text(r.outcome),
                       _text(r.purpose), leaf])  # fmt: skip
    if checkpoints:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Signed checkpoints of the audit log the entries were proved against",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.set_font("Helvetica", "", 8)
        pdf.multi_cell(
            0, 4,
            "Check one with python -m audit.verify and the log's key (GET /log/key); the "
            "signature line starts with an em dash (U+2014), printed here as --.",
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
        pdf.set_font("Courier", "", 8)
        for size in sorted(checkpoints):
            # The signature line's em dash is outside the core fonts' Latin-1.
            note = checkpoints[size].replace("\u2014", "--").rstrip("\n")
            pdf.multi_cell(0, 4, _text(note), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    if audience == "authority":
        pdf.ln(4)
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(
            0,
            5,
            "This list is drawn from an append-only, hash-chained trail whose head is signed "
            "at regular intervals (Ed25519). The signed checkpoints and their public keys are "
            "published by the audit service at /checkpoints and /checkpoints/public-keys.",
        )
    return bytes(pdf.output())


def fhir_bundle(
    rows: Sequence[AccessEntry],
    envelopes: Mapping[uuid.UUID, dict[str, Any]],
    *,
    generated_at: datetime,
    site: str,
) -> dict:
    """A FHIR R4 Bundle of AuditEvents, each following its IHE BALP profile (see balp.py)."""
    entries = [
        {
            "fullUrl": f"urn:uuid:{row.event_id}",
            "resource": audit_event(row, envelopes.get(row.event_id), site=site),
        }
        for row in rows
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": format_time(generated_at),
        "total": len(entries),
        "entry": entries,
    }

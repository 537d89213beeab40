"""The register for the authority: one JSON document, and the same content as a PDF."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf import FPDF
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.events import format_time
from register.activities import service as activities
from register.dpia import service as dpias
from register.incidents import service as incidents
from register.settings import Settings
from register.subject_requests.models import SubjectRequest
from register.subject_requests.schemas import OPEN_STATUSES


async def register_document(
    session: AsyncSession, settings: Settings, now: datetime
) -> dict[str, Any]:
    """Art. 30 entries, DPIAs, the incident and breach register, request statistics."""
    today = settings.today()
    activity_rows = await activities.listing(session)
    incident_rows = await incidents.listing(session)
    counts = await session.execute(
        select(col(SubjectRequest.kind), col(SubjectRequest.status), func.count()).group_by(
            col(SubjectRequest.kind), col(SubjectRequest.status)
        )
    )
    overdue = await session.scalar(
        select(func.count()).where(
            col(SubjectRequest.status).in_([s.value for s in OPEN_STATUSES]),
            col(SubjectRequest.due_on) < today,
        )
    )
    requests: dict[str, dict[str, int]] = {}
    for kind, status, n in counts:
        requests.setdefault(kind, {})[status] = n
    return {
        "generated_at": format_time(now),
        "controller": {"name": settings.controller_name, "dpo_contact": settings.dpo_contact},
        "processing_activities": [
            activities.to_read(a, today).model_dump(mode="json") for a in activity_rows
        ],
        "dpia": [dpias.to_read(d).model_dump(mode="json") for d in await dpias.listing(session)],
        "incidents": [
            incidents.to_read(i, settings.audit_url, now).model_dump(mode="json")
            for i in incident_rows
        ],
        "subject_requests": {"by_kind_and_status": requests, "overdue": overdue or 0},
    }


def _latin1(value: object) -> str:
    # The PDF core fonts are Latin-1 only; anything else becomes '?' rather than an error.
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _join(items: list[Any], key: str | None = None) -> str:
    return "; ".join(str(i[key] if key else i) for i in items) or "-"


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.cell(0, 8, f"Page {self.page_no()}", align="C")


def register_pdf(doc: dict[str, Any]) -> bytes:
    """A printable register built from the JSON document."""
    pdf = _Pdf(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 14) -> None:
        pdf.set_font("helvetica", "B", size)
        pdf.multi_cell(width, 8, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    def line(label: str, value: object) -> None:
        pdf.set_font("helvetica", "B", 9)
        pdf.multi_cell(width, 5, _latin1(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=9)
        pdf.multi_cell(width, 5, _latin1(value if value not in (None, "") else "-"),
                       new_x="LMARGIN", new_y="NEXT")  # fmt: skip

    heading("Register of processing activities (GDPR Art. 30)", 16)
    controller = doc["controller"]
    line("Controller", controller["name"])
    line("Data protection officer", controller["dpo_contact"])
    line("Generated at", doc["generated_at"])
    for activity in doc["processing_activities"]:
        pdf.ln(3)
        heading(f"{activity['name']} (version {activity['version']})", 12)
        line(
            "Controller", f"{activity['controller']['name']} - {activity['controller']['contact']}"
        )
        line("DPO", f"{activity['dpo']['name']} - {activity['dpo']['contact']}")
        line("Purposes", _join(activity["purposes"]))
        line("Legal basis", activity["legal_basis"])
        line("Special-category condition", activity["special_category_condition"])
        line("Data subjects", _join(activity["data_subject_categories"]))
        line(
            "Personal data",
            "; ".join(
                c["name"] + (" (special category)" if c["special_category"] else "")
                for c in activity["data_categories"]
            ),
        )
        line("Recipients", _join(activity["recipients"]))
        line(
            "Transfers outside the EU",
            "; ".join(f"{t['country']}: {t['recipient']} ({t['safeguard']})"
                      for t in activity["transfers"]) or "none",
        )  # fmt: skip
        line("Retention", "; ".join(f"{r['data']}: {r['period']}" for r in activity["retention"]))
        line("Security measures", _join(activity["security_measures"]))
        line("Next review", activity["review_on"])
    pdf.add_page()
    heading("Impact assessments (DPIA)")
    for dpia in doc["dpia"] or [{"title": "None recorded", "risks": [], "status": "-"}]:
        heading(f"{dpia['title']} - {dpia['status']}", 11)
        for risk in dpia["risks"]:
            line(
                risk["kind"],
                f"likelihood {risk['likelihood']}, severity {risk['severity']}, "
                f"priority {risk['priority']}",
            )
        if dpia.get("dpo_opinion"):
            line("DPO opinion", dpia["dpo_opinion"])
    pdf.add_page()
    heading("Incidents and personal-data breaches")
    for incident in doc["incidents"] or [None]:
        if incident is None:
            line("", "None recorded")
            break
        heading(f"{incident['title']} ({incident['kind']}, {incident['status']})", 11)
        line("Aware at", incident["aware_at"])
        if incident["personal_data_breach"]:
            line("Nature", _join(incident["breach_nature"]))
            line("People / records (approx.)",
                 f"{incident['approx_subjects']} / {incident['approx_records']}")  # fmt: skip
            line("Likely consequences", incident["likely_consequences"])
            line("Measures taken", incident["measures_taken"])
            line("Notification deadline", incident["notification_deadline"])
            line("Notified at", incident["notified_at"] or "not notified")
            if incident["late_reason"]:
                line("Reasons for the delay", incident["late_reason"])
            line("People informed (Art. 34)", incident["subjects_informed"])
    stats = doc["subject_requests"]
    pdf.ln(3)
    heading("Data-subject requests", 12)
    for kind, by_status in sorted(stats["by_kind_and_status"].items()):
        line(kind, ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    line("Overdue", stats["overdue"])
    return bytes(pdf.output())

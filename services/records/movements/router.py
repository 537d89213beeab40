"""Record movements: print-outs, signed export bundles, verified imports, the movement table."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlmodel import col

from common.db import SessionDep
from common.errors import invalid
from common.tokens import CurrentUser
from records.access.events import FileAccess, FileContext, TracedFile
from records.history.service import revisions_of_worker
from records.movements import service
from records.movements.models import Movement, SigningKey
from records.movements.schemas import (
    ImportRead,
    MovementRead,
    PrintCreate,
    SigningKeyRead,
    SigningKeys,
)
from records.movements.signing import ALG
from records.validation import has_unstorable
from records.workers.router import load_visible_record

router = APIRouter(tags=["movements"])


Printing = FileAccess("print", part="record", load=False)
Exporting = FileAccess("export", part="record", load=False)
Importing = FileAccess("import", part="record", by="files")
MovementReading = FileAccess("read", part="movements")


@router.post(
    "/workers/{worker_id}/print",
    summary="Print the file (PDF of what the caller may see)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF"}},
)
async def print_file(
    worker_id: uuid.UUID,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, Printing],
    body: Annotated[PrintCreate | None, Body()] = None,
) -> Response:
    """A print-out is a record movement: kept with the sections printed, and traced."""
    chosen = set(body.sections) if body else set(service.PRINT_SECTIONS)
    sections = [s for s in service.PRINT_SECTIONS if s in chosen]
    record = await load_visible_record(session, file, worker_id)
    pdf = service.render_pdf(record, principal, sections)
    movement = service.add_movement(
        session,
        worker_id,
        "print",
        principal,
        {"view": record.view, "bytes": len(pdf), "sections": sections},
    )
    file.touched(movement_id=str(movement.id), sections=sections)
    await session.flush()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="health-file-{worker_id}.pdf"'},
    )


@router.get("/workers/{worker_id}/export", summary="A signed transfer bundle of the file")
async def export_file(
    worker_id: uuid.UUID,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
    file: Annotated[TracedFile, Exporting],
) -> JSONResponse:
    """JSON with every version, signed with the service's Ed25519 key (see the well-known key)."""
    record = await load_visible_record(session, file, worker_id)
    revisions = list(await revisions_of_worker(session, worker_id))
    bundle = service.build_bundle(record, revisions, request.app.state.bundle_key, principal)
    movement = service.add_movement(
        session,
        worker_id,
        "export",
        principal,
        {"bundle_id": bundle["bundle_id"], "view": record.view},
    )
    file.touched(movement_id=str(movement.id), bundle_id=bundle["bundle_id"])
    await session.flush()
    return JSONResponse(bundle)


@router.post("/imports", status_code=status.HTTP_201_CREATED, summary="Import a transfer bundle")
async def import_file(
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
    file: Annotated[TracedFile, Importing],
    bundle: dict[str, Any] = Body(description="A bundle from GET /workers/{id}/export"),
) -> ImportRead:
    """Verify the signature against a trusted key; a tampered bundle is refused with 422."""
    if has_unstorable(bundle):
        raise invalid("The bundle holds unstorable characters", [{"field": "body"}])
    trusted = await service.trusted_keys(session, request.app.state.settings.trusted_keys())
    record = service.verify_bundle(bundle, trusted)
    try:
        worker, counts = await service.import_bundle(session, bundle, record, principal)
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid("The bundle's versions are malformed", [{"field": "body.versions"}]) from exc
    service.add_movement(
        session, worker.id, "import", principal, {"bundle_id": bundle.get("bundle_id")}
    )
    file.opened(FileContext(str(worker.id), worker.employer, False))
    file.touched(bundle_id=bundle.get("bundle_id"), issuer_kid=bundle["issuer"]["kid"])
    await session.flush()
    return ImportRead(
        worker_id=worker.id,
        bundle_id=str(bundle.get("bundle_id")),
        issuer_kid=bundle["issuer"]["kid"],
        **counts,
    )


@router.get("/workers/{worker_id}/movements", summary="Print-outs, exports and imports of a file")
async def list_movements(
    worker_id: uuid.UUID, session: SessionDep, file: Annotated[TracedFile, MovementReading]
) -> list[MovementRead]:
    """The table of record movements for one file, newest first."""
    rows = (
        await session.execute(
            select(Movement)
            .where(col(Movement.worker_id) == worker_id)
            .order_by(col(Movement.occurred_at).desc())
        )
    ).scalars()
    return [MovementRead.model_validate(m.model_dump()) for m in rows]


@router.get("/.well-known/records-signing-key", summary="Public keys of export bundles")
async def signing_keys(session: SessionDep) -> SigningKeys:
    """Receivers check bundle signatures with these Ed25519 keys (raw, base64)."""
    rows = (await session.execute(select(SigningKey))).scalars()
    return SigningKeys(
        keys=[
            SigningKeyRead(kid=k.kid, alg=ALG, public_key=k.public_key, created_at=k.created_at)
            for k in rows
        ]
    )

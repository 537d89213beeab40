"""/register/export.json and /register/export.pdf: the register handed to the authority."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from common.db import SessionDep, utcnow
from common.events import Resource
from common.trail import EventContext
from register.access import RegisterReader
from register.deps import SettingsDep
from register.exports import service

router = APIRouter(prefix="/register", tags=["exports"])


@router.get("/export.json", summary="The register as JSON, for the authority")
async def export_json(
    session: SessionDep, events: EventContext, auth: RegisterReader, settings: SettingsDep
) -> dict[str, Any]:
    """Processing activities, DPIAs, incidents and breaches, request statistics."""
    doc = await service.register_document(session, settings, utcnow())
    await events.emit(
        events.draft(
            "register_exported",
            resource=Resource(type="register", id="gdpr-register"),
            details={"format": "json"},
        )
    )  # fmt: skip
    return doc


@router.get(
    "/export.pdf",
    summary="The register as PDF, for the authority",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def export_pdf(
    session: SessionDep, events: EventContext, auth: RegisterReader, settings: SettingsDep
) -> Response:
    """The same content as the JSON export, printable."""
    doc = await service.register_document(session, settings, utcnow())
    await events.emit(
        events.draft(
            "register_exported",
            resource=Resource(type="register", id="gdpr-register"),
            details={"format": "pdf"},
        )
    )  # fmt: skip
    return Response(
        service.register_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="gdpr-register.pdf"'},
    )

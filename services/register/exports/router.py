"""/register/export.json and /register/export.pdf: the register handed to the authority."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from common.db import SessionDep, utcnow
from register.access import RegisterReader
from register.deps import SettingsDep
from register.events import publish, remember_client
from register.exports import service

router = APIRouter(prefix="/register", tags=["exports"], dependencies=[Depends(remember_client)])


@router.get("/export.json", summary="The register as JSON, for the authority")
async def export_json(
    session: SessionDep, auth: RegisterReader, settings: SettingsDep
) -> dict[str, Any]:
    """Processing activities, DPIAs, incidents and breaches, request statistics."""
    doc = await service.register_document(session, settings, utcnow())
    await publish(
        session, auth.principal, "register_exported", resource_type="register",
        resource_id="gdpr-register", details={"format": "json"},
    )  # fmt: skip
    return doc


@router.get(
    "/export.pdf",
    summary="The register as PDF, for the authority",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def export_pdf(session: SessionDep, auth: RegisterReader, settings: SettingsDep) -> Response:
    """The same content as the JSON export, printable."""
    doc = await service.register_document(session, settings, utcnow())
    await publish(
        session, auth.principal, "register_exported", resource_type="register",
        resource_id="gdpr-register", details={"format": "pdf"},
    )  # fmt: skip
    return Response(
        service.register_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="gdpr-register.pdf"'},
    )

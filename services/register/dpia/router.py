"""/dpia: impact assessments of processing activities."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from common.db import SessionDep
from common.trail import EventContext
from register.access import RegisterReader, RegisterWriter
from register.dpia import service
from register.dpia.schemas import DpiaCreate, DpiaRead, DpiaUpdate

router = APIRouter(prefix="/dpia", tags=["dpia"])


@router.get("", summary="Every DPIA")
async def list_dpia(
    session: SessionDep, auth: RegisterReader, activity_id: uuid.UUID | None = None
) -> list[DpiaRead]:
    """Newest first, optionally for one processing activity."""
    return [service.to_read(d) for d in await service.listing(session, activity_id)]


@router.post("", status_code=201, summary="Start a DPIA")
async def create_dpia(
    body: DpiaCreate, session: SessionDep, events: EventContext, auth: RegisterWriter
) -> DpiaRead:
    """A draft DPIA for a processing activity."""
    return service.to_read(await service.create(session, events, auth.principal, body))


@router.get("/{dpia_id}", summary="One DPIA")
async def read_dpia(dpia_id: uuid.UUID, session: SessionDep, auth: RegisterReader) -> DpiaRead:
    """The DPIA with the priority of each risk and the risks still to assess."""
    return service.to_read(await service.get(session, dpia_id))


@router.patch("/{dpia_id}", summary="Assess, give the DPO's opinion, validate")
async def update_dpia(
    dpia_id: uuid.UUID,
    body: DpiaUpdate,
    session: SessionDep,
    events: EventContext,
    auth: RegisterWriter,
) -> DpiaRead:
    """A change from `version`; 409 when stale, 422 when validated incomplete."""
    return service.to_read(await service.update(session, events, auth.principal, dpia_id, body))

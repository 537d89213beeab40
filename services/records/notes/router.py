"""The physician's personal notes: their author and the medical director, nobody else."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from common.db import SessionDep
from common.rights import Scope
from common.tokens import CurrentUser
from records.access.events import access_event, trace
from records.access.service import authorize_notes
from records.notes.models import Note
from records.notes.schemas import NoteCreate, NoteRead
from records.workers.service import open_file

router = APIRouter(tags=["notes"])


@router.post(
    "/workers/{worker_id}/notes",
    status_code=status.HTTP_201_CREATED,
    summary="Write a personal note",
)
async def create_note(
    worker_id: uuid.UUID,
    body: NoteCreate,
    principal: CurrentUser,
    session: SessionDep,
    request: Request,
) -> NoteRead:
    """Physicians and the medical director only; never shown to the worker."""
    access = authorize_notes(principal, "create", worker_id=str(worker_id))
    file = await open_file(session, principal, "read", worker_id, part="notes")
    note = Note(
        worker_id=worker_id,
        author_id=principal.user_id,
        author_name=principal.display_name,
        text=body.text,
        created_by=principal.user_id,
        updated_by=principal.user_id,
    )
    session.add(note)
    await session.flush()
    event = access_event(
        request,
        access,
        action="create",
        file=file.context,
        part="notes",
        resource_type="note",
        resource_id=str(note.id),
    )
    await trace(session, request, [event], read=False)
    return NoteRead.model_validate(note.model_dump())


@router.get("/workers/{worker_id}/notes", summary="Personal notes on a worker")
async def list_notes(
    worker_id: uuid.UUID, principal: CurrentUser, session: SessionDep, request: Request
) -> list[NoteRead]:
    """A physician sees their own notes; the medical director sees all of them."""
    access = authorize_notes(principal, "read", worker_id=str(worker_id))
    file = await open_file(session, principal, "read", worker_id, part="notes")
    query = select(Note).where(Note.worker_id == worker_id)
    if access.scope is Scope.OWN:
        query = query.where(Note.author_id == principal.user_id)
    notes = (await session.execute(query.order_by(Note.created_at.desc()))).scalars().all()  # type: ignore[attr-defined]
    event = access_event(
        request, access, action="read", file=file.context, part="notes", resource_type="note"
    )
    await trace(session, request, [event], read=True)
    return [NoteRead.model_validate(n.model_dump()) for n in notes]

"""The physician's personal notes: their author and the medical director, nobody else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlmodel import col

from common.db import SessionDep
from common.rights import Scope
from common.tokens import CurrentUser
from records.access.events import FileAccess, TracedFile
from records.notes.models import Note
from records.notes.schemas import NoteCreate, NoteRead

router = APIRouter(tags=["notes"])

NoteCreation = FileAccess("create", part="notes", resource_type="note", notes=True)
NoteReading = FileAccess("read", part="notes", resource_type="note", notes=True)


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
    file: Annotated[TracedFile, NoteCreation],
) -> NoteRead:
    """Physicians and the medical director only; never shown to the worker."""
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
    file.touched(str(note.id))
    return NoteRead.model_validate(note.model_dump())


@router.get("/workers/{worker_id}/notes", summary="Personal notes on a worker")
async def list_notes(
    worker_id: uuid.UUID,
    principal: CurrentUser,
    session: SessionDep,
    file: Annotated[TracedFile, NoteReading],
) -> list[NoteRead]:
    """A physician sees their own notes; the medical director sees all of them."""
    query = select(Note).where(col(Note.worker_id) == worker_id)
    if file.access.scope is Scope.OWN:
        query = query.where(col(Note.author_id) == principal.user_id)
    notes = (await session.execute(query.order_by(col(Note.created_at).desc()))).scalars().all()
    return [NoteRead.model_validate(n.model_dump()) for n in notes]

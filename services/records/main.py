"""The records service's ASGI app: `uvicorn records.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from common.app import create_app
from common.outbox import outbox_trail
from records.access.events import denial_details
from records.exams.router import router as exams_router
from records.movements.router import router as movements_router
from records.movements.signing import signing_key_hook
from records.notes.router import router as notes_router
from records.rectification.router import router as rectification_router
from records.requests.router import router as requests_router
from records.retention.router import router as retention_router
from records.settings import Settings
from records.workers.router import router as workers_router

DESCRIPTION = "Worker health files, enforced by profile; every access traced before it is served."


def build_app(settings: Settings | None = None) -> FastAPI:
    """The records app with its routers and lifespan hooks."""
    app = create_app(
        settings or Settings(),
        title="Records",
        description=DESCRIPTION,
        routers=[
            workers_router,
            exams_router,
            notes_router,
            movements_router,
            retention_router,
            rectification_router,
            requests_router,
        ],
        hooks=[signing_key_hook, outbox_trail("records", denial_details)],
    )
    return app


app = build_app()

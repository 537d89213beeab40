"""The register service's ASGI app: `uvicorn register.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from common.app import create_app
from common.outbox import outbox_trail
from register.activities.router import router as activities
from register.contests.abuse import router as abuse
from register.contests.router import router as contests
from register.dpia.router import router as dpia
from register.exports.router import router as exports
from register.incidents.router import router as incidents
from register.settings import Settings
from register.subject_requests.router import intake as rectification_intake
from register.subject_requests.router import router as subject_requests

DESCRIPTION = "GDPR register of processing, DPIA, data-subject requests, incidents and breaches."


def build_app(settings: Settings | None = None) -> FastAPI:
    """The register app with its routers and lifespan hooks."""
    return create_app(
        settings or Settings(),
        title="Register",
        description=DESCRIPTION,
        routers=[
            activities,
            dpia,
            subject_requests,
            incidents,
            exports,
            contests,
            abuse,
            rectification_intake,
        ],
        hooks=[outbox_trail("register")],
    )


app = build_app()

"""The audit service's ASGI app: `uvicorn audit.main:app`."""

from __future__ import annotations

from fastapi import FastAPI

from audit.alerts.router import router as alerts_router
from audit.contests.router import router as contests_router
from audit.history.router import router as history_router
from audit.log.router import node_cache
from audit.log.router import router as log_router
from audit.projections.router import router as projections_router
from audit.reports.router import router as reports_router
from audit.settings import Settings
from audit.stats.router import broker_client
from audit.stats.router import router as stats_router
from audit.store.router import router as store_router
from audit.trail import audit_trail
from common.app import create_app

DESCRIPTION = "Append-only, tamper-evident event store; access histories, alerts and reports."


def build_app(settings: Settings | None = None) -> FastAPI:
    """The audit app with its routers and lifespan hooks."""
    return create_app(
        settings or Settings(),
        title="Audit",
        description=DESCRIPTION,
        routers=[
            reports_router,
            contests_router,
            history_router,
            alerts_router,
            store_router,
            log_router,
            projections_router,
            stats_router,
        ],
        hooks=[audit_trail, broker_client, node_cache],
    )


app = build_app()

"""The portal's ASGI app: `uvicorn portal.main:app`."""

from __future__ import annotations

from portal.app import build_app

app = build_app()

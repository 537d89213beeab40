"""Request-scoped access to the register's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from register.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

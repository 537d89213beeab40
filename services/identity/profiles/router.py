"""GET /profiles: the access grid of DOMAIN.md, from common.rights."""

from __future__ import annotations

from fastapi import APIRouter

from common.rights import grid_as_data
from identity.profiles.schemas import ProfileRead

router = APIRouter(tags=["profiles"])


@router.get("/profiles", summary="Every profile with its rights")
async def profiles() -> list[ProfileRead]:
    """The grid as data (public: it carries no personal data)."""
    return [ProfileRead.model_validate(p) for p in grid_as_data()]

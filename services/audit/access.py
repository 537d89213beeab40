"""Who may read traces: the access-histories right of the grid."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from common.rights import Right, Scope
from common.tokens import CurrentUser, Denied, Principal

MONITOR_SCOPES = frozenset({Scope.ALL, Scope.NO_MEDICAL})


async def _monitor(principal: CurrentUser) -> Principal:
    if principal.scope(Right.ACCESS_HISTORIES) not in MONITOR_SCOPES:
        raise Denied(principal, Right.ACCESS_HISTORIES, "Only the monitoring committee may do this")
    return principal


# The monitoring committee: the medical director (everything) and the security officer
# (everything but medical content).
Monitor = Annotated[Principal, Depends(_monitor)]


def sees_medical(principal: Principal) -> bool:
    """Whether the caller may see medical details of traces (the medical director)."""
    return principal.scope(Right.ACCESS_HISTORIES) is Scope.ALL

"""Who may use the register: the GDPR_REGISTER row of the access grid, as dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from common.rights import Right, Scope
from common.tokens import Authorization, Denied, RequireRight

RegisterAccess = RequireRight(Right.GDPR_REGISTER)


async def _reader(auth: RegisterAccess) -> Authorization:
    if auth.scope not in (Scope.READ, Scope.WRITE):
        raise Denied(
            auth.principal, Right.GDPR_REGISTER, "Only staff allowed by the grid read the register"
        )
    return auth


async def _writer(auth: RegisterAccess) -> Authorization:
    if auth.scope is not Scope.WRITE:
        raise Denied(
            auth.principal, Right.GDPR_REGISTER, "Only the security officer changes the register"
        )
    return auth


RegisterReader = Annotated[Authorization, Depends(_reader)]
RegisterWriter = Annotated[Authorization, Depends(_writer)]

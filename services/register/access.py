"""Who may use the register: the GDPR_REGISTER row of the access grid, as dependencies.

Every refusal is a `RegisterDenied` naming the resource refused (type from the path, id from the
path when there is one), so the `denied` event common.trail writes says what was asked for.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from common.events import Resource
from common.rights import Right, Scope
from common.tokens import Authorization, CurrentUser, Denied, Principal

# First path segment -> the resource type register's own events use.
RESOURCE_TYPES = {
    "processing-activities": "processing_activity",
    "dpia": "dpia",
    "incidents": "incident",
    "subject-requests": "subject_request",
    "register": "register",
}


class RegisterDenied(Denied):
    """A refused attempt on the register, with the resource refused."""

    def __init__(
        self, principal: Principal, detail: str, *, resource: Resource, action: str | None = None
    ) -> None:
        super().__init__(principal, Right.GDPR_REGISTER, detail)
        self.resource = resource
        self.worker_id: str | None = None
        if action is not None:
            self.action = action


def requested(request: Request, resource_id: str | None = None) -> Resource:
    """The resource a request asks for: its type from the path, its id from the path."""
    segments = [s for s in request.url.path.split("/") if s]
    first = segments[0] if segments else "register"
    kind = RESOURCE_TYPES.get(first, first.replace("-", "_"))
    if resource_id is None:
        ids = [str(v) for v in request.path_params.values()]
        resource_id = ids[0] if ids else None
    return Resource(type=kind, id=resource_id, part=Right.GDPR_REGISTER.value)


async def _access(principal: CurrentUser, request: Request) -> Authorization:
    scope = principal.scope(Right.GDPR_REGISTER)
    if scope is Scope.NONE:
        raise RegisterDenied(
            principal,
            f"Profile {principal.profile.value} may not use the GDPR register",
            resource=requested(request),
        )
    return Authorization(principal=principal, right=Right.GDPR_REGISTER, scope=scope)


RegisterAccess = Annotated[Authorization, Depends(_access)]


async def _reader(auth: RegisterAccess, request: Request) -> Authorization:
    if auth.scope not in (Scope.READ, Scope.WRITE):
        raise RegisterDenied(
            auth.principal,
            "Only staff allowed by the grid read the register",
            resource=requested(request),
        )
    return auth


async def _writer(auth: RegisterAccess, request: Request) -> Authorization:
    if auth.scope is not Scope.WRITE:
        raise RegisterDenied(
            auth.principal,
            "Only the security officer changes the register",
            resource=requested(request),
        )
    return auth


RegisterReader = Annotated[Authorization, Depends(_reader)]
RegisterWriter = Annotated[Authorization, Depends(_writer)]

"""Who may do what on which file: the rights grid of common.rights applied to one request."""

from __future__ import annotations

from dataclasses import dataclass

from common.events import Resource
from common.rights import Profile, Right, Scope
from common.tokens import Denied, GrantClaim, Principal

# What each contract action needs from the grid.
ACTION_RIGHT: dict[str, Right] = {
    "open": Right.OPEN,
    "read": Right.READ,
    "search": Right.OPEN,
    "create": Right.CREATE,
    "update": Right.MODIFY,
    "print": Right.PRINT_EXPORT,
    "export": Right.PRINT_EXPORT,
    "import": Right.CREATE,
    "erase": Right.MODIFY,
}


class AccessDenied(Denied):
    """A refused attempt on a file; traced in its own transaction before the 403 is sent."""

    def __init__(
        self,
        principal: Principal,
        right: Right,
        *,
        action: str,
        worker_id: str | None,
        resource: Resource,
        detail: str,
    ) -> None:
        super().__init__(principal, right, detail)
        self.action = action
        self.worker_id = worker_id
        self.resource = resource


@dataclass(frozen=True)
class Access:
    """An allowed access: the caller, the scope that allowed it and the grant used, if any."""

    principal: Principal
    right: Right
    scope: Scope
    grant: GrantClaim | None = None

    @property
    def filtered(self) -> bool:
        """The caller is the worker (or guardian): no notes, no third-party data."""
        return self.principal.profile is Profile.WORKER

    @property
    def administrative_only(self) -> bool:
        """Administrative staff: the directory entry (WorkerDirectoryRead), nothing medical."""
        return self.scope is Scope.DIRECTORY

    @property
    def own_file(self) -> bool:
        """The caller reads their own (or their ward's) file."""
        return self.principal.profile is Profile.WORKER


def authorize(
    principal: Principal,
    action: str,
    *,
    worker_id: str | None,
    part: str,
    resource_type: str = "worker",
    resource_id: str | None = None,
    right: Right | None = None,
    medical: bool = True,
) -> Access:
    """Allow the action on the file (or on all files when worker_id is None), or raise 403.

    `medical` is False for the administrative part only (identity, employer, employment).
    """
    wanted = right or ACTION_RIGHT[action]
    scope = principal.scope(wanted)
    grant: GrantClaim | None = None

    def deny(detail: str) -> AccessDenied:
        return AccessDenied(
            principal,
            wanted,
            action=action,
            worker_id=worker_id,
            resource=Resource(type=resource_type, id=resource_id or worker_id, part=part),
            detail=detail,
        )

    if scope is Scope.NONE:
        raise deny(f"Profile {principal.profile.value} may not {action} health files")
    if scope is Scope.GRANT:
        # A grant for one file never reaches a new file; a search is bounded by the grant later.
        grant = _any_grant(principal) if action == "search" else principal.grant_for(worker_id)
        if grant is None:
            raise deny(f"Profile {principal.profile.value} needs a live access grant")
    elif scope in (Scope.OWN, Scope.OWN_FILTERED):
        own = {w.strip().lower() for w in principal.own_worker_ids()}
        if worker_id is None or worker_id.lower() not in own:
            raise deny("A worker may only access their own file")
    elif scope is Scope.DIRECTORY:
        if medical:
            raise deny("Administrative staff see the worker directory only")
    elif scope is not Scope.ALL:
        raise deny(f"Profile {principal.profile.value} may not {action} health files")
    return Access(principal=principal, right=wanted, scope=scope, grant=grant)


def _any_grant(principal: Principal) -> GrantClaim | None:
    """For a search: any live grant (its worker, or all workers, bounds the results)."""
    live = [g for g in principal.grants if principal.grant_for(g.worker_id) is not None]
    return next((g for g in live if g.worker_id is None), live[0] if live else None)


def authorize_notes(principal: Principal, action: str, *, worker_id: str) -> Access:
    """Personal notes: physicians (their own notes) and the medical director only."""
    scope = principal.scope(Right.PERSONAL_NOTES)
    physician_own = scope is Scope.OWN and principal.profile is Profile.PHYSICIAN
    if scope is not Scope.ALL and not physician_own:
        raise AccessDenied(
            principal,
            Right.PERSONAL_NOTES,
            action=action,
            worker_id=worker_id,
            resource=Resource(type="note", id=worker_id, part="notes"),
            detail="Personal notes are for physicians and the medical director only",
        )
    return Access(principal=principal, right=Right.PERSONAL_NOTES, scope=scope)

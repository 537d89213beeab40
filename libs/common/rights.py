"""The access grid of DOMAIN.md as data: one table, read by identity and by every service."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Profile(StrEnum):
    """Role profiles (CONTRACT.md codes)."""

    PHYSICIAN = "physician"
    ASSISTANT = "assistant"
    DEVELOPER = "developer"
    HELPDESK = "helpdesk"
    ADMIN_STAFF = "admin_staff"
    MEDICAL_DIRECTOR = "medical_director"
    SECURITY_OFFICER = "security_officer"
    WORKER = "worker"


class Right(StrEnum):
    """Rows of the grid."""

    OPEN = "open"
    READ = "read"
    CREATE = "create"
    MODIFY = "modify"
    PRINT_EXPORT = "print_export"
    PERSONAL_NOTES = "personal_notes"
    TECHNICAL_ACCESS = "technical_access"
    ACCESS_HISTORIES = "access_histories"
    GDPR_REGISTER = "gdpr_register"
    MANAGE_ACCOUNTS = "manage_accounts"
    GRANT_ACCESS = "grant_access"


class Scope(StrEnum):
    """How far a right reaches for a profile."""

    NONE = "none"
    ALL = "all"
    GRANT = "grant"  # only through a live, reasoned, time-limited access grant
    OWN = "own"  # the caller's own file, requests or notes
    OWN_FILTERED = "own_filtered"  # own file without personal notes or third-party data
    # The worker directory only (name, birth date, employer, department, next exam due) to
    # find a worker and schedule an exam; nothing medical, no file opened, nothing written.
    DIRECTORY = "directory"
    NO_MEDICAL = "no_medical"  # all workers, without medical content
    TEST_DATA = "test_data"  # test data; production only under grant
    READ = "read"
    WRITE = "write"


P, R, S = Profile, Right, Scope

GRID: Final = MappingProxyType(
    {
        P.PHYSICIAN: {
            R.OPEN: S.ALL, R.READ: S.ALL, R.CREATE: S.ALL, R.MODIFY: S.ALL,
            R.PRINT_EXPORT: S.ALL, R.PERSONAL_NOTES: S.OWN, R.GDPR_REGISTER: S.READ,
        },
        P.ASSISTANT: {
            R.OPEN: S.ALL, R.READ: S.ALL, R.CREATE: S.ALL, R.MODIFY: S.ALL,
            R.PRINT_EXPORT: S.ALL,
        },
        P.DEVELOPER: {
            R.OPEN: S.GRANT, R.READ: S.GRANT, R.CREATE: S.GRANT, R.MODIFY: S.GRANT,
            R.PRINT_EXPORT: S.GRANT, R.TECHNICAL_ACCESS: S.TEST_DATA,
        },
        P.HELPDESK: {R.OPEN: S.GRANT, R.READ: S.GRANT},
        # DOMAIN.md: admin staff open, read, create, modify, print: "no". They find a worker
        # in the directory to schedule an exam (search and a directory entry), nothing more.
        P.ADMIN_STAFF: {R.OPEN: S.DIRECTORY, R.READ: S.DIRECTORY},
        P.MEDICAL_DIRECTOR: {
            R.OPEN: S.ALL, R.READ: S.ALL, R.CREATE: S.ALL, R.MODIFY: S.ALL,
            R.PRINT_EXPORT: S.ALL, R.PERSONAL_NOTES: S.ALL, R.ACCESS_HISTORIES: S.ALL,
            R.GDPR_REGISTER: S.READ, R.GRANT_ACCESS: S.ALL,
        },
        P.SECURITY_OFFICER: {
            R.ACCESS_HISTORIES: S.NO_MEDICAL, R.GDPR_REGISTER: S.WRITE,
            R.MANAGE_ACCOUNTS: S.ALL,
        },
        P.WORKER: {
            R.OPEN: S.OWN, R.READ: S.OWN_FILTERED, R.PRINT_EXPORT: S.OWN,
            R.ACCESS_HISTORIES: S.OWN, R.GDPR_REGISTER: S.OWN,
        },
    }
)  # fmt: skip

PROFILE_LABELS: Final = MappingProxyType(
    {
        P.PHYSICIAN: "Occupational physician",
        P.ASSISTANT: "Paramedical assistant or nurse",
        P.DEVELOPER: "Developer",
        P.HELPDESK: "Helpdesk",
        P.ADMIN_STAFF: "Administrative staff",
        P.MEDICAL_DIRECTOR: "Medical director",
        P.SECURITY_OFFICER: "Security officer (DPO)",
        P.WORKER: "Worker",
    }
)

STAFF_PROFILES: Final = frozenset(set(Profile) - {P.WORKER})
GRANTABLE_PROFILES: Final = frozenset({P.DEVELOPER, P.HELPDESK})


def scope_of(profile: Profile | str, right: Right | str) -> Scope:
    """The scope a profile has for a right (NONE when the grid says no)."""
    try:
        return GRID[Profile(profile)].get(Right(right), Scope.NONE)
    except ValueError:
        return Scope.NONE


def grid_as_data() -> list[dict[str, object]]:
    """Every profile with its rights, as served by identity's GET /profiles."""
    return [
        {
            "code": profile.value,
            "label": PROFILE_LABELS[profile],
            "rights": {right.value: scope_of(profile, right).value for right in Right},
        }
        for profile in Profile
    ]

"""Seed the register with the service's own processing: health files, access traces, accounts.

Revision ID: register_0003
Revises: register_0002
Create Date: 2026-11-23
"""

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "register_0003"
down_revision: str | None = "register_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTROLLER = {
    "name": "External service for prevention and protection at work",
    "contact": "privacy@ohs.example",
}
DPO = {"name": "Data protection officer (security officer)", "contact": "dpo@ohs.example"}
REVIEW_ON = date(2027, 6, 30)
COMMON_MEASURES = [
    "Personal accounts only; passwords of 10+ characters mixing letters, digits and symbols",
    "Password changed every 90 days, none of the last 15 reused",
    "Account locked after three consecutive failed logins",
    "Sessions locked after inactivity; logout ends the session",
    "Rights by profile (access grid); reasoned, time-limited grants for technical staff",
    "Every access traced in an append-only, tamper-evident audit trail",
    "Daily backups, one year of archives, a remote copy, restores tested",
]

ACTIVITIES = [
    {
        "id": "6f1a3c52-0d7e-4c55-9a11-3b0a52c1e001",
        "name": "Worker health files (occupational health surveillance)",
        "purposes": [
            "Health surveillance of workers: pre-employment, periodic, return-to-work, "
            "spontaneous and maternity-protection exams",
            "Fitness-for-the-job decisions (health evaluation form)",
            "Recording of exposures and of the risks that put a worker under surveillance",
            "Transfer of files when an employer changes service",
        ],
        "legal_basis": "legal_obligation",
        "special_category_condition": (
            "GDPR Art. 9(2)(h): occupational medicine and assessment of the working capacity "
            "of the employee, by professionals bound by medical secrecy (Art. 9(3))"
        ),
        "data_subject_categories": [
            "Workers under health surveillance of client employers",
            "Parents or guardians of minor workers",
        ],
        "data_categories": [
            {"name": "Identification and contact data", "special_category": False},
            {"name": "Employer, job and workstation", "special_category": False},
            {"name": "Exams, findings and diagnoses (ICD-10)", "special_category": True},
            {"name": "Lab results", "special_category": True},
            {"name": "Exposures and occupational risks", "special_category": True},
            {"name": "Fitness decisions", "special_category": True},
            {"name": "Physicians' personal notes", "special_category": True},
        ],
        "recipients": [
            "Occupational physicians, nurses and paramedical assistants of the service",
            "Medical director",
            "The worker or their guardian (own file, without personal notes)",
            "Another external service when the file is transferred",
            "The employer: the fitness decision only, never medical data",
        ],
        "retention": [
            {"data": "Health file", "period": "15 years after the worker leaves"},
            {
                "data": "Health file of a worker exposed to carcinogens, asbestos or "
                "ionizing radiation",
                "period": "40 years",
            },
        ],
        "security_measures": [*COMMON_MEASURES, "Physicians' notes visible to their author only"],
    },
    {
        "id": "6f1a3c52-0d7e-4c55-9a11-3b0a52c1e002",
        "name": "Access traces of health files (audit trail)",
        "purposes": [
            "Tracing every access to a health file: who, when, what action, which part",
            "Detecting abuse: curiosity, access without a care relationship, use of a grant, "
            "mass access, repeated denials",
            "Telling a worker who accessed their file",
            "Handing the list of accesses to the data-protection authority",
        ],
        "legal_basis": "legal_obligation",
        "special_category_condition": None,
        "data_subject_categories": [
            "Staff of the service",
            "Workers whose files are accessed",
        ],
        "data_categories": [
            {"name": "Name and profile of the staff member", "special_category": False},
            {"name": "Date, time, action and outcome", "special_category": False},
            {"name": "Identifier of the file and part accessed", "special_category": False},
            {"name": "Workstation address and browser", "special_category": False},
        ],
        "recipients": [
            "Medical director (all workers)",
            "Security officer (without medical content)",
            "Monitoring committee",
            "The worker (own access history)",
            "The data-protection authority on request",
        ],
        "retention": [
            {"data": "Access traces", "period": "As long as the health file they concern"},
        ],
        "security_measures": [
            "Append-only store, not writable by anyone in operations",
            "Hash chain verified on demand (tamper evidence)",
            "Alerts on abuse reported to the medical director at once",
            *COMMON_MEASURES[:2],
        ],
    },
    {
        "id": "6f1a3c52-0d7e-4c55-9a11-3b0a52c1e003",
        "name": "Staff and worker accounts (identity and access management)",
        "purposes": [
            "Authenticating staff and workers",
            "Managing profiles and rights; withdrawing every right of leaving staff at once",
            "Reasoned, time-limited access grants for technical problems",
        ],
        "legal_basis": "legal_obligation",
        "special_category_condition": None,
        "data_subject_categories": ["Staff of the service", "Workers with a portal account"],
        "data_categories": [
            {"name": "Username, display name and profile", "special_category": False},
            {"name": "Password hashes (argon2) and password history", "special_category": False},
            {"name": "Logins, failures, lockouts and sessions", "special_category": False},
            {"name": "Access grants and their reasons", "special_category": False},
        ],
        "recipients": ["Security officer", "Medical director (access grants)"],
        "retention": [
            {"data": "Accounts", "period": "Deactivated on departure, deleted one year later"},
            {"data": "Authentication events", "period": "As the access traces"},
        ],
        "security_measures": COMMON_MEASURES,
    },
]

JSON_FIELDS = (
    "controller", "dpo", "purposes", "data_subject_categories", "data_categories",
    "recipients", "transfers", "retention", "security_measures",
)  # fmt: skip


def _tables() -> tuple[sa.Table, sa.Table, sa.Table]:
    meta = sa.MetaData()
    activity = sa.Table(
        "processing_activity", meta,
        sa.Column("id", sa.Uuid), sa.Column("name", sa.String),
        *(sa.Column(n, postgresql.JSONB) for n in JSON_FIELDS),
        sa.Column("legal_basis", sa.String), sa.Column("special_category_condition", sa.String),
        sa.Column("review_on", sa.Date), sa.Column("active", sa.Boolean),
        sa.Column("version", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True)), sa.Column("created_by", sa.String),
        sa.Column("updated_at", sa.DateTime(timezone=True)), sa.Column("updated_by", sa.String),
    )  # fmt: skip
    version = sa.Table(
        "processing_activity_version", meta,
        sa.Column("activity_id", sa.Uuid), sa.Column("version", sa.Integer),
        sa.Column("changed_at", sa.DateTime(timezone=True)), sa.Column("changed_by", sa.String),
        sa.Column("changed_by_name", sa.String),
        sa.Column("changed_fields", postgresql.JSONB), sa.Column("snapshot", postgresql.JSONB),
    )  # fmt: skip
    outbox = sa.Table(
        "outbox", meta,
        sa.Column("event_id", sa.Uuid), sa.Column("topic", sa.String), sa.Column("key", sa.String),
        sa.Column("payload", postgresql.JSONB), sa.Column("created_at", sa.DateTime(timezone=True)),
    )  # fmt: skip
    return activity, version, outbox


def _event(entry: dict[str, Any], occurred_at: datetime) -> dict[str, Any]:
    """The access-event/1 envelope of one seeded entry, as common.outbox.build_event made it
    when this revision was written (frozen here: a migration never calls live code)."""
    return {
        "event_id": str(uuid.uuid4()),
        "schema": "access-event/1",
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source": "register",
        "actor": None,
        "action": "processing_activity_created",
        "outcome": "success",
        "worker_id": None,
        "resource": {"type": "processing_activity", "id": entry["id"], "part": None},
        "purpose": None,
        "client": {"ip": None, "user_agent": None},
        "trace_id": None,
        "details": {"version": 1, "name": entry["name"], "seeded": True},
    }


def upgrade() -> None:
    """Insert the three entries (once: existing ids are left alone) and their events."""
    activity, version, outbox = _tables()
    bind = op.get_bind()
    now = datetime.now(UTC)
    for entry in ACTIVITIES:
        content = {
            "controller": CONTROLLER, "dpo": DPO, "transfers": [], "review_on": REVIEW_ON,
            "active": True, **{k: v for k, v in entry.items() if k != "id"},
        }  # fmt: skip
        inserted = bind.execute(
            postgresql.insert(activity)
            .values(
                id=entry["id"],
                version=1,
                created_at=now,
                updated_at=now,
                created_by="system",
                updated_by="system",
                **content,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(activity.c.id)
        ).first()
        if inserted is None:
            continue
        snapshot = json.loads(json.dumps(content, default=str))
        bind.execute(
            version.insert().values(
                activity_id=entry["id"],
                version=1,
                changed_at=now,
                changed_by="system",
                changed_by_name="Initial register",
                changed_fields=sorted(snapshot),
                snapshot=snapshot,
            )
        )
        event = _event(entry, now)
        bind.execute(
            outbox.insert().values(
                event_id=event["event_id"],
                topic="register-events",
                key=None,
                payload=event,
                created_at=now,
            )
        )


def downgrade() -> None:
    """Remove the seeded entries."""
    ids = ", ".join(f"'{e['id']}'" for e in ACTIVITIES)
    op.execute(f"DELETE FROM processing_activity_version WHERE activity_id IN ({ids})")  # noqa: S608
    op.execute(f"DELETE FROM processing_activity WHERE id IN ({ids})")  # noqa: S608

"""Alembic environment of the audit service."""

from sqlmodel import SQLModel

import audit.models  # noqa: F401 - registers the tables on the metadata
from common.migrate import run_env

run_env(SQLModel.metadata)

"""Alembic environment of the records service."""

from sqlmodel import SQLModel

import records.models  # noqa: F401 - registers the tables on the metadata
from common.migrate import run_env

run_env(SQLModel.metadata)

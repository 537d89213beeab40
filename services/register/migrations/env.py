"""Alembic environment of the register service."""

from sqlmodel import SQLModel

import register.models  # noqa: F401 - registers the tables on the metadata
from common.migrate import run_env

run_env(SQLModel.metadata)

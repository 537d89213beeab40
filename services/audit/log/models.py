"""The Merkle tree log's tables: tiles of subtree hashes and signed checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, SmallInteger, String, Text
from sqlmodel import Field, SQLModel


class LogTile(SQLModel, table=True):
    """Stored hashes of one tile (audit.core.merkle); only the rightmost tile of a level grows."""

    __tablename__ = "log_tile"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed C2SP checkpoint of the tree at one size; append-only."""

    __tablename__ = "log_checkpoint"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    key_id: str = Field(sa_column=Column(String(32), nullable=False))
    signed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

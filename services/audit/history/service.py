"""Reading a worker's access history from its projection, newest first."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic_core
from sqlalchemy.ext.asyncio import AsyncSession

from audit.core.receipt import Receipt
from audit.history.schemas import AccessEntryRead
from audit.log.service import NodeCache, receipts
from audit.projections.models import AccessEntry
from audit.tables import Row, driver, table_of
from common.errors import invalid

ENTRY = table_of(AccessEntry)
# Parts of a file the worker may not read (DOMAIN.md): their accesses are marked withheld.
WITHHELD_PARTS = frozenset({"notes"})


@dataclass(frozen=True)
class HistoryFilter:
    """Filters of a history query."""

    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    profile: str | None = None


def encode_cursor(occurred_at: datetime, position: int) -> str:
    """An opaque cursor after an entry."""
    raw = json.dumps([occurred_at.isoformat(), position]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, position) a cursor stands for, or 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, position = json.loads(raw)
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None or not isinstance(position, int):
            raise ValueError("cursor")
        return parsed, position
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid(
            "Invalid cursor", [{"field": "query.cursor", "message": "not a cursor"}]
        ) from exc


class ReceiptEncoder:
    """Receipts in their published form, for one page: the proofs of a page share most of
    their hashes and all of their checkpoint, so each hash is encoded once."""

    def __init__(self) -> None:
        self.encoded: dict[bytes, str] = {}

    def data(self, receipt: Receipt) -> dict[str, Any]:
        """The fields of the ReceiptRead of a receipt."""
        encoded = self.encoded
        for h in receipt.inclusion_proof:
            if h not in encoded:
                encoded[h] = base64.b64encode(h).decode()
        return {
            "log": receipt.log,
            "leaf_index": receipt.leaf_index,
            "leaf": base64.b64encode(receipt.leaf).decode(),
            "tree_size": receipt.tree_size,
            "inclusion_proof": [encoded[h] for h in receipt.inclusion_proof],
            "checkpoint": receipt.checkpoint,
        }


def entry_data(
    row: AccessEntry | Row,
    *,
    with_details: bool,
    receipt: dict[str, Any] | None = None,
    pending: bool = False,
) -> dict[str, Any]:
    """The fields of the AccessEntryRead of a history row."""
    return {
        "occurred_at": row.occurred_at,
        "actor_name": row.actor_name,
        "actor_profile": row.actor_profile,
        "action": row.action,
        "outcome": row.outcome,
        "resource": (
            {"type": row.resource_type, "id": row.resource_id, "part": row.part}
            if row.resource_type
            else None
        ),
        "part": row.part,
        "purpose": row.purpose,
        "source": row.source,
        "event_id": str(row.event_id),
        "details": row.details if with_details else None,
        "withheld": row.part in WITHHELD_PARTS,
        "receipt": receipt,
        "pending": pending,
    }


def entry_read(row: AccessEntry | Row, *, with_details: bool) -> AccessEntryRead:
    """The API form of a history row (without its receipt)."""
    return AccessEntryRead.model_validate(entry_data(row, with_details=with_details))


ENTRY_COLUMNS = ", ".join(c.name for c in ENTRY.c)


async def entries(
    session: AsyncSession,
    worker_id: str,
    flt: HistoryFilter,
    *,
    limit: int | None,
    cursor: str | None = None,
) -> tuple[list[Row], str | None]:
    """Rows of a worker's history matching the filter, newest first, and the next cursor."""
    args: list[Any] = [worker_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    # Only placeholders are spliced into the text; every value travels as a parameter.
    where = ["worker_id = $1"]
    if flt.since is not None:
        where.append(f"occurred_at >= {arg(flt.since)}")
    if flt.until is not None:
        where.append(f"occurred_at < {arg(flt.until)}")
    if flt.action:
        where.append(f"action = {arg(flt.action)}")
    if flt.profile:
        where.append(f"actor_profile = {arg(flt.profile)}")
    if cursor:
        when, position = decode_cursor(cursor)
        where.append(f"(occurred_at, position) < ({arg(when)}, {arg(position)})")
    conditions = " AND ".join(where)
    sql = f"SELECT {ENTRY_COLUMNS} FROM access_entry WHERE {conditions} "  # noqa: S608
    sql += "ORDER BY occurred_at DESC, position DESC"
    if limit is not None:
        sql += f" LIMIT {arg(limit + 1)}"
    rows: list[Row] = await (await driver(session)).fetch(sql, *args, record_class=Row)
    next_cursor = None
    if limit is not None and len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].position)
    return rows, next_cursor


async def page(
    session: AsyncSession,
    worker_id: str,
    flt: HistoryFilter,
    *,
    limit: int,
    cursor: str | None,
    with_details: bool,
    nodes: NodeCache | None = None,
) -> dict[str, Any]:
    """The fields of one AccessHistoryPage, each entry with its receipt when it is in the log."""
    rows, next_cursor = await entries(session, worker_id, flt, limit=limit, cursor=cursor)
    proved = await receipts(session, [r.position for r in rows], nodes)
    encoder = ReceiptEncoder()
    return {
        "worker_id": worker_id,
        "items": [
            entry_data(
                r,
                with_details=with_details,
                receipt=encoder.data(proved[r.position]) if r.position in proved else None,
                pending=r.position not in proved,
            )
            for r in rows
        ],
        "next_cursor": next_cursor,
    }


def page_json(data: dict[str, Any]) -> bytes:
    """A page's fields as the JSON of its AccessHistoryPage.

    Built from rows this module shapes, so validating 100 KB of it again (and dumping the
    model) would only double the cost; a property test holds the two outputs equal."""
    return pydantic_core.to_json(data)

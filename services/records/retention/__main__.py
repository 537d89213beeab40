"""`python -m records.retention`: the daily retention review (lists and proposes, never erases).

Run by hand (`make retention`) or by compose (`--daily-at 02:30`). It proposes a batch of the
files past their term and not held; the medical director approves it through the API, which is
what erases. The review is an event of its own (`retention_review`)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime, time, timedelta

from common.db import make_engine, make_sessionmaker, utcnow
from common.events import EventDraft, Resource
from common.outbox import record_events
from records.retention import service
from records.settings import Settings

JOB = "retention-job"


async def review(as_of: date, *, propose: bool) -> str:
    """One review: the files due on `as_of`, and the proposed batch unless `propose` is off."""
    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            due = await service.list_due(session, as_of)
            held = sum(1 for d in due if d.held)
            lines = [f"retention review {as_of}: {len(due)} file(s) past their term, {held} held"]
            lines += [
                f"  {d.worker_id}  employment ended {d.employment_end}, "
                f"{d.years_after_employment}-year term ended {d.term_ended_on}"
                + ("  [legal hold]" if d.held else "")
                for d in due
            ]
            batch_id = None
            if propose and len(due) > held:
                batch = await service.propose(session, as_of, JOB)
                batch_id = str(batch.id)
                lines.append(
                    f"batch {batch_id} proposed ({len(batch.worker_ids)} file(s)): the medical "
                    f"director approves it with POST /retention/batches/{batch_id}/approve"
                )
            await record_events(
                session,
                [
                    EventDraft(
                        source="records",
                        actor=None,
                        action="retention_review",
                        resource=Resource(type="erasure_batch", id=batch_id, part="retention"),
                        details={"as_of": as_of.isoformat(), "due": len(due), "held": held},
                    )
                ],
            )
            return "\n".join(lines)
    finally:
        await engine.dispose()


def _seconds_until(at: time) -> float:
    now = datetime.now(UTC)
    nxt = datetime.combine(now.date(), at, tzinfo=UTC)
    if nxt <= now:
        nxt += timedelta(days=1)
    return (nxt - now).total_seconds()


async def _daily(at: time, propose: bool) -> None:
    while True:
        await asyncio.sleep(_seconds_until(at))
        print(await review(utcnow().date(), propose=propose), flush=True)


def main() -> None:
    """CLI entry."""
    parser = argparse.ArgumentParser(
        prog="python -m records.retention",
        description="List the health files past their retention term (15 years after the end "
        "of employment, 40 for carcinogens, asbestos or ionizing radiation) and propose them "
        "as a batch for the medical director's approval. Never erases anything itself.",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, help="the day (default: today, UTC)")
    parser.add_argument(
        "--list-only", action="store_true", help="list the files due, propose no batch"
    )
    parser.add_argument(
        "--daily-at",
        type=time.fromisoformat,
        metavar="HH:MM",
        help="keep running and review every day at this UTC time (the compose schedule)",
    )
    args = parser.parse_args()
    if args.daily_at is not None:
        asyncio.run(_daily(args.daily_at, not args.list_only))
        return
    print(asyncio.run(review(args.as_of or utcnow().date(), propose=not args.list_only)))


if __name__ == "__main__":
    main()

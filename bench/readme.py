"""`python -m bench.readme`: regenerate the README's performance table from bench/results.json.

The table sits between two markers in README.md; `--check` exits 1 when it differs from what
results.json gives (the test suite runs that check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START = "<!-- bench:table:start (python -m bench.readme) -->"
END = "<!-- bench:table:end -->"

# name of a verdict: what it measures, in the words of the table.
LABELS = {
    "audited_read_ratio": (
        "Audited / untraced record reads (`GET /workers/{id}/record`, 32 clients)",
        "",
    ),
    "pipeline_events_per_s": (
        "Pipeline: outbox → Kafka → store + projections, 60 s offered",
        "events/s stored",
    ),
    "drain_events_per_s": (
        "Drain: events waiting in Kafka, consumers started cold, until stored, projected and "
        "in a signed tree",
        "events/s",
    ),
    "projection_lag_p99_ms": ("Projection lag p99 (read's `occurred_at` → history entry)", "ms"),
    "history_query_p99_ms": ("History query p99, one worker's page of 50 with receipts", "ms"),
    "inclusion_proof_p99_ms": ("Inclusion proof p99, generated from the stored tiles", "ms"),
}


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _detail(name: str, s: dict[str, Any]) -> str:
    """What else the run measured beside a verdict's figure."""
    if name == "audited_read_ratio" and "reads" in s:
        r = s["reads"]
        spread = ""
        if "rounds" in r:
            spread = f" of {len(r['rounds'])} rounds, spread {r['ratio_min']} to {r['ratio_max']}"
        return (
            f"{_num(r['audited_throughput_per_s'])} vs {_num(r['unaudited_throughput_per_s'])} "
            f"req/s (median ratio{spread})"
        )
    if name == "pipeline_events_per_s" and "pipeline" in s:
        p = s["pipeline"]
        return (
            f"{_num(p['offered_events_per_s'])}/s offered, {_num(p['projected_entries_per_s'])}/s "
            f"projected, backlog drained in {p['backlog_drain_seconds']} s"
        )
    if name == "drain_events_per_s" and "drain" in s:
        d = s["drain"]
        consumers = d.get("consumers", 1)
        return (
            f"{_num(d['events'])} events, {consumers} consumer{'s' if consumers != 1 else ''}, "
            f"{_num(d.get('consumer_cpu_us_per_event', 0))} µs "
            f"{'consumer and projector' if d.get('projector_process') else 'consumer'} CPU "
            "per event"
        )
    if name == "projection_lag_p99_ms" and "projection_lag" in s:
        lag = s["projection_lag"]
        return (
            f"at {_num(lag['rate_per_s'])} reads/s: p50 {lag['lag_ms_p50']} ms, max "
            f"{lag['lag_ms_max']} ms, {_num(lag['events_measured'])} events"
        )
    if name in ("history_query_p99_ms", "inclusion_proof_p99_ms") and "history_query" in s:
        h = s["history_query"]
        if name == "history_query_p99_ms":
            return f"p50 {h['latency_ms_p50']} ms, {_num(h['store_events'])} events in the store"
        return (
            f"p50 {h.get('inclusion_proof_ms_p50')} ms, {_num(h.get('inclusion_proofs', 0))} "
            f"proofs in a tree of {_num(h['store_events'])} leaves"
        )
    return ""


SCENARIO_OF = {
    "audited_read_ratio": "reads",
    "pipeline_events_per_s": "pipeline",
    "drain_events_per_s": "drain",
    "projection_lag_p99_ms": "projection_lag",
    "history_query_p99_ms": "history_query",
    "inclusion_proof_p99_ms": "history_query",
}


def _own_run(name: str, results: dict[str, Any]) -> str:
    """Where a figure comes from a later `--only` run than the full run: which, and when."""
    run = results["scenarios"].get(SCENARIO_OF.get(name, ""), {}).get("run")
    if not run or run.get("started_at") == results["started_at"]:
        return ""
    return (
        f" (its own run, `--only`, {run['started_at'][:16].replace('T', ' ')} UTC, "
        f"commit {run['machine']['git_commit']})"
    )


def table(results: dict[str, Any]) -> str:
    """The README block: when and where the run was made, every target, the raw limits."""
    m, s = results["machine"], results["scenarios"]
    lines = [
        START,
        f"Last full run ({results['started_at'][:10]}, {m['cores']} cores {m['cpu']}, "
        f"{m['memory_gib']} GiB, commit {m['git_commit']}):",
        "",
        "| measure | figure | target | beside it, same run |",
        "|---|---|---|---|",
    ]
    for name, v in results["verdicts"].items():
        verdict = "met" if v["met"] else "**missed**"
        label, unit = LABELS.get(name, (name, ""))
        lines.append(
            f"| {label} | **{_num(v['figure'])}** {unit} | {v['target']}: {verdict} | "
            f"{_detail(name, s)}{_own_run(name, results)} |"
        )
    raw = s.get("raw_limits")
    if raw:
        lines += [
            "",
            f"Raw limits in the same run: aiokafka produce "
            f"{_num(raw['broker_produce_msgs_per_s'])} msg/s, PostgreSQL COPY "
            f"{_num(raw['postgres_copy_rows_per_s'])} rows/s, an empty FastAPI endpoint "
            f"{_num(raw['noop_endpoint']['throughput_per_s'])} req/s.",
        ]
    cpu = s.get("reads", {}).get("cpu_ms_per_read")
    if cpu:
        lines += ["", _cpu_line(cpu)]
    piped = s.get("pipeline", {}).get("cpu_us_per_event")
    if piped:
        seconds = _num(s["pipeline"]["measured_seconds"])
        when = f"over its {seconds} s of load (the load generator writes the outbox rows)"
        lines += ["", _event_cpu_line(piped, "the pipeline", when, 6)]
    drained = s.get("drain", {}).get("cpu_us_per_event")
    if drained:
        lines += ["", _event_cpu_line(drained, "the drain", "while it ran", 5)]
    lines.append(END)
    return "\n".join(lines)


def _cpu_line(cpu: dict[str, dict[str, float]]) -> str:
    """Where a read's CPU went, per process, both sides of the ratio."""

    def side(split: dict[str, float]) -> str:
        parts = [f"{name} {ms}" for name, ms in split.items() if name != "total"][:6]
        return f"**{split['total']}** ms ({', '.join(parts)})"

    return (
        "CPU per read in the same run, each process counted from /proc over each round (median "
        f"of the rounds): audited {side(cpu['audited'])}; untraced {side(cpu['unaudited'])}."
    )


def _event_cpu_line(split: dict[str, float], where: str, when: str, shown: int) -> str:
    """Where an event's CPU went in a scenario, per process (the largest `shown`)."""
    parts = [f"{name} {us}" for name, us in split.items() if name != "total"][:shown]
    return (
        f"CPU per event in {where}, each process counted from /proc {when}: "
        f"**{split['total']}** µs ({', '.join(parts)})."
    )


def regenerate(readme: str, results: dict[str, Any]) -> str:
    """The README with its table block replaced; ValueError when the markers are missing."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no block between {START!r} and {END!r}")
    return readme[:start] + table(results) + readme[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    """CLI entry."""
    parser = argparse.ArgumentParser(prog="python -m bench.readme", description=__doc__)
    parser.add_argument("--results", default=str(REPO / "bench" / "results.json"))
    parser.add_argument("--readme", default=str(REPO / "README.md"))
    parser.add_argument("--check", action="store_true", help="fail when the README is stale")
    args = parser.parse_args(argv)
    readme_path = Path(args.readme)
    try:
        results = json.loads(Path(args.results).read_text())
        readme = readme_path.read_text()
        fresh = regenerate(readme, results)
    except (OSError, ValueError, KeyError) as exc:
        print(f"bench.readme: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if fresh != readme:
            print("README.md's performance table is stale: run python -m bench.readme")
            return 1
        return 0
    readme_path.write_text(fresh)
    print(f"README.md: performance table regenerated from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

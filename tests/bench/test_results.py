"""The committed bench/results.json and the figures the README quotes are the same run."""

from __future__ import annotations

import json

from bench.readme import main as readme_main
from common.devstack import REPO


class TestReadmeQuotesTheCommittedRun:
    def test_every_target_figure_and_the_commit_appear_in_the_readme(self):
        results = json.loads((REPO / "bench" / "results.json").read_text())
        readme = (REPO / "README.md").read_text()
        assert results["quick"] is False, "the committed results come from a full run"
        assert f"commit {results['machine']['git_commit']}" in readme
        for name, verdict in results["verdicts"].items():
            figure = verdict["figure"]
            quoted = f"{figure:,}" if isinstance(figure, int) else str(figure)
            assert quoted in readme, f"{name}: {quoted} is not the figure the README quotes"

    def test_the_performance_table_is_regenerated_from_the_results(self):
        assert readme_main(["--check"]) == 0, "run python -m bench.readme after a bench run"

    def test_readme_quotes_the_restore_drill(self):
        results = json.loads((REPO / "bench" / "results.json").read_text())
        drill = results["scenarios"]["restore_drill"]
        readme = (REPO / "README.md").read_text()
        assert drill["workers"] >= 252_000 and drill["store_events"] >= 10_000_000
        assert drill["events_verified"] == drill["store_events"], "the whole store verified"
        for quoted in (
            f"{drill['rto_s']} s",
            f"{drill['backup_bytes'] / 2**30:.2f} GiB",
            f"{drill['database_bytes_total'] / 2**30:.2f} GiB",
            f"{drill['store_events']:,}",
        ):
            assert quoted in readme, f"restore drill: {quoted} is not in the README"


class TestReadmeQuotesTheRefactorAB:
    def test_each_run_of_the_ab_is_a_row_of_the_readme(self):
        ab = json.loads((REPO / "bench" / "ab-issue10.json").read_text())
        readme = (REPO / "README.md").read_text()
        for run in ab["runs"]:
            assert run["machine"]["git_commit"] == run["commit"], run["run"]
            reads, stored = run["reads"], run["pipeline"]["stored_events_per_s"]
            traced, untraced = reads["traced_req_per_s"], reads["untraced_req_per_s"]
            row = f"| {run['commit']} | {traced} | {untraced} | {stored:,} |"
            assert row in readme, f"{run['run']}: no README row {row}"

    def test_the_means_it_quotes_are_those_of_the_runs(self):
        ab = json.loads((REPO / "bench" / "ab-issue10.json").read_text())
        readme = (REPO / "README.md").read_text()

        def traced(commit: str) -> float:
            runs = [r["reads"]["traced_req_per_s"] for r in ab["runs"] if r["commit"] == commit]
            assert len(runs) == 2, commit
            return sum(runs) / len(runs)

        before, after = traced("661c502"), traced("8f3503a")
        change = round((after / before - 1) * 100)
        quoted = f"{before:.1f}/s before and {after:.1f}/s after ({change:+d} %)"
        assert quoted in " ".join(readme.split()), quoted


def readme_text() -> str:
    """The README with its line breaks and indents folded to single spaces."""
    return " ".join((REPO / "README.md").read_text().split())


def runs_of(name: str) -> list[dict]:
    """The runs a bench/<name>.json file keeps."""
    return json.loads((REPO / "bench" / f"{name}.json").read_text())["runs"]


class TestReadmeQuotesTheIsolatedHistoryRuns:
    def test_each_isolated_run_is_quoted(self):
        readme = readme_text()
        for run in runs_of("history-isolated"):
            h = run["history_query"]
            assert f"{h['latency_ms_p99']} ms" in readme, h["latency_ms_p99"]
            assert str(h["latency_ms_p50"]) in readme
            assert run["machine"]["git_commit"] in readme


class TestReadmeQuotesTheDrainSteps:
    def test_each_step_is_quoted_with_its_code(self):
        readme = readme_text()
        for run in runs_of("drain-steps"):
            drain = run["drain"]
            assert f"{drain['drain_events_per_s']:,}/s" in readme, drain["drain_events_per_s"]
            assert run["code"] in readme, run["code"]

    def test_the_full_runs_own_drain_is_quoted(self):
        full = json.loads((REPO / "bench" / "drain-steps.json").read_text())["in_full_run"]
        drain = full["drain"]
        readme = readme_text()
        assert f"{drain['drain_events_per_s']:,} events/s" in readme
        assert f"{drain['consumer_cpu_s'][-1]} s of projector CPU" in readme


class TestReadmeQuotesTheHeapSteps:
    def test_the_drains_before_and_after_are_quoted(self):
        readme = readme_text()
        steps = json.loads((REPO / "bench" / "heap-steps.json").read_text())
        before = [r["drain"]["drain_events_per_s"] for r in steps["runs"] if r["code"] == "d0a5403"]
        assert f"{min(before):,} to {max(before):,}/s" in readme
        for run in steps["runs"]:
            if run["code"] in ("a6af8c7", "not committed"):
                assert f"{run['drain']['drain_events_per_s']:,}/s" in readme, run["what"]

    def test_the_reads_ab_and_the_niced_full_run_are_quoted(self):
        readme = readme_text()
        steps = json.loads((REPO / "bench" / "heap-steps.json").read_text())
        for run in steps["reads_ab"]:
            assert str(run["reads"]["ratio"]) in readme, run["what"]
        nice = steps["full_run_with_nice"]
        assert f"commit {nice['code']}" in readme
        for verdict in nice["verdicts"].values():
            figure = verdict["figure"]
            assert (f"{figure:,}" if isinstance(figure, int) else str(figure)) in readme


class TestReadmeQuotesThePlanRuns:
    def test_each_pipeline_and_its_postgres_cpu_are_quoted(self):
        readme = readme_text()
        runs = json.loads((REPO / "bench" / "plan-cache.json").read_text())
        for run in runs["isolated_pipeline"] + runs["reads_then_pipeline"]:
            pipeline = run["pipeline"]
            assert f"{pipeline['stored_events_per_s']:,}" in readme, run["started_at"]
            assert f"{pipeline['cpu_us_per_event']['postgres']}" in readme, run["started_at"]
            if "reads" in run:
                assert str(run["reads"]["ratio"]) in readme, run["started_at"]

    def test_the_diagnosis_is_quoted(self):
        readme = readme_text()
        found = json.loads((REPO / "bench" / "plan-cache.json").read_text())["diagnosis"]
        assert f"{found['published_mark_ms_per_call']} ms per call" in readme
        assert f"({found['published_mark_rows_per_call']} rows)" in readme
        assert f"dedup {found['dedup_ms_per_call']} ms" in readme

"""`make bench QUICK=1` end to end: every scenario runs and writes its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common.devstack import REPO


class TestQuickBench:
    def test_writes_every_figure(self, tmp_path: Path):
        out = tmp_path / "results.json"
        run = subprocess.run(
            [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        results = json.loads(out.read_text())
        assert results["quick"] is True and results["machine"]["cores"]
        scenarios = results["scenarios"]
        assert set(scenarios) == {
            "raw_limits", "reads", "pipeline", "drain", "projection_lag", "history_query",
            "restart_catch_up",
        }  # fmt: skip
        assert scenarios["restart_catch_up"]["restart_catch_up_s"] > 0
        assert scenarios["reads"]["audited_throughput_per_s"] > 0
        assert scenarios["reads"]["unaudited_throughput_per_s"] > 0
        assert scenarios["pipeline"]["stored_events_per_s"] > 0
        assert scenarios["drain"]["drain_events_per_s"] > 0
        assert scenarios["drain"]["stored"] == scenarios["drain"]["events"]
        assert scenarios["projection_lag"]["events_measured"] > 0
        assert scenarios["history_query"]["queries"] > 0
        assert scenarios["history_query"]["entries_with_receipt"] > 0
        assert scenarios["history_query"]["inclusion_proofs"] > 0
        assert len(scenarios["reads"]["rounds"]) == 3
        assert scenarios["reads"]["ratio_min"] <= scenarios["reads"]["ratio_max"]
        # The CPU of a read, process by process: the records service and PostgreSQL worked.
        cpu = scenarios["reads"]["cpu_ms_per_read"]
        for side in ("audited", "unaudited"):
            assert cpu[side]["records"] > 0 and cpu[side]["postgres"] > 0
            assert cpu[side]["total"] >= cpu[side]["records"]
        assert cpu["audited"]["audit-consumer"] > cpu["unaudited"].get("audit-consumer", 0)
        # The drain's profile: what each process spent per event, PostgreSQL included.
        drained = scenarios["drain"]["cpu_us_per_event"]
        assert drained["audit-consumer"] > 0 and drained["postgres"] > 0
        assert drained["total"] >= drained["audit-consumer"] + drained["postgres"]
        assert set(results["verdicts"]) == set(results["targets"])
        assert "written to" in run.stdout

    def test_unknown_scenario_is_a_clear_usage_error(self):
        run = subprocess.run(
            [sys.executable, "-m", "bench.run", "--only", "nope"],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 2
        assert "unknown scenario(s): nope" in run.stderr

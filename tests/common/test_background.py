"""The trail's background processes yield the CPU to the services once they have started."""

import os
import subprocess
import sys

from common import devstack
from common.runtime import background_nice


class TestBackgroundPriority:
    def test_a_worker_lowers_its_own_priority_once_started(self):
        own = os.nice(0)
        child = subprocess.run(
            [sys.executable, "-c",
             "import os; from common.runtime import yield_cpu; yield_cpu(); print(os.nice(0))"],
            env={**os.environ, "OHS_BACKGROUND_NICE": "7"}, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        assert int(child.stdout) == min(19, own + 7)

    def test_the_broker_starts_niced(self, monkeypatch):
        # Read in the forked child before exec: the runner's environment decides.
        monkeypatch.setenv("OHS_BACKGROUND_NICE", "4")
        own = os.nice(0)
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(os.nice(0))"],
            preexec_fn=devstack._in_background, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert int(child.stdout) == min(19, own + 4)

    def test_it_is_off_unless_set(self, monkeypatch):
        monkeypatch.delenv("OHS_BACKGROUND_NICE", raising=False)
        assert background_nice() == 0

    def test_the_setting_is_bounded_and_zero_turns_it_off(self, monkeypatch):
        for given, used in (("0", 0), ("25", 19), ("-3", 0), ("many", 0), ("10", 10)):
            monkeypatch.setenv("OHS_BACKGROUND_NICE", given)
            assert background_nice() == used

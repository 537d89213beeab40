"""The trail's background processes of the development stack yield the CPU to the services."""

import os
import subprocess
import sys

from common import devstack


class TestBackgroundPriority:
    def test_the_trails_background_processes_start_niced(self, monkeypatch):
        monkeypatch.setenv("OHS_BACKGROUND_NICE", "7")
        own = os.nice(0)
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(os.nice(0))"],
            preexec_fn=devstack._in_background, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert int(child.stdout) == min(19, own + 7)

    def test_the_setting_is_bounded_and_zero_turns_it_off(self, monkeypatch):
        for given, used in (("0", 0), ("25", 19), ("-3", 0), ("many", 10)):
            monkeypatch.setenv("OHS_BACKGROUND_NICE", given)
            assert devstack.background_nice() == used

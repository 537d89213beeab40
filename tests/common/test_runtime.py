"""Long-running processes collect garbage less often and leave start-up's objects alone."""

import gc

from common.runtime import YOUNG_THRESHOLD, settle_heap


class TestSettleHeap:
    def test_start_up_objects_are_frozen_and_the_young_generation_is_larger(self) -> None:
        before = gc.get_threshold()
        try:
            settle_heap()
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        finally:
            gc.set_threshold(*before)

"""Process settings for long-running workers and services."""

from __future__ import annotations

import contextlib
import gc
import os

# A young generation this large is collected about 70 times less often than CPython's default
# of 700 objects: a batch of 2,000 envelopes allocates about ten objects each (models, dicts,
# times, ids), and every young collection also ages what it finds into the older generations.
YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Freeze what start-up allocated (modules, settings, schemas: never garbage) out of the
    collector's walks, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)


def background_nice() -> int:
    """How far the trail's background processes (relays, consumer, projector, broker) yield
    the CPU to the services and PostgreSQL: OHS_BACKGROUND_NICE, 0 (not at all) unless set.

    Off by default: at nice 10 a full bench run measured a better read ratio (0.875) but a
    projection lag p99 of 912.1 ms at 200 reads/s (320.1 ms without), as the trail waited
    (both runs in bench/heap-steps.json)."""
    try:
        return max(0, min(19, int(os.environ.get("OHS_BACKGROUND_NICE", "0"))))
    except ValueError:
        return 0


def yield_cpu() -> None:
    """Lower this process's priority by background_nice(): called by the trail's workers once
    started, so their start-up is not what waits (the requests people wait for would then come
    first on a short host, and the trail catch up in their gaps: delayed, never lost)."""
    with contextlib.suppress(OSError):
        os.nice(background_nice())

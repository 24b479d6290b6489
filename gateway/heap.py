"""The garbage collector's settings for a long-running gateway process.

CPython's full (oldest-generation) collections walk every tracked object. A gateway holding
thousands of kept-alive TLS connections has a large heap, and with 2,000 meters connected
each full collection took 70-200 ms, during which no request is answered: that was the
p99 of the open-loop benchmark (docs/BENCHMARKS.md). Two standard remedies, applied once
the gateway is listening:

- freeze what start-up built (modules, the XSD, the application, the database engine): it
  lives as long as the process, and frozen objects are never walked again;
- collect the youngest generation every 50,000 allocations instead of every 700, so that
  a request's short-lived objects are mostly freed by reference counting before a
  collection promotes them towards the old generation, which then fills more slowly.

This is process-wide policy, so the commands that own a gateway process call it
(``gridmirror gateway``, the gateway benchmark), not :class:`gateway.launch.Gateway`,
which tests and the demo also start inside other processes.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def settle_heap() -> None:
    """Freeze what exists now and collect less often (see the module docstring)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)

"""A py20305 connector for the interop test: a site meter whose registers grow with time.

py20305's own demo connector reports power, voltage and so on but no energy registers;
this one adds WhFwd and WhRev (import and export), so that the readings py20305 mirrors
reach the outbox as register pairs. Imported by py20305 by class path.
"""

from __future__ import annotations

import time
from typing import Any

from py20305.connectors.base import ReadingOverride
from py20305.connectors.print_demo import PrintDemoConnector


class RegisterMeter(PrintDemoConnector):
    """Import grows 10 Wh and export 1 Wh per second since start."""

    def __init__(self) -> None:
        super().__init__()
        self._start = time.time()

    async def fetch_monitoring(self) -> dict[str, Any]:
        elapsed = int(time.time() - self._start)
        return {"W": 1500, "V": 230, "WhFwd": 100_000 + 10 * elapsed, "WhRev": 2_000 + elapsed}

    def reading_overrides(self) -> dict[str, ReadingOverride] | None:
        return None

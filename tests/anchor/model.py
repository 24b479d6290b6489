"""A Python model of the Oracle's accounting, written from docs/chain-abi.md.

It knows nothing of the program's code; the property tests run both on the same
operations and compare statuses, registers, settlements and mints.
"""

from __future__ import annotations

from dataclasses import dataclass

from anchor.abi import ReadingStatus, SettlementStatus


@dataclass
class MeterModel:
    """One meter's registers, snapshot and settlement watermarks."""

    rated_power_w: int
    import_wh: int = 0
    export_wh: int = 0
    last_ts: int = 0
    snapshot_epoch: int = -1
    snapshot_import_wh: int = 0
    snapshot_export_wh: int = 0
    settled_import_wh: int = 0
    settled_export_wh: int = 0
    last_cleared_epoch: int = -1
    minted_wh: int = 0
    withheld_wh: int = 0
    baseline_ts: int = 0

    def submit(
        self,
        ts: int,
        import_wh: int,
        export_wh: int,
        now: int,
        skew: int,
        interval: int,
        max_baseline_age_s: int,
    ) -> ReadingStatus:
        """Apply one reading; its status."""
        if ts <= 0:
            return ReadingStatus.BAD_TIMESTAMP
        if ts <= self.last_ts:
            return ReadingStatus.DUPLICATE
        if ts > now + skew:
            return ReadingStatus.FUTURE
        if self.last_ts == 0:
            if ts < now - max_baseline_age_s:
                return ReadingStatus.STALE_BASELINE
            self.settled_import_wh, self.settled_export_wh = import_wh, export_wh
            self.baseline_ts = ts
        else:
            if import_wh < self.import_wh or export_wh < self.export_wh:
                return ReadingStatus.REGISTER_DECREASED
            elapsed = ts - self.last_ts
            # ceil(P * t / 3600) + 1: one Wh of rounding per register
            limit = -(-self.rated_power_w * elapsed // 3600) + 1
            if (import_wh - self.import_wh) + (export_wh - self.export_wh) > limit:
                return ReadingStatus.EXCEEDS_RATED_POWER
            last_epoch = (self.last_ts - 1) // interval
            if (ts - 1) // interval > last_epoch:
                self.snapshot_epoch = last_epoch
                self.snapshot_import_wh, self.snapshot_export_wh = self.import_wh, self.export_wh
        self.import_wh, self.export_wh, self.last_ts = import_wh, export_wh, ts
        return ReadingStatus.ACCEPTED

    def rated_wh(self, since_baseline_s: int) -> int:
        """What the meter delivers at its rating in that time after its baseline."""
        return self.rated_power_w * max(since_baseline_s, 0) // 3600

    def clear(self, epoch: int, interval: int) -> tuple[SettlementStatus, int]:
        """Settle for epoch; (status, Wh minted)."""
        if self.last_ts == 0:
            return SettlementStatus.NO_READINGS, 0
        if epoch <= self.last_cleared_epoch:
            return SettlementStatus.ALREADY_CLEARED, 0
        if (self.last_ts - 1) // interval <= epoch:
            imp, exp = self.import_wh, self.export_wh
        elif 0 <= self.snapshot_epoch <= epoch:
            imp, exp = self.snapshot_import_wh, self.snapshot_export_wh
        else:
            return SettlementStatus.PENDING, 0
        net = max((exp - self.settled_export_wh) - (imp - self.settled_import_wh), 0)
        # the cap: the rated energy of the time this settlement covers
        start = (
            self.baseline_ts
            if self.last_cleared_epoch < 0
            else (self.last_cleared_epoch + 1) * interval
        )
        start = max(start, self.baseline_ts)
        end = (epoch + 1) * interval
        cap = (
            0
            if end <= start
            else (self.rated_wh(end - self.baseline_ts) - self.rated_wh(start - self.baseline_ts))
        )
        minted = min(net, cap)
        self.withheld_wh += net - minted
        self.settled_import_wh, self.settled_export_wh = imp, exp
        self.last_cleared_epoch = epoch
        self.minted_wh += minted
        return SettlementStatus.SETTLED, minted

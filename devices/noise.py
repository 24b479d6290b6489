"""Seeded random processes that are pure functions of time.

Weather and load noise must not depend on how a meter is stepped: a meter stepped every
15 s and one replayed in 15-minute steps must see the same clouds. So each process is a
Gaussian AR(1) (persistence ``exp(-cell/tau)`` per grid cell, unit variance) laid on a
fixed grid of the epoch and drawn block by block, each block from its own seeded
generator. Block boundaries are fixed by independent seeded anchor values, and every
block's path is conditioned (an exact Gaussian bridge) to end on the next block's anchor,
so the process is continuous and any block can be drawn without its predecessors.
Between grid points the value is interpolated linearly.
"""

from __future__ import annotations

import functools
import math
import random
from array import array

from devices.timebase import MS_PER_S


def _normal_pair(rng: random.Random) -> tuple[float, float]:
    """Two independent standard normals (Box-Muller on random(), stable across Pythons)."""
    radius = math.sqrt(-2.0 * math.log(1.0 - rng.random()))
    angle = 2.0 * math.pi * rng.random()
    return radius * math.cos(angle), radius * math.sin(angle)


@functools.cache
def _bridge_weights(phi: float, n: int) -> tuple[float, ...]:
    """How much of a block's miss at its end each point absorbs.

    Conditioning on the last value x_n: x_k += w_k (target - x_n), with
    w_k = Cov(x_k, x_n | x_0) / Var(x_n | x_0) = phi^(n-k) (1 - phi^2k) / (1 - phi^2n).
    """
    return tuple(
        phi ** (n - k) * (1.0 - phi ** (2 * k)) / (1.0 - phi ** (2 * n)) for k in range(n + 1)
    )


class Ar1Path:
    """A unit-variance Gaussian AR(1) process, a pure function of ``(key, time)``.

    Drawn blocks are kept (``cached_blocks`` of them, 8 bytes a grid point): a meter's
    own processes need two, a site shared by meters at different times needs more.
    """

    __slots__ = (
        "_a",
        "_blocks",
        "_bridge",
        "_cached",
        "_cell_ms",
        "_cells",
        "_hi",
        "_key",
        "_lo",
        "_phi",
        "_slope",
        "_span_ms",
    )

    def __init__(
        self, key: str, cell_s: int, tau_s: float, cells_per_block: int, cached_blocks: int = 2
    ) -> None:
        if cell_s <= 0 or tau_s <= 0 or cells_per_block < 2 or cached_blocks < 1:
            raise ValueError("cell, tau, block size and cache must be positive")
        self._key = key
        self._cell_ms = cell_s * MS_PER_S
        self._cells = cells_per_block
        self._span_ms = self._cell_ms * cells_per_block
        self._phi = phi = math.exp(-cell_s / tau_s)
        self._cached = cached_blocks
        self._blocks: dict[int, array[float]] = {}
        self._bridge = _bridge_weights(phi, cells_per_block)
        self._lo = self._hi = 0  # the grid cell of the last call, [lo, hi) ms
        self._a = self._slope = 0.0

    def at(self, t_ms: int) -> float:
        """The process value at ``t_ms`` (milliseconds since the epoch)."""
        # Most calls land in the same grid cell as the last one: keep its line.
        if self._lo <= t_ms < self._hi:
            return self._a + (t_ms - self._lo) * self._slope
        block, offset = divmod(t_ms, self._span_ms)
        values = self._blocks.get(block)
        if values is None:
            values = self._draw(block)
        i = offset // self._cell_ms
        self._lo = t_ms - offset + i * self._cell_ms
        self._hi = self._lo + self._cell_ms
        self._a = a = values[i]
        self._slope = (values[i + 1] - a) / self._cell_ms
        return a + (t_ms - self._lo) * self._slope

    def _anchor(self, block: int) -> float:
        return _normal_pair(random.Random(f"{self._key}/anchor/{block}"))[0]

    def _draw(self, block: int) -> array[float]:
        phi, n = self._phi, self._cells
        scale = math.sqrt(1.0 - phi * phi)
        rng = random.Random(f"{self._key}/block/{block}")
        x = self._anchor(block)
        path = [x]
        for _ in range((n + 1) // 2):
            z1, z2 = _normal_pair(rng)
            x = phi * x + scale * z1
            path.append(x)
            x = phi * x + scale * z2
            path.append(x)
        del path[n + 1 :]
        miss = self._anchor(block + 1) - path[n]
        values = array("d", [v + miss * w for v, w in zip(path, self._bridge, strict=True)])
        if len(self._blocks) >= self._cached:
            del self._blocks[next(iter(self._blocks))]  # the oldest drawn
        self._blocks[block] = values
        return values

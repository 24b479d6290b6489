"""Faults on demand, for reliability tests of the gateway and the chain.

Each :class:`~devices.settings.FaultSpec` names a kind of fault and the meters it
strikes: serials named explicitly, plus a fraction of the fleet chosen from the seed
(the same meters on every run, and exactly ``round(fraction x N)`` of them). A meter gets
a :class:`MeterFaults` with what applies to it:

- ``drop``: after the gateway has answered a POST, the connection is closed before the
  answer is read. The meter cannot know its readings arrived and sends them again: the
  gateway must store them once.
- ``duplicate``: a POST is sent a second time after it succeeded.
- ``skew``: the meter's clock is ``skew_s`` off; its readings are stamped with it (a
  positive skew stamps readings in the future, which the gateway or the chain must
  refuse).
- ``corrupt``: the XML of a POST is damaged on the way (cut short, a broken tag, or a
  value that is not a number); the gateway must answer 400 and store nothing of it.
- ``backwards``: the import register of the newest reading of a POST reads
  ``backwards_wh`` lower than it should (the physics is untouched: the next reading is
  right again); the chain must refuse a register that decreases.
- ``foreign_cert``: the meter presents a certificate from another PKI (certs.foreign),
  which the gateway must refuse in the TLS handshake.

Per-post faults strike with their ``probability``, drawn from a generator seeded per
meter, so a run is reproducible.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from devices.mirror import Sample
from devices.settings import FaultKind, FaultSpec

_VALUE = re.compile(rb"<value>(-?\d+)</value>")


_UNSEEDED = random.Random()


@dataclass
class MeterFaults:
    """The faults that apply to one meter."""

    drop: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    backwards: float = 0.0
    backwards_wh: int = 0
    skew_s: int = 0
    foreign_cert: bool = False
    rng: random.Random = field(default=_UNSEEDED, repr=False)
    """Seeded per meter by fleet_faults; meters without faults share one (never drawn)."""

    @property
    def any(self) -> bool:
        """True if some fault applies."""
        return bool(
            self.drop
            or self.duplicate
            or self.corrupt
            or self.backwards
            or self.skew_s
            or self.foreign_cert
        )

    def kinds(self) -> list[str]:
        """The kinds of fault that apply, for logs."""
        names = ("drop", "duplicate", "corrupt", "backwards")
        out = [name for name in names if getattr(self, name)]
        if self.skew_s:
            out.append(f"skew {self.skew_s:+d} s")
        if self.foreign_cert:
            out.append("foreign_cert")
        return out

    def strikes(self, probability: float) -> bool:
        """Draw whether a per-post fault of ``probability`` strikes this time."""
        return probability > 0.0 and self.rng.random() < probability

    def damage(self, body: bytes) -> bytes:
        """``body`` made invalid: cut short, a broken closing tag, or a non-numeric value."""
        how = self.rng.randrange(3)
        if how == 0 and len(body) > 16:
            return body[: self.rng.randrange(8, len(body) - 8)]
        if how == 1 and b"</" in body:
            closing = [m.start() for m in re.finditer(rb"</", body)]
            at = self.rng.choice(closing)
            return body[:at] + b"</x" + body[at + 2 :]
        match = _VALUE.search(body)
        if match is None:
            return body[: len(body) // 2]
        return body[: match.start(1)] + b"1O" + match.group(1) + body[match.end(1) :]

    def rewind(self, samples: list[Sample]) -> list[Sample]:
        """``samples`` with the newest import register ``backwards_wh`` too low."""
        last = samples[-1]
        lowered = last._replace(import_wh=max(0, last.import_wh - self.backwards_wh))
        return [*samples[:-1], lowered]


def _rank(seed: int, kind: str, serial: str) -> bytes:
    return hashlib.sha256(f"{seed}/fault/{kind}/{serial}".encode()).digest()


def chosen(spec: FaultSpec, serials: Sequence[str], seed: int) -> set[str]:
    """The meters ``spec`` strikes: those it names and ``round(fraction x N)`` others."""
    named = {s for s in spec.serials if s in set(serials)}
    count = round(spec.fraction * len(serials))
    ranked = sorted(serials, key=lambda s: _rank(seed, spec.kind, s))
    return named | set(ranked[:count])


def fleet_faults(
    specs: Sequence[FaultSpec], serials: Sequence[str], seed: int
) -> dict[str, MeterFaults]:
    """The faults of each meter that has any, by serial."""
    out: dict[str, MeterFaults] = {}
    for spec in specs:
        for serial in chosen(spec, serials, seed):
            faults = out.get(serial)
            if faults is None:
                faults = out[serial] = MeterFaults(rng=random.Random(f"{seed}/faults/{serial}"))
            _apply(faults, spec)
    return out


def _apply(faults: MeterFaults, spec: FaultSpec) -> None:
    kind: FaultKind = spec.kind
    if kind == "skew":
        faults.skew_s = spec.skew_s
    elif kind == "foreign_cert":
        faults.foreign_cert = True
    elif kind == "backwards":
        faults.backwards = spec.probability
        faults.backwards_wh = spec.backwards_wh
    else:
        setattr(faults, kind, spec.probability)


def parse_fault(text: str) -> FaultSpec:
    """A fault from the command line: ``KIND[:key=value,...]``.

    Keys: ``fraction``, ``serials`` (``+``-separated), ``probability``, ``skew_s``,
    ``backwards_wh``. Examples: ``drop:fraction=0.1,probability=0.2``,
    ``foreign_cert:serials=GM-ENG-01``, ``skew:fraction=0.05,skew_s=600``.
    A ValueError names what is wrong.
    """
    kind, _, rest = text.partition(":")
    values: dict[str, object] = {"kind": kind.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault option {part!r} is not key=value")
        key = key.strip()
        if key == "serials":
            values[key] = [s for s in value.split("+") if s]
        elif key in ("fraction", "probability"):
            values[key] = float(value)
        elif key in ("skew_s", "backwards_wh"):
            values[key] = int(value)
        else:
            raise ValueError(f"unknown fault option {key!r}")
    if "fraction" not in values and "serials" not in values:
        values["fraction"] = 1.0
    return FaultSpec.model_validate(values)

"""Fault injection: who is struck, and what each fault does to a POST."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from devices.faults import MeterFaults, chosen, fleet_faults, parse_fault
from devices.mirror import MeterMirror, Sample, Telemetry
from devices.settings import FaultSpec
from sep2 import Codec, MirrorMeterReadingList, Sep2ParseError

SERIALS = [f"GM-SYN-{i:05d}" for i in range(1, 201)]
LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"


def test_fraction_is_exact_and_reproducible() -> None:
    spec = FaultSpec(kind="drop", fraction=0.1)
    first = chosen(spec, SERIALS, seed=7)
    assert len(first) == 20
    assert chosen(spec, SERIALS, seed=7) == first
    assert chosen(spec, SERIALS, seed=8) != first
    # Another kind at the same fraction strikes other meters.
    assert chosen(FaultSpec(kind="corrupt", fraction=0.1), SERIALS, seed=7) != first


def test_named_meters_and_combined_faults() -> None:
    specs = [
        FaultSpec(kind="skew", serials=["GM-SYN-00003"], skew_s=-120),
        FaultSpec(kind="foreign_cert", serials=["GM-SYN-00003", "NOT-IN-FLEET"]),
        FaultSpec(kind="backwards", serials=["GM-SYN-00004"], probability=0.5, backwards_wh=7),
    ]
    faults = fleet_faults(specs, SERIALS, seed=1)
    assert set(faults) == {"GM-SYN-00003", "GM-SYN-00004"}
    three = faults["GM-SYN-00003"]
    assert three.skew_s == -120 and three.foreign_cert and not three.drop
    assert three.kinds() == ["skew -120 s", "foreign_cert"]
    four = faults["GM-SYN-00004"]
    assert (four.backwards, four.backwards_wh) == (0.5, 7)
    assert not MeterFaults().any and four.any


def test_probability() -> None:
    faults = MeterFaults(drop=0.25, rng=random.Random(5))
    hits = sum(faults.strikes(faults.drop) for _ in range(4000))
    assert 850 < hits < 1150
    assert not any(faults.strikes(0.0) for _ in range(100))


def test_damaged_xml_is_always_refused(codec: Codec) -> None:
    mirror = MeterMirror(LFDI, 32473, "GM-SYN-00001")
    tele = Telemetry(985, 1200, 2301, 5001, 950)
    body = codec.serialise(mirror.readings([Sample(1000, 5, 2, tele)], 15))
    faults = MeterFaults(corrupt=1.0, rng=random.Random(0))
    seen = set()
    for _ in range(60):
        damaged = faults.damage(body)
        assert damaged != body
        seen.add(len(damaged) > len(body))  # longer: a broken tag or value; shorter: cut
        with pytest.raises(Sep2ParseError):
            codec.parse(damaged, MirrorMeterReadingList)
    assert seen == {True, False}  # several kinds of damage happened


def test_rewind_lowers_only_the_newest_import_register() -> None:
    faults = MeterFaults(backwards=1.0, backwards_wh=10)
    batch = [Sample(10, 100, 5, None), Sample(25, 130, 5, None)]
    rewound = faults.rewind(batch)
    assert rewound[0] == batch[0]
    assert rewound[1] == Sample(25, 120, 5, None)
    assert rewound[1].import_wh < batch[1].import_wh
    assert faults.rewind([Sample(1, 3, 0, None)])[0].import_wh == 0


def test_parse_fault() -> None:
    assert parse_fault("drop") == FaultSpec(kind="drop", fraction=1.0)
    spec = parse_fault("skew:fraction=0.05,skew_s=600")
    assert (spec.kind, spec.fraction, spec.skew_s) == ("skew", 0.05, 600)
    spec = parse_fault("foreign_cert:serials=GM-ENG-01+GM-LIB-01")
    assert spec.serials == ["GM-ENG-01", "GM-LIB-01"] and spec.fraction == 0.0
    spec = parse_fault("backwards:probability=0.2,backwards_wh=5,fraction=0.5")
    assert (spec.probability, spec.backwards_wh, spec.fraction) == (0.2, 5, 0.5)
    for bad in ("melt", "drop:fraction", "drop:speed=3", "drop:fraction=2", "drop:fraction=x"):
        with pytest.raises((ValueError, ValidationError)):
            parse_fault(bad)

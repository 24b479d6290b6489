from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from certs import pemfile
from certs.pki import DEFAULT_HOST_NAMES, InitReport, Pki, PkiError, default_serials, init_pki
from sep2.identity import lfdi_from_der, sfdi_from_lfdi
from tests.certs.seeding import HW_TYPE, PKI_TIME


def snapshot(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under directory: bytes, mode and mtime."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def make(
    directory: Path,
    count: int,
    *,
    host_names: Sequence[str] = DEFAULT_HOST_NAMES,
    test_pki: bool = True,
    workers: int | None = None,
) -> InitReport:
    return init_pki(
        directory,
        default_serials(count),
        hw_type=HW_TYPE,
        host_names=host_names,
        test_pki=test_pki,
        workers=workers,
        at=PKI_TIME,
    )


def test_layout_and_modes(tmp_path: Path) -> None:
    report = make(tmp_path, 2)
    for name in (
        "serca.pem",
        "mca.pem",
        "mica.pem",
        "server/cert.pem",
        "server/chain.pem",
        "devices/index.json",
        "devices/GM-SYN-00001/cert.pem",
        "devices/GM-SYN-00002/chain.pem",
    ):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    keys = [
        "private/serca.key",
        "private/mca.key",
        "private/mica.key",
        "server/key.pem",
        "devices/GM-SYN-00001/key.pem",
        "devices/GM-SYN-00002/key.pem",
    ]
    for name in keys:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        pemfile.load_private_key(tmp_path / name)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    assert report.created_cas and report.issued_server
    assert not list(tmp_path.rglob("*.tmp"))


def test_keys_are_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        make(tmp_path, 1)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "devices/GM-SYN-00001/key.pem").stat().st_mode) == 0o600


def test_chain_files_hold_leaf_mica_mca(tmp_path: Path) -> None:
    pki = make(tmp_path, 1).pki
    mica, mca = pki.intermediates()
    for chain in (pki.server.chain, pki.device("GM-SYN-00001").chain):
        certs = pemfile.load_certificates(chain)
        assert certs[1:] == [mica, mca]
        assert certs[0] == pemfile.load_certificate(chain.with_name("cert.pem"))


def test_index_matches_the_certificates(tmp_path: Path) -> None:
    make(tmp_path, 3)
    doc = json.loads((tmp_path / "devices/index.json").read_text())
    assert doc["format"] == 1
    assert [e["serial"] for e in doc["devices"]] == default_serials(3)
    for entry in doc["devices"]:
        der = pemfile.load_certificate(tmp_path / entry["cert"]).public_bytes(Encoding.DER)
        assert entry["lfdi"] == lfdi_from_der(der)
        assert entry["sfdi"] == sfdi_from_lfdi(entry["lfdi"])
        assert entry["key"] == f"devices/{entry['serial']}/key.pem"


def test_init_again_changes_nothing(tmp_path: Path) -> None:
    make(tmp_path, 3)
    before = snapshot(tmp_path)
    report = make(tmp_path, 3)
    assert not report.changed
    assert snapshot(tmp_path) == before


def test_growing_adds_only_the_missing_and_shrinking_keeps_all(tmp_path: Path) -> None:
    make(tmp_path, 2)
    before = snapshot(tmp_path)
    report = make(tmp_path, 4)
    assert report.new_devices == ("GM-SYN-00003", "GM-SYN-00004")
    after = snapshot(tmp_path)
    for name, value in before.items():
        if name != "devices/index.json":
            assert after[name] == value, name
    assert len(make(tmp_path, 1).pki.devices) == 4


def test_open_and_look_up(tmp_path: Path) -> None:
    make(tmp_path, 2)
    pki = Pki.open(tmp_path)
    device = pki.device("GM-SYN-00002")
    assert pki.device_by_lfdi(device.lfdi.lower()) == device
    assert device.certificate() == pemfile.load_certificate(device.cert)
    assert pki.server.host_names == DEFAULT_HOST_NAMES
    assert pki.server.lfdi == lfdi_from_der(
        pemfile.load_certificate(pki.server.cert).public_bytes(Encoding.DER)
    )
    with pytest.raises(PkiError, match="no device 'GM-SYN-00009'"):
        pki.device("GM-SYN-00009")
    with pytest.raises(PkiError, match="no device with LFDI"):
        pki.device_by_lfdi("0" * 40)
    with pytest.raises(PkiError, match=r"serca\.pem is missing"):
        Pki.open(tmp_path / "nowhere")


def test_named_serials_and_bad_ones(tmp_path: Path) -> None:
    report = init_pki(tmp_path, ["GM-ENG-01", "GM-LIB-02", "GM-ENG-01"], hw_type=HW_TYPE)
    assert sorted(report.pki.devices) == ["GM-ENG-01", "GM-LIB-02"]
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 65, "sp ace"):
        with pytest.raises(PkiError, match="bad meter serial"):
            init_pki(tmp_path, [bad], hw_type=HW_TYPE)


def test_more_host_names_reissue_only_the_server(tmp_path: Path) -> None:
    first = make(tmp_path, 1).pki
    device_before = first.device("GM-SYN-00001").cert.read_bytes()
    same = make(tmp_path, 1, host_names=["LOCALHOST.", "127.0.0.1"])
    assert not same.issued_server
    more = make(tmp_path, 1, host_names=[*DEFAULT_HOST_NAMES, "gateway.local", "10.0.0.7"])
    assert more.issued_server
    assert more.pki.server.lfdi != first.server.lfdi
    assert "gateway.local" in more.pki.server.host_names
    assert first.device("GM-SYN-00001").cert.read_bytes() == device_before


def test_a_half_written_device_is_issued_again(tmp_path: Path) -> None:
    make(tmp_path, 2)
    (tmp_path / "devices/GM-SYN-00002/chain.pem").unlink()  # as if killed mid-write
    kept = (tmp_path / "devices/GM-SYN-00001/cert.pem").read_bytes()
    report = make(tmp_path, 2)
    assert report.new_devices == ("GM-SYN-00002",)
    assert (tmp_path / "devices/GM-SYN-00001/cert.pem").read_bytes() == kept
    assert report.pki.device("GM-SYN-00002").chain.is_file()


def test_an_unindexed_device_is_adopted(tmp_path: Path) -> None:
    lfdi = make(tmp_path, 2).pki.device("GM-SYN-00002").lfdi
    (tmp_path / "devices/index.json").unlink()
    report = make(tmp_path, 2)
    assert report.new_devices == ()
    assert report.pki.device("GM-SYN-00002").lfdi == lfdi


def test_a_foreign_device_directory_is_refused(tmp_path: Path, foreign: Pki) -> None:
    make(tmp_path, 1)
    shutil.copytree(foreign.device("GM-FOREIGN-01").cert.parent, tmp_path / "devices/GM-X")
    with pytest.raises(PkiError, match="was not issued by this PKI's MICA"):
        init_pki(tmp_path, ["GM-X"], hw_type=HW_TYPE)


def test_lost_cas_with_devices_are_refused(tmp_path: Path) -> None:
    make(tmp_path, 1)
    (tmp_path / "mca.pem").unlink()
    with pytest.raises(PkiError, match=r"incomplete: mca\.pem missing"):
        make(tmp_path, 1)
    for name in ("serca.pem", "mica.pem"):
        (tmp_path / name).unlink()
    with pytest.raises(PkiError, match="no CA"):
        make(tmp_path, 1)


def test_a_partial_ca_set_without_leaves_is_made_again(tmp_path: Path) -> None:
    make(tmp_path, 0)
    shutil.rmtree(tmp_path / "server")
    (tmp_path / "mica.pem").unlink()  # as if killed while writing the CAs
    report = make(tmp_path, 1)
    assert report.created_cas
    assert report.pki.device("GM-SYN-00001").chain.is_file()


def test_a_missing_mica_key_is_named(tmp_path: Path) -> None:
    make(tmp_path, 1)
    (tmp_path / "private/mica.key").unlink()
    assert not make(tmp_path, 1).changed  # nothing to issue
    with pytest.raises(PkiError, match=r"the MICA key .* is missing"):
        make(tmp_path, 2)


def test_test_and_production_pkis_do_not_mix(tmp_path: Path) -> None:
    make(tmp_path, 1)
    with pytest.raises(PkiError, match="is a test PKI"):
        make(tmp_path, 1, test_pki=False)
    production = make(tmp_path / "prod", 1, test_pki=False).pki
    from certs.profile import Role, check_certificate

    cert = production.device("GM-SYN-00001").certificate()
    assert check_certificate(cert, Role.DEVICE, test_policy=False) == []


def test_a_corrupt_index_is_a_clear_error(tmp_path: Path) -> None:
    make(tmp_path, 1)
    index = tmp_path / "devices/index.json"
    good = json.loads(index.read_text())
    index.write_text('{"format": 1, "devices": [{"serial": 1}]}')
    with pytest.raises(PkiError, match="is not a device index"):
        Pki.open(tmp_path)
    good["devices"][0]["key"] = "../../elsewhere/key.pem"
    index.write_text(json.dumps(good))
    with pytest.raises(PkiError, match="not where the layout puts it"):
        Pki.open(tmp_path)


def test_bulk_issue_across_processes(tmp_path: Path) -> None:
    # In a fresh process: forking needs a single-threaded parent, which a long test
    # session may no longer be (bulk falls back to issuing in process then).
    script = (
        "import sys; from pathlib import Path; from certs import bulk; from certs.pki import *\n"
        "assert bulk._fork_context() is not None\n"
        f"init_pki(Path(sys.argv[1]), default_serials(40), hw_type={HW_TYPE!r}, workers=2)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=120)
    pki = Pki.open(tmp_path)
    assert sorted(pki.devices) == default_serials(40)
    lfdis = set()
    for device in pki.devices.values():
        cert = device.certificate()
        cert.verify_directly_issued_by(pemfile.load_certificate(pki.mica))
        assert device.lfdi == lfdi_from_der(cert.public_bytes(Encoding.DER))
        assert pemfile.load_private_key(device.key).public_key() == cert.public_key()
        lfdis.add(device.lfdi)
    assert len(lfdis) == 40


def test_a_server_cut_short_mid_reissue_is_issued_again(tmp_path: Path) -> None:
    make(tmp_path, 1)
    other_key = tmp_path / "devices/GM-SYN-00001/key.pem"
    shutil.copy(other_key, tmp_path / "server/key.pem")  # key written, cert not yet
    report = make(tmp_path, 1)
    assert report.issued_server and report.new_devices == ()
    server = report.pki.server
    key = pemfile.load_private_key(server.key)
    assert key.public_key() == pemfile.load_certificate(server.cert).public_key()


def test_an_unindexed_device_with_a_stray_key_is_issued_again(tmp_path: Path) -> None:
    make(tmp_path, 2)
    (tmp_path / "devices/index.json").unlink()
    shutil.copy(tmp_path / "server/key.pem", tmp_path / "devices/GM-SYN-00002/key.pem")
    report = make(tmp_path, 2)
    assert report.new_devices == ("GM-SYN-00002",)


@pytest.mark.parametrize("name", ["bad name", "-x.example", "a..b", "ü.example", ""])
def test_bad_host_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PkiError, match="bad host name"):
        make(tmp_path, 0, host_names=["localhost", name])


def test_good_host_names_are_accepted(tmp_path: Path) -> None:
    names = ["gw.example.", "*.campus.local", "fe80::1", "10.1.2.3", "_gw.local"]
    assert set(make(tmp_path, 0, host_names=names).pki.server.host_names) == {
        "gw.example",  # the root dot is dropped (RFC 5280 preferred name syntax)
        "*.campus.local",
        "fe80::1",
        "10.1.2.3",
        "_gw.local",
    }


def test_a_bad_hw_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="hwType must be a dotted OID"):
        init_pki(tmp_path, ["A"], hw_type="meter")

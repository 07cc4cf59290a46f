# SPDX-License-Identifier: MIT
"""The store through Python and the `mlops store` commands."""
import glob
import json
import os
import subprocess

import pytest

import mlops

CLI = os.environ.get("MLOPS_CLI")


def _cli(store, *args):
    return subprocess.run([CLI, "--store", str(store), *args], capture_output=True, text=True,
                          timeout=60)


def test_file_store_persists(tmp_path):
    path = str(tmp_path / "data")
    with mlops.Store(path) as s:
        assert s.backend == "file"
        s.put("k\x00bin", b"\x00\xff value")
        s.put("gone", b"x")
        s.delete("gone")
        blob = s.put_blob(b"artifact" * 1000)
    with mlops.Store(path) as s:
        assert s.get("k\x00bin") == b"\x00\xff value"
        with pytest.raises(mlops.NotFound):
            s.get("gone")
        assert s.get_blob(blob) == b"artifact" * 1000
        assert s.check() == ""
        s.compact()
        assert s.get("k\x00bin") == b"\x00\xff value"


def test_sync_modes_and_readonly(tmp_path):
    path = str(tmp_path / "data")
    for mode in ("full", "normal", "off"):
        with mlops.Store(path, sync=mode) as s:
            s.put(mode, mode)
            s.flush()
    with mlops.Store(path, readonly=True) as ro:
        assert ro.get("normal") == b"normal"
        with pytest.raises(mlops.InvalidArgument):
            ro.put("x", "y")
    with pytest.raises(mlops.NotFound):
        mlops.Store(str(tmp_path / "missing"), create=False)
    assert not (tmp_path / "missing").exists()


def test_bad_inputs_raise(tmp_path):
    with mlops.Store(str(tmp_path / "data")) as s:
        with pytest.raises(mlops.InvalidArgument):
            s.put("", b"x")  # N12
        with pytest.raises(mlops.TooBig):
            s.put("k" * 4097, b"x")
        with pytest.raises(mlops.InvalidArgument):
            s.get_blob("ABC")  # N14
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(mlops.InvalidArgument):
        mlops.Store(str(tmp_path / "file"))


def test_newer_format_refused(tmp_path):
    path = tmp_path / "data"
    with mlops.Store(str(path)) as s:
        s.put("k", "v")
    sb = bytearray((path / "superblock").read_bytes())
    sb[8] = 9  # read version 9, with a valid checksum
    sb[56:64] = _xxh(bytes(sb[:56]))
    (path / "superblock").write_bytes(bytes(sb))
    before = (path / "superblock").read_bytes()
    with pytest.raises(mlops.VersionMismatch) as e:
        mlops.Store(str(path))
    assert "version 9" in str(e.value)
    assert (path / "superblock").read_bytes() == before  # X1


def _xxh(data):
    import ctypes
    from mlops import _lib
    f = _lib.fn("mlops_hash64", ctypes.c_uint64, ctypes.c_char_p, ctypes.c_size_t,
                ctypes.c_uint64)
    return f(data, len(data), 0).to_bytes(8, "little")


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_info_check_compact(tmp_path):
    path = tmp_path / "data"
    with mlops.Store(str(path)) as s:
        for i in range(300):
            s.put("hot", f"value {i}")
        s.put("cold", "x")
        s.put_blob(b"blob bytes")
    r = _cli(path, "--json", "store", "info")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["backend"] == "file" and info["format_version"] == 1
    assert info["keys"] == 2 and info["records"] == 301 and info["blobs"] == 1
    r = _cli(path, "store", "check")
    assert r.returncode == 0 and r.stdout.startswith("ok:"), r.stdout + r.stderr
    r = _cli(path, "--json", "store", "compact")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["records_before"] == 301 and c["records_after"] == 1 and c["keys"] == 2
    assert c["bytes_after"] < c["bytes_before"]
    r = _cli(path, "store", "info")
    assert "records:        1" in r.stdout
    # a store that does not exist is not created by info or check
    r = _cli(tmp_path / "nothing", "store", "info")
    assert r.returncode == 1 and not (tmp_path / "nothing").exists()
    r = _cli(path, "store", "bogus")
    assert r.returncode == 2


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_check_reports_corruption(tmp_path):
    path = tmp_path / "data"
    with mlops.Store(str(path)) as s:
        for i in range(20):
            s.put(f"k{i:03d}", "v" * 50)
        blob = s.put_blob(bytes(range(256)) * 64)
    # damage one blob: check finds it and names it
    bp = path / "blobs" / blob[:2] / blob
    data = bytearray(bp.read_bytes())
    data[len(data) // 2] ^= 0x40
    bp.write_bytes(bytes(data))
    r = _cli(path, "store", "check")
    assert r.returncode == 1
    assert blob in r.stdout
    # damage a record in the middle of the log: F5, reported with the offset
    log = glob.glob(str(path / "log-*"))[0]
    raw = bytearray(open(log, "rb").read())
    raw[300] ^= 0x01
    open(log, "wb").write(bytes(raw))
    before = open(log, "rb").read()
    r = _cli(path, "--json", "store", "check")
    assert r.returncode == 1
    rep = json.loads(r.stdout)
    assert rep["ok"] is False and "offset" in rep["problems"][0]
    assert open(log, "rb").read() == before  # check never repairs
    with pytest.raises(mlops.CorruptData):
        mlops.Store(str(path))

# SPDX-License-Identifier: MIT
import pytest

import mlops


def test_version():
    assert mlops.version() == "1.0.0"
    assert mlops.version_number() == 10000


def test_store_roundtrip_mem():
    with mlops.Store("mem:") as s:
        assert s.backend == "mem"
        s.put("k", b"v\x00w")
        assert s.get("k") == b"v\x00w"
        s.delete("k")
        with pytest.raises(mlops.NotFound):
            s.get("k")
        blob = s.put_blob(b"hello")
        assert len(blob) == 32
        assert s.get_blob(blob) == b"hello"


def test_errors_carry_messages():
    with mlops.Store("mem:") as s:
        with pytest.raises(mlops.InvalidArgument) as e:
            s.put("", b"x")
        assert "empty" in str(e.value)
        assert e.value.status == -1
        assert e.value.status_name == "MLOPS_E_INVALID"
        with pytest.raises(mlops.InvalidArgument):
            s.get_blob("not-a-hash")


def test_unsupported_scheme():
    with pytest.raises(mlops.Unsupported):
        mlops.Store("s3://bucket/x")


def test_closed_store():
    s = mlops.Store("mem:")
    s.close()
    s.close()
    with pytest.raises(mlops.Closed):
        s.get("k")

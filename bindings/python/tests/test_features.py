# SPDX-License-Identifier: MIT
"""The feature store from Python: views, ingest, point-in-time joins (checked
against a plain reference, with hypothesis), the online store, functions, and
the `mlops features` command."""
import datetime as dt
import json
import os
import subprocess

import numpy as np
import pytest

import mlops

hyp = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

S = 1_000_000


def make_view(store, name="v", ttl=None, created="cr"):
    return store.feature_view(name, entity="id", timestamp="ts", created=created, ttl=ttl,
                              features={"a": "float64", "n": "int64", "s": "string"})


def test_view_versions():
    with mlops.Store("mem:") as s:
        v1 = make_view(s)
        assert v1.version == 1 and len(v1.hash) == 16
        assert make_view(s).version == 1
        v2 = make_view(s, ttl=60)
        assert v2.version == 2 and v2.hash != v1.hash
        old = s.get_feature_view("v@v1")
        assert old.version == 1 and old.hash == v1.hash
        d = v2.describe()
        assert d["ttl_seconds"] == 60 and [f["name"] for f in d["features"]] == ["a", "n", "s"]
        assert s.list_feature_views() == ["v"]
        with pytest.raises(mlops.NotFound):
            s.get_feature_view("nope")
        with pytest.raises(mlops.InvalidArgument):
            s.feature_view("bad/name", entity="id", features={"a": "float64"})
        with pytest.raises(mlops.InvalidArgument):
            s.feature_view("w", entity="id", features={"a": "complex"})


def test_ingest_and_join_lists():
    with mlops.Store("mem:") as s:
        v = make_view(s, ttl=100)
        n = v.ingest({"id": [1, 1, 2], "ts": [100, 200, 150], "cr": [100, 200, 150],
                      "a": [1.0, 2.0, None], "n": [1, 2, 3], "s": ["x", None, "z"]})
        assert n == 3
        out = s.get_historical_features(
            [{"id": 1, "event_timestamp": 150, "label": 0},
             {"id": 1, "event_timestamp": 300, "label": 1},
             {"id": 2, "event_timestamp": 250, "label": 1},   # exactly ttl after 150
             {"id": 2, "event_timestamp": 251, "label": 0},   # one past the TTL edge
             {"id": 9, "event_timestamp": 250, "label": 0}],
            ["v:a", "v:n", "v:s"])
        assert list(out) == ["id", "event_timestamp", "label", "a", "n", "s"]
        assert out["a"][0] == 1.0 and out["a"][1] == 2.0
        assert np.isnan(out["a"][2])  # the row is matched but a is null
        assert out["n"][2] == 3 and np.isnan(out["n"][3]) and np.isnan(out["n"][4])
        assert list(out["s"]) == ["x", None, "z", None, None]
        # event_timestamp was given in seconds and comes back in microseconds
        assert out["event_timestamp"][0] == 150 * S


def test_numpy_roundtrip_and_datetimes():
    with mlops.Store("mem:") as s:
        s.feature_view("emb", entity="user", key_types="string", timestamp="ts",
                       features={"e": "float32[3]", "ok": "bool"})
        v = s.get_feature_view("emb")
        t0 = np.datetime64("2024-01-01T00:00:00", "us")
        v.ingest({"user": np.array(["a", "b"], dtype=object),
                  "ts": np.array([t0, t0 + np.timedelta64(1, "h")]),
                  "e": np.arange(6, dtype=np.float32).reshape(2, 3),
                  "ok": np.array([True, False])})
        ents = {"user": ["b", "a", "c"],
                "event_timestamp": [dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc),
                                    "2024-01-01T00:00:00Z", dt.datetime(2024, 1, 2)]}
        out = s.get_historical_features(ents, ["emb:e", "emb:ok"])
        assert out["e"].shape == (3, 3) and out["e"].dtype == np.float32
        assert list(out["e"][0]) == [3, 4, 5] and list(out["e"][1]) == [0, 1, 2]
        assert np.isnan(out["e"][2]).all()
        assert list(out["ok"]) == [False, True, None]


def naive(frows, k, t, ttl, know):
    best = None
    for i, (fk, fe, fc, _) in enumerate(frows):
        if fk != k or fe > t or (ttl and fe < t - ttl) or (know and fc > t):
            continue
        if best is None or (fe, fc) >= (frows[best][1], frows[best][2]):
            best = i
    return None if best is None else frows[best][3]


@settings(max_examples=60, deadline=None)
@given(frows=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30), st.integers(0, 3)),
                      max_size=40),
       erows=st.lists(st.tuples(st.integers(0, 5), st.integers(-2, 35)), min_size=1, max_size=30),
       ttl=st.sampled_from([0, 5, 10]), know=st.booleans())
def test_join_matches_reference(frows, erows, ttl, know):
    rows = [(k, e, e + c, float(i)) for i, (k, e, c) in enumerate(frows)]
    with mlops.Store("mem:") as s:
        v = make_view(s, ttl=ttl or None)
        if rows:
            v.ingest({"id": [r[0] for r in rows], "ts": [r[1] for r in rows],
                      "cr": [r[2] for r in rows], "a": [r[3] for r in rows],
                      "n": [0] * len(rows), "s": ["q"] * len(rows)})
        out = s.get_historical_features(
            {"id": [e[0] for e in erows], "event_timestamp": [e[1] for e in erows]},
            ["v:a"], as_of_knowledge=know, timestamps=True)
        for i, (k, t) in enumerate(erows):
            want = naive(rows, k, t, ttl, know)
            got = out["a"][i]
            assert (want is None and np.isnan(got)) or got == want
            # no value from after the row's timestamp (leakage)
            if not np.isnan(got):
                assert out["v__event_timestamp"][i] <= t * S
                if know:
                    assert out["v__created_timestamp"][i] <= t * S


def test_csv_paths(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text('id,ts,cr,a,n,s\n1,100,100,1.5,1,"a, b"\n1,2023-11-14T22:13:20Z,1700000000,2,2,x\n')
    e = tmp_path / "e.csv"
    e.write_text("id,event_timestamp,label\n1,150,yes\n1,1700000000.5,no\n")
    with mlops.Store("mem:") as s:
        v = make_view(s)
        assert v.ingest(str(f)) == 2
        o = tmp_path / "o.csv"
        assert s.get_historical_features(str(e), ["v:a", "v:s"], output=o) == o
        assert o.read_text().splitlines() == ["id,event_timestamp,label,a,s",
                                              '1,150,yes,1.5,"a, b"', "1,1700000000.5,no,2,x"]
        bad = tmp_path / "bad.csv"
        bad.write_text("id,ts,cr,a,n,s\n1,100,100,oops,1,x\n")
        with pytest.raises(mlops.InvalidArgument, match="line 2, column 4"):
            v.ingest(str(bad))
        assert v.describe()["offline_rows"] == 2  # nothing half-ingested


def test_bad_inputs():
    with mlops.Store("mem:") as s:
        v = make_view(s)
        with pytest.raises(mlops.InvalidArgument, match="no column 'cr'"):
            v.ingest({"id": [1], "ts": [1], "a": [1.0], "n": [1], "s": ["x"]})
        with pytest.raises(mlops.InvalidArgument, match="row 0, column 4 .'a'.: 'object' is not a float64"):
            v.ingest({"id": [1], "ts": [1], "cr": [1], "a": [object.__name__], "n": [1],
                      "s": ["x"]})
        with pytest.raises(mlops.NotFound):
            s.get_historical_features({"id": [1], "event_timestamp": [1]}, ["v:zz"])
        with pytest.raises(mlops.InvalidArgument):
            s.get_historical_features({"id": [1], "event_timestamp": [1]}, ["no-colon"])
        with pytest.raises(mlops.InvalidArgument, match="not a timestamp"):
            s.get_historical_features({"id": [1], "event_timestamp": ["noon"]}, ["v:a"])


def test_online_store():
    now = 2_000_000_000
    with mlops.Store("mem:") as s, mlops.Store("mem:") as mem:
        v = make_view(s, ttl=10 * 365 * 86400)
        v.ingest({"id": [1, 1, 2], "ts": [now - 100, now - 50, now - 10],
                  "cr": [now - 100, now - 50, now - 10], "a": [1.0, 2.0, 3.0], "n": [1, 2, 3],
                  "s": ["p", "q", "r"]})
        on = s.online(mem)
        assert on.materialize("v", now - 1000, now) == 2
        r = on.get_online_features(["v:a", "v:s"], [{"id": 1}, {"id": 2}, {"id": 3}])
        assert r.to_dict() == {"id": [1, 2, 3], "a": [2.0, 3.0, None], "s": ["q", "r", None]}
        assert r.statuses["v:a"] == ["PRESENT", "PRESENT", "NOT_FOUND"]
        assert r.event_timestamps["v:a"][0] == (now - 50) * S
        # a push of an older row is skipped; a newer one wins
        assert on.push("v", {"id": [1, 2], "ts": [now - 60, now], "a": [9.0, 8.0]}) == 1
        r = on.get_online_features(["v:a", "v:n"], {"id": [1, 2]})
        assert r.values["v:a"] == [2.0, 8.0]
        assert r.statuses["v:n"] == ["PRESENT", "NULL_VALUE"]
        on.close()
        # a new handle serves the same values
        on2 = s.online(mem)
        assert on2.get_online_features(["v:a"], {"id": [2]}).values["v:a"] == [8.0]


def test_ttl_enforced_on_online_reads():
    with mlops.Store("mem:") as s:
        v = s.feature_view("old", entity="id", timestamp="ts", ttl=60, features={"x": "int64"})
        v.ingest({"id": [1], "ts": [1_000_000_000], "x": [5]})
        on = s.online("mem:")
        on.materialize("old", 0, 2_000_000_000)
        r = on.get_online_features(["old:x"], [{"id": 1}])
        assert r.statuses["old:x"] == ["OUTSIDE_MAX_AGE"] and r.values["old:x"] == [None]
        with pytest.raises(mlops.InvalidArgument, match="never materialized"):
            s.feature_view("nottl", entity="id", timestamp="ts", features={"x": "int64"})
            on.materialize_incremental("nottl", 5)


def test_transformations_same_in_join_and_online():
    with mlops.Store("mem:") as s:
        s.feature_view("t", entity="id", timestamp="ts", features={"x": "float64", "y": "int64"},
                       on_demand={"lx": ("log1p", "x"), "r": ("ratio", ["x", "y"]),
                                  "b": ("bucketize", "x", [0, 10]),
                                  "z": ("standardize", "x", [5, 2]),
                                  "h": (lambda x, y: None if y == 0 else x * 10 + y, ["x", "y"])})
        s.get_feature_view("t").ingest({"id": [1, 2], "ts": [1, 1], "x": [9.0, 0.5],
                                        "y": [3, 0]})
        refs = ["t:lx", "t:r", "t:b", "t:z", "t:h"]
        j = s.get_historical_features({"id": [1, 2], "event_timestamp": [5, 5]}, refs)
        on = s.online("mem:")
        on.materialize("t", 0, 10)
        o = on.get_online_features(refs, {"id": [1, 2]})
        for r in refs:
            name = r.split(":")[1]
            for i in range(2):
                jv, ov = j[name][i], o.values[r][i]
                assert (ov is None and np.isnan(jv)) or ov == jv, (r, i, jv, ov)
        assert j["h"][0] == 93 and np.isnan(j["h"][1])
        assert j["b"][0] == 1 and j["r"][0] == 3

        def boom(x, y):
            raise RuntimeError("bad feature code")
        s.register_feature_function("h", boom)
        with pytest.raises(mlops.CallbackError) as e:
            s.get_historical_features({"id": [1], "event_timestamp": [5]}, ["t:h"])
        assert isinstance(e.value.__cause__, RuntimeError)
        with pytest.raises(mlops.CallbackError):
            on.get_online_features(["t:h"], {"id": [1]})


def test_latest_features():
    with mlops.Store("mem:") as s:
        v = make_view(s)
        v.ingest({"id": [1, 1, 2], "ts": [10, 20, 15], "cr": [10, 20, 15], "a": [1.0, 2.0, 3.0],
                  "n": [1, 2, 3], "s": ["a", "b", "c"]})
        out = s.latest_features(["v:a"], 12, 30)
        assert list(out["id"]) == [1, 2] and list(out["a"]) == [2.0, 3.0]


CLI = os.environ.get("MLOPS_CLI")


def cli(*args, cwd=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set")
def test_cli_features(tmp_path):
    store = str(tmp_path / "st")
    probe = cli("--store", store, "features", "list")
    if probe.returncode != 0 and "not built" in probe.stderr:
        pytest.skip("the file backend is not in this build")
    (tmp_path / "f.csv").write_text("id,ts,cr,a\n1,100,100,1.5\n1,200,250,2.5\n2,150,150,3\n")
    (tmp_path / "e.csv").write_text("id,ts,label\n1,150,a\n1,300,b\n3,5,c\n")
    r = cli("--store", store, "features", "apply", "v", "--entity", "id", "--timestamp", "ts",
            "--created", "cr", "--ttl", "1000", "--feature", "a:float64")
    assert r.returncode == 0, r.stderr
    assert "version 1" in r.stdout
    r = cli("--store", store, "features", "ingest", "v", str(tmp_path / "f.csv"))
    assert r.returncode == 0 and "ingested 3 rows" in r.stdout, r.stderr
    r = cli("--store", store, "features", "join", str(tmp_path / "e.csv"), "v:a")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["id,ts,label,a", "1,150,a,1.5", "1,300,b,2.5", "3,5,c,"]
    out = tmp_path / "o.csv"
    r = cli("--store", store, "features", "join", str(tmp_path / "e.csv"), "v:a", "-o", str(out),
            "--full-names")
    assert r.returncode == 0 and out.read_text().splitlines()[0] == "id,ts,label,v__a"
    r = cli("--store", store, "features", "materialize", "v", "--end", "300")
    assert r.returncode == 0 and "2 entities" in r.stdout, r.stderr
    assert os.path.isdir(store + "-online")
    r = cli("--store", store, "--json", "features", "get", "v:a", "--key", "1", "--key", "7")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["results"]
    assert res[0]["features"]["v:a"]["status"] in ("PRESENT", "OUTSIDE_MAX_AGE")
    assert res[1]["features"]["v:a"]["status"] == "NOT_FOUND"
    r = cli("--store", store, "features", "versions", "v")
    assert r.returncode == 0 and r.stdout.startswith("v1\t")
    r = cli("--store", store, "--json", "features", "show", "v")
    assert json.loads(r.stdout)["offline_rows"] == 3
    # bad inputs: exit 1 with the line and column; exit 2 for usage
    (tmp_path / "bad.csv").write_text("id,ts,cr,a\n1,100,100,x\n")
    r = cli("--store", store, "features", "ingest", "v", str(tmp_path / "bad.csv"))
    assert r.returncode == 1 and "line 2, column 4" in r.stderr
    r = cli("--store", store, "features", "join", str(tmp_path / "e.csv"), "v:nope")
    assert r.returncode == 1 and "nope" in r.stderr
    r = cli("--store", store, "features", "apply", "v")
    assert r.returncode == 2

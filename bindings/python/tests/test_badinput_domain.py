# SPDX-License-Identifier: MIT
"""The domain bad-input catalogue (tests/hardening/test_badinput_domain.c)
through the Python binding: each hostile name, value or option must raise
the exception its status maps to, and leave the store unchanged (I7) -- on
a file store, the same bytes in every file. Accepted hostile values (NaN
metrics, unsorted timestamps) must read back faithfully.
"""
import hashlib
import math
import os

import pytest

import mlops
from mlops import ab


def tree_digest(root):
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            h.update(os.path.relpath(p, root).encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


@pytest.fixture(params=["mem", "file"])
def seeded(request, tmp_path):
    uri = "mem:" if request.param == "mem" else str(tmp_path / "store")
    store = mlops.Store(uri)
    exp = store.create_experiment("exp")
    run = store.start_run(experiment=exp, name="r")
    run.log_param("lr", "0.1")
    run.log_metric("loss", 0.5)
    reg = store.registry()
    blob = store.put_blob(b"model bytes")
    reg.register("m", blob=blob)
    view = store.feature_view("fv", "id", timestamp="ts", features={"a": "float64"})
    view.ingest({"id": [1, 2], "ts": [10, 20], "a": [1.5, 2.5]})
    rollout = store.rollout("ro", champion=1, challenger=2)
    store.flush()
    ctx = {"store": store, "exp": exp, "run": run, "reg": reg, "view": view,
           "rollout": rollout, "dir": None if uri == "mem:" else uri}
    yield ctx
    rollout.close()
    run.close()
    store.close()


def long(n):
    return "a" * n


# (id, what, callable(ctx), expected exception)
REFUSED = [
    ("N1", "experiment name empty", lambda c: c["store"].create_experiment(""),
     mlops.InvalidArgument),
    ("V1", "experiment name taken", lambda c: c["store"].create_experiment("exp"),
     mlops.AlreadyExists),
    ("N7", "experiment name with an escape sequence",
     lambda c: c["store"].create_experiment("a\x1b[31mred"), mlops.InvalidArgument),
    ("N7", "param key with a control character", lambda c: c["run"].log_param("a\x01", "1"),
     mlops.InvalidArgument),
    ("N12", "param key of 251 bytes", lambda c: c["run"].log_param(long(251), "1"),
     mlops.InvalidArgument),
    ("N2", "param key with '..' segments", lambda c: c["run"].log_param("a/../../b", "1"),
     mlops.InvalidArgument),
    ("N3", "param key that is an absolute path", lambda c: c["run"].log_param("/etc/passwd", "1"),
     mlops.InvalidArgument),
    ("V2", "param changed", lambda c: c["run"].log_param("lr", "0.2"), mlops.Conflict),
    ("N1", "metric key empty", lambda c: c["run"].log_metric("", 1.0), mlops.InvalidArgument),
    ("N12", "tag value of 5001 bytes", lambda c: c["run"].set_tag("t", "v" * 5001),
     mlops.InvalidArgument),
    ("N14", "unknown run id", lambda c: c["store"].open_run("0123456789abcdef0123456789abcdef"),
     mlops.NotFound),
    ("N14", "run id with path segments", lambda c: c["store"].open_run("../../etc"),
     mlops.InvalidArgument),
    ("N1", "model name empty", lambda c: c["reg"].create_model(""), mlops.InvalidArgument),
    ("V1", "model name taken", lambda c: c["reg"].create_model("m"), mlops.AlreadyExists),
    ("N12", "model name of 1000 bytes", lambda c: c["reg"].create_model(long(1000)),
     mlops.InvalidArgument),
    ("N7", "model name with a newline", lambda c: c["reg"].create_model("m\nx"),
     mlops.InvalidArgument),
    ("N14", "promote an unknown version", lambda c: c["reg"].promote("m", 99, "Production"),
     mlops.NotFound),
    ("N9", "promote to an unknown stage", lambda c: c["reg"].promote("m", 1, "Prod; DROP"),
     mlops.InvalidArgument),
    ("N9", "alias 'latest' (reserved)", lambda c: c["reg"].alias("m", "latest", 1),
     mlops.InvalidArgument),
    ("N9", "alias 'v3' (reserved)", lambda c: c["reg"].alias("m", "v3", 1),
     mlops.InvalidArgument),
    ("N14", "alias to an unknown version", lambda c: c["reg"].alias("m", "champion", 42),
     mlops.NotFound),
    ("N1", "feature view name empty",
     lambda c: c["store"].feature_view("", "id", timestamp="ts", features={"a": "float64"}),
     mlops.InvalidArgument),
    ("N2", "feature view name with '../'",
     lambda c: c["store"].feature_view("../fv", "id", timestamp="ts",
                                       features={"a": "float64"}),
     mlops.InvalidArgument),
    ("N9", "feature name with ':'",
     lambda c: c["store"].feature_view("fv2", "id", timestamp="ts",
                                       features={"a:b": "float64"}),
     mlops.InvalidArgument),
    ("J1", "ingest without the event timestamp column",
     lambda c: c["view"].ingest({"id": [1], "when": [5], "a": [1.0]}), mlops.InvalidArgument),
    ("J2", "ingest text that is not a number into a float64 feature",
     lambda c: c["view"].ingest({"id": [1], "ts": [5], "a": ["one and a half"]}),
     mlops.InvalidArgument),
    ("N14", "join a ref of an unknown view",
     lambda c: c["store"].get_historical_features({"id": [1], "event_timestamp": [5]},
                                                  ["nope:a"]),
     mlops.NotFound),
    ("N1", "rollout name empty", lambda c: c["store"].rollout("", champion=1, challenger=2),
     mlops.InvalidArgument),
    ("N7", "rollout name with DEL", lambda c: c["store"].rollout("ro\x7f", champion=1,
                                                                 challenger=2),
     mlops.InvalidArgument),
    ("A1", "record for arm 7", lambda c: c["rollout"].record(7, 1.0), mlops.InvalidArgument),
    ("V7", "record a NaN latency", lambda c: c["rollout"].record(0, math.nan),
     mlops.InvalidArgument),
    ("N1", "A/B experiment key empty", lambda c: ab.Experiment(""), mlops.InvalidArgument),
    ("X5", "A/B weights summing to 1.1", lambda c: ab.Experiment("e", weights=[0.5, 0.6]),
     mlops.InvalidArgument),
    ("X5", "A/B coverage 1.5", lambda c: ab.Experiment("e", coverage=1.5),
     mlops.InvalidArgument),
]


@pytest.mark.parametrize("vid,what,call,exc", REFUSED, ids=[f"{v[0]}-{v[1]}" for v in REFUSED])
def test_refused_and_unchanged(seeded, vid, what, call, exc):
    store = seeded["store"]
    store.flush()
    before = tree_digest(seeded["dir"]) if seeded["dir"] else None
    with pytest.raises(exc) as info:
        call(seeded)
    assert str(info.value), f"{vid} {what}: no message"
    store.flush()
    if before is not None:
        assert tree_digest(seeded["dir"]) == before, f"{vid} {what}: the store's files changed"
    store.check()


def test_odd_metric_values_read_back(seeded):
    run = seeded["run"]
    odd = [math.nan, math.inf, -math.inf, 5e-324]
    for i, v in enumerate(odd):
        run.log_metric("odd", v, step=i)
    got = [value for _step, _ts, value in run.metric_history("odd")]
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == -math.inf
    assert got[3] == 5e-324


def test_odd_feature_rows_accepted(seeded):
    store, view = seeded["store"], seeded["view"]
    view.ingest({"id": [7, 7, 7, 8], "ts": [300, 100, 300, 200],
                 "a": [math.nan, 1.0, math.inf, -0.0]})
    out = store.get_historical_features({"id": [7, 7, 8], "event_timestamp": [150, 300, 250]},
                                        ["fv:a"])
    a = list(out["a"])
    assert a[0] == 1.0 and a[1] == math.inf and a[2] == 0.0 and math.copysign(1, a[2]) < 0


def test_drift_odd_samples():
    base = mlops.drift.Profile.from_values("x", [i / 200 for i in range(200)])
    # Inf, -Inf, a denormal and NaN are counted, never propagated into NaN results
    cur = mlops.drift.Profile.from_values("x", [math.inf, -math.inf, 5e-324, math.nan, 0.25])
    one = mlops.drift.Profile.from_values("x", [0.5])
    for c in (cur, one):
        rep = mlops.drift.compare([base], [c])
        col = rep["columns"][0] if isinstance(rep, dict) else rep.columns[0]
        psi = col["psi"] if isinstance(col, dict) else col.psi
        assert psi is not None and not math.isnan(psi)
    with pytest.raises(mlops.InvalidArgument):
        mlops.drift.Profile.from_values(b"\xffx", [1.0])  # invalid UTF-8 from bytes

# SPDX-License-Identifier: MIT
"""The model registry through Python: the same scenario as the C tests and
the command, plus the ctypes edge cases (A1, A4)."""
import json
import os
import subprocess
import tempfile

import pytest

import mlops
from mlops.registry import Gate, GateRefused, ModelVersion


@pytest.fixture
def reg():
    with mlops.Store("mem:") as s:
        r = s.registry()
        yield s, r
        r.close()


def test_models_and_versions(reg):
    s, r = reg
    blob = s.put_blob(b"weights v1")
    m = r.create_model("fraud", description="catches fraud", tags={"team": "risk"})
    assert m["name"] == "fraud" and m["tags"] == {"team": "risk"} and m["versions"] == []
    with pytest.raises(mlops.AlreadyExists):
        r.create_model("fraud")
    assert r.register("fraud", blob=blob) == 1
    assert r.register("fraud", blob=blob, description="second") == 2
    r.delete_version("fraud", 2)
    assert r.register("fraud", blob=blob) == 3  # numbers are never reused
    assert [v["version"] for v in r.model("fraud")["versions"]] == [1, 3]
    with pytest.raises(mlops.NotFound, match="deleted"):
        r.resolve("models:/fraud/2")
    assert r.resolve("models:/fraud/latest") == 3
    assert [x["name"] for x in r.search("name LIKE 'fr%'")] == ["fraud"]
    assert r.search("tags.team = 'growth'") == []
    with pytest.raises(mlops.InvalidArgument):
        r.search("name ~ 'x'")


def test_stages_aliases_history_rollback(reg):
    s, r = reg
    blob = s.put_blob(b"w")
    for _ in range(3):
        r.register("m", blob=blob)
    r.promote("m", 1, to="production")
    r.promote("m", 2, to="PRODUCTION", reason="better recall")
    assert r.stage("m", 1) == "Archived"
    assert r.stage("m", 2) == "Production"
    r.alias("m", "champion", 2)
    mv = r.get("models:/m@champion")
    assert isinstance(mv, ModelVersion)
    assert mv.version == 2 and mv["stage"] == "Production" and mv["aliases"] == ["champion"]
    assert mv.read() == b"w"
    assert r.rollback("m", reason="latency") == 1
    assert r.resolve("models:/m/Production") == 1
    events = r.history("m")
    assert [e["event"] for e in events][:3] == ["register", "register", "register"]
    assert any(e.get("reason") == "rollback: latency" for e in events)
    assert any(e.get("reason") == "better recall" for e in events)
    with pytest.raises(mlops.NotFound):
        r.rollback("nothing-here")
    for bad in ("latest", "v3", "a b", "x" * 256):
        with pytest.raises(mlops.InvalidArgument):
            r.alias("m", bad, 1)
    r.delete_version("m", 2)  # drops the alias
    with pytest.raises(mlops.NotFound):
        r.get("models:/m@champion")


def test_time_travel(reg):
    s, r = reg
    blob = s.put_blob(b"w")
    r.register("m", blob=blob)
    r.promote("m", 1, to="Production")
    t = r.history("m")[-1]["time_ms"]
    assert r.resolve("models:/m/Production", at=t) == 1
    with pytest.raises(mlops.NotFound):
        r.resolve("models:/m/Production", at=t - 1)


def test_bad_uris_and_inputs(reg):
    s, r = reg
    for bad in ("", "fraud/1", "models:/", "models:/m", "models:/m/0", "models:/m/Prod",
                "models:/m@", "models:/m/1/2"):
        with pytest.raises(mlops.InvalidArgument):
            r.resolve(bad)
    with pytest.raises(mlops.InvalidArgument):
        r.create_model("a/b")
    with pytest.raises(mlops.InvalidArgument):
        r.create_model("a\x00b")  # A4: NUL ends a C string: refused, not truncated
    with pytest.raises(mlops.InvalidArgument):
        r.register("m")  # no source
    with pytest.raises(mlops.InvalidArgument):
        r.register("m", blob="nothex")
    with pytest.raises(mlops.NotFound):
        r.register("m", blob="0" * 32)
    with pytest.raises(mlops.InvalidArgument):
        r.promote("m", 1, to="Prod")
    r.close()
    with pytest.raises(mlops.Closed):
        r.models()
    r.close()  # double close is harmless


def test_gate_refuses_missing_metric(reg):
    s, r = reg
    r.register("m", blob=s.put_blob(b"w"))
    with pytest.raises(GateRefused) as e:
        r.promote("m", 1, gates=["val_auc >= 0.8", Gate("loss", threshold=0.3,
                                                         greater_is_better=False)])
    assert "never logged 'val_auc'" in str(e.value)
    assert e.value.report.startswith("gate refused\nFAIL val_auc >= 0.8")
    assert "FAIL loss <= 0.3" in e.value.report
    assert isinstance(e.value, mlops.Conflict)
    assert r.stage("m", 1) == "None"
    assert r.version("m", 1)["gate"]["passed"] is False
    passed, report = r.check_gates("m", 1, ["val_auc >= 0.8"])
    assert not passed and "FAIL" in report
    with pytest.raises(mlops.InvalidArgument):
        r.promote("m", 1, gates=["val_auc >> 1"])
    with pytest.raises(TypeError):
        r.promote("m", 1, gates=[42])


def _tracking_available():
    try:
        from mlops import tracking  # noqa: F401
        return hasattr(mlops.Store, "create_run") or hasattr(mlops.Store, "start_run")
    except ImportError:
        return False


def test_cli_scenario():
    """The same scenario through the command, on a file store."""
    cli = os.environ.get("MLOPS_CLI")
    if not cli:
        pytest.skip("MLOPS_CLI is not set")
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "store")
        try:
            blob = mlops.Store(store).put_blob(b"model bytes")
        except mlops.Unsupported:
            pytest.skip("this build has no file backend")

        def run(*args, ok=True):
            p = subprocess.run([cli, "--store", store, *args], capture_output=True, text=True)
            if ok:
                assert p.returncode == 0, p.stderr
            return p

        assert run("models", "register", "fraud", "--blob", blob).stdout == "1\n"
        assert run("models", "register", "fraud", "--blob", blob).stdout == "2\n"
        run("models", "promote", "fraud", "1", "--to", "production")
        run("models", "promote", "fraud", "2", "--to", "Production", "--reason", "newer")
        run("models", "alias", "fraud", "champion", "2")
        show = json.loads(run("--json", "models", "show", "fraud").stdout)
        by_v = {v["version"]: v for v in show["versions"]}
        assert by_v[1]["stage"] == "Archived"
        assert by_v[2]["stage"] == "Production" and by_v[2]["aliases"] == ["champion"]
        assert by_v[2]["run_id"] is None
        assert run("models", "resolve", "models:/fraud@champion").stdout == "2\n"
        out = os.path.join(d, "out")
        path = run("models", "get", "models:/fraud/Production", "-o", out).stdout.strip()
        with open(path, "rb") as f:
            assert f.read() == b"model bytes"
        assert "Production" in run("models", "rollback", "fraud").stdout
        hist = json.loads(run("--json", "models", "history", "fraud").stdout)
        assert hist[-1]["to"] == "Production" and hist[-1]["version"] == 1
        p = run("models", "promote", "fraud", "9", "--to", "Production", ok=False)
        assert p.returncode == 1 and "no version 9" in p.stderr
        p = run("models", "rollback", "nope", ok=False)
        assert p.returncode == 1
        p = run("models", "resolve", "models:/fraud", ok=False)
        assert p.returncode == 1 and "names no version" in p.stderr
        p = run("models", "promote", "fraud", "1", "--to", "Prod", ok=False)
        assert p.returncode == 2
        lst = json.loads(run("--json", "models", "list").stdout)
        assert [m["name"] for m in lst] == ["fraud"]
        with mlops.Store(store) as s:
            assert s.registry().resolve("models:/fraud/Production") == 1


def _make_run(store, val_auc, artifact=b"weights"):
    """A run with a val_auc history and a model artifact, through the C API
    (fresh ctypes function objects, so the tracking binding's own
    declarations are left alone)."""
    import ctypes
    lib = mlops._lib.lib
    create, log_metric = lib["mlops_run_create"], lib["mlops_run_log_metric"]
    log_art, run_id, close = (lib["mlops_run_log_artifact_bytes"], lib["mlops_run_id"],
                              lib["mlops_run_close"])
    create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_char_p,
                       ctypes.c_void_p]
    log_metric.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_double, ctypes.c_int64]
    log_art.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    run_id.argtypes, run_id.restype = [ctypes.c_void_p], ctypes.c_char_p
    close.argtypes = [ctypes.c_void_p]
    h = ctypes.c_void_p()
    mlops._lib.check(create(ctypes.byref(h), store.handle, None, None))
    try:
        for step, v in enumerate((val_auc - 0.1, val_auc)):
            mlops._lib.check(log_metric(h, b"val_auc", v, step))
        mlops._lib.check(log_art(h, b"model/model.bin", artifact, len(artifact)))
        return run_id(h).decode()
    finally:
        close(h)


def test_run_scenario_with_gates(reg):
    s, r = reg
    champ = _make_run(s, 0.91, b"champion weights")
    chall = _make_run(s, 0.85, b"challenger weights")
    v1 = r.register("fraud", run=champ, artifact="model/model.bin")
    report = r.promote("fraud", v1, to="Production", gates=["val_auc >= 0.9"])
    assert report.startswith("gate passed\nPASS val_auc >= 0.9: candidate 0.91")
    r.alias("fraud", "champion", v1)
    v2 = r.register("fraud", run=chall, artifact="model/model.bin")
    with pytest.raises(GateRefused) as e:
        r.promote("fraud", v2, gates=[Gate("val_auc", threshold=0.8),
                                       Gate("val_auc", min_absolute_change=0.01)])
    assert "candidate 0.85" in str(e.value) and "baseline 0.91" in str(e.value)
    assert "PASS val_auc >= 0.8" in e.value.report
    assert r.resolve("models:/fraud/Production") == v1
    mv = r.get("models:/fraud@champion")
    assert mv.run_id == champ and mv.read() == b"champion weights"
    lin = r.lineage("fraud", v2)
    assert lin["run_id"] == chall and lin["source"] == f"runs:/{chall}/model/model.bin"
    assert lin["gate"]["passed"] is False and lin["gate"]["baseline_version"] == v1
    with pytest.raises(mlops.NotFound):
        r.register("fraud", run=champ, artifact="missing.bin")
    with pytest.raises(mlops.InvalidArgument):
        r.register("fraud", run="not-a-run-id", artifact="model/model.bin")
    with tempfile.TemporaryDirectory() as d:
        path = mv.download(d)
        assert os.path.basename(path) == "model.bin"
        with open(path, "rb") as f:
            assert f.read() == b"champion weights"


def test_cli_gates_with_runs():
    """register --run/--artifact and promote --gate through the command."""
    cli = os.environ.get("MLOPS_CLI")
    if not cli:
        pytest.skip("MLOPS_CLI is not set")
    with tempfile.TemporaryDirectory() as d:
        store = os.path.join(d, "store")
        try:
            with mlops.Store(store) as s:
                champ = _make_run(s, 0.91)
                chall = _make_run(s, 0.85)
        except mlops.Unsupported:
            pytest.skip("this build has no file backend")

        def run(*args):
            return subprocess.run([cli, "--store", store, *args], capture_output=True, text=True)

        p = run("models", "register", "fraud", "--run", champ, "--artifact", "model/model.bin",
                "--user", "ci")
        assert p.returncode == 0 and p.stdout == "1\n", p.stderr
        p = run("models", "promote", "fraud", "1", "--to", "Production", "--gate",
                "val_auc >= 0.9")
        assert p.returncode == 0, p.stderr
        assert "PASS val_auc >= 0.9" in p.stdout
        assert run("models", "register", "fraud", "--run", chall, "--artifact",
                   "model/model.bin").stdout == "2\n"
        p = run("models", "promote", "fraud", "2", "--to", "production", "--gate",
                "val_auc >= baseline + 0.01")
        assert p.returncode == 1
        assert "gate refused" in p.stderr and "candidate 0.85" in p.stderr
        p = run("--json", "models", "promote", "fraud", "2", "--to", "Production", "--gate",
                "val_auc >= 0.8", "--dry-run")
        assert p.returncode == 0 and json.loads(p.stdout)["gate_passed"] is True
        lin = json.loads(run("--json", "models", "lineage", "fraud", "2").stdout)
        # the refused promotion is the stored decision; a dry run stores nothing
        assert lin["run_id"] == chall and lin["gate"]["passed"] is False
        show = json.loads(run("--json", "models", "show", "fraud").stdout)
        assert [(v["version"], v["stage"], v["run_id"]) for v in show["versions"]] == \
            [(1, "Production", champ), (2, "None", chall)]
        hist = run("models", "history", "fraud").stdout
        assert "None -> Production" in hist and "ci" in hist

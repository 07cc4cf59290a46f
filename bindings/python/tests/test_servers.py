# SPDX-License-Identifier: MIT
"""The PostgreSQL and Redis backends through the Python binding and the CLI.

Needs the servers of scripts/servers (MLOPS_TEST_PG_URI, MLOPS_TEST_REDIS_URI);
each backend's tests are skipped with the reason when its URI is unset.
"""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

import mlops

PG = os.environ.get("MLOPS_TEST_PG_URI")
REDIS = os.environ.get("MLOPS_TEST_REDIS_URI")
CLI = os.environ.get("MLOPS_CLI")


def _with(base, **params):
    sep = "&" if "?" in base else "?"
    return base + sep + "&".join(f"{k}={v}" for k, v in params.items())


def _drop(kind, tag):
    if kind == "postgres" and shutil.which("psql"):
        subprocess.run(["psql", PG, "-qc", f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'],
                       capture_output=True)
    elif kind == "redis" and shutil.which("redis-cli"):
        url = REDIS
        keys = subprocess.run(["redis-cli", "-u", url, "--scan", "--pattern", f"{tag}:*"],
                              capture_output=True, text=True).stdout.split()
        for i in range(0, len(keys), 500):
            subprocess.run(["redis-cli", "-u", url, "DEL", *keys[i:i + 500]],
                           capture_output=True)


@pytest.fixture(params=["postgres", "redis"])
def server(request):
    """(kind, uri) of a fresh, isolated store on one of the servers."""
    kind = request.param
    base = PG if kind == "postgres" else REDIS
    if not base:
        pytest.skip(f"{'MLOPS_TEST_PG_URI' if kind == 'postgres' else 'MLOPS_TEST_REDIS_URI'} "
                    "is not set (scripts/servers start; . build-servers/env.sh)")
    tag = "py_" + uuid.uuid4().hex[:12]
    uri = _with(base, mlops_schema=tag) if kind == "postgres" else _with(base, prefix=tag + ":")
    yield kind, uri
    _drop(kind, tag)


def test_roundtrip(server):
    kind, uri = server
    with mlops.Store(uri) as s:
        assert s.backend == kind
        s.put("k", b"v\x00w")
        s.put("it's; -- $$", b"\r\n")  # S4: metacharacters are data
        assert s.get("k") == b"v\x00w"
        assert s.get("it's; -- $$") == b"\r\n"
        s.delete("k")
        with pytest.raises(mlops.NotFound):
            s.get("k")
        data = os.urandom(3 * 1024 * 1024 + 5)  # several chunks
        blob = s.put_blob(data)
        assert s.get_blob(blob) == data
        assert s.put_blob(data) == blob  # dedup
        assert s.check() == ""


def test_reopen_sees_the_data(server):
    kind, uri = server
    with mlops.Store(uri) as s:
        s.put("kept", b"1")
    with mlops.Store(uri, create=False) as s:
        assert s.get("kept") == b"1"


def test_bad_uris():
    if PG:
        with pytest.raises(mlops.InvalidArgument):
            mlops.Store(_with(PG, mlops_schema="Robert'); DROP TABLE x;--"))
    if REDIS:
        with pytest.raises(mlops.InvalidArgument):
            mlops.Store("redis://127.0.0.1:6379/0?nope=1")
    if not PG and not REDIS:
        pytest.skip("no server URIs set")


@pytest.mark.parametrize("uri", [
    "postgresql://mlops@127.0.0.1:1/x?connect_timeout=2",
    "redis://127.0.0.1:1/0?timeout=1",
])
def test_unreachable_server_is_a_clear_error(uri):
    t0 = time.monotonic()
    try:
        mlops.Store(uri)
    except mlops.Unsupported:
        pytest.skip("backend not built")
    except mlops.BackendError as e:
        assert "connect" in str(e)
    else:
        pytest.fail("opening an unreachable server succeeded")
    assert time.monotonic() - t0 < 5


def test_two_stores_side_by_side():
    """Tracking on PostgreSQL and the online store on Redis, in one process."""
    if not (PG and REDIS):
        pytest.skip("needs both MLOPS_TEST_PG_URI and MLOPS_TEST_REDIS_URI")
    tag = "py_" + uuid.uuid4().hex[:12]
    try:
        with mlops.Store(_with(PG, mlops_schema=tag)) as off, \
                mlops.Store(_with(REDIS, prefix=tag + ":")) as on:
            off.put("run", b"r1")
            on.put("run", b"online")
            assert off.get("run") == b"r1" and on.get("run") == b"online"
    finally:
        _drop("postgres", tag)
        _drop("redis", tag)


def _cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True)


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set (run through meson test)")
def test_cli_store_option(server):
    kind, uri = server
    with mlops.Store(uri) as s:  # create it: `store info` never creates a store
        s.put("k", b"v")
    r = _cli("--store", uri, "store", "info")
    if "has no verbs in this build" in r.stderr:
        pytest.skip("the store command is not in this build yet")
    assert r.returncode == 0, r.stderr
    assert kind in r.stdout
    r = _cli("--store", uri, "runs", "list")
    if "has no verbs in this build" in r.stderr:
        pytest.skip("the runs command is not in this build yet")
    assert r.returncode == 0, r.stderr
    # the same through MLOPS_STORE
    env = dict(os.environ, MLOPS_STORE=uri)
    r = subprocess.run([CLI, "store", "info"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set (run through meson test)")
def test_cli_unreachable_store_fails_cleanly():
    r = _cli("--store", "postgresql://mlops@127.0.0.1:1/x?connect_timeout=2", "store", "info")
    if "has no verbs in this build" in r.stderr:
        pytest.skip("the store command is not in this build yet")
    assert r.returncode == 1
    assert "PostgreSQL" in r.stderr or "not built" in r.stderr


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set (run through meson test)")
def test_cli_tracking_on_postgres_online_on_redis(tmp_path):
    """The README's shape: --store postgresql://... with --online-store redis://..."""
    if not (PG and REDIS):
        pytest.skip("needs both MLOPS_TEST_PG_URI and MLOPS_TEST_REDIS_URI")
    tag = "py_" + uuid.uuid4().hex[:12]
    pg, rd = _with(PG, mlops_schema=tag), _with(REDIS, prefix=tag + ":")
    csv = tmp_path / "d.csv"
    csv.write_text("driver_id,ts,trips\n1001,1700000000,5\n1002,1700000100,7\n"
                   "1001,1700000200,9\n")
    try:
        steps = [
            ["features", "apply", "driver_stats", "--entity", "driver_id:int64", "--timestamp",
             "ts", "--feature", "trips:int64"],
            ["features", "ingest", "driver_stats", str(csv)],
            ["features", "materialize", "driver_stats", "--start", "1699999999", "--end",
             "1700001000"],
        ]
        for args in steps:
            r = _cli("--store", pg, "--online-store", rd, *args)
            if "has no verbs in this build" in r.stderr:
                pytest.skip("the features command is not in this build yet")
            assert r.returncode == 0, (args, r.stderr)
        r = _cli("--store", pg, "--online-store", rd, "--json", "features", "get",
                 "driver_stats:trips", "--key", "1001", "--key", "1002")
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout)["results"]
        assert [x["features"]["driver_stats:trips"]["value"] for x in res] == [9, 7]
        # the online rows are in Redis, under the store's prefix
        with mlops.Store(rd, create=False) as on:
            assert on.backend == "redis"
        r = _cli("--store", pg, "runs", "list")
        assert r.returncode == 0, r.stderr
    finally:
        _drop("postgres", tag)
        _drop("redis", tag)


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set (run through meson test)")
@pytest.mark.parametrize("online", ["redis", "postgres"])
def test_demo_runs_every_module_on_the_servers(tmp_path, online):
    """The whole lifecycle (features, tracking, registry with gates, drift,
    rollout) on PostgreSQL, with the online store on Redis or PostgreSQL."""
    if not (PG and REDIS):
        pytest.skip("needs both MLOPS_TEST_PG_URI and MLOPS_TEST_REDIS_URI")
    tag = "demo_" + uuid.uuid4().hex[:12]
    pg = _with(PG, mlops_schema=tag)
    on = _with(REDIS, prefix=tag + ":") if online == "redis" else _with(PG, mlops_schema=tag + "_on")
    r = _cli("--store", pg, "--online-store", on, "demo", "--workdir", str(tmp_path / "work"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "demo finished" in r.stdout
    r = _cli("--store", pg, "--json", "models", "show", "churn")
    assert r.returncode == 0, r.stderr
    versions = json.loads(r.stdout)["versions"]
    assert [v["stage"] for v in versions if v["version"] == 1] == ["Production"]
    r = _cli("--store", pg, "--json", "runs", "list")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) >= 2

# SPDX-License-Identifier: MIT
"""Experiment tracking through the Python binding and through the `mlops`
command (driven from here). RELIABILITY.md ids are cited where they apply."""
import json
import math
import os
import subprocess
import threading

import pytest

import mlops

CLI = os.environ.get("MLOPS_CLI")


@pytest.fixture
def store():
    with mlops.Store("mem:") as s:
        yield s


def file_store_uri(tmp_path):
    """A file store in tmp_path, or None when the file backend is not built."""
    uri = str(tmp_path / "store")
    try:
        with mlops.Store(uri):
            pass
    except mlops.Unsupported:
        return None
    return uri


def test_scenario(store, tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00\x01weights")
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,0\n2,1\n")
    exp = store.experiment("churn")
    assert store.experiment("churn") == exp
    with store.start_run(exp, name="baseline", tags={"team": "ml"}) as run:
        run.log_params({"lr": 0.1, "model": "logreg"})
        for step in range(5):
            run.log_metrics({"loss": 1.0 / (step + 1), "val_auc": 0.5 + step * 0.08}, step=step)
        run.log_metric("nan_metric", float("nan"))
        run.log_metric("inf_metric", float("-inf"))
        run.set_tag("stage", "dev")
        run.log_artifact(model)
        digest = run.log_dataset(data, name="train", rows=2)
        rid = run.run_id
    assert len(digest) == 32
    got = store.get_run(rid)
    assert got.status == "FINISHED"
    assert got.run_name == "baseline"
    assert got.params == {"lr": "0.1", "model": "logreg"}
    assert got.metrics["loss"] == 0.2
    assert got.metric_points["val_auc"][1] == 4
    assert math.isnan(got.metrics["nan_metric"])  # V1
    assert got.metrics["inf_metric"] == float("-inf")  # V2
    assert got.tags["team"] == "ml" and got.tags["stage"] == "dev"
    assert got.tags["mlops.runName"] == "baseline"
    assert got.datasets == [{"name": "train", "digest": digest, "rows": 2}]
    run = store.open_run(rid)
    assert run.read_artifact("model.bin") == b"\x00\x01weights"
    assert run.artifacts()[0]["size"] == 9
    assert [p[2] for p in run.metric_history("loss")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert len(run.metric_history("loss", max_points=2)) == 2
    run.close()
    found = store.search_runs("metrics.val_auc > 0.8 AND params.model = 'logreg'",
                              order_by=["metrics.loss ASC"])
    assert [r.run_id for r in found] == [rid]


def test_failed_on_exception(store):
    with pytest.raises(RuntimeError):
        with store.start_run(name="bad") as run:
            rid = run.run_id
            raise RuntimeError("training diverged")
    assert store.get_run(rid).status == "FAILED"


def test_param_conflict(store):
    with store.start_run() as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", "0.1")  # same value: fine
        with pytest.raises(mlops.Conflict) as e:
            run.log_param("lr", 0.2)  # V7
        assert "0.1" in str(e.value) and "0.2" in str(e.value)


@pytest.mark.parametrize("key", ["", ".", "..", "../x", "/etc/passwd", "a//b", "a/", "x\\y",
                                 "a\nb", "k" * 251])
def test_bad_keys(store, key):
    with store.start_run() as run:
        with pytest.raises(mlops.InvalidArgument):
            run.log_metric(key, 1.0)
        with pytest.raises(mlops.InvalidArgument):
            run.log_param(key, "v")
        with pytest.raises(mlops.InvalidArgument):
            run.set_tag(key, "v")


def test_limits(store):
    with store.start_run() as run:
        run.log_param("p", "x" * 6000)
        with pytest.raises(mlops.InvalidArgument):
            run.log_param("q", "x" * 6001)
        run.set_tag("t", "x" * 5000)
        with pytest.raises(mlops.InvalidArgument):
            run.set_tag("t", "x" * 5001)
        with pytest.raises(mlops.TooBig):
            run.log_batch(metrics=[("m", i, i) for i in range(1001)])
        # V9: one bad item rejects the whole batch
        with pytest.raises(mlops.InvalidArgument):
            run.log_batch(metrics={"ok": 1.0, "../bad": 2.0}, params={"a": 1})
        with pytest.raises(mlops.NotFound):
            run.get_param("a")
        with pytest.raises(mlops.NotFound):
            run.latest_metric("ok")


def test_unknown_and_malformed_ids(store):
    with pytest.raises(mlops.InvalidArgument):
        store.open_run("not-a-run-id")
    with pytest.raises(mlops.NotFound):
        store.open_run("0" * 32)
    other = mlops.Store("mem:")
    with other.start_run() as run:
        with pytest.raises(mlops.NotFound):  # a run id from another store
            store.open_run(run.run_id)
    other.close()


def test_deleted_run_refuses_logging(store):
    run = store.start_run()
    run.end()
    run.log_metric("after_end", 1.0)  # as MLflow: ended runs still accept data
    store.delete_run(run.run_id)
    with pytest.raises(mlops.Conflict):
        run.log_metric("x", 1.0)
    assert store.search_runs() == []
    assert len(store.search_runs(view="deleted")) == 1
    store.restore_run(run.run_id)
    run.log_metric("x", 1.0)
    run.close()


def test_experiments(store):
    eid = store.create_experiment("a")
    with pytest.raises(mlops.AlreadyExists):
        store.create_experiment("a")
    store.rename_experiment(eid, "b")
    assert store.get_experiment_by_name("b").experiment_id == eid
    store.delete_experiment(eid)
    assert [e.name for e in store.experiments(view="deleted")] == ["b"]
    with pytest.raises(mlops.Conflict):
        store.start_run(experiment_id=eid)
    store.restore_experiment(eid)
    assert store.get_experiment(eid).lifecycle_stage == "active"


def test_search_grammar(store):
    for i, (acc, model) in enumerate([(0.9, "gbm"), (0.7, "lr"), (float("nan"), "gbm"),
                                      (None, "lr")]):
        with store.start_run(name=f"r{i}", start_time=1000 + i) as run:
            run.log_param("model", model)
            if acc is not None:
                run.log_metric("acc", acc)
    names = lambda rs: [r.run_name for r in rs]  # noqa: E731
    assert names(store.search_runs("metrics.acc > 0.8 OR params.model = 'lr'",
                                   order_by="attributes.start_time")) == ["r0", "r1", "r3"]
    assert names(store.search_runs("(params.model = 'gbm') and metrics.acc >= 0")) == ["r0"]
    assert names(store.search_runs(order_by=["metrics.acc DESC"])) == ["r0", "r1", "r2", "r3"]
    assert names(store.search_runs(order_by=["metrics.acc ASC"])) == ["r1", "r0", "r2", "r3"]
    assert names(store.search_runs("params.model ILIKE 'GB%'", order_by="run_name")) == \
        ["r0", "r2"]
    page = store.search_runs(max_results=3, order_by="run_name")
    assert names(page) == ["r0", "r1", "r2"] and page.next_page_token
    rest = store.search_runs(max_results=3, order_by="run_name", page_token=page.next_page_token)
    assert names(rest) == ["r3"] and rest.next_page_token is None
    with pytest.raises(mlops.InvalidArgument) as e:
        store.search_runs("metrics.acc > ")
    assert "position 15" in str(e.value)
    with pytest.raises(mlops.InvalidArgument):
        store.search_runs("params.model = gbm")


def test_threads(store):
    run = store.start_run()

    def work(t):
        for i in range(200):
            run.log_metric(f"t{t}", i, step=i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(run.metric_history(f"t{t}")) == 200 for t in range(4))
    run.set_async(1024)
    for i in range(5000):
        run.log_metric("fast", i, step=i)
    run.flush()
    assert run.latest_metric("fast") == 4999
    run.close()


def test_mlflow_roundtrip(store, tmp_path):
    with store.start_run("exp", name="x") as run:
        run.log_param("alpha", 0.5)
        run.log_metric("loss", 0.25, step=3)
        run.log_bytes("notes/readme.txt", "hello")
        rid = run.run_id
    out = tmp_path / "mlruns"
    assert store.export_mlflow(out) == 1
    eid = store.get_experiment_by_name("exp").experiment_id
    assert (out / eid / rid / "params" / "alpha").read_text() == "0.5"
    line = (out / eid / rid / "metrics" / "loss").read_text().split()
    assert line[1:] == ["0.25", "3"]
    with mlops.Store("mem:") as s2:
        assert s2.import_mlflow(out) == 1
        r = s2.get_run(rid)
        assert r.params == {"alpha": "0.5"} and r.metrics == {"loss": 0.25}
        assert s2.open_run(rid).read_artifact("notes/readme.txt") == b"hello"


def test_file_backend(tmp_path):
    uri = file_store_uri(tmp_path)
    if uri is None:
        pytest.skip("file backend not built")
    with mlops.Store(uri) as s:
        with s.start_run("persist") as run:
            run.log_metrics({"m": 1.5}, step=2)
            rid = run.run_id
    with mlops.Store(uri) as s:
        assert s.get_run(rid).metrics == {"m": 1.5}


def cli(uri, *args, stdin=None, check=True):
    p = subprocess.run([CLI, "--store", uri, *args], input=stdin, capture_output=True,
                       text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"mlops {' '.join(args)} failed: {p.stderr}")
    return p


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_scenario(tmp_path):
    uri = file_store_uri(tmp_path)
    if uri is None:
        pytest.skip("file backend not built")
    assert cli(uri, "experiments", "create", "churn").stdout.strip() == "1"
    assert cli(uri, "experiments", "create", "churn", check=False).returncode == 1
    run_id = cli(uri, "runs", "start", "--experiment", "churn", "--name", "cli",
                 "--tag", "team=ml").stdout.strip()
    assert len(run_id) == 32  # the id alone on stdout
    cli(uri, "runs", "log-param", run_id, "lr", "0.1")
    p = cli(uri, "runs", "log-param", run_id, "lr", "0.2", check=False)
    assert p.returncode == 1 and "0.1" in p.stderr and "0.2" in p.stderr
    cli(uri, "runs", "log-metric", run_id, "-",
        stdin="loss 0.5 0\nloss 0.25 1\n# comment\nval_auc 0.9 1 1700000000000\nacc nan 2\n")
    p = cli(uri, "runs", "log-metric", run_id, "-", stdin="loss 0.5 0\nbad line here x\n",
            check=False)
    assert p.returncode == 1 and "line 2" in p.stderr
    cli(uri, "runs", "log-metric", run_id, "acc", "0.75", "--step", "3")
    cli(uri, "runs", "set-tag", run_id, "stage", "dev")
    model = tmp_path / "model.bin"
    model.write_bytes(b"binary\x00model")
    cli(uri, "runs", "log-artifact", run_id, str(model))
    cli(uri, "runs", "end", run_id)
    show = json.loads(cli(uri, "--json", "runs", "show", run_id).stdout)
    assert show["status"] == "FINISHED" and show["params"] == {"lr": "0.1"}
    assert show["metrics"]["loss"]["value"] == 0.25
    assert show["metrics"]["val_auc"]["timestamp"] == 1700000000000
    assert show["tags"]["team"] == "ml"
    hist = json.loads(cli(uri, "--json", "runs", "metrics", run_id, "acc").stdout)
    assert hist[0]["value"] == "NaN" and hist[1]["value"] == 0.75  # V3
    found = json.loads(cli(uri, "--json", "runs", "search", "--filter",
                           "metrics.val_auc > 0.8 AND tags.team = 'ml'").stdout)
    assert [r["run_id"] for r in found["runs"]] == [run_id]
    p = cli(uri, "runs", "search", "--filter", "metrics.val_auc >", check=False)
    assert p.returncode == 1 and "position" in p.stderr
    arts = json.loads(cli(uri, "--json", "artifacts", "list", run_id).stdout)
    assert arts[0]["path"] == "model.bin" and arts[0]["size"] == 12
    got = subprocess.run([CLI, "--store", uri, "artifacts", "get", run_id, "model.bin"],
                         capture_output=True)
    assert got.stdout == b"binary\x00model"
    csv = cli(uri, "runs", "export", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("run_id,experiment_id,run_name,status")
    assert "metrics.loss" in csv[0] and run_id in csv[1]
    exported = json.loads(cli(uri, "runs", "export").stdout)
    assert exported[0]["run_id"] == run_id
    cli(uri, "runs", "export", "--format", "mlflow", str(tmp_path / "mlruns"))
    other = str(tmp_path / "other")
    cli(other, "runs", "import", str(tmp_path / "mlruns"))
    assert json.loads(cli(other, "--json", "runs", "show", run_id).stdout)["params"] == \
        {"lr": "0.1"}
    second = cli(uri, "runs", "start", "--experiment", "1").stdout.strip()
    cli(uri, "runs", "log-param", second, "lr", "0.3")
    cmp = json.loads(cli(uri, "--json", "runs", "compare", run_id, second).stdout)
    assert cmp["params"]["lr"] == ["0.1", "0.3"]
    cli(uri, "runs", "delete", second)
    listed = json.loads(cli(uri, "--json", "runs", "list").stdout)
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert cli(uri, "runs", "show", "nope", check=False).returncode == 1
    assert cli(uri, "runs", "show", "0" * 32, check=False).returncode == 1
    exps = json.loads(cli(uri, "--json", "experiments", "list").stdout)
    assert exps[0]["name"] == "churn"
    # the same run read back through Python
    with mlops.Store(uri) as s:
        assert s.get_run(run_id).metrics["acc"] == 0.75

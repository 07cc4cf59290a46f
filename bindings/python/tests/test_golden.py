# SPDX-License-Identifier: MIT
"""Golden stores (RELIABILITY X3): a store written by each released version
is committed under tests/data/golden-<version>/ (tests/data/make-golden).
This build must open every one of them, check it clean, and print exactly
what that version printed for the same read commands
(tests/data/golden-commands): runs, metrics, artifacts, the registry, feature
views and a point-in-time join, drift baselines and history, rollouts.
"""
import glob
import os
import shutil
import subprocess

import pytest

import mlops

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
GOLDEN = sorted(d for d in glob.glob(os.path.join(DATA, "golden-*")) if os.path.isdir(d))
CLI = os.environ.get("MLOPS_CLI")


def commands():
    with open(os.path.join(DATA, "golden-commands")) as f:
        for line in f:
            line = line.strip()
            if line:
                name, cmd = line.split("|", 1)
                yield name, cmd


@pytest.fixture(params=GOLDEN, ids=[os.path.basename(g) for g in GOLDEN])
def golden(request, tmp_path):
    src = request.param
    shutil.copytree(os.path.join(src, "store"), tmp_path / "store")
    shutil.copytree(os.path.join(src, "online"), tmp_path / "online")
    shutil.copy(os.path.join(src, "labels.csv"), tmp_path / "labels.csv")
    names = {}
    with open(os.path.join(src, "expected", "names")) as f:
        for line in f:
            k, v = line.strip().split("=", 1)
            names[k] = v
    return src, tmp_path, names


def test_there_is_a_golden_store():
    assert GOLDEN, "no tests/data/golden-* store"


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set")
def test_golden_reads_the_same(golden):
    src, tmp, names = golden
    base = [CLI, "--store", str(tmp / "store"), "--online-store", str(tmp / "online")]
    check = subprocess.run(base + ["store", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name, cmd in commands():
        expected_path = os.path.join(src, "expected", name)
        if not os.path.exists(expected_path):
            continue  # a command added after this store's version
        for k, v in names.items():
            cmd = cmd.replace("{" + k + "}", v)
        got = subprocess.run(base + cmd.split(), cwd=tmp, capture_output=True, text=True)
        assert got.returncode == 0, f"{name}: {cmd}: {got.stderr}"
        with open(expected_path) as f:
            assert got.stdout == f.read(), f"{name}: `mlops {cmd}` prints something else"


def test_golden_through_the_binding(golden):
    src, tmp, names = golden
    with mlops.Store(str(tmp / "store")) as store:
        store.check()
        run = store.open_run(names["RUN"])
        assert run.status == "FINISHED"
        assert len(run.metric_history("val_auc")) == 10
        reg = store.registry()
        assert reg.resolve("models:/churn@champion") == 1
        assert reg.stage("churn", 1) == "Production"
        run.close()

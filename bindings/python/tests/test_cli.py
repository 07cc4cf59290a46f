# SPDX-License-Identifier: MIT
"""The `mlops` command's global behaviour: help, version, exit statuses."""
import json
import os
import subprocess

import pytest

CLI = os.environ.get("MLOPS_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set (run through meson test)")


def run(*args, **kw):
    return subprocess.run([CLI, *args], capture_output=True, text=True, **kw)


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0
    assert "usage: mlops" in r.stdout
    for noun in ("demo", "store", "experiments", "runs", "models", "features", "drift", "ab",
                 "rollout"):
        assert noun in r.stdout
    r = run("--version")
    assert r.returncode == 0 and "1.0.0" in r.stdout
    r = run("--version", "--json")
    assert json.loads(r.stdout)["version"] == "1.0.0"


def test_usage_errors_exit_2():
    r = run()
    assert r.returncode == 2
    r = run("no-such-command")
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = run("--store")
    assert r.returncode == 2 and "needs a value" in r.stderr
@pytest.mark.parametrize("noun", ["store", "experiments", "runs", "artifacts", "models",
                                  "features", "drift", "ab", "rollout", "demo"])
def test_every_command_has_help(noun):
    r = run(noun, "--help")
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower()


def test_unsupported_store_uri_fails_cleanly(tmp_path):
    r = run("--store", "s3://bucket/x", "store", "info")
    assert r.returncode in (1, 2)
    assert "s3" in r.stderr

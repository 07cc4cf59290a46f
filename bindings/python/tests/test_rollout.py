# SPDX-License-Identifier: MIT
"""Tests of mlops.ab and Store.rollout, including the GrowthBook cross-SDK cases,
statsmodels/scipy agreement and the `mlops ab` / `mlops rollout` commands."""
import json
import math
import os
import subprocess

import pytest

import mlops
from mlops import ab

ROOT = os.environ.get("MLOPS_SOURCE_ROOT",
                      os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CASES = json.load(open(os.path.join(ROOT, "tests", "rollout", "growthbook_cases.json")))
CLI = os.environ.get("MLOPS_CLI")


def test_growthbook_hash_cases():
    for seed, value, version, want in CASES["hash"]:
        if want is None:
            continue
        assert ab.hash(seed, value, f"growthbook-v{version}") == want


def test_growthbook_ranges_choose_namespace():
    for name, (n, cov, weights), want in CASES["getBucketRange"]:
        got = ab.bucket_ranges(n, cov, weights)
        assert all(abs(a - b) < 1e-9 for r, w in zip(got, want) for a, b in zip(r, w)), name
    for name, x, ranges, want in CASES["chooseVariation"]:
        assert ab.choose_variation(x, ranges) == want, name
    for name, unit, (ns, start, end), want in CASES["inNamespace"]:
        assert ab.in_namespace(unit, ns, start, end) == want, name


def test_growthbook_run_cases():
    for name, uid, key, n, weights, cov, want, in_exp in CASES["run"]:
        got = ab.assign(key, uid, variants=n, weights=weights, coverage=cov,
                        mode="growthbook-v1")
        assert got == (want if in_exp else None), name


def test_assign_sticky_and_store():
    with mlops.Store("mem:") as s:
        e = ab.Experiment("checkout", weights=[0.2, 0.8], namespace="ns",
                          namespace_range=(0, 0.5), forced={"vip": 0})
        e.save(s)
        units = [f"user-{i}" for i in range(2000)]
        first = ab.assign("checkout", units, store=s)
        assert first == ab.assign(e, units)
        assert ab.assign("checkout", "vip", store=s) == 0
        inside = [v for v in first if v is not None]
        assert 0.4 < len(inside) / len(units) < 0.6
        assert 0.7 < sum(1 for v in inside if v == 1) / len(inside) < 0.9
        other = ab.Experiment("other", namespace="ns", namespace_range=(0.4, 1.0))
        with pytest.raises(mlops.Conflict):
            other.save(s)
    with pytest.raises(mlops.InvalidArgument):
        ab.Experiment("bad", weights=[0.5, 0.4])
    with pytest.raises(mlops.InvalidArgument):
        ab.Experiment("bad", weights=[float("nan"), 1.0])


def test_sample_size_and_power_against_statsmodels():
    sm = pytest.importorskip("statsmodels.stats.power")
    from statsmodels.stats.proportion import proportion_effectsize
    for p1, d in [(0.1, 0.02), (0.05, 0.01), (0.3, -0.05)]:
        es = proportion_effectsize(p1 + d, p1)
        n = sm.NormalIndPower().solve_power(effect_size=es, alpha=0.05, power=0.8, ratio=1)
        got = ab.sample_size(p1, d)
        assert got["per_variant"] == math.ceil(n)
        assert got["total"] == 2 * got["per_variant"]
    for d in (0.2, 0.5):
        n = sm.TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8)
        assert abs(ab.solve_nobs1(d, test="ttest") - n) / n < 1e-6
    with pytest.raises(mlops.InvalidArgument):
        ab.sample_size(0.95, 0.1)


def test_tests_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    import numpy as np
    rng = np.random.default_rng(7)
    t, c = rng.normal(1.1, 1, 300), rng.normal(1.0, 2, 250)
    ref = stats.ttest_ind(t, c, equal_var=False)
    tt, df, p, ci = ab.welch_ttest(t.mean(), t.var(ddof=1), len(t), c.mean(), c.var(ddof=1),
                                   len(c))
    assert abs(tt - ref.statistic) < 1e-9 and abs(p - ref.pvalue) < 1e-9
    chi2, p = ab.srm([5100, 4900], [0.5, 0.5])
    ref = stats.chisquare([5100, 4900])
    assert abs(chi2 - ref.statistic) < 1e-9 and abs(p - ref.pvalue) < 1e-12


def test_analyze(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("variant,units,conversions\ncontrol,10000,1000\ntreatment,10000,1130\n")
    res = ab.analyze(str(path))
    assert res["srm"]["alert"] is False
    cmp = res["comparisons"][0]
    assert cmp["variant"] == "treatment" and cmp["p_value"] < 0.01
    assert cmp["ci"][0] < cmp["effect"] < cmp["ci"][1]
    assert cmp["sequential_p_value"] > cmp["p_value"]  # the price of peeking safely
    res = ab.analyze([{"name": "a", "units": 10000, "conversions": 1000},
                      {"name": "b", "units": 9000, "conversions": 900}])
    assert res["srm"]["alert"] is True and res["verdict"].startswith("invalid")
    with pytest.raises(mlops.InvalidArgument):
        ab.analyze([{"name": "a", "units": 10, "conversions": -1},
                    {"name": "b", "units": 10, "conversions": 1}])
    cont = ab.analyze([{"name": "a", "units": 100, "sum": 1000, "sum_squares": 10100},
                       {"name": "b", "units": 100, "sum": 1100, "sum_squares": 12200}])
    assert cont["metric"] == "continuous" and cont["comparisons"][0]["test"] == "welch_t"


def test_store_rollout_route_record():
    with mlops.Store("mem:") as s:
        r = s.rollout("canary", champion=3, challenger=4, stages=[0.1, 1.0], min_requests=100,
                      min_stage_ms=1, check_interval_ms=1, max_p99_ms=200,
                      min_trigger_requests=50)
        assert r.state == "running" and r.share == 0.1
        arms = [r.route(f"u{i}") for i in range(5000)]
        share = sum(1 for a in arms if a[0] == "challenger") / len(arms)
        assert 0.08 < share < 0.12
        assert all(v == (4 if a == "challenger" else 3) for a, v, _ in arms)
        assert r.route("u1") == r.route("u1")
        for i in range(200):
            r.record("champion", 20.0)
            r.record("challenger", 500.0 if i % 10 == 0 else 25.0)  # 10% slow: p99 500 ms
        assert r.check() == "rolled_back"
        assert "p99" in r.status()["reason"]
        events = [e["event"] for e in r.history()]
        assert events == ["created", "rolled_back"]
        with pytest.raises(mlops.InvalidArgument):
            r.record("challenger", -1.0)
        with pytest.raises(mlops.InvalidArgument):
            r.record("challenger", float("nan"))
        with pytest.raises(mlops.InvalidArgument):
            r.record("nobody", 1.0)
        r.close()
        again = s.rollout("canary")
        assert again.state == "rolled_back" and again.share == 0.0
        with pytest.raises(mlops.AlreadyExists):
            s.rollout("canary", champion=1, challenger=2)
        with pytest.raises(mlops.NotFound):
            s.rollout("missing")


def _cli(store, *args, check=True):
    p = subprocess.run([CLI, "--store", store] + list(args), capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set")
def test_cli_ab(tmp_path):
    store = "mem:"
    assert _cli(store, "ab", "hash", "--mode", "growthbook-v1", "", "a").stdout.strip() == "0.22"
    assert _cli(store, "ab", "hash", "--mode", "growthbook-v2", "seed", "a").stdout.strip() \
        == "0.0505"
    out = json.loads(_cli(store, "--json", "ab", "sample-size", "--baseline", "0.1", "--mde",
                          "0.02").stdout)
    assert out["per_variant"] == 3835 and out["total"] == 7670
    out = json.loads(_cli(store, "ab", "assign", "my-test", "1", "2", "--mode", "growthbook-v1",
                          "--json").stdout)
    assert [u["variant"] for u in out] == [1, 0]  # GrowthBook's "default weights" cases
    path = tmp_path / "r.csv"
    path.write_text("variant,units,conversions\ncontrol,10000,1000\ntreatment,10000,1130\n")
    text = _cli(store, "ab", "analyze", str(path)).stdout
    assert "SRM check" in text and "sequential p-value" in text
    bad = _cli(store, "ab", "sample-size", "--baseline", "0.1", check=False)
    assert bad.returncode == 2


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI is not set")
def test_cli_rollout_file_store(tmp_path):
    store = str(tmp_path / "store")
    _cli(store, "rollout", "create", "c1", "--champion", "1", "--challenger", "2",
         "--stages", "10,100", "--min-requests", "10", "--min-stage-ms", "1",
         "--check-interval-ms", "1", "--max-error-rate", "0.05", "--min-trigger-requests", "10")
    _cli(store, "rollout", "record", "c1", "--arm", "champion", "--latency", "10", "--count", "20")
    _cli(store, "rollout", "record", "c1", "--arm", "challenger", "--latency", "12", "--count",
         "20")
    out = json.loads(_cli(store, "--json", "rollout", "advance", "c1").stdout)
    assert out["state"] == "running" and out["share"] == 1.0
    _cli(store, "rollout", "record", "c1", "--arm", "challenger", "--latency", "12", "--count",
         "15")
    _cli(store, "rollout", "record", "c1", "--arm", "challenger", "--latency", "12", "--error",
         "--count", "5")
    out = json.loads(_cli(store, "--json", "rollout", "advance", "c1").stdout)
    assert out["state"] == "rolled_back"
    hist = json.loads(_cli(store, "--json", "rollout", "history", "c1").stdout)
    assert [e["event"] for e in hist] == ["created", "advanced", "rolled_back"]
    status = json.loads(_cli(store, "--json", "rollout", "status", "c1").stdout)
    assert status["total_outcomes"]["challenger"]["requests"] == 40
    bad = _cli(store, "rollout", "record", "c1", "--arm", "challenger", "--latency", "-3",
               check=False)
    assert bad.returncode == 1

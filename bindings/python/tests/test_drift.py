# SPDX-License-Identifier: MIT
"""Drift statistics against scipy (FG12), profiles, monitors, the CLI."""
import json
import math
import os
import subprocess

import numpy as np
import pytest
import scipy.stats as st
from scipy.spatial.distance import jensenshannon

import mlops
from mlops import drift

try:
    from hypothesis import given, settings, strategies as hs
except ImportError:  # pragma: no cover
    given = None


def rel(a, b):
    return 0.0 if a == b else abs(a - b) / max(abs(b), 1e-300)


def np_psi(base, cur, bins=10, eps=1e-4):
    """The documented PSI: numpy quantile edges, NaN bin, eps floor."""
    fin = base[np.isfinite(base)]
    edges = np.quantile(fin, np.arange(1, bins) / bins)

    def shares(x):
        c = np.bincount(np.searchsorted(edges, x[~np.isnan(x)], side="right"),
                        minlength=bins).astype(float)
        c = np.append(c, np.isnan(x).sum())
        return c
    cb, cc = shares(base), shares(cur)
    keep = (cb + cc) > 0
    pb, pc = cb[keep] / len(base), cc[keep] / len(cur)
    pb[pb == 0] = eps
    pc[pc == 0] = eps
    return float(np.sum((pc - pb) * np.log(pc / pb)))


def test_psi_agrees_with_numpy():
    rng = np.random.default_rng(3)
    for n, m in [(100, 80), (5000, 3000), (20000, 20000)]:
        a = rng.standard_normal(n)
        b = 0.2 + 1.2 * rng.standard_normal(m)
        assert rel(drift.psi(a, b), np_psi(a, b)) < 1e-12
        assert rel(drift.psi(a, b, bins=20), np_psi(a, b, 20)) < 1e-12
    # ties and NaN in their own bin
    a = rng.integers(0, 5, 400).astype(float)
    b = rng.integers(0, 6, 300).astype(float)
    b[::10] = np.nan
    assert rel(drift.psi(a, b), np_psi(a, b)) < 1e-12


def test_ks_agrees_with_scipy_across_switch_over():
    rng = np.random.default_rng(5)
    for n1, n2 in [(1, 1), (3, 7), (50, 50), (999, 1000), (3000, 2000), (10000, 10000),
                   (10001, 500), (30000, 20000)]:
        a = rng.standard_normal(n1)
        b = 0.05 + rng.standard_normal(n2)
        want = st.ks_2samp(a, b)
        got = drift.ks_2samp(a, b)
        assert got.statistic == pytest.approx(want.statistic, rel=1e-14, abs=1e-15)
        assert rel(got.pvalue, want.pvalue) < 1e-9, (n1, n2)
        assert got.method == ("exact" if max(n1, n2) <= 10000 else "asymp")
    for method in ("exact", "asymp"):
        a, b = rng.standard_normal(700), rng.standard_normal(900) * 1.1
        assert rel(drift.ks_2samp(a, b, method).pvalue, st.ks_2samp(a, b, method=method).pvalue) < 1e-9


def test_chi2_agrees_with_scipy():
    rng = np.random.default_rng(9)
    for k in (2, 5, 20):
        a = rng.integers(0, 200, k).astype(float) + 1
        b = rng.integers(0, 200, k).astype(float) + 1
        s, p, dof, _ = st.chi2_contingency([a, b], correction=False)
        got = drift.chi2(a, b)
        assert rel(got.statistic, s) < 1e-12 and rel(got.pvalue, p) < 1e-9 and got.dof == dof
    # a category seen on one side only stays; one empty on both sides is dropped
    a, b = [10, 0, 5, 0], [3, 7, 5, 0]
    s, p, dof, _ = st.chi2_contingency([a[:3], b[:3]], correction=False)
    got = drift.chi2(a, b)
    assert rel(got.statistic, s) < 1e-12 and rel(got.pvalue, p) < 1e-9 and got.dof == 2
    s, p = st.chisquare([18, 22, 30, 30], [25, 25, 25, 25])
    got = drift.chisquare([18, 22, 30, 30], [25, 25, 25, 25])
    assert rel(got.pvalue, p) < 1e-12


def test_distances_agree_with_scipy():
    rng = np.random.default_rng(2)
    p, q = rng.random(12), rng.random(12)
    assert rel(drift.jensenshannon(p, q), jensenshannon(p, q)) < 1e-13
    assert rel(drift.jensenshannon(p, q, base=2), jensenshannon(p, q, base=2)) < 1e-13
    a, b = rng.standard_normal(500), rng.exponential(size=300)
    assert rel(drift.wasserstein(a, b), st.wasserstein_distance(a, b)) < 1e-12
    assert rel(drift.wasserstein(a, b, normalized=True),
               st.wasserstein_distance(a, b) / np.std(a)) < 1e-12


if given is not None:
    @settings(max_examples=150, deadline=None)
    @given(hs.lists(hs.integers(-3, 3), min_size=1, max_size=60),
           hs.lists(hs.integers(-3, 3), min_size=1, max_size=60),
           hs.floats(0.0, 1.0))
    def test_ks_property_ties_and_tiny_samples(a, b, scale):
        a = np.array(a, float) * scale
        b = np.array(b, float)
        want = st.ks_2samp(a, b)
        got = drift.ks_2samp(a, b)
        assert got.statistic == pytest.approx(want.statistic, abs=1e-15)
        assert got.pvalue == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)

    @settings(max_examples=100, deadline=None)
    @given(hs.lists(hs.integers(0, 50), min_size=2, max_size=12).filter(lambda x: sum(x) > 0),
           hs.data())
    def test_chi2_property(a, data):
        b = data.draw(hs.lists(hs.integers(0, 50), min_size=len(a), max_size=len(a))
                      .filter(lambda x: sum(x) > 0))
        t = np.array([a, b], float)
        keep = t.sum(axis=0) > 0
        s, p, dof, _ = st.chi2_contingency(t[:, keep], correction=False)
        got = drift.chi2(a, b)
        assert got.statistic == pytest.approx(s, rel=1e-12, abs=1e-12)
        assert got.pvalue == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert got.dof == dof


def test_bad_inputs():
    with pytest.raises(mlops.InsufficientData):
        drift.ks_2samp([], [1.0])
    with pytest.raises(mlops.InsufficientData):
        drift.ks_2samp([float("nan")] * 3, [1.0])
    with pytest.raises(mlops.InsufficientData):
        drift.psi([float("nan")], [1.0])
    with pytest.raises(mlops.InvalidArgument):
        drift.chi2([1, -1], [1, 1])
    with pytest.raises(mlops.InvalidArgument) as e:
        drift.chi2([1, 2], [1, 2, 3])
    assert "length" in str(e.value)
    # a single value on each side: a clear answer, no division by zero
    assert drift.ks_2samp([1.0], [1.0]).pvalue == 1.0
    assert drift.psi([2.0], [2.0]) == 0.0
    assert math.isfinite(drift.wasserstein([1.0], [2.0], normalized=True))


def test_numpy_views_and_lists():
    x = np.arange(100, dtype=np.float64)
    assert drift.psi(x[::2], x[1::2]) == drift.psi(list(x[::2]), list(x[1::2]))
    assert drift.ks_2samp(x.astype(np.float32), x).statistic == 0.0


def test_profiles_merge_serialize():
    rng = np.random.default_rng(11)
    x = rng.standard_normal(40000) * 3 + 1
    a = drift.Profile("f")
    b = drift.Profile("f")
    a.add(x[:15000])
    b.add(x[15000:])
    a.merge(b)
    s = a.summary()
    assert s["count"] == 40000
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert s["variance"] == pytest.approx(x.var(), rel=1e-10)
    assert s["rank_error"] > 0 and not s["exact"]
    for q in (0.01, 0.25, 0.5, 0.9):  # the stated bound is on ranks
        assert abs((x <= a.quantile(q)).mean() - q) <= s["rank_error"]
    c = drift.Profile.from_bytes(a.to_bytes())
    assert c.to_bytes() == a.to_bytes()
    d = c.describe()
    assert d["name"] == "f" and len(d["edges"]) == 9
    data = bytearray(a.to_bytes())
    data[0] = 9
    with pytest.raises(mlops.VersionMismatch):
        drift.Profile.from_bytes(bytes(data))
    with pytest.raises(mlops.CorruptData):
        drift.Profile.from_bytes(bytes(data[1:40]))
    cat = drift.Profile("f", kind="categorical")
    cat.add(["a", "b", None, "a"])
    with pytest.raises(mlops.InvalidArgument):
        a.merge(cat)
    assert cat.summary()["missing"] == 1


def test_compare_and_monitor_with_history():
    rng = np.random.default_rng(4)
    base = rng.standard_normal(3000)
    with mlops.Store("mem:") as store:
        p = drift.Profile.from_values("score", base)
        c = drift.Profile("plan", kind="categorical")
        c.add(list(rng.choice(["free", "pro", "team"], 3000, p=[0.6, 0.3, 0.1])))
        store.drift_save_baseline("b1", [p, c], run_id="r1", model="m", model_version=2)
        with pytest.raises(mlops.AlreadyExists):
            store.drift_save_baseline("b1", [p])
        profiles, info = store.drift_load_baseline("b1")
        assert info["model_version"] == 2 and info["columns"] == ["score", "plan"]
        alerts = []
        with store.drift_monitor("prod", "b1", window_count=1000) as m:
            m.on_alert(lambda col, w: alerts.append((col["name"], w)))
            m.feed("score", rng.standard_normal(1000))
            assert m.windows == 1 and alerts == []
            m.feed("score", 0.8 + rng.standard_normal(1000))
            assert alerts == [("score", 1)]
            m.feed("plan", ["team"] * 200)
            r = m.evaluate()
            assert r["plan"]["drifted"] and r["plan"]["test"] == "jensenshannon"  # baseline > 1000 rows
            assert m.memory < 200000

            def boom(col, w):
                raise RuntimeError("alert handler failed")
            m.on_alert(boom)
            with pytest.raises(RuntimeError):
                m.evaluate(close=True)
        hist = store.drift_history("prod")
        assert [h["window"] for h in hist] == [0, 1, 2]
        assert store.drift_history("prod", limit=1)[0]["window"] == 2
        assert store.drift_history("none") == []


CLI = os.environ.get("MLOPS_CLI")


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_compare_json_keys_and_values(tmp_path):
    rng = np.random.default_rng(8)
    n = 2000
    a, b = rng.standard_normal(n), 0.1 + 1.1 * rng.standard_normal(n)
    ca, cb = rng.integers(0, 5, n), rng.integers(0, 6, n)
    base, cur = tmp_path / "b.csv", tmp_path / "c.csv"
    base.write_text("x,cat\n" + "".join(f"{x!r},k{c}\n" for x, c in zip(a, ca)))
    cur.write_text("x,cat\n" + "".join(f"{x!r},k{c}\n" for x, c in zip(b, cb)))
    out = subprocess.run([CLI, "--store", "mem:", "--json", "drift", "compare", str(base), str(cur)],
                         capture_output=True, text=True, check=True).stdout
    cols = json.loads(out)
    keys = ["name", "type", "psi", "ks_statistic", "ks_pvalue", "chi2_statistic", "chi2_dof",
            "chi2_pvalue", "js_distance", "wasserstein", "severity"]
    for c in cols:
        assert list(c) == keys
    x, cat = cols
    assert x["type"] == "numeric" and cat["type"] == "categorical"
    want = st.ks_2samp(a, b)
    assert rel(x["ks_pvalue"], want.pvalue) < 1e-9
    assert rel(x["psi"], np_psi(a, b)) < 1e-12
    assert x["chi2_statistic"] is None and cat["ks_statistic"] is None
    t = np.array([np.bincount(ca, minlength=6), np.bincount(cb, minlength=6)])
    t = t[:, t.sum(axis=0) > 0]
    s, p, dof, _ = st.chi2_contingency(t, correction=False)
    assert rel(cat["chi2_pvalue"], p) < 1e-9 and cat["chi2_dof"] == dof
    # profile, merge and compare against the merged profile
    p1, p2, pm = tmp_path / "p1", tmp_path / "p2", tmp_path / "pm"
    subprocess.run([CLI, "drift", "profile", str(base), "-o", str(p1)], check=True,
                   capture_output=True)
    subprocess.run([CLI, "drift", "profile", str(cur), "-o", str(p2)], check=True,
                   capture_output=True)
    subprocess.run([CLI, "drift", "merge", str(p1), str(p2), "-o", str(pm)], check=True,
                   capture_output=True)
    shown = json.loads(subprocess.run([CLI, "--json", "drift", "show", str(pm)], check=True,
                                      capture_output=True, text=True).stdout)
    assert shown[0]["count"] == 2 * n
    r = subprocess.run([CLI, "drift", "compare", str(p1), str(cur), "--bins", "5"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("x,cat\nhello,k1\n")
    r = subprocess.run([CLI, "drift", "compare", str(p1), str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "numeric in the baseline" in r.stderr


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_watch_prints_alerts(tmp_path):
    rng = np.random.default_rng(1)
    base = tmp_path / "b.csv"
    base.write_text("v\n" + "".join(f"{x!r}\n" for x in rng.standard_normal(3000)))
    prof = tmp_path / "p"
    subprocess.run([CLI, "drift", "profile", str(base), "-o", str(prof)], check=True,
                   capture_output=True)
    stream = "v\n" + "".join(f"{x!r}\n" for x in rng.standard_normal(500)) + "\n" + \
        "".join(f"{x!r}\n" for x in 1 + rng.standard_normal(500))
    r = subprocess.run([CLI, "--store", "mem:", "drift", "watch", "--baseline", str(prof),
                        "--monitor", "w"], input=stream, capture_output=True, text=True,
                       check=True)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("window 0")
    assert lines[1].startswith("ALERT window 1: column 'v' drifted")


@pytest.mark.skipif(not CLI, reason="MLOPS_CLI not set")
def test_cli_store_baseline_watch_history(tmp_path):
    rng = np.random.default_rng(12)
    store = str(tmp_path / "store")
    base = tmp_path / "b.csv"
    base.write_text("v,plan\n" + "".join(f"{x!r},{p}\n" for x, p in
                                         zip(rng.standard_normal(2000),
                                             rng.choice(["a", "b", "c"], 2000))))
    run = lambda *a, **k: subprocess.run([CLI, "--store", store, *a], capture_output=True,
                                         text=True, **k)
    r = run("drift", "profile", str(base), "--name", "b1", "--model", "m", "--model-version", "3")
    assert r.returncode == 0, r.stderr
    r = run("drift", "profile", str(base), "--name", "b1")
    assert r.returncode == 1 and "already exists" in r.stderr
    stream = "v,plan\n" + "".join(f"{x!r},a\n" for x in 2 + rng.standard_normal(300))
    r = run("drift", "watch", "--name", "b1", "--monitor", "m1", input=stream)
    assert r.returncode == 0 and "ALERT window 0" in r.stdout
    hist = json.loads(run("--json", "drift", "history", "m1").stdout)
    assert len(hist) == 1 and {c["name"] for c in hist[0]["columns"]} == {"v", "plan"}
    with mlops.Store(store) as s:
        profiles, info = s.drift_load_baseline("b1")
        assert info["model"] == "m" and info["model_version"] == 3
        assert s.drift_history("m1")[0]["dataset_drift"] is True

# SPDX-License-Identifier: MIT
"""Drift monitoring: PSI, KS, chi-squared, Jensen-Shannon and Wasserstein on
arrays; mergeable column profiles; monitors with windows and alerts.

Every statistic agrees with the scipy function it names (scipy 1.10)::

    from mlops import drift
    drift.psi(baseline, current)                 # float
    drift.ks_2samp(a, b)                         # (statistic, pvalue) as scipy's
    drift.chi2(base_counts, cur_counts)          # (statistic, pvalue, dof)

numpy float64 arrays are passed to the library without a copy; lists work too.
"""
import ctypes
import json
from collections import namedtuple

from . import _lib
from ._lib import Bytes, check, enc, fn

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover
    _np = None

NUMERIC, CATEGORICAL = 1, 2
KS_METHODS = {"auto": 0, "exact": 1, "asymp": 2}
PSI_MODES = {"quantile": 0, "evidently": 1}
CORRECTIONS = {None: 0, "none": 0, "bonferroni": 1, "bh": 2}
TESTS = {0: None, 1: "psi", 2: "ks", 3: "chi2", 4: "jensenshannon", 5: "wasserstein", 6: "z",
         7: "chisquare"}
SEVERITIES = {0: "none", 1: "moderate", 2: "significant"}
PARAMS = {"psi_moderate": 1, "psi_significant": 2, "alpha": 3, "distance_threshold": 4,
          "drift_share": 5, "window_count": 6, "window_ms": 7, "correction": 8}

_dp = ctypes.POINTER(ctypes.c_double)
_st = _lib.status_t
_vp = ctypes.c_void_p


class Result(ctypes.Structure):
    """struct mlops_drift_result."""
    _fields_ = [("version", ctypes.c_uint32), ("test", ctypes.c_uint32),
                ("method", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("statistic", ctypes.c_double), ("pvalue", ctypes.c_double),
                ("dof", ctypes.c_double), ("extra", ctypes.c_double),
                ("n_base", ctypes.c_uint64), ("n_cur", ctypes.c_uint64),
                ("nan_base", ctypes.c_uint64), ("nan_cur", ctypes.c_uint64),
                ("inf_base", ctypes.c_uint64), ("inf_cur", ctypes.c_uint64)]


class PsiOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("mode", ctypes.c_uint32),
                ("bins", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("eps", ctypes.c_double), ("edges", _dp), ("n_edges", ctypes.c_size_t)]


class ProfileOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("bins", ctypes.c_uint32), ("sketch_k", ctypes.c_uint32),
                ("max_categories", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("edges", _dp), ("n_edges", ctypes.c_size_t), ("keep_values", ctypes.c_uint64)]


class ProfileStats(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("count", ctypes.c_uint64), ("missing", ctypes.c_uint64),
                ("nan", ctypes.c_uint64), ("inf", ctypes.c_uint64),
                ("min", ctypes.c_double), ("max", ctypes.c_double), ("mean", ctypes.c_double),
                ("variance", ctypes.c_double), ("categories", ctypes.c_uint64),
                ("other", ctypes.c_uint64), ("bins", ctypes.c_uint32), ("exact", ctypes.c_uint32),
                ("rank_error", ctypes.c_double), ("bytes", ctypes.c_uint64)]


class CompareOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("correction", ctypes.c_uint32),
                ("ks_method", ctypes.c_uint32), ("small_sample", ctypes.c_uint32),
                ("alpha", ctypes.c_double), ("distance_threshold", ctypes.c_double),
                ("psi_moderate", ctypes.c_double), ("psi_significant", ctypes.c_double),
                ("drift_share", ctypes.c_double)]


class Column(ctypes.Structure):
    """struct mlops_drift_column."""
    _fields_ = [("version", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("name", ctypes.c_char_p), ("test", ctypes.c_uint32),
                ("drifted", ctypes.c_uint32), ("severity", ctypes.c_uint32),
                ("approximate", ctypes.c_uint32), ("score", ctypes.c_double),
                ("psi", ctypes.c_double), ("ks_statistic", ctypes.c_double),
                ("ks_pvalue", ctypes.c_double), ("ks_error", ctypes.c_double),
                ("chi2_statistic", ctypes.c_double), ("chi2_dof", ctypes.c_double),
                ("chi2_pvalue", ctypes.c_double), ("js_distance", ctypes.c_double),
                ("wasserstein", ctypes.c_double), ("wasserstein_norm", ctypes.c_double),
                ("z_pvalue", ctypes.c_double), ("missing_base", ctypes.c_double),
                ("missing_cur", ctypes.c_double), ("n_base", ctypes.c_uint64),
                ("n_cur", ctypes.c_uint64)]

    def to_dict(self):
        d = {"name": self.name.decode("utf-8", "replace"),
             "type": "numeric" if self.type == NUMERIC else "categorical",
             "test": TESTS.get(self.test), "drifted": bool(self.drifted),
             "severity": SEVERITIES.get(self.severity), "approximate": bool(self.approximate)}
        for f in ("score", "psi", "ks_statistic", "ks_pvalue", "ks_error", "chi2_statistic",
                  "chi2_dof", "chi2_pvalue", "js_distance", "wasserstein", "wasserstein_norm",
                  "z_pvalue", "missing_base", "missing_cur"):
            v = getattr(self, f)
            d[f] = None if v != v else v
        d["n_base"], d["n_cur"] = self.n_base, self.n_cur
        return d


ALERT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(Column), ctypes.c_int64, _vp)

_psi = fn("mlops_drift_psi", _st, ctypes.POINTER(Result), _dp, ctypes.c_size_t, _dp,
          ctypes.c_size_t, ctypes.POINTER(PsiOptions))
_ks = fn("mlops_drift_ks_2samp", _st, ctypes.POINTER(Result), _dp, ctypes.c_size_t, _dp,
         ctypes.c_size_t, ctypes.c_uint32)
_chi2 = fn("mlops_drift_chi2", _st, ctypes.POINTER(Result), _dp, _dp, ctypes.c_size_t,
           ctypes.c_uint32)
_chisquare = fn("mlops_drift_chisquare", _st, ctypes.POINTER(Result), _dp, _dp, ctypes.c_size_t)
_js = fn("mlops_drift_js", _st, ctypes.POINTER(Result), _dp, _dp, ctypes.c_size_t,
         ctypes.c_double)
_wass = fn("mlops_drift_wasserstein", _st, ctypes.POINTER(Result), _dp, ctypes.c_size_t, _dp,
           ctypes.c_size_t)
_p_create = fn("mlops_drift_profile_create", _st, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
               ctypes.POINTER(ProfileOptions))
_p_from = fn("mlops_drift_profile_from_values", _st, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
             _dp, ctypes.c_size_t, ctypes.POINTER(ProfileOptions))
_p_like = fn("mlops_drift_profile_create_like", _st, ctypes.POINTER(_vp), _vp)
_p_add = fn("mlops_drift_profile_add", _st, _vp, _dp, ctypes.c_size_t)
_p_add_s = fn("mlops_drift_profile_add_strings", _st, _vp, ctypes.POINTER(ctypes.c_char_p),
              ctypes.c_size_t)
_p_add_m = fn("mlops_drift_profile_add_missing", _st, _vp, ctypes.c_uint64)
_p_merge = fn("mlops_drift_profile_merge", _st, _vp, _vp)
_p_summary = fn("mlops_drift_profile_summary", _st, ctypes.POINTER(ProfileStats), _vp)
_p_quantile = fn("mlops_drift_profile_quantile", _st, _dp, _vp, ctypes.c_double)
_p_name = fn("mlops_drift_profile_name", ctypes.c_char_p, _vp)
_p_ser = fn("mlops_drift_profile_serialize", _st, ctypes.POINTER(Bytes), _vp)
_p_deser = fn("mlops_drift_profile_deserialize", _st, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
              ctypes.c_size_t)
_p_json = fn("mlops_drift_profile_json", _st, ctypes.POINTER(_vp), _vp)
_p_free = fn("mlops_drift_profile_free", None, _vp)
_compare = fn("mlops_drift_compare", _st, ctypes.POINTER(_vp), ctypes.POINTER(_vp),
              ctypes.c_size_t, ctypes.POINTER(_vp), ctypes.c_size_t,
              ctypes.POINTER(CompareOptions))
_r_count = fn("mlops_drift_report_count", ctypes.c_size_t, _vp)
_r_column = fn("mlops_drift_report_column", _st, ctypes.POINTER(Column), _vp, ctypes.c_size_t)
_r_summary = fn("mlops_drift_report_summary", _st, _dp, ctypes.POINTER(ctypes.c_uint32), _vp)
_r_free = fn("mlops_drift_report_free", None, _vp)
_b_save = fn("mlops_drift_baseline_save", _st, _vp, ctypes.c_char_p, ctypes.POINTER(_vp),
             ctypes.c_size_t, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64)
_b_load = fn("mlops_drift_baseline_load", _st, ctypes.POINTER(ctypes.POINTER(_vp)),
             ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(_vp), _vp, ctypes.c_char_p)
_profiles_free = fn("mlops_drift_profiles_free", None, ctypes.POINTER(_vp), ctypes.c_size_t)
_m_create = fn("mlops_drift_monitor_create", _st, ctypes.POINTER(_vp), _vp, _vp, ctypes.c_char_p,
               ctypes.POINTER(_vp), ctypes.c_size_t, ctypes.POINTER(CompareOptions))
_m_set = fn("mlops_drift_monitor_set_param", _st, _vp, ctypes.c_uint32, ctypes.c_double)
_m_get = fn("mlops_drift_monitor_get_param", _st, _dp, _vp, ctypes.c_uint32)
_m_alert = fn("mlops_drift_monitor_set_alert", _st, _vp, ALERT_FN, _vp)
_m_feed = fn("mlops_drift_monitor_feed", _st, _vp, ctypes.c_char_p, _dp, ctypes.c_size_t)
_m_feed_s = fn("mlops_drift_monitor_feed_strings", _st, _vp, ctypes.c_char_p,
               ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t)
_m_eval = fn("mlops_drift_monitor_evaluate", _st, ctypes.POINTER(_vp), _vp, ctypes.c_uint32)
_m_windows = fn("mlops_drift_monitor_windows", ctypes.c_int64, _vp)
_m_memory = fn("mlops_drift_monitor_memory", ctypes.c_uint64, _vp)
_m_close = fn("mlops_drift_monitor_close", None, _vp)
_history = fn("mlops_drift_history_json", _st, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
              ctypes.c_uint64)
_store_env = fn("mlops_store_env", _vp, _vp)

KsResult = namedtuple("KsResult", "statistic pvalue method")
Chi2Result = namedtuple("Chi2Result", "statistic pvalue dof")


def _f64(values):
    """(pointer, length, keepalive) for a float64 sequence; numpy arrays that
    are already contiguous float64 are passed without a copy."""
    if _np is not None and isinstance(values, _np.ndarray):
        arr = values if (values.dtype == _np.float64 and values.flags.c_contiguous
                         and values.ndim == 1) else _np.ascontiguousarray(values, _np.float64).ravel()
        return arr.ctypes.data_as(_dp), arr.size, arr
    if isinstance(values, (int, float)):
        values = [values]
    values = list(values)
    buf = (ctypes.c_double * max(len(values), 1))(*[float(v) for v in values])
    return ctypes.cast(buf, _dp), len(values), buf


def _strings(values):
    enc_ = [None if v is None else enc(v) for v in values]
    arr = (ctypes.c_char_p * max(len(enc_), 1))(*enc_)
    return arr, len(enc_)


def _result():
    r = Result()
    r.version = 1
    return r


def psi(baseline, current, bins=10, edges=None, eps=None, mode="quantile"):
    """Population stability index of current against baseline (docs/drift.md).

    ``mode='evidently'`` reproduces Evidently's PSI."""
    pb, nb, kb = _f64(baseline)
    pc, nc, kc = _f64(current)
    o = PsiOptions(1, PSI_MODES[mode], bins or 0, 0, eps or 0.0, None, 0)
    ke = None
    if edges is not None:
        pe, ne, ke = _f64(edges)
        o.edges, o.n_edges, o.bins = pe, ne, 0
    r = _result()
    check(_psi(ctypes.byref(r), pb, nb, pc, nc, ctypes.byref(o)))
    del kb, kc, ke
    return r.statistic


def ks_2samp(a, b, method="auto"):
    """Two-sided two-sample KS test as scipy.stats.ks_2samp (NaN excluded)."""
    pa, na, ka = _f64(a)
    pb, nb, kb = _f64(b)
    r = _result()
    check(_ks(ctypes.byref(r), pa, na, pb, nb, KS_METHODS[method]))
    del ka, kb
    return KsResult(r.statistic, r.pvalue, {1: "exact", 2: "asymp"}.get(r.method))


def chi2(base_counts, cur_counts, correction=False):
    """Chi-squared test of homogeneity, as chi2_contingency([a, b], correction=False)."""
    pa, na, ka = _f64(base_counts)
    pb, nb, kb = _f64(cur_counts)
    if na != nb:
        raise _lib.InvalidArgument(f"count arrays differ in length ({na} and {nb})", -1)
    r = _result()
    check(_chi2(ctypes.byref(r), pa, pb, na, 1 if correction else 0))
    del ka, kb
    return Chi2Result(r.statistic, r.pvalue, int(r.dof))


def chisquare(observed, expected):
    """Goodness of fit, as scipy.stats.chisquare(observed, expected)."""
    pa, na, ka = _f64(observed)
    pb, nb, kb = _f64(expected)
    if na != nb:
        raise _lib.InvalidArgument(f"arrays differ in length ({na} and {nb})", -1)
    r = _result()
    check(_chisquare(ctypes.byref(r), pa, pb, na))
    del ka, kb
    return Chi2Result(r.statistic, r.pvalue, int(r.dof))


def jensenshannon(p, q, base=None):
    """Jensen-Shannon distance, as scipy.spatial.distance.jensenshannon."""
    pa, na, ka = _f64(p)
    pb, nb, kb = _f64(q)
    if na != nb:
        raise _lib.InvalidArgument(f"arrays differ in length ({na} and {nb})", -1)
    r = _result()
    check(_js(ctypes.byref(r), pa, pb, na, base or 0.0))
    del ka, kb
    return r.statistic


def wasserstein(a, b, normalized=False):
    """scipy.stats.wasserstein_distance(a, b); normalized divides by
    max(std(a), 0.001) as Evidently does."""
    pa, na, ka = _f64(a)
    pb, nb, kb = _f64(b)
    r = _result()
    check(_wass(ctypes.byref(r), pa, na, pb, nb))
    del ka, kb
    return r.extra if normalized else r.statistic


class Profile:
    """A bounded-memory profile of one column (numeric or categorical)."""

    def __init__(self, name, kind="numeric", bins=0, sketch_k=0, max_categories=0, edges=None,
                 keep_values=0, _handle=None):
        self._h = _vp()
        if _handle is not None:
            self._h = _handle
            return
        o, ke = _profile_options(kind, bins, sketch_k, max_categories, edges, keep_values)
        check(_p_create(ctypes.byref(self._h), None, enc(name), ctypes.byref(o)))
        del ke

    @classmethod
    def from_values(cls, name, values, bins=0, sketch_k=0, edges=None, keep_values=0):
        """A numeric baseline with exact PSI edges (numpy quantiles) and counts."""
        o, ke = _profile_options("numeric", bins, sketch_k, 0, edges, keep_values)
        p, n, kv = _f64(values)
        h = _vp()
        check(_p_from(ctypes.byref(h), None, enc(name), p, n, ctypes.byref(o)))
        del ke, kv
        return cls(None, _handle=h)

    @classmethod
    def from_bytes(cls, data):
        h = _vp()
        check(_p_deser(ctypes.byref(h), None, data, len(data)))
        return cls(None, _handle=h)

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the profile is closed", -17)
        return self._h

    @property
    def name(self):
        return _p_name(self.handle).decode()

    def like(self):
        """An empty profile with this one's name, type and PSI bins."""
        h = _vp()
        check(_p_like(ctypes.byref(h), self.handle))
        return Profile(None, _handle=h)

    def add(self, values):
        """Add numbers (numeric) or strings / None (categorical)."""
        s = self.summary()
        if s["type"] == "categorical":
            arr, n = _strings(values)
            check(_p_add_s(self.handle, arr, n))
        else:
            p, n, keep = _f64(values)
            check(_p_add(self.handle, p, n))
            del keep
        return self

    def add_missing(self, n=1):
        check(_p_add_m(self.handle, n))
        return self

    def merge(self, other):
        check(_p_merge(self.handle, other.handle))
        return self

    def quantile(self, q):
        out = ctypes.c_double()
        check(_p_quantile(ctypes.byref(out), self.handle, q))
        return out.value

    def summary(self):
        s = ProfileStats()
        s.version = 1
        check(_p_summary(ctypes.byref(s), self.handle))
        d = {f: getattr(s, f) for f, _ in ProfileStats._fields_ if f not in ("version", "type")}
        d["type"] = "numeric" if s.type == NUMERIC else "categorical"
        d["exact"] = bool(s.exact)
        return d

    def describe(self):
        """Counts, moments, quantiles, edges and bins (or categories) as a dict."""
        out = _vp()
        check(_p_json(ctypes.byref(out), self.handle))
        return json.loads(_lib.take_string(out.value))

    def to_bytes(self):
        b = Bytes()
        check(_p_ser(ctypes.byref(b), self.handle))
        return _lib.take_bytes(b)

    def close(self):
        if getattr(self, "_h", None):
            _p_free(self._h)
            self._h = _vp()

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"<mlops.drift.Profile {self.name!r} {self.summary()['type']}>"


def _profile_options(kind, bins, sketch_k, max_categories, edges, keep_values):
    o = ProfileOptions()
    o.version = 1
    o.type = {"numeric": NUMERIC, "categorical": CATEGORICAL}[kind]
    o.bins, o.sketch_k, o.max_categories, o.keep_values = bins, sketch_k, max_categories, \
        keep_values
    keep = None
    if edges is not None:
        p, n, keep = _f64(edges)
        o.edges, o.n_edges = p, n
    return o, keep


def _compare_options(correction=None, alpha=0.0, distance_threshold=0.0, psi_moderate=0.0,
                     psi_significant=0.0, drift_share=0.0, small_sample=0, ks_method="auto"):
    return CompareOptions(1, CORRECTIONS[correction], KS_METHODS[ks_method], small_sample, alpha,
                          distance_threshold, psi_moderate, psi_significant, drift_share)


def _handles(profiles):
    profiles = list(profiles)
    arr = (_vp * max(len(profiles), 1))(*[p.handle for p in profiles])
    return arr, len(profiles)


class Report:
    """Per-column results (``columns``: list of dicts) and the dataset verdict."""

    def __init__(self, handle):
        try:
            self.columns = []
            for i in range(_r_count(handle)):
                c = Column()
                c.version = 1
                check(_r_column(ctypes.byref(c), handle, i))
                self.columns.append(c.to_dict())
            share = ctypes.c_double()
            ds = ctypes.c_uint32()
            check(_r_summary(ctypes.byref(share), ctypes.byref(ds), handle))
            self.drift_share = share.value
            self.dataset_drift = bool(ds.value)
        finally:
            _r_free(handle)

    def __getitem__(self, name):
        for c in self.columns:
            if c["name"] == name:
                return c
        raise KeyError(name)

    def __repr__(self):
        return f"<mlops.drift.Report {len(self.columns)} columns, share {self.drift_share:.2f}>"


def compare(baseline, current, **options):
    """Compare current profiles with baseline profiles (matched by name)."""
    hb, nb = _handles(baseline)
    hc, nc = _handles(current)
    o = _compare_options(**options)
    r = _vp()
    check(_compare(ctypes.byref(r), hb, nb, hc, nc, ctypes.byref(o)))
    return Report(r)


class Monitor:
    """Baselines plus the current window; alerts when a column crosses its threshold.

    ``store``: a :class:`mlops.Store` to record each closed window in (read it
    back with ``store.drift_history(name)``)."""

    def __init__(self, baseline, name="monitor", store=None, window_count=0, window_ms=0,
                 **options):
        self._h = _vp()
        self._store = store
        self._cb = None
        self._exc = None
        hb, nb = _handles(baseline)
        o = _compare_options(**options)
        check(_m_create(ctypes.byref(self._h), None, store.handle if store else None, enc(name),
                        hb, nb, ctypes.byref(o)))
        if window_count:
            self.set_param("window_count", window_count)
        if window_ms:
            self.set_param("window_ms", window_ms)

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the monitor is closed", -17)
        return self._h

    def set_param(self, name, value):
        check(_m_set(self.handle, PARAMS[name], float(value)))

    def get_param(self, name):
        out = ctypes.c_double()
        check(_m_get(ctypes.byref(out), self.handle, PARAMS[name]))
        return out.value

    def on_alert(self, callback):
        """callback(column_dict, window) runs when a column crosses its threshold."""
        if callback is None:
            self._cb = None
            check(_m_alert(self.handle, ALERT_FN(), None))
            return

        def tramp(col, window, payload):
            try:
                callback(col.contents.to_dict(), window)
                return 0
            except BaseException as e:  # converted, never left pending in C
                self._exc = e
                return 1
        self._cb = ALERT_FN(tramp)
        check(_m_alert(self.handle, self._cb, None))

    def _check(self, st):
        if st == -11 and self._exc is not None:
            e, self._exc = self._exc, None
            raise e
        check(st)

    def feed(self, column, values):
        """Feed numbers (numeric column) or strings / None (categorical column)."""
        if (_np is not None and isinstance(values, _np.ndarray) and values.dtype.kind in "fiub") \
                or (not isinstance(values, _np.ndarray if _np is not None else tuple)
                    and len(values) and all(isinstance(v, (int, float)) for v in values)):
            p, n, keep = _f64(values)
            self._check(_m_feed(self.handle, enc(column), p, n))
            del keep
        else:
            arr, n = _strings(values)
            self._check(_m_feed_s(self.handle, enc(column), arr, n))

    def evaluate(self, close=False):
        r = _vp()
        self._check(_m_eval(ctypes.byref(r), self.handle, 1 if close else 0))
        return Report(r)

    @property
    def windows(self):
        return _m_windows(self.handle)

    @property
    def memory(self):
        return _m_memory(self.handle)

    def close(self):
        if getattr(self, "_h", None):
            _m_close(self._h)
            self._h = _vp()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class DriftMixin:
    """Store methods for drift baselines and history."""

    def drift_save_baseline(self, name, profiles, run_id=None, model=None, model_version=0):
        """Save profiles as a named baseline with the run / model version they belong to."""
        hb, nb = _handles(profiles)
        check(_b_save(self.handle, enc(name), hb, nb, enc(run_id), enc(model), model_version))

    def drift_load_baseline(self, name):
        """(profiles, info) of a saved baseline; info has run_id, model, model_version..."""
        arr = ctypes.POINTER(_vp)()
        n = ctypes.c_size_t()
        info = _vp()
        check(_b_load(ctypes.byref(arr), ctypes.byref(n), ctypes.byref(info), self.handle,
                      enc(name)))
        profiles = []
        for i in range(n.value):
            profiles.append(Profile(None, _handle=_vp(arr[i])))
            arr[i] = None
        _profiles_free(arr, n.value)
        return profiles, json.loads(_lib.take_string(info.value, _store_env(self.handle)))

    def drift_history(self, monitor, limit=0):
        """The recorded windows of a monitor, oldest first (list of dicts)."""
        out = _vp()
        check(_history(ctypes.byref(out), self.handle, enc(monitor), limit))
        return json.loads(_lib.take_string(out.value, _store_env(self.handle)))

    def drift_monitor(self, name, baseline, **kwargs):
        """A Monitor recording into this store; baseline: profiles or a baseline name."""
        if isinstance(baseline, str):
            baseline, _ = self.drift_load_baseline(baseline)
        return Monitor(baseline, name=name, store=self, **kwargs)

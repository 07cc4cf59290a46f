# SPDX-License-Identifier: MIT
"""A/B tests and rollouts.

``mlops.ab`` holds the assignment and statistics functions (``assign``,
``sample_size``, ``analyze``, ``hash`` ...); ``Store.rollout(...)`` opens or
creates a canary/shadow rollout with ``route()`` and ``record()``.
"""
import csv
import ctypes
import json
import math

from . import _lib
from ._lib import check, enc, fn

HASH_MODES = {"xxh3": 1, "growthbook-v1": 2, "growthbook-v2": 3}
NOT_IN_EXPERIMENT = -1
HOLDOUT = -2
ARM_CHAMPION, ARM_CHALLENGER, ROUTE_SHADOW = 0, 1, 0x100
OUTCOME_ERROR, OUTCOME_METRIC = 1, 2
STATES = {1: "running", 2: "promoted", 3: "rolled_back"}
_D = ctypes.c_double
_PD = ctypes.POINTER(ctypes.c_double)
_vp = ctypes.c_void_p


class ExperimentOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("hash_mode", ctypes.c_uint32),
                ("seed", ctypes.c_char_p), ("n_variants", ctypes.c_uint32),
                ("weights", _PD), ("coverage", _D), ("namespace_id", ctypes.c_char_p),
                ("namespace_start", _D), ("namespace_end", _D), ("holdout", _D),
                ("holdout_seed", ctypes.c_char_p), ("primary_metric", ctypes.c_char_p),
                ("guardrails", ctypes.c_char_p), ("alpha", _D), ("power", _D),
                ("baseline", _D), ("mde", _D), ("relative_mde", ctypes.c_uint32),
                ("min_runtime_days", ctypes.c_uint32)]


class VariantStats(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("units", ctypes.c_uint64), ("sum", _D),
                ("sum_sq", _D)]


class AnalyzeOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("metric", ctypes.c_uint32), ("alpha", _D),
                ("planned", _PD), ("tau2", _D), ("cs_tuning", _D), ("plan", _vp),
                ("now_ms", ctypes.c_int64)]


class RolloutOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("champion", ctypes.c_int64),
                ("challenger", ctypes.c_int64), ("model", ctypes.c_char_p),
                ("alias", ctypes.c_char_p), ("champion_uri", ctypes.c_char_p),
                ("challenger_uri", ctypes.c_char_p), ("stages", _PD),
                ("n_stages", ctypes.c_uint32), ("shadow", ctypes.c_uint32),
                ("min_requests", ctypes.c_uint64), ("min_stage_ms", ctypes.c_int64),
                ("check_interval_ms", ctypes.c_int64), ("failure_threshold", ctypes.c_uint32),
                ("min_trigger_requests", ctypes.c_uint64), ("max_error_rate", _D),
                ("max_p99_ms", _D), ("max_metric_drop", _D), ("metric_alpha", _D),
                ("metric_lower_is_better", ctypes.c_uint32), ("min_agreement", _D)]


S = _lib.status_t
_hash = fn("mlops_ab_hash", S, _PD, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_char_p,
           ctypes.c_size_t)
_ranges = fn("mlops_ab_bucket_ranges", S, _PD, ctypes.c_uint32, _D, _PD, ctypes.c_uint32)
_choose = fn("mlops_ab_choose_variation", ctypes.c_int32, _D, _PD, ctypes.c_uint32)
_in_ns = fn("mlops_ab_in_namespace", S, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_char_p, _D, _D)
_exp_create = fn("mlops_ab_experiment_create", S, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
                 ctypes.POINTER(ExperimentOptions))
_exp_force = fn("mlops_ab_experiment_force", S, _vp, ctypes.c_char_p, ctypes.c_size_t,
                ctypes.c_int32)
_exp_assign = fn("mlops_ab_experiment_assign", S, ctypes.POINTER(ctypes.c_int32), _PD, _vp,
                 ctypes.c_char_p, ctypes.c_size_t)
_exp_units = fn("mlops_ab_experiment_planned_units", ctypes.c_uint64, _vp)
_exp_save = fn("mlops_ab_experiment_save", S, _vp, _vp)
_exp_load = fn("mlops_ab_experiment_load", S, ctypes.POINTER(_vp), _vp, ctypes.c_char_p)
_exp_json = fn("mlops_ab_experiment_json", S, ctypes.POINTER(_vp), _vp)
_exp_free = fn("mlops_ab_experiment_free", None, _vp)
_ss_props = fn("mlops_ab_sample_size_proportions", S, ctypes.POINTER(ctypes.c_uint64), _D, _D,
               ctypes.c_uint32, _D, _D)
_ss_normal = fn("mlops_ab_sample_size_normal", S, _PD, _D, _D, _D, _D)
_ss_ttest = fn("mlops_ab_sample_size_ttest", S, _PD, _D, _D, _D, _D)
_pw_normal = fn("mlops_ab_power_normal", S, _PD, _D, _D, _D, _D)
_pw_ttest = fn("mlops_ab_power_ttest", S, _PD, _D, _D, _D, _D)
_es_props = fn("mlops_ab_effect_size_proportions", S, _PD, _D, _D)
_ztest = fn("mlops_ab_ztest_proportions", S, _PD, _PD, _PD, _PD, ctypes.c_uint64,
            ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, _D)
_welch = fn("mlops_ab_welch_ttest", S, _PD, _PD, _PD, _PD, _PD, _D, _D, _D, _D, _D, _D, _D)
_srm = fn("mlops_ab_srm", S, _PD, _PD, ctypes.POINTER(ctypes.c_uint64), _PD, ctypes.c_uint32)
_msprt = fn("mlops_ab_msprt", S, _PD, _D, _D, _D, _D)
_cs = fn("mlops_ab_cs_halfwidth", S, _PD, _D, _D, _D, _D)
_analyze = fn("mlops_ab_analyze", S, ctypes.POINTER(_vp), _vp, ctypes.POINTER(VariantStats),
              ctypes.c_uint32, ctypes.POINTER(AnalyzeOptions))
_ro_create = fn("mlops_rollout_create", S, ctypes.POINTER(_vp), _vp, ctypes.c_char_p,
                ctypes.POINTER(RolloutOptions))
_ro_open = fn("mlops_rollout_open", S, ctypes.POINTER(_vp), _vp, ctypes.c_char_p)
_ro_route = fn("mlops_rollout_route", S, ctypes.POINTER(ctypes.c_uint32),
               ctypes.POINTER(ctypes.c_int64), _vp, ctypes.c_char_p, ctypes.c_size_t)
_ro_record = fn("mlops_rollout_record", S, _vp, ctypes.c_uint32, _D, ctypes.c_uint32, _D)
_ro_agree = fn("mlops_rollout_record_agreement", S, _vp, ctypes.c_int)
_ro_check = fn("mlops_rollout_check", S, ctypes.POINTER(ctypes.c_uint32), _vp)
_ro_rollback = fn("mlops_rollout_rollback", S, _vp, ctypes.c_char_p)
_ro_flush = fn("mlops_rollout_flush", S, _vp)
_ro_state = fn("mlops_rollout_state", ctypes.c_uint32, _vp)
_ro_share = fn("mlops_rollout_share", _D, _vp)
_ro_status = fn("mlops_rollout_status_json", S, ctypes.POINTER(_vp), _vp)
_ro_history = fn("mlops_rollout_history_json", S, ctypes.POINTER(_vp), _vp)
_ro_close = fn("mlops_rollout_close", None, _vp)
_store_env = fn("mlops_store_env", _vp, _vp)


def _darray(values):
    values = [float(v) for v in values]
    return (ctypes.c_double * len(values))(*values)


def _take_json(ptr, env=None):
    text = _lib.take_string(ptr.value, env)
    return json.loads(text, parse_constant=float) if text is not None else None


# ---- hashing ----

def hash(seed, value, mode="xxh3"):  # noqa: A001 - the name users look for
    """The unit's hash in [0, 1) under ``mode`` ("xxh3", "growthbook-v1", "growthbook-v2")."""
    if mode not in HASH_MODES:
        raise _lib.InvalidArgument(f"unknown hash mode {mode!r}; use one of {list(HASH_MODES)}",
                                   -1)
    v = enc(value)
    out = ctypes.c_double()
    check(_hash(ctypes.byref(out), HASH_MODES[mode], enc(seed), v, len(v)))
    return out.value


def bucket_ranges(n, coverage=1.0, weights=None):
    """GrowthBook's getBucketRanges: a list of (start, end) per variant."""
    out = (ctypes.c_double * (2 * n))()
    w = _darray(weights) if weights is not None else None
    check(_ranges(out, n, coverage, w, len(weights) if weights is not None else 0))
    return [(out[2 * i], out[2 * i + 1]) for i in range(n)]


def choose_variation(x, ranges):
    """GrowthBook's chooseVariation: the index of the range holding x, or -1."""
    flat = _darray([v for r in ranges for v in r])
    return _choose(x, flat, len(ranges))


def in_namespace(unit, namespace, start, end):
    """GrowthBook's inNamespace."""
    u = enc(unit)
    out = ctypes.c_int()
    check(_in_ns(ctypes.byref(out), u, len(u), enc(namespace), start, end))
    return bool(out.value)


# ---- experiments ----

class Experiment:
    """An assignment rule: variants, weights, coverage, namespace, holdout, forced units,
    and optionally the pre-registered plan (metric, alpha, power, baseline, mde, runtime)."""

    def __init__(self, key, variants=None, weights=None, coverage=None, seed=None, mode="xxh3",
                 namespace=None, namespace_range=None, holdout=0.0, forced=None,
                 primary_metric=None, guardrails=None, alpha=None, power=None, baseline=None,
                 mde=None, relative_mde=False, min_runtime_days=None, _handle=None):
        self._h = _vp()
        if _handle is not None:
            self._h = _handle
            return
        if mode not in HASH_MODES:
            raise _lib.InvalidArgument(f"unknown hash mode {mode!r}", -1)
        o = ExperimentOptions(version=1, hash_mode=HASH_MODES[mode])
        self._keep = []
        if weights is not None:
            arr = _darray(weights)
            self._keep.append(arr)
            o.weights = arr
            o.n_variants = len(weights)
        if variants is not None:
            if weights is not None and variants != len(weights):
                raise _lib.InvalidArgument(f"{variants} variants but {len(weights)} weights", -1)
            o.n_variants = variants
        o.coverage = coverage or 0.0
        o.seed = enc(seed)
        o.namespace_id = enc(namespace)
        if namespace_range is not None:
            o.namespace_start, o.namespace_end = namespace_range
        o.holdout = holdout
        o.primary_metric = enc(primary_metric)
        if guardrails is not None:
            o.guardrails = enc(guardrails if isinstance(guardrails, str) else ",".join(guardrails))
        o.alpha = alpha or 0.0
        o.power = power or 0.0
        o.baseline = baseline or 0.0
        o.mde = mde or 0.0
        o.relative_mde = 1 if relative_mde else 0
        o.min_runtime_days = min_runtime_days or 0
        check(_exp_create(ctypes.byref(self._h), None, enc(key), ctypes.byref(o)))
        for unit, variant in (forced or {}).items():
            self.force(unit, variant)

    @classmethod
    def load(cls, store, key):
        h = _vp()
        check(_exp_load(ctypes.byref(h), store.handle, enc(key)))
        e = cls(None, _handle=h)
        e._store = store
        return e

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the experiment is freed", -17)
        return self._h

    def force(self, unit, variant):
        u = enc(unit)
        check(_exp_force(self.handle, u, len(u), variant))

    def assign(self, unit):
        """The variant index, or None outside the experiment, or "holdout"."""
        return self.assign_with_bucket(unit)[0]

    def assign_with_bucket(self, unit):
        u = enc(unit)
        v = ctypes.c_int32()
        x = ctypes.c_double()
        check(_exp_assign(ctypes.byref(v), ctypes.byref(x), self.handle, u, len(u)))
        if v.value == HOLDOUT:
            return "holdout", x.value
        return (None if v.value < 0 else v.value), x.value

    @property
    def planned_units(self):
        return _exp_units(self.handle)

    def save(self, store):
        check(_exp_save(self.handle, store.handle))

    def to_dict(self):
        p = _vp()
        check(_exp_json(ctypes.byref(p), self.handle))
        return _take_json(p)

    def close(self):
        if getattr(self, "_h", None):
            _exp_free(self._h)
            self._h = _vp()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def assign(experiment, units, store=None, **options):
    """Variants of units. ``experiment`` is an :class:`Experiment` or a key; with a key and
    ``store``, a stored experiment of that key is used if there is one, else one built
    from ``options`` (variants, weights, coverage, mode, seed, namespace, holdout ...).
    A single unit (str/bytes) gives one result, a list gives a list."""
    single = isinstance(units, (str, bytes))
    unit_list = [units] if single else list(units)
    exp, own = experiment, False
    if not isinstance(experiment, Experiment):
        exp = None
        if store is not None and not options:
            try:
                exp = Experiment.load(store, experiment)
            except _lib.NotFound:
                exp = None
        if exp is None:
            exp = Experiment(experiment, **options)
        own = True
    try:
        out = [exp.assign(u) for u in unit_list]
    finally:
        if own:
            exp.close()
    return out[0] if single else out


# ---- statistics ----

def sample_size(baseline, mde, alpha=0.05, power=0.8, relative=False):
    """Units per variant for a two-sided test of two conversion rates
    (statsmodels NormalIndPower with proportion_effectsize): {"per_variant", "total"}."""
    n = ctypes.c_uint64()
    check(_ss_props(ctypes.byref(n), baseline, mde, 1 if relative else 0, alpha, power))
    return {"per_variant": n.value, "total": 2 * n.value}


def effect_size_proportions(p1, p2):
    out = ctypes.c_double()
    check(_es_props(ctypes.byref(out), p1, p2))
    return out.value


def solve_nobs1(effect, alpha=0.05, power=0.8, ratio=1.0, test="normal"):
    """NormalIndPower / TTestIndPower solve_power for nobs1."""
    out = ctypes.c_double()
    f = _ss_normal if test == "normal" else _ss_ttest
    check(f(ctypes.byref(out), effect, alpha, power, ratio))
    return out.value


def power(effect, nobs1, alpha=0.05, ratio=1.0, test="normal"):
    out = ctypes.c_double()
    f = _pw_normal if test == "normal" else _pw_ttest
    check(f(ctypes.byref(out), effect, nobs1, alpha, ratio))
    return out.value


def ztest_proportions(conv_t, n_t, conv_c, n_c, alpha=0.05):
    """(z, p, (ci_low, ci_high)) of treatment minus control."""
    z, p, lo, hi = (ctypes.c_double() for _ in range(4))
    check(_ztest(ctypes.byref(z), ctypes.byref(p), ctypes.byref(lo), ctypes.byref(hi), conv_t,
                 n_t, conv_c, n_c, alpha))
    return z.value, p.value, (lo.value, hi.value)


def welch_ttest(mean_t, var_t, n_t, mean_c, var_c, n_c, alpha=0.05):
    """(t, df, p, (ci_low, ci_high)) from summary statistics (sample variances, ddof 1)."""
    t, df, p, lo, hi = (ctypes.c_double() for _ in range(5))
    check(_welch(ctypes.byref(t), ctypes.byref(df), ctypes.byref(p), ctypes.byref(lo),
                 ctypes.byref(hi), mean_t, var_t, n_t, mean_c, var_c, n_c, alpha))
    return t.value, df.value, p.value, (lo.value, hi.value)


def srm(observed, planned):
    """Sample-ratio-mismatch check: (chi2, p); GrowthBook alerts at p < 0.001."""
    obs = (ctypes.c_uint64 * len(observed))(*observed)
    chi2, p = ctypes.c_double(), ctypes.c_double()
    check(_srm(ctypes.byref(chi2), ctypes.byref(p), obs, _darray(planned), len(observed)))
    return chi2.value, p.value


def msprt(effect, variance, tau2, prev_p=1.0):
    """Always-valid p-value of the normal-mixture SPRT (running minimum with prev_p)."""
    out = ctypes.c_double()
    check(_msprt(ctypes.byref(out), effect, variance, tau2, prev_p))
    return out.value


def cs_halfwidth(variance, n, alpha=0.05, tuning=5000):
    """Half-width of GrowthBook's asymptotic confidence sequence."""
    out = ctypes.c_double()
    check(_cs(ctypes.byref(out), variance, n, alpha, tuning))
    return out.value


def _read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def analyze(results, alpha=None, planned=None, experiment=None, tau2=None, cs_tuning=None,
            now_ms=None):
    """Analyze per-variant results (control first): effect, CI, p-value, SRM, sequential p.

    ``results`` is a CSV path or a list of dicts with ``name``/``variant``, ``units`` and
    either ``conversions`` (binary metric) or ``sum`` and ``sum_squares`` (continuous).
    ``experiment`` (an :class:`Experiment` with a plan) makes the fixed-horizon verdict wait
    for the plan. Returns the analysis as a dict."""
    rows = _read_csv(results) if isinstance(results, str) else list(results)
    if not rows:
        raise _lib.InvalidArgument("no variants given", -1)
    continuous = "sum" in rows[0]
    arr = (VariantStats * len(rows))()
    keep = []
    for i, r in enumerate(rows):
        name = enc(str(r.get("name", r.get("variant"))))
        keep.append(name)
        if continuous:
            s, sq = float(r["sum"]), float(r.get("sum_squares", r.get("sum_sq", math.nan)))
        else:
            s, sq = float(r["conversions"]), 0.0
        units = int(r["units"])
        if units < 0:
            raise _lib.InvalidArgument(f"variant {name.decode()!r}: units must be >= 0", -1)
        arr[i] = VariantStats(name, units, s, sq)
    o = AnalyzeOptions(version=1, metric=2 if continuous else 1)
    o.alpha = alpha or 0.0
    if planned is not None:
        w = _darray(planned)
        keep.append(w)
        o.planned = w
    o.tau2 = tau2 or 0.0
    o.cs_tuning = cs_tuning or 0.0
    if experiment is not None:
        o.plan = experiment.handle
    o.now_ms = now_ms or 0
    p = _vp()
    check(_analyze(ctypes.byref(p), None, arr, len(rows), ctypes.byref(o)))
    return _take_json(p)


# ---- rollouts ----

class Rollout:
    """A canary or shadow rollout (see Store.rollout)."""

    def __init__(self, store, handle):
        self._store = store  # keeps the Python store alive; the C rollout holds a reference too
        self._h = handle

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the rollout is closed", -17)
        return self._h

    def route(self, unit):
        """(arm, version, shadow): arm is "champion" or "challenger"; with shadow True the
        champion serves and the host also runs the challenger."""
        u = enc(unit)
        r, v = ctypes.c_uint32(), ctypes.c_int64()
        check(_ro_route(ctypes.byref(r), ctypes.byref(v), self.handle, u, len(u)))
        arm = "challenger" if (r.value & 0xFF) == ARM_CHALLENGER else "champion"
        return arm, v.value, bool(r.value & ROUTE_SHADOW)

    def record(self, arm, latency_ms, error=False, metric=None):
        """Record one request's outcome for arm "champion" or "challenger" (or 0/1)."""
        a = {"champion": ARM_CHAMPION, "challenger": ARM_CHALLENGER}.get(arm, arm)
        if not isinstance(a, int):
            raise _lib.InvalidArgument(f"unknown arm {arm!r} (champion or challenger)", -1)
        flags = (OUTCOME_ERROR if error else 0) | (OUTCOME_METRIC if metric is not None else 0)
        check(_ro_record(self.handle, a, float(latency_ms), flags,
                         float(metric) if metric is not None else 0.0))

    def record_agreement(self, agree):
        check(_ro_agree(self.handle, 1 if agree else 0))

    def check(self):
        """Run a check (triggers, then advance); return the state."""
        st = ctypes.c_uint32()
        check(_ro_check(ctypes.byref(st), self.handle))
        return STATES.get(st.value, "unknown")

    advance = check

    def rollback(self, reason=None):
        check(_ro_rollback(self.handle, enc(reason)))

    def flush(self):
        check(_ro_flush(self.handle))

    @property
    def state(self):
        return STATES.get(_ro_state(self.handle), "unknown")

    @property
    def share(self):
        return _ro_share(self.handle)

    def status(self):
        p = _vp()
        check(_ro_status(ctypes.byref(p), self.handle))
        return _take_json(p, _store_env(self._store.handle))

    def history(self):
        p = _vp()
        check(_ro_history(ctypes.byref(p), self.handle))
        return _take_json(p, _store_env(self._store.handle))

    def close(self):
        if getattr(self, "_h", None):
            _ro_close(self._h)
            self._h = _vp()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class RolloutMixin:
    """Store methods of the rollout module (mixed into mlops.Store)."""

    def rollout(self, name, champion=None, challenger=None, *, model=None, alias=None,
                champion_uri=None, challenger_uri=None, stages=None, shadow=False,
                min_requests=0, min_stage_ms=0, check_interval_ms=0, failure_threshold=0,
                min_trigger_requests=0, max_error_rate=0.0, max_p99_ms=0.0,
                max_metric_drop=0.0, metric_alpha=0.0, metric_lower_is_better=False,
                min_agreement=0.0):
        """Open the rollout ``name``, or create it when versions (or URIs) are given.

        ``stages`` are fractions of traffic (default 0.01, 0.05, 0.1, 0.25, 0.5, 1)."""
        h = _vp()
        creating = any(x is not None for x in (champion, challenger, champion_uri,
                                                challenger_uri))
        if not creating:
            check(_ro_open(ctypes.byref(h), self.handle, enc(name)))
            return Rollout(self, h)
        o = RolloutOptions(version=1)
        o.champion = champion or 0
        o.challenger = challenger or 0
        o.model, o.alias = enc(model), enc(alias)
        o.champion_uri, o.challenger_uri = enc(champion_uri), enc(challenger_uri)
        arr = None
        if stages is not None:
            arr = _darray(stages)
            o.stages, o.n_stages = arr, len(stages)
        o.shadow = 1 if shadow else 0
        o.min_requests, o.min_stage_ms = min_requests, min_stage_ms
        o.check_interval_ms, o.failure_threshold = check_interval_ms, failure_threshold
        o.min_trigger_requests = min_trigger_requests
        o.max_error_rate, o.max_p99_ms = max_error_rate, max_p99_ms
        o.max_metric_drop, o.metric_alpha = max_metric_drop, metric_alpha
        o.metric_lower_is_better = 1 if metric_lower_is_better else 0
        o.min_agreement = min_agreement
        check(_ro_create(ctypes.byref(h), self.handle, enc(name), ctypes.byref(o)))
        return Rollout(self, h)

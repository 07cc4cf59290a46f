# SPDX-License-Identifier: MIT
"""Experiment tracking: experiments, runs, params, metrics, tags, artifacts,
dataset versions and search (mixed into mlops.Store).

    with mlops.Store("./mlops-data") as store:
        with store.start_run("churn", name="baseline") as run:
            run.log_params({"lr": 0.1, "epochs": 10})
            for step in range(10):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_artifact("model.bin")
        best = store.search_runs("metrics.loss < 0.2", order_by=["metrics.loss ASC"])
"""
import ctypes
import os
import sys
from dataclasses import dataclass, field

from . import _lib
from ._lib import check, enc, fn

c_void_p, c_char_p, c_size_t = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
c_int64, c_uint32, c_uint64, c_double = ctypes.c_int64, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_double
P = ctypes.POINTER
st_t = _lib.status_t

RUNNING, SCHEDULED, FINISHED, FAILED, KILLED = 1, 2, 3, 4, 5
_STATUS = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}
_VIEW = {"active": 1, "deleted": 2, "all": 3}
_LIFECYCLE = {1: "active", 2: "deleted"}
ITEM_PARAM, ITEM_TAG, ITEM_METRIC, ITEM_DATASET = 1, 2, 3, 4
F_ID, F_EXP, F_NAME, F_PARENT, F_USER = 1, 2, 3, 4, 5


class MetricPoint(ctypes.Structure):
    _fields_ = [("key", c_char_p), ("value", c_double), ("step", c_int64),
                ("timestamp_ms", c_int64)]


class MetricValue(ctypes.Structure):
    _fields_ = [("value", c_double), ("step", c_int64), ("timestamp_ms", c_int64)]


class RunOptions(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("flags", c_uint32), ("name", c_char_p),
                ("parent_run_id", c_char_p), ("start_ms", c_int64),
                ("tag_keys", P(c_char_p)), ("tag_values", P(c_char_p)), ("n_tags", c_size_t),
                ("env_keys", P(c_char_p)), ("env_values", P(c_char_p)), ("n_env", c_size_t)]


class SearchOptions(ctypes.Structure):
    _fields_ = [("version", c_uint32), ("view", c_uint32),
                ("experiment_ids", P(c_char_p)), ("n_experiment_ids", c_size_t),
                ("filter", c_char_p), ("order_by", P(c_char_p)), ("n_order_by", c_size_t),
                ("max_results", c_size_t), ("page_token", c_char_p)]


class _Hash(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint8 * 16)]


def _hex(h):
    return bytes(h.bytes).hex()


_exp_create = fn("mlops_experiment_create", st_t, P(c_void_p), c_void_p, c_char_p)
_exp_get_or_create = fn("mlops_experiment_get_or_create", st_t, P(c_void_p), c_void_p, c_char_p)
_exp_by_name = fn("mlops_experiment_get_by_name", st_t, P(c_void_p), c_void_p, c_char_p)
_exp_rename = fn("mlops_experiment_rename", st_t, c_void_p, c_char_p, c_char_p)
_exp_delete = fn("mlops_experiment_delete", st_t, c_void_p, c_char_p)
_exp_restore = fn("mlops_experiment_restore", st_t, c_void_p, c_char_p)
_exp_list_open = fn("mlops_experiment_list_open", st_t, P(c_void_p), c_void_p, c_uint32)
_exp_list_count = fn("mlops_experiment_list_count", c_size_t, c_void_p)
_exp_list_id = fn("mlops_experiment_list_id", c_char_p, c_void_p, c_size_t)
_exp_list_name = fn("mlops_experiment_list_name", c_char_p, c_void_p, c_size_t)
_exp_list_lc = fn("mlops_experiment_list_lifecycle", c_uint32, c_void_p, c_size_t)
_exp_list_ct = fn("mlops_experiment_list_creation_time", c_int64, c_void_p, c_size_t)
_exp_list_ut = fn("mlops_experiment_list_last_update_time", c_int64, c_void_p, c_size_t)
_exp_list_free = fn("mlops_experiment_list_free", None, c_void_p)

_run_options_init = fn("mlops_run_options_init", st_t, P(RunOptions), c_uint32)
_run_create = fn("mlops_run_create", st_t, P(c_void_p), c_void_p, c_char_p, P(RunOptions))
_run_open = fn("mlops_run_open", st_t, P(c_void_p), c_void_p, c_char_p)
_run_id = fn("mlops_run_id", c_char_p, c_void_p)
_run_exp_id = fn("mlops_run_experiment_id", c_char_p, c_void_p)
_run_status = fn("mlops_run_get_status", st_t, P(c_uint32), P(c_int64), P(c_int64), c_void_p)
_run_end = fn("mlops_run_end", st_t, c_void_p, c_uint32, c_int64)
_run_set_name = fn("mlops_run_set_name", st_t, c_void_p, c_char_p)
_run_delete = fn("mlops_run_delete", st_t, c_void_p, c_char_p)
_run_restore = fn("mlops_run_restore", st_t, c_void_p, c_char_p)
_log_param = fn("mlops_run_log_param", st_t, c_void_p, c_char_p, c_char_p)
_log_metric = fn("mlops_run_log_metric", st_t, c_void_p, c_char_p, c_double, c_int64)
_log_metric_at = fn("mlops_run_log_metric_at", st_t, c_void_p, c_char_p, c_double, c_int64,
                    c_int64)
_log_batch = fn("mlops_run_log_batch", st_t, c_void_p, P(MetricPoint), c_size_t, P(c_char_p),
                P(c_char_p), c_size_t, P(c_char_p), P(c_char_p), c_size_t)
_set_tag = fn("mlops_run_set_tag", st_t, c_void_p, c_char_p, c_char_p)
_delete_tag = fn("mlops_run_delete_tag", st_t, c_void_p, c_char_p)
_set_async = fn("mlops_run_set_async", st_t, c_void_p, c_size_t)
_flush = fn("mlops_run_flush", st_t, c_void_p)
_latest = fn("mlops_run_latest_metric_point", st_t, P(MetricValue), c_void_p, c_char_p)
_get_param = fn("mlops_run_get_param", st_t, P(c_void_p), c_void_p, c_char_p)
_get_tag = fn("mlops_run_get_tag", st_t, P(c_void_p), c_void_p, c_char_p)
_hist_open = fn("mlops_metric_history_open", st_t, P(c_void_p), c_void_p, c_char_p, c_size_t)
_hist_count = fn("mlops_metric_history_count", c_size_t, c_void_p)
_hist_points = fn("mlops_metric_history_points", P(MetricValue), c_void_p)
_hist_free = fn("mlops_metric_history_free", None, c_void_p)
_art_bytes = fn("mlops_run_log_artifact_bytes", st_t, c_void_p, c_char_p, c_char_p, c_size_t)
_art_file = fn("mlops_run_log_artifact", st_t, c_void_p, c_char_p, c_char_p)
_art_stat = fn("mlops_run_artifact_stat", st_t, P(_Hash), P(c_uint64), c_void_p, c_char_p)
_art_read = fn("mlops_run_artifact_read", st_t, P(_lib.Bytes), c_void_p, c_char_p, c_uint64)
_art_list_open = fn("mlops_artifact_list_open", st_t, P(c_void_p), c_void_p, c_char_p)
_art_list_count = fn("mlops_artifact_list_count", c_size_t, c_void_p)
_art_list_path = fn("mlops_artifact_list_path", c_char_p, c_void_p, c_size_t)
_art_list_size = fn("mlops_artifact_list_size", c_uint64, c_void_p, c_size_t)
_art_list_hash = fn("mlops_artifact_list_hash", P(_Hash), c_void_p, c_size_t)
_art_list_free = fn("mlops_artifact_list_free", None, c_void_p)
_ds_bytes = fn("mlops_run_log_dataset_bytes", st_t, P(_Hash), c_void_p, c_char_p, c_char_p,
               c_size_t, c_int64)
_ds_file = fn("mlops_run_log_dataset_file", st_t, P(_Hash), c_void_p, c_char_p, c_char_p,
              c_int64)
_ds_count = fn("mlops_run_dataset_count", st_t, P(c_size_t), c_void_p)
_ds_get = fn("mlops_run_dataset_get", st_t, P(_Hash), P(c_int64), P(c_void_p), c_void_p,
             c_size_t)
_run_close = fn("mlops_run_close", None, c_void_p)

_search = fn("mlops_run_search", st_t, P(c_void_p), c_void_p, P(SearchOptions))
_list_get = fn("mlops_run_list_get", st_t, P(c_void_p), c_void_p, c_char_p)
_list_count = fn("mlops_run_list_count", c_size_t, c_void_p)
_list_token = fn("mlops_run_list_next_page_token", c_char_p, c_void_p)
_list_text = fn("mlops_run_list_text", c_char_p, c_void_p, c_size_t, c_uint32)
_list_info = fn("mlops_run_list_info", st_t, P(c_uint32), P(c_uint32), P(c_int64), P(c_int64),
                c_void_p, c_size_t)
_list_item_count = fn("mlops_run_list_item_count", c_size_t, c_void_p, c_size_t, c_uint32)
_list_item_key = fn("mlops_run_list_item_key", c_char_p, c_void_p, c_size_t, c_uint32, c_size_t)
_list_item_value = fn("mlops_run_list_item_value", c_char_p, c_void_p, c_size_t, c_uint32,
                      c_size_t)
_list_metric = fn("mlops_run_list_metric", P(MetricValue), c_void_p, c_size_t, c_size_t)
_list_rows = fn("mlops_run_list_dataset_rows", c_int64, c_void_p, c_size_t, c_size_t)
_list_free = fn("mlops_run_list_free", None, c_void_p)
_export = fn("mlops_run_export_mlflow", st_t, P(c_size_t), c_void_p, c_char_p, P(c_char_p),
             c_size_t)
_import = fn("mlops_run_import_mlflow", st_t, P(c_size_t), c_void_p, c_char_p)
_store_env = fn("mlops_store_env", c_void_p, c_void_p)


def _dec(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _strs(items):
    arr = (c_char_p * max(1, len(items)))()
    for i, s in enumerate(items):
        arr[i] = enc(s)
    return arr


def _param_str(v):
    """Params and tags are text, as in MLflow (str() of the value)."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


@dataclass
class Experiment:
    """An experiment, as a plain object."""
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    creation_time: int = 0
    last_update_time: int = 0

    @property
    def id(self):
        return self.experiment_id


@dataclass
class RunData:
    """A run's recorded data, as plain Python values (from search or get_run).

    ``metrics`` maps each key to its latest value (MLflow's rule);
    ``metric_points`` gives (value, step, timestamp_ms) for each.
    """
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    lifecycle_stage: str
    start_time: int
    end_time: object
    user_id: str
    parent_run_id: object
    params: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    metric_points: dict = field(default_factory=dict)
    datasets: list = field(default_factory=list)


class RunList(list):
    """A page of search results; ``next_page_token`` is None on the last page."""
    next_page_token = None


def _read_list(h, i):
    st, lc = c_uint32(), c_uint32()
    start, end = c_int64(), c_int64()
    check(_list_info(ctypes.byref(st), ctypes.byref(lc), ctypes.byref(start), ctypes.byref(end),
                     h, i))
    parent = _dec(_list_text(h, i, F_PARENT))
    r = RunData(run_id=_dec(_list_text(h, i, F_ID)), experiment_id=_dec(_list_text(h, i, F_EXP)),
                run_name=_dec(_list_text(h, i, F_NAME)), status=_STATUS_NAME.get(st.value, "?"),
                lifecycle_stage=_LIFECYCLE.get(lc.value, "active"), start_time=start.value,
                end_time=end.value or None, user_id=_dec(_list_text(h, i, F_USER)),
                parent_run_id=parent or None)
    for kind, d in ((ITEM_PARAM, r.params), (ITEM_TAG, r.tags)):
        for j in range(_list_item_count(h, i, kind)):
            d[_dec(_list_item_key(h, i, kind, j))] = _dec(_list_item_value(h, i, kind, j))
    for j in range(_list_item_count(h, i, ITEM_METRIC)):
        k = _dec(_list_item_key(h, i, ITEM_METRIC, j))
        m = _list_metric(h, i, j).contents
        r.metrics[k] = m.value
        r.metric_points[k] = (m.value, m.step, m.timestamp_ms)
    for j in range(_list_item_count(h, i, ITEM_DATASET)):
        rows = _list_rows(h, i, j)
        r.datasets.append({"name": _dec(_list_item_key(h, i, ITEM_DATASET, j)),
                           "digest": _dec(_list_item_value(h, i, ITEM_DATASET, j)),
                           "rows": rows if rows >= 0 else None})
    return r


class Run:
    """An open run. Use as a context manager: the run ends FINISHED on a normal
    exit and FAILED when an exception leaves the block."""

    def __init__(self, store, handle):
        self._store = store  # keeps the Store (and its handle) alive
        self._h = handle
        self.run_id = _dec(_run_id(handle))
        self.experiment_id = _dec(_run_exp_id(handle))

    @property
    def id(self):
        return self.run_id

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the run handle is closed", -17)
        return self._h

    def _env(self):
        return _store_env(self._store.handle)

    # ---- logging ----
    def log_param(self, key, value):
        check(_log_param(self.handle, enc(key), enc(_param_str(value))))

    def log_params(self, params):
        """Log several params at once (all or nothing, up to 100)."""
        self.log_batch(params=params)

    def log_metric(self, key, value, step=0, timestamp=None):
        """Log one point; ``timestamp`` in milliseconds (default: now)."""
        if timestamp is None:
            check(_log_metric(self.handle, enc(key), float(value), int(step)))
        else:
            check(_log_metric_at(self.handle, enc(key), float(value), int(step), int(timestamp)))

    def log_metrics(self, metrics, step=0, timestamp=None):
        """Log a dict of key -> value at one step (all or nothing)."""
        self.log_batch(metrics=metrics, step=step, timestamp=timestamp)

    def log_batch(self, metrics=None, params=None, tags=None, step=0, timestamp=None):
        """Metrics (a dict, or a list of (key, value, step, timestamp_ms)),
        params and tags in one all-or-nothing write."""
        import time
        ts = int(time.time() * 1000) if timestamp is None else int(timestamp)
        pts = []
        if isinstance(metrics, dict):
            pts = [(k, v, step, ts) for k, v in metrics.items()]
        elif metrics:
            for m in metrics:
                m = tuple(m)
                pts.append((m[0], m[1], m[2] if len(m) > 2 else step, m[3] if len(m) > 3 else ts))
        keep = [enc(p[0]) for p in pts]
        arr = (MetricPoint * max(1, len(pts)))()
        for i, (k, v, s, t) in enumerate(pts):
            arr[i] = MetricPoint(keep[i], float(v), int(s), int(t))
        params = params or {}
        tags = tags or {}
        pk, pv = _strs(list(params)), _strs([_param_str(v) for v in params.values()])
        tk, tv = _strs(list(tags)), _strs([_param_str(v) for v in tags.values()])
        check(_log_batch(self.handle, arr, len(pts), pk, pv, len(params), tk, tv, len(tags)))

    def set_tag(self, key, value):
        check(_set_tag(self.handle, enc(key), enc(_param_str(value))))

    def set_tags(self, tags):
        self.log_batch(tags=tags)

    def delete_tag(self, key):
        check(_delete_tag(self.handle, enc(key)))

    def set_name(self, name):
        check(_run_set_name(self.handle, enc(name)))

    def set_async(self, capacity=65536):
        """Buffer log_metric() points in a bounded ring written in the
        background (0 switches it off). Errors surface at flush()."""
        check(_set_async(self.handle, int(capacity)))

    def flush(self):
        check(_flush(self.handle))

    # ---- artifacts and datasets ----
    def log_artifact(self, local_path, artifact_path=None):
        """Store a file or a whole directory as artifacts."""
        check(_art_file(self.handle, enc(os.fspath(local_path)), enc(artifact_path)))

    def log_artifacts(self, local_dir, artifact_path=None):
        self.log_artifact(local_dir, artifact_path)

    def log_bytes(self, artifact_path, data):
        """Store bytes (or text, as UTF-8) as an artifact."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data)
        check(_art_bytes(self.handle, enc(artifact_path), data, len(data)))

    log_text = log_bytes

    def artifact_info(self, path):
        h, size = _Hash(), c_uint64()
        check(_art_stat(ctypes.byref(h), ctypes.byref(size), self.handle, enc(path)))
        return {"path": path, "size": size.value, "hash": _hex(h)}

    def read_artifact(self, path, max_size=0):
        b = _lib.Bytes()
        check(_art_read(ctypes.byref(b), self.handle, enc(path), int(max_size)))
        return _lib.take_bytes(b)

    def artifacts(self, prefix=None):
        """[{"path", "size", "hash"}] below a logical directory, by path."""
        h = c_void_p()
        check(_art_list_open(ctypes.byref(h), self.handle, enc(prefix)))
        try:
            return [{"path": _dec(_art_list_path(h, i)), "size": _art_list_size(h, i),
                     "hash": _hex(_art_list_hash(h, i).contents)}
                    for i in range(_art_list_count(h))]
        finally:
            _art_list_free(h)

    def log_dataset(self, path_or_bytes, name=None, rows=None):
        """Record a dataset version (XXH3-128 of a file or bytes); returns the
        digest in hex."""
        h = _Hash()
        r = -1 if rows is None else int(rows)
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
            check(_ds_bytes(ctypes.byref(h), self.handle, enc(name or "dataset"), data,
                            len(data), r))
        else:
            check(_ds_file(ctypes.byref(h), self.handle, enc(name),
                           enc(os.fspath(path_or_bytes)), r))
        return _hex(h)

    def datasets(self):
        n = c_size_t()
        check(_ds_count(ctypes.byref(n), self.handle))
        out = []
        for i in range(n.value):
            h, rows, name = _Hash(), c_int64(), c_void_p()
            check(_ds_get(ctypes.byref(h), ctypes.byref(rows), ctypes.byref(name), self.handle, i))
            out.append({"name": _lib.take_string(name.value, self._env()), "digest": _hex(h),
                        "rows": rows.value if rows.value >= 0 else None})
        return out

    # ---- reading ----
    def get_param(self, key):
        p = c_void_p()
        check(_get_param(ctypes.byref(p), self.handle, enc(key)))
        return _lib.take_string(p.value, self._env())

    def get_tag(self, key):
        p = c_void_p()
        check(_get_tag(ctypes.byref(p), self.handle, enc(key)))
        return _lib.take_string(p.value, self._env())

    def latest_metric(self, key):
        m = MetricValue()
        check(_latest(ctypes.byref(m), self.handle, enc(key)))
        return m.value

    def metric_history(self, key, max_points=0):
        """[(step, timestamp_ms, value)] in logging order (or downsampled by step)."""
        h = c_void_p()
        check(_hist_open(ctypes.byref(h), self.handle, enc(key), int(max_points)))
        try:
            n = _hist_count(h)
            p = _hist_points(h)
            return [(p[i].step, p[i].timestamp_ms, p[i].value) for i in range(n)]
        finally:
            _hist_free(h)

    def info(self):
        return self._store.get_run(self.run_id)

    @property
    def status(self):
        s = c_uint32()
        check(_run_status(ctypes.byref(s), None, None, self.handle))
        return _STATUS_NAME.get(s.value, "?")

    def end(self, status="FINISHED"):
        code = _STATUS.get(str(status).upper()) if not isinstance(status, int) else status
        if code is None:
            raise _lib.InvalidArgument(f"unknown run status {status!r}", -1)
        check(_run_end(self.handle, code, 0))

    def close(self):
        if getattr(self, "_h", None):
            _run_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._h:
                self.end("FAILED" if exc_type is not None else "FINISHED")
        finally:
            self.close()
        return False

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"<mlops.Run {self.run_id} experiment={self.experiment_id}>"


class TrackingMixin:
    """Store methods for experiments and runs."""

    # ---- experiments ----
    def create_experiment(self, name):
        p = c_void_p()
        check(_exp_create(ctypes.byref(p), self.handle, enc(name)))
        return _lib.take_string(p.value, _store_env(self.handle))

    def experiment(self, name):
        """The experiment with this name, created if missing."""
        p = c_void_p()
        check(_exp_get_or_create(ctypes.byref(p), self.handle, enc(name)))
        eid = _lib.take_string(p.value, _store_env(self.handle))
        return self.get_experiment(eid)

    def get_experiment_by_name(self, name):
        p = c_void_p()
        check(_exp_by_name(ctypes.byref(p), self.handle, enc(name)))
        return self.get_experiment(_lib.take_string(p.value, _store_env(self.handle)))

    def get_experiment(self, experiment_id):
        for e in self.experiments(view="all"):
            if e.experiment_id == str(experiment_id):
                return e
        raise _lib.NotFound(f"no experiment with id '{experiment_id}'", -2)

    def experiments(self, view="active"):
        h = c_void_p()
        check(_exp_list_open(ctypes.byref(h), self.handle, _VIEW[view]))
        try:
            return [Experiment(_dec(_exp_list_id(h, i)), _dec(_exp_list_name(h, i)),
                               _LIFECYCLE.get(_exp_list_lc(h, i), "active"),
                               _exp_list_ct(h, i), _exp_list_ut(h, i))
                    for i in range(_exp_list_count(h))]
        finally:
            _exp_list_free(h)

    def rename_experiment(self, experiment_id, new_name):
        check(_exp_rename(self.handle, enc(_exp_id(experiment_id)), enc(new_name)))

    def delete_experiment(self, experiment_id):
        check(_exp_delete(self.handle, enc(_exp_id(experiment_id))))

    def restore_experiment(self, experiment_id):
        check(_exp_restore(self.handle, enc(_exp_id(experiment_id))))

    # ---- runs ----
    def start_run(self, experiment=None, name=None, tags=None, parent=None, environment=None,
                  experiment_id=None, system_tags=True, start_time=None):
        """Start a run. ``experiment`` is an Experiment or a name (created if
        missing); None uses the default experiment "0"."""
        if experiment_id is None and experiment is not None:
            experiment_id = (experiment.experiment_id if isinstance(experiment, Experiment)
                             else self.experiment(experiment).experiment_id)
        opts = RunOptions()
        check(_run_options_init(ctypes.byref(opts), 1))
        keep = []
        opts.name = enc(name)
        tags = dict(tags or {})
        if system_tags and sys.argv and sys.argv[0] not in ("", "-c", "-m"):
            # the script, as MLflow's mlflow.source.name (the C library records the executable)
            tags.setdefault("mlops.source.name", os.path.abspath(sys.argv[0]))
        if parent is not None:
            opts.parent_run_id = enc(parent.run_id if isinstance(parent, Run) else parent)
        if not system_tags:
            opts.flags |= 1
        if start_time is not None:
            opts.start_ms = int(start_time)
        for d, kf, vf, nf in ((tags, "tag_keys", "tag_values", "n_tags"),
                              (environment, "env_keys", "env_values", "n_env")):
            if d:
                ks, vs = _strs(list(d)), _strs([_param_str(v) for v in d.values()])
                keep += [ks, vs]
                setattr(opts, kf, ks)
                setattr(opts, vf, vs)
                setattr(opts, nf, len(d))
        h = c_void_p()
        check(_run_create(ctypes.byref(h), self.handle, enc(experiment_id), ctypes.byref(opts)))
        return Run(self, h)

    def open_run(self, run_id):
        """Attach to an existing run (it is not ended when the handle closes,
        unless used as a context manager)."""
        h = c_void_p()
        check(_run_open(ctypes.byref(h), self.handle, enc(run_id)))
        return Run(self, h)

    def get_run(self, run_id):
        h = c_void_p()
        check(_list_get(ctypes.byref(h), self.handle, enc(run_id)))
        try:
            return _read_list(h, 0)
        finally:
            _list_free(h)

    def delete_run(self, run_id):
        check(_run_delete(self.handle, enc(run_id)))

    def restore_run(self, run_id):
        check(_run_restore(self.handle, enc(run_id)))

    def search_runs(self, filter=None, order_by=None, experiments=None, max_results=None,
                    view="active", page_token=None):
        """Runs matching an MLflow filter (plus OR and parentheses), as a list
        of RunData with a ``next_page_token`` attribute."""
        opts = SearchOptions()
        opts.version = 1
        opts.view = _VIEW[view]
        exps = [_exp_id(e) for e in (experiments or [])]
        if isinstance(order_by, str):
            order_by = [order_by]
        order_by = list(order_by or [])
        ea, oa = _strs(exps), _strs(order_by)
        opts.experiment_ids, opts.n_experiment_ids = ea, len(exps)
        opts.order_by, opts.n_order_by = oa, len(order_by)
        opts.filter = enc(filter)
        opts.max_results = int(max_results or 0)
        opts.page_token = enc(page_token)
        h = c_void_p()
        check(_search(ctypes.byref(h), self.handle, ctypes.byref(opts)))
        try:
            out = RunList(_read_list(h, i) for i in range(_list_count(h)))
            out.next_page_token = _dec(_list_token(h))
            return out
        finally:
            _list_free(h)

    def export_mlflow(self, directory, run_ids=None):
        """Write runs in MLflow's mlruns layout; returns the number written."""
        n = c_size_t()
        ids = list(run_ids) if run_ids is not None else None
        arr = _strs(ids) if ids is not None else None
        check(_export(ctypes.byref(n), self.handle, enc(os.fspath(directory)), arr,
                      len(ids) if ids is not None else 0))
        return n.value

    def import_mlflow(self, directory):
        """Read an MLflow mlruns directory; returns the number of runs imported."""
        n = c_size_t()
        check(_import(ctypes.byref(n), self.handle, enc(os.fspath(directory))))
        return n.value


def _exp_id(e):
    return e.experiment_id if isinstance(e, Experiment) else str(e)

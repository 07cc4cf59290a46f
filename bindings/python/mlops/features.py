# SPDX-License-Identifier: MIT
"""The feature store: views, ingest, point-in-time joins and the online store.

    view = store.feature_view("driver_stats", entity="driver_id", timestamp="event_timestamp",
                              created="created", ttl=86400,
                              features={"trips": "int64", "rating": "float64"})
    view.ingest("driver_stats.csv")                  # or {"driver_id": [...], ...} / numpy
    train = store.get_historical_features(entities, ["driver_stats:trips"])
    online = store.online(mlops.Store("mem:"))
    online.materialize("driver_stats", start, end)
    online.get_online_features(["driver_stats:trips"], [{"driver_id": 1001}]).to_dict()

Timestamps given from Python may be epoch seconds (int or float), datetime objects,
numpy datetime64 values, or RFC 3339 strings; the library keeps microseconds.
Columns come back as numpy arrays when numpy is installed (floats with NaN for
null; integer columns with nulls become float64), else as lists with None.
"""
import ctypes
import datetime as _dt
import json
import os

from . import _lib
from ._lib import check, enc, fn

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover
    _np = None

INT64, FLOAT64, STRING, BOOL, FLOAT32_VECTOR = 1, 2, 3, 4, 5
_TYPE_NAMES = {"int64": INT64, "int": INT64, "float64": FLOAT64, "float": FLOAT64,
               "double": FLOAT64, "string": STRING, "str": STRING, "bool": BOOL}
TRANSFORMS = {"none": 0, "log1p": 1, "ratio": 2, "bucketize": 3, "standardize": 4, "function": 5}
STATUS = {1: "PRESENT", 2: "NULL_VALUE", 3: "NOT_FOUND", 4: "OUTSIDE_MAX_AGE"}
JOIN_AS_OF_KNOWLEDGE, JOIN_FULL_NAMES, JOIN_TIMESTAMPS = 1, 2, 4

_vp = ctypes.c_void_p
_st = _lib.status_t
_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_double),
                       ctypes.POINTER(ctypes.c_double), ctypes.c_size_t, ctypes.c_void_p)


class _Spec(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_uint32), ("dim", ctypes.c_uint32),
                ("transform", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("inputs", ctypes.c_char_p), ("params", ctypes.POINTER(ctypes.c_double)),
                ("n_params", ctypes.c_size_t), ("function", ctypes.c_char_p)]


class _ViewOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("entity", ctypes.c_char_p), ("join_keys", ctypes.POINTER(ctypes.c_char_p)),
                ("n_join_keys", ctypes.c_size_t), ("key_types", ctypes.POINTER(ctypes.c_uint32)),
                ("timestamp", ctypes.c_char_p), ("created", ctypes.c_char_p),
                ("ttl_us", ctypes.c_int64), ("features", ctypes.POINTER(_Spec)),
                ("n_features", ctypes.c_size_t), ("description", ctypes.c_char_p),
                ("tags", ctypes.c_char_p)]


class _JoinOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("timestamp", ctypes.c_char_p), ("threads", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32)]


class _Value(ctypes.Structure):
    _fields_ = [("status", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("event_us", ctypes.c_int64), ("i64", ctypes.c_int64), ("f64", ctypes.c_double),
                ("str", ctypes.c_void_p), ("vec", ctypes.POINTER(ctypes.c_float)),
                ("len", ctypes.c_size_t)]


_PP = ctypes.POINTER(_vp)
_CPP = ctypes.POINTER(ctypes.c_char_p)
_fs_open = fn("mlops_feature_store_open", _st, _PP, _vp)
_fs_close = fn("mlops_feature_store_close", None, _vp)
_fs_register = fn("mlops_feature_store_register", _st, _vp, ctypes.c_char_p, _FN, _vp)
_fs_list = fn("mlops_feature_store_list", _st, _PP, _vp)
_view_apply = fn("mlops_feature_view_apply", _st, _PP, _vp, ctypes.c_char_p,
                 ctypes.POINTER(_ViewOptions))
_view_open = fn("mlops_feature_view_open", _st, _PP, _vp, ctypes.c_char_p)
_view_close = fn("mlops_feature_view_close", None, _vp)
_view_ingest = fn("mlops_feature_view_ingest", _st, ctypes.POINTER(ctypes.c_uint64), _vp, _vp)
_view_ingest_csv = fn("mlops_feature_view_ingest_csv", _st, ctypes.POINTER(ctypes.c_uint64), _vp,
                      ctypes.c_char_p, _vp, _vp)
_view_name = fn("mlops_feature_view_name", ctypes.c_char_p, _vp)
_view_version = fn("mlops_feature_view_version", ctypes.c_uint32, _vp)
_view_hash = fn("mlops_feature_view_hash", ctypes.c_char_p, _vp)
_view_describe = fn("mlops_feature_view_describe", _st, _PP, _vp)
_join = fn("mlops_feature_store_join", _st, _PP, _vp, _vp, _CPP, ctypes.c_size_t,
           ctypes.POINTER(_JoinOptions))
_latest = fn("mlops_feature_store_latest", _st, _PP, _vp, _CPP, ctypes.c_size_t, ctypes.c_int64,
             ctypes.c_int64)
_t_create = fn("mlops_feature_table_create", _st, _PP, _vp)
_t_add = fn("mlops_feature_table_add_column", _st, _vp, ctypes.c_char_p, ctypes.c_uint32,
            ctypes.c_uint32, _vp, _vp, ctypes.c_size_t)
_t_read_csv = fn("mlops_feature_table_read_csv", _st, _PP, _vp, ctypes.c_char_p)
_t_write_csv = fn("mlops_feature_table_write_csv", _st, _vp, ctypes.c_char_p)
_t_rows = fn("mlops_feature_table_rows", ctypes.c_size_t, _vp)
_t_cols = fn("mlops_feature_table_columns", ctypes.c_size_t, _vp)
_t_col = fn("mlops_feature_table_column", ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint32), _vp, ctypes.c_size_t)
_t_data = fn("mlops_feature_table_data", _vp, _vp, ctypes.c_size_t)
_t_valid = fn("mlops_feature_table_valid", _vp, _vp, ctypes.c_size_t)
_t_string = fn("mlops_feature_table_string", _vp, ctypes.POINTER(ctypes.c_size_t), _vp,
               ctypes.c_size_t, ctypes.c_size_t)
_t_free = fn("mlops_feature_table_free", None, _vp)
_on_open = fn("mlops_feature_online_open", _st, _PP, _vp, _vp)
_on_close = fn("mlops_feature_online_close", None, _vp)
_on_mat = fn("mlops_feature_online_materialize", _st, ctypes.POINTER(ctypes.c_uint64), _vp,
             ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64)
_on_mat_inc = fn("mlops_feature_online_materialize_incremental", _st,
                 ctypes.POINTER(ctypes.c_uint64), _vp, ctypes.c_char_p, ctypes.c_int64)
_on_push = fn("mlops_feature_online_push", _st, ctypes.POINTER(ctypes.c_uint64), _vp,
              ctypes.c_char_p, _vp)
_on_get = fn("mlops_feature_online_get", _st, ctypes.POINTER(_Value), _vp, _CPP, ctypes.c_size_t,
             _CPP, ctypes.c_size_t, _CPP, ctypes.c_size_t)
_store_env = fn("mlops_store_env", _vp, _vp)


# ---- conversions ----

def to_us(t):
    """A timestamp (epoch seconds, datetime, numpy datetime64, RFC 3339 text) in microseconds."""
    if t is None:
        return None
    if isinstance(t, bool):
        raise TypeError("a bool is not a timestamp")
    if isinstance(t, int):
        return t * 1_000_000
    if isinstance(t, float):
        return int(round(t * 1e6))
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        delta = t - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if _np is not None and isinstance(t, _np.datetime64):
        return int(t.astype("datetime64[us]").astype(_np.int64))
    if isinstance(t, _dt.timedelta):
        raise TypeError("a timedelta is not a timestamp")
    if isinstance(t, str):
        return t
    if _np is not None and isinstance(t, (_np.integer, _np.floating)):
        return to_us(t.item())
    raise TypeError(f"cannot use {type(t).__name__} as a timestamp")


def _seconds_us(ttl):
    if ttl is None:
        return 0
    if isinstance(ttl, _dt.timedelta):
        return int(round(ttl.total_seconds() * 1e6))
    return int(round(float(ttl) * 1e6))


class _Table:
    """Owns an mlops_feature_table handle."""

    def __init__(self, h):
        self.h = h

    def close(self):
        if self.h:
            _t_free(self.h)
            self.h = None

    def __del__(self):
        self.close()


def _columns_of(data):
    """dict / pandas DataFrame / list of dicts -> ordered dict of columns."""
    if hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, dict):
        return {str(c): data[c].to_numpy() if hasattr(data[c], "to_numpy") else data[c]
                for c in data.columns}
    if isinstance(data, dict):
        return dict(data)
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], dict):
        names = []
        for row in data:
            for k in row:
                if k not in names:
                    names.append(k)
        return {k: [row.get(k) for row in data] for k in names}
    raise TypeError("columns must be a dict of name -> values, a list of row dicts, "
                    "a pandas DataFrame or a CSV path")


def _ts_column(values):
    """Convert a timestamp column to int64 microseconds (or keep text for the C parser)."""
    if _np is not None and isinstance(values, _np.ndarray):
        if values.dtype.kind == "M":
            return values.astype("datetime64[us]").astype(_np.int64), None
        if values.dtype.kind in "iu":
            return values.astype(_np.int64) * 1_000_000, None
        if values.dtype.kind == "f":
            valid = ~_np.isnan(values)
            out = _np.where(valid, _np.round(_np.nan_to_num(values) * 1e6), 0).astype(_np.int64)
            return out, None if valid.all() else valid.astype(_np.uint8)
        values = values.tolist()
    conv = [to_us(v) for v in values]
    if any(isinstance(v, str) for v in conv):
        return [None if v is None else (v if isinstance(v, str) else f"{v / 1e6:.6f}")
                for v in conv], "text"
    valid = [v is not None for v in conv]
    return [0 if v is None else v for v in conv], (None if all(valid) else valid)


def _add_column(th, name, values, ts=False):
    """Add one column to a table handle, inferring its type."""
    valid = None
    if ts:
        values, valid = _ts_column(values)
        if valid == "text":
            return _add_strings(th, name, values)
        if _np is not None and isinstance(values, _np.ndarray):
            return _add_array(th, name, values, INT64, valid)
        return _add_list(th, name, values, INT64, valid)
    if _np is not None and isinstance(values, _np.ndarray):
        k = values.dtype.kind
        if k == "b":
            return _add_array(th, name, values.astype(_np.uint8), BOOL, None)
        if k in "iu":
            return _add_array(th, name, values.astype(_np.int64), INT64, None)
        if k == "f" and values.ndim == 2:
            return _add_array(th, name, values.astype(_np.float32), FLOAT32_VECTOR, None)
        if k == "f":
            valid = ~_np.isnan(values)
            return _add_array(th, name, values.astype(_np.float64), FLOAT64,
                              None if valid.all() else valid.astype(_np.uint8))
        if k == "M":
            return _add_array(th, name, values.astype("datetime64[us]").astype(_np.int64), INT64,
                              None)
        values = values.tolist()
    values = list(values)
    kinds = {type(v) for v in values if v is not None}
    if _np is not None:
        kinds = {bool if issubclass(t, _np.bool_) else int if issubclass(t, _np.integer)
                 else float if issubclass(t, _np.floating) else t for t in kinds}
    valid = [v is not None for v in values]
    if kinds <= {bool} and kinds:
        return _add_list(th, name, [bool(v) if v is not None else 0 for v in values], BOOL, valid)
    if kinds <= {int} and kinds:
        return _add_list(th, name, [int(v) if v is not None else 0 for v in values], INT64, valid)
    if kinds <= {int, float} and kinds:
        vals = [float(v) if v is not None else 0.0 for v in values]
        return _add_list(th, name, vals, FLOAT64, valid)
    if kinds and all(issubclass(t, (list, tuple)) or (_np is not None and issubclass(t, _np.ndarray))
                     for t in kinds):
        dim = len(next(v for v in values if v is not None))
        flat = []
        for v in values:
            seq = list(v) if v is not None else [0.0] * dim
            if len(seq) != dim:
                raise _lib.InvalidArgument(f"column '{name}': vectors of different lengths", -1)
            flat.extend(float(x) for x in seq)
        arr = (ctypes.c_float * len(flat))(*flat)
        vb = (ctypes.c_uint8 * len(values))(*valid) if not all(valid) else None
        return check(_t_add(th, enc(name), FLOAT32_VECTOR, dim, ctypes.cast(arr, _vp),
                            ctypes.cast(vb, _vp) if vb is not None else None, len(values)),
                     f"column '{name}'")
    if kinds <= {str, _dt.datetime} or not kinds:
        return _add_strings(th, name, [None if v is None else
                                       (v.isoformat() if isinstance(v, _dt.datetime) else v)
                                       for v in values])
    raise _lib.InvalidArgument(f"column '{name}': cannot store values of types "
                               f"{sorted(t.__name__ for t in kinds)}", -1)


def _add_strings(th, name, values):
    arr = (ctypes.c_char_p * max(1, len(values)))(*[None if v is None else enc(v) for v in values])
    check(_t_add(th, enc(name), STRING, 0, ctypes.cast(arr, _vp), None, len(values)),
          f"column '{name}'")


def _add_list(th, name, values, typ, valid):
    ct = {INT64: ctypes.c_int64, FLOAT64: ctypes.c_double, BOOL: ctypes.c_uint8}[typ]
    arr = (ct * max(1, len(values)))(*values)
    vb = None
    if valid is not None and not all(valid):
        vb = (ctypes.c_uint8 * len(values))(*[1 if v else 0 for v in valid])
    check(_t_add(th, enc(name), typ, 0, ctypes.cast(arr, _vp),
                 ctypes.cast(vb, _vp) if vb is not None else None, len(values)),
          f"column '{name}'")


def _add_array(th, name, arr, typ, valid):
    arr = _np.ascontiguousarray(arr)
    dim = arr.shape[1] if typ == FLOAT32_VECTOR else 0
    vb = None
    if valid is not None:
        vb = _np.ascontiguousarray(_np.asarray(valid, dtype=_np.uint8))
    check(_t_add(th, enc(name), typ, dim, arr.ctypes.data_as(_vp),
                 vb.ctypes.data_as(_vp) if vb is not None else None, arr.shape[0]),
          f"column '{name}'")


def _make_table(columns, env, ts_columns=()):
    h = _vp()
    check(_t_create(ctypes.byref(h), env))
    t = _Table(h)
    for name, values in _columns_of(columns).items():
        _add_column(h, name, values, ts=name in ts_columns)
    return t


def _read_table(th):
    """Table handle -> dict of columns (numpy arrays or lists)."""
    out = {}
    n = _t_rows(th)
    for c in range(_t_cols(th)):
        typ, dim = ctypes.c_uint32(), ctypes.c_uint32()
        name = _t_col(ctypes.byref(typ), ctypes.byref(dim), th, c).decode()
        typ, dim = typ.value, dim.value
        vp = _t_valid(th, c)
        valid = None
        if vp:
            valid = ctypes.string_at(vp, n)
        if typ == STRING:
            col = []
            ln = ctypes.c_size_t()
            for r in range(n):
                p = _t_string(ctypes.byref(ln), th, c, r)
                col.append(ctypes.string_at(p, ln.value).decode() if p else None)
            out[name] = _np.array(col, dtype=object) if _np is not None else col
            continue
        ptr = _t_data(th, c)
        ct = {INT64: ctypes.c_int64, FLOAT64: ctypes.c_double, BOOL: ctypes.c_uint8,
              FLOAT32_VECTOR: ctypes.c_float}[typ]
        count = n * (dim if typ == FLOAT32_VECTOR else 1)
        if _np is not None:
            dt = {INT64: _np.int64, FLOAT64: _np.float64, BOOL: _np.uint8,
                  FLOAT32_VECTOR: _np.float32}[typ]
            arr = (_np.frombuffer(ctypes.string_at(ptr, count * ctypes.sizeof(ct)), dtype=dt)
                   .copy() if count else _np.zeros(0, dtype=dt))
            if typ == FLOAT32_VECTOR:
                arr = arr.reshape(n, dim)
            if typ == BOOL:
                arr = arr.astype(bool)
            if valid is not None:
                mask = _np.frombuffer(valid, dtype=_np.uint8) == 0
                if mask.any():
                    if typ in (INT64, FLOAT64):
                        arr = arr.astype(_np.float64)
                        arr[mask] = _np.nan
                    elif typ == FLOAT32_VECTOR:
                        arr[mask] = _np.nan
                    else:
                        arr = arr.astype(object)
                        arr[mask] = None
            out[name] = arr
        else:  # pragma: no cover
            raw = ctypes.cast(ptr, ctypes.POINTER(ct))
            vals = [raw[i] for i in range(count)]
            if typ == FLOAT32_VECTOR:
                vals = [vals[i * dim:(i + 1) * dim] for i in range(n)]
            if typ == BOOL:
                vals = [bool(v) for v in vals]
            if valid is not None:
                vals = [v if valid[i] else None for i, v in enumerate(vals)]
            out[name] = vals
    return out


class _FS:
    """Owns the mlops_feature_store handle of a Store."""

    def __init__(self, store):
        self.h = _vp()
        check(_fs_open(ctypes.byref(self.h), store.handle))
        self.env = _store_env(store.handle)
        self.callbacks = {}

    def close(self):
        if self.h:
            _fs_close(self.h)
            self.h = _vp()

    def __del__(self):
        self.close()


def _fs(store):
    fs = getattr(store, "_features_fs", None)
    if fs is None or not fs.h:
        fs = _FS(store)
        store._features_fs = fs
    return fs


def _refs_array(refs):
    if isinstance(refs, str):
        refs = [refs]
    refs = list(refs)
    return (ctypes.c_char_p * max(1, len(refs)))(*[enc(r) for r in refs]), len(refs)


class FeatureView:
    """One version of a feature view's definition."""

    def __init__(self, store, h):
        self._store = store
        self._fsobj = _fs(store)
        self._h = h

    @property
    def name(self):
        return _view_name(self._h).decode()

    @property
    def version(self):
        return _view_version(self._h)

    @property
    def hash(self):
        return _view_hash(self._h).decode()

    def describe(self):
        """The definition as a dict (name, version, hash, keys, features, offline rows...)."""
        p = _vp()
        check(_view_describe(ctypes.byref(p), self._h))
        return json.loads(_lib.take_string(p.value, self._fsobj.env))

    def ingest(self, data):
        """Append rows atomically: a CSV path, a dict of columns (lists or numpy arrays),
        a list of row dicts or a pandas DataFrame. Returns the number of rows."""
        rows = ctypes.c_uint64()
        if isinstance(data, (str, os.PathLike)):
            check(_view_ingest_csv(ctypes.byref(rows), self._h, enc(os.fspath(data)), None, None))
            return rows.value
        d = self.describe()
        ts_cols = {d["timestamp"]} | ({d["created"]} if d.get("created") else set())
        t = _make_table(data, self._fsobj.env, ts_cols)
        try:
            check(_view_ingest(ctypes.byref(rows), self._h, t.h))
        finally:
            t.close()
        return rows.value

    def close(self):
        if getattr(self, "_h", None):
            _view_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"FeatureView({self.name!r}, version={self.version}, hash={self.hash!r})"


class OnlineResponse:
    """Result of get_online_features: values, statuses and event timestamps per ref."""

    def __init__(self, keys, refs, values, statuses, event_us):
        self.keys = keys
        self.refs = refs
        self.values = values
        self.statuses = statuses
        self.event_timestamps = event_us

    def to_dict(self, full_names=False):
        """{join key: [...], feature: [...]} as Feast's OnlineResponse.to_dict() gives."""
        out = {k: list(v) for k, v in self.keys.items()}
        for r in self.refs:
            name = r.replace(":", "__").split("@")[0] if full_names else r.split(":", 1)[1]
            out[name] = self.values[r]
        return out


class OnlineStore:
    """The online store: latest value per entity, served in process."""

    def __init__(self, store, online):
        if isinstance(online, str):
            from .store import Store
            online = Store(online)
        self._store = store
        self._online = online
        self._fsobj = _fs(store)
        self._h = _vp()
        check(_on_open(ctypes.byref(self._h), self._fsobj.h, online.handle))

    @property
    def store(self):
        return self._online

    def materialize(self, view, start, end):
        """Write the latest row per entity with event time in [start, end]; returns the
        number of entities written (older rows than the stored ones are skipped)."""
        n = ctypes.c_uint64()
        check(_on_mat(ctypes.byref(n), self._h, enc(view), _ts_arg(start), _ts_arg(end)))
        return n.value

    def materialize_incremental(self, view, end):
        n = ctypes.c_uint64()
        check(_on_mat_inc(ctypes.byref(n), self._h, enc(view), _ts_arg(end)))
        return n.value

    def push(self, view, data):
        """Write rows straight to the online store (a push source)."""
        v = FeatureView(self._store, _open_view(self._store, view))
        try:
            d = v.describe()
        finally:
            v.close()
        ts_cols = {d["timestamp"]} | ({d["created"]} if d.get("created") else set())
        t = _make_table(data, self._fsobj.env, ts_cols)
        n = ctypes.c_uint64()
        try:
            check(_on_push(ctypes.byref(n), self._h, enc(view), t.h))
        finally:
            t.close()
        return n.value

    def get_online_features(self, refs, keys):
        """Read features of entities: keys is a list of dicts ({"driver_id": 1001}) or a dict
        of key columns ({"driver_id": [1001, 1002]})."""
        if isinstance(keys, dict):
            names = list(keys)
            cols = [list(keys[k]) if not isinstance(keys[k], (str, int)) else [keys[k]]
                    for k in names]
            n = len(cols[0]) if cols else 0
        else:
            names = []
            for row in keys:
                for k in row:
                    if k not in names:
                        names.append(k)
            n = len(keys)
            cols = [[row.get(k) for row in keys] for k in names]
        flat = []
        for i in range(n):
            for c in cols:
                v = c[i]
                if _np is not None and isinstance(v, _np.generic):
                    v = v.item()
                flat.append(None if v is None else enc(str(v)))
        rarr, nr = _refs_array(refs)
        refs = [r.decode() for r in rarr[:nr]]
        karr = (ctypes.c_char_p * max(1, len(names)))(*[enc(k) for k in names])
        varr = (ctypes.c_char_p * max(1, len(flat)))(*flat)
        out = (_Value * max(1, n * nr))()
        for _, errs in self._fsobj.callbacks.values():
            errs.clear()
        st = _on_get(out, self._h, rarr, nr, karr, len(names), varr, n)
        _raise_callback(self._fsobj, st)
        check(st)
        values = {r: [] for r in refs}
        statuses = {r: [] for r in refs}
        event = {r: [] for r in refs}
        for i in range(n):
            for j, r in enumerate(refs):
                v = out[i * nr + j]
                statuses[r].append(STATUS.get(v.status, "UNKNOWN"))
                event[r].append(v.event_us if v.status != 3 else None)
                if v.status != 1:
                    values[r].append(None)
                elif v.type == INT64:
                    values[r].append(v.i64)
                elif v.type == BOOL:
                    values[r].append(bool(v.i64))
                elif v.type == FLOAT64:
                    values[r].append(v.f64)
                elif v.type == STRING:
                    values[r].append(ctypes.string_at(v.str, v.len).decode())
                else:
                    values[r].append([v.vec[k] for k in range(v.len)])
        return OnlineResponse({k: c for k, c in zip(names, cols)}, refs, values, statuses, event)

    def close(self):
        if getattr(self, "_h", None):
            _on_close(self._h)
            self._h = _vp()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _ts_arg(t):
    us = to_us(t)
    if isinstance(us, str):
        from_text = _parse_text_ts(us)
        return from_text
    return us


def _parse_text_ts(s):
    d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return to_us(d)


def _open_view(store, name):
    h = _vp()
    check(_view_open(ctypes.byref(h), _fs(store).h, enc(name)))
    return h


def _spec(name, typ):
    dim = 0
    if isinstance(typ, str) and typ.startswith("float32[") and typ.endswith("]"):
        dim = int(typ[8:-1])
        typ = FLOAT32_VECTOR
    elif isinstance(typ, str):
        if typ not in _TYPE_NAMES:
            raise _lib.InvalidArgument(f"feature '{name}': unknown type '{typ}'", -1)
        typ = _TYPE_NAMES[typ]
    return typ, dim


class FeaturesMixin:
    """Store methods of the feature store."""

    def feature_view(self, name, entity, timestamp="event_timestamp", features=None,
                     created=None, ttl=None, on_demand=None, description=None, tags=None,
                     key_types=None, entity_name=None):
        """Define a view (or change it: a schema change makes a new version).

        entity: a join-key name or a list of them; key_types: "int64" (default) or
        "string" per key. features: {name: type} with types int64, float64, string,
        bool, float32[DIM]. ttl: seconds or a timedelta (None: unlimited).
        on_demand: {name: (kind, inputs, params)} with kind log1p, ratio, bucketize,
        standardize, or a callable (a function of the input values, registered under
        the feature's name) -- it runs in joins and online reads alike.
        """
        fs = _fs(self)
        keys = [entity] if isinstance(entity, str) else list(entity)
        if key_types is None:
            key_types = ["int64"] * len(keys)
        elif isinstance(key_types, str):
            key_types = [key_types] * len(keys)
        feats = list((features or {}).items())
        ods = list((on_demand or {}).items())
        specs = (_Spec * max(1, len(feats) + len(ods)))()
        keep = []
        for i, (fname, typ) in enumerate(feats):
            t, dim = _spec(fname, typ)
            specs[i].name = enc(fname)
            specs[i].type = t
            specs[i].dim = dim
        for j, (fname, od) in enumerate(ods):
            s = specs[len(feats) + j]
            s.name = enc(fname)
            if callable(od):
                raise _lib.InvalidArgument(
                    f"on-demand feature '{fname}': give (callable, inputs) for a function", -1)
            kind, inputs = od[0], od[1]
            params = list(od[2]) if len(od) > 2 and od[2] is not None else []
            if callable(kind):
                self.register_feature_function(fname, kind)
                s.transform = TRANSFORMS["function"]
                s.function = enc(fname)
            else:
                if kind not in TRANSFORMS:
                    raise _lib.InvalidArgument(f"unknown transformation '{kind}'", -1)
                s.transform = TRANSFORMS[kind]
            s.inputs = enc(",".join([inputs] if isinstance(inputs, str) else inputs))
            if params:
                arr = (ctypes.c_double * len(params))(*params)
                keep.append(arr)
                s.params = arr
                s.n_params = len(params)
        karr = (ctypes.c_char_p * len(keys))(*[enc(k) for k in keys])
        tarr = (ctypes.c_uint32 * len(keys))(*[_spec("key", k)[0] for k in key_types])
        o = _ViewOptions(1, 0, enc(entity_name), karr, len(keys), tarr, enc(timestamp),
                         enc(created), _seconds_us(ttl), specs, len(feats) + len(ods),
                         enc(description), enc(tags))
        h = _vp()
        check(_view_apply(ctypes.byref(h), fs.h, enc(name), ctypes.byref(o)),
              f"feature view '{name}'")
        return FeatureView(self, h)

    def get_feature_view(self, name):
        """Open a view: "name" (current) or "name@vN"."""
        return FeatureView(self, _open_view(self, name))

    def list_feature_views(self):
        p = _vp()
        check(_fs_list(ctypes.byref(p), _fs(self).h))
        text = _lib.take_string(p.value, _fs(self).env)
        return [x for x in text.split("\n") if x]

    def register_feature_function(self, name, func):
        """Register a Python function for on-demand features of kind "function": it
        receives the input values (floats) and returns a float or None."""
        fs = _fs(self)
        errors = []

        def cb(out, inputs, n, payload):
            try:
                r = func(*[inputs[i] for i in range(n)])
            except BaseException as e:  # converted, never left pending in C
                errors.append(e)
                return 2
            if r is None:
                return 1
            out[0] = float(r)
            return 0

        cfn = _FN(cb)
        fs.callbacks[name] = (cfn, errors)
        check(_fs_register(fs.h, enc(name), cfn, None))

    def get_historical_features(self, entities, refs, full_names=False, as_of_knowledge=False,
                                timestamp=None, timestamps=False, output=None, as_frame=False):
        """Point-in-time join. entities: a CSV path, a dict of columns, a list of row
        dicts or a DataFrame, with the join keys and a timestamp column
        ("event_timestamp", or the one named). Returns a dict of columns (or writes
        a CSV to output and returns its path; or a pandas DataFrame with as_frame)."""
        fs = _fs(self)
        th = _vp()
        if isinstance(entities, (str, os.PathLike)):
            check(_t_read_csv(ctypes.byref(th), fs.env, enc(os.fspath(entities))))
            et = _Table(th)
        else:
            cols = _columns_of(entities)
            tsname = timestamp or ("event_timestamp" if "event_timestamp" in cols else None)
            if tsname is None:
                first = (refs if isinstance(refs, str) else list(refs)[0]).split(":")[0]
                v = self.get_feature_view(first)
                try:
                    tsname = v.describe()["timestamp"]
                finally:
                    v.close()
            et = _make_table(cols, fs.env, {tsname})
        rarr, nr = _refs_array(refs)
        o = _JoinOptions(1, (JOIN_FULL_NAMES if full_names else 0) |
                         (JOIN_AS_OF_KNOWLEDGE if as_of_knowledge else 0) |
                         (JOIN_TIMESTAMPS if timestamps else 0), enc(timestamp), 0, 0)
        out = _vp()
        try:
            for _, errs in fs.callbacks.values():
                errs.clear()
            st = _join(ctypes.byref(out), fs.h, et.h, rarr, nr, ctypes.byref(o))
            _raise_callback(fs, st)
            check(st)
        finally:
            et.close()
        res = _Table(out)
        try:
            if output is not None:
                check(_t_write_csv(res.h, enc(os.fspath(output))))
                return output
            cols = _read_table(res.h)
        finally:
            res.close()
        if as_frame:
            import pandas as pd
            return pd.DataFrame(cols)
        return cols

    def latest_features(self, refs, start, end):
        """Time-range read: the latest row per entity with event time in [start, end]."""
        fs = _fs(self)
        rarr, nr = _refs_array(refs)
        out = _vp()
        check(_latest(ctypes.byref(out), fs.h, rarr, nr, _ts_arg(start), _ts_arg(end)))
        res = _Table(out)
        try:
            return _read_table(res.h)
        finally:
            res.close()

    def online(self, online_store):
        """The online store kept in another store (a Store or a URI, e.g. "mem:")."""
        return OnlineStore(self, online_store)


def _raise_callback(fs, st):
    if st == -11:
        for _, errs in fs.callbacks.values():
            if errs:
                e = errs[0]
                errs.clear()
                raise _lib.CallbackError(f"feature function raised {e!r}", -11) from e

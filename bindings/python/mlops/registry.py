# SPDX-License-Identifier: MIT
"""The model registry: registered models, versions, stages, aliases, gates,
lineage and rollback.

    reg = store.registry()
    v = reg.register("fraud", run=run_id, artifact="model.bin")
    reg.promote("fraud", v, to="Production", gates=["val_auc >= 0.85"])
    reg.alias("fraud", "champion", v)
    mv = reg.get("models:/fraud@champion")      # a ModelVersion (a dict)
    data = mv.read()                             # the artifact's bytes
"""
import ctypes
import datetime
import json
import os

from . import _lib
from ._lib import check, fn
from ._lib import enc as _enc

STAGES = ("None", "Staging", "Production", "Archived")

GATE_THRESHOLD, GATE_MIN_ABSOLUTE, GATE_MIN_RELATIVE, GATE_LOWER_IS_BETTER = 1, 2, 4, 8


class _Hash128(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint8 * 16)]


class _RegisterOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("no_create_model", ctypes.c_uint32),
                ("run_id", ctypes.c_char_p), ("artifact_path", ctypes.c_char_p),
                ("blob", ctypes.POINTER(_Hash128)), ("description", ctypes.c_char_p),
                ("eval_report_path", ctypes.c_char_p),
                ("feature_hashes", ctypes.POINTER(_Hash128)),
                ("n_feature_hashes", ctypes.c_size_t), ("code_commit", ctypes.c_char_p),
                ("user", ctypes.c_char_p)]


class _Gate(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("metric", ctypes.c_char_p), ("threshold", ctypes.c_double),
                ("min_absolute_change", ctypes.c_double),
                ("min_relative_change", ctypes.c_double)]


class _PromoteOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("keep_existing", ctypes.c_uint32),
                ("gates", ctypes.POINTER(_Gate)), ("n_gates", ctypes.c_size_t),
                ("gate_exprs", ctypes.POINTER(ctypes.c_char_p)),
                ("n_gate_exprs", ctypes.c_size_t), ("baseline_alias", ctypes.c_char_p),
                ("reason", ctypes.c_char_p), ("user", ctypes.c_char_p)]


_vp = ctypes.c_void_p
_pvp = ctypes.POINTER(ctypes.c_void_p)
_i64 = ctypes.c_int64
_st = _lib.status_t
_open = fn("mlops_registry_open", _st, _pvp, _vp)
_close = fn("mlops_registry_close", None, _vp)
_env = fn("mlops_registry_env", _vp, _vp)
_create = fn("mlops_registry_create_model", _st, _vp, ctypes.c_char_p, ctypes.c_char_p)
_rename = fn("mlops_registry_rename_model", _st, _vp, ctypes.c_char_p, ctypes.c_char_p)
_delete_model = fn("mlops_registry_delete_model", _st, _vp, ctypes.c_char_p)
_set_tag = fn("mlops_registry_set_model_tag", _st, _vp, ctypes.c_char_p, ctypes.c_char_p,
              ctypes.c_char_p)
_set_desc = fn("mlops_registry_set_description", _st, _vp, ctypes.c_char_p, _i64,
               ctypes.c_char_p)
_register = fn("mlops_registry_register", _st, ctypes.POINTER(_i64), _vp, ctypes.c_char_p,
               ctypes.POINTER(_RegisterOptions))
_delete_version = fn("mlops_registry_delete_version", _st, _vp, ctypes.c_char_p, _i64)
_promote = fn("mlops_registry_promote", _st, _pvp, _vp, ctypes.c_char_p, _i64, ctypes.c_char_p,
              ctypes.POINTER(_PromoteOptions))
_gate_check = fn("mlops_registry_gate_check", _st, _pvp, ctypes.POINTER(ctypes.c_int32), _vp,
                 ctypes.c_char_p, _i64, ctypes.POINTER(_PromoteOptions))
_gate_parse = fn("mlops_registry_gate_parse", _st, ctypes.POINTER(_Gate), ctypes.c_char_p,
                 ctypes.c_size_t, ctypes.c_char_p)
_set_alias = fn("mlops_registry_set_alias", _st, _vp, ctypes.c_char_p, ctypes.c_char_p, _i64,
                ctypes.c_char_p)
_delete_alias = fn("mlops_registry_delete_alias", _st, _vp, ctypes.c_char_p, ctypes.c_char_p,
                   ctypes.c_char_p)
_rollback = fn("mlops_registry_rollback", _st, ctypes.POINTER(_i64), _vp, ctypes.c_char_p,
               ctypes.c_char_p)
_resolve = fn("mlops_registry_resolve", _st, ctypes.POINTER(_i64), _vp, ctypes.c_char_p)
_resolve_at = fn("mlops_registry_resolve_at", _st, ctypes.POINTER(_i64), _vp, ctypes.c_char_p,
                 _i64)
_stage = fn("mlops_registry_stage", _st, ctypes.POINTER(ctypes.c_uint32), _vp, ctypes.c_char_p,
            _i64)
_artifact = fn("mlops_registry_artifact", _st, ctypes.POINTER(_Hash128),
               ctypes.POINTER(ctypes.c_uint64), _vp, ctypes.c_char_p, _i64)
_model_json = fn("mlops_registry_model_json", _st, _pvp, _vp, ctypes.c_char_p)
_version_json = fn("mlops_registry_version_json", _st, _pvp, _vp, ctypes.c_char_p, _i64)
_search_json = fn("mlops_registry_search_json", _st, _pvp, _vp, ctypes.c_char_p,
                  ctypes.c_size_t)
_history_json = fn("mlops_registry_history_json", _st, _pvp, _vp, ctypes.c_char_p)
_lineage_json = fn("mlops_registry_lineage_json", _st, _pvp, _vp, ctypes.c_char_p, _i64)


class GateRefused(_lib.Conflict):
    """A promotion gate refused the candidate. ``report`` has one line per
    condition, with the candidate's and the baseline's values."""

    def __init__(self, message, status=None, report=None):
        super().__init__(message, status)
        self.report = report


class Gate:
    """A gate on a metric of the candidate's source run, with the meaning of
    MLflow's ``MetricThreshold``: an absolute ``threshold``, and/or a
    ``min_absolute_change`` / ``min_relative_change`` over the baseline
    (the current Production version, or ``baseline=`` alias)."""

    def __init__(self, metric, threshold=None, min_absolute_change=None,
                 min_relative_change=None, greater_is_better=True):
        self.metric = metric
        self.threshold = threshold
        self.min_absolute_change = min_absolute_change
        self.min_relative_change = min_relative_change
        self.greater_is_better = greater_is_better

    def _c(self, keep):
        m = enc(self.metric)
        keep.append(m)
        g = _Gate(1, 0, m, 0.0, 0.0, 0.0)
        if self.threshold is not None:
            g.flags |= GATE_THRESHOLD
            g.threshold = float(self.threshold)
        if self.min_absolute_change is not None:
            g.flags |= GATE_MIN_ABSOLUTE
            g.min_absolute_change = float(self.min_absolute_change)
        if self.min_relative_change is not None:
            g.flags |= GATE_MIN_RELATIVE
            g.min_relative_change = float(self.min_relative_change)
        if not self.greater_is_better:
            g.flags |= GATE_LOWER_IS_BETTER
        return g

    def __repr__(self):
        parts = [f"{k}={v!r}" for k, v in vars(self).items() if v is not None]
        return f"Gate({', '.join(parts)})"


class ModelVersion(dict):
    """One model version as a dict (``version``, ``stage``, ``aliases``,
    ``run_id``, lineage fields, ``gate``), with attribute access and
    :meth:`read` / :meth:`download` for its artifact."""

    def __init__(self, registry, data):
        super().__init__(data)
        self._registry = registry

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def read(self, max_size=0):
        """The artifact's bytes (verified against its content hash)."""
        return self._registry._read_blob(self["blob"], max_size)

    def download(self, directory):
        """Write the artifact into a directory; return the file's path."""
        base = os.path.basename(self.get("artifact_path") or "")
        if base in ("", ".", ".."):
            base = f"model-v{self['version']}.bin"
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, base)
        tmp = f"{path}.part-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self.read())
        os.replace(tmp, path)
        return path


def enc(text):
    """str -> UTF-8 for a C string; an embedded NUL would silently cut the
    string short in C, so it is refused here (A4)."""
    b = _enc(text)
    if b is not None and b"\0" in b:
        raise _lib.InvalidArgument(f"{text!r} contains a NUL character",
                                   _lib.InvalidArgument.status)
    return b


_HEX = frozenset("0123456789abcdef")


def _from_hex(text):
    """32 lowercase hex digits (a blob or hash id) -> the C struct."""
    if not isinstance(text, str) or len(text) != 32 or not set(text) <= _HEX:
        raise _lib.InvalidArgument(f"'{text}' is not a hash: expected 32 lowercase hex digits",
                                   _lib.InvalidArgument.status)
    h = _Hash128()
    h.bytes[:] = bytes.fromhex(text)
    return h


def _time_ms(at):
    if isinstance(at, datetime.datetime):
        if at.tzinfo is None:
            at = at.replace(tzinfo=datetime.timezone.utc)
        return int(at.timestamp() * 1000)
    return int(at)


class Registry:
    """The model registry of a store; from :meth:`Store.registry`."""

    def __init__(self, store):
        self._store = store  # keeps the Python store object alive too
        self._h = ctypes.c_void_p()
        check(_open(ctypes.byref(self._h), store.handle))

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the registry is closed", -17)
        return self._h

    def close(self):
        if getattr(self, "_h", None):
            _close(self._h)
            self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _json(self, st, out, context=None):
        env = _env(self.handle)
        text = _lib.take_string(out.value, env)
        check(st, context)
        return json.loads(text)

    # ---- models ----

    def create_model(self, name, description=None, tags=None):
        check(_create(self.handle, enc(name), enc(description)))
        for k, v in (tags or {}).items():
            self.set_tag(name, k, v)
        return self.model(name)

    def model(self, name):
        """A registered model with all its versions (a dict)."""
        out = ctypes.c_void_p()
        return self._json(_model_json(ctypes.byref(out), self.handle, enc(name)), out)

    def search(self, filter=None, max_results=0):
        """Models matching an MLflow-style filter ("name LIKE 'fraud%'")."""
        out = ctypes.c_void_p()
        return self._json(_search_json(ctypes.byref(out), self.handle, enc(filter),
                                       max_results), out)

    def models(self):
        return self.search(None)

    def rename_model(self, name, new_name):
        check(_rename(self.handle, enc(name), enc(new_name)))

    def delete_model(self, name):
        check(_delete_model(self.handle, enc(name)))

    def set_tag(self, name, key, value):
        check(_set_tag(self.handle, enc(name), enc(key), enc(None if value is None
                                                             else str(value))))

    def delete_tag(self, name, key):
        self.set_tag(name, key, None)

    def set_description(self, name, description, version=0):
        check(_set_desc(self.handle, enc(name), int(version), enc(description)))

    # ---- versions ----

    def register(self, name, run=None, artifact=None, blob=None, eval_report=None,
                 feature_hashes=(), code_commit=None, description=None, user=None,
                 create_model=True):
        """Register a new version from a run's artifact (``run=``,
        ``artifact=``) or a blob id (``blob=``); return its number."""
        run_id = getattr(run, "id", run)
        o = _RegisterOptions()
        o.version = 1
        o.no_create_model = 0 if create_model else 1
        o.run_id = enc(run_id)
        o.artifact_path = enc(artifact)
        bh = _from_hex(blob) if blob is not None else None
        o.blob = ctypes.pointer(bh) if bh is not None else None
        o.description = enc(description)
        o.eval_report_path = enc(eval_report)
        feats = list(feature_hashes or ())
        arr = (_Hash128 * len(feats))(*[_from_hex(f) for f in feats]) if feats else None
        o.feature_hashes = ctypes.cast(arr, ctypes.POINTER(_Hash128)) if arr else None
        o.n_feature_hashes = len(feats)
        o.code_commit = enc(code_commit)
        o.user = enc(user if user is not None else _default_user())
        v = _i64()
        check(_register(ctypes.byref(v), self.handle, enc(name), ctypes.byref(o)))
        return v.value

    def delete_version(self, name, version):
        check(_delete_version(self.handle, enc(name), int(version)))

    def version(self, name, version):
        out = ctypes.c_void_p()
        return ModelVersion(self, self._json(_version_json(ctypes.byref(out), self.handle,
                                                           enc(name), int(version)), out))

    def lineage(self, name, version):
        """What produced a version: run, datasets, code commit, feature
        definitions, evaluation report and gate decision."""
        out = ctypes.c_void_p()
        return self._json(_lineage_json(ctypes.byref(out), self.handle, enc(name),
                                        int(version)), out)

    def stage(self, name, version):
        s = ctypes.c_uint32()
        check(_stage(ctypes.byref(s), self.handle, enc(name), int(version)))
        return STAGES[s.value]

    # ---- stages, gates, aliases, rollback ----

    def _promote_options(self, gates, baseline, keep_existing, reason, user):
        keep = []
        o = _PromoteOptions()
        o.version = 1
        o.keep_existing = 1 if keep_existing else 0
        structs = []
        for g in gates or ():
            if isinstance(g, str):
                # parsed here so the report keeps the caller's order
                buf = ctypes.create_string_buffer(256)
                keep.append(buf)
                cg = _Gate()
                check(_gate_parse(ctypes.byref(cg), buf, len(buf), enc(g)))
                structs.append(cg)
            elif isinstance(g, Gate):
                structs.append(g._c(keep))
            else:
                raise TypeError(f"a gate is a string like 'val_auc >= 0.8' or a Gate, "
                                f"not {type(g).__name__}")
        if structs:
            ga = (_Gate * len(structs))(*structs)
            keep.append(ga)
            o.gates = ctypes.cast(ga, ctypes.POINTER(_Gate))
            o.n_gates = len(structs)
        o.baseline_alias = enc(baseline)
        o.reason = enc(reason)
        o.user = enc(user if user is not None else _default_user())
        return o, keep

    def promote(self, name, version, to="Production", gates=(), baseline=None,
                keep_existing=False, reason=None, user=None):
        """Move a version to a stage, atomically archiving the version that held
        it (unless ``keep_existing``). With ``gates``, the candidate must pass
        them first; :class:`GateRefused` says which condition failed. Losing
        a race to another writer raises :class:`mlops.Conflict` naming the
        winner. Returns the gate report (or None without gates)."""
        o, keep = self._promote_options(gates, baseline, keep_existing, reason, user)
        rep = ctypes.c_void_p()
        st = _promote(ctypes.byref(rep), self.handle, enc(name), int(version), enc(to),
                      ctypes.byref(o))
        report = _lib.take_string(rep.value, _env(self.handle))
        if st < 0:
            err = _lib.error_for(st)
            if st == _lib.Conflict.status and report and report.startswith("gate refused"):
                raise GateRefused(err.message, st, report)
            raise err
        return report

    def check_gates(self, name, version, gates, baseline=None):
        """Evaluate gates without promoting: (passed, report)."""
        o, keep = self._promote_options(gates, baseline, False, None, None)
        rep = ctypes.c_void_p()
        passed = ctypes.c_int32()
        st = _gate_check(ctypes.byref(rep), ctypes.byref(passed), self.handle, enc(name),
                         int(version), ctypes.byref(o))
        report = _lib.take_string(rep.value, _env(self.handle))
        check(st)
        return bool(passed.value), report

    def alias(self, name, alias, version, reason=None):
        """Point an alias (``champion``) at a version; creates or moves it."""
        check(_set_alias(self.handle, enc(name), enc(alias), int(version), enc(reason)))

    def delete_alias(self, name, alias, reason=None):
        check(_delete_alias(self.handle, enc(name), enc(alias), enc(reason)))

    def rollback(self, name, reason=None):
        """Restore the previous Production version; return its number."""
        v = _i64()
        check(_rollback(ctypes.byref(v), self.handle, enc(name), enc(reason)))
        return v.value

    def history(self, name):
        out = ctypes.c_void_p()
        return self._json(_history_json(ctypes.byref(out), self.handle, enc(name)), out)

    # ---- URIs ----

    def resolve(self, uri, at=None):
        """A ``models:/`` URI to a version number; ``at`` (ms since the epoch
        or a datetime) answers as of that time, from history."""
        v = _i64()
        if at is None:
            check(_resolve(ctypes.byref(v), self.handle, enc(uri)))
        else:
            check(_resolve_at(ctypes.byref(v), self.handle, enc(uri), _time_ms(at)))
        return v.value

    def get(self, uri, at=None):
        """The :class:`ModelVersion` a URI names ("models:/fraud@champion")."""
        v = self.resolve(uri, at)
        name = uri[len("models:/"):]
        for sep in "/@":
            name = name.split(sep, 1)[0]
        return self.version(name, v)

    def _read_blob(self, blob_hex, max_size=0):
        return self._store.get_blob(blob_hex, max_size)


def _default_user():
    return os.environ.get("USER") or os.environ.get("LOGNAME") or ""


class RegistryMixin:
    """Store methods of the registry module (mixed into mlops.Store)."""

    def registry(self):
        """The model registry of this store."""
        return Registry(self)

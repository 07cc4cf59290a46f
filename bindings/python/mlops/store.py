# SPDX-License-Identifier: MIT
"""The Store: a handle on a libmlops store (file, mem, postgresql, redis).

Each domain module adds its methods to Store through a mixin class defined
in its own file, so the store stays the one entry point.
"""
import ctypes

from . import _lib
from ._lib import Bytes, check, enc, fn
from .tracking import TrackingMixin
from .registry import RegistryMixin
from .features import FeaturesMixin
from .drift import DriftMixin
from .ab import RolloutMixin

SYNC_FULL, SYNC_NORMAL, SYNC_OFF = 1, 2, 3
READONLY, NOCREATE = 1, 2


class StoreOptions(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("sync", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("lock_timeout_ms", ctypes.c_int64)]


class Hash128(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint8 * 16)]


_open = fn("mlops_store_open", _lib.status_t, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
           ctypes.c_char_p, ctypes.POINTER(StoreOptions))
_close = fn("mlops_store_close", None, ctypes.c_void_p)
_get = fn("mlops_store_get", _lib.status_t, ctypes.POINTER(Bytes),
          ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t)
_put = fn("mlops_store_put", _lib.status_t, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
          ctypes.c_char_p, ctypes.c_size_t)
_delete = fn("mlops_store_delete", _lib.status_t, ctypes.c_void_p, ctypes.c_char_p,
             ctypes.c_size_t)
_blob_put = fn("mlops_store_blob_put", _lib.status_t, ctypes.POINTER(Hash128), ctypes.c_void_p,
               ctypes.c_char_p, ctypes.c_size_t)
_blob_get = fn("mlops_store_blob_get", _lib.status_t, ctypes.POINTER(Bytes), ctypes.c_void_p,
               ctypes.POINTER(Hash128), ctypes.c_uint64)
_hash_to_hex = fn("mlops_hash128_to_hex", _lib.status_t, ctypes.c_char_p,
                  ctypes.POINTER(Hash128))
_hash_from_hex = fn("mlops_hash128_from_hex", _lib.status_t, ctypes.POINTER(Hash128),
                    ctypes.c_char_p)
_backend_name = fn("mlops_store_backend_name", ctypes.c_char_p, ctypes.c_void_p)
_compact = fn("mlops_store_compact", _lib.status_t, ctypes.c_void_p)
_check = fn("mlops_store_check", _lib.status_t, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)
_flush = fn("mlops_store_flush", _lib.status_t, ctypes.c_void_p)
_store_env = fn("mlops_store_env", ctypes.c_void_p, ctypes.c_void_p)


def hash_hex(h):
    buf = ctypes.create_string_buffer(33)
    check(_hash_to_hex(buf, ctypes.byref(h)))
    return buf.value.decode()


def hash_from_hex(text):
    h = Hash128()
    check(_hash_from_hex(ctypes.byref(h), enc(text)))
    return h


class Store(TrackingMixin, RegistryMixin, FeaturesMixin, DriftMixin, RolloutMixin):
    """An open store. ``Store("path")``, ``Store("mem:")``, ``Store("postgresql://...")``.

    Use as a context manager or call :meth:`close`; the garbage collector
    closes it otherwise.
    """

    def __init__(self, uri="./mlops-data", sync=None, readonly=False, create=True):
        self.uri = uri
        self._h = ctypes.c_void_p()
        opts = StoreOptions(1, 0, 0, 0, 0)
        if sync is not None:
            modes = {"full": SYNC_FULL, "normal": SYNC_NORMAL, "off": SYNC_OFF}
            if sync not in modes:
                raise _lib.InvalidArgument(
                    f"sync mode {sync!r} is not one of 'full', 'normal', 'off'", -1)
            opts.sync = modes[sync]
        if readonly:
            opts.flags |= READONLY
        if not create:
            opts.flags |= NOCREATE
        check(_open(ctypes.byref(self._h), None, enc(uri), ctypes.byref(opts)),
              f"cannot open store '{uri}'")

    @property
    def handle(self):
        if not self._h:
            raise _lib.Closed("the store is closed", -17)
        return self._h

    @property
    def backend(self):
        return _backend_name(self.handle).decode()

    def get(self, key):
        """The value of a key (bytes), or raise NotFound."""
        key = enc(key)
        b = Bytes()
        check(_get(ctypes.byref(b), None, self.handle, key, len(key)))
        return _lib.take_bytes(b)

    def put(self, key, value):
        key, value = enc(key), enc(value)
        check(_put(self.handle, key, len(key), value, len(value)))

    def delete(self, key):
        key = enc(key)
        check(_delete(self.handle, key, len(key)))

    def put_blob(self, data):
        """Store bytes as a blob; return its content address (32 hex digits)."""
        h = Hash128()
        check(_blob_put(ctypes.byref(h), self.handle, data, len(data)))
        return hash_hex(h)

    def get_blob(self, blob_id, max_size=0):
        h = hash_from_hex(blob_id)
        b = Bytes()
        check(_blob_get(ctypes.byref(b), self.handle, ctypes.byref(h), max_size))
        return _lib.take_bytes(b)

    def check(self):
        """Verify every checksum and blob; return the report (raises CorruptData)."""
        rep = ctypes.c_void_p()
        st = _check(ctypes.byref(rep), self.handle)
        text = _lib.take_string(rep.value, _store_env(self.handle))
        if st < 0:
            raise _lib.error_for(st)
        return text or ""

    def compact(self):
        check(_compact(self.handle))

    def flush(self):
        check(_flush(self.handle))

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

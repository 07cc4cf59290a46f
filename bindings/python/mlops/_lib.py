# SPDX-License-Identifier: MIT
"""Loading libmlops through ctypes, status codes and the exception hierarchy.

Every other module of the package declares the C functions it uses with
:func:`fn` and checks statuses with :func:`check`.
"""
import ctypes
import os

HEADER_MAJOR = 1

_STATUS_NAMES = {
    0: "MLOPS_OK", -1: "MLOPS_E_INVALID", -2: "MLOPS_E_NOTFOUND", -3: "MLOPS_E_EXISTS",
    -4: "MLOPS_E_CONFLICT", -5: "MLOPS_E_CORRUPT", -6: "MLOPS_E_IO", -7: "MLOPS_E_NOMEM",
    -8: "MLOPS_E_VERSION", -9: "MLOPS_E_UNSUPPORTED", -10: "MLOPS_E_BACKEND",
    -11: "MLOPS_E_CALLBACK", -12: "MLOPS_E_INTERNAL", -13: "MLOPS_E_TOOBIG",
    -14: "MLOPS_E_BUSY", -15: "MLOPS_E_NOSPC", -16: "MLOPS_E_INSUFFICIENT",
    -17: "MLOPS_E_CLOSED",
}


class Error(Exception):
    """A libmlops call failed. ``status`` is the C status code, ``message``
    the library's own explanation."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def status_name(self):
        return _STATUS_NAMES.get(self.status, "MLOPS_E_UNKNOWN")


class InvalidArgument(Error, ValueError):
    status = -1


class NotFound(Error, KeyError):
    status = -2

    def __str__(self):  # KeyError would quote the message
        return self.message


class AlreadyExists(Error):
    status = -3


class Conflict(Error):
    status = -4


class CorruptData(Error):
    status = -5


class IOFailure(Error, OSError):
    status = -6


class OutOfMemory(Error, MemoryError):
    status = -7


class VersionMismatch(Error):
    status = -8


class Unsupported(Error):
    status = -9


class BackendError(Error):
    status = -10


class CallbackError(Error):
    status = -11


class InternalError(Error):
    status = -12


class TooBig(Error, ValueError):
    status = -13


class Busy(Error):
    status = -14


class NoSpace(Error, OSError):
    status = -15


class InsufficientData(Error, ValueError):
    status = -16


class Closed(Error):
    status = -17


_EXC = {c.status: c for c in (InvalidArgument, NotFound, AlreadyExists, Conflict, CorruptData,
                              IOFailure, OutOfMemory, VersionMismatch, Unsupported, BackendError,
                              CallbackError, InternalError, TooBig, Busy, NoSpace,
                              InsufficientData, Closed)}


def _candidates():
    env = os.environ.get("MLOPS_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    for build in ("build", "builddir", "_build"):
        for name in ("libmlops.so.1", "libmlops.so", "libmlops.dylib"):
            path = os.path.join(root, build, name)
            if os.path.exists(path):
                yield path
    yield "libmlops.so.1"
    yield "libmlops.so"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("cannot load libmlops (set MLOPS_LIBRARY to the path of libmlops.so.1): "
                      + "; ".join(errors))


lib = _load()


def fn(name, restype, *argtypes):
    """Declare a C function and return it."""
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


status_t = ctypes.c_int32

_error_message = fn("mlops_error_message", ctypes.c_char_p)
_status_str = fn("mlops_status_str", ctypes.c_char_p, status_t)
_version = fn("mlops_version", ctypes.c_uint32)
_version_string = fn("mlops_version_string", ctypes.c_char_p)


def error_for(st, context=None):
    """The exception for a status, carrying this thread's last message."""
    msg = (_error_message() or b"").decode("utf-8", "replace") or _status_str(st).decode()
    if context:
        msg = f"{context}: {msg}"
    return _EXC.get(st, Error)(msg, st)


def check(st, context=None):
    """Raise the mapped exception for a negative status; return st otherwise."""
    if st < 0:
        raise error_for(st, context)
    return st


def version():
    """The running library's version, as text ("1.0.0")."""
    return _version_string().decode()


def version_number():
    return _version()


if _version() // 10000 != HEADER_MAJOR:
    raise ImportError(f"libmlops {version()} has major version {_version() // 10000}; "
                      f"this package needs {HEADER_MAJOR}.x")


class Bytes(ctypes.Structure):
    """struct mlops_bytes."""
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("len", ctypes.c_size_t),
                ("env", ctypes.c_void_p)]


_bytes_free = fn("mlops_bytes_free", None, ctypes.POINTER(Bytes))
_string_free = fn("mlops_string_free", None, ctypes.c_void_p, ctypes.c_void_p)


def take_bytes(b):
    """Copy an mlops_bytes into Python bytes and free it."""
    try:
        return ctypes.string_at(b.data, b.len) if b.len else b""
    finally:
        _bytes_free(ctypes.byref(b))


def take_string(ptr, env=None):
    """Copy a library-owned char* (as c_void_p) into str and free it."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        _string_free(env, ptr)


def enc(s):
    """str -> UTF-8 bytes for a const char * argument (None passes NULL)."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")

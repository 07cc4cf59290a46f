# SPDX-License-Identifier: MIT
"""libmlops for Python: pure ctypes over the C library, no compiler needed.

The library is found through $MLOPS_LIBRARY, the source tree's build/
directory, or the system's library path.
"""
from ._lib import (Error, InvalidArgument, NotFound, AlreadyExists, Conflict, CorruptData,
                   IOFailure, OutOfMemory, VersionMismatch, Unsupported, BackendError,
                   CallbackError, InternalError, TooBig, Busy, NoSpace, InsufficientData,
                   Closed, version, version_number)
from .store import Store
from . import drift
from . import ab

__all__ = ["Store", "Error", "InvalidArgument", "NotFound", "AlreadyExists", "Conflict",
           "CorruptData", "IOFailure", "OutOfMemory", "VersionMismatch", "Unsupported",
           "BackendError", "CallbackError", "InternalError", "TooBig", "Busy", "NoSpace",
           "InsufficientData", "Closed", "version", "version_number"]

# SPDX-License-Identifier: MIT
"""The bad-input catalogue through the Python binding (RELIABILITY.md; FG8).

Each vector must raise the exception its status maps to and leave the store
unchanged (I7): the same keys and values, and for a file store the same
bytes in every file. The A-entries (ABI misuse from ctypes) live here too.
"""
import ctypes
import hashlib
import os
import threading

import pytest

import mlops
from mlops import _lib
from mlops.store import Hash128, StoreOptions

SCAN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t,
                           ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.c_uint64,
                           ctypes.c_void_p)
_scan = _lib.fn("mlops_store_scan", _lib.status_t, ctypes.c_void_p, ctypes.c_char_p,
                ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, SCAN_FN, ctypes.c_void_p)
_put = _lib.fn("mlops_store_put", _lib.status_t, ctypes.c_void_p, ctypes.c_char_p,
               ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
_get = _lib.fn("mlops_store_get", _lib.status_t, ctypes.POINTER(_lib.Bytes),
               ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p, ctypes.c_char_p,
               ctypes.c_size_t)
_open = _lib.fn("mlops_store_open", _lib.status_t, ctypes.POINTER(ctypes.c_void_p),
                ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(StoreOptions))
_opts_init = _lib.fn("mlops_store_options_init", _lib.status_t, ctypes.POINTER(StoreOptions),
                     ctypes.c_uint32)
_blob_get = _lib.fn("mlops_store_blob_get", _lib.status_t, ctypes.POINTER(_lib.Bytes),
                    ctypes.c_void_p, ctypes.POINTER(Hash128), ctypes.c_uint64)
_error_status = _lib.fn("mlops_error_status", _lib.status_t)

TINY = ctypes.create_string_buffer(b"abc", 4)
SIZE_MAX = ctypes.c_size_t(-1).value


def state(store):
    """Every key and value, in order (the logical state)."""
    pairs = []

    @SCAN_FN
    def cb(k, kl, v, vl, ver, payload):
        pairs.append((ctypes.string_at(k, kl), ctypes.string_at(v, vl) if vl else b""))
        return 0

    _lib.check(_scan(store.handle, None, 0, None, 0, cb, None))
    return pairs


def tree_hash(path):
    """The bytes and names of every file under path (the physical state)."""
    if path is None:
        return None
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            h.update(os.path.relpath(full, path).encode())
            with open(full, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


@pytest.fixture(params=["mem", "file"])
def seeded(request, tmp_path):
    if request.param == "mem":
        uri, root = "mem:", None
    else:
        root = str(tmp_path / "store")
        uri = "file:" + root
    try:
        s = mlops.Store(uri)
    except mlops.Unsupported:
        pytest.skip("the file backend is not built")
    for i in range(8):
        s.put(f"seed/{i}", f"value-{i}".encode())
    blob = s.put_blob(b"seed blob bytes")
    s.flush()
    yield s, root, blob
    s.close()


def raw_put(s, key, klen, value, vlen):
    return _put(s.handle, key, klen, value, vlen)


# (id, vector, callable(store, blob_id) -> raises or returns status, expected exception)
CATALOGUE = [
    ("N12", "empty key", lambda s, b: s.put("", b"v"), mlops.InvalidArgument),
    ("N12", "key of 4097 bytes", lambda s, b: s.put("k" * 4097, b"v"), mlops.TooBig),
    ("N12", "key length SIZE_MAX, 4-byte buffer",
     lambda s, b: _lib.check(raw_put(s, TINY, SIZE_MAX, b"v", 1)), mlops.TooBig),
    ("N12", "value length past the limit, 4-byte buffer",
     lambda s, b: _lib.check(raw_put(s, b"k", 1, TINY, 64 * 1024 * 1024 + 1)), mlops.TooBig),
    ("N12", "NULL value with a length",
     lambda s, b: _lib.check(raw_put(s, b"k", 1, None, 7)), mlops.InvalidArgument),
    ("A1", "NULL store", lambda s, b: _lib.check(_put(None, b"k", 1, b"v", 1)),
     mlops.InvalidArgument),
    ("A1", "get into a NULL output",
     lambda s, b: _lib.check(_get(None, None, s.handle, b"k", 1)), mlops.InvalidArgument),
    ("-", "unknown key", lambda s, b: s.get("no such key"), mlops.NotFound),
    ("-", "a prefix of a key", lambda s, b: s.get("seed/"), mlops.NotFound),
    ("N14", "blob id in uppercase", lambda s, b: s.get_blob(b.upper()), mlops.InvalidArgument),
    ("N14", "blob id of 31 digits", lambda s, b: s.get_blob(b[:31]), mlops.InvalidArgument),
    ("N14", "blob id of 33 digits", lambda s, b: s.get_blob(b + "0"), mlops.InvalidArgument),
    ("N14", "blob id with a traversal", lambda s, b: s.get_blob("../" * 10 + "xx"),
     mlops.InvalidArgument),
    ("N14", "blob id that is empty", lambda s, b: s.get_blob(""), mlops.InvalidArgument),
    ("F11", "unknown blob", lambda s, b: s.get_blob("5a" * 16), mlops.NotFound),
    ("M3", "blob above max_size", lambda s, b: s.get_blob(b, max_size=3), mlops.TooBig),
    ("A4", "a str key that is not encodable",
     lambda s, b: s.put("\udcff", b"v"), UnicodeEncodeError),
]


@pytest.mark.parametrize("vid,what,call,exc", CATALOGUE, ids=[f"{c[0]}-{c[1]}" for c in CATALOGUE])
def test_catalogue(seeded, vid, what, call, exc):
    s, root, blob = seeded
    before, files_before = state(s), tree_hash(root)
    with pytest.raises(exc) as e:
        call(s, blob)
    if isinstance(e.value, mlops.Error):
        assert e.value.message, "the error carries the library's message"
        assert _error_status() == e.value.status
    s.flush()
    assert state(s) == before, "the store changed (I7)"
    assert tree_hash(root) == files_before, "the store's files changed (I7)"


URIS = [
    ("N1", "", mlops.InvalidArgument),
    ("N7", "mem:\x1b[31m", mlops.InvalidArgument),
    ("N7", "file:store\nx", mlops.InvalidArgument),
    ("N5", "ftp://example.com/x", mlops.Unsupported),
    ("N5", "s3://bucket/key", mlops.Unsupported),
    ("N5", "http://169.254.169.254/", mlops.Unsupported),
    ("N12", "a" * 5000, mlops.TooBig),
]


@pytest.mark.parametrize("vid,uri,exc", URIS, ids=[u[0] + "-" + repr(u[1][:20]) for u in URIS])
def test_bad_uris(tmp_path, monkeypatch, vid, uri, exc):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc):
        mlops.Store(uri)
    assert os.listdir(tmp_path) == [], "a refused open created files (I6)"


@pytest.mark.parametrize("version,exc", [(0, mlops.VersionMismatch), (2, mlops.VersionMismatch),
                                         (99, mlops.VersionMismatch)])
def test_options_versions(version, exc):
    """X5: options from an unknown header version are refused, *out stays NULL."""
    h = ctypes.c_void_p(1)
    opts = StoreOptions(version, 0, 0, 0, 0)
    with pytest.raises(exc):
        _lib.check(_open(ctypes.byref(h), None, b"mem:", ctypes.byref(opts)))
    assert not h.value
    with pytest.raises(exc if version else mlops.VersionMismatch):
        _lib.check(_opts_init(ctypes.byref(opts), version))


@pytest.mark.parametrize("sync,flags", [(4, 0), (0, 0x100)])
def test_options_values(sync, flags):
    h = ctypes.c_void_p()
    opts = StoreOptions(1, sync, flags, 0, 0)
    with pytest.raises(mlops.InvalidArgument):
        _lib.check(_open(ctypes.byref(h), None, b"mem:", ctypes.byref(opts)))


def test_options_reserved_must_be_zero():
    h = ctypes.c_void_p()
    opts = StoreOptions(1, 0, 0, 5, 0)
    st = _open(ctypes.byref(h), None, b"mem:", ctypes.byref(opts))
    if st == 0:
        mlops.store._close(h)
    assert st == mlops.InvalidArgument.status


def test_unknown_sync_name():
    with pytest.raises(mlops.InvalidArgument):
        mlops.Store("mem:", sync="sometimes")


def test_use_after_close():
    """A2: the binding refuses calls on a closed store; double close is harmless."""
    s = mlops.Store("mem:")
    s.put("k", b"v")
    s.close()
    with pytest.raises(mlops.Closed):
        s.put("k", b"v")
    with pytest.raises(mlops.Closed):
        s.get("k")
    s.close()


def test_error_message_is_per_thread():
    """A7: a failure on one thread does not change another thread's message."""
    with mlops.Store("mem:") as s:
        with pytest.raises(mlops.InvalidArgument) as mine:
            s.put("", b"v")
        seen = []

        def other():
            try:
                s.get("missing")
            except mlops.NotFound as e:
                seen.append(e.message)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert seen and "not found" in seen[0]
        assert (_lib._error_message() or b"").decode() in mine.value.message


def test_threads_on_one_store(tmp_path):
    """A6/C4: many Python threads on one handle (ctypes drops the GIL in calls)."""
    for uri in ("mem:", "file:" + str(tmp_path / "s")):
        try:
            s = mlops.Store(uri, sync="off")
        except mlops.Unsupported:
            continue
        errors = []

        def worker(t):
            try:
                for i in range(200):
                    s.put(f"t{t}/{i:04d}", f"{t}:{i}".encode())
                    assert s.get(f"t{t}/{i:04d}") == f"{t}:{i}".encode()
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        keys = [k for k, _ in state(s)]
        assert len(keys) == 8 * 200 and len(set(keys)) == len(keys), "lost or duplicated writes"
        s.close()

/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_STORE_H
#define MLOPS_STORE_H

#include "mlops/common.h"

/**
 * @file store.h
 * @brief The store: ordered keys and values, atomic batches, blobs, and the
 *        backend vtable that a host program can implement.
 *
 * Thread rule: a store handle may be used from any thread at once. Batches,
 * iterators and blob streams are one thread per handle. Several processes
 * may open one file store; writers are serialized by a lock and readers see
 * only committed batches.
 *
 * Keys and values are byte strings. Keys are 1 to MLOPS_STORE_MAX_KEY bytes
 * and compare bytewise (memcmp, shorter first on a common prefix); values
 * are 0 to MLOPS_STORE_MAX_VALUE bytes. Every put gives the key a new
 * version: a number greater than 0, unique within the store and increasing
 * with each write, which compare-and-set preconditions can test.
 *
 * How the operations map onto servers:
 * - get: PostgreSQL `SELECT v, ver FROM kv WHERE k = $1`; Redis `HMGET`
 *   on a per-key hash {v, ver}.
 * - scan: PostgreSQL `SELECT ... WHERE k >= $1 AND k < $2 ORDER BY k LIMIT n`
 *   (a B-tree index range scan); Redis `ZRANGE idx [start (end BYLEX LIMIT`
 *   over a sorted set of all keys at score 0, then `HMGET` per page.
 * - apply (batch + preconditions): PostgreSQL one transaction with
 *   `SELECT ... FOR UPDATE` on the guarded keys, then the writes; Redis
 *   one Lua script (checked and applied atomically by the server), or
 *   `WATCH` + `MULTI`/`EXEC`.
 * - versions: PostgreSQL a `bigserial` sequence value per write; Redis
 *   `INCR` of a store counter inside the same script.
 * - blobs: PostgreSQL a `blobs(id, seq, chunk bytea)` table written in
 *   chunks inside one transaction, visible on commit; Redis chunks under
 *   `blob:<id>:<n>` keys with a final header key written last.
 */

MLOPS_BEGIN_DECL

/** @defgroup store Store
 * @{ */

/** An open store (any backend). */
typedef struct mlops_store mlops_store;
/** An atomic batch of writes and preconditions being built. */
typedef struct mlops_batch mlops_batch;
/** A cursor over a key range, in key order. */
typedef struct mlops_store_iter mlops_store_iter;
/** A blob being written. */
typedef struct mlops_blob_writer mlops_blob_writer;
/** A blob being read. */
typedef struct mlops_blob_reader mlops_blob_reader;
/** A backend instance; see the vtable group below. */
typedef struct mlops_backend mlops_backend;
/** A backend's operation table; see the vtable group below. */
typedef struct mlops_backend_ops mlops_backend_ops;

/** Largest key, in bytes. */
#define MLOPS_STORE_MAX_KEY 4096
/** Largest value, in bytes (use blobs for more). */
#define MLOPS_STORE_MAX_VALUE (64u * 1024u * 1024u)
/** Most operations in one batch. */
#define MLOPS_STORE_MAX_BATCH_OPS 1000000

/** Durability: fsync every batch before OK; OK survives power loss. */
#define MLOPS_SYNC_FULL 1
/** Durability: written before OK, synced in the background within 100 ms; OK survives a
 *  process crash. */
#define MLOPS_SYNC_NORMAL 2
/** Durability: written before OK, synced only by flush or close; OK survives a process
 *  crash, not a power loss. */
#define MLOPS_SYNC_OFF 3

/** Open flag: refuse writes; never create or recover anything on disk. */
#define MLOPS_STORE_READONLY 0x1u
/** Open flag: fail with MLOPS_E_NOTFOUND instead of creating a new store. */
#define MLOPS_STORE_NOCREATE 0x2u

/** Options for mlops_store_open(). */
typedef struct mlops_store_options {
    uint32_t version;        /**< MLOPS_STORE_OPTIONS_VERSION */
    uint32_t sync;           /**< MLOPS_SYNC_*; 0: MLOPS_SYNC_FULL */
    uint32_t flags;          /**< MLOPS_STORE_* flags */
    uint32_t reserved;       /**< must be 0 */
    int64_t lock_timeout_ms; /**< wait for the writer lock; 0: 5000; negative: do not wait */
    /* new fields go here, below all others */
} mlops_store_options;

/** Current version of mlops_store_options. */
#define MLOPS_STORE_OPTIONS_VERSION 1
/** Static initializer for mlops_store_options. */
#define MLOPS_STORE_OPTIONS_INIT {MLOPS_STORE_OPTIONS_VERSION}

/**
 * Initialize store options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_STORE_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_options_init(mlops_store_options *opts, uint32_t version);

/**
 * Open (or create) a store by URI.
 *
 * URIs: `mem:` (a new empty in-memory store), `file:PATH` or a plain PATH
 * (a directory, created if missing unless MLOPS_STORE_NOCREATE),
 * `postgresql://...` and `redis://...` where those backends are built.
 *
 * @param[out] out   The store; NULL on failure.
 * @param[in]  env   Environment, or NULL for the defaults. Kept alive.
 * @param[in]  uri   NUL-terminated URI. Copied.
 * @param[in]  opts  Options, or NULL for defaults.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad URI or option;
 *         MLOPS_E_UNSUPPORTED for a backend not built in; MLOPS_E_NOTFOUND;
 *         MLOPS_E_VERSION for a newer on-disk format; MLOPS_E_CORRUPT;
 *         MLOPS_E_BUSY if the lock timed out; MLOPS_E_IO; MLOPS_E_NOMEM;
 *         MLOPS_E_BACKEND if a server cannot be reached.
 * @threadsafety Any thread.
 * @ownership Release with mlops_store_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_open(mlops_store **out, mlops_env *env, const char *uri,
                                        const mlops_store_options *opts);

/**
 * Wrap a host-supplied backend in a store.
 *
 * @param[out] out      The store; NULL on failure.
 * @param[in]  env      Environment, or NULL. Kept alive.
 * @param[in]  backend  A backend whose ops table passes the version and
 *                      required-member checks.
 * @return MLOPS_OK; MLOPS_E_INVALID for a NULL or incomplete backend;
 *         MLOPS_E_VERSION for an ops version newer than this library knows;
 *         MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership On success the store owns @p backend and calls its close;
 *            on failure the caller keeps it.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_open_backend(mlops_store **out, mlops_env *env,
                                                mlops_backend *backend);

/**
 * Read one key.
 *
 * @param[out] value_out    The value; release with mlops_bytes_free(). Zeroed
 *                          on failure.
 * @param[out] version_out  The key's version, or NULL.
 * @param[in]  store        Open store.
 * @param[in]  key          Key bytes.
 * @param[in]  key_len      1 to MLOPS_STORE_MAX_KEY.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CORRUPT;
 *         MLOPS_E_IO; MLOPS_E_NOMEM; MLOPS_E_BACKEND.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_get(mlops_bytes *value_out, uint64_t *version_out,
                                       mlops_store *store, const void *key, size_t key_len);

/**
 * Write one key (a batch of one put).
 *
 * @param[in] store      Open store.
 * @param[in] key        Key bytes.
 * @param[in] key_len    1 to MLOPS_STORE_MAX_KEY.
 * @param[in] value      Value bytes (may be NULL when value_len is 0).
 * @param[in] value_len  0 to MLOPS_STORE_MAX_VALUE.
 * @return As mlops_store_apply().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_put(mlops_store *store, const void *key, size_t key_len,
                                       const void *value, size_t value_len);

/**
 * Delete one key (no error if absent).
 *
 * @param[in] store    Open store.
 * @param[in] key      Key bytes.
 * @param[in] key_len  1 to MLOPS_STORE_MAX_KEY.
 * @return As mlops_store_apply().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_delete(mlops_store *store, const void *key, size_t key_len);

/**
 * Scan callback: one key and value, in key order.
 *
 * @return 0 to go on; non-zero to stop (the scan then returns MLOPS_E_CALLBACK).
 */
typedef int (*mlops_scan_fn)(const uint8_t *key, size_t key_len, const uint8_t *value,
                             size_t value_len, uint64_t version, void *payload);

/**
 * Visit the keys in [start, end) in key order.
 *
 * The callback must not call back into the same store: such calls return
 * MLOPS_E_BUSY (they would otherwise wait on the scan's own locks).
 *
 * @param[in] store      Open store.
 * @param[in] start      First key (inclusive); NULL or empty: the first key.
 * @param[in] start_len  Its length.
 * @param[in] end        Bound (exclusive); NULL or empty: no bound.
 * @param[in] end_len    Its length.
 * @param[in] cb         Called for each pair; buffers are borrowed for the call.
 * @param[in] payload    Passed to cb.
 * @return MLOPS_OK; MLOPS_E_CALLBACK if cb stopped the scan; MLOPS_E_INVALID;
 *         MLOPS_E_TOOBIG if a bound (or prefix) is longer than
 *         MLOPS_STORE_MAX_KEY; MLOPS_E_BUSY if called from a scan callback
 *         of the same store; MLOPS_E_IO; MLOPS_E_CORRUPT; MLOPS_E_NOMEM;
 *         MLOPS_E_BACKEND.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_scan(mlops_store *store, const void *start, size_t start_len,
                                        const void *end, size_t end_len, mlops_scan_fn cb,
                                        void *payload);

/**
 * Visit the keys that start with a prefix, in key order.
 *
 * @param[in] store       Open store.
 * @param[in] prefix      Prefix bytes; NULL or empty: every key.
 * @param[in] prefix_len  Its length.
 * @param[in] cb          As for mlops_store_scan().
 * @param[in] payload     Passed to cb.
 * @return As mlops_store_scan().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_scan_prefix(mlops_store *store, const void *prefix,
                                               size_t prefix_len, mlops_scan_fn cb,
                                               void *payload);

/**
 * Open a cursor over [start, end) in key order.
 *
 * The cursor reads in pages, so writes made while it is open may or may
 * not be seen beyond the current page; each pair it returns was committed.
 *
 * @param[out] out        The cursor; NULL on failure.
 * @param[in]  store      Open store.
 * @param[in]  start      First key (inclusive), or NULL.
 * @param[in]  start_len  Its length.
 * @param[in]  end        Bound (exclusive), or NULL for none.
 * @param[in]  end_len    Its length.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_TOOBIG if a bound is longer
 *         than MLOPS_STORE_MAX_KEY; MLOPS_E_NOMEM.
 * @threadsafety Any thread; the cursor is one thread per handle.
 * @ownership Release with mlops_store_iter_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_iter_open(mlops_store_iter **out, mlops_store *store,
                                             const void *start, size_t start_len,
                                             const void *end, size_t end_len);

/**
 * Advance a cursor.
 *
 * @param[in]  it         Cursor.
 * @param[out] key        Borrowed key bytes, valid until the next call.
 * @param[out] key_len    Key length.
 * @param[out] value      Borrowed value bytes, valid until the next call.
 * @param[out] value_len  Value length.
 * @return MLOPS_OK with a pair; MLOPS_E_NOTFOUND at the end; another
 *         negative status on failure.
 * @threadsafety One thread per cursor.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_iter_next(mlops_store_iter *it, const uint8_t **key,
                                             size_t *key_len, const uint8_t **value,
                                             size_t *value_len);

/**
 * Release a cursor.
 *
 * @param[in] it  Cursor, or NULL.
 * @threadsafety One thread per cursor.
 * @since 1.0
 */
MLOPS_API void mlops_store_iter_free(mlops_store_iter *it);

/**
 * Start an empty batch.
 *
 * @param[out] out    The batch; NULL on failure.
 * @param[in]  store  The store it will be applied to.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread; the batch is one thread per handle.
 * @ownership Release with mlops_batch_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_create(mlops_batch **out, mlops_store *store);

/**
 * Add a put to a batch. Key and value are copied.
 *
 * @param[in] batch      Batch.
 * @param[in] key        Key bytes.
 * @param[in] key_len    1 to MLOPS_STORE_MAX_KEY.
 * @param[in] value      Value bytes.
 * @param[in] value_len  0 to MLOPS_STORE_MAX_VALUE.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_TOOBIG; MLOPS_E_NOMEM.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_put(mlops_batch *batch, const void *key, size_t key_len,
                                       const void *value, size_t value_len);

/**
 * Add a delete to a batch. The key is copied.
 *
 * @param[in] batch    Batch.
 * @param[in] key      Key bytes.
 * @param[in] key_len  1 to MLOPS_STORE_MAX_KEY.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_TOOBIG; MLOPS_E_NOMEM.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_delete(mlops_batch *batch, const void *key, size_t key_len);

/**
 * Require that a key is absent when the batch is applied.
 *
 * @param[in] batch    Batch.
 * @param[in] key      Key bytes. Copied.
 * @param[in] key_len  1 to MLOPS_STORE_MAX_KEY.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_require_absent(mlops_batch *batch, const void *key,
                                                  size_t key_len);

/**
 * Require that a key holds exactly a value when the batch is applied.
 *
 * @param[in] batch      Batch.
 * @param[in] key        Key bytes. Copied.
 * @param[in] key_len    1 to MLOPS_STORE_MAX_KEY.
 * @param[in] value      Expected value. Copied.
 * @param[in] value_len  Its length.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_require_value(mlops_batch *batch, const void *key,
                                                 size_t key_len, const void *value,
                                                 size_t value_len);

/**
 * Require that a key is present at a given version when the batch is applied.
 *
 * @param[in] batch    Batch.
 * @param[in] key      Key bytes. Copied.
 * @param[in] key_len  1 to MLOPS_STORE_MAX_KEY.
 * @param[in] version  The version mlops_store_get() reported.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_batch_require_version(mlops_batch *batch, const void *key,
                                                   size_t key_len, uint64_t version);

/**
 * Number of operations (writes and preconditions) in a batch.
 *
 * @param[in] batch  Batch, or NULL (0).
 * @return The count.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API size_t mlops_batch_count(const mlops_batch *batch);

/**
 * Remove every operation from a batch so it can be reused.
 *
 * @param[in] batch  Batch, or NULL.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API void mlops_batch_clear(mlops_batch *batch);

/**
 * Apply a batch: every precondition is checked and every write applied, all
 * or nothing. Later writes to one key win over earlier ones in the batch.
 *
 * @param[in] store  The store the batch was created for.
 * @param[in] batch  The batch; unchanged, so it can be applied again.
 * @return MLOPS_OK (durable as the store's sync mode says);
 *         MLOPS_E_CONFLICT if a precondition failed (nothing changed; the
 *         message names the key); MLOPS_E_INVALID; MLOPS_E_NOSPC; MLOPS_E_IO;
 *         MLOPS_E_CLOSED if an earlier fsync failure poisoned the handle;
 *         MLOPS_E_BUSY; MLOPS_E_NOMEM; MLOPS_E_BACKEND.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_apply(mlops_store *store, mlops_batch *batch);

/**
 * Release a batch.
 *
 * @param[in] batch  Batch, or NULL.
 * @threadsafety One thread per batch.
 * @since 1.0
 */
MLOPS_API void mlops_batch_free(mlops_batch *batch);

/**
 * Start writing a blob. Its address, the XXH3-128 of its bytes, is known at
 * commit.
 *
 * @param[out] out    The writer; NULL on failure.
 * @param[in]  store  Open store.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_IO; MLOPS_E_NOMEM.
 * @threadsafety Any thread; the writer is one thread per handle.
 * @ownership Commit with mlops_blob_writer_commit(), or drop with
 *            mlops_blob_writer_free() (nothing becomes visible).
 * @since 1.0
 */
MLOPS_API mlops_status mlops_blob_writer_open(mlops_blob_writer **out, mlops_store *store);

/**
 * Append bytes to a blob being written.
 *
 * @param[in] w     Writer.
 * @param[in] data  Bytes.
 * @param[in] len   Number of bytes.
 * @return MLOPS_OK; MLOPS_E_IO; MLOPS_E_NOSPC; MLOPS_E_NOMEM; MLOPS_E_INVALID.
 * @threadsafety One thread per writer.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_blob_writer_write(mlops_blob_writer *w, const void *data,
                                               size_t len);

/**
 * Make the blob visible under its content address. If a blob with that
 * address exists and holds the same bytes, nothing new is stored.
 *
 * @param[out] id_out  The blob's address (XXH3-128 of its bytes).
 * @param[in]  w       Writer; it is finished either way but must still be
 *                     released with mlops_blob_writer_free().
 * @return MLOPS_OK; MLOPS_E_CONFLICT if a different blob has the same
 *         address; MLOPS_E_IO; MLOPS_E_NOSPC; MLOPS_E_NOMEM.
 * @threadsafety One thread per writer.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_blob_writer_commit(mlops_hash128 *id_out, mlops_blob_writer *w);

/**
 * Release a blob writer; an uncommitted blob is discarded.
 *
 * @param[in] w  Writer, or NULL.
 * @threadsafety One thread per writer.
 * @since 1.0
 */
MLOPS_API void mlops_blob_writer_free(mlops_blob_writer *w);

/**
 * Open a blob for reading.
 *
 * @param[out] out       The reader; NULL on failure.
 * @param[out] size_out  The blob's size in bytes, or NULL.
 * @param[in]  store     Open store.
 * @param[in]  id        The blob's address.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_CORRUPT; MLOPS_E_IO; MLOPS_E_NOMEM.
 * @threadsafety Any thread; the reader is one thread per handle.
 * @ownership Release with mlops_blob_reader_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_blob_reader_open(mlops_blob_reader **out, uint64_t *size_out,
                                              mlops_store *store, const mlops_hash128 *id);

/**
 * Read the next bytes of a blob. The content hash is verified when the end
 * is reached: a mismatch gives MLOPS_E_CORRUPT instead of the last bytes.
 *
 * @param[out] n_out  Bytes written to buf; 0 means the end (verified).
 * @param[in]  r      Reader.
 * @param[out] buf    Destination.
 * @param[in]  cap    Its capacity, at least 1.
 * @return MLOPS_OK; MLOPS_E_CORRUPT; MLOPS_E_IO; MLOPS_E_INVALID.
 * @threadsafety One thread per reader.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_blob_reader_read(size_t *n_out, mlops_blob_reader *r, void *buf,
                                              size_t cap);

/**
 * Release a blob reader.
 *
 * @param[in] r  Reader, or NULL.
 * @threadsafety One thread per reader.
 * @since 1.0
 */
MLOPS_API void mlops_blob_reader_free(mlops_blob_reader *r);

/**
 * Store a buffer as a blob (mlops_blob_writer_open(), write, commit).
 *
 * @param[out] id_out  The blob's address.
 * @param[in]  store   Open store.
 * @param[in]  data    Bytes.
 * @param[in]  len     Number of bytes.
 * @return As mlops_blob_writer_commit().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_blob_put(mlops_hash128 *id_out, mlops_store *store,
                                            const void *data, size_t len);

/**
 * Read a whole blob into memory, verified.
 *
 * @param[out] out       The bytes; release with mlops_bytes_free().
 * @param[in]  store     Open store.
 * @param[in]  id        The blob's address.
 * @param[in]  max_size  Refuse blobs larger than this (MLOPS_E_TOOBIG); 0: no limit.
 * @return As mlops_blob_reader_read(); MLOPS_E_NOTFOUND; MLOPS_E_TOOBIG.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_blob_get(mlops_bytes *out, mlops_store *store,
                                            const mlops_hash128 *id, uint64_t max_size);

/**
 * Whether a blob exists.
 *
 * @param[out] size_out  Its size, or NULL.
 * @param[in]  store     Open store.
 * @param[in]  id        The blob's address.
 * @return MLOPS_OK if present; MLOPS_E_NOTFOUND; MLOPS_E_IO; MLOPS_E_BACKEND.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_blob_stat(uint64_t *size_out, mlops_store *store,
                                             const mlops_hash128 *id);

/** Figures from mlops_store_info(). */
typedef struct mlops_store_info_data {
    uint32_t version;        /**< MLOPS_STORE_INFO_VERSION, set by the caller */
    uint32_t format_version; /**< on-disk format version (0 if none) */
    uint64_t keys;           /**< live keys */
    uint64_t records;        /**< records in the log (live and overwritten) */
    uint64_t blobs;          /**< blobs stored */
    uint64_t bytes;          /**< bytes used on disk or on the server (approximate) */
    uint64_t blob_bytes;     /**< bytes used by blobs (approximate) */
    char backend[16];        /**< backend name, NUL-terminated */
    /* new fields go here, below all others */
} mlops_store_info_data;

/** Current version of mlops_store_info_data. */
#define MLOPS_STORE_INFO_VERSION 1

/**
 * Read the store's figures.
 *
 * @param[in,out] info  Struct whose version field the caller set.
 * @param[in]     store Open store.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION; MLOPS_E_IO.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_info(mlops_store_info_data *info, mlops_store *store);

/**
 * Verify every record checksum and every blob.
 *
 * @param[out] report_out  A human-readable report (one problem per line; empty
 *                         when clean), or NULL. Release with mlops_string_free().
 * @param[in]  store       Open store.
 * @return MLOPS_OK when clean; MLOPS_E_CORRUPT when a problem was found (the
 *         message names the first location); MLOPS_E_IO; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_check(char **report_out, mlops_store *store);

/**
 * Rewrite the store without overwritten and deleted records. Every committed
 * batch survives; a crash during compaction leaves the old state readable.
 *
 * @param[in] store  Open store.
 * @return MLOPS_OK; MLOPS_E_UNSUPPORTED if the backend has nothing to compact
 *         (mem reports OK); MLOPS_E_IO; MLOPS_E_NOSPC; MLOPS_E_NOMEM; MLOPS_E_BUSY.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_compact(mlops_store *store);

/**
 * Make every acknowledged batch durable (fsync), whatever the sync mode.
 *
 * @param[in] store  Open store.
 * @return MLOPS_OK; MLOPS_E_IO (the handle is then poisoned); MLOPS_E_CLOSED.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_store_flush(mlops_store *store);

/**
 * The environment the store was opened with.
 *
 * @param[in] store  Open store.
 * @return The env (NULL if defaults). Borrowed until the store is closed.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_env *mlops_store_env(mlops_store *store);

/**
 * The name of the store's backend ("mem", "file", ...).
 *
 * @param[in] store  Open store.
 * @return Static text. Borrowed for the life of the process.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_store_backend_name(mlops_store *store);

/**
 * Close a store. Handles opened on it keep it alive until they are closed.
 *
 * @param[in] store  Store, or NULL.
 * @threadsafety Not concurrent with other calls on the same store.
 * @since 1.0
 */
MLOPS_API void mlops_store_close(mlops_store *store);

/** @} */

/** @defgroup backend The storage backend vtable
 *
 * A backend is a struct whose first member is `mlops_backend`. The ops table
 * is versioned: members are only appended, and the core checks `version`
 * before calling a member added later. The core validates arguments (key and
 * value sizes, NULL pointers) before calling a backend, serializes nothing
 * itself, and hashes blobs: a backend only stores blob bytes under the id it
 * is given.
 *
 * Backends report errors with mlops_error_set().
 * @{ */

/** Batch operation kinds. */
#define MLOPS_OP_PUT 1
/** Delete a key (no error if absent). */
#define MLOPS_OP_DELETE 2
/** Precondition: the key is absent. */
#define MLOPS_OP_REQUIRE_ABSENT 3
/** Precondition: the key holds exactly value. */
#define MLOPS_OP_REQUIRE_VALUE 4
/** Precondition: the key is present at version. */
#define MLOPS_OP_REQUIRE_VERSION 5

/** One operation of a batch as a backend sees it. */
typedef struct mlops_batch_op {
    uint32_t kind;        /**< MLOPS_OP_* */
    uint32_t reserved;    /**< 0 */
    const uint8_t *key;   /**< key bytes */
    size_t key_len;       /**< key length */
    const uint8_t *value; /**< value for PUT and REQUIRE_VALUE */
    size_t value_len;     /**< value length */
    uint64_t version;     /**< for REQUIRE_VERSION */
} mlops_batch_op;

/** Capability: data survives close (file, postgres, redis). */
#define MLOPS_BACKEND_CAP_PERSISTENT 0x1u
/** Capability: several processes may open the same store. */
#define MLOPS_BACKEND_CAP_MULTIPROCESS 0x2u

/** A backend's blob write stream (first member of the backend's own struct). */
typedef struct mlops_backend_blob_writer {
    mlops_backend *backend; /**< the backend that made it */
} mlops_backend_blob_writer;

/** A backend's blob read stream (first member of the backend's own struct). */
typedef struct mlops_backend_blob_reader {
    mlops_backend *backend; /**< the backend that made it */
} mlops_backend_blob_reader;

/** Per-pair callback of the backend scan; non-zero stops the scan. */
typedef int (*mlops_backend_scan_fn)(const uint8_t *key, size_t key_len, const uint8_t *value,
                                     size_t value_len, uint64_t version, void *payload);

/**
 * The backend's operation table. Every member documents its contract; "any
 * thread" members are called concurrently by the core.
 */
struct mlops_backend_ops {
    uint32_t version;  /**< MLOPS_BACKEND_OPS_VERSION at build time */
    uint32_t caps;     /**< MLOPS_BACKEND_CAP_* */
    const char *name;  /**< "mem", "file", ... (at most 15 bytes) */

    /* ---- Version 1, required ---- */

    /** Read one key (any thread). MLOPS_E_NOTFOUND if absent; the value is
     *  allocated with mlops_bytes_set() using the env given at open. */
    mlops_status (*get)(mlops_backend *b, const uint8_t *key, size_t key_len,
                        mlops_bytes *value_out, uint64_t *version_out);
    /** Visit keys in [start, end) in bytewise order, at most `limit` pairs
     *  (0: no limit) (any thread). Each pair must be committed. Returns
     *  MLOPS_E_CALLBACK if cb returned non-zero. end_len 0 means no bound. */
    mlops_status (*scan)(mlops_backend *b, const uint8_t *start, size_t start_len,
                         const uint8_t *end, size_t end_len, size_t limit,
                         mlops_backend_scan_fn cb, void *payload);
    /** Apply ops all-or-nothing (any thread): check every precondition,
     *  then apply the writes in order, atomically with respect to other
     *  apply calls in every process. A failed precondition returns
     *  MLOPS_E_CONFLICT and changes nothing. */
    mlops_status (*apply)(mlops_backend *b, const mlops_batch_op *ops, size_t n_ops);
    /** Begin a blob write (any thread). */
    mlops_status (*blob_write_open)(mlops_backend *b, mlops_backend_blob_writer **out);
    /** Append bytes (one thread per writer). */
    mlops_status (*blob_write)(mlops_backend_blob_writer *w, const uint8_t *data, size_t len);
    /** Make the written bytes visible under id; if id exists, compare the
     *  bytes and return MLOPS_E_CONFLICT if they differ (one thread per
     *  writer). The writer is released by blob_write_free afterwards. */
    mlops_status (*blob_write_commit)(mlops_backend_blob_writer *w, const mlops_hash128 *id);
    /** Release a writer; uncommitted bytes are discarded. */
    void (*blob_write_free)(mlops_backend_blob_writer *w);
    /** Open a blob for reading (any thread); MLOPS_E_NOTFOUND if absent. */
    mlops_status (*blob_read_open)(mlops_backend *b, const mlops_hash128 *id,
                                   mlops_backend_blob_reader **out, uint64_t *size_out);
    /** Read up to cap bytes; *n_out = 0 at the end (one thread per reader). */
    mlops_status (*blob_read)(mlops_backend_blob_reader *r, uint8_t *buf, size_t cap,
                              size_t *n_out);
    /** Release a reader. */
    void (*blob_read_free)(mlops_backend_blob_reader *r);
    /** Release the backend and everything it holds (not concurrent). */
    void (*close)(mlops_backend *b);

    /* ---- Version 1, optional (NULL: the core falls back) ---- */

    /** Make acknowledged writes durable (any thread). NULL: nothing to do. */
    mlops_status (*sync)(mlops_backend *b);
    /** Rewrite without dead records (any thread). NULL: MLOPS_E_UNSUPPORTED. */
    mlops_status (*compact)(mlops_backend *b);
    /** Verify everything; append a report (any thread). NULL: OK. */
    mlops_status (*check)(mlops_backend *b, char **report_out);
    /** Fill figures (any thread). NULL: only backend name is filled. */
    mlops_status (*info)(mlops_backend *b, mlops_store_info_data *info);
    /** Whether a blob exists and its size (any thread). NULL: blob_read_open. */
    mlops_status (*blob_stat)(mlops_backend *b, const mlops_hash128 *id, uint64_t *size_out);

    /* Version 2 members go below this line. */
};

/** Ops table version this header describes. */
#define MLOPS_BACKEND_OPS_VERSION 1

/** The common head of every backend instance. */
struct mlops_backend {
    const mlops_backend_ops *ops; /**< the backend's static operation table */
    mlops_env *env;               /**< set by the backend's constructor (may be NULL) */
};

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_STORE_H */

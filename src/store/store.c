/* SPDX-License-Identifier: MIT */
/* The store core: URI dispatch, argument checks, batches, cursors and the
 * blob hashing shared by every backend. */
#include <stdatomic.h>
#include <stdio.h>

#include "store/store_internal.h"

struct mlops_store {
    mlops_backend *b;
    mlops_env *env;
    atomic_int refs;
    uint32_t flags;
    mlops__blob_hash_hook hash_hook;
};

/* Batch operations keep offsets into one buffer, so growing it never leaves
 * dangling pointers; pointers are made at apply time. */
typedef struct batch_entry {
    uint32_t kind;
    size_t key_off, key_len;
    size_t val_off, val_len;
    uint64_t version;
} batch_entry;

struct mlops_batch {
    mlops_store *store;
    batch_entry *ops;
    size_t n, cap;
    mlops__buf data;
};

struct mlops_blob_writer {
    mlops_store *store;
    mlops_backend_blob_writer *bw;
    mlops__hash_stream *hash;
    bool done;
};

struct mlops_blob_reader {
    mlops_store *store;
    mlops_backend_blob_reader *br;
    mlops__hash_stream *hash;
    mlops_hash128 id;
    uint64_t size, seen;
    bool verified;
};

#define ITER_PAGE 256

struct mlops_store_iter {
    mlops_store *store;
    mlops__buf next_start; /* where the next page starts */
    mlops__buf end;
    bool has_end;
    bool exhausted;
    mlops__buf page;       /* packed pairs: u64 klen, u64 vlen, key, value */
    size_t page_pos;
    size_t page_count;
    mlops_status page_st;
};

/* The store whose scan callback this thread is running, if any: calls back
 * into that store would deadlock on the backend's locks (A5). */
static _Thread_local const mlops_store *tl_scanning;

static mlops_status reentry(const mlops_store *store)
{
    if (store != NULL && tl_scanning == store)
        return mlops__error(MLOPS_E_BUSY, "a scan callback called back into the store it is "
                            "scanning; collect what you need and act after the scan");
    return MLOPS_OK;
}

mlops_status mlops_store_options_init(mlops_store_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_STORE_OPTIONS_VERSION,
                               "store options");
}

static mlops_status check_backend(mlops_backend *b)
{
    if (b == NULL || b->ops == NULL)
        return mlops__error(MLOPS_E_INVALID, "backend or its ops table is NULL");
    const mlops_backend_ops *o = b->ops;
    if (o->version < 1 || o->version > MLOPS_BACKEND_OPS_VERSION)
        return mlops__error(MLOPS_E_VERSION,
                            "backend ops version %u is not supported (this library knows 1 to %u)",
                            o->version, MLOPS_BACKEND_OPS_VERSION);
    if (!o->get || !o->scan || !o->apply || !o->blob_write_open || !o->blob_write ||
        !o->blob_write_commit || !o->blob_write_free || !o->blob_read_open || !o->blob_read ||
        !o->blob_read_free || !o->close || o->name == NULL)
        return mlops__error(MLOPS_E_INVALID,
                            "backend '%s' lacks a required version-1 member",
                            o->name ? o->name : "(unnamed)");
    return MLOPS_OK;
}

static mlops_status wrap(mlops_store **out, mlops_env *env, mlops_backend *b, uint32_t flags)
{
    mlops_store *s = mlops__calloc(env, 1, sizeof(*s));
    if (s == NULL)
        return mlops__nomem();
    s->b = b;
    s->env = mlops__env_ref(env);
    s->flags = flags;
    atomic_init(&s->refs, 1);
    *out = s;
    return MLOPS_OK;
}

mlops_status mlops_store_open_backend(mlops_store **out, mlops_env *env, mlops_backend *backend)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    mlops_status st = check_backend(backend);
    if (st != MLOPS_OK)
        return st;
    return wrap(out, env, backend, 0);
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The file backend through the real system calls, or through io (tests). */
static mlops_status file_new(mlops_backend **out, mlops_env *env, const char *path,
                             const mlops_store_options *o, const struct mlops__io *io)
{
    if (io != NULL)
        return mlops__file_backend_new_io(out, env, path, o, io);
    return mlops__file_backend_new(out, env, path, o);
}

mlops_status mlops_store_open(mlops_store **out, mlops_env *env, const char *uri,
                              const mlops_store_options *opts)
{
    return mlops__store_open_io(out, env, uri, opts, NULL);
}

mlops_status mlops__store_open_io(mlops_store **out, mlops_env *env, const char *uri,
                                  const mlops_store_options *opts, const struct mlops__io *io)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (uri == NULL || uri[0] == '\0')
        return mlops__error(MLOPS_E_INVALID, "store URI is empty");
    size_t ulen = strlen(uri);
    if (ulen > 4096)
        return mlops__error(MLOPS_E_TOOBIG, "store URI is longer than 4096 bytes");
    for (size_t i = 0; i < ulen; i++) {
        if ((unsigned char)uri[i] < 0x20 || uri[i] == 0x7f)
            return mlops__error(MLOPS_E_INVALID, "store URI contains a control character");
    }
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    if (opts != NULL) {
        if (opts->version < 1 || opts->version > MLOPS_STORE_OPTIONS_VERSION)
            return mlops__error(
                MLOPS_E_VERSION,
                "store options version %u is not supported (this library knows 1 to %u)",
                opts->version, MLOPS_STORE_OPTIONS_VERSION);
        o = *opts;
    }
    if (o.reserved != 0)
        return mlops__error(MLOPS_E_INVALID, "store options field 'reserved' must be 0 (got %u)",
                            o.reserved);
    if (o.sync == 0)
        o.sync = MLOPS_SYNC_FULL;
    if (o.sync > MLOPS_SYNC_OFF)
        return mlops__error(MLOPS_E_INVALID, "sync mode %u is not one of MLOPS_SYNC_FULL, "
                            "MLOPS_SYNC_NORMAL, MLOPS_SYNC_OFF", o.sync);
    if (o.flags & ~(MLOPS_STORE_READONLY | MLOPS_STORE_NOCREATE))
        return mlops__error(MLOPS_E_INVALID, "unknown store flags 0x%x", o.flags);
    if (o.lock_timeout_ms == 0)
        o.lock_timeout_ms = 5000;

    mlops_backend *b = NULL;
    mlops_status st;
    if (strcmp(uri, "mem:") == 0 || strcmp(uri, "mem://") == 0) {
        st = mlops__mem_backend_new(&b, env);
    } else if (has_prefix(uri, "file://")) {
        st = file_new(&b, env, uri + 7, &o, io);
    } else if (has_prefix(uri, "file:")) {
        st = file_new(&b, env, uri + 5, &o, io);
    } else if (has_prefix(uri, "postgresql://") || has_prefix(uri, "postgres://")) {
        st = mlops__postgres_backend_new(&b, env, uri, &o);
    } else if (has_prefix(uri, "redis://")) {
        st = mlops__redis_backend_new(&b, env, uri, &o);
    } else {
        const char *colon = strstr(uri, "://");
        if (colon != NULL) {
            return mlops__error(MLOPS_E_UNSUPPORTED,
                                "store URI scheme '%.*s' is not supported; use a path, file:PATH, "
                                "mem:, postgresql://... or redis://...",
                                (int)(colon - uri > 32 ? 32 : colon - uri), uri);
        }
        st = file_new(&b, env, uri, &o, io);
    }
    if (st != MLOPS_OK)
        return st;
    st = check_backend(b);
    if (st == MLOPS_OK)
        st = wrap(out, env, b, o.flags);
    if (st != MLOPS_OK)
        b->ops->close(b);
    return st;
}

mlops_store *mlops__store_ref(mlops_store *store)
{
    if (store)
        atomic_fetch_add(&store->refs, 1);
    return store;
}

void mlops__store_unref(mlops_store *store)
{
    if (store == NULL)
        return;
    if (atomic_fetch_sub(&store->refs, 1) == 1) {
        mlops_env *env = store->env;
        store->b->ops->close(store->b);
        mlops__free(env, store);
        mlops__env_unref(env);
    }
}

void mlops_store_close(mlops_store *store)
{
    mlops__store_unref(store);
}

bool mlops__store_readonly(const mlops_store *store)
{
    return (store->flags & MLOPS_STORE_READONLY) != 0;
}

mlops_env *mlops_store_env(mlops_store *store)
{
    return store ? store->env : NULL;
}

const char *mlops_store_backend_name(mlops_store *store)
{
    return store ? store->b->ops->name : "";
}

void mlops__store_set_blob_hash_hook(mlops_store *store, mlops__blob_hash_hook hook)
{
    store->hash_hook = hook;
}

size_t mlops__prefix_end(uint8_t *out, const uint8_t *prefix, size_t prefix_len)
{
    size_t n = prefix_len;
    while (n > 0 && prefix[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return 0;
    memcpy(out, prefix, n);
    out[n - 1]++;
    return n;
}

static mlops_status check_key(const void *key, size_t key_len)
{
    if (key == NULL || key_len == 0)
        return mlops__error(MLOPS_E_INVALID, "key is empty");
    if (key_len > MLOPS_STORE_MAX_KEY)
        return mlops__error(MLOPS_E_TOOBIG, "key of %zu bytes exceeds the limit of %d", key_len,
                            MLOPS_STORE_MAX_KEY);
    return MLOPS_OK;
}

static mlops_status check_value(const void *value, size_t value_len)
{
    if (value == NULL && value_len != 0)
        return mlops__error(MLOPS_E_INVALID, "value is NULL but its length is %zu", value_len);
    if (value_len > MLOPS_STORE_MAX_VALUE)
        return mlops__error(MLOPS_E_TOOBIG, "value of %zu bytes exceeds the limit of %u bytes",
                            value_len, MLOPS_STORE_MAX_VALUE);
    return MLOPS_OK;
}

static mlops_status check_writable(mlops_store *store)
{
    if (store->flags & MLOPS_STORE_READONLY)
        return mlops__error(MLOPS_E_INVALID, "the store was opened read-only");
    return MLOPS_OK;
}

mlops_status mlops_store_get(mlops_bytes *value_out, uint64_t *version_out, mlops_store *store,
                             const void *key, size_t key_len)
{
    if (value_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    memset(value_out, 0, sizeof(*value_out));
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = check_key(key, key_len);
    if (st == MLOPS_OK)
        st = reentry(store);
    if (st != MLOPS_OK)
        return st;
    uint64_t ver = 0;
    st = store->b->ops->get(store->b, key, key_len, value_out, &ver);
    if (st == MLOPS_OK && version_out)
        *version_out = ver;
    if (st == MLOPS_E_NOTFOUND && mlops_error_status() != MLOPS_E_NOTFOUND)
        mlops__error(MLOPS_E_NOTFOUND, "key not found");
    return st;
}

mlops_status mlops_store_put(mlops_store *store, const void *key, size_t key_len,
                             const void *value, size_t value_len)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = check_key(key, key_len);
    if (st == MLOPS_OK)
        st = check_value(value, value_len);
    if (st == MLOPS_OK)
        st = check_writable(store);
    if (st == MLOPS_OK)
        st = reentry(store);
    if (st != MLOPS_OK)
        return st;
    mlops_batch_op op = {MLOPS_OP_PUT, 0, key, key_len, value ? value : (const uint8_t *)"",
                         value_len, 0};
    return store->b->ops->apply(store->b, &op, 1);
}

mlops_status mlops_store_delete(mlops_store *store, const void *key, size_t key_len)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = check_key(key, key_len);
    if (st == MLOPS_OK)
        st = check_writable(store);
    if (st == MLOPS_OK)
        st = reentry(store);
    if (st != MLOPS_OK)
        return st;
    mlops_batch_op op = {MLOPS_OP_DELETE, 0, key, key_len, NULL, 0, 0};
    return store->b->ops->apply(store->b, &op, 1);
}

mlops_status mlops_store_scan(mlops_store *store, const void *start, size_t start_len,
                              const void *end, size_t end_len, mlops_scan_fn cb, void *payload)
{
    if (store == NULL || cb == NULL)
        return mlops__error(MLOPS_E_INVALID, "store or callback is NULL");
    if ((start == NULL && start_len) || (end == NULL && end_len))
        return mlops__error(MLOPS_E_INVALID, "scan bound is NULL but has a length");
    if (start_len > MLOPS_STORE_MAX_KEY || end_len > MLOPS_STORE_MAX_KEY)
        return mlops__error(MLOPS_E_TOOBIG, "scan bound exceeds the key limit");
    mlops_status st = reentry(store);
    if (st != MLOPS_OK)
        return st;
    const mlops_store *outer = tl_scanning;
    tl_scanning = store;
    st = store->b->ops->scan(store->b, start, start_len, end, end_len, 0, cb, payload);
    tl_scanning = outer;
    if (st == MLOPS_E_CALLBACK)
        mlops__error(MLOPS_E_CALLBACK, "the scan callback stopped the scan");
    return st;
}

mlops_status mlops_store_scan_prefix(mlops_store *store, const void *prefix, size_t prefix_len,
                                     mlops_scan_fn cb, void *payload)
{
    if (prefix_len > MLOPS_STORE_MAX_KEY)
        return mlops__error(MLOPS_E_TOOBIG, "prefix exceeds the key limit");
    if (prefix == NULL && prefix_len)
        return mlops__error(MLOPS_E_INVALID, "prefix is NULL but has a length");
    uint8_t endb[MLOPS_STORE_MAX_KEY];
    size_t end_len = prefix_len ? mlops__prefix_end(endb, prefix, prefix_len) : 0;
    return mlops_store_scan(store, prefix, prefix_len, end_len ? endb : NULL, end_len, cb,
                            payload);
}

/* ---- cursor ---- */

mlops_status mlops_store_iter_open(mlops_store_iter **out, mlops_store *store, const void *start,
                                   size_t start_len, const void *end, size_t end_len)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    if ((start == NULL && start_len) || (end == NULL && end_len))
        return mlops__error(MLOPS_E_INVALID, "cursor bound is NULL but has a length");
    if (start_len > MLOPS_STORE_MAX_KEY || end_len > MLOPS_STORE_MAX_KEY)
        return mlops__error(MLOPS_E_TOOBIG, "cursor bound exceeds the key limit");
    mlops_store_iter *it = mlops__calloc(store->env, 1, sizeof(*it));
    if (it == NULL)
        return mlops__nomem();
    it->store = mlops__store_ref(store);
    mlops__buf_init(&it->next_start, store->env);
    mlops__buf_init(&it->end, store->env);
    mlops__buf_init(&it->page, store->env);
    mlops_status st = mlops__buf_append(&it->next_start, start, start_len);
    if (st == MLOPS_OK && end_len) {
        st = mlops__buf_append(&it->end, end, end_len);
        it->has_end = true;
    }
    if (st != MLOPS_OK) {
        mlops_store_iter_free(it);
        return st;
    }
    *out = it;
    return MLOPS_OK;
}

static int iter_collect(const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len, uint64_t version, void *payload)
{
    (void)version;
    mlops_store_iter *it = payload;
    uint8_t hdr[16];
    mlops__put_u64le(hdr, key_len);
    mlops__put_u64le(hdr + 8, value_len);
    mlops_status st = mlops__buf_append(&it->page, hdr, 16);
    if (st == MLOPS_OK)
        st = mlops__buf_append(&it->page, key, key_len);
    if (st == MLOPS_OK)
        st = mlops__buf_append(&it->page, value, value_len);
    if (st != MLOPS_OK) {
        it->page_st = st;
        return 1;
    }
    it->page_count++;
    /* remember where the next page starts: just after this key */
    it->next_start.len = 0;
    st = mlops__buf_append(&it->next_start, key, key_len);
    if (st == MLOPS_OK)
        st = mlops__buf_putc(&it->next_start, 0);
    if (st != MLOPS_OK) {
        it->page_st = st;
        return 1;
    }
    return 0;
}

mlops_status mlops_store_iter_next(mlops_store_iter *it, const uint8_t **key, size_t *key_len,
                                   const uint8_t **value, size_t *value_len)
{
    if (it == NULL || key == NULL || key_len == NULL || value == NULL || value_len == NULL)
        return mlops__error(MLOPS_E_INVALID, "cursor or output pointer is NULL");
    if (it->page_pos >= it->page.len) {
        if (it->exhausted)
            return MLOPS_E_NOTFOUND;
        it->page.len = 0;
        it->page_pos = 0;
        it->page_count = 0;
        it->page_st = MLOPS_OK;
        if (it->next_start.len > MLOPS_STORE_MAX_KEY) {
            it->exhausted = true; /* no key can follow a maximal key plus NUL */
            return MLOPS_E_NOTFOUND;
        }
        mlops_status st = it->store->b->ops->scan(
            it->store->b, it->next_start.data, it->next_start.len,
            it->has_end ? it->end.data : NULL, it->has_end ? it->end.len : 0, ITER_PAGE,
            iter_collect, it);
        if (it->page_st != MLOPS_OK)
            return it->page_st;
        if (st != MLOPS_OK && st != MLOPS_E_CALLBACK)
            return st;
        if (it->page_count < ITER_PAGE)
            it->exhausted = true;
        if (it->page_count == 0)
            return MLOPS_E_NOTFOUND;
    }
    const uint8_t *p = it->page.data + it->page_pos;
    size_t kl = (size_t)mlops__get_u64le(p), vl = (size_t)mlops__get_u64le(p + 8);
    *key = p + 16;
    *key_len = kl;
    *value = p + 16 + kl;
    *value_len = vl;
    it->page_pos += 16 + kl + vl;
    return MLOPS_OK;
}

void mlops_store_iter_free(mlops_store_iter *it)
{
    if (it == NULL)
        return;
    mlops_store *s = it->store;
    mlops__buf_free(&it->next_start);
    mlops__buf_free(&it->end);
    mlops__buf_free(&it->page);
    mlops__free(s->env, it);
    mlops__store_unref(s);
}

/* ---- batches ---- */

mlops_status mlops_batch_create(mlops_batch **out, mlops_store *store)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_batch *b = mlops__calloc(store->env, 1, sizeof(*b));
    if (b == NULL)
        return mlops__nomem();
    b->store = mlops__store_ref(store);
    mlops__buf_init(&b->data, store->env);
    *out = b;
    return MLOPS_OK;
}

static mlops_status batch_add(mlops_batch *b, uint32_t kind, const void *key, size_t key_len,
                              const void *val, size_t val_len, uint64_t version)
{
    if (b == NULL)
        return mlops__error(MLOPS_E_INVALID, "batch is NULL");
    mlops_status st = check_key(key, key_len);
    if (st == MLOPS_OK)
        st = check_value(val, val_len);
    if (st != MLOPS_OK)
        return st;
    if (b->n >= MLOPS_STORE_MAX_BATCH_OPS)
        return mlops__error(MLOPS_E_TOOBIG, "batch exceeds %d operations",
                            MLOPS_STORE_MAX_BATCH_OPS);
    st = mlops__reserve(b->store->env, (void **)&b->ops, &b->cap, b->n + 1, sizeof(batch_entry));
    if (st != MLOPS_OK)
        return st;
    size_t mark = b->data.len;
    batch_entry e = {kind, b->data.len, key_len, 0, val_len, version};
    st = mlops__buf_append(&b->data, key, key_len);
    e.val_off = b->data.len;
    if (st == MLOPS_OK && val_len)
        st = mlops__buf_append(&b->data, val, val_len);
    if (st != MLOPS_OK) {
        b->data.len = mark;
        return st;
    }
    b->ops[b->n++] = e;
    return MLOPS_OK;
}

mlops_status mlops_batch_put(mlops_batch *batch, const void *key, size_t key_len,
                             const void *value, size_t value_len)
{
    return batch_add(batch, MLOPS_OP_PUT, key, key_len, value, value_len, 0);
}

mlops_status mlops_batch_delete(mlops_batch *batch, const void *key, size_t key_len)
{
    return batch_add(batch, MLOPS_OP_DELETE, key, key_len, NULL, 0, 0);
}

mlops_status mlops_batch_require_absent(mlops_batch *batch, const void *key, size_t key_len)
{
    return batch_add(batch, MLOPS_OP_REQUIRE_ABSENT, key, key_len, NULL, 0, 0);
}

mlops_status mlops_batch_require_value(mlops_batch *batch, const void *key, size_t key_len,
                                       const void *value, size_t value_len)
{
    return batch_add(batch, MLOPS_OP_REQUIRE_VALUE, key, key_len, value, value_len, 0);
}

mlops_status mlops_batch_require_version(mlops_batch *batch, const void *key, size_t key_len,
                                         uint64_t version)
{
    if (version == 0)
        return mlops__error(MLOPS_E_INVALID, "key versions start at 1; 0 is never a version");
    return batch_add(batch, MLOPS_OP_REQUIRE_VERSION, key, key_len, NULL, 0, version);
}

size_t mlops_batch_count(const mlops_batch *batch)
{
    return batch ? batch->n : 0;
}

void mlops_batch_clear(mlops_batch *batch)
{
    if (batch) {
        batch->n = 0;
        batch->data.len = 0;
    }
}

mlops_status mlops_store_apply(mlops_store *store, mlops_batch *batch)
{
    if (store == NULL || batch == NULL)
        return mlops__error(MLOPS_E_INVALID, "store or batch is NULL");
    if (batch->store != store)
        return mlops__error(MLOPS_E_INVALID, "the batch was created for another store");
    if (batch->n == 0)
        return MLOPS_OK;
    mlops_status rst = reentry(store);
    if (rst != MLOPS_OK)
        return rst;
    bool writes = false;
    for (size_t i = 0; i < batch->n; i++)
        writes |= batch->ops[i].kind == MLOPS_OP_PUT || batch->ops[i].kind == MLOPS_OP_DELETE;
    if (writes) {
        mlops_status st = check_writable(store);
        if (st != MLOPS_OK)
            return st;
    }
    mlops_batch_op *ops = mlops__calloc(store->env, batch->n, sizeof(*ops));
    if (ops == NULL)
        return mlops__nomem();
    static const uint8_t empty[1] = {0};
    for (size_t i = 0; i < batch->n; i++) {
        const batch_entry *e = &batch->ops[i];
        ops[i].kind = e->kind;
        ops[i].key = batch->data.data + e->key_off;
        ops[i].key_len = e->key_len;
        ops[i].value = e->val_len ? batch->data.data + e->val_off : empty;
        ops[i].value_len = e->val_len;
        ops[i].version = e->version;
    }
    mlops_status st = store->b->ops->apply(store->b, ops, batch->n);
    mlops__free(store->env, ops);
    return st;
}

void mlops_batch_free(mlops_batch *batch)
{
    if (batch == NULL)
        return;
    mlops_store *s = batch->store;
    mlops__buf_free(&batch->data);
    mlops__free(s->env, batch->ops);
    mlops__free(s->env, batch);
    mlops__store_unref(s);
}

/* ---- blobs ---- */

mlops_status mlops_blob_writer_open(mlops_blob_writer **out, mlops_store *store)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = check_writable(store);
    if (st != MLOPS_OK)
        return st;
    mlops_blob_writer *w = mlops__calloc(store->env, 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    w->store = mlops__store_ref(store);
    st = mlops__hash_stream_new(&w->hash, store->env);
    if (st == MLOPS_OK)
        st = store->b->ops->blob_write_open(store->b, &w->bw);
    if (st != MLOPS_OK) {
        mlops_blob_writer_free(w);
        return st;
    }
    *out = w;
    return MLOPS_OK;
}

mlops_status mlops_blob_writer_write(mlops_blob_writer *w, const void *data, size_t len)
{
    if (w == NULL || (data == NULL && len))
        return mlops__error(MLOPS_E_INVALID, "blob writer or data is NULL");
    if (w->done)
        return mlops__error(MLOPS_E_INVALID, "the blob writer was already committed");
    if (len == 0)
        return MLOPS_OK;
    mlops__hash_stream_update(w->hash, data, len);
    return w->store->b->ops->blob_write(w->bw, data, len);
}

mlops_status mlops_blob_writer_commit(mlops_hash128 *id_out, mlops_blob_writer *w)
{
    if (w == NULL || id_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "blob writer or output pointer is NULL");
    if (w->done)
        return mlops__error(MLOPS_E_INVALID, "the blob writer was already committed");
    w->done = true;
    mlops_hash128 id;
    mlops__hash_stream_digest128(w->hash, &id);
    if (w->store->hash_hook) {
        mlops_hash128 real = id;
        w->store->hash_hook(&id, &real);
    }
    mlops_status st = w->store->b->ops->blob_write_commit(w->bw, &id);
    if (st == MLOPS_OK)
        *id_out = id;
    return st;
}

void mlops_blob_writer_free(mlops_blob_writer *w)
{
    if (w == NULL)
        return;
    mlops_store *s = w->store;
    if (w->bw)
        s->b->ops->blob_write_free(w->bw);
    mlops__hash_stream_free(w->hash);
    mlops__free(s->env, w);
    mlops__store_unref(s);
}

mlops_status mlops_blob_reader_open(mlops_blob_reader **out, uint64_t *size_out,
                                    mlops_store *store, const mlops_hash128 *id)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (store == NULL || id == NULL)
        return mlops__error(MLOPS_E_INVALID, "store or blob id is NULL");
    mlops_blob_reader *r = mlops__calloc(store->env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->store = mlops__store_ref(store);
    r->id = *id;
    mlops_status st = mlops__hash_stream_new(&r->hash, store->env);
    if (st == MLOPS_OK)
        st = store->b->ops->blob_read_open(store->b, id, &r->br, &r->size);
    if (st != MLOPS_OK) {
        if (st == MLOPS_E_NOTFOUND) {
            char hex[33];
            mlops__hex(hex, id->bytes, 16);
            mlops__error(MLOPS_E_NOTFOUND, "blob %s not found", hex);
        }
        mlops_blob_reader_free(r);
        return st;
    }
    if (size_out)
        *size_out = r->size;
    *out = r;
    return MLOPS_OK;
}

mlops_status mlops_blob_reader_read(size_t *n_out, mlops_blob_reader *r, void *buf, size_t cap)
{
    if (n_out == NULL || r == NULL || buf == NULL || cap == 0)
        return mlops__error(MLOPS_E_INVALID, "blob reader, buffer or capacity is invalid");
    *n_out = 0;
    if (r->verified)
        return MLOPS_OK;
    size_t n = 0;
    mlops_status st = r->store->b->ops->blob_read(r->br, buf, cap, &n);
    if (st != MLOPS_OK)
        return st;
    r->seen += n;
    if (r->seen > r->size) {
        char hex[33];
        mlops__hex(hex, r->id.bytes, 16);
        return mlops__error(MLOPS_E_CORRUPT, "blob %s is longer than its recorded size %llu",
                            hex, (unsigned long long)r->size);
    }
    mlops__hash_stream_update(r->hash, buf, n);
    if (n == 0 || r->seen == r->size) {
        mlops_hash128 got;
        mlops__hash_stream_digest128(r->hash, &got);
        mlops_hash128 want = r->id;
        if (r->store->hash_hook) {
            mlops_hash128 real = got;
            r->store->hash_hook(&got, &real);
        }
        if (r->seen != r->size || memcmp(got.bytes, want.bytes, 16) != 0) {
            char hex[33];
            mlops__hex(hex, r->id.bytes, 16);
            return mlops__error(MLOPS_E_CORRUPT,
                                "blob %s does not match its content hash (read %llu of %llu "
                                "bytes); the stored copy is damaged",
                                hex, (unsigned long long)r->seen, (unsigned long long)r->size);
        }
        r->verified = true;
    }
    *n_out = n;
    return MLOPS_OK;
}

void mlops_blob_reader_free(mlops_blob_reader *r)
{
    if (r == NULL)
        return;
    mlops_store *s = r->store;
    if (r->br)
        s->b->ops->blob_read_free(r->br);
    mlops__hash_stream_free(r->hash);
    mlops__free(s->env, r);
    mlops__store_unref(s);
}

mlops_status mlops_store_blob_put(mlops_hash128 *id_out, mlops_store *store, const void *data,
                                  size_t len)
{
    if (id_out == NULL || store == NULL || (data == NULL && len))
        return mlops__error(MLOPS_E_INVALID, "blob output, store or data is NULL");
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, store);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, data, len);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(id_out, w);
    mlops_blob_writer_free(w);
    return st;
}

mlops_status mlops_store_blob_get(mlops_bytes *out, mlops_store *store, const mlops_hash128 *id,
                                  uint64_t max_size)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    memset(out, 0, sizeof(*out));
    mlops_blob_reader *r = NULL;
    uint64_t size = 0;
    mlops_status st = mlops_blob_reader_open(&r, &size, store, id);
    if (st != MLOPS_OK)
        return st;
    if ((max_size && size > max_size) || size >= SIZE_MAX) {
        mlops_blob_reader_free(r);
        return mlops__error(MLOPS_E_TOOBIG, "blob of %llu bytes exceeds the limit of %llu",
                            (unsigned long long)size, (unsigned long long)max_size);
    }
    uint8_t *buf = mlops__malloc(store->env, (size_t)size + 1);
    if (buf == NULL) {
        mlops_blob_reader_free(r);
        return mlops__nomem();
    }
    /* The reader returns at most the recorded size in all, and its end (n 0
     * with MLOPS_OK) only once that many bytes matched the content hash;
     * a short or damaged blob is MLOPS_E_CORRUPT from the reader. */
    size_t pos = 0;
    for (;;) {
        size_t n = 0;
        uint8_t end[1];
        if (pos < size)
            st = mlops_blob_reader_read(&n, r, buf + pos, (size_t)size - pos);
        else
            st = mlops_blob_reader_read(&n, r, end, 1); /* verifies an empty blob */
        if (st != MLOPS_OK || n == 0)
            break;
        pos += n;
    }
    mlops_blob_reader_free(r);
    if (st != MLOPS_OK) {
        mlops__free(store->env, buf);
        return st;
    }
    buf[size] = 0;
    out->data = buf;
    out->len = (size_t)size;
    out->env = mlops__env_ref(store->env);
    return MLOPS_OK;
}

mlops_status mlops_store_blob_stat(uint64_t *size_out, mlops_store *store,
                                   const mlops_hash128 *id)
{
    if (store == NULL || id == NULL)
        return mlops__error(MLOPS_E_INVALID, "store or blob id is NULL");
    uint64_t size = 0;
    mlops_status st;
    if (store->b->ops->blob_stat) {
        st = store->b->ops->blob_stat(store->b, id, &size);
    } else {
        mlops_backend_blob_reader *br = NULL;
        st = store->b->ops->blob_read_open(store->b, id, &br, &size);
        if (br)
            store->b->ops->blob_read_free(br);
    }
    if (st == MLOPS_OK && size_out)
        *size_out = size;
    return st;
}

/* ---- maintenance ---- */

mlops_status mlops_store_info(mlops_store_info_data *info, mlops_store *store)
{
    if (info == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "info or store is NULL");
    if (info->version < 1 || info->version > MLOPS_STORE_INFO_VERSION)
        return mlops__error(MLOPS_E_VERSION, "store info version %u is not supported",
                            info->version);
    uint32_t v = info->version;
    memset(info, 0, sizeof(*info));
    info->version = v;
    snprintf(info->backend, sizeof(info->backend), "%s", store->b->ops->name);
    if (store->b->ops->info)
        return store->b->ops->info(store->b, info);
    return MLOPS_OK;
}

mlops_status mlops_store_check(char **report_out, mlops_store *store)
{
    if (report_out)
        *report_out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    if (store->b->ops->check == NULL) {
        if (report_out) {
            *report_out = mlops__strdup(store->env, "");
            if (*report_out == NULL)
                return mlops__nomem();
        }
        return MLOPS_OK;
    }
    char *report = NULL;
    mlops_status st = store->b->ops->check(store->b, &report);
    if (report_out)
        *report_out = report;
    else
        mlops__free(store->env, report);
    return st;
}

mlops_status mlops_store_compact(mlops_store *store)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = check_writable(store);
    if (st != MLOPS_OK)
        return st;
    if (store->b->ops->compact == NULL)
        return mlops__error(MLOPS_E_UNSUPPORTED, "the %s backend has nothing to compact",
                            store->b->ops->name);
    return store->b->ops->compact(store->b);
}

mlops_status mlops_store_flush(mlops_store *store)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    if (store->b->ops->sync == NULL)
        return MLOPS_OK;
    return store->b->ops->sync(store->b);
}

mlops_status mlops__store_conflict(const mlops_batch_op *op, const char *why)
{
    char shown[64];
    size_t n = op->key_len < 40 ? op->key_len : 40;
    for (size_t i = 0; i < n; i++)
        shown[i] = (op->key[i] >= 0x20 && op->key[i] < 0x7f) ? (char)op->key[i] : '.';
    shown[n] = '\0';
    return mlops__error(MLOPS_E_CONFLICT, "precondition failed on key '%s%s': %s", shown,
                        op->key_len > 40 ? "..." : "", why);
}

/* SPDX-License-Identifier: MIT */
/* The bad-input catalogue (RELIABILITY.md; FG8): every hostile input the C
 * API accepts, as a table. Each entry runs against a store holding a known
 * state, on every local backend, and must return its documented status and
 * leave the store byte-identical (I7): the same keys and values, and for a
 * file store the same bytes in every file (for a refused call; an accepted
 * no-op such as deleting an absent key may append a record). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sweep.h"

typedef struct bad_ctx {
    mlops_store *s;
    mlops_store *other; /* a second store, for cross-store misuse */
    const char *backend;
} bad_ctx;

typedef mlops_status (*bad_fn)(bad_ctx *c);

typedef struct bad_input {
    const char *id;   /* RELIABILITY.md id */
    const char *what; /* the vector */
    bad_fn run;
    mlops_status want;
} bad_input;

static const char tiny[4] = "abc";

/* ---- A1: NULL handles and outputs ---- */
static mlops_status a1_get_null_out(bad_ctx *c)
{
    return mlops_store_get(NULL, NULL, c->s, "k", 1);
}
static mlops_status a1_get_null_store(bad_ctx *c)
{
    mlops_bytes v;
    (void)c;
    return mlops_store_get(&v, NULL, NULL, "k", 1);
}
static mlops_status a1_put_null_store(bad_ctx *c)
{
    (void)c;
    return mlops_store_put(NULL, "k", 1, "v", 1);
}
static mlops_status a1_delete_null_store(bad_ctx *c)
{
    (void)c;
    return mlops_store_delete(NULL, "k", 1);
}
static int never_cb(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                    void *p)
{
    (void)k, (void)kl, (void)v, (void)vl, (void)ver, (void)p;
    return 0;
}
static mlops_status a1_scan_null_cb(bad_ctx *c)
{
    return mlops_store_scan(c->s, NULL, 0, NULL, 0, NULL, NULL);
}
static mlops_status a1_scan_null_store(bad_ctx *c)
{
    (void)c;
    return mlops_store_scan(NULL, NULL, 0, NULL, 0, never_cb, NULL);
}
static mlops_status a1_iter_null_out(bad_ctx *c)
{
    return mlops_store_iter_open(NULL, c->s, NULL, 0, NULL, 0);
}
static mlops_status a1_iter_next_null(bad_ctx *c)
{
    mlops_store_iter *it = NULL;
    mlops_status st = mlops_store_iter_open(&it, c->s, NULL, 0, NULL, 0);
    if (st != MLOPS_OK)
        return st;
    const uint8_t *k;
    size_t kl;
    st = mlops_store_iter_next(it, &k, &kl, NULL, NULL);
    mlops_store_iter_free(it);
    return st;
}
static mlops_status a1_batch_null_out(bad_ctx *c)
{
    return mlops_batch_create(NULL, c->s);
}
static mlops_status a1_batch_null_store(bad_ctx *c)
{
    mlops_batch *b;
    (void)c;
    return mlops_batch_create(&b, NULL);
}
static mlops_status a1_apply_null_batch(bad_ctx *c)
{
    return mlops_store_apply(c->s, NULL);
}
static mlops_status a1_batch_put_null(bad_ctx *c)
{
    (void)c;
    return mlops_batch_put(NULL, "k", 1, "v", 1);
}
static mlops_status a1_blob_put_null_id(bad_ctx *c)
{
    return mlops_store_blob_put(NULL, c->s, "x", 1);
}
static mlops_status a1_blob_put_null_data(bad_ctx *c)
{
    mlops_hash128 id;
    return mlops_store_blob_put(&id, c->s, NULL, 5);
}
static mlops_status a1_blob_get_null_id(bad_ctx *c)
{
    mlops_bytes b;
    return mlops_store_blob_get(&b, c->s, NULL, 0);
}
static mlops_status a1_blob_stat_null(bad_ctx *c)
{
    return mlops_store_blob_stat(NULL, c->s, NULL);
}
static mlops_status a1_blob_writer_null(bad_ctx *c)
{
    return mlops_blob_writer_open(NULL, c->s);
}
static mlops_status a1_info_null(bad_ctx *c)
{
    return mlops_store_info(NULL, c->s);
}
static mlops_status a1_check_null(bad_ctx *c)
{
    (void)c;
    return mlops_store_check(NULL, NULL);
}
static mlops_status a1_compact_null(bad_ctx *c)
{
    (void)c;
    return mlops_store_compact(NULL);
}
static mlops_status a1_flush_null(bad_ctx *c)
{
    (void)c;
    return mlops_store_flush(NULL);
}
static mlops_status a1_open_null_out(bad_ctx *c)
{
    (void)c;
    return mlops_store_open(NULL, NULL, "mem:", NULL);
}
static mlops_status a1_open_backend_null(bad_ctx *c)
{
    mlops_store *s = NULL;
    (void)c;
    return mlops_store_open_backend(&s, NULL, NULL);
}
static mlops_status a1_hash_null(bad_ctx *c)
{
    (void)c;
    return mlops_hash128_of(NULL, "x", 1);
}
static mlops_status a1_bytes_set_null(bad_ctx *c)
{
    (void)c;
    return mlops_bytes_set(NULL, NULL, "x", 1);
}

/* ---- N12: lengths, checked before any allocation or read ---- */
static mlops_status n12_key_empty(bad_ctx *c)
{
    return mlops_store_put(c->s, "", 0, "v", 1);
}
static mlops_status n12_key_null(bad_ctx *c)
{
    return mlops_store_put(c->s, NULL, 3, "v", 1);
}
static mlops_status n12_key_max_plus_1(bad_ctx *c)
{
    static char big[MLOPS_STORE_MAX_KEY + 1];
    memset(big, 'k', sizeof(big));
    return mlops_store_put(c->s, big, sizeof(big), "v", 1);
}
static mlops_status n12_key_size_max(bad_ctx *c)
{
    return mlops_store_put(c->s, tiny, SIZE_MAX, "v", 1);
}
static mlops_status n12_get_key_size_max(bad_ctx *c)
{
    mlops_bytes v;
    return mlops_store_get(&v, NULL, c->s, tiny, SIZE_MAX);
}
static mlops_status n12_value_too_big(bad_ctx *c)
{
    return mlops_store_put(c->s, "k", 1, tiny, (size_t)MLOPS_STORE_MAX_VALUE + 1);
}
static mlops_status n12_value_size_max(bad_ctx *c)
{
    return mlops_store_put(c->s, "k", 1, tiny, SIZE_MAX);
}
static mlops_status n12_value_null_len(bad_ctx *c)
{
    return mlops_store_put(c->s, "k", 1, NULL, 7);
}
static mlops_status n12_scan_bound_too_big(bad_ctx *c)
{
    return mlops_store_scan(c->s, tiny, SIZE_MAX, NULL, 0, never_cb, NULL);
}
static mlops_status n12_scan_null_bound(bad_ctx *c)
{
    return mlops_store_scan(c->s, NULL, 5, NULL, 0, never_cb, NULL);
}
static mlops_status n12_prefix_null_len(bad_ctx *c)
{
    return mlops_store_scan_prefix(c->s, NULL, 2, never_cb, NULL);
}
static mlops_status n12_prefix_too_big(bad_ctx *c)
{
    return mlops_store_scan_prefix(c->s, tiny, SIZE_MAX, never_cb, NULL);
}
static mlops_status n12_iter_bound_too_big(bad_ctx *c)
{
    mlops_store_iter *it = NULL;
    return mlops_store_iter_open(&it, c->s, NULL, 0, tiny, SIZE_MAX);
}
static mlops_status n12_batch_key_too_big(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, tiny, SIZE_MAX, "v", 1);
    if (st != MLOPS_OK && mlops_batch_count(b) != 0)
        st = MLOPS_E_INTERNAL; /* a refused op must not be in the batch */
    mlops_batch_free(b);
    return st;
}
static mlops_status n12_batch_value_too_big(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_require_value(b, "k", 1, tiny, SIZE_MAX);
    mlops_batch_free(b);
    return st;
}
static mlops_status n12_blob_write_null(bad_ctx *c)
{
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, c->s);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, NULL, 10);
    mlops_blob_writer_free(w);
    return st;
}

/* ---- V9 and batches: all or nothing ---- */
static mlops_status v9_batch_precondition_last(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    for (int i = 0; i < 5 && st == MLOPS_OK; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "new/%d", i);
        st = mlops_batch_put(b, k, (size_t)n, "v", 1);
    }
    if (st == MLOPS_OK)
        st = mlops_batch_delete(b, "seed/0", 6);
    if (st == MLOPS_OK)
        st = mlops_batch_require_absent(b, "seed/1", 6); /* present: fails */
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->s, b);
    mlops_batch_free(b);
    return st;
}
static mlops_status v9_require_value_differs(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "seed/2", 6, "changed", 7);
    if (st == MLOPS_OK)
        st = mlops_batch_require_value(b, "seed/2", 6, "value-2x", 8);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->s, b);
    mlops_batch_free(b);
    return st;
}
static mlops_status v9_require_value_absent(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_require_value(b, "nope", 4, "", 0);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "x", 1, "", 0);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->s, b);
    mlops_batch_free(b);
    return st;
}
static mlops_status v9_stale_version(bad_ctx *c)
{
    mlops_bytes v;
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&v, &ver, c->s, "seed/3", 6);
    if (st != MLOPS_OK)
        return st;
    mlops_bytes_free(&v);
    mlops_batch *b = NULL;
    st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(b, "seed/3", 6, ver + 1);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "seed/3", 6, "lost update", 11);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->s, b);
    mlops_batch_free(b);
    return st;
}
static mlops_status v9_version_zero(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->s);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(b, "seed/3", 6, 0);
    mlops_batch_free(b);
    return st;
}
static mlops_status a_batch_other_store(bad_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->other);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "cross", 5, "x", 1);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->s, b);
    mlops_batch_free(b);
    return st;
}

/* ---- blobs ---- */
static mlops_status b_unknown_blob(bad_ctx *c)
{
    mlops_hash128 id;
    memset(id.bytes, 0x5a, 16);
    mlops_bytes b;
    return mlops_store_blob_get(&b, c->s, &id, 0);
}
static mlops_status b_unknown_blob_stat(bad_ctx *c)
{
    mlops_hash128 id;
    memset(id.bytes, 0x5b, 16);
    return mlops_store_blob_stat(NULL, c->s, &id);
}
static mlops_status b_blob_max_size(bad_ctx *c)
{
    mlops_hash128 id;
    mlops_hash128_of(&id, "seed blob bytes", 15);
    mlops_bytes b;
    return mlops_store_blob_get(&b, c->s, &id, 14);
}
static mlops_status b_write_after_commit(bad_ctx *c)
{
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, c->s);
    mlops_hash128 id;
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, "seed blob bytes", 15);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(&id, w); /* the same bytes: nothing new */
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, "more", 4);
    mlops_blob_writer_free(w);
    return st;
}
static mlops_status b_commit_twice(bad_ctx *c)
{
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, c->s);
    mlops_hash128 id;
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, "seed blob bytes", 15);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(&id, w);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(&id, w);
    mlops_blob_writer_free(w);
    return st;
}
static mlops_status b_read_cap_zero(bad_ctx *c)
{
    mlops_hash128 id;
    mlops_hash128_of(&id, "seed blob bytes", 15);
    mlops_blob_reader *r = NULL;
    mlops_status st = mlops_blob_reader_open(&r, NULL, c->s, &id);
    uint8_t buf[4];
    size_t n;
    if (st == MLOPS_OK)
        st = mlops_blob_reader_read(&n, r, buf, 0);
    mlops_blob_reader_free(r);
    return st;
}
static mlops_status b_uncommitted_writer(bad_ctx *c)
{
    /* a dropped writer leaves nothing behind */
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, c->s);
    if (st == MLOPS_OK)
        st = mlops_blob_writer_write(w, "never committed", 15);
    mlops_blob_writer_free(w);
    if (st != MLOPS_OK)
        return st;
    mlops_hash128 id;
    mlops_hash128_of(&id, "never committed", 15);
    return mlops_store_blob_stat(NULL, c->s, &id);
}

/* ---- N14: ids that do not match their grammar ---- */
static mlops_status n14_hex(const char *hex)
{
    mlops_hash128 h;
    return mlops_hash128_from_hex(&h, hex);
}
static mlops_status n14_upper(bad_ctx *c)
{
    (void)c;
    return n14_hex("0123456789ABCDEF0123456789abcdef");
}
static mlops_status n14_short(bad_ctx *c)
{
    (void)c;
    return n14_hex("0123456789abcdef0123456789abcde");
}
static mlops_status n14_long(bad_ctx *c)
{
    (void)c;
    return n14_hex("0123456789abcdef0123456789abcdef0");
}
static mlops_status n14_nonhex(bad_ctx *c)
{
    (void)c;
    return n14_hex("0123456789abcdef0123456789abcdeg");
}
static mlops_status n14_traversal(bad_ctx *c)
{
    (void)c;
    return n14_hex("../../../../../../../../etc/pass");
}
static mlops_status n14_null(bad_ctx *c)
{
    (void)c;
    return n14_hex(NULL);
}
static mlops_status n14_empty(bad_ctx *c)
{
    (void)c;
    return n14_hex("");
}

/* ---- options (§5 of STYLE.md) and URIs (N1-N5, N7, N12) ---- */
static mlops_status open_with(const char *uri, const mlops_store_options *o)
{
    mlops_store *s = (mlops_store *)(uintptr_t)1;
    mlops_status st = mlops_store_open(&s, NULL, uri, o);
    if (st == MLOPS_OK) {
        mlops_store_close(s);
        return MLOPS_E_INTERNAL; /* should have been refused */
    }
    if (s != NULL)
        return MLOPS_E_INTERNAL; /* *out must be NULL on failure */
    return st;
}
static mlops_status o_version0(bad_ctx *c)
{
    (void)c;
    mlops_store_options o = {0};
    return open_with("mem:", &o);
}
static mlops_status o_version_future(bad_ctx *c)
{
    (void)c;
    mlops_store_options o = {MLOPS_STORE_OPTIONS_VERSION + 1};
    return open_with("mem:", &o);
}
static mlops_status o_sync_bad(bad_ctx *c)
{
    (void)c;
    mlops_store_options o = {MLOPS_STORE_OPTIONS_VERSION, 4};
    return open_with("mem:", &o);
}
static mlops_status o_flags_bad(bad_ctx *c)
{
    (void)c;
    mlops_store_options o = {MLOPS_STORE_OPTIONS_VERSION, 0, 0x100};
    return open_with("mem:", &o);
}
static mlops_status o_reserved(bad_ctx *c)
{
    (void)c;
    mlops_store_options o = {MLOPS_STORE_OPTIONS_VERSION, 0, 0, 5};
    return open_with("mem:", &o);
}
static mlops_status o_init_null(bad_ctx *c)
{
    (void)c;
    return mlops_store_options_init(NULL, MLOPS_STORE_OPTIONS_VERSION);
}
static mlops_status o_init_future(bad_ctx *c)
{
    (void)c;
    mlops_store_options o;
    return mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION + 1);
}
static mlops_status o_env_version(bad_ctx *c)
{
    (void)c;
    mlops_env_options o;
    memset(&o, 0, sizeof(o));
    o.version = 99;
    mlops_env *e = NULL;
    return mlops_env_create(&e, &o);
}
static mlops_status o_env_partial_alloc(bad_ctx *c)
{
    (void)c;
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    o.malloc_fn = (mlops_malloc_fn)(uintptr_t)1; /* never called: refused first */
    mlops_env *e = NULL;
    return mlops_env_create(&e, &o);
}
static mlops_status o_info_version(bad_ctx *c)
{
    mlops_store_info_data info = {0};
    return mlops_store_info(&info, c->s);
}
static mlops_status o_info_future(bad_ctx *c)
{
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION + 1};
    return mlops_store_info(&info, c->s);
}
static mlops_status u_null(bad_ctx *c)
{
    (void)c;
    return open_with(NULL, NULL);
}
static mlops_status u_empty(bad_ctx *c)
{
    (void)c;
    return open_with("", NULL);
}
static mlops_status u_control(bad_ctx *c)
{
    (void)c;
    return open_with("mem:\x1b[31m", NULL);
}
static mlops_status u_newline(bad_ctx *c)
{
    (void)c;
    return open_with("file:store\nx", NULL);
}
static mlops_status u_ftp(bad_ctx *c)
{
    (void)c;
    return open_with("ftp://example.com/x", NULL);
}
static mlops_status u_s3(bad_ctx *c)
{
    (void)c;
    return open_with("s3://bucket/key", NULL);
}
static mlops_status u_http(bad_ctx *c)
{
    (void)c;
    return open_with("http://169.254.169.254/", NULL);
}
static mlops_status u_too_long(bad_ctx *c)
{
    (void)c;
    static char uri[5001];
    memset(uri, 'a', 5000);
    uri[5000] = '\0';
    return open_with(uri, NULL);
}
static mlops_status u_open_backend_bad_version(bad_ctx *c)
{
    (void)c;
    static const mlops_backend_ops ops = {MLOPS_BACKEND_OPS_VERSION + 1, 0, "future"};
    mlops_backend b = {&ops, NULL};
    mlops_store *s = NULL;
    return mlops_store_open_backend(&s, NULL, &b);
}
static mlops_status u_open_backend_incomplete(bad_ctx *c)
{
    (void)c;
    static const mlops_backend_ops ops = {MLOPS_BACKEND_OPS_VERSION, 0, "partial"};
    mlops_backend b = {&ops, NULL};
    mlops_store *s = NULL;
    return mlops_store_open_backend(&s, NULL, &b);
}

/* ---- not found ---- */
static mlops_status nf_get(bad_ctx *c)
{
    mlops_bytes v;
    return mlops_store_get(&v, NULL, c->s, "no such key", 11);
}
static mlops_status nf_get_prefix_of_key(bad_ctx *c)
{
    mlops_bytes v;
    return mlops_store_get(&v, NULL, c->s, "seed/", 5);
}
static mlops_status nf_delete_absent(bad_ctx *c)
{
    /* deleting an absent key is not an error, and changes nothing */
    return mlops_store_delete(c->s, "no such key", 11);
}
static int stop_cb(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                   void *p)
{
    (void)k, (void)kl, (void)v, (void)vl, (void)ver, (void)p;
    return 1;
}
static mlops_status a5_callback_stops(bad_ctx *c)
{
    return mlops_store_scan(c->s, NULL, 0, NULL, 0, stop_cb, NULL);
}

static const bad_input catalogue[] = {
    {"A1", "get with a NULL output", a1_get_null_out, MLOPS_E_INVALID},
    {"A1", "get on a NULL store", a1_get_null_store, MLOPS_E_INVALID},
    {"A1", "put on a NULL store", a1_put_null_store, MLOPS_E_INVALID},
    {"A1", "delete on a NULL store", a1_delete_null_store, MLOPS_E_INVALID},
    {"A1", "scan with a NULL callback", a1_scan_null_cb, MLOPS_E_INVALID},
    {"A1", "scan on a NULL store", a1_scan_null_store, MLOPS_E_INVALID},
    {"A1", "cursor with a NULL output", a1_iter_null_out, MLOPS_E_INVALID},
    {"A1", "cursor next with NULL outputs", a1_iter_next_null, MLOPS_E_INVALID},
    {"A1", "batch with a NULL output", a1_batch_null_out, MLOPS_E_INVALID},
    {"A1", "batch on a NULL store", a1_batch_null_store, MLOPS_E_INVALID},
    {"A1", "apply a NULL batch", a1_apply_null_batch, MLOPS_E_INVALID},
    {"A1", "put into a NULL batch", a1_batch_put_null, MLOPS_E_INVALID},
    {"A1", "blob put with a NULL id output", a1_blob_put_null_id, MLOPS_E_INVALID},
    {"A1", "blob put of NULL data with a length", a1_blob_put_null_data, MLOPS_E_INVALID},
    {"A1", "blob get with a NULL id", a1_blob_get_null_id, MLOPS_E_INVALID},
    {"A1", "blob stat with a NULL id", a1_blob_stat_null, MLOPS_E_INVALID},
    {"A1", "blob writer with a NULL output", a1_blob_writer_null, MLOPS_E_INVALID},
    {"A1", "info with a NULL struct", a1_info_null, MLOPS_E_INVALID},
    {"A1", "check on a NULL store", a1_check_null, MLOPS_E_INVALID},
    {"A1", "compact on a NULL store", a1_compact_null, MLOPS_E_INVALID},
    {"A1", "flush on a NULL store", a1_flush_null, MLOPS_E_INVALID},
    {"A1", "open with a NULL output", a1_open_null_out, MLOPS_E_INVALID},
    {"A1", "open a NULL backend", a1_open_backend_null, MLOPS_E_INVALID},
    {"A1", "hash into NULL", a1_hash_null, MLOPS_E_INVALID},
    {"A1", "bytes_set into NULL", a1_bytes_set_null, MLOPS_E_INVALID},
    {"N12", "empty key", n12_key_empty, MLOPS_E_INVALID},
    {"N12", "NULL key with a length", n12_key_null, MLOPS_E_INVALID},
    {"N12", "key of max+1 bytes", n12_key_max_plus_1, MLOPS_E_TOOBIG},
    {"N12", "key length SIZE_MAX, 4-byte buffer", n12_key_size_max, MLOPS_E_TOOBIG},
    {"N12", "get with key length SIZE_MAX", n12_get_key_size_max, MLOPS_E_TOOBIG},
    {"N12", "value of max+1 bytes, 4-byte buffer", n12_value_too_big, MLOPS_E_TOOBIG},
    {"N12", "value length SIZE_MAX", n12_value_size_max, MLOPS_E_TOOBIG},
    {"N12", "NULL value with a length", n12_value_null_len, MLOPS_E_INVALID},
    {"N12", "scan bound of SIZE_MAX bytes", n12_scan_bound_too_big, MLOPS_E_TOOBIG},
    {"N12", "scan bound NULL with a length", n12_scan_null_bound, MLOPS_E_INVALID},
    {"N12", "prefix NULL with a length", n12_prefix_null_len, MLOPS_E_INVALID},
    {"N12", "prefix of SIZE_MAX bytes", n12_prefix_too_big, MLOPS_E_TOOBIG},
    {"N12", "cursor bound of SIZE_MAX bytes", n12_iter_bound_too_big, MLOPS_E_TOOBIG},
    {"N12", "batch put, key length SIZE_MAX", n12_batch_key_too_big, MLOPS_E_TOOBIG},
    {"N12", "require_value, value length SIZE_MAX", n12_batch_value_too_big, MLOPS_E_TOOBIG},
    {"N12", "blob write of NULL with a length", n12_blob_write_null, MLOPS_E_INVALID},
    {"V9", "batch of 6 writes whose last precondition fails", v9_batch_precondition_last,
     MLOPS_E_CONFLICT},
    {"V9", "require_value with another value", v9_require_value_differs, MLOPS_E_CONFLICT},
    {"V9", "require_value of an absent key", v9_require_value_absent, MLOPS_E_CONFLICT},
    {"R4", "require_version with a newer version (lost update)", v9_stale_version,
     MLOPS_E_CONFLICT},
    {"V9", "require_version 0", v9_version_zero, MLOPS_E_INVALID},
    {"A2", "a batch applied to another store", a_batch_other_store, MLOPS_E_INVALID},
    {"F11", "unknown blob", b_unknown_blob, MLOPS_E_NOTFOUND},
    {"F11", "unknown blob stat", b_unknown_blob_stat, MLOPS_E_NOTFOUND},
    {"M3", "blob larger than max_size", b_blob_max_size, MLOPS_E_TOOBIG},
    {"A2", "blob write after commit", b_write_after_commit, MLOPS_E_INVALID},
    {"A2", "blob commit twice", b_commit_twice, MLOPS_E_INVALID},
    {"A3", "blob read with capacity 0", b_read_cap_zero, MLOPS_E_INVALID},
    {"I3", "an uncommitted blob is not visible", b_uncommitted_writer, MLOPS_E_NOTFOUND},
    {"N14", "blob id in uppercase hex", n14_upper, MLOPS_E_INVALID},
    {"N14", "blob id of 31 digits", n14_short, MLOPS_E_INVALID},
    {"N14", "blob id of 33 digits", n14_long, MLOPS_E_INVALID},
    {"N14", "blob id with a non-hex digit", n14_nonhex, MLOPS_E_INVALID},
    {"N14", "blob id that is a traversal path", n14_traversal, MLOPS_E_INVALID},
    {"N14", "blob id NULL", n14_null, MLOPS_E_INVALID},
    {"N14", "blob id empty", n14_empty, MLOPS_E_INVALID},
    {"X5", "store options version 0", o_version0, MLOPS_E_VERSION},
    {"X5", "store options from a newer header", o_version_future, MLOPS_E_VERSION},
    {"X5", "sync mode 4", o_sync_bad, MLOPS_E_INVALID},
    {"X5", "unknown open flags", o_flags_bad, MLOPS_E_INVALID},
    {"X5", "reserved options field not 0", o_reserved, MLOPS_E_INVALID},
    {"A1", "options_init(NULL)", o_init_null, MLOPS_E_INVALID},
    {"X5", "options_init of a newer version", o_init_future, MLOPS_E_VERSION},
    {"X5", "env options version 99", o_env_version, MLOPS_E_VERSION},
    {"X5", "env with malloc but no free", o_env_partial_alloc, MLOPS_E_INVALID},
    {"X5", "info struct version 0", o_info_version, MLOPS_E_VERSION},
    {"X5", "info struct from a newer header", o_info_future, MLOPS_E_VERSION},
    {"N1", "NULL URI", u_null, MLOPS_E_INVALID},
    {"N1", "empty URI", u_empty, MLOPS_E_INVALID},
    {"N7", "URI with an escape sequence", u_control, MLOPS_E_INVALID},
    {"N7", "URI with a newline", u_newline, MLOPS_E_INVALID},
    {"N5", "ftp:// URI", u_ftp, MLOPS_E_UNSUPPORTED},
    {"N5", "s3:// URI", u_s3, MLOPS_E_UNSUPPORTED},
    {"N5", "http:// metadata URI", u_http, MLOPS_E_UNSUPPORTED},
    {"N12", "URI of 5000 bytes", u_too_long, MLOPS_E_TOOBIG},
    {"X5", "backend ops from a newer header", u_open_backend_bad_version, MLOPS_E_VERSION},
    {"X5", "backend ops missing required members", u_open_backend_incomplete, MLOPS_E_INVALID},
    {"-", "get of an unknown key", nf_get, MLOPS_E_NOTFOUND},
    {"-", "get of a prefix of a key", nf_get_prefix_of_key, MLOPS_E_NOTFOUND},
    {"-", "delete of an absent key", nf_delete_absent, MLOPS_OK},
    {"A5", "scan callback stops", a5_callback_stops, MLOPS_E_CALLBACK},
};

#define N_CATALOGUE (sizeof(catalogue) / sizeof(catalogue[0]))

/* ---- store state: logical and on disk ---- */

static void seed(mlops_store *s)
{
    for (int i = 0; i < 8; i++) {
        char k[16], v[16];
        int kl = snprintf(k, sizeof(k), "seed/%d", i);
        int vl = snprintf(v, sizeof(v), "value-%d", i);
        tu_assert_ok(mlops_store_put(s, k, (size_t)kl, v, (size_t)vl));
    }
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "seed blob bytes", 15));
}

static long tried, documented, unchanged;

static void run_catalogue(const char *backend)
{
    char *dir = NULL;
    char uri[4200];
    if (strcmp(backend, "mem") == 0) {
        snprintf(uri, sizeof(uri), "mem:");
    } else {
        dir = tu_tempdir();
        snprintf(uri, sizeof(uri), "file:%s/store", dir);
    }
    bad_ctx c = {NULL, NULL, backend};
    mlops_status st = mlops_store_open(&c.s, NULL, uri, NULL);
    if (st == MLOPS_E_UNSUPPORTED) {
        printf("bad-input catalogue: backend %s not built; skipped\n", backend);
        tu_rmtree(dir);
        free(dir);
        return;
    }
    tu_assert_ok(st);
    tu_assert_ok(mlops_store_open(&c.other, NULL, "mem:", NULL));
    seed(c.s);
    for (size_t i = 0; i < N_CATALOGUE; i++) {
        const bad_input *b = &catalogue[i];
        tu_assert_ok(mlops_store_flush(c.s));
        uint64_t before = sweep_state_hash(c.s), tree_before = 0, tree_after = 0;
        if (dir)
            sweep_hash_tree(dir, &tree_before);
        st = b->run(&c);
        tried++;
        ck_assert_msg(st == b->want, "%s %s (%s): got %s, want %s: %s", backend, b->id, b->what,
                      mlops_status_name(st), mlops_status_name(b->want), mlops_error_message());
        if (st != MLOPS_OK)
            ck_assert_msg(mlops_error_status() == st || st == MLOPS_E_NOTFOUND,
                          "%s %s (%s): the thread's error status is %s", backend, b->id,
                          b->what, mlops_status_name(mlops_error_status()));
        documented++;
        tu_assert_ok(mlops_store_flush(c.s));
        ck_assert_msg(sweep_state_hash(c.s) == before, "%s %s (%s): the store changed (I7)",
                      backend, b->id, b->what);
        if (dir && b->want != MLOPS_OK) {
            sweep_hash_tree(dir, &tree_after);
            ck_assert_msg(tree_after == tree_before,
                          "%s %s (%s): the store's files changed (I7)", backend, b->id,
                          b->what);
        }
        unchanged++;
    }
    mlops_store_close(c.other);
    mlops_store_close(c.s);
    if (dir) {
        tu_rmtree(dir);
        free(dir);
    }
}

START_TEST(catalogue_mem)
{
    run_catalogue("mem");
}
END_TEST

START_TEST(catalogue_file)
{
    run_catalogue("file");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("catalogue");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, catalogue_mem);
    tcase_add_test(tc, catalogue_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        printf("FIGURE bad_inputs=%ld documented_status=%ld store_unchanged=%ld\n", tried,
               documented, unchanged);
    return failed == 0 ? 0 : 1;
}

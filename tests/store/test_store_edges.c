/* SPDX-License-Identifier: MIT */
/* Edges of the store core and the file backend's blobs: custom backends
 * that lack optional members or lie about blob contents, the argument
 * checks of every entry point, re-entry from scan callbacks, and damaged,
 * misplaced, stale and shrinking blob files (RELIABILITY.md ids in
 * comments). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "fileutil.h"
#include "core/core.h"
#include "store/file/io.h"
#include "store/store_internal.h"
#include "testutil.h"

/* ---- a backend that forwards to mem:, without optional members, and can
 * lie about blob contents ---- */

enum { LIE_NONE, LIE_EXTRA_BYTE, LIE_SIZE_PLUS_ONE, LIE_SIZE_MINUS_ONE, LIE_FLIP,
       LIE_QUIET_NOTFOUND };

typedef struct lier {
    mlops_backend base;
    mlops_backend *in;
    int mode;
} lier;

typedef struct lreader {
    mlops_backend_blob_reader base;
    mlops_backend_blob_reader *in;
    int mode;
    bool extra_sent, flipped;
} lreader;

static mlops_backend *inner(mlops_backend *b)
{
    return ((lier *)b)->in;
}

static mlops_status l_get(mlops_backend *b, const uint8_t *key, size_t key_len,
                          mlops_bytes *value_out, uint64_t *version_out)
{
    mlops_status st = inner(b)->ops->get(inner(b), key, key_len, value_out, version_out);
    if (st == MLOPS_E_NOTFOUND && ((lier *)b)->mode == LIE_QUIET_NOTFOUND)
        mlops_error_set(MLOPS_OK, ""); /* a backend that sets no message */
    return st;
}

static mlops_status l_scan(mlops_backend *b, const uint8_t *start, size_t start_len,
                           const uint8_t *end, size_t end_len, size_t limit,
                           mlops_backend_scan_fn cb, void *payload)
{
    return inner(b)->ops->scan(inner(b), start, start_len, end, end_len, limit, cb, payload);
}

static mlops_status l_apply(mlops_backend *b, const mlops_batch_op *ops, size_t n)
{
    return inner(b)->ops->apply(inner(b), ops, n);
}

static mlops_status l_wopen(mlops_backend *b, mlops_backend_blob_writer **out)
{
    return inner(b)->ops->blob_write_open(inner(b), out);
}

static mlops_status l_write(mlops_backend_blob_writer *w, const uint8_t *data, size_t len)
{
    return w->backend->ops->blob_write(w, data, len);
}

static mlops_status l_commit(mlops_backend_blob_writer *w, const mlops_hash128 *id)
{
    return w->backend->ops->blob_write_commit(w, id);
}

static void l_wfree(mlops_backend_blob_writer *w)
{
    w->backend->ops->blob_write_free(w);
}

static mlops_status l_ropen(mlops_backend *b, const mlops_hash128 *id,
                            mlops_backend_blob_reader **out, uint64_t *size_out)
{
    lreader *r = calloc(1, sizeof(*r));
    r->base.backend = b;
    r->mode = ((lier *)b)->mode;
    mlops_status st = inner(b)->ops->blob_read_open(inner(b), id, &r->in, size_out);
    if (st != MLOPS_OK) {
        free(r);
        return st;
    }
    if (r->mode == LIE_SIZE_PLUS_ONE)
        (*size_out)++;
    if (r->mode == LIE_SIZE_MINUS_ONE)
        (*size_out)--;
    *out = &r->base;
    return MLOPS_OK;
}

static mlops_status l_read(mlops_backend_blob_reader *rb, uint8_t *buf, size_t cap, size_t *n)
{
    lreader *r = (lreader *)rb;
    mlops_status st = r->in->backend->ops->blob_read(r->in, buf, cap, n);
    if (st != MLOPS_OK)
        return st;
    if (r->mode == LIE_EXTRA_BYTE && *n == 0 && !r->extra_sent) {
        buf[0] = 'x';
        *n = 1;
        r->extra_sent = true;
    }
    if (r->mode == LIE_FLIP && *n > 0 && !r->flipped) {
        buf[0] ^= 1;
        r->flipped = true;
    }
    return MLOPS_OK;
}

static void l_rfree(mlops_backend_blob_reader *rb)
{
    lreader *r = (lreader *)rb;
    r->in->backend->ops->blob_read_free(r->in);
    free(r);
}

static void l_close(mlops_backend *b)
{
    inner(b)->ops->close(inner(b));
    free(b);
}

static const mlops_backend_ops lier_ops = {
    .version = 1,
    .name = "lier",
    .get = l_get,
    .scan = l_scan,
    .apply = l_apply,
    .blob_write_open = l_wopen,
    .blob_write = l_write,
    .blob_write_commit = l_commit,
    .blob_write_free = l_wfree,
    .blob_read_open = l_ropen,
    .blob_read = l_read,
    .blob_read_free = l_rfree,
    .close = l_close,
};

static mlops_store *open_lier(int mode, lier **out)
{
    lier *l = calloc(1, sizeof(*l));
    l->base.ops = &lier_ops;
    l->mode = mode;
    tu_assert_ok(mlops__mem_backend_new(&l->in, NULL));
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open_backend(&s, NULL, &l->base));
    if (out)
        *out = l;
    return s;
}

START_TEST(test_backend_checks)
{
    mlops_store *s = (mlops_store *)1;
    lier l = {.base = {.ops = &lier_ops}};
    tu_assert_st(mlops_store_open_backend(NULL, NULL, &l.base), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_open_backend(&s, NULL, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(s);
    mlops_backend none = {0};
    tu_assert_st(mlops_store_open_backend(&s, NULL, &none), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "ops table is NULL"));
    /* X5: an ops table from a newer or broken build */
    mlops_backend_ops ops = lier_ops;
    l.base.ops = &ops;
    ops.version = 0;
    tu_assert_st(mlops_store_open_backend(&s, NULL, &l.base), MLOPS_E_VERSION);
    ops.version = MLOPS_BACKEND_OPS_VERSION + 1;
    tu_assert_st(mlops_store_open_backend(&s, NULL, &l.base), MLOPS_E_VERSION);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "not supported"));
    /* every required member */
    mlops_backend_ops *o = &ops;
    void **members[] = {(void **)&o->get,          (void **)&o->scan,
                        (void **)&o->apply,        (void **)&o->blob_write_open,
                        (void **)&o->blob_write,   (void **)&o->blob_write_commit,
                        (void **)&o->blob_write_free, (void **)&o->blob_read_open,
                        (void **)&o->blob_read,    (void **)&o->blob_read_free,
                        (void **)&o->close};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        ops = lier_ops;
        *members[i] = NULL;
        tu_assert_st(mlops_store_open_backend(&s, NULL, &l.base), MLOPS_E_INVALID);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "backend 'lier' lacks a required"));
        ck_assert_ptr_null(s);
    }
    ops = lier_ops;
    ops.name = NULL;
    tu_assert_st(mlops_store_open_backend(&s, NULL, &l.base), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "(unnamed)"));
}
END_TEST

START_TEST(test_optional_members)
{
    /* a backend without sync, compact, check, info and blob_stat: the core
     * falls back or says it is unsupported */
    mlops_store *s = open_lier(LIE_NONE, NULL);
    ck_assert_str_eq(mlops_store_backend_name(s), "lier");
    ck_assert_str_eq(mlops_store_backend_name(NULL), "");
    ck_assert_ptr_null(mlops_store_env(NULL));
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    tu_assert_ok(mlops_store_flush(s));
    tu_assert_st(mlops_store_compact(s), MLOPS_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "the lier backend has nothing to compact"));
    char *report = NULL;
    tu_assert_ok(mlops_store_check(&report, s));
    ck_assert_str_eq(report, "");
    mlops_string_free(NULL, report);
    tu_assert_ok(mlops_store_check(NULL, s));
    mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION, .keys = 99};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_str_eq(info.backend, "lier");
    ck_assert_uint_eq(info.keys, 0); /* unknown: zero, not stale */
    info.version = 0;
    tu_assert_st(mlops_store_info(&info, s), MLOPS_E_VERSION);
    tu_assert_st(mlops_store_info(NULL, s), MLOPS_E_INVALID);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "blob bytes", 10));
    uint64_t size = 0;
    tu_assert_ok(mlops_store_blob_stat(&size, s, &id));
    ck_assert_uint_eq(size, 10);
    tu_assert_ok(mlops_store_blob_stat(NULL, s, &id));
    mlops_hash128 other = id;
    other.bytes[0] ^= 0xff;
    tu_assert_st(mlops_store_blob_stat(&size, s, &other), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_store_blob_stat(&size, NULL, &id), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_stat(&size, s, NULL), MLOPS_E_INVALID);
    /* a size limit below the blob's size */
    mlops_bytes b = {0};
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 9), MLOPS_E_TOOBIG);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "blob of 10 bytes exceeds the limit of 9"));
    ck_assert_ptr_null(b.data);
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 10));
    ck_assert_mem_eq(b.data, "blob bytes", 10);
    mlops_bytes_free(&b);
    mlops_store_close(s);

    /* a backend that reports NOTFOUND without a message still gets one */
    s = open_lier(LIE_QUIET_NOTFOUND, NULL);
    tu_assert_st(mlops_store_get(&b, NULL, s, "absent", 6), MLOPS_E_NOTFOUND);
    ck_assert_str_eq(mlops_error_message(), "key not found");
    mlops_store_close(s);
}
END_TEST

/* I4: blob reads are checked against the content address and the recorded
 * size, whatever the backend returns. */
START_TEST(test_lying_blobs)
{
    static const int modes[] = {LIE_SIZE_MINUS_ONE, LIE_SIZE_PLUS_ONE, LIE_FLIP};
    static const char *msgs[] = {"read 19 of 19 bytes", "read 20 of 21 bytes",
                                 "read 20 of 20 bytes"};
    static const char *reader_msgs[] = {"longer than its recorded size 19",
                                        "read 20 of 21 bytes", "does not match"};
    for (int i = 0; i < 3; i++) {
        lier *l = NULL;
        mlops_store *s = open_lier(LIE_NONE, &l);
        mlops_hash128 id;
        tu_assert_ok(mlops_store_blob_put(&id, s, "twenty bytes of data", 20));
        l->mode = modes[i];
        mlops_bytes b = {0};
        mlops_status st = mlops_store_blob_get(&b, s, &id, 0);
        ck_assert_msg(st == MLOPS_E_CORRUPT, "mode %d: %s", modes[i], mlops_status_name(st));
        ck_assert_ptr_null(b.data);
        ck_assert_msg(strstr(mlops_error_message(), msgs[i]) != NULL, "mode %d: %s",
                      modes[i], mlops_error_message());
        /* the streaming reader finds the same problem */
        mlops_blob_reader *r = NULL;
        tu_assert_ok(mlops_blob_reader_open(&r, NULL, s, &id));
        char buf[64];
        size_t n = 0;
        do {
            st = mlops_blob_reader_read(&n, r, buf, sizeof(buf));
        } while (st == MLOPS_OK && n > 0);
        ck_assert_int_eq(st, MLOPS_E_CORRUPT);
        ck_assert_msg(strstr(mlops_error_message(), reader_msgs[i]) != NULL, "mode %d: %s",
                      modes[i], mlops_error_message());
        mlops_blob_reader_free(r);
        mlops_store_close(s);
    }
    /* bytes past the recorded size are never read: the content up to it
     * matched its address, and that is what the caller gets */
    lier *l = NULL;
    mlops_store *s = open_lier(LIE_NONE, &l);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "abc", 3));
    l->mode = LIE_EXTRA_BYTE;
    mlops_bytes b = {0};
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 0));
    ck_assert_uint_eq(b.len, 3);
    mlops_bytes_free(&b);
    /* an empty blob is verified too */
    l->mode = LIE_NONE;
    tu_assert_ok(mlops_store_blob_put(&id, s, "", 0));
    l->mode = LIE_SIZE_PLUS_ONE;
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 0), MLOPS_E_CORRUPT);
    l->mode = LIE_NONE;
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 0));
    ck_assert_uint_eq(b.len, 0);
    mlops_bytes_free(&b);
    mlops_store_close(s);
}
END_TEST

/* ---- argument checks (A1, N12) and re-entry (A5) ---- */

typedef struct reent {
    mlops_store *s;
    mlops_status scan_st, apply_st, get_st, put_st;
} reent;

static int reenter_cb(const uint8_t *key, size_t key_len, const uint8_t *value,
                      size_t value_len, uint64_t version, void *payload)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (void)version;
    reent *r = payload;
    r->scan_st = mlops_store_scan(r->s, NULL, 0, NULL, 0, reenter_cb, r);
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, r->s));
    tu_assert_ok(mlops_batch_put(b, "x", 1, "y", 1));
    r->apply_st = mlops_store_apply(r->s, b);
    mlops_batch_free(b);
    mlops_bytes v;
    r->get_st = mlops_store_get(&v, NULL, r->s, "a", 1);
    r->put_st = mlops_store_put(r->s, "z", 1, "z", 1);
    return 1;
}

static int count_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                    uint64_t version, void *payload)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (void)version;
    (*(int *)payload)++;
    return 0;
}

START_TEST(test_argument_checks)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
    tu_assert_ok(mlops_store_put(s, "a", 1, "1", 1));
    /* A5: a scan callback calling back into its store gets BUSY, and the
     * store is unchanged */
    reent r = {.s = s};
    tu_assert_st(mlops_store_scan(s, NULL, 0, NULL, 0, reenter_cb, &r), MLOPS_E_CALLBACK);
    ck_assert_int_eq(r.scan_st, MLOPS_E_BUSY);
    ck_assert_int_eq(r.apply_st, MLOPS_E_BUSY);
    ck_assert_int_eq(r.get_st, MLOPS_E_BUSY);
    ck_assert_int_eq(r.put_st, MLOPS_E_BUSY);
    int n = 0;
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, count_cb, &n));
    ck_assert_int_eq(n, 1);

    /* N12: bounds with a length but no bytes, keys over the limit */
    static uint8_t big[MLOPS_STORE_MAX_KEY + 1];
    tu_assert_st(mlops_store_scan(s, NULL, 3, NULL, 0, count_cb, &n), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan(s, NULL, 0, NULL, 3, count_cb, &n), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan(s, big, sizeof(big), NULL, 0, count_cb, &n), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_scan(s, NULL, 0, big, sizeof(big), count_cb, &n), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_scan(s, NULL, 0, NULL, 0, NULL, &n), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan(NULL, NULL, 0, NULL, 0, count_cb, &n), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan_prefix(s, NULL, 2, count_cb, &n), MLOPS_E_INVALID);
    mlops_store_iter *it = (mlops_store_iter *)1;
    tu_assert_st(mlops_store_iter_open(&it, NULL, NULL, 0, NULL, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_open(&it, s, NULL, 1, NULL, 0), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "cursor bound is NULL"));
    tu_assert_st(mlops_store_iter_open(&it, s, NULL, 0, NULL, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_open(&it, s, big, sizeof(big), NULL, 0), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_iter_open(&it, s, NULL, 0, big, sizeof(big)), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_iter_open(NULL, s, NULL, 0, NULL, 0), MLOPS_E_INVALID);
    tu_assert_ok(mlops_store_iter_open(&it, s, NULL, 0, NULL, 0));
    const uint8_t *k, *v;
    size_t kl, vl;
    tu_assert_st(mlops_store_iter_next(NULL, &k, &kl, &v, &vl), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_next(it, NULL, &kl, &v, &vl), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_next(it, &k, NULL, &v, &vl), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_next(it, &k, &kl, NULL, &vl), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_iter_next(it, &k, &kl, &v, NULL), MLOPS_E_INVALID);
    tu_assert_ok(mlops_store_iter_next(it, &k, &kl, &v, &vl));
    tu_assert_st(mlops_store_iter_next(it, &k, &kl, &v, &vl), MLOPS_E_NOTFOUND);
    mlops_store_iter_free(it);
    mlops_store_iter_free(NULL);

    /* batches */
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    ck_assert_uint_eq(mlops_batch_count(NULL), 0);
    mlops_batch_clear(NULL);
    tu_assert_st(mlops_store_apply(NULL, b), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_apply(s, NULL), MLOPS_E_INVALID);
    tu_assert_ok(mlops_store_apply(s, b)); /* empty: nothing to do */
    mlops_batch_free(b);
    mlops_batch_free(NULL);

    /* blobs */
    mlops_blob_writer *w = (mlops_blob_writer *)1;
    tu_assert_st(mlops_blob_writer_open(NULL, s), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_writer_open(&w, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(w);
    tu_assert_ok(mlops_blob_writer_open(&w, s));
    tu_assert_st(mlops_blob_writer_write(NULL, "x", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_writer_write(w, NULL, 1), MLOPS_E_INVALID);
    tu_assert_ok(mlops_blob_writer_write(w, NULL, 0));
    tu_assert_ok(mlops_blob_writer_write(w, "abc", 3));
    tu_assert_st(mlops_blob_writer_commit(NULL, w), MLOPS_E_INVALID);
    mlops_hash128 id;
    tu_assert_st(mlops_blob_writer_commit(&id, NULL), MLOPS_E_INVALID);
    tu_assert_ok(mlops_blob_writer_commit(&id, w));
    mlops_blob_writer_free(w);
    mlops_blob_writer_free(NULL);
    mlops_blob_reader *r2 = (mlops_blob_reader *)1;
    tu_assert_st(mlops_blob_reader_open(NULL, NULL, s, &id), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_reader_open(&r2, NULL, NULL, &id), MLOPS_E_INVALID);
    ck_assert_ptr_null(r2);
    tu_assert_st(mlops_blob_reader_open(&r2, NULL, s, NULL), MLOPS_E_INVALID);
    uint64_t size = 0;
    tu_assert_ok(mlops_blob_reader_open(&r2, &size, s, &id));
    ck_assert_uint_eq(size, 3);
    char buf[8];
    size_t got = 0;
    tu_assert_st(mlops_blob_reader_read(NULL, r2, buf, 8), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_reader_read(&got, NULL, buf, 8), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_reader_read(&got, r2, NULL, 8), MLOPS_E_INVALID);
    tu_assert_st(mlops_blob_reader_read(&got, r2, buf, 0), MLOPS_E_INVALID);
    tu_assert_ok(mlops_blob_reader_read(&got, r2, buf, 8));
    ck_assert_uint_eq(got, 3);
    tu_assert_ok(mlops_blob_reader_read(&got, r2, buf, 8)); /* verified: the end */
    ck_assert_uint_eq(got, 0);
    mlops_blob_reader_free(r2);
    mlops_blob_reader_free(NULL);
    tu_assert_st(mlops_store_blob_put(NULL, s, "x", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_put(&id, NULL, "x", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_put(&id, s, NULL, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_get(NULL, s, &id, 0), MLOPS_E_INVALID);
    mlops_bytes bv;
    tu_assert_st(mlops_store_blob_get(&bv, NULL, &id, 0), MLOPS_E_INVALID);
    ck_assert_ptr_null(bv.data);
    tu_assert_st(mlops_store_check(NULL, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_compact(NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_flush(NULL), MLOPS_E_INVALID);
    /* nothing above changed the store */
    n = 0;
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, count_cb, &n));
    ck_assert_int_eq(n, 1);
    mlops_store_close(s);
}
END_TEST

/* A cursor whose page ends on a key of the maximal length: no key can
 * follow it, so the cursor ends there without another scan. */
START_TEST(test_cursor_after_maximal_key)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
    static uint8_t maxkey[MLOPS_STORE_MAX_KEY];
    memset(maxkey, 0xff, sizeof(maxkey));
    /* 255 short keys and the maximal key: exactly one page of 256 */
    for (int i = 0; i < 255; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%03d", i);
        tu_assert_ok(mlops_store_put(s, k, 4, "v", 1));
    }
    tu_assert_ok(mlops_store_put(s, maxkey, sizeof(maxkey), "last", 4));
    mlops_store_iter *it = NULL;
    tu_assert_ok(mlops_store_iter_open(&it, s, NULL, 0, NULL, 0));
    const uint8_t *k, *v;
    size_t kl, vl;
    int n = 0;
    mlops_status st;
    while ((st = mlops_store_iter_next(it, &k, &kl, &v, &vl)) == MLOPS_OK)
        n++;
    ck_assert_int_eq(st, MLOPS_E_NOTFOUND);
    ck_assert_int_eq(n, 256);
    ck_assert_uint_eq(kl, MLOPS_STORE_MAX_KEY);
    tu_assert_st(mlops_store_iter_next(it, &k, &kl, &v, &vl), MLOPS_E_NOTFOUND);
    mlops_store_iter_free(it);
    mlops_store_close(s);
}
END_TEST

/* N12: a batch of more than MLOPS_STORE_MAX_BATCH_OPS operations. */
START_TEST(test_batch_limit)
{
    if (RUNNING_ON_VALGRIND)
        return; /* a million calls: checked in the normal and ASan runs */
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    for (int i = 0; i < MLOPS_STORE_MAX_BATCH_OPS; i++)
        ck_assert_int_eq(mlops_batch_require_absent(b, "k", 1), MLOPS_OK);
    tu_assert_st(mlops_batch_delete(b, "k", 1), MLOPS_E_TOOBIG);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "batch exceeds 1000000 operations"));
    ck_assert_uint_eq(mlops_batch_count(b), MLOPS_STORE_MAX_BATCH_OPS);
    mlops_batch_clear(b);
    ck_assert_uint_eq(mlops_batch_count(b), 0);
    mlops_batch_free(b);
    mlops_store_close(s);
}
END_TEST

/* The mem backend refuses an operation kind it does not know (a newer
 * core): nothing is applied. */
START_TEST(test_backend_unknown_op)
{
    mlops_backend *m = NULL;
    tu_assert_ok(mlops__mem_backend_new(&m, NULL));
    mlops_batch_op ops[2] = {
        {.kind = MLOPS_OP_PUT, .key = (const uint8_t *)"a", .key_len = 1,
         .value = (const uint8_t *)"1", .value_len = 1},
        {.kind = 99, .key = (const uint8_t *)"b", .key_len = 1,
         .value = (const uint8_t *)"", .value_len = 0},
    };
    tu_assert_st(m->ops->apply(m, ops, 2), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "unknown batch operation kind 99"));
    mlops_bytes v;
    tu_assert_st(m->ops->get(m, (const uint8_t *)"a", 1, &v, NULL), MLOPS_E_NOTFOUND);
    m->ops->close(m);
}
END_TEST

/* ---- blobs of the file backend ---- */

static char *blob_path(const char *dir, const mlops_hash128 *id)
{
    char hex[MLOPS_HASH128_HEX_LEN + 1];
    mlops_hash128_to_hex(hex, id);
    char *p = malloc(strlen(dir) + 64);
    sprintf(p, "%s/blobs/%.2s/%s", dir, hex, hex);
    return p;
}

static mlops_store *open_file(const char *dir, uint32_t flags)
{
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.flags = flags;
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, dir, &o));
    return s;
}

START_TEST(test_file_blob_damage)
{
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    /* a store that never held a blob has no blob directory */
    mlops_hash128 absent = {{0}};
    mlops_bytes b = {0};
    tu_assert_st(mlops_store_blob_get(&b, s, &absent, 0), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "not found"));
    tu_assert_st(mlops_store_blob_stat(NULL, s, &absent), MLOPS_E_NOTFOUND);
    char *report = NULL;
    tu_assert_ok(mlops_store_check(&report, s));
    mlops_string_free(NULL, report);

    char data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i * 7 % 251);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, data, sizeof(data)));
    char *bp = blob_path(dir, &id);
    size_t flen = 0;
    uint8_t *orig = fu_read_file(bp, &flen);
    ck_assert_ptr_nonnull(orig);

    /* I4: a damaged stored copy (same size) is found by check and by a
     * read, and replaced when the same content is written again */
    uint8_t *bad = malloc(flen);
    memcpy(bad, orig, flen);
    bad[flen - 3] ^= 0x55;
    fu_write_file(bp, bad, flen);
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 0), MLOPS_E_CORRUPT);
    tu_assert_st(mlops_store_check(&report, s), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(report, bp));
    mlops_string_free(NULL, report);
    mlops_hash128 id2;
    tu_assert_ok(mlops_store_blob_put(&id2, s, data, sizeof(data)));
    ck_assert_mem_eq(&id, &id2, sizeof(id));
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 0));
    ck_assert_mem_eq(b.data, data, sizeof(data));
    mlops_bytes_free(&b);
    tu_assert_ok(mlops_store_check(NULL, s));
    /* damage inside stored (incompressible) bytes, which the comparison
     * with the new copy meets before the frame's checksum does: still a
     * damaged copy to replace, not a hash collision */
    size_t rn = 3u << 19; /* past the 1 MiB compare chunk */
    uint8_t *raw = malloc(rn);
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < rn; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        raw[i] = (uint8_t)x;
    }
    mlops_hash128 rid, rid2;
    tu_assert_ok(mlops_store_blob_put(&rid, s, raw, rn));
    char *rp = blob_path(dir, &rid);
    size_t rlen = 0;
    uint8_t *rf = fu_read_file(rp, &rlen);
    rf[rlen / 8] ^= 0x55; /* in the first chunk compared */
    fu_write_file(rp, rf, rlen);
    tu_assert_st(mlops_store_check(NULL, s), MLOPS_E_CORRUPT);
    tu_assert_ok(mlops_store_blob_put(&rid2, s, raw, rn));
    ck_assert_mem_eq(&rid, &rid2, sizeof(rid));
    tu_assert_ok(mlops_store_check(NULL, s));
    tu_assert_ok(mlops_store_blob_get(&b, s, &rid, 0));
    ck_assert(b.len == rn && memcmp(b.data, raw, rn) == 0);
    mlops_bytes_free(&b);
    free(rf);
    free(rp);
    free(raw);

    /* a bad header */
    memcpy(bad, orig, flen);
    memcpy(bad, "NOTABLOB", 8);
    fu_write_file(bp, bad, flen);
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 0), MLOPS_E_CORRUPT);
    fu_write_file(bp, orig, 10); /* shorter than a header */
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 0), MLOPS_E_CORRUPT);
    /* a directory where the blob should be */
    ck_assert_int_eq(unlink(bp), 0);
    ck_assert_int_eq(mkdir(bp, 0755), 0);
    tu_assert_st(mlops_store_blob_get(&b, s, &id, 0), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "not a regular file"));
    ck_assert_int_eq(rmdir(bp), 0);
    fu_write_file(bp, orig, flen);
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 0));
    mlops_bytes_free(&b);

    /* headers that agree with their checksum but not with the body: a
     * length short of the file, a frame cut short (its length fixed up), a
     * content size one more than the frame holds */
    uint8_t *h = malloc(flen + 2);
    for (int variant = 0; variant < 3; variant++) {
        size_t hl = flen;
        memcpy(h, orig, flen);
        if (variant == 0) {
            memcpy(h + flen, "xx", 2);
            hl = flen + 2;
        } else if (variant == 1) {
            hl = flen - 6;
            uint64_t body = hl - 32;
            memcpy(h + 16, &body, 8);
        } else {
            uint64_t size;
            memcpy(&size, h + 8, 8);
            size++;
            memcpy(h + 8, &size, 8);
        }
        uint64_t sum = mlops__xxh3_64(h, 24, 0);
        memcpy(h + 24, &sum, 8); /* little-endian host, as the tests run on */
        fu_write_file(bp, h, hl);
        tu_assert_st(mlops_store_check(&report, s), MLOPS_E_CORRUPT);
        ck_assert_ptr_nonnull(strstr(report, bp));
        mlops_string_free(NULL, report);
        ck_assert_int_ne(mlops_store_blob_get(&b, s, &id, 0), MLOPS_OK);
    }
    free(h);
    fu_write_file(bp, orig, flen);
    tu_assert_ok(mlops_store_check(NULL, s));

    /* a blob file in the wrong sub-directory is reported; temp files and
     * strangers in sub-directories are ignored */
    char hex[40];
    mlops_hash128_to_hex(hex, &id);
    char *p = malloc(strlen(dir) + 100);
    ck_assert_ptr_nonnull(p);
    sprintf(p, "%s/blobs/%c%c", dir, hex[0] == '0' ? '1' : '0', hex[1]);
    mkdir(p, 0755);
    sprintf(p + strlen(p), "/%s", hex);
    fu_write_file(p, orig, flen);
    sprintf(p, "%s/blobs/%.2s/tmp-stranger", dir, hex);
    fu_write_file(p, "x", 1);
    tu_assert_st(mlops_store_check(&report, s), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(report, "misplaced or not a regular file"));
    ck_assert_ptr_null(strstr(report, "tmp-stranger"));
    mlops_string_free(NULL, report);
    mlops_store_close(s);

    /* a read-only store refuses blob writes and leaves the files alone */
    uint64_t before = fu_tree_hash(dir);
    s = open_file(dir, MLOPS_STORE_READONLY);
    mlops_blob_writer *w = NULL;
    tu_assert_st(mlops_blob_writer_open(&w, s), MLOPS_E_INVALID);
    ck_assert_ptr_null(w);
    tu_assert_st(mlops_store_blob_put(&id2, s, "new", 3), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_compact(s), MLOPS_E_INVALID);
    mlops_batch *batch = NULL;
    tu_assert_ok(mlops_batch_create(&batch, s));
    tu_assert_ok(mlops_batch_put(batch, "k", 1, "v", 1));
    tu_assert_st(mlops_store_apply(s, batch), MLOPS_E_INVALID);
    mlops_batch_free(batch);
    mlops_store_close(s);
    ck_assert_uint_eq(fu_tree_hash(dir), before);
    free(p);
    free(bad);
    free(orig);
    free(bp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Temp files of blob writers that died are removed when a writer opens the
 * store and by a compaction; those of live processes are kept. */
START_TEST(test_file_stale_temp)
{
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "x", 1));
    mlops_store_close(s);
    char *dead = malloc(strlen(dir) + 64), *live = malloc(strlen(dir) + 64);
    sprintf(dead, "%s/blobs/tmp-4194303-1", dir); /* above any pid_max: no such process */
    sprintf(live, "%s/blobs/tmp-%d-1", dir, (int)getpid());
    fu_write_file(dead, "partial", 7);
    fu_write_file(live, "partial", 7);
    s = open_file(dir, 0);
    ck_assert_int_ne(access(dead, F_OK), 0);
    ck_assert_int_eq(access(live, F_OK), 0);
    tu_assert_ok(mlops_store_blob_put(&id, s, "y", 1));
    /* one that dies while the store is open goes with the next compaction */
    fu_write_file(dead, "partial", 7);
    tu_assert_ok(mlops_store_compact(s));
    mlops_store_close(s);
    ck_assert_int_ne(access(dead, F_OK), 0);
    ck_assert_int_eq(access(live, F_OK), 0);
    unlink(live);
    free(dead);
    free(live);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* A blob file cut short while a reader streams it: MLOPS_E_CORRUPT, not a
 * hang or a short success. */
START_TEST(test_file_blob_shrinks)
{
    if (RUNNING_ON_VALGRIND)
        return; /* megabytes of zstd: checked in the normal and ASan runs */
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    size_t n = 3u << 20;
    uint8_t *data = malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (uint8_t)x; /* incompressible */
    }
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, data, n));
    mlops_blob_reader *r = NULL;
    tu_assert_ok(mlops_blob_reader_open(&r, NULL, s, &id));
    uint8_t *buf = malloc(1u << 16);
    size_t got = 0;
    tu_assert_ok(mlops_blob_reader_read(&got, r, buf, 1u << 16));
    ck_assert_uint_gt(got, 0);
    char *bp = blob_path(dir, &id);
    ck_assert_int_eq(truncate(bp, 4096), 0);
    mlops_status st;
    do
        st = mlops_blob_reader_read(&got, r, buf, 1u << 16);
    while (st == MLOPS_OK && got > 0);
    ck_assert_int_eq(st, MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "shrank while read"));
    mlops_blob_reader_free(r);
    mlops_store_close(s);
    free(bp);
    free(buf);
    free(data);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- damaged superblocks and log headers (N, V7, I7) ---- */

static void set_hdr(uint8_t *b, size_t off, uint64_t v, int width)
{
    for (int i = 0; i < width; i++)
        b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
    uint64_t sum = mlops__xxh3_64(b, 56, 0);
    for (int i = 0; i < 8; i++)
        b[56 + i] = (uint8_t)(sum >> (8 * i));
}

START_TEST(test_file_damaged_headers)
{
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    mlops_store_close(s);
    char *sp = malloc(strlen(dir) + 32);
    sprintf(sp, "%s/superblock", dir);
    char *lp = strdup(fu_log_path(dir));
    size_t slen = 0, llen = 0;
    uint8_t *super = fu_read_file(sp, &slen);
    uint8_t *log = fu_read_file(lp, &llen);
    ck_assert(super && log && slen == 64 && llen >= 64);
    uint32_t fmt = (uint32_t)log[8] | (uint32_t)log[9] << 8;
    uint8_t *b = malloc(llen);
    enum { SUPER_DIR, SUPER_SHORT, SUPER_SUM, SUPER_V0, LOG_MAGIC_BAD, LOG_SUM, LOG_NEWER,
           LOG_EPOCH, LOG_BASE0, LOG_MISSING, LOG_DIR, N_CASES };
    static const struct {
        mlops_status st;
        const char *msg;
    } want[N_CASES] = {
        [SUPER_DIR] = {MLOPS_E_CORRUPT, "superblock' is not a regular file"},
        [SUPER_SHORT] = {MLOPS_E_CORRUPT, "is not a libmlops superblock (30 bytes"},
        [SUPER_SUM] = {MLOPS_E_CORRUPT, "fails its checksum"},
        [SUPER_V0] = {MLOPS_E_CORRUPT, "invalid version or generation"},
        [LOG_MAGIC_BAD] = {MLOPS_E_CORRUPT, "has a damaged header"},
        [LOG_SUM] = {MLOPS_E_CORRUPT, "header fails its checksum"},
        [LOG_NEWER] = {MLOPS_E_VERSION, "has format version"},
        [LOG_EPOCH] = {MLOPS_E_CORRUPT, "belongs to another store or generation"},
        [LOG_BASE0] = {MLOPS_E_CORRUPT, "has base sequence 0"},
        [LOG_MISSING] = {MLOPS_E_CORRUPT, NULL},
        [LOG_DIR] = {MLOPS_E_IO, "Is a directory"}, /* read-only: "not a regular file" */
    };
    for (int c = 0; c < N_CASES; c++) {
        memcpy(b, log, llen);
        switch (c) {
        case SUPER_DIR:
            unlink(sp);
            mkdir(sp, 0755);
            break;
        case SUPER_SHORT:
            fu_write_file(sp, super, 30);
            break;
        case SUPER_SUM:
            memcpy(b, super, 64);
            b[20] ^= 1;
            fu_write_file(sp, b, 64);
            break;
        case SUPER_V0:
            fu_set_super_versions(dir, 0, 1);
            break;
        case LOG_MAGIC_BAD:
            b[0] ^= 0x20;
            fu_write_file(lp, b, llen);
            break;
        case LOG_SUM:
            b[60] ^= 1;
            fu_write_file(lp, b, llen);
            break;
        case LOG_NEWER:
            set_hdr(b, 8, fmt + 1, 4);
            fu_write_file(lp, b, llen);
            break;
        case LOG_EPOCH:
            set_hdr(b, 16, 12345, 8);
            fu_write_file(lp, b, llen);
            break;
        case LOG_BASE0:
            set_hdr(b, 32, 0, 8);
            fu_write_file(lp, b, llen);
            break;
        case LOG_MISSING:
            unlink(lp);
            break;
        case LOG_DIR:
            unlink(lp);
            mkdir(lp, 0755);
            break;
        }
        uint64_t before = fu_tree_hash(dir);
        mlops_store *s2 = (mlops_store *)1;
        mlops_status st = mlops_store_open(&s2, NULL, dir, NULL);
        ck_assert_msg(st == want[c].st, "case %d: %s: %s", c, mlops_status_name(st),
                      mlops_error_message());
        ck_assert_ptr_null(s2);
        if (want[c].msg)
            ck_assert_msg(strstr(mlops_error_message(), want[c].msg) != NULL, "case %d: %s", c,
                          mlops_error_message());
        ck_assert_msg(fu_tree_hash(dir) == before, "case %d: the failed open changed files", c);
        /* read-only opens refuse the same way */
        mlops_store_options o;
        mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
        o.flags = MLOPS_STORE_READONLY;
        st = mlops_store_open(&s2, NULL, dir, &o);
        if (c == LOG_DIR) {
            ck_assert_int_eq(st, MLOPS_E_CORRUPT);
            ck_assert_ptr_nonnull(strstr(mlops_error_message(), "is not a regular file"));
        } else {
            ck_assert_int_eq(st, want[c].st);
        }
        /* repair */
        if (c == SUPER_DIR)
            rmdir(sp);
        if (c == LOG_DIR)
            rmdir(lp);
        fu_write_file(sp, super, slen);
        fu_write_file(lp, log, llen);
        s2 = open_file(dir, 0);
        mlops_bytes v;
        tu_assert_ok(mlops_store_get(&v, NULL, s2, "k", 1));
        mlops_bytes_free(&v);
        mlops_store_close(s2);
    }
    free(b);
    free(super);
    free(log);
    free(lp);
    free(sp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- hand-made log records (F7, F8, N, I5) ---- */

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Append a record (a valid header and checksum around payload) to buf. */
static size_t make_rec(uint8_t *out, uint8_t type, uint8_t flags, uint64_t seq, uint64_t epoch,
                       const uint8_t *payload, size_t len)
{
    size_t total = (32 + len + 7) & ~(size_t)7;
    memset(out, 0, total);
    out[0] = (uint8_t)len;
    out[1] = (uint8_t)(len >> 8);
    out[4] = type;
    out[5] = flags;
    put64(out + 8, seq);
    put64(out + 16, epoch);
    memcpy(out + 32, payload, len);
    uint64_t sum = mlops__xxh3_64(payload, len, mlops__xxh3_64(out, 24, 0x6d6c6f70736c6f67ULL));
    put64(out + 24, sum);
    return total;
}

START_TEST(test_file_damaged_records)
{
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    tu_assert_ok(mlops_store_put(s, "k2", 2, "v2", 2));
    mlops_store_close(s);
    char *lp = strdup(fu_log_path(dir));
    size_t llen = 0;
    uint8_t *log = fu_read_file(lp, &llen);
    uint64_t epoch = get64(log + 16), last = 0;
    for (size_t off = 64; off + 32 <= llen;) {
        size_t len = (size_t)log[off] | (size_t)log[off + 1] << 8 | (size_t)log[off + 2] << 16;
        last = get64(log + off + 8);
        off += (32 + len + 7) & ~(size_t)7;
    }
    ck_assert_uint_gt(last, 0);
    uint8_t *b = malloc(llen + 4096);
    /* batch payloads: count, then kind, key, value per op */
    static const struct {
        const char *name;
        uint8_t type, flags;
        int seq_delta; /* relative to last + 1 */
        uint8_t payload[16];
        size_t len;
        mlops_status st; /* of a read-write open */
        const char *msg;
    } cases[] = {
        {"good put", 1, 0, 0, {1, 1, 1, 'x', 1, 'y'}, 6, MLOPS_OK, NULL},
        {"count above the length", 1, 0, 0, {9, 1, 1, 'x'}, 4, MLOPS_E_CORRUPT, NULL},
        {"ops cut short", 1, 0, 0, {2, 1, 1, 'x', 1, 'y'}, 6, MLOPS_E_CORRUPT, NULL},
        {"unknown op kind", 1, 0, 0, {1, 7, 1, 'x'}, 4, MLOPS_E_CORRUPT, NULL},
        {"empty key", 1, 0, 0, {1, 2, 0}, 3, MLOPS_E_CORRUPT, NULL},
        {"value past the end", 1, 0, 0, {1, 1, 1, 'x', 9, 'y'}, 6, MLOPS_E_CORRUPT, NULL},
        {"trailing bytes", 1, 0, 0, {1, 2, 1, 'x', 0}, 5, MLOPS_E_CORRUPT, NULL},
        {"snapshot version 0", 2, 0, 0, {1, 1, 'x', 1, 'y', 0}, 6, MLOPS_E_CORRUPT, NULL},
        {"sequence gap", 1, 0, 1, {1, 1, 1, 'x', 1, 'y'}, 6, MLOPS_E_CORRUPT, "sequence"},
        {"a replayed record", 1, 0, -1, {1, 1, 1, 'x', 1, 'y'}, 6, MLOPS_OK, NULL},
        {"unknown type", 9, 0, 0, {1, 2, 3}, 3, MLOPS_OK, NULL},
        {"unknown type to understand", 9, 1, 0, {1, 2, 3}, 3, MLOPS_E_VERSION, "type 9"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        memcpy(b, log, llen);
        size_t n = llen + make_rec(b + llen, cases[c].type, cases[c].flags,
                                   last + 1 + (uint64_t)(int64_t)cases[c].seq_delta, epoch,
                                   cases[c].payload, cases[c].len);
        fu_write_file(lp, b, n);
        uint64_t before = fu_tree_hash(dir);
        mlops_store *s2 = NULL;
        mlops_status st = mlops_store_open(&s2, NULL, dir, NULL);
        ck_assert_msg(st == cases[c].st, "%s: %s: %s", cases[c].name, mlops_status_name(st),
                      mlops_error_message());
        if (st != MLOPS_OK) {
            /* refused: the message names the log, nothing changed */
            ck_assert_msg(strstr(mlops_error_message(), dir) != NULL, "%s: %s", cases[c].name,
                          mlops_error_message());
            if (cases[c].msg)
                ck_assert_msg(strstr(mlops_error_message(), cases[c].msg) != NULL, "%s: %s",
                              cases[c].name, mlops_error_message());
            ck_assert_uint_eq(fu_tree_hash(dir), before);
            if (cases[c].type == 9)
                continue; /* newer, not damaged: check has nothing to report */
            /* the same damage appearing under an open writer: check reports
             * it (the first problem in the message, all in the report) */
            memcpy(b, log, llen);
            fu_write_file(lp, b, llen);
            s2 = open_file(dir, 0);
            memcpy(b, log, llen);
            fu_write_file(lp, b, n);
            char *report = NULL;
            st = mlops_store_check(&report, s2);
            ck_assert_msg(st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION, "%s: check: %s",
                          cases[c].name, mlops_status_name(st));
            ck_assert_msg(report != NULL && strstr(report, lp) != NULL, "%s: report '%s'",
                          cases[c].name, report ? report : "(null)");
            mlops_string_free(NULL, report);
            tu_assert_st(mlops_store_check(NULL, s2), st);
            mlops_store_close(s2);
        } else {
            mlops_bytes v;
            tu_assert_ok(mlops_store_get(&v, NULL, s2, "k2", 2));
            mlops_bytes_free(&v);
            if (c == 0) {
                tu_assert_ok(mlops_store_get(&v, NULL, s2, "x", 1));
                ck_assert_mem_eq(v.data, "y", 1);
                mlops_bytes_free(&v);
            }
            if (cases[c].type == 9) {
                /* F7: an unknown record is kept, so compaction (which would
                 * drop it) is refused, and check reports it */
                tu_assert_st(mlops_store_compact(s2), MLOPS_E_VERSION);
            } else {
                tu_assert_ok(mlops_store_put(s2, "after", 5, "x", 1));
                tu_assert_ok(mlops_store_check(NULL, s2));
            }
            mlops_store_close(s2);
        }
    }
    /* a torn tail (an incomplete last record) is cut off by a writer, kept
     * in quarantine, and ignored by a reader */
    memcpy(b, log, llen);
    size_t n = llen + make_rec(b + llen, 1, 0, last + 1, epoch, (const uint8_t *)"\1\1\1x\1y", 6);
    fu_write_file(lp, b, n - 5);
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.flags = MLOPS_STORE_READONLY;
    mlops_store *s2 = NULL;
    tu_assert_ok(mlops_store_open(&s2, NULL, dir, &o));
    mlops_bytes v;
    tu_assert_st(mlops_store_get(&v, NULL, s2, "x", 1), MLOPS_E_NOTFOUND);
    mlops_store_close(s2);
    s2 = open_file(dir, 0);
    tu_assert_st(mlops_store_get(&v, NULL, s2, "x", 1), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_store_put(s2, "x", 1, "z", 1));
    tu_assert_ok(mlops_store_check(NULL, s2));
    mlops_store_close(s2);
    char *qp = malloc(strlen(dir) + 32);
    ck_assert_ptr_nonnull(qp);
    sprintf(qp, "%s/quarantine", dir);
    struct stat qs;
    ck_assert_int_eq(stat(qp, &qs), 0);
    ck_assert(S_ISDIR(qs.st_mode));
    /* damage followed by a valid record is not a torn tail: refused */
    memcpy(b, log, llen);
    n = llen + make_rec(b + llen, 1, 0, last + 1, epoch, (const uint8_t *)"\1\1\1x\1y", 6);
    n += make_rec(b + n, 1, 0, last + 2, epoch, (const uint8_t *)"\1\1\1w\1y", 6);
    b[llen + 33] ^= 0x40; /* the first record's payload */
    fu_write_file(lp, b, n);
    tu_assert_st(mlops_store_open(&s2, NULL, dir, NULL), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "a valid record follows"));
    tu_assert_st(mlops_store_open(&s2, NULL, dir, &o), MLOPS_E_CORRUPT);
    /* a log header damaged under an open writer */
    fu_write_file(lp, log, llen);
    s2 = open_file(dir, 0);
    memcpy(b, log, llen);
    b[3] ^= 1;
    fu_write_file(lp, b, llen);
    char *report = NULL;
    tu_assert_st(mlops_store_check(&report, s2), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(report, "damaged header"));
    mlops_string_free(NULL, report);
    fu_write_file(lp, log, llen);
    mlops_store_close(s2);
    free(qp);
    free(b);
    free(log);
    free(lp);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static void one_address(mlops_hash128 *out, const mlops_hash128 *real)
{
    (void)real;
    memset(out->bytes, 0x5a, 16);
}

/* I4: blobs forced onto one address are compared byte for byte, whatever
 * their sizes, on mem: and on a file store. */
START_TEST(test_blob_collisions)
{
    char *dir = tu_tempdir();
    /* above the file backend's 1 MiB compare chunk; smaller under valgrind */
    size_t big = RUNNING_ON_VALGRIND ? 100000 : (5u << 20) / 2;
    uint8_t *x = malloc(big), *y = malloc(big);
    for (size_t i = 0; i < big; i++)
        x[i] = (uint8_t)(i * 131 >> 7);
    memcpy(y, x, big);
    y[big - 1] ^= 1; /* differs only in its last byte */
    for (int backend = 0; backend < 2; backend++) {
        mlops_store *s = NULL;
        if (backend == 0)
            tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
        else
            s = open_file(dir, 0);
        mlops__store_set_blob_hash_hook(s, one_address);
        mlops_hash128 a, b;
        tu_assert_ok(mlops_store_blob_put(&a, s, x, big));
        tu_assert_st(mlops_store_blob_put(&b, s, "short", 5), MLOPS_E_CONFLICT);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "collision"));
        tu_assert_st(mlops_store_blob_put(&b, s, y, big), MLOPS_E_CONFLICT);
        tu_assert_ok(mlops_store_blob_put(&b, s, x, big)); /* the same bytes: a dedup */
        mlops_bytes got;
        tu_assert_ok(mlops_store_blob_get(&got, s, &a, 0));
        ck_assert(got.len == big && memcmp(got.data, x, big) == 0);
        mlops_bytes_free(&got);
        mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION};
        tu_assert_ok(mlops_store_info(&info, s));
        ck_assert_uint_eq(info.blobs, 1);
        mlops__store_set_blob_hash_hook(s, NULL);
        /* an address whose sub-directory exists but whose file does not */
        mlops_hash128 absent = a;
        absent.bytes[15] ^= 0xff;
        tu_assert_st(mlops_store_blob_stat(NULL, s, &absent), MLOPS_E_NOTFOUND);
        mlops_blob_reader *r = NULL;
        tu_assert_st(mlops_blob_reader_open(&r, NULL, s, &absent), MLOPS_E_NOTFOUND);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "not found"));
        tu_assert_ok(mlops_blob_reader_open(&r, NULL, s, &a)); /* no size wanted */
        mlops_blob_reader_free(r);
        mlops_bytes v;
        tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
        tu_assert_ok(mlops_store_get(&v, NULL, s, "k", 1)); /* no version wanted */
        mlops_bytes_free(&v);
        mlops_store_close(s);
    }
    /* a file store without any blob: counts, compaction and read-only reads */
    tu_rmtree(dir);
    mlops_store *s = open_file(dir, 0);
    mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_uint_eq(info.blobs, 0);
    tu_assert_ok(mlops_store_compact(s));
    mlops_store_close(s);
    s = open_file(dir, MLOPS_STORE_READONLY);
    mlops_hash128 none = {{1}};
    tu_assert_st(mlops_store_blob_stat(NULL, s, &none), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_store_check(NULL, s));
    mlops_store_close(s);
    free(x);
    free(y);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Strangers in the blob directory (dot files, names that are not hex,
 * temp files of live, unknown or unparsable writers) are neither counted,
 * checked nor removed; only blob files are. */
START_TEST(test_blob_dir_strangers)
{
    char *dir = tu_tempdir();
    mlops_store *s = open_file(dir, 0);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "content", 7));
    mlops_store_close(s);
    char hex[40];
    mlops_hash128_to_hex(hex, &id);
    char *p = malloc(strlen(dir) + 128);
    static const char *subs[] = {"zz", "0G", "A0", "!0", "/0", ":0", "abc", "a"};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        sprintf(p, "%s/blobs/%s", dir, subs[i][0] == '/' ? "%0" : subs[i]);
        ck_assert_int_eq(mkdir(p, 0755), 0);
        /* a blob file there would count if the directory did */
        sprintf(p + strlen(p), "/%s", hex);
        fu_write_file(p, "x", 1);
    }
    static const char *names[] = {".hidden", "ABCDEF0123456789ABCDEF0123456789",
                                  "0123456789abcdef0123456789abcdeg", "short", "tmp-stranger"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        sprintf(p, "%s/blobs/%.2s/%s", dir, hex, names[i]);
        fu_write_file(p, "x", 1);
    }
    static const char *temps[] = {"tmp-0-1", "tmp-x-1", "tmp--5-1", "tmp-1-1", ".tmp-4194303-1"};
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
        sprintf(p, "%s/blobs/%s", dir, temps[i]);
        fu_write_file(p, "partial", 7);
    }
    s = open_file(dir, 0);
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
        sprintf(p, "%s/blobs/%s", dir, temps[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s removed", temps[i]);
    }
    mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_uint_eq(info.blobs, 1);
    char *report = NULL;
    tu_assert_ok(mlops_store_check(&report, s));
    mlops_string_free(NULL, report);
    tu_assert_ok(mlops_store_compact(s));
    mlops_bytes b;
    tu_assert_ok(mlops_store_blob_get(&b, s, &id, 0));
    ck_assert(b.len == 7 && memcmp(b.data, "content", 7) == 0);
    mlops_bytes_free(&b);
    /* but a directory with a blob's name in the right place is reported */
    sprintf(p, "%s/blobs/%.2s/%.2s000000000000000000000000000000", dir, hex, hex);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    report = NULL;
    tu_assert_st(mlops_store_check(&report, s), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(report, "misplaced or not a regular file"));
    mlops_string_free(NULL, report);
    ck_assert_int_eq(rmdir(p), 0);
    mlops_store_close(s);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Corners of the file backend and the core's checks: a store path that is
 * a file, strangers named like logs, a check report whose first line is
 * longer than the message holds, long keys in a conflict message, scans of
 * every key, a NULL info. */
START_TEST(test_file_odd_corners)
{
    char *dir = tu_tempdir();
    char *p = malloc(strlen(dir) + 1024);
    mlops_store *s = NULL;
    /* a regular file where the store's directory belongs */
    sprintf(p, "%s/afile", dir);
    fu_write_file(p, "not a store", 11);
    mlops_status st = mlops_store_open(&s, NULL, p, NULL);
    ck_assert_int_ne(st, MLOPS_OK);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), p));
    size_t len = 0;
    uint8_t *back = fu_read_file(p, &len);
    ck_assert(len == 11 && memcmp(back, "not a store", 11) == 0);
    free(back);
    /* a dangling symbolic link there: creating the directory finds the
     * name taken, and opening it finds nothing */
    sprintf(p, "%s/dangling", dir);
    ck_assert_int_eq(symlink("nowhere/at/all", p), 0);
    tu_assert_st(mlops_store_open(&s, NULL, p, NULL), MLOPS_E_NOTFOUND);
    ck_assert_int_eq(unlink(p), 0);
    /* the backend constructor without a path, and without options */
    mlops_backend *fbk = NULL;
    tu_assert_st(mlops__file_backend_new_io(&fbk, NULL, NULL, NULL, mlops__io_default()),
                 MLOPS_E_INVALID);
    sprintf(p, "%s/noopts", dir);
    tu_assert_ok(mlops__file_backend_new_io(&fbk, NULL, p, NULL, mlops__io_default()));
    fbk->ops->close(fbk);
    /* the backend itself refuses blob writes when read-only (the core
     * refuses them first; a host's own wrapper may not) */
    mlops_store_options ro = MLOPS_STORE_OPTIONS_INIT;
    ro.flags = MLOPS_STORE_READONLY;
    tu_assert_ok(mlops__file_backend_new_io(&fbk, NULL, p, &ro, mlops__io_default()));
    mlops_backend_blob_writer *bw = NULL;
    tu_assert_st(fbk->ops->blob_write_open(fbk, &bw), MLOPS_E_INVALID);
    ck_assert_ptr_null(bw);
    fbk->ops->close(fbk);

    /* a store deep enough that a check's first line exceeds the message */
    char *deep = p;
    sprintf(deep, "%s/", dir);
    for (int part = 0; part < 2; part++) {
        size_t n = strlen(deep);
        memset(deep + n, 'd', 200);
        deep[n + 200] = 0;
        ck_assert_int_eq(mkdir(deep, 0755), 0);
        strcat(deep, "/");
    }
    strcat(deep, "s");
    s = open_file(deep, 0);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "content", 7));
    char hex[40];
    mlops_hash128_to_hex(hex, &id);
    char *bp = malloc(strlen(deep) + 100);
    sprintf(bp, "%s/blobs/%.2s/%s", deep, hex, hex);
    fu_write_file(bp, "damaged", 7);
    char *report = NULL;
    tu_assert_st(mlops_store_check(&report, s), MLOPS_E_CORRUPT);
    ck_assert_uint_gt(strlen(report), 400);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "first: "));
    ck_assert_uint_lt(strlen(mlops_error_message()), strlen(report));
    mlops_string_free(NULL, report);
    tu_assert_st(mlops_store_check(NULL, s), MLOPS_E_CORRUPT);
    /* strangers named like logs: one too long to be a log stays */
    sprintf(bp, "%s/log-%s", deep, "00000000000000000000000000000000");
    fu_write_file(bp, "keep", 4);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    tu_assert_ok(mlops_store_compact(s));
    mlops_store_close(s);
    s = open_file(deep, 0);
    ck_assert_int_eq(access(bp, F_OK), 0);
    /* a log longer than the backend reads ahead at once (1 MiB), and a
     * compaction whose snapshot spans several 4 MiB chunks, reopened */
    size_t vn = 600000;
    uint8_t *val = malloc(vn);
    for (int i = 0; i < 8; i++) {
        memset(val, 'a' + i, vn);
        char vk[8];
        snprintf(vk, sizeof(vk), "big%d", i);
        tu_assert_ok(mlops_store_put(s, vk, strlen(vk), val, vn));
    }
    for (int round = 0; round < 2; round++) {
        mlops_store_close(s);
        s = open_file(deep, 0);
        mlops_bytes got;
        tu_assert_ok(mlops_store_get(&got, NULL, s, "big7", 4));
        ck_assert(got.len == vn && got.data[0] == 'h' && got.data[vn - 1] == 'h');
        mlops_bytes_free(&got);
        if (round == 0)
            tu_assert_ok(mlops_store_compact(s));
    }
    free(val);
    /* a conflict on a key longer than the message shows */
    char key[60];
    memset(key, 'k', sizeof(key));
    tu_assert_ok(mlops_store_put(s, key, sizeof(key), "v", 1));
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    tu_assert_ok(mlops_batch_require_absent(b, key, sizeof(key)));
    tu_assert_st(mlops_store_apply(s, b), MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "..."));
    mlops_batch_free(b);
    /* every key, by an empty prefix; a NULL prefix with a length */
    int n = 0;
    tu_assert_ok(mlops_store_scan_prefix(s, NULL, 0, count_cb, &n));
    ck_assert_int_eq(n, 10);
    tu_assert_st(mlops_store_scan_prefix(s, NULL, 3, count_cb, &n), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_info(NULL, s), MLOPS_E_INVALID);
    mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION};
    tu_assert_st(mlops_store_info(&info, NULL), MLOPS_E_INVALID);
    /* the short form of the PostgreSQL scheme (nothing listens on port 1;
     * a build without the backend refuses the scheme) */
    mlops_store *pg = NULL;
    ck_assert_int_ne(mlops_store_open(&pg, NULL, "postgres://127.0.0.1:1/none", NULL), MLOPS_OK);
    ck_assert_ptr_null(pg);
    mlops_store_close(s);
    free(bp);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *edges_suite(void)
{
    Suite *s = suite_create("store-edges");
    TCase *tc = tcase_create("store-edges");
    tcase_add_test(tc, test_backend_checks);
    tcase_add_test(tc, test_optional_members);
    tcase_add_test(tc, test_lying_blobs);
    tcase_add_test(tc, test_argument_checks);
    tcase_add_test(tc, test_cursor_after_maximal_key);
    tcase_add_test(tc, test_batch_limit);
    tcase_add_test(tc, test_backend_unknown_op);
    tcase_add_test(tc, test_file_blob_damage);
    tcase_add_test(tc, test_file_stale_temp);
    tcase_add_test(tc, test_file_blob_shrinks);
    tcase_add_test(tc, test_file_damaged_headers);
    tcase_add_test(tc, test_file_damaged_records);
    tcase_add_test(tc, test_blob_collisions);
    tcase_add_test(tc, test_blob_dir_strangers);
    tcase_add_test(tc, test_file_odd_corners);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(edges_suite());
}

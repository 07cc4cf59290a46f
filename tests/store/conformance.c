/* SPDX-License-Identifier: MIT */
/* The store conformance suite (see conformance.h). Comments cite the ids of
 * RELIABILITY.md. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"
#include "store/store_internal.h"

static const conf_backend *g_b;
static int g_seq;

static mlops_store *open_store(mlops_env *env, char *name_out, int fresh)
{
    if (fresh)
        snprintf(name_out, 64, "conf-%d-%d", (int)getpid(), g_seq++);
    mlops_store *s = NULL;
    mlops_status st = g_b->open(&s, env, g_b->ctx, name_out, fresh);
    ck_assert_msg(st == MLOPS_OK, "backend %s open failed: %s", g_b->name, mlops_error_message());
    return s;
}

static mlops_store *fresh_store(mlops_env *env)
{
    char name[64];
    return open_store(env, name, 1);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct collect {
    size_t n;
    uint8_t last[MLOPS_STORE_MAX_KEY];
    size_t last_len;
    int ordered;
    size_t stop_after;
} collect;

static int collect_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                      uint64_t version, void *payload)
{
    (void)value;
    (void)value_len;
    collect *c = payload;
    if (version == 0)
        c->ordered = 0;
    if (c->n > 0) {
        size_t m = key_len < c->last_len ? key_len : c->last_len;
        int cmp = memcmp(c->last, key, m);
        if (cmp > 0 || (cmp == 0 && c->last_len >= key_len))
            c->ordered = 0;
    }
    memcpy(c->last, key, key_len);
    c->last_len = key_len;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static size_t count_keys(mlops_store *s)
{
    collect c = {0};
    c.ordered = 1;
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, collect_cb, &c));
    ck_assert(c.ordered);
    return c.n;
}

static void expect_value(mlops_store *s, const char *key, const char *want)
{
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, key, strlen(key)));
    ck_assert_uint_eq(v.len, strlen(want));
    ck_assert(memcmp(v.data, want, v.len) == 0);
    mlops_bytes_free(&v);
}

static void expect_absent(mlops_store *s, const char *key)
{
    mlops_bytes v;
    tu_assert_st(mlops_store_get(&v, NULL, s, key, strlen(key)), MLOPS_E_NOTFOUND);
    ck_assert_ptr_null(v.data);
}

/* ---- kv ---- */

START_TEST(kv_basic)
{
    mlops_store *s = fresh_store(NULL);
    expect_absent(s, "a");
    tu_assert_ok(mlops_store_put(s, "a", 1, "one", 3));
    expect_value(s, "a", "one");
    uint64_t v1 = 0, v2 = 0;
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, &v1, s, "a", 1));
    mlops_bytes_free(&v);
    ck_assert_uint_gt(v1, 0);
    tu_assert_ok(mlops_store_put(s, "a", 1, "two", 3));
    tu_assert_ok(mlops_store_get(&v, &v2, s, "a", 1));
    mlops_bytes_free(&v);
    ck_assert_uint_gt(v2, v1); /* every put gives a new, larger version */
    expect_value(s, "a", "two");
    /* empty values are values, not deletes */
    tu_assert_ok(mlops_store_put(s, "e", 1, NULL, 0));
    tu_assert_ok(mlops_store_get(&v, NULL, s, "e", 1));
    ck_assert_uint_eq(v.len, 0);
    mlops_bytes_free(&v);
    /* binary values with NUL bytes round-trip */
    const uint8_t bin[5] = {0, 1, 0, 0xff, 0};
    tu_assert_ok(mlops_store_put(s, "b", 1, bin, 5));
    tu_assert_ok(mlops_store_get(&v, NULL, s, "b", 1));
    ck_assert_uint_eq(v.len, 5);
    ck_assert(memcmp(v.data, bin, 5) == 0);
    mlops_bytes_free(&v);
    tu_assert_ok(mlops_store_delete(s, "a", 1));
    expect_absent(s, "a");
    tu_assert_ok(mlops_store_delete(s, "a", 1)); /* deleting an absent key is fine */
    ck_assert_uint_eq(count_keys(s), 2);
    mlops_store_close(s);
}
END_TEST

START_TEST(kv_keys)
{
    mlops_store *s = fresh_store(NULL);
    /* N6: NUL bytes inside keys are data at this layer */
    const uint8_t k1[3] = {'a', 0, 'b'}, k2[1] = {0}, k3[2] = {0xff, 0xff};
    tu_assert_ok(mlops_store_put(s, k1, 3, "1", 1));
    tu_assert_ok(mlops_store_put(s, k2, 1, "2", 1));
    tu_assert_ok(mlops_store_put(s, k3, 2, "3", 1));
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, k1, 3));
    ck_assert(v.len == 1 && v.data[0] == '1');
    mlops_bytes_free(&v);
    tu_assert_st(mlops_store_get(&v, NULL, s, k1, 1), MLOPS_E_NOTFOUND); /* "a" is another key */
    /* N12: lengths 0, max, max + 1 */
    uint8_t *big = calloc(1, MLOPS_STORE_MAX_KEY + 1);
    memset(big, 'k', MLOPS_STORE_MAX_KEY + 1);
    tu_assert_ok(mlops_store_put(s, big, MLOPS_STORE_MAX_KEY, "m", 1));
    tu_assert_ok(mlops_store_get(&v, NULL, s, big, MLOPS_STORE_MAX_KEY));
    mlops_bytes_free(&v);
    size_t before = count_keys(s);
    tu_assert_st(mlops_store_put(s, big, MLOPS_STORE_MAX_KEY + 1, "m", 1), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_put(s, "", 0, "m", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_put(s, NULL, 3, "m", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_get(&v, NULL, s, "", 0), MLOPS_E_INVALID);
    /* a huge length is refused before anything reads it (N12) */
    tu_assert_st(mlops_store_put(s, "x", 1, "tiny", (size_t)MLOPS_STORE_MAX_VALUE + 1),
                 MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_put(s, "x", 1, "tiny", SIZE_MAX), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_store_put(s, "x", 1, NULL, 4), MLOPS_E_INVALID);
    ck_assert_uint_eq(count_keys(s), before); /* I7: rejected calls change nothing */
    /* a 1 MiB value round-trips */
    uint8_t *mb = malloc(1 << 20);
    for (size_t i = 0; i < (1 << 20); i++)
        mb[i] = (uint8_t)(i * 31 + 7);
    tu_assert_ok(mlops_store_put(s, "big", 3, mb, 1 << 20));
    tu_assert_ok(mlops_store_get(&v, NULL, s, "big", 3));
    ck_assert_uint_eq(v.len, 1 << 20);
    ck_assert(memcmp(v.data, mb, 1 << 20) == 0);
    mlops_bytes_free(&v);
    free(mb);
    free(big);
    mlops_store_close(s);
}
END_TEST

/* ---- order ---- */

START_TEST(order_scan)
{
    mlops_store *s = fresh_store(NULL);
    uint64_t r = 88172645463325252ULL;
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    size_t n = 0;
    for (int i = 0; i < 600; i++) {
        uint8_t k[12];
        size_t kl = 1 + rng_next(&r) % 11;
        for (size_t j = 0; j < kl; j++)
            k[j] = (uint8_t)(rng_next(&r) % 4 == 0 ? (rng_next(&r) % 2 ? 0 : 0xff)
                                                    : rng_next(&r));
        tu_assert_ok(mlops_batch_put(b, k, kl, k, kl));
        n++;
    }
    tu_assert_ok(mlops_store_apply(s, b));
    mlops_batch_free(b);
    size_t total = count_keys(s); /* duplicates collapse; the order is checked */
    ck_assert_uint_gt(total, 400);
    ck_assert_uint_le(total, n);
    /* range [p1, p2) and prefix scans */
    tu_assert_ok(mlops_store_put(s, "p/a", 3, "1", 1));
    tu_assert_ok(mlops_store_put(s, "p/b", 3, "2", 1));
    tu_assert_ok(mlops_store_put(s, "p/c", 3, "3", 1));
    tu_assert_ok(mlops_store_put(s, "p0", 2, "x", 1));
    collect c = {0};
    c.ordered = 1;
    tu_assert_ok(mlops_store_scan_prefix(s, "p/", 2, collect_cb, &c));
    ck_assert_uint_eq(c.n, 3);
    ck_assert(c.ordered);
    memset(&c, 0, sizeof(c));
    c.ordered = 1;
    tu_assert_ok(mlops_store_scan(s, "p/b", 3, "p/c", 3, collect_cb, &c));
    ck_assert_uint_eq(c.n, 1);
    /* a prefix of 0xFF bytes has no upper bound but still filters */
    const uint8_t ff[2] = {0xff, 0xff};
    tu_assert_ok(mlops_store_put(s, ff, 2, "f", 1));
    memset(&c, 0, sizeof(c));
    c.ordered = 1;
    tu_assert_ok(mlops_store_scan_prefix(s, ff, 2, collect_cb, &c));
    ck_assert_uint_ge(c.n, 1);
    ck_assert(c.last_len >= 2 && c.last[0] == 0xff && c.last[1] == 0xff);
    /* early stop */
    memset(&c, 0, sizeof(c));
    c.ordered = 1;
    c.stop_after = 5;
    tu_assert_st(mlops_store_scan(s, NULL, 0, NULL, 0, collect_cb, &c), MLOPS_E_CALLBACK);
    ck_assert_uint_eq(c.n, 5);
    /* the cursor crosses pages and agrees with the scan */
    mlops_store_iter *it = NULL;
    tu_assert_ok(mlops_store_iter_open(&it, s, NULL, 0, NULL, 0));
    const uint8_t *k, *val;
    size_t kl, vl, seen = 0;
    mlops_status st;
    while ((st = mlops_store_iter_next(it, &k, &kl, &val, &vl)) == MLOPS_OK)
        seen++;
    ck_assert_int_eq(st, MLOPS_E_NOTFOUND);
    ck_assert_uint_eq(seen, count_keys(s));
    mlops_store_iter_free(it);
    mlops_store_close(s);
}
END_TEST

/* ---- batches ---- */

START_TEST(batch_atomic)
{
    mlops_store *s = fresh_store(NULL);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v0", 2));
    mlops_bytes v;
    uint64_t ver = 0;
    tu_assert_ok(mlops_store_get(&v, &ver, s, "k", 1));
    mlops_bytes_free(&v);

    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    /* a failed precondition anywhere rejects the whole batch (V9, I7) */
    tu_assert_ok(mlops_batch_put(b, "x", 1, "1", 1));
    tu_assert_ok(mlops_batch_delete(b, "k", 1));
    tu_assert_ok(mlops_batch_require_absent(b, "k", 1));
    ck_assert_uint_eq(mlops_batch_count(b), 3);
    tu_assert_st(mlops_store_apply(s, b), MLOPS_E_CONFLICT);
    expect_value(s, "k", "v0");
    expect_absent(s, "x");

    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_value(b, "k", 1, "nope", 4));
    tu_assert_ok(mlops_batch_put(b, "x", 1, "1", 1));
    tu_assert_st(mlops_store_apply(s, b), MLOPS_E_CONFLICT);
    expect_absent(s, "x");

    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_version(b, "k", 1, ver + 1000));
    tu_assert_ok(mlops_batch_put(b, "x", 1, "1", 1));
    tu_assert_st(mlops_store_apply(s, b), MLOPS_E_CONFLICT);
    expect_absent(s, "x");
    tu_assert_st(mlops_batch_require_version(b, "k", 1, 0), MLOPS_E_INVALID);

    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_absent(b, "x", 1));
    tu_assert_ok(mlops_batch_require_value(b, "k", 1, "v0", 2));
    tu_assert_ok(mlops_batch_require_version(b, "k", 1, ver));
    tu_assert_ok(mlops_batch_put(b, "x", 1, "1", 1));
    tu_assert_ok(mlops_batch_put(b, "y", 1, "2", 1));
    tu_assert_ok(mlops_batch_put(b, "k", 1, "v1", 2));
    tu_assert_ok(mlops_batch_delete(b, "y", 1)); /* applied in order */
    tu_assert_ok(mlops_store_apply(s, b));
    expect_value(s, "x", "1");
    expect_value(s, "k", "v1");
    expect_absent(s, "y");
    /* the version test now fails: the key was rewritten */
    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_version(b, "k", 1, ver));
    tu_assert_st(mlops_store_apply(s, b), MLOPS_E_CONFLICT);
    /* preconditions alone change nothing and succeed */
    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_value(b, "k", 1, "v1", 2));
    tu_assert_ok(mlops_store_apply(s, b));
    mlops_batch_clear(b);
    tu_assert_ok(mlops_store_apply(s, b)); /* empty batch */
    /* a batch belongs to its store */
    mlops_store *other = fresh_store(NULL);
    tu_assert_st(mlops_store_apply(other, b), MLOPS_E_INVALID);
    mlops_store_close(other);
    tu_assert_st(mlops_batch_put(b, "", 0, "1", 1), MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_batch_count(b), 0);
    mlops_batch_free(b);
    mlops_store_close(s);
}
END_TEST

/* ---- blobs ---- */

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i % 7 == 0 ? rng_next(&seed) : (i / 64));
}

START_TEST(blob_basic)
{
    mlops_store *s = fresh_store(NULL);
    mlops_hash128 e1, e2, id, id2;
    tu_assert_ok(mlops_store_blob_put(&e1, s, NULL, 0));
    tu_assert_ok(mlops_store_blob_put(&e2, s, "", 0));
    ck_assert(memcmp(&e1, &e2, 16) == 0);
    mlops_bytes got;
    tu_assert_ok(mlops_store_blob_get(&got, s, &e1, 0));
    ck_assert_uint_eq(got.len, 0);
    mlops_bytes_free(&got);

    size_t n = 3 * 1024 * 1024 + 17;
    uint8_t *data = malloc(n);
    fill(data, n, 42);
    mlops_blob_writer *w = NULL;
    tu_assert_ok(mlops_blob_writer_open(&w, s));
    for (size_t off = 0; off < n;) {
        size_t chunk = 1 + (off * 7919) % 300000;
        if (chunk > n - off)
            chunk = n - off;
        tu_assert_ok(mlops_blob_writer_write(w, data + off, chunk));
        off += chunk;
    }
    tu_assert_ok(mlops_blob_writer_commit(&id, w));
    mlops_blob_writer_free(w);
    mlops_hash128 want;
    mlops_hash128_of(&want, data, n);
    ck_assert(memcmp(&want, &id, 16) == 0);
    /* dedup: the same bytes give the same address */
    tu_assert_ok(mlops_store_blob_put(&id2, s, data, n));
    ck_assert(memcmp(&id, &id2, 16) == 0);
    uint64_t size = 0;
    tu_assert_ok(mlops_store_blob_stat(&size, s, &id));
    ck_assert_uint_eq(size, n);
    tu_assert_ok(mlops_store_blob_get(&got, s, &id, 0));
    ck_assert_uint_eq(got.len, n);
    ck_assert(memcmp(got.data, data, n) == 0);
    mlops_bytes_free(&got);
    tu_assert_st(mlops_store_blob_get(&got, s, &id, 1000), MLOPS_E_TOOBIG);
    /* streamed read with a small buffer */
    mlops_blob_reader *r = NULL;
    tu_assert_ok(mlops_blob_reader_open(&r, &size, s, &id));
    uint8_t buf[4096];
    size_t total = 0, k;
    for (;;) {
        tu_assert_ok(mlops_blob_reader_read(&k, r, buf, sizeof(buf)));
        if (k == 0)
            break;
        ck_assert(memcmp(buf, data + total, k) == 0);
        total += k;
    }
    ck_assert_uint_eq(total, n);
    mlops_blob_reader_free(r);
    /* unknown ids */
    mlops_hash128 none;
    memset(&none, 0x5a, sizeof(none));
    tu_assert_st(mlops_store_blob_get(&got, s, &none, 0), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_store_blob_stat(NULL, s, &none), MLOPS_E_NOTFOUND);
    /* a writer dropped without commit leaves nothing visible */
    tu_assert_ok(mlops_blob_writer_open(&w, s));
    tu_assert_ok(mlops_blob_writer_write(w, "unfinished", 10));
    mlops_blob_writer_free(w);
    mlops_hash128_of(&want, "unfinished", 10);
    tu_assert_st(mlops_store_blob_stat(NULL, s, &want), MLOPS_E_NOTFOUND);
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_uint_eq(info.blobs, 2);
    free(data);
    mlops_store_close(s);
}
END_TEST

static void force_collision(mlops_hash128 *out, const mlops_hash128 *real)
{
    (void)real;
    memset(out->bytes, 0xab, 16);
}

START_TEST(blob_collision)
{
    /* two different blobs forced onto one address must never be confused */
    mlops_store *s = fresh_store(NULL);
    mlops__store_set_blob_hash_hook(s, force_collision);
    mlops_hash128 a, b;
    tu_assert_ok(mlops_store_blob_put(&a, s, "first blob", 10));
    tu_assert_st(mlops_store_blob_put(&b, s, "other blob", 10), MLOPS_E_CONFLICT);
    tu_assert_ok(mlops_store_blob_put(&b, s, "first blob", 10)); /* a real dedup */
    mlops_bytes got;
    tu_assert_ok(mlops_store_blob_get(&got, s, &a, 0));
    ck_assert(got.len == 10 && memcmp(got.data, "first blob", 10) == 0);
    mlops_bytes_free(&got);
    mlops_store_close(s);
}
END_TEST

/* ---- threads ---- */

typedef struct thr {
    mlops_store *s;
    int id;
    int fails;
} thr;

static void *worker(void *arg)
{
    thr *t = arg;
    char key[32];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(key, sizeof(key), "t%d/%04d", t->id, i);
        if (mlops_store_put(t->s, key, (size_t)n, key, (size_t)n) != MLOPS_OK)
            t->fails++;
        mlops_bytes v;
        if (mlops_store_get(&v, NULL, t->s, key, (size_t)n) != MLOPS_OK)
            t->fails++;
        mlops_bytes_free(&v);
    }
    /* compare-and-set increments of one shared counter */
    for (int i = 0; i < 50; i++) {
        for (;;) {
            mlops_bytes v;
            uint64_t ver = 0;
            if (mlops_store_get(&v, &ver, t->s, "counter", 7) != MLOPS_OK) {
                t->fails++;
                break;
            }
            long c = strtol((const char *)v.data, NULL, 10);
            mlops_bytes_free(&v);
            char nv[32];
            int nl = snprintf(nv, sizeof(nv), "%ld", c + 1);
            mlops_batch *b = NULL;
            mlops_batch_create(&b, t->s);
            mlops_batch_require_version(b, "counter", 7, ver);
            mlops_batch_put(b, "counter", 7, nv, (size_t)nl);
            mlops_status st = mlops_store_apply(t->s, b);
            mlops_batch_free(b);
            if (st == MLOPS_OK)
                break;
            if (st != MLOPS_E_CONFLICT) {
                t->fails++;
                break;
            }
        }
    }
    return NULL;
}

START_TEST(threads_cas)
{
    /* C4: T threads on one handle; no lost update */
    mlops_store *s = fresh_store(NULL);
    tu_assert_ok(mlops_store_put(s, "counter", 7, "0", 1));
    pthread_t th[4];
    thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr){s, i, 0};
        pthread_create(&th[i], NULL, worker, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].fails, 0);
    }
    expect_value(s, "counter", "200");
    ck_assert_uint_eq(count_keys(s), 4 * 200 + 1);
    mlops_store_close(s);
}
END_TEST

/* ---- persistence ---- */

START_TEST(persist_reopen)
{
    if (!(g_b->flags & CONF_PERSISTENT))
        return;
    char name[64];
    mlops_store *s = open_store(NULL, name, 1);
    tu_assert_ok(mlops_store_put(s, "a", 1, "1", 1));
    tu_assert_ok(mlops_store_put(s, "b", 1, "2", 1));
    tu_assert_ok(mlops_store_delete(s, "b", 1));
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "blob!", 5));
    mlops_bytes v;
    uint64_t ver = 0, ver2 = 0;
    tu_assert_ok(mlops_store_get(&v, &ver, s, "a", 1));
    mlops_bytes_free(&v);
    mlops_store_close(s);
    s = open_store(NULL, name, 0);
    tu_assert_ok(mlops_store_get(&v, &ver2, s, "a", 1));
    mlops_bytes_free(&v);
    ck_assert_uint_eq(ver, ver2); /* versions survive */
    expect_absent(s, "b");
    tu_assert_ok(mlops_store_blob_get(&v, s, &id, 0));
    ck_assert(v.len == 5 && memcmp(v.data, "blob!", 5) == 0);
    mlops_bytes_free(&v);
    tu_assert_ok(mlops_store_put(s, "a", 1, "3", 1));
    tu_assert_ok(mlops_store_get(&v, &ver2, s, "a", 1));
    mlops_bytes_free(&v);
    ck_assert_uint_gt(ver2, ver);
    /* compaction keeps every committed key and version */
    mlops_status cs = mlops_store_compact(s);
    ck_assert(cs == MLOPS_OK || cs == MLOPS_E_UNSUPPORTED);
    mlops_store_close(s);
    s = open_store(NULL, name, 0);
    uint64_t ver3 = 0;
    tu_assert_ok(mlops_store_get(&v, &ver3, s, "a", 1));
    ck_assert(v.len == 1 && v.data[0] == '3');
    mlops_bytes_free(&v);
    ck_assert_uint_eq(ver3, ver2);
    char *rep = NULL;
    tu_assert_ok(mlops_store_check(&rep, s));
    ck_assert_str_eq(rep, "");
    mlops_string_free(mlops_store_env(s), rep);
    mlops_store_close(s);
}
END_TEST

START_TEST(multiprocess_cas)
{
    /* C1: processes appending to one store; every acknowledged batch once */
    if (!(g_b->flags & CONF_MULTIPROCESS))
        return;
    char name[64];
    mlops_store *s = open_store(NULL, name, 1);
    tu_assert_ok(mlops_store_put(s, "counter", 7, "0", 1));
    pid_t kids[3];
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    for (int p = 0; p < 3; p++) {
        kids[p] = fork();
        if (kids[p] == 0) {
            /* children report through the pipe and end with SIGKILL, so
             * memory checkers do not count the parent's heap as theirs */
            mlops_store *cs = NULL;
            char ok = 'o';
            if (g_b->open(&cs, NULL, g_b->ctx, name, 0) == MLOPS_OK) {
                thr t = {cs, 10 + p, 0};
                worker(&t);
                mlops_store_close(cs);
                ok = t.fails ? 'f' : 'y';
            }
            if (write(pfd[1], &ok, 1) != 1)
                ok = 0;
            kill(getpid(), SIGKILL);
            _exit(0);
        }
    }
    close(pfd[1]);
    for (int p = 0; p < 3; p++) {
        char ok = 0;
        ck_assert_int_eq(read(pfd[0], &ok, 1), 1);
        ck_assert_int_eq(ok, 'y');
    }
    close(pfd[0]);
    for (int p = 0; p < 3; p++)
        waitpid(kids[p], NULL, 0);
    /* this handle sees the other processes' committed batches */
    expect_value(s, "counter", "150");
    ck_assert_uint_eq(count_keys(s), 3 * 200 + 1);
    mlops_store_close(s);
}
END_TEST

/* ---- bad input and memory ---- */

START_TEST(bad_input)
{
    /* A1: NULL handles and outputs */
    mlops_store *s = fresh_store(NULL);
    mlops_bytes v;
    tu_assert_st(mlops_store_get(NULL, NULL, s, "a", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_get(&v, NULL, NULL, "a", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_put(NULL, "a", 1, "b", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan(s, NULL, 0, NULL, 0, NULL, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_scan(s, NULL, 3, NULL, 0, collect_cb, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_batch_create(NULL, s), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_apply(s, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_put(NULL, s, "x", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_blob_get(&v, s, NULL, 0), MLOPS_E_INVALID);
    mlops_store_info_data info = {99};
    tu_assert_st(mlops_store_info(&info, s), MLOPS_E_VERSION);
    info.version = MLOPS_STORE_INFO_VERSION;
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_str_eq(info.backend, g_b->name);
    tu_assert_ok(mlops_store_flush(s));
    ck_assert_uint_eq(count_keys(s), 0);
    mlops_store_close(s);
}
END_TEST

START_TEST(alloc_failures)
{
    /* M1: fail each allocation of a batch, a read and a blob in turn */
    tu_alloc a = {0};
    mlops_env *env = tu_env_new(&a, NULL);
    mlops_store *s = fresh_store(env);
    tu_assert_ok(mlops_store_put(s, "base", 4, "0", 1));
    int done = 0;
    for (long k = 1; k < 400 && !done; k++) {
        a.fail_at = a.calls + k;
        a.persistent = false;
        mlops_batch *b = NULL;
        mlops_status st = mlops_batch_create(&b, s);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, "x", 1, "1", 1);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, "y", 1, "2", 1);
        if (st == MLOPS_OK)
            st = mlops_store_apply(s, b);
        mlops_batch_free(b);
        mlops_bytes v = {0};
        if (st == MLOPS_OK)
            st = mlops_store_get(&v, NULL, s, "x", 1);
        mlops_bytes_free(&v);
        mlops_hash128 id;
        if (st == MLOPS_OK)
            st = mlops_store_blob_put(&id, s, "blobdata", 8);
        ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_NOMEM, "k=%ld: %s", k,
                      mlops_error_message());
        a.fail_at = 0;
        /* I3: the batch is all there or not at all */
        mlops_bytes vx = {0}, vy = {0};
        mlops_status sx = mlops_store_get(&vx, NULL, s, "x", 1);
        mlops_status sy = mlops_store_get(&vy, NULL, s, "y", 1);
        mlops_bytes_free(&vx);
        mlops_bytes_free(&vy);
        ck_assert_int_eq(sx, sy);
        if (st == MLOPS_OK && a.failures == 0)
            done = 1;
        a.failures = 0;
        mlops_store_delete(s, "x", 1);
        mlops_store_delete(s, "y", 1);
    }
    ck_assert(done);
    mlops_store_close(s);
    mlops_env_free(env);
    ck_assert_int_eq(a.live, 0); /* I8 */
}
END_TEST

Suite *conf_suite(const conf_backend *b)
{
    static char name[64]; /* Check keeps the pointer */
    g_b = b;
    snprintf(name, sizeof(name), "conformance-%s", b->name);
    Suite *s = suite_create(name);
    struct {
        const char *name;
        const TTest *tests[4];
    } cases[] = {
        {"kv", {kv_basic, kv_keys, NULL}},
        {"order", {order_scan, NULL}},
        {"batch", {batch_atomic, NULL}},
        {"blob", {blob_basic, blob_collision, NULL}},
        {"threads", {threads_cas, multiprocess_cas, NULL}},
        {"persist", {persist_reopen, NULL}},
        {"badinput", {bad_input, alloc_failures, NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 60);
        for (int j = 0; cases[i].tests[j]; j++)
            tcase_add_test(tc, cases[i].tests[j]);
        suite_add_tcase(s, tc);
    }
    return s;
}

/* SPDX-License-Identifier: MIT */
/* The PostgreSQL and Redis backends against real servers (scripts/servers).
 * Every test runs once per backend (loop index: SV_PG, SV_REDIS) on its own
 * schema or key prefix. Without MLOPS_TEST_PG_URI / MLOPS_TEST_REDIS_URI the
 * backend's tests are skipped with a printed reason. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlops_config.h"
#include "servers_util.h"
#include "store/store_internal.h"
#include "testutil.h"

static int kinds[SV__COUNT];
static int n_kinds;

typedef struct fixture {
    int kind;
    char uri[1024];
    char tag[64];
    mlops_store *s;
} fixture;

static void fx_open(fixture *f, int i)
{
    f->kind = kinds[i];
    sv_fresh_uri(f->uri, sizeof(f->uri), f->kind, f->tag, sizeof(f->tag));
    f->s = NULL;
    tu_assert_ok(mlops_store_open(&f->s, NULL, f->uri, NULL));
}

static void fx_close(fixture *f)
{
    mlops_store_close(f->s);
    f->s = NULL;
    sv_drop(f->kind, f->tag);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_s(mlops_store *s, const char *k, const char *v)
{
    tu_assert_ok(mlops_store_put(s, k, strlen(k), v, strlen(v)));
}

static void assert_val(mlops_store *s, const char *k, const char *want)
{
    mlops_bytes v;
    if (want == NULL) {
        tu_assert_st(mlops_store_get(&v, NULL, s, k, strlen(k)), MLOPS_E_NOTFOUND);
        return;
    }
    tu_assert_ok(mlops_store_get(&v, NULL, s, k, strlen(k)));
    ck_assert_msg(v.len == strlen(want) && memcmp(v.data, want, v.len) == 0,
                  "key %s: got '%.*s', want '%s'", k, (int)v.len, (const char *)v.data, want);
    mlops_bytes_free(&v);
}

static uint64_t version_of(mlops_store *s, const void *k, size_t kl)
{
    mlops_bytes v;
    uint64_t ver = 0;
    tu_assert_ok(mlops_store_get(&v, &ver, s, k, kl));
    mlops_bytes_free(&v);
    return ver;
}

/* ---- basics ---- */

START_TEST(test_put_get_delete)
{
    fixture f;
    fx_open(&f, _i);
    ck_assert_str_eq(mlops_store_backend_name(f.s), f.kind == SV_PG ? "postgres" : "redis");
    assert_val(f.s, "a", NULL);
    put_s(f.s, "a", "1");
    uint64_t v1 = version_of(f.s, "a", 1);
    ck_assert_uint_gt(v1, 0);
    put_s(f.s, "a", "22");
    assert_val(f.s, "a", "22");
    ck_assert_uint_gt(version_of(f.s, "a", 1), v1);
    /* empty value */
    tu_assert_ok(mlops_store_put(f.s, "e", 1, NULL, 0));
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, f.s, "e", 1));
    ck_assert_uint_eq(v.len, 0);
    mlops_bytes_free(&v);
    tu_assert_ok(mlops_store_delete(f.s, "a", 1));
    assert_val(f.s, "a", NULL);
    tu_assert_ok(mlops_store_delete(f.s, "never", 5)); /* absent: no error */
    /* binary keys with NUL, 0xFF, CR/LF (S5), and the largest key */
    static const uint8_t bk[] = {0, 0xff, '\r', '\n', 'x', 0};
    tu_assert_ok(mlops_store_put(f.s, bk, sizeof(bk), "bin", 3));
    tu_assert_ok(mlops_store_get(&v, NULL, f.s, bk, sizeof(bk)));
    ck_assert_mem_eq(v.data, "bin", 3);
    mlops_bytes_free(&v);
    uint8_t *big = malloc(MLOPS_STORE_MAX_KEY);
    memset(big, 'k', MLOPS_STORE_MAX_KEY);
    tu_assert_ok(mlops_store_put(f.s, big, MLOPS_STORE_MAX_KEY, "max", 3));
    assert_val(f.s, "a", NULL);
    tu_assert_ok(mlops_store_get(&v, NULL, f.s, big, MLOPS_STORE_MAX_KEY));
    mlops_bytes_free(&v);
    free(big);
    fx_close(&f);
}
END_TEST

/* S4: SQL and protocol metacharacters are plain data; a 1 MiB value. */
START_TEST(test_hostile_names_and_big_values)
{
    fixture f;
    fx_open(&f, _i);
    const char *names[] = {"'; DROP TABLE kv; --", "$$ \\ $1", "*3\r\n$3\r\nDEL\r\n",
                           "k:internal", "idx", "ver", "meta", "b:x", "%2e%2e%2f"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        put_s(f.s, names[i], names[i]);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_val(f.s, names[i], names[i]);
    size_t n = 1u << 20;
    uint8_t *val = malloc(n);
    for (size_t i = 0; i < n; i++)
        val[i] = (uint8_t)(i * 131 + 7);
    tu_assert_ok(mlops_store_put(f.s, "big", 3, val, n));
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, f.s, "big", 3));
    ck_assert_uint_eq(v.len, n);
    ck_assert(memcmp(v.data, val, n) == 0);
    mlops_bytes_free(&v);
    free(val);
    /* the store still works and holds what it should */
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, f.s));
    ck_assert_uint_eq(info.keys, sizeof(names) / sizeof(names[0]) + 1);
    fx_close(&f);
}
END_TEST

/* ---- ordered scans ---- */

typedef struct collected {
    uint8_t keys[2048][8];
    size_t lens[2048];
    size_t n;
    size_t stop_after;
} collected;

static int collect(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)value;
    (void)value_len;
    (void)version;
    collected *c = payload;
    ck_assert_uint_le(key_len, 8);
    memcpy(c->keys[c->n], key, key_len);
    c->lens[c->n++] = key_len;
    return c->stop_after && c->n >= c->stop_after;
}

static int bytecmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al < bl ? -1 : al > bl);
}

START_TEST(test_scan_order)
{
    fixture f;
    fx_open(&f, _i);
    /* keys chosen to trip non-bytewise orders: prefixes, NUL, 0xFF, case */
    static const char *const fixed[] = {"a", "a\x01", "ab", "B", "b", "\xff", "\xff\xff", "a\x7f"};
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, f.s));
    size_t total = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++, total++)
        tu_assert_ok(mlops_batch_put(b, fixed[i], strlen(fixed[i]), "v", 1));
    tu_assert_ok(mlops_batch_put(b, "a\0", 2, "v", 1));
    total++;
    unsigned seed = 7;
    for (int i = 0; i < 600; i++, total++) {
        char k[8];
        seed = seed * 1103515245u + 12345u;
        snprintf(k, sizeof(k), "r%05u", (seed >> 8) % 100000u + (unsigned)i * 100000u % 7u);
        tu_assert_ok(mlops_batch_put(b, k, strlen(k), k, strlen(k)));
    }
    tu_assert_ok(mlops_store_apply(f.s, b));
    mlops_batch_free(b);
    collected *c = calloc(1, sizeof(*c));
    tu_assert_ok(mlops_store_scan(f.s, NULL, 0, NULL, 0, collect, c));
    ck_assert_uint_ge(c->n, 600);
    for (size_t i = 1; i < c->n; i++)
        ck_assert_msg(bytecmp(c->keys[i - 1], c->lens[i - 1], c->keys[i], c->lens[i]) < 0,
                      "scan out of order at %zu", i);
    ck_assert_uint_eq(c->lens[0], 1);
    ck_assert_int_eq(c->keys[0][0], 'B');
    ck_assert_uint_eq(c->lens[c->n - 1], 2); /* \xff\xff is last */
    /* prefix "a": a, a\0, a\x01, a\x7f, ab */
    memset(c, 0, sizeof(*c));
    tu_assert_ok(mlops_store_scan_prefix(f.s, "a", 1, collect, c));
    ck_assert_uint_eq(c->n, 5);
    ck_assert_uint_eq(c->lens[1], 2);
    ck_assert_int_eq(c->keys[1][1], 0);
    /* bounded range [a\x01, b) excludes "a", "a\0" and "b" */
    memset(c, 0, sizeof(*c));
    tu_assert_ok(mlops_store_scan(f.s, "a\x01", 2, "b", 1, collect, c));
    ck_assert_uint_eq(c->n, 3);
    /* a callback that stops */
    memset(c, 0, sizeof(*c));
    c->stop_after = 3;
    tu_assert_st(mlops_store_scan(f.s, NULL, 0, NULL, 0, collect, c), MLOPS_E_CALLBACK);
    ck_assert_uint_eq(c->n, 3);
    /* the cursor pages through everything in order */
    mlops_store_iter *it = NULL;
    tu_assert_ok(mlops_store_iter_open(&it, f.s, "r", 1, "s", 1));
    const uint8_t *k, *v;
    size_t kl, vl, n = 0;
    uint8_t prev[16];
    size_t prevl = 0;
    mlops_status st;
    while ((st = mlops_store_iter_next(it, &k, &kl, &v, &vl)) == MLOPS_OK) {
        ck_assert(n == 0 || bytecmp(prev, prevl, k, kl) < 0);
        ck_assert_uint_eq(kl, vl);
        memcpy(prev, k, kl);
        prevl = kl;
        n++;
    }
    ck_assert_int_eq(st, MLOPS_E_NOTFOUND);
    mlops_store_iter_free(it);
    memset(c, 0, sizeof(*c));
    tu_assert_ok(mlops_store_scan_prefix(f.s, "r", 1, collect, c));
    ck_assert_uint_eq(n, c->n);
    ck_assert_uint_gt(n, 256); /* more than one cursor page */
    free(c);
    fx_close(&f);
}
END_TEST

/* Pages are bounded in bytes too: twelve 1 MiB values come back in order
 * across several pages (S5: bounded replies). */
START_TEST(test_scan_big_values)
{
    fixture f;
    fx_open(&f, _i);
    size_t n = 1u << 20;
    uint8_t *val = malloc(n);
    for (int i = 0; i < 12; i++) {
        char k[8];
        snprintf(k, sizeof(k), "v%02d", i);
        memset(val, 'a' + i, n);
        tu_assert_ok(mlops_store_put(f.s, k, 3, val, n));
    }
    free(val);
    put_s(f.s, "w", "small");
    collected *c = calloc(1, sizeof(*c));
    tu_assert_ok(mlops_store_scan_prefix(f.s, "v", 1, collect, c));
    ck_assert_uint_eq(c->n, 12);
    for (size_t i = 0; i < c->n; i++) {
        char k[24];
        snprintf(k, sizeof(k), "v%02zu", i);
        ck_assert_mem_eq(c->keys[i], k, 3);
    }
    memset(c, 0, sizeof(*c));
    tu_assert_ok(mlops_store_scan(f.s, NULL, 0, NULL, 0, collect, c));
    ck_assert_uint_eq(c->n, 13);
    free(c);
    fx_close(&f);
}
END_TEST

/* ---- batches and preconditions ---- */

START_TEST(test_batch_atomic)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "k2", "old");
    uint64_t v0 = version_of(f.s, "k2", 2);
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, f.s));
    tu_assert_ok(mlops_batch_put(b, "k1", 2, "a", 1));
    tu_assert_ok(mlops_batch_put(b, "k1", 2, "b", 1)); /* later write wins */
    tu_assert_ok(mlops_batch_delete(b, "k2", 2));
    tu_assert_ok(mlops_batch_put(b, "k3", 2, "c", 1));
    tu_assert_ok(mlops_batch_delete(b, "k4", 2));
    tu_assert_ok(mlops_batch_put(b, "k4", 2, "d", 1)); /* put after delete */
    tu_assert_ok(mlops_store_apply(f.s, b));
    mlops_batch_free(b);
    assert_val(f.s, "k1", "b");
    assert_val(f.s, "k2", NULL);
    assert_val(f.s, "k3", "c");
    assert_val(f.s, "k4", "d");
    uint64_t v1 = version_of(f.s, "k1", 2), v3 = version_of(f.s, "k3", 2);
    ck_assert_uint_eq(v1, v3); /* one batch, one version */
    ck_assert_uint_gt(v1, v0);
    fx_close(&f);
}
END_TEST

START_TEST(test_preconditions)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "stage", "staging");
    uint64_t ver = version_of(f.s, "stage", 5);
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, f.s));
    /* each failing precondition leaves everything unchanged (I7) */
    struct {
        int kind;
        const char *key, *val;
        uint64_t ver;
    } bad[] = {{MLOPS_OP_REQUIRE_ABSENT, "stage", NULL, 0},
               {MLOPS_OP_REQUIRE_VALUE, "stage", "production", 0},
               {MLOPS_OP_REQUIRE_VALUE, "nokey", "x", 0},
               {MLOPS_OP_REQUIRE_VERSION, "stage", NULL, 0},
               {MLOPS_OP_REQUIRE_VERSION, "nokey", NULL, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mlops_batch_clear(b);
        tu_assert_ok(mlops_batch_put(b, "stage", 5, "production", 10));
        tu_assert_ok(mlops_batch_put(b, "other", 5, "x", 1));
        if (bad[i].kind == MLOPS_OP_REQUIRE_ABSENT)
            tu_assert_ok(mlops_batch_require_absent(b, bad[i].key, strlen(bad[i].key)));
        else if (bad[i].kind == MLOPS_OP_REQUIRE_VALUE)
            tu_assert_ok(mlops_batch_require_value(b, bad[i].key, strlen(bad[i].key),
                                                   bad[i].val, strlen(bad[i].val)));
        else
            tu_assert_ok(mlops_batch_require_version(b, bad[i].key, strlen(bad[i].key),
                                                     bad[i].ver ? bad[i].ver : ver + 1000));
        tu_assert_st(mlops_store_apply(f.s, b), MLOPS_E_CONFLICT);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), bad[i].key));
        assert_val(f.s, "stage", "staging");
        assert_val(f.s, "other", NULL);
    }
    /* all three kinds passing together */
    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_version(b, "stage", 5, ver));
    tu_assert_ok(mlops_batch_require_value(b, "stage", 5, "staging", 7));
    tu_assert_ok(mlops_batch_require_absent(b, "other", 5));
    tu_assert_ok(mlops_batch_put(b, "stage", 5, "production", 10));
    tu_assert_ok(mlops_batch_put(b, "other", 5, "x", 1));
    tu_assert_ok(mlops_store_apply(f.s, b));
    assert_val(f.s, "stage", "production");
    /* the same batch again fails: the version moved */
    tu_assert_st(mlops_store_apply(f.s, b), MLOPS_E_CONFLICT);
    /* preconditions only, no writes */
    mlops_batch_clear(b);
    tu_assert_ok(mlops_batch_require_value(b, "stage", 5, "production", 10));
    tu_assert_ok(mlops_store_apply(f.s, b));
    mlops_batch_free(b);
    fx_close(&f);
}
END_TEST

/* A batch bigger than one statement or script page: 20,000 ops. */
START_TEST(test_large_batch)
{
    fixture f;
    fx_open(&f, _i);
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, f.s));
    for (int i = 0; i < 20000; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "m%06d", i);
        tu_assert_ok(mlops_batch_put(b, k, (size_t)n, k, (size_t)n));
    }
    tu_assert_ok(mlops_batch_require_absent(b, "m-none", 6));
    tu_assert_ok(mlops_store_apply(f.s, b));
    mlops_batch_free(b);
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, f.s));
    ck_assert_uint_eq(info.keys, 20000);
    assert_val(f.s, "m019999", "m019999");
    ck_assert_uint_eq(version_of(f.s, "m000000", 7), version_of(f.s, "m019999", 7));
    fx_close(&f);
}
END_TEST

/* ---- blobs ---- */

static void fixed_hash(mlops_hash128 *out, const mlops_hash128 *real)
{
    (void)real;
    memset(out->bytes, 0xAB, 16);
}

START_TEST(test_blobs)
{
    fixture f;
    fx_open(&f, _i);
    size_t n = 3u * 1024u * 1024u + 12345u; /* four chunks, the last partial */
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    mlops_hash128 id, id2, id0;
    /* written in odd-sized pieces */
    mlops_blob_writer *w = NULL;
    tu_assert_ok(mlops_blob_writer_open(&w, f.s));
    size_t pos = 0, step = 1;
    while (pos < n) {
        size_t k = n - pos < step ? n - pos : step;
        tu_assert_ok(mlops_blob_writer_write(w, data + pos, k));
        pos += k;
        step = step * 3 + 1;
    }
    tu_assert_ok(mlops_blob_writer_commit(&id, w));
    mlops_blob_writer_free(w);
    mlops_bytes got;
    tu_assert_ok(mlops_store_blob_get(&got, f.s, &id, 0));
    ck_assert_uint_eq(got.len, n);
    ck_assert(memcmp(got.data, data, n) == 0);
    mlops_bytes_free(&got);
    uint64_t size = 0;
    tu_assert_ok(mlops_store_blob_stat(&size, f.s, &id));
    ck_assert_uint_eq(size, n);
    /* dedup: the same bytes again */
    tu_assert_ok(mlops_store_blob_put(&id2, f.s, data, n));
    ck_assert_mem_eq(id.bytes, id2.bytes, 16);
    /* empty and small blobs */
    tu_assert_ok(mlops_store_blob_put(&id0, f.s, "", 0));
    tu_assert_ok(mlops_store_blob_get(&got, f.s, &id0, 0));
    ck_assert_uint_eq(got.len, 0);
    mlops_bytes_free(&got);
    tu_assert_ok(mlops_store_blob_put(&id2, f.s, "hello", 5));
    tu_assert_ok(mlops_store_blob_get(&got, f.s, &id2, 0));
    ck_assert_mem_eq(got.data, "hello", 5);
    mlops_bytes_free(&got);
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, f.s));
    ck_assert_uint_eq(info.blobs, 3);
    /* too big for the caller's limit */
    tu_assert_st(mlops_store_blob_get(&got, f.s, &id, 100), MLOPS_E_TOOBIG);
    /* absent */
    mlops_hash128 none;
    memset(none.bytes, 0x11, 16);
    tu_assert_st(mlops_store_blob_stat(NULL, f.s, &none), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_store_blob_get(&got, f.s, &none, 0), MLOPS_E_NOTFOUND);
    /* an abandoned writer leaves nothing visible */
    tu_assert_ok(mlops_blob_writer_open(&w, f.s));
    tu_assert_ok(mlops_blob_writer_write(w, data, 2u * 1024u * 1024u + 1));
    mlops_blob_writer_free(w);
    tu_assert_ok(mlops_store_info(&info, f.s));
    ck_assert_uint_eq(info.blobs, 3);
    /* two different blobs at one address: a collision is refused */
    mlops__store_set_blob_hash_hook(f.s, fixed_hash);
    tu_assert_ok(mlops_store_blob_put(&id2, f.s, "first", 5));
    tu_assert_st(mlops_store_blob_put(&id2, f.s, "second", 6), MLOPS_E_CONFLICT);
    tu_assert_ok(mlops_store_blob_put(&id2, f.s, "first", 5));
    mlops__store_set_blob_hash_hook(f.s, NULL);
    char *report = NULL;
    tu_assert_ok(mlops_store_check(&report, f.s));
    ck_assert_str_eq(report, "");
    mlops_string_free(NULL, report);
    free(data);
    fx_close(&f);
}
END_TEST

/* ---- opening ---- */

START_TEST(test_reopen_persists)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "kept", "yes");
    uint64_t v = version_of(f.s, "kept", 4);
    mlops_store_close(f.s);
    f.s = NULL;
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.flags = MLOPS_STORE_NOCREATE;
    tu_assert_ok(mlops_store_open(&f.s, NULL, f.uri, &o));
    assert_val(f.s, "kept", "yes");
    put_s(f.s, "next", "1");
    ck_assert_uint_gt(version_of(f.s, "next", 4), v); /* the counter lives on the server */
    fx_close(&f);
}
END_TEST

START_TEST(test_nocreate_missing)
{
    char uri[1024], tag[64];
    sv_fresh_uri(uri, sizeof(uri), kinds[_i], tag, sizeof(tag));
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.flags = MLOPS_STORE_NOCREATE;
    mlops_store *s = (mlops_store *)1;
    tu_assert_st(mlops_store_open(&s, NULL, uri, &o), MLOPS_E_NOTFOUND);
    ck_assert_ptr_null(s);
    sv_drop(kinds[_i], tag);
}
END_TEST

/* X6: a store written by a newer library is refused. */
START_TEST(test_newer_schema_refused)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "x", "1");
    mlops_store_close(f.s);
    f.s = NULL;
    char cmd[256];
    if (f.kind == SV_PG)
        snprintf(cmd, sizeof(cmd),
                 "UPDATE \"%s\".meta SET value = 99 WHERE name = 'schema_version'", f.tag);
    else
        snprintf(cmd, sizeof(cmd), "HSET %s:meta format 99", f.tag);
    free(sv_admin(f.kind, cmd));
    mlops_store *s = NULL;
    tu_assert_st(mlops_store_open(&s, NULL, f.uri, NULL), MLOPS_E_VERSION);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "99"));
    ck_assert_ptr_null(s);
    fx_close(&f);
}
END_TEST

START_TEST(test_bad_uris)
{
    mlops_store *s = NULL;
    const char *base = sv_base_uri(kinds[_i]);
    char uri[1024];
    const char *sep = strchr(base, '?') ? "&" : "?";
    if (kinds[_i] == SV_PG) {
        const char *bad[] = {"mlops_schema=Bad-Name", "mlops_schema=pg_x", "mlops_schema=",
                             "mlops_schema=a%22b", "mlops_nope=1"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(uri, sizeof(uri), "%s%s%s", base, sep, bad[i]);
            mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
            ck_assert_msg(st == MLOPS_E_INVALID || st == MLOPS_E_BACKEND, "%s: %s", bad[i],
                          mlops_status_name(st));
            ck_assert_ptr_null(s);
        }
    } else {
        const char *bad[] = {"redis://127.0.0.1:99999/0", "redis://127.0.0.1:6379/zero",
                             "redis://127.0.0.1:6379/0?nope=1",
                             "redis://127.0.0.1:6379/0?timeout=-1", "redis://[::1:6379/0"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            tu_assert_st(mlops_store_open(&s, NULL, bad[i], NULL), MLOPS_E_INVALID);
            ck_assert_ptr_null(s);
        }
        /* a wrong password is a clear backend error */
        const char *at = strchr(base, '@');
        snprintf(uri, sizeof(uri), "redis://:wrong%s", at ? at : base + 7);
        tu_assert_st(mlops_store_open(&s, NULL, uri, NULL), MLOPS_E_BACKEND);
    }
}
END_TEST

/* S6: an unreachable server gives a clear error within the timeout. */
START_TEST(test_unreachable)
{
    mlops_store *s = NULL;
    const char *uris[2][2] = {
        {"postgresql://mlops@127.0.0.1:1/x?connect_timeout=2",
         "postgresql://mlops@10.255.255.1:5432/x?connect_timeout=2"},
        {"redis://127.0.0.1:1/0?timeout=1", "redis://10.255.255.1:6379/0?timeout=1"}};
    for (int i = 0; i < 2; i++) {
        double t0 = now_s();
        tu_assert_st(mlops_store_open(&s, NULL, uris[kinds[_i]][i], NULL), MLOPS_E_BACKEND);
        ck_assert_ptr_null(s);
        ck_assert_msg(now_s() - t0 < 6.0, "open of %s took %.1f s", uris[kinds[_i]][i],
                      now_s() - t0);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "connect"));
    }
}
END_TEST

/* S1: connections cut between calls; the next call reconnects. */
START_TEST(test_reconnect)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "a", "1");
    for (int round = 0; round < 3; round++) {
        ck_assert_int_ge(sv_kill_conns(f.kind, f.tag), 1);
        usleep(50000);
        assert_val(f.s, "a", round ? "2" : "1");
        put_s(f.s, "a", "2");
    }
    fx_close(&f);
}
END_TEST

/* Two processes race compare-and-set promotions: exactly one wins (R4). */
START_TEST(test_cas_race_processes)
{
    fixture f;
    fx_open(&f, _i);
    enum { PROCS = 4, ROUNDS = 8 };
    put_s(f.s, "stage", "v0");
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t ver = version_of(f.s, "stage", 5);
        int go[2];
        ck_assert_int_eq(pipe(go), 0);
        pid_t pids[PROCS];
        for (int p = 0; p < PROCS; p++) {
            pids[p] = fork();
            ck_assert_int_ge(pids[p], 0);
            if (pids[p] == 0) {
                close(go[1]);
                mlops_store *s = NULL;
                if (mlops_store_open(&s, NULL, f.uri, NULL) != MLOPS_OK)
                    _exit(3);
                mlops_batch *b = NULL;
                char val[32], win[32];
                snprintf(val, sizeof(val), "r%d-p%d", round, p);
                snprintf(win, sizeof(win), "winner:%d:%d", round, p);
                mlops_batch_create(&b, s);
                mlops_batch_require_version(b, "stage", 5, ver);
                mlops_batch_put(b, "stage", 5, val, strlen(val));
                mlops_batch_put(b, win, strlen(win), "1", 1);
                char c;
                ssize_t rd = read(go[0], &c, 1); /* wait for the start */
                (void)rd;
                mlops_status st = mlops_store_apply(s, b);
                mlops_batch_free(b);
                mlops_store_close(s);
                _exit(st == MLOPS_OK ? 0 : st == MLOPS_E_CONFLICT ? 1 : 2);
            }
        }
        close(go[0]);
        usleep(100000);
        close(go[1]); /* everyone reads EOF at once */
        int wins = 0, losses = 0;
        for (int p = 0; p < PROCS; p++) {
            int status = 0;
            waitpid(pids[p], &status, 0);
            ck_assert(WIFEXITED(status));
            int code = WEXITSTATUS(status);
            ck_assert_msg(code == 0 || code == 1, "child exited %d", code);
            wins += code == 0;
            losses += code == 1;
        }
        ck_assert_int_eq(wins, 1);
        ck_assert_int_eq(losses, PROCS - 1);
        /* the stored stage names the winner, and only its marker exists */
        mlops_bytes v;
        tu_assert_ok(mlops_store_get(&v, NULL, f.s, "stage", 5));
        int wp = -1;
        ck_assert_int_eq(sscanf((const char *)v.data, "r%*d-p%d", &wp), 1);
        mlops_bytes_free(&v);
        for (int p = 0; p < PROCS; p++) {
            char win[32];
            snprintf(win, sizeof(win), "winner:%d:%d", round, p);
            assert_val(f.s, win, p == wp ? "1" : NULL);
        }
    }
    fx_close(&f);
}
END_TEST

/* C8: several processes open (and so create) one new store at once. */
START_TEST(test_concurrent_first_open)
{
    char uri[1024], tag[64];
    sv_fresh_uri(uri, sizeof(uri), kinds[_i], tag, sizeof(tag));
    enum { PROCS = 4 };
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            close(go[1]);
            char c;
            ssize_t rd = read(go[0], &c, 1);
            (void)rd;
            mlops_store *s = NULL;
            mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
            if (st == MLOPS_OK) {
                char k[16];
                snprintf(k, sizeof(k), "p%d", p);
                st = mlops_store_put(s, k, strlen(k), "1", 1);
            }
            if (st != MLOPS_OK)
                fprintf(stderr, "child %d: %s\n", p, mlops_error_message());
            mlops_store_close(s);
            _exit(st == MLOPS_OK ? 0 : 1);
        }
    }
    close(go[0]);
    usleep(50000);
    close(go[1]);
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_uint_eq(info.keys, PROCS);
    mlops_store_close(s);
    sv_drop(kinds[_i], tag);
}
END_TEST

/* C5: a handle used after fork() is refused in the child, and the parent's
 * connections are not disturbed. */
START_TEST(test_fork_refused)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "a", "1");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        mlops_bytes v;
        mlops_status st = mlops_store_get(&v, NULL, f.s, "a", 1);
        mlops_status st2 = mlops_store_put(f.s, "b", 1, "2", 1);
        mlops_store_close(f.s);
        _exit(st == MLOPS_E_INVALID && st2 == MLOPS_E_INVALID ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_val(f.s, "a", "1");
    assert_val(f.s, "b", NULL);
    put_s(f.s, "c", "3");
    fx_close(&f);
}
END_TEST

/* C4: threads on one handle share the connection pool. */
typedef struct thr_arg {
    mlops_store *s;
    int t;
    mlops_status st;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 100 && a->st == MLOPS_OK; i++) {
        char k[32];
        int n = snprintf(k, sizeof(k), "t%d:%03d", a->t, i);
        a->st = mlops_store_put(a->s, k, (size_t)n, k, (size_t)n);
        if (a->st == MLOPS_OK) {
            mlops_bytes v;
            a->st = mlops_store_get(&v, NULL, a->s, k, (size_t)n);
            mlops_bytes_free(&v);
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    fixture f;
    fx_open(&f, _i);
    pthread_t th[4];
    thr_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (thr_arg){f.s, t, MLOPS_OK};
        pthread_create(&th[t], NULL, thr_main, &args[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        tu_assert_ok(args[t].st);
    }
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, f.s));
    ck_assert_uint_eq(info.keys, 400);
    fx_close(&f);
}
END_TEST

/* S1/K7: the connection is cut while a batch is in flight; nothing of the
 * batch is applied and the next call works. PostgreSQL: the batch waits on
 * a row lock held by the test. Redis: the server is paused, so the script
 * is queued and never runs. */
typedef struct apply_arg {
    mlops_store *s;
    mlops_status st;
    char msg[512];
} apply_arg;

static void *apply_main(void *p)
{
    apply_arg *a = p;
    mlops_batch *b = NULL;
    mlops_batch_create(&b, a->s);
    mlops_batch_put(b, "half:1", 6, "x", 1);
    mlops_batch_put(b, "locked", 6, "new", 3);
    mlops_batch_put(b, "half:2", 6, "y", 1);
    mlops_batch_require_value(b, "locked", 6, "old", 3);
    a->st = mlops_store_apply(a->s, b);
    snprintf(a->msg, sizeof(a->msg), "%s", mlops_error_message());
    mlops_batch_free(b);
    return NULL;
}

#include <libpq-fe.h>

START_TEST(test_cut_mid_transaction)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "locked", "old");
    PGconn *pc = NULL;
    if (f.kind == SV_PG) {
        pc = PQconnectdb(sv_base_uri(SV_PG));
        ck_assert_int_eq(PQstatus(pc), CONNECTION_OK);
        char sql[256];
        PQclear(PQexec(pc, "BEGIN"));
        snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\".kv WHERE k = 'locked'::bytea FOR UPDATE",
                 f.tag);
        PGresult *r = PQexec(pc, sql);
        ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
        ck_assert_int_eq(PQntuples(r), 1);
        PQclear(r);
    } else {
        free(sv_admin(SV_REDIS, "CLIENT PAUSE 4000 WRITE"));
    }
    apply_arg a = {f.s, MLOPS_OK, ""};
    pthread_t th;
    pthread_create(&th, NULL, apply_main, &a);
    /* wait until the batch is stuck on the server */
    if (f.kind == SV_PG) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' AND "
                 "wait_event_type = 'Lock'",
                 f.tag);
        int waiting = 0;
        for (int i = 0; i < 200 && !waiting; i++) {
            char *r = sv_admin(SV_PG, sql);
            waiting = r && atoi(r) > 0;
            free(r);
            if (!waiting)
                usleep(10000);
        }
        ck_assert_msg(waiting, "the batch never waited on the lock");
    } else {
        usleep(300000);
    }
    ck_assert_int_ge(sv_kill_conns(f.kind, f.tag), 1);
    pthread_join(th, NULL);
    if (f.kind == SV_PG) {
        PQclear(PQexec(pc, "ROLLBACK"));
        PQfinish(pc);
    } else {
        free(sv_admin(SV_REDIS, "CLIENT UNPAUSE"));
    }
    ck_assert_msg(a.st == MLOPS_E_BACKEND, "apply gave %s: %s", mlops_status_name(a.st), a.msg);
    /* nothing half-applied (I3), and the handle recovers (I10) */
    assert_val(f.s, "half:1", NULL);
    assert_val(f.s, "half:2", NULL);
    assert_val(f.s, "locked", "old");
    apply_main(&a);
    tu_assert_ok(a.st);
    assert_val(f.s, "half:1", "x");
    assert_val(f.s, "locked", "new");
    fx_close(&f);
}
END_TEST

/* S5: Redis out of memory is a backend error, and nothing is half-written. */
START_TEST(test_redis_oom)
{
    fixture f;
    fx_open(&f, _i);
    put_s(f.s, "before", "1");
    char *old = sv_admin(SV_REDIS, "CONFIG GET maxmemory");
    free(old);
    free(sv_admin(SV_REDIS, "CONFIG SET maxmemory 1"));
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, f.s));
    tu_assert_ok(mlops_batch_put(b, "oom:1", 5, "x", 1));
    tu_assert_ok(mlops_batch_put(b, "oom:2", 5, "y", 1));
    mlops_status st = mlops_store_apply(f.s, b);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", mlops_error_message());
    free(sv_admin(SV_REDIS, "CONFIG SET maxmemory 0"));
    ck_assert_msg(st == MLOPS_E_BACKEND, "got %s: %s", mlops_status_name(st), msg);
    ck_assert_ptr_nonnull(strstr(msg, "OOM"));
    assert_val(f.s, "oom:1", NULL);
    assert_val(f.s, "oom:2", NULL);
    tu_assert_ok(mlops_store_apply(f.s, b));
    assert_val(f.s, "oom:2", "y");
    mlops_batch_free(b);
    fx_close(&f);
}
END_TEST

/* M1/I8: fail each allocation of a workload in turn; every call returns OK
 * or MLOPS_E_NOMEM, nothing leaks, and the data stays consistent. */
static mlops_status alloc_workload(mlops_env *env, const char *uri)
{
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, env, uri, NULL);
    if (st != MLOPS_OK)
        return st;
    mlops_batch *b = NULL;
    mlops_bytes v = {0};
    mlops_hash128 id;
    collected *c = calloc(1, sizeof(*c));
    st = mlops_store_put(s, "a", 1, "1", 1);
    if (st == MLOPS_OK)
        st = mlops_store_get(&v, NULL, s, "a", 1);
    mlops_bytes_free(&v);
    if (st == MLOPS_OK)
        st = mlops_batch_create(&b, s);
    if (st == MLOPS_OK)
        st = mlops_batch_require_value(b, "a", 1, "1", 1);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "b", 1, "2", 1);
    if (st == MLOPS_OK)
        st = mlops_store_apply(s, b);
    if (st == MLOPS_OK)
        st = mlops_store_scan(s, NULL, 0, NULL, 0, collect, c);
    if (st == MLOPS_OK)
        st = mlops_store_blob_put(&id, s, "blob", 4);
    if (st == MLOPS_OK)
        st = mlops_store_blob_get(&v, s, &id, 0);
    mlops_bytes_free(&v);
    mlops_batch_free(b);
    mlops_store_close(s);
    free(c);
    return st;
}

START_TEST(test_alloc_failures)
{
    char uri[1024], tag[64];
    sv_fresh_uri(uri, sizeof(uri), kinds[_i], tag, sizeof(tag));
    tu_alloc a = {0};
    mlops_env *env = tu_env_new(&a, NULL);
    tu_assert_ok(alloc_workload(env, uri));
    long total = a.calls;
    ck_assert_int_gt(total, 10);
    for (long k = 1; k <= total; k++) {
        a.fail_at = k;
        a.calls = a.failures = 0;
        long live = a.live;
        mlops_status st = alloc_workload(env, uri);
        ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_NOMEM, "failing allocation %ld: %s: %s",
                      k, mlops_status_name(st), mlops_error_message());
        ck_assert_msg(a.live == live, "failing allocation %ld leaked %ld blocks", k,
                      a.live - live);
    }
    a.fail_at = 0;
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, env, uri, NULL));
    assert_val(s, "a", "1");
    assert_val(s, "b", "2");
    mlops_store_close(s);
    mlops_env_free(env);
    sv_drop(kinds[_i], tag);
}
END_TEST

/* S7: with ?ttl= every key expires; an expired key reads as missing, scans
 * skip it and drop it from the key index. */
START_TEST(test_redis_ttl)
{
    char uri[1024], tag[64];
    sv_fresh_uri(uri, sizeof(uri), SV_REDIS, tag, sizeof(tag));
    char ttl_uri[1100];
    snprintf(ttl_uri, sizeof(ttl_uri), "%s&ttl=1", uri);
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, ttl_uri, NULL));
    put_s(s, "a", "1");
    put_s(s, "b", "2");
    assert_val(s, "a", "1");
    usleep(2200000);
    assert_val(s, "a", NULL);
    collected *c = calloc(1, sizeof(*c));
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, collect, c));
    ck_assert_uint_eq(c->n, 0);
    free(c);
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&info, s));
    ck_assert_uint_eq(info.keys, 0);
    /* an expired key is absent for preconditions too */
    mlops_batch *b = NULL;
    tu_assert_ok(mlops_batch_create(&b, s));
    tu_assert_ok(mlops_batch_require_absent(b, "b", 1));
    tu_assert_ok(mlops_batch_put(b, "b", 1, "3", 1));
    tu_assert_ok(mlops_store_apply(s, b));
    mlops_batch_free(b);
    assert_val(s, "b", "3");
    mlops_store_close(s);
    snprintf(ttl_uri, sizeof(ttl_uri), "%s&ttl=soon", uri);
    tu_assert_st(mlops_store_open(&s, NULL, ttl_uri, NULL), MLOPS_E_INVALID);
    sv_drop(SV_REDIS, tag);
}
END_TEST

static Suite *servers_suite(void)
{
    Suite *s = suite_create("servers");
    TCase *tc = tcase_create("backends");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_put_get_delete, 0, n_kinds);
    tcase_add_loop_test(tc, test_hostile_names_and_big_values, 0, n_kinds);
    tcase_add_loop_test(tc, test_scan_order, 0, n_kinds);
    tcase_add_loop_test(tc, test_scan_big_values, 0, n_kinds);
    tcase_add_loop_test(tc, test_batch_atomic, 0, n_kinds);
    tcase_add_loop_test(tc, test_preconditions, 0, n_kinds);
    tcase_add_loop_test(tc, test_large_batch, 0, n_kinds);
    tcase_add_loop_test(tc, test_blobs, 0, n_kinds);
    tcase_add_loop_test(tc, test_reopen_persists, 0, n_kinds);
    tcase_add_loop_test(tc, test_nocreate_missing, 0, n_kinds);
    tcase_add_loop_test(tc, test_newer_schema_refused, 0, n_kinds);
    tcase_add_loop_test(tc, test_bad_uris, 0, n_kinds);
    tcase_add_loop_test(tc, test_unreachable, 0, n_kinds);
    tcase_add_loop_test(tc, test_reconnect, 0, n_kinds);
    tcase_add_loop_test(tc, test_cas_race_processes, 0, n_kinds);
    tcase_add_loop_test(tc, test_threads, 0, n_kinds);
    tcase_add_loop_test(tc, test_concurrent_first_open, 0, n_kinds);
    tcase_add_loop_test(tc, test_fork_refused, 0, n_kinds);
    tcase_add_loop_test(tc, test_cut_mid_transaction, 0, n_kinds);
    suite_add_tcase(s, tc);
    TCase *al = tcase_create("alloc");
    tcase_set_timeout(al, 120);
    tcase_add_loop_test(al, test_alloc_failures, 0, n_kinds);
    suite_add_tcase(s, al);
    for (int i = 0; i < n_kinds; i++) {
        if (kinds[i] == SV_REDIS) {
            TCase *oom = tcase_create("redis-only");
            tcase_add_loop_test(oom, test_redis_oom, i, i + 1);
            tcase_add_test(oom, test_redis_ttl);
            suite_add_tcase(s, oom);
        }
    }
    return s;
}

int main(void)
{
    static const char *const names[SV__COUNT] = {"postgres", "redis"};
    static const int built[SV__COUNT] = {MLOPS_HAVE_POSTGRES, MLOPS_HAVE_REDIS};
    static const char *const vars[SV__COUNT] = {"MLOPS_TEST_PG_URI", "MLOPS_TEST_REDIS_URI"};
    for (int k = 0; k < SV__COUNT; k++) {
        if (!built[k])
            printf("SKIP %s backend tests: the backend is not built\n", names[k]);
        else if (sv_base_uri(k) == NULL)
            printf("SKIP %s backend tests: %s is not set (run scripts/servers start and "
                   "source build-servers/env.sh)\n",
                   names[k], vars[k]);
        else
            kinds[n_kinds++] = k;
    }
    if (n_kinds == 0)
        return 77; /* meson: skipped */
    return tu_run(servers_suite());
}

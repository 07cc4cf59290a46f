/* SPDX-License-Identifier: MIT */
/* Feature store: definitions and versions, ingest (columns and CSV), the
 * point-in-time join (hand-made cases, a randomized differential test against
 * a naive reference, the leakage property), the online store and
 * transformations, and bad inputs (RELIABILITY.md ids in comments). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "feature/feature_internal.h"
#include "testutil.h"

#define S 1000000LL /* one second in microseconds */

typedef struct fx {
    mlops_store *store;
    mlops_feature_store *fs;
} fx;

static void fx_open(fx *f, mlops_env *env)
{
    tu_assert_ok(mlops_store_open(&f->store, env, "mem:", NULL));
    tu_assert_ok(mlops_feature_store_open(&f->fs, f->store));
}

static void fx_close(fx *f)
{
    mlops_feature_store_close(f->fs);
    mlops_store_close(f->store);
}

/* A view "v": key "id" (int64), event "ts", created "cr", features a (float64), s (string). */
static mlops_feature_view *make_view(fx *f, const char *name, int64_t ttl, bool created)
{
    const char *keys[] = {"id"};
    mlops_feature_spec feats[] = {
        {.name = "a", .type = MLOPS_FEATURE_FLOAT64},
        {.name = "s", .type = MLOPS_FEATURE_STRING},
    };
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "ts";
    o.created = created ? "cr" : NULL;
    o.ttl_us = ttl;
    o.features = feats;
    o.n_features = 2;
    mlops_feature_view *v = NULL;
    tu_assert_ok(mlops_feature_view_apply(&v, f->fs, name, &o));
    return v;
}

static void ingest_rows(mlops_feature_view *v, size_t n, const int64_t *id, const int64_t *ts,
                        const int64_t *cr, const double *a)
{
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL, n));
    tu_assert_ok(mlops_feature_table_add_column(t, "ts", MLOPS_FEATURE_INT64, 0, ts, NULL, n));
    if (cr)
        tu_assert_ok(mlops_feature_table_add_column(t, "cr", MLOPS_FEATURE_INT64, 0, cr, NULL, n));
    tu_assert_ok(mlops_feature_table_add_column(t, "a", MLOPS_FEATURE_FLOAT64, 0, a, NULL, n));
    const char **s = calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        s[i] = "x";
    tu_assert_ok(mlops_feature_table_add_column(t, "s", MLOPS_FEATURE_STRING, 0, s, NULL, n));
    free(s);
    uint64_t rows = 0;
    tu_assert_ok(mlops_feature_view_ingest(&rows, v, t));
    ck_assert_uint_eq(rows, n);
    mlops_feature_table_free(t);
}

static mlops_feature_table *entity_table(size_t n, const int64_t *id, const int64_t *ts,
                                         const uint8_t *id_valid, const uint8_t *ts_valid)
{
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, id_valid, n));
    tu_assert_ok(mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                                ts_valid, n));
    return t;
}

/* value of column col at row: NAN for null */
static double cell(const mlops_feature_table *t, const char *col, size_t row)
{
    size_t c;
    tu_assert_ok(mlops_feature_table_find(&c, t, col));
    const uint8_t *v = mlops_feature_table_valid(t, c);
    if (v && !v[row])
        return NAN;
    uint32_t type;
    mlops_feature_table_column(&type, NULL, t, c);
    if (type == MLOPS_FEATURE_INT64)
        return (double)((const int64_t *)mlops_feature_table_data(t, c))[row];
    return ((const double *)mlops_feature_table_data(t, c))[row];
}

static bool is_null(double x)
{
    return x != x;
}

START_TEST(test_options_abi)
{
    ck_assert_uint_eq(MLOPS_FEATURE_VIEW_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_feature_view_options), 96);
    ck_assert_uint_eq(offsetof(mlops_feature_view_options, tags), 88);
    ck_assert_uint_eq(MLOPS_FEATURE_JOIN_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_feature_join_options), 24);
    ck_assert_uint_eq(offsetof(mlops_feature_join_options, reserved), 20);
    ck_assert_uint_eq(sizeof(mlops_feature_spec), 56);
    ck_assert_uint_eq(offsetof(mlops_feature_spec, function), 48);
    ck_assert_uint_eq(sizeof(mlops_feature_value), 56);
    ck_assert_uint_eq(offsetof(mlops_feature_value, len), 48);
    mlops_feature_view_options o;
    tu_assert_ok(mlops_feature_view_options_init(&o, 1));
    ck_assert_uint_eq(o.version, 1);
    tu_assert_st(mlops_feature_view_options_init(&o, 2), MLOPS_E_VERSION);
    tu_assert_st(mlops_feature_view_options_init(NULL, 1), MLOPS_E_INVALID);
    mlops_feature_join_options j;
    tu_assert_ok(mlops_feature_join_options_init(&j, 1));
    tu_assert_st(mlops_feature_join_options_init(&j, 0), MLOPS_E_VERSION);
}
END_TEST

START_TEST(test_versions)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, true);
    ck_assert_uint_eq(mlops_feature_view_version(v), 1);
    char h1[17];
    strcpy(h1, mlops_feature_view_hash(v));
    ck_assert_uint_eq(strlen(h1), 16);
    mlops_feature_view_close(v);
    /* the same schema again: same version */
    v = make_view(&f, "v", 0, true);
    ck_assert_uint_eq(mlops_feature_view_version(v), 1);
    ck_assert_str_eq(mlops_feature_view_hash(v), h1);
    mlops_feature_view_close(v);
    /* a description does not change the version */
    const char *keys[] = {"id"};
    mlops_feature_spec feats[] = {{.name = "a", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "s", .type = MLOPS_FEATURE_STRING}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "ts";
    o.created = "cr";
    o.features = feats;
    o.n_features = 2;
    o.description = "hello";
    o.tags = "team=ml";
    tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "v", &o));
    ck_assert_uint_eq(mlops_feature_view_version(v), 1);
    mlops_feature_view_close(v);
    /* a TTL change is a schema change: v2, and v1 stays readable */
    o.ttl_us = 10 * S;
    tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "v", &o));
    ck_assert_uint_eq(mlops_feature_view_version(v), 2);
    ck_assert_str_ne(mlops_feature_view_hash(v), h1);
    mlops_feature_view_close(v);
    tu_assert_ok(mlops_feature_view_open(&v, f.fs, "v@v1"));
    ck_assert_uint_eq(mlops_feature_view_version(v), 1);
    ck_assert_str_eq(mlops_feature_view_hash(v), h1);
    ck_assert_uint_eq(mlops_feature_view_latest_version(v), 2);
    char *js = NULL;
    tu_assert_ok(mlops_feature_view_describe(&js, v));
    ck_assert_ptr_nonnull(strstr(js, "\"version\": 1"));
    mlops_string_free(NULL, js);
    /* an old version cannot take new rows */
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_st(mlops_feature_view_ingest(NULL, v, t), MLOPS_E_CONFLICT);
    mlops_feature_table_free(t);
    mlops_feature_view_close(v);
    tu_assert_st(mlops_feature_view_open(&v, f.fs, "v@v3"), MLOPS_E_NOTFOUND);
    ck_assert_ptr_null(v);
    tu_assert_st(mlops_feature_view_open(&v, f.fs, "v@x"), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_view_open(&v, f.fs, "nope"), MLOPS_E_NOTFOUND);
    char *list = NULL;
    mlops_feature_view_close(make_view(&f, "w", 0, false));
    tu_assert_ok(mlops_feature_store_list(&list, f.fs));
    ck_assert_str_eq(list, "v\nw");
    mlops_string_free(NULL, list);
    fx_close(&f);
}
END_TEST

START_TEST(test_bad_definitions)
{
    fx f;
    fx_open(&f, NULL);
    const char *keys[] = {"id"};
    mlops_feature_spec feats[] = {{.name = "a", .type = MLOPS_FEATURE_FLOAT64}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = feats;
    o.n_features = 1;
    mlops_feature_view *v = NULL;
    /* N13: names are data, never paths or key material */
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "../etc", &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "a:b", &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "", &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, NULL, &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", NULL), MLOPS_E_INVALID);
    feats[0].type = 99;
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_INVALID);
    feats[0].type = MLOPS_FEATURE_FLOAT32_VECTOR; /* dim 0 */
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_INVALID);
    feats[0].type = MLOPS_FEATURE_FLOAT64;
    feats[0].name = "id"; /* clashes with the key */
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "twice"));
    feats[0].name = "a";
    o.ttl_us = -1;
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_INVALID);
    o.ttl_us = 0;
    o.n_join_keys = 0;
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_INVALID);
    o.n_join_keys = 1;
    o.version = 7;
    tu_assert_st(mlops_feature_view_apply(&v, f.fs, "v", &o), MLOPS_E_VERSION);
    /* I7: nothing was stored */
    char *list = NULL;
    tu_assert_ok(mlops_feature_store_list(&list, f.fs));
    ck_assert_str_eq(list, "");
    mlops_string_free(NULL, list);
    fx_close(&f);
}
END_TEST

/* The hand-made join cases of the rule. */
START_TEST(test_join_rule)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 100 * S, true);
    /* key 1: rows at 100 (cr 100, a=1), 200 (cr 200, a=2), 200 (cr 250, a=3: wins the tie),
     * key 2: one row at 1000 (a=5). Rows are unsorted. */
    int64_t id[] = {1, 2, 1, 1};
    int64_t ts[] = {200 * S, 1000 * S, 100 * S, 200 * S};
    int64_t cr[] = {250 * S, 1000 * S, 100 * S, 200 * S};
    double a[] = {3, 5, 1, 2};
    ingest_rows(v, 4, id, ts, cr, a);
    /* entity rows: exact match, between, before all, TTL edge inclusive
     * (t - ttl == e), one past the edge, a key with no rows, duplicate rows,
     * a null key, a null timestamp */
    int64_t eid[] = {1, 1, 1, 2, 2, 3, 1, 1, 0, 1};
    int64_t ets[] = {200 * S, 150 * S, 99 * S, 1100 * S, 1100 * S + 1, 500 * S,
                     150 * S, 150 * S, 200 * S, 0};
    uint8_t idv[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
    uint8_t tsv[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    mlops_feature_table *e = entity_table(10, eid, ets, idv, tsv);
    const char *refs[] = {"v:a", "v:s"};
    mlops_feature_table *out = NULL;
    mlops_feature_join_options jo = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    jo.flags = MLOPS_JOIN_TIMESTAMPS;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 2, &jo));
    ck_assert_uint_eq(mlops_feature_table_rows(out), 10);
    ck_assert_uint_eq(mlops_feature_table_columns(out), 6);
    double want[] = {3, 1, NAN, 5, NAN, NAN, 1, 1, NAN, NAN};
    for (size_t i = 0; i < 10; i++) {
        double got = cell(out, "a", i);
        ck_assert_msg(is_null(want[i]) ? is_null(got) : got == want[i], "row %zu: got %g want %g",
                      i, got, want[i]);
        /* the input columns are kept, in order */
        if (idv[i])
            ck_assert_int_eq((int64_t)cell(out, "id", i), eid[i]);
    }
    ck_assert_int_eq((int64_t)cell(out, "v__created_timestamp", 0), 250 * S);
    ck_assert_int_eq((int64_t)cell(out, "v__event_timestamp", 3), 1000 * S);
    size_t sc;
    tu_assert_ok(mlops_feature_table_find(&sc, out, "s"));
    ck_assert_str_eq(mlops_feature_table_string(NULL, out, sc, 0), "x");
    ck_assert_ptr_null(mlops_feature_table_string(NULL, out, sc, 2));
    mlops_feature_table_free(out);
    /* full names */
    jo.flags = MLOPS_JOIN_FULL_NAMES;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, &jo));
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, out, 2), "v__a");
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

/* A join key added by a later definition is null in the rows ingested
 * before it: those rows match no entity, not the one whose key is 0 or the
 * empty string. */
START_TEST(test_join_added_key_is_null)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, false);
    int64_t id[] = {1, 2}, ts[] = {100 * S, 100 * S};
    double a[] = {5, 6};
    ingest_rows(v, 2, id, ts, NULL, a);
    mlops_feature_view_close(v);
    for (int k = 0; k < 2; k++) { /* the added key typed int64, then string */
        const char *keys[] = {"id", k == 0 ? "zone" : "region"};
        const uint32_t types[] = {MLOPS_FEATURE_INT64,
                                  k == 0 ? MLOPS_FEATURE_INT64 : MLOPS_FEATURE_STRING};
        mlops_feature_spec feats[] = {
            {.name = "a", .type = MLOPS_FEATURE_FLOAT64},
            {.name = "s", .type = MLOPS_FEATURE_STRING},
        };
        mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
        o.join_keys = keys;
        o.key_types = types;
        o.n_join_keys = 2;
        o.timestamp = "ts";
        o.features = feats;
        o.n_features = 2;
        tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "v", &o));
        mlops_feature_view_close(v);
        /* entity rows: id 1 with the added key 0 / "" (the null rows' stored
         * value), and id 2 with a key no row has */
        int64_t eid[] = {1, 2}, ets[] = {200 * S, 200 * S}, zone[] = {0, 7};
        const char *region[] = {"", "north"};
        mlops_feature_table *e = entity_table(2, eid, ets, NULL, NULL);
        if (k == 0)
            tu_assert_ok(
                mlops_feature_table_add_column(e, "zone", MLOPS_FEATURE_INT64, 0, zone, NULL, 2));
        else
            tu_assert_ok(mlops_feature_table_add_column(e, "region", MLOPS_FEATURE_STRING, 0,
                                                        region, NULL, 2));
        const char *refs[] = {"v:a"};
        mlops_feature_table *out = NULL;
        tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, NULL));
        for (size_t i = 0; i < 2; i++)
            ck_assert_msg(is_null(cell(out, "a", i)), "key %d, row %zu: got %g", k, i,
                          cell(out, "a", i));
        mlops_feature_table_free(out);
        mlops_feature_table_free(e);
        /* nor are they the latest row of such an entity, offline or online */
        const char *mrefs[] = {"v:a"};
        tu_assert_ok(mlops_feature_store_latest(&out, f.fs, mrefs, 1, 0, 1000 * S));
        ck_assert_uint_eq(mlops_feature_table_rows(out), 0);
        mlops_feature_table_free(out);
        mlops_store *online = NULL;
        tu_assert_ok(mlops_store_open(&online, NULL, "mem:", NULL));
        mlops_feature_online *on = NULL;
        tu_assert_ok(mlops_feature_online_open(&on, f.fs, online));
        uint64_t written = 9;
        tu_assert_ok(mlops_feature_online_materialize(&written, on, "v", 0, 1000 * S));
        ck_assert_uint_eq(written, 0);
        const char *kn[] = {"id", keys[1]};
        const char *kv[] = {"1", k == 0 ? "0" : ""};
        mlops_feature_value got;
        tu_assert_ok(mlops_feature_online_get(&got, on, mrefs, 1, kn, 2, kv, 1));
        ck_assert_uint_eq(got.status, MLOPS_FEATURE_NOT_FOUND);
        mlops_feature_online_close(on);
        mlops_store_close(online);
    }
    fx_close(&f);
}
END_TEST

/* Equal event and created timestamps: the row ingested last wins. */
START_TEST(test_join_ingest_order)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, true);
    int64_t id[] = {7};
    int64_t ts[] = {10 * S};
    double a1[] = {1}, a2[] = {2};
    ingest_rows(v, 1, id, ts, ts, a1);
    ingest_rows(v, 1, id, ts, ts, a2);
    int64_t eid[] = {7, 7};
    int64_t ets[] = {10 * S, 1000000 * S}; /* ttl 0: no lower bound */
    mlops_feature_table *e = entity_table(2, eid, ets, NULL, NULL);
    const char *refs[] = {"v:a"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, NULL));
    ck_assert(cell(out, "a", 0) == 2);
    ck_assert(cell(out, "a", 1) == 2);
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

/* As of knowledge: a late backfill (created after t) is not seen. */
START_TEST(test_join_as_of_knowledge)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, true);
    int64_t id[] = {1, 1};
    int64_t ts[] = {10 * S, 20 * S};
    int64_t cr[] = {11 * S, 500 * S}; /* the row at 20 was backfilled at 500 */
    double a[] = {1, 2};
    ingest_rows(v, 2, id, ts, cr, a);
    int64_t eid[] = {1, 1, 1};
    int64_t ets[] = {30 * S, 600 * S, 10 * S};
    mlops_feature_table *e = entity_table(3, eid, ets, NULL, NULL);
    const char *refs[] = {"v:a"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, NULL));
    ck_assert(cell(out, "a", 0) == 2);
    mlops_feature_table_free(out);
    mlops_feature_join_options jo = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    jo.flags = MLOPS_JOIN_AS_OF_KNOWLEDGE;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, &jo));
    ck_assert(cell(out, "a", 0) == 1);
    ck_assert(cell(out, "a", 1) == 2);
    ck_assert(is_null(cell(out, "a", 2))); /* created 11 > t 10 */
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

/* Composite keys (int64 + string), and refs from two views in one join. */
START_TEST(test_join_composite)
{
    fx f;
    fx_open(&f, NULL);
    const char *keys[] = {"shop", "sku"};
    uint32_t kt[] = {MLOPS_FEATURE_INT64, MLOPS_FEATURE_STRING};
    mlops_feature_spec feats[] = {{.name = "price", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "emb", .type = MLOPS_FEATURE_FLOAT32_VECTOR, .dim = 2},
                                  {.name = "ok", .type = MLOPS_FEATURE_BOOL}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.key_types = kt;
    o.n_join_keys = 2;
    o.features = feats;
    o.n_features = 3;
    mlops_feature_view *v = NULL;
    tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "p", &o));
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t shop[] = {1, 1, 2};
    const char *sku[] = {"a", "b", "a"};
    int64_t ts[] = {10 * S, 10 * S, 10 * S};
    double price[] = {1.5, 2.5, 3.5};
    float emb[] = {1, 2, 3, 4, 5, 6};
    uint8_t okv[] = {1, 0, 1};
    tu_assert_ok(mlops_feature_table_add_column(t, "shop", MLOPS_FEATURE_INT64, 0, shop, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "sku", MLOPS_FEATURE_STRING, 0, sku, NULL, 3));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts, NULL, 3));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "price", MLOPS_FEATURE_FLOAT64, 0, price, NULL, 3));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "emb", MLOPS_FEATURE_FLOAT32_VECTOR, 2, emb, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "ok", MLOPS_FEATURE_BOOL, 0, okv, NULL, 3));
    tu_assert_ok(mlops_feature_view_ingest(NULL, v, t));
    mlops_feature_table_free(t);
    mlops_feature_view *w = make_view(&f, "w", 0, false);
    int64_t wid[] = {2};
    int64_t wts[] = {5 * S};
    double wa[] = {9};
    ingest_rows(w, 1, wid, wts, NULL, wa);
    /* entity table: shop, sku, id (for w), event_timestamp, label */
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t es[] = {2, 1, 1, 1};
    const char *ek[] = {"a", "b", "c", NULL};
    int64_t eid[] = {2, 2, 3, 2};
    int64_t ets[] = {20 * S, 20 * S, 20 * S, 20 * S};
    const char *label[] = {"y", "n", "y", "n"};
    tu_assert_ok(mlops_feature_table_add_column(t, "shop", MLOPS_FEATURE_INT64, 0, es, NULL, 4));
    tu_assert_ok(mlops_feature_table_add_column(t, "sku", MLOPS_FEATURE_STRING, 0, ek, NULL, 4));
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, eid, NULL, 4));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ets, NULL, 4));
    tu_assert_ok(mlops_feature_table_add_column(t, "label", MLOPS_FEATURE_STRING, 0, label, NULL, 4));
    const char *refs[] = {"p:price", "w:a", "p:emb", "p:ok"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, t, refs, 4, NULL));
    ck_assert(cell(out, "price", 0) == 3.5);
    ck_assert(cell(out, "price", 1) == 2.5);
    ck_assert(is_null(cell(out, "price", 2)));
    ck_assert(is_null(cell(out, "price", 3))); /* null part of the key */
    ck_assert(cell(out, "a", 0) == 9);
    ck_assert(is_null(cell(out, "a", 2)));
    size_t ec, oc;
    tu_assert_ok(mlops_feature_table_find(&ec, out, "emb"));
    ck_assert(((const float *)mlops_feature_table_data(out, ec))[0] == 5);
    ck_assert(((const float *)mlops_feature_table_data(out, ec))[3] == 4);
    tu_assert_ok(mlops_feature_table_find(&oc, out, "ok"));
    ck_assert_uint_eq(((const uint8_t *)mlops_feature_table_data(out, oc))[1], 0);
    ck_assert_uint_eq(((const uint8_t *)mlops_feature_table_data(out, oc))[0], 1);
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, out, 4), "label");
    mlops_feature_table_free(out);
    /* bad inputs: unknown refs, a ref without a feature, an old version */
    const char *bad1[] = {"p:nope"};
    tu_assert_st(mlops_feature_store_join(&out, f.fs, t, bad1, 1, NULL), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "nope"));
    const char *bad2[] = {"zz:price"};
    tu_assert_st(mlops_feature_store_join(&out, f.fs, t, bad2, 1, NULL), MLOPS_E_NOTFOUND);
    const char *bad3[] = {"price"};
    tu_assert_st(mlops_feature_store_join(&out, f.fs, t, bad3, 1, NULL), MLOPS_E_INVALID);
    const char *bad4[] = {"p@v9:price"};
    tu_assert_st(mlops_feature_store_join(&out, f.fs, t, bad4, 1, NULL), MLOPS_E_NOTFOUND);
    /* a feature named like an input column */
    const char *dup[] = {"w:a", "w:a"};
    tu_assert_st(mlops_feature_store_join(&out, f.fs, t, dup, 2, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(out);
    mlops_feature_table_free(t);
    mlops_feature_view_close(v);
    mlops_feature_view_close(w);
    fx_close(&f);
}
END_TEST

/* ---- randomized differential test against a naive O(n*m) reference ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* naive: the rule as written, over every feature row */
static long naive(size_t m, const int64_t *id, const int64_t *ts, const int64_t *cr, int64_t k,
                  int64_t t, int64_t ttl, bool know)
{
    long best = -1;
    for (size_t r = 0; r < m; r++) {
        if (id[r] != k || ts[r] > t || (ttl > 0 && ts[r] < t - ttl) || (know && cr[r] > t))
            continue;
        if (best < 0 || ts[r] > ts[best] || (ts[r] == ts[best] && cr[r] >= cr[best]))
            best = (long)r; /* >= : later ingested wins full ties */
    }
    return best;
}

static void differential(uint64_t seed, bool sparse_keys, bool know)
{
    rng_state = seed * 2654435761u + 1;
    fx f;
    fx_open(&f, NULL);
    int64_t ttl = (int64_t)(rnd() % 3) * 20 * S; /* 0 (unlimited), 20 s, 40 s */
    mlops_feature_view *v = make_view(&f, "v", ttl, true);
    size_t m = 1 + rnd() % 400, n = 1 + rnd() % 400, nk = 1 + rnd() % 30;
    int64_t *id = malloc(m * 8), *ts = malloc(m * 8), *cr = malloc(m * 8);
    double *a = malloc(m * 8);
    for (size_t i = 0; i < m; i++) {
        int64_t k = (int64_t)(rnd() % nk);
        id[i] = sparse_keys ? k * 1000000007LL - 5 : k;
        ts[i] = (int64_t)(rnd() % 100) * S; /* many equal timestamps */
        cr[i] = ts[i] + (int64_t)(rnd() % 3) * S;
        a[i] = (double)i;
    }
    /* ingest in up to three batches, so ingest order spans segments */
    size_t cut1 = rnd() % (m + 1), cut2 = cut1 + rnd() % (m - cut1 + 1);
    size_t cuts[] = {0, cut1, cut2, m};
    for (int b = 0; b < 3; b++)
        if (cuts[b + 1] > cuts[b])
            ingest_rows(v, cuts[b + 1] - cuts[b], id + cuts[b], ts + cuts[b], cr + cuts[b],
                        a + cuts[b]);
    int64_t *eid = malloc(n * 8), *ets = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)(rnd() % (nk + 2));
        eid[i] = sparse_keys ? k * 1000000007LL - 5 : k;
        ets[i] = (int64_t)(rnd() % 110) * S - 5 * S;
        if (rnd() % 5 == 0 && m > 0) { /* edges: exactly on a row, and at its TTL bound */
            size_t r = rnd() % m;
            eid[i] = id[r];
            ets[i] = ts[r] + (rnd() % 2 ? ttl : 0) + (rnd() % 4 == 0 ? 1 : 0);
        }
    }
    mlops_feature_table *e = entity_table(n, eid, ets, NULL, NULL);
    const char *refs[] = {"v:a"};
    mlops_feature_table *out = NULL;
    mlops_feature_join_options jo = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    jo.flags = MLOPS_JOIN_TIMESTAMPS | (know ? MLOPS_JOIN_AS_OF_KNOWLEDGE : 0);
    jo.threads = 1 + (uint32_t)(seed % 3);
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, &jo));
    ck_assert_uint_eq(mlops_feature_table_rows(out), n);
    for (size_t i = 0; i < n; i++) {
        long want = naive(m, id, ts, cr, eid[i], ets[i], ttl, know);
        double got = cell(out, "a", i);
        if (want < 0)
            ck_assert_msg(is_null(got), "seed %llu row %zu: got %g, want null",
                          (unsigned long long)seed, i, got);
        else
            ck_assert_msg(got == (double)want, "seed %llu row %zu: got %g, want %ld",
                          (unsigned long long)seed, i, got, want);
        /* the leakage property: nothing from after the row's timestamp */
        if (!is_null(got)) {
            ck_assert(cell(out, "v__event_timestamp", i) <= (double)ets[i]);
            if (know)
                ck_assert(cell(out, "v__created_timestamp", i) <= (double)ets[i]);
        }
    }
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    mlops_feature_view_close(v);
    fx_close(&f);
    free(id);
    free(ts);
    free(cr);
    free(a);
    free(eid);
    free(ets);
}

START_TEST(test_join_random)
{
    for (uint64_t seed = 1; seed <= 24; seed++)
        differential(seed * 100 + (uint64_t)_i, seed % 2 == 0, seed % 3 == 0);
}
END_TEST

/* The same, many more seeds (suite 'slow'). */
START_TEST(test_join_random_long)
{
    for (uint64_t seed = 1; seed <= 400; seed++)
        differential(seed * 7919 + (uint64_t)_i, seed % 2 == 0, seed % 3 == 0);
}
END_TEST

/* A larger case through the threaded path and string keys. */
START_TEST(test_join_large_threads)
{
    fx f;
    fx_open(&f, NULL);
    const char *keys[] = {"user"};
    uint32_t kt[] = {MLOPS_FEATURE_STRING};
    mlops_feature_spec feats[] = {{.name = "x", .type = MLOPS_FEATURE_INT64}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.key_types = kt;
    o.n_join_keys = 1;
    o.features = feats;
    o.n_features = 1;
    o.ttl_us = 50 * S;
    mlops_feature_view *v = NULL;
    tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "u", &o));
    size_t m = 300000, n = 120000;
    const char **user = malloc(m * sizeof(char *));
    char *names = malloc(m * 16);
    int64_t *ts = malloc(m * 8), *x = malloc(m * 8);
    rng_state = 99;
    for (size_t i = 0; i < m; i++) {
        snprintf(names + i * 16, 16, "u%llu", (unsigned long long)(rnd() % 20000));
        user[i] = names + i * 16;
        ts[i] = (int64_t)(rnd() % 1000) * S;
        x[i] = (int64_t)i;
    }
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t, "user", MLOPS_FEATURE_STRING, 0, user, NULL, m));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts, NULL, m));
    tu_assert_ok(mlops_feature_table_add_column(t, "x", MLOPS_FEATURE_INT64, 0, x, NULL, m));
    tu_assert_ok(mlops_feature_view_ingest(NULL, v, t));
    mlops_feature_table_free(t);
    /* entity rows reuse feature rows' keys and times, checked against the
     * per-key maximum computed here */
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    const char **eu = malloc(n * sizeof(char *));
    int64_t *et = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        size_t r = rnd() % m;
        eu[i] = user[r];
        et[i] = ts[r] + (int64_t)(rnd() % 3) * S;
    }
    tu_assert_ok(mlops_feature_table_add_column(t, "user", MLOPS_FEATURE_STRING, 0, eu, NULL, n));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, et, NULL, n));
    const char *refs[] = {"u:x"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, t, refs, 1, NULL));
    for (size_t i = 0; i < n; i += 97) {
        long best = -1;
        for (size_t r = 0; r < m; r++)
            if (strcmp(user[r], eu[i]) == 0 && ts[r] <= et[i] && ts[r] >= et[i] - 50 * S &&
                (best < 0 || ts[r] >= ts[best]))
                best = (long)r;
        ck_assert(best >= 0);
        ck_assert_int_eq((int64_t)cell(out, "x", i), best);
    }
    mlops_feature_table_free(out);
    mlops_feature_table_free(t);
    free(eu);
    free(et);
    free(user);
    free(names);
    free(ts);
    free(x);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

/* ---- CSV ---- */

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "wb");
    fputs(text, fp);
    fclose(fp);
    return p;
}

static size_t count_keys(mlops_store *s)
{
    size_t n = 0;
    mlops_store_iter *it = NULL;
    tu_assert_ok(mlops_store_iter_open(&it, s, NULL, 0, NULL, 0));
    const uint8_t *k, *v;
    size_t kl, vl;
    while (mlops_store_iter_next(it, &k, &kl, &v, &vl) == MLOPS_OK)
        n++;
    mlops_store_iter_free(it);
    return n;
}

START_TEST(test_csv)
{
    char *dir = tu_tempdir();
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, false);
    /* RFC 4180: quotes, embedded commas, quotes and newlines; CRLF; RFC 3339
     * and fractional epoch timestamps; an extra column is ignored */
    char *p = write_file(dir, "ok.csv",
                         "id,ts,a,s,extra\r\n"
                         "1,100,1.5,\"hello, world\",z\r\n"
                         "1,2023-11-14T22:13:20Z,2.5,\"say \"\"hi\"\"\",z\n"
                         "2,100.25,,\"two\nlines\",\n"
                         "2,2023-11-14T23:13:20+01:00,4,\"\",z\n");
    uint64_t rows = 0;
    tu_assert_ok(mlops_feature_view_ingest_csv(&rows, v, p, NULL, NULL));
    ck_assert_uint_eq(rows, 4);
    free(p);
    p = write_file(dir, "e.csv", "id,event_timestamp,label\n1,1700000000,x\n2,101,y\n1,150,z\n");
    mlops_feature_table *e = NULL;
    tu_assert_ok(mlops_feature_table_read_csv(&e, NULL, p));
    free(p);
    const char *refs[] = {"v:a", "v:s"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 2, NULL));
    ck_assert(cell(out, "a", 0) == 2.5); /* 2023-11-14T22:13:20Z is 1700000000 */
    ck_assert(is_null(cell(out, "a", 1))); /* the row at 100.25 has a null a */
    ck_assert(cell(out, "a", 2) == 1.5);
    size_t sc;
    tu_assert_ok(mlops_feature_table_find(&sc, out, "s"));
    ck_assert_str_eq(mlops_feature_table_string(NULL, out, sc, 0), "say \"hi\"");
    ck_assert_str_eq(mlops_feature_table_string(NULL, out, sc, 1), "two\nlines");
    ck_assert_str_eq(mlops_feature_table_string(NULL, out, sc, 2), "hello, world");
    /* write and read back: the same cells */
    char *op = malloc(strlen(dir) + 10);
    sprintf(op, "%s/out.csv", dir);
    tu_assert_ok(mlops_feature_table_write_csv(out, op));
    mlops_feature_table *back = NULL;
    tu_assert_ok(mlops_feature_table_read_csv(&back, NULL, op));
    ck_assert_uint_eq(mlops_feature_table_rows(back), 3);
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 4, 1), "two\nlines");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 3, 0), "2.5");
    ck_assert_ptr_null(mlops_feature_table_string(NULL, back, 3, 1));
    mlops_feature_table_free(back);
    /* a FIFO (or /dev/null) is written in place, never replaced by a file */
    sprintf(op, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(op, 0600), 0);
    int rfd = open(op, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rfd, 0);
    tu_assert_ok(mlops_feature_table_write_csv(out, op));
    struct stat sb;
    ck_assert_int_eq(stat(op, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    char got[4096];
    ssize_t gn = read(rfd, got, sizeof(got) - 1);
    ck_assert_int_gt(gn, 0);
    got[gn] = 0;
    ck_assert_ptr_nonnull(strstr(got, "hello, world"));
    close(rfd);
    free(op);
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);

    /* bad inputs: the message names the line and the column; nothing is
     * ingested (I7: the store holds the same keys) */
    size_t before = count_keys(f.store);
    struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"id,ts,a,s\n1,100,1,x\n1,100,abc,x\n", "line 3, column 3"},  /* V: type mismatch */
        {"id,ts,a,s\n1,100,1,x\n1,yesterday,1,x\n", "line 3, column 2"}, /* bad timestamp */
        {"id,ts,a,s\n1,100,1,x\n1,2023-02-30T00:00:00Z,1,x\n", "line 3"}, /* no such date */
        {"id,ts,a,s\n1,100,1\n", "line 2"},                              /* short row */
        {"id,ts,a,s\n1,100,1,x,y\n", "line 2"},                          /* long row */
        {"id,ts,a,s\n1,100,1,\"open\n", "line 2, column 4"},             /* unclosed quote */
        {"id,ts,a,s\n1,100,1,ab\"c\n", "line 2, column 4"},              /* stray quote */
        {"id,ts,a,s\n1,100,1,\"x\"y\n", "line 2, column 4"},             /* text after quote */
        {"id,ts,a,s\n,100,1,x\n", "join key"},                           /* null key */
        {"id,ts,a\n1,100,1\n", "no column 's'"},                         /* missing column */
        {"id,ts,a,s\n1,100,1,\xff\n", "UTF-8"},                          /* N: invalid UTF-8 */
        {"", "empty"},
        {"id,id,a,s\n", "twice"},
        {"id,ts,a,s\n99999999999999999999,100,1,x\n", "line 2, column 1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = write_file(dir, "bad.csv", bad[i].text);
        mlops_status st = mlops_feature_view_ingest_csv(&rows, v, p, NULL, NULL);
        ck_assert_msg(st == MLOPS_E_INVALID, "case %zu: %s", i, mlops_status_name(st));
        ck_assert_msg(strstr(mlops_error_message(), bad[i].want) != NULL, "case %zu: '%s'", i,
                      mlops_error_message());
        ck_assert_uint_eq(rows, 0);
        free(p);
    }
    ck_assert_uint_eq(count_keys(f.store), before);
    tu_assert_st(mlops_feature_view_ingest_csv(&rows, v, "/nonexistent/x.csv", NULL, NULL),
                 MLOPS_E_NOTFOUND);
    /* an entity file whose timestamp does not parse */
    p = write_file(dir, "e2.csv", "id,event_timestamp\n1,100\n1,noon\n");
    tu_assert_ok(mlops_feature_table_read_csv(&e, NULL, p));
    tu_assert_st(mlops_feature_store_join(&out, f.fs, e, refs, 1, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "line 3, column 2"));
    mlops_feature_table_free(e);
    free(p);
    mlops_feature_view_close(v);
    fx_close(&f);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_parse_ts)
{
    int64_t us;
    ck_assert(mlops__parse_ts("1700000000", 10, &us) && us == 1700000000 * S);
    ck_assert(mlops__parse_ts("1700000000.5", 12, &us) && us == 1700000000 * S + 500000);
    ck_assert(mlops__parse_ts("-1.5", 4, &us) && us == -1500000);
    ck_assert(mlops__parse_ts("1970-01-01T00:00:00Z", 20, &us) && us == 0);
    ck_assert(mlops__parse_ts("2000-02-29T12:00:00.123456Z", 27, &us) &&
              us == 951825600 * S + 123456);
    ck_assert(mlops__parse_ts("1970-01-01T01:00:00+01:00", 25, &us) && us == 0);
    ck_assert(mlops__parse_ts("1970-01-01t00:00:00z", 20, &us) && us == 0);
    ck_assert(!mlops__parse_ts("1970-01-01T00:00:00", 19, &us)); /* no offset */
    ck_assert(!mlops__parse_ts("2001-02-29T00:00:00Z", 20, &us));
    ck_assert(!mlops__parse_ts("1e9", 3, &us));
    ck_assert(!mlops__parse_ts("", 0, &us));
    ck_assert(!mlops__parse_ts("12a", 3, &us));
    ck_assert(!mlops__parse_ts("99999999999999999", 17, &us)); /* overflows microseconds */
}
END_TEST

/* A definition change between opening a view and ingesting: nothing lands. */
START_TEST(test_definition_change_mid_ingest)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, false);
    mlops_feature_view *v2 = make_view(&f, "v", 5 * S, false); /* now v2 */
    ck_assert_uint_eq(mlops_feature_view_version(v2), 2);
    size_t before = count_keys(f.store);
    int64_t id[] = {1};
    int64_t ts[] = {1};
    double a[] = {1};
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL, 1));
    tu_assert_ok(mlops_feature_table_add_column(t, "ts", MLOPS_FEATURE_INT64, 0, ts, NULL, 1));
    tu_assert_ok(mlops_feature_table_add_column(t, "a", MLOPS_FEATURE_FLOAT64, 0, a, NULL, 1));
    const char *s[] = {"q"};
    tu_assert_ok(mlops_feature_table_add_column(t, "s", MLOPS_FEATURE_STRING, 0, s, NULL, 1));
    tu_assert_st(mlops_feature_view_ingest(NULL, v, t), MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "changed during the ingest"));
    ck_assert_uint_eq(count_keys(f.store), before);
    tu_assert_ok(mlops_feature_view_ingest(NULL, v2, t));
    /* type mismatch from C: a string where a float64 is wanted is parsed,
     * but a float64 column for an int64 key is refused */
    mlops_feature_table *t2 = NULL;
    tu_assert_ok(mlops_feature_table_create(&t2, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t2, "id", MLOPS_FEATURE_FLOAT64, 0, a, NULL, 1));
    tu_assert_ok(mlops_feature_table_add_column(t2, "ts", MLOPS_FEATURE_INT64, 0, ts, NULL, 1));
    tu_assert_ok(mlops_feature_table_add_column(t2, "a", MLOPS_FEATURE_FLOAT64, 0, a, NULL, 1));
    tu_assert_ok(mlops_feature_table_add_column(t2, "s", MLOPS_FEATURE_STRING, 0, s, NULL, 1));
    tu_assert_st(mlops_feature_view_ingest(NULL, v2, t2), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "'id' is float64"));
    mlops_feature_table_free(t2);
    mlops_feature_table_free(t);
    mlops_feature_view_close(v);
    mlops_feature_view_close(v2);
    fx_close(&f);
}
END_TEST

START_TEST(test_table_bad_input)
{
    mlops_feature_table *t = NULL;
    tu_assert_st(mlops_feature_table_create(NULL, NULL), MLOPS_E_INVALID);
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t x[] = {1, 2};
    tu_assert_st(mlops_feature_table_add_column(t, "", MLOPS_FEATURE_INT64, 0, x, NULL, 2),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_add_column(t, "x", 42, 0, x, NULL, 2), MLOPS_E_INVALID);
    tu_assert_ok(mlops_feature_table_add_column(t, "x", MLOPS_FEATURE_INT64, 0, x, NULL, 2));
    tu_assert_st(mlops_feature_table_add_column(t, "x", MLOPS_FEATURE_INT64, 0, x, NULL, 2),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_add_column(t, "y", MLOPS_FEATURE_INT64, 0, x, NULL, 1),
                 MLOPS_E_INVALID);
    uint8_t b[] = {0, 7};
    tu_assert_st(mlops_feature_table_add_column(t, "b", MLOPS_FEATURE_BOOL, 0, b, NULL, 2),
                 MLOPS_E_INVALID);
    const char *s[] = {"ok", "\xc3\x28"};
    tu_assert_st(mlops_feature_table_add_column(t, "s", MLOPS_FEATURE_STRING, 0, s, NULL, 2),
                 MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_feature_table_columns(t), 1);
    ck_assert_ptr_null(mlops_feature_table_column(NULL, NULL, t, 5));
    ck_assert_ptr_null(mlops_feature_table_data(t, 5));
    mlops_feature_table_free(t);
    mlops_feature_table_free(NULL);
}
END_TEST

/* ---- the online store ---- */

static mlops_feature_value get1(mlops_feature_online *on, const char *ref, const char *key)
{
    const char *refs[] = {ref};
    const char *kn[] = {"id"};
    const char *kv[] = {key};
    mlops_feature_value out;
    tu_assert_ok(mlops_feature_online_get(&out, on, refs, 1, kn, 1, kv, 1));
    return out;
}

START_TEST(test_online)
{
    tu_clock clk = {1000 * S * 1000};
    mlops_env *env = tu_env_new(NULL, &clk);
    fx f;
    fx_open(&f, env);
    mlops_feature_view *v = make_view(&f, "v", 100 * S, true);
    int64_t id[] = {1, 1, 2, 3};
    int64_t ts[] = {900 * S, 950 * S, 990 * S, 100 * S};
    double a[] = {1, 2, 3, 4};
    ingest_rows(v, 4, id, ts, ts, a);
    mlops_store *online = NULL;
    tu_assert_ok(mlops_store_open(&online, env, "mem:", NULL));
    mlops_feature_online *on = NULL;
    tu_assert_ok(mlops_feature_online_open(&on, f.fs, online));
    /* never materialized, TTL 100 s: incremental starts at now - ttl = 900 */
    uint64_t written = 0;
    tu_assert_ok(mlops_feature_online_materialize_incremental(&written, on, "v", 1000 * S));
    ck_assert_uint_eq(written, 2); /* entity 3's row at 100 is outside the window */
    mlops_feature_value o = get1(on, "v:a", "1");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_PRESENT);
    ck_assert(o.f64 == 2);
    ck_assert_int_eq(o.event_us, 950 * S);
    o = get1(on, "v:s", "2");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_PRESENT);
    ck_assert_str_eq(o.str, "x");
    o = get1(on, "v:a", "3");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_NOT_FOUND);
    /* TTL is enforced on reads */
    clk.now_ns = 1055 * S * 1000;
    o = get1(on, "v:a", "1");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_OUTSIDE_MAX_AGE);
    o = get1(on, "v:a", "2");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_PRESENT);
    clk.now_ns = 1000 * S * 1000;
    /* push: a newer row replaces, an older one is skipped (monotonic) */
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t pid[] = {1, 2};
    int64_t pts[] = {960 * S, 980 * S};
    double pa[] = {10, 20};
    uint8_t pv[] = {0, 1};
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, pid, NULL, 2));
    tu_assert_ok(mlops_feature_table_add_column(t, "ts", MLOPS_FEATURE_INT64, 0, pts, NULL, 2));
    tu_assert_ok(mlops_feature_table_add_column(t, "a", MLOPS_FEATURE_FLOAT64, 0, pa, pv, 2));
    tu_assert_ok(mlops_feature_online_push(&written, on, "v", t));
    ck_assert_uint_eq(written, 1);
    mlops_feature_table_free(t);
    o = get1(on, "v:a", "1");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_NULL_VALUE);
    ck_assert_int_eq(o.event_us, 960 * S);
    o = get1(on, "v:a", "2");
    ck_assert(o.f64 == 3);
    /* a replayed materialization does not roll entity 1 back */
    tu_assert_ok(mlops_feature_online_materialize(&written, on, "v", 0, 1000 * S));
    o = get1(on, "v:a", "1");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_NULL_VALUE);
    ck_assert_int_eq(o.event_us, 960 * S);
    /* bad reads */
    const char *refs[] = {"v:nope"};
    const char *kn[] = {"id"};
    const char *kv[] = {"1"};
    tu_assert_st(mlops_feature_online_get(&o, on, refs, 1, kn, 1, kv, 1), MLOPS_E_NOTFOUND);
    refs[0] = "v:a";
    kv[0] = "one";
    tu_assert_st(mlops_feature_online_get(&o, on, refs, 1, kn, 1, kv, 1), MLOPS_E_INVALID);
    kn[0] = "user";
    kv[0] = "1";
    tu_assert_st(mlops_feature_online_get(&o, on, refs, 1, kn, 1, kv, 1), MLOPS_E_INVALID);
    mlops_feature_online_close(on);
    /* a new handle loads the same values from the online store */
    tu_assert_ok(mlops_feature_online_open(&on, f.fs, online));
    o = get1(on, "v:a", "2");
    ck_assert(o.f64 == 3);
    o = get1(on, "v:a", "1");
    ck_assert_uint_eq(o.status, MLOPS_FEATURE_NULL_VALUE);
    /* incremental continues from the recorded end */
    tu_assert_st(mlops_feature_online_materialize_incremental(&written, on, "v", 10 * S),
                 MLOPS_E_INVALID);
    mlops_feature_online_close(on);
    mlops_store_close(online);
    mlops_feature_view_close(v);
    /* no TTL and never materialized: incremental says so */
    mlops_feature_view *w = make_view(&f, "w", 0, false);
    tu_assert_ok(mlops_store_open(&online, env, "mem:", NULL));
    tu_assert_ok(mlops_feature_online_open(&on, f.fs, online));
    tu_assert_st(mlops_feature_online_materialize_incremental(&written, on, "w", 10 * S),
                 MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "never materialized"));
    mlops_feature_online_close(on);
    mlops_store_close(online);
    mlops_feature_view_close(w);
    fx_close(&f);
    mlops_env_free(env);
}
END_TEST

/* ---- transformations: the same code in joins and online reads ---- */

static int fn_sum(double *out, const double *in, size_t n, void *payload)
{
    (void)payload;
    if (in[0] < 0)
        return 1;
    if (in[0] > 1e9)
        return 7;
    *out = 0;
    for (size_t i = 0; i < n; i++)
        *out += in[i];
    return 0;
}

START_TEST(test_transforms)
{
    fx f;
    fx_open(&f, NULL);
    const char *keys[] = {"id"};
    double bounds[] = {0, 10, 100};
    double ms[] = {5, 2};
    mlops_feature_spec feats[] = {
        {.name = "x", .type = MLOPS_FEATURE_FLOAT64},
        {.name = "y", .type = MLOPS_FEATURE_INT64},
        {.name = "lx", .transform = MLOPS_TRANSFORM_LOG1P, .inputs = "x"},
        {.name = "r", .transform = MLOPS_TRANSFORM_RATIO, .inputs = "x,y"},
        {.name = "b", .transform = MLOPS_TRANSFORM_BUCKETIZE, .inputs = "x", .params = bounds,
         .n_params = 3},
        {.name = "z", .transform = MLOPS_TRANSFORM_STANDARDIZE, .inputs = "x", .params = ms,
         .n_params = 2},
        {.name = "f", .transform = MLOPS_TRANSFORM_FUNCTION, .inputs = "x,y", .function = "sum"},
    };
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = feats;
    o.n_features = 7;
    mlops_feature_view *v = NULL;
    tu_assert_ok(mlops_feature_view_apply(&v, f.fs, "t", &o));
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t id[] = {1, 2, 3};
    int64_t ts[] = {S, S, S};
    double x[] = {9, -3, 2e9};
    int64_t y[] = {3, 0, 1};
    tu_assert_ok(mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL, 3));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "x", MLOPS_FEATURE_FLOAT64, 0, x, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "y", MLOPS_FEATURE_INT64, 0, y, NULL, 3));
    tu_assert_ok(mlops_feature_view_ingest(NULL, v, t));
    const char *refs[] = {"t:lx", "t:r", "t:b", "t:z", "t:f"};
    mlops_feature_table *out = NULL;
    /* the function is not registered yet */
    mlops_feature_table *e = entity_table(2, id, ts, NULL, NULL);
    tu_assert_st(mlops_feature_store_join(&out, f.fs, e, refs, 5, NULL), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "'sum'"));
    tu_assert_ok(mlops_feature_store_register(f.fs, "sum", fn_sum, NULL));
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 5, NULL));
    ck_assert(cell(out, "lx", 0) == log1p(9.0));
    ck_assert(is_null(cell(out, "lx", 1)));
    ck_assert(cell(out, "r", 0) == 3);
    ck_assert(is_null(cell(out, "r", 1))); /* divide by 0 */
    ck_assert(cell(out, "b", 0) == 1);
    ck_assert(cell(out, "b", 1) == 0);
    ck_assert(cell(out, "z", 0) == 2);
    ck_assert(cell(out, "f", 0) == 12);
    ck_assert(is_null(cell(out, "f", 1)));
    /* online reads compute the same values */
    mlops_store *online = NULL;
    tu_assert_ok(mlops_store_open(&online, NULL, "mem:", NULL));
    mlops_feature_online *on = NULL;
    tu_assert_ok(mlops_feature_online_open(&on, f.fs, online));
    tu_assert_ok(mlops_feature_online_materialize(NULL, on, "t", 0, 10 * S));
    const char *kn[] = {"id"};
    const char *kv[] = {"1", "2"};
    mlops_feature_value vals[10];
    tu_assert_ok(mlops_feature_online_get(vals, on, refs, 5, kn, 1, kv, 2));
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 5; j++) {
            double jv = cell(out, refs[j] + 2, i);
            mlops_feature_value *ov = &vals[i * 5 + j];
            if (is_null(jv))
                ck_assert_uint_eq(ov->status, MLOPS_FEATURE_NULL_VALUE);
            else {
                ck_assert_uint_eq(ov->status, MLOPS_FEATURE_PRESENT);
                double got = ov->type == MLOPS_FEATURE_INT64 ? (double)ov->i64 : ov->f64;
                ck_assert_msg(got == jv, "%s row %zu: online %g, join %g", refs[j], i, got, jv);
            }
        }
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    /* a function that stops the call */
    int64_t id3[] = {3};
    e = entity_table(1, id3, ts, NULL, NULL);
    tu_assert_st(mlops_feature_store_join(&out, f.fs, e, refs + 4, 1, NULL), MLOPS_E_CALLBACK);
    const char *kv3[] = {"3"};
    tu_assert_st(mlops_feature_online_get(vals, on, refs + 4, 1, kn, 1, kv3, 1), MLOPS_E_CALLBACK);
    mlops_feature_table_free(e);
    /* bad definitions of on-demand features */
    feats[2].inputs = "s";
    tu_assert_st(mlops_feature_view_apply(NULL, f.fs, "t2", &o), MLOPS_E_INVALID);
    feats[2].inputs = "x";
    feats[3].inputs = "x";
    tu_assert_st(mlops_feature_view_apply(NULL, f.fs, "t2", &o), MLOPS_E_INVALID);
    feats[3].inputs = "x,y";
    bounds[1] = -1;
    tu_assert_st(mlops_feature_view_apply(NULL, f.fs, "t2", &o), MLOPS_E_INVALID);
    mlops_feature_online_close(on);
    mlops_store_close(online);
    mlops_feature_table_free(t);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

START_TEST(test_latest)
{
    fx f;
    fx_open(&f, NULL);
    mlops_feature_view *v = make_view(&f, "v", 0, true);
    int64_t id[] = {1, 1, 2, 3};
    int64_t ts[] = {10 * S, 20 * S, 15 * S, 50 * S};
    double a[] = {1, 2, 3, 4};
    ingest_rows(v, 4, id, ts, ts, a);
    const char *refs[] = {"v:a"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_latest(&out, f.fs, refs, 1, 12 * S, 30 * S));
    ck_assert_uint_eq(mlops_feature_table_rows(out), 2);
    ck_assert(cell(out, "a", 0) == 2);
    ck_assert(cell(out, "a", 1) == 3);
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, out, 1), "ts");
    mlops_feature_table_free(out);
    tu_assert_st(mlops_feature_store_latest(&out, f.fs, refs, 1, 30 * S, 12 * S), MLOPS_E_INVALID);
    mlops_feature_view_close(v);
    fx_close(&f);
}
END_TEST

/* The offline data persists in a file store and reads back after a reopen. */
START_TEST(test_file_store_roundtrip)
{
    char *dir = tu_tempdir();
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
    if (st == MLOPS_E_UNSUPPORTED) { /* the file backend is not in this build */
        tu_rmtree(dir);
        free(dir);
        return;
    }
    tu_assert_ok(st);
    fx f = {s, NULL};
    tu_assert_ok(mlops_feature_store_open(&f.fs, s));
    mlops_feature_view *v = make_view(&f, "v", 0, false);
    int64_t id[] = {1};
    int64_t ts[] = {S};
    double a[] = {1};
    ingest_rows(v, 1, id, ts, NULL, a);
    mlops_feature_view_close(v);
    fx_close(&f);
    /* reopen: the data persisted */
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    f.store = s;
    tu_assert_ok(mlops_feature_store_open(&f.fs, s));
    mlops_feature_table *e = entity_table(1, id, ts, NULL, NULL);
    const char *refs[] = {"v:a"};
    mlops_feature_table *out = NULL;
    tu_assert_ok(mlops_feature_store_join(&out, f.fs, e, refs, 1, NULL));
    ck_assert(cell(out, "a", 0) == 1);
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    fx_close(&f);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* FG6: every allocation failing in turn; no crash, no leak. */
START_TEST(test_alloc_failures)
{
    for (long k = 1;; k++) {
        tu_alloc al = {0};
        mlops_env *env = tu_env_new(&al, NULL);
        al.fail_at = k;
        mlops_store *s = NULL;
        mlops_feature_store *fs = NULL;
        mlops_feature_view *v = NULL;
        mlops_feature_table *t = NULL, *out = NULL;
        mlops_store *online = NULL;
        mlops_feature_online *on = NULL;
        mlops_status st = mlops_store_open(&s, env, "mem:", NULL);
        if (st == MLOPS_OK)
            st = mlops_feature_store_open(&fs, s);
        const char *keys[] = {"id"};
        mlops_feature_spec feats[] = {{.name = "a", .type = MLOPS_FEATURE_FLOAT64},
                                      {.name = "s", .type = MLOPS_FEATURE_STRING}};
        mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
        o.join_keys = keys;
        o.n_join_keys = 1;
        o.features = feats;
        o.n_features = 2;
        if (st == MLOPS_OK)
            st = mlops_feature_view_apply(&v, fs, "v", &o);
        int64_t id[] = {1, 2, 1};
        int64_t ts[] = {S, 2 * S, 3 * S};
        double a[] = {1, 2, 3};
        const char *ss[] = {"p", NULL, "q"};
        if (st == MLOPS_OK)
            st = mlops_feature_table_create(&t, env);
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL, 3);
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                                NULL, 3);
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(t, "a", MLOPS_FEATURE_FLOAT64, 0, a, NULL, 3);
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(t, "s", MLOPS_FEATURE_STRING, 0, ss, NULL, 3);
        if (st == MLOPS_OK)
            st = mlops_feature_view_ingest(NULL, v, t);
        const char *refs[] = {"v:a", "v:s"};
        mlops_feature_join_options jo = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
        jo.flags = MLOPS_JOIN_FULL_NAMES;
        if (st == MLOPS_OK)
            st = mlops_feature_store_join(&out, fs, t, refs, 2, &jo);
        if (st == MLOPS_OK)
            st = mlops_store_open(&online, env, "mem:", NULL);
        if (st == MLOPS_OK)
            st = mlops_feature_online_open(&on, fs, online);
        if (st == MLOPS_OK)
            st = mlops_feature_online_materialize(NULL, on, "v", 0, 10 * S);
        mlops_feature_value vals[2];
        const char *kn[] = {"id"};
        const char *kv[] = {"1"};
        if (st == MLOPS_OK)
            st = mlops_feature_online_get(vals, on, refs, 2, kn, 1, kv, 1);
        ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_NOMEM, "k=%ld: %s: %s", k,
                      mlops_status_name(st), mlops_error_message());
        mlops_feature_online_close(on);
        mlops_store_close(online);
        mlops_feature_table_free(out);
        mlops_feature_table_free(t);
        mlops_feature_view_close(v);
        mlops_feature_store_close(fs);
        mlops_store_close(s);
        mlops_env_free(env);
        ck_assert_msg(al.live == 0, "k=%ld: %ld blocks leaked", k, al.live);
        if (al.failures == 0)
            break;
    }
}
END_TEST

static Suite *suite(bool slow)
{
    Suite *s = suite_create("feature");
    TCase *tc = tcase_create("feature");
    tcase_set_timeout(tc, 600);
    if (slow) {
        tcase_add_loop_test(tc, test_join_random_long, 0, 4);
        tcase_add_test(tc, test_join_large_threads);
        tcase_add_test(tc, test_alloc_failures);
        suite_add_tcase(s, tc);
        return s;
    }
    tcase_add_test(tc, test_options_abi);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_bad_definitions);
    tcase_add_test(tc, test_join_added_key_is_null);
    tcase_add_test(tc, test_join_rule);
    tcase_add_test(tc, test_join_ingest_order);
    tcase_add_test(tc, test_join_as_of_knowledge);
    tcase_add_test(tc, test_join_composite);
    tcase_add_loop_test(tc, test_join_random, 0, 3);
    tcase_add_test(tc, test_csv);
    tcase_add_test(tc, test_parse_ts);
    tcase_add_test(tc, test_definition_change_mid_ingest);
    tcase_add_test(tc, test_table_bad_input);
    tcase_add_test(tc, test_online);
    tcase_add_test(tc, test_transforms);
    tcase_add_test(tc, test_latest);
    tcase_add_test(tc, test_file_store_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_run(suite(argc > 1 && strcmp(argv[1], "slow") == 0));
}

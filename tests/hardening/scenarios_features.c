/* SPDX-License-Identifier: MIT */
/* The features scenario: ingest, join, materialize, online reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlops/feature.h"
#include "scenarios.h"

#define VIEW "driver_stats"
#define BASE_S 1700000000LL /* batch b, row r has event time BASE_S + b * 3600 + r s */

enum { H_FS, H_VIEW, H_ONLINE };

static const char *const cities[] = {"Lisbon", "Porto", "Faro"};
static const char *const refs[] = {VIEW ":conv_rate", VIEW ":trips", VIEW ":city"};

static size_t feat_rows(int scale)
{
    return scale ? 1000 : 3;
}

static int64_t ev_us(int b, size_t r)
{
    return (BASE_S + b * 3600LL + (int64_t)r) * 1000000LL;
}

/* The value of row r of batch b; batch 1 row 0 has a null conv_rate. */
static double conv(int b, size_t r)
{
    return 0.25 * b + (double)r / 1024.0;
}

static int64_t trips(int b, size_t r)
{
    return b * 100 + (int64_t)r;
}

static const char *city(int b, size_t r)
{
    return cities[(r + (size_t)b) % 3];
}

static bool conv_null(int b, size_t r)
{
    return b == 1 && r == 0;
}

static size_t feat_n(int scale)
{
    (void)scale;
    return 12;
}

static void feat_release(sweep_ctx *c)
{
    mlops_feature_online_close(c->h[H_ONLINE]);
    mlops_feature_view_close(c->h[H_VIEW]);
    mlops_feature_store_close(c->h[H_FS]);
}

static mlops_status open_view(sweep_ctx *c)
{
    mlops_status st = MLOPS_OK;
    if (c->h[H_FS] == NULL) {
        mlops_feature_store *fs = NULL;
        st = mlops_feature_store_open(&fs, c->store);
        c->h[H_FS] = fs;
    }
    if (st != MLOPS_OK)
        return st;
    static const mlops_feature_spec specs[] = {
        {"conv_rate", MLOPS_FEATURE_FLOAT64, 0, MLOPS_TRANSFORM_NONE, 0, NULL, NULL, 0, NULL},
        {"trips", MLOPS_FEATURE_INT64, 0, MLOPS_TRANSFORM_NONE, 0, NULL, NULL, 0, NULL},
        {"city", MLOPS_FEATURE_STRING, 0, MLOPS_TRANSFORM_NONE, 0, NULL, NULL, 0, NULL},
    };
    static const char *const keys[] = {"driver_id"};
    mlops_feature_view_options o;
    mlops_feature_view_options_init(&o, MLOPS_FEATURE_VIEW_OPTIONS_VERSION);
    o.entity = "driver";
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = specs;
    o.n_features = 3;
    o.description = "hourly driver statistics";
    mlops_feature_view *v = NULL;
    st = mlops_feature_view_apply(&v, c->h[H_FS], VIEW, &o);
    if (st == MLOPS_OK) {
        mlops_feature_view_close(c->h[H_VIEW]);
        c->h[H_VIEW] = v;
    }
    return st;
}

/* Batch b as C columns. */
static mlops_status ingest_columns(sweep_ctx *c, int b)
{
    size_t n = feat_rows(c->scale);
    int64_t *id = malloc(n * sizeof(*id)), *ts = malloc(n * sizeof(*ts)),
            *tr = malloc(n * sizeof(*tr));
    double *cv = malloc(n * sizeof(*cv));
    uint8_t *cvalid = malloc(n);
    const char **ct = malloc(n * sizeof(*ct));
    ck_assert(id && ts && tr && cv && cvalid && ct);
    for (size_t r = 0; r < n; r++) {
        id[r] = 1000 + (int64_t)r;
        ts[r] = ev_us(b, r);
        cv[r] = conv(b, r);
        cvalid[r] = !conv_null(b, r);
        tr[r] = trips(b, r);
        ct[r] = city(b, r);
    }
    mlops_feature_table *t = NULL;
    mlops_status st = mlops_feature_table_create(&t, c->env);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "driver_id", MLOPS_FEATURE_INT64, 0, id, NULL, n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                            NULL, n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "conv_rate", MLOPS_FEATURE_FLOAT64, 0, cv, cvalid,
                                            n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "trips", MLOPS_FEATURE_INT64, 0, tr, NULL, n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "city", MLOPS_FEATURE_STRING, 0, ct, NULL, n);
    uint64_t rows = 0;
    if (st == MLOPS_OK)
        st = mlops_feature_view_ingest(&rows, c->h[H_VIEW], t);
    if (st == MLOPS_OK && rows != n)
        st = sweep_fail("ingest took the wrong number of rows");
    mlops_feature_table_free(t);
    free(id), free(ts), free(tr), free(cv), free(cvalid), free(ct);
    return st;
}

/* Batch b written as a CSV file (event times in epoch seconds) and ingested
 * from it. The file sits next to a file store (whose directory the sweep
 * removes), or in a scratch directory removed at once. */
static mlops_status ingest_csv(sweep_ctx *c, int b)
{
    char dir[4200], path[4300];
    bool scratch = strncmp(c->uri, "file:", 5) != 0;
    if (scratch) {
        char *d = tu_tempdir();
        snprintf(dir, sizeof(dir), "%s", d);
        free(d);
    } else {
        snprintf(dir, sizeof(dir), "%s", c->uri + 5);
        char *slash = strrchr(dir, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
    }
    snprintf(path, sizeof(path), "%s/batch%d.csv", dir, b);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "driver_id,event_timestamp,conv_rate,trips,city\n");
    for (size_t r = 0; r < feat_rows(c->scale); r++)
        fprintf(f, "%lld,%lld,%.17g,%lld,%s\n", 1000 + (long long)r,
                (long long)(ev_us(b, r) / 1000000), conv(b, r), (long long)trips(b, r),
                city(b, r));
    ck_assert_int_eq(fclose(f), 0);
    uint64_t rows = 0;
    mlops_status st = mlops_feature_view_ingest_csv(&rows, c->h[H_VIEW], path, NULL, NULL);
    if (st == MLOPS_OK && rows != feat_rows(c->scale))
        st = sweep_fail("CSV ingest took the wrong number of rows");
    unlink(path);
    if (scratch)
        tu_rmtree(dir);
    return st;
}

static bool same_f64(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* A point-in-time join checked value by value: driver 1000 just after
 * batch 1 (null conv_rate there), 1001 before any data (null), 1002 after
 * the CSV batch 2, 1001 between batches 0 and 1, and an unknown driver. */
static mlops_status join_check(sweep_ctx *c)
{
    enum { NE = 5 };
    const int64_t ids[NE] = {1000, 1001, 1002, 1001, 4242};
    const int64_t ts[NE] = {ev_us(1, 0) + 10000000, ev_us(0, 0) - 1, ev_us(2, 2) + 1,
                            ev_us(1, 0) - 1, ev_us(3, 0)};
    const int batch[NE] = {1, -1, 2, 0, -1};
    mlops_feature_table *e = NULL, *out = NULL;
    mlops_status st = mlops_feature_table_create(&e, c->env);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "driver_id", MLOPS_FEATURE_INT64, 0, ids, NULL, NE);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                            NULL, NE);
    mlops_feature_join_options o;
    mlops_feature_join_options_init(&o, MLOPS_FEATURE_JOIN_OPTIONS_VERSION);
    o.threads = 1;
    if (st == MLOPS_OK)
        st = mlops_feature_store_join(&out, c->h[H_FS], e, refs, 3, &o);
    size_t cc = 0, ct = 0, cy = 0;
    if (st == MLOPS_OK)
        st = mlops_feature_table_find(&cc, out, "conv_rate");
    if (st == MLOPS_OK)
        st = mlops_feature_table_find(&ct, out, "trips");
    if (st == MLOPS_OK)
        st = mlops_feature_table_find(&cy, out, "city");
    for (size_t i = 0; i < NE && st == MLOPS_OK; i++) {
        int b = batch[i];
        size_t r = (size_t)(ids[i] - 1000);
        const uint8_t *vc = mlops_feature_table_valid(out, cc);
        const uint8_t *vt = mlops_feature_table_valid(out, ct);
        bool cnull = vc && !vc[i], tnull = vt && !vt[i];
        size_t len = 0;
        const char *s = mlops_feature_table_string(&len, out, cy, i);
        bool ok;
        if (b < 0)
            ok = cnull && tnull && s == NULL;
        else
            ok = cnull == conv_null(b, r) &&
                 (cnull || same_f64(((const double *)mlops_feature_table_data(out, cc))[i],
                                    conv(b, r))) &&
                 !tnull && ((const int64_t *)mlops_feature_table_data(out, ct))[i] == trips(b, r) &&
                 s != NULL && strcmp(s, city(b, r)) == 0;
        if (!ok)
            st = sweep_fail("join row %zu differs from the expected value",
                                 i);
    }
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    return st;
}

/* Online reads of drivers 1000..1002 (expected from batches bs[]) and an
 * unknown one. */
static mlops_status online_check(sweep_ctx *c, const int bs[3])
{
    static const char *const keyn[] = {"driver_id"};
    static const char *const keyv[] = {"1000", "1001", "1002", "4242"};
    mlops_feature_value v[4 * 3];
    mlops_status st = mlops_feature_online_get(v, c->h[H_ONLINE], refs, 3, keyn, 1, keyv, 4);
    for (size_t e = 0; e < 4 && st == MLOPS_OK; e++) {
        const mlops_feature_value *x = &v[e * 3];
        int b = e < 3 ? bs[e] : 0;
        bool ok;
        if (e == 3)
            ok = x[0].status == MLOPS_FEATURE_NOT_FOUND && x[2].status == MLOPS_FEATURE_NOT_FOUND;
        else
            ok = x[0].event_us == ev_us(b, e) &&
                 (conv_null(b, e) ? x[0].status == MLOPS_FEATURE_NULL_VALUE
                                  : x[0].status == MLOPS_FEATURE_PRESENT &&
                                        same_f64(x[0].f64, conv(b, e))) &&
                 x[1].status == MLOPS_FEATURE_PRESENT && x[1].i64 == trips(b, e) &&
                 x[2].status == MLOPS_FEATURE_PRESENT && x[2].str &&
                 strcmp(x[2].str, city(b, e)) == 0;
        if (!ok)
            st = sweep_fail("online value of entity %zu is wrong", e);
    }
    return st;
}

static mlops_status feat_step(sweep_ctx *c, size_t i)
{
    switch (i) {
    case 0:
        return sweep_open_store(c);
    case 1:
        return open_view(c); /* the entity and the view's definition */
    case 2:
        return ingest_columns(c, 0);
    case 3:
        return ingest_columns(c, 1);
    case 4:
        return ingest_csv(c, 2);
    case 5:
        return join_check(c);
    case 6: {
        /* the online store is the same store: the backend under test sees
         * the materialized rows and the materialization state */
        mlops_status st = MLOPS_OK;
        if (c->h[H_ONLINE] == NULL) {
            mlops_feature_online *on = NULL;
            st = mlops_feature_online_open(&on, c->h[H_FS], c->store);
            c->h[H_ONLINE] = on;
        }
        uint64_t w = 0;
        if (st == MLOPS_OK)
            st = mlops_feature_online_materialize(&w, c->h[H_ONLINE], VIEW, 0, ev_us(2, 0));
        return st;
    }
    case 7: { /* the window ends at batch 2's first row */
        static const int bs[3] = {2, 1, 1};
        return online_check(c, bs);
    }
    case 8:
        return ingest_columns(c, 3);
    case 9: {
        uint64_t w = 0;
        return mlops_feature_online_materialize_incremental(&w, c->h[H_ONLINE], VIEW,
                                                            ev_us(4, 0));
    }
    case 10: {
        static const int bs[3] = {3, 3, 3};
        return online_check(c, bs);
    }
    default:
        return mlops_store_flush(c->store);
    }
}

/* What a feature-store user sees: the view list and definition, the
 * latest offline row of every entity, online reads of the first drivers,
 * and the raw key count. */
static uint64_t h_table(uint64_t h, const mlops_feature_table *t)
{
    size_t nr = mlops_feature_table_rows(t), nc = mlops_feature_table_columns(t);
    h = mlops_hash64(&nr, sizeof(nr), h);
    for (size_t col = 0; col < nc; col++) {
        uint32_t type = 0;
        h = sweep_hash_str(h, mlops_feature_table_column(&type, NULL, t, col));
        h = mlops_hash64(&type, sizeof(type), h);
        const uint8_t *valid = mlops_feature_table_valid(t, col);
        for (size_t r = 0; r < nr; r++) {
            uint8_t ok = valid ? valid[r] : 1;
            h = mlops_hash64(&ok, 1, h);
            if (!ok)
                continue;
            if (type == MLOPS_FEATURE_STRING) {
                size_t len = 0;
                h = sweep_hash_str(h, mlops_feature_table_string(&len, t, col, r));
            } else {
                const uint8_t *d = mlops_feature_table_data(t, col);
                size_t w = type == MLOPS_FEATURE_BOOL ? 1 : 8;
                h = mlops_hash64(d + r * w, w, h);
            }
        }
    }
    return h;
}

static uint64_t feat_state(mlops_store *s)
{
    uint64_t keys = sweep_key_count(s);
    uint64_t h = mlops_hash64(&keys, sizeof(keys), 0);
    mlops_feature_store *fs = NULL;
    tu_assert_ok(mlops_feature_store_open(&fs, s));
    mlops_env *env = mlops_store_env(s);
    char *text = NULL;
    tu_assert_ok(mlops_feature_store_list(&text, fs));
    h = sweep_hash_text(h, text);
    mlops_string_free(env, text);
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_view_open(&v, fs, VIEW);
    h = mlops_hash64(&st, sizeof(st), h);
    if (st == MLOPS_OK) {
        text = NULL;
        tu_assert_ok(mlops_feature_view_describe(&text, v));
        h = sweep_hash_text(h, text);
        mlops_string_free(env, text);
        mlops_feature_view_close(v);
        mlops_feature_table *t = NULL;
        tu_assert_ok(mlops_feature_store_latest(&t, fs, refs, 3, 0, INT64_MAX));
        h = h_table(h, t);
        mlops_feature_table_free(t);
        mlops_feature_online *on = NULL;
        tu_assert_ok(mlops_feature_online_open(&on, fs, s));
        static const char *const keyn[] = {"driver_id"};
        static const char *const keyv[] = {"1000", "1001", "1002", "4242"};
        mlops_feature_value ov[4 * 3];
        tu_assert_ok(mlops_feature_online_get(ov, on, refs, 3, keyn, 1, keyv, 4));
        for (size_t k = 0; k < 12; k++) {
            uint32_t a[2] = {ov[k].status, ov[k].type};
            h = mlops_hash64(a, sizeof(a), h);
            int64_t b[2] = {ov[k].event_us, ov[k].i64};
            h = mlops_hash64(b, sizeof(b), h);
            h = mlops_hash64(&ov[k].f64, sizeof(double), h);
            h = sweep_hash_str(h, ov[k].str);
        }
        mlops_feature_online_close(on);
    } else {
        ck_assert_msg(st == MLOPS_E_NOTFOUND, "features state: %s", mlops_error_message());
    }
    mlops_feature_store_close(fs);
    return h;
}

static bool feat_idempotent(size_t i, int scale)
{
    (void)scale;
    /* the same definition again is a no-op; reads; materializing is
     * monotonic by event time, so a second pass writes the same rows */
    return i == 1 || i == 5 || i == 6 || i == 7 || i == 10 || i == 11;
}

const sweep_scenario scenario_features = {"features", feat_n,          feat_step, feat_release,
                                          feat_state, feat_idempotent, {0}};

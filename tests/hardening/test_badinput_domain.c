/* SPDX-License-Identifier: MIT */
/* The bad-input catalogue of the domain modules (RELIABILITY.md; FG8):
 * hostile names, values and options given to tracking, the registry, the
 * feature store, drift and rollouts, as a table. Each entry runs against a
 * store seeded with one of everything, on mem: and on a file store, and
 * must return its documented status. A refused call must leave the store
 * unchanged, for a file store byte for byte (I7); an accepted hostile value
 * (NaN metrics, unsorted timestamps) must read back faithfully. The store
 * layer's own catalogue is test_badinput.c. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sweep.h"

typedef struct dctx {
    mlops_store *s;
    char *exp_id;
    char *run_id;
    mlops_run *run;
    mlops_registry *reg;
    mlops_feature_store *fs;
    mlops_feature_view *view;
    mlops_drift_profile *base;
    mlops_rollout *ro;
    mlops_hash128 blob;
} dctx;

typedef mlops_status (*dfn)(dctx *c);

typedef struct dvec {
    const char *id;   /* RELIABILITY.md id */
    const char *what; /* the vector */
    dfn run;
    mlops_status want;
    dfn verify; /* for accepted vectors: reads the value back; NULL for refused ones */
    int edits;  /* the vector itself edits and restores records: compare the logical
                   state only, not the files */
} dvec;

static char long_name[1200];

static const char *longn(size_t n)
{
    memset(long_name, 'a', n);
    long_name[n] = 0;
    return long_name;
}

/* ---- tracking ---- */

static mlops_status t_exp_empty(dctx *c)
{
    char *id = NULL;
    return mlops_experiment_create(&id, c->s, "");
}
static mlops_status t_exp_dup(dctx *c)
{
    char *id = NULL;
    return mlops_experiment_create(&id, c->s, "exp");
}
static mlops_status t_exp_utf8(dctx *c)
{
    char *id = NULL;
    return mlops_experiment_create(&id, c->s, "bad\xc3\x28name");
}
static mlops_status t_exp_ctrl(dctx *c)
{
    char *id = NULL;
    return mlops_experiment_create(&id, c->s, "a\x1b[31mred");
}
static mlops_status t_param_ctrl(dctx *c)
{
    return mlops_run_log_param(c->run, "a\x01", "1");
}
static mlops_status t_param_utf8(dctx *c)
{
    return mlops_run_log_param(c->run, "k\xff", "1");
}
static mlops_status t_param_long_key(dctx *c)
{
    return mlops_run_log_param(c->run, longn(251), "1");
}
static mlops_status t_param_dotdot(dctx *c)
{
    return mlops_run_log_param(c->run, "a/../../b", "1");
}
static mlops_status t_param_abs(dctx *c)
{
    return mlops_run_log_param(c->run, "/etc/passwd", "1");
}
static mlops_status t_param_change(dctx *c)
{
    return mlops_run_log_param(c->run, "lr", "0.2");
}
static mlops_status t_param_value_utf8(dctx *c)
{
    return mlops_run_log_param(c->run, "opt", "\xed\xa0\x80"); /* a UTF-16 surrogate */
}
static mlops_status t_metric_empty_key(dctx *c)
{
    return mlops_run_log_metric(c->run, "", 1.0, 0);
}
static mlops_status t_metric_null_key(dctx *c)
{
    return mlops_run_log_metric(c->run, NULL, 1.0, 0);
}
static mlops_status t_tag_long_value(dctx *c)
{
    static char v[5002];
    memset(v, 'v', 5001);
    v[5001] = 0;
    return mlops_run_set_tag(c->run, "t", v);
}
static mlops_status t_run_unknown(dctx *c)
{
    mlops_run *r = NULL;
    return mlops_run_open(&r, c->s, "0123456789abcdef0123456789abcdef");
}
static mlops_status t_run_malformed(dctx *c)
{
    mlops_run *r = NULL;
    return mlops_run_open(&r, c->s, "../../etc");
}
static mlops_status t_run_opts_version(dctx *c)
{
    mlops_run_options o;
    mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
    o.version = 99;
    mlops_run *r = NULL;
    return mlops_run_create(&r, c->s, c->exp_id, &o);
}
static mlops_status t_run_unknown_exp(dctx *c)
{
    mlops_run *r = NULL;
    return mlops_run_create(&r, c->s, "999999", NULL);
}

/* accepted: NaN, infinities and a denormal are stored faithfully */
static const double odd_values[4] = {NAN, INFINITY, -INFINITY, 4.9406564584124654e-324};

static mlops_status t_metric_odd(dctx *c)
{
    for (int i = 0; i < 4; i++) {
        mlops_status st = mlops_run_log_metric_at(c->run, "odd", odd_values[i], i,
                                                  1700000000000LL + i);
        if (st != MLOPS_OK)
            return st;
    }
    return MLOPS_OK;
}
static mlops_status v_metric_odd(dctx *c)
{
    mlops_metric_history *h = NULL;
    mlops_status st = mlops_metric_history_open(&h, c->run, "odd", 0);
    if (st != MLOPS_OK)
        return st;
    size_t n = mlops_metric_history_count(h);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    st = n == 4 ? MLOPS_OK : MLOPS_E_INTERNAL;
    for (size_t i = 0; st == MLOPS_OK && i < 4; i++)
        if (memcmp(&p[i].value, &odd_values[i], sizeof(double)) != 0)
            st = MLOPS_E_INTERNAL;
    mlops_metric_history_free(h);
    return st;
}

/* ---- registry ---- */

static mlops_status r_model_empty(dctx *c)
{
    return mlops_registry_create_model(c->reg, "", NULL);
}
static mlops_status r_model_dup(dctx *c)
{
    return mlops_registry_create_model(c->reg, "m", NULL);
}
static mlops_status r_model_long(dctx *c)
{
    return mlops_registry_create_model(c->reg, longn(1000), NULL);
}
static mlops_status r_model_utf8(dctx *c)
{
    return mlops_registry_create_model(c->reg, "m\xc0\xaf", NULL); /* overlong '/' */
}
static mlops_status r_model_newline(dctx *c)
{
    return mlops_registry_create_model(c->reg, "m\nx", NULL);
}
static mlops_status r_promote_unknown_version(dctx *c)
{
    return mlops_registry_promote(NULL, c->reg, "m", 99, "Production", NULL);
}
static mlops_status r_promote_unknown_model(dctx *c)
{
    return mlops_registry_promote(NULL, c->reg, "nope", 1, "Production", NULL);
}
static mlops_status r_promote_bad_stage(dctx *c)
{
    return mlops_registry_promote(NULL, c->reg, "m", 1, "Prod; DROP", NULL);
}
static mlops_status r_promote_version_zero(dctx *c)
{
    return mlops_registry_promote(NULL, c->reg, "m", 0, "Staging", NULL);
}
static mlops_status r_alias_latest(dctx *c)
{
    return mlops_registry_set_alias(c->reg, "m", "latest", 1, NULL);
}
static mlops_status r_alias_vn(dctx *c)
{
    return mlops_registry_set_alias(c->reg, "m", "v3", 1, NULL);
}
static mlops_status r_alias_space(dctx *c)
{
    return mlops_registry_set_alias(c->reg, "m", "my alias", 1, NULL);
}
static mlops_status r_alias_unknown_version(dctx *c)
{
    return mlops_registry_set_alias(c->reg, "m", "champion", 42, NULL);
}
static mlops_status r_register_no_source(dctx *c)
{
    int64_t v = 0;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    return mlops_registry_register(&v, c->reg, "m", &o);
}
static mlops_status r_register_opts_version(dctx *c)
{
    int64_t v = 0;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.version = 77;
    o.blob = &c->blob;
    return mlops_registry_register(&v, c->reg, "m", &o);
}
static mlops_status r_register_unknown_blob(dctx *c)
{
    int64_t v = 0;
    mlops_hash128 h;
    memset(&h, 0x5a, sizeof(h));
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.blob = &h;
    return mlops_registry_register(&v, c->reg, "m", &o);
}
static mlops_status r_register_unknown_run(dctx *c)
{
    int64_t v = 0;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.run_id = "0123456789abcdef0123456789abcdef";
    o.artifact_path = "model.bin";
    return mlops_registry_register(&v, c->reg, "m", &o);
}

/* ---- features ---- */

static mlops_status apply_named(dctx *c, const char *name, const char *feature, uint32_t type,
                                int dup)
{
    const char *keys[] = {"id"};
    mlops_feature_spec feats[2] = {{.name = feature, .type = type},
                                   {.name = feature, .type = type}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "ts";
    o.features = feats;
    o.n_features = dup ? 2 : 1;
    return mlops_feature_view_apply(NULL, c->fs, name, &o);
}
static mlops_status f_view_empty(dctx *c)
{
    return apply_named(c, "", "a", MLOPS_FEATURE_FLOAT64, 0);
}
static mlops_status f_view_slash(dctx *c)
{
    return apply_named(c, "../fv", "a", MLOPS_FEATURE_FLOAT64, 0);
}
static mlops_status f_view_long(dctx *c)
{
    return apply_named(c, longn(1000), "a", MLOPS_FEATURE_FLOAT64, 0);
}
static mlops_status f_feature_colon(dctx *c)
{
    return apply_named(c, "fv2", "a:b", MLOPS_FEATURE_FLOAT64, 0);
}
static mlops_status f_feature_dup(dctx *c)
{
    return apply_named(c, "fv2", "a", MLOPS_FEATURE_FLOAT64, 1);
}
static mlops_status f_feature_bad_type(dctx *c)
{
    return apply_named(c, "fv2", "a", 999, 0);
}
static mlops_status f_view_opts_version(dctx *c)
{
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.version = 1000;
    return mlops_feature_view_apply(NULL, c->fs, "fv3", &o);
}

static mlops_status ingest(dctx *c, const int64_t *id, const int64_t *ts, const double *a,
                           size_t n, const char *ts_name, uint32_t a_type)
{
    mlops_feature_table *t = NULL;
    mlops_status st = mlops_feature_table_create(&t, NULL);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL, n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, ts_name, MLOPS_FEATURE_INT64, 0, ts, NULL, n);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "a", a_type, 0, a, NULL, n);
    uint64_t rows = 0;
    if (st == MLOPS_OK)
        st = mlops_feature_view_ingest(&rows, c->view, t);
    mlops_feature_table_free(t);
    return st;
}
static mlops_status f_ingest_no_ts(dctx *c)
{
    int64_t id[] = {1}, ts[] = {5};
    double a[] = {1};
    return ingest(c, id, ts, a, 1, "when", MLOPS_FEATURE_FLOAT64);
}
static mlops_status f_ingest_wrong_type(dctx *c)
{
    int64_t id[] = {1}, ts[] = {5};
    const char *a[] = {"one and a half"};
    return ingest(c, id, ts, (const double *)(const void *)a, 1, "ts", MLOPS_FEATURE_STRING);
}
/* accepted: unsorted and duplicate timestamps, NaN and infinite features */
static mlops_status f_ingest_odd(dctx *c)
{
    int64_t id[] = {7, 7, 7, 8};
    int64_t ts[] = {300, 100, 300, 200};
    double a[] = {NAN, 1.0, INFINITY, -0.0};
    return ingest(c, id, ts, a, 4, "ts", MLOPS_FEATURE_FLOAT64);
}
static mlops_status v_ingest_odd(dctx *c)
{
    /* at t=300 entity 7 has two rows at the same event time: the one
     * ingested last wins (INFINITY) */
    mlops_feature_table *e = NULL, *out = NULL;
    int64_t id[] = {7, 7, 8}, ts[] = {150, 300, 250};
    mlops_status st = mlops_feature_table_create(&e, NULL);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "id", MLOPS_FEATURE_INT64, 0, id, NULL, 3);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                            NULL, 3);
    const char *refs[] = {"fv:a"};
    if (st == MLOPS_OK)
        st = mlops_feature_store_join(&out, c->fs, e, refs, 1, NULL);
    size_t col = 0;
    if (st == MLOPS_OK)
        st = mlops_feature_table_find(&col, out, "a");
    if (st == MLOPS_OK) {
        const double *v = mlops_feature_table_data(out, col);
        if (v == NULL || v[0] != 1.0 || !isinf(v[1]) || v[2] != 0.0 || !signbit(v[2]))
            st = mlops_error_set(MLOPS_E_INTERNAL, "joined values are not the ingested ones");
    }
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    return st;
}
static mlops_status f_join_unknown_view(dctx *c)
{
    mlops_feature_table *e = NULL, *out = NULL;
    int64_t id[] = {1}, ts[] = {5};
    mlops_status st = mlops_feature_table_create(&e, NULL);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "id", MLOPS_FEATURE_INT64, 0, id, NULL, 1);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(e, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                            NULL, 1);
    const char *refs[] = {"nope:a"};
    if (st == MLOPS_OK)
        st = mlops_feature_store_join(&out, c->fs, e, refs, 1, NULL);
    mlops_feature_table_free(out);
    mlops_feature_table_free(e);
    return st;
}

/* ---- drift ---- */

static mlops_status d_profile_utf8(dctx *c)
{
    (void)c;
    mlops_drift_profile *p = NULL;
    return mlops_drift_profile_create(&p, NULL, "\xf8\x88\x80\x80\x80", NULL);
}
static mlops_status compare_with(dctx *c, const double *x, size_t n)
{
    mlops_drift_profile *p = NULL;
    mlops_status st = mlops_drift_profile_create_like(&p, c->base);
    if (st == MLOPS_OK && n)
        st = mlops_drift_profile_add(p, x, n);
    mlops_drift_report *r = NULL;
    mlops_drift_profile *const b[1] = {c->base}, *const cu[1] = {p};
    if (st == MLOPS_OK)
        st = mlops_drift_compare(&r, b, 1, cu, 1, NULL);
    mlops_drift_report_free(r);
    mlops_drift_profile_free(p);
    return st;
}
static mlops_status d_compare_empty(dctx *c)
{
    return compare_with(c, NULL, 0);
}
static mlops_status d_compare_all_nan(dctx *c)
{
    double x[3] = {NAN, NAN, NAN};
    return compare_with(c, x, 3);
}
static mlops_status d_compare_none(dctx *c)
{
    mlops_drift_profile *p = NULL;
    mlops_status st = mlops_drift_profile_create(&p, NULL, "other", NULL);
    double x = 1;
    if (st == MLOPS_OK)
        st = mlops_drift_profile_add(p, &x, 1);
    mlops_drift_report *r = NULL;
    mlops_drift_profile *const b[1] = {c->base}, *const cu[1] = {p};
    if (st == MLOPS_OK)
        st = mlops_drift_compare(&r, b, 1, cu, 1, NULL);
    mlops_drift_report_free(r);
    mlops_drift_profile_free(p);
    return st;
}
static mlops_status d_compare_single(dctx *c)
{
    double x[1] = {0.5};
    return compare_with(c, x, 1);
}
static mlops_status d_compare_odd(dctx *c)
{
    double x[6] = {INFINITY, -INFINITY, 4.9406564584124654e-324, NAN, 0.25, 0.75};
    return compare_with(c, x, 6);
}
static mlops_status d_monitor_empty_name(dctx *c)
{
    mlops_drift_monitor *m = NULL;
    mlops_drift_profile *const b[1] = {c->base};
    return mlops_drift_monitor_create(&m, NULL, c->s, "", b, 1, NULL);
}
static mlops_status d_monitor_no_baseline(dctx *c)
{
    mlops_drift_monitor *m = NULL;
    return mlops_drift_monitor_create(&m, NULL, c->s, "mon", NULL, 0, NULL);
}
static mlops_status d_monitor_unknown_column(dctx *c)
{
    mlops_drift_monitor *m = NULL;
    mlops_drift_profile *const b[1] = {c->base};
    mlops_status st = mlops_drift_monitor_create(&m, NULL, c->s, "mon", b, 1, NULL);
    double x = 1;
    if (st == MLOPS_OK)
        st = mlops_drift_monitor_feed(m, "nope", &x, 1);
    mlops_drift_monitor_close(m);
    return st;
}
static mlops_status d_monitor_bad_param(dctx *c)
{
    mlops_drift_monitor *m = NULL;
    mlops_drift_profile *const b[1] = {c->base};
    mlops_status st = mlops_drift_monitor_create(&m, NULL, c->s, "mon", b, 1, NULL);
    if (st == MLOPS_OK)
        st = mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_ALPHA, NAN);
    mlops_drift_monitor_close(m);
    return st;
}

/* ---- rollouts and assignment ---- */

static mlops_status o_rollout(dctx *c, const char *name, const double *stages, uint32_t n)
{
    mlops_rollout_options o;
    mlops_rollout_options_init(&o, MLOPS_ROLLOUT_OPTIONS_VERSION);
    o.champion = 1;
    o.challenger = 2;
    o.stages = stages;
    o.n_stages = n;
    mlops_rollout *r = NULL;
    mlops_status st = mlops_rollout_create(&r, c->s, name, &o);
    mlops_rollout_close(r);
    return st;
}
static mlops_status o_name_empty(dctx *c)
{
    return o_rollout(c, "", NULL, 0);
}
static mlops_status o_name_dup(dctx *c)
{
    return o_rollout(c, "ro", NULL, 0);
}
static mlops_status o_name_ctrl(dctx *c)
{
    return o_rollout(c, "ro\x7f", NULL, 0);
}
static mlops_status o_stages_decreasing(dctx *c)
{
    static const double s[] = {0.5, 0.1, 1};
    return o_rollout(c, "ro2", s, 3);
}
static mlops_status o_stages_nan(dctx *c)
{
    static const double s[] = {0.1, NAN, 1};
    return o_rollout(c, "ro2", s, 3);
}
static mlops_status o_stages_not_ending_at_1(dctx *c)
{
    static const double s[] = {0.1, 0.5};
    return o_rollout(c, "ro2", s, 2);
}
static mlops_status o_open_unknown(dctx *c)
{
    mlops_rollout *r = NULL;
    return mlops_rollout_open(&r, c->s, "nope");
}
static mlops_status o_record_bad_arm(dctx *c)
{
    return mlops_rollout_record(c->ro, 7, 1.0, 0, 0.0);
}
static mlops_status o_record_nan_latency(dctx *c)
{
    return mlops_rollout_record(c->ro, 0, NAN, 0, 0.0);
}
static mlops_status o_record_negative_latency(dctx *c)
{
    return mlops_rollout_record(c->ro, 1, -5.0, 0, 0.0);
}
static mlops_status ab_create(const char *key, uint32_t n, const double *w, double coverage)
{
    mlops_ab_experiment_options o;
    mlops_ab_experiment_options_init(&o, MLOPS_AB_EXPERIMENT_OPTIONS_VERSION);
    o.n_variants = n;
    o.weights = w;
    o.coverage = coverage;
    mlops_ab_experiment *e = NULL;
    mlops_status st = mlops_ab_experiment_create(&e, NULL, key, &o);
    mlops_ab_experiment_free(e);
    return st;
}
static mlops_status ab_key_empty(dctx *c)
{
    (void)c;
    return ab_create("", 2, NULL, 0);
}
static mlops_status ab_weights_sum(dctx *c)
{
    (void)c;
    static const double w[] = {0.5, 0.6};
    return ab_create("exp", 2, w, 0);
}
static mlops_status ab_weights_nan(dctx *c)
{
    (void)c;
    static const double w[] = {NAN, 1.0};
    return ab_create("exp", 2, w, 0);
}
static mlops_status ab_one_variant(dctx *c)
{
    (void)c;
    return ab_create("exp", 1, NULL, 0);
}
static mlops_status ab_coverage_over(dctx *c)
{
    (void)c;
    return ab_create("exp", 2, NULL, 1.5);
}

/* ---- records from a newer writer (X1, R6): every record under a prefix gets a
 * format version above what this build reads; the reading call must refuse
 * with MLOPS_E_VERSION (never guess at the fields); then the originals are
 * put back ---- */

typedef struct saved_rec {
    uint8_t *k, *v;
    size_t kl, vl;
} saved_rec;

typedef struct saved_set {
    saved_rec r[64];
    size_t n;
} saved_set;

static int save_cb(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                   void *payload)
{
    (void)ver;
    saved_set *ss = payload;
    if (ss->n == 64 || vl < 2)
        return 0;
    saved_rec *r = &ss->r[ss->n++];
    r->k = malloc(kl);
    r->v = malloc(vl);
    memcpy(r->k, k, kl);
    memcpy(r->v, v, vl);
    r->kl = kl;
    r->vl = vl;
    return 0;
}

static mlops_status with_newer(dctx *c, const char *prefix, dfn read)
{
    saved_set ss = {.n = 0};
    tu_assert_ok(mlops_store_scan_prefix(c->s, prefix, strlen(prefix), save_cb, &ss));
    ck_assert_msg(ss.n > 0, "no record under '%s'", prefix);
    for (size_t i = 0; i < ss.n; i++) {
        uint8_t *nv = malloc(ss.r[i].vl);
        memcpy(nv, ss.r[i].v, ss.r[i].vl);
        nv[0] = 200; /* format version 200 */
        tu_assert_ok(mlops_store_put(c->s, ss.r[i].k, ss.r[i].kl, nv, ss.r[i].vl));
        free(nv);
    }
    mlops_status st = read(c);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", mlops_error_message());
    for (size_t i = 0; i < ss.n; i++) {
        tu_assert_ok(mlops_store_put(c->s, ss.r[i].k, ss.r[i].kl, ss.r[i].v, ss.r[i].vl));
        free(ss.r[i].k);
        free(ss.r[i].v);
    }
    if (st != MLOPS_OK)
        mlops_error_set(st, msg); /* the message of the refused read, not of the restore */
    return st;
}

static mlops_status rd_run(dctx *c)
{
    mlops_run *r = NULL;
    mlops_status st = mlops_run_open(&r, c->s, c->run_id);
    mlops_run_close(r);
    return st;
}
static mlops_status rd_model(dctx *c)
{
    char *j = NULL;
    mlops_status st = mlops_registry_model_json(&j, c->reg, "m");
    mlops_string_free(NULL, j);
    return st;
}
static mlops_status rd_version(dctx *c)
{
    char *j = NULL;
    mlops_status st = mlops_registry_version_json(&j, c->reg, "m", 1);
    mlops_string_free(NULL, j);
    return st;
}
static mlops_status rd_view(dctx *c)
{
    mlops_feature_store *fs = NULL;
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_store_open(&fs, c->s); /* no cached definitions */
    if (st == MLOPS_OK)
        st = mlops_feature_view_open(&v, fs, "fv");
    mlops_feature_view_close(v);
    mlops_feature_store_close(fs);
    return st;
}
static mlops_status rd_rollout(dctx *c)
{
    mlops_rollout *r = NULL;
    mlops_status st = mlops_rollout_open(&r, c->s, "ro");
    mlops_rollout_close(r);
    return st;
}
static mlops_status x_run(dctx *c)
{
    return with_newer(c, "t/s/", rd_run);
}
static mlops_status x_model(dctx *c)
{
    return with_newer(c, "r/m/", rd_model);
}
static mlops_status x_version(dctx *c)
{
    return with_newer(c, "r/v/", rd_version);
}
static mlops_status x_view(dctx *c)
{
    return with_newer(c, "f/v/", rd_view);
}
static mlops_status x_rollout(dctx *c)
{
    return with_newer(c, "o/r/", rd_rollout);
}

static const dvec catalogue[] = {
    {"N1", "experiment name empty", t_exp_empty, MLOPS_E_INVALID, NULL},
    {"V1", "experiment name taken", t_exp_dup, MLOPS_E_EXISTS, NULL},
    {"N8", "experiment name with invalid UTF-8", t_exp_utf8, MLOPS_E_INVALID, NULL},
    {"N7", "experiment name with an escape sequence", t_exp_ctrl, MLOPS_E_INVALID, NULL},
    {"N7", "param key with a control character", t_param_ctrl, MLOPS_E_INVALID, NULL},
    {"N8", "param key with invalid UTF-8", t_param_utf8, MLOPS_E_INVALID, NULL},
    {"N12", "param key of 251 bytes", t_param_long_key, MLOPS_E_INVALID, NULL},
    {"N2", "param key with '..' segments", t_param_dotdot, MLOPS_E_INVALID, NULL},
    {"N3", "param key that is an absolute path", t_param_abs, MLOPS_E_INVALID, NULL},
    {"V2", "param changed", t_param_change, MLOPS_E_CONFLICT, NULL},
    {"N8", "param value with a UTF-16 surrogate", t_param_value_utf8, MLOPS_E_INVALID, NULL},
    {"N1", "metric key empty", t_metric_empty_key, MLOPS_E_INVALID, NULL},
    {"A1", "metric key NULL", t_metric_null_key, MLOPS_E_INVALID, NULL},
    {"N12", "tag value of 5001 bytes", t_tag_long_value, MLOPS_E_INVALID, NULL},
    {"N14", "unknown run id", t_run_unknown, MLOPS_E_NOTFOUND, NULL},
    {"N14", "run id with path segments", t_run_malformed, MLOPS_E_INVALID, NULL},
    {"X5", "run options from a newer header", t_run_opts_version, MLOPS_E_VERSION, NULL},
    {"N14", "run in an unknown experiment", t_run_unknown_exp, MLOPS_E_NOTFOUND, NULL},
    {"V7", "metrics NaN, +Inf, -Inf, denormal (accepted, stored faithfully)", t_metric_odd,
     MLOPS_OK, v_metric_odd},
    {"N1", "model name empty", r_model_empty, MLOPS_E_INVALID, NULL},
    {"V1", "model name taken", r_model_dup, MLOPS_E_EXISTS, NULL},
    {"N12", "model name of 1000 bytes", r_model_long, MLOPS_E_INVALID, NULL},
    {"N8", "model name with an overlong UTF-8 '/'", r_model_utf8, MLOPS_E_INVALID, NULL},
    {"N7", "model name with a newline", r_model_newline, MLOPS_E_INVALID, NULL},
    {"N14", "promote an unknown version", r_promote_unknown_version, MLOPS_E_NOTFOUND, NULL},
    {"N14", "promote in an unknown model", r_promote_unknown_model, MLOPS_E_NOTFOUND, NULL},
    {"N9", "promote to an unknown stage", r_promote_bad_stage, MLOPS_E_INVALID, NULL},
    {"N14", "promote version 0", r_promote_version_zero, MLOPS_E_INVALID, NULL},
    {"N9", "alias 'latest' (reserved)", r_alias_latest, MLOPS_E_INVALID, NULL},
    {"N9", "alias 'v3' (reserved)", r_alias_vn, MLOPS_E_INVALID, NULL},
    {"N9", "alias with a space", r_alias_space, MLOPS_E_INVALID, NULL},
    {"N14", "alias to an unknown version", r_alias_unknown_version, MLOPS_E_NOTFOUND, NULL},
    {"A1", "register with neither run nor blob", r_register_no_source, MLOPS_E_INVALID, NULL},
    {"X5", "register options from a newer header", r_register_opts_version, MLOPS_E_VERSION,
     NULL},
    {"N14", "register an unknown blob", r_register_unknown_blob, MLOPS_E_NOTFOUND, NULL},
    {"N14", "register from an unknown run", r_register_unknown_run, MLOPS_E_NOTFOUND, NULL},
    {"N1", "feature view name empty", f_view_empty, MLOPS_E_INVALID, NULL},
    {"N2", "feature view name with '../'", f_view_slash, MLOPS_E_INVALID, NULL},
    {"N12", "feature view name of 1000 bytes", f_view_long, MLOPS_E_INVALID, NULL},
    {"N9", "feature name with ':'", f_feature_colon, MLOPS_E_INVALID, NULL},
    {"V1", "feature defined twice in a view", f_feature_dup, MLOPS_E_INVALID, NULL},
    {"X5", "unknown feature type", f_feature_bad_type, MLOPS_E_INVALID, NULL},
    {"X5", "view options from a newer header", f_view_opts_version, MLOPS_E_VERSION, NULL},
    {"J1", "ingest without the event timestamp column", f_ingest_no_ts, MLOPS_E_INVALID, NULL},
    {"J2", "ingest text that is not a number into a float64 feature", f_ingest_wrong_type, MLOPS_E_INVALID, NULL},
    {"J4", "ingest unsorted and duplicate timestamps, NaN/Inf/-0 features (accepted)",
     f_ingest_odd, MLOPS_OK, v_ingest_odd},
    {"N14", "join a ref of an unknown view", f_join_unknown_view, MLOPS_E_NOTFOUND, NULL},
    {"N8", "drift column name with a 5-byte UTF-8 form", d_profile_utf8, MLOPS_E_INVALID, NULL},
    /* a column with an empty current side is reported with its counts only */
    {"D1", "compare with an empty sample", d_compare_empty, MLOPS_OK, NULL},
    {"D2", "compare with only NaN values", d_compare_all_nan, MLOPS_OK, NULL},
    {"D1", "compare with no current column", d_compare_none, MLOPS_E_INSUFFICIENT, NULL},
    {"D3", "compare with a single value", d_compare_single, MLOPS_OK, NULL},
    {"D4", "compare with Inf, -Inf, a denormal and NaN", d_compare_odd, MLOPS_OK, NULL},
    {"N1", "monitor name empty", d_monitor_empty_name, MLOPS_E_INVALID, NULL},
    {"A1", "monitor without a baseline", d_monitor_no_baseline, MLOPS_E_INVALID, NULL},
    {"N14", "monitor fed an unknown column", d_monitor_unknown_column, MLOPS_E_NOTFOUND, NULL},
    {"X5", "monitor parameter NaN", d_monitor_bad_param, MLOPS_E_INVALID, NULL},
    {"N1", "rollout name empty", o_name_empty, MLOPS_E_INVALID, NULL},
    {"V1", "rollout name taken", o_name_dup, MLOPS_E_EXISTS, NULL},
    {"N7", "rollout name with DEL", o_name_ctrl, MLOPS_E_INVALID, NULL},
    {"X5", "canary stages decreasing", o_stages_decreasing, MLOPS_E_INVALID, NULL},
    {"X5", "canary stage NaN", o_stages_nan, MLOPS_E_INVALID, NULL},
    {"X5", "canary stages not ending at 1", o_stages_not_ending_at_1, MLOPS_E_INVALID, NULL},
    {"N14", "open an unknown rollout", o_open_unknown, MLOPS_E_NOTFOUND, NULL},
    {"A1", "record for arm 7", o_record_bad_arm, MLOPS_E_INVALID, NULL},
    {"V7", "record a NaN latency", o_record_nan_latency, MLOPS_E_INVALID, NULL},
    {"V7", "record a negative latency", o_record_negative_latency, MLOPS_E_INVALID, NULL},
    {"N1", "A/B experiment key empty", ab_key_empty, MLOPS_E_INVALID, NULL},
    {"X5", "A/B weights summing to 1.1", ab_weights_sum, MLOPS_E_INVALID, NULL},
    {"X5", "A/B weight NaN", ab_weights_nan, MLOPS_E_INVALID, NULL},
    {"X5", "A/B experiment with one variant", ab_one_variant, MLOPS_E_INVALID, NULL},
    {"X5", "A/B coverage 1.5", ab_coverage_over, MLOPS_E_INVALID, NULL},
    {"X1", "run record from a newer writer", x_run, MLOPS_E_VERSION, NULL, 1},
    {"X1", "model record from a newer writer", x_model, MLOPS_E_VERSION, NULL, 1},
    {"X1", "model version record from a newer writer", x_version, MLOPS_E_VERSION, NULL, 1},
    {"X1", "feature view record from a newer writer", x_view, MLOPS_E_VERSION, NULL, 1},
    {"X1", "rollout record from a newer writer", x_rollout, MLOPS_E_VERSION, NULL, 1},
};

#define N_CATALOGUE (sizeof(catalogue) / sizeof(catalogue[0]))

/* ---- seeding, and the bytes of a file store ---- */

static void seed(dctx *c)
{
    tu_assert_ok(mlops_experiment_create(&c->exp_id, c->s, "exp"));
    mlops_run_options ro;
    mlops_run_options_init(&ro, MLOPS_RUN_OPTIONS_VERSION);
    ro.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
    ro.start_ms = 1700000000000LL;
    tu_assert_ok(mlops_run_create(&c->run, c->s, c->exp_id, &ro));
    c->run_id = (char *)mlops_run_id(c->run);
    tu_assert_ok(mlops_run_log_param(c->run, "lr", "0.1"));
    tu_assert_ok(mlops_run_log_metric_at(c->run, "loss", 0.5, 0, 1700000000000LL));
    tu_assert_ok(mlops_store_blob_put(&c->blob, c->s, "model bytes", 11));
    tu_assert_ok(mlops_registry_open(&c->reg, c->s));
    int64_t v = 0;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.blob = &c->blob;
    tu_assert_ok(mlops_registry_register(&v, c->reg, "m", &o));
    tu_assert_ok(mlops_feature_store_open(&c->fs, c->s));
    tu_assert_ok(apply_named(c, "fv", "a", MLOPS_FEATURE_FLOAT64, 0));
    tu_assert_ok(mlops_feature_view_open(&c->view, c->fs, "fv"));
    int64_t id[] = {1, 2}, ts[] = {10, 20};
    double a[] = {1.5, 2.5};
    tu_assert_ok(ingest(c, id, ts, a, 2, "ts", MLOPS_FEATURE_FLOAT64));
    double x[200];
    for (int i = 0; i < 200; i++)
        x[i] = (double)i / 200.0;
    tu_assert_ok(mlops_drift_profile_create(&c->base, NULL, "x", NULL));
    tu_assert_ok(mlops_drift_profile_add(c->base, x, 200));
    tu_assert_ok(o_rollout(c, "ro", NULL, 0));
    tu_assert_ok(mlops_rollout_open(&c->ro, c->s, "ro"));
}

static void unseed(dctx *c)
{
    mlops_rollout_close(c->ro);
    mlops_drift_profile_free(c->base);
    mlops_feature_view_close(c->view);
    mlops_feature_store_close(c->fs);
    mlops_registry_close(c->reg);
    mlops_run_close(c->run);
    mlops_string_free(NULL, c->exp_id);
}

static long tried, documented, unchanged, accepted;

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
    dctx c;
    memset(&c, 0, sizeof(c));
    long wrong = 0;
    tu_assert_ok(mlops_store_open(&c.s, NULL, uri, NULL));
    seed(&c);
    for (size_t i = 0; i < N_CATALOGUE; i++) {
        const dvec *b = &catalogue[i];
        tu_assert_ok(mlops_store_flush(c.s));
        uint64_t before = sweep_state_hash(c.s), tree_before = 0, tree_after = 0;
        if (dir)
            sweep_hash_tree(dir, &tree_before);
        mlops_status st = b->run(&c);
        tried++;
        if (st != b->want) {
            /* report every mismatch of the table, then fail */
            fprintf(stderr, "%s %s (%s): got %s, want %s: %s\n", backend, b->id, b->what,
                    mlops_status_name(st), mlops_status_name(b->want), mlops_error_message());
            wrong++;
            continue;
        }
        if (st != MLOPS_OK) {
            ck_assert_msg(mlops_error_message()[0] != 0, "%s %s (%s): no message", backend,
                          b->id, b->what);
        }
        documented++;
        if (b->verify) {
            st = b->verify(&c);
            ck_assert_msg(st == MLOPS_OK, "%s %s (%s): read back: %s", backend, b->id, b->what,
                          mlops_error_message());
            accepted++;
            continue;
        }
        tu_assert_ok(mlops_store_flush(c.s));
        ck_assert_msg(sweep_state_hash(c.s) == before, "%s %s (%s): the store changed (I7)",
                      backend, b->id, b->what);
        if (dir && b->want != MLOPS_OK && !b->edits) {
            sweep_hash_tree(dir, &tree_after);
            ck_assert_msg(tree_after == tree_before,
                          "%s %s (%s): the store's files changed (I7)", backend, b->id,
                          b->what);
        }
        unchanged++;
    }
    ck_assert_msg(wrong == 0, "%s: %ld vectors gave another status (listed above)", backend,
                  wrong);
    unseed(&c);
    char *report = NULL;
    mlops_status st = mlops_store_check(&report, c.s);
    ck_assert_msg(st == MLOPS_OK, "store check: %s", report ? report : "");
    mlops_string_free(NULL, report);
    mlops_store_close(c.s);
    if (dir) {
        tu_rmtree(dir);
        free(dir);
    }
}

START_TEST(domain_mem)
{
    run_catalogue("mem");
}
END_TEST

START_TEST(domain_file)
{
    run_catalogue("file");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("badinput-domain");
    TCase *tc = tcase_create("catalogue");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, domain_mem);
    tcase_add_test(tc, domain_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        printf("FIGURE bad_inputs_domain=%ld documented_status=%ld store_unchanged=%ld "
               "accepted_read_back=%ld\n",
               tried, documented, unchanged, accepted);
    return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Fuzz the names every module accepts (F13, N-catalogue, N13): the first
 * byte picks a public call that takes a user-supplied name (experiment
 * name, run param/tag/metric key, model name, alias, model tag key,
 * feature view and feature names, drift column and baseline names,
 * rollout name, A/B experiment key); the rest of the input is the name.
 * Each input runs on a fresh mem: store.
 *
 * Oracles: an accepted name round-trips (reading it back by that name
 * gives what was stored under it); a rejected one gets MLOPS_E_INVALID or
 * MLOPS_E_TOOBIG with a message, and leaves every stored key, value and
 * version exactly as it was; nothing leaks. */
#include "core/core.h"
#include "feature/feature_internal.h"
#include "fuzz_common.h"

static fz_alloc counts;
static mlops_env *env;

static int fp_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                 uint64_t version, void *payload)
{
    uint64_t *h = payload;
    *h = mlops__xxh3_64(key, key_len, *h);
    *h = mlops__xxh3_64(value, value_len, *h ^ version);
    return 0;
}

/* A digest of every key, value and version in the store. */
static uint64_t fingerprint(mlops_store *s)
{
    uint64_t h = 1;
    mlops_status st = mlops_store_scan(s, NULL, 0, NULL, 0, fp_cb, &h);
    FUZZ_CHECK(st == MLOPS_OK, "scan gave %d", st);
    return h;
}

/* The store as it was just before the call with the name. */
static uint64_t before;

static void mark(mlops_store *s)
{
    before = fingerprint(s);
}

static bool rejected(mlops_status st)
{
    if (st != MLOPS_E_INVALID && st != MLOPS_E_TOOBIG)
        return false;
    FUZZ_CHECK(mlops_error_message()[0] != '\0', "rejection without a message");
    return true;
}

static mlops_run *new_run(mlops_store *s)
{
    mlops_run_options o;
    mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
    o.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
    mlops_run *r = NULL;
    if (mlops_run_create(&r, s, NULL, &o) != MLOPS_OK)
        abort();
    return r;
}

static void check_string(mlops_status st, char *got, const char *want, const char *what)
{
    FUZZ_CHECK(st == MLOPS_OK, "%s: reading back an accepted name gave %d", what, st);
    FUZZ_CHECK(strcmp(got, want) == 0, "%s: read back '%s', stored '%s'", what, got, want);
    mlops_string_free(env, got);
}

static mlops_feature_view *apply_view(mlops_feature_store *fs, const char *view,
                                      const char *feature, mlops_status *st)
{
    mlops_feature_spec f;
    memset(&f, 0, sizeof(f));
    f.name = feature;
    f.type = MLOPS_FEATURE_FLOAT64;
    static const char *const keys[] = {"user_id"};
    mlops_feature_view_options o;
    mlops_feature_view_options_init(&o, MLOPS_FEATURE_VIEW_OPTIONS_VERSION);
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = &f;
    o.n_features = 1;
    mlops_feature_view *v = NULL;
    *st = mlops_feature_view_apply(&v, fs, view, &o);
    return v;
}

/* One call with the name; returns false if it was rejected. */
static bool try_name(mlops_store *s, int sel, const char *name)
{
    mlops_status st;
    char *got = NULL;
    switch (sel) {
    case 0: { /* experiment name */
        char *id = NULL;
        st = mlops_experiment_create(&id, s, name);
        if (rejected(st))
            return false;
        FUZZ_CHECK(st == MLOPS_OK, "experiment create gave %d", st);
        st = mlops_experiment_get_by_name(&got, s, name);
        check_string(st, got, id, "experiment");
        mlops_string_free(env, id);
        return true;
    }
    case 1:   /* run param key */
    case 2:   /* run tag key */
    case 3: { /* run metric key */
        mlops_run *r = new_run(s);
        mark(s);
        if (sel == 1)
            st = mlops_run_log_param(r, name, "0.1");
        else if (sel == 2)
            st = mlops_run_set_tag(r, name, "core");
        else
            st = mlops_run_log_metric(r, name, 0.25, 3);
        bool ok = !rejected(st);
        if (ok) {
            FUZZ_CHECK(st == MLOPS_OK, "run call %d gave %d", sel, st);
            if (sel == 1) {
                st = mlops_run_get_param(&got, r, name);
                check_string(st, got, "0.1", "param");
            } else if (sel == 2) {
                st = mlops_run_get_tag(&got, r, name);
                check_string(st, got, "core", "tag");
            } else {
                double v = 0;
                st = mlops_run_latest_metric(&v, r, name);
                FUZZ_CHECK(st == MLOPS_OK && v == 0.25, "metric read back %g (%d)", v, st);
            }
        }
        mlops_run_close(r);
        return ok;
    }
    case 4:   /* model name */
    case 5:   /* alias */
    case 6: { /* model tag key */
        mlops_registry *reg = NULL;
        if (mlops_registry_open(&reg, s) != MLOPS_OK)
            abort();
        bool ok = true;
        if (sel == 4) {
            mark(s);
            st = mlops_registry_create_model(reg, name, "d");
            ok = !rejected(st);
            if (ok) {
                FUZZ_CHECK(st == MLOPS_OK, "create model gave %d", st);
                st = mlops_registry_model_json(&got, reg, name);
                FUZZ_CHECK(st == MLOPS_OK, "model json of an accepted name gave %d", st);
                mlops_string_free(env, got);
            }
        } else {
            mlops_hash128 blob;
            int64_t ver = 0;
            mlops_register_options o;
            mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
            o.blob = &blob;
            if (mlops_store_blob_put(&blob, s, "weights", 7) != MLOPS_OK ||
                mlops_registry_register(&ver, reg, "churn", &o) != MLOPS_OK)
                abort();
            mark(s);
            if (sel == 5)
                st = mlops_registry_set_alias(reg, "churn", name, ver, NULL);
            else
                st = mlops_registry_set_model_tag(reg, "churn", name, "v");
            ok = !rejected(st);
            if (ok && sel == 5) {
                FUZZ_CHECK(st == MLOPS_OK, "set alias gave %d", st);
                char uri[600];
                snprintf(uri, sizeof(uri), "models:/churn@%s", name);
                int64_t rv = 0;
                st = mlops_registry_resolve(&rv, reg, uri);
                FUZZ_CHECK(st == MLOPS_OK && rv == ver, "alias resolves to %lld (%d)",
                           (long long)rv, st);
            } else if (ok) {
                FUZZ_CHECK(st == MLOPS_OK, "set model tag gave %d", st);
            }
        }
        mlops_registry_close(reg);
        return ok;
    }
    case 7:   /* feature view name */
    case 8: { /* feature name */
        mlops_feature_store *fs = NULL;
        if (mlops_feature_store_open(&fs, s) != MLOPS_OK)
            abort();
        const char *view = sel == 7 ? name : "user_stats";
        const char *feat = sel == 8 ? name : "clicks";
        mark(s);
        mlops_feature_view *v = apply_view(fs, view, feat, &st);
        bool ok = !rejected(st);
        if (ok) {
            FUZZ_CHECK(st == MLOPS_OK, "view apply gave %d", st);
            mlops_feature_view_close(v);
            st = mlops_feature_view_open(&v, fs, view);
            FUZZ_CHECK(st == MLOPS_OK, "view open of an accepted name gave %d", st);
            FUZZ_CHECK(strcmp(mlops_feature_view_name(v), view) == 0, "view name changed");
            FUZZ_CHECK(v->def->n_features == 1 && strcmp(v->def->features[0].name, feat) == 0,
                       "feature name changed");
            mlops_feature_view_close(v);
        }
        mlops_feature_store_close(fs);
        return ok;
    }
    case 9:    /* drift column name */
    case 10: { /* drift baseline name */
        mlops_drift_profile *p = NULL;
        st = mlops_drift_profile_create(&p, env, sel == 9 ? name : "age", NULL);
        if (sel == 9 && rejected(st))
            return false;
        FUZZ_CHECK(st == MLOPS_OK, "profile create gave %d", st);
        static const double vals[] = {1, 2, 3};
        if (mlops_drift_profile_add(p, vals, 3) != MLOPS_OK)
            abort();
        mlops_drift_profile *const ps[1] = {p};
        const char *bname = sel == 10 ? name : "base";
        mark(s);
        st = mlops_drift_baseline_save(s, bname, ps, 1, NULL, NULL, 0);
        bool ok = !rejected(st);
        if (ok) {
            FUZZ_CHECK(st == MLOPS_OK, "baseline save gave %d", st);
            mlops_drift_profile **out = NULL;
            size_t n = 0;
            st = mlops_drift_baseline_load(&out, &n, NULL, s, bname);
            FUZZ_CHECK(st == MLOPS_OK && n == 1, "baseline load gave %d (%zu profiles)", st, n);
            FUZZ_CHECK(strcmp(mlops_drift_profile_name(out[0]), mlops_drift_profile_name(p)) == 0,
                       "column name '%s' read back as '%s'", mlops_drift_profile_name(p),
                       mlops_drift_profile_name(out[0]));
            mlops_drift_profiles_free(out, n);
        }
        mlops_drift_profile_free(p);
        FUZZ_CHECK(ok || sel == 10, "a column name accepted at create was refused at save");
        return ok;
    }
    case 11: { /* rollout name */
        mlops_rollout_options o;
        mlops_rollout_options_init(&o, MLOPS_ROLLOUT_OPTIONS_VERSION);
        o.champion = 1;
        o.challenger = 2;
        mlops_rollout *r = NULL;
        st = mlops_rollout_create(&r, s, name, &o);
        if (rejected(st))
            return false;
        FUZZ_CHECK(st == MLOPS_OK, "rollout create gave %d", st);
        mlops_rollout_close(r);
        st = mlops_rollout_open(&r, s, name);
        FUZZ_CHECK(st == MLOPS_OK, "rollout open of an accepted name gave %d", st);
        mlops_rollout_close(r);
        return true;
    }
    default: { /* A/B experiment key */
        mlops_ab_experiment *e = NULL;
        st = mlops_ab_experiment_create(&e, env, name, NULL);
        if (rejected(st))
            return false;
        FUZZ_CHECK(st == MLOPS_OK, "experiment create gave %d", st);
        st = mlops_ab_experiment_save(e, s);
        FUZZ_CHECK(st == MLOPS_OK, "save of an accepted key gave %d", st);
        mlops_ab_experiment *l = NULL;
        st = mlops_ab_experiment_load(&l, s, name);
        FUZZ_CHECK(st == MLOPS_OK, "load of an accepted key gave %d", st);
        char *j1 = NULL, *j2 = NULL;
        FUZZ_CHECK(mlops_ab_experiment_json(&j1, e) == MLOPS_OK &&
                       mlops_ab_experiment_json(&j2, l) == MLOPS_OK,
                   "json of an experiment failed");
        /* saving records the start time; everything before it is the same */
        const char *cut = strstr(j1, "\"start_ms\"");
        size_t upto = cut ? (size_t)(cut - j1) : strlen(j1);
        FUZZ_CHECK(strncmp(j1, j2, upto) == 0, "the loaded experiment differs: %s vs %s", j1, j2);
        mlops_string_free(env, j1);
        mlops_string_free(env, j2);
        mlops_ab_experiment_free(l);
        mlops_ab_experiment_free(e);
        return true;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (env == NULL)
        env = fz_env_new(&counts);
    if (size < 1 || size > 1024)
        return 0;
    long live = atomic_load(&counts.live);
    int sel = data[0] % 13;
    char *name = malloc(size);
    if (name == NULL)
        abort();
    memcpy(name, data + 1, size - 1);
    name[size - 1] = '\0';
    mlops_store *s = NULL;
    if (mlops_store_open(&s, env, "mem:", NULL) != MLOPS_OK)
        abort();
    mark(s);
    bool ok = try_name(s, sel, name);
    if (!ok)
        FUZZ_CHECK(fingerprint(s) == before, "a rejected name changed the store");
    mlops_store_close(s);
    free(name);
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Regression tests for bugs the hardening work found in other modules.
 * Each runs as its own meson test; while a bug is open its test is marked
 * should_fail, so the suite stays green and turns red ("unexpected pass")
 * when the bug is fixed, and the mark is then dropped.
 *   test_known_bugs <name>   exits 0 when the behaviour is correct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mlops/mlops.h"
#include "testutil.h"

/* store.c, mlops_store_open() (fixed): mlops_store_options.reserved is
 * documented "must be 0" but a non-zero value was accepted, so a later
 * version could not give the field a meaning (STYLE.md §5). */
static int store_options_reserved(void)
{
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.reserved = 5;
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, "mem:", &o);
    mlops_store_close(s);
    printf("reserved=5 gave %s\n", mlops_status_name(st));
    return st == MLOPS_E_INVALID ? 0 : 1;
}

/* src/core/error.c, mlops__error() and mlops_error_set() (fixed): the
 * message was formatted straight into the thread's buffer, so a caller that
 * wraps the previous message ("...: %s", mlops_error_message()) passed an
 * overlapping source to vsnprintf (undefined; glibc lost the inner text;
 * valgrind reports it). Seen from src/store/file/blob.c and src/run/run.c. */
static int error_wraps_previous(void)
{
    mlops_error_set(MLOPS_E_NOMEM, "out of memory");
    mlops__error(MLOPS_E_CORRUPT, "blob 'x' does not decompress: %s", mlops_error_message());
    printf("wrapped message: '%s'\n", mlops_error_message());
    if (strcmp(mlops_error_message(), "blob 'x' does not decompress: out of memory") != 0)
        return 1;
    mlops_error_set(MLOPS_E_IO, "abc");
    mlops_error_set(MLOPS_E_IO, mlops_error_message());
    return strcmp(mlops_error_message(), "abc") == 0 ? 0 : 1;
}


/* ---- found by the scenario allocation sweeps (fixed) ----
 * Each fails the k-th allocation of one call, for every k, and checks that
 * a failed call changed nothing (I3) or left the state of the call done. */

#define SWEEP_K(a, k) ((a)->fail_at = (a)->calls + (k), (a)->failures = 0)
#define REG_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* The counting, failing allocator of testutil.h, without Check (these
 * cases run as plain programs). */
static void *rb_malloc(size_t size, void *payload)
{
    tu_alloc *a = payload;
    a->calls++;
    if (a->fail_at > 0 && a->calls == a->fail_at) {
        a->failures++;
        return NULL;
    }
    void *p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static void *rb_realloc(void *ptr, size_t size, void *payload)
{
    tu_alloc *a = payload;
    a->calls++;
    if (a->fail_at > 0 && a->calls == a->fail_at) {
        a->failures++;
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && ptr == NULL)
        a->live++;
    return p;
}

static void rb_free(void *ptr, void *payload)
{
    tu_alloc *a = payload;
    if (ptr) {
        a->live--;
        free(ptr);
    }
}

static int64_t rb_clock(void *payload)
{
    (void)payload;
    return 1700000000000000000LL;
}

static mlops_env *rb_env(tu_alloc *a)
{
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    o.clock_fn = rb_clock;
    o.malloc_fn = rb_malloc;
    o.realloc_fn = rb_realloc;
    o.free_fn = rb_free;
    o.alloc_payload = a;
    mlops_env *env = NULL;
    if (mlops_env_create(&env, &o) != MLOPS_OK)
        abort();
    return env;
}

static uint64_t keys_of(mlops_store *s)
{
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    if (mlops_store_info(&info, s) != MLOPS_OK)
        return UINT64_MAX;
    return info.keys;
}

/* src/rollout/rollout.c, mlops_rollout_create(): the rollout was stored,
 * then reading its version back failed with NOMEM, so the caller had no
 * handle and a retry got EXISTS. */
static int rollout_create_after_store(void)
{
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_store *s = NULL;
        REG_CHECK(mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK, "open");
        mlops_rollout_options o;
        mlops_rollout_options_init(&o, MLOPS_ROLLOUT_OPTIONS_VERSION);
        o.champion = 1;
        o.challenger = 2;
        mlops_rollout *r = NULL;
        SWEEP_K(&a, k);
        mlops_status st = mlops_rollout_create(&r, s, "ranker", &o);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        if (st != MLOPS_OK) {
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
            mlops_rollout *r2 = NULL;
            mlops_status s2 = mlops_rollout_open(&r2, s, "ranker");
            mlops_rollout_close(r2);
            REG_CHECK(s2 == MLOPS_E_NOTFOUND, "k=%ld: create failed but the rollout is stored", k);
        }
        mlops_rollout_close(r);
        mlops_store_close(s);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (!hit)
            return 0;
    }
}

static mlops_status feature_setup(mlops_feature_store **fs, mlops_store *s)
{
    static const mlops_feature_spec spec = {"conv_rate", MLOPS_FEATURE_FLOAT64, 0, 0, 0,
                                            NULL,        NULL,                  0, NULL};
    static const char *const keys[] = {"driver_id"};
    mlops_feature_view_options o;
    mlops_feature_view_options_init(&o, MLOPS_FEATURE_VIEW_OPTIONS_VERSION);
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = &spec;
    o.n_features = 1;
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_store_open(fs, s);
    if (st == MLOPS_OK)
        st = mlops_feature_view_apply(&v, *fs, "stats", &o);
    const int64_t id[2] = {1, 2}, ts[2] = {1000000, 2000000};
    const double cv[2] = {0.5, 0.25};
    mlops_feature_table *t = NULL;
    if (st == MLOPS_OK)
        st = mlops_feature_table_create(&t, mlops_store_env(s));
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "driver_id", MLOPS_FEATURE_INT64, 0, id, NULL, 2);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts,
                                            NULL, 2);
    if (st == MLOPS_OK)
        st = mlops_feature_table_add_column(t, "conv_rate", MLOPS_FEATURE_FLOAT64, 0, cv, NULL, 2);
    if (st == MLOPS_OK)
        st = mlops_feature_view_ingest(NULL, v, t);
    mlops_feature_table_free(t);
    mlops_feature_view_close(v);
    return st;
}

/* src/feature/join.c, refset_parse(): a failed allocation while the output
 * column's name was formatted named the column "" and the join succeeded. */
static int feature_join_unnamed_column(void)
{
    static const char *const refs[] = {"stats:conv_rate"};
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_store *s = NULL;
        mlops_feature_store *fs = NULL;
        REG_CHECK(mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK, "open");
        REG_CHECK(feature_setup(&fs, s) == MLOPS_OK, "setup: %s", mlops_error_message());
        const int64_t id[1] = {1}, ts[1] = {1500000};
        mlops_feature_table *e = NULL, *out = NULL;
        REG_CHECK(mlops_feature_table_create(&e, env) == MLOPS_OK, "table");
        mlops_feature_table_add_column(e, "driver_id", MLOPS_FEATURE_INT64, 0, id, NULL, 1);
        mlops_feature_table_add_column(e, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts, NULL, 1);
        SWEEP_K(&a, k);
        mlops_status st = mlops_feature_store_join(&out, fs, e, refs, 1, NULL);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        size_t col = 0;
        if (st == MLOPS_OK)
            REG_CHECK(mlops_feature_table_find(&col, out, "conv_rate") == MLOPS_OK,
                      "k=%ld: the join succeeded without its conv_rate column", k);
        else
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
        mlops_feature_table_free(out);
        mlops_feature_table_free(e);
        mlops_feature_store_close(fs);
        mlops_store_close(s);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (!hit)
            return 0;
    }
}

/* src/feature/online.c, mlops_feature_online_materialize(): into the
 * offline store, the rows and the materialization state were two writes; a
 * failure between them left the rows without the state. */
static int feature_materialize_one_batch(void)
{
    uint64_t before = 0, after = 0;
    for (long k = 0;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_store *s = NULL;
        mlops_feature_store *fs = NULL;
        mlops_feature_online *on = NULL;
        REG_CHECK(mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK, "open");
        REG_CHECK(feature_setup(&fs, s) == MLOPS_OK, "setup: %s", mlops_error_message());
        REG_CHECK(mlops_feature_online_open(&on, fs, s) == MLOPS_OK, "online");
        uint64_t k0 = keys_of(s);
        if (k > 0)
            SWEEP_K(&a, k);
        mlops_status st = mlops_feature_online_materialize(NULL, on, "stats", 0, 5000000);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        uint64_t k1 = keys_of(s);
        if (k == 0) {
            REG_CHECK(st == MLOPS_OK, "reference: %s", mlops_error_message());
            before = k0;
            after = k1;
        } else if (st != MLOPS_OK) {
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
            REG_CHECK(k1 == before || k1 == after,
                      "k=%ld: %llu keys after a failed materialization (before %llu, after %llu)",
                      k, (unsigned long long)k1, (unsigned long long)before,
                      (unsigned long long)after);
        }
        mlops_feature_online_close(on);
        mlops_feature_store_close(fs);
        mlops_store_close(s);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (k > 0 && !hit)
            return 0;
    }
}

/* src/drift/profile.c, mlops_drift_profile_add_strings(): values added
 * before a failed allocation stayed, so a retry counted them twice. */
static int drift_add_strings_atomic(void)
{
    static const char *const first[] = {"a", "b", "c"};
    const char *more[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "n%d", i);
        more[i] = (i % 3) ? names[i] : "b";
    }
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_drift_profile_options o;
        mlops_drift_profile_options_init(&o, MLOPS_DRIFT_PROFILE_OPTIONS_VERSION);
        o.type = MLOPS_DRIFT_CATEGORICAL;
        mlops_drift_profile *p = NULL;
        REG_CHECK(mlops_drift_profile_create(&p, env, "plan", &o) == MLOPS_OK, "create");
        REG_CHECK(mlops_drift_profile_add_strings(p, first, 3) == MLOPS_OK, "add");
        mlops_drift_profile_stats s0 = {MLOPS_DRIFT_PROFILE_STATS_VERSION}, s1 = s0;
        mlops_drift_profile_summary(&s0, p);
        SWEEP_K(&a, k);
        mlops_status st = mlops_drift_profile_add_strings(p, more, 40);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        mlops_drift_profile_summary(&s1, p);
        if (st != MLOPS_OK) {
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
            REG_CHECK(s1.count == s0.count && s1.categories == s0.categories,
                      "k=%ld: a failed add changed the profile (count %llu -> %llu)", k,
                      (unsigned long long)s0.count, (unsigned long long)s1.count);
            REG_CHECK(mlops_drift_profile_add_strings(p, more, 40) == MLOPS_OK, "retry");
            mlops_drift_profile_summary(&s1, p);
        }
        REG_CHECK(s1.count == 43 && s1.categories == 3 + 26, "k=%ld: count %llu categories %llu",
                  k, (unsigned long long)s1.count, (unsigned long long)s1.categories);
        mlops_drift_profile_free(p);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (!hit)
            return 0;
    }
}

/* src/drift/monitor.c, feed(): a feed that closed a count window kept its
 * values when evaluating or recording the window failed, so a retry added
 * them twice. */
static int drift_feed_close_atomic(void)
{
    double base[50], cur[10];
    for (int i = 0; i < 50; i++)
        base[i] = i;
    for (int i = 0; i < 10; i++)
        cur[i] = 100 + i;
    char *ref = NULL;
    for (long k = 0;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_store *s = NULL;
        REG_CHECK(mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK, "open");
        mlops_drift_profile *p = NULL;
        REG_CHECK(mlops_drift_profile_from_values(&p, env, "x", base, 50, NULL) == MLOPS_OK,
                  "profile");
        mlops_drift_monitor *m = NULL;
        REG_CHECK(mlops_drift_monitor_create(&m, env, s, "mon", &p, 1, NULL) == MLOPS_OK,
                  "monitor");
        mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_WINDOW_COUNT, 10);
        REG_CHECK(mlops_drift_monitor_feed(m, "x", cur, 5) == MLOPS_OK, "feed");
        if (k > 0)
            SWEEP_K(&a, k);
        mlops_status st = mlops_drift_monitor_feed(m, "x", cur + 5, 5);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        if (st != MLOPS_OK) {
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
            REG_CHECK(mlops_drift_monitor_windows(m) == 0, "k=%ld: a failed feed closed a window",
                      k);
            REG_CHECK(mlops_drift_monitor_feed(m, "x", cur + 5, 5) == MLOPS_OK, "retry");
        }
        char *json = NULL;
        REG_CHECK(mlops_drift_history_json(&json, s, "mon", 0) == MLOPS_OK, "history");
        if (k == 0)
            ref = strdup(json);
        else
            REG_CHECK(strcmp(json, ref) == 0, "k=%ld: history after a retried feed differs:\n%s",
                      k, json);
        mlops_string_free(env, json);
        mlops_drift_monitor_close(m);
        mlops_drift_profile_free(p);
        mlops_store_close(s);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (k > 0 && !hit) {
            free(ref);
            return 0;
        }
    }
}

/* src/registry/registry.c, mlops_registry_promote(): a passing gate's
 * blessing and the transition were two writes; a failure between them left
 * the blessing stored without the transition. */
static int registry_gate_bless_atomic(void)
{
    static const char *const gate[] = {"val_auc >= 0.5"};
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = rb_env(&a);
        mlops_store *s = NULL;
        REG_CHECK(mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK, "open");
        char *exp = NULL;
        mlops_run *run = NULL;
        mlops_registry *reg = NULL;
        mlops_run_options ro;
        mlops_run_options_init(&ro, MLOPS_RUN_OPTIONS_VERSION);
        ro.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
        REG_CHECK(mlops_experiment_get_or_create(&exp, s, "e") == MLOPS_OK &&
                      mlops_run_create(&run, s, exp, &ro) == MLOPS_OK &&
                      mlops_run_log_metric(run, "val_auc", 0.9, 0) == MLOPS_OK &&
                      mlops_run_log_artifact_bytes(run, "m.bin", "model", 5) == MLOPS_OK &&
                      mlops_registry_open(&reg, s) == MLOPS_OK,
                  "setup: %s", mlops_error_message());
        mlops_register_options o;
        mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
        o.run_id = mlops_run_id(run);
        o.artifact_path = "m.bin";
        int64_t v = 0;
        REG_CHECK(mlops_registry_register(&v, reg, "m", &o) == MLOPS_OK, "register: %s",
                  mlops_error_message());
        char *j0 = NULL, *j1 = NULL;
        REG_CHECK(mlops_registry_version_json(&j0, reg, "m", 1) == MLOPS_OK, "json");
        mlops_promote_options po;
        mlops_promote_options_init(&po, MLOPS_PROMOTE_OPTIONS_VERSION);
        po.gate_exprs = gate;
        po.n_gate_exprs = 1;
        SWEEP_K(&a, k);
        mlops_status st = mlops_registry_promote(NULL, reg, "m", 1, "Staging", &po);
        a.fail_at = 0;
        bool hit = a.failures > 0;
        REG_CHECK(mlops_registry_version_json(&j1, reg, "m", 1) == MLOPS_OK, "json");
        uint32_t stage = 0;
        REG_CHECK(mlops_registry_stage(&stage, reg, "m", 1) == MLOPS_OK, "stage");
        if (st != MLOPS_OK) {
            REG_CHECK(st == MLOPS_E_NOMEM, "k=%ld: %s", k, mlops_status_name(st));
            REG_CHECK(stage == MLOPS_STAGE_STAGING || strcmp(j0, j1) == 0,
                      "k=%ld: a failed promotion left the version changed:\n%s\n%s", k, j0, j1);
        }
        mlops_string_free(env, j0);
        mlops_string_free(env, j1);
        mlops_string_free(env, exp);
        mlops_registry_close(reg);
        mlops_run_close(run);
        mlops_store_close(s);
        mlops_env_free(env);
        REG_CHECK(a.live == 0, "k=%ld: leak", k);
        if (!hit)
            return 0;
    }
}

static const struct {
    const char *name;
    int (*fn)(void);
} bugs[] = {
    {"store_options_reserved", store_options_reserved},
    {"error_wraps_previous", error_wraps_previous},
    {"rollout_create_after_store", rollout_create_after_store},
    {"feature_join_unnamed_column", feature_join_unnamed_column},
    {"feature_materialize_one_batch", feature_materialize_one_batch},
    {"drift_add_strings_atomic", drift_add_strings_atomic},
    {"drift_feed_close_atomic", drift_feed_close_atomic},
    {"registry_gate_bless_atomic", registry_gate_bless_atomic},
};

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    for (size_t i = 0; i < sizeof(bugs) / sizeof(bugs[0]); i++)
        if (strcmp(argv[1], bugs[i].name) == 0)
            return bugs[i].fn();
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}

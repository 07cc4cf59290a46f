/* SPDX-License-Identifier: MIT */
/* The drift scenario: profile, store, compare, monitor windows and alerts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlops/drift.h"
#include "scenarios.h"

#define BASELINE "churn-v1"
#define MONITOR "churn-mon"
#define WINDOW 200

enum { H_AGE, H_PLAN, H_MON, H_ALERTS };

static const char *const plans[] = {"free", "basic", "pro", "team"};

static size_t drift_n(int scale)
{
    (void)scale;
    return 10;
}

static void drift_release(sweep_ctx *c)
{
    mlops_drift_monitor_close(c->h[H_MON]);
    mlops_drift_profile_free(c->h[H_AGE]);
    mlops_drift_profile_free(c->h[H_PLAN]);
    free(c->h[H_ALERTS]);
}

/* A deterministic sample: value k of n, shifted by `shift` standard units. */
static void ages(double *out, size_t n, double shift, unsigned seed)
{
    for (size_t k = 0; k < n; k++) {
        seed = seed * 1103515245u + 12345u;
        double u = ((seed >> 8) & 0xffff) / 65536.0;
        out[k] = 40.0 + 12.0 * (u - 0.5) * 3.4 + 12.0 * shift;
    }
}

static void plan_values(const char **out, size_t n, bool shifted)
{
    for (size_t k = 0; k < n; k++)
        out[k] = shifted ? plans[k % 5 < 4 ? 3 : 0] : plans[k % 4];
}

static mlops_status build_baseline(sweep_ctx *c)
{
    if (c->h[H_AGE] != NULL)
        return MLOPS_OK;
    double v[1000];
    const char *s[1000];
    ages(v, 1000, 0, 7);
    plan_values(s, 1000, false);
    mlops_drift_profile_options o;
    mlops_drift_profile_options_init(&o, MLOPS_DRIFT_PROFILE_OPTIONS_VERSION);
    o.keep_values = 1000;
    mlops_drift_profile *age = NULL, *plan = NULL;
    mlops_status st = mlops_drift_profile_from_values(&age, c->env, "age", v, 1000, &o);
    mlops_drift_profile_options_init(&o, MLOPS_DRIFT_PROFILE_OPTIONS_VERSION);
    o.type = MLOPS_DRIFT_CATEGORICAL;
    if (st == MLOPS_OK)
        st = mlops_drift_profile_create(&plan, c->env, "plan", &o);
    if (st == MLOPS_OK)
        st = mlops_drift_profile_add_strings(plan, s, 1000);
    if (st == MLOPS_OK)
        st = mlops_drift_profile_add_missing(plan, 3);
    if (st != MLOPS_OK) {
        mlops_drift_profile_free(age);
        mlops_drift_profile_free(plan);
        return st;
    }
    c->h[H_AGE] = age;
    c->h[H_PLAN] = plan;
    return MLOPS_OK;
}

static int on_alert(const mlops_drift_column *col, int64_t window, void *payload)
{
    (void)col, (void)window;
    (*(int *)payload)++;
    return 0;
}

/* Load the stored baseline, profile a shifted sample like it, and compare:
 * both columns must drift. */
static mlops_status compare_check(sweep_ctx *c)
{
    mlops_drift_profile **base = NULL;
    size_t nb = 0;
    char *info = NULL;
    mlops_status st = mlops_drift_baseline_load(&base, &nb, &info, c->store, BASELINE);
    mlops_string_free(c->env, info);
    if (st != MLOPS_OK)
        return st;
    mlops_drift_profile *cur[2] = {NULL, NULL};
    double v[300];
    const char *s[300];
    ages(v, 300, 1.0, 11);
    plan_values(s, 300, true);
    for (size_t i = 0; i < 2 && st == MLOPS_OK; i++)
        st = mlops_drift_profile_create_like(&cur[i], base[i]);
    for (size_t i = 0; i < 2 && st == MLOPS_OK; i++)
        st = strcmp(mlops_drift_profile_name(cur[i]), "age") == 0
                 ? mlops_drift_profile_add(cur[i], v, 300)
                 : mlops_drift_profile_add_strings(cur[i], s, 300);
    mlops_drift_report *r = NULL;
    if (st == MLOPS_OK)
        st = mlops_drift_compare(&r, base, nb, cur, 2, NULL);
    double share = 0;
    uint32_t dataset = 0;
    if (st == MLOPS_OK)
        st = mlops_drift_report_summary(&share, &dataset, r);
    if (st == MLOPS_OK && (share != 1.0 || dataset != 1))
        st = sweep_fail("the shifted sample did not drift");
    char *json = NULL;
    if (st == MLOPS_OK)
        st = mlops_drift_report_json(&json, r);
    mlops_string_free(c->env, json);
    mlops_drift_report_free(r);
    mlops_drift_profile_free(cur[0]);
    mlops_drift_profile_free(cur[1]);
    mlops_drift_profiles_free(base, nb);
    return st;
}

static mlops_status drift_step(sweep_ctx *c, size_t i)
{
    mlops_drift_monitor *m = c->h[H_MON];
    double v[WINDOW];
    const char *s[WINDOW];
    switch (i) {
    case 0:
        return sweep_open_store(c);
    case 1: {
        mlops_status st = build_baseline(c);
        mlops_drift_profile *p[2] = {c->h[H_AGE], c->h[H_PLAN]};
        if (st == MLOPS_OK)
            st = mlops_drift_baseline_save(c->store, BASELINE, p, 2, NULL, "churn-clf", 1);
        return st;
    }
    case 2:
        return compare_check(c);
    case 3: {
        /* a monitor on the baseline: a window closes after 200 values of
         * a column, is recorded in the store and fires alerts */
        mlops_drift_profile *p[2] = {c->h[H_AGE], c->h[H_PLAN]};
        mlops_drift_monitor *mon = NULL;
        mlops_status st = mlops_drift_monitor_create(&mon, c->env, c->store, MONITOR, p, 2, NULL);
        if (st == MLOPS_OK)
            st = mlops_drift_monitor_set_param(mon, MLOPS_DRIFT_PARAM_WINDOW_COUNT, WINDOW);
        if (st == MLOPS_OK && c->h[H_ALERTS] == NULL) {
            c->h[H_ALERTS] = calloc(1, sizeof(int));
            ck_assert_ptr_nonnull(c->h[H_ALERTS]);
        }
        if (st == MLOPS_OK)
            st = mlops_drift_monitor_set_alert(mon, on_alert, c->h[H_ALERTS]);
        if (st != MLOPS_OK) {
            mlops_drift_monitor_close(mon);
            return st;
        }
        c->h[H_MON] = mon;
        return MLOPS_OK;
    }
    case 4:
        plan_values(s, 150, false);
        return mlops_drift_monitor_feed_strings(m, "plan", s, 150);
    case 5: /* closes window 0, no drift */
        ages(v, WINDOW, 0, 21);
        return mlops_drift_monitor_feed(m, "age", v, WINDOW);
    case 6:
        plan_values(s, 150, true);
        return mlops_drift_monitor_feed_strings(m, "plan", s, 150);
    case 7: { /* closes window 1: both columns drift, alerts fire */
        ages(v, WINDOW, 1.5, 23);
        mlops_status st = mlops_drift_monitor_feed(m, "age", v, WINDOW);
        if (st == MLOPS_OK && *(int *)c->h[H_ALERTS] != 2)
            st = sweep_fail("expected 2 alerts, got %d",
                                 *(int *)c->h[H_ALERTS]);
        return st;
    }
    case 8: {
        char *json = NULL;
        mlops_status st = mlops_drift_history_json(&json, c->store, MONITOR, 0);
        if (st == MLOPS_OK && (strstr(json, "\"window\": 1") == NULL))
            st = sweep_fail("history lacks window 1: %s", json);
        mlops_string_free(c->env, json);
        return st;
    }
    default:
        return mlops_store_flush(c->store);
    }
}

/* What a drift user sees: the stored baseline (its info and each profile
 * as JSON), the monitor's window history, and the raw key count. */
static uint64_t drift_state(mlops_store *s)
{
    uint64_t keys = sweep_key_count(s);
    uint64_t h = mlops_hash64(&keys, sizeof(keys), 0);
    mlops_env *env = mlops_store_env(s);
    mlops_drift_profile **base = NULL;
    size_t nb = 0;
    char *info = NULL;
    mlops_status st = mlops_drift_baseline_load(&base, &nb, &info, s, BASELINE);
    h = mlops_hash64(&st, sizeof(st), h);
    if (st == MLOPS_OK) {
        h = sweep_hash_text(h, info);
        for (size_t i = 0; i < nb; i++) {
            char *json = NULL;
            tu_assert_ok(mlops_drift_profile_json(&json, base[i]));
            h = sweep_hash_text(h, json);
            mlops_string_free(env, json);
        }
        mlops_string_free(env, info);
        mlops_drift_profiles_free(base, nb);
    } else {
        ck_assert_msg(st == MLOPS_E_NOTFOUND, "drift state: %s", mlops_error_message());
    }
    char *json = NULL;
    tu_assert_ok(mlops_drift_history_json(&json, s, MONITOR, 0));
    h = sweep_hash_text(h, json);
    mlops_string_free(env, json);
    return h;
}

static bool drift_idempotent(size_t i, int scale)
{
    (void)scale;
    /* reads, the monitor (a handle; its window sequence is read from the
     * store) and the flush; a baseline is saved once, feeding adds values */
    return i == 2 || i == 3 || i == 8 || i == 9;
}

const sweep_scenario scenario_drift = {"drift",     drift_n,          drift_step, drift_release,
                                       drift_state, drift_idempotent, {0}};

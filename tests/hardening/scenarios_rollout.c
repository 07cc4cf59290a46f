/* SPDX-License-Identifier: MIT */
/* The rollout scenario: an experiment with sticky assignment, a canary
 * rollout that advances a stage and then rolls back on a trigger, and an
 * analysis. */
#include <stdio.h>
#include <string.h>

#include "mlops/rollout.h"
#include "scenarios.h"

#define EXP_KEY "checkout-button"
#define ROLLOUT "ranker-v2"
#define USERS 120

enum { H_EXP, H_ROLLOUT };

static size_t ro_n(int scale)
{
    (void)scale;
    return 11;
}

static void ro_release(sweep_ctx *c)
{
    mlops_ab_experiment_free(c->h[H_EXP]);
    mlops_rollout_close(c->h[H_ROLLOUT]);
}

static void user_id(char *buf, size_t cap, int u)
{
    snprintf(buf, cap, "user-%04d", u);
}

/* Assign every user with the saved experiment and the one in memory: the
 * same variant both times (sticky), and every variant used. */
static mlops_status assign_check(sweep_ctx *c)
{
    mlops_ab_experiment *loaded = NULL;
    mlops_status st = mlops_ab_experiment_load(&loaded, c->store, EXP_KEY);
    int seen[3] = {0, 0, 0};
    for (int u = 0; u < USERS && st == MLOPS_OK; u++) {
        char id[32];
        user_id(id, sizeof(id), u);
        int32_t a = 0, b = 0;
        double x = 0, y = 0;
        st = mlops_ab_experiment_assign(&a, &x, c->h[H_EXP], id, strlen(id));
        if (st == MLOPS_OK)
            st = mlops_ab_experiment_assign(&b, &y, loaded, id, strlen(id));
        if (st == MLOPS_OK && (a != b || x != y))
            st = sweep_fail("user %d changed variant after a reload", u);
        if (st == MLOPS_OK && a >= 0 && a < 3)
            seen[a]++;
    }
    if (st == MLOPS_OK && (seen[0] == 0 || seen[1] == 0 || seen[2] == 0))
        st = sweep_fail("a variant got no users");
    mlops_ab_experiment_free(loaded);
    return st;
}

/* Route every user, and record an outcome for each: the challenger fails
 * one request in `fail_every` (0: never). Records never touch storage. */
static mlops_status serve(sweep_ctx *c, int fail_every)
{
    mlops_rollout *r = c->h[H_ROLLOUT];
    mlops_status st = MLOPS_OK;
    for (int u = 0; u < USERS && st == MLOPS_OK; u++) {
        char id[32];
        user_id(id, sizeof(id), u);
        uint32_t route = 0;
        int64_t version = 0;
        st = mlops_rollout_route(&route, &version, r, id, strlen(id));
        uint32_t arm = route & 0xff;
        if (st == MLOPS_OK && version != (arm == MLOPS_ROLLOUT_ARM_CHALLENGER ? 8 : 7))
            st = sweep_fail("route and version disagree");
        uint32_t flags = MLOPS_ROLLOUT_OUTCOME_METRIC;
        if (arm == MLOPS_ROLLOUT_ARM_CHALLENGER && fail_every && u % fail_every == 0)
            flags |= MLOPS_ROLLOUT_OUTCOME_ERROR;
        if (st == MLOPS_OK)
            st = mlops_rollout_record(r, arm, 20.0 + u % 13, flags, (u % 3) == 0 ? 1.0 : 0.0);
    }
    return st;
}

static mlops_status check_state(sweep_ctx *c, uint32_t want, double want_share)
{
    uint32_t state = 0;
    mlops_status st = mlops_rollout_check(&state, c->h[H_ROLLOUT]);
    if (st == MLOPS_OK &&
        (state != want || mlops_rollout_share(c->h[H_ROLLOUT]) != want_share))
        st = sweep_fail("rollout state %u share %g, expected %u %g",
                             state, mlops_rollout_share(c->h[H_ROLLOUT]), want, want_share);
    return st;
}

static mlops_status ro_step(sweep_ctx *c, size_t i)
{
    switch (i) {
    case 0:
        return sweep_open_store(c);
    case 1: {
        /* an experiment with three variants and a pre-registered plan */
        mlops_status st = MLOPS_OK;
        if (c->h[H_EXP] == NULL) {
            static const double w[3] = {0.5, 0.25, 0.25};
            mlops_ab_experiment_options o;
            mlops_ab_experiment_options_init(&o, MLOPS_AB_EXPERIMENT_OPTIONS_VERSION);
            o.n_variants = 3;
            o.weights = w;
            o.primary_metric = "checkout";
            o.guardrails = "latency_p99";
            o.baseline = 0.1;
            o.mde = 0.02;
            mlops_ab_experiment *e = NULL;
            st = mlops_ab_experiment_create(&e, c->env, EXP_KEY, &o);
            c->h[H_EXP] = e;
        }
        if (st == MLOPS_OK)
            st = mlops_ab_experiment_save(c->h[H_EXP], c->store);
        return st;
    }
    case 2:
        return assign_check(c);
    case 3: {
        static const double stages[3] = {0.2, 0.5, 1.0};
        mlops_rollout_options o;
        mlops_rollout_options_init(&o, MLOPS_ROLLOUT_OPTIONS_VERSION);
        o.champion = 7;
        o.challenger = 8;
        o.stages = stages;
        o.n_stages = 3;
        o.min_requests = 20;
        o.min_stage_ms = 1000;
        o.check_interval_ms = 1000;
        o.min_trigger_requests = 10;
        o.max_error_rate = 0.2;
        mlops_rollout *r = NULL;
        mlops_status st = mlops_rollout_create(&r, c->store, ROLLOUT, &o);
        c->h[H_ROLLOUT] = r;
        return st;
    }
    case 4: /* healthy traffic at 20 % */
        return serve(c, 0);
    case 5:
        return mlops_rollout_flush(c->h[H_ROLLOUT]);
    case 6: /* a check 2 s later: the canary advances to 50 % */
        sweep_set_time(c, 2000);
        return check_state(c, MLOPS_ROLLOUT_RUNNING, 0.5);
    case 7: /* the challenger fails every other request */
        return serve(c, 2);
    case 8: /* the error-rate trigger rolls back */
        sweep_set_time(c, 4000);
        return check_state(c, MLOPS_ROLLOUT_ROLLED_BACK, 0.0);
    case 9: {
        /* analysis of the experiment's outcomes against its plan */
        static const mlops_ab_variant_stats vs[3] = {
            {"control", 5000, 500, 0}, {"green", 2500, 290, 0}, {"blue", 2500, 255, 0}};
        mlops_ab_experiment *plan = NULL;
        mlops_status st = mlops_ab_experiment_load(&plan, c->store, EXP_KEY);
        mlops_ab_analyze_options o;
        mlops_ab_analyze_options_init(&o, MLOPS_AB_ANALYZE_OPTIONS_VERSION);
        static const double planned[3] = {0.5, 0.25, 0.25};
        o.planned = planned;
        o.plan = plan;
        o.now_ms = 1700000000000LL + 30LL * 86400000LL;
        char *json = NULL;
        if (st == MLOPS_OK)
            st = mlops_ab_analyze(&json, c->env, vs, 3, &o);
        mlops_string_free(c->env, json);
        mlops_ab_experiment_free(plan);
        char *status = NULL;
        if (st == MLOPS_OK)
            st = mlops_rollout_status_json(&status, c->h[H_ROLLOUT]);
        mlops_string_free(c->env, status);
        return st;
    }
    default:
        return mlops_store_flush(c->store);
    }
}

/* What a user sees: the saved experiment, the rollout's status (stage,
 * share, per-arm outcomes) and history, and the raw key count. */
static uint64_t ro_state(mlops_store *s)
{
    uint64_t keys = sweep_key_count(s);
    uint64_t h = mlops_hash64(&keys, sizeof(keys), 0);
    mlops_env *env = mlops_store_env(s);
    mlops_ab_experiment *e = NULL;
    mlops_status st = mlops_ab_experiment_load(&e, s, EXP_KEY);
    h = mlops_hash64(&st, sizeof(st), h);
    if (st == MLOPS_OK) {
        char *json = NULL;
        tu_assert_ok(mlops_ab_experiment_json(&json, e));
        h = sweep_hash_text(h, json);
        mlops_string_free(env, json);
        mlops_ab_experiment_free(e);
    } else {
        ck_assert_msg(st == MLOPS_E_NOTFOUND, "rollout state: %s", mlops_error_message());
    }
    mlops_rollout *r = NULL;
    st = mlops_rollout_open(&r, s, ROLLOUT);
    h = mlops_hash64(&st, sizeof(st), h);
    if (st == MLOPS_OK) {
        char *json = NULL;
        tu_assert_ok(mlops_rollout_status_json(&json, r));
        h = sweep_hash_text(h, json);
        mlops_string_free(env, json);
        json = NULL;
        tu_assert_ok(mlops_rollout_history_json(&json, r));
        h = sweep_hash_text(h, json);
        mlops_string_free(env, json);
        mlops_rollout_close(r);
    } else {
        ck_assert_msg(st == MLOPS_E_NOTFOUND, "rollout state: %s", mlops_error_message());
    }
    return h;
}

static bool ro_idempotent(size_t i, int scale)
{
    (void)scale;
    /* saving the same experiment, reads, flushing the same counters;
     * creating the rollout, serving (records) and checks are not */
    return i == 1 || i == 2 || i == 5 || i == 9 || i == 10;
}

const sweep_scenario scenario_rollout = {"rollout", ro_n,          ro_step, ro_release,
                                         ro_state,  ro_idempotent, {0}};

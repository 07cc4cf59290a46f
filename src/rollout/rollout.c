/* SPDX-License-Identifier: MIT */
/* Rollouts: a champion and a challenger, shadow and canary stages, rollback
 * triggers on error rate, p99 latency (a logarithmic sketch) and a business
 * metric, with the state and outcomes kept in the store.
 *
 * Concurrency: route() reads one packed atomic word; record() adds to atomic
 * counters. Control calls (check, rollback, flush) take the handle's mutex,
 * read the stored state, add what this handle recorded since its last flush,
 * decide, and write back with a compare-and-set on the state's version, so
 * several processes can share one rollout. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "rollout/rollout_internal.h"
#include "stats/abtest.h"
#include "stats/special.h"
#include "store/store_internal.h"

/* ---- the latency sketch: DDSketch-style log buckets, relative error 1% ---- */

#define SK_BINS 1200
#define SK_OFFSET 346 /* index of 1 microsecond (1e-3 ms) is -345 */
static const double sk_gamma = (1.0 + MLOPS_ROLLOUT_SKETCH_RELATIVE_ERROR) /
                               (1.0 - MLOPS_ROLLOUT_SKETCH_RELATIVE_ERROR);
#define SK_MIN_MS 1e-3

static int sk_index(double ms)
{
    if (ms < SK_MIN_MS)
        return -1; /* the zero bucket */
    int i = (int)ceil(log(ms) / log(sk_gamma)) + SK_OFFSET;
    if (i < 0)
        i = 0;
    if (i >= SK_BINS)
        i = SK_BINS - 1;
    return i;
}

static double sk_value(int i)
{
    return 2.0 * pow(sk_gamma, (double)(i - SK_OFFSET)) / (sk_gamma + 1.0);
}

/* Plain counts (a snapshot, a stored total or a stage baseline). */
typedef struct counts {
    uint64_t requests, errors, metric_n, zero, agree_n, agree_yes;
    double metric_sum, metric_sq;
    uint64_t bins[SK_BINS];
} counts;

typedef struct live_counts {
    _Atomic uint64_t requests, errors, metric_n, zero, agree_n, agree_yes;
    _Atomic uint64_t metric_sum_bits, metric_sq_bits;
    _Atomic uint64_t bins[SK_BINS];
} live_counts;

static void atomic_add_f64(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    for (;;) {
        double d;
        memcpy(&d, &old, 8);
        d += v;
        uint64_t nv;
        memcpy(&nv, &d, 8);
        if (atomic_compare_exchange_weak_explicit(a, &old, nv, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

static double bits_f64(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static void live_snapshot(counts *c, live_counts *l)
{
    c->requests = atomic_load(&l->requests);
    c->errors = atomic_load(&l->errors);
    c->metric_n = atomic_load(&l->metric_n);
    c->zero = atomic_load(&l->zero);
    c->agree_n = atomic_load(&l->agree_n);
    c->agree_yes = atomic_load(&l->agree_yes);
    c->metric_sum = bits_f64(atomic_load(&l->metric_sum_bits));
    c->metric_sq = bits_f64(atomic_load(&l->metric_sq_bits));
    for (int i = 0; i < SK_BINS; i++)
        c->bins[i] = atomic_load_explicit(&l->bins[i], memory_order_relaxed);
}

/* out = a + (b - c), component-wise. */
static void counts_add_delta(counts *out, const counts *a, const counts *b, const counts *c)
{
    out->requests = a->requests + (b->requests - c->requests);
    out->errors = a->errors + (b->errors - c->errors);
    out->metric_n = a->metric_n + (b->metric_n - c->metric_n);
    out->zero = a->zero + (b->zero - c->zero);
    out->agree_n = a->agree_n + (b->agree_n - c->agree_n);
    out->agree_yes = a->agree_yes + (b->agree_yes - c->agree_yes);
    out->metric_sum = a->metric_sum + (b->metric_sum - c->metric_sum);
    out->metric_sq = a->metric_sq + (b->metric_sq - c->metric_sq);
    for (int i = 0; i < SK_BINS; i++)
        out->bins[i] = a->bins[i] + (b->bins[i] - c->bins[i]);
}

static void counts_sub(counts *out, const counts *a, const counts *b)
{
    counts zero;
    memset(&zero, 0, sizeof(zero));
    /* a - b == 0 + (a - b) */
    counts_add_delta(out, &zero, a, b);
}

/* The q-quantile of the sketch (DDSketch: rank q (n - 1)), NaN if empty. */
static double counts_quantile(const counts *c, double q)
{
    uint64_t n = c->zero;
    for (int i = 0; i < SK_BINS; i++)
        n += c->bins[i];
    if (n == 0)
        return NAN;
    double rank = q * (double)(n - 1);
    uint64_t cum = c->zero;
    if ((double)cum > rank)
        return 0.0;
    for (int i = 0; i < SK_BINS; i++) {
        cum += c->bins[i];
        if ((double)cum > rank)
            return sk_value(i);
    }
    return sk_value(SK_BINS - 1);
}

/* ---- the handle ---- */

#define MAX_STAGES 32
#define STATE_SHIFT 62
#define SHADOW_BIT (1ull << 61)
#define SHARE_MASK ((1ull << 54) - 1)

typedef struct plan {
    int64_t champion, challenger;
    char *model, *alias;
    double stages[MAX_STAGES];
    uint32_t n_stages, shadow;
    uint64_t min_requests;
    int64_t min_stage_ms, check_interval_ms;
    uint32_t failure_threshold;
    uint64_t min_trigger_requests;
    double max_error_rate, max_p99_ms, max_metric_drop, metric_alpha;
    uint32_t lower_is_better;
    double min_agreement;
} plan;

/* The stored, shared part of a rollout. */
typedef struct rstate {
    uint32_t status;
    uint32_t stage; /* 0 .. shadow + n_stages - 1 */
    int64_t created_ms, stage_start_ms, last_check_ms;
    uint32_t failed_checks;
    uint64_t next_seq;
    char reason[512];
    counts total[2];
    counts base[2];
} rstate;

struct mlops_rollout {
    mlops_store *store;
    mlops_env *env;
    char *name;
    plan p;
    uint64_t seed64;
    const mlops__rollout_registry_ops *reg;
    _Atomic uint64_t route_word;
    _Atomic uint64_t share_bits; /* the exact share, for mlops_rollout_share() */
    live_counts live[2];
    pthread_mutex_t mu;
    /* under mu */
    counts flushed[2]; /* live values at the last successful flush */
    rstate st;         /* the last state read or written */
    uint64_t st_version;
};

static uint64_t pack_route(const plan *p, const rstate *s)
{
    uint64_t word = (uint64_t)s->status << STATE_SHIFT;
    if (s->status == MLOPS_ROLLOUT_PROMOTED)
        return word | (1ull << 53);
    if (s->status != MLOPS_ROLLOUT_RUNNING)
        return word;
    if (p->shadow && s->stage == 0)
        return word | SHADOW_BIT;
    double share = p->stages[s->stage - (p->shadow ? 1 : 0)];
    return word | ((uint64_t)(share * 9007199254740992.0) & SHARE_MASK);
}

static double stage_share(const plan *p, const rstate *s)
{
    if (s->status == MLOPS_ROLLOUT_PROMOTED)
        return 1.0;
    if (s->status != MLOPS_ROLLOUT_RUNNING || (p->shadow && s->stage == 0))
        return 0.0;
    return p->stages[s->stage - (p->shadow ? 1 : 0)];
}

static void publish(mlops_rollout *r, const rstate *s)
{
    double share = stage_share(&r->p, s);
    uint64_t bits;
    memcpy(&bits, &share, 8);
    atomic_store_explicit(&r->share_bits, bits, memory_order_relaxed);
    atomic_store_explicit(&r->route_word, pack_route(&r->p, s), memory_order_release);
}

static void plan_free(const mlops_env *env, plan *p)
{
    mlops__free(env, p->model);
    mlops__free(env, p->alias);
    p->model = p->alias = NULL;
}

MLOPS_API void mlops_rollout_close(mlops_rollout *r)
{
    if (r == NULL)
        return;
    mlops_env *env = r->env;
    pthread_mutex_destroy(&r->mu);
    plan_free(env, &r->p);
    mlops__free(env, r->name);
    mlops_store *store = r->store;
    mlops__free(env, r);
    mlops__store_unref(store);
}

static mlops_status rollout_alloc(mlops_rollout **out, mlops_store *store, const char *name,
                                  const mlops__rollout_registry_ops *reg)
{
    mlops_env *env = mlops_store_env(store);
    mlops_rollout *r = mlops__calloc(env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->env = env;
    r->name = mlops__strdup(env, name);
    if (r->name == NULL) {
        mlops__free(env, r);
        return mlops__nomem();
    }
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        mlops__free(env, r->name);
        mlops__free(env, r);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create a mutex");
    }
    r->store = mlops__store_ref(store);
    r->reg = reg;
    /* The route seed: per rollout, so two rollouts split traffic independently. */
    r->seed64 = mlops__xxh3_64(name, strlen(name), 0x726f6c6c6f757421ull);
    *out = r;
    return MLOPS_OK;
}

/* ---- encoding ---- */

enum {
    S_CHAMPION = 1, S_CHALLENGER, S_MODEL, S_ALIAS, S_STAGE_SHARE, S_SHADOW, S_MIN_REQ,
    S_MIN_MS, S_INTERVAL, S_THRESHOLD, S_MIN_TRIG, S_MAX_ERR, S_MAX_P99, S_MAX_DROP, S_ALPHA,
    S_LOWER, S_MIN_AGREE, S_STATUS, S_STAGE, S_CREATED, S_STAGE_START, S_LAST_CHECK, S_FAILED,
    S_SEQ, S_REASON, S_COUNTS /* nested: arm, which (0 total, 1 base), counts */
};

enum { C_ARM = 1, C_WHICH, C_REQ, C_ERR, C_MN, C_ZERO, C_AN, C_AY, C_MSUM, C_MSQ, C_BINS };

static mlops_status put_counts(mlops__rec_writer *w, const mlops_env *env, uint32_t arm,
                               uint32_t which, const counts *c)
{
    mlops__rec_writer cw;
    mlops__rec_writer_init(&cw, env, 1, 0);
    mlops__rec_put_u64(&cw, C_ARM, arm);
    mlops__rec_put_u64(&cw, C_WHICH, which);
    mlops__rec_put_u64(&cw, C_REQ, c->requests);
    mlops__rec_put_u64(&cw, C_ERR, c->errors);
    mlops__rec_put_u64(&cw, C_MN, c->metric_n);
    mlops__rec_put_u64(&cw, C_ZERO, c->zero);
    mlops__rec_put_u64(&cw, C_AN, c->agree_n);
    mlops__rec_put_u64(&cw, C_AY, c->agree_yes);
    mlops__rec_put_f64(&cw, C_MSUM, c->metric_sum);
    mlops__rec_put_f64(&cw, C_MSQ, c->metric_sq);
    /* Bins sparse: varint index delta, varint count. */
    mlops__buf bins;
    mlops__buf_init(&bins, env);
    mlops_status st = MLOPS_OK;
    int last = 0;
    for (int i = 0; i < SK_BINS && st == MLOPS_OK; i++) {
        if (c->bins[i] == 0)
            continue;
        uint8_t v[20];
        size_t n = mlops__varint_put(v, (uint64_t)(i - last));
        n += mlops__varint_put(v + n, c->bins[i]);
        st = mlops__buf_append(&bins, v, n);
        last = i;
    }
    if (st == MLOPS_OK)
        mlops__rec_put_bytes(&cw, C_BINS, bins.data, bins.len);
    mlops__buf_free(&bins);
    if (st == MLOPS_OK)
        st = mlops__rec_writer_finish(&cw);
    if (st == MLOPS_OK)
        mlops__rec_put_bytes(w, S_COUNTS, cw.buf.data, cw.buf.len);
    mlops__rec_writer_free(&cw);
    return st;
}

static mlops_status encode_state(mlops__rec_writer *w, const mlops_rollout *r, const rstate *s)
{
    const plan *p = &r->p;
    mlops__rec_writer_init(w, r->env, 1, MLOPS__ROLLOUT_REC_STATE);
    mlops__rec_put_i64(w, S_CHAMPION, p->champion);
    mlops__rec_put_i64(w, S_CHALLENGER, p->challenger);
    mlops__rec_put_str(w, S_MODEL, p->model);
    mlops__rec_put_str(w, S_ALIAS, p->alias);
    for (uint32_t i = 0; i < p->n_stages; i++)
        mlops__rec_put_f64(w, S_STAGE_SHARE, p->stages[i]);
    mlops__rec_put_u64(w, S_SHADOW, p->shadow);
    mlops__rec_put_u64(w, S_MIN_REQ, p->min_requests);
    mlops__rec_put_i64(w, S_MIN_MS, p->min_stage_ms);
    mlops__rec_put_i64(w, S_INTERVAL, p->check_interval_ms);
    mlops__rec_put_u64(w, S_THRESHOLD, p->failure_threshold);
    mlops__rec_put_u64(w, S_MIN_TRIG, p->min_trigger_requests);
    mlops__rec_put_f64(w, S_MAX_ERR, p->max_error_rate);
    mlops__rec_put_f64(w, S_MAX_P99, p->max_p99_ms);
    mlops__rec_put_f64(w, S_MAX_DROP, p->max_metric_drop);
    mlops__rec_put_f64(w, S_ALPHA, p->metric_alpha);
    mlops__rec_put_u64(w, S_LOWER, p->lower_is_better);
    mlops__rec_put_f64(w, S_MIN_AGREE, p->min_agreement);
    mlops__rec_put_u64(w, S_STATUS, s->status);
    mlops__rec_put_u64(w, S_STAGE, s->stage);
    mlops__rec_put_i64(w, S_CREATED, s->created_ms);
    mlops__rec_put_i64(w, S_STAGE_START, s->stage_start_ms);
    mlops__rec_put_i64(w, S_LAST_CHECK, s->last_check_ms);
    mlops__rec_put_u64(w, S_FAILED, s->failed_checks);
    mlops__rec_put_u64(w, S_SEQ, s->next_seq);
    mlops__rec_put_str(w, S_REASON, s->reason);
    mlops_status st = MLOPS_OK;
    for (uint32_t arm = 0; arm < 2 && st == MLOPS_OK; arm++) {
        st = put_counts(w, r->env, arm, 0, &s->total[arm]);
        if (st == MLOPS_OK)
            st = put_counts(w, r->env, arm, 1, &s->base[arm]);
    }
    if (st != MLOPS_OK)
        return st;
    return mlops__rec_writer_finish(w);
}

static mlops_status decode_counts(const uint8_t *data, size_t len, rstate *s)
{
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, data, len, 1, 0, "rollout counts");
    if (st != MLOPS_OK)
        return st;
    counts c;
    memset(&c, 0, sizeof(c));
    uint64_t arm = 9, which = 9;
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case C_ARM: arm = f.u; break;
        case C_WHICH: which = f.u; break;
        case C_REQ: c.requests = f.u; break;
        case C_ERR: c.errors = f.u; break;
        case C_MN: c.metric_n = f.u; break;
        case C_ZERO: c.zero = f.u; break;
        case C_AN: c.agree_n = f.u; break;
        case C_AY: c.agree_yes = f.u; break;
        case C_MSUM: c.metric_sum = mlops__rec_as_f64(&f); break;
        case C_MSQ: c.metric_sq = mlops__rec_as_f64(&f); break;
        case C_BINS: {
            size_t pos = 0;
            uint64_t idx = 0;
            while (pos < f.n) {
                uint64_t d, cnt;
                size_t k = mlops__varint_get(f.p + pos, f.n - pos, &d);
                if (k == 0)
                    return mlops__error(MLOPS_E_CORRUPT, "rollout sketch bins are truncated");
                pos += k;
                k = mlops__varint_get(f.p + pos, f.n - pos, &cnt);
                if (k == 0)
                    return mlops__error(MLOPS_E_CORRUPT, "rollout sketch bins are truncated");
                pos += k;
                idx += d;
                if (idx >= SK_BINS)
                    return mlops__error(MLOPS_E_CORRUPT, "rollout sketch bin %llu is out of range",
                                        (unsigned long long)idx);
                c.bins[idx] = cnt;
            }
            break;
        }
        default: break;
        }
    }
    if (st != MLOPS_E_NOTFOUND)
        return st;
    if (arm > 1 || which > 1)
        return mlops__error(MLOPS_E_CORRUPT, "rollout counts name arm %llu, set %llu",
                            (unsigned long long)arm, (unsigned long long)which);
    if (which == 0)
        s->total[arm] = c;
    else
        s->base[arm] = c;
    return MLOPS_OK;
}

/* Decode a stored state; with p != NULL, also the plan (strings allocated). */
static mlops_status decode_state(const mlops_env *env, const uint8_t *data, size_t len, plan *p,
                                 rstate *s)
{
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, data, len, 1, MLOPS__ROLLOUT_REC_STATE,
                                             "rollout state");
    if (st != MLOPS_OK)
        return st;
    memset(s, 0, sizeof(*s));
    plan tmp;
    memset(&tmp, 0, sizeof(tmp));
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case S_CHAMPION: tmp.champion = mlops__rec_as_i64(&f); break;
        case S_CHALLENGER: tmp.challenger = mlops__rec_as_i64(&f); break;
        case S_MODEL:
        case S_ALIAS:
            if (p != NULL) {
                char **dst = f.tag == S_MODEL ? &tmp.model : &tmp.alias;
                mlops__free(env, *dst);
                *dst = mlops__rec_as_str(env, &f);
                if (*dst == NULL) {
                    plan_free(env, &tmp);
                    return mlops__nomem();
                }
            }
            break;
        case S_STAGE_SHARE:
            if (tmp.n_stages < MAX_STAGES)
                tmp.stages[tmp.n_stages++] = mlops__rec_as_f64(&f);
            break;
        case S_SHADOW: tmp.shadow = (uint32_t)f.u; break;
        case S_MIN_REQ: tmp.min_requests = f.u; break;
        case S_MIN_MS: tmp.min_stage_ms = mlops__rec_as_i64(&f); break;
        case S_INTERVAL: tmp.check_interval_ms = mlops__rec_as_i64(&f); break;
        case S_THRESHOLD: tmp.failure_threshold = (uint32_t)f.u; break;
        case S_MIN_TRIG: tmp.min_trigger_requests = f.u; break;
        case S_MAX_ERR: tmp.max_error_rate = mlops__rec_as_f64(&f); break;
        case S_MAX_P99: tmp.max_p99_ms = mlops__rec_as_f64(&f); break;
        case S_MAX_DROP: tmp.max_metric_drop = mlops__rec_as_f64(&f); break;
        case S_ALPHA: tmp.metric_alpha = mlops__rec_as_f64(&f); break;
        case S_LOWER: tmp.lower_is_better = (uint32_t)f.u; break;
        case S_MIN_AGREE: tmp.min_agreement = mlops__rec_as_f64(&f); break;
        case S_STATUS: s->status = (uint32_t)f.u; break;
        case S_STAGE: s->stage = (uint32_t)f.u; break;
        case S_CREATED: s->created_ms = mlops__rec_as_i64(&f); break;
        case S_STAGE_START: s->stage_start_ms = mlops__rec_as_i64(&f); break;
        case S_LAST_CHECK: s->last_check_ms = mlops__rec_as_i64(&f); break;
        case S_FAILED: s->failed_checks = (uint32_t)f.u; break;
        case S_SEQ: s->next_seq = f.u; break;
        case S_REASON: {
            size_t n = f.n < sizeof(s->reason) - 1 ? f.n : sizeof(s->reason) - 1;
            memcpy(s->reason, f.p, n);
            s->reason[n] = 0;
            break;
        }
        case S_COUNTS:
            if (f.wire == MLOPS__REC_WIRE_BYTES && (st = decode_counts(f.p, f.n, s)) != MLOPS_OK) {
                plan_free(env, &tmp);
                return st;
            }
            break;
        default: break;
        }
    }
    if (st != MLOPS_E_NOTFOUND) {
        plan_free(env, &tmp);
        return st;
    }
    uint32_t nst = tmp.n_stages + (tmp.shadow ? 1 : 0);
    if (tmp.n_stages == 0 || s->stage >= nst || s->status < MLOPS_ROLLOUT_RUNNING ||
        s->status > MLOPS_ROLLOUT_ROLLED_BACK) {
        plan_free(env, &tmp);
        return mlops__error(MLOPS_E_CORRUPT, "the stored rollout state is inconsistent");
    }
    if (p != NULL)
        *p = tmp;
    else
        plan_free(env, &tmp);
    return MLOPS_OK;
}

/* ---- options ---- */

MLOPS_API mlops_status mlops_rollout_options_init(mlops_rollout_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_ROLLOUT_OPTIONS_VERSION,
                               "rollout options");
}

static bool nonneg(double x)
{
    return x >= 0.0 && isfinite(x);
}

static mlops_status plan_from_options(plan *p, const mlops_env *env,
                                      const mlops_rollout_options *o)
{
    static const double default_stages[] = {0.01, 0.05, 0.10, 0.25, 0.50, 1.0};
    memset(p, 0, sizeof(*p));
    const double *stages = o->stages != NULL ? o->stages : default_stages;
    uint32_t n = o->stages != NULL ? o->n_stages : 6;
    if (n < 1 || n > MAX_STAGES)
        return mlops__error(MLOPS_E_INVALID, "%u stages; need 1 to %d", n, MAX_STAGES);
    for (uint32_t i = 0; i < n; i++) {
        if (!(stages[i] > 0.0 && stages[i] <= 1.0))
            return mlops__error(MLOPS_E_INVALID, "stage %u has share %g; shares are in (0, 1]",
                                i, stages[i]);
        if (i > 0 && !(stages[i] > stages[i - 1]))
            return mlops__error(MLOPS_E_INVALID,
                                "stage shares must increase: stage %u (%g) follows %g", i,
                                stages[i], stages[i - 1]);
        p->stages[i] = stages[i];
    }
    if (stages[n - 1] != 1.0)
        return mlops__error(MLOPS_E_INVALID, "the last stage must send all traffic (1), not %g",
                            stages[n - 1]);
    p->n_stages = n;
    p->shadow = o->shadow != 0;
    p->min_requests = o->min_requests == 0 ? 1000 : o->min_requests;
    p->min_stage_ms = o->min_stage_ms == 0 ? 60000 : o->min_stage_ms;
    p->check_interval_ms = o->check_interval_ms == 0 ? 60000 : o->check_interval_ms;
    if (p->min_stage_ms < 0 || p->check_interval_ms < 0)
        return mlops__error(MLOPS_E_INVALID, "times must be >= 0 (min_stage_ms %lld, "
                                             "check_interval_ms %lld)",
                            (long long)o->min_stage_ms, (long long)o->check_interval_ms);
    p->failure_threshold = o->failure_threshold == 0 ? 1 : o->failure_threshold;
    p->min_trigger_requests = o->min_trigger_requests == 0 ? 100 : o->min_trigger_requests;
    if (!nonneg(o->max_error_rate) || o->max_error_rate > 1.0 || !nonneg(o->max_p99_ms) ||
        !nonneg(o->max_metric_drop) || o->max_metric_drop >= 1.0 || !nonneg(o->metric_alpha) ||
        o->metric_alpha >= 1.0 || !nonneg(o->min_agreement) || o->min_agreement > 1.0)
        return mlops__error(MLOPS_E_INVALID,
                            "trigger thresholds must be finite and >= 0: error rate %g (<= 1), "
                            "p99 %g ms, metric drop %g (< 1), alpha %g (< 1), agreement %g (<= 1)",
                            o->max_error_rate, o->max_p99_ms, o->max_metric_drop,
                            o->metric_alpha, o->min_agreement);
    p->max_error_rate = o->max_error_rate;
    p->max_p99_ms = o->max_p99_ms;
    p->max_metric_drop = o->max_metric_drop;
    p->metric_alpha = o->metric_alpha == 0.0 ? 0.05 : o->metric_alpha;
    p->lower_is_better = o->metric_lower_is_better != 0;
    p->min_agreement = o->min_agreement == 0.0 ? 0.99 : o->min_agreement;
    mlops_status st;
    if (o->model != NULL) {
        if ((st = mlops__ab_check_name(o->model, "model")) != MLOPS_OK)
            return st;
        if ((p->model = mlops__strdup(env, o->model)) == NULL)
            return mlops__nomem();
    }
    if (o->alias != NULL) {
        if (o->model == NULL)
            return mlops__error(MLOPS_E_INVALID, "an alias needs a model");
        if ((st = mlops__ab_check_name(o->alias, "alias")) != MLOPS_OK)
            return st;
        if ((p->alias = mlops__strdup(env, o->alias)) == NULL)
            return mlops__nomem();
    }
    return MLOPS_OK;
}

/* ---- history ---- */

static mlops_status put_event(mlops_batch *b, mlops_rollout *r, rstate *s, int64_t now,
                              const char *kind, const char *reason)
{
    mlops__buf key;
    mlops__buf_init(&key, r->env);
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, r->env, 1, MLOPS__ROLLOUT_REC_EVENT);
    mlops__rec_put_u64(&w, 1, s->next_seq);
    mlops__rec_put_i64(&w, 2, now);
    mlops__rec_put_str(&w, 3, kind);
    mlops__rec_put_u64(&w, 4, s->stage);
    mlops__rec_put_f64(&w, 5, stage_share(&r->p, s));
    mlops__rec_put_str(&w, 6, reason);
    uint8_t seq[8];
    mlops__put_u64be(seq, s->next_seq);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st == MLOPS_OK)
        st = mlops__ab_key(&key, 'h', r->name, NULL);
    if (st == MLOPS_OK)
        st = mlops__buf_append(&key, seq, 8);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, key.data, key.len, w.buf.data, w.buf.len);
    if (st == MLOPS_OK)
        s->next_seq++;
    mlops__rec_writer_free(&w);
    mlops__buf_free(&key);
    return st;
}

/* ---- create / open ---- */

static mlops_status resolve_uri(mlops_rollout *r, const char *uri, int64_t *v)
{
    if (r->reg == NULL || r->reg->resolve == NULL)
        return mlops__error(MLOPS_E_UNSUPPORTED,
                            "cannot resolve '%s': this library has no model registry", uri);
    return r->reg->resolve(v, r->store, uri);
}

mlops_status mlops__rollout_create_with(mlops_rollout **out, mlops_store *store,
                                        const char *name, const mlops_rollout_options *opts,
                                        const mlops__rollout_registry_ops *reg)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    if (store == NULL || opts == NULL)
        return mlops__error(MLOPS_E_INVALID, "store or options is NULL");
    if (opts->version < 1 || opts->version > MLOPS_ROLLOUT_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "rollout options version %u is not supported",
                            opts->version);
    mlops_status st = mlops__ab_check_name(name, "rollout name");
    if (st != MLOPS_OK)
        return st;
    mlops_rollout *r = NULL;
    mlops__buf key;
    mlops__buf_init(&key, mlops_store_env(store));
    mlops__rec_writer w;
    memset(&w, 0, sizeof(w));
    mlops_batch *b = NULL;
    if ((st = rollout_alloc(&r, store, name, reg)) != MLOPS_OK)
        goto out;
    if ((st = plan_from_options(&r->p, r->env, opts)) != MLOPS_OK)
        goto out;
    r->p.champion = opts->champion;
    r->p.challenger = opts->challenger;
    if (opts->champion_uri != NULL &&
        (st = resolve_uri(r, opts->champion_uri, &r->p.champion)) != MLOPS_OK)
        goto out;
    if (opts->challenger_uri != NULL &&
        (st = resolve_uri(r, opts->challenger_uri, &r->p.challenger)) != MLOPS_OK)
        goto out;
    if (r->p.champion <= 0 || r->p.challenger <= 0 || r->p.champion == r->p.challenger) {
        st = mlops__error(MLOPS_E_INVALID,
                          "champion (%lld) and challenger (%lld) must be different versions > 0",
                          (long long)r->p.champion, (long long)r->p.challenger);
        goto out;
    }
    if (r->p.model != NULL && (r->reg == NULL || r->reg->resolve == NULL)) {
        st = mlops__error(MLOPS_E_UNSUPPORTED,
                          "rollout bound to model '%s', but this library has no model registry",
                          r->p.model);
        goto out;
    }
    int64_t now = mlops__now_ms(r->env);
    rstate *s = &r->st;
    memset(s, 0, sizeof(*s));
    s->status = MLOPS_ROLLOUT_RUNNING;
    s->created_ms = s->stage_start_ms = now;
    s->next_seq = 1;
    if ((st = mlops__ab_key(&key, 'r', name, NULL)) != MLOPS_OK ||
        (st = mlops_batch_create(&b, store)) != MLOPS_OK ||
        (st = mlops_batch_require_absent(b, key.data, key.len)) != MLOPS_OK)
        goto out;
    char why[160];
    snprintf(why, sizeof(why), "champion %lld, challenger %lld%s", (long long)r->p.champion,
             (long long)r->p.challenger, r->p.shadow ? ", shadow first" : "");
    if ((st = put_event(b, r, s, now, "created", why)) != MLOPS_OK ||
        (st = encode_state(&w, r, s)) != MLOPS_OK ||
        (st = mlops_batch_put(b, key.data, key.len, w.buf.data, w.buf.len)) != MLOPS_OK)
        goto out;
    st = mlops_store_apply(store, b);
    if (st == MLOPS_E_CONFLICT) {
        st = mlops__error(MLOPS_E_EXISTS, "a rollout named '%s' already exists", name);
        goto out;
    }
    if (st != MLOPS_OK)
        goto out;
    /* The rollout is stored: from here on nothing may fail. The version is
     * informational (every write re-reads the state), so a failed read of
     * it leaves 0, as control() does. */
    uint64_t ver = 0;
    mlops_bytes v = {0};
    if (mlops_store_get(&v, &ver, store, key.data, key.len) == MLOPS_OK)
        r->st_version = ver;
    mlops_bytes_free(&v);
    publish(r, s);
    *out = r;
    r = NULL;
out:
    mlops_batch_free(b);
    mlops__rec_writer_free(&w);
    mlops__buf_free(&key);
    mlops_rollout_close(r);
    return st;
}

MLOPS_API mlops_status mlops_rollout_create(mlops_rollout **out, mlops_store *store,
                                            const char *name, const mlops_rollout_options *opts)
{
    return mlops__rollout_create_with(out, store, name, opts, mlops__rollout_default_registry());
}

/* Read the stored state (and version). */
static mlops_status read_state(mlops_rollout *r, plan *p, rstate *s, uint64_t *ver)
{
    mlops__buf key;
    mlops__buf_init(&key, r->env);
    mlops_bytes v = {0};
    mlops_status st = mlops__ab_key(&key, 'r', r->name, NULL);
    if (st == MLOPS_OK)
        st = mlops_store_get(&v, ver, r->store, key.data, key.len);
    if (st == MLOPS_E_NOTFOUND)
        st = mlops__error(MLOPS_E_NOTFOUND, "no rollout named '%s'", r->name);
    if (st == MLOPS_OK)
        st = decode_state(r->env, v.data, v.len, p, s);
    mlops_bytes_free(&v);
    mlops__buf_free(&key);
    return st;
}

mlops_status mlops__rollout_open_with(mlops_rollout **out, mlops_store *store, const char *name,
                                      const mlops__rollout_registry_ops *reg)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_status st = mlops__ab_check_name(name, "rollout name");
    if (st != MLOPS_OK)
        return st;
    mlops_rollout *r = NULL;
    if ((st = rollout_alloc(&r, store, name, reg)) != MLOPS_OK)
        return st;
    st = read_state(r, &r->p, &r->st, &r->st_version);
    if (st != MLOPS_OK) {
        mlops_rollout_close(r);
        return st;
    }
    publish(r, &r->st);
    *out = r;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_rollout_open(mlops_rollout **out, mlops_store *store,
                                          const char *name)
{
    return mlops__rollout_open_with(out, store, name, mlops__rollout_default_registry());
}

/* ---- the request path ---- */

MLOPS_API mlops_status mlops_rollout_route(uint32_t *route_out, int64_t *version_out,
                                           const mlops_rollout *r, const void *unit,
                                           size_t unit_len)
{
    if (route_out == NULL || r == NULL || unit == NULL)
        return mlops__error(MLOPS_E_INVALID, "route_out, rollout or unit is NULL");
    if (unit_len == 0 || unit_len > MLOPS__AB_MAX_UNIT)
        return mlops__error(MLOPS_E_INVALID, "a unit id must be 1 to %d bytes, not %zu",
                            MLOPS__AB_MAX_UNIT, unit_len);
    uint64_t word = atomic_load_explicit(&((mlops_rollout *)r)->route_word,
                                         memory_order_acquire);
    uint64_t x = mlops__xxh3_64(unit, unit_len, r->seed64) >> 11;
    uint32_t route;
    if (word & SHADOW_BIT)
        route = MLOPS_ROLLOUT_ARM_CHAMPION | MLOPS_ROLLOUT_ROUTE_SHADOW;
    else
        route = x < (word & SHARE_MASK) ? MLOPS_ROLLOUT_ARM_CHALLENGER
                                        : MLOPS_ROLLOUT_ARM_CHAMPION;
    *route_out = route;
    if (version_out != NULL)
        *version_out = (route & 0xFF) == MLOPS_ROLLOUT_ARM_CHALLENGER ? r->p.challenger
                                                                       : r->p.champion;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_rollout_record(mlops_rollout *r, uint32_t arm, double latency_ms,
                                            uint32_t flags, double metric)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "rollout is NULL");
    if (arm > MLOPS_ROLLOUT_ARM_CHALLENGER)
        return mlops__error(MLOPS_E_INVALID,
                            "unknown arm %u (0: champion, 1: challenger)", arm);
    if (flags & ~(MLOPS_ROLLOUT_OUTCOME_ERROR | MLOPS_ROLLOUT_OUTCOME_METRIC))
        return mlops__error(MLOPS_E_INVALID, "unknown outcome flags 0x%x", flags);
    if (!(latency_ms >= 0.0) || !isfinite(latency_ms))
        return mlops__error(MLOPS_E_INVALID, "latency %g ms must be finite and >= 0",
                            latency_ms);
    if ((flags & MLOPS_ROLLOUT_OUTCOME_METRIC) && (!(metric >= 0.0) || !isfinite(metric)))
        return mlops__error(MLOPS_E_INVALID, "metric %g must be finite and >= 0", metric);
    live_counts *l = &r->live[arm];
    atomic_fetch_add_explicit(&l->requests, 1, memory_order_relaxed);
    if (flags & MLOPS_ROLLOUT_OUTCOME_ERROR)
        atomic_fetch_add_explicit(&l->errors, 1, memory_order_relaxed);
    int i = sk_index(latency_ms);
    if (i < 0)
        atomic_fetch_add_explicit(&l->zero, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&l->bins[i], 1, memory_order_relaxed);
    if (flags & MLOPS_ROLLOUT_OUTCOME_METRIC) {
        atomic_add_f64(&l->metric_sum_bits, metric);
        atomic_add_f64(&l->metric_sq_bits, metric * metric);
        atomic_fetch_add_explicit(&l->metric_n, 1, memory_order_relaxed);
    }
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_rollout_record_agreement(mlops_rollout *r, int agree)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "rollout is NULL");
    live_counts *l = &r->live[MLOPS_ROLLOUT_ARM_CHALLENGER];
    atomic_fetch_add_explicit(&l->agree_n, 1, memory_order_relaxed);
    if (agree)
        atomic_fetch_add_explicit(&l->agree_yes, 1, memory_order_relaxed);
    return MLOPS_OK;
}

/* ---- control: merge, decide, write ---- */

typedef struct decision {
    const char *kind; /* event kind or NULL */
    char reason[512];
} decision;

/* Evaluate the triggers on the stage's outcomes; fills why and returns true if one fired. */
static bool triggers_fire(const mlops_rollout *r, const counts *ch, const counts *cb,
                          char *why, size_t cap)
{
    const plan *p = &r->p;
    if (ch->requests < p->min_trigger_requests)
        return false;
    double n = (double)ch->requests;
    if (p->max_error_rate > 0.0) {
        double rate = (double)ch->errors / n;
        if (rate > p->max_error_rate) {
            snprintf(why, cap,
                     "error rate %.4g (%llu of %llu requests) is above the limit %.4g",
                     rate, (unsigned long long)ch->errors, (unsigned long long)ch->requests,
                     p->max_error_rate);
            return true;
        }
    }
    if (p->max_p99_ms > 0.0) {
        double p99 = counts_quantile(ch, 0.99);
        if (p99 > p->max_p99_ms) {
            snprintf(why, cap, "p99 latency %.4g ms is above the limit %.4g ms (%llu requests)",
                     p99, p->max_p99_ms, (unsigned long long)ch->requests);
            return true;
        }
    }
    if (p->max_metric_drop > 0.0 && ch->metric_n >= 2 && cb->metric_n >= 2) {
        double nc = (double)ch->metric_n, nb = (double)cb->metric_n;
        double mc = ch->metric_sum / nc, mb = cb->metric_sum / nb;
        double vc = (ch->metric_sq - nc * mc * mc) / (nc - 1.0);
        double vb = (cb->metric_sq - nb * mb * mb) / (nb - 1.0);
        if (vc < 0.0)
            vc = 0.0;
        if (vb < 0.0)
            vb = 0.0;
        double k = p->lower_is_better ? 1.0 + p->max_metric_drop : 1.0 - p->max_metric_drop;
        /* Non-inferiority margin: H0 says the challenger is within the allowed drop. */
        double a = vc / nc, b = k * k * vb / nb;
        double diff = mc - k * mb;
        double pval;
        if (a + b > 0.0) {
            double df = (a + b) * (a + b) /
                        ((nc > 1 ? a * a / (nc - 1.0) : 0.0) + (nb > 1 ? b * b / (nb - 1.0) : 0.0));
            double t = diff / sqrt(a + b);
            pval = p->lower_is_better ? mlops__t_sf(t, df) : mlops__t_cdf(t, df);
        } else {
            pval = (p->lower_is_better ? diff > 0.0 : diff < 0.0) ? 0.0 : 1.0;
        }
        if (pval < p->metric_alpha) {
            double rel = mb != 0.0 ? (mc - mb) / mb : 0.0;
            snprintf(why, cap,
                     "metric %.4g vs champion %.4g (%+.2f%%) is worse than the allowed %.2f%% "
                     "(p = %.3g < %.3g)",
                     mc, mb, 100.0 * rel, 100.0 * p->max_metric_drop, pval, p->metric_alpha);
            return true;
        }
    }
    return false;
}

/* Merge this handle's new outcomes into the stored state, let decide() change it,
 * and write it with a compare-and-set; retried on conflicts. */
typedef mlops_status (*decide_fn)(mlops_rollout *r, rstate *s, int64_t now, decision *d,
                                  void *payload);

static mlops_status apply_alias(mlops_rollout *r, int64_t version, const char *reason)
{
    if (r->p.model == NULL || r->p.alias == NULL || r->reg == NULL || r->reg->set_alias == NULL)
        return MLOPS_OK;
    return r->reg->set_alias(r->store, r->p.model, r->p.alias, version, reason);
}

static mlops_status control(mlops_rollout *r, decide_fn decide, void *payload)
{
    mlops_status st = MLOPS_OK;
    counts *live = NULL;
    rstate *s = NULL;
    mlops__buf key;
    mlops__buf_init(&key, r->env);
    mlops__rec_writer w;
    memset(&w, 0, sizeof(w));
    mlops_batch *b = NULL;
    pthread_mutex_lock(&r->mu);
    live = mlops__malloc(r->env, 2 * sizeof(counts));
    s = mlops__malloc(r->env, sizeof(rstate));
    if (live == NULL || s == NULL) {
        st = mlops__nomem();
        goto out;
    }
    live_snapshot(&live[0], &r->live[0]);
    live_snapshot(&live[1], &r->live[1]);
    if ((st = mlops__ab_key(&key, 'r', r->name, NULL)) != MLOPS_OK)
        goto out;
    for (int attempt = 0;; attempt++) {
        uint64_t ver = 0;
        if ((st = read_state(r, NULL, s, &ver)) != MLOPS_OK)
            goto out;
        uint32_t old_status = s->status;
        for (int arm = 0; arm < 2; arm++)
            counts_add_delta(&s->total[arm], &s->total[arm], &live[arm], &r->flushed[arm]);
        int64_t now = mlops__now_ms(r->env);
        decision d;
        memset(&d, 0, sizeof(d));
        if (decide != NULL && (st = decide(r, s, now, &d, payload)) != MLOPS_OK)
            goto out;
        mlops_batch_free(b);
        b = NULL;
        mlops__rec_writer_free(&w);
        if ((st = mlops_batch_create(&b, r->store)) != MLOPS_OK ||
            (st = mlops_batch_require_version(b, key.data, key.len, ver)) != MLOPS_OK)
            goto out;
        if (d.kind != NULL && (st = put_event(b, r, s, now, d.kind, d.reason)) != MLOPS_OK)
            goto out;
        if ((st = encode_state(&w, r, s)) != MLOPS_OK ||
            (st = mlops_batch_put(b, key.data, key.len, w.buf.data, w.buf.len)) != MLOPS_OK)
            goto out;
        st = mlops_store_apply(r->store, b);
        if (st == MLOPS_E_CONFLICT && attempt < 8)
            continue;
        if (st != MLOPS_OK)
            goto out;
        r->flushed[0] = live[0];
        r->flushed[1] = live[1];
        r->st = *s;
        uint64_t nv = 0;
        mlops_bytes v = {0};
        if (mlops_store_get(&v, &nv, r->store, key.data, key.len) == MLOPS_OK)
            r->st_version = nv;
        mlops_bytes_free(&v);
        publish(r, s);
        /* Move the alias after the state is stored, so the decision is never lost;
         * if the registry refuses, the caller gets its status and the history
         * still says why the rollout ended (the alias can be moved by hand). */
        if (old_status == MLOPS_ROLLOUT_RUNNING && s->status == MLOPS_ROLLOUT_ROLLED_BACK)
            st = apply_alias(r, r->p.champion, s->reason);
        else if (old_status == MLOPS_ROLLOUT_RUNNING && s->status == MLOPS_ROLLOUT_PROMOTED)
            st = apply_alias(r, r->p.challenger, "rollout promoted the challenger");
        break;
    }
out:
    pthread_mutex_unlock(&r->mu);
    mlops_batch_free(b);
    mlops__rec_writer_free(&w);
    mlops__buf_free(&key);
    mlops__free(r->env, live);
    mlops__free(r->env, s);
    return st;
}

static void do_rollback(rstate *s, decision *d, const char *why)
{
    s->status = MLOPS_ROLLOUT_ROLLED_BACK;
    snprintf(s->reason, sizeof(s->reason), "%s", why);
    d->kind = "rolled_back";
    snprintf(d->reason, sizeof(d->reason), "%s", why);
}

static mlops_status decide_check(mlops_rollout *r, rstate *s, int64_t now, decision *d,
                                 void *payload)
{
    (void)payload;
    const plan *p = &r->p;
    if (s->status != MLOPS_ROLLOUT_RUNNING)
        return MLOPS_OK;
    /* A challenger version that disappeared from the registry cannot serve. */
    if (p->model != NULL && r->reg != NULL && r->reg->resolve != NULL) {
        char uri[300];
        int64_t v = 0;
        snprintf(uri, sizeof(uri), "models:/%s/%lld", p->model, (long long)p->challenger);
        mlops_status st = r->reg->resolve(&v, r->store, uri);
        if (st == MLOPS_E_NOTFOUND) {
            char why[400];
            snprintf(why, sizeof(why), "challenger version %lld of model '%s' no longer exists",
                     (long long)p->challenger, p->model);
            do_rollback(s, d, why);
            return MLOPS_OK;
        }
        if (st != MLOPS_OK)
            return st;
    }
    if (s->last_check_ms != 0 && now - s->last_check_ms < p->check_interval_ms)
        return MLOPS_OK; /* not yet time for the next check */
    s->last_check_ms = now;
    counts *stage = mlops__malloc(r->env, 2 * sizeof(counts));
    if (stage == NULL)
        return mlops__nomem();
    counts_sub(&stage[0], &s->total[0], &s->base[0]);
    counts_sub(&stage[1], &s->total[1], &s->base[1]);
    char why[300];
    if (triggers_fire(r, &stage[1], &stage[0], why, sizeof(why))) {
        s->failed_checks++;
        if (s->failed_checks >= p->failure_threshold) {
            do_rollback(s, d, why);
        } else {
            d->kind = "check_failed";
            snprintf(d->reason, sizeof(d->reason), "%s (failed check %u of %u)", why,
                     s->failed_checks, p->failure_threshold);
        }
        mlops__free(r->env, stage);
        return MLOPS_OK;
    }
    bool shadow_stage = p->shadow && s->stage == 0;
    uint64_t reqs = shadow_stage ? stage[1].requests : stage[0].requests + stage[1].requests;
    bool ready = reqs >= p->min_requests && now - s->stage_start_ms >= p->min_stage_ms;
    double agreement = 1.0;
    if (ready && shadow_stage) {
        if (stage[1].agree_n == 0) {
            ready = false;
        } else {
            agreement = (double)stage[1].agree_yes / (double)stage[1].agree_n;
            ready = agreement >= p->min_agreement;
        }
    }
    if (ready) {
        uint32_t last = p->n_stages + (p->shadow ? 1 : 0) - 1;
        s->failed_checks = 0;
        s->base[0] = s->total[0];
        s->base[1] = s->total[1];
        s->stage_start_ms = now;
        if (s->stage == last) {
            s->status = MLOPS_ROLLOUT_PROMOTED;
            d->kind = "promoted";
            snprintf(d->reason, sizeof(d->reason),
                     "all stages passed; challenger %lld serves all traffic",
                     (long long)p->challenger);
            snprintf(s->reason, sizeof(s->reason), "%s", d->reason);
        } else {
            s->stage++;
            d->kind = "advanced";
            if (shadow_stage)
                snprintf(d->reason, sizeof(d->reason),
                         "shadow passed (%llu requests, agreement %.4g); canary at %.4g%%",
                         (unsigned long long)reqs, agreement, 100.0 * stage_share(p, s));
            else
                snprintf(d->reason, sizeof(d->reason), "%llu requests, no trigger; share %.4g%%",
                         (unsigned long long)reqs, 100.0 * stage_share(p, s));
        }
    }
    mlops__free(r->env, stage);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_rollout_check(uint32_t *state_out, mlops_rollout *r)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "rollout is NULL");
    mlops_status st = control(r, decide_check, NULL);
    if (state_out != NULL)
        *state_out = mlops_rollout_state(r);
    return st;
}

static mlops_status decide_rollback(mlops_rollout *r, rstate *s, int64_t now, decision *d,
                                    void *payload)
{
    (void)r;
    (void)now;
    if (s->status != MLOPS_ROLLOUT_RUNNING)
        return mlops__error(MLOPS_E_CONFLICT, "rollout '%s' already %s", r->name,
                            s->status == MLOPS_ROLLOUT_PROMOTED ? "promoted the challenger"
                                                                : "rolled back");
    do_rollback(s, d, (const char *)payload);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_rollout_rollback(mlops_rollout *r, const char *reason)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "rollout is NULL");
    if (reason == NULL)
        reason = "rolled back by an operator";
    if (!mlops__utf8_valid(reason, strlen(reason)))
        return mlops__error(MLOPS_E_INVALID, "the reason is not valid UTF-8");
    return control(r, decide_rollback, (void *)reason);
}

MLOPS_API mlops_status mlops_rollout_flush(mlops_rollout *r)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "rollout is NULL");
    return control(r, NULL, NULL);
}

MLOPS_API uint32_t mlops_rollout_state(const mlops_rollout *r)
{
    if (r == NULL)
        return 0;
    return (uint32_t)(atomic_load(&((mlops_rollout *)r)->route_word) >> STATE_SHIFT);
}

MLOPS_API double mlops_rollout_share(const mlops_rollout *r)
{
    if (r == NULL)
        return 0.0;
    return bits_f64(atomic_load(&((mlops_rollout *)r)->share_bits));
}

/* ---- reports ---- */

static const char *status_name(uint32_t s)
{
    return s == MLOPS_ROLLOUT_RUNNING    ? "running"
           : s == MLOPS_ROLLOUT_PROMOTED ? "promoted"
                                         : "rolled_back";
}

static mlops_status json_arm(mlops__buf *b, const char *name, const counts *c)
{
    double n = (double)c->requests;
    double mean = c->metric_n > 0 ? c->metric_sum / (double)c->metric_n : NAN;
    mlops_status st = mlops__buf_printf(b, "\"%s\":{\"requests\":%llu,\"errors\":%llu,\"error_rate\":",
                                        name, (unsigned long long)c->requests,
                                        (unsigned long long)c->errors);
    if (st == MLOPS_OK) st = mlops__ab_json_f64(b, n > 0 ? (double)c->errors / n : 0.0);
    if (st == MLOPS_OK) st = mlops__buf_append(b, ",\"p50_ms\":", 10);
    if (st == MLOPS_OK) st = mlops__ab_json_f64(b, counts_quantile(c, 0.5));
    if (st == MLOPS_OK) st = mlops__buf_append(b, ",\"p99_ms\":", 10);
    if (st == MLOPS_OK) st = mlops__ab_json_f64(b, counts_quantile(c, 0.99));
    if (st == MLOPS_OK) st = mlops__buf_printf(b, ",\"metric_n\":%llu,\"metric_mean\":", (unsigned long long)c->metric_n);
    if (st == MLOPS_OK) st = mlops__ab_json_f64(b, mean);
    if (st == MLOPS_OK) st = mlops__buf_putc(b, '}');
    return st;
}

MLOPS_API mlops_status mlops_rollout_status_json(char **json_out, mlops_rollout *r)
{
    if (json_out == NULL || r == NULL)
        return mlops__error(MLOPS_E_INVALID, "json_out or rollout is NULL");
    *json_out = NULL;
    /* Status shows what this handle has recorded too (without storing it). */
    rstate *s = mlops__malloc(r->env, sizeof(rstate));
    counts *tmp = mlops__malloc(r->env, 3 * sizeof(counts));
    mlops__buf b;
    mlops__buf_init(&b, r->env);
    mlops_status st = MLOPS_OK;
    if (s == NULL || tmp == NULL) {
        st = mlops__nomem();
        goto out;
    }
    pthread_mutex_lock(&r->mu);
    *s = r->st;
    for (int arm = 0; arm < 2; arm++) {
        live_snapshot(&tmp[2], &r->live[arm]);
        counts_add_delta(&s->total[arm], &s->total[arm], &tmp[2], &r->flushed[arm]);
    }
    pthread_mutex_unlock(&r->mu);
    const plan *p = &r->p;
    st = mlops__buf_append(&b, "{\"name\":", 8);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, r->name);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"model\":", 9);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, p->model);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"alias\":", 9);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, p->alias);
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b,
                               ",\"champion\":%lld,\"challenger\":%lld,\"state\":\"%s\","
                               "\"stage\":%u,\"stages\":%u,\"shadow_stage\":%s,\"share\":",
                               (long long)p->champion, (long long)p->challenger,
                               status_name(s->status), s->stage,
                               p->n_stages + (p->shadow ? 1 : 0),
                               p->shadow && s->stage == 0 && s->status == MLOPS_ROLLOUT_RUNNING
                                   ? "true"
                                   : "false");
    if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, stage_share(p, s));
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"plan\":[", 9);
    for (uint32_t i = 0; st == MLOPS_OK && i < p->n_stages; i++) {
        if (i > 0)
            st = mlops__buf_putc(&b, ',');
        if (st == MLOPS_OK)
            st = mlops__ab_json_f64(&b, p->stages[i]);
    }
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b,
                               "],\"failed_checks\":%u,\"failure_threshold\":%u,"
                               "\"stage_start_ms\":%lld,\"last_check_ms\":%lld,"
                               "\"triggers\":{\"max_error_rate\":%.17g,\"max_p99_ms\":%.17g,"
                               "\"max_metric_drop\":%.17g,\"metric_alpha\":%.17g},"
                               "\"min_requests\":%llu,\"min_stage_ms\":%lld,"
                               "\"check_interval_ms\":%lld,\"reason\":",
                               s->failed_checks, p->failure_threshold,
                               (long long)s->stage_start_ms, (long long)s->last_check_ms,
                               p->max_error_rate, p->max_p99_ms, p->max_metric_drop,
                               p->metric_alpha, (unsigned long long)p->min_requests,
                               (long long)p->min_stage_ms, (long long)p->check_interval_ms);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, s->reason[0] ? s->reason : NULL);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"stage_outcomes\":{", 19);
    counts_sub(&tmp[0], &s->total[0], &s->base[0]);
    counts_sub(&tmp[1], &s->total[1], &s->base[1]);
    if (st == MLOPS_OK) st = json_arm(&b, "champion", &tmp[0]);
    if (st == MLOPS_OK) st = mlops__buf_putc(&b, ',');
    if (st == MLOPS_OK) st = json_arm(&b, "challenger", &tmp[1]);
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, ",\"shadow_compared\":%llu,\"shadow_agreed\":%llu}",
                               (unsigned long long)tmp[1].agree_n,
                               (unsigned long long)tmp[1].agree_yes);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"total_outcomes\":{", 19);
    if (st == MLOPS_OK) st = json_arm(&b, "champion", &s->total[0]);
    if (st == MLOPS_OK) st = mlops__buf_putc(&b, ',');
    if (st == MLOPS_OK) st = json_arm(&b, "challenger", &s->total[1]);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, "}}", 2);
    if (st == MLOPS_OK) {
        *json_out = mlops__buf_take_str(&b);
        if (*json_out == NULL)
            st = mlops__nomem();
    }
out:
    mlops__buf_free(&b);
    mlops__free(r->env, s);
    mlops__free(r->env, tmp);
    return st;
}

MLOPS_API mlops_status mlops_rollout_history_json(char **json_out, mlops_rollout *r)
{
    if (json_out == NULL || r == NULL)
        return mlops__error(MLOPS_E_INVALID, "json_out or rollout is NULL");
    *json_out = NULL;
    mlops__buf prefix, b;
    mlops__buf_init(&prefix, r->env);
    mlops__buf_init(&b, r->env);
    mlops_store_iter *it = NULL;
    uint8_t end[MLOPS__AB_MAX_NAME + 16];
    mlops_status st = mlops__ab_key(&prefix, 'h', r->name, NULL);
    if (st != MLOPS_OK)
        goto out;
    size_t end_len = mlops__prefix_end(end, prefix.data, prefix.len);
    if ((st = mlops_store_iter_open(&it, r->store, prefix.data, prefix.len,
                                    end_len ? end : NULL, end_len)) != MLOPS_OK ||
        (st = mlops__buf_putc(&b, '[')) != MLOPS_OK)
        goto out;
    for (int first = 1;; first = 0) {
        const uint8_t *k, *v;
        size_t kl, vl;
        st = mlops_store_iter_next(it, &k, &kl, &v, &vl);
        if (st == MLOPS_E_NOTFOUND)
            break;
        if (st != MLOPS_OK)
            goto out;
        mlops__rec_reader rd;
        if ((st = mlops__rec_reader_init(&rd, v, vl, 1, MLOPS__ROLLOUT_REC_EVENT,
                                         "rollout event")) != MLOPS_OK)
            goto out;
        uint64_t seq = 0, stage = 0;
        int64_t t = 0;
        double share = 0;
        const uint8_t *kind = NULL, *why = NULL;
        size_t kind_n = 0, why_n = 0;
        mlops__rec_field f;
        while ((st = mlops__rec_next(&rd, &f)) == MLOPS_OK) {
            if (f.tag == 1) seq = f.u;
            else if (f.tag == 2) t = mlops__rec_as_i64(&f);
            else if (f.tag == 3 && f.wire == MLOPS__REC_WIRE_BYTES) { kind = f.p; kind_n = f.n; }
            else if (f.tag == 4) stage = f.u;
            else if (f.tag == 5) share = mlops__rec_as_f64(&f);
            else if (f.tag == 6 && f.wire == MLOPS__REC_WIRE_BYTES) { why = f.p; why_n = f.n; }
        }
        if (st != MLOPS_E_NOTFOUND)
            goto out;
        char ks[64] = "", ws[512] = "";
        memcpy(ks, kind, kind_n < 63 ? kind_n : 63);
        memcpy(ws, why, why_n < 511 ? why_n : 511);
        if (!first && (st = mlops__buf_putc(&b, ',')) != MLOPS_OK)
            goto out;
        st = mlops__buf_printf(&b, "{\"seq\":%llu,\"time_ms\":%lld,\"event\":",
                               (unsigned long long)seq, (long long)t);
        if (st == MLOPS_OK) st = mlops__ab_json_str(&b, ks);
        if (st == MLOPS_OK) st = mlops__buf_printf(&b, ",\"stage\":%llu,\"share\":", (unsigned long long)stage);
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, share);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"reason\":", 10);
        if (st == MLOPS_OK) st = mlops__ab_json_str(&b, ws);
        if (st == MLOPS_OK) st = mlops__buf_putc(&b, '}');
        if (st != MLOPS_OK)
            goto out;
    }
    if ((st = mlops__buf_putc(&b, ']')) != MLOPS_OK)
        goto out;
    *json_out = mlops__buf_take_str(&b);
    st = *json_out == NULL ? mlops__nomem() : MLOPS_OK;
out:
    mlops_store_iter_free(it);
    mlops__buf_free(&prefix);
    mlops__buf_free(&b);
    return st;
}

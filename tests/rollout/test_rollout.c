/* SPDX-License-Identifier: MIT */
/* Tests of the rollout module: assignment (XXH3 and GrowthBook vectors),
 * experiments, the A/B statistics against stored statsmodels/scipy values,
 * the sequential test's false-positive rate, and rollouts (stages, triggers
 * at their boundaries, persistence, the registry binding). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abtest_ref.h"
#include "growthbook_cases.h"
#include "rollout/rollout_internal.h"
#include "stats/abtest.h"
#include "stats/special.h"
#include "testutil.h"

/* Check's passing assertions each cost a write(2); hot loops use these, which
 * only call into Check on failure. */
#undef tu_assert_st
#define tu_assert_st(expr, want)                                                                   \
    do {                                                                                           \
        mlops_status tu_st_ = (expr);                                                              \
        if (tu_st_ != (want))                                                                      \
            ck_abort_msg("%s: got %s (%d), want %s: %s", #expr, mlops_status_name(tu_st_),         \
                         tu_st_, mlops_status_name(want), mlops_error_message());                  \
    } while (0)
#define require(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The 'slow' suite sets MLOPS_TEST_SLOW=1: millions of ids instead of 200,000. */
static uint64_t scale(uint64_t fast, uint64_t slow)
{
    const char *e = getenv("MLOPS_TEST_SLOW");
    return e != NULL && e[0] == '1' ? slow : fast;
}

static void assert_rel(double got, double want, double tol, const char *what, int row)
{
    double err = fabs(got - want) / (fabs(want) > 1e-300 ? fabs(want) : 1.0);
    ck_assert_msg(err <= tol, "%s row %d: got %.17g want %.17g (rel err %.3g)", what, row, got,
                  want, err);
}

/* ---- GrowthBook cross-SDK cases ---- */

START_TEST(test_growthbook_hash)
{
    for (size_t i = 0; i < N_OF(gb_hash); i++) {
        const gb_hash_case *c = &gb_hash[i];
        double x = -1;
        uint32_t mode = c->version == 1   ? MLOPS_AB_HASH_GROWTHBOOK_V1
                        : c->version == 2 ? MLOPS_AB_HASH_GROWTHBOOK_V2
                                          : 99;
        mlops_status st = mlops_ab_hash(&x, mode, c->seed, c->value, strlen(c->value));
        if (c->want < 0) {
            ck_assert_int_eq(st, MLOPS_E_INVALID); /* unknown hash version: no hash */
            continue;
        }
        tu_assert_ok(st);
        ck_assert_msg(x == c->want, "hash(%s, %s, v%d) = %.17g, want %g", c->seed, c->value,
                      c->version, x, c->want);
    }
}
END_TEST

START_TEST(test_growthbook_ranges)
{
    for (size_t i = 0; i < N_OF(gb_ranges); i++) {
        const gb_range_case *c = &gb_ranges[i];
        double r[8];
        tu_assert_ok(mlops_ab_bucket_ranges(r, (uint32_t)c->n, c->coverage,
                                            c->nw < 0 ? NULL : c->w,
                                            c->nw < 0 ? 0 : (uint32_t)c->nw));
        for (int k = 0; k < 2 * c->n; k++)
            ck_assert_msg(fabs(r[k] - c->want[k]) < 1e-9, "%s: range value %d = %.17g want %g",
                          c->name, k, r[k], c->want[k]);
    }
}
END_TEST

START_TEST(test_growthbook_choose_and_namespace)
{
    for (size_t i = 0; i < N_OF(gb_choose); i++) {
        const gb_choose_case *c = &gb_choose[i];
        ck_assert_msg(mlops_ab_choose_variation(c->x, c->r, (uint32_t)c->n) == c->want, "%s",
                      c->name);
    }
    for (size_t i = 0; i < N_OF(gb_ns); i++) {
        const gb_ns_case *c = &gb_ns[i];
        int in = -1;
        tu_assert_ok(mlops_ab_in_namespace(&in, c->id, strlen(c->id), c->ns, c->start, c->end));
        ck_assert_msg(in == c->want, "%s: got %d", c->name, in);
    }
}
END_TEST

START_TEST(test_growthbook_run)
{
    for (size_t i = 0; i < N_OF(gb_run); i++) {
        const gb_run_case *c = &gb_run[i];
        mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
        o.hash_mode = MLOPS_AB_HASH_GROWTHBOOK_V1;
        o.n_variants = (uint32_t)c->n;
        o.weights = c->nw > 0 ? c->w : NULL;
        o.coverage = c->coverage;
        mlops_ab_experiment *e = NULL;
        tu_assert_ok(mlops_ab_experiment_create(&e, NULL, c->key, &o));
        int32_t v = -9;
        tu_assert_ok(mlops_ab_experiment_assign(&v, NULL, e, c->id, strlen(c->id)));
        if (c->in_exp)
            ck_assert_msg(v == c->want, "%s: variant %d, want %d", c->name, v, c->want);
        else
            ck_assert_msg(v == MLOPS_AB_NOT_IN_EXPERIMENT, "%s: variant %d, want none", c->name,
                          v);
        mlops_ab_experiment_free(e);
    }
}
END_TEST

/* UTF-16 code units: a non-BMP character hashes as its surrogate pair, as in JavaScript. */
START_TEST(test_growthbook_utf16)
{
    /* U+1F600 is D83D DE00 in UTF-16; U+00E9 one unit 0x00E9. */
    uint32_t h = 0x811C9DC5u;
    const uint32_t units[] = {0xD83D, 0xDE00, 0xE9, 'a'};
    for (size_t i = 0; i < 4; i++)
        h = (h ^ units[i]) * 16777619u;
    ck_assert_uint_eq(mlops__fnv1a_utf16("\xF0\x9F\x98\x80\xC3\xA9", 6, "a", 1), h);
    double x;
    ck_assert_int_eq(mlops_ab_hash(&x, MLOPS_AB_HASH_GROWTHBOOK_V1, "s", "\xff", 1),
                     MLOPS_E_INVALID); /* N8: not UTF-8 */
}
END_TEST

/* ---- the XXH3 mode ---- */

/* Published in docs/rollout.md; another implementation must reproduce them. */
static const struct {
    const char *seed, *unit;
    double want;
} xxh3_vectors[] = {
    {"checkout-test", "user-1", 0.0},   {"checkout-test", "user-2", 0.0},
    {"checkout-test", "user-3", 0.0},   {"pricing", "user-1", 0.0},
    {"pricing", "0123456789abcdef", 0.0}, {"", "a", 0.0},
};

START_TEST(test_xxh3_definition)
{
    /* The definition: s = XXH3_64(seed, XXH3_64("seed", 0x6d6c6f7073616200));
     * x = (XXH3_64(unit, s) >> 11) / 2^53. */
    for (size_t i = 0; i < N_OF(xxh3_vectors); i++) {
        const char *seed = xxh3_vectors[i].seed, *unit = xxh3_vectors[i].unit;
        uint64_t s = mlops_hash64("seed", 4, 0x6d6c6f7073616200ull);
        s = mlops_hash64(seed, strlen(seed), s);
        double want = (double)(mlops_hash64(unit, strlen(unit), s) >> 11) / 9007199254740992.0;
        double x;
        tu_assert_ok(mlops_ab_hash(&x, MLOPS_AB_HASH_XXH3, seed, unit, strlen(unit)));
        ck_assert(x == want);
        ck_assert(x >= 0.0 && x < 1.0);
    }
}
END_TEST

START_TEST(test_xxh3_pinned_vectors)
{
    /* Values from docs/rollout.md's table (rounded to 12 digits there). */
    static const double pinned[] = {
#include "xxh3_vectors.inc"
    };
    for (size_t i = 0; i < N_OF(xxh3_vectors); i++) {
        double x;
        const char *unit = xxh3_vectors[i].unit;
        tu_assert_ok(mlops_ab_hash(&x, MLOPS_AB_HASH_XXH3, xxh3_vectors[i].seed, unit,
                                   strlen(unit)));
        ck_assert_msg(fabs(x - pinned[i]) < 5e-13, "vector %zu: %.15f vs %.15f", i, x,
                      pinned[i]);
    }
}
END_TEST

static int unit_id(char *buf, uint64_t i)
{
    return snprintf(buf, 32, "user-%012llu", (unsigned long long)i);
}

/* Stickiness and ramp-only-adds over 2 million ids: raising coverage never moves
 * a unit that was in a variant, and the same unit always gets the same variant. */
START_TEST(test_ramp_only_adds)
{
    const double cov[] = {0.05, 0.25, 1.0};
    mlops_ab_experiment *e[3];
    for (int k = 0; k < 3; k++) {
        mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
        o.coverage = cov[k];
        o.weights = (const double[]){0.5, 0.5};
        tu_assert_ok(mlops_ab_experiment_create(&e[k], NULL, "ramp", &o));
    }
    uint64_t in[3] = {0, 0, 0};
    char buf[32];
    const uint64_t n_ids = scale(200000, 4000000);
    for (uint64_t i = 0; i < n_ids; i++) {
        int n = unit_id(buf, i);
        int32_t prev = MLOPS_AB_NOT_IN_EXPERIMENT;
        for (int k = 0; k < 3; k++) {
            int32_t v, again;
            tu_assert_ok(mlops_ab_experiment_assign(&v, NULL, e[k], buf, (size_t)n));
            if (i % 64 == 0) { /* stickiness: the same answer twice */
                tu_assert_ok(mlops_ab_experiment_assign(&again, NULL, e[k], buf, (size_t)n));
                require(v == again, "unit %llu: %d then %d", (unsigned long long)i, v, again);
            }
            if (prev != MLOPS_AB_NOT_IN_EXPERIMENT)
                require(v == prev, "unit %llu moved from %d to %d at coverage %g",
                              (unsigned long long)i, prev, v, cov[k]);
            if (v >= 0)
                in[k]++;
            prev = v;
        }
    }
    for (int k = 0; k < 3; k++) {
        double share = (double)in[k] / (double)n_ids;
        ck_assert_msg(fabs(share - cov[k]) < 0.005, "coverage %g gave share %g", cov[k], share);
        mlops_ab_experiment_free(e[k]);
    }
}
END_TEST

/* Uniformity: chi-squared over 1e6 ids into 100 buckets (99 dof). */
START_TEST(test_bucket_uniformity)
{
    uint64_t bins[100] = {0};
    char buf[32];
    for (uint64_t i = 0; i < 1000000; i++) {
        int n = unit_id(buf, i);
        double x;
        tu_assert_ok(mlops_ab_hash(&x, MLOPS_AB_HASH_XXH3, "uniformity", buf, (size_t)n));
        bins[(int)(x * 100)]++;
    }
    double planned[100];
    for (int i = 0; i < 100; i++)
        planned[i] = 0.01;
    (void)planned;
    double chi2 = 0, p;
    for (int i = 0; i < 100; i++)
        chi2 += ((double)bins[i] - 10000.0) * ((double)bins[i] - 10000.0) / 10000.0;
    p = mlops__chi2_sf(chi2, 99);
    ck_assert_msg(p > 0.001, "buckets are not uniform: chi2 %g, p %g", chi2, p);
    /* The test can fail: a biased hash (x^2) is caught. */
    uint64_t biased[100] = {0};
    for (uint64_t i = 0; i < 100000; i++) {
        int n = unit_id(buf, i);
        double x;
        tu_assert_ok(mlops_ab_hash(&x, MLOPS_AB_HASH_XXH3, "uniformity", buf, (size_t)n));
        biased[(int)(x * x * 100)]++;
    }
    chi2 = 0;
    for (int i = 0; i < 100; i++)
        chi2 += ((double)biased[i] - 1000.0) * ((double)biased[i] - 1000.0) / 1000.0;
    ck_assert(mlops__chi2_sf(chi2, 99) < 1e-6);
}
END_TEST

START_TEST(test_namespace_exclusive)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    o.namespace_id = "checkout";
    o.namespace_start = 0.0;
    o.namespace_end = 0.5;
    mlops_ab_experiment *a = NULL, *b = NULL, *c = NULL;
    tu_assert_ok(mlops_ab_experiment_create(&a, NULL, "exp-a", &o));
    o.namespace_start = 0.5;
    o.namespace_end = 1.0;
    tu_assert_ok(mlops_ab_experiment_create(&b, NULL, "exp-b", &o));
    o.namespace_start = 0.4;
    o.namespace_end = 0.6;
    tu_assert_ok(mlops_ab_experiment_create(&c, NULL, "exp-c", &o));
    tu_assert_ok(mlops_ab_experiment_save(a, s));
    tu_assert_ok(mlops_ab_experiment_save(b, s));
    tu_assert_st(mlops_ab_experiment_save(c, s), MLOPS_E_CONFLICT); /* overlaps both */
    tu_assert_st(mlops_ab_experiment_save(a, s), MLOPS_E_EXISTS);
    char buf[32];
    uint64_t na = 0, nb = 0;
    for (uint64_t i = 0; i < 200000; i++) {
        int n = unit_id(buf, i);
        int32_t va, vb;
        tu_assert_ok(mlops_ab_experiment_assign(&va, NULL, a, buf, (size_t)n));
        tu_assert_ok(mlops_ab_experiment_assign(&vb, NULL, b, buf, (size_t)n));
        require(!(va >= 0 && vb >= 0), "unit %s is in both experiments", buf);
        na += va >= 0;
        nb += vb >= 0;
    }
    ck_assert(fabs((double)na / 2e5 - 0.5) < 0.01 && fabs((double)nb / 2e5 - 0.5) < 0.01);
    /* A stored experiment loads with the same assignments. */
    mlops_ab_experiment *la = NULL;
    tu_assert_ok(mlops_ab_experiment_load(&la, s, "exp-a"));
    for (uint64_t i = 0; i < 1000; i++) {
        int n = unit_id(buf, i);
        int32_t v1, v2;
        tu_assert_ok(mlops_ab_experiment_assign(&v1, NULL, a, buf, (size_t)n));
        tu_assert_ok(mlops_ab_experiment_assign(&v2, NULL, la, buf, (size_t)n));
        require(v1 == v2, "loaded experiment differs");
    }
    tu_assert_st(mlops_ab_experiment_load(&c, s, "nope"), MLOPS_E_NOTFOUND);
    mlops_ab_experiment_free(a);
    mlops_ab_experiment_free(b);
    mlops_ab_experiment_free(c);
    mlops_ab_experiment_free(la);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_forced_and_holdout)
{
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    o.holdout = 0.1;
    o.n_variants = 3;
    mlops_ab_experiment *e = NULL;
    tu_assert_ok(mlops_ab_experiment_create(&e, NULL, "hx", &o));
    char buf[32];
    uint64_t held = 0, counts[3] = {0};
    for (uint64_t i = 0; i < 100000; i++) {
        int n = unit_id(buf, i);
        int32_t v;
        tu_assert_ok(mlops_ab_experiment_assign(&v, NULL, e, buf, (size_t)n));
        if (v == MLOPS_AB_HOLDOUT)
            held++;
        else
            counts[v]++;
    }
    ck_assert(fabs((double)held / 1e5 - 0.1) < 0.005);
    for (int i = 0; i < 3; i++)
        ck_assert(fabs((double)counts[i] / 1e5 - 0.3) < 0.006);
    /* Forced units bypass the holdout; forcing one of each holdout unit to 2. */
    for (uint64_t i = 0; i < 1000; i++) {
        int n = unit_id(buf, i);
        tu_assert_ok(mlops_ab_experiment_force(e, buf, (size_t)n, 2));
    }
    for (uint64_t i = 0; i < 1000; i++) {
        int n = unit_id(buf, i);
        int32_t v;
        tu_assert_ok(mlops_ab_experiment_assign(&v, NULL, e, buf, (size_t)n));
        require(v == 2, "forced unit got %d", v);
    }
    /* Bad input: an unknown variant, an empty unit. */
    tu_assert_st(mlops_ab_experiment_force(e, "u", 1, 3), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_experiment_force(e, "u", 1, -1), MLOPS_E_INVALID);
    int32_t v;
    tu_assert_st(mlops_ab_experiment_assign(&v, NULL, e, "", 0), MLOPS_E_INVALID);
    mlops_ab_experiment_free(e);
}
END_TEST

START_TEST(test_experiment_bad_input)
{
    mlops_ab_experiment *e = NULL;
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    o.weights = (const double[]){0.5, 0.4}; /* do not sum to the whole */
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    ck_assert_ptr_null(e);
    ck_assert(strstr(mlops_error_message(), "sum to") != NULL);
    o.weights = (const double[]){NAN, 1.0};
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    o.weights = (const double[]){-0.5, 1.5};
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    o.weights = NULL;
    o.coverage = 1.5;
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    o.coverage = 0;
    o.hash_mode = 7;
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    o.hash_mode = 0;
    /* N1/N7/N8/N12 names */
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "", &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "a\nb", &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "\xC0\xAF", &o), MLOPS_E_INVALID);
    char big[300];
    memset(big, 'a', 299);
    big[299] = 0;
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, big, &o), MLOPS_E_INVALID);
    o.version = 99;
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_VERSION);
    o.version = 1;
    o.namespace_end = 0.5; /* a range without a namespace */
    tu_assert_st(mlops_ab_experiment_create(&e, NULL, "x", &o), MLOPS_E_INVALID);
    ck_assert_ptr_null(e);
}
END_TEST

START_TEST(test_experiment_alloc_failures)
{
    /* Every allocation of create/force/json/free fails in turn: a status, no leak. */
    for (long k = 1; k < 40; k++) {
        tu_alloc a = {0};
        a.fail_at = k;
        mlops_env *env = tu_env_new(&a, NULL);
        mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
        o.namespace_id = "ns";
        mlops_ab_experiment *e = NULL;
        mlops_status st = mlops_ab_experiment_create(&e, env, "exp", &o);
        if (st == MLOPS_OK) {
            st = mlops_ab_experiment_force(e, "u1", 2, 1);
            char *js = NULL;
            if (st == MLOPS_OK && mlops_ab_experiment_json(&js, e) == MLOPS_OK)
                mlops_string_free(env, js);
        }
        ck_assert(st == MLOPS_OK || st == MLOPS_E_NOMEM);
        mlops_ab_experiment_free(e);
        mlops_env_free(env);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

/* ---- statistics against statsmodels / scipy ---- */

START_TEST(test_stats_power_normal)
{
    for (size_t i = 0; i < N_OF(ref_normal_power); i++) {
        const double *r = ref_normal_power[i];
        double es, n, pw;
        tu_assert_ok(mlops_ab_effect_size_proportions(&es, r[0], r[1]));
        assert_rel(es, r[5], 1e-12, "proportion_effectsize", (int)i);
        tu_assert_ok(mlops_ab_sample_size_normal(&n, es, r[2], r[3], r[4]));
        assert_rel(n, r[6], 1e-6, "NormalIndPower.solve_power", (int)i);
        tu_assert_ok(mlops_ab_power_normal(&pw, es, 1000, r[2], r[4]));
        assert_rel(pw, r[7], 1e-9, "NormalIndPower.power", (int)i);
        if (r[4] == 1.0) {
            uint64_t per = 0;
            tu_assert_ok(mlops_ab_sample_size_proportions(&per, r[0], r[1] - r[0], 0, r[2], r[3]));
            ck_assert_uint_eq(per, (uint64_t)ceil(r[6]));
        }
    }
    double n;
    tu_assert_st(mlops_ab_sample_size_normal(&n, 0.0, 0.05, 0.8, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_sample_size_normal(&n, 0.1, 1.5, 0.8, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_sample_size_normal(&n, NAN, 0.05, 0.8, 1), MLOPS_E_INVALID);
    uint64_t per;
    tu_assert_st(mlops_ab_sample_size_proportions(&per, 0.95, 0.1, 0, 0.05, 0.8),
                 MLOPS_E_INVALID); /* a treatment rate above 1 */
}
END_TEST

START_TEST(test_stats_power_ttest)
{
    for (size_t i = 0; i < N_OF(ref_ttest_power); i++) {
        const double *r = ref_ttest_power[i];
        double n, pw;
        tu_assert_ok(mlops_ab_sample_size_ttest(&n, r[0], r[1], r[2], r[3]));
        assert_rel(n, r[4], 1e-6, "TTestIndPower.solve_power", (int)i);
        tu_assert_ok(mlops_ab_power_ttest(&pw, r[0], 20, r[1], r[3]));
        assert_rel(pw, r[5], 1e-8, "TTestIndPower.power", (int)i);
    }
}
END_TEST

START_TEST(test_stats_tests)
{
    for (size_t i = 0; i < N_OF(ref_ztest); i++) {
        const double *r = ref_ztest[i];
        double z, p, lo, hi;
        tu_assert_ok(mlops_ab_ztest_proportions(&z, &p, &lo, &hi, (uint64_t)r[0], (uint64_t)r[1],
                                                (uint64_t)r[2], (uint64_t)r[3], r[4]));
        assert_rel(z, r[5], 1e-12, "proportions_ztest z", (int)i);
        assert_rel(p, r[6], 1e-10, "proportions_ztest p", (int)i);
        assert_rel(lo, r[7], 1e-10, "confint lo", (int)i);
        assert_rel(hi, r[8], 1e-10, "confint hi", (int)i);
    }
    for (size_t i = 0; i < N_OF(ref_welch); i++) {
        const double *r = ref_welch[i];
        double t, df, p, lo, hi;
        tu_assert_ok(mlops_ab_welch_ttest(&t, &df, &p, &lo, &hi, r[0], r[1], r[2], r[3], r[4],
                                          r[5], r[6]));
        assert_rel(t, r[7], 1e-10, "welch t", (int)i);
        assert_rel(df, r[8], 1e-10, "welch df", (int)i);
        assert_rel(p, r[9], 1e-8, "welch p", (int)i);
        assert_rel(lo, r[10], 1e-9, "welch ci lo", (int)i);
        assert_rel(hi, r[11], 1e-9, "welch ci hi", (int)i);
    }
    for (size_t i = 0; i < N_OF(ref_srm); i++) {
        const double *r = ref_srm[i];
        uint32_t k = (uint32_t)r[0];
        uint64_t obs[3] = {(uint64_t)r[1], (uint64_t)r[2], (uint64_t)r[3]};
        double w[3] = {r[4], r[5], r[6]};
        if (k == 3) { /* 1/3 each rounded: renormalize to sum exactly 1 */
            w[2] = 1.0 - w[0] - w[1];
        }
        double chi2, p;
        tu_assert_ok(mlops_ab_srm(&chi2, &p, obs, w, k));
        assert_rel(chi2, r[7], 1e-9, "chisquare stat", (int)i);
        assert_rel(p, r[8], 1e-8, "chisquare p", (int)i);
    }
    double z, p, lo, hi;
    tu_assert_st(mlops_ab_ztest_proportions(&z, &p, &lo, &hi, 11, 10, 1, 10, 0.05),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_ztest_proportions(&z, &p, &lo, &hi, 0, 10, 0, 10, 0.05),
                 MLOPS_E_INSUFFICIENT);
    double t, df;
    tu_assert_st(mlops_ab_welch_ttest(&t, &df, &p, &lo, &hi, NAN, 1, 10, 0, 1, 10, 0.05),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_welch_ttest(&t, &df, &p, &lo, &hi, 1, -1, 10, 0, 1, 10, 0.05),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_welch_ttest(&t, &df, &p, &lo, &hi, 1, 1, 1, 0, 1, 10, 0.05),
                 MLOPS_E_INSUFFICIENT);
    uint64_t obs[2] = {10, 10};
    tu_assert_st(mlops_ab_srm(&z, &p, obs, (const double[]){0.5, 0.6}, 2), MLOPS_E_INVALID);
}
END_TEST

START_TEST(test_stats_msprt_values)
{
    /* Lambda by hand: V = 1, tau2 = 1, theta = 2: sqrt(1/2) * exp(4 / 4) */
    double p;
    tu_assert_ok(mlops_ab_msprt(&p, 2.0, 1.0, 1.0, 1.0));
    assert_rel(p, 1.0 / (sqrt(0.5) * exp(1.0)), 1e-14, "msprt", 0);
    double p2;
    tu_assert_ok(mlops_ab_msprt(&p2, 0.0, 1.0, 1.0, p)); /* running minimum */
    ck_assert(p2 == p);
    tu_assert_st(mlops_ab_msprt(&p, 1.0, 0.0, 1.0, 1.0), MLOPS_E_INVALID);
    tu_assert_st(mlops_ab_msprt(&p, NAN, 1.0, 1.0, 1.0), MLOPS_E_INVALID);
    double hw;
    /* GrowthBook's formula at n = tuning: rho^2 = (-2 ln a + ln(-2 ln a + 1)) / n */
    tu_assert_ok(mlops_ab_cs_halfwidth(&hw, 0.0004, 5000, 0.05, 5000));
    double la = -2 * log(0.05), rho2 = (la + log(la + 1)) / 5000, s2 = 0.0004 * 5000;
    double want = sqrt(s2) * sqrt(2 * (5000 * rho2 + 1) / (5000.0 * 5000 * rho2) *
                                  log(sqrt(5000 * rho2 + 1) / 0.05));
    assert_rel(hw, want, 1e-14, "cs halfwidth", 0);
    /* wider than the fixed-horizon interval, as a confidence sequence must be */
    ck_assert(hw > 1.96 * sqrt(0.0004));
}
END_TEST

/* xorshift + Box-Muller, deterministic */
typedef struct rng {
    uint64_t s;
    int has;
    double spare;
} rng;

static double rng_u(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(rng *r)
{
    if (r->has) {
        r->has = 0;
        return r->spare;
    }
    double u = rng_u(r), v = rng_u(r);
    double m = sqrt(-2 * log(u));
    r->spare = m * sin(2 * M_PI * v);
    r->has = 1;
    return m * cos(2 * M_PI * v);
}

/* A/A tests peeked after every batch: the mSPRT's always-valid p stays at or under
 * alpha, while the fixed-horizon z-test peeked the same way does not. */
START_TEST(test_sequential_false_positives)
{
    const int sims = (int)scale(400, 4000), batches = 50, per = 100;
    const double alpha = 0.05;
    rng r = {0x9E3779B97F4A7C15ull, 0, 0};
    int msprt_fp = 0, naive_fp = 0, cs_miss = 0;
    for (int s = 0; s < sims; s++) {
        double st = 0, sqt = 0, sc = 0, sqc = 0, n = 0, pprev = 1.0;
        int fp = 0, nfp = 0, miss = 0;
        for (int b = 0; b < batches; b++) {
            for (int i = 0; i < per; i++) {
                double x = rng_normal(&r), y = rng_normal(&r);
                st += x;
                sqt += x * x;
                sc += y;
                sqc += y * y;
            }
            n += per;
            double mt = st / n, mc = sc / n;
            double vt = (sqt - n * mt * mt) / (n - 1), vc = (sqc - n * mc * mc) / (n - 1);
            double var = vt / n + vc / n;
            tu_assert_ok(mlops_ab_msprt(&pprev, mt - mc, var, 0.01, pprev));
            if (pprev < alpha)
                fp = 1;
            if (2 * mlops__norm_sf(fabs(mt - mc) / sqrt(var)) < alpha)
                nfp = 1;
            double hw;
            tu_assert_ok(mlops_ab_cs_halfwidth(&hw, var, 2 * n, alpha, 5000));
            if (fabs(mt - mc) > hw)
                miss = 1;
        }
        msprt_fp += fp;
        naive_fp += nfp;
        cs_miss += miss;
    }
    double se = sqrt(alpha * (1 - alpha) / sims);
    ck_assert_msg((double)msprt_fp / sims <= alpha + 3 * se, "mSPRT false positives %d / %d",
                  msprt_fp, sims);
    ck_assert_msg((double)cs_miss / sims <= alpha + 3 * se,
                  "confidence sequence missed 0 in %d / %d", cs_miss, sims);
    ck_assert_msg((double)naive_fp / sims > 2 * alpha, "naive peeking only %d / %d", naive_fp,
                  sims);
}
END_TEST

START_TEST(test_analyze)
{
    mlops_ab_variant_stats v[2] = {{"control", 10000, 1000, 0}, {"treatment", 10000, 1130, 0}};
    char *js = NULL;
    tu_assert_ok(mlops_ab_analyze(&js, NULL, v, 2, NULL));
    ck_assert(strstr(js, "\"srm\"") && strstr(js, "\"alert\":false"));
    ck_assert(strstr(js, "\"sequential_p_value\""));
    ck_assert_msg(strstr(js, "significant") != NULL, "%s", js);
    mlops_string_free(NULL, js);
    /* SRM: 10000 vs 9000 on a 50/50 plan invalidates the result */
    v[1].units = 9000;
    v[1].sum = 1017;
    tu_assert_ok(mlops_ab_analyze(&js, NULL, v, 2, NULL));
    ck_assert_msg(strstr(js, "\"alert\":true") && strstr(js, "invalid: sample ratio"), "%s", js);
    mlops_string_free(NULL, js);
    /* Pre-registration: before the plan is met the fixed-horizon verdict is refused. */
    tu_clock clk = {1700000000000LL * 1000000LL};
    mlops_env *env = tu_env_new(NULL, &clk);
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    o.primary_metric = "conversion";
    o.baseline = 0.10;
    o.mde = 0.02;
    o.min_runtime_days = 10; /* rounds up to 14 */
    mlops_ab_experiment *e = NULL;
    tu_assert_ok(mlops_ab_experiment_create(&e, env, "plan-test", &o));
    ck_assert_uint_eq(mlops_ab_experiment_planned_units(e), 3835); /* ceil(3834.6) */
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, env, "mem:", NULL));
    tu_assert_ok(mlops_ab_experiment_save(e, s));
    mlops_ab_experiment *pe = NULL;
    tu_assert_ok(mlops_ab_experiment_load(&pe, s, "plan-test"));
    mlops_ab_variant_stats w[2] = {{"control", 4000, 400, 0}, {"treatment", 4000, 470, 0}};
    mlops_ab_analyze_options ao = MLOPS_AB_ANALYZE_OPTIONS_INIT;
    ao.plan = pe;
    ao.tau2 = 1.0; /* a very wide mixture: the sequential test stays quiet here */
    ao.now_ms = 1700000000000LL + 3 * 86400000LL;
    tu_assert_ok(mlops_ab_analyze(&js, NULL, w, 2, &ao));
    ck_assert_msg(strstr(js, "refused") && strstr(js, "\"p_value\":null"), "%s", js);
    mlops_string_free(NULL, js);
    ao.now_ms = 1700000000000LL + 14 * 86400000LL;
    tu_assert_ok(mlops_ab_analyze(&js, NULL, w, 2, &ao));
    ck_assert_msg(!strstr(js, "refused") && !strstr(js, "\"p_value\":null"), "%s", js);
    mlops_string_free(NULL, js);
    /* bad input: negative, NaN, conversions above units, duplicate names */
    mlops_ab_variant_stats bad[2] = {{"a", 10, -1, 0}, {"b", 10, 1, 0}};
    tu_assert_st(mlops_ab_analyze(&js, NULL, bad, 2, NULL), MLOPS_E_INVALID);
    bad[0].sum = NAN;
    tu_assert_st(mlops_ab_analyze(&js, NULL, bad, 2, NULL), MLOPS_E_INVALID);
    bad[0].sum = 11;
    tu_assert_st(mlops_ab_analyze(&js, NULL, bad, 2, NULL), MLOPS_E_INVALID);
    bad[0].sum = 1;
    bad[1].name = "a";
    tu_assert_st(mlops_ab_analyze(&js, NULL, bad, 2, NULL), MLOPS_E_INVALID);
    bad[1].name = "b";
    bad[1].units = 0;
    tu_assert_st(mlops_ab_analyze(&js, NULL, bad, 2, NULL), MLOPS_E_INSUFFICIENT);
    mlops_ab_experiment_free(e);
    mlops_ab_experiment_free(pe);
    mlops_store_close(s);
    mlops_env_free(env);
}
END_TEST

/* ---- rollouts ---- */

typedef struct fixture {
    tu_clock clk;
    mlops_env *env;
    mlops_store *store;
} fixture;

static void fx_open(fixture *f)
{
    f->clk.now_ns = 1700000000000LL * 1000000LL;
    f->env = tu_env_new(NULL, &f->clk);
    tu_assert_ok(mlops_store_open(&f->store, f->env, "mem:", NULL));
}

static void fx_close(fixture *f)
{
    mlops_store_close(f->store);
    mlops_env_free(f->env);
}

static void advance_ms(fixture *f, int64_t ms)
{
    f->clk.now_ns += ms * 1000000LL;
}

static const double three_stages[] = {0.1, 0.5, 1.0};

static mlops_rollout_options base_opts(void)
{
    mlops_rollout_options o = MLOPS_ROLLOUT_OPTIONS_INIT;
    o.champion = 1;
    o.challenger = 2;
    o.stages = three_stages;
    o.n_stages = 3;
    o.min_requests = 1000;
    o.min_stage_ms = 60000;
    o.check_interval_ms = 1000;
    return o;
}

static void record_n(mlops_rollout *r, uint32_t arm, int n, double lat, int errors, int metric,
                     double mval)
{
    for (int i = 0; i < n; i++)
        tu_assert_ok(mlops_rollout_record(r, arm, lat,
                                          (i < errors ? MLOPS_ROLLOUT_OUTCOME_ERROR : 0) |
                                              (metric ? MLOPS_ROLLOUT_OUTCOME_METRIC : 0),
                                          mval));
}

START_TEST(test_rollout_stages)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    o.check_interval_ms = 1;
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "canary", &o));
    ck_assert_uint_eq(mlops_rollout_state(r), MLOPS_ROLLOUT_RUNNING);
    ck_assert(mlops_rollout_share(r) == 0.1);
    uint32_t state;
    /* 999 requests after the minimum time: not enough. */
    advance_ms(&f, 60000);
    record_n(r, 0, 899, 10, 0, 0, 0);
    record_n(r, 1, 100, 10, 0, 0, 0);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert(mlops_rollout_share(r) == 0.1);
    /* the 1000th request: it advances */
    advance_ms(&f, 1000);
    record_n(r, 0, 1, 10, 0, 0, 0);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert_msg(mlops_rollout_share(r) == 0.5, "share %g", mlops_rollout_share(r));
    /* the next stage needs its own requests and time: 1000 requests at 59999 ms: no */
    record_n(r, 0, 500, 10, 0, 0, 0);
    record_n(r, 1, 500, 10, 0, 0, 0);
    advance_ms(&f, 59999);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert(mlops_rollout_share(r) == 0.5);
    advance_ms(&f, 1);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert(mlops_rollout_share(r) == 1.0);
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_RUNNING);
    record_n(r, 1, 1000, 10, 0, 0, 0);
    advance_ms(&f, 60000);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_PROMOTED);
    uint32_t route;
    int64_t ver;
    tu_assert_ok(mlops_rollout_route(&route, &ver, r, "u", 1));
    ck_assert(route == MLOPS_ROLLOUT_ARM_CHALLENGER && ver == 2);
    char *js = NULL;
    tu_assert_ok(mlops_rollout_history_json(&js, r));
    ck_assert_msg(strstr(js, "created") && strstr(js, "advanced") && strstr(js, "promoted"),
                  "%s", js);
    mlops_string_free(f.env, js);
    tu_assert_st(mlops_rollout_rollback(r, "late"), MLOPS_E_CONFLICT);
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

START_TEST(test_rollout_error_trigger_boundary)
{
    for (int errors = 5; errors <= 6; errors++) {
        fixture f;
        fx_open(&f);
        mlops_rollout_options o = base_opts();
        o.max_error_rate = 0.05;
        o.min_trigger_requests = 100;
        mlops_rollout *r = NULL;
        tu_assert_ok(mlops_rollout_create(&r, f.store, "err", &o));
        /* 99 challenger requests, all failing: below the minimum, no trigger */
        record_n(r, 1, 99, 5, 99, 0, 0);
        uint32_t state;
        tu_assert_ok(mlops_rollout_check(&state, r));
        ck_assert_uint_eq(state, MLOPS_ROLLOUT_RUNNING);
        mlops_rollout_close(r);
        /* a fresh rollout: exactly 5% is not above the limit; 6% is */
        char name[16];
        snprintf(name, sizeof(name), "err%d", errors);
        tu_assert_ok(mlops_rollout_create(&r, f.store, name, &o));
        record_n(r, 1, 100, 5, errors, 0, 0);
        tu_assert_ok(mlops_rollout_check(&state, r));
        ck_assert_uint_eq(state, errors == 5 ? MLOPS_ROLLOUT_RUNNING : MLOPS_ROLLOUT_ROLLED_BACK);
        if (errors == 6) {
            uint32_t route;
            int64_t v;
            tu_assert_ok(mlops_rollout_route(&route, &v, r, "anyone", 6));
            ck_assert(route == MLOPS_ROLLOUT_ARM_CHAMPION && v == 1);
            char *js;
            tu_assert_ok(mlops_rollout_status_json(&js, r));
            ck_assert_msg(strstr(js, "error rate 0.06"), "%s", js);
            mlops_string_free(f.env, js);
        }
        mlops_rollout_close(r);
        fx_close(&f);
    }
}
END_TEST

START_TEST(test_rollout_p99_trigger_boundary)
{
    /* The sketch answers within 1%: 98.9 ms stays under a 100 ms limit, 101.1 fires. */
    const double lat[2] = {98.9, 101.1};
    for (int k = 0; k < 2; k++) {
        fixture f;
        fx_open(&f);
        mlops_rollout_options o = base_opts();
        o.max_p99_ms = 100;
        mlops_rollout *r = NULL;
        tu_assert_ok(mlops_rollout_create(&r, f.store, "p99", &o));
        record_n(r, 1, 1000, 5, 0, 0, 0);
        record_n(r, 1, 20, lat[k], 0, 0, 0); /* 2% slow: the p99 is the slow value */
        uint32_t state;
        tu_assert_ok(mlops_rollout_check(&state, r));
        ck_assert_uint_eq(state, k == 0 ? MLOPS_ROLLOUT_RUNNING : MLOPS_ROLLOUT_ROLLED_BACK);
        mlops_rollout_close(r);
        fx_close(&f);
    }
}
END_TEST

START_TEST(test_rollout_metric_trigger)
{
    /* Champion converts 10%; a challenger 20% worse fires with a 5% margin, 1% worse not. */
    const double rate[2] = {0.099, 0.08};
    for (int k = 0; k < 2; k++) {
        fixture f;
        fx_open(&f);
        mlops_rollout_options o = base_opts();
        o.max_metric_drop = 0.05;
        o.min_trigger_requests = 100;
        mlops_rollout *r = NULL;
        tu_assert_ok(mlops_rollout_create(&r, f.store, "metric", &o));
        for (int i = 0; i < 20000; i++)
            tu_assert_ok(mlops_rollout_record(r, 0, 5, MLOPS_ROLLOUT_OUTCOME_METRIC,
                                              i % 10 == 0 ? 1.0 : 0.0));
        int conv = (int)(rate[k] * 20000);
        for (int i = 0; i < 20000; i++)
            tu_assert_ok(mlops_rollout_record(r, 1, 5, MLOPS_ROLLOUT_OUTCOME_METRIC,
                                              i < conv ? 1.0 : 0.0));
        uint32_t state;
        tu_assert_ok(mlops_rollout_check(&state, r));
        ck_assert_uint_eq(state, k == 0 ? MLOPS_ROLLOUT_RUNNING : MLOPS_ROLLOUT_ROLLED_BACK);
        mlops_rollout_close(r);
        fx_close(&f);
    }
}
END_TEST

START_TEST(test_rollout_failure_threshold_and_interval)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    o.max_error_rate = 0.01;
    o.failure_threshold = 2;
    o.check_interval_ms = 10000;
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "flagger", &o));
    record_n(r, 1, 200, 5, 50, 0, 0);
    uint32_t state;
    tu_assert_ok(mlops_rollout_check(&state, r)); /* failed check 1 of 2 */
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_RUNNING);
    advance_ms(&f, 5000);
    tu_assert_ok(mlops_rollout_check(&state, r)); /* too soon: does not count */
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_RUNNING);
    advance_ms(&f, 5000);
    tu_assert_ok(mlops_rollout_check(&state, r)); /* failed check 2 of 2: roll back */
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_ROLLED_BACK);
    char *js;
    tu_assert_ok(mlops_rollout_history_json(&js, r));
    ck_assert_msg(strstr(js, "check_failed") && strstr(js, "rolled_back"), "%s", js);
    mlops_string_free(f.env, js);
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

START_TEST(test_rollout_shadow)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    o.shadow = 1;
    o.min_agreement = 0.95;
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "shadow", &o));
    uint32_t route;
    int64_t v;
    tu_assert_ok(mlops_rollout_route(&route, &v, r, "u1", 2));
    ck_assert(route == (MLOPS_ROLLOUT_ARM_CHAMPION | MLOPS_ROLLOUT_ROUTE_SHADOW) && v == 1);
    ck_assert(mlops_rollout_share(r) == 0.0);
    for (int i = 0; i < 1000; i++) {
        tu_assert_ok(mlops_rollout_record(r, 0, 5, 0, 0));
        tu_assert_ok(mlops_rollout_record(r, 1, 6, 0, 0));
        tu_assert_ok(mlops_rollout_record_agreement(r, i % 10 != 0)); /* 90% agree */
    }
    advance_ms(&f, 60000);
    uint32_t state;
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert(mlops_rollout_share(r) == 0.0); /* agreement 0.90 < 0.95 */
    mlops_rollout_close(r);
    o.min_agreement = 0.9;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "shadow2", &o));
    for (int i = 0; i < 1000; i++) {
        tu_assert_ok(mlops_rollout_record(r, 1, 6, 0, 0));
        tu_assert_ok(mlops_rollout_record_agreement(r, i % 10 != 0));
    }
    advance_ms(&f, 60000);
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert(mlops_rollout_share(r) == 0.1); /* on to the canary */
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

START_TEST(test_rollout_route_ramp_only_adds)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    o.min_requests = 1;
    o.min_stage_ms = 1;
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "ramp", &o));
    const uint64_t N = scale(200000, 2000000);
    uint8_t *was = calloc(N, 1);
    char buf[32];
    for (int stage = 0; stage < 3; stage++) {
        uint64_t n_ch = 0;
        for (uint64_t i = 0; i < N; i++) {
            int n = unit_id(buf, i);
            uint32_t route;
            tu_assert_ok(mlops_rollout_route(&route, NULL, r, buf, (size_t)n));
            int ch = route == MLOPS_ROLLOUT_ARM_CHALLENGER;
            require(!(was[i] && !ch), "unit %s left the challenger at stage %d", buf, stage);
            was[i] = (uint8_t)ch;
            n_ch += ch;
        }
        ck_assert(fabs((double)n_ch / (double)N - mlops_rollout_share(r)) < 0.005);
        record_n(r, 0, 1, 1, 0, 0, 0);
        advance_ms(&f, 1000);
        uint32_t state;
        tu_assert_ok(mlops_rollout_check(&state, r));
    }
    free(was);
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

typedef struct thr_arg {
    mlops_rollout *r;
    int n;
} thr_arg;

static void *recorder(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->n; i++)
        mlops_rollout_record(a->r, (uint32_t)(i & 1), 1.0 + (i % 100),
                             MLOPS_ROLLOUT_OUTCOME_METRIC | ((i % 50) == 0), 1.0);
    return NULL;
}

START_TEST(test_rollout_threads_and_persistence)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "threads", &o));
    pthread_t t[2];
    thr_arg a = {r, 200000};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, recorder, &a);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    tu_assert_ok(mlops_rollout_flush(r));
    /* A second handle (another process, say) sees the flushed outcomes and adds its own. */
    mlops_rollout *r2 = NULL;
    tu_assert_ok(mlops_rollout_open(&r2, f.store, "threads"));
    record_n(r2, 1, 10, 1, 0, 0, 0);
    tu_assert_ok(mlops_rollout_flush(r2));
    tu_assert_ok(mlops_rollout_flush(r)); /* nothing new: no double counting */
    char *js;
    tu_assert_ok(mlops_rollout_status_json(&js, r2));
    ck_assert_msg(strstr(js, "\"total_outcomes\":{\"champion\":{\"requests\":200000,\"errors\":8000"),
                  "%s", js);
    ck_assert_msg(strstr(js, "\"challenger\":{\"requests\":200010"), "%s", js);
    mlops_string_free(f.env, js);
    mlops_rollout_close(r2);
    mlops_rollout_close(r);
    tu_assert_st(mlops_rollout_open(&r, f.store, "missing"), MLOPS_E_NOTFOUND);
    fx_close(&f);
}
END_TEST

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_rollout_sketch_accuracy)
{
    /* Quantiles from the sketch are within 1% of the exact sample quantile. */
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops_rollout_create(&r, f.store, "sketch", &o));
    rng g = {12345, 0, 0};
    enum { N = 100000 };
    double *x = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) {
        x[i] = exp(3.0 + rng_normal(&g)); /* lognormal, median 20 ms */
        tu_assert_ok(mlops_rollout_record(r, 1, x[i], 0, 0));
    }
    qsort(x, N, sizeof(double), cmp_d);
    char *js;
    tu_assert_ok(mlops_rollout_status_json(&js, r));
    const char *p = strstr(js, "\"challenger\":{");
    ck_assert_ptr_nonnull(p);
    double p50 = atof(strstr(p, "\"p50_ms\":") + 9), p99 = atof(strstr(p, "\"p99_ms\":") + 9);
    double t50 = x[(int)(0.5 * (N - 1))], t99 = x[(int)(0.99 * (N - 1))];
    ck_assert_msg(fabs(p50 - t50) / t50 <= 0.0101, "p50 %g vs %g", p50, t50);
    ck_assert_msg(fabs(p99 - t99) / t99 <= 0.0101, "p99 %g vs %g", p99, t99);
    mlops_string_free(f.env, js);
    free(x);
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

START_TEST(test_rollout_bad_input)
{
    fixture f;
    fx_open(&f);
    mlops_rollout_options o = base_opts();
    mlops_rollout *r = NULL;
    o.stages = (const double[]){0.5, 0.2, 1.0};
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", &o), MLOPS_E_INVALID);
    o.stages = (const double[]){0.1, 0.5};
    o.n_stages = 2;
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", &o), MLOPS_E_INVALID);
    o = base_opts();
    o.max_error_rate = NAN;
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", &o), MLOPS_E_INVALID);
    o.max_error_rate = -0.1;
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", &o), MLOPS_E_INVALID);
    o = base_opts();
    o.challenger = 1;
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", &o), MLOPS_E_INVALID);
    o = base_opts();
    tu_assert_st(mlops_rollout_create(&r, f.store, "a\x1b[31m", &o), MLOPS_E_INVALID); /* N7 */
    tu_assert_st(mlops_rollout_create(&r, f.store, "bad", NULL), MLOPS_E_INVALID);
    o.champion_uri = "models:/m@champion"; /* no registry given */
    tu_assert_st(mlops__rollout_create_with(&r, f.store, "bad", &o, NULL), MLOPS_E_UNSUPPORTED);
    o = base_opts();
    tu_assert_ok(mlops_rollout_create(&r, f.store, "good", &o));
    mlops_rollout *dup = NULL;
    tu_assert_st(mlops_rollout_create(&dup, f.store, "good", &o), MLOPS_E_EXISTS);
    /* Bad outcomes change nothing. */
    tu_assert_st(mlops_rollout_record(r, 2, 1, 0, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, -1, 0, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, NAN, 0, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, INFINITY, 0, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, 1, MLOPS_ROLLOUT_OUTCOME_METRIC, NAN), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, 1, MLOPS_ROLLOUT_OUTCOME_METRIC, -2), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_record(r, 1, 1, 0x80, 0), MLOPS_E_INVALID);
    char *js;
    tu_assert_ok(mlops_rollout_status_json(&js, r));
    ck_assert_msg(strstr(js, "\"total_outcomes\":{\"champion\":{\"requests\":0"), "%s", js);
    ck_assert_msg(strstr(js, "\"challenger\":{\"requests\":0"), "%s", js);
    mlops_string_free(f.env, js);
    uint32_t route;
    tu_assert_st(mlops_rollout_route(&route, NULL, r, "", 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_rollout_route(NULL, NULL, r, "u", 1), MLOPS_E_INVALID);
    mlops_rollout_close(r);
    fx_close(&f);
}
END_TEST

/* A fake registry: versions 1..3 of model "m"; alias moves are recorded. */
typedef struct fake_reg {
    int64_t alias_version;
    int deleted;
    char reason[256];
} fake_reg;
static fake_reg g_reg; /* test-only state; the library has none */

static mlops_status fake_resolve(int64_t *v, mlops_store *s, const char *uri)
{
    (void)s;
    if (strcmp(uri, "models:/m@champion") == 0) {
        *v = 1;
        return MLOPS_OK;
    }
    if (strcmp(uri, "models:/m/2") == 0 || strcmp(uri, "models:/m@challenger") == 0) {
        if (g_reg.deleted)
            return mlops_error_set(MLOPS_E_NOTFOUND, "version 2 of model 'm' was deleted");
        *v = 2;
        return MLOPS_OK;
    }
    if (strncmp(uri, "models:/", 8) != 0)
        return mlops_error_set(MLOPS_E_INVALID, "not a model URI");
    return mlops_error_set(MLOPS_E_NOTFOUND, "no such version");
}

static mlops_status fake_set_alias(mlops_store *s, const char *model, const char *alias,
                                   int64_t version, const char *reason)
{
    (void)s;
    ck_assert_str_eq(model, "m");
    ck_assert_str_eq(alias, "champion");
    g_reg.alias_version = version;
    snprintf(g_reg.reason, sizeof(g_reg.reason), "%s", reason);
    return MLOPS_OK;
}

static const mlops__rollout_registry_ops fake_ops = {fake_resolve, fake_set_alias};

START_TEST(test_rollout_registry_binding)
{
    fixture f;
    fx_open(&f);
    memset(&g_reg, 0, sizeof(g_reg));
    mlops_rollout_options o = base_opts();
    o.champion = o.challenger = 0;
    o.model = "m";
    o.alias = "champion";
    o.champion_uri = "models:/m@champion";
    o.challenger_uri = "models:/m@challenger";
    o.max_error_rate = 0.05;
    mlops_rollout *r = NULL;
    tu_assert_ok(mlops__rollout_create_with(&r, f.store, "bound", &o, &fake_ops));
    record_n(r, 1, 200, 5, 20, 0, 0);
    uint32_t state;
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_ROLLED_BACK);
    ck_assert_int_eq(g_reg.alias_version, 1); /* the alias moved back to the champion */
    ck_assert_msg(strstr(g_reg.reason, "error rate"), "%s", g_reg.reason);
    mlops_rollout_close(r);
    /* A challenger version that disappears rolls the rollout back. */
    tu_assert_ok(mlops__rollout_create_with(&r, f.store, "vanishing", &o, &fake_ops));
    g_reg.deleted = 1;
    g_reg.alias_version = 0;
    tu_assert_ok(mlops_rollout_check(&state, r));
    ck_assert_uint_eq(state, MLOPS_ROLLOUT_ROLLED_BACK);
    ck_assert_int_eq(g_reg.alias_version, 1);
    char *js;
    tu_assert_ok(mlops_rollout_status_json(&js, r));
    ck_assert_msg(strstr(js, "no longer exists"), "%s", js);
    mlops_string_free(f.env, js);
    mlops_rollout_close(r);
    /* URIs that resolve to nothing are refused at create. */
    o.challenger_uri = "models:/m/9";
    tu_assert_st(mlops__rollout_create_with(&r, f.store, "nine", &o, &fake_ops),
                 MLOPS_E_NOTFOUND);
    fx_close(&f);
}
END_TEST

START_TEST(test_rollout_alloc_failures)
{
    for (long k = 1; k < 80; k++) {
        tu_alloc a = {0};
        a.fail_at = k;
        tu_clock clk = {1700000000000LL * 1000000LL};
        mlops_env *env = tu_env_new(&a, &clk);
        mlops_store *s = NULL;
        if (mlops_store_open(&s, env, "mem:", NULL) == MLOPS_OK) {
            mlops_rollout_options o = base_opts();
            o.max_error_rate = 0.05;
            mlops_rollout *r = NULL;
            mlops_status st = mlops_rollout_create(&r, s, "alloc", &o);
            ck_assert(st == MLOPS_OK || st == MLOPS_E_NOMEM);
            if (st == MLOPS_OK) {
                record_n(r, 1, 150, 1, 50, 0, 0);
                uint32_t state;
                st = mlops_rollout_check(&state, r);
                ck_assert(st == MLOPS_OK || st == MLOPS_E_NOMEM);
                char *js = NULL;
                if (mlops_rollout_history_json(&js, r) == MLOPS_OK)
                    mlops_string_free(env, js);
                mlops_rollout_close(r);
            }
            mlops_store_close(s);
        }
        mlops_env_free(env);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

START_TEST(test_options_abi)
{
    /* Pin sizes and the last field's offset of every options version. */
    ck_assert_uint_eq(sizeof(mlops_ab_experiment_options), 136);
    ck_assert_uint_eq(offsetof(mlops_ab_experiment_options, min_runtime_days), 132);
    ck_assert_uint_eq(sizeof(mlops_rollout_options), 160);
    ck_assert_uint_eq(offsetof(mlops_rollout_options, min_agreement), 152);
    ck_assert_uint_eq(sizeof(mlops_ab_analyze_options), 56);
    ck_assert_uint_eq(offsetof(mlops_ab_analyze_options, now_ms), 48);
    ck_assert_uint_eq(sizeof(mlops_ab_variant_stats), 32);
    mlops_rollout_options ro;
    tu_assert_ok(mlops_rollout_options_init(&ro, MLOPS_ROLLOUT_OPTIONS_VERSION));
    tu_assert_st(mlops_rollout_options_init(&ro, 2), MLOPS_E_VERSION);
    mlops_ab_experiment_options eo;
    tu_assert_st(mlops_ab_experiment_options_init(&eo, 0), MLOPS_E_VERSION);
    mlops_ab_analyze_options ao;
    tu_assert_ok(mlops_ab_analyze_options_init(&ao, 1));
}
END_TEST

static Suite *rollout_suite(void)
{
    Suite *s = suite_create("rollout");
    TCase *tc = tcase_create("rollout");
    tcase_add_test(tc, test_growthbook_hash);
    tcase_add_test(tc, test_growthbook_ranges);
    tcase_add_test(tc, test_growthbook_choose_and_namespace);
    tcase_add_test(tc, test_growthbook_run);
    tcase_add_test(tc, test_growthbook_utf16);
    tcase_add_test(tc, test_xxh3_definition);
    tcase_add_test(tc, test_xxh3_pinned_vectors);
    tcase_add_test(tc, test_ramp_only_adds);
    tcase_add_test(tc, test_bucket_uniformity);
    tcase_add_test(tc, test_namespace_exclusive);
    tcase_add_test(tc, test_forced_and_holdout);
    tcase_add_test(tc, test_experiment_bad_input);
    tcase_add_test(tc, test_experiment_alloc_failures);
    tcase_add_test(tc, test_stats_power_normal);
    tcase_add_test(tc, test_stats_power_ttest);
    tcase_add_test(tc, test_stats_tests);
    tcase_add_test(tc, test_stats_msprt_values);
    tcase_add_test(tc, test_sequential_false_positives);
    tcase_add_test(tc, test_analyze);
    tcase_add_test(tc, test_rollout_stages);
    tcase_add_test(tc, test_rollout_error_trigger_boundary);
    tcase_add_test(tc, test_rollout_p99_trigger_boundary);
    tcase_add_test(tc, test_rollout_metric_trigger);
    tcase_add_test(tc, test_rollout_failure_threshold_and_interval);
    tcase_add_test(tc, test_rollout_shadow);
    tcase_add_test(tc, test_rollout_route_ramp_only_adds);
    tcase_add_test(tc, test_rollout_threads_and_persistence);
    tcase_add_test(tc, test_rollout_sketch_accuracy);
    tcase_add_test(tc, test_rollout_bad_input);
    tcase_add_test(tc, test_rollout_registry_binding);
    tcase_add_test(tc, test_rollout_alloc_failures);
    tcase_add_test(tc, test_options_abi);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rollout_suite());
}

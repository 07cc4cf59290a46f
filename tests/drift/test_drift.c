/* SPDX-License-Identifier: MIT */
/* Profiles, reports, monitors, baselines and history; bad inputs
 * (RELIABILITY.md ids in the comments); allocation failures (FG6). */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_internal.h"
#include "mlops/drift.h"
#include "stats/dstats.h"
#include "testutil.h"

/* Deterministic normal-ish data: sum of 4 uniforms from an LCG. */
static uint64_t lcg = 1;
static double urand(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0;
}
static double nrand(void)
{
    return (urand() + urand() + urand() + urand() - 2.0) * 1.7320508075688772;
}
static double *sample(size_t n, double shift, double scale)
{
    double *x = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        x[i] = shift + scale * nrand();
    return x;
}

/* ---- ABI pins (STYLE.md section 5) ---- */

START_TEST(abi_pins)
{
    ck_assert_uint_eq(sizeof(mlops_drift_result), 96);
    ck_assert_uint_eq(offsetof(mlops_drift_result, inf_cur), 88);
    ck_assert_uint_eq(sizeof(mlops_drift_psi_options), 40);
    ck_assert_uint_eq(offsetof(mlops_drift_psi_options, n_edges), 32);
    ck_assert_uint_eq(sizeof(mlops_drift_profile_options), 48);
    ck_assert_uint_eq(offsetof(mlops_drift_profile_options, keep_values), 40);
    ck_assert_uint_eq(sizeof(mlops_drift_profile_stats), 112);
    ck_assert_uint_eq(offsetof(mlops_drift_profile_stats, bytes), 104);
    ck_assert_uint_eq(sizeof(mlops_drift_compare_options), 56);
    ck_assert_uint_eq(offsetof(mlops_drift_compare_options, drift_share), 48);
    ck_assert_uint_eq(sizeof(mlops_drift_column), 160);
    ck_assert_uint_eq(offsetof(mlops_drift_column, n_cur), 152);
    ck_assert_int_eq(MLOPS_DRIFT_RESULT_VERSION, 1);
    ck_assert_int_eq(MLOPS_DRIFT_PSI_OPTIONS_VERSION, 1);
    ck_assert_int_eq(MLOPS_DRIFT_PROFILE_OPTIONS_VERSION, 1);
    ck_assert_int_eq(MLOPS_DRIFT_COMPARE_OPTIONS_VERSION, 1);
    mlops_drift_psi_options po;
    tu_assert_st(mlops_drift_psi_options_init(&po, 2), MLOPS_E_VERSION);
    tu_assert_st(mlops_drift_psi_options_init(NULL, 1), MLOPS_E_INVALID);
    mlops_drift_result r;
    tu_assert_ok(mlops_drift_result_init(&r, 1));
    r.version = 7;
    double x = 1;
    tu_assert_st(mlops_drift_ks_2samp(&r, &x, 1, &x, 1, 0), MLOPS_E_VERSION);
}
END_TEST

/* ---- bad inputs of the plain functions (N-series: empty, NaN, single) ---- */

START_TEST(bad_inputs_arrays)
{
    mlops_drift_result r = MLOPS_DRIFT_RESULT_INIT;
    double one = 1.5, nan2[2] = {NAN, NAN}, v[3] = {1, 2, 3};
    /* empty columns */
    tu_assert_st(mlops_drift_ks_2samp(&r, v, 0, v, 3, 0), MLOPS_E_INSUFFICIENT);
    tu_assert_st(mlops_drift_psi(&r, v, 3, v, 0, NULL), MLOPS_E_INSUFFICIENT);
    tu_assert_st(mlops_drift_wasserstein(&r, v, 0, v, 3), MLOPS_E_INSUFFICIENT);
    /* all-NaN columns: counted, then a clear status */
    tu_assert_st(mlops_drift_ks_2samp(&r, nan2, 2, v, 3, 0), MLOPS_E_INSUFFICIENT);
    tu_assert_st(mlops_drift_psi(&r, nan2, 2, v, 3, NULL), MLOPS_E_INSUFFICIENT);
    /* a NaN current sample is a legal PSI input: all of it in the NaN bin */
    tu_assert_ok(mlops_drift_psi(&r, v, 3, nan2, 2, NULL));
    ck_assert(isfinite(r.statistic) && r.statistic > 1);
    ck_assert_uint_eq(r.nan_cur, 2);
    /* single values */
    tu_assert_ok(mlops_drift_ks_2samp(&r, &one, 1, &one, 1, 0));
    ck_assert_double_eq(r.statistic, 0);
    ck_assert_double_eq(r.pvalue, 1);
    tu_assert_ok(mlops_drift_psi(&r, &one, 1, &one, 1, NULL));
    ck_assert_double_eq(r.statistic, 0);
    tu_assert_ok(mlops_drift_wasserstein(&r, &one, 1, v, 3));
    ck_assert(isfinite(r.extra)); /* std 0 -> divided by 0.001, never by 0 */
    /* NULL pointers (A1) */
    tu_assert_st(mlops_drift_ks_2samp(NULL, v, 3, v, 3, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_ks_2samp(&r, NULL, 3, v, 3, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_ks_2samp(&r, v, 3, v, 3, 9), MLOPS_E_INVALID);
    /* chi-squared: negative, NaN, empty rows */
    double b[3] = {1, 2, 3}, c[3] = {1, -2, 3}, z[3] = {0, 0, 0}, cn[3] = {1, NAN, 1};
    tu_assert_st(mlops_drift_chi2(&r, b, c, 3, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_chi2(&r, b, cn, 3, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_chi2(&r, b, z, 3, 0), MLOPS_E_INSUFFICIENT);
    /* one category: dof 0, statistic 0, p 1 (scipy's answer) */
    double one_b[2] = {5, 0}, one_c[2] = {7, 0};
    tu_assert_ok(mlops_drift_chi2(&r, one_b, one_c, 2, 0));
    ck_assert_double_eq(r.dof, 0);
    ck_assert_double_eq(r.pvalue, 1);
    /* chisquare totals must match */
    double o2[2] = {10, 10}, e2[2] = {5, 5};
    tu_assert_st(mlops_drift_chisquare(&r, o2, e2, 2), MLOPS_E_INVALID);
    /* PSI options */
    mlops_drift_psi_options po = MLOPS_DRIFT_PSI_OPTIONS_INIT;
    po.bins = 5000;
    tu_assert_st(mlops_drift_psi(&r, v, 3, v, 3, &po), MLOPS_E_INVALID);
    double bad_edges[2] = {2, 1};
    po.bins = 0;
    po.edges = bad_edges;
    po.n_edges = 2;
    tu_assert_st(mlops_drift_psi(&r, v, 3, v, 3, &po), MLOPS_E_INVALID);
    po.edges = NULL;
    po.n_edges = 0;
    po.eps = -1;
    tu_assert_st(mlops_drift_psi(&r, v, 3, v, 3, &po), MLOPS_E_INVALID);
    /* JS */
    double p0[2] = {0, 0};
    tu_assert_st(mlops_drift_js(&r, p0, b, 2, 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_js(&r, b, b, 3, 1.0), MLOPS_E_INVALID);
}
END_TEST

START_TEST(infinities_and_nan_reported)
{
    double a[6] = {1, 2, INFINITY, NAN, -INFINITY, 3};
    double b[4] = {1, 2, 2.5, NAN};
    mlops_drift_result r = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_ks_2samp(&r, a, 6, b, 4, 0));
    ck_assert_uint_eq(r.nan_base, 1);
    ck_assert_uint_eq(r.inf_base, 2);
    ck_assert_uint_eq(r.n_base, 5);
    ck_assert(isfinite(r.pvalue));
    tu_assert_ok(mlops_drift_psi(&r, a, 6, b, 4, NULL));
    ck_assert(isfinite(r.statistic));
    tu_assert_ok(mlops_drift_wasserstein(&r, a, 6, b, 4));
    ck_assert(isfinite(r.statistic));
    ck_assert_uint_eq(r.n_base, 3);
}
END_TEST

/* ---- profiles ---- */

START_TEST(profile_moments_and_merge)
{
    lcg = 11;
    size_t n = 50000;
    double *x = sample(n, 3.0, 2.0);
    mlops_drift_profile *all = NULL, *a = NULL, *b = NULL;
    tu_assert_ok(mlops_drift_profile_create(&all, NULL, "f", NULL));
    tu_assert_ok(mlops_drift_profile_create(&a, NULL, "f", NULL));
    tu_assert_ok(mlops_drift_profile_create(&b, NULL, "f", NULL));
    tu_assert_ok(mlops_drift_profile_add(all, x, n));
    tu_assert_ok(mlops_drift_profile_add(a, x, 12345));
    tu_assert_ok(mlops_drift_profile_add(b, x + 12345, n - 12345));
    tu_assert_ok(mlops_drift_profile_merge(a, b));
    mlops_drift_profile_stats s1 = {MLOPS_DRIFT_PROFILE_STATS_VERSION}, s2 = s1;
    tu_assert_ok(mlops_drift_profile_summary(&s1, all));
    tu_assert_ok(mlops_drift_profile_summary(&s2, a));
    ck_assert_uint_eq(s1.count, s2.count);
    ck_assert(fabs(s1.mean - s2.mean) < 1e-12 * fabs(s1.mean));
    ck_assert(fabs(s1.variance - s2.variance) < 1e-10 * s1.variance);
    /* two-pass reference */
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++)
        m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    v /= (double)n;
    ck_assert(fabs(s1.mean - m) < 1e-12 * fabs(m));
    ck_assert(fabs(s1.variance - v) < 1e-10 * v);
    ck_assert_uint_eq(s1.exact, 0);
    ck_assert(s1.bytes < 8192);
    /* merging different types is refused, dst unchanged */
    mlops_drift_profile *c = NULL;
    mlops_drift_profile_options co = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    co.type = MLOPS_DRIFT_CATEGORICAL;
    tu_assert_ok(mlops_drift_profile_create(&c, NULL, "f", &co));
    tu_assert_st(mlops_drift_profile_merge(a, c), MLOPS_E_INVALID);
    tu_assert_ok(mlops_drift_profile_summary(&s2, a));
    ck_assert_uint_eq(s2.count, n);
    /* numbers into a categorical profile and strings into a numeric one */
    const char *s[1] = {"x"};
    tu_assert_st(mlops_drift_profile_add(c, x, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_profile_add_strings(a, s, 1), MLOPS_E_INVALID);
    mlops_drift_profile_free(all);
    mlops_drift_profile_free(a);
    mlops_drift_profile_free(b);
    mlops_drift_profile_free(c);
    free(x);
}
END_TEST

/* The documented rank-error bound of the sketch, checked on 1e6 values in
 * several orders (sorted input is the sketch's hard case). */
START_TEST(sketch_rank_error_bound)
{
    size_t n = 1000000;
    double *x = malloc(n * sizeof(double));
    double worst = 0;
    for (int order = 0; order < 3; order++) {
        for (size_t i = 0; i < n; i++)
            x[i] = order == 0 ? (double)i : (order == 1 ? (double)(n - i) : (double)((i * 7919) % n));
        mlops__kll s;
        mlops__kll_init(&s, NULL, 128, 99 + (uint64_t)order);
        for (size_t off = 0; off < n; off += 1000)
            tu_assert_ok(mlops__kll_add(&s, x + off, 1000));
        mlops__kll_view v;
        tu_assert_ok(mlops__kll_view_make(&v, &s));
        ck_assert(mlops__kll_retained(&s) < 1000);
        for (int q = 1; q < 100; q++) {
            double t = (double)q / 100 * (double)n;
            /* values are a permutation of 0..n-1 (or 1..n): true rank is t */
            double est = (double)mlops__kll_view_rank(&v, t) / (double)v.total;
            double truth = (order == 1 ? t : t + 1) / (double)n;
            double e = fabs(est - truth);
            if (e > worst)
                worst = e;
        }
        mlops__kll_view_free(NULL, &v);
        mlops__kll_free(&s);
    }
    printf("FIGURE kll_k128_max_rank_error=%.4f bound=%.4f\n", worst, mlops__kll_eps(128));
    ck_assert_msg(worst <= mlops__kll_eps(128), "rank error %g over the bound %g", worst,
                  mlops__kll_eps(128));
    free(x);
}
END_TEST

/* KS and PSI from profiles: exact while raw values are kept; within the
 * stated bound (ks_error) from sketches. */
START_TEST(profile_statistics_error)
{
    lcg = 5;
    size_t n = 20000;
    double *a = sample(n, 0, 1), *b = sample(n, 0.1, 1.1);
    mlops_drift_result raw = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_ks_2samp(&raw, a, n, b, n, 0));
    mlops_drift_result psi = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_psi(&psi, a, n, b, n, NULL));
    for (int keep = 0; keep < 2; keep++) {
        mlops_drift_profile_options o = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
        o.keep_values = keep ? n : 0;
        mlops_drift_profile *pa = NULL, *pb = NULL;
        tu_assert_ok(mlops_drift_profile_from_values(&pa, NULL, "x", a, n, &o));
        tu_assert_ok(mlops_drift_profile_create_like(&pb, pa));
        tu_assert_ok(mlops_drift_profile_add(pb, b, n));
        mlops_drift_report *r = NULL;
        tu_assert_ok(mlops_drift_compare(&r, &pa, 1, &pb, 1, NULL));
        mlops_drift_column c = {MLOPS_DRIFT_COLUMN_VERSION};
        tu_assert_ok(mlops_drift_report_column(&c, r, 0));
        /* PSI: exact either way (the baseline's bins are exact from its values) */
        ck_assert_msg(fabs(c.psi - psi.statistic) < 1e-12, "psi %g vs %g", c.psi, psi.statistic);
        if (keep) {
            ck_assert_double_eq(c.ks_statistic, raw.statistic);
            ck_assert(fabs(c.ks_pvalue - raw.pvalue) <= 1e-12 * raw.pvalue);
            ck_assert_uint_eq(c.approximate, 0);
            ck_assert_double_eq(c.ks_error, 0);
        } else {
            ck_assert_uint_eq(c.approximate, 1);
            ck_assert(c.ks_error > 0);
            ck_assert_msg(fabs(c.ks_statistic - raw.statistic) <= c.ks_error,
                          "KS from sketches %g vs %g, bound %g", c.ks_statistic, raw.statistic,
                          c.ks_error);
            printf("FIGURE ks_from_sketch_abs_err=%.4g bound=%.4g\n",
                   fabs(c.ks_statistic - raw.statistic), c.ks_error);
        }
        ck_assert_uint_eq(c.test, MLOPS_DRIFT_TEST_WASSERSTEIN);
        ck_assert_uint_eq(c.drifted, 1);
        mlops_drift_report_free(r);
        mlops_drift_profile_free(pa);
        mlops_drift_profile_free(pb);
    }
    free(a);
    free(b);
}
END_TEST

START_TEST(profile_serialize_roundtrip)
{
    lcg = 3;
    double *x = sample(3000, 1, 1);
    x[5] = NAN;
    x[7] = INFINITY;
    mlops_drift_profile *p = NULL, *q = NULL;
    tu_assert_ok(mlops_drift_profile_create(&p, NULL, "col", NULL));
    tu_assert_ok(mlops_drift_profile_add(p, x, 3000));
    tu_assert_ok(mlops_drift_profile_add_missing(p, 4));
    mlops_bytes b = {0}, b2 = {0};
    tu_assert_ok(mlops_drift_profile_serialize(&b, p));
    tu_assert_ok(mlops_drift_profile_deserialize(&q, NULL, b.data, b.len));
    tu_assert_ok(mlops_drift_profile_serialize(&b2, q));
    ck_assert_uint_eq(b.len, b2.len);
    ck_assert(memcmp(b.data, b2.data, b.len) == 0);
    mlops_drift_profile_stats s = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
    tu_assert_ok(mlops_drift_profile_summary(&s, q));
    ck_assert_uint_eq(s.count, 3004);
    ck_assert_uint_eq(s.missing, 5);
    ck_assert_uint_eq(s.nan, 1);
    ck_assert_uint_eq(s.inf, 1);
    mlops_drift_profile_free(q);
    q = NULL;
    /* a profile from a newer format is refused (FG14) */
    b.data[0] = 2;
    tu_assert_st(mlops_drift_profile_deserialize(&q, NULL, b.data, b.len), MLOPS_E_VERSION);
    ck_assert_ptr_null(q);
    b.data[0] = 1;
    /* every truncation is refused, never a crash (FG9) */
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 64) {
        mlops_status st = mlops_drift_profile_deserialize(&q, NULL, b.data, cut);
        ck_assert_msg(st != MLOPS_OK, "truncation at %zu accepted", cut);
    }
    /* bit flips: refused, or a self-consistent profile */
    for (size_t i = 2; i < b.len; i += 7) {
        b.data[i] ^= 0x10;
        if (mlops_drift_profile_deserialize(&q, NULL, b.data, b.len) == MLOPS_OK) {
            mlops_drift_profile_stats t = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
            tu_assert_ok(mlops_drift_profile_summary(&t, q));
            mlops_drift_profile_free(q);
            q = NULL;
        }
        b.data[i] ^= 0x10;
    }
    mlops_bytes_free(&b);
    mlops_bytes_free(&b2);
    mlops_drift_profile_free(p);
    free(x);
}
END_TEST

START_TEST(categorical_profiles)
{
    mlops_drift_profile_options o = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    o.type = MLOPS_DRIFT_CATEGORICAL;
    o.max_categories = 4;
    mlops_drift_profile *b = NULL, *c = NULL;
    tu_assert_ok(mlops_drift_profile_create(&b, NULL, "city", &o));
    tu_assert_ok(mlops_drift_profile_create(&c, NULL, "city", &o));
    const char *bv[] = {"a", "a", "b", "c", NULL, "a", "b", "d"};
    const char *cv[] = {"a", "b", "b", "b", "e", "e", NULL, NULL};
    tu_assert_ok(mlops_drift_profile_add_strings(b, bv, 8));
    tu_assert_ok(mlops_drift_profile_add_strings(c, cv, 8));
    mlops_drift_report *r = NULL;
    tu_assert_ok(mlops_drift_compare(&r, &b, 1, &c, 1, NULL));
    mlops_drift_column col = {MLOPS_DRIFT_COLUMN_VERSION};
    tu_assert_ok(mlops_drift_report_column(&col, r, 0));
    /* the table over a..e: b [3,2,1,1,0], c [1,3,0,0,2] (categories seen on one side stay) */
    double tb[5] = {3, 2, 1, 1, 0}, tc[5] = {1, 3, 0, 0, 2};
    mlops_drift_result want = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_chi2(&want, tb, tc, 5, 0));
    ck_assert(fabs(col.chi2_statistic - want.statistic) < 1e-12);
    ck_assert_double_eq(col.chi2_dof, 4);
    ck_assert_double_eq(col.missing_base, 1.0 / 8);
    ck_assert_double_eq(col.missing_cur, 2.0 / 8);
    ck_assert_uint_eq(col.test, MLOPS_DRIFT_TEST_CHI2);
    mlops_drift_report_free(r);
    /* beyond 2 x max_categories the rarest go to "other" */
    char names[40][8];
    const char *many[40];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], 8, "k%d", i);
        many[i] = names[i];
    }
    tu_assert_ok(mlops_drift_profile_add_strings(b, many, 40));
    mlops_drift_profile_stats s = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
    tu_assert_ok(mlops_drift_profile_summary(&s, b));
    ck_assert(s.categories <= 8);
    ck_assert(s.other > 0);
    ck_assert_uint_eq(s.count, 48);
    /* invalid UTF-8 is refused and nothing is added (N-series) */
    const char *bad[] = {"ok", "\xff\xfe"};
    tu_assert_st(mlops_drift_profile_add_strings(c, bad, 2), MLOPS_E_INVALID);
    tu_assert_ok(mlops_drift_profile_summary(&s, c));
    ck_assert_uint_eq(s.count, 8);
    /* a numeric baseline against a categorical current: mismatched types */
    mlops_drift_profile *n = NULL;
    tu_assert_ok(mlops_drift_profile_create(&n, NULL, "city", NULL));
    double v = 1;
    tu_assert_ok(mlops_drift_profile_add(n, &v, 1));
    tu_assert_st(mlops_drift_compare(&r, &n, 1, &c, 1, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(r);
    mlops_drift_profile_free(n);
    mlops_drift_profile_free(b);
    mlops_drift_profile_free(c);
}
END_TEST

START_TEST(bad_profile_inputs)
{
    mlops_drift_profile *p = NULL;
    tu_assert_st(mlops_drift_profile_create(&p, NULL, "", NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_profile_create(&p, NULL, NULL, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_profile_create(&p, NULL, "\xc3\x28", NULL), MLOPS_E_INVALID);
    mlops_drift_profile_options o = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    o.version = 9;
    tu_assert_st(mlops_drift_profile_create(&p, NULL, "x", &o), MLOPS_E_VERSION);
    o.version = 1;
    o.sketch_k = 3;
    tu_assert_st(mlops_drift_profile_create(&p, NULL, "x", &o), MLOPS_E_INVALID);
    ck_assert_ptr_null(p);
    /* an all-NaN baseline gives no bins: a clear status */
    tu_assert_ok(mlops_drift_profile_create(&p, NULL, "x", NULL));
    double nan3[3] = {NAN, NAN, NAN};
    tu_assert_ok(mlops_drift_profile_add(p, nan3, 3));
    mlops_drift_profile *q = NULL;
    tu_assert_st(mlops_drift_profile_create_like(&q, p), MLOPS_E_INSUFFICIENT);
    double qv;
    tu_assert_st(mlops_drift_profile_quantile(&qv, p, 0.5), MLOPS_E_INSUFFICIENT);
    tu_assert_st(mlops_drift_profile_quantile(&qv, p, 1.5), MLOPS_E_INVALID);
    /* compare with an empty current side reports counts, no statistics */
    mlops_drift_profile *e = NULL;
    tu_assert_ok(mlops_drift_profile_create(&e, NULL, "x", NULL));
    mlops_drift_report *r = NULL;
    tu_assert_ok(mlops_drift_compare(&r, &p, 1, &e, 1, NULL));
    mlops_drift_column c = {MLOPS_DRIFT_COLUMN_VERSION};
    tu_assert_ok(mlops_drift_report_column(&c, r, 0));
    ck_assert(isnan(c.psi));
    ck_assert_uint_eq(c.drifted, 0);
    tu_assert_st(mlops_drift_report_column(&c, r, 1), MLOPS_E_NOTFOUND);
    mlops_drift_report_free(r);
    /* no shared column at all */
    mlops_drift_profile *other = NULL;
    tu_assert_ok(mlops_drift_profile_create(&other, NULL, "y", NULL));
    tu_assert_st(mlops_drift_compare(&r, &p, 1, &other, 1, NULL), MLOPS_E_INSUFFICIENT);
    mlops_drift_profile_free(other);
    mlops_drift_profile_free(e);
    mlops_drift_profile_free(p);
}
END_TEST

/* ---- baselines and monitors in the store ---- */

typedef struct alerts {
    int n;
    int64_t last_window;
    char last[64];
} alerts;

static int on_alert(const mlops_drift_column *col, int64_t window, void *payload)
{
    alerts *a = payload;
    a->n++;
    a->last_window = window;
    snprintf(a->last, sizeof(a->last), "%s", col->name);
    return 0;
}

START_TEST(monitor_windows_alerts_history)
{
    tu_clock clk = {1700000000000000000ll};
    mlops_env *env = tu_env_new(NULL, &clk);
    mlops_store *store = NULL;
    tu_assert_ok(mlops_store_open(&store, env, "mem:", NULL));
    lcg = 21;
    double *base = sample(2000, 0, 1);
    mlops_drift_profile *bp[2] = {NULL, NULL};
    tu_assert_ok(mlops_drift_profile_from_values(&bp[0], env, "age", base, 2000, NULL));
    mlops_drift_profile_options co = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    co.type = MLOPS_DRIFT_CATEGORICAL;
    tu_assert_ok(mlops_drift_profile_create(&bp[1], env, "plan", &co));
    const char *plans[4] = {"free", "pro", "free", "team"};
    for (int i = 0; i < 500; i++)
        tu_assert_ok(mlops_drift_profile_add_strings(bp[1], plans, 4));
    tu_assert_ok(mlops_drift_baseline_save(store, "churn", bp, 2, "run1", "churn-model", 3));
    tu_assert_st(mlops_drift_baseline_save(store, "churn", bp, 2, NULL, NULL, 0), MLOPS_E_EXISTS);
    mlops_drift_profile **loaded = NULL;
    size_t nl = 0;
    char *info = NULL;
    tu_assert_ok(mlops_drift_baseline_load(&loaded, &nl, &info, store, "churn"));
    ck_assert_uint_eq(nl, 2);
    ck_assert_ptr_nonnull(strstr(info, "\"model_version\": 3"));
    ck_assert_ptr_nonnull(strstr(info, "\"run_id\": \"run1\""));
    mlops_string_free(env, info);
    mlops_drift_profile **none = NULL;
    size_t nn = 0;
    tu_assert_st(mlops_drift_baseline_load(&none, &nn, NULL, store, "nope"), MLOPS_E_NOTFOUND);
    ck_assert_ptr_null(none);

    mlops_drift_monitor *m = NULL;
    tu_assert_ok(mlops_drift_monitor_create(&m, NULL, store, "churn-prod", loaded, nl, NULL));
    mlops_drift_profiles_free(loaded, 2);
    alerts al = {0};
    tu_assert_ok(mlops_drift_monitor_set_alert(m, on_alert, &al));
    tu_assert_ok(mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_WINDOW_COUNT, 1000));
    tu_assert_st(mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_ALPHA, 2), MLOPS_E_INVALID);
    tu_assert_st(mlops_drift_monitor_set_param(m, 999, 1), MLOPS_E_INVALID);
    double lo, hi;
    tu_assert_ok(mlops_drift_param_bounds(MLOPS_DRIFT_PARAM_ALPHA, &lo, &hi));
    ck_assert(lo > 0 && hi <= 0.5);
    /* window 0: same distribution, no alert */
    double *same = sample(1000, 0, 1);
    tu_assert_ok(mlops_drift_monitor_feed_strings(m, "plan", plans, 4));
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", same, 1000));
    ck_assert_int_eq(mlops_drift_monitor_windows(m), 1);
    ck_assert_int_eq(al.n, 0);
    /* window 1: shifted, the alert fires once */
    double *shifted = sample(1000, 1.0, 1);
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", shifted, 1000));
    ck_assert_int_eq(mlops_drift_monitor_windows(m), 2);
    ck_assert_int_eq(al.n, 1);
    ck_assert_str_eq(al.last, "age");
    ck_assert_int_eq(al.last_window, 1);
    /* window 2: still shifted, no new crossing */
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", shifted, 1000));
    ck_assert_int_eq(al.n, 1);
    /* time windows with the fake clock */
    tu_assert_ok(mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_WINDOW_COUNT, 0));
    tu_assert_ok(mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_WINDOW_MS, 60000));
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", same, 500));
    clk.now_ns += 61000ll * 1000000ll;
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", same, 10));
    ck_assert_int_eq(mlops_drift_monitor_windows(m), 4);
    /* unknown column, wrong type */
    tu_assert_st(mlops_drift_monitor_feed(m, "nope", same, 1), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_drift_monitor_feed(m, "plan", same, 1), MLOPS_E_INVALID);
    /* on-demand evaluation without closing records nothing */
    mlops_drift_report *r = NULL;
    tu_assert_ok(mlops_drift_monitor_evaluate(&r, m, 0));
    ck_assert_uint_eq(mlops_drift_report_count(r), 2);
    mlops_drift_report_free(r);
    char *hist = NULL;
    tu_assert_ok(mlops_drift_history_json(&hist, store, "churn-prod", 0));
    int windows = 0;
    for (const char *p = hist; (p = strstr(p, "\"window\"")) != NULL; p++)
        windows++;
    ck_assert_int_eq(windows, 4);
    ck_assert_ptr_nonnull(strstr(hist, "\"drifted\": true"));
    mlops_string_free(env, hist);
    tu_assert_ok(mlops_drift_history_json(&hist, store, "churn-prod", 1));
    ck_assert_ptr_nonnull(strstr(hist, "\"window\": 3"));
    ck_assert_ptr_null(strstr(hist, "\"window\": 2"));
    mlops_string_free(env, hist);
    tu_assert_ok(mlops_drift_history_json(&hist, store, "other", 0));
    ck_assert_str_eq(hist, "[]");
    mlops_string_free(env, hist);
    mlops_drift_monitor_close(m);
    /* a new monitor of the same name continues the window numbering */
    tu_assert_ok(mlops_drift_monitor_create(&m, NULL, store, "churn-prod", bp, 2, NULL));
    tu_assert_ok(mlops_drift_monitor_feed(m, "age", same, 100));
    tu_assert_ok(mlops_drift_monitor_evaluate(NULL, m, MLOPS_DRIFT_EVAL_CLOSE));
    tu_assert_ok(mlops_drift_history_json(&hist, store, "churn-prod", 1));
    ck_assert_ptr_nonnull(strstr(hist, "\"window\": 4"));
    mlops_string_free(env, hist);
    mlops_drift_monitor_close(m);
    mlops_drift_profile_free(bp[0]);
    mlops_drift_profile_free(bp[1]);
    mlops_store_close(store);
    mlops_env_free(env);
    free(base);
    free(same);
    free(shifted);
}
END_TEST

static int stop_alert(const mlops_drift_column *col, int64_t window, void *payload)
{
    (void)col;
    (void)window;
    (void)payload;
    return 1;
}

START_TEST(monitor_callback_stop_and_memory)
{
    lcg = 8;
    double *base = sample(5000, 0, 1), *cur = sample(5000, 2, 1);
    enum { NF = 100 };
    mlops_drift_profile *bp[NF];
    char names[NF][16];
    for (int i = 0; i < NF; i++) {
        snprintf(names[i], 16, "f%03d", i);
        tu_assert_ok(mlops_drift_profile_from_values(&bp[i], NULL, names[i], base, 5000, NULL));
    }
    mlops_drift_monitor *m = NULL;
    tu_assert_ok(mlops_drift_monitor_create(&m, NULL, NULL, "mem", bp, NF, NULL));
    for (int i = 0; i < NF; i++)
        tu_assert_ok(mlops_drift_monitor_feed(m, names[i], cur, 5000));
    uint64_t bytes = mlops_drift_monitor_memory(m);
    printf("FIGURE monitor_100_features_bytes=%llu\n", (unsigned long long)bytes);
    ck_assert_msg(bytes < 1000000, "monitor of 100 features holds %llu bytes",
                  (unsigned long long)bytes);
    tu_assert_ok(mlops_drift_monitor_set_alert(m, stop_alert, NULL));
    tu_assert_st(mlops_drift_monitor_evaluate(NULL, m, MLOPS_DRIFT_EVAL_CLOSE), MLOPS_E_CALLBACK);
    /* the window was closed anyway; the next evaluation has no data */
    tu_assert_st(mlops_drift_monitor_evaluate(NULL, m, 0), MLOPS_E_INSUFFICIENT);
    mlops_drift_monitor_close(m);
    for (int i = 0; i < NF; i++)
        mlops_drift_profile_free(bp[i]);
    free(base);
    free(cur);
}
END_TEST

START_TEST(corrections_and_dataset_verdict)
{
    lcg = 77;
    enum { NF = 6 };
    mlops_drift_profile *b[NF], *c[NF];
    char names[NF][8];
    for (int i = 0; i < NF; i++) {
        snprintf(names[i], 8, "c%d", i);
        double *x = sample(400, 0, 1), *y = sample(300, i < 2 ? 0.35 : 0.0, 1);
        mlops_drift_profile_options o = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
        o.keep_values = 1000;
        tu_assert_ok(mlops_drift_profile_from_values(&b[i], NULL, names[i], x, 400, &o));
        tu_assert_ok(mlops_drift_profile_create_like(&c[i], b[i]));
        tu_assert_ok(mlops_drift_profile_add(c[i], y, 300));
        free(x);
        free(y);
    }
    double raw[NF];
    for (uint32_t corr = 0; corr <= 2; corr++) {
        mlops_drift_compare_options o = MLOPS_DRIFT_COMPARE_OPTIONS_INIT;
        o.correction = corr;
        mlops_drift_report *r = NULL;
        tu_assert_ok(mlops_drift_compare(&r, b, NF, c, NF, &o));
        mlops_drift_column col = {MLOPS_DRIFT_COLUMN_VERSION};
        for (int i = 0; i < NF; i++) {
            tu_assert_ok(mlops_drift_report_column(&col, r, (size_t)i));
            ck_assert_uint_eq(col.test, MLOPS_DRIFT_TEST_KS);
            if (corr == 0)
                raw[i] = col.score;
            else if (corr == 1)
                ck_assert(fabs(col.score - fmin(1, raw[i] * NF)) < 1e-15);
            else
                ck_assert(col.score >= raw[i] && col.score <= fmin(1, raw[i] * NF));
        }
        double share;
        uint32_t ds;
        tu_assert_ok(mlops_drift_report_summary(&share, &ds, r));
        ck_assert(share < 0.5);
        ck_assert_uint_eq(ds, 0);
        char *json = NULL;
        tu_assert_ok(mlops_drift_report_json(&json, r));
        ck_assert_ptr_nonnull(strstr(json, "\"ks_pvalue\""));
        mlops_string_free(NULL, json);
        mlops_drift_report_free(r);
    }
    for (int i = 0; i < NF; i++) {
        mlops_drift_profile_free(b[i]);
        mlops_drift_profile_free(c[i]);
    }
}
END_TEST

/* FG6: every allocation of a profile/compare/monitor/store cycle fails in
 * turn; no crash, no leak. */
static mlops_status alloc_scenario(mlops_env *env)
{
    mlops_status st;
    mlops_store *store = NULL;
    mlops_drift_profile *p = NULL, *q = NULL, *c = NULL;
    mlops_drift_report *r = NULL;
    mlops_drift_monitor *m = NULL;
    char *json = NULL;
    mlops_bytes b = {0};
    double x[300];
    for (int i = 0; i < 300; i++)
        x[i] = (double)((i * 37) % 101) / 10.0;
    mlops_drift_profile_options co = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    co.type = MLOPS_DRIFT_CATEGORICAL;
    const char *cats[5] = {"a", "b", "a", NULL, "c"};
    if ((st = mlops_store_open(&store, env, "mem:", NULL)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_from_values(&p, env, "x", x, 300, NULL)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_create(&c, env, "y", &co)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_add_strings(c, cats, 5)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_create_like(&q, p)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_add(q, x + 100, 200)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_merge(q, p)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_compare(&r, &p, 1, &q, 1, NULL)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_report_json(&json, r)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_profile_serialize(&b, p)) != MLOPS_OK)
        goto out;
    mlops_drift_profile *two[2] = {p, c};
    if ((st = mlops_drift_baseline_save(store, "b", two, 2, NULL, NULL, 0)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_monitor_create(&m, NULL, store, "m", two, 2, NULL)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_monitor_feed(m, "x", x, 300)) != MLOPS_OK)
        goto out;
    if ((st = mlops_drift_monitor_feed_strings(m, "y", cats, 5)) != MLOPS_OK)
        goto out;
    st = mlops_drift_monitor_evaluate(NULL, m, MLOPS_DRIFT_EVAL_CLOSE);
out:
    mlops_drift_monitor_close(m);
    mlops_bytes_free(&b);
    mlops_string_free(env, json);
    mlops_drift_report_free(r);
    mlops_drift_profile_free(p);
    mlops_drift_profile_free(q);
    mlops_drift_profile_free(c);
    mlops_store_close(store);
    return st;
}

START_TEST(allocation_failures)
{
    tu_alloc a = {0};
    mlops_env *env = tu_env_new(&a, NULL);
    tu_assert_ok(alloc_scenario(env));
    long total = a.calls;
    ck_assert(total > 20);
    long failed = 0;
    for (long k = 1; k <= total; k++) {
        a.fail_at = k;
        a.calls = 0;
        long live0 = a.live;
        mlops_status st = alloc_scenario(env);
        ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_NOMEM, "alloc %ld: status %s: %s", k,
                      mlops_status_name(st), mlops_error_message());
        ck_assert_msg(a.live == live0, "alloc %ld: %ld blocks leaked", k, a.live - live0);
        failed += st != MLOPS_OK;
    }
    printf("FIGURE drift_alloc_failures=%ld crashes=0 leaks=0\n", total);
    ck_assert(failed > 0);
    mlops_env_free(env);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("drift");
    TCase *tc = tcase_create("drift");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, abi_pins);
    tcase_add_test(tc, bad_inputs_arrays);
    tcase_add_test(tc, infinities_and_nan_reported);
    tcase_add_test(tc, profile_moments_and_merge);
    tcase_add_test(tc, sketch_rank_error_bound);
    tcase_add_test(tc, profile_statistics_error);
    tcase_add_test(tc, profile_serialize_roundtrip);
    tcase_add_test(tc, categorical_profiles);
    tcase_add_test(tc, bad_profile_inputs);
    tcase_add_test(tc, monitor_windows_alerts_history);
    tcase_add_test(tc, monitor_callback_stop_and_memory);
    tcase_add_test(tc, corrections_and_dataset_verdict);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    return tu_run(s) == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Agreement of the stats module and the drift tests with scipy (fixtures
 * made by gen_fixtures.py). FG12: drift_vs_scipy_max_rel_err. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fixtures.h"
#include "mlops/drift.h"
#include "stats/dstats.h"
#include "stats/special.h"
#include "testutil.h"

/* The Smirnov sums use x87 long doubles; where long double is no wider
 * than double (valgrind emulates it so, as do some platforms) they are good
 * to ~1e-8 only, still well inside the 1e-6 the KS p-value promises. */
static double ks_rtol(void)
{
    volatile long double one = 1.0L, eps = LDBL_EPSILON;
    return (one + eps != one && LDBL_MANT_DIG >= 64) ? 1e-9 : 1e-7;
}

/* Large cases (n > 1e5) run in the 'slow' suite only (not under valgrind). */
static bool slow(void)
{
    const char *v = getenv("MLOPS_DRIFT_SLOW");
    return v != NULL && v[0] == '1';
}

static double rel_err(double got, double want)
{
    if (isnan(want))
        return isnan(got) ? 0 : INFINITY;
    if (got == want)
        return 0;
    if (want == 0)
        return fabs(got);
    return fabs(got - want) / fabs(want);
}

/* Tolerance: relative, with an absolute floor for values near the underflow. */
static void check_close(const char *what, double got, double want, double rtol, double atol)
{
    double e = fabs(got - want);
    ck_assert_msg(e <= atol || rel_err(got, want) <= rtol,
                  "%s: got %.17g, want %.17g (rel err %.3g)", what, got, want, rel_err(got, want));
}

START_TEST(special_functions)
{
    static const char *names[] = {"norm_cdf", "norm_sf", "norm_ppf", "gamma_p", "gamma_q",
                                  "chi2_sf", "chi2_cdf", "kolmogorov", "t_sf", "t_cdf", "t_ppf"};
    double maxe[11] = {0};
    for (size_t i = 0; i < sizeof(FX_SPECIAL) / sizeof(FX_SPECIAL[0]); i++) {
        const fx_special *f = &FX_SPECIAL[i];
        double got = NAN;
        switch (f->fn) {
        case F_NORM_CDF: got = mlops__norm_cdf(f->a); break;
        case F_NORM_SF: got = mlops__norm_sf(f->a); break;
        case F_NORM_PPF: got = mlops__norm_ppf(f->a); break;
        case F_GAMMA_P: got = mlops__gamma_p(f->a, f->b); break;
        case F_GAMMA_Q: got = mlops__gamma_q(f->a, f->b); break;
        case F_CHI2_SF: got = mlops__chi2_sf(f->a, f->b); break;
        case F_CHI2_CDF: got = mlops__chi2_cdf(f->a, f->b); break;
        case F_KOLMOGOROV: got = mlops__kolmogorov_sf(f->a); break;
        case F_T_SF: got = mlops__t_sf(f->a, f->b); break;
        case F_T_CDF: got = mlops__t_cdf(f->a, f->b); break;
        case F_T_PPF: got = mlops__t_ppf(f->a, f->b); break;
        }
        char what[96];
        snprintf(what, sizeof(what), "%s(%g, %g)", names[f->fn], f->a, f->b);
        /* t.ppf is referenced to mpmath: scipy's own is off by up to 2e-9 */
        check_close(what, got, f->want, 1e-12,
                    f->fn == F_T_PPF ? 1e-15 : 1e-300);
        double e = rel_err(got, f->want);
        if (e > maxe[f->fn] && f->want > 1e-300)
            maxe[f->fn] = e;
    }
    for (int i = 0; i < 11; i++)
        printf("FIGURE special_%s_max_rel_err=%.3g\n", names[i], maxe[i]);
}
END_TEST

START_TEST(incomplete_beta)
{
    for (size_t i = 0; i < sizeof(FX_BETA) / sizeof(FX_BETA[0]); i++) {
        const fx_beta *f = &FX_BETA[i];
        char what[96];
        snprintf(what, sizeof(what), "betainc(%g, %g, %g)", f->a, f->b, f->x);
        check_close(what, mlops__beta_inc(f->a, f->b, f->x), f->want, 1e-12, 1e-300);
    }
}
END_TEST

START_TEST(kstwo_and_smirnov)
{
    double maxe = 0;
    for (size_t i = 0; i < sizeof(FX_KSTWO) / sizeof(FX_KSTWO[0]); i++) {
        const fx_kstwo *f = &FX_KSTWO[i];
        if (f->n > 100001 && !slow())
            continue;
        char what[96];
        snprintf(what, sizeof(what), "kstwo.sf(%.17g, %lld)", f->x, f->n);
        double got = mlops__kolmogn_sf(f->n, f->x);
        check_close(what, got, f->want, ks_rtol(), 1e-280);
        if (f->want > 1e-280 && rel_err(got, f->want) > maxe)
            maxe = rel_err(got, f->want);
    }
    printf("FIGURE kstwo_max_rel_err=%.3g\n", maxe);
    for (size_t i = 0; i < sizeof(FX_SMIRNOV) / sizeof(FX_SMIRNOV[0]); i++) {
        const fx_kstwo *f = &FX_SMIRNOV[i];
        if (f->n > 100000 && !slow())
            continue;
        char what[96];
        snprintf(what, sizeof(what), "smirnov(%lld, %.17g)", f->n, f->x);
        check_close(what, mlops__smirnov_sf(f->n, f->x), f->want, ks_rtol(), 1e-280);
    }
}
END_TEST

static double *gen(const long long *f)
{
    /* f = {n, mul, mod, off, scale, shift} as integers except scale/shift
     * which the generator stores as 1.0 and small shifts; see gen_fixtures.py */
    (void)f;
    return NULL;
}

START_TEST(ks_2samp_cases)
{
    (void)gen;
    double maxe = 0;
    for (size_t i = 0; i < sizeof(FX_KS) / sizeof(FX_KS[0]); i++) {
        const fx_ks *c = &FX_KS[i];
        if (c->a == NULL)
            continue; /* formula cases: see ks_2samp_large */
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        tu_assert_ok(mlops_drift_ks_2samp(&res, c->a, c->na, c->b, c->nb, (uint32_t)c->method));
        char what[128];
        snprintf(what, sizeof(what), "%s statistic", c->name);
        check_close(what, res.statistic, c->statistic, 1e-14, 1e-15);
        snprintf(what, sizeof(what), "%s pvalue", c->name);
        check_close(what, res.pvalue, c->pvalue, 1e-9, 1e-300);
        if (rel_err(res.pvalue, c->pvalue) > maxe)
            maxe = rel_err(res.pvalue, c->pvalue);
    }
    printf("FIGURE ks_small_max_rel_err=%.3g\n", maxe);
}
END_TEST

/* x_i = ((i * mul + off) mod m) / m * scale + shift, with the constants of
 * gen_fixtures.py (scale 1). */
static double *formula(const long long *f, size_t n, double shift)
{
    double *x = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        unsigned long long v = ((unsigned long long)i * (unsigned long long)f[1] +
                                (unsigned long long)f[3]) %
                               (unsigned long long)f[2];
        x[i] = (double)v / (double)f[2] * 1.0 + shift;
    }
    return x;
}

static const double SHIFTS[][2] = {
    {0.0, 0.012}, {0.0, 0.02}, {0.0, 0.02}, {0.0, 0.004}, {0.0, 0.001}, {0.0, 0.0}, {0.0, 0.01},
};

START_TEST(ks_2samp_large)
{
    size_t k = 0;
    double maxe = 0;
    for (size_t i = 0; i < sizeof(FX_KS) / sizeof(FX_KS[0]); i++) {
        const fx_ks *c = &FX_KS[i];
        if (c->a != NULL)
            continue;
        if (c->na + c->nb > 40000 && !slow()) {
            k++;
            continue;
        }
        double *a = formula(c->fa, c->na, SHIFTS[k][0]);
        double *b = formula(c->fb, c->nb, SHIFTS[k][1]);
        k++;
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        tu_assert_ok(mlops_drift_ks_2samp(&res, a, c->na, b, c->nb, (uint32_t)c->method));
        char what[128];
        snprintf(what, sizeof(what), "%s statistic", c->name);
        check_close(what, res.statistic, c->statistic, 1e-14, 1e-15);
        snprintf(what, sizeof(what), "%s pvalue", c->name);
        check_close(what, res.pvalue, c->pvalue, ks_rtol(), 1e-300);
        if (rel_err(res.pvalue, c->pvalue) > maxe)
            maxe = rel_err(res.pvalue, c->pvalue);
        free(a);
        free(b);
    }
    printf("FIGURE ks_large_max_rel_err=%.3g\n", maxe);
}
END_TEST

START_TEST(chi2_cases)
{
    for (size_t i = 0; i < sizeof(FX_CHI2) / sizeof(FX_CHI2[0]); i++) {
        const fx_chi2 *c = &FX_CHI2[i];
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        tu_assert_ok(mlops_drift_chi2(&res, c->b, c->c, c->k, c->yates ? MLOPS_DRIFT_CHI2_YATES : 0));
        char what[128];
        snprintf(what, sizeof(what), "%s statistic", c->name);
        check_close(what, res.statistic, c->statistic, 1e-12, 0);
        snprintf(what, sizeof(what), "%s pvalue", c->name);
        check_close(what, res.pvalue, c->pvalue, 1e-9, 1e-300);
        ck_assert_double_eq(res.dof, c->dof);
    }
    mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_chisquare(&res, gof_obs, gof_exp, 4));
    check_close("chisquare statistic", res.statistic, GOF_STAT, 1e-12, 0);
    check_close("chisquare pvalue", res.pvalue, GOF_P, 1e-9, 0);
}
END_TEST

START_TEST(psi_reference_cases)
{
    for (size_t i = 0; i < sizeof(FX_PSI) / sizeof(FX_PSI[0]); i++) {
        const fx_psi *c = &FX_PSI[i];
        mlops_drift_psi_options o = MLOPS_DRIFT_PSI_OPTIONS_INIT;
        o.bins = (uint32_t)c->bins;
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        tu_assert_ok(mlops_drift_psi(&res, c->b, c->nb, c->c, c->nc, &o));
        char what[128];
        snprintf(what, sizeof(what), "%s psi", c->name);
        /* the reference file rounds to 15 significant digits */
        check_close(what, res.statistic, c->psi, 1e-13, 1e-15);
        /* the same with the stored edges given explicitly */
        o.bins = 0;
        o.edges = c->edges;
        o.n_edges = (size_t)c->bins - 1;
        tu_assert_ok(mlops_drift_psi(&res, c->b, c->nb, c->c, c->nc, &o));
        check_close(what, res.statistic, c->psi, 1e-13, 1e-15);
        /* edges and counts through a profile */
        mlops_drift_profile *p = NULL, *q = NULL;
        mlops_drift_profile_options po = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
        po.bins = (uint32_t)c->bins;
        tu_assert_ok(mlops_drift_profile_from_values(&p, NULL, "x", c->b, c->nb, &po));
        tu_assert_ok(mlops_drift_profile_create_like(&q, p));
        tu_assert_ok(mlops_drift_profile_add(q, c->c, c->nc));
        char *json = NULL;
        tu_assert_ok(mlops_drift_profile_json(&json, p));
        for (int j = 0; j < c->bins - 1; j++) {
            char want[64];
            snprintf(want, sizeof(want), "%.15g", c->edges[j]);
            ck_assert_msg(strstr(json, "\"edges\"") != NULL, "no edges");
        }
        mlops_string_free(NULL, json);
        mlops_drift_report *r = NULL;
        tu_assert_ok(mlops_drift_compare(&r, &p, 1, &q, 1, NULL));
        mlops_drift_column col = {MLOPS_DRIFT_COLUMN_VERSION};
        tu_assert_ok(mlops_drift_report_column(&col, r, 0));
        check_close(what, col.psi, c->psi, 1e-13, 1e-15);
        mlops_drift_report_free(r);
        mlops_drift_profile_free(p);
        mlops_drift_profile_free(q);
    }
}
END_TEST

START_TEST(psi_evidently_mode)
{
    for (size_t i = 0; i < sizeof(FX_EVIDENTLY) / sizeof(FX_EVIDENTLY[0]); i++) {
        const fx_ev *c = &FX_EVIDENTLY[i];
        mlops_drift_psi_options o = MLOPS_DRIFT_PSI_OPTIONS_INIT;
        o.mode = MLOPS_DRIFT_PSI_EVIDENTLY;
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        tu_assert_ok(mlops_drift_psi(&res, c->a, c->na, c->b, c->nb, &o));
        char what[64];
        snprintf(what, sizeof(what), "evidently case %zu", i);
        check_close(what, res.statistic, c->psi, 1e-12, 1e-15);
    }
}
END_TEST

START_TEST(js_and_wasserstein)
{
    mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
    tu_assert_ok(mlops_drift_js(&res, js_p, js_q, 4, 0));
    check_close("js", res.statistic, JS_E, 1e-14, 0);
    tu_assert_ok(mlops_drift_js(&res, js_p, js_q, 4, 2));
    check_close("js base 2", res.statistic, JS_2, 1e-14, 0);
    tu_assert_ok(mlops_drift_wasserstein(&res, w_a, sizeof(w_a) / 8, w_b, sizeof(w_b) / 8));
    check_close("wasserstein", res.statistic, W_DIST, 1e-13, 0);
    check_close("wasserstein norm", res.extra, W_NORM, 1e-12, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("drift_stats");
    TCase *tc = tcase_create("scipy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, special_functions);
    tcase_add_test(tc, incomplete_beta);
    tcase_add_test(tc, kstwo_and_smirnov);
    tcase_add_test(tc, ks_2samp_cases);
    tcase_add_test(tc, ks_2samp_large);
    tcase_add_test(tc, chi2_cases);
    tcase_add_test(tc, psi_reference_cases);
    tcase_add_test(tc, psi_evidently_mode);
    tcase_add_test(tc, js_and_wasserstein);
    suite_add_tcase(s, tc);
    return tu_run(s) == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* A/B statistics: power and sample size, z and Welch tests, SRM, mSPRT and
 * confidence sequences. Each function names the reference it agrees with;
 * tests/rollout compares them with values stored from statsmodels and scipy. */
#include <math.h>

#include "core/core.h"
#include "mlops/rollout.h"
#include "stats/abtest.h"
#include "stats/special.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static bool bad(double x)
{
    return !isfinite(x);
}

static mlops_status check_alpha(double alpha)
{
    if (!(alpha > 0.0 && alpha < 1.0))
        return mlops__error(MLOPS_E_INVALID, "alpha %g is outside (0, 1)", alpha);
    return MLOPS_OK;
}

/* Noncentral t CDF, algorithm AS 243 (Lenth 1989), which scipy's nct also
 * approximates; accurate to ~1e-12 for the noncentralities power needs. */
double mlops__nct_cdf(double t, double df, double delta)
{
    bool neg = t < 0.0;
    double tt = neg ? -t : t;
    double del = neg ? -delta : delta;
    double tnc = 0.0;
    double x = tt * tt / (tt * tt + df);
    if (x > 0.0) {
        double lambda = del * del;
        double p = 0.5 * exp(-0.5 * lambda);
        double q = sqrt(2.0 / M_PI) * p * del;
        double s = 0.5 - p;
        double a = 0.5, b = 0.5 * df;
        double rxb = pow(1.0 - x, b);
        double albeta = mlops__lgamma(a) + mlops__lgamma(b) - mlops__lgamma(a + b);
        double xodd = mlops__beta_inc(a, b, x);
        double godd = 2.0 * rxb * exp(a * log(x) - albeta);
        double xeven = 1.0 - rxb;
        double geven = b * x * rxb;
        tnc = p * xodd + q * xeven;
        for (double en = 1.0; en <= 2000.0;) {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * en);
            q *= lambda / (2.0 * en + 1.0);
            s -= p;
            en += 1.0;
            tnc += p * xodd + q * xeven;
            if (fabs(2.0 * s * (xodd - godd)) < 1e-14)
                break;
        }
    }
    tnc += mlops__norm_cdf(-del);
    if (tnc > 1.0)
        tnc = 1.0;
    if (tnc < 0.0)
        tnc = 0.0;
    return neg ? 1.0 - tnc : tnc;
}

double mlops__normal_power(double effect, double nobs1, double alpha, double ratio)
{
    double nobs = 1.0 / (1.0 / nobs1 + 1.0 / (nobs1 * ratio));
    double crit = -mlops__norm_ppf(alpha / 2.0);
    double shift = effect * sqrt(nobs);
    return mlops__norm_sf(crit - shift) + mlops__norm_cdf(-crit - shift);
}

double mlops__ttest_power(double effect, double nobs1, double alpha, double ratio)
{
    double nobs2 = nobs1 * ratio;
    double df = nobs1 + nobs2 - 2.0;
    double nobs = 1.0 / (1.0 / nobs1 + 1.0 / nobs2);
    double nc = effect * sqrt(nobs);
    double crit_upp = mlops__t_ppf(1.0 - alpha / 2.0, df);
    double crit_low = -crit_upp;
    return (1.0 - mlops__nct_cdf(crit_upp, df, nc)) + mlops__nct_cdf(crit_low, df, nc);
}

/* Power grows with n: bracket, then bisect to a relative width of 1e-13. */
static double solve_n(double (*power_fn)(double, double, double, double), double effect,
                      double alpha, double power, double ratio, double lo)
{
    double hi = lo * 2.0;
    while (power_fn(effect, hi, alpha, ratio) < power && hi < 1e15)
        hi *= 2.0;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (power_fn(effect, mid, alpha, ratio) < power)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static mlops_status check_power_args(double effect, double alpha, double ratio)
{
    if (bad(effect) || effect == 0.0)
        return mlops__error(MLOPS_E_INVALID, "effect size %g must be finite and non-zero",
                            effect);
    mlops_status st = check_alpha(alpha);
    if (st != MLOPS_OK)
        return st;
    if (!(ratio > 0.0) || bad(ratio))
        return mlops__error(MLOPS_E_INVALID, "ratio %g must be > 0", ratio);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_effect_size_proportions(double *out, double p1, double p2)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    if (!(p1 >= 0.0 && p1 <= 1.0) || !(p2 >= 0.0 && p2 <= 1.0))
        return mlops__error(MLOPS_E_INVALID, "proportions %g and %g must be in [0, 1]", p1,
                            p2);
    *out = 2.0 * asin(sqrt(p2)) - 2.0 * asin(sqrt(p1));
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_power_normal(double *out, double effect, double nobs1,
                                             double alpha, double ratio)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    mlops_status st = check_power_args(effect, alpha, ratio);
    if (st != MLOPS_OK)
        return st;
    if (!(nobs1 > 0.0) || bad(nobs1))
        return mlops__error(MLOPS_E_INVALID, "nobs1 %g must be > 0", nobs1);
    *out = mlops__normal_power(effect, nobs1, alpha, ratio);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_sample_size_normal(double *out, double effect, double alpha,
                                                   double power, double ratio)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    mlops_status st = check_power_args(effect, alpha, ratio);
    if (st != MLOPS_OK)
        return st;
    if (!(power > alpha && power < 1.0))
        return mlops__error(MLOPS_E_INVALID, "power %g must be in (alpha, 1) with alpha %g",
                            power, alpha);
    *out = solve_n(mlops__normal_power, effect, alpha, power, ratio, 1e-6);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_power_ttest(double *out, double effect, double nobs1,
                                            double alpha, double ratio)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    mlops_status st = check_power_args(effect, alpha, ratio);
    if (st != MLOPS_OK)
        return st;
    if (!(nobs1 >= 2.0) || bad(nobs1) || nobs1 * ratio < 1.0)
        return mlops__error(MLOPS_E_INVALID, "nobs1 %g must be >= 2 (and nobs2 >= 1)", nobs1);
    *out = mlops__ttest_power(effect, nobs1, alpha, ratio);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_sample_size_ttest(double *out, double effect, double alpha,
                                                  double power, double ratio)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    mlops_status st = check_power_args(effect, alpha, ratio);
    if (st != MLOPS_OK)
        return st;
    if (!(power > alpha && power < 1.0))
        return mlops__error(MLOPS_E_INVALID, "power %g must be in (alpha, 1) with alpha %g",
                            power, alpha);
    /* The t-test needs at least df > 0: start the bracket where both groups have 1 unit. */
    double lo = ratio >= 1.0 ? 1.5 : 1.0 / ratio + 0.5;
    if (lo < 1.5)
        lo = 1.5;
    if (mlops__ttest_power(effect, lo, alpha, ratio) >= power) {
        *out = lo;
        return MLOPS_OK;
    }
    *out = solve_n(mlops__ttest_power, effect, alpha, power, ratio, lo);
    return MLOPS_OK;
}

mlops_status mlops__ab_plan_units(uint64_t *out, double baseline, double mde, bool relative,
                                  double alpha, double power)
{
    if (!(baseline > 0.0 && baseline < 1.0))
        return mlops__error(MLOPS_E_INVALID, "baseline %g must be in (0, 1)", baseline);
    if (bad(mde) || mde == 0.0)
        return mlops__error(MLOPS_E_INVALID, "mde %g must be finite and non-zero", mde);
    double p2 = relative ? baseline * (1.0 + mde) : baseline + mde;
    if (!(p2 > 0.0 && p2 < 1.0))
        return mlops__error(MLOPS_E_INVALID,
                            "baseline %g with mde %g%s gives a treatment rate %g outside (0, 1)",
                            baseline, mde, relative ? " (relative)" : "", p2);
    double effect = 2.0 * asin(sqrt(p2)) - 2.0 * asin(sqrt(baseline));
    double n = 0.0;
    mlops_status st = mlops_ab_sample_size_normal(&n, effect, alpha, power, 1.0);
    if (st != MLOPS_OK)
        return st;
    if (!(n < 9.0e15))
        return mlops__error(MLOPS_E_INVALID, "the sample size %g is too large", n);
    *out = (uint64_t)ceil(n - 1e-9);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_sample_size_proportions(uint64_t *per_variant_out,
                                                        double baseline, double mde,
                                                        uint32_t relative, double alpha,
                                                        double power)
{
    if (per_variant_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "per_variant_out is NULL");
    return mlops__ab_plan_units(per_variant_out, baseline, mde, relative != 0, alpha, power);
}

MLOPS_API mlops_status mlops_ab_ztest_proportions(double *z_out, double *p_out,
                                                  double *ci_low_out, double *ci_high_out,
                                                  uint64_t conv_t, uint64_t n_t,
                                                  uint64_t conv_c, uint64_t n_c, double alpha)
{
    if (z_out == NULL || p_out == NULL || ci_low_out == NULL || ci_high_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "an output pointer is NULL");
    if (n_t == 0 || n_c == 0)
        return mlops__error(MLOPS_E_INVALID, "units must be > 0 (treatment %llu, control %llu)",
                            (unsigned long long)n_t, (unsigned long long)n_c);
    if (conv_t > n_t || conv_c > n_c)
        return mlops__error(MLOPS_E_INVALID,
                            "conversions exceed units (treatment %llu/%llu, control %llu/%llu)",
                            (unsigned long long)conv_t, (unsigned long long)n_t,
                            (unsigned long long)conv_c, (unsigned long long)n_c);
    mlops_status st = check_alpha(alpha);
    if (st != MLOPS_OK)
        return st;
    double pt = (double)conv_t / (double)n_t, pc = (double)conv_c / (double)n_c;
    double pool = ((double)conv_t + (double)conv_c) / ((double)n_t + (double)n_c);
    double var = pool * (1.0 - pool) * (1.0 / (double)n_t + 1.0 / (double)n_c);
    if (!(var > 0.0))
        return mlops__error(MLOPS_E_INSUFFICIENT,
                            "no variance: the pooled conversion rate is %g", pool);
    double z = (pt - pc) / sqrt(var);
    double zc = -mlops__norm_ppf(alpha / 2.0);
    double se = sqrt(pt * (1.0 - pt) / (double)n_t + pc * (1.0 - pc) / (double)n_c);
    *z_out = z;
    *p_out = 2.0 * mlops__norm_sf(fabs(z));
    *ci_low_out = (pt - pc) - zc * se;
    *ci_high_out = (pt - pc) + zc * se;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_welch_ttest(double *t_out, double *df_out, double *p_out,
                                            double *ci_low_out, double *ci_high_out,
                                            double mean_t, double var_t, double n_t,
                                            double mean_c, double var_c, double n_c,
                                            double alpha)
{
    if (t_out == NULL || df_out == NULL || p_out == NULL || ci_low_out == NULL ||
        ci_high_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "an output pointer is NULL");
    if (bad(mean_t) || bad(mean_c) || bad(var_t) || bad(var_c) || bad(n_t) || bad(n_c) ||
        var_t < 0.0 || var_c < 0.0)
        return mlops__error(MLOPS_E_INVALID,
                            "means must be finite and variances >= 0 (mean_t %g var_t %g, "
                            "mean_c %g var_c %g)",
                            mean_t, var_t, mean_c, var_c);
    mlops_status st = check_alpha(alpha);
    if (st != MLOPS_OK)
        return st;
    if (n_t < 2.0 || n_c < 2.0)
        return mlops__error(MLOPS_E_INSUFFICIENT,
                            "Welch's test needs 2 units per group (treatment %g, control %g)",
                            n_t, n_c);
    double a = var_t / n_t, b = var_c / n_c;
    if (!(a + b > 0.0))
        return mlops__error(MLOPS_E_INSUFFICIENT, "both groups have zero variance");
    double se = sqrt(a + b);
    double df = (a + b) * (a + b) / (a * a / (n_t - 1.0) + b * b / (n_c - 1.0));
    double t = (mean_t - mean_c) / se;
    double tc = mlops__t_ppf(1.0 - alpha / 2.0, df);
    *t_out = t;
    *df_out = df;
    *p_out = 2.0 * mlops__t_sf(fabs(t), df);
    *ci_low_out = (mean_t - mean_c) - tc * se;
    *ci_high_out = (mean_t - mean_c) + tc * se;
    return MLOPS_OK;
}

mlops_status mlops__ab_check_weights(const double *w, uint32_t k, const char *what)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < k; i++) {
        if (!(w[i] >= 0.0) || bad(w[i]))
            return mlops__error(MLOPS_E_INVALID, "%s[%u] = %g must be finite and >= 0", what,
                                i, w[i]);
        sum += w[i];
    }
    if (fabs(sum - 1.0) > 1e-9)
        return mlops__error(MLOPS_E_INVALID,
                            "%s sum to %.17g, not 1; give shares of the whole (e.g. 0.5,0.5)",
                            what, sum);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_srm(double *chi2_out, double *p_out, const uint64_t *observed,
                                    const double *planned, uint32_t k)
{
    if (chi2_out == NULL || p_out == NULL || observed == NULL || planned == NULL)
        return mlops__error(MLOPS_E_INVALID, "a pointer argument is NULL");
    if (k < 2 || k > MLOPS_AB_MAX_VARIANTS)
        return mlops__error(MLOPS_E_INVALID, "k = %u variants; need 2 to %d", k,
                            MLOPS_AB_MAX_VARIANTS);
    mlops_status st = mlops__ab_check_weights(planned, k, "planned shares");
    if (st != MLOPS_OK)
        return st;
    double total = 0.0;
    for (uint32_t i = 0; i < k; i++) {
        if (!(planned[i] > 0.0))
            return mlops__error(MLOPS_E_INVALID, "planned share %u is 0", i);
        total += (double)observed[i];
    }
    if (total <= 0.0)
        return mlops__error(MLOPS_E_INSUFFICIENT, "no units observed");
    double chi2 = 0.0;
    for (uint32_t i = 0; i < k; i++) {
        double e = total * planned[i];
        double d = (double)observed[i] - e;
        chi2 += d * d / e;
    }
    *chi2_out = chi2;
    *p_out = mlops__chi2_sf(chi2, (double)(k - 1));
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_msprt(double *p_out, double effect, double var, double tau2,
                                      double prev_p)
{
    if (p_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "p_out is NULL");
    if (bad(effect) || !(var > 0.0) || bad(var) || !(tau2 > 0.0) || bad(tau2))
        return mlops__error(MLOPS_E_INVALID,
                            "mSPRT needs a finite effect (%g), variance > 0 (%g) and tau2 > 0 "
                            "(%g)",
                            effect, var, tau2);
    if (!(prev_p > 0.0 && prev_p <= 1.0))
        return mlops__error(MLOPS_E_INVALID, "prev_p %g must be in (0, 1]", prev_p);
    /* log Lambda, to stay finite for large effects. */
    double log_lambda = 0.5 * log(var / (var + tau2)) +
                        tau2 * effect * effect / (2.0 * var * (var + tau2));
    double p = exp(-log_lambda);
    if (!(p < prev_p))
        p = prev_p;
    *p_out = p;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_cs_halfwidth(double *out, double var, double n, double alpha,
                                             double tuning)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    mlops_status st = check_alpha(alpha);
    if (st != MLOPS_OK)
        return st;
    if (!(var >= 0.0) || bad(var) || !(n > 0.0) || bad(n) || !(tuning > 0.0) || bad(tuning))
        return mlops__error(MLOPS_E_INVALID,
                            "need variance >= 0 (%g), n > 0 (%g) and tuning > 0 (%g)", var, n,
                            tuning);
    double la = -2.0 * log(alpha);
    double rho2 = (la + log(la + 1.0)) / tuning;
    double s2 = var * n;
    double nr = n * rho2 + 1.0;
    *out = sqrt(s2) * sqrt(2.0 * nr / (n * n * rho2) * log(sqrt(nr) / alpha));
    return MLOPS_OK;
}

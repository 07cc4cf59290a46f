/* SPDX-License-Identifier: MIT */
/* Special functions for the statistics of drift and rollout. Written for
 * accuracy near double precision over the ranges the tests use; each
 * function names the scipy function it agrees with (see special.h). */
#include <float.h>
#include <math.h>

#include "stats/special.h"

#define SQRT2 1.41421356237309504880
#define SQRT2PI 2.50662827463100050242
#define MAX_ITER 100000

double mlops__norm_cdf(double x)
{
    if (isnan(x))
        return NAN;
    return 0.5 * erfc(-x / SQRT2);
}

double mlops__norm_sf(double x)
{
    if (isnan(x))
        return NAN;
    return 0.5 * erfc(x / SQRT2);
}

/* Acklam's rational approximation (relative error 1.2e-9), then two Halley
 * steps on erfc, which bring it to full double precision. */
double mlops__norm_ppf(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    if (isnan(p) || p < 0.0 || p > 1.0)
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;
    if (p > 0.5)
        return -mlops__norm_ppf(1.0 - p);
    double x;
    const double plow = 0.02425;
    if (p < plow) {
        double q = sqrt(-2.0 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    for (int i = 0; i < 2; i++) {
        double e = 0.5 * erfc(-x / SQRT2) - p;
        double u = e * SQRT2PI * exp(x * x / 2.0);
        x = x - u / (1.0 + x * u / 2.0);
    }
    return x;
}

double mlops__lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* Series for P(a, x), good for x < a + 1. */
static double gamma_p_series(double a, double x)
{
    double ap = a, sum = 1.0 / a, del = sum;
    for (int n = 0; n < MAX_ITER; n++) {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * 1e-17)
            break;
    }
    return sum * exp(-x + a * log(x) - mlops__lgamma(a));
}

/* Continued fraction for Q(a, x) (modified Lentz), good for x >= a + 1. */
static double gamma_q_cf(double a, double x)
{
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < MAX_ITER; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-17)
            break;
    }
    return exp(-x + a * log(x) - mlops__lgamma(a)) * h;
}

double mlops__gamma_p(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
        return NAN;
    if (x == 0.0)
        return 0.0;
    if (isinf(x))
        return 1.0;
    if (x < a + 1.0)
        return gamma_p_series(a, x);
    return 1.0 - gamma_q_cf(a, x);
}

double mlops__gamma_q(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
        return NAN;
    if (x == 0.0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    if (x < a + 1.0)
        return 1.0 - gamma_p_series(a, x);
    return gamma_q_cf(a, x);
}

double mlops__chi2_sf(double x, double dof)
{
    if (isnan(x) || isnan(dof) || dof <= 0.0)
        return NAN;
    if (x <= 0.0)
        return 1.0;
    return mlops__gamma_q(dof / 2.0, x / 2.0);
}

double mlops__chi2_cdf(double x, double dof)
{
    if (isnan(x) || isnan(dof) || dof <= 0.0)
        return NAN;
    if (x <= 0.0)
        return 0.0;
    return mlops__gamma_p(dof / 2.0, x / 2.0);
}

/* P(K > x) for the limiting Kolmogorov distribution. Below x = 1 the theta
 * form of the CDF converges fast; above, the alternating series of the
 * survival function does (and keeps relative accuracy in the far tail). */
double mlops__kolmogorov_sf(double x)
{
    if (isnan(x))
        return NAN;
    if (x <= 0.0)
        return 1.0;
    if (x < 1.0) {
        double w = M_PI * M_PI / (8.0 * x * x), sum = 0.0;
        for (int k = 1; k < 100; k++) {
            double t = exp(-(2.0 * k - 1) * (2.0 * k - 1) * w);
            sum += t;
            if (t < 1e-20 * sum)
                break;
        }
        return 1.0 - SQRT2PI / x * sum;
    }
    double sum = 0.0, sign = 1.0;
    for (int k = 1; k < 100; k++) {
        double t = exp(-2.0 * k * k * x * x);
        sum += sign * t;
        sign = -sign;
        if (t < 1e-20 * fabs(sum))
            break;
    }
    double r = 2.0 * sum;
    return r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
}

/* Continued fraction for the incomplete beta (modified Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m < MAX_ITER; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16)
            break;
    }
    return h;
}

/* Stirling's correction lgamma(x) - ((x - 0.5) log x - x + log(2 pi) / 2), x >= 10. */
static double stirling_corr(double x)
{
    double r = 1.0 / x, r2 = r * r;
    return r * (1.0 / 12 + r2 * (-1.0 / 360 + r2 * (1.0 / 1260 + r2 * (-1.0 / 1680 +
                r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
}

/* log B(a, b) without the cancellation of three large lgamma values. */
static double log_beta(double a, double b)
{
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    if (a < 10.0)
        return mlops__lgamma(a) + mlops__lgamma(b) - mlops__lgamma(a + b);
    /* lgamma(a + b) - lgamma(a) for large a */
    double d = (a - 0.5) * log1p(b / a) + b * log(a + b) - b + stirling_corr(a + b) -
               stirling_corr(a);
    return mlops__lgamma(b) - d;
}

/* I_x(a, b) with y = 1 - x given exactly by the caller (x near 1 loses
 * digits in 1 - x otherwise). */
static double beta_inc_xy(double a, double b, double x, double y)
{
    if (x == 0.0)
        return 0.0;
    if (y == 0.0)
        return 1.0;
    double lbt = a * log(x) + b * log(y) - log_beta(a, b);
    double bt = exp(lbt);
    if (x < (a + 1.0) / (a + b + 2.0))
        return bt * betacf(a, b, x) / a;
    return 1.0 - bt * betacf(b, a, y) / b;
}

double mlops__beta_inc(double a, double b, double x)
{
    if (isnan(a) || isnan(b) || isnan(x) || a <= 0.0 || b <= 0.0 || x < 0.0 || x > 1.0)
        return NAN;
    return beta_inc_xy(a, b, x, 1.0 - x);
}

double mlops__t_sf(double t, double df)
{
    if (isnan(t) || isnan(df) || df <= 0.0)
        return NAN;
    if (isinf(t))
        return t > 0 ? 0.0 : 1.0;
    if (isinf(df))
        return mlops__norm_sf(t);
    double x = df / (df + t * t), y = t * t / (df + t * t);
    double tail = 0.5 * beta_inc_xy(df / 2.0, 0.5, x, y); /* P(T > |t|) */
    return t > 0 ? tail : 1.0 - tail;
}

double mlops__t_cdf(double t, double df)
{
    return mlops__t_sf(-t, df);
}

static double t_pdf(double t, double df)
{
    return exp(mlops__lgamma((df + 1) / 2) - mlops__lgamma(df / 2) -
               0.5 * log(df * M_PI) - (df + 1) / 2 * log1p(t * t / df));
}

double mlops__t_ppf(double p, double df)
{
    if (isnan(p) || isnan(df) || df <= 0.0 || p < 0.0 || p > 1.0)
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;
    if (p == 0.5)
        return 0.0;
    if (p > 0.5)
        return -mlops__t_ppf(1.0 - p, df);
    if (df == 1.0)
        return -1.0 / tan(M_PI * p); /* Cauchy, exact */
    if (df == 2.0)
        return (2.0 * p - 1.0) / sqrt(2.0 * p * (1.0 - p));
    /* bracket, then safeguarded Newton */
    double lo = -1.0, hi = 0.0;
    while (mlops__t_cdf(lo, df) > p && lo > -1e300)
        lo *= 2.0;
    double x = mlops__norm_ppf(p);
    if (!(x > lo && x < hi))
        x = 0.5 * (lo + hi);
    for (int i = 0; i < 200; i++) {
        double f = mlops__t_cdf(x, df) - p;
        if (f > 0)
            hi = x;
        else
            lo = x;
        double pdf = t_pdf(x, df);
        double nx = pdf > 0 ? x - f / pdf : 0.5 * (lo + hi);
        if (!(nx > lo && nx < hi))
            nx = 0.5 * (lo + hi);
        if (fabs(nx - x) <= 1e-15 * fabs(x) + 1e-300)
            return nx;
        x = nx;
    }
    return x;
}

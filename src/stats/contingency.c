/* SPDX-License-Identifier: MIT */
/* Chi-squared tests and distances, as scipy computes them. */
#include <math.h>

#include "stats/dstats.h"
#include "stats/special.h"

void mlops__chi2_contingency(const double *row0, const double *row1, size_t k, bool yates,
                             double *stat, double *dof, double *p)
{
    double r0 = 0.0, r1 = 0.0;
    for (size_t j = 0; j < k; j++) {
        r0 += row0[j];
        r1 += row1[j];
    }
    double total = r0 + r1;
    double d = (double)k - 1.0;
    *dof = d;
    if (d == 0.0) {
        *stat = 0.0;
        *p = 1.0;
        return;
    }
    double s = 0.0;
    for (int r = 0; r < 2; r++) {
        const double *row = r == 0 ? row0 : row1;
        double rs = r == 0 ? r0 : r1;
        for (size_t j = 0; j < k; j++) {
            double col = row0[j] + row1[j];
            double e = rs * col / total;
            double o = row[j];
            if (yates && d == 1.0) {
                double diff = e - o;
                double mag = fmin(0.5, fabs(diff));
                o += diff > 0 ? mag : (diff < 0 ? -mag : 0.0);
            }
            s += (o - e) * (o - e) / e;
        }
    }
    *stat = s;
    *p = mlops__chi2_sf(s, d);
}

void mlops__chisquare(const double *obs, const double *expd, size_t k, double *stat, double *p)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++)
        s += (obs[i] - expd[i]) * (obs[i] - expd[i]) / expd[i];
    *stat = s;
    *p = k > 1 ? mlops__chi2_sf(s, (double)k - 1.0) : NAN;
}

static double rel_entr(double x, double y)
{
    if (x > 0 && y > 0)
        return x * log(x / y);
    if (x == 0 && y >= 0)
        return 0.0;
    return INFINITY;
}

double mlops__js_distance(const double *p, const double *q, size_t k, double base)
{
    double sp = 0.0, sq = 0.0;
    for (size_t i = 0; i < k; i++) {
        sp += p[i];
        sq += q[i];
    }
    double left = 0.0, right = 0.0;
    for (size_t i = 0; i < k; i++) {
        double pi = p[i] / sp, qi = q[i] / sq, m = (pi + qi) / 2.0;
        left += rel_entr(pi, m);
        right += rel_entr(qi, m);
    }
    double js = left + right;
    if (base > 0)
        js /= log(base);
    return sqrt(js / 2.0);
}

double mlops__wasserstein_sorted(const double *a, size_t na, const double *b, size_t nb)
{
    size_t i = 0, j = 0;
    double s = 0.0, fa = (double)na, fb = (double)nb;
    double prev = 0.0;
    bool have = false;
    while (i < na || j < nb) {
        double v = (j >= nb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
        if (have && v != prev)
            s += fabs((double)i / fa - (double)j / fb) * (v - prev);
        while (i < na && a[i] <= v)
            i++;
        while (j < nb && b[j] <= v)
            j++;
        prev = v;
        have = true;
    }
    return s;
}

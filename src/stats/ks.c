/* SPDX-License-Identifier: MIT */
/* The two-sample Kolmogorov-Smirnov test as scipy.stats.ks_2samp (scipy
 * 1.10) computes it: the statistic from the two empirical CDFs evaluated at
 * every data point; the exact p-value by lattice-path counting (Hodges;
 * Viehmann's 1-p recursion) and the asymptotic one from the exact
 * one-sample distribution kstwo(round(n1 n2 / (n1 + n2))) with scipy's
 * choice among Ruben-Gambino, Durbin (Marsaglia-Tsang-Wang), Pomeranz,
 * Pelz-Good and 2 * Smirnov (Simard & L'Ecuyer 2011). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "stats/dstats.h"
#include "stats/special.h"

#define MAX_AUTO_N 10000
#define MIN_LOG (-708.3964185322641)

double mlops__ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb)
{
    size_t i = 0, j = 0;
    double maxs = -INFINITY, mins = INFINITY;
    double fa = (double)na, fb = (double)nb;
    /* scipy evaluates cdf1 - cdf2 at every pooled point; between points the
     * difference is constant, so visiting each distinct value once after
     * consuming all its copies gives the same extremes. */
    while (i < na || j < nb) {
        double v;
        if (j >= nb || (i < na && a[i] <= b[j]))
            v = a[i];
        else
            v = b[j];
        while (i < na && a[i] <= v)
            i++;
        while (j < nb && b[j] <= v)
            j++;
        double diff = (double)i / fa - (double)j / fb;
        if (diff > maxs)
            maxs = diff;
        if (diff < mins)
            mins = diff;
    }
    double minS = -mins;
    if (minS < 0.0)
        minS = 0.0;
    if (minS > 1.0)
        minS = 1.0;
    return minS > maxs ? minS : maxs;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Pr(D_{n,n} >= h/n), Horner form of the alternating binomial sum. */
static double prob_outside_square(int64_t n, int64_t h)
{
    double P = 0.0;
    int64_t k = (int64_t)floor((double)n / (double)h);
    while (k >= 0) {
        double p1 = 1.0;
        for (int64_t j = 0; j < h; j++)
            p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
        P = p1 * (1.0 - P);
        k--;
    }
    return 2 * P;
}

/* Proportion of lattice paths that leave |x/m - y/n| < h / lcm (1 - p
 * recursion); returns NaN when it cannot allocate. */
static double outer_prob_inside(const mlops_env *env, int64_t m, int64_t n, int64_t g,
                                int64_t h)
{
    if (m < n) {
        int64_t t = m;
        m = n;
        n = t;
    }
    int64_t mg = m / g, ng = n / g;
    int64_t minj = 0, maxj = (int64_t)ceil((double)h / (double)mg);
    if (maxj > n + 1)
        maxj = n + 1;
    int64_t curlen = maxj - minj;
    int64_t lenA = 2 * maxj + 2;
    if (lenA > n + 1)
        lenA = n + 1;
    /* the window can grow to the full column */
    size_t cap = (size_t)(n + 2);
    double *A = mlops__malloc(env, cap * sizeof(double));
    if (A == NULL)
        return NAN;
    for (size_t i = 0; i < cap; i++)
        A[i] = 1.0;
    (void)lenA;
    for (int64_t j = minj; j < maxj; j++)
        A[j] = 0.0;
    double result = NAN;
    for (int64_t i = 1; i <= m; i++) {
        int64_t lastminj = minj, lastlen = curlen;
        minj = (int64_t)floor((double)(ng * i - h) / (double)mg) + 1;
        if (minj < 0)
            minj = 0;
        if (minj > n)
            minj = n;
        maxj = (int64_t)ceil((double)(ng * i + h) / (double)mg);
        if (maxj > n + 1)
            maxj = n + 1;
        if (maxj <= minj) {
            result = 1.0;
            goto out;
        }
        double val = minj == 0 ? 0.0 : 1.0;
        for (int64_t jj = 0; jj < maxj - minj; jj++) {
            int64_t j = jj + minj;
            val = (A[jj + minj - lastminj] * (double)i + val * (double)j) / (double)(i + j);
            A[jj] = val;
        }
        curlen = maxj - minj;
        if (lastlen > curlen)
            for (int64_t t = maxj - minj; t < maxj - minj + (lastlen - curlen); t++)
                A[t] = 1.0;
    }
    result = A[maxj - minj - 1];
out:
    mlops__free(env, A);
    return result;
}

/* ---- the one-sample distributions ---- */

static double clip01(double p)
{
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

static double log_nfact_div_npown(double n)
{
    static const double c[] = {-2.955065359477124183e-2, 6.4102564102564102564e-3,
                               -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                               -5.952380952380952381e-4, 7.9365079365079365079e-4,
                               -2.7777777777777777778e-3, 8.3333333333333333333e-2};
    double rn = 1.0 / n, x = rn / n, poly = 0.0;
    for (int i = 0; i < 8; i++)
        poly = poly * x + c[i];
    return log(n) / 2 - n + log(2 * M_PI) / 2 + rn * poly;
}

double mlops__smirnov_sf(int64_t n, double x)
{
    if (!(n > 0 && x >= 0.0 && x <= 1.0))
        return NAN;
    if (n == 1)
        return 1.0 - x;
    if (x == 0.0)
        return 1.0;
    if (x == 1.0)
        return 0.0;
    double nd = (double)n;
    double p = nd * x, err = fma(nd, x, -p);
    double fl = floor(p);
    if (p == fl && err < 0)
        fl -= 1.0;
    double alpha = (p - fl) + err;
    int64_t nxfl = (int64_t)fl;
    if (alpha >= 1.0) {
        nxfl += 1;
        alpha = 0.0;
    }
    if (nxfl == 0 || (nxfl == 1 && alpha == 0.0)) {
        long double t = powl(1.0L + x, (long double)(n - 1));
        return clip01((double)(1.0L - x * t));
    }
    if (-2.0 * nd * x * x < MIN_LOG)
        return 0.0;
    if (nxfl >= n - 1)
        return clip01((double)powl(1.0L - x, (long double)n));
    if (n > 1000000) {
        double logp = -pow(6.0 * nd * x + 1, 2) / 18.0 / nd;
        if (logp < -M_LN2)
            return exp(logp);
        return 1.0 - (-expm1(logp));
    }
    int64_t last = n - nxfl - (alpha == 0.0 ? 0 : 1);
    if (alpha == 0.0)
        last -= 1;
    /* sf = x * sum_{v=0}^{last} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v). The terms
     * are unimodal in v, with their mass within a few sqrt(n) of the mode:
     * find the mode, then sum outwards in long double until the terms no
     * longer matter (scipy sums every term; the result is the same). */
    long double lx = x, ln = (long double)n, lgn1 = lgammal(ln + 1.0L);
#define LOGTERM(v)                                                                                 \
    (lgn1 - lgammal((long double)(v) + 1.0L) - lgammal(ln - (long double)(v) + 1.0L) +            \
     (long double)((v)-1) * logl(lx + (long double)(v) / ln) +                                     \
     (long double)(n - (v)) * logl((long double)(n - (v)) / ln - lx))
    int64_t lo = 0, hi = last;
    while (hi - lo > 2) {
        int64_t m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
        if (LOGTERM(m1) < LOGTERM(m2))
            lo = m1 + 1;
        else
            hi = m2 - 1;
    }
    int64_t mode = lo;
    long double best = LOGTERM(lo);
    for (int64_t v = lo + 1; v <= hi; v++) {
        long double t = LOGTERM(v);
        if (t > best) {
            best = t;
            mode = v;
        }
    }
    long double sum = 0.0L;
    for (int dir = 0; dir < 2; dir++) {
        int64_t v = dir == 0 ? mode : mode + 1;
        if (v > last)
            continue;
        long double lc = lgn1 - lgammal((long double)v + 1.0L) - lgammal(ln - (long double)v + 1.0L);
        for (; v >= 0 && v <= last; v += dir == 0 ? -1 : 1) {
            long double b = (long double)(n - v) / ln - lx;
            if (b > 0.0L) {
                long double t = lc + (long double)(v - 1) * logl(lx + (long double)v / ln) +
                                (long double)(n - v) * logl(b);
                long double term = expl(t - best);
                sum += term;
                if (term < 1e-22L * sum)
                    break;
            }
            if (dir == 0 && v > 0)
                lc += logl((long double)v / (long double)(n - v + 1));
            else if (dir == 1)
                lc += logl((long double)(n - v) / (long double)(v + 1));
        }
    }
#undef LOGTERM
    long double lsum = logl(sum) + best;
    if (lsum < -11000.0L)
        return 0.0;
    return clip01((double)(lx * expl(lsum)));
}

/* Pr(D_n <= d) by Durbin's matrix (Marsaglia, Tsang, Wang 2003). */
static double kolmogn_dmtw(const mlops_env *env, int64_t n, double d)
{
    if (d >= 1.0)
        return 1.0;
    double nd = (double)n * d;
    if (nd <= 0.5)
        return 0.0;
    int k = (int)ceil(nd);
    double h = k - nd;
    int m = 2 * k - 1;
    size_t mm = (size_t)m * (size_t)m;
    long double *buf = mlops__malloc(env, 4 * mm * sizeof(long double));
    if (buf == NULL)
        return NAN;
    long double *H = buf, *P = buf + mm, *T = buf + 2 * mm, *v = buf + 3 * mm, *w = v + m;
    memset(H, 0, mm * sizeof(long double));
    long double fac = 1.0L;
    for (int j = 1; j <= m; j++) {
        w[j - 1] = fac;
        fac /= j;
        v[j - 1] = (1.0L - powl(h, j)) * fac;
    }
    double tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
    v[m - 1] = (1.0L + tt) * fac;
    for (int i = 1; i < m; i++)
        for (int r = i - 1; r < m; r++)
            H[r * m + i] = w[r - (i - 1)];
    for (int r = 0; r < m; r++)
        H[r * m + 0] = v[r];
    for (int c = 0; c < m; c++)
        H[(m - 1) * m + c] = v[m - 1 - c];
    for (size_t i = 0; i < mm; i++)
        P[i] = 0.0L;
    for (int i = 0; i < m; i++)
        P[i * m + i] = 1.0L;
    const long double EP = ldexpl(1.0L, 128), EM = ldexpl(1.0L, -128);
    int64_t nn = n;
    int expnt = 0, hexpnt = 0;
    while (nn > 0) {
        if (nn % 2) {
            for (int r = 0; r < m; r++)
                for (int c = 0; c < m; c++) {
                    long double s = 0.0L;
                    for (int t = 0; t < m; t++)
                        s += P[r * m + t] * H[t * m + c];
                    T[r * m + c] = s;
                }
            memcpy(P, T, mm * sizeof(long double));
            expnt += hexpnt;
        }
        for (int r = 0; r < m; r++)
            for (int c = 0; c < m; c++) {
                long double s = 0.0L;
                for (int t = 0; t < m; t++)
                    s += H[r * m + t] * H[t * m + c];
                T[r * m + c] = s;
            }
        memcpy(H, T, mm * sizeof(long double));
        hexpnt *= 2;
        if (fabsl(H[(k - 1) * m + (k - 1)]) > EP) {
            for (size_t i = 0; i < mm; i++)
                H[i] /= EP;
            hexpnt += 128;
        }
        nn /= 2;
    }
    long double p = P[(k - 1) * m + (k - 1)];
    for (int64_t i = 1; i <= n; i++) {
        p = (long double)i * p / (long double)n;
        if (fabsl(p) < EM) {
            p *= EP;
            expnt -= 128;
        }
    }
    mlops__free(env, buf);
    return clip01((double)ldexpl(p, expnt));
}

static void pomeranz_j1j2(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf,
                          int64_t *j1o, int64_t *j2o)
{
    int64_t j1, j2;
    if (i == 0) {
        j1 = -ll - ceilf - 1;
        j2 = ll + ceilf - 1;
    } else {
        int64_t d = (i + 1) / 2, md = (i + 1) % 2;
        if (md == 0) {
            if (d == n + 1) {
                j1 = n - ll - ceilf - 1;
                j2 = n + ll + ceilf - 1;
            } else {
                j1 = d - 1 - ll - roundf - 1;
                j2 = d + ll - 1 + ceilf - 1;
            }
        } else {
            j1 = d - 1 - ll - 1;
            j2 = d + ll + roundf - 1;
        }
    }
    *j1o = j1 + 2 > 0 ? j1 + 2 : 0;
    *j2o = j2 < n ? j2 : n;
}

/* Pr(D_n <= x) by the Pomeranz recursion (n <= 140 here). */
static double kolmogn_pomeranz(const mlops_env *env, int64_t n, double x)
{
    double t = (double)n * x;
    int64_t ll = (int64_t)floor(t);
    double f = t - (double)ll;
    double g = fmin(f, 1.0 - f);
    int64_t ceilf = f > 0 ? 1 : 0, roundf = f > 0.5 ? 1 : 0;
    int64_t np = 2 * (ll + 1);
    double *mem = mlops__calloc(env, (size_t)np * 5, sizeof(double));
    if (mem == NULL)
        return NAN;
    double *gp = mem, *tgp = mem + np, *ogp = mem + 2 * np, *V0 = mem + 3 * np,
           *V1 = mem + 4 * np;
    gp[0] = tgp[0] = ogp[0] = 1.0;
    double gn = g / n, tgn = 2 * g / n, ogn = (1 - 2 * g) / n;
    for (int64_t m = 1; m < np; m++) {
        gp[m] = gp[m - 1] * gn / m;
        tgp[m] = tgp[m - 1] * tgn / m;
        ogp[m] = ogp[m - 1] * ogn / m;
    }
    V1[0] = 1;
    int64_t V0s = 0, V1s = 0, j1, j2, expnt = 0;
    const double EP = ldexp(1.0, 128), EM = ldexp(1.0, -128);
    pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
    for (int64_t i = 1; i < 2 * n + 2; i++) {
        int64_t k1 = j1;
        double *tmp = V0;
        V0 = V1;
        V1 = tmp;
        int64_t ts = V0s;
        V0s = V1s;
        V1s = ts;
        memset(V1, 0, (size_t)np * sizeof(double));
        pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
        const double *pw = (i == 1 || i == 2 * n + 1) ? gp : ((i % 2) ? tgp : ogp);
        int64_t ln2 = j2 - k1 + 1;
        if (ln2 > 0) {
            int64_t a0 = k1 - V0s;
            int64_t la = ln2;
            if (a0 + la > np)
                la = np - a0;
            if (la < 0)
                la = 0;
            int64_t cs = j1 - k1, cl = j2 - j1 + 1;
            double vmax = 0.0;
            for (int64_t c = 0; c < cl; c++) {
                int64_t tt = cs + c; /* index into the full convolution */
                double s = 0.0;
                for (int64_t a = 0; a < la; a++) {
                    int64_t b = tt - a;
                    if (b >= 0 && b < ln2)
                        s += V0[a0 + a] * pw[b];
                }
                V1[c] = s;
                if (s > vmax)
                    vmax = s;
            }
            if (0 < vmax && vmax < EM) {
                for (int64_t c = 0; c < np; c++)
                    V1[c] *= EP;
                expnt -= 128;
            }
            V1s = V0s + j1 - k1;
        }
    }
    double ans = V1[n - V1s];
    for (int64_t m = 1; m <= n; m++) {
        if (fabs(ans) > EP) {
            ans *= EM;
            expnt += 128;
        }
        ans *= (double)m;
    }
    mlops__free(env, mem);
    return clip01(ldexp(ans, (int)expnt));
}

/* Pelz-Good approximation of Pr(D_n <= x), or its complement when sf. */
static double kolmogn_pelzgood(int64_t n, double x, bool sf)
{
    if (x <= 0.0)
        return sf ? 1.0 : 0.0;
    if (x >= 1.0)
        return sf ? 0.0 : 1.0;
    const double PI2 = M_PI * M_PI, PI4 = PI2 * PI2, PI6 = PI4 * PI2;
    const double SQRT2PI = sqrt(2 * M_PI), SQRT3 = sqrt(3.0);
    double z = sqrt((double)n) * x;
    double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
    double qlog = -PI2 / 8 / z2;
    if (qlog < -708)
        return sf ? 1.0 : 0.0;
    double q = exp(qlog);
    double k1a = -z2, k1b = PI2 / 4;
    double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * PI2 / 4,
           k2c = PI4 * (1 - 2 * z2) / 16;
    double k3d = PI6 * (5 - 30 * z2) / 64, k3c = PI4 * (-60 * z2 + 212 * z4) / 16,
           k3b = PI2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8);
    double K[4] = {0, 0, 0, 0};
    int maxk = (int)ceil(16 * z / M_PI);
    for (int k = maxk; k > 0; k--) {
        double m = 2.0 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, 8.0 * k);
        double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                       k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int i = 0; i < 4; i++)
            K[i] = K[i] * qp + c[i];
    }
    double den[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
    for (int i = 0; i < 4; i++)
        K[i] = K[i] * q * SQRT2PI / den[i];
    q = exp(-PI2 / 2 / z2);
    double s2 = 0.0, s3 = 0.0;
    for (int k = maxk; k > 0; k--) {
        double ks2 = (double)k * k, qpw = pow(q, ks2), kspi = M_PI * k;
        s2 += ks2 * qpw;
        s3 += (SQRT3 * z + kspi) * (SQRT3 * z - kspi) * ks2 * qpw;
    }
    K[2] += s2 * PI2 * SQRT2PI / (-36 * z3);
    K[3] += s3 * PI2 * SQRT2PI / (216 * z6);
    for (int i = 1; i < 4; i++)
        K[i] /= pow((double)n, i / 2.0);
    if (sf) {
        for (int i = 0; i < 4; i++)
            K[i] = -K[i];
        K[0] += 1;
    }
    return K[0] + K[1] + K[2] + K[3];
}

static double kolmogn_env(const mlops_env *env, int64_t n, double x, bool cdf)
{
#define SEL(c, s) clip01(cdf ? (c) : (s))
    if (n <= 0 || isnan(x))
        return NAN;
    if (x >= 1.0)
        return SEL(1.0, 0.0);
    if (x <= 0.0)
        return SEL(0.0, 1.0);
    double nd = (double)n, t = nd * x;
    if (t <= 1.0) {
        if (t <= 0.5)
            return SEL(0.0, 1.0);
        double prob;
        if (n <= 140) {
            prob = 1.0;
            for (int64_t i = 1; i <= n; i++)
                prob *= (double)i * (1.0 / nd) * (2 * t - 1);
        } else {
            prob = exp(log_nfact_div_npown(nd) + nd * log(2 * t - 1));
        }
        return SEL(prob, 1.0 - prob);
    }
    if (t >= nd - 1) {
        double prob = 2 * pow(1.0 - x, nd);
        return SEL(1 - prob, prob);
    }
    if (x >= 0.5) {
        double prob = 2 * mlops__smirnov_sf(n, x);
        return SEL(1.0 - prob, prob);
    }
    double nx2 = t * x;
    if (n <= 140) {
        if (nx2 <= 0.754693) {
            double prob = kolmogn_dmtw(env, n, x);
            return SEL(prob, 1.0 - prob);
        }
        if (nx2 <= 4) {
            double prob = kolmogn_pomeranz(env, n, x);
            return SEL(prob, 1.0 - prob);
        }
        double prob = 2 * mlops__smirnov_sf(n, x);
        return SEL(1.0 - prob, prob);
    }
    if (!cdf) {
        if (nx2 >= 370.0)
            return 0.0;
        if (nx2 >= 2.2)
            return clip01(2 * mlops__smirnov_sf(n, x));
    }
    double cdfprob;
    if (nx2 >= 18.0)
        cdfprob = 1.0;
    else if (n <= 100000 && nd * pow(x, 1.5) <= 1.4)
        cdfprob = kolmogn_dmtw(env, n, x);
    else
        cdfprob = kolmogn_pelzgood(n, x, false);
    return SEL(cdfprob, 1.0 - cdfprob);
#undef SEL
}

double mlops__kolmogn_sf(int64_t n, double x)
{
    return kolmogn_env(NULL, n, x, false);
}

double mlops__ks_pvalue(double d, uint64_t n1, uint64_t n2, int method, int *used_out,
                        double *d_out)
{
    uint64_t g = gcd_u64(n1, n2);
    uint64_t n1g = n1 / g, n2g = n2 / g;
    double prob = NAN;
    int mode = method;
    if (mode == MLOPS__KS_AUTO)
        mode = (n1 > n2 ? n1 : n2) <= MAX_AUTO_N ? MLOPS__KS_EXACT : MLOPS__KS_ASYMP;
    else if (mode == MLOPS__KS_EXACT && (double)n1g >= 2147483647.0 / (double)n2g)
        mode = MLOPS__KS_ASYMP;
    if (mode == MLOPS__KS_EXACT) {
        double lcm = (double)n1g * (double)n2;
        double h = nearbyint(d * lcm);
        double dd = h / lcm;
        bool ok = true;
        if (h == 0) {
            prob = 1.0;
        } else if (n1 == n2) {
            prob = prob_outside_square((int64_t)n1, (int64_t)h);
        } else {
            prob = outer_prob_inside(NULL, (int64_t)n1, (int64_t)n2, (int64_t)g, (int64_t)h);
        }
        if (!(prob >= 0.0 && prob <= 1.0))
            ok = false;
        if (ok) {
            d = dd;
        } else {
            d = dd;
            mode = MLOPS__KS_ASYMP;
        }
    }
    if (mode == MLOPS__KS_ASYMP) {
        double m = (double)(n1 > n2 ? n1 : n2), n = (double)(n1 > n2 ? n2 : n1);
        double en = m * n / (m + n);
        prob = kolmogn_env(NULL, (int64_t)nearbyint(en), d, false);
    }
    if (used_out)
        *used_out = mode;
    if (d_out)
        *d_out = d;
    return clip01(prob);
}

/* SPDX-License-Identifier: MIT */
/* Sorting, numpy-compatible quantiles, binning and PSI. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/dstats.h"

/* ---- radix sort of doubles (LSD, 11-bit digits, IEEE order key) ---- */

static inline uint64_t key_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

static inline double val_of(uint64_t k)
{
    uint64_t u = (k & 0x8000000000000000ull) ? (k & 0x7fffffffffffffffull) : ~k;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static void insertion_sort(double *x, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1] > v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

void mlops__sort_f64(double *x, double *tmp, size_t n)
{
    if (n < 64) {
        insertion_sort(x, n);
        return;
    }
    uint64_t *a = (uint64_t *)x, *b = (uint64_t *)tmp;
    size_t cnt[6][2048];
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key_of(x[i]);
        a[i] = k;
        for (int p = 0; p < 6; p++)
            cnt[p][(k >> (11 * p)) & 2047]++;
    }
    for (int p = 0; p < 6; p++) {
        /* skip a pass where every key has the same digit */
        bool trivial = false;
        for (size_t d = 0; d < 2048; d++) {
            if (cnt[p][d] == n) {
                trivial = true;
                break;
            }
            if (cnt[p][d] != 0)
                break;
        }
        if (trivial)
            continue;
        size_t sum = 0;
        for (size_t d = 0; d < 2048; d++) {
            size_t c = cnt[p][d];
            cnt[p][d] = sum;
            sum += c;
        }
        int sh = 11 * p;
        for (size_t i = 0; i < n; i++)
            b[cnt[p][(a[i] >> sh) & 2047]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = val_of(a[i]);
}

/* ---- quantiles ---- */

static double lerp_np(double a, double b, double t)
{
    /* numpy's _lerp: a + t*(b-a), corrected from the other end for t >= 0.5 */
    double diff = b - a;
    double r = a + diff * t;
    if (t >= 0.5)
        r = b - diff * (1.0 - t);
    return r;
}

static void q_index(size_t n, double q, size_t *lo, double *frac)
{
    double h = (double)(n - 1) * q;
    double f = floor(h);
    *lo = (size_t)f;
    *frac = h - f;
    if (*lo >= n - 1) {
        *lo = n - 1;
        *frac = 0.0;
    }
}

double mlops__quantile_sorted(const double *x, size_t n, double q)
{
    size_t lo;
    double t;
    q_index(n, q, &lo, &t);
    if (lo + 1 >= n)
        return x[n - 1];
    return lerp_np(x[lo], x[lo + 1], t);
}

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Put the elements of ranks in [rlo, rhi] (sorted list of wanted ranks)
 * into place within x[lo, hi). */
static void multiselect(double *x, size_t lo, size_t hi, const size_t *ranks, size_t nr)
{
    while (nr > 0 && hi - lo > 32) {
        size_t mid = lo + (hi - lo) / 2;
        /* median of three */
        if (x[mid] < x[lo])
            swap_d(&x[mid], &x[lo]);
        if (x[hi - 1] < x[lo])
            swap_d(&x[hi - 1], &x[lo]);
        if (x[hi - 1] < x[mid])
            swap_d(&x[hi - 1], &x[mid]);
        double pv = x[mid];
        /* three-way partition: < pv | == pv | > pv */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (x[i] < pv)
                swap_d(&x[lt++], &x[i++]);
            else if (x[i] > pv)
                swap_d(&x[i], &x[--gt]);
            else
                i++;
        }
        /* ranks below lt go left, ranks >= gt go right, the rest are done */
        size_t nl = 0;
        while (nl < nr && ranks[nl] < lt)
            nl++;
        size_t ne = nl;
        while (ne < nr && ranks[ne] < gt)
            ne++;
        if (nl > 0)
            multiselect(x, lo, lt, ranks, nl);
        ranks += ne;
        nr -= ne;
        lo = gt;
    }
    if (nr > 0 && hi > lo)
        insertion_sort(x + lo, hi - lo);
}

void mlops__quantiles_select(double *x, size_t n, const double *q, size_t nq, double *out)
{
    if (n == 0 || nq == 0)
        return;
    size_t ranks[2 * 1024 + 2];
    size_t nr = 0;
    if (nq > 1024)
        nq = 1024; /* callers allow at most 1000 bins */
    for (size_t i = 0; i < nq; i++) {
        size_t lo;
        double t;
        q_index(n, q[i], &lo, &t);
        if (nr == 0 || ranks[nr - 1] < lo)
            ranks[nr++] = lo;
        if (lo + 1 < n && ranks[nr - 1] < lo + 1)
            ranks[nr++] = lo + 1;
    }
    multiselect(x, 0, n, ranks, nr);
    for (size_t i = 0; i < nq; i++) {
        size_t lo;
        double t;
        q_index(n, q[i], &lo, &t);
        out[i] = lo + 1 < n ? lerp_np(x[lo], x[lo + 1], t) : x[n - 1];
    }
}

/* ---- binning and PSI ---- */

void mlops__bin_count(const double *edges, size_t ne, const double *x, size_t n,
                      uint64_t *counts, uint64_t *nan_count)
{
    uint64_t nan = 0;
    if (ne <= 16) {
        double e[16];
        for (size_t j = 0; j < 16; j++)
            e[j] = j < ne ? edges[j] : INFINITY;
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            if (v != v) {
                nan++;
                continue;
            }
            size_t b = 0;
            for (size_t j = 0; j < 16; j++)
                b += (v >= e[j]);
            /* +inf passes the padding edges too */
            counts[b > ne ? ne : b]++;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double v = x[i];
            if (v != v) {
                nan++;
                continue;
            }
            counts[mlops__bin_of(edges, ne, v)]++;
        }
    }
    *nan_count += nan;
}

double mlops__psi_from_counts(const uint64_t *base, uint64_t nb, const uint64_t *cur,
                              uint64_t nc, size_t k, double eps)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (base[i] == 0 && cur[i] == 0)
            continue;
        double pb = nb ? (double)base[i] / (double)nb : 0.0;
        double pc = nc ? (double)cur[i] / (double)nc : 0.0;
        if (pb == 0.0)
            pb = eps;
        if (pc == 0.0)
            pc = eps;
        s += (pc - pb) * log(pc / pb);
    }
    return s;
}

double mlops__psi_shares(const double *pb, const double *pc, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++)
        s += (pb[i] - pc[i]) * log(pb[i] / pc[i]);
    return s;
}

void mlops__evidently_fill(double *p, size_t k)
{
    double mn = INFINITY;
    for (size_t i = 0; i < k; i++)
        if (p[i] != 0.0 && p[i] < mn)
            mn = p[i];
    double fill = (mn <= 0.0001) ? mn / 1e6 : 0.0001;
    if (isinf(mn))
        fill = 0.0001;
    for (size_t i = 0; i < k; i++)
        if (p[i] == 0.0)
            p[i] = fill;
}

size_t mlops__sturges_edges(double lo, double hi, size_t n, double *edges, size_t cap)
{
    size_t nb;
    if (lo == hi) {
        /* numpy widens an empty range to [lo - 0.5, hi + 0.5] */
        lo -= 0.5;
        hi += 0.5;
        nb = 1;
    } else {
        double width = (hi - lo) / (log2((double)n) + 1.0);
        nb = width > 0 ? (size_t)ceil((hi - lo) / width) : 1;
        if (nb < 1)
            nb = 1;
    }
    if (nb + 1 > cap)
        return 0;
    double step = (hi - lo) / (double)nb;
    for (size_t i = 0; i <= nb; i++)
        edges[i] = (double)i * step + lo;
    edges[nb] = hi;
    return nb + 1;
}

void mlops__histogram_uniform(const double *edges, size_t ne, const double *x, size_t n,
                              uint64_t *counts)
{
    size_t nb = ne - 1;
    double first = edges[0], last = edges[nb];
    double norm = (double)nb / (last - first);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!(v >= first && v <= last))
            continue;
        double f = (v - first) * norm;
        size_t idx = (size_t)f;
        if (idx >= nb)
            idx = nb - 1;
        if (v < edges[idx])
            idx--;
        else if (idx + 1 < nb && v >= edges[idx + 1])
            idx++;
        counts[idx]++;
    }
}

/* SPDX-License-Identifier: MIT */
/* Sorting, numpy-compatible quantiles, binning and PSI. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
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
    if (ne <= 15) {
        /* branchless search over 15 edges padded with +inf; two count
         * arrays so that runs of one bin do not serialize on a counter */
        double e[15];
        uint64_t c2[2][16];
        memset(c2, 0, sizeof(c2));
        for (size_t j = 0; j < 15; j++)
            e[j] = j < ne ? edges[j] : INFINITY;
        size_t i = 0;
        for (; i + 1 < n; i += 2) {
            double v0 = x[i], v1 = x[i + 1];
            size_t b0 = 0, b1 = 0;
            b0 += (v0 >= e[b0 + 7]) ? 8 : 0;
            b1 += (v1 >= e[b1 + 7]) ? 8 : 0;
            b0 += (v0 >= e[b0 + 3]) ? 4 : 0;
            b1 += (v1 >= e[b1 + 3]) ? 4 : 0;
            b0 += (v0 >= e[b0 + 1]) ? 2 : 0;
            b1 += (v1 >= e[b1 + 1]) ? 2 : 0;
            b0 += (v0 >= e[b0]) ? 1 : 0;
            b1 += (v1 >= e[b1]) ? 1 : 0;
            /* NaN compares false everywhere: bin 0, taken back below */
            nan += (v0 != v0) + (v1 != v1);
            c2[0][b0]++;
            c2[1][b1]++;
        }
        for (; i < n; i++) {
            double v = x[i];
            size_t b = 0;
            b += (v >= e[b + 7]) ? 8 : 0;
            b += (v >= e[b + 3]) ? 4 : 0;
            b += (v >= e[b + 1]) ? 2 : 0;
            b += (v >= e[b]) ? 1 : 0;
            nan += (v != v);
            c2[0][b]++;
        }
        c2[0][0] -= nan;
        for (size_t b = 0; b < 16; b++) {
            /* +inf passes the padding too: it belongs to the last bin */
            size_t to = b > ne ? ne : b;
            counts[to] += c2[0][b] + c2[1][b];
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

/* ---- quantiles of a large array in one pass, without copying it ----
 * A sorted sample brackets every wanted rank; one pass counts the values
 * below each bracket and gathers those inside; the ranks are then read from
 * the small sorted brackets. Falls back (returns false) if a rank misses
 * its bracket, which a bracket of +-4 sample standard deviations makes rare. */

typedef struct bucket {
    double *v;
    size_t n, cap;
} bucket;

static bool push(const mlops_env *env, bucket *b, double v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        double *nv = mlops__realloc(env, b->v, cap * sizeof(double));
        if (nv == NULL)
            return false;
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n++] = v;
    return true;
}

int mlops__quantiles_stream(const mlops_env *env, const double *x, size_t n, size_t nf,
                            const double *q, size_t nq, double *out)
{
    enum { MAXB = 2 * 1024 };
    if (nf < 200000 || nq == 0 || nq > 64)
        return 0;
    size_t s = n / 8 < (1u << 20) ? n / 8 : (1u << 20);
    size_t step = n / s;
    double *sample = mlops__malloc(env, 2 * s * sizeof(double));
    if (sample == NULL)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n && m < s; i += step)
        if (isfinite(x[i]))
            sample[m++] = x[i];
    size_t ranks[2 * 64];
    size_t nr = 0;
    for (size_t k = 0; k < nq; k++) {
        double h = (double)(nf - 1) * q[k];
        size_t lo = (size_t)floor(h);
        if (nr == 0 || ranks[nr - 1] != lo)
            ranks[nr++] = lo;
        if (lo + 1 < nf)
            ranks[nr++] = lo + 1;
    }
    /* bracket of each rank in value space, merged where they overlap; the
     * sample positions needed are selected, not sorted */
    double L[2 * 64], H[2 * 64];
    size_t nb = 0;
    double delta = 2.5 * sqrt((double)m) + 16; /* 5 sample standard deviations */
    size_t spos[4 * 64];
    size_t nsp = 0;
    for (size_t k = 0; k < nr; k++) {
        double pos = (double)ranks[k] / (double)nf * (double)m;
        double a = pos - delta, b = pos + delta;
        if (a >= 0)
            spos[nsp++] = (size_t)a;
        if (b < (double)m - 1)
            spos[nsp++] = (size_t)b + 1;
    }
    /* positions ascend already except where brackets overlap: sort them */
    for (size_t i = 1; i < nsp; i++)
        for (size_t j = i; j > 0 && spos[j - 1] > spos[j]; j--) {
            size_t t = spos[j];
            spos[j] = spos[j - 1];
            spos[j - 1] = t;
        }
    size_t ud = 0;
    for (size_t i = 0; i < nsp; i++)
        if (ud == 0 || spos[ud - 1] != spos[i])
            spos[ud++] = spos[i];
    multiselect(sample, 0, m, spos, ud);
    for (size_t k = 0; k < nr; k++) {
        double pos = (double)ranks[k] / (double)nf * (double)m;
        double a = pos - delta, b = pos + delta;
        double lo = a < 0 ? -INFINITY : sample[(size_t)a];
        double hi = b >= (double)m - 1 ? INFINITY : sample[(size_t)b + 1];
        if (nb > 0 && lo <= H[nb - 1]) {
            if (hi > H[nb - 1])
                H[nb - 1] = hi;
        } else {
            L[nb] = lo;
            H[nb] = hi;
            nb++;
        }
    }
    mlops__free(env, sample);
    /* one pass: regions between brackets are counted, brackets gathered */
    double bounds[2 * 2 * 64];
    for (size_t j = 0; j < nb; j++) {
        bounds[2 * j] = L[j];
        bounds[2 * j + 1] = nextafter(H[j], INFINITY);
    }
    size_t nbd = 2 * nb;
    if (nbd > 63)
        return 0;
    uint64_t below[2 * 64 + 1];
    memset(below, 0, sizeof(below));
    bucket bk[2 * 64];
    memset(bk, 0, sizeof(bk));
    int ok = 1;
    /* branchless search over the bounds padded with +inf to 2^levels - 1 */
    double pb[63];
    size_t levels = nbd <= 15 ? 4 : (nbd <= 31 ? 5 : 6), top = ((size_t)1 << levels) - 1;
    for (size_t j = 0; j < 63; j++)
        pb[j] = j < nbd ? bounds[j] : INFINITY;
#define SEARCH(LV)                                                                                 \
    for (size_t i = 0; i < n && ok == 1; i++) {                                                    \
        double v = x[i];                                                                           \
        if (!(fabs(v) < INFINITY))                                                                 \
            continue;                                                                              \
        size_t idx = 0;                                                                            \
        if (LV >= 6)                                                                               \
            idx += (v >= pb[idx + 31]) ? 32 : 0;                                                   \
        if (LV >= 5)                                                                               \
            idx += (v >= pb[idx + 15]) ? 16 : 0;                                                   \
        idx += (v >= pb[idx + 7]) ? 8 : 0;                                                         \
        idx += (v >= pb[idx + 3]) ? 4 : 0;                                                         \
        idx += (v >= pb[idx + 1]) ? 2 : 0;                                                         \
        idx += (v >= pb[idx]) ? 1 : 0;                                                             \
        if (idx & 1) {                                                                             \
            if (!push(env, &bk[idx / 2], v))                                                       \
                ok = -1;                                                                           \
        } else {                                                                                   \
            below[idx / 2]++;                                                                      \
        }                                                                                          \
    }
    if (levels == 4) {
        SEARCH(4)
    } else if (levels == 5) {
        SEARCH(5)
    } else {
        SEARCH(6)
    }
#undef SEARCH
    (void)top;
    if (ok == 1) {
        uint64_t cum = 0;
        uint64_t start[2 * 64];
        for (size_t j = 0; j < nb; j++) {
            cum += below[j];
            start[j] = cum;
            cum += bk[j].n;
        }
        /* the ranks wanted in each bracket, then one multi-select per bracket */
        size_t want[2 * 64];
        size_t owner[2 * 64];
        for (size_t k = 0; k < nr && ok == 1; k++) {
            size_t j = 0;
            while (j < nb && !(ranks[k] >= start[j] && ranks[k] < start[j] + bk[j].n))
                j++;
            if (j == nb)
                ok = 0; /* the rank missed its bracket: the caller falls back */
            owner[k] = j;
        }
        for (size_t j = 0; j < nb && ok == 1; j++) {
            size_t nw = 0;
            for (size_t k = 0; k < nr; k++)
                if (owner[k] == j)
                    want[nw++] = ranks[k] - start[j];
            multiselect(bk[j].v, 0, bk[j].n, want, nw);
        }
        for (size_t k = 0; k < nq && ok == 1; k++) {
            double h = (double)(nf - 1) * q[k];
            double f = floor(h), t = h - f;
            size_t r0 = (size_t)f, r1 = r0 + 1 < nf ? r0 + 1 : r0;
            double v[2];
            size_t rr[2] = {r0, r1};
            for (int e = 0; e < 2; e++) {
                size_t j = 0;
                while (!(rr[e] >= start[j] && rr[e] < start[j] + bk[j].n))
                    j++;
                v[e] = bk[j].v[rr[e] - start[j]];
            }
            out[k] = r1 == r0 ? v[0] : lerp_np(v[0], v[1], t);
        }
    }
    for (size_t j = 0; j < nb; j++)
        mlops__free(env, bk[j].v);
    return ok;
}

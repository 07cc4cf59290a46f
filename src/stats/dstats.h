/* SPDX-License-Identifier: MIT */
/* Internal statistics of the drift module: sorting, quantiles, PSI binning,
 * the two-sample Kolmogorov-Smirnov test as scipy.stats.ks_2samp computes
 * it, chi-squared tests, Jensen-Shannon and Wasserstein distances, and the
 * KLL quantile sketch. Nothing here allocates except the sketch (through
 * the env) and the functions that say so. */
#ifndef MLOPS_STATS_DSTATS_H
#define MLOPS_STATS_DSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlops/common.h"

/* ---- sorting and quantiles ---- */

/* Sort n doubles ascending (no NaN allowed; -0.0 sorts before +0.0, which
 * compares equal). tmp holds n doubles of scratch. */
void mlops__sort_f64(double *x, double *tmp, size_t n);
/* numpy.quantile(x, q, method='linear') of sorted x (n >= 1). */
double mlops__quantile_sorted(const double *x, size_t n, double q);
/* numpy.quantile(x, q_i) for nq ascending q, reordering x in place
 * (multi-select, expected O(n log nq)). x has no NaN. */
void mlops__quantiles_select(double *x, size_t n, const double *q, size_t nq, double *out);

/* Quantiles of the finite values of x (nf of them) in one pass without a
 * copy; 1 on success, 0 when the caller should fall back to
 * mlops__quantiles_select (small input, unlucky sample), -1 on NOMEM. */
int mlops__quantiles_stream(const mlops_env *env, const double *x, size_t n, size_t nf,
                            const double *q, size_t nq, double *out);

/* ---- binning ---- */

/* Number of edges <= x (numpy.searchsorted(edges, x, side='right')). */
static inline size_t mlops__bin_of(const double *edges, size_t ne, double x)
{
    size_t lo = 0, hi = ne;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (edges[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
/* Add the bin counts of x to counts[0..ne] (ne+1 bins) and NaNs to *nan_count. */
void mlops__bin_count(const double *edges, size_t ne, const double *x, size_t n,
                      uint64_t *counts, uint64_t *nan_count);

/* PSI of two share vectors, each share floored at eps first (eps > 0):
 * sum (c - b) * ln(c / b). Bins where both counts are 0 contribute 0. */
double mlops__psi_from_counts(const uint64_t *base, uint64_t nb, const uint64_t *cur,
                              uint64_t nc, size_t k, double eps);
/* Evidently's PSI on shares that already hold Evidently's zero fill. */
double mlops__psi_shares(const double *pb, const double *pc, size_t k);
/* Evidently's zero fill of a share vector: 0 -> 1e-4, or the smallest
 * non-zero share / 1e6 when that is <= 1e-4. */
void mlops__evidently_fill(double *p, size_t k);
/* numpy.histogram_bin_edges(x, bins='sturges') for x of n finite values
 * with the given min and max; writes up to cap edges, returns their count
 * (0 if cap is too small). */
size_t mlops__sturges_edges(double lo, double hi, size_t n, double *edges, size_t cap);
/* numpy.histogram(x, edges) counting with ne >= 2 equal-width edges. */
void mlops__histogram_uniform(const double *edges, size_t ne, const double *x, size_t n,
                              uint64_t *counts);

/* ---- Kolmogorov-Smirnov ---- */

#define MLOPS__KS_AUTO 0
#define MLOPS__KS_EXACT 1
#define MLOPS__KS_ASYMP 2

/* Two-sided statistic of sorted samples, as ks_2samp computes it. */
double mlops__ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb);
/* P-value of a two-sided statistic d for sizes n1, n2 (both >= 1) with
 * scipy's method choice; *used_out gets EXACT or ASYMP, *d_out the
 * statistic as scipy reports it (the exact path rounds it to h / lcm). */
double mlops__ks_pvalue(double d, uint64_t n1, uint64_t n2, int method, int *used_out,
                        double *d_out);
/* scipy.stats.kstwo.sf(x, n): the exact two-sided one-sample distribution. */
double mlops__kolmogn_sf(int64_t n, double x);
/* scipy.special.smirnov(n, x): the one-sided one-sample survival function. */
double mlops__smirnov_sf(int64_t n, double x);

/* ---- chi-squared, distances ---- */

/* chi2_contingency of the 2 x k table [row0; row1] (all column totals > 0,
 * k >= 2). yates applies the correction when dof == 1. */
void mlops__chi2_contingency(const double *row0, const double *row1, size_t k, bool yates,
                             double *stat, double *dof, double *p);
/* scipy.stats.chisquare(obs, f_exp). */
void mlops__chisquare(const double *obs, const double *expd, size_t k, double *stat, double *p);
/* scipy.spatial.distance.jensenshannon(p, q, base) (p, q normalised first;
 * base <= 0: natural log). */
double mlops__js_distance(const double *p, const double *q, size_t k, double base);
/* scipy.stats.wasserstein_distance of two sorted samples. */
double mlops__wasserstein_sorted(const double *a, size_t na, const double *b, size_t nb);

/* ---- KLL quantile sketch ---- */

typedef struct mlops__kll_level {
    double *v;
    uint32_t n, cap;
} mlops__kll_level;

#define MLOPS__KLL_MAX_LEVELS 40

typedef struct mlops__kll {
    const mlops_env *env;
    uint32_t k;
    uint32_t nlevels;
    uint32_t samp_level;  /* items enter with weight 2^samp_level */
    uint64_t n;           /* items seen */
    uint64_t blk_pos;     /* position in the current sampling block */
    uint64_t blk_pick;    /* index chosen in the current block */
    double blk_val;       /* the value chosen so far */
    uint64_t rng;
    double min, max;
    uint32_t retained;    /* items held */
    uint32_t tcap_levels; /* nlevels when tcap was computed */
    uint64_t tcap;        /* total capacity */
    mlops__kll_level lv[MLOPS__KLL_MAX_LEVELS];
} mlops__kll;

void mlops__kll_init(mlops__kll *s, const mlops_env *env, uint32_t k, uint64_t seed);
void mlops__kll_free(mlops__kll *s);
/* Add finite values. */
mlops_status mlops__kll_add(mlops__kll *s, const double *x, size_t n);
mlops_status mlops__kll_merge(mlops__kll *dst, const mlops__kll *src);
/* True while every value seen is retained with weight 1 (answers are exact). */
bool mlops__kll_exact(const mlops__kll *s);
/* Weighted, sorted view of the retained items. */
typedef struct mlops__kll_view {
    double *v;
    uint64_t *cw; /* cumulative weight up to and including v[i] */
    size_t n;
    uint64_t total;
} mlops__kll_view;
mlops_status mlops__kll_view_make(mlops__kll_view *out, const mlops__kll *s);
void mlops__kll_view_free(const mlops_env *env, mlops__kll_view *v);
/* Estimated count of values <= x. */
uint64_t mlops__kll_view_rank(const mlops__kll_view *v, double x);
/* numpy 'linear' quantile of the retained items (exact when the sketch is). */
double mlops__kll_view_quantile(const mlops__kll_view *v, double q);
/* Normalised rank error bound (two-sided, ~99% confidence) for a sketch of
 * parameter k that has compacted: documented in docs/drift.md. */
double mlops__kll_eps(uint32_t k);
size_t mlops__kll_bytes(const mlops__kll *s);
uint32_t mlops__kll_retained(const mlops__kll *s);

#endif

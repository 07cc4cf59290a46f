/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_DRIFT_H
#define MLOPS_DRIFT_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file drift.h
 * @brief Drift monitors: profiles, PSI, KS, chi-squared, JS and Wasserstein, monitors.
 *
 * Thread rule: the plain statistical functions may be called from any
 * thread; a profile or a report is used by one thread at a time; a monitor
 * may be used from any thread (it locks itself).
 *
 * Every statistic agrees with the scipy function it names (scipy 1.10):
 * mlops_drift_ks_2samp() with `scipy.stats.ks_2samp`, mlops_drift_chi2()
 * with `scipy.stats.chi2_contingency(table, correction=False)`,
 * mlops_drift_js() with `scipy.spatial.distance.jensenshannon`,
 * mlops_drift_wasserstein() with `scipy.stats.wasserstein_distance`.
 * PSI is defined in docs/drift.md. NaN values are counted and reported,
 * never propagated into a statistic; infinities are counted too.
 */

MLOPS_BEGIN_DECL

/** @defgroup drift Drift monitors
 * @{ */

/** A column profile: counts, moments, histogram, quantile sketch or category counts. */
typedef struct mlops_drift_profile mlops_drift_profile;
/** The result of comparing current profiles with baseline profiles, column by column. */
typedef struct mlops_drift_report mlops_drift_report;
/** A monitor: baselines plus the current window, evaluated on demand or per window. */
typedef struct mlops_drift_monitor mlops_drift_monitor;

/** Column type: numbers (float64). */
#define MLOPS_DRIFT_NUMERIC 1u
/** Column type: categories (UTF-8 strings). */
#define MLOPS_DRIFT_CATEGORICAL 2u

/** Test id: population stability index. */
#define MLOPS_DRIFT_TEST_PSI 1u
/** Test id: two-sample Kolmogorov-Smirnov. */
#define MLOPS_DRIFT_TEST_KS 2u
/** Test id: chi-squared test of homogeneity (2 x k contingency table). */
#define MLOPS_DRIFT_TEST_CHI2 3u
/** Test id: Jensen-Shannon distance. */
#define MLOPS_DRIFT_TEST_JS 4u
/** Test id: Wasserstein distance normalised by the baseline's standard deviation. */
#define MLOPS_DRIFT_TEST_WASSERSTEIN 5u
/** Test id: two-proportion z-test (binary columns). */
#define MLOPS_DRIFT_TEST_Z 6u
/** Test id: chi-squared goodness of fit. */
#define MLOPS_DRIFT_TEST_CHISQUARE 7u

/** KS p-value method: scipy's 'auto' (exact when both sizes are at most 10000). */
#define MLOPS_DRIFT_KS_AUTO 0u
/** KS p-value method: exact (falls back to asymptotic as scipy does). */
#define MLOPS_DRIFT_KS_EXACT 1u
/** KS p-value method: asymptotic (kstwo of the effective size). */
#define MLOPS_DRIFT_KS_ASYMP 2u

/** PSI binning: baseline quantiles (or explicit edges), the libmlops definition. */
#define MLOPS_DRIFT_PSI_QUANTILE 0u
/** PSI binning: Evidently's (Sturges bins over both samples, or one bin per value). */
#define MLOPS_DRIFT_PSI_EVIDENTLY 1u

/** Severity: PSI below the moderate threshold (0.1). */
#define MLOPS_DRIFT_SEVERITY_NONE 0u
/** Severity: PSI at or above the moderate threshold and below the significant one. */
#define MLOPS_DRIFT_SEVERITY_MODERATE 1u
/** Severity: PSI at or above the significant threshold (0.2). */
#define MLOPS_DRIFT_SEVERITY_SIGNIFICANT 2u

/** Multiple-testing correction: none. */
#define MLOPS_DRIFT_CORRECTION_NONE 0u
/** Multiple-testing correction: Bonferroni. */
#define MLOPS_DRIFT_CORRECTION_BONFERRONI 1u
/** Multiple-testing correction: Benjamini-Hochberg. */
#define MLOPS_DRIFT_CORRECTION_BH 2u

/** mlops_drift_chi2() flag: Yates' continuity correction when dof is 1. */
#define MLOPS_DRIFT_CHI2_YATES 1u

/** Largest number of PSI bins. */
#define MLOPS_DRIFT_MAX_BINS 1000u

/** Result of one statistical test; the caller sets version (mlops_drift_result_init()). */
typedef struct mlops_drift_result {
    uint32_t version;  /**< MLOPS_DRIFT_RESULT_VERSION, set by the caller */
    uint32_t test;     /**< MLOPS_DRIFT_TEST_* */
    uint32_t method;   /**< KS: MLOPS_DRIFT_KS_EXACT or _ASYMP as used; otherwise 0 */
    uint32_t reserved; /**< 0 */
    double statistic;  /**< the statistic or distance */
    double pvalue;     /**< p-value; NaN for distances and PSI */
    double dof;        /**< degrees of freedom (chi-squared); NaN otherwise */
    double extra;      /**< Wasserstein: distance / max(std(baseline), 0.001); else NaN */
    uint64_t n_base;   /**< baseline values that entered the statistic */
    uint64_t n_cur;    /**< current values that entered the statistic */
    uint64_t nan_base; /**< NaN values in the baseline (excluded, or binned by PSI) */
    uint64_t nan_cur;  /**< NaN values in the current sample */
    uint64_t inf_base; /**< infinite values in the baseline */
    uint64_t inf_cur;  /**< infinite values in the current sample */
} mlops_drift_result;

/** Current version of mlops_drift_result. */
#define MLOPS_DRIFT_RESULT_VERSION 1
/** Static initializer for mlops_drift_result. */
#define MLOPS_DRIFT_RESULT_INIT {MLOPS_DRIFT_RESULT_VERSION}

/** Options for mlops_drift_psi(). */
typedef struct mlops_drift_psi_options {
    uint32_t version;     /**< MLOPS_DRIFT_PSI_OPTIONS_VERSION */
    uint32_t mode;        /**< MLOPS_DRIFT_PSI_QUANTILE (0) or MLOPS_DRIFT_PSI_EVIDENTLY */
    uint32_t bins;        /**< quantile bins; 0: 10; at most MLOPS_DRIFT_MAX_BINS */
    uint32_t reserved;    /**< 0 */
    double eps;           /**< floor for an empty bin's share; 0: 1e-4 */
    const double *edges;  /**< explicit interior edges (ascending, finite), or NULL */
    size_t n_edges;       /**< number of explicit edges (bins = n_edges + 1) */
    /* new fields go here, below all others */
} mlops_drift_psi_options;

/** Current version of mlops_drift_psi_options. */
#define MLOPS_DRIFT_PSI_OPTIONS_VERSION 1
/** Static initializer for mlops_drift_psi_options. */
#define MLOPS_DRIFT_PSI_OPTIONS_INIT {MLOPS_DRIFT_PSI_OPTIONS_VERSION}

/** Options for profiles (mlops_drift_profile_create()). */
typedef struct mlops_drift_profile_options {
    uint32_t version;        /**< MLOPS_DRIFT_PROFILE_OPTIONS_VERSION */
    uint32_t type;           /**< MLOPS_DRIFT_NUMERIC (0 means numeric) or _CATEGORICAL */
    uint32_t bins;           /**< PSI bins from baseline quantiles; 0: 10 */
    uint32_t sketch_k;       /**< KLL parameter k, 8 to 65535; 0: 128 */
    uint32_t max_categories; /**< categories kept exactly, 2 to 65536; 0: 256 */
    uint32_t reserved;       /**< 0 */
    const double *edges;     /**< explicit PSI interior edges (ascending, finite), or NULL */
    size_t n_edges;          /**< number of edges, at most MLOPS_DRIFT_MAX_BINS - 1 */
    uint64_t keep_values;    /**< keep up to this many raw values for exact KS/Wasserstein; 0: none */
    /* new fields go here, below all others */
} mlops_drift_profile_options;

/** Current version of mlops_drift_profile_options. */
#define MLOPS_DRIFT_PROFILE_OPTIONS_VERSION 1
/** Static initializer for mlops_drift_profile_options. */
#define MLOPS_DRIFT_PROFILE_OPTIONS_INIT {MLOPS_DRIFT_PROFILE_OPTIONS_VERSION}

/** Summary of a profile (mlops_drift_profile_summary()). */
typedef struct mlops_drift_profile_stats {
    uint32_t version;      /**< MLOPS_DRIFT_PROFILE_STATS_VERSION, set by the caller */
    uint32_t type;         /**< MLOPS_DRIFT_NUMERIC or MLOPS_DRIFT_CATEGORICAL */
    uint64_t count;        /**< values seen, missing ones included */
    uint64_t missing;      /**< missing values (NaN for numbers, NULL for categories) */
    uint64_t nan;          /**< NaN values (numeric) */
    uint64_t inf;          /**< +-Inf values (numeric) */
    double min;            /**< smallest finite value (NaN if none) */
    double max;            /**< largest finite value (NaN if none) */
    double mean;           /**< mean of the finite values (NaN if none) */
    double variance;       /**< population variance of the finite values (NaN if none) */
    uint64_t categories;   /**< distinct categories kept (categorical) */
    uint64_t other;        /**< values counted in the "other" bucket (categorical) */
    uint32_t bins;         /**< PSI bins, NaN bin excluded (0 until edges are fixed) */
    uint32_t exact;        /**< 1 if quantiles and KS are exact (nothing summarised yet) */
    double rank_error;     /**< bound on the normalised rank error of quantiles (0 when exact) */
    uint64_t bytes;        /**< memory held by the profile */
} mlops_drift_profile_stats;

/** Current version of mlops_drift_profile_stats. */
#define MLOPS_DRIFT_PROFILE_STATS_VERSION 1

/** Options for mlops_drift_compare() and monitors. */
typedef struct mlops_drift_compare_options {
    uint32_t version;           /**< MLOPS_DRIFT_COMPARE_OPTIONS_VERSION */
    uint32_t correction;        /**< MLOPS_DRIFT_CORRECTION_*; 0: none */
    uint32_t ks_method;         /**< MLOPS_DRIFT_KS_*; 0: auto */
    uint32_t small_sample;      /**< baseline size up to which p-value tests are chosen; 0: 1000 */
    double alpha;               /**< p-value threshold; 0: 0.05 */
    double distance_threshold;  /**< Wasserstein (normalised) and JS threshold; 0: 0.1 */
    double psi_moderate;        /**< PSI moderate threshold; 0: 0.1 */
    double psi_significant;     /**< PSI significant threshold; 0: 0.2 */
    double drift_share;         /**< share of drifted columns for dataset drift; 0: 0.5 */
    /* new fields go here, below all others */
} mlops_drift_compare_options;

/** Current version of mlops_drift_compare_options. */
#define MLOPS_DRIFT_COMPARE_OPTIONS_VERSION 1
/** Static initializer for mlops_drift_compare_options. */
#define MLOPS_DRIFT_COMPARE_OPTIONS_INIT {MLOPS_DRIFT_COMPARE_OPTIONS_VERSION}

/** One column of a report; the caller sets version (see mlops_drift_report_column()). */
typedef struct mlops_drift_column {
    uint32_t version;        /**< MLOPS_DRIFT_COLUMN_VERSION, set by the caller */
    uint32_t type;           /**< MLOPS_DRIFT_NUMERIC or MLOPS_DRIFT_CATEGORICAL */
    const char *name;        /**< column name; borrowed until the report is freed */
    uint32_t test;           /**< the test the automatic choice used (MLOPS_DRIFT_TEST_*) */
    uint32_t drifted;        /**< 1 if that test crossed its threshold */
    uint32_t severity;       /**< MLOPS_DRIFT_SEVERITY_* from the PSI */
    uint32_t approximate;    /**< 1 if KS/Wasserstein came from sketches, not raw values */
    double score;            /**< the chosen test's p-value (adjusted) or distance */
    double psi;              /**< PSI (baseline bins, NaN bin, eps 1e-4) */
    double ks_statistic;     /**< KS statistic (numeric; NaN otherwise) */
    double ks_pvalue;        /**< KS p-value, before any correction (numeric) */
    double ks_error;         /**< bound on the KS statistic's error (0 when exact) */
    double chi2_statistic;   /**< chi-squared statistic (categorical; NaN otherwise) */
    double chi2_dof;         /**< its degrees of freedom */
    double chi2_pvalue;      /**< its p-value, before any correction */
    double js_distance;      /**< Jensen-Shannon distance (natural log) of the binned shares */
    double wasserstein;      /**< Wasserstein distance (numeric) */
    double wasserstein_norm; /**< Wasserstein / max(std(baseline), 0.001) */
    double z_pvalue;         /**< two-proportion z-test p-value (binary columns) */
    double missing_base;     /**< missing rate of the baseline */
    double missing_cur;      /**< missing rate of the current window */
    uint64_t n_base;         /**< baseline values */
    uint64_t n_cur;          /**< current values */
} mlops_drift_column;

/** Current version of mlops_drift_column. */
#define MLOPS_DRIFT_COLUMN_VERSION 1

/** Monitor parameter: PSI moderate threshold (default 0.1). */
#define MLOPS_DRIFT_PARAM_PSI_MODERATE 1u
/** Monitor parameter: PSI significant threshold (default 0.2). */
#define MLOPS_DRIFT_PARAM_PSI_SIGNIFICANT 2u
/** Monitor parameter: p-value threshold (default 0.05). */
#define MLOPS_DRIFT_PARAM_ALPHA 3u
/** Monitor parameter: distance threshold for Wasserstein and JS (default 0.1). */
#define MLOPS_DRIFT_PARAM_DISTANCE_THRESHOLD 4u
/** Monitor parameter: share of drifted columns for dataset drift (default 0.5). */
#define MLOPS_DRIFT_PARAM_DRIFT_SHARE 5u
/** Monitor parameter: close a window after this many values of a column (0: off). */
#define MLOPS_DRIFT_PARAM_WINDOW_COUNT 6u
/** Monitor parameter: close a window after this many milliseconds (0: off). */
#define MLOPS_DRIFT_PARAM_WINDOW_MS 7u
/** Monitor parameter: multiple-testing correction (MLOPS_DRIFT_CORRECTION_*). */
#define MLOPS_DRIFT_PARAM_CORRECTION 8u

/** mlops_drift_monitor_evaluate() flag: close the window (start a new one). */
#define MLOPS_DRIFT_EVAL_CLOSE 1u

/**
 * Alert callback: a column crossed its threshold (it was not drifted in the
 * previous window, or this is the first window).
 *
 * @param col      The column's result; borrowed for the call.
 * @param window   Index of the window (0 for the first).
 * @param payload  As given to mlops_drift_monitor_set_alert().
 * @return 0 to go on; non-zero makes the feeding call return MLOPS_E_CALLBACK.
 */
typedef int (*mlops_drift_alert_fn)(const mlops_drift_column *col, int64_t window,
                                    void *payload);

/**
 * Prepare a result struct for a given version.
 *
 * @param[out] res      Result to zero and stamp.
 * @param[in]  version  MLOPS_DRIFT_RESULT_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p res is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_result_init(mlops_drift_result *res, uint32_t version);

/**
 * Initialize PSI options to their defaults.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_DRIFT_PSI_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_psi_options_init(mlops_drift_psi_options *opts,
                                                    uint32_t version);

/**
 * Initialize profile options to their defaults.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_DRIFT_PROFILE_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_options_init(mlops_drift_profile_options *opts,
                                                        uint32_t version);

/**
 * Initialize compare options to their defaults.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_DRIFT_COMPARE_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_compare_options_init(mlops_drift_compare_options *opts,
                                                        uint32_t version);

/**
 * Population stability index of a current sample against a baseline.
 *
 * Quantile mode: interior edges are numpy.quantile(finite baseline, i/bins)
 * (method 'linear') unless explicit edges are given; bin j holds
 * edge[j-1] <= x < edge[j], the outer bins are open to -inf and +inf; NaN
 * values form a bin of their own; shares of empty bins are floored at eps;
 * PSI = sum (cur - base) * ln(cur / base), bins empty on both sides adding 0.
 * Evidently mode reproduces Evidently's PSI (NaN values dropped).
 *
 * @param[out] out   Result (version set by the caller): statistic = PSI.
 * @param[in]  base  Baseline values (read, not kept).
 * @param[in]  nb    Number of baseline values, 1 or more.
 * @param[in]  cur   Current values.
 * @param[in]  nc    Number of current values, 1 or more.
 * @param[in]  opts  Options, or NULL for the defaults.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers or bad options;
 *         MLOPS_E_INSUFFICIENT for an empty sample or a baseline without a
 *         finite value (quantile edges need one); MLOPS_E_VERSION;
 *         MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_psi(mlops_drift_result *out, const double *base, size_t nb,
                                       const double *cur, size_t nc,
                                       const mlops_drift_psi_options *opts);

/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp.
 *
 * NaN values are excluded and counted; infinities take part as values.
 *
 * @param[out] out     Result: statistic, pvalue and method (as used).
 * @param[in]  a       First sample.
 * @param[in]  na      Its size.
 * @param[in]  b       Second sample.
 * @param[in]  nb      Its size.
 * @param[in]  method  MLOPS_DRIFT_KS_AUTO, _EXACT or _ASYMP.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if a sample has no
 *         non-NaN value; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_ks_2samp(mlops_drift_result *out, const double *a, size_t na,
                                            const double *b, size_t nb, uint32_t method);

/**
 * Chi-squared test of homogeneity of two rows of category counts, as
 * scipy.stats.chi2_contingency([base, cur], correction=False).
 *
 * Categories whose count is zero in both rows are dropped first (scipy
 * refuses such a table); a category seen on one side only stays.
 *
 * @param[out] out   Result: statistic, pvalue, dof.
 * @param[in]  base  Baseline counts (finite, >= 0).
 * @param[in]  cur   Current counts (finite, >= 0).
 * @param[in]  k     Number of categories.
 * @param[in]  flags 0, or MLOPS_DRIFT_CHI2_YATES.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers or negative or
 *         non-finite counts; MLOPS_E_INSUFFICIENT if a row sums to 0 or
 *         fewer than one category remains.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_chi2(mlops_drift_result *out, const double *base,
                                        const double *cur, size_t k, uint32_t flags);

/**
 * Chi-squared goodness of fit, as scipy.stats.chisquare(observed, expected).
 *
 * @param[out] out       Result: statistic, pvalue, dof = k - 1.
 * @param[in]  observed  Observed counts (finite, >= 0).
 * @param[in]  expected  Expected counts (finite, > 0), same total within 1e-8.
 * @param[in]  k         Number of categories, 2 or more.
 * @return MLOPS_OK; MLOPS_E_INVALID for bad counts or totals that differ.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_chisquare(mlops_drift_result *out, const double *observed,
                                             const double *expected, size_t k);

/**
 * Jensen-Shannon distance of two discrete distributions, as
 * scipy.spatial.distance.jensenshannon(p, q, base).
 *
 * @param[out] out   Result: statistic = distance.
 * @param[in]  p     Weights (finite, >= 0, positive sum); normalised.
 * @param[in]  q     Weights, same rules.
 * @param[in]  k     Number of categories, 1 or more.
 * @param[in]  base  Logarithm base; 0 for the natural logarithm.
 * @return MLOPS_OK; MLOPS_E_INVALID for bad weights or base.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_js(mlops_drift_result *out, const double *p, const double *q,
                                      size_t k, double base);

/**
 * First Wasserstein distance of two samples, as
 * scipy.stats.wasserstein_distance(a, b), and (in extra) the distance
 * divided by max(std(a), 0.001) as Evidently uses it.
 *
 * NaN and infinite values are excluded and counted.
 *
 * @param[out] out  Result: statistic, extra.
 * @param[in]  a    Baseline sample.
 * @param[in]  na   Its size.
 * @param[in]  b    Current sample.
 * @param[in]  nb   Its size.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if a sample has no
 *         finite value; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_wasserstein(mlops_drift_result *out, const double *a,
                                               size_t na, const double *b, size_t nb);

/**
 * Create an empty profile of a column.
 *
 * @param[out] out   The profile; NULL on failure.
 * @param[in]  env   Environment, or NULL.
 * @param[in]  name  Column name, UTF-8, 1 to 256 bytes. Copied.
 * @param[in]  opts  Options, or NULL for a numeric profile with defaults.
 *                   Explicit edges are copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad name or options;
 *         MLOPS_E_VERSION; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_drift_profile_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_create(mlops_drift_profile **out, mlops_env *env,
                                                  const char *name,
                                                  const mlops_drift_profile_options *opts);

/**
 * Create a numeric baseline profile from a whole sample, with exact PSI
 * edges (numpy quantiles of the finite values) and exact bin counts.
 *
 * @param[out] out     The profile; NULL on failure.
 * @param[in]  env     Environment, or NULL.
 * @param[in]  name    Column name, as for mlops_drift_profile_create().
 * @param[in]  values  The sample (read, not kept unless keep_values asks).
 * @param[in]  n       Its size.
 * @param[in]  opts    Options (type must be numeric), or NULL.
 * @return As mlops_drift_profile_create(); MLOPS_E_INVALID if @p values is
 *         NULL with n > 0.
 * @threadsafety Any thread.
 * @ownership Release with mlops_drift_profile_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_from_values(mlops_drift_profile **out,
                                                       mlops_env *env, const char *name,
                                                       const double *values, size_t n,
                                                       const mlops_drift_profile_options *opts);

/**
 * Create an empty profile shaped like another one (same name, type, PSI
 * edges and sketch size), to profile current data against a baseline.
 *
 * If the baseline has no edges yet, they are fixed first from its sketch.
 *
 * @param[out] out       The new profile; NULL on failure.
 * @param[in]  baseline  The profile to copy the shape of.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if edges cannot be
 *         fixed (no finite value); MLOPS_E_NOMEM.
 * @threadsafety One thread per handle (on @p baseline).
 * @ownership Release with mlops_drift_profile_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_create_like(mlops_drift_profile **out,
                                                       mlops_drift_profile *baseline);

/**
 * Add numbers to a numeric profile. NaN counts as missing; +-Inf is counted
 * and binned in the outer bins but kept out of the moments and the sketch.
 *
 * @param[in] p       Numeric profile.
 * @param[in] values  Values (read, not kept unless keep_values asks).
 * @param[in] n       Number of values.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL or a categorical profile;
 *         MLOPS_E_NOMEM (the profile is then unchanged).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_add(mlops_drift_profile *p, const double *values,
                                               size_t n);

/**
 * Add categories to a categorical profile.
 *
 * @param[in] p       Categorical profile.
 * @param[in] values  UTF-8 strings; a NULL entry counts as missing. Copied.
 * @param[in] n       Number of values.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL, a numeric profile, a string
 *         over 1024 bytes or invalid UTF-8 (nothing is added then);
 *         MLOPS_E_NOMEM.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_add_strings(mlops_drift_profile *p,
                                                       const char *const *values, size_t n);

/**
 * Count missing values (empty CSV cells, NULLs) in any profile.
 *
 * @param[in] p  Profile.
 * @param[in] n  Number of missing values.
 * @return MLOPS_OK; MLOPS_E_INVALID.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_add_missing(mlops_drift_profile *p, uint64_t n);

/**
 * Merge another profile of the same column into this one (counts add,
 * mean and variance by Chan's parallel formula, sketches by their merge).
 *
 * @param[in] dst  Profile that receives.
 * @param[in] src  Profile merged in (unchanged).
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL, different types or different
 *         PSI edges; MLOPS_E_NOMEM (dst is then unchanged).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_merge(mlops_drift_profile *dst,
                                                 const mlops_drift_profile *src);

/**
 * Summary counts and moments of a profile.
 *
 * @param[out] out  Summary; the caller sets out->version to
 *                  MLOPS_DRIFT_PROFILE_STATS_VERSION.
 * @param[in]  p    Profile.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_summary(mlops_drift_profile_stats *out,
                                                   const mlops_drift_profile *p);

/**
 * Estimated quantile of a numeric profile (numpy 'linear' on the sketch;
 * exact while the sketch holds every value or raw values are kept).
 *
 * @param[out] out  The quantile.
 * @param[in]  p    Numeric profile.
 * @param[in]  q    Probability in [0, 1].
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if no finite value
 *         was seen; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_quantile(double *out, const mlops_drift_profile *p,
                                                    double q);

/**
 * The profile's column name.
 *
 * @param[in] p  Profile.
 * @return The name; borrowed until the profile is freed (NULL for NULL).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API const char *mlops_drift_profile_name(const mlops_drift_profile *p);

/**
 * Encode a profile as bytes (the record codec, versioned).
 *
 * @param[out] out  The bytes; release with mlops_bytes_free().
 * @param[in]  p    Profile (its PSI edges are fixed first if needed).
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_serialize(mlops_bytes *out, mlops_drift_profile *p);

/**
 * Decode a profile written by mlops_drift_profile_serialize().
 *
 * @param[out] out   The profile; NULL on failure.
 * @param[in]  env   Environment, or NULL.
 * @param[in]  data  Bytes (read, not kept).
 * @param[in]  len   Their length.
 * @return MLOPS_OK; MLOPS_E_CORRUPT for bytes that do not decode or whose
 *         contents are inconsistent; MLOPS_E_VERSION for a newer format;
 *         MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_drift_profile_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_deserialize(mlops_drift_profile **out,
                                                       mlops_env *env, const void *data,
                                                       size_t len);

/**
 * Describe a profile as JSON text (counts, moments, quantiles, edges, bins
 * or categories).
 *
 * @param[out] out  NUL-terminated JSON; release with mlops_string_free().
 * @param[in]  p    Profile.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_profile_json(char **out, mlops_drift_profile *p);

/**
 * Release a profile.
 *
 * @param[in] p  Profile, or NULL (no effect).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API void mlops_drift_profile_free(mlops_drift_profile *p);

/**
 * Compare current profiles with baseline profiles, matched by column name.
 *
 * For each baseline column with a current profile of the same name and type,
 * the report holds PSI, KS and Wasserstein (numeric) or chi-squared (categorical),
 * the JS distance, missing rates, the PSI severity and the automatic test's
 * verdict (docs/drift.md gives the choice). Baseline columns without a current
 * profile are skipped.
 *
 * @param[out] out   The report; NULL on failure.
 * @param[in]  base  Baseline profiles (edges are fixed if needed).
 * @param[in]  nb    Their number.
 * @param[in]  cur   Current profiles.
 * @param[in]  nc    Their number.
 * @param[in]  opts  Options, or NULL for defaults.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers, bad options, or a
 *         column whose types or edges differ; MLOPS_E_INSUFFICIENT if no
 *         column could be compared; MLOPS_E_VERSION; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle (on each profile).
 * @ownership Release with mlops_drift_report_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_compare(mlops_drift_report **out,
                                           mlops_drift_profile *const *base, size_t nb,
                                           mlops_drift_profile *const *cur, size_t nc,
                                           const mlops_drift_compare_options *opts);

/**
 * Number of columns in a report.
 *
 * @param[in] r  Report.
 * @return The count (0 for NULL).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API size_t mlops_drift_report_count(const mlops_drift_report *r);

/**
 * One column of a report.
 *
 * @param[out] out  Column; the caller sets out->version to MLOPS_DRIFT_COLUMN_VERSION.
 * @param[in]  r    Report.
 * @param[in]  i    Index, below mlops_drift_report_count().
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND for an index out of
 *         range; MLOPS_E_VERSION.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_report_column(mlops_drift_column *out,
                                                 const mlops_drift_report *r, size_t i);

/**
 * Dataset-level verdict of a report.
 *
 * @param[out] share_out    Share of compared columns that drifted, or NULL.
 * @param[out] dataset_out  1 if that share is at least the drift share, or NULL.
 * @param[in]  r            Report.
 * @return MLOPS_OK; MLOPS_E_INVALID.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_report_summary(double *share_out, uint32_t *dataset_out,
                                                  const mlops_drift_report *r);

/**
 * A report as JSON: {"drift_share", "dataset_drift", "columns": [...]}, each
 * column with the keys of `mlops drift compare --json` and more.
 *
 * @param[out] out  NUL-terminated JSON; release with mlops_string_free().
 * @param[in]  r    Report.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_report_json(char **out, const mlops_drift_report *r);

/**
 * Release a report.
 *
 * @param[in] r  Report, or NULL (no effect).
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API void mlops_drift_report_free(mlops_drift_report *r);

/**
 * Save baseline profiles in a store under a name, with the run and model
 * version they belong to, in one atomic batch.
 *
 * @param[in] store          Open store.
 * @param[in] name           Baseline name, UTF-8, 1 to 256 bytes.
 * @param[in] profiles       Profiles (distinct column names); edges are fixed.
 * @param[in] n              Their number, 1 to 100000.
 * @param[in] run_id         Run id, or NULL.
 * @param[in] model          Registered model name, or NULL.
 * @param[in] model_version  Model version, or 0.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_EXISTS if the name is taken
 *         (nothing is written); MLOPS_E_NOMEM; storage errors.
 * @threadsafety Any thread (on the store); one thread per profile.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_baseline_save(mlops_store *store, const char *name,
                                                 mlops_drift_profile *const *profiles,
                                                 size_t n, const char *run_id,
                                                 const char *model, int64_t model_version);

/**
 * Load the profiles of a saved baseline.
 *
 * @param[out] out       Array of profiles; release with mlops_drift_profiles_free().
 * @param[out] n_out     Their number.
 * @param[out] info_out  JSON with name, run_id, model, model_version,
 *                       created_ms and columns (release with
 *                       mlops_string_free()), or NULL.
 * @param[in]  store     Open store.
 * @param[in]  name      Baseline name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CORRUPT;
 *         MLOPS_E_VERSION; MLOPS_E_NOMEM; storage errors.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_baseline_load(mlops_drift_profile ***out, size_t *n_out,
                                                 char **info_out, mlops_store *store,
                                                 const char *name);

/**
 * Release an array of profiles returned by mlops_drift_baseline_load().
 *
 * @param[in] profiles  Array, or NULL (no effect).
 * @param[in] n         Its length.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API void mlops_drift_profiles_free(mlops_drift_profile **profiles, size_t n);

/**
 * Create a monitor over baseline profiles.
 *
 * @param[out] out       The monitor; NULL on failure.
 * @param[in]  env       Environment, or NULL (the store's when a store is given).
 * @param[in]  store     Store for the drift history, or NULL for none.
 * @param[in]  name      Monitor name, UTF-8, 1 to 256 bytes (keys the history).
 * @param[in]  baseline  Baseline profiles (copied; edges are fixed first).
 * @param[in]  n         Their number, 1 or more, distinct names.
 * @param[in]  opts      Options, or NULL for defaults.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if a numeric
 *         baseline has no finite value; MLOPS_E_VERSION; MLOPS_E_NOMEM;
 *         storage errors while reading the history's last index.
 * @threadsafety Any thread.
 * @ownership Release with mlops_drift_monitor_close(); a store given here is
 *            kept alive by the monitor.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_create(mlops_drift_monitor **out, mlops_env *env,
                                                  mlops_store *store, const char *name,
                                                  mlops_drift_profile *const *baseline,
                                                  size_t n,
                                                  const mlops_drift_compare_options *opts);

/**
 * Set a monitor parameter (MLOPS_DRIFT_PARAM_*).
 *
 * @param[in] m      Monitor.
 * @param[in] param  Parameter id.
 * @param[in] value  Value within mlops_drift_param_bounds().
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown parameter or a value out
 *         of bounds.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_set_param(mlops_drift_monitor *m, uint32_t param,
                                                     double value);

/**
 * Read a monitor parameter.
 *
 * @param[out] out    The value.
 * @param[in]  m      Monitor.
 * @param[in]  param  Parameter id.
 * @return MLOPS_OK; MLOPS_E_INVALID.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_get_param(double *out, mlops_drift_monitor *m,
                                                     uint32_t param);

/**
 * Valid range of a monitor parameter.
 *
 * @param[in]  param   Parameter id.
 * @param[out] lo_out  Smallest value.
 * @param[out] hi_out  Largest value.
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown parameter or NULL.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_param_bounds(uint32_t param, double *lo_out, double *hi_out);

/**
 * Install the alert callback (replacing any previous one).
 *
 * The callback runs without the monitor's lock held, after the window's
 * results are recorded; it must not call back into the same monitor.
 *
 * @param[in] m        Monitor.
 * @param[in] cb       Callback, or NULL to remove it.
 * @param[in] payload  Passed to cb.
 * @return MLOPS_OK; MLOPS_E_INVALID.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_set_alert(mlops_drift_monitor *m,
                                                     mlops_drift_alert_fn cb, void *payload);

/**
 * Feed numbers of a numeric column into the current window.
 *
 * A time window that has expired is closed (evaluated, recorded, alerts
 * fired) before the values are added; a count window is closed after them.
 *
 * @param[in] m       Monitor.
 * @param[in] column  Column name of a numeric baseline.
 * @param[in] values  Values (read, not kept).
 * @param[in] n       Number of values.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND for an unknown
 *         column; MLOPS_E_CALLBACK if the alert callback stopped;
 *         MLOPS_E_NOMEM; storage errors while recording a window.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_feed(mlops_drift_monitor *m, const char *column,
                                                const double *values, size_t n);

/**
 * Feed categories of a categorical column (NULL entries are missing).
 *
 * @param[in] m       Monitor.
 * @param[in] column  Column name of a categorical baseline.
 * @param[in] values  UTF-8 strings.
 * @param[in] n       Number of values.
 * @return As mlops_drift_monitor_feed().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_feed_strings(mlops_drift_monitor *m,
                                                        const char *column,
                                                        const char *const *values, size_t n);

/**
 * Evaluate the current window now.
 *
 * @param[out] out    The report (or NULL to only record and alert).
 * @param[in]  m      Monitor.
 * @param[in]  flags  MLOPS_DRIFT_EVAL_CLOSE to close the window: the result
 *                    is recorded in the history, alerts fire and a new
 *                    window starts. Without it nothing is recorded.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_INSUFFICIENT if no column has
 *         data in the window; MLOPS_E_CALLBACK; MLOPS_E_NOMEM; storage errors.
 * @threadsafety Any thread.
 * @ownership Release the report with mlops_drift_report_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_monitor_evaluate(mlops_drift_report **out,
                                                    mlops_drift_monitor *m, uint32_t flags);

/**
 * Number of windows closed so far by this handle (the next window's index
 * is this plus the windows already in the store's history).
 *
 * @param[in] m  Monitor.
 * @return The count (0 for NULL).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API int64_t mlops_drift_monitor_windows(mlops_drift_monitor *m);

/**
 * Memory the monitor holds (baselines and current window), in bytes.
 *
 * @param[in] m  Monitor.
 * @return Bytes (0 for NULL).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API uint64_t mlops_drift_monitor_memory(mlops_drift_monitor *m);

/**
 * Release a monitor (the open window is dropped, not recorded).
 *
 * @param[in] m  Monitor, or NULL (no effect).
 * @threadsafety Not concurrent with other calls on the same monitor.
 * @since 1.0
 */
MLOPS_API void mlops_drift_monitor_close(mlops_drift_monitor *m);

/**
 * Read a monitor's drift history as JSON: an array of windows, oldest
 * first, each {"window", "time_ms", "drift_share", "dataset_drift",
 * "columns": [{"name", "type", "test", "score", "psi", "drifted", "severity"}]}.
 *
 * @param[out] out      JSON text; release with mlops_string_free().
 * @param[in]  store    Open store.
 * @param[in]  monitor  Monitor name.
 * @param[in]  limit    Most recent windows to return; 0: all.
 * @return MLOPS_OK (an empty array if there is no history);
 *         MLOPS_E_INVALID; MLOPS_E_CORRUPT; MLOPS_E_NOMEM; storage errors.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_drift_history_json(char **out, mlops_store *store,
                                                const char *monitor, uint64_t limit);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_DRIFT_H */

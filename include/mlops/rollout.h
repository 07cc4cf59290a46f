/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_ROLLOUT_H
#define MLOPS_ROLLOUT_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file rollout.h
 * @brief Rollouts and A/B tests: sticky assignment, canary and shadow stages, triggers, statistics.
 *
 * Thread rule: the hashing and statistics functions are pure and may be
 * called from any thread. An experiment may be assigned from any thread once
 * it is built; building it (mlops_ab_experiment_force()) is one thread per
 * handle. A rollout's route and record calls may come from any thread at
 * once and take no lock; its control calls (check, advance, rollback,
 * flush) serialize on a mutex inside the handle.
 *
 * The assignment algorithm and its test vectors are in docs/rollout.md.
 */

MLOPS_BEGIN_DECL

/** @defgroup ab Sticky assignment
 * @{ */

/** Hash mode: XXH3-64 of the unit with the seed's XXH3 as the hash seed (the default). */
#define MLOPS_AB_HASH_XXH3 1
/** Hash mode: GrowthBook's hash version 1 (FNV-1a 32 over UTF-16, value + seed, mod 1000). */
#define MLOPS_AB_HASH_GROWTHBOOK_V1 2
/** Hash mode: GrowthBook's hash version 2 (FNV-1a 32 twice, seed + value, mod 10000). */
#define MLOPS_AB_HASH_GROWTHBOOK_V2 3

/** mlops_ab_experiment_assign(): the unit is outside the experiment (coverage or namespace). */
#define MLOPS_AB_NOT_IN_EXPERIMENT (-1)
/** mlops_ab_experiment_assign(): the unit is in the holdout group. */
#define MLOPS_AB_HOLDOUT (-2)

/** Most variants an experiment may have. */
#define MLOPS_AB_MAX_VARIANTS 64

/**
 * Hash a unit id with a seed into a number in [0, 1).
 *
 * @param[out] out        The hash, in [0, 1).
 * @param[in]  mode       MLOPS_AB_HASH_XXH3, MLOPS_AB_HASH_GROWTHBOOK_V1 or _V2.
 * @param[in]  seed       Seed (the experiment key or salt), UTF-8, NUL-terminated.
 * @param[in]  value      The unit id; UTF-8 for the GrowthBook modes, any bytes for XXH3.
 * @param[in]  value_len  Length of @p value in bytes.
 * @return MLOPS_OK; MLOPS_E_INVALID for a NULL pointer, an unknown mode or (GrowthBook
 *         modes) text that is not UTF-8.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_hash(double *out, uint32_t mode, const char *seed,
                                     const void *value, size_t value_len);

/**
 * GrowthBook's getBucketRanges: variant ranges from a coverage and weights.
 *
 * Reproduces the SDK exactly, including its fallbacks: coverage is clamped to
 * [0, 1]; weights that are missing, of the wrong count or that sum outside
 * [0.99, 1.01] become equal weights. Variant i gets [start_i, start_i + coverage * w_i)
 * where start_i is the sum of the weights before it.
 *
 * @param[out] ranges_out  2 * @p n doubles: start and end of each variant.
 * @param[in]  n           Number of variants, 1 to MLOPS_AB_MAX_VARIANTS.
 * @param[in]  coverage    Share of units included.
 * @param[in]  weights     Weights, or NULL for equal weights.
 * @param[in]  n_weights   Number of weights (ignored when @p weights is NULL).
 * @return MLOPS_OK; MLOPS_E_INVALID for a NULL output or @p n out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_bucket_ranges(double *ranges_out, uint32_t n, double coverage,
                                              const double *weights, uint32_t n_weights);

/**
 * GrowthBook's chooseVariation: the first range [start, end) that holds @p x.
 *
 * @param[in] x       A hash in [0, 1).
 * @param[in] ranges  2 * @p n doubles from mlops_ab_bucket_ranges().
 * @param[in] n       Number of ranges.
 * @return The variant index, or -1 if no range holds @p x (or @p ranges is NULL).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API int32_t mlops_ab_choose_variation(double x, const double *ranges, uint32_t n);

/**
 * GrowthBook's inNamespace: is the unit's namespace hash in [start, end)?
 *
 * The hash is GrowthBook version 1 of the unit with the seed "__" + namespace id.
 *
 * @param[out] in_out        1 if inside, 0 if not.
 * @param[in]  unit          Unit id, UTF-8.
 * @param[in]  unit_len      Its length in bytes.
 * @param[in]  namespace_id  Namespace id, UTF-8.
 * @param[in]  start         Start of the experiment's namespace range.
 * @param[in]  end           End of the range (exclusive).
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers or text that is not UTF-8.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_in_namespace(int *in_out, const void *unit, size_t unit_len,
                                             const char *namespace_id, double start, double end);

/** An experiment's assignment rule: variants, weights, coverage, namespace, holdout, allow-list. */
typedef struct mlops_ab_experiment mlops_ab_experiment;

/** Options for mlops_ab_experiment_create(). */
typedef struct mlops_ab_experiment_options {
    uint32_t version;           /**< MLOPS_AB_EXPERIMENT_OPTIONS_VERSION */
    uint32_t hash_mode;         /**< MLOPS_AB_HASH_*; 0: MLOPS_AB_HASH_XXH3 */
    const char *seed;           /**< hash seed (salt); NULL: the experiment key */
    uint32_t n_variants;        /**< 2 to MLOPS_AB_MAX_VARIANTS; 0: 2 */
    const double *weights;      /**< n_variants weights, each >= 0, summing to 1 within 1e-9;
                                     NULL: equal weights */
    double coverage;            /**< share of units in the experiment, (0, 1]; 0: 1 */
    const char *namespace_id;   /**< mutually exclusive group; NULL: none */
    double namespace_start;     /**< the experiment's range of the namespace, [start, end) */
    double namespace_end;       /**< 0 with a namespace: 1 */
    double holdout;             /**< share of units held out of the experiment, [0, 1) */
    const char *holdout_seed;   /**< NULL: "holdout" (one holdout shared by experiments) */
    /* pre-registration: the plan recorded before the start */
    const char *primary_metric; /**< NULL: none recorded */
    const char *guardrails;     /**< comma-separated guardrail metric names, or NULL */
    double alpha;               /**< 0: 0.05 */
    double power;               /**< 0: 0.8 */
    double baseline;            /**< baseline conversion rate of the primary metric, 0: none */
    double mde;                 /**< minimum detectable effect (absolute, or relative with
                                     relative_mde), 0: none */
    uint32_t relative_mde;      /**< non-zero: mde is relative to the baseline */
    uint32_t min_runtime_days;  /**< rounded up to whole weeks; 0: 7 */
    /* new fields go here, below all others */
} mlops_ab_experiment_options;

/** Current version of mlops_ab_experiment_options. */
#define MLOPS_AB_EXPERIMENT_OPTIONS_VERSION 1
/** Static initializer for mlops_ab_experiment_options. */
#define MLOPS_AB_EXPERIMENT_OPTIONS_INIT {MLOPS_AB_EXPERIMENT_OPTIONS_VERSION}

/**
 * Fill experiment options with the defaults of a version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_AB_EXPERIMENT_OPTIONS_VERSION (or an older version).
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL; MLOPS_E_VERSION for an unknown version.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_options_init(mlops_ab_experiment_options *opts,
                                                     uint32_t version);

/**
 * Make an experiment's assignment rule in memory.
 *
 * @param[out] out   The experiment; NULL on failure. Free with mlops_ab_experiment_free().
 * @param[in]  env   Environment, or NULL for the defaults.
 * @param[in]  key   Experiment key, UTF-8, 1 to 200 bytes, no control characters. Copied.
 * @param[in]  opts  Options, or NULL for the defaults. Strings and weights are copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad key, weights that do not sum to 1, a negative
 *         or NaN weight, a coverage, holdout or namespace range outside [0, 1], an
 *         unknown hash mode, or a plan (alpha, power, mde) out of range; MLOPS_E_VERSION;
 *         MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_create(mlops_ab_experiment **out, mlops_env *env,
                                               const char *key,
                                               const mlops_ab_experiment_options *opts);

/**
 * Force a unit into a variant (an allow-list entry); it bypasses holdout and coverage.
 *
 * @param[in] exp      Experiment.
 * @param[in] unit     Unit id bytes. Copied.
 * @param[in] unit_len Length, 1 to 1024 bytes.
 * @param[in] variant  Variant index, 0 to n_variants - 1.
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown variant or a bad unit; MLOPS_E_NOMEM.
 * @threadsafety One thread per handle, and not concurrent with assignment.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_force(mlops_ab_experiment *exp, const void *unit,
                                              size_t unit_len, int32_t variant);

/**
 * The variant of a unit: forced, else holdout, namespace, coverage, then weights.
 *
 * @param[out] variant_out  Variant index, or MLOPS_AB_NOT_IN_EXPERIMENT or MLOPS_AB_HOLDOUT.
 * @param[out] bucket_out   The unit's hash in [0, 1), or NULL.
 * @param[in]  exp          Experiment.
 * @param[in]  unit         Unit id bytes (UTF-8 in the GrowthBook modes).
 * @param[in]  unit_len     Length, 1 to 1024 bytes.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers or an empty, too long or (GrowthBook
 *         modes) non-UTF-8 unit.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_assign(int32_t *variant_out, double *bucket_out,
                                               const mlops_ab_experiment *exp, const void *unit,
                                               size_t unit_len);

/**
 * Per-variant sample size of the pre-registered plan (0 if no baseline and mde were given).
 *
 * @param[in] exp  Experiment.
 * @return Units needed in each variant, rounded up.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API uint64_t mlops_ab_experiment_planned_units(const mlops_ab_experiment *exp);

/**
 * Store an experiment (with its plan and start time) under its key.
 *
 * The start time is the environment clock's now. An experiment in a namespace
 * is refused if its range overlaps another stored experiment of that namespace.
 *
 * @param[in] exp    Experiment.
 * @param[in] store  Open store.
 * @return MLOPS_OK; MLOPS_E_EXISTS if an experiment with that key is stored;
 *         MLOPS_E_CONFLICT for an overlapping namespace range; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_save(const mlops_ab_experiment *exp, mlops_store *store);

/**
 * Load a stored experiment.
 *
 * @param[out] out    The experiment; NULL on failure. Free with mlops_ab_experiment_free().
 * @param[in]  store  Open store (its env is used).
 * @param[in]  key    Experiment key.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID for a bad key; MLOPS_E_CORRUPT;
 *         MLOPS_E_VERSION for a record from a newer library; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_load(mlops_ab_experiment **out, mlops_store *store,
                                             const char *key);

/**
 * The experiment's definition and plan as a JSON object.
 *
 * @param[out] json_out  NUL-terminated JSON; free with mlops_string_free() and the
 *                       experiment's env.
 * @param[in]  exp       Experiment.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_experiment_json(char **json_out, const mlops_ab_experiment *exp);

/**
 * Release an experiment. NULL is allowed.
 *
 * @param[in] exp  Experiment.
 * @threadsafety One thread per handle.
 * @since 1.0
 */
MLOPS_API void mlops_ab_experiment_free(mlops_ab_experiment *exp);

/** @} */

/** @defgroup abstats A/B statistics
 * @{ */

/**
 * Cohen's h for two proportions: 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)).
 *
 * Agrees with statsmodels' proportion_effectsize(p2, p1).
 *
 * @param[out] out  The effect size.
 * @param[in]  p1   Baseline proportion, [0, 1].
 * @param[in]  p2   Treatment proportion, [0, 1].
 * @return MLOPS_OK; MLOPS_E_INVALID for a NULL output or a proportion outside [0, 1].
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_effect_size_proportions(double *out, double p1, double p2);

/**
 * Power of a two-sided z-test (statsmodels NormalIndPower().power).
 *
 * @param[out] out     Power in [0, 1].
 * @param[in]  effect  Standardized effect size (non-zero).
 * @param[in]  nobs1   Units in the first group, > 0.
 * @param[in]  alpha   Significance level, (0, 1).
 * @param[in]  ratio   nobs2 / nobs1, > 0.
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_power_normal(double *out, double effect, double nobs1,
                                             double alpha, double ratio);

/**
 * Units in the first group for a two-sided z-test (NormalIndPower().solve_power).
 *
 * @param[out] out     nobs1 (not rounded).
 * @param[in]  effect  Standardized effect size (non-zero, finite).
 * @param[in]  alpha   Significance level, (0, 1).
 * @param[in]  power   Target power, (alpha, 1).
 * @param[in]  ratio   nobs2 / nobs1, > 0.
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_sample_size_normal(double *out, double effect, double alpha,
                                                   double power, double ratio);

/**
 * Power of a two-sided two-sample t-test (statsmodels TTestIndPower().power).
 *
 * @param[out] out     Power in [0, 1].
 * @param[in]  effect  Cohen's d (non-zero).
 * @param[in]  nobs1   Units in the first group, >= 2.
 * @param[in]  alpha   Significance level, (0, 1).
 * @param[in]  ratio   nobs2 / nobs1, > 0.
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_power_ttest(double *out, double effect, double nobs1,
                                            double alpha, double ratio);

/**
 * Units in the first group for a two-sided t-test (TTestIndPower().solve_power).
 *
 * @param[out] out     nobs1 (not rounded).
 * @param[in]  effect  Cohen's d (non-zero, finite).
 * @param[in]  alpha   Significance level, (0, 1).
 * @param[in]  power   Target power, (alpha, 1).
 * @param[in]  ratio   nobs2 / nobs1, > 0.
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_sample_size_ttest(double *out, double effect, double alpha,
                                                  double power, double ratio);

/**
 * Per-variant units to detect a change of a conversion rate (two-sided, equal split).
 *
 * The treatment rate is baseline + mde, or baseline * (1 + mde) if @p relative;
 * the effect is proportion_effectsize and the size NormalIndPower's, rounded up.
 *
 * @param[out] per_variant_out  Units per variant.
 * @param[in]  baseline         Baseline rate, (0, 1).
 * @param[in]  mde              Minimum detectable effect, non-zero; the treatment rate
 *                              must stay in (0, 1).
 * @param[in]  relative         Non-zero: @p mde is relative.
 * @param[in]  alpha            Significance level, (0, 1).
 * @param[in]  power            Target power, (alpha, 1).
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_sample_size_proportions(uint64_t *per_variant_out,
                                                        double baseline, double mde,
                                                        uint32_t relative, double alpha,
                                                        double power);

/**
 * Two-proportion z-test of treatment against control, with a Wald interval.
 *
 * z and p agree with statsmodels proportions_ztest([conv_t, conv_c], [n_t, n_c])
 * (pooled variance); the interval of p_t - p_c with confint_proportions_2indep
 * (method "wald", compare "diff").
 *
 * @param[out] z_out        z statistic.
 * @param[out] p_out        Two-sided p-value.
 * @param[out] ci_low_out   Lower end of the 1 - alpha interval of p_t - p_c.
 * @param[out] ci_high_out  Upper end.
 * @param[in]  conv_t       Treatment conversions, <= n_t.
 * @param[in]  n_t          Treatment units, > 0.
 * @param[in]  conv_c       Control conversions, <= n_c.
 * @param[in]  n_c          Control units, > 0.
 * @param[in]  alpha        (0, 1).
 * @return MLOPS_OK; MLOPS_E_INVALID for counts out of range; MLOPS_E_INSUFFICIENT when
 *         both groups are all 0 or all converted (no variance).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_ztest_proportions(double *z_out, double *p_out,
                                                  double *ci_low_out, double *ci_high_out,
                                                  uint64_t conv_t, uint64_t n_t,
                                                  uint64_t conv_c, uint64_t n_c, double alpha);

/**
 * Welch's t-test of treatment against control from summary statistics.
 *
 * Agrees with scipy.stats.ttest_ind(t, c, equal_var=False); the interval of
 * mean_t - mean_c with statsmodels CompareMeans.tconfint_diff(usevar="unequal").
 *
 * @param[out] t_out        t statistic.
 * @param[out] df_out       Welch-Satterthwaite degrees of freedom.
 * @param[out] p_out        Two-sided p-value.
 * @param[out] ci_low_out   Lower end of the 1 - alpha interval.
 * @param[out] ci_high_out  Upper end.
 * @param[in]  mean_t       Treatment mean.
 * @param[in]  var_t        Treatment sample variance (ddof 1), >= 0.
 * @param[in]  n_t          Treatment units, >= 2.
 * @param[in]  mean_c       Control mean.
 * @param[in]  var_c        Control sample variance, >= 0.
 * @param[in]  n_c          Control units, >= 2.
 * @param[in]  alpha        (0, 1).
 * @return MLOPS_OK; MLOPS_E_INVALID for NaN or out-of-range input; MLOPS_E_INSUFFICIENT
 *         for fewer than 2 units in a group or zero variance in both.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_welch_ttest(double *t_out, double *df_out, double *p_out,
                                            double *ci_low_out, double *ci_high_out,
                                            double mean_t, double var_t, double n_t,
                                            double mean_c, double var_c, double n_c,
                                            double alpha);

/**
 * Sample-ratio-mismatch check: chi-squared goodness of fit of observed units to the plan.
 *
 * Agrees with scipy.stats.chisquare(observed, f_exp = total * planned). GrowthBook
 * flags a mismatch at p < 0.001, which invalidates the experiment.
 *
 * @param[out] chi2_out  The statistic.
 * @param[out] p_out     p-value (k - 1 degrees of freedom).
 * @param[in]  observed  Units per variant.
 * @param[in]  planned   Planned shares, each > 0, summing to 1 within 1e-9.
 * @param[in]  k         Variants, 2 to MLOPS_AB_MAX_VARIANTS.
 * @return MLOPS_OK; MLOPS_E_INVALID for bad shares; MLOPS_E_INSUFFICIENT for no units.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_srm(double *chi2_out, double *p_out, const uint64_t *observed,
                                    const double *planned, uint32_t k);

/**
 * Always-valid p-value of the mixture SPRT with a normal mixture (Johari et al.).
 *
 * With the effect estimate theta (difference of means), its variance V and the
 * mixing variance tau2, Lambda = sqrt(V / (V + tau2)) * exp(tau2 theta^2 / (2 V (V + tau2)))
 * and the p-value is min(prev_p, 1 / Lambda). Call it after every look, passing
 * the previous result; the running minimum stays valid under continuous peeking.
 *
 * @param[out] p_out   The always-valid p-value, in (0, 1].
 * @param[in]  effect  Effect estimate (treatment minus control), finite.
 * @param[in]  var     Variance of the estimate, > 0.
 * @param[in]  tau2    Mixing variance, > 0 (the square of a plausible effect).
 * @param[in]  prev_p  The previous p-value; 1 at the first look.
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range or NaN.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_msprt(double *p_out, double effect, double var, double tau2,
                                      double prev_p);

/**
 * Half-width of GrowthBook's asymptotic confidence sequence (Waudby-Smith et al.).
 *
 * halfwidth = sqrt(var * n) * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * ln(sqrt(n rho^2 + 1) / alpha))
 * with rho = sqrt((-2 ln alpha + ln(-2 ln alpha + 1)) / tuning), which makes the
 * sequence tightest at n = tuning units.
 *
 * @param[out] out     Half-width of the interval around the effect.
 * @param[in]  var     Variance of the effect estimate, >= 0.
 * @param[in]  n       Units so far (both arms), > 0.
 * @param[in]  alpha   (0, 1).
 * @param[in]  tuning  Tuning sample size, > 0 (GrowthBook's default is 5000).
 * @return MLOPS_OK; MLOPS_E_INVALID for an argument out of range.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_cs_halfwidth(double *out, double var, double n, double alpha,
                                             double tuning);

/** Summary of one variant for mlops_ab_analyze(). */
typedef struct mlops_ab_variant_stats {
    const char *name; /**< variant name, UTF-8 */
    uint64_t units;   /**< units assigned */
    double sum;       /**< conversions (binary metric) or sum of the metric */
    double sum_sq;    /**< sum of squares of the metric; ignored for a binary metric */
} mlops_ab_variant_stats;

/** mlops_ab_analyze(): binary metric (sum = conversions). */
#define MLOPS_AB_METRIC_BINARY 1
/** mlops_ab_analyze(): continuous metric (sum and sum of squares). */
#define MLOPS_AB_METRIC_CONTINUOUS 2

/** Options for mlops_ab_analyze(). */
typedef struct mlops_ab_analyze_options {
    uint32_t version;         /**< MLOPS_AB_ANALYZE_OPTIONS_VERSION */
    uint32_t metric;          /**< MLOPS_AB_METRIC_*; 0: binary */
    double alpha;             /**< 0: 0.05 */
    const double *planned;    /**< planned shares per variant; NULL: equal */
    double tau2;              /**< mSPRT mixing variance; 0: the squared effect the plan's mde
                                   implies, else (0.1 * control mean)^2 */
    double cs_tuning;         /**< confidence-sequence tuning size; 0: 5000 */
    const mlops_ab_experiment *plan; /**< pre-registered experiment, or NULL */
    int64_t now_ms;           /**< the time of the analysis; 0: the plan env's clock */
    /* new fields go here, below all others */
} mlops_ab_analyze_options;

/** Current version of mlops_ab_analyze_options. */
#define MLOPS_AB_ANALYZE_OPTIONS_VERSION 1
/** Static initializer for mlops_ab_analyze_options. */
#define MLOPS_AB_ANALYZE_OPTIONS_INIT {MLOPS_AB_ANALYZE_OPTIONS_VERSION}

/**
 * Fill analyze options with the defaults of a version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_AB_ANALYZE_OPTIONS_VERSION (or older).
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_analyze_options_init(mlops_ab_analyze_options *opts,
                                                     uint32_t version);

/**
 * Analyze an experiment: per-variant rates, effect, interval, p-value, SRM, sequential p.
 *
 * Variant 0 is the control. Each other variant is compared with it: a z-test for a
 * binary metric, Welch's t-test for a continuous one, the mSPRT always-valid p-value
 * and the asymptotic confidence sequence. The sample-ratio check runs over all
 * variants (alert at p < 0.001 invalidates the result). With a pre-registered plan,
 * the fixed-horizon verdict is refused until every variant has the planned units
 * and the minimum runtime has passed; only the sequential test or an SRM alert can
 * stop the experiment earlier. The result is a JSON object (see docs/ab-testing.md).
 *
 * @param[out] json_out  NUL-terminated JSON; free with mlops_string_free(env, ...).
 * @param[in]  env       Environment for the allocation, or NULL.
 * @param[in]  variants  Variant summaries, control first.
 * @param[in]  n         2 to MLOPS_AB_MAX_VARIANTS.
 * @param[in]  opts      Options, or NULL.
 * @return MLOPS_OK; MLOPS_E_INVALID for negative, NaN or inconsistent sums (conversions
 *         above units), bad names or options; MLOPS_E_INSUFFICIENT for a variant without
 *         units; MLOPS_E_VERSION; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_ab_analyze(char **json_out, mlops_env *env,
                                        const mlops_ab_variant_stats *variants, uint32_t n,
                                        const mlops_ab_analyze_options *opts);

/** @} */

/** @defgroup rollout Rollouts
 * @{ */

/** A canary or shadow rollout of a challenger model version against the champion. */
typedef struct mlops_rollout mlops_rollout;

/** Route result: the champion serves. */
#define MLOPS_ROLLOUT_ARM_CHAMPION 0u
/** Route result: the challenger serves. */
#define MLOPS_ROLLOUT_ARM_CHALLENGER 1u
/** Route flag: the champion serves and the host also runs the challenger in shadow. */
#define MLOPS_ROLLOUT_ROUTE_SHADOW 0x100u

/** Outcome flag for mlops_rollout_record(): the request failed. */
#define MLOPS_ROLLOUT_OUTCOME_ERROR 1u
/** Outcome flag for mlops_rollout_record(): @p metric carries a business metric value. */
#define MLOPS_ROLLOUT_OUTCOME_METRIC 2u

/** Rollout state: shadowing or ramping the challenger. */
#define MLOPS_ROLLOUT_RUNNING 1u
/** Rollout state: finished, the challenger serves everything (alias moved to it). */
#define MLOPS_ROLLOUT_PROMOTED 2u
/** Rollout state: a trigger or an operator rolled back; the champion serves everything. */
#define MLOPS_ROLLOUT_ROLLED_BACK 3u

/** Relative error of the latency sketch: a quantile is within 1% of a true sample value. */
#define MLOPS_ROLLOUT_SKETCH_RELATIVE_ERROR 0.01

/** Options for mlops_rollout_create(). Shares are fractions of traffic. */
typedef struct mlops_rollout_options {
    uint32_t version;            /**< MLOPS_ROLLOUT_OPTIONS_VERSION */
    int64_t champion;            /**< champion model version (> 0), unless champion_uri */
    int64_t challenger;          /**< challenger model version (> 0), unless challenger_uri */
    const char *model;           /**< registry model name; NULL: versions are plain numbers */
    const char *alias;           /**< registry alias moved on promotion and rollback, or NULL */
    const char *champion_uri;    /**< "models:/name@alias" etc., resolved once at create */
    const char *challenger_uri;  /**< as champion_uri */
    const double *stages;        /**< canary shares, increasing, in (0, 1], the last 1;
                                      NULL: 0.01, 0.05, 0.10, 0.25, 0.50, 1 */
    uint32_t n_stages;           /**< entries in stages, 1 to 32 */
    uint32_t shadow;             /**< non-zero: start with a shadow stage before the canary */
    uint64_t min_requests;       /**< requests a stage must see before it advances; 0: 1000 */
    int64_t min_stage_ms;        /**< time a stage must last before it advances; 0: 60000 */
    int64_t check_interval_ms;   /**< a check counts only this long after the last one; 0: 60000 */
    uint32_t failure_threshold;  /**< failed checks before rollback (Flagger's threshold); 0: 1 */
    uint64_t min_trigger_requests; /**< challenger requests in the stage before triggers
                                        are evaluated; 0: 100 */
    double max_error_rate;       /**< trigger: challenger error rate above this; 0: off */
    double max_p99_ms;           /**< trigger: challenger p99 latency above this; 0: off */
    double max_metric_drop;      /**< trigger: metric worse than the champion's by more than
                                      this share (0.05 = 5%), significantly; 0: off */
    double metric_alpha;         /**< significance of the metric trigger; 0: 0.05 */
    uint32_t metric_lower_is_better; /**< non-zero: a higher metric is worse */
    double min_agreement;        /**< shadow stage: agreement share needed to advance; 0: 0.99 */
    /* new fields go here, below all others */
} mlops_rollout_options;

/** Current version of mlops_rollout_options. */
#define MLOPS_ROLLOUT_OPTIONS_VERSION 1
/** Static initializer for mlops_rollout_options. */
#define MLOPS_ROLLOUT_OPTIONS_INIT {MLOPS_ROLLOUT_OPTIONS_VERSION}

/**
 * Fill rollout options with the defaults of a version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_ROLLOUT_OPTIONS_VERSION (or older).
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_options_init(mlops_rollout_options *opts,
                                                  uint32_t version);

/**
 * Define and start a rollout, stored under its name.
 *
 * Triggers and stages are fixed here, before any traffic. With a model (and the
 * registry module built in), version URIs are resolved through the registry and
 * the alias is moved on promotion and on rollback.
 *
 * @param[out] out    The rollout; NULL on failure. Close with mlops_rollout_close().
 * @param[in]  store  Open store; the rollout keeps it alive.
 * @param[in]  name   Rollout name, UTF-8, 1 to 200 bytes, no control characters.
 * @param[in]  opts   Options (versions and triggers); NULL is refused.
 * @return MLOPS_OK; MLOPS_E_INVALID for bad options (stages not increasing, a share
 *         outside (0, 1], a negative or NaN threshold, equal versions); MLOPS_E_EXISTS
 *         if a rollout of that name is stored; MLOPS_E_NOTFOUND if a URI resolves to
 *         nothing; MLOPS_E_UNSUPPORTED for URIs without the registry; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_create(mlops_rollout **out, mlops_store *store,
                                            const char *name,
                                            const mlops_rollout_options *opts);

/**
 * Open a stored rollout, with the outcomes flushed so far.
 *
 * @param[out] out    The rollout; NULL on failure.
 * @param[in]  store  Open store.
 * @param[in]  name   Rollout name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CORRUPT; MLOPS_E_VERSION;
 *         a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_open(mlops_rollout **out, mlops_store *store,
                                          const char *name);

/**
 * Pick the model version that serves a request (sticky by unit id).
 *
 * A unit is in the challenger's share when its XXH3 bucket is below the stage's
 * share, so raising the share only ever adds units. Lock-free: a few atomic loads
 * and one hash.
 *
 * @param[out] route_out    MLOPS_ROLLOUT_ARM_CHAMPION or _CHALLENGER, possibly with
 *                          MLOPS_ROLLOUT_ROUTE_SHADOW.
 * @param[out] version_out  The serving model version, or NULL.
 * @param[in]  r            Rollout.
 * @param[in]  unit         Unit id bytes (user, session, device).
 * @param[in]  unit_len     Length, 1 to 1024.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL pointers or a bad length.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_route(uint32_t *route_out, int64_t *version_out,
                                           const mlops_rollout *r, const void *unit,
                                           size_t unit_len);

/**
 * Record the outcome of one request served by an arm.
 *
 * Latency goes into a mergeable logarithmic sketch (relative error
 * MLOPS_ROLLOUT_SKETCH_RELATIVE_ERROR); counts and sums are atomics.
 * In the shadow stage, record the challenger's shadow run with arm
 * MLOPS_ROLLOUT_ARM_CHALLENGER as well.
 *
 * @param[in] r           Rollout.
 * @param[in] arm         MLOPS_ROLLOUT_ARM_CHAMPION or MLOPS_ROLLOUT_ARM_CHALLENGER.
 * @param[in] latency_ms  Latency in milliseconds, finite and >= 0.
 * @param[in] flags       MLOPS_ROLLOUT_OUTCOME_* bits.
 * @param[in] metric      Business metric value, finite and >= 0 (with the METRIC flag).
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown arm, a negative or NaN latency or
 *         metric, or unknown flags (nothing is recorded).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_record(mlops_rollout *r, uint32_t arm, double latency_ms,
                                            uint32_t flags, double metric);

/**
 * Record whether the shadow challenger's output agreed with the champion's.
 *
 * @param[in] r      Rollout.
 * @param[in] agree  Non-zero if the outputs agreed.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_record_agreement(mlops_rollout *r, int agree);

/**
 * Run one check: evaluate the triggers, then roll back or advance a stage.
 *
 * A check is a failure if any trigger fires on the current stage's outcomes
 * (error rate above its limit, p99 above its limit, or the metric significantly
 * worse than the champion's by more than the allowed drop). When the failures
 * reach the threshold the rollout rolls back at once and records why. Otherwise
 * the stage advances when its minimum requests and time are met and no trigger
 * fired; after the last stage the challenger is promoted. Checks closer together
 * than the check interval only evaluate triggers that fired outright (they do not
 * count toward the threshold twice). The state and outcomes are stored.
 *
 * @param[out] state_out  MLOPS_ROLLOUT_RUNNING, _PROMOTED or _ROLLED_BACK, or NULL.
 * @param[in]  r          Rollout.
 * @return MLOPS_OK; MLOPS_E_CONFLICT if another process changed the rollout (reopen);
 *         a storage or registry status.
 * @threadsafety Any thread (serialized inside).
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_check(uint32_t *state_out, mlops_rollout *r);

/**
 * Roll back now: the champion serves everything and the alias moves back to it.
 *
 * @param[in] r       Rollout.
 * @param[in] reason  Why, UTF-8, recorded in the history. Copied.
 * @return MLOPS_OK; MLOPS_E_CONFLICT if the rollout already finished; a storage status.
 * @threadsafety Any thread (serialized inside).
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_rollback(mlops_rollout *r, const char *reason);

/**
 * Store the outcomes recorded so far (route and record never touch storage).
 *
 * @param[in] r  Rollout.
 * @return MLOPS_OK; MLOPS_E_CONFLICT if another process changed the rollout; a storage status.
 * @threadsafety Any thread (serialized inside).
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_flush(mlops_rollout *r);

/**
 * The state: MLOPS_ROLLOUT_RUNNING, _PROMOTED or _ROLLED_BACK (0 for NULL).
 *
 * @param[in] r  Rollout.
 * @return The state.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API uint32_t mlops_rollout_state(const mlops_rollout *r);

/**
 * The challenger's current share of traffic, in [0, 1].
 *
 * @param[in] r  Rollout.
 * @return The share (0 in the shadow stage and after rollback, 1 after promotion).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API double mlops_rollout_share(const mlops_rollout *r);

/**
 * The rollout's definition, state, stage and per-arm outcomes as JSON.
 *
 * @param[out] json_out  NUL-terminated JSON; free with mlops_string_free() and the
 *                       store's env.
 * @param[in]  r         Rollout.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_status_json(char **json_out, mlops_rollout *r);

/**
 * The rollout's history (created, stage advanced, failed check, rolled back,
 * promoted, with times and reasons) as a JSON array, oldest first.
 *
 * @param[out] json_out  NUL-terminated JSON; free with mlops_string_free() and the
 *                       store's env.
 * @param[in]  r         Rollout.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_CORRUPT; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_rollout_history_json(char **json_out, mlops_rollout *r);

/**
 * Close a rollout (outcomes not flushed are lost; call mlops_rollout_flush() first).
 * NULL is allowed.
 *
 * @param[in] r  Rollout.
 * @threadsafety One thread per handle: no other call on it may be running.
 * @since 1.0
 */
MLOPS_API void mlops_rollout_close(mlops_rollout *r);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_ROLLOUT_H */

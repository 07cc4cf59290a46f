/* SPDX-License-Identifier: MIT */
/* Internal A/B statistics shared by the rollout module (see mlops/rollout.h
 * for the public functions). */
#ifndef MLOPS_STATS_ABTEST_H
#define MLOPS_STATS_ABTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "mlops/common.h"

double mlops__nct_cdf(double t, double df, double nc);      /* scipy.stats.nct.cdf */
double mlops__normal_power(double effect, double nobs1, double alpha, double ratio);
double mlops__ttest_power(double effect, double nobs1, double alpha, double ratio);
/* Per-variant units for a two-sided test of baseline vs baseline + mde (rounded up). */
mlops_status mlops__ab_plan_units(uint64_t *out, double baseline, double mde, bool relative,
                                  double alpha, double power);
/* Weights finite, >= 0 and summing to 1 within 1e-9; what names them in messages. */
mlops_status mlops__ab_check_weights(const double *w, uint32_t k, const char *what);

#endif

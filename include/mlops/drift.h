/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_DRIFT_H
#define MLOPS_DRIFT_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file drift.h
 * @brief Drift monitors: profiles, PSI, KS, chi-squared, JS and Wasserstein, monitors.
 *
 * Thread rule: see each function.
 */

MLOPS_BEGIN_DECL

MLOPS_END_DECL

#endif /* MLOPS_DRIFT_H */

/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_ROLLOUT_H
#define MLOPS_ROLLOUT_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file rollout.h
 * @brief Rollouts and A/B tests: sticky assignment, canary and shadow stages, triggers, statistics.
 *
 * Thread rule: see each function.
 */

MLOPS_BEGIN_DECL

MLOPS_END_DECL

#endif /* MLOPS_ROLLOUT_H */

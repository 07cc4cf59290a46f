/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_RUN_H
#define MLOPS_RUN_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file run.h
 * @brief Experiment tracking: experiments, runs, params, metrics, tags, artifacts and search.
 *
 * Thread rule: see each function.
 */

MLOPS_BEGIN_DECL

MLOPS_END_DECL

#endif /* MLOPS_RUN_H */

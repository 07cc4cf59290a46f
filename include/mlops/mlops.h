/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_MLOPS_H
#define MLOPS_MLOPS_H

/**
 * @file mlops.h
 * @brief The whole public API of libmlops: include this one header.
 *
 * Thread rule: each included header states its own.
 */

#include "mlops/common.h"
#include "mlops/store.h"
#include "mlops/run.h"
#include "mlops/registry.h"
#include "mlops/feature.h"
#include "mlops/drift.h"
#include "mlops/rollout.h"

#endif /* MLOPS_MLOPS_H */

/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_FEATURE_H
#define MLOPS_FEATURE_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file feature.h
 * @brief Feature store: entities, feature views, point-in-time joins and the online store.
 *
 * Thread rule: see each function.
 */

MLOPS_BEGIN_DECL

MLOPS_END_DECL

#endif /* MLOPS_FEATURE_H */

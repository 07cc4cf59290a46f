/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_REGISTRY_H
#define MLOPS_REGISTRY_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file registry.h
 * @brief Model registry: registered models, versions, stages, aliases, gates, lineage and rollback.
 *
 * Thread rule: see each function.
 */

MLOPS_BEGIN_DECL

MLOPS_END_DECL

#endif /* MLOPS_REGISTRY_H */

/* SPDX-License-Identifier: MIT */
/* The rollout's binding to the model registry (mlops/registry.h). */
#include "mlops/registry.h"
#include "rollout/rollout_internal.h"

static mlops_status bind_resolve(int64_t *version_out, mlops_store *store, const char *uri)
{
    mlops_registry *reg = NULL;
    mlops_status st = mlops_registry_open(&reg, store);
    if (st == MLOPS_OK)
        st = mlops_registry_resolve(version_out, reg, uri);
    mlops_registry_close(reg);
    return st;
}

static mlops_status bind_set_alias(mlops_store *store, const char *model, const char *alias,
                                   int64_t version, const char *reason)
{
    mlops_registry *reg = NULL;
    mlops_status st = mlops_registry_open(&reg, store);
    if (st == MLOPS_OK)
        st = mlops_registry_set_alias(reg, model, alias, version, reason);
    mlops_registry_close(reg);
    return st;
}

static const mlops__rollout_registry_ops bind_ops = {bind_resolve, bind_set_alias};

const mlops__rollout_registry_ops *mlops__rollout_default_registry(void)
{
    return &bind_ops;
}

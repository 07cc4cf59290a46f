/* SPDX-License-Identifier: MIT */
/* Built when the registry module is not part of the library: rollouts then
 * take plain version numbers and refuse a model binding. */
#include "rollout/rollout_internal.h"

const mlops__rollout_registry_ops *mlops__rollout_default_registry(void)
{
    return NULL;
}

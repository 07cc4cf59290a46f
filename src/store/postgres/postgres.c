/* SPDX-License-Identifier: MIT */
#include "store/store_internal.h"

mlops_status mlops__postgres_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                         const mlops_store_options *opts)
{
    (void)env;
    (void)opts;
    *out = NULL;
    return mlops__error(MLOPS_E_UNSUPPORTED, "the PostgreSQL backend is not built into this library");
}

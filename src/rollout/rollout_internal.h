/* SPDX-License-Identifier: MIT */
/* Internal helpers of the rollout module. */
#ifndef MLOPS_ROLLOUT_INTERNAL_H
#define MLOPS_ROLLOUT_INTERNAL_H

#include "codec/codec.h"
#include "core/core.h"
#include "mlops/rollout.h"

/* Record types of the module's stored records. */
#define MLOPS__ROLLOUT_REC_EXPERIMENT 1
#define MLOPS__ROLLOUT_REC_NSRANGE 2
#define MLOPS__ROLLOUT_REC_STATE 3
#define MLOPS__ROLLOUT_REC_EVENT 4

#define MLOPS__AB_MAX_NAME 200
#define MLOPS__AB_MAX_UNIT 1024

/* A name: UTF-8, 1..MLOPS__AB_MAX_NAME bytes, no control characters (N1-N8, N12). */
mlops_status mlops__ab_check_name(const char *name, const char *what);
/* Append "o/<kind>/" then each name as varint length + bytes (N13). */
mlops_status mlops__ab_key(mlops__buf *key, char kind, const char *a, const char *b);

/* JSON pieces appended to a buffer. */
mlops_status mlops__ab_json_str(mlops__buf *b, const char *s);
mlops_status mlops__ab_json_f64(mlops__buf *b, double v);

/* GrowthBook's FNV-1a 32 over the UTF-16 code units of a (UTF-8) then b. */
uint32_t mlops__fnv1a_utf16(const char *a, size_t alen, const char *b, size_t blen);
/* The hash in [0,1) of a unit in a mode (value validated by the caller). */
double mlops__ab_hash_unit(uint32_t mode, const char *seed, uint64_t seed64, const void *v,
                           size_t len);
/* The XXH3 mode's hash of a unit under a pre-hashed seed. */
static inline double mlops__ab_u53(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Experiment internals used by the analysis. */
int64_t mlops__ab_experiment_start_ms(const mlops_ab_experiment *exp);
int64_t mlops__ab_experiment_min_runtime_ms(const mlops_ab_experiment *exp);
double mlops__ab_experiment_alpha(const mlops_ab_experiment *exp);
double mlops__ab_experiment_mde_effect(const mlops_ab_experiment *exp); /* absolute, 0: none */
const mlops_env *mlops__ab_experiment_env(const mlops_ab_experiment *exp);

/* The registry binding: resolve a "models:/..." URI to a version and move an
 * alias. The default comes from the registry module when it is built in;
 * tests pass their own. */
typedef struct mlops__rollout_registry_ops {
    mlops_status (*resolve)(int64_t *version_out, mlops_store *store, const char *uri);
    mlops_status (*set_alias)(mlops_store *store, const char *model, const char *alias,
                              int64_t version, const char *reason);
} mlops__rollout_registry_ops;

/* NULL when the library has no registry. */
const mlops__rollout_registry_ops *mlops__rollout_default_registry(void);
mlops_status mlops__rollout_create_with(mlops_rollout **out, mlops_store *store,
                                        const char *name, const mlops_rollout_options *opts,
                                        const mlops__rollout_registry_ops *reg);
mlops_status mlops__rollout_open_with(mlops_rollout **out, mlops_store *store, const char *name,
                                      const mlops__rollout_registry_ops *reg);

#endif

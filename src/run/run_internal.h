/* SPDX-License-Identifier: MIT */
/* Internal interface of the tracking module: key layout, records and
 * validation shared by run.c, search.c and mlflow.c.
 *
 * Key layout (prefix "t/"; lp(x) is a varint length then the bytes, so a
 * user name can never run into the next key component):
 *   t/c/e                       next experiment id (decimal text record)
 *   t/e/lp(exp id)              experiment record
 *   t/n/lp(name)                experiment name -> id
 *   t/x/lp(exp id)<run id>      runs of an experiment (empty value)
 *   t/s/<run id>/i              the run document: info, params, tags, the
 *                               latest point of every metric and the dataset
 *                               inputs, rewritten (compare-and-set on its old
 *                               bytes) by every write, so a search reads one
 *                               key per run
 *   t/h/<run id>/lp(key)<order> a chunk of metric history (order: be64 ns,
 *                               be32 writer nonce, be32 counter)
 *   t/a/<run id>/lp(path)       artifact record (blob id, size)
 */
#ifndef MLOPS_RUN_INTERNAL_H
#define MLOPS_RUN_INTERNAL_H

#include "codec/codec.h"
#include "core/core.h"
#include "mlops/run.h"
#include "store/store_internal.h"

#define RUN_REC_EXPERIMENT 1
#define RUN_REC_INFO 2
#define RUN_REC_CHUNK 4
#define RUN_REC_ARTIFACT 6
#define RUN_REC_VALUE 7
#define RUN_REC_COUNTER 8

#define RUN_MAX_KEY_CHARS 250
#define RUN_MAX_PARAM_CHARS 6000
#define RUN_MAX_TAG_CHARS 5000
#define RUN_MAX_EXP_NAME_CHARS 500
#define RUN_MAX_BATCH_METRICS 1000
#define RUN_MAX_BATCH_PARAMS 100
#define RUN_MAX_BATCH_TAGS 100
#define RUN_MAX_ARTIFACT_PATH 1000
#define RUN_MAX_SEARCH 50000

/* Key builder: a fixed buffer big enough for every key this module makes. */
typedef struct runkey {
    uint8_t b[MLOPS_STORE_MAX_KEY];
    size_t n;
} runkey;

void mlops__run_key_lit(runkey *k, const char *lit);
void mlops__run_key_lp(runkey *k, const char *s, size_t n);
void mlops__run_key_raw(runkey *k, const void *p, size_t n);
void mlops__run_key_exp(runkey *k, const char *exp_id);
void mlops__run_key_sum(runkey *k, const char *run_id, char what); /* t/s/<id>/<what> */

/* Experiment record. */
typedef struct mlops__exp {
    char *id;
    char *name;
    uint32_t lifecycle;
    int64_t created, updated;
} mlops__exp;

mlops_status mlops__run_exp_decode(mlops__exp *e, const mlops_env *env, const uint8_t *p,
                                   size_t n);
void mlops__run_exp_clear(mlops__exp *e, const mlops_env *env);
/* Read one experiment by id: OK, NOTFOUND (with a message), storage status. */
mlops_status mlops__run_exp_get(mlops__exp *e, mlops_store *store, const char *id);

/* Run info record. */
typedef struct mlops__info {
    char *exp_id;
    char *name;
    char *parent;
    char *user;
    uint32_t status, lifecycle;
    int64_t start, end;
} mlops__info;

mlops_status mlops__run_info_decode(mlops__info *info, const mlops_env *env, const uint8_t *p,
                                    size_t n);
mlops_status mlops__run_info_encode(mlops__buf *out, const mlops_env *env,
                                    const mlops__info *info);
void mlops__run_info_clear(mlops__info *info, const mlops_env *env);

/* Run document entries (nested in the info record): a varint key length,
 * the key, then the payload (param/tag: the value; metric: value bits,
 * step, timestamp as 8-byte little-endian; dataset: 16-byte hash, 8-byte rows). */
#define DOC_PARAM 10
#define DOC_TAG 11
#define DOC_METRIC 12
#define DOC_DATASET 13

mlops_status mlops__run_doc_entry(const mlops__rec_field *f, const uint8_t **key, size_t *klen,
                                  const uint8_t **rest, size_t *rlen);
/* Find the entry of a kind with a key in an encoded document. */
mlops_status mlops__run_doc_find(const uint8_t *p, size_t n, uint32_t tag, const char *key,
                                 const uint8_t **val, size_t *vlen);
void mlops__run_metric_payload(mlops_metric_value *v, const uint8_t *p);

/* Value and latest-point records. */
mlops_status mlops__run_value_decode(const uint8_t **s, size_t *n, const uint8_t *p,
                                     size_t len);

/* The MLflow order of metric points: (step, timestamp, value), NaN above all. */
int mlops__run_point_cmp(const mlops_metric_value *a, const mlops_metric_value *b);

/* Validation (messages name `what` and the offending text). */
mlops_status mlops__run_check_key(const char *what, const char *key);
mlops_status mlops__run_check_value(const char *what, const char *key, const char *value,
                                    size_t max_chars);
mlops_status mlops__run_check_exp_name(const char *name);
mlops_status mlops__run_check_artifact_path(const char *path);
mlops_status mlops__run_check_id(const char *run_id);
size_t mlops__run_utf8_chars(const char *s, size_t n);
/* Prefix this thread's last message with formatted context: "context: message". */
mlops_status mlops__run_error_wrap(mlops_status st, const char *fmt, ...) MLOPS__PRINTF(2, 3);

const char *mlops__run_status_name(uint32_t status);
uint32_t mlops__run_status_parse(const char *s); /* 0 if unknown */

/* Import support: create a run with given id/info (no system tags). */
mlops_status mlops__run_create_raw(mlops_store *store, const char *run_id,
                                   const mlops__info *info);
/* Open the run's handle without checking lifecycle (import / export). */
mlops_env *mlops__run_env(mlops_run *run);
mlops_store *mlops__run_store(mlops_run *run);
/* The default experiment "0" ("Default"), created on first use. */
mlops_status mlops__run_default_experiment(mlops_store *store);
mlops_status mlops__run_default_experiment_id(char **id_out, mlops_store *store);
/* File hashing and the system tags recorded at run start (artifact.c). */
mlops_status mlops__run_hash_file(mlops_hash128 *out, uint64_t *size_out, const mlops_env *env,
                                  const char *path);
mlops_status mlops__run_system_tags(mlops__buf *keys, mlops__buf *vals, size_t *n,
                                    const mlops_env *env, uint32_t flags);
/* Reload the run's info: CONFLICT if the run is deleted. */
mlops_status mlops__run_check_writable(mlops_run *run);

#endif

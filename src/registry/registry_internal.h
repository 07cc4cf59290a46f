/* SPDX-License-Identifier: MIT */
/* Internal parts of the model registry: records, keys, JSON output and the
 * bridge to the tracking module. */
#ifndef MLOPS_REGISTRY_INTERNAL_H
#define MLOPS_REGISTRY_INTERNAL_H

#include "codec/codec.h"
#include "core/core.h"
#include "mlops/registry.h"
#include "mlops/store.h"

struct mlops_registry {
    mlops_store *store;
    mlops_env *env;
};

/* Store keys, all under "r/":
 *   r/m/<name>                       model head (name is the whole tail)
 *   r/v/<varint len><name><be64 N>   version record
 *   r/h/<varint len><name><be64 seq> history event
 * The head key holds the name as its last and only component, so it cannot
 * collide; the others length-prefix it (N13). */
#define REG_KEY_MAX (4 + 10 + MLOPS_REGISTRY_MAX_NAME + 8)

/* Record kinds (codec record types) and their format versions. */
#define REG_REC_HEAD 1
#define REG_REC_VERSION 2
#define REG_REC_EVENT 3
#define REG_REC_TAG 10
#define REG_REC_ALIAS 12
#define REG_REC_DATASET 13
#define REG_REC_FORMAT 1

/* History event kinds. */
#define REG_EV_REGISTER 1
#define REG_EV_TRANSITION 2
#define REG_EV_ALIAS_SET 3
#define REG_EV_ALIAS_DELETE 4
#define REG_EV_VERSION_DELETE 5

typedef struct reg_tag {
    char *key;
    char *value;
} reg_tag;

typedef struct reg_vstate {
    int64_t version;
    uint32_t stage;
    int64_t stage_ms; /* when it entered its stage */
} reg_vstate;

typedef struct reg_alias {
    char *name;
    int64_t version;
} reg_alias;

/* The model head: everything a stage decision needs, guarded by one CAS. */
typedef struct reg_head {
    char *name;
    char *description;
    int64_t created_ms;
    int64_t updated_ms;
    int64_t last_version; /* highest number ever given; never goes down */
    uint64_t hist_seq;    /* last history event number */
    reg_tag *tags;
    size_t n_tags;
    reg_vstate *vers; /* live versions, ascending */
    size_t n_vers;
    reg_alias *aliases;
    size_t n_aliases;
    mlops__buf extra;       /* unknown fields from a newer writer, kept on rewrite (R6) */
    uint64_t store_version; /* of the head key when read; 0: not stored yet */
} reg_head;

typedef struct reg_dataset {
    mlops_hash128 hash;
    int64_t rows;
    char *name;
} reg_dataset;

/* A version's static facts: source, lineage, gate decision. */
typedef struct reg_version {
    char *model;
    int64_t version;
    int64_t created_ms;
    char *user;
    char *description;
    char *run_id;
    char *artifact_path;
    mlops_hash128 blob;
    uint64_t size;
    char *code_commit;
    reg_dataset *datasets;
    size_t n_datasets;
    mlops_hash128 *features;
    size_t n_features;
    char *eval_path;
    bool has_eval;
    mlops_hash128 eval_blob;
    int64_t gate_status; /* 0 none, 1 passed, -1 refused */
    int64_t gate_ms;
    char *gate_report;
    int64_t gate_baseline; /* 0: none */
    uint32_t gate_stage;
    mlops__buf extra;
    uint64_t store_version;
} reg_version;

typedef struct reg_event {
    uint64_t seq;
    int64_t time_ms;
    uint32_t kind;
    int64_t version;
    uint32_t from_stage;
    uint32_t to_stage;
    char *alias;
    int64_t prev_version;
    char *user;
    char *reason;
} reg_event;

/* ---- records (records.c) ---- */
void mlops__registry_head_free(const mlops_env *env, reg_head *h);
mlops_status mlops__registry_head_encode(mlops__buf *out, const mlops_env *env, const reg_head *h);
mlops_status mlops__registry_head_decode(reg_head *h, const mlops_env *env, const uint8_t *p,
                                         size_t n);
void mlops__registry_version_free(const mlops_env *env, reg_version *v);
mlops_status mlops__registry_version_encode(mlops__buf *out, const mlops_env *env,
                                            const reg_version *v);
mlops_status mlops__registry_version_decode(reg_version *v, const mlops_env *env,
                                            const uint8_t *p, size_t n);
void mlops__registry_event_free(const mlops_env *env, reg_event *e);
mlops_status mlops__registry_event_encode(mlops__buf *out, const mlops_env *env,
                                          const reg_event *e);
mlops_status mlops__registry_event_decode(reg_event *e, const mlops_env *env, const uint8_t *p,
                                          size_t n);

mlops_status mlops__registry_head_query(int64_t *out, int64_t *last_out, const uint8_t *p,
                                        size_t n, int kind, int64_t version, uint32_t stage,
                                        const char *alias);

size_t mlops__registry_key_head(uint8_t *out, const char *name);
size_t mlops__registry_key_prefix(uint8_t *out, char kind, const char *name);
size_t mlops__registry_key_num(uint8_t *out, char kind, const char *name, uint64_t n);

/* ---- JSON writing into a buffer (json.c) ---- */
typedef struct reg_json {
    mlops__buf *b;
    int depth;
    bool first[32];
    bool after_key;
    mlops_status st;
} reg_json;

void mlops__registry_json_init(reg_json *j, mlops__buf *b);
void mlops__registry_json_obj(reg_json *j);
void mlops__registry_json_obj_end(reg_json *j);
void mlops__registry_json_arr(reg_json *j);
void mlops__registry_json_arr_end(reg_json *j);
void mlops__registry_json_key(reg_json *j, const char *k);
void mlops__registry_json_str(reg_json *j, const char *s); /* NULL: null */
void mlops__registry_json_i64(reg_json *j, int64_t v);
void mlops__registry_json_f64(reg_json *j, double v);
void mlops__registry_json_bool(reg_json *j, bool v);
void mlops__registry_json_null(reg_json *j);
void mlops__registry_json_hash(reg_json *j, const mlops_hash128 *h);

/* ---- the tracking bridge (source.c) ---- */

/* What a run contributes to a new version. */
typedef struct reg_run_source {
    mlops_hash128 blob;
    uint64_t size;
    char *code_commit; /* NULL if the run has no commit tag */
    reg_dataset *datasets;
    size_t n_datasets;
    bool has_eval;
    mlops_hash128 eval_blob;
} reg_run_source;

mlops_status mlops__registry_run_source(reg_run_source *out, mlops_store *store,
                                        const char *run_id, const char *artifact_path,
                                        const char *eval_path);
void mlops__registry_run_source_free(const mlops_env *env, reg_run_source *s);
/* The run's latest value of a metric; NOTFOUND if never logged or the run is unknown. */
mlops_status mlops__registry_run_metric(double *out, mlops_store *store, const char *run_id,
                                        const char *key);

#endif

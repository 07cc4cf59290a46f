/* SPDX-License-Identifier: MIT */
/* Internal types of the feature store. */
#ifndef MLOPS_FEATURE_INTERNAL_H
#define MLOPS_FEATURE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/core.h"
#include "mlops/feature.h"
#include "store/store_internal.h"

/* ---- columns and tables ---- */

typedef struct mlops__fcol {
    char *name;
    uint32_t type;
    uint32_t dim;
    void *data;      /* int64_t / double / uint8_t / float[n*dim]; STRING: uint64_t offs[n+1] */
    char *sdata;     /* STRING bytes; each cell NUL-terminated */
    size_t slen;
    size_t scap;
    uint8_t *valid;  /* NULL: all present */
    size_t cap;      /* rows allocated */
} mlops__fcol;

struct mlops_feature_table {
    mlops_env *env;
    size_t n_rows;
    size_t n_cols;
    size_t cap_cols;
    mlops__fcol *cols;
    uint64_t *lines; /* source line of each row (CSV), or NULL */
};

size_t mlops__ftype_width(uint32_t type, uint32_t dim); /* bytes per row; 0 for STRING */
const char *mlops__ftype_name(uint32_t type);
bool mlops__ftype_parse(const char *s, uint32_t *type, uint32_t *dim);

mlops__fcol *mlops__table_add(mlops_feature_table *t, const char *name, uint32_t type,
                              uint32_t dim, size_t n_rows, mlops_status *st);
int mlops__table_find(const mlops_feature_table *t, const char *name);
static inline bool mlops__fcol_valid(const mlops__fcol *c, size_t row)
{
    return c->valid == NULL || c->valid[row];
}
static inline const char *mlops__fcol_str(const mlops__fcol *c, size_t row, size_t *len)
{
    const uint64_t *o = (const uint64_t *)c->data;
    if (len)
        *len = (size_t)(o[row + 1] - o[row] - 1);
    return c->sdata + o[row];
}
mlops_status mlops__fcol_push_str(const mlops_env *env, mlops__fcol *c, size_t row, const char *s,
                                  size_t n, bool valid);
mlops_status mlops__fcol_alloc_valid(const mlops_env *env, mlops__fcol *c, size_t n);
uint64_t mlops__table_line(const mlops_feature_table *t, size_t row);
/* "line" for rows read from CSV (numbered as in the file), else "row" (from 0). */
#define MLOPS__WHERE(t) ((t)->lines ? "line" : "row")

/* Convert a column to the wanted type (a copy, typed); STRING input is parsed,
 * timestamps (want_ts) as epoch seconds or RFC 3339 into microseconds. On a
 * parse error the message names the line and the column. */
mlops_status mlops__fcol_convert(mlops__fcol *out, const mlops_env *env,
                                 const mlops_feature_table *t, size_t col, uint32_t type,
                                 uint32_t dim, bool want_ts);
void mlops__fcol_free(const mlops_env *env, mlops__fcol *c);
/* Free a column from mlops__fcol_convert (a borrowed view has name NULL). */
static inline void mlops__fcol_release(const mlops_env *env, mlops__fcol *c)
{
    if (c->name != NULL)
        mlops__fcol_free(env, c);
}

bool mlops__parse_ts(const char *s, size_t n, int64_t *us);
bool mlops__parse_i64(const char *s, size_t n, int64_t *v);
bool mlops__parse_f64(const char *s, size_t n, double *v);
bool mlops__parse_bool(const char *s, size_t n, uint8_t *v);
void mlops__fmt_f64(char *buf, size_t cap, double v);

/* ---- CSV ---- */

mlops_status mlops__table_write_csv_file(const mlops_feature_table *t, FILE *f);

typedef struct mlops__csv mlops__csv;
mlops_status mlops__csv_open(mlops__csv **out, const mlops_env *env, const char *path);
/* The same on an open stream (owned from now on, also on failure); path
 * only names it in messages. */
mlops_status mlops__csv_open_stream(mlops__csv **out, const mlops_env *env, FILE *f,
                                    const char *path);
/* Read up to max_rows rows into a new STRING table (header names); *t_out
 * has 0 rows at the end of the file. */
mlops_status mlops__csv_read(mlops__csv *r, mlops_feature_table **t_out, size_t max_rows);
void mlops__csv_close(mlops__csv *r);

/* ---- definitions ---- */

typedef struct mlops__fdef_feature {
    char *name;
    uint32_t type;
    uint32_t dim;
    uint32_t transform;
    char *inputs;          /* comma-separated, or NULL */
    double *params;
    size_t n_params;
    char *function;
    int in_idx[8];         /* resolved inputs (feature indexes) */
    int n_in;
} mlops__fdef_feature;

typedef struct mlops__fdef {
    char *name;
    uint32_t version;
    uint64_t hash;
    char *entity;
    size_t n_keys;
    char *keys[MLOPS_FEATURE_MAX_KEYS];
    uint32_t key_types[MLOPS_FEATURE_MAX_KEYS];
    char *ts;
    char *created;
    int64_t ttl_us;
    size_t n_features;
    mlops__fdef_feature *features;
    char *description;
    char *tags;
    int64_t created_ms;
} mlops__fdef;

void mlops__fdef_free(const mlops_env *env, mlops__fdef *d);

/* ---- the feature store handle ---- */

typedef struct mlops__ffn {
    char *name;
    mlops_feature_fn fn;
    void *payload;
} mlops__ffn;

/* Decoded offline data of one view (all segments), shared and refcounted. */
typedef struct mlops__fdata {
    atomic_int refs;
    mlops_feature_table *t; /* columns: keys, ts, created (opt), features by name */
    uint64_t n_segments;
    uint64_t last_seq;
    int key_col[MLOPS_FEATURE_MAX_KEYS];
    int ts_col;
    int cr_col;
    _Atomic(void *) index; /* the join index, built on first use */
} mlops__fdata;

/* Release a join index (join.c). */
void mlops__fidx_free(const mlops_env *env, void *index);

typedef struct mlops__fcache {
    char *view;
    mlops__fdata *data;
} mlops__fcache;

struct mlops_feature_store {
    atomic_int refs; /* the caller's, plus one per view and online handle */
    mlops_store *store;
    mlops_env *env;
    pthread_mutex_t mu;
    mlops__ffn *fns;
    size_t n_fns;
    mlops__fcache *cache;
    size_t n_cache;
};

struct mlops_feature_view {
    mlops_feature_store *fs;
    mlops__fdef *def;
    uint64_t def_store_version; /* store version of the current-definition key when opened */
    bool current;
    char hash_hex[17];
};

mlops_feature_store *mlops__fstore_ref(mlops_feature_store *fs);

/* Keys: "f/" kind "/" varint(len) name ... */
size_t mlops__fkey(uint8_t *out, char kind, const char *name);

mlops_status mlops__fdef_load(mlops__fdef **out, uint64_t *store_ver, mlops_feature_store *fs,
                              const char *name, uint32_t version);
/* Parse "view[@vN]" into name and version (0: current). */
mlops_status mlops__fref_split_view(char *name, size_t cap, uint32_t *version, const char *s,
                                    size_t n);
int mlops__fdef_feature_index(const mlops__fdef *d, const char *name);
/* Resolve on-demand inputs; check functions are known. */
mlops_status mlops__fdef_resolve(mlops__fdef *d);

/* Load (or reuse) the decoded offline data of a view. */
mlops_status mlops__fdata_get(mlops__fdata **out, mlops_feature_store *fs, const mlops__fdef *d);
void mlops__fdata_unref(const mlops_env *env, mlops__fdata *data);

/* Find a registered function (under fs->mu by the caller, or copied out). */
bool mlops__ffn_find(mlops_feature_store *fs, const char *name, mlops_feature_fn *fn,
                     void **payload);

/* Evaluate one on-demand feature from double inputs: 0 value, 1 null, <0 status. */
int mlops__transform_eval(const mlops__fdef_feature *f, mlops_feature_fn fn, void *payload,
                          const double *in, size_t n_in, double *out);

/* Encode an entity key (typed) to bytes: per key 'i' + 8 bytes BE (sign flipped)
 * or 's' + varint len + bytes. Returns length, or 0 if it does not fit. */
size_t mlops__fkey_encode_i64(uint8_t *out, int64_t v);
size_t mlops__fkey_encode_str(uint8_t *out, size_t cap, const char *s, size_t n);

/* Latest row per key with event in [start, end]: fills rows_out (row indexes
 * into data->t), count_out. */
mlops_status mlops__flatest_rows(uint32_t **rows_out, size_t *count_out, const mlops_env *env,
                                 mlops__fdata *data, const mlops__fdef *d, int64_t start_us,
                                 int64_t end_us);

#endif

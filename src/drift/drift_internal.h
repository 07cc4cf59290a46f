/* SPDX-License-Identifier: MIT */
/* Internal shapes of the drift module. */
#ifndef MLOPS_DRIFT_INTERNAL_H
#define MLOPS_DRIFT_INTERNAL_H

#include "core/core.h"
#include "mlops/drift.h"
#include "stats/dstats.h"

#define MLOPS__DRIFT_MAX_NAME 256
#define MLOPS__DRIFT_MAX_CAT_LEN 1024
#define MLOPS__DRIFT_DEFAULT_BINS 10
#define MLOPS__DRIFT_DEFAULT_K 128
#define MLOPS__DRIFT_DEFAULT_MAXCAT 256
#define MLOPS__DRIFT_EPS 1e-4

typedef struct mlops__cat {
    char *s;
    uint32_t len;
    uint64_t c;
} mlops__cat;

struct mlops_drift_profile {
    mlops_env *env;
    char *name;
    uint32_t type;
    uint32_t bins_req;
    uint32_t max_cat;
    uint64_t keep_values;
    uint64_t count;   /* all values */
    uint64_t missing; /* NaN and explicit missing */
    uint64_t nan;
    uint64_t pinf, ninf;
    /* numeric */
    uint64_t nfinite;
    double mean, m2, min, max;
    bool edges_fixed;
    bool hist_estimated;
    double *edges;
    size_t n_edges;
    uint64_t *hist; /* n_edges + 1 bins over finite and infinite values */
    mlops__kll kll;
    double *raw; /* non-NaN values while raw_complete */
    size_t n_raw, raw_cap;
    bool raw_complete;
    /* categorical */
    mlops__cat *cats;
    size_t n_cats, cats_cap;
    uint32_t *index; /* open addressing: entry + 1, 0 empty */
    size_t index_cap;
    uint64_t other;
};

/* Validate a name (1..256 bytes of UTF-8, no NUL). */
mlops_status mlops__drift_check_name(const char *name, const char *what);
/* Fix the PSI edges of a numeric profile (from raw values or the sketch). */
mlops_status mlops__drift_fix_edges(mlops_drift_profile *p);
/* Deep copy. */
mlops_status mlops__drift_profile_clone(mlops_drift_profile **out, const mlops_drift_profile *p);
/* Bin counts of p against edges (n_edges + 1 values); *estimated set when
 * they come from the sketch. */
mlops_status mlops__drift_hist_against(const mlops_drift_profile *p, const double *edges,
                                       size_t ne, uint64_t *out, bool *estimated);
/* Index of a category, or -1. */
long mlops__drift_cat_find(const mlops_drift_profile *p, const char *s, size_t len);
/* Reset the data of a profile, keeping its shape (for monitor windows). */
void mlops__drift_profile_reset(mlops_drift_profile *p);
size_t mlops__drift_profile_bytes(const mlops_drift_profile *p);

/* JSON building: the first failed append poisons the buffer (its data is
 * freed and len set to SIZE_MAX), so mlops__jb_take reports NOMEM instead
 * of returning truncated text. */
void mlops__jb_append(mlops__buf *b, const void *data, size_t len);
void mlops__jb_putc(mlops__buf *b, uint8_t c);
void mlops__jb_printf(mlops__buf *b, const char *fmt, ...) MLOPS__PRINTF(2, 3);
char *mlops__jb_take(mlops__buf *b); /* NULL: out of memory */

/* JSON helpers. */
void mlops__json_str(mlops__buf *b, const char *s);
void mlops__json_f64(mlops__buf *b, double v); /* NaN/Inf -> null */

struct mlops_drift_report {
    mlops_env *env;
    mlops_drift_column *cols;
    size_t n;
    double share;
    uint32_t dataset;
};

mlops_status mlops__drift_options(mlops_drift_compare_options *o,
                                  const mlops_drift_compare_options *in);

#endif

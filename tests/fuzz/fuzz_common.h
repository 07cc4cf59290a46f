/* SPDX-License-Identifier: MIT */
/* Shared helpers for the fuzz targets: an input reader, a counting
 * allocator (so every run checks that the library freed what it took) and
 * a private scratch directory. Oracle violations abort(), which libFuzzer
 * and the replay driver both report as a crash. */
#ifndef MLOPS_FUZZ_COMMON_H
#define MLOPS_FUZZ_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlops/mlops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness's oracle (its model and the comparisons against it) is not the
 * code under test: its branches only add features and tracing cost. */
#if defined(__clang__)
#define FZ_ORACLE __attribute__((no_sanitize("coverage")))
#else
#define FZ_ORACLE
#endif

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: oracle violated: %s: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, " [last error: %s]\n", mlops_error_message());                         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- input reader: exhausted input reads as zeros ---- */

typedef struct fz_in {
    const uint8_t *p;
    size_t len, pos;
} fz_in;

static inline uint8_t fz_u8(fz_in *in)
{
    return in->pos < in->len ? in->p[in->pos++] : 0;
}

static inline uint32_t fz_u16(fz_in *in)
{
    uint32_t a = fz_u8(in);
    return a | ((uint32_t)fz_u8(in) << 8);
}

static inline bool fz_done(const fz_in *in)
{
    return in->pos >= in->len;
}

/* Up to max bytes straight from the input (borrowed); *n gets the count. */
static inline const uint8_t *fz_bytes(fz_in *in, size_t want, size_t *n)
{
    size_t left = in->len - in->pos;
    if (want > left)
        want = left;
    const uint8_t *p = in->p + in->pos;
    in->pos += want;
    *n = want;
    return p;
}

/* ---- counting allocator ---- */

typedef struct fz_alloc {
    atomic_long live;
    atomic_long calls;
    long fail_at; /* 0: never */
} fz_alloc;

static void *fz_malloc(size_t size, void *payload)
{
    fz_alloc *a = payload;
    long c = atomic_fetch_add(&a->calls, 1) + 1;
    if (a->fail_at && c >= a->fail_at)
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&a->live, 1);
    return p;
}

static void *fz_realloc(void *ptr, size_t size, void *payload)
{
    fz_alloc *a = payload;
    long c = atomic_fetch_add(&a->calls, 1) + 1;
    if (a->fail_at && c >= a->fail_at)
        return NULL;
    void *p = realloc(ptr, size ? size : 1);
    if (p && ptr == NULL)
        atomic_fetch_add(&a->live, 1);
    return p;
}

static void fz_free(void *ptr, void *payload)
{
    fz_alloc *a = payload;
    if (ptr) {
        atomic_fetch_sub(&a->live, 1);
        free(ptr);
    }
}

static inline mlops_env *fz_env_new(fz_alloc *a)
{
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    o.malloc_fn = fz_malloc;
    o.realloc_fn = fz_realloc;
    o.free_fn = fz_free;
    o.alloc_payload = a;
    mlops_env *env = NULL;
    if (mlops_env_create(&env, &o) != MLOPS_OK)
        abort();
    return env;
}

/* ---- scratch directory, made once per process ---- */

char *fz_scratch_dir(void);
void fz_rmtree(const char *path);
void fz_clear_dir(const char *path);

#endif

/* SPDX-License-Identifier: MIT */
/* Internal core: allocation through the env, error helpers, time, hashing, zstd. */
#ifndef MLOPS_CORE_INTERNAL_H
#define MLOPS_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mlops/common.h"

#if defined(__GNUC__) || defined(__clang__)
#define MLOPS__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MLOPS__UNUSED __attribute__((unused))
#else
#define MLOPS__PRINTF(a, b)
#define MLOPS__UNUSED
#endif

/* ---- environment and allocation ---- */

/* NULL env means the C allocator and the system clock. */
void *mlops__malloc(const mlops_env *env, size_t size);
void *mlops__calloc(const mlops_env *env, size_t n, size_t size); /* overflow-checked, zeroed */
void *mlops__realloc(const mlops_env *env, void *ptr, size_t size);
void mlops__free(const mlops_env *env, void *ptr);
char *mlops__strdup(const mlops_env *env, const char *s);
char *mlops__strndup(const mlops_env *env, const char *s, size_t n);
/* Grow *buf (capacity *cap) to hold at least need bytes; doubles. OK or NOMEM (buffer kept). */
mlops_status mlops__reserve(const mlops_env *env, void **buf, size_t *cap, size_t need,
                            size_t elem);

/* Reference counting: handles keep their env alive. NULL is a no-op. */
mlops_env *mlops__env_ref(mlops_env *env);
void mlops__env_unref(mlops_env *env);

int64_t mlops__now_ns(const mlops_env *env);
int64_t mlops__now_ms(const mlops_env *env);
void mlops__log(const mlops_env *env, uint32_t level, const char *fmt, ...) MLOPS__PRINTF(3, 4);

/* ---- options structs ---- */

/* The body of every public *_options_init(): refuse NULL and versions outside
 * 1..max, zero the struct and set its version. what names it in messages. */
mlops_status mlops__options_init(void *opts, size_t size, uint32_t version, uint32_t max,
                                 const char *what);

/* ---- errors ---- */

/* Record a formatted message for this thread and return st. */
mlops_status mlops__error(mlops_status st, const char *fmt, ...) MLOPS__PRINTF(2, 3);
/* The out-of-memory error, which never allocates. */
mlops_status mlops__nomem(void);

/* ---- growable byte buffer ---- */

typedef struct mlops__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    const mlops_env *env;
} mlops__buf;

void mlops__buf_init(mlops__buf *b, const mlops_env *env);
void mlops__buf_free(mlops__buf *b);
mlops_status mlops__buf_append(mlops__buf *b, const void *data, size_t len);
mlops_status mlops__buf_putc(mlops__buf *b, uint8_t c);
mlops_status mlops__buf_printf(mlops__buf *b, const char *fmt, ...) MLOPS__PRINTF(2, 3);
/* NUL-terminate (not counted in len) and hand the bytes to the caller as a C string. */
char *mlops__buf_take_str(mlops__buf *b);

/* ---- hashing (XXH3, inlined) ---- */

uint64_t mlops__xxh3_64(const void *data, size_t len, uint64_t seed);
void mlops__xxh3_128(mlops_hash128 *out, const void *data, size_t len);
uint32_t mlops__checksum32(const void *data, size_t len); /* low 32 bits of XXH3-64 */

typedef struct mlops__hash_stream mlops__hash_stream;
mlops_status mlops__hash_stream_new(mlops__hash_stream **out, const mlops_env *env);
void mlops__hash_stream_update(mlops__hash_stream *s, const void *data, size_t len);
void mlops__hash_stream_digest128(mlops__hash_stream *s, mlops_hash128 *out);
void mlops__hash_stream_free(mlops__hash_stream *s);
void mlops__hex(char *out, const uint8_t *bytes, size_t n); /* 2n chars + NUL */

/* ---- zstd with the env's allocator ---- */

/* Compress src into out (allocated with env). level 0: the default (3). */
mlops_status mlops__zstd_compress(mlops_bytes *out, mlops_env *env, const void *src, size_t len,
                                  int level);
/* Decompress one or more frames; refuse more than max_out bytes (MLOPS_E_TOOBIG),
 * bad frames (MLOPS_E_CORRUPT). Window log is capped. */
mlops_status mlops__zstd_decompress(mlops_bytes *out, mlops_env *env, const void *src,
                                    size_t len, size_t max_out);

typedef struct mlops__zstd_cstream mlops__zstd_cstream;
typedef struct mlops__zstd_dstream mlops__zstd_dstream;
mlops_status mlops__zstd_cstream_new(mlops__zstd_cstream **out, const mlops_env *env, int level);
/* Compress input, appending output to dst. end != 0 finishes the frame. */
mlops_status mlops__zstd_cstream_feed(mlops__zstd_cstream *z, const void *src, size_t len,
                                      int end, mlops__buf *dst);
void mlops__zstd_cstream_free(mlops__zstd_cstream *z);
mlops_status mlops__zstd_dstream_new(mlops__zstd_dstream **out, const mlops_env *env);
/* Decompress from *src/len (advancing *consumed) into dst (cap), returning produced bytes. */
mlops_status mlops__zstd_dstream_feed(mlops__zstd_dstream *z, const void *src, size_t len,
                                      size_t *consumed, void *dst, size_t cap, size_t *produced,
                                      int *frame_done);
void mlops__zstd_dstream_free(mlops__zstd_dstream *z);

/* ---- validation ---- */

/* Strict UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool mlops__utf8_valid(const char *s, size_t len);

/* ---- little-endian helpers ---- */

static inline void mlops__put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t mlops__get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline void mlops__put_u64le(uint8_t *p, uint64_t v)
{
    mlops__put_u32le(p, (uint32_t)v);
    mlops__put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t mlops__get_u64le(const uint8_t *p)
{
    return (uint64_t)mlops__get_u32le(p) | ((uint64_t)mlops__get_u32le(p + 4) << 32);
}
static inline void mlops__put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t mlops__get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif

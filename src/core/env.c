/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/core.h"

struct mlops_env {
    mlops_env_options opts;
    atomic_int refs;
};

uint32_t mlops_version(void)
{
    return MLOPS_VERSION_NUMBER;
}

const char *mlops_version_string(void)
{
    return MLOPS_VERSION_STRING;
}

mlops_status mlops__options_init(void *opts, size_t size, uint32_t version, uint32_t max,
                                 const char *what)
{
    if (opts == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s pointer is NULL", what);
    if (version < 1 || version > max)
        return mlops__error(MLOPS_E_VERSION,
                            "%s version %u is not supported (this library knows 1 to %u)", what,
                            version, max);
    memset(opts, 0, size);
    /* every options struct starts with uint32_t version */
    memcpy(opts, &version, sizeof(version));
    return MLOPS_OK;
}

mlops_status mlops_env_options_init(mlops_env_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_ENV_OPTIONS_VERSION,
                               "env options");
}

mlops_status mlops_env_create(mlops_env **out, const mlops_env_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    mlops_env_options o;
    memset(&o, 0, sizeof(o));
    if (opts != NULL) {
        if (opts->version < 1 || opts->version > MLOPS_ENV_OPTIONS_VERSION)
            return mlops__error(
                MLOPS_E_VERSION,
                "env options version %u is not supported (this library knows 1 to %u)",
                opts->version, MLOPS_ENV_OPTIONS_VERSION);
        memcpy(&o, opts, sizeof(o)); /* version 1 is the whole struct */
    }
    o.version = MLOPS_ENV_OPTIONS_VERSION;
    int n_alloc = (o.malloc_fn != NULL) + (o.realloc_fn != NULL) + (o.free_fn != NULL);
    if (n_alloc != 0 && n_alloc != 3)
        return mlops__error(MLOPS_E_INVALID,
                            "allocator hooks must be given together: malloc_fn, realloc_fn "
                            "and free_fn (%d of 3 set)",
                            n_alloc);
    if (o.log_level == 0)
        o.log_level = MLOPS_LOG_WARN;
    mlops_env *env = o.malloc_fn ? o.malloc_fn(sizeof(*env), o.alloc_payload)
                                 : malloc(sizeof(*env));
    if (env == NULL)
        return mlops__nomem();
    env->opts = o;
    atomic_init(&env->refs, 1);
    *out = env;
    return MLOPS_OK;
}

mlops_env *mlops__env_ref(mlops_env *env)
{
    if (env != NULL)
        atomic_fetch_add(&env->refs, 1);
    return env;
}

void mlops__env_unref(mlops_env *env)
{
    if (env == NULL)
        return;
    if (atomic_fetch_sub(&env->refs, 1) == 1) {
        if (env->opts.free_fn)
            env->opts.free_fn(env, env->opts.alloc_payload);
        else
            free(env);
    }
}

void mlops_env_free(mlops_env *env)
{
    mlops__env_unref(env);
}

void *mlops__malloc(const mlops_env *env, size_t size)
{
    if (size == 0)
        size = 1;
    if (env != NULL && env->opts.malloc_fn)
        return env->opts.malloc_fn(size, env->opts.alloc_payload);
    return malloc(size);
}

void *mlops__calloc(const mlops_env *env, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = mlops__malloc(env, n * size);
    if (p != NULL)
        memset(p, 0, (n * size) != 0 ? n * size : 1);
    return p;
}

void *mlops__realloc(const mlops_env *env, void *ptr, size_t size)
{
    if (size == 0)
        size = 1;
    if (env != NULL && env->opts.realloc_fn)
        return env->opts.realloc_fn(ptr, size, env->opts.alloc_payload);
    return realloc(ptr, size);
}

void mlops__free(const mlops_env *env, void *ptr)
{
    if (ptr == NULL)
        return;
    if (env != NULL && env->opts.free_fn)
        env->opts.free_fn(ptr, env->opts.alloc_payload);
    else
        free(ptr);
}

char *mlops__strndup(const mlops_env *env, const char *s, size_t n)
{
    char *p = mlops__malloc(env, n + 1);
    if (p == NULL)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mlops__strdup(const mlops_env *env, const char *s)
{
    return s ? mlops__strndup(env, s, strlen(s)) : NULL;
}

mlops_status mlops__reserve(const mlops_env *env, void **buf, size_t *cap, size_t need,
                            size_t elem)
{
    if (need <= *cap)
        return MLOPS_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return mlops__error(MLOPS_E_TOOBIG, "buffer of %zu elements is too large", need);
        ncap *= 2;
    }
    if (elem != 0 && ncap > SIZE_MAX / elem)
        return mlops__error(MLOPS_E_TOOBIG, "buffer of %zu elements is too large", need);
    void *p = mlops__realloc(env, *buf, ncap * elem);
    if (p == NULL)
        return mlops__nomem();
    *buf = p;
    *cap = ncap;
    return MLOPS_OK;
}

int64_t mlops_env_now_ns(const mlops_env *env)
{
    return mlops__now_ns(env);
}

int64_t mlops__now_ns(const mlops_env *env)
{
    if (env != NULL && env->opts.clock_fn)
        return env->opts.clock_fn(env->opts.clock_payload);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mlops__now_ms(const mlops_env *env)
{
    int64_t ns = mlops__now_ns(env);
    /* floor division so times before 1970 round down */
    return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

void mlops__log(const mlops_env *env, uint32_t level, const char *fmt, ...)
{
    if (env == NULL || env->opts.log_fn == NULL || level > env->opts.log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    env->opts.log_fn(level, msg, env->opts.log_payload);
}

mlops_status mlops_bytes_set(mlops_bytes *out, mlops_env *env, const void *data, size_t len)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    memset(out, 0, sizeof(*out));
    if (data == NULL && len != 0)
        return mlops__error(MLOPS_E_INVALID, "data is NULL but length is %zu", len);
    if (len == SIZE_MAX)
        return mlops__error(MLOPS_E_TOOBIG, "length overflows");
    uint8_t *p = mlops__malloc(env, len + 1);
    if (p == NULL)
        return mlops__nomem();
    if (len)
        memcpy(p, data, len);
    p[len] = 0;
    out->data = p;
    out->len = len;
    out->env = mlops__env_ref(env);
    return MLOPS_OK;
}

void mlops_bytes_free(mlops_bytes *b)
{
    if (b == NULL)
        return;
    mlops__free(b->env, b->data);
    mlops__env_unref(b->env);
    memset(b, 0, sizeof(*b));
}

void mlops_string_free(mlops_env *env, char *s)
{
    mlops__free(env, s);
}

/* ---- growable buffer ---- */

void mlops__buf_init(mlops__buf *b, const mlops_env *env)
{
    memset(b, 0, sizeof(*b));
    b->env = env;
}

void mlops__buf_free(mlops__buf *b)
{
    mlops__free(b->env, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

mlops_status mlops__buf_append(mlops__buf *b, const void *data, size_t len)
{
    if (len > SIZE_MAX - b->len - 1)
        return mlops__error(MLOPS_E_TOOBIG, "buffer too large");
    mlops_status st = mlops__reserve(b->env, (void **)&b->data, &b->cap, b->len + len + 1, 1);
    if (st != MLOPS_OK)
        return st;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return MLOPS_OK;
}

mlops_status mlops__buf_putc(mlops__buf *b, uint8_t c)
{
    return mlops__buf_append(b, &c, 1);
}

mlops_status mlops__buf_printf(mlops__buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return mlops__error(MLOPS_E_INTERNAL, "format error");
    if ((size_t)n < sizeof(small))
        return mlops__buf_append(b, small, (size_t)n);
    mlops_status st = mlops__reserve(b->env, (void **)&b->data, &b->cap, b->len + (size_t)n + 1, 1);
    if (st != MLOPS_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MLOPS_OK;
}

char *mlops__buf_take_str(mlops__buf *b)
{
    if (mlops__reserve(b->env, (void **)&b->data, &b->cap, b->len + 1, 1) != MLOPS_OK)
        return NULL;
    b->data[b->len] = 0;
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

/* ---- UTF-8 ---- */

bool mlops__utf8_valid(const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* SPDX-License-Identifier: MIT */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "core/core.h"

/* A frame may not ask for a window larger than 2^21 (2 MiB). The decoder
 * allocates the window a frame header asks for before it has seen a byte of
 * content, so this bounds what a dozen hostile bytes can make us allocate.
 * Everything this library writes fits: blobs are streamed at level 1
 * (window 2^19), feature-view blobs compressed in one shot at level 3
 * (window at most 2^21, smaller for smaller inputs); see
 * docs/file-format.md. Raising the compression level or enabling long
 * distance matching needs this raised first, in an earlier release. */
#define MLOPS__ZSTD_WINDOW_LOG_MAX 21

static void *zalloc(void *opaque, size_t size)
{
    return mlops__malloc(opaque, size);
}

static void zfree(void *opaque, void *addr)
{
    mlops__free(opaque, addr);
}

static ZSTD_customMem custom_mem(const mlops_env *env)
{
    ZSTD_customMem m = {zalloc, zfree, (void *)env};
    return m;
}

static mlops_status zerr(size_t rc, const char *what)
{
    ZSTD_ErrorCode code = ZSTD_getErrorCode(rc);
    if (code == ZSTD_error_memory_allocation)
        return mlops__nomem();
    if (code == ZSTD_error_frameParameter_windowTooLarge)
        return mlops__error(MLOPS_E_TOOBIG, "%s: zstd frame needs a window above 2^%d bytes", what,
                            MLOPS__ZSTD_WINDOW_LOG_MAX);
    return mlops__error(MLOPS_E_CORRUPT, "%s: %s", what, ZSTD_getErrorName(rc));
}

mlops_status mlops__zstd_compress(mlops_bytes *out, mlops_env *env, const void *src, size_t len,
                                  int level)
{
    memset(out, 0, sizeof(*out));
    size_t bound = ZSTD_compressBound(len);
    if (ZSTD_isError(bound))
        return mlops__error(MLOPS_E_TOOBIG, "input of %zu bytes is too large to compress", len);
    ZSTD_CCtx *cctx = ZSTD_createCCtx_advanced(custom_mem(env));
    if (cctx == NULL)
        return mlops__nomem();
    mlops_status st = MLOPS_OK;
    uint8_t *dst = mlops__malloc(env, bound);
    if (dst == NULL) {
        st = mlops__nomem();
        goto out;
    }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ? level : 3);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    size_t n = ZSTD_compress2(cctx, dst, bound, src, len);
    if (ZSTD_isError(n)) {
        mlops__free(env, dst);
        st = zerr(n, "zstd compression failed");
        goto out;
    }
    out->data = dst;
    out->len = n;
    out->env = mlops__env_ref(env);
out:
    ZSTD_freeCCtx(cctx);
    return st;
}

mlops_status mlops__zstd_decompress(mlops_bytes *out, mlops_env *env, const void *src,
                                    size_t len, size_t max_out)
{
    memset(out, 0, sizeof(*out));
    mlops__zstd_dstream *z = NULL;
    mlops__buf buf;
    mlops__buf_init(&buf, env);
    mlops_status st = mlops__zstd_dstream_new(&z, env);
    if (st != MLOPS_OK)
        return st;
    size_t pos = 0;
    int done = 0;
    uint8_t tmp[16384];
    if (len == 0) {
        st = mlops__error(MLOPS_E_CORRUPT, "zstd input is empty");
        goto out;
    }
    while (pos < len || !done) {
        size_t consumed = 0, produced = 0;
        st = mlops__zstd_dstream_feed(z, (const uint8_t *)src + pos, len - pos, &consumed, tmp,
                                      sizeof(tmp), &produced, &done);
        if (st != MLOPS_OK)
            goto out;
        pos += consumed;
        if (produced) {
            if (max_out && buf.len + produced > max_out) {
                st = mlops__error(MLOPS_E_TOOBIG,
                                  "zstd data expands past the limit of %zu bytes", max_out);
                goto out;
            }
            st = mlops__buf_append(&buf, tmp, produced);
            if (st != MLOPS_OK)
                goto out;
        }
        if (consumed == 0 && produced == 0) {
            if (pos >= len && !done) {
                st = mlops__error(MLOPS_E_CORRUPT, "zstd frame is truncated");
                goto out;
            }
            if (pos >= len)
                break;
        }
    }
    out->len = buf.len;
    out->data = buf.data ? buf.data : mlops__malloc(env, 1);
    if (out->data == NULL) {
        st = mlops__nomem();
        goto out;
    }
    buf.data = NULL;
    out->env = mlops__env_ref(env);
out:
    mlops__buf_free(&buf);
    mlops__zstd_dstream_free(z);
    return st;
}

struct mlops__zstd_cstream {
    ZSTD_CCtx *cctx;
};

struct mlops__zstd_dstream {
    ZSTD_DCtx *dctx;
    const mlops_env *env;
};

mlops_status mlops__zstd_cstream_new(mlops__zstd_cstream **out, const mlops_env *env, int level)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx_advanced(custom_mem(env));
    if (cctx == NULL)
        return mlops__nomem();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ? level : 3);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    /* the struct is the context itself: one allocation fewer */
    *out = (mlops__zstd_cstream *)cctx;
    return MLOPS_OK;
}

mlops_status mlops__zstd_cstream_feed(mlops__zstd_cstream *z, const void *src, size_t len,
                                      int end, mlops__buf *dst)
{
    ZSTD_CCtx *cctx = (ZSTD_CCtx *)z;
    ZSTD_inBuffer in = {src, len, 0};
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
        size_t chunk = ZSTD_CStreamOutSize();
        mlops_status st =
            mlops__reserve(dst->env, (void **)&dst->data, &dst->cap, dst->len + chunk + 1, 1);
        if (st != MLOPS_OK)
            return st;
        ZSTD_outBuffer ob = {dst->data + dst->len, chunk, 0};
        size_t rem = ZSTD_compressStream2(cctx, &ob, &in, mode);
        if (ZSTD_isError(rem))
            return zerr(rem, "zstd compression failed");
        dst->len += ob.pos;
        if (end ? rem == 0 : in.pos == in.size)
            return MLOPS_OK;
    }
}

void mlops__zstd_cstream_free(mlops__zstd_cstream *z)
{
    if (z)
        ZSTD_freeCCtx((ZSTD_CCtx *)z);
}

mlops_status mlops__zstd_dstream_new(mlops__zstd_dstream **out, const mlops_env *env)
{
    mlops__zstd_dstream *z = mlops__malloc(env, sizeof(*z));
    if (z == NULL)
        return mlops__nomem();
    z->env = env;
    z->dctx = ZSTD_createDCtx_advanced(custom_mem(env));
    if (z->dctx == NULL) {
        mlops__free(env, z);
        return mlops__nomem();
    }
    ZSTD_DCtx_setParameter(z->dctx, ZSTD_d_windowLogMax, MLOPS__ZSTD_WINDOW_LOG_MAX);
    *out = z;
    return MLOPS_OK;
}

mlops_status mlops__zstd_dstream_feed(mlops__zstd_dstream *z, const void *src, size_t len,
                                      size_t *consumed, void *dst, size_t cap, size_t *produced,
                                      int *frame_done)
{
    ZSTD_inBuffer in = {src, len, 0};
    ZSTD_outBuffer ob = {dst, cap, 0};
    size_t rc = ZSTD_decompressStream(z->dctx, &ob, &in);
    *consumed = in.pos;
    *produced = ob.pos;
    if (ZSTD_isError(rc))
        return zerr(rc, "zstd data is corrupt");
    *frame_done = rc == 0;
    return MLOPS_OK;
}

void mlops__zstd_dstream_free(mlops__zstd_dstream *z)
{
    if (z == NULL)
        return;
    ZSTD_freeDCtx(z->dctx);
    mlops__free(z->env, z);
}

/* SPDX-License-Identifier: MIT */
/* Fuzz the zstd blob loader (F12, M5): arbitrary bytes through the
 * one-shot and streaming decoders with a 64 KiB output cap. Checked: the
 * one-shot decoder gives OK (output within the cap), MLOPS_E_TOOBIG (a bomb
 * past the cap, or a window above the library's 2^21 cap) or
 * MLOPS_E_CORRUPT, and leaves no output on failure; the streaming decoder,
 * fed in small steps, fails only with those statuses, never over-runs its
 * buffers and produces the same bytes as the one-shot decoder; one input
 * size in 16 also round-trips through compression (exact bytes back; a cap
 * one byte short gives TOOBIG; a truncated frame gives CORRUPT); nothing
 * leaks.
 *
 * The cap is 64 KiB rather than the 1 MiB it once was: the decoder code is
 * the same at any cap (a zstd block is at most 128 KiB, so one block can
 * cross it), and bombs, which the corpus collects, cost 16 times less.
 * libzstd's own big blocks are kept out of ASan's allocator (bigalloc.h). */
#include "core/core.h"
#include "fuzz_common.h"
#include "bigalloc.h"

#define MAX_OUT (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_alloc a = {0};
    mlops_env *env = big_env_new(&a);

    mlops_bytes out;
    mlops_status st = mlops__zstd_decompress(&out, env, data, size, MAX_OUT);
    FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_TOOBIG,
               "decompress gave %d", st);
    if (st == MLOPS_OK)
        FUZZ_CHECK(out.len <= MAX_OUT && (out.len == 0 || out.data != NULL), "output %zu",
                   out.len);
    else
        FUZZ_CHECK(out.data == NULL && out.len == 0, "output left on failure");

    /* the streaming decoder, fed in small pieces, must produce the same
     * bytes as long as it gets that far */
    mlops__zstd_dstream *z = NULL;
    st = mlops__zstd_dstream_new(&z, env);
    FUZZ_CHECK(st == MLOPS_OK, "dstream_new %d", st);
    size_t pos = 0, total = 0, step = size % 7 + 1;
    uint8_t buf[4096];
    int done = 0;
    mlops_status sst = MLOPS_OK;
    for (int iter = 0; iter < 100000 && pos < size && total <= MAX_OUT; iter++) {
        size_t feed = size - pos < step ? size - pos : step;
        size_t consumed = 0, produced = 0;
        sst = mlops__zstd_dstream_feed(z, data + pos, feed, &consumed, buf, sizeof(buf),
                                       &produced, &done);
        if (sst != MLOPS_OK) {
            FUZZ_CHECK(sst == MLOPS_E_CORRUPT || sst == MLOPS_E_TOOBIG, "feed gave %d", sst);
            break;
        }
        FUZZ_CHECK(consumed <= feed && produced <= sizeof(buf), "feed over-ran");
        if (out.data && total + produced <= out.len)
            FUZZ_CHECK(memcmp(out.data + total, buf, produced) == 0,
                       "stream and one-shot differ at %zu", total);
        total += produced;
        pos += consumed;
        if (consumed == 0 && produced == 0)
            step++;
    }
    mlops__zstd_dstream_free(z);
    if (out.data != NULL && sst == MLOPS_OK && pos == size)
        FUZZ_CHECK(total <= out.len, "stream produced more (%zu) than one-shot (%zu)", total,
                   out.len);
    mlops_bytes_free(&out);

    /* round trip; making a compression context costs ~10x a decode, so
     * only one input size in 16 pays for it */
    if (size % 16 != 0)
        goto done;
    mlops_bytes c;
    st = mlops__zstd_compress(&c, env, data, size, 1);
    FUZZ_CHECK(st == MLOPS_OK, "compress gave %d", st);
    mlops_bytes d;
    st = mlops__zstd_decompress(&d, env, c.data, c.len, size ? size : 1);
    FUZZ_CHECK(st == MLOPS_OK && d.len == size && (size == 0 || memcmp(d.data, data, size) == 0),
               "round trip failed (%d)", st);
    if (size > 1) {
        mlops_bytes t;
        st = mlops__zstd_decompress(&t, env, c.data, c.len, size - 1);
        FUZZ_CHECK(st == MLOPS_E_TOOBIG, "cap of %zu for %zu bytes gave %d", size - 1, size, st);
        mlops_bytes_free(&t);
        /* a truncated frame is never accepted */
        st = mlops__zstd_decompress(&t, env, c.data, c.len - 1, 0);
        FUZZ_CHECK(st == MLOPS_E_CORRUPT, "truncated frame gave %d", st);
        mlops_bytes_free(&t);
    }
    mlops_bytes_free(&d);
    mlops_bytes_free(&c);
done:
    mlops_env_free(env);
    FUZZ_CHECK(atomic_load(&a.live) == 0, "%ld blocks leaked", atomic_load(&a.live));
    return 0;
}

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
 * cross it), and bombs, which the corpus collects, cost 16 times less. */
#include <sys/mman.h>

#include "core/core.h"
#include "fuzz_common.h"

#define MAX_OUT (64u << 10)

/* Blocks of 128 KiB and more (only libzstd's own: its contexts and window
 * buffers, a frame may ask for up to 2 MiB) bypass ASan's allocator. There
 * each cost a fresh mapping, page faults and a shadow fill of an eighth of
 * its size on free and again when its quarantine recycled it: most of an
 * execution. libzstd is not built with ASan, so ASan never checked its
 * accesses to these blocks anyway. Here a block ends right before a
 * PROT_NONE guard page (an overrun past the end faults), and a freed
 * mapping is kept for the next big block that fits. */
#define BIG (128u << 10)
#define PAGE 4096u
#define NBIG 16

typedef struct big_block {
    uint8_t *user, *map; /* map NULL: slot free */
    size_t size, body;   /* requested size; mapped bytes before the guard */
    bool live;
} big_block;

static big_block bigs[NBIG];

static void *big_alloc(size_t size)
{
    size_t rounded = (size + 15) & ~(size_t)15;
    big_block *slot = NULL;
    for (size_t i = 0; i < NBIG && slot == NULL; i++)
        if (bigs[i].map != NULL && !bigs[i].live && bigs[i].body >= rounded)
            slot = &bigs[i]; /* a kept mapping that fits */
    if (slot == NULL) {
        for (size_t i = 0; i < NBIG && slot == NULL; i++)
            if (bigs[i].map == NULL)
                slot = &bigs[i];
        if (slot == NULL) { /* all kept or live: drop a kept one */
            for (size_t i = 0; i < NBIG && slot == NULL; i++)
                if (!bigs[i].live) {
                    munmap(bigs[i].map, bigs[i].body + PAGE);
                    bigs[i].map = NULL;
                    slot = &bigs[i];
                }
        }
        if (slot == NULL)
            abort(); /* more live big blocks than zstd ever holds */
        size_t body = (rounded + PAGE - 1) & ~(size_t)(PAGE - 1);
        uint8_t *m = mmap(NULL, body + PAGE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        if (mprotect(m + body, PAGE, PROT_NONE) != 0)
            abort();
        slot->map = m;
        slot->body = body;
    }
    slot->user = slot->map + slot->body - rounded;
    slot->size = size;
    slot->live = true;
    return slot->user;
}

static big_block *big_find(const void *p)
{
    for (size_t i = 0; i < NBIG; i++)
        if (bigs[i].map != NULL && bigs[i].live && bigs[i].user == p)
            return &bigs[i];
    return NULL;
}

static void *z_malloc(size_t size, void *payload)
{
    if (size < BIG)
        return fz_malloc(size, payload);
    fz_alloc *a = payload;
    atomic_fetch_add(&a->calls, 1);
    void *p = big_alloc(size);
    if (p)
        atomic_fetch_add(&a->live, 1);
    return p;
}

static void z_free(void *ptr, void *payload)
{
    big_block *b = big_find(ptr);
    if (b == NULL) {
        fz_free(ptr, payload);
        return;
    }
    fz_alloc *a = payload;
    atomic_fetch_sub(&a->live, 1);
    b->live = false;
}

/* Our own buffers grow by realloc and so stay with ASan's allocator. */
static void *z_realloc(void *ptr, size_t size, void *payload)
{
    big_block *b = ptr ? big_find(ptr) : NULL;
    if (b == NULL)
        return fz_realloc(ptr, size, payload);
    void *q = z_malloc(size, payload);
    if (q == NULL)
        return NULL;
    memcpy(q, ptr, b->size < size ? b->size : size);
    z_free(ptr, payload);
    return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_alloc a = {0};
    mlops_env_options eo;
    mlops_env_options_init(&eo, MLOPS_ENV_OPTIONS_VERSION);
    eo.malloc_fn = z_malloc;
    eo.realloc_fn = z_realloc;
    eo.free_fn = z_free;
    eo.alloc_payload = &a;
    mlops_env *env = NULL;
    if (mlops_env_create(&env, &eo) != MLOPS_OK)
        abort();

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

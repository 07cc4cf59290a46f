/* SPDX-License-Identifier: MIT */
#include <sys/mman.h>

#include "bigalloc.h"

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
        uint8_t *m =
            mmap(NULL, body + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

mlops_env *big_env_new(fz_alloc *a)
{
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    o.malloc_fn = z_malloc;
    o.realloc_fn = z_realloc;
    o.free_fn = z_free;
    o.alloc_payload = a;
    mlops_env *env = NULL;
    if (mlops_env_create(&env, &o) != MLOPS_OK)
        abort();
    return env;
}

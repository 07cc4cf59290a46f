/* SPDX-License-Identifier: MIT */
/* The allocation-failure sweep (M1, M2; FG6): a scenario is a list of steps
 * against one store. A reference run records the logical state of the
 * store after every step; then for k = 1, 2, ... the k-th allocation fails
 * (once, or from k on) until a run completes without reaching k. Every
 * failure must return MLOPS_E_NOMEM, the store must hold the state of the
 * last acknowledged step or of the failed step entirely (I3), nothing may
 * leak (I8), the handle must stay usable (I10), and a persistent store must
 * reopen with every acknowledged step (I2). */
#ifndef MLOPS_SWEEP_H
#define MLOPS_SWEEP_H

#include "testutil.h"

#define SWEEP_MAX_HANDLES 8
#define SWEEP_MAX_IDS 8

typedef struct sweep_ctx {
    mlops_env *env;
    mlops_store *store;
    const char *uri;
    void *h[SWEEP_MAX_HANDLES]; /* module handles made by steps */
    void *user;
    const void *io; /* a file backend I/O table (faultio.h), or NULL */
    uint32_t sync;  /* MLOPS_SYNC_*; 0: NORMAL */
    int scale;      /* 0: small (allocation sweeps); 1: the full reference workload */
    char *ids[SWEEP_MAX_IDS]; /* strings made by steps (experiment ids...), env-allocated */
    tu_clock *clk;  /* the env's clock, which steps may set (sweep_set_time); NULL: fixed */
} sweep_ctx;

/* Run step i (0 opens the store). Each step is one acknowledged unit: one
 * atomic store write, or none. */
typedef mlops_status (*sweep_step_fn)(sweep_ctx *c, size_t i);

typedef struct sweep_scenario {
    const char *name;
    size_t (*n_steps)(int scale);
    sweep_step_fn step;
    void (*release)(sweep_ctx *c); /* close the module handles in c->h (may be NULL) */
    /* the logical state, for modules whose keys hold random ids or nonces;
     * NULL: sweep_state_hash() of the raw keys */
    uint64_t (*state)(mlops_store *s);
    /* true if step i may run again after it took effect but reported a
     * failure (so its outputs, such as an id, are made again); NULL: none */
    bool (*idempotent)(size_t i, int scale);
    /* statuses a failed allocation may also surface as (besides NOMEM), 0-terminated */
    mlops_status also_allowed[4];
} sweep_scenario;

typedef struct sweep_result {
    long allocations; /* allocations in the reference run */
    long injected;    /* runs with a failure injected */
    long failures;    /* allocations refused in total */
} sweep_result;

/* Failures that matched a pinned bug of another module (see sweep.c). */
extern long sweep_known_bug_hits;

/* Open the store at c->uri with c->env (the usual step 0). */
mlops_status sweep_open_store(sweep_ctx *c);

/* Close every handle of a scenario, the store last. */
void sweep_release(const sweep_scenario *sc, sweep_ctx *c);

/* Run one sweep. uri_base: "mem:" or a directory; a fresh store is made
 * under it for every run. */
sweep_result sweep_run(const sweep_scenario *sc, const char *backend, bool persistent);

/* Fail every stride-th allocation only (1, 1+s, 1+2s, ...): SWEEP_STRIDE,
 * else 8 under valgrind, else 1 (every allocation). The short form under
 * valgrind and the sanitizers samples; the plain gcc run fails every one. */
long sweep_stride(void);

/* A hash of every key and value in the store (versions excluded). Runs of
 * 32 or more lowercase hex digits (random run ids, content addresses) are
 * replaced by a placeholder and the pairs sorted, so two runs of a scenario
 * that differ only in their random ids hash the same. */
uint64_t sweep_state_hash(mlops_store *s);

/* The scenario's state function, or the raw hash. */
uint64_t sweep_scenario_state(const sweep_scenario *sc, mlops_store *s);

/* Set the env clock to T0 + ms (a step that needs time to pass sets it
 * absolutely, so a step run again sees the same time). */
void sweep_set_time(sweep_ctx *c, int64_t ms);

/* The clock every sweep starts at, in nanoseconds. */
#define SWEEP_T0_NS 1700000000000000000LL

/* Helpers for state functions: the number of raw keys, and a hash of a
 * string (NULL hashes apart from "") or of text with every run of 32 or
 * more lowercase hex digits (random ids, content addresses) masked. */
uint64_t sweep_key_count(mlops_store *s);
uint64_t sweep_hash_str(uint64_t h, const char *s);
uint64_t sweep_hash_text(uint64_t h, const char *text);

/* Fail a step's own check: MLOPS_E_INTERNAL with a formatted message. */
mlops_status sweep_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open file descriptors of this process. */
int sweep_fd_count(void);

/* Fold the names and bytes of every file under path, in name order, into
 * *acc (a file store compared byte for byte, I7). */
void sweep_hash_tree(const char *path, uint64_t *acc);

#endif

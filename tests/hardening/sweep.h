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

#define SWEEP_MAX_STEPS 32
#define SWEEP_MAX_HANDLES 8

typedef struct sweep_ctx {
    mlops_env *env;
    mlops_store *store;
    const char *uri;
    void *h[SWEEP_MAX_HANDLES]; /* module handles made by steps */
    void *user;
    const void *io; /* a file backend I/O table (faultio.h), or NULL */
    uint32_t sync;  /* MLOPS_SYNC_*; 0: NORMAL */
} sweep_ctx;

typedef mlops_status (*sweep_step_fn)(sweep_ctx *c);

typedef struct sweep_scenario {
    const char *name;
    sweep_step_fn steps[SWEEP_MAX_STEPS]; /* NULL-terminated; step 0 opens the store */
    void (*release)(sweep_ctx *c);        /* close the module handles in c->h (may be NULL) */
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

/* Run one sweep. uri_base: "mem:" or a directory; a fresh store is made
 * under it for every run. */
sweep_result sweep_run(const sweep_scenario *sc, const char *backend, bool persistent);

/* A hash of every key and value in the store (versions excluded). */
uint64_t sweep_state_hash(mlops_store *s);

/* Open file descriptors of this process. */
int sweep_fd_count(void);

#endif

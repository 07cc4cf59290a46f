/* SPDX-License-Identifier: MIT */
/*
 * The store conformance suite: every backend must pass it unchanged.
 *
 * How to use it for a new backend (postgres, redis, a host's own):
 *
 *   static mlops_status open_mine(mlops_store **out, mlops_env *env, void *ctx,
 *                                 const char *name, int fresh)
 *   {
 *       // fresh != 0: an empty store for this test, named `name` (unique per
 *       // test; use it as a schema, key prefix or database number);
 *       // fresh == 0: reopen the store that the same name opened before.
 *       return mlops_store_open(out, env, uri_for(ctx, name, fresh), NULL);
 *   }
 *   static const conf_backend mine = {"postgres", open_mine, NULL, CONF_PERSISTENT};
 *   int main(void) { return tu_run(conf_suite(&mine)); }
 *
 * Link conformance.c and testutil.c into the test executable (see
 * tests/store/meson.build). The suite is a normal Check suite named
 * "conformance-<name>", with test cases per area: kv, order, batch, blob,
 * threads, persist, badinput. Cases that need persistence are skipped unless
 * CONF_PERSISTENT is set; multi-process cases need CONF_MULTIPROCESS (and a
 * backend whose stores several processes can open by name).
 */
#ifndef MLOPS_TEST_CONFORMANCE_H
#define MLOPS_TEST_CONFORMANCE_H

#include "testutil.h"

#define CONF_PERSISTENT 0x1u
#define CONF_MULTIPROCESS 0x2u

typedef struct conf_backend {
    const char *name;
    /* Open a store (see above). Must report failures with a status. */
    mlops_status (*open)(mlops_store **out, mlops_env *env, void *ctx, const char *name,
                         int fresh);
    void *ctx;
    uint32_t flags; /* CONF_* */
} conf_backend;

/* The suite for one backend. The pointer must stay valid while it runs. */
Suite *conf_suite(const conf_backend *b);

#endif

/* SPDX-License-Identifier: MIT */
/* Shared test helpers: a counting allocator that can fail on demand, a fake
 * clock, and scratch directories. */
#ifndef MLOPS_TESTUTIL_H
#define MLOPS_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlops/mlops.h"

typedef struct tu_alloc {
    long fail_at;       /* fail the fail_at-th allocation (1-based); 0: never */
    bool persistent;    /* keep failing after the first failure */
    long calls;         /* allocations attempted */
    long failures;      /* allocations refused */
    long live;          /* blocks not yet freed */
} tu_alloc;

typedef struct tu_clock {
    int64_t now_ns;
} tu_clock;

/* An env with the counting allocator (and the fake clock if clk != NULL). */
mlops_env *tu_env_new(tu_alloc *a, tu_clock *clk);

/* A fresh empty directory under $TMPDIR or /tmp; free() the result. */
char *tu_tempdir(void);
/* rm -rf */
void tu_rmtree(const char *path);

/* Assert a status, printing the library message on mismatch. */
#define tu_assert_st(expr, want)                                                                   \
    do {                                                                                           \
        mlops_status tu_st_ = (expr);                                                              \
        ck_assert_msg(tu_st_ == (want), "%s: got %s (%d), want %s: %s", #expr,                     \
                      mlops_status_name(tu_st_), tu_st_, mlops_status_name(want),                  \
                      mlops_error_message());                                                      \
    } while (0)

#define tu_assert_ok(expr) tu_assert_st(expr, MLOPS_OK)

/* Run a suite in fork mode and return the number of failures (for main). */
int tu_run(Suite *s);

#endif

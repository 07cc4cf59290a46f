/* SPDX-License-Identifier: MIT */
/* Allocation-failure sweeps (M1, M2, M4, M5; I2, I3, I8, I10; FG6) over
 * every reference scenario and every local backend, failing each
 * allocation once and persistently. Runs without fork so the totals can be
 * printed: FIGURE alloc_failures=... crashes=0 leaks=0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios.h"

static long total_once, total_persistent, total_refused;
static char **only; /* argv[1..]: sweep only the scenarios of those names */
static int n_only;

static bool chosen(const char *name)
{
    if (n_only == 0)
        return true;
    for (int i = 0; i < n_only; i++)
        if (strcmp(only[i], name) == 0)
            return true;
    return false;
}

static bool have_backend(const char *backend)
{
    if (strcmp(backend, "mem") == 0)
        return true;
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/probe", dir);
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
    return st == MLOPS_OK;
}

static void sweep_all(const char *backend)
{
    if (!have_backend(backend)) {
        printf("alloc sweep: backend %s not built; skipped\n", backend);
        return;
    }
    for (size_t i = 0; all_scenarios[i]; i++) {
        const sweep_scenario *sc = all_scenarios[i];
        if (!chosen(sc->name))
            continue;
        sweep_result once = sweep_run(sc, backend, false);
        sweep_result pers = sweep_run(sc, backend, true);
        long stride = sweep_stride();
        ck_assert_int_eq(once.injected, (once.allocations + stride - 1) / stride);
        printf("FIGURE alloc_failures_%s_%s=%ld+%ld (allocations %ld%s)\n", sc->name, backend,
               once.injected, pers.injected, once.allocations,
               stride > 1 ? ", sampled" : "");
        total_once += once.injected;
        total_persistent += pers.injected;
        total_refused += once.failures + pers.failures;
    }
}

START_TEST(alloc_mem)
{
    sweep_all("mem");
}
END_TEST

START_TEST(alloc_file)
{
    sweep_all("file");
}
END_TEST

int main(int argc, char **argv)
{
    only = argv + 1;
    n_only = argc - 1;
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, alloc_mem);
    tcase_add_test(tc, alloc_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        printf("FIGURE alloc_failures=%ld+%ld refused=%ld crashes=0 leaks=0 "
               "known_bug_hits=%ld stride=%ld\n",
               total_once, total_persistent, total_refused, sweep_known_bug_hits,
               sweep_stride());
    else
        printf("alloc sweep: %d test(s) failed\n", failed);
    return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* C1: several processes log to one file store at once, each to its own run
 * and all to a shared run (compare-and-set on its document); nothing is
 * lost. Forks, so it runs in the 'slow' suite (not under valgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

START_TEST(test_processes)
{
    char *dir = tu_tempdir();
    char uri[600];
    snprintf(uri, sizeof(uri), "%s/store", dir);
    mlops_store *s = NULL;
    mlops_status st0 = mlops_store_open(&s, NULL, uri, NULL);
    if (st0 == MLOPS_E_UNSUPPORTED) {
        tu_rmtree(dir);
        free(dir);
        return;
    }
    tu_assert_ok(st0);
    mlops_run *r = NULL;
    tu_assert_ok(mlops_run_create(&r, s, NULL, NULL));
    char id[33];
    memcpy(id, mlops_run_id(r), 33);
    double v;
    /* C1: several processes log to one store at once, each to its own run and
     * all to a shared run (compare-and-set on its document); nothing is lost */
    enum { PROCS = 3, POINTS = 60 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            mlops_store *cs = NULL;
            mlops_run *own = NULL, *shared = NULL;
            int bad = mlops_store_open(&cs, NULL, uri, NULL) != MLOPS_OK;
            bad = bad || mlops_run_open(&shared, cs, id) != MLOPS_OK;
            mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
            o.flags = MLOPS_RUN_NO_ENVIRONMENT;
            bad = bad || mlops_run_create(&own, cs, NULL, &o) != MLOPS_OK;
            char key[16];
            snprintf(key, sizeof(key), "proc%d", p);
            for (int i = 0; !bad && i < POINTS; i++) {
                bad = mlops_run_log_metric(own, "x", i, i) != MLOPS_OK ||
                      mlops_run_log_metric(shared, key, i, i) != MLOPS_OK;
            }
            mlops_run_close(own);
            mlops_run_close(shared);
            mlops_store_close(cs);
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", p);
    }
    mlops_run_list *l = NULL;
    mlops_search_options so = MLOPS_SEARCH_OPTIONS_INIT;
    so.filter = "metrics.x = 59";
    tu_assert_ok(mlops_run_search(&l, s, &so));
    ck_assert_uint_eq(mlops_run_list_count(l), PROCS);
    mlops_run_list_free(l);
    for (int p = 0; p < PROCS; p++) {
        char key[16];
        snprintf(key, sizeof(key), "proc%d", p);
        tu_assert_ok(mlops_run_latest_metric(&v, r, key)); /* every writer's latest survived */
        ck_assert(v == POINTS - 1);
        mlops_metric_history *h = NULL;
        tu_assert_ok(mlops_metric_history_open(&h, r, key, 0));
        ck_assert_uint_eq(mlops_metric_history_count(h), POINTS);
        mlops_metric_history_free(h);
    }
    mlops_run_close(r);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("run-procs");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_processes);
    suite_add_tcase(s, tc);
    return tu_run(s);
}

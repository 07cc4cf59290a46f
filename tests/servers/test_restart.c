/* SPDX-License-Identifier: MIT */
/* The server is killed and restarted in the middle of a workload (S1, K7).
 * Each backend gets its own private servers (scripts/servers with a
 * temporary MLOPS_SERVERS_DIR), so the shared ones used by other tests are
 * never disturbed. A writer process applies batches of two puts and reports
 * each acknowledged batch; afterwards every acknowledged batch must be there
 * (I2), every other batch entirely present or absent (I3), and the writer
 * must have seen errors during the outage and recovered on the same handle. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mlops_config.h"
#include "testutil.h"

static char *dir;
static char script[1024];

static int servers(const char *cmd, const char *what)
{
    char line[4096];
    snprintf(line, sizeof(line), "MLOPS_SERVERS_DIR='%s' '%s' %s %s >/dev/null", dir, script,
             cmd, what);
    return system(line);
}

static void uri_for(char *out, size_t cap, const char *what)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/%s.port", dir, what);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int port = 0;
    ck_assert_int_eq(fscanf(f, "%d", &port), 1);
    fclose(f);
    if (strcmp(what, "pg") == 0)
        snprintf(out, cap, "postgresql://mlops@127.0.0.1:%d/mlops_test?connect_timeout=2", port);
    else
        snprintf(out, cap, "redis://:mlops-test@127.0.0.1:%d/0?timeout=2", port);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The writer: ack[i] goes to fd once batch i is acknowledged. Exit code:
 * 0 = saw errors and succeeded after them; 1 = never saw an error; 2 = never
 * recovered; 3 = could not open. */
static int writer(const char *uri, int ack_fd, int stop_fd)
{
    mlops_store *s = NULL;
    if (mlops_store_open(&s, NULL, uri, NULL) != MLOPS_OK)
        return 3;
    int errors = 0, ok_after_error = 0;
    for (uint32_t i = 0;; i++) {
        struct pollfd p = {stop_fd, POLLIN, 0};
        if (poll(&p, 1, 0) > 0)
            break;
        char k1[32], k2[32];
        snprintf(k1, sizeof(k1), "a:%08u", i);
        snprintf(k2, sizeof(k2), "b:%08u", i);
        mlops_batch *b = NULL;
        mlops_batch_create(&b, s);
        mlops_batch_put(b, k1, strlen(k1), k1, strlen(k1));
        mlops_batch_put(b, k2, strlen(k2), k2, strlen(k2));
        mlops_status st = mlops_store_apply(s, b);
        mlops_batch_free(b);
        if (st == MLOPS_OK) {
            if (write(ack_fd, &i, sizeof(i)) != sizeof(i))
                break;
            ok_after_error += errors > 0;
        } else {
            errors++;
            usleep(20000);
        }
    }
    mlops_store_close(s);
    if (errors == 0)
        return 1;
    return ok_after_error > 0 ? 0 : 2;
}

static void run_restart(const char *what)
{
    char uri[512];
    ck_assert_int_eq(servers("start", what), 0);
    uri_for(uri, sizeof(uri), what);
    int ack[2], stop[2];
    ck_assert_int_eq(pipe2(ack, O_CLOEXEC), 0); /* servers started later must not hold them */
    ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ack[0]);
        close(stop[1]);
        _exit(writer(uri, ack[1], stop[0]));
    }
    close(ack[1]);
    close(stop[0]);
    uint8_t *acked = calloc(1u << 20, 1);
    uint32_t n_acked = 0, after_restart = 0, max_i = 0;
    int phase = 0; /* 0: before the kill, 1: down, 2: restarted */
    double t0 = now_s(), t_phase = t0;
    while (now_s() - t0 < 60) {
        struct pollfd p = {ack[0], POLLIN, 0};
        if (poll(&p, 1, 20) > 0) {
            uint32_t i;
            if (read(ack[0], &i, sizeof(i)) != sizeof(i))
                break;
            ck_assert_uint_lt(i, 1u << 20);
            acked[i] = 1;
            n_acked++;
            max_i = i > max_i ? i : max_i;
            after_restart += phase == 2;
        }
        if (getenv("MLOPS_TEST_VERBOSE"))
            fprintf(stderr, "phase %d acked %u after %u\n", phase, n_acked, after_restart);
        if (phase == 0 && n_acked >= 100) {
            ck_assert_int_eq(servers("kill", what), 0);
            phase = 1;
            t_phase = now_s();
        } else if (phase == 1 && now_s() - t_phase > 0.5) {
            ck_assert_int_eq(servers("start", what), 0);
            phase = 2;
        } else if (phase == 2 && after_restart >= 100) {
            break;
        }
    }
    close(stop[1]);
    /* drain the acks still in flight */
    uint32_t i;
    while (read(ack[0], &i, sizeof(i)) == sizeof(i)) {
        acked[i] = 1;
        n_acked++;
        max_i = i > max_i ? i : max_i;
    }
    close(ack[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    ck_assert_msg(WEXITSTATUS(status) == 0,
                  "%s writer exited %d (1: no error during the outage, 2: never recovered)", what,
                  WEXITSTATUS(status));
    ck_assert_uint_ge(after_restart, 100);
    /* I2 and I3 on a fresh handle */
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    uint32_t present = 0;
    for (uint32_t j = 0; j <= max_i + 1; j++) {
        char k1[32], k2[32];
        snprintf(k1, sizeof(k1), "a:%08u", j);
        snprintf(k2, sizeof(k2), "b:%08u", j);
        mlops_bytes v1, v2;
        mlops_status s1 = mlops_store_get(&v1, NULL, s, k1, strlen(k1));
        mlops_status s2 = mlops_store_get(&v2, NULL, s, k2, strlen(k2));
        ck_assert_msg(s1 == s2, "%s: batch %u half applied (%d, %d)", what, j, s1, s2);
        if (acked[j])
            ck_assert_msg(s1 == MLOPS_OK, "%s: acknowledged batch %u lost", what, j);
        present += s1 == MLOPS_OK;
        mlops_bytes_free(&v1);
        mlops_bytes_free(&v2);
    }
    ck_assert_uint_ge(present, n_acked);
    mlops_store_close(s);
    free(acked);
    servers("stop", what);
}

START_TEST(test_restart_postgres)
{
    run_restart("pg");
}
END_TEST

START_TEST(test_restart_redis)
{
    run_restart("redis");
}
END_TEST

int main(void)
{
    const char *root = getenv("MLOPS_SOURCE_ROOT");
    if (root == NULL) {
        printf("SKIP restart tests: MLOPS_SOURCE_ROOT is not set\n");
        return 77;
    }
    snprintf(script, sizeof(script), "%s/scripts/servers", root);
    bool pg = MLOPS_HAVE_POSTGRES && access("/usr/lib/postgresql", F_OK) == 0;
    bool rd = MLOPS_HAVE_REDIS && system("command -v redis-server >/dev/null 2>&1") == 0;
    if (!pg)
        printf("SKIP postgres restart test: backend not built or PostgreSQL not installed\n");
    if (!rd)
        printf("SKIP redis restart test: backend not built or redis-server not installed\n");
    if (!pg && !rd)
        return 77;
    char tmpl[] = "/tmp/mlops-restart-XXXXXX";
    dir = mkdtemp(tmpl);
    if (dir == NULL) {
        perror("mkdtemp");
        return 1;
    }
    chmod(dir, 0755); /* the postgres user must reach its data dir */
    Suite *s = suite_create("servers-restart");
    TCase *tc = tcase_create("restart");
    tcase_set_timeout(tc, 120);
    if (pg)
        tcase_add_test(tc, test_restart_postgres);
    if (rd)
        tcase_add_test(tc, test_restart_redis);
    suite_add_tcase(s, tc);
    int failed = tu_run(s);
    servers("stop", "all");
    char rm[256];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
    if (system(rm) != 0)
        printf("could not remove %s\n", dir);
    return failed;
}

/* SPDX-License-Identifier: MIT */
/* Crash and I/O-fault sweeps of the reference scenarios on the file
 * backend, through its I/O table (K1, K2, O1-O5; I1-I5, I9; FG1, FG3, FG5).
 * The store module's own tests sweep single store operations; these sweep
 * whole cross-module scenarios.
 *   crash:  a forked child runs the scenario and exits at the k-th
 *           disk-changing operation, before or after it; the parent
 *           reopens the store, which must check clean and hold exactly the
 *           state of the last acknowledged step or of the step in flight.
 *   kills:  random SIGKILL of a child running the scenario.
 *   faults: EIO/ENOSPC on writes, EIO on fsync, EINTR, short writes, EIO on
 *           reads, at every operation, once and persistently.
 * The normal suite runs the small scenarios, every third crash point and 50
 * kills; MLOPS_HARDENING_LONG=1 (suite 'slow') runs the full reference
 * workload (1,000 metrics), every crash point and 2,000 kills per scenario. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultio.h"
#include "scenarios.h"

static bool g_long;
static long fig_crash_ok, fig_crash_total, fig_kills, fig_lost, fig_faults, fig_fault_ok;

typedef struct reference {
    size_t ns;
    int scale;
    uint64_t before0; /* the empty store */
    uint64_t *after;  /* the state after each step */
    long ops, reads;
} reference;

static int64_t ctx_clock(void *payload)
{
    return ((const tu_clock *)payload)->now_ns;
}

/* An env reading clk (no Check helpers: used in children too). */
static mlops_env *clock_env(tu_clock *clk)
{
    clk->now_ns = SWEEP_T0_NS;
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    o.clock_fn = ctx_clock;
    o.clock_payload = clk;
    mlops_env *env = NULL;
    if (mlops_env_create(&env, &o) != MLOPS_OK)
        abort();
    return env;
}

static void release(const sweep_scenario *sc, sweep_ctx *c)
{
    sweep_release(sc, c);
}

static char *new_store(char *uri, size_t cap)
{
    char *dir = tu_tempdir();
    snprintf(uri, cap, "file:%s/store", dir);
    return dir;
}

/* Reopen with the real I/O: it must check clean; return its state. */
static uint64_t reopen_state(const sweep_scenario *sc, const char *uri, const char *what)
{
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
    ck_assert_msg(st == MLOPS_OK, "%s: reopen failed: %s", what, mlops_error_message());
    char *report = NULL;
    st = mlops_store_check(&report, s);
    ck_assert_msg(st == MLOPS_OK, "%s: store check (I5): %s %s", what, mlops_error_message(),
                  report ? report : "");
    mlops_string_free(NULL, report);
    uint64_t h = sweep_scenario_state(sc, s);
    mlops_store_close(s);
    return h;
}

static void make_reference(const sweep_scenario *sc, reference *r, uint32_t sync, int scale)
{
    r->scale = scale;
    r->ns = sc->n_steps(scale);
    r->after = calloc(r->ns, sizeof(*r->after));
    ck_assert_ptr_nonnull(r->after);
    char uri[4200];
    char *dir = new_store(uri, sizeof(uri));
    fault_io f;
    fault_io_init(&f);
    tu_clock clk = {SWEEP_T0_NS};
    tu_alloc a = {0};
    sweep_ctx c = {0};
    c.env = tu_env_new(&a, &clk);
    c.clk = &clk;
    c.uri = uri;
    c.io = &f.io;
    c.sync = sync;
    c.scale = scale;
    for (size_t i = 0; i < r->ns; i++) {
        mlops_status st = sc->step(&c, i);
        ck_assert_msg(st == MLOPS_OK, "%s: reference step %zu: %s", sc->name, i,
                      mlops_error_message());
        r->after[i] = sweep_scenario_state(sc, c.store);
    }
    release(sc, &c);
    mlops_env_free(c.env);
    r->ops = f.ops;
    /* the same scenario on mem gives the same logical states (I9) */
    {
        sweep_ctx m = {0};
        tu_alloc ma = {0};
        tu_clock mclk = {SWEEP_T0_NS};
        m.env = tu_env_new(&ma, &mclk);
        m.clk = &mclk;
        m.uri = "mem:";
        m.scale = scale;
        for (size_t i = 0; i < r->ns; i++) {
            tu_assert_ok(sc->step(&m, i));
            ck_assert_msg(sweep_scenario_state(sc, m.store) == r->after[i],
                          "%s: step %zu leaves mem and file in different states (I9)", sc->name,
                          i);
        }
        release(sc, &m);
        mlops_env_free(m.env);
    }
    tu_rmtree(dir);
    free(dir);
    /* the empty store */
    dir = new_store(uri, sizeof(uri));
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    r->before0 = sweep_scenario_state(sc, s);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
    /* count reads with a second run */
    dir = new_store(uri, sizeof(uri));
    fault_io_init(&f);
    f.mode = FIO_READ_ERRNO;
    sweep_ctx c2 = {0};
    tu_clock clk2;
    c2.env = clock_env(&clk2);
    c2.clk = &clk2;
    c2.uri = uri;
    c2.io = &f.io;
    c2.sync = sync;
    c2.scale = scale;
    for (size_t i = 0; i < r->ns; i++)
        tu_assert_ok(sc->step(&c2, i));
    release(sc, &c2);
    mlops_env_free(c2.env);
    r->reads = f.reads;
    tu_rmtree(dir);
    free(dir);
}

/* The state of a store whose scenario acknowledged `acked` steps: the state
 * after the last of them, or after the next one (the step in flight). */
static bool state_ok(const reference *r, size_t acked, uint64_t h)
{
    uint64_t prev = acked == 0 ? r->before0 : r->after[acked - 1];
    if (h == prev)
        return true;
    return acked < r->ns && h == r->after[acked];
}

/* Run the scenario in a child with the given fault; the parent learns the
 * acknowledged steps through a pipe. Returns the child's wait status. */
static int run_child(const sweep_scenario *sc, const char *uri, const fault_io *proto,
                     uint32_t sync, int scale, size_t *acked, long kill_after_us)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        fault_io f = *proto;
        f.io.payload = &f;
        sweep_ctx c = {0};
        tu_clock clk;
        c.env = clock_env(&clk);
        c.clk = &clk;
        c.uri = uri;
        c.io = &f.io;
        c.sync = sync;
        c.scale = scale;
        size_t ns = sc->n_steps(scale);
        for (size_t i = 0; i < ns; i++) {
            if (sc->step(&c, i) != MLOPS_OK) {
                fprintf(stderr, "step %zu: %s\n", i, mlops_error_message());
                _exit(2);
            }
            unsigned char b = 1;
            if (write(fds[1], &b, 1) != 1)
                _exit(3);
        }
        release(sc, &c);
        _exit(0);
    }
    close(fds[1]);
    if (kill_after_us >= 0) {
        struct timespec ts = {0, kill_after_us * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
    }
    *acked = 0;
    unsigned char b;
    while (read(fds[0], &b, 1) == 1)
        (*acked)++;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* Every point at full scale (slow), or every stride-th one (normal suite;
 * the stride is odd so both before and after points of all kinds come up). */
static void crash_sweep(const sweep_scenario *sc, int scale, long stride)
{
    reference r;
    make_reference(sc, &r, MLOPS_SYNC_FULL, scale);
    long total = 0, ok = 0;
    for (int when = FIO_CRASH_BEFORE; when <= FIO_CRASH_AFTER; when++) {
        for (long k = 1 + (when == FIO_CRASH_AFTER ? stride / 2 : 0); k <= r.ops; k += stride) {
            char uri[4200];
            char *dir = new_store(uri, sizeof(uri));
            fault_io f;
            fault_io_init(&f);
            f.mode = when;
            f.at = k;
            size_t acked = 0;
            int status = run_child(sc, uri, &f, MLOPS_SYNC_FULL, scale, &acked, -1);
            ck_assert_msg(WIFEXITED(status) &&
                              (WEXITSTATUS(status) == 137 || WEXITSTATUS(status) == 0),
                          "%s: crash at op %ld: child ended with status %d", sc->name, k,
                          status);
            char what[128];
            snprintf(what, sizeof(what), "%s crash %s op %ld/%ld", sc->name,
                     when == FIO_CRASH_BEFORE ? "before" : "after", k, r.ops);
            uint64_t h = reopen_state(sc, uri, what);
            ck_assert_msg(state_ok(&r, acked, h),
                          "%s: after %zu acknowledged steps the store holds another state "
                          "(I2/I3)", what, acked);
            /* recovery is idempotent (K4) */
            ck_assert_msg(reopen_state(sc, uri, what) == h, "%s: a second recovery differs", what);
            total++;
            ok++;
            tu_rmtree(dir);
            free(dir);
        }
    }
    printf("FIGURE crash_points_whitebox_%s=%ld/%ld (%ld ops x before/after%s)\n", sc->name,
           ok, total, r.ops, stride > 1 ? ", sampled" : "");
    free(r.after);
    fig_crash_ok += ok;
    fig_crash_total += total;
}

static void kill_sweep(const sweep_scenario *sc, int kills, int scale)
{
    reference r;
    make_reference(sc, &r, MLOPS_SYNC_NORMAL, scale);
    /* how long one run takes, to spread the kills over it */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    {
        char uri[4200];
        char *dir = new_store(uri, sizeof(uri));
        fault_io f;
        fault_io_init(&f);
        size_t acked;
        int status = run_child(sc, uri, &f, MLOPS_SYNC_NORMAL, scale, &acked, -1);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "scenario failed");
        tu_rmtree(dir);
        free(dir);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long span_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
    if (span_us < 100)
        span_us = 100;
    unsigned seed = 2026;
    long lost = 0;
    for (int n = 0; n < kills; n++) {
        char uri[4200];
        char *dir = new_store(uri, sizeof(uri));
        fault_io f;
        fault_io_init(&f);
        seed = seed * 1103515245u + 12345u;
        long delay = (long)((seed >> 4) % (unsigned long)(span_us + span_us / 4));
        size_t acked = 0;
        uint32_t sync = (n & 1) ? MLOPS_SYNC_NORMAL : MLOPS_SYNC_FULL;
        run_child(sc, uri, &f, sync, scale, &acked, delay);
        char what[128];
        snprintf(what, sizeof(what), "%s kill %d after %ld us", sc->name, n, delay);
        uint64_t h = reopen_state(sc, uri, what);
        if (!state_ok(&r, acked, h))
            lost++;
        tu_rmtree(dir);
        free(dir);
    }
    ck_assert_msg(lost == 0, "%s: %ld of %d random kills lost acknowledged steps", sc->name,
                  lost, kills);
    printf("FIGURE random_kills_%s=%d lost_acked=%ld\n", sc->name, kills, lost);
    free(r.after);
    fig_kills += kills;
    fig_lost += lost;
}

typedef struct fault_kind {
    const char *name;
    int mode;
    int err;
    bool only_writes, only_syncs;
} fault_kind;

static const fault_kind kinds[] = {
    {"eio_write", FIO_ERRNO, EIO, true, false},
    {"enospc_write", FIO_ERRNO, ENOSPC, true, false},
    {"eio_fsync", FIO_ERRNO, EIO, false, true},
    {"eio_any", FIO_ERRNO, EIO, false, false},
    {"short_write", FIO_SHORT, 0, false, false},
    {"eintr", FIO_EINTR, 0, false, false},
    {"eio_read", FIO_READ_ERRNO, EIO, false, false},
};

static bool fault_status_ok(const fault_kind *k, mlops_status st)
{
    if (k->mode == FIO_SHORT || k->mode == FIO_EINTR)
        return st == MLOPS_OK; /* retried and looped, never surfaced (O4, O5) */
    /* a best-effort write after a commit point (the old log's trailer once a
     * compaction is in place) may fail without failing the call; the state
     * checked after reopening is what proves no data was lost */
    if (st == MLOPS_OK)
        return true;
    if (k->err == ENOSPC)
        return st == MLOPS_E_NOSPC || st == MLOPS_E_CLOSED || st == MLOPS_E_IO;
    return st == MLOPS_E_IO || st == MLOPS_E_CLOSED || st == MLOPS_E_CORRUPT;
}

static void fault_sweep(const sweep_scenario *sc)
{
    reference r;
    make_reference(sc, &r, MLOPS_SYNC_FULL, 0);
    long runs = 0, ok = 0;
    for (size_t kk = 0; kk < sizeof(kinds) / sizeof(kinds[0]); kk++) {
        const fault_kind *kd = &kinds[kk];
        long points = kd->mode == FIO_READ_ERRNO ? r.reads : r.ops;
        for (int pers = 0; pers <= 1; pers++) {
            /* an interrupted call is retried: EINTR forever would be a hang
             * by design, so it is injected once only */
            if (pers && kd->mode == FIO_EINTR)
                continue;
            for (long k = 1; k <= points; k++) {
                char uri[4200];
                char *dir = new_store(uri, sizeof(uri));
                fault_io f;
                fault_io_init(&f);
                f.mode = kd->mode;
                f.err = kd->err;
                f.at = k;
                f.persistent = pers;
                f.only_writes = kd->only_writes;
                f.only_syncs = kd->only_syncs;
                tu_alloc a = {0};
                tu_clock clk = {SWEEP_T0_NS};
                sweep_ctx c = {0};
                c.env = tu_env_new(&a, &clk);
                c.clk = &clk;
                c.uri = uri;
                c.io = &f.io;
                c.sync = MLOPS_SYNC_FULL;
                size_t i = 0;
                mlops_status st = MLOPS_OK;
                for (; i < r.ns; i++) {
                    st = sc->step(&c, i);
                    if (st != MLOPS_OK)
                        break;
                }
                char what[160];
                snprintf(what, sizeof(what), "%s %s%s at op %ld", sc->name, kd->name,
                         pers ? " (persistent)" : "", k);
                if (f.hits > 0 || st != MLOPS_OK)
                    ck_assert_msg(fault_status_ok(kd, st), "%s: step %zu gave %s: %s", what, i,
                                  mlops_status_name(st), mlops_error_message());
                if (st != MLOPS_OK && c.store != NULL && pers == 0 &&
                    kd->mode != FIO_READ_ERRNO) {
                    /* the handle is usable or poisoned, never lying: a
                     * later write either works or keeps failing (I10) */
                    mlops_status s2 = mlops_store_put(c.store, "after-fault", 11, "x", 1);
                    ck_assert_msg(s2 == MLOPS_OK || s2 == MLOPS_E_CLOSED || s2 == MLOPS_E_IO,
                                  "%s: a write after the fault gave %s", what,
                                  mlops_status_name(s2));
                    if (s2 == MLOPS_OK)
                        tu_assert_ok(mlops_store_delete(c.store, "after-fault", 11));
                }
                release(sc, &c);
                mlops_env_free(c.env);
                ck_assert_msg(a.live == 0, "%s: %ld blocks leaked (I8)", what, a.live);
                /* (this caught file_compact() deleting the log that the
                 * superblock names after a failed directory fsync) */
                uint64_t h = reopen_state(sc, uri, what);
                ck_assert_msg(state_ok(&r, i, h), "%s: after a failure in step %zu the store "
                              "holds another state (I2/I3)", what, i);
                runs++;
                ok++;
                tu_rmtree(dir);
                free(dir);
            }
        }
    }
    printf("FIGURE io_faults_%s=%ld (%ld ops, %ld reads x %zu kinds x once/persistent) "
           "violations=0\n", sc->name, runs, r.ops, r.reads, sizeof(kinds) / sizeof(kinds[0]));
    fig_faults += runs;
    fig_fault_ok += ok;
    free(r.after);
}

static bool have_file(void)
{
    /* outside a test: no ck_assert helpers */
    const char *base = getenv("TMPDIR");
    char dir[4096], uri[4200];
    snprintf(dir, sizeof(dir), "%s/mlops-probe-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        return false;
    snprintf(uri, sizeof(uri), "file:%s/probe", dir);
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
    mlops_store_close(s);
    tu_rmtree(dir);
    return st == MLOPS_OK;
}

START_TEST(crash_points)
{
    for (size_t i = 0; all_scenarios[i]; i++)
        crash_sweep(all_scenarios[i], g_long ? 1 : 0, g_long ? 1 : 3);
}
END_TEST

START_TEST(random_kills)
{
    int per = g_long ? 2000 : 50;
    for (size_t i = 0; all_scenarios[i]; i++)
        kill_sweep(all_scenarios[i], per, g_long ? 1 : 0);
}
END_TEST

START_TEST(io_faults)
{
    for (size_t i = 0; all_scenarios[i]; i++)
        fault_sweep(all_scenarios[i]);
}
END_TEST

int main(int argc, char **argv)
{
    /* an argument names the one sweep to run: crash, kills or faults */
    const char *only = argc > 1 ? argv[1] : NULL;
    const char *l = getenv("MLOPS_HARDENING_LONG");
    g_long = l && *l && strcmp(l, "0") != 0;
    if (!have_file()) {
        printf("crash sweeps: the file backend is not built; nothing to do\n");
        return 0;
    }
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 3600);
    if (!only || strcmp(only, "crash") == 0)
        tcase_add_test(tc, crash_points);
    if (!only || strcmp(only, "kills") == 0)
        tcase_add_test(tc, random_kills);
    if (!only || strcmp(only, "faults") == 0)
        tcase_add_test(tc, io_faults);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0) {
        printf("FIGURE crash_points_whitebox=%ld/%ld\n", fig_crash_ok, fig_crash_total);
        printf("FIGURE random_kills=%ld lost_acked=%ld\n", fig_kills, fig_lost);
        printf("FIGURE io_faults=%ld violations=%ld\n", fig_faults, fig_faults - fig_fault_ok);
    }
    return failed == 0 ? 0 : 1;
}

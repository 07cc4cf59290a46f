/* SPDX-License-Identifier: MIT */
/*
 * Metric logging and search, measured beside SQLite in the same run.
 *
 *   bench_run [--points N] [--runs R] [--dir DIR]
 *
 * Prints `FIGURE name=value` lines and side-by-side ratios:
 *  - log_metric into the mem backend: one call per point (synchronous), a
 *    batch of 1000 per call, and asynchronous mode (ring + writer thread);
 *  - durable logging into the file backend (sync=full, fsync per batch) in
 *    batches of 100, against SQLite in WAL mode with synchronous=FULL and a
 *    commit per 100 points, into a table shaped like MLflow's `metrics`
 *    (key, value, timestamp, run_uuid, step, is_nan; MLflow's primary key);
 *  - SQLite with one transaction for everything, and a commit per point;
 *  - search over R runs with 20 metrics each (mem and file backends).
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mlops/mlops.h>

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* The machine is shared: CPU time of the process shows the cost without
 * the waits for a core that other work on the machine causes. */
static double cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double last_cpu_rate; /* points per CPU second of the last measurement */

static void die(const char *what, mlops_status st)
{
    fprintf(stderr, "bench_run: %s: %s (%s)\n", what, mlops_error_message(),
            mlops_status_name(st));
    exit(1);
}

#define CHECK(expr, what)                                                                          \
    do {                                                                                           \
        mlops_status st_ = (expr);                                                                 \
        if (st_ != MLOPS_OK)                                                                       \
            die(what, st_);                                                                        \
    } while (0)

static const char *keys[4] = {"loss", "accuracy", "val_loss", "val_auc"};

static mlops_run *new_run(mlops_store *s)
{
    mlops_run *r = NULL;
    mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
    o.flags = MLOPS_RUN_NO_ENVIRONMENT | MLOPS_RUN_NO_SYSTEM_TAGS;
    CHECK(mlops_run_create(&r, s, NULL, &o), "run");
    return r;
}

static double mem_single(long n)
{
    mlops_store *s = NULL;
    CHECK(mlops_store_open(&s, NULL, "mem:", NULL), "mem store");
    mlops_run *r = new_run(s);
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++)
        CHECK(mlops_run_log_metric_at(r, keys[i & 3], (double)i * 1e-3, i >> 2, 1700000000000 + i),
              "log_metric");
    double dt = now_s() - t0;
    last_cpu_rate = n / (cpu_s() - c0);
    mlops_run_close(r);
    mlops_store_close(s);
    return n / dt;
}

static double batched(mlops_store *s, long n, size_t batch)
{
    mlops_run *r = new_run(s);
    mlops_metric_point *pts = calloc(batch, sizeof(*pts));
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i += (long)batch) {
        size_t k = (size_t)(n - i) < batch ? (size_t)(n - i) : batch;
        for (size_t j = 0; j < k; j++) {
            long p = i + (long)j;
            pts[j] = (mlops_metric_point){keys[p & 3], (double)p * 1e-3, p >> 2,
                                          1700000000000 + p};
        }
        CHECK(mlops_run_log_metrics(r, pts, k), "log_metrics");
    }
    double dt = now_s() - t0;
    last_cpu_rate = n / (cpu_s() - c0);
    free(pts);
    mlops_run_close(r);
    return n / dt;
}

static double mem_batched(long n, size_t batch)
{
    mlops_store *s = NULL;
    CHECK(mlops_store_open(&s, NULL, "mem:", NULL), "mem store");
    double rate = batched(s, n, batch);
    mlops_store_close(s);
    return rate;
}

static double mem_async(long n)
{
    mlops_store *s = NULL;
    CHECK(mlops_store_open(&s, NULL, "mem:", NULL), "mem store");
    mlops_run *r = new_run(s);
    CHECK(mlops_run_set_async(r, 1 << 16), "async");
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++)
        CHECK(mlops_run_log_metric_at(r, keys[i & 3], (double)i * 1e-3, i >> 2, 1700000000000 + i),
              "log_metric");
    CHECK(mlops_run_flush(r), "flush");
    double dt = now_s() - t0;
    last_cpu_rate = n / (cpu_s() - c0); /* both threads */
    mlops_run_close(r);
    mlops_store_close(s);
    return n / dt;
}

/* ---- SQLite, MLflow's metrics table ---- */

static sqlite3 *sq_open(const char *path, const char *sync)
{
    sqlite3 *db = NULL;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite open failed\n");
        exit(1);
    }
    char sql[200];
    snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;", sync);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_exec(db,
                 "CREATE TABLE metrics (key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, "
                 "timestamp BIGINT NOT NULL, run_uuid VARCHAR(32) NOT NULL, step BIGINT NOT NULL "
                 "DEFAULT 0, is_nan BOOLEAN NOT NULL DEFAULT 0, PRIMARY KEY (key, timestamp, "
                 "step, run_uuid, value, is_nan))",
                 NULL, NULL, NULL);
    return db;
}

static double sqlite_rate_sync(const char *path, long n, long per_txn, const char *sync)
{
    sqlite3 *db = sq_open(path, sync);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       -1, &ins, NULL);
    const char *run = "0123456789abcdef0123456789abcdef";
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (i % per_txn == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        double v = (double)i * 1e-3;
        sqlite3_bind_text(ins, 1, keys[i & 3], -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 2, v);
        sqlite3_bind_int64(ins, 3, 1700000000000 + i);
        sqlite3_bind_text(ins, 4, run, 32, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, i >> 2);
        sqlite3_bind_int(ins, 6, isnan(v));
        if (sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "sqlite insert: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(ins);
        if (i % per_txn == per_txn - 1 || i == n - 1)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double dt = now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    unlink(path);
    return n / dt;
}

static double sqlite_rate(const char *path, long n, long per_txn)
{
    return sqlite_rate_sync(path, n, per_txn, "FULL");
}

/* ---- several writers, batches of 100, durable ---- */

typedef struct wctx {
    mlops_store *store;
    long n;
    const char *sqpath;
} wctx;

static void *mlops_writer(void *arg)
{
    wctx *c = arg;
    batched(c->store, c->n, 100);
    return NULL;
}

static void *sqlite_writer(void *arg)
{
    wctx *c = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open(c->sqpath, &db) != SQLITE_OK)
        return NULL;
    sqlite3_busy_timeout(db, 60000);
    sqlite3_exec(db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                       "VALUES (?, ?, ?, ?, ?, 0)",
                       -1, &ins, NULL);
    char run[33];
    snprintf(run, sizeof(run), "%032lx", (unsigned long)pthread_self());
    for (long i = 0; i < c->n; i++) {
        if (i % 100 == 0)
            while (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
                ;
        sqlite3_bind_text(ins, 1, keys[i & 3], -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 2, (double)i);
        sqlite3_bind_int64(ins, 3, 1700000000000 + i);
        sqlite3_bind_text(ins, 4, run, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 5, i >> 2);
        sqlite3_step(ins);
        sqlite3_reset(ins);
        if (i % 100 == 99 || i == c->n - 1)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return NULL;
}

static double threads_rate(void *(*fn)(void *), wctx *c, int nthreads)
{
    pthread_t th[16];
    double t0 = now_s();
    for (int i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, fn, c);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    return c->n * nthreads / (now_s() - t0);
}

/* ---- search ---- */

static void fill_runs(mlops_store *s, int runs)
{
    char *exp = NULL;
    CHECK(mlops_experiment_get_or_create(&exp, s, "bench-search"), "experiment");
    char names[20][8];
    for (int k = 0; k < 20; k++)
        snprintf(names[k], sizeof(names[k]), "m%d", k);
    unsigned seed = 1;
    for (int i = 0; i < runs; i++) {
        mlops_run *r = NULL;
        mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
        o.flags = MLOPS_RUN_NO_ENVIRONMENT | MLOPS_RUN_NO_SYSTEM_TAGS;
        CHECK(mlops_run_create(&r, s, exp, &o), "run");
        mlops_metric_point pts[20];
        for (int k = 0; k < 20; k++) {
            seed = seed * 1103515245u + 12345u;
            pts[k] = (mlops_metric_point){names[k], (seed >> 8) / 16777216.0, 0, 1700000000000};
        }
        const char *pk[] = {"model"}, *pv[] = {i % 3 ? "gbm" : "linear"};
        CHECK(mlops_run_log_batch(r, pts, 20, pk, pv, 1, NULL, NULL, 0), "log");
        mlops_run_close(r);
    }
    mlops_string_free(NULL, exp);
}

static double search_cpu_ms;

static double search_ms(mlops_store *s, size_t *found)
{
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *order[] = {"metrics.m3 DESC"};
    o.filter = "metrics.m5 > 0.5 AND params.model = 'gbm'";
    o.order_by = order;
    o.n_order_by = 1;
    o.max_results = 1000;
    double best = 1e9, best_cpu = 1e9;
    for (int rep = 0; rep < 7; rep++) {
        mlops_run_list *l = NULL;
        double t0 = now_s(), c0 = cpu_s();
        CHECK(mlops_run_search(&l, s, &o), "search");
        double dt = now_s() - t0, dc = cpu_s() - c0;
        *found = mlops_run_list_count(l);
        mlops_run_list_free(l);
        if (dt < best)
            best = dt;
        if (dc < best_cpu)
            best_cpu = dc;
    }
    search_cpu_ms = best_cpu * 1e3;
    return best * 1e3;
}

int main(int argc, char **argv)
{
    long n = 2000000, durable_n = 20000;
    int runs = 10000;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--points") == 0)
            n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--durable-points") == 0)
            durable_n = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_run: libmlops %s, SQLite %s, %ld CPUs, %ld points in memory, %ld durable, "
           "%d runs for search, scratch in %s\n",
           mlops_version_string(), sqlite3_libversion(), cpus, n, durable_n, runs, dir);

    double load[3] = {0};
    if (getloadavg(load, 3) > 0)
        printf("load average at start: %.2f (2 cores are shared with other work; CPU-time "
               "figures show the cost without waiting for a core)\n", load[0]);

    /* ---- into memory ---- */
    double single = mem_single(n / 4);
    double single_cpu = last_cpu_rate;
    double batch = mem_batched(n, 1000);
    double batch_cpu = last_cpu_rate;
    double asy = mem_async(n);
    double asy_cpu = last_cpu_rate;
    char sqpath[600];
    snprintf(sqpath, sizeof(sqpath), "%s/bench_run_%d.sqlite", dir, (int)getpid());
    double sq_one = sqlite_rate(sqpath, n / 4, n);
    printf("FIGURE log_metric_mem_sync_points_per_s=%.0f\n", single);
    printf("FIGURE log_metrics_mem_batch1000_points_per_s=%.0f\n", batch);
    printf("FIGURE log_metric_mem_async_points_per_s=%.0f\n", asy);
    printf("FIGURE log_metric_mem_sync_points_per_cpu_s=%.0f\n", single_cpu);
    printf("FIGURE log_metrics_mem_batch1000_points_per_cpu_s=%.0f\n", batch_cpu);
    printf("FIGURE log_metric_mem_async_points_per_cpu_s=%.0f\n", asy_cpu);
    printf("FIGURE sqlite_one_txn_points_per_s=%.0f\n", sq_one);
    printf("ratio mem sync  / sqlite one txn: %.1fx\n", single / sq_one);
    printf("ratio mem batch / sqlite one txn: %.1fx\n", batch / sq_one);
    printf("ratio mem async / sqlite one txn: %.1fx\n", asy / sq_one);

    /* ---- durably: file backend, fsync per batch of 100, vs SQLite WAL FULL ---- */
    char fpath[600];
    snprintf(fpath, sizeof(fpath), "%s/bench_run_store_%d", dir, (int)getpid());
    mlops_store *fs = NULL;
    mlops_store_options so = MLOPS_STORE_OPTIONS_INIT;
    so.sync = MLOPS_SYNC_FULL;
    mlops_status st = mlops_store_open(&fs, NULL, fpath, &so);
    double sq100 = sqlite_rate(sqpath, durable_n, 100);
    double sq1 = sqlite_rate(sqpath, durable_n / 10, 1);
    printf("FIGURE sqlite_wal_full_commit_per_100_points_per_s=%.0f\n", sq100);
    printf("FIGURE sqlite_wal_full_commit_per_point_points_per_s=%.0f\n", sq1);
    if (st == MLOPS_OK) {
        double f100 = batched(fs, durable_n, 100);
        double f1000 = batched(fs, durable_n * 5, 1000);
        printf("FIGURE log_metrics_file_full_batch100_points_per_s=%.0f\n", f100);
        printf("FIGURE log_metrics_file_full_batch1000_points_per_s=%.0f\n", f1000);
        printf("ratio file batch100 / sqlite WAL commit per 100: %.1fx (goal >= 3x)\n",
               f100 / sq100);
        /* the same batch size with 4 writers (runs) at once: the file backend
         * covers concurrent batches with one fdatasync (group commit) */
        wctx c = {fs, durable_n / 4, sqpath};
        double f4 = threads_rate(mlops_writer, &c, 4);
        sqlite3 *db = sq_open(sqpath, "FULL");
        sqlite3_close(db);
        double s4 = threads_rate(sqlite_writer, &c, 4);
        printf("FIGURE log_metrics_file_full_batch100_4writers_points_per_s=%.0f\n", f4);
        printf("FIGURE sqlite_wal_full_commit_per_100_4writers_points_per_s=%.0f\n", s4);
        printf("ratio 4 writers, file / sqlite: %.1fx\n", f4 / s4);
        /* durability NORMAL on both sides: survives a process crash, not power loss */
        mlops_store *fn = NULL;
        char npath[700];
        snprintf(npath, sizeof(npath), "%s-normal", fpath);
        mlops_store_options son = MLOPS_STORE_OPTIONS_INIT;
        son.sync = MLOPS_SYNC_NORMAL;
        if (mlops_store_open(&fn, NULL, npath, &son) == MLOPS_OK) {
            double fnr = batched(fn, durable_n * 5, 100);
            double snr = sqlite_rate_sync(sqpath, durable_n * 5, 100, "NORMAL");
            printf("FIGURE log_metrics_file_normal_batch100_points_per_s=%.0f\n", fnr);
            printf("FIGURE sqlite_wal_normal_commit_per_100_points_per_s=%.0f\n", snr);
            printf("ratio sync=normal batch100, file / sqlite: %.1fx\n", fnr / snr);
            mlops_store_close(fn);
            char cmd[800];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", npath);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", npath);
        }
    } else {
        printf("file backend not available (%s): durable figures skipped\n",
               mlops_error_message());
    }

    /* ---- search ---- */
    mlops_store *ms = NULL;
    CHECK(mlops_store_open(&ms, NULL, "mem:", NULL), "mem store");
    double t0 = now_s();
    fill_runs(ms, runs);
    double fill = now_s() - t0;
    size_t found = 0;
    double mem_ms = search_ms(ms, &found);
    printf("FIGURE search_mem_%druns_20metrics_ms=%.1f\n", runs, mem_ms);
    printf("FIGURE search_mem_%druns_20metrics_cpu_ms=%.1f\n", runs, search_cpu_ms);
    printf("  (%zu runs matched; filling took %.2f s; goal < 50 ms)\n", found, fill);
    mlops_store_close(ms);
    if (fs != NULL) {
        fill_runs(fs, runs);
        double file_ms = search_ms(fs, &found);
        printf("FIGURE search_file_%druns_20metrics_ms=%.1f\n", runs, file_ms);
        printf("FIGURE search_file_%druns_20metrics_cpu_ms=%.1f\n", runs, search_cpu_ms);
        mlops_store_close(fs);
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fpath);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fpath);
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* Benchmarks of the PostgreSQL and Redis backends on loopback, each next to
 * the reference it replaces, measured in the same run:
 *
 *   metric logging: batches of 100 metric points (MLflow's shape) through
 *     the store, vs raw libpq inserting the same points in one multi-row
 *     INSERT per batch into MLflow's metrics table;
 *   store ops: single puts, gets, CAS promotions, and a 16 MiB blob;
 *   online lookups for 100 entities (workloads/README.md, online store):
 *     through the redis backend one get at a time and pipelined, vs
 *     Feast-style one HGETALL per entity (sequential and pipelined raw
 *     hiredis), vs the in-process mem store.
 *
 * Usage: bench_servers [entities]   (URIs from MLOPS_TEST_PG_URI and
 * MLOPS_TEST_REDIS_URI, as written by scripts/servers). Prints FIGURE lines. */
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlops_config.h"
#include "store/redis/redis.h"
#include "store/store_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_servers: %s: %s\n", what, mlops_error_message());
    exit(1);
}

static void fig(const char *name, double v)
{
    printf("FIGURE %s=%.6g\n", name, v);
    fflush(stdout);
}

static char tag[64];

static void uri_with(char *out, size_t cap, const char *base, int kind)
{
    const char *sep = strchr(base, '?') ? "&" : "?";
    if (kind == 0)
        snprintf(out, cap, "%s%smlops_schema=%s", base, sep, tag);
    else
        snprintf(out, cap, "%s%sprefix=%s:", base, sep, tag);
}

/* ---- metric logging ---- */

enum { POINTS = 20000, PER_BATCH = 100 };

static double log_metrics(mlops_store *s)
{
    static const char *const keys[10] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr",
                                         "grad_norm", "throughput", "epoch_time", "auc", "f1"};
    mlops_batch *b = NULL;
    if (mlops_batch_create(&b, s) != MLOPS_OK)
        die("batch");
    double t0 = now_s();
    for (int i = 0; i < POINTS; i++) {
        char k[96];
        uint8_t v[24];
        int step = i / 100;
        int n = snprintf(k, sizeof(k), "m/%032x/%s/%012d", (i / 10) % 10, keys[i % 10], step);
        double val = (1 + i % 10) * exp(-step / 1000.0);
        int64_t ts = 1700000000000LL + step * 1000;
        memcpy(v, &val, 8);
        memcpy(v + 8, &ts, 8);
        memcpy(v + 16, &step, 4);
        if (mlops_batch_put(b, k, (size_t)n, v, 20) != MLOPS_OK)
            die("batch put");
        if ((i + 1) % PER_BATCH == 0) {
            if (mlops_store_apply(s, b) != MLOPS_OK)
                die("apply");
            mlops_batch_clear(b);
        }
    }
    double dt = now_s() - t0;
    mlops_batch_free(b);
    return POINTS / dt;
}

/* MLflow's metrics table, 100 points per multi-row INSERT (one transaction). */
static double log_metrics_raw_pg(const char *base)
{
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "raw pg: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    char sql[8192];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE \"%s\".metrics (key varchar(250) NOT NULL, value double precision "
             "NOT NULL, timestamp bigint NOT NULL, run_uuid varchar(32) NOT NULL, step bigint "
             "NOT NULL DEFAULT 0, is_nan boolean NOT NULL DEFAULT false, PRIMARY KEY (key, "
             "timestamp, step, run_uuid, value, is_nan))",
             tag);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof(sql), "CREATE INDEX ON \"%s\".metrics (run_uuid)", tag);
    PQclear(PQexec(c, sql));
    /* one statement with 100 rows of 5 parameters */
    int off = snprintf(sql, sizeof(sql),
                       "INSERT INTO \"%s\".metrics (key, value, timestamp, run_uuid, step) VALUES ",
                       tag);
    for (int r = 0; r < PER_BATCH; r++)
        off += snprintf(sql + off, sizeof(sql) - (size_t)off, "%s($%d,$%d::float8,$%d::int8,$%d,$%d::int8)",
                        r ? "," : "", r * 5 + 1, r * 5 + 2, r * 5 + 3, r * 5 + 4, r * 5 + 5);
    static char vals[PER_BATCH * 5][48];
    const char *pv[PER_BATCH * 5];
    static const char *const keys[10] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr",
                                         "grad_norm", "throughput", "epoch_time", "auc", "f1"};
    double t0 = now_s();
    for (int i0 = 0; i0 < POINTS; i0 += PER_BATCH) {
        for (int r = 0; r < PER_BATCH; r++) {
            int i = i0 + r, step = i / 100;
            snprintf(vals[r * 5], 48, "%s", keys[i % 10]);
            snprintf(vals[r * 5 + 1], 48, "%.17g", (1 + i % 10) * exp(-step / 1000.0));
            snprintf(vals[r * 5 + 2], 48, "%lld", 1700000000000LL + step * 1000);
            snprintf(vals[r * 5 + 3], 48, "%032x", (i / 10) % 10);
            snprintf(vals[r * 5 + 4], 48, "%d", step);
            for (int k = 0; k < 5; k++)
                pv[r * 5 + k] = vals[r * 5 + k];
        }
        PGresult *res = PQexecParams(c, sql, PER_BATCH * 5, NULL, pv, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "raw pg insert: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(res);
    }
    double dt = now_s() - t0;
    PQfinish(c);
    return POINTS / dt;
}

/* ---- store ops ---- */

static void store_ops(mlops_store *s, const char *name)
{
    char fname[128];
    enum { N = 2000 };
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        char k[32];
        int n = snprintf(k, sizeof(k), "op:%06d", i);
        if (mlops_store_put(s, k, (size_t)n, k, (size_t)n) != MLOPS_OK)
            die("put");
    }
    snprintf(fname, sizeof(fname), "%s_put_per_s", name);
    fig(fname, N / (now_s() - t0));
    t0 = now_s();
    unsigned seed = 1;
    for (int i = 0; i < N; i++) {
        char k[32];
        seed = seed * 1103515245u + 12345u;
        int n = snprintf(k, sizeof(k), "op:%06u", (seed >> 8) % N);
        mlops_bytes v;
        if (mlops_store_get(&v, NULL, s, k, (size_t)n) != MLOPS_OK)
            die("get");
        mlops_bytes_free(&v);
    }
    snprintf(fname, sizeof(fname), "%s_get_per_s", name);
    fig(fname, N / (now_s() - t0));
    /* CAS promotions: read the version, apply guarded by it */
    if (mlops_store_put(s, "stage", 5, "v0", 2) != MLOPS_OK)
        die("put");
    mlops_batch *b = NULL;
    mlops_batch_create(&b, s);
    enum { C = 500 };
    t0 = now_s();
    for (int i = 0; i < C; i++) {
        mlops_bytes v;
        uint64_t ver = 0;
        if (mlops_store_get(&v, &ver, s, "stage", 5) != MLOPS_OK)
            die("get");
        mlops_bytes_free(&v);
        mlops_batch_clear(b);
        mlops_batch_require_version(b, "stage", 5, ver);
        mlops_batch_put(b, "stage", 5, &i, sizeof(i));
        mlops_batch_put(b, "history", 7, &i, sizeof(i));
        if (mlops_store_apply(s, b) != MLOPS_OK)
            die("cas");
    }
    mlops_batch_free(b);
    snprintf(fname, sizeof(fname), "%s_cas_promotions_per_s", name);
    fig(fname, C / (now_s() - t0));
    /* one 16 MiB blob */
    size_t bn = 16u << 20;
    uint8_t *data = malloc(bn);
    for (size_t i = 0; i < bn; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 11);
    mlops_hash128 id;
    t0 = now_s();
    if (mlops_store_blob_put(&id, s, data, bn) != MLOPS_OK)
        die("blob put");
    snprintf(fname, sizeof(fname), "%s_blob_write_MBps", name);
    fig(fname, 16 / (now_s() - t0));
    mlops_bytes got;
    t0 = now_s();
    if (mlops_store_blob_get(&got, s, &id, 0) != MLOPS_OK)
        die("blob get");
    snprintf(fname, sizeof(fname), "%s_blob_read_MBps", name);
    fig(fname, 16 / (now_s() - t0));
    mlops_bytes_free(&got);
    free(data);
}

/* ---- online lookups ---- */

static redisContext *raw_redis(const char *base)
{
    char host[128] = "127.0.0.1", pass[128] = "";
    int port = 6379;
    const char *p = base + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *ps = colon ? colon + 1 : p;
        snprintf(pass, sizeof(pass), "%.*s", (int)(at - ps), ps);
        p = at + 1;
    }
    const char *colon = strchr(p, ':');
    if (colon) {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
        port = atoi(colon + 1);
    }
    redisContext *c = redisConnect(host, port);
    if (c == NULL || c->err) {
        fprintf(stderr, "raw redis: cannot connect\n");
        exit(1);
    }
    if (pass[0])
        freeReplyObject(redisCommand(c, "AUTH %s", pass));
    return c;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Report the median and p99 of per-batch times (µs) and entities/s. */
static void report(const char *name, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    char f[128];
    snprintf(f, sizeof(f), "online100_%s_median_us", name);
    fig(f, t[n / 2] * 1e6);
    snprintf(f, sizeof(f), "online100_%s_p99_us", name);
    fig(f, t[n * 99 / 100] * 1e6);
    snprintf(f, sizeof(f), "online100_%s_entities_per_s", name);
    fig(f, 100 / t[n / 2]);
}

static void online(const char *redis_base, int entities)
{
    char uri[1024];
    uri_with(uri, sizeof(uri), redis_base, 1);
    mlops_store *rs = NULL, *ms = NULL;
    mlops_backend *rb = NULL;
    if (mlops_store_open(&rs, NULL, uri, NULL) != MLOPS_OK)
        die("open redis");
    if (mlops_store_open(&ms, NULL, "mem:", NULL) != MLOPS_OK)
        die("open mem");
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    if (mlops__redis_backend_new(&rb, NULL, uri, &o) != MLOPS_OK)
        die("redis backend");
    redisContext *raw = raw_redis(redis_base);
    /* load: the store keys hold 4 packed float64 (the "s:" string form);
     * the Feast-style hashes hold f0..f3 as %.17g text */
    mlops_batch *rbat = NULL, *mbat = NULL;
    mlops_batch_create(&rbat, rs);
    mlops_batch_create(&mbat, ms);
    uint64_t x = 42;
    double t0 = now_s();
    for (int i = 0; i < entities; i++) {
        double f[4];
        for (int k = 0; k < 4; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            f[k] = (double)(int64_t)(x >> 11) / 9.007199254740992e15;
        }
        char k[32];
        int n = snprintf(k, sizeof(k), "s:%012d", i);
        mlops_batch_put(rbat, k, (size_t)n, f, sizeof(f));
        mlops_batch_put(mbat, k, (size_t)n, f, sizeof(f));
        char a[4][32];
        for (int j = 0; j < 4; j++)
            snprintf(a[j], sizeof(a[j]), "%.17g", f[j]);
        redisAppendCommand(raw, "HSET %s:e:%012d f0 %s f1 %s f2 %s f3 %s", tag, i, a[0], a[1],
                           a[2], a[3]);
        if ((i + 1) % 1000 == 0 || i + 1 == entities) {
            if (mlops_store_apply(rs, rbat) != MLOPS_OK || mlops_store_apply(ms, mbat) != MLOPS_OK)
                die("load");
            mlops_batch_clear(rbat);
            mlops_batch_clear(mbat);
            for (int j = i - (i % 1000); j <= i; j++) {
                void *r = NULL;
                redisGetReply(raw, &r);
                freeReplyObject(r);
            }
        }
    }
    mlops_batch_free(rbat);
    mlops_batch_free(mbat);
    fig("online_load_entities_per_s", entities / (now_s() - t0));
    enum { ROUNDS = 300, B = 100 };
    double *t = malloc(sizeof(double) * ROUNDS);
    char keys[B][32];
    const uint8_t *kp[B];
    size_t kl[B];
    mlops_bytes vals[B];
    mlops_status sts[B];
    unsigned seed = 5;
    double checksum[5] = {0};
    for (int mode = 0; mode < 5; mode++) {
        seed = 5; /* every mode reads the same entities */
        static const char *const names[5] = {"redis_store_get", "redis_pipelined_get",
                                             "feast_hgetall", "feast_hgetall_pipelined",
                                             "mem_store_get"};
        for (int r = 0; r < ROUNDS; r++) {
            for (int j = 0; j < B; j++) {
                seed = seed * 1103515245u + 12345u;
                int e = (int)((seed >> 8) % (unsigned)entities);
                kl[j] = (size_t)snprintf(keys[j], sizeof(keys[j]), "%s%012d",
                                         mode == 2 || mode == 3 ? "e:" : "s:", e);
                kp[j] = (const uint8_t *)keys[j];
            }
            double s0 = now_s();
            if (mode == 0 || mode == 4) {
                for (int j = 0; j < B; j++) {
                    mlops_bytes v;
                    if (mlops_store_get(&v, NULL, mode == 0 ? rs : ms, kp[j], kl[j]) != MLOPS_OK)
                        die("online get");
                    double f0;
                    memcpy(&f0, v.data, 8);
                    checksum[mode] += f0;
                    mlops_bytes_free(&v);
                }
            } else if (mode == 1) {
                if (mlops__redis_get_many(rb, B, kp, kl, vals, NULL, sts) != MLOPS_OK)
                    die("get_many");
                for (int j = 0; j < B; j++) {
                    if (sts[j] != MLOPS_OK)
                        die("get_many key");
                    double f0;
                    memcpy(&f0, vals[j].data, 8);
                    checksum[mode] += f0;
                    mlops_bytes_free(&vals[j]);
                }
            } else {
                for (int j = 0; j < B; j++) {
                    if (mode == 2) {
                        redisReply *rep = redisCommand(raw, "HGETALL %s:%s", tag, keys[j]);
                        checksum[mode] += strtod(rep->element[1]->str, NULL);
                        freeReplyObject(rep);
                    } else {
                        redisAppendCommand(raw, "HGETALL %s:%s", tag, keys[j]);
                    }
                }
                for (int j = 0; mode == 3 && j < B; j++) {
                    void *rv = NULL;
                    redisGetReply(raw, &rv);
                    redisReply *rep = rv;
                    checksum[mode] += strtod(rep->element[1]->str, NULL);
                    freeReplyObject(rep);
                }
            }
            t[r] = now_s() - s0;
        }
        report(names[mode], t, ROUNDS);
    }
    /* every mode read the same random entities, so the sums agree */
    for (int m = 1; m < 5; m++)
        if (fabs(checksum[m] - checksum[0]) > 1e-6 * (1 + fabs(checksum[0])))
            fprintf(stderr, "bench_servers: checksum of mode %d differs: %.17g vs %.17g\n", m,
                    checksum[m], checksum[0]);
    free(t);
    /* cleanup the Feast-style hashes */
    for (int i = 0; i < entities; i++)
        redisAppendCommand(raw, "DEL %s:e:%012d", tag, i);
    for (int i = 0; i < entities; i++) {
        void *r = NULL;
        redisGetReply(raw, &r);
        freeReplyObject(r);
    }
    redisFree(raw);
    rb->ops->close(rb);
    mlops_store_close(rs);
    mlops_store_close(ms);
}

int main(int argc, char **argv)
{
    int entities = argc > 1 ? atoi(argv[1]) : 100000;
    const char *pg = getenv("MLOPS_TEST_PG_URI");
    const char *rd = getenv("MLOPS_TEST_REDIS_URI");
    snprintf(tag, sizeof(tag), "bench_%d", (int)getpid());
    printf("# bench_servers: %d entities; PostgreSQL %s; Redis %s (loopback)\n", entities,
           pg ? "yes" : "no (MLOPS_TEST_PG_URI unset)", rd ? "yes" : "no (MLOPS_TEST_REDIS_URI unset)");
    mlops_store *mem = NULL;
    if (mlops_store_open(&mem, NULL, "mem:", NULL) != MLOPS_OK)
        die("mem");
    double mem_rate = log_metrics(mem);
    fig("metrics_mem_points_per_s", mem_rate);
    store_ops(mem, "mem");
    mlops_store_close(mem);
    char uri[1024];
    if (pg && MLOPS_HAVE_POSTGRES) {
        mlops_store *s = NULL;
        uri_with(uri, sizeof(uri), pg, 0);
        if (mlops_store_open(&s, NULL, uri, NULL) != MLOPS_OK)
            die("open postgres");
        double ours = log_metrics(s);
        double ref = log_metrics_raw_pg(pg);
        fig("metrics_pg_points_per_s", ours);
        fig("metrics_raw_libpq_mlflow_table_points_per_s", ref);
        fig("metrics_pg_vs_raw_libpq_ratio", ours / ref);
        store_ops(s, "pg");
        mlops_store_close(s);
        PGconn *c = PQconnectdb(pg);
        char sql[128];
        snprintf(sql, sizeof(sql), "SET client_min_messages = warning; DROP SCHEMA \"%s\" CASCADE",
                 tag);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
    if (rd && MLOPS_HAVE_REDIS) {
        mlops_store *s = NULL;
        uri_with(uri, sizeof(uri), rd, 1);
        if (mlops_store_open(&s, NULL, uri, NULL) != MLOPS_OK)
            die("open redis");
        fig("metrics_redis_points_per_s", log_metrics(s));
        store_ops(s, "redis");
        mlops_store_close(s);
        online(rd, entities);
        /* drop the store's keys */
        redisContext *raw = raw_redis(rd);
        unsigned long long cursor = 0;
        char match[96];
        snprintf(match, sizeof(match), "%s:*", tag);
        do {
            redisReply *r = redisCommand(raw, "SCAN %llu MATCH %s COUNT 5000", cursor, match);
            if (r == NULL || r->type != REDIS_REPLY_ARRAY)
                break;
            cursor = strtoull(r->element[0]->str, NULL, 10);
            for (size_t i = 0; i < r->element[1]->elements; i++)
                redisAppendCommand(raw, "DEL %b", r->element[1]->element[i]->str,
                                   r->element[1]->element[i]->len);
            for (size_t i = 0; i < r->element[1]->elements; i++) {
                void *d = NULL;
                redisGetReply(raw, &d);
                freeReplyObject(d);
            }
            freeReplyObject(r);
        } while (cursor != 0);
        redisFree(raw);
    }
    return 0;
}

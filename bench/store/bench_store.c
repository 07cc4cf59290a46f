/* SPDX-License-Identifier: MIT */
/* The file backend against SQLite (WAL mode) on the same key-value workload,
 * run side by side, plus blob throughput against zstd level 1 on the same
 * data. Prints `FIGURE name=value` lines and ratios (ours / SQLite; > 1 means
 * the file backend is faster).
 *
 * usage: bench_store [--quick] [DIR]   (DIR: scratch directory, default $TMPDIR or /tmp) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "mlops/mlops.h"

#define VAL_LEN 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int make_key(char *k, uint64_t i)
{
    return snprintf(k, 32, "key%012llu", (unsigned long long)i);
}

static void make_val(uint8_t *v, uint64_t i)
{
    for (int j = 0; j < VAL_LEN; j++)
        v[j] = (uint8_t)('a' + (i * 7 + (uint64_t)j * 13) % 26);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, mlops_error_message());
    exit(1);
}

static void sq_die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_store: sqlite %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void rmrf(const char *p)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_store: cannot remove %s\n", p);
}

/* ---- ours ---- */

static mlops_store *ours_open(const char *dir, uint32_t sync)
{
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.sync = sync;
    mlops_store *s = NULL;
    if (mlops_store_open(&s, NULL, dir, &o) != MLOPS_OK)
        die("open");
    return s;
}

/* n batches of `per` puts starting at key `first`; returns puts/s */
static double ours_write(mlops_store *s, uint64_t first, uint64_t n, uint64_t per)
{
    char k[32];
    uint8_t v[VAL_LEN];
    mlops_batch *b = NULL;
    if (mlops_batch_create(&b, s) != MLOPS_OK)
        die("batch");
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        mlops_batch_clear(b);
        for (uint64_t j = 0; j < per; j++) {
            uint64_t id = first + i * per + j;
            int kl = make_key(k, id);
            make_val(v, id);
            if (mlops_batch_put(b, k, (size_t)kl, v, VAL_LEN) != MLOPS_OK)
                die("batch put");
        }
        if (mlops_store_apply(s, b) != MLOPS_OK)
            die("apply");
    }
    double dt = now_s() - t0;
    mlops_batch_free(b);
    return (double)(n * per) / dt;
}

static double ours_get(mlops_store *s, uint64_t nkeys, uint64_t n)
{
    char k[32];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        int kl = make_key(k, next_rand() % nkeys);
        mlops_bytes v;
        if (mlops_store_get(&v, NULL, s, k, (size_t)kl) != MLOPS_OK)
            die("get");
        mlops_bytes_free(&v);
    }
    return (double)n / (now_s() - t0);
}

typedef struct scan_ctx {
    int n, want;
    uint64_t bytes;
} scan_ctx;

static int scan_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)key;
    (void)value;
    (void)version;
    scan_ctx *c = payload;
    c->bytes += key_len + value_len;
    return ++c->n >= c->want;
}

/* n scans of 100 keys from random starts; returns keys/s */
static double ours_scan(mlops_store *s, uint64_t nkeys, uint64_t n)
{
    char k[32];
    double t0 = now_s();
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        int kl = make_key(k, next_rand() % (nkeys - 100));
        scan_ctx c = {0, 100, 0};
        mlops_status st = mlops_store_scan(s, k, (size_t)kl, NULL, 0, scan_cb, &c);
        if (st != MLOPS_E_CALLBACK)
            die("scan");
        total += (uint64_t)c.n;
    }
    return (double)total / (now_s() - t0);
}

/* ---- SQLite (WAL) ---- */

static sqlite3 *sq_open(const char *path, const char *sync)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        sq_die(db, "open");
    char sql[200];
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB, ver INTEGER) WITHOUT ROWID;",
             sync);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        sq_die(db, "setup");
    return db;
}

static double sq_write(sqlite3 *db, uint64_t first, uint64_t n, uint64_t per)
{
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv(k, v, ver) VALUES (?, ?, ?)", -1, &ins,
                           NULL) != SQLITE_OK)
        sq_die(db, "prepare");
    char k[32];
    uint8_t v[VAL_LEN];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (uint64_t j = 0; j < per; j++) {
            uint64_t id = first + i * per + j;
            int kl = make_key(k, id);
            make_val(v, id);
            sqlite3_bind_blob(ins, 1, k, kl, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 2, v, VAL_LEN, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, (sqlite3_int64)i);
            if (sqlite3_step(ins) != SQLITE_DONE)
                sq_die(db, "insert");
            sqlite3_reset(ins);
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sq_die(db, "commit");
    }
    double dt = now_s() - t0;
    sqlite3_finalize(ins);
    return (double)(n * per) / dt;
}

static double sq_get(sqlite3 *db, uint64_t nkeys, uint64_t n)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT v, ver FROM kv WHERE k = ?", -1, &q, NULL) != SQLITE_OK)
        sq_die(db, "prepare");
    char k[32];
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        int kl = make_key(k, next_rand() % nkeys);
        sqlite3_bind_blob(q, 1, k, kl, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW)
            sq_die(db, "select");
        /* copy the value out, as the store API does */
        int len = sqlite3_column_bytes(q, 0);
        void *copy = malloc((size_t)len + 1);
        memcpy(copy, sqlite3_column_blob(q, 0), (size_t)len);
        free(copy);
        sqlite3_reset(q);
    }
    double dt = now_s() - t0;
    sqlite3_finalize(q);
    return (double)n / dt;
}

static double sq_scan(sqlite3 *db, uint64_t nkeys, uint64_t n)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT k, v, ver FROM kv WHERE k >= ? ORDER BY k LIMIT 100", -1,
                           &q, NULL) != SQLITE_OK)
        sq_die(db, "prepare");
    char k[32];
    uint64_t total = 0, bytes = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < n; i++) {
        int kl = make_key(k, next_rand() % (nkeys - 100));
        sqlite3_bind_blob(q, 1, k, kl, SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW) {
            bytes += (uint64_t)sqlite3_column_bytes(q, 0) + (uint64_t)sqlite3_column_bytes(q, 1);
            total++;
        }
        sqlite3_reset(q);
    }
    double dt = now_s() - t0;
    sqlite3_finalize(q);
    return (double)total / dt;
}

/* ---- blobs ---- */

/* Data that compresses like logs and metrics text: about 3-4x with zstd. */
static uint8_t *blob_data(size_t n)
{
    uint8_t *p = malloc(n);
    static const char *words[] = {"loss", "val_loss", "accuracy", "step", "epoch", "lr",
                                  "grad_norm", "auc", "f1", "throughput"};
    size_t pos = 0;
    while (pos < n) {
        char line[128];
        int l = snprintf(line, sizeof(line), "%s,%llu,%.9f\n", words[next_rand() % 10],
                         (unsigned long long)(pos / 40), (double)(next_rand() % 1000000) / 7.0);
        for (int i = 0; i < l && pos < n; i++)
            p[pos++] = (uint8_t)line[i];
    }
    return p;
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *base = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else
            base = argv[i];
    }
    if (base == NULL)
        base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char root[4096];
    snprintf(root, sizeof(root), "%s/mlops-bench-%d", base, (int)getpid());
    rmrf(root);
    if (mkdir(root, 0755) != 0) {
        perror("mkdir");
        return 1;
    }
    const uint64_t nkeys = quick ? 20000 : 200000;
    const uint64_t ngets = quick ? 200000 : 2000000;
    const uint64_t nscans = quick ? 2000 : 20000;
    printf("# libmlops %s file backend vs SQLite %s (WAL), zstd %s; scratch %s\n",
           mlops_version_string(), sqlite3_libversion(), ZSTD_versionString(), root);
    printf("# %llu keys of 16 bytes, values of %d bytes; figures are operations per second\n",
           (unsigned long long)nkeys, VAL_LEN);

    char ours_dir[4200], sq_path[4200];
    /* bulk load both in batches of 1000, durability off */
    snprintf(ours_dir, sizeof(ours_dir), "%s/ours-load", root);
    snprintf(sq_path, sizeof(sq_path), "%s/sqlite-load.db", root);
    mlops_store *s = ours_open(ours_dir, MLOPS_SYNC_OFF);
    sqlite3 *db = sq_open(sq_path, "OFF");
    double o_load = ours_write(s, 0, nkeys / 1000, 1000);
    double q_load = sq_write(db, 0, nkeys / 1000, 1000);
    printf("FIGURE load_batch1000_off_ours=%.0f\nFIGURE load_batch1000_off_sqlite=%.0f\n", o_load,
           q_load);
    printf("RATIO load_batch1000_off=%.2f\n", o_load / q_load);

    /* point reads and range scans on the loaded data (reopened: cold index build) */
    mlops_store_close(s);
    double t0 = now_s();
    s = ours_open(ours_dir, MLOPS_SYNC_FULL);
    double reopen = now_s() - t0;
    printf("FIGURE open_rebuild_index_s=%.3f (%llu keys)\n", reopen, (unsigned long long)nkeys);
    double o_get = ours_get(s, nkeys, ngets), q_get = sq_get(db, nkeys, ngets);
    printf("FIGURE point_get_ours=%.0f\nFIGURE point_get_sqlite=%.0f\nRATIO point_get=%.2f\n",
           o_get, q_get, o_get / q_get);
    double o_scan = ours_scan(s, nkeys, nscans), q_scan = sq_scan(db, nkeys, nscans);
    printf("FIGURE scan100_keys_ours=%.0f\nFIGURE scan100_keys_sqlite=%.0f\nRATIO scan100=%.2f\n",
           o_scan, q_scan, o_scan / q_scan);
    mlops_store_close(s);
    sqlite3_close(db);

    /* writes per durability mode: single puts and batches of 100 */
    struct {
        const char *name;
        uint32_t ours;
        const char *sq;
        uint64_t single_n, batch_n;
    } modes[] = {
        {"full", MLOPS_SYNC_FULL, "FULL", quick ? 200 : 1000, quick ? 100 : 500},
        {"normal", MLOPS_SYNC_NORMAL, "NORMAL", quick ? 5000 : 50000, quick ? 500 : 3000},
        {"off", MLOPS_SYNC_OFF, "OFF", quick ? 5000 : 50000, quick ? 500 : 3000},
    };
    for (int m = 0; m < 3; m++) {
        snprintf(ours_dir, sizeof(ours_dir), "%s/ours-%s", root, modes[m].name);
        snprintf(sq_path, sizeof(sq_path), "%s/sqlite-%s.db", root, modes[m].name);
        s = ours_open(ours_dir, modes[m].ours);
        db = sq_open(sq_path, modes[m].sq);
        double o1 = ours_write(s, 0, modes[m].single_n, 1);
        double q1 = sq_write(db, 0, modes[m].single_n, 1);
        double ob = ours_write(s, 1000000, modes[m].batch_n, 100);
        double qb = sq_write(db, 1000000, modes[m].batch_n, 100);
        printf("FIGURE put_%s_ours=%.0f\nFIGURE put_%s_sqlite=%.0f\nRATIO put_%s=%.2f\n",
               modes[m].name, o1, modes[m].name, q1, modes[m].name, o1 / q1);
        printf("FIGURE batch100_%s_ours=%.0f\nFIGURE batch100_%s_sqlite=%.0f\n"
               "RATIO batch100_%s=%.2f\n",
               modes[m].name, ob, modes[m].name, qb, modes[m].name, ob / qb);
        mlops_store_close(s);
        sqlite3_close(db);
    }

    /* blobs: write and read MB/s beside zstd level 1 alone on the same data */
    size_t bn = quick ? (16u << 20) : (128u << 20);
    uint8_t *data = blob_data(bn);
    size_t cap = ZSTD_compressBound(bn);
    uint8_t *cbuf = malloc(cap);
    t0 = now_s();
    size_t csize = ZSTD_compress(cbuf, cap, data, bn, 1);
    double zt = now_s() - t0;
    double zmb = (double)bn / 1048576.0 / zt;
    free(cbuf);
    snprintf(ours_dir, sizeof(ours_dir), "%s/ours-blob", root);
    for (int m = 0; m < 2; m++) {
        uint32_t mode = m == 0 ? MLOPS_SYNC_FULL : MLOPS_SYNC_OFF;
        s = ours_open(ours_dir, mode);
        mlops_blob_writer *w = NULL;
        data[m] ^= 1; /* a new blob each round, not a dedup */
        t0 = now_s();
        if (mlops_blob_writer_open(&w, s) != MLOPS_OK)
            die("blob open");
        for (size_t off = 0; off < bn; off += 1u << 20)
            if (mlops_blob_writer_write(w, data + off, bn - off < (1u << 20) ? bn - off : (1u << 20)) !=
                MLOPS_OK)
                die("blob write");
        mlops_hash128 id;
        if (mlops_blob_writer_commit(&id, w) != MLOPS_OK)
            die("blob commit");
        mlops_blob_writer_free(w);
        double wt = now_s() - t0;
        mlops_blob_reader *r = NULL;
        uint8_t *buf = malloc(1u << 20);
        t0 = now_s();
        if (mlops_blob_reader_open(&r, NULL, s, &id) != MLOPS_OK)
            die("blob read open");
        size_t total = 0, k = 0;
        do {
            if (mlops_blob_reader_read(&k, r, buf, 1u << 20) != MLOPS_OK)
                die("blob read");
            total += k;
        } while (k > 0);
        double rt = now_s() - t0;
        mlops_blob_reader_free(r);
        free(buf);
        const char *mn = m == 0 ? "full" : "off";
        printf("FIGURE blob_write_%s_MBps=%.0f\nFIGURE blob_read_MBps=%.0f\n", mn,
               (double)bn / 1048576.0 / wt, (double)total / 1048576.0 / rt);
        printf("RATIO blob_write_%s_vs_zstd1=%.2f\n", mn, ((double)bn / 1048576.0 / wt) / zmb);
        mlops_store_close(s);
    }
    printf("FIGURE zstd1_compress_MBps=%.0f (ratio %.2f)\n", zmb, (double)bn / (double)csize);
    free(data);
    rmrf(root);
    return 0;
}

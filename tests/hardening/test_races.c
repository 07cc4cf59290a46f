/* SPDX-License-Identifier: MIT */
/* Races (C1, C3, C4, R1; FG11): threads and processes hammering one store,
 * then the final state compared with a model. A compare-and-set counter
 * must end at exactly the number of acknowledged increments with no gap
 * (no lost update, no duplicate id), every acknowledged batch is present
 * once, and a reader never sees half a batch. Built under TSan by
 * scripts/tsan. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define THREADS 6
#define OPS 300
#define PROCS 3
#define PROC_OPS 150

static long figure_thread_ops, figure_proc_ops, figure_busy, figure_retries, figure_module_ops;

typedef struct shared {
    mlops_store *s;
    int id;
    long acked;   /* counter increments this worker got acknowledged */
    long busy;    /* MLOPS_E_BUSY seen */
    long retries; /* CAS conflicts retried */
    int *ids;     /* the counter values this worker claimed */
    bool torn;    /* a reader saw half a batch */
    atomic_int *stop;
} shared;

/* Claim the next id: read the counter, put counter+1 with a version
 * precondition and the claim record in one batch; retry on conflict. */
static mlops_status claim(mlops_store *s, int who, int *id_out, long *retries, long *busy)
{
    for (;;) {
        mlops_bytes v;
        uint64_t ver = 0;
        int cur = 0;
        mlops_status st = mlops_store_get(&v, &ver, s, "counter", 7);
        if (st == MLOPS_OK) {
            cur = atoi((const char *)v.data);
            mlops_bytes_free(&v);
        } else if (st != MLOPS_E_NOTFOUND) {
            return st;
        }
        char nv[32], ck[32], cv[32];
        int nl = snprintf(nv, sizeof(nv), "%d", cur + 1);
        int kl = snprintf(ck, sizeof(ck), "claim/%08d", cur + 1);
        int vl = snprintf(cv, sizeof(cv), "%d", who);
        mlops_batch *b = NULL;
        st = mlops_batch_create(&b, s);
        if (st == MLOPS_OK)
            st = ver ? mlops_batch_require_version(b, "counter", 7, ver)
                     : mlops_batch_require_absent(b, "counter", 7);
        if (st == MLOPS_OK)
            st = mlops_batch_require_absent(b, ck, (size_t)kl);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, "counter", 7, nv, (size_t)nl);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, ck, (size_t)kl, cv, (size_t)vl);
        if (st == MLOPS_OK)
            st = mlops_store_apply(s, b);
        mlops_batch_free(b);
        if (st == MLOPS_E_CONFLICT) {
            (*retries)++;
            continue;
        }
        if (st == MLOPS_E_BUSY) {
            (*busy)++;
            continue;
        }
        if (st == MLOPS_OK)
            *id_out = cur + 1;
        return st;
    }
}

static void *writer(void *arg)
{
    shared *sh = arg;
    for (int i = 0; i < OPS; i++) {
        int id = 0;
        mlops_status st = claim(sh->s, sh->id, &id, &sh->retries, &sh->busy);
        if (st != MLOPS_OK) {
            fprintf(stderr, "claim: %s\n", mlops_error_message());
            break;
        }
        sh->ids[sh->acked++] = id;
        /* a pair that must always be seen together */
        mlops_batch *b = NULL;
        char k1[32], k2[32];
        int l1 = snprintf(k1, sizeof(k1), "pair/a/%d/%04d", sh->id, i);
        int l2 = snprintf(k2, sizeof(k2), "pair/b/%d/%04d", sh->id, i);
        st = mlops_batch_create(&b, sh->s);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, k1, (size_t)l1, "x", 1);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, k2, (size_t)l2, "x", 1);
        if (st == MLOPS_OK)
            st = mlops_store_apply(sh->s, b);
        mlops_batch_free(b);
    }
    return NULL;
}

typedef struct pair_count {
    long a, b;
} pair_count;

static int count_pairs(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                       void *payload)
{
    (void)v, (void)vl, (void)ver;
    pair_count *pc = payload;
    if (kl > 6 && k[5] == 'a')
        pc->a++;
    else if (kl > 6 && k[5] == 'b')
        pc->b++;
    return 0;
}

static void *reader(void *arg)
{
    shared *sh = arg;
    unsigned seed = 12345;
    while (!atomic_load(sh->stop)) {
        /* a scan must succeed while writers run */
        pair_count pc = {0, 0};
        if (mlops_store_scan_prefix(sh->s, "pair/", 5, count_pairs, &pc) != MLOPS_OK)
            sh->torn = true;
        /* a and b of one pair are one batch: once a is visible, b is too */
        for (int n = 0; n < 64; n++) {
            seed = seed * 1103515245u + 12345u;
            int t = (int)((seed >> 8) % THREADS), i = (int)((seed >> 16) % OPS);
            char k1[32], k2[32];
            int l1 = snprintf(k1, sizeof(k1), "pair/a/%d/%04d", t, i);
            int l2 = snprintf(k2, sizeof(k2), "pair/b/%d/%04d", t, i);
            mlops_bytes v;
            mlops_status s0 = mlops_store_get(&v, NULL, sh->s, k1, (size_t)l1);
            mlops_bytes_free(&v);
            if (s0 == MLOPS_OK) {
                mlops_status s2 = mlops_store_get(&v, NULL, sh->s, k2, (size_t)l2);
                mlops_bytes_free(&v);
                if (s2 != MLOPS_OK)
                    sh->torn = true;
            }
        }
    }
    return NULL;
}

static void check_claims(mlops_store *s, long expect)
{
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, "counter", 7));
    long counter = atol((const char *)v.data);
    mlops_bytes_free(&v);
    ck_assert_msg(counter == expect, "counter %ld, acknowledged increments %ld (lost update)",
                  counter, expect);
    /* every claim 1..counter exists once (no gap, no duplicate) */
    for (long i = 1; i <= counter; i++) {
        char ck[32];
        int kl = snprintf(ck, sizeof(ck), "claim/%08ld", i);
        mlops_status st = mlops_store_get(&v, NULL, s, ck, (size_t)kl);
        ck_assert_msg(st == MLOPS_OK, "claim %ld missing (version gap)", i);
        mlops_bytes_free(&v);
    }
}

static void threads_on(const char *uri)
{
    mlops_store *s = NULL;
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.sync = MLOPS_SYNC_OFF;
    mlops_status st = mlops_store_open(&s, NULL, uri, &o);
    if (st == MLOPS_E_UNSUPPORTED)
        return;
    tu_assert_ok(st);
    pthread_t th[THREADS + 1];
    shared sh[THREADS + 1];
    atomic_int stop = 0;
    static int ids[THREADS][OPS];
    for (int t = 0; t <= THREADS; t++) {
        memset(&sh[t], 0, sizeof(sh[t]));
        sh[t].s = s;
        sh[t].id = t;
        sh[t].stop = &stop;
        sh[t].ids = t < THREADS ? ids[t] : NULL;
        ck_assert_int_eq(pthread_create(&th[t], NULL, t < THREADS ? writer : reader, &sh[t]), 0);
    }
    long acked = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        acked += sh[t].acked;
        figure_busy += sh[t].busy;
        figure_retries += sh[t].retries;
    }
    atomic_store(&stop, 1);
    pthread_join(th[THREADS], NULL);
    ck_assert_msg(!sh[THREADS].torn, "a reader saw half a batch (C3)");
    ck_assert_int_eq(acked, THREADS * OPS);
    /* every id claimed by exactly one thread */
    static unsigned char seen[THREADS * OPS + 1];
    memset(seen, 0, sizeof(seen));
    for (int t = 0; t < THREADS; t++)
        for (long i = 0; i < sh[t].acked; i++) {
            int id = ids[t][i];
            ck_assert_msg(id >= 1 && id <= THREADS * OPS && !seen[id], "duplicate id %d", id);
            seen[id] = 1;
        }
    check_claims(s, acked);
    figure_thread_ops += acked;
    mlops_store_close(s);
}

START_TEST(threads_mem)
{
    threads_on("mem:");
}
END_TEST

START_TEST(threads_file)
{
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/s", dir);
    threads_on(uri);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* C1, R1: several processes on one file store directory. */
START_TEST(processes_file)
{
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/s", dir);
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
    if (st == MLOPS_E_UNSUPPORTED) {
        tu_rmtree(dir);
        free(dir);
        return;
    }
    tu_assert_ok(st);
    mlops_store_close(s);
    int pipes[PROCS][2];
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        ck_assert_int_eq(pipe(pipes[p]), 0);
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            close(pipes[p][0]);
            mlops_store *cs = NULL;
            mlops_store_options o;
            mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
            o.sync = MLOPS_SYNC_NORMAL;
            if (mlops_store_open(&cs, NULL, uri, &o) != MLOPS_OK)
                _exit(3);
            long retries = 0, busy = 0;
            for (int i = 0; i < PROC_OPS; i++) {
                int id = 0;
                if (claim(cs, 100 + p, &id, &retries, &busy) != MLOPS_OK)
                    _exit(4);
                /* report each acknowledged id */
                if (write(pipes[p][1], &id, sizeof(id)) != sizeof(id))
                    _exit(5);
            }
            mlops_store_close(cs);
            long b = busy;
            if (write(pipes[p][1], &b, 0) != 0)
                _exit(6);
            _exit(0);
        }
        close(pipes[p][1]);
    }
    static unsigned char seen[PROCS * PROC_OPS + 1];
    memset(seen, 0, sizeof(seen));
    long acked = 0;
    for (int p = 0; p < PROCS; p++) {
        int id;
        while (read(pipes[p][0], &id, sizeof(id)) == sizeof(id)) {
            ck_assert_msg(id >= 1 && id <= PROCS * PROC_OPS && !seen[id],
                          "duplicate or out-of-range id %d", id);
            seen[id] = 1;
            acked++;
        }
        close(pipes[p][0]);
        int status = 0;
        waitpid(pids[p], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (%d)", p,
                      status);
    }
    ck_assert_int_eq(acked, PROCS * PROC_OPS);
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    check_claims(s, acked);
    char *report = NULL;
    st = mlops_store_check(&report, s);
    ck_assert_msg(st == MLOPS_OK, "store check: %s", report ? report : "");
    mlops_string_free(NULL, report);
    mlops_store_close(s);
    figure_proc_ops += acked;
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- one monitor fed by many threads (D-catalogue, C1) ---- */

#define MON_THREADS 4
#define MON_CHUNKS 25
#define MON_CHUNK 100
#define MON_WINDOW 1000

typedef struct mon_arg {
    mlops_drift_monitor *m;
    int id;
    mlops_status st;
} mon_arg;

static int count_alert(const mlops_drift_column *col, int64_t window, void *payload)
{
    (void)col, (void)window;
    atomic_fetch_add((atomic_int *)payload, 1);
    return 0;
}

static void *mon_worker(void *p)
{
    mon_arg *a = p;
    double x[MON_CHUNK];
    for (int c = 0; c < MON_CHUNKS && a->st == MLOPS_OK; c++) {
        for (int i = 0; i < MON_CHUNK; i++)
            x[i] = 3.0 + (double)((a->id * 7919 + c * 104729 + i * 31) % 1000) / 1000.0;
        a->st = mlops_drift_monitor_feed(a->m, "x", x, MON_CHUNK);
    }
    return NULL;
}

/* Count windows close after exactly MON_WINDOW values when every feed adds
 * a whole chunk: all values fed by the threads must close exactly
 * total / MON_WINDOW windows, recorded once each with consecutive indices
 * (no lost feed, no duplicate or skipped window), and the drift alert
 * fires once (the column crosses its threshold in the first window and
 * stays drifted). */
START_TEST(monitor_threads)
{
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/s", dir);
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    double base[2000];
    for (int i = 0; i < 2000; i++)
        base[i] = (double)(i % 1000) / 1000.0;
    mlops_drift_profile *p = NULL;
    tu_assert_ok(mlops_drift_profile_create(&p, NULL, "x", NULL));
    tu_assert_ok(mlops_drift_profile_add(p, base, 2000));
    mlops_drift_monitor *m = NULL;
    mlops_drift_profile *const bl[1] = {p};
    tu_assert_ok(mlops_drift_monitor_create(&m, NULL, s, "race", bl, 1, NULL));
    tu_assert_ok(mlops_drift_monitor_set_param(m, MLOPS_DRIFT_PARAM_WINDOW_COUNT, MON_WINDOW));
    atomic_int alerts = 0;
    tu_assert_ok(mlops_drift_monitor_set_alert(m, count_alert, &alerts));
    pthread_t th[MON_THREADS];
    mon_arg args[MON_THREADS];
    for (int t = 0; t < MON_THREADS; t++) {
        args[t] = (mon_arg){m, t, MLOPS_OK};
        ck_assert_int_eq(pthread_create(&th[t], NULL, mon_worker, &args[t]), 0);
    }
    for (int t = 0; t < MON_THREADS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(args[t].st == MLOPS_OK, "feeder %d: %s", t, mlops_status_name(args[t].st));
    }
    const int64_t want = MON_THREADS * MON_CHUNKS * MON_CHUNK / MON_WINDOW;
    ck_assert_int_eq(mlops_drift_monitor_windows(m), want);
    ck_assert_int_eq(atomic_load(&alerts), 1);
    char *json = NULL;
    tu_assert_ok(mlops_drift_history_json(&json, s, "race", 0));
    for (int64_t w = 0; w < want; w++) {
        char needle[64];
        snprintf(needle, sizeof(needle), "\"window\": %lld,", (long long)w);
        const char *hit = strstr(json, needle);
        ck_assert_msg(hit != NULL, "window %lld missing from the history", (long long)w);
        ck_assert_msg(strstr(hit + 1, needle) == NULL, "window %lld recorded twice", (long long)w);
    }
    char extra[64];
    snprintf(extra, sizeof(extra), "\"window\": %lld,", (long long)want);
    ck_assert_msg(strstr(json, extra) == NULL, "a window too many");
    /* every window holds exactly its count: no value lost or counted twice */
    int64_t full = 0;
    char nc[64];
    snprintf(nc, sizeof(nc), "\"n_current\": %d}", MON_WINDOW);
    for (const char *q = json; (q = strstr(q, nc)) != NULL; q++)
        full++;
    ck_assert_int_eq(full, want);
    mlops_string_free(NULL, json);
    mlops_drift_monitor_close(m);
    mlops_drift_profile_free(p);
    mlops_store_close(s);
    figure_module_ops += MON_THREADS * MON_CHUNKS;
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- one online store: writers push while readers read (F-catalogue, C1) ---- */

#define ON_ENTITIES 32
#define ON_ROUNDS 60
#define ON_WRITERS 2
#define ON_READERS 3
#define ON_READS 400
#define SEC 1000000LL

typedef struct on_arg {
    mlops_feature_online *on;
    int id;
    mlops_status st;
    char bad[160];
} on_arg;

static void *on_writer(void *p)
{
    on_arg *a = p;
    int64_t id[ON_ENTITIES], ts[ON_ENTITIES];
    double v[ON_ENTITIES];
    for (int r = 1; r <= ON_ROUNDS && a->st == MLOPS_OK; r++) {
        int64_t k = 2 * r + a->id; /* writers interleave in event time */
        for (int e = 0; e < ON_ENTITIES; e++) {
            id[e] = e;
            ts[e] = 1000 * SEC + k * SEC;
            v[e] = (double)k;
        }
        mlops_feature_table *t = NULL;
        a->st = mlops_feature_table_create(&t, NULL);
        if (a->st == MLOPS_OK)
            a->st = mlops_feature_table_add_column(t, "id", MLOPS_FEATURE_INT64, 0, id, NULL,
                                                   ON_ENTITIES);
        if (a->st == MLOPS_OK)
            a->st = mlops_feature_table_add_column(t, "ts", MLOPS_FEATURE_INT64, 0, ts, NULL,
                                                   ON_ENTITIES);
        if (a->st == MLOPS_OK)
            a->st = mlops_feature_table_add_column(t, "a", MLOPS_FEATURE_FLOAT64, 0, v, NULL,
                                                   ON_ENTITIES);
        if (a->st == MLOPS_OK)
            a->st = mlops_feature_online_push(NULL, a->on, "v", t);
        mlops_feature_table_free(t);
    }
    return NULL;
}

static void *on_reader(void *p)
{
    on_arg *a = p;
    const char *refs[] = {"v:a"};
    const char *kn[] = {"id"};
    char keys[ON_ENTITIES][8];
    const char *kv[ON_ENTITIES];
    for (int e = 0; e < ON_ENTITIES; e++) {
        snprintf(keys[e], sizeof(keys[e]), "%d", e);
        kv[e] = keys[e];
    }
    double last[ON_ENTITIES] = {0};
    mlops_feature_value out[ON_ENTITIES];
    for (int r = 0; r < ON_READS && a->st == MLOPS_OK && !a->bad[0]; r++) {
        a->st = mlops_feature_online_get(out, a->on, refs, 1, kn, 1, kv, ON_ENTITIES);
        for (int e = 0; e < ON_ENTITIES && a->st == MLOPS_OK; e++) {
            if (out[e].status == MLOPS_FEATURE_NOT_FOUND)
                continue;
            /* value and timestamp come from the same row, and never go back */
            if (out[e].status != MLOPS_FEATURE_PRESENT ||
                out[e].event_us != 1000 * SEC + (int64_t)out[e].f64 * SEC ||
                out[e].f64 < last[e]) {
                snprintf(a->bad, sizeof(a->bad), "entity %d: status %u value %g at %lld after %g",
                         e, out[e].status, out[e].f64, (long long)out[e].event_us, last[e]);
                break;
            }
            last[e] = out[e].f64;
        }
    }
    return NULL;
}

/* Two writers push interleaved event times to every entity while readers
 * read all entities: a read never pairs a value with another row's
 * timestamp, never goes back in event time, and in the end every entity
 * holds the newest row (the monotonic rule under concurrent writers). */
START_TEST(online_threads)
{
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/online", dir);
    tu_clock clk = {1000 * SEC * 1000};
    mlops_env *env = tu_env_new(NULL, &clk);
    mlops_store *s = NULL, *online = NULL;
    tu_assert_ok(mlops_store_open(&s, env, "mem:", NULL));
    tu_assert_ok(mlops_store_open(&online, env, uri, NULL));
    mlops_feature_store *fs = NULL;
    tu_assert_ok(mlops_feature_store_open(&fs, s));
    const char *keys[] = {"id"};
    mlops_feature_spec feats[] = {{.name = "a", .type = MLOPS_FEATURE_FLOAT64}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "ts";
    o.features = feats;
    o.n_features = 1;
    mlops_feature_view *v = NULL;
    tu_assert_ok(mlops_feature_view_apply(&v, fs, "v", &o));
    mlops_feature_online *on = NULL;
    tu_assert_ok(mlops_feature_online_open(&on, fs, online));
    pthread_t th[ON_WRITERS + ON_READERS];
    on_arg args[ON_WRITERS + ON_READERS];
    for (int t = 0; t < ON_WRITERS + ON_READERS; t++) {
        memset(&args[t], 0, sizeof(args[t]));
        args[t].on = on;
        args[t].id = t;
        ck_assert_int_eq(pthread_create(&th[t], NULL, t < ON_WRITERS ? on_writer : on_reader,
                                        &args[t]),
                         0);
    }
    for (int t = 0; t < ON_WRITERS + ON_READERS; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(args[t].st == MLOPS_OK, "thread %d: %s", t, mlops_status_name(args[t].st));
        ck_assert_msg(args[t].bad[0] == 0, "reader %d: %s", t, args[t].bad);
    }
    mlops_feature_online_close(on);
    /* a fresh handle loads the online store from disk: the newest rows */
    tu_assert_ok(mlops_feature_online_open(&on, fs, online));
    const char *refs[] = {"v:a"};
    const char *kn[] = {"id"};
    for (int e = 0; e < ON_ENTITIES; e++) {
        char key[8];
        snprintf(key, sizeof(key), "%d", e);
        const char *kv[] = {key};
        mlops_feature_value out;
        tu_assert_ok(mlops_feature_online_get(&out, on, refs, 1, kn, 1, kv, 1));
        ck_assert_uint_eq(out.status, MLOPS_FEATURE_PRESENT);
        ck_assert_msg(out.f64 == 2 * ON_ROUNDS + 1, "entity %d holds %g", e, out.f64);
    }
    mlops_feature_online_close(on);
    mlops_feature_view_close(v);
    mlops_feature_store_close(fs);
    mlops_store_close(online);
    mlops_store_close(s);
    mlops_env_free(env);
    figure_module_ops += ON_WRITERS * ON_ROUNDS + ON_READERS * ON_READS;
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("races");
    TCase *tc = tcase_create("races");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, threads_mem);
    tcase_add_test(tc, threads_file);
    tcase_add_test(tc, processes_file);
    tcase_add_test(tc, monitor_threads);
    tcase_add_test(tc, online_threads);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        printf("FIGURE races_thread_ops=%ld races_proc_ops=%ld lost=0 dup_ids=0 "
               "version_gaps=0 torn_reads=0 cas_retries=%ld ebusy=%ld races_module_ops=%ld\n",
               figure_thread_ops, figure_proc_ops, figure_retries, figure_busy, figure_module_ops);
    return failed == 0 ? 0 : 1;
}

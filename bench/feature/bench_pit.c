/* SPDX-License-Identifier: MIT */
/* Point-in-time join benchmark on the workload of workloads/README.md
 * (pit_features_<M>.csv, pit_entities_<N>.csv): load (excluded from the
 * join time), ingest into a mem: store, join with TTL = 2 days, print the
 * README's checksum line and FIGURE lines.
 *
 *   bench_pit FEATURES.csv ENTITIES.csv [--repeat K] [--threads T]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mlops/mlops.h"

#define TTL_S 172800

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * 4;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static size_t count_rows(const char *p, size_t n)
{
    size_t rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += p[i] == '\n';
    return rows - 1; /* header */
}

static void die(mlops_status st, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mlops_error_message());
    exit(st ? 1 : 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pit FEATURES.csv ENTITIES.csv [--repeat K] [--threads T]\n");
        return 2;
    }
    int repeat = 5;
    unsigned threads = 2;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--repeat") == 0)
            repeat = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)atoi(argv[i + 1]);
    }
    double t0 = now_s();
    size_t flen, elen;
    char *ftext = slurp(argv[1], &flen);
    char *etext = slurp(argv[2], &elen);
    size_t M = count_rows(ftext, flen), N = count_rows(etext, elen);
    int64_t *fid = malloc(M * 8), *fev = malloc(M * 8), *fcr = malloc(M * 8);
    double *f[4];
    for (int k = 0; k < 4; k++)
        f[k] = malloc(M * 8);
    char *p = strchr(ftext, '\n') + 1;
    for (size_t i = 0; i < M; i++) {
        fid[i] = strtoll(p, &p, 10);
        fev[i] = strtoll(p + 1, &p, 10) * 1000000;
        fcr[i] = strtoll(p + 1, &p, 10) * 1000000;
        for (int k = 0; k < 4; k++)
            f[k][i] = strtod(p + 1, &p);
        p++;
    }
    int64_t *eid = malloc(N * 8), *ets = malloc(N * 8);
    p = strchr(etext, '\n') + 1;
    for (size_t i = 0; i < N; i++) {
        eid[i] = strtoll(p, &p, 10);
        ets[i] = strtoll(p + 1, &p, 10) * 1000000;
        p++;
    }
    free(ftext);
    free(etext);
    double t_parse = now_s() - t0;

    mlops_store *store = NULL;
    mlops_feature_store *fs = NULL;
    mlops_status st = mlops_store_open(&store, NULL, "mem:", NULL);
    if (st)
        die(st, "open");
    if ((st = mlops_feature_store_open(&fs, store)))
        die(st, "feature store");
    const char *keys[] = {"entity_id"};
    mlops_feature_spec feats[] = {{.name = "f0", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f1", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f2", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f3", .type = MLOPS_FEATURE_FLOAT64}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "event_ts";
    o.created = "created_ts";
    o.ttl_us = (int64_t)TTL_S * 1000000;
    o.features = feats;
    o.n_features = 4;
    mlops_feature_view *v = NULL;
    if ((st = mlops_feature_view_apply(&v, fs, "pit", &o)))
        die(st, "apply");
    mlops_feature_table *ft = NULL;
    mlops_feature_table_create(&ft, NULL);
    mlops_feature_table_add_column(ft, "entity_id", MLOPS_FEATURE_INT64, 0, fid, NULL, M);
    mlops_feature_table_add_column(ft, "event_ts", MLOPS_FEATURE_INT64, 0, fev, NULL, M);
    mlops_feature_table_add_column(ft, "created_ts", MLOPS_FEATURE_INT64, 0, fcr, NULL, M);
    const char *fn[] = {"f0", "f1", "f2", "f3"};
    for (int k = 0; k < 4; k++)
        mlops_feature_table_add_column(ft, fn[k], MLOPS_FEATURE_FLOAT64, 0, f[k], NULL, M);
    double t1 = now_s();
    if ((st = mlops_feature_view_ingest(NULL, v, ft)))
        die(st, "ingest");
    double t_ingest = now_s() - t1;
    mlops_feature_table_free(ft);
    free(fid);
    free(fev);
    free(fcr);
    for (int k = 0; k < 4; k++)
        free(f[k]);
    mlops_feature_table *et = NULL;
    mlops_feature_table_create(&et, NULL);
    mlops_feature_table_add_column(et, "entity_id", MLOPS_FEATURE_INT64, 0, eid, NULL, N);
    mlops_feature_table_add_column(et, "event_timestamp", MLOPS_FEATURE_INT64, 0, ets, NULL, N);
    free(eid);
    free(ets);

    const char *refs[] = {"pit:f0", "pit:f1", "pit:f2", "pit:f3"};
    mlops_feature_join_options jo = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    jo.flags = MLOPS_JOIN_TIMESTAMPS;
    jo.threads = threads;
    mlops_feature_table *out = NULL;
    long rss_before = rss_kb();
    t1 = now_s();
    if ((st = mlops_feature_store_join(&out, fs, et, refs, 4, &jo)))
        die(st, "join");
    double t_cold = now_s() - t1; /* decodes the segments into the cache, then joins */
    double *times = calloc((size_t)(repeat > 0 ? repeat : 1), sizeof(double));
    double *cpus = calloc((size_t)(repeat > 0 ? repeat : 1), sizeof(double));
    for (int r = 0; r < repeat; r++) {
        mlops_feature_table_free(out);
        out = NULL;
        t1 = now_s();
        double c1 = cpu_s();
        if ((st = mlops_feature_store_join(&out, fs, et, refs, 4, &jo)))
            die(st, "join");
        times[r] = now_s() - t1;
        cpus[r] = cpu_s() - c1;
    }
    for (int a = 0; a < repeat; a++)
        for (int b = a + 1; b < repeat; b++)
            if (times[b] < times[a]) {
                double x = times[a];
                times[a] = times[b];
                times[b] = x;
            }
    for (int a = 0; a < repeat; a++)
        for (int b = a + 1; b < repeat; b++)
            if (cpus[b] < cpus[a]) {
                double x = cpus[a];
                cpus[a] = cpus[b];
                cpus[b] = x;
            }
    double t_join = repeat > 0 ? times[repeat / 2] : t_cold;
    double c_join = repeat > 0 ? cpus[repeat / 2] : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    /* the checksum of workloads/README.md */
    size_t c_f[4], c_ev, c_cr;
    mlops_feature_table_find(&c_ev, out, "pit__event_timestamp");
    mlops_feature_table_find(&c_cr, out, "pit__created_timestamp");
    for (int k = 0; k < 4; k++)
        mlops_feature_table_find(&c_f[k], out, fn[k]);
    const uint8_t *valid = mlops_feature_table_valid(out, c_ev);
    const int64_t *ev = mlops_feature_table_data(out, c_ev);
    const int64_t *cr = mlops_feature_table_data(out, c_cr);
    const double *fv[4];
    for (int k = 0; k < 4; k++)
        fv[k] = mlops_feature_table_data(out, c_f[k]);
    uint64_t matched = 0, w_created = 0, w_f0 = 0;
    int64_t sum_ev = 0, sum_cr = 0, sf[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < N; i++) {
        if (valid && !valid[i])
            continue;
        uint64_t w = i + 1;
        matched++;
        sum_ev += ev[i] / 1000000;
        sum_cr += cr[i] / 1000000;
        for (int k = 0; k < 4; k++)
            sf[k] += llround(fv[k][i] * 1e6);
        w_created += w * (uint64_t)(cr[i] / 1000000);
        w_f0 += w * (uint64_t)llround(fv[0][i] * 1e6);
    }
    printf("rows=%zu matched=%llu sum_event_ts=%lld sum_created_ts=%lld "
           "sum_f_micro=%lld:%lld:%lld:%lld w_created=%llu w_f0=%llu\n",
           N, (unsigned long long)matched, (long long)sum_ev, (long long)sum_cr,
           (long long)sf[0], (long long)sf[1], (long long)sf[2], (long long)sf[3],
           (unsigned long long)w_created, (unsigned long long)w_f0);
    /* the joined columns: entity id and time, four features, two timestamps */
    double joined_mb = (double)N * (8 + 8 + 4 * 8 + 2 * 8 + 7) / 1048576.0;
    printf("FIGURE pit_rows=%zu\n", N);
    printf("FIGURE pit_parse_s=%.3f\n", t_parse);
    printf("FIGURE pit_ingest_s=%.3f\n", t_ingest);
    printf("FIGURE pit_join_cold_s=%.3f\n", t_cold);
    printf("FIGURE pit_join_s=%.4f\n", t_join);
    printf("FIGURE pit_join_cpu_s=%.4f\n", c_join);
    printf("FIGURE pit_join_threads=%u\n", threads);
    printf("FIGURE pit_joined_columns_mb=%.1f\n", joined_mb);
    printf("FIGURE pit_rss_before_join_mb=%.1f\n", (double)rss_before / 1024.0);
    printf("FIGURE pit_peak_rss_mb=%.1f\n", (double)ru.ru_maxrss / 1024.0);
    printf("FIGURE pit_join_extra_mb=%.1f\n", (double)(ru.ru_maxrss - rss_before) / 1024.0);
    free(times);
    free(cpus);
    mlops_feature_table_free(out);
    mlops_feature_table_free(et);
    mlops_feature_view_close(v);
    mlops_feature_store_close(fs);
    mlops_store_close(store);
    return 0;
}

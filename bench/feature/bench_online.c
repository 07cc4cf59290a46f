/* SPDX-License-Identifier: MIT */
/* Online lookup benchmark (workload 3 of workloads/README.md): E entities
 * with four float64 features, pushed into an online handle over a mem:
 * store; then single-entity lookups of 4 features at uniformly random keys,
 * each timed (p50/p99/p999), and the throughput of back-to-back lookups.
 *
 *   bench_online [--entities E] [--values FILE.f64] [--lookups L]
 * FILE.f64 holds E*4 little-endian float64 (the bench script writes it from
 * numpy's default_rng([42, 5]); without it the values are made here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlops/mlops.h"

static inline uint64_t ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mlops_error_message());
    exit(1);
}

int main(int argc, char **argv)
{
    size_t E = 1000000, L = 1000000;
    const char *vals = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--entities") == 0)
            E = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--values") == 0)
            vals = argv[i + 1];
        else if (strcmp(argv[i], "--lookups") == 0)
            L = (size_t)atol(argv[i + 1]);
    }
    double *f[4];
    for (int k = 0; k < 4; k++)
        f[k] = malloc(E * 8);
    uint64_t seed = 42;
    FILE *vf = vals ? fopen(vals, "rb") : NULL;
    double row[4];
    for (size_t i = 0; i < E; i++) {
        if (vf && fread(row, 8, 4, vf) == 4) {
            for (int k = 0; k < 4; k++)
                f[k][i] = row[k];
        } else {
            for (int k = 0; k < 4; k++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                f[k][i] = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
            }
        }
    }
    if (vf)
        fclose(vf);
    int64_t *id = malloc(E * 8), *ts = malloc(E * 8);
    for (size_t i = 0; i < E; i++) {
        id[i] = (int64_t)i;
        ts[i] = 1700000000LL * 1000000;
    }
    mlops_store *store = NULL, *online = NULL;
    mlops_feature_store *fs = NULL;
    if (mlops_store_open(&store, NULL, "mem:", NULL) || mlops_feature_store_open(&fs, store) ||
        mlops_store_open(&online, NULL, "mem:", NULL))
        die("open");
    const char *keys[] = {"entity_id"};
    mlops_feature_spec feats[] = {{.name = "f0", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f1", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f2", .type = MLOPS_FEATURE_FLOAT64},
                                  {.name = "f3", .type = MLOPS_FEATURE_FLOAT64}};
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.features = feats;
    o.n_features = 4;
    if (mlops_feature_view_apply(NULL, fs, "e", &o))
        die("apply");
    mlops_feature_table *t = NULL;
    mlops_feature_table_create(&t, NULL);
    mlops_feature_table_add_column(t, "entity_id", MLOPS_FEATURE_INT64, 0, id, NULL, E);
    mlops_feature_table_add_column(t, "event_timestamp", MLOPS_FEATURE_INT64, 0, ts, NULL, E);
    const char *fn[] = {"f0", "f1", "f2", "f3"};
    for (int k = 0; k < 4; k++)
        mlops_feature_table_add_column(t, fn[k], MLOPS_FEATURE_FLOAT64, 0, f[k], NULL, E);
    mlops_feature_online *on = NULL;
    if (mlops_feature_online_open(&on, fs, online))
        die("online");
    uint64_t t0 = ns();
    uint64_t written = 0;
    if (mlops_feature_online_push(&written, on, "e", t))
        die("push");
    double load_s = (double)(ns() - t0) * 1e-9;
    mlops_feature_table_free(t);
    /* reopen: the serving process loads the online store at start-up */
    mlops_feature_online_close(on);
    if (mlops_feature_online_open(&on, fs, online))
        die("online");
    const char *refs[] = {"e:f0", "e:f1", "e:f2", "e:f3"};
    const char *kn[] = {"entity_id"};
    char kbuf[32];
    const char *kv[] = {kbuf};
    mlops_feature_value out[4];
    t0 = ns();
    snprintf(kbuf, sizeof(kbuf), "0");
    if (mlops_feature_online_get(out, on, refs, 4, kn, 1, kv, 1))
        die("get");
    double warm_s = (double)(ns() - t0) * 1e-9;
    /* random keys, made before timing */
    char (*keys_txt)[16] = malloc(L * 16);
    for (size_t i = 0; i < L; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(keys_txt[i], 16, "%llu", (unsigned long long)((seed >> 20) % E));
    }
    uint64_t *lat = malloc(L * 8);
    double check = 0;
    for (size_t i = 0; i < L; i++) {
        kv[0] = keys_txt[i];
        uint64_t a = ns();
        mlops_status st = mlops_feature_online_get(out, on, refs, 4, kn, 1, kv, 1);
        uint64_t b = ns();
        if (st != MLOPS_OK || out[3].status != MLOPS_FEATURE_PRESENT)
            die("lookup");
        lat[i] = b - a;
        check += out[0].f64;
    }
    qsort(lat, L, 8, cmp_u64);
    /* throughput: back to back, no per-call clock */
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    t0 = ns();
    for (size_t i = 0; i < L; i++) {
        kv[0] = keys_txt[i];
        mlops_feature_online_get(out, on, refs, 4, kn, 1, kv, 1);
        check += out[1].f64;
    }
    double wall = (double)(ns() - t0) * 1e-9;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
    double tput = (double)L / wall;
    printf("FIGURE online_entities=%zu\n", E);
    printf("FIGURE online_push_s=%.3f\n", load_s);
    printf("FIGURE online_load_s=%.3f\n", warm_s);
    printf("FIGURE online_lookup_p50_us=%.3f\n", (double)lat[L / 2] / 1000.0);
    printf("FIGURE online_lookup_p99_us=%.3f\n", (double)lat[L * 99 / 100] / 1000.0);
    printf("FIGURE online_lookup_p999_us=%.3f\n", (double)lat[L * 999 / 1000] / 1000.0);
    printf("FIGURE online_lookups_per_s=%.0f\n", tput);
    printf("FIGURE online_lookup_cpu_us=%.3f\n", cpu / (double)L * 1e6);
    printf("FIGURE online_cpu_share=%.2f\n", cpu / wall);
    fprintf(stderr, "(checksum %g)\n", check);
    free(lat);
    free(keys_txt);
    free(id);
    free(ts);
    for (int k = 0; k < 4; k++)
        free(f[k]);
    mlops_feature_online_close(on);
    mlops_feature_store_close(fs);
    mlops_store_close(online);
    mlops_store_close(store);
    return 0;
}

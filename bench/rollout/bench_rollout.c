/* SPDX-License-Identifier: MIT */
/* Rollout benchmarks. Prints FIGURE lines:
 *   assign_xxh3_per_s        experiment assignments per second, one core, 16-byte ids
 *   assign_growthbook_v2_per_s  the same with GrowthBook's hash (the reference algorithm,
 *                            FNV-1a over UTF-16, as its SDKs compute it), same run
 *   route_record_p50_ns / _p99_ns  route + record latency, 2 threads at once
 * Usage: bench_rollout [N_IDS] (default 10,000,000). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlops/mlops.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: on a shared machine, the per-core rate is n / CPU time. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 16-byte ids: "u" + 15 hex digits. */
static char *make_ids(size_t n)
{
    char *ids = malloc(n * 16 + 1);
    for (size_t i = 0; i < n; i++) {
        char tmp[20];
        snprintf(tmp, sizeof(tmp), "u%015zx", i * 2654435761u);
        memcpy(ids + i * 16, tmp, 16);
    }
    return ids;
}

static double assign_rate(uint32_t mode, const char *ids, size_t n, int64_t *checksum,
                          double *wall_rate)
{
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    o.hash_mode = mode;
    o.n_variants = 3;
    mlops_ab_experiment *e = NULL;
    if (mlops_ab_experiment_create(&e, NULL, "bench-exp", &o) != MLOPS_OK)
        return 0;
    int64_t sum = 0;
    double best = 0;
    *wall_rate = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s(), c0 = cpu_s();
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            mlops_ab_experiment_assign(&v, NULL, e, ids + i * 16, 16);
            sum += v;
        }
        double rate = (double)n / (cpu_s() - c0), wall = (double)n / (now_s() - t0);
        if (rate > best)
            best = rate;
        if (wall > *wall_rate)
            *wall_rate = wall;
    }
    *checksum = sum;
    mlops_ab_experiment_free(e);
    return best;
}

typedef struct worker {
    mlops_rollout *r;
    const char *ids;
    size_t n;
    uint64_t *lat;
} worker;

static void *run_worker(void *p)
{
    worker *w = p;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t t0 = now_ns();
        uint32_t route;
        int64_t v;
        mlops_rollout_route(&route, &v, w->r, w->ids + i * 16, 16);
        mlops_rollout_record(w->r, route & 0xFF, 12.5 + (double)(i % 50), 0, 0);
        w->lat[i] = now_ns() - t0;
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000;
    char *ids = make_ids(n);
    int64_t c1, c2;
    double w1, w2;
    double xxh3 = assign_rate(MLOPS_AB_HASH_XXH3, ids, n, &c1, &w1);
    double gb = assign_rate(MLOPS_AB_HASH_GROWTHBOOK_V2, ids, n, &c2, &w2);
    printf("# %zu ids of 16 bytes, 3 variants, best of 3 passes, one thread; rates per\n"
           "# CPU-second of the thread (wall-clock rates: xxh3 %.0f/s, growthbook-v2 %.0f/s)\n",
           n, w1, w2);
    printf("FIGURE assign_xxh3_per_s=%.0f\n", xxh3);
    printf("FIGURE assign_growthbook_v2_per_s=%.0f\n", gb);
    printf("ratio xxh3/growthbook-v2 = %.2fx (checksums %lld %lld)\n", xxh3 / gb,
           (long long)c1, (long long)c2);

    mlops_store *s = NULL;
    if (mlops_store_open(&s, NULL, "mem:", NULL) != MLOPS_OK)
        return 1;
    mlops_rollout_options o = MLOPS_ROLLOUT_OPTIONS_INIT;
    o.champion = 1;
    o.challenger = 2;
    mlops_rollout *r = NULL;
    if (mlops_rollout_create(&r, s, "bench", &o) != MLOPS_OK) {
        fprintf(stderr, "%s\n", mlops_error_message());
        return 1;
    }
    size_t per = n / 4 < 2000000 ? n / 4 : 2000000;
    worker w[2];
    pthread_t t[2];
    double t0 = now_s();
    for (int i = 0; i < 2; i++) {
        w[i].r = r;
        w[i].ids = ids + (size_t)i * per * 16;
        w[i].n = per;
        w[i].lat = malloc(per * sizeof(uint64_t));
        pthread_create(&t[i], NULL, run_worker, &w[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double el = now_s() - t0;
    uint64_t *all = malloc(2 * per * sizeof(uint64_t));
    memcpy(all, w[0].lat, per * sizeof(uint64_t));
    memcpy(all + per, w[1].lat, per * sizeof(uint64_t));
    qsort(all, 2 * per, sizeof(uint64_t), cmp_u64);
    /* the cost of the two clock reads, to subtract by eye */
    uint64_t c0 = now_ns(), cmin = UINT64_MAX;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = now_ns(), b = now_ns();
        if (b - a < cmin)
            cmin = b - a;
    }
    (void)c0;
    printf("# route + record, 2 threads x %zu calls on one rollout, timed per call "
           "(clock_gettime pair costs >= %llu ns)\n",
           per, (unsigned long long)cmin);
    printf("FIGURE route_record_p50_ns=%llu\n", (unsigned long long)all[per]);
    printf("FIGURE route_record_p99_ns=%llu\n", (unsigned long long)all[(size_t)(2 * per * 0.99)]);
    printf("FIGURE route_record_calls_per_s=%.0f\n", 2.0 * (double)per / el);
    free(all);
    free(w[0].lat);
    free(w[1].lat);
    mlops_rollout_close(r);
    mlops_store_close(s);
    free(ids);
    return 0;
}

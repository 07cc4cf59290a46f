/* SPDX-License-Identifier: MIT */
/* Drift bench: PSI on 1e7 float64 values, KS on 1e6 vs 1e6, streaming
 * profile updates, monitor memory; numpy/scipy timed in the same run on the
 * same data (bench/drift/reference.py). Prints FIGURE lines and ratios.
 *
 * usage: bench_drift [--psi-n N] [--ks-n N] [--stream-n N] [--repeat R]
 *                    [--reference PATH/reference.py] [--python /usr/bin/python3] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlops/drift.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double *load(const char *dir, const char *name, size_t n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    double *x = malloc(n * sizeof(double));
    if (x && fread(x, sizeof(double), n, f) != n) {
        free(x);
        x = NULL;
    }
    fclose(f);
    return x;
}

static double ref_value(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

int main(int argc, char **argv)
{
    size_t psi_n = 10000000, ks_n = 1000000, stream_n = 50000000;
    int repeat = 3;
    const char *ref = NULL, *py = "/usr/bin/python3";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--psi-n") == 0)
            psi_n = (size_t)atof(argv[i + 1]);
        else if (strcmp(argv[i], "--ks-n") == 0)
            ks_n = (size_t)atof(argv[i + 1]);
        else if (strcmp(argv[i], "--stream-n") == 0)
            stream_n = (size_t)atof(argv[i + 1]);
        else if (strcmp(argv[i], "--repeat") == 0)
            repeat = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reference") == 0)
            ref = argv[i + 1];
        else if (strcmp(argv[i], "--python") == 0)
            py = argv[i + 1];
    }
    if (ref == NULL) {
        fprintf(stderr, "bench_drift: --reference path/to/bench/drift/reference.py is required\n");
        return 2;
    }
    char dir[] = "/tmp/mlops-bench-drift-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s %s %s %zu %zu %d", py, ref, dir, psi_n, ks_n, repeat);
    FILE *p = popen(cmd, "r");
    char out[8192] = "";
    size_t used = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[used] = '\0';
    if (p == NULL || pclose(p) != 0) {
        fprintf(stderr, "bench_drift: the reference script failed:\n%s\n", out);
        return 1;
    }
    fputs(out, stdout);
    double *pb = load(dir, "psi_base.f64", psi_n), *pc = load(dir, "psi_cur.f64", psi_n);
    double *kb = load(dir, "ks_base.f64", ks_n), *kc = load(dir, "ks_cur.f64", ks_n);
    if (!pb || !pc || !kb || !kc) {
        fprintf(stderr, "bench_drift: cannot read the workload from %s\n", dir);
        return 1;
    }
    printf("machine: %ld cores online; times are the best of %d runs, CPU time of the process (the machine is shared)\n",
           sysconf(_SC_NPROCESSORS_ONLN), repeat);

    /* PSI, 10 quantile bins */
    double best = INFINITY, psi = NAN;
    for (int r = 0; r < repeat; r++) {
        mlops_drift_result res = MLOPS_DRIFT_RESULT_INIT;
        double t0 = now();
        if (mlops_drift_psi(&res, pb, psi_n, pc, psi_n, NULL) != MLOPS_OK)
            return 1;
        double t = now() - t0;
        best = t < best ? t : best;
        psi = res.statistic;
    }
    double ref_psi = ref_value(out, "psi_numpy_s="), ref_psi_v = ref_value(out, "value=");
    printf("FIGURE psi_n=%zu\n", psi_n);
    printf("FIGURE psi_libmlops_s=%.4f\n", best);
    printf("FIGURE psi_numpy_s=%.4f\n", ref_psi);
    printf("FIGURE psi_libmlops_values_per_s=%.3g\n", 2.0 * (double)psi_n / best);
    printf("FIGURE psi_speedup_vs_numpy=%.2f\n", ref_psi / best);
    printf("FIGURE psi_abs_diff_vs_numpy=%.3g\n", fabs(psi - ref_psi_v));

    /* KS, scipy's auto method (asymptotic at these sizes) */
    best = INFINITY;
    mlops_drift_result ks = MLOPS_DRIFT_RESULT_INIT;
    for (int r = 0; r < repeat; r++) {
        double t0 = now();
        if (mlops_drift_ks_2samp(&ks, kb, ks_n, kc, ks_n, MLOPS_DRIFT_KS_AUTO) != MLOPS_OK)
            return 1;
        double t = now() - t0;
        best = t < best ? t : best;
    }
    double ref_ks = ref_value(out, "ks_scipy_s="), ref_p = ref_value(out, "pvalue=");
    printf("FIGURE ks_n=%zu\n", ks_n);
    printf("FIGURE ks_libmlops_s=%.4f\n", best);
    printf("FIGURE ks_scipy_s=%.4f\n", ref_ks);
    printf("FIGURE ks_speedup_vs_scipy=%.2f\n", ref_ks / best);
    printf("FIGURE ks_pvalue_rel_err_vs_scipy=%.3g\n",
           ref_p == 0 ? fabs(ks.pvalue) : fabs(ks.pvalue - ref_p) / ref_p);

    /* streaming profile updates: histogram + sketch + moments, batches of 4096 */
    mlops_drift_profile *base = NULL, *cur = NULL;
    mlops_drift_profile_from_values(&base, NULL, "x", pb, 100000, NULL);
    best = INFINITY;
    for (int r = 0; r < repeat; r++) {
        mlops_drift_profile_create_like(&cur, base);
        double t0 = now();
        size_t done = 0;
        while (done < stream_n) {
            size_t off = done % psi_n;
            size_t m = 4096;
            if (off + m > psi_n)
                m = psi_n - off;
            mlops_drift_profile_add(cur, pc + off, m);
            done += m;
        }
        double t = now() - t0;
        best = t < best ? t : best;
        if (r + 1 < repeat)
            mlops_drift_profile_free(cur);
    }
    mlops_drift_profile_stats s = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
    mlops_drift_profile_summary(&s, cur);
    printf("FIGURE profile_update_values_per_s=%.3g\n", (double)stream_n / best);
    printf("FIGURE profile_bytes=%llu\n", (unsigned long long)s.bytes);
    printf("FIGURE profile_rank_error_bound=%.4f\n", s.rank_error);
    printf("FIGURE profile_update_vs_numpy_psi_rate=%.2f\n",
           ((double)stream_n / best) / (2.0 * (double)psi_n / ref_psi));
    mlops_drift_profile_free(cur);

    /* monitor state for 100 numeric features */
    mlops_drift_profile *bs[100];
    char names[100][8];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], 8, "f%d", i);
        mlops_drift_profile_from_values(&bs[i], NULL, names[i], pb + (size_t)i * 1000, 100000,
                                        NULL);
    }
    mlops_drift_monitor *m = NULL;
    mlops_drift_monitor_create(&m, NULL, NULL, "bench", bs, 100, NULL);
    for (int i = 0; i < 100; i++)
        mlops_drift_monitor_feed(m, names[i], pc + (size_t)i * 1000, 100000);
    printf("FIGURE monitor_100_features_bytes=%llu\n",
           (unsigned long long)mlops_drift_monitor_memory(m));
    mlops_drift_monitor_close(m);
    for (int i = 0; i < 100; i++)
        mlops_drift_profile_free(bs[i]);
    mlops_drift_profile_free(base);
    free(pb);
    free(pc);
    free(kb);
    free(kc);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_drift: could not remove %s\n", dir);
    return 0;
}

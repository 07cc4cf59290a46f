/* SPDX-License-Identifier: MIT */
/*
 * A small training loop that logs everything to a libmlops store: params,
 * a metric history, tags, the training data's version and the model file.
 *
 *   ./train [STORE]        (default ./mlops-data)
 *   mlops runs show <the printed run id>
 *
 * Logistic regression by gradient descent on a synthetic data set, so the
 * example has no dependencies beyond libmlops and libm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <mlops/mlops.h>

#define N 512
#define D 4

static int fail(const char *what, mlops_status st)
{
    fprintf(stderr, "train: %s: %s (%s)\n", what, mlops_error_message(), mlops_status_name(st));
    return 1;
}

int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "./mlops-data";
    /* synthetic data: y = 1 when a fixed linear score is positive */
    static double x[N][D];
    static int y[N];
    unsigned seed = 42;
    for (int i = 0; i < N; i++) {
        double score = -0.2;
        for (int j = 0; j < D; j++) {
            seed = seed * 1103515245u + 12345u;
            x[i][j] = ((seed >> 8) % 2000) / 1000.0 - 1.0;
            score += (j + 1) * 0.5 * x[i][j] * (j % 2 ? -1 : 1);
        }
        y[i] = score > 0;
    }

    mlops_store *store = NULL;
    mlops_status st = mlops_store_open(&store, NULL, uri, NULL);
    if (st != MLOPS_OK)
        return fail("open store", st);
    char *exp_id = NULL;
    st = mlops_experiment_get_or_create(&exp_id, store, "examples");
    if (st != MLOPS_OK)
        return fail("experiment", st);

    const char *tag_keys[] = {"example", "framework"};
    const char *tag_values[] = {"train.c", "plain C"};
    const char *env_keys[] = {"blas"};
    const char *env_values[] = {"none"};
    mlops_run_options opts = MLOPS_RUN_OPTIONS_INIT;
    opts.name = "logreg-gd";
    opts.tag_keys = tag_keys;
    opts.tag_values = tag_values;
    opts.n_tags = 2;
    opts.env_keys = env_keys;
    opts.env_values = env_values;
    opts.n_env = 1;
    mlops_run *run = NULL;
    st = mlops_run_create(&run, store, exp_id, &opts);
    if (st != MLOPS_OK)
        return fail("start run", st);

    const double lr = 0.5;
    const int epochs = 50;
    const char *pk[] = {"learning_rate", "epochs", "features", "rows"};
    char lrs[32], eps[32], ds[32], ns[32];
    snprintf(lrs, sizeof(lrs), "%g", lr);
    snprintf(eps, sizeof(eps), "%d", epochs);
    snprintf(ds, sizeof(ds), "%d", D);
    snprintf(ns, sizeof(ns), "%d", N);
    const char *pv[] = {lrs, eps, ds, ns};
    st = mlops_run_log_batch(run, NULL, 0, pk, pv, 4, NULL, NULL, 0);
    if (st == MLOPS_OK)
        st = mlops_run_log_dataset_bytes(NULL, run, "synthetic", x, sizeof(x), N);
    if (st != MLOPS_OK)
        return fail("log params", st);

    /* a hot loop can switch on asynchronous logging: points go to a ring */
    st = mlops_run_set_async(run, 4096);
    double w[D] = {0}, b = 0;
    for (int epoch = 0; st == MLOPS_OK && epoch < epochs; epoch++) {
        double gw[D] = {0}, gb = 0, loss = 0;
        int correct = 0;
        for (int i = 0; i < N; i++) {
            double z = b;
            for (int j = 0; j < D; j++)
                z += w[j] * x[i][j];
            double p = 1.0 / (1.0 + exp(-z));
            loss -= y[i] ? log(p + 1e-12) : log(1 - p + 1e-12);
            correct += (p > 0.5) == y[i];
            for (int j = 0; j < D; j++)
                gw[j] += (p - y[i]) * x[i][j] / N;
            gb += (p - y[i]) / N;
        }
        for (int j = 0; j < D; j++)
            w[j] -= lr * gw[j];
        b -= lr * gb;
        st = mlops_run_log_metric(run, "loss", loss / N, epoch);
        if (st == MLOPS_OK)
            st = mlops_run_log_metric(run, "accuracy", (double)correct / N, epoch);
    }
    if (st == MLOPS_OK)
        st = mlops_run_flush(run); /* reports any background error */
    if (st != MLOPS_OK)
        return fail("log metrics", st);

    double model[D + 1];
    for (int j = 0; j < D; j++)
        model[j] = w[j];
    model[D] = b;
    st = mlops_run_log_artifact_bytes(run, "model/weights.f64", model, sizeof(model));
    if (st == MLOPS_OK)
        st = mlops_run_end(run, MLOPS_RUN_FINISHED, 0);
    if (st != MLOPS_OK)
        return fail("finish", st);
    double acc;
    mlops_run_latest_metric(&acc, run, "accuracy");
    printf("%s\n", mlops_run_id(run));
    fprintf(stderr, "run %s in experiment %s: final accuracy %.3f\n", mlops_run_id(run), exp_id,
            acc);
    mlops_run_close(run);
    mlops_string_free(NULL, exp_id);
    mlops_store_close(store);
    return 0;
}

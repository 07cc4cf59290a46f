/* SPDX-License-Identifier: MIT */
/* What the registry reads from the tracking module: a run's artifact,
 * lineage (datasets, code commit, evaluation report) and metrics. */
#include <string.h>

#include "mlops/run.h"
#include "registry/registry_internal.h"

#define REG_COMMIT_TAG "mlops.source.git.commit"

void mlops__registry_run_source_free(const mlops_env *env, reg_run_source *s)
{
    if (s == NULL)
        return;
    mlops__free(env, s->code_commit);
    for (size_t i = 0; i < s->n_datasets; i++)
        mlops__free(env, s->datasets[i].name);
    mlops__free(env, s->datasets);
    memset(s, 0, sizeof(*s));
}

/* Copy a string the tracking module returned into our own allocation. */
static mlops_status adopt(char **dst, const mlops_env *env, mlops_env *owner, char *s)
{
    *dst = mlops__strdup(env, s);
    mlops_string_free(owner, s);
    return *dst ? MLOPS_OK : mlops__nomem();
}

mlops_status mlops__registry_run_source(reg_run_source *out, mlops_store *store,
                                        const char *run_id, const char *artifact_path,
                                        const char *eval_path)
{
    memset(out, 0, sizeof(*out));
    mlops_env *env = mlops_store_env(store);
    mlops_run *run = NULL;
    mlops_status st = mlops_run_open(&run, store, run_id);
    if (st != MLOPS_OK)
        return st;
    st = mlops_run_artifact_stat(&out->blob, &out->size, run, artifact_path);
    if (st == MLOPS_E_NOTFOUND)
        st = mlops__error(MLOPS_E_NOTFOUND, "run %s has no artifact '%s'", run_id, artifact_path);
    if (st == MLOPS_OK && eval_path) {
        uint64_t sz = 0;
        st = mlops_run_artifact_stat(&out->eval_blob, &sz, run, eval_path);
        if (st == MLOPS_E_NOTFOUND)
            st = mlops__error(MLOPS_E_NOTFOUND,
                              "run %s has no artifact '%s' (the evaluation report)", run_id,
                              eval_path);
        out->has_eval = st == MLOPS_OK;
    }
    if (st == MLOPS_OK) {
        char *commit = NULL;
        mlops_status ts = mlops_run_get_tag(&commit, run, REG_COMMIT_TAG);
        if (ts == MLOPS_OK)
            st = adopt(&out->code_commit, env, env, commit);
        else if (ts != MLOPS_E_NOTFOUND)
            st = ts;
    }
    size_t n = 0;
    if (st == MLOPS_OK)
        st = mlops_run_dataset_count(&n, run);
    if (st == MLOPS_OK && n) {
        out->datasets = mlops__calloc(env, n, sizeof(reg_dataset));
        if (out->datasets == NULL)
            st = mlops__nomem();
    }
    for (size_t i = 0; st == MLOPS_OK && i < n; i++) {
        reg_dataset *d = &out->datasets[i];
        char *name = NULL;
        st = mlops_run_dataset_get(&d->hash, &d->rows, &name, run, i);
        if (st == MLOPS_OK) {
            st = adopt(&d->name, env, env, name);
            out->n_datasets = i + 1;
        }
    }
    mlops_run_close(run);
    if (st != MLOPS_OK)
        mlops__registry_run_source_free(env, out);
    return st;
}

mlops_status mlops__registry_run_metric(double *out, mlops_store *store, const char *run_id,
                                        const char *key)
{
    mlops_run *run = NULL;
    mlops_status st = mlops_run_open(&run, store, run_id);
    if (st == MLOPS_E_NOTFOUND)
        return st;
    if (st == MLOPS_OK)
        st = mlops_run_latest_metric(out, run, key);
    mlops_run_close(run);
    return st;
}

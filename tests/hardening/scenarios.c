/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "scenarios.h"

/* ---- store ---- */

static mlops_status st_open(sweep_ctx *c)
{
    return sweep_open_store(c);
}

static mlops_status st_put(sweep_ctx *c)
{
    return mlops_store_put(c->store, "exp/1/name", 10, "churn-model", 11);
}

static mlops_status st_batch(sweep_ctx *c)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, c->store);
    if (st == MLOPS_OK)
        st = mlops_batch_require_absent(b, "run/1", 5);
    if (st == MLOPS_OK)
        st = mlops_batch_require_value(b, "exp/1/name", 10, "churn-model", 11);
    for (int i = 0; i < 20 && st == MLOPS_OK; i++) {
        char k[32], v[64];
        int kl = snprintf(k, sizeof(k), "run/1/metric/%03d", i);
        int vl = snprintf(v, sizeof(v), "%d:%.17g", i, i * 0.25);
        st = mlops_batch_put(b, k, (size_t)kl, v, (size_t)vl);
    }
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "run/1", 5, "RUNNING", 7);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->store, b);
    mlops_batch_free(b);
    return st;
}

static mlops_status st_cas(sweep_ctx *c)
{
    mlops_bytes v;
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&v, &ver, c->store, "run/1", 5);
    if (st != MLOPS_OK)
        return st;
    mlops_bytes_free(&v);
    mlops_batch *b = NULL;
    st = mlops_batch_create(&b, c->store);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(b, "run/1", 5, ver);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "run/1", 5, "FINISHED", 8);
    if (st == MLOPS_OK)
        st = mlops_batch_delete(b, "run/1/metric/000", 16);
    if (st == MLOPS_OK)
        st = mlops_store_apply(c->store, b);
    mlops_batch_free(b);
    return st;
}

static mlops_status st_blob(sweep_ctx *c)
{
    static uint8_t data[70000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + i / 300);
    mlops_blob_writer *w = NULL;
    mlops_status st = mlops_blob_writer_open(&w, c->store);
    for (size_t off = 0; st == MLOPS_OK && off < sizeof(data); off += 16384) {
        size_t n = sizeof(data) - off < 16384 ? sizeof(data) - off : 16384;
        st = mlops_blob_writer_write(w, data + off, n);
    }
    mlops_hash128 id;
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(&id, w);
    mlops_blob_writer_free(w);
    if (st != MLOPS_OK)
        return st;
    char hex[33];
    mlops_hash128_to_hex(hex, &id);
    st = mlops_store_put(c->store, "run/1/artifact/model.bin", 24, hex, 32);
    if (st != MLOPS_OK)
        return st;
    /* read it back, verified */
    mlops_bytes out;
    st = mlops_store_blob_get(&out, c->store, &id, 0);
    if (st == MLOPS_OK) {
        if (out.len != sizeof(data) || memcmp(out.data, data, out.len) != 0)
            st = mlops_error_set(MLOPS_E_INTERNAL, "blob read back differs");
        mlops_bytes_free(&out);
    }
    return st;
}

static int count_cb(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                    void *payload)
{
    (void)k, (void)kl, (void)v, (void)vl, (void)ver;
    (*(int *)payload)++;
    return 0;
}

static mlops_status st_read(sweep_ctx *c)
{
    int n = 0;
    mlops_status st = mlops_store_scan_prefix(c->store, "run/1/metric/", 13, count_cb, &n);
    if (st == MLOPS_OK && n != 19)
        return mlops_error_set(MLOPS_E_INTERNAL, "prefix scan count wrong");
    mlops_store_iter *it = NULL;
    if (st == MLOPS_OK)
        st = mlops_store_iter_open(&it, c->store, "run/", 4, "run0", 4);
    int m = 0;
    while (st == MLOPS_OK) {
        const uint8_t *k, *v;
        size_t kl, vl;
        st = mlops_store_iter_next(it, &k, &kl, &v, &vl);
        if (st == MLOPS_OK)
            m++;
    }
    mlops_store_iter_free(it);
    if (st == MLOPS_E_NOTFOUND)
        st = m == 21 ? MLOPS_OK : mlops_error_set(MLOPS_E_INTERNAL, "cursor count wrong");
    mlops_bytes v;
    if (st == MLOPS_OK) {
        st = mlops_store_get(&v, NULL, c->store, "exp/1/name", 10);
        mlops_bytes_free(&v);
    }
    return st;
}

static mlops_status st_delete(sweep_ctx *c)
{
    return mlops_store_delete(c->store, "run/1/metric/019", 16);
}

static mlops_status st_maint(sweep_ctx *c)
{
    mlops_status st = mlops_store_compact(c->store);
    if (st == MLOPS_E_UNSUPPORTED)
        st = MLOPS_OK;
    char *report = NULL;
    if (st == MLOPS_OK)
        st = mlops_store_check(&report, c->store);
    mlops_string_free(mlops_store_env(c->store), report);
    mlops_store_info_data info = {MLOPS_STORE_INFO_VERSION};
    if (st == MLOPS_OK)
        st = mlops_store_info(&info, c->store);
    return st;
}

static mlops_status st_flush(sweep_ctx *c)
{
    return mlops_store_flush(c->store);
}

typedef mlops_status (*plain_step)(sweep_ctx *c);
static const plain_step store_steps[] = {st_open, st_put,    st_batch, st_cas,  st_blob,
                                         st_read, st_delete, st_maint, st_flush};

static size_t store_n(int scale)
{
    (void)scale;
    return sizeof(store_steps) / sizeof(store_steps[0]);
}

static mlops_status store_step(sweep_ctx *c, size_t i)
{
    return store_steps[i](c);
}

const sweep_scenario scenario_store = {"store", store_n, store_step, NULL, NULL, NULL, {0}};

/* ---- tracking: log a run ---- */

#define RUN_FIXED 9 /* steps before the metrics */

static size_t run_metrics(int scale)
{
    return scale ? 1000 : 4;
}

static size_t run_n(int scale)
{
    return RUN_FIXED + run_metrics(scale) + 5;
}

static void run_release(sweep_ctx *c)
{
    mlops_run_close(c->h[0]);
}

static mlops_status run_step(sweep_ctx *c, size_t i)
{
    mlops_run *run = c->h[0];
    size_t nm = run_metrics(c->scale);
    if (i == 0)
        return sweep_open_store(c);
    if (i == 1)
        return mlops_experiment_get_or_create(&c->ids[0], c->store, "churn");
    if (i == 2) {
        mlops_run_options o;
        mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
        o.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
        o.name = "baseline";
        o.start_ms = 1700000000000LL;
        mlops_run *r = NULL;
        mlops_status st = mlops_run_create(&r, c->store, c->ids[0], &o);
        c->h[0] = r;
        return st;
    }
    if (i == 3)
        return mlops_run_log_param(run, "lr", "0.1");
    if (i == 4)
        return mlops_run_log_param(run, "optimizer", "adam");
    if (i == 5)
        return mlops_run_log_param(run, "lr", "0.1"); /* the same value again: a no-op */
    if (i == 6)
        return mlops_run_set_tag(run, "team", "growth");
    if (i == 7) {
        static const char *const pk[] = {"epochs", "batch"}, *const pv[] = {"10", "64"};
        mlops_metric_point m[3] = {{"val_loss", 0.9, 0, 1700000000000LL},
                                   {"val_loss", 0.7, 1, 1700000001000LL},
                                   {"val_acc", 0.51, 0, 1700000000000LL}};
        return mlops_run_log_batch(run, m, 3, pk, pv, 2, NULL, NULL, 0);
    }
    if (i == 8) {
        mlops_metric_point m[50];
        for (int k = 0; k < 50; k++)
            m[k] = (mlops_metric_point){"lr_sched", 0.1 / (k + 1), k, 1700000000000LL + k};
        return mlops_run_log_metrics(run, m, 50);
    }
    if (i < RUN_FIXED + nm) {
        size_t k = i - RUN_FIXED;
        return mlops_run_log_metric_at(run, "loss", 1.0 / (double)(k + 1), (int64_t)k,
                                       1700000000000LL + (int64_t)k * 1000);
    }
    i -= RUN_FIXED + nm;
    if (i == 0) {
        static uint8_t model[20000];
        for (size_t k = 0; k < sizeof(model); k++)
            model[k] = (uint8_t)(k * 13 + k / 97);
        return mlops_run_log_artifact_bytes(run, "model/weights.bin", model, sizeof(model));
    }
    if (i == 1)
        return mlops_run_log_artifact_bytes(run, "report.txt", "auc=0.91\n", 9);
    if (i == 2)
        return mlops_run_end(run, MLOPS_RUN_FINISHED, 1700000099000LL);
    if (i == 3) {
        mlops_search_options so;
        mlops_search_options_init(&so, MLOPS_SEARCH_OPTIONS_VERSION);
        so.filter = "params.lr = '0.1' and metrics.loss < 2";
        mlops_run_list *l = NULL;
        mlops_status st = mlops_run_search(&l, c->store, &so);
        if (st == MLOPS_OK && mlops_run_list_count(l) != 1)
            st = mlops_error_set(MLOPS_E_INTERNAL, "search found the wrong runs");
        mlops_run_list_free(l);
        return st;
    }
    return mlops_store_flush(c->store);
}

/* What a user of the tracking API sees, without the random run ids: every
 * run's fields, status, times, params, tags, latest metrics, full metric
 * histories and artifacts; plus the number of raw keys, so a half-applied
 * batch shows even where the API would hide it. */
static uint64_t h_str(uint64_t h, const char *s)
{
    if (s == NULL)
        return mlops_hash64("\xff", 1, h);
    return mlops_hash64(s, strlen(s) + 1, h);
}

static int count_keys(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                      void *payload)
{
    (void)k, (void)kl, (void)v, (void)vl, (void)ver;
    (*(uint64_t *)payload)++;
    return 0;
}

static uint64_t run_state(mlops_store *s)
{
    uint64_t keys = 0;
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, count_keys, &keys));
    uint64_t h = mlops_hash64(&keys, sizeof(keys), 0);
    mlops_search_options so;
    mlops_search_options_init(&so, MLOPS_SEARCH_OPTIONS_VERSION);
    so.view = MLOPS_VIEW_ALL;
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_search(&l, s, &so));
    size_t n = mlops_run_list_count(l);
    h = mlops_hash64(&n, sizeof(n), h);
    for (size_t i = 0; i < n; i++) {
        static const uint32_t fields[] = {MLOPS_RUN_FIELD_EXPERIMENT_ID, MLOPS_RUN_FIELD_NAME,
                                          MLOPS_RUN_FIELD_PARENT_ID};
        for (size_t f = 0; f < 3; f++)
            h = h_str(h, mlops_run_list_text(l, i, fields[f]));
        uint32_t stv = 0, life = 0;
        int64_t t[2] = {0, 0};
        tu_assert_ok(mlops_run_list_info(&stv, &life, &t[0], &t[1], l, i));
        uint32_t sl[2] = {stv, life};
        h = mlops_hash64(sl, sizeof(sl), h);
        h = mlops_hash64(t, sizeof(t), h);
        for (uint32_t kind = MLOPS_ITEM_PARAM; kind <= MLOPS_ITEM_DATASET; kind++) {
            size_t m = mlops_run_list_item_count(l, i, kind);
            h = mlops_hash64(&m, sizeof(m), h);
            for (size_t j = 0; j < m; j++) {
                h = h_str(h, mlops_run_list_item_key(l, i, kind, j));
                if (kind == MLOPS_ITEM_METRIC) {
                    const mlops_metric_value *mv = mlops_run_list_metric(l, i, j);
                    h = mlops_hash64(mv, sizeof(*mv), h);
                } else {
                    h = h_str(h, mlops_run_list_item_value(l, i, kind, j));
                }
            }
        }
        mlops_run *run = NULL;
        tu_assert_ok(mlops_run_open(&run, s, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_ID)));
        size_t m = mlops_run_list_item_count(l, i, MLOPS_ITEM_METRIC);
        for (size_t j = 0; j < m; j++) {
            mlops_metric_history *mh = NULL;
            tu_assert_ok(mlops_metric_history_open(&mh, run,
                                                   mlops_run_list_item_key(l, i,
                                                                           MLOPS_ITEM_METRIC, j),
                                                   0));
            size_t np = mlops_metric_history_count(mh);
            h = mlops_hash64(mlops_metric_history_points(mh), np * sizeof(mlops_metric_value), h);
            mlops_metric_history_free(mh);
        }
        mlops_artifact_list *al = NULL;
        tu_assert_ok(mlops_artifact_list_open(&al, run, NULL));
        for (size_t j = 0; j < mlops_artifact_list_count(al); j++) {
            h = h_str(h, mlops_artifact_list_path(al, j));
            uint64_t sz = mlops_artifact_list_size(al, j);
            h = mlops_hash64(&sz, sizeof(sz), h);
            h = mlops_hash64(mlops_artifact_list_hash(al, j), 16, h);
        }
        mlops_artifact_list_free(al);
        mlops_run_close(run);
    }
    mlops_run_list_free(l);
    return h;
}

static bool run_idempotent(size_t i, int scale)
{
    size_t nm = run_metrics(scale);
    if (i == 0 || i == 2 || i == 7 || i == 8 || (i >= RUN_FIXED && i < RUN_FIXED + nm))
        return false; /* opens, creates a run, appends metrics */
    return true;      /* same name, same param, same tag, same artifact, end, read */
}

const sweep_scenario scenario_run = {"run",     run_n,          run_step, run_release,
                                     run_state, run_idempotent, {0}};

const sweep_scenario *const all_scenarios[] = {&scenario_store,    &scenario_run,
                                               &scenario_registry, &scenario_features,
                                               &scenario_drift,    &scenario_rollout,
                                               NULL};

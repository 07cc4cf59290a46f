/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "scenarios.h"

/* ---- store ---- */

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

const sweep_scenario scenario_store = {
    "store",
    {sweep_open_store, st_put, st_batch, st_cas, st_blob, st_read, st_delete, st_maint, st_flush,
     NULL},
    NULL,
    {0},
};

const sweep_scenario *const all_scenarios[] = {&scenario_store, NULL};

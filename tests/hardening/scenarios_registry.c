/* SPDX-License-Identifier: MIT */
/* The registry scenario: register and promote. */
#include <stdio.h>
#include <string.h>

#include "mlops/registry.h"
#include "scenarios.h"

#define MODEL "churn-clf"

enum { H_RUN, H_REG };

static size_t reg_n(int scale)
{
    (void)scale;
    return 18;
}

static void reg_release(sweep_ctx *c)
{
    mlops_run_close(c->h[H_RUN]);
    mlops_registry_close(c->h[H_REG]);
}

static mlops_status reg_open(sweep_ctx *c)
{
    if (c->h[H_REG] != NULL)
        return MLOPS_OK;
    mlops_registry *reg = NULL;
    mlops_status st = mlops_registry_open(&reg, c->store);
    c->h[H_REG] = reg;
    return st;
}

static mlops_status promote(sweep_ctx *c, int64_t version, const char *stage, const char *gate)
{
    mlops_promote_options o;
    mlops_promote_options_init(&o, MLOPS_PROMOTE_OPTIONS_VERSION);
    const char *exprs[1] = {gate};
    if (gate) {
        o.gate_exprs = exprs;
        o.n_gate_exprs = 1;
    }
    o.reason = "sweep";
    o.user = "ci";
    char *report = NULL;
    mlops_status st = mlops_registry_promote(gate ? &report : NULL, c->h[H_REG], MODEL, version,
                                             stage, &o);
    mlops_string_free(mlops_registry_env(c->h[H_REG]), report);
    return st;
}

static mlops_status expect_version(sweep_ctx *c, const char *uri, int64_t want)
{
    int64_t v = 0;
    mlops_status st = mlops_registry_resolve(&v, c->h[H_REG], uri);
    if (st == MLOPS_OK && v != want)
        st = sweep_fail("resolve gave the wrong version");
    return st;
}

static mlops_status reg_step(sweep_ctx *c, size_t i)
{
    mlops_run *run = c->h[H_RUN];
    switch (i) {
    case 0:
        return sweep_open_store(c);
    case 1:
        return mlops_experiment_get_or_create(&c->ids[0], c->store, "churn");
    case 2: {
        mlops_run_options o;
        mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
        o.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
        o.name = "train";
        o.start_ms = 1700000000000LL;
        mlops_run *r = NULL;
        mlops_status st = mlops_run_create(&r, c->store, c->ids[0], &o);
        c->h[H_RUN] = r;
        return st;
    }
    case 3:
        return mlops_run_log_metric_at(run, "val_auc", 0.87, 0, 1700000001000LL);
    case 4: {
        static uint8_t model[12000];
        for (size_t k = 0; k < sizeof(model); k++)
            model[k] = (uint8_t)(k * 31 + k / 211);
        return mlops_run_log_artifact_bytes(run, "model/model.bin", model, sizeof(model));
    }
    case 5:
        return mlops_run_end(run, MLOPS_RUN_FINISHED, 1700000050000LL);
    case 6: {
        /* opening reads nothing; the model record is the step's write */
        mlops_status st = reg_open(c);
        if (st == MLOPS_OK)
            st = mlops_registry_create_model(c->h[H_REG], MODEL, "churn classifier");
        return st;
    }
    case 7: {
        mlops_register_options o;
        mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
        o.no_create_model = 1;
        o.run_id = mlops_run_id(run);
        o.artifact_path = "model/model.bin";
        o.description = "from the training run";
        o.user = "ci";
        int64_t v = 0;
        mlops_status st = mlops_registry_register(&v, c->h[H_REG], MODEL, &o);
        if (st == MLOPS_OK && v != 1)
            st = sweep_fail("first version is not 1");
        return st;
    }
    case 8: {
        /* a blob (invisible until registered) and a version made from it */
        static const char data[] = "onnx-model-bytes:retrained-on-new-data";
        mlops_hash128 id;
        mlops_status st = mlops_store_blob_put(&id, c->store, data, sizeof(data) - 1);
        if (st != MLOPS_OK)
            return st;
        mlops_register_options o;
        mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
        o.blob = &id;
        o.code_commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        int64_t v = 0;
        st = mlops_registry_register(&v, c->h[H_REG], MODEL, &o);
        if (st == MLOPS_OK && v != 2)
            st = sweep_fail("second version is not 2");
        return st;
    }
    case 9:
        return mlops_registry_set_model_tag(c->h[H_REG], MODEL, "team", "growth");
    case 10:
        return mlops_registry_set_alias(c->h[H_REG], MODEL, "champion", 1, "first release");
    case 11:
        return promote(c, 1, "Staging", "val_auc >= 0.8"); /* a gate that passes */
    case 12:
        return promote(c, 1, "Production", NULL);
    case 13: {
        /* a gate that refuses: version 2 has no run, so no val_auc; the
         * refusal is recorded with the version */
        mlops_status st = promote(c, 2, "Staging", "val_auc >= 0.8");
        if (st == MLOPS_E_CONFLICT && strstr(mlops_error_message(), "gate refused") != NULL)
            return MLOPS_OK;
        if (st == MLOPS_OK)
            st = sweep_fail("the gate let version 2 through");
        return st;
    }
    case 14:
        return promote(c, 2, "Production", NULL); /* archives version 1 */
    case 15: {
        int64_t v = 0;
        mlops_status st = mlops_registry_rollback(&v, c->h[H_REG], MODEL, "latency regression");
        if (st == MLOPS_OK && v != 1)
            st = sweep_fail("rollback restored the wrong version");
        return st;
    }
    case 16: {
        mlops_status st = expect_version(c, "models:/" MODEL "/Production", 1);
        if (st == MLOPS_OK)
            st = expect_version(c, "models:/" MODEL "@champion", 1);
        uint32_t stage = 0;
        if (st == MLOPS_OK)
            st = mlops_registry_stage(&stage, c->h[H_REG], MODEL, 2);
        if (st == MLOPS_OK && stage != MLOPS_STAGE_ARCHIVED)
            st = sweep_fail("version 2 is not archived");
        char *json = NULL;
        if (st == MLOPS_OK)
            st = mlops_registry_lineage_json(&json, c->h[H_REG], MODEL, 1);
        mlops_string_free(mlops_registry_env(c->h[H_REG]), json);
        return st;
    }
    default:
        return mlops_store_flush(c->store);
    }
}

/* What a registry user sees: the model list, the model with its versions,
 * each version (stage, aliases, source, gate decision), lineage and the
 * history, with random run ids and blob addresses masked; plus the raw key
 * count. */
static uint64_t h_json(uint64_t h, mlops_registry *reg, mlops_status st, char **json)
{
    h = mlops_hash64(&st, sizeof(st), h);
    if (st == MLOPS_OK)
        h = sweep_hash_text(h, *json);
    else
        ck_assert_msg(st == MLOPS_E_NOTFOUND, "registry state: %s", mlops_error_message());
    mlops_string_free(mlops_registry_env(reg), *json);
    *json = NULL;
    return h;
}

static uint64_t reg_state(mlops_store *s)
{
    uint64_t keys = sweep_key_count(s);
    uint64_t h = mlops_hash64(&keys, sizeof(keys), 0);
    mlops_registry *reg = NULL;
    tu_assert_ok(mlops_registry_open(&reg, s));
    char *json = NULL;
    mlops_status st = mlops_registry_search_json(&json, reg, NULL, 0);
    h = h_json(h, reg, st, &json);
    st = mlops_registry_model_json(&json, reg, MODEL);
    h = h_json(h, reg, st, &json);
    st = mlops_registry_history_json(&json, reg, MODEL);
    h = h_json(h, reg, st, &json);
    for (int64_t v = 1; v <= 2; v++) {
        st = mlops_registry_version_json(&json, reg, MODEL, v);
        h = h_json(h, reg, st, &json);
        st = mlops_registry_lineage_json(&json, reg, MODEL, v);
        h = h_json(h, reg, st, &json);
    }
    mlops_registry_close(reg);
    return h;
}

static bool reg_idempotent(size_t i, int scale)
{
    (void)scale;
    /* get-or-create, the same tag again, a read, a flush; opening the store, creating the
     * run and the model, registering and history-recording moves are not */
    return i == 1 || i == 9 || i == 16 || i == 17;
}

const sweep_scenario scenario_registry = {"registry", reg_n,          reg_step, reg_release,
                                          reg_state,  reg_idempotent, {0}};

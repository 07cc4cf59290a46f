/* SPDX-License-Identifier: MIT */
/* The model registry: models, versions, stages, aliases, URIs, history,
 * time travel, gates, rollback, hostile inputs and concurrent writers. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/codec.h"
#include "registry/registry_internal.h"
#include "testutil.h"

/* ---- helpers ---- */

typedef struct fp_ctx {
    uint64_t h;
    size_t n;
} fp_ctx;

static int fp_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                 uint64_t version, void *payload)
{
    fp_ctx *f = payload;
    f->h = mlops_hash64(key, key_len, f->h) ^ mlops_hash64(value, value_len, f->h + 1);
    f->n++;
    return 0;
}

/* A fingerprint of every key and value: equal before and after means a
 * rejected call changed nothing (I7). */
static uint64_t store_fp(mlops_store *s)
{
    fp_ctx f = {7, 0};
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, fp_cb, &f));
    return f.h ^ f.n;
}

static mlops_store *mem_store(mlops_env *env)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, env, "mem:", NULL));
    return s;
}

static mlops_hash128 put_blob(mlops_store *s, const char *text)
{
    mlops_hash128 h;
    tu_assert_ok(mlops_store_blob_put(&h, s, text, strlen(text)));
    return h;
}

static int64_t reg_blob(mlops_registry *reg, const char *model, const mlops_hash128 *blob)
{
    mlops_register_options o;
    tu_assert_ok(mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION));
    o.blob = blob;
    o.user = "tester";
    int64_t v = 0;
    tu_assert_ok(mlops_registry_register(&v, reg, model, &o));
    return v;
}

static uint32_t stage_of(mlops_registry *reg, const char *model, int64_t v)
{
    uint32_t s = 99;
    tu_assert_ok(mlops_registry_stage(&s, reg, model, v));
    return s;
}

static int64_t resolve(mlops_registry *reg, const char *uri)
{
    int64_t v = -1;
    tu_assert_ok(mlops_registry_resolve(&v, reg, uri));
    return v;
}

static mlops_status promote(mlops_registry *reg, const char *m, int64_t v, const char *stage)
{
    return mlops_registry_promote(NULL, reg, m, v, stage, NULL);
}

static int count_in_stage(mlops_registry *reg, const char *m, int64_t last, uint32_t stage)
{
    int n = 0;
    for (int64_t v = 1; v <= last; v++) {
        uint32_t s;
        if (mlops_registry_stage(&s, reg, m, v) == MLOPS_OK && s == stage)
            n++;
    }
    return n;
}

/* ---- ABI ---- */

START_TEST(test_options_abi)
{
    ck_assert_uint_eq(MLOPS_REGISTER_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_register_options), 80);
    ck_assert_uint_eq(offsetof(mlops_register_options, user), 72);
    ck_assert_uint_eq(MLOPS_PROMOTE_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_promote_options), 64);
    ck_assert_uint_eq(offsetof(mlops_promote_options, user), 56);
    ck_assert_uint_eq(MLOPS_GATE_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_gate), 40);
    ck_assert_uint_eq(offsetof(mlops_gate, min_relative_change), 32);
    mlops_register_options r;
    tu_assert_st(mlops_register_options_init(&r, 2), MLOPS_E_VERSION);
    tu_assert_st(mlops_register_options_init(NULL, 1), MLOPS_E_INVALID);
    mlops_promote_options p;
    tu_assert_st(mlops_promote_options_init(&p, 0), MLOPS_E_VERSION);
    mlops_gate g;
    tu_assert_st(mlops_gate_init(&g, 9), MLOPS_E_VERSION);
    /* A1: NULL handles and out-pointers */
    tu_assert_st(mlops_registry_open(NULL, NULL), MLOPS_E_INVALID);
    mlops_registry *reg = (mlops_registry *)1;
    tu_assert_st(mlops_registry_open(&reg, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(reg);
    tu_assert_st(mlops_registry_create_model(NULL, "m", NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_registry_resolve(NULL, NULL, "models:/m/1"), MLOPS_E_INVALID);
    mlops_registry_close(NULL);
}
END_TEST

/* ---- models ---- */

START_TEST(test_create_model)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_store_close(s); /* the registry keeps it alive */
    tu_assert_ok(mlops_registry_create_model(reg, "fraud", "catches fraud"));
    tu_assert_st(mlops_registry_create_model(reg, "fraud", NULL), MLOPS_E_EXISTS);
    ck_assert_str_eq(mlops_error_message(), "registered model 'fraud' already exists");
    /* N10: case-only differences are distinct names */
    tu_assert_ok(mlops_registry_create_model(reg, "Fraud", NULL));
    /* N11, N13: reserved-looking names are just data */
    tu_assert_ok(mlops_registry_create_model(reg, "LOCK", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "MANIFEST-000001", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "CON", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "%2e%2e%2f", NULL)); /* N4: never decoded */
    char *json = NULL;
    tu_assert_ok(mlops_registry_model_json(&json, reg, "fraud"));
    ck_assert_ptr_nonnull(strstr(json, "\"description\": \"catches fraud\""));
    ck_assert_ptr_nonnull(strstr(json, "\"versions\": []"));
    mlops_string_free(NULL, json);
    mlops_registry_close(reg);
}
END_TEST

START_TEST(test_bad_names)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    uint64_t before = store_fp(s);
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    /* N1, N2, N3, N5, N6, N7, N8, N12 */
    const char *bad[] = {"",          "a/b",         "../x",         "/etc/passwd", "x@y",
                         "a\nb",      "a\tb",        "\x1b[31m",     "a\x7f",       "\xff",
                         "\xC0\xAF",  "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                         "\xC3",      big,           "models:/x/1",  "s3://b/k"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_assert_st(mlops_registry_create_model(reg, bad[i], NULL), MLOPS_E_INVALID);
        mlops_hash128 h = {{0}};
        mlops_register_options o;
        mlops_register_options_init(&o, 1);
        o.blob = &h;
        int64_t v;
        tu_assert_st(mlops_registry_register(&v, reg, bad[i], &o), MLOPS_E_INVALID);
    }
    tu_assert_st(mlops_registry_create_model(reg, NULL, NULL), MLOPS_E_INVALID);
    /* 256 bytes is the limit, 257 is over */
    big[256] = 0;
    tu_assert_ok(mlops_registry_create_model(reg, big, NULL));
    big[256] = 'a';
    big[257] = 0;
    tu_assert_st(mlops_registry_create_model(reg, big, NULL), MLOPS_E_INVALID);
    /* N9: names compare bytewise, no normalization */
    tu_assert_ok(mlops_registry_create_model(reg, "caf\xC3\xA9", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "cafe\xCC\x81", NULL));
    ck_assert_uint_ne(before, store_fp(s));
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_name_prefixes_do_not_collide)
{
    /* N13: "a" must not see the versions or history of "ab" */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "weights");
    ck_assert_int_eq(reg_blob(reg, "a", &b), 1);
    ck_assert_int_eq(reg_blob(reg, "ab", &b), 1);
    ck_assert_int_eq(reg_blob(reg, "ab", &b), 2);
    ck_assert_int_eq(reg_blob(reg, "a", &b), 2);
    char *json = NULL;
    tu_assert_ok(mlops_registry_model_json(&json, reg, "a"));
    ck_assert_ptr_nonnull(strstr(json, "\"version\": 2"));
    ck_assert_ptr_null(strstr(json, "\"version\": 3"));
    ck_assert_ptr_null(strstr(json, "\"name\": \"ab\""));
    mlops_string_free(NULL, json);
    tu_assert_ok(mlops_registry_history_json(&json, reg, "a"));
    ck_assert_ptr_nonnull(strstr(json, "\"seq\": 2"));
    ck_assert_ptr_null(strstr(json, "\"seq\": 3"));
    mlops_string_free(NULL, json);
    tu_assert_ok(mlops_registry_delete_model(reg, "a"));
    ck_assert_int_eq(resolve(reg, "models:/ab/latest"), 2);
    tu_assert_st(mlops_registry_resolve(&(int64_t){0}, reg, "models:/a/latest"),
                 MLOPS_E_NOTFOUND);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_tags_description_rename_delete)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    ck_assert_int_eq(reg_blob(reg, "m", &b), 1);
    ck_assert_int_eq(reg_blob(reg, "m", &b), 2);
    tu_assert_ok(promote(reg, "m", 2, "production"));
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "champion", 2, "best"));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "m", "team", "risk"));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "m", "team", "fraud"));
    tu_assert_st(mlops_registry_set_model_tag(reg, "m", "", "x"), MLOPS_E_INVALID);
    tu_assert_st(mlops_registry_set_model_tag(reg, "m", "k", "a\x01"), MLOPS_E_INVALID);
    tu_assert_st(mlops_registry_set_model_tag(reg, "m", "nope", NULL), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_set_description(reg, "m", 0, "model text"));
    tu_assert_ok(mlops_registry_set_description(reg, "m", 1, "line one\nline two"));
    tu_assert_st(mlops_registry_set_description(reg, "m", 9, "x"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_set_description(reg, "nope", 0, "x"), MLOPS_E_NOTFOUND);

    tu_assert_ok(mlops_registry_create_model(reg, "other", NULL));
    uint64_t before = store_fp(s);
    tu_assert_st(mlops_registry_rename_model(reg, "m", "other"), MLOPS_E_EXISTS);
    tu_assert_st(mlops_registry_rename_model(reg, "nope", "x"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_rename_model(reg, "m", "a/b"), MLOPS_E_INVALID);
    ck_assert_uint_eq(before, store_fp(s)); /* I7 */

    tu_assert_ok(mlops_registry_rename_model(reg, "m", "m2"));
    tu_assert_st(mlops_registry_resolve(&(int64_t){0}, reg, "models:/m/1"), MLOPS_E_NOTFOUND);
    ck_assert_int_eq(resolve(reg, "models:/m2@champion"), 2);
    ck_assert_int_eq(resolve(reg, "models:/m2/Production"), 2);
    char *json = NULL;
    tu_assert_ok(mlops_registry_version_json(&json, reg, "m2", 1));
    ck_assert_ptr_nonnull(strstr(json, "\"name\": \"m2\""));
    ck_assert_ptr_nonnull(strstr(json, "\"description\": \"line one\\nline two\""));
    mlops_string_free(NULL, json);
    tu_assert_ok(mlops_registry_model_json(&json, reg, "m2"));
    ck_assert_ptr_nonnull(strstr(json, "\"team\": \"fraud\""));
    ck_assert_ptr_nonnull(strstr(json, "\"description\": \"model text\""));
    mlops_string_free(NULL, json);
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m2"));
    ck_assert_ptr_nonnull(strstr(json, "\"alias\": \"champion\""));
    mlops_string_free(NULL, json);
    /* registering again continues the numbering */
    ck_assert_int_eq(reg_blob(reg, "m2", &b), 3);

    tu_assert_ok(mlops_registry_delete_model(reg, "m2"));
    tu_assert_st(mlops_registry_delete_model(reg, "m2"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_history_json(&json, reg, "m2"), MLOPS_E_NOTFOUND);
    /* a new model of the same name starts again at 1 */
    ck_assert_int_eq(reg_blob(reg, "m2", &b), 1);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- versions ---- */

START_TEST(test_register_numbers_never_reused)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "model bytes");
    ck_assert_int_eq(reg_blob(reg, "m", &b), 1);
    ck_assert_int_eq(reg_blob(reg, "m", &b), 2);
    ck_assert_int_eq(reg_blob(reg, "m", &b), 3);
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 3));
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 2));
    ck_assert_int_eq(reg_blob(reg, "m", &b), 4);
    int64_t v;
    tu_assert_st(mlops_registry_resolve(&v, reg, "models:/m/2"), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "deleted"));
    tu_assert_st(mlops_registry_resolve(&v, reg, "models:/m/7"), MLOPS_E_NOTFOUND);
    ck_assert_int_eq(resolve(reg, "models:/m/latest"), 4);
    ck_assert_int_eq(resolve(reg, "models:/m/4"), 4);
    tu_assert_st(mlops_registry_delete_version(reg, "m", 2), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_delete_version(reg, "m", 0), MLOPS_E_INVALID);
    tu_assert_st(mlops_registry_delete_version(reg, "m", -3), MLOPS_E_INVALID);
    mlops_hash128 got;
    uint64_t size = 0;
    tu_assert_ok(mlops_registry_artifact(&got, &size, reg, "m", 4));
    ck_assert_mem_eq(got.bytes, b.bytes, 16);
    ck_assert_uint_eq(size, strlen("model bytes"));
    tu_assert_st(mlops_registry_artifact(&got, &size, reg, "m", 2), MLOPS_E_NOTFOUND);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_register_bad_sources)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "x");
    mlops_hash128 missing;
    mlops_hash128_of(&missing, "not stored", 10);
    ck_assert_int_eq(reg_blob(reg, "m", &b), 1);
    uint64_t before = store_fp(s);
    mlops_register_options o;
    mlops_register_options_init(&o, 1);
    int64_t v = 77;
    tu_assert_st(mlops_registry_register(&v, reg, "m", NULL), MLOPS_E_INVALID);
    ck_assert_int_eq(v, 0);
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID); /* no source */
    o.blob = &missing;
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_NOTFOUND);
    o.blob = &b;
    o.run_id = "0123456789abcdef0123456789abcdef";
    o.artifact_path = "model.bin";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID); /* both */
    o.blob = NULL;
    o.artifact_path = NULL;
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID); /* no path */
    o.run_id = NULL;
    o.blob = &b;
    o.no_create_model = 1;
    tu_assert_st(mlops_registry_register(&v, reg, "absent", &o), MLOPS_E_NOTFOUND);
    o.no_create_model = 0;
    o.n_feature_hashes = 2; /* NULL array */
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID);
    o.n_feature_hashes = 0;
    o.user = "bad\nuser";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID);
    o.user = NULL;
    o.version = 2;
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_VERSION);
    ck_assert_uint_eq(before, store_fp(s)); /* I7: nothing stored by any of them */
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_lineage_from_blob)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    mlops_hash128 feats[2];
    mlops_hash128_of(&feats[0], "view a", 6);
    mlops_hash128_of(&feats[1], "view b", 6);
    mlops_register_options o;
    mlops_register_options_init(&o, 1);
    o.blob = &b;
    o.feature_hashes = feats;
    o.n_feature_hashes = 2;
    o.code_commit = "4f2a9c1";
    o.description = "baseline";
    int64_t v;
    tu_assert_ok(mlops_registry_register(&v, reg, "m", &o));
    char *json = NULL;
    tu_assert_ok(mlops_registry_lineage_json(&json, reg, "m", v));
    char hex[33];
    mlops_hash128_to_hex(hex, &feats[1]);
    ck_assert_ptr_nonnull(strstr(json, hex));
    mlops_hash128_to_hex(hex, &b);
    ck_assert_ptr_nonnull(strstr(json, hex));
    ck_assert_ptr_nonnull(strstr(json, "\"code_commit\": \"4f2a9c1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"source\": \"blob:"));
    ck_assert_ptr_nonnull(strstr(json, "\"run_id\": null"));
    mlops_string_free(NULL, json);
    tu_assert_st(mlops_registry_lineage_json(&json, reg, "m", 2), MLOPS_E_NOTFOUND);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- stages ---- */

START_TEST(test_stages_archive_existing)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    for (int i = 0; i < 4; i++)
        reg_blob(reg, "m", &b);
    ck_assert_uint_eq(stage_of(reg, "m", 1), MLOPS_STAGE_NONE);
    /* stage names are case-insensitive on input */
    tu_assert_ok(promote(reg, "m", 1, "STAGING"));
    tu_assert_ok(promote(reg, "m", 1, "Production"));
    ck_assert_uint_eq(stage_of(reg, "m", 1), MLOPS_STAGE_PRODUCTION);
    tu_assert_ok(promote(reg, "m", 2, "production"));
    ck_assert_uint_eq(stage_of(reg, "m", 1), MLOPS_STAGE_ARCHIVED);
    ck_assert_uint_eq(stage_of(reg, "m", 2), MLOPS_STAGE_PRODUCTION);
    ck_assert_int_eq(count_in_stage(reg, "m", 4, MLOPS_STAGE_PRODUCTION), 1);
    /* staging also archives the previous staging version */
    tu_assert_ok(promote(reg, "m", 3, "staging"));
    tu_assert_ok(promote(reg, "m", 4, "staging"));
    ck_assert_uint_eq(stage_of(reg, "m", 3), MLOPS_STAGE_ARCHIVED);
    /* keep_existing: two Production versions; the newest answers the URI */
    mlops_promote_options po;
    mlops_promote_options_init(&po, 1);
    po.keep_existing = 1;
    po.reason = "shadow";
    tu_assert_ok(mlops_registry_promote(NULL, reg, "m", 4, "Production", &po));
    ck_assert_int_eq(count_in_stage(reg, "m", 4, MLOPS_STAGE_PRODUCTION), 2);
    ck_assert_int_eq(resolve(reg, "models:/m/Production"), 4);
    ck_assert_int_eq(resolve(reg, "models:/m/archived"), 3);
    /* to the same stage: nothing to do */
    uint64_t before = store_fp(s);
    tu_assert_ok(promote(reg, "m", 4, "production"));
    ck_assert_uint_eq(before, store_fp(s));
    /* None and Archived archive nothing */
    tu_assert_ok(promote(reg, "m", 4, "None"));
    ck_assert_uint_eq(stage_of(reg, "m", 2), MLOPS_STAGE_PRODUCTION);
    tu_assert_ok(promote(reg, "m", 4, "archived"));
    int64_t v;
    tu_assert_st(mlops_registry_resolve(&v, reg, "models:/m/Staging"), MLOPS_E_NOTFOUND);
    char *json;
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m"));
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"archived: version 2 moved to Production\""));
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"shadow\""));
    mlops_string_free(NULL, json);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_promote_bad_inputs)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    reg_blob(reg, "m", &b);
    reg_blob(reg, "m", &b);
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 2));
    uint64_t before = store_fp(s);
    /* R5: unknown stage, unknown version, deleted version, missing model */
    tu_assert_st(promote(reg, "m", 1, "Prod"), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "unknown stage 'Prod'"));
    tu_assert_st(promote(reg, "m", 1, ""), MLOPS_E_INVALID);
    tu_assert_st(promote(reg, "m", 1, NULL), MLOPS_E_INVALID);
    tu_assert_st(promote(reg, "m", 9, "Production"), MLOPS_E_NOTFOUND);
    ck_assert_str_eq(mlops_error_message(),
                     "model 'm' has no version 9 (the latest number given is 2)");
    tu_assert_st(promote(reg, "m", 2, "Production"), MLOPS_E_NOTFOUND);
    ck_assert_str_eq(mlops_error_message(), "version 2 of model 'm' was deleted");
    tu_assert_st(promote(reg, "nope", 1, "Production"), MLOPS_E_NOTFOUND);
    tu_assert_st(promote(reg, "m", 0, "Production"), MLOPS_E_INVALID);
    mlops_promote_options po;
    mlops_promote_options_init(&po, 1);
    po.reason = "esc\x1b[31m";
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_INVALID);
    po.reason = NULL;
    po.version = 5;
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_VERSION);
    ck_assert_uint_eq(before, store_fp(s));
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- aliases and URIs ---- */

START_TEST(test_aliases)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    for (int i = 0; i < 3; i++)
        reg_blob(reg, "m", &b);
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "champion", 1, "first"));
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "challenger", 2, NULL));
    ck_assert_int_eq(resolve(reg, "models:/m@champion"), 1);
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "champion", 2, "better"));
    ck_assert_int_eq(resolve(reg, "models:/m@champion"), 2);
    /* MLflow's rules: ^[\w\-]+$, at most 255, latest and v<N> reserved */
    uint64_t before = store_fp(s);
    const char *bad[] = {"latest", "LATEST", "v1", "v123", "V7", "a b", "a/b", "a@b", "a.b", "",
                         "é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        tu_assert_st(mlops_registry_set_alias(reg, "m", bad[i], 1, NULL), MLOPS_E_INVALID);
    char long_alias[300];
    memset(long_alias, 'x', 256);
    long_alias[256] = 0;
    tu_assert_st(mlops_registry_set_alias(reg, "m", long_alias, 1, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_registry_set_alias(reg, "m", "ok", 9, NULL), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_set_alias(reg, "nope", "ok", 1, NULL), MLOPS_E_NOTFOUND);
    ck_assert_uint_eq(before, store_fp(s));
    long_alias[255] = 0;
    tu_assert_ok(mlops_registry_set_alias(reg, "m", long_alias, 3, NULL));
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "v1x", 3, NULL)); /* not v<digits> */
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "a-b_C9", 3, NULL));
    /* deleting a version drops its aliases */
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 2));
    int64_t v;
    tu_assert_st(mlops_registry_resolve(&v, reg, "models:/m@champion"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_resolve(&v, reg, "models:/m@challenger"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_set_alias(reg, "m", "champion", 2, NULL), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_delete_alias(reg, "m", "v1x", "cleanup"));
    tu_assert_st(mlops_registry_delete_alias(reg, "m", "v1x", NULL), MLOPS_E_NOTFOUND);
    char *json;
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m"));
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"version deleted\""));
    ck_assert_ptr_nonnull(strstr(json, "\"previous_version\": 1"));
    mlops_string_free(NULL, json);
    tu_assert_ok(mlops_registry_model_json(&json, reg, "m"));
    ck_assert_ptr_nonnull(strstr(json, "\", \"a-b_C9\"]"));
    ck_assert_ptr_null(strstr(json, "v1x"));
    mlops_string_free(NULL, json);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_uris)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    reg_blob(reg, "fraud", &b);
    reg_blob(reg, "fraud", &b);
    tu_assert_ok(promote(reg, "fraud", 1, "Production"));
    tu_assert_ok(mlops_registry_set_alias(reg, "fraud", "champion", 2, NULL));
    ck_assert_int_eq(resolve(reg, "models:/fraud/1"), 1);
    ck_assert_int_eq(resolve(reg, "models:/fraud/Production"), 1);
    ck_assert_int_eq(resolve(reg, "models:/fraud/production"), 1);
    ck_assert_int_eq(resolve(reg, "models:/fraud@champion"), 2);
    ck_assert_int_eq(resolve(reg, "models:/fraud/latest"), 2);
    ck_assert_int_eq(resolve(reg, "models:/fraud/None"), 2);
    /* URIs that do not parse */
    const char *bad[] = {NULL,
                         "",
                         "fraud/1",
                         "models:fraud/1",
                         "models://fraud/1",
                         "models:/",
                         "models:/fraud",
                         "models:/fraud/",
                         "models:/fraud@",
                         "models:/fraud/0",
                         "models:/fraud/01",
                         "models:/fraud/-1",
                         "models:/fraud/1/2",
                         "models:/fraud/Prod",
                         "models:/fraud/1.0",
                         "models:/fraud@a b",
                         "models:/fraud@a/b",
                         "models:/fraud@a@b",
                         "models:/fraud/1@x",
                         "models:/fr\naud/1",
                         "models:/\xff/1",
                         "models:/fraud/99999999999999999999",
                         "runs:/abc/model"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 5;
        mlops_status st = mlops_registry_resolve(&v, reg, bad[i]);
        ck_assert_msg(st == MLOPS_E_INVALID, "uri %zu '%s': got %s", i, bad[i] ? bad[i] : "NULL",
                      mlops_status_name(st));
        ck_assert_int_eq(v, 0);
    }
    /* parse fine, match nothing */
    const char *none[] = {"models:/fraud/3", "models:/fraud@challenger", "models:/fraud/Staging",
                          "models:/other/1", "models:/other@x"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        int64_t v;
        tu_assert_st(mlops_registry_resolve(&v, reg, none[i]), MLOPS_E_NOTFOUND);
    }
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- history and time travel ---- */

START_TEST(test_time_travel)
{
    tu_clock clk = {1700000000000LL * 1000000LL};
    mlops_env *env = tu_env_new(NULL, &clk);
    mlops_store *s = mem_store(env);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    const int64_t t0 = 1700000000000LL;
    reg_blob(reg, "m", &b); /* t0 */
    clk.now_ns += 1000 * 1000000LL;
    reg_blob(reg, "m", &b); /* t0+1s */
    clk.now_ns += 1000 * 1000000LL;
    tu_assert_ok(promote(reg, "m", 1, "Production")); /* t0+2s */
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "champion", 1, NULL));
    clk.now_ns += 1000 * 1000000LL;
    tu_assert_ok(promote(reg, "m", 2, "Production")); /* t0+3s */
    tu_assert_ok(mlops_registry_set_alias(reg, "m", "champion", 2, NULL));
    clk.now_ns += 1000 * 1000000LL;
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 1)); /* t0+4s */
    int64_t v;
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m/Production", t0 + 1999),
                 MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/Production", t0 + 2000));
    ck_assert_int_eq(v, 1);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/Production", t0 + 2999));
    ck_assert_int_eq(v, 1);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/production", t0 + 3000));
    ck_assert_int_eq(v, 2);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/Archived", t0 + 3500));
    ck_assert_int_eq(v, 1);
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m/Archived", t0 + 4000),
                 MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m@champion", t0 + 2500));
    ck_assert_int_eq(v, 1);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m@champion", t0 + 9000));
    ck_assert_int_eq(v, 2);
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m@champion", t0 + 1000),
                 MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/1", t0 + 3999));
    ck_assert_int_eq(v, 1);
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m/1", t0 + 4000), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m/2", t0 + 999), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_registry_resolve_at(&v, reg, "models:/m/latest", t0 + 500));
    ck_assert_int_eq(v, 1);
    tu_assert_st(mlops_registry_resolve_at(&v, reg, "models:/m/x/y", t0), MLOPS_E_INVALID);
    /* who and when are recorded */
    char *json;
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m"));
    ck_assert_ptr_nonnull(strstr(json, "\"time_ms\": 1700000003000"));
    ck_assert_ptr_nonnull(strstr(json, "\"user\": \"tester\""));
    ck_assert_ptr_nonnull(strstr(json, "\"event\": \"version_delete\""));
    mlops_string_free(env, json);
    mlops_registry_close(reg);
    mlops_store_close(s);
    mlops_env_free(env);
}
END_TEST

/* ---- rollback ---- */

START_TEST(test_rollback)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    for (int i = 0; i < 4; i++)
        reg_blob(reg, "m", &b);
    int64_t v = 9;
    uint64_t before = store_fp(s);
    /* nothing was ever in Production */
    tu_assert_st(mlops_registry_rollback(&v, reg, "m", NULL), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "no previous Production version"));
    ck_assert_int_eq(v, 0);
    tu_assert_st(mlops_registry_rollback(&v, reg, "nope", NULL), MLOPS_E_NOTFOUND);
    ck_assert_uint_eq(before, store_fp(s));
    /* one Production version, no previous one */
    tu_assert_ok(promote(reg, "m", 1, "Production"));
    before = store_fp(s);
    tu_assert_st(mlops_registry_rollback(&v, reg, "m", NULL), MLOPS_E_NOTFOUND);
    ck_assert_uint_eq(before, store_fp(s));
    ck_assert_uint_eq(stage_of(reg, "m", 1), MLOPS_STAGE_PRODUCTION);

    tu_assert_ok(promote(reg, "m", 2, "Production"));
    tu_assert_ok(promote(reg, "m", 3, "Production"));
    tu_assert_ok(mlops_registry_rollback(&v, reg, "m", "p99 latency regression"));
    ck_assert_int_eq(v, 2);
    ck_assert_uint_eq(stage_of(reg, "m", 2), MLOPS_STAGE_PRODUCTION);
    ck_assert_uint_eq(stage_of(reg, "m", 3), MLOPS_STAGE_ARCHIVED);
    ck_assert_int_eq(count_in_stage(reg, "m", 4, MLOPS_STAGE_PRODUCTION), 1);
    /* again: back past 2 to 3 (the latest other Production version) */
    tu_assert_ok(mlops_registry_rollback(&v, reg, "m", NULL));
    ck_assert_int_eq(v, 3);
    /* a deleted version is skipped */
    tu_assert_ok(mlops_registry_delete_version(reg, "m", 2));
    tu_assert_ok(mlops_registry_rollback(&v, reg, "m", NULL));
    ck_assert_int_eq(v, 1);
    char *json;
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m"));
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"rollback: p99 latency regression\""));
    mlops_string_free(NULL, json);
    /* with nothing in Production, rollback restores the last one */
    tu_assert_ok(promote(reg, "m", 1, "Archived"));
    tu_assert_ok(mlops_registry_rollback(&v, reg, "m", NULL));
    ck_assert_int_eq(v, 1);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- gates ---- */

START_TEST(test_gate_parse)
{
    mlops_gate g;
    char m[64];
    tu_assert_ok(mlops_registry_gate_parse(&g, m, sizeof(m), "val_auc >= 0.85"));
    ck_assert_str_eq(g.metric, "val_auc");
    ck_assert_uint_eq(g.flags, MLOPS_GATE_THRESHOLD);
    ck_assert(g.threshold == 0.85);
    tu_assert_ok(mlops_registry_gate_parse(&g, m, sizeof(m), "loss<=0.3"));
    ck_assert_str_eq(m, "loss");
    ck_assert_uint_eq(g.flags, MLOPS_GATE_THRESHOLD | MLOPS_GATE_LOWER_IS_BETTER);
    tu_assert_ok(mlops_registry_gate_parse(&g, m, sizeof(m), " auc >= baseline + 0.01 "));
    ck_assert_uint_eq(g.flags, MLOPS_GATE_MIN_ABSOLUTE);
    ck_assert(g.min_absolute_change == 0.01);
    tu_assert_ok(mlops_registry_gate_parse(&g, m, sizeof(m), "auc >= BASELINE + 2%"));
    ck_assert_uint_eq(g.flags, MLOPS_GATE_MIN_RELATIVE);
    ck_assert(fabs(g.min_relative_change - 0.02) < 1e-15);
    tu_assert_ok(mlops_registry_gate_parse(&g, m, sizeof(m), "rmse <= baseline - 5%"));
    ck_assert_uint_eq(g.flags, MLOPS_GATE_MIN_RELATIVE | MLOPS_GATE_LOWER_IS_BETTER);
    const char *bad[] = {"",
                         "auc",
                         "auc > 0.8",
                         "auc >= ",
                         "auc >= x",
                         ">= 0.8",
                         "auc >= 0.8 extra",
                         "auc >= baseline - 0.01",
                         "loss <= baseline + 0.01",
                         "auc >= baseline + 0",
                         "auc >= baseline + 150%",
                         "auc >= nan",
                         "auc >= inf",
                         "auc >= baseline * 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(mlops_registry_gate_parse(&g, m, sizeof(m), bad[i]) == MLOPS_E_INVALID,
                      "gate '%s' should not parse", bad[i]);
    tu_assert_st(mlops_registry_gate_parse(&g, m, 3, "val_auc >= 1"), MLOPS_E_TOOBIG);
}
END_TEST

START_TEST(test_gate_without_run_refuses)
{
    /* a version with no source run has no metrics: the gate fails, clearly */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    reg_blob(reg, "m", &b);
    const char *exprs[] = {"val_auc >= 0.8"};
    mlops_promote_options po;
    mlops_promote_options_init(&po, 1);
    po.gate_exprs = exprs;
    po.n_gate_exprs = 1;
    char *report = NULL;
    tu_assert_st(mlops_registry_promote(&report, reg, "m", 1, "Production", &po),
                 MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "gate refused"));
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "never logged 'val_auc'"));
    ck_assert_ptr_nonnull(report);
    ck_assert_ptr_nonnull(strstr(report, "gate refused\nFAIL val_auc >= 0.8"));
    mlops_string_free(NULL, report);
    ck_assert_uint_eq(stage_of(reg, "m", 1), MLOPS_STAGE_NONE);
    /* the decision is kept with the version */
    char *json;
    tu_assert_ok(mlops_registry_version_json(&json, reg, "m", 1));
    ck_assert_ptr_nonnull(strstr(json, "\"passed\": false"));
    mlops_string_free(NULL, json);
    /* a bad gate is an invalid argument, and stores nothing */
    uint64_t before = store_fp(s);
    const char *bad[] = {"val_auc >> 1"};
    po.gate_exprs = bad;
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_INVALID);
    mlops_gate g;
    mlops_gate_init(&g, 1);
    g.metric = "auc";
    po.gate_exprs = NULL;
    po.n_gate_exprs = 0;
    po.gates = &g;
    po.n_gates = 1;
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_INVALID);
    g.flags = MLOPS_GATE_MIN_RELATIVE;
    g.min_relative_change = 2;
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_INVALID);
    g.flags = MLOPS_GATE_THRESHOLD;
    g.threshold = NAN;
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_INVALID);
    g.threshold = 0.5;
    po.baseline_alias = "nope";
    tu_assert_st(mlops_registry_promote(NULL, reg, "m", 1, "Production", &po), MLOPS_E_NOTFOUND);
    ck_assert_uint_eq(before, store_fp(s));
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST


/* ---- with runs from the tracking module ---- */

static char *make_run(mlops_store *s, const char *metric, double value, const char *artifact)
{
    mlops_run_options ro;
    mlops_run_options_init(&ro, MLOPS_RUN_OPTIONS_VERSION);
    ro.flags = MLOPS_RUN_NO_ENVIRONMENT | MLOPS_RUN_NO_SYSTEM_TAGS;
    mlops_run *run = NULL;
    tu_assert_ok(mlops_run_create(&run, s, NULL, &ro));
    if (metric) {
        tu_assert_ok(mlops_run_log_metric(run, metric, value - 0.2, 0));
        tu_assert_ok(mlops_run_log_metric(run, metric, value, 5)); /* the latest step counts */
    }
    tu_assert_ok(mlops_run_log_metric(run, "loss", 1.0 - value, 5));
    if (artifact)
        tu_assert_ok(mlops_run_log_artifact_bytes(run, artifact, "weights", 7));
    char *id = strdup(mlops_run_id(run));
    mlops_run_close(run);
    return id;
}

static int64_t reg_run(mlops_registry *reg, const char *model, const char *run_id)
{
    mlops_register_options o;
    mlops_register_options_init(&o, 1);
    o.run_id = run_id;
    o.artifact_path = "model.bin";
    int64_t v = 0;
    tu_assert_ok(mlops_registry_register(&v, reg, model, &o));
    return v;
}

static mlops_status promote_gated(char **report, mlops_registry *reg, const char *m, int64_t v,
                                  const char *g1, const char *g2, const char *baseline)
{
    const char *exprs[2] = {g1, g2};
    mlops_promote_options po;
    mlops_promote_options_init(&po, 1);
    po.gate_exprs = exprs;
    po.n_gate_exprs = g2 ? 2 : 1;
    po.baseline_alias = baseline;
    return mlops_registry_promote(report, reg, m, v, "Production", &po);
}

START_TEST(test_register_from_run_lineage)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_run_options ro;
    mlops_run_options_init(&ro, MLOPS_RUN_OPTIONS_VERSION);
    ro.flags = MLOPS_RUN_NO_ENVIRONMENT | MLOPS_RUN_NO_SYSTEM_TAGS;
    mlops_run *run = NULL;
    tu_assert_ok(mlops_run_create(&run, s, NULL, &ro));
    tu_assert_ok(mlops_run_log_artifact_bytes(run, "model/model.bin", "weights", 7));
    tu_assert_ok(mlops_run_log_artifact_bytes(run, "eval.json", "{\"auc\": 0.9}", 12));
    mlops_hash128 dh;
    tu_assert_ok(mlops_run_log_dataset_bytes(&dh, run, "train.csv", "a,b\n1,2\n", 8, 1));
    mlops_status ts = mlops_run_set_tag(run, "mlops.source.git.commit", "4f2a9c1e");
    char run_id[64];
    snprintf(run_id, sizeof(run_id), "%s", mlops_run_id(run));
    mlops_register_options o;
    mlops_register_options_init(&o, 1);
    o.run_id = run_id;
    o.artifact_path = "model/model.bin";
    o.eval_report_path = "eval.json";
    int64_t v;
    tu_assert_ok(mlops_registry_register(&v, reg, "m", &o));
    mlops_hash128 art, got;
    uint64_t size = 0;
    tu_assert_ok(mlops_run_artifact_stat(&art, NULL, run, "model/model.bin"));
    tu_assert_ok(mlops_registry_artifact(&got, &size, reg, "m", v));
    ck_assert_mem_eq(art.bytes, got.bytes, 16);
    ck_assert_uint_eq(size, 7);
    char *json;
    tu_assert_ok(mlops_registry_lineage_json(&json, reg, "m", v));
    char hex[33];
    mlops_hash128_to_hex(hex, &dh);
    ck_assert_ptr_nonnull(strstr(json, hex));
    ck_assert_ptr_nonnull(strstr(json, "\"rows\": 1"));
    ck_assert_ptr_nonnull(strstr(json, "\"name\": \"train.csv\""));
    ck_assert_ptr_nonnull(strstr(json, run_id));
    ck_assert_ptr_nonnull(strstr(json, "\"path\": \"eval.json\""));
    ck_assert_ptr_nonnull(strstr(json, "\"source\": \"runs:/"));
    if (ts == MLOPS_OK)
        ck_assert_ptr_nonnull(strstr(json, "\"code_commit\": \"4f2a9c1e\""));
    mlops_string_free(NULL, json);
    /* bad sources: unknown artifact, unknown run, malformed run id (N14) */
    uint64_t before = store_fp(s);
    o.artifact_path = "nope.bin";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "nope.bin"));
    o.artifact_path = "model/model.bin";
    o.eval_report_path = "missing.json";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_NOTFOUND);
    o.eval_report_path = NULL;
    o.run_id = "0123456789abcdef0123456789abcdef";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_NOTFOUND);
    o.run_id = "NOT-A-RUN";
    tu_assert_st(mlops_registry_register(&v, reg, "m", &o), MLOPS_E_INVALID);
    ck_assert_uint_eq(before, store_fp(s));
    mlops_run_close(run);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_gates_with_runs)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    char *ra = make_run(s, "val_auc", 0.91, "model.bin");
    char *rb = make_run(s, "val_auc", 0.85, "model.bin");
    char *rc = make_run(s, NULL, 0.5, "model.bin");
    int64_t va = reg_run(reg, "fraud", ra);
    int64_t vb = reg_run(reg, "fraud", rb);
    int64_t vc = reg_run(reg, "fraud", rc);
    char *rep = NULL;
    /* no Production yet: a change condition has nothing to compare with */
    tu_assert_st(promote_gated(&rep, reg, "fraud", va, "val_auc >= baseline + 0.01", NULL, NULL),
                 MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(rep, "no Production version to compare with"));
    mlops_string_free(NULL, rep);
    /* a threshold passes; the report and the blessing say so */
    tu_assert_ok(promote_gated(&rep, reg, "fraud", va, "val_auc >= 0.9", NULL, NULL));
    ck_assert_ptr_nonnull(rep);
    ck_assert_ptr_nonnull(strstr(rep, "gate passed\nPASS val_auc >= 0.9: candidate 0.91"));
    mlops_string_free(NULL, rep);
    ck_assert_uint_eq(stage_of(reg, "fraud", va), MLOPS_STAGE_PRODUCTION);
    char *json;
    tu_assert_ok(mlops_registry_version_json(&json, reg, "fraud", va));
    ck_assert_ptr_nonnull(strstr(json, "\"passed\": true"));
    mlops_string_free(NULL, json);
    /* a worse challenger: threshold passes, change over Production fails */
    uint64_t hist_before;
    {
        char *h;
        tu_assert_ok(mlops_registry_history_json(&h, reg, "fraud"));
        hist_before = mlops_hash64(h, strlen(h), 0);
        mlops_string_free(NULL, h);
    }
    tu_assert_st(promote_gated(&rep, reg, "fraud", vb, "val_auc >= 0.8",
                               "val_auc >= baseline + 0.01", NULL),
                 MLOPS_E_CONFLICT);
    const char *msg = mlops_error_message();
    ck_assert_msg(strstr(msg, "candidate 0.85") && strstr(msg, "baseline 0.91"), "%s", msg);
    ck_assert_ptr_nonnull(strstr(rep, "PASS val_auc >= 0.8"));
    ck_assert_ptr_nonnull(strstr(rep, "FAIL val_auc >= baseline + 0.01: candidate 0.85 "
                                      "(version 2), baseline 0.91 (Production version 1), "
                                      "needed >= 0.92"));
    mlops_string_free(NULL, rep);
    ck_assert_uint_eq(stage_of(reg, "fraud", vb), MLOPS_STAGE_NONE);
    ck_assert_uint_eq(stage_of(reg, "fraud", va), MLOPS_STAGE_PRODUCTION);
    {
        char *h;
        tu_assert_ok(mlops_registry_history_json(&h, reg, "fraud"));
        ck_assert_uint_eq(hist_before, mlops_hash64(h, strlen(h), 0)); /* no transition */
        mlops_string_free(NULL, h);
    }
    tu_assert_ok(mlops_registry_version_json(&json, reg, "fraud", vb));
    ck_assert_ptr_nonnull(strstr(json, "\"passed\": false"));
    ck_assert_ptr_nonnull(strstr(json, "\"baseline_version\": 1"));
    mlops_string_free(NULL, json);
    /* relative change and lower-is-better */
    tu_assert_st(promote_gated(NULL, reg, "fraud", vb, "val_auc >= baseline + 1%", NULL, NULL),
                 MLOPS_E_CONFLICT);
    tu_assert_st(promote_gated(NULL, reg, "fraud", vb, "loss <= baseline - 0.01", NULL, NULL),
                 MLOPS_E_CONFLICT);
    tu_assert_st(promote_gated(NULL, reg, "fraud", vb, "val_auc >= baseline - 0.1", NULL, NULL),
                 MLOPS_E_INVALID);
    /* a metric the candidate never logged fails, clearly */
    tu_assert_st(promote_gated(&rep, reg, "fraud", vc, "val_auc >= 0.1", NULL, NULL),
                 MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "never logged 'val_auc'"));
    mlops_string_free(NULL, rep);
    /* a metric the baseline never logged fails too */
    {
        mlops_run *r;
        tu_assert_ok(mlops_run_open(&r, s, rb));
        tu_assert_ok(mlops_run_log_metric(r, "f1", 0.7, 0));
        mlops_run_close(r);
    }
    tu_assert_st(promote_gated(&rep, reg, "fraud", vb, "f1 >= baseline + 0.01", NULL, NULL),
                 MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(rep, "the baseline (Production version 1, run "));
    mlops_string_free(NULL, rep);
    /* a baseline alias instead of Production; the dry run changes nothing */
    tu_assert_ok(mlops_registry_set_alias(reg, "fraud", "old", vc, NULL));
    mlops_promote_options po;
    mlops_promote_options_init(&po, 1);
    mlops_gate g;
    mlops_gate_init(&g, 1);
    g.metric = "loss";
    g.flags = MLOPS_GATE_MIN_ABSOLUTE | MLOPS_GATE_LOWER_IS_BETTER;
    g.min_absolute_change = 0.1;
    po.gates = &g;
    po.n_gates = 1;
    po.baseline_alias = "old";
    int32_t passed = -1;
    uint64_t before = store_fp(s);
    tu_assert_ok(mlops_registry_gate_check(&rep, &passed, reg, "fraud", vb, &po));
    ck_assert_int_eq(passed, 1); /* loss 0.15 <= 0.5 - 0.1 */
    ck_assert_ptr_nonnull(strstr(rep, "baseline 0.5 (old version 3)"));
    mlops_string_free(NULL, rep);
    ck_assert_uint_eq(before, store_fp(s));
    tu_assert_ok(mlops_registry_promote(NULL, reg, "fraud", vb, "Staging", &po));
    ck_assert_uint_eq(stage_of(reg, "fraud", vb), MLOPS_STAGE_STAGING);
    free(ra);
    free(rb);
    free(rc);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- records ---- */

START_TEST(test_unknown_fields_survive_rewrite)
{
    /* R6: a head written by a newer library with a field we do not know */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    tu_assert_ok(mlops_registry_create_model(reg, "m", NULL));
    mlops_bytes v = {0};
    tu_assert_ok(mlops_store_get(&v, NULL, s, "r/m/m", 5));
    uint8_t rec[4096];
    memcpy(rec, v.data, v.len);
    size_t n = v.len;
    mlops_bytes_free(&v);
    /* tag 99, bytes "future" */
    rec[n++] = (uint8_t)((99 << 3) | 2) | 0x80;
    rec[n++] = (uint8_t)((99 << 3) >> 7);
    rec[n++] = 6;
    memcpy(rec + n, "future", 6);
    n += 6;
    tu_assert_ok(mlops_store_put(s, "r/m/m", 5, rec, n));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "m", "k", "v"));
    tu_assert_ok(mlops_store_get(&v, NULL, s, "r/m/m", 5));
    ck_assert(memmem(v.data, v.len, "future", 6) != NULL);
    ck_assert(memmem(v.data, v.len, "k", 1) != NULL);
    mlops_bytes_free(&v);
    /* a newer format version is refused, and corrupt heads are reported */
    rec[0] = 2;
    tu_assert_ok(mlops_store_put(s, "r/m/m", 5, rec, n));
    tu_assert_st(mlops_registry_set_model_tag(reg, "m", "k", "w"), MLOPS_E_VERSION);
    tu_assert_ok(mlops_store_put(s, "r/m/m", 5, "\x01\x01\x0a\xff", 4));
    tu_assert_st(mlops_registry_resolve(&(int64_t){0}, reg, "models:/m/1"), MLOPS_E_CORRUPT);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- search ---- */

static int count_char_seq(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

START_TEST(test_search)
{
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    tu_assert_ok(mlops_registry_create_model(reg, "fraud-eu", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "fraud-us", NULL));
    tu_assert_ok(mlops_registry_create_model(reg, "churn", NULL));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "fraud-us", "team", "risk"));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "churn", "team", "growth"));
    tu_assert_ok(mlops_registry_set_model_tag(reg, "churn", "my key", "x"));
    struct {
        const char *filter;
        int n;
    } cases[] = {{NULL, 3},
                 {"", 3},
                 {"name LIKE 'fraud%'", 2},
                 {"name like '%-us'", 1},
                 {"name ILIKE 'FRAUD%'", 2},
                 {"name LIKE 'FRAUD%'", 0},
                 {"name = 'churn'", 1},
                 {"name != 'churn'", 2},
                 {"name LIKE 'fraud-__'", 2},
                 {"name LIKE 'fraud-_'", 0},
                 {"tags.team = 'risk'", 1},
                 {"tags.team LIKE '%'", 2},
                 {"tags.`my key` = 'x'", 1},
                 {"name LIKE '%' AND tags.team = 'growth'", 1},
                 {"name LIKE 'fraud%' and tags.team = 'growth'", 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = NULL;
        tu_assert_ok(mlops_registry_search_json(&json, reg, cases[i].filter, 0));
        ck_assert_msg(count_char_seq(json, "\"last_version\"") == cases[i].n,
                      "filter '%s': %s", cases[i].filter ? cases[i].filter : "NULL", json);
        mlops_string_free(NULL, json);
    }
    char *json = NULL;
    tu_assert_ok(mlops_registry_search_json(&json, reg, NULL, 2));
    ck_assert_int_eq(count_char_seq(json, "\"last_version\""), 2);
    ck_assert_ptr_nonnull(strstr(json, "\"name\": \"churn\"")); /* name order */
    mlops_string_free(NULL, json);
    const char *bad[] = {"name", "name = x", "name = 'x", "foo = 'x'", "name ~ 'x'",
                         "name = 'x' AND", "name = 'x' OR name = 'y'", "tags. = 'x'"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(mlops_registry_search_json(&json, reg, bad[i], 0) == MLOPS_E_INVALID,
                      "filter '%s' should not parse", bad[i]);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* ---- memory ---- */

START_TEST(test_alloc_failures)
{
    /* M1/M2: fail each allocation of a register + promote + alias scenario
     * in turn; every call fails cleanly or succeeds, nothing leaks, and the
     * store ends either unchanged or complete. */
    for (long k = 1; k < 4000; k++) {
        for (int persistent = 0; persistent < 2; persistent++) {
            tu_alloc a = {0};
            mlops_env *env = tu_env_new(&a, NULL);
            mlops_store *s = mem_store(env);
            mlops_registry *reg = NULL;
            mlops_hash128 b = put_blob(s, "w");
            a.fail_at = a.calls + k;
            a.persistent = persistent;
            mlops_status st = mlops_registry_open(&reg, s);
            int64_t v = 0;
            if (st == MLOPS_OK) {
                mlops_register_options o;
                mlops_register_options_init(&o, 1);
                o.blob = &b;
                st = mlops_registry_register(&v, reg, "m", &o);
                if (st == MLOPS_OK)
                    st = mlops_registry_promote(NULL, reg, "m", v, "Production", NULL);
                if (st == MLOPS_OK)
                    st = mlops_registry_set_alias(reg, "m", "champion", v, NULL);
                if (st == MLOPS_OK) {
                    char *json = NULL;
                    st = mlops_registry_model_json(&json, reg, "m");
                    mlops_string_free(env, json);
                }
                int64_t v2 = 0;
                if (st == MLOPS_OK)
                    st = mlops_registry_register(&v2, reg, "m", &o);
                if (st == MLOPS_OK)
                    st = mlops_registry_promote(NULL, reg, "m", v2, "Production", NULL);
                if (st == MLOPS_OK)
                    st = mlops_registry_rollback(NULL, reg, "m", "alloc test");
                if (st == MLOPS_OK) {
                    char *json = NULL;
                    st = mlops_registry_history_json(&json, reg, "m");
                    mlops_string_free(env, json);
                }
                if (st == MLOPS_OK) {
                    char *json = NULL;
                    st = mlops_registry_search_json(&json, reg, "name LIKE 'm%'", 0);
                    mlops_string_free(env, json);
                }
                if (st == MLOPS_OK) {
                    int64_t r;
                    st = mlops_registry_resolve_at(&r, reg, "models:/m/Production", INT64_MAX);
                }
                if (st == MLOPS_OK)
                    st = mlops_registry_rename_model(reg, "m", "m2");
            }
            ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_NOMEM, "k=%ld: %s", k,
                          mlops_status_name(st));
            bool done = a.failures == 0;
            a.fail_at = 0;
            a.persistent = false;
            if (reg) {
                /* I10: the handle still works */
                int64_t r;
                mlops_status rs = mlops_registry_resolve(&r, reg, "models:/m/latest");
                if (rs == MLOPS_E_NOTFOUND)
                    rs = mlops_registry_resolve(&r, reg, "models:/m2/latest");
                ck_assert(rs == MLOPS_OK || rs == MLOPS_E_NOTFOUND);
            }
            mlops_registry_close(reg);
            mlops_store_close(s);
            mlops_env_free(env);
            ck_assert_msg(a.live == 0, "k=%ld: %ld blocks leaked", k, a.live);
            if (done && persistent == 0) {
                ck_assert_int_eq(st, MLOPS_OK);
                return; /* every allocation point was failed once */
            }
        }
    }
    ck_abort_msg("the scenario never ran without a failure");
}
END_TEST

/* ---- concurrency ---- */

typedef struct thr_arg {
    mlops_registry *reg;
    const mlops_hash128 *blob;
    int n;
    int64_t got[64];
    int wins;
    int conflicts;
    int64_t version;
} thr_arg;

static void *reg_thread(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        mlops_register_options o;
        mlops_register_options_init(&o, 1);
        o.blob = a->blob;
        if (mlops_registry_register(&a->got[i], a->reg, "m", &o) != MLOPS_OK)
            a->got[i] = -1;
    }
    return NULL;
}

START_TEST(test_threads_register_gapless)
{
    /* R1 within one process: T threads on one handle */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    enum { T = 4, N = 50 };
    thr_arg args[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        memset(&args[t], 0, sizeof(args[t]));
        args[t].reg = reg;
        args[t].blob = &b;
        args[t].n = N;
        pthread_create(&th[t], NULL, reg_thread, &args[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    bool seen[T * N + 1] = {false};
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N; i++) {
            int64_t v = args[t].got[i];
            ck_assert_msg(v >= 1 && v <= T * N, "bad version %lld", (long long)v);
            ck_assert_msg(!seen[v], "version %lld given twice", (long long)v);
            seen[v] = true;
        }
    ck_assert_int_eq(resolve(reg, "models:/m/latest"), T * N);
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

typedef struct create_arg {
    mlops_registry *reg;
    pthread_barrier_t *bar;
    mlops_status st;
} create_arg;

static void *create_thread(void *p)
{
    create_arg *a = p;
    pthread_barrier_wait(a->bar);
    a->st = mlops_registry_create_model(a->reg, "same-name", NULL);
    return NULL;
}

START_TEST(test_threads_create_same_name)
{
    /* R2: concurrent creates of one name: one succeeds, the others get EXISTS */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    enum { T = 4 };
    for (int round = 0; round < 20; round++) {
        create_arg a[T];
        pthread_t th[T];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, T);
        for (int t = 0; t < T; t++) {
            a[t].reg = reg;
            a[t].bar = &bar;
            pthread_create(&th[t], NULL, create_thread, &a[t]);
        }
        int ok = 0;
        for (int t = 0; t < T; t++) {
            pthread_join(th[t], NULL);
            ck_assert(a[t].st == MLOPS_OK || a[t].st == MLOPS_E_EXISTS);
            ok += a[t].st == MLOPS_OK;
        }
        pthread_barrier_destroy(&bar);
        ck_assert_int_eq(ok, 1);
        tu_assert_ok(mlops_registry_delete_model(reg, "same-name"));
    }
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

typedef struct race_arg {
    mlops_registry *reg;
    int64_t version;
    pthread_barrier_t *bar;
    mlops_status st;
    char msg[512];
} race_arg;

static void *promote_thread(void *p)
{
    race_arg *a = p;
    pthread_barrier_wait(a->bar);
    a->st = mlops_registry_promote(NULL, a->reg, "m", a->version, "Production", NULL);
    snprintf(a->msg, sizeof(a->msg), "%s", mlops_error_message());
    return NULL;
}

START_TEST(test_threads_promote_race)
{
    /* R4 within one process: exactly one Production after every round */
    mlops_store *s = mem_store(NULL);
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    enum { ROUNDS = 60, T = 3 };
    int conflicts = 0;
    for (int r = 0; r < ROUNDS; r++) {
        race_arg a[T];
        pthread_t th[T];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, T);
        for (int t = 0; t < T; t++) {
            a[t].reg = reg;
            a[t].version = reg_blob(reg, "m", &b);
            a[t].bar = &bar;
        }
        for (int t = 0; t < T; t++)
            pthread_create(&th[t], NULL, promote_thread, &a[t]);
        for (int t = 0; t < T; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&bar);
        int64_t prod = resolve(reg, "models:/m/Production");
        int wins = 0;
        for (int t = 0; t < T; t++) {
            ck_assert_msg(a[t].st == MLOPS_OK || a[t].st == MLOPS_E_CONFLICT, "%s", a[t].msg);
            if (a[t].st == MLOPS_E_CONFLICT) {
                conflicts++;
                /* the loser is told who won */
                char want[64];
                snprintf(want, sizeof(want), "version %lld was moved there", (long long)prod);
                ck_assert_msg(strstr(a[t].msg, want) != NULL || strstr(a[t].msg, "version ") != NULL,
                              "%s", a[t].msg);
            } else {
                wins++;
            }
        }
        ck_assert_int_ge(wins, 1);
        ck_assert_int_eq(count_in_stage(reg, "m", (r + 1) * T, MLOPS_STAGE_PRODUCTION), 1);
    }
    (void)conflicts;
    mlops_registry_close(reg);
    mlops_store_close(s);
}
END_TEST

/* Multi-process tests need a store several processes can open. */
static mlops_store *open_shared(const char *dir)
{
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
    if (st == MLOPS_E_UNSUPPORTED)
        return NULL;
    tu_assert_ok(st);
    return s;
}

START_TEST(test_procs_register_gapless)
{
    /* R1: P processes register on one file store; versions unique and gapless */
    char *dir = tu_tempdir();
    mlops_store *s = open_shared(dir);
    if (s == NULL) {
        tu_rmtree(dir);
        free(dir);
        return; /* this build has no multi-process backend yet */
    }
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    mlops_registry_close(reg);
    mlops_store_close(s);
    enum { P = 4, N = 40 };
    int fds[P][2];
    pid_t pids[P];
    for (int p = 0; p < P; p++) {
        ck_assert_int_eq(pipe(fds[p]), 0);
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            close(fds[p][0]);
            mlops_store *cs = NULL;
            mlops_registry *cr = NULL;
            if (mlops_store_open(&cs, NULL, dir, NULL) != MLOPS_OK ||
                mlops_registry_open(&cr, cs) != MLOPS_OK)
                _exit(3);
            for (int i = 0; i < N; i++) {
                mlops_register_options o;
                mlops_register_options_init(&o, 1);
                o.blob = &b;
                int64_t v = -1;
                if (mlops_registry_register(&v, cr, "m", &o) != MLOPS_OK) {
                    fprintf(stderr, "register: %s\n", mlops_error_message());
                    _exit(4);
                }
                if (write(fds[p][1], &v, sizeof(v)) != sizeof(v))
                    _exit(5);
            }
            mlops_registry_close(cr);
            mlops_store_close(cs);
            _exit(0);
        }
        close(fds[p][1]);
    }
    bool seen[P * N + 1] = {false};
    for (int p = 0; p < P; p++) {
        int64_t v;
        int got = 0;
        while (read(fds[p][0], &v, sizeof(v)) == sizeof(v)) {
            ck_assert_msg(v >= 1 && v <= P * N, "bad version %lld", (long long)v);
            ck_assert_msg(!seen[v], "version %lld given twice", (long long)v);
            seen[v] = true;
            got++;
        }
        close(fds[p][0]);
        int wst;
        waitpid(pids[p], &wst, 0);
        ck_assert_msg(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "child %d failed", p);
        ck_assert_int_eq(got, N);
    }
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    tu_assert_ok(mlops_registry_open(&reg, s));
    ck_assert_int_eq(resolve(reg, "models:/m/latest"), P * N);
    char *json;
    tu_assert_ok(mlops_registry_history_json(&json, reg, "m"));
    char want[32];
    snprintf(want, sizeof(want), "\"seq\": %d,", P * N);
    ck_assert_ptr_nonnull(strstr(json, want));
    mlops_string_free(NULL, json);
    mlops_registry_close(reg);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static int promote_rounds(int rounds)
{
    /* R4: two processes promote different versions at once, many rounds:
     * exactly one Production version after each, and each loser is told
     * who won. Returns the number of lost races. */
    char *dir = tu_tempdir();
    mlops_store *s = open_shared(dir);
    if (s == NULL) {
        tu_rmtree(dir);
        free(dir);
        return -1;
    }
    mlops_registry *reg;
    tu_assert_ok(mlops_registry_open(&reg, s));
    mlops_hash128 b = put_blob(s, "w");
    int lost = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t v1 = reg_blob(reg, "m", &b), v2 = reg_blob(reg, "m", &b);
        int go[2];
        ck_assert_int_eq(pipe(go), 0);
        int res[2][2];
        pid_t pid[2];
        for (int c = 0; c < 2; c++) {
            ck_assert_int_eq(pipe(res[c]), 0);
            pid[c] = fork();
            ck_assert_int_ge(pid[c], 0);
            if (pid[c] == 0) {
                char x;
                close(go[1]);
                mlops_store *cs = NULL;
                mlops_registry *cr = NULL;
                if (mlops_store_open(&cs, NULL, dir, NULL) != MLOPS_OK ||
                    mlops_registry_open(&cr, cs) != MLOPS_OK)
                    _exit(3);
                /* say "ready", then wait: the promotions start together */
                if (write(res[c][1], "R", 1) != 1 || read(go[0], &x, 1) != 0)
                    _exit(6);
                mlops_status st =
                    mlops_registry_promote(NULL, cr, "m", c ? v2 : v1, "Production", NULL);
                char msg[520];
                snprintf(msg, sizeof(msg), "%c%s", st == MLOPS_OK ? 'W' : st == MLOPS_E_CONFLICT ? 'L' : 'E',
                         mlops_error_message());
                if (write(res[c][1], msg, strlen(msg) + 1) < 0)
                    _exit(5);
                _exit(0);
            }
            close(res[c][1]);
        }
        close(go[0]);
        for (int c = 0; c < 2; c++) {
            char ready = 0;
            ck_assert_int_eq(read(res[c][0], &ready, 1), 1);
            ck_assert_int_eq(ready, 'R');
        }
        close(go[1]); /* both children start now */
        char msg[2][520];
        for (int c = 0; c < 2; c++) {
            ssize_t n = read(res[c][0], msg[c], sizeof(msg[c]) - 1);
            ck_assert_int_gt(n, 0);
            msg[c][n] = 0;
            close(res[c][0]);
            int wst;
            waitpid(pid[c], &wst, 0);
            ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
            ck_assert_msg(msg[c][0] != 'E', "round %d: %s", r, msg[c] + 1);
        }
        int64_t prod = resolve(reg, "models:/m/Production");
        ck_assert(prod == v1 || prod == v2);
        int64_t last = v2;
        ck_assert_int_eq(count_in_stage(reg, "m", last, MLOPS_STAGE_PRODUCTION), 1);
        for (int c = 0; c < 2; c++) {
            if (msg[c][0] == 'L') {
                lost++;
                char want[80];
                snprintf(want, sizeof(want), "version %lld was moved there", (long long)prod);
                ck_assert_msg(strstr(msg[c], want) != NULL, "round %d: %s", r, msg[c] + 1);
                ck_assert_int_eq(prod, c ? v1 : v2);
            }
        }
    }
    mlops_registry_close(reg);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
    return lost;
}

START_TEST(test_procs_promote_race)
{
    promote_rounds(30);
}
END_TEST

START_TEST(test_procs_promote_race_long)
{
    int lost = promote_rounds(500);
    if (lost >= 0)
        printf("FIGURE registry_promote_races=500 lost=%d double_production=0\n", lost);
}
END_TEST

int main(int argc, char **argv)
{
    bool slow = argc > 1 && strcmp(argv[1], "--slow") == 0;
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_set_timeout(tc, slow ? 600 : 60);
    if (slow) {
        tcase_add_test(tc, test_procs_promote_race_long);
    } else {
        tcase_add_test(tc, test_options_abi);
        tcase_add_test(tc, test_create_model);
        tcase_add_test(tc, test_bad_names);
        tcase_add_test(tc, test_name_prefixes_do_not_collide);
        tcase_add_test(tc, test_tags_description_rename_delete);
        tcase_add_test(tc, test_register_numbers_never_reused);
        tcase_add_test(tc, test_register_bad_sources);
        tcase_add_test(tc, test_lineage_from_blob);
        tcase_add_test(tc, test_stages_archive_existing);
        tcase_add_test(tc, test_promote_bad_inputs);
        tcase_add_test(tc, test_aliases);
        tcase_add_test(tc, test_uris);
        tcase_add_test(tc, test_time_travel);
        tcase_add_test(tc, test_rollback);
        tcase_add_test(tc, test_gate_parse);
        tcase_add_test(tc, test_gate_without_run_refuses);
        tcase_add_test(tc, test_register_from_run_lineage);
        tcase_add_test(tc, test_gates_with_runs);
        tcase_add_test(tc, test_unknown_fields_survive_rewrite);
        tcase_add_test(tc, test_search);
        tcase_add_test(tc, test_alloc_failures);
        tcase_add_test(tc, test_threads_register_gapless);
        tcase_add_test(tc, test_threads_promote_race);
        tcase_add_test(tc, test_threads_create_same_name);
        tcase_add_test(tc, test_procs_register_gapless);
        tcase_add_test(tc, test_procs_promote_race);
    }
    suite_add_tcase(s, tc);
    return tu_run(s) ? 1 : 0;
}

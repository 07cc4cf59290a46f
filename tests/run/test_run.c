/* SPDX-License-Identifier: MIT */
/* Tracking: experiments, runs, params, metrics, tags, artifacts, datasets,
 * search and the MLflow layout. Ids from shared/RELIABILITY.md are cited. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static const char *store_uri = "mem:";

static mlops_store *open_store(mlops_env *env)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, env, store_uri, NULL));
    return s;
}

static mlops_run *new_run(mlops_store *s, const char *exp)
{
    mlops_run_options o;
    mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
    o.name = "r";
    mlops_run *r = NULL;
    tu_assert_ok(mlops_run_create(&r, s, exp, &o));
    return r;
}

static char *store_snapshot(mlops_store *s, size_t *n_out);

START_TEST(test_options_abi)
{
    ck_assert_uint_eq(MLOPS_RUN_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_run_options), 80);
    ck_assert_uint_eq(offsetof(mlops_run_options, n_env), 72);
    ck_assert_uint_eq(MLOPS_SEARCH_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_search_options), 64);
    ck_assert_uint_eq(offsetof(mlops_search_options, page_token), 56);
    ck_assert_uint_eq(sizeof(mlops_metric_point), 32);
    ck_assert_uint_eq(sizeof(mlops_metric_value), 24);
    mlops_run_options o;
    tu_assert_st(mlops_run_options_init(&o, 2), MLOPS_E_VERSION);
    tu_assert_st(mlops_run_options_init(NULL, 1), MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_KEY), 250);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_PARAM_VALUE), 6000);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_TAG_VALUE), 5000);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_EXPERIMENT_NAME), 500);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_BATCH_METRICS), 1000);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_BATCH_PARAMS), 100);
    ck_assert_uint_eq(mlops_run_limit(MLOPS_LIMIT_BATCH_TAGS), 100);
    ck_assert_uint_eq(mlops_run_limit(99), 0);
}
END_TEST

START_TEST(test_experiments)
{
    mlops_store *s = open_store(NULL);
    char *a = NULL, *b = NULL, *c = NULL;
    tu_assert_ok(mlops_experiment_create(&a, s, "churn"));
    tu_assert_ok(mlops_experiment_create(&b, s, "fraud"));
    ck_assert_str_ne(a, b);
    /* unique names (C2): the second create fails and names the id */
    tu_assert_st(mlops_experiment_create(&c, s, "churn"), MLOPS_E_EXISTS);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), a));
    tu_assert_ok(mlops_experiment_get_by_name(&c, s, "churn"));
    ck_assert_str_eq(c, a);
    mlops_string_free(NULL, c);
    tu_assert_ok(mlops_experiment_get_or_create(&c, s, "churn"));
    ck_assert_str_eq(c, a);
    mlops_string_free(NULL, c);
    /* N10: case-only differences are different names */
    tu_assert_ok(mlops_experiment_get_or_create(&c, s, "Churn"));
    ck_assert_str_ne(c, a);
    mlops_string_free(NULL, c);
    tu_assert_st(mlops_experiment_get_by_name(&c, s, "nope"), MLOPS_E_NOTFOUND);
    /* rename, and the old name is free again */
    tu_assert_ok(mlops_experiment_rename(s, a, "churn-v2"));
    tu_assert_st(mlops_experiment_rename(s, a, "fraud"), MLOPS_E_EXISTS);
    tu_assert_st(mlops_experiment_get_by_name(&c, s, "churn"), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_experiment_get_by_name(&c, s, "churn-v2"));
    mlops_string_free(NULL, c);
    tu_assert_st(mlops_experiment_rename(s, "999", "x"), MLOPS_E_NOTFOUND);
    /* soft delete and restore */
    tu_assert_ok(mlops_experiment_delete(s, b));
    tu_assert_st(mlops_experiment_delete(s, b), MLOPS_E_CONFLICT);
    tu_assert_st(mlops_experiment_create(&c, s, "fraud"), MLOPS_E_EXISTS);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "deleted"));
    tu_assert_st(mlops_experiment_get_or_create(&c, s, "fraud"), MLOPS_E_CONFLICT);
    mlops_run *r = NULL;
    tu_assert_st(mlops_run_create(&r, s, b, NULL), MLOPS_E_CONFLICT);
    mlops_experiment_list *l = NULL;
    tu_assert_ok(mlops_experiment_list_open(&l, s, MLOPS_VIEW_ACTIVE));
    ck_assert_uint_eq(mlops_experiment_list_count(l), 2);
    mlops_experiment_list_free(l);
    tu_assert_ok(mlops_experiment_list_open(&l, s, MLOPS_VIEW_DELETED));
    ck_assert_uint_eq(mlops_experiment_list_count(l), 1);
    ck_assert_str_eq(mlops_experiment_list_name(l, 0), "fraud");
    ck_assert_uint_eq(mlops_experiment_list_lifecycle(l, 0), MLOPS_LIFECYCLE_DELETED);
    ck_assert_ptr_null(mlops_experiment_list_name(l, 1));
    mlops_experiment_list_free(l);
    tu_assert_ok(mlops_experiment_restore(s, b));
    tu_assert_st(mlops_experiment_restore(s, b), MLOPS_E_CONFLICT);
    tu_assert_ok(mlops_experiment_list_open(&l, s, MLOPS_VIEW_ALL));
    ck_assert_uint_eq(mlops_experiment_list_count(l), 3);
    ck_assert_str_eq(mlops_experiment_list_id(l, 0), "1"); /* ordered by id */
    mlops_experiment_list_free(l);
    mlops_string_free(NULL, a);
    mlops_string_free(NULL, b);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_experiment_bad_names)
{
    /* N6-N8, N12: bad names are refused and nothing is stored (I7) */
    mlops_store *s = open_store(NULL);
    size_t n0;
    char *before = store_snapshot(s, &n0);
    char *id = NULL;
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *bad[] = {"", "a\nb", "\x1b[31m", "\xff", "\xC0\xAF", "\xED\xA0\x80", big};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        tu_assert_st(mlops_experiment_create(&id, s, bad[i]), MLOPS_E_INVALID);
    tu_assert_st(mlops_experiment_create(&id, s, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_experiment_create(NULL, s, "x"), MLOPS_E_INVALID);
    size_t n1;
    char *after = store_snapshot(s, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_int_eq(memcmp(before, after, n0), 0);
    free(before);
    free(after);
    /* N5, N11, N4: look-alikes are opaque names */
    const char *odd[] = {"file:///etc/passwd", "CON", "name.", "%2e%2e%2f", "../x", "t/e/x"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        tu_assert_ok(mlops_experiment_create(&id, s, odd[i]));
        mlops_string_free(NULL, id);
    }
    big[500] = 0; /* exactly the limit */
    tu_assert_ok(mlops_experiment_create(&id, s, big));
    mlops_string_free(NULL, id);
    mlops_store_close(s);
}
END_TEST

typedef struct snap {
    char *data;
    size_t len, cap;
} snap;

static int snap_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)version;
    snap *sn = payload;
    size_t need = sn->len + key_len + value_len + 16;
    if (need > sn->cap) {
        sn->cap = need * 2;
        sn->data = realloc(sn->data, sn->cap);
    }
    memcpy(sn->data + sn->len, &key_len, sizeof(key_len));
    sn->len += sizeof(key_len);
    memcpy(sn->data + sn->len, key, key_len);
    sn->len += key_len;
    memcpy(sn->data + sn->len, value, value_len);
    sn->len += value_len;
    return 0;
}

static char *store_snapshot(mlops_store *s, size_t *n_out)
{
    snap sn = {0};
    sn.data = malloc(1);
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, snap_cb, &sn));
    *n_out = sn.len;
    return sn.data;
}

START_TEST(test_run_lifecycle)
{
    tu_clock clk = {.now_ns = 1700000000000000000LL};
    mlops_env *env = tu_env_new(NULL, &clk);
    mlops_store *s = open_store(env);
    mlops_run *r = NULL;
    /* default experiment "0" is created on demand */
    tu_assert_ok(mlops_run_create(&r, s, NULL, NULL));
    ck_assert_str_eq(mlops_run_experiment_id(r), "0");
    const char *id = mlops_run_id(r);
    ck_assert_uint_eq(strlen(id), 32);
    uint32_t status;
    int64_t start, end;
    tu_assert_ok(mlops_run_get_status(&status, &start, &end, r));
    ck_assert_uint_eq(status, MLOPS_RUN_RUNNING);
    ck_assert_int_eq(start, 1700000000000LL);
    ck_assert_int_eq(end, 0);
    char *v = NULL;
    tu_assert_ok(mlops_run_get_tag(&v, r, "mlops.runName"));
    ck_assert_int_eq(strncmp(v, "run-", 4), 0);
    ck_assert_uint_eq(strlen(v), 12);
    mlops_string_free(env, v);
    (void)v;
    clk.now_ns += 5000000000LL;
    tu_assert_st(mlops_run_end(r, MLOPS_RUN_RUNNING, 0), MLOPS_E_INVALID);
    tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FINISHED, 0));
    tu_assert_ok(mlops_run_get_status(&status, &start, &end, r));
    ck_assert_uint_eq(status, MLOPS_RUN_FINISHED);
    ck_assert_int_eq(end, 1700000005000LL);
    /* as MLflow: a finished run still accepts logging */
    tu_assert_ok(mlops_run_log_metric(r, "late", 1.0, 0));
    tu_assert_ok(mlops_run_log_param(r, "p", "1"));
    /* reopen by id from another handle */
    mlops_run *r2 = NULL;
    tu_assert_ok(mlops_run_open(&r2, s, id));
    ck_assert_str_eq(mlops_run_id(r2), id);
    double x;
    tu_assert_ok(mlops_run_latest_metric(&x, r2, "late"));
    ck_assert(x == 1.0);
    /* deleted runs refuse writes (MLflow: must be active) and can be restored */
    tu_assert_ok(mlops_run_delete(s, id));
    tu_assert_st(mlops_run_log_metric(r, "m", 1, 0), MLOPS_E_CONFLICT);
    tu_assert_st(mlops_run_log_param(r2, "q", "1"), MLOPS_E_CONFLICT);
    tu_assert_st(mlops_run_set_tag(r2, "t", "1"), MLOPS_E_CONFLICT);
    tu_assert_st(mlops_run_log_artifact_bytes(r2, "a.txt", "x", 1), MLOPS_E_CONFLICT);
    tu_assert_ok(mlops_run_restore(s, id));
    tu_assert_ok(mlops_run_log_metric(r, "m", 1, 0));
    mlops_run_close(r2);
    mlops_run_close(r);
    mlops_store_close(s);
    mlops_env_free(env);
}
END_TEST

START_TEST(test_run_ids)
{
    /* N14: malformed ids are INVALID before any lookup; unknown ones NOTFOUND */
    mlops_store *s = open_store(NULL);
    mlops_run *r = NULL;
    const char *bad[] = {"", "abc", "0123456789ABCDEF0123456789abcdef",
                         "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0",
                         "../../../../etc/passwd"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_assert_st(mlops_run_open(&r, s, bad[i]), MLOPS_E_INVALID);
        ck_assert_ptr_null(r);
    }
    tu_assert_st(mlops_run_open(&r, s, NULL), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_open(&r, s, "0123456789abcdef0123456789abcdef"), MLOPS_E_NOTFOUND);
    /* a run id from another store */
    mlops_store *other = open_store(NULL);
    mlops_run *ro = new_run(other, NULL);
    tu_assert_st(mlops_run_open(&r, s, mlops_run_id(ro)), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_run_delete(s, mlops_run_id(ro)), MLOPS_E_NOTFOUND);
    mlops_run_close(ro);
    mlops_store_close(other);
    /* unknown experiment and parent */
    tu_assert_st(mlops_run_create(&r, s, "42", NULL), MLOPS_E_NOTFOUND);
    mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
    o.parent_run_id = "0123456789abcdef0123456789abcdef";
    tu_assert_st(mlops_run_create(&r, s, NULL, &o), MLOPS_E_NOTFOUND);
    o.parent_run_id = "bad";
    tu_assert_st(mlops_run_create(&r, s, NULL, &o), MLOPS_E_INVALID);
    o.parent_run_id = NULL;
    o.version = 9;
    tu_assert_st(mlops_run_create(&r, s, NULL, &o), MLOPS_E_VERSION);
    /* unique ids */
    char seen[64][33];
    for (int i = 0; i < 64; i++) {
        r = new_run(s, NULL);
        memcpy(seen[i], mlops_run_id(r), 33);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
        mlops_run_close(r);
    }
    mlops_store_close(s);
}
END_TEST

START_TEST(test_nested_and_tags)
{
    mlops_store *s = open_store(NULL);
    mlops_run *parent = new_run(s, NULL);
    mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
    const char *tk[] = {"team", "stage"}, *tv[] = {"ml", "dev"};
    const char *ek[] = {"gpu"}, *ev[] = {"none"};
    o.parent_run_id = mlops_run_id(parent);
    o.name = "child";
    o.tag_keys = tk;
    o.tag_values = tv;
    o.n_tags = 2;
    o.env_keys = ek;
    o.env_values = ev;
    o.n_env = 1;
    mlops_run *child = NULL;
    tu_assert_ok(mlops_run_create(&child, s, NULL, &o));
    char *v = NULL;
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.parentRunId"));
    ck_assert_str_eq(v, mlops_run_id(parent));
    free(v);
    tu_assert_ok(mlops_run_get_tag(&v, child, "team"));
    ck_assert_str_eq(v, "ml");
    free(v);
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.env.host.gpu"));
    ck_assert_str_eq(v, "none");
    free(v);
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.env.libmlops"));
    ck_assert_str_eq(v, mlops_version_string());
    free(v);
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.env.os"));
    free(v);
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.runName"));
    ck_assert_str_eq(v, "child");
    free(v);
    /* the tests run inside the project's git checkout, when there is one */
    if (access(".git", F_OK) == 0 || getenv("MLOPS_SOURCE_ROOT") != NULL) {
        if (mlops_run_get_tag(&v, child, "mlops.source.git.commit") == MLOPS_OK) {
            ck_assert_uint_eq(strlen(v), 40);
            free(v);
        }
    }
    /* tags are mutable, and can be deleted */
    tu_assert_ok(mlops_run_set_tag(child, "team", "platform"));
    tu_assert_ok(mlops_run_get_tag(&v, child, "team"));
    ck_assert_str_eq(v, "platform");
    free(v);
    tu_assert_ok(mlops_run_delete_tag(child, "team"));
    tu_assert_st(mlops_run_get_tag(&v, child, "team"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_run_delete_tag(child, "team"), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_run_set_name(child, "renamed"));
    tu_assert_ok(mlops_run_get_tag(&v, child, "mlops.runName"));
    ck_assert_str_eq(v, "renamed");
    free(v);
    /* bad initial tags refuse the whole run (I7) */
    const char *bk[] = {"ok", "../bad"};
    o.tag_keys = bk;
    mlops_run *r = NULL;
    tu_assert_st(mlops_run_create(&r, s, NULL, &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "tag 2 of 2"));
    mlops_run_close(child);
    mlops_run_close(parent);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_params)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    tu_assert_ok(mlops_run_log_param(r, "lr", "0.1"));
    tu_assert_ok(mlops_run_log_param(r, "lr", "0.1")); /* idempotent */
    /* V7: another value is a conflict naming both values */
    tu_assert_st(mlops_run_log_param(r, "lr", "0.2"), MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "'lr'"));
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "0.1"));
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "0.2"));
    char *v = NULL;
    tu_assert_ok(mlops_run_get_param(&v, r, "lr"));
    ck_assert_str_eq(v, "0.1");
    free(v);
    tu_assert_st(mlops_run_get_param(&v, r, "nope"), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_run_log_param(r, "empty", ""));
    /* value limits: 6000 characters (not bytes) */
    char *big = malloc(6002 * 2);
    memset(big, 'x', 6000);
    big[6000] = 0;
    tu_assert_ok(mlops_run_log_param(r, "big", big));
    big[6000] = 'x';
    big[6001] = 0;
    tu_assert_st(mlops_run_log_param(r, "big2", big), MLOPS_E_INVALID);
    for (int i = 0; i < 6000; i++) {
        big[2 * i] = (char)0xC3;
        big[2 * i + 1] = (char)0xA9;
    }
    big[12000] = 0;
    tu_assert_ok(mlops_run_log_param(r, "accents", big));
    free(big);
    tu_assert_st(mlops_run_log_param(r, "bin", "\xff\xfe"), MLOPS_E_INVALID); /* V8 */
    tu_assert_st(mlops_run_log_param(r, "nul", NULL), MLOPS_E_INVALID);
    /* a concurrent handle on the same run sees the same immutability */
    mlops_run *r2 = NULL;
    tu_assert_ok(mlops_run_open(&r2, s, mlops_run_id(r)));
    tu_assert_st(mlops_run_log_param(r2, "lr", "0.3"), MLOPS_E_CONFLICT);
    mlops_run_close(r2);
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_key_validation)
{
    /* N1-N8, N12: MLflow's key rules */
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    char k250[251], k251[252];
    memset(k250, 'k', 250);
    k250[250] = 0;
    memset(k251, 'k', 251);
    k251[251] = 0;
    const char *good[] = {"a", "acc", "val/loss", "a.b-c_d e", "x/y/z", k250, "\xC3\xA9t\xC3\xA9",
                          "CON", "..x", "x.."};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        tu_assert_ok(mlops_run_log_metric(r, good[i], 1.0, 0));
        tu_assert_ok(mlops_run_set_tag(r, good[i], "v"));
    }
    size_t n0;
    char *before = store_snapshot(s, &n0);
    const char *bad[] = {"",        ".",       "..",       "../x",     "x/../../y", "/etc/passwd",
                         "a//b",    "a/",      "./a",      "a/./b",    "a/..",      "..\\x",
                         "C:\\x",   "x?a=1",   "x#y",      "x;y",      "a\nb",      "a\tb",
                         "\x1b[31m", "\x7f",   "\xff",     "\xC0\xAF", "\xE0\x80\xAF",
                         "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "%2e%2e%2f", k251,
                         "s3://b/k", "\xC2\x85"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mlops_status st = mlops_run_log_metric(r, bad[i], 1.0, 0);
        ck_assert_msg(st == MLOPS_E_INVALID, "metric key %zu accepted", i);
        st = mlops_run_log_param(r, bad[i], "v");
        ck_assert_msg(st == MLOPS_E_INVALID, "param key %zu accepted", i);
        st = mlops_run_set_tag(r, bad[i], "v");
        ck_assert_msg(st == MLOPS_E_INVALID, "tag key %zu accepted", i);
    }
    tu_assert_st(mlops_run_log_metric(r, NULL, 1.0, 0), MLOPS_E_INVALID);
    size_t n1;
    char *after = store_snapshot(s, &n1);
    ck_assert_uint_eq(n0, n1); /* I7 */
    ck_assert_int_eq(memcmp(before, after, n0), 0);
    free(before);
    free(after);
    /* tag values up to 5000 characters, newlines allowed (MLflow notes are markdown) */
    char *tv = malloc(5002);
    memset(tv, 'v', 5001);
    tv[5000] = 0;
    tu_assert_ok(mlops_run_set_tag(r, "note", tv));
    tv[5000] = 'v';
    tv[5001] = 0;
    tu_assert_st(mlops_run_set_tag(r, "note", tv), MLOPS_E_INVALID);
    free(tv);
    tu_assert_ok(mlops_run_set_tag(r, "md", "line1\nline2"));
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_metrics)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    for (int i = 0; i < 10; i++)
        tu_assert_ok(mlops_run_log_metric_at(r, "loss", 1.0 / (i + 1), i, 1000 + i));
    double v;
    tu_assert_ok(mlops_run_latest_metric(&v, r, "loss"));
    ck_assert(v == 0.1);
    /* V6: an older step logged later does not become latest */
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", 99.0, 3, 5000));
    tu_assert_ok(mlops_run_latest_metric(&v, r, "loss"));
    ck_assert(v == 0.1);
    /* same step, later timestamp wins; same step and timestamp, larger value */
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", 0.5, 9, 1009));
    tu_assert_ok(mlops_run_latest_metric(&v, r, "loss"));
    ck_assert(v == 0.5);
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", 0.2, 9, 1009));
    tu_assert_ok(mlops_run_latest_metric(&v, r, "loss"));
    ck_assert(v == 0.5);
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "loss", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 13);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    ck_assert_int_eq(p[0].step, 0);
    ck_assert_int_eq(p[10].step, 3); /* logging order */
    ck_assert(p[10].value == 99.0);
    mlops_metric_history_free(h);
    tu_assert_st(mlops_run_latest_metric(&v, r, "never"), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_metric_history_open(&h, r, "never", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 0);
    ck_assert_ptr_null(mlops_metric_history_points(h));
    mlops_metric_history_free(h);
    tu_assert_st(mlops_metric_history_open(&h, r, "loss", 1), MLOPS_E_INVALID);
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_metric_values_exact)
{
    /* V1, V2, V4, V5: bit-exact values, any step and timestamp */
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    const uint64_t bits[] = {0x7ff8000000000000ull, 0xfff8000000000000ull,
                             0x7ff0000000000001ull, 0x7ff80000deadbeefull,
                             0x7ff0000000000000ull, 0xfff0000000000000ull,
                             0x8000000000000000ull, 0x0000000000000001ull,
                             0x000fffffffffffffull, 0x0010000000000000ull,
                             0x7fefffffffffffffull, 0x3fb999999999999aull};
    const int64_t steps[] = {0, -1, INT64_MIN, INT64_MAX};
    const int64_t ts[] = {0, -1, INT64_MAX, INT64_MIN};
    size_t n = sizeof(bits) / sizeof(bits[0]);
    for (size_t i = 0; i < n; i++) {
        double d;
        memcpy(&d, &bits[i], 8);
        tu_assert_ok(mlops_run_log_metric_at(r, "x", d, steps[i % 4], ts[i % 4]));
    }
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "x", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), n);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    for (size_t i = 0; i < n; i++) {
        uint64_t got;
        memcpy(&got, &p[i].value, 8);
        ck_assert_msg(got == bits[i], "value %zu: %016llx != %016llx", i,
                      (unsigned long long)got, (unsigned long long)bits[i]);
        ck_assert_int_eq(p[i].step, steps[i % 4]);
        ck_assert_int_eq(p[i].timestamp_ms, ts[i % 4]);
    }
    mlops_metric_history_free(h);
    /* latest: step INT64_MAX, timestamp INT64_MAX wins; NaN ranks above numbers */
    mlops_metric_value lv;
    tu_assert_ok(mlops_run_latest_metric_point(&lv, r, "x"));
    ck_assert_int_eq(lv.step, INT64_MAX);
    tu_assert_ok(mlops_run_log_metric_at(r, "n", 1.0, 5, 5));
    tu_assert_ok(mlops_run_log_metric_at(r, "n", NAN, 5, 5));
    tu_assert_ok(mlops_run_log_metric_at(r, "n", 2.0, 5, 5));
    tu_assert_ok(mlops_run_latest_metric_point(&lv, r, "n"));
    ck_assert(isnan(lv.value));
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_history_downsample)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    mlops_metric_point pts[1000];
    for (int i = 0; i < 1000; i++)
        pts[i] = (mlops_metric_point){"acc", i * 0.001, 999 - i, i};
    tu_assert_ok(mlops_run_log_metrics(r, pts, 1000));
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "acc", 11));
    ck_assert_uint_eq(mlops_metric_history_count(h), 11);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    ck_assert_int_eq(p[0].step, 0);
    ck_assert_int_eq(p[10].step, 999);
    for (int i = 1; i < 11; i++)
        ck_assert_int_gt(p[i].step, p[i - 1].step);
    mlops_metric_history_free(h);
    tu_assert_ok(mlops_metric_history_open(&h, r, "acc", 5000));
    ck_assert_uint_eq(mlops_metric_history_count(h), 1000);
    mlops_metric_history_free(h);
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_batch_all_or_nothing)
{
    /* V9: item k of n invalid rejects everything, naming k */
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    tu_assert_ok(mlops_run_log_param(r, "fixed", "1"));
    size_t n0;
    char *before = store_snapshot(s, &n0);
    mlops_metric_point pts[3] = {{"a", 1, 0, 0}, {"b", 2, 0, 0}, {"../c", 3, 0, 0}};
    tu_assert_st(mlops_run_log_metrics(r, pts, 3), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "metric 3 of 3"));
    const char *pk[] = {"x", "fixed"}, *pv[] = {"1", "2"};
    pts[2].key = "c";
    tu_assert_st(mlops_run_log_batch(r, pts, 3, pk, pv, 2, NULL, NULL, 0), MLOPS_E_CONFLICT);
    const char *pk2[] = {"x", "x"}, *pv2[] = {"1", "2"};
    tu_assert_st(mlops_run_log_batch(r, NULL, 0, pk2, pv2, 2, NULL, NULL, 0), MLOPS_E_CONFLICT);
    const char *tk[] = {"ok", "bad/"}, *tv[] = {"1", "2"};
    tu_assert_st(mlops_run_log_batch(r, pts, 3, NULL, NULL, 0, tk, tv, 2), MLOPS_E_INVALID);
    mlops_metric_point many[1001];
    for (int i = 0; i < 1001; i++)
        many[i] = (mlops_metric_point){"m", i, i, i};
    tu_assert_st(mlops_run_log_metrics(r, many, 1001), MLOPS_E_TOOBIG);
    const char *keys101[101], *vals101[101];
    char names[101][8];
    for (int i = 0; i < 101; i++) {
        snprintf(names[i], sizeof(names[i]), "p%d", i);
        keys101[i] = names[i];
        vals101[i] = "v";
    }
    tu_assert_st(mlops_run_log_batch(r, NULL, 0, keys101, vals101, 101, NULL, NULL, 0),
                 MLOPS_E_TOOBIG);
    tu_assert_st(mlops_run_log_batch(r, NULL, 0, NULL, NULL, 0, keys101, vals101, 101),
                 MLOPS_E_TOOBIG);
    tu_assert_st(mlops_run_log_metrics(r, NULL, 2), MLOPS_E_INVALID);
    size_t n1;
    char *after = store_snapshot(s, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_int_eq(memcmp(before, after, n0), 0);
    free(before);
    free(after);
    /* the limits themselves pass */
    tu_assert_ok(mlops_run_log_metrics(r, many, 1000));
    tu_assert_ok(mlops_run_log_batch(r, pts, 3, keys101, vals101, 100, keys101, vals101, 100));
    char *v;
    tu_assert_ok(mlops_run_get_param(&v, r, "p99"));
    free(v);
    double d;
    tu_assert_ok(mlops_run_latest_metric(&d, r, "m"));
    ck_assert(d == 999);
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

typedef struct thr {
    mlops_run *run;
    int id;
} thr;

static void *thread_log(void *arg)
{
    thr *t = arg;
    char key[16];
    snprintf(key, sizeof(key), "t%d", t->id);
    for (int i = 0; i < 500; i++) {
        if (mlops_run_log_metric(t->run, key, i, i) != MLOPS_OK)
            return (void *)1;
        if (mlops_run_log_metric(t->run, "shared", t->id * 1000 + i, i) != MLOPS_OK)
            return (void *)1;
    }
    return NULL;
}

START_TEST(test_threads)
{
    /* C4: many threads on one run */
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    pthread_t th[4];
    thr args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr){r, i};
        pthread_create(&th[i], NULL, thread_log, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        ck_assert_ptr_null(ret);
    }
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "shared", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 2000);
    mlops_metric_history_free(h);
    double v;
    tu_assert_ok(mlops_run_latest_metric(&v, r, "shared"));
    ck_assert(fmod(v, 1000) == 499); /* step 499 of whichever thread logged it last */
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_async)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    tu_assert_st(mlops_run_set_async(r, 10), MLOPS_E_INVALID);
    tu_assert_ok(mlops_run_set_async(r, 256));
    for (int i = 0; i < 10000; i++)
        tu_assert_ok(mlops_run_log_metric_at(r, i % 2 ? "odd" : "even", i, i, i));
    tu_assert_ok(mlops_run_flush(r));
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "odd", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 5000);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    for (int i = 0; i < 5000; i++)
        ck_assert(p[i].value == 2 * i + 1);
    mlops_metric_history_free(h);
    /* a background error surfaces at flush: delete the run under the writer */
    tu_assert_ok(mlops_run_delete(s, mlops_run_id(r)));
    tu_assert_ok(mlops_run_log_metric(r, "late", 1, 0)); /* buffered */
    tu_assert_st(mlops_run_flush(r), MLOPS_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "background"));
    tu_assert_ok(mlops_run_flush(r)); /* reported once */
    tu_assert_ok(mlops_run_restore(s, mlops_run_id(r)));
    /* close writes what is pending */
    for (int i = 0; i < 100; i++)
        tu_assert_ok(mlops_run_log_metric(r, "tail", i, i));
    char id[33];
    memcpy(id, mlops_run_id(r), 33);
    mlops_run_close(r);
    tu_assert_ok(mlops_run_open(&r, s, id));
    tu_assert_ok(mlops_metric_history_open(&h, r, "tail", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 100);
    mlops_metric_history_free(h);
    tu_assert_ok(mlops_run_set_async(r, 64));
    tu_assert_ok(mlops_run_set_async(r, 0));
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_artifacts)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    mlops_run *r2 = new_run(s, NULL);
    tu_assert_ok(mlops_run_log_artifact_bytes(r, "model/model.bin", "weights", 7));
    tu_assert_ok(mlops_run_log_artifact_bytes(r2, "copy.bin", "weights", 7));
    mlops_hash128 h1, h2;
    uint64_t size;
    tu_assert_ok(mlops_run_artifact_stat(&h1, &size, r, "model/model.bin"));
    ck_assert_uint_eq(size, 7);
    tu_assert_ok(mlops_run_artifact_stat(&h2, NULL, r2, "copy.bin"));
    ck_assert_int_eq(memcmp(&h1, &h2, 16), 0); /* deduplicated by content */
    mlops_hash128 want;
    mlops_hash128_of(&want, "weights", 7);
    ck_assert_int_eq(memcmp(&h1, &want, 16), 0);
    mlops_bytes b = {0};
    tu_assert_ok(mlops_run_artifact_read(&b, r, "model/model.bin", 0));
    ck_assert_uint_eq(b.len, 7);
    ck_assert_int_eq(memcmp(b.data, "weights", 7), 0);
    mlops_bytes_free(&b);
    tu_assert_st(mlops_run_artifact_read(&b, r, "model/model.bin", 3), MLOPS_E_TOOBIG);
    tu_assert_st(mlops_run_artifact_read(&b, r, "missing", 0), MLOPS_E_NOTFOUND);
    /* files and directories */
    char *dir = tu_tempdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/data", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/data/sub", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/data/a.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("alpha", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/data/sub/b.txt", dir);
    f = fopen(path, "w");
    fputs("beta!", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/data", dir);
    tu_assert_ok(mlops_run_log_artifact(r, path, "inputs"));
    snprintf(path, sizeof(path), "%s/data/a.txt", dir);
    tu_assert_ok(mlops_run_log_artifact(r, path, NULL));
    mlops_artifact_list *l = NULL;
    tu_assert_ok(mlops_artifact_list_open(&l, r, NULL));
    ck_assert_uint_eq(mlops_artifact_list_count(l), 4);
    ck_assert_str_eq(mlops_artifact_list_path(l, 0), "a.txt");
    ck_assert_str_eq(mlops_artifact_list_path(l, 1), "inputs/a.txt");
    ck_assert_str_eq(mlops_artifact_list_path(l, 2), "inputs/sub/b.txt");
    ck_assert_str_eq(mlops_artifact_list_path(l, 3), "model/model.bin");
    ck_assert_uint_eq(mlops_artifact_list_size(l, 2), 5);
    ck_assert_ptr_nonnull(mlops_artifact_list_hash(l, 2));
    ck_assert_ptr_null(mlops_artifact_list_path(l, 4));
    mlops_artifact_list_free(l);
    tu_assert_ok(mlops_artifact_list_open(&l, r, "inputs"));
    ck_assert_uint_eq(mlops_artifact_list_count(l), 2);
    mlops_artifact_list_free(l);
    tu_assert_ok(mlops_artifact_list_open(&l, r, "input")); /* not a path prefix match */
    ck_assert_uint_eq(mlops_artifact_list_count(l), 0);
    mlops_artifact_list_free(l);
    tu_assert_ok(mlops_run_artifact_read(&b, r, "inputs/sub/b.txt", 0));
    ck_assert_int_eq(memcmp(b.data, "beta!", 5), 0);
    mlops_bytes_free(&b);
    /* N1-N3, N16: bad logical paths and non-regular sources */
    const char *bad[] = {"", ".", "..", "../x", "/etc/passwd", "a//b", "a/", "..\\x", "C:\\x",
                         "a\nb", "x/../../y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        tu_assert_st(mlops_run_log_artifact_bytes(r, bad[i], "x", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_log_artifact(r, "/dev/null", "null"), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_log_artifact(r, "/nonexistent/file", NULL), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_run_log_artifact(r, path, "../escape"), MLOPS_E_INVALID);
    /* N4: percent forms are literal */
    tu_assert_ok(mlops_run_log_artifact_bytes(r, "%2e%2e%2f", "x", 1));
    tu_rmtree(dir);
    free(dir);
    mlops_run_close(r);
    mlops_run_close(r2);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_datasets)
{
    mlops_store *s = open_store(NULL);
    mlops_run *r = new_run(s, NULL);
    size_t n;
    tu_assert_ok(mlops_run_dataset_count(&n, r));
    ck_assert_uint_eq(n, 0);
    mlops_hash128 h, want, got;
    tu_assert_ok(mlops_run_log_dataset_bytes(&h, r, "train", "a,b\n1,2\n", 8, 1));
    mlops_hash128_of(&want, "a,b\n1,2\n", 8);
    ck_assert_int_eq(memcmp(&h, &want, 16), 0);
    char *dir = tu_tempdir();
    char path[512];
    snprintf(path, sizeof(path), "%s/eval.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    tu_assert_ok(mlops_run_log_dataset_file(&h, r, NULL, path, -1));
    ck_assert_int_eq(memcmp(&h, &want, 16), 0); /* same bytes, same hash */
    tu_assert_ok(mlops_run_dataset_count(&n, r));
    ck_assert_uint_eq(n, 2);
    int64_t rows;
    char *name = NULL;
    tu_assert_ok(mlops_run_dataset_get(&got, &rows, &name, r, 0));
    ck_assert_str_eq(name, "train");
    ck_assert_int_eq(rows, 1);
    free(name);
    tu_assert_ok(mlops_run_dataset_get(&got, &rows, &name, r, 1));
    ck_assert_str_eq(name, "eval.csv");
    ck_assert_int_eq(rows, -1);
    ck_assert_int_eq(memcmp(&got, &want, 16), 0);
    free(name);
    tu_assert_st(mlops_run_dataset_get(&got, &rows, &name, r, 2), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_run_log_dataset_bytes(NULL, r, "", "x", 1, 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_log_dataset_bytes(NULL, r, "x", "x", 1, -5), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_log_dataset_file(NULL, r, "d", dir, 1), MLOPS_E_INVALID);
    tu_rmtree(dir);
    free(dir);
    mlops_run_close(r);
    mlops_store_close(s);
}
END_TEST

/* ---- search ---- */

static mlops_store *search_fixture(char ids[6][33])
{
    mlops_store *s = open_store(NULL);
    char *e1 = NULL, *e2 = NULL;
    tu_assert_ok(mlops_experiment_create(&e1, s, "e1"));
    tu_assert_ok(mlops_experiment_create(&e2, s, "e2"));
    const double acc[6] = {0.9, 0.7, NAN, 0.8, 0.95, 0};
    for (int i = 0; i < 6; i++) {
        mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
        char name[16];
        snprintf(name, sizeof(name), "run%d", i);
        o.name = name;
        o.start_ms = 1000 + i;
        o.flags = MLOPS_RUN_NO_ENVIRONMENT;
        mlops_run *r = NULL;
        tu_assert_ok(mlops_run_create(&r, s, i < 4 ? e1 : e2, &o));
        memcpy(ids[i], mlops_run_id(r), 33);
        if (i != 5)
            tu_assert_ok(mlops_run_log_metric(r, "acc", acc[i], 0));
        tu_assert_ok(mlops_run_log_param(r, "model", i % 2 ? "tree" : "linear"));
        if (i < 3)
            tu_assert_ok(mlops_run_set_tag(r, "team", i == 0 ? "Fraud" : "churn"));
        tu_assert_ok(mlops_run_log_dataset_bytes(NULL, r, i < 2 ? "train-v1" : "train-v2", "d",
                                                 1, 100 * i));
        if (i % 3 == 0)
            tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FINISHED, 0));
        mlops_run_close(r);
    }
    mlops_string_free(NULL, e1);
    mlops_string_free(NULL, e2);
    return s;
}

static int search_ids(mlops_store *s, const char *filter, const char *order0,
                      const char *order1, char ids[6][33], int out[6])
{
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *order[2] = {order0, order1};
    o.filter = filter;
    o.order_by = order;
    o.n_order_by = order1 ? 2 : order0 ? 1 : 0;
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    int n = (int)mlops_run_list_count(l);
    for (int i = 0; i < n; i++) {
        const char *id = mlops_run_list_text(l, (size_t)i, MLOPS_RUN_FIELD_ID);
        out[i] = -1;
        for (int j = 0; j < 6; j++) {
            if (strcmp(ids[j], id) == 0)
                out[i] = j;
        }
    }
    mlops_run_list_free(l);
    return n;
}

START_TEST(test_search_filters)
{
    char ids[6][33];
    mlops_store *s = search_fixture(ids);
    int r[6];
    ck_assert_int_eq(search_ids(s, NULL, NULL, NULL, ids, r), 6);
    /* default order: start_time DESC */
    ck_assert_int_eq(r[0], 5);
    ck_assert_int_eq(r[5], 0);
    ck_assert_int_eq(search_ids(s, "metrics.acc > 0.75", NULL, NULL, ids, r), 3);
    ck_assert_int_eq(search_ids(s, "metrics.acc >= 0.8 AND params.model = 'linear'", NULL, NULL,
                                ids, r), 2);
    ck_assert_int_eq(search_ids(s, "metrics.acc < 0.75 or tags.team = 'Fraud'", NULL, NULL, ids,
                                r), 2);
    ck_assert_int_eq(search_ids(s, "(metrics.acc < 0.75 OR tags.team = 'Fraud') AND "
                                   "params.model = \"tree\"", NULL, NULL, ids, r), 1);
    ck_assert_int_eq(r[0], 1);
    ck_assert_int_eq(search_ids(s, "tags.team LIKE 'ch%'", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "tags.team LIKE 'CH%'", NULL, NULL, ids, r), 0);
    ck_assert_int_eq(search_ids(s, "tags.team ILIKE 'CH%'", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "tags.team LIKE '_raud'", NULL, NULL, ids, r), 1);
    ck_assert_int_eq(search_ids(s, "tags.team != 'churn'", NULL, NULL, ids, r), 1);
    ck_assert_int_eq(search_ids(s, "tags.team IN ('churn', 'Fraud')", NULL, NULL, ids, r), 3);
    ck_assert_int_eq(search_ids(s, "tags.team NOT IN ('churn')", NULL, NULL, ids, r), 1);
    ck_assert_int_eq(search_ids(s, "tags.team IS NULL", NULL, NULL, ids, r), 3);
    ck_assert_int_eq(search_ids(s, "metrics.acc IS NOT NULL", NULL, NULL, ids, r), 5);
    ck_assert_int_eq(search_ids(s, "attributes.status = 'FINISHED'", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "attributes.status != 'FINISHED'", NULL, NULL, ids, r), 4);
    ck_assert_int_eq(search_ids(s, "attributes.run_name = 'run3'", NULL, NULL, ids, r), 1);
    ck_assert_int_eq(r[0], 3);
    ck_assert_int_eq(search_ids(s, "attributes.start_time >= 1004", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "attributes.experiment_id = '2'", NULL, NULL, ids, r), 2);
    char f[128];
    snprintf(f, sizeof(f), "attributes.run_id IN ('%s', '%s')", ids[2], ids[4]);
    ck_assert_int_eq(search_ids(s, f, NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "datasets.name = 'train-v1'", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "datasets.rows >= 300", NULL, NULL, ids, r), 3);
    ck_assert_int_eq(search_ids(s, "metrics.`acc` > 0.85", NULL, NULL, ids, r), 2);
    ck_assert_int_eq(search_ids(s, "metric.acc > 0.85 and param.model = 'linear'", NULL, NULL,
                                ids, r), 2);
    /* NaN compares false with every number (V1) */
    ck_assert_int_eq(search_ids(s, "metrics.acc != 0.5", NULL, NULL, ids, r), 5);
    /* experiment restriction, view and max results */
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *exps[] = {"2"};
    o.experiment_ids = exps;
    o.n_experiment_ids = 1;
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 2);
    mlops_run_list_free(l);
    tu_assert_ok(mlops_run_delete(s, ids[4]));
    ck_assert_int_eq(search_ids(s, NULL, NULL, NULL, ids, r), 5);
    o = (mlops_search_options)MLOPS_SEARCH_OPTIONS_INIT;
    o.view = MLOPS_VIEW_DELETED;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 1);
    uint32_t lc;
    tu_assert_ok(mlops_run_list_info(NULL, &lc, NULL, NULL, l, 0));
    ck_assert_uint_eq(lc, MLOPS_LIFECYCLE_DELETED);
    tu_assert_st(mlops_run_list_info(NULL, &lc, NULL, NULL, l, 1), MLOPS_E_INVALID);
    mlops_run_list_free(l);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_search_order_and_pages)
{
    char ids[6][33];
    mlops_store *s = search_fixture(ids);
    int r[6];
    /* real values, then NaN, then runs without the key, in both directions */
    ck_assert_int_eq(search_ids(s, NULL, "metrics.acc ASC", NULL, ids, r), 6);
    int want_asc[6] = {1, 3, 0, 4, 2, 5};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(r[i], want_asc[i]);
    ck_assert_int_eq(search_ids(s, NULL, "metrics.acc DESC", NULL, ids, r), 6);
    int want_desc[6] = {4, 0, 3, 1, 2, 5};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(r[i], want_desc[i]);
    /* several keys */
    ck_assert_int_eq(search_ids(s, NULL, "params.model DESC", "attributes.start_time ASC", ids,
                                r), 6);
    int want_multi[6] = {1, 3, 5, 0, 2, 4};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(r[i], want_multi[i]);
    ck_assert_int_eq(search_ids(s, NULL, "start_time", NULL, ids, r), 6);
    ck_assert_int_eq(r[0], 0);
    /* pages */
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *order[] = {"metrics.acc DESC"};
    o.order_by = order;
    o.n_order_by = 1;
    o.max_results = 4;
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 4);
    const char *tok = mlops_run_list_next_page_token(l);
    ck_assert_ptr_nonnull(tok);
    char saved[64];
    snprintf(saved, sizeof(saved), "%s", tok);
    mlops_run_list_free(l);
    o.page_token = saved;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 2);
    ck_assert_str_eq(mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_ID), ids[2]);
    ck_assert_ptr_null(mlops_run_list_next_page_token(l));
    mlops_run_list_free(l);
    /* a token from another query, or garbage, is refused */
    o.filter = "metrics.acc > 0";
    tu_assert_st(mlops_run_search(&l, s, &o), MLOPS_E_INVALID);
    o.filter = NULL;
    o.page_token = "zz";
    tu_assert_st(mlops_run_search(&l, s, &o), MLOPS_E_INVALID);
    o.page_token = NULL;
    o.max_results = 50001;
    tu_assert_st(mlops_run_search(&l, s, &o), MLOPS_E_INVALID);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_search_malformed)
{
    char ids[6][33];
    mlops_store *s = search_fixture(ids);
    struct {
        const char *filter;
        const char *pos;
    } bad[] = {
        {"metrics.acc >", "position 14"},
        {"metrics.acc > 'x'", "expected a number"},
        {"params.model = linear", "quoted string"},
        {"params.model > 'a'", "position 14"},
        {"foo.bar = 1", "unknown entity 'foo'"},
        {"metrics.acc > 1 AND", "position 20"},
        {"(metrics.acc > 1", "expected ')'"},
        {"metrics.acc > 1)", "unexpected ')'"},
        {"attributes.nope = 'x'", "unknown attribute"},
        {"tags.t = 'unterminated", "unterminated"},
        {"metrics.acc LIKE 'x'", "numeric"},
        {"attributes.status = 'DONE'", "unknown run status"},
        {"acc > 1", "not an identifier"},
        {"metrics. > 1", "expected a key"},
        {"tags.t IN 'a'", "expected '('"},
        {"tags.t IN ('a' 'b')", "expected ',' or ')'"},
        {"metrics.acc = 1 XOR metrics.acc = 2", "unexpected 'XOR"},
        {"datasets.context = 'x'", "unknown dataset field"},
    };
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    mlops_run_list *l = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.filter = bad[i].filter;
        mlops_status st = mlops_run_search(&l, s, &o);
        ck_assert_msg(st == MLOPS_E_INVALID, "'%s' accepted", bad[i].filter);
        ck_assert_msg(strstr(mlops_error_message(), bad[i].pos) != NULL, "'%s': %s",
                      bad[i].filter, mlops_error_message());
        ck_assert_ptr_null(l);
    }
    char deep[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "(");
    o.filter = deep;
    tu_assert_st(mlops_run_search(&l, s, &o), MLOPS_E_INVALID);
    o.filter = NULL;
    const char *order[] = {"metrics.acc SIDEWAYS"};
    o.order_by = order;
    o.n_order_by = 1;
    tu_assert_st(mlops_run_search(&l, s, &o), MLOPS_E_INVALID);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_run_list_get)
{
    char ids[6][33];
    mlops_store *s = search_fixture(ids);
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_list_get(&l, s, ids[0]));
    ck_assert_uint_eq(mlops_run_list_count(l), 1);
    ck_assert_str_eq(mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_NAME), "run0");
    ck_assert_str_eq(mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_EXPERIMENT_ID), "1");
    ck_assert_uint_eq(mlops_run_list_item_count(l, 0, MLOPS_ITEM_PARAM), 1);
    ck_assert_str_eq(mlops_run_list_item_key(l, 0, MLOPS_ITEM_PARAM, 0), "model");
    ck_assert_str_eq(mlops_run_list_item_value(l, 0, MLOPS_ITEM_PARAM, 0), "linear");
    ck_assert_uint_eq(mlops_run_list_item_count(l, 0, MLOPS_ITEM_METRIC), 1);
    ck_assert(mlops_run_list_metric(l, 0, 0)->value == 0.9);
    ck_assert_ptr_null(mlops_run_list_item_value(l, 0, MLOPS_ITEM_METRIC, 0));
    ck_assert_uint_eq(mlops_run_list_item_count(l, 0, MLOPS_ITEM_DATASET), 1);
    ck_assert_str_eq(mlops_run_list_item_key(l, 0, MLOPS_ITEM_DATASET, 0), "train-v1");
    ck_assert_uint_eq(strlen(mlops_run_list_item_value(l, 0, MLOPS_ITEM_DATASET, 0)), 32);
    ck_assert_int_eq(mlops_run_list_dataset_rows(l, 0, 0), 0);
    ck_assert_ptr_null(mlops_run_list_item_key(l, 0, 9, 0));
    ck_assert_ptr_null(mlops_run_list_text(l, 1, MLOPS_RUN_FIELD_ID));
    mlops_run_list_free(l);
    tu_assert_st(mlops_run_list_get(&l, s, "0123456789abcdef0123456789abcdef"), MLOPS_E_NOTFOUND);
    tu_assert_st(mlops_run_list_get(&l, s, "xyz"), MLOPS_E_INVALID);
    mlops_store_close(s);
}
END_TEST

/* ---- MLflow layout ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

START_TEST(test_mlflow_roundtrip)
{
    mlops_store *s = open_store(NULL);
    char *e = NULL;
    tu_assert_ok(mlops_experiment_create(&e, s, "it's \"quoted\""));
    mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
    o.name = "export-me";
    mlops_run *r = NULL;
    tu_assert_ok(mlops_run_create(&r, s, e, &o));
    char id[33];
    memcpy(id, mlops_run_id(r), 33);
    tu_assert_ok(mlops_run_log_param(r, "lr", "0.01"));
    tu_assert_ok(mlops_run_log_param(r, "nested/param", "x"));
    tu_assert_ok(mlops_run_set_tag(r, "team", "ml"));
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", 0.5, 0, 1000));
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", NAN, 1, 1001));
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", -INFINITY, 2, 1002));
    tu_assert_ok(mlops_run_log_metric_at(r, "loss", 0.1, 3, 1003));
    tu_assert_ok(mlops_run_log_metric_at(r, "val/auc", 0.875, 7, 2000));
    tu_assert_ok(mlops_run_log_artifact_bytes(r, "model/model.bin", "\0\1\2bytes", 8));
    tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FINISHED, 5000));
    mlops_run_close(r);
    char *dir = tu_tempdir();
    char root[512], path[700];
    snprintf(root, sizeof(root), "%s/mlruns", dir);
    size_t n = 0;
    tu_assert_ok(mlops_run_export_mlflow(&n, s, root, NULL, 0));
    ck_assert_uint_eq(n, 1);
    snprintf(path, sizeof(path), "%s/%s/%s/metrics/loss", root, e, id);
    char *txt = slurp(path);
    ck_assert_ptr_nonnull(txt);
    ck_assert_str_eq(txt, "1000 0.5 0\n1001 nan 1\n1002 -inf 2\n1003 0.10000000000000001 3\n");
    free(txt);
    snprintf(path, sizeof(path), "%s/%s/%s/metrics/val/auc", root, e, id);
    txt = slurp(path);
    ck_assert_str_eq(txt, "2000 0.875 7\n");
    free(txt);
    snprintf(path, sizeof(path), "%s/%s/%s/params/lr", root, e, id);
    txt = slurp(path);
    ck_assert_str_eq(txt, "0.01");
    free(txt);
    snprintf(path, sizeof(path), "%s/%s/%s/meta.yaml", root, e, id);
    txt = slurp(path);
    ck_assert_ptr_nonnull(strstr(txt, "status: 3\n"));
    ck_assert_ptr_nonnull(strstr(txt, "end_time: 5000\n"));
    ck_assert_ptr_nonnull(strstr(txt, "run_name: 'export-me'\n"));
    free(txt);
    snprintf(path, sizeof(path), "%s/%s/meta.yaml", root, e);
    txt = slurp(path);
    ck_assert_ptr_nonnull(strstr(txt, "name: 'it''s \"quoted\"'\n"));
    free(txt);
    snprintf(path, sizeof(path), "%s/%s/%s/artifacts/model/model.bin", root, e, id);
    txt = slurp(path);
    ck_assert_int_eq(memcmp(txt, "\0\1\2bytes", 8), 0);
    free(txt);
    /* import into a fresh store: the same run, bit for bit */
    mlops_store *s2 = open_store(NULL);
    tu_assert_ok(mlops_run_import_mlflow(&n, s2, root));
    ck_assert_uint_eq(n, 1);
    tu_assert_ok(mlops_run_import_mlflow(&n, s2, root)); /* idempotent */
    ck_assert_uint_eq(n, 0);
    tu_assert_ok(mlops_run_open(&r, s2, id));
    char *v = NULL;
    tu_assert_ok(mlops_run_get_param(&v, r, "nested/param"));
    ck_assert_str_eq(v, "x");
    free(v);
    mlops_metric_history *h = NULL;
    tu_assert_ok(mlops_metric_history_open(&h, r, "loss", 0));
    ck_assert_uint_eq(mlops_metric_history_count(h), 4);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    ck_assert(p[0].value == 0.5 && isnan(p[1].value) && p[2].value == -INFINITY &&
              p[3].value == 0.1);
    ck_assert_int_eq(p[3].step, 3);
    ck_assert_int_eq(p[3].timestamp_ms, 1003);
    mlops_metric_history_free(h);
    mlops_bytes b = {0};
    tu_assert_ok(mlops_run_artifact_read(&b, r, "model/model.bin", 0));
    ck_assert_uint_eq(b.len, 8);
    mlops_bytes_free(&b);
    uint32_t st;
    int64_t start, end;
    tu_assert_ok(mlops_run_get_status(&st, &start, &end, r));
    ck_assert_uint_eq(st, MLOPS_RUN_FINISHED);
    ck_assert_int_eq(end, 5000);
    ck_assert_str_eq(mlops_run_experiment_id(r), "1");
    mlops_run_close(r);
    char *e2 = NULL;
    tu_assert_ok(mlops_experiment_get_by_name(&e2, s2, "it's \"quoted\""));
    free(e2);
    /* malformed layouts */
    snprintf(path, sizeof(path), "%s/%s/%s/metrics/loss", root, e, id);
    FILE *f = fopen(path, "a");
    fputs("garbage line\n", f);
    fclose(f);
    mlops_store *s3 = open_store(NULL);
    tu_assert_st(mlops_run_import_mlflow(&n, s3, root), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "metrics/loss"));
    tu_assert_st(mlops_run_import_mlflow(&n, s3, "/nonexistent/mlruns"), MLOPS_E_NOTFOUND);
    mlops_store_close(s3);
    mlops_store_close(s2);
    tu_rmtree(dir);
    free(dir);
    free(e);
    mlops_store_close(s);
}
END_TEST

START_TEST(test_alloc_failures)
{
    /* M1: fail each allocation of a logging scenario once; no crash, no leak */
    for (long k = 1; k < 400; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        a.fail_at = 0;
        mlops_store *s = open_store(env);
        a.fail_at = a.calls + k;
        mlops_run *r = NULL;
        mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
        o.flags = MLOPS_RUN_NO_ENVIRONMENT | MLOPS_RUN_NO_SYSTEM_TAGS;
        mlops_status st = mlops_run_create(&r, s, NULL, &o);
        if (st == MLOPS_OK) {
            mlops_metric_point pts[3] = {{"a", 1, 0, 0}, {"b", 2, 0, 0}, {"a", 3, 1, 0}};
            (void)mlops_run_log_metrics(r, pts, 3);
            (void)mlops_run_log_param(r, "p", "v");
            (void)mlops_run_set_tag(r, "t", "v");
            mlops_run_list *l = NULL;
            if (mlops_run_search(&l, s, NULL) == MLOPS_OK)
                mlops_run_list_free(l);
            mlops_metric_history *h = NULL;
            if (mlops_metric_history_open(&h, r, "a", 0) == MLOPS_OK)
                mlops_metric_history_free(h);
        } else {
            ck_assert_ptr_null(r);
        }
        mlops_run_close(r);
        mlops_store_close(s);
        mlops_env_free(env);
        ck_assert_int_eq(a.live, 0);
        if (a.failures == 0)
            break;
    }
}
END_TEST

START_TEST(test_file_backend)
{
    /* the same scenario on the file backend when it is built; mem otherwise */
    char *dir = tu_tempdir();
    char uri[600];
    snprintf(uri, sizeof(uri), "%s/store", dir);
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, NULL);
    if (st == MLOPS_E_UNSUPPORTED || st == MLOPS_E_NOTFOUND) {
        tu_rmtree(dir);
        free(dir);
        return;
    }
    tu_assert_ok(st);
    mlops_run *r = new_run(s, NULL);
    char id[33];
    memcpy(id, mlops_run_id(r), 33);
    mlops_metric_point pts[100];
    for (int i = 0; i < 100; i++)
        pts[i] = (mlops_metric_point){"loss", 1.0 / (i + 1), i, i};
    tu_assert_ok(mlops_run_log_metrics(r, pts, 100));
    tu_assert_ok(mlops_run_log_param(r, "lr", "0.1"));
    tu_assert_ok(mlops_run_log_artifact_bytes(r, "m.bin", "abc", 3));
    tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FINISHED, 0));
    mlops_run_close(r);
    mlops_store_close(s);
    tu_assert_ok(mlops_store_open(&s, NULL, uri, NULL));
    tu_assert_ok(mlops_run_open(&r, s, id));
    double v;
    tu_assert_ok(mlops_run_latest_metric(&v, r, "loss"));
    ck_assert(v == 0.01);
    mlops_bytes b = {0};
    tu_assert_ok(mlops_run_artifact_read(&b, r, "m.bin", 0));
    ck_assert_int_eq(memcmp(b.data, "abc", 3), 0);
    mlops_bytes_free(&b);
    /* C1: several processes log to one store at once, each to its own run and
     * all to a shared run (compare-and-set on its document); nothing is lost */
    enum { PROCS = 3, POINTS = 60 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            mlops_store *cs = NULL;
            mlops_run *own = NULL, *shared = NULL;
            int bad = mlops_store_open(&cs, NULL, uri, NULL) != MLOPS_OK;
            bad = bad || mlops_run_open(&shared, cs, id) != MLOPS_OK;
            mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
            o.flags = MLOPS_RUN_NO_ENVIRONMENT;
            bad = bad || mlops_run_create(&own, cs, NULL, &o) != MLOPS_OK;
            char key[16];
            snprintf(key, sizeof(key), "proc%d", p);
            for (int i = 0; !bad && i < POINTS; i++) {
                bad = mlops_run_log_metric(own, "x", i, i) != MLOPS_OK ||
                      mlops_run_log_metric(shared, key, i, i) != MLOPS_OK;
            }
            mlops_run_close(own);
            mlops_run_close(shared);
            mlops_store_close(cs);
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", p);
    }
    mlops_run_list *l = NULL;
    mlops_search_options so = MLOPS_SEARCH_OPTIONS_INIT;
    so.filter = "metrics.x = 59";
    tu_assert_ok(mlops_run_search(&l, s, &so));
    ck_assert_uint_eq(mlops_run_list_count(l), PROCS);
    mlops_run_list_free(l);
    for (int p = 0; p < PROCS; p++) {
        char key[16];
        snprintf(key, sizeof(key), "proc%d", p);
        tu_assert_ok(mlops_run_latest_metric(&v, r, key)); /* every writer's latest survived */
        ck_assert(v == POINTS - 1);
        mlops_metric_history *h = NULL;
        tu_assert_ok(mlops_metric_history_open(&h, r, key, 0));
        ck_assert_uint_eq(mlops_metric_history_count(h), POINTS);
        mlops_metric_history_free(h);
    }
    mlops_run_close(r);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_options_abi);
    tcase_add_test(tc, test_experiments);
    tcase_add_test(tc, test_experiment_bad_names);
    tcase_add_test(tc, test_run_lifecycle);
    tcase_add_test(tc, test_run_ids);
    tcase_add_test(tc, test_nested_and_tags);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_key_validation);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_metric_values_exact);
    tcase_add_test(tc, test_history_downsample);
    tcase_add_test(tc, test_batch_all_or_nothing);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_async);
    tcase_add_test(tc, test_artifacts);
    tcase_add_test(tc, test_datasets);
    tcase_add_test(tc, test_search_filters);
    tcase_add_test(tc, test_search_order_and_pages);
    tcase_add_test(tc, test_search_malformed);
    tcase_add_test(tc, test_run_list_get);
    tcase_add_test(tc, test_mlflow_roundtrip);
    tcase_add_test(tc, test_alloc_failures);
    tcase_add_test(tc, test_file_backend);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(run_suite()) == 0 ? 0 : 1;
}

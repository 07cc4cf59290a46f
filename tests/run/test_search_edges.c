/* SPDX-License-Identifier: MIT */
/* Edges of run search: every attribute as a filter and as an order key,
 * nested and deleted runs, the rarer operators, bad options (A1, X5), the
 * list getters out of range, and every allocation of a search failing in
 * turn (I10). RELIABILITY.md ids in comments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* r3 has the tag note = "'quoted", the others "Mixed Case".
 * r0 "alpha" in e1, FINISHED at 5000; r1 "beta", child of r0, FAILED at 3000;
 * r2 "gamma" in e2, running, deleted; r3 "delta" in e2, running. */
typedef struct fixture {
    mlops_store *s;
    char ids[4][33];
    char e1[16], e2[16];
} fixture;

static void fx_open(fixture *f, mlops_env *env)
{
    tu_assert_ok(mlops_store_open(&f->s, env, "mem:", NULL));
    char *e1 = NULL, *e2 = NULL;
    tu_assert_ok(mlops_experiment_create(&e1, f->s, "e1"));
    tu_assert_ok(mlops_experiment_create(&e2, f->s, "e2"));
    snprintf(f->e1, sizeof(f->e1), "%s", e1);
    snprintf(f->e2, sizeof(f->e2), "%s", e2);
    static const char *names[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 4; i++) {
        mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
        o.name = names[i];
        o.start_ms = 1000 + i;
        o.flags = MLOPS_RUN_NO_ENVIRONMENT;
        o.parent_run_id = i == 1 ? f->ids[0] : NULL;
        mlops_run *r = NULL;
        tu_assert_ok(mlops_run_create(&r, f->s, i < 2 ? e1 : e2, &o));
        memcpy(f->ids[i], mlops_run_id(r), 33);
        tu_assert_ok(mlops_run_log_metric(r, "loss", 1.0 / (i + 1), 0));
        tu_assert_ok(mlops_run_log_param(r, "lr", i % 2 ? "0.1" : "0.01"));
        tu_assert_ok(mlops_run_set_tag(r, "note", i == 3 ? "'quoted" : "Mixed Case"));
        tu_assert_ok(mlops_run_log_dataset_bytes(NULL, r, "ds", i < 2 ? "a" : "b", 1, i));
        if (i == 0) {
            tu_assert_ok(mlops_run_set_tag(r, "only0", "x"));
            tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FINISHED, 5000));
        }
        if (i == 1)
            tu_assert_ok(mlops_run_end(r, MLOPS_RUN_FAILED, 3000));
        mlops_run_close(r);
    }
    tu_assert_ok(mlops_run_delete(f->s, f->ids[2]));
    mlops_string_free(env, e1);
    mlops_string_free(env, e2);
}

/* The runs a search returns, as a string of fixture indexes ("013"), or
 * the status name when it fails. */
static const char *found(fixture *f, uint32_t view, const char *filter, const char *order0,
                         const char *order1)
{
    static char buf[64];
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *order[2] = {order0, order1};
    o.view = view;
    o.filter = filter;
    o.order_by = order;
    o.n_order_by = order1 ? 2 : order0 ? 1 : 0;
    mlops_run_list *l = NULL;
    mlops_status st = mlops_run_search(&l, f->s, &o);
    if (st != MLOPS_OK) {
        ck_assert_ptr_null(l);
        snprintf(buf, sizeof(buf), "%s", mlops_status_name(st));
        return buf;
    }
    size_t n = mlops_run_list_count(l);
    for (size_t i = 0; i < n; i++) {
        const char *id = mlops_run_list_text(l, i, MLOPS_RUN_FIELD_ID);
        buf[i] = '?';
        for (int j = 0; j < 4; j++)
            if (strcmp(f->ids[j], id) == 0)
                buf[i] = (char)('0' + j);
    }
    buf[n] = 0;
    mlops_run_list_free(l);
    return buf;
}

#define ALL MLOPS_VIEW_ALL

START_TEST(test_attribute_filters)
{
    fixture f;
    fx_open(&f, NULL);
    char q[200];
    /* default order: start_time DESC; the deleted run only in views that ask */
    ck_assert_str_eq(found(&f, 0, NULL, NULL, NULL), "310");
    ck_assert_str_eq(found(&f, ALL, NULL, NULL, NULL), "3210");
    ck_assert_str_eq(found(&f, ALL, "attributes.lifecycle_stage = 'deleted'", NULL, NULL), "2");
    ck_assert_str_eq(found(&f, ALL, "attributes.lifecycle_stage <> 'deleted'", NULL, NULL),
                     "310");
    ck_assert_str_eq(found(&f, ALL, "attributes.end_time <= 3000", NULL, NULL), "321");
    ck_assert_str_eq(found(&f, ALL, "attributes.end_time > 3000", NULL, NULL), "0");
    ck_assert_str_eq(found(&f, ALL, "run.created < 1002", NULL, NULL), "10");
    snprintf(q, sizeof(q), "attributes.parent_run_id = '%s'", f.ids[0]);
    ck_assert_str_eq(found(&f, ALL, q, NULL, NULL), "1");
    ck_assert_str_eq(found(&f, ALL, "attributes.parent_run_id = ''", NULL, NULL), "320");
    /* status: = is case-insensitive as in MLflow; LIKE compares the name */
    ck_assert_str_eq(found(&f, ALL, "attributes.status = 'finished'", NULL, NULL), "0");
    ck_assert_str_eq(found(&f, ALL, "attributes.status LIKE 'F%'", NULL, NULL), "10");
    ck_assert_str_eq(found(&f, ALL, "attributes.status IN ('RUNNING', 'FAILED')", NULL, NULL),
                     "321");
    snprintf(q, sizeof(q), "attributes.experiment_id = '%s' AND attr.run_name != 'beta'", f.e1);
    ck_assert_str_eq(found(&f, ALL, q, NULL, NULL), "0");
    /* LIKE: runs of '%' collapse, '_' is one character, ILIKE folds ASCII case */
    ck_assert_str_eq(found(&f, 0, "tags.note LIKE '%%Case%%'", NULL, NULL), "10");
    ck_assert_str_eq(found(&f, 0, "tags.note LIKE 'Mixed_Case%%%'", NULL, NULL), "10");
    ck_assert_str_eq(found(&f, 0, "tags.note ILIKE 'MIXED CASE'", NULL, NULL), "10");
    ck_assert_str_eq(found(&f, 0, "tags.note LIKE 'mixed case'", NULL, NULL), "");
    ck_assert_str_eq(found(&f, 0, "tags.note LIKE '%x'", NULL, NULL), "");
    /* a doubled quote inside a quoted value is one quote */
    ck_assert_str_eq(found(&f, 0, "tags.note = '''quoted'", NULL, NULL), "3");
    ck_assert_str_eq(found(&f, 0, "tags.note = \"'quoted\"", NULL, NULL), "3");
    /* datasets: name, digest, rows; any of the run's datasets may match */
    ck_assert_str_eq(found(&f, 0, "datasets.rows <= 1 AND datasets.name = 'ds'", NULL, NULL),
                     "10");
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_list_get(&l, f.s, f.ids[3]));
    snprintf(q, sizeof(q), "dataset.digest = '%s'",
             mlops_run_list_item_value(l, 0, MLOPS_ITEM_DATASET, 0));
    mlops_run_list_free(l);
    ck_assert_str_eq(found(&f, ALL, q, NULL, NULL), "32");
    /* blanks of every kind between tokens; key characters '/', ':' and '+' */
    ck_assert_str_eq(found(&f, 0, "\tmetrics.loss\r\n>=\n0.5 ", NULL, NULL), "10");
    ck_assert_str_eq(found(&f, 0, "params.a/b:c+d IS NULL", NULL, NULL), "310");
    ck_assert_str_eq(found(&f, 0, "metrics.loss = 1e0", NULL, NULL), "0");
    mlops_store_close(f.s);
}
END_TEST

START_TEST(test_order_keys)
{
    fixture f;
    fx_open(&f, NULL);
    /* every attribute can order; ties fall back to start_time DESC */
    ck_assert_str_eq(found(&f, ALL, NULL, "attributes.experiment_id DESC", NULL), "3210");
    ck_assert_str_eq(found(&f, ALL, NULL, "experiment_id", NULL), "1032");
    ck_assert_str_eq(found(&f, ALL, NULL, "attributes.parent_run_id DESC", NULL), "1320");
    ck_assert_str_eq(found(&f, ALL, NULL, "status", "run_name"), "1032");
    ck_assert_str_eq(found(&f, ALL, NULL, "lifecycle_stage DESC", NULL), "2310");
    ck_assert_str_eq(found(&f, ALL, NULL, "end_time", NULL), "3210");
    char by_id[5];
    snprintf(by_id, sizeof(by_id), "%s", found(&f, ALL, NULL, "attributes.run_id", NULL));
    for (int i = 1; i < 4; i++)
        ck_assert_int_lt(strcmp(f.ids[by_id[i - 1] - '0'], f.ids[by_id[i] - '0']), 0);
    ck_assert_str_eq(found(&f, ALL, NULL, "user_id", NULL), "3210");
    /* a missing tag sorts last in both directions */
    ck_assert_str_eq(found(&f, 0, NULL, "tags.only0", NULL), "031");
    ck_assert_str_eq(found(&f, 0, NULL, "tags.only0 DESC", NULL), "031");
    ck_assert_str_eq(found(&f, 0, NULL, "tags.absent", "params.lr DESC"), "310");
    ck_assert_str_eq(found(&f, 0, NULL, "params.lr DESC", "metrics.loss"), "310");
    /* refused order keys name the problem */
    ck_assert_str_eq(found(&f, 0, NULL, "datasets.name", NULL), "MLOPS_E_INVALID");
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "datasets cannot be used in order_by"));
    ck_assert_str_eq(found(&f, 0, NULL, "", NULL), "MLOPS_E_INVALID");
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "invalid order_by at position 1"));
    ck_assert_str_eq(found(&f, 0, NULL, "metrics.loss ASC DESC", NULL), "MLOPS_E_INVALID");
    ck_assert_str_eq(found(&f, 0, NULL, "nonsense", NULL), "MLOPS_E_INVALID");
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "'nonsense' is not an identifier"));
    mlops_store_close(f.s);
}
END_TEST

START_TEST(test_bad_filters)
{
    fixture f;
    fx_open(&f, NULL);
    char longnum[100];
    memset(longnum, '1', 80);
    strcpy(longnum + 80, "");
    char q[200];
    snprintf(q, sizeof(q), "metrics.loss > %s", longnum);
    static const struct {
        const char *filter;
        const char *msg;
    } bad[] = {
        {"attributes.status IS NULL", "IS NULL applies to metrics, params and tags, not status"},
        {"datasets.rows IS NOT NULL", "not rows"},
        {"tags.t IS 'x'", "expected NULL after IS"},
        {"tags.t NOT LIKE 'x'", "expected IN after NOT"},
        {"tags.t ~ 'x'", "expected a comparison operator"},
        {"attributes.end_time = 'x'", "expected a number"},
        {"attributes.start_time > 1.5.2", "expected a number, found '1.5.2'"},
        {"attributes.run_name < 'x'", "run_name is text"},
        {"metrics.loss IN (1)", "loss is numeric"},
        {"tags.`unterminated = 'x'", "unterminated quoted text starting with `"},
        {"tags.\"k = 'x'", "unterminated quoted text starting with \""},
        {"tags.t IN ('a',", "expected a quoted string"},
        {"unknownentity.x = 'a'", "unknown entity 'unknownentity'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_str_eq(found(&f, 0, bad[i].filter, NULL, NULL), "MLOPS_E_INVALID");
        ck_assert_msg(strstr(mlops_error_message(), bad[i].msg) != NULL, "'%s': %s",
                      bad[i].filter, mlops_error_message());
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "invalid filter at position"));
    }
    ck_assert_str_eq(found(&f, 0, q, NULL, NULL), "MLOPS_E_INVALID");
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "expected a number"));
    /* a quoted key may hold any character */
    ck_assert_str_eq(found(&f, 0, "tags.`a b` IS NULL AND params.\"x\"\"y\" IS NULL", NULL,
                           NULL),
                     "310");
    mlops_store_close(f.s);
}
END_TEST

START_TEST(test_bad_options)
{
    fixture f;
    fx_open(&f, NULL);
    mlops_run_list *l = (mlops_run_list *)&f;
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    /* A1: NULLs */
    tu_assert_st(mlops_run_search(NULL, f.s, &o), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_search(&l, NULL, &o), MLOPS_E_INVALID);
    ck_assert_ptr_null(l);
    tu_assert_ok(mlops_run_search(&l, f.s, NULL)); /* default options */
    ck_assert_uint_eq(mlops_run_list_count(l), 3);
    mlops_run_list_free(l);
    /* X5: unknown versions */
    o.version = 0;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_VERSION);
    o.version = MLOPS_SEARCH_OPTIONS_VERSION + 1;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_VERSION);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "version 2"));
    o.version = MLOPS_SEARCH_OPTIONS_VERSION;
    o.view = 4;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "view 4"));
    o.view = 0;
    /* N12: counts without arrays, too many keys */
    const char *keys[17];
    for (int i = 0; i < 17; i++)
        keys[i] = "metrics.loss";
    o.order_by = keys;
    o.n_order_by = 17;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "17 order_by keys"));
    o.n_order_by = 16;
    tu_assert_ok(mlops_run_search(&l, f.s, &o));
    mlops_run_list_free(l);
    o.order_by = NULL;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "NULL array with a count"));
    o.n_order_by = 0;
    o.n_experiment_ids = 1;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_INVALID);
    /* A1: NULL elements are refused (order) or match nothing (experiments),
     * never dereferenced */
    const char *exps[] = {NULL, f.e2};
    o.experiment_ids = exps;
    o.n_experiment_ids = 2;
    tu_assert_ok(mlops_run_search(&l, f.s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 1);
    mlops_run_list_free(l);
    o.n_experiment_ids = 1;
    tu_assert_ok(mlops_run_search(&l, f.s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 0);
    mlops_run_list_free(l);
    o.n_experiment_ids = 0;
    const char *nullkey[] = {NULL};
    o.order_by = nullkey;
    o.n_order_by = 1;
    tu_assert_st(mlops_run_search(&l, f.s, &o), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "order_by"));

    /* run_list_get */
    tu_assert_st(mlops_run_list_get(NULL, f.s, f.ids[0]), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_list_get(&l, NULL, f.ids[0]), MLOPS_E_INVALID);
    tu_assert_st(mlops_run_list_get(&l, f.s, NULL), MLOPS_E_INVALID);
    ck_assert_ptr_null(l);

    /* getters: NULL lists, indexes and kinds out of range */
    tu_assert_ok(mlops_run_list_get(&l, f.s, f.ids[1]));
    ck_assert_str_eq(mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_PARENT_ID), f.ids[0]);
    ck_assert_ptr_nonnull(mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_USER));
    ck_assert_ptr_null(mlops_run_list_text(l, 0, 0));
    ck_assert_ptr_null(mlops_run_list_text(l, 0, 6));
    uint32_t status = 0, lc = 0;
    int64_t start = 0, end = 0;
    tu_assert_ok(mlops_run_list_info(&status, &lc, &start, &end, l, 0));
    ck_assert(status == MLOPS_RUN_FAILED && lc == MLOPS_LIFECYCLE_ACTIVE);
    ck_assert(start == 1001 && end == 3000);
    tu_assert_ok(mlops_run_list_info(NULL, NULL, NULL, NULL, l, 0));
    ck_assert_ptr_null(mlops_run_list_next_page_token(l));
    ck_assert_uint_eq(mlops_run_list_item_count(l, 0, 0), 0);
    ck_assert_uint_eq(mlops_run_list_item_count(l, 0, 5), 0);
    ck_assert_uint_eq(mlops_run_list_item_count(l, 1, MLOPS_ITEM_PARAM), 0);
    ck_assert_ptr_null(mlops_run_list_item_key(l, 0, MLOPS_ITEM_PARAM, 1));
    ck_assert_ptr_null(mlops_run_list_metric(l, 0, 1));
    const mlops_metric_value *m = mlops_run_list_metric(l, 0, 0);
    ck_assert_ptr_nonnull(m);
    ck_assert(m->value == 0.5);
    ck_assert_int_eq(mlops_run_list_dataset_rows(l, 0, 0), 1);
    ck_assert_int_eq(mlops_run_list_dataset_rows(l, 0, 1), -1);
    mlops_run_list_free(l);
    ck_assert_uint_eq(mlops_run_list_count(NULL), 0);
    ck_assert_ptr_null(mlops_run_list_next_page_token(NULL));
    ck_assert_ptr_null(mlops_run_list_text(NULL, 0, MLOPS_RUN_FIELD_ID));
    tu_assert_st(mlops_run_list_info(NULL, NULL, NULL, NULL, NULL, 0), MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_run_list_item_count(NULL, 0, MLOPS_ITEM_TAG), 0);
    ck_assert_ptr_null(mlops_run_list_item_value(NULL, 0, MLOPS_ITEM_TAG, 0));
    ck_assert_ptr_null(mlops_run_list_metric(NULL, 0, 0));
    ck_assert_int_eq(mlops_run_list_dataset_rows(NULL, 0, 0), -1);
    mlops_run_list_free(NULL);
    mlops_store_close(f.s);
}
END_TEST

/* Many runs with long tag values: the string arena takes several blocks. */
START_TEST(test_large_values)
{
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "mem:", NULL));
    char *val = malloc(5001);
    memset(val, 'v', 5000);
    val[5000] = 0;
    for (int i = 0; i < 30; i++) {
        mlops_run_options o = MLOPS_RUN_OPTIONS_INIT;
        o.flags = MLOPS_RUN_NO_ENVIRONMENT;
        o.start_ms = 1 + i;
        mlops_run *r = NULL;
        tu_assert_ok(mlops_run_create(&r, s, NULL, &o));
        val[0] = (char)('a' + i % 26);
        tu_assert_ok(mlops_run_set_tag(r, "big", val));
        mlops_run_close(r);
    }
    mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
    const char *order[] = {"tags.big"};
    o.order_by = order;
    o.n_order_by = 1;
    o.filter = "tags.big LIKE 'a%'";
    mlops_run_list *l = NULL;
    tu_assert_ok(mlops_run_search(&l, s, &o));
    ck_assert_uint_eq(mlops_run_list_count(l), 2); /* runs 0 and 26 */
    const char *v = mlops_run_list_item_value(l, 0, MLOPS_ITEM_TAG, 0);
    ck_assert_uint_eq(strlen(v), 5000);
    ck_assert_int_eq(v[0], 'a');
    mlops_run_list_free(l);
    free(val);
    mlops_store_close(s);
}
END_TEST

/* I10: every allocation of a search failing once gives MLOPS_E_NOMEM or the
 * same answer as without failures (never a silently different one), and
 * leaks nothing. The filter starts a quoted value with a doubled quote. */
START_TEST(test_alloc_failures)
{
    const char *filter = "tags.note IN ('''quoted', 'x''y') AND (metrics.loss < 1 OR "
                         "params.`lr` LIKE '0.%') AND attributes.run_name != 'x'";
    const char *order[] = {"params.lr DESC", "metrics.loss"};
    char want[64] = "";
    int refused = 0;
    for (long k = 0;; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        fixture f;
        fx_open(&f, env);
        a.calls = 0;
        a.fail_at = k;
        mlops_search_options o = MLOPS_SEARCH_OPTIONS_INIT;
        o.filter = filter;
        o.order_by = order;
        o.n_order_by = 2;
        o.view = ALL;
        mlops_run_list *l = NULL;
        mlops_status st = mlops_run_search(&l, f.s, &o);
        char got[64] = "";
        if (st == MLOPS_OK) {
            for (size_t i = 0; i < mlops_run_list_count(l); i++)
                strcat(got, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_NAME));
            mlops_run_list_free(l);
        }
        long failures = a.failures;
        a.fail_at = 0;
        mlops_store_close(f.s);
        mlops_env_free(env);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks leaked", k, a.live);
        if (k == 0) {
            tu_assert_ok(st);
            strcpy(want, got);
            ck_assert_str_eq(want, "delta");
            continue;
        }
        if (failures == 0)
            break;
        ck_assert_msg(st == MLOPS_E_NOMEM || (st == MLOPS_OK && strcmp(got, want) == 0),
                      "allocation %ld: %s, runs '%s'", k, mlops_status_name(st), got);
        refused += st == MLOPS_E_NOMEM;
    }
    ck_assert_int_gt(refused, 5);
}
END_TEST

static Suite *search_suite(void)
{
    Suite *s = suite_create("search-edges");
    TCase *tc = tcase_create("search-edges");
    tcase_add_test(tc, test_attribute_filters);
    tcase_add_test(tc, test_order_keys);
    tcase_add_test(tc, test_bad_filters);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_large_values);
    tcase_add_test(tc, test_alloc_failures);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(search_suite());
}

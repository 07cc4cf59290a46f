/* SPDX-License-Identifier: MIT */
/* Fuzz the run-search filter and order-by parsers (F13, N-catalogue):
 * mlops_run_search() on a small store of runs with an arbitrary filter
 * (before the first newline) and order-by clauses (the lines after it).
 * Every input gives MLOPS_OK or MLOPS_E_INVALID, never a crash or leak;
 * a filter that parses returns a subset of the runs. */
#include "fuzz_common.h"

static mlops_store *store;
static fz_alloc counts;
static mlops_env *env;

static void setup(void)
{
    env = fz_env_new(&counts);
    if (mlops_store_open(&store, env, "mem:", NULL) != MLOPS_OK)
        abort();
    static const char *const names[] = {"baseline", "tuned", "x'y\"z"};
    for (int i = 0; i < 3; i++) {
        mlops_run_options o;
        mlops_run_options_init(&o, MLOPS_RUN_OPTIONS_VERSION);
        o.flags = MLOPS_RUN_NO_SYSTEM_TAGS | MLOPS_RUN_NO_ENVIRONMENT;
        o.name = names[i];
        mlops_run *r = NULL;
        if (mlops_run_create(&r, store, NULL, &o) != MLOPS_OK)
            abort();
        char v[32];
        snprintf(v, sizeof(v), "%g", 0.1 * (i + 1));
        mlops_run_log_param(r, "lr", v);
        mlops_run_set_tag(r, "team", i ? "growth" : "core");
        mlops_run_log_metric(r, "acc", 0.5 + 0.1 * i, 0);
        mlops_run_log_metric(r, "loss", i == 2 ? 0.0 / 0.0 : 1.0 / (i + 1), 0);
        if (i == 1)
            mlops_run_end(r, MLOPS_RUN_FINISHED, 0);
        mlops_run_close(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL)
        setup();
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    const char *order[4];
    size_t n_order = 0;
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        char *p = nl + 1;
        while (p && n_order < 4) {
            order[n_order++] = p;
            char *e = strchr(p, '\n');
            if (e)
                *e++ = '\0';
            p = e;
        }
    }
    mlops_search_options so;
    mlops_search_options_init(&so, MLOPS_SEARCH_OPTIONS_VERSION);
    so.view = MLOPS_VIEW_ALL;
    so.filter = text;
    so.order_by = n_order ? order : NULL;
    so.n_order_by = n_order;
    long live = atomic_load(&counts.live);
    mlops_run_list *l = NULL;
    mlops_status st = mlops_run_search(&l, store, &so);
    FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_INVALID || st == MLOPS_E_TOOBIG,
               "search gave %d", st);
    if (st == MLOPS_OK)
        FUZZ_CHECK(mlops_run_list_count(l) <= 3, "search found %zu runs of 3",
                   mlops_run_list_count(l));
    else
        FUZZ_CHECK(l == NULL && mlops_error_message()[0] != '\0', "failure without message");
    mlops_run_list_free(l);
    FUZZ_CHECK(atomic_load(&counts.live) == live, "search leaked %ld blocks",
               atomic_load(&counts.live) - live);
    free(text);
    return 0;
}

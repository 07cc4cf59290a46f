/* SPDX-License-Identifier: MIT */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void *tu_malloc(size_t size, void *payload)
{
    tu_alloc *a = payload;
    a->calls++;
    if (a->fail_at > 0 && (a->calls == a->fail_at || (a->persistent && a->calls > a->fail_at))) {
        a->failures++;
        return NULL;
    }
    void *p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static void *tu_realloc(void *ptr, size_t size, void *payload)
{
    tu_alloc *a = payload;
    a->calls++;
    if (a->fail_at > 0 && (a->calls == a->fail_at || (a->persistent && a->calls > a->fail_at))) {
        a->failures++;
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && ptr == NULL)
        a->live++;
    return p;
}

static void tu_free(void *ptr, void *payload)
{
    tu_alloc *a = payload;
    if (ptr) {
        a->live--;
        free(ptr);
    }
}

static int64_t tu_now(void *payload)
{
    return ((tu_clock *)payload)->now_ns;
}

mlops_env *tu_env_new(tu_alloc *a, tu_clock *clk)
{
    mlops_env_options o;
    mlops_env_options_init(&o, MLOPS_ENV_OPTIONS_VERSION);
    if (a) {
        o.malloc_fn = tu_malloc;
        o.realloc_fn = tu_realloc;
        o.free_fn = tu_free;
        o.alloc_payload = a;
    }
    if (clk) {
        o.clock_fn = tu_now;
        o.clock_payload = clk;
    }
    mlops_env *env = NULL;
    /* the env itself is allocated through the hooks: do not count a failure here */
    long saved = a ? a->fail_at : 0;
    if (a)
        a->fail_at = 0;
    mlops_status st = mlops_env_create(&env, &o);
    if (a) {
        a->fail_at = saved;
        a->calls = 0; /* count from the first allocation after the env */
    }
    ck_assert_msg(st == MLOPS_OK, "env: %s", mlops_error_message());
    return env;
}

char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/mlops-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* The unchanged store conformance suite (tests/store/conformance.c) on the
 * PostgreSQL and Redis backends. Each store the suite asks for gets its own
 * schema or key prefix derived from the suite's name for it. Skipped, with
 * the reason printed, when the servers' URIs are not set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlops_config.h"
#include "servers_util.h"
#include "store/conformance.h"

/* conformance names look like "conf-<pid>-<n>": make them identifiers */
static void ident(char *out, size_t cap, const char *name)
{
    size_t j = 0;
    for (const char *p = "c_"; *p && j + 1 < cap; p++)
        out[j++] = *p;
    for (size_t i = 0; name[i] && j + 1 < cap; i++) {
        char c = name[i];
        out[j++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
    }
    out[j] = '\0';
}

static mlops_status open_server(mlops_store **out, mlops_env *env, void *ctx, const char *name,
                                int fresh)
{
    int kind = *(const int *)ctx;
    char id[96], uri[1024];
    ident(id, sizeof(id), name);
    if (fresh)
        sv_drop(kind, id); /* a leftover from an earlier run must not leak in */
    const char *base = sv_base_uri(kind);
    const char *sep = strchr(base, '?') ? "&" : "?";
    if (kind == SV_PG)
        snprintf(uri, sizeof(uri), "%s%smlops_schema=%s&application_name=%s", base, sep, id, id);
    else
        snprintf(uri, sizeof(uri), "%s%sprefix=%s:&client_name=%s", base, sep, id, id);
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    if (!fresh)
        o.flags = MLOPS_STORE_NOCREATE;
    return mlops_store_open(out, env, uri, &o);
}

static void cleanup(int kind)
{
    if (kind == SV_PG) {
        free(sv_admin(SV_PG,
                      "DO $$ DECLARE s text; BEGIN FOR s IN SELECT nspname FROM pg_namespace "
                      "WHERE nspname LIKE 'c\\_conf\\_%' LOOP EXECUTE format('DROP SCHEMA %I "
                      "CASCADE', s); END LOOP; END $$"));
    } else {
        sv_drop(SV_REDIS, "c_conf_*");
    }
}

int main(void)
{
    static const char *const names[SV__COUNT] = {"postgres", "redis"};
    static const int built[SV__COUNT] = {MLOPS_HAVE_POSTGRES, MLOPS_HAVE_REDIS};
    static const char *const vars[SV__COUNT] = {"MLOPS_TEST_PG_URI", "MLOPS_TEST_REDIS_URI"};
    static int kinds[SV__COUNT] = {SV_PG, SV_REDIS};
    int failed = 0, ran = 0;
    for (int k = 0; k < SV__COUNT; k++) {
        if (!built[k]) {
            printf("SKIP %s conformance: the backend is not built\n", names[k]);
            continue;
        }
        if (sv_base_uri(k) == NULL) {
            printf("SKIP %s conformance: %s is not set (run scripts/servers start and "
                   "source build-servers/env.sh)\n",
                   names[k], vars[k]);
            continue;
        }
        conf_backend b = {names[k], open_server, &kinds[k], CONF_PERSISTENT | CONF_MULTIPROCESS};
        SRunner *sr = srunner_create(conf_suite(&b));
        srunner_run_all(sr, CK_NORMAL);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
        cleanup(k);
        ran++;
    }
    if (ran == 0)
        return 77;
    return failed == 0 ? 0 : 1;
}

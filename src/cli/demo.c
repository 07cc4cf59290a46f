/* SPDX-License-Identifier: MIT */
/* `mlops demo`: the main job, an end-to-end walk through the lifecycle. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static const char demo_help[] =
    "usage: mlops demo [--workdir DIR]\n"
    "\n"
    "Walk through the ML lifecycle on the store (default ./mlops-data):\n"
    "features -> training run -> registry with a gate -> drift -> canary rollout.\n"
    "Files the demo writes (CSV inputs, a model) go to DIR (default: a new\n"
    "directory under /tmp). Running it again adds another run.\n";

int cli_cmd_demo(cli_ctx *ctx, int argc, char **argv)
{
    const char *workdir = NULL;
    cli_optdef defs[] = {{"--workdir", NULL, true, &workdir, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(demo_help, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    free(pos);
    if (npos != 0)
        return cli_usage(ctx, "demo takes no arguments");

    char tmpl[] = "/tmp/mlops-demo-XXXXXX";
    if (workdir == NULL) {
        workdir = mkdtemp(tmpl);
        if (workdir == NULL)
            return cli_error(ctx, "cannot create a scratch directory under /tmp");
    } else if (mkdir(workdir, 0755) != 0) {
        struct stat sb;
        if (stat(workdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return cli_error(ctx, "cannot create the directory '%s'", workdir);
    }
    cli_demo_state st;
    memset(&st, 0, sizeof(st));
    st.workdir = workdir;
    printf("libmlops %s demo\n", mlops_version_string());
    printf("store: %s\nscratch files: %s\n\n", ctx->store_uri, workdir);
    fflush(stdout);
    int (*steps[])(cli_ctx *, cli_demo_state *) = {
        cli_demo_store,    cli_demo_features, cli_demo_tracking,
        cli_demo_registry, cli_demo_drift,    cli_demo_rollout,
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        rc = steps[i](ctx, &st);
        fflush(stdout);
        if (rc != CLI_OK)
            return rc;
    }
    printf("\ndemo finished\n");
    return CLI_OK;
}

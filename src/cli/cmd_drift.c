/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_drift[] = "usage: mlops drift <verb> ...\n";

int cli_cmd_drift(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'drift' has no verbs in this build yet");
}

int cli_demo_drift(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


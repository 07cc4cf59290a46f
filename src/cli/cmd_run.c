/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_experiments[] = "usage: mlops experiments <verb> ...\n";

int cli_cmd_experiments(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'experiments' has no verbs in this build yet");
}

const char cli_help_runs[] = "usage: mlops runs <verb> ...\n";

int cli_cmd_runs(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'runs' has no verbs in this build yet");
}

const char cli_help_artifacts[] = "usage: mlops artifacts <verb> ...\n";

int cli_cmd_artifacts(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'artifacts' has no verbs in this build yet");
}

int cli_demo_tracking(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


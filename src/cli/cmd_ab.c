/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_ab[] = "usage: mlops ab <verb> ...\n";

int cli_cmd_ab(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'ab' has no verbs in this build yet");
}

const char cli_help_rollout[] = "usage: mlops rollout <verb> ...\n";

int cli_cmd_rollout(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'rollout' has no verbs in this build yet");
}

int cli_demo_rollout(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


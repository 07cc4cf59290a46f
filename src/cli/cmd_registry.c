/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_models[] = "usage: mlops models <verb> ...\n";

int cli_cmd_models(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'models' has no verbs in this build yet");
}

int cli_demo_registry(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


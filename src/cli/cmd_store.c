/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_store[] = "usage: mlops store <verb> ...\n";

int cli_cmd_store(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'store' has no verbs in this build yet");
}

int cli_demo_store(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


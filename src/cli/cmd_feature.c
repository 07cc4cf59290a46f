/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"

const char cli_help_features[] = "usage: mlops features <verb> ...\n";

int cli_cmd_features(cli_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage(ctx, "'features' has no verbs in this build yet");
}

int cli_demo_features(cli_ctx *ctx, cli_demo_state *st)
{
    (void)ctx;
    (void)st;
    return CLI_OK;
}


/* SPDX-License-Identifier: MIT */
/* `mlops <noun> <verb> ...`: global options, dispatch and help. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char usage_text[] =
    "usage: mlops [--store URI] [--online-store URI] [--json] <command> [args]\n"
    "\n"
    "Commands:\n"
    "  demo          an end-to-end walk through the ML lifecycle on the embedded store\n"
    "  store         info, check and compact a store\n"
    "  experiments   create, list, rename, delete and restore experiments\n"
    "  runs          start runs, log params/metrics/tags/artifacts, search, compare, export\n"
    "  artifacts     list and fetch run artifacts\n"
    "  models        the model registry: register, promote, alias, rollback, history\n"
    "  features      feature views, ingest, point-in-time joins, the online store\n"
    "  drift         profiles, drift comparison (PSI, KS, chi-squared...), monitors\n"
    "  ab            sticky assignment, sample sizes and A/B analysis\n"
    "  rollout       canary and shadow rollouts with rollback triggers\n"
    "\n"
    "Global options (accepted anywhere on the line):\n"
    "  --store URI          the store (default ./mlops-data, or $MLOPS_STORE): a path,\n"
    "                       file:PATH, mem:, postgresql://..., redis://...\n"
    "  --online-store URI   the online feature store (or $MLOPS_ONLINE_STORE)\n"
    "  --json               machine-readable output on commands that print data\n"
    "  --version            print the library version\n"
    "  -h, --help           help; `mlops <command> --help` for a command\n"
    "\n"
    "Exit status: 0 success, 1 the operation failed, 2 usage error.\n";

typedef struct noun {
    const char *name;
    int (*fn)(cli_ctx *, int, char **);
} noun;

static const noun nouns[] = {
    {"demo", cli_cmd_demo},
    {"store", cli_cmd_store},
    {"experiments", cli_cmd_experiments},
    {"runs", cli_cmd_runs},
    {"artifacts", cli_cmd_artifacts},
    {"models", cli_cmd_models},
    {"features", cli_cmd_features},
    {"drift", cli_cmd_drift},
    {"ab", cli_cmd_ab},
    {"rollout", cli_cmd_rollout},
};

int main(int argc, char **argv)
{
    cli_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "mlops";
    ctx.store_uri = getenv("MLOPS_STORE");
    if (ctx.store_uri == NULL || ctx.store_uri[0] == '\0')
        ctx.store_uri = "./mlops-data";
    ctx.online_store_uri = getenv("MLOPS_ONLINE_STORE");
    if (ctx.online_store_uri != NULL && ctx.online_store_uri[0] == '\0')
        ctx.online_store_uri = NULL;

    /* Pull the global options out wherever they are; the rest is the command. */
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    if (rest == NULL) {
        fprintf(stderr, "mlops: out of memory\n");
        return CLI_FAILED;
    }
    int nrest = 0;
    bool want_help = false, want_version = false, ended = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (ended) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            ended = true;
            rest[nrest++] = argv[i];
        } else if (strcmp(a, "--json") == 0) {
            ctx.json = true;
        } else if (strcmp(a, "--store") == 0 || strcmp(a, "--online-store") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mlops: %s needs a value\nTry 'mlops --help'.\n", a);
                free(rest);
                return CLI_USAGE;
            }
            if (a[2] == 's')
                ctx.store_uri = argv[++i];
            else
                ctx.online_store_uri = argv[++i];
        } else if (strncmp(a, "--store=", 8) == 0) {
            ctx.store_uri = a + 8;
        } else if (strncmp(a, "--online-store=", 15) == 0) {
            ctx.online_store_uri = a + 15;
        } else if (nrest == 0 && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            want_help = true;
        } else if (nrest == 0 && strcmp(a, "--version") == 0) {
            want_version = true;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int rc;
    if (want_version) {
        if (ctx.json)
            printf("{\"version\": \"%s\", \"header_version\": \"%s\"}\n", mlops_version_string(),
                   MLOPS_VERSION_STRING);
        else
            printf("mlops %s (libmlops %s)\n", MLOPS_VERSION_STRING, mlops_version_string());
        rc = CLI_OK;
    } else if (want_help) {
        fputs(usage_text, stdout);
        rc = CLI_OK;
    } else if (nrest == 0) {
        fputs(usage_text, stderr);
        rc = CLI_USAGE;
    } else {
        const noun *found = NULL;
        for (size_t i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++) {
            if (strcmp(rest[0], nouns[i].name) == 0)
                found = &nouns[i];
        }
        if (found == NULL) {
            fprintf(stderr, "mlops: unknown command '%s'\nTry 'mlops --help'.\n", rest[0]);
            rc = CLI_USAGE;
        } else {
            rc = found->fn(&ctx, nrest - 1, rest + 1);
        }
    }
    mlops_store_close(ctx.store);
    mlops_env_free(ctx.env);
    free(rest);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = CLI_FAILED;
    return rc;
}

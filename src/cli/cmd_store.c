/* SPDX-License-Identifier: MIT */
/* `mlops store info|check|compact`. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char cli_help_store[] =
    "usage: mlops store <verb> [--json]\n"
    "\n"
    "  info      backend, format version, keys, records, blobs and bytes\n"
    "  check     verify every record checksum and every blob, read-only;\n"
    "            exit 1 with one line per problem when something is corrupt\n"
    "  compact   rewrite the store without overwritten and deleted records\n"
    "\n"
    "The store is --store URI (default ./mlops-data, or $MLOPS_STORE). info and\n"
    "check never create or repair anything.\n";

/* Open the store for a verb: read-only for info and check, never created. */
static mlops_status open_for(cli_ctx *ctx, bool writable)
{
    if (ctx->store != NULL)
        return MLOPS_OK;
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.flags = MLOPS_STORE_NOCREATE | (writable ? 0 : MLOPS_STORE_READONLY);
    return mlops_store_open(&ctx->store, ctx->env, ctx->store_uri, &o);
}

static int print_info(cli_ctx *ctx, const mlops_store_info_data *in)
{
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "uri");
        json_str(&j, ctx->store_uri);
        json_key(&j, "backend");
        json_str(&j, in->backend);
        json_key(&j, "format_version");
        json_u64(&j, in->format_version);
        json_key(&j, "keys");
        json_u64(&j, in->keys);
        json_key(&j, "records");
        json_u64(&j, in->records);
        json_key(&j, "blobs");
        json_u64(&j, in->blobs);
        json_key(&j, "bytes");
        json_u64(&j, in->bytes);
        json_key(&j, "blob_bytes");
        json_u64(&j, in->blob_bytes);
        json_obj_end(&j);
        json_end(&j);
        return CLI_OK;
    }
    printf("store:          %s\n", ctx->store_uri);
    printf("backend:        %s\n", in->backend);
    printf("format version: %u\n", in->format_version);
    printf("keys:           %llu\n", (unsigned long long)in->keys);
    printf("records:        %llu\n", (unsigned long long)in->records);
    printf("blobs:          %llu\n", (unsigned long long)in->blobs);
    printf("bytes:          %llu\n", (unsigned long long)in->bytes);
    printf("blob bytes:     %llu\n", (unsigned long long)in->blob_bytes);
    return CLI_OK;
}

static int cmd_info(cli_ctx *ctx)
{
    mlops_status st = open_for(ctx, false);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open store");
    mlops_store_info_data in;
    memset(&in, 0, sizeof(in));
    in.version = MLOPS_STORE_INFO_VERSION;
    st = mlops_store_info(&in, ctx->store);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot read store figures");
    return print_info(ctx, &in);
}

/* Print the report: one problem per line. */
static void print_report(cli_ctx *ctx, bool ok, const char *report)
{
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "uri");
        json_str(&j, ctx->store_uri);
        json_key(&j, "ok");
        json_bool(&j, ok);
        json_key(&j, "problems");
        json_arr_begin(&j);
        for (const char *p = report; p && *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n)
                json_strn(&j, p, n);
            p += n + (nl != NULL);
        }
        json_arr_end(&j);
        json_obj_end(&j);
        json_end(&j);
        return;
    }
    if (ok) {
        printf("ok: every record checksum and blob verified in %s\n", ctx->store_uri);
        return;
    }
    fputs(report, stdout);
    if (report[0] && report[strlen(report) - 1] != '\n')
        fputc('\n', stdout);
}

static int cmd_check(cli_ctx *ctx)
{
    mlops_status st = open_for(ctx, false);
    if (st == MLOPS_E_CORRUPT) {
        /* damage that stops the store from opening is the first problem */
        char line[600];
        snprintf(line, sizeof(line), "%s\n", mlops_error_message());
        print_report(ctx, false, line);
        return cli_fail(ctx, st, "store is corrupt");
    }
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open store");
    char *report = NULL;
    st = mlops_store_check(&report, ctx->store);
    if (st == MLOPS_OK || st == MLOPS_E_CORRUPT)
        print_report(ctx, st == MLOPS_OK, report ? report : "");
    mlops_string_free(ctx->env, report);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, st == MLOPS_E_CORRUPT ? "store is corrupt" : "check failed");
    return CLI_OK;
}

static int cmd_compact(cli_ctx *ctx)
{
    mlops_status st = open_for(ctx, true);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open store");
    mlops_store_info_data before, after;
    memset(&before, 0, sizeof(before));
    before.version = MLOPS_STORE_INFO_VERSION;
    after = before;
    st = mlops_store_info(&before, ctx->store);
    if (st == MLOPS_OK)
        st = mlops_store_compact(ctx->store);
    if (st == MLOPS_OK)
        st = mlops_store_info(&after, ctx->store);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "compaction failed");
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "uri");
        json_str(&j, ctx->store_uri);
        json_key(&j, "records_before");
        json_u64(&j, before.records);
        json_key(&j, "records_after");
        json_u64(&j, after.records);
        json_key(&j, "bytes_before");
        json_u64(&j, before.bytes);
        json_key(&j, "bytes_after");
        json_u64(&j, after.bytes);
        json_key(&j, "keys");
        json_u64(&j, after.keys);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("compacted %s: %llu records -> %llu, %llu bytes -> %llu, %llu live keys\n",
               ctx->store_uri, (unsigned long long)before.records,
               (unsigned long long)after.records, (unsigned long long)before.bytes,
               (unsigned long long)after.bytes, (unsigned long long)after.keys);
    }
    return CLI_OK;
}

int cli_cmd_store(cli_ctx *ctx, int argc, char **argv)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_store, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    if (npos != 1) {
        free(pos);
        return cli_usage(ctx, "'store' needs exactly one verb: info, check or compact");
    }
    const char *verb = pos[0];
    if (strcmp(verb, "info") == 0)
        rc = cmd_info(ctx);
    else if (strcmp(verb, "check") == 0)
        rc = cmd_check(ctx);
    else if (strcmp(verb, "compact") == 0)
        rc = cmd_compact(ctx);
    else
        rc = cli_usage(ctx, "unknown store verb '%s' (info, check, compact)", verb);
    free(pos);
    return rc;
}

int cli_demo_store(cli_ctx *ctx, cli_demo_state *st)
{
    (void)st;
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    mlops_store_info_data in;
    memset(&in, 0, sizeof(in));
    in.version = MLOPS_STORE_INFO_VERSION;
    mlops_status rc = mlops_store_info(&in, s);
    if (rc != MLOPS_OK)
        return cli_fail(ctx, rc, "cannot read store figures");
    printf("== store: %s backend, format %u, %llu keys, %llu blobs\n", in.backend,
           in.format_version, (unsigned long long)in.keys, (unsigned long long)in.blobs);
    return CLI_OK;
}

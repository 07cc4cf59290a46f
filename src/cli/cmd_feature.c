/* SPDX-License-Identifier: MIT */
/* `mlops features ...`: feature views, ingest, point-in-time joins, the online store. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "feature/feature_internal.h"

const char cli_help_features[] =
    "usage: mlops features <verb> ...\n"
    "\n"
    "  apply VIEW --entity COL[:TYPE][,COL...] --timestamp COL [--created COL]\n"
    "        [--ttl SECONDS] --feature NAME:TYPE [--feature ...]\n"
    "        [--on-demand NAME=KIND(INPUTS[;PARAMS])] [--description TEXT] [--tags k=v,...]\n"
    "      define a view or change it (a schema change makes a new version vN).\n"
    "      TYPE: int64, float64, string, bool, float32[DIM]; key types int64 or string.\n"
    "      KIND: log1p(x), ratio(a,b), bucketize(x;b1,b2,...), standardize(x;mean,std)\n"
    "  ingest VIEW FILE.csv\n"
    "      append the rows of a CSV file (RFC 4180, with a header) atomically;\n"
    "      timestamps as epoch seconds (a fraction allowed) or RFC 3339\n"
    "  join ENTITIES.csv REF [REF ...] [-o OUT.csv] [--full-names] [--timestamp COL]\n"
    "       [--as-of-knowledge]\n"
    "      point-in-time join: one output row per input row, input columns kept, one\n"
    "      column per REF (view:feature or view@vN:feature), named feature (or\n"
    "      view__feature with --full-names); null is an empty cell. The entity\n"
    "      timestamp column is 'event_timestamp' or else the first view's timestamp\n"
    "  materialize VIEW [--start TS] [--end TS] [--incremental]\n"
    "      write the latest value per entity in [start, end] to the online store\n"
    "      (default end: now; --incremental starts at the last materialized end)\n"
    "  get REF [REF ...] --key VALUE[,VALUE...] [--key ...]\n"
    "      read entities from the online store (values in join-key order)\n"
    "  list | show VIEW | versions VIEW\n"
    "\n"
    "The online store is --online-store URI (or $MLOPS_ONLINE_STORE); by default a\n"
    "file store beside the main one: <store>-online.\n";

typedef struct fctx {
    cli_ctx *ctx;
    mlops_store *store;
    mlops_feature_store *fs;
    mlops_store *online;
    mlops_feature_online *on;
    char online_uri[1100];
} fctx;

static int fctx_open(fctx *f, cli_ctx *ctx)
{
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    f->store = cli_store(ctx);
    if (f->store == NULL)
        return CLI_FAILED;
    mlops_status st = mlops_feature_store_open(&f->fs, f->store);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open the feature store");
    return CLI_OK;
}

static const char *online_uri(cli_ctx *ctx, char *buf, size_t cap)
{
    if (ctx->online_store_uri)
        return ctx->online_store_uri;
    const char *s = ctx->store_uri;
    if (strcmp(s, "mem:") == 0)
        return "mem:";
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    snprintf(buf, cap, "%.*s-online", (int)n, s);
    return buf;
}

static int fctx_online(fctx *f)
{
    const char *uri = online_uri(f->ctx, f->online_uri, sizeof(f->online_uri));
    mlops_status st = mlops_store_open(&f->online, f->ctx->env, uri, NULL);
    if (st != MLOPS_OK) {
        char what[1200];
        snprintf(what, sizeof(what), "cannot open the online store '%s'", uri);
        return cli_fail(f->ctx, st, what);
    }
    st = mlops_feature_online_open(&f->on, f->fs, f->online);
    if (st != MLOPS_OK)
        return cli_fail(f->ctx, st, "cannot open the online store");
    return CLI_OK;
}

static void fctx_close(fctx *f)
{
    mlops_feature_online_close(f->on);
    mlops_store_close(f->online);
    mlops_feature_store_close(f->fs);
}

static int64_t now_us(cli_ctx *ctx)
{
    return mlops_env_now_ns(ctx->env) / 1000;
}

static void fmt_ts(char *buf, size_t cap, int64_t us)
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t rem = us - secs * 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "%lld", (long long)us);
        return;
    }
    if (rem)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)rem);
    else
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- apply ---- */

/* Split "a,b,c" in place into at most max parts. */
static size_t split(char *s, char sepc, char **parts, size_t max)
{
    size_t n = 0;
    while (s && n < max) {
        parts[n++] = s;
        char *c = strchr(s, sepc);
        if (c == NULL)
            break;
        *c = 0;
        s = c + 1;
    }
    return n;
}

/* NAME=KIND(INPUTS[;PARAMS]) */
static bool parse_on_demand(char *s, mlops_feature_spec *sp, double *params, size_t max_params)
{
    char *eq = strchr(s, '=');
    char *lp = eq ? strchr(eq, '(') : NULL;
    size_t n = strlen(s);
    if (eq == NULL || lp == NULL || n < 2 || s[n - 1] != ')')
        return false;
    *eq = 0;
    *lp = 0;
    s[n - 1] = 0;
    sp->name = s;
    const char *kind = eq + 1;
    if (strcmp(kind, "log1p") == 0)
        sp->transform = MLOPS_TRANSFORM_LOG1P;
    else if (strcmp(kind, "ratio") == 0)
        sp->transform = MLOPS_TRANSFORM_RATIO;
    else if (strcmp(kind, "bucketize") == 0)
        sp->transform = MLOPS_TRANSFORM_BUCKETIZE;
    else if (strcmp(kind, "standardize") == 0)
        sp->transform = MLOPS_TRANSFORM_STANDARDIZE;
    else
        return false;
    char *args = lp + 1;
    char *semi = strchr(args, ';');
    sp->inputs = args;
    sp->params = params;
    sp->n_params = 0;
    if (semi) {
        *semi = 0;
        char *p = semi + 1;
        char *parts[64];
        size_t np = split(p, ',', parts, max_params < 64 ? max_params : 64);
        for (size_t i = 0; i < np; i++)
            if (!cli_parse_f64(parts[i], &params[i]))
                return false;
        sp->n_params = np;
    }
    return true;
}

static int cmd_apply(cli_ctx *ctx, int argc, char **argv)
{
    const char *entity = NULL, *timestamp = NULL, *created = NULL, *ttl = NULL, *desc = NULL,
               *tags = NULL;
    const char **feats = NULL, **ods = NULL;
    size_t n_feats = 0, n_ods = 0;
    cli_optdef defs[] = {{"--entity", NULL, true, &entity, NULL, NULL, NULL},
                         {"--timestamp", NULL, true, &timestamp, NULL, NULL, NULL},
                         {"--created", NULL, true, &created, NULL, NULL, NULL},
                         {"--ttl", NULL, true, &ttl, NULL, NULL, NULL},
                         {"--feature", NULL, true, NULL, NULL, &feats, &n_feats},
                         {"--on-demand", NULL, true, NULL, NULL, &ods, &n_ods},
                         {"--description", NULL, true, &desc, NULL, NULL, NULL},
                         {"--tags", NULL, true, &tags, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    char *strs = NULL;
    mlops_feature_spec *specs = NULL;
    double *params = NULL;
    fctx f = {0};
    if (npos != 1) {
        rc = cli_usage(ctx, "features apply takes one VIEW");
        goto out;
    }
    if (entity == NULL || timestamp == NULL || (n_feats == 0 && n_ods == 0)) {
        rc = cli_usage(ctx, "features apply needs --entity, --timestamp and --feature");
        goto out;
    }
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.timestamp = timestamp;
    o.created = created;
    o.description = desc;
    o.tags = tags;
    if (ttl) {
        double t;
        if (!cli_parse_f64(ttl, &t) || !(t >= 0) || t > 9.2e12) {
            rc = cli_usage(ctx, "--ttl '%s' is not a number of seconds >= 0", ttl);
            goto out;
        }
        o.ttl_us = (int64_t)llround(t * 1e6);
    }
    strs = strdup(entity);
    char *keys[MLOPS_FEATURE_MAX_KEYS + 1];
    uint32_t kt[MLOPS_FEATURE_MAX_KEYS + 1];
    size_t nk = split(strs, ',', keys, MLOPS_FEATURE_MAX_KEYS + 1);
    if (nk > MLOPS_FEATURE_MAX_KEYS) {
        rc = cli_usage(ctx, "at most %d join keys", MLOPS_FEATURE_MAX_KEYS);
        goto out;
    }
    for (size_t i = 0; i < nk; i++) {
        char *c = strchr(keys[i], ':');
        kt[i] = MLOPS_FEATURE_INT64;
        if (c) {
            *c = 0;
            if (strcmp(c + 1, "string") == 0 || strcmp(c + 1, "str") == 0)
                kt[i] = MLOPS_FEATURE_STRING;
            else if (strcmp(c + 1, "int64") != 0 && strcmp(c + 1, "int") != 0) {
                rc = cli_usage(ctx, "join key '%s': type '%s' is not int64 or string", keys[i],
                               c + 1);
                goto out;
            }
        }
    }
    o.join_keys = (const char *const *)keys;
    o.key_types = kt;
    o.n_join_keys = nk;
    specs = calloc(n_feats + n_ods, sizeof(*specs));
    params = calloc((n_ods ? n_ods : 1) * 64, sizeof(double));
    for (size_t i = 0; i < n_feats; i++) {
        char *c = strchr(feats[i], ':');
        if (c == NULL) {
            rc = cli_usage(ctx, "--feature '%s' must be NAME:TYPE", feats[i]);
            goto out;
        }
        *c = 0;
        specs[i].name = feats[i];
        if (!mlops__ftype_parse(c + 1, &specs[i].type, &specs[i].dim)) {
            rc = cli_usage(ctx,
                           "--feature '%s': type '%s' is not int64, float64, string, bool or "
                           "float32[DIM]",
                           feats[i], c + 1);
            goto out;
        }
    }
    for (size_t i = 0; i < n_ods; i++) {
        if (!parse_on_demand((char *)ods[i], &specs[n_feats + i], params + 64 * i, 64)) {
            rc = cli_usage(ctx, "--on-demand '%s' must be NAME=KIND(INPUTS[;PARAMS])", ods[i]);
            goto out;
        }
    }
    o.features = specs;
    o.n_features = n_feats + n_ods;
    rc = fctx_open(&f, ctx);
    if (rc != CLI_OK)
        goto out;
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_view_apply(&v, f.fs, pos[0], &o);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot apply the view");
        goto out;
    }
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "view");
        json_str(&j, mlops_feature_view_name(v));
        json_key(&j, "version");
        json_i64(&j, mlops_feature_view_version(v));
        json_key(&j, "hash");
        json_str(&j, mlops_feature_view_hash(v));
        json_obj_end(&j);
        json_end(&j);
    } else
        printf("view %s: version %u (definition %s)\n", mlops_feature_view_name(v),
               mlops_feature_view_version(v), mlops_feature_view_hash(v));
    mlops_feature_view_close(v);
out:
    fctx_close(&f);
    free(strs);
    free(specs);
    free(params);
    free(pos);
    cli_free_values(defs);
    return rc;
}

/* ---- ingest ---- */

static int progress_cb(uint64_t rows, void *payload)
{
    (void)payload;
    fprintf(stderr, "\ringest: %llu rows read", (unsigned long long)rows);
    fflush(stderr);
    return 0;
}

static int cmd_ingest(cli_ctx *ctx, int argc, char **argv)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    fctx f = {0};
    if (npos != 2) {
        rc = cli_usage(ctx, "features ingest takes VIEW FILE.csv");
        goto out;
    }
    rc = fctx_open(&f, ctx);
    if (rc != CLI_OK)
        goto out;
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_view_open(&v, f.fs, pos[0]);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot open the view");
        goto out;
    }
    struct stat sb;
    bool big = stat(pos[1], &sb) == 0 && sb.st_size > 8 * 1024 * 1024;
    uint64_t rows = 0;
    st = mlops_feature_view_ingest_csv(&rows, v, pos[1], big ? progress_cb : NULL, NULL);
    if (big)
        fputc('\n', stderr);
    if (st != MLOPS_OK) {
        char what[600];
        snprintf(what, sizeof(what), "cannot ingest '%s' (nothing was ingested)", pos[1]);
        rc = cli_fail(ctx, st, what);
    } else if (ctx->json) {
        printf("{\"view\": \"%s\", \"version\": %u, \"rows\": %llu}\n", mlops_feature_view_name(v),
               mlops_feature_view_version(v), (unsigned long long)rows);
    } else
        printf("ingested %llu rows into %s (v%u)\n", (unsigned long long)rows,
               mlops_feature_view_name(v), mlops_feature_view_version(v));
    mlops_feature_view_close(v);
out:
    fctx_close(&f);
    free(pos);
    return rc;
}

/* ---- join ---- */

static int cmd_join(cli_ctx *ctx, int argc, char **argv)
{
    const char *outp = NULL, *tscol = NULL;
    int full = 0, know = 0;
    cli_optdef defs[] = {{"--output", "-o", true, &outp, NULL, NULL, NULL},
                         {"--full-names", NULL, false, NULL, &full, NULL, NULL},
                         {"--timestamp", NULL, true, &tscol, NULL, NULL, NULL},
                         {"--as-of-knowledge", NULL, false, NULL, &know, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    fctx f = {0};
    mlops_feature_table *e = NULL, *out = NULL;
    if (npos < 2) {
        rc = cli_usage(ctx, "features join takes ENTITIES.csv and at least one REF");
        goto out;
    }
    rc = fctx_open(&f, ctx);
    if (rc != CLI_OK)
        goto out;
    mlops_status st = mlops_feature_table_read_csv(&e, ctx->env, pos[0]);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot read the entity file");
        goto out;
    }
    mlops_feature_join_options o = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    o.flags = (full ? MLOPS_JOIN_FULL_NAMES : 0) | (know ? MLOPS_JOIN_AS_OF_KNOWLEDGE : 0);
    o.timestamp = tscol;
    st = mlops_feature_store_join(&out, f.fs, e, (const char *const *)pos + 1, (size_t)npos - 1,
                                  &o);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "join failed");
        goto out;
    }
    if (outp && strcmp(outp, "-") != 0) {
        st = mlops_feature_table_write_csv(out, outp);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot write the output");
            goto out;
        }
        fprintf(stderr, "joined %zu rows with %d features into %s\n",
                mlops_feature_table_rows(out), npos - 1, outp);
    } else {
        st = mlops__table_write_csv_file(out, stdout);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot write the output");
    }
out:
    mlops_feature_table_free(e);
    mlops_feature_table_free(out);
    fctx_close(&f);
    free(pos);
    return rc;
}

/* ---- materialize ---- */

static bool parse_ts_arg(const char *s, int64_t *us)
{
    return mlops__parse_ts(s, strlen(s), us);
}

static int cmd_materialize(cli_ctx *ctx, int argc, char **argv)
{
    const char *start = NULL, *end = NULL;
    int incr = 0;
    cli_optdef defs[] = {{"--start", NULL, true, &start, NULL, NULL, NULL},
                         {"--end", NULL, true, &end, NULL, NULL, NULL},
                         {"--incremental", NULL, false, NULL, &incr, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    fctx f = {0};
    int64_t s_us = INT64_MIN, e_us = now_us(ctx);
    if (npos != 1) {
        rc = cli_usage(ctx, "features materialize takes one VIEW");
        goto out;
    }
    if ((start && !parse_ts_arg(start, &s_us)) || (end && !parse_ts_arg(end, &e_us))) {
        rc = cli_usage(ctx, "--start/--end must be epoch seconds or RFC 3339 times");
        goto out;
    }
    if (incr && start) {
        rc = cli_usage(ctx, "--incremental starts at the last materialized end; drop --start");
        goto out;
    }
    rc = fctx_open(&f, ctx);
    if (rc == CLI_OK)
        rc = fctx_online(&f);
    if (rc != CLI_OK)
        goto out;
    uint64_t n = 0;
    mlops_status st = incr ? mlops_feature_online_materialize_incremental(&n, f.on, pos[0], e_us)
                           : mlops_feature_online_materialize(&n, f.on, pos[0], s_us, e_us);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "materialize failed");
        goto out;
    }
    char eb[64];
    fmt_ts(eb, sizeof(eb), e_us);
    if (ctx->json)
        printf("{\"view\": \"%s\", \"written\": %llu, \"end\": \"%s\", \"online_store\": \"%s\"}\n",
               pos[0], (unsigned long long)n, eb,
               online_uri(ctx, f.online_uri, sizeof(f.online_uri)));
    else
        printf("materialized %s up to %s: %llu entities written to %s\n", pos[0], eb,
               (unsigned long long)n, online_uri(ctx, f.online_uri, sizeof(f.online_uri)));
out:
    fctx_close(&f);
    free(pos);
    return rc;
}

/* ---- get ---- */

static const char *status_name(uint32_t s)
{
    switch (s) {
    case MLOPS_FEATURE_PRESENT:
        return "PRESENT";
    case MLOPS_FEATURE_NULL_VALUE:
        return "NULL_VALUE";
    case MLOPS_FEATURE_NOT_FOUND:
        return "NOT_FOUND";
    case MLOPS_FEATURE_OUTSIDE_MAX_AGE:
        return "OUTSIDE_MAX_AGE";
    default:
        return "UNKNOWN";
    }
}

static void print_value(FILE *fp, cli_json *j, const mlops_feature_value *v)
{
    char num[64];
    if (v->status != MLOPS_FEATURE_PRESENT) {
        if (j)
            json_null(j);
        else
            fputs("null", fp);
        return;
    }
    switch (v->type) {
    case MLOPS_FEATURE_INT64:
        if (j)
            json_i64(j, v->i64);
        else
            fprintf(fp, "%lld", (long long)v->i64);
        break;
    case MLOPS_FEATURE_BOOL:
        if (j)
            json_bool(j, v->i64 != 0);
        else
            fputs(v->i64 ? "true" : "false", fp);
        break;
    case MLOPS_FEATURE_FLOAT64:
        if (j)
            json_f64(j, v->f64);
        else
            fputs(cli_fmt_f64(num, sizeof(num), v->f64), fp);
        break;
    case MLOPS_FEATURE_STRING:
        if (j)
            json_strn(j, v->str, v->len);
        else
            fputs(v->str, fp);
        break;
    default:
        if (j) {
            json_arr_begin(j);
            for (size_t k = 0; k < v->len; k++)
                json_f64(j, v->vec[k]);
            json_arr_end(j);
        } else {
            fputc('[', fp);
            for (size_t k = 0; k < v->len; k++)
                fprintf(fp, k ? ",%s" : "%s", cli_fmt_f64(num, sizeof(num), v->vec[k]));
            fputc(']', fp);
        }
    }
}

static int cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    const char **keys = NULL;
    size_t n_keys = 0;
    cli_optdef defs[] = {{"--key", NULL, true, NULL, NULL, &keys, &n_keys}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    fctx f = {0};
    char **vals = NULL;
    char *copies = NULL;
    mlops_feature_value *out = NULL;
    mlops_feature_view *v = NULL;
    if (npos < 1 || n_keys == 0) {
        rc = cli_usage(ctx, "features get takes REF [REF ...] --key VALUE[,VALUE...]");
        goto out;
    }
    rc = fctx_open(&f, ctx);
    if (rc == CLI_OK)
        rc = fctx_online(&f);
    if (rc != CLI_OK)
        goto out;
    /* the key values name the first ref's view's join keys, in order */
    char vname[MLOPS_FEATURE_MAX_NAME + 16];
    const char *colon = strchr(pos[0], ':');
    size_t vl = colon ? (size_t)(colon - pos[0]) : strlen(pos[0]);
    if (vl >= sizeof(vname))
        vl = sizeof(vname) - 1;
    memcpy(vname, pos[0], vl);
    vname[vl] = 0;
    mlops_status st = mlops_feature_view_open(&v, f.fs, vname);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot open the view");
        goto out;
    }
    const mlops__fdef *d = v->def;
    size_t nk = d->n_keys;
    vals = calloc(n_keys * nk, sizeof(char *));
    size_t tot = 0;
    for (size_t i = 0; i < n_keys; i++)
        tot += strlen(keys[i]) + 1;
    copies = malloc(tot);
    char *cp = copies;
    for (size_t i = 0; i < n_keys; i++) {
        strcpy(cp, keys[i]);
        char *parts[MLOPS_FEATURE_MAX_KEYS + 1];
        size_t np = split(cp, ',', parts, MLOPS_FEATURE_MAX_KEYS + 1);
        if (np != nk) {
            rc = cli_usage(ctx, "--key '%s' has %zu values; view '%s' has %zu join keys", keys[i],
                           np, vname, nk);
            goto out;
        }
        for (size_t k = 0; k < nk; k++)
            vals[i * nk + k] = parts[k];
        cp += strlen(keys[i]) + 1;
    }
    out = calloc(n_keys * (size_t)npos, sizeof(*out));
    st = mlops_feature_online_get(out, f.on, (const char *const *)pos, (size_t)npos,
                                  (const char *const *)d->keys, nk, (const char *const *)vals,
                                  n_keys);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "lookup failed");
        goto out;
    }
    char tb[64];
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "results");
        json_arr_begin(&j);
        for (size_t i = 0; i < n_keys; i++) {
            json_obj_begin(&j);
            json_key(&j, "key");
            json_obj_begin(&j);
            for (size_t k = 0; k < nk; k++) {
                json_key(&j, d->keys[k]);
                json_str(&j, vals[i * nk + k]);
            }
            json_obj_end(&j);
            json_key(&j, "features");
            json_obj_begin(&j);
            for (int r = 0; r < npos; r++) {
                const mlops_feature_value *x = &out[i * (size_t)npos + (size_t)r];
                json_key(&j, pos[r]);
                json_obj_begin(&j);
                json_key(&j, "value");
                print_value(stdout, &j, x);
                json_key(&j, "status");
                json_str(&j, status_name(x->status));
                json_key(&j, "event_timestamp");
                if (x->status == MLOPS_FEATURE_NOT_FOUND)
                    json_null(&j);
                else {
                    fmt_ts(tb, sizeof(tb), x->event_us);
                    json_str(&j, tb);
                }
                json_obj_end(&j);
            }
            json_obj_end(&j);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_obj_end(&j);
        json_end(&j);
    } else {
        for (size_t i = 0; i < n_keys; i++) {
            for (int r = 0; r < npos; r++) {
                const mlops_feature_value *x = &out[i * (size_t)npos + (size_t)r];
                printf("%s\t%s\t", keys[i], pos[r]);
                print_value(stdout, NULL, x);
                if (x->status == MLOPS_FEATURE_NOT_FOUND)
                    printf("\t%s\n", status_name(x->status));
                else {
                    fmt_ts(tb, sizeof(tb), x->event_us);
                    printf("\t%s\t%s\n", status_name(x->status), tb);
                }
            }
        }
    }
out:
    mlops_feature_view_close(v);
    free(out);
    free(vals);
    free(copies);
    fctx_close(&f);
    free(pos);
    cli_free_values(defs);
    return rc;
}

/* ---- list / show / versions ---- */

static int cmd_list(cli_ctx *ctx, int argc, char **argv, const char *verb)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_features, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    fctx f = {0};
    bool is_list = strcmp(verb, "list") == 0;
    if (npos != (is_list ? 0 : 1)) {
        rc = cli_usage(ctx, is_list ? "features list takes no arguments"
                                    : "features %s takes one VIEW", verb);
        goto out;
    }
    rc = fctx_open(&f, ctx);
    if (rc != CLI_OK)
        goto out;
    mlops_status st;
    if (is_list) {
        char *names = NULL;
        st = mlops_feature_store_list(&names, f.fs);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot list views");
            goto out;
        }
        cli_json j;
        if (ctx->json) {
            json_init(&j, stdout);
            json_arr_begin(&j);
        }
        char *save = NULL;
        for (char *nm = strtok_r(names, "\n", &save); nm; nm = strtok_r(NULL, "\n", &save)) {
            mlops_feature_view *v = NULL;
            if (mlops_feature_view_open(&v, f.fs, nm) != MLOPS_OK)
                continue;
            if (ctx->json) {
                json_obj_begin(&j);
                json_key(&j, "view");
                json_str(&j, nm);
                json_key(&j, "version");
                json_i64(&j, mlops_feature_view_version(v));
                json_key(&j, "hash");
                json_str(&j, mlops_feature_view_hash(v));
                json_obj_end(&j);
            } else
                printf("%s\tv%u\t%s\n", nm, mlops_feature_view_version(v),
                       mlops_feature_view_hash(v));
            mlops_feature_view_close(v);
        }
        if (ctx->json) {
            json_arr_end(&j);
            json_end(&j);
        }
        mlops_string_free(ctx->env, names);
    } else if (strcmp(verb, "show") == 0) {
        mlops_feature_view *v = NULL;
        st = mlops_feature_view_open(&v, f.fs, pos[0]);
        char *js = NULL;
        if (st == MLOPS_OK)
            st = mlops_feature_view_describe(&js, v);
        if (st != MLOPS_OK) {
            mlops_feature_view_close(v);
            rc = cli_fail(ctx, st, "cannot show the view");
            goto out;
        }
        if (ctx->json)
            printf("%s\n", js);
        else {
            const mlops__fdef *d = v->def;
            char tb[64];
            fmt_ts(tb, sizeof(tb), d->created_ms * 1000);
            printf("view:        %s\nversion:     v%u (definition %s, %s)\nentity:      %s\n",
                   d->name, d->version, mlops_feature_view_hash(v), tb, d->entity);
            printf("join keys:  ");
            for (size_t k = 0; k < d->n_keys; k++)
                printf(" %s (%s)", d->keys[k], mlops__ftype_name(d->key_types[k]));
            printf("\ntimestamp:   %s\ncreated:     %s\nttl:         ", d->ts,
                   d->created ? d->created : "-");
            if (d->ttl_us)
                printf("%g s\n", (double)d->ttl_us / 1e6);
            else
                printf("unlimited\n");
            printf("features:\n");
            for (size_t i = 0; i < d->n_features; i++) {
                const mlops__fdef_feature *ft = &d->features[i];
                if (ft->type == MLOPS_FEATURE_FLOAT32_VECTOR)
                    printf("  %s: float32[%u]", ft->name, ft->dim);
                else
                    printf("  %s: %s", ft->name, mlops__ftype_name(ft->type));
                if (ft->transform)
                    printf(" (on demand from %s)", ft->inputs ? ft->inputs : "");
                printf("\n");
            }
            if (d->description)
                printf("description: %s\n", d->description);
            if (d->tags)
                printf("tags:        %s\n", d->tags);
            const char *rows = strstr(js, "\"offline_rows\": ");
            if (rows)
                printf("offline rows: %llu\n", strtoull(rows + 16, NULL, 10));
        }
        mlops_string_free(ctx->env, js);
        mlops_feature_view_close(v);
    } else {
        mlops_feature_view *v = NULL;
        st = mlops_feature_view_open(&v, f.fs, pos[0]);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot open the view");
            goto out;
        }
        uint32_t latest = mlops_feature_view_version(v);
        mlops_feature_view_close(v);
        cli_json j;
        if (ctx->json) {
            json_init(&j, stdout);
            json_arr_begin(&j);
        }
        for (uint32_t n = 1; n <= latest; n++) {
            char ref[MLOPS_FEATURE_MAX_NAME + 16];
            snprintf(ref, sizeof(ref), "%s@v%u", pos[0], n);
            if (mlops_feature_view_open(&v, f.fs, ref) != MLOPS_OK)
                continue;
            char tb[64];
            fmt_ts(tb, sizeof(tb), v->def->created_ms * 1000);
            if (ctx->json) {
                json_obj_begin(&j);
                json_key(&j, "version");
                json_i64(&j, n);
                json_key(&j, "hash");
                json_str(&j, mlops_feature_view_hash(v));
                json_key(&j, "created");
                json_str(&j, tb);
                json_key(&j, "features");
                json_i64(&j, (int64_t)v->def->n_features);
                json_obj_end(&j);
            } else
                printf("v%u\t%s\t%s\t%zu features%s\n", n, mlops_feature_view_hash(v), tb,
                       v->def->n_features, n == latest ? "\t(current)" : "");
            mlops_feature_view_close(v);
        }
        if (ctx->json) {
            json_arr_end(&j);
            json_end(&j);
        }
    }
out:
    fctx_close(&f);
    free(pos);
    return rc;
}

int cli_cmd_features(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(cli_help_features, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[0];
    if (strcmp(verb, "apply") == 0)
        return cmd_apply(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "ingest") == 0)
        return cmd_ingest(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "join") == 0)
        return cmd_join(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "materialize") == 0)
        return cmd_materialize(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "get") == 0)
        return cmd_get(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0 || strcmp(verb, "versions") == 0)
        return cmd_list(ctx, argc - 1, argv + 1, verb);
    return cli_usage(ctx, "unknown verb 'features %s'", verb);
}

/* ---- the demo ---- */

static uint64_t demo_rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

int cli_demo_features(cli_ctx *ctx, cli_demo_state *st)
{
    printf("== features ==\n");
    fctx f;
    int rc = fctx_open(&f, ctx);
    if (rc != CLI_OK)
        return rc;
    mlops_feature_view *v = NULL;
    mlops_feature_table *e = NULL, *out = NULL;
    char path[600], epath[600];
    const char *keys[] = {"customer_id"};
    double bounds[] = {20, 50, 100};
    mlops_feature_spec feats[] = {
        {.name = "orders_7d", .type = MLOPS_FEATURE_INT64},
        {.name = "avg_basket", .type = MLOPS_FEATURE_FLOAT64},
        {.name = "segment", .type = MLOPS_FEATURE_STRING},
        {.name = "log_orders", .transform = MLOPS_TRANSFORM_LOG1P, .inputs = "orders_7d"},
        {.name = "basket_band", .transform = MLOPS_TRANSFORM_BUCKETIZE, .inputs = "avg_basket",
         .params = bounds, .n_params = 3},
    };
    mlops_feature_view_options o = MLOPS_FEATURE_VIEW_OPTIONS_INIT;
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.timestamp = "event_timestamp";
    o.created = "created";
    o.ttl_us = 7LL * 86400 * 1000000;
    o.features = feats;
    o.n_features = 5;
    o.description = "customer activity, daily";
    mlops_status s = mlops_feature_view_apply(&v, f.fs, "customer_stats", &o);
    if (s != MLOPS_OK) {
        rc = cli_fail(ctx, s, "demo: cannot define the view");
        goto out;
    }
    printf("defined view customer_stats v%u (definition %s): entity customer_id, ttl 7 days\n",
           mlops_feature_view_version(v), mlops_feature_view_hash(v));
    /* 20 customers, one row a day for 30 days before now */
    int64_t now = now_us(ctx) / 1000000;
    int64_t day = 86400;
    snprintf(path, sizeof(path), "%s/customer_stats.csv", st->workdir);
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        rc = cli_error(ctx, "demo: cannot write '%s'", path);
        goto out;
    }
    uint64_t seed = 42;
    static const char *const segs[] = {"new", "regular", "vip"};
    fprintf(fp, "customer_id,event_timestamp,created,orders_7d,avg_basket,segment\n");
    size_t nrows = 0;
    for (int c = 1; c <= 20; c++)
        for (int d = 30; d >= 1; d--) {
            if (demo_rng(&seed) % 5 == 0)
                continue; /* some days have no update */
            int64_t ts = now - d * day + (int64_t)(demo_rng(&seed) % 3600);
            fprintf(fp, "%d,%lld,%lld,%llu,%.2f,%s\n", c, (long long)ts, (long long)(ts + 600),
                    (unsigned long long)(demo_rng(&seed) % 12), 10 + (double)(demo_rng(&seed) % 9000) / 100,
                    segs[(c + d / 10) % 3]);
            nrows++;
        }
    fclose(fp);
    uint64_t rows = 0;
    s = mlops_feature_view_ingest_csv(&rows, v, path, NULL, NULL);
    if (s != MLOPS_OK) {
        rc = cli_fail(ctx, s, "demo: ingest failed");
        goto out;
    }
    printf("ingested %llu rows from %s\n", (unsigned long long)rows, path);
    /* labels: one row per customer at a few past times */
    snprintf(epath, sizeof(epath), "%s/labels.csv", st->workdir);
    fp = fopen(epath, "w");
    if (fp == NULL) {
        rc = cli_error(ctx, "demo: cannot write '%s'", epath);
        goto out;
    }
    fprintf(fp, "customer_id,event_timestamp,churned\n");
    for (int i = 0; i < 200; i++) {
        int c = 1 + (int)(demo_rng(&seed) % 22); /* 21 and 22 have no features */
        int64_t ts = now - (int64_t)(demo_rng(&seed) % (25 * (uint64_t)day));
        fprintf(fp, "%d,%lld,%d\n", c, (long long)ts, (int)(demo_rng(&seed) % 4 == 0));
    }
    fclose(fp);
    s = mlops_feature_table_read_csv(&e, ctx->env, epath);
    const char *refs[] = {"customer_stats:orders_7d", "customer_stats:avg_basket",
                          "customer_stats:segment", "customer_stats:log_orders",
                          "customer_stats:basket_band"};
    if (s == MLOPS_OK)
        s = mlops_feature_store_join(&out, f.fs, e, refs, 5, NULL);
    snprintf(st->training_csv, sizeof(st->training_csv), "%s/training.csv", st->workdir);
    if (s == MLOPS_OK)
        s = mlops_feature_table_write_csv(out, st->training_csv);
    if (s != MLOPS_OK) {
        st->training_csv[0] = 0;
        rc = cli_fail(ctx, s, "demo: point-in-time join failed");
        goto out;
    }
    size_t col = 0, matched = 0;
    mlops_feature_table_find(&col, out, "avg_basket");
    const uint8_t *valid = mlops_feature_table_valid(out, col);
    for (size_t i = 0; i < mlops_feature_table_rows(out); i++)
        matched += valid == NULL || valid[i];
    printf("point-in-time join: %zu label rows -> %s (%zu with features, %zu without: no row "
           "within the 7-day TTL before the label time, or an unknown customer)\n",
           mlops_feature_table_rows(out), st->training_csv, matched,
           mlops_feature_table_rows(out) - matched);
    rc = fctx_online(&f);
    if (rc != CLI_OK)
        goto out;
    uint64_t written = 0;
    s = mlops_feature_online_materialize(&written, f.on, "customer_stats", now * 1000000 - 7 * day * 1000000,
                                         now * 1000000);
    if (s != MLOPS_OK) {
        rc = cli_fail(ctx, s, "demo: materialize failed");
        goto out;
    }
    printf("materialized the last 7 days: %llu customers in the online store %s\n",
           (unsigned long long)written, online_uri(ctx, f.online_uri, sizeof(f.online_uri)));
    const char *kn[] = {"customer_id"};
    const char *kv[] = {"3", "21"};
    mlops_feature_value vals[6];
    s = mlops_feature_online_get(vals, f.on, refs, 3, kn, 1, kv, 2);
    if (s != MLOPS_OK) {
        rc = cli_fail(ctx, s, "demo: online lookup failed");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        printf("online lookup customer %s:", kv[i]);
        for (int r = 0; r < 3; r++) {
            printf(" %s=", refs[r] + strlen("customer_stats:"));
            print_value(stdout, NULL, &vals[i * 3 + r]);
            if (vals[i * 3 + r].status != MLOPS_FEATURE_PRESENT)
                printf(" (%s)", status_name(vals[i * 3 + r].status));
        }
        printf("\n");
    }
    printf("\n");
out:
    mlops_feature_table_free(e);
    mlops_feature_table_free(out);
    mlops_feature_view_close(v);
    fctx_close(&f);
    return rc;
}

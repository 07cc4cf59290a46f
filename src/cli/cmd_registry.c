/* SPDX-License-Identifier: MIT */
/* `mlops models ...`: the model registry from the command line. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

const char cli_help_models[] =
    "usage: mlops models <verb> ...\n"
    "\n"
    "  create NAME [--description TEXT] [--tag KEY=VALUE]...\n"
    "  list [--max N]                        registered models, in name order\n"
    "  search FILTER [--max N]               e.g. \"name LIKE 'fraud%' AND tags.team = 'risk'\"\n"
    "  show NAME [VERSION]                   a model and its versions, or one version\n"
    "  delete NAME [VERSION]                 a model (with everything), or one version\n"
    "  rename NAME NEW_NAME\n"
    "  tag NAME KEY [VALUE] [--delete]\n"
    "  register NAME --run RUN --artifact PATH [--eval-report PATH]\n"
    "           [--feature-hash HEX]... [--commit SHA] [--description TEXT]\n"
    "  register NAME --blob HEX ...         from a blob already in the store\n"
    "                                        (prints the new version number alone)\n"
    "  promote NAME VERSION --to STAGE [--gate EXPR]... [--baseline ALIAS]\n"
    "          [--keep-existing] [--reason TEXT] [--dry-run]\n"
    "  alias NAME ALIAS VERSION [--reason TEXT]\n"
    "  alias NAME ALIAS --delete [--reason TEXT]\n"
    "  rollback NAME [--reason TEXT]         restore the previous Production version\n"
    "  history NAME                          every transition and alias move\n"
    "  lineage NAME VERSION                  what produced a version\n"
    "  resolve URI [--at TIME]               a models:/ URI to a version number\n"
    "  get URI -o DIR                        fetch a version's artifact into DIR\n"
    "\n"
    "Stages: None, Staging, Production, Archived (any case). Promoting to Staging or\n"
    "Production archives the version that held the stage unless --keep-existing.\n"
    "Gates (MLflow's MetricThreshold on the source run's metrics):\n"
    "  'val_auc >= 0.85'            threshold\n"
    "  'val_auc >= baseline + 0.01' min absolute change over the Production version\n"
    "  'val_auc >= baseline + 2%'   min relative change\n"
    "  'loss <= baseline - 0.05'    lower is better\n"
    "URIs: models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/latest.\n"
    "TIME: milliseconds since the epoch, or YYYY-MM-DDTHH:MM:SS[.mmm]Z.\n"
    "--user NAME sets who is recorded in history (default: $USER).\n";

/* ---- a small JSON reader for the library's documents ---- */

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_kind;

typedef struct jv {
    jv_kind kind;
    bool b;
    double num;
    char *str;        /* JV_STR; also the key when inside an object */
    char *key;
    struct jv *items; /* JV_ARR / JV_OBJ */
    size_t n;
} jv;

static void jv_free(jv *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        jv_free(&v->items[i]);
    free(v->items);
    free(v->str);
    free(v->key);
}

static const char *jws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *jparse_str(const char *p, char **out)
{
    /* p at the opening quote */
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    p++;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            char e = *p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4 && *p; i++, p++)
                    v = v * 16 + (unsigned)(*p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10);
                c = (char)(v < 0x80 ? v : '?');
                break;
            }
            default:
                c = e;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            if (ns == NULL) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        s[n++] = c;
    }
    if (*p != '"') {
        free(s);
        return NULL;
    }
    s[n] = 0;
    *out = s;
    return p + 1;
}

static const char *jparse(const char *p, jv *v)
{
    memset(v, 0, sizeof(*v));
    p = jws(p);
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        char close = obj ? '}' : ']';
        v->kind = obj ? JV_OBJ : JV_ARR;
        p = jws(p + 1);
        size_t cap = 0;
        while (*p && *p != close) {
            if (v->n == cap) {
                cap = cap ? cap * 2 : 8;
                jv *ni = realloc(v->items, cap * sizeof(jv));
                if (ni == NULL)
                    return NULL;
                v->items = ni;
            }
            jv *it = &v->items[v->n];
            memset(it, 0, sizeof(*it));
            char *key = NULL;
            if (obj) {
                if (*p != '"' || (p = jparse_str(p, &key)) == NULL)
                    return NULL;
                p = jws(p);
                if (*p != ':') {
                    free(key);
                    return NULL;
                }
                p++;
            }
            p = jparse(p, it);
            it->key = key;
            v->n++;
            if (p == NULL)
                return NULL;
            p = jws(p);
            if (*p == ',')
                p = jws(p + 1);
        }
        return *p == close ? p + 1 : NULL;
    }
    if (*p == '"') {
        v->kind = JV_STR;
        return jparse_str(p, &v->str);
    }
    if (strncmp(p, "null", 4) == 0) {
        v->kind = JV_NULL;
        return p + 4;
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->kind = JV_BOOL;
        v->b = p[0] == 't';
        return p + (v->b ? 4 : 5);
    }
    char *end = NULL;
    v->kind = JV_NUM;
    v->num = strtod(p, &end);
    return end == p ? NULL : end;
}

static const jv *jget(const jv *o, const char *key)
{
    if (o == NULL || o->kind != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return &o->items[i];
    return NULL;
}

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    return v && v->kind == JV_STR ? v->str : NULL;
}

static int64_t jint(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    return v && v->kind == JV_NUM ? (int64_t)v->num : 0;
}

/* ---- helpers ---- */

typedef struct reg_cli {
    cli_ctx *ctx;
    mlops_registry *reg;
} reg_cli;

static int open_reg(cli_ctx *ctx, reg_cli *rc)
{
    rc->ctx = ctx;
    rc->reg = NULL;
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    mlops_status st = mlops_registry_open(&rc->reg, s);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open the registry");
    return CLI_OK;
}

static const char *default_user(const char *given)
{
    if (given)
        return given;
    const char *u = getenv("USER");
    if (u == NULL || u[0] == '\0')
        u = getenv("LOGNAME");
    return u ? u : "";
}

static bool parse_version(const char *s, int64_t *out)
{
    return cli_parse_i64(s, out) && *out > 0;
}

static bool parse_time_ms(const char *s, int64_t *out)
{
    if (cli_parse_i64(s, out))
        return true;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int ms = 0;
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL)
        return false;
    if (*rest == '.') {
        rest++;
        int digits = 0;
        while (*rest >= '0' && *rest <= '9' && digits < 3) {
            ms = ms * 10 + (*rest++ - '0');
            digits++;
        }
        while (digits++ < 3)
            ms *= 10;
    }
    if (strcmp(rest, "Z") != 0 && *rest != '\0')
        return false;
    *out = (int64_t)timegm(&tm) * 1000 + ms;
    return true;
}

static void print_json_doc(const char *doc)
{
    fputs(doc, stdout);
    fputc('\n', stdout);
}

static int with_doc(reg_cli *rc, mlops_status st, char *doc, const char *what,
                    int (*human)(const jv *, void *), void *arg)
{
    mlops_env *env = mlops_registry_env(rc->reg);
    if (st != MLOPS_OK)
        return cli_fail(rc->ctx, st, what);
    int r = CLI_OK;
    if (rc->ctx->json) {
        print_json_doc(doc);
    } else {
        jv root;
        if (jparse(doc, &root) == NULL) {
            jv_free(&root);
            mlops_string_free(env, doc);
            return cli_error(rc->ctx, "%s: the library returned unreadable JSON", what);
        }
        r = human(&root, arg);
        jv_free(&root);
    }
    mlops_string_free(env, doc);
    return r;
}

static const char *fmt_ms(char *buf, size_t cap, int64_t ms)
{
    return ms ? cli_fmt_time_ms(buf, cap, ms) : "-";
}

static void print_name_version(const char *name, const char *key, int64_t v)
{
    cli_json j;
    json_init(&j, stdout);
    json_obj_begin(&j);
    json_key(&j, "name");
    json_str(&j, name);
    json_key(&j, key);
    if (v)
        json_i64(&j, v);
    else
        json_null(&j);
    json_obj_end(&j);
    json_end(&j);
}

/* ---- human views ---- */

static int human_list(const jv *arr, void *arg)
{
    (void)arg;
    printf("%-28s %7s %10s %10s  %-24s %s\n", "NAME", "LATEST", "PRODUCTION", "STAGING",
           "ALIASES", "UPDATED");
    for (size_t i = 0; i < arr->n; i++) {
        const jv *m = &arr->items[i];
        char prod[24] = "-", stag[24] = "-", al[256] = "", t[40];
        const jv *lv = jget(m, "latest_versions");
        for (size_t k = 0; lv && k < lv->n; k++) {
            const char *stage = jstr(&lv->items[k], "stage");
            long long v = (long long)jint(&lv->items[k], "version");
            if (stage && strcmp(stage, "Production") == 0)
                snprintf(prod, sizeof(prod), "%lld", v);
            else if (stage && strcmp(stage, "Staging") == 0)
                snprintf(stag, sizeof(stag), "%lld", v);
        }
        const jv *aliases = jget(m, "aliases");
        for (size_t k = 0; aliases && k < aliases->n; k++) {
            size_t used = strlen(al);
            snprintf(al + used, sizeof(al) - used, "%s%s=%lld", k ? "," : "",
                     aliases->items[k].key, (long long)aliases->items[k].num);
        }
        printf("%-28s %7lld %10s %10s  %-24s %s\n", jstr(m, "name"),
               (long long)jint(m, "last_version"), prod, stag, al[0] ? al : "-",
               fmt_ms(t, sizeof(t), jint(m, "updated_ms")));
    }
    if (arr->n == 0)
        printf("(no registered models)\n");
    return CLI_OK;
}

static void aliases_text(char *out, size_t cap, const jv *ver)
{
    out[0] = 0;
    const jv *a = jget(ver, "aliases");
    for (size_t k = 0; a && k < a->n; k++) {
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", k ? "," : "", a->items[k].str);
    }
    if (out[0] == 0)
        snprintf(out, cap, "-");
}

static const char *gate_text(const jv *ver)
{
    const jv *g = jget(ver, "gate");
    if (g == NULL || g->kind != JV_OBJ)
        return "-";
    const jv *p = jget(g, "passed");
    return p && p->b ? "passed" : "refused";
}

static int human_model(const jv *m, void *arg)
{
    (void)arg;
    char t[40];
    printf("model:        %s\n", jstr(m, "name"));
    const char *d = jstr(m, "description");
    if (d)
        printf("description:  %s\n", d);
    printf("created:      %s\n", fmt_ms(t, sizeof(t), jint(m, "created_ms")));
    printf("updated:      %s\n", fmt_ms(t, sizeof(t), jint(m, "updated_ms")));
    const jv *tags = jget(m, "tags");
    for (size_t i = 0; tags && i < tags->n; i++)
        printf("tag:          %s=%s\n", tags->items[i].key, tags->items[i].str);
    const jv *vers = jget(m, "versions");
    printf("\n%7s  %-10s %-20s %-36s %-8s %s\n", "VERSION", "STAGE", "ALIASES", "SOURCE", "GATE",
           "CREATED");
    for (size_t i = 0; vers && i < vers->n; i++) {
        const jv *v = &vers->items[i];
        char al[256], src[80];
        aliases_text(al, sizeof(al), v);
        const char *run = jstr(v, "run_id");
        if (run)
            snprintf(src, sizeof(src), "run %s", run);
        else
            snprintf(src, sizeof(src), "blob %.16s", jstr(v, "blob") ? jstr(v, "blob") : "?");
        printf("%7lld  %-10s %-20s %-36s %-8s %s\n", (long long)jint(v, "version"),
               jstr(v, "stage"), al, src, gate_text(v), fmt_ms(t, sizeof(t), jint(v, "created_ms")));
    }
    if (vers == NULL || vers->n == 0)
        printf("(no versions)\n");
    return CLI_OK;
}

static int human_version(const jv *v, void *arg)
{
    (void)arg;
    char t[40], al[256];
    aliases_text(al, sizeof(al), v);
    printf("model:          %s\n", jstr(v, "name"));
    printf("version:        %lld\n", (long long)jint(v, "version"));
    printf("stage:          %s (since %s)\n", jstr(v, "stage"),
           fmt_ms(t, sizeof(t), jint(v, "stage_since_ms")));
    printf("aliases:        %s\n", al);
    printf("created:        %s by %s\n", fmt_ms(t, sizeof(t), jint(v, "created_ms")),
           jstr(v, "user") && jstr(v, "user")[0] ? jstr(v, "user") : "unknown");
    if (jstr(v, "description"))
        printf("description:    %s\n", jstr(v, "description"));
    printf("source:         %s\n", jstr(v, "source") ? jstr(v, "source") : "-");
    printf("run:            %s\n", jstr(v, "run_id") ? jstr(v, "run_id") : "-");
    printf("artifact:       %s (%lld bytes, blob %s)\n",
           jstr(v, "artifact_path") ? jstr(v, "artifact_path") : "-",
           (long long)jint(v, "size"), jstr(v, "blob"));
    printf("code commit:    %s\n", jstr(v, "code_commit") ? jstr(v, "code_commit") : "-");
    const jv *ds = jget(v, "datasets");
    if (ds == NULL || ds->n == 0)
        printf("datasets:       -\n");
    for (size_t i = 0; ds && i < ds->n; i++) {
        const jv *d = &ds->items[i];
        int64_t rows = jint(d, "rows");
        char rtxt[32];
        if (rows >= 0)
            snprintf(rtxt, sizeof(rtxt), "%lld rows", (long long)rows);
        else
            snprintf(rtxt, sizeof(rtxt), "rows unknown");
        printf("dataset:        %s %s (%s)\n", jstr(d, "hash"),
               jstr(d, "name") && jstr(d, "name")[0] ? jstr(d, "name") : "(unnamed)", rtxt);
    }
    const jv *fh = jget(v, "feature_hashes");
    if (fh == NULL || fh->n == 0)
        printf("features:       -\n");
    for (size_t i = 0; fh && i < fh->n; i++)
        printf("feature def:    %s\n", fh->items[i].str);
    const jv *ev = jget(v, "eval_report");
    if (ev && ev->kind == JV_OBJ)
        printf("eval report:    %s (blob %s)\n", jstr(ev, "path"), jstr(ev, "blob"));
    else
        printf("eval report:    -\n");
    const jv *g = jget(v, "gate");
    if (g && g->kind == JV_OBJ) {
        const jv *p = jget(g, "passed");
        printf("gate:           %s for %s at %s\n", p && p->b ? "passed" : "refused",
               jstr(g, "target_stage"), fmt_ms(t, sizeof(t), jint(g, "time_ms")));
        const char *rep = jstr(g, "report");
        if (rep) {
            const char *line = strchr(rep, '\n');
            for (line = line ? line + 1 : rep; *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t)(nl - line) : strlen(line);
                printf("                %.*s\n", (int)n, line);
                line += n + (nl ? 1 : 0);
            }
        }
    } else {
        printf("gate:           -\n");
    }
    return CLI_OK;
}

static int human_history(const jv *arr, void *arg)
{
    (void)arg;
    printf("%-24s %-15s %7s  %-28s %-12s %s\n", "TIME", "EVENT", "VERSION", "CHANGE", "USER",
           "REASON");
    for (size_t i = 0; i < arr->n; i++) {
        const jv *e = &arr->items[i];
        char t[40], change[160] = "";
        const char *ev = jstr(e, "event");
        if (ev && strcmp(ev, "transition") == 0)
            snprintf(change, sizeof(change), "%s -> %s", jstr(e, "from"), jstr(e, "to"));
        else if (ev && (strcmp(ev, "alias_set") == 0 || strcmp(ev, "alias_delete") == 0)) {
            const jv *pv = jget(e, "previous_version");
            if (strcmp(ev, "alias_set") == 0 && pv && pv->kind == JV_NUM)
                snprintf(change, sizeof(change), "@%s: %lld -> %lld", jstr(e, "alias"),
                         (long long)pv->num, (long long)jint(e, "version"));
            else if (strcmp(ev, "alias_set") == 0)
                snprintf(change, sizeof(change), "@%s -> %lld", jstr(e, "alias"),
                         (long long)jint(e, "version"));
            else
                snprintf(change, sizeof(change), "@%s removed", jstr(e, "alias"));
        } else if (ev && strcmp(ev, "register") == 0)
            snprintf(change, sizeof(change), "new version");
        else if (ev && strcmp(ev, "version_delete") == 0)
            snprintf(change, sizeof(change), "deleted");
        const char *u = jstr(e, "user");
        const char *r = jstr(e, "reason");
        printf("%-24s %-15s %7lld  %-28s %-12s %s\n", fmt_ms(t, sizeof(t), jint(e, "time_ms")),
               ev ? ev : "?", (long long)jint(e, "version"), change, u && u[0] ? u : "-",
               r && r[0] ? r : "");
    }
    return CLI_OK;
}

/* ---- verbs ---- */

static int usage_or_help(cli_ctx *ctx, int rc)
{
    if (rc == CLI_HELP) {
        fputs(cli_help_models, stdout);
        return CLI_OK;
    }
    (void)ctx;
    return rc;
}

static int cmd_create(cli_ctx *ctx, int argc, char **argv)
{
    const char *desc = NULL;
    const char **tags = NULL;
    size_t ntags = 0;
    cli_optdef defs[] = {{"--description", "-d", true, &desc, NULL, NULL, NULL},
                         {"--tag", NULL, true, NULL, NULL, &tags, &ntags},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (npos != 1)
        rc = cli_usage(ctx, "usage: mlops models create NAME [--description TEXT] [--tag K=V]...");
    for (size_t i = 0; rc == CLI_OK && i < ntags; i++)
        if (strchr(tags[i], '=') == NULL)
            rc = cli_usage(ctx, "--tag takes KEY=VALUE, not '%s'", tags[i]);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_status st = mlops_registry_create_model(r.reg, pos[0], desc);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot create the model");
        for (size_t i = 0; rc == CLI_OK && i < ntags; i++) {
            char *kv = strdup(tags[i]);
            if (kv == NULL) {
                rc = cli_error(ctx, "out of memory");
                break;
            }
            char *eq = strchr(kv, '=');
            *eq = 0;
            st = mlops_registry_set_model_tag(r.reg, pos[0], kv, eq + 1);
            free(kv);
            if (st != MLOPS_OK)
                rc = cli_fail(ctx, st, "cannot set a tag");
        }
        if (rc == CLI_OK) {
            if (ctx->json) {
                char *doc = NULL;
                st = mlops_registry_model_json(&doc, r.reg, pos[0]);
                rc = with_doc(&r, st, doc, "cannot read the model", human_model, NULL);
            } else {
                printf("created model '%s'\n", pos[0]);
            }
        }
    }
    mlops_registry_close(r.reg);
    cli_free_values(defs);
    free(pos);
    return rc;
}

static int cmd_search(cli_ctx *ctx, int argc, char **argv, bool is_list)
{
    const char *max = NULL;
    cli_optdef defs[] = {{"--max", NULL, true, &max, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    int64_t n = 0;
    reg_cli r = {0};
    if (npos != (is_list ? 0 : 1))
        rc = cli_usage(ctx, is_list ? "usage: mlops models list [--max N]"
                                    : "usage: mlops models search FILTER [--max N]");
    else if (max && (!cli_parse_i64(max, &n) || n < 0))
        rc = cli_usage(ctx, "--max takes a number of 0 or more, not '%s'", max);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        char *doc = NULL;
        mlops_status st =
            mlops_registry_search_json(&doc, r.reg, is_list ? NULL : pos[0], (size_t)n);
        rc = with_doc(&r, st, doc, is_list ? "cannot list models" : "cannot search models",
                      human_list, NULL);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_show(cli_ctx *ctx, int argc, char **argv, bool lineage)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    int64_t v = 0;
    reg_cli r = {0};
    if (lineage ? npos != 2 : (npos < 1 || npos > 2))
        rc = cli_usage(ctx, lineage ? "usage: mlops models lineage NAME VERSION"
                                    : "usage: mlops models show NAME [VERSION]");
    else if (npos == 2 && !parse_version(pos[1], &v))
        rc = cli_usage(ctx, "'%s' is not a version number", pos[1]);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        char *doc = NULL;
        if (npos == 2) {
            mlops_status st = lineage ? mlops_registry_lineage_json(&doc, r.reg, pos[0], v)
                                      : mlops_registry_version_json(&doc, r.reg, pos[0], v);
            rc = with_doc(&r, st, doc, "cannot read the version", human_version, NULL);
        } else {
            mlops_status st = mlops_registry_model_json(&doc, r.reg, pos[0]);
            rc = with_doc(&r, st, doc, "cannot read the model", human_model, NULL);
        }
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_history(cli_ctx *ctx, int argc, char **argv)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (npos != 1)
        rc = cli_usage(ctx, "usage: mlops models history NAME");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        char *doc = NULL;
        mlops_status st = mlops_registry_history_json(&doc, r.reg, pos[0]);
        rc = with_doc(&r, st, doc, "cannot read the history", human_history, NULL);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_delete(cli_ctx *ctx, int argc, char **argv)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    int64_t v = 0;
    reg_cli r = {0};
    if (npos < 1 || npos > 2)
        rc = cli_usage(ctx, "usage: mlops models delete NAME [VERSION]");
    else if (npos == 2 && !parse_version(pos[1], &v))
        rc = cli_usage(ctx, "'%s' is not a version number", pos[1]);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_status st = v ? mlops_registry_delete_version(r.reg, pos[0], v)
                            : mlops_registry_delete_model(r.reg, pos[0]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, v ? "cannot delete the version" : "cannot delete the model");
        else if (ctx->json)
            print_name_version(pos[0], "deleted_version", v);
        else if (v)
            printf("deleted version %lld of model '%s'\n", (long long)v, pos[0]);
        else
            printf("deleted model '%s'\n", pos[0]);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_rename(cli_ctx *ctx, int argc, char **argv)
{
    cli_optdef defs[] = {{NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (npos != 2)
        rc = cli_usage(ctx, "usage: mlops models rename NAME NEW_NAME");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_status st = mlops_registry_rename_model(r.reg, pos[0], pos[1]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot rename the model");
        else if (!ctx->json)
            printf("renamed model '%s' to '%s'\n", pos[0], pos[1]);
        else {
            char *doc = NULL;
            st = mlops_registry_model_json(&doc, r.reg, pos[1]);
            rc = with_doc(&r, st, doc, "cannot read the model", human_model, NULL);
        }
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_tag(cli_ctx *ctx, int argc, char **argv)
{
    int del = 0;
    cli_optdef defs[] = {{"--delete", NULL, false, NULL, &del, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (del ? npos != 2 : npos != 3)
        rc = cli_usage(ctx, "usage: mlops models tag NAME KEY VALUE, or NAME KEY --delete");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_status st = mlops_registry_set_model_tag(r.reg, pos[0], pos[1], del ? NULL : pos[2]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot change the tag");
        else if (!ctx->json)
            printf(del ? "removed tag '%s' of model '%s'\n" : "set tag '%s' of model '%s'\n",
                   pos[1], pos[0]);
        else {
            char *doc = NULL;
            st = mlops_registry_model_json(&doc, r.reg, pos[0]);
            rc = with_doc(&r, st, doc, "cannot read the model", human_model, NULL);
        }
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_register(cli_ctx *ctx, int argc, char **argv)
{
    const char *run = NULL, *artifact = NULL, *blob = NULL, *eval = NULL, *commit = NULL,
               *desc = NULL, *user = NULL;
    const char **feats = NULL;
    size_t nfeats = 0;
    cli_optdef defs[] = {{"--run", NULL, true, &run, NULL, NULL, NULL},
                         {"--artifact", NULL, true, &artifact, NULL, NULL, NULL},
                         {"--blob", NULL, true, &blob, NULL, NULL, NULL},
                         {"--eval-report", NULL, true, &eval, NULL, NULL, NULL},
                         {"--feature-hash", NULL, true, NULL, NULL, &feats, &nfeats},
                         {"--commit", NULL, true, &commit, NULL, NULL, NULL},
                         {"--description", "-d", true, &desc, NULL, NULL, NULL},
                         {"--user", NULL, true, &user, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    mlops_hash128 bh;
    mlops_hash128 *fh = NULL;
    if (npos != 1)
        rc = cli_usage(ctx, "usage: mlops models register NAME --run RUN --artifact PATH "
                            "(or --blob HEX)");
    else if ((run == NULL) == (blob == NULL))
        rc = cli_usage(ctx, "give either --run RUN --artifact PATH or --blob HEX");
    else if (run && artifact == NULL)
        rc = cli_usage(ctx, "--run needs --artifact PATH (the model file logged by the run)");
    else if (blob && mlops_hash128_from_hex(&bh, blob) != MLOPS_OK)
        rc = cli_usage(ctx, "--blob takes 32 lowercase hex digits, not '%s'", blob);
    if (rc == CLI_OK && nfeats) {
        fh = calloc(nfeats, sizeof(*fh));
        if (fh == NULL)
            rc = cli_error(ctx, "out of memory");
        for (size_t i = 0; rc == CLI_OK && i < nfeats; i++)
            if (mlops_hash128_from_hex(&fh[i], feats[i]) != MLOPS_OK)
                rc = cli_usage(ctx, "--feature-hash takes 32 lowercase hex digits, not '%s'",
                               feats[i]);
    }
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_register_options o;
        mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
        o.run_id = run;
        o.artifact_path = artifact;
        o.blob = blob ? &bh : NULL;
        o.eval_report_path = eval;
        o.feature_hashes = fh;
        o.n_feature_hashes = nfeats;
        o.code_commit = commit;
        o.description = desc;
        o.user = default_user(user);
        int64_t v = 0;
        mlops_status st = mlops_registry_register(&v, r.reg, pos[0], &o);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot register the version");
        else if (ctx->json) {
            char *doc = NULL;
            st = mlops_registry_version_json(&doc, r.reg, pos[0], v);
            rc = with_doc(&r, st, doc, "cannot read the version", human_version, NULL);
        } else
            printf("%lld\n", (long long)v);
    }
    mlops_registry_close(r.reg);
    free(fh);
    cli_free_values(defs);
    free(pos);
    return rc;
}

static void print_report(FILE *f, const char *report)
{
    if (report == NULL)
        return;
    fputs(report, f);
}

static int cmd_promote(cli_ctx *ctx, int argc, char **argv)
{
    const char *to = NULL, *baseline = NULL, *reason = NULL, *user = NULL;
    const char **gates = NULL;
    size_t ngates = 0;
    int keep = 0, dry = 0;
    cli_optdef defs[] = {{"--to", NULL, true, &to, NULL, NULL, NULL},
                         {"--gate", NULL, true, NULL, NULL, &gates, &ngates},
                         {"--baseline", NULL, true, &baseline, NULL, NULL, NULL},
                         {"--keep-existing", NULL, false, NULL, &keep, NULL, NULL},
                         {"--reason", NULL, true, &reason, NULL, NULL, NULL},
                         {"--user", NULL, true, &user, NULL, NULL, NULL},
                         {"--dry-run", NULL, false, NULL, &dry, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    int64_t v = 0;
    uint32_t stage = 0;
    if (npos != 2 || (to == NULL && !dry))
        rc = cli_usage(ctx, "usage: mlops models promote NAME VERSION --to STAGE [--gate EXPR]...");
    else if (!parse_version(pos[1], &v))
        rc = cli_usage(ctx, "'%s' is not a version number", pos[1]);
    else if (to && mlops_registry_stage_parse(&stage, to) != MLOPS_OK)
        rc = cli_usage(ctx, "%s", mlops_error_message());
    else if (dry && ngates == 0)
        rc = cli_usage(ctx, "--dry-run needs at least one --gate");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_env *env = mlops_registry_env(r.reg);
        mlops_promote_options o;
        mlops_promote_options_init(&o, MLOPS_PROMOTE_OPTIONS_VERSION);
        o.keep_existing = keep ? 1 : 0;
        o.gate_exprs = gates;
        o.n_gate_exprs = ngates;
        o.baseline_alias = baseline;
        o.reason = reason;
        o.user = default_user(user);
        char *report = NULL;
        mlops_status st;
        int32_t passed = 0;
        if (dry)
            st = mlops_registry_gate_check(&report, &passed, r.reg, pos[0], v, &o);
        else
            st = mlops_registry_promote(&report, r.reg, pos[0], v, to, &o);
        if (st != MLOPS_OK) {
            if (!ctx->json)
                print_report(stderr, report);
            rc = cli_fail(ctx, st, "promotion refused");
            if (ctx->json) {
                cli_json j;
                json_init(&j, stdout);
                json_obj_begin(&j);
                json_key(&j, "name");
                json_str(&j, pos[0]);
                json_key(&j, "version");
                json_i64(&j, v);
                json_key(&j, "promoted");
                json_bool(&j, false);
                json_key(&j, "error");
                json_str(&j, mlops_status_name(st));
                json_key(&j, "gate_report");
                json_str(&j, report);
                json_obj_end(&j);
                json_end(&j);
            }
        } else if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "name");
            json_str(&j, pos[0]);
            json_key(&j, "version");
            json_i64(&j, v);
            if (dry) {
                json_key(&j, "gate_passed");
                json_bool(&j, passed != 0);
            } else {
                json_key(&j, "promoted");
                json_bool(&j, true);
                json_key(&j, "stage");
                json_str(&j, mlops_registry_stage_name(stage));
            }
            json_key(&j, "gate_report");
            json_str(&j, report);
            json_obj_end(&j);
            json_end(&j);
        } else {
            print_report(stdout, report);
            if (dry)
                printf("dry run: version %lld of '%s' %s the gates\n", (long long)v, pos[0],
                       passed ? "passes" : "fails");
            else
                printf("model '%s' version %lld is now in %s\n", pos[0], (long long)v,
                       mlops_registry_stage_name(stage));
        }
        if (dry && !passed && rc == CLI_OK)
            rc = CLI_FAILED;
        mlops_string_free(env, report);
    }
    mlops_registry_close(r.reg);
    cli_free_values(defs);
    free(pos);
    return rc;
}

static int cmd_alias(cli_ctx *ctx, int argc, char **argv)
{
    const char *reason = NULL;
    int del = 0;
    cli_optdef defs[] = {{"--reason", NULL, true, &reason, NULL, NULL, NULL},
                         {"--delete", NULL, false, NULL, &del, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    int64_t v = 0;
    if (del ? npos != 2 : npos != 3)
        rc = cli_usage(ctx, "usage: mlops models alias NAME ALIAS VERSION, or NAME ALIAS --delete");
    else if (!del && !parse_version(pos[2], &v))
        rc = cli_usage(ctx, "'%s' is not a version number", pos[2]);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        mlops_status st = del ? mlops_registry_delete_alias(r.reg, pos[0], pos[1], reason)
                              : mlops_registry_set_alias(r.reg, pos[0], pos[1], v, reason);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, del ? "cannot remove the alias" : "cannot set the alias");
        else if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "name");
            json_str(&j, pos[0]);
            json_key(&j, "alias");
            json_str(&j, pos[1]);
            json_key(&j, "version");
            if (del)
                json_null(&j);
            else
                json_i64(&j, v);
            json_obj_end(&j);
            json_end(&j);
        } else if (del)
            printf("removed alias '%s' of model '%s'\n", pos[1], pos[0]);
        else
            printf("models:/%s@%s -> version %lld\n", pos[0], pos[1], (long long)v);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_rollback(cli_ctx *ctx, int argc, char **argv)
{
    const char *reason = NULL;
    cli_optdef defs[] = {{"--reason", NULL, true, &reason, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (npos != 1)
        rc = cli_usage(ctx, "usage: mlops models rollback NAME [--reason TEXT]");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        int64_t v = 0;
        mlops_status st = mlops_registry_rollback(&v, r.reg, pos[0], reason);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot roll back");
        else if (ctx->json)
            print_name_version(pos[0], "version", v);
        else
            printf("model '%s' rolled back: version %lld is in Production again\n", pos[0],
                   (long long)v);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

static int cmd_resolve(cli_ctx *ctx, int argc, char **argv)
{
    const char *at = NULL;
    cli_optdef defs[] = {{"--at", NULL, true, &at, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    int64_t at_ms = 0;
    if (npos != 1)
        rc = cli_usage(ctx, "usage: mlops models resolve URI [--at TIME]");
    else if (at && !parse_time_ms(at, &at_ms))
        rc = cli_usage(ctx, "--at takes milliseconds since the epoch or an RFC 3339 UTC time, "
                            "not '%s'",
                       at);
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    if (rc == CLI_OK) {
        int64_t v = 0;
        mlops_status st = at ? mlops_registry_resolve_at(&v, r.reg, pos[0], at_ms)
                             : mlops_registry_resolve(&v, r.reg, pos[0]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot resolve");
        else if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "uri");
            json_str(&j, pos[0]);
            json_key(&j, "version");
            json_i64(&j, v);
            if (at) {
                json_key(&j, "at_ms");
                json_i64(&j, at_ms);
            }
            json_obj_end(&j);
            json_end(&j);
        } else
            printf("%lld\n", (long long)v);
    }
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

/* The file name to write an artifact under: the last part of its logical
 * path if that is a plain name, else model-v<N>.bin. Names are data: this
 * never lets a stored path choose a directory. */
static void artifact_file_name(char *out, size_t cap, const char *path, int64_t v)
{
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    bool ok = base && base[0] && strcmp(base, ".") != 0 && strcmp(base, "..") != 0 &&
              strlen(base) < cap && strpbrk(base, "\\") == NULL;
    for (const char *p = base; ok && *p; p++)
        if ((unsigned char)*p < 0x20)
            ok = false;
    if (ok)
        snprintf(out, cap, "%s", base);
    else
        snprintf(out, cap, "model-v%lld.bin", (long long)v);
}

static int cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    const char *dir = NULL;
    cli_optdef defs[] = {{"--output", "-o", true, &dir, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc != CLI_OK)
        return usage_or_help(ctx, rc);
    reg_cli r = {0};
    if (npos != 1 || dir == NULL)
        rc = cli_usage(ctx, "usage: mlops models get URI -o DIR");
    if (rc == CLI_OK)
        rc = open_reg(ctx, &r);
    char *doc = NULL;
    int fd = -1;
    mlops_blob_reader *br = NULL;
    char path[4096] = "";
    mlops_env *env = r.reg ? mlops_registry_env(r.reg) : NULL;
    int64_t v = 0;
    if (rc == CLI_OK) {
        mlops_status st = mlops_registry_resolve(&v, r.reg, pos[0]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot resolve");
    }
    char name_part[512] = "";
    char *name_end = NULL;
    if (rc == CLI_OK) {
        /* the model name is between "models:/" and the first '/' or '@' */
        snprintf(name_part, sizeof(name_part), "%s", pos[0] + 8);
        name_end = name_part + strcspn(name_part, "/@");
        *name_end = 0;
        mlops_status st = mlops_registry_version_json(&doc, r.reg, name_part, v);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot read the version");
    }
    mlops_hash128 blob;
    uint64_t size = 0;
    if (rc == CLI_OK) {
        mlops_status st = mlops_registry_artifact(&blob, &size, r.reg, name_part, v);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot find the artifact");
    }
    if (rc == CLI_OK) {
        jv root;
        char fname[256];
        const char *ap = NULL;
        bool parsed = jparse(doc, &root) != NULL;
        if (parsed)
            ap = jstr(&root, "artifact_path");
        artifact_file_name(fname, sizeof(fname), ap, v);
        jv_free(&root);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            rc = cli_error(ctx, "cannot create the directory '%s': %s", dir, strerror(errno));
        else if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, fname) >= sizeof(path))
            rc = cli_error(ctx, "the output path is too long");
    }
    if (rc == CLI_OK) {
        mlops_status st = mlops_blob_reader_open(&br, NULL, cli_store(ctx), &blob);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot read the artifact blob");
    }
    char tmp[4200] = "";
    if (rc == CLI_OK) {
        snprintf(tmp, sizeof(tmp), "%s.part-%ld", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = cli_error(ctx, "cannot create '%s': %s", tmp, strerror(errno));
    }
    uint64_t written = 0;
    while (rc == CLI_OK) {
        char buf[65536];
        size_t n = 0;
        mlops_status st = mlops_blob_reader_read(&n, br, buf, sizeof(buf));
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot read the artifact blob");
            break;
        }
        if (n == 0)
            break;
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = cli_error(ctx, "cannot write '%s': %s", tmp, strerror(errno));
                break;
            }
            off += (size_t)w;
        }
        written += n;
    }
    if (fd >= 0) {
        if (rc == CLI_OK && fsync(fd) != 0)
            rc = cli_error(ctx, "cannot write '%s': %s", tmp, strerror(errno));
        close(fd);
        if (rc == CLI_OK && rename(tmp, path) != 0)
            rc = cli_error(ctx, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        if (rc != CLI_OK)
            unlink(tmp);
    }
    if (rc == CLI_OK) {
        if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "uri");
            json_str(&j, pos[0]);
            json_key(&j, "version");
            json_i64(&j, v);
            json_key(&j, "path");
            json_str(&j, path);
            json_key(&j, "size");
            json_u64(&j, written);
            json_obj_end(&j);
            json_end(&j);
        } else {
            printf("%s\n", path);
        }
    }
    mlops_blob_reader_free(br);
    mlops_string_free(env, doc);
    mlops_registry_close(r.reg);
    free(pos);
    return rc;
}

int cli_cmd_models(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage(ctx, "'models' needs a verb: create, list, show, search, delete, "
                              "register, promote, alias, rollback, history, lineage, resolve, get");
    const char *verb = argv[0];
    argc--;
    argv++;
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        fputs(cli_help_models, stdout);
        return CLI_OK;
    }
    if (strcmp(verb, "create") == 0)
        return cmd_create(ctx, argc, argv);
    if (strcmp(verb, "list") == 0)
        return cmd_search(ctx, argc, argv, true);
    if (strcmp(verb, "search") == 0)
        return cmd_search(ctx, argc, argv, false);
    if (strcmp(verb, "show") == 0)
        return cmd_show(ctx, argc, argv, false);
    if (strcmp(verb, "lineage") == 0)
        return cmd_show(ctx, argc, argv, true);
    if (strcmp(verb, "delete") == 0)
        return cmd_delete(ctx, argc, argv);
    if (strcmp(verb, "rename") == 0)
        return cmd_rename(ctx, argc, argv);
    if (strcmp(verb, "tag") == 0)
        return cmd_tag(ctx, argc, argv);
    if (strcmp(verb, "register") == 0)
        return cmd_register(ctx, argc, argv);
    if (strcmp(verb, "promote") == 0 || strcmp(verb, "transition") == 0)
        return cmd_promote(ctx, argc, argv);
    if (strcmp(verb, "alias") == 0)
        return cmd_alias(ctx, argc, argv);
    if (strcmp(verb, "rollback") == 0)
        return cmd_rollback(ctx, argc, argv);
    if (strcmp(verb, "history") == 0)
        return cmd_history(ctx, argc, argv);
    if (strcmp(verb, "resolve") == 0)
        return cmd_resolve(ctx, argc, argv);
    if (strcmp(verb, "get") == 0)
        return cmd_get(ctx, argc, argv);
    return cli_usage(ctx, "unknown verb 'models %s'", verb);
}

/* ---- the demo step ---- */

/* A demo training run whose validation AUC climbs towards `target`. */
static mlops_status demo_run(char *id_out, size_t cap, mlops_store *s, const char *experiment_id,
                             const char *name, double target, const double *weights)
{
    mlops_run_options ro = MLOPS_RUN_OPTIONS_INIT;
    ro.name = name;
    ro.flags = MLOPS_RUN_NO_ENVIRONMENT;
    mlops_run *run = NULL;
    mlops_status st = mlops_run_create(&run, s, experiment_id[0] ? experiment_id : NULL, &ro);
    double auc = 0.5, loss = 0.69;
    for (int epoch = 0; st == MLOPS_OK && epoch < 10; epoch++) {
        loss *= 0.9;
        auc += (target - auc) * 0.35;
        mlops_metric_point pts[2] = {{"loss", loss, epoch, 0}, {"val_auc", auc, epoch, 0}};
        pts[0].timestamp_ms = pts[1].timestamp_ms = mlops_env_now_ns(mlops_store_env(s)) / 1000000;
        st = mlops_run_log_metrics(run, pts, 2);
    }
    if (st == MLOPS_OK)
        st = mlops_run_log_artifact_bytes(run, "model/model.bin", weights, 8 * sizeof(double));
    if (st == MLOPS_OK)
        st = mlops_run_end(run, MLOPS_RUN_FINISHED, 0);
    if (st == MLOPS_OK)
        snprintf(id_out, cap, "%s", mlops_run_id(run));
    mlops_run_close(run);
    return st;
}

/* The artifact the tracking step logged: model/model.bin, or model.bin. */
static const char *demo_artifact(mlops_store *s, const char *run_id)
{
    static const char *const paths[] = {"model/model.bin", "model.bin"};
    mlops_run *run = NULL;
    const char *found = NULL;
    if (mlops_run_open(&run, s, run_id) != MLOPS_OK)
        return NULL;
    for (size_t i = 0; i < 2 && found == NULL; i++)
        if (mlops_run_artifact_stat(NULL, NULL, run, paths[i]) == MLOPS_OK)
            found = paths[i];
    mlops_run_close(run);
    return found;
}

int cli_demo_registry(cli_ctx *ctx, cli_demo_state *st)
{
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    printf("== registry: register, gate, promote, refuse a worse challenger ==\n");
    if (st->run_id[0] == '\0') {
        /* run on its own (or after a tracking step that logged nothing) */
        static const double w[8] = {0.42, -1.3, 0.07, 2.1, -0.55, 0.9, 0.0, 1.0};
        mlops_status ms = demo_run(st->run_id, sizeof(st->run_id), s, st->experiment_id,
                                   "demo-champion", 0.86, w);
        if (ms != MLOPS_OK)
            return cli_fail(ctx, ms, "registry demo: training run");
        printf("logged training run %s (val_auc towards 0.86)\n", st->run_id);
    }
    const char *artifact = demo_artifact(s, st->run_id);
    if (artifact == NULL)
        return cli_error(ctx, "registry demo: run %s has no model artifact", st->run_id);
    reg_cli r = {0};
    int rc = open_reg(ctx, &r);
    if (rc != CLI_OK)
        return rc;
    const char *model = "churn";
    const char *user = default_user(NULL);
    mlops_env *env = mlops_registry_env(r.reg);
    char *report = NULL;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.run_id = st->run_id;
    o.artifact_path = artifact;
    o.description = "logistic regression from mlops demo";
    o.user = user;
    int64_t v = 0;
    mlops_status ms = mlops_registry_register(&v, r.reg, model, &o);
    if (ms != MLOPS_OK) {
        rc = cli_fail(ctx, ms, "registry demo: register");
        goto out;
    }
    printf("registered models:/%s/%lld from runs:/%s/%s\n", model, (long long)v, st->run_id,
           artifact);
    const char *champion_gates[] = {"val_auc >= 0.8"};
    mlops_promote_options po;
    mlops_promote_options_init(&po, MLOPS_PROMOTE_OPTIONS_VERSION);
    po.gate_exprs = champion_gates;
    po.n_gate_exprs = 1;
    po.reason = "passed the demo gate";
    po.user = user;
    ms = mlops_registry_promote(&report, r.reg, model, v, "Production", &po);
    print_report(stdout, report);
    mlops_string_free(env, report);
    report = NULL;
    if (ms != MLOPS_OK) {
        rc = cli_fail(ctx, ms, "registry demo: promote");
        goto out;
    }
    ms = mlops_registry_set_alias(r.reg, model, "champion", v, "demo champion");
    if (ms != MLOPS_OK) {
        rc = cli_fail(ctx, ms, "registry demo: alias");
        goto out;
    }
    printf("version %lld is in Production; models:/%s@champion -> %lld\n", (long long)v, model,
           (long long)v);
    snprintf(st->model_name, sizeof(st->model_name), "%s", model);
    st->model_version = v;

    char cid[64] = "";
    static const double cw[8] = {0.4, -1.1, 0.1, 1.9, -0.5, 0.8, 0.1, 0.9};
    ms = demo_run(cid, sizeof(cid), s, st->experiment_id, "demo-challenger", 0.79, cw);
    int64_t cv = 0;
    if (ms == MLOPS_OK) {
        o.run_id = cid;
        o.artifact_path = "model/model.bin";
        o.description = "a challenger with a lower validation AUC";
        ms = mlops_registry_register(&cv, r.reg, model, &o);
    }
    if (ms != MLOPS_OK) {
        rc = cli_fail(ctx, ms, "registry demo: challenger");
        goto out;
    }
    printf("\nchallenger run %s registered as version %lld\n", cid, (long long)cv);
    const char *challenger_gates[] = {"val_auc >= 0.75", "val_auc >= baseline + 0.01"};
    po.gate_exprs = challenger_gates;
    po.n_gate_exprs = 2;
    po.reason = "challenger";
    ms = mlops_registry_promote(&report, r.reg, model, cv, "Production", &po);
    if (ms == MLOPS_OK) {
        mlops_string_free(env, report);
        rc = cli_error(ctx, "registry demo: the gate let a worse challenger through");
        goto out;
    }
    if (ms != MLOPS_E_CONFLICT || report == NULL) {
        rc = cli_fail(ctx, ms, "registry demo: challenger promotion");
        goto out;
    }
    print_report(stdout, report);
    printf("refused as it should be: %s\n", mlops_error_message());
    mlops_string_free(env, report);
    report = NULL;
    ms = mlops_registry_set_alias(r.reg, model, "challenger", cv, "kept for an A/B test");
    if (ms != MLOPS_OK) {
        rc = cli_fail(ctx, ms, "registry demo: alias");
        goto out;
    }
    printf("models:/%s@challenger -> %lld; Production is still version %lld\n\n", model,
           (long long)cv, (long long)v);
    char *doc = NULL;
    bool json = ctx->json;
    ctx->json = false;
    ms = mlops_registry_history_json(&doc, r.reg, model);
    rc = with_doc(&r, ms, doc, "registry demo: history", human_history, NULL);
    ctx->json = json;
    printf("  see it: mlops models show %s; mlops models lineage %s %lld\n\n", model, model,
           (long long)v);
out:
    mlops_registry_close(r.reg);
    return rc;
}

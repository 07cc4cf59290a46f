/* SPDX-License-Identifier: MIT */
/* `mlops experiments`, `mlops runs`, `mlops artifacts` and the tracking
 * step of `mlops demo`. JSON field names are documented in docs/tracking.md. */
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define MAX_LINE 8192

static const char *lifecycle_name(uint32_t lc)
{
    return lc == MLOPS_LIFECYCLE_DELETED ? "deleted" : "active";
}

static const char *status_name(uint32_t s)
{
    static const char *const names[] = {"UNKNOWN", "RUNNING", "SCHEDULED",
                                        "FINISHED", "FAILED", "KILLED"};
    return s <= 5 ? names[s] : "UNKNOWN";
}

static uint32_t parse_view(const char *v)
{
    if (v == NULL || strcmp(v, "active") == 0)
        return MLOPS_VIEW_ACTIVE;
    if (strcmp(v, "deleted") == 0)
        return MLOPS_VIEW_DELETED;
    if (strcmp(v, "all") == 0)
        return MLOPS_VIEW_ALL;
    return 0;
}

/* An experiment given by id or by name; the id is written to out. */
static int resolve_experiment(cli_ctx *ctx, mlops_store *s, const char *x, char *out,
                              size_t cap)
{
    mlops_experiment_list *l = NULL;
    mlops_status st = mlops_experiment_list_open(&l, s, MLOPS_VIEW_ALL);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot list experiments");
    int rc = CLI_FAILED;
    for (size_t i = 0; i < mlops_experiment_list_count(l) && rc != CLI_OK; i++) {
        if (strcmp(mlops_experiment_list_id(l, i), x) == 0) {
            snprintf(out, cap, "%s", x);
            rc = CLI_OK;
        }
    }
    for (size_t i = 0; i < mlops_experiment_list_count(l) && rc != CLI_OK; i++) {
        if (strcmp(mlops_experiment_list_name(l, i), x) == 0) {
            snprintf(out, cap, "%s", mlops_experiment_list_id(l, i));
            rc = CLI_OK;
        }
    }
    mlops_experiment_list_free(l);
    if (rc != CLI_OK)
        cli_error(ctx, "no experiment with id or name '%s'", x);
    return rc;
}

/* ---------------------------------------------------------------- experiments */

const char cli_help_experiments[] =
    "usage: mlops experiments <verb> ...\n"
    "\n"
    "  create NAME                 create an experiment; prints its id\n"
    "  list [--view active|deleted|all]\n"
    "  rename EXPERIMENT NEW_NAME  (EXPERIMENT is an id or a name)\n"
    "  delete EXPERIMENT           soft delete (restorable)\n"
    "  restore EXPERIMENT\n"
    "\n"
    "--json prints objects with experiment_id, name, lifecycle_stage,\n"
    "creation_time and last_update_time (milliseconds since the epoch).\n";

int cli_cmd_experiments(cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(cli_help_experiments, stdout);
        return CLI_OK;
    }
    if (argc < 1)
        return cli_usage(ctx, "experiments needs a verb (create, list, rename, delete, restore)");
    const char *verb = argv[0];
    const char *view = NULL;
    cli_optdef defs[] = {{"--view", NULL, true, &view, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc - 1, argv + 1, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_experiments, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_store *s = NULL;
    char id[64];
    mlops_status st;
    if (strcmp(verb, "create") == 0) {
        if (npos != 1) {
            rc = cli_usage(ctx, "usage: mlops experiments create NAME");
        } else if ((s = cli_store(ctx)) == NULL) {
            rc = CLI_FAILED;
        } else {
            char *eid = NULL;
            st = mlops_experiment_create(&eid, s, pos[0]);
            if (st != MLOPS_OK) {
                rc = cli_fail(ctx, st, "cannot create experiment");
            } else if (ctx->json) {
                cli_json j;
                json_init(&j, stdout);
                json_obj_begin(&j);
                json_key(&j, "experiment_id");
                json_str(&j, eid);
                json_key(&j, "name");
                json_str(&j, pos[0]);
                json_obj_end(&j);
                json_end(&j);
            } else {
                printf("%s\n", eid);
            }
            mlops_string_free(ctx->env, eid);
        }
    } else if (strcmp(verb, "list") == 0) {
        uint32_t v = parse_view(view);
        if (v == 0)
            rc = cli_usage(ctx, "--view must be active, deleted or all");
        else if ((s = cli_store(ctx)) == NULL)
            rc = CLI_FAILED;
        else {
            mlops_experiment_list *l = NULL;
            st = mlops_experiment_list_open(&l, s, v);
            if (st != MLOPS_OK) {
                rc = cli_fail(ctx, st, "cannot list experiments");
            } else if (ctx->json) {
                cli_json j;
                json_init(&j, stdout);
                json_arr_begin(&j);
                for (size_t i = 0; i < mlops_experiment_list_count(l); i++) {
                    json_obj_begin(&j);
                    json_key(&j, "experiment_id");
                    json_str(&j, mlops_experiment_list_id(l, i));
                    json_key(&j, "name");
                    json_str(&j, mlops_experiment_list_name(l, i));
                    json_key(&j, "lifecycle_stage");
                    json_str(&j, lifecycle_name(mlops_experiment_list_lifecycle(l, i)));
                    json_key(&j, "creation_time");
                    json_i64(&j, mlops_experiment_list_creation_time(l, i));
                    json_key(&j, "last_update_time");
                    json_i64(&j, mlops_experiment_list_last_update_time(l, i));
                    json_obj_end(&j);
                }
                json_arr_end(&j);
                json_end(&j);
            } else {
                printf("%-6s %-8s %-24s %s\n", "ID", "STAGE", "CREATED", "NAME");
                for (size_t i = 0; i < mlops_experiment_list_count(l); i++) {
                    char t[40];
                    printf("%-6s %-8s %-24s %s\n", mlops_experiment_list_id(l, i),
                           lifecycle_name(mlops_experiment_list_lifecycle(l, i)),
                           cli_fmt_time_ms(t, sizeof(t), mlops_experiment_list_creation_time(l, i)),
                           mlops_experiment_list_name(l, i));
                }
            }
            mlops_experiment_list_free(l);
        }
    } else if (strcmp(verb, "rename") == 0 || strcmp(verb, "delete") == 0 ||
               strcmp(verb, "restore") == 0) {
        bool ren = verb[2] == 'n';
        if (npos != (ren ? 2 : 1)) {
            rc = cli_usage(ctx, ren ? "usage: mlops experiments rename EXPERIMENT NEW_NAME"
                                    : "usage: mlops experiments %s EXPERIMENT", verb);
        } else if ((s = cli_store(ctx)) == NULL ||
                   resolve_experiment(ctx, s, pos[0], id, sizeof(id)) != CLI_OK) {
            rc = CLI_FAILED;
        } else {
            st = ren ? mlops_experiment_rename(s, id, pos[1])
                 : verb[0] == 'd' ? mlops_experiment_delete(s, id)
                                  : mlops_experiment_restore(s, id);
            if (st != MLOPS_OK) {
                char what[160];
                snprintf(what, sizeof(what), "cannot %s experiment %s", verb, id);
                rc = cli_fail(ctx, st, what);
            }
        }
    } else {
        rc = cli_usage(ctx, "unknown verb 'experiments %s'", verb);
    }
    free(pos);
    return rc;
}

/* ---------------------------------------------------------------- runs: output */

static void json_run(cli_json *j, const mlops_run_list *l, size_t i)
{
    uint32_t status, lc;
    int64_t start, end;
    mlops_run_list_info(&status, &lc, &start, &end, l, i);
    json_obj_begin(j);
    json_key(j, "run_id");
    json_str(j, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_ID));
    json_key(j, "experiment_id");
    json_str(j, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_EXPERIMENT_ID));
    json_key(j, "run_name");
    json_str(j, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_NAME));
    json_key(j, "status");
    json_str(j, status_name(status));
    json_key(j, "lifecycle_stage");
    json_str(j, lifecycle_name(lc));
    json_key(j, "start_time");
    json_i64(j, start);
    json_key(j, "end_time");
    if (end != 0)
        json_i64(j, end);
    else
        json_null(j);
    json_key(j, "user_id");
    json_str(j, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_USER));
    json_key(j, "parent_run_id");
    const char *parent = mlops_run_list_text(l, i, MLOPS_RUN_FIELD_PARENT_ID);
    if (parent && parent[0])
        json_str(j, parent);
    else
        json_null(j);
    const uint32_t kinds[2] = {MLOPS_ITEM_PARAM, MLOPS_ITEM_TAG};
    const char *names[2] = {"params", "tags"};
    for (int k = 0; k < 2; k++) {
        json_key(j, names[k]);
        json_obj_begin(j);
        for (size_t m = 0; m < mlops_run_list_item_count(l, i, kinds[k]); m++) {
            json_key(j, mlops_run_list_item_key(l, i, kinds[k], m));
            json_str(j, mlops_run_list_item_value(l, i, kinds[k], m));
        }
        json_obj_end(j);
    }
    json_key(j, "metrics");
    json_obj_begin(j);
    for (size_t m = 0; m < mlops_run_list_item_count(l, i, MLOPS_ITEM_METRIC); m++) {
        json_key(j, mlops_run_list_item_key(l, i, MLOPS_ITEM_METRIC, m));
        const mlops_metric_value *v = mlops_run_list_metric(l, i, m);
        json_obj_begin(j);
        json_key(j, "value");
        json_f64(j, v->value);
        json_key(j, "step");
        json_i64(j, v->step);
        json_key(j, "timestamp");
        json_i64(j, v->timestamp_ms);
        json_obj_end(j);
    }
    json_obj_end(j);
    json_key(j, "datasets");
    json_arr_begin(j);
    for (size_t m = 0; m < mlops_run_list_item_count(l, i, MLOPS_ITEM_DATASET); m++) {
        json_obj_begin(j);
        json_key(j, "name");
        json_str(j, mlops_run_list_item_key(l, i, MLOPS_ITEM_DATASET, m));
        json_key(j, "digest");
        json_str(j, mlops_run_list_item_value(l, i, MLOPS_ITEM_DATASET, m));
        json_key(j, "rows");
        int64_t rows = mlops_run_list_dataset_rows(l, i, m);
        if (rows >= 0)
            json_i64(j, rows);
        else
            json_null(j);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
}

static void print_table(const mlops_run_list *l)
{
    printf("%-32s %-6s %-9s %-24s %s\n", "RUN ID", "EXP", "STATUS", "STARTED", "NAME");
    for (size_t i = 0; i < mlops_run_list_count(l); i++) {
        uint32_t status;
        int64_t start;
        char t[40];
        mlops_run_list_info(&status, NULL, &start, NULL, l, i);
        cli_fmt_time_ms(t, sizeof(t), start);
        printf("%-32s %-6s %-9s %-24s %s\n", mlops_run_list_text(l, i, MLOPS_RUN_FIELD_ID),
               mlops_run_list_text(l, i, MLOPS_RUN_FIELD_EXPERIMENT_ID), status_name(status), t,
               mlops_run_list_text(l, i, MLOPS_RUN_FIELD_NAME));
    }
}

static void csv_field(FILE *f, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A sorted set of column names. */
typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static int strset_add(strset *s, const char *x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->v[mid], x);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **nv = realloc(s->v, cap * sizeof(char *));
        if (nv == NULL)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    char *copy = strdup(x);
    if (copy == NULL)
        return -1;
    memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(char *));
    s->v[lo] = copy;
    s->n++;
    return 0;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static size_t find_item(const mlops_run_list *l, size_t i, uint32_t kind, const char *key)
{
    for (size_t m = 0; m < mlops_run_list_item_count(l, i, kind); m++) {
        if (strcmp(mlops_run_list_item_key(l, i, kind, m), key) == 0)
            return m;
    }
    return (size_t)-1;
}

/* CSV shaped like mlflow.search_runs(): run attributes, then metrics.*,
 * params.* and tags.* columns over the union of keys. */
static int write_csv(cli_ctx *ctx, FILE *f, const mlops_run_list *l)
{
    strset cols[3] = {{0}};
    const uint32_t kinds[3] = {MLOPS_ITEM_METRIC, MLOPS_ITEM_PARAM, MLOPS_ITEM_TAG};
    const char *prefix[3] = {"metrics.", "params.", "tags."};
    for (size_t i = 0; i < mlops_run_list_count(l); i++) {
        for (int k = 0; k < 3; k++) {
            for (size_t m = 0; m < mlops_run_list_item_count(l, i, kinds[k]); m++) {
                if (strset_add(&cols[k], mlops_run_list_item_key(l, i, kinds[k], m)) != 0) {
                    for (int z = 0; z < 3; z++)
                        strset_free(&cols[z]);
                    return cli_error(ctx, "out of memory");
                }
            }
        }
    }
    fputs("run_id,experiment_id,run_name,status,lifecycle_stage,start_time,end_time", f);
    for (int k = 0; k < 3; k++) {
        for (size_t c = 0; c < cols[k].n; c++) {
            fputc(',', f);
            char name[600];
            snprintf(name, sizeof(name), "%s%s", prefix[k], cols[k].v[c]);
            csv_field(f, name);
        }
    }
    fputc('\n', f);
    for (size_t i = 0; i < mlops_run_list_count(l); i++) {
        uint32_t status, lc;
        int64_t start, end;
        mlops_run_list_info(&status, &lc, &start, &end, l, i);
        fprintf(f, "%s,%s,", mlops_run_list_text(l, i, MLOPS_RUN_FIELD_ID),
                mlops_run_list_text(l, i, MLOPS_RUN_FIELD_EXPERIMENT_ID));
        csv_field(f, mlops_run_list_text(l, i, MLOPS_RUN_FIELD_NAME));
        fprintf(f, ",%s,%s,%lld,", status_name(status), lifecycle_name(lc), (long long)start);
        if (end != 0)
            fprintf(f, "%lld", (long long)end);
        for (int k = 0; k < 3; k++) {
            for (size_t c = 0; c < cols[k].n; c++) {
                fputc(',', f);
                size_t m = find_item(l, i, kinds[k], cols[k].v[c]);
                if (m == (size_t)-1)
                    continue;
                if (kinds[k] == MLOPS_ITEM_METRIC) {
                    char num[40];
                    fputs(cli_fmt_f64(num, sizeof(num), mlops_run_list_metric(l, i, m)->value), f);
                } else {
                    csv_field(f, mlops_run_list_item_value(l, i, kinds[k], m));
                }
            }
        }
        fputc('\n', f);
    }
    for (int k = 0; k < 3; k++)
        strset_free(&cols[k]);
    return CLI_OK;
}

static void print_run(cli_ctx *ctx, const mlops_run_list *l, mlops_run *run)
{
    uint32_t status, lc;
    int64_t start, end;
    char t1[40], t2[40], num[40];
    mlops_run_list_info(&status, &lc, &start, &end, l, 0);
    printf("run:        %s\n", mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_ID));
    printf("name:       %s\n", mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_NAME));
    printf("experiment: %s\n", mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_EXPERIMENT_ID));
    printf("status:     %s%s\n", status_name(status),
           lc == MLOPS_LIFECYCLE_DELETED ? " (deleted)" : "");
    printf("started:    %s\n", cli_fmt_time_ms(t1, sizeof(t1), start));
    if (end != 0)
        printf("ended:      %s\n", cli_fmt_time_ms(t2, sizeof(t2), end));
    const char *parent = mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_PARENT_ID);
    if (parent && parent[0])
        printf("parent:     %s\n", parent);
    size_t n = mlops_run_list_item_count(l, 0, MLOPS_ITEM_PARAM);
    if (n > 0)
        printf("params:\n");
    for (size_t m = 0; m < n; m++)
        printf("  %s = %s\n", mlops_run_list_item_key(l, 0, MLOPS_ITEM_PARAM, m),
               mlops_run_list_item_value(l, 0, MLOPS_ITEM_PARAM, m));
    n = mlops_run_list_item_count(l, 0, MLOPS_ITEM_METRIC);
    if (n > 0)
        printf("metrics (latest):\n");
    for (size_t m = 0; m < n; m++) {
        const mlops_metric_value *v = mlops_run_list_metric(l, 0, m);
        printf("  %s = %s (step %lld)\n", mlops_run_list_item_key(l, 0, MLOPS_ITEM_METRIC, m),
               cli_fmt_f64(num, sizeof(num), v->value), (long long)v->step);
    }
    n = mlops_run_list_item_count(l, 0, MLOPS_ITEM_TAG);
    if (n > 0)
        printf("tags:\n");
    for (size_t m = 0; m < n; m++)
        printf("  %s = %s\n", mlops_run_list_item_key(l, 0, MLOPS_ITEM_TAG, m),
               mlops_run_list_item_value(l, 0, MLOPS_ITEM_TAG, m));
    n = mlops_run_list_item_count(l, 0, MLOPS_ITEM_DATASET);
    if (n > 0)
        printf("datasets:\n");
    for (size_t m = 0; m < n; m++) {
        int64_t rows = mlops_run_list_dataset_rows(l, 0, m);
        printf("  %s xxh3:%s", mlops_run_list_item_key(l, 0, MLOPS_ITEM_DATASET, m),
               mlops_run_list_item_value(l, 0, MLOPS_ITEM_DATASET, m));
        if (rows >= 0)
            printf(" (%lld rows)", (long long)rows);
        printf("\n");
    }
    mlops_artifact_list *al = NULL;
    if (mlops_artifact_list_open(&al, run, NULL) == MLOPS_OK && mlops_artifact_list_count(al)) {
        printf("artifacts:\n");
        for (size_t m = 0; m < mlops_artifact_list_count(al); m++)
            printf("  %s (%llu bytes)\n", mlops_artifact_list_path(al, m),
                   (unsigned long long)mlops_artifact_list_size(al, m));
    }
    mlops_artifact_list_free(al);
    (void)ctx;
}

/* ---------------------------------------------------------------- runs: verbs */

const char cli_help_runs[] =
    "usage: mlops runs <verb> ...\n"
    "\n"
    "  start [--experiment NAME|ID] [--name NAME] [--parent RUN] [--tag K=V]...\n"
    "                              start a run; prints its id alone\n"
    "  end RUN [--status FINISHED|FAILED|KILLED]\n"
    "  list [--experiment X]... [--view active|deleted|all] [--max-results N]\n"
    "  show RUN\n"
    "  search [--experiment X]... [--filter F] [--order-by K]... [--max-results N]\n"
    "         [--page-token T] [--view V]\n"
    "  compare RUN RUN...          params that differ and latest metrics side by side\n"
    "  delete RUN | restore RUN\n"
    "  log-param RUN KEY VALUE\n"
    "  log-metric RUN KEY VALUE [--step N] [--timestamp MS]\n"
    "  log-metric RUN -            read 'key value [step [timestamp]]' lines from stdin\n"
    "  set-tag RUN KEY VALUE\n"
    "  log-artifact RUN PATH [--artifact-path P]   a file or a directory\n"
    "  log-dataset RUN FILE [--name N] [--rows N]  record the file's XXH3-128\n"
    "  metrics RUN KEY [--max-points N]            a metric's history\n"
    "  export [RUN]... [--format json|csv] [--output FILE] [--experiment X] [--filter F]\n"
    "  export --format mlflow DIR [RUN]...         MLflow's mlruns layout\n"
    "  import DIR                  read an MLflow mlruns directory\n"
    "\n"
    "Filters use MLflow's grammar plus OR and parentheses, for example\n"
    "  \"metrics.val_auc > 0.8 AND (params.model = 'gbm' OR tags.team LIKE 'fr%')\".\n";

typedef struct runopts {
    const char *experiment, *name, *parent, *status, *filter, *page_token, *max_results;
    const char *view, *step, *timestamp, *artifact_path, *rows, *format, *output, *max_points;
    const char **tags, **experiments, **order_by;
    size_t n_tags, n_experiments, n_order_by;
} runopts;

static int open_run(cli_ctx *ctx, const char *id, mlops_run **out)
{
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    mlops_status st = mlops_run_open(out, s, id);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot open run");
    return CLI_OK;
}

static int do_start(cli_ctx *ctx, runopts *o, int npos)
{
    if (npos != 0)
        return cli_usage(ctx, "usage: mlops runs start [--experiment X] [--name N] ...");
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    char exp[64] = "";
    mlops_status st;
    if (o->experiment != NULL) {
        mlops_experiment_list *l = NULL;
        bool found = false;
        if (mlops_experiment_list_open(&l, s, MLOPS_VIEW_ALL) == MLOPS_OK) {
            for (size_t i = 0; i < mlops_experiment_list_count(l) && !found; i++) {
                if (strcmp(mlops_experiment_list_id(l, i), o->experiment) == 0) {
                    snprintf(exp, sizeof(exp), "%s", o->experiment);
                    found = true;
                }
            }
        }
        mlops_experiment_list_free(l);
        if (!found) {
            char *id = NULL;
            st = mlops_experiment_get_or_create(&id, s, o->experiment);
            if (st != MLOPS_OK)
                return cli_fail(ctx, st, "cannot use experiment");
            snprintf(exp, sizeof(exp), "%s", id);
            mlops_string_free(ctx->env, id);
        }
    }
    const char **keys = calloc(o->n_tags + 1, sizeof(char *));
    const char **vals = calloc(o->n_tags + 1, sizeof(char *));
    char **bufs = calloc(o->n_tags + 1, sizeof(char *));
    int rc = CLI_OK;
    for (size_t i = 0; i < o->n_tags && rc == CLI_OK; i++) {
        bufs[i] = strdup(o->tags[i]);
        char *eq = bufs[i] ? strchr(bufs[i], '=') : NULL;
        if (eq == NULL) {
            rc = cli_usage(ctx, "--tag needs KEY=VALUE, got '%s'", o->tags[i]);
            break;
        }
        *eq = '\0';
        keys[i] = bufs[i];
        vals[i] = eq + 1;
    }
    if (rc == CLI_OK) {
        mlops_run_options ro = MLOPS_RUN_OPTIONS_INIT;
        ro.name = o->name;
        ro.parent_run_id = o->parent;
        ro.tag_keys = keys;
        ro.tag_values = vals;
        ro.n_tags = o->n_tags;
        mlops_run *run = NULL;
        st = mlops_run_create(&run, s, exp[0] ? exp : NULL, &ro);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot start run");
        } else if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "run_id");
            json_str(&j, mlops_run_id(run));
            json_key(&j, "experiment_id");
            json_str(&j, mlops_run_experiment_id(run));
            json_obj_end(&j);
            json_end(&j);
        } else {
            printf("%s\n", mlops_run_id(run));
        }
        mlops_run_close(run);
    }
    for (size_t i = 0; i < o->n_tags; i++)
        free(bufs[i]);
    free(bufs);
    free(keys);
    free(vals);
    return rc;
}

static int do_search(cli_ctx *ctx, runopts *o, bool list_only)
{
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    char (*ids)[64] = calloc(o->n_experiments + 1, 64);
    const char **idp = calloc(o->n_experiments + 1, sizeof(char *));
    int rc = CLI_OK;
    for (size_t i = 0; i < o->n_experiments && rc == CLI_OK; i++) {
        rc = resolve_experiment(ctx, s, o->experiments[i], ids[i], 64);
        idp[i] = ids[i];
    }
    mlops_search_options so = MLOPS_SEARCH_OPTIONS_INIT;
    so.view = parse_view(o->view);
    if (rc == CLI_OK && so.view == 0)
        rc = cli_usage(ctx, "--view must be active, deleted or all");
    int64_t max = 0;
    if (rc == CLI_OK && o->max_results && (!cli_parse_i64(o->max_results, &max) || max <= 0))
        rc = cli_usage(ctx, "--max-results needs a positive number");
    mlops_run_list *l = NULL;
    if (rc == CLI_OK) {
        so.experiment_ids = idp;
        so.n_experiment_ids = o->n_experiments;
        so.filter = list_only ? NULL : o->filter;
        so.order_by = list_only ? NULL : o->order_by;
        so.n_order_by = list_only ? 0 : o->n_order_by;
        so.max_results = (size_t)max;
        so.page_token = o->page_token;
        mlops_status st = mlops_run_search(&l, s, &so);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "search failed");
    }
    if (rc == CLI_OK) {
        if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "runs");
            json_arr_begin(&j);
            for (size_t i = 0; i < mlops_run_list_count(l); i++)
                json_run(&j, l, i);
            json_arr_end(&j);
            json_key(&j, "next_page_token");
            json_str(&j, mlops_run_list_next_page_token(l));
            json_obj_end(&j);
            json_end(&j);
        } else {
            print_table(l);
            if (mlops_run_list_next_page_token(l))
                printf("next page: --page-token %s\n", mlops_run_list_next_page_token(l));
        }
    }
    mlops_run_list_free(l);
    free(ids);
    free(idp);
    return rc;
}

static int do_show(cli_ctx *ctx, const char *id)
{
    mlops_run *run = NULL;
    if (open_run(ctx, id, &run) != CLI_OK)
        return CLI_FAILED;
    mlops_run_list *l = NULL;
    mlops_status st = mlops_run_list_get(&l, ctx->store, id);
    int rc = CLI_OK;
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot read run");
    } else if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_run(&j, l, 0);
        json_end(&j);
    } else {
        print_run(ctx, l, run);
    }
    mlops_run_list_free(l);
    mlops_run_close(run);
    return rc;
}

static int do_compare(cli_ctx *ctx, char **ids, int n)
{
    if (n < 2)
        return cli_usage(ctx, "usage: mlops runs compare RUN RUN...");
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    mlops_run_list **ls = calloc((size_t)n, sizeof(*ls));
    int rc = CLI_OK;
    for (int i = 0; i < n && rc == CLI_OK; i++) {
        mlops_status st = mlops_run_list_get(&ls[i], s, ids[i]);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot read run");
    }
    strset params = {0}, metrics = {0};
    for (int i = 0; i < n && rc == CLI_OK; i++) {
        for (size_t m = 0; m < mlops_run_list_item_count(ls[i], 0, MLOPS_ITEM_PARAM); m++)
            strset_add(&params, mlops_run_list_item_key(ls[i], 0, MLOPS_ITEM_PARAM, m));
        for (size_t m = 0; m < mlops_run_list_item_count(ls[i], 0, MLOPS_ITEM_METRIC); m++)
            strset_add(&metrics, mlops_run_list_item_key(ls[i], 0, MLOPS_ITEM_METRIC, m));
    }
    if (rc == CLI_OK) {
        cli_json j;
        if (ctx->json) {
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "runs");
            json_arr_begin(&j);
            for (int i = 0; i < n; i++)
                json_str(&j, ids[i]);
            json_arr_end(&j);
            json_key(&j, "params");
            json_obj_begin(&j);
        } else {
            printf("%-24s", "");
            for (int i = 0; i < n; i++)
                printf(" %-16.8s", ids[i]);
            printf("\nparams that differ:\n");
        }
        for (size_t c = 0; c < params.n; c++) {
            const char *first = NULL;
            bool differ = false;
            for (int i = 0; i < n; i++) {
                size_t m = find_item(ls[i], 0, MLOPS_ITEM_PARAM, params.v[c]);
                const char *v = m == (size_t)-1 ? NULL
                                                : mlops_run_list_item_value(ls[i], 0,
                                                                            MLOPS_ITEM_PARAM, m);
                if (i == 0)
                    first = v;
                else if ((v == NULL) != (first == NULL) || (v && strcmp(v, first) != 0))
                    differ = true;
            }
            if (!differ)
                continue;
            if (ctx->json) {
                json_key(&j, params.v[c]);
                json_arr_begin(&j);
            } else {
                printf("  %-22.22s", params.v[c]);
            }
            for (int i = 0; i < n; i++) {
                size_t m = find_item(ls[i], 0, MLOPS_ITEM_PARAM, params.v[c]);
                const char *v = m == (size_t)-1 ? NULL
                                                : mlops_run_list_item_value(ls[i], 0,
                                                                            MLOPS_ITEM_PARAM, m);
                if (ctx->json)
                    json_str(&j, v);
                else
                    printf(" %-16.16s", v ? v : "-");
            }
            if (ctx->json)
                json_arr_end(&j);
            else
                printf("\n");
        }
        if (ctx->json) {
            json_obj_end(&j);
            json_key(&j, "metrics");
            json_obj_begin(&j);
        } else {
            printf("metrics (latest):\n");
        }
        for (size_t c = 0; c < metrics.n; c++) {
            if (ctx->json) {
                json_key(&j, metrics.v[c]);
                json_arr_begin(&j);
            } else {
                printf("  %-22.22s", metrics.v[c]);
            }
            for (int i = 0; i < n; i++) {
                size_t m = find_item(ls[i], 0, MLOPS_ITEM_METRIC, metrics.v[c]);
                char num[40];
                if (m == (size_t)-1) {
                    if (ctx->json)
                        json_null(&j);
                    else
                        printf(" %-16s", "-");
                } else if (ctx->json) {
                    json_f64(&j, mlops_run_list_metric(ls[i], 0, m)->value);
                } else {
                    printf(" %-16s",
                           cli_fmt_f64(num, sizeof(num), mlops_run_list_metric(ls[i], 0, m)->value));
                }
            }
            if (ctx->json)
                json_arr_end(&j);
            else
                printf("\n");
        }
        if (ctx->json) {
            json_obj_end(&j);
            json_obj_end(&j);
            json_end(&j);
        }
    }
    strset_free(&params);
    strset_free(&metrics);
    for (int i = 0; i < n; i++)
        mlops_run_list_free(ls[i]);
    free(ls);
    return rc;
}

/* `log-metric RUN -`: one point per line, sent in batches of 1000. */
static int metrics_from_stdin(cli_ctx *ctx, mlops_run *run)
{
    enum { BATCH = 1000 };
    mlops_metric_point *pts = calloc(BATCH, sizeof(*pts));
    char **keys = calloc(BATCH, sizeof(char *));
    char *line = malloc(MAX_LINE);
    if (pts == NULL || keys == NULL || line == NULL) {
        free(pts);
        free(keys);
        free(line);
        return cli_error(ctx, "out of memory");
    }
    size_t n = 0, lineno = 0, total = 0;
    int rc = CLI_OK;
    int64_t now = mlops_env_now_ns(ctx->env) / 1000000;
    while (rc == CLI_OK && fgets(line, MAX_LINE, stdin) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == MAX_LINE - 1 && line[len - 1] != '\n') {
            rc = cli_error(ctx, "stdin line %zu is longer than %d bytes", lineno, MAX_LINE - 2);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *save = NULL;
        char *tok[5];
        int nt = 0;
        for (char *t = strtok_r(line, " \t", &save); t && nt < 5; t = strtok_r(NULL, " \t", &save))
            tok[nt++] = t;
        if (nt == 0 || tok[0][0] == '#')
            continue;
        double v;
        int64_t step = 0, ts = now;
        if (nt < 2 || nt > 4 || !cli_parse_f64(tok[1], &v) ||
            (nt >= 3 && !cli_parse_i64(tok[2], &step)) ||
            (nt == 4 && !cli_parse_i64(tok[3], &ts))) {
            rc = cli_error(ctx, "stdin line %zu: expected 'key value [step [timestamp_ms]]'",
                           lineno);
            break;
        }
        keys[n] = strdup(tok[0]);
        if (keys[n] == NULL) {
            rc = cli_error(ctx, "out of memory");
            break;
        }
        pts[n] = (mlops_metric_point){keys[n], v, step, ts};
        if (++n == BATCH) {
            mlops_status st = mlops_run_log_metrics(run, pts, n);
            if (st != MLOPS_OK) {
                char what[64];
                snprintf(what, sizeof(what), "batch ending at stdin line %zu", lineno);
                rc = cli_fail(ctx, st, what);
            }
            for (size_t i = 0; i < n; i++)
                free(keys[i]);
            total += n;
            n = 0;
        }
    }
    if (rc == CLI_OK && n > 0) {
        mlops_status st = mlops_run_log_metrics(run, pts, n);
        if (st != MLOPS_OK) {
            char what[64];
            snprintf(what, sizeof(what), "batch ending at stdin line %zu", lineno);
            rc = cli_fail(ctx, st, what);
        }
        total += n;
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    if (rc == CLI_OK && ctx->json)
        printf("{\"logged\": %zu}\n", total);
    free(pts);
    free(keys);
    free(line);
    return rc;
}

static int do_metrics(cli_ctx *ctx, mlops_run *run, const char *key, const char *maxp)
{
    int64_t max = 0;
    if (maxp && (!cli_parse_i64(maxp, &max) || max < 0))
        return cli_usage(ctx, "--max-points needs a number >= 2");
    mlops_metric_history *h = NULL;
    mlops_status st = mlops_metric_history_open(&h, run, key, (size_t)max);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot read metric history");
    size_t n = mlops_metric_history_count(h);
    const mlops_metric_value *p = mlops_metric_history_points(h);
    char num[40];
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            json_obj_begin(&j);
            json_key(&j, "step");
            json_i64(&j, p[i].step);
            json_key(&j, "timestamp");
            json_i64(&j, p[i].timestamp_ms);
            json_key(&j, "value");
            json_f64(&j, p[i].value);
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_end(&j);
    } else {
        printf("%-12s %-15s %s\n", "STEP", "TIMESTAMP", "VALUE");
        for (size_t i = 0; i < n; i++)
            printf("%-12lld %-15lld %s\n", (long long)p[i].step, (long long)p[i].timestamp_ms,
                   cli_fmt_f64(num, sizeof(num), p[i].value));
    }
    mlops_metric_history_free(h);
    return CLI_OK;
}

static int do_export(cli_ctx *ctx, runopts *o, char **pos, int npos)
{
    const char *fmt = o->format ? o->format : "json";
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    if (strcmp(fmt, "mlflow") == 0) {
        const char *dir = npos > 0 ? pos[0] : o->output;
        if (dir == NULL)
            return cli_usage(ctx, "usage: mlops runs export --format mlflow DIR [RUN]...");
        int first = npos > 0 && pos[0] == dir ? 1 : 0;
        size_t n = 0;
        mlops_status st = mlops_run_export_mlflow(&n, s, dir, npos - first > 0 ?
                                                  (const char *const *)(pos + first) : NULL,
                                                  (size_t)(npos - first));
        if (st != MLOPS_OK)
            return cli_fail(ctx, st, "export failed");
        if (ctx->json)
            printf("{\"exported\": %zu, \"directory\": \"%s\"}\n", n, dir);
        else
            fprintf(stderr, "exported %zu runs to %s\n", n, dir);
        return CLI_OK;
    }
    if (strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0)
        return cli_usage(ctx, "--format must be json, csv or mlflow");
    /* the runs: given ids, or a search */
    mlops_run_list *l = NULL;
    mlops_run_list **ls = NULL;
    int rc = CLI_OK;
    if (npos == 0) {
        char (*ids)[64] = calloc(o->n_experiments + 1, 64);
        const char **idp = calloc(o->n_experiments + 1, sizeof(char *));
        for (size_t i = 0; i < o->n_experiments && rc == CLI_OK; i++) {
            rc = resolve_experiment(ctx, s, o->experiments[i], ids[i], 64);
            idp[i] = ids[i];
        }
        mlops_search_options so = MLOPS_SEARCH_OPTIONS_INIT;
        so.filter = o->filter;
        so.experiment_ids = idp;
        so.n_experiment_ids = o->n_experiments;
        so.order_by = o->order_by;
        so.n_order_by = o->n_order_by;
        so.max_results = 50000;
        so.view = parse_view(o->view);
        if (rc == CLI_OK) {
            mlops_status st = mlops_run_search(&l, s, &so);
            if (st != MLOPS_OK)
                rc = cli_fail(ctx, st, "search failed");
        }
        free(ids);
        free(idp);
    }
    FILE *f = stdout;
    if (rc == CLI_OK && o->output != NULL) {
        f = fopen(o->output, "w");
        if (f == NULL)
            rc = cli_error(ctx, "cannot write '%s': %s", o->output, strerror(errno));
    }
    if (rc == CLI_OK && npos > 0) {
        ls = calloc((size_t)npos, sizeof(*ls));
        for (int i = 0; i < npos && rc == CLI_OK; i++) {
            mlops_status st = mlops_run_list_get(&ls[i], s, pos[i]);
            if (st != MLOPS_OK)
                rc = cli_fail(ctx, st, "cannot read run");
        }
    }
    if (rc == CLI_OK) {
        if (strcmp(fmt, "json") == 0) {
            cli_json j;
            json_init(&j, f);
            json_arr_begin(&j);
            if (l != NULL) {
                for (size_t i = 0; i < mlops_run_list_count(l); i++)
                    json_run(&j, l, i);
            }
            for (int i = 0; ls && i < npos; i++)
                json_run(&j, ls[i], 0);
            json_arr_end(&j);
            json_end(&j);
        } else if (l != NULL) {
            rc = write_csv(ctx, f, l);
        } else {
            /* CSV over explicit ids: one list per run, merged column set */
            for (int i = 0; i < npos && rc == CLI_OK; i++)
                rc = write_csv(ctx, f, ls[i]);
        }
    }
    if (f != stdout && f != NULL && fclose(f) != 0 && rc == CLI_OK)
        rc = cli_error(ctx, "cannot write '%s'", o->output);
    mlops_run_list_free(l);
    for (int i = 0; ls && i < npos; i++)
        mlops_run_list_free(ls[i]);
    free(ls);
    return rc;
}

int cli_cmd_runs(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage(ctx, "runs needs a verb; see 'mlops runs --help'");
    const char *verb = argv[0];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs(cli_help_runs, stdout);
        return CLI_OK;
    }
    runopts o;
    memset(&o, 0, sizeof(o));
    cli_optdef defs[] = {
        {"--experiment", "-e", true, &o.experiment, NULL, &o.experiments, &o.n_experiments},
        {"--name", "-n", true, &o.name, NULL, NULL, NULL},
        {"--parent", NULL, true, &o.parent, NULL, NULL, NULL},
        {"--tag", "-t", true, NULL, NULL, &o.tags, &o.n_tags},
        {"--status", NULL, true, &o.status, NULL, NULL, NULL},
        {"--filter", "-f", true, &o.filter, NULL, NULL, NULL},
        {"--order-by", NULL, true, NULL, NULL, &o.order_by, &o.n_order_by},
        {"--max-results", NULL, true, &o.max_results, NULL, NULL, NULL},
        {"--page-token", NULL, true, &o.page_token, NULL, NULL, NULL},
        {"--view", NULL, true, &o.view, NULL, NULL, NULL},
        {"--step", NULL, true, &o.step, NULL, NULL, NULL},
        {"--timestamp", NULL, true, &o.timestamp, NULL, NULL, NULL},
        {"--artifact-path", NULL, true, &o.artifact_path, NULL, NULL, NULL},
        {"--rows", NULL, true, &o.rows, NULL, NULL, NULL},
        {"--format", NULL, true, &o.format, NULL, NULL, NULL},
        {"--output", "-o", true, &o.output, NULL, NULL, NULL},
        {"--max-points", NULL, true, &o.max_points, NULL, NULL, NULL},
        {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc - 1, argv + 1, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_runs, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_run *run = NULL;
    mlops_status st;
    /* verbs that act on one run: RUN first */
    bool on_run = strcmp(verb, "end") == 0 || strncmp(verb, "log-", 4) == 0 ||
                  strcmp(verb, "set-tag") == 0 || strcmp(verb, "metrics") == 0;
    if (on_run) {
        if (npos < 1)
            rc = cli_usage(ctx, "usage: mlops runs %s RUN ...", verb);
        else
            rc = open_run(ctx, pos[0], &run);
    }
    if (rc != CLI_OK) {
        /* nothing more */
    } else if (strcmp(verb, "start") == 0) {
        rc = do_start(ctx, &o, npos);
    } else if (strcmp(verb, "end") == 0) {
        uint32_t status = MLOPS_RUN_FINISHED;
        if (o.status) {
            if (strcasecmp(o.status, "FINISHED") == 0)
                status = MLOPS_RUN_FINISHED;
            else if (strcasecmp(o.status, "FAILED") == 0)
                status = MLOPS_RUN_FAILED;
            else if (strcasecmp(o.status, "KILLED") == 0)
                status = MLOPS_RUN_KILLED;
            else
                status = 0;
        }
        if (status == 0 || npos != 1)
            rc = cli_usage(ctx, "usage: mlops runs end RUN [--status FINISHED|FAILED|KILLED]");
        else if ((st = mlops_run_end(run, status, 0)) != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot end run");
    } else if (strcmp(verb, "list") == 0 || strcmp(verb, "search") == 0) {
        if (npos != 0)
            rc = cli_usage(ctx, "runs %s takes options only", verb);
        else
            rc = do_search(ctx, &o, verb[0] == 'l');
    } else if (strcmp(verb, "show") == 0) {
        rc = npos != 1 ? cli_usage(ctx, "usage: mlops runs show RUN") : do_show(ctx, pos[0]);
    } else if (strcmp(verb, "compare") == 0) {
        rc = do_compare(ctx, pos, npos);
    } else if (strcmp(verb, "delete") == 0 || strcmp(verb, "restore") == 0) {
        mlops_store *s = npos == 1 ? cli_store(ctx) : NULL;
        if (npos != 1)
            rc = cli_usage(ctx, "usage: mlops runs %s RUN", verb);
        else if (s == NULL)
            rc = CLI_FAILED;
        else if ((st = verb[0] == 'd' ? mlops_run_delete(s, pos[0])
                                      : mlops_run_restore(s, pos[0])) != MLOPS_OK)
            rc = cli_fail(ctx, st, verb[0] == 'd' ? "cannot delete run" : "cannot restore run");
    } else if (strcmp(verb, "log-param") == 0 || strcmp(verb, "set-tag") == 0) {
        if (npos != 3)
            rc = cli_usage(ctx, "usage: mlops runs %s RUN KEY VALUE", verb);
        else if ((st = verb[0] == 'l' ? mlops_run_log_param(run, pos[1], pos[2])
                                      : mlops_run_set_tag(run, pos[1], pos[2])) != MLOPS_OK)
            rc = cli_fail(ctx, st, verb[0] == 'l' ? "cannot log param" : "cannot set tag");
    } else if (strcmp(verb, "log-metric") == 0) {
        if (npos == 2 && strcmp(pos[1], "-") == 0) {
            rc = metrics_from_stdin(ctx, run);
        } else if (npos != 3) {
            rc = cli_usage(ctx, "usage: mlops runs log-metric RUN KEY VALUE [--step N] | RUN -");
        } else {
            double v;
            int64_t step = 0, ts = 0;
            if (!cli_parse_f64(pos[2], &v))
                rc = cli_usage(ctx, "'%s' is not a number", pos[2]);
            else if (o.step && !cli_parse_i64(o.step, &step))
                rc = cli_usage(ctx, "--step needs an integer");
            else if (o.timestamp && !cli_parse_i64(o.timestamp, &ts))
                rc = cli_usage(ctx, "--timestamp needs milliseconds since the epoch");
            else {
                st = o.timestamp ? mlops_run_log_metric_at(run, pos[1], v, step, ts)
                                 : mlops_run_log_metric(run, pos[1], v, step);
                if (st != MLOPS_OK)
                    rc = cli_fail(ctx, st, "cannot log metric");
            }
        }
    } else if (strcmp(verb, "log-artifact") == 0) {
        if (npos != 2)
            rc = cli_usage(ctx, "usage: mlops runs log-artifact RUN PATH [--artifact-path P]");
        else if ((st = mlops_run_log_artifact(run, pos[1], o.artifact_path)) != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot log artifact");
    } else if (strcmp(verb, "log-dataset") == 0) {
        int64_t rows = -1;
        mlops_hash128 h;
        if (npos != 2)
            rc = cli_usage(ctx, "usage: mlops runs log-dataset RUN FILE [--name N] [--rows N]");
        else if (o.rows && (!cli_parse_i64(o.rows, &rows) || rows < 0))
            rc = cli_usage(ctx, "--rows needs a count");
        else if ((st = mlops_run_log_dataset_file(&h, run, o.name, pos[1], rows)) != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot log dataset");
        else {
            char hex[33];
            mlops_hash128_to_hex(hex, &h);
            printf(ctx->json ? "{\"digest\": \"%s\"}\n" : "%s\n", hex);
        }
    } else if (strcmp(verb, "metrics") == 0) {
        rc = npos != 2 ? cli_usage(ctx, "usage: mlops runs metrics RUN KEY [--max-points N]")
                       : do_metrics(ctx, run, pos[1], o.max_points);
    } else if (strcmp(verb, "export") == 0) {
        rc = do_export(ctx, &o, pos, npos);
    } else if (strcmp(verb, "import") == 0) {
        mlops_store *s = npos == 1 ? cli_store(ctx) : NULL;
        size_t n = 0;
        if (npos != 1)
            rc = cli_usage(ctx, "usage: mlops runs import DIR");
        else if (s == NULL)
            rc = CLI_FAILED;
        else if ((st = mlops_run_import_mlflow(&n, s, pos[0])) != MLOPS_OK)
            rc = cli_fail(ctx, st, "import failed");
        else if (ctx->json)
            printf("{\"imported\": %zu}\n", n);
        else
            fprintf(stderr, "imported %zu runs from %s\n", n, pos[0]);
    } else {
        rc = cli_usage(ctx, "unknown verb 'runs %s'", verb);
    }
    mlops_run_close(run);
    cli_free_values(defs);
    free(pos);
    return rc;
}

/* ---------------------------------------------------------------- artifacts */

const char cli_help_artifacts[] =
    "usage: mlops artifacts <verb> ...\n"
    "\n"
    "  list RUN [PATH]             artifacts below PATH with sizes and XXH3-128 hashes\n"
    "  get RUN PATH [-o FILE]      write one artifact to FILE (default: standard output)\n"
    "  get RUN -o DIR              write every artifact below DIR\n";

static int write_bytes(cli_ctx *ctx, const char *path, const mlops_bytes *b)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (f == NULL)
        return cli_error(ctx, "cannot write '%s': %s", path, strerror(errno));
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    int bad = n != b->len;
    if (path != NULL)
        bad |= fclose(f) != 0;
    return bad ? cli_error(ctx, "cannot write '%s'", path ? path : "stdout") : CLI_OK;
}

static int mkdirs_for(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return 0;
}

int cli_cmd_artifacts(cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(cli_help_artifacts, stdout);
        return CLI_OK;
    }
    if (argc < 1)
        return cli_usage(ctx, "artifacts needs a verb (list, get)");
    const char *verb = argv[0];
    const char *output = NULL;
    cli_optdef defs[] = {{"--output", "-o", true, &output, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc - 1, argv + 1, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_artifacts, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_run *run = NULL;
    if (npos < 1 || npos > 2)
        rc = cli_usage(ctx, "usage: mlops artifacts %s RUN [PATH]", verb);
    else
        rc = open_run(ctx, pos[0], &run);
    mlops_artifact_list *al = NULL;
    mlops_status st;
    if (rc != CLI_OK) {
        /* nothing more */
    } else if (strcmp(verb, "list") == 0) {
        st = mlops_artifact_list_open(&al, run, npos == 2 ? pos[1] : NULL);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot list artifacts");
        } else {
            cli_json j;
            if (ctx->json) {
                json_init(&j, stdout);
                json_arr_begin(&j);
            }
            for (size_t i = 0; i < mlops_artifact_list_count(al); i++) {
                char hex[33];
                mlops_hash128_to_hex(hex, mlops_artifact_list_hash(al, i));
                if (ctx->json) {
                    json_obj_begin(&j);
                    json_key(&j, "path");
                    json_str(&j, mlops_artifact_list_path(al, i));
                    json_key(&j, "size");
                    json_u64(&j, mlops_artifact_list_size(al, i));
                    json_key(&j, "hash");
                    json_str(&j, hex);
                    json_obj_end(&j);
                } else {
                    printf("%12llu  %s  %s\n",
                           (unsigned long long)mlops_artifact_list_size(al, i), hex,
                           mlops_artifact_list_path(al, i));
                }
            }
            if (ctx->json) {
                json_arr_end(&j);
                json_end(&j);
            }
        }
    } else if (strcmp(verb, "get") == 0) {
        if (npos == 2) {
            mlops_bytes b = {0};
            st = mlops_run_artifact_read(&b, run, pos[1], 0);
            rc = st != MLOPS_OK ? cli_fail(ctx, st, "cannot read artifact")
                                : write_bytes(ctx, output, &b);
            mlops_bytes_free(&b);
        } else if (output == NULL) {
            rc = cli_usage(ctx, "give a PATH, or -o DIR to write every artifact");
        } else if ((st = mlops_artifact_list_open(&al, run, NULL)) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot list artifacts");
        } else {
            for (size_t i = 0; i < mlops_artifact_list_count(al) && rc == CLI_OK; i++) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", output, mlops_artifact_list_path(al, i));
                mlops_bytes b = {0};
                st = mlops_run_artifact_read(&b, run, mlops_artifact_list_path(al, i), 0);
                if (st != MLOPS_OK)
                    rc = cli_fail(ctx, st, "cannot read artifact");
                else if (mkdirs_for(path) != 0)
                    rc = cli_error(ctx, "cannot create directories for '%s'", path);
                else
                    rc = write_bytes(ctx, path, &b);
                mlops_bytes_free(&b);
            }
        }
    } else {
        rc = cli_usage(ctx, "unknown verb 'artifacts %s'", verb);
    }
    mlops_artifact_list_free(al);
    mlops_run_close(run);
    free(pos);
    return rc;
}

/* ---------------------------------------------------------------- demo */

int cli_demo_tracking(cli_ctx *ctx, cli_demo_state *st)
{
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    printf("== tracking: a training run ==\n");
    char *exp = NULL;
    mlops_status rc = mlops_experiment_get_or_create(&exp, s, "demo-churn");
    if (rc != MLOPS_OK)
        return cli_fail(ctx, rc, "experiment");
    const char *tk[] = {"team", "purpose"}, *tv[] = {"growth", "demo"};
    mlops_run_options ro = MLOPS_RUN_OPTIONS_INIT;
    ro.name = "demo-logreg";
    ro.tag_keys = tk;
    ro.tag_values = tv;
    ro.n_tags = 2;
    mlops_run *run = NULL;
    rc = mlops_run_create(&run, s, exp, &ro);
    if (rc != MLOPS_OK) {
        mlops_string_free(ctx->env, exp);
        return cli_fail(ctx, rc, "run");
    }
    printf("experiment 'demo-churn' (id %s), run %s\n", exp, mlops_run_id(run));
    const char *pk[] = {"model", "learning_rate", "epochs", "l2"};
    const char *pv[] = {"logistic_regression", "0.1", "10", "0.001"};
    rc = mlops_run_log_batch(run, NULL, 0, pk, pv, 4, NULL, NULL, 0);
    /* a small training loop: loss falls, validation AUC rises and flattens */
    double loss = 0.69, auc = 0.5;
    for (int epoch = 0; rc == MLOPS_OK && epoch < 10; epoch++) {
        loss *= 0.82;
        auc += (0.86 - auc) * 0.35;
        mlops_metric_point pts[2] = {{"loss", loss, epoch, 0}, {"val_auc", auc, epoch, 0}};
        pts[0].timestamp_ms = pts[1].timestamp_ms = mlops_env_now_ns(ctx->env) / 1000000;
        rc = mlops_run_log_metrics(run, pts, 2);
    }
    if (rc == MLOPS_OK)
        printf("logged 4 params and 10 epochs of loss/val_auc (final val_auc %.4f)\n", auc);
    if (rc == MLOPS_OK && st->training_csv[0] != '\0') {
        mlops_hash128 h;
        rc = mlops_run_log_dataset_file(&h, run, "training.csv", st->training_csv, -1);
        if (rc == MLOPS_OK) {
            char hex[33];
            mlops_hash128_to_hex(hex, &h);
            printf("dataset training.csv xxh3:%.16s...\n", hex);
        }
    }
    char model_path[600];
    snprintf(model_path, sizeof(model_path), "%s/model.bin", st->workdir);
    if (rc == MLOPS_OK) {
        FILE *f = fopen(model_path, "wb");
        if (f == NULL) {
            rc = mlops_error_set(MLOPS_E_IO, "cannot write the demo model file");
        } else {
            double weights[8] = {0.42, -1.3, 0.07, 2.1, -0.55, 0.9, 0.0, 1.0};
            fwrite(weights, sizeof(weights), 1, f);
            fclose(f);
            rc = mlops_run_log_artifact(run, model_path, "model/model.bin");
        }
    }
    if (rc == MLOPS_OK)
        rc = mlops_run_set_tag(run, "mlops.note.content", "demo run logged by `mlops demo`");
    if (rc == MLOPS_OK)
        rc = mlops_run_end(run, MLOPS_RUN_FINISHED, 0);
    if (rc == MLOPS_OK) {
        printf("artifact model/model.bin stored; run FINISHED\n");
        printf("  see it: mlops runs show %s\n\n", mlops_run_id(run));
        snprintf(st->run_id, sizeof(st->run_id), "%s", mlops_run_id(run));
        snprintf(st->experiment_id, sizeof(st->experiment_id), "%s", exp);
    }
    int out = rc == MLOPS_OK ? CLI_OK : cli_fail(ctx, rc, "tracking demo");
    mlops_run_close(run);
    mlops_string_free(ctx->env, exp);
    return out;
}

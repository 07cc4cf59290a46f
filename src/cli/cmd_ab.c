/* SPDX-License-Identifier: MIT */
/* `mlops ab ...` (assignment, sample sizes, analysis) and `mlops rollout ...`. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

const char cli_help_ab[] =
    "usage: mlops ab <verb> ...\n"
    "\n"
    "  hash --mode xxh3|growthbook-v1|growthbook-v2 SEED VALUE\n"
    "        the unit's hash in [0, 1), to compare an assignment across SDKs\n"
    "  assign EXPERIMENT UNIT [UNIT...]\n"
    "        the variant of each unit (the stored experiment, or one defined by the\n"
    "        options below: 2 equal variants and xxh3 by default)\n"
    "  create EXPERIMENT [options]   store an experiment and its pre-registered plan\n"
    "  show EXPERIMENT               a stored experiment as JSON\n"
    "  sample-size --baseline P --mde D [--alpha A] [--power B] [--relative]\n"
    "        units per variant for a two-sided test of two conversion rates\n"
    "  analyze RESULTS.csv [--experiment NAME] [--metric binary|continuous]\n"
    "        [--alpha A] [--weights W,W,...]\n"
    "        CSV columns variant,units,conversions (binary) or variant,units,sum,sum_squares\n"
    "        (continuous), control first; prints effect, CI, p-value, SRM check and the\n"
    "        sequential p-value\n"
    "\n"
    "experiment options: --variants N --weights W,W,... --coverage C --seed S\n"
    "  --mode xxh3|growthbook-v1|growthbook-v2 --namespace NS --range START:END\n"
    "  --holdout H --force UNIT=VARIANT (repeatable)\n"
    "plan options (create): --metric NAME --guardrails A,B --alpha A --power B\n"
    "  --baseline P --mde D [--relative] --min-runtime-days N (rounded up to weeks)\n";

static int want_json(cli_ctx *ctx, int count)
{
    if (count > 0)
        ctx->json = true;
    return ctx->json;
}

static bool parse_mode(const char *s, uint32_t *mode)
{
    if (s == NULL || strcmp(s, "xxh3") == 0)
        *mode = MLOPS_AB_HASH_XXH3;
    else if (strcmp(s, "growthbook-v1") == 0)
        *mode = MLOPS_AB_HASH_GROWTHBOOK_V1;
    else if (strcmp(s, "growthbook-v2") == 0)
        *mode = MLOPS_AB_HASH_GROWTHBOOK_V2;
    else
        return false;
    return true;
}

/* "0.5,0.5" -> doubles; false on malformed input. */
static bool parse_list(const char *s, double *out, uint32_t cap, uint32_t *n)
{
    *n = 0;
    char *copy = strdup(s);
    if (copy == NULL)
        return false;
    bool ok = true;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (*n >= cap || !cli_parse_f64(tok, &out[*n])) {
            ok = false;
            break;
        }
        (*n)++;
    }
    free(copy);
    return ok && *n > 0;
}

static int hash_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *mode_s = NULL;
    int json = 0;
    cli_optdef defs[] = {{"--mode", NULL, true, &mode_s, NULL, NULL, NULL},
                         {"--json", NULL, false, NULL, &json, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_ab, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    uint32_t mode;
    if (npos != 2) {
        free(pos);
        return cli_usage(ctx, "ab hash takes SEED VALUE");
    }
    if (!parse_mode(mode_s, &mode)) {
        free(pos);
        return cli_usage(ctx, "unknown --mode '%s' (xxh3, growthbook-v1, growthbook-v2)",
                         mode_s);
    }
    double x;
    mlops_status st = mlops_ab_hash(&x, mode, pos[0], pos[1], strlen(pos[1]));
    if (st != MLOPS_OK) {
        free(pos);
        return cli_fail(ctx, st, "cannot hash");
    }
    char buf[64];
    if (want_json(ctx, json)) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "mode");
        json_str(&j, mode_s == NULL ? "xxh3" : mode_s);
        json_key(&j, "seed");
        json_str(&j, pos[0]);
        json_key(&j, "value");
        json_str(&j, pos[1]);
        json_key(&j, "hash");
        json_f64(&j, x);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("%s\n", cli_fmt_f64(buf, sizeof(buf), x));
    }
    free(pos);
    return CLI_OK;
}

typedef struct exp_args {
    const char *variants, *weights, *coverage, *seed, *mode, *ns, *range, *holdout;
    const char **forces;
    size_t n_forces;
    const char *metric, *guardrails, *alpha, *power, *baseline, *mde, *runtime;
    int relative, json;
} exp_args;

#define EXP_DEFS(a)                                                                                \
    {"--variants", NULL, true, &(a).variants, NULL, NULL, NULL},                                   \
        {"--weights", NULL, true, &(a).weights, NULL, NULL, NULL},                                 \
        {"--coverage", NULL, true, &(a).coverage, NULL, NULL, NULL},                               \
        {"--seed", NULL, true, &(a).seed, NULL, NULL, NULL},                                       \
        {"--mode", NULL, true, &(a).mode, NULL, NULL, NULL},                                       \
        {"--namespace", NULL, true, &(a).ns, NULL, NULL, NULL},                                    \
        {"--range", NULL, true, &(a).range, NULL, NULL, NULL},                                     \
        {"--holdout", NULL, true, &(a).holdout, NULL, NULL, NULL},                                 \
        {"--force", NULL, true, NULL, NULL, &(a).forces, &(a).n_forces},                           \
        {"--json", NULL, false, NULL, &(a).json, NULL, NULL}

static bool exp_args_given(const exp_args *a)
{
    return a->variants || a->weights || a->coverage || a->seed || a->mode || a->ns || a->range ||
           a->holdout || a->n_forces;
}

/* Build an experiment from the options; returns CLI_OK or an exit status. */
static int build_experiment(cli_ctx *ctx, const char *key, const exp_args *a,
                            mlops_ab_experiment **out)
{
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    double weights[MLOPS_AB_MAX_VARIANTS];
    uint32_t nw = 0;
    int64_t i64;
    if (a->variants != NULL) {
        if (!cli_parse_i64(a->variants, &i64) || i64 < 2 || i64 > MLOPS_AB_MAX_VARIANTS)
            return cli_usage(ctx, "--variants must be 2 to %d", MLOPS_AB_MAX_VARIANTS);
        o.n_variants = (uint32_t)i64;
    }
    if (a->weights != NULL) {
        if (!parse_list(a->weights, weights, MLOPS_AB_MAX_VARIANTS, &nw))
            return cli_usage(ctx, "--weights must be numbers separated by commas");
        if (o.n_variants != 0 && o.n_variants != nw)
            return cli_usage(ctx, "--variants %u but %u weights", o.n_variants, nw);
        o.n_variants = nw;
        o.weights = weights;
    }
    if (a->coverage != NULL && !cli_parse_f64(a->coverage, &o.coverage))
        return cli_usage(ctx, "--coverage must be a number");
    if (a->holdout != NULL && !cli_parse_f64(a->holdout, &o.holdout))
        return cli_usage(ctx, "--holdout must be a number");
    if (!parse_mode(a->mode, &o.hash_mode))
        return cli_usage(ctx, "unknown --mode '%s'", a->mode);
    o.seed = a->seed;
    o.namespace_id = a->ns;
    if (a->range != NULL) {
        double r[2];
        uint32_t n;
        char tmp[128];
        snprintf(tmp, sizeof(tmp), "%s", a->range);
        char *colon = strchr(tmp, ':');
        if (colon != NULL)
            *colon = ',';
        if (!parse_list(tmp, r, 2, &n) || n != 2)
            return cli_usage(ctx, "--range must be START:END");
        o.namespace_start = r[0];
        o.namespace_end = r[1];
    }
    o.primary_metric = a->metric;
    o.guardrails = a->guardrails;
    if ((a->alpha && !cli_parse_f64(a->alpha, &o.alpha)) ||
        (a->power && !cli_parse_f64(a->power, &o.power)) ||
        (a->baseline && !cli_parse_f64(a->baseline, &o.baseline)) ||
        (a->mde && !cli_parse_f64(a->mde, &o.mde)))
        return cli_usage(ctx, "--alpha, --power, --baseline and --mde take numbers");
    o.relative_mde = a->relative > 0;
    if (a->runtime != NULL) {
        if (!cli_parse_i64(a->runtime, &i64) || i64 < 1 || i64 > 3650)
            return cli_usage(ctx, "--min-runtime-days must be 1 to 3650");
        o.min_runtime_days = (uint32_t)i64;
    }
    mlops_ab_experiment *e = NULL;
    mlops_status st = mlops_ab_experiment_create(&e, ctx->env, key, &o);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "invalid experiment");
    for (size_t i = 0; i < a->n_forces; i++) {
        const char *eq = strrchr(a->forces[i], '=');
        if (eq == NULL || !cli_parse_i64(eq + 1, &i64) || i64 < INT32_MIN || i64 > INT32_MAX) {
            mlops_ab_experiment_free(e);
            return cli_usage(ctx, "--force takes UNIT=VARIANT, not '%s'", a->forces[i]);
        }
        st = mlops_ab_experiment_force(e, a->forces[i], (size_t)(eq - a->forces[i]), (int32_t)i64);
        if (st != MLOPS_OK) {
            mlops_ab_experiment_free(e);
            return cli_fail(ctx, st, "cannot force a unit");
        }
    }
    *out = e;
    return CLI_OK;
}

static int assign_cmd(cli_ctx *ctx, int argc, char **argv)
{
    exp_args a;
    memset(&a, 0, sizeof(a));
    cli_optdef defs[] = {EXP_DEFS(a), {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_ab, stdout);
        cli_free_values(defs);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_ab_experiment *e = NULL;
    if (npos < 2) {
        rc = cli_usage(ctx, "ab assign takes EXPERIMENT UNIT [UNIT...]");
        goto out;
    }
    if (!exp_args_given(&a)) {
        /* A stored experiment if there is one; the defaults otherwise. */
        mlops_store *store = cli_store(ctx);
        if (store == NULL) {
            rc = CLI_FAILED;
            goto out;
        }
        mlops_status st = mlops_ab_experiment_load(&e, store, pos[0]);
        if (st == MLOPS_E_NOTFOUND)
            e = NULL;
        else if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot load the experiment");
            goto out;
        }
    }
    if (e == NULL && (rc = build_experiment(ctx, pos[0], &a, &e)) != CLI_OK)
        goto out;
    cli_json j;
    if (want_json(ctx, a.json)) {
        json_init(&j, stdout);
        json_arr_begin(&j);
    }
    for (int i = 1; i < npos; i++) {
        int32_t v;
        double x;
        mlops_status st = mlops_ab_experiment_assign(&v, &x, e, pos[i], strlen(pos[i]));
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot assign");
            goto out;
        }
        char buf[64];
        const char *label = v == MLOPS_AB_HOLDOUT ? "holdout" : v < 0 ? "none" : NULL;
        if (ctx->json) {
            json_obj_begin(&j);
            json_key(&j, "unit");
            json_str(&j, pos[i]);
            json_key(&j, "variant");
            if (label != NULL)
                json_null(&j);
            else
                json_i64(&j, v);
            json_key(&j, "in_experiment");
            json_bool(&j, label == NULL);
            if (v == MLOPS_AB_HOLDOUT) {
                json_key(&j, "holdout");
                json_bool(&j, true);
            }
            json_key(&j, "bucket");
            json_f64(&j, x);
            json_obj_end(&j);
        } else if (label != NULL) {
            printf("%s\t%s\t%s\n", pos[i], label, cli_fmt_f64(buf, sizeof(buf), x));
        } else {
            printf("%s\t%d\t%s\n", pos[i], v, cli_fmt_f64(buf, sizeof(buf), x));
        }
    }
    if (ctx->json) {
        json_arr_end(&j);
        json_end(&j);
    }
    rc = CLI_OK;
out:
    mlops_ab_experiment_free(e);
    cli_free_values(defs);
    free(pos);
    return rc;
}

static int create_cmd(cli_ctx *ctx, int argc, char **argv, bool show_only)
{
    exp_args a;
    memset(&a, 0, sizeof(a));
    cli_optdef defs[] = {EXP_DEFS(a),
                         {"--metric", NULL, true, &a.metric, NULL, NULL, NULL},
                         {"--guardrails", NULL, true, &a.guardrails, NULL, NULL, NULL},
                         {"--alpha", NULL, true, &a.alpha, NULL, NULL, NULL},
                         {"--power", NULL, true, &a.power, NULL, NULL, NULL},
                         {"--baseline", NULL, true, &a.baseline, NULL, NULL, NULL},
                         {"--mde", NULL, true, &a.mde, NULL, NULL, NULL},
                         {"--relative", NULL, false, NULL, &a.relative, NULL, NULL},
                         {"--min-runtime-days", NULL, true, &a.runtime, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_ab, stdout);
        cli_free_values(defs);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_ab_experiment *e = NULL;
    char *js = NULL;
    mlops_store *store = NULL;
    if (npos != 1) {
        rc = cli_usage(ctx, "ab %s takes one EXPERIMENT", show_only ? "show" : "create");
        goto out;
    }
    if ((store = cli_store(ctx)) == NULL) {
        rc = CLI_FAILED;
        goto out;
    }
    mlops_status st;
    if (show_only) {
        if ((st = mlops_ab_experiment_load(&e, store, pos[0])) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot load the experiment");
            goto out;
        }
    } else {
        if ((rc = build_experiment(ctx, pos[0], &a, &e)) != CLI_OK)
            goto out;
        if ((st = mlops_ab_experiment_save(e, store)) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot store the experiment");
            goto out;
        }
        mlops_ab_experiment_free(e);
        e = NULL;
        if ((st = mlops_ab_experiment_load(&e, store, pos[0])) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot read the experiment back");
            goto out;
        }
    }
    if ((st = mlops_ab_experiment_json(&js, e)) != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot describe the experiment");
        goto out;
    }
    if (want_json(ctx, a.json) || show_only) {
        printf("%s\n", js);
    } else {
        printf("experiment '%s' stored", pos[0]);
        uint64_t n = mlops_ab_experiment_planned_units(e);
        if (n > 0)
            printf("; plan: %llu units per variant", (unsigned long long)n);
        printf("\n");
    }
    rc = CLI_OK;
out:
    if (js != NULL)
        mlops_string_free(ctx->env, js);
    mlops_ab_experiment_free(e);
    cli_free_values(defs);
    free(pos);
    return rc;
}

static int sample_size_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *bs = NULL, *ms = NULL, *as = NULL, *ps = NULL;
    int rel = 0, json = 0;
    cli_optdef defs[] = {{"--baseline", NULL, true, &bs, NULL, NULL, NULL},
                         {"--mde", NULL, true, &ms, NULL, NULL, NULL},
                         {"--alpha", NULL, true, &as, NULL, NULL, NULL},
                         {"--power", NULL, true, &ps, NULL, NULL, NULL},
                         {"--relative", NULL, false, NULL, &rel, NULL, NULL},
                         {"--json", NULL, false, NULL, &json, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_ab, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    free(pos);
    if (npos != 0)
        return cli_usage(ctx, "ab sample-size takes no arguments, only options");
    double baseline, mde, alpha = 0.05, power = 0.8;
    if (bs == NULL || ms == NULL)
        return cli_usage(ctx, "ab sample-size needs --baseline P and --mde D");
    if (!cli_parse_f64(bs, &baseline) || !cli_parse_f64(ms, &mde) ||
        (as && !cli_parse_f64(as, &alpha)) || (ps && !cli_parse_f64(ps, &power)))
        return cli_usage(ctx, "--baseline, --mde, --alpha and --power take numbers");
    uint64_t n = 0;
    mlops_status st = mlops_ab_sample_size_proportions(&n, baseline, mde, rel > 0, alpha, power);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot compute the sample size");
    double p2 = rel ? baseline * (1 + mde) : baseline + mde;
    if (want_json(ctx, json)) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "per_variant");
        json_u64(&j, n);
        json_key(&j, "total");
        json_u64(&j, 2 * n);
        json_key(&j, "baseline");
        json_f64(&j, baseline);
        json_key(&j, "treatment");
        json_f64(&j, p2);
        json_key(&j, "alpha");
        json_f64(&j, alpha);
        json_key(&j, "power");
        json_f64(&j, power);
        json_key(&j, "two_sided");
        json_bool(&j, true);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("per variant: %llu\ntotal: %llu\n(two-sided, alpha %g, power %g, %g -> %g)\n",
               (unsigned long long)n, (unsigned long long)(2 * n), alpha, power, baseline, p2);
    }
    return CLI_OK;
}

/* Read the results CSV: header, then one row per variant. */
static int read_results(cli_ctx *ctx, const char *path, mlops_ab_variant_stats *v, uint32_t *n,
                        char names[][128], uint32_t *metric)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    char line[1024];
    int lineno = 0, rc = CLI_OK;
    int cols = 0;
    *n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (lineno == 1 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
            (unsigned char)line[2] == 0xBF)
            memmove(line, line + 3, len - 2);
        if (line[0] == 0)
            continue;
        char *fields[5];
        int nf = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, ",", &save); t != NULL && nf < 5; t = strtok_r(NULL, ",", &save))
            fields[nf++] = t;
        if (cols == 0) {
            if (nf == 3 && strcmp(fields[0], "variant") == 0 && strcmp(fields[1], "units") == 0 &&
                strcmp(fields[2], "conversions") == 0)
                cols = 3;
            else if (nf == 4 && strcmp(fields[0], "variant") == 0 &&
                     strcmp(fields[1], "units") == 0 && strcmp(fields[2], "sum") == 0 &&
                     strcmp(fields[3], "sum_squares") == 0)
                cols = 4;
            else {
                rc = cli_error(ctx,
                               "%s:1: the header must be variant,units,conversions or "
                               "variant,units,sum,sum_squares",
                               path);
                break;
            }
            *metric = cols == 3 ? MLOPS_AB_METRIC_BINARY : MLOPS_AB_METRIC_CONTINUOUS;
            continue;
        }
        int64_t units;
        if (nf != cols || !cli_parse_i64(fields[1], &units) || units < 0 ||
            !cli_parse_f64(fields[2], &v[*n].sum) ||
            (cols == 4 && !cli_parse_f64(fields[3], &v[*n].sum_sq))) {
            rc = cli_error(ctx, "%s:%d: expected %d fields: a name and %s", path, lineno, cols,
                           cols == 3 ? "two counts" : "units, sum and sum of squares");
            break;
        }
        if (*n >= MLOPS_AB_MAX_VARIANTS) {
            rc = cli_error(ctx, "%s: more than %d variants", path, MLOPS_AB_MAX_VARIANTS);
            break;
        }
        snprintf(names[*n], 128, "%s", fields[0]);
        v[*n].name = names[*n];
        v[*n].units = (uint64_t)units;
        (*n)++;
    }
    if (rc == CLI_OK && cols == 0)
        rc = cli_error(ctx, "%s: empty file", path);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Print the analysis for humans from its JSON (a few fields, found by key). */
static double jnum(const char *js, const char *key, const char *from)
{
    const char *p = strstr(from ? from : js, key);
    if (p == NULL)
        return NAN;
    p += strlen(key);
    if (strncmp(p, "null", 4) == 0)
        return NAN;
    return strtod(p, NULL);
}

static int analyze_cmd(cli_ctx *ctx, int argc, char **argv)
{
    const char *exp_name = NULL, *metric_s = NULL, *as = NULL, *ws = NULL;
    int json = 0;
    cli_optdef defs[] = {{"--experiment", NULL, true, &exp_name, NULL, NULL, NULL},
                         {"--metric", NULL, true, &metric_s, NULL, NULL, NULL},
                         {"--alpha", NULL, true, &as, NULL, NULL, NULL},
                         {"--weights", NULL, true, &ws, NULL, NULL, NULL},
                         {"--json", NULL, false, NULL, &json, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_ab, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    mlops_ab_experiment *e = NULL;
    char *js = NULL;
    static mlops_ab_variant_stats v[MLOPS_AB_MAX_VARIANTS];
    static char names[MLOPS_AB_MAX_VARIANTS][128];
    uint32_t n = 0, metric = 0;
    double w[MLOPS_AB_MAX_VARIANTS];
    mlops_ab_analyze_options o = MLOPS_AB_ANALYZE_OPTIONS_INIT;
    if (npos != 1) {
        rc = cli_usage(ctx, "ab analyze takes one RESULTS.csv");
        goto out;
    }
    if ((rc = read_results(ctx, pos[0], v, &n, names, &metric)) != CLI_OK)
        goto out;
    o.metric = metric;
    if (metric_s != NULL) {
        uint32_t want = strcmp(metric_s, "binary") == 0       ? MLOPS_AB_METRIC_BINARY
                        : strcmp(metric_s, "continuous") == 0 ? MLOPS_AB_METRIC_CONTINUOUS
                                                              : 0;
        if (want == 0 || want != metric) {
            rc = cli_usage(ctx, "--metric %s does not match the file's columns", metric_s);
            goto out;
        }
    }
    if (as != NULL && !cli_parse_f64(as, &o.alpha)) {
        rc = cli_usage(ctx, "--alpha takes a number");
        goto out;
    }
    if (ws != NULL) {
        uint32_t nw;
        if (!parse_list(ws, w, MLOPS_AB_MAX_VARIANTS, &nw) || nw != n) {
            rc = cli_usage(ctx, "--weights needs %u numbers", n);
            goto out;
        }
        o.planned = w;
    }
    if (exp_name != NULL) {
        mlops_store *store = cli_store(ctx);
        if (store == NULL) {
            rc = CLI_FAILED;
            goto out;
        }
        mlops_status st = mlops_ab_experiment_load(&e, store, exp_name);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot load the experiment's plan");
            goto out;
        }
        o.plan = e;
    }
    mlops_status st = mlops_ab_analyze(&js, ctx->env, v, n, &o);
    if (st != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot analyze");
        goto out;
    }
    if (want_json(ctx, json)) {
        printf("%s\n", js);
    } else {
        char b1[64], b2[64], b3[64];
        printf("%-16s %10s %12s\n", "variant", "units", metric == MLOPS_AB_METRIC_BINARY ? "rate" : "mean");
        const char *p = strstr(js, "\"variants\":");
        for (uint32_t i = 0; i < n; i++) {
            p = strstr(p, "\"units\":");
            double mean = jnum(js, "\"mean\":", p);
            printf("%-16s %10llu %12s\n", v[i].name, (unsigned long long)v[i].units,
                   cli_fmt_f64(b1, sizeof(b1), mean));
            p++;
        }
        const char *c = strstr(js, "\"comparisons\":");
        for (uint32_t i = 1; i < n; i++) {
            c = strstr(c, "{\"variant\":");
            double eff = jnum(js, "\"effect\":", c), rel = jnum(js, "\"relative_effect\":", c);
            double pv = jnum(js, "\"p_value\":", c), sp = jnum(js, "\"sequential_p_value\":", c);
            const char *ci = strstr(c, "\"ci\":");
            printf("%s vs %s: effect %s (%+.2f%%)", v[i].name, v[0].name,
                   cli_fmt_f64(b1, sizeof(b1), eff), 100 * rel);
            if (!isnan(pv) && ci != NULL && ci[5] == '[') {
                double lo = strtod(ci + 6, NULL);
                const char *comma = strchr(ci + 6, ',');
                double hi = comma ? strtod(comma + 1, NULL) : NAN;
                printf(", CI [%s, %s], p-value %.4g", cli_fmt_f64(b2, sizeof(b2), lo),
                       cli_fmt_f64(b3, sizeof(b3), hi), pv);
            } else {
                printf(", p-value withheld until the plan is met");
            }
            printf(", sequential p-value %.4g\n", sp);
            c++;
        }
        double srm = jnum(js, "\"p_value\":", strstr(js, "\"srm\":"));
        printf("SRM check: p = %.4g%s\n", srm, srm < 0.001 ? " (MISMATCH: results invalid)" : " (ok)");
        const char *verdict = strstr(js, "\"verdict\":\"");
        if (verdict != NULL) {
            verdict += 11;
            const char *end = strchr(verdict, '"');
            printf("verdict: %.*s\n", (int)(end ? end - verdict : 0), verdict);
        }
    }
    rc = CLI_OK;
out:
    if (js != NULL)
        mlops_string_free(ctx->env, js);
    mlops_ab_experiment_free(e);
    free(pos);
    return rc;
}

int cli_cmd_ab(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(cli_help_ab, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[0];
    if (strcmp(verb, "hash") == 0)
        return hash_cmd(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "assign") == 0)
        return assign_cmd(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "create") == 0)
        return create_cmd(ctx, argc - 1, argv + 1, false);
    if (strcmp(verb, "show") == 0)
        return create_cmd(ctx, argc - 1, argv + 1, true);
    if (strcmp(verb, "sample-size") == 0)
        return sample_size_cmd(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "analyze") == 0)
        return analyze_cmd(ctx, argc - 1, argv + 1);
    return cli_usage(ctx, "unknown verb 'ab %s'", verb);
}

/* ---- rollout ---- */

const char cli_help_rollout[] =
    "usage: mlops rollout <verb> NAME ...\n"
    "\n"
    "  create NAME --champion V --challenger V [options]\n"
    "  status NAME                      state, stage, share and per-arm outcomes\n"
    "  route NAME UNIT [UNIT...]        which version serves each unit\n"
    "  record NAME --arm champion|challenger --latency MS [--error] [--metric X]\n"
    "         [--count N] [--agree yes|no]\n"
    "  advance NAME                     run a check: roll back on a trigger, or advance\n"
    "                                   a stage whose minimums are met\n"
    "  rollback NAME [--reason TEXT]\n"
    "  history NAME\n"
    "\n"
    "create options: --model NAME --alias ALIAS (the registry alias moved on promotion\n"
    "  and rollback) --champion-uri models:/... --challenger-uri models:/...\n"
    "  --stages 1,5,10,25,50,100 (percent) --shadow --min-requests N --min-stage-ms MS\n"
    "  --check-interval-ms MS --failure-threshold N --min-trigger-requests N\n"
    "  --max-error-rate R --max-p99-ms MS --max-metric-drop R --metric-alpha A\n"
    "  --lower-is-better --min-agreement R\n";

typedef struct ro_args {
    const char *champion, *challenger, *model, *alias, *champion_uri, *challenger_uri, *stages;
    const char *min_requests, *min_stage_ms, *interval, *threshold, *min_trig, *max_err, *max_p99;
    const char *max_drop, *metric_alpha, *min_agree, *arm, *latency, *metric, *count, *agree;
    const char *reason;
    int shadow, lower, error, json;
} ro_args;

static bool opt_i64(const char *s, int64_t *out, int64_t lo)
{
    return s == NULL || (cli_parse_i64(s, out) && *out >= lo);
}

static bool opt_f64(const char *s, double *out)
{
    return s == NULL || cli_parse_f64(s, out);
}

static int rollout_create(cli_ctx *ctx, mlops_store *store, const char *name, const ro_args *a)
{
    mlops_rollout_options o = MLOPS_ROLLOUT_OPTIONS_INIT;
    int64_t champion = 0, challenger = 0, minr = 0, mins = 0, iv = 0, th = 0, mt = 0;
    double stages[32];
    uint32_t ns = 0;
    if (!opt_i64(a->champion, &champion, 1) || !opt_i64(a->challenger, &challenger, 1))
        return cli_usage(ctx, "--champion and --challenger take version numbers >= 1");
    if ((a->champion == NULL && a->champion_uri == NULL) ||
        (a->challenger == NULL && a->challenger_uri == NULL))
        return cli_usage(ctx, "rollout create needs --champion (or --champion-uri) and "
                              "--challenger (or --challenger-uri)");
    if (a->stages != NULL) {
        if (!parse_list(a->stages, stages, 32, &ns))
            return cli_usage(ctx, "--stages takes percentages separated by commas");
        for (uint32_t i = 0; i < ns; i++)
            stages[i] /= 100.0;
        o.stages = stages;
        o.n_stages = ns;
    }
    if (!opt_i64(a->min_requests, &minr, 1) || !opt_i64(a->min_stage_ms, &mins, 1) ||
        !opt_i64(a->interval, &iv, 1) || !opt_i64(a->threshold, &th, 1) ||
        !opt_i64(a->min_trig, &mt, 1) || th > 1000000)
        return cli_usage(ctx, "request counts, times and thresholds take whole numbers >= 1");
    if (!opt_f64(a->max_err, &o.max_error_rate) || !opt_f64(a->max_p99, &o.max_p99_ms) ||
        !opt_f64(a->max_drop, &o.max_metric_drop) || !opt_f64(a->metric_alpha, &o.metric_alpha) ||
        !opt_f64(a->min_agree, &o.min_agreement))
        return cli_usage(ctx, "trigger thresholds take numbers");
    o.champion = champion;
    o.challenger = challenger;
    o.model = a->model;
    o.alias = a->alias;
    o.champion_uri = a->champion_uri;
    o.challenger_uri = a->challenger_uri;
    o.shadow = a->shadow > 0;
    o.min_requests = (uint64_t)minr;
    o.min_stage_ms = mins;
    o.check_interval_ms = iv;
    o.failure_threshold = (uint32_t)th;
    o.min_trigger_requests = (uint64_t)mt;
    o.metric_lower_is_better = a->lower > 0;
    mlops_rollout *r = NULL;
    mlops_status st = mlops_rollout_create(&r, store, name, &o);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot create the rollout");
    char *js = NULL;
    if (ctx->json && mlops_rollout_status_json(&js, r) == MLOPS_OK) {
        printf("%s\n", js);
        mlops_string_free(mlops_store_env(store), js);
    } else if (!ctx->json) {
        printf("rollout '%s' started: challenger at %g%%%s\n", name,
               100 * mlops_rollout_share(r), o.shadow ? " (shadow first)" : "");
    }
    mlops_rollout_close(r);
    return CLI_OK;
}

static const char *state_name(uint32_t s)
{
    return s == MLOPS_ROLLOUT_RUNNING    ? "running"
           : s == MLOPS_ROLLOUT_PROMOTED ? "promoted"
                                         : "rolled_back";
}

int cli_cmd_rollout(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(cli_help_rollout, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[0];
    ro_args a;
    memset(&a, 0, sizeof(a));
    cli_optdef defs[] = {{"--champion", NULL, true, &a.champion, NULL, NULL, NULL},
                         {"--challenger", NULL, true, &a.challenger, NULL, NULL, NULL},
                         {"--model", NULL, true, &a.model, NULL, NULL, NULL},
                         {"--alias", NULL, true, &a.alias, NULL, NULL, NULL},
                         {"--champion-uri", NULL, true, &a.champion_uri, NULL, NULL, NULL},
                         {"--challenger-uri", NULL, true, &a.challenger_uri, NULL, NULL, NULL},
                         {"--stages", NULL, true, &a.stages, NULL, NULL, NULL},
                         {"--shadow", NULL, false, NULL, &a.shadow, NULL, NULL},
                         {"--min-requests", NULL, true, &a.min_requests, NULL, NULL, NULL},
                         {"--min-stage-ms", NULL, true, &a.min_stage_ms, NULL, NULL, NULL},
                         {"--check-interval-ms", NULL, true, &a.interval, NULL, NULL, NULL},
                         {"--failure-threshold", NULL, true, &a.threshold, NULL, NULL, NULL},
                         {"--min-trigger-requests", NULL, true, &a.min_trig, NULL, NULL, NULL},
                         {"--max-error-rate", NULL, true, &a.max_err, NULL, NULL, NULL},
                         {"--max-p99-ms", NULL, true, &a.max_p99, NULL, NULL, NULL},
                         {"--max-metric-drop", NULL, true, &a.max_drop, NULL, NULL, NULL},
                         {"--metric-alpha", NULL, true, &a.metric_alpha, NULL, NULL, NULL},
                         {"--lower-is-better", NULL, false, NULL, &a.lower, NULL, NULL},
                         {"--min-agreement", NULL, true, &a.min_agree, NULL, NULL, NULL},
                         {"--arm", NULL, true, &a.arm, NULL, NULL, NULL},
                         {"--latency", NULL, true, &a.latency, NULL, NULL, NULL},
                         {"--error", NULL, false, NULL, &a.error, NULL, NULL},
                         {"--metric", NULL, true, &a.metric, NULL, NULL, NULL},
                         {"--count", NULL, true, &a.count, NULL, NULL, NULL},
                         {"--agree", NULL, true, &a.agree, NULL, NULL, NULL},
                         {"--reason", NULL, true, &a.reason, NULL, NULL, NULL},
                         {"--json", NULL, false, NULL, &a.json, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc - 1, argv + 1, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_rollout, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    want_json(ctx, a.json);
    mlops_rollout *r = NULL;
    char *js = NULL;
    mlops_store *store = NULL;
    mlops_status st;
    bool is_route = strcmp(verb, "route") == 0;
    if (npos < 1 || (npos != 1 && !is_route)) {
        rc = cli_usage(ctx, "rollout %s takes NAME%s", verb, is_route ? " UNIT [UNIT...]" : "");
        goto out;
    }
    if ((store = cli_store(ctx)) == NULL) {
        rc = CLI_FAILED;
        goto out;
    }
    if (strcmp(verb, "create") == 0) {
        rc = rollout_create(ctx, store, pos[0], &a);
        goto out;
    }
    if (strcmp(verb, "status") != 0 && strcmp(verb, "record") != 0 &&
        strcmp(verb, "advance") != 0 && strcmp(verb, "rollback") != 0 &&
        strcmp(verb, "history") != 0 && !is_route) {
        rc = cli_usage(ctx, "unknown verb 'rollout %s'", verb);
        goto out;
    }
    if ((st = mlops_rollout_open(&r, store, pos[0])) != MLOPS_OK) {
        rc = cli_fail(ctx, st, "cannot open the rollout");
        goto out;
    }
    if (strcmp(verb, "status") == 0) {
        if ((st = mlops_rollout_status_json(&js, r)) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot read the status");
            goto out;
        }
        if (ctx->json) {
            printf("%s\n", js);
        } else {
            printf("rollout '%s': %s, challenger share %g%%\n", pos[0],
                   state_name(mlops_rollout_state(r)), 100 * mlops_rollout_share(r));
            const char *so = strstr(js, "\"stage_outcomes\":");
            const char *ch = so ? strstr(so, "\"challenger\":") : NULL;
            const char *cp = so ? strstr(so, "\"champion\":") : NULL;
            if (cp && ch)
                printf("  stage: champion %.0f requests (p99 %.4g ms, errors %.4g%%), "
                       "challenger %.0f requests (p99 %.4g ms, errors %.4g%%)\n",
                       jnum(js, "\"requests\":", cp), jnum(js, "\"p99_ms\":", cp),
                       100 * jnum(js, "\"error_rate\":", cp), jnum(js, "\"requests\":", ch),
                       jnum(js, "\"p99_ms\":", ch), 100 * jnum(js, "\"error_rate\":", ch));
            const char *reason = strstr(js, "\"reason\":\"");
            if (reason) {
                reason += 10;
                const char *end = strchr(reason, '"');
                printf("  reason: %.*s\n", (int)(end ? end - reason : 0), reason);
            }
        }
    } else if (is_route) {
        cli_json j;
        if (ctx->json) {
            json_init(&j, stdout);
            json_arr_begin(&j);
        }
        for (int i = 1; i < npos; i++) {
            uint32_t route;
            int64_t v;
            if ((st = mlops_rollout_route(&route, &v, r, pos[i], strlen(pos[i]))) != MLOPS_OK) {
                rc = cli_fail(ctx, st, "cannot route");
                goto out;
            }
            const char *arm = (route & 0xFF) == MLOPS_ROLLOUT_ARM_CHALLENGER ? "challenger" : "champion";
            bool shadow = (route & MLOPS_ROLLOUT_ROUTE_SHADOW) != 0;
            if (ctx->json) {
                json_obj_begin(&j);
                json_key(&j, "unit");
                json_str(&j, pos[i]);
                json_key(&j, "arm");
                json_str(&j, arm);
                json_key(&j, "version");
                json_i64(&j, v);
                json_key(&j, "shadow");
                json_bool(&j, shadow);
                json_obj_end(&j);
            } else {
                printf("%s\t%s\t%lld%s\n", pos[i], arm, (long long)v, shadow ? "\tshadow" : "");
            }
        }
        if (ctx->json) {
            json_arr_end(&j);
            json_end(&j);
        }
    } else if (strcmp(verb, "record") == 0) {
        double lat = 0, metric = 0;
        int64_t count = 1;
        uint32_t arm;
        if (a.arm == NULL || (strcmp(a.arm, "champion") != 0 && strcmp(a.arm, "challenger") != 0)) {
            if (a.agree == NULL) {
                rc = cli_usage(ctx, "record needs --arm champion|challenger (or --agree yes|no)");
                goto out;
            }
        }
        arm = a.arm != NULL && strcmp(a.arm, "challenger") == 0 ? MLOPS_ROLLOUT_ARM_CHALLENGER
                                                                 : MLOPS_ROLLOUT_ARM_CHAMPION;
        if ((a.arm != NULL && (a.latency == NULL || !cli_parse_f64(a.latency, &lat))) ||
            !opt_f64(a.metric, &metric) || !opt_i64(a.count, &count, 1) || count > 100000000) {
            rc = cli_usage(ctx, "record needs --latency MS; --metric and --count take numbers");
            goto out;
        }
        uint32_t flags = (a.error ? MLOPS_ROLLOUT_OUTCOME_ERROR : 0) |
                         (a.metric ? MLOPS_ROLLOUT_OUTCOME_METRIC : 0);
        for (int64_t i = 0; a.arm != NULL && i < count; i++)
            if ((st = mlops_rollout_record(r, arm, lat, flags, metric)) != MLOPS_OK) {
                rc = cli_fail(ctx, st, "cannot record");
                goto out;
            }
        if (a.agree != NULL) {
            if (strcmp(a.agree, "yes") != 0 && strcmp(a.agree, "no") != 0) {
                rc = cli_usage(ctx, "--agree takes yes or no");
                goto out;
            }
            for (int64_t i = 0; i < count; i++)
                mlops_rollout_record_agreement(r, strcmp(a.agree, "yes") == 0);
        }
        if ((st = mlops_rollout_flush(r)) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot store the outcomes");
            goto out;
        }
    } else if (strcmp(verb, "advance") == 0 || strcmp(verb, "rollback") == 0) {
        uint32_t state = 0;
        st = strcmp(verb, "advance") == 0 ? mlops_rollout_check(&state, r)
                                          : mlops_rollout_rollback(r, a.reason);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, strcmp(verb, "advance") == 0 ? "check failed" : "cannot roll back");
            goto out;
        }
        state = mlops_rollout_state(r);
        if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, "state");
            json_str(&j, state_name(state));
            json_key(&j, "share");
            json_f64(&j, mlops_rollout_share(r));
            json_obj_end(&j);
            json_end(&j);
        } else {
            printf("%s, challenger share %g%%\n", state_name(state), 100 * mlops_rollout_share(r));
        }
    } else { /* history */
        if ((st = mlops_rollout_history_json(&js, r)) != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot read the history");
            goto out;
        }
        if (ctx->json) {
            printf("%s\n", js);
        } else {
            for (const char *p = strstr(js, "{\"seq\":"); p != NULL; p = strstr(p + 1, "{\"seq\":")) {
                char tb[64];
                const char *ev = strstr(p, "\"event\":\"") + 9;
                const char *ee = strchr(ev, '"');
                const char *why = strstr(p, "\"reason\":\"");
                int64_t t = (int64_t)jnum(js, "\"time_ms\":", p);
                printf("%s  %-12.*s %5.4g%%", cli_fmt_time_ms(tb, sizeof(tb), t), (int)(ee - ev), ev,
                       100 * jnum(js, "\"share\":", p));
                if (why != NULL) {
                    why += 10;
                    const char *we = strchr(why, '"');
                    printf("  %.*s", (int)(we ? we - why : 0), why);
                }
                printf("\n");
            }
        }
    }
    rc = CLI_OK;
out:
    if (js != NULL)
        mlops_string_free(mlops_store_env(store), js);
    mlops_rollout_close(r);
    free(pos);
    return rc;
}

/* ---- the demo: a canary whose challenger's latency regresses ---- */

static double demo_latency(uint64_t *s, double median, double sigma)
{
    /* xorshift + Box-Muller: a lognormal latency */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    double u = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    double v = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    double z = sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
    return median * exp(sigma * z);
}

/* Register a challenger version of the demo model (a retrained model's bytes). */
static int64_t demo_challenger(mlops_store *store, const cli_demo_state *st)
{
    static const char blob[] = "churn model v2: gradient boosting, new feature pipeline\n";
    mlops_hash128 id;
    mlops_registry *reg = NULL;
    int64_t v = 0;
    if (mlops_store_blob_put(&id, store, blob, sizeof(blob) - 1) != MLOPS_OK ||
        mlops_registry_open(&reg, store) != MLOPS_OK)
        return 0;
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.blob = &id;
    o.description = "challenger for the canary demo";
    o.user = "mlops demo";
    if (mlops_registry_register(&v, reg, st->model_name, &o) != MLOPS_OK)
        v = 0;
    else
        printf("registered the challenger models:/%s/%lld\n", st->model_name, (long long)v);
    mlops_registry_close(reg);
    return v;
}

int cli_demo_rollout(cli_ctx *ctx, cli_demo_state *st)
{
    printf("== rollout: canary with a p99 trigger ==\n");
    mlops_store *store = cli_store(ctx);
    if (store == NULL)
        return CLI_FAILED;
    static const double stages[] = {0.01, 0.05, 0.10, 0.25, 0.50, 1.0};
    mlops_rollout_options o = MLOPS_ROLLOUT_OPTIONS_INIT;
    o.stages = stages;
    o.n_stages = 6;
    o.min_requests = 5000;
    o.min_stage_ms = 1;
    o.check_interval_ms = 1;
    o.min_trigger_requests = 200;
    o.max_error_rate = 0.02;
    o.max_p99_ms = 250;
    char name[96];
    snprintf(name, sizeof(name), "demo-canary-%lld", (long long)time(NULL));
    mlops_rollout *r = NULL;
    mlops_status s = MLOPS_E_UNSUPPORTED;
    bool bound = false;
    if (st->model_name[0] != 0 && st->model_version > 0) {
        /* The registry step left a champion alias; the newest version challenges it. */
        char uri[300];
        snprintf(uri, sizeof(uri), "models:/%s@champion", st->model_name);
        o.model = st->model_name;
        o.alias = "champion";
        o.champion_uri = uri;
        o.challenger = demo_challenger(store, st);
        s = o.challenger > 0 ? mlops_rollout_create(&r, store, name, &o) : MLOPS_E_NOTFOUND;
        if (s != MLOPS_OK) {
            printf("(no registry binding: %s)\n", mlops_error_message());
            r = NULL;
        } else {
            bound = true;
        }
    }
    if (r == NULL) {
        o.model = o.alias = o.champion_uri = NULL;
        o.champion = 1;
        o.challenger = 2;
        if ((s = mlops_rollout_create(&r, store, name, &o)) != MLOPS_OK)
            return cli_fail(ctx, s, "cannot create the demo rollout");
    }
    char *js = NULL;
    if (mlops_rollout_status_json(&js, r) == MLOPS_OK) {
        printf("rollout %s: champion v%.0f, challenger v%.0f%s; stages 1%% 5%% 10%% 25%% 50%% 100%%\n",
               name, jnum(js, "\"champion\":", NULL), jnum(js, "\"challenger\":", NULL),
               bound ? " (alias 'champion' bound)" : "");
        printf("triggers: p99 > 250 ms, error rate > 2%%\n");
        mlops_string_free(mlops_store_env(store), js);
        js = NULL;
    }
    uint64_t seed = 0x243F6A8885A308D3ull;
    uint32_t state = MLOPS_ROLLOUT_RUNNING;
    for (int step = 0; step < 12 && state == MLOPS_ROLLOUT_RUNNING; step++) {
        double share = mlops_rollout_share(r);
        /* From the 25% stage on, the challenger's new code path slows down under load. */
        bool regressed = share >= 0.25;
        uint64_t served[2] = {0, 0};
        for (int i = 0; i < 20000; i++) {
            char unit[32];
            int n = snprintf(unit, sizeof(unit), "user-%d-%d", step, i);
            uint32_t route;
            mlops_rollout_route(&route, NULL, r, unit, (size_t)n);
            uint32_t arm = route & 0xFF;
            double lat = arm == MLOPS_ROLLOUT_ARM_CHALLENGER
                             ? demo_latency(&seed, regressed ? 140 : 45, regressed ? 0.6 : 0.35)
                             : demo_latency(&seed, 45, 0.35);
            mlops_rollout_record(r, arm, lat, 0, 0);
            served[arm]++;
        }
        char *sj = NULL;
        double p99 = NAN;
        if (mlops_rollout_status_json(&sj, r) == MLOPS_OK) {
            const char *ch = strstr(strstr(sj, "\"stage_outcomes\":"), "\"challenger\":");
            p99 = jnum(sj, "\"p99_ms\":", ch);
            mlops_string_free(mlops_store_env(store), sj);
        }
        s = mlops_rollout_check(&state, r);
        if (s != MLOPS_OK) {
            mlops_rollout_close(r);
            return cli_fail(ctx, s, "rollout check failed");
        }
        printf("  share %5.4g%%: %6llu challenger requests, p99 %6.1f ms -> %s",
               100 * share, (unsigned long long)served[1], p99,
               state == MLOPS_ROLLOUT_RUNNING ? "advance" : state_name(state));
        if (state == MLOPS_ROLLOUT_RUNNING)
            printf(" to %g%%", 100 * mlops_rollout_share(r));
        printf("\n");
    }
    if (mlops_rollout_status_json(&js, r) == MLOPS_OK) {
        const char *reason = strstr(js, "\"reason\":\"");
        if (reason != NULL) {
            reason += 10;
            const char *end = strchr(reason, '"');
            printf("why: %.*s\n", (int)(end ? end - reason : 0), reason);
        }
        mlops_string_free(mlops_store_env(store), js);
    }
    if (bound && state == MLOPS_ROLLOUT_ROLLED_BACK) {
        mlops_registry *reg = NULL;
        char uri[300];
        int64_t v = 0;
        snprintf(uri, sizeof(uri), "models:/%s@champion", st->model_name);
        if (mlops_registry_open(&reg, store) == MLOPS_OK &&
            mlops_registry_resolve(&v, reg, uri) == MLOPS_OK)
            printf("registry: %s -> version %lld (the champion; the challenger was rolled back)\n",
                   uri, (long long)v);
        mlops_registry_close(reg);
    }
    printf("(see: mlops rollout history %s)\n", name);
    mlops_rollout_close(r);
    return CLI_OK;
}

/* SPDX-License-Identifier: MIT */
/* `mlops drift ...`: profiles, merges, comparisons, watching a stream, history. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char cli_help_drift[] =
    "usage: mlops drift <verb> ...\n"
    "\n"
    "  profile DATA.csv (-o FILE | --name BASELINE) [--columns a,b] [--bins N]\n"
    "          [--sketch-k K] [--run ID] [--model NAME --model-version V]\n"
    "      profile every column of a CSV (a column is categorical when any value\n"
    "      in it is not a number; empty cells are missing) into a file or into\n"
    "      the store as a named baseline\n"
    "  merge A B [C ...] -o OUT      merge profile files column by column\n"
    "  compare BASELINE.csv|PROFILE|store:NAME CURRENT.csv [--columns a,b]\n"
    "          [--bins N] [--correction none|bonferroni|bh] [--json]\n"
    "      a table per column: type, PSI, KS statistic and p-value (numeric),\n"
    "      chi-squared statistic, dof and p-value (categorical), JS distance,\n"
    "      Wasserstein distance, missing rates, severity\n"
    "  watch (--baseline FILE | --name BASELINE) [--monitor NAME] [--json]\n"
    "      read CSV from standard input: a header line, then batches separated\n"
    "      by empty lines; each batch is one window; alerts print as they happen\n"
    "      (with --monitor the windows are recorded in the store's history)\n"
    "  history MONITOR [--limit N] [--json]   the recorded windows of a monitor\n"
    "  show FILE|store:NAME [--json]          describe profiles\n";

#define MAGIC "MLDRIFT1"
#define MAX_COLS 4096

/* ---- a small CSV table (no embedded newlines; quotes allowed) ---- */

typedef struct table {
    char *buf;
    char **names;
    size_t ncols;
    char ***cells; /* cells[c][r], NULL for an empty cell */
    size_t nrows, cap;
} table;

static void table_free(table *t)
{
    for (size_t c = 0; c < t->ncols; c++)
        free(t->cells ? t->cells[c] : NULL);
    free(t->cells);
    free(t->names);
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

/* Split one line in place into fields; returns the count (or SIZE_MAX on overflow). */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return SIZE_MAX;
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                *w++ = *p++;
        }
        char end = *p;
        *w = '\0';
        f[n++] = start;
        if (end == '\0')
            break;
        p++;
    }
    return n;
}

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* Parse CSV text (owned by t afterwards). Lines are cut at '\n' ("\r\n" ok). */
static int table_parse(cli_ctx *ctx, table *t, char *text, const char *what)
{
    memset(t, 0, sizeof(*t));
    t->buf = text;
    char *p = text;
    char *fields[MAX_COLS];
    char *nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    if (nl && nl > p && nl[-1] == '\r')
        nl[-1] = '\0';
    size_t nc = split(p, fields, MAX_COLS);
    if (nc == SIZE_MAX || (nc == 1 && fields[0][0] == '\0'))
        return cli_error(ctx, "%s: no header line, or more than %d columns", what, MAX_COLS);
    t->ncols = nc;
    t->names = calloc(nc, sizeof(char *));
    t->cells = calloc(nc, sizeof(char **));
    if (!t->names || !t->cells)
        return cli_error(ctx, "out of memory");
    memcpy(t->names, fields, nc * sizeof(char *));
    p = nl ? nl + 1 : p + strlen(p);
    size_t line = 1;
    while (*p) {
        line++;
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (nl && nl > p && nl[-1] == '\r')
            nl[-1] = '\0';
        if (*p != '\0') {
            size_t n = split(p, fields, MAX_COLS);
            if (n != nc)
                return cli_error(ctx, "%s: line %zu has %zu fields, the header has %zu", what,
                                 line, n == SIZE_MAX ? (size_t)MAX_COLS : n, nc);
            if (t->nrows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 1024;
                for (size_t c = 0; c < nc; c++) {
                    char **nv = realloc(t->cells[c], cap * sizeof(char *));
                    if (nv == NULL)
                        return cli_error(ctx, "out of memory");
                    t->cells[c] = nv;
                }
                t->cap = cap;
            }
            for (size_t c = 0; c < nc; c++)
                t->cells[c][t->nrows] = fields[c][0] ? fields[c] : NULL;
            t->nrows++;
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return CLI_OK;
}

static int table_load(cli_ctx *ctx, table *t, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    size_t len = 0;
    char *text = read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (text == NULL)
        return cli_error(ctx, "out of memory reading '%s'", path);
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        return cli_error(ctx, "'%s' is not a text CSV file", path);
    }
    int rc = table_parse(ctx, t, text, path);
    if (rc != CLI_OK)
        table_free(t);
    return rc;
}

static bool parse_num(const char *s, double *out)
{
    if (s == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

static bool column_numeric(const table *t, size_t c)
{
    double v;
    for (size_t r = 0; r < t->nrows; r++)
        if (t->cells[c][r] != NULL && !parse_num(t->cells[c][r], &v))
            return false;
    return true;
}

static long table_col(const table *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->names[c], name) == 0)
            return (long)c;
    return -1;
}

/* Feed one column into a profile. */
static mlops_status feed_column(mlops_drift_profile *p, const table *t, size_t c, bool numeric)
{
    mlops_status st = MLOPS_OK;
    if (numeric) {
        double *v = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
        if (v == NULL)
            return mlops_error_set(MLOPS_E_NOMEM, "out of memory");
        size_t n = 0;
        uint64_t missing = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            if (t->cells[c][r] == NULL)
                missing++;
            else
                parse_num(t->cells[c][r], &v[n++]);
        }
        st = mlops_drift_profile_add(p, v, n);
        if (st == MLOPS_OK && missing)
            st = mlops_drift_profile_add_missing(p, missing);
        free(v);
    } else {
        st = mlops_drift_profile_add_strings(p, (const char *const *)t->cells[c], t->nrows);
    }
    return st;
}

/* ---- profile files ---- */

static int write_profiles(cli_ctx *ctx, const char *path, mlops_drift_profile **ps, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return cli_error(ctx, "cannot create '%s': %s", path, strerror(errno));
    int rc = CLI_OK;
    uint8_t hdr[12];
    memcpy(hdr, MAGIC, 8);
    hdr[8] = (uint8_t)n;
    hdr[9] = (uint8_t)(n >> 8);
    hdr[10] = (uint8_t)(n >> 16);
    hdr[11] = (uint8_t)(n >> 24);
    fwrite(hdr, 1, 12, f);
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        mlops_bytes b = {0};
        mlops_status st = mlops_drift_profile_serialize(&b, ps[i]);
        if (st != MLOPS_OK) {
            rc = cli_fail(ctx, st, "cannot encode a profile");
            break;
        }
        uint8_t l[4] = {(uint8_t)b.len, (uint8_t)(b.len >> 8), (uint8_t)(b.len >> 16),
                        (uint8_t)(b.len >> 24)};
        fwrite(l, 1, 4, f);
        fwrite(b.data, 1, b.len, f);
        mlops_bytes_free(&b);
    }
    if (fclose(f) != 0 && rc == CLI_OK)
        rc = cli_error(ctx, "cannot write '%s': %s", path, strerror(errno));
    return rc;
}

static void free_profiles(mlops_drift_profile **ps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mlops_drift_profile_free(ps[i]);
    free(ps);
}

static bool is_profile_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    char m[8];
    bool yes = fread(m, 1, 8, f) == 8 && memcmp(m, MAGIC, 8) == 0;
    fclose(f);
    return yes;
}

static int read_profiles(cli_ctx *ctx, const char *path, mlops_drift_profile ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_error(ctx, "cannot open '%s': %s", path, strerror(errno));
    size_t len = 0;
    uint8_t *d = (uint8_t *)read_all(f, &len);
    fclose(f);
    if (d == NULL)
        return cli_error(ctx, "out of memory");
    int rc = CLI_OK;
    if (len < 12 || memcmp(d, MAGIC, 8) != 0) {
        free(d);
        return cli_error(ctx, "'%s' is not a libmlops profile file", path);
    }
    size_t n = (size_t)d[8] | ((size_t)d[9] << 8) | ((size_t)d[10] << 16) | ((size_t)d[11] << 24);
    if (n == 0 || n > 100000) {
        free(d);
        return cli_error(ctx, "'%s' holds %zu profiles", path, n);
    }
    mlops_drift_profile **ps = calloc(n, sizeof(*ps));
    size_t off = 12, k = 0;
    if (ps == NULL)
        rc = cli_error(ctx, "out of memory");
    for (; rc == CLI_OK && k < n; k++) {
        if (len - off < 4) {
            rc = cli_error(ctx, "'%s' is truncated", path);
            break;
        }
        size_t l = (size_t)d[off] | ((size_t)d[off + 1] << 8) | ((size_t)d[off + 2] << 16) |
                   ((size_t)d[off + 3] << 24);
        off += 4;
        if (l > len - off) {
            rc = cli_error(ctx, "'%s' is truncated", path);
            break;
        }
        mlops_status st = mlops_drift_profile_deserialize(&ps[k], ctx->env, d + off, l);
        if (st != MLOPS_OK) {
            char what[600];
            snprintf(what, sizeof(what), "profile %zu of '%s'", k, path);
            rc = cli_fail(ctx, st, what);
            break;
        }
        off += l;
    }
    free(d);
    if (rc != CLI_OK) {
        free_profiles(ps, n);
        return rc;
    }
    *out = ps;
    *n_out = n;
    return CLI_OK;
}

/* A baseline from a file or from the store (store:NAME). */
static int load_baseline(cli_ctx *ctx, const char *spec, mlops_drift_profile ***out, size_t *n)
{
    if (strncmp(spec, "store:", 6) == 0) {
        mlops_store *s = cli_store(ctx);
        if (s == NULL)
            return CLI_FAILED;
        mlops_drift_profile **ps = NULL;
        mlops_status st = mlops_drift_baseline_load(&ps, n, NULL, s, spec + 6);
        if (st != MLOPS_OK)
            return cli_fail(ctx, st, "cannot load the baseline");
        /* copy into a malloc'd array so one free path serves both sources */
        mlops_drift_profile **cp = calloc(*n, sizeof(*cp));
        if (cp == NULL) {
            mlops_drift_profiles_free(ps, *n);
            return cli_error(ctx, "out of memory");
        }
        for (size_t i = 0; i < *n; i++) {
            cp[i] = ps[i];
            ps[i] = NULL;
        }
        mlops_drift_profiles_free(ps, 0);
        *out = cp;
        return CLI_OK;
    }
    return read_profiles(ctx, spec, out, n);
}

static bool wanted(const char *columns, const char *name)
{
    if (columns == NULL)
        return true;
    size_t l = strlen(name);
    for (const char *p = columns; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == l && strncmp(p, name, l) == 0)
            return true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return false;
}

/* Profiles of the chosen columns of a table. like: baseline profiles to
 * shape them after (NULL: fresh ones). keep: raw values kept for exact KS. */
static int profile_table(cli_ctx *ctx, const table *t, const char *columns, uint32_t bins,
                         uint32_t sketch_k, uint64_t keep, mlops_drift_profile **like, size_t nlike,
                         const table *other, mlops_drift_profile ***out, size_t *n_out)
{
    mlops_drift_profile **ps = calloc(t->ncols ? t->ncols : 1, sizeof(*ps));
    if (ps == NULL)
        return cli_error(ctx, "out of memory");
    size_t n = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        if (!wanted(columns, t->names[c]))
            continue;
        mlops_drift_profile *base = NULL;
        if (like) {
            for (size_t i = 0; i < nlike; i++)
                if (strcmp(mlops_drift_profile_name(like[i]), t->names[c]) == 0)
                    base = like[i];
            if (base == NULL)
                continue;
        }
        bool numeric = column_numeric(t, c);
        if (other) {
            long oc = table_col(other, t->names[c]);
            if (oc >= 0 && !column_numeric(other, (size_t)oc))
                numeric = false;
        }
        mlops_drift_profile_stats bs = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
        if (base)
            mlops_drift_profile_summary(&bs, base);
        if (base && bs.type == MLOPS_DRIFT_NUMERIC && !numeric) {
            free_profiles(ps, n);
            return cli_error(ctx, "column '%s' is numeric in the baseline but holds text in the "
                                  "current data", t->names[c]);
        }
        mlops_status st;
        if (base && bs.type == MLOPS_DRIFT_NUMERIC) {
            st = mlops_drift_profile_create_like(&ps[n], base);
        } else {
            mlops_drift_profile_options o = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
            o.type = (numeric && !(base && bs.type == MLOPS_DRIFT_CATEGORICAL))
                         ? MLOPS_DRIFT_NUMERIC
                         : MLOPS_DRIFT_CATEGORICAL;
            o.bins = bins;
            o.sketch_k = sketch_k;
            o.keep_values = keep;
            o.max_categories = 4096;
            if (o.type == MLOPS_DRIFT_NUMERIC && base == NULL) {
                /* exact bin edges from the whole column */
                double *v = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
                if (v == NULL) {
                    free_profiles(ps, n);
                    return cli_error(ctx, "out of memory");
                }
                size_t m = 0, missing = 0;
                for (size_t r = 0; r < t->nrows; r++) {
                    if (t->cells[c][r] == NULL)
                        missing++;
                    else
                        parse_num(t->cells[c][r], &v[m++]);
                }
                st = mlops_drift_profile_from_values(&ps[n], ctx->env, t->names[c], v, m, &o);
                if (st == MLOPS_OK && missing)
                    st = mlops_drift_profile_add_missing(ps[n], missing);
                free(v);
                if (st != MLOPS_OK) {
                    free_profiles(ps, n + 1);
                    char what[600];
                    snprintf(what, sizeof(what), "cannot profile column '%s'", t->names[c]);
                    return cli_fail(ctx, st, what);
                }
                n++;
                continue;
            }
            st = mlops_drift_profile_create(&ps[n], ctx->env, t->names[c], &o);
        }
        if (st == MLOPS_OK)
            st = feed_column(ps[n], t, c, numeric && !(base && bs.type == MLOPS_DRIFT_CATEGORICAL));
        if (st != MLOPS_OK) {
            free_profiles(ps, n + 1);
            char what[600];
            snprintf(what, sizeof(what), "cannot profile column '%s'", t->names[c]);
            return cli_fail(ctx, st, what);
        }
        n++;
    }
    if (n == 0) {
        free(ps);
        return cli_error(ctx, "no column to profile%s", columns ? " (check --columns)" : "");
    }
    *out = ps;
    *n_out = n;
    return CLI_OK;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    int64_t v;
    if (s == NULL)
        return true;
    if (!cli_parse_i64(s, &v) || v < lo || v > hi)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* ---- verbs ---- */

static int cmd_profile(cli_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL, *name = NULL, *columns = NULL, *bins_s = NULL, *k_s = NULL,
               *run = NULL, *model = NULL, *mv_s = NULL;
    cli_optdef defs[] = {{"--output", "-o", true, &out, NULL, NULL, NULL},
                         {"--name", NULL, true, &name, NULL, NULL, NULL},
                         {"--columns", NULL, true, &columns, NULL, NULL, NULL},
                         {"--bins", NULL, true, &bins_s, NULL, NULL, NULL},
                         {"--sketch-k", NULL, true, &k_s, NULL, NULL, NULL},
                         {"--run", NULL, true, &run, NULL, NULL, NULL},
                         {"--model", NULL, true, &model, NULL, NULL, NULL},
                         {"--model-version", NULL, true, &mv_s, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    const char *data = npos == 1 ? pos[0] : NULL;
    free(pos);
    if (data == NULL)
        return cli_usage(ctx, "drift profile takes one CSV file");
    if ((out == NULL) == (name == NULL))
        return cli_usage(ctx, "drift profile needs exactly one of -o FILE and --name BASELINE");
    uint32_t bins = 0, k = 0;
    int64_t mv = 0;
    if (!parse_u32(bins_s, 1, MLOPS_DRIFT_MAX_BINS, &bins))
        return cli_usage(ctx, "--bins takes 1 to %u", MLOPS_DRIFT_MAX_BINS);
    if (!parse_u32(k_s, 8, 65535, &k))
        return cli_usage(ctx, "--sketch-k takes 8 to 65535");
    if (mv_s && (!cli_parse_i64(mv_s, &mv) || mv < 1))
        return cli_usage(ctx, "--model-version takes a positive number");
    table t;
    if ((rc = table_load(ctx, &t, data)) != CLI_OK)
        return rc;
    mlops_drift_profile **ps = NULL;
    size_t n = 0;
    rc = profile_table(ctx, &t, columns, bins, k, 0, NULL, 0, NULL, &ps, &n);
    table_free(&t);
    if (rc != CLI_OK)
        return rc;
    if (out) {
        rc = write_profiles(ctx, out, ps, n);
    } else {
        mlops_store *s = cli_store(ctx);
        if (s == NULL) {
            rc = CLI_FAILED;
        } else {
            mlops_status st = mlops_drift_baseline_save(s, name, ps, n, run, model, mv);
            if (st != MLOPS_OK)
                rc = cli_fail(ctx, st, "cannot save the baseline");
        }
    }
    if (rc == CLI_OK) {
        if (ctx->json) {
            cli_json j;
            json_init(&j, stdout);
            json_obj_begin(&j);
            json_key(&j, out ? "file" : "baseline");
            json_str(&j, out ? out : name);
            json_key(&j, "columns");
            json_arr_begin(&j);
            for (size_t i = 0; i < n; i++)
                json_str(&j, mlops_drift_profile_name(ps[i]));
            json_arr_end(&j);
            json_obj_end(&j);
            json_end(&j);
        } else {
            printf("profiled %zu column%s into %s%s\n", n, n == 1 ? "" : "s",
                   out ? out : "baseline ", out ? "" : name);
        }
    }
    free_profiles(ps, n);
    return rc;
}

static int cmd_merge(cli_ctx *ctx, int argc, char **argv)
{
    const char *out = NULL;
    cli_optdef defs[] = {{"--output", "-o", true, &out, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    if (npos < 2 || out == NULL) {
        free(pos);
        return cli_usage(ctx, "drift merge takes two or more profile files and -o OUT");
    }
    mlops_drift_profile **acc = NULL;
    size_t na = 0;
    rc = read_profiles(ctx, pos[0], &acc, &na);
    for (int i = 1; i < npos && rc == CLI_OK; i++) {
        mlops_drift_profile **ps = NULL;
        size_t n = 0;
        rc = read_profiles(ctx, pos[i], &ps, &n);
        if (rc != CLI_OK)
            break;
        for (size_t k = 0; k < n && rc == CLI_OK; k++) {
            size_t j = 0;
            while (j < na && strcmp(mlops_drift_profile_name(acc[j]),
                                    mlops_drift_profile_name(ps[k])) != 0)
                j++;
            if (j == na) {
                mlops_drift_profile **g = realloc(acc, (na + 1) * sizeof(*acc));
                if (g == NULL) {
                    rc = cli_error(ctx, "out of memory");
                    break;
                }
                acc = g;
                acc[na++] = ps[k];
                ps[k] = NULL;
                continue;
            }
            mlops_status st = mlops_drift_profile_merge(acc[j], ps[k]);
            if (st != MLOPS_OK) {
                char what[600];
                snprintf(what, sizeof(what), "cannot merge column '%s' of '%s'",
                         mlops_drift_profile_name(ps[k]), pos[i]);
                rc = cli_fail(ctx, st, what);
            }
        }
        free_profiles(ps, n);
    }
    if (rc == CLI_OK)
        rc = write_profiles(ctx, out, acc, na);
    if (rc == CLI_OK && !ctx->json)
        printf("merged %d files into %s (%zu columns)\n", npos, out, na);
    free_profiles(acc, na);
    free(pos);
    return rc;
}

static const char *sev_name(uint32_t s)
{
    return s == MLOPS_DRIFT_SEVERITY_SIGNIFICANT ? "significant"
                                                 : (s == MLOPS_DRIFT_SEVERITY_MODERATE ? "moderate"
                                                                                       : "none");
}

static const char *test_name(uint32_t t)
{
    switch (t) {
    case MLOPS_DRIFT_TEST_KS: return "ks";
    case MLOPS_DRIFT_TEST_CHI2: return "chi2";
    case MLOPS_DRIFT_TEST_JS: return "jensenshannon";
    case MLOPS_DRIFT_TEST_WASSERSTEIN: return "wasserstein";
    case MLOPS_DRIFT_TEST_Z: return "z";
    default: return "-";
    }
}

static void jnum(cli_json *j, const char *key, double v)
{
    json_key(j, key);
    if (isnan(v))
        json_null(j);
    else
        json_f64(j, v);
}

static const char *fmt(char *buf, size_t cap, double v, const char *f)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, f, v);
    return buf;
}

/* The report as the compare table or its JSON form (exact keys). */
static void print_report(cli_ctx *ctx, const mlops_drift_report *r)
{
    size_t n = mlops_drift_report_count(r);
    if (ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_arr_begin(&j);
        for (size_t i = 0; i < n; i++) {
            mlops_drift_column c = {MLOPS_DRIFT_COLUMN_VERSION};
            mlops_drift_report_column(&c, r, i);
            bool num = c.type == MLOPS_DRIFT_NUMERIC;
            json_obj_begin(&j);
            json_key(&j, "name");
            json_str(&j, c.name);
            json_key(&j, "type");
            json_str(&j, num ? "numeric" : "categorical");
            jnum(&j, "psi", c.psi);
            jnum(&j, "ks_statistic", num ? c.ks_statistic : NAN);
            jnum(&j, "ks_pvalue", num ? c.ks_pvalue : NAN);
            jnum(&j, "chi2_statistic", num ? NAN : c.chi2_statistic);
            jnum(&j, "chi2_dof", num ? NAN : c.chi2_dof);
            jnum(&j, "chi2_pvalue", num ? NAN : c.chi2_pvalue);
            jnum(&j, "js_distance", c.js_distance);
            jnum(&j, "wasserstein", num ? c.wasserstein : NAN);
            json_key(&j, "severity");
            json_str(&j, isnan(c.psi) ? NULL : sev_name(c.severity));
            json_obj_end(&j);
        }
        json_arr_end(&j);
        json_end(&j);
        return;
    }
    printf("%-16s %-11s %9s %8s %10s %9s %4s %10s %8s %11s %7s %7s %-11s %s\n", "column", "type",
           "psi", "ks_stat", "ks_p", "chi2", "dof", "chi2_p", "js", "wasserstein", "miss_b",
           "miss_c", "severity", "drift (test)");
    for (size_t i = 0; i < n; i++) {
        mlops_drift_column c = {MLOPS_DRIFT_COLUMN_VERSION};
        mlops_drift_report_column(&c, r, i);
        bool num = c.type == MLOPS_DRIFT_NUMERIC;
        char b[14][32];
        printf("%-16s %-11s %9s %8s %10s %9s %4s %10s %8s %11s %7s %7s %-11s %s (%s)\n", c.name,
               num ? "numeric" : "categorical", fmt(b[0], 32, c.psi, "%.4f"),
               fmt(b[1], 32, num ? c.ks_statistic : NAN, "%.4f"),
               fmt(b[2], 32, num ? c.ks_pvalue : NAN, "%.3g"),
               fmt(b[3], 32, num ? NAN : c.chi2_statistic, "%.3f"),
               fmt(b[4], 32, num ? NAN : c.chi2_dof, "%.0f"),
               fmt(b[5], 32, num ? NAN : c.chi2_pvalue, "%.3g"), fmt(b[6], 32, c.js_distance, "%.4f"),
               fmt(b[7], 32, num ? c.wasserstein : NAN, "%.4g"),
               fmt(b[8], 32, c.missing_base * 100, "%.1f%%"),
               fmt(b[9], 32, c.missing_cur * 100, "%.1f%%"), isnan(c.psi) ? "-" : sev_name(c.severity),
               c.test == 0 ? "-" : (c.drifted ? "DRIFT" : "ok"), test_name(c.test));
    }
    double share;
    uint32_t ds;
    mlops_drift_report_summary(&share, &ds, r);
    printf("drifted columns: %.0f%%; dataset drift: %s\n", share * 100, ds ? "yes" : "no");
}

static int cmd_compare(cli_ctx *ctx, int argc, char **argv)
{
    const char *columns = NULL, *bins_s = NULL, *corr = NULL;
    cli_optdef defs[] = {{"--columns", NULL, true, &columns, NULL, NULL, NULL},
                         {"--bins", NULL, true, &bins_s, NULL, NULL, NULL},
                         {"--correction", NULL, true, &corr, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    if (npos != 2) {
        free(pos);
        return cli_usage(ctx, "drift compare takes BASELINE.csv|PROFILE|store:NAME and CURRENT.csv");
    }
    const char *bpath = pos[0], *cpath = pos[1];
    free(pos);
    uint32_t bins = 0;
    if (!parse_u32(bins_s, 1, MLOPS_DRIFT_MAX_BINS, &bins))
        return cli_usage(ctx, "--bins takes 1 to %u", MLOPS_DRIFT_MAX_BINS);
    mlops_drift_compare_options co = MLOPS_DRIFT_COMPARE_OPTIONS_INIT;
    if (corr) {
        if (strcmp(corr, "none") == 0)
            co.correction = MLOPS_DRIFT_CORRECTION_NONE;
        else if (strcmp(corr, "bonferroni") == 0)
            co.correction = MLOPS_DRIFT_CORRECTION_BONFERRONI;
        else if (strcmp(corr, "bh") == 0)
            co.correction = MLOPS_DRIFT_CORRECTION_BH;
        else
            return cli_usage(ctx, "--correction takes none, bonferroni or bh");
    }
    bool from_profile = strncmp(bpath, "store:", 6) == 0 || is_profile_file(bpath);
    if (from_profile && bins_s)
        return cli_usage(ctx, "--bins applies to a CSV baseline; a profile keeps its own bins");
    table bt = {0}, ct = {0};
    mlops_drift_profile **bp = NULL, **cp = NULL;
    size_t nb = 0, nc = 0;
    mlops_drift_report *r = NULL;
    if ((rc = table_load(ctx, &ct, cpath)) != CLI_OK)
        return rc;
    if (from_profile) {
        rc = load_baseline(ctx, bpath, &bp, &nb);
        if (rc == CLI_OK && columns) {
            /* keep only the chosen columns */
            size_t k = 0;
            for (size_t i = 0; i < nb; i++) {
                if (wanted(columns, mlops_drift_profile_name(bp[i])))
                    bp[k++] = bp[i];
                else
                    mlops_drift_profile_free(bp[i]);
            }
            nb = k;
        }
    } else {
        rc = table_load(ctx, &bt, bpath);
        /* raw values are kept so that KS and Wasserstein are exact, as scipy's */
        if (rc == CLI_OK)
            rc = profile_table(ctx, &bt, columns, bins, 0, UINT64_MAX, NULL, 0, &ct, &bp, &nb);
    }
    if (rc == CLI_OK)
        rc = profile_table(ctx, &ct, columns, bins, 0, UINT64_MAX, bp, nb, NULL, &cp, &nc);
    if (rc == CLI_OK) {
        mlops_status st = mlops_drift_compare(&r, bp, nb, cp, nc, &co);
        if (st != MLOPS_OK)
            rc = cli_fail(ctx, st, "cannot compare");
    }
    if (rc == CLI_OK)
        print_report(ctx, r);
    mlops_drift_report_free(r);
    free_profiles(bp, nb);
    free_profiles(cp, nc);
    table_free(&bt);
    table_free(&ct);
    return rc;
}

typedef struct watch_state {
    cli_ctx *ctx;
    int alerts;
} watch_state;

static int on_alert(const mlops_drift_column *c, int64_t window, void *payload)
{
    watch_state *w = payload;
    w->alerts++;
    if (w->ctx->json) {
        cli_json j;
        json_init(&j, stdout);
        json_obj_begin(&j);
        json_key(&j, "alert");
        json_str(&j, c->name);
        json_key(&j, "window");
        json_i64(&j, window);
        json_key(&j, "test");
        json_str(&j, test_name(c->test));
        jnum(&j, "score", c->score);
        jnum(&j, "psi", c->psi);
        json_key(&j, "severity");
        json_str(&j, sev_name(c->severity));
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("ALERT window %lld: column '%s' drifted (%s %.4g, psi %.4f, %s)\n",
               (long long)window, c->name, test_name(c->test), c->score, c->psi,
               sev_name(c->severity));
    }
    fflush(stdout);
    return 0;
}

static int watch_batch(cli_ctx *ctx, mlops_drift_monitor *m, const table *t, int64_t *window)
{
    for (size_t c = 0; c < t->ncols; c++) {
        mlops_status st;
        bool numeric = column_numeric(t, c);
        if (numeric) {
            double *v = malloc((t->nrows ? t->nrows : 1) * sizeof(double));
            if (v == NULL)
                return cli_error(ctx, "out of memory");
            size_t n = 0;
            for (size_t r = 0; r < t->nrows; r++, n++) {
                v[n] = NAN;
                if (t->cells[c][r])
                    parse_num(t->cells[c][r], &v[n]);
            }
            st = mlops_drift_monitor_feed(m, t->names[c], v, n);
            free(v);
        } else {
            st = mlops_drift_monitor_feed_strings(m, t->names[c],
                                                  (const char *const *)t->cells[c], t->nrows);
        }
        if (st == MLOPS_E_NOTFOUND)
            continue; /* a column without a baseline is not watched */
        if (st == MLOPS_E_INVALID && numeric) {
            /* numbers in a categorical column: feed them as text */
            st = mlops_drift_monitor_feed_strings(m, t->names[c],
                                                  (const char *const *)t->cells[c], t->nrows);
        }
        if (st != MLOPS_OK) {
            char what[600];
            snprintf(what, sizeof(what), "cannot feed column '%s'", t->names[c]);
            return cli_fail(ctx, st, what);
        }
    }
    mlops_drift_report *r = NULL;
    mlops_status st = mlops_drift_monitor_evaluate(&r, m, MLOPS_DRIFT_EVAL_CLOSE);
    if (st == MLOPS_E_INSUFFICIENT)
        return CLI_OK;
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot evaluate the window");
    double share;
    uint32_t ds;
    mlops_drift_report_summary(&share, &ds, r);
    if (!ctx->json)
        printf("window %lld: %zu rows, %.0f%% of columns drifted%s\n", (long long)*window,
               t->nrows, share * 100, ds ? " (dataset drift)" : "");
    fflush(stdout);
    mlops_drift_report_free(r);
    (*window)++;
    return CLI_OK;
}

static int cmd_watch(cli_ctx *ctx, int argc, char **argv)
{
    const char *bfile = NULL, *bname = NULL, *mname = NULL;
    cli_optdef defs[] = {{"--baseline", NULL, true, &bfile, NULL, NULL, NULL},
                         {"--name", NULL, true, &bname, NULL, NULL, NULL},
                         {"--monitor", NULL, true, &mname, NULL, NULL, NULL},
                         {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    free(pos);
    if (npos != 0 || (bfile == NULL) == (bname == NULL))
        return cli_usage(ctx, "drift watch needs exactly one of --baseline FILE and --name BASELINE");
    mlops_drift_profile **bp = NULL;
    size_t nb = 0;
    char spec[600];
    snprintf(spec, sizeof(spec), "%s%s", bname ? "store:" : "", bname ? bname : bfile);
    if ((rc = load_baseline(ctx, spec, &bp, &nb)) != CLI_OK)
        return rc;
    mlops_store *store = NULL;
    if (mname) {
        store = cli_store(ctx);
        if (store == NULL) {
            free_profiles(bp, nb);
            return CLI_FAILED;
        }
    }
    mlops_drift_monitor *m = NULL;
    mlops_status st = mlops_drift_monitor_create(&m, ctx->env, store, mname ? mname : "watch", bp,
                                                 nb, NULL);
    free_profiles(bp, nb);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot create the monitor");
    watch_state ws = {ctx, 0};
    mlops_drift_monitor_set_alert(m, on_alert, &ws);
    /* read the header, then batches separated by empty lines */
    char *line = NULL, *header = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t blen = 0, bcap = 0;
    char *batch = NULL;
    int64_t window = 0;
    rc = CLI_OK;
    for (;;) {
        len = getline(&line, &cap, stdin);
        bool end_batch = len < 0 || (len <= 2 && (line[0] == '\n' || line[0] == '\r'));
        if (len >= 0 && header == NULL) {
            if (end_batch)
                continue;
            header = strdup(line);
            if (header == NULL) {
                rc = cli_error(ctx, "out of memory");
                break;
            }
            continue;
        }
        if (end_batch && blen > 0) {
            size_t hl = strlen(header);
            char *text = malloc(hl + blen + 2);
            if (text == NULL) {
                rc = cli_error(ctx, "out of memory");
                break;
            }
            memcpy(text, header, hl);
            if (hl == 0 || header[hl - 1] != '\n')
                text[hl++] = '\n';
            memcpy(text + hl, batch, blen);
            text[hl + blen] = '\0';
            table t;
            rc = table_parse(ctx, &t, text, "standard input");
            if (rc == CLI_OK)
                rc = watch_batch(ctx, m, &t, &window);
            table_free(&t);
            blen = 0;
            if (rc != CLI_OK)
                break;
        } else if (!end_batch) {
            if (blen + (size_t)len + 1 > bcap) {
                bcap = (blen + (size_t)len + 1) * 2;
                char *nb2 = realloc(batch, bcap);
                if (nb2 == NULL) {
                    rc = cli_error(ctx, "out of memory");
                    break;
                }
                batch = nb2;
            }
            memcpy(batch + blen, line, (size_t)len);
            blen += (size_t)len;
        }
        if (len < 0)
            break;
    }
    if (rc == CLI_OK && !ctx->json)
        printf("%lld window%s, %d alert%s\n", (long long)window, window == 1 ? "" : "s", ws.alerts,
               ws.alerts == 1 ? "" : "s");
    free(line);
    free(header);
    free(batch);
    mlops_drift_monitor_close(m);
    return rc;
}

static int cmd_history(cli_ctx *ctx, int argc, char **argv)
{
    const char *limit_s = NULL;
    cli_optdef defs[] = {{"--limit", NULL, true, &limit_s, NULL, NULL, NULL}, {NULL}};
    char **pos = NULL;
    int npos = 0;
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    const char *mon = npos == 1 ? pos[0] : NULL;
    free(pos);
    if (mon == NULL)
        return cli_usage(ctx, "drift history takes one monitor name");
    int64_t limit = 0;
    if (limit_s && (!cli_parse_i64(limit_s, &limit) || limit < 0))
        return cli_usage(ctx, "--limit takes a number >= 0");
    mlops_store *s = cli_store(ctx);
    if (s == NULL)
        return CLI_FAILED;
    char *json = NULL;
    mlops_status st = mlops_drift_history_json(&json, s, mon, (uint64_t)limit);
    if (st != MLOPS_OK)
        return cli_fail(ctx, st, "cannot read the drift history");
    if (ctx->json) {
        printf("%s\n", json);
    } else if (strcmp(json, "[]") == 0) {
        printf("no drift history for monitor '%s'\n", mon);
    } else {
        /* a compact table from the JSON: one line per window and column */
        printf("%-7s %-24s %-16s %-13s %10s %9s %-11s %s\n", "window", "time", "column", "test",
               "score", "psi", "severity", "drift");
        const char *p = json;
        long long w = -1, tms = 0;
        while ((p = strstr(p, "\"")) != NULL) {
            if (strncmp(p, "\"window\": ", 10) == 0) {
                w = strtoll(p + 10, NULL, 10);
            } else if (strncmp(p, "\"time_ms\": ", 11) == 0) {
                tms = strtoll(p + 11, NULL, 10);
            } else if (strncmp(p, "\"name\": \"", 9) == 0) {
                char name[300] = "", test[32] = "-", sev[16] = "-";
                double score = NAN, psi = NAN;
                int drifted = 0;
                const char *e = strchr(p + 9, '"');
                snprintf(name, sizeof(name), "%.*s", e ? (int)(e - p - 9) : 0, p + 9);
                const char *endobj = strchr(p, '}');
                const char *q;
                if ((q = strstr(p, "\"test\": \"")) && q < endobj)
                    sscanf(q + 9, "%31[^\"]", test);
                if ((q = strstr(p, "\"score\": ")) && q < endobj)
                    score = strtod(q + 9, NULL);
                if ((q = strstr(p, "\"psi\": ")) && q < endobj)
                    psi = strtod(q + 7, NULL);
                if ((q = strstr(p, "\"severity\": \"")) && q < endobj)
                    sscanf(q + 13, "%15[^\"]", sev);
                if ((q = strstr(p, "\"drifted\": true")) && q < endobj)
                    drifted = 1;
                char tb[40], b1[32], b2[32];
                printf("%-7lld %-24s %-16s %-13s %10s %9s %-11s %s\n", w,
                       cli_fmt_time_ms(tb, sizeof(tb), tms), name, test,
                       fmt(b1, 32, score, "%.4g"), fmt(b2, 32, psi, "%.4f"), sev,
                       drifted ? "DRIFT" : "ok");
                p = endobj ? endobj : p + 1;
                continue;
            }
            p++;
        }
    }
    mlops_string_free(mlops_store_env(s), json);
    return CLI_OK;
}

static int cmd_show(cli_ctx *ctx, int argc, char **argv)
{
    char **pos = NULL;
    int npos = 0;
    cli_optdef defs[] = {{NULL}};
    int rc = cli_parse(ctx, argc, argv, defs, &pos, &npos);
    if (rc == CLI_HELP) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    const char *spec = npos == 1 ? pos[0] : NULL;
    free(pos);
    if (spec == NULL)
        return cli_usage(ctx, "drift show takes one profile file or store:NAME");
    mlops_drift_profile **ps = NULL;
    size_t n = 0;
    if ((rc = load_baseline(ctx, spec, &ps, &n)) != CLI_OK)
        return rc;
    printf(ctx->json ? "[" : "");
    for (size_t i = 0; i < n; i++) {
        char *json = NULL;
        if (mlops_drift_profile_json(&json, ps[i]) != MLOPS_OK) {
            rc = cli_fail(ctx, mlops_error_status(), "cannot describe a profile");
            break;
        }
        if (ctx->json) {
            printf("%s%s", i ? ", " : "", json);
        } else {
            mlops_drift_profile_stats s = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
            mlops_drift_profile_summary(&s, ps[i]);
            char b[4][32];
            printf("%-20s %-11s count %-9llu missing %-7llu", mlops_drift_profile_name(ps[i]),
                   s.type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical",
                   (unsigned long long)s.count, (unsigned long long)s.missing);
            if (s.type == MLOPS_DRIFT_NUMERIC)
                printf(" mean %s sd %s min %s max %s bins %u", fmt(b[0], 32, s.mean, "%.4g"),
                       fmt(b[1], 32, sqrt(s.variance), "%.4g"), fmt(b[2], 32, s.min, "%.4g"),
                       fmt(b[3], 32, s.max, "%.4g"), s.bins);
            else
                printf(" categories %llu other %llu", (unsigned long long)s.categories,
                       (unsigned long long)s.other);
            printf(" (%llu bytes)\n", (unsigned long long)s.bytes);
        }
        mlops_string_free(ctx->env, json);
    }
    if (ctx->json)
        printf("]\n");
    free_profiles(ps, n);
    return rc;
}

int cli_cmd_drift(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage(ctx, "drift needs a verb: profile, merge, compare, watch, history, show");
    const char *v = argv[0];
    if (strcmp(v, "--help") == 0 || strcmp(v, "-h") == 0 || strcmp(v, "help") == 0) {
        fputs(cli_help_drift, stdout);
        return CLI_OK;
    }
    if (strcmp(v, "profile") == 0)
        return cmd_profile(ctx, argc - 1, argv + 1);
    if (strcmp(v, "merge") == 0)
        return cmd_merge(ctx, argc - 1, argv + 1);
    if (strcmp(v, "compare") == 0)
        return cmd_compare(ctx, argc - 1, argv + 1);
    if (strcmp(v, "watch") == 0)
        return cmd_watch(ctx, argc - 1, argv + 1);
    if (strcmp(v, "history") == 0)
        return cmd_history(ctx, argc - 1, argv + 1);
    if (strcmp(v, "show") == 0)
        return cmd_show(ctx, argc - 1, argv + 1);
    return cli_usage(ctx, "unknown drift verb '%s'", v);
}

/* ---- the demo step ---- */

static uint64_t demo_rng = 0x2545F4914F6CDD1Dull;
static double demo_u(void)
{
    demo_rng ^= demo_rng >> 12;
    demo_rng ^= demo_rng << 25;
    demo_rng ^= demo_rng >> 27;
    return (double)((demo_rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}
static double demo_n(void)
{
    double u = demo_u(), v = demo_u();
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

typedef struct demo_alerts {
    int n;
} demo_alerts;

static int demo_alert(const mlops_drift_column *c, int64_t window, void *payload)
{
    ((demo_alerts *)payload)->n++;
    printf("  ALERT (window %lld): '%s' drifted: %s = %.4g, PSI %.3f (%s)\n", (long long)window,
           c->name, test_name(c->test), c->score, c->psi, sev_name(c->severity));
    return 0;
}

int cli_demo_drift(cli_ctx *ctx, cli_demo_state *st)
{
    printf("== drift: baseline at training time, a shifted production batch ==\n");
    mlops_store *store = cli_store(ctx);
    if (store == NULL)
        return CLI_FAILED;
    enum { NT = 5000, NP = 2000 };
    double *age = malloc(NT * sizeof(double)), *score = malloc(NT * sizeof(double));
    const char **plan = malloc(NT * sizeof(char *));
    static const char *plans[] = {"free", "basic", "pro", "team"};
    int rc = CLI_FAILED;
    mlops_drift_profile *bp[3] = {NULL, NULL, NULL};
    mlops_drift_monitor *m = NULL;
    mlops_drift_report *r = NULL;
    if (!age || !score || !plan) {
        cli_error(ctx, "out of memory");
        goto out;
    }
    demo_rng = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < NT; i++) {
        age[i] = 40 + 10 * demo_n();
        double u = demo_u();
        plan[i] = plans[u < 0.5 ? 0 : (u < 0.75 ? 1 : (u < 0.95 ? 2 : 3))];
        score[i] = 1 / (1 + exp(-(age[i] - 40) / 10 - demo_n()));
    }
    mlops_drift_profile_options co = MLOPS_DRIFT_PROFILE_OPTIONS_INIT;
    co.type = MLOPS_DRIFT_CATEGORICAL;
    mlops_status s;
    if ((s = mlops_drift_profile_from_values(&bp[0], ctx->env, "age", age, NT, NULL)) != MLOPS_OK ||
        (s = mlops_drift_profile_create(&bp[1], ctx->env, "plan", &co)) != MLOPS_OK ||
        (s = mlops_drift_profile_add_strings(bp[1], plan, NT)) != MLOPS_OK ||
        (s = mlops_drift_profile_from_values(&bp[2], ctx->env, "prediction", score, NT, NULL)) !=
            MLOPS_OK) {
        cli_fail(ctx, s, "cannot profile the training data");
        goto out;
    }
    char name[200];
    if (st->run_id[0])
        snprintf(name, sizeof(name), "training-%s", st->run_id);
    else
        snprintf(name, sizeof(name), "training-%lld", (long long)(mlops_env_now_ns(ctx->env) / 1000000));
    s = mlops_drift_baseline_save(store, name, bp, 3, st->run_id[0] ? st->run_id : NULL,
                                  st->model_name[0] ? st->model_name : NULL, st->model_version);
    if (s != MLOPS_OK) {
        cli_fail(ctx, s, "cannot save the baseline");
        goto out;
    }
    snprintf(st->drift_baseline, sizeof(st->drift_baseline), "%s", name);
    printf("baseline '%s': %d training rows, columns age, plan, prediction", name, NT);
    if (st->model_name[0])
        printf(" (model %s v%lld)", st->model_name, (long long)st->model_version);
    printf("\n");
    /* production: older users, more "pro", predictions pushed up */
    for (int i = 0; i < NP; i++) {
        age[i] = 46 + 11 * demo_n();
        double u = demo_u();
        plan[i] = plans[u < 0.35 ? 0 : (u < 0.6 ? 1 : (u < 0.92 ? 2 : 3))];
        score[i] = 1 / (1 + exp(-(age[i] - 40) / 10 - demo_n()));
    }
    char mon[220];
    snprintf(mon, sizeof(mon), "%s-prod", name);
    s = mlops_drift_monitor_create(&m, ctx->env, store, mon, bp, 3, NULL);
    if (s != MLOPS_OK) {
        cli_fail(ctx, s, "cannot create the monitor");
        goto out;
    }
    demo_alerts al = {0};
    mlops_drift_monitor_set_alert(m, demo_alert, &al);
    if ((s = mlops_drift_monitor_feed(m, "age", age, NP)) != MLOPS_OK ||
        (s = mlops_drift_monitor_feed_strings(m, "plan", plan, NP)) != MLOPS_OK ||
        (s = mlops_drift_monitor_feed(m, "prediction", score, NP)) != MLOPS_OK) {
        cli_fail(ctx, s, "cannot feed the monitor");
        goto out;
    }
    printf("production batch: %d rows; drift report:\n", NP);
    s = mlops_drift_monitor_evaluate(&r, m, MLOPS_DRIFT_EVAL_CLOSE);
    if (s != MLOPS_OK) {
        cli_fail(ctx, s, "cannot evaluate drift");
        goto out;
    }
    printf("  %-11s %-11s %-13s %10s %8s %-11s %s\n", "column", "type", "test", "score", "psi",
           "severity", "drift");
    for (size_t i = 0; i < mlops_drift_report_count(r); i++) {
        mlops_drift_column c = {MLOPS_DRIFT_COLUMN_VERSION};
        mlops_drift_report_column(&c, r, i);
        printf("  %-11s %-11s %-13s %10.4g %8.4f %-11s %s\n", c.name,
               c.type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical", test_name(c.test),
               c.score, c.psi, sev_name(c.severity), c.drifted ? "DRIFT" : "ok");
    }
    double share;
    uint32_t ds;
    mlops_drift_report_summary(&share, &ds, r);
    printf("  %d alert%s; %.0f%% of columns drifted; dataset drift: %s; history: mlops drift "
           "history %s\n",
           al.n, al.n == 1 ? "" : "s", share * 100, ds ? "yes" : "no", mon);
    rc = CLI_OK;
out:
    mlops_drift_report_free(r);
    mlops_drift_monitor_close(m);
    for (int i = 0; i < 3; i++)
        mlops_drift_profile_free(bp[i]);
    free(age);
    free(score);
    free(plan);
    printf("\n");
    return rc;
}

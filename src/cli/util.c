/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

mlops_store *cli_store(cli_ctx *ctx)
{
    if (ctx->store != NULL)
        return ctx->store;
    mlops_status st = mlops_store_open(&ctx->store, ctx->env, ctx->store_uri, NULL);
    if (st != MLOPS_OK) {
        char what[600], shown[512];
        snprintf(what, sizeof(what), "cannot open store '%s'",
                 cli_redact_uri(shown, sizeof(shown), ctx->store_uri));
        cli_fail(ctx, st, what);
        return NULL;
    }
    return ctx->store;
}

int cli_fail(cli_ctx *ctx, mlops_status st, const char *what)
{
    (void)ctx;
    const char *msg = mlops_error_message();
    if (msg == NULL || msg[0] == '\0')
        msg = mlops_status_str(st);
    fprintf(stderr, "%s: %s: %s\n", ctx->prog, what, msg);
    return CLI_FAILED;
}

int cli_error(cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAILED;
}

int cli_usage(cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", ctx->prog);
    return CLI_USAGE;
}

static const cli_optdef *find_opt(const cli_optdef *defs, const char *name, size_t len)
{
    for (const cli_optdef *d = defs; d && d->name; d++) {
        if ((strlen(d->name) == len && strncmp(d->name, name, len) == 0) ||
            (d->short_name && strlen(d->short_name) == len &&
             strncmp(d->short_name, name, len) == 0))
            return d;
    }
    return NULL;
}

static int add_value(const cli_optdef *d, const char *v)
{
    if (d->value)
        *d->value = v;
    if (d->values) {
        const char **nv = realloc((void *)*d->values, (*d->n_values + 1) * sizeof(char *));
        if (nv == NULL)
            return -1;
        nv[(*d->n_values)++] = v;
        *d->values = nv;
    }
    return 0;
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_optdef *defs, char ***pos_out,
              int *npos_out)
{
    char **pos = calloc((size_t)argc + 1, sizeof(char *));
    if (pos == NULL)
        return cli_error(ctx, "out of memory");
    int npos = 0;
    bool ended = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (ended || a[0] != '-' || strcmp(a, "-") == 0 ||
            (a[1] != '-' && (a[1] == '.' || (a[1] >= '0' && a[1] <= '9')))) {
            pos[npos++] = a; /* negative numbers are positionals */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            ended = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            free(pos);
            return CLI_HELP;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const cli_optdef *d = find_opt(defs, a, nlen);
        if (d == NULL) {
            free(pos);
            return cli_usage(ctx, "unknown option '%.*s'", (int)nlen, a);
        }
        if (d->count)
            (*d->count)++;
        if (d->takes_value) {
            const char *v;
            if (eq) {
                v = eq + 1;
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                free(pos);
                return cli_usage(ctx, "option '%s' needs a value", d->name);
            }
            if (add_value(d, v) != 0) {
                free(pos);
                return cli_error(ctx, "out of memory");
            }
        } else if (eq) {
            free(pos);
            return cli_usage(ctx, "option '%s' takes no value", d->name);
        }
    }
    *pos_out = pos;
    *npos_out = npos;
    return CLI_OK;
}

void cli_free_values(const cli_optdef *defs)
{
    for (const cli_optdef *d = defs; d && d->name; d++) {
        if (d->values) {
            free((void *)*d->values);
            *d->values = NULL;
            *d->n_values = 0;
        }
    }
}

bool cli_parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

bool cli_parse_f64(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return false;
    if (errno == ERANGE && isinf(v))
        return false; /* "1e400" is an error, not infinity */
    *out = v;
    return true;
}

const char *cli_fmt_f64(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "nan");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else {
        /* shortest of %.15g/%.16g/%.17g that round-trips */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, cap, "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
    }
    return buf;
}

const char *cli_redact_uri(char *buf, size_t cap, const char *uri)
{
    const char *scheme = strstr(uri, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = NULL;
    if (at != NULL) {
        for (const char *p = scheme + 3; p < at; p++) {
            if (*p == ':') {
                colon = p;
                break;
            }
        }
    }
    if (colon == NULL)
        snprintf(buf, cap, "%s", uri);
    else
        snprintf(buf, cap, "%.*s:***%s", (int)(colon - uri), uri, at);
    return buf;
}

const char *cli_fmt_time_ms(char *buf, size_t cap, int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int rem = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "%lld", (long long)ms);
        return buf;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
    return buf;
}

/* ---- JSON ---- */

void json_init(cli_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
    j->first[0] = true;
}

static void sep(cli_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        fputs(", ", j->f);
    j->first[j->depth] = false;
}

static void open_(cli_json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < 63)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(cli_json *j, char c)
{
    fputc(c, j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_obj_begin(cli_json *j)
{
    open_(j, '{');
}
void json_obj_end(cli_json *j)
{
    close_(j, '}');
}
void json_arr_begin(cli_json *j)
{
    open_(j, '[');
}
void json_arr_end(cli_json *j)
{
    close_(j, ']');
}

static void put_escaped(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void json_key(cli_json *j, const char *key)
{
    sep(j);
    put_escaped(j->f, key, strlen(key));
    fputs(": ", j->f);
    j->after_key = true;
}

void json_str(cli_json *j, const char *s)
{
    if (s == NULL) {
        json_null(j);
        return;
    }
    json_strn(j, s, strlen(s));
}

void json_strn(cli_json *j, const char *s, size_t n)
{
    sep(j);
    put_escaped(j->f, s, n);
}

void json_f64(cli_json *j, double v)
{
    sep(j);
    if (isnan(v))
        fputs("\"NaN\"", j->f);
    else if (isinf(v))
        fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", j->f);
    else {
        char buf[40];
        fputs(cli_fmt_f64(buf, sizeof(buf), v), j->f);
    }
}

void json_i64(cli_json *j, int64_t v)
{
    sep(j);
    fprintf(j->f, "%lld", (long long)v);
}

void json_u64(cli_json *j, uint64_t v)
{
    sep(j);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_bool(cli_json *j, bool v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(cli_json *j)
{
    sep(j);
    fputs("null", j->f);
}

void json_end(cli_json *j)
{
    fputc('\n', j->f);
}

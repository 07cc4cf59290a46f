/* SPDX-License-Identifier: MIT */
/* A small JSON writer into a buffer, for the registry's text results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "registry/registry_internal.h"

void mlops__registry_json_init(reg_json *j, mlops__buf *b)
{
    memset(j, 0, sizeof(*j));
    j->b = b;
    j->first[0] = true;
}

static void raw(reg_json *j, const char *s, size_t n)
{
    if (j->st == MLOPS_OK)
        j->st = mlops__buf_append(j->b, s, n);
}

static void sep(reg_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        raw(j, ", ", 2);
    j->first[j->depth] = false;
}

static void open_(reg_json *j, const char *c)
{
    sep(j);
    raw(j, c, 1);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(reg_json *j, const char *c)
{
    raw(j, c, 1);
    if (j->depth > 0)
        j->depth--;
}

void mlops__registry_json_obj(reg_json *j)
{
    open_(j, "{");
}
void mlops__registry_json_obj_end(reg_json *j)
{
    close_(j, "}");
}
void mlops__registry_json_arr(reg_json *j)
{
    open_(j, "[");
}
void mlops__registry_json_arr_end(reg_json *j)
{
    close_(j, "]");
}

static void quoted(reg_json *j, const char *s)
{
    raw(j, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *esc = NULL;
        char tmp[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\r')
            esc = "\\r";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            esc = tmp;
        }
        if (esc) {
            raw(j, run, (size_t)(p - run));
            raw(j, esc, strlen(esc));
            run = p + 1;
        }
    }
    raw(j, run, strlen(run));
    raw(j, "\"", 1);
}

void mlops__registry_json_key(reg_json *j, const char *k)
{
    sep(j);
    quoted(j, k);
    raw(j, ": ", 2);
    j->after_key = true;
}

void mlops__registry_json_str(reg_json *j, const char *s)
{
    sep(j);
    if (s == NULL)
        raw(j, "null", 4);
    else
        quoted(j, s);
}

void mlops__registry_json_i64(reg_json *j, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    sep(j);
    raw(j, tmp, (size_t)n);
}

void mlops__registry_json_f64(reg_json *j, double v)
{
    char tmp[40];
    sep(j);
    if (isnan(v)) {
        raw(j, "\"NaN\"", 5);
        return;
    }
    if (isinf(v)) {
        const char *s = v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        raw(j, s, strlen(s));
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    raw(j, tmp, strlen(tmp));
}

void mlops__registry_json_bool(reg_json *j, bool v)
{
    sep(j);
    raw(j, v ? "true" : "false", v ? 4 : 5);
}

void mlops__registry_json_null(reg_json *j)
{
    sep(j);
    raw(j, "null", 4);
}

void mlops__registry_json_hash(reg_json *j, const mlops_hash128 *h)
{
    char hex[MLOPS_HASH128_HEX_LEN + 1];
    mlops__hex(hex, h->bytes, 16);
    mlops__registry_json_str(j, hex);
}

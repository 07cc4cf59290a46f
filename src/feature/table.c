/* SPDX-License-Identifier: MIT */
/* Tables of typed columns, value parsers, and the RFC 4180 CSV reader/writer. */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "feature/feature_internal.h"

size_t mlops__ftype_width(uint32_t type, uint32_t dim)
{
    switch (type) {
    case MLOPS_FEATURE_INT64:
    case MLOPS_FEATURE_FLOAT64:
        return 8;
    case MLOPS_FEATURE_BOOL:
        return 1;
    case MLOPS_FEATURE_FLOAT32_VECTOR:
        return 4 * (size_t)dim;
    default:
        return 0;
    }
}

const char *mlops__ftype_name(uint32_t type)
{
    switch (type) {
    case MLOPS_FEATURE_INT64:
        return "int64";
    case MLOPS_FEATURE_FLOAT64:
        return "float64";
    case MLOPS_FEATURE_STRING:
        return "string";
    case MLOPS_FEATURE_BOOL:
        return "bool";
    case MLOPS_FEATURE_FLOAT32_VECTOR:
        return "float32_vector";
    default:
        return "unknown";
    }
}

bool mlops__ftype_parse(const char *s, uint32_t *type, uint32_t *dim)
{
    *dim = 0;
    if (strcmp(s, "int64") == 0 || strcmp(s, "int") == 0)
        *type = MLOPS_FEATURE_INT64;
    else if (strcmp(s, "float64") == 0 || strcmp(s, "float") == 0 || strcmp(s, "double") == 0)
        *type = MLOPS_FEATURE_FLOAT64;
    else if (strcmp(s, "string") == 0 || strcmp(s, "str") == 0)
        *type = MLOPS_FEATURE_STRING;
    else if (strcmp(s, "bool") == 0)
        *type = MLOPS_FEATURE_BOOL;
    else if (strncmp(s, "float32[", 8) == 0 || strncmp(s, "float32_vector[", 15) == 0) {
        const char *p = strchr(s, '[') + 1;
        if (*p < '0' || *p > '9')
            return false; /* strtoul would skip blanks and wrap a '-' */
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno || end == p || strcmp(end, "]") != 0 || v < 1 || v > 65536)
            return false;
        *type = MLOPS_FEATURE_FLOAT32_VECTOR;
        *dim = (uint32_t)v;
    } else
        return false;
    return true;
}

/* ---- tables ---- */

mlops_status mlops_feature_table_create(mlops_feature_table **out, mlops_env *env)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    mlops_feature_table *t = mlops__calloc(env, 1, sizeof(*t));
    if (t == NULL)
        return mlops__nomem();
    t->env = mlops__env_ref(env);
    *out = t;
    return MLOPS_OK;
}

void mlops__fcol_free(const mlops_env *env, mlops__fcol *c)
{
    mlops__free(env, c->name);
    mlops__free(env, c->data);
    mlops__free(env, c->sdata);
    mlops__free(env, c->valid);
    memset(c, 0, sizeof(*c));
}

void mlops_feature_table_free(mlops_feature_table *t)
{
    if (t == NULL)
        return;
    mlops_env *env = t->env;
    for (size_t i = 0; i < t->n_cols; i++)
        mlops__fcol_free(env, &t->cols[i]);
    mlops__free(env, t->cols);
    mlops__free(env, t->lines);
    mlops__free(env, t);
    mlops__env_unref(env);
}

int mlops__table_find(const mlops_feature_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

uint64_t mlops__table_line(const mlops_feature_table *t, size_t row)
{
    return t->lines ? t->lines[row] : (uint64_t)row;
}

/* Add a column with storage for n_rows (zeroed); STRING gets n_rows+1 offsets. */
mlops__fcol *mlops__table_add(mlops_feature_table *t, const char *name, uint32_t type,
                              uint32_t dim, size_t n_rows, mlops_status *st)
{
    *st = mlops__reserve(t->env, (void **)&t->cols, &t->cap_cols, t->n_cols + 1,
                         sizeof(mlops__fcol));
    if (*st != MLOPS_OK)
        return NULL;
    mlops__fcol *c = &t->cols[t->n_cols];
    memset(c, 0, sizeof(*c));
    c->name = mlops__strdup(t->env, name);
    c->type = type;
    c->dim = dim;
    size_t w = type == MLOPS_FEATURE_STRING ? 8 : mlops__ftype_width(type, dim);
    size_t n = type == MLOPS_FEATURE_STRING ? n_rows + 1 : (n_rows ? n_rows : 1);
    c->data = mlops__calloc(t->env, n, w);
    c->cap = n_rows;
    if (c->name == NULL || c->data == NULL) {
        mlops__fcol_free(t->env, c);
        *st = mlops__nomem();
        return NULL;
    }
    t->n_cols++;
    *st = MLOPS_OK;
    return c;
}

mlops_status mlops__fcol_alloc_valid(const mlops_env *env, mlops__fcol *c, size_t n)
{
    if (c->valid)
        return MLOPS_OK;
    c->valid = mlops__malloc(env, n ? n : 1);
    if (c->valid == NULL)
        return mlops__nomem();
    memset(c->valid, 1, n);
    return MLOPS_OK;
}

/* Append a string cell at row (rows are appended in order). */
mlops_status mlops__fcol_push_str(const mlops_env *env, mlops__fcol *c, size_t row, const char *s,
                                  size_t n, bool valid)
{
    uint64_t *o = (uint64_t *)c->data;
    mlops_status st = mlops__reserve(env, (void **)&c->sdata, &c->scap, c->slen + n + 1, 1);
    if (st != MLOPS_OK)
        return st;
    if (n)
        memcpy(c->sdata + c->slen, s, n);
    c->sdata[c->slen + n] = 0;
    o[row] = c->slen;
    c->slen += n + 1;
    o[row + 1] = c->slen;
    if (!valid) {
        st = mlops__fcol_alloc_valid(env, c, c->cap);
        if (st != MLOPS_OK)
            return st;
        c->valid[row] = 0;
    }
    return MLOPS_OK;
}

static mlops_status check_colname(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return mlops__error(MLOPS_E_INVALID, "column name is empty");
    size_t n = strlen(name);
    if (n > MLOPS_FEATURE_MAX_NAME || !mlops__utf8_valid(name, n))
        return mlops__error(MLOPS_E_INVALID,
                            "column name is longer than %d bytes or not UTF-8",
                            MLOPS_FEATURE_MAX_NAME);
    return MLOPS_OK;
}

mlops_status mlops_feature_table_add_column(mlops_feature_table *t, const char *name,
                                            uint32_t type, uint32_t dim, const void *data,
                                            const uint8_t *valid, size_t n_rows)
{
    if (t == NULL)
        return mlops__error(MLOPS_E_INVALID, "table is NULL");
    mlops_status st = check_colname(name);
    if (st != MLOPS_OK)
        return st;
    if (type < MLOPS_FEATURE_INT64 || type > MLOPS_FEATURE_FLOAT32_VECTOR)
        return mlops__error(MLOPS_E_INVALID, "column '%s': unknown type %u", name, type);
    if ((type == MLOPS_FEATURE_FLOAT32_VECTOR) != (dim != 0) || dim > 65536)
        return mlops__error(MLOPS_E_INVALID,
                            "column '%s': dim %u is wrong for type %s (vectors need 1..65536)",
                            name, dim, mlops__ftype_name(type));
    if (t->n_cols > 0 && n_rows != t->n_rows)
        return mlops__error(MLOPS_E_INVALID, "column '%s' has %zu rows; the table has %zu",
                            name, n_rows, t->n_rows);
    if (mlops__table_find(t, name) >= 0)
        return mlops__error(MLOPS_E_INVALID, "column '%s' is already in the table", name);
    if (data == NULL && n_rows > 0)
        return mlops__error(MLOPS_E_INVALID, "column '%s': data is NULL", name);
    if (n_rows > UINT32_MAX)
        return mlops__error(MLOPS_E_TOOBIG, "column '%s': %zu rows; at most %u", name, n_rows,
                            UINT32_MAX);
    if (type == MLOPS_FEATURE_STRING) {
        const char *const *strs = data;
        for (size_t i = 0; i < n_rows; i++) {
            if (strs[i] && !mlops__utf8_valid(strs[i], strlen(strs[i])))
                return mlops__error(MLOPS_E_INVALID, "column '%s', row %zu: invalid UTF-8", name,
                                    i);
        }
    }
    if (type == MLOPS_FEATURE_BOOL) {
        const uint8_t *b = data;
        for (size_t i = 0; i < n_rows; i++)
            if (b[i] > 1 && (valid == NULL || valid[i]))
                return mlops__error(MLOPS_E_INVALID, "column '%s', row %zu: bool value %u", name,
                                    i, b[i]);
    }
    mlops__fcol *c = mlops__table_add(t, name, type, dim, n_rows, &st);
    if (c == NULL)
        return st;
    if (type == MLOPS_FEATURE_STRING) {
        const char *const *strs = data;
        for (size_t i = 0; i < n_rows && st == MLOPS_OK; i++) {
            bool ok = strs[i] != NULL && (valid == NULL || valid[i]);
            st = mlops__fcol_push_str(t->env, c, i, ok ? strs[i] : "", ok ? strlen(strs[i]) : 0,
                                      ok);
        }
    } else {
        if (n_rows)
            memcpy(c->data, data, n_rows * mlops__ftype_width(type, dim));
        if (valid) {
            st = mlops__fcol_alloc_valid(t->env, c, n_rows);
            if (st == MLOPS_OK) {
                size_t w = mlops__ftype_width(type, dim);
                for (size_t i = 0; i < n_rows; i++) {
                    c->valid[i] = valid[i] ? 1 : 0;
                    if (!valid[i])
                        memset((uint8_t *)c->data + i * w, 0, w);
                }
            }
        }
    }
    if (st != MLOPS_OK) {
        t->n_cols--;
        mlops__fcol_free(t->env, c);
        return st;
    }
    t->n_rows = n_rows;
    return MLOPS_OK;
}

size_t mlops_feature_table_rows(const mlops_feature_table *t)
{
    return t ? t->n_rows : 0;
}

size_t mlops_feature_table_columns(const mlops_feature_table *t)
{
    return t ? t->n_cols : 0;
}

const char *mlops_feature_table_column(uint32_t *type_out, uint32_t *dim_out,
                                       const mlops_feature_table *t, size_t col)
{
    if (t == NULL || col >= t->n_cols)
        return NULL;
    if (type_out)
        *type_out = t->cols[col].type;
    if (dim_out)
        *dim_out = t->cols[col].dim;
    return t->cols[col].name;
}

mlops_status mlops_feature_table_find(size_t *col_out, const mlops_feature_table *t,
                                      const char *name)
{
    if (col_out == NULL || t == NULL || name == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    int i = mlops__table_find(t, name);
    if (i < 0)
        return mlops__error(MLOPS_E_NOTFOUND, "no column '%s' in the table", name);
    *col_out = (size_t)i;
    return MLOPS_OK;
}

const void *mlops_feature_table_data(const mlops_feature_table *t, size_t col)
{
    if (t == NULL || col >= t->n_cols || t->cols[col].type == MLOPS_FEATURE_STRING)
        return NULL;
    return t->cols[col].data;
}

const uint8_t *mlops_feature_table_valid(const mlops_feature_table *t, size_t col)
{
    if (t == NULL || col >= t->n_cols)
        return NULL;
    return t->cols[col].valid;
}

const char *mlops_feature_table_string(size_t *len_out, const mlops_feature_table *t, size_t col,
                                       size_t row)
{
    if (t == NULL || col >= t->n_cols || row >= t->n_rows ||
        t->cols[col].type != MLOPS_FEATURE_STRING || !mlops__fcol_valid(&t->cols[col], row))
        return NULL;
    return mlops__fcol_str(&t->cols[col], row, len_out);
}

/* ---- value parsers ---- */

static bool trimmed(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
    return *n > 0;
}

bool mlops__parse_i64(const char *s, size_t n, int64_t *v)
{
    if (!trimmed(&s, &n) || n > 21)
        return false;
    bool neg = false;
    size_t i = 0;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t acc = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    if (neg) {
        if (acc > (uint64_t)INT64_MAX + 1)
            return false;
        *v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    } else {
        if (acc > (uint64_t)INT64_MAX)
            return false;
        *v = (int64_t)acc;
    }
    return true;
}

bool mlops__parse_f64(const char *s, size_t n, double *v)
{
    char buf[128];
    if (!trimmed(&s, &n) || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    /* strtod accepts hex and "infinity"; keep decimal text, nan and inf */
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 'x' || buf[i] == 'X')
            return false;
    char *end = NULL;
    double d = strtod(buf, &end);
    if (end != buf + n)
        return false;
    *v = d;
    return true;
}

bool mlops__parse_bool(const char *s, size_t n, uint8_t *v)
{
    if (!trimmed(&s, &n) || n > 5)
        return false;
    char b[6];
    for (size_t i = 0; i < n; i++)
        b[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    b[n] = 0;
    if (!strcmp(b, "1") || !strcmp(b, "true") || !strcmp(b, "t") || !strcmp(b, "yes"))
        *v = 1;
    else if (!strcmp(b, "0") || !strcmp(b, "false") || !strcmp(b, "f") || !strcmp(b, "no"))
        *v = 0;
    else
        return false;
    return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Fraction digits after '.', to microseconds (rounded down); returns digits read. */
static size_t frac_us(const char *s, size_t n, int64_t *us)
{
    size_t i = 0;
    int64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (i < 6)
            v = v * 10 + (s[i] - '0');
    for (size_t k = i; k < 6; k++)
        v *= 10;
    *us = v;
    return i;
}

bool mlops__parse_ts(const char *s, size_t n, int64_t *us)
{
    if (!trimmed(&s, &n))
        return false;
    if (n >= 10 && s[4] == '-' && s[7] == '-') {
        int y, mo, d, h = 0, mi = 0, sec = 0;
        if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d))
            return false;
        if (mo < 1 || mo > 12 || d < 1 || d > 31)
            return false;
        static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
            return false;
        size_t i = 10;
        int64_t frac = 0, off = 0;
        if (i < n) {
            if (!(s[i] == 'T' || s[i] == 't' || s[i] == ' ') || n < i + 9)
                return false;
            if (!digits(s + i + 1, 2, &h) || s[i + 3] != ':' || !digits(s + i + 4, 2, &mi) ||
                s[i + 6] != ':' || !digits(s + i + 7, 2, &sec))
                return false;
            if (h > 23 || mi > 59 || sec > 60)
                return false;
            i += 9;
            if (i < n && s[i] == '.') {
                size_t k = frac_us(s + i + 1, n - i - 1, &frac);
                if (k == 0)
                    return false;
                i += 1 + k;
            }
            if (i == n)
                return false; /* RFC 3339 needs an offset */
            if (s[i] == 'Z' || s[i] == 'z') {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int oh, om;
                if (n - i != 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
                    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
                    return false;
                off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
                i += 6;
            } else
                return false;
            if (i != n)
                return false;
        }
        int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
                       mi * 60 + sec - off;
        *us = secs * 1000000 + frac;
        return true;
    }
    /* epoch seconds, optionally with a fraction */
    const char *dot = memchr(s, '.', n);
    size_t ilen = dot ? (size_t)(dot - s) : n;
    int64_t secs;
    if (ilen == 0 || (ilen == 1 && (s[0] == '-' || s[0] == '+'))) {
        secs = 0;
        if (!dot)
            return false;
    } else if (!mlops__parse_i64(s, ilen, &secs))
        return false;
    if (secs > INT64_MAX / 1000000 - 1 || secs < INT64_MIN / 1000000 + 1)
        return false;
    int64_t frac = 0;
    if (dot) {
        size_t rest = n - ilen - 1;
        size_t k = frac_us(dot + 1, rest, &frac);
        bool int_digits = !(ilen == 0 || (ilen == 1 && (s[0] == '-' || s[0] == '+')));
        if (k != rest || (k == 0 && !int_digits))
            return false; /* "." and "-." have no digits at all */
    }
    bool neg = s[0] == '-';
    *us = secs * 1000000 + (neg ? -frac : frac);
    return true;
}

void mlops__fmt_f64(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, cap, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Parse a vector "[a,b,c]" or "a b c" (commas, spaces or semicolons). */
static bool parse_vec(const char *s, size_t n, float *out, uint32_t dim)
{
    if (!trimmed(&s, &n))
        return false;
    if (s[0] == '[') {
        if (s[n - 1] != ']')
            return false;
        s++;
        n -= 2;
    }
    size_t i = 0;
    for (uint32_t k = 0; k < dim; k++) {
        while (i < n && (s[i] == ' ' || s[i] == ',' || s[i] == ';'))
            i++;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != ',' && s[j] != ';')
            j++;
        double d;
        if (j == i || !mlops__parse_f64(s + i, j - i, &d))
            return false;
        out[k] = (float)d;
        i = j;
    }
    while (i < n && (s[i] == ' ' || s[i] == ',' || s[i] == ';'))
        i++;
    return i == n;
}

mlops_status mlops__fcol_convert(mlops__fcol *out, const mlops_env *env,
                                 const mlops_feature_table *t, size_t col, uint32_t type,
                                 uint32_t dim, bool want_ts)
{
    const mlops__fcol *src = &t->cols[col];
    memset(out, 0, sizeof(*out));
    size_t n = t->n_rows;
    out->type = type;
    out->dim = dim;
    out->cap = n;
    if (src->type == type && src->dim == dim) {
        /* a borrowed view: the caller must not free it (name NULL marks it) */
        *out = *src;
        out->name = NULL;
        return MLOPS_OK;
    }
    bool widen = src->type == MLOPS_FEATURE_INT64 && type == MLOPS_FEATURE_FLOAT64;
    if (src->type != MLOPS_FEATURE_STRING && !widen) {
        return mlops__error(MLOPS_E_INVALID, "column '%s' is %s%s but %s is wanted", src->name,
                            mlops__ftype_name(src->type), src->type == 5 ? "[]" : "",
                            want_ts ? "a timestamp (int64 microseconds)" : mlops__ftype_name(type));
    }
    mlops_status st = MLOPS_OK;
    out->name = mlops__strdup(env, src->name);
    if (out->name == NULL)
        return mlops__nomem();
    if (widen) {
        out->data = mlops__calloc(env, n ? n : 1, 8);
        if (out->data == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            ((double *)out->data)[i] = (double)((const int64_t *)src->data)[i];
        if (src->valid) {
            out->valid = mlops__malloc(env, n ? n : 1);
            if (out->valid == NULL)
                goto nomem;
            memcpy(out->valid, src->valid, n);
        }
        return MLOPS_OK;
    }
    if (type == MLOPS_FEATURE_STRING)
        return mlops__error(MLOPS_E_INTERNAL, "string conversion");
    size_t w = mlops__ftype_width(type, dim);
    out->data = mlops__calloc(env, n ? n : 1, w);
    if (out->data == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (!mlops__fcol_valid(src, i)) {
            if (out->valid == NULL) {
                st = mlops__fcol_alloc_valid(env, out, n);
                if (st != MLOPS_OK)
                    goto fail;
            }
            out->valid[i] = 0;
            continue;
        }
        size_t len;
        const char *s = mlops__fcol_str(src, i, &len);
        bool ok;
        uint8_t *dst = (uint8_t *)out->data + i * w;
        if (want_ts)
            ok = mlops__parse_ts(s, len, (int64_t *)(void *)dst);
        else if (type == MLOPS_FEATURE_INT64)
            ok = mlops__parse_i64(s, len, (int64_t *)(void *)dst);
        else if (type == MLOPS_FEATURE_FLOAT64)
            ok = mlops__parse_f64(s, len, (double *)(void *)dst);
        else if (type == MLOPS_FEATURE_BOOL)
            ok = mlops__parse_bool(s, len, dst);
        else
            ok = parse_vec(s, len, (float *)(void *)dst, dim);
        if (!ok) {
            st = mlops__error(MLOPS_E_INVALID, "%s %llu, column %zu ('%s'): '%.60s' is not %s",
                              MLOPS__WHERE(t), (unsigned long long)mlops__table_line(t, i), col + 1, src->name, s,
                              want_ts ? "a timestamp (epoch seconds or RFC 3339)"
                              : type == MLOPS_FEATURE_INT64 ? "an int64"
                              : type == MLOPS_FEATURE_FLOAT64 ? "a float64"
                              : type == MLOPS_FEATURE_BOOL ? "a bool"
                                                           : "a float32 vector of that length");
            goto fail;
        }
    }
    return MLOPS_OK;
nomem:
    st = mlops__nomem();
fail:
    mlops__fcol_free(env, out);
    return st;
}

/* ---- CSV reader ---- */

struct mlops__csv {
    const mlops_env *env;
    FILE *f;
    char *path;
    size_t pos, len;
    bool eof;
    uint64_t line;      /* current line (1-based) */
    size_t n_cols;
    char **names;
    mlops__buf field;   /* current field */
    bool done;
    int read_errno;     /* a failed read (not the end of the file) */
    char *buf;          /* CSV_BUF_MIN bytes, CSV_BUF_MAX once a file fills that */
    size_t cap;
};

/* Most CSV files handed to a reader in a process are small (a join's entity
 * rows, a test's fixture); a big one pays one reallocation to read in large
 * chunks. */
#define CSV_BUF_MIN 4096
#define CSV_BUF_MAX (1 << 16)

static int csv_getc(mlops__csv *r)
{
    if (r->pos == r->len) {
        if (r->eof)
            return -1;
        if (r->len == r->cap && r->cap < CSV_BUF_MAX) {
            /* the last read filled the buffer: grow it */
            char *nb = mlops__malloc(r->env, CSV_BUF_MAX);
            if (nb == NULL) {
                r->read_errno = ENOMEM; /* reported as MLOPS_E_NOMEM */
                r->eof = true;
                return -1;
            }
            mlops__free(r->env, r->buf);
            r->buf = nb;
            r->cap = CSV_BUF_MAX;
        }
        r->len = fread(r->buf, 1, r->cap, r->f);
        r->pos = 0;
        if (r->len == 0) {
            if (ferror(r->f))
                r->read_errno = errno ? errno : EIO;
            r->eof = true;
            return -1;
        }
    }
    return (unsigned char)r->buf[r->pos++];
}

static int csv_peek(mlops__csv *r)
{
    int c = csv_getc(r);
    if (c >= 0)
        r->pos--;
    return c;
}

static mlops_status csv_read_error(const mlops__csv *r)
{
    if (r->read_errno == ENOMEM)
        return mlops__nomem();
    return mlops__error(MLOPS_E_IO, "cannot read '%s' after line %llu: %s", r->path,
                        (unsigned long long)r->line, strerror(r->read_errno));
}

/* Read one field into r->field. *end_out: 0 more fields, 1 end of record,
 * 2 end of file. *quoted_out tells whether it was quoted. */
static mlops_status csv_field_text(mlops__csv *r, size_t colno, int *end_out, bool *quoted_out)
{
    r->field.len = 0;
    *quoted_out = false;
    int c = csv_getc(r);
    uint64_t start_line = r->line;
    if (c == '"') {
        *quoted_out = true;
        for (;;) {
            c = csv_getc(r);
            if (c < 0)
                return mlops__error(MLOPS_E_INVALID,
                                    "%s: line %llu, column %zu: quoted field is not closed",
                                    r->path, (unsigned long long)start_line, colno);
            if (c == '"') {
                if (csv_peek(r) == '"') {
                    csv_getc(r);
                } else
                    break;
            } else if (c == '\n')
                r->line++;
            if (mlops__buf_putc(&r->field, (uint8_t)c) != MLOPS_OK)
                return mlops__nomem();
        }
        c = csv_getc(r);
        if (c == '\r' && csv_peek(r) == '\n')
            c = csv_getc(r);
        if (c != ',' && c != '\n' && c >= 0)
            return mlops__error(MLOPS_E_INVALID,
                                "%s: line %llu, column %zu: text after a closing quote",
                                r->path, (unsigned long long)r->line, colno);
    } else {
        while (c >= 0 && c != ',' && c != '\n') {
            if (c == '\r' && csv_peek(r) == '\n') {
                c = csv_getc(r);
                break;
            }
            if (c == '"')
                return mlops__error(MLOPS_E_INVALID,
                                    "%s: line %llu, column %zu: quote inside an unquoted field",
                                    r->path, (unsigned long long)r->line, colno);
            if (mlops__buf_putc(&r->field, (uint8_t)c) != MLOPS_OK)
                return mlops__nomem();
            c = csv_getc(r);
        }
    }
    if (!mlops__utf8_valid((const char *)r->field.data, r->field.len))
        return mlops__error(MLOPS_E_INVALID, "%s: line %llu, column %zu: invalid UTF-8", r->path,
                            (unsigned long long)start_line, colno);
    /* names and cells are C strings from here on: a NUL would cut them */
    if (r->field.len && memchr(r->field.data, 0, r->field.len) != NULL)
        return mlops__error(MLOPS_E_INVALID, "%s: line %llu, column %zu: NUL byte in a field",
                            r->path, (unsigned long long)start_line, colno);
    if (c == ',')
        *end_out = 0;
    else if (c == '\n') {
        *end_out = 1;
    } else
        *end_out = 2;
    return MLOPS_OK;
}

/* A read error ends the input like the end of the file: report it instead
 * of whatever the truncated text looks like. */
static mlops_status csv_field(mlops__csv *r, size_t colno, int *end_out, bool *quoted_out)
{
    mlops_status st = csv_field_text(r, colno, end_out, quoted_out);
    if (r->read_errno && (st != MLOPS_OK || *end_out == 2))
        return csv_read_error(r);
    return st;
}

mlops_status mlops__csv_open(mlops__csv **out, const mlops_env *env, const char *path)
{
    *out = NULL;
    if (path == NULL)
        return mlops__error(MLOPS_E_INVALID, "path is NULL");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mlops__error(errno == ENOENT ? MLOPS_E_NOTFOUND : MLOPS_E_IO,
                            "cannot open '%s': %s", path, strerror(errno));
    return mlops__csv_open_stream(out, env, f, path);
}

mlops_status mlops__csv_open_stream(mlops__csv **out, const mlops_env *env, FILE *f,
                                    const char *path)
{
    *out = NULL;
    mlops__csv *r = mlops__calloc(env, 1, sizeof(*r));
    char *buf = r ? mlops__malloc(env, CSV_BUF_MIN) : NULL;
    if (buf == NULL) {
        mlops__free(env, r);
        fclose(f);
        return mlops__nomem();
    }
    r->env = env;
    r->f = f;
    r->buf = buf;
    r->cap = CSV_BUF_MIN;
    mlops__buf_init(&r->field, env);
    r->line = 1;
    mlops_status st = MLOPS_OK;
    r->path = mlops__strdup(env, path);
    if (r->path == NULL) {
        st = mlops__nomem();
        goto fail;
    }
    /* header */
    size_t cap = 0;
    for (;;) {
        int end;
        bool q;
        st = csv_field(r, r->n_cols + 1, &end, &q);
        if (st != MLOPS_OK)
            goto fail;
        if (end == 2 && r->n_cols == 0 && r->field.len == 0 && !q) {
            st = mlops__error(MLOPS_E_INVALID, "%s: the file is empty (a header is needed)", path);
            goto fail;
        }
        st = mlops__reserve(env, (void **)&r->names, &cap, r->n_cols + 1, sizeof(char *));
        if (st != MLOPS_OK)
            goto fail;
        r->names[r->n_cols] = mlops__strndup(env, (const char *)r->field.data, r->field.len);
        if (r->names[r->n_cols] == NULL) {
            st = mlops__nomem();
            goto fail;
        }
        r->n_cols++;
        if (r->field.len == 0 || r->field.len > MLOPS_FEATURE_MAX_NAME) {
            st = mlops__error(MLOPS_E_INVALID,
                              "%s: line 1, column %zu: header name is empty or too long", path,
                              r->n_cols);
            goto fail;
        }
        for (size_t i = 0; i + 1 < r->n_cols; i++)
            if (strcmp(r->names[i], r->names[r->n_cols - 1]) == 0) {
                st = mlops__error(MLOPS_E_INVALID, "%s: line 1: column '%s' appears twice", path,
                                  r->names[i]);
                goto fail;
            }
        if (end != 0) {
            if (end == 1)
                r->line++;
            else
                r->done = true;
            break;
        }
    }
    *out = r;
    return MLOPS_OK;
fail:
    mlops__csv_close(r);
    return st;
}

mlops_status mlops__csv_read(mlops__csv *r, mlops_feature_table **t_out, size_t max_rows)
{
    *t_out = NULL;
    mlops_feature_table *t = NULL;
    mlops_status st = mlops_feature_table_create(&t, (mlops_env *)r->env);
    if (st != MLOPS_OK)
        return st;
    /* grown as rows come: a small read keeps small columns */
    size_t cap = max_rows < 63 ? max_rows + 1 : 64;
    for (size_t i = 0; i < r->n_cols && st == MLOPS_OK; i++)
        mlops__table_add(t, r->names[i], MLOPS_FEATURE_STRING, 0, cap, &st);
    size_t lcap = 0;
    size_t row = 0;
    while (st == MLOPS_OK && !r->done && row < max_rows) {
        /* skip blank lines */
        int c = csv_peek(r);
        if (c == '\n' || c == '\r') {
            csv_getc(r);
            if (c == '\r' && csv_peek(r) == '\n')
                csv_getc(r);
            r->line++;
            continue;
        }
        if (c < 0) {
            if (r->read_errno)
                st = csv_read_error(r);
            r->done = true;
            break;
        }
        if (row + 1 >= cap) {
            size_t ncap = cap * 2;
            for (size_t i = 0; i < t->n_cols && st == MLOPS_OK; i++) {
                mlops__fcol *col = &t->cols[i];
                void *nd = mlops__realloc(t->env, col->data, (ncap + 1) * 8);
                if (nd == NULL) {
                    st = mlops__nomem();
                    break;
                }
                col->data = nd;
                if (col->valid) {
                    uint8_t *nv = mlops__realloc(t->env, col->valid, ncap);
                    if (nv == NULL) {
                        st = mlops__nomem();
                        break;
                    }
                    memset(nv + cap, 1, ncap - cap);
                    col->valid = nv;
                }
                col->cap = ncap;
            }
            cap = ncap;
            if (st != MLOPS_OK)
                break;
        }
        st = mlops__reserve(t->env, (void **)&t->lines, &lcap, row + 1, sizeof(uint64_t));
        if (st != MLOPS_OK)
            break;
        t->lines[row] = r->line;
        uint64_t line0 = r->line;
        for (size_t i = 0; i < r->n_cols; i++) {
            int end;
            bool q;
            st = csv_field(r, i + 1, &end, &q);
            if (st != MLOPS_OK)
                break;
            bool last = i + 1 == r->n_cols;
            if ((end != 0) != last) {
                st = mlops__error(MLOPS_E_INVALID, "%s: line %llu: %s fields; the header has %zu",
                                  r->path, (unsigned long long)line0,
                                  last ? "more" : "fewer", r->n_cols);
                break;
            }
            bool valid = q || r->field.len > 0;
            st = mlops__fcol_push_str(t->env, &t->cols[i], row, (const char *)r->field.data,
                                      r->field.len, valid);
            if (st != MLOPS_OK)
                break;
            if (end == 1)
                r->line++;
            else if (end == 2)
                r->done = true;
        }
        row++;
        t->n_rows = row;
    }
    if (st != MLOPS_OK) {
        mlops_feature_table_free(t);
        return st;
    }
    t->n_rows = row;
    *t_out = t;
    return MLOPS_OK;
}

void mlops__csv_close(mlops__csv *r)
{
    if (r == NULL)
        return;
    if (r->f)
        fclose(r->f);
    for (size_t i = 0; i < r->n_cols; i++)
        mlops__free(r->env, r->names[i]);
    mlops__free(r->env, r->names);
    mlops__free(r->env, r->path);
    mlops__buf_free(&r->field);
    mlops__free(r->env, r->buf);
    mlops__free(r->env, r);
}

mlops_status mlops_feature_table_read_csv(mlops_feature_table **out, mlops_env *env,
                                          const char *path)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    mlops__csv *r = NULL;
    mlops_status st = mlops__csv_open(&r, env, path);
    if (st != MLOPS_OK)
        return st;
    st = mlops__csv_read(r, out, SIZE_MAX);
    mlops__csv_close(r);
    return st;
}

/* ---- CSV writer ---- */

static void csv_put_text(FILE *f, const char *s, size_t n)
{
    bool quote = n == 0 || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[n - 1] == ' ';
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

mlops_status mlops__table_write_csv_file(const mlops_feature_table *t, FILE *f)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        if (c)
            fputc(',', f);
        csv_put_text(f, t->cols[c].name, strlen(t->cols[c].name));
    }
    fputc('\n', f);
    char num[64];
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const mlops__fcol *col = &t->cols[c];
            if (c)
                fputc(',', f);
            if (!mlops__fcol_valid(col, r))
                continue;
            switch (col->type) {
            case MLOPS_FEATURE_INT64:
                fprintf(f, "%lld", (long long)((const int64_t *)col->data)[r]);
                break;
            case MLOPS_FEATURE_FLOAT64:
                mlops__fmt_f64(num, sizeof(num), ((const double *)col->data)[r]);
                fputs(num, f);
                break;
            case MLOPS_FEATURE_BOOL:
                fputs(((const uint8_t *)col->data)[r] ? "true" : "false", f);
                break;
            case MLOPS_FEATURE_STRING: {
                size_t n;
                const char *s = mlops__fcol_str(col, r, &n);
                csv_put_text(f, s, n);
                break;
            }
            case MLOPS_FEATURE_FLOAT32_VECTOR: {
                const float *v = (const float *)col->data + r * col->dim;
                fputs("\"[", f);
                for (uint32_t k = 0; k < col->dim; k++) {
                    mlops__fmt_f64(num, sizeof(num), (double)v[k]);
                    fprintf(f, k ? ",%s" : "%s", num);
                }
                fputs("]\"", f);
                break;
            }
            }
        }
        fputc('\n', f);
    }
    return ferror(f) ? mlops__error(MLOPS_E_IO, "cannot write the CSV output") : MLOPS_OK;
}

mlops_status mlops_feature_table_write_csv(const mlops_feature_table *t, const char *path)
{
    if (t == NULL || path == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    /* a device or pipe (/dev/stdout, /dev/null, a FIFO) is written in place:
     * renaming a temporary file over it would replace the device */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            return mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
        mlops_status st = mlops__table_write_csv_file(t, f);
        if (fclose(f) != 0 && st == MLOPS_OK)
            st = mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
        return st;
    }
    size_t plen = strlen(path);
    char *tmp = mlops__malloc(t->env, plen + 8);
    if (tmp == NULL)
        return mlops__nomem();
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        mlops_status st = mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
        mlops__free(t->env, tmp);
        return st;
    }
    mlops_status st = mlops__table_write_csv_file(t, f);
    if (st != MLOPS_OK)
        st = mlops__error(MLOPS_E_IO, "cannot write '%s'", path);
    if (fclose(f) != 0 && st == MLOPS_OK)
        st = mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
    if (st == MLOPS_OK && rename(tmp, path) != 0)
        st = mlops__error(MLOPS_E_IO, "cannot rename '%s': %s", tmp, strerror(errno));
    if (st != MLOPS_OK)
        remove(tmp);
    mlops__free(t->env, tmp);
    return st;
}

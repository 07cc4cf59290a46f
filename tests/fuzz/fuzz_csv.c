/* SPDX-License-Identifier: MIT */
/* Fuzz the feature store's CSV reader (F13, N-catalogue): the input after
 * the first byte is a CSV file, read through mlops__csv_open_stream() and
 * mlops__csv_read() in chunks of 1 to 4 rows (the first byte picks the
 * chunk size and a schema: the column types every cell is converted to,
 * as ingestion and joins do).
 *
 * Oracles: only MLOPS_OK or MLOPS_E_INVALID (MLOPS_E_NOMEM), and every
 * error message names the line (and, for a cell, the column); a table that
 * was read writes back to CSV and reads again to the same cells, nulls and
 * column names; nothing leaks. */
#include "feature/feature_internal.h"
#include "fuzz_common.h"

static fz_alloc counts;
static mlops_env *env;

typedef struct ctype {
    uint32_t type, dim;
    bool ts;
} ctype;

static const ctype schemas[4][3] = {
    {{MLOPS_FEATURE_STRING, 0, false}, {MLOPS_FEATURE_STRING, 0, false},
     {MLOPS_FEATURE_STRING, 0, false}},
    {{MLOPS_FEATURE_INT64, 0, false}, {MLOPS_FEATURE_INT64, 0, true},
     {MLOPS_FEATURE_FLOAT64, 0, false}},
    {{MLOPS_FEATURE_BOOL, 0, false}, {MLOPS_FEATURE_FLOAT32_VECTOR, 3, false},
     {MLOPS_FEATURE_INT64, 0, false}},
    {{MLOPS_FEATURE_INT64, 0, true}, {MLOPS_FEATURE_STRING, 0, false},
     {MLOPS_FEATURE_FLOAT32_VECTOR, 2, false}},
};

static void check_error(mlops_status st, const char *what, bool cell)
{
    FUZZ_CHECK(st == MLOPS_E_INVALID || st == MLOPS_E_NOMEM, "%s gave %d", what, st);
    if (st == MLOPS_E_NOMEM)
        return;
    const char *m = mlops_error_message();
    FUZZ_CHECK(strstr(m, "line ") != NULL || strstr(m, "empty") != NULL,
               "%s: message without a line: %s", what, m);
    if (cell)
        FUZZ_CHECK(strstr(m, "column ") != NULL, "%s: message without a column: %s", what, m);
}

static mlops_status read_all(mlops_feature_table **out, const uint8_t *p, size_t n)
{
    FILE *f = fmemopen((void *)p, n, "rb");
    if (f == NULL)
        abort();
    mlops__csv *r = NULL;
    mlops_status st = mlops__csv_open_stream(&r, env, f, "again.csv");
    if (st == MLOPS_OK)
        st = mlops__csv_read(r, out, SIZE_MAX);
    mlops__csv_close(r);
    return st;
}

/* Write a table read from CSV and read it again: the same cells. */
static void round_trip(const mlops_feature_table *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        abort();
    mlops_status st = mlops__table_write_csv_file(t, f);
    fclose(f);
    FUZZ_CHECK(st == MLOPS_OK, "writing gave %d", st);
    mlops_feature_table *u = NULL;
    st = read_all(&u, (const uint8_t *)text, len);
    FUZZ_CHECK(st == MLOPS_OK, "what we wrote does not read back (%d): %.200s", st, text);
    FUZZ_CHECK(u->n_cols == t->n_cols && u->n_rows == t->n_rows,
               "read back %zu x %zu, wrote %zu x %zu", u->n_rows, u->n_cols, t->n_rows,
               t->n_cols);
    for (size_t c = 0; c < t->n_cols; c++) {
        const mlops__fcol *a = &t->cols[c], *b = &u->cols[c];
        FUZZ_CHECK(strcmp(a->name, b->name) == 0, "column name '%s' read back as '%s'", a->name,
                   b->name);
        for (size_t r = 0; r < t->n_rows; r++) {
            bool va = mlops__fcol_valid(a, r), vb = mlops__fcol_valid(b, r);
            FUZZ_CHECK(va == vb, "row %zu column %zu: null %d read back as %d", r, c, !va, !vb);
            size_t la, lb;
            const char *sa = mlops__fcol_str(a, r, &la), *sb = mlops__fcol_str(b, r, &lb);
            FUZZ_CHECK(la == lb && memcmp(sa, sb, la) == 0,
                       "row %zu column %zu: '%.*s' read back as '%.*s'", r, c, (int)la, sa,
                       (int)lb, sb);
        }
    }
    mlops_feature_table_free(u);
    free(text);
}

static void convert(const mlops_feature_table *t, int schema)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        const ctype *ct = &schemas[schema][c % 3];
        mlops__fcol out;
        mlops_status st = mlops__fcol_convert(&out, env, t, c, ct->type, ct->dim, ct->ts);
        if (st != MLOPS_OK) {
            check_error(st, "conversion", true);
            continue;
        }
        FUZZ_CHECK(out.type == ct->type && out.dim == ct->dim, "converted to the wrong type");
        if (out.type == MLOPS_FEATURE_FLOAT64) {
            for (size_t r = 0; r < t->n_rows; r++) {
                double v = ((const double *)out.data)[r];
                (void)v; /* any bit pattern is a value; the read must be in bounds */
            }
        }
        mlops__fcol_release(env, &out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (env == NULL)
        env = fz_env_new(&counts);
    if (size < 2 || size > 8192)
        return 0;
    long live = atomic_load(&counts.live);
    uint8_t sel = data[0];
    int schema = sel % 4;
    size_t chunk = 1 + (sel >> 2) % 4;
    FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
    if (f == NULL)
        abort();
    mlops__csv *r = NULL;
    mlops_status st = mlops__csv_open_stream(&r, env, f, "input.csv");
    if (st != MLOPS_OK) {
        FUZZ_CHECK(r == NULL, "failed open returned a reader");
        check_error(st, "open", false);
    }
    for (int rounds = 0; st == MLOPS_OK && rounds < 4096; rounds++) {
        mlops_feature_table *t = NULL;
        st = mlops__csv_read(r, &t, chunk);
        if (st != MLOPS_OK) {
            FUZZ_CHECK(t == NULL, "failed read returned a table");
            check_error(st, "read", false);
            break;
        }
        FUZZ_CHECK(t->n_rows <= chunk, "read %zu rows, asked for %zu", t->n_rows, chunk);
        size_t rows = t->n_rows;
        if (rows) {
            round_trip(t);
            convert(t, schema);
        }
        mlops_feature_table_free(t);
        if (rows == 0)
            break;
    }
    mlops__csv_close(r);
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

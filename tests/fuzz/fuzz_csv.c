/* SPDX-License-Identifier: MIT */
/* Fuzz the feature store's CSV reader (F13, N-catalogue): the input after
 * the first byte is a CSV file, read through mlops__csv_open_stream() and
 * mlops__csv_read() in chunks of 1 to 4 rows (the first byte picks the
 * chunk size and a schema: the column types every cell is converted to,
 * as ingestion and joins do).
 *
 * Oracles: only MLOPS_OK or MLOPS_E_INVALID (MLOPS_E_NOMEM), and every
 * error message names the line (and, for a cell, the column); reading in
 * chunks gives the same cells, nulls and column names as reading the file
 * at once, and the same error; the table written back to CSV reads again
 * to the same cells; nothing leaks.
 *
 * The write-back is checked once per input, on the whole table, not once
 * per chunk: every reader holds a 64 KiB buffer, and opening two of them
 * per row cost most of this target's time. */
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

static mlops_status read_all(mlops_feature_table **out, const uint8_t *p, size_t n,
                             const char *path)
{
    FILE *f = fmemopen((void *)p, n, "rb");
    if (f == NULL)
        abort();
    mlops__csv *r = NULL;
    mlops_status st = mlops__csv_open_stream(&r, env, f, path);
    if (st == MLOPS_OK)
        st = mlops__csv_read(r, out, SIZE_MAX);
    mlops__csv_close(r);
    return st;
}

/* Cells, nulls and names of rows [0, b->n_rows) of b equal rows
 * [at, at + b->n_rows) of a. */
static void same_cells(const mlops_feature_table *a, size_t at, const mlops_feature_table *b,
                       const char *what)
{
    FUZZ_CHECK(a->n_cols == b->n_cols && at + b->n_rows <= a->n_rows,
               "%s: %zu x %zu at row %zu of %zu x %zu", what, b->n_rows, b->n_cols, at, a->n_rows,
               a->n_cols);
    for (size_t c = 0; c < a->n_cols; c++) {
        const mlops__fcol *x = &a->cols[c], *y = &b->cols[c];
        FUZZ_CHECK(strcmp(x->name, y->name) == 0, "%s: column name '%s' is '%s'", what, x->name,
                   y->name);
        for (size_t r = 0; r < b->n_rows; r++) {
            bool vx = mlops__fcol_valid(x, at + r), vy = mlops__fcol_valid(y, r);
            FUZZ_CHECK(vx == vy, "%s: row %zu column %zu: null %d is %d", what, at + r, c, !vx,
                       !vy);
            size_t lx, ly;
            const char *sx = mlops__fcol_str(x, at + r, &lx), *sy = mlops__fcol_str(y, r, &ly);
            FUZZ_CHECK(lx == ly && memcmp(sx, sy, lx) == 0,
                       "%s: row %zu column %zu: '%.*s' is '%.*s'", what, at + r, c, (int)lx, sx,
                       (int)ly, sy);
        }
    }
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
    st = read_all(&u, (const uint8_t *)text, len, "again.csv");
    FUZZ_CHECK(st == MLOPS_OK, "what we wrote does not read back (%d): %.200s", st, text);
    FUZZ_CHECK(u->n_rows == t->n_rows, "read back %zu rows, wrote %zu", u->n_rows, t->n_rows);
    same_cells(t, 0, u, "read back");
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

    /* the whole file at once: the reference for the chunks */
    mlops_feature_table *whole = NULL;
    mlops_status whole_st = read_all(&whole, data + 1, size - 1, "input.csv");
    char whole_msg[512] = "";
    if (whole_st != MLOPS_OK) {
        FUZZ_CHECK(whole == NULL, "failed read returned a table");
        check_error(whole_st, "read", false);
        snprintf(whole_msg, sizeof(whole_msg), "%s", mlops_error_message());
    }

    FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
    if (f == NULL)
        abort();
    mlops__csv *r = NULL;
    mlops_status st = mlops__csv_open_stream(&r, env, f, "input.csv");
    if (st != MLOPS_OK) {
        FUZZ_CHECK(r == NULL, "failed open returned a reader");
        check_error(st, "open", false);
    }
    size_t at = 0;
    for (int rounds = 0; st == MLOPS_OK && rounds < 16384; rounds++) {
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
            if (whole)
                same_cells(whole, at, t, "chunked read");
            convert(t, schema);
        }
        at += rows;
        mlops_feature_table_free(t);
        if (rows == 0)
            break;
    }
    mlops__csv_close(r);
    /* the same verdict whichever way the file is read, naming the same place */
    FUZZ_CHECK(st == whole_st, "read in chunks gave %d, at once %d", st, whole_st);
    if (st == MLOPS_E_INVALID)
        FUZZ_CHECK(strcmp(mlops_error_message(), whole_msg) == 0,
                   "read in chunks said '%s', at once '%s'", mlops_error_message(), whole_msg);
    if (whole) {
        FUZZ_CHECK(at == whole->n_rows, "read %zu rows in chunks, %zu at once", at, whole->n_rows);
        round_trip(whole);
        mlops_feature_table_free(whole);
    }
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

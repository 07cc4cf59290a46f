/* SPDX-License-Identifier: MIT */
/* Edges of the feature tables: the type-name, number, bool, timestamp and
 * vector parsers, column conversion, the RFC 4180 CSV reader and writer on
 * awkward files, and every allocation of a CSV read failing in turn
 * (RELIABILITY.md ids in comments). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feature/feature_internal.h"
#include "testutil.h"

#define S 1000000LL

static char *write_file(const char *dir, const char *name, const char *text, size_t n)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, n, f), n);
    fclose(f);
    return p;
}
#define WRITE(dir, name, lit) write_file(dir, name, lit, sizeof(lit) - 1)

START_TEST(test_type_names)
{
    static const struct {
        const char *s;
        bool ok;
        uint32_t type, dim;
    } cases[] = {
        {"int64", true, MLOPS_FEATURE_INT64, 0},
        {"int", true, MLOPS_FEATURE_INT64, 0},
        {"float64", true, MLOPS_FEATURE_FLOAT64, 0},
        {"float", true, MLOPS_FEATURE_FLOAT64, 0},
        {"double", true, MLOPS_FEATURE_FLOAT64, 0},
        {"string", true, MLOPS_FEATURE_STRING, 0},
        {"str", true, MLOPS_FEATURE_STRING, 0},
        {"bool", true, MLOPS_FEATURE_BOOL, 0},
        {"float32[3]", true, MLOPS_FEATURE_FLOAT32_VECTOR, 3},
        {"float32_vector[65536]", true, MLOPS_FEATURE_FLOAT32_VECTOR, 65536},
        {"float32[0]", false, 0, 0},
        {"float32[65537]", false, 0, 0},
        {"float32[3", false, 0, 0},
        {"float32[]", false, 0, 0},
        {"float32[3]x", false, 0, 0},
        {"float32[99999999999999999999999]", false, 0, 0}, /* ERANGE */
        /* V: strtoul would wrap a sign or skip blanks; a dim is plain digits */
        {"float32[-18446744073709551613]", false, 0, 0},
        {"float32[+3]", false, 0, 0},
        {"float32[ 3]", false, 0, 0},
        {"Int64", false, 0, 0},
        {"", false, 0, 0},
        {"vector", false, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t type = 99, dim = 99;
        bool ok = mlops__ftype_parse(cases[i].s, &type, &dim);
        ck_assert_msg(ok == cases[i].ok, "'%s'", cases[i].s);
        if (ok) {
            ck_assert_uint_eq(type, cases[i].type);
            ck_assert_uint_eq(dim, cases[i].dim);
        }
    }
    ck_assert_str_eq(mlops__ftype_name(MLOPS_FEATURE_STRING), "string");
    ck_assert_str_eq(mlops__ftype_name(MLOPS_FEATURE_FLOAT32_VECTOR), "float32_vector");
    ck_assert_str_eq(mlops__ftype_name(0), "unknown");
    ck_assert_str_eq(mlops__ftype_name(6), "unknown");
    ck_assert_uint_eq(mlops__ftype_width(MLOPS_FEATURE_BOOL, 0), 1);
    ck_assert_uint_eq(mlops__ftype_width(MLOPS_FEATURE_FLOAT32_VECTOR, 3), 12);
    ck_assert_uint_eq(mlops__ftype_width(MLOPS_FEATURE_STRING, 0), 0);
}
END_TEST

START_TEST(test_parse_numbers)
{
    int64_t v;
    static const struct {
        const char *s;
        bool ok;
        int64_t v;
    } ints[] = {
        {"0", true, 0},
        {" \t42\t ", true, 42},
        {"+7", true, 7},
        {"-9223372036854775808", true, INT64_MIN},
        {"9223372036854775807", true, INT64_MAX},
        {"9223372036854775808", false, 0},   /* INT64_MAX + 1 */
        {"-9223372036854775809", false, 0},
        {"18446744073709551616", false, 0},  /* overflows uint64 */
        {"000000000000000000000001", false, 0}, /* more than 21 characters */
        {"-", false, 0},
        {"+", false, 0},
        {"", false, 0},
        {"   ", false, 0},
        {"1 2", false, 0},
        {"12a", false, 0},
        {"1.0", false, 0},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        bool ok = mlops__parse_i64(ints[i].s, strlen(ints[i].s), &v);
        ck_assert_msg(ok == ints[i].ok, "int '%s'", ints[i].s);
        if (ok)
            ck_assert_msg(v == ints[i].v, "int '%s' gave %lld", ints[i].s, (long long)v);
    }
    double d;
    ck_assert(mlops__parse_f64(" 2.5e3 ", 7, &d) && d == 2500.0);
    ck_assert(mlops__parse_f64("-0", 2, &d) && d == 0 && signbit(d));
    ck_assert(mlops__parse_f64("nan", 3, &d) && isnan(d));
    ck_assert(mlops__parse_f64("-inf", 4, &d) && isinf(d) && d < 0);
    ck_assert(!mlops__parse_f64("0x10", 4, &d)); /* hex floats are not decimal text */
    ck_assert(!mlops__parse_f64("1X", 2, &d));
    ck_assert(!mlops__parse_f64("1.5.", 4, &d));
    ck_assert(!mlops__parse_f64("", 0, &d));
    char big[200];
    memset(big, '1', sizeof(big));
    ck_assert(!mlops__parse_f64(big, sizeof(big), &d)); /* longer than the 128-byte buffer */
    ck_assert(mlops__parse_f64(big, 127, &d) && d > 1e126);

    uint8_t b;
    const char *yes[] = {"1", "true", "TRUE", "t", "Yes", " T "};
    const char *no[] = {"0", "false", "False", "f", "NO"};
    const char *bad[] = {"2", "tru", "yess", "falsey", "", "y", "n", "on"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(mlops__parse_bool(yes[i], strlen(yes[i]), &b) && b == 1, "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(mlops__parse_bool(no[i], strlen(no[i]), &b) && b == 0, "%s", no[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!mlops__parse_bool(bad[i], strlen(bad[i]), &b), "%s", bad[i]);

    char buf[64];
    mlops__fmt_f64(buf, sizeof(buf), NAN);
    ck_assert_str_eq(buf, "nan");
    mlops__fmt_f64(buf, sizeof(buf), -INFINITY);
    ck_assert_str_eq(buf, "-inf");
    mlops__fmt_f64(buf, sizeof(buf), INFINITY);
    ck_assert_str_eq(buf, "inf");
    mlops__fmt_f64(buf, sizeof(buf), 0.1);
    ck_assert_str_eq(buf, "0.1");
    mlops__fmt_f64(buf, sizeof(buf), 0.1 + 0.2); /* needs 17 digits to round-trip */
    ck_assert(strtod(buf, NULL) == 0.1 + 0.2);
}
END_TEST

START_TEST(test_parse_timestamps)
{
    static const struct {
        const char *s;
        bool ok;
        int64_t us;
    } cases[] = {
        {"0", true, 0},
        {".5", true, 500000},
        {"-.5", true, -500000},
        {"+.25", true, 250000},
        {"5.", true, 5 * S},
        {"-0.5", true, -500000},
        {"1.1234567", true, S + 123456}, /* below a microsecond: rounded down */
        {"1970-01-01", true, 0},
        {"1969-12-31", true, -86400 * S},
        {"2000-02-29 00:00:00Z", true, 951782400 * S},
        {"1970-01-01T00:00:60Z", true, 60 * S}, /* a leap second */
        {"1970-01-01T00:00:00.5-00:30", true, 1800 * S + 500000},
        {"0000-03-01T00:00:00Z", true, -62162035200 * S},
        /* V: malformed */
        {".", false, 0},
        {"-.", false, 0}, /* a sign alone is not a time */
        {"+.", false, 0},
        {"-", false, 0},
        {"1.2x", false, 0},
        {"1..2", false, 0},
        {"1970-13-01", false, 0},
        {"1970-00-01", false, 0},
        {"1970-01-00", false, 0},
        {"1970-01-32", false, 0},
        {"1970-04-31", false, 0},
        {"1900-02-29", false, 0}, /* not a leap year (century) */
        {"197a-01-01", false, 0},
        {"1970-0a-01", false, 0},
        {"1970-01-0a", false, 0},
        {"1970-01-01X00:00:00Z", false, 0},
        {"1970-01-01T00:00:00", false, 0},
        {"1970-01-01T00:00Z", false, 0},
        {"1970-01-01T0a:00:00Z", false, 0},
        {"1970-01-01T00-00:00Z", false, 0},
        {"1970-01-01T00:0a:00Z", false, 0},
        {"1970-01-01T00:00-00Z", false, 0},
        {"1970-01-01T00:00:0aZ", false, 0},
        {"1970-01-01T24:00:00Z", false, 0},
        {"1970-01-01T00:60:00Z", false, 0},
        {"1970-01-01T00:00:61Z", false, 0},
        {"1970-01-01T00:00:00.Z", false, 0},
        {"1970-01-01T00:00:00.5", false, 0},
        {"1970-01-01T00:00:00Zx", false, 0},
        {"1970-01-01T00:00:00+01", false, 0},
        {"1970-01-01T00:00:00+01:000", false, 0},
        {"1970-01-01T00:00:00+0a:00", false, 0},
        {"1970-01-01T00:00:00+01-00", false, 0},
        {"1970-01-01T00:00:00+01:0a", false, 0},
        {"1970-01-01T00:00:00+24:00", false, 0},
        {"1970-01-01T00:00:00+01:60", false, 0},
        {"1970-01-01T00:00:00 UTC", false, 0},
        {"-9223372036854", false, 0}, /* out of the microsecond range */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 12345;
        bool ok = mlops__parse_ts(cases[i].s, strlen(cases[i].s), &us);
        ck_assert_msg(ok == cases[i].ok, "'%s': %d", cases[i].s, ok);
        if (ok)
            ck_assert_msg(us == cases[i].us, "'%s' gave %lld", cases[i].s, (long long)us);
    }
}
END_TEST

static mlops_feature_table *string_table(const char *name, const char *const *cells, size_t n)
{
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t, name, MLOPS_FEATURE_STRING, 0, cells, NULL, n));
    return t;
}

START_TEST(test_convert)
{
    /* strings to each type; a NULL cell stays null */
    const char *vec[] = {"[1, 2.5]", "3;4", NULL, " [ 5 , 6 ] "};
    mlops_feature_table *t = string_table("v", vec, 4);
    mlops__fcol c;
    tu_assert_ok(mlops__fcol_convert(&c, NULL, t, 0, MLOPS_FEATURE_FLOAT32_VECTOR, 2, false));
    const float *f = c.data;
    ck_assert(f[0] == 1.0f && f[1] == 2.5f && f[2] == 3.0f && f[3] == 4.0f);
    ck_assert(f[6] == 5.0f && f[7] == 6.0f);
    ck_assert_ptr_nonnull(c.valid);
    ck_assert(c.valid[0] && c.valid[1] && !c.valid[2] && c.valid[3]);
    mlops__fcol_release(NULL, &c);
    mlops_feature_table_free(t);

    static const char *bad_vecs[] = {"[1,2", "1", "1,2,3", "[]", "[1,x]", "", "[1,2]]"};
    for (size_t i = 0; i < sizeof(bad_vecs) / sizeof(bad_vecs[0]); i++) {
        const char *one[] = {bad_vecs[i]};
        t = string_table("v", one, 1);
        mlops_status st = mlops__fcol_convert(&c, NULL, t, 0, MLOPS_FEATURE_FLOAT32_VECTOR, 2,
                                              false);
        ck_assert_msg(st == MLOPS_E_INVALID, "'%s'", bad_vecs[i]);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "a float32 vector"));
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "row 0, column 1 ('v')"));
        mlops_feature_table_free(t);
    }
    /* each parse failure names the wanted type */
    static const struct {
        uint32_t type;
        bool ts;
        const char *want;
    } kinds[] = {
        {MLOPS_FEATURE_INT64, false, "an int64"},
        {MLOPS_FEATURE_FLOAT64, false, "a float64"},
        {MLOPS_FEATURE_BOOL, false, "a bool"},
        {MLOPS_FEATURE_INT64, true, "a timestamp"},
    };
    const char *cells[] = {"1", "zz"};
    t = string_table("x", cells, 2);
    for (size_t i = 0; i < 4; i++) {
        tu_assert_st(mlops__fcol_convert(&c, NULL, t, 0, kinds[i].type, 0, kinds[i].ts),
                     MLOPS_E_INVALID);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), kinds[i].want));
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "row 1"));
    }
    /* a string column to a string column is a view */
    tu_assert_ok(mlops__fcol_convert(&c, NULL, t, 0, MLOPS_FEATURE_STRING, 0, false));
    ck_assert_ptr_null(c.name);
    mlops_feature_table_free(t);

    /* int64 widens to float64, nulls kept; other typed columns are refused */
    mlops_feature_table *n = NULL;
    tu_assert_ok(mlops_feature_table_create(&n, NULL));
    int64_t iv[] = {3, 7, -2};
    uint8_t valid[] = {1, 0, 1};
    tu_assert_ok(mlops_feature_table_add_column(n, "i", MLOPS_FEATURE_INT64, 0, iv, valid, 3));
    float fv[] = {1, 2, 3, 4, 5, 6};
    tu_assert_ok(
        mlops_feature_table_add_column(n, "f", MLOPS_FEATURE_FLOAT32_VECTOR, 2, fv, NULL, 3));
    tu_assert_ok(mlops__fcol_convert(&c, NULL, n, 0, MLOPS_FEATURE_FLOAT64, 0, false));
    const double *dv = c.data;
    ck_assert(dv[0] == 3.0 && dv[2] == -2.0 && c.valid[0] && !c.valid[1]);
    mlops__fcol_release(NULL, &c);
    tu_assert_st(mlops__fcol_convert(&c, NULL, n, 0, MLOPS_FEATURE_BOOL, 0, false),
                 MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "column 'i' is int64 but bool"));
    tu_assert_st(mlops__fcol_convert(&c, NULL, n, 1, MLOPS_FEATURE_INT64, 0, true),
                 MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "float32_vector[] but a timestamp"));
    tu_assert_st(mlops__fcol_convert(&c, NULL, n, 1, MLOPS_FEATURE_FLOAT32_VECTOR, 3, false),
                 MLOPS_E_INVALID);
    mlops_feature_table_free(n);
}
END_TEST

START_TEST(test_add_column_checks)
{
    mlops_feature_table *t = NULL;
    int64_t x[] = {1, 2};
    tu_assert_st(mlops_feature_table_add_column(NULL, "x", MLOPS_FEATURE_INT64, 0, x, NULL, 2),
                 MLOPS_E_INVALID);
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    char longname[MLOPS_FEATURE_MAX_NAME + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    static const struct {
        const char *name;
        uint32_t type, dim;
        const void *data;
        size_t n;
        mlops_status want;
        const char *msg;
    } bad[] = {
        {NULL, MLOPS_FEATURE_INT64, 0, NULL, 0, MLOPS_E_INVALID, "empty"},
        {"\xc3\x28", MLOPS_FEATURE_INT64, 0, NULL, 0, MLOPS_E_INVALID, "not UTF-8"},
        {"x", 0, 0, NULL, 0, MLOPS_E_INVALID, "unknown type 0"},
        {"x", MLOPS_FEATURE_FLOAT32_VECTOR, 0, NULL, 0, MLOPS_E_INVALID, "dim 0"},
        {"x", MLOPS_FEATURE_FLOAT32_VECTOR, 65537, NULL, 0, MLOPS_E_INVALID, "dim 65537"},
        {"x", MLOPS_FEATURE_INT64, 2, NULL, 0, MLOPS_E_INVALID, "dim 2 is wrong for type int64"},
        {"x", MLOPS_FEATURE_INT64, 0, NULL, 2, MLOPS_E_INVALID, "data is NULL"},
        {"x", MLOPS_FEATURE_INT64, 0, "", (size_t)UINT32_MAX + 1, MLOPS_E_TOOBIG, "rows"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_assert_st(mlops_feature_table_add_column(t, bad[i].name, bad[i].type, bad[i].dim,
                                                    bad[i].data, NULL, bad[i].n),
                     bad[i].want);
        ck_assert_msg(strstr(mlops_error_message(), bad[i].msg) != NULL, "case %zu: %s", i,
                      mlops_error_message());
        ck_assert_uint_eq(mlops_feature_table_columns(t), 0); /* I7: nothing added */
    }
    tu_assert_st(mlops_feature_table_add_column(t, longname, MLOPS_FEATURE_INT64, 0, x, NULL, 2),
                 MLOPS_E_INVALID);
    /* an empty table takes a zero-row column, then every column has 0 rows */
    tu_assert_ok(mlops_feature_table_add_column(t, "empty", MLOPS_FEATURE_INT64, 0, NULL, NULL, 0));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 0);
    tu_assert_st(mlops_feature_table_add_column(t, "two", MLOPS_FEATURE_INT64, 0, x, NULL, 2),
                 MLOPS_E_INVALID);
    mlops_feature_table_free(t);

    /* bool values above 1 are fine where the row is null; null cells read as 0 */
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    uint8_t b[] = {1, 9};
    uint8_t valid[] = {1, 0};
    tu_assert_ok(mlops_feature_table_add_column(t, "b", MLOPS_FEATURE_BOOL, 0, b, valid, 2));
    const uint8_t *bd = mlops_feature_table_data(t, 0);
    ck_assert(bd[0] == 1 && bd[1] == 0);
    const uint8_t *bv = mlops_feature_table_valid(t, 0);
    ck_assert(bv[0] == 1 && bv[1] == 0);
    /* strings: a NULL pointer or a cleared valid flag is a null cell */
    const char *s[] = {NULL, "keep", "drop"};
    uint8_t sv[] = {1, 1, 0};
    int64_t three[] = {1, 2, 3};
    mlops_feature_table *t3 = NULL;
    tu_assert_ok(mlops_feature_table_create(&t3, NULL));
    tu_assert_ok(mlops_feature_table_add_column(t3, "s", MLOPS_FEATURE_STRING, 0, s, sv, 3));
    tu_assert_ok(mlops_feature_table_add_column(t3, "i", MLOPS_FEATURE_INT64, 0, three, NULL, 3));
    size_t len = 99;
    ck_assert_ptr_null(mlops_feature_table_string(&len, t3, 0, 0));
    ck_assert_str_eq(mlops_feature_table_string(&len, t3, 0, 1), "keep");
    ck_assert_uint_eq(len, 4);
    ck_assert_ptr_null(mlops_feature_table_string(&len, t3, 0, 2));
    ck_assert_ptr_null(mlops_feature_table_string(&len, t3, 0, 3)); /* past the last row */
    ck_assert_ptr_null(mlops_feature_table_string(&len, t3, 1, 0)); /* not a string column */
    ck_assert_ptr_null(mlops_feature_table_string(&len, t3, 2, 0));
    ck_assert_ptr_null(mlops_feature_table_data(t3, 0)); /* strings have no fixed data */
    ck_assert_ptr_null(mlops_feature_table_valid(t3, 7));
    ck_assert_ptr_null(mlops_feature_table_valid(NULL, 0));
    uint32_t type = 0, dim = 9;
    ck_assert_str_eq(mlops_feature_table_column(&type, &dim, t3, 1), "i");
    ck_assert(type == MLOPS_FEATURE_INT64 && dim == 0);
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, t3, 0), "s");
    size_t col;
    tu_assert_st(mlops_feature_table_find(&col, t3, "nope"), MLOPS_E_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "no column 'nope'"));
    tu_assert_st(mlops_feature_table_find(NULL, t3, "s"), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_find(&col, NULL, "s"), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_find(&col, t3, NULL), MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_feature_table_rows(NULL), 0);
    ck_assert_uint_eq(mlops_feature_table_columns(NULL), 0);
    ck_assert_ptr_null(mlops_feature_table_column(NULL, NULL, NULL, 0));
    mlops_feature_table_free(t3);
    mlops_feature_table_free(t);
}
END_TEST

START_TEST(test_csv_reader_edges)
{
    char *dir = tu_tempdir();
    mlops_feature_table *t = NULL;
    /* blank lines (LF, CRLF, a lone CR) are skipped; a quoted field may hold
     * CRLF; the last line may lack its newline; "" is an empty string, an
     * empty unquoted field is null */
    char *p = WRITE(dir, "a.csv", "a,\"b c\"\r\n\n\r\n\r1,\"x\r\ny\"\r\n,\"\"\n3,q");
    tu_assert_ok(mlops_feature_table_read_csv(&t, NULL, p));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 3);
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, t, 1), "b c");
    ck_assert_str_eq(mlops_feature_table_string(NULL, t, 1, 0), "x\r\ny");
    ck_assert_ptr_null(mlops_feature_table_string(NULL, t, 0, 1));
    ck_assert_str_eq(mlops_feature_table_string(NULL, t, 1, 1), "");
    ck_assert_str_eq(mlops_feature_table_string(NULL, t, 1, 2), "q");
    ck_assert_uint_eq(t->lines[2], 8); /* counted across the skipped and quoted lines */
    mlops_feature_table_free(t);
    free(p);

    /* a header alone gives a table of 0 rows, with or without its newline */
    p = WRITE(dir, "h.csv", "only");
    tu_assert_ok(mlops_feature_table_read_csv(&t, NULL, p));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 0);
    ck_assert_uint_eq(mlops_feature_table_columns(t), 1);
    mlops_feature_table_free(t);
    free(p);

    /* more rows than the first allocation, with nulls, so the columns and
     * their null flags grow */
    size_t rows = 3000;
    char *big = malloc(rows * 16 + 16);
    size_t n = (size_t)sprintf(big, "k,v\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(big + n, i % 7 == 3 ? "%zu,\n" : "%zu,v%zu\n", i, i);
    p = write_file(dir, "big.csv", big, n);
    tu_assert_ok(mlops_feature_table_read_csv(&t, NULL, p));
    ck_assert_uint_eq(mlops_feature_table_rows(t), rows);
    for (size_t i = 0; i < rows; i++) {
        const char *v = mlops_feature_table_string(NULL, t, 1, i);
        if (i % 7 == 3) {
            ck_assert_ptr_null(v);
        } else {
            char want[32];
            sprintf(want, "v%zu", i);
            ck_assert_str_eq(v, want);
        }
    }
    mlops_feature_table_free(t);
    free(p);
    free(big);

    /* read in pieces: max_rows at a time, then an empty table at the end */
    p = WRITE(dir, "seg.csv", "a\n1\n2\n3\n");
    mlops__csv *r = NULL;
    tu_assert_ok(mlops__csv_open(&r, NULL, p));
    tu_assert_ok(mlops__csv_read(r, &t, 2));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 2);
    mlops_feature_table_free(t);
    tu_assert_ok(mlops__csv_read(r, &t, 2));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 1);
    ck_assert_str_eq(mlops_feature_table_string(NULL, t, 0, 0), "3");
    mlops_feature_table_free(t);
    tu_assert_ok(mlops__csv_read(r, &t, 2));
    ck_assert_uint_eq(mlops_feature_table_rows(t), 0);
    mlops_feature_table_free(t);
    mlops__csv_close(r);
    mlops__csv_close(NULL);
    free(p);

    /* V, N: malformed files name the file, line and column */
    char longhdr[MLOPS_FEATURE_MAX_NAME + 8];
    memset(longhdr, 'h', MLOPS_FEATURE_MAX_NAME + 1);
    strcpy(longhdr + MLOPS_FEATURE_MAX_NAME + 1, "\n1\n");
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"a,,b\n", "line 1, column 2: header name is empty"},
        {"\n1\n", "line 1, column 1: header name is empty"},
        {"\"\"", "line 1, column 1: header name is empty"},
        {"a,\"b\n", "line 1, column 2: quoted field is not closed"},
        {"a,\"b\"\rc\n", "line 1, column 2: text after a closing quote"},
        {"a,b\"\n", "line 1, column 2: quote inside an unquoted field"},
        {"a,\xc3\n", "line 1, column 2: invalid UTF-8"},
        {"a,b\n1\n", "line 2: fewer fields; the header has 2"},
        {"a,b\n\"1\n2\",x,y\n", "line 2: more fields"},
        {"a\n\"x\n\n\xff\"\n", "line 2, column 1: invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = write_file(dir, "bad.csv", bad[i].text, strlen(bad[i].text));
        t = (mlops_feature_table *)&t; /* must be reset to NULL */
        mlops_status st = mlops_feature_table_read_csv(&t, NULL, p);
        ck_assert_msg(st == MLOPS_E_INVALID, "case %zu: %s", i, mlops_status_name(st));
        ck_assert_msg(strstr(mlops_error_message(), bad[i].want) != NULL, "case %zu: '%s'", i,
                      mlops_error_message());
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), p));
        ck_assert_ptr_null(t);
        free(p);
    }
    p = write_file(dir, "long.csv", longhdr, strlen(longhdr));
    tu_assert_st(mlops_feature_table_read_csv(&t, NULL, p), MLOPS_E_INVALID);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "empty or too long"));
    free(p);
    tu_assert_st(mlops_feature_table_read_csv(NULL, NULL, "x.csv"), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_read_csv(&t, NULL, NULL), MLOPS_E_INVALID);
    /* a read error is an I/O error, not the end of the file (a directory
     * opens, but every read fails with EISDIR) */
    tu_assert_st(mlops_feature_table_read_csv(&t, NULL, dir), MLOPS_E_IO);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "cannot read"));
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_csv_writer_roundtrip)
{
    char *dir = tu_tempdir();
    mlops_feature_table *t = NULL;
    tu_assert_ok(mlops_feature_table_create(&t, NULL));
    int64_t iv[] = {-5, 0, INT64_MAX};
    double dv[] = {0.1, NAN, -INFINITY};
    uint8_t bv[] = {1, 0, 1};
    float fv[] = {1.5f, -2, 0, 0, 3, 4};
    const char *sv[] = {" padded", "", "quote\"comma,\nline"};
    uint8_t valid[] = {1, 1, 0};
    tu_assert_ok(mlops_feature_table_add_column(t, "i", MLOPS_FEATURE_INT64, 0, iv, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "d,\"x\"", MLOPS_FEATURE_FLOAT64, 0, dv, NULL,
                                                3));
    tu_assert_ok(mlops_feature_table_add_column(t, "b", MLOPS_FEATURE_BOOL, 0, bv, valid, 3));
    tu_assert_ok(
        mlops_feature_table_add_column(t, "f", MLOPS_FEATURE_FLOAT32_VECTOR, 2, fv, NULL, 3));
    tu_assert_ok(mlops_feature_table_add_column(t, "s", MLOPS_FEATURE_STRING, 0, sv, NULL, 3));
    char *p = malloc(strlen(dir) + 16);
    sprintf(p, "%s/out.csv", dir);
    tu_assert_ok(mlops_feature_table_write_csv(t, p));
    mlops_feature_table *back = NULL;
    tu_assert_ok(mlops_feature_table_read_csv(&back, NULL, p));
    ck_assert_uint_eq(mlops_feature_table_rows(back), 3);
    ck_assert_str_eq(mlops_feature_table_column(NULL, NULL, back, 1), "d,\"x\"");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 0, 2), "9223372036854775807");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 1, 0), "0.1");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 1, 1), "nan");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 1, 2), "-inf");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 2, 0), "true");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 2, 1), "false");
    ck_assert_ptr_null(mlops_feature_table_string(NULL, back, 2, 2)); /* null stays null */
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 3, 0), "[1.5,-2]");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 4, 0), " padded");
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 4, 1), ""); /* not null */
    ck_assert_str_eq(mlops_feature_table_string(NULL, back, 4, 2), "quote\"comma,\nline");
    /* the text parses back to the same typed values */
    mlops__fcol c;
    tu_assert_ok(mlops__fcol_convert(&c, NULL, back, 3, MLOPS_FEATURE_FLOAT32_VECTOR, 2, false));
    ck_assert_mem_eq(c.data, fv, sizeof(fv));
    mlops__fcol_release(NULL, &c);
    mlops_feature_table_free(back);

    /* I/O errors: a missing directory, a full device; no temporary file left */
    sprintf(p, "%s/no/out.csv", dir);
    tu_assert_st(mlops_feature_table_write_csv(t, p), MLOPS_E_IO);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), p));
    if (access("/dev/full", W_OK) == 0) {
        tu_assert_st(mlops_feature_table_write_csv(t, "/dev/full"), MLOPS_E_IO);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "/dev/full"));
    }
    tu_assert_st(mlops_feature_table_write_csv(NULL, p), MLOPS_E_INVALID);
    tu_assert_st(mlops_feature_table_write_csv(t, NULL), MLOPS_E_INVALID);
    mlops_feature_table_free(t);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* I10: every allocation of reading a CSV file, converting its columns and
 * writing it back fails in turn: MLOPS_E_NOMEM, no output, no leak. */
START_TEST(test_csv_alloc_failures)
{
    char *dir = tu_tempdir();
    char text[4096];
    size_t n = (size_t)sprintf(text, "id,ts,v,s\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(text + n, "%d,2024-01-0%dT00:00:00Z,%s,\"s%d\"\n", i, 1 + i % 9,
                             i % 5 ? "\"[1,2]\"" : "", i);
    char *p = write_file(dir, "in.csv", text, n);
    char *out = malloc(strlen(dir) + 16);
    sprintf(out, "%s/out.csv", dir);
    int refused = 0;
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        a.fail_at = k;
        mlops_feature_table *t = NULL;
        mlops_status st = mlops_feature_table_read_csv(&t, env, p);
        mlops__fcol c[3];
        int conv = 0;
        if (st == MLOPS_OK) {
            st = mlops__fcol_convert(&c[0], env, t, 0, MLOPS_FEATURE_INT64, 0, false);
            conv += st == MLOPS_OK;
            if (st == MLOPS_OK)
                st = mlops__fcol_convert(&c[1], env, t, 1, MLOPS_FEATURE_INT64, 0, true);
            conv += st == MLOPS_OK;
            if (st == MLOPS_OK)
                st = mlops__fcol_convert(&c[2], env, t, 2, MLOPS_FEATURE_FLOAT32_VECTOR, 2,
                                         false);
            conv += st == MLOPS_OK;
        }
        if (st == MLOPS_OK) {
            ck_assert(((int64_t *)c[1].data)[1] == 1704153600 * S);
            ck_assert(!c[2].valid[0] && c[2].valid[1]);
            st = mlops_feature_table_write_csv(t, out);
        }
        for (int i = 0; i < conv; i++)
            mlops__fcol_release(env, &c[i]);
        if (t == NULL)
            ck_assert_int_ne(st, MLOPS_OK);
        mlops_feature_table_free(t);
        mlops_env_free(env);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks leaked", k, a.live);
        if (a.failures == 0) {
            tu_assert_ok(st);
            break;
        }
        ck_assert_msg(st == MLOPS_E_NOMEM, "allocation %ld: %s", k, mlops_status_name(st));
        refused++;
    }
    ck_assert_int_gt(refused, 10);
    /* the last run wrote the file; no temporary file is left behind */
    char tmp[4096];
    sprintf(tmp, "%s.tmp", out);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ck_assert_int_eq(access(out, F_OK), 0);
    free(out);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* I10: allocations failing while a CSV file's columns grow past their first
 * allocation, while columns are added and while int64 widens to float64. */
START_TEST(test_growth_alloc_failures)
{
    char *dir = tu_tempdir();
    size_t rows = 1100;
    char *text = malloc(rows * 16 + 16);
    size_t n = (size_t)sprintf(text, "a,b\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(text + n, i == 5 ? "%zu,\n" : "%zu,x\n", i);
    char *p = write_file(dir, "grow.csv", text, n);
    int64_t iv[3] = {1, 2, 3};
    uint8_t valid[3] = {1, 0, 1};
    const char *sv[3] = {"p", NULL, "q"};
    int refused = 0;
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        a.fail_at = k;
        mlops_feature_table *t = NULL, *u = NULL;
        mlops_status st = mlops_feature_table_read_csv(&t, env, p);
        if (st == MLOPS_OK) {
            ck_assert_uint_eq(mlops_feature_table_rows(t), rows);
            ck_assert_ptr_null(mlops_feature_table_string(NULL, t, 1, 5));
            st = mlops_feature_table_create(&u, env);
        }
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(u, "i", MLOPS_FEATURE_INT64, 0, iv, valid, 3);
        if (st == MLOPS_OK)
            st = mlops_feature_table_add_column(u, "s", MLOPS_FEATURE_STRING, 0, sv, NULL, 3);
        if (st != MLOPS_OK && u != NULL) /* a refused column is not half added */
            ck_assert_uint_le(mlops_feature_table_columns(u), 1);
        mlops__fcol c;
        if (st == MLOPS_OK) {
            st = mlops__fcol_convert(&c, env, u, 0, MLOPS_FEATURE_FLOAT64, 0, false);
            if (st == MLOPS_OK) {
                ck_assert(((double *)c.data)[2] == 3.0 && !c.valid[1]);
                mlops__fcol_release(env, &c);
            }
        }
        mlops_feature_table_free(u);
        mlops_feature_table_free(t);
        long failures = a.failures;
        mlops_env_free(env);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks leaked", k, a.live);
        if (failures == 0) {
            tu_assert_ok(st);
            break;
        }
        ck_assert_msg(st == MLOPS_E_NOMEM, "allocation %ld: %s", k, mlops_status_name(st));
        refused++;
    }
    ck_assert_int_gt(refused, 10);
    free(p);
    free(text);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static Suite *table_suite(void)
{
    Suite *s = suite_create("table-edges");
    TCase *tc = tcase_create("table-edges");
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_parse_numbers);
    tcase_add_test(tc, test_parse_timestamps);
    tcase_add_test(tc, test_convert);
    tcase_add_test(tc, test_add_column_checks);
    tcase_add_test(tc, test_csv_reader_edges);
    tcase_add_test(tc, test_csv_writer_roundtrip);
    tcase_add_test(tc, test_csv_alloc_failures);
    tcase_add_test(tc, test_growth_alloc_failures);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(table_suite());
}

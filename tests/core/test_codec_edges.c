/* SPDX-License-Identifier: MIT */
/* Edges of the record codec: tag and size limits on the writer, a writer
 * whose allocation fails, varints at their limits, and headers the reader
 * refuses (RELIABILITY.md ids in comments). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "core/core.h"
#include "testutil.h"

START_TEST(test_varint_limits)
{
    static const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, (1ull << 35) - 1,
                                    (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
    static const size_t lens[] = {1, 1, 1, 2, 2, 3, 5, 9, 10, 10};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t b[10];
        size_t n = mlops__varint_put(b, vals[i]);
        ck_assert_uint_eq(n, lens[i]);
        uint64_t v = 0;
        ck_assert_uint_eq(mlops__varint_get(b, n, &v), n);
        ck_assert(v == vals[i]);
        /* every shorter prefix is truncated (0), never a different value */
        for (size_t k = 0; k < n; k++)
            ck_assert_uint_eq(mlops__varint_get(b, k, &v), 0);
    }
    /* N: a 10th byte above 1 overflows 64 bits; 11 bytes never parse */
    uint8_t over[11];
    memset(over, 0x80, sizeof(over));
    over[9] = 0x02;
    uint64_t v;
    ck_assert_uint_eq(mlops__varint_get(over, 10, &v), 0);
    over[9] = 0x81;
    ck_assert_uint_eq(mlops__varint_get(over, 11, &v), 0);
    over[9] = 0x01; /* 2^63 written with a redundant zero-payload prefix */
    ck_assert_uint_eq(mlops__varint_get(over, 10, &v), 10);
    ck_assert(v == 1ull << 63);
}
END_TEST

START_TEST(test_writer_limits)
{
    /* tags 0 and above 2^28-1 are refused; the first error sticks and later
     * puts change nothing */
    static const uint32_t bad_tags[] = {0, MLOPS__REC_MAX_TAG + 1, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        mlops__rec_writer w;
        mlops__rec_writer_init(&w, NULL, 1, 3);
        mlops__rec_put_u64(&w, 1, 5);
        size_t len = w.buf.len;
        mlops__rec_put_f64(&w, bad_tags[i], 1.0);
        ck_assert_int_eq(w.st, MLOPS_E_INTERNAL);
        ck_assert_ptr_nonnull(strstr(mlops_error_message(), "out of range"));
        mlops__rec_put_u64(&w, 2, 7);
        mlops__rec_put_i64(&w, 2, -7);
        mlops__rec_put_str(&w, 2, "x");
        mlops__rec_put_bytes(&w, 2, "x", 1);
        mlops__rec_put_f64(&w, 2, 2.0);
        ck_assert_uint_eq(w.buf.len, len);
        tu_assert_st(mlops__rec_writer_finish(&w), MLOPS_E_INTERNAL);
        mlops__rec_writer_free(&w);
    }
    /* the largest tag round-trips */
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, NULL, 1, 3);
    mlops__rec_put_str(&w, MLOPS__REC_MAX_TAG, NULL); /* NULL: no field */
    mlops__rec_put_str(&w, MLOPS__REC_MAX_TAG, "");
    mlops__rec_put_bytes(&w, 1, NULL, 0);
    tu_assert_ok(mlops__rec_writer_finish(&w));
    mlops__rec_reader r;
    mlops__rec_field f;
    tu_assert_ok(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 3, "test"));
    tu_assert_ok(mlops__rec_next(&r, &f));
    ck_assert_uint_eq(f.tag, MLOPS__REC_MAX_TAG);
    ck_assert_uint_eq(f.n, 0);
    char *s = mlops__rec_as_str(NULL, &f);
    ck_assert_str_eq(s, "");
    mlops__free(NULL, s);
    tu_assert_ok(mlops__rec_next(&r, &f));
    ck_assert_uint_eq(f.tag, 1);
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_NOTFOUND);
    mlops__rec_writer_free(&w);

    /* N12: a field longer than the record limit is refused before any copy
     * (the pointer is never read) */
    mlops__rec_writer_init(&w, NULL, 1, 3);
    size_t len = w.buf.len;
    mlops__rec_put_bytes(&w, 1, (const void *)1, (size_t)MLOPS__REC_MAX_SIZE + 1);
    ck_assert_int_eq(w.st, MLOPS_E_TOOBIG);
    ck_assert_uint_eq(w.buf.len, len);
    tu_assert_st(mlops__rec_writer_finish(&w), MLOPS_E_TOOBIG);
    mlops__rec_writer_free(&w);
    mlops__rec_writer_init(&w, NULL, 1, 3);
    mlops__rec_put_bytes(&w, 1, (const void *)1, SIZE_MAX);
    ck_assert_int_eq(w.st, MLOPS_E_TOOBIG);
    mlops__rec_writer_free(&w);

    /* a record whose fields fit one by one but not together is refused at
     * finish, and the reader refuses a record of that size */
    size_t big = MLOPS__REC_MAX_SIZE - 8;
    uint8_t *data = calloc(1, big);
    ck_assert_ptr_nonnull(data);
    mlops__rec_writer_init(&w, NULL, 1, 3);
    mlops__rec_put_bytes(&w, 1, data, big);
    tu_assert_ok(w.st);
    mlops__rec_put_u64(&w, 2, UINT64_MAX);
    tu_assert_st(mlops__rec_writer_finish(&w), MLOPS_E_TOOBIG);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "exceeds the limit"));
    tu_assert_st(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 3, "big"), MLOPS_E_TOOBIG);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "big record"));
    mlops__rec_writer_free(&w);
    free(data);
}
END_TEST

/* I10: every allocation of a writer failing: MLOPS_E_NOMEM from finish,
 * later puts are no-ops, nothing leaks. */
START_TEST(test_writer_nomem)
{
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        a.fail_at = k;
        mlops__rec_writer w;
        mlops__rec_writer_init(&w, env, 2, 9);
        char text[300];
        memset(text, 't', sizeof(text));
        /* sizes vary so that each append (key, length, bytes) is the one
         * that grows the buffer at some point */
        for (uint32_t tag = 1; tag <= 20; tag++)
            mlops__rec_put_bytes(&w, tag, text, tag == 1 ? 26 : tag * 37 % 300);
        mlops__rec_put_i64(&w, 21, INT64_MIN);
        mlops_status st = mlops__rec_writer_finish(&w);
        long failures = a.failures;
        if (st == MLOPS_OK) {
            mlops__rec_reader r;
            mlops__rec_field f;
            tu_assert_ok(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 2, 9, "t"));
            int n = 0;
            while (mlops__rec_next(&r, &f) == MLOPS_OK)
                n++;
            ck_assert_int_eq(n, 21);
            ck_assert(mlops__rec_as_i64(&f) == INT64_MIN);
            /* a string copy can fail too */
            a.fail_at = a.calls + 1;
            ck_assert_ptr_null(mlops__rec_as_str(env, &f));
        } else {
            ck_assert_int_eq(st, MLOPS_E_NOMEM);
        }
        mlops__rec_writer_free(&w);
        mlops_env_free(env);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks leaked", k, a.live);
        if (failures == 0)
            break;
    }
}
END_TEST

START_TEST(test_reader_headers)
{
    mlops__rec_reader r;
    /* N: NULL and short records; the message names the record */
    tu_assert_st(mlops__rec_reader_init(&r, NULL, 0, 1, 1, "model version"), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "model version record is truncated"));
    tu_assert_st(mlops__rec_reader_init(&r, NULL, 10, 1, 1, "x"), MLOPS_E_CORRUPT);
    tu_assert_st(mlops__rec_reader_init(&r, "\x01", 1, 1, 1, "x"), MLOPS_E_CORRUPT);
    /* a header alone is an empty record */
    tu_assert_ok(mlops__rec_reader_init(&r, "\x03\x01", 2, 3, 1, "x"));
    ck_assert_uint_eq(r.version, 3);
    mlops__rec_field f;
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_NOTFOUND);
    /* V7: a version above the reader's; the type must match */
    tu_assert_st(mlops__rec_reader_init(&r, "\xff\x01", 2, 254, 1, "x"), MLOPS_E_VERSION);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "version 255"));
    tu_assert_st(mlops__rec_reader_init(&r, "\x01\x02", 2, 1, 1, "x"), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "type 2, expected 1"));
    /* a tag above 2^28-1 in the data; a fixed64 cut short; a length cut */
    static const uint8_t bigtag[] = {1, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0};
    tu_assert_ok(mlops__rec_reader_init(&r, bigtag, sizeof(bigtag), 1, 1, "x"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "is invalid"));
    static const uint8_t fixed[] = {1, 1, (1 << 3) | 1, 1, 2, 3};
    tu_assert_ok(mlops__rec_reader_init(&r, fixed, sizeof(fixed), 1, 1, "x"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "fixed64 is truncated"));
    static const uint8_t len[] = {1, 1, (1 << 3) | 2, 0x80};
    tu_assert_ok(mlops__rec_reader_init(&r, len, sizeof(len), 1, 1, "x"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "length is truncated"));
    static const uint8_t key[] = {1, 1, 0x88};
    tu_assert_ok(mlops__rec_reader_init(&r, key, sizeof(key), 1, 1, "x"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    ck_assert_ptr_nonnull(strstr(mlops_error_message(), "key is truncated"));
    ck_assert_uint_eq(r.pos, 2); /* a failed read does not move the cursor */
}
END_TEST

static Suite *codec_suite(void)
{
    Suite *s = suite_create("codec-edges");
    TCase *tc = tcase_create("codec-edges");
    tcase_add_test(tc, test_varint_limits);
    tcase_add_test(tc, test_writer_limits);
    tcase_add_test(tc, test_writer_nomem);
    tcase_add_test(tc, test_reader_headers);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(codec_suite());
}

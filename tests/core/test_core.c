/* SPDX-License-Identifier: MIT */
/* Core: status codes, messages, the env (allocator and clock), hashing,
 * zstd and the record codec. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "core/core.h"
#include "testutil.h"

START_TEST(test_version)
{
    ck_assert_uint_eq(mlops_version(), MLOPS_VERSION_NUMBER);
    ck_assert_str_eq(mlops_version_string(), MLOPS_VERSION_STRING);
}
END_TEST

START_TEST(test_status_strings)
{
    /* every code has its own name and text; unknown codes are named as such */
    for (mlops_status st = MLOPS_OK; st > MLOPS_E__LAST; st--) {
        ck_assert_str_ne(mlops_status_str(st), "unknown status");
        ck_assert_str_ne(mlops_status_name(st), "MLOPS_E_UNKNOWN");
        for (mlops_status o = MLOPS_OK; o > st; o--)
            ck_assert_str_ne(mlops_status_str(st), mlops_status_str(o));
    }
    ck_assert_str_eq(mlops_status_name(MLOPS_E_INVALID), "MLOPS_E_INVALID");
    ck_assert_str_eq(mlops_status_name(MLOPS_E_CONFLICT), "MLOPS_E_CONFLICT");
    ck_assert_str_eq(mlops_status_str(MLOPS_E__LAST), "unknown status");
    ck_assert_str_eq(mlops_status_str(1), "unknown status");
    ck_assert_str_eq(mlops_status_str(-1000), "unknown status");
    /* the numbers are part of the ABI */
    ck_assert_int_eq(MLOPS_E_INVALID, -1);
    ck_assert_int_eq(MLOPS_E_NOTFOUND, -2);
    ck_assert_int_eq(MLOPS_E_EXISTS, -3);
    ck_assert_int_eq(MLOPS_E_CONFLICT, -4);
    ck_assert_int_eq(MLOPS_E_CORRUPT, -5);
    ck_assert_int_eq(MLOPS_E_IO, -6);
    ck_assert_int_eq(MLOPS_E_NOMEM, -7);
    ck_assert_int_eq(MLOPS_E_VERSION, -8);
    ck_assert_int_eq(MLOPS_E_CLOSED, -17);
}
END_TEST

START_TEST(test_error_message)
{
    ck_assert_int_eq(mlops_error_set(MLOPS_E_CONFLICT, "param 'lr' already logged"),
                     MLOPS_E_CONFLICT);
    ck_assert_str_eq(mlops_error_message(), "param 'lr' already logged");
    ck_assert_int_eq(mlops_error_status(), MLOPS_E_CONFLICT);
    mlops_error_set(MLOPS_E_IO, NULL);
    ck_assert_str_eq(mlops_error_message(), mlops_status_str(MLOPS_E_IO));
    /* long messages are truncated, never overflowed */
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    mlops_error_set(MLOPS_E_INVALID, big);
    ck_assert_uint_eq(strlen(mlops_error_message()), 511);
    /* success leaves the message alone */
    mlops_error_set(MLOPS_E_NOTFOUND, "kept");
    mlops_hash128 h;
    tu_assert_ok(mlops_hash128_of(&h, "a", 1));
    ck_assert_str_eq(mlops_error_message(), "kept");
}
END_TEST

START_TEST(test_options_abi)
{
    /* pin sizes and last-field offsets per version; a forgotten version
     * bump fails here */
    ck_assert_uint_eq(MLOPS_ENV_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_env_options), 80);
    ck_assert_uint_eq(offsetof(mlops_env_options, log_level), 72);
    ck_assert_uint_eq(MLOPS_STORE_OPTIONS_VERSION, 1);
    ck_assert_uint_eq(sizeof(mlops_store_options), 24);
    ck_assert_uint_eq(offsetof(mlops_store_options, lock_timeout_ms), 16);
    ck_assert_uint_eq(MLOPS_STORE_INFO_VERSION, 1);
    ck_assert_uint_eq(offsetof(mlops_store_info_data, backend), 48);
    ck_assert_uint_eq(sizeof(mlops_bytes), 24);
    mlops_env_options o;
    tu_assert_ok(mlops_env_options_init(&o, 1));
    ck_assert_uint_eq(o.version, 1);
    tu_assert_st(mlops_env_options_init(&o, 2), MLOPS_E_VERSION);
    tu_assert_st(mlops_env_options_init(&o, 0), MLOPS_E_VERSION);
    tu_assert_st(mlops_env_options_init(NULL, 1), MLOPS_E_INVALID);
    mlops_env_options init = MLOPS_ENV_OPTIONS_INIT;
    ck_assert_uint_eq(init.version, MLOPS_ENV_OPTIONS_VERSION);
}
END_TEST

START_TEST(test_env_create)
{
    mlops_env *env = NULL;
    tu_assert_ok(mlops_env_create(&env, NULL));
    ck_assert_ptr_nonnull(env);
    mlops_env_free(env);
    mlops_env_free(NULL);

    mlops_env_options o = MLOPS_ENV_OPTIONS_INIT;
    o.version = 99;
    tu_assert_st(mlops_env_create(&env, &o), MLOPS_E_VERSION);
    ck_assert_ptr_null(env);
    mlops_env_options_init(&o, 1);
    o.malloc_fn = (mlops_malloc_fn)1; /* partial allocator */
    tu_assert_st(mlops_env_create(&env, &o), MLOPS_E_INVALID);
    ck_assert(strstr(mlops_error_message(), "together") != NULL);
    tu_assert_st(mlops_env_create(NULL, NULL), MLOPS_E_INVALID);
}
END_TEST

START_TEST(test_clock_injection)
{
    tu_clock clk = {1700000000123456789LL};
    mlops_env *env = tu_env_new(NULL, &clk);
    ck_assert_int_eq(mlops_env_now_ns(env), 1700000000123456789LL);
    ck_assert_int_eq(mlops__now_ms(env), 1700000000123LL);
    clk.now_ns = -1; /* just before the epoch rounds down */
    ck_assert_int_eq(mlops__now_ms(env), -1);
    clk.now_ns = 5;
    ck_assert_int_eq(mlops_env_now_ns(env), 5);
    mlops_env_free(env);
    /* the system clock is after 2020 */
    ck_assert_int_gt(mlops_env_now_ns(NULL), 1577836800LL * 1000000000LL);
}
END_TEST

START_TEST(test_allocator_hooks)
{
    tu_alloc a = {0};
    mlops_env *env = tu_env_new(&a, NULL);
    mlops_bytes b;
    tu_assert_ok(mlops_bytes_set(&b, env, "hello", 5));
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(a.live, 2); /* env + buffer */
    ck_assert_mem_eq(b.data, "hello", 6);
    mlops_bytes_free(&b);
    ck_assert_int_eq(a.live, 1);
    /* a failing allocator gives NOMEM, never a crash */
    a.fail_at = a.calls + 1;
    tu_assert_st(mlops_bytes_set(&b, env, "x", 1), MLOPS_E_NOMEM);
    ck_assert_ptr_null(b.data);
    ck_assert_str_eq(mlops_error_message(), "out of memory");
    a.fail_at = 0;
    mlops_env_free(env);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_allocator_sweep_zstd)
{
    /* every allocation of a compress/decompress round trip fails in turn */
    const char *text = "the quick brown fox jumps over the lazy dog, again and again";
    for (long k = 1;; k++) {
        tu_alloc a = {0};
        mlops_env *env = tu_env_new(&a, NULL);
        a.fail_at = k;
        mlops_bytes c = {0}, d = {0};
        mlops_status st = mlops__zstd_compress(&c, env, text, strlen(text), 1);
        if (st == MLOPS_OK)
            st = mlops__zstd_decompress(&d, env, c.data, c.len, 0);
        bool failed = a.failures > 0;
        if (st == MLOPS_OK) {
            ck_assert_uint_eq(d.len, strlen(text));
            ck_assert_mem_eq(d.data, text, d.len);
        } else {
            ck_assert_int_eq(st, MLOPS_E_NOMEM);
        }
        mlops_bytes_free(&c);
        mlops_bytes_free(&d);
        mlops_env_free(env);
        ck_assert_int_eq(a.live, 0);
        if (!failed)
            break;
        ck_assert_int_lt(k, 1000);
    }
}
END_TEST

START_TEST(test_hash)
{
    mlops_hash128 h;
    tu_assert_ok(mlops_hash128_of(&h, "", 0));
    char hex[33];
    tu_assert_ok(mlops_hash128_to_hex(hex, &h));
    /* XXH3-128 of the empty input, canonical */
    ck_assert_str_eq(hex, "99aa06d3014798d86001c324468d497f");
    mlops_hash128 back;
    tu_assert_ok(mlops_hash128_from_hex(&back, hex));
    ck_assert_mem_eq(back.bytes, h.bytes, 16);
    tu_assert_st(mlops_hash128_from_hex(&back, "99AA06D3014798D86001C324468D497F"),
                 MLOPS_E_INVALID);
    tu_assert_st(mlops_hash128_from_hex(&back, "abc"), MLOPS_E_INVALID);
    tu_assert_st(mlops_hash128_from_hex(&back, "99aa06d3014798d86001c324468d497f0"),
                 MLOPS_E_INVALID);
    ck_assert_uint_eq(mlops_hash64("", 0, 0), 0x2D06800538D394C2ULL);
    ck_assert_uint_ne(mlops_hash64("a", 1, 0), mlops_hash64("a", 1, 1));
}
END_TEST

START_TEST(test_zstd_bad_frames)
{
    mlops_bytes c = {0}, d = {0};
    char data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)(i % 251);
    tu_assert_ok(mlops__zstd_compress(&c, NULL, data, sizeof(data), 3));
    /* truncated frame */
    tu_assert_st(mlops__zstd_decompress(&d, NULL, c.data, c.len - 3, 0), MLOPS_E_CORRUPT);
    /* output limit */
    tu_assert_st(mlops__zstd_decompress(&d, NULL, c.data, c.len, 100), MLOPS_E_TOOBIG);
    /* garbage */
    tu_assert_st(mlops__zstd_decompress(&d, NULL, "garbage!", 8, 0), MLOPS_E_CORRUPT);
    tu_assert_st(mlops__zstd_decompress(&d, NULL, "", 0, 0), MLOPS_E_CORRUPT);
    /* a flipped byte in the payload is caught by the frame checksum */
    c.data[c.len / 2] ^= 0x40;
    mlops_status st = mlops__zstd_decompress(&d, NULL, c.data, c.len, 0);
    ck_assert_int_eq(st, MLOPS_E_CORRUPT);
    mlops_bytes_free(&c);
    mlops_bytes_free(&d);
}
END_TEST

START_TEST(test_codec_roundtrip)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, NULL, 1, 7);
    mlops__rec_put_u64(&w, 1, UINT64_MAX);
    mlops__rec_put_i64(&w, 2, INT64_MIN);
    mlops__rec_put_i64(&w, 3, -1);
    double vals[] = {NAN, -0.0, INFINITY, -INFINITY, 4.9406564584124654e-324, 0.1};
    for (int i = 0; i < 6; i++)
        mlops__rec_put_f64(&w, 4, vals[i]);
    mlops__rec_put_str(&w, 5, "hello");
    mlops__rec_put_bytes(&w, 6, "a\0b", 3);
    mlops__rec_put_u64(&w, 999, 42); /* a field an older reader does not know */
    tu_assert_ok(mlops__rec_writer_finish(&w));

    mlops__rec_reader r;
    tu_assert_ok(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 7, "test"));
    mlops__rec_field f;
    int n_f64 = 0, seen = 0;
    mlops_status st;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        seen++;
        switch (f.tag) {
        case 1:
            ck_assert_uint_eq(f.u, UINT64_MAX);
            break;
        case 2:
            ck_assert(mlops__rec_as_i64(&f) == INT64_MIN);
            break;
        case 3:
            ck_assert_int_eq(mlops__rec_as_i64(&f), -1);
            break;
        case 4: {
            double v = mlops__rec_as_f64(&f);
            ck_assert_mem_eq(&v, &vals[n_f64], 8); /* bit-exact */
            n_f64++;
            break;
        }
        case 5:
            ck_assert_uint_eq(f.n, 5);
            ck_assert_mem_eq(f.p, "hello", 5);
            break;
        case 6:
            ck_assert_uint_eq(f.n, 3);
            ck_assert_mem_eq(f.p, "a\0b", 3);
            break;
        default:
            ck_assert_uint_eq(f.tag, 999); /* unknown fields are visible and skippable */
        }
    }
    ck_assert_int_eq(st, MLOPS_E_NOTFOUND);
    ck_assert_int_eq(n_f64, 6);
    ck_assert_int_eq(seen, 12);

    /* every truncation is refused or parses a prefix of the fields; never over-reads */
    for (size_t cut = 0; cut < w.buf.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, w.buf.data, cut);
        mlops__rec_reader r2;
        st = mlops__rec_reader_init(&r2, copy, cut, 1, 7, "test");
        if (cut < 2) {
            ck_assert_int_eq(st, MLOPS_E_CORRUPT);
        } else {
            ck_assert_int_eq(st, MLOPS_OK);
            int fields = 0;
            while ((st = mlops__rec_next(&r2, &f)) == MLOPS_OK)
                fields++;
            ck_assert(st == MLOPS_E_NOTFOUND || st == MLOPS_E_CORRUPT);
            ck_assert_int_le(fields, 12);
        }
        free(copy);
    }
    /* newer version, wrong type, version 0 */
    w.buf.data[0] = 2;
    tu_assert_st(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 7, "test"),
                 MLOPS_E_VERSION);
    ck_assert(strstr(mlops_error_message(), "newer") != NULL);
    w.buf.data[0] = 0;
    tu_assert_st(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 7, "test"),
                 MLOPS_E_CORRUPT);
    w.buf.data[0] = 1;
    tu_assert_st(mlops__rec_reader_init(&r, w.buf.data, w.buf.len, 1, 8, "test"),
                 MLOPS_E_CORRUPT);
    mlops__rec_writer_free(&w);
}
END_TEST

START_TEST(test_codec_hostile_lengths)
{
    /* a bytes field claiming 2^62 bytes must not be trusted */
    uint8_t rec[] = {1, 7, (uint8_t)(5 << 3 | 2), 0xff, 0xff, 0xff, 0xff, 0xff,
                     0xff, 0xff, 0xff, 0x3f, 'x'};
    mlops__rec_reader r;
    tu_assert_ok(mlops__rec_reader_init(&r, rec, sizeof(rec), 1, 7, "test"));
    mlops__rec_field f;
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    /* an over-long varint */
    uint8_t rec2[] = {1, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    tu_assert_ok(mlops__rec_reader_init(&r, rec2, sizeof(rec2), 1, 7, "test"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    /* tag 0 and unknown wire types */
    uint8_t rec3[] = {1, 7, 0, 0};
    tu_assert_ok(mlops__rec_reader_init(&r, rec3, sizeof(rec3), 1, 7, "test"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    uint8_t rec4[] = {1, 7, (1 << 3) | 6, 0};
    tu_assert_ok(mlops__rec_reader_init(&r, rec4, sizeof(rec4), 1, 7, "test"));
    tu_assert_st(mlops__rec_next(&r, &f), MLOPS_E_CORRUPT);
    /* oversized records are refused before anything is read */
    tu_assert_st(mlops__rec_reader_init(&r, rec, (size_t)MLOPS__REC_MAX_SIZE + 1, 1, 7, "test"),
                 MLOPS_E_TOOBIG);
}
END_TEST

START_TEST(test_utf8)
{
    ck_assert(mlops__utf8_valid("abc", 3));
    ck_assert(mlops__utf8_valid("\xC3\xA9", 2));
    ck_assert(mlops__utf8_valid("\xF0\x9F\x98\x80", 4));
    ck_assert(!mlops__utf8_valid("\xff", 1));
    ck_assert(!mlops__utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
    ck_assert(!mlops__utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
    ck_assert(!mlops__utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    ck_assert(!mlops__utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    ck_assert(!mlops__utf8_valid("\xC3", 1));             /* truncated */
}
END_TEST

static void *thread_error(void *arg)
{
    (void)arg;
    mlops_error_set(MLOPS_E_IO, "from the other thread");
    return (void *)(intptr_t)(strcmp(mlops_error_message(), "from the other thread") == 0);
}

START_TEST(test_error_is_per_thread)
{
    /* A7: the message is thread-local */
    mlops_error_set(MLOPS_E_NOTFOUND, "from the main thread");
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_error, NULL), 0);
    void *ok = NULL;
    pthread_join(t, &ok);
    ck_assert(ok != NULL);
    ck_assert_str_eq(mlops_error_message(), "from the main thread");
    ck_assert_int_eq(mlops_error_status(), MLOPS_E_NOTFOUND);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_error_message);
    tcase_add_test(tc, test_error_is_per_thread);
    tcase_add_test(tc, test_options_abi);
    tcase_add_test(tc, test_env_create);
    tcase_add_test(tc, test_clock_injection);
    tcase_add_test(tc, test_allocator_hooks);
    tcase_add_test(tc, test_allocator_sweep_zstd);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_zstd_bad_frames);
    tcase_add_test(tc, test_codec_roundtrip);
    tcase_add_test(tc, test_codec_hostile_lengths);
    tcase_add_test(tc, test_utf8);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(core_suite());
}

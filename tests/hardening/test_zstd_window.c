/* SPDX-License-Identifier: MIT */
/* The zstd window cap (RELIABILITY M5, docs/file-format.md "zstd window"):
 * a frame header may ask for at most a 2^21-byte window, and everything the
 * library writes stays readable under that cap: multi-MiB inputs compressed
 * in one shot at level 3 (feature-store segments), streamed at level 1
 * (blobs), and a multi-MiB blob through the file backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "testutil.h"

/* Compressible but not trivially: a window-sized run is needed to find
 * the repeats, so the encoder really uses its largest window. */
static uint8_t *make_data(size_t n)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < n; i++) {
        if (i >= 1500000 && (i / 4096) % 3 == 0) {
            p[i] = p[i - 1500000]; /* a repeat 1.5 MB back */
            continue;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x % 7 + 'a');
    }
    return p;
}

START_TEST(test_level3_one_shot_large)
{
    size_t n = 5u << 20;
    uint8_t *p = make_data(n);
    mlops_bytes c, d;
    tu_assert_ok(mlops__zstd_compress(&c, NULL, p, n, 3));
    tu_assert_ok(mlops__zstd_decompress(&d, NULL, c.data, c.len, 0));
    ck_assert_uint_eq(d.len, n);
    ck_assert(memcmp(d.data, p, n) == 0);
    mlops_bytes_free(&c);
    mlops_bytes_free(&d);
    free(p);
}
END_TEST

START_TEST(test_level1_stream_large)
{
    size_t n = 3u << 20;
    uint8_t *p = make_data(n);
    mlops__zstd_cstream *z = NULL;
    tu_assert_ok(mlops__zstd_cstream_new(&z, NULL, 1));
    mlops__buf out;
    mlops__buf_init(&out, NULL);
    for (size_t off = 0; off < n; off += 65536)
        tu_assert_ok(
            mlops__zstd_cstream_feed(z, p + off, n - off < 65536 ? n - off : 65536, 0, &out));
    tu_assert_ok(mlops__zstd_cstream_feed(z, NULL, 0, 1, &out));
    mlops__zstd_cstream_free(z);
    mlops_bytes d;
    tu_assert_ok(mlops__zstd_decompress(&d, NULL, out.data, out.len, 0));
    ck_assert_uint_eq(d.len, n);
    ck_assert(memcmp(d.data, p, n) == 0);
    mlops_bytes_free(&d);
    mlops__buf_free(&out);
    free(p);
}
END_TEST

START_TEST(test_file_blob_large)
{
    char *dir = tu_tempdir();
    char uri[4200];
    snprintf(uri, sizeof(uri), "file:%s/s", dir);
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.sync = MLOPS_SYNC_OFF;
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, uri, &o));
    size_t n = 3u << 20;
    uint8_t *p = make_data(n);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, p, n));
    mlops_bytes d;
    tu_assert_ok(mlops_store_blob_get(&d, s, &id, 0));
    ck_assert_uint_eq(d.len, n);
    ck_assert(memcmp(d.data, p, n) == 0);
    mlops_bytes_free(&d);
    mlops_store_close(s);
    free(p);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* Frame headers alone: magic, descriptor 0x00 (no size, no checksum), a
 * window descriptor, then a tiny raw last block "x". */
static mlops_status frame_with_window(uint8_t wd)
{
    const uint8_t f[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, wd, 0x09, 0x00, 0x00, 'x'};
    mlops_bytes d;
    mlops_status st = mlops__zstd_decompress(&d, NULL, f, sizeof(f), 0);
    mlops_bytes_free(&d);
    return st;
}

START_TEST(test_window_cap)
{
    /* window descriptor: exponent << 3 | mantissa; log = 10 + exponent */
    tu_assert_ok(frame_with_window(11 << 3));                     /* 2^21: accepted */
    tu_assert_st(frame_with_window(11 << 3 | 1), MLOPS_E_TOOBIG); /* 2^21 + 2^18 */
    tu_assert_st(frame_with_window(12 << 3), MLOPS_E_TOOBIG);     /* 2^22 */
    tu_assert_st(frame_with_window(21 << 3), MLOPS_E_TOOBIG);     /* 2^31 */
    ck_assert(strstr(mlops_error_message(), "2^21") != NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zstd_window");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_level3_one_shot_large);
    tcase_add_test(tc, test_level1_stream_large);
    tcase_add_test(tc, test_file_blob_large);
    tcase_add_test(tc, test_window_cap);
    suite_add_tcase(s, tc);
    return tu_run(s);
}

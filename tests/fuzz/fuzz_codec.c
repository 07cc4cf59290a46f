/* SPDX-License-Identifier: MIT */
/* Fuzz the record codec (F6, F13, M3): decode arbitrary bytes as a record,
 * re-encode the fields that decoded, decode that again and require the same
 * fields; varints round-trip. Never an over-read, never a huge allocation. */
#include "codec/codec.h"
#include "fuzz_common.h"

#define MAX_FIELDS 4096

typedef struct field_copy {
    uint32_t tag;
    uint8_t wire;
    uint64_t u;
    const uint8_t *p;
    size_t n;
} field_copy;

static field_copy fields[MAX_FIELDS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_alloc a = {0};
    mlops_env *env = fz_env_new(&a);
    uint8_t want_type = size > 1 ? data[1] : 0;

    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, data, size, 200, want_type, "fuzz");
    if (size < 2 || data[0] == 0)
        FUZZ_CHECK(st == MLOPS_E_CORRUPT, "short or version-0 header gave %d", st);
    else if (data[0] > 200)
        FUZZ_CHECK(st == MLOPS_E_VERSION, "newer version gave %d", st);
    size_t nf = 0;
    bool complete = false;
    if (st == MLOPS_OK) {
        mlops__rec_field f;
        for (;;) {
            st = mlops__rec_next(&r, &f);
            if (st == MLOPS_E_NOTFOUND) {
                complete = true;
                break;
            }
            if (st != MLOPS_OK) {
                FUZZ_CHECK(st == MLOPS_E_CORRUPT, "decode error %d", st);
                break;
            }
            FUZZ_CHECK(f.tag >= 1 && f.tag <= MLOPS__REC_MAX_TAG, "tag %u", f.tag);
            FUZZ_CHECK(f.wire <= 2, "wire %u", f.wire);
            if (f.wire == MLOPS__REC_WIRE_BYTES) {
                FUZZ_CHECK(f.p >= data && f.n <= size && f.p + f.n <= data + size,
                           "field bytes outside the record");
                char *s = mlops__rec_as_str(env, &f);
                FUZZ_CHECK(s != NULL, "strndup failed");
                FUZZ_CHECK(strlen(s) <= f.n, "string longer than field");
                mlops__free(env, s);
            }
            (void)mlops__rec_as_i64(&f);
            (void)mlops__rec_as_f64(&f);
            if (nf < MAX_FIELDS)
                fields[nf++] = (field_copy){f.tag, f.wire, f.u, f.p, f.n};
        }
    }

    if (complete && nf < MAX_FIELDS) {
        /* Re-encode canonically: the result decodes to the same fields and
         * is never longer than the input (canonical varints are minimal). */
        mlops__rec_writer w;
        mlops__rec_writer_init(&w, env, data[0], data[1]);
        for (size_t i = 0; i < nf; i++) {
            const field_copy *c = &fields[i];
            if (c->wire == MLOPS__REC_WIRE_VARINT)
                mlops__rec_put_u64(&w, c->tag, c->u);
            else if (c->wire == MLOPS__REC_WIRE_FIXED64) {
                double d;
                memcpy(&d, &c->u, 8);
                mlops__rec_put_f64(&w, c->tag, d);
            } else
                mlops__rec_put_bytes(&w, c->tag, c->p, c->n);
        }
        st = mlops__rec_writer_finish(&w);
        FUZZ_CHECK(st == MLOPS_OK, "re-encode failed %d", st);
        FUZZ_CHECK(w.buf.len <= size, "re-encoded %zu > original %zu", w.buf.len, size);
        mlops__rec_reader r2;
        st = mlops__rec_reader_init(&r2, w.buf.data, w.buf.len, 200, data[1], "again");
        FUZZ_CHECK(st == MLOPS_OK, "re-encoded header refused %d", st);
        size_t i = 0;
        mlops__rec_field f;
        while ((st = mlops__rec_next(&r2, &f)) == MLOPS_OK) {
            FUZZ_CHECK(i < nf, "extra field");
            const field_copy *c = &fields[i++];
            FUZZ_CHECK(f.tag == c->tag && f.wire == c->wire, "field %zu differs", i);
            if (f.wire == MLOPS__REC_WIRE_BYTES)
                FUZZ_CHECK(f.n == c->n && (f.n == 0 || memcmp(f.p, c->p, f.n) == 0),
                           "bytes field %zu differs", i);
            else
                FUZZ_CHECK(f.u == c->u, "value of field %zu differs", i);
        }
        FUZZ_CHECK(st == MLOPS_E_NOTFOUND && i == nf, "re-decode ended with %d at %zu/%zu", st,
                   i, nf);
        mlops__rec_writer_free(&w);
    }

    /* varints: every 8-byte window round-trips, and decoding never reads
     * past the given length. */
    for (size_t off = 0; off + 8 <= size && off < 256; off += 8) {
        uint64_t v;
        memcpy(&v, data + off, 8);
        uint8_t tmp[10];
        size_t n = mlops__varint_put(tmp, v);
        FUZZ_CHECK(n >= 1 && n <= 10, "varint length %zu", n);
        uint64_t back = 0;
        FUZZ_CHECK(mlops__varint_get(tmp, n, &back) == n && back == v, "varint round trip");
        FUZZ_CHECK(mlops__varint_get(tmp, n - 1, &back) == 0, "truncated varint accepted");
    }
    for (size_t off = 0; off < size && off < 64; off++) {
        uint64_t v;
        size_t n = mlops__varint_get(data + off, size - off, &v);
        FUZZ_CHECK(n <= size - off && n <= 10, "varint read %zu of %zu", n, size - off);
    }

    mlops_env_free(env);
    FUZZ_CHECK(atomic_load(&a.live) == 0, "%ld blocks leaked", atomic_load(&a.live));
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The record codec: what every module stores is a versioned record of
 * tagged fields (a protobuf-like tag/length/value encoding).
 *
 *   byte 0      format version of this record kind (1..255; 0 is invalid)
 *   byte 1      record type (a module's own number, checked on read)
 *   then fields: varint key = tag << 3 | wire type, then the value:
 *     wire 0  varint (uint64; signed values zigzag-encoded)
 *     wire 1  8 bytes little-endian (double bits, bit-exact, NaN payloads kept)
 *     wire 2  varint length, then that many bytes (strings, nested records)
 *
 * Readers skip tags they do not know (so newer writers can add fields) and
 * refuse a format version above the one they understand (MLOPS_E_VERSION).
 * Every length is checked against the bytes that remain before use, so a
 * truncated or hostile record gives MLOPS_E_CORRUPT, never an over-read or
 * a huge allocation.
 */
#ifndef MLOPS_CODEC_H
#define MLOPS_CODEC_H

#include "core/core.h"

#define MLOPS__REC_WIRE_VARINT 0
#define MLOPS__REC_WIRE_FIXED64 1
#define MLOPS__REC_WIRE_BYTES 2

/* Records larger than this are refused on read and write. */
#define MLOPS__REC_MAX_SIZE (64u * 1024u * 1024u)
/* Tags are 1 .. 2^28-1. */
#define MLOPS__REC_MAX_TAG ((1u << 28) - 1)

typedef struct mlops__rec_writer {
    mlops__buf buf;
    mlops_status st; /* first error; later puts are no-ops */
} mlops__rec_writer;

void mlops__rec_writer_init(mlops__rec_writer *w, const mlops_env *env, uint8_t version,
                            uint8_t type);
void mlops__rec_put_u64(mlops__rec_writer *w, uint32_t tag, uint64_t v);
void mlops__rec_put_i64(mlops__rec_writer *w, uint32_t tag, int64_t v);
void mlops__rec_put_f64(mlops__rec_writer *w, uint32_t tag, double v);
void mlops__rec_put_bytes(mlops__rec_writer *w, uint32_t tag, const void *p, size_t n);
void mlops__rec_put_str(mlops__rec_writer *w, uint32_t tag, const char *s); /* NULL: skipped */
/* Returns the first error, or MLOPS_OK with the record in w->buf (caller frees it). */
mlops_status mlops__rec_writer_finish(mlops__rec_writer *w);
void mlops__rec_writer_free(mlops__rec_writer *w);

typedef struct mlops__rec_field {
    uint32_t tag;
    uint8_t wire;
    uint64_t u;       /* varint value, or fixed64 bits */
    const uint8_t *p; /* bytes (wire 2); borrowed from the record */
    size_t n;
} mlops__rec_field;

typedef struct mlops__rec_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    uint8_t version;
    uint8_t type;
} mlops__rec_reader;

/* Check the header: MLOPS_E_CORRUPT for a short record, version 0 or a type
 * other than want_type; MLOPS_E_VERSION above max_version; MLOPS_E_TOOBIG
 * above MLOPS__REC_MAX_SIZE. what names the record in messages. */
mlops_status mlops__rec_reader_init(mlops__rec_reader *r, const void *data, size_t len,
                                    uint8_t max_version, uint8_t want_type, const char *what);
/* MLOPS_OK with a field, MLOPS_E_NOTFOUND at the end, MLOPS_E_CORRUPT. */
mlops_status mlops__rec_next(mlops__rec_reader *r, mlops__rec_field *f);

int64_t mlops__rec_as_i64(const mlops__rec_field *f);
double mlops__rec_as_f64(const mlops__rec_field *f);
/* Copy a bytes field as a NUL-terminated string (env allocator); NULL on NOMEM. */
char *mlops__rec_as_str(const mlops_env *env, const mlops__rec_field *f);

/* Varints, exposed for keys and compact encodings. Returns bytes written (<= 10). */
size_t mlops__varint_put(uint8_t *out, uint64_t v);
/* Returns bytes read, or 0 if truncated or longer than 10 bytes. */
size_t mlops__varint_get(const uint8_t *p, size_t len, uint64_t *v);

#endif

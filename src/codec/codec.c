/* SPDX-License-Identifier: MIT */
#include "codec/codec.h"

size_t mlops__varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t mlops__varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t r = 0;
    /* at most 10 bytes: the 10th either overflows or has no continuation bit */
    for (size_t i = 0; i < len; i++) {
        uint64_t b = p[i];
        if (i == 9 && b > 1)
            return 0; /* would overflow 64 bits */
        r |= (b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

void mlops__rec_writer_init(mlops__rec_writer *w, const mlops_env *env, uint8_t version,
                            uint8_t type)
{
    mlops__buf_init(&w->buf, env);
    w->st = MLOPS_OK;
    uint8_t hdr[2] = {version, type};
    w->st = mlops__buf_append(&w->buf, hdr, 2);
}

static void put_key(mlops__rec_writer *w, uint32_t tag, uint8_t wire)
{
    if (w->st != MLOPS_OK)
        return;
    if (tag == 0 || tag > MLOPS__REC_MAX_TAG) {
        w->st = mlops__error(MLOPS_E_INTERNAL, "record tag %u out of range", tag);
        return;
    }
    uint8_t tmp[10];
    size_t n = mlops__varint_put(tmp, ((uint64_t)tag << 3) | wire);
    w->st = mlops__buf_append(&w->buf, tmp, n);
}

void mlops__rec_put_u64(mlops__rec_writer *w, uint32_t tag, uint64_t v)
{
    put_key(w, tag, MLOPS__REC_WIRE_VARINT);
    if (w->st != MLOPS_OK)
        return;
    uint8_t tmp[10];
    size_t n = mlops__varint_put(tmp, v);
    w->st = mlops__buf_append(&w->buf, tmp, n);
}

void mlops__rec_put_i64(mlops__rec_writer *w, uint32_t tag, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    mlops__rec_put_u64(w, tag, z);
}

void mlops__rec_put_f64(mlops__rec_writer *w, uint32_t tag, double v)
{
    put_key(w, tag, MLOPS__REC_WIRE_FIXED64);
    if (w->st != MLOPS_OK)
        return;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t tmp[8];
    mlops__put_u64le(tmp, bits);
    w->st = mlops__buf_append(&w->buf, tmp, 8);
}

void mlops__rec_put_bytes(mlops__rec_writer *w, uint32_t tag, const void *p, size_t n)
{
    if (w->st == MLOPS_OK && n > MLOPS__REC_MAX_SIZE) {
        w->st = mlops__error(MLOPS_E_TOOBIG, "field of %zu bytes exceeds the record limit", n);
        return;
    }
    put_key(w, tag, MLOPS__REC_WIRE_BYTES);
    if (w->st != MLOPS_OK)
        return;
    uint8_t tmp[10];
    size_t k = mlops__varint_put(tmp, n);
    w->st = mlops__buf_append(&w->buf, tmp, k);
    if (w->st == MLOPS_OK && n)
        w->st = mlops__buf_append(&w->buf, p, n);
}

void mlops__rec_put_str(mlops__rec_writer *w, uint32_t tag, const char *s)
{
    if (s != NULL)
        mlops__rec_put_bytes(w, tag, s, strlen(s));
}

mlops_status mlops__rec_writer_finish(mlops__rec_writer *w)
{
    if (w->st == MLOPS_OK && w->buf.len > MLOPS__REC_MAX_SIZE)
        w->st = mlops__error(MLOPS_E_TOOBIG, "record of %zu bytes exceeds the limit of %u",
                             w->buf.len, MLOPS__REC_MAX_SIZE);
    return w->st;
}

void mlops__rec_writer_free(mlops__rec_writer *w)
{
    mlops__buf_free(&w->buf);
}

mlops_status mlops__rec_reader_init(mlops__rec_reader *r, const void *data, size_t len,
                                    uint8_t max_version, uint8_t want_type, const char *what)
{
    memset(r, 0, sizeof(*r));
    if (data == NULL || len < 2)
        return mlops__error(MLOPS_E_CORRUPT, "%s record is truncated (%zu bytes)", what, len);
    if (len > MLOPS__REC_MAX_SIZE)
        return mlops__error(MLOPS_E_TOOBIG, "%s record of %zu bytes exceeds the limit", what,
                            len);
    const uint8_t *p = data;
    if (p[0] == 0)
        return mlops__error(MLOPS_E_CORRUPT, "%s record has format version 0", what);
    if (p[0] > max_version)
        return mlops__error(MLOPS_E_VERSION,
                            "%s record has format version %u; this library reads up to %u "
                            "(written by a newer libmlops?)",
                            what, p[0], max_version);
    if (p[1] != want_type)
        return mlops__error(MLOPS_E_CORRUPT, "%s record has type %u, expected %u", what, p[1],
                            want_type);
    r->p = p;
    r->len = len;
    r->pos = 2;
    r->version = p[0];
    r->type = p[1];
    return MLOPS_OK;
}

mlops_status mlops__rec_next(mlops__rec_reader *r, mlops__rec_field *f)
{
    if (r->pos >= r->len)
        return MLOPS_E_NOTFOUND;
    uint64_t key;
    size_t k = mlops__varint_get(r->p + r->pos, r->len - r->pos, &key);
    if (k == 0)
        return mlops__error(MLOPS_E_CORRUPT, "record field key is truncated at byte %zu", r->pos);
    uint64_t tag = key >> 3;
    if (tag == 0 || tag > MLOPS__REC_MAX_TAG)
        return mlops__error(MLOPS_E_CORRUPT, "record field tag %llu at byte %zu is invalid",
                            (unsigned long long)tag, r->pos);
    size_t pos = r->pos + k;
    memset(f, 0, sizeof(*f));
    f->tag = (uint32_t)tag;
    f->wire = (uint8_t)(key & 7);
    switch (f->wire) {
    case MLOPS__REC_WIRE_VARINT:
        k = mlops__varint_get(r->p + pos, r->len - pos, &f->u);
        if (k == 0)
            return mlops__error(MLOPS_E_CORRUPT, "record varint is truncated at byte %zu", pos);
        pos += k;
        break;
    case MLOPS__REC_WIRE_FIXED64:
        if (r->len - pos < 8)
            return mlops__error(MLOPS_E_CORRUPT, "record fixed64 is truncated at byte %zu", pos);
        f->u = mlops__get_u64le(r->p + pos);
        pos += 8;
        break;
    case MLOPS__REC_WIRE_BYTES: {
        uint64_t n;
        k = mlops__varint_get(r->p + pos, r->len - pos, &n);
        if (k == 0)
            return mlops__error(MLOPS_E_CORRUPT, "record length is truncated at byte %zu", pos);
        pos += k;
        if (n > r->len - pos)
            return mlops__error(MLOPS_E_CORRUPT,
                                "record field at byte %zu claims %llu bytes but %zu remain", pos,
                                (unsigned long long)n, r->len - pos);
        f->p = r->p + pos;
        f->n = (size_t)n;
        pos += (size_t)n;
        break;
    }
    default:
        return mlops__error(MLOPS_E_CORRUPT, "record field at byte %zu has unknown wire type %u",
                            r->pos, f->wire);
    }
    r->pos = pos;
    return MLOPS_OK;
}

int64_t mlops__rec_as_i64(const mlops__rec_field *f)
{
    return (int64_t)(f->u >> 1) ^ -(int64_t)(f->u & 1);
}

double mlops__rec_as_f64(const mlops__rec_field *f)
{
    double d;
    memcpy(&d, &f->u, 8);
    return d;
}

char *mlops__rec_as_str(const mlops_env *env, const mlops__rec_field *f)
{
    return mlops__strndup(env, (const char *)f->p, f->n);
}

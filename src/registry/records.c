/* SPDX-License-Identifier: MIT */
/* Registry records: encoding, decoding and keys. */
#include <string.h>

#include "registry/registry_internal.h"

/* ---- keys ---- */

size_t mlops__registry_key_head(uint8_t *out, const char *name)
{
    size_t n = strlen(name);
    memcpy(out, "r/m/", 4);
    memcpy(out + 4, name, n);
    return 4 + n;
}

size_t mlops__registry_key_prefix(uint8_t *out, char kind, const char *name)
{
    size_t n = strlen(name);
    out[0] = 'r';
    out[1] = '/';
    out[2] = (uint8_t)kind;
    out[3] = '/';
    size_t k = 4 + mlops__varint_put(out + 4, n);
    memcpy(out + k, name, n);
    return k + n;
}

size_t mlops__registry_key_num(uint8_t *out, char kind, const char *name, uint64_t num)
{
    size_t k = mlops__registry_key_prefix(out, kind, name);
    mlops__put_u64be(out + k, num);
    return k + 8;
}

/* ---- helpers ---- */

/* Remember a field this library does not know, to write it back unchanged. */
static mlops_status keep_unknown(mlops__buf *extra, const mlops__rec_reader *r, size_t start)
{
    return mlops__buf_append(extra, r->p + start, r->pos - start);
}

static mlops_status dup_field(char **dst, const mlops_env *env, const mlops__rec_field *f)
{
    if (f->wire != MLOPS__REC_WIRE_BYTES)
        return mlops__error(MLOPS_E_CORRUPT, "registry record: field %u has the wrong type",
                            f->tag);
    mlops__free(env, *dst);
    *dst = mlops__rec_as_str(env, f);
    return *dst ? MLOPS_OK : mlops__nomem();
}

static mlops_status hash_field(mlops_hash128 *dst, const mlops__rec_field *f)
{
    if (f->wire != MLOPS__REC_WIRE_BYTES || f->n != 16)
        return mlops__error(MLOPS_E_CORRUPT, "registry record: hash field %u is malformed",
                            f->tag);
    memcpy(dst->bytes, f->p, 16);
    return MLOPS_OK;
}

static mlops_status want_varint(const mlops__rec_field *f)
{
    if (f->wire != MLOPS__REC_WIRE_VARINT)
        return mlops__error(MLOPS_E_CORRUPT, "registry record: field %u has the wrong type",
                            f->tag);
    return MLOPS_OK;
}

static mlops_status want_bytes(const mlops__rec_field *f)
{
    if (f->wire != MLOPS__REC_WIRE_BYTES)
        return mlops__error(MLOPS_E_CORRUPT, "registry record: field %u has the wrong type",
                            f->tag);
    return MLOPS_OK;
}

/* A nested record is written as a bytes field holding a whole record. */
static void put_nested(mlops__rec_writer *w, uint32_t tag, mlops__rec_writer *inner)
{
    mlops_status st = mlops__rec_writer_finish(inner);
    if (st != MLOPS_OK) {
        if (w->st == MLOPS_OK)
            w->st = st;
    } else {
        mlops__rec_put_bytes(w, tag, inner->buf.data, inner->buf.len);
    }
    mlops__rec_writer_free(inner);
}

/* ---- head ---- */

void mlops__registry_head_free(const mlops_env *env, reg_head *h)
{
    if (h == NULL)
        return;
    mlops__free(env, h->name);
    mlops__free(env, h->description);
    for (size_t i = 0; i < h->n_tags; i++) {
        mlops__free(env, h->tags[i].key);
        mlops__free(env, h->tags[i].value);
    }
    mlops__free(env, h->tags);
    mlops__free(env, h->vers);
    for (size_t i = 0; i < h->n_aliases; i++)
        mlops__free(env, h->aliases[i].name);
    mlops__free(env, h->aliases);
    mlops__buf_free(&h->extra);
    memset(h, 0, sizeof(*h));
}

mlops_status mlops__registry_head_encode(mlops__buf *out, const mlops_env *env, const reg_head *h)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, REG_REC_FORMAT, REG_REC_HEAD);
    mlops__rec_put_str(&w, 1, h->name);
    mlops__rec_put_str(&w, 2, h->description);
    mlops__rec_put_i64(&w, 3, h->created_ms);
    mlops__rec_put_i64(&w, 4, h->updated_ms);
    mlops__rec_put_i64(&w, 5, h->last_version);
    mlops__rec_put_u64(&w, 6, h->hist_seq);
    for (size_t i = 0; i < h->n_tags; i++) {
        mlops__rec_writer t;
        mlops__rec_writer_init(&t, env, REG_REC_FORMAT, REG_REC_TAG);
        mlops__rec_put_str(&t, 1, h->tags[i].key);
        mlops__rec_put_str(&t, 2, h->tags[i].value);
        put_nested(&w, 7, &t);
    }
    if (h->n_vers) {
        /* one packed field: per version, varint number delta, varint stage,
         * zigzag varint time delta (a head is read on every resolve) */
        mlops__buf pk;
        mlops__buf_init(&pk, env);
        mlops_status pst = MLOPS_OK;
        int64_t pv = 0, pms = 0;
        for (size_t i = 0; i < h->n_vers && pst == MLOPS_OK; i++) {
            uint8_t tmp[30];
            size_t k = mlops__varint_put(tmp, (uint64_t)(h->vers[i].version - pv));
            k += mlops__varint_put(tmp + k, h->vers[i].stage);
            /* deltas wrap (two's complement) like the decoder's sums: any
             * stored time round-trips and nothing overflows */
            int64_t d = (int64_t)((uint64_t)h->vers[i].stage_ms - (uint64_t)pms);
            k += mlops__varint_put(tmp + k, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
            pv = h->vers[i].version;
            pms = h->vers[i].stage_ms;
            pst = mlops__buf_append(&pk, tmp, k);
        }
        if (pst == MLOPS_OK)
            mlops__rec_put_bytes(&w, 8, pk.data, pk.len);
        else if (w.st == MLOPS_OK)
            w.st = pst;
        mlops__buf_free(&pk);
    }
    for (size_t i = 0; i < h->n_aliases; i++) {
        mlops__rec_writer t;
        mlops__rec_writer_init(&t, env, REG_REC_FORMAT, REG_REC_ALIAS);
        mlops__rec_put_str(&t, 1, h->aliases[i].name);
        mlops__rec_put_i64(&t, 2, h->aliases[i].version);
        put_nested(&w, 9, &t);
    }
    if (w.st == MLOPS_OK && h->extra.len)
        w.st = mlops__buf_append(&w.buf, h->extra.data, h->extra.len);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

static mlops_status decode_tag(reg_tag *t, const mlops_env *env, const mlops__rec_field *f)
{
    mlops__rec_reader r;
    mlops_status st = want_bytes(f);
    if (st == MLOPS_OK)
        st = mlops__rec_reader_init(&r, f->p, f->n, REG_REC_FORMAT, REG_REC_TAG, "model tag");
    mlops__rec_field g;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &g)) == MLOPS_OK) {
        if (g.tag == 1)
            st = dup_field(&t->key, env, &g);
        else if (g.tag == 2)
            st = dup_field(&t->value, env, &g);
    }
    if (st == MLOPS_E_NOTFOUND)
        st = (t->key && t->value) ? MLOPS_OK
                                  : mlops__error(MLOPS_E_CORRUPT, "model tag record is incomplete");
    return st;
}

static mlops_status decode_vstates(reg_head *h, const mlops_env *env, const mlops__rec_field *f)
{
    if (f->wire != MLOPS__REC_WIRE_BYTES || h->n_vers)
        return mlops__error(MLOPS_E_CORRUPT, "registered model: malformed version list");
    /* each entry takes at least 3 bytes: bound the allocation by the input (M3) */
    size_t cap = f->n / 3;
    h->vers = cap ? mlops__calloc(env, cap, sizeof(reg_vstate)) : NULL;
    if (cap && h->vers == NULL)
        return mlops__nomem();
    const uint8_t *p = f->p;
    size_t left = f->n;
    int64_t pv = 0, pms = 0;
    while (left) {
        uint64_t dv, stage, zms;
        size_t a = mlops__varint_get(p, left, &dv);
        size_t b = a ? mlops__varint_get(p + a, left - a, &stage) : 0;
        size_t c = b ? mlops__varint_get(p + a + b, left - a - b, &zms) : 0;
        if (c == 0 || h->n_vers == cap || dv == 0 || dv > (uint64_t)(INT64_MAX - pv) ||
            stage > MLOPS_STAGE_ARCHIVED)
            return mlops__error(MLOPS_E_CORRUPT, "registered model: malformed version list");
        reg_vstate *v = &h->vers[h->n_vers++];
        v->version = pv + (int64_t)dv;
        v->stage = (uint32_t)stage;
        v->stage_ms = (int64_t)((uint64_t)pms + ((zms >> 1) ^ (~(zms & 1) + 1)));
        pv = v->version;
        pms = v->stage_ms;
        p += a + b + c;
        left -= a + b + c;
    }
    return MLOPS_OK;
}

static mlops_status decode_alias(reg_alias *a, const mlops_env *env, const mlops__rec_field *f)
{
    mlops__rec_reader r;
    mlops_status st = want_bytes(f);
    if (st == MLOPS_OK)
        st = mlops__rec_reader_init(&r, f->p, f->n, REG_REC_FORMAT, REG_REC_ALIAS, "alias");
    mlops__rec_field g;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &g)) == MLOPS_OK) {
        if (g.tag == 1)
            st = dup_field(&a->name, env, &g);
        else if (g.tag == 2 && (st = want_varint(&g)) == MLOPS_OK)
            a->version = mlops__rec_as_i64(&g);
    }
    if (st == MLOPS_E_NOTFOUND)
        st = (a->name && a->version > 0)
                 ? MLOPS_OK
                 : mlops__error(MLOPS_E_CORRUPT, "alias record is incomplete");
    return st;
}

/* Grow an array by one zeroed element. */
static void *grow(const mlops_env *env, void **arr, size_t *n, size_t elem)
{
    void *na = mlops__realloc(env, *arr, (*n + 1) * elem);
    if (na == NULL)
        return NULL;
    *arr = na;
    void *e = (uint8_t *)na + *n * elem;
    memset(e, 0, elem);
    (*n)++;
    return e;
}

mlops_status mlops__registry_head_decode(reg_head *h, const mlops_env *env, const uint8_t *p,
                                         size_t n)
{
    memset(h, 0, sizeof(*h));
    mlops__buf_init(&h->extra, env);
    mlops__rec_reader r;
    mlops_status st =
        mlops__rec_reader_init(&r, p, n, REG_REC_FORMAT, REG_REC_HEAD, "registered model");
    mlops__rec_field f;
    while (st == MLOPS_OK) {
        size_t start = r.pos;
        st = mlops__rec_next(&r, &f);
        if (st != MLOPS_OK)
            break;
        switch (f.tag) {
        case 1:
            st = dup_field(&h->name, env, &f);
            break;
        case 2:
            st = dup_field(&h->description, env, &f);
            break;
        case 3:
            if ((st = want_varint(&f)) == MLOPS_OK)
                h->created_ms = mlops__rec_as_i64(&f);
            break;
        case 4:
            if ((st = want_varint(&f)) == MLOPS_OK)
                h->updated_ms = mlops__rec_as_i64(&f);
            break;
        case 5:
            if ((st = want_varint(&f)) == MLOPS_OK)
                h->last_version = mlops__rec_as_i64(&f);
            break;
        case 6:
            if ((st = want_varint(&f)) == MLOPS_OK)
                h->hist_seq = f.u;
            break;
        case 7: {
            reg_tag *t = grow(env, (void **)&h->tags, &h->n_tags, sizeof(*t));
            st = t ? decode_tag(t, env, &f) : mlops__nomem();
            break;
        }
        case 8:
            st = decode_vstates(h, env, &f);
            break;
        case 9: {
            reg_alias *a = grow(env, (void **)&h->aliases, &h->n_aliases, sizeof(*a));
            st = a ? decode_alias(a, env, &f) : mlops__nomem();
            break;
        }
        default:
            st = keep_unknown(&h->extra, &r, start);
        }
    }
    if (st == MLOPS_E_NOTFOUND) {
        st = MLOPS_OK;
        if (h->name == NULL)
            st = mlops__error(MLOPS_E_CORRUPT, "registered model record has no name");
        else if (h->n_vers && h->vers[h->n_vers - 1].version > h->last_version)
            st = mlops__error(MLOPS_E_CORRUPT,
                              "registered model '%s': version %lld above the last number %lld",
                              h->name, (long long)h->vers[h->n_vers - 1].version,
                              (long long)h->last_version);
    }
    if (st != MLOPS_OK)
        mlops__registry_head_free(env, h);
    return st;
}

/* ---- version ---- */

void mlops__registry_version_free(const mlops_env *env, reg_version *v)
{
    if (v == NULL)
        return;
    mlops__free(env, v->model);
    mlops__free(env, v->user);
    mlops__free(env, v->description);
    mlops__free(env, v->run_id);
    mlops__free(env, v->artifact_path);
    mlops__free(env, v->code_commit);
    for (size_t i = 0; i < v->n_datasets; i++)
        mlops__free(env, v->datasets[i].name);
    mlops__free(env, v->datasets);
    mlops__free(env, v->features);
    mlops__free(env, v->eval_path);
    mlops__free(env, v->gate_report);
    mlops__buf_free(&v->extra);
    memset(v, 0, sizeof(*v));
}

mlops_status mlops__registry_version_encode(mlops__buf *out, const mlops_env *env,
                                            const reg_version *v)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, REG_REC_FORMAT, REG_REC_VERSION);
    mlops__rec_put_str(&w, 1, v->model);
    mlops__rec_put_i64(&w, 2, v->version);
    mlops__rec_put_i64(&w, 3, v->created_ms);
    mlops__rec_put_str(&w, 4, v->user);
    mlops__rec_put_str(&w, 5, v->description);
    mlops__rec_put_str(&w, 6, v->run_id);
    mlops__rec_put_str(&w, 7, v->artifact_path);
    mlops__rec_put_bytes(&w, 8, v->blob.bytes, 16);
    mlops__rec_put_u64(&w, 9, v->size);
    mlops__rec_put_str(&w, 10, v->code_commit);
    for (size_t i = 0; i < v->n_datasets; i++) {
        mlops__rec_writer t;
        mlops__rec_writer_init(&t, env, REG_REC_FORMAT, REG_REC_DATASET);
        mlops__rec_put_bytes(&t, 1, v->datasets[i].hash.bytes, 16);
        mlops__rec_put_i64(&t, 2, v->datasets[i].rows);
        mlops__rec_put_str(&t, 3, v->datasets[i].name);
        put_nested(&w, 11, &t);
    }
    for (size_t i = 0; i < v->n_features; i++)
        mlops__rec_put_bytes(&w, 12, v->features[i].bytes, 16);
    mlops__rec_put_str(&w, 13, v->eval_path);
    if (v->has_eval)
        mlops__rec_put_bytes(&w, 14, v->eval_blob.bytes, 16);
    mlops__rec_put_i64(&w, 15, v->gate_status);
    mlops__rec_put_i64(&w, 16, v->gate_ms);
    mlops__rec_put_str(&w, 17, v->gate_report);
    mlops__rec_put_i64(&w, 18, v->gate_baseline);
    mlops__rec_put_u64(&w, 19, v->gate_stage);
    if (w.st == MLOPS_OK && v->extra.len)
        w.st = mlops__buf_append(&w.buf, v->extra.data, v->extra.len);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

static mlops_status decode_dataset(reg_dataset *d, const mlops_env *env, const mlops__rec_field *f)
{
    mlops__rec_reader r;
    mlops_status st = want_bytes(f);
    if (st == MLOPS_OK)
        st = mlops__rec_reader_init(&r, f->p, f->n, REG_REC_FORMAT, REG_REC_DATASET,
                                    "dataset input");
    mlops__rec_field g;
    d->rows = -1;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &g)) == MLOPS_OK) {
        if (g.tag == 1)
            st = hash_field(&d->hash, &g);
        else if (g.tag == 2 && (st = want_varint(&g)) == MLOPS_OK)
            d->rows = mlops__rec_as_i64(&g);
        else if (g.tag == 3)
            st = dup_field(&d->name, env, &g);
    }
    return st == MLOPS_E_NOTFOUND ? MLOPS_OK : st;
}

mlops_status mlops__registry_version_decode(reg_version *v, const mlops_env *env,
                                            const uint8_t *p, size_t n)
{
    memset(v, 0, sizeof(*v));
    mlops__buf_init(&v->extra, env);
    mlops__rec_reader r;
    mlops_status st =
        mlops__rec_reader_init(&r, p, n, REG_REC_FORMAT, REG_REC_VERSION, "model version");
    mlops__rec_field f;
    while (st == MLOPS_OK) {
        size_t start = r.pos;
        st = mlops__rec_next(&r, &f);
        if (st != MLOPS_OK)
            break;
        switch (f.tag) {
        case 1:
            st = dup_field(&v->model, env, &f);
            break;
        case 2:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->version = mlops__rec_as_i64(&f);
            break;
        case 3:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->created_ms = mlops__rec_as_i64(&f);
            break;
        case 4:
            st = dup_field(&v->user, env, &f);
            break;
        case 5:
            st = dup_field(&v->description, env, &f);
            break;
        case 6:
            st = dup_field(&v->run_id, env, &f);
            break;
        case 7:
            st = dup_field(&v->artifact_path, env, &f);
            break;
        case 8:
            st = hash_field(&v->blob, &f);
            break;
        case 9:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->size = f.u;
            break;
        case 10:
            st = dup_field(&v->code_commit, env, &f);
            break;
        case 11: {
            reg_dataset *d = grow(env, (void **)&v->datasets, &v->n_datasets, sizeof(*d));
            st = d ? decode_dataset(d, env, &f) : mlops__nomem();
            break;
        }
        case 12: {
            mlops_hash128 *h = grow(env, (void **)&v->features, &v->n_features, sizeof(*h));
            st = h ? hash_field(h, &f) : mlops__nomem();
            break;
        }
        case 13:
            st = dup_field(&v->eval_path, env, &f);
            break;
        case 14:
            st = hash_field(&v->eval_blob, &f);
            v->has_eval = true;
            break;
        case 15:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->gate_status = mlops__rec_as_i64(&f);
            break;
        case 16:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->gate_ms = mlops__rec_as_i64(&f);
            break;
        case 17:
            st = dup_field(&v->gate_report, env, &f);
            break;
        case 18:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->gate_baseline = mlops__rec_as_i64(&f);
            break;
        case 19:
            if ((st = want_varint(&f)) == MLOPS_OK)
                v->gate_stage = (uint32_t)f.u;
            break;
        default:
            st = keep_unknown(&v->extra, &r, start);
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = (v->model && v->version > 0)
                 ? MLOPS_OK
                 : mlops__error(MLOPS_E_CORRUPT, "model version record is incomplete");
    if (st != MLOPS_OK)
        mlops__registry_version_free(env, v);
    return st;
}

/* ---- event ---- */

void mlops__registry_event_free(const mlops_env *env, reg_event *e)
{
    if (e == NULL)
        return;
    mlops__free(env, e->alias);
    mlops__free(env, e->user);
    mlops__free(env, e->reason);
    memset(e, 0, sizeof(*e));
}

mlops_status mlops__registry_event_encode(mlops__buf *out, const mlops_env *env,
                                          const reg_event *e)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, REG_REC_FORMAT, REG_REC_EVENT);
    mlops__rec_put_u64(&w, 1, e->seq);
    mlops__rec_put_i64(&w, 2, e->time_ms);
    mlops__rec_put_u64(&w, 3, e->kind);
    mlops__rec_put_i64(&w, 4, e->version);
    mlops__rec_put_u64(&w, 5, e->from_stage);
    mlops__rec_put_u64(&w, 6, e->to_stage);
    mlops__rec_put_str(&w, 7, e->alias);
    mlops__rec_put_i64(&w, 8, e->prev_version);
    mlops__rec_put_str(&w, 9, e->user);
    mlops__rec_put_str(&w, 10, e->reason);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

mlops_status mlops__registry_event_decode(reg_event *e, const mlops_env *env, const uint8_t *p,
                                          size_t n)
{
    memset(e, 0, sizeof(*e));
    mlops__rec_reader r;
    mlops_status st =
        mlops__rec_reader_init(&r, p, n, REG_REC_FORMAT, REG_REC_EVENT, "registry event");
    mlops__rec_field f;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case 1:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->seq = f.u;
            break;
        case 2:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->time_ms = mlops__rec_as_i64(&f);
            break;
        case 3:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->kind = (uint32_t)f.u;
            break;
        case 4:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->version = mlops__rec_as_i64(&f);
            break;
        case 5:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->from_stage = (uint32_t)f.u;
            break;
        case 6:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->to_stage = (uint32_t)f.u;
            break;
        case 7:
            st = dup_field(&e->alias, env, &f);
            break;
        case 8:
            if ((st = want_varint(&f)) == MLOPS_OK)
                e->prev_version = mlops__rec_as_i64(&f);
            break;
        case 9:
            st = dup_field(&e->user, env, &f);
            break;
        case 10:
            st = dup_field(&e->reason, env, &f);
            break;
        default:
            break;
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    if (st != MLOPS_OK)
        mlops__registry_event_free(env, e);
    return st;
}

/* Answer one question from an encoded head without decoding all of it (the
 * hot path of resolve): kind 1 "does version exist", 2 "which version
 * entered stage last", 3 "where does alias point", 4 "highest live version".
 * *out is 0 when nothing matches. */
mlops_status mlops__registry_head_query(int64_t *out, int64_t *last_out, const uint8_t *p,
                                        size_t n, int kind, int64_t version, uint32_t stage,
                                        const char *alias)
{
    *out = 0;
    *last_out = 0;
    mlops__rec_reader r;
    mlops_status st =
        mlops__rec_reader_init(&r, p, n, REG_REC_FORMAT, REG_REC_HEAD, "registered model");
    mlops__rec_field f;
    size_t alias_len = alias ? strlen(alias) : 0;
    int64_t best_ms = 0;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 5 && f.wire == MLOPS__REC_WIRE_VARINT) {
            *last_out = mlops__rec_as_i64(&f);
        } else if (f.tag == 8 && kind != 3) {
            if (f.wire != MLOPS__REC_WIRE_BYTES)
                return mlops__error(MLOPS_E_CORRUPT, "registered model: malformed version list");
            const uint8_t *q = f.p;
            size_t left = f.n;
            int64_t pv = 0, pms = 0;
            while (left) {
                uint64_t dv, stg, zms;
                size_t a, b, c;
                if (left >= 3 && ((q[0] | q[1] | q[2]) & 0x80) == 0) {
                    /* the usual entry: three one-byte varints */
                    dv = q[0];
                    stg = q[1];
                    zms = q[2];
                    a = b = c = 1;
                } else {
                    a = mlops__varint_get(q, left, &dv);
                    b = a ? mlops__varint_get(q + a, left - a, &stg) : 0;
                    c = b ? mlops__varint_get(q + a + b, left - a - b, &zms) : 0;
                }
                if (c == 0 || dv == 0 || dv > (uint64_t)(INT64_MAX - pv))
                    return mlops__error(MLOPS_E_CORRUPT,
                                        "registered model: malformed version list");
                pv += (int64_t)dv;
                pms = (int64_t)((uint64_t)pms + ((zms >> 1) ^ (~(zms & 1) + 1)));
                if (kind == 1 && pv >= version) {
                    *out = pv == version ? pv : 0;
                    break; /* ascending: no need to read on */
                }
                else if (kind == 2 && stg == stage && (*out == 0 || pms >= best_ms)) {
                    *out = pv;
                    best_ms = pms;
                } else if (kind == 4)
                    *out = pv;
                q += a + b + c;
                left -= a + b + c;
            }
        } else if (f.tag == 9 && kind == 3) {
            mlops__rec_reader ar;
            mlops__rec_field g;
            if (f.wire != MLOPS__REC_WIRE_BYTES)
                return mlops__error(MLOPS_E_CORRUPT, "registered model: malformed alias");
            mlops_status ast =
                mlops__rec_reader_init(&ar, f.p, f.n, REG_REC_FORMAT, REG_REC_ALIAS, "alias");
            bool match = false;
            int64_t target = 0;
            while (ast == MLOPS_OK && (ast = mlops__rec_next(&ar, &g)) == MLOPS_OK) {
                if (g.tag == 1 && g.wire == MLOPS__REC_WIRE_BYTES)
                    match = g.n == alias_len && memcmp(g.p, alias, alias_len) == 0;
                else if (g.tag == 2 && g.wire == MLOPS__REC_WIRE_VARINT)
                    target = mlops__rec_as_i64(&g);
            }
            if (ast != MLOPS_E_NOTFOUND)
                return ast;
            if (match)
                *out = target;
        }
    }
    return st == MLOPS_E_NOTFOUND ? MLOPS_OK : st;
}

/* SPDX-License-Identifier: MIT */
/* The online store: latest value per entity, persisted in a separate store
 * under f/o/<lp view><entity key> and served from an in-process hash table.
 *
 * Stored value (little-endian):
 *   u8 format (1), i64 event_us, i64 created_us, varint n, then n times:
 *   varint name length, name, u8 type, u8 present, value:
 *   int64/float64 8 bytes, bool 1 byte, string varint length + bytes,
 *   vector varint dim + 4*dim bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "feature/feature_internal.h"

/* One entity's values in memory: a single block. */
typedef struct oval {
    int64_t ev;
    int64_t cr;
    uint32_t klen;
    uint32_t nf;
    /* then: uint64_t slot[nf]; uint8_t present[nf]; key bytes; variable data */
} oval;

#define OV_SLOTS(v) ((uint64_t *)((uint8_t *)(v) + sizeof(oval)))
#define OV_PRESENT(v) ((uint8_t *)(OV_SLOTS(v) + (v)->nf))
#define OV_KEY(v) (OV_PRESENT(v) + (v)->nf)

typedef struct oslot {
    uint64_t hash;
    oval *v;
} oslot;

typedef struct oview {
    char *name;
    mlops__fdef *def;
    int *fslot;    /* per def feature: slot index (ingested), or -1 */
    size_t nf;     /* ingested features */
    int *slot_feat; /* per slot: def feature index */
    oslot *slots;
    size_t mask;
    size_t n;
} oview;

struct mlops_feature_online {
    mlops_feature_store *fs;
    mlops_store *online;
    const mlops_env *env;
    pthread_rwlock_t lock;
    oview *views;
    size_t n_views;
};

size_t mlops__fkey_encode_i64(uint8_t *out, int64_t v)
{
    out[0] = 'i';
    mlops__put_u64be(out + 1, (uint64_t)v ^ 0x8000000000000000ULL);
    return 9;
}

size_t mlops__fkey_encode_str(uint8_t *out, size_t cap, const char *s, size_t n)
{
    uint8_t tmp[10];
    size_t k = mlops__varint_put(tmp, n);
    if (1 + k + n > cap)
        return 0;
    out[0] = 's';
    memcpy(out + 1, tmp, k);
    memcpy(out + 1 + k, s, n);
    return 1 + k + n;
}

static void oview_free(const mlops_env *env, oview *ov)
{
    for (size_t i = 0; ov->slots && i <= ov->mask; i++)
        mlops__free(env, ov->slots[i].v);
    mlops__free(env, ov->slots);
    mlops__free(env, ov->fslot);
    mlops__free(env, ov->slot_feat);
    mlops__free(env, ov->name);
    mlops__fdef_free(env, ov->def);
}

mlops_status mlops_feature_online_open(mlops_feature_online **out, mlops_feature_store *fs,
                                       mlops_store *online)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (fs == NULL || online == NULL)
        return mlops__error(MLOPS_E_INVALID, "feature store or online store is NULL");
    mlops_feature_online *on = mlops__calloc(fs->env, 1, sizeof(*on));
    if (on == NULL)
        return mlops__nomem();
    if (pthread_rwlock_init(&on->lock, NULL) != 0) {
        mlops__free(fs->env, on);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create a lock");
    }
    on->env = fs->env;
    on->online = mlops__store_ref(online);
    on->fs = mlops__fstore_ref(fs);
    *out = on;
    return MLOPS_OK;
}

void mlops_feature_online_close(mlops_feature_online *on)
{
    if (on == NULL)
        return;
    for (size_t i = 0; i < on->n_views; i++)
        oview_free(on->env, &on->views[i]);
    mlops__free(on->env, on->views);
    pthread_rwlock_destroy(&on->lock);
    mlops_store *s = on->online;
    mlops_feature_store *fs = on->fs;
    mlops__free(on->env, on);
    mlops__store_unref(s);
    mlops_feature_store_close(fs);
}

static oval *ov_find(const oview *ov, const uint8_t *key, size_t klen, uint64_t h)
{
    if (ov->slots == NULL)
        return NULL;
    size_t s = (size_t)h & ov->mask;
    for (;;) {
        oval *v = ov->slots[s].v;
        if (v == NULL)
            return NULL;
        if (ov->slots[s].hash == h && v->klen == klen && memcmp(OV_KEY(v), key, klen) == 0)
            return v;
        s = (s + 1) & ov->mask;
    }
}

/* Insert or replace (the old block is freed). */
static mlops_status ov_put(const mlops_env *env, oview *ov, oval *nv, uint64_t h)
{
    if (ov->slots == NULL || (ov->n + 1) * 2 > ov->mask + 1) {
        size_t ns = ov->slots ? (ov->mask + 1) * 2 : 1024;
        oslot *n = mlops__calloc(env, ns, sizeof(oslot));
        if (n == NULL)
            return mlops__nomem();
        for (size_t i = 0; ov->slots && i <= ov->mask; i++) {
            if (ov->slots[i].v == NULL)
                continue;
            size_t s = (size_t)ov->slots[i].hash & (ns - 1);
            while (n[s].v)
                s = (s + 1) & (ns - 1);
            n[s] = ov->slots[i];
        }
        mlops__free(env, ov->slots);
        ov->slots = n;
        ov->mask = ns - 1;
    }
    size_t s = (size_t)h & ov->mask;
    for (;;) {
        oval *v = ov->slots[s].v;
        if (v == NULL) {
            ov->slots[s].v = nv;
            ov->slots[s].hash = h;
            ov->n++;
            return MLOPS_OK;
        }
        if (ov->slots[s].hash == h && v->klen == nv->klen &&
            memcmp(OV_KEY(v), OV_KEY(nv), nv->klen) == 0) {
            mlops__free(env, v);
            ov->slots[s].v = nv;
            return MLOPS_OK;
        }
        s = (s + 1) & ov->mask;
    }
}

/* ---- building values ---- */

typedef struct vbuild {
    const oview *ov;
    mlops__buf var;         /* variable data */
    uint64_t slot[MLOPS_FEATURE_MAX_FEATURES];
    uint8_t present[MLOPS_FEATURE_MAX_FEATURES];
    uint32_t vec_off[MLOPS_FEATURE_MAX_FEATURES];
} vbuild;

/* Make a block from the build state. Variable data offsets are relative to
 * the start of the variable area; they become absolute here. */
static oval *vb_finish(const mlops_env *env, vbuild *b, const uint8_t *key, size_t klen,
                       int64_t ev, int64_t cr)
{
    size_t nf = b->ov->nf;
    size_t head = sizeof(oval) + nf * 8 + nf + klen;
    size_t var0 = (head + 7) & ~(size_t)7;
    oval *v = mlops__malloc(env, var0 + b->var.len + 1);
    if (v == NULL)
        return NULL;
    v->ev = ev;
    v->cr = cr;
    v->klen = (uint32_t)klen;
    v->nf = (uint32_t)nf;
    for (size_t i = 0; i < nf; i++) {
        uint32_t t = b->ov->def->features[b->ov->slot_feat[i]].type;
        uint64_t s = b->slot[i];
        if (b->present[i] && (t == MLOPS_FEATURE_STRING || t == MLOPS_FEATURE_FLOAT32_VECTOR))
            s += var0;
        OV_SLOTS(v)[i] = s;
        OV_PRESENT(v)[i] = b->present[i];
    }
    memcpy(OV_KEY(v), key, klen);
    if (b->var.len)
        memcpy((uint8_t *)v + var0, b->var.data, b->var.len);
    return v;
}

/* Encode a block for the store. */
static mlops_status ov_encode(mlops__buf *out, const oview *ov, const oval *v)
{
    out->len = 0;
    uint8_t tmp[16];
    mlops_status st = mlops__buf_putc(out, 1);
    mlops__put_u64le(tmp, (uint64_t)v->ev);
    mlops__put_u64le(tmp + 8, (uint64_t)v->cr);
    if (st == MLOPS_OK)
        st = mlops__buf_append(out, tmp, 16);
    size_t k = mlops__varint_put(tmp, v->nf);
    if (st == MLOPS_OK)
        st = mlops__buf_append(out, tmp, k);
    for (size_t i = 0; i < v->nf && st == MLOPS_OK; i++) {
        const mlops__fdef_feature *f = &ov->def->features[ov->slot_feat[i]];
        size_t nl = strlen(f->name);
        k = mlops__varint_put(tmp, nl);
        st = mlops__buf_append(out, tmp, k);
        if (st == MLOPS_OK)
            st = mlops__buf_append(out, f->name, nl);
        uint8_t tp[2] = {(uint8_t)f->type, OV_PRESENT(v)[i]};
        if (st == MLOPS_OK)
            st = mlops__buf_append(out, tp, 2);
        if (st != MLOPS_OK || !OV_PRESENT(v)[i])
            continue;
        uint64_t s = OV_SLOTS(v)[i];
        switch (f->type) {
        case MLOPS_FEATURE_INT64:
        case MLOPS_FEATURE_FLOAT64:
            mlops__put_u64le(tmp, s);
            st = mlops__buf_append(out, tmp, 8);
            break;
        case MLOPS_FEATURE_BOOL:
            st = mlops__buf_putc(out, (uint8_t)s);
            break;
        case MLOPS_FEATURE_STRING: {
            const char *str = (const char *)v + s;
            size_t n = strlen(str);
            k = mlops__varint_put(tmp, n);
            st = mlops__buf_append(out, tmp, k);
            if (st == MLOPS_OK)
                st = mlops__buf_append(out, str, n);
            break;
        }
        case MLOPS_FEATURE_FLOAT32_VECTOR:
            k = mlops__varint_put(tmp, f->dim);
            st = mlops__buf_append(out, tmp, k);
            if (st == MLOPS_OK)
                st = mlops__buf_append(out, (const uint8_t *)v + s, 4 * (size_t)f->dim);
            break;
        }
    }
    return st;
}

static void vb_reset(vbuild *b)
{
    b->var.len = 0;
    memset(b->present, 0, b->ov->nf);
    memset(b->slot, 0, b->ov->nf * 8);
}

static mlops_status vb_set_var(vbuild *b, size_t i, const void *p, size_t n, size_t align,
                               bool nul)
{
    while (b->var.len % align)
        if (mlops__buf_putc(&b->var, 0) != MLOPS_OK)
            return mlops__nomem();
    b->slot[i] = b->var.len;
    if (mlops__buf_append(&b->var, p, n) != MLOPS_OK || (nul && mlops__buf_putc(&b->var, 0)))
        return mlops__nomem();
    b->present[i] = 1;
    return MLOPS_OK;
}

/* Decode a stored value into a block. */
static mlops_status ov_decode(oval **out, const mlops_env *env, const oview *ov, vbuild *b,
                              const uint8_t *key, size_t klen, const uint8_t *p, size_t n)
{
    *out = NULL;
    vb_reset(b);
    if (n < 17 || p[0] != 1)
        return mlops__error(MLOPS_E_CORRUPT, "online value of view '%s' has a bad header",
                            ov->name);
    int64_t ev = (int64_t)mlops__get_u64le(p + 1), cr = (int64_t)mlops__get_u64le(p + 9);
    size_t pos = 17;
    uint64_t cnt;
    size_t k = mlops__varint_get(p + pos, n - pos, &cnt);
    if (k == 0)
        goto bad;
    pos += k;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t nl;
        k = mlops__varint_get(p + pos, n - pos, &nl);
        if (k == 0 || nl > n - pos - k)
            goto bad;
        const char *name = (const char *)p + pos + k;
        pos += k + (size_t)nl;
        if (n - pos < 2)
            goto bad;
        uint8_t type = p[pos], present = p[pos + 1];
        pos += 2;
        int slot = -1;
        for (size_t s = 0; s < ov->nf; s++) {
            const mlops__fdef_feature *f = &ov->def->features[ov->slot_feat[s]];
            if (strlen(f->name) == nl && memcmp(f->name, name, (size_t)nl) == 0 && f->type == type)
                slot = (int)s;
        }
        if (!present)
            continue;
        size_t vlen = 0;
        const uint8_t *vp = NULL;
        uint32_t dim = 0;
        switch (type) {
        case MLOPS_FEATURE_INT64:
        case MLOPS_FEATURE_FLOAT64:
            vlen = 8;
            break;
        case MLOPS_FEATURE_BOOL:
            vlen = 1;
            break;
        case MLOPS_FEATURE_STRING:
        case MLOPS_FEATURE_FLOAT32_VECTOR: {
            uint64_t l;
            k = mlops__varint_get(p + pos, n - pos, &l);
            if (k == 0 || l > (1u << 26))
                goto bad;
            pos += k;
            dim = (uint32_t)l;
            vlen = type == MLOPS_FEATURE_STRING ? (size_t)l : 4 * (size_t)l;
            break;
        }
        default:
            goto bad;
        }
        if (vlen > n - pos)
            goto bad;
        vp = p + pos;
        pos += vlen;
        if (slot < 0)
            continue;
        mlops_status st = MLOPS_OK;
        if (type == MLOPS_FEATURE_STRING) {
            if (memchr(vp, 0, vlen))
                goto bad;
            st = vb_set_var(b, (size_t)slot, vp, vlen, 1, true);
        } else if (type == MLOPS_FEATURE_FLOAT32_VECTOR) {
            if (dim != ov->def->features[ov->slot_feat[slot]].dim)
                continue;
            st = vb_set_var(b, (size_t)slot, vp, vlen, 4, false);
        } else {
            b->slot[slot] = vlen == 8 ? mlops__get_u64le(vp) : vp[0];
            b->present[slot] = 1;
        }
        if (st != MLOPS_OK)
            return st;
    }
    if (pos != n)
        goto bad;
    *out = vb_finish(env, b, key, klen, ev, cr);
    return *out ? MLOPS_OK : mlops__nomem();
bad:
    return mlops__error(MLOPS_E_CORRUPT, "online value of view '%s' does not decode", ov->name);
}

typedef struct load_ctx {
    mlops_feature_online *on;
    oview *ov;
    vbuild *b;
    size_t plen;
    mlops_status st;
} load_ctx;

static int load_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)version;
    load_ctx *c = payload;
    oval *v = NULL;
    c->st = ov_decode(&v, c->on->env, c->ov, c->b, key + c->plen, key_len - c->plen, value,
                      value_len);
    if (c->st != MLOPS_OK)
        return 1;
    c->st = ov_put(c->on->env, c->ov, v, mlops__xxh3_64(key + c->plen, key_len - c->plen, 0));
    if (c->st != MLOPS_OK) {
        mlops__free(c->on->env, v);
        return 1;
    }
    return 0;
}

/* Find a loaded view (caller holds the lock). */
static oview *find_view(mlops_feature_online *on, const char *name, size_t n)
{
    for (size_t i = 0; i < on->n_views; i++)
        if (strlen(on->views[i].name) == n && memcmp(on->views[i].name, name, n) == 0)
            return &on->views[i];
    return NULL;
}

static mlops_status vbuild_new(vbuild **out, const mlops_env *env, const oview *ov)
{
    vbuild *b = mlops__calloc(env, 1, sizeof(*b));
    if (b == NULL)
        return mlops__nomem();
    b->ov = ov;
    mlops__buf_init(&b->var, env);
    *out = b;
    return MLOPS_OK;
}

static void vbuild_free(const mlops_env *env, vbuild *b)
{
    if (b == NULL)
        return;
    mlops__buf_free(&b->var);
    mlops__free(env, b);
}

/* Load a view under the write lock. */
static mlops_status load_view(oview **out, mlops_feature_online *on, const char *name)
{
    *out = find_view(on, name, strlen(name));
    if (*out)
        return MLOPS_OK;
    const mlops_env *env = on->env;
    mlops__fdef *d = NULL;
    mlops_status st = mlops__fdef_load(&d, NULL, on->fs, name, 0);
    if (st != MLOPS_OK)
        return st;
    oview *nv = mlops__realloc(env, on->views, (on->n_views + 1) * sizeof(oview));
    if (nv == NULL) {
        mlops__fdef_free(env, d);
        return mlops__nomem();
    }
    on->views = nv;
    oview *ov = &on->views[on->n_views];
    memset(ov, 0, sizeof(*ov));
    ov->def = d;
    ov->name = mlops__strdup(env, name);
    ov->fslot = mlops__calloc(env, d->n_features, sizeof(int));
    ov->slot_feat = mlops__calloc(env, d->n_features, sizeof(int));
    if (ov->name == NULL || ov->fslot == NULL || ov->slot_feat == NULL) {
        oview_free(env, ov);
        return mlops__nomem();
    }
    for (size_t i = 0; i < d->n_features; i++) {
        if (d->features[i].transform == MLOPS_TRANSFORM_NONE) {
            ov->slot_feat[ov->nf] = (int)i;
            ov->fslot[i] = (int)ov->nf++;
        } else
            ov->fslot[i] = -1;
    }
    vbuild *b = NULL;
    st = vbuild_new(&b, env, ov);
    if (st == MLOPS_OK) {
        uint8_t key[160];
        size_t klen = mlops__fkey(key, 'o', name);
        load_ctx c = {on, ov, b, klen, MLOPS_OK};
        st = mlops_store_scan_prefix(on->online, key, klen, load_cb, &c);
        if (st == MLOPS_E_CALLBACK)
            st = c.st;
    }
    vbuild_free(env, b);
    if (st != MLOPS_OK) {
        oview_free(env, ov);
        return st;
    }
    on->n_views++;
    *out = ov;
    return MLOPS_OK;
}

/* ---- writing ---- */

#define PENDING_MAX 8192
#define PIDX_SIZE 32768

typedef struct writer {
    mlops_feature_online *on;
    oview *ov;
    vbuild *b;
    mlops_batch *batch;
    oval **pending;
    uint64_t *pend_hash;
    size_t n_pending, cap, hcap;
    uint32_t *pidx; /* open addressing over the pending values: PIDX_SIZE slots */
    mlops__buf enc;
    uint64_t written;
    /* the materialization state, written with the last batch when the
     * online store is the offline one (so both land together); 0: none */
    uint8_t mat_key[160], mat_val[9];
    size_t mat_klen;
} writer;

static mlops_status writer_flush_ex(writer *w, bool last)
{
    mlops_status st = MLOPS_OK;
    bool mat = last && w->mat_klen > 0;
    if (w->n_pending == 0 && !mat)
        return MLOPS_OK;
    if (mat)
        st = mlops_batch_put(w->batch, w->mat_key, w->mat_klen, w->mat_val, 9);
    if (st == MLOPS_OK)
        st = mlops_store_apply(w->on->online, w->batch);
    for (size_t i = 0; i < w->n_pending; i++) {
        if (st == MLOPS_OK) {
            mlops_status s2 = ov_put(w->on->env, w->ov, w->pending[i], w->pend_hash[i]);
            if (s2 != MLOPS_OK) {
                mlops__free(w->on->env, w->pending[i]);
                st = s2;
            }
        } else
            mlops__free(w->on->env, w->pending[i]);
    }
    if (st == MLOPS_OK)
        w->written += w->n_pending;
    w->n_pending = 0;
    memset(w->pidx, 0xff, PIDX_SIZE * sizeof(uint32_t));
    mlops_batch_clear(w->batch);
    return st;
}

static mlops_status writer_flush(writer *w)
{
    return writer_flush_ex(w, false);
}

/* Offer one entity's new value; skipped if the stored one is newer. Takes v. */
static mlops_status writer_offer(writer *w, oval *v)
{
    const uint8_t *key = OV_KEY(v);
    uint64_t h = mlops__xxh3_64(key, v->klen, 0);
    const oval *old = ov_find(w->ov, key, v->klen, h);
    /* a value for the same entity may be pending in this batch: it is newer */
    size_t ps = (size_t)h & (PIDX_SIZE - 1);
    for (;; ps = (ps + 1) & (PIDX_SIZE - 1)) {
        uint32_t pi = w->pidx[ps];
        if (pi == UINT32_MAX)
            break;
        if (w->pend_hash[pi] == h && w->pending[pi]->klen == v->klen &&
            memcmp(OV_KEY(w->pending[pi]), key, v->klen) == 0) {
            old = w->pending[pi];
            break;
        }
    }
    if (old && old->ev > v->ev) {
        mlops__free(w->on->env, v);
        return MLOPS_OK;
    }
    mlops_status st = ov_encode(&w->enc, w->ov, v);
    uint8_t k[MLOPS_STORE_MAX_KEY];
    size_t pl = mlops__fkey(k, 'o', w->ov->name);
    if (st == MLOPS_OK && pl + v->klen > sizeof(k))
        st = mlops__error(MLOPS_E_TOOBIG, "entity key is too long");
    if (st == MLOPS_OK) {
        memcpy(k + pl, key, v->klen);
        st = mlops_batch_put(w->batch, k, pl + v->klen, w->enc.data, w->enc.len);
    }
    if (st == MLOPS_OK)
        st = mlops__reserve(w->on->env, (void **)&w->pending, &w->cap, w->n_pending + 1,
                            sizeof(oval *));
    if (st == MLOPS_OK)
        st = mlops__reserve(w->on->env, (void **)&w->pend_hash, &w->hcap, w->n_pending + 1,
                            sizeof(uint64_t));
    if (st != MLOPS_OK) {
        mlops__free(w->on->env, v);
        return st;
    }
    w->pending[w->n_pending] = v;
    w->pend_hash[w->n_pending] = h;
    /* the newest pending value of an entity is found first: replace its index */
    size_t q = (size_t)h & (PIDX_SIZE - 1);
    for (;; q = (q + 1) & (PIDX_SIZE - 1)) {
        uint32_t pi = w->pidx[q];
        if (pi == UINT32_MAX || (w->pend_hash[pi] == h && w->pending[pi]->klen == v->klen &&
                                 memcmp(OV_KEY(w->pending[pi]), key, v->klen) == 0)) {
            w->pidx[q] = (uint32_t)w->n_pending;
            break;
        }
    }
    w->n_pending++;
    if (w->n_pending >= PENDING_MAX)
        return writer_flush(w);
    return MLOPS_OK;
}

static mlops_status writer_init(writer *w, mlops_feature_online *on, oview *ov)
{
    memset(w, 0, sizeof(*w));
    w->on = on;
    w->ov = ov;
    mlops__buf_init(&w->enc, on->env);
    mlops_status st = vbuild_new(&w->b, on->env, ov);
    if (st == MLOPS_OK)
        st = mlops_batch_create(&w->batch, on->online);
    if (st == MLOPS_OK) {
        w->pidx = mlops__malloc(on->env, PIDX_SIZE * sizeof(uint32_t));
        if (w->pidx == NULL)
            st = mlops__nomem();
        else
            memset(w->pidx, 0xff, PIDX_SIZE * sizeof(uint32_t));
    }
    return st;
}

static void writer_free(writer *w)
{
    for (size_t i = 0; i < w->n_pending; i++)
        mlops__free(w->on->env, w->pending[i]);
    mlops__free(w->on->env, w->pending);
    mlops__free(w->on->env, w->pend_hash);
    mlops__free(w->on->env, w->pidx);
    mlops_batch_free(w->batch);
    vbuild_free(w->on->env, w->b);
    mlops__buf_free(&w->enc);
}

/* Build the entity key of a row from typed key columns. */
static size_t row_key(uint8_t *out, size_t cap, const mlops__fcol *const *kc, size_t nk,
                      size_t row)
{
    size_t len = 0;
    for (size_t k = 0; k < nk; k++) {
        size_t w;
        if (kc[k]->type == MLOPS_FEATURE_INT64) {
            if (len + 9 > cap)
                return 0;
            w = mlops__fkey_encode_i64(out + len, ((const int64_t *)kc[k]->data)[row]);
        } else {
            size_t n;
            const char *s = mlops__fcol_str(kc[k], row, &n);
            w = mlops__fkey_encode_str(out + len, cap - len, s, n);
            if (w == 0)
                return 0;
        }
        len += w;
    }
    return len;
}

/* Set slot i of the build from a typed column cell. */
static mlops_status vb_from_cell(vbuild *b, size_t i, const mlops__fcol *c, size_t row)
{
    if (!mlops__fcol_valid(c, row))
        return MLOPS_OK;
    switch (c->type) {
    case MLOPS_FEATURE_INT64:
    case MLOPS_FEATURE_FLOAT64:
        b->slot[i] = ((const uint64_t *)c->data)[row];
        b->present[i] = 1;
        return MLOPS_OK;
    case MLOPS_FEATURE_BOOL:
        b->slot[i] = ((const uint8_t *)c->data)[row];
        b->present[i] = 1;
        return MLOPS_OK;
    case MLOPS_FEATURE_STRING: {
        size_t n;
        const char *s = mlops__fcol_str(c, row, &n);
        return vb_set_var(b, i, s, n, 1, true);
    }
    default:
        return vb_set_var(b, i, (const float *)c->data + row * c->dim, 4 * (size_t)c->dim, 4,
                          false);
    }
}

/* Write rows of a table whose columns are already typed. */
static mlops_status write_rows(writer *w, const mlops__fcol *const *kc, const mlops__fcol *ts,
                               const mlops__fcol *cr, const mlops__fcol *const *feat,
                               const uint32_t *rows, size_t n)
{
    const oview *ov = w->ov;
    uint8_t key[MLOPS_STORE_MAX_KEY];
    mlops_status st = MLOPS_OK;
    for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
        size_t r = rows ? rows[i] : i;
        size_t klen = row_key(key, sizeof(key) - 256, kc, ov->def->n_keys, r);
        if (klen == 0)
            return mlops__error(MLOPS_E_TOOBIG, "entity key of row %zu is too long", r);
        vb_reset(w->b);
        for (size_t s = 0; s < ov->nf && st == MLOPS_OK; s++)
            if (feat[s])
                st = vb_from_cell(w->b, s, feat[s], r);
        if (st != MLOPS_OK)
            break;
        int64_t ev = ((const int64_t *)ts->data)[r];
        int64_t c = cr ? ((const int64_t *)cr->data)[r] : ev;
        oval *v = vb_finish(w->on->env, w->b, key, klen, ev, c);
        if (v == NULL)
            return mlops__nomem();
        st = writer_offer(w, v);
    }
    if (st == MLOPS_OK)
        st = writer_flush_ex(w, true);
    return st;
}

static mlops_status put_mat_state(mlops_feature_online *on, const char *view, int64_t end_us)
{
    uint8_t key[160];
    size_t klen = mlops__fkey(key, 'm', view);
    uint8_t val[9];
    val[0] = 1;
    mlops__put_u64le(val + 1, (uint64_t)end_us);
    return mlops_store_put(on->fs->store, key, klen, val, 9);
}

static mlops_status get_mat_state(mlops_feature_online *on, const char *view, int64_t *end_us)
{
    uint8_t key[160];
    size_t klen = mlops__fkey(key, 'm', view);
    mlops_bytes v;
    mlops_status st = mlops_store_get(&v, NULL, on->fs->store, key, klen);
    if (st != MLOPS_OK)
        return st;
    if (v.len != 9 || v.data[0] != 1)
        st = mlops__error(MLOPS_E_CORRUPT, "materialization state of '%s' does not decode", view);
    else
        *end_us = (int64_t)mlops__get_u64le(v.data + 1);
    mlops_bytes_free(&v);
    return st;
}

mlops_status mlops_feature_online_materialize(uint64_t *written_out, mlops_feature_online *on,
                                              const char *view, int64_t start_us, int64_t end_us)
{
    if (written_out)
        *written_out = 0;
    if (on == NULL || view == NULL)
        return mlops__error(MLOPS_E_INVALID, "online handle or view is NULL");
    if (end_us < start_us)
        return mlops__error(MLOPS_E_INVALID, "materialize '%s': end %lld is before start %lld",
                            view, (long long)end_us, (long long)start_us);
    const mlops_env *env = on->env;
    pthread_rwlock_wrlock(&on->lock);
    oview *ov = NULL;
    mlops__fdata *data = NULL;
    uint32_t *rows = NULL;
    size_t n = 0;
    writer w;
    bool have_w = false;
    mlops_status st = load_view(&ov, on, view);
    if (st == MLOPS_OK)
        st = mlops__fdata_get(&data, on->fs, ov->def);
    if (st == MLOPS_OK)
        st = mlops__flatest_rows(&rows, &n, env, data, ov->def, start_us, end_us);
    if (st == MLOPS_OK) {
        st = writer_init(&w, on, ov);
        have_w = true;
    }
    bool same_store = on->online == on->fs->store;
    if (st == MLOPS_OK && same_store) {
        w.mat_klen = mlops__fkey(w.mat_key, 'm', view);
        w.mat_val[0] = 1;
        mlops__put_u64le(w.mat_val + 1, (uint64_t)end_us);
    }
    if (st == MLOPS_OK) {
        const mlops_feature_table *t = data->t;
        const mlops__fcol *kc[MLOPS_FEATURE_MAX_KEYS];
        for (size_t k = 0; k < ov->def->n_keys; k++)
            kc[k] = &t->cols[data->key_col[k]];
        const mlops__fcol **feat = mlops__calloc(env, ov->nf ? ov->nf : 1, sizeof(void *));
        if (feat == NULL)
            st = mlops__nomem();
        else {
            for (size_t s = 0; s < ov->nf; s++) {
                int ci = mlops__table_find(t, ov->def->features[ov->slot_feat[s]].name);
                feat[s] = ci >= 0 ? &t->cols[ci] : NULL;
            }
            st = write_rows(&w, kc, &t->cols[data->ts_col],
                            data->cr_col >= 0 ? &t->cols[data->cr_col] : NULL, feat, rows, n);
            mlops__free(env, feat);
        }
    }
    if (st == MLOPS_OK && !same_store)
        st = put_mat_state(on, view, end_us);
    if (st == MLOPS_OK && written_out)
        *written_out = w.written;
    if (have_w)
        writer_free(&w);
    pthread_rwlock_unlock(&on->lock);
    mlops__free(env, rows);
    mlops__fdata_unref(env, data);
    return st;
}

mlops_status mlops_feature_online_materialize_incremental(uint64_t *written_out,
                                                          mlops_feature_online *on,
                                                          const char *view, int64_t end_us)
{
    if (written_out)
        *written_out = 0;
    if (on == NULL || view == NULL)
        return mlops__error(MLOPS_E_INVALID, "online handle or view is NULL");
    int64_t start = 0;
    mlops_status st = get_mat_state(on, view, &start);
    if (st == MLOPS_E_NOTFOUND) {
        mlops__fdef *d = NULL;
        st = mlops__fdef_load(&d, NULL, on->fs, view, 0);
        if (st != MLOPS_OK)
            return st;
        int64_t ttl = d->ttl_us;
        mlops__fdef_free(on->env, d);
        if (ttl == 0)
            return mlops__error(MLOPS_E_INVALID,
                                "view '%s' was never materialized and has no TTL, so an "
                                "incremental materialization has no start; give a start time",
                                view);
        start = mlops__now_ns(on->env) / 1000 - ttl;
    } else if (st != MLOPS_OK)
        return st;
    if (end_us < start)
        return mlops__error(MLOPS_E_INVALID,
                            "materialize '%s': end %lld is before the last materialized end %lld",
                            view, (long long)end_us, (long long)start);
    return mlops_feature_online_materialize(written_out, on, view, start, end_us);
}

mlops_status mlops_feature_online_push(uint64_t *written_out, mlops_feature_online *on,
                                       const char *view, const mlops_feature_table *table)
{
    if (written_out)
        *written_out = 0;
    if (on == NULL || view == NULL || table == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    const mlops_env *env = on->env;
    pthread_rwlock_wrlock(&on->lock);
    oview *ov = NULL;
    mlops__fcol conv[MLOPS_FEATURE_MAX_KEYS + 2];
    memset(conv, 0, sizeof(conv));
    mlops__fcol *fconv = NULL;
    const mlops__fcol **feat = NULL;
    writer w;
    bool have_w = false;
    mlops_status st = load_view(&ov, on, view);
    const mlops__fdef *d = ov ? ov->def : NULL;
    if (st == MLOPS_OK) {
        fconv = mlops__calloc(env, ov->nf ? ov->nf : 1, sizeof(mlops__fcol));
        feat = mlops__calloc(env, ov->nf ? ov->nf : 1, sizeof(void *));
        if (fconv == NULL || feat == NULL)
            st = mlops__nomem();
    }
    size_t ncv = 0;
    const mlops__fcol *kc[MLOPS_FEATURE_MAX_KEYS];
    for (size_t i = 0; st == MLOPS_OK && i < (d ? d->n_keys + 2 : 0); i++) {
        const char *name = i < d->n_keys ? d->keys[i] : i == d->n_keys ? d->ts : d->created;
        if (name == NULL)
            continue;
        int ci = mlops__table_find(table, name);
        if (ci < 0) {
            if (i == d->n_keys + 1)
                continue; /* created is optional in a push */
            st = mlops__error(MLOPS_E_INVALID, "push to '%s': the input has no column '%s'",
                              view, name);
            break;
        }
        st = mlops__fcol_convert(&conv[i], env, table, (size_t)ci,
                                 i < d->n_keys ? d->key_types[i] : MLOPS_FEATURE_INT64, 0,
                                 i >= d->n_keys);
        if (st != MLOPS_OK)
            break;
        ncv = i + 1;
        if (conv[i].valid)
            for (size_t r = 0; r < table->n_rows; r++)
                if (!conv[i].valid[r]) {
                    st = mlops__error(MLOPS_E_INVALID, "push to '%s': %s %llu: '%s' is null",
                                      view, MLOPS__WHERE(table),
                                      (unsigned long long)mlops__table_line(table, r), name);
                    break;
                }
        if (i < d->n_keys)
            kc[i] = &conv[i];
    }
    for (size_t s = 0; st == MLOPS_OK && s < ov->nf; s++) {
        const mlops__fdef_feature *f = &d->features[ov->slot_feat[s]];
        int ci = mlops__table_find(table, f->name);
        if (ci < 0)
            continue;
        st = mlops__fcol_convert(&fconv[s], env, table, (size_t)ci, f->type, f->dim, false);
        feat[s] = &fconv[s];
    }
    if (st == MLOPS_OK) {
        st = writer_init(&w, on, ov);
        have_w = true;
    }
    if (st == MLOPS_OK)
        st = write_rows(&w, kc, &conv[d->n_keys],
                        d->created && conv[d->n_keys + 1].data ? &conv[d->n_keys + 1] : NULL,
                        feat, NULL, table->n_rows);
    if (st == MLOPS_OK && written_out)
        *written_out = w.written;
    if (have_w)
        writer_free(&w);
    pthread_rwlock_unlock(&on->lock);
    for (size_t i = 0; i < ncv; i++)
        mlops__fcol_release(env, &conv[i]);
    for (size_t s = 0; fconv && s < ov->nf; s++)
        if (feat[s])
            mlops__fcol_release(env, &fconv[s]);
    mlops__free(env, fconv);
    mlops__free(env, feat);
    return st;
}

/* ---- reading ---- */

static mlops_status entity_key(uint8_t *out, size_t *len_out, const mlops__fdef *d,
                               const char *const *key_names, size_t n_key_names,
                               const char *const *vals)
{
    size_t len = 0;
    for (size_t k = 0; k < d->n_keys; k++) {
        size_t j = 0;
        while (j < n_key_names && (key_names[j] == NULL || strcmp(key_names[j], d->keys[k]) != 0))
            j++;
        if (j == n_key_names)
            return mlops__error(MLOPS_E_INVALID, "no value for join key '%s' of view '%s'",
                                d->keys[k], d->name);
        const char *v = vals[j];
        if (v == NULL)
            return mlops__error(MLOPS_E_INVALID, "join key '%s' is NULL", d->keys[k]);
        size_t n = strlen(v);
        if (d->key_types[k] == MLOPS_FEATURE_INT64) {
            int64_t x;
            if (!mlops__parse_i64(v, n, &x))
                return mlops__error(MLOPS_E_INVALID, "join key '%s': '%.60s' is not an int64",
                                    d->keys[k], v);
            len += mlops__fkey_encode_i64(out + len, x);
        } else {
            size_t w = mlops__fkey_encode_str(out + len, 2048 - len, v, n);
            if (w == 0)
                return mlops__error(MLOPS_E_TOOBIG, "join key '%s' is too long", d->keys[k]);
            len += w;
        }
    }
    *len_out = len;
    return MLOPS_OK;
}

static void value_from_slot(mlops_feature_value *o, const mlops__fdef_feature *f, const oval *v,
                            size_t s)
{
    o->type = f->type;
    if (!OV_PRESENT(v)[s]) {
        o->status = MLOPS_FEATURE_NULL_VALUE;
        return;
    }
    o->status = MLOPS_FEATURE_PRESENT;
    uint64_t x = OV_SLOTS(v)[s];
    switch (f->type) {
    case MLOPS_FEATURE_INT64:
    case MLOPS_FEATURE_BOOL:
        o->i64 = (int64_t)x;
        break;
    case MLOPS_FEATURE_FLOAT64:
        memcpy(&o->f64, &x, 8);
        break;
    case MLOPS_FEATURE_STRING:
        o->str = (const char *)v + x;
        o->len = strlen(o->str);
        break;
    default:
        o->vec = (const float *)(const void *)((const uint8_t *)v + x);
        o->len = f->dim;
        break;
    }
}

static double slot_f64(const mlops__fdef_feature *f, const oval *v, size_t s)
{
    uint64_t x = OV_SLOTS(v)[s];
    if (f->type == MLOPS_FEATURE_FLOAT64) {
        double d;
        memcpy(&d, &x, 8);
        return d;
    }
    return (double)(int64_t)x;
}

typedef struct rref {
    size_t view; /* index into on->views */
    int fi;
    const mlops__fdef_feature *f;
    mlops_feature_fn fn;
    void *pl;
    size_t slot; /* index of this ref's view among the call's distinct views */
} rref;

/* Resolve refs under the read lock; 1 if a view must be loaded first
 * (*missing names it), 0 when resolved, <0 on error. */
static int resolve_refs(rref *rr, size_t *n_distinct, size_t *distinct, mlops_feature_online *on,
                        const char *const *refs, size_t n_refs, char *missing, size_t cap)
{
    *n_distinct = 0;
    for (size_t j = 0; j < n_refs; j++) {
        const char *r = refs[j];
        const char *colon = r ? strchr(r, ':') : NULL;
        if (colon == NULL || colon == r || colon[1] == 0)
            return mlops__error(MLOPS_E_INVALID, "feature ref '%.200s' must be 'view:feature'",
                                r ? r : "(null)");
        char vname[MLOPS_FEATURE_MAX_NAME + 1];
        uint32_t ver;
        mlops_status st = mlops__fref_split_view(vname, sizeof(vname), &ver, r,
                                                 (size_t)(colon - r));
        if (st != MLOPS_OK)
            return st;
        oview *ov = find_view(on, vname, strlen(vname));
        if (ov == NULL) {
            snprintf(missing, cap, "%s", vname);
            return 1;
        }
        const mlops__fdef *d = ov->def;
        if (ver && ver != d->version)
            return mlops__error(MLOPS_E_NOTFOUND,
                                "the online store serves view '%s' at v%u; '%s' is not served",
                                vname, d->version, r);
        int fi = mlops__fdef_feature_index(d, colon + 1);
        if (fi < 0)
            return mlops__error(MLOPS_E_NOTFOUND, "feature view '%s' has no feature '%s'", vname,
                                colon + 1);
        rr[j].view = (size_t)(ov - on->views);
        rr[j].fi = fi;
        rr[j].f = &d->features[fi];
        rr[j].fn = NULL;
        rr[j].pl = NULL;
        if (rr[j].f->transform == MLOPS_TRANSFORM_FUNCTION &&
            !mlops__ffn_find(on->fs, rr[j].f->function, &rr[j].fn, &rr[j].pl))
            return mlops__error(MLOPS_E_NOTFOUND,
                                "function '%s' used by '%s' is not registered on this feature "
                                "store",
                                rr[j].f->function, r);
        size_t k = 0;
        while (k < *n_distinct && distinct[k] != rr[j].view)
            k++;
        if (k == *n_distinct)
            distinct[(*n_distinct)++] = rr[j].view;
        rr[j].slot = k;
    }
    return 0;
}

mlops_status mlops_feature_online_get(mlops_feature_value *out, mlops_feature_online *on,
                                      const char *const *refs, size_t n_refs,
                                      const char *const *key_names, size_t n_key_names,
                                      const char *const *key_values, size_t n_entities)
{
    if (out == NULL || on == NULL || refs == NULL || (n_entities && key_values == NULL) ||
        (n_key_names && key_names == NULL))
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    if (n_refs == 0 || n_refs > MLOPS_FEATURE_MAX_FEATURES * 16)
        return mlops__error(MLOPS_E_INVALID, "%zu refs; 1 to %d are allowed", n_refs,
                            MLOPS_FEATURE_MAX_FEATURES * 16);
    memset(out, 0, n_refs * n_entities * sizeof(*out));
    const mlops_env *env = on->env;
    /* small calls use the stack: a lookup allocates nothing */
    rref rr_stack[16];
    size_t dv_stack[16];
    const oval *vals_stack[16];
    rref *rr = rr_stack;
    size_t *distinct = dv_stack;
    const oval **vals = vals_stack;
    if (n_refs > 16) {
        rr = mlops__malloc(env, n_refs * sizeof(rref));
        distinct = mlops__malloc(env, n_refs * sizeof(size_t));
        vals = mlops__malloc(env, n_refs * sizeof(oval *));
        if (rr == NULL || distinct == NULL || vals == NULL) {
            mlops__free(env, rr);
            mlops__free(env, distinct);
            mlops__free(env, vals);
            return mlops__nomem();
        }
    }
    int64_t now = mlops__now_ns(env) / 1000;
    mlops_status st = MLOPS_OK;
    size_t nd = 0;
    char missing[MLOPS_FEATURE_MAX_NAME + 1];
    pthread_rwlock_rdlock(&on->lock);
    for (int tries = 0;; tries++) {
        int rc = resolve_refs(rr, &nd, distinct, on, refs, n_refs, missing, sizeof(missing));
        if (rc <= 0) {
            st = rc;
            break;
        }
        /* load the missing view under the write lock, then resolve again */
        pthread_rwlock_unlock(&on->lock);
        pthread_rwlock_wrlock(&on->lock);
        oview *ov = NULL;
        st = load_view(&ov, on, missing);
        pthread_rwlock_unlock(&on->lock);
        pthread_rwlock_rdlock(&on->lock);
        if (st != MLOPS_OK)
            break;
        if (tries > (int)n_refs + 4) {
            st = mlops__error(MLOPS_E_INTERNAL, "views keep vanishing");
            break;
        }
    }
    for (size_t i = 0; i < n_entities && st == MLOPS_OK; i++) {
        /* one key and one probe per view, whatever the number of its refs */
        for (size_t k = 0; k < nd && st == MLOPS_OK; k++) {
            const oview *ov = &on->views[distinct[k]];
            uint8_t key[2048];
            size_t klen = 0;
            st = entity_key(key, &klen, ov->def, key_names, n_key_names,
                            key_values + i * n_key_names);
            if (st == MLOPS_OK)
                vals[k] = ov_find(ov, key, klen, mlops__xxh3_64(key, klen, 0));
        }
        for (size_t j = 0; j < n_refs && st == MLOPS_OK; j++) {
            mlops_feature_value *o = &out[i * n_refs + j];
            const oview *ov = &on->views[rr[j].view];
            const mlops__fdef *d = ov->def;
            const mlops__fdef_feature *f = rr[j].f;
            const oval *v = vals[rr[j].slot];
            o->type = f->type;
            if (v == NULL) {
                o->status = MLOPS_FEATURE_NOT_FOUND;
                continue;
            }
            o->event_us = v->ev;
            if (d->ttl_us > 0 && v->ev < now - d->ttl_us) {
                o->status = MLOPS_FEATURE_OUTSIDE_MAX_AGE;
                continue;
            }
            if (f->transform == MLOPS_TRANSFORM_NONE) {
                value_from_slot(o, f, v, (size_t)ov->fslot[rr[j].fi]);
                continue;
            }
            double x[8], y;
            bool ok = true;
            for (int k = 0; k < f->n_in && ok; k++) {
                int sl = ov->fslot[f->in_idx[k]];
                if (!OV_PRESENT(v)[sl])
                    ok = false;
                else
                    x[k] = slot_f64(&d->features[f->in_idx[k]], v, (size_t)sl);
            }
            int rc = ok ? mlops__transform_eval(f, rr[j].fn, rr[j].pl, x, (size_t)f->n_in, &y)
                        : 1;
            if (rc < 0) {
                st = rc;
                break;
            }
            if (rc == 1) {
                o->status = MLOPS_FEATURE_NULL_VALUE;
                continue;
            }
            o->status = MLOPS_FEATURE_PRESENT;
            if (f->type == MLOPS_FEATURE_INT64)
                o->i64 = (int64_t)y;
            else
                o->f64 = y;
        }
    }
    pthread_rwlock_unlock(&on->lock);
    if (rr != rr_stack) {
        mlops__free(env, rr);
        mlops__free(env, distinct);
        mlops__free(env, vals);
    }
    return st;
}

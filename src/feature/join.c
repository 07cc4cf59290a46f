/* SPDX-License-Identifier: MIT */
/* The point-in-time join, the time-range read, and on-demand transformations.
 *
 * The feature rows of a view are put in order once: every row gets a dense
 * key id (directly from the value for one int64 key in a compact range,
 * otherwise through a hash table), a stable counting sort groups rows by
 * key id, and each group is sorted by (event, created, ingest order). The
 * winner for an entity row (k, t) is then the last row of k's group with
 * event <= t, which is found by a binary search in a small group; the TTL
 * bound and the "as of knowledge" rule are checked from there. Entity rows
 * are independent, so they are split between threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feature/feature_internal.h"

/* ---- transformations (shared by joins and online reads) ---- */

int mlops__transform_eval(const mlops__fdef_feature *f, mlops_feature_fn fn, void *payload,
                          const double *in, size_t n_in, double *out)
{
    switch (f->transform) {
    case MLOPS_TRANSFORM_LOG1P:
        if (!(in[0] > -1.0))
            return 1;
        *out = log1p(in[0]);
        return 0;
    case MLOPS_TRANSFORM_RATIO:
        if (in[1] == 0.0 || isnan(in[1]))
            return 1;
        *out = in[0] / in[1];
        return 0;
    case MLOPS_TRANSFORM_BUCKETIZE: {
        if (isnan(in[0]))
            return 1;
        size_t lo = 0, hi = f->n_params;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (f->params[mid] <= in[0])
                lo = mid + 1;
            else
                hi = mid;
        }
        *out = (double)lo;
        return 0;
    }
    case MLOPS_TRANSFORM_STANDARDIZE:
        *out = (in[0] - f->params[0]) / f->params[1];
        return 0;
    case MLOPS_TRANSFORM_FUNCTION: {
        int rc = fn(out, in, n_in, payload);
        if (rc == 0 || rc == 1)
            return rc;
        return mlops__error(MLOPS_E_CALLBACK, "function '%s' of feature '%s' returned %d",
                            f->function, f->name, rc);
    }
    default:
        return mlops__error(MLOPS_E_INTERNAL, "unknown transformation %u", f->transform);
    }
}

static double cell_f64(const mlops__fcol *c, size_t row)
{
    switch (c->type) {
    case MLOPS_FEATURE_INT64:
        return (double)((const int64_t *)c->data)[row];
    case MLOPS_FEATURE_FLOAT64:
        return ((const double *)c->data)[row];
    case MLOPS_FEATURE_BOOL:
        return ((const uint8_t *)c->data)[row];
    default:
        return NAN;
    }
}

/* ---- key ids ---- */

typedef struct keymap {
    bool direct;
    int64_t min;
    uint64_t range;
    size_t mask;
    uint64_t *hashes; /* per slot */
    uint32_t *ids;    /* per slot; UINT32_MAX empty */
    uint32_t *rep;    /* per id: a feature row with that key */
    size_t n_ids, cap_ids;
} keymap;

typedef struct keycols {
    size_t n;
    const mlops__fcol *c[MLOPS_FEATURE_MAX_KEYS];
} keycols;

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t key_hash(const keycols *k, size_t row)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < k->n; i++) {
        const mlops__fcol *c = k->c[i];
        uint64_t x;
        if (c->type == MLOPS_FEATURE_INT64)
            x = (uint64_t)((const int64_t *)c->data)[row];
        else {
            size_t n;
            const char *s = mlops__fcol_str(c, row, &n);
            x = mlops__xxh3_64(s, n, 0);
        }
        h = mix64(h ^ x) + i;
    }
    return mix64(h);
}

static bool key_eq(const keycols *a, size_t ra, const keycols *b, size_t rb)
{
    for (size_t i = 0; i < a->n; i++) {
        const mlops__fcol *x = a->c[i], *y = b->c[i];
        if (x->type == MLOPS_FEATURE_INT64) {
            if (((const int64_t *)x->data)[ra] != ((const int64_t *)y->data)[rb])
                return false;
        } else {
            size_t n1, n2;
            const char *s1 = mlops__fcol_str(x, ra, &n1), *s2 = mlops__fcol_str(y, rb, &n2);
            if (n1 != n2 || memcmp(s1, s2, n1) != 0)
                return false;
        }
    }
    return true;
}

static bool key_null(const keycols *k, size_t row)
{
    for (size_t i = 0; i < k->n; i++)
        if (!mlops__fcol_valid(k->c[i], row))
            return true;
    return false;
}

static void keymap_free(const mlops_env *env, keymap *m)
{
    mlops__free(env, m->hashes);
    mlops__free(env, m->ids);
    mlops__free(env, m->rep);
    memset(m, 0, sizeof(*m));
}

/* Give every feature row a key id. */
static mlops_status keymap_build(keymap *m, uint32_t *fid, const mlops_env *env,
                                 const keycols *fk, size_t M)
{
    memset(m, 0, sizeof(*m));
    /* A null key (a join key added by a later definition is null in older
     * rows) matches no entity: such rows get no id (UINT32_MAX). */
    bool nulls = false;
    for (size_t r = 0; r < M && !nulls; r++)
        nulls = key_null(fk, r);
    if (fk->n == 1 && fk->c[0]->type == MLOPS_FEATURE_INT64 && M > 0 && !nulls) {
        const int64_t *v = fk->c[0]->data;
        int64_t lo = v[0], hi = v[0];
        for (size_t i = 1; i < M; i++) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        uint64_t range = (uint64_t)hi - (uint64_t)lo + 1;
        if (range != 0 && range <= 4 * (uint64_t)M + 4096 && range < UINT32_MAX) {
            m->direct = true;
            m->min = lo;
            m->range = range;
            m->n_ids = (size_t)range;
            for (size_t i = 0; i < M; i++)
                fid[i] = (uint32_t)((uint64_t)v[i] - (uint64_t)lo);
            return MLOPS_OK;
        }
    }
    size_t slots = 16;
    while (slots < 2 * M)
        slots *= 2;
    m->mask = slots - 1;
    m->hashes = mlops__malloc(env, slots * sizeof(uint64_t));
    m->ids = mlops__malloc(env, slots * sizeof(uint32_t));
    if (m->hashes == NULL || m->ids == NULL) {
        keymap_free(env, m);
        return mlops__nomem();
    }
    memset(m->ids, 0xff, slots * sizeof(uint32_t));
    for (size_t r = 0; r < M; r++) {
        if (nulls && key_null(fk, r)) {
            fid[r] = UINT32_MAX;
            continue;
        }
        uint64_t h = key_hash(fk, r);
        size_t s = (size_t)h & m->mask;
        for (;;) {
            uint32_t id = m->ids[s];
            if (id == UINT32_MAX) {
                if (mlops__reserve(env, (void **)&m->rep, &m->cap_ids, m->n_ids + 1,
                                   sizeof(uint32_t)) != MLOPS_OK) {
                    keymap_free(env, m);
                    return mlops__nomem();
                }
                m->ids[s] = (uint32_t)m->n_ids;
                m->hashes[s] = h;
                m->rep[m->n_ids] = (uint32_t)r;
                fid[r] = (uint32_t)m->n_ids++;
                break;
            }
            if (m->hashes[s] == h && key_eq(fk, m->rep[id], fk, r)) {
                fid[r] = id;
                break;
            }
            s = (s + 1) & m->mask;
        }
    }
    return MLOPS_OK;
}

static inline uint32_t keymap_find(const keymap *m, const keycols *fk, const keycols *ek,
                                   size_t row)
{
    if (m->direct) {
        uint64_t d = (uint64_t)((const int64_t *)ek->c[0]->data)[row] - (uint64_t)m->min;
        return d < m->range ? (uint32_t)d : UINT32_MAX;
    }
    if (m->ids == NULL)
        return UINT32_MAX;
    uint64_t h = key_hash(ek, row);
    size_t s = (size_t)h & m->mask;
    for (;;) {
        uint32_t id = m->ids[s];
        if (id == UINT32_MAX)
            return UINT32_MAX;
        if (m->hashes[s] == h && key_eq(fk, m->rep[id], ek, row))
            return id;
        s = (s + 1) & m->mask;
    }
}

/* ---- the sorted feature rows ---- */

typedef struct frow {
    int64_t ev;
    int64_t cr;
    uint32_t row;
    uint32_t pad;
} frow;

/* The index of a view's offline data: rows grouped by key id, each group
 * sorted by (event, created, ingest order), kept as separate arrays so a
 * group's event times are contiguous. Built once per data version and
 * cached with the decoded data. */
typedef struct prep {
    keymap km;
    keycols fk;
    uint32_t *off; /* n_ids + 1 */
    int64_t *ev;   /* sorted event times */
    int64_t *cr;   /* sorted created times (0 when the view has none) */
    uint32_t *row; /* the row of each sorted position */
} prep;

static int frow_cmp(const void *a, const void *b)
{
    const frow *x = a, *y = b;
    if (x->ev != y->ev)
        return x->ev < y->ev ? -1 : 1;
    if (x->cr != y->cr)
        return x->cr < y->cr ? -1 : 1;
    return x->row < y->row ? -1 : (x->row > y->row);
}

static void prep_free(const mlops_env *env, prep *p)
{
    keymap_free(env, &p->km);
    mlops__free(env, p->off);
    mlops__free(env, p->ev);
    mlops__free(env, p->cr);
    mlops__free(env, p->row);
}

static mlops_status prep_build(prep *p, const mlops_env *env, const mlops__fdata *data,
                               const mlops__fdef *d)
{
    memset(p, 0, sizeof(*p));
    const mlops_feature_table *t = data->t;
    size_t M = t->n_rows;
    p->fk.n = d->n_keys;
    for (size_t i = 0; i < d->n_keys; i++)
        p->fk.c[i] = &t->cols[data->key_col[i]];
    const int64_t *ev = t->cols[data->ts_col].data;
    const int64_t *cr = data->cr_col >= 0 ? t->cols[data->cr_col].data : NULL;
    uint32_t *fid = mlops__malloc(env, (M ? M : 1) * sizeof(uint32_t));
    if (fid == NULL)
        return mlops__nomem();
    mlops_status st = keymap_build(&p->km, fid, env, &p->fk, M);
    if (st != MLOPS_OK) {
        mlops__free(env, fid);
        return st;
    }
    size_t K = p->km.n_ids, G = K; /* G: groups, with one of null keys after the K found */
    for (size_t i = 0; i < M; i++)
        if (fid[i] == UINT32_MAX) {
            fid[i] = (uint32_t)K;
            G = K + 1;
        }
    frow *rows = mlops__malloc(env, (M ? M : 1) * sizeof(frow));
    p->off = mlops__calloc(env, G + 2, sizeof(uint32_t));
    p->ev = mlops__malloc(env, (M ? M : 1) * sizeof(int64_t));
    p->cr = mlops__malloc(env, (M ? M : 1) * sizeof(int64_t));
    p->row = mlops__malloc(env, (M ? M : 1) * sizeof(uint32_t));
    if (rows == NULL || p->off == NULL || p->ev == NULL || p->cr == NULL || p->row == NULL) {
        mlops__free(env, fid);
        mlops__free(env, rows);
        prep_free(env, p);
        return mlops__nomem();
    }
    /* a stable counting sort by key id keeps ingest order inside each group */
    uint32_t *cnt = p->off + 1;
    for (size_t i = 0; i < M; i++)
        cnt[fid[i]]++;
    uint32_t acc = 0;
    for (size_t k = 0; k <= G; k++) {
        uint32_t c = p->off[k];
        p->off[k] = acc;
        acc += c;
    }
    uint32_t *cur = p->off + 1; /* cur[k] walks group k; it ends at group k's end */
    for (size_t i = 0; i < M; i++) {
        frow *f = &rows[cur[fid[i]]++];
        f->ev = ev[i];
        f->cr = cr ? cr[i] : 0;
        f->row = (uint32_t)i;
        f->pad = 0;
    }
    mlops__free(env, fid);
    for (size_t k = 0; k < K; k++) {
        frow *g = rows + p->off[k];
        size_t n = p->off[k + 1] - p->off[k];
        if (n > 32) {
            qsort(g, n, sizeof(frow), frow_cmp);
        } else {
            for (size_t i = 1; i < n; i++) { /* stable: equal keys keep ingest order */
                frow x = g[i];
                size_t j = i;
                while (j > 0 &&
                       (g[j - 1].ev > x.ev || (g[j - 1].ev == x.ev && g[j - 1].cr > x.cr))) {
                    g[j] = g[j - 1];
                    j--;
                }
                g[j] = x;
            }
        }
    }
    for (size_t i = 0; i < M; i++) {
        p->ev[i] = rows[i].ev;
        p->cr[i] = rows[i].cr;
        p->row[i] = rows[i].row;
    }
    mlops__free(env, rows);
    return MLOPS_OK;
}

void mlops__fidx_free(const mlops_env *env, void *index)
{
    if (index == NULL)
        return;
    prep_free(env, index);
    mlops__free(env, index);
}

/* The cached index of the data (built by the first join that needs it). */
static mlops_status prep_get(const prep **out, const mlops_env *env, mlops__fdata *data,
                             const mlops__fdef *d)
{
    void *cur = atomic_load(&data->index);
    if (cur == NULL) {
        prep *p = mlops__malloc(env, sizeof(*p));
        if (p == NULL)
            return mlops__nomem();
        mlops_status st = prep_build(p, env, data, d);
        if (st != MLOPS_OK) {
            mlops__free(env, p);
            return st;
        }
        if (atomic_compare_exchange_strong(&data->index, &cur, (void *)p))
            cur = p;
        else
            mlops__fidx_free(env, p); /* another thread built it first */
    }
    *out = cur;
    return MLOPS_OK;
}

/* ---- matching ---- */

typedef struct match_job {
    const prep *p;
    const keycols *ek;
    const int64_t *ets;
    const uint8_t *ets_valid;
    int64_t ttl;
    bool knowledge;
    size_t lo, hi;
    uint32_t *match;
    /* gather */
    mlops__fcol **out_cols;
    const mlops__fcol **src_cols;
    size_t n_gather;
    mlops__fcol *out_ev; /* matched event / created times, or NULL */
    mlops__fcol *out_cr;
} match_job;

/* The sorted position of the winner in group id for time t, or UINT32_MAX. */
static inline uint32_t match_pos(const prep *p, uint32_t id, int64_t t, int64_t ttl,
                                 bool knowledge)
{
    size_t g0 = p->off[id];
    const int64_t *g = p->ev + g0;
    size_t n = p->off[id + 1] - g0;
    /* last index with ev <= t */
    size_t lo = 0;
    while (n > 0) {
        size_t half = n >> 1;
        if (g[lo + half] <= t) {
            lo += half + 1;
            n -= half + 1;
        } else
            n = half;
    }
    if (lo == 0)
        return UINT32_MAX;
    int64_t min_ev = INT64_MIN;
    if (ttl > 0)
        min_ev = t < INT64_MIN + ttl ? INT64_MIN : t - ttl;
    size_t j = lo - 1;
    if (knowledge) {
        for (;;) {
            if (g[j] < min_ev)
                return UINT32_MAX;
            if (p->cr[g0 + j] <= t)
                return (uint32_t)(g0 + j);
            if (j == 0)
                return UINT32_MAX;
            j--;
        }
    }
    return g[j] >= min_ev ? (uint32_t)(g0 + j) : UINT32_MAX;
}

static void gather_range(const match_job *j)
{
    for (size_t c = 0; c < j->n_gather; c++) {
        const mlops__fcol *s = j->src_cols[c];
        mlops__fcol *o = j->out_cols[c];
        size_t w = mlops__ftype_width(s->type, s->dim);
        for (size_t i = j->lo; i < j->hi; i++) {
            uint32_t r = j->match[i];
            if (r == UINT32_MAX || !mlops__fcol_valid(s, r)) {
                o->valid[i] = 0;
                continue;
            }
            if (w == 8)
                ((uint64_t *)o->data)[i] = ((const uint64_t *)s->data)[r];
            else
                memcpy((uint8_t *)o->data + i * w, (const uint8_t *)s->data + (size_t)r * w, w);
        }
    }
}

#define BATCH 16

/* Entity rows in batches: find the key ids and prefetch their groups, then
 * search the groups and prefetch the winners' values, then copy them. The
 * random reads of a batch overlap instead of waiting one after another. */
static void *match_run(void *arg)
{
    match_job *j = arg;
    const prep *p = j->p;
    const bool simple = j->n_gather <= 16;
    for (size_t base = j->lo; base < j->hi; base += BATCH) {
        size_t n = j->hi - base < BATCH ? j->hi - base : BATCH;
        uint32_t ids[BATCH], pos[BATCH];
        for (size_t k = 0; k < n; k++) {
            size_t i = base + k;
            uint32_t id = UINT32_MAX;
            if ((j->ets_valid == NULL || j->ets_valid[i]) && !key_null(j->ek, i))
                id = keymap_find(&p->km, &p->fk, j->ek, i);
            ids[k] = id;
            if (id != UINT32_MAX)
                __builtin_prefetch(&p->off[id]);
        }
        for (size_t k = 0; k < n; k++)
            if (ids[k] != UINT32_MAX) {
                uint32_t g0 = p->off[ids[k]];
                __builtin_prefetch(&p->ev[g0]);
                __builtin_prefetch(&p->row[g0]);
            }
        for (size_t k = 0; k < n; k++) {
            size_t i = base + k;
            uint32_t q = ids[k] == UINT32_MAX
                             ? UINT32_MAX
                             : match_pos(p, ids[k], j->ets[i], j->ttl, j->knowledge);
            pos[k] = q;
            uint32_t r = q == UINT32_MAX ? UINT32_MAX : p->row[q];
            j->match[i] = r;
            if (r != UINT32_MAX && simple)
                for (size_t c = 0; c < j->n_gather; c++) {
                    const mlops__fcol *s = j->src_cols[c];
                    __builtin_prefetch((const uint8_t *)s->data +
                                       (size_t)r * mlops__ftype_width(s->type, s->dim));
                }
        }
        if (j->out_ev)
            for (size_t k = 0; k < n; k++) {
                size_t i = base + k;
                if (pos[k] == UINT32_MAX) {
                    j->out_ev->valid[i] = 0;
                    if (j->out_cr)
                        j->out_cr->valid[i] = 0;
                } else {
                    ((int64_t *)j->out_ev->data)[i] = p->ev[pos[k]];
                    if (j->out_cr)
                        ((int64_t *)j->out_cr->data)[i] = p->cr[pos[k]];
                }
            }
        if (simple) {
            match_job sub = *j;
            sub.lo = base;
            sub.hi = base + n;
            gather_range(&sub);
        }
    }
    if (!simple)
        gather_range(j);
    return NULL;
}

/* ---- refs ---- */

typedef struct vref {
    char name[MLOPS_FEATURE_MAX_NAME + 1];
    uint32_t version;
    mlops__fdef *def;
    mlops__fdata *data;
} vref;

typedef struct fref {
    size_t view;
    int feat;
    char *out_name;
} fref;

typedef struct refset {
    vref *views;
    size_t n_views;
    fref *refs;
    size_t n_refs;
} refset;

static void refset_free(mlops_feature_store *fs, refset *rs)
{
    for (size_t i = 0; i < rs->n_views; i++) {
        mlops__fdef_free(fs->env, rs->views[i].def);
        mlops__fdata_unref(fs->env, rs->views[i].data);
    }
    for (size_t i = 0; i < rs->n_refs; i++)
        mlops__free(fs->env, rs->refs[i].out_name);
    mlops__free(fs->env, rs->views);
    mlops__free(fs->env, rs->refs);
}

static mlops_status refset_parse(refset *rs, mlops_feature_store *fs, const char *const *refs,
                                 size_t n_refs, bool full_names, bool load_data)
{
    memset(rs, 0, sizeof(*rs));
    if (refs == NULL || n_refs == 0)
        return mlops__error(MLOPS_E_INVALID, "no feature refs given");
    if (n_refs > 100000)
        return mlops__error(MLOPS_E_TOOBIG, "%zu feature refs; at most 100000", n_refs);
    rs->views = mlops__calloc(fs->env, n_refs, sizeof(vref));
    rs->refs = mlops__calloc(fs->env, n_refs, sizeof(fref));
    if (rs->views == NULL || rs->refs == NULL)
        return mlops__nomem();
    for (size_t i = 0; i < n_refs; i++) {
        const char *r = refs[i];
        if (r == NULL)
            return mlops__error(MLOPS_E_INVALID, "feature ref %zu is NULL", i);
        const char *colon = strchr(r, ':');
        if (colon == NULL || colon == r || colon[1] == 0)
            return mlops__error(MLOPS_E_INVALID,
                                "feature ref '%.200s' must be 'view:feature' or "
                                "'view@vN:feature'",
                                r);
        char vname[MLOPS_FEATURE_MAX_NAME + 1];
        uint32_t ver;
        mlops_status st = mlops__fref_split_view(vname, sizeof(vname), &ver, r, (size_t)(colon - r));
        if (st != MLOPS_OK)
            return st;
        size_t v = 0;
        for (; v < rs->n_views; v++)
            if (strcmp(rs->views[v].name, vname) == 0 && rs->views[v].version == ver)
                break;
        if (v == rs->n_views) {
            vref *vr = &rs->views[rs->n_views];
            memcpy(vr->name, vname, strlen(vname) + 1);
            vr->version = ver;
            st = mlops__fdef_load(&vr->def, NULL, fs, vname, ver);
            if (st != MLOPS_OK)
                return st;
            rs->n_views++;
        }
        const mlops__fdef *d = rs->views[v].def;
        int k = mlops__fdef_feature_index(d, colon + 1);
        if (k < 0)
            return mlops__error(MLOPS_E_NOTFOUND, "feature view '%s' (v%u) has no feature '%s'",
                                vname, d->version, colon + 1);
        rs->refs[i].view = v;
        rs->refs[i].feat = k;
        mlops__buf b;
        mlops__buf_init(&b, fs->env);
        /* a failed append leaves the buffer empty: the column would be
         * named "" */
        mlops_status bst = full_names ? mlops__buf_printf(&b, "%s__%s", vname, colon + 1)
                                      : mlops__buf_printf(&b, "%s", colon + 1);
        rs->refs[i].out_name = bst == MLOPS_OK ? mlops__buf_take_str(&b) : NULL;
        mlops__buf_free(&b);
        rs->n_refs++;
        if (rs->refs[i].out_name == NULL)
            return mlops__nomem();
        const mlops__fdef_feature *f = &d->features[k];
        if (f->transform == MLOPS_TRANSFORM_FUNCTION) {
            mlops_feature_fn fn;
            void *pl;
            if (!mlops__ffn_find(fs, f->function, &fn, &pl))
                return mlops__error(MLOPS_E_NOTFOUND,
                                    "function '%s' used by '%s:%s' is not registered on this "
                                    "feature store",
                                    f->function, vname, f->name);
        }
    }
    if (load_data) {
        for (size_t v = 0; v < rs->n_views; v++) {
            mlops_status st = mlops__fdata_get(&rs->views[v].data, fs, rs->views[v].def);
            if (st != MLOPS_OK)
                return st;
        }
    }
    return MLOPS_OK;
}

/* ---- output helpers ---- */

static mlops_status copy_col(mlops_feature_table *out, const mlops__fcol *src, size_t n)
{
    mlops_status st;
    mlops__fcol *c = mlops__table_add(out, src->name, src->type, src->dim, n, &st);
    if (c == NULL)
        return st;
    if (src->type == MLOPS_FEATURE_STRING) {
        memcpy(c->data, src->data, (n + 1) * sizeof(uint64_t));
        const uint64_t *o = src->data;
        c->sdata = mlops__malloc(out->env, o[n] ? o[n] : 1);
        if (c->sdata == NULL)
            return mlops__nomem();
        memcpy(c->sdata, src->sdata, o[n]);
        c->slen = c->scap = o[n];
    } else if (n)
        memcpy(c->data, src->data, n * mlops__ftype_width(src->type, src->dim));
    if (src->valid) {
        st = mlops__fcol_alloc_valid(out->env, c, n);
        if (st != MLOPS_OK)
            return st;
        memcpy(c->valid, src->valid, n);
    }
    return MLOPS_OK;
}

/* Fill an output column from matched rows (strings and on-demand features;
 * fixed-width ingested features are gathered by the workers). */
static mlops_status fill_col(mlops__fcol *o, mlops_feature_store *fs, const vref *vr, int feat,
                             const uint32_t *match, size_t n)
{
    const mlops__fdef *d = vr->def;
    const mlops__fdef_feature *f = &d->features[feat];
    const mlops_feature_table *t = vr->data->t;
    mlops_status st = MLOPS_OK;
    if (f->transform == MLOPS_TRANSFORM_NONE && f->type != MLOPS_FEATURE_STRING) {
        match_job j;
        memset(&j, 0, sizeof(j));
        j.hi = n;
        j.match = (uint32_t *)match;
        mlops__fcol *oc[1] = {o};
        const mlops__fcol *sc[1] = {&t->cols[mlops__table_find(t, f->name)]};
        j.out_cols = oc;
        j.src_cols = sc;
        j.n_gather = 1;
        gather_range(&j);
        return MLOPS_OK;
    }
    if (f->transform == MLOPS_TRANSFORM_NONE) {
        int ci = mlops__table_find(t, f->name);
        const mlops__fcol *s = &t->cols[ci];
        for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
            uint32_t r = match[i];
            bool ok = r != UINT32_MAX && mlops__fcol_valid(s, r);
            size_t len = 0;
            const char *str = ok ? mlops__fcol_str(s, r, &len) : "";
            st = mlops__fcol_push_str(fs->env, o, i, str, len, ok);
        }
        return st;
    }
    mlops_feature_fn fn = NULL;
    void *pl = NULL;
    if (f->transform == MLOPS_TRANSFORM_FUNCTION && !mlops__ffn_find(fs, f->function, &fn, &pl))
        return mlops__error(MLOPS_E_NOTFOUND, "function '%s' is not registered", f->function);
    const mlops__fcol *in[8];
    for (int k = 0; k < f->n_in; k++)
        in[k] = &t->cols[mlops__table_find(t, d->features[f->in_idx[k]].name)];
    for (size_t i = 0; i < n; i++) {
        uint32_t r = match[i];
        bool ok = r != UINT32_MAX;
        double x[8], y = 0;
        for (int k = 0; ok && k < f->n_in; k++) {
            if (!mlops__fcol_valid(in[k], r))
                ok = false;
            else
                x[k] = cell_f64(in[k], r);
        }
        if (ok) {
            int rc = mlops__transform_eval(f, fn, pl, x, (size_t)f->n_in, &y);
            if (rc < 0)
                return rc;
            ok = rc == 0;
        }
        if (!ok)
            o->valid[i] = 0;
        else if (o->type == MLOPS_FEATURE_INT64)
            ((int64_t *)o->data)[i] = (int64_t)y;
        else
            ((double *)o->data)[i] = y;
    }
    return MLOPS_OK;
}

static mlops__fcol *add_out(mlops_feature_table *out, const char *name, uint32_t type,
                            uint32_t dim, size_t n, mlops_status *st)
{
    if (mlops__table_find(out, name) >= 0) {
        *st = mlops__error(MLOPS_E_INVALID,
                           "output column '%s' appears twice (an input column or another "
                           "view's feature); use full names (view__feature)",
                           name);
        return NULL;
    }
    mlops__fcol *c = mlops__table_add(out, name, type, dim, n, st);
    if (c && type != MLOPS_FEATURE_STRING) {
        *st = mlops__fcol_alloc_valid(out->env, c, n);
        if (*st != MLOPS_OK)
            return NULL;
    }
    return c;
}

mlops_status mlops_feature_store_join(mlops_feature_table **out, mlops_feature_store *fs,
                                      const mlops_feature_table *entities,
                                      const char *const *refs, size_t n_refs,
                                      const mlops_feature_join_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (fs == NULL || entities == NULL)
        return mlops__error(MLOPS_E_INVALID, "feature store or entity table is NULL");
    mlops_feature_join_options o = MLOPS_FEATURE_JOIN_OPTIONS_INIT;
    if (opts) {
        if (opts->version < 1 || opts->version > MLOPS_FEATURE_JOIN_OPTIONS_VERSION)
            return mlops__error(MLOPS_E_VERSION, "join options version %u is not 1..%d",
                                opts->version, MLOPS_FEATURE_JOIN_OPTIONS_VERSION);
        o = *opts;
    }
    if (o.flags & ~(uint32_t)7)
        return mlops__error(MLOPS_E_INVALID, "unknown join flags 0x%x", o.flags);
    const mlops_env *env = fs->env;
    size_t N = entities->n_rows;
    refset rs;
    mlops_feature_table *res = NULL;
    uint32_t *match = NULL;
    mlops__fcol ets;
    memset(&ets, 0, sizeof(ets));
    mlops_status st = refset_parse(&rs, fs, refs, n_refs, (o.flags & MLOPS_JOIN_FULL_NAMES) != 0,
                                   true);
    if (st != MLOPS_OK)
        goto out;
    /* the entity timestamp column */
    const char *tsname = o.timestamp;
    int tcol = -1;
    if (tsname)
        tcol = mlops__table_find(entities, tsname);
    else {
        tcol = mlops__table_find(entities, "event_timestamp");
        tsname = "event_timestamp";
        if (tcol < 0) {
            tsname = rs.views[0].def->ts;
            tcol = mlops__table_find(entities, tsname);
        }
    }
    if (tcol < 0) {
        st = mlops__error(MLOPS_E_INVALID,
                          "the entity table has no timestamp column '%s' (name it "
                          "'event_timestamp' or choose it in the options)",
                          tsname);
        goto out;
    }
    st = mlops__fcol_convert(&ets, env, entities, (size_t)tcol, MLOPS_FEATURE_INT64, 0, true);
    if (st != MLOPS_OK)
        goto out;
    st = mlops_feature_table_create(&res, fs->env);
    for (size_t c = 0; c < entities->n_cols && st == MLOPS_OK; c++)
        st = copy_col(res, &entities->cols[c], N);
    if (st != MLOPS_OK)
        goto out;
    if (N > 0 && entities->lines) {
        res->lines = mlops__malloc(env, N * sizeof(uint64_t));
        if (res->lines)
            memcpy(res->lines, entities->lines, N * sizeof(uint64_t));
    }
    res->n_rows = N;
    /* output columns in ref order */
    size_t ncol0 = res->n_cols;
    for (size_t i = 0; i < rs.n_refs && st == MLOPS_OK; i++) {
        const mlops__fdef_feature *f = &rs.views[rs.refs[i].view].def->features[rs.refs[i].feat];
        add_out(res, rs.refs[i].out_name, f->type, f->dim, N, &st);
    }
    if (st == MLOPS_OK && (o.flags & MLOPS_JOIN_TIMESTAMPS)) {
        for (size_t v = 0; v < rs.n_views && st == MLOPS_OK; v++) {
            char nm[MLOPS_FEATURE_MAX_NAME * 2 + 32];
            snprintf(nm, sizeof(nm), "%s__event_timestamp", rs.views[v].name);
            if (add_out(res, nm, MLOPS_FEATURE_INT64, 0, N, &st) == NULL)
                break;
            snprintf(nm, sizeof(nm), "%s__created_timestamp", rs.views[v].name);
            add_out(res, nm, MLOPS_FEATURE_INT64, 0, N, &st);
        }
    }
    if (st != MLOPS_OK)
        goto out;
    match = mlops__malloc(env, (N ? N : 1) * sizeof(uint32_t));
    if (match == NULL) {
        st = mlops__nomem();
        goto out;
    }
    for (size_t v = 0; v < rs.n_views && st == MLOPS_OK; v++) {
        vref *vr = &rs.views[v];
        const mlops__fdef *d = vr->def;
        keycols ek;
        mlops__fcol kc[MLOPS_FEATURE_MAX_KEYS];
        memset(kc, 0, sizeof(kc));
        ek.n = d->n_keys;
        for (size_t k = 0; k < d->n_keys && st == MLOPS_OK; k++) {
            int ci = mlops__table_find(entities, d->keys[k]);
            if (ci < 0) {
                st = mlops__error(MLOPS_E_INVALID,
                                  "the entity table has no join key column '%s' of view '%s'",
                                  d->keys[k], d->name);
                break;
            }
            st = mlops__fcol_convert(&kc[k], env, entities, (size_t)ci, d->key_types[k], 0,
                                     false);
            if (st == MLOPS_OK && entities->cols[ci].type != d->key_types[k] &&
                entities->cols[ci].type != MLOPS_FEATURE_STRING) {
                st = mlops__error(MLOPS_E_INVALID, "join key '%s' is %s in the entity table but %s "
                                  "in view '%s'", d->keys[k],
                                  mlops__ftype_name(entities->cols[ci].type),
                                  mlops__ftype_name(d->key_types[k]), d->name);
            }
            ek.c[k] = &kc[k];
        }
        const prep *p = NULL;
        if (st == MLOPS_OK)
            st = prep_get(&p, env, vr->data, d);
        /* fixed-width ingested features are gathered by the workers */
        mlops__fcol *gout[64 + 2];
        const mlops__fcol *gsrc[64 + 2];
        size_t ng = 0;
        if (st == MLOPS_OK) {
            for (size_t i = 0; i < rs.n_refs && ng < 64; i++) {
                if (rs.refs[i].view != v)
                    continue;
                const mlops__fdef_feature *f = &d->features[rs.refs[i].feat];
                if (f->transform != MLOPS_TRANSFORM_NONE || f->type == MLOPS_FEATURE_STRING)
                    continue;
                gout[ng] = &res->cols[ncol0 + i];
                gsrc[ng] = &vr->data->t->cols[mlops__table_find(vr->data->t, f->name)];
                ng++;
            }
            mlops__fcol *out_ev = NULL, *out_cr = NULL;
            if (o.flags & MLOPS_JOIN_TIMESTAMPS) {
                size_t base = ncol0 + rs.n_refs + 2 * v;
                out_ev = &res->cols[base];
                if (vr->data->cr_col >= 0)
                    out_cr = &res->cols[base + 1];
                else
                    memset(res->cols[base + 1].valid, 0, N);
            }
            unsigned nt = o.threads ? o.threads : 2;
            if (nt > 64)
                nt = 64;
            if (N < 50000)
                nt = 1;
            match_job jobs[64];
            pthread_t th[64];
            bool started[64] = {false};
            for (unsigned k = 0; k < nt; k++) {
                match_job *j = &jobs[k];
                memset(j, 0, sizeof(*j));
                j->p = p;
                j->ek = &ek;
                j->out_ev = out_ev;
                j->out_cr = out_cr;
                j->ets = ets.data;
                j->ets_valid = ets.valid;
                j->ttl = d->ttl_us;
                j->knowledge = (o.flags & MLOPS_JOIN_AS_OF_KNOWLEDGE) != 0;
                j->lo = N * k / nt;
                j->hi = N * (k + 1) / nt;
                j->match = match;
                j->out_cols = gout;
                j->src_cols = gsrc;
                j->n_gather = ng;
                if (k > 0 && pthread_create(&th[k], NULL, match_run, j) == 0)
                    started[k] = true;
            }
            match_run(&jobs[0]);
            for (unsigned k = 1; k < nt; k++) {
                if (started[k])
                    pthread_join(th[k], NULL);
                else
                    match_run(&jobs[k]);
            }
            /* the rest: strings, on-demand features, refs beyond the gather table */
            size_t seen = 0;
            for (size_t i = 0; i < rs.n_refs && st == MLOPS_OK; i++) {
                if (rs.refs[i].view != v)
                    continue;
                const mlops__fdef_feature *f = &d->features[rs.refs[i].feat];
                bool gathered = f->transform == MLOPS_TRANSFORM_NONE &&
                                f->type != MLOPS_FEATURE_STRING && seen++ < 64;
                if (!gathered)
                    st = fill_col(&res->cols[ncol0 + i], fs, vr, rs.refs[i].feat, match, N);
            }
        }
        for (size_t k = 0; k < d->n_keys; k++)
            mlops__fcol_release(env, &kc[k]);
    }
out:
    mlops__free(env, match);
    mlops__fcol_release(env, &ets);
    refset_free(fs, &rs);
    if (st != MLOPS_OK)
        mlops_feature_table_free(res);
    else
        *out = res;
    return st;
}

mlops_status mlops__flatest_rows(uint32_t **rows_out, size_t *count_out, const mlops_env *env,
                                 mlops__fdata *data, const mlops__fdef *d, int64_t start_us,
                                 int64_t end_us)
{
    *rows_out = NULL;
    *count_out = 0;
    const prep *p = NULL;
    mlops_status st = prep_get(&p, env, data, d);
    if (st != MLOPS_OK)
        return st;
    size_t K = p->km.n_ids;
    uint32_t *rows = mlops__malloc(env, (K ? K : 1) * sizeof(uint32_t));
    if (rows == NULL)
        return mlops__nomem();
    size_t n = 0;
    for (size_t k = 0; k < K; k++) {
        const int64_t *g = p->ev + p->off[k];
        size_t cnt = p->off[k + 1] - p->off[k];
        size_t lo = 0, hi = cnt;
        while (lo < hi) {
            size_t mid = (lo + hi) >> 1;
            if (g[mid] <= end_us)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && g[lo - 1] >= start_us)
            rows[n++] = p->row[p->off[k] + lo - 1];
    }
    *rows_out = rows;
    *count_out = n;
    return MLOPS_OK;
}

mlops_status mlops_feature_store_latest(mlops_feature_table **out, mlops_feature_store *fs,
                                        const char *const *refs, size_t n_refs, int64_t start_us,
                                        int64_t end_us)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (fs == NULL)
        return mlops__error(MLOPS_E_INVALID, "feature store is NULL");
    if (end_us < start_us)
        return mlops__error(MLOPS_E_INVALID, "the window end %lld is before its start %lld",
                            (long long)end_us, (long long)start_us);
    const mlops_env *env = fs->env;
    refset rs;
    mlops_feature_table *res = NULL;
    uint32_t *rows = NULL;
    size_t n = 0;
    mlops_status st = refset_parse(&rs, fs, refs, n_refs, false, true);
    if (st == MLOPS_OK && rs.n_views != 1)
        st = mlops__error(MLOPS_E_INVALID, "a time-range read takes refs of one view; got %zu",
                          rs.n_views);
    if (st != MLOPS_OK)
        goto out;
    vref *vr = &rs.views[0];
    st = mlops__flatest_rows(&rows, &n, env, vr->data, vr->def, start_us, end_us);
    if (st == MLOPS_OK)
        st = mlops_feature_table_create(&res, fs->env);
    if (st != MLOPS_OK)
        goto out;
    const mlops_feature_table *t = vr->data->t;
    size_t ncols = vr->def->n_keys + 1;
    for (size_t c = 0; c < ncols && st == MLOPS_OK; c++) {
        const mlops__fcol *s = &t->cols[c < vr->def->n_keys ? vr->data->key_col[c]
                                                            : vr->data->ts_col];
        mlops__fcol *o = add_out(res, s->name, s->type, 0, n, &st);
        for (size_t i = 0; o && i < n && st == MLOPS_OK; i++) {
            if (s->type == MLOPS_FEATURE_STRING) {
                size_t len;
                const char *str = mlops__fcol_str(s, rows[i], &len);
                st = mlops__fcol_push_str(env, o, i, str, len, true);
            } else
                ((int64_t *)o->data)[i] = ((const int64_t *)s->data)[rows[i]];
        }
    }
    res->n_rows = n;
    for (size_t i = 0; i < rs.n_refs && st == MLOPS_OK; i++) {
        const mlops__fdef_feature *f = &vr->def->features[rs.refs[i].feat];
        mlops__fcol *o = add_out(res, rs.refs[i].out_name, f->type, f->dim, n, &st);
        if (o == NULL)
            break;
        st = fill_col(o, fs, vr, rs.refs[i].feat, rows, n);
    }
out:
    mlops__free(env, rows);
    refset_free(fs, &rs);
    if (st != MLOPS_OK)
        mlops_feature_table_free(res);
    else
        *out = res;
    return st;
}

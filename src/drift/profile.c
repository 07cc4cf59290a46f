/* SPDX-License-Identifier: MIT */
/* Column profiles: counts, moments (Chan's parallel formula), the PSI
 * histogram, a KLL sketch, optionally the raw values, or category counts. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "drift/drift_internal.h"

#define REC_PROFILE 1
#define REC_PROFILE_VERSION 1
#define REC_KLL 2
#define CHUNK 2048

mlops_status mlops__drift_check_name(const char *name, const char *what)
{
    if (name == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s name is NULL", what);
    size_t len = strlen(name);
    if (len == 0 || len > MLOPS__DRIFT_MAX_NAME)
        return mlops__error(MLOPS_E_INVALID, "%s name must be 1 to %d bytes, got %zu", what,
                            MLOPS__DRIFT_MAX_NAME, len);
    if (!mlops__utf8_valid(name, len))
        return mlops__error(MLOPS_E_INVALID, "%s name is not valid UTF-8", what);
    return MLOPS_OK;
}

void mlops__jb_append(mlops__buf *b, const void *data, size_t len)
{
    if (b->len == SIZE_MAX)
        return;
    if (mlops__buf_append(b, data, len) != MLOPS_OK) {
        mlops__buf_free(b);
        b->len = SIZE_MAX;
    }
}

void mlops__jb_putc(mlops__buf *b, uint8_t c)
{
    mlops__jb_append(b, &c, 1);
}

void mlops__jb_printf(mlops__buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        /* callers format short fields only; a longer one is a bug, not data */
        mlops__buf_free(b);
        b->len = SIZE_MAX;
        return;
    }
    mlops__jb_append(b, tmp, (size_t)n);
}

char *mlops__jb_take(mlops__buf *b)
{
    if (b->len == SIZE_MAX) {
        b->len = 0;
        return NULL;
    }
    return mlops__buf_take_str(b);
}

void mlops__json_str(mlops__buf *b, const char *s)
{
    if (s == NULL) {
        mlops__jb_append(b, "null", 4);
        return;
    }
    mlops__jb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            mlops__jb_putc(b, '\\');
            mlops__jb_putc(b, *p);
        } else if (*p < 0x20) {
            mlops__jb_printf(b, "\\u%04x", *p);
        } else {
            mlops__jb_putc(b, *p);
        }
    }
    mlops__jb_putc(b, '"');
}

void mlops__json_f64(mlops__buf *b, double v)
{
    if (!isfinite(v)) {
        mlops__jb_append(b, "null", 4);
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    mlops__jb_append(b, tmp, strlen(tmp));
}

static mlops_status check_opts(mlops_drift_profile_options *o,
                               const mlops_drift_profile_options *in)
{
    memset(o, 0, sizeof(*o));
    o->version = MLOPS_DRIFT_PROFILE_OPTIONS_VERSION;
    if (in != NULL) {
        if (in->version < 1 || in->version > MLOPS_DRIFT_PROFILE_OPTIONS_VERSION)
            return mlops__error(MLOPS_E_VERSION, "profile options version %u is not supported",
                                in->version);
        *o = *in;
    }
    if (o->type == 0)
        o->type = MLOPS_DRIFT_NUMERIC;
    if (o->type != MLOPS_DRIFT_NUMERIC && o->type != MLOPS_DRIFT_CATEGORICAL)
        return mlops__error(MLOPS_E_INVALID, "profile type %u is not numeric (1) or categorical (2)",
                            o->type);
    if (o->bins == 0)
        o->bins = MLOPS__DRIFT_DEFAULT_BINS;
    if (o->bins < 1 || o->bins > MLOPS_DRIFT_MAX_BINS)
        return mlops__error(MLOPS_E_INVALID, "bins must be 1 to %u, got %u", MLOPS_DRIFT_MAX_BINS,
                            o->bins);
    if (o->sketch_k == 0)
        o->sketch_k = MLOPS__DRIFT_DEFAULT_K;
    if (o->sketch_k < 8 || o->sketch_k > 65535)
        return mlops__error(MLOPS_E_INVALID, "sketch_k must be 8 to 65535, got %u", o->sketch_k);
    if (o->max_categories == 0)
        o->max_categories = MLOPS__DRIFT_DEFAULT_MAXCAT;
    if (o->max_categories < 2 || o->max_categories > 65536)
        return mlops__error(MLOPS_E_INVALID, "max_categories must be 2 to 65536, got %u",
                            o->max_categories);
    if (o->edges != NULL || o->n_edges != 0) {
        if (o->edges == NULL)
            return mlops__error(MLOPS_E_INVALID, "n_edges is %zu but edges is NULL", o->n_edges);
        if (o->n_edges == 0 || o->n_edges > MLOPS_DRIFT_MAX_BINS - 1)
            return mlops__error(MLOPS_E_INVALID, "n_edges must be 1 to %u, got %zu",
                                MLOPS_DRIFT_MAX_BINS - 1, o->n_edges);
        for (size_t i = 0; i < o->n_edges; i++) {
            if (!isfinite(o->edges[i]))
                return mlops__error(MLOPS_E_INVALID, "edge %zu is not finite", i);
            if (i > 0 && o->edges[i] < o->edges[i - 1])
                return mlops__error(MLOPS_E_INVALID, "edges must ascend; edge %zu (%g) < edge %zu (%g)",
                                    i, o->edges[i], i - 1, o->edges[i - 1]);
        }
    }
    return MLOPS_OK;
}

mlops_status mlops_drift_profile_options_init(mlops_drift_profile_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_DRIFT_PROFILE_OPTIONS_VERSION,
                               "drift profile options");
}

static mlops_status set_edges(mlops_drift_profile *p, const double *edges, size_t ne)
{
    double *e = mlops__malloc(p->env, (ne ? ne : 1) * sizeof(double));
    uint64_t *h = mlops__calloc(p->env, ne + 1, sizeof(uint64_t));
    if (e == NULL || h == NULL) {
        mlops__free(p->env, e);
        mlops__free(p->env, h);
        return mlops__nomem();
    }
    if (ne)
        memcpy(e, edges, ne * sizeof(double));
    /* quantiles of values near +-DBL_MAX can overflow while interpolating:
     * keep every edge finite and the edges sorted, or the profile would
     * not decode again */
    for (size_t i = 0; i < ne; i++)
        if (!isfinite(e[i]))
            e[i] = e[i] > 0 ? DBL_MAX : -DBL_MAX;
    for (size_t i = 1; i < ne; i++)
        for (size_t j = i; j > 0 && e[j] < e[j - 1]; j--) {
            double t = e[j];
            e[j] = e[j - 1];
            e[j - 1] = t;
        }
    mlops__free(p->env, p->edges);
    mlops__free(p->env, p->hist);
    p->edges = e;
    p->hist = h;
    p->n_edges = ne;
    p->edges_fixed = true;
    p->hist_estimated = false;
    return MLOPS_OK;
}

static mlops_status profile_new(mlops_drift_profile **out, mlops_env *env, const char *name,
                                const mlops_drift_profile_options *o)
{
    mlops_drift_profile *p = mlops__calloc(env, 1, sizeof(*p));
    if (p == NULL)
        return mlops__nomem();
    p->env = mlops__env_ref(env);
    p->name = mlops__strdup(env, name);
    if (p->name == NULL) {
        mlops_drift_profile_free(p);
        return mlops__nomem();
    }
    p->type = o->type;
    p->bins_req = o->bins;
    p->max_cat = o->max_categories;
    p->keep_values = o->keep_values;
    p->raw_complete = true;
    p->mean = 0.0;
    p->min = INFINITY;
    p->max = -INFINITY;
    mlops__kll_init(&p->kll, env, o->sketch_k, mlops__xxh3_64(name, strlen(name), 42) | 1);
    if (o->type == MLOPS_DRIFT_NUMERIC && o->edges != NULL) {
        mlops_status st = set_edges(p, o->edges, o->n_edges);
        if (st != MLOPS_OK) {
            mlops_drift_profile_free(p);
            return st;
        }
    }
    *out = p;
    return MLOPS_OK;
}

mlops_status mlops_drift_profile_create(mlops_drift_profile **out, mlops_env *env,
                                        const char *name, const mlops_drift_profile_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    mlops_status st = mlops__drift_check_name(name, "column");
    if (st != MLOPS_OK)
        return st;
    mlops_drift_profile_options o;
    st = check_opts(&o, opts);
    if (st != MLOPS_OK)
        return st;
    return profile_new(out, env, name, &o);
}

void mlops_drift_profile_free(mlops_drift_profile *p)
{
    if (p == NULL)
        return;
    mlops_env *env = p->env;
    mlops__free(env, p->name);
    mlops__free(env, p->edges);
    mlops__free(env, p->hist);
    mlops__free(env, p->raw);
    mlops__kll_free(&p->kll);
    for (size_t i = 0; i < p->n_cats; i++)
        mlops__free(env, p->cats[i].s);
    mlops__free(env, p->cats);
    mlops__free(env, p->index);
    mlops__free(env, p);
    mlops__env_unref(env);
}

const char *mlops_drift_profile_name(const mlops_drift_profile *p)
{
    return p ? p->name : NULL;
}

/* ---- numeric updates ---- */

static mlops_status add_numeric(mlops_drift_profile *p, const double *x, size_t n)
{
    /* raw values first: the only allocation besides the sketch's */
    if (p->raw_complete) {
        size_t nn = 0;
        for (size_t i = 0; i < n; i++)
            nn += !isnan(x[i]);
        if ((uint64_t)p->n_raw + nn <= p->keep_values) {
            if (p->n_raw + nn > p->raw_cap) {
                size_t cap = p->raw_cap ? p->raw_cap : 64;
                while (cap < p->n_raw + nn)
                    cap *= 2;
                double *r = mlops__realloc(p->env, p->raw, cap * sizeof(double));
                if (r == NULL)
                    return mlops__nomem();
                p->raw = r;
                p->raw_cap = cap;
            }
            for (size_t i = 0; i < n; i++)
                if (!isnan(x[i]))
                    p->raw[p->n_raw++] = x[i];
        } else {
            mlops__free(p->env, p->raw);
            p->raw = NULL;
            p->n_raw = p->raw_cap = 0;
            p->raw_complete = false;
        }
    }
    double fb[CHUNK];
    for (size_t off = 0; off < n; off += CHUNK) {
        size_t m = n - off < CHUNK ? n - off : CHUNK;
        const double *c = x + off;
        /* one branchless pass: compact the finite values, sum, min, max */
        size_t nf = 0;
        double sum = 0.0, mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < m; i++) {
            double v = c[i];
            bool fin = fabs(v) < INFINITY;
            fb[nf] = v;
            nf += fin;
            double w = fin ? v : 0.0;
            sum += w;
            mn = (fin && v < mn) ? v : mn;
            mx = (fin && v > mx) ? v : mx;
        }
        uint64_t nan = 0, pinf = 0, ninf = 0;
        if (nf < m)
            for (size_t i = 0; i < m; i++) {
                double v = c[i];
                nan += v != v;
                pinf += v == INFINITY;
                ninf += v == -INFINITY;
            }
        p->nan += nan;
        p->missing += nan;
        p->pinf += pinf;
        p->ninf += ninf;
        if (p->edges_fixed) {
            uint64_t dummy = 0;
            mlops__bin_count(p->edges, p->n_edges, fb, nf, p->hist, &dummy);
            p->hist[0] += ninf;
            p->hist[p->n_edges] += pinf;
        }
        if (nf > 0) {
            double s = sum;
            double mb = s / (double)nf, m2b = 0.0;
            for (size_t i = 0; i < nf; i++) {
                double d = fb[i] - mb;
                m2b += d * d;
            }
            double na = (double)p->nfinite, nb = (double)nf, nt = na + nb;
            double delta = mb - p->mean;
            p->mean += delta * nb / nt;
            p->m2 += m2b + delta * delta * na * nb / nt;
            p->nfinite += nf;
            if (mn < p->min)
                p->min = mn;
            if (mx > p->max)
                p->max = mx;
            mlops_status st = mlops__kll_add(&p->kll, fb, nf);
            if (st != MLOPS_OK)
                return st;
        }
        p->count += m;
    }
    return MLOPS_OK;
}

mlops_status mlops_drift_profile_add(mlops_drift_profile *p, const double *values, size_t n)
{
    if (p == NULL || (values == NULL && n > 0))
        return mlops__error(MLOPS_E_INVALID, "profile or values is NULL");
    if (p->type != MLOPS_DRIFT_NUMERIC)
        return mlops__error(MLOPS_E_INVALID,
                            "column '%s' is categorical; add strings, not numbers", p->name);
    return add_numeric(p, values, n);
}

mlops_status mlops_drift_profile_add_missing(mlops_drift_profile *p, uint64_t n)
{
    if (p == NULL)
        return mlops__error(MLOPS_E_INVALID, "profile is NULL");
    p->missing += n;
    p->count += n;
    return MLOPS_OK;
}

/* ---- categories ---- */

static uint64_t cat_hash(const char *s, size_t len)
{
    return mlops__xxh3_64(s, len, 0x5bd1e995);
}

long mlops__drift_cat_find(const mlops_drift_profile *p, const char *s, size_t len)
{
    if (p->index_cap == 0)
        return -1;
    size_t mask = p->index_cap - 1, i = (size_t)cat_hash(s, len) & mask;
    while (p->index[i] != 0) {
        const mlops__cat *c = &p->cats[p->index[i] - 1];
        if (c->len == len && memcmp(c->s, s, len) == 0)
            return (long)(p->index[i] - 1);
        i = (i + 1) & mask;
    }
    return -1;
}

static mlops_status rebuild_index(mlops_drift_profile *p, size_t want)
{
    size_t cap = 16;
    while (cap < want * 2)
        cap *= 2;
    uint32_t *idx = mlops__calloc(p->env, cap, sizeof(uint32_t));
    if (idx == NULL)
        return mlops__nomem();
    for (size_t k = 0; k < p->n_cats; k++) {
        size_t i = (size_t)cat_hash(p->cats[k].s, p->cats[k].len) & (cap - 1);
        while (idx[i] != 0)
            i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)(k + 1);
    }
    mlops__free(p->env, p->index);
    p->index = idx;
    p->index_cap = cap;
    return MLOPS_OK;
}

static int cmp_cat_desc(const void *a, const void *b)
{
    const mlops__cat *x = a, *y = b;
    if (x->c != y->c)
        return x->c > y->c ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->s, y->s, x->len);
}

/* Keep the max_cat most frequent categories; the rest go to "other". */
static mlops_status prune(mlops_drift_profile *p)
{
    if (p->n_cats <= p->max_cat)
        return MLOPS_OK;
    qsort(p->cats, p->n_cats, sizeof(mlops__cat), cmp_cat_desc);
    for (size_t k = p->max_cat; k < p->n_cats; k++) {
        p->other += p->cats[k].c;
        mlops__free(p->env, p->cats[k].s);
    }
    p->n_cats = p->max_cat;
    return rebuild_index(p, 2 * (size_t)p->max_cat);
}

static mlops_status cat_add(mlops_drift_profile *p, const char *s, size_t len, uint64_t c)
{
    long k = mlops__drift_cat_find(p, s, len);
    if (k >= 0) {
        p->cats[k].c += c;
        return MLOPS_OK;
    }
    if (p->n_cats >= 2 * (size_t)p->max_cat) {
        mlops_status st = prune(p);
        if (st != MLOPS_OK)
            return st;
    }
    if (p->n_cats + 1 > p->cats_cap) {
        size_t cap = p->cats_cap ? p->cats_cap * 2 : 16;
        mlops__cat *nc = mlops__realloc(p->env, p->cats, cap * sizeof(mlops__cat));
        if (nc == NULL)
            return mlops__nomem();
        p->cats = nc;
        p->cats_cap = cap;
    }
    if ((p->n_cats + 1) * 2 > p->index_cap) {
        mlops_status st = rebuild_index(p, p->n_cats + 1 > 8 ? (p->n_cats + 1) * 2 : 16);
        if (st != MLOPS_OK)
            return st;
    }
    char *copy = mlops__strndup(p->env, s, len);
    if (copy == NULL)
        return mlops__nomem();
    mlops__cat *e = &p->cats[p->n_cats];
    e->s = copy;
    e->len = (uint32_t)len;
    e->c = c;
    size_t mask = p->index_cap - 1, i = (size_t)cat_hash(s, len) & mask;
    while (p->index[i] != 0)
        i = (i + 1) & mask;
    p->index[i] = (uint32_t)(p->n_cats + 1);
    p->n_cats++;
    return MLOPS_OK;
}

static void swap_profiles(mlops_drift_profile *a, mlops_drift_profile *b);

/* Add validated strings. With bumped (room for one entry per non-NULL
 * value), a failure undoes the call: no prune can happen (the caller
 * checked), so new categories sit at the end and are dropped, counts of
 * existing ones are taken back, and the index is rebuilt in place. */
static mlops_status add_strings_to(mlops_drift_profile *p, const char *const *values, size_t n,
                                   uint32_t *bumped)
{
    size_t n_cats0 = p->n_cats, nb = 0;
    uint64_t count0 = p->count, missing0 = p->missing;
    mlops_status st = MLOPS_OK;
    for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
        if (values[i] == NULL) {
            p->missing++;
        } else {
            size_t len = strlen(values[i]);
            long k = bumped ? mlops__drift_cat_find(p, values[i], len) : -1;
            if (k >= 0 && (size_t)k < n_cats0) {
                p->cats[k].c++;
                bumped[nb++] = (uint32_t)k;
            } else {
                st = cat_add(p, values[i], len, 1);
            }
        }
        if (st == MLOPS_OK)
            p->count++;
    }
    if (st == MLOPS_OK || bumped == NULL)
        return st;
    for (size_t j = 0; j < nb; j++)
        p->cats[bumped[j]].c--;
    for (size_t k = n_cats0; k < p->n_cats; k++)
        mlops__free(p->env, p->cats[k].s);
    p->n_cats = n_cats0;
    p->count = count0;
    p->missing = missing0;
    size_t cap = p->index_cap;
    if (p->index)
        memset(p->index, 0, cap * sizeof(uint32_t));
    for (size_t k = 0; k < p->n_cats; k++) {
        size_t i = (size_t)cat_hash(p->cats[k].s, p->cats[k].len) & (cap - 1);
        while (p->index[i] != 0)
            i = (i + 1) & (cap - 1);
        p->index[i] = (uint32_t)(k + 1);
    }
    return st;
}

mlops_status mlops_drift_profile_add_strings(mlops_drift_profile *p, const char *const *values,
                                             size_t n)
{
    if (p == NULL || (values == NULL && n > 0))
        return mlops__error(MLOPS_E_INVALID, "profile or values is NULL");
    if (p->type != MLOPS_DRIFT_CATEGORICAL)
        return mlops__error(MLOPS_E_INVALID,
                            "column '%s' is numeric; add numbers, not strings", p->name);
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL)
            continue;
        size_t len = strnlen(values[i], MLOPS__DRIFT_MAX_CAT_LEN + 1);
        if (len > MLOPS__DRIFT_MAX_CAT_LEN)
            return mlops__error(MLOPS_E_INVALID, "value %zu of column '%s' is longer than %d bytes",
                                i, p->name, MLOPS__DRIFT_MAX_CAT_LEN);
        if (!mlops__utf8_valid(values[i], len))
            return mlops__error(MLOPS_E_INVALID, "value %zu of column '%s' is not valid UTF-8", i,
                                p->name);
    }
    /* All or nothing (a failed call changes nothing). A call that may
     * prune (which folds categories into "other") works on a copy;
     * otherwise new categories are appended and undone on failure. */
    size_t nv = 0;
    for (size_t i = 0; i < n; i++)
        nv += values[i] != NULL;
    if (p->n_cats + nv >= 2 * (size_t)p->max_cat) {
        mlops_drift_profile *t = NULL;
        mlops_status st = mlops__drift_profile_clone(&t, p);
        if (st != MLOPS_OK)
            return st;
        st = add_strings_to(t, values, n, NULL);
        if (st == MLOPS_OK)
            swap_profiles(p, t);
        mlops_drift_profile_free(t);
        return st;
    }
    uint32_t *bumped = NULL;
    if (nv > 0 && (bumped = mlops__malloc(p->env, nv * sizeof(uint32_t))) == NULL)
        return mlops__nomem();
    mlops_status st = add_strings_to(p, values, n, bumped);
    mlops__free(p->env, bumped);
    return st;
}

/* ---- edges and histograms ---- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

mlops_status mlops__drift_fix_edges(mlops_drift_profile *p)
{
    if (p->type != MLOPS_DRIFT_NUMERIC || p->edges_fixed)
        return MLOPS_OK;
    if (p->nfinite == 0)
        return mlops__error(MLOPS_E_INSUFFICIENT,
                            "column '%s' has no finite value to take PSI bin edges from", p->name);
    size_t nq = p->bins_req - 1;
    double q[MLOPS_DRIFT_MAX_BINS], e[MLOPS_DRIFT_MAX_BINS];
    for (size_t i = 0; i < nq; i++)
        q[i] = (double)(i + 1) / (double)p->bins_req;
    mlops_status st = MLOPS_OK;
    if (p->raw_complete) {
        double *tmp = mlops__malloc(p->env, p->nfinite * sizeof(double));
        if (tmp == NULL)
            return mlops__nomem();
        size_t m = 0;
        for (size_t i = 0; i < p->n_raw; i++)
            if (isfinite(p->raw[i]))
                tmp[m++] = p->raw[i];
        mlops__quantiles_select(tmp, m, q, nq, e);
        mlops__free(p->env, tmp);
        st = set_edges(p, e, nq);
        if (st != MLOPS_OK)
            return st;
        uint64_t dummy = 0;
        mlops__bin_count(p->edges, p->n_edges, p->raw, p->n_raw, p->hist, &dummy);
        return MLOPS_OK;
    }
    mlops__kll_view v;
    st = mlops__kll_view_make(&v, &p->kll);
    if (st != MLOPS_OK)
        return st;
    for (size_t i = 0; i < nq; i++)
        e[i] = mlops__kll_view_quantile(&v, q[i]);
    mlops__kll_view_free(p->env, &v);
    qsort(e, nq, sizeof(double), cmp_d);
    st = set_edges(p, e, nq);
    if (st != MLOPS_OK)
        return st;
    bool est = false;
    p->edges_fixed = false; /* so the counts come from the sketch, not the empty bins */
    st = mlops__drift_hist_against(p, p->edges, p->n_edges, p->hist, &est);
    p->edges_fixed = true;
    p->hist_estimated = est;
    if (st != MLOPS_OK) {
        p->edges_fixed = false;
        return st;
    }
    return MLOPS_OK;
}

mlops_status mlops__drift_hist_against(const mlops_drift_profile *p, const double *edges,
                                       size_t ne, uint64_t *out, bool *estimated)
{
    memset(out, 0, (ne + 1) * sizeof(uint64_t));
    *estimated = false;
    if (p->edges_fixed && !p->hist_estimated && p->n_edges == ne &&
        (ne == 0 || memcmp(p->edges, edges, ne * sizeof(double)) == 0)) {
        memcpy(out, p->hist, (ne + 1) * sizeof(uint64_t));
        return MLOPS_OK;
    }
    if (p->raw_complete) {
        uint64_t dummy = 0;
        mlops__bin_count(edges, ne, p->raw, p->n_raw, out, &dummy);
        return MLOPS_OK;
    }
    if (p->edges_fixed && p->n_edges == ne &&
        (ne == 0 || memcmp(p->edges, edges, ne * sizeof(double)) == 0)) {
        memcpy(out, p->hist, (ne + 1) * sizeof(uint64_t));
        *estimated = p->hist_estimated;
        return MLOPS_OK;
    }
    /* from the sketch: cumulative shares below each edge, rounded, then differenced */
    *estimated = true;
    mlops__kll_view v;
    mlops_status st = mlops__kll_view_make(&v, &p->kll);
    if (st != MLOPS_OK)
        return st;
    uint64_t prev = 0;
    for (size_t j = 0; j < ne; j++) {
        /* weight of retained items < edge */
        size_t lo = 0, hi = v.n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (v.v[mid] < edges[j])
                lo = mid + 1;
            else
                hi = mid;
        }
        uint64_t w = lo == 0 ? 0 : v.cw[lo - 1];
        uint64_t c = v.total ? (uint64_t)llround((double)w / (double)v.total * (double)p->nfinite)
                             : 0;
        if (c < prev)
            c = prev;
        out[j] = c - prev;
        prev = c;
    }
    out[ne] = p->nfinite - prev;
    out[0] += p->ninf;
    out[ne] += p->pinf;
    mlops__kll_view_free(p->env, &v);
    return MLOPS_OK;
}

mlops_status mlops_drift_profile_from_values(mlops_drift_profile **out, mlops_env *env,
                                             const char *name, const double *values, size_t n,
                                             const mlops_drift_profile_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    if (values == NULL && n > 0)
        return mlops__error(MLOPS_E_INVALID, "values is NULL");
    mlops_status st = mlops__drift_check_name(name, "column");
    if (st != MLOPS_OK)
        return st;
    mlops_drift_profile_options o;
    st = check_opts(&o, opts);
    if (st != MLOPS_OK)
        return st;
    if (o.type != MLOPS_DRIFT_NUMERIC)
        return mlops__error(MLOPS_E_INVALID, "a profile from numbers must be numeric");
    mlops_drift_profile *p = NULL;
    st = profile_new(&p, env, name, &o);
    if (st != MLOPS_OK)
        return st;
    if (!p->edges_fixed) {
        size_t nf = 0;
        for (size_t i = 0; i < n; i++)
            nf += isfinite(values[i]) ? 1 : 0;
        if (nf > 0) {
            size_t nq = p->bins_req - 1;
            double q[MLOPS_DRIFT_MAX_BINS], e[MLOPS_DRIFT_MAX_BINS];
            for (size_t i = 0; i < nq; i++)
                q[i] = (double)(i + 1) / (double)p->bins_req;
            int done = mlops__quantiles_stream(env, values, n, nf, q, nq, e, NULL);
            if (done < 0) {
                mlops_drift_profile_free(p);
                return mlops__nomem();
            }
            if (done == 0) {
                double *tmp = mlops__malloc(env, nf * sizeof(double));
                if (tmp == NULL) {
                    mlops_drift_profile_free(p);
                    return mlops__nomem();
                }
                size_t m = 0;
                for (size_t i = 0; i < n; i++)
                    if (isfinite(values[i]))
                        tmp[m++] = values[i];
                mlops__quantiles_select(tmp, m, q, nq, e);
                mlops__free(env, tmp);
            }
            st = set_edges(p, e, nq);
            if (st != MLOPS_OK) {
                mlops_drift_profile_free(p);
                return st;
            }
        }
    }
    st = add_numeric(p, values, n);
    if (st != MLOPS_OK) {
        mlops_drift_profile_free(p);
        return st;
    }
    *out = p;
    return MLOPS_OK;
}

/* ---- clone, reset, merge ---- */

static mlops_status kll_clone(mlops__kll *dst, const mlops__kll *src, const mlops_env *env)
{
    *dst = *src;
    dst->env = env;
    memset(dst->lv, 0, sizeof(dst->lv));
    for (uint32_t h = 0; h < src->nlevels; h++) {
        if (src->lv[h].n == 0)
            continue;
        dst->lv[h].v = mlops__malloc(env, src->lv[h].n * sizeof(double));
        if (dst->lv[h].v == NULL) {
            mlops__kll_free(dst);
            return mlops__nomem();
        }
        memcpy(dst->lv[h].v, src->lv[h].v, src->lv[h].n * sizeof(double));
        dst->lv[h].n = dst->lv[h].cap = src->lv[h].n;
    }
    return MLOPS_OK;
}

mlops_status mlops__drift_profile_clone(mlops_drift_profile **out, const mlops_drift_profile *p)
{
    mlops_env *env = p->env;
    mlops_drift_profile *c = mlops__calloc(env, 1, sizeof(*c));
    if (c == NULL)
        return mlops__nomem();
    *c = *p;
    c->env = mlops__env_ref(env);
    c->name = NULL;
    c->edges = NULL;
    c->hist = NULL;
    c->raw = NULL;
    c->cats = NULL;
    c->index = NULL;
    c->n_cats = c->cats_cap = c->index_cap = 0;
    c->n_raw = c->raw_cap = 0;
    mlops__kll_init(&c->kll, env, p->kll.k, 1);
    mlops_status st = MLOPS_OK;
    c->name = mlops__strdup(env, p->name);
    if (c->name == NULL)
        goto nomem;
    if (p->edges_fixed) {
        bool est = p->hist_estimated;
        st = set_edges(c, p->edges, p->n_edges);
        if (st != MLOPS_OK)
            goto fail;
        memcpy(c->hist, p->hist, (p->n_edges + 1) * sizeof(uint64_t));
        c->hist_estimated = est;
    }
    if (p->n_raw > 0) {
        c->raw = mlops__malloc(env, p->n_raw * sizeof(double));
        if (c->raw == NULL)
            goto nomem;
        memcpy(c->raw, p->raw, p->n_raw * sizeof(double));
        c->n_raw = c->raw_cap = p->n_raw;
    }
    mlops__kll_free(&c->kll);
    st = kll_clone(&c->kll, &p->kll, env);
    if (st != MLOPS_OK) {
        mlops__kll_init(&c->kll, env, p->kll.k, 1);
        goto fail;
    }
    for (size_t k = 0; k < p->n_cats; k++) {
        st = cat_add(c, p->cats[k].s, p->cats[k].len, p->cats[k].c);
        if (st != MLOPS_OK)
            goto fail;
    }
    *out = c;
    return MLOPS_OK;
nomem:
    st = mlops__nomem();
fail:
    mlops_drift_profile_free(c);
    return st;
}

void mlops__drift_profile_reset(mlops_drift_profile *p)
{
    p->count = p->missing = p->nan = p->pinf = p->ninf = p->nfinite = 0;
    p->mean = p->m2 = 0.0;
    p->min = INFINITY;
    p->max = -INFINITY;
    if (p->hist)
        memset(p->hist, 0, (p->n_edges + 1) * sizeof(uint64_t));
    p->hist_estimated = false;
    uint32_t k = p->kll.k;
    uint64_t seed = p->kll.rng;
    mlops__kll_free(&p->kll);
    mlops__kll_init(&p->kll, p->env, k, seed);
    p->n_raw = 0;
    p->raw_complete = true;
    for (size_t i = 0; i < p->n_cats; i++)
        mlops__free(p->env, p->cats[i].s);
    p->n_cats = 0;
    if (p->index)
        memset(p->index, 0, p->index_cap * sizeof(uint32_t));
    p->other = 0;
}

static void swap_profiles(mlops_drift_profile *a, mlops_drift_profile *b)
{
    mlops_drift_profile t = *a;
    *a = *b;
    *b = t;
}

mlops_status mlops_drift_profile_merge(mlops_drift_profile *dst, const mlops_drift_profile *src)
{
    if (dst == NULL || src == NULL)
        return mlops__error(MLOPS_E_INVALID, "profile is NULL");
    if (dst->type != src->type)
        return mlops__error(MLOPS_E_INVALID,
                            "cannot merge a %s profile of '%s' into a %s profile of '%s'",
                            src->type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical",
                            src->name,
                            dst->type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical",
                            dst->name);
    mlops_drift_profile *t = NULL;
    mlops_status st = mlops__drift_profile_clone(&t, dst);
    if (st != MLOPS_OK)
        return st;
    /* counts and moments */
    t->count += src->count;
    t->missing += src->missing;
    t->nan += src->nan;
    t->pinf += src->pinf;
    t->ninf += src->ninf;
    if (src->nfinite > 0) {
        double na = (double)t->nfinite, nb = (double)src->nfinite, nt = na + nb;
        double delta = src->mean - t->mean;
        t->mean += delta * nb / nt;
        t->m2 += src->m2 + delta * delta * na * nb / nt;
        t->nfinite += src->nfinite;
        if (src->min < t->min)
            t->min = src->min;
        if (src->max > t->max)
            t->max = src->max;
    }
    if (t->type == MLOPS_DRIFT_CATEGORICAL) {
        for (size_t k = 0; k < src->n_cats && st == MLOPS_OK; k++)
            st = cat_add(t, src->cats[k].s, src->cats[k].len, src->cats[k].c);
        t->other += src->other;
        if (st == MLOPS_OK)
            st = prune(t);
        goto done;
    }
    /* raw values survive only if both sides kept all of theirs */
    uint64_t keep = t->keep_values > src->keep_values ? t->keep_values : src->keep_values;
    if (t->raw_complete && src->raw_complete && t->n_raw + src->n_raw <= keep) {
        double *r = mlops__realloc(t->env, t->raw, (t->n_raw + src->n_raw + 1) * sizeof(double));
        if (r == NULL) {
            st = mlops__nomem();
            goto done;
        }
        if (src->n_raw > 0) /* src->raw may be NULL when empty */
            memcpy(r + t->n_raw, src->raw, src->n_raw * sizeof(double));
        t->raw = r;
        t->n_raw += src->n_raw;
        t->raw_cap = t->n_raw + 1;
        t->keep_values = keep;
    } else {
        mlops__free(t->env, t->raw);
        t->raw = NULL;
        t->n_raw = t->raw_cap = 0;
        t->raw_complete = false;
    }
    st = mlops__kll_merge(&t->kll, &src->kll);
    if (st != MLOPS_OK)
        goto done;
    bool same = t->edges_fixed && src->edges_fixed && t->n_edges == src->n_edges &&
                (t->n_edges == 0 ||
                 memcmp(t->edges, src->edges, t->n_edges * sizeof(double)) == 0);
    if (same) {
        for (size_t j = 0; j <= t->n_edges; j++)
            t->hist[j] += src->hist[j];
        t->hist_estimated = t->hist_estimated || src->hist_estimated;
    } else if (t->edges_fixed || src->edges_fixed) {
        /* shards binned differently: take edges again from the merged data */
        t->edges_fixed = false;
        if (t->nfinite > 0)
            st = mlops__drift_fix_edges(t);
    }
done:
    if (st == MLOPS_OK)
        swap_profiles(dst, t);
    mlops_drift_profile_free(t);
    return st;
}

mlops_status mlops_drift_profile_create_like(mlops_drift_profile **out,
                                             mlops_drift_profile *baseline)
{
    if (out == NULL || baseline == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or baseline is NULL");
    *out = NULL;
    mlops_status st = mlops__drift_fix_edges(baseline);
    if (st != MLOPS_OK)
        return st;
    mlops_drift_profile_options o;
    mlops_drift_profile_options_init(&o, MLOPS_DRIFT_PROFILE_OPTIONS_VERSION);
    o.type = baseline->type;
    o.bins = baseline->bins_req;
    o.sketch_k = baseline->kll.k;
    o.max_categories = baseline->max_cat;
    o.keep_values = baseline->keep_values;
    mlops_drift_profile *p = NULL;
    st = profile_new(&p, baseline->env, baseline->name, &o);
    if (st != MLOPS_OK)
        return st;
    if (baseline->type == MLOPS_DRIFT_NUMERIC) {
        st = set_edges(p, baseline->edges, baseline->n_edges);
        if (st != MLOPS_OK) {
            mlops_drift_profile_free(p);
            return st;
        }
    }
    *out = p;
    return MLOPS_OK;
}

/* ---- getters ---- */

size_t mlops__drift_profile_bytes(const mlops_drift_profile *p)
{
    size_t b = sizeof(*p) + strlen(p->name) + 1;
    b += p->n_edges * sizeof(double) + (p->hist ? (p->n_edges + 1) * sizeof(uint64_t) : 0);
    b += mlops__kll_bytes(&p->kll) - sizeof(p->kll);
    b += p->raw_cap * sizeof(double);
    b += p->cats_cap * sizeof(mlops__cat) + p->index_cap * sizeof(uint32_t);
    for (size_t i = 0; i < p->n_cats; i++)
        b += p->cats[i].len + 1;
    return b;
}

mlops_status mlops_drift_profile_summary(mlops_drift_profile_stats *out,
                                         const mlops_drift_profile *p)
{
    if (out == NULL || p == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or profile is NULL");
    if (out->version < 1 || out->version > MLOPS_DRIFT_PROFILE_STATS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "profile stats version %u is not supported",
                            out->version);
    uint32_t v = out->version;
    memset(out, 0, sizeof(*out));
    out->version = v;
    out->type = p->type;
    out->count = p->count;
    out->missing = p->missing;
    out->nan = p->nan;
    out->inf = p->pinf + p->ninf;
    bool any = p->nfinite > 0;
    out->min = any ? p->min : NAN;
    out->max = any ? p->max : NAN;
    out->mean = any ? p->mean : NAN;
    out->variance = any ? p->m2 / (double)p->nfinite : NAN;
    out->categories = p->n_cats;
    out->other = p->other;
    out->bins = p->edges_fixed ? (uint32_t)p->n_edges + 1 : 0;
    bool exact = p->type == MLOPS_DRIFT_CATEGORICAL ? p->other == 0
                                                    : (p->raw_complete || mlops__kll_exact(&p->kll));
    out->exact = exact ? 1 : 0;
    out->rank_error = exact ? 0.0 : mlops__kll_eps(p->kll.k);
    out->bytes = mlops__drift_profile_bytes(p);
    return MLOPS_OK;
}

/* Quantiles q[0..nq) of a numeric profile with a finite value: exact from
 * the raw values when they are complete, else from one sorted view of the
 * sketch (one sort for all nq). */
static mlops_status profile_quantiles(const mlops_drift_profile *p, const double *q, size_t nq,
                                      double *out)
{
    if (p->raw_complete) {
        double *tmp = mlops__malloc(p->env, p->nfinite * sizeof(double));
        if (tmp == NULL)
            return mlops__nomem();
        size_t m = 0;
        for (size_t i = 0; i < p->n_raw; i++)
            if (isfinite(p->raw[i]))
                tmp[m++] = p->raw[i];
        mlops__quantiles_select(tmp, m, q, nq, out);
        mlops__free(p->env, tmp);
        return MLOPS_OK;
    }
    mlops__kll_view v;
    mlops_status st = mlops__kll_view_make(&v, &p->kll);
    if (st != MLOPS_OK)
        return st;
    for (size_t i = 0; i < nq; i++)
        out[i] = mlops__kll_view_quantile(&v, q[i]);
    mlops__kll_view_free(p->env, &v);
    return MLOPS_OK;
}

mlops_status mlops_drift_profile_quantile(double *out, const mlops_drift_profile *p, double q)
{
    if (out == NULL || p == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or profile is NULL");
    if (p->type != MLOPS_DRIFT_NUMERIC)
        return mlops__error(MLOPS_E_INVALID, "column '%s' is categorical; it has no quantiles",
                            p->name);
    if (!(q >= 0.0 && q <= 1.0))
        return mlops__error(MLOPS_E_INVALID, "quantile %g is outside [0, 1]", q);
    if (p->nfinite == 0)
        return mlops__error(MLOPS_E_INSUFFICIENT, "column '%s' has no finite value", p->name);
    return profile_quantiles(p, &q, 1, out);
}

/* ---- serialization ---- */

enum {
    T_NAME = 1, T_TYPE, T_BINS, T_K, T_MAXCAT, T_KEEP, T_COUNT, T_MISSING, T_NAN, T_PINF,
    T_NINF, T_NFINITE, T_MEAN, T_M2, T_MIN, T_MAX, T_EDGES, T_HIST, T_HIST_EST, T_KLL, T_RAW,
    T_RAW_COMPLETE, T_CAT, T_OTHER, T_EDGES_FIXED
};
enum { K_K = 1, K_NLEVELS, K_SAMP, K_N, K_BLKPOS, K_BLKPICK, K_BLKVAL, K_RNG, K_LEVEL };

static void put_f64s(mlops__rec_writer *w, uint32_t tag, const double *v, size_t n)
{
    mlops__buf b;
    mlops__buf_init(&b, w->buf.env);
    for (size_t i = 0; i < n && w->st == MLOPS_OK; i++) {
        uint8_t t[8];
        uint64_t u;
        memcpy(&u, &v[i], 8);
        mlops__put_u64le(t, u);
        if (mlops__buf_append(&b, t, 8) != MLOPS_OK)
            w->st = MLOPS_E_NOMEM;
    }
    mlops__rec_put_bytes(w, tag, b.data, b.len);
    mlops__buf_free(&b);
}

mlops_status mlops_drift_profile_serialize(mlops_bytes *out, mlops_drift_profile *p)
{
    if (out == NULL || p == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or profile is NULL");
    memset(out, 0, sizeof(*out));
    if (p->type == MLOPS_DRIFT_NUMERIC && p->nfinite > 0) {
        mlops_status st = mlops__drift_fix_edges(p);
        if (st != MLOPS_OK)
            return st;
    }
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, p->env, REC_PROFILE_VERSION, REC_PROFILE);
    mlops__rec_put_str(&w, T_NAME, p->name);
    mlops__rec_put_u64(&w, T_TYPE, p->type);
    mlops__rec_put_u64(&w, T_BINS, p->bins_req);
    mlops__rec_put_u64(&w, T_K, p->kll.k);
    mlops__rec_put_u64(&w, T_MAXCAT, p->max_cat);
    mlops__rec_put_u64(&w, T_KEEP, p->keep_values);
    mlops__rec_put_u64(&w, T_COUNT, p->count);
    mlops__rec_put_u64(&w, T_MISSING, p->missing);
    mlops__rec_put_u64(&w, T_NAN, p->nan);
    mlops__rec_put_u64(&w, T_PINF, p->pinf);
    mlops__rec_put_u64(&w, T_NINF, p->ninf);
    mlops__rec_put_u64(&w, T_NFINITE, p->nfinite);
    mlops__rec_put_f64(&w, T_MEAN, p->mean);
    mlops__rec_put_f64(&w, T_M2, p->m2);
    mlops__rec_put_f64(&w, T_MIN, p->min);
    mlops__rec_put_f64(&w, T_MAX, p->max);
    mlops__rec_put_u64(&w, T_EDGES_FIXED, p->edges_fixed);
    if (p->edges_fixed) {
        put_f64s(&w, T_EDGES, p->edges, p->n_edges);
        for (size_t j = 0; j <= p->n_edges; j++)
            mlops__rec_put_u64(&w, T_HIST, p->hist[j]);
        mlops__rec_put_u64(&w, T_HIST_EST, p->hist_estimated);
    }
    if (p->type == MLOPS_DRIFT_NUMERIC) {
        mlops__rec_writer k;
        mlops__rec_writer_init(&k, p->env, 1, REC_KLL);
        mlops__rec_put_u64(&k, K_K, p->kll.k);
        mlops__rec_put_u64(&k, K_NLEVELS, p->kll.nlevels);
        mlops__rec_put_u64(&k, K_SAMP, p->kll.samp_level);
        mlops__rec_put_u64(&k, K_N, p->kll.n);
        mlops__rec_put_u64(&k, K_BLKPOS, p->kll.blk_pos);
        mlops__rec_put_u64(&k, K_BLKPICK, p->kll.blk_pick);
        mlops__rec_put_f64(&k, K_BLKVAL, p->kll.blk_val);
        mlops__rec_put_u64(&k, K_RNG, p->kll.rng);
        for (uint32_t h = 0; h < p->kll.nlevels; h++) {
            double tmp[1];
            (void)tmp;
            mlops__buf b;
            mlops__buf_init(&b, p->env);
            uint8_t hb[4];
            mlops__put_u32le(hb, h);
            if (mlops__buf_append(&b, hb, 4) != MLOPS_OK)
                k.st = MLOPS_E_NOMEM;
            for (uint32_t i = 0; i < p->kll.lv[h].n && k.st == MLOPS_OK; i++) {
                uint8_t t[8];
                uint64_t u;
                memcpy(&u, &p->kll.lv[h].v[i], 8);
                mlops__put_u64le(t, u);
                if (mlops__buf_append(&b, t, 8) != MLOPS_OK)
                    k.st = MLOPS_E_NOMEM;
            }
            mlops__rec_put_bytes(&k, K_LEVEL, b.data, b.len);
            mlops__buf_free(&b);
        }
        mlops_status kst = mlops__rec_writer_finish(&k);
        if (kst == MLOPS_OK)
            mlops__rec_put_bytes(&w, T_KLL, k.buf.data, k.buf.len);
        else
            w.st = kst;
        mlops__rec_writer_free(&k);
        mlops__rec_put_u64(&w, T_RAW_COMPLETE, p->raw_complete);
        if (p->raw_complete)
            put_f64s(&w, T_RAW, p->raw, p->n_raw);
    } else {
        for (size_t i = 0; i < p->n_cats; i++) {
            mlops__buf b;
            mlops__buf_init(&b, p->env);
            uint8_t vb[10];
            size_t vl = mlops__varint_put(vb, p->cats[i].c);
            if (mlops__buf_append(&b, vb, vl) != MLOPS_OK ||
                mlops__buf_append(&b, p->cats[i].s, p->cats[i].len) != MLOPS_OK)
                w.st = MLOPS_E_NOMEM;
            mlops__rec_put_bytes(&w, T_CAT, b.data, b.len);
            mlops__buf_free(&b);
        }
        mlops__rec_put_u64(&w, T_OTHER, p->other);
    }
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st == MLOPS_E_NOMEM ? mlops__nomem() : st;
    }
    st = mlops_bytes_set(out, p->env, w.buf.data, w.buf.len);
    mlops__rec_writer_free(&w);
    return st;
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        st = mlops__error(MLOPS_E_CORRUPT, __VA_ARGS__);                                           \
        goto fail;                                                                                 \
    } while (0)

static mlops_status decode_kll(mlops__kll *s, const mlops_env *env, const uint8_t *d, size_t n)
{
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, d, n, 1, REC_KLL, "quantile sketch");
    if (st != MLOPS_OK)
        return st;
    mlops__rec_field f;
    uint64_t k = 0, nl = 1, samp = 0;
    mlops__kll_init(s, env, 8, 1);
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case K_K: k = f.u; break;
        case K_NLEVELS: nl = f.u; break;
        case K_SAMP: samp = f.u; break;
        case K_N: s->n = f.u; break;
        case K_BLKPOS: s->blk_pos = f.u; break;
        case K_BLKPICK: s->blk_pick = f.u; break;
        case K_BLKVAL: s->blk_val = mlops__rec_as_f64(&f); break;
        case K_RNG: s->rng = f.u ? f.u : 1; break;
        case K_LEVEL: {
            if (f.wire != MLOPS__REC_WIRE_BYTES || f.n < 4 || (f.n - 4) % 8 != 0)
                BAD("quantile sketch level is malformed");
            uint32_t h = mlops__get_u32le(f.p);
            size_t cnt = (f.n - 4) / 8;
            if (h >= MLOPS__KLL_MAX_LEVELS || cnt > (1u << 24) || s->lv[h].n != 0)
                BAD("quantile sketch level %u is malformed", h);
            if (cnt == 0)
                break;
            s->lv[h].v = mlops__malloc(env, cnt * sizeof(double));
            if (s->lv[h].v == NULL) {
                st = mlops__nomem();
                goto fail;
            }
            for (size_t i = 0; i < cnt; i++) {
                uint64_t u = mlops__get_u64le(f.p + 4 + 8 * i);
                memcpy(&s->lv[h].v[i], &u, 8);
                if (!isfinite(s->lv[h].v[i]))
                    BAD("quantile sketch holds a non-finite value");
            }
            s->lv[h].n = s->lv[h].cap = (uint32_t)cnt;
            s->retained += (uint32_t)cnt;
            break;
        }
        default: break;
        }
    }
    if (st != MLOPS_E_NOTFOUND)
        goto fail;
    if (k < 8 || k > 65535 || nl < 1 || nl >= MLOPS__KLL_MAX_LEVELS || samp >= nl + 1 ||
        s->blk_pos >= (1ull << (samp < 62 ? samp : 62)) + (samp == 0 ? 1 : 0))
        BAD("quantile sketch header is inconsistent");
    for (uint32_t h = (uint32_t)nl; h < MLOPS__KLL_MAX_LEVELS; h++)
        if (s->lv[h].n)
            BAD("quantile sketch has items above its top level");
    s->k = (uint32_t)k;
    s->nlevels = (uint32_t)nl;
    s->samp_level = (uint32_t)samp;
    return MLOPS_OK;
fail:
    mlops__kll_free(s);
    return st;
}

mlops_status mlops_drift_profile_deserialize(mlops_drift_profile **out, mlops_env *env,
                                             const void *data, size_t len)
{
    if (out == NULL || (data == NULL && len > 0))
        return mlops__error(MLOPS_E_INVALID, "out or data is NULL");
    *out = NULL;
    mlops__rec_reader r;
    mlops_status st =
        mlops__rec_reader_init(&r, data, len, REC_PROFILE_VERSION, REC_PROFILE, "drift profile");
    if (st != MLOPS_OK)
        return st;
    mlops_drift_profile *p = mlops__calloc(env, 1, sizeof(*p));
    if (p == NULL)
        return mlops__nomem();
    p->env = mlops__env_ref(env);
    mlops__kll_init(&p->kll, env, 8, 1);
    p->min = INFINITY;
    p->max = -INFINITY;
    uint64_t *hist = NULL;
    size_t nhist = 0, hcap = 0;
    bool have_kll = false;
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case T_NAME:
            if (f.wire != MLOPS__REC_WIRE_BYTES || p->name)
                BAD("profile name is malformed");
            p->name = mlops__rec_as_str(env, &f);
            if (p->name == NULL) {
                st = mlops__nomem();
                goto fail;
            }
            break;
        case T_TYPE: p->type = (uint32_t)f.u; break;
        case T_BINS: p->bins_req = (uint32_t)f.u; break;
        case T_K: break;
        case T_MAXCAT: p->max_cat = (uint32_t)f.u; break;
        case T_KEEP: p->keep_values = f.u; break;
        case T_COUNT: p->count = f.u; break;
        case T_MISSING: p->missing = f.u; break;
        case T_NAN: p->nan = f.u; break;
        case T_PINF: p->pinf = f.u; break;
        case T_NINF: p->ninf = f.u; break;
        case T_NFINITE: p->nfinite = f.u; break;
        case T_MEAN: p->mean = mlops__rec_as_f64(&f); break;
        case T_M2: p->m2 = mlops__rec_as_f64(&f); break;
        case T_MIN: p->min = mlops__rec_as_f64(&f); break;
        case T_MAX: p->max = mlops__rec_as_f64(&f); break;
        case T_EDGES_FIXED: p->edges_fixed = f.u != 0; break;
        case T_HIST_EST: p->hist_estimated = f.u != 0; break;
        case T_RAW_COMPLETE: p->raw_complete = f.u != 0; break;
        case T_OTHER: p->other = f.u; break;
        case T_EDGES:
        case T_RAW: {
            if (f.wire != MLOPS__REC_WIRE_BYTES || f.n % 8 != 0)
                BAD("profile array is malformed");
            size_t cnt = f.n / 8;
            double *v = mlops__malloc(env, (cnt ? cnt : 1) * sizeof(double));
            if (v == NULL) {
                st = mlops__nomem();
                goto fail;
            }
            for (size_t i = 0; i < cnt; i++) {
                uint64_t u = mlops__get_u64le(f.p + 8 * i);
                memcpy(&v[i], &u, 8);
            }
            if (f.tag == T_EDGES) {
                mlops__free(env, p->edges);
                p->edges = v;
                p->n_edges = cnt;
            } else {
                mlops__free(env, p->raw);
                p->raw = v;
                p->n_raw = p->raw_cap = cnt;
            }
            break;
        }
        case T_HIST:
            if (nhist >= MLOPS_DRIFT_MAX_BINS)
                BAD("profile has too many histogram bins");
            if (nhist == hcap) {
                hcap = hcap ? hcap * 2 : 16;
                uint64_t *nh = mlops__realloc(env, hist, hcap * sizeof(uint64_t));
                if (nh == NULL) {
                    st = mlops__nomem();
                    goto fail;
                }
                hist = nh;
            }
            hist[nhist++] = f.u;
            break;
        case T_KLL:
            if (f.wire != MLOPS__REC_WIRE_BYTES || have_kll)
                BAD("profile sketch is malformed");
            mlops__kll_free(&p->kll);
            st = decode_kll(&p->kll, env, f.p, f.n);
            if (st != MLOPS_OK) {
                mlops__kll_init(&p->kll, env, 8, 1);
                goto fail;
            }
            have_kll = true;
            break;
        case T_CAT: {
            uint64_t c = 0;
            size_t vl = f.wire == MLOPS__REC_WIRE_BYTES ? mlops__varint_get(f.p, f.n, &c) : 0;
            if (vl == 0 || f.n - vl > MLOPS__DRIFT_MAX_CAT_LEN ||
                !mlops__utf8_valid((const char *)f.p + vl, f.n - vl) ||
                memchr(f.p + vl, 0, f.n - vl) != NULL)
                BAD("profile category is malformed");
            if (p->max_cat < 2)
                p->max_cat = 2;
            if (mlops__drift_cat_find(p, (const char *)f.p + vl, f.n - vl) >= 0 ||
                p->n_cats >= 2 * (size_t)65536)
                BAD("profile category repeats or exceeds the limit");
            st = cat_add(p, (const char *)f.p + vl, f.n - vl, c);
            if (st != MLOPS_OK)
                goto fail;
            break;
        }
        default: break;
        }
    }
    if (st != MLOPS_E_NOTFOUND)
        goto fail;
    st = MLOPS_OK;
    /* consistency */
    if (p->name == NULL || mlops__drift_check_name(p->name, "column") != MLOPS_OK)
        BAD("profile has no valid column name");
    if (p->type != MLOPS_DRIFT_NUMERIC && p->type != MLOPS_DRIFT_CATEGORICAL)
        BAD("profile of '%s' has unknown type %u", p->name, p->type);
    if (p->bins_req < 1 || p->bins_req > MLOPS_DRIFT_MAX_BINS || p->max_cat < 2 ||
        p->max_cat > 65536)
        BAD("profile of '%s' has bad options", p->name);
    if (p->nan > p->missing || p->missing > p->count)
        BAD("profile of '%s' has inconsistent missing counts", p->name);
    if (p->type == MLOPS_DRIFT_NUMERIC) {
        if (!have_kll)
            BAD("numeric profile of '%s' has no sketch", p->name);
        if (p->missing + p->nfinite + p->pinf + p->ninf != p->count)
            BAD("profile of '%s' has inconsistent counts", p->name);
        if (p->kll.n != p->nfinite)
            BAD("profile of '%s': sketch count %llu differs from %llu finite values", p->name,
                (unsigned long long)p->kll.n, (unsigned long long)p->nfinite);
        if (p->nfinite > 0 && !(p->min <= p->max && isfinite(p->mean) && p->m2 >= 0))
            BAD("profile of '%s' has inconsistent moments", p->name);
        if (p->edges_fixed) {
            if (p->edges == NULL || nhist != p->n_edges + 1 || p->n_edges >= MLOPS_DRIFT_MAX_BINS)
                BAD("profile of '%s' has %zu histogram bins for %zu edges", p->name, nhist,
                    p->n_edges);
            uint64_t sum = 0;
            for (size_t j = 0; j < p->n_edges; j++)
                if (!isfinite(p->edges[j]) || (j > 0 && p->edges[j] < p->edges[j - 1]))
                    BAD("profile of '%s' has bad edges", p->name);
            for (size_t j = 0; j < nhist; j++)
                sum += hist[j];
            if (sum != p->nfinite + p->pinf + p->ninf)
                BAD("profile of '%s': histogram holds %llu values, expected %llu", p->name,
                    (unsigned long long)sum,
                    (unsigned long long)(p->nfinite + p->pinf + p->ninf));
            p->hist = hist;
            hist = NULL;
        } else if (nhist != 0 || p->edges != NULL) {
            BAD("profile of '%s' has a histogram without fixed edges", p->name);
        }
        if (p->raw_complete) {
            if (p->n_raw != p->nfinite + p->pinf + p->ninf || p->n_raw > p->keep_values)
                BAD("profile of '%s' has inconsistent raw values", p->name);
            for (size_t i = 0; i < p->n_raw; i++)
                if (isnan(p->raw[i]))
                    BAD("profile of '%s' keeps a NaN raw value", p->name);
        } else if (p->raw != NULL) {
            BAD("profile of '%s' has raw values but says it has not", p->name);
        }
    } else {
        uint64_t sum = p->other;
        for (size_t i = 0; i < p->n_cats; i++)
            sum += p->cats[i].c;
        if (sum + p->missing != p->count || p->edges != NULL || nhist != 0 || have_kll)
            BAD("categorical profile of '%s' has inconsistent counts", p->name);
        /* numeric-only state: fixed edges promise a histogram (which
         * serialize and compare read), raw values a numeric column */
        if (p->edges_fixed || p->raw != NULL)
            BAD("categorical profile of '%s' has fixed bin edges or raw values", p->name);
    }
    mlops__free(env, hist);
    *out = p;
    return MLOPS_OK;
fail:
    mlops__free(env, hist);
    mlops_drift_profile_free(p);
    return st;
}

/* ---- JSON ---- */

mlops_status mlops_drift_profile_json(char **out, mlops_drift_profile *p)
{
    if (out == NULL || p == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or profile is NULL");
    *out = NULL;
    mlops_drift_profile_stats s = {MLOPS_DRIFT_PROFILE_STATS_VERSION};
    mlops_drift_profile_summary(&s, p);
    mlops__buf b;
    mlops__buf_init(&b, p->env);
    mlops__jb_append(&b, "{\"name\": ", 9);
    mlops__json_str(&b, p->name);
    mlops__jb_printf(&b, ", \"type\": \"%s\", \"count\": %llu, \"missing\": %llu, \"nan\": %llu, "
                          "\"inf\": %llu",
                      p->type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical",
                      (unsigned long long)p->count, (unsigned long long)p->missing,
                      (unsigned long long)p->nan, (unsigned long long)(p->pinf + p->ninf));
    if (p->type == MLOPS_DRIFT_NUMERIC) {
        const char *keys[] = {"min", "max", "mean", "variance"};
        double vals[] = {s.min, s.max, s.mean, s.variance};
        for (int i = 0; i < 4; i++) {
            mlops__jb_printf(&b, ", \"%s\": ", keys[i]);
            mlops__json_f64(&b, vals[i]);
        }
        mlops__jb_append(&b, ", \"quantiles\": {", 16);
        const double qs[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
        double qv[7];
        if (p->nfinite == 0 || profile_quantiles(p, qs, 7, qv) != MLOPS_OK)
            for (int i = 0; i < 7; i++)
                qv[i] = NAN;
        for (int i = 0; i < 7; i++) {
            mlops__jb_printf(&b, "%s\"%g\": ", i ? ", " : "", qs[i]);
            mlops__json_f64(&b, qv[i]);
        }
        mlops__jb_append(&b, "}, \"edges\": [", 13);
        for (size_t j = 0; p->edges_fixed && j < p->n_edges; j++) {
            if (j)
                mlops__jb_append(&b, ", ", 2);
            mlops__json_f64(&b, p->edges[j]);
        }
        mlops__jb_append(&b, "], \"bins\": [", 12);
        for (size_t j = 0; p->edges_fixed && j <= p->n_edges; j++)
            mlops__jb_printf(&b, "%s%llu", j ? ", " : "", (unsigned long long)p->hist[j]);
        mlops__jb_printf(&b, "], \"bins_estimated\": %s, \"exact\": %s, \"rank_error\": ",
                          p->hist_estimated ? "true" : "false", s.exact ? "true" : "false");
        mlops__json_f64(&b, s.rank_error);
        mlops__jb_printf(&b, ", \"sketch_k\": %u, \"sketch_items\": %u", p->kll.k,
                          mlops__kll_retained(&p->kll));
    } else {
        mlops__jb_append(&b, ", \"categories\": {", 17);
        for (size_t i = 0; i < p->n_cats; i++) {
            if (i)
                mlops__jb_append(&b, ", ", 2);
            mlops__json_str(&b, p->cats[i].s);
            mlops__jb_printf(&b, ": %llu", (unsigned long long)p->cats[i].c);
        }
        mlops__jb_printf(&b, "}, \"other\": %llu", (unsigned long long)p->other);
    }
    mlops__jb_printf(&b, ", \"bytes\": %llu}", (unsigned long long)s.bytes);
    char *text = mlops__jb_take(&b);
    if (text == NULL) {
        mlops__buf_free(&b);
        return mlops__nomem();
    }
    *out = text;
    return MLOPS_OK;
}

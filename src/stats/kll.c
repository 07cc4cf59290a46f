/* SPDX-License-Identifier: MIT */
/* KLL quantile sketch (Karnin, Lang, Liberty 2016) with the sampler of the
 * paper at the bottom, so that an update costs O(1) once the sketch is
 * large: level h holds items of weight 2^h; a full level is sorted and every
 * other item (random offset) moves up. Level capacities shrink by 2/3 per
 * level below the top, with a floor of 8; once the levels below the top
 * D + 1 are all at the floor, the sampler keeps one random item of each
 * block of 2^s arrivals instead of those levels. Memory stays O(k). */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "stats/dstats.h"

#define MIN_CAP 8u

static uint64_t rnd(mlops__kll *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void qsort_d(double *x, size_t n)
{
    while (n > 24) {
        size_t mid = n / 2;
        double a = x[0], b = x[mid], c = x[n - 1];
        double pv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (x[i] < pv)
                i++;
            while (x[j] > pv)
                j--;
            if (i >= j)
                break;
            double t = x[i];
            x[i] = x[j];
            x[j] = t;
            i++;
            j--;
        }
        /* recurse on the smaller side */
        if (j + 1 < n - j - 1) {
            qsort_d(x, j + 1);
            x += j + 1;
            n -= j + 1;
        } else {
            qsort_d(x + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        double v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1] > v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

void mlops__kll_init(mlops__kll *s, const mlops_env *env, uint32_t k, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->env = env;
    s->k = k < MIN_CAP ? MIN_CAP : k;
    s->nlevels = 1;
    s->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
    s->min = INFINITY;
    s->max = -INFINITY;
}

void mlops__kll_free(mlops__kll *s)
{
    for (uint32_t h = 0; h < MLOPS__KLL_MAX_LEVELS; h++)
        mlops__free(s->env, s->lv[h].v);
    memset(s->lv, 0, sizeof(s->lv));
}

static uint32_t level_cap(const mlops__kll *s, uint32_t h)
{
    uint32_t depth = s->nlevels - 1 - h;
    double c = (double)s->k * pow(2.0 / 3.0, (double)depth);
    uint32_t cap = (uint32_t)c;
    return cap < MIN_CAP ? MIN_CAP : cap;
}

static uint64_t total_cap(mlops__kll *s)
{
    if (s->tcap_levels != s->nlevels) {
        uint64_t t = 0;
        for (uint32_t h = 0; h < s->nlevels; h++)
            t += level_cap(s, h);
        s->tcap = t;
        s->tcap_levels = s->nlevels;
    }
    return s->tcap;
}

uint32_t mlops__kll_retained(const mlops__kll *s)
{
    return s->retained;
}

static mlops_status level_reserve(mlops__kll *s, uint32_t h, uint32_t need)
{
    mlops__kll_level *l = &s->lv[h];
    if (need <= l->cap)
        return MLOPS_OK;
    /* grow by a quarter: the sketch's size is bounded, so keep the slack small */
    uint32_t nc = need + need / 8 + 4;
    double *nv = mlops__realloc(s->env, l->v, (size_t)nc * sizeof(double));
    if (nv == NULL)
        return mlops__nomem();
    l->v = nv;
    l->cap = nc;
    return MLOPS_OK;
}

static mlops_status level_push(mlops__kll *s, uint32_t h, const double *v, uint32_t n)
{
    mlops__kll_level *l = &s->lv[h];
    mlops_status st = level_reserve(s, h, l->n + n);
    if (st != MLOPS_OK)
        return st;
    memcpy(l->v + l->n, v, (size_t)n * sizeof(double));
    l->n += n;
    s->retained += n;
    return MLOPS_OK;
}

static mlops_status compact(mlops__kll *s, uint32_t h)
{
    mlops__kll_level *l = &s->lv[h];
    if (h + 1 >= MLOPS__KLL_MAX_LEVELS)
        return mlops__error(MLOPS_E_INTERNAL, "quantile sketch has too many levels");
    if (h + 1 == s->nlevels)
        s->nlevels++;
    qsort_d(l->v, l->n);
    uint32_t odd = l->n & 1u, m = l->n - odd, half = m / 2;
    mlops_status st = level_reserve(s, h + 1, s->lv[h + 1].n + half);
    if (st != MLOPS_OK)
        return st;
    mlops__kll_level *up = &s->lv[h + 1];
    uint32_t off = (uint32_t)(rnd(s) >> 63);
    for (uint32_t i = 0; i < half; i++)
        up->v[up->n + i] = l->v[2 * i + off];
    up->n += half;
    s->retained -= half;
    if (odd)
        l->v[0] = l->v[l->n - 1];
    l->n = odd;
    /* give back what a level no longer needs (levels shrink as the sketch grows) */
    uint32_t want = level_cap(s, h) + 4;
    if (l->cap > want) {
        double *nv = mlops__realloc(s->env, l->v, (size_t)want * sizeof(double));
        if (nv != NULL) {
            l->v = nv;
            l->cap = want;
        }
    }
    return MLOPS_OK;
}

/* Levels at the top whose capacity is above the floor. */
static uint32_t full_depth(const mlops__kll *s)
{
    uint32_t d = 0;
    double c = (double)s->k;
    while (c >= MIN_CAP && d < 60) {
        c *= 2.0 / 3.0;
        d++;
    }
    return d;
}

static mlops_status compress(mlops__kll *s)
{
    mlops_status st = MLOPS_OK;
    while (mlops__kll_retained(s) > total_cap(s)) {
        uint32_t h = 0;
        while (h < s->nlevels && s->lv[h].n < level_cap(s, h))
            h++;
        if (h >= s->nlevels)
            break;
        st = compact(s, h);
        if (st != MLOPS_OK)
            return st;
    }
    /* raise the sampler once the levels below the top ones sit at the floor */
    uint32_t D = full_depth(s);
    while (s->blk_pos == 0 && s->nlevels - 1 > s->samp_level + D + 1) {
        if (s->lv[s->samp_level].n > 1) {
            st = compact(s, s->samp_level);
            if (st != MLOPS_OK)
                return st;
        }
        s->samp_level++;
    }
    return MLOPS_OK;
}

mlops_status mlops__kll_add(mlops__kll *s, const double *x, size_t n)
{
    size_t i = 0;
    mlops_status st = MLOPS_OK;
    while (i < n) {
        if (s->samp_level == 0) {
            mlops__kll_level *l = &s->lv[0];
            uint64_t room = total_cap(s) - mlops__kll_retained(s) + 1;
            size_t take = n - i < room ? n - i : (size_t)room;
            st = level_push(s, 0, x + i, (uint32_t)take);
            if (st != MLOPS_OK)
                return st;
            (void)l;
            s->n += take;
            i += take;
            st = compress(s);
            if (st != MLOPS_OK)
                return st;
            continue;
        }
        uint64_t B = 1ull << s->samp_level;
        if (s->blk_pos == 0)
            s->blk_pick = rnd(s) & (B - 1);
        uint64_t remain = B - s->blk_pos, avail = n - i;
        if (s->blk_pos <= s->blk_pick && s->blk_pick < s->blk_pos + avail)
            s->blk_val = x[i + (s->blk_pick - s->blk_pos)];
        uint64_t take = remain < avail ? remain : avail;
        i += take;
        s->blk_pos += take;
        s->n += take;
        if (s->blk_pos == B) {
            s->blk_pos = 0;
            st = level_push(s, s->samp_level, &s->blk_val, 1);
            if (st != MLOPS_OK)
                return st;
            st = compress(s);
            if (st != MLOPS_OK)
                return st;
        }
    }
    return MLOPS_OK;
}

mlops_status mlops__kll_merge(mlops__kll *dst, const mlops__kll *src)
{
    if (src->k < dst->k)
        dst->k = src->k;
    while (dst->nlevels < src->nlevels)
        dst->nlevels++;
    for (uint32_t h = 0; h < src->nlevels; h++) {
        if (src->lv[h].n == 0)
            continue;
        mlops_status st = level_push(dst, h, src->lv[h].v, src->lv[h].n);
        if (st != MLOPS_OK)
            return st;
    }
    dst->n += src->n;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return compress(dst);
}

bool mlops__kll_exact(const mlops__kll *s)
{
    return s->nlevels == 1 && s->samp_level == 0;
}

typedef struct wv {
    double v;
    uint64_t w;
} wv;

static void qsort_wv(wv *x, size_t n)
{
    while (n > 24) {
        size_t mid = n / 2;
        double pv = x[mid].v;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (x[i].v < pv)
                i++;
            while (x[j].v > pv)
                j--;
            if (i >= j)
                break;
            wv t = x[i];
            x[i] = x[j];
            x[j] = t;
            i++;
            j--;
        }
        if (j + 1 < n - j - 1) {
            qsort_wv(x, j + 1);
            x += j + 1;
            n -= j + 1;
        } else {
            qsort_wv(x + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        wv v = x[i];
        size_t j = i;
        while (j > 0 && x[j - 1].v > v.v) {
            x[j] = x[j - 1];
            j--;
        }
        x[j] = v;
    }
}

mlops_status mlops__kll_view_make(mlops__kll_view *out, const mlops__kll *s)
{
    memset(out, 0, sizeof(*out));
    size_t n = mlops__kll_retained(s);
    if (n == 0)
        return MLOPS_OK;
    wv *tmp = mlops__malloc(s->env, n * sizeof(wv));
    out->v = mlops__malloc(s->env, n * sizeof(double));
    out->cw = mlops__malloc(s->env, n * sizeof(uint64_t));
    if (tmp == NULL || out->v == NULL || out->cw == NULL) {
        mlops__free(s->env, tmp);
        mlops__kll_view_free(s->env, out);
        return mlops__nomem();
    }
    size_t m = 0;
    for (uint32_t h = 0; h < s->nlevels; h++)
        for (uint32_t i = 0; i < s->lv[h].n; i++) {
            tmp[m].v = s->lv[h].v[i];
            tmp[m].w = 1ull << h;
            m++;
        }
    qsort_wv(tmp, m);
    uint64_t c = 0;
    for (size_t i = 0; i < m; i++) {
        c += tmp[i].w;
        out->v[i] = tmp[i].v;
        out->cw[i] = c;
    }
    out->n = m;
    out->total = c;
    mlops__free(s->env, tmp);
    return MLOPS_OK;
}

void mlops__kll_view_free(const mlops_env *env, mlops__kll_view *v)
{
    mlops__free(env, v->v);
    mlops__free(env, v->cw);
    v->v = NULL;
    v->cw = NULL;
    v->n = 0;
}

uint64_t mlops__kll_view_rank(const mlops__kll_view *v, double x)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->v[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : v->cw[lo - 1];
}

/* The item at 0-based rank r of the expanded (weight-repeated) sequence. */
static double item_at(const mlops__kll_view *v, uint64_t r)
{
    size_t lo = 0, hi = v->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->cw[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return v->v[lo];
}

double mlops__kll_view_quantile(const mlops__kll_view *v, double q)
{
    if (v->n == 0)
        return NAN;
    double h = (double)(v->total - 1) * q;
    double f = floor(h);
    uint64_t lo = (uint64_t)f;
    double t = h - f;
    if (lo + 1 >= v->total)
        return v->v[v->n - 1];
    double a = item_at(v, lo), b = item_at(v, lo + 1);
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

double mlops__kll_eps(uint32_t k)
{
    return 2.296 / pow((double)k, 0.9723);
}

size_t mlops__kll_bytes(const mlops__kll *s)
{
    size_t b = sizeof(*s);
    for (uint32_t h = 0; h < MLOPS__KLL_MAX_LEVELS; h++)
        b += (size_t)s->lv[h].cap * sizeof(double);
    return b;
}

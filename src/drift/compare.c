/* SPDX-License-Identifier: MIT */
/* Comparing profiles: every statistic per column, the automatic test
 * choice (as Evidently makes it), corrections and the dataset verdict. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_internal.h"
#include "stats/special.h"

mlops_status mlops_drift_compare_options_init(mlops_drift_compare_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_DRIFT_COMPARE_OPTIONS_VERSION,
                               "drift compare options");
}

mlops_status mlops__drift_options(mlops_drift_compare_options *o,
                                  const mlops_drift_compare_options *in)
{
    memset(o, 0, sizeof(*o));
    if (in != NULL) {
        if (in->version < 1 || in->version > MLOPS_DRIFT_COMPARE_OPTIONS_VERSION)
            return mlops__error(MLOPS_E_VERSION, "compare options version %u is not supported",
                                in->version);
        *o = *in;
    }
    o->version = MLOPS_DRIFT_COMPARE_OPTIONS_VERSION;
    if (o->alpha == 0)
        o->alpha = 0.05;
    if (o->distance_threshold == 0)
        o->distance_threshold = 0.1;
    if (o->psi_moderate == 0)
        o->psi_moderate = 0.1;
    if (o->psi_significant == 0)
        o->psi_significant = 0.2;
    if (o->drift_share == 0)
        o->drift_share = 0.5;
    if (o->small_sample == 0)
        o->small_sample = 1000;
    if (o->correction > MLOPS_DRIFT_CORRECTION_BH || o->ks_method > MLOPS_DRIFT_KS_ASYMP)
        return mlops__error(MLOPS_E_INVALID, "unknown correction %u or KS method %u",
                            o->correction, o->ks_method);
    if (!(o->alpha > 0 && o->alpha < 1) || !(o->drift_share > 0 && o->drift_share <= 1) ||
        !(o->distance_threshold > 0) || !(o->psi_moderate > 0) ||
        !(o->psi_significant >= o->psi_moderate) || !isfinite(o->distance_threshold) ||
        !isfinite(o->psi_significant))
        return mlops__error(MLOPS_E_INVALID,
                            "thresholds out of range (alpha %g, share %g, distance %g, psi %g/%g)",
                            o->alpha, o->drift_share, o->distance_threshold, o->psi_moderate,
                            o->psi_significant);
    return MLOPS_OK;
}

/* A sorted, distinct-valued CDF source: raw values or a sketch view. */
typedef struct cdfsrc {
    double *v;    /* sorted values */
    uint64_t *cw; /* cumulative weights, or NULL for weight 1 each */
    size_t n;
    uint64_t total;
    bool exact;
    double eps;
} cdfsrc;

static void cdf_free(const mlops_env *env, cdfsrc *c)
{
    mlops__free(env, c->v);
    mlops__free(env, c->cw);
    memset(c, 0, sizeof(*c));
}

/* Values that take part in KS/Wasserstein: finite (plus infinities for KS
 * when raw values are kept). */
static mlops_status cdf_make(cdfsrc *c, const mlops_drift_profile *p, bool with_inf)
{
    memset(c, 0, sizeof(*c));
    if (p->raw_complete) {
        size_t m = 0;
        for (size_t i = 0; i < p->n_raw; i++)
            m += (with_inf || isfinite(p->raw[i])) ? 1 : 0;
        if (m == 0)
            return MLOPS_OK;
        c->v = mlops__malloc(p->env, 2 * m * sizeof(double));
        if (c->v == NULL)
            return mlops__nomem();
        size_t k = 0;
        for (size_t i = 0; i < p->n_raw; i++)
            if (with_inf || isfinite(p->raw[i]))
                c->v[k++] = p->raw[i];
        mlops__sort_f64(c->v, c->v + m, m);
        c->n = m;
        c->total = m;
        c->exact = true;
        return MLOPS_OK;
    }
    mlops__kll_view v;
    mlops_status st = mlops__kll_view_make(&v, &p->kll);
    if (st != MLOPS_OK)
        return st;
    c->v = v.v;
    c->cw = v.cw;
    c->n = v.n;
    c->total = v.total;
    c->exact = mlops__kll_exact(&p->kll);
    c->eps = c->exact ? 0.0 : mlops__kll_eps(p->kll.k);
    return MLOPS_OK;
}

/* Fraction of the source <= x, advancing *i monotonically. */
static double cdf_at(const cdfsrc *c, size_t *i, double x)
{
    while (*i < c->n && c->v[*i] <= x)
        (*i)++;
    if (*i == 0)
        return 0.0;
    uint64_t w = c->cw ? c->cw[*i - 1] : (uint64_t)*i;
    return (double)w / (double)c->total;
}

static void ks_wass(const cdfsrc *a, const cdfsrc *b, double *d_out, double *w_out)
{
    size_t i = 0, j = 0;
    double maxs = -INFINITY, mins = INFINITY, w = 0.0, prev = 0.0, fa = 0, fb = 0;
    bool have = false;
    while (i < a->n || j < b->n) {
        double v = (j >= b->n || (i < a->n && a->v[i] <= b->v[j])) ? a->v[i] : b->v[j];
        if (have && isfinite(v) && isfinite(prev))
            w += fabs(fa - fb) * (v - prev);
        fa = cdf_at(a, &i, v);
        fb = cdf_at(b, &j, v);
        double diff = fa - fb;
        maxs = diff > maxs ? diff : maxs;
        mins = diff < mins ? diff : mins;
        prev = v;
        have = true;
    }
    double minS = fmin(fmax(-mins, 0.0), 1.0);
    *d_out = minS > maxs ? minS : maxs;
    *w_out = w;
}

static uint32_t severity(double psi, const mlops_drift_compare_options *o)
{
    if (!(psi >= o->psi_moderate))
        return MLOPS_DRIFT_SEVERITY_NONE;
    return psi >= o->psi_significant ? MLOPS_DRIFT_SEVERITY_SIGNIFICANT
                                     : MLOPS_DRIFT_SEVERITY_MODERATE;
}

static void col_init(mlops_drift_column *c)
{
    memset(c, 0, sizeof(*c));
    c->version = MLOPS_DRIFT_COLUMN_VERSION;
    c->score = c->psi = c->ks_statistic = c->ks_pvalue = c->chi2_statistic = c->chi2_dof =
        c->chi2_pvalue = c->js_distance = c->wasserstein = c->wasserstein_norm = c->z_pvalue = NAN;
}

/* Two-proportion z-test p-value (Evidently's proportions_diff_z_test). */
static double z_pvalue(double x1, double n1, double x2, double n2)
{
    double p1 = x1 / n1, p2 = x2 / n2, P = (x1 + x2) / (n1 + n2);
    double den = sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2));
    if (!(den > 0))
        return 1.0;
    double z = (p1 - p2) / den;
    return 2 * mlops__norm_sf(fabs(z));
}

/* Value-count tables of two exact numeric sources with few distinct values;
 * returns the number of distinct values, or SIZE_MAX if more than limit. */
static size_t value_table(const cdfsrc *a, const cdfsrc *b, size_t limit, double *ca, double *cb)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n || j < b->n) {
        double v = (j >= b->n || (i < a->n && a->v[i] <= b->v[j])) ? a->v[i] : b->v[j];
        if (k >= limit)
            return SIZE_MAX;
        double wa = 0, wb = 0;
        while (i < a->n && a->v[i] == v) {
            wa += a->cw ? (double)(a->cw[i] - (i ? a->cw[i - 1] : 0)) : 1.0;
            i++;
        }
        while (j < b->n && b->v[j] == v) {
            wb += b->cw ? (double)(b->cw[j] - (j ? b->cw[j - 1] : 0)) : 1.0;
            j++;
        }
        ca[k] = wa;
        cb[k] = wb;
        k++;
    }
    return k;
}

static mlops_status compare_numeric(mlops_drift_column *c, mlops_drift_profile *b,
                                    mlops_drift_profile *cu, const mlops_drift_compare_options *o)
{
    mlops_env *env = b->env;
    mlops_status st = mlops__drift_fix_edges(b);
    if (st != MLOPS_OK)
        return st;
    size_t ne = b->n_edges;
    uint64_t *hb = mlops__calloc(env, 2 * (ne + 2), sizeof(uint64_t));
    if (hb == NULL)
        return mlops__nomem();
    uint64_t *hc = hb + ne + 2;
    bool est_b = false, est_c = false;
    cdfsrc sa = {0}, sb = {0};
    st = mlops__drift_hist_against(b, b->edges, ne, hb, &est_b);
    if (st == MLOPS_OK)
        st = mlops__drift_hist_against(cu, b->edges, ne, hc, &est_c);
    if (st != MLOPS_OK)
        goto out;
    hb[ne + 1] = b->missing;
    hc[ne + 1] = cu->missing;
    c->psi = mlops__psi_from_counts(hb, b->count, hc, cu->count, ne + 2, MLOPS__DRIFT_EPS);
    c->severity = severity(c->psi, o);
    {
        double pb[MLOPS_DRIFT_MAX_BINS + 2], pc[MLOPS_DRIFT_MAX_BINS + 2];
        for (size_t j = 0; j < ne + 2; j++) {
            pb[j] = (double)hb[j];
            pc[j] = (double)hc[j];
        }
        c->js_distance = mlops__js_distance(pb, pc, ne + 2, 0);
    }
    st = cdf_make(&sa, b, true);
    if (st == MLOPS_OK)
        st = cdf_make(&sb, cu, true);
    if (st != MLOPS_OK)
        goto out;
    if (sa.n == 0 || sb.n == 0)
        goto out; /* nothing finite on one side: KS and Wasserstein stay NaN */
    double d = 0, w = 0;
    ks_wass(&sa, &sb, &d, &w);
    uint64_t n1 = b->nfinite + b->pinf + b->ninf, n2 = cu->nfinite + cu->pinf + cu->ninf;
    if (!sa.exact || !sb.exact) {
        n1 = b->nfinite;
        n2 = cu->nfinite;
    }
    int used = 0;
    double dd = d;
    c->ks_pvalue = mlops__ks_pvalue(d, n1, n2, (int)o->ks_method, &used, &dd);
    c->ks_statistic = dd;
    c->ks_error = sa.eps + sb.eps;
    c->approximate = (sa.exact && sb.exact) ? 0 : 1;
    if (sa.exact && sb.exact && (b->pinf + b->ninf + cu->pinf + cu->ninf) > 0) {
        /* Wasserstein over finite values only */
        cdfsrc fa = {0}, fb = {0};
        if (cdf_make(&fa, b, false) == MLOPS_OK && cdf_make(&fb, cu, false) == MLOPS_OK &&
            fa.n > 0 && fb.n > 0) {
            double d2;
            ks_wass(&fa, &fb, &d2, &w);
        }
        cdf_free(env, &fa);
        cdf_free(env, &fb);
    }
    c->wasserstein = w;
    double sd = b->nfinite ? sqrt(b->m2 / (double)b->nfinite) : 0.0;
    c->wasserstein_norm = w / fmax(sd, 0.001);
    /* the automatic test */
    double ca[6], cb[6];
    size_t nvals = (sa.exact && sb.exact) ? value_table(&sa, &sb, 6, ca, cb) : SIZE_MAX;
    if (b->nfinite <= o->small_sample) {
        if (nvals <= 2) {
            c->test = MLOPS_DRIFT_TEST_Z;
            c->z_pvalue = nvals < 2 ? 1.0
                                    : z_pvalue(ca[0], ca[0] + ca[1], cb[0], cb[0] + cb[1]);
            c->score = c->z_pvalue;
        } else if (nvals <= 5) {
            c->test = MLOPS_DRIFT_TEST_CHI2;
            mlops__chi2_contingency(ca, cb, nvals, false, &c->chi2_statistic, &c->chi2_dof,
                                    &c->chi2_pvalue);
            c->score = c->chi2_pvalue;
        } else {
            c->test = MLOPS_DRIFT_TEST_KS;
            c->score = c->ks_pvalue;
        }
    } else if (nvals <= 5) {
        c->test = MLOPS_DRIFT_TEST_JS;
        c->score = mlops__js_distance(ca, cb, nvals, 0);
    } else {
        c->test = MLOPS_DRIFT_TEST_WASSERSTEIN;
        c->score = c->wasserstein_norm;
    }
out:
    cdf_free(env, &sa);
    cdf_free(env, &sb);
    mlops__free(env, hb);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static mlops_status compare_categorical(mlops_drift_column *c, const mlops_drift_profile *b,
                                        const mlops_drift_profile *cu,
                                        const mlops_drift_compare_options *o)
{
    mlops_env *env = b->env;
    size_t cap = b->n_cats + cu->n_cats + 2;
    const char **keys = mlops__malloc(env, cap * sizeof(char *));
    double *rb = mlops__calloc(env, 2 * cap, sizeof(double));
    if (keys == NULL || rb == NULL) {
        mlops__free(env, keys);
        mlops__free(env, rb);
        return mlops__nomem();
    }
    double *rc = rb + cap;
    size_t k = 0;
    for (size_t i = 0; i < b->n_cats; i++)
        keys[k++] = b->cats[i].s;
    for (size_t i = 0; i < cu->n_cats; i++)
        if (mlops__drift_cat_find(b, cu->cats[i].s, cu->cats[i].len) < 0)
            keys[k++] = cu->cats[i].s;
    qsort(keys, k, sizeof(char *), cmp_str);
    for (size_t i = 0; i < k; i++) {
        long x = mlops__drift_cat_find(b, keys[i], strlen(keys[i]));
        long y = mlops__drift_cat_find(cu, keys[i], strlen(keys[i]));
        rb[i] = x >= 0 ? (double)b->cats[x].c : 0.0;
        rc[i] = y >= 0 ? (double)cu->cats[y].c : 0.0;
    }
    size_t kc = k; /* categories proper */
    if (b->other + cu->other > 0) {
        rb[k] = (double)b->other;
        rc[k] = (double)cu->other;
        k++;
    }
    size_t kt = k; /* for the chi-squared table */
    double sb = 0, sc = 0;
    for (size_t i = 0; i < kt; i++) {
        sb += rb[i];
        sc += rc[i];
    }
    /* PSI and JS also see the missing values as a bin of their own */
    rb[k] = (double)b->missing;
    rc[k] = (double)cu->missing;
    k++;
    {
        double s = 0;
        for (size_t i = 0; i < k; i++) {
            if (rb[i] == 0 && rc[i] == 0)
                continue;
            double pb = b->count ? rb[i] / (double)b->count : 0, pc = cu->count ? rc[i] / (double)cu->count : 0;
            pb = pb == 0 ? MLOPS__DRIFT_EPS : pb;
            pc = pc == 0 ? MLOPS__DRIFT_EPS : pc;
            s += (pc - pb) * log(pc / pb);
        }
        c->psi = s;
        c->severity = severity(s, o);
        if (b->count > 0 && cu->count > 0)
            c->js_distance = mlops__js_distance(rb, rc, k, 0);
    }
    if (sb > 0 && sc > 0) {
        /* drop categories empty on both sides (they can only come from "other") */
        size_t m = 0;
        for (size_t i = 0; i < kt; i++)
            if (rb[i] + rc[i] > 0) {
                rb[m] = rb[i];
                rc[m] = rc[i];
                m++;
            }
        mlops__chi2_contingency(rb, rc, m, false, &c->chi2_statistic, &c->chi2_dof,
                                &c->chi2_pvalue);
        size_t nvals = kc + (b->other + cu->other > 0 ? 1 : 0);
        if ((uint64_t)sb <= o->small_sample) {
            if (nvals > 2) {
                c->test = MLOPS_DRIFT_TEST_CHI2;
                c->score = c->chi2_pvalue;
            } else {
                c->test = MLOPS_DRIFT_TEST_Z;
                c->z_pvalue = m < 2 ? 1.0 : z_pvalue(rb[0], sb, rc[0], sc);
                c->score = c->z_pvalue;
            }
        } else {
            c->test = MLOPS_DRIFT_TEST_JS;
            double js = mlops__js_distance(rb, rc, m, 0);
            c->score = js;
        }
    }
    mlops__free(env, keys);
    mlops__free(env, rb);
    return MLOPS_OK;
}

static bool is_pvalue_test(uint32_t t)
{
    return t == MLOPS_DRIFT_TEST_KS || t == MLOPS_DRIFT_TEST_CHI2 || t == MLOPS_DRIFT_TEST_Z;
}

typedef struct pidx {
    double p;
    size_t i;
} pidx;

static int cmp_pidx(const void *a, const void *b)
{
    double x = ((const pidx *)a)->p, y = ((const pidx *)b)->p;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static mlops_status finish(mlops_drift_report *r, const mlops_drift_compare_options *o)
{
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (is_pvalue_test(r->cols[i].test) && !isnan(r->cols[i].score))
            m++;
    if (m > 0 && o->correction != MLOPS_DRIFT_CORRECTION_NONE) {
        pidx *ps = mlops__malloc(r->env, m * sizeof(pidx));
        if (ps == NULL)
            return mlops__nomem();
        size_t k = 0;
        for (size_t i = 0; i < r->n; i++)
            if (is_pvalue_test(r->cols[i].test) && !isnan(r->cols[i].score))
                ps[k++] = (pidx){r->cols[i].score, i};
        if (o->correction == MLOPS_DRIFT_CORRECTION_BONFERRONI) {
            for (size_t j = 0; j < m; j++)
                r->cols[ps[j].i].score = fmin(1.0, ps[j].p * (double)m);
        } else {
            qsort(ps, m, sizeof(pidx), cmp_pidx);
            double run = 1.0;
            for (size_t j = m; j-- > 0;) {
                double adj = fmin(1.0, ps[j].p * (double)m / (double)(j + 1));
                run = fmin(run, adj);
                r->cols[ps[j].i].score = run;
            }
        }
        mlops__free(r->env, ps);
    }
    size_t tested = 0, drifted = 0;
    for (size_t i = 0; i < r->n; i++) {
        mlops_drift_column *c = &r->cols[i];
        if (c->test == 0 || isnan(c->score))
            continue;
        tested++;
        c->drifted = is_pvalue_test(c->test) ? (c->score < o->alpha)
                                             : (c->score >= o->distance_threshold);
        drifted += c->drifted;
    }
    r->share = tested ? (double)drifted / (double)tested : 0.0;
    r->dataset = tested && r->share >= o->drift_share ? 1 : 0;
    return MLOPS_OK;
}

void mlops_drift_report_free(mlops_drift_report *r)
{
    if (r == NULL)
        return;
    mlops_env *env = r->env;
    for (size_t i = 0; i < r->n; i++)
        mlops__free(env, (char *)r->cols[i].name);
    mlops__free(env, r->cols);
    mlops__free(env, r);
    mlops__env_unref(env);
}

mlops_status mlops_drift_compare(mlops_drift_report **out, mlops_drift_profile *const *base,
                                 size_t nb, mlops_drift_profile *const *cur, size_t nc,
                                 const mlops_drift_compare_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    if ((base == NULL && nb > 0) || (cur == NULL && nc > 0))
        return mlops__error(MLOPS_E_INVALID, "profile array is NULL");
    mlops_drift_compare_options o;
    mlops_status st = mlops__drift_options(&o, opts);
    if (st != MLOPS_OK)
        return st;
    for (size_t i = 0; i < nb; i++)
        if (base[i] == NULL)
            return mlops__error(MLOPS_E_INVALID, "baseline profile %zu is NULL", i);
    for (size_t i = 0; i < nc; i++)
        if (cur[i] == NULL)
            return mlops__error(MLOPS_E_INVALID, "current profile %zu is NULL", i);
    mlops_env *env = nb ? base[0]->env : NULL;
    mlops_drift_report *r = mlops__calloc(env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->env = mlops__env_ref(env);
    r->cols = mlops__calloc(env, nb ? nb : 1, sizeof(mlops_drift_column));
    if (r->cols == NULL) {
        mlops_drift_report_free(r);
        return mlops__nomem();
    }
    for (size_t i = 0; i < nb; i++) {
        mlops_drift_profile *b = base[i], *c = NULL;
        for (size_t j = 0; j < nc; j++)
            if (strcmp(cur[j]->name, b->name) == 0) {
                c = cur[j];
                break;
            }
        if (c == NULL)
            continue;
        if (c->type != b->type) {
            st = mlops__error(MLOPS_E_INVALID,
                              "column '%s' is %s in the baseline but %s in the current data",
                              b->name, b->type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical",
                              c->type == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical");
            goto fail;
        }
        mlops_drift_column *col = &r->cols[r->n];
        col_init(col);
        col->type = b->type;
        col->n_base = b->count;
        col->n_cur = c->count;
        col->missing_base = b->count ? (double)b->missing / (double)b->count : NAN;
        col->missing_cur = c->count ? (double)c->missing / (double)c->count : NAN;
        char *nm = mlops__strdup(env, b->name);
        if (nm == NULL) {
            st = mlops__nomem();
            goto fail;
        }
        col->name = nm;
        r->n++;
        if (b->count == 0 || c->count == 0)
            continue; /* an empty side: only the counts are reported */
        if (b->type == MLOPS_DRIFT_NUMERIC) {
            if (b->nfinite == 0)
                continue;
            st = compare_numeric(col, b, c, &o);
        } else {
            st = compare_categorical(col, b, c, &o);
        }
        if (st != MLOPS_OK)
            goto fail;
    }
    if (r->n == 0) {
        st = mlops__error(MLOPS_E_INSUFFICIENT, "no column of the baseline has current data");
        goto fail;
    }
    st = finish(r, &o);
    if (st != MLOPS_OK)
        goto fail;
    *out = r;
    return MLOPS_OK;
fail:
    mlops_drift_report_free(r);
    return st;
}

size_t mlops_drift_report_count(const mlops_drift_report *r)
{
    return r ? r->n : 0;
}

mlops_status mlops_drift_report_column(mlops_drift_column *out, const mlops_drift_report *r,
                                       size_t i)
{
    if (out == NULL || r == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or report is NULL");
    if (out->version < 1 || out->version > MLOPS_DRIFT_COLUMN_VERSION)
        return mlops__error(MLOPS_E_VERSION, "column version %u is not supported", out->version);
    if (i >= r->n)
        return mlops__error(MLOPS_E_NOTFOUND, "column %zu of a report of %zu", i, r->n);
    *out = r->cols[i];
    return MLOPS_OK;
}

mlops_status mlops_drift_report_summary(double *share_out, uint32_t *dataset_out,
                                        const mlops_drift_report *r)
{
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "report is NULL");
    if (share_out)
        *share_out = r->share;
    if (dataset_out)
        *dataset_out = r->dataset;
    return MLOPS_OK;
}

static const char *test_name(uint32_t t)
{
    switch (t) {
    case MLOPS_DRIFT_TEST_PSI: return "psi";
    case MLOPS_DRIFT_TEST_KS: return "ks";
    case MLOPS_DRIFT_TEST_CHI2: return "chi2";
    case MLOPS_DRIFT_TEST_JS: return "jensenshannon";
    case MLOPS_DRIFT_TEST_WASSERSTEIN: return "wasserstein";
    case MLOPS_DRIFT_TEST_Z: return "z";
    default: return NULL;
    }
}

static const char *sev_name(uint32_t s)
{
    return s == MLOPS_DRIFT_SEVERITY_SIGNIFICANT ? "significant"
                                                 : (s == MLOPS_DRIFT_SEVERITY_MODERATE ? "moderate"
                                                                                       : "none");
}

mlops_status mlops_drift_report_json(char **out, const mlops_drift_report *r)
{
    if (out == NULL || r == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or report is NULL");
    *out = NULL;
    mlops__buf b;
    mlops__buf_init(&b, r->env);
    mlops__jb_append(&b, "{\"drift_share\": ", 16);
    mlops__json_f64(&b, r->share);
    mlops__jb_printf(&b, ", \"dataset_drift\": %s, \"columns\": [", r->dataset ? "true" : "false");
    for (size_t i = 0; i < r->n; i++) {
        const mlops_drift_column *c = &r->cols[i];
        bool num = c->type == MLOPS_DRIFT_NUMERIC;
        mlops__jb_append(&b, i ? ", {\"name\": " : "{\"name\": ", i ? 11 : 9);
        mlops__json_str(&b, c->name);
        mlops__jb_printf(&b, ", \"type\": \"%s\"", num ? "numeric" : "categorical");
        const char *keys[] = {"psi", "ks_statistic", "ks_pvalue", "chi2_statistic", "chi2_dof",
                              "chi2_pvalue", "js_distance", "wasserstein", "wasserstein_norm",
                              "z_pvalue", "score", "missing_base", "missing_current", "ks_error"};
        double vals[] = {c->psi, c->ks_statistic, c->ks_pvalue, c->chi2_statistic, c->chi2_dof,
                         c->chi2_pvalue, c->js_distance, c->wasserstein, c->wasserstein_norm,
                         c->z_pvalue, c->score, c->missing_base, c->missing_cur, c->ks_error};
        for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
            mlops__jb_printf(&b, ", \"%s\": ", keys[k]);
            mlops__json_f64(&b, vals[k]);
        }
        mlops__jb_append(&b, ", \"test\": ", 10);
        mlops__json_str(&b, test_name(c->test));
        mlops__jb_printf(&b, ", \"drifted\": %s, \"severity\": \"%s\", \"approximate\": %s, "
                              "\"n_base\": %llu, \"n_current\": %llu}",
                          c->drifted ? "true" : "false", sev_name(c->severity),
                          c->approximate ? "true" : "false", (unsigned long long)c->n_base,
                          (unsigned long long)c->n_cur);
    }
    mlops__jb_append(&b, "]}", 2);
    char *s = mlops__jb_take(&b);
    if (s == NULL) {
        mlops__buf_free(&b);
        return mlops__nomem();
    }
    *out = s;
    return MLOPS_OK;
}

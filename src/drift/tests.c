/* SPDX-License-Identifier: MIT */
/* The plain statistical functions on arrays. */
#include <math.h>
#include <string.h>

#include "drift/drift_internal.h"
#include "stats/special.h"

static mlops_status begin(mlops_drift_result *out, uint32_t test)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "result is NULL");
    if (out->version < 1 || out->version > MLOPS_DRIFT_RESULT_VERSION)
        return mlops__error(MLOPS_E_VERSION,
                            "result version %u is not supported (set it to MLOPS_DRIFT_RESULT_VERSION)",
                            out->version);
    uint32_t v = out->version;
    memset(out, 0, sizeof(*out));
    out->version = v;
    out->test = test;
    out->statistic = out->pvalue = out->dof = out->extra = NAN;
    return MLOPS_OK;
}

mlops_status mlops_drift_result_init(mlops_drift_result *res, uint32_t version)
{
    if (res == NULL)
        return mlops__error(MLOPS_E_INVALID, "result is NULL");
    if (version < 1 || version > MLOPS_DRIFT_RESULT_VERSION)
        return mlops__error(MLOPS_E_VERSION, "result version %u is not supported", version);
    memset(res, 0, sizeof(*res));
    res->version = version;
    return MLOPS_OK;
}

mlops_status mlops_drift_psi_options_init(mlops_drift_psi_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_DRIFT_PSI_OPTIONS_VERSION,
                               "drift psi options");
}

static void count_special(const double *x, size_t n, uint64_t *nan, uint64_t *inf)
{
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        a += (v != v);
        b += fabs(v) == INFINITY;
    }
    *nan = a;
    *inf = b;
}

/* Copy the values kept by keep() and sort them. */
static mlops_status sorted_copy(double **out, size_t *n_out, const double *x, size_t n,
                                bool finite_only)
{
    *out = NULL;
    *n_out = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += finite_only ? (isfinite(x[i]) ? 1 : 0) : (isnan(x[i]) ? 0 : 1);
    if (m == 0)
        return MLOPS_OK;
    double *v = mlops__malloc(NULL, 2 * m * sizeof(double));
    if (v == NULL)
        return mlops__nomem();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (finite_only ? isfinite(x[i]) : !isnan(x[i]))
            v[k++] = x[i];
    mlops__sort_f64(v, v + m, m);
    *out = v;
    *n_out = m;
    return MLOPS_OK;
}

static mlops_status psi_evidently(mlops_drift_result *out, const double *base, size_t nb,
                                  const double *cur, size_t nc)
{
    /* Evidently works on the values without NaN */
    double *a = NULL, *b = NULL;
    size_t na = 0, nbb = 0;
    mlops_status st = sorted_copy(&a, &na, base, nb, false);
    if (st == MLOPS_OK)
        st = sorted_copy(&b, &nbb, cur, nc, false);
    if (st != MLOPS_OK)
        goto out;
    if (na == 0 || nbb == 0) {
        st = mlops__error(MLOPS_E_INSUFFICIENT, "PSI needs a value that is not NaN on both sides");
        goto out;
    }
    size_t distinct = 0;
    for (size_t i = 0; i < na; i++)
        if (i == 0 || a[i] != a[i - 1])
            distinct++;
    double *pb = NULL, *pc = NULL;
    size_t k = 0;
    if (distinct > 20) {
        double lo = fmin(a[0], b[0]), hi = fmax(a[na - 1], b[nbb - 1]);
        if (!isfinite(lo) || !isfinite(hi)) {
            st = mlops__error(MLOPS_E_INVALID,
                              "Evidently's PSI bins need finite values; found an infinity");
            goto out;
        }
        double edges[4096];
        size_t ne = mlops__sturges_edges(lo, hi, na + nbb, edges, 4096);
        if (ne < 2) {
            st = mlops__error(MLOPS_E_TOOBIG, "too many Sturges bins");
            goto out;
        }
        k = ne - 1;
        uint64_t cb[4096], cc[4096];
        memset(cb, 0, k * sizeof(uint64_t));
        memset(cc, 0, k * sizeof(uint64_t));
        mlops__histogram_uniform(edges, ne, a, na, cb);
        mlops__histogram_uniform(edges, ne, b, nbb, cc);
        pb = mlops__malloc(NULL, 2 * k * sizeof(double));
        if (pb == NULL) {
            st = mlops__nomem();
            goto out;
        }
        pc = pb + k;
        for (size_t i = 0; i < k; i++) {
            pb[i] = (double)cb[i] / (double)na;
            pc[i] = (double)cc[i] / (double)nbb;
        }
    } else {
        /* one bin per distinct value of either sample */
        pb = mlops__malloc(NULL, 2 * (na + nbb) * sizeof(double));
        if (pb == NULL) {
            st = mlops__nomem();
            goto out;
        }
        pc = pb + na + nbb;
        size_t i = 0, j = 0;
        while (i < na || j < nbb) {
            double v = (j >= nbb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
            size_t ci = 0, cj = 0;
            while (i < na && a[i] == v) {
                i++;
                ci++;
            }
            while (j < nbb && b[j] == v) {
                j++;
                cj++;
            }
            pb[k] = (double)ci / (double)na;
            pc[k] = (double)cj / (double)nbb;
            k++;
        }
    }
    mlops__evidently_fill(pb, k);
    mlops__evidently_fill(pc, k);
    out->statistic = mlops__psi_shares(pb, pc, k);
    out->n_base = na;
    out->n_cur = nbb;
    mlops__free(NULL, pb);
out:
    mlops__free(NULL, a);
    mlops__free(NULL, b);
    return st;
}

mlops_status mlops_drift_psi(mlops_drift_result *out, const double *base, size_t nb,
                             const double *cur, size_t nc, const mlops_drift_psi_options *opts)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_PSI);
    if (st != MLOPS_OK)
        return st;
    if ((base == NULL && nb > 0) || (cur == NULL && nc > 0))
        return mlops__error(MLOPS_E_INVALID, "sample pointer is NULL");
    mlops_drift_psi_options o = {MLOPS_DRIFT_PSI_OPTIONS_VERSION};
    if (opts != NULL) {
        if (opts->version < 1 || opts->version > MLOPS_DRIFT_PSI_OPTIONS_VERSION)
            return mlops__error(MLOPS_E_VERSION, "PSI options version %u is not supported",
                                opts->version);
        o = *opts;
    }
    if (o.mode > MLOPS_DRIFT_PSI_EVIDENTLY)
        return mlops__error(MLOPS_E_INVALID, "PSI mode %u is unknown", o.mode);
    if (o.eps == 0.0)
        o.eps = MLOPS__DRIFT_EPS;
    if (!(o.eps > 0.0 && o.eps < 1.0))
        return mlops__error(MLOPS_E_INVALID, "PSI eps must be in (0, 1), got %g", o.eps);
    if (nb == 0 || nc == 0)
        return mlops__error(MLOPS_E_INSUFFICIENT, "PSI needs two non-empty samples (sizes %zu and %zu)",
                            nb, nc);
    count_special(base, nb, &out->nan_base, &out->inf_base);
    if (o.mode == MLOPS_DRIFT_PSI_EVIDENTLY) {
        count_special(cur, nc, &out->nan_cur, &out->inf_cur);
        return psi_evidently(out, base, nb, cur, nc);
    }
    size_t ne;
    double edges[MLOPS_DRIFT_MAX_BINS];
    uint64_t lt[MLOPS_DRIFT_MAX_BINS];
    lt[0] = UINT64_MAX;
    if (o.edges != NULL || o.n_edges != 0) {
        if (o.edges == NULL || o.n_edges == 0 || o.n_edges > MLOPS_DRIFT_MAX_BINS - 1)
            return mlops__error(MLOPS_E_INVALID, "PSI needs 1 to %u explicit edges, got %zu",
                                MLOPS_DRIFT_MAX_BINS - 1, o.n_edges);
        for (size_t i = 0; i < o.n_edges; i++)
            if (!isfinite(o.edges[i]) || (i > 0 && o.edges[i] < o.edges[i - 1]))
                return mlops__error(MLOPS_E_INVALID, "PSI edges must be finite and ascend (edge %zu)",
                                    i);
        ne = o.n_edges;
        memcpy(edges, o.edges, ne * sizeof(double));
    } else {
        if (o.bins == 0)
            o.bins = MLOPS__DRIFT_DEFAULT_BINS;
        if (o.bins > MLOPS_DRIFT_MAX_BINS)
            return mlops__error(MLOPS_E_INVALID, "bins must be 1 to %u, got %u",
                                MLOPS_DRIFT_MAX_BINS, o.bins);
        size_t nf = nb - out->nan_base - out->inf_base;
        if (nf == 0)
            return mlops__error(MLOPS_E_INSUFFICIENT,
                                "the baseline has no finite value to take PSI bin edges from");
        ne = o.bins - 1;
        double q[MLOPS_DRIFT_MAX_BINS];
        for (size_t i = 0; i < ne; i++)
            q[i] = (double)(i + 1) / (double)o.bins;
        int done = mlops__quantiles_stream(NULL, base, nb, nf, q, ne, edges, lt);
        if (done < 0)
            return mlops__nomem();
        if (done == 0 && ne > 0) {
            double *tmp = mlops__malloc(NULL, nf * sizeof(double));
            if (tmp == NULL)
                return mlops__nomem();
            size_t m = 0;
            for (size_t i = 0; i < nb; i++)
                if (isfinite(base[i]))
                    tmp[m++] = base[i];
            mlops__quantiles_select(tmp, m, q, ne, edges);
            mlops__free(NULL, tmp);
        }
    }
    uint64_t *cb = mlops__calloc(NULL, 2 * (ne + 2), sizeof(uint64_t));
    if (cb == NULL)
        return mlops__nomem();
    uint64_t *cc = cb + ne + 2;
    uint64_t nan = 0;
    if (ne > 0 && lt[0] != UINT64_MAX) {
        /* the quantile pass counted the baseline's bins already */
        uint64_t pinf = 0, ninf = 0, nf = nb - out->nan_base - out->inf_base;
        for (size_t i = 0; i < nb && out->inf_base > 0; i++) {
            pinf += base[i] == INFINITY;
            ninf += base[i] == -INFINITY;
        }
        cb[0] = lt[0] + ninf;
        for (size_t j = 1; j < ne; j++)
            cb[j] = lt[j] - lt[j - 1];
        cb[ne] = nf - lt[ne - 1] + pinf;
        cb[ne + 1] = out->nan_base;
    } else {
        mlops__bin_count(edges, ne, base, nb, cb, &nan);
        cb[ne + 1] = nan;
    }
    nan = 0;
    /* the current side's NaN and infinities are counted by its binning pass */
    mlops__bin_count2(edges, ne, cur, nc, cc, &nan, &out->inf_cur);
    out->nan_cur = nan;
    cc[ne + 1] = nan;
    out->statistic = mlops__psi_from_counts(cb, nb, cc, nc, ne + 2, o.eps);
    out->n_base = nb;
    out->n_cur = nc;
    mlops__free(NULL, cb);
    return MLOPS_OK;
}

mlops_status mlops_drift_ks_2samp(mlops_drift_result *out, const double *a, size_t na,
                                  const double *b, size_t nb, uint32_t method)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_KS);
    if (st != MLOPS_OK)
        return st;
    if ((a == NULL && na > 0) || (b == NULL && nb > 0))
        return mlops__error(MLOPS_E_INVALID, "sample pointer is NULL");
    if (method > MLOPS_DRIFT_KS_ASYMP)
        return mlops__error(MLOPS_E_INVALID, "KS method %u is unknown", method);
    count_special(a, na, &out->nan_base, &out->inf_base);
    count_special(b, nb, &out->nan_cur, &out->inf_cur);
    double *sa = NULL, *sb = NULL;
    size_t ma = 0, mb = 0;
    st = sorted_copy(&sa, &ma, a, na, false);
    if (st == MLOPS_OK)
        st = sorted_copy(&sb, &mb, b, nb, false);
    if (st != MLOPS_OK)
        goto out;
    if (ma == 0 || mb == 0) {
        st = mlops__error(MLOPS_E_INSUFFICIENT,
                          "KS needs a non-NaN value in both samples (%zu and %zu of %zu and %zu)",
                          ma, mb, na, nb);
        goto out;
    }
    double d = mlops__ks_statistic_sorted(sa, ma, sb, mb);
    int used = 0;
    double dd = d;
    out->pvalue = mlops__ks_pvalue(d, ma, mb, (int)method, &used, &dd);
    out->statistic = dd;
    out->method = (uint32_t)used;
    out->n_base = ma;
    out->n_cur = mb;
out:
    mlops__free(NULL, sa);
    mlops__free(NULL, sb);
    return st;
}

static mlops_status check_counts(const double *v, size_t k, const char *what, bool positive)
{
    for (size_t i = 0; i < k; i++)
        if (!isfinite(v[i]) || v[i] < 0 || (positive && v[i] == 0))
            return mlops__error(MLOPS_E_INVALID, "%s %zu is %g; counts must be finite and %s", what,
                                i, v[i], positive ? "positive" : "non-negative");
    return MLOPS_OK;
}

mlops_status mlops_drift_chi2(mlops_drift_result *out, const double *base, const double *cur,
                              size_t k, uint32_t flags)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_CHI2);
    if (st != MLOPS_OK)
        return st;
    if (base == NULL || cur == NULL)
        return mlops__error(MLOPS_E_INVALID, "counts are NULL");
    if ((st = check_counts(base, k, "baseline count", false)) != MLOPS_OK ||
        (st = check_counts(cur, k, "current count", false)) != MLOPS_OK)
        return st;
    double *r0 = mlops__malloc(NULL, (2 * k + 1) * sizeof(double));
    if (r0 == NULL)
        return mlops__nomem();
    double *r1 = r0 + k;
    size_t m = 0;
    double s0 = 0, s1 = 0;
    for (size_t i = 0; i < k; i++) {
        if (base[i] + cur[i] == 0)
            continue;
        r0[m] = base[i];
        r1[m] = cur[i];
        s0 += base[i];
        s1 += cur[i];
        m++;
    }
    if (m == 0 || s0 == 0 || s1 == 0) {
        mlops__free(NULL, r0);
        return mlops__error(MLOPS_E_INSUFFICIENT,
                            "chi-squared needs counts on both sides (totals %g and %g)", s0, s1);
    }
    mlops__chi2_contingency(r0, r1, m, (flags & MLOPS_DRIFT_CHI2_YATES) != 0, &out->statistic,
                            &out->dof, &out->pvalue);
    out->n_base = (uint64_t)s0;
    out->n_cur = (uint64_t)s1;
    mlops__free(NULL, r0);
    return MLOPS_OK;
}

mlops_status mlops_drift_chisquare(mlops_drift_result *out, const double *observed,
                                   const double *expected, size_t k)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_CHISQUARE);
    if (st != MLOPS_OK)
        return st;
    if (observed == NULL || expected == NULL || k < 2)
        return mlops__error(MLOPS_E_INVALID, "chisquare needs two arrays of 2 or more counts");
    if ((st = check_counts(observed, k, "observed count", false)) != MLOPS_OK ||
        (st = check_counts(expected, k, "expected count", true)) != MLOPS_OK)
        return st;
    double so = 0, se = 0;
    for (size_t i = 0; i < k; i++) {
        so += observed[i];
        se += expected[i];
    }
    if (fabs(so - se) > 1e-8 * fmax(so, se))
        return mlops__error(MLOPS_E_INVALID,
                            "observed and expected totals differ (%.17g vs %.17g)", so, se);
    mlops__chisquare(observed, expected, k, &out->statistic, &out->pvalue);
    out->dof = (double)k - 1;
    return MLOPS_OK;
}

mlops_status mlops_drift_js(mlops_drift_result *out, const double *p, const double *q, size_t k,
                            double base)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_JS);
    if (st != MLOPS_OK)
        return st;
    if (p == NULL || q == NULL || k == 0)
        return mlops__error(MLOPS_E_INVALID, "JS needs two non-empty weight arrays");
    if (!(base == 0 || (base > 0 && base != 1 && isfinite(base))))
        return mlops__error(MLOPS_E_INVALID, "log base %g is invalid", base);
    if ((st = check_counts(p, k, "weight p", false)) != MLOPS_OK ||
        (st = check_counts(q, k, "weight q", false)) != MLOPS_OK)
        return st;
    double sp = 0, sq = 0;
    for (size_t i = 0; i < k; i++) {
        sp += p[i];
        sq += q[i];
    }
    if (sp == 0 || sq == 0)
        return mlops__error(MLOPS_E_INVALID, "JS weights must have a positive sum");
    out->statistic = mlops__js_distance(p, q, k, base);
    return MLOPS_OK;
}

mlops_status mlops_drift_wasserstein(mlops_drift_result *out, const double *a, size_t na,
                                     const double *b, size_t nb)
{
    mlops_status st = begin(out, MLOPS_DRIFT_TEST_WASSERSTEIN);
    if (st != MLOPS_OK)
        return st;
    if ((a == NULL && na > 0) || (b == NULL && nb > 0))
        return mlops__error(MLOPS_E_INVALID, "sample pointer is NULL");
    count_special(a, na, &out->nan_base, &out->inf_base);
    count_special(b, nb, &out->nan_cur, &out->inf_cur);
    double *sa = NULL, *sb = NULL;
    size_t ma = 0, mb = 0;
    st = sorted_copy(&sa, &ma, a, na, true);
    if (st == MLOPS_OK)
        st = sorted_copy(&sb, &mb, b, nb, true);
    if (st != MLOPS_OK)
        goto out;
    if (ma == 0 || mb == 0) {
        st = mlops__error(MLOPS_E_INSUFFICIENT,
                          "Wasserstein needs a finite value in both samples");
        goto out;
    }
    out->statistic = mlops__wasserstein_sorted(sa, ma, sb, mb);
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < ma; i++)
        mean += sa[i];
    mean /= (double)ma;
    for (size_t i = 0; i < ma; i++)
        m2 += (sa[i] - mean) * (sa[i] - mean);
    double sd = sqrt(m2 / (double)ma);
    out->extra = out->statistic / fmax(sd, 0.001);
    out->n_base = ma;
    out->n_cur = mb;
out:
    mlops__free(NULL, sa);
    mlops__free(NULL, sb);
    return st;
}

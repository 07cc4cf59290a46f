/* SPDX-License-Identifier: MIT */
/* Experiment analysis: per-variant summaries to effects, intervals, p-values,
 * the SRM guardrail, the sequential test and the pre-registered plan's verdict. */
#include <math.h>
#include <stdio.h>

#include "rollout/rollout_internal.h"
#include "stats/abtest.h"

MLOPS_API mlops_status mlops_ab_analyze_options_init(mlops_ab_analyze_options *opts,
                                                     uint32_t version)
{
    if (opts == NULL)
        return mlops__error(MLOPS_E_INVALID, "opts is NULL");
    if (version < 1 || version > MLOPS_AB_ANALYZE_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "analyze options version %u is not supported",
                            version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return MLOPS_OK;
}

typedef struct cmp {
    double effect, rel, lo, hi, stat, p, seq_p, cs_lo, cs_hi, df;
} cmp;

static mlops_status validate(const mlops_ab_variant_stats *v, uint32_t n, uint32_t metric)
{
    for (uint32_t i = 0; i < n; i++) {
        mlops_status st = mlops__ab_check_name(v[i].name, "variant name");
        if (st != MLOPS_OK)
            return st;
        if (!(v[i].sum >= 0.0) || !isfinite(v[i].sum))
            return mlops__error(MLOPS_E_INVALID, "variant '%s': sum %g must be finite and >= 0",
                                v[i].name, v[i].sum);
        if (v[i].units == 0)
            return mlops__error(MLOPS_E_INSUFFICIENT, "variant '%s' has no units", v[i].name);
        if (metric == MLOPS_AB_METRIC_BINARY) {
            if (v[i].sum > (double)v[i].units || v[i].sum != floor(v[i].sum))
                return mlops__error(MLOPS_E_INVALID,
                                    "variant '%s': %g conversions must be a whole number no "
                                    "larger than its %llu units",
                                    v[i].name, v[i].sum, (unsigned long long)v[i].units);
        } else {
            if (!(v[i].sum_sq >= 0.0) || !isfinite(v[i].sum_sq))
                return mlops__error(MLOPS_E_INVALID,
                                    "variant '%s': sum of squares %g must be finite and >= 0",
                                    v[i].name, v[i].sum_sq);
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(v[i].name, v[j].name) == 0)
                return mlops__error(MLOPS_E_INVALID, "variant '%s' appears twice", v[i].name);
    }
    return MLOPS_OK;
}

static void mean_var(const mlops_ab_variant_stats *v, uint32_t metric, double *mean, double *var)
{
    double n = (double)v->units;
    *mean = v->sum / n;
    if (metric == MLOPS_AB_METRIC_BINARY) {
        *var = *mean * (1.0 - *mean); /* per-unit Bernoulli variance */
    } else {
        double s = n > 1.0 ? (v->sum_sq - n * *mean * *mean) / (n - 1.0) : 0.0;
        *var = s > 0.0 ? s : 0.0;
    }
}

MLOPS_API mlops_status mlops_ab_analyze(char **json_out, mlops_env *env,
                                        const mlops_ab_variant_stats *variants, uint32_t n,
                                        const mlops_ab_analyze_options *opts)
{
    if (json_out == NULL || variants == NULL)
        return mlops__error(MLOPS_E_INVALID, "json_out or variants is NULL");
    *json_out = NULL;
    mlops_ab_analyze_options defaults = MLOPS_AB_ANALYZE_OPTIONS_INIT;
    if (opts == NULL)
        opts = &defaults;
    if (opts->version < 1 || opts->version > MLOPS_AB_ANALYZE_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "analyze options version %u is not supported",
                            opts->version);
    if (n < 2 || n > MLOPS_AB_MAX_VARIANTS)
        return mlops__error(MLOPS_E_INVALID, "%u variants; need 2 to %d (control first)", n,
                            MLOPS_AB_MAX_VARIANTS);
    uint32_t metric = opts->metric == 0 ? MLOPS_AB_METRIC_BINARY : opts->metric;
    if (metric != MLOPS_AB_METRIC_BINARY && metric != MLOPS_AB_METRIC_CONTINUOUS)
        return mlops__error(MLOPS_E_INVALID, "unknown metric kind %u", metric);
    const mlops_ab_experiment *plan = opts->plan;
    double alpha = opts->alpha != 0.0 ? opts->alpha
                   : plan != NULL     ? mlops__ab_experiment_alpha(plan)
                                      : 0.05;
    if (!(alpha > 0.0 && alpha < 1.0))
        return mlops__error(MLOPS_E_INVALID, "alpha %g is outside (0, 1)", alpha);
    double tuning = opts->cs_tuning == 0.0 ? 5000.0 : opts->cs_tuning;
    if (!(tuning > 0.0) || !isfinite(tuning) || !(opts->tau2 >= 0.0) || !isfinite(opts->tau2))
        return mlops__error(MLOPS_E_INVALID, "cs_tuning %g must be > 0 and tau2 %g >= 0",
                            opts->cs_tuning, opts->tau2);
    mlops_status st = validate(variants, n, metric);
    if (st != MLOPS_OK)
        return st;
    double planned[MLOPS_AB_MAX_VARIANTS];
    if (opts->planned != NULL) {
        if ((st = mlops__ab_check_weights(opts->planned, n, "planned shares")) != MLOPS_OK)
            return st;
        memcpy(planned, opts->planned, n * sizeof(double));
    } else {
        for (uint32_t i = 0; i < n; i++)
            planned[i] = 1.0 / n;
    }
    uint64_t units[MLOPS_AB_MAX_VARIANTS];
    for (uint32_t i = 0; i < n; i++)
        units[i] = variants[i].units;
    double chi2 = 0.0, srm_p = 1.0;
    if ((st = mlops_ab_srm(&chi2, &srm_p, units, planned, n)) != MLOPS_OK)
        return st;
    bool srm_alert = srm_p < 0.001;

    /* The plan: refuse the fixed-horizon verdict until its units and runtime are met. */
    bool plan_met = true;
    uint64_t need = 0;
    int64_t run_ms = 0, min_ms = 0;
    if (plan != NULL) {
        need = mlops_ab_experiment_planned_units(plan);
        int64_t now = opts->now_ms != 0 ? opts->now_ms : mlops__now_ms(mlops__ab_experiment_env(plan));
        run_ms = now - mlops__ab_experiment_start_ms(plan);
        min_ms = mlops__ab_experiment_min_runtime_ms(plan);
        for (uint32_t i = 0; i < n; i++)
            if (units[i] < need)
                plan_met = false;
        if (run_ms < min_ms)
            plan_met = false;
    }

    double mc, vc;
    mean_var(&variants[0], metric, &mc, &vc);
    double tau2 = opts->tau2;
    if (tau2 == 0.0) {
        double mde = plan != NULL ? mlops__ab_experiment_mde_effect(plan) : 0.0;
        tau2 = mde != 0.0 ? mde * mde : (mc != 0.0 ? 0.01 * mc * mc : 1e-4);
    }
    mlops__buf b;
    mlops__buf_init(&b, env);
    double total = 0.0;
    for (uint32_t i = 0; i < n; i++)
        total += (double)units[i];
    st = mlops__buf_printf(&b, "{\"metric\":\"%s\",\"alpha\":%.17g,\"variants\":[",
                           metric == MLOPS_AB_METRIC_BINARY ? "binary" : "continuous", alpha);
    for (uint32_t i = 0; st == MLOPS_OK && i < n; i++) {
        double m, v;
        mean_var(&variants[i], metric, &m, &v);
        if (i > 0)
            st = mlops__buf_putc(&b, ',');
        if (st == MLOPS_OK) st = mlops__buf_append(&b, "{\"name\":", 8);
        if (st == MLOPS_OK) st = mlops__ab_json_str(&b, variants[i].name);
        if (st == MLOPS_OK)
            st = mlops__buf_printf(&b, ",\"units\":%llu,\"share\":%.17g,\"planned_share\":%.17g,"
                                       "\"mean\":%.17g,\"sd\":%.17g}",
                                   (unsigned long long)units[i], (double)units[i] / total,
                                   planned[i], m, sqrt(v));
    }
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "],\"srm\":{\"chi2\":%.17g,\"p_value\":%.17g,\"alert\":%s},"
                                   "\"comparisons\":[",
                               chi2, srm_p, srm_alert ? "true" : "false");
    bool any_seq = false, any_sig = false, insufficient = false;
    for (uint32_t i = 1; st == MLOPS_OK && i < n; i++) {
        cmp c;
        memset(&c, 0, sizeof(c));
        double mt, vt;
        mean_var(&variants[i], metric, &mt, &vt);
        double nt = (double)units[i], nc = (double)units[0];
        c.effect = mt - mc;
        c.rel = mc != 0.0 ? c.effect / mc : NAN;
        mlops_status tst;
        if (metric == MLOPS_AB_METRIC_BINARY)
            tst = mlops_ab_ztest_proportions(&c.stat, &c.p, &c.lo, &c.hi,
                                             (uint64_t)variants[i].sum, units[i],
                                             (uint64_t)variants[0].sum, units[0], alpha);
        else
            tst = mlops_ab_welch_ttest(&c.stat, &c.df, &c.p, &c.lo, &c.hi, mt, vt, nt, mc, vc,
                                       nc, alpha);
        double var = vt / nt + vc / nc;
        if (tst == MLOPS_E_INSUFFICIENT || !(var > 0.0)) {
            insufficient = true;
            c.stat = c.p = c.lo = c.hi = c.seq_p = c.cs_lo = c.cs_hi = NAN;
        } else if (tst != MLOPS_OK) {
            st = tst;
            break;
        } else {
            double hw = 0.0;
            if ((st = mlops_ab_msprt(&c.seq_p, c.effect, var, tau2, 1.0)) != MLOPS_OK ||
                (st = mlops_ab_cs_halfwidth(&hw, var, nt + nc, alpha, tuning)) != MLOPS_OK)
                break;
            c.cs_lo = c.effect - hw;
            c.cs_hi = c.effect + hw;
            if (c.seq_p < alpha)
                any_seq = true;
            if (c.p < alpha)
                any_sig = true;
        }
        if (i > 1)
            st = mlops__buf_putc(&b, ',');
        if (st == MLOPS_OK) st = mlops__buf_append(&b, "{\"variant\":", 11);
        if (st == MLOPS_OK) st = mlops__ab_json_str(&b, variants[i].name);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"effect\":", 10);
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.effect);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"relative_effect\":", 19);
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.rel);
        if (st == MLOPS_OK) st = mlops__buf_printf(&b, ",\"test\":\"%s\",\"statistic\":", metric == MLOPS_AB_METRIC_BINARY ? "z" : "welch_t");
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.stat);
        /* Before the plan is met the fixed-horizon numbers are withheld (no peeking). */
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"p_value\":", 11);
        if (st == MLOPS_OK) st = plan_met ? mlops__ab_json_f64(&b, c.p) : mlops__buf_append(&b, "null", 4);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"ci\":", 6);
        if (st == MLOPS_OK && plan_met) {
            st = mlops__buf_putc(&b, '[');
            if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.lo);
            if (st == MLOPS_OK) st = mlops__buf_putc(&b, ',');
            if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.hi);
            if (st == MLOPS_OK) st = mlops__buf_putc(&b, ']');
        } else if (st == MLOPS_OK) {
            st = mlops__buf_append(&b, "null", 4);
        }
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"sequential_p_value\":", 22);
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.seq_p);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"confidence_sequence\":[", 24);
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.cs_lo);
        if (st == MLOPS_OK) st = mlops__buf_putc(&b, ',');
        if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, c.cs_hi);
        if (st == MLOPS_OK) st = mlops__buf_append(&b, "]}", 2);
    }
    if (st == MLOPS_OK) {
        st = mlops__buf_append(&b, "],\"plan\":", 9);
        if (st == MLOPS_OK && plan != NULL)
            st = mlops__buf_printf(&b,
                                   "{\"units_per_variant\":%llu,\"runtime_days\":%.4g,"
                                   "\"min_runtime_days\":%.4g,\"met\":%s}",
                                   (unsigned long long)need, (double)run_ms / 86400000.0,
                                   (double)min_ms / 86400000.0, plan_met ? "true" : "false");
        else if (st == MLOPS_OK)
            st = mlops__buf_append(&b, "null", 4);
    }
    const char *verdict;
    char vbuf[300];
    if (srm_alert) {
        snprintf(vbuf, sizeof(vbuf),
                 "invalid: sample ratio mismatch (p = %.3g < 0.001); fix the assignment before "
                 "reading results",
                 srm_p);
        verdict = vbuf;
    } else if (insufficient) {
        verdict = "insufficient data: a variant has no variance yet";
    } else if (any_seq) {
        verdict = "stop: significant by the sequential test (always-valid p < alpha)";
    } else if (!plan_met) {
        snprintf(vbuf, sizeof(vbuf),
                 "refused: the fixed-horizon verdict waits for the plan (%llu units per variant "
                 "and %.0f days; now %.1f days)",
                 (unsigned long long)need, (double)min_ms / 86400000.0,
                 (double)run_ms / 86400000.0);
        verdict = vbuf;
    } else {
        verdict = any_sig ? "significant at the planned horizon" : "no significant difference";
    }
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"verdict\":", 11);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, verdict);
    if (st == MLOPS_OK) st = mlops__buf_putc(&b, '}');
    if (st == MLOPS_OK) {
        *json_out = mlops__buf_take_str(&b);
        if (*json_out == NULL)
            st = mlops__nomem();
    }
    mlops__buf_free(&b);
    return st;
}

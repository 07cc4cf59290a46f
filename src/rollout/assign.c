/* SPDX-License-Identifier: MIT */
/* Sticky assignment: hashing (XXH3 and GrowthBook's FNV-1a), bucket ranges,
 * experiments with namespaces, holdouts and allow-lists, and their storage.
 * The algorithm is specified in docs/rollout.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rollout/rollout_internal.h"
#include "stats/abtest.h"
#include "store/store_internal.h"

/* ---- names, keys, JSON ---- */

mlops_status mlops__ab_check_name(const char *name, const char *what)
{
    if (name == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s is NULL", what);
    size_t n = strlen(name);
    if (n == 0 || n > MLOPS__AB_MAX_NAME)
        return mlops__error(MLOPS_E_INVALID, "%s must be 1 to %d bytes, not %zu", what,
                            MLOPS__AB_MAX_NAME, n);
    if (!mlops__utf8_valid(name, n))
        return mlops__error(MLOPS_E_INVALID, "%s is not valid UTF-8", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return mlops__error(MLOPS_E_INVALID,
                                "%s contains the control character 0x%02x at byte %zu", what, c,
                                i);
    }
    return MLOPS_OK;
}

static mlops_status key_part(mlops__buf *key, const char *s)
{
    uint8_t v[10];
    size_t n = strlen(s);
    mlops_status st = mlops__buf_append(key, v, mlops__varint_put(v, n));
    if (st == MLOPS_OK)
        st = mlops__buf_append(key, s, n);
    return st;
}

mlops_status mlops__ab_key(mlops__buf *key, char kind, const char *a, const char *b)
{
    char pre[4] = {'o', '/', kind, '/'};
    mlops_status st = mlops__buf_append(key, pre, 4);
    if (st == MLOPS_OK && a != NULL)
        st = key_part(key, a);
    if (st == MLOPS_OK && b != NULL)
        st = key_part(key, b);
    return st;
}

mlops_status mlops__ab_json_str(mlops__buf *b, const char *s)
{
    if (s == NULL)
        return mlops__buf_append(b, "null", 4);
    mlops_status st = mlops__buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; st == MLOPS_OK && *p; p++) {
        if (*p == '"' || *p == '\\') {
            st = mlops__buf_putc(b, '\\');
            if (st == MLOPS_OK)
                st = mlops__buf_putc(b, *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            st = mlops__buf_printf(b, "\\u%04x", *p);
        } else {
            st = mlops__buf_putc(b, *p);
        }
    }
    if (st == MLOPS_OK)
        st = mlops__buf_putc(b, '"');
    return st;
}

mlops_status mlops__ab_json_f64(mlops__buf *b, double v)
{
    if (isnan(v))
        return mlops__buf_append(b, "\"NaN\"", 5);
    if (isinf(v))
        return v > 0 ? mlops__buf_append(b, "\"Infinity\"", 10)
                     : mlops__buf_append(b, "\"-Infinity\"", 11);
    return mlops__buf_printf(b, "%.17g", v);
}

/* ---- hashing ---- */

static void fnv_feed(uint32_t *h, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        unsigned char c = p[i];
        /* The input is valid UTF-8 (checked by the caller). */
        if (c < 0x80) {
            cp = c;
            i += 1;
        } else if (c < 0xE0) {
            cp = ((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
            i += 2;
        } else if (c < 0xF0) {
            cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) |
                 (p[i + 2] & 0x3F);
            i += 3;
        } else {
            cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3F) << 12) |
                 ((uint32_t)(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
            i += 4;
        }
        /* JavaScript's charCodeAt sees UTF-16 code units. */
        if (cp >= 0x10000) {
            cp -= 0x10000;
            *h = (*h ^ (0xD800u + (cp >> 10))) * 16777619u;
            *h = (*h ^ (0xDC00u + (cp & 0x3FF))) * 16777619u;
        } else {
            *h = (*h ^ cp) * 16777619u;
        }
    }
}

uint32_t mlops__fnv1a_utf16(const char *a, size_t alen, const char *b, size_t blen)
{
    uint32_t h = 0x811C9DC5u;
    fnv_feed(&h, a, alen);
    fnv_feed(&h, b, blen);
    return h;
}

double mlops__ab_hash_unit(uint32_t mode, const char *seed, uint64_t seed64, const void *v,
                           size_t len)
{
    if (mode == MLOPS_AB_HASH_GROWTHBOOK_V1) {
        uint32_t n = mlops__fnv1a_utf16((const char *)v, len, seed, strlen(seed));
        return (double)(n % 1000u) / 1000.0;
    }
    if (mode == MLOPS_AB_HASH_GROWTHBOOK_V2) {
        uint32_t inner = mlops__fnv1a_utf16(seed, strlen(seed), (const char *)v, len);
        char num[16];
        int k = snprintf(num, sizeof(num), "%u", inner);
        uint32_t n = mlops__fnv1a_utf16(num, (size_t)k, "", 0);
        return (double)(n % 10000u) / 10000.0;
    }
    return mlops__ab_u53(mlops__xxh3_64(v, len, seed64));
}

static uint64_t seed_of(const char *prefix, const char *s)
{
    /* Hash the prefix and the seed as two length-delimited parts so "a"+"bc" != "ab"+"c". */
    uint64_t h = mlops__xxh3_64(prefix, strlen(prefix), 0x6d6c6f7073616200ull);
    return mlops__xxh3_64(s, strlen(s), h);
}

static mlops_status check_mode(uint32_t mode)
{
    if (mode != MLOPS_AB_HASH_XXH3 && mode != MLOPS_AB_HASH_GROWTHBOOK_V1 &&
        mode != MLOPS_AB_HASH_GROWTHBOOK_V2)
        return mlops__error(MLOPS_E_INVALID,
                            "unknown hash mode %u (1: xxh3, 2: growthbook-v1, 3: growthbook-v2)",
                            mode);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_hash(double *out, uint32_t mode, const char *seed,
                                     const void *value, size_t value_len)
{
    if (out == NULL || seed == NULL || (value == NULL && value_len > 0))
        return mlops__error(MLOPS_E_INVALID, "a pointer argument is NULL");
    mlops_status st = check_mode(mode);
    if (st != MLOPS_OK)
        return st;
    if (!mlops__utf8_valid(seed, strlen(seed)))
        return mlops__error(MLOPS_E_INVALID, "the seed is not valid UTF-8");
    if (mode != MLOPS_AB_HASH_XXH3 && !mlops__utf8_valid((const char *)value, value_len))
        return mlops__error(MLOPS_E_INVALID,
                            "GrowthBook hashing needs UTF-8 text; the value is not valid UTF-8");
    *out = mlops__ab_hash_unit(mode, seed, seed_of("seed", seed), value == NULL ? "" : value,
                               value_len);
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_bucket_ranges(double *ranges_out, uint32_t n, double coverage,
                                              const double *weights, uint32_t n_weights)
{
    if (ranges_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "ranges_out is NULL");
    if (n < 1 || n > MLOPS_AB_MAX_VARIANTS)
        return mlops__error(MLOPS_E_INVALID, "%u variants; need 1 to %d", n,
                            MLOPS_AB_MAX_VARIANTS);
    if (!(coverage >= 0.0))
        coverage = 0.0; /* GrowthBook clamps, NaN included */
    if (coverage > 1.0)
        coverage = 1.0;
    double w[MLOPS_AB_MAX_VARIANTS];
    bool equal = weights == NULL || n_weights != n;
    if (!equal) {
        double sum = 0.0;
        for (uint32_t i = 0; i < n; i++)
            sum += weights[i];
        if (!(sum >= 0.99 && sum <= 1.01))
            equal = true;
    }
    for (uint32_t i = 0; i < n; i++)
        w[i] = equal ? 1.0 / n : weights[i];
    double cum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        double start = cum;
        cum += w[i];
        ranges_out[2 * i] = start;
        ranges_out[2 * i + 1] = start + coverage * w[i];
    }
    return MLOPS_OK;
}

MLOPS_API int32_t mlops_ab_choose_variation(double x, const double *ranges, uint32_t n)
{
    if (ranges == NULL)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (x >= ranges[2 * i] && x < ranges[2 * i + 1])
            return (int32_t)i;
    return -1;
}

MLOPS_API mlops_status mlops_ab_in_namespace(int *in_out, const void *unit, size_t unit_len,
                                             const char *namespace_id, double start, double end)
{
    if (in_out == NULL || namespace_id == NULL || (unit == NULL && unit_len > 0))
        return mlops__error(MLOPS_E_INVALID, "a pointer argument is NULL");
    if (!mlops__utf8_valid((const char *)unit, unit_len) ||
        !mlops__utf8_valid(namespace_id, strlen(namespace_id)))
        return mlops__error(MLOPS_E_INVALID, "the unit or namespace is not valid UTF-8");
    size_t nl = strlen(namespace_id);
    char stackbuf[256];
    char *seed = nl + 3 <= sizeof(stackbuf) ? stackbuf : malloc(nl + 3);
    if (seed == NULL)
        return mlops__nomem();
    seed[0] = '_';
    seed[1] = '_';
    memcpy(seed + 2, namespace_id, nl + 1);
    double x = mlops__ab_hash_unit(MLOPS_AB_HASH_GROWTHBOOK_V1, seed, 0,
                                   unit == NULL ? "" : unit, unit_len);
    if (seed != stackbuf)
        free(seed);
    *in_out = x >= start && x < end;
    return MLOPS_OK;
}

/* ---- experiments ---- */

typedef struct forced_entry {
    uint64_t h;
    uint8_t *unit;
    size_t len;
    int32_t variant;
} forced_entry;

struct mlops_ab_experiment {
    mlops_env *env;
    char *key;
    char *seed;
    uint32_t mode;
    uint32_t n;
    double weights[MLOPS_AB_MAX_VARIANTS];
    double ranges[2 * MLOPS_AB_MAX_VARIANTS];
    double coverage;
    char *ns;
    double ns_start, ns_end;
    double holdout;
    char *holdout_seed;
    char *ns_seed; /* "__" + ns, for the GrowthBook modes */
    uint64_t seed64, ns_seed64, holdout_seed64;
    /* plan */
    char *primary_metric;
    char *guardrails;
    double alpha, power, baseline, mde;
    uint32_t relative;
    uint32_t min_runtime_days;
    uint64_t planned_units;
    int64_t start_ms;
    /* allow-list: open addressing on the unit's XXH3 */
    forced_entry *forced;
    size_t forced_cap, forced_n;
};

MLOPS_API mlops_status mlops_ab_experiment_options_init(mlops_ab_experiment_options *opts,
                                                     uint32_t version)
{
    if (opts == NULL)
        return mlops__error(MLOPS_E_INVALID, "opts is NULL");
    if (version < 1 || version > MLOPS_AB_EXPERIMENT_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "experiment options version %u is not supported",
                            version);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return MLOPS_OK;
}

MLOPS_API void mlops_ab_experiment_free(mlops_ab_experiment *exp)
{
    if (exp == NULL)
        return;
    mlops_env *env = exp->env;
    for (size_t i = 0; i < exp->forced_cap; i++)
        mlops__free(env, exp->forced[i].unit);
    mlops__free(env, exp->forced);
    mlops__free(env, exp->key);
    mlops__free(env, exp->seed);
    mlops__free(env, exp->ns);
    mlops__free(env, exp->ns_seed);
    mlops__free(env, exp->holdout_seed);
    mlops__free(env, exp->primary_metric);
    mlops__free(env, exp->guardrails);
    mlops__free(env, exp);
    mlops__env_unref(env);
}

static mlops_status dup_opt(const mlops_env *env, char **dst, const char *src, const char *what,
                            bool check)
{
    *dst = NULL;
    if (src == NULL)
        return MLOPS_OK;
    if (check) {
        mlops_status st = mlops__ab_check_name(src, what);
        if (st != MLOPS_OK)
            return st;
    } else if (!mlops__utf8_valid(src, strlen(src))) {
        return mlops__error(MLOPS_E_INVALID, "%s is not valid UTF-8", what);
    }
    *dst = mlops__strdup(env, src);
    return *dst == NULL ? mlops__nomem() : MLOPS_OK;
}

static bool share_ok(double x)
{
    return x >= 0.0 && x <= 1.0;
}

/* Validate and fill everything but the allow-list. */
static mlops_status experiment_build(mlops_ab_experiment *e, const char *key,
                                     const mlops_ab_experiment_options *o)
{
    mlops_status st = mlops__ab_check_name(key, "experiment key");
    if (st != MLOPS_OK)
        return st;
    e->mode = o->hash_mode == 0 ? MLOPS_AB_HASH_XXH3 : o->hash_mode;
    st = check_mode(e->mode);
    if (st != MLOPS_OK)
        return st;
    e->n = o->n_variants == 0 ? 2 : o->n_variants;
    if (e->n < 2 || e->n > MLOPS_AB_MAX_VARIANTS)
        return mlops__error(MLOPS_E_INVALID, "experiment '%s': %u variants; need 2 to %d", key,
                            e->n, MLOPS_AB_MAX_VARIANTS);
    if (o->weights != NULL) {
        st = mlops__ab_check_weights(o->weights, e->n, "weights");
        if (st != MLOPS_OK)
            return st;
        memcpy(e->weights, o->weights, e->n * sizeof(double));
    } else {
        for (uint32_t i = 0; i < e->n; i++)
            e->weights[i] = 1.0 / e->n;
    }
    e->coverage = o->coverage == 0.0 ? 1.0 : o->coverage;
    if (!(e->coverage > 0.0 && e->coverage <= 1.0))
        return mlops__error(MLOPS_E_INVALID, "coverage %g must be in (0, 1]", o->coverage);
    if (!(o->holdout >= 0.0 && o->holdout < 1.0))
        return mlops__error(MLOPS_E_INVALID, "holdout %g must be in [0, 1)", o->holdout);
    e->holdout = o->holdout;
    if ((st = dup_opt(e->env, &e->key, key, "experiment key", true)) != MLOPS_OK ||
        (st = dup_opt(e->env, &e->seed, o->seed != NULL ? o->seed : key, "seed", false)) !=
            MLOPS_OK ||
        (st = dup_opt(e->env, &e->holdout_seed,
                      o->holdout_seed != NULL ? o->holdout_seed : "holdout", "holdout seed",
                      true)) != MLOPS_OK ||
        (st = dup_opt(e->env, &e->primary_metric, o->primary_metric, "primary metric",
                      true)) != MLOPS_OK ||
        (st = dup_opt(e->env, &e->guardrails, o->guardrails, "guardrails", true)) != MLOPS_OK)
        return st;
    if (o->namespace_id != NULL) {
        if ((st = dup_opt(e->env, &e->ns, o->namespace_id, "namespace", true)) != MLOPS_OK)
            return st;
        e->ns_start = o->namespace_start;
        e->ns_end = o->namespace_end == 0.0 ? 1.0 : o->namespace_end;
        if (!share_ok(e->ns_start) || !share_ok(e->ns_end) || !(e->ns_start < e->ns_end))
            return mlops__error(MLOPS_E_INVALID,
                                "namespace range [%g, %g) must satisfy 0 <= start < end <= 1",
                                o->namespace_start, o->namespace_end);
        size_t nl = strlen(e->ns);
        e->ns_seed = mlops__malloc(e->env, nl + 3);
        if (e->ns_seed == NULL)
            return mlops__nomem();
        e->ns_seed[0] = '_';
        e->ns_seed[1] = '_';
        memcpy(e->ns_seed + 2, e->ns, nl + 1);
        e->ns_seed64 = seed_of("namespace", e->ns);
    } else if (o->namespace_start != 0.0 || o->namespace_end != 0.0) {
        return mlops__error(MLOPS_E_INVALID, "a namespace range needs a namespace id");
    }
    e->alpha = o->alpha == 0.0 ? 0.05 : o->alpha;
    e->power = o->power == 0.0 ? 0.8 : o->power;
    if (!(e->alpha > 0.0 && e->alpha < 1.0) || !(e->power > e->alpha && e->power < 1.0))
        return mlops__error(MLOPS_E_INVALID, "plan: alpha %g must be in (0, 1) and power %g in "
                                             "(alpha, 1)",
                            e->alpha, e->power);
    e->baseline = o->baseline;
    e->mde = o->mde;
    e->relative = o->relative_mde != 0;
    if (e->baseline != 0.0 || e->mde != 0.0) {
        st = mlops__ab_plan_units(&e->planned_units, e->baseline, e->mde, e->relative, e->alpha,
                                  e->power);
        if (st != MLOPS_OK)
            return st;
    }
    uint32_t days = o->min_runtime_days == 0 ? 7 : o->min_runtime_days;
    if (days > 3650)
        return mlops__error(MLOPS_E_INVALID, "minimum runtime %u days is over 10 years", days);
    e->min_runtime_days = (days + 6) / 7 * 7; /* whole weeks, for weekly seasonality */
    e->seed64 = seed_of("seed", e->seed);
    e->holdout_seed64 = seed_of("holdout", e->holdout_seed);
    mlops_ab_bucket_ranges(e->ranges, e->n, e->coverage, e->weights, e->n);
    return MLOPS_OK;
}

static mlops_status experiment_new(mlops_ab_experiment **out, mlops_env *env, const char *key,
                                   const mlops_ab_experiment_options *opts)
{
    mlops_ab_experiment_options defaults = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    if (opts == NULL)
        opts = &defaults;
    if (opts->version < 1 || opts->version > MLOPS_AB_EXPERIMENT_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "experiment options version %u is not supported",
                            opts->version);
    mlops_ab_experiment *e = mlops__calloc(env, 1, sizeof(*e));
    if (e == NULL)
        return mlops__nomem();
    e->env = mlops__env_ref(env);
    mlops_status st = experiment_build(e, key, opts);
    if (st != MLOPS_OK) {
        mlops_ab_experiment_free(e);
        return st;
    }
    *out = e;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_experiment_create(mlops_ab_experiment **out, mlops_env *env,
                                               const char *key,
                                               const mlops_ab_experiment_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    return experiment_new(out, env, key, opts);
}

static mlops_status check_unit(const mlops_ab_experiment *e, const void *unit, size_t len)
{
    if (unit == NULL)
        return mlops__error(MLOPS_E_INVALID, "unit is NULL");
    if (len == 0 || len > MLOPS__AB_MAX_UNIT)
        return mlops__error(MLOPS_E_INVALID, "a unit id must be 1 to %d bytes, not %zu",
                            MLOPS__AB_MAX_UNIT, len);
    if (e->mode != MLOPS_AB_HASH_XXH3 && !mlops__utf8_valid((const char *)unit, len))
        return mlops__error(MLOPS_E_INVALID,
                            "GrowthBook hashing needs UTF-8 unit ids; this one is not valid UTF-8");
    return MLOPS_OK;
}

static forced_entry *forced_find(const mlops_ab_experiment *e, const void *unit, size_t len,
                                 uint64_t h)
{
    if (e->forced_cap == 0)
        return NULL;
    size_t mask = e->forced_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        forced_entry *f = &e->forced[i];
        if (f->unit == NULL)
            return f;
        if (f->h == h && f->len == len && memcmp(f->unit, unit, len) == 0)
            return f;
    }
}

MLOPS_API mlops_status mlops_ab_experiment_force(mlops_ab_experiment *exp, const void *unit,
                                              size_t unit_len, int32_t variant)
{
    if (exp == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment is NULL");
    mlops_status st = check_unit(exp, unit, unit_len);
    if (st != MLOPS_OK)
        return st;
    if (variant < 0 || (uint32_t)variant >= exp->n)
        return mlops__error(MLOPS_E_INVALID,
                            "experiment '%s' has variants 0 to %u; %d is not one of them",
                            exp->key, exp->n - 1, variant);
    if ((exp->forced_n + 1) * 2 > exp->forced_cap) {
        size_t cap = exp->forced_cap == 0 ? 16 : exp->forced_cap * 2;
        forced_entry *t = mlops__calloc(exp->env, cap, sizeof(*t));
        if (t == NULL)
            return mlops__nomem();
        forced_entry *old = exp->forced;
        size_t old_cap = exp->forced_cap;
        exp->forced = t;
        exp->forced_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].unit != NULL)
                *forced_find(exp, old[i].unit, old[i].len, old[i].h) = old[i];
        mlops__free(exp->env, old);
    }
    uint64_t h = mlops__xxh3_64(unit, unit_len, 0);
    forced_entry *f = forced_find(exp, unit, unit_len, h);
    if (f->unit == NULL) {
        f->unit = mlops__malloc(exp->env, unit_len);
        if (f->unit == NULL)
            return mlops__nomem();
        memcpy(f->unit, unit, unit_len);
        f->len = unit_len;
        f->h = h;
        exp->forced_n++;
    }
    f->variant = variant;
    return MLOPS_OK;
}

MLOPS_API mlops_status mlops_ab_experiment_assign(int32_t *variant_out, double *bucket_out,
                                               const mlops_ab_experiment *exp, const void *unit,
                                               size_t unit_len)
{
    if (variant_out == NULL || exp == NULL)
        return mlops__error(MLOPS_E_INVALID, "variant_out or experiment is NULL");
    mlops_status st = check_unit(exp, unit, unit_len);
    if (st != MLOPS_OK)
        return st;
    double x = mlops__ab_hash_unit(exp->mode, exp->seed, exp->seed64, unit, unit_len);
    if (bucket_out != NULL)
        *bucket_out = x;
    if (exp->forced_n > 0) {
        forced_entry *f = forced_find(exp, unit, unit_len, mlops__xxh3_64(unit, unit_len, 0));
        if (f->unit != NULL) {
            *variant_out = f->variant;
            return MLOPS_OK;
        }
    }
    if (exp->holdout > 0.0 &&
        mlops__ab_hash_unit(exp->mode, exp->holdout_seed, exp->holdout_seed64, unit, unit_len) <
            exp->holdout) {
        *variant_out = MLOPS_AB_HOLDOUT;
        return MLOPS_OK;
    }
    if (exp->ns != NULL) {
        double nx = exp->mode == MLOPS_AB_HASH_XXH3
                        ? mlops__ab_u53(mlops__xxh3_64(unit, unit_len, exp->ns_seed64))
                        : mlops__ab_hash_unit(MLOPS_AB_HASH_GROWTHBOOK_V1, exp->ns_seed, 0,
                                              unit, unit_len);
        if (!(nx >= exp->ns_start && nx < exp->ns_end)) {
            *variant_out = MLOPS_AB_NOT_IN_EXPERIMENT;
            return MLOPS_OK;
        }
    }
    *variant_out = mlops_ab_choose_variation(x, exp->ranges, exp->n);
    return MLOPS_OK;
}

MLOPS_API uint64_t mlops_ab_experiment_planned_units(const mlops_ab_experiment *exp)
{
    return exp == NULL ? 0 : exp->planned_units;
}

int64_t mlops__ab_experiment_start_ms(const mlops_ab_experiment *exp)
{
    return exp->start_ms;
}

int64_t mlops__ab_experiment_min_runtime_ms(const mlops_ab_experiment *exp)
{
    return (int64_t)exp->min_runtime_days * 86400000;
}

double mlops__ab_experiment_alpha(const mlops_ab_experiment *exp)
{
    return exp->alpha;
}

double mlops__ab_experiment_mde_effect(const mlops_ab_experiment *exp)
{
    if (exp->mde == 0.0)
        return 0.0;
    return exp->relative ? exp->baseline * exp->mde : exp->mde;
}

const mlops_env *mlops__ab_experiment_env(const mlops_ab_experiment *exp)
{
    return exp->env;
}

/* ---- storage ---- */

enum {
    T_KEY = 1, T_SEED, T_MODE, T_WEIGHT, T_COVERAGE, T_NS, T_NS_START, T_NS_END, T_HOLDOUT,
    T_HOLDOUT_SEED, T_METRIC, T_GUARDRAILS, T_ALPHA, T_POWER, T_BASELINE, T_MDE, T_RELATIVE,
    T_RUNTIME_DAYS, T_START_MS, T_FORCED_UNIT, T_FORCED_VARIANT, T_NVARIANTS
};

static mlops_status experiment_encode(mlops__rec_writer *w, const mlops_ab_experiment *e)
{
    mlops__rec_writer_init(w, e->env, 1, MLOPS__ROLLOUT_REC_EXPERIMENT);
    mlops__rec_put_str(w, T_KEY, e->key);
    mlops__rec_put_str(w, T_SEED, e->seed);
    mlops__rec_put_u64(w, T_MODE, e->mode);
    mlops__rec_put_u64(w, T_NVARIANTS, e->n);
    for (uint32_t i = 0; i < e->n; i++)
        mlops__rec_put_f64(w, T_WEIGHT, e->weights[i]);
    mlops__rec_put_f64(w, T_COVERAGE, e->coverage);
    mlops__rec_put_str(w, T_NS, e->ns);
    mlops__rec_put_f64(w, T_NS_START, e->ns_start);
    mlops__rec_put_f64(w, T_NS_END, e->ns_end);
    mlops__rec_put_f64(w, T_HOLDOUT, e->holdout);
    mlops__rec_put_str(w, T_HOLDOUT_SEED, e->holdout_seed);
    mlops__rec_put_str(w, T_METRIC, e->primary_metric);
    mlops__rec_put_str(w, T_GUARDRAILS, e->guardrails);
    mlops__rec_put_f64(w, T_ALPHA, e->alpha);
    mlops__rec_put_f64(w, T_POWER, e->power);
    mlops__rec_put_f64(w, T_BASELINE, e->baseline);
    mlops__rec_put_f64(w, T_MDE, e->mde);
    mlops__rec_put_u64(w, T_RELATIVE, e->relative);
    mlops__rec_put_u64(w, T_RUNTIME_DAYS, e->min_runtime_days);
    mlops__rec_put_i64(w, T_START_MS, e->start_ms);
    for (size_t i = 0; i < e->forced_cap; i++) {
        if (e->forced[i].unit == NULL)
            continue;
        mlops__rec_put_bytes(w, T_FORCED_UNIT, e->forced[i].unit, e->forced[i].len);
        mlops__rec_put_u64(w, T_FORCED_VARIANT, (uint64_t)e->forced[i].variant);
    }
    return mlops__rec_writer_finish(w);
}

MLOPS_API mlops_status mlops_ab_experiment_save(const mlops_ab_experiment *exp, mlops_store *store)
{
    if (exp == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment or store is NULL");
    mlops_status st = MLOPS_OK;
    mlops__buf key, nskey, nsprefix;
    mlops__buf_init(&key, exp->env);
    mlops__buf_init(&nskey, exp->env);
    mlops__buf_init(&nsprefix, exp->env);
    mlops__rec_writer w, nw;
    memset(&w, 0, sizeof(w));
    memset(&nw, 0, sizeof(nw));
    mlops_batch *batch = NULL;
    mlops_store_iter *it = NULL;
    mlops_ab_experiment copy = *exp;
    copy.start_ms = mlops__now_ms(exp->env);
    if ((st = mlops__ab_key(&key, 'e', exp->key, NULL)) != MLOPS_OK ||
        (st = experiment_encode(&w, &copy)) != MLOPS_OK ||
        (st = mlops_batch_create(&batch, store)) != MLOPS_OK ||
        (st = mlops_batch_require_absent(batch, key.data, key.len)) != MLOPS_OK ||
        (st = mlops_batch_put(batch, key.data, key.len, w.buf.data, w.buf.len)) != MLOPS_OK)
        goto out;
    if (exp->ns != NULL) {
        /* Ranges of one namespace must be disjoint, so its experiments exclude each other. */
        if ((st = mlops__ab_key(&nsprefix, 'n', exp->ns, NULL)) != MLOPS_OK ||
            (st = mlops_store_iter_open(&it, store, nsprefix.data, nsprefix.len, NULL, 0)) !=
                MLOPS_OK)
            goto out;
        for (;;) {
            const uint8_t *k, *v;
            size_t kl, vl;
            st = mlops_store_iter_next(it, &k, &kl, &v, &vl);
            if (st == MLOPS_E_NOTFOUND) {
                st = MLOPS_OK;
                break;
            }
            if (st != MLOPS_OK)
                goto out;
            if (kl < nsprefix.len || memcmp(k, nsprefix.data, nsprefix.len) != 0)
                break;
            mlops__rec_reader r;
            if ((st = mlops__rec_reader_init(&r, v, vl, 1, MLOPS__ROLLOUT_REC_NSRANGE,
                                             "namespace range")) != MLOPS_OK)
                goto out;
            double s = 0, e = 0;
            mlops__rec_field f;
            char other[MLOPS__AB_MAX_NAME + 1] = "";
            while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
                if (f.tag == 1 && f.wire == MLOPS__REC_WIRE_FIXED64)
                    s = mlops__rec_as_f64(&f);
                else if (f.tag == 2 && f.wire == MLOPS__REC_WIRE_FIXED64)
                    e = mlops__rec_as_f64(&f);
                else if (f.tag == 3 && f.wire == MLOPS__REC_WIRE_BYTES &&
                         f.n <= MLOPS__AB_MAX_NAME) {
                    memcpy(other, f.p, f.n);
                    other[f.n] = 0;
                }
            }
            if (st != MLOPS_E_NOTFOUND)
                goto out;
            st = MLOPS_OK;
            if (strcmp(other, exp->key) != 0 && exp->ns_start < e && s < exp->ns_end) {
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "namespace '%s': range [%g, %g) of experiment '%s' overlaps "
                                  "[%g, %g) of experiment '%s'",
                                  exp->ns, exp->ns_start, exp->ns_end, exp->key, s, e, other);
                goto out;
            }
        }
        mlops__rec_writer_init(&nw, exp->env, 1, MLOPS__ROLLOUT_REC_NSRANGE);
        mlops__rec_put_f64(&nw, 1, exp->ns_start);
        mlops__rec_put_f64(&nw, 2, exp->ns_end);
        mlops__rec_put_str(&nw, 3, exp->key);
        if ((st = mlops__rec_writer_finish(&nw)) != MLOPS_OK ||
            (st = mlops__ab_key(&nskey, 'n', exp->ns, exp->key)) != MLOPS_OK ||
            (st = mlops_batch_put(batch, nskey.data, nskey.len, nw.buf.data, nw.buf.len)) !=
                MLOPS_OK)
            goto out;
    }
    st = mlops_store_apply(store, batch);
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_EXISTS, "experiment '%s' is already stored", exp->key);
out:
    mlops_store_iter_free(it);
    mlops_batch_free(batch);
    mlops__rec_writer_free(&w);
    mlops__rec_writer_free(&nw);
    mlops__buf_free(&key);
    mlops__buf_free(&nskey);
    mlops__buf_free(&nsprefix);
    return st;
}

MLOPS_API mlops_status mlops_ab_experiment_load(mlops_ab_experiment **out, mlops_store *store,
                                             const char *key)
{
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or store is NULL");
    *out = NULL;
    mlops_status st = mlops__ab_check_name(key, "experiment key");
    if (st != MLOPS_OK)
        return st;
    mlops_env *env = mlops_store_env(store);
    mlops__buf k;
    mlops__buf_init(&k, env);
    mlops_bytes val = {0};
    double weights[MLOPS_AB_MAX_VARIANTS];
    uint32_t nw = 0;
    mlops_ab_experiment_options o = MLOPS_AB_EXPERIMENT_OPTIONS_INIT;
    char *strs[7] = {0};
    int64_t start_ms = 0;
    mlops_ab_experiment *e = NULL;
    /* forced entries are applied after the experiment is built */
    const uint8_t *fu[256];
    size_t fl[256];
    size_t nf = 0;
    int64_t fv[256];
    size_t nfv = 0;
    if ((st = mlops__ab_key(&k, 'e', key, NULL)) != MLOPS_OK)
        goto out;
    st = mlops_store_get(&val, NULL, store, k.data, k.len);
    if (st == MLOPS_E_NOTFOUND) {
        st = mlops__error(MLOPS_E_NOTFOUND, "no experiment '%s' in the store", key);
        goto out;
    }
    if (st != MLOPS_OK)
        goto out;
    mlops__rec_reader r;
    if ((st = mlops__rec_reader_init(&r, val.data, val.len, 1, MLOPS__ROLLOUT_REC_EXPERIMENT,
                                     "experiment")) != MLOPS_OK)
        goto out;
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        int si = -1;
        switch (f.tag) {
        case T_SEED: si = 0; break;
        case T_NS: si = 1; break;
        case T_HOLDOUT_SEED: si = 2; break;
        case T_METRIC: si = 3; break;
        case T_GUARDRAILS: si = 4; break;
        case T_MODE: o.hash_mode = (uint32_t)f.u; break;
        case T_NVARIANTS: o.n_variants = (uint32_t)f.u; break;
        case T_WEIGHT:
            if (nw < MLOPS_AB_MAX_VARIANTS)
                weights[nw++] = mlops__rec_as_f64(&f);
            break;
        case T_COVERAGE: o.coverage = mlops__rec_as_f64(&f); break;
        case T_NS_START: o.namespace_start = mlops__rec_as_f64(&f); break;
        case T_NS_END: o.namespace_end = mlops__rec_as_f64(&f); break;
        case T_HOLDOUT: o.holdout = mlops__rec_as_f64(&f); break;
        case T_ALPHA: o.alpha = mlops__rec_as_f64(&f); break;
        case T_POWER: o.power = mlops__rec_as_f64(&f); break;
        case T_BASELINE: o.baseline = mlops__rec_as_f64(&f); break;
        case T_MDE: o.mde = mlops__rec_as_f64(&f); break;
        case T_RELATIVE: o.relative_mde = (uint32_t)f.u; break;
        case T_RUNTIME_DAYS: o.min_runtime_days = (uint32_t)f.u; break;
        case T_START_MS: start_ms = mlops__rec_as_i64(&f); break;
        case T_FORCED_UNIT:
            if (nf < 256) {
                fu[nf] = f.p;
                fl[nf++] = f.n;
            }
            break;
        case T_FORCED_VARIANT:
            if (nfv < 256)
                fv[nfv++] = (int64_t)f.u;
            break;
        default: break;
        }
        if (si >= 0 && f.wire == MLOPS__REC_WIRE_BYTES) {
            mlops__free(env, strs[si]);
            strs[si] = mlops__rec_as_str(env, &f);
            if (strs[si] == NULL) {
                st = mlops__nomem();
                goto out;
            }
        }
    }
    if (st != MLOPS_E_NOTFOUND)
        goto out;
    if (nw != o.n_variants || nf != nfv) {
        st = mlops__error(MLOPS_E_CORRUPT, "experiment '%s': the stored record is inconsistent",
                          key);
        goto out;
    }
    o.weights = weights;
    o.seed = strs[0];
    o.namespace_id = strs[1];
    o.holdout_seed = strs[2];
    o.primary_metric = strs[3];
    o.guardrails = strs[4];
    if ((st = experiment_new(&e, env, key, &o)) != MLOPS_OK) {
        if (st == MLOPS_E_INVALID)
            st = mlops__error(MLOPS_E_CORRUPT, "experiment '%s': the stored record is invalid",
                              key);
        goto out;
    }
    e->start_ms = start_ms;
    for (size_t i = 0; i < nf; i++)
        if ((st = mlops_ab_experiment_force(e, fu[i], fl[i], (int32_t)fv[i])) != MLOPS_OK)
            goto out;
    *out = e;
    e = NULL;
out:
    mlops_ab_experiment_free(e);
    for (int i = 0; i < 7; i++)
        mlops__free(env, strs[i]);
    mlops_bytes_free(&val);
    mlops__buf_free(&k);
    return st;
}

static const char *mode_name(uint32_t mode)
{
    return mode == MLOPS_AB_HASH_GROWTHBOOK_V1   ? "growthbook-v1"
           : mode == MLOPS_AB_HASH_GROWTHBOOK_V2 ? "growthbook-v2"
                                                 : "xxh3";
}

MLOPS_API mlops_status mlops_ab_experiment_json(char **json_out, const mlops_ab_experiment *exp)
{
    if (json_out == NULL || exp == NULL)
        return mlops__error(MLOPS_E_INVALID, "json_out or experiment is NULL");
    mlops__buf b;
    mlops__buf_init(&b, exp->env);
    mlops_status st = mlops__buf_append(&b, "{\"key\":", 7);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, exp->key);
    if (st == MLOPS_OK) st = mlops__buf_printf(&b, ",\"hash\":\"%s\",\"seed\":", mode_name(exp->mode));
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, exp->seed);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"weights\":[", 12);
    for (uint32_t i = 0; st == MLOPS_OK && i < exp->n; i++) {
        if (i > 0)
            st = mlops__buf_putc(&b, ',');
        if (st == MLOPS_OK)
            st = mlops__ab_json_f64(&b, exp->weights[i]);
    }
    if (st == MLOPS_OK) st = mlops__buf_append(&b, "],\"coverage\":", 13);
    if (st == MLOPS_OK) st = mlops__ab_json_f64(&b, exp->coverage);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"namespace\":", 13);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, exp->ns);
    if (st == MLOPS_OK && exp->ns != NULL)
        st = mlops__buf_printf(&b, ",\"namespace_range\":[%.17g,%.17g]", exp->ns_start,
                               exp->ns_end);
    if (st == MLOPS_OK) st = mlops__buf_printf(&b, ",\"holdout\":%.17g,\"forced\":%zu,\"plan\":{\"primary_metric\":", exp->holdout, exp->forced_n);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, exp->primary_metric);
    if (st == MLOPS_OK) st = mlops__buf_append(&b, ",\"guardrails\":", 14);
    if (st == MLOPS_OK) st = mlops__ab_json_str(&b, exp->guardrails);
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b,
                               ",\"alpha\":%.17g,\"power\":%.17g,\"baseline\":%.17g,\"mde\":%.17g,"
                               "\"relative_mde\":%s,\"units_per_variant\":%llu,"
                               "\"min_runtime_days\":%u,\"start_ms\":%lld}}",
                               exp->alpha, exp->power, exp->baseline, exp->mde,
                               exp->relative ? "true" : "false",
                               (unsigned long long)exp->planned_units, exp->min_runtime_days,
                               (long long)exp->start_ms);
    if (st != MLOPS_OK) {
        mlops__buf_free(&b);
        return st;
    }
    *json_out = mlops__buf_take_str(&b);
    if (*json_out == NULL)
        return mlops__nomem();
    return MLOPS_OK;
}

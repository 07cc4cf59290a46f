/* SPDX-License-Identifier: MIT */
/* Keys, records and name validation of the tracking module. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "run/run_internal.h"

/* ---- keys ---- */

void mlops__run_key_raw(runkey *k, const void *p, size_t n)
{
    /* Callers validate lengths first; clamp anyway so a key never overflows. */
    if (n > sizeof(k->b) - k->n)
        n = sizeof(k->b) - k->n;
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

void mlops__run_key_lit(runkey *k, const char *lit)
{
    mlops__run_key_raw(k, lit, strlen(lit));
}

void mlops__run_key_lp(runkey *k, const char *s, size_t n)
{
    uint8_t tmp[10];
    size_t m = mlops__varint_put(tmp, n);
    mlops__run_key_raw(k, tmp, m);
    mlops__run_key_raw(k, s, n);
}

void mlops__run_key_exp(runkey *k, const char *exp_id)
{
    k->n = 0;
    mlops__run_key_lit(k, "t/e/");
    mlops__run_key_lp(k, exp_id, strlen(exp_id));
}

void mlops__run_key_sum(runkey *k, const char *run_id, char what)
{
    k->n = 0;
    mlops__run_key_lit(k, "t/s/");
    mlops__run_key_raw(k, run_id, MLOPS_RUN_ID_LEN);
    uint8_t tail[2] = {'/', (uint8_t)what};
    mlops__run_key_raw(k, tail, 2);
}

/* ---- records ---- */

static char *field_str(const mlops_env *env, const mlops__rec_field *f, mlops_status *st)
{
    if (f->wire != MLOPS__REC_WIRE_BYTES) {
        *st = mlops__error(MLOPS_E_CORRUPT, "tracking record field %u has the wrong type", f->tag);
        return NULL;
    }
    char *s = mlops__rec_as_str(env, f);
    if (s == NULL)
        *st = mlops__nomem();
    return s;
}

mlops_status mlops__run_exp_decode(mlops__exp *e, const mlops_env *env, const uint8_t *p,
                                   size_t n)
{
    memset(e, 0, sizeof(*e));
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, p, n, 1, RUN_REC_EXPERIMENT, "experiment");
    mlops__rec_field f;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case 1:
            mlops__free(env, e->name);
            e->name = field_str(env, &f, &st);
            break;
        case 2:
            e->lifecycle = (uint32_t)f.u;
            break;
        case 3:
            e->created = mlops__rec_as_i64(&f);
            break;
        case 4:
            e->updated = mlops__rec_as_i64(&f);
            break;
        case 5:
            mlops__free(env, e->id);
            e->id = field_str(env, &f, &st);
            break;
        default:
            break;
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    if (st == MLOPS_OK && (e->name == NULL || e->id == NULL))
        st = mlops__error(MLOPS_E_CORRUPT, "experiment record without a name or id");
    if (st != MLOPS_OK)
        mlops__run_exp_clear(e, env);
    return st;
}

void mlops__run_exp_clear(mlops__exp *e, const mlops_env *env)
{
    mlops__free(env, e->id);
    mlops__free(env, e->name);
    memset(e, 0, sizeof(*e));
}

mlops_status mlops__run_exp_get(mlops__exp *e, mlops_store *store, const char *id)
{
    memset(e, 0, sizeof(*e));
    if (id == NULL || id[0] == '\0' || strlen(id) > 64)
        return mlops__error(MLOPS_E_INVALID, "experiment id '%s' is not valid",
                            id ? id : "(null)");
    runkey k = {.n = 0};
    mlops__run_key_exp(&k, id);
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "no experiment with id '%s'", id);
    if (st != MLOPS_OK)
        return st;
    st = mlops__run_exp_decode(e, mlops_store_env(store), v.data, v.len);
    mlops_bytes_free(&v);
    return st;
}

mlops_status mlops__run_info_decode(mlops__info *info, const mlops_env *env, const uint8_t *p,
                                    size_t n)
{
    memset(info, 0, sizeof(*info));
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, p, n, 1, RUN_REC_INFO, "run info");
    mlops__rec_field f;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        char **dst = NULL;
        switch (f.tag) {
        case 1: dst = &info->exp_id; break;
        case 2: dst = &info->name; break;
        case 3: info->status = (uint32_t)f.u; break;
        case 4: info->lifecycle = (uint32_t)f.u; break;
        case 5: info->start = mlops__rec_as_i64(&f); break;
        case 6: info->end = mlops__rec_as_i64(&f); break;
        case 7: dst = &info->parent; break;
        case 8: dst = &info->user; break;
        default: break;
        }
        if (dst != NULL) {
            mlops__free(env, *dst);
            *dst = field_str(env, &f, &st);
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    if (st == MLOPS_OK && info->exp_id == NULL)
        st = mlops__error(MLOPS_E_CORRUPT, "run info record without an experiment id");
    if (st != MLOPS_OK)
        mlops__run_info_clear(info, env);
    return st;
}

mlops_status mlops__run_info_encode(mlops__buf *out, const mlops_env *env,
                                    const mlops__info *info)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, RUN_REC_INFO);
    mlops__rec_put_str(&w, 1, info->exp_id);
    mlops__rec_put_str(&w, 2, info->name);
    mlops__rec_put_u64(&w, 3, info->status);
    mlops__rec_put_u64(&w, 4, info->lifecycle);
    mlops__rec_put_i64(&w, 5, info->start);
    mlops__rec_put_i64(&w, 6, info->end);
    mlops__rec_put_str(&w, 7, info->parent);
    mlops__rec_put_str(&w, 8, info->user);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

void mlops__run_info_clear(mlops__info *info, const mlops_env *env)
{
    mlops__free(env, info->exp_id);
    mlops__free(env, info->name);
    mlops__free(env, info->parent);
    mlops__free(env, info->user);
    memset(info, 0, sizeof(*info));
}

mlops_status mlops__run_value_decode(const uint8_t **s, size_t *n, const uint8_t *p, size_t len)
{
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, p, len, 1, RUN_REC_VALUE, "value");
    *s = (const uint8_t *)"";
    *n = 0;
    mlops__rec_field f;
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 1 && f.wire == MLOPS__REC_WIRE_BYTES) {
            *s = f.p;
            *n = f.n;
        }
    }
    return st == MLOPS_E_NOTFOUND ? MLOPS_OK : st;
}

mlops_status mlops__run_doc_entry(const mlops__rec_field *f, const uint8_t **key, size_t *klen,
                                  const uint8_t **rest, size_t *rlen)
{
    uint64_t kl;
    size_t m = f->wire == MLOPS__REC_WIRE_BYTES ? mlops__varint_get(f->p, f->n, &kl) : 0;
    if (m == 0 || kl > f->n - m)
        return mlops__error(MLOPS_E_CORRUPT, "malformed entry (field %u) in a run document",
                            f->tag);
    *key = f->p + m;
    *klen = (size_t)kl;
    *rest = f->p + m + kl;
    *rlen = f->n - m - (size_t)kl;
    if ((f->tag == DOC_METRIC && *rlen != 24) || (f->tag == DOC_DATASET && *rlen != 24))
        return mlops__error(MLOPS_E_CORRUPT, "malformed entry (field %u) in a run document",
                            f->tag);
    return MLOPS_OK;
}

mlops_status mlops__run_doc_find(const uint8_t *p, size_t n, uint32_t tag, const char *key,
                                 const uint8_t **val, size_t *vlen)
{
    mlops__rec_reader r;
    mlops__rec_field f;
    size_t want = strlen(key);
    mlops_status st = mlops__rec_reader_init(&r, p, n, 1, RUN_REC_INFO, "run document");
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag != tag)
            continue;
        const uint8_t *k;
        size_t kl;
        st = mlops__run_doc_entry(&f, &k, &kl, val, vlen);
        if (st == MLOPS_OK && kl == want && memcmp(k, key, kl) == 0)
            return MLOPS_OK;
    }
    return st;
}

void mlops__run_metric_payload(mlops_metric_value *v, const uint8_t *p)
{
    uint64_t bits = mlops__get_u64le(p);
    memcpy(&v->value, &bits, 8);
    v->step = (int64_t)mlops__get_u64le(p + 8);
    v->timestamp_ms = (int64_t)mlops__get_u64le(p + 16);
}

/* Total order of doubles: -inf .. +inf, then NaN (all NaNs equal). */
static int f64_cmp(double a, double b)
{
    bool an = isnan(a), bn = isnan(b);
    if (an || bn)
        return an == bn ? 0 : (an ? 1 : -1);
    return a < b ? -1 : (a > b);
}

int mlops__run_point_cmp(const mlops_metric_value *a, const mlops_metric_value *b)
{
    if (a->step != b->step)
        return a->step < b->step ? -1 : 1;
    if (a->timestamp_ms != b->timestamp_ms)
        return a->timestamp_ms < b->timestamp_ms ? -1 : 1;
    return f64_cmp(a->value, b->value);
}

/* ---- validation ---- */

size_t mlops__run_utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((uint8_t)s[i] & 0xC0) != 0x80;
    return c;
}

/* Segment rules shared by keys and artifact paths: POSIX normalisation must
 * not change the name (MLflow's path_not_unique), and no `..`. */
static const char *path_problem(const char *s, size_t n)
{
    if (n == 0)
        return "is empty";
    if (s[0] == '/')
        return "starts with '/'";
    if (s[n - 1] == '/')
        return "ends with '/'";
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            size_t len = i - seg;
            if (len == 0)
                return "has an empty path segment ('//')";
            if (len == 1 && s[seg] == '.')
                return "has a '.' path segment";
            if (len == 2 && s[seg] == '.' && s[seg + 1] == '.')
                return "has a '..' path segment";
            seg = i + 1;
        }
    }
    return NULL;
}

mlops_status mlops__run_check_key(const char *what, const char *key)
{
    if (key == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s key is NULL", what);
    size_t n = strlen(key);
    if (!mlops__utf8_valid(key, n))
        return mlops__error(MLOPS_E_INVALID, "%s key is not valid UTF-8", what);
    size_t chars = mlops__run_utf8_chars(key, n);
    if (chars > RUN_MAX_KEY_CHARS)
        return mlops__error(MLOPS_E_INVALID,
                            "%s key '%.40s...' has %zu characters; the limit is %d", what, key,
                            chars, RUN_MAX_KEY_CHARS);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)key[i];
        if (c >= 0x80) {
            /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
            if (c == 0xC2 && i + 1 < n && (uint8_t)key[i + 1] < 0xA0)
                return mlops__error(MLOPS_E_INVALID,
                                    "%s key '%s' contains a control character", what, key);
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == ' ' || c == '/';
        if (!ok) {
            if (c < 0x20 || c == 0x7f)
                return mlops__error(MLOPS_E_INVALID,
                                    "%s key contains the control character 0x%02x; keys may "
                                    "only contain letters, digits, '_', '-', '.', ' ' and '/'",
                                    what, c);
            return mlops__error(MLOPS_E_INVALID,
                                "%s key '%s' contains '%c'; keys may only contain letters, "
                                "digits, '_', '-', '.', ' ' and '/'",
                                what, key, c);
        }
    }
    const char *why = path_problem(key, n);
    if (why != NULL)
        return mlops__error(MLOPS_E_INVALID, "%s key '%s' %s; keys must be unchanged by path "
                            "normalisation", what, key, why);
    return MLOPS_OK;
}

mlops_status mlops__run_check_value(const char *what, const char *key, const char *value,
                                    size_t max_chars)
{
    if (value == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s '%s' has a NULL value", what, key);
    size_t n = strlen(value);
    if (!mlops__utf8_valid(value, n))
        return mlops__error(MLOPS_E_INVALID, "%s '%s' has a value that is not valid UTF-8", what,
                            key);
    size_t chars = mlops__run_utf8_chars(value, n);
    if (chars > max_chars)
        return mlops__error(MLOPS_E_INVALID,
                            "%s '%s' has a value of %zu characters; the limit is %zu", what, key,
                            chars, max_chars);
    return MLOPS_OK;
}

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
        if (c == 0xC2 && i + 1 < n && (uint8_t)s[i + 1] < 0xA0)
            return true;
    }
    return false;
}

mlops_status mlops__run_check_exp_name(const char *name)
{
    if (name == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment name is NULL");
    size_t n = strlen(name);
    if (n == 0)
        return mlops__error(MLOPS_E_INVALID, "experiment name is empty");
    if (!mlops__utf8_valid(name, n))
        return mlops__error(MLOPS_E_INVALID, "experiment name is not valid UTF-8");
    size_t chars = mlops__run_utf8_chars(name, n);
    if (chars > RUN_MAX_EXP_NAME_CHARS)
        return mlops__error(MLOPS_E_INVALID,
                            "experiment name has %zu characters; the limit is %d", chars,
                            RUN_MAX_EXP_NAME_CHARS);
    if (has_control(name, n))
        return mlops__error(MLOPS_E_INVALID, "experiment name contains a control character");
    return MLOPS_OK;
}

mlops_status mlops__run_check_artifact_path(const char *path)
{
    if (path == NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact path is NULL");
    size_t n = strlen(path);
    if (n > RUN_MAX_ARTIFACT_PATH)
        return mlops__error(MLOPS_E_INVALID, "artifact path has %zu bytes; the limit is %d", n,
                            RUN_MAX_ARTIFACT_PATH);
    if (!mlops__utf8_valid(path, n))
        return mlops__error(MLOPS_E_INVALID, "artifact path is not valid UTF-8");
    if (has_control(path, n))
        return mlops__error(MLOPS_E_INVALID, "artifact path contains a control character");
    if (memchr(path, '\\', n) != NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact path '%s' contains a backslash", path);
    const char *why = path_problem(path, n);
    if (why != NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact path '%s' %s", path, why);
    return MLOPS_OK;
}

mlops_status mlops__run_check_id(const char *run_id)
{
    if (run_id == NULL)
        return mlops__error(MLOPS_E_INVALID, "run id is NULL");
    size_t n = strlen(run_id);
    bool ok = n == MLOPS_RUN_ID_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = (run_id[i] >= '0' && run_id[i] <= '9') || (run_id[i] >= 'a' && run_id[i] <= 'f');
    if (!ok)
        return mlops__error(MLOPS_E_INVALID,
                            "run id '%.80s' is not valid: a run id is 32 lowercase hex digits",
                            run_id);
    return MLOPS_OK;
}

static const char *const status_names[] = {NULL,     "RUNNING", "SCHEDULED",
                                           "FINISHED", "FAILED",  "KILLED"};

const char *mlops__run_status_name(uint32_t status)
{
    return status >= 1 && status <= 5 ? status_names[status] : "UNKNOWN";
}

uint32_t mlops__run_status_parse(const char *s)
{
    for (uint32_t i = 1; i <= 5; i++) {
        if (strcasecmp(s, status_names[i]) == 0)
            return i;
    }
    return 0;
}

size_t mlops_run_limit(uint32_t which)
{
    switch (which) {
    case MLOPS_LIMIT_KEY: return RUN_MAX_KEY_CHARS;
    case MLOPS_LIMIT_PARAM_VALUE: return RUN_MAX_PARAM_CHARS;
    case MLOPS_LIMIT_TAG_VALUE: return RUN_MAX_TAG_CHARS;
    case MLOPS_LIMIT_EXPERIMENT_NAME: return RUN_MAX_EXP_NAME_CHARS;
    case MLOPS_LIMIT_BATCH_METRICS: return RUN_MAX_BATCH_METRICS;
    case MLOPS_LIMIT_BATCH_PARAMS: return RUN_MAX_BATCH_PARAMS;
    case MLOPS_LIMIT_BATCH_TAGS: return RUN_MAX_BATCH_TAGS;
    case MLOPS_LIMIT_SEARCH_RESULTS: return RUN_MAX_SEARCH;
    default: return 0;
    }
}

mlops_status mlops__run_error_wrap(mlops_status st, const char *fmt, ...)
{
    char ctx[256], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "%s", mlops_error_message());
    return mlops__error(st, "%s: %s", ctx, msg);
}

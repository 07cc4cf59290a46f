/* SPDX-License-Identifier: MIT */
/* Baselines in the store, monitors with windows and alerts, and the drift
 * history. Keys (prefix "d/", names length-prefixed so no user name can
 * reach another key):
 *   d/b/<lp name>              baseline header
 *   d/c/<lp name><lp column>   one profile of a baseline
 *   d/h/<lp monitor><be64 seq> one closed window of a monitor */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "codec/codec.h"
#include "drift/drift_internal.h"
#include "store/store_internal.h"

#define REC_BASELINE 3
#define REC_WINDOW 4
#define REC_WCOL 5
#define MAX_BASELINE_COLUMNS 100000

static size_t put_lp(uint8_t *k, const char *s)
{
    size_t n = strlen(s);
    size_t o = mlops__varint_put(k, n);
    memcpy(k + o, s, n);
    return o + n;
}

static size_t key_of(uint8_t *k, char kind, const char *a, const char *b)
{
    k[0] = 'd';
    k[1] = '/';
    k[2] = (uint8_t)kind;
    k[3] = '/';
    size_t n = 4 + put_lp(k + 4, a);
    if (b)
        n += put_lp(k + n, b);
    return n;
}

/* ---- baselines ---- */

mlops_status mlops_drift_baseline_save(mlops_store *store, const char *name,
                                       mlops_drift_profile *const *profiles, size_t n,
                                       const char *run_id, const char *model,
                                       int64_t model_version)
{
    if (store == NULL || (profiles == NULL && n > 0))
        return mlops__error(MLOPS_E_INVALID, "store or profiles is NULL");
    mlops_status st = mlops__drift_check_name(name, "baseline");
    if (st != MLOPS_OK)
        return st;
    if (n == 0 || n > MAX_BASELINE_COLUMNS)
        return mlops__error(MLOPS_E_INVALID, "a baseline holds 1 to %d columns, got %zu",
                            MAX_BASELINE_COLUMNS, n);
    if ((run_id && mlops__drift_check_name(run_id, "run") != MLOPS_OK) ||
        (model && mlops__drift_check_name(model, "model") != MLOPS_OK))
        return mlops_error_status();
    if (model_version < 0)
        return mlops__error(MLOPS_E_INVALID, "model version %lld is negative",
                            (long long)model_version);
    for (size_t i = 0; i < n; i++) {
        if (profiles[i] == NULL)
            return mlops__error(MLOPS_E_INVALID, "profile %zu is NULL", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(profiles[i]->name, profiles[j]->name) == 0)
                return mlops__error(MLOPS_E_INVALID, "column '%s' appears twice",
                                    profiles[i]->name);
    }
    mlops_env *env = mlops_store_env(store);
    mlops_batch *batch = NULL;
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, REC_BASELINE);
    uint8_t key[4 + 2 * (MLOPS__DRIFT_MAX_NAME + 10)];
    st = mlops_batch_create(&batch, store);
    if (st != MLOPS_OK)
        goto out;
    mlops__rec_put_str(&w, 1, name);
    mlops__rec_put_str(&w, 2, run_id);
    mlops__rec_put_str(&w, 3, model);
    mlops__rec_put_i64(&w, 4, model_version);
    mlops__rec_put_i64(&w, 5, mlops__now_ms(env));
    for (size_t i = 0; i < n; i++) {
        mlops__rec_put_str(&w, 6, profiles[i]->name);
        mlops_bytes b = {0};
        st = mlops_drift_profile_serialize(&b, profiles[i]);
        if (st != MLOPS_OK)
            goto out;
        size_t kl = key_of(key, 'c', name, profiles[i]->name);
        st = mlops_batch_put(batch, key, kl, b.data, b.len);
        mlops_bytes_free(&b);
        if (st != MLOPS_OK)
            goto out;
    }
    st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK)
        goto out;
    size_t kl = key_of(key, 'b', name, NULL);
    if ((st = mlops_batch_require_absent(batch, key, kl)) != MLOPS_OK ||
        (st = mlops_batch_put(batch, key, kl, w.buf.data, w.buf.len)) != MLOPS_OK)
        goto out;
    st = mlops_store_apply(store, batch);
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_EXISTS, "baseline '%s' already exists", name);
out:
    mlops__rec_writer_free(&w);
    mlops_batch_free(batch);
    return st;
}

void mlops_drift_profiles_free(mlops_drift_profile **profiles, size_t n)
{
    if (profiles == NULL)
        return;
    mlops_env *env = n > 0 && profiles[0] ? mlops__env_ref(profiles[0]->env) : NULL;
    for (size_t i = 0; i < n; i++)
        mlops_drift_profile_free(profiles[i]);
    mlops__free(env, profiles);
    mlops__env_unref(env);
}

mlops_status mlops_drift_baseline_load(mlops_drift_profile ***out, size_t *n_out,
                                       char **info_out, mlops_store *store, const char *name)
{
    if (out == NULL || n_out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "out, n_out or store is NULL");
    *out = NULL;
    *n_out = 0;
    if (info_out)
        *info_out = NULL;
    mlops_status st = mlops__drift_check_name(name, "baseline");
    if (st != MLOPS_OK)
        return st;
    mlops_env *env = mlops_store_env(store);
    uint8_t key[4 + 2 * (MLOPS__DRIFT_MAX_NAME + 10)];
    size_t kl = key_of(key, 'b', name, NULL);
    mlops_bytes hv = {0};
    st = mlops_store_get(&hv, NULL, store, key, kl);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "baseline '%s' does not exist", name);
    if (st != MLOPS_OK)
        return st;
    mlops__rec_reader r;
    mlops_drift_profile **ps = NULL;
    size_t n = 0, cap = 0;
    mlops__buf info;
    mlops__buf_init(&info, env);
    st = mlops__rec_reader_init(&r, hv.data, hv.len, 1, REC_BASELINE, "drift baseline");
    if (st != MLOPS_OK)
        goto fail;
    mlops__jb_append(&info, "{\"name\": ", 9);
    mlops__json_str(&info, name);
    bool first_col = true;
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 2 || f.tag == 3) {
            char *s = mlops__rec_as_str(env, &f);
            if (s == NULL) {
                st = mlops__nomem();
                goto fail;
            }
            mlops__jb_append(&info, f.tag == 2 ? ", \"run_id\": " : ", \"model\": ", f.tag == 2 ? 12 : 11);
            mlops__json_str(&info, s);
            mlops__free(env, s);
        } else if (f.tag == 4 || f.tag == 5) {
            mlops__jb_printf(&info, ", \"%s\": %lld", f.tag == 4 ? "model_version" : "created_ms",
                              (long long)mlops__rec_as_i64(&f));
        } else if (f.tag == 6) {
            if (f.wire != MLOPS__REC_WIRE_BYTES || n >= MAX_BASELINE_COLUMNS) {
                st = mlops__error(MLOPS_E_CORRUPT, "baseline '%s' has a bad column list", name);
                goto fail;
            }
            char *col = mlops__rec_as_str(env, &f);
            if (col == NULL) {
                st = mlops__nomem();
                goto fail;
            }
            if (mlops__drift_check_name(col, "column") != MLOPS_OK) {
                mlops__free(env, col);
                st = mlops__error(MLOPS_E_CORRUPT, "baseline '%s' names a bad column", name);
                goto fail;
            }
            mlops__jb_append(&info, first_col ? ", \"columns\": [" : ", ", first_col ? 14 : 2);
            first_col = false;
            mlops__json_str(&info, col);
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                mlops_drift_profile **np = mlops__realloc(env, ps, cap * sizeof(*ps));
                if (np == NULL) {
                    mlops__free(env, col);
                    st = mlops__nomem();
                    goto fail;
                }
                ps = np;
            }
            uint8_t ck[4 + 2 * (MLOPS__DRIFT_MAX_NAME + 10)];
            size_t ckl = key_of(ck, 'c', name, col);
            mlops__free(env, col);
            mlops_bytes pv = {0};
            st = mlops_store_get(&pv, NULL, store, ck, ckl);
            if (st == MLOPS_E_NOTFOUND)
                st = mlops__error(MLOPS_E_CORRUPT, "baseline '%s' misses a column profile", name);
            if (st != MLOPS_OK)
                goto fail;
            ps[n] = NULL;
            st = mlops_drift_profile_deserialize(&ps[n], env, pv.data, pv.len);
            mlops_bytes_free(&pv);
            if (st != MLOPS_OK)
                goto fail;
            n++;
        }
    }
    if (st != MLOPS_E_NOTFOUND)
        goto fail;
    if (n == 0) {
        st = mlops__error(MLOPS_E_CORRUPT, "baseline '%s' has no columns", name);
        goto fail;
    }
    mlops__jb_append(&info, "]}", 2);
    if (info_out) {
        *info_out = mlops__jb_take(&info);
        if (*info_out == NULL) {
            st = mlops__nomem();
            goto fail;
        }
    }
    mlops__buf_free(&info);
    mlops_bytes_free(&hv);
    *out = ps;
    *n_out = n;
    return MLOPS_OK;
fail:
    mlops__buf_free(&info);
    mlops_bytes_free(&hv);
    for (size_t i = 0; i < n; i++)
        mlops_drift_profile_free(ps[i]);
    mlops__free(env, ps);
    return st;
}

/* ---- monitors ---- */

struct mlops_drift_monitor {
    mlops_env *env;
    mlops_store *store;
    char *name;
    pthread_mutex_t mu;
    size_t n;
    mlops_drift_profile **base;
    mlops_drift_profile **cur;
    uint8_t *was_drifted;
    uint64_t *win_count;
    mlops_drift_compare_options opts;
    double window_count, window_ms;
    int64_t window_start_ms;
    int64_t closed;
    uint64_t next_seq;
    mlops_drift_alert_fn cb;
    void *payload;
};

typedef struct seq_scan {
    uint64_t max;
    bool any;
    size_t prefix;
} seq_scan;

static int seq_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  uint64_t version, void *payload)
{
    (void)value;
    (void)value_len;
    (void)version;
    seq_scan *s = payload;
    if (key_len == s->prefix + 8) {
        uint64_t q = mlops__get_u64be(key + s->prefix);
        if (!s->any || q > s->max)
            s->max = q;
        s->any = true;
    }
    return 0;
}

void mlops_drift_monitor_close(mlops_drift_monitor *m)
{
    if (m == NULL)
        return;
    mlops_env *env = m->env;
    for (size_t i = 0; i < m->n; i++) {
        if (m->base)
            mlops_drift_profile_free(m->base[i]);
        if (m->cur)
            mlops_drift_profile_free(m->cur[i]);
    }
    mlops__free(env, m->base);
    mlops__free(env, m->cur);
    mlops__free(env, m->was_drifted);
    mlops__free(env, m->win_count);
    mlops__free(env, m->name);
    pthread_mutex_destroy(&m->mu);
    if (m->store)
        mlops__store_unref(m->store);
    mlops__free(env, m);
    mlops__env_unref(env);
}

mlops_status mlops_drift_monitor_create(mlops_drift_monitor **out, mlops_env *env,
                                        mlops_store *store, const char *name,
                                        mlops_drift_profile *const *baseline, size_t n,
                                        const mlops_drift_compare_options *opts)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "out is NULL");
    *out = NULL;
    mlops_status st = mlops__drift_check_name(name, "monitor");
    if (st != MLOPS_OK)
        return st;
    if (baseline == NULL || n == 0)
        return mlops__error(MLOPS_E_INVALID, "a monitor needs 1 or more baseline profiles");
    for (size_t i = 0; i < n; i++) {
        if (baseline[i] == NULL)
            return mlops__error(MLOPS_E_INVALID, "baseline profile %zu is NULL", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(baseline[i]->name, baseline[j]->name) == 0)
                return mlops__error(MLOPS_E_INVALID, "column '%s' appears twice",
                                    baseline[i]->name);
    }
    mlops_drift_compare_options o;
    st = mlops__drift_options(&o, opts);
    if (st != MLOPS_OK)
        return st;
    if (env == NULL && store != NULL)
        env = mlops_store_env(store);
    mlops_drift_monitor *m = mlops__calloc(env, 1, sizeof(*m));
    if (m == NULL)
        return mlops__nomem();
    m->env = mlops__env_ref(env);
    pthread_mutex_init(&m->mu, NULL);
    m->opts = o;
    m->n = n;
    m->name = mlops__strdup(env, name);
    m->base = mlops__calloc(env, n, sizeof(*m->base));
    m->cur = mlops__calloc(env, n, sizeof(*m->cur));
    m->was_drifted = mlops__calloc(env, n, 1);
    m->win_count = mlops__calloc(env, n, sizeof(uint64_t));
    if (!m->name || !m->base || !m->cur || !m->was_drifted || !m->win_count) {
        st = mlops__nomem();
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        st = mlops__drift_profile_clone(&m->base[i], baseline[i]);
        if (st != MLOPS_OK)
            goto fail;
        if (m->base[i]->type == MLOPS_DRIFT_NUMERIC) {
            st = mlops__drift_fix_edges(m->base[i]);
            if (st != MLOPS_OK)
                goto fail;
        }
        st = mlops_drift_profile_create_like(&m->cur[i], m->base[i]);
        if (st != MLOPS_OK)
            goto fail;
    }
    if (store != NULL) {
        uint8_t key[4 + MLOPS__DRIFT_MAX_NAME + 10];
        size_t kl = key_of(key, 'h', name, NULL);
        seq_scan s = {0, false, kl};
        st = mlops_store_scan_prefix(store, key, kl, seq_cb, &s);
        if (st != MLOPS_OK)
            goto fail;
        m->next_seq = s.any ? s.max + 1 : 0;
        m->store = mlops__store_ref(store);
    }
    m->window_start_ms = mlops__now_ms(env);
    *out = m;
    return MLOPS_OK;
fail:
    mlops_drift_monitor_close(m);
    return st;
}

static const struct {
    uint32_t id;
    double lo, hi;
} BOUNDS[] = {
    {MLOPS_DRIFT_PARAM_PSI_MODERATE, 1e-9, 100},
    {MLOPS_DRIFT_PARAM_PSI_SIGNIFICANT, 1e-9, 100},
    {MLOPS_DRIFT_PARAM_ALPHA, 1e-12, 0.5},
    {MLOPS_DRIFT_PARAM_DISTANCE_THRESHOLD, 1e-9, 1e6},
    {MLOPS_DRIFT_PARAM_DRIFT_SHARE, 1e-9, 1},
    {MLOPS_DRIFT_PARAM_WINDOW_COUNT, 0, 1e15},
    {MLOPS_DRIFT_PARAM_WINDOW_MS, 0, 1e12},
    {MLOPS_DRIFT_PARAM_CORRECTION, 0, 2},
};

mlops_status mlops_drift_param_bounds(uint32_t param, double *lo_out, double *hi_out)
{
    if (lo_out == NULL || hi_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "lo_out or hi_out is NULL");
    for (size_t i = 0; i < sizeof(BOUNDS) / sizeof(BOUNDS[0]); i++)
        if (BOUNDS[i].id == param) {
            *lo_out = BOUNDS[i].lo;
            *hi_out = BOUNDS[i].hi;
            return MLOPS_OK;
        }
    return mlops__error(MLOPS_E_INVALID, "drift parameter %u is unknown", param);
}

static double *param_slot(mlops_drift_monitor *m, uint32_t param)
{
    switch (param) {
    case MLOPS_DRIFT_PARAM_PSI_MODERATE: return &m->opts.psi_moderate;
    case MLOPS_DRIFT_PARAM_PSI_SIGNIFICANT: return &m->opts.psi_significant;
    case MLOPS_DRIFT_PARAM_ALPHA: return &m->opts.alpha;
    case MLOPS_DRIFT_PARAM_DISTANCE_THRESHOLD: return &m->opts.distance_threshold;
    case MLOPS_DRIFT_PARAM_DRIFT_SHARE: return &m->opts.drift_share;
    case MLOPS_DRIFT_PARAM_WINDOW_COUNT: return &m->window_count;
    case MLOPS_DRIFT_PARAM_WINDOW_MS: return &m->window_ms;
    default: return NULL;
    }
}

mlops_status mlops_drift_monitor_set_param(mlops_drift_monitor *m, uint32_t param, double value)
{
    if (m == NULL)
        return mlops__error(MLOPS_E_INVALID, "monitor is NULL");
    double lo, hi;
    mlops_status st = mlops_drift_param_bounds(param, &lo, &hi);
    if (st != MLOPS_OK)
        return st;
    if (!(value >= lo && value <= hi))
        return mlops__error(MLOPS_E_INVALID, "drift parameter %u must be in [%g, %g], got %g",
                            param, lo, hi, value);
    if ((param == MLOPS_DRIFT_PARAM_CORRECTION || param == MLOPS_DRIFT_PARAM_WINDOW_COUNT) &&
        value != floor(value))
        return mlops__error(MLOPS_E_INVALID, "drift parameter %u takes a whole number, got %g",
                            param, value);
    pthread_mutex_lock(&m->mu);
    if (param == MLOPS_DRIFT_PARAM_PSI_MODERATE && value > m->opts.psi_significant)
        st = mlops__error(MLOPS_E_INVALID, "the moderate PSI threshold %g exceeds the significant one %g",
                          value, m->opts.psi_significant);
    else if (param == MLOPS_DRIFT_PARAM_PSI_SIGNIFICANT && value < m->opts.psi_moderate)
        st = mlops__error(MLOPS_E_INVALID, "the significant PSI threshold %g is below the moderate one %g",
                          value, m->opts.psi_moderate);
    else if (param == MLOPS_DRIFT_PARAM_CORRECTION)
        m->opts.correction = (uint32_t)value;
    else
        *param_slot(m, param) = value;
    pthread_mutex_unlock(&m->mu);
    return st;
}

mlops_status mlops_drift_monitor_get_param(double *out, mlops_drift_monitor *m, uint32_t param)
{
    if (out == NULL || m == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or monitor is NULL");
    double lo, hi;
    mlops_status st = mlops_drift_param_bounds(param, &lo, &hi);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&m->mu);
    *out = param == MLOPS_DRIFT_PARAM_CORRECTION ? (double)m->opts.correction : *param_slot(m, param);
    pthread_mutex_unlock(&m->mu);
    return MLOPS_OK;
}

mlops_status mlops_drift_monitor_set_alert(mlops_drift_monitor *m, mlops_drift_alert_fn cb,
                                           void *payload)
{
    if (m == NULL)
        return mlops__error(MLOPS_E_INVALID, "monitor is NULL");
    pthread_mutex_lock(&m->mu);
    m->cb = cb;
    m->payload = payload;
    pthread_mutex_unlock(&m->mu);
    return MLOPS_OK;
}

static mlops_status record_window(mlops_drift_monitor *m, const mlops_drift_report *r,
                                  int64_t now_ms)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, m->env, 1, REC_WINDOW);
    mlops__rec_put_u64(&w, 1, m->next_seq);
    mlops__rec_put_i64(&w, 2, now_ms);
    mlops__rec_put_f64(&w, 3, r->share);
    mlops__rec_put_u64(&w, 4, r->dataset);
    for (size_t i = 0; i < r->n; i++) {
        const mlops_drift_column *c = &r->cols[i];
        mlops__rec_writer cw;
        mlops__rec_writer_init(&cw, m->env, 1, REC_WCOL);
        mlops__rec_put_str(&cw, 1, c->name);
        mlops__rec_put_u64(&cw, 2, c->type);
        mlops__rec_put_u64(&cw, 3, c->test);
        mlops__rec_put_f64(&cw, 4, c->score);
        mlops__rec_put_f64(&cw, 5, c->psi);
        mlops__rec_put_u64(&cw, 6, c->drifted);
        mlops__rec_put_u64(&cw, 7, c->severity);
        mlops__rec_put_u64(&cw, 8, c->n_cur);
        mlops_status cst = mlops__rec_writer_finish(&cw);
        if (cst == MLOPS_OK)
            mlops__rec_put_bytes(&w, 5, cw.buf.data, cw.buf.len);
        else if (w.st == MLOPS_OK)
            w.st = cst;
        mlops__rec_writer_free(&cw);
    }
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st == MLOPS_OK) {
        uint8_t key[4 + MLOPS__DRIFT_MAX_NAME + 10 + 8];
        size_t kl = key_of(key, 'h', m->name, NULL);
        mlops__put_u64be(key + kl, m->next_seq);
        st = mlops_store_put(m->store, key, kl + 8, w.buf.data, w.buf.len);
    }
    mlops__rec_writer_free(&w);
    if (st == MLOPS_OK)
        m->next_seq++;
    return st;
}

typedef struct alert_list {
    mlops_drift_column *cols;
    size_t n;
    int64_t window;
    mlops_drift_alert_fn cb;
    void *payload;
    mlops_drift_report *report;
    const mlops_env *env;
} alert_list;

/* Evaluate the window (lock held). With close: record, reset, and collect
 * the crossings into *al for the caller to deliver after unlocking. */
static mlops_status evaluate_locked(mlops_drift_monitor *m, mlops_drift_report **out, bool close,
                                    alert_list *al)
{
    bool any = false;
    for (size_t i = 0; i < m->n; i++)
        any = any || m->cur[i]->count > 0;
    if (!any)
        return mlops__error(MLOPS_E_INSUFFICIENT, "monitor '%s' has no data in its window",
                            m->name);
    mlops_drift_report *r = NULL;
    mlops_status st = mlops_drift_compare(&r, m->base, m->n, m->cur, m->n, &m->opts);
    if (st != MLOPS_OK)
        return st;
    if (close) {
        int64_t now = mlops__now_ms(m->env);
        /* everything that can fail comes before the record is stored */
        al->cols = mlops__malloc(m->env, (r->n ? r->n : 1) * sizeof(mlops_drift_column));
        if (al->cols == NULL) {
            mlops_drift_report_free(r);
            return mlops__nomem();
        }
        if (m->store) {
            st = record_window(m, r, now);
            if (st != MLOPS_OK) {
                mlops__free(m->env, al->cols);
                al->cols = NULL;
                mlops_drift_report_free(r);
                return st;
            }
        }
        al->env = m->env;
        al->window = (int64_t)(m->store ? m->next_seq - 1 : (uint64_t)m->closed);
        al->cb = m->cb;
        al->payload = m->payload;
        al->n = 0;
        for (size_t i = 0; i < r->n; i++) {
            size_t bi = 0;
            while (bi < m->n && strcmp(m->base[bi]->name, r->cols[i].name) != 0)
                bi++;
            bool crossed = r->cols[i].drifted && bi < m->n && !m->was_drifted[bi];
            if (bi < m->n && r->cols[i].test != 0)
                m->was_drifted[bi] = r->cols[i].drifted ? 1 : 0;
            if (crossed)
                al->cols[al->n++] = r->cols[i];
        }
        for (size_t i = 0; i < m->n; i++) {
            mlops__drift_profile_reset(m->cur[i]);
            m->win_count[i] = 0;
        }
        m->closed++;
        m->window_start_ms = now;
        al->report = r;
    }
    if (out)
        *out = r;
    else if (!close)
        mlops_drift_report_free(r);
    return MLOPS_OK;
}

static mlops_status deliver(alert_list *al, mlops_drift_report **keep)
{
    mlops_status st = MLOPS_OK;
    if (al->report == NULL)
        return st;
    for (size_t i = 0; i < al->n && al->cb; i++) {
        if (al->cb(&al->cols[i], al->window, al->payload) != 0) {
            st = mlops__error(MLOPS_E_CALLBACK, "the drift alert callback stopped");
            break;
        }
    }
    if (keep == NULL || *keep != al->report)
        mlops_drift_report_free(al->report);
    mlops__free(al->env, al->cols);
    al->cols = NULL;
    al->report = NULL;
    return st;
}

static long find_col(mlops_drift_monitor *m, const char *column)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->base[i]->name, column) == 0)
            return (long)i;
    return -1;
}

static mlops_status feed(mlops_drift_monitor *m, const char *column, const double *values,
                         const char *const *strs, size_t n)
{
    if (m == NULL || column == NULL || (n > 0 && values == NULL && strs == NULL))
        return mlops__error(MLOPS_E_INVALID, "monitor, column or values is NULL");
    alert_list a1 = {0}, a2 = {0};
    mlops_status st = MLOPS_OK;
    pthread_mutex_lock(&m->mu);
    long c = find_col(m, column);
    if (c < 0) {
        st = mlops__error(MLOPS_E_NOTFOUND, "monitor '%s' has no column '%s'", m->name, column);
        goto out;
    }
    uint32_t want = values ? MLOPS_DRIFT_NUMERIC : MLOPS_DRIFT_CATEGORICAL;
    if (m->base[c]->type != want) {
        st = mlops__error(MLOPS_E_INVALID, "column '%s' is %s; feed it %s", column,
                          want == MLOPS_DRIFT_NUMERIC ? "categorical" : "numeric",
                          want == MLOPS_DRIFT_NUMERIC ? "strings" : "numbers");
        goto out;
    }
    if (m->window_ms > 0) {
        int64_t now = mlops__now_ms(m->env);
        bool has = false;
        for (size_t i = 0; i < m->n; i++)
            has = has || m->cur[i]->count > 0;
        if (now - m->window_start_ms >= (int64_t)m->window_ms) {
            if (has) {
                st = evaluate_locked(m, NULL, true, &a1);
                if (st != MLOPS_OK)
                    goto out;
            } else {
                m->window_start_ms = now;
            }
        }
    }
    if (m->window_count > 0 && (double)(m->win_count[c] + n) >= m->window_count) {
        /* this feed closes the window: add to a copy, so that a failure to
         * evaluate or record leaves the window as it was (a failed feed
         * changes nothing, and can be retried) */
        mlops_drift_profile *t = NULL, *old = m->cur[c];
        st = mlops__drift_profile_clone(&t, old);
        if (st == MLOPS_OK)
            st = values ? mlops_drift_profile_add(t, values, n)
                        : mlops_drift_profile_add_strings(t, strs, n);
        if (st != MLOPS_OK) {
            mlops_drift_profile_free(t);
            goto out;
        }
        m->cur[c] = t;
        uint64_t wc = m->win_count[c];
        m->win_count[c] += n;
        st = evaluate_locked(m, NULL, true, &a2);
        if (st != MLOPS_OK) {
            m->cur[c] = old;
            m->win_count[c] = wc;
            mlops_drift_profile_free(t);
        } else {
            mlops_drift_profile_free(old);
        }
        goto out;
    }
    st = values ? mlops_drift_profile_add(m->cur[c], values, n)
                : mlops_drift_profile_add_strings(m->cur[c], strs, n);
    if (st != MLOPS_OK)
        goto out;
    m->win_count[c] += n;
out:
    pthread_mutex_unlock(&m->mu);
    mlops_status s1 = deliver(&a1, NULL), s2 = deliver(&a2, NULL);
    if (st == MLOPS_OK)
        st = s1 != MLOPS_OK ? s1 : s2;
    return st;
}

mlops_status mlops_drift_monitor_feed(mlops_drift_monitor *m, const char *column,
                                      const double *values, size_t n)
{
    static const double none[1] = {0};
    return feed(m, column, values ? values : (n == 0 ? none : NULL), NULL, n);
}

mlops_status mlops_drift_monitor_feed_strings(mlops_drift_monitor *m, const char *column,
                                              const char *const *values, size_t n)
{
    static const char *const none[1] = {NULL};
    if (values == NULL && n > 0)
        return mlops__error(MLOPS_E_INVALID, "values is NULL");
    return feed(m, column, NULL, values ? values : none, n);
}

mlops_status mlops_drift_monitor_evaluate(mlops_drift_report **out, mlops_drift_monitor *m,
                                          uint32_t flags)
{
    if (out)
        *out = NULL;
    if (m == NULL)
        return mlops__error(MLOPS_E_INVALID, "monitor is NULL");
    if (flags & ~MLOPS_DRIFT_EVAL_CLOSE)
        return mlops__error(MLOPS_E_INVALID, "unknown evaluate flags 0x%x", flags);
    alert_list al = {0};
    mlops_drift_report *r = NULL;
    pthread_mutex_lock(&m->mu);
    mlops_status st = evaluate_locked(m, &r, (flags & MLOPS_DRIFT_EVAL_CLOSE) != 0, &al);
    pthread_mutex_unlock(&m->mu);
    mlops_status s2 = deliver(&al, &r);
    if (st == MLOPS_OK && s2 != MLOPS_OK) {
        st = s2;
    }
    if (out && st == MLOPS_OK)
        *out = r;
    else
        mlops_drift_report_free(r);
    return st;
}

int64_t mlops_drift_monitor_windows(mlops_drift_monitor *m)
{
    if (m == NULL)
        return 0;
    pthread_mutex_lock(&m->mu);
    int64_t c = m->closed;
    pthread_mutex_unlock(&m->mu);
    return c;
}

uint64_t mlops_drift_monitor_memory(mlops_drift_monitor *m)
{
    if (m == NULL)
        return 0;
    pthread_mutex_lock(&m->mu);
    uint64_t b = sizeof(*m) + strlen(m->name) + 1 + m->n * (2 * sizeof(void *) + 1 + 8);
    for (size_t i = 0; i < m->n; i++)
        b += mlops__drift_profile_bytes(m->base[i]) + mlops__drift_profile_bytes(m->cur[i]);
    pthread_mutex_unlock(&m->mu);
    return b;
}

/* ---- history ---- */

typedef struct hist_scan {
    mlops__buf *b;
    size_t prefix;
    uint64_t skip;
    uint64_t seen;
    bool first;
    mlops_status st;
    const mlops_env *env;
} hist_scan;

static const char *tname(uint64_t t)
{
    static const char *names[] = {NULL, "psi", "ks", "chi2", "jensenshannon", "wasserstein", "z"};
    return t < 7 ? names[t] : NULL;
}

static int hist_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)version;
    hist_scan *h = payload;
    if (key_len != h->prefix + 8)
        return 0;
    if (h->seen++ < h->skip)
        return 0;
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, value, value_len, 1, REC_WINDOW, "drift window");
    if (st != MLOPS_OK) {
        h->st = st;
        return 1;
    }
    mlops__buf *b = h->b;
    mlops__jb_append(b, h->first ? "{" : ", {", h->first ? 1 : 3);
    h->first = false;
    mlops__jb_printf(b, "\"window\": %llu", (unsigned long long)mlops__get_u64be(key + h->prefix));
    mlops__rec_field f;
    bool cols = false;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 2)
            mlops__jb_printf(b, ", \"time_ms\": %lld", (long long)mlops__rec_as_i64(&f));
        else if (f.tag == 3) {
            mlops__jb_append(b, ", \"drift_share\": ", 17);
            mlops__json_f64(b, mlops__rec_as_f64(&f));
        } else if (f.tag == 4)
            mlops__jb_printf(b, ", \"dataset_drift\": %s", f.u ? "true" : "false");
        else if (f.tag == 5 && f.wire == MLOPS__REC_WIRE_BYTES) {
            mlops__jb_append(b, cols ? ", {" : ", \"columns\": [{", cols ? 3 : 15);
            cols = true;
            mlops__rec_reader cr;
            st = mlops__rec_reader_init(&cr, f.p, f.n, 1, REC_WCOL, "drift window column");
            if (st != MLOPS_OK)
                break;
            mlops__rec_field g;
            bool firstk = true;
            while ((st = mlops__rec_next(&cr, &g)) == MLOPS_OK) {
                const char *sep = firstk ? "" : ", ";
                firstk = false;
                switch (g.tag) {
                case 1: {
                    char *s = mlops__rec_as_str(h->env, &g);
                    mlops__jb_printf(b, "%s\"name\": ", sep);
                    mlops__json_str(b, s ? s : "");
                    mlops__free(h->env, s);
                    break;
                }
                case 2:
                    mlops__jb_printf(b, "%s\"type\": \"%s\"", sep,
                                      g.u == MLOPS_DRIFT_NUMERIC ? "numeric" : "categorical");
                    break;
                case 3:
                    mlops__jb_printf(b, "%s\"test\": ", sep);
                    mlops__json_str(b, tname(g.u));
                    break;
                case 4:
                case 5:
                    mlops__jb_printf(b, "%s\"%s\": ", sep, g.tag == 4 ? "score" : "psi");
                    mlops__json_f64(b, mlops__rec_as_f64(&g));
                    break;
                case 6:
                    mlops__jb_printf(b, "%s\"drifted\": %s", sep, g.u ? "true" : "false");
                    break;
                case 7:
                    mlops__jb_printf(b, "%s\"severity\": \"%s\"", sep,
                                      g.u == 2 ? "significant" : (g.u == 1 ? "moderate" : "none"));
                    break;
                case 8:
                    mlops__jb_printf(b, "%s\"n_current\": %llu", sep, (unsigned long long)g.u);
                    break;
                default:
                    firstk = firstk || sep[0] == '\0';
                    break;
                }
            }
            if (st != MLOPS_E_NOTFOUND)
                break;
            st = MLOPS_OK;
            mlops__jb_putc(b, '}');
        }
    }
    if (st != MLOPS_E_NOTFOUND && st != MLOPS_OK) {
        h->st = st;
        return 1;
    }
    if (cols)
        mlops__jb_putc(b, ']');
    mlops__jb_putc(b, '}');
    return 0;
}

static int count_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                    uint64_t version, void *payload)
{
    (void)key;
    (void)value;
    (void)value_len;
    (void)version;
    hist_scan *h = payload;
    if (key_len == h->prefix + 8)
        h->seen++;
    return 0;
}

mlops_status mlops_drift_history_json(char **out, mlops_store *store, const char *monitor,
                                      uint64_t limit)
{
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "out or store is NULL");
    *out = NULL;
    mlops_status st = mlops__drift_check_name(monitor, "monitor");
    if (st != MLOPS_OK)
        return st;
    mlops_env *env = mlops_store_env(store);
    uint8_t key[4 + MLOPS__DRIFT_MAX_NAME + 10];
    size_t kl = key_of(key, 'h', monitor, NULL);
    hist_scan h = {0};
    h.prefix = kl;
    h.env = env;
    if (limit > 0) {
        st = mlops_store_scan_prefix(store, key, kl, count_cb, &h);
        if (st != MLOPS_OK)
            return st;
        h.skip = h.seen > limit ? h.seen - limit : 0;
        h.seen = 0;
    }
    mlops__buf b;
    mlops__buf_init(&b, env);
    h.b = &b;
    h.first = true;
    mlops__jb_putc(&b, '[');
    st = mlops_store_scan_prefix(store, key, kl, hist_cb, &h);
    if (st == MLOPS_E_CALLBACK)
        st = h.st;
    if (st != MLOPS_OK) {
        if (st == MLOPS_E_VERSION || st == MLOPS_E_CORRUPT)
            st = mlops__error(st, "drift history of '%s' does not decode: %s", monitor,
                              mlops_error_message());
        mlops__buf_free(&b);
        return st;
    }
    mlops__jb_putc(&b, ']');
    *out = mlops__jb_take(&b);
    if (*out == NULL) {
        mlops__buf_free(&b);
        return mlops__nomem();
    }
    return MLOPS_OK;
}

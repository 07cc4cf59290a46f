/* SPDX-License-Identifier: MIT */
/* Runs: the handle, params, metrics (sync, batched and asynchronous), tags
 * and dataset inputs. Every write is one store batch guarded by the run's
 * info record, so a run deleted by another process refuses later writes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "run/run_internal.h"

#define MAX_RETRIES 64
#define ASYNC_CHUNK 4096

mlops_status mlops__run_system_tags(mlops__buf *keys, mlops__buf *vals, size_t *n,
                                    const mlops_env *env, uint32_t flags);

/* A metric key seen by this handle, with its latest point as last stored. */
typedef struct mkey {
    char *key;
    size_t len;
    uint64_t hash;
    bool latest_known; /* latest/has_latest reflect the store as of our last write */
    bool has_latest;
    mlops_metric_value latest;
    uint8_t latest_enc[40];
    size_t latest_enc_len;
    uint32_t mark; /* grouping generation within one write */
} mkey;

typedef struct apoint {
    uint32_t key;
    double value;
    int64_t step;
    int64_t ts;
} apoint;

struct mlops_run {
    mlops_store *store;
    mlops_env *env;
    char id[MLOPS_RUN_ID_LEN + 1];
    char *exp_id;
    pthread_mutex_t mu;
    mlops__buf info_enc; /* the info record as last read or written */
    mlops__info info;
    /* metric keys: an open-addressing table of indexes into keys[] */
    mkey *keys;
    size_t nkeys, keys_cap;
    uint32_t *table;
    size_t table_cap; /* power of two; 0 entries are empty (index + 1) */
    uint32_t mark_gen;
    uint32_t nonce;
    uint64_t counter;
    mlops_batch *batch;
    mlops__buf scratch;
    /* asynchronous mode */
    bool async;
    pthread_t thread;
    pthread_cond_t cv_work, cv_room, cv_idle;
    apoint *ring;
    size_t ring_cap, ring_head, ring_len;
    bool stop, writing;
    mlops_status bg_st;
    char bg_msg[512];
};

/* ---- small helpers ---- */

static mlops_status rand_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return mlops__error(MLOPS_E_IO, "getrandom failed: %s", strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
    return MLOPS_OK;
}

static mlops_status enc_value(mlops__buf *out, const mlops_env *env, const char *s)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, RUN_REC_VALUE);
    mlops__rec_put_str(&w, 1, s);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

static mlops_status batch_put_value(mlops_batch *b, const runkey *k, const mlops_env *env,
                                    const char *s)
{
    mlops__buf v = {0};
    mlops_status st = enc_value(&v, env, s);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, k->b, k->n, v.data, v.len);
    mlops__buf_free(&v);
    return st;
}

static void key_item(runkey *k, const char *run_id, char what, const char *key)
{
    mlops__run_key_sum(k, run_id, what);
    mlops__run_key_lp(k, key, strlen(key));
}

static size_t latest_encode(uint8_t *out, const mlops_metric_value *v)
{
    /* Hand-rolled record (fixed size fields) so the hot path never allocates:
     * version 1, type LATEST, tag 1 fixed64, tag 2 varint, tag 3 varint. */
    size_t n = 0;
    out[n++] = 1;
    out[n++] = RUN_REC_LATEST;
    out[n++] = (1 << 3) | MLOPS__REC_WIRE_FIXED64;
    uint64_t bits;
    memcpy(&bits, &v->value, 8);
    mlops__put_u64le(out + n, bits);
    n += 8;
    out[n++] = (2 << 3) | MLOPS__REC_WIRE_VARINT;
    uint64_t zs = ((uint64_t)v->step << 1) ^ (uint64_t)(v->step >> 63);
    n += mlops__varint_put(out + n, zs);
    out[n++] = (3 << 3) | MLOPS__REC_WIRE_VARINT;
    uint64_t zt = ((uint64_t)v->timestamp_ms << 1) ^ (uint64_t)(v->timestamp_ms >> 63);
    n += mlops__varint_put(out + n, zt);
    return n;
}

/* ---- info ---- */

static mlops_status load_info(mlops_run *run)
{
    runkey k;
    mlops__run_key_sum(&k, run->id, 'i');
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "no run with id '%s' in this store", run->id);
    if (st != MLOPS_OK)
        return st;
    mlops__info info;
    st = mlops__run_info_decode(&info, run->env, v.data, v.len);
    if (st == MLOPS_OK) {
        run->info_enc.len = 0;
        st = mlops__buf_append(&run->info_enc, v.data, v.len);
    }
    mlops_bytes_free(&v);
    if (st != MLOPS_OK) {
        mlops__run_info_clear(&info, run->env);
        return st;
    }
    mlops__run_info_clear(&run->info, run->env);
    run->info = info;
    return MLOPS_OK;
}

static mlops_status check_active(mlops_run *run)
{
    if (run->info.lifecycle == MLOPS_LIFECYCLE_DELETED)
        return mlops__error(MLOPS_E_CONFLICT,
                            "run %s is deleted; restore it before logging to it (as MLflow, "
                            "which requires the run to be active)",
                            run->id);
    return MLOPS_OK;
}

/* Refuse writes to a deleted run; a cached "deleted" is re-read first, as
 * the run may have been restored since. An active cache is checked by the
 * guard in commit(). */
static mlops_status ensure_active(mlops_run *run)
{
    if (run->info.lifecycle != MLOPS_LIFECYCLE_DELETED)
        return MLOPS_OK;
    mlops_status st = load_info(run);
    return st == MLOPS_OK ? check_active(run) : st;
}

/* Apply run->batch with the info guard. CONFLICT: reload the info; the
 * caller rebuilds and retries (or fails if the run was deleted). */
static mlops_status commit(mlops_run *run, bool *retry)
{
    *retry = false;
    runkey k;
    mlops__run_key_sum(&k, run->id, 'i');
    mlops_status st =
        mlops_batch_require_value(run->batch, k.b, k.n, run->info_enc.data, run->info_enc.len);
    if (st == MLOPS_OK)
        st = mlops_store_apply(run->store, run->batch);
    if (st != MLOPS_E_CONFLICT)
        return st;
    mlops_status st2 = load_info(run);
    if (st2 != MLOPS_OK)
        return st2;
    st2 = check_active(run);
    if (st2 != MLOPS_OK)
        return st2;
    *retry = true;
    return st;
}

/* ---- handle ---- */

static mlops_status run_new(mlops_run **out, mlops_store *store, const char *id)
{
    mlops_env *env = mlops_store_env(store);
    mlops_run *run = mlops__calloc(env, 1, sizeof(*run));
    if (run == NULL)
        return mlops__nomem();
    run->env = mlops__env_ref(env);
    run->store = mlops__store_ref(store);
    memcpy(run->id, id, MLOPS_RUN_ID_LEN);
    mlops__buf_init(&run->info_enc, env);
    mlops__buf_init(&run->scratch, env);
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->cv_work, NULL);
    pthread_cond_init(&run->cv_room, NULL);
    pthread_cond_init(&run->cv_idle, NULL);
    mlops_status st = mlops_batch_create(&run->batch, store);
    if (st == MLOPS_OK)
        st = rand_bytes(&run->nonce, sizeof(run->nonce));
    if (st != MLOPS_OK) {
        mlops_run_close(run);
        return st;
    }
    *out = run;
    return MLOPS_OK;
}

mlops_status mlops_run_options_init(mlops_run_options *opts, uint32_t version)
{
    if (opts == NULL)
        return mlops__error(MLOPS_E_INVALID, "run options pointer is NULL");
    if (version < 1 || version > MLOPS_RUN_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION,
                            "run options version %u is not supported (this library knows 1 to %u)",
                            version, MLOPS_RUN_OPTIONS_VERSION);
    memset(opts, 0, sizeof(*opts));
    opts->version = version;
    return MLOPS_OK;
}

mlops_status mlops_run_open(mlops_run **out, mlops_store *store, const char *run_id)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "run_open: NULL argument");
    mlops_status st = mlops__run_check_id(run_id);
    if (st != MLOPS_OK)
        return st;
    mlops_run *run = NULL;
    st = run_new(&run, store, run_id);
    if (st != MLOPS_OK)
        return st;
    st = load_info(run);
    if (st == MLOPS_OK) {
        run->exp_id = mlops__strdup(run->env, run->info.exp_id);
        if (run->exp_id == NULL)
            st = mlops__nomem();
    }
    if (st != MLOPS_OK) {
        mlops_run_close(run);
        return st;
    }
    *out = run;
    return MLOPS_OK;
}

static mlops_status check_kv_arrays(const char *what, const char *const *keys,
                                    const char *const *vals, size_t n, size_t max_n,
                                    size_t max_chars)
{
    if (n > max_n)
        return mlops__error(MLOPS_E_TOOBIG, "%zu %ss given; the limit is %zu", n, what, max_n);
    if (n > 0 && (keys == NULL || vals == NULL))
        return mlops__error(MLOPS_E_INVALID, "%s arrays are NULL but the count is %zu", what, n);
    for (size_t i = 0; i < n; i++) {
        mlops_status st = mlops__run_check_key(what, keys[i]);
        if (st == MLOPS_OK)
            st = mlops__run_check_value(what, keys[i], vals[i], max_chars);
        if (st != MLOPS_OK)
            return mlops__error(st, "%s %zu of %zu: %s", what, i + 1, n, mlops_error_message());
    }
    return MLOPS_OK;
}

static mlops_status add_create_ops(mlops_batch *b, const mlops_env *env, const char *run_id,
                                   const mlops__info *info)
{
    mlops__buf rec = {0};
    mlops_status st = mlops__run_info_encode(&rec, env, info);
    runkey k;
    mlops__run_key_sum(&k, run_id, 'i');
    if (st == MLOPS_OK)
        st = mlops_batch_require_absent(b, k.b, k.n);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, k.b, k.n, rec.data, rec.len);
    runkey kx = {.n = 0};
    mlops__run_key_lit(&kx, "t/x/");
    mlops__run_key_lp(&kx, info->exp_id, strlen(info->exp_id));
    mlops__run_key_raw(&kx, run_id, MLOPS_RUN_ID_LEN);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, kx.b, kx.n, NULL, 0);
    mlops__buf_free(&rec);
    return st;
}

mlops_status mlops__run_create_raw(mlops_store *store, const char *run_id,
                                   const mlops__info *info)
{
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, store);
    if (st == MLOPS_OK)
        st = add_create_ops(b, mlops_store_env(store), run_id, info);
    if (st == MLOPS_OK)
        st = mlops_store_apply(store, b);
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_EXISTS, "run %s already exists", run_id);
    mlops_batch_free(b);
    return st;
}

mlops_status mlops_run_create(mlops_run **out, mlops_store *store, const char *experiment_id,
                              const mlops_run_options *opts)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "run_create: NULL argument");
    mlops_run_options def;
    mlops_run_options_init(&def, MLOPS_RUN_OPTIONS_VERSION);
    if (opts == NULL)
        opts = &def;
    if (opts->version < 1 || opts->version > MLOPS_RUN_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "run options version %u is not supported",
                            opts->version);
    mlops_status st = check_kv_arrays("tag", opts->tag_keys, opts->tag_values, opts->n_tags,
                                      RUN_MAX_BATCH_TAGS, RUN_MAX_TAG_CHARS);
    if (st != MLOPS_OK)
        return st;
    st = check_kv_arrays("environment", opts->env_keys, opts->env_values, opts->n_env,
                         RUN_MAX_BATCH_TAGS, RUN_MAX_TAG_CHARS);
    if (st != MLOPS_OK)
        return st;
    if (opts->name != NULL) {
        st = mlops__run_check_value("run", "name", opts->name, RUN_MAX_TAG_CHARS);
        if (st != MLOPS_OK)
            return st;
    }
    mlops_env *env = mlops_store_env(store);
    if (experiment_id == NULL) {
        st = mlops__run_default_experiment(store);
        if (st != MLOPS_OK)
            return st;
        experiment_id = "0";
    }
    mlops__exp e;
    st = mlops__run_exp_get(&e, store, experiment_id);
    if (st != MLOPS_OK)
        return st;
    bool deleted = e.lifecycle == MLOPS_LIFECYCLE_DELETED;
    mlops__run_exp_clear(&e, env);
    if (deleted)
        return mlops__error(MLOPS_E_CONFLICT,
                            "experiment %s is deleted; restore it before starting runs in it",
                            experiment_id);
    if (opts->parent_run_id != NULL) {
        mlops_run *parent = NULL;
        st = mlops_run_open(&parent, store, opts->parent_run_id);
        mlops_run_close(parent);
        if (st != MLOPS_OK)
            return mlops__error(st, "parent run: %s", mlops_error_message());
    }
    uint8_t raw[16];
    char id[MLOPS_RUN_ID_LEN + 1];
    st = rand_bytes(raw, sizeof(raw));
    if (st != MLOPS_OK)
        return st;
    mlops__hex(id, raw, 16);
    char gen_name[32];
    snprintf(gen_name, sizeof(gen_name), "run-%.8s", id);

    mlops__buf skeys, svals;
    mlops__buf_init(&skeys, env);
    mlops__buf_init(&svals, env);
    size_t n_sys = 0;
    mlops_run *run = NULL;
    st = mlops__run_system_tags(&skeys, &svals, &n_sys, env, opts->flags);
    mlops__info info = {.exp_id = (char *)experiment_id,
                        .name = (char *)(opts->name ? opts->name : gen_name),
                        .parent = (char *)opts->parent_run_id,
                        .status = MLOPS_RUN_RUNNING,
                        .lifecycle = MLOPS_LIFECYCLE_ACTIVE,
                        .start = opts->start_ms ? opts->start_ms : mlops__now_ms(env)};
    /* user from the system tags, for the user_id attribute */
    const char *sk = (const char *)skeys.data, *sv = (const char *)svals.data;
    for (size_t i = 0; st == MLOPS_OK && i < n_sys; i++) {
        if (strcmp(sk, "mlops.user") == 0)
            info.user = (char *)sv;
        sk += strlen(sk) + 1;
        sv += strlen(sv) + 1;
    }
    mlops_batch *b = NULL;
    if (st == MLOPS_OK)
        st = mlops_batch_create(&b, store);
    if (st == MLOPS_OK)
        st = add_create_ops(b, env, id, &info);
    if (st == MLOPS_OK) {
        runkey k;
        key_item(&k, id, 't', "mlops.runName");
        st = batch_put_value(b, &k, env, info.name);
        if (st == MLOPS_OK && opts->parent_run_id != NULL) {
            key_item(&k, id, 't', "mlops.parentRunId");
            st = batch_put_value(b, &k, env, opts->parent_run_id);
        }
        sk = (const char *)skeys.data;
        sv = (const char *)svals.data;
        for (size_t i = 0; st == MLOPS_OK && i < n_sys; i++) {
            key_item(&k, id, 't', sk);
            st = batch_put_value(b, &k, env, sv);
            sk += strlen(sk) + 1;
            sv += strlen(sv) + 1;
        }
        char kbuf[300];
        for (size_t i = 0; st == MLOPS_OK && i < opts->n_env; i++) {
            snprintf(kbuf, sizeof(kbuf), "mlops.env.host.%s", opts->env_keys[i]);
            st = mlops__run_check_key("environment", kbuf);
            if (st == MLOPS_OK) {
                key_item(&k, id, 't', kbuf);
                st = batch_put_value(b, &k, env, opts->env_values[i]);
            }
        }
        for (size_t i = 0; st == MLOPS_OK && i < opts->n_tags; i++) {
            key_item(&k, id, 't', opts->tag_keys[i]);
            st = batch_put_value(b, &k, env, opts->tag_values[i]);
        }
    }
    if (st == MLOPS_OK)
        st = mlops_store_apply(store, b);
    mlops_batch_free(b);
    mlops__buf_free(&skeys);
    mlops__buf_free(&svals);
    if (st == MLOPS_OK)
        st = mlops_run_open(&run, store, id);
    if (st != MLOPS_OK)
        return st;
    *out = run;
    return MLOPS_OK;
}

const char *mlops_run_id(const mlops_run *run)
{
    return run ? run->id : NULL;
}

const char *mlops_run_experiment_id(const mlops_run *run)
{
    return run ? run->exp_id : NULL;
}

mlops_env *mlops__run_env(mlops_run *run)
{
    return run->env;
}

mlops_store *mlops__run_store(mlops_run *run)
{
    return run->store;
}

mlops_status mlops__run_check_writable(mlops_run *run)
{
    pthread_mutex_lock(&run->mu);
    mlops_status st = load_info(run);
    if (st == MLOPS_OK)
        st = check_active(run);
    pthread_mutex_unlock(&run->mu);
    return st;
}

mlops_status mlops_run_get_status(uint32_t *status_out, int64_t *start_ms_out,
                                  int64_t *end_ms_out, mlops_run *run)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    pthread_mutex_lock(&run->mu);
    mlops_status st = load_info(run);
    if (st == MLOPS_OK) {
        if (status_out)
            *status_out = run->info.status;
        if (start_ms_out)
            *start_ms_out = run->info.start;
        if (end_ms_out)
            *end_ms_out = run->info.end;
    }
    pthread_mutex_unlock(&run->mu);
    return st;
}

/* Rewrite the info record (guarded by its old bytes). */
typedef mlops_status (*info_edit_fn)(mlops__info *info, const void *arg);

static mlops_status info_edit(mlops_run *run, info_edit_fn edit, const void *arg,
                              bool allow_deleted)
{
    mlops_status st = load_info(run);
    for (int attempt = 0; st == MLOPS_OK && attempt < MAX_RETRIES; attempt++) {
        if (!allow_deleted) {
            st = check_active(run);
            if (st != MLOPS_OK)
                break;
        }
        mlops__info copy = run->info; /* shallow: edit only touches scalars or borrowed ptrs */
        st = edit(&copy, arg);
        if (st != MLOPS_OK)
            break;
        mlops__buf rec;
        st = mlops__run_info_encode(&rec, run->env, &copy);
        if (st != MLOPS_OK)
            break;
        runkey k;
        mlops__run_key_sum(&k, run->id, 'i');
        mlops_batch_clear(run->batch);
        st = mlops_batch_require_value(run->batch, k.b, k.n, run->info_enc.data,
                                       run->info_enc.len);
        if (st == MLOPS_OK)
            st = mlops_batch_put(run->batch, k.b, k.n, rec.data, rec.len);
        if (st == MLOPS_OK && arg != NULL && edit != NULL && copy.name != run->info.name) {
            runkey kt;
            key_item(&kt, run->id, 't', "mlops.runName");
            st = batch_put_value(run->batch, &kt, run->env, copy.name);
        }
        if (st == MLOPS_OK)
            st = mlops_store_apply(run->store, run->batch);
        mlops__buf_free(&rec);
        if (st != MLOPS_E_CONFLICT)
            break;
        st = load_info(run);
    }
    if (st == MLOPS_OK)
        st = load_info(run);
    return st;
}

typedef struct end_arg {
    uint32_t status;
    int64_t end;
} end_arg;

static mlops_status edit_end(mlops__info *info, const void *arg)
{
    const end_arg *a = arg;
    info->status = a->status;
    info->end = a->end;
    return MLOPS_OK;
}

static mlops_status async_flush_locked(mlops_run *run);

mlops_status mlops_run_end(mlops_run *run, uint32_t status, int64_t end_ms)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    if (status != MLOPS_RUN_FINISHED && status != MLOPS_RUN_FAILED && status != MLOPS_RUN_KILLED)
        return mlops__error(MLOPS_E_INVALID,
                            "status %u cannot end a run: use FINISHED (3), FAILED (4) or KILLED (5)",
                            status);
    pthread_mutex_lock(&run->mu);
    mlops_status st = async_flush_locked(run);
    end_arg a = {status, end_ms ? end_ms : mlops__now_ms(run->env)};
    if (st == MLOPS_OK)
        st = info_edit(run, edit_end, &a, false);
    pthread_mutex_unlock(&run->mu);
    return st;
}

static mlops_status edit_name(mlops__info *info, const void *arg)
{
    info->name = (char *)arg;
    return MLOPS_OK;
}

mlops_status mlops_run_set_name(mlops_run *run, const char *name)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    mlops_status st = mlops__run_check_value("run", "name", name, RUN_MAX_TAG_CHARS);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = info_edit(run, edit_name, name, false);
    pthread_mutex_unlock(&run->mu);
    return st;
}

static mlops_status edit_lifecycle(mlops__info *info, const void *arg)
{
    uint32_t want = *(const uint32_t *)arg;
    info->lifecycle = want;
    return MLOPS_OK;
}

static mlops_status lifecycle_change(mlops_store *store, const char *run_id, uint32_t lc)
{
    mlops_run *run = NULL;
    mlops_status st = mlops_run_open(&run, store, run_id);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = info_edit(run, edit_lifecycle, &lc, true);
    pthread_mutex_unlock(&run->mu);
    mlops_run_close(run);
    return st;
}

mlops_status mlops_run_delete(mlops_store *store, const char *run_id)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    return lifecycle_change(store, run_id, MLOPS_LIFECYCLE_DELETED);
}

mlops_status mlops_run_restore(mlops_store *store, const char *run_id)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    return lifecycle_change(store, run_id, MLOPS_LIFECYCLE_ACTIVE);
}

/* ---- metric keys ---- */

static mlops_status table_grow(mlops_run *run)
{
    size_t cap = run->table_cap ? run->table_cap * 2 : 64;
    uint32_t *t = mlops__calloc(run->env, cap, sizeof(uint32_t));
    if (t == NULL)
        return mlops__nomem();
    for (size_t i = 0; i < run->nkeys; i++) {
        size_t h = (size_t)run->keys[i].hash & (cap - 1);
        while (t[h] != 0)
            h = (h + 1) & (cap - 1);
        t[h] = (uint32_t)i + 1;
    }
    mlops__free(run->env, run->table);
    run->table = t;
    run->table_cap = cap;
    return MLOPS_OK;
}

/* Find or add a metric key (validated on first sight). */
static mlops_status intern(mlops_run *run, const char *key, uint32_t *idx_out)
{
    if (key == NULL)
        return mlops__error(MLOPS_E_INVALID, "metric key is NULL");
    size_t len = strlen(key);
    uint64_t h = mlops__xxh3_64(key, len, 0);
    if (run->table_cap != 0) {
        size_t pos = (size_t)h & (run->table_cap - 1);
        while (run->table[pos] != 0) {
            mkey *m = &run->keys[run->table[pos] - 1];
            if (m->hash == h && m->len == len && memcmp(m->key, key, len) == 0) {
                *idx_out = run->table[pos] - 1;
                return MLOPS_OK;
            }
            pos = (pos + 1) & (run->table_cap - 1);
        }
    }
    mlops_status st = mlops__run_check_key("metric", key);
    if (st != MLOPS_OK)
        return st;
    if ((run->nkeys + 1) * 2 > run->table_cap) {
        st = table_grow(run);
        if (st != MLOPS_OK)
            return st;
    }
    st = mlops__reserve(run->env, (void **)&run->keys, &run->keys_cap, run->nkeys + 1,
                        sizeof(mkey));
    if (st != MLOPS_OK)
        return st;
    char *copy = mlops__strndup(run->env, key, len);
    if (copy == NULL)
        return mlops__nomem();
    mkey *m = &run->keys[run->nkeys];
    memset(m, 0, sizeof(*m));
    m->key = copy;
    m->len = len;
    m->hash = h;
    size_t pos = (size_t)h & (run->table_cap - 1);
    while (run->table[pos] != 0)
        pos = (pos + 1) & (run->table_cap - 1);
    run->table[pos] = (uint32_t)run->nkeys + 1;
    *idx_out = (uint32_t)run->nkeys++;
    return MLOPS_OK;
}

static mlops_status load_latest(mlops_run *run, mkey *m)
{
    runkey k;
    mlops__run_key_sum(&k, run->id, 'L');
    mlops__run_key_lp(&k, m->key, m->len);
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND) {
        m->has_latest = false;
        m->latest_known = true;
        return MLOPS_OK;
    }
    if (st != MLOPS_OK)
        return st;
    if (v.len > sizeof(m->latest_enc)) {
        mlops_bytes_free(&v);
        return mlops__error(MLOPS_E_CORRUPT, "latest record of metric '%s' is %zu bytes",
                            m->key, v.len);
    }
    st = mlops__run_latest_decode(&m->latest, v.data, v.len);
    if (st == MLOPS_OK) {
        memcpy(m->latest_enc, v.data, v.len);
        m->latest_enc_len = v.len;
        m->has_latest = true;
        m->latest_known = true;
    }
    mlops_bytes_free(&v);
    return st;
}

/* Pending latest updates of one write, applied to the cache on success. */
typedef struct pend {
    uint32_t key;
    mlops_metric_value v;
} pend;

/* Add the chunks and latest updates of points (already interned) to
 * run->batch. pends receives at most n entries. */
static mlops_status add_points(mlops_run *run, const apoint *pts, size_t n, pend *pends,
                               size_t *npend)
{
    *npend = 0;
    run->mark_gen++;
    if (run->mark_gen == 0)
        run->mark_gen = 1;
    int64_t now_ns = mlops__now_ns(run->env);
    for (size_t i = 0; i < n; i++) {
        mkey *m = &run->keys[pts[i].key];
        if (m->mark == run->mark_gen)
            continue;
        m->mark = run->mark_gen;
        /* one chunk with every point of this key, in order */
        run->scratch.len = 0;
        uint8_t hdr[2] = {1, RUN_REC_CHUNK};
        mlops_status st = mlops__buf_append(&run->scratch, hdr, 2);
        size_t count = 0;
        for (size_t j = i; j < n; j++)
            count += pts[j].key == pts[i].key;
        uint8_t fk[11];
        size_t fkn = 0;
        fk[fkn++] = (1 << 3) | MLOPS__REC_WIRE_BYTES;
        fkn += mlops__varint_put(fk + fkn, count * 24);
        if (st == MLOPS_OK)
            st = mlops__buf_append(&run->scratch, fk, fkn);
        if (st == MLOPS_OK)
            st = mlops__reserve(run->env, (void **)&run->scratch.data, &run->scratch.cap,
                                run->scratch.len + count * 24, 1);
        if (st != MLOPS_OK)
            return st;
        mlops_metric_value best = {0};
        bool have = false;
        uint8_t *w = run->scratch.data + run->scratch.len;
        for (size_t j = i; j < n; j++) {
            if (pts[j].key != pts[i].key)
                continue;
            uint64_t bits;
            memcpy(&bits, &pts[j].value, 8);
            mlops__put_u64le(w, bits);
            mlops__put_u64le(w + 8, (uint64_t)pts[j].step);
            mlops__put_u64le(w + 16, (uint64_t)pts[j].ts);
            w += 24;
            mlops_metric_value v = {pts[j].value, pts[j].step, pts[j].ts};
            if (!have || mlops__run_point_cmp(&v, &best) > 0) {
                best = v;
                have = true;
            }
        }
        run->scratch.len += count * 24;
        runkey k = {.n = 0};
        mlops__run_key_lit(&k, "t/h/");
        mlops__run_key_raw(&k, run->id, MLOPS_RUN_ID_LEN);
        mlops__run_key_raw(&k, "/", 1);
        mlops__run_key_lp(&k, m->key, m->len);
        uint8_t order[16];
        mlops__put_u64be(order, (uint64_t)now_ns ^ (1ull << 63));
        uint64_t c = ++run->counter;
        order[8] = (uint8_t)(run->nonce >> 24);
        order[9] = (uint8_t)(run->nonce >> 16);
        order[10] = (uint8_t)(run->nonce >> 8);
        order[11] = (uint8_t)run->nonce;
        order[12] = (uint8_t)(c >> 24);
        order[13] = (uint8_t)(c >> 16);
        order[14] = (uint8_t)(c >> 8);
        order[15] = (uint8_t)c;
        mlops__run_key_raw(&k, order, 16);
        st = mlops_batch_put(run->batch, k.b, k.n, run->scratch.data, run->scratch.len);
        if (st != MLOPS_OK)
            return st;
        if (!m->latest_known) {
            st = load_latest(run, m);
            if (st != MLOPS_OK)
                return st;
        }
        if (!m->has_latest || mlops__run_point_cmp(&best, &m->latest) > 0) {
            runkey kl;
            mlops__run_key_sum(&kl, run->id, 'L');
            mlops__run_key_lp(&kl, m->key, m->len);
            if (m->has_latest)
                st = mlops_batch_require_value(run->batch, kl.b, kl.n, m->latest_enc,
                                               m->latest_enc_len);
            else
                st = mlops_batch_require_absent(run->batch, kl.b, kl.n);
            uint8_t enc[40];
            size_t en = latest_encode(enc, &best);
            if (st == MLOPS_OK)
                st = mlops_batch_put(run->batch, kl.b, kl.n, enc, en);
            if (st != MLOPS_OK)
                return st;
            pends[*npend].key = pts[i].key;
            pends[*npend].v = best;
            (*npend)++;
        }
    }
    return MLOPS_OK;
}

static void apply_pends(mlops_run *run, const pend *pends, size_t npend)
{
    for (size_t i = 0; i < npend; i++) {
        mkey *m = &run->keys[pends[i].key];
        m->latest = pends[i].v;
        m->latest_enc_len = latest_encode(m->latest_enc, &m->latest);
        m->has_latest = true;
        m->latest_known = true;
    }
}

static void forget_latest(mlops_run *run, const apoint *pts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run->keys[pts[i].key].latest_known = false;
}

/* Write interned points (locked). */
static mlops_status write_points(mlops_run *run, const apoint *pts, size_t n)
{
    if (n == 0)
        return MLOPS_OK;
    mlops_status st = ensure_active(run);
    if (st != MLOPS_OK)
        return st;
    pend stack_pends[16];
    pend *pends = n <= 16 ? stack_pends : mlops__malloc(run->env, n * sizeof(pend));
    if (pends == NULL)
        return mlops__nomem();
    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        size_t npend = 0;
        mlops_batch_clear(run->batch);
        st = add_points(run, pts, n, pends, &npend);
        bool retry = false;
        if (st == MLOPS_OK)
            st = commit(run, &retry);
        if (st == MLOPS_OK) {
            apply_pends(run, pends, npend);
            break;
        }
        forget_latest(run, pts, n);
        if (!retry)
            break;
    }
    if (pends != stack_pends)
        mlops__free(run->env, pends);
    return st;
}

/* ---- asynchronous mode ---- */

static void *async_main(void *arg)
{
    mlops_run *run = arg;
    apoint *local = mlops__malloc(run->env, ASYNC_CHUNK * sizeof(apoint));
    pthread_mutex_lock(&run->mu);
    for (;;) {
        while (run->ring_len == 0 && !run->stop)
            pthread_cond_wait(&run->cv_work, &run->mu);
        if (run->ring_len == 0 && run->stop)
            break;
        size_t n = run->ring_len < ASYNC_CHUNK ? run->ring_len : ASYNC_CHUNK;
        if (local == NULL)
            n = 0;
        for (size_t i = 0; i < n; i++)
            local[i] = run->ring[(run->ring_head + i) % run->ring_cap];
        run->writing = true;
        mlops_status st = local ? write_points(run, local, n) : mlops__nomem();
        if (local == NULL)
            n = run->ring_len; /* cannot write: drop and report */
        run->ring_head = (run->ring_head + n) % run->ring_cap;
        run->ring_len -= n;
        run->writing = false;
        if (st != MLOPS_OK && run->bg_st == MLOPS_OK) {
            run->bg_st = st;
            snprintf(run->bg_msg, sizeof(run->bg_msg), "background metric write: %s",
                     mlops_error_message());
        }
        pthread_cond_broadcast(&run->cv_room);
        if (run->ring_len == 0)
            pthread_cond_broadcast(&run->cv_idle);
    }
    pthread_cond_broadcast(&run->cv_idle);
    pthread_mutex_unlock(&run->mu);
    mlops__free(run->env, local);
    return NULL;
}

static mlops_status take_bg_error(mlops_run *run)
{
    mlops_status st = run->bg_st;
    if (st == MLOPS_OK)
        return MLOPS_OK;
    run->bg_st = MLOPS_OK;
    return mlops_error_set(st, run->bg_msg);
}

/* Wait for the ring to drain (locked; the writer runs with the lock held
 * during writes, so this waits between its chunks). */
static mlops_status async_flush_locked(mlops_run *run)
{
    if (!run->async)
        return MLOPS_OK;
    while (run->ring_len > 0 || run->writing)
        pthread_cond_wait(&run->cv_idle, &run->mu);
    return take_bg_error(run);
}

static mlops_status async_stop_locked(mlops_run *run)
{
    if (!run->async)
        return MLOPS_OK;
    run->stop = true;
    pthread_cond_broadcast(&run->cv_work);
    pthread_mutex_unlock(&run->mu);
    pthread_join(run->thread, NULL);
    pthread_mutex_lock(&run->mu);
    run->async = false;
    run->stop = false;
    mlops__free(run->env, run->ring);
    run->ring = NULL;
    run->ring_cap = run->ring_len = run->ring_head = 0;
    return take_bg_error(run);
}

mlops_status mlops_run_set_async(mlops_run *run, size_t capacity)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    if (capacity != 0 && (capacity < 64 || capacity > (1u << 24)))
        return mlops__error(MLOPS_E_INVALID, "async ring capacity %zu is outside 64..16777216",
                            capacity);
    pthread_mutex_lock(&run->mu);
    mlops_status st = async_stop_locked(run);
    if (st == MLOPS_OK && capacity != 0) {
        run->ring = mlops__malloc(run->env, capacity * sizeof(apoint));
        if (run->ring == NULL) {
            st = mlops__nomem();
        } else {
            run->ring_cap = capacity;
            run->async = true;
            if (pthread_create(&run->thread, NULL, async_main, run) != 0) {
                run->async = false;
                mlops__free(run->env, run->ring);
                run->ring = NULL;
                run->ring_cap = 0;
                st = mlops__error(MLOPS_E_INTERNAL, "cannot start the metric writer thread");
            }
        }
    }
    pthread_mutex_unlock(&run->mu);
    return st;
}

mlops_status mlops_run_flush(mlops_run *run)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    pthread_mutex_lock(&run->mu);
    mlops_status st = async_flush_locked(run);
    pthread_mutex_unlock(&run->mu);
    return st;
}

/* ---- logging ---- */

mlops_status mlops_run_log_metric_at(mlops_run *run, const char *key, double value,
                                     int64_t step, int64_t timestamp_ms)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    pthread_mutex_lock(&run->mu);
    uint32_t idx;
    mlops_status st = intern(run, key, &idx);
    if (st == MLOPS_OK && run->async) {
        st = take_bg_error(run);
        while (st == MLOPS_OK && run->ring_len == run->ring_cap)
            pthread_cond_wait(&run->cv_room, &run->mu);
        if (st == MLOPS_OK) {
            apoint *p = &run->ring[(run->ring_head + run->ring_len) % run->ring_cap];
            p->key = idx;
            p->value = value;
            p->step = step;
            p->ts = timestamp_ms;
            if (run->ring_len++ == 0)
                pthread_cond_signal(&run->cv_work);
        }
    } else if (st == MLOPS_OK) {
        apoint p = {idx, value, step, timestamp_ms};
        st = write_points(run, &p, 1);
    }
    pthread_mutex_unlock(&run->mu);
    return st;
}

mlops_status mlops_run_log_metric(mlops_run *run, const char *key, double value, int64_t step)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    return mlops_run_log_metric_at(run, key, value, step, mlops__now_ms(run->env));
}

/* Intern a batch of points into a temporary array (locked). */
static mlops_status intern_points(mlops_run *run, const mlops_metric_point *points, size_t n,
                                  apoint **out)
{
    *out = NULL;
    if (n == 0)
        return MLOPS_OK;
    if (points == NULL)
        return mlops__error(MLOPS_E_INVALID, "metric points are NULL but the count is %zu", n);
    apoint *a = mlops__malloc(run->env, n * sizeof(apoint));
    if (a == NULL)
        return mlops__nomem();
    for (size_t i = 0; i < n; i++) {
        mlops_status st = intern(run, points[i].key, &a[i].key);
        if (st != MLOPS_OK) {
            mlops__free(run->env, a);
            return mlops__error(st, "metric %zu of %zu: %s", i + 1, n, mlops_error_message());
        }
        a[i].value = points[i].value;
        a[i].step = points[i].step;
        a[i].ts = points[i].timestamp_ms;
    }
    *out = a;
    return MLOPS_OK;
}

mlops_status mlops_run_log_metrics(mlops_run *run, const mlops_metric_point *points, size_t n)
{
    return mlops_run_log_batch(run, points, n, NULL, NULL, 0, NULL, NULL, 0);
}

/* Params: check existing values; add puts guarded by absence. */
static mlops_status add_params(mlops_run *run, const char *const *keys, const char *const *vals,
                               size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(keys[i], keys[j]) == 0 && strcmp(vals[i], vals[j]) != 0)
                return mlops__error(MLOPS_E_CONFLICT,
                                    "param '%s' is given twice in one batch, as '%.200s' and "
                                    "'%.200s'; params cannot change",
                                    keys[i], vals[j], vals[i]);
        }
        runkey k;
        key_item(&k, run->id, 'p', keys[i]);
        mlops_bytes v = {0};
        mlops_status st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
        if (st == MLOPS_OK) {
            const uint8_t *s;
            size_t sn;
            st = mlops__run_value_decode(&s, &sn, v.data, v.len);
            if (st == MLOPS_OK && (sn != strlen(vals[i]) || memcmp(s, vals[i], sn) != 0))
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "param '%s' already logged as '%.*s'; params cannot change "
                                  "(new value '%.200s')",
                                  keys[i], (int)(sn > 200 ? 200 : sn), (const char *)s, vals[i]);
            if (st == MLOPS_OK)
                st = mlops_batch_require_value(run->batch, k.b, k.n, v.data, v.len);
            mlops_bytes_free(&v);
            if (st != MLOPS_OK)
                return st;
            continue;
        }
        if (st != MLOPS_E_NOTFOUND)
            return st;
        st = mlops_batch_require_absent(run->batch, k.b, k.n);
        if (st == MLOPS_OK)
            st = batch_put_value(run->batch, &k, run->env, vals[i]);
        if (st != MLOPS_OK)
            return st;
    }
    return MLOPS_OK;
}

static mlops_status add_tags(mlops_run *run, const char *const *keys, const char *const *vals,
                             size_t n)
{
    for (size_t i = 0; i < n; i++) {
        runkey k;
        key_item(&k, run->id, 't', keys[i]);
        mlops_status st = batch_put_value(run->batch, &k, run->env, vals[i]);
        if (st != MLOPS_OK)
            return st;
    }
    return MLOPS_OK;
}

mlops_status mlops_run_log_batch(mlops_run *run, const mlops_metric_point *metrics,
                                 size_t n_metrics, const char *const *param_keys,
                                 const char *const *param_values, size_t n_params,
                                 const char *const *tag_keys, const char *const *tag_values,
                                 size_t n_tags)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    if (n_metrics > RUN_MAX_BATCH_METRICS)
        return mlops__error(MLOPS_E_TOOBIG, "%zu metrics in one batch; the limit is %d",
                            n_metrics, RUN_MAX_BATCH_METRICS);
    mlops_status st = check_kv_arrays("param", param_keys, param_values, n_params,
                                      RUN_MAX_BATCH_PARAMS, RUN_MAX_PARAM_CHARS);
    if (st == MLOPS_OK)
        st = check_kv_arrays("tag", tag_keys, tag_values, n_tags, RUN_MAX_BATCH_TAGS,
                             RUN_MAX_TAG_CHARS);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    apoint *pts = NULL;
    pend *pends = NULL;
    st = intern_points(run, metrics, n_metrics, &pts);
    if (st == MLOPS_OK)
        st = take_bg_error(run);
    if (st == MLOPS_OK && n_metrics > 0) {
        pends = mlops__malloc(run->env, n_metrics * sizeof(pend));
        if (pends == NULL)
            st = mlops__nomem();
    }
    if (st == MLOPS_OK)
        st = ensure_active(run);
    for (int attempt = 0; st == MLOPS_OK && attempt < MAX_RETRIES; attempt++) {
        size_t npend = 0;
        mlops_batch_clear(run->batch);
        st = add_params(run, param_keys, param_values, n_params);
        if (st == MLOPS_OK)
            st = add_tags(run, tag_keys, tag_values, n_tags);
        if (st == MLOPS_OK)
            st = add_points(run, pts, n_metrics, pends, &npend);
        bool retry = false;
        if (st == MLOPS_OK)
            st = commit(run, &retry);
        if (st == MLOPS_OK) {
            apply_pends(run, pends, npend);
            break;
        }
        forget_latest(run, pts, n_metrics);
        if (!retry)
            break;
        st = MLOPS_OK;
    }
    mlops__free(run->env, pends);
    mlops__free(run->env, pts);
    pthread_mutex_unlock(&run->mu);
    return st;
}

mlops_status mlops_run_log_param(mlops_run *run, const char *key, const char *value)
{
    return mlops_run_log_batch(run, NULL, 0, &key, &value, 1, NULL, NULL, 0);
}

mlops_status mlops_run_set_tag(mlops_run *run, const char *key, const char *value)
{
    return mlops_run_log_batch(run, NULL, 0, NULL, NULL, 0, &key, &value, 1);
}

mlops_status mlops_run_delete_tag(mlops_run *run, const char *key)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    mlops_status st = mlops__run_check_key("tag", key);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = ensure_active(run);
    for (int attempt = 0; st == MLOPS_OK && attempt < MAX_RETRIES; attempt++) {
        runkey k;
        key_item(&k, run->id, 't', key);
        mlops_bytes v = {0};
        st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
        mlops_bytes_free(&v);
        if (st == MLOPS_E_NOTFOUND) {
            st = mlops__error(MLOPS_E_NOTFOUND, "run %s has no tag '%s'", run->id, key);
            break;
        }
        mlops_batch_clear(run->batch);
        if (st == MLOPS_OK)
            st = mlops_batch_delete(run->batch, k.b, k.n);
        bool retry = false;
        if (st == MLOPS_OK)
            st = commit(run, &retry);
        if (!retry)
            break;
        st = MLOPS_OK;
    }
    pthread_mutex_unlock(&run->mu);
    return st;
}

/* ---- reading ---- */

static mlops_status get_value(char **out, mlops_run *run, char what, const char *kind,
                              const char *key)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "get %s: NULL argument", kind);
    mlops_status st = mlops__run_check_key(kind, key);
    if (st != MLOPS_OK)
        return st;
    runkey k;
    key_item(&k, run->id, what, key);
    mlops_bytes v = {0};
    st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "run %s has no %s '%s'", run->id, kind, key);
    if (st != MLOPS_OK)
        return st;
    const uint8_t *s;
    size_t n;
    st = mlops__run_value_decode(&s, &n, v.data, v.len);
    if (st == MLOPS_OK) {
        *out = mlops__strndup(run->env, (const char *)s, n);
        if (*out == NULL)
            st = mlops__nomem();
    }
    mlops_bytes_free(&v);
    return st;
}

mlops_status mlops_run_get_param(char **value_out, mlops_run *run, const char *key)
{
    return get_value(value_out, run, 'p', "param", key);
}

mlops_status mlops_run_get_tag(char **value_out, mlops_run *run, const char *key)
{
    return get_value(value_out, run, 't', "tag", key);
}

mlops_status mlops_run_latest_metric_point(mlops_metric_value *out, mlops_run *run,
                                           const char *key)
{
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "latest_metric: NULL argument");
    mlops_status st = mlops__run_check_key("metric", key);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = async_flush_locked(run);
    pthread_mutex_unlock(&run->mu);
    if (st != MLOPS_OK)
        return st;
    runkey k;
    key_item(&k, run->id, 'L', key);
    mlops_bytes v = {0};
    st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "run %s has no metric '%s'", run->id, key);
    if (st == MLOPS_OK)
        st = mlops__run_latest_decode(out, v.data, v.len);
    mlops_bytes_free(&v);
    return st;
}

mlops_status mlops_run_latest_metric(double *value_out, mlops_run *run, const char *key)
{
    if (value_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "latest_metric: NULL argument");
    mlops_metric_value v;
    mlops_status st = mlops_run_latest_metric_point(&v, run, key);
    if (st == MLOPS_OK)
        *value_out = v.value;
    return st;
}

struct mlops_metric_history {
    mlops_env *env;
    mlops_metric_value *pts;
    size_t n, cap;
    mlops_status st;
};

static int hist_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)key;
    (void)key_len;
    (void)version;
    mlops_metric_history *h = payload;
    mlops__rec_reader r;
    mlops__rec_field f;
    h->st = mlops__rec_reader_init(&r, value, value_len, 1, RUN_REC_CHUNK, "metric chunk");
    while (h->st == MLOPS_OK && (h->st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag != 1 || f.wire != MLOPS__REC_WIRE_BYTES)
            continue;
        if (f.n % 24 != 0) {
            h->st = mlops__error(MLOPS_E_CORRUPT, "metric chunk of %zu bytes", f.n);
            break;
        }
        size_t k = f.n / 24;
        h->st = mlops__reserve(h->env, (void **)&h->pts, &h->cap, h->n + k,
                               sizeof(mlops_metric_value));
        if (h->st != MLOPS_OK)
            break;
        for (size_t i = 0; i < k; i++) {
            const uint8_t *p = f.p + i * 24;
            uint64_t bits = mlops__get_u64le(p);
            mlops_metric_value *v = &h->pts[h->n++];
            memcpy(&v->value, &bits, 8);
            v->step = (int64_t)mlops__get_u64le(p + 8);
            v->timestamp_ms = (int64_t)mlops__get_u64le(p + 16);
        }
    }
    if (h->st == MLOPS_E_NOTFOUND)
        h->st = MLOPS_OK;
    return h->st != MLOPS_OK;
}

static int step_cmp(const void *a, const void *b)
{
    return mlops__run_point_cmp(a, b);
}

mlops_status mlops_metric_history_open(mlops_metric_history **out, mlops_run *run,
                                       const char *key, size_t max_points)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "metric_history_open: NULL argument");
    mlops_status st = mlops__run_check_key("metric", key);
    if (st != MLOPS_OK)
        return st;
    if (max_points == 1)
        return mlops__error(MLOPS_E_INVALID, "max_points must be 0 (all) or at least 2");
    pthread_mutex_lock(&run->mu);
    st = async_flush_locked(run);
    pthread_mutex_unlock(&run->mu);
    if (st != MLOPS_OK)
        return st;
    mlops_metric_history *h = mlops__calloc(run->env, 1, sizeof(*h));
    if (h == NULL)
        return mlops__nomem();
    h->env = mlops__env_ref(run->env);
    runkey k = {.n = 0};
    mlops__run_key_lit(&k, "t/h/");
    mlops__run_key_raw(&k, run->id, MLOPS_RUN_ID_LEN);
    mlops__run_key_raw(&k, "/", 1);
    mlops__run_key_lp(&k, key, strlen(key));
    st = mlops_store_scan_prefix(run->store, k.b, k.n, hist_cb, h);
    if (st == MLOPS_E_CALLBACK)
        st = h->st;
    if (st == MLOPS_OK && max_points != 0 && h->n > max_points) {
        qsort(h->pts, h->n, sizeof(mlops_metric_value), step_cmp);
        /* evenly spaced positions including the first and the last */
        for (size_t i = 0; i < max_points; i++) {
            size_t src = (size_t)((double)i * (double)(h->n - 1) / (double)(max_points - 1) + 0.5);
            h->pts[i] = h->pts[src];
        }
        h->n = max_points;
    }
    if (st != MLOPS_OK) {
        mlops_metric_history_free(h);
        return st;
    }
    *out = h;
    return MLOPS_OK;
}

size_t mlops_metric_history_count(const mlops_metric_history *h)
{
    return h ? h->n : 0;
}

const mlops_metric_value *mlops_metric_history_points(const mlops_metric_history *h)
{
    return h && h->n ? h->pts : NULL;
}

void mlops_metric_history_free(mlops_metric_history *h)
{
    if (h == NULL)
        return;
    mlops_env *env = h->env;
    mlops__free(env, h->pts);
    mlops__free(env, h);
    mlops__env_unref(env);
}

/* ---- datasets ---- */

typedef struct count_ctx {
    size_t n;
    uint32_t last;
} count_ctx;

static int ds_count_cb(const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len, uint64_t version, void *payload)
{
    (void)value;
    (void)value_len;
    (void)version;
    count_ctx *c = payload;
    c->n++;
    if (key_len >= 4)
        c->last = (uint32_t)key[key_len - 4] << 24 | (uint32_t)key[key_len - 3] << 16 |
                  (uint32_t)key[key_len - 2] << 8 | key[key_len - 1];
    return 0;
}

static mlops_status ds_count(mlops_run *run, count_ctx *c)
{
    memset(c, 0, sizeof(*c));
    runkey k;
    mlops__run_key_sum(&k, run->id, 'd');
    return mlops_store_scan_prefix(run->store, k.b, k.n, ds_count_cb, c);
}

static mlops_status log_dataset(mlops_run *run, const char *name, const mlops_hash128 *h,
                                int64_t rows)
{
    mlops_status st = mlops__run_check_value("dataset", "name", name, RUN_MAX_EXP_NAME_CHARS);
    if (st == MLOPS_OK && name[0] == '\0')
        st = mlops__error(MLOPS_E_INVALID, "dataset name is empty");
    if (st == MLOPS_OK && rows < -1)
        st = mlops__error(MLOPS_E_INVALID, "dataset row count %lld is negative",
                          (long long)rows);
    if (st != MLOPS_OK)
        return st;
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, run->env, 1, RUN_REC_DATASET);
    mlops__rec_put_str(&w, 1, name);
    mlops__rec_put_bytes(&w, 2, h->bytes, 16);
    mlops__rec_put_i64(&w, 3, rows);
    mlops__rec_put_i64(&w, 4, mlops__now_ms(run->env));
    st = mlops__rec_writer_finish(&w);
    pthread_mutex_lock(&run->mu);
    if (st == MLOPS_OK)
        st = check_active(run);
    for (int attempt = 0; st == MLOPS_OK && attempt < MAX_RETRIES; attempt++) {
        count_ctx c;
        st = ds_count(run, &c);
        if (st != MLOPS_OK)
            break;
        uint32_t idx = c.n == 0 ? 0 : c.last + 1;
        runkey k;
        mlops__run_key_sum(&k, run->id, 'd');
        uint8_t be[4] = {(uint8_t)(idx >> 24), (uint8_t)(idx >> 16), (uint8_t)(idx >> 8),
                         (uint8_t)idx};
        mlops__run_key_raw(&k, be, 4);
        mlops_batch_clear(run->batch);
        st = mlops_batch_require_absent(run->batch, k.b, k.n);
        if (st == MLOPS_OK)
            st = mlops_batch_put(run->batch, k.b, k.n, w.buf.data, w.buf.len);
        bool retry = false;
        if (st == MLOPS_OK)
            st = mlops_store_apply(run->store, run->batch);
        if (st == MLOPS_E_CONFLICT) {
            /* a concurrent logger took the index, or the run changed */
            st = load_info(run);
            if (st == MLOPS_OK)
                st = check_active(run);
            retry = true;
        }
        if (!retry)
            break;
    }
    pthread_mutex_unlock(&run->mu);
    mlops__rec_writer_free(&w);
    return st;
}

mlops_status mlops_run_log_dataset_bytes(mlops_hash128 *hash_out, mlops_run *run,
                                         const char *name, const void *data, size_t len,
                                         int64_t rows)
{
    if (run == NULL || (data == NULL && len > 0))
        return mlops__error(MLOPS_E_INVALID, "log_dataset: NULL argument");
    mlops_hash128 h;
    mlops__xxh3_128(&h, data, len);
    mlops_status st = log_dataset(run, name, &h, rows);
    if (st == MLOPS_OK && hash_out != NULL)
        *hash_out = h;
    return st;
}

mlops_status mlops__run_hash_file(mlops_hash128 *out, uint64_t *size_out, const mlops_env *env,
                                  const char *path);

mlops_status mlops_run_log_dataset_file(mlops_hash128 *hash_out, mlops_run *run,
                                        const char *name, const char *local_path, int64_t rows)
{
    if (run == NULL || local_path == NULL)
        return mlops__error(MLOPS_E_INVALID, "log_dataset_file: NULL argument");
    mlops_hash128 h;
    mlops_status st = mlops__run_hash_file(&h, NULL, run->env, local_path);
    if (st != MLOPS_OK)
        return st;
    if (name == NULL) {
        const char *slash = strrchr(local_path, '/');
        name = slash ? slash + 1 : local_path;
    }
    st = log_dataset(run, name, &h, rows);
    if (st == MLOPS_OK && hash_out != NULL)
        *hash_out = h;
    return st;
}

mlops_status mlops_run_dataset_count(size_t *count_out, mlops_run *run)
{
    if (count_out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "dataset_count: NULL argument");
    count_ctx c;
    mlops_status st = ds_count(run, &c);
    if (st == MLOPS_OK)
        *count_out = c.n;
    return st;
}

typedef struct ds_get_ctx {
    size_t want, seen;
    mlops_bytes found;
    mlops_env *env;
    mlops_status st;
} ds_get_ctx;

static int ds_get_cb(const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len, uint64_t version, void *payload)
{
    (void)key;
    (void)key_len;
    (void)version;
    ds_get_ctx *c = payload;
    if (c->seen++ != c->want)
        return 0;
    c->st = mlops_bytes_set(&c->found, c->env, value, value_len);
    return 1;
}

mlops_status mlops_run_dataset_get(mlops_hash128 *hash_out, int64_t *rows_out, char **name_out,
                                   mlops_run *run, size_t index)
{
    if (name_out != NULL)
        *name_out = NULL;
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "dataset_get: run is NULL");
    ds_get_ctx c = {.want = index, .env = run->env};
    runkey k;
    mlops__run_key_sum(&k, run->id, 'd');
    mlops_status st = mlops_store_scan_prefix(run->store, k.b, k.n, ds_get_cb, &c);
    if (st == MLOPS_E_CALLBACK)
        st = c.st;
    if (st == MLOPS_OK && c.found.data == NULL)
        st = mlops__error(MLOPS_E_NOTFOUND, "run %s has %zu dataset inputs; index %zu is past "
                          "the end", run->id, c.seen, index);
    if (st == MLOPS_OK) {
        mlops_hash128 h;
        int64_t rows;
        const uint8_t *name;
        size_t nlen;
        st = mlops__run_dataset_decode(&h, &rows, &name, &nlen, c.found.data, c.found.len);
        if (st == MLOPS_OK) {
            if (hash_out)
                *hash_out = h;
            if (rows_out)
                *rows_out = rows;
            if (name_out) {
                *name_out = mlops__strndup(run->env, (const char *)name, nlen);
                if (*name_out == NULL)
                    st = mlops__nomem();
            }
        }
    }
    mlops_bytes_free(&c.found);
    return st;
}

/* ---- release ---- */

void mlops_run_close(mlops_run *run)
{
    if (run == NULL)
        return;
    pthread_mutex_lock(&run->mu);
    async_stop_locked(run);
    pthread_mutex_unlock(&run->mu);
    mlops_env *env = run->env;
    for (size_t i = 0; i < run->nkeys; i++)
        mlops__free(env, run->keys[i].key);
    mlops__free(env, run->keys);
    mlops__free(env, run->table);
    mlops__free(env, run->exp_id);
    mlops__run_info_clear(&run->info, env);
    mlops__buf_free(&run->info_enc);
    mlops__buf_free(&run->scratch);
    mlops_batch_free(run->batch);
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->cv_work);
    pthread_cond_destroy(&run->cv_room);
    pthread_cond_destroy(&run->cv_idle);
    mlops__store_unref(run->store);
    mlops__free(env, run);
    mlops__env_unref(env);
}

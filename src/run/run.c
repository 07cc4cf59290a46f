/* SPDX-License-Identifier: MIT */
/* Runs: the handle, params, metrics (sync, batched and asynchronous), tags
 * and dataset inputs.
 *
 * A run's info, params, tags, latest metric points and dataset inputs live
 * in one document record, so a search reads one key per run. The handle
 * keeps the document decoded; every write changes it in memory and stores
 * the new encoding together with any metric history chunks in one batch,
 * guarded by the old encoding (compare-and-set). If another handle or
 * process wrote the run meanwhile, the batch fails, the document is read
 * again and the write is redone on it; a run deleted meanwhile refuses it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "run/run_internal.h"

#define MAX_RETRIES 64
#define ASYNC_CHUNK 4096

/* A metric key seen by this handle, with the latest point of the document. */
typedef struct mkey {
    char *key;
    size_t len;
    uint64_t hash;
    bool has_latest;
    mlops_metric_value latest;
    uint32_t mark; /* grouping generation within one write */
} mkey;

typedef struct apoint {
    uint32_t key;
    double value;
    int64_t step;
    int64_t ts;
} apoint;

typedef struct kv {
    char *key;
    char *val;
} kv;

typedef struct kvs {
    kv *v;
    size_t n, cap;
} kvs;

typedef struct dsent {
    char *name;
    mlops_hash128 hash;
    int64_t rows;
} dsent;

struct mlops_run {
    mlops_store *store;
    mlops_env *env;
    char id[MLOPS_RUN_ID_LEN + 1];
    char *exp_id;
    pthread_mutex_t mu;
    /* the document, decoded */
    bool doc_valid;
    mlops__info info;
    kvs params, tags;
    dsent *ds;
    size_t nds, ds_cap;
    mlops__buf doc_enc; /* as stored */
    mlops__buf doc_new; /* scratch for the next encoding */
    /* metric keys: an open-addressing table of indexes into keys[] */
    mkey *keys;
    size_t nkeys, keys_cap;
    uint32_t *table;
    size_t table_cap; /* power of two; 0 entries are empty (index + 1) */
    uint32_t *sorted; /* indexes of keys[] in key order (documents list metrics sorted) */
    size_t sorted_cap;
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

static mlops_status intern(mlops_run *run, const char *key, uint32_t *idx_out);

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

static void key_doc(runkey *k, const char *run_id)
{
    mlops__run_key_sum(k, run_id, 'i');
}

/* ---- key/value lists, sorted by key ---- */

static size_t kvs_find(const kvs *s, const char *key, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->v[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static mlops_status kvs_set(kvs *s, const mlops_env *env, const char *key, size_t klen,
                            const char *val, size_t vlen)
{
    char *v = mlops__strndup(env, val, vlen);
    if (v == NULL)
        return mlops__nomem();
    char kbuf[MLOPS_STORE_MAX_KEY + 1];
    if (klen > MLOPS_STORE_MAX_KEY) {
        mlops__free(env, v);
        return mlops__error(MLOPS_E_CORRUPT, "key of %zu bytes in a run document", klen);
    }
    memcpy(kbuf, key, klen);
    kbuf[klen] = '\0';
    bool found;
    size_t i = kvs_find(s, kbuf, &found);
    if (found) {
        mlops__free(env, s->v[i].val);
        s->v[i].val = v;
        return MLOPS_OK;
    }
    char *k = mlops__strndup(env, key, klen);
    mlops_status st = k ? mlops__reserve(env, (void **)&s->v, &s->cap, s->n + 1, sizeof(kv))
                        : mlops__nomem();
    if (st != MLOPS_OK) {
        mlops__free(env, k);
        mlops__free(env, v);
        return st;
    }
    memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(kv));
    s->v[i].key = k;
    s->v[i].val = v;
    s->n++;
    return MLOPS_OK;
}

static void kvs_del(kvs *s, const mlops_env *env, size_t i)
{
    mlops__free(env, s->v[i].key);
    mlops__free(env, s->v[i].val);
    memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(kv));
    s->n--;
}

static void kvs_clear(kvs *s, const mlops_env *env)
{
    for (size_t i = 0; i < s->n; i++) {
        mlops__free(env, s->v[i].key);
        mlops__free(env, s->v[i].val);
    }
    s->n = 0;
}

/* ---- the document ---- */

static void doc_clear(mlops_run *run)
{
    mlops__run_info_clear(&run->info, run->env);
    kvs_clear(&run->params, run->env);
    kvs_clear(&run->tags, run->env);
    for (size_t i = 0; i < run->nds; i++)
        mlops__free(run->env, run->ds[i].name);
    run->nds = 0;
    for (size_t i = 0; i < run->nkeys; i++)
        run->keys[i].has_latest = false;
    run->doc_valid = false;
}

static mlops_status doc_decode(mlops_run *run, const uint8_t *p, size_t n)
{
    doc_clear(run);
    mlops_status st = mlops__run_info_decode(&run->info, run->env, p, n);
    mlops__rec_reader r;
    mlops__rec_field f;
    if (st == MLOPS_OK)
        st = mlops__rec_reader_init(&r, p, n, 1, RUN_REC_INFO, "run document");
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag < DOC_PARAM || f.tag > DOC_DATASET)
            continue;
        const uint8_t *k, *rest;
        size_t kl, rl;
        st = mlops__run_doc_entry(&f, &k, &kl, &rest, &rl);
        if (st != MLOPS_OK)
            break;
        if (f.tag == DOC_PARAM || f.tag == DOC_TAG) {
            st = kvs_set(f.tag == DOC_PARAM ? &run->params : &run->tags, run->env,
                         (const char *)k, kl, (const char *)rest, rl);
        } else if (f.tag == DOC_METRIC) {
            char kbuf[MLOPS_STORE_MAX_KEY + 1];
            if (kl > MLOPS_STORE_MAX_KEY) {
                st = mlops__error(MLOPS_E_CORRUPT, "metric key of %zu bytes", kl);
                break;
            }
            memcpy(kbuf, k, kl);
            kbuf[kl] = '\0';
            uint32_t idx;
            st = intern(run, kbuf, &idx);
            if (st == MLOPS_OK) {
                mlops__run_metric_payload(&run->keys[idx].latest, rest);
                run->keys[idx].has_latest = true;
            }
        } else {
            st = mlops__reserve(run->env, (void **)&run->ds, &run->ds_cap, run->nds + 1,
                                sizeof(dsent));
            if (st == MLOPS_OK) {
                dsent *d = &run->ds[run->nds];
                d->name = mlops__strndup(run->env, (const char *)k, kl);
                if (d->name == NULL) {
                    st = mlops__nomem();
                    break;
                }
                memcpy(d->hash.bytes, rest, 16);
                d->rows = (int64_t)mlops__get_u64le(rest + 16);
                run->nds++;
            }
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    if (st == MLOPS_OK) {
        run->doc_enc.len = 0;
        st = mlops__buf_append(&run->doc_enc, p, n);
    }
    if (st != MLOPS_OK) {
        doc_clear(run);
        return st;
    }
    run->doc_valid = true;
    return MLOPS_OK;
}

static mlops_status doc_load(mlops_run *run)
{
    runkey k;
    key_doc(&k, run->id);
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "no run with id '%s' in this store", run->id);
    if (st == MLOPS_OK)
        st = doc_decode(run, v.data, v.len);
    mlops_bytes_free(&v);
    return st;
}

static mlops_status put_entry(mlops__rec_writer *w, uint32_t tag, const char *key,
                              const void *payload, size_t plen, mlops__buf *tmp)
{
    size_t kl = strlen(key);
    uint8_t vi[10];
    size_t m = mlops__varint_put(vi, kl);
    tmp->len = 0;
    mlops_status st = mlops__buf_append(tmp, vi, m);
    if (st == MLOPS_OK)
        st = mlops__buf_append(tmp, key, kl);
    if (st == MLOPS_OK && plen)
        st = mlops__buf_append(tmp, payload, plen);
    if (st == MLOPS_OK)
        mlops__rec_put_bytes(w, tag, tmp->data, tmp->len);
    return st;
}

/* Encode the document into out (replacing its bytes). */
static mlops_status doc_encode(mlops_run *run, mlops__buf *out)
{
    mlops__buf info;
    mlops_status st = mlops__run_info_encode(&info, run->env, &run->info);
    if (st != MLOPS_OK)
        return st;
    mlops__rec_writer w;
    w.buf = *out;
    w.buf.len = 0;
    w.st = MLOPS_OK;
    st = mlops__buf_append(&w.buf, info.data, info.len);
    mlops__buf_free(&info);
    mlops__buf tmp;
    mlops__buf_init(&tmp, run->env);
    for (size_t i = 0; st == MLOPS_OK && i < run->params.n; i++)
        st = put_entry(&w, DOC_PARAM, run->params.v[i].key, run->params.v[i].val,
                       strlen(run->params.v[i].val), &tmp);
    for (size_t i = 0; st == MLOPS_OK && i < run->tags.n; i++)
        st = put_entry(&w, DOC_TAG, run->tags.v[i].key, run->tags.v[i].val,
                       strlen(run->tags.v[i].val), &tmp);
    for (size_t i = 0; st == MLOPS_OK && i < run->nkeys; i++) {
        const mkey *m = &run->keys[run->sorted[i]];
        if (!m->has_latest)
            continue;
        uint8_t pl[24];
        uint64_t bits;
        memcpy(&bits, &m->latest.value, 8);
        mlops__put_u64le(pl, bits);
        mlops__put_u64le(pl + 8, (uint64_t)m->latest.step);
        mlops__put_u64le(pl + 16, (uint64_t)m->latest.timestamp_ms);
        st = put_entry(&w, DOC_METRIC, m->key, pl, 24, &tmp);
    }
    for (size_t i = 0; st == MLOPS_OK && i < run->nds; i++) {
        uint8_t pl[24];
        memcpy(pl, run->ds[i].hash.bytes, 16);
        mlops__put_u64le(pl + 16, (uint64_t)run->ds[i].rows);
        st = put_entry(&w, DOC_DATASET, run->ds[i].name, pl, 24, &tmp);
    }
    mlops__buf_free(&tmp);
    if (st == MLOPS_OK)
        st = mlops__rec_writer_finish(&w);
    *out = w.buf;
    return st;
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

/* Make the cached document usable for a write: read it if needed, and
 * re-read a cached "deleted" (the run may have been restored since). */
static mlops_status doc_ready(mlops_run *run, bool allow_deleted)
{
    mlops_status st = MLOPS_OK;
    if (!run->doc_valid || (!allow_deleted && run->info.lifecycle == MLOPS_LIFECYCLE_DELETED))
        st = doc_load(run);
    if (st == MLOPS_OK && !allow_deleted)
        st = check_active(run);
    return st;
}

/* A change to the document (and extra batch ops) made by a write. It may
 * fail before changing anything (validation, param conflicts). */
typedef mlops_status (*doc_change_fn)(mlops_run *run, const void *arg);

/* Run a change with compare-and-set and retries (called locked). */
static mlops_status doc_write(mlops_run *run, doc_change_fn change, const void *arg,
                              bool allow_deleted)
{
    mlops_status st = MLOPS_OK;
    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        st = doc_ready(run, allow_deleted);
        if (st != MLOPS_OK)
            return st;
        mlops_batch_clear(run->batch);
        st = change(run, arg);
        if (st != MLOPS_OK) {
            run->doc_valid = false; /* it may be half changed: read it again next time */
            return st;
        }
        runkey k;
        key_doc(&k, run->id);
        st = doc_encode(run, &run->doc_new);
        if (st == MLOPS_OK)
            st = mlops_batch_require_value(run->batch, k.b, k.n, run->doc_enc.data,
                                           run->doc_enc.len);
        if (st == MLOPS_OK)
            st = mlops_batch_put(run->batch, k.b, k.n, run->doc_new.data, run->doc_new.len);
        if (st == MLOPS_OK)
            st = mlops_store_apply(run->store, run->batch);
        if (st == MLOPS_OK) {
            mlops__buf t = run->doc_enc;
            run->doc_enc = run->doc_new;
            run->doc_new = t;
            return MLOPS_OK;
        }
        run->doc_valid = false;
        if (st != MLOPS_E_CONFLICT)
            return st;
        /* someone else wrote the run: read it again and redo the change */
    }
    return mlops__error(MLOPS_E_BUSY, "run %s: gave up after %d concurrent updates", run->id,
                        MAX_RETRIES);
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
    mlops__buf_init(&run->doc_enc, env);
    mlops__buf_init(&run->doc_new, env);
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
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_RUN_OPTIONS_VERSION,
                               "run options");
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
    st = doc_load(run);
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
            return mlops__run_error_wrap(st, "%s %zu of %zu", what, i + 1, n);
    }
    return MLOPS_OK;
}

/* Store a new run's document (absent before) and its experiment index entry. */
static mlops_status create_doc(mlops_run *run)
{
    runkey k, kx = {.n = 0};
    key_doc(&k, run->id);
    mlops__run_key_lit(&kx, "t/x/");
    mlops__run_key_lp(&kx, run->info.exp_id, strlen(run->info.exp_id));
    mlops__run_key_raw(&kx, run->id, MLOPS_RUN_ID_LEN);
    mlops_batch_clear(run->batch);
    mlops_status st = doc_encode(run, &run->doc_enc);
    if (st == MLOPS_OK)
        st = mlops_batch_require_absent(run->batch, k.b, k.n);
    if (st == MLOPS_OK)
        st = mlops_batch_put(run->batch, k.b, k.n, run->doc_enc.data, run->doc_enc.len);
    if (st == MLOPS_OK)
        st = mlops_batch_put(run->batch, kx.b, kx.n, NULL, 0);
    if (st == MLOPS_OK)
        st = mlops_store_apply(run->store, run->batch);
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_EXISTS, "run %s already exists", run->id);
    run->doc_valid = st == MLOPS_OK;
    return st;
}

static mlops_status set_info_strings(mlops_run *run, const mlops__info *info)
{
    const mlops_env *env = run->env;
    run->info.status = info->status;
    run->info.lifecycle = info->lifecycle;
    run->info.start = info->start;
    run->info.end = info->end;
    run->info.exp_id = mlops__strdup(env, info->exp_id);
    run->info.name = info->name ? mlops__strdup(env, info->name) : NULL;
    run->info.parent = info->parent ? mlops__strdup(env, info->parent) : NULL;
    run->info.user = info->user ? mlops__strdup(env, info->user) : NULL;
    run->exp_id = mlops__strdup(env, info->exp_id);
    if (run->info.exp_id == NULL || run->exp_id == NULL || (info->name && !run->info.name) ||
        (info->parent && !run->info.parent) || (info->user && !run->info.user))
        return mlops__nomem();
    return MLOPS_OK;
}

mlops_status mlops__run_create_raw(mlops_store *store, const char *run_id,
                                   const mlops__info *info)
{
    mlops_run *run = NULL;
    mlops_status st = run_new(&run, store, run_id);
    if (st == MLOPS_OK)
        st = set_info_strings(run, info);
    if (st == MLOPS_OK)
        st = create_doc(run);
    mlops_run_close(run);
    return st;
}

static mlops_status set_tag_str(mlops_run *run, const char *k, const char *v)
{
    return kvs_set(&run->tags, run->env, k, strlen(k), v, strlen(v));
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
            return mlops__run_error_wrap(st, "parent run");
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
    const char *sk = (const char *)skeys.data, *sv = (const char *)svals.data;
    for (size_t i = 0; st == MLOPS_OK && i < n_sys; i++) {
        if (strcmp(sk, "mlops.user") == 0)
            info.user = (char *)sv;
        sk += strlen(sk) + 1;
        sv += strlen(sv) + 1;
    }
    if (st == MLOPS_OK)
        st = run_new(&run, store, id);
    if (st == MLOPS_OK)
        st = set_info_strings(run, &info);
    /* tags, in order: system tags, the environment, the caller's tags win */
    sk = (const char *)skeys.data;
    sv = (const char *)svals.data;
    for (size_t i = 0; st == MLOPS_OK && i < n_sys; i++) {
        st = set_tag_str(run, sk, sv);
        sk += strlen(sk) + 1;
        sv += strlen(sv) + 1;
    }
    char kbuf[300];
    for (size_t i = 0; st == MLOPS_OK && i < opts->n_env; i++) {
        snprintf(kbuf, sizeof(kbuf), "mlops.env.host.%s", opts->env_keys[i]);
        st = mlops__run_check_key("environment", kbuf);
        if (st == MLOPS_OK)
            st = set_tag_str(run, kbuf, opts->env_values[i]);
    }
    if (st == MLOPS_OK)
        st = set_tag_str(run, "mlops.runName", info.name);
    if (st == MLOPS_OK && opts->parent_run_id != NULL)
        st = set_tag_str(run, "mlops.parentRunId", opts->parent_run_id);
    for (size_t i = 0; st == MLOPS_OK && i < opts->n_tags; i++)
        st = set_tag_str(run, opts->tag_keys[i], opts->tag_values[i]);
    mlops__buf_free(&skeys);
    mlops__buf_free(&svals);
    if (st == MLOPS_OK)
        st = create_doc(run);
    if (st != MLOPS_OK) {
        mlops_run_close(run);
        return st;
    }
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
    mlops_status st = doc_load(run);
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
    mlops_status st = doc_load(run);
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

/* ---- info changes ---- */

typedef struct end_arg {
    uint32_t status;
    int64_t end;
} end_arg;

static mlops_status change_end(mlops_run *run, const void *arg)
{
    const end_arg *a = arg;
    run->info.status = a->status;
    run->info.end = a->end;
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
        st = doc_write(run, change_end, &a, false);
    pthread_mutex_unlock(&run->mu);
    return st;
}

static mlops_status change_name(mlops_run *run, const void *arg)
{
    char *name = mlops__strdup(run->env, arg);
    if (name == NULL)
        return mlops__nomem();
    mlops__free(run->env, run->info.name);
    run->info.name = name;
    return set_tag_str(run, "mlops.runName", name);
}

mlops_status mlops_run_set_name(mlops_run *run, const char *name)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    mlops_status st = mlops__run_check_value("run", "name", name, RUN_MAX_TAG_CHARS);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = doc_write(run, change_name, name, false);
    pthread_mutex_unlock(&run->mu);
    return st;
}

static mlops_status change_lifecycle(mlops_run *run, const void *arg)
{
    run->info.lifecycle = *(const uint32_t *)arg;
    return MLOPS_OK;
}

static mlops_status lifecycle_change(mlops_store *store, const char *run_id, uint32_t lc)
{
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_run *run = NULL;
    mlops_status st = mlops_run_open(&run, store, run_id);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = doc_write(run, change_lifecycle, &lc, true);
    pthread_mutex_unlock(&run->mu);
    mlops_run_close(run);
    return st;
}

mlops_status mlops_run_delete(mlops_store *store, const char *run_id)
{
    return lifecycle_change(store, run_id, MLOPS_LIFECYCLE_DELETED);
}

mlops_status mlops_run_restore(mlops_store *store, const char *run_id)
{
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
    st = mlops__reserve(run->env, (void **)&run->sorted, &run->sorted_cap, run->nkeys + 1,
                        sizeof(uint32_t));
    if (st != MLOPS_OK)
        return st;
    char *copy = mlops__strndup(run->env, key, len);
    if (copy == NULL)
        return mlops__nomem();
    size_t lo = 0, hi = run->nkeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(run->keys[run->sorted[mid]].key, copy) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(run->sorted + lo + 1, run->sorted + lo, (run->nkeys - lo) * sizeof(uint32_t));
    run->sorted[lo] = (uint32_t)run->nkeys;
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


/* Add the history chunks of points (already interned) to run->batch and
 * raise the document's latest points. */
static mlops_status add_points(mlops_run *run, const apoint *pts, size_t n)
{
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
        size_t count = 0;
        for (size_t j = i; j < n; j++)
            count += pts[j].key == pts[i].key;
        run->scratch.len = 0;
        uint8_t hdr[13];
        size_t hn = 0;
        hdr[hn++] = 1;
        hdr[hn++] = RUN_REC_CHUNK;
        hdr[hn++] = (1 << 3) | MLOPS__REC_WIRE_BYTES;
        hn += mlops__varint_put(hdr + hn, count * 24);
        mlops_status st = mlops__buf_append(&run->scratch, hdr, hn);
        if (st == MLOPS_OK)
            st = mlops__reserve(run->env, (void **)&run->scratch.data, &run->scratch.cap,
                                run->scratch.len + count * 24, 1);
        if (st != MLOPS_OK)
            return st;
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
            if (!m->has_latest || mlops__run_point_cmp(&v, &m->latest) > 0) {
                m->latest = v;
                m->has_latest = true;
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
        for (int b = 0; b < 4; b++) {
            order[8 + b] = (uint8_t)(run->nonce >> (24 - 8 * b));
            order[12 + b] = (uint8_t)(c >> (24 - 8 * b));
        }
        mlops__run_key_raw(&k, order, 16);
        st = mlops_batch_put(run->batch, k.b, k.n, run->scratch.data, run->scratch.len);
        if (st != MLOPS_OK)
            return st;
    }
    return MLOPS_OK;
}

typedef struct points_arg {
    const apoint *pts;
    size_t n;
} points_arg;

static mlops_status change_points(mlops_run *run, const void *arg)
{
    const points_arg *a = arg;
    return add_points(run, a->pts, a->n);
}

/* Write interned points (locked). */
static mlops_status write_points(mlops_run *run, const apoint *pts, size_t n)
{
    if (n == 0)
        return MLOPS_OK;
    points_arg a = {pts, n};
    return doc_write(run, change_points, &a, false);
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
            return mlops__run_error_wrap(st, "metric %zu of %zu", i + 1, n);
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

typedef struct batch_arg {
    const apoint *pts;
    size_t n_pts;
    const char *const *pk, *const *pv;
    size_t np;
    const char *const *tk, *const *tv;
    size_t nt;
} batch_arg;

static mlops_status change_batch(mlops_run *run, const void *arg)
{
    const batch_arg *a = arg;
    /* params are immutable: check them all before changing anything */
    for (size_t i = 0; i < a->np; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(a->pk[i], a->pk[j]) == 0 && strcmp(a->pv[i], a->pv[j]) != 0)
                return mlops__error(MLOPS_E_CONFLICT,
                                    "param '%s' is given twice in one batch, as '%.200s' and "
                                    "'%.200s'; params cannot change",
                                    a->pk[i], a->pv[j], a->pv[i]);
        }
        bool found;
        size_t at = kvs_find(&run->params, a->pk[i], &found);
        if (found && strcmp(run->params.v[at].val, a->pv[i]) != 0)
            return mlops__error(MLOPS_E_CONFLICT,
                                "param '%s' already logged as '%.200s'; params cannot change "
                                "(new value '%.200s')",
                                a->pk[i], run->params.v[at].val, a->pv[i]);
    }
    mlops_status st = MLOPS_OK;
    for (size_t i = 0; st == MLOPS_OK && i < a->np; i++)
        st = kvs_set(&run->params, run->env, a->pk[i], strlen(a->pk[i]), a->pv[i],
                     strlen(a->pv[i]));
    for (size_t i = 0; st == MLOPS_OK && i < a->nt; i++)
        st = set_tag_str(run, a->tk[i], a->tv[i]);
    if (st == MLOPS_OK)
        st = add_points(run, a->pts, a->n_pts);
    return st;
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
    st = intern_points(run, metrics, n_metrics, &pts);
    if (st == MLOPS_OK)
        st = take_bg_error(run);
    if (st == MLOPS_OK) {
        batch_arg a = {pts, n_metrics, param_keys, param_values, n_params,
                       tag_keys, tag_values, n_tags};
        st = doc_write(run, change_batch, &a, false);
    }
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

static mlops_status change_del_tag(mlops_run *run, const void *arg)
{
    bool found;
    size_t i = kvs_find(&run->tags, arg, &found);
    if (!found)
        return mlops__error(MLOPS_E_NOTFOUND, "run %s has no tag '%s'", run->id,
                            (const char *)arg);
    kvs_del(&run->tags, run->env, i);
    return MLOPS_OK;
}

mlops_status mlops_run_delete_tag(mlops_run *run, const char *key)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "run is NULL");
    mlops_status st = mlops__run_check_key("tag", key);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&run->mu);
    st = doc_write(run, change_del_tag, key, false);
    pthread_mutex_unlock(&run->mu);
    return st;
}

/* ---- reading (always from the store: other handles may have written) ---- */

static mlops_status read_doc(mlops_bytes *out, mlops_run *run)
{
    runkey k;
    key_doc(&k, run->id);
    mlops_status st = mlops_store_get(out, NULL, run->store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "no run with id '%s' in this store", run->id);
    return st;
}

static mlops_status get_value(char **out, mlops_run *run, uint32_t tag, const char *kind,
                              const char *key)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "get %s: NULL argument", kind);
    mlops_status st = mlops__run_check_key(kind, key);
    if (st != MLOPS_OK)
        return st;
    mlops_bytes v = {0};
    st = read_doc(&v, run);
    const uint8_t *s;
    size_t n;
    if (st == MLOPS_OK)
        st = mlops__run_doc_find(v.data, v.len, tag, key, &s, &n);
    if (st == MLOPS_E_NOTFOUND)
        st = mlops__error(MLOPS_E_NOTFOUND, "run %s has no %s '%s'", run->id, kind, key);
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
    return get_value(value_out, run, DOC_PARAM, "param", key);
}

mlops_status mlops_run_get_tag(char **value_out, mlops_run *run, const char *key)
{
    return get_value(value_out, run, DOC_TAG, "tag", key);
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
    mlops_bytes v = {0};
    if (st == MLOPS_OK)
        st = read_doc(&v, run);
    const uint8_t *s;
    size_t n;
    if (st == MLOPS_OK)
        st = mlops__run_doc_find(v.data, v.len, DOC_METRIC, key, &s, &n);
    if (st == MLOPS_E_NOTFOUND)
        st = mlops__error(MLOPS_E_NOTFOUND, "run %s has no metric '%s'", run->id, key);
    if (st == MLOPS_OK)
        mlops__run_metric_payload(out, s);
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


/* ---- datasets ---- */

typedef struct ds_arg {
    const char *name;
    const mlops_hash128 *hash;
    int64_t rows;
} ds_arg;

static mlops_status change_dataset(mlops_run *run, const void *arg)
{
    const ds_arg *a = arg;
    mlops_status st = mlops__reserve(run->env, (void **)&run->ds, &run->ds_cap, run->nds + 1,
                                     sizeof(dsent));
    if (st != MLOPS_OK)
        return st;
    dsent *d = &run->ds[run->nds];
    d->name = mlops__strdup(run->env, a->name);
    if (d->name == NULL)
        return mlops__nomem();
    d->hash = *a->hash;
    d->rows = a->rows;
    run->nds++;
    return MLOPS_OK;
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
    ds_arg a = {name, h, rows};
    pthread_mutex_lock(&run->mu);
    st = doc_write(run, change_dataset, &a, false);
    pthread_mutex_unlock(&run->mu);
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

/* Visit the dataset entries of the stored document; stop at index want. */
static mlops_status ds_scan(mlops_run *run, size_t want, size_t *count, mlops_hash128 *h,
                            int64_t *rows, char **name)
{
    mlops_bytes v = {0};
    mlops_status st = read_doc(&v, run);
    mlops__rec_reader r;
    mlops__rec_field f;
    *count = 0;
    if (st == MLOPS_OK)
        st = mlops__rec_reader_init(&r, v.data, v.len, 1, RUN_REC_INFO, "run document");
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag != DOC_DATASET)
            continue;
        const uint8_t *k, *rest;
        size_t kl, rl;
        st = mlops__run_doc_entry(&f, &k, &kl, &rest, &rl);
        if (st == MLOPS_OK && (*count)++ == want) {
            if (h)
                memcpy(h->bytes, rest, 16);
            if (rows)
                *rows = (int64_t)mlops__get_u64le(rest + 16);
            if (name) {
                *name = mlops__strndup(run->env, (const char *)k, kl);
                if (*name == NULL)
                    st = mlops__nomem();
            }
            mlops_bytes_free(&v);
            return st;
        }
    }
    mlops_bytes_free(&v);
    if (st == MLOPS_E_NOTFOUND)
        st = want == SIZE_MAX ? MLOPS_OK
                              : mlops__error(MLOPS_E_NOTFOUND,
                                             "run %s has %zu dataset inputs; index %zu is past "
                                             "the end",
                                             run->id, *count, want);
    return st;
}

mlops_status mlops_run_dataset_count(size_t *count_out, mlops_run *run)
{
    if (count_out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "dataset_count: NULL argument");
    return ds_scan(run, SIZE_MAX, count_out, NULL, NULL, NULL);
}

mlops_status mlops_run_dataset_get(mlops_hash128 *hash_out, int64_t *rows_out, char **name_out,
                                   mlops_run *run, size_t index)
{
    if (name_out != NULL)
        *name_out = NULL;
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "dataset_get: run is NULL");
    size_t count;
    return ds_scan(run, index, &count, hash_out, rows_out, name_out);
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
    doc_clear(run);
    mlops__free(env, run->params.v);
    mlops__free(env, run->tags.v);
    mlops__free(env, run->ds);
    for (size_t i = 0; i < run->nkeys; i++)
        mlops__free(env, run->keys[i].key);
    mlops__free(env, run->keys);
    mlops__free(env, run->table);
    mlops__free(env, run->sorted);
    mlops__free(env, run->exp_id);
    mlops__buf_free(&run->doc_enc);
    mlops__buf_free(&run->doc_new);
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

/* SPDX-License-Identifier: MIT */
/*
 * The model registry.
 *
 * Every model has one head record (r/m/<name>) holding what stage decisions
 * depend on: the last version number given, the stage of every live version,
 * the aliases and the history sequence. Every change to a model is one store
 * batch that requires the head's version as read (compare-and-set), puts the
 * new head, and appends history events numbered from the head's sequence.
 * So two writers can never both take a stage, a version number or a history
 * slot: one batch applies, the other gets MLOPS_E_CONFLICT, re-reads, and
 * either retries (when what it decided on is unchanged) or reports who won.
 */
#include <ctype.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "store/store_internal.h"

#define REG_MAX_ATTEMPTS 5000
#define REG_MAX_SMALL_TEXT 1024

static const char *const stage_names[] = {"None", "Staging", "Production", "Archived"};

/* ---- options ---- */

mlops_status mlops_register_options_init(mlops_register_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_REGISTER_OPTIONS_VERSION,
                               "register options");
}

mlops_status mlops_promote_options_init(mlops_promote_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_PROMOTE_OPTIONS_VERSION,
                               "promote options");
}

mlops_status mlops_gate_init(mlops_gate *gate, uint32_t version)
{
    if (gate == NULL)
        return mlops__error(MLOPS_E_INVALID, "gate: NULL pointer");
    if (version < 1 || version > MLOPS_GATE_VERSION)
        return mlops__error(MLOPS_E_VERSION, "gate version %u is not supported (1 to %u)", version,
                            MLOPS_GATE_VERSION);
    memset(gate, 0, sizeof(*gate));
    gate->version = version;
    return MLOPS_OK;
}

/* ---- validation ---- */

static bool has_ctl(const char *s, size_t n, bool allow_ws)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (allow_ws && (c == '\n' || c == '\t' || c == '\r'))
            continue;
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static mlops_status check_name(const char *name, const char *what)
{
    if (name == NULL)
        return mlops__error(MLOPS_E_INVALID, "%s name is NULL", what);
    size_t n = strnlen(name, MLOPS_REGISTRY_MAX_NAME + 1);
    if (n == 0)
        return mlops__error(MLOPS_E_INVALID, "%s name is empty", what);
    if (n > MLOPS_REGISTRY_MAX_NAME)
        return mlops__error(MLOPS_E_INVALID, "%s name is longer than %d bytes", what,
                            MLOPS_REGISTRY_MAX_NAME);
    if (!mlops__utf8_valid(name, n))
        return mlops__error(MLOPS_E_INVALID, "%s name is not valid UTF-8", what);
    if (has_ctl(name, n, false))
        return mlops__error(MLOPS_E_INVALID, "%s name '%s' contains a control character", what,
                            "(not shown)");
    if (strpbrk(name, "/@") != NULL)
        return mlops__error(MLOPS_E_INVALID,
                            "%s name '%s' contains '/' or '@', which separate the parts of a "
                            "models:/ URI",
                            what, name);
    return MLOPS_OK;
}

static mlops_status check_alias(const char *alias)
{
    if (alias == NULL)
        return mlops__error(MLOPS_E_INVALID, "alias is NULL");
    size_t n = strnlen(alias, MLOPS_REGISTRY_MAX_ALIAS + 1);
    if (n == 0)
        return mlops__error(MLOPS_E_INVALID, "alias is empty");
    if (n > MLOPS_REGISTRY_MAX_ALIAS)
        return mlops__error(MLOPS_E_INVALID, "alias is longer than %d characters",
                            MLOPS_REGISTRY_MAX_ALIAS);
    for (size_t i = 0; i < n; i++) {
        char c = alias[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return mlops__error(MLOPS_E_INVALID,
                                "alias may only contain letters, digits, '_' and '-' "
                                "(byte 0x%02x at offset %zu)",
                                (unsigned char)c, i);
    }
    if (strcasecmp(alias, "latest") == 0)
        return mlops__error(MLOPS_E_INVALID, "alias 'latest' is reserved");
    if ((alias[0] == 'v' || alias[0] == 'V') && n > 1 &&
        strspn(alias + 1, "0123456789") == n - 1)
        return mlops__error(MLOPS_E_INVALID,
                            "alias '%s' is reserved (v<number> names a version)", alias);
    return MLOPS_OK;
}

static mlops_status check_text(const char *s, size_t max, bool allow_ws, const char *what)
{
    if (s == NULL)
        return MLOPS_OK;
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return mlops__error(MLOPS_E_INVALID, "%s is longer than %zu bytes", what, max);
    if (!mlops__utf8_valid(s, n))
        return mlops__error(MLOPS_E_INVALID, "%s is not valid UTF-8", what);
    if (has_ctl(s, n, allow_ws))
        return mlops__error(MLOPS_E_INVALID, "%s contains a control character", what);
    return MLOPS_OK;
}

static mlops_status check_version(int64_t version)
{
    if (version <= 0)
        return mlops__error(MLOPS_E_INVALID, "version number %lld is invalid (versions start at 1)",
                            (long long)version);
    return MLOPS_OK;
}

static mlops_status check_reg(const mlops_registry *reg)
{
    if (reg == NULL)
        return mlops__error(MLOPS_E_INVALID, "registry is NULL");
    return MLOPS_OK;
}

static mlops_status check_writable(mlops_registry *reg)
{
    if (mlops__store_readonly(reg->store))
        return mlops__error(MLOPS_E_INVALID, "the store is open read-only");
    return MLOPS_OK;
}

/* ---- stages ---- */

mlops_status mlops_registry_stage_parse(uint32_t *stage_out, const char *name)
{
    if (stage_out == NULL || name == NULL)
        return mlops__error(MLOPS_E_INVALID, "stage: NULL argument");
    for (uint32_t i = 0; i < 4; i++) {
        if (strcasecmp(name, stage_names[i]) == 0) {
            *stage_out = i;
            return MLOPS_OK;
        }
    }
    char shown[40];
    size_t n = strnlen(name, 32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        shown[k++] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
    shown[k] = 0;
    return mlops__error(MLOPS_E_INVALID,
                        "unknown stage '%s'; use None, Staging, Production or Archived", shown);
}

const char *mlops_registry_stage_name(uint32_t stage)
{
    return stage < 4 ? stage_names[stage] : "unknown";
}

/* ---- handle ---- */

mlops_status mlops_registry_open(mlops_registry **out, mlops_store *store)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "registry open: NULL out pointer");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "registry open: NULL store");
    mlops_env *env = mlops_store_env(store);
    mlops_registry *reg = mlops__calloc(env, 1, sizeof(*reg));
    if (reg == NULL)
        return mlops__nomem();
    reg->store = mlops__store_ref(store);
    reg->env = env;
    *out = reg;
    return MLOPS_OK;
}

mlops_env *mlops_registry_env(mlops_registry *reg)
{
    return reg ? reg->env : NULL;
}

void mlops_registry_close(mlops_registry *reg)
{
    if (reg == NULL)
        return;
    mlops_store *store = reg->store;
    mlops__free(reg->env, reg);
    mlops__store_unref(store);
}

/* ---- head access ---- */

static mlops_status head_load(mlops_registry *reg, const char *name, reg_head *h)
{
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_head(key, name);
    mlops_bytes v = {0};
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&v, &ver, reg->store, key, klen);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "registered model '%s' not found", name);
    if (st != MLOPS_OK)
        return st;
    st = mlops__registry_head_decode(h, reg->env, v.data, v.len);
    mlops_bytes_free(&v);
    if (st == MLOPS_OK)
        h->store_version = ver;
    return st;
}

static reg_vstate *head_find(const reg_head *h, int64_t version)
{
    size_t lo = 0, hi = h->n_vers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->vers[mid].version == version)
            return &h->vers[mid];
        if (h->vers[mid].version < version)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static reg_alias *head_alias(const reg_head *h, const char *alias)
{
    for (size_t i = 0; i < h->n_aliases; i++)
        if (strcmp(h->aliases[i].name, alias) == 0)
            return &h->aliases[i];
    return NULL;
}

/* The version that entered a stage last (ties: the higher number); 0 if none. */
static int64_t head_stage_holder(const reg_head *h, uint32_t stage)
{
    int64_t best = 0, best_ms = 0;
    for (size_t i = 0; i < h->n_vers; i++) {
        const reg_vstate *v = &h->vers[i];
        if (v->stage == stage && (best == 0 || v->stage_ms >= best_ms)) {
            best = v->version;
            best_ms = v->stage_ms;
        }
    }
    return best;
}

/* A fingerprint of which versions hold a stage, to tell whether a
 * competing writer changed what a decision was based on. */
static uint64_t head_stage_set(const reg_head *h, uint32_t stage)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < h->n_vers; i++)
        if (h->vers[i].stage == stage)
            x = (x ^ (uint64_t)h->vers[i].version) * 0x100000001b3ull;
    return x;
}

static mlops_status version_missing(const reg_head *h, int64_t version)
{
    if (version > h->last_version)
        return mlops__error(MLOPS_E_NOTFOUND,
                            "model '%s' has no version %lld (the latest number given is %lld)",
                            h->name, (long long)version, (long long)h->last_version);
    return mlops__error(MLOPS_E_NOTFOUND, "version %lld of model '%s' was deleted",
                        (long long)version, h->name);
}

/* ---- batches ---- */

typedef struct txn {
    mlops_registry *reg;
    mlops_batch *batch;
    reg_head *h;
    int64_t now_ms;
    const char *user;
} txn;

static mlops_status txn_begin(txn *t, mlops_registry *reg, reg_head *h, const char *user)
{
    memset(t, 0, sizeof(*t));
    t->reg = reg;
    t->h = h;
    t->user = user ? user : "";
    t->now_ms = mlops__now_ms(reg->env);
    return mlops_batch_create(&t->batch, reg->store);
}

static mlops_status txn_event(txn *t, uint32_t kind, int64_t version, uint32_t from, uint32_t to,
                              const char *alias, int64_t prev, const char *reason)
{
    reg_event e = {0};
    e.seq = ++t->h->hist_seq;
    e.time_ms = t->now_ms;
    e.kind = kind;
    e.version = version;
    e.from_stage = from;
    e.to_stage = to;
    e.alias = (char *)alias;
    e.prev_version = prev;
    e.user = (char *)t->user;
    e.reason = (char *)(reason ? reason : "");
    mlops__buf b;
    mlops_status st = mlops__registry_event_encode(&b, t->reg->env, &e);
    if (st != MLOPS_OK)
        return st;
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_num(key, 'h', t->h->name, e.seq);
    st = mlops_batch_require_absent(t->batch, key, klen);
    if (st == MLOPS_OK)
        st = mlops_batch_put(t->batch, key, klen, b.data, b.len);
    mlops__buf_free(&b);
    return st;
}

static mlops_status txn_put_version(txn *t, const reg_version *v)
{
    mlops__buf b;
    mlops_status st = mlops__registry_version_encode(&b, t->reg->env, v);
    if (st != MLOPS_OK)
        return st;
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_num(key, 'v', v->model, (uint64_t)v->version);
    st = mlops_batch_put(t->batch, key, klen, b.data, b.len);
    mlops__buf_free(&b);
    return st;
}

/* Put the head under the compare-and-set it was read with, then apply. */
static mlops_status txn_commit(txn *t)
{
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_head(key, t->h->name);
    t->h->updated_ms = t->now_ms;
    mlops_status st;
    if (t->h->store_version)
        st = mlops_batch_require_version(t->batch, key, klen, t->h->store_version);
    else
        st = mlops_batch_require_absent(t->batch, key, klen);
    mlops__buf b = {0};
    if (st == MLOPS_OK)
        st = mlops__registry_head_encode(&b, t->reg->env, t->h);
    if (st == MLOPS_OK)
        st = mlops_batch_put(t->batch, key, klen, b.data, b.len);
    mlops__buf_free(&b);
    if (st == MLOPS_OK)
        st = mlops_store_apply(t->reg->store, t->batch);
    return st;
}

static void txn_end(txn *t)
{
    mlops_batch_free(t->batch);
    t->batch = NULL;
}

/* Back off after losing a race, more as the losses pile up. */
static void backoff(int attempt, uint64_t *rng)
{
    if (attempt < 4) {
        sched_yield();
        return;
    }
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    long cap_us = attempt < 64 ? 20L * attempt : 1000;
    struct timespec ts = {0, (long)(*rng % (uint64_t)cap_us + 1) * 1000L};
    nanosleep(&ts, NULL);
}

static uint64_t rng_seed(mlops_registry *reg)
{
    return (uint64_t)mlops__now_ns(reg->env) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)reg ^ 1;
}

static mlops_status too_busy(const char *model, const char *what)
{
    return mlops__error(MLOPS_E_BUSY,
                        "%s of model '%s': other writers kept changing the model for %d "
                        "attempts; try again",
                        what, model, REG_MAX_ATTEMPTS);
}

/* ---- models ---- */

static mlops_status head_new(reg_head *h, const mlops_env *env, const char *name,
                             const char *description, int64_t now)
{
    memset(h, 0, sizeof(*h));
    mlops__buf_init(&h->extra, env);
    h->name = mlops__strdup(env, name);
    if (h->name == NULL)
        return mlops__nomem();
    if (description) {
        h->description = mlops__strdup(env, description);
        if (h->description == NULL)
            return mlops__nomem();
    }
    h->created_ms = now;
    h->updated_ms = now;
    return MLOPS_OK;
}

mlops_status mlops_registry_create_model(mlops_registry *reg, const char *name,
                                         const char *description)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st == MLOPS_OK)
        st = check_text(description, MLOPS_REGISTRY_MAX_TEXT, true, "description");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    reg_head h;
    txn t = {0};
    st = head_new(&h, reg->env, name, description, mlops__now_ms(reg->env));
    if (st == MLOPS_OK)
        st = txn_begin(&t, reg, &h, NULL);
    if (st == MLOPS_OK) {
        h.created_ms = t.now_ms;
        st = txn_commit(&t);
    }
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_EXISTS, "registered model '%s' already exists", name);
    txn_end(&t);
    mlops__registry_head_free(reg->env, &h);
    return st;
}

/* Move every key under one prefix to another name's prefix (for rename). */
typedef struct move_ctx {
    mlops_batch *batch;
    const uint8_t *new_prefix;
    size_t new_prefix_len;
    size_t old_prefix_len;
    mlops_status st;
} move_ctx;

static int move_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    move_ctx *m = payload;
    uint8_t nk[REG_KEY_MAX];
    size_t tail = key_len - m->old_prefix_len;
    if (tail > 8)
        tail = 8;
    memcpy(nk, m->new_prefix, m->new_prefix_len);
    memcpy(nk + m->new_prefix_len, key + key_len - tail, tail);
    m->st = mlops_batch_require_version(m->batch, key, key_len, version);
    if (m->st == MLOPS_OK)
        m->st = mlops_batch_delete(m->batch, key, key_len);
    if (m->st == MLOPS_OK)
        m->st = mlops_batch_put(m->batch, nk, m->new_prefix_len + tail, value, value_len);
    return m->st != MLOPS_OK;
}

static mlops_status move_prefix(mlops_registry *reg, mlops_batch *batch, char kind,
                                const char *from, const char *to, bool rewrite_versions)
{
    uint8_t op[REG_KEY_MAX], np[REG_KEY_MAX];
    size_t ol = mlops__registry_key_prefix(op, kind, from);
    size_t nl = mlops__registry_key_prefix(np, kind, to);
    if (!rewrite_versions) {
        move_ctx m = {batch, np, nl, ol, MLOPS_OK};
        mlops_status st = mlops_store_scan_prefix(reg->store, op, ol, move_cb, &m);
        return st == MLOPS_E_CALLBACK ? m.st : st;
    }
    /* Version records carry the model name: decode, rename, re-encode. */
    mlops_store_iter *it = NULL;
    uint8_t end[REG_KEY_MAX];
    size_t el = mlops__prefix_end(end, op, ol);
    mlops_status st = mlops_store_iter_open(&it, reg->store, op, ol, end, el);
    const uint8_t *k, *v;
    size_t kl, vl;
    while (st == MLOPS_OK && (st = mlops_store_iter_next(it, &k, &kl, &v, &vl)) == MLOPS_OK) {
        reg_version rv;
        st = mlops__registry_version_decode(&rv, reg->env, v, vl);
        if (st != MLOPS_OK)
            break;
        char *nn = mlops__strdup(reg->env, to);
        if (nn == NULL) {
            mlops__registry_version_free(reg->env, &rv);
            st = mlops__nomem();
            break;
        }
        mlops__free(reg->env, rv.model);
        rv.model = nn;
        mlops__buf b;
        st = mlops__registry_version_encode(&b, reg->env, &rv);
        if (st == MLOPS_OK) {
            uint8_t nk[REG_KEY_MAX];
            size_t nkl = mlops__registry_key_num(nk, kind, to, (uint64_t)rv.version);
            st = mlops_batch_delete(batch, k, kl);
            if (st == MLOPS_OK)
                st = mlops_batch_put(batch, nk, nkl, b.data, b.len);
            mlops__buf_free(&b);
        }
        mlops__registry_version_free(reg->env, &rv);
    }
    mlops_store_iter_free(it);
    return st == MLOPS_E_NOTFOUND ? MLOPS_OK : st;
}

mlops_status mlops_registry_rename_model(mlops_registry *reg, const char *name,
                                         const char *new_name)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st == MLOPS_OK)
        st = check_name(new_name, "new model");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    if (strcmp(name, new_name) == 0)
        return mlops__error(MLOPS_E_INVALID, "model '%s' already has that name", name);
    reg_head h = {0};
    mlops_batch *batch = NULL;
    st = head_load(reg, name, &h);
    if (st == MLOPS_OK)
        st = mlops_batch_create(&batch, reg->store);
    uint8_t ok[REG_KEY_MAX], nk[REG_KEY_MAX];
    size_t okl = mlops__registry_key_head(ok, name);
    size_t nkl = mlops__registry_key_head(nk, new_name);
    char *nn = NULL;
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(batch, ok, okl, h.store_version);
    if (st == MLOPS_OK)
        st = mlops_batch_require_absent(batch, nk, nkl);
    if (st == MLOPS_OK)
        st = mlops_batch_delete(batch, ok, okl);
    if (st == MLOPS_OK)
        st = move_prefix(reg, batch, 'v', name, new_name, true);
    if (st == MLOPS_OK)
        st = move_prefix(reg, batch, 'h', name, new_name, false);
    if (st == MLOPS_OK) {
        nn = mlops__strdup(reg->env, new_name);
        if (nn == NULL)
            st = mlops__nomem();
    }
    mlops__buf b = {0};
    if (st == MLOPS_OK) {
        mlops__free(reg->env, h.name);
        h.name = nn;
        h.updated_ms = mlops__now_ms(reg->env);
        st = mlops__registry_head_encode(&b, reg->env, &h);
    }
    if (st == MLOPS_OK)
        st = mlops_batch_put(batch, nk, nkl, b.data, b.len);
    mlops__buf_free(&b);
    if (st == MLOPS_OK) {
        st = mlops_store_apply(reg->store, batch);
        if (st == MLOPS_E_CONFLICT) {
            mlops_bytes tmp = {0};
            if (mlops_store_get(&tmp, NULL, reg->store, nk, nkl) == MLOPS_OK)
                st = mlops__error(MLOPS_E_EXISTS, "registered model '%s' already exists",
                                  new_name);
            else
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "model '%s' was changed by another writer during the rename; "
                                  "nothing was renamed, try again",
                                  name);
            mlops_bytes_free(&tmp);
        }
    }
    mlops_batch_free(batch);
    mlops__registry_head_free(reg->env, &h);
    return st;
}

typedef struct del_ctx {
    mlops_batch *batch;
    mlops_status st;
} del_ctx;

static int del_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  uint64_t version, void *payload)
{
    del_ctx *d = payload;
    d->st = mlops_batch_delete(d->batch, key, key_len);
    return d->st != MLOPS_OK;
}

mlops_status mlops_registry_delete_model(mlops_registry *reg, const char *name)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    mlops_batch *batch = NULL;
    st = head_load(reg, name, &h);
    if (st == MLOPS_OK)
        st = mlops_batch_create(&batch, reg->store);
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_head(key, name);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(batch, key, klen, h.store_version);
    if (st == MLOPS_OK)
        st = mlops_batch_delete(batch, key, klen);
    const char kinds[2] = {'v', 'h'};
    for (int i = 0; i < 2 && st == MLOPS_OK; i++) {
        uint8_t p[REG_KEY_MAX];
        size_t pl = mlops__registry_key_prefix(p, kinds[i], name);
        del_ctx d = {batch, MLOPS_OK};
        st = mlops_store_scan_prefix(reg->store, p, pl, del_cb, &d);
        if (st == MLOPS_E_CALLBACK)
            st = d.st;
    }
    if (st == MLOPS_OK) {
        st = mlops_store_apply(reg->store, batch);
        if (st == MLOPS_E_CONFLICT)
            st = mlops__error(MLOPS_E_CONFLICT,
                              "model '%s' was changed by another writer during the delete; "
                              "nothing was deleted, try again",
                              name);
    }
    mlops_batch_free(batch);
    mlops__registry_head_free(reg->env, &h);
    return st;
}

/* Apply a small change to the head with retries (tags, descriptions). */
typedef mlops_status (*head_edit_fn)(reg_head *h, const mlops_env *env, void *arg);

static mlops_status head_edit(mlops_registry *reg, const char *name, head_edit_fn fn, void *arg)
{
    uint64_t rng = rng_seed(reg);
    for (int attempt = 0; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        mlops_status st = head_load(reg, name, &h);
        if (st == MLOPS_OK)
            st = fn(&h, reg->env, arg);
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, NULL);
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(reg->env, &h);
        if (st != MLOPS_E_CONFLICT)
            return st;
        backoff(attempt, &rng);
    }
    return too_busy(name, "changing");
}

typedef struct tag_arg {
    const char *key;
    const char *value;
} tag_arg;

static mlops_status tag_edit(reg_head *h, const mlops_env *env, void *arg)
{
    tag_arg *a = arg;
    for (size_t i = 0; i < h->n_tags; i++) {
        if (strcmp(h->tags[i].key, a->key) != 0)
            continue;
        if (a->value == NULL) {
            mlops__free(env, h->tags[i].key);
            mlops__free(env, h->tags[i].value);
            memmove(&h->tags[i], &h->tags[i + 1], (h->n_tags - i - 1) * sizeof(reg_tag));
            h->n_tags--;
            return MLOPS_OK;
        }
        char *nv = mlops__strdup(env, a->value);
        if (nv == NULL)
            return mlops__nomem();
        mlops__free(env, h->tags[i].value);
        h->tags[i].value = nv;
        return MLOPS_OK;
    }
    if (a->value == NULL)
        return mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no tag '%s'", h->name, a->key);
    reg_tag *nt = mlops__realloc(env, h->tags, (h->n_tags + 1) * sizeof(reg_tag));
    if (nt == NULL)
        return mlops__nomem();
    h->tags = nt;
    reg_tag *t = &h->tags[h->n_tags];
    t->key = mlops__strdup(env, a->key);
    t->value = mlops__strdup(env, a->value);
    if (t->key == NULL || t->value == NULL) {
        mlops__free(env, t->key);
        mlops__free(env, t->value);
        return mlops__nomem();
    }
    h->n_tags++;
    return MLOPS_OK;
}

mlops_status mlops_registry_set_model_tag(mlops_registry *reg, const char *name, const char *key,
                                          const char *value)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st == MLOPS_OK && (key == NULL || key[0] == '\0'))
        st = mlops__error(MLOPS_E_INVALID, "tag key is empty");
    if (st == MLOPS_OK)
        st = check_text(key, MLOPS_REGISTRY_MAX_TAG_KEY, false, "tag key");
    if (st == MLOPS_OK)
        st = check_text(value, MLOPS_REGISTRY_MAX_TEXT, true, "tag value");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    tag_arg a = {key, value};
    return head_edit(reg, name, tag_edit, &a);
}

static mlops_status desc_edit(reg_head *h, const mlops_env *env, void *arg)
{
    const char *d = arg;
    char *nd = NULL;
    if (d) {
        nd = mlops__strdup(env, d);
        if (nd == NULL)
            return mlops__nomem();
    }
    mlops__free(env, h->description);
    h->description = nd;
    return MLOPS_OK;
}

/* ---- version records ---- */

static mlops_status version_load(mlops_registry *reg, const char *model, int64_t version,
                                 reg_version *v)
{
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_num(key, 'v', model, (uint64_t)version);
    mlops_bytes b = {0};
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&b, &ver, reg->store, key, klen);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "version %lld of model '%s' not found",
                            (long long)version, model);
    if (st != MLOPS_OK)
        return st;
    st = mlops__registry_version_decode(v, reg->env, b.data, b.len);
    mlops_bytes_free(&b);
    if (st == MLOPS_OK)
        v->store_version = ver;
    return st;
}

/* Rewrite one version record under its own compare-and-set. */
typedef mlops_status (*version_edit_fn)(reg_version *v, const mlops_env *env, void *arg);

static mlops_status version_edit(mlops_registry *reg, const char *model, int64_t version,
                                 version_edit_fn fn, void *arg)
{
    uint64_t rng = rng_seed(reg);
    for (int attempt = 0; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_version v = {0};
        mlops_batch *batch = NULL;
        mlops__buf b = {0};
        uint8_t key[REG_KEY_MAX];
        size_t klen = mlops__registry_key_num(key, 'v', model, (uint64_t)version);
        mlops_status st = version_load(reg, model, version, &v);
        if (st == MLOPS_OK)
            st = fn(&v, reg->env, arg);
        if (st == MLOPS_OK)
            st = mlops__registry_version_encode(&b, reg->env, &v);
        if (st == MLOPS_OK)
            st = mlops_batch_create(&batch, reg->store);
        if (st == MLOPS_OK)
            st = mlops_batch_require_version(batch, key, klen, v.store_version);
        if (st == MLOPS_OK)
            st = mlops_batch_put(batch, key, klen, b.data, b.len);
        if (st == MLOPS_OK)
            st = mlops_store_apply(reg->store, batch);
        mlops__buf_free(&b);
        mlops_batch_free(batch);
        mlops__registry_version_free(reg->env, &v);
        if (st != MLOPS_E_CONFLICT)
            return st;
        backoff(attempt, &rng);
    }
    return too_busy(model, "changing a version");
}

static mlops_status vdesc_edit(reg_version *v, const mlops_env *env, void *arg)
{
    const char *d = arg;
    char *nd = NULL;
    if (d) {
        nd = mlops__strdup(env, d);
        if (nd == NULL)
            return mlops__nomem();
    }
    mlops__free(env, v->description);
    v->description = nd;
    return MLOPS_OK;
}

mlops_status mlops_registry_set_description(mlops_registry *reg, const char *name,
                                            int64_t version, const char *description)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st == MLOPS_OK && version < 0)
        st = check_version(version);
    if (st == MLOPS_OK)
        st = check_text(description, MLOPS_REGISTRY_MAX_TEXT, true, "description");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    if (version == 0)
        return head_edit(reg, name, desc_edit, (void *)description);
    reg_head h = {0};
    st = head_load(reg, name, &h);
    if (st == MLOPS_OK && head_find(&h, version) == NULL)
        st = version_missing(&h, version);
    mlops__registry_head_free(reg->env, &h);
    if (st != MLOPS_OK)
        return st;
    return version_edit(reg, name, version, vdesc_edit, (void *)description);
}

/* ---- register ---- */

mlops_status mlops_registry_register(int64_t *version_out, mlops_registry *reg, const char *model,
                                     const mlops_register_options *opts)
{
    if (version_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "register: NULL version_out");
    *version_out = 0;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st != MLOPS_OK)
        return st;
    if (opts == NULL)
        return mlops__error(MLOPS_E_INVALID,
                            "register: options are required (a run and artifact, or a blob)");
    if (opts->version < 1 || opts->version > MLOPS_REGISTER_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "register options version %u is not supported",
                            opts->version);
    bool from_run = opts->run_id != NULL;
    if (from_run && opts->blob != NULL)
        return mlops__error(MLOPS_E_INVALID,
                            "register: give either a run and artifact path or a blob, not both");
    if (!from_run && opts->blob == NULL)
        return mlops__error(MLOPS_E_INVALID,
                            "register: no source; give a run and artifact path, or a blob");
    if (from_run && (opts->artifact_path == NULL || opts->artifact_path[0] == '\0'))
        return mlops__error(MLOPS_E_INVALID, "register: a run needs an artifact path");
    if (!from_run && (opts->artifact_path || opts->eval_report_path))
        return mlops__error(MLOPS_E_INVALID,
                            "register: artifact and evaluation report paths need a run");
    if (opts->n_feature_hashes && opts->feature_hashes == NULL)
        return mlops__error(MLOPS_E_INVALID, "register: feature_hashes is NULL");
    if (opts->n_feature_hashes > 4096)
        return mlops__error(MLOPS_E_TOOBIG, "register: %zu feature hashes (at most 4096)",
                            opts->n_feature_hashes);
    if (st == MLOPS_OK)
        st = check_text(opts->description, MLOPS_REGISTRY_MAX_TEXT, true, "description");
    if (st == MLOPS_OK)
        st = check_text(opts->code_commit, REG_MAX_SMALL_TEXT, false, "code commit");
    if (st == MLOPS_OK)
        st = check_text(opts->user, REG_MAX_SMALL_TEXT, false, "user");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;

    const mlops_env *env = reg->env;
    reg_version v = {0};
    reg_run_source src = {0};
    mlops__buf_init(&v.extra, env);
    if (from_run) {
        st = mlops__registry_run_source(&src, reg->store, opts->run_id, opts->artifact_path,
                                        opts->eval_report_path);
        if (st != MLOPS_OK)
            return st;
        v.blob = src.blob;
        v.size = src.size;
        v.datasets = src.datasets;
        v.n_datasets = src.n_datasets;
        src.datasets = NULL;
        src.n_datasets = 0;
        v.has_eval = src.has_eval;
        v.eval_blob = src.eval_blob;
        v.run_id = mlops__strdup(env, opts->run_id);
        v.artifact_path = mlops__strdup(env, opts->artifact_path);
        if (v.run_id == NULL || v.artifact_path == NULL)
            st = mlops__nomem();
        if (st == MLOPS_OK && opts->eval_report_path &&
            (v.eval_path = mlops__strdup(env, opts->eval_report_path)) == NULL)
            st = mlops__nomem();
    } else {
        uint64_t size = 0;
        st = mlops_store_blob_stat(&size, reg->store, opts->blob);
        if (st == MLOPS_E_NOTFOUND) {
            char hex[33];
            mlops__hex(hex, opts->blob->bytes, 16);
            st = mlops__error(MLOPS_E_NOTFOUND, "blob %s is not in the store", hex);
        }
        v.blob = *opts->blob;
        v.size = size;
    }
    const char *commit = opts->code_commit ? opts->code_commit : src.code_commit;
    if (st == MLOPS_OK && commit && (v.code_commit = mlops__strdup(env, commit)) == NULL)
        st = mlops__nomem();
    if (st == MLOPS_OK && opts->description &&
        (v.description = mlops__strdup(env, opts->description)) == NULL)
        st = mlops__nomem();
    if (st == MLOPS_OK && opts->user && (v.user = mlops__strdup(env, opts->user)) == NULL)
        st = mlops__nomem();
    if (st == MLOPS_OK && opts->n_feature_hashes) {
        v.features = mlops__calloc(env, opts->n_feature_hashes, sizeof(mlops_hash128));
        if (v.features == NULL)
            st = mlops__nomem();
        else {
            memcpy(v.features, opts->feature_hashes,
                   opts->n_feature_hashes * sizeof(mlops_hash128));
            v.n_features = opts->n_feature_hashes;
        }
    }
    if (st == MLOPS_OK && (v.model = mlops__strdup(env, model)) == NULL)
        st = mlops__nomem();
    mlops__registry_run_source_free(env, &src);

    uint64_t rng = rng_seed(reg);
    int attempt = 0;
    for (; st == MLOPS_OK && attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        st = head_load(reg, model, &h);
        if (st == MLOPS_E_NOTFOUND && !opts->no_create_model)
            st = head_new(&h, env, model, NULL, mlops__now_ms(env));
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, opts->user);
        if (st == MLOPS_OK && h.last_version == INT64_MAX)
            st = mlops__error(MLOPS_E_TOOBIG, "model '%s' has run out of version numbers", model);
        reg_vstate *nv = NULL;
        if (st == MLOPS_OK) {
            nv = mlops__realloc(env, h.vers, (h.n_vers + 1) * sizeof(reg_vstate));
            if (nv == NULL)
                st = mlops__nomem();
        }
        if (st == MLOPS_OK) {
            h.vers = nv;
            h.last_version++;
            h.vers[h.n_vers].version = h.last_version;
            h.vers[h.n_vers].stage = MLOPS_STAGE_NONE;
            h.vers[h.n_vers].stage_ms = t.now_ms;
            h.n_vers++;
            v.version = h.last_version;
            v.created_ms = t.now_ms;
            uint8_t vk[REG_KEY_MAX];
            size_t vkl = mlops__registry_key_num(vk, 'v', model, (uint64_t)v.version);
            st = mlops_batch_require_absent(t.batch, vk, vkl);
        }
        if (st == MLOPS_OK)
            st = txn_put_version(&t, &v);
        if (st == MLOPS_OK)
            st = txn_event(&t, REG_EV_REGISTER, v.version, MLOPS_STAGE_NONE, MLOPS_STAGE_NONE,
                           NULL, 0, NULL);
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(env, &h);
        if (st == MLOPS_OK) {
            *version_out = v.version;
            break;
        }
        if (st != MLOPS_E_CONFLICT)
            break;
        /* Another writer took the number (or created the model): take the next. */
        st = MLOPS_OK;
        backoff(attempt, &rng);
    }
    if (st == MLOPS_OK && *version_out == 0)
        st = too_busy(model, "registering a version");
    mlops__registry_version_free(env, &v);
    return st;
}

/* ---- delete a version ---- */

static void drop_alias_at(const mlops_env *env, reg_head *h, size_t i)
{
    mlops__free(env, h->aliases[i].name);
    memmove(&h->aliases[i], &h->aliases[i + 1], (h->n_aliases - i - 1) * sizeof(reg_alias));
    h->n_aliases--;
}

mlops_status mlops_registry_delete_version(mlops_registry *reg, const char *model,
                                           int64_t version)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    uint64_t rng = rng_seed(reg);
    for (int attempt = 0; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        st = head_load(reg, model, &h);
        reg_vstate *vs = NULL;
        if (st == MLOPS_OK && (vs = head_find(&h, version)) == NULL)
            st = version_missing(&h, version);
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, NULL);
        uint32_t from = vs ? vs->stage : 0;
        for (size_t i = 0; st == MLOPS_OK && i < h.n_aliases;) {
            if (h.aliases[i].version == version) {
                st = txn_event(&t, REG_EV_ALIAS_DELETE, version, 0, 0, h.aliases[i].name,
                               version, "version deleted");
                drop_alias_at(reg->env, &h, i);
            } else {
                i++;
            }
        }
        if (st == MLOPS_OK) {
            size_t idx = (size_t)(vs - h.vers);
            memmove(&h.vers[idx], &h.vers[idx + 1], (h.n_vers - idx - 1) * sizeof(reg_vstate));
            h.n_vers--;
            uint8_t vk[REG_KEY_MAX];
            size_t vkl = mlops__registry_key_num(vk, 'v', model, (uint64_t)version);
            st = mlops_batch_delete(t.batch, vk, vkl);
        }
        if (st == MLOPS_OK)
            st = txn_event(&t, REG_EV_VERSION_DELETE, version, from, from, NULL, 0, NULL);
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(reg->env, &h);
        if (st != MLOPS_E_CONFLICT)
            return st;
        backoff(attempt, &rng);
    }
    return too_busy(model, "deleting a version");
}

/* ---- history scans ---- */

typedef mlops_status (*event_fn)(const reg_event *e, void *arg);

typedef struct scan_ev {
    const mlops_env *env;
    event_fn fn;
    void *arg;
    mlops_status st;
} scan_ev;

static int ev_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                 uint64_t version, void *payload)
{
    scan_ev *s = payload;
    reg_event e;
    s->st = mlops__registry_event_decode(&e, s->env, value, value_len);
    if (s->st != MLOPS_OK)
        return 1;
    s->st = s->fn(&e, s->arg);
    mlops__registry_event_free(s->env, &e);
    return s->st != MLOPS_OK;
}

/* Visit a model's events with seq >= from_seq, oldest first. */
static mlops_status events_scan(mlops_registry *reg, const char *model, uint64_t from_seq,
                                event_fn fn, void *arg)
{
    uint8_t start[REG_KEY_MAX], end[REG_KEY_MAX], pfx[REG_KEY_MAX];
    size_t pl = mlops__registry_key_prefix(pfx, 'h', model);
    size_t sl = mlops__registry_key_num(start, 'h', model, from_seq);
    size_t el = mlops__prefix_end(end, pfx, pl);
    scan_ev s = {reg->env, fn, arg, MLOPS_OK};
    mlops_status st = mlops_store_scan(reg->store, start, sl, end, el, ev_cb, &s);
    return st == MLOPS_E_CALLBACK ? s.st : st;
}

/* ---- the race report ---- */

typedef struct winner_arg {
    uint32_t stage;
    int64_t version;
    char user[128];
    int64_t time_ms;
    const char *alias;
} winner_arg;

static mlops_status winner_cb(const reg_event *e, void *arg)
{
    winner_arg *w = arg;
    bool hit = w->alias ? ((e->kind == REG_EV_ALIAS_SET || e->kind == REG_EV_ALIAS_DELETE) &&
                           e->alias && strcmp(e->alias, w->alias) == 0)
                        : (e->kind == REG_EV_TRANSITION && e->to_stage == w->stage);
    if (hit) {
        w->version = e->kind == REG_EV_ALIAS_DELETE ? 0 : e->version;
        snprintf(w->user, sizeof(w->user), "%s", e->user && e->user[0] ? e->user : "unknown");
        w->time_ms = e->time_ms;
    }
    return MLOPS_OK;
}

static mlops_status race_lost_stage(mlops_registry *reg, const reg_head *now, uint64_t since_seq,
                                    uint32_t stage, int64_t candidate, uint32_t cand_stage0)
{
    winner_arg w = {.stage = stage};
    events_scan(reg, now->name, since_seq + 1, winner_cb, &w);
    int64_t holder = head_stage_holder(now, stage);
    const reg_vstate *cs = head_find(now, candidate);
    if (cs && cs->stage != cand_stage0 && holder != candidate)
        return mlops__error(MLOPS_E_CONFLICT,
                            "version %lld of model '%s' was moved from %s to %s by another "
                            "writer meanwhile; nothing was changed",
                            (long long)candidate, now->name, stage_names[cand_stage0],
                            stage_names[cs->stage]);
    if (holder)
        return mlops__error(MLOPS_E_CONFLICT,
                            "lost the race for %s of model '%s': version %lld was moved there by "
                            "'%s' meanwhile; version %lld was not moved (nothing was changed)",
                            stage_names[stage], now->name, (long long)holder, w.user,
                            (long long)candidate);
    return mlops__error(MLOPS_E_CONFLICT,
                        "%s of model '%s' was changed by another writer meanwhile (now empty); "
                        "version %lld was not moved (nothing was changed)",
                        stage_names[stage], now->name, (long long)candidate);
}

/* ---- gates ---- */

typedef struct gate_spec {
    char metric[MLOPS_REGISTRY_MAX_TAG_KEY + 1];
    uint32_t flags;
    double threshold, min_abs, min_rel;
} gate_spec;

static mlops_status gate_from(gate_spec *g, const mlops_gate *in, size_t index)
{
    if (in->version < 1 || in->version > MLOPS_GATE_VERSION)
        return mlops__error(MLOPS_E_VERSION, "gate %zu: version %u is not supported", index,
                            in->version);
    if (in->metric == NULL || in->metric[0] == '\0')
        return mlops__error(MLOPS_E_INVALID, "gate %zu: no metric name", index);
    size_t n = strnlen(in->metric, MLOPS_REGISTRY_MAX_TAG_KEY + 1);
    if (n > MLOPS_REGISTRY_MAX_TAG_KEY)
        return mlops__error(MLOPS_E_INVALID, "gate %zu: metric name too long", index);
    mlops_status st = check_text(in->metric, MLOPS_REGISTRY_MAX_TAG_KEY, false, "gate metric");
    if (st != MLOPS_OK)
        return st;
    uint32_t cond = in->flags & (MLOPS_GATE_THRESHOLD | MLOPS_GATE_MIN_ABSOLUTE |
                                 MLOPS_GATE_MIN_RELATIVE);
    if (in->flags & ~(cond | MLOPS_GATE_LOWER_IS_BETTER))
        return mlops__error(MLOPS_E_INVALID, "gate on '%s': unknown flags 0x%x", in->metric,
                            in->flags);
    if (cond == 0)
        return mlops__error(MLOPS_E_INVALID,
                            "gate on '%s' has no condition (threshold, min_absolute_change or "
                            "min_relative_change)",
                            in->metric);
    if ((cond & MLOPS_GATE_THRESHOLD) && !isfinite(in->threshold))
        return mlops__error(MLOPS_E_INVALID, "gate on '%s': threshold must be finite",
                            in->metric);
    if ((cond & MLOPS_GATE_MIN_ABSOLUTE) &&
        !(isfinite(in->min_absolute_change) && in->min_absolute_change > 0))
        return mlops__error(MLOPS_E_INVALID,
                            "gate on '%s': min_absolute_change must be a positive number",
                            in->metric);
    if ((cond & MLOPS_GATE_MIN_RELATIVE) &&
        !(in->min_relative_change > 0 && in->min_relative_change <= 1))
        return mlops__error(MLOPS_E_INVALID,
                            "gate on '%s': min_relative_change must be in (0, 1]", in->metric);
    memcpy(g->metric, in->metric, n + 1);
    g->flags = in->flags;
    g->threshold = in->threshold;
    g->min_abs = in->min_absolute_change;
    g->min_rel = in->min_relative_change;
    return MLOPS_OK;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static bool parse_num(const char **pp, double *out)
{
    const char *p = *pp;
    char *end = NULL;
    if (!(*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9')))
        return false;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v))
        return false;
    *out = v;
    *pp = end;
    return true;
}

mlops_status mlops_registry_gate_parse(mlops_gate *gate, char *metric_buf, size_t cap,
                                       const char *expr)
{
    if (gate == NULL || metric_buf == NULL || expr == NULL || cap == 0)
        return mlops__error(MLOPS_E_INVALID, "gate parse: NULL argument");
    mlops_gate_init(gate, MLOPS_GATE_VERSION);
    const char *p = skip_ws(expr);
    const char *m0 = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '<' && *p != '>')
        p++;
    size_t mlen = (size_t)(p - m0);
    if (mlen == 0)
        return mlops__error(MLOPS_E_INVALID, "gate '%s': expected a metric name first", expr);
    if (mlen + 1 > cap)
        return mlops__error(MLOPS_E_TOOBIG, "gate '%s': metric name longer than %zu bytes", expr,
                            cap - 1);
    memcpy(metric_buf, m0, mlen);
    metric_buf[mlen] = 0;
    p = skip_ws(p);
    bool lower;
    if (p[0] == '>' && p[1] == '=')
        lower = false;
    else if (p[0] == '<' && p[1] == '=')
        lower = true;
    else
        return mlops__error(MLOPS_E_INVALID,
                            "gate '%s': expected '>=' or '<=' after the metric name", expr);
    p = skip_ws(p + 2);
    gate->metric = metric_buf;
    gate->flags = lower ? MLOPS_GATE_LOWER_IS_BETTER : 0;
    if (strncasecmp(p, "baseline", 8) == 0) {
        p = skip_ws(p + 8);
        char sign = *p;
        if (sign != '+' && sign != '-')
            return mlops__error(MLOPS_E_INVALID,
                                "gate '%s': expected 'baseline + X' or 'baseline - X'", expr);
        if ((sign == '+') == lower)
            return mlops__error(MLOPS_E_INVALID,
                                "gate '%s': use '>= baseline + X' (higher is better) or "
                                "'<= baseline - X' (lower is better)",
                                expr);
        p = skip_ws(p + 1);
        double x;
        if (!parse_num(&p, &x) || x < 0)
            return mlops__error(MLOPS_E_INVALID, "gate '%s': expected a number after '%c'", expr,
                                sign);
        p = skip_ws(p);
        if (*p == '%') {
            gate->flags |= MLOPS_GATE_MIN_RELATIVE;
            gate->min_relative_change = x / 100.0;
            p = skip_ws(p + 1);
        } else {
            gate->flags |= MLOPS_GATE_MIN_ABSOLUTE;
            gate->min_absolute_change = x;
        }
    } else {
        double x;
        if (!parse_num(&p, &x))
            return mlops__error(MLOPS_E_INVALID,
                                "gate '%s': expected a number or 'baseline' after the operator",
                                expr);
        gate->flags |= MLOPS_GATE_THRESHOLD;
        gate->threshold = x;
        p = skip_ws(p);
    }
    if (*p != '\0')
        return mlops__error(MLOPS_E_INVALID, "gate '%s': unexpected text at '%s'", expr, p);
    gate_spec tmp;
    return gate_from(&tmp, gate, 0);
}

static mlops_status gates_collect(gate_spec **out, size_t *n_out, const mlops_promote_options *o,
                                  const mlops_env *env)
{
    *out = NULL;
    *n_out = 0;
    if (o == NULL)
        return MLOPS_OK;
    if ((o->n_gates && o->gates == NULL) || (o->n_gate_exprs && o->gate_exprs == NULL))
        return mlops__error(MLOPS_E_INVALID, "promote: gates pointer is NULL");
    size_t n = o->n_gates + o->n_gate_exprs;
    if (n == 0)
        return MLOPS_OK;
    if (n > 1024)
        return mlops__error(MLOPS_E_TOOBIG, "promote: %zu gates (at most 1024)", n);
    gate_spec *g = mlops__calloc(env, n, sizeof(*g));
    if (g == NULL)
        return mlops__nomem();
    mlops_status st = MLOPS_OK;
    for (size_t i = 0; i < o->n_gates && st == MLOPS_OK; i++)
        st = gate_from(&g[i], &o->gates[i], i);
    for (size_t i = 0; i < o->n_gate_exprs && st == MLOPS_OK; i++) {
        mlops_gate tmp;
        char mb[MLOPS_REGISTRY_MAX_TAG_KEY + 1];
        if (o->gate_exprs[i] == NULL)
            st = mlops__error(MLOPS_E_INVALID, "gate expression %zu is NULL", i);
        else
            st = mlops_registry_gate_parse(&tmp, mb, sizeof(mb), o->gate_exprs[i]);
        if (st == MLOPS_OK)
            st = gate_from(&g[o->n_gates + i], &tmp, o->n_gates + i);
    }
    if (st != MLOPS_OK) {
        mlops__free(env, g);
        return st;
    }
    *out = g;
    *n_out = n;
    return MLOPS_OK;
}

/* Six significant digits, or more where needed to tell two values apart
 * (a report must never say "0.92 < 0.92"). */
static const char *fmt_num(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.6g", v);
    return buf;
}

/* The shortest text that reads back as the same double (user constants). */
static const char *fmt_exact(char *buf, size_t cap, double v)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static void fmt_two(char *a, char *b, size_t cap, double x, double y)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(a, cap, "%.*g", prec, x);
        snprintf(b, cap, "%.*g", prec, y);
        if (x == y || strcmp(a, b) != 0)
            break;
    }
}

typedef struct gate_result {
    bool passed;
    int64_t baseline;
    char first_failure[400];
} gate_result;

/* Evaluate the gates for a candidate; the report gets one line per
 * condition. Baseline: the alias's version, or the current Production one. */
static mlops_status gates_eval(mlops_registry *reg, const reg_head *h, int64_t version,
                               const gate_spec *g, size_t n, const char *baseline_alias,
                               mlops__buf *report, gate_result *res)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    reg_version cand = {0}, base = {0};
    bool have_base = false;
    mlops_status st = version_load(reg, h->name, version, &cand);
    int64_t bver = 0;
    if (st == MLOPS_OK) {
        if (baseline_alias) {
            reg_alias *a = head_alias(h, baseline_alias);
            if (a == NULL)
                st = mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no alias '%s' to compare with",
                                  h->name, baseline_alias);
            else
                bver = a->version;
        } else {
            bver = head_stage_holder(h, MLOPS_STAGE_PRODUCTION);
        }
    }
    if (st == MLOPS_OK && bver == version)
        bver = 0; /* a version is not its own baseline */
    if (st == MLOPS_OK && bver) {
        st = version_load(reg, h->name, bver, &base);
        have_base = st == MLOPS_OK;
    }
    res->baseline = bver;
    mlops_status wst = MLOPS_OK;
    char a[40], b[40], c[40];
    const char *bname = baseline_alias ? baseline_alias : "Production";
    for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
        const gate_spec *s = &g[i];
        bool lower = s->flags & MLOPS_GATE_LOWER_IS_BETTER;
        const char *op = lower ? "<=" : ">=";
        double cv = 0, bv = 0;
        mlops_status cst = cand.run_id ? mlops__registry_run_metric(&cv, reg->store, cand.run_id,
                                                                    s->metric)
                                       : MLOPS_E_NOTFOUND;
        if (cst != MLOPS_OK && cst != MLOPS_E_NOTFOUND) {
            st = cst;
            break;
        }
        bool needs_base = s->flags & (MLOPS_GATE_MIN_ABSOLUTE | MLOPS_GATE_MIN_RELATIVE);
        mlops_status bst = MLOPS_E_NOTFOUND;
        if (needs_base && have_base && base.run_id) {
            bst = mlops__registry_run_metric(&bv, reg->store, base.run_id, s->metric);
            if (bst != MLOPS_OK && bst != MLOPS_E_NOTFOUND) {
                st = bst;
                break;
            }
        }
        for (uint32_t bit = MLOPS_GATE_THRESHOLD; bit <= MLOPS_GATE_MIN_RELATIVE; bit <<= 1) {
            if (!(s->flags & bit))
                continue;
            char cond[120], line[400];
            bool ok = false;
            if (bit == MLOPS_GATE_THRESHOLD)
                snprintf(cond, sizeof(cond), "%s %s %s", s->metric, op,
                         fmt_exact(a, sizeof(a), s->threshold));
            else if (bit == MLOPS_GATE_MIN_ABSOLUTE)
                snprintf(cond, sizeof(cond), "%s %s baseline %c %s", s->metric, op,
                         lower ? '-' : '+', fmt_exact(a, sizeof(a), s->min_abs));
            else
                snprintf(cond, sizeof(cond), "%s %s baseline %c %s%%", s->metric, op,
                         lower ? '-' : '+', fmt_exact(a, sizeof(a), s->min_rel * 100.0));
            if (cst == MLOPS_E_NOTFOUND) {
                snprintf(line, sizeof(line),
                         "FAIL %s: the candidate (version %lld%s%s) never logged '%s'", cond,
                         (long long)version, cand.run_id ? ", run " : ", no run",
                         cand.run_id ? cand.run_id : "", s->metric);
            } else if (bit == MLOPS_GATE_THRESHOLD) {
                ok = lower ? cv <= s->threshold : cv >= s->threshold;
                fmt_two(b, c, sizeof(b), cv, s->threshold);
                snprintf(line, sizeof(line), "%s %s: candidate %s (version %lld), threshold %s",
                         ok ? "PASS" : "FAIL", cond, b, (long long)version, c);
            } else if (bver == 0) {
                snprintf(line, sizeof(line), "FAIL %s: there is no %s version to compare with",
                         cond, bname);
            } else if (bst == MLOPS_E_NOTFOUND) {
                snprintf(line, sizeof(line),
                         "FAIL %s: the baseline (%s version %lld%s%s) never logged '%s'", cond,
                         bname, (long long)bver, base.run_id ? ", run " : ", no run",
                         base.run_id ? base.run_id : "", s->metric);
            } else {
                double need;
                if (bit == MLOPS_GATE_MIN_ABSOLUTE)
                    need = lower ? bv - s->min_abs : bv + s->min_abs;
                else
                    need = lower ? bv - fabs(bv) * s->min_rel : bv + fabs(bv) * s->min_rel;
                ok = lower ? cv <= need : cv >= need;
                char d[40];
                fmt_two(b, d, sizeof(b), cv, need);
                snprintf(line, sizeof(line),
                         "%s %s: candidate %s (version %lld), baseline %s (%s version %lld), "
                         "needed %s %s",
                         ok ? "PASS" : "FAIL", cond, b, (long long)version,
                         fmt_num(c, sizeof(c), bv), bname, (long long)bver, op, d);
            }
            if (!ok && res->passed) {
                res->passed = false;
                snprintf(res->first_failure, sizeof(res->first_failure), "%s", line + 5);
            }
            if (wst == MLOPS_OK)
                wst = mlops__buf_printf(report, "%s\n", line);
        }
    }
    if (st == MLOPS_OK && wst != MLOPS_OK)
        st = wst;
    if (st == MLOPS_OK) {
        /* the verdict goes first */
        const char *v = res->passed ? "gate passed\n" : "gate refused\n";
        size_t vl = strlen(v);
        st = mlops__buf_append(report, v, vl);
        if (st == MLOPS_OK) {
            memmove(report->data + vl, report->data, report->len - vl);
            memcpy(report->data, v, vl);
        }
    }
    mlops__registry_version_free(reg->env, &cand);
    mlops__registry_version_free(reg->env, &base);
    return st;
}

typedef struct blessing {
    int64_t status;
    int64_t ms;
    const char *report;
    int64_t baseline;
    uint32_t stage;
} blessing;

static mlops_status bless_edit(reg_version *v, const mlops_env *env, void *arg)
{
    const blessing *b = arg;
    char *r = mlops__strdup(env, b->report);
    if (r == NULL)
        return mlops__nomem();
    mlops__free(env, v->gate_report);
    v->gate_report = r;
    v->gate_status = b->status;
    v->gate_ms = b->ms;
    v->gate_baseline = b->baseline;
    v->gate_stage = b->stage;
    return MLOPS_OK;
}

/* Add the blessing to a transition's batch, under a compare-and-set on the
 * version record. */
static mlops_status txn_bless(txn *t, const char *model, int64_t version, const blessing *b)
{
    reg_version v = {0};
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_num(key, 'v', model, (uint64_t)version);
    mlops_status st = version_load(t->reg, model, version, &v);
    if (st == MLOPS_OK)
        st = bless_edit(&v, t->reg->env, (void *)b);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(t->batch, key, klen, v.store_version);
    if (st == MLOPS_OK)
        st = txn_put_version(t, &v);
    mlops__registry_version_free(t->reg->env, &v);
    return st;
}

static mlops_status take_report(char **report_out, mlops__buf *report)
{
    if (report_out == NULL)
        return MLOPS_OK;
    if (report->len == 0) {
        *report_out = NULL;
        return MLOPS_OK;
    }
    *report_out = mlops__buf_take_str(report);
    return *report_out ? MLOPS_OK : mlops__nomem();
}

mlops_status mlops_registry_gate_check(char **report_out, int32_t *passed_out,
                                       mlops_registry *reg, const char *model, int64_t version,
                                       const mlops_promote_options *opts)
{
    if (report_out == NULL || passed_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "gate check: NULL out pointer");
    *report_out = NULL;
    *passed_out = 0;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st == MLOPS_OK && opts &&
        (opts->version < 1 || opts->version > MLOPS_PROMOTE_OPTIONS_VERSION))
        st = mlops__error(MLOPS_E_VERSION, "promote options version %u is not supported",
                          opts->version);
    if (st == MLOPS_OK && opts && opts->baseline_alias)
        st = check_alias(opts->baseline_alias);
    if (st != MLOPS_OK)
        return st;
    gate_spec *g = NULL;
    size_t n = 0;
    st = gates_collect(&g, &n, opts, reg->env);
    if (st == MLOPS_OK && n == 0)
        st = mlops__error(MLOPS_E_INVALID, "gate check: no gates given");
    reg_head h = {0};
    if (st == MLOPS_OK)
        st = head_load(reg, model, &h);
    if (st == MLOPS_OK && head_find(&h, version) == NULL)
        st = version_missing(&h, version);
    mlops__buf report;
    mlops__buf_init(&report, reg->env);
    gate_result res;
    if (st == MLOPS_OK)
        st = gates_eval(reg, &h, version, g, n, opts->baseline_alias, &report, &res);
    if (st == MLOPS_OK) {
        st = take_report(report_out, &report);
        *passed_out = res.passed ? 1 : 0;
    }
    mlops__buf_free(&report);
    mlops__registry_head_free(reg->env, &h);
    mlops__free(reg->env, g);
    return st;
}

/* ---- transitions ---- */

/* Move `version` to `stage` in h and log it; archive the others if asked. */
static mlops_status apply_transition(txn *t, int64_t version, uint32_t stage, bool archive,
                                     const char *reason)
{
    reg_head *h = t->h;
    reg_vstate *vs = head_find(h, version);
    mlops_status st = MLOPS_OK;
    if (archive && (stage == MLOPS_STAGE_STAGING || stage == MLOPS_STAGE_PRODUCTION)) {
        char why[160];
        snprintf(why, sizeof(why), "archived: version %lld moved to %s", (long long)version,
                 stage_names[stage]);
        for (size_t i = 0; i < h->n_vers && st == MLOPS_OK; i++) {
            reg_vstate *o = &h->vers[i];
            if (o->version == version || o->stage != stage)
                continue;
            st = txn_event(t, REG_EV_TRANSITION, o->version, o->stage, MLOPS_STAGE_ARCHIVED, NULL,
                           0, why);
            o->stage = MLOPS_STAGE_ARCHIVED;
            o->stage_ms = t->now_ms;
        }
    }
    if (st == MLOPS_OK)
        st = txn_event(t, REG_EV_TRANSITION, version, vs->stage, stage, NULL, 0, reason);
    vs->stage = stage;
    vs->stage_ms = t->now_ms;
    return st;
}

mlops_status mlops_registry_promote(char **report_out, mlops_registry *reg, const char *model,
                                    int64_t version, const char *stage_name,
                                    const mlops_promote_options *opts)
{
    if (report_out)
        *report_out = NULL;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    uint32_t stage = 0;
    if (st == MLOPS_OK)
        st = mlops_registry_stage_parse(&stage, stage_name);
    mlops_promote_options defaults;
    mlops_promote_options_init(&defaults, MLOPS_PROMOTE_OPTIONS_VERSION);
    if (opts == NULL)
        opts = &defaults;
    if (st == MLOPS_OK && (opts->version < 1 || opts->version > MLOPS_PROMOTE_OPTIONS_VERSION))
        st = mlops__error(MLOPS_E_VERSION, "promote options version %u is not supported",
                          opts->version);
    if (st == MLOPS_OK && opts->baseline_alias)
        st = check_alias(opts->baseline_alias);
    if (st == MLOPS_OK)
        st = check_text(opts->reason, REG_MAX_SMALL_TEXT, false, "reason");
    if (st == MLOPS_OK)
        st = check_text(opts->user, REG_MAX_SMALL_TEXT, false, "user");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    gate_spec *g = NULL;
    size_t ng = 0;
    st = gates_collect(&g, &ng, opts, reg->env);
    if (st != MLOPS_OK)
        return st;

    const mlops_env *env = reg->env;
    reg_head h0 = {0};
    mlops__buf report;
    mlops__buf_init(&report, env);
    gate_result res = {.passed = true};
    st = head_load(reg, model, &h0);
    reg_vstate *vs0 = NULL;
    if (st == MLOPS_OK && (vs0 = head_find(&h0, version)) == NULL)
        st = version_missing(&h0, version);
    if (st == MLOPS_OK && ng)
        st = gates_eval(reg, &h0, version, g, ng, opts->baseline_alias, &report, &res);
    /* The decision is kept with the version (its "blessing"), either way:
     * a refusal (or a version already in the stage) on its own, a pass in
     * the same atomic batch as the transition. */
    blessing b = {0};
    bool bless_in_txn = false;
    if (st == MLOPS_OK && ng) {
        b = (blessing){res.passed ? 1 : -1, mlops__now_ms(env), NULL, res.baseline, stage};
        st = mlops__buf_putc(&report, 0);
        if (st == MLOPS_OK) {
            report.len--;
            b.report = (const char *)report.data;
            if (res.passed && vs0->stage != stage)
                bless_in_txn = true;
            else
                st = version_edit(reg, model, version, bless_edit, &b);
        }
    }
    if (st == MLOPS_OK && !res.passed)
        st = mlops__error(MLOPS_E_CONFLICT, "gate refused promotion of '%s' version %lld to %s: %s",
                          model, (long long)version, stage_names[stage], res.first_failure);
    if (st != MLOPS_OK) {
        if (ng && (st == MLOPS_E_CONFLICT) && take_report(report_out, &report) != MLOPS_OK)
            st = mlops__nomem();
        goto out;
    }

    uint32_t cand_stage0 = vs0->stage;
    uint64_t set0 = head_stage_set(&h0, stage);
    uint64_t seq0 = h0.hist_seq;
    if (cand_stage0 == stage)
        goto out; /* already there: nothing to do */
    uint64_t rng = rng_seed(reg);
    int attempt = 0;
    for (; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        bool decided = false;
        st = head_load(reg, model, &h);
        reg_vstate *vs = NULL;
        if (st == MLOPS_OK && (vs = head_find(&h, version)) == NULL)
            st = version_missing(&h, version);
        if (st == MLOPS_OK && (vs->stage != cand_stage0 || head_stage_set(&h, stage) != set0)) {
            /* what the decision rested on changed: the other writer won */
            st = race_lost_stage(reg, &h, seq0, stage, version, cand_stage0);
            decided = true;
        }
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, opts->user);
        if (st == MLOPS_OK && bless_in_txn)
            st = txn_bless(&t, model, version, &b);
        if (st == MLOPS_OK)
            st = apply_transition(&t, version, stage, !opts->keep_existing, opts->reason);
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(env, &h);
        if (st != MLOPS_E_CONFLICT || decided)
            break;
        backoff(attempt, &rng);
    }
    if (attempt == REG_MAX_ATTEMPTS)
        st = too_busy(model, "promoting");
    if (st == MLOPS_OK && ng)
        st = take_report(report_out, &report);
out:
    mlops__buf_free(&report);
    mlops__registry_head_free(env, &h0);
    mlops__free(env, g);
    return st;
}

/* ---- aliases ---- */

static mlops_status alias_change(mlops_registry *reg, const char *model, const char *alias,
                                 int64_t version, const char *reason)
{
    /* version 0: delete the alias */
    const mlops_env *env = reg->env;
    uint64_t rng = rng_seed(reg);
    int64_t seen = -1; /* the alias's target when first read (0: unset) */
    uint64_t seq0 = 0;
    for (int attempt = 0; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        bool decided = false;
        mlops_status st = head_load(reg, model, &h);
        if (st == MLOPS_OK && version && head_find(&h, version) == NULL)
            st = version_missing(&h, version);
        reg_alias *a = st == MLOPS_OK ? head_alias(&h, alias) : NULL;
        int64_t cur = a ? a->version : 0;
        if (st == MLOPS_OK && seen < 0) {
            seen = cur;
            seq0 = h.hist_seq;
        } else if (st == MLOPS_OK && cur != seen) {
            winner_arg w = {.alias = alias};
            events_scan(reg, model, seq0 + 1, winner_cb, &w);
            if (cur)
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "alias '%s' of model '%s' was moved to version %lld by '%s' "
                                  "meanwhile; nothing was changed",
                                  alias, model, (long long)cur, w.user[0] ? w.user : "unknown");
            else
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "alias '%s' of model '%s' was removed by another writer "
                                  "meanwhile; nothing was changed",
                                  alias, model);
            decided = true;
        }
        if (st == MLOPS_OK && version == 0 && a == NULL)
            st = mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no alias '%s'", model, alias);
        if (st == MLOPS_OK && cur == version) {
            mlops__registry_head_free(env, &h);
            return MLOPS_OK; /* already there */
        }
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, NULL);
        if (st == MLOPS_OK && version == 0) {
            st = txn_event(&t, REG_EV_ALIAS_DELETE, cur, 0, 0, alias, cur, reason);
            drop_alias_at(env, &h, (size_t)(a - h.aliases));
        } else if (st == MLOPS_OK) {
            st = txn_event(&t, REG_EV_ALIAS_SET, version, 0, 0, alias, cur, reason);
            if (st == MLOPS_OK && a) {
                a->version = version;
            } else if (st == MLOPS_OK) {
                reg_alias *na = mlops__realloc(env, h.aliases, (h.n_aliases + 1) * sizeof(*na));
                if (na == NULL) {
                    st = mlops__nomem();
                } else {
                    h.aliases = na;
                    na[h.n_aliases].name = mlops__strdup(env, alias);
                    na[h.n_aliases].version = version;
                    if (na[h.n_aliases].name == NULL)
                        st = mlops__nomem();
                    else
                        h.n_aliases++;
                }
            }
        }
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(env, &h);
        if (st != MLOPS_E_CONFLICT || decided)
            return st;
        backoff(attempt, &rng);
    }
    return too_busy(model, "moving an alias");
}

mlops_status mlops_registry_set_alias(mlops_registry *reg, const char *model, const char *alias,
                                      int64_t version, const char *reason)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_alias(alias);
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st == MLOPS_OK)
        st = check_text(reason, REG_MAX_SMALL_TEXT, false, "reason");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    return alias_change(reg, model, alias, version, reason);
}

mlops_status mlops_registry_delete_alias(mlops_registry *reg, const char *model,
                                         const char *alias, const char *reason)
{
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_alias(alias);
    if (st == MLOPS_OK)
        st = check_text(reason, REG_MAX_SMALL_TEXT, false, "reason");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    return alias_change(reg, model, alias, 0, reason);
}

/* ---- rollback ---- */

typedef struct prod_list {
    const mlops_env *env;
    int64_t *v;
    size_t n, cap;
} prod_list;

static mlops_status prod_cb(const reg_event *e, void *arg)
{
    prod_list *p = arg;
    if (e->kind != REG_EV_TRANSITION || e->to_stage != MLOPS_STAGE_PRODUCTION)
        return MLOPS_OK;
    mlops_status st = mlops__reserve(p->env, (void **)&p->v, &p->cap, p->n + 1, sizeof(int64_t));
    if (st == MLOPS_OK)
        p->v[p->n++] = e->version;
    return st;
}

mlops_status mlops_registry_rollback(int64_t *version_out, mlops_registry *reg, const char *model,
                                     const char *reason)
{
    if (version_out)
        *version_out = 0;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_text(reason, REG_MAX_SMALL_TEXT, false, "reason");
    if (st == MLOPS_OK)
        st = check_writable(reg);
    if (st != MLOPS_OK)
        return st;
    const mlops_env *env = reg->env;
    uint64_t rng = rng_seed(reg);
    uint64_t set0 = 0, seq0 = 0;
    int64_t cur0 = 0;
    char why[REG_MAX_SMALL_TEXT + 64];
    snprintf(why, sizeof(why), "rollback%s%s", reason && reason[0] ? ": " : "",
             reason ? reason : "");
    for (int attempt = 0; attempt < REG_MAX_ATTEMPTS; attempt++) {
        reg_head h = {0};
        txn t = {0};
        prod_list pl = {env, NULL, 0, 0};
        bool decided = false;
        st = head_load(reg, model, &h);
        int64_t cur = 0, prev = 0;
        if (st == MLOPS_OK) {
            cur = head_stage_holder(&h, MLOPS_STAGE_PRODUCTION);
            if (attempt == 0) {
                set0 = head_stage_set(&h, MLOPS_STAGE_PRODUCTION);
                seq0 = h.hist_seq;
                cur0 = cur;
            } else if (head_stage_set(&h, MLOPS_STAGE_PRODUCTION) != set0) {
                winner_arg w = {.stage = MLOPS_STAGE_PRODUCTION};
                events_scan(reg, model, seq0 + 1, winner_cb, &w);
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "Production of model '%s' was changed by '%s' during the "
                                  "rollback (it was version %lld, now %lld); nothing was changed",
                                  model, w.user[0] ? w.user : "another writer", (long long)cur0,
                                  (long long)cur);
                decided = true;
            }
        }
        if (st == MLOPS_OK)
            st = events_scan(reg, model, 0, prod_cb, &pl);
        /* the newest earlier Production version that still exists */
        for (size_t i = pl.n; st == MLOPS_OK && i-- > 0;) {
            const reg_vstate *c = head_find(&h, pl.v[i]);
            if (pl.v[i] != cur && c && c->stage != MLOPS_STAGE_PRODUCTION) {
                prev = pl.v[i];
                break;
            }
        }
        mlops__free(env, pl.v);
        if (st == MLOPS_OK && prev == 0)
            st = mlops__error(MLOPS_E_NOTFOUND,
                              "model '%s' has no previous Production version to roll back to%s",
                              model, cur ? "" : " (and none is in Production now)");
        if (st == MLOPS_OK)
            st = txn_begin(&t, reg, &h, NULL);
        if (st == MLOPS_OK)
            st = apply_transition(&t, prev, MLOPS_STAGE_PRODUCTION, true, why);
        if (st == MLOPS_OK)
            st = txn_commit(&t);
        txn_end(&t);
        mlops__registry_head_free(env, &h);
        if (st == MLOPS_OK && version_out)
            *version_out = prev;
        if (st != MLOPS_E_CONFLICT || decided)
            return st;
        backoff(attempt, &rng);
    }
    return too_busy(model, "rolling back");
}

/* ---- URIs ---- */

typedef struct reg_uri {
    char name[MLOPS_REGISTRY_MAX_NAME + 1];
    int kind; /* 1 version, 2 stage, 3 alias, 4 latest */
    int64_t version;
    uint32_t stage;
    char alias[MLOPS_REGISTRY_MAX_ALIAS + 1];
} reg_uri;

static mlops_status uri_parse(reg_uri *u, const char *uri)
{
    memset(u, 0, sizeof(*u));
    if (uri == NULL)
        return mlops__error(MLOPS_E_INVALID, "model URI is NULL");
    if (strncmp(uri, "models:/", 8) != 0)
        return mlops__error(MLOPS_E_INVALID,
                            "model URI '%.200s' does not start with 'models:/' (use "
                            "models:/NAME/VERSION, models:/NAME/STAGE or models:/NAME@ALIAS)",
                            uri);
    const char *p = uri + 8;
    size_t n = strcspn(p, "/@");
    if (n == 0)
        return mlops__error(MLOPS_E_INVALID, "model URI '%.200s' has no model name", uri);
    if (n > MLOPS_REGISTRY_MAX_NAME)
        return mlops__error(MLOPS_E_INVALID, "model URI '%.200s': the name is too long", uri);
    memcpy(u->name, p, n);
    u->name[n] = 0;
    mlops_status st = check_name(u->name, "model");
    if (st != MLOPS_OK)
        return st;
    const char *rest = p + n;
    if (*rest == '\0')
        return mlops__error(MLOPS_E_INVALID,
                            "model URI '%.200s' names no version, stage or alias", uri);
    const char *tail = rest + 1;
    if (*rest == '@') {
        if (strnlen(tail, MLOPS_REGISTRY_MAX_ALIAS + 1) > MLOPS_REGISTRY_MAX_ALIAS)
            return mlops__error(MLOPS_E_INVALID, "model URI: the alias is too long");
        /* the alias grammar excludes '/', '@' and everything else stray */
        if (tail[0] == '\0')
            return mlops__error(MLOPS_E_INVALID, "model URI '%.200s' has an empty alias", uri);
        for (const char *q = tail; *q; q++) {
            char c = *q;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-'))
                return mlops__error(MLOPS_E_INVALID, "model URI '%.200s': bad alias '%s'", uri,
                                    tail);
        }
        u->kind = 3;
        strcpy(u->alias, tail);
        return MLOPS_OK;
    }
    if (tail[0] == '\0' || strchr(tail, '/') || strchr(tail, '@'))
        return mlops__error(MLOPS_E_INVALID,
                            "model URI '%.200s': expected one version, stage or 'latest' after "
                            "the name",
                            uri);
    if (strspn(tail, "0123456789") == strlen(tail)) {
        if (tail[0] == '0' || strlen(tail) > 18)
            return mlops__error(MLOPS_E_INVALID, "model URI '%.200s': bad version number", uri);
        u->kind = 1;
        u->version = strtoll(tail, NULL, 10);
        return MLOPS_OK;
    }
    if (strcasecmp(tail, "latest") == 0) {
        u->kind = 4;
        return MLOPS_OK;
    }
    st = mlops_registry_stage_parse(&u->stage, tail);
    if (st != MLOPS_OK)
        return mlops__error(MLOPS_E_INVALID,
                            "model URI '%.200s': '%s' is not a version number, a stage "
                            "(None, Staging, Production, Archived) or 'latest'",
                            uri, tail);
    u->kind = 2;
    return MLOPS_OK;
}

mlops_status mlops_registry_resolve(int64_t *version_out, mlops_registry *reg, const char *uri)
{
    if (version_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "resolve: NULL version_out");
    *version_out = 0;
    mlops_status st = check_reg(reg);
    reg_uri u;
    if (st == MLOPS_OK)
        st = uri_parse(&u, uri);
    if (st != MLOPS_OK)
        return st;
    uint8_t key[REG_KEY_MAX];
    size_t klen = mlops__registry_key_head(key, u.name);
    mlops_bytes b = {0};
    st = mlops_store_get(&b, NULL, reg->store, key, klen);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "registered model '%s' not found", u.name);
    if (st != MLOPS_OK)
        return st;
    int64_t v = 0, last = 0;
    st = mlops__registry_head_query(&v, &last, b.data, b.len, u.kind, u.version, u.stage,
                                    u.alias);
    mlops_bytes_free(&b);
    if (st == MLOPS_OK && v == 0) {
        if (u.kind == 1 && u.version > last)
            st = mlops__error(MLOPS_E_NOTFOUND,
                              "model '%s' has no version %lld (the latest number given is %lld)",
                              u.name, (long long)u.version, (long long)last);
        else if (u.kind == 1)
            st = mlops__error(MLOPS_E_NOTFOUND, "version %lld of model '%s' was deleted",
                              (long long)u.version, u.name);
        else if (u.kind == 2)
            st = mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no version in stage %s", u.name,
                              stage_names[u.stage]);
        else if (u.kind == 3)
            st = mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no alias '%s'", u.name, u.alias);
        else
            st = mlops__error(MLOPS_E_NOTFOUND, "model '%s' has no versions", u.name);
    }
    if (st == MLOPS_OK)
        *version_out = v;
    return st;
}

/* Replay history up to a time. */
typedef struct replay {
    const mlops_env *env;
    int64_t at_ms;
    const reg_uri *u;
    /* per version: 0 absent, else stage + 1, and when it entered it */
    reg_vstate *vers;
    size_t n, cap;
    int64_t alias_version;
    bool done;
} replay;

static reg_vstate *replay_find(replay *r, int64_t v)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->vers[i].version == v)
            return &r->vers[i];
    return NULL;
}

static mlops_status replay_cb(const reg_event *e, void *arg)
{
    replay *r = arg;
    if (e->time_ms > r->at_ms)
        return MLOPS_OK; /* later (another writer's clock may run behind: keep looking) */
    reg_vstate *s = replay_find(r, e->version);
    switch (e->kind) {
    case REG_EV_REGISTER:
        if (s == NULL) {
            mlops_status st =
                mlops__reserve(r->env, (void **)&r->vers, &r->cap, r->n + 1, sizeof(reg_vstate));
            if (st != MLOPS_OK)
                return st;
            s = &r->vers[r->n++];
            s->version = e->version;
        }
        s->stage = MLOPS_STAGE_NONE + 1;
        s->stage_ms = e->time_ms;
        break;
    case REG_EV_TRANSITION:
        if (s) {
            s->stage = e->to_stage + 1;
            s->stage_ms = e->time_ms;
        }
        break;
    case REG_EV_VERSION_DELETE:
        if (s)
            s->stage = 0;
        break;
    case REG_EV_ALIAS_SET:
        if (r->u->kind == 3 && e->alias && strcmp(e->alias, r->u->alias) == 0)
            r->alias_version = e->version;
        break;
    case REG_EV_ALIAS_DELETE:
        if (r->u->kind == 3 && e->alias && strcmp(e->alias, r->u->alias) == 0)
            r->alias_version = 0;
        break;
    default:
        break;
    }
    return MLOPS_OK;
}

mlops_status mlops_registry_resolve_at(int64_t *version_out, mlops_registry *reg, const char *uri,
                                       int64_t at_ms)
{
    if (version_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "resolve: NULL version_out");
    *version_out = 0;
    mlops_status st = check_reg(reg);
    reg_uri u;
    if (st == MLOPS_OK)
        st = uri_parse(&u, uri);
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    st = head_load(reg, u.name, &h);
    mlops__registry_head_free(reg->env, &h);
    if (st != MLOPS_OK)
        return st;
    replay r = {reg->env, at_ms, &u, NULL, 0, 0, 0, false};
    st = events_scan(reg, u.name, 0, replay_cb, &r);
    int64_t v = 0;
    if (st == MLOPS_OK) {
        if (u.kind == 1) {
            reg_vstate *s = replay_find(&r, u.version);
            if (s && s->stage)
                v = u.version;
        } else if (u.kind == 2) {
            int64_t best_ms = 0;
            for (size_t i = 0; i < r.n; i++)
                if (r.vers[i].stage == u.stage + 1 && (v == 0 || r.vers[i].stage_ms >= best_ms)) {
                    v = r.vers[i].version;
                    best_ms = r.vers[i].stage_ms;
                }
        } else if (u.kind == 3) {
            v = r.alias_version;
        } else {
            for (size_t i = 0; i < r.n; i++)
                if (r.vers[i].stage && r.vers[i].version > v)
                    v = r.vers[i].version;
        }
        if (v == 0) {
            char when[40];
            snprintf(when, sizeof(when), "%lld", (long long)at_ms);
            st = mlops__error(MLOPS_E_NOTFOUND, "'%s' matched no version at time %s ms", uri,
                              when);
        }
    }
    mlops__free(reg->env, r.vers);
    if (st == MLOPS_OK)
        *version_out = v;
    return st;
}

/* ---- simple getters ---- */

mlops_status mlops_registry_stage(uint32_t *stage_out, mlops_registry *reg, const char *model,
                                  int64_t version)
{
    if (stage_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "stage: NULL stage_out");
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    st = head_load(reg, model, &h);
    const reg_vstate *vs = NULL;
    if (st == MLOPS_OK && (vs = head_find(&h, version)) == NULL)
        st = version_missing(&h, version);
    if (st == MLOPS_OK)
        *stage_out = vs->stage;
    mlops__registry_head_free(reg->env, &h);
    return st;
}

mlops_status mlops_registry_artifact(mlops_hash128 *blob_out, uint64_t *size_out,
                                     mlops_registry *reg, const char *model, int64_t version)
{
    if (blob_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact: NULL blob_out");
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st != MLOPS_OK)
        return st;
    reg_version v = {0};
    st = version_load(reg, model, version, &v);
    if (st == MLOPS_OK) {
        *blob_out = v.blob;
        if (size_out)
            *size_out = v.size;
    }
    mlops__registry_version_free(reg->env, &v);
    return st;
}

/* ---- JSON views ---- */

static void json_gate(reg_json *j, const reg_version *v)
{
    if (v->gate_status == 0) {
        mlops__registry_json_null(j);
        return;
    }
    mlops__registry_json_obj(j);
    mlops__registry_json_key(j, "passed");
    mlops__registry_json_bool(j, v->gate_status > 0);
    mlops__registry_json_key(j, "time_ms");
    mlops__registry_json_i64(j, v->gate_ms);
    mlops__registry_json_key(j, "target_stage");
    mlops__registry_json_str(j, mlops_registry_stage_name(v->gate_stage));
    mlops__registry_json_key(j, "baseline_version");
    if (v->gate_baseline)
        mlops__registry_json_i64(j, v->gate_baseline);
    else
        mlops__registry_json_null(j);
    mlops__registry_json_key(j, "report");
    mlops__registry_json_str(j, v->gate_report);
    mlops__registry_json_obj_end(j);
}

static void json_lineage_fields(reg_json *j, const reg_version *v)
{
    mlops__registry_json_key(j, "run_id");
    mlops__registry_json_str(j, v->run_id);
    mlops__registry_json_key(j, "artifact_path");
    mlops__registry_json_str(j, v->artifact_path);
    mlops__registry_json_key(j, "source");
    if (v->run_id) {
        mlops__buf b;
        mlops__buf_init(&b, NULL);
        if (mlops__buf_printf(&b, "runs:/%s/%s", v->run_id, v->artifact_path) == MLOPS_OK &&
            mlops__buf_putc(&b, 0) == MLOPS_OK)
            mlops__registry_json_str(j, (const char *)b.data);
        else
            j->st = mlops__nomem();
        mlops__buf_free(&b);
    } else {
        char src[40 + MLOPS_HASH128_HEX_LEN];
        char hex[MLOPS_HASH128_HEX_LEN + 1];
        mlops__hex(hex, v->blob.bytes, 16);
        snprintf(src, sizeof(src), "blob:%s", hex);
        mlops__registry_json_str(j, src);
    }
    mlops__registry_json_key(j, "blob");
    mlops__registry_json_hash(j, &v->blob);
    mlops__registry_json_key(j, "size");
    mlops__registry_json_i64(j, (int64_t)v->size);
    mlops__registry_json_key(j, "code_commit");
    mlops__registry_json_str(j, v->code_commit);
    mlops__registry_json_key(j, "datasets");
    mlops__registry_json_arr(j);
    for (size_t i = 0; i < v->n_datasets; i++) {
        mlops__registry_json_obj(j);
        mlops__registry_json_key(j, "name");
        mlops__registry_json_str(j, v->datasets[i].name);
        mlops__registry_json_key(j, "hash");
        mlops__registry_json_hash(j, &v->datasets[i].hash);
        mlops__registry_json_key(j, "rows");
        mlops__registry_json_i64(j, v->datasets[i].rows);
        mlops__registry_json_obj_end(j);
    }
    mlops__registry_json_arr_end(j);
    mlops__registry_json_key(j, "feature_hashes");
    mlops__registry_json_arr(j);
    for (size_t i = 0; i < v->n_features; i++)
        mlops__registry_json_hash(j, &v->features[i]);
    mlops__registry_json_arr_end(j);
    mlops__registry_json_key(j, "eval_report");
    if (v->has_eval) {
        mlops__registry_json_obj(j);
        mlops__registry_json_key(j, "path");
        mlops__registry_json_str(j, v->eval_path);
        mlops__registry_json_key(j, "blob");
        mlops__registry_json_hash(j, &v->eval_blob);
        mlops__registry_json_obj_end(j);
    } else {
        mlops__registry_json_null(j);
    }
}

static void json_version(reg_json *j, const reg_head *h, const reg_version *v, bool lineage)
{
    const reg_vstate *vs = head_find(h, v->version);
    mlops__registry_json_obj(j);
    mlops__registry_json_key(j, "name");
    mlops__registry_json_str(j, h->name);
    mlops__registry_json_key(j, "version");
    mlops__registry_json_i64(j, v->version);
    mlops__registry_json_key(j, "stage");
    mlops__registry_json_str(j, mlops_registry_stage_name(vs ? vs->stage : 0));
    mlops__registry_json_key(j, "stage_since_ms");
    mlops__registry_json_i64(j, vs ? vs->stage_ms : 0);
    mlops__registry_json_key(j, "aliases");
    mlops__registry_json_arr(j);
    for (size_t i = 0; i < h->n_aliases; i++)
        if (h->aliases[i].version == v->version)
            mlops__registry_json_str(j, h->aliases[i].name);
    mlops__registry_json_arr_end(j);
    mlops__registry_json_key(j, "created_ms");
    mlops__registry_json_i64(j, v->created_ms);
    mlops__registry_json_key(j, "user");
    mlops__registry_json_str(j, v->user ? v->user : "");
    mlops__registry_json_key(j, "description");
    mlops__registry_json_str(j, v->description);
    if (lineage) {
        json_lineage_fields(j, v);
    } else {
        mlops__registry_json_key(j, "run_id");
        mlops__registry_json_str(j, v->run_id);
        mlops__registry_json_key(j, "artifact_path");
        mlops__registry_json_str(j, v->artifact_path);
        mlops__registry_json_key(j, "blob");
        mlops__registry_json_hash(j, &v->blob);
        mlops__registry_json_key(j, "size");
        mlops__registry_json_i64(j, (int64_t)v->size);
    }
    mlops__registry_json_key(j, "gate");
    json_gate(j, v);
    mlops__registry_json_obj_end(j);
}

static void json_model_summary(reg_json *j, const reg_head *h, bool close)
{
    mlops__registry_json_obj(j);
    mlops__registry_json_key(j, "name");
    mlops__registry_json_str(j, h->name);
    mlops__registry_json_key(j, "description");
    mlops__registry_json_str(j, h->description);
    mlops__registry_json_key(j, "created_ms");
    mlops__registry_json_i64(j, h->created_ms);
    mlops__registry_json_key(j, "updated_ms");
    mlops__registry_json_i64(j, h->updated_ms);
    mlops__registry_json_key(j, "last_version");
    mlops__registry_json_i64(j, h->last_version);
    mlops__registry_json_key(j, "version_count");
    mlops__registry_json_i64(j, (int64_t)h->n_vers);
    mlops__registry_json_key(j, "tags");
    mlops__registry_json_obj(j);
    for (size_t i = 0; i < h->n_tags; i++) {
        mlops__registry_json_key(j, h->tags[i].key);
        mlops__registry_json_str(j, h->tags[i].value);
    }
    mlops__registry_json_obj_end(j);
    mlops__registry_json_key(j, "aliases");
    mlops__registry_json_obj(j);
    for (size_t i = 0; i < h->n_aliases; i++) {
        mlops__registry_json_key(j, h->aliases[i].name);
        mlops__registry_json_i64(j, h->aliases[i].version);
    }
    mlops__registry_json_obj_end(j);
    /* MLflow's latest_versions: the newest version in each stage */
    mlops__registry_json_key(j, "latest_versions");
    mlops__registry_json_arr(j);
    for (uint32_t s = 0; s < 4; s++) {
        int64_t best = 0;
        for (size_t i = 0; i < h->n_vers; i++)
            if (h->vers[i].stage == s)
                best = h->vers[i].version;
        if (best == 0)
            continue;
        mlops__registry_json_obj(j);
        mlops__registry_json_key(j, "version");
        mlops__registry_json_i64(j, best);
        mlops__registry_json_key(j, "stage");
        mlops__registry_json_str(j, stage_names[s]);
        mlops__registry_json_obj_end(j);
    }
    mlops__registry_json_arr_end(j);
    if (close)
        mlops__registry_json_obj_end(j);
}

static mlops_status json_finish(char **json_out, mlops__buf *b, reg_json *j)
{
    if (j->st != MLOPS_OK)
        return j->st;
    *json_out = mlops__buf_take_str(b);
    return *json_out ? MLOPS_OK : mlops__nomem();
}

typedef struct vers_ctx {
    reg_json *j;
    const reg_head *h;
    const mlops_env *env;
    mlops_status st;
} vers_ctx;

static int vers_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    vers_ctx *c = payload;
    reg_version v;
    c->st = mlops__registry_version_decode(&v, c->env, value, value_len);
    if (c->st != MLOPS_OK)
        return 1;
    json_version(c->j, c->h, &v, false);
    mlops__registry_version_free(c->env, &v);
    return c->j->st != MLOPS_OK;
}

mlops_status mlops_registry_model_json(char **json_out, mlops_registry *reg, const char *name)
{
    if (json_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "model json: NULL json_out");
    *json_out = NULL;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(name, "model");
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    st = head_load(reg, name, &h);
    if (st != MLOPS_OK)
        return st;
    mlops__buf b;
    mlops__buf_init(&b, reg->env);
    reg_json j;
    mlops__registry_json_init(&j, &b);
    json_model_summary(&j, &h, false);
    mlops__registry_json_key(&j, "versions");
    mlops__registry_json_arr(&j);
    uint8_t p[REG_KEY_MAX];
    size_t pl = mlops__registry_key_prefix(p, 'v', name);
    vers_ctx c = {&j, &h, reg->env, MLOPS_OK};
    st = mlops_store_scan_prefix(reg->store, p, pl, vers_cb, &c);
    if (st == MLOPS_E_CALLBACK)
        st = c.st != MLOPS_OK ? c.st : j.st;
    mlops__registry_json_arr_end(&j);
    mlops__registry_json_obj_end(&j);
    if (st == MLOPS_OK)
        st = json_finish(json_out, &b, &j);
    mlops__buf_free(&b);
    mlops__registry_head_free(reg->env, &h);
    return st;
}

static mlops_status version_view(char **json_out, mlops_registry *reg, const char *model,
                                 int64_t version, bool lineage)
{
    if (json_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "version json: NULL json_out");
    *json_out = NULL;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st == MLOPS_OK)
        st = check_version(version);
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    reg_version v = {0};
    st = head_load(reg, model, &h);
    if (st == MLOPS_OK && head_find(&h, version) == NULL)
        st = version_missing(&h, version);
    if (st == MLOPS_OK)
        st = version_load(reg, model, version, &v);
    mlops__buf b;
    mlops__buf_init(&b, reg->env);
    if (st == MLOPS_OK) {
        reg_json j;
        mlops__registry_json_init(&j, &b);
        json_version(&j, &h, &v, lineage);
        st = json_finish(json_out, &b, &j);
    }
    mlops__buf_free(&b);
    mlops__registry_version_free(reg->env, &v);
    mlops__registry_head_free(reg->env, &h);
    return st;
}

mlops_status mlops_registry_version_json(char **json_out, mlops_registry *reg, const char *model,
                                         int64_t version)
{
    return version_view(json_out, reg, model, version, true);
}

mlops_status mlops_registry_lineage_json(char **json_out, mlops_registry *reg, const char *model,
                                         int64_t version)
{
    return version_view(json_out, reg, model, version, true);
}

static const char *const event_kinds[] = {"", "register", "transition", "alias_set",
                                          "alias_delete", "version_delete"};

typedef struct hist_ctx {
    reg_json *j;
} hist_ctx;

static mlops_status hist_cb(const reg_event *e, void *arg)
{
    reg_json *j = ((hist_ctx *)arg)->j;
    mlops__registry_json_obj(j);
    mlops__registry_json_key(j, "seq");
    mlops__registry_json_i64(j, (int64_t)e->seq);
    mlops__registry_json_key(j, "time_ms");
    mlops__registry_json_i64(j, e->time_ms);
    mlops__registry_json_key(j, "event");
    mlops__registry_json_str(j, e->kind <= REG_EV_VERSION_DELETE ? event_kinds[e->kind]
                                                                 : "unknown");
    mlops__registry_json_key(j, "version");
    mlops__registry_json_i64(j, e->version);
    if (e->kind == REG_EV_TRANSITION) {
        mlops__registry_json_key(j, "from");
        mlops__registry_json_str(j, mlops_registry_stage_name(e->from_stage));
        mlops__registry_json_key(j, "to");
        mlops__registry_json_str(j, mlops_registry_stage_name(e->to_stage));
    }
    if (e->kind == REG_EV_ALIAS_SET || e->kind == REG_EV_ALIAS_DELETE) {
        mlops__registry_json_key(j, "alias");
        mlops__registry_json_str(j, e->alias);
        mlops__registry_json_key(j, "previous_version");
        if (e->prev_version)
            mlops__registry_json_i64(j, e->prev_version);
        else
            mlops__registry_json_null(j);
    }
    mlops__registry_json_key(j, "user");
    mlops__registry_json_str(j, e->user ? e->user : "");
    mlops__registry_json_key(j, "reason");
    mlops__registry_json_str(j, e->reason ? e->reason : "");
    mlops__registry_json_obj_end(j);
    return j->st;
}

mlops_status mlops_registry_history_json(char **json_out, mlops_registry *reg, const char *model)
{
    if (json_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "history json: NULL json_out");
    *json_out = NULL;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_name(model, "model");
    if (st != MLOPS_OK)
        return st;
    reg_head h = {0};
    st = head_load(reg, model, &h);
    mlops__registry_head_free(reg->env, &h);
    if (st != MLOPS_OK)
        return st;
    mlops__buf b;
    mlops__buf_init(&b, reg->env);
    reg_json j;
    mlops__registry_json_init(&j, &b);
    mlops__registry_json_arr(&j);
    hist_ctx c = {&j};
    st = events_scan(reg, model, 0, hist_cb, &c);
    mlops__registry_json_arr_end(&j);
    if (st == MLOPS_OK)
        st = json_finish(json_out, &b, &j);
    mlops__buf_free(&b);
    return st;
}

/* ---- search ---- */

#define FILTER_MAX_TERMS 16

typedef struct filter_term {
    bool on_tag;
    char key[MLOPS_REGISTRY_MAX_TAG_KEY + 1];
    int op; /* 0 =, 1 !=, 2 LIKE, 3 ILIKE */
    char value[1024];
} filter_term;

static bool like_match(const char *pat, const char *s, bool fold)
{
    /* iterative wildcard match with backtracking to the last '%' */
    const char *star = NULL, *mark = NULL;
    while (*s) {
        char pc = *pat, sc = *s;
        if (fold) {
            pc = (char)((pc >= 'A' && pc <= 'Z') ? pc + 32 : pc);
            sc = (char)((sc >= 'A' && sc <= 'Z') ? sc + 32 : sc);
        }
        if (*pat == '%') {
            star = pat++;
            mark = s;
        } else if (*pat && (*pat == '_' || pc == sc)) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (*pat == '%')
        pat++;
    return *pat == '\0';
}

static mlops_status filter_parse(filter_term *t, size_t *n_out, const char *f)
{
    size_t n = 0;
    const char *p = skip_ws(f);
    while (*p) {
        if (n == FILTER_MAX_TERMS)
            return mlops__error(MLOPS_E_INVALID, "filter: more than %d conditions",
                                FILTER_MAX_TERMS);
        filter_term *c = &t[n];
        memset(c, 0, sizeof(*c));
        if (strncasecmp(p, "name", 4) == 0 && !isalnum((unsigned char)p[4]) && p[4] != '_' &&
            p[4] != '.') {
            p += 4;
        } else if (strncasecmp(p, "tags.", 5) == 0 || strncasecmp(p, "tag.", 4) == 0) {
            p += p[3] == '.' ? 4 : 5;
            c->on_tag = true;
            size_t k = 0;
            if (*p == '`') {
                p++;
                while (*p && *p != '`' && k < MLOPS_REGISTRY_MAX_TAG_KEY)
                    c->key[k++] = *p++;
                if (*p != '`')
                    return mlops__error(MLOPS_E_INVALID, "filter: unterminated `tag key`");
                p++;
            } else {
                while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.') &&
                       k < MLOPS_REGISTRY_MAX_TAG_KEY)
                    c->key[k++] = *p++;
            }
            if (k == 0)
                return mlops__error(MLOPS_E_INVALID, "filter: empty tag key");
            c->key[k] = 0;
        } else {
            return mlops__error(MLOPS_E_INVALID,
                                "filter: expected 'name' or 'tags.<key>' at '%.40s'", p);
        }
        p = skip_ws(p);
        if (p[0] == '!' && p[1] == '=') {
            c->op = 1;
            p += 2;
        } else if (p[0] == '=') {
            c->op = 0;
            p += 1;
        } else if (strncasecmp(p, "ilike", 5) == 0) {
            c->op = 3;
            p += 5;
        } else if (strncasecmp(p, "like", 4) == 0) {
            c->op = 2;
            p += 4;
        } else {
            return mlops__error(MLOPS_E_INVALID,
                                "filter: expected =, !=, LIKE or ILIKE at '%.40s'", p);
        }
        p = skip_ws(p);
        char q = *p;
        if (q != '\'' && q != '"')
            return mlops__error(MLOPS_E_INVALID, "filter: expected a quoted value at '%.40s'", p);
        p++;
        size_t k = 0;
        while (*p && *p != q) {
            if (k + 1 >= sizeof(c->value))
                return mlops__error(MLOPS_E_INVALID, "filter: value too long");
            c->value[k++] = *p++;
        }
        if (*p != q)
            return mlops__error(MLOPS_E_INVALID, "filter: unterminated string");
        c->value[k] = 0;
        p = skip_ws(p + 1);
        n++;
        if (*p == '\0')
            break;
        if (strncasecmp(p, "and", 3) != 0 || !(p[3] == ' ' || p[3] == '\t'))
            return mlops__error(MLOPS_E_INVALID, "filter: expected AND at '%.40s'", p);
        p = skip_ws(p + 3);
        if (*p == '\0')
            return mlops__error(MLOPS_E_INVALID, "filter: a condition must follow AND");
    }
    *n_out = n;
    return MLOPS_OK;
}

static bool filter_match(const filter_term *t, size_t n, const reg_head *h)
{
    for (size_t i = 0; i < n; i++) {
        const char *val = NULL;
        if (t[i].on_tag) {
            for (size_t k = 0; k < h->n_tags; k++)
                if (strcmp(h->tags[k].key, t[i].key) == 0)
                    val = h->tags[k].value;
            if (val == NULL)
                return false;
        } else {
            val = h->name;
        }
        bool ok;
        switch (t[i].op) {
        case 0:
            ok = strcmp(val, t[i].value) == 0;
            break;
        case 1:
            ok = strcmp(val, t[i].value) != 0;
            break;
        case 2:
            ok = like_match(t[i].value, val, false);
            break;
        default:
            ok = like_match(t[i].value, val, true);
        }
        if (!ok)
            return false;
    }
    return true;
}

typedef struct search_ctx {
    reg_json *j;
    const mlops_env *env;
    const filter_term *t;
    size_t n_terms;
    size_t max, count;
    mlops_status st;
} search_ctx;

static int search_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                     uint64_t version, void *payload)
{
    search_ctx *c = payload;
    reg_head h;
    c->st = mlops__registry_head_decode(&h, c->env, value, value_len);
    if (c->st != MLOPS_OK)
        return 1;
    if (filter_match(c->t, c->n_terms, &h)) {
        json_model_summary(c->j, &h, true);
        c->count++;
    }
    mlops__registry_head_free(c->env, &h);
    c->st = c->j->st;
    return c->st != MLOPS_OK || (c->max && c->count >= c->max);
}

mlops_status mlops_registry_search_json(char **json_out, mlops_registry *reg, const char *filter,
                                        size_t max_results)
{
    if (json_out == NULL)
        return mlops__error(MLOPS_E_INVALID, "search: NULL json_out");
    *json_out = NULL;
    mlops_status st = check_reg(reg);
    if (st == MLOPS_OK)
        st = check_text(filter, 4096, false, "filter");
    if (st != MLOPS_OK)
        return st;
    filter_term *terms = mlops__calloc(reg->env, FILTER_MAX_TERMS, sizeof(filter_term));
    if (terms == NULL)
        return mlops__nomem();
    size_t n = 0;
    if (filter)
        st = filter_parse(terms, &n, filter);
    mlops__buf b;
    mlops__buf_init(&b, reg->env);
    reg_json j;
    mlops__registry_json_init(&j, &b);
    mlops__registry_json_arr(&j);
    if (st == MLOPS_OK) {
        search_ctx c = {&j, reg->env, terms, n, max_results, 0, MLOPS_OK};
        st = mlops_store_scan_prefix(reg->store, "r/m/", 4, search_cb, &c);
        if (st == MLOPS_E_CALLBACK)
            st = c.st;
    }
    mlops__registry_json_arr_end(&j);
    if (st == MLOPS_OK)
        st = json_finish(json_out, &b, &j);
    mlops__buf_free(&b);
    mlops__free(reg->env, terms);
    return st;
}

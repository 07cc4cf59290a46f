/* SPDX-License-Identifier: MIT */
/* Experiments: created by unique name, renamed, soft-deleted and restored. */
#include <stdio.h>
#include <stdlib.h>

#include "run/run_internal.h"

#define MAX_RETRIES 64

static void key_name(runkey *k, const char *name)
{
    k->n = 0;
    mlops__run_key_lit(k, "t/n/");
    mlops__run_key_lp(k, name, strlen(name));
}

static mlops_status exp_encode(mlops__buf *out, const mlops_env *env, const mlops__exp *e)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, RUN_REC_EXPERIMENT);
    mlops__rec_put_str(&w, 1, e->name);
    mlops__rec_put_u64(&w, 2, e->lifecycle);
    mlops__rec_put_i64(&w, 3, e->created);
    mlops__rec_put_i64(&w, 4, e->updated);
    mlops__rec_put_str(&w, 5, e->id);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    *out = w.buf;
    return MLOPS_OK;
}

static mlops_status name_lookup(char **id_out, mlops_store *store, const char *name)
{
    runkey k;
    key_name(&k, name);
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, store, k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "no experiment named '%s'", name);
    if (st != MLOPS_OK)
        return st;
    const uint8_t *s;
    size_t n;
    st = mlops__run_value_decode(&s, &n, v.data, v.len);
    if (st == MLOPS_OK) {
        *id_out = mlops__strndup(mlops_store_env(store), (const char *)s, n);
        if (*id_out == NULL)
            st = mlops__nomem();
    }
    mlops_bytes_free(&v);
    return st;
}

static mlops_status put_value(mlops_batch *b, const runkey *k, const mlops_env *env,
                              const char *s)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, RUN_REC_VALUE);
    mlops__rec_put_str(&w, 1, s);
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, k->b, k->n, w.buf.data, w.buf.len);
    mlops__rec_writer_free(&w);
    return st;
}

/* Create with a given id (the default experiment "0") or the next number. */
static mlops_status exp_create(char **id_out, mlops_store *store, const char *name,
                               const char *fixed_id)
{
    mlops_env *env = mlops_store_env(store);
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, store);
    if (st != MLOPS_OK)
        return st;
    char idbuf[32];
    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        mlops_batch_clear(b);
        runkey kc = {.n = 0}, kn, ke;
        mlops__run_key_lit(&kc, "t/c/e");
        mlops_bytes cur = {0};
        uint64_t next = 1;
        if (fixed_id != NULL) {
            snprintf(idbuf, sizeof(idbuf), "%s", fixed_id);
        } else {
            st = mlops_store_get(&cur, NULL, store, kc.b, kc.n);
            if (st == MLOPS_OK) {
                mlops__rec_reader r;
                mlops__rec_field f;
                st = mlops__rec_reader_init(&r, cur.data, cur.len, 1, RUN_REC_COUNTER,
                                            "experiment counter");
                while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
                    if (f.tag == 1)
                        next = f.u;
                }
                if (st == MLOPS_E_NOTFOUND)
                    st = MLOPS_OK;
            } else if (st == MLOPS_E_NOTFOUND) {
                st = MLOPS_OK;
            }
            if (st != MLOPS_OK) {
                mlops_bytes_free(&cur);
                break;
            }
            snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)next);
            if (cur.data != NULL)
                st = mlops_batch_require_value(b, kc.b, kc.n, cur.data, cur.len);
            else
                st = mlops_batch_require_absent(b, kc.b, kc.n);
            mlops__rec_writer w;
            mlops__rec_writer_init(&w, env, 1, RUN_REC_COUNTER);
            mlops__rec_put_u64(&w, 1, next + 1);
            if (st == MLOPS_OK)
                st = mlops__rec_writer_finish(&w);
            if (st == MLOPS_OK)
                st = mlops_batch_put(b, kc.b, kc.n, w.buf.data, w.buf.len);
            mlops__rec_writer_free(&w);
            mlops_bytes_free(&cur);
            if (st != MLOPS_OK)
                break;
        }
        key_name(&kn, name);
        mlops__run_key_exp(&ke, idbuf);
        int64_t now = mlops__now_ms(env);
        mlops__exp e = {.id = idbuf, .name = (char *)name, .lifecycle = MLOPS_LIFECYCLE_ACTIVE,
                        .created = now, .updated = now};
        mlops__buf rec;
        st = exp_encode(&rec, env, &e);
        if (st != MLOPS_OK)
            break;
        st = mlops_batch_require_absent(b, kn.b, kn.n);
        if (st == MLOPS_OK)
            st = mlops_batch_require_absent(b, ke.b, ke.n);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, ke.b, ke.n, rec.data, rec.len);
        mlops__buf_free(&rec);
        if (st == MLOPS_OK)
            st = put_value(b, &kn, env, idbuf);
        if (st == MLOPS_OK)
            st = mlops_store_apply(store, b);
        if (st != MLOPS_E_CONFLICT)
            break;
        /* Lost a race: the name was taken, or another creator used the counter. */
        char *other = NULL;
        mlops_status st2 = name_lookup(&other, store, name);
        if (st2 == MLOPS_OK) {
            mlops__exp oe;
            bool deleted = mlops__run_exp_get(&oe, store, other) == MLOPS_OK &&
                           oe.lifecycle == MLOPS_LIFECYCLE_DELETED;
            mlops__run_exp_clear(&oe, env);
            st = mlops__error(MLOPS_E_EXISTS, "experiment '%s' already exists%s (id %s)", name,
                              deleted ? " in the deleted state; restore it or pick another name"
                                      : "",
                              other);
            mlops__free(env, other);
            break;
        }
        if (fixed_id != NULL) {
            st = MLOPS_OK; /* the default experiment appeared meanwhile */
            break;
        }
    }
    mlops_batch_free(b);
    if (st == MLOPS_OK && id_out != NULL) {
        *id_out = mlops__strdup(env, idbuf);
        if (*id_out == NULL)
            st = mlops__nomem();
    }
    return st;
}

mlops_status mlops_experiment_create(char **id_out, mlops_store *store, const char *name)
{
    if (id_out != NULL)
        *id_out = NULL;
    if (id_out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment_create: NULL argument");
    mlops_status st = mlops__run_check_exp_name(name);
    if (st != MLOPS_OK)
        return st;
    return exp_create(id_out, store, name, NULL);
}

mlops_status mlops_experiment_get_by_name(char **id_out, mlops_store *store, const char *name)
{
    if (id_out != NULL)
        *id_out = NULL;
    if (id_out == NULL || store == NULL || name == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment_get_by_name: NULL argument");
    return name_lookup(id_out, store, name);
}

mlops_status mlops_experiment_get_or_create(char **id_out, mlops_store *store, const char *name)
{
    if (id_out != NULL)
        *id_out = NULL;
    if (id_out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment_get_or_create: NULL argument");
    mlops_status st = mlops__run_check_exp_name(name);
    if (st != MLOPS_OK)
        return st;
    for (int attempt = 0; attempt < 4; attempt++) {
        st = name_lookup(id_out, store, name);
        if (st == MLOPS_OK) {
            mlops__exp e;
            st = mlops__run_exp_get(&e, store, *id_out);
            if (st == MLOPS_OK && e.lifecycle == MLOPS_LIFECYCLE_DELETED)
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "experiment '%s' (id %s) is deleted; restore it first", name,
                                  *id_out);
            mlops__run_exp_clear(&e, mlops_store_env(store));
            if (st != MLOPS_OK) {
                mlops__free(mlops_store_env(store), *id_out);
                *id_out = NULL;
            }
            return st;
        }
        if (st != MLOPS_E_NOTFOUND)
            return st;
        st = exp_create(id_out, store, name, NULL);
        if (st != MLOPS_E_EXISTS)
            return st;
    }
    return st;
}

mlops_status mlops__run_default_experiment(mlops_store *store)
{
    mlops__exp e;
    mlops_status st = mlops__run_exp_get(&e, store, "0");
    mlops__run_exp_clear(&e, mlops_store_env(store));
    if (st != MLOPS_E_NOTFOUND)
        return st;
    st = exp_create(NULL, store, "Default", "0");
    return st == MLOPS_E_EXISTS ? MLOPS_OK : st;
}

/* Read-modify-write of an experiment record guarded by its old bytes. */
typedef mlops_status (*exp_edit_fn)(mlops__exp *e, mlops_batch *b, mlops_store *store,
                                    const void *arg);

static mlops_status exp_edit(mlops_store *store, const char *id, exp_edit_fn edit,
                             const void *arg)
{
    if (store == NULL || id == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment: NULL argument");
    mlops_env *env = mlops_store_env(store);
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, store);
    for (int attempt = 0; st == MLOPS_OK && attempt < MAX_RETRIES; attempt++) {
        mlops_batch_clear(b);
        runkey ke;
        mlops__run_key_exp(&ke, id);
        mlops_bytes old = {0};
        st = mlops_store_get(&old, NULL, store, ke.b, ke.n);
        if (st == MLOPS_E_NOTFOUND) {
            st = mlops__error(MLOPS_E_NOTFOUND, "no experiment with id '%s'", id);
            break;
        }
        if (st != MLOPS_OK)
            break;
        mlops__exp e;
        st = mlops__run_exp_decode(&e, env, old.data, old.len);
        if (st == MLOPS_OK)
            st = mlops_batch_require_value(b, ke.b, ke.n, old.data, old.len);
        mlops_bytes_free(&old);
        if (st == MLOPS_OK)
            st = edit(&e, b, store, arg);
        mlops__buf rec = {0};
        if (st == MLOPS_OK) {
            e.updated = mlops__now_ms(env);
            st = exp_encode(&rec, env, &e);
        }
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, ke.b, ke.n, rec.data, rec.len);
        mlops__buf_free(&rec);
        bool applied = false;
        if (st == MLOPS_OK) {
            st = mlops_store_apply(store, b);
            applied = true;
        }
        mlops__run_exp_clear(&e, env);
        if (!applied || st != MLOPS_E_CONFLICT)
            break;
    }
    mlops_batch_free(b);
    return st;
}

static mlops_status edit_rename(mlops__exp *e, mlops_batch *b, mlops_store *store,
                                const void *arg)
{
    const char *new_name = arg;
    if (strcmp(e->name, new_name) == 0)
        return MLOPS_OK;
    runkey kold, knew;
    key_name(&kold, e->name);
    key_name(&knew, new_name);
    char *other = NULL;
    mlops_status st = name_lookup(&other, store, new_name);
    if (st == MLOPS_OK) {
        st = mlops__error(MLOPS_E_EXISTS, "cannot rename experiment %s to '%s': experiment %s "
                          "already has that name", e->id, new_name, other);
        mlops__free(mlops_store_env(store), other);
        return st;
    }
    if (st != MLOPS_E_NOTFOUND)
        return st;
    st = mlops_batch_require_absent(b, knew.b, knew.n);
    if (st == MLOPS_OK)
        st = mlops_batch_delete(b, kold.b, kold.n);
    if (st == MLOPS_OK)
        st = put_value(b, &knew, mlops_store_env(store), e->id);
    if (st != MLOPS_OK)
        return st;
    char *nn = mlops__strdup(mlops_store_env(store), new_name);
    if (nn == NULL)
        return mlops__nomem();
    mlops__free(mlops_store_env(store), e->name);
    e->name = nn;
    return MLOPS_OK;
}

static mlops_status edit_delete(mlops__exp *e, mlops_batch *b, mlops_store *store,
                                const void *arg)
{
    (void)b;
    (void)store;
    (void)arg;
    if (strcmp(e->id, "0") == 0)
        return mlops__error(MLOPS_E_CONFLICT, "the default experiment (id 0) cannot be deleted");
    if (e->lifecycle == MLOPS_LIFECYCLE_DELETED)
        return mlops__error(MLOPS_E_CONFLICT, "experiment %s ('%s') is already deleted", e->id,
                            e->name);
    e->lifecycle = MLOPS_LIFECYCLE_DELETED;
    return MLOPS_OK;
}

static mlops_status edit_restore(mlops__exp *e, mlops_batch *b, mlops_store *store,
                                 const void *arg)
{
    (void)b;
    (void)store;
    (void)arg;
    if (e->lifecycle != MLOPS_LIFECYCLE_DELETED)
        return mlops__error(MLOPS_E_CONFLICT, "experiment %s ('%s') is not deleted", e->id,
                            e->name);
    e->lifecycle = MLOPS_LIFECYCLE_ACTIVE;
    return MLOPS_OK;
}

mlops_status mlops_experiment_rename(mlops_store *store, const char *id, const char *new_name)
{
    mlops_status st = mlops__run_check_exp_name(new_name);
    if (st != MLOPS_OK)
        return st;
    return exp_edit(store, id, edit_rename, new_name);
}

mlops_status mlops_experiment_delete(mlops_store *store, const char *id)
{
    return exp_edit(store, id, edit_delete, NULL);
}

mlops_status mlops_experiment_restore(mlops_store *store, const char *id)
{
    return exp_edit(store, id, edit_restore, NULL);
}

/* ---- listing ---- */

struct mlops_experiment_list {
    mlops_env *env;
    mlops__exp *items;
    size_t n, cap;
    uint32_t view;
    mlops_status st;
};

static int list_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)key;
    (void)key_len;
    (void)version;
    mlops_experiment_list *l = payload;
    mlops__exp e;
    l->st = mlops__run_exp_decode(&e, l->env, value, value_len);
    if (l->st != MLOPS_OK)
        return 1;
    bool want = l->view == MLOPS_VIEW_ALL ||
                (l->view == MLOPS_VIEW_ACTIVE && e.lifecycle == MLOPS_LIFECYCLE_ACTIVE) ||
                (l->view == MLOPS_VIEW_DELETED && e.lifecycle == MLOPS_LIFECYCLE_DELETED);
    if (!want) {
        mlops__run_exp_clear(&e, l->env);
        return 0;
    }
    l->st = mlops__reserve(l->env, (void **)&l->items, &l->cap, l->n + 1, sizeof(mlops__exp));
    if (l->st != MLOPS_OK) {
        mlops__run_exp_clear(&e, l->env);
        return 1;
    }
    l->items[l->n++] = e;
    return 0;
}

static int exp_id_cmp(const void *a, const void *b)
{
    const mlops__exp *x = a, *y = b;
    size_t lx = strlen(x->id), ly = strlen(y->id);
    if (lx != ly)
        return lx < ly ? -1 : 1; /* numeric ids: shorter is smaller */
    return strcmp(x->id, y->id);
}

mlops_status mlops_experiment_list_open(mlops_experiment_list **out, mlops_store *store,
                                        uint32_t view)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "experiment_list_open: NULL argument");
    if (view == 0)
        view = MLOPS_VIEW_ACTIVE;
    if (view > MLOPS_VIEW_ALL)
        return mlops__error(MLOPS_E_INVALID, "view %u is not one of MLOPS_VIEW_*", view);
    mlops_env *env = mlops_store_env(store);
    mlops_experiment_list *l = mlops__calloc(env, 1, sizeof(*l));
    if (l == NULL)
        return mlops__nomem();
    l->env = mlops__env_ref(env);
    l->view = view;
    mlops_status st = mlops_store_scan_prefix(store, "t/e/", 4, list_cb, l);
    if (st == MLOPS_E_CALLBACK)
        st = l->st;
    if (st != MLOPS_OK) {
        mlops_experiment_list_free(l);
        return st;
    }
    if (l->n > 1)
        qsort(l->items, l->n, sizeof(mlops__exp), exp_id_cmp);
    *out = l;
    return MLOPS_OK;
}

size_t mlops_experiment_list_count(const mlops_experiment_list *list)
{
    return list ? list->n : 0;
}

const char *mlops_experiment_list_id(const mlops_experiment_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].id : NULL;
}

const char *mlops_experiment_list_name(const mlops_experiment_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].name : NULL;
}

uint32_t mlops_experiment_list_lifecycle(const mlops_experiment_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].lifecycle : 0;
}

int64_t mlops_experiment_list_creation_time(const mlops_experiment_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].created : 0;
}

int64_t mlops_experiment_list_last_update_time(const mlops_experiment_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].updated : 0;
}

void mlops_experiment_list_free(mlops_experiment_list *list)
{
    if (list == NULL)
        return;
    mlops_env *env = list->env;
    for (size_t i = 0; i < list->n; i++)
        mlops__run_exp_clear(&list->items[i], env);
    mlops__free(env, list->items);
    mlops__free(env, list);
    mlops__env_unref(env);
}

mlops_status mlops__run_default_experiment_id(char **id_out, mlops_store *store)
{
    mlops_status st = mlops__run_default_experiment(store);
    if (st != MLOPS_OK)
        return st;
    *id_out = mlops__strdup(mlops_store_env(store), "0");
    return *id_out ? MLOPS_OK : mlops__nomem();
}

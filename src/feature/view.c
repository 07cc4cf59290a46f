/* SPDX-License-Identifier: MIT */
/* Feature store handle, view definitions (versioned by hash), offline
 * segments (ingest) and the decoded-data cache used by joins.
 *
 * Keys (names length-prefixed, so no user name can reach another key):
 *   f/v/<lp view>             current definition
 *   f/d/<lp view><u32be N>    definition version N (immutable)
 *   f/s/<lp view><u64be seq>  segment index record -> blob
 *   f/m/<lp view>             last materialized end
 *   f/o/<lp view><entity key> online value (in the online store)
 */
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "feature/feature_internal.h"

#define REC_DEF 1
#define REC_FEAT 2
#define REC_SEG 3
#define REC_COL 4
#define REC_SEGIDX 5
#define SEG_ROWS 262144
#define SEG_MAX_RAW (32u * 1024u * 1024u)
#define SEG_MAGIC "MLFSEG\x01"

size_t mlops__fkey(uint8_t *out, char kind, const char *name)
{
    size_t n = strlen(name);
    out[0] = 'f';
    out[1] = '/';
    out[2] = (uint8_t)kind;
    out[3] = '/';
    size_t k = 4 + mlops__varint_put(out + 4, n);
    memcpy(out + k, name, n);
    return k + n;
}

static bool valid_name(const char *s, bool allow_colon_free)
{
    (void)allow_colon_free;
    if (s == NULL || s[0] == '\0')
        return false;
    size_t n = strlen(s);
    if (n > MLOPS_FEATURE_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* ---- the handle ---- */

mlops_status mlops_feature_store_open(mlops_feature_store **out, mlops_store *store)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (store == NULL)
        return mlops__error(MLOPS_E_INVALID, "store is NULL");
    mlops_env *env = mlops_store_env(store);
    mlops_feature_store *fs = mlops__calloc(env, 1, sizeof(*fs));
    if (fs == NULL)
        return mlops__nomem();
    if (pthread_mutex_init(&fs->mu, NULL) != 0) {
        mlops__free(env, fs);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create a mutex");
    }
    atomic_init(&fs->refs, 1);
    fs->store = mlops__store_ref(store);
    fs->env = env;
    *out = fs;
    return MLOPS_OK;
}

mlops_feature_store *mlops__fstore_ref(mlops_feature_store *fs)
{
    atomic_fetch_add(&fs->refs, 1);
    return fs;
}

void mlops_feature_store_close(mlops_feature_store *fs)
{
    if (fs == NULL || atomic_fetch_sub(&fs->refs, 1) != 1)
        return;
    const mlops_env *env = fs->env;
    for (size_t i = 0; i < fs->n_fns; i++)
        mlops__free(env, fs->fns[i].name);
    mlops__free(env, fs->fns);
    for (size_t i = 0; i < fs->n_cache; i++) {
        mlops__free(env, fs->cache[i].view);
        mlops__fdata_unref(env, fs->cache[i].data);
    }
    mlops__free(env, fs->cache);
    pthread_mutex_destroy(&fs->mu);
    mlops_store *store = fs->store;
    mlops__free(env, fs);
    mlops__store_unref(store);
}

mlops_status mlops_feature_store_register(mlops_feature_store *fs, const char *name,
                                          mlops_feature_fn fn, void *payload)
{
    if (fs == NULL || !valid_name(name, true))
        return mlops__error(MLOPS_E_INVALID, "bad function name '%s'", name ? name : "(null)");
    mlops_status st = MLOPS_OK;
    pthread_mutex_lock(&fs->mu);
    size_t i = 0;
    for (; i < fs->n_fns; i++)
        if (strcmp(fs->fns[i].name, name) == 0)
            break;
    if (i < fs->n_fns) {
        if (fn == NULL) {
            mlops__free(fs->env, fs->fns[i].name);
            fs->fns[i] = fs->fns[--fs->n_fns];
        } else {
            fs->fns[i].fn = fn;
            fs->fns[i].payload = payload;
        }
    } else if (fn != NULL) {
        mlops__ffn *n = mlops__realloc(fs->env, fs->fns, (fs->n_fns + 1) * sizeof(*n));
        char *nm = mlops__strdup(fs->env, name);
        if (n == NULL || nm == NULL) {
            if (n)
                fs->fns = n;
            mlops__free(fs->env, nm);
            st = mlops__nomem();
        } else {
            fs->fns = n;
            fs->fns[fs->n_fns++] = (mlops__ffn){nm, fn, payload};
        }
    }
    pthread_mutex_unlock(&fs->mu);
    return st;
}

bool mlops__ffn_find(mlops_feature_store *fs, const char *name, mlops_feature_fn *fn,
                     void **payload)
{
    bool found = false;
    pthread_mutex_lock(&fs->mu);
    for (size_t i = 0; i < fs->n_fns; i++)
        if (strcmp(fs->fns[i].name, name) == 0) {
            *fn = fs->fns[i].fn;
            *payload = fs->fns[i].payload;
            found = true;
        }
    pthread_mutex_unlock(&fs->mu);
    return found;
}

mlops_status mlops_feature_view_options_init(mlops_feature_view_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_FEATURE_VIEW_OPTIONS_VERSION,
                               "feature view options");
}

mlops_status mlops_feature_join_options_init(mlops_feature_join_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_FEATURE_JOIN_OPTIONS_VERSION,
                               "feature join options");
}

/* ---- definitions ---- */

void mlops__fdef_free(const mlops_env *env, mlops__fdef *d)
{
    if (d == NULL)
        return;
    mlops__free(env, d->name);
    mlops__free(env, d->entity);
    for (size_t i = 0; i < d->n_keys; i++)
        mlops__free(env, d->keys[i]);
    mlops__free(env, d->ts);
    mlops__free(env, d->created);
    for (size_t i = 0; i < d->n_features; i++) {
        mlops__free(env, d->features[i].name);
        mlops__free(env, d->features[i].inputs);
        mlops__free(env, d->features[i].params);
        mlops__free(env, d->features[i].function);
    }
    mlops__free(env, d->features);
    mlops__free(env, d->description);
    mlops__free(env, d->tags);
    mlops__free(env, d);
}

int mlops__fdef_feature_index(const mlops__fdef *d, const char *name)
{
    for (size_t i = 0; i < d->n_features; i++)
        if (strcmp(d->features[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool numeric_type(uint32_t t)
{
    return t == MLOPS_FEATURE_INT64 || t == MLOPS_FEATURE_FLOAT64 || t == MLOPS_FEATURE_BOOL;
}

mlops_status mlops__fdef_resolve(mlops__fdef *d)
{
    for (size_t i = 0; i < d->n_features; i++) {
        mlops__fdef_feature *f = &d->features[i];
        f->n_in = 0;
        if (f->transform == MLOPS_TRANSFORM_NONE)
            continue;
        const char *p = f->inputs ? f->inputs : "";
        while (*p) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            char nm[MLOPS_FEATURE_MAX_NAME + 1];
            if (n == 0 || n > MLOPS_FEATURE_MAX_NAME || f->n_in >= 8)
                return mlops__error(MLOPS_E_INVALID,
                                    "feature '%s': inputs '%s' must be 1 to 8 names", f->name,
                                    f->inputs);
            memcpy(nm, p, n);
            nm[n] = 0;
            int k = mlops__fdef_feature_index(d, nm);
            if (k < 0 || d->features[k].transform != MLOPS_TRANSFORM_NONE ||
                !numeric_type(d->features[k].type))
                return mlops__error(MLOPS_E_INVALID,
                                    "feature '%s': input '%s' is not a numeric ingested feature "
                                    "of view '%s'",
                                    f->name, nm, d->name);
            f->in_idx[f->n_in++] = k;
            p += n;
            if (*p == ',')
                p++;
        }
        int want = f->transform == MLOPS_TRANSFORM_RATIO      ? 2
                   : f->transform == MLOPS_TRANSFORM_FUNCTION ? -1
                                                              : 1;
        if ((want > 0 && f->n_in != want) || f->n_in == 0)
            return mlops__error(MLOPS_E_INVALID, "feature '%s': its transformation takes %d inputs",
                                f->name, want > 0 ? want : 1);
    }
    return MLOPS_OK;
}

static char *dup_or_null(const mlops_env *env, const char *s, bool *nomem)
{
    if (s == NULL)
        return NULL;
    char *r = mlops__strdup(env, s);
    if (r == NULL)
        *nomem = true;
    return r;
}

/* Build a definition from options, validating everything. */
static mlops_status def_from_opts(mlops__fdef **out, const mlops_env *env, const char *name,
                                  const mlops_feature_view_options *o)
{
    *out = NULL;
    if (!valid_name(name, true))
        return mlops__error(MLOPS_E_INVALID,
                            "view name '%s' must be 1 to %d bytes of letters, digits, '_', '-', "
                            "'.'",
                            name ? name : "(null)", MLOPS_FEATURE_MAX_NAME);
    if (o == NULL)
        return mlops__error(MLOPS_E_INVALID, "view '%s': options are NULL", name);
    if (o->version < 1 || o->version > MLOPS_FEATURE_VIEW_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "feature view options version %u is not 1..%d",
                            o->version, MLOPS_FEATURE_VIEW_OPTIONS_VERSION);
    if (o->n_join_keys < 1 || o->n_join_keys > MLOPS_FEATURE_MAX_KEYS || o->join_keys == NULL)
        return mlops__error(MLOPS_E_INVALID, "view '%s': 1 to %d join keys are needed", name,
                            MLOPS_FEATURE_MAX_KEYS);
    if (o->n_features < 1 || o->n_features > MLOPS_FEATURE_MAX_FEATURES || o->features == NULL)
        return mlops__error(MLOPS_E_INVALID, "view '%s': 1 to %d features are needed", name,
                            MLOPS_FEATURE_MAX_FEATURES);
    if (o->ttl_us < 0)
        return mlops__error(MLOPS_E_INVALID, "view '%s': ttl %lld is negative", name,
                            (long long)o->ttl_us);
    mlops__fdef *d = mlops__calloc(env, 1, sizeof(*d));
    if (d == NULL)
        return mlops__nomem();
    mlops_status st = MLOPS_OK;
    bool nomem = false;
    d->name = dup_or_null(env, name, &nomem);
    d->ts = dup_or_null(env, o->timestamp ? o->timestamp : "event_timestamp", &nomem);
    d->created = dup_or_null(env, o->created, &nomem);
    d->ttl_us = o->ttl_us;
    d->description = dup_or_null(env, o->description, &nomem);
    d->tags = dup_or_null(env, o->tags, &nomem);
    d->n_keys = o->n_join_keys;
    mlops__buf ent;
    mlops__buf_init(&ent, env);
    for (size_t i = 0; i < o->n_join_keys; i++) {
        d->keys[i] = dup_or_null(env, o->join_keys[i], &nomem);
        d->key_types[i] = o->key_types ? o->key_types[i] : MLOPS_FEATURE_INT64;
        if (i)
            mlops__buf_putc(&ent, ',');
        if (o->join_keys[i])
            mlops__buf_append(&ent, o->join_keys[i], strlen(o->join_keys[i]));
    }
    d->entity = o->entity ? dup_or_null(env, o->entity, &nomem) : mlops__buf_take_str(&ent);
    mlops__buf_free(&ent);
    if (d->entity == NULL)
        nomem = true;
    d->features = mlops__calloc(env, o->n_features, sizeof(*d->features));
    if (d->features == NULL)
        nomem = true;
    else {
        d->n_features = o->n_features;
        for (size_t i = 0; i < o->n_features; i++) {
            const mlops_feature_spec *s = &o->features[i];
            mlops__fdef_feature *f = &d->features[i];
            f->name = dup_or_null(env, s->name, &nomem);
            f->type = s->type;
            f->dim = s->dim;
            f->transform = s->transform;
            f->inputs = dup_or_null(env, s->inputs, &nomem);
            f->function = dup_or_null(env, s->function, &nomem);
            if (s->n_params > 64) {
                st = mlops__error(MLOPS_E_INVALID, "feature '%s': at most 64 params", s->name);
                goto fail;
            }
            if (s->n_params) {
                if (s->params == NULL) {
                    st = mlops__error(MLOPS_E_INVALID, "feature '%s': params are NULL",
                                      s->name ? s->name : "");
                    goto fail;
                }
                f->params = mlops__calloc(env, s->n_params, sizeof(double));
                if (f->params == NULL)
                    nomem = true;
                else
                    memcpy(f->params, s->params, s->n_params * sizeof(double));
                f->n_params = s->n_params;
            }
        }
    }
    if (nomem) {
        st = mlops__nomem();
        goto fail;
    }
    /* names: valid and distinct across keys, timestamps and features */
    const char *names[MLOPS_FEATURE_MAX_KEYS + 2 + MLOPS_FEATURE_MAX_FEATURES];
    size_t nn = 0;
    for (size_t i = 0; i < d->n_keys; i++) {
        if (d->key_types[i] != MLOPS_FEATURE_INT64 && d->key_types[i] != MLOPS_FEATURE_STRING) {
            st = mlops__error(MLOPS_E_INVALID, "view '%s': join key '%s' must be int64 or string",
                              name, d->keys[i] ? d->keys[i] : "");
            goto fail;
        }
        names[nn++] = d->keys[i];
    }
    names[nn++] = d->ts;
    if (d->created)
        names[nn++] = d->created;
    for (size_t i = 0; i < d->n_features; i++)
        names[nn++] = d->features[i].name;
    for (size_t i = 0; i < nn; i++) {
        if (!valid_name(names[i], true)) {
            st = mlops__error(MLOPS_E_INVALID,
                              "view '%s': column name '%s' must be 1 to %d bytes of letters, "
                              "digits, '_', '-', '.'",
                              name, names[i] ? names[i] : "(null)", MLOPS_FEATURE_MAX_NAME);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                st = mlops__error(MLOPS_E_INVALID, "view '%s': column name '%s' is used twice",
                                  name, names[i]);
                goto fail;
            }
    }
    for (size_t i = 0; i < d->n_features; i++) {
        mlops__fdef_feature *f = &d->features[i];
        if (f->transform > MLOPS_TRANSFORM_FUNCTION) {
            st = mlops__error(MLOPS_E_INVALID, "feature '%s': unknown transformation %u", f->name,
                              f->transform);
            goto fail;
        }
        if (f->transform != MLOPS_TRANSFORM_NONE) {
            uint32_t want = f->transform == MLOPS_TRANSFORM_BUCKETIZE ? MLOPS_FEATURE_INT64
                                                                      : MLOPS_FEATURE_FLOAT64;
            if (f->type == 0)
                f->type = want;
            if (f->type != want) {
                st = mlops__error(MLOPS_E_INVALID, "feature '%s': an on-demand feature of this "
                                  "kind is %s", f->name, mlops__ftype_name(want));
                goto fail;
            }
            if (f->transform == MLOPS_TRANSFORM_BUCKETIZE) {
                bool sorted = f->n_params >= 1;
                for (size_t k = 1; k < f->n_params; k++)
                    if (!(f->params[k - 1] < f->params[k]))
                        sorted = false;
                if (!sorted) {
                    st = mlops__error(MLOPS_E_INVALID,
                                      "feature '%s': bucketize needs increasing boundaries",
                                      f->name);
                    goto fail;
                }
            }
            if (f->transform == MLOPS_TRANSFORM_STANDARDIZE &&
                (f->n_params != 2 || !(f->params[1] > 0))) {
                st = mlops__error(MLOPS_E_INVALID,
                                  "feature '%s': standardize needs params mean and std > 0",
                                  f->name);
                goto fail;
            }
            if (f->transform == MLOPS_TRANSFORM_FUNCTION && !valid_name(f->function, true)) {
                st = mlops__error(MLOPS_E_INVALID, "feature '%s': the function name is missing",
                                  f->name);
                goto fail;
            }
        }
        if (f->type < MLOPS_FEATURE_INT64 || f->type > MLOPS_FEATURE_FLOAT32_VECTOR ||
            (f->type == MLOPS_FEATURE_FLOAT32_VECTOR) != (f->dim != 0) || f->dim > 65536) {
            st = mlops__error(MLOPS_E_INVALID, "feature '%s': bad type %u / dim %u", f->name,
                              f->type, f->dim);
            goto fail;
        }
    }
    st = mlops__fdef_resolve(d);
    if (st != MLOPS_OK)
        goto fail;
    *out = d;
    return MLOPS_OK;
fail:
    mlops__fdef_free(env, d);
    return st;
}

/* Encode the schema part (hashed) or the whole definition. */
static mlops_status def_encode(mlops__buf *out, const mlops_env *env, const mlops__fdef *d,
                               bool schema_only)
{
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, REC_DEF);
    mlops__rec_put_str(&w, 1, d->name);
    if (!schema_only) {
        mlops__rec_put_u64(&w, 2, d->version);
        mlops__rec_put_u64(&w, 3, d->hash);
    }
    mlops__rec_put_str(&w, 4, d->entity);
    for (size_t i = 0; i < d->n_keys; i++) {
        mlops__rec_put_str(&w, 5, d->keys[i]);
        mlops__rec_put_u64(&w, 6, d->key_types[i]);
    }
    mlops__rec_put_str(&w, 7, d->ts);
    mlops__rec_put_str(&w, 8, d->created);
    mlops__rec_put_i64(&w, 9, d->ttl_us);
    for (size_t i = 0; i < d->n_features; i++) {
        const mlops__fdef_feature *f = &d->features[i];
        mlops__rec_writer fw;
        mlops__rec_writer_init(&fw, env, 1, REC_FEAT);
        mlops__rec_put_str(&fw, 1, f->name);
        mlops__rec_put_u64(&fw, 2, f->type);
        mlops__rec_put_u64(&fw, 3, f->dim);
        mlops__rec_put_u64(&fw, 4, f->transform);
        mlops__rec_put_str(&fw, 5, f->inputs);
        for (size_t k = 0; k < f->n_params; k++)
            mlops__rec_put_f64(&fw, 6, f->params[k]);
        mlops__rec_put_str(&fw, 7, f->function);
        mlops_status st = mlops__rec_writer_finish(&fw);
        if (st == MLOPS_OK)
            mlops__rec_put_bytes(&w, 10, fw.buf.data, fw.buf.len);
        else
            w.st = st;
        mlops__rec_writer_free(&fw);
    }
    if (!schema_only) {
        mlops__rec_put_str(&w, 11, d->description);
        mlops__rec_put_str(&w, 12, d->tags);
        mlops__rec_put_i64(&w, 13, d->created_ms);
    }
    mlops_status st = mlops__rec_writer_finish(&w);
    if (st == MLOPS_OK) {
        *out = w.buf;
        return MLOPS_OK;
    }
    mlops__rec_writer_free(&w);
    return st;
}

static mlops_status def_decode(mlops__fdef **out, const mlops_env *env, const uint8_t *p,
                               size_t n)
{
    *out = NULL;
    mlops__rec_reader r;
    mlops_status st = mlops__rec_reader_init(&r, p, n, 1, REC_DEF, "feature view definition");
    if (st != MLOPS_OK)
        return st;
    mlops__fdef *d = mlops__calloc(env, 1, sizeof(*d));
    if (d == NULL)
        return mlops__nomem();
    size_t fcap = 0;
    bool nomem = false;
    mlops__rec_field f;
    while ((st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        switch (f.tag) {
        case 1:
            mlops__free(env, d->name);
            if ((d->name = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 2:
            d->version = (uint32_t)f.u;
            break;
        case 3:
            d->hash = f.u;
            break;
        case 4:
            mlops__free(env, d->entity);
            if ((d->entity = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 5:
            if (d->n_keys >= MLOPS_FEATURE_MAX_KEYS) {
                st = MLOPS_E_CORRUPT;
                goto fail;
            }
            if ((d->keys[d->n_keys++] = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 6:
            if (d->n_keys > 0)
                d->key_types[d->n_keys - 1] = (uint32_t)f.u;
            break;
        case 7:
            mlops__free(env, d->ts);
            if ((d->ts = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 8:
            mlops__free(env, d->created);
            if ((d->created = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 9:
            d->ttl_us = mlops__rec_as_i64(&f);
            break;
        case 10: {
            if (mlops__reserve(env, (void **)&d->features, &fcap, d->n_features + 1,
                               sizeof(*d->features)) != MLOPS_OK) {
                nomem = true;
                break;
            }
            mlops__fdef_feature *ft = &d->features[d->n_features++];
            memset(ft, 0, sizeof(*ft));
            mlops__rec_reader fr;
            st = mlops__rec_reader_init(&fr, f.p, f.n, 1, REC_FEAT, "feature definition");
            if (st != MLOPS_OK)
                goto fail;
            mlops__rec_field g;
            size_t pcap = 0;
            while ((st = mlops__rec_next(&fr, &g)) == MLOPS_OK) {
                if (g.tag == 1 && ft->name == NULL)
                    nomem |= (ft->name = mlops__rec_as_str(env, &g)) == NULL;
                else if (g.tag == 2)
                    ft->type = (uint32_t)g.u;
                else if (g.tag == 3)
                    ft->dim = (uint32_t)g.u;
                else if (g.tag == 4)
                    ft->transform = (uint32_t)g.u;
                else if (g.tag == 5 && ft->inputs == NULL)
                    nomem |= (ft->inputs = mlops__rec_as_str(env, &g)) == NULL;
                else if (g.tag == 6) {
                    if (mlops__reserve(env, (void **)&ft->params, &pcap, ft->n_params + 1,
                                       sizeof(double)) != MLOPS_OK)
                        nomem = true;
                    else
                        ft->params[ft->n_params++] = mlops__rec_as_f64(&g);
                } else if (g.tag == 7 && ft->function == NULL)
                    nomem |= (ft->function = mlops__rec_as_str(env, &g)) == NULL;
            }
            if (st != MLOPS_E_NOTFOUND)
                goto fail;
            if (nomem) {
                st = mlops__nomem();
                goto fail;
            }
            if (ft->name == NULL) {
                st = mlops__error(MLOPS_E_CORRUPT, "feature definition without a name");
                goto fail;
            }
            break;
        }
        case 11:
            mlops__free(env, d->description);
            if ((d->description = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 12:
            mlops__free(env, d->tags);
            if ((d->tags = mlops__rec_as_str(env, &f)) == NULL)
                nomem = true;
            break;
        case 13:
            d->created_ms = mlops__rec_as_i64(&f);
            break;
        default:
            break;
        }
        if (nomem)
            break;
    }
    if (nomem) {
        st = mlops__nomem();
        goto fail;
    }
    if (st != MLOPS_E_NOTFOUND)
        goto fail;
    if (d->name == NULL || d->ts == NULL || d->entity == NULL || d->n_keys == 0 ||
        d->n_features == 0) {
        st = mlops__error(MLOPS_E_CORRUPT, "feature view definition is incomplete");
        goto fail;
    }
    /* the rules mlops_feature_view_apply() enforces: the readers size and
     * read columns by these types */
    for (size_t i = 0; i < d->n_keys; i++)
        if (d->key_types[i] != MLOPS_FEATURE_INT64 && d->key_types[i] != MLOPS_FEATURE_STRING) {
            st = mlops__error(MLOPS_E_CORRUPT,
                              "feature view '%s': join key '%s' has type %u (int64 or string "
                              "expected)",
                              d->name, d->keys[i], d->key_types[i]);
            goto fail;
        }
    for (size_t i = 0; i < d->n_features; i++) {
        const mlops__fdef_feature *ft = &d->features[i];
        if (ft->type < MLOPS_FEATURE_INT64 || ft->type > MLOPS_FEATURE_FLOAT32_VECTOR ||
            (ft->type == MLOPS_FEATURE_FLOAT32_VECTOR) != (ft->dim != 0) || ft->dim > 65536 ||
            ft->transform > MLOPS_TRANSFORM_FUNCTION ||
            (ft->transform != MLOPS_TRANSFORM_NONE &&
             ft->type != (ft->transform == MLOPS_TRANSFORM_BUCKETIZE ? MLOPS_FEATURE_INT64
                                                                     : MLOPS_FEATURE_FLOAT64))) {
            st = mlops__error(MLOPS_E_CORRUPT,
                              "feature view '%s': feature '%s' has type %u / dim %u / "
                              "transformation %u",
                              d->name, ft->name, ft->type, ft->dim, ft->transform);
            goto fail;
        }
    }
    st = mlops__fdef_resolve(d);
    if (st != MLOPS_OK) {
        st = MLOPS_E_CORRUPT;
        goto fail;
    }
    *out = d;
    return MLOPS_OK;
fail:
    if (st == MLOPS_E_CORRUPT && mlops_error_status() != MLOPS_E_CORRUPT)
        mlops__error(MLOPS_E_CORRUPT, "feature view definition does not decode");
    mlops__fdef_free(env, d);
    return st;
}

static uint64_t def_hash(const mlops_env *env, const mlops__fdef *d, mlops_status *st)
{
    mlops__buf b;
    *st = def_encode(&b, env, d, true);
    if (*st != MLOPS_OK)
        return 0;
    uint64_t h = mlops__xxh3_64(b.data, b.len, 0);
    mlops__buf_free(&b);
    return h;
}

mlops_status mlops__fdef_load(mlops__fdef **out, uint64_t *store_ver, mlops_feature_store *fs,
                              const char *name, uint32_t version)
{
    *out = NULL;
    uint8_t key[160];
    size_t klen = mlops__fkey(key, version ? 'd' : 'v', name);
    if (version) {
        mlops__put_u32le(key + klen, 0);
        key[klen] = (uint8_t)(version >> 24);
        key[klen + 1] = (uint8_t)(version >> 16);
        key[klen + 2] = (uint8_t)(version >> 8);
        key[klen + 3] = (uint8_t)version;
        klen += 4;
    }
    mlops_bytes v;
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&v, &ver, fs->store, key, klen);
    if (st == MLOPS_E_NOTFOUND) {
        if (version)
            return mlops__error(MLOPS_E_NOTFOUND, "feature view '%s' has no version %u", name,
                                version);
        return mlops__error(MLOPS_E_NOTFOUND, "no feature view '%s'", name);
    }
    if (st != MLOPS_OK)
        return st;
    st = def_decode(out, fs->env, v.data, v.len);
    mlops_bytes_free(&v);
    if (store_ver)
        *store_ver = ver;
    return st;
}

mlops_status mlops__fref_split_view(char *name, size_t cap, uint32_t *version, const char *s,
                                    size_t n)
{
    *version = 0;
    const char *at = memchr(s, '@', n);
    size_t nl = at ? (size_t)(at - s) : n;
    if (nl == 0 || nl >= cap)
        return mlops__error(MLOPS_E_INVALID, "bad view name '%.*s'", (int)(n > 200 ? 200 : n), s);
    memcpy(name, s, nl);
    name[nl] = 0;
    if (at) {
        const char *v = at + 1;
        size_t vl = n - nl - 1;
        int64_t num;
        if (vl < 2 || (v[0] != 'v' && v[0] != 'V') || !mlops__parse_i64(v + 1, vl - 1, &num) ||
            num < 1 || num > UINT32_MAX)
            return mlops__error(MLOPS_E_INVALID, "bad version in '%.*s' (use view@vN)",
                                (int)(n > 200 ? 200 : n), s);
        *version = (uint32_t)num;
    }
    if (!valid_name(name, true))
        return mlops__error(MLOPS_E_INVALID, "bad view name '%s'", name);
    return MLOPS_OK;
}

static mlops_status view_wrap(mlops_feature_view **out, mlops_feature_store *fs, mlops__fdef *d,
                              uint64_t store_ver, bool current)
{
    mlops_feature_view *v = mlops__calloc(fs->env, 1, sizeof(*v));
    if (v == NULL) {
        mlops__fdef_free(fs->env, d);
        return mlops__nomem();
    }
    v->fs = mlops__fstore_ref(fs);
    v->def = d;
    v->def_store_version = store_ver;
    v->current = current;
    snprintf(v->hash_hex, sizeof(v->hash_hex), "%016llx", (unsigned long long)d->hash);
    *out = v;
    return MLOPS_OK;
}

mlops_status mlops_feature_view_open(mlops_feature_view **out, mlops_feature_store *fs,
                                     const char *name)
{
    if (out == NULL)
        return mlops__error(MLOPS_E_INVALID, "output pointer is NULL");
    *out = NULL;
    if (fs == NULL || name == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    char nm[MLOPS_FEATURE_MAX_NAME + 1];
    uint32_t version;
    mlops_status st = mlops__fref_split_view(nm, sizeof(nm), &version, name, strlen(name));
    if (st != MLOPS_OK)
        return st;
    mlops__fdef *cur = NULL;
    uint64_t sv = 0;
    st = mlops__fdef_load(&cur, &sv, fs, nm, 0);
    if (st != MLOPS_OK)
        return st;
    if (version == 0 || version == cur->version)
        return view_wrap(out, fs, cur, sv, true);
    mlops__fdef_free(fs->env, cur);
    mlops__fdef *d = NULL;
    st = mlops__fdef_load(&d, NULL, fs, nm, version);
    if (st != MLOPS_OK)
        return st;
    return view_wrap(out, fs, d, 0, false);
}

mlops_status mlops_feature_view_apply(mlops_feature_view **out, mlops_feature_store *fs,
                                      const char *name, const mlops_feature_view_options *opts)
{
    if (out)
        *out = NULL;
    if (fs == NULL)
        return mlops__error(MLOPS_E_INVALID, "feature store is NULL");
    mlops__fdef *d = NULL, *cur = NULL;
    mlops_status st = def_from_opts(&d, fs->env, name, opts);
    if (st != MLOPS_OK)
        return st;
    mlops__buf enc;
    mlops__buf_init(&enc, fs->env);
    mlops_batch *b = NULL;
    d->hash = def_hash(fs->env, d, &st);
    if (st != MLOPS_OK)
        goto out;
    d->created_ms = mlops__now_ms(fs->env);
    uint64_t sv = 0;
    st = mlops__fdef_load(&cur, &sv, fs, name, 0);
    if (st != MLOPS_OK && st != MLOPS_E_NOTFOUND)
        goto out;
    uint8_t key[160];
    size_t klen = mlops__fkey(key, 'v', name);
    st = mlops_batch_create(&b, fs->store);
    if (st != MLOPS_OK)
        goto out;
    if (cur == NULL) {
        d->version = 1;
        st = mlops_batch_require_absent(b, key, klen);
    } else {
        if (cur->hash == d->hash) {
            d->version = cur->version;
            d->created_ms = cur->created_ms;
            bool same_meta =
                ((cur->description == NULL) == (d->description == NULL)) &&
                (cur->description == NULL || strcmp(cur->description, d->description) == 0) &&
                ((cur->tags == NULL) == (d->tags == NULL)) &&
                (cur->tags == NULL || strcmp(cur->tags, d->tags) == 0);
            if (same_meta) {
                mlops__fdef_free(fs->env, d);
                d = cur;
                cur = NULL;
                goto done;
            }
        } else {
            d->version = cur->version + 1;
        }
        st = mlops_batch_require_version(b, key, klen, sv);
    }
    if (st != MLOPS_OK)
        goto out;
    st = def_encode(&enc, fs->env, d, false);
    if (st != MLOPS_OK)
        goto out;
    st = mlops_batch_put(b, key, klen, enc.data, enc.len);
    uint8_t dkey[170];
    size_t dlen = mlops__fkey(dkey, 'd', name);
    dkey[dlen] = (uint8_t)(d->version >> 24);
    dkey[dlen + 1] = (uint8_t)(d->version >> 16);
    dkey[dlen + 2] = (uint8_t)(d->version >> 8);
    dkey[dlen + 3] = (uint8_t)d->version;
    dlen += 4;
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, dkey, dlen, enc.data, enc.len);
    if (st == MLOPS_OK)
        st = mlops_store_apply(fs->store, b);
    if (st == MLOPS_E_CONFLICT)
        st = mlops__error(MLOPS_E_CONFLICT,
                          "feature view '%s' was changed by another writer; apply again", name);
    if (st != MLOPS_OK)
        goto out;
done:
    if (out) {
        mlops__fdef *latest = NULL;
        st = mlops__fdef_load(&latest, &sv, fs, name, 0);
        if (st == MLOPS_OK)
            st = view_wrap(out, fs, latest, sv, true);
    }
out:
    mlops_batch_free(b);
    mlops__buf_free(&enc);
    mlops__fdef_free(fs->env, d);
    mlops__fdef_free(fs->env, cur);
    return st;
}

const char *mlops_feature_view_name(const mlops_feature_view *view)
{
    return view ? view->def->name : NULL;
}

uint32_t mlops_feature_view_version(const mlops_feature_view *view)
{
    return view ? view->def->version : 0;
}

const char *mlops_feature_view_hash(const mlops_feature_view *view)
{
    return view ? view->hash_hex : NULL;
}

uint32_t mlops_feature_view_latest_version(const mlops_feature_view *view)
{
    if (view == NULL)
        return 0;
    mlops__fdef *d = NULL;
    if (mlops__fdef_load(&d, NULL, view->fs, view->def->name, 0) != MLOPS_OK)
        return 0;
    uint32_t v = d->version;
    mlops__fdef_free(view->fs->env, d);
    return v;
}

void mlops_feature_view_close(mlops_feature_view *view)
{
    if (view == NULL)
        return;
    const mlops_env *env = view->fs->env;
    mlops_feature_store *fs = view->fs;
    mlops__fdef_free(env, view->def);
    mlops__free(env, view);
    mlops_feature_store_close(fs);
}

/* ---- listing ---- */

typedef struct list_ctx {
    mlops__buf *out;
    mlops_status st;
} list_ctx;

static int list_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)value;
    (void)value_len;
    (void)version;
    list_ctx *c = payload;
    uint64_t n;
    size_t k = mlops__varint_get(key + 4, key_len - 4, &n);
    if (k == 0 || 4 + k + n != key_len)
        return 0;
    if (c->out->len)
        c->st = mlops__buf_putc(c->out, '\n');
    if (c->st == MLOPS_OK)
        c->st = mlops__buf_append(c->out, key + 4 + k, (size_t)n);
    return c->st != MLOPS_OK;
}

mlops_status mlops_feature_store_list(char **out, mlops_feature_store *fs)
{
    if (out == NULL || fs == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    *out = NULL;
    mlops__buf b;
    mlops__buf_init(&b, fs->env);
    list_ctx c = {&b, MLOPS_OK};
    mlops_status st = mlops_store_scan_prefix(fs->store, "f/v/", 4, list_cb, &c);
    if (st == MLOPS_E_CALLBACK)
        st = c.st;
    if (st == MLOPS_OK) {
        if (b.len == 0 && mlops__buf_putc(&b, 0) == MLOPS_OK)
            b.len = 0;
        *out = mlops__buf_take_str(&b);
        if (*out == NULL)
            st = mlops__nomem();
    }
    mlops__buf_free(&b);
    return st;
}

/* ---- segments ---- */

typedef struct segidx {
    uint64_t seq;
    mlops_hash128 blob;
    uint64_t n_rows;
    int64_t min_ts, max_ts;
    uint32_t def_version;
    uint64_t raw_len;
} segidx;

typedef struct seglist {
    const mlops_env *env;
    segidx *v;
    size_t n, cap;
    mlops_status st;
} seglist;

static int seg_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  uint64_t version, void *payload)
{
    (void)version;
    seglist *l = payload;
    if (key_len < 8) {
        l->st = mlops__error(MLOPS_E_CORRUPT, "bad segment key");
        return 1;
    }
    segidx s;
    memset(&s, 0, sizeof(s));
    s.seq = mlops__get_u64be(key + key_len - 8);
    mlops__rec_reader r;
    l->st = mlops__rec_reader_init(&r, value, value_len, 1, REC_SEGIDX, "segment index");
    if (l->st != MLOPS_OK)
        return 1;
    mlops__rec_field f;
    bool have_blob = false;
    while ((l->st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 1 && f.wire == MLOPS__REC_WIRE_BYTES && f.n == 16) {
            memcpy(s.blob.bytes, f.p, 16);
            have_blob = true;
        } else if (f.tag == 2)
            s.n_rows = f.u;
        else if (f.tag == 3)
            s.min_ts = mlops__rec_as_i64(&f);
        else if (f.tag == 4)
            s.max_ts = mlops__rec_as_i64(&f);
        else if (f.tag == 5)
            s.def_version = (uint32_t)f.u;
        else if (f.tag == 6)
            s.raw_len = f.u;
    }
    if (l->st != MLOPS_E_NOTFOUND)
        return 1;
    if (!have_blob || s.n_rows > UINT32_MAX) {
        l->st = mlops__error(MLOPS_E_CORRUPT, "segment index record is incomplete");
        return 1;
    }
    /* every row holds at least its 8-byte event time in the segment: the
     * rows the reader allocates for are bounded by real bytes (M3) */
    if (s.raw_len > MLOPS__REC_MAX_SIZE || s.n_rows > s.raw_len / 8) {
        l->st = mlops__error(MLOPS_E_CORRUPT,
                             "segment index record claims %llu rows in %llu bytes",
                             (unsigned long long)s.n_rows, (unsigned long long)s.raw_len);
        return 1;
    }
    l->st = mlops__reserve(l->env, (void **)&l->v, &l->cap, l->n + 1, sizeof(segidx));
    if (l->st != MLOPS_OK)
        return 1;
    l->v[l->n++] = s;
    return 0;
}

static mlops_status seg_list(seglist *l, mlops_feature_store *fs, const char *view)
{
    memset(l, 0, sizeof(*l));
    l->env = fs->env;
    uint8_t key[160];
    size_t klen = mlops__fkey(key, 's', view);
    mlops_status st = mlops_store_scan_prefix(fs->store, key, klen, seg_cb, l);
    if (st == MLOPS_E_CALLBACK)
        st = l->st;
    if (st != MLOPS_OK) {
        mlops__free(fs->env, l->v);
        l->v = NULL;
    }
    return st;
}

/* Byte-stream split: the k-th byte of every value together, so zstd sees
 * runs of similar exponent and sign bytes. */
static void bss_encode(uint8_t *dst, const uint8_t *src, size_t n, size_t w)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < w; k++)
            dst[k * n + i] = src[i * w + k];
}

static void bss_decode(uint8_t *dst, const uint8_t *src, size_t n, size_t w)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < w; k++)
            dst[i * w + k] = src[k * n + i];
}

typedef struct segcols {
    size_t n;
    mlops__fcol *cols; /* converted columns (keys, ts, created, features) */
    const char **names;
} segcols;

/* Encode rows [lo, hi) of the converted columns into a compressed segment. */
static mlops_status seg_encode(mlops_bytes *out, const mlops_env *env, const segcols *sc,
                               size_t lo, size_t hi, uint32_t def_version, uint64_t *raw_len)
{
    size_t n = hi - lo;
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, REC_SEG);
    mlops__rec_put_u64(&w, 1, n);
    mlops__rec_put_u64(&w, 2, def_version);
    mlops__buf tmp;
    mlops__buf_init(&tmp, env);
    mlops_status st = MLOPS_OK;
    for (size_t c = 0; c < sc->n && st == MLOPS_OK; c++) {
        const mlops__fcol *col = &sc->cols[c];
        mlops__rec_writer cw;
        mlops__rec_writer_init(&cw, env, 1, REC_COL);
        mlops__rec_put_str(&cw, 1, sc->names[c]);
        mlops__rec_put_u64(&cw, 2, col->type);
        mlops__rec_put_u64(&cw, 3, col->dim);
        bool any_null = false;
        if (col->valid)
            for (size_t i = lo; i < hi; i++)
                if (!col->valid[i])
                    any_null = true;
        if (any_null)
            mlops__rec_put_bytes(&cw, 4, col->valid + lo, n);
        tmp.len = 0;
        if (col->type == MLOPS_FEATURE_STRING) {
            const uint64_t *o = col->data;
            mlops__rec_put_bytes(&cw, 5, col->sdata + o[lo], (size_t)(o[hi] - o[lo]));
        } else {
            size_t wd = mlops__ftype_width(col->type, col->dim);
            size_t es = col->type == MLOPS_FEATURE_FLOAT32_VECTOR ? 4 : wd;
            size_t cnt = n * (wd / es);
            st = mlops__reserve(env, (void **)&tmp.data, &tmp.cap, n * wd + 1, 1);
            if (st == MLOPS_OK) {
                bss_encode(tmp.data, (const uint8_t *)col->data + lo * wd, cnt, es);
                mlops__rec_put_bytes(&cw, 5, tmp.data, n * wd);
            }
        }
        if (st == MLOPS_OK)
            st = mlops__rec_writer_finish(&cw);
        if (st == MLOPS_OK)
            mlops__rec_put_bytes(&w, 3, cw.buf.data, cw.buf.len);
        mlops__rec_writer_free(&cw);
    }
    mlops__buf_free(&tmp);
    if (st == MLOPS_OK)
        st = mlops__rec_writer_finish(&w);
    if (st != MLOPS_OK) {
        mlops__rec_writer_free(&w);
        return st;
    }
    mlops_bytes z;
    st = mlops__zstd_compress(&z, (mlops_env *)env, w.buf.data, w.buf.len, 3);
    if (st == MLOPS_OK) {
        *raw_len = w.buf.len;
        uint64_t h = mlops__xxh3_64(w.buf.data, w.buf.len, 0);
        mlops__buf b;
        mlops__buf_init(&b, env);
        uint8_t hdr[24];
        memcpy(hdr, SEG_MAGIC, 8);
        mlops__put_u64le(hdr + 8, w.buf.len);
        mlops__put_u64le(hdr + 16, h);
        if (mlops__buf_append(&b, hdr, 24) != MLOPS_OK ||
            mlops__buf_append(&b, z.data, z.len) != MLOPS_OK) {
            mlops__buf_free(&b);
            st = mlops__nomem();
        } else {
            out->data = b.data;
            out->len = b.len;
            out->env = mlops__env_ref((mlops_env *)env);
        }
        mlops_bytes_free(&z);
    }
    mlops__rec_writer_free(&w);
    return st;
}

typedef struct pending_seg {
    mlops_bytes blob;
    uint64_t n_rows;
    int64_t min_ts, max_ts;
    uint64_t raw_len;
} pending_seg;

typedef struct ingest_ctx {
    mlops_feature_view *view;
    pending_seg *segs;
    size_t n_segs, cap;
    uint64_t rows;
} ingest_ctx;

static void ingest_ctx_free(ingest_ctx *c)
{
    for (size_t i = 0; i < c->n_segs; i++)
        mlops_bytes_free(&c->segs[i].blob);
    mlops__free(c->view->fs->env, c->segs);
}

/* Validate and convert one table, then encode it into pending segments. */
static mlops_status ingest_table(ingest_ctx *c, const mlops_feature_table *t)
{
    mlops_feature_view *view = c->view;
    const mlops__fdef *d = view->def;
    const mlops_env *env = view->fs->env;
    size_t ncols = d->n_keys + 1 + (d->created ? 1 : 0) + d->n_features;
    mlops__fcol *cols = mlops__calloc(env, ncols, sizeof(mlops__fcol));
    const char **names = mlops__calloc(env, ncols, sizeof(char *));
    mlops_status st = MLOPS_OK;
    if (cols == NULL || names == NULL) {
        st = mlops__nomem();
        goto out;
    }
    size_t nc = 0;
    for (size_t i = 0; i < ncols && st == MLOPS_OK; i++) {
        const char *name;
        uint32_t type, dim = 0;
        bool ts = false, required = true;
        if (i < d->n_keys) {
            name = d->keys[i];
            type = d->key_types[i];
        } else if (i == d->n_keys) {
            name = d->ts;
            type = MLOPS_FEATURE_INT64;
            ts = true;
        } else if (d->created && i == d->n_keys + 1) {
            name = d->created;
            type = MLOPS_FEATURE_INT64;
            ts = true;
        } else {
            const mlops__fdef_feature *f =
                &d->features[i - d->n_keys - 1 - (d->created ? 1 : 0)];
            if (f->transform != MLOPS_TRANSFORM_NONE)
                continue;
            name = f->name;
            type = f->type;
            dim = f->dim;
            required = true;
        }
        int ci = mlops__table_find(t, name);
        if (ci < 0) {
            if (required)
                st = mlops__error(MLOPS_E_INVALID,
                                  "ingest into '%s': the input has no column '%s'", d->name, name);
            break;
        }
        st = mlops__fcol_convert(&cols[nc], env, t, (size_t)ci, type, dim, ts);
        if (st != MLOPS_OK)
            break;
        names[nc] = name;
        nc++;
        if (i <= d->n_keys + (d->created ? 1 : 0) && cols[nc - 1].valid) {
            for (size_t r = 0; r < t->n_rows; r++)
                if (!cols[nc - 1].valid[r]) {
                    st = mlops__error(MLOPS_E_INVALID,
                                      "%s %llu, column %d ('%s'): a %s cannot be null",
                                      MLOPS__WHERE(t), (unsigned long long)mlops__table_line(t, r), ci + 1, name,
                                      i < d->n_keys ? "join key" : "timestamp");
                    break;
                }
        }
    }
    if (st != MLOPS_OK)
        goto out;
    segcols sc = {nc, cols, names};
    const int64_t *ts = cols[d->n_keys].data;
    size_t lo = 0;
    while (lo < t->n_rows && st == MLOPS_OK) {
        size_t hi = lo, bytes = 0;
        while (hi < t->n_rows && hi - lo < SEG_ROWS && bytes < SEG_MAX_RAW) {
            for (size_t k = 0; k < nc; k++) {
                if (cols[k].type == MLOPS_FEATURE_STRING) {
                    const uint64_t *o = cols[k].data;
                    bytes += (size_t)(o[hi + 1] - o[hi]) + 2;
                } else
                    bytes += mlops__ftype_width(cols[k].type, cols[k].dim) + 1;
            }
            hi++;
        }
        pending_seg ps;
        memset(&ps, 0, sizeof(ps));
        ps.n_rows = hi - lo;
        ps.min_ts = INT64_MAX;
        ps.max_ts = INT64_MIN;
        for (size_t r = lo; r < hi; r++) {
            if (ts[r] < ps.min_ts)
                ps.min_ts = ts[r];
            if (ts[r] > ps.max_ts)
                ps.max_ts = ts[r];
        }
        st = seg_encode(&ps.blob, env, &sc, lo, hi, d->version, &ps.raw_len);
        if (st == MLOPS_OK) {
            st = mlops__reserve(env, (void **)&c->segs, &c->cap, c->n_segs + 1,
                                sizeof(pending_seg));
            if (st == MLOPS_OK)
                c->segs[c->n_segs++] = ps;
            else
                mlops_bytes_free(&ps.blob);
        }
        lo = hi;
    }
    if (st == MLOPS_OK)
        c->rows += t->n_rows;
out:
    if (cols)
        for (size_t i = 0; i < ncols; i++)
            mlops__fcol_release(env, &cols[i]);
    mlops__free(env, cols);
    mlops__free(env, names);
    return st;
}

/* Write the blobs, then every index record in one batch guarded by the
 * definition's version: all segments appear together or none. */
static mlops_status ingest_commit(ingest_ctx *c)
{
    mlops_feature_view *view = c->view;
    mlops_feature_store *fs = view->fs;
    const mlops__fdef *d = view->def;
    if (c->n_segs == 0)
        return MLOPS_OK;
    seglist l;
    mlops_status st = seg_list(&l, fs, d->name);
    if (st != MLOPS_OK)
        return st;
    uint64_t seq = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].seq >= seq)
            seq = l.v[i].seq + 1;
    mlops__free(fs->env, l.v);
    mlops_batch *b = NULL;
    st = mlops_batch_create(&b, fs->store);
    uint8_t key[180];
    size_t klen = mlops__fkey(key, 'v', d->name);
    if (st == MLOPS_OK)
        st = mlops_batch_require_version(b, key, klen, view->def_store_version);
    for (size_t i = 0; i < c->n_segs && st == MLOPS_OK; i++) {
        pending_seg *ps = &c->segs[i];
        mlops_hash128 id;
        st = mlops_store_blob_put(&id, fs->store, ps->blob.data, ps->blob.len);
        if (st != MLOPS_OK)
            break;
        mlops__rec_writer w;
        mlops__rec_writer_init(&w, fs->env, 1, REC_SEGIDX);
        mlops__rec_put_bytes(&w, 1, id.bytes, 16);
        mlops__rec_put_u64(&w, 2, ps->n_rows);
        mlops__rec_put_i64(&w, 3, ps->min_ts);
        mlops__rec_put_i64(&w, 4, ps->max_ts);
        mlops__rec_put_u64(&w, 5, d->version);
        mlops__rec_put_u64(&w, 6, ps->raw_len);
        st = mlops__rec_writer_finish(&w);
        size_t sl = mlops__fkey(key, 's', d->name);
        mlops__put_u64be(key + sl, seq + i);
        sl += 8;
        if (st == MLOPS_OK)
            st = mlops_batch_require_absent(b, key, sl);
        if (st == MLOPS_OK)
            st = mlops_batch_put(b, key, sl, w.buf.data, w.buf.len);
        mlops__rec_writer_free(&w);
    }
    if (st == MLOPS_OK) {
        st = mlops_store_apply(fs->store, b);
        if (st == MLOPS_E_CONFLICT)
            st = mlops__error(MLOPS_E_CONFLICT,
                              "feature view '%s' changed during the ingest (definition v%u is no "
                              "longer current, or another ingest committed first); nothing was "
                              "ingested",
                              d->name, d->version);
    }
    mlops_batch_free(b);
    return st;
}

static mlops_status ingest_check_view(mlops_feature_view *view)
{
    if (view == NULL)
        return mlops__error(MLOPS_E_INVALID, "view is NULL");
    if (!view->current)
        return mlops__error(MLOPS_E_CONFLICT,
                            "view '%s@v%u' is an old definition; ingest into the current one",
                            view->def->name, view->def->version);
    return MLOPS_OK;
}

mlops_status mlops_feature_view_ingest(uint64_t *rows_out, mlops_feature_view *view,
                                       const mlops_feature_table *table)
{
    if (rows_out)
        *rows_out = 0;
    mlops_status st = ingest_check_view(view);
    if (st != MLOPS_OK)
        return st;
    if (table == NULL)
        return mlops__error(MLOPS_E_INVALID, "table is NULL");
    ingest_ctx c = {view, NULL, 0, 0, 0};
    st = ingest_table(&c, table);
    if (st == MLOPS_OK)
        st = ingest_commit(&c);
    if (st == MLOPS_OK && rows_out)
        *rows_out = c.rows;
    ingest_ctx_free(&c);
    return st;
}

mlops_status mlops_feature_view_ingest_csv(uint64_t *rows_out, mlops_feature_view *view,
                                           const char *path,
                                           int (*progress)(uint64_t rows, void *payload),
                                           void *payload)
{
    if (rows_out)
        *rows_out = 0;
    mlops_status st = ingest_check_view(view);
    if (st != MLOPS_OK)
        return st;
    mlops__csv *r = NULL;
    st = mlops__csv_open(&r, view->fs->env, path);
    if (st != MLOPS_OK)
        return st;
    ingest_ctx c = {view, NULL, 0, 0, 0};
    for (;;) {
        mlops_feature_table *t = NULL;
        st = mlops__csv_read(r, &t, SEG_ROWS);
        if (st != MLOPS_OK)
            break;
        size_t n = t->n_rows;
        if (n > 0 || c.rows == 0)
            st = ingest_table(&c, t);
        mlops_feature_table_free(t);
        if (st != MLOPS_OK || n == 0)
            break;
        if (progress && progress(c.rows, payload) != 0) {
            st = mlops__error(MLOPS_E_CALLBACK, "ingest stopped by the progress callback");
            break;
        }
    }
    mlops__csv_close(r);
    if (st == MLOPS_OK)
        st = ingest_commit(&c);
    if (st == MLOPS_OK && rows_out)
        *rows_out = c.rows;
    ingest_ctx_free(&c);
    return st;
}

/* ---- decoding segments into the cache ---- */

static mlops_status seg_decode_into(mlops__fdata *data, const mlops__fdef *d,
                                    const mlops_bytes *blob, size_t row0, size_t n_rows,
                                    uint64_t want_raw, const mlops_env *env)
{
    if (blob->len < 24 || memcmp(blob->data, SEG_MAGIC, 8) != 0)
        return mlops__error(MLOPS_E_CORRUPT, "feature segment of '%s' has a bad header", d->name);
    uint64_t raw_len = mlops__get_u64le(blob->data + 8);
    uint64_t h = mlops__get_u64le(blob->data + 16);
    if (raw_len > MLOPS__REC_MAX_SIZE)
        return mlops__error(MLOPS_E_CORRUPT, "feature segment of '%s' is too large", d->name);
    if (raw_len != want_raw)
        return mlops__error(MLOPS_E_CORRUPT,
                            "feature segment of '%s' holds %llu bytes; its index says %llu",
                            d->name, (unsigned long long)raw_len, (unsigned long long)want_raw);
    mlops_bytes raw;
    mlops_status st = mlops__zstd_decompress(&raw, (mlops_env *)env, blob->data + 24,
                                             blob->len - 24, (size_t)raw_len);
    if (st != MLOPS_OK)
        return st == MLOPS_E_NOMEM ? st
                                   : mlops__error(MLOPS_E_CORRUPT,
                                                  "feature segment of '%s' does not decompress",
                                                  d->name);
    if (raw.len != raw_len || mlops__xxh3_64(raw.data, raw.len, 0) != h) {
        mlops_bytes_free(&raw);
        return mlops__error(MLOPS_E_CORRUPT, "feature segment of '%s' fails its checksum",
                            d->name);
    }
    mlops__rec_reader r;
    st = mlops__rec_reader_init(&r, raw.data, raw.len, 1, REC_SEG, "feature segment");
    mlops__rec_field f;
    mlops_feature_table *t = data->t;
    /* columns this segment filled; the others get null rows below */
    bool filled[MLOPS_FEATURE_MAX_KEYS + 2 + MLOPS_FEATURE_MAX_FEATURES] = {false};
    if (t->n_cols > sizeof(filled) / sizeof(filled[0])) {
        mlops_bytes_free(&raw);
        return mlops__error(MLOPS_E_CORRUPT, "feature view '%s' has too many columns", d->name);
    }
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 1 && f.u != n_rows) {
            st = mlops__error(MLOPS_E_CORRUPT, "feature segment of '%s': row count differs",
                              d->name);
            break;
        }
        if (f.tag != 3)
            continue;
        mlops__rec_reader cr;
        st = mlops__rec_reader_init(&cr, f.p, f.n, 1, REC_COL, "feature segment column");
        if (st != MLOPS_OK)
            break;
        mlops__rec_field g;
        const uint8_t *name = NULL, *valid = NULL, *vals = NULL;
        size_t name_n = 0, valid_n = 0, vals_n = 0;
        uint32_t type = 0, dim = 0;
        while ((st = mlops__rec_next(&cr, &g)) == MLOPS_OK) {
            if (g.tag == 1) {
                name = g.p;
                name_n = g.n;
            } else if (g.tag == 2)
                type = (uint32_t)g.u;
            else if (g.tag == 3)
                dim = (uint32_t)g.u;
            else if (g.tag == 4) {
                valid = g.p;
                valid_n = g.n;
            } else if (g.tag == 5) {
                vals = g.p;
                vals_n = g.n;
            }
        }
        if (st != MLOPS_E_NOTFOUND)
            break;
        st = MLOPS_OK;
        if (name == NULL || (valid && valid_n != n_rows)) {
            st = mlops__error(MLOPS_E_CORRUPT, "feature segment column is incomplete");
            break;
        }
        int ci = -1;
        for (size_t i = 0; i < t->n_cols; i++)
            if (strlen(t->cols[i].name) == name_n && memcmp(t->cols[i].name, name, name_n) == 0)
                ci = (int)i;
        if (ci < 0)
            continue; /* a column the definition no longer has */
        mlops__fcol *col = &t->cols[ci];
        if (col->type != type || col->dim != dim)
            continue; /* the type changed: rows of this segment stay null */
        if (type == MLOPS_FEATURE_STRING) {
            size_t cnt = 0;
            for (size_t i = 0; i < vals_n; i++)
                cnt += vals[i] == 0;
            if (cnt != n_rows || (vals_n && vals[vals_n - 1] != 0)) {
                st = mlops__error(MLOPS_E_CORRUPT, "feature segment string column is damaged");
                break;
            }
            /* strings are appended segment by segment, in order */
            uint64_t *o = col->data;
            st = mlops__reserve(env, (void **)&col->sdata, &col->scap, col->slen + vals_n + 1, 1);
            if (st != MLOPS_OK)
                break;
            memcpy(col->sdata + col->slen, vals, vals_n);
            size_t pos = 0;
            for (size_t i = 0; i < n_rows; i++) {
                o[row0 + i] = col->slen + pos;
                pos += strlen((const char *)vals + pos) + 1;
            }
            col->slen += vals_n;
            o[row0 + n_rows] = col->slen;
        } else {
            size_t wd = mlops__ftype_width(type, dim);
            size_t es = type == MLOPS_FEATURE_FLOAT32_VECTOR ? 4 : wd;
            if (vals_n != n_rows * wd) {
                st = mlops__error(MLOPS_E_CORRUPT, "feature segment column has a bad size");
                break;
            }
            bss_decode((uint8_t *)col->data + row0 * wd, vals, n_rows * (wd / es), es);
        }
        if (valid || col->valid) {
            st = mlops__fcol_alloc_valid(env, col, t->n_rows);
            if (st != MLOPS_OK)
                break;
            if (valid)
                memcpy(col->valid + row0, valid, n_rows);
            else
                memset(col->valid + row0, 1, n_rows);
        }
        filled[ci] = true;
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    /* A column the segment does not carry (added later, retyped, or a join
     * key of a newer definition): null rows, and for strings empty ones, so
     * the offsets stay in order and every cell is a string. */
    for (size_t c = 0; c < t->n_cols && st == MLOPS_OK; c++) {
        if (filled[c])
            continue;
        mlops__fcol *col = &t->cols[c];
        if (col->type == MLOPS_FEATURE_STRING) {
            st = mlops__reserve(env, (void **)&col->sdata, &col->scap, col->slen + n_rows + 1, 1);
            if (st != MLOPS_OK)
                break;
            uint64_t *o = col->data;
            for (size_t i = 0; i < n_rows; i++) {
                col->sdata[col->slen] = 0;
                o[row0 + i] = col->slen++;
            }
            o[row0 + n_rows] = col->slen;
        }
        st = mlops__fcol_alloc_valid(env, col, t->n_rows);
        if (st == MLOPS_OK)
            memset(col->valid + row0, 0, n_rows);
    }
    mlops_bytes_free(&raw);
    return st;
}

void mlops__fdata_unref(const mlops_env *env, mlops__fdata *data)
{
    if (data == NULL || atomic_fetch_sub(&data->refs, 1) != 1)
        return;
    mlops__fidx_free(env, atomic_load(&data->index));
    mlops_feature_table_free(data->t);
    mlops__free(env, data);
}

static mlops_status fdata_build(mlops__fdata **out, mlops_feature_store *fs,
                                const mlops__fdef *d, const seglist *l)
{
    const mlops_env *env = fs->env;
    mlops__fdata *data = mlops__calloc(env, 1, sizeof(*data));
    if (data == NULL)
        return mlops__nomem();
    atomic_init(&data->refs, 1);
    atomic_init(&data->index, NULL);
    mlops_status st = mlops_feature_table_create(&data->t, fs->env);
    if (st != MLOPS_OK) {
        mlops__free(env, data);
        return st;
    }
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += (size_t)l->v[i].n_rows;
    mlops__fcol *seen_cols[MLOPS_FEATURE_MAX_KEYS + 2 + MLOPS_FEATURE_MAX_FEATURES];
    size_t nseen = 0;
    for (size_t i = 0; i < d->n_keys && st == MLOPS_OK; i++) {
        data->key_col[i] = (int)data->t->n_cols;
        seen_cols[nseen++] = mlops__table_add(data->t, d->keys[i], d->key_types[i], 0, total, &st);
    }
    if (st == MLOPS_OK) {
        data->ts_col = (int)data->t->n_cols;
        mlops__table_add(data->t, d->ts, MLOPS_FEATURE_INT64, 0, total, &st);
    }
    data->cr_col = -1;
    if (st == MLOPS_OK && d->created) {
        data->cr_col = (int)data->t->n_cols;
        mlops__table_add(data->t, d->created, MLOPS_FEATURE_INT64, 0, total, &st);
    }
    for (size_t i = 0; i < d->n_features && st == MLOPS_OK; i++) {
        const mlops__fdef_feature *f = &d->features[i];
        if (f->transform == MLOPS_TRANSFORM_NONE)
            mlops__table_add(data->t, f->name, f->type, f->dim, total, &st);
    }
    (void)seen_cols;
    data->t->n_rows = total;
    /* Rows a segment does not carry (a column added later, or its type
     * changed) are null: start with every feature column null and let each
     * segment mark what it has. */
    size_t first_feat = (size_t)(data->cr_col >= 0 ? data->cr_col : data->ts_col) + 1;
    for (size_t c = first_feat; c < data->t->n_cols && st == MLOPS_OK; c++) {
        st = mlops__fcol_alloc_valid(env, &data->t->cols[c], total);
        if (st == MLOPS_OK)
            memset(data->t->cols[c].valid, 0, total);
    }
    size_t row0 = 0;
    mlops_bytes blob = {0};
    for (size_t i = 0; i < l->n && st == MLOPS_OK; i++) {
        st = mlops_store_blob_get(&blob, fs->store, &l->v[i].blob, 0);
        if (st == MLOPS_E_NOTFOUND)
            st = mlops__error(MLOPS_E_CORRUPT, "feature segment %llu of '%s' is missing its blob",
                              (unsigned long long)l->v[i].seq, d->name);
        if (st != MLOPS_OK)
            break;
        size_t n = (size_t)l->v[i].n_rows;
        st = seg_decode_into(data, d, &blob, row0, n, l->v[i].raw_len, env);
        mlops_bytes_free(&blob);
        row0 += n;
    }
    if (st != MLOPS_OK) {
        mlops__fdata_unref(env, data);
        return st;
    }
    data->n_segments = l->n;
    data->last_seq = l->n ? l->v[l->n - 1].seq : 0;
    *out = data;
    return MLOPS_OK;
}

mlops_status mlops__fdata_get(mlops__fdata **out, mlops_feature_store *fs, const mlops__fdef *d)
{
    *out = NULL;
    seglist l;
    mlops_status st = seg_list(&l, fs, d->name);
    if (st != MLOPS_OK)
        return st;
    char key[MLOPS_FEATURE_MAX_NAME + 16];
    snprintf(key, sizeof(key), "%s@%u", d->name, d->version);
    uint64_t last = l.n ? l.v[l.n - 1].seq : 0;
    pthread_mutex_lock(&fs->mu);
    for (size_t i = 0; i < fs->n_cache; i++) {
        if (strcmp(fs->cache[i].view, key) == 0) {
            mlops__fdata *c = fs->cache[i].data;
            if (c->n_segments == l.n && c->last_seq == last) {
                atomic_fetch_add(&c->refs, 1);
                *out = c;
            }
            break;
        }
    }
    pthread_mutex_unlock(&fs->mu);
    if (*out) {
        mlops__free(fs->env, l.v);
        return MLOPS_OK;
    }
    mlops__fdata *data = NULL;
    st = fdata_build(&data, fs, d, &l);
    mlops__free(fs->env, l.v);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&fs->mu);
    size_t i = 0;
    for (; i < fs->n_cache; i++)
        if (strcmp(fs->cache[i].view, key) == 0)
            break;
    if (i < fs->n_cache) {
        mlops__fdata_unref(fs->env, fs->cache[i].data);
        fs->cache[i].data = data;
        atomic_fetch_add(&data->refs, 1);
    } else {
        mlops__fcache *nc = mlops__realloc(fs->env, fs->cache, (fs->n_cache + 1) * sizeof(*nc));
        char *nm = mlops__strdup(fs->env, key);
        if (nc != NULL && nm != NULL) {
            fs->cache = nc;
            fs->cache[fs->n_cache++] = (mlops__fcache){nm, data};
            atomic_fetch_add(&data->refs, 1);
        } else {
            if (nc)
                fs->cache = nc;
            mlops__free(fs->env, nm); /* not cached; still usable */
        }
    }
    pthread_mutex_unlock(&fs->mu);
    *out = data;
    return MLOPS_OK;
}

/* ---- describe ---- */

static void json_str(mlops__buf *b, const char *s)
{
    if (s == NULL) {
        mlops__buf_append(b, "null", 4);
        return;
    }
    mlops__buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            mlops__buf_putc(b, '\\');
            mlops__buf_putc(b, c);
        } else if (c < 0x20)
            mlops__buf_printf(b, "\\u%04x", c);
        else
            mlops__buf_putc(b, c);
    }
    mlops__buf_putc(b, '"');
}

static const char *transform_name(uint32_t t)
{
    static const char *const names[] = {"none", "log1p", "ratio", "bucketize", "standardize",
                                        "function"};
    return t <= 5 ? names[t] : "unknown";
}

mlops_status mlops_feature_view_describe(char **out, const mlops_feature_view *view)
{
    if (out == NULL || view == NULL)
        return mlops__error(MLOPS_E_INVALID, "NULL argument");
    *out = NULL;
    const mlops__fdef *d = view->def;
    seglist l;
    mlops_status st = seg_list(&l, view->fs, d->name);
    if (st != MLOPS_OK)
        return st;
    uint64_t rows = 0;
    for (size_t i = 0; i < l.n; i++)
        rows += l.v[i].n_rows;
    mlops__buf b;
    mlops__buf_init(&b, view->fs->env);
    mlops__buf_append(&b, "{\"name\": ", 9);
    json_str(&b, d->name);
    mlops__buf_printf(&b, ", \"version\": %u, \"hash\": \"%s\", \"entity\": ", d->version,
                      view->hash_hex);
    json_str(&b, d->entity);
    mlops__buf_append(&b, ", \"join_keys\": [", 16);
    for (size_t i = 0; i < d->n_keys; i++) {
        mlops__buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
        json_str(&b, d->keys[i]);
        mlops__buf_printf(&b, ", \"type\": \"%s\"}", mlops__ftype_name(d->key_types[i]));
    }
    mlops__buf_append(&b, "], \"timestamp\": ", 16);
    json_str(&b, d->ts);
    mlops__buf_append(&b, ", \"created\": ", 13);
    json_str(&b, d->created);
    mlops__buf_printf(&b, ", \"ttl_seconds\": %.6f, \"features\": [", (double)d->ttl_us / 1e6);
    for (size_t i = 0; i < d->n_features; i++) {
        const mlops__fdef_feature *f = &d->features[i];
        mlops__buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
        json_str(&b, f->name);
        if (f->type == MLOPS_FEATURE_FLOAT32_VECTOR)
            mlops__buf_printf(&b, ", \"type\": \"float32[%u]\"", f->dim);
        else
            mlops__buf_printf(&b, ", \"type\": \"%s\"", mlops__ftype_name(f->type));
        if (f->transform) {
            mlops__buf_printf(&b, ", \"transform\": \"%s\", \"inputs\": ",
                              transform_name(f->transform));
            json_str(&b, f->inputs);
            mlops__buf_append(&b, ", \"params\": [", 13);
            for (size_t k = 0; k < f->n_params; k++) {
                char num[40];
                mlops__fmt_f64(num, sizeof(num), f->params[k]);
                mlops__buf_printf(&b, "%s%s", k ? ", " : "", num);
            }
            mlops__buf_putc(&b, ']');
            if (f->function) {
                mlops__buf_append(&b, ", \"function\": ", 14);
                json_str(&b, f->function);
            }
        }
        mlops__buf_putc(&b, '}');
    }
    mlops__buf_append(&b, "], \"description\": ", 18);
    json_str(&b, d->description);
    mlops__buf_append(&b, ", \"tags\": ", 10);
    json_str(&b, d->tags);
    mlops__buf_printf(&b, ", \"created_ms\": %lld, \"offline_rows\": %llu, \"segments\": %zu}",
                      (long long)d->created_ms, (unsigned long long)rows, l.n);
    mlops__free(view->fs->env, l.v);
    *out = mlops__buf_take_str(&b);
    mlops__buf_free(&b);
    if (*out == NULL)
        return mlops__nomem();
    return MLOPS_OK;
}

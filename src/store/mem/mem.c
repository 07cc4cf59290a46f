/* SPDX-License-Identifier: MIT */
/* The mem backend: the shared ordered index (skip list + hash table) under a
 * reader-writer lock, for tests, embedding and the online store. Blobs live
 * in a second index. */
#include <pthread.h>

#include "store/index.h"
#include "store/store_internal.h"

typedef struct mem_backend {
    mlops_backend base;
    pthread_rwlock_t lock;
    mlops__idx kv;
    mlops__idx blobs;
    uint64_t version; /* last version handed out */
} mem_backend;

typedef struct mem_blob_writer {
    mlops_backend_blob_writer base;
    mlops__buf buf;
} mem_blob_writer;

typedef struct mem_blob_reader {
    mlops_backend_blob_reader base;
    uint8_t *data; /* a private copy, so a reader never races a writer */
    size_t len, pos;
} mem_blob_reader;

static mlops_status mem_get(mlops_backend *b, const uint8_t *key, size_t key_len,
                            mlops_bytes *value_out, uint64_t *version_out)
{
    mem_backend *m = (mem_backend *)b;
    pthread_rwlock_rdlock(&m->lock);
    mlops__idx_node *n = mlops__idx_find(&m->kv, key, key_len);
    mlops_status st;
    if (n == NULL) {
        st = MLOPS_E_NOTFOUND;
        mlops__error(st, "key not found");
    } else {
        st = mlops_bytes_set(value_out, b->env, n->val, n->val_len);
        if (st == MLOPS_OK && version_out)
            *version_out = n->version;
    }
    pthread_rwlock_unlock(&m->lock);
    return st;
}

static mlops_status mem_scan(mlops_backend *b, const uint8_t *start, size_t start_len,
                             const uint8_t *end, size_t end_len, size_t limit,
                             mlops_backend_scan_fn cb, void *payload)
{
    mem_backend *m = (mem_backend *)b;
    pthread_rwlock_rdlock(&m->lock);
    mlops_status st = mlops__idx_scan(&m->kv, start, start_len, end, end_len, limit, cb, payload);
    pthread_rwlock_unlock(&m->lock);
    return st;
}

static mlops_status mem_apply(mlops_backend *b, const mlops_batch_op *ops, size_t n_ops)
{
    mem_backend *m = (mem_backend *)b;
    const mlops_env *env = b->env;
    mlops__idx_node **nodes = mlops__calloc(env, n_ops, sizeof(*nodes));
    if (nodes == NULL)
        return mlops__nomem();
    size_t puts = 0;
    for (size_t i = 0; i < n_ops; i++)
        puts += ops[i].kind == MLOPS_OP_PUT;
    pthread_rwlock_wrlock(&m->lock);
    mlops_status st = mlops__idx_check(&m->kv, ops, n_ops);
    /* Every node and hash slot is made before anything changes, so a failed
     * allocation leaves the store as it was. */
    uint64_t ver = m->version + 1;
    for (size_t i = 0; i < n_ops && st == MLOPS_OK; i++) {
        if (ops[i].kind == MLOPS_OP_PUT) {
            nodes[i] = mlops__idx_node_new(&m->kv, ops[i].key, ops[i].key_len, ops[i].value,
                                           ops[i].value_len, ver);
            if (nodes[i] == NULL)
                st = mlops__nomem();
        }
    }
    if (st == MLOPS_OK)
        st = mlops__idx_reserve(&m->kv, puts);
    if (st == MLOPS_OK) {
        for (size_t i = 0; i < n_ops; i++) {
            const mlops_batch_op *op = &ops[i];
            if (op->kind == MLOPS_OP_PUT) {
                mlops__idx_insert(&m->kv, nodes[i]);
                nodes[i] = NULL;
            } else if (op->kind == MLOPS_OP_DELETE) {
                mlops__idx_remove(&m->kv, op->key, op->key_len);
            }
        }
        m->version = ver;
    }
    pthread_rwlock_unlock(&m->lock);
    for (size_t i = 0; i < n_ops; i++)
        mlops__idx_node_free(&m->kv, nodes[i]);
    mlops__free(env, nodes);
    return st;
}

static mlops_status mem_blob_write_open(mlops_backend *b, mlops_backend_blob_writer **out)
{
    mem_blob_writer *w = mlops__calloc(b->env, 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    w->base.backend = b;
    mlops__buf_init(&w->buf, b->env);
    *out = &w->base;
    return MLOPS_OK;
}

static mlops_status mem_blob_write(mlops_backend_blob_writer *bw, const uint8_t *data, size_t len)
{
    mem_blob_writer *w = (mem_blob_writer *)bw;
    return mlops__buf_append(&w->buf, data, len);
}

static mlops_status mem_blob_write_commit(mlops_backend_blob_writer *bw, const mlops_hash128 *id)
{
    mem_blob_writer *w = (mem_blob_writer *)bw;
    mem_backend *m = (mem_backend *)bw->backend;
    mlops_status st = MLOPS_OK;
    pthread_rwlock_wrlock(&m->lock);
    mlops__idx_node *n = mlops__idx_find(&m->blobs, id->bytes, 16);
    if (n != NULL) {
        /* a hash hit is only a dedup if the bytes are the same */
        if (n->val_len != w->buf.len || (n->val_len && memcmp(n->val, w->buf.data, n->val_len)))
            st = mlops__error(MLOPS_E_CONFLICT,
                              "a different blob already has this content address (hash "
                              "collision); refusing to confuse them");
    } else {
        mlops__idx_node *fresh = mlops__idx_node_new(&m->blobs, id->bytes, 16, NULL, 0, 0);
        if (fresh == NULL)
            st = mlops__nomem();
        if (st == MLOPS_OK)
            st = mlops__idx_reserve(&m->blobs, 1);
        if (st == MLOPS_OK && w->buf.data != NULL) {
            /* hand the written buffer to the node instead of copying it */
            mlops__free(m->base.env, fresh->val);
            fresh->val = w->buf.data;
            fresh->val_len = w->buf.len;
            w->buf.data = NULL;
            w->buf.len = w->buf.cap = 0;
        }
        if (st == MLOPS_OK)
            mlops__idx_insert(&m->blobs, fresh);
        else
            mlops__idx_node_free(&m->blobs, fresh);
    }
    pthread_rwlock_unlock(&m->lock);
    return st;
}

static void mem_blob_write_free(mlops_backend_blob_writer *bw)
{
    mem_blob_writer *w = (mem_blob_writer *)bw;
    const mlops_env *env = bw->backend->env;
    mlops__buf_free(&w->buf);
    mlops__free(env, w);
}

static mlops_status mem_blob_read_open(mlops_backend *b, const mlops_hash128 *id,
                                       mlops_backend_blob_reader **out, uint64_t *size_out)
{
    mem_backend *m = (mem_backend *)b;
    mem_blob_reader *r = mlops__calloc(b->env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->base.backend = b;
    mlops_status st = MLOPS_OK;
    pthread_rwlock_rdlock(&m->lock);
    mlops__idx_node *n = mlops__idx_find(&m->blobs, id->bytes, 16);
    if (n == NULL) {
        st = mlops__error(MLOPS_E_NOTFOUND, "blob not found");
    } else {
        r->data = mlops__malloc(b->env, n->val_len);
        if (r->data == NULL) {
            st = mlops__nomem();
        } else {
            if (n->val_len)
                memcpy(r->data, n->val, n->val_len);
            r->len = n->val_len;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    if (st != MLOPS_OK) {
        mlops__free(b->env, r->data);
        mlops__free(b->env, r);
        return st;
    }
    if (size_out)
        *size_out = r->len;
    *out = &r->base;
    return MLOPS_OK;
}

static mlops_status mem_blob_read(mlops_backend_blob_reader *br, uint8_t *buf, size_t cap,
                                  size_t *n_out)
{
    mem_blob_reader *r = (mem_blob_reader *)br;
    size_t n = r->len - r->pos < cap ? r->len - r->pos : cap;
    if (n)
        memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *n_out = n;
    return MLOPS_OK;
}

static void mem_blob_read_free(mlops_backend_blob_reader *br)
{
    mem_blob_reader *r = (mem_blob_reader *)br;
    const mlops_env *env = br->backend->env;
    mlops__free(env, r->data);
    mlops__free(env, r);
}

static mlops_status mem_blob_stat(mlops_backend *b, const mlops_hash128 *id, uint64_t *size_out)
{
    mem_backend *m = (mem_backend *)b;
    pthread_rwlock_rdlock(&m->lock);
    mlops__idx_node *n = mlops__idx_find(&m->blobs, id->bytes, 16);
    if (n && size_out)
        *size_out = n->val_len;
    pthread_rwlock_unlock(&m->lock);
    return n ? MLOPS_OK : mlops__error(MLOPS_E_NOTFOUND, "blob not found");
}

static mlops_status mem_info(mlops_backend *b, mlops_store_info_data *info)
{
    mem_backend *m = (mem_backend *)b;
    pthread_rwlock_rdlock(&m->lock);
    info->keys = m->kv.count;
    info->records = m->kv.count;
    info->blobs = m->blobs.count;
    info->bytes = m->kv.bytes + m->blobs.bytes;
    info->blob_bytes = m->blobs.bytes;
    pthread_rwlock_unlock(&m->lock);
    return MLOPS_OK;
}

static mlops_status mem_compact(mlops_backend *b)
{
    (void)b;
    return MLOPS_OK; /* nothing is ever dead in memory */
}

static void mem_close(mlops_backend *b)
{
    mem_backend *m = (mem_backend *)b;
    const mlops_env *env = b->env;
    mlops__idx_free(&m->kv);
    mlops__idx_free(&m->blobs);
    pthread_rwlock_destroy(&m->lock);
    mlops__free(env, m);
}

static const mlops_backend_ops mem_ops = {
    .version = MLOPS_BACKEND_OPS_VERSION,
    .caps = 0,
    .name = "mem",
    .get = mem_get,
    .scan = mem_scan,
    .apply = mem_apply,
    .blob_write_open = mem_blob_write_open,
    .blob_write = mem_blob_write,
    .blob_write_commit = mem_blob_write_commit,
    .blob_write_free = mem_blob_write_free,
    .blob_read_open = mem_blob_read_open,
    .blob_read = mem_blob_read,
    .blob_read_free = mem_blob_read_free,
    .close = mem_close,
    .compact = mem_compact,
    .info = mem_info,
    .blob_stat = mem_blob_stat,
};

mlops_status mlops__mem_backend_new(mlops_backend **out, mlops_env *env)
{
    *out = NULL;
    mem_backend *m = mlops__calloc(env, 1, sizeof(*m));
    if (m == NULL)
        return mlops__nomem();
    m->base.ops = &mem_ops;
    m->base.env = env;
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        mlops__free(env, m);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create the mem backend's lock");
    }
    mlops_status st = mlops__idx_init(&m->kv, env);
    if (st == MLOPS_OK)
        st = mlops__idx_init(&m->blobs, env);
    if (st != MLOPS_OK) {
        mlops__idx_free(&m->kv);
        mlops__idx_free(&m->blobs);
        pthread_rwlock_destroy(&m->lock);
        mlops__free(env, m);
        return st;
    }
    *out = &m->base;
    return MLOPS_OK;
}

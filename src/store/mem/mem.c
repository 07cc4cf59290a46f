/* SPDX-License-Identifier: MIT */
/* The mem backend: an ordered skip list under a reader-writer lock, for
 * tests, embedding and the online store. Blobs live in a second list. */
#include <pthread.h>

#include "store/store_internal.h"

#define MAX_LEVEL 24

typedef struct node {
    uint8_t *key;
    size_t key_len;
    uint8_t *val;
    size_t val_len;
    uint64_t version;
    int level;
    struct node *next[]; /* level entries */
} node;

typedef struct skiplist {
    node *head;
    int level;
    size_t count;
    uint64_t bytes;
} skiplist;

typedef struct mem_backend {
    mlops_backend base;
    pthread_rwlock_t lock;
    skiplist kv;
    skiplist blobs;
    uint64_t version; /* last version handed out */
    uint64_t rng;
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

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

static node *node_new(const mlops_env *env, int level)
{
    return mlops__calloc(env, 1, sizeof(node) + (size_t)level * sizeof(node *));
}

static void node_free(const mlops_env *env, node *n)
{
    if (n == NULL)
        return;
    mlops__free(env, n->key);
    mlops__free(env, n->val);
    mlops__free(env, n);
}

static mlops_status sl_init(skiplist *sl, const mlops_env *env)
{
    memset(sl, 0, sizeof(*sl));
    sl->head = node_new(env, MAX_LEVEL);
    if (sl->head == NULL)
        return mlops__nomem();
    sl->head->level = MAX_LEVEL;
    sl->level = 1;
    return MLOPS_OK;
}

static void sl_free(skiplist *sl, const mlops_env *env)
{
    if (sl->head == NULL)
        return;
    node *n = sl->head->next[0];
    while (n) {
        node *nx = n->next[0];
        node_free(env, n);
        n = nx;
    }
    mlops__free(env, sl->head);
    sl->head = NULL;
}

/* Fill update[] with the last node before key at each level; return the
 * first node >= key (or NULL). */
static node *sl_seek(skiplist *sl, const uint8_t *key, size_t key_len, node **update)
{
    node *x = sl->head;
    for (int i = sl->level - 1; i >= 0; i--) {
        while (x->next[i] && keycmp(x->next[i]->key, x->next[i]->key_len, key, key_len) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

static node *sl_find(skiplist *sl, const uint8_t *key, size_t key_len)
{
    node *n = sl_seek(sl, key, key_len, NULL);
    if (n && keycmp(n->key, n->key_len, key, key_len) == 0)
        return n;
    return NULL;
}

static int random_level(mem_backend *m)
{
    /* xorshift64*, one bit per level: p = 1/2 */
    uint64_t x = m->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rng = x;
    uint64_t r = x * 0x2545F4914F6CDD1DULL;
    int lvl = 1;
    while ((r & 1) && lvl < MAX_LEVEL) {
        lvl++;
        r >>= 1;
    }
    return lvl;
}

/* Make an unlinked node holding a copy of key; val is attached later. */
static node *node_make(mem_backend *m, const uint8_t *key, size_t key_len)
{
    const mlops_env *env = m->base.env;
    int lvl = random_level(m);
    node *x = node_new(env, lvl);
    if (x == NULL)
        return NULL;
    x->key = mlops__malloc(env, key_len);
    if (x->key == NULL) {
        mlops__free(env, x);
        return NULL;
    }
    memcpy(x->key, key, key_len);
    x->key_len = key_len;
    x->level = lvl;
    return x;
}

/* Insert or replace, never failing: fresh is a node from node_make() with
 * the same key; it is linked in if the key is new, otherwise freed. Takes
 * ownership of val. */
static void sl_put(mem_backend *m, skiplist *sl, node *fresh, uint8_t *val, size_t val_len,
                   uint64_t version)
{
    const mlops_env *env = m->base.env;
    node *update[MAX_LEVEL];
    node *n = sl_seek(sl, fresh->key, fresh->key_len, update);
    if (n && keycmp(n->key, n->key_len, fresh->key, fresh->key_len) == 0) {
        mlops__free(env, n->val);
        sl->bytes -= n->val_len;
        n->val = val;
        n->val_len = val_len;
        n->version = version;
        sl->bytes += val_len;
        node_free(env, fresh);
        return;
    }
    node *x = fresh;
    x->val = val;
    x->val_len = val_len;
    x->version = version;
    int lvl = x->level;
    if (lvl > sl->level) {
        for (int i = sl->level; i < lvl; i++)
            update[i] = sl->head;
        sl->level = lvl;
    }
    for (int i = 0; i < lvl; i++) {
        x->next[i] = update[i]->next[i];
        update[i]->next[i] = x;
    }
    sl->count++;
    sl->bytes += x->key_len + val_len;
}

static void sl_delete(mem_backend *m, skiplist *sl, const uint8_t *key, size_t key_len)
{
    node *update[MAX_LEVEL];
    node *n = sl_seek(sl, key, key_len, update);
    if (n == NULL || keycmp(n->key, n->key_len, key, key_len) != 0)
        return;
    for (int i = 0; i < n->level; i++) {
        if (update[i]->next[i] == n)
            update[i]->next[i] = n->next[i];
    }
    while (sl->level > 1 && sl->head->next[sl->level - 1] == NULL)
        sl->level--;
    sl->count--;
    sl->bytes -= n->key_len + n->val_len;
    node_free(m->base.env, n);
}

static mlops_status mem_get(mlops_backend *b, const uint8_t *key, size_t key_len,
                            mlops_bytes *value_out, uint64_t *version_out)
{
    mem_backend *m = (mem_backend *)b;
    pthread_rwlock_rdlock(&m->lock);
    node *n = sl_find(&m->kv, key, key_len);
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
    node *n = start_len ? sl_seek(&m->kv, start, start_len, NULL) : m->kv.head->next[0];
    size_t count = 0;
    mlops_status st = MLOPS_OK;
    for (; n != NULL; n = n->next[0]) {
        if (end_len && keycmp(n->key, n->key_len, end, end_len) >= 0)
            break;
        if (limit && count >= limit)
            break;
        count++;
        if (cb(n->key, n->key_len, n->val, n->val_len, n->version, payload) != 0) {
            st = MLOPS_E_CALLBACK;
            break;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    return st;
}

static mlops_status conflict(const mlops_batch_op *op, const char *why)
{
    char shown[64];
    size_t n = op->key_len < 40 ? op->key_len : 40;
    for (size_t i = 0; i < n; i++)
        shown[i] = (op->key[i] >= 0x20 && op->key[i] < 0x7f) ? (char)op->key[i] : '.';
    shown[n] = '\0';
    return mlops__error(MLOPS_E_CONFLICT, "precondition failed on key '%s%s': %s", shown,
                        op->key_len > 40 ? "..." : "", why);
}

static mlops_status mem_apply(mlops_backend *b, const mlops_batch_op *ops, size_t n_ops)
{
    mem_backend *m = (mem_backend *)b;
    const mlops_env *env = b->env;
    mlops_status st = MLOPS_OK;
    /* Copy every value first, so an allocation failure changes nothing. */
    uint8_t **vals = mlops__calloc(env, n_ops, sizeof(uint8_t *));
    node **nodes = mlops__calloc(env, n_ops, sizeof(node *));
    if (vals == NULL || nodes == NULL) {
        mlops__free(env, vals);
        mlops__free(env, nodes);
        return mlops__nomem();
    }
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].kind == MLOPS_OP_PUT) {
            vals[i] = mlops__malloc(env, ops[i].value_len);
            if (vals[i] == NULL) {
                st = mlops__nomem();
                goto out;
            }
            if (ops[i].value_len)
                memcpy(vals[i], ops[i].value, ops[i].value_len);
        }
    }
    pthread_rwlock_wrlock(&m->lock);
    for (size_t i = 0; i < n_ops && st == MLOPS_OK; i++) {
        const mlops_batch_op *op = &ops[i];
        node *n;
        switch (op->kind) {
        case MLOPS_OP_PUT:
        case MLOPS_OP_DELETE:
            break;
        case MLOPS_OP_REQUIRE_ABSENT:
            if (sl_find(&m->kv, op->key, op->key_len))
                st = conflict(op, "the key exists");
            break;
        case MLOPS_OP_REQUIRE_VALUE:
            n = sl_find(&m->kv, op->key, op->key_len);
            if (n == NULL)
                st = conflict(op, "the key is absent");
            else if (n->val_len != op->value_len ||
                     (n->val_len && memcmp(n->val, op->value, n->val_len) != 0))
                st = conflict(op, "the key holds another value");
            break;
        case MLOPS_OP_REQUIRE_VERSION:
            n = sl_find(&m->kv, op->key, op->key_len);
            if (n == NULL)
                st = conflict(op, "the key is absent");
            else if (n->version != op->version)
                st = conflict(op, "the key was changed since it was read");
            break;
        default:
            st = mlops__error(MLOPS_E_INVALID, "unknown batch operation kind %u", op->kind);
        }
    }
    /* Every node is made before anything changes, so a failed allocation
     * leaves the store as it was. */
    for (size_t i = 0; i < n_ops && st == MLOPS_OK; i++) {
        if (ops[i].kind == MLOPS_OP_PUT) {
            nodes[i] = node_make(m, ops[i].key, ops[i].key_len);
            if (nodes[i] == NULL)
                st = mlops__nomem();
        }
    }
    if (st == MLOPS_OK) {
        uint64_t ver = m->version + 1;
        for (size_t i = 0; i < n_ops; i++) {
            const mlops_batch_op *op = &ops[i];
            if (op->kind == MLOPS_OP_PUT) {
                sl_put(m, &m->kv, nodes[i], vals[i], op->value_len, ver);
                nodes[i] = NULL;
                vals[i] = NULL;
            } else if (op->kind == MLOPS_OP_DELETE) {
                sl_delete(m, &m->kv, op->key, op->key_len);
            }
        }
        m->version = ver;
    }
    pthread_rwlock_unlock(&m->lock);
out:
    for (size_t i = 0; i < n_ops; i++) {
        mlops__free(env, vals[i]);
        node_free(env, nodes[i]);
    }
    mlops__free(env, vals);
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
    node *n = sl_find(&m->blobs, id->bytes, 16);
    if (n != NULL) {
        /* a hash hit is only a dedup if the bytes are the same */
        if (n->val_len != w->buf.len || (n->val_len && memcmp(n->val, w->buf.data, n->val_len)))
            st = mlops__error(MLOPS_E_CONFLICT,
                              "a different blob already has this content address (hash "
                              "collision); refusing to confuse them");
    } else {
        uint8_t *data = w->buf.data ? w->buf.data : mlops__malloc(bw->backend->env, 1);
        if (data == NULL) {
            st = mlops__nomem();
        } else {
            node *fresh = node_make(m, id->bytes, 16);
            if (fresh == NULL) {
                st = mlops__nomem();
                if (data != w->buf.data)
                    mlops__free(bw->backend->env, data);
            } else {
                sl_put(m, &m->blobs, fresh, data, w->buf.len, 0);
                w->buf.data = NULL;
                w->buf.len = w->buf.cap = 0;
            }
        }
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
    node *n = sl_find(&m->blobs, id->bytes, 16);
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
    node *n = sl_find(&m->blobs, id->bytes, 16);
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
    sl_free(&m->kv, env);
    sl_free(&m->blobs, env);
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
    m->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)m;
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        mlops__free(env, m);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create the mem backend's lock");
    }
    mlops_status st = sl_init(&m->kv, env);
    if (st == MLOPS_OK)
        st = sl_init(&m->blobs, env);
    if (st != MLOPS_OK) {
        sl_free(&m->kv, env);
        sl_free(&m->blobs, env);
        pthread_rwlock_destroy(&m->lock);
        mlops__free(env, m);
        return st;
    }
    *out = &m->base;
    return MLOPS_OK;
}

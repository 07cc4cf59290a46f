/* SPDX-License-Identifier: MIT */
/* Skip list for order, open-addressing hash table for point reads. */
#include "store/index.h"
#include "store/store_internal.h"

static uint64_t key_hash(const uint8_t *key, size_t key_len)
{
    return mlops__xxh3_64(key, key_len, 0x6d6c6f7073696478ULL);
}

int mlops__idx_keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

static mlops__idx_node *node_alloc(const mlops_env *env, int level)
{
    return mlops__calloc(env, 1,
                         sizeof(mlops__idx_node) + (size_t)level * sizeof(mlops__idx_node *));
}

mlops_status mlops__idx_init(mlops__idx *x, const mlops_env *env)
{
    memset(x, 0, sizeof(*x));
    x->env = env;
    x->head = node_alloc(env, MLOPS__IDX_MAX_LEVEL);
    if (x->head == NULL)
        return mlops__nomem();
    x->head->level = MLOPS__IDX_MAX_LEVEL;
    x->level = 1;
    x->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)x;
    return MLOPS_OK;
}

void mlops__idx_node_free(const mlops__idx *x, mlops__idx_node *n)
{
    if (n == NULL)
        return;
    mlops__free(x->env, n->key);
    mlops__free(x->env, n->val);
    mlops__free(x->env, n);
}

void mlops__idx_free(mlops__idx *x)
{
    if (x->head == NULL)
        return;
    mlops__idx_node *n = x->head->next[0];
    while (n) {
        mlops__idx_node *nx = n->next[0];
        mlops__idx_node_free(x, n);
        n = nx;
    }
    mlops__free(x->env, x->head);
    mlops__free(x->env, x->slots);
    x->head = NULL;
    x->slots = NULL;
}

void mlops__idx_swap(mlops__idx *a, mlops__idx *b)
{
    mlops__idx t = *a;
    *a = *b;
    *b = t;
}

mlops__idx_node *mlops__idx_find(const mlops__idx *x, const uint8_t *key, size_t key_len)
{
    if (x->slots == NULL)
        return NULL;
    uint64_t h = key_hash(key, key_len);
    for (size_t i = (size_t)h & x->mask;; i = (i + 1) & x->mask) {
        mlops__idx_node *n = x->slots[i];
        if (n == NULL)
            return NULL;
        if (n->hash == h && n->key_len == key_len && memcmp(n->key, key, key_len) == 0)
            return n;
    }
}

/* Fill update[] with the last node before key at each level; return the
 * first node >= key. */
static mlops__idx_node *sl_seek(const mlops__idx *x, const uint8_t *key, size_t key_len,
                                mlops__idx_node **update)
{
    mlops__idx_node *p = x->head;
    for (int i = x->level - 1; i >= 0; i--) {
        while (p->next[i] &&
               mlops__idx_keycmp(p->next[i]->key, p->next[i]->key_len, key, key_len) < 0)
            p = p->next[i];
        if (update)
            update[i] = p;
    }
    return p->next[0];
}

mlops__idx_node *mlops__idx_seek(const mlops__idx *x, const uint8_t *key, size_t key_len)
{
    return sl_seek(x, key, key_len, NULL);
}

static int random_level(mlops__idx *x)
{
    uint64_t v = x->rng;
    v ^= v >> 12;
    v ^= v << 25;
    v ^= v >> 27;
    x->rng = v;
    uint64_t r = v * 0x2545F4914F6CDD1DULL;
    int lvl = 1;
    /* p = 1/4: fewer pointers, still O(log n) */
    while ((r & 3) == 0 && lvl < MLOPS__IDX_MAX_LEVEL) {
        lvl++;
        r >>= 2;
    }
    return lvl;
}

mlops__idx_node *mlops__idx_node_new(mlops__idx *x, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len, uint64_t version)
{
    int lvl = random_level(x);
    mlops__idx_node *n = node_alloc(x->env, lvl);
    if (n == NULL)
        return NULL;
    n->key = mlops__malloc(x->env, key_len ? key_len : 1);
    n->val = mlops__malloc(x->env, val_len ? val_len : 1);
    if (n->key == NULL || n->val == NULL) {
        mlops__idx_node_free(x, n);
        return NULL;
    }
    if (key_len)
        memcpy(n->key, key, key_len);
    if (val_len)
        memcpy(n->val, val, val_len);
    n->key_len = key_len;
    n->val_len = val_len;
    n->version = version;
    n->hash = key_hash(key, key_len);
    n->level = lvl;
    return n;
}

static void slot_put(mlops__idx_node **slots, size_t mask, mlops__idx_node *n)
{
    size_t i = (size_t)n->hash & mask;
    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = n;
}

mlops_status mlops__idx_reserve(mlops__idx *x, size_t extra)
{
    size_t need = x->count + extra;
    if (need < x->count)
        return mlops__error(MLOPS_E_TOOBIG, "index size overflow");
    size_t cap = x->slots ? x->mask + 1 : 0;
    if (need * 2 <= cap)
        return MLOPS_OK;
    size_t ncap = cap ? cap : 16;
    while (ncap < need * 2) {
        if (ncap > SIZE_MAX / 4 / sizeof(void *))
            return mlops__error(MLOPS_E_TOOBIG, "index too large");
        ncap *= 2;
    }
    mlops__idx_node **ns = mlops__calloc(x->env, ncap, sizeof(*ns));
    if (ns == NULL)
        return mlops__nomem();
    for (mlops__idx_node *n = x->head->next[0]; n; n = n->next[0])
        slot_put(ns, ncap - 1, n);
    mlops__free(x->env, x->slots);
    x->slots = ns;
    x->mask = ncap - 1;
    return MLOPS_OK;
}

void mlops__idx_insert(mlops__idx *x, mlops__idx_node *fresh)
{
    mlops__idx_node *old = mlops__idx_find(x, fresh->key, fresh->key_len);
    if (old != NULL) {
        uint8_t *v = old->val;
        size_t vl = old->val_len;
        x->bytes = x->bytes - vl + fresh->val_len;
        old->val = fresh->val;
        old->val_len = fresh->val_len;
        old->version = fresh->version;
        fresh->val = v;
        fresh->val_len = vl;
        mlops__idx_node_free(x, fresh);
        return;
    }
    mlops__idx_node *update[MLOPS__IDX_MAX_LEVEL];
    sl_seek(x, fresh->key, fresh->key_len, update);
    int lvl = fresh->level;
    if (lvl > x->level) {
        for (int i = x->level; i < lvl; i++)
            update[i] = x->head;
        x->level = lvl;
    }
    for (int i = 0; i < lvl; i++) {
        fresh->next[i] = update[i]->next[i];
        update[i]->next[i] = fresh;
    }
    slot_put(x->slots, x->mask, fresh);
    x->count++;
    x->bytes += fresh->key_len + fresh->val_len;
}

void mlops__idx_remove(mlops__idx *x, const uint8_t *key, size_t key_len)
{
    mlops__idx_node *n = mlops__idx_find(x, key, key_len);
    if (n == NULL)
        return;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    size_t i = (size_t)n->hash & x->mask;
    while (x->slots[i] != n)
        i = (i + 1) & x->mask;
    size_t j = i;
    for (;;) {
        x->slots[i] = NULL;
        for (;;) {
            j = (j + 1) & x->mask;
            if (x->slots[j] == NULL)
                goto unlinked;
            size_t home = (size_t)x->slots[j]->hash & x->mask;
            /* move slots[j] into the hole at i unless its home lies in (i, j] */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        x->slots[i] = x->slots[j];
        i = j;
    }
unlinked:;
    mlops__idx_node *update[MLOPS__IDX_MAX_LEVEL];
    sl_seek(x, key, key_len, update);
    for (int l = 0; l < n->level; l++) {
        if (update[l]->next[l] == n)
            update[l]->next[l] = n->next[l];
    }
    while (x->level > 1 && x->head->next[x->level - 1] == NULL)
        x->level--;
    x->count--;
    x->bytes -= n->key_len + n->val_len;
    mlops__idx_node_free(x, n);
}

mlops_status mlops__idx_scan(const mlops__idx *x, const uint8_t *start, size_t start_len,
                             const uint8_t *end, size_t end_len, size_t limit,
                             mlops_backend_scan_fn cb, void *payload)
{
    mlops__idx_node *n = start_len ? mlops__idx_seek(x, start, start_len) : mlops__idx_first(x);
    size_t count = 0;
    for (; n != NULL; n = n->next[0]) {
        if (end_len && mlops__idx_keycmp(n->key, n->key_len, end, end_len) >= 0)
            break;
        if (limit && count >= limit)
            break;
        count++;
        if (cb(n->key, n->key_len, n->val, n->val_len, n->version, payload) != 0)
            return MLOPS_E_CALLBACK;
    }
    return MLOPS_OK;
}

mlops_status mlops__idx_check(const mlops__idx *x, const mlops_batch_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const mlops_batch_op *op = &ops[i];
        const mlops__idx_node *node;
        switch (op->kind) {
        case MLOPS_OP_PUT:
        case MLOPS_OP_DELETE:
            break;
        case MLOPS_OP_REQUIRE_ABSENT:
            if (mlops__idx_find(x, op->key, op->key_len))
                return mlops__store_conflict(op, "the key exists");
            break;
        case MLOPS_OP_REQUIRE_VALUE:
            node = mlops__idx_find(x, op->key, op->key_len);
            if (node == NULL)
                return mlops__store_conflict(op, "the key is absent");
            if (node->val_len != op->value_len ||
                (node->val_len && memcmp(node->val, op->value, node->val_len) != 0))
                return mlops__store_conflict(op, "the key holds another value");
            break;
        case MLOPS_OP_REQUIRE_VERSION:
            node = mlops__idx_find(x, op->key, op->key_len);
            if (node == NULL)
                return mlops__store_conflict(op, "the key is absent");
            if (node->version != op->version)
                return mlops__store_conflict(op, "the key was changed since it was read");
            break;
        default:
            return mlops__error(MLOPS_E_INVALID, "unknown batch operation kind %u", op->kind);
        }
    }
    return MLOPS_OK;
}

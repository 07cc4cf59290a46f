/* SPDX-License-Identifier: MIT */
/* The in-memory ordered index shared by the mem and file backends: a skip
 * list for key order and an open-addressing hash table for point reads.
 * Not thread-safe: the backends wrap it in their own locks. */
#ifndef MLOPS_STORE_INDEX_H
#define MLOPS_STORE_INDEX_H

#include "core/core.h"
#include "mlops/store.h"

#define MLOPS__IDX_MAX_LEVEL 24

typedef struct mlops__idx_node {
    uint8_t *key;
    size_t key_len;
    uint8_t *val;
    size_t val_len;
    uint64_t version;
    uint64_t hash;
    int level;
    struct mlops__idx_node *next[]; /* level entries */
} mlops__idx_node;

typedef struct mlops__idx {
    const mlops_env *env;
    mlops__idx_node *head;
    int level;
    size_t count;
    uint64_t bytes; /* keys + values */
    uint64_t rng;
    mlops__idx_node **slots; /* linear probing; NULL is empty */
    size_t mask;             /* slots - 1 (a power of two minus one), 0 before the first reserve */
} mlops__idx;

mlops_status mlops__idx_init(mlops__idx *x, const mlops_env *env);
void mlops__idx_free(mlops__idx *x);
/* Exchange the contents of two indexes (for an atomic rebuild). */
void mlops__idx_swap(mlops__idx *a, mlops__idx *b);

int mlops__idx_keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
mlops__idx_node *mlops__idx_find(const mlops__idx *x, const uint8_t *key, size_t key_len);
/* First node with key >= key; NULL at the end. */
mlops__idx_node *mlops__idx_seek(const mlops__idx *x, const uint8_t *key, size_t key_len);
static inline mlops__idx_node *mlops__idx_first(const mlops__idx *x)
{
    return x->head->next[0];
}

/* An unlinked node holding copies of key and value; NULL if out of memory. */
mlops__idx_node *mlops__idx_node_new(mlops__idx *x, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len, uint64_t version);
void mlops__idx_node_free(const mlops__idx *x, mlops__idx_node *n);
/* Make room so that `extra` more inserts cannot fail. */
mlops_status mlops__idx_reserve(mlops__idx *x, size_t extra);
/* Link fresh (from node_new), replacing the value of an existing key (fresh is
 * then freed). Never fails after a reserve covering it. */
void mlops__idx_insert(mlops__idx *x, mlops__idx_node *fresh);
/* Remove a key if present. Never fails. */
void mlops__idx_remove(mlops__idx *x, const uint8_t *key, size_t key_len);

/* Visit [start, end) in key order (empty bounds: none), at most limit pairs
 * (0: no limit); MLOPS_E_CALLBACK when cb stops it. The caller holds the
 * index's read lock. */
mlops_status mlops__idx_scan(const mlops__idx *x, const uint8_t *start, size_t start_len,
                             const uint8_t *end, size_t end_len, size_t limit,
                             mlops_backend_scan_fn cb, void *payload);
/* Check a batch's preconditions: MLOPS_E_CONFLICT naming the first that
 * fails, MLOPS_E_INVALID for an unknown operation kind. */
mlops_status mlops__idx_check(const mlops__idx *x, const mlops_batch_op *ops, size_t n);

#endif

/* SPDX-License-Identifier: MIT */
/* Internal store interface: backend constructors and helpers for modules. */
#ifndef MLOPS_STORE_INTERNAL_H
#define MLOPS_STORE_INTERNAL_H

#include "core/core.h"
#include "mlops/store.h"

/* Backend constructors. Each returns a backend whose env is set (a reference
 * is NOT taken by the backend; the store holds the env alive). */
mlops_status mlops__mem_backend_new(mlops_backend **out, mlops_env *env);
mlops_status mlops__file_backend_new(mlops_backend **out, mlops_env *env, const char *path,
                                     const mlops_store_options *opts);
mlops_status mlops__postgres_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                         const mlops_store_options *opts);
mlops_status mlops__redis_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                      const mlops_store_options *opts);

/* mlops_store_open() with the file backend's I/O going through io (see
 * store/file/io.h; NULL: the real system calls). For tests: fault
 * injection, in-memory file systems. io is borrowed and must outlive the
 * store. */
struct mlops__io;
mlops_status mlops__file_backend_new_io(mlops_backend **out, mlops_env *env, const char *path,
                                        const mlops_store_options *opts,
                                        const struct mlops__io *io);
mlops_status mlops__store_open_io(mlops_store **out, mlops_env *env, const char *uri,
                                  const mlops_store_options *opts, const struct mlops__io *io);

/* Children (runs, registries, views...) keep their store alive. */
mlops_store *mlops__store_ref(mlops_store *store);
void mlops__store_unref(mlops_store *store);

/* True if the store was opened read-only. */
bool mlops__store_readonly(const mlops_store *store);

/* The smallest key greater than every key starting with prefix: prefix with
 * trailing 0xFF bytes dropped and the last byte incremented. Returns its
 * length (0: no bound, the prefix was all 0xFF). out holds prefix_len bytes. */
size_t mlops__prefix_end(uint8_t *out, const uint8_t *prefix, size_t prefix_len);

/* Test hook: replace the blob address function (to force collisions). NULL restores XXH3. */
typedef void (*mlops__blob_hash_hook)(mlops_hash128 *out, const mlops_hash128 *real);
void mlops__store_set_blob_hash_hook(mlops_store *store, mlops__blob_hash_hook hook);

/* MLOPS_E_CONFLICT for a failed precondition, naming the key (printable
 * bytes, at most 40) and why; every backend words it the same. */
mlops_status mlops__store_conflict(const mlops_batch_op *op, const char *why);

#endif

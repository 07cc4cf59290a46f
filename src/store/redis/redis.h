/* SPDX-License-Identifier: MIT */
/* Internal: the Redis backend's pipelined multi-key read, for the online
 * store until the vtable grows a batched get. */
#ifndef MLOPS_STORE_REDIS_H
#define MLOPS_STORE_REDIS_H

#include "store/store_internal.h"

/* Read n keys in one pipelined round trip. statuses[i] is MLOPS_OK,
 * MLOPS_E_NOTFOUND or another error for key i; values[i] must be released
 * with mlops_bytes_free(); versions may be NULL. Returns MLOPS_OK unless the
 * whole call failed (connection lost, not a redis backend). */
mlops_status mlops__redis_get_many(mlops_backend *b, size_t n, const uint8_t *const *keys,
                                   const size_t *key_lens, mlops_bytes *values,
                                   uint64_t *versions, mlops_status *statuses);

#endif

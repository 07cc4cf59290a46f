/* SPDX-License-Identifier: MIT */
/* An in-memory file system behind the file backend's I/O table
 * (src/store/file/io.h), so a fuzz target can hand the backend a store
 * directory built from its input without touching the disk. One directory
 * tree per process; memio_reset() empties it. Directory listings (the
 * backend reads them with fdopendir) see an empty real directory. */
#ifndef MLOPS_FUZZ_MEMIO_H
#define MLOPS_FUZZ_MEMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/file/io.h"

/* The store directory's path as the backend is given it. */
#define MEMIO_ROOT "memstore"

const mlops__io *memio_table(void);
void memio_reset(void);
/* Create (or replace) a file; dir is NULL for the store directory or a
 * path of directories below it ("blobs/ab"), made as needed. */
void memio_put(const char *dir, const char *name, const uint8_t *data, size_t len);
/* Bytes of a file now (NULL if it does not exist). */
const uint8_t *memio_get(const char *dir, const char *name, size_t *len);

#endif

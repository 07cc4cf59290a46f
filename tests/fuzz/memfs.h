/* SPDX-License-Identifier: MIT */
/* An in-memory file system behind the file backend's I/O table
 * (src/store/file/io.h), the fuzzing analog of SQLite's test VFS: the file
 * backend runs its real code (log, superblock, recovery, compaction, blobs)
 * but every open, write, rename and fsync is a few memory operations, so a
 * store open / operations / reopen costs microseconds instead of system
 * calls. Semantics follow Linux for what the backend relies on: openat
 * flags (O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, access modes), pread and
 * pwrite past the end, renameat2 with RENAME_NOREPLACE, unlinkat with
 * AT_REMOVEDIR, open-file-description write locks, unlinked files that stay
 * readable while open, ENAMETOOLONG/ENOTDIR/EISDIR/ENOTEMPTY. Paths are
 * resolved from the file system's root for AT_FDCWD and absolute paths;
 * there are no symlinks, permissions or durability (fsync succeeds).
 * Descriptors are numbers no real descriptor reaches (>= 1 << 24).
 * Thread-safe (one mutex): the backend's syncer thread may use it. */
#ifndef MLOPS_FUZZ_MEMFS_H
#define MLOPS_FUZZ_MEMFS_H

#include <stddef.h>

#include "store/file/io.h"

typedef struct memfs memfs;

memfs *memfs_new(void);
void memfs_free(memfs *fs);
/* Forget every file and directory. Descriptors still open become invalid. */
void memfs_reset(memfs *fs);
/* The table to hand to mlops__store_open_io(); valid until memfs_free(). */
const mlops__io *memfs_io(memfs *fs);
/* Descriptors open now (a closed store must have left none). */
size_t memfs_open_fds(memfs *fs);
/* Directory entries in the whole tree (files and directories, root not counted). */
size_t memfs_entries(memfs *fs);

#endif

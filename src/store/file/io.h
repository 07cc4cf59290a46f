/* SPDX-License-Identifier: MIT */
/* The file backend's I/O table (as SQLite's VFS or RocksDB's FileSystem):
 * every file operation of the backend goes through one of these function
 * pointers, so tests can fail, shorten or "crash" any single operation.
 * Each member behaves like the system call it is named after: it returns
 * -1 and sets errno on failure. */
#ifndef MLOPS_STORE_FILE_IO_H
#define MLOPS_STORE_FILE_IO_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "store/store_internal.h"

typedef struct mlops__io {
    void *payload; /* passed to every member */
    /* openat; beneath != 0: refuse symlinks and escapes from dirfd
     * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or O_NOFOLLOW) */
    int (*open)(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath);
    int (*close)(void *p, int fd);
    ssize_t (*pread)(void *p, int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(void *p, int fd, const void *buf, size_t n, off_t off);
    int (*fsync)(void *p, int fd);
    int (*fdatasync)(void *p, int fd);
    int (*ftruncate)(void *p, int fd, off_t len);
    int (*fstat)(void *p, int fd, struct stat *st);
    /* fstatat without following symlinks */
    int (*fstatat)(void *p, int dirfd, const char *name, struct stat *st);
    /* renameat2 (flags: 0 or RENAME_NOREPLACE) */
    int (*rename)(void *p, int olddir, const char *oldname, int newdir, const char *newname,
                  unsigned flags);
    int (*unlink)(void *p, int dirfd, const char *name, int flags);
    int (*mkdir)(void *p, int dirfd, const char *name, mode_t mode);
    /* fcntl(fd, cmd, fl) for F_OFD_SETLK / F_OFD_GETLK */
    int (*lock)(void *p, int fd, int cmd, struct flock *fl);
    /* List directory dirfd: fn(arg, name) for each entry but "." and "..",
     * until fn returns non-zero. Entries added or removed meanwhile may or
     * may not be seen. NULL in a table: the real directory is listed (so
     * tables written before this member keep working). */
    int (*list)(void *p, int dirfd, int (*fn)(void *arg, const char *name), void *arg);
    /* fcntl(fd, F_DUPFD_CLOEXEC, 0); NULL: the real one */
    int (*dup)(void *p, int fd);
} mlops__io;

/* The real system calls. */
const mlops__io *mlops__io_default(void);

/* io->list and io->dup, or the real ones when the table has none. */
int mlops__io_list(const mlops__io *io, int dirfd, int (*fn)(void *arg, const char *name),
                   void *arg);
int mlops__io_dup(const mlops__io *io, int fd);

/* Open a file store through a given I/O table (tests). io is borrowed and
 * must outlive the backend. */
mlops_status mlops__file_backend_new_io(mlops_backend **out, mlops_env *env, const char *path,
                                        const mlops_store_options *opts, const mlops__io *io);

#endif

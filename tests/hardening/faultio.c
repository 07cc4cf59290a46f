/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faultio.h"

#define REAL mlops__io_default()

enum { K_CREATE, K_WRITE, K_SYNC, K_TRUNC, K_RENAME, K_UNLINK, K_MKDIR };

static const char *const kind_names[] = {"create", "write", "sync", "truncate",
                                         "rename", "unlink", "mkdir"};

/* 0: go on; 1: fail (errno set); 2: shorten; 3: crash after the operation */
static int hit(fault_io *f, int kind)
{
    if (f->mode == FIO_READ_ERRNO)
        return 0;
    f->ops++;
    if (f->trace)
        fprintf(stderr, "faultio: op %ld %s\n", f->ops, kind_names[kind]);
    if (f->at == 0 || f->mode == FIO_NONE)
        return 0;
    if (f->ops < f->at || (f->ops > f->at && !f->persistent))
        return 0;
    if (f->mode == FIO_ERRNO && f->only_writes && kind != K_WRITE && kind != K_TRUNC)
        return 0;
    if (f->mode == FIO_ERRNO && f->only_syncs && kind != K_SYNC)
        return 0;
    if ((f->mode == FIO_SHORT) && kind != K_WRITE)
        return 0;
    /* EINTR where the kernel gives it on local files (O4): writes, syncs */
    if (f->mode == FIO_EINTR && kind != K_WRITE && kind != K_SYNC && kind != K_TRUNC)
        return 0;
    f->hits++;
    switch (f->mode) {
    case FIO_CRASH_BEFORE:
        _exit(137);
    case FIO_CRASH_AFTER:
        return 3;
    case FIO_ERRNO:
        errno = f->err;
        return 1;
    case FIO_EINTR:
        errno = EINTR;
        return 1;
    case FIO_SHORT:
        return 2;
    default:
        return 0;
    }
}

static int x_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    int h = (flags & O_CREAT) ? hit(p, K_CREATE) : 0;
    if (h == 1)
        return -1;
    int r = REAL->open(NULL, dirfd, name, flags, mode, beneath);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_close(void *p, int fd)
{
    (void)p;
    return REAL->close(NULL, fd);
}
static ssize_t x_pread(void *p, int fd, void *buf, size_t n, off_t off)
{
    fault_io *f = p;
    if (f->mode == FIO_READ_ERRNO) {
        f->reads++;
        if (f->at && (f->reads == f->at || (f->persistent && f->reads > f->at))) {
            f->hits++;
            errno = f->err;
            return -1;
        }
    }
    return REAL->pread(NULL, fd, buf, n, off);
}
static ssize_t x_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    int h = hit(p, K_WRITE);
    if (h == 1)
        return -1;
    if (h == 2 && n > 1)
        n /= 2;
    ssize_t r = REAL->pwrite(NULL, fd, buf, n, off);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_fsync(void *p, int fd)
{
    int h = hit(p, K_SYNC);
    if (h == 1)
        return -1;
    int r = REAL->fsync(NULL, fd);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_fdatasync(void *p, int fd)
{
    int h = hit(p, K_SYNC);
    if (h == 1)
        return -1;
    int r = REAL->fdatasync(NULL, fd);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_ftruncate(void *p, int fd, off_t len)
{
    int h = hit(p, K_TRUNC);
    if (h == 1)
        return -1;
    int r = REAL->ftruncate(NULL, fd, len);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_fstat(void *p, int fd, struct stat *st)
{
    (void)p;
    return REAL->fstat(NULL, fd, st);
}
static int x_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    (void)p;
    return REAL->fstatat(NULL, dirfd, name, st);
}
static int x_rename(void *p, int od, const char *on, int nd, const char *nn, unsigned flags)
{
    int h = hit(p, K_RENAME);
    if (h == 1)
        return -1;
    int r = REAL->rename(NULL, od, on, nd, nn, flags);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_unlink(void *p, int dirfd, const char *name, int flags)
{
    int h = hit(p, K_UNLINK);
    if (h == 1)
        return -1;
    int r = REAL->unlink(NULL, dirfd, name, flags);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    int h = hit(p, K_MKDIR);
    if (h == 1)
        return -1;
    int r = REAL->mkdir(NULL, dirfd, name, mode);
    if (h == 3)
        _exit(137);
    return r;
}
static int x_lock(void *p, int fd, int cmd, struct flock *fl)
{
    (void)p;
    return REAL->lock(NULL, fd, cmd, fl);
}

void fault_io_init(fault_io *f)
{
    memset(f, 0, sizeof(*f));
    f->io = (mlops__io){f,        x_open,      x_close,    x_pread, x_pwrite, x_fsync,
                        x_fdatasync, x_ftruncate, x_fstat, x_fstatat, x_rename, x_unlink,
                        x_mkdir,  x_lock};
}

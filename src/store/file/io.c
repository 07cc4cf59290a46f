/* SPDX-License-Identifier: MIT */
/* The default I/O table: the real system calls. */
#include <dirent.h>
#include <errno.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store/file/io.h"

static int d_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    (void)p;
    flags |= O_CLOEXEC;
    if (!beneath)
        return openat(dirfd, name, flags, mode);
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_NOFOLLOW);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return (int)fd;
#endif
    return openat(dirfd, name, flags | O_NOFOLLOW, mode);
}

static int d_close(void *p, int fd)
{
    (void)p;
    return close(fd);
}

static ssize_t d_pread(void *p, int fd, void *buf, size_t n, off_t off)
{
    (void)p;
    return pread(fd, buf, n, off);
}

static ssize_t d_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    (void)p;
    return pwrite(fd, buf, n, off);
}

static int d_fsync(void *p, int fd)
{
    (void)p;
    return fsync(fd);
}

static int d_fdatasync(void *p, int fd)
{
    (void)p;
    return fdatasync(fd);
}

static int d_ftruncate(void *p, int fd, off_t len)
{
    (void)p;
    return ftruncate(fd, len);
}

static int d_fstat(void *p, int fd, struct stat *st)
{
    (void)p;
    return fstat(fd, st);
}

static int d_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    (void)p;
    return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW);
}

static int d_rename(void *p, int olddir, const char *oldname, int newdir, const char *newname,
                    unsigned flags)
{
    (void)p;
    return renameat2(olddir, oldname, newdir, newname, flags);
}

static int d_unlink(void *p, int dirfd, const char *name, int flags)
{
    (void)p;
    return unlinkat(dirfd, name, flags);
}

static int d_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    (void)p;
    return mkdirat(dirfd, name, mode);
}

static int d_lock(void *p, int fd, int cmd, struct flock *fl)
{
    (void)p;
    return fcntl(fd, cmd, fl);
}

static int d_list(void *p, int dirfd, int (*fn)(void *arg, const char *name), void *arg)
{
    (void)p;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fn(arg, de->d_name) != 0)
            break;
    }
    closedir(d);
    return 0;
}

static int d_dup(void *p, int fd)
{
    (void)p;
    return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static const mlops__io default_io = {
    NULL,      d_open,   d_close,  d_pread,  d_pwrite, d_fsync, d_fdatasync,
    d_ftruncate, d_fstat, d_fstatat, d_rename, d_unlink, d_mkdir, d_lock, d_list, d_dup,
};

const mlops__io *mlops__io_default(void)
{
    return &default_io;
}

int mlops__io_list(const mlops__io *io, int dirfd, int (*fn)(void *arg, const char *name),
                   void *arg)
{
    if (io->list != NULL)
        return io->list(io->payload, dirfd, fn, arg);
    return d_list(NULL, dirfd, fn, arg);
}

int mlops__io_dup(const mlops__io *io, int fd)
{
    if (io->dup != NULL)
        return io->dup(io->payload, fd);
    return d_dup(NULL, fd);
}

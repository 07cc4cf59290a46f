/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "memio.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

#define MF_NODES 32
#define MF_FDS 32
/* far above any descriptor the process really has: a stray close() of one
 * by the backend (it closes listing descriptors itself) is a harmless EBADF */
#define MF_FD_BASE 900000

typedef struct mf_node {
    bool used, dir;
    int parent;
    char name[64];
    uint8_t *data;
    size_t len, cap;
} mf_node;

static mf_node nodes[MF_NODES];
static int fds[MF_FDS]; /* node + 1; 0 free */
static char empty_dir[4200];

static void node_free(int i)
{
    free(nodes[i].data);
    memset(&nodes[i], 0, sizeof(nodes[i]));
}

void memio_reset(void)
{
    for (int i = 0; i < MF_NODES; i++)
        node_free(i);
    memset(fds, 0, sizeof(fds));
    nodes[0].used = nodes[0].dir = true;
    nodes[0].parent = -1;
    snprintf(nodes[0].name, sizeof(nodes[0].name), "%s", MEMIO_ROOT);
}

static int lookup(int parent, const char *name)
{
    for (int i = 1; i < MF_NODES; i++)
        if (nodes[i].used && nodes[i].parent == parent && strcmp(nodes[i].name, name) == 0)
            return i;
    return -1;
}

static int node_new(int parent, const char *name, bool dir)
{
    if (strlen(name) >= sizeof(nodes[0].name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (int i = 1; i < MF_NODES; i++)
        if (!nodes[i].used) {
            nodes[i].used = true;
            nodes[i].dir = dir;
            nodes[i].parent = parent;
            snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", name);
            return i;
        }
    errno = ENOSPC;
    return -1;
}

static int fd_node(int fd)
{
    if (fd < MF_FD_BASE || fd >= MF_FD_BASE + MF_FDS || fds[fd - MF_FD_BASE] == 0)
        return -1;
    return fds[fd - MF_FD_BASE] - 1;
}

/* The directory a name is relative to, or -1 (errno set). */
static int dir_of(int dirfd, const char *name, const char **rest)
{
    *rest = name;
    if (dirfd == AT_FDCWD) {
        if (strcmp(name, MEMIO_ROOT) == 0) {
            *rest = NULL;
            return 0;
        }
        errno = ENOENT;
        return -1;
    }
    int n = fd_node(dirfd);
    if (n < 0) {
        errno = EBADF;
        return -1;
    }
    if (!nodes[n].dir) {
        errno = ENOTDIR;
        return -1;
    }
    return n;
}

static int fd_new(int node)
{
    for (int i = 0; i < MF_FDS; i++)
        if (fds[i] == 0) {
            fds[i] = node + 1;
            return MF_FD_BASE + i;
        }
    errno = EMFILE;
    return -1;
}

static int m_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    (void)p;
    (void)mode;
    (void)beneath;
    const char *rest;
    int d = dir_of(dirfd, name, &rest);
    if (d < 0)
        return -1;
    if (rest == NULL)
        return fd_new(d);
    if (strcmp(rest, ".") == 0) {
        /* a listing: the backend reads it with fdopendir(), so a real one */
        if (empty_dir[0] == '\0')
            snprintf(empty_dir, sizeof(empty_dir), "%s/empty", fz_scratch_dir());
        mkdir(empty_dir, 0755);
        return open(empty_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (strchr(rest, '/') != NULL) {
        errno = EXDEV; /* the backend never opens a path */
        return -1;
    }
    int n = lookup(d, rest);
    if (n < 0) {
        if (!(flags & O_CREAT)) {
            errno = ENOENT;
            return -1;
        }
        n = node_new(d, rest, false);
        if (n < 0)
            return -1;
    } else if ((flags & O_CREAT) && (flags & O_EXCL)) {
        errno = EEXIST;
        return -1;
    }
    if ((flags & O_DIRECTORY) && !nodes[n].dir) {
        errno = ENOTDIR;
        return -1;
    }
    if (!(flags & O_DIRECTORY) && nodes[n].dir && (flags & O_ACCMODE) != O_RDONLY) {
        errno = EISDIR;
        return -1;
    }
    if (flags & O_TRUNC)
        nodes[n].len = 0;
    return fd_new(n);
}

static int m_close(void *p, int fd)
{
    (void)p;
    if (fd_node(fd) < 0) {
        errno = EBADF;
        return -1;
    }
    fds[fd - MF_FD_BASE] = 0;
    return 0;
}

static ssize_t m_pread(void *p, int fd, void *buf, size_t n, off_t off)
{
    (void)p;
    int i = fd_node(fd);
    if (i < 0 || off < 0) {
        errno = i < 0 ? EBADF : EINVAL;
        return -1;
    }
    if (nodes[i].dir) {
        errno = EISDIR;
        return -1;
    }
    if ((size_t)off >= nodes[i].len)
        return 0;
    size_t k = nodes[i].len - (size_t)off;
    if (k > n)
        k = n;
    memcpy(buf, nodes[i].data + off, k);
    return (ssize_t)k;
}

static int grow(mf_node *nd, size_t len)
{
    if (len > (64u << 20)) {
        errno = EFBIG;
        return -1;
    }
    if (len > nd->cap) {
        size_t cap = nd->cap ? nd->cap : 256;
        while (cap < len)
            cap *= 2;
        uint8_t *nb = realloc(nd->data, cap);
        if (nb == NULL) {
            errno = ENOMEM;
            return -1;
        }
        nd->data = nb;
        nd->cap = cap;
    }
    if (len > nd->len)
        memset(nd->data + nd->len, 0, len - nd->len);
    nd->len = len;
    return 0;
}

static ssize_t m_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    (void)p;
    int i = fd_node(fd);
    if (i < 0 || off < 0 || nodes[i].dir) {
        errno = i < 0 ? EBADF : EINVAL;
        return -1;
    }
    size_t end = (size_t)off + n;
    if (end > nodes[i].len && grow(&nodes[i], end) != 0)
        return -1;
    memcpy(nodes[i].data + off, buf, n);
    return (ssize_t)n;
}

static int m_sync(void *p, int fd)
{
    (void)p;
    if (fd_node(fd) < 0) {
        errno = EBADF;
        return -1;
    }
    return 0;
}

static int m_ftruncate(void *p, int fd, off_t len)
{
    (void)p;
    int i = fd_node(fd);
    if (i < 0 || len < 0 || nodes[i].dir) {
        errno = i < 0 ? EBADF : EINVAL;
        return -1;
    }
    if ((size_t)len <= nodes[i].len) {
        nodes[i].len = (size_t)len;
        return 0;
    }
    return grow(&nodes[i], (size_t)len);
}

static void fill_stat(int i, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_mode = nodes[i].dir ? (S_IFDIR | 0755) : (S_IFREG | 0644);
    st->st_size = (off_t)nodes[i].len;
    st->st_ino = (ino_t)(i + 1);
    st->st_nlink = 1;
    st->st_blksize = 4096;
}

static int m_fstat(void *p, int fd, struct stat *st)
{
    (void)p;
    int i = fd_node(fd);
    if (i < 0) {
        errno = EBADF;
        return -1;
    }
    fill_stat(i, st);
    return 0;
}

static int m_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    (void)p;
    const char *rest;
    int d = dir_of(dirfd, name, &rest);
    if (d < 0)
        return -1;
    int i = rest == NULL ? d : lookup(d, rest);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    fill_stat(i, st);
    return 0;
}

static int m_rename(void *p, int od, const char *on, int nd, const char *nn, unsigned flags)
{
    (void)p;
    const char *ro, *rn;
    int a = dir_of(od, on, &ro), b = dir_of(nd, nn, &rn);
    if (a < 0 || b < 0)
        return -1;
    if (ro == NULL || rn == NULL || strlen(rn) >= sizeof(nodes[0].name)) {
        errno = EINVAL;
        return -1;
    }
    int i = lookup(a, ro);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    int j = lookup(b, rn);
    if (j >= 0 && j != i) {
        if (flags & RENAME_NOREPLACE) {
            errno = EEXIST;
            return -1;
        }
        node_free(j);
    }
    nodes[i].parent = b;
    snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", rn);
    return 0;
}

static int m_unlink(void *p, int dirfd, const char *name, int flags)
{
    (void)p;
    const char *rest;
    int d = dir_of(dirfd, name, &rest);
    if (d < 0)
        return -1;
    int i = rest == NULL ? -1 : lookup(d, rest);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    if (nodes[i].dir != ((flags & AT_REMOVEDIR) != 0)) {
        errno = nodes[i].dir ? EISDIR : ENOTDIR;
        return -1;
    }
    for (int k = 0; k < MF_NODES; k++)
        if (nodes[k].used && nodes[k].parent == i) {
            errno = ENOTEMPTY;
            return -1;
        }
    /* an open descriptor keeps reading the old bytes on a real system; the
     * backend unlinks only files it no longer reads, so drop them */
    for (int k = 0; k < MF_FDS; k++)
        if (fds[k] == i + 1)
            fds[k] = 0;
    node_free(i);
    return 0;
}

static int m_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    (void)p;
    (void)mode;
    const char *rest;
    int d = dir_of(dirfd, name, &rest);
    if (d < 0)
        return -1;
    if (rest == NULL || lookup(d, rest) >= 0) {
        errno = EEXIST;
        return -1;
    }
    return node_new(d, rest, true) < 0 ? -1 : 0;
}

static int m_lock(void *p, int fd, int cmd, struct flock *fl)
{
    (void)p;
    if (fd_node(fd) < 0) {
        errno = EBADF;
        return -1;
    }
    if (cmd == F_OFD_GETLK)
        fl->l_type = F_UNLCK;
    return 0;
}

static int m_list(void *p, int dirfd, int (*fn)(void *arg, const char *name), void *arg)
{
    (void)p;
    int d = fd_node(dirfd);
    if (d < 0) {
        /* a real descriptor: the empty directory opened for "." */
        errno = EBADF;
        return dirfd >= 0 && dirfd < MF_FD_BASE ? 0 : -1;
    }
    if (!nodes[d].dir) {
        errno = ENOTDIR;
        return -1;
    }
    for (int i = 1; i < MF_NODES; i++)
        if (nodes[i].used && nodes[i].parent == d && fn(arg, nodes[i].name) != 0)
            break;
    return 0;
}

static int m_dup(void *p, int fd)
{
    (void)p;
    int n = fd_node(fd);
    if (n < 0)
        return fcntl(fd, F_DUPFD_CLOEXEC, 0); /* the real empty directory */
    return fd_new(n);
}

static const mlops__io table = {
    .payload = NULL,
    .open = m_open,
    .close = m_close,
    .pread = m_pread,
    .pwrite = m_pwrite,
    .fsync = m_sync,
    .fdatasync = m_sync,
    .ftruncate = m_ftruncate,
    .fstat = m_fstat,
    .fstatat = m_fstatat,
    .rename = m_rename,
    .unlink = m_unlink,
    .mkdir = m_mkdir,
    .lock = m_lock,
    .list = m_list,
    .dup = m_dup,
};

const mlops__io *memio_table(void)
{
    return &table;
}

static int dir_path(const char *dir)
{
    int d = 0;
    if (dir == NULL)
        return 0;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *s = strtok(buf, "/"); s != NULL; s = strtok(NULL, "/")) {
        int n = lookup(d, s);
        if (n < 0)
            n = node_new(d, s, true);
        if (n < 0)
            abort();
        d = n;
    }
    return d;
}

void memio_put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    int d = dir_path(dir);
    int i = lookup(d, name);
    if (i < 0)
        i = node_new(d, name, false);
    if (i < 0)
        abort();
    nodes[i].len = 0;
    if (grow(&nodes[i], len) != 0)
        abort();
    if (len)
        memcpy(nodes[i].data, data, len);
}

const uint8_t *memio_get(const char *dir, const char *name, size_t *len)
{
    int d = dir_path(dir);
    int i = lookup(d, name);
    if (i < 0)
        return NULL;
    *len = nodes[i].len;
    return nodes[i].data;
}

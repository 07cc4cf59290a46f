/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memfs.h"

#define FD_BASE (1 << 24)
#define NAME_MAX_ 255
#define PATH_MAX_ 4096

typedef struct mnode mnode;

typedef struct mentry {
    char *name;
    mnode *node;
} mentry;

struct mnode {
    bool dir;
    uint64_t ino;
    int nlink;   /* 0: unlinked (or removed directory) */
    int opens;   /* descriptors referring to it */
    size_t slot; /* index in memfs.nodes */
    /* regular files */
    uint8_t *data;
    size_t len, cap;
    /* directories */
    mentry *ents;
    size_t nents, ecap;
    mnode *parent;
    /* the open file description holding the write lock; 0: none */
    uint64_t lock_desc;
};

typedef struct mfd {
    mnode *node; /* NULL: free slot */
    int acc;     /* O_RDONLY, O_WRONLY, O_RDWR */
    uint64_t desc;
} mfd;

struct memfs {
    mlops__io io;
    pthread_mutex_t mu;
    mnode *root;
    mnode **nodes;
    size_t nnodes, ncap;
    mfd *fds;
    size_t nfds, fcap;
    uint64_t next_ino, next_desc;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        abort();
    return q;
}

static mnode *node_new(memfs *fs, bool dir, mnode *parent)
{
    mnode *n = calloc(1, sizeof(*n));
    if (n == NULL)
        abort();
    n->dir = dir;
    n->ino = ++fs->next_ino;
    n->nlink = 1;
    n->parent = parent ? parent : n;
    if (fs->nnodes == fs->ncap) {
        fs->ncap = fs->ncap ? fs->ncap * 2 : 64;
        fs->nodes = xrealloc(fs->nodes, fs->ncap * sizeof(*fs->nodes));
    }
    n->slot = fs->nnodes;
    fs->nodes[fs->nnodes++] = n;
    return n;
}

static void node_destroy(memfs *fs, mnode *n)
{
    fs->nodes[n->slot] = fs->nodes[--fs->nnodes];
    fs->nodes[n->slot]->slot = n->slot;
    for (size_t i = 0; i < n->nents; i++)
        free(n->ents[i].name);
    free(n->ents);
    free(n->data);
    free(n);
}

/* Free a node nobody can reach any more. */
static void node_maybe_free(memfs *fs, mnode *n)
{
    if (n->nlink == 0 && n->opens == 0 && n != fs->root)
        node_destroy(fs, n);
}

/* A plain loop, not strcmp: under libFuzzer every strcmp call anywhere in
 * the process is traced, and path lookups are most of this file system's
 * work. */
static bool name_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static mentry *dir_find(mnode *d, const char *name)
{
    for (size_t i = 0; i < d->nents; i++)
        if (name_eq(d->ents[i].name, name))
            return &d->ents[i];
    return NULL;
}

static void dir_add(mnode *d, const char *name, mnode *n)
{
    if (d->nents == d->ecap) {
        d->ecap = d->ecap ? d->ecap * 2 : 8;
        d->ents = xrealloc(d->ents, d->ecap * sizeof(*d->ents));
    }
    char *nm = strdup(name);
    if (nm == NULL)
        abort();
    d->ents[d->nents].name = nm;
    d->ents[d->nents].node = n;
    d->nents++;
    if (n->dir)
        n->parent = d;
}

static void dir_remove(mnode *d, mentry *e)
{
    free(e->name);
    *e = d->ents[--d->nents];
}

static mfd *get_fd(memfs *fs, int fd)
{
    if (fd < FD_BASE)
        return NULL;
    size_t i = (size_t)(fd - FD_BASE);
    if (i >= fs->nfds || fs->fds[i].node == NULL)
        return NULL;
    return &fs->fds[i];
}

static int new_fd(memfs *fs, mnode *n, int acc, uint64_t desc)
{
    size_t i = 0;
    while (i < fs->nfds && fs->fds[i].node != NULL)
        i++;
    if (i == fs->nfds) {
        if (fs->nfds == fs->fcap) {
            fs->fcap = fs->fcap ? fs->fcap * 2 : 16;
            fs->fds = xrealloc(fs->fds, fs->fcap * sizeof(*fs->fds));
        }
        fs->nfds++;
    }
    fs->fds[i].node = n;
    fs->fds[i].acc = acc;
    fs->fds[i].desc = desc ? desc : ++fs->next_desc;
    n->opens++;
    return FD_BASE + (int)i;
}

/* ---- path resolution ---- */

typedef struct walked {
    mnode *parent; /* the directory holding the last component (NULL: none) */
    mnode *node;   /* what the path names, NULL if it does not exist */
    char leaf[NAME_MAX_ + 1];
    bool slash; /* the path ended in '/' */
} walked;

/* Resolve path from dirfd. 0, or an errno for a missing or non-directory
 * intermediate, a too-long name, or (beneath) an escape. */
static int walk(memfs *fs, int dirfd, const char *path, int beneath, walked *w)
{
    memset(w, 0, sizeof(*w));
    size_t plen = strlen(path);
    if (plen == 0)
        return ENOENT;
    if (plen >= PATH_MAX_)
        return ENAMETOOLONG;
    mnode *start;
    if (path[0] == '/') {
        if (beneath)
            return EXDEV;
        start = fs->root;
    } else if (dirfd == AT_FDCWD) {
        start = fs->root;
    } else {
        mfd *f = get_fd(fs, dirfd);
        if (f == NULL)
            return EBADF;
        if (!f->node->dir)
            return ENOTDIR;
        start = f->node;
    }
    w->slash = path[plen - 1] == '/';
    mnode *cur = start;
    int depth = 0; /* below start, for beneath */
    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *rest = p + n;
        while (*rest == '/')
            rest++;
        bool last = *rest == '\0';
        if (n == 0) { /* the path was only slashes: it names the start */
            w->node = cur;
            return 0;
        }
        if (n > NAME_MAX_)
            return ENAMETOOLONG;
        char comp[NAME_MAX_ + 1];
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (!cur->dir)
            return ENOTDIR;
        mnode *next;
        if (name_eq(comp, ".")) {
            next = cur;
        } else if (name_eq(comp, "..")) {
            if (beneath && depth == 0)
                return EXDEV;
            next = cur->parent;
            depth--;
        } else {
            mentry *me = cur->nlink ? dir_find(cur, comp) : NULL;
            next = me ? me->node : NULL;
            depth++;
        }
        if (last) {
            if (!name_eq(comp, ".") && !name_eq(comp, "..")) {
                w->parent = cur;
                memcpy(w->leaf, comp, n + 1);
            }
            w->node = next;
            return 0;
        }
        if (next == NULL)
            return ENOENT;
        cur = next;
        p = rest;
    }
}

/* ---- the table ---- */

#define LOCKED(fs) pthread_mutex_lock(&(fs)->mu)
#define UNLOCK_RET(fs, v)                                                                          \
    do {                                                                                           \
        pthread_mutex_unlock(&(fs)->mu);                                                           \
        return (v);                                                                                \
    } while (0)
#define FAIL(fs, e)                                                                                \
    do {                                                                                           \
        pthread_mutex_unlock(&(fs)->mu);                                                           \
        errno = (e);                                                                               \
        return -1;                                                                                 \
    } while (0)

static int m_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    (void)mode;
    memfs *fs = p;
    LOCKED(fs);
    walked w;
    int e = walk(fs, dirfd, name, beneath, &w);
    if (e)
        FAIL(fs, e);
    int acc = flags & O_ACCMODE;
    mnode *n = w.node;
    if (n != NULL) {
        if ((flags & O_CREAT) && (flags & O_EXCL))
            FAIL(fs, EEXIST);
        if (!n->dir && ((flags & O_DIRECTORY) || w.slash))
            FAIL(fs, ENOTDIR);
        if (n->dir && (acc != O_RDONLY || (flags & O_TRUNC) || (flags & O_CREAT)))
            FAIL(fs, EISDIR);
        if (!n->dir && (flags & O_TRUNC) && acc != O_RDONLY)
            n->len = 0;
    } else {
        if (!(flags & O_CREAT) || w.parent == NULL)
            FAIL(fs, ENOENT);
        if (w.slash || (flags & O_DIRECTORY))
            FAIL(fs, EISDIR);
        if (w.parent->nlink == 0)
            FAIL(fs, ENOENT);
        n = node_new(fs, false, NULL);
        dir_add(w.parent, w.leaf, n);
    }
    int fd = new_fd(fs, n, acc, 0);
    UNLOCK_RET(fs, fd);
}

static int m_close(void *p, int fd)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL)
        FAIL(fs, EBADF);
    mnode *n = f->node;
    uint64_t desc = f->desc;
    f->node = NULL;
    bool last = true; /* an OFD lock goes with the last descriptor of its description */
    for (size_t i = 0; i < fs->nfds; i++)
        if (fs->fds[i].node && fs->fds[i].desc == desc)
            last = false;
    if (last && n->lock_desc == desc)
        n->lock_desc = 0;
    n->opens--;
    node_maybe_free(fs, n);
    while (fs->nfds > 0 && fs->fds[fs->nfds - 1].node == NULL)
        fs->nfds--;
    UNLOCK_RET(fs, 0);
}

static ssize_t m_pread(void *p, int fd, void *buf, size_t count, off_t off)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL || f->acc == O_WRONLY)
        FAIL(fs, EBADF);
    if (f->node->dir)
        FAIL(fs, EISDIR);
    if (off < 0)
        FAIL(fs, EINVAL);
    mnode *n = f->node;
    size_t got = 0;
    if ((uint64_t)off < n->len) {
        got = n->len - (size_t)off;
        if (got > count)
            got = count;
        memcpy(buf, n->data + off, got);
    }
    UNLOCK_RET(fs, (ssize_t)got);
}

static void grow(mnode *n, size_t len)
{
    if (len > n->cap) {
        size_t c = n->cap ? n->cap : 256;
        while (c < len)
            c *= 2;
        n->data = xrealloc(n->data, c);
        n->cap = c;
    }
    if (len > n->len)
        memset(n->data + n->len, 0, len - n->len);
}

static ssize_t m_pwrite(void *p, int fd, const void *buf, size_t count, off_t off)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL || f->acc == O_RDONLY)
        FAIL(fs, EBADF);
    if (off < 0 || (uint64_t)off + count > ((uint64_t)1 << 32))
        FAIL(fs, EFBIG); /* a fuzz store never needs 4 GiB */
    mnode *n = f->node;
    size_t end = (size_t)off + count;
    grow(n, end);
    if (count)
        memcpy(n->data + off, buf, count);
    if (end > n->len)
        n->len = end;
    UNLOCK_RET(fs, (ssize_t)count);
}

static int m_sync(void *p, int fd)
{
    memfs *fs = p;
    LOCKED(fs);
    if (get_fd(fs, fd) == NULL)
        FAIL(fs, EBADF);
    UNLOCK_RET(fs, 0);
}

static int m_ftruncate(void *p, int fd, off_t len)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL)
        FAIL(fs, EBADF);
    if (f->node->dir || f->acc == O_RDONLY || len < 0)
        FAIL(fs, EINVAL);
    if ((uint64_t)len > ((uint64_t)1 << 32))
        FAIL(fs, EFBIG);
    grow(f->node, (size_t)len);
    f->node->len = (size_t)len;
    UNLOCK_RET(fs, 0);
}

static void fill_stat(const mnode *n, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = 0x6d656d;
    st->st_ino = n->ino;
    st->st_mode = n->dir ? (S_IFDIR | 0755) : (S_IFREG | 0644);
    st->st_nlink = (nlink_t)(n->dir ? 2 + n->nents : (size_t)n->nlink);
    st->st_size = n->dir ? 4096 : (off_t)n->len;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((n->len + 511) / 512);
}

static int m_fstat(void *p, int fd, struct stat *st)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL)
        FAIL(fs, EBADF);
    fill_stat(f->node, st);
    UNLOCK_RET(fs, 0);
}

static int m_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    memfs *fs = p;
    LOCKED(fs);
    walked w;
    int e = walk(fs, dirfd, name, 0, &w);
    if (e)
        FAIL(fs, e);
    if (w.node == NULL)
        FAIL(fs, ENOENT);
    if (w.slash && !w.node->dir)
        FAIL(fs, ENOTDIR);
    fill_stat(w.node, st);
    UNLOCK_RET(fs, 0);
}

static bool is_ancestor(const mnode *a, const mnode *d)
{
    for (const mnode *x = d;; x = x->parent) {
        if (x == a)
            return true;
        if (x->parent == x)
            return false;
    }
}

static int m_rename(void *p, int od, const char *on, int nd, const char *nn, unsigned flags)
{
    memfs *fs = p;
    LOCKED(fs);
    walked a, b;
    int e = walk(fs, od, on, 0, &a);
    if (e == 0)
        e = walk(fs, nd, nn, 0, &b);
    if (e)
        FAIL(fs, e);
    if (a.node == NULL)
        FAIL(fs, ENOENT);
    if (a.parent == NULL || b.parent == NULL)
        FAIL(fs, EBUSY); /* ".", ".." or the root */
    if (flags & ~(unsigned)RENAME_NOREPLACE)
        FAIL(fs, EINVAL);
    if ((a.slash || b.slash) && !a.node->dir)
        FAIL(fs, ENOTDIR);
    if (b.parent->nlink == 0)
        FAIL(fs, ENOENT);
    if (a.node->dir && is_ancestor(a.node, b.parent))
        FAIL(fs, EINVAL);
    if (b.node != NULL) {
        if (flags & RENAME_NOREPLACE)
            FAIL(fs, EEXIST);
        if (b.node == a.node)
            UNLOCK_RET(fs, 0);
        if (a.node->dir && !b.node->dir)
            FAIL(fs, ENOTDIR);
        if (!a.node->dir && b.node->dir)
            FAIL(fs, EISDIR);
        if (b.node->dir && b.node->nents)
            FAIL(fs, ENOTEMPTY);
        mnode *old = b.node;
        dir_remove(b.parent, dir_find(b.parent, b.leaf));
        old->nlink = 0;
        node_maybe_free(fs, old);
    }
    mnode *n = a.node;
    dir_remove(a.parent, dir_find(a.parent, a.leaf));
    dir_add(b.parent, b.leaf, n);
    UNLOCK_RET(fs, 0);
}

static int m_unlink(void *p, int dirfd, const char *name, int flags)
{
    memfs *fs = p;
    LOCKED(fs);
    walked w;
    int e = walk(fs, dirfd, name, 0, &w);
    if (e)
        FAIL(fs, e);
    if (w.node == NULL)
        FAIL(fs, ENOENT);
    if (w.parent == NULL)
        FAIL(fs, (flags & AT_REMOVEDIR) ? EINVAL : EISDIR);
    mnode *n = w.node;
    if (flags & AT_REMOVEDIR) {
        if (!n->dir)
            FAIL(fs, ENOTDIR);
        if (n->nents)
            FAIL(fs, ENOTEMPTY);
    } else {
        if (n->dir)
            FAIL(fs, EISDIR);
        if (w.slash)
            FAIL(fs, ENOTDIR);
    }
    dir_remove(w.parent, dir_find(w.parent, w.leaf));
    n->nlink = 0;
    node_maybe_free(fs, n);
    UNLOCK_RET(fs, 0);
}

static int m_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    (void)mode;
    memfs *fs = p;
    LOCKED(fs);
    walked w;
    int e = walk(fs, dirfd, name, 0, &w);
    if (e)
        FAIL(fs, e);
    if (w.node != NULL)
        FAIL(fs, EEXIST);
    if (w.parent == NULL || w.parent->nlink == 0)
        FAIL(fs, ENOENT);
    mnode *n = node_new(fs, true, w.parent);
    dir_add(w.parent, w.leaf, n);
    UNLOCK_RET(fs, 0);
}

static int m_lock(void *p, int fd, int cmd, struct flock *fl)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL)
        FAIL(fs, EBADF);
    mnode *n = f->node;
    if (cmd == F_OFD_GETLK) {
        if (n->lock_desc && n->lock_desc != f->desc) {
            fl->l_type = F_WRLCK;
            fl->l_pid = -1;
        } else {
            fl->l_type = F_UNLCK;
        }
        UNLOCK_RET(fs, 0);
    }
    if (cmd != F_OFD_SETLK)
        FAIL(fs, EINVAL);
    if (fl->l_type == F_UNLCK) {
        if (n->lock_desc == f->desc)
            n->lock_desc = 0;
        UNLOCK_RET(fs, 0);
    }
    if (fl->l_type == F_WRLCK && f->acc == O_RDONLY)
        FAIL(fs, EBADF);
    if (n->lock_desc && n->lock_desc != f->desc)
        FAIL(fs, EAGAIN);
    n->lock_desc = f->desc; /* read locks are modelled as write locks */
    UNLOCK_RET(fs, 0);
}

static int m_list(void *p, int dirfd, int (*fn)(void *arg, const char *name), void *arg)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, dirfd);
    if (f == NULL)
        FAIL(fs, EBADF);
    if (!f->node->dir)
        FAIL(fs, ENOTDIR);
    /* a snapshot, so fn may create and remove entries (and call back in) */
    mnode *d = f->node;
    size_t n = d->nents;
    char **names = xrealloc(NULL, n * sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        names[i] = strdup(d->ents[i].name);
        if (names[i] == NULL)
            abort();
    }
    pthread_mutex_unlock(&fs->mu);
    size_t i = 0;
    for (; i < n; i++)
        if (fn(arg, names[i]) != 0)
            break;
    for (size_t j = 0; j < n; j++)
        free(names[j]);
    free(names);
    return 0;
}

static int m_dup(void *p, int fd)
{
    memfs *fs = p;
    LOCKED(fs);
    mfd *f = get_fd(fs, fd);
    if (f == NULL)
        FAIL(fs, EBADF);
    int r = new_fd(fs, f->node, f->acc, f->desc);
    UNLOCK_RET(fs, r);
}

/* ---- lifecycle ---- */

memfs *memfs_new(void)
{
    memfs *fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
        abort();
    pthread_mutex_init(&fs->mu, NULL);
    fs->io =
        (mlops__io){fs,      m_open,    m_close,  m_pread,  m_pwrite, m_sync, m_sync, m_ftruncate,
                    m_fstat, m_fstatat, m_rename, m_unlink, m_mkdir,  m_lock, m_list, m_dup};
    fs->root = node_new(fs, true, NULL);
    return fs;
}

void memfs_reset(memfs *fs)
{
    pthread_mutex_lock(&fs->mu);
    while (fs->nnodes > 0)
        node_destroy(fs, fs->nodes[fs->nnodes - 1]);
    fs->nfds = 0;
    fs->next_ino = 0;
    fs->root = node_new(fs, true, NULL);
    pthread_mutex_unlock(&fs->mu);
}

void memfs_free(memfs *fs)
{
    if (fs == NULL)
        return;
    while (fs->nnodes > 0)
        node_destroy(fs, fs->nodes[fs->nnodes - 1]);
    free(fs->nodes);
    free(fs->fds);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

const mlops__io *memfs_io(memfs *fs)
{
    return &fs->io;
}

size_t memfs_open_fds(memfs *fs)
{
    pthread_mutex_lock(&fs->mu);
    size_t n = 0;
    for (size_t i = 0; i < fs->nfds; i++)
        n += fs->fds[i].node != NULL;
    pthread_mutex_unlock(&fs->mu);
    return n;
}

size_t memfs_entries(memfs *fs)
{
    pthread_mutex_lock(&fs->mu);
    size_t n = 0;
    for (size_t i = 0; i < fs->nnodes; i++)
        n += fs->nodes[i]->nlink > 0;
    pthread_mutex_unlock(&fs->mu);
    return n ? n - 1 : 0;
}

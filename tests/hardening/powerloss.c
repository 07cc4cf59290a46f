/* SPDX-License-Identifier: MIT */
/* The power-loss simulator: see powerloss.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss.h"

#define REAL mlops__io_default()
#define NO_ID UINT32_MAX

/* ---- recording ---- */

enum { OP_CREATE, OP_MKDIR, OP_WRITE, OP_TRUNC, OP_SYNC, OP_RENAME, OP_UNLINK };

static const char *const op_names[] = {"create", "mkdir",  "write", "truncate",
                                       "sync",   "rename", "unlink"};

typedef struct pl_op {
    int kind;
    uint32_t id;         /* the inode written, synced, created or renamed */
    uint32_t dir, dir2;  /* directories of name and name2 */
    char *name, *name2;  /* name (create, mkdir, unlink, rename source), rename target */
    uint64_t off, len;   /* write: offset and length; truncate: new length */
    uint8_t *data;       /* write: the bytes */
} pl_op;

typedef struct pl_map {
    dev_t dev;
    ino_t ino;
    uint32_t id;
} pl_map;

struct pl_sim {
    mlops__io io; /* first: handed to the backend */
    pthread_mutex_t mu;
    pl_op *ops;
    size_t n, cap;
    pl_map *map;
    size_t nmap, capmap;
    bool *is_dir; /* per id */
    uint32_t next_id;
    size_t base; /* synthetic operations adopting what was there at the start */
    char err[256];
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * size);
    if (q == NULL)
        abort(); /* test code: out of memory is fatal */
    *cap = c;
    return q;
}

static void sim_fail(pl_sim *s, const char *fmt, ...)
{
    if (s->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

static uint32_t lookup(pl_sim *s, const struct stat *st)
{
    for (size_t i = s->nmap; i-- > 0;)
        if (s->map[i].dev == st->st_dev && s->map[i].ino == st->st_ino)
            return s->map[i].id;
    return NO_ID;
}

/* A new inode (a file or directory just created): it replaces any earlier
 * inode with the same number, which must have been deleted. */
static uint32_t new_id(pl_sim *s, const struct stat *st, bool dir)
{
    size_t capd = s->next_id;
    uint32_t id = s->next_id++;
    s->map = grow(s->map, &s->capmap, s->nmap + 1, sizeof(*s->map));
    s->map[s->nmap++] = (pl_map){st->st_dev, st->st_ino, id};
    bool *d = realloc(s->is_dir, (size_t)s->next_id * sizeof(bool));
    if (d == NULL)
        abort();
    s->is_dir = d;
    (void)capd;
    s->is_dir[id] = dir;
    return id;
}

static uint32_t id_of_fd(pl_sim *s, int fd, const char *what)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sim_fail(s, "%s: fstat(%d) failed: %s", what, fd, strerror(errno));
        return NO_ID;
    }
    uint32_t id = lookup(s, &st);
    if (id == NO_ID)
        sim_fail(s, "%s on an inode the simulator never saw created (fd %d)", what, fd);
    return id;
}

/* The directory holding name (relative to dirfd) and the last component. */
static uint32_t parent_of(pl_sim *s, int dirfd, const char *name, const char **base)
{
    const char *slash = strrchr(name, '/');
    struct stat st;
    int r;
    if (slash == NULL) {
        *base = name;
        r = dirfd == AT_FDCWD ? stat(".", &st) : fstat(dirfd, &st);
    } else {
        *base = slash + 1;
        char path[4096];
        size_t n = (size_t)(slash - name);
        if (n == 0)
            n = 1; /* "/x": the root directory */
        if (n >= sizeof(path)) {
            sim_fail(s, "path too long: %s", name);
            return NO_ID;
        }
        memcpy(path, name, n);
        path[n] = 0;
        r = fstatat(dirfd, path, &st, 0);
    }
    if (r != 0) {
        sim_fail(s, "cannot inspect the directory of '%s': %s", name, strerror(errno));
        return NO_ID;
    }
    uint32_t id = lookup(s, &st);
    if (id == NO_ID)
        sim_fail(s, "'%s' is in a directory outside the simulated tree", name);
    return id;
}

static char *dupstr(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static pl_op *push(pl_sim *s, int kind)
{
    s->ops = grow(s->ops, &s->cap, s->n + 1, sizeof(*s->ops));
    pl_op *op = &s->ops[s->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->id = op->dir = op->dir2 = NO_ID;
    return op;
}

static int x_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    pl_sim *s = p;
    if (!(flags & O_CREAT))
        return REAL->open(NULL, dirfd, name, flags, mode, beneath);
    pthread_mutex_lock(&s->mu);
    struct stat before;
    bool existed = fstatat(dirfd, name, &before, AT_SYMLINK_NOFOLLOW) == 0;
    int fd = REAL->open(NULL, dirfd, name, flags, mode, beneath);
    if (fd >= 0) {
        int e = errno;
        if (!existed) {
            const char *base;
            uint32_t dir = parent_of(s, dirfd, name, &base);
            struct stat st;
            if (fstat(fd, &st) == 0 && dir != NO_ID) {
                pl_op *op = push(s, OP_CREATE);
                op->dir = dir;
                op->name = dupstr(base);
                op->id = new_id(s, &st, false);
            }
        } else if ((flags & O_TRUNC) && before.st_size > 0) {
            uint32_t id = id_of_fd(s, fd, "truncating open");
            if (id != NO_ID) {
                pl_op *op = push(s, OP_TRUNC);
                op->id = id;
                op->len = 0;
            }
        }
        errno = e;
    }
    pthread_mutex_unlock(&s->mu);
    return fd;
}

static int x_close(void *p, int fd)
{
    (void)p;
    return REAL->close(NULL, fd);
}

static ssize_t x_pread(void *p, int fd, void *buf, size_t n, off_t off)
{
    (void)p;
    return REAL->pread(NULL, fd, buf, n, off);
}

static ssize_t x_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    pl_sim *s = p;
    /* recorded after it is done: a concurrent sync recorded before it does
     * not cover it (the conservative order) */
    ssize_t r = REAL->pwrite(NULL, fd, buf, n, off);
    if (r > 0) {
        int e = errno;
        pthread_mutex_lock(&s->mu);
        uint32_t id = id_of_fd(s, fd, "write");
        if (id != NO_ID) {
            pl_op *op = push(s, OP_WRITE);
            op->id = id;
            op->off = (uint64_t)off;
            op->len = (uint64_t)r;
            op->data = malloc((size_t)r);
            if (op->data == NULL)
                abort();
            memcpy(op->data, buf, (size_t)r);
        }
        pthread_mutex_unlock(&s->mu);
        errno = e;
    }
    return r;
}

/* A sync is recorded before it starts: it covers only what was recorded
 * before it. */
static void record_sync(pl_sim *s, int fd)
{
    pthread_mutex_lock(&s->mu);
    uint32_t id = id_of_fd(s, fd, "sync");
    if (id != NO_ID) {
        pl_op *op = push(s, OP_SYNC);
        op->id = id;
    }
    pthread_mutex_unlock(&s->mu);
}

static int x_fsync(void *p, int fd)
{
    record_sync(p, fd);
    return REAL->fsync(NULL, fd);
}

static int x_fdatasync(void *p, int fd)
{
    record_sync(p, fd);
    return REAL->fdatasync(NULL, fd);
}

static int x_ftruncate(void *p, int fd, off_t len)
{
    pl_sim *s = p;
    int r = REAL->ftruncate(NULL, fd, len);
    if (r == 0) {
        pthread_mutex_lock(&s->mu);
        uint32_t id = id_of_fd(s, fd, "truncate");
        if (id != NO_ID) {
            pl_op *op = push(s, OP_TRUNC);
            op->id = id;
            op->len = (uint64_t)len;
        }
        pthread_mutex_unlock(&s->mu);
    }
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
    pl_sim *s = p;
    pthread_mutex_lock(&s->mu);
    struct stat src;
    bool have = fstatat(od, on, &src, AT_SYMLINK_NOFOLLOW) == 0;
    int r = REAL->rename(NULL, od, on, nd, nn, flags);
    if (r == 0 && have) {
        int e = errno;
        const char *ob, *nb;
        uint32_t dir = parent_of(s, od, on, &ob), dir2 = parent_of(s, nd, nn, &nb);
        uint32_t id = lookup(s, &src);
        if (id == NO_ID)
            sim_fail(s, "rename of '%s', an inode the simulator never saw", on);
        if (dir != NO_ID && dir2 != NO_ID && id != NO_ID) {
            pl_op *op = push(s, OP_RENAME);
            op->id = id;
            op->dir = dir;
            op->dir2 = dir2;
            op->name = dupstr(ob);
            op->name2 = dupstr(nb);
        }
        errno = e;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int x_unlink(void *p, int dirfd, const char *name, int flags)
{
    pl_sim *s = p;
    pthread_mutex_lock(&s->mu);
    int r = REAL->unlink(NULL, dirfd, name, flags);
    if (r == 0) {
        int e = errno;
        const char *base;
        uint32_t dir = parent_of(s, dirfd, name, &base);
        if (dir != NO_ID) {
            pl_op *op = push(s, OP_UNLINK);
            op->dir = dir;
            op->name = dupstr(base);
        }
        errno = e;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int x_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    pl_sim *s = p;
    pthread_mutex_lock(&s->mu);
    int r = REAL->mkdir(NULL, dirfd, name, mode);
    if (r == 0) {
        int e = errno;
        const char *base;
        uint32_t dir = parent_of(s, dirfd, name, &base);
        struct stat st;
        if (dir != NO_ID && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            pl_op *op = push(s, OP_MKDIR);
            op->dir = dir;
            op->name = dupstr(base);
            op->id = new_id(s, &st, true);
        }
        errno = e;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int x_lock(void *p, int fd, int cmd, struct flock *fl)
{
    (void)p;
    return REAL->lock(NULL, fd, cmd, fl);
}

/* Adopt what is already under the directory id (open as dfd) as durable:
 * synthetic creates, writes and syncs at the start of the trace. */
static int adopt(pl_sim *s, int dfd, uint32_t id, int depth)
{
    if (depth > 16)
        return -1;
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cfd < 0) {
                rc = -1;
                break;
            }
            pl_op *op = push(s, OP_MKDIR);
            op->dir = id;
            op->name = dupstr(de->d_name);
            op->id = new_id(s, &st, true);
            rc = adopt(s, cfd, op->id, depth + 1);
            close(cfd);
        } else if (S_ISREG(st.st_mode)) {
            uint32_t fid = lookup(s, &st);
            if (fid == NO_ID) {
                fid = new_id(s, &st, false);
                pl_op *op = push(s, OP_CREATE);
                op->dir = id;
                op->name = dupstr(de->d_name);
                op->id = fid;
                if (st.st_size > 0) {
                    int fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC);
                    uint8_t *data = malloc((size_t)st.st_size);
                    if (fd < 0 || data == NULL ||
                        pread(fd, data, (size_t)st.st_size, 0) != (ssize_t)st.st_size) {
                        if (fd >= 0)
                            close(fd);
                        free(data);
                        rc = -1;
                        break;
                    }
                    close(fd);
                    pl_op *w = push(s, OP_WRITE);
                    w->id = fid;
                    w->off = 0;
                    w->len = (uint64_t)st.st_size;
                    w->data = data;
                }
                push(s, OP_SYNC)->id = fid;
            } else {
                /* a second name of a file already seen (a hard link) */
                pl_op *op = push(s, OP_CREATE);
                op->dir = id;
                op->name = dupstr(de->d_name);
                op->id = fid;
            }
        }
    }
    closedir(d);
    if (rc == 0)
        push(s, OP_SYNC)->id = id;
    return rc;
}

pl_sim *pl_sim_new(const char *root)
{
    pl_sim *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->io = (mlops__io){s,           x_open,      x_close,   x_pread,   x_pwrite,
                        x_fsync,     x_fdatasync, x_ftruncate, x_fstat, x_fstatat,
                        x_rename,    x_unlink,    x_mkdir,   x_lock};
    pthread_mutex_init(&s->mu, NULL);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        pl_sim_free(s);
        return NULL;
    }
    new_id(s, &st, true); /* id 0: the root */
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? adopt(s, fd, 0, 0) : -1;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        pl_sim_free(s);
        return NULL;
    }
    s->base = s->n;
    return s;
}

size_t pl_sim_base(const pl_sim *s)
{
    return s->base;
}

const mlops__io *pl_sim_io(pl_sim *s)
{
    return &s->io;
}

size_t pl_sim_ops(pl_sim *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const char *pl_sim_error(const pl_sim *s)
{
    return s->err[0] ? s->err : NULL;
}

const char *pl_sim_describe(const pl_sim *s, size_t k, char *buf, size_t cap)
{
    if (k == 0 || k > s->n) {
        snprintf(buf, cap, "(start)");
        return buf;
    }
    const pl_op *op = &s->ops[k - 1];
    switch (op->kind) {
    case OP_CREATE:
    case OP_MKDIR:
        snprintf(buf, cap, "%s '%s' (inode #%u in dir #%u)", op_names[op->kind], op->name,
                 op->id, op->dir);
        break;
    case OP_WRITE:
        snprintf(buf, cap, "write inode #%u [%llu, +%llu)", op->id,
                 (unsigned long long)op->off, (unsigned long long)op->len);
        break;
    case OP_TRUNC:
        snprintf(buf, cap, "truncate inode #%u to %llu", op->id, (unsigned long long)op->len);
        break;
    case OP_SYNC:
        snprintf(buf, cap, "sync %s #%u", s->is_dir[op->id] ? "dir" : "inode", op->id);
        break;
    case OP_RENAME:
        snprintf(buf, cap, "rename '%s' (dir #%u) to '%s' (dir #%u)", op->name, op->dir,
                 op->name2, op->dir2);
        break;
    default:
        snprintf(buf, cap, "unlink '%s' (dir #%u)", op->name, op->dir);
        break;
    }
    return buf;
}

void pl_sim_free(pl_sim *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->ops[i].name);
        free(s->ops[i].name2);
        free(s->ops[i].data);
    }
    free(s->ops);
    free(s->map);
    free(s->is_dir);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- replay ---- */

typedef struct pl_buf {
    uint8_t *data;
    size_t len, cap;
} pl_buf;

typedef struct pl_ent {
    const char *name; /* borrowed from the trace */
    uint32_t id;
} pl_ent;

typedef struct pl_dir {
    pl_ent *e;
    size_t n, cap;
} pl_dir;

typedef struct pl_node {
    bool exists, is_dir;
    pl_buf data; /* durable contents (files) */
    pl_dir ents; /* durable entries (directories) */
} pl_node;

/* A pending operation; part 1 is the target half of a cross-directory rename. */
typedef struct pl_item {
    uint32_t op;
    uint8_t part;
    uint32_t target; /* the file (data) or directory (names) it changes */
} pl_item;

struct pl_model {
    const pl_sim *sim;
    size_t k;
    pl_node *nodes;
    size_t nnodes;
    pl_item *pend;
    size_t npend, cappend;
};

static void buf_write(pl_buf *b, uint64_t off, const uint8_t *data, uint64_t len)
{
    size_t end = (size_t)(off + len);
    b->data = grow(b->data, &b->cap, end + 1, 1);
    if (end > b->len) {
        if (off > b->len)
            memset(b->data + b->len, 0, (size_t)off - b->len);
        b->len = end;
    }
    memcpy(b->data + off, data, (size_t)len);
}

static void buf_zero(pl_buf *b, uint64_t off, uint64_t len)
{
    size_t end = (size_t)(off + len);
    b->data = grow(b->data, &b->cap, end + 1, 1);
    if (off > b->len)
        memset(b->data + b->len, 0, (size_t)off - b->len);
    memset(b->data + off, 0, (size_t)len);
    if (end > b->len)
        b->len = end;
}

static void buf_truncate(pl_buf *b, uint64_t len)
{
    b->data = grow(b->data, &b->cap, (size_t)len + 1, 1);
    if (len > b->len)
        memset(b->data + b->len, 0, (size_t)len - b->len);
    b->len = (size_t)len;
}

static pl_ent *dir_find(pl_dir *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->e[i].name, name) == 0)
            return &d->e[i];
    return NULL;
}

static void dir_set(pl_dir *d, const char *name, uint32_t id)
{
    pl_ent *e = dir_find(d, name);
    if (e) {
        e->id = id;
        return;
    }
    d->e = grow(d->e, &d->cap, d->n + 1, sizeof(*d->e));
    d->e[d->n++] = (pl_ent){name, id};
}

static void dir_remove(pl_dir *d, const char *name)
{
    pl_ent *e = dir_find(d, name);
    if (e)
        *e = d->e[--d->n];
}

static void dir_copy(pl_dir *to, const pl_dir *from)
{
    to->n = 0;
    to->e = grow(to->e, &to->cap, from->n + 1, sizeof(*to->e));
    if (from->n)
        memcpy(to->e, from->e, from->n * sizeof(*from->e));
    to->n = from->n;
}

/* Apply the name change of one pending item to a directory. */
static void apply_name(const pl_sim *s, const pl_item *it, pl_dir *d)
{
    const pl_op *op = &s->ops[it->op];
    switch (op->kind) {
    case OP_CREATE:
    case OP_MKDIR:
        dir_set(d, op->name, op->id);
        break;
    case OP_UNLINK:
        dir_remove(d, op->name);
        break;
    case OP_RENAME:
        if (op->dir == op->dir2) {
            /* one directory: atomic; nothing if the source name never got there */
            pl_ent *e = dir_find(d, op->name);
            if (e && e->id == op->id) {
                dir_remove(d, op->name);
                dir_set(d, op->name2, op->id);
            }
        } else if (it->part == 0) {
            pl_ent *e = dir_find(d, op->name);
            if (e && e->id == op->id)
                dir_remove(d, op->name);
        } else {
            dir_set(d, op->name2, op->id);
        }
        break;
    default:
        break;
    }
}

static bool is_data(const pl_sim *s, const pl_item *it)
{
    int k = s->ops[it->op].kind;
    return k == OP_WRITE || k == OP_TRUNC;
}

pl_model *pl_model_new(const pl_sim *s)
{
    pl_model *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->sim = s;
    m->nnodes = s->next_id;
    m->nodes = calloc(m->nnodes ? m->nnodes : 1, sizeof(*m->nodes));
    if (m->nodes == NULL) {
        free(m);
        return NULL;
    }
    for (size_t i = 0; i < m->nnodes; i++)
        m->nodes[i].is_dir = s->is_dir[i];
    m->nodes[0].exists = true;
    return m;
}

static void push_item(pl_model *m, uint32_t op, uint8_t part, uint32_t target)
{
    m->pend = grow(m->pend, &m->cappend, m->npend + 1, sizeof(*m->pend));
    m->pend[m->npend++] = (pl_item){op, part, target};
}

void pl_model_advance(pl_model *m, size_t k)
{
    const pl_sim *s = m->sim;
    for (; m->k < k && m->k < s->n; m->k++) {
        uint32_t i = (uint32_t)m->k;
        const pl_op *op = &s->ops[i];
        switch (op->kind) {
        case OP_CREATE:
        case OP_MKDIR:
            m->nodes[op->id].exists = true;
            push_item(m, i, 0, op->dir);
            break;
        case OP_WRITE:
        case OP_TRUNC:
            push_item(m, i, 0, op->id);
            break;
        case OP_UNLINK:
            push_item(m, i, 0, op->dir);
            break;
        case OP_RENAME:
            push_item(m, i, 0, op->dir);
            if (op->dir2 != op->dir)
                push_item(m, i, 1, op->dir2);
            break;
        case OP_SYNC: {
            /* everything pending on this inode becomes durable, in order */
            pl_node *nd = &m->nodes[op->id];
            size_t w = 0;
            for (size_t j = 0; j < m->npend; j++) {
                pl_item *it = &m->pend[j];
                if (it->target != op->id) {
                    m->pend[w++] = *it;
                    continue;
                }
                const pl_op *o = &s->ops[it->op];
                if (nd->is_dir)
                    apply_name(s, it, &nd->ents);
                else if (o->kind == OP_WRITE)
                    buf_write(&nd->data, o->off, o->data, o->len);
                else if (o->kind == OP_TRUNC)
                    buf_truncate(&nd->data, o->len);
            }
            m->npend = w;
            break;
        }
        default:
            break;
        }
    }
}

size_t pl_model_pending(const pl_model *m)
{
    return m->npend;
}

size_t pl_model_pending_writes(const pl_model *m)
{
    size_t n = 0;
    for (size_t j = 0; j < m->npend; j++)
        n += m->sim->ops[m->pend[j].op].kind == OP_WRITE;
    return n;
}

size_t pl_model_pending_names(const pl_model *m)
{
    size_t n = 0;
    for (size_t j = 0; j < m->npend; j++)
        n += !is_data(m->sim, &m->pend[j]);
    return n;
}

void pl_model_free(pl_model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nnodes; i++) {
        free(m->nodes[i].data.data);
        free(m->nodes[i].ents.e);
    }
    free(m->nodes);
    free(m->pend);
    free(m);
}

/* ---- crash images ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

enum { CH_DROP, CH_APPLY, CH_TEAR, CH_SECTORS };

typedef struct choice {
    int what;
    int tear;      /* CH_TEAR: PL_TEAR_* */
    uint64_t rnd;  /* CH_SECTORS: the piece mask source; garbage bytes */
    uint64_t rank; /* order among the applied writes of one file */
} choice;

/* Apply a write, whole or torn. Pieces end at absolute 512-byte boundaries. */
static void apply_write(pl_buf *b, const pl_op *op, const choice *c)
{
    if (c->what == CH_APPLY) {
        buf_write(b, op->off, op->data, op->len);
        return;
    }
    uint64_t off = op->off, len = op->len;
    uint64_t first_end = (off / PL_SECTOR + 1) * PL_SECTOR - off; /* bytes in the first piece */
    if (first_end > len)
        first_end = len;
    uint64_t last_start = ((off + len - 1) / PL_SECTOR) * PL_SECTOR; /* absolute */
    if (last_start < off)
        last_start = off;
    if (c->what == CH_TEAR) {
        switch (c->tear) {
        case PL_TEAR_HALF:
            if (len / 2)
                buf_write(b, off, op->data, len / 2);
            return;
        case PL_TEAR_FIRST_SECTOR:
            buf_write(b, off, op->data, first_end);
            return;
        case PL_TEAR_LAST_ZERO:
            if (last_start > off)
                buf_write(b, off, op->data, last_start - off);
            buf_zero(b, last_start, off + len - last_start);
            return;
        default: { /* PL_TEAR_LAST_GARBAGE */
            buf_write(b, off, op->data, len);
            uint64_t x = c->rnd | 1;
            for (uint64_t p = last_start; p < off + len; p++)
                b->data[p] = (uint8_t)splitmix(&x);
            return;
        }
        }
    }
    /* CH_SECTORS: each piece kept or not */
    uint64_t x = c->rnd;
    uint64_t pos = off;
    while (pos < off + len) {
        uint64_t end = (pos / PL_SECTOR + 1) * PL_SECTOR;
        if (end > off + len)
            end = off + len;
        if (splitmix(&x) & 1)
            buf_write(b, pos, op->data + (pos - off), end - pos);
        pos = end;
    }
}

typedef struct img_ent {
    char *path;
    bool is_dir;
    uint8_t *data;
    size_t len;
} img_ent;

struct pl_image {
    img_ent *e;
    size_t n, cap;
};

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const pl_ent *)a)->name, ((const pl_ent *)b)->name);
}

/* Add dir's tree to the image under prefix; depth guards a cycle. */
static void walk(pl_image *img, const pl_node *nodes, const pl_dir *dirs, const pl_buf *files,
                 uint32_t dir, const char *prefix, int depth)
{
    if (depth > 16)
        return;
    const pl_dir *d = &dirs[dir];
    pl_ent *sorted = malloc((d->n + 1) * sizeof(*sorted));
    if (sorted == NULL)
        abort();
    if (d->n) {
        memcpy(sorted, d->e, d->n * sizeof(*sorted));
        qsort(sorted, d->n, sizeof(*sorted), ent_cmp);
    }
    for (size_t i = 0; i < d->n; i++) {
        const pl_ent *e = &sorted[i];
        size_t pl = strlen(prefix) + strlen(e->name) + 2;
        char *path = malloc(pl);
        if (path == NULL)
            abort();
        snprintf(path, pl, "%s%s%s", prefix, *prefix ? "/" : "", e->name);
        img->e = grow(img->e, &img->cap, img->n + 1, sizeof(*img->e));
        img_ent *ie = &img->e[img->n++];
        memset(ie, 0, sizeof(*ie));
        ie->path = path;
        ie->is_dir = nodes[e->id].is_dir;
        if (ie->is_dir) {
            walk(img, nodes, dirs, files, e->id, path, depth + 1);
        } else {
            const pl_buf *f = &files[e->id];
            ie->len = f->len;
            ie->data = malloc(f->len + 1);
            if (ie->data == NULL)
                abort();
            if (f->len)
                memcpy(ie->data, f->data, f->len);
        }
    }
    free(sorted);
}

pl_image *pl_model_crash(const pl_model *m, const pl_variant *v)
{
    const pl_sim *s = m->sim;
    size_t np = m->npend;
    choice *ch = calloc(np + 1, sizeof(*ch));
    if (ch == NULL)
        return NULL;
    uint64_t x = v->seed;
    size_t w = 0;
    for (size_t j = 0; j < np; j++) {
        const pl_item *it = &m->pend[j];
        bool data = is_data(s, it);
        bool write = s->ops[it->op].kind == OP_WRITE;
        choice *c = &ch[j];
        c->rank = j;
        switch (v->kind) {
        case PL_DROP_ALL:
            c->what = CH_DROP;
            break;
        case PL_KEEP_ALL:
            c->what = CH_APPLY;
            break;
        case PL_NAMES_ONLY:
            c->what = data ? CH_DROP : CH_APPLY;
            break;
        case PL_DATA_ONLY:
            c->what = data ? CH_APPLY : CH_DROP;
            break;
        case PL_TEAR:
            if (write && w == v->tear_at) {
                c->what = CH_TEAR;
                c->tear = v->tear;
                c->rnd = v->seed ^ j;
            } else {
                c->what = w < v->tear_at || (w == v->tear_at && !write) ? CH_APPLY : CH_DROP;
            }
            break;
        case PL_DROP_ONE:
            c->what = write && w == v->tear_at ? CH_DROP : CH_APPLY;
            break;
        default: { /* PL_RANDOM */
            uint64_t r = splitmix(&x);
            c->what = (r & 1) ? CH_APPLY : CH_DROP;
            if (c->what == CH_APPLY && write && ((r >> 1) & 3) == 0) {
                c->what = CH_SECTORS;
                c->rnd = splitmix(&x);
            }
            c->rank = splitmix(&x); /* writes of one file in a random order */
            break;
        }
        }
        if (write)
            w++;
    }
    /* PL_TEAR: items after the torn write are lost (trace order) */
    if (v->kind == PL_TEAR) {
        bool after = false;
        for (size_t j = 0; j < np; j++) {
            if (after)
                ch[j].what = CH_DROP;
            if (ch[j].what == CH_TEAR)
                after = true;
        }
    }
    /* build every node's contents from its durable state */
    pl_buf *files = calloc(m->nnodes + 1, sizeof(*files));
    pl_dir *dirs = calloc(m->nnodes + 1, sizeof(*dirs));
    size_t *order = malloc((np + 1) * sizeof(*order));
    pl_image *img = calloc(1, sizeof(*img));
    if (files == NULL || dirs == NULL || order == NULL || img == NULL)
        abort();
    for (size_t i = 0; i < m->nnodes; i++) {
        const pl_node *nd = &m->nodes[i];
        if (nd->is_dir) {
            dir_copy(&dirs[i], &nd->ents);
        } else if (nd->data.len) {
            buf_write(&files[i], 0, nd->data.data, nd->data.len);
        }
    }
    /* data in rank order (trace order unless random), names in trace order */
    size_t no = 0;
    for (size_t j = 0; j < np; j++)
        if (ch[j].what != CH_DROP && is_data(s, &m->pend[j]))
            order[no++] = j;
    for (size_t a = 1; a < no; a++) { /* insertion sort by rank: small n */
        size_t t = order[a], b = a;
        while (b > 0 && ch[order[b - 1]].rank > ch[t].rank) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = t;
    }
    for (size_t a = 0; a < no; a++) {
        const pl_item *it = &m->pend[order[a]];
        const pl_op *op = &s->ops[it->op];
        if (op->kind == OP_WRITE)
            apply_write(&files[it->target], op, &ch[order[a]]);
        else
            buf_truncate(&files[it->target], op->len);
    }
    for (size_t j = 0; j < np; j++)
        if (ch[j].what != CH_DROP && !is_data(s, &m->pend[j]))
            apply_name(s, &m->pend[j], &dirs[m->pend[j].target]);
    walk(img, m->nodes, dirs, files, 0, "", 0);
    for (size_t i = 0; i < m->nnodes; i++) {
        free(files[i].data);
        free(dirs[i].e);
    }
    free(files);
    free(dirs);
    free(order);
    free(ch);
    return img;
}

uint64_t pl_image_hash(const pl_image *img)
{
    uint64_t h = mlops_hash64("pl", 2, img->n);
    for (size_t i = 0; i < img->n; i++) {
        const img_ent *e = &img->e[i];
        h = mlops_hash64(e->path, strlen(e->path) + 1, h);
        h = mlops_hash64(&e->is_dir, 1, h);
        if (!e->is_dir) {
            uint64_t len = e->len;
            h = mlops_hash64(&len, sizeof(len), h);
            h = mlops_hash64(e->data, e->len, h);
        }
    }
    return h;
}

int pl_image_write(const pl_image *img, const char *dir)
{
    char path[4096];
    for (size_t i = 0; i < img->n; i++) {
        const img_ent *e = &img->e[i];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->path) >= sizeof(path)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (e->is_dir) {
            if (mkdir(path, 0755) != 0)
                return -1;
            continue;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return -1;
        size_t done = 0;
        while (done < e->len) {
            ssize_t r = write(fd, e->data + done, e->len - done);
            if (r <= 0) {
                close(fd);
                return -1;
            }
            done += (size_t)r;
        }
        close(fd);
    }
    return 0;
}

size_t pl_image_files(const pl_image *img)
{
    size_t n = 0;
    for (size_t i = 0; i < img->n; i++)
        n += !img->e[i].is_dir;
    return n;
}

void pl_image_free(pl_image *img)
{
    if (img == NULL)
        return;
    for (size_t i = 0; i < img->n; i++) {
        free(img->e[i].path);
        free(img->e[i].data);
    }
    free(img->e);
    free(img);
}

const char *pl_variant_describe(const pl_variant *v, char *buf, size_t cap)
{
    static const char *const tears[] = {"half", "first-sector", "last-zero", "last-garbage"};
    switch (v->kind) {
    case PL_DROP_ALL:
        snprintf(buf, cap, "drop-all");
        break;
    case PL_KEEP_ALL:
        snprintf(buf, cap, "keep-all");
        break;
    case PL_NAMES_ONLY:
        snprintf(buf, cap, "names-only");
        break;
    case PL_DATA_ONLY:
        snprintf(buf, cap, "data-only");
        break;
    case PL_TEAR:
        snprintf(buf, cap, "tear#%zu:%s", v->tear_at,
                 v->tear >= 0 && v->tear < PL_TEAR_KINDS ? tears[v->tear] : "?");
        break;
    case PL_DROP_ONE:
        snprintf(buf, cap, "drop-one#%zu", v->tear_at);
        break;
    default:
        snprintf(buf, cap, "random:seed=0x%016llx", (unsigned long long)v->seed);
        break;
    }
    return buf;
}

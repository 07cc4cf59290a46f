/* SPDX-License-Identifier: MIT */
/* The file backend: a directory holding a superblock, one append-only log of
 * checksummed batch records, and content-addressed zstd blobs. The whole
 * key space is indexed in memory and rebuilt from the log on open. The
 * format is described in docs/file-format.md. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "store/file/file_internal.h"

#define SUPER_NAME "superblock"
#define SUPER_TMP "superblock.tmp"
#define LOCK_NAME "LOCK"
#define QUAR_DIR "quarantine"
#define SUPER_SIZE 64
#define LOG_HDR_SIZE 64
#define REC_HDR 32
#define REC_MAX_PAYLOAD (256u * 1024u * 1024u)
#define SNAP_CHUNK (4u * 1024u * 1024u)
#define READ_CHUNK (1u << 20)
#define SYNC_WINDOW_MS 100

#define REC_BATCH 1
#define REC_SNAPSHOT 2
#define REC_SEAL 3
#define REC_F_MUST_UNDERSTAND 0x1
/* written by a handle that does not sync each batch (normal or off): such
 * records may reach the disk in any order after a power loss */
#define REC_F_UNSYNCED 0x2

static const uint8_t SUPER_MAGIC[8] = {'M', 'L', 'O', 'P', 'S', 'D', 'B', '\n'};
static const uint8_t LOG_MAGIC[8] = {'M', 'L', 'O', 'P', 'S', 'L', 'O', 'G'};

/* ---- I/O helpers ---- */

mlops_status mlops__file_errno(file_backend *fb, int err, const char *what, const char *name)
{
    char eb[128];
    const char *es = strerror_r(err, eb, sizeof(eb));
    mlops_status st = MLOPS_E_IO;
    const char *hint = "";
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        st = MLOPS_E_NOSPC;
        hint = "; free some space: every earlier batch is intact";
        break;
    case ENOMEM:
        st = MLOPS_E_NOMEM;
        break;
    case ELOOP:
    case EXDEV:
        st = MLOPS_E_CORRUPT;
        hint = "; a symlink or a path outside the store was found where a store file belongs";
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        hint = "; check the permissions of the store directory, or open it read-only";
        break;
    default:
        break;
    }
    return mlops__error(st, "%s '%s/%s' failed: %s%s", what, fb->path, name ? name : "", es,
                        hint);
}

mlops_status mlops__file_pread(file_backend *fb, int fd, void *buf, size_t n, uint64_t off,
                               size_t *got, const char *name)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = fb->io->pread(fb->io->payload, fd, (uint8_t *)buf + done, n - done,
                                  (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mlops__file_errno(fb, errno, "reading", name);
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return MLOPS_OK;
}

mlops_status mlops__file_pwrite(file_backend *fb, int fd, const void *buf, size_t n,
                                uint64_t off, const char *name)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = fb->io->pwrite(fb->io->payload, fd, (const uint8_t *)buf + done, n - done,
                                   (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mlops__file_errno(fb, errno, "writing", name);
        }
        if (r == 0)
            return mlops__file_errno(fb, EIO, "writing (no progress)", name);
        done += (size_t)r;
    }
    return MLOPS_OK;
}

mlops_status mlops__file_sync(file_backend *fb, int fd, bool dir, const char *name)
{
    for (;;) {
        int r = dir ? fb->io->fsync(fb->io->payload, fd) : fb->io->fdatasync(fb->io->payload, fd);
        if (r == 0)
            return MLOPS_OK;
        if (errno == EINTR)
            continue;
        int e = errno;
        /* after a failed fsync the kernel may have dropped the dirty pages:
         * nothing written since the last good sync can be promised */
        mlops__file_poison(fb);
        mlops__file_errno(fb, e, "syncing", name);
        return mlops__error(MLOPS_E_IO,
                            "fsync of '%s/%s' failed (%s); the store handle is poisoned and "
                            "refuses writes: close and reopen it",
                            fb->path, name ? name : "", strerror_r(e, (char[128]){0}, 128));
    }
}

int mlops__file_close(file_backend *fb, int fd)
{
    if (fd < 0)
        return 0;
    return fb->io->close(fb->io->payload, fd);
}

void mlops__file_poison(file_backend *fb)
{
    atomic_store(&fb->poisoned, 1);
}

mlops_status mlops__file_poisoned(file_backend *fb)
{
    if (atomic_load(&fb->poisoned))
        return mlops__error(MLOPS_E_IO, "the store '%s' is poisoned by an earlier failed fsync; "
                            "writes are refused until it is closed and reopened",
                            fb->path);
    return MLOPS_OK;
}

static uint64_t align8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static uint64_t random_u64(file_backend *fb)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
        v = (uint64_t)mlops__now_ns(fb->base.env) ^ ((uint64_t)getpid() << 32);
    return v ? v : 1;
}

static void log_name(char *out, size_t cap, uint64_t gen, bool tmp)
{
    snprintf(out, cap, "log-%016llx%s", (unsigned long long)gen, tmp ? ".tmp" : "");
}

/* ---- the writer lock (OFD, so closing any other descriptor never drops it) ---- */

static mlops_status lock_acquire(file_backend *fb)
{
    if (fb->lockfd < 0)
        return mlops__error(MLOPS_E_INVALID, "store '%s' is read-only", fb->path);
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    int64_t waited_us = 0, step_us = 50;
    int64_t limit_us = fb->lock_timeout_ms < 0 ? 0 : fb->lock_timeout_ms * 1000;
    for (;;) {
        if (fb->io->lock(fb->io->payload, fb->lockfd, F_OFD_SETLK, &fl) == 0) {
            fb->holding_lock = true;
            return MLOPS_OK;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN && e != EACCES)
            return mlops__file_errno(fb, e, "locking", LOCK_NAME);
        if (waited_us >= limit_us)
            return mlops__error(MLOPS_E_BUSY,
                                "store '%s' is locked by another writer; gave up after %lld ms "
                                "(raise lock_timeout_ms)",
                                fb->path, (long long)(waited_us / 1000));
        struct timespec ts = {0, (long)step_us * 1000};
        nanosleep(&ts, NULL);
        waited_us += step_us;
        if (step_us < 5000)
            step_us *= 2;
    }
}

static void lock_release(file_backend *fb)
{
    if (!fb->holding_lock)
        return;
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    fb->io->lock(fb->io->payload, fb->lockfd, F_OFD_SETLK, &fl);
    fb->holding_lock = false;
}

/* ---- superblock ---- */

typedef struct superblock {
    uint32_t read_version, write_version;
    uint64_t epoch, gen;
} superblock;

static void super_encode(uint8_t *b, const superblock *sb)
{
    memset(b, 0, SUPER_SIZE);
    memcpy(b, SUPER_MAGIC, 8);
    mlops__put_u32le(b + 8, sb->read_version);
    mlops__put_u32le(b + 12, sb->write_version);
    mlops__put_u64le(b + 16, sb->epoch);
    mlops__put_u64le(b + 24, sb->gen);
    mlops__put_u64le(b + 56, mlops__xxh3_64(b, 56, 0));
}

/* MLOPS_E_NOTFOUND if absent (no message set). */
static mlops_status super_read(file_backend *fb, superblock *sb, ino_t *ino)
{
    int fd = fio_open(fb, fb->dirfd, SUPER_NAME, O_RDONLY | O_NONBLOCK, 0, 1);
    if (fd < 0) {
        if (errno == ENOENT)
            return MLOPS_E_NOTFOUND;
        return mlops__file_errno(fb, errno, "opening", SUPER_NAME);
    }
    uint8_t b[SUPER_SIZE];
    size_t got = 0;
    struct stat stt;
    mlops_status st = MLOPS_OK;
    if (fb->io->fstat(fb->io->payload, fd, &stt) != 0)
        st = mlops__file_errno(fb, errno, "inspecting", SUPER_NAME);
    else if (!S_ISREG(stt.st_mode))
        st = mlops__error(MLOPS_E_CORRUPT, "'%s/%s' is not a regular file", fb->path,
                          SUPER_NAME);
    if (st == MLOPS_OK)
        st = mlops__file_pread(fb, fd, b, SUPER_SIZE, 0, &got, SUPER_NAME);
    mlops__file_close(fb, fd);
    if (st != MLOPS_OK)
        return st;
    if (got < SUPER_SIZE || memcmp(b, SUPER_MAGIC, 8) != 0)
        return mlops__error(MLOPS_E_CORRUPT,
                            "'%s/%s' is not a libmlops superblock (%zu bytes, bad magic or "
                            "truncated at offset %zu)",
                            fb->path, SUPER_NAME, got, got < SUPER_SIZE ? got : (size_t)0);
    if (mlops__get_u64le(b + 56) != mlops__xxh3_64(b, 56, 0))
        return mlops__error(MLOPS_E_CORRUPT,
                            "'%s/%s' fails its checksum (offset 56); the store cannot be opened",
                            fb->path, SUPER_NAME);
    sb->read_version = mlops__get_u32le(b + 8);
    sb->write_version = mlops__get_u32le(b + 12);
    sb->epoch = mlops__get_u64le(b + 16);
    sb->gen = mlops__get_u64le(b + 24);
    if (sb->read_version == 0 || sb->gen == 0)
        return mlops__error(MLOPS_E_CORRUPT, "'%s/%s' holds an invalid version or generation",
                            fb->path, SUPER_NAME);
    if (sb->read_version > FILE_FORMAT_VERSION)
        return mlops__error(MLOPS_E_VERSION,
                            "store '%s' has on-disk format version %u; this library reads "
                            "versions 1 to %u: upgrade libmlops (nothing was changed)",
                            fb->path, sb->read_version, FILE_FORMAT_VERSION);
    if (ino)
        *ino = stt.st_ino;
    return MLOPS_OK;
}

/* Replace the superblock atomically: temp file, fsync, rename, fsync dir. */
static mlops_status super_write(file_backend *fb, const superblock *sb)
{
    uint8_t b[SUPER_SIZE];
    super_encode(b, sb);
    int fd = fio_open(fb, fb->dirfd, SUPER_TMP, O_WRONLY | O_CREAT | O_TRUNC,
                          0644, 1);
    if (fd < 0)
        return mlops__file_errno(fb, errno, "creating", SUPER_TMP);
    mlops_status st = mlops__file_pwrite(fb, fd, b, SUPER_SIZE, 0, SUPER_TMP);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, fd, false, SUPER_TMP);
    mlops__file_close(fb, fd);
    if (st == MLOPS_OK &&
        fio_rename(fb, fb->dirfd, SUPER_TMP, fb->dirfd, SUPER_NAME, 0) != 0)
        st = mlops__file_errno(fb, errno, "renaming", SUPER_TMP);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, fb->dirfd, true, ".");
    if (st != MLOPS_OK)
        fio_unlink(fb, fb->dirfd, SUPER_TMP, 0);
    return st;
}

/* ---- log files ---- */

static void log_header_encode(uint8_t *b, uint64_t epoch, uint64_t gen, uint64_t base_seq)
{
    memset(b, 0, LOG_HDR_SIZE);
    memcpy(b, LOG_MAGIC, 8);
    mlops__put_u32le(b + 8, FILE_FORMAT_VERSION);
    mlops__put_u64le(b + 16, epoch);
    mlops__put_u64le(b + 24, gen);
    mlops__put_u64le(b + 32, base_seq);
    mlops__put_u64le(b + 56, mlops__xxh3_64(b, 56, 0));
}

static mlops_status log_header_check(file_backend *fb, const uint8_t *b, size_t got,
                                     const char *name, uint64_t epoch, uint64_t gen,
                                     uint64_t *base_seq)
{
    if (got < LOG_HDR_SIZE || memcmp(b, LOG_MAGIC, 8) != 0)
        return mlops__error(MLOPS_E_CORRUPT,
                            "log '%s/%s' has a damaged header (offset 0, %zu bytes)", fb->path,
                            name, got);
    if (mlops__get_u64le(b + 56) != mlops__xxh3_64(b, 56, 0))
        return mlops__error(MLOPS_E_CORRUPT,
                            "log '%s/%s' header fails its checksum (offset 56)", fb->path, name);
    if (mlops__get_u32le(b + 8) > FILE_FORMAT_VERSION)
        return mlops__error(MLOPS_E_VERSION, "log '%s/%s' has format version %u (this library "
                            "reads 1 to %u)", fb->path, name, mlops__get_u32le(b + 8),
                            FILE_FORMAT_VERSION);
    if (mlops__get_u64le(b + 16) != epoch || mlops__get_u64le(b + 24) != gen)
        return mlops__error(MLOPS_E_CORRUPT,
                            "log '%s/%s' belongs to another store or generation (offset 16)",
                            fb->path, name);
    *base_seq = mlops__get_u64le(b + 32);
    if (*base_seq == 0)
        return mlops__error(MLOPS_E_CORRUPT, "log '%s/%s' has base sequence 0", fb->path, name);
    return MLOPS_OK;
}

/* Open log gen and check its header. */
static mlops_status log_open(file_backend *fb, uint64_t epoch, uint64_t gen, int *fd_out,
                             uint64_t *base_seq)
{
    char name[40];
    log_name(name, sizeof(name), gen, false);
    int fd = fio_open(fb, fb->dirfd, name,
                          (fb->readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK, 0, 1);
    if (fd < 0) {
        if (errno == ENOENT)
            return mlops__error(MLOPS_E_CORRUPT,
                                "the superblock of '%s' names log '%s', which is missing",
                                fb->path, name);
        return mlops__file_errno(fb, errno, "opening", name);
    }
    struct stat stt;
    mlops_status st = MLOPS_OK;
    if (fb->io->fstat(fb->io->payload, fd, &stt) != 0)
        st = mlops__file_errno(fb, errno, "inspecting", name);
    else if (!S_ISREG(stt.st_mode))
        st = mlops__error(MLOPS_E_CORRUPT, "'%s/%s' is not a regular file", fb->path, name);
    uint8_t b[LOG_HDR_SIZE];
    size_t got = 0;
    if (st == MLOPS_OK)
        st = mlops__file_pread(fb, fd, b, LOG_HDR_SIZE, 0, &got, name);
    if (st == MLOPS_OK)
        st = log_header_check(fb, b, got, name, epoch, gen, base_seq);
    if (st != MLOPS_OK) {
        mlops__file_close(fb, fd);
        return st;
    }
    *fd_out = fd;
    return MLOPS_OK;
}

/* Write a new log file from header + body chunks into name.tmp, sync, rename. */
static mlops_status log_create(file_backend *fb, uint64_t epoch, uint64_t gen, uint64_t base_seq,
                               const mlops__buf *body)
{
    char tmp[48], name[48];
    log_name(tmp, sizeof(tmp), gen, true);
    log_name(name, sizeof(name), gen, false);
    int fd = fio_open(fb, fb->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, 1);
    if (fd < 0)
        return mlops__file_errno(fb, errno, "creating", tmp);
    uint8_t h[LOG_HDR_SIZE];
    log_header_encode(h, epoch, gen, base_seq);
    mlops_status st = mlops__file_pwrite(fb, fd, h, LOG_HDR_SIZE, 0, tmp);
    if (st == MLOPS_OK && body && body->len)
        st = mlops__file_pwrite(fb, fd, body->data, body->len, LOG_HDR_SIZE, tmp);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, fd, false, tmp);
    mlops__file_close(fb, fd);
    if (st == MLOPS_OK && fio_rename(fb, fb->dirfd, tmp, fb->dirfd, name, 0) != 0)
        st = mlops__file_errno(fb, errno, "renaming", tmp);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, fb->dirfd, true, ".");
    if (st != MLOPS_OK)
        fio_unlink(fb, fb->dirfd, tmp, 0);
    return st;
}

/* ---- records ---- */

static uint64_t rec_checksum(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
    return mlops__xxh3_64(payload, len, mlops__xxh3_64(hdr, 24, 0x6d6c6f70736c6f67ULL));
}

/* Fill the 32-byte header in front of a payload of len bytes (at p + REC_HDR)
 * and zero the padding after it. */
static void rec_seal(uint8_t *p, uint8_t type, uint8_t flags, uint64_t seq, uint64_t epoch,
                     size_t len)
{
    mlops__put_u32le(p, (uint32_t)len);
    p[4] = type;
    p[5] = flags;
    p[6] = p[7] = 0;
    mlops__put_u64le(p + 8, seq);
    mlops__put_u64le(p + 16, epoch);
    size_t total = (size_t)align8(REC_HDR + len);
    memset(p + REC_HDR + len, 0, total - REC_HDR - len);
    mlops__put_u64le(p + 24, rec_checksum(p, p + REC_HDR, len));
}

typedef struct rec_view {
    uint32_t len;
    uint8_t type, flags;
    uint64_t seq;
    const uint8_t *payload;
    uint64_t total;
} rec_view;

enum { REC_OK, REC_INCOMPLETE, REC_BAD };

/* Parse the record at p (avail bytes up to the end of the file). */
static int rec_parse(const uint8_t *p, uint64_t avail, uint64_t epoch, rec_view *v)
{
    if (avail < REC_HDR)
        return REC_INCOMPLETE;
    v->len = mlops__get_u32le(p);
    if (v->len > REC_MAX_PAYLOAD || p[6] != 0 || p[7] != 0)
        return REC_BAD;
    if (mlops__get_u64le(p + 16) != epoch)
        return REC_BAD;
    v->total = align8(REC_HDR + (uint64_t)v->len);
    if (v->total > avail)
        return REC_INCOMPLETE;
    v->type = p[4];
    v->flags = p[5];
    v->seq = mlops__get_u64le(p + 8);
    v->payload = p + REC_HDR;
    for (uint64_t i = REC_HDR + v->len; i < v->total; i++)
        if (p[i] != 0)
            return REC_BAD;
    if (mlops__get_u64le(p + 24) != rec_checksum(p, v->payload, v->len))
        return REC_BAD;
    return REC_OK;
}

/* Make sure rbuf holds log bytes [off, off + need) (need <= size - off,
 * size: the log's length as the caller saw it). Reads ahead up to
 * READ_CHUNK, but never past size: a small log gets a small buffer. */
static mlops_status window(file_backend *fb, uint64_t off, uint64_t need, uint64_t size,
                           const uint8_t **p)
{
    if (off >= fb->rbuf_off && off + need <= fb->rbuf_off + fb->rbuf.len) {
        *p = fb->rbuf.data + (off - fb->rbuf_off);
        return MLOPS_OK;
    }
    /* no bigger than what the log holds: a small store keeps a small buffer */
    uint64_t ahead = size > off ? size - off : 0;
    if (ahead > READ_CHUNK)
        ahead = READ_CHUNK;
    size_t want = need > ahead ? (size_t)need : (size_t)ahead;
    mlops_status st = mlops__reserve(fb->base.env, (void **)&fb->rbuf.data, &fb->rbuf.cap, want, 1);
    if (st != MLOPS_OK)
        return st;
    char name[40];
    log_name(name, sizeof(name), fb->gen, false);
    size_t got = 0;
    st = mlops__file_pread(fb, fb->logfd, fb->rbuf.data, want, off, &got, name);
    if (st != MLOPS_OK) {
        fb->rbuf.len = 0;
        return st;
    }
    fb->rbuf_off = off;
    fb->rbuf.len = got;
    if (got < need)
        return mlops__error(MLOPS_E_IO, "log '%s/%s' shrank while it was read at offset %llu",
                            fb->path, name, (unsigned long long)off);
    *p = fb->rbuf.data;
    return MLOPS_OK;
}

/* Decoded operation of a batch or snapshot payload. */
typedef struct pop {
    uint8_t kind; /* MLOPS_OP_PUT / MLOPS_OP_DELETE */
    const uint8_t *key, *val;
    size_t key_len, val_len;
    uint64_t version;
} pop;

static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    size_t n = mlops__varint_get(p + *pos, len - *pos, v);
    if (n == 0)
        return false;
    *pos += n;
    return true;
}

static bool get_bytes(const uint8_t *p, size_t len, size_t *pos, const uint8_t **out,
                      size_t *out_len, uint64_t max)
{
    uint64_t n;
    if (!get_varint(p, len, pos, &n) || n > max || n > len - *pos)
        return false;
    *out = p + *pos;
    *out_len = (size_t)n;
    *pos += (size_t)n;
    return true;
}

/* Decode one payload's operations; callback per op. Returns false if malformed. */
typedef bool (*pop_fn)(const pop *op, void *payload);

static bool decode_ops(const uint8_t *p, size_t len, bool snapshot, uint64_t seq, pop_fn fn,
                       void *payload)
{
    size_t pos = 0;
    uint64_t n;
    if (!get_varint(p, len, &pos, &n) || n > len)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        pop op = {0};
        if (snapshot) {
            op.kind = MLOPS_OP_PUT;
        } else {
            if (pos >= len)
                return false;
            op.kind = p[pos++];
            if (op.kind != MLOPS_OP_PUT && op.kind != MLOPS_OP_DELETE)
                return false;
        }
        if (!get_bytes(p, len, &pos, &op.key, &op.key_len, MLOPS_STORE_MAX_KEY) ||
            op.key_len == 0)
            return false;
        if (op.kind == MLOPS_OP_PUT &&
            !get_bytes(p, len, &pos, &op.val, &op.val_len, MLOPS_STORE_MAX_VALUE))
            return false;
        op.version = seq;
        if (snapshot && (!get_varint(p, len, &pos, &op.version) || op.version == 0))
            return false;
        if (fn && !fn(&op, payload))
            return false;
    }
    return pos == len;
}

typedef struct apply_ctx {
    mlops__idx *idx;
    mlops__idx_node **nodes;
    size_t n, cap, puts;
    const mlops_env *env;
    bool nomem;
} apply_ctx;

static bool collect_op(const pop *op, void *payload)
{
    apply_ctx *a = payload;
    if (mlops__reserve(a->env, (void **)&a->nodes, &a->cap, a->n + 1, sizeof(*a->nodes)) !=
        MLOPS_OK) {
        a->nomem = true;
        return false;
    }
    mlops__idx_node *node = NULL;
    if (op->kind == MLOPS_OP_PUT) {
        node = mlops__idx_node_new(a->idx, op->key, op->key_len, op->val, op->val_len,
                                   op->version);
        if (node == NULL) {
            a->nomem = true;
            return false;
        }
        a->puts++;
    } else {
        /* a delete is a node without a value that is never linked */
        node = mlops__idx_node_new(a->idx, op->key, op->key_len, NULL, 0, 0);
        if (node == NULL) {
            a->nomem = true;
            return false;
        }
        node->level = -1;
    }
    a->nodes[a->n++] = node;
    return true;
}

static void apply_ctx_free(apply_ctx *a)
{
    for (size_t i = 0; i < a->n; i++)
        mlops__idx_node_free(a->idx, a->nodes[i]);
    mlops__free(a->env, a->nodes);
}

/* Apply a decoded record to idx: every allocation first, then the changes,
 * which cannot fail. lock: take ilock for the changes. */
static mlops_status apply_record(file_backend *fb, mlops__idx *idx, const rec_view *v,
                                 uint64_t off, bool lock)
{
    apply_ctx a = {idx, NULL, 0, 0, 0, fb->base.env, false};
    bool ok = decode_ops(v->payload, v->len, v->type == REC_SNAPSHOT, v->seq, collect_op, &a);
    mlops_status st = MLOPS_OK;
    if (!ok)
        st = a.nomem ? mlops__nomem()
                     : mlops__error(MLOPS_E_CORRUPT,
                                    "log of '%s' (generation %llu) holds a malformed record at "
                                    "offset %llu (its checksum is valid)",
                                    fb->path, (unsigned long long)fb->gen,
                                    (unsigned long long)off);
    if (st == MLOPS_OK) {
        /* growing the hash table replaces it: readers must not see that */
        if (lock)
            pthread_rwlock_wrlock(&fb->ilock);
        st = mlops__idx_reserve(idx, a.puts);
        if (lock)
            pthread_rwlock_unlock(&fb->ilock);
    }
    if (st == MLOPS_OK) {
        if (lock)
            pthread_rwlock_wrlock(&fb->ilock);
        for (size_t i = 0; i < a.n; i++) {
            mlops__idx_node *node = a.nodes[i];
            if (node->level < 0) {
                mlops__idx_remove(idx, node->key, node->key_len);
            } else {
                mlops__idx_insert(idx, node);
                a.nodes[i] = NULL;
            }
        }
        if (lock)
            pthread_rwlock_unlock(&fb->ilock);
    }
    apply_ctx_free(&a);
    return st;
}

/* Is there a valid record of this epoch with seq > after_seq, written by a
 * handle that synced it (without REC_F_UNSYNCED), anywhere in [from, size)?
 * Tells a torn tail from damage in the middle. *synced_at: its offset, or 0. */
static mlops_status valid_record_after(file_backend *fb, uint64_t from, uint64_t size,
                                       uint64_t after_seq, uint64_t *synced_at)
{
    *synced_at = 0;
    for (uint64_t off = align8(from); off + REC_HDR <= size;) {
        const uint8_t *p;
        mlops_status st = window(fb, off, REC_HDR, size, &p);
        if (st != MLOPS_OK)
            return st;
        uint32_t len = mlops__get_u32le(p);
        uint64_t total = align8(REC_HDR + (uint64_t)len);
        if (len > REC_MAX_PAYLOAD || mlops__get_u64le(p + 16) != fb->epoch ||
            mlops__get_u64le(p + 8) <= after_seq || off + total > size) {
            off += 8;
            continue;
        }
        st = window(fb, off, total, size, &p);
        if (st != MLOPS_OK)
            return st;
        rec_view v;
        if (rec_parse(p, size - off, fb->epoch, &v) != REC_OK) {
            off += 8;
            continue;
        }
        if (!(v.flags & REC_F_UNSYNCED)) {
            *synced_at = off;
            return MLOPS_OK;
        }
        off += v.total;
    }
    return MLOPS_OK;
}

/* Move log bytes [off, size) to quarantine/ and cut the log at off. */
static mlops_status quarantine_tail(file_backend *fb, uint64_t off, uint64_t size)
{
    char lname[40], qname[80];
    log_name(lname, sizeof(lname), fb->gen, false);
    snprintf(qname, sizeof(qname), "%016llx-%016llx.bin", (unsigned long long)fb->gen,
             (unsigned long long)off);
    bool new_dir = fio_mkdir(fb, fb->dirfd, QUAR_DIR, 0755) == 0;
    if (!new_dir && errno != EEXIST)
        return mlops__file_errno(fb, errno, "creating", QUAR_DIR);
    int qd = fio_open(fb, fb->dirfd, QUAR_DIR, O_RDONLY | O_DIRECTORY, 0, 1);
    if (qd < 0)
        return mlops__file_errno(fb, errno, "opening", QUAR_DIR);
    int qf = fio_open(fb, qd, qname, O_WRONLY | O_CREAT | O_TRUNC, 0644, 1);
    mlops_status st = MLOPS_OK;
    if (qf < 0)
        st = mlops__file_errno(fb, errno, "creating quarantine file", qname);
    for (uint64_t pos = off; st == MLOPS_OK && pos < size;) {
        uint64_t n = size - pos < READ_CHUNK ? size - pos : READ_CHUNK;
        const uint8_t *p;
        st = window(fb, pos, n, size, &p);
        if (st == MLOPS_OK)
            st = mlops__file_pwrite(fb, qf, p, (size_t)n, pos - off, qname);
        pos += n;
    }
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, qf, false, qname);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, qd, true, QUAR_DIR);
    /* a new quarantine/ must be on disk before the log is cut, or a power
     * loss could keep the cut and lose the bytes it promised to keep (K4) */
    if (st == MLOPS_OK && new_dir)
        st = mlops__file_sync(fb, fb->dirfd, true, ".");
    mlops__file_close(fb, qf);
    mlops__file_close(fb, qd);
    if (st == MLOPS_OK && fio_ftruncate(fb, fb->logfd, (off_t)off) != 0)
        st = mlops__file_errno(fb, errno, "truncating", lname);
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, fb->logfd, false, lname);
    fb->rbuf.len = 0;
    if (st == MLOPS_OK)
        mlops__log(fb->base.env, MLOPS_LOG_WARN,
                   "store '%s': dropped a torn tail of %llu bytes at offset %llu of %s "
                   "(kept in %s/%s)",
                   fb->path, (unsigned long long)(size - off), (unsigned long long)off, lname,
                   QUAR_DIR, qname);
    return st;
}

/* Read records appended since fb->end into the index. locked: we hold the
 * writer lock, so an invalid tail is torn and is cut off. *sealed is set
 * when the log was closed by a compaction. Caller holds cmu. */
static mlops_status catch_up(file_backend *fb, bool locked, bool *sealed)
{
    *sealed = false;
    struct stat stt;
    char lname[40];
    log_name(lname, sizeof(lname), fb->gen, false);
    if (fb->io->fstat(fb->io->payload, fb->logfd, &stt) != 0)
        return mlops__file_errno(fb, errno, "inspecting", lname);
    uint64_t size = (uint64_t)stt.st_size;
    uint64_t off = atomic_load(&fb->end);
    if (size < off)
        return mlops__error(MLOPS_E_CORRUPT,
                            "log '%s/%s' shrank below its committed end (%llu < %llu bytes); "
                            "another program changed it",
                            fb->path, lname, (unsigned long long)size, (unsigned long long)off);
    mlops_status st = MLOPS_OK;
    while (off < size) {
        const uint8_t *p;
        uint64_t avail = size - off;
        st = window(fb, off, avail < REC_HDR ? avail : REC_HDR, size, &p);
        if (st != MLOPS_OK)
            return st;
        rec_view v;
        int r = REC_INCOMPLETE;
        if (avail >= REC_HDR) {
            uint32_t len = mlops__get_u32le(p);
            uint64_t total = align8(REC_HDR + (uint64_t)len);
            if (len <= REC_MAX_PAYLOAD && total <= avail) {
                st = window(fb, off, total, size, &p);
                if (st != MLOPS_OK)
                    return st;
            }
            r = rec_parse(p, avail, fb->epoch, &v);
        }
        if (r == REC_OK && v.seq <= fb->last_seq && v.type != REC_SNAPSHOT) {
            off += v.total; /* a replayed record: already applied (F8) */
            continue;
        }
        if (r == REC_OK) {
            if (v.type == REC_SNAPSHOT) {
                if (v.seq + 1 != fb->base_seq || fb->last_seq + 1 != fb->base_seq)
                    return mlops__error(MLOPS_E_CORRUPT,
                                        "log '%s/%s': snapshot record out of place at offset %llu",
                                        fb->path, lname, (unsigned long long)off);
            } else if (v.seq != fb->last_seq + 1) {
                return mlops__error(MLOPS_E_CORRUPT,
                                    "log '%s/%s': sequence gap at offset %llu (found %llu, "
                                    "expected %llu); records are missing",
                                    fb->path, lname, (unsigned long long)off,
                                    (unsigned long long)v.seq,
                                    (unsigned long long)(fb->last_seq + 1));
            }
            if (v.type == REC_BATCH || v.type == REC_SNAPSHOT) {
                st = apply_record(fb, &fb->idx, &v, off, !fb->rebuilding);
                if (st != MLOPS_OK)
                    return st;
            } else if (v.type == REC_SEAL) {
                fb->last_seq = v.seq;
                fb->records++;
                atomic_store(&fb->end, off + v.total);
                *sealed = true;
                return MLOPS_OK;
            } else if (v.flags & REC_F_MUST_UNDERSTAND) {
                return mlops__error(MLOPS_E_VERSION,
                                    "log '%s/%s' holds a record of type %u at offset %llu that "
                                    "this library does not understand; upgrade libmlops",
                                    fb->path, lname, v.type, (unsigned long long)off);
            } else {
                fb->unknown_records = true; /* skipped and kept (F7) */
            }
            if (v.type != REC_SNAPSHOT)
                fb->last_seq = v.seq;
            fb->records++;
            off += v.total;
            atomic_store(&fb->end, off);
            continue;
        }
        /* an invalid or incomplete record: torn tail or damage? Damage if
         * a valid record follows that was synced when written (its sync
         * made everything before it durable). Records written without a
         * sync (normal, off) reach the disk in any order, so after a power
         * loss later ones may be there and an earlier one not: that is a
         * torn tail too (K3). */
        uint64_t synced = 0;
        st = valid_record_after(fb, off + 8, size, fb->last_seq, &synced);
        if (st != MLOPS_OK)
            return st;
        if (synced != 0)
            return mlops__error(MLOPS_E_CORRUPT,
                                "log '%s/%s' is corrupt at offset %llu (a valid record follows "
                                "at offset %llu); run 'mlops store check'",
                                fb->path, lname, (unsigned long long)off,
                                (unsigned long long)synced);
        if (locked && !fb->readonly)
            return quarantine_tail(fb, off, size);
        return MLOPS_OK; /* perhaps a write in progress in another process */
    }
    return MLOPS_OK;
}

/* Switch to the log the superblock names now, rebuilding the index. Readers
 * are held off meanwhile so they never see a half-built index. */
static mlops_status reload(file_backend *fb, bool locked)
{
    superblock sb;
    ino_t ino = 0;
    mlops_status st = super_read(fb, &sb, &ino);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_CORRUPT, "the superblock of '%s' disappeared", fb->path);
    if (st != MLOPS_OK)
        return st;
    fb->super_ino = ino;
    fb->super_checked_ms = mlops__now_ms(fb->base.env);
    if (sb.gen == fb->gen && sb.epoch == fb->epoch)
        return MLOPS_OK;
    int fd = -1;
    uint64_t base = 0;
    st = log_open(fb, sb.epoch, sb.gen, &fd, &base);
    if (st != MLOPS_OK)
        return st;
    mlops__idx fresh;
    st = mlops__idx_init(&fresh, fb->base.env);
    if (st != MLOPS_OK) {
        mlops__file_close(fb, fd);
        return st;
    }
    int old_fd = fb->logfd;
    uint64_t old_epoch = fb->epoch, old_gen = fb->gen, old_base = fb->base_seq;
    uint64_t old_last = fb->last_seq, old_records = fb->records, old_end = atomic_load(&fb->end);
    bool old_unknown = fb->unknown_records;
    pthread_rwlock_wrlock(&fb->ilock);
    fb->rebuilding = true;
    mlops__idx_swap(&fb->idx, &fresh); /* fb->idx is empty; fresh keeps the old one */
    fb->logfd = fd;
    fb->epoch = sb.epoch;
    fb->gen = sb.gen;
    fb->base_seq = base;
    fb->last_seq = base - 1;
    fb->records = 0;
    fb->unknown_records = false;
    atomic_store(&fb->end, LOG_HDR_SIZE);
    fb->rbuf.len = 0;
    bool sealed = false;
    st = catch_up(fb, locked, &sealed);
    if (st != MLOPS_OK) {
        mlops__idx_swap(&fb->idx, &fresh);
        fb->logfd = old_fd;
        fb->epoch = old_epoch;
        fb->gen = old_gen;
        fb->base_seq = old_base;
        fb->last_seq = old_last;
        fb->records = old_records;
        fb->unknown_records = old_unknown;
        atomic_store(&fb->end, old_end);
        fb->rbuf.len = 0;
        old_fd = fd;
    }
    fb->rebuilding = false;
    pthread_rwlock_unlock(&fb->ilock);
    mlops__idx_free(&fresh);
    mlops__file_close(fb, old_fd);
    return st;
}

/* Bring the index up to date with other processes. Caller holds cmu. */
static mlops_status refresh_locked(file_backend *fb, bool locked)
{
    for (int switches = 0; switches < 8;) {
        bool sealed = false;
        mlops_status st = catch_up(fb, locked, &sealed);
        if (st != MLOPS_OK || !sealed)
            return st;
        uint64_t gen = fb->gen;
        st = reload(fb, locked);
        if (st != MLOPS_OK)
            return st;
        /* a seal whose compaction did not finish: the log goes on, and what
         * follows the seal must be read too (each pass moves past one) */
        if (fb->gen != gen)
            switches++;
    }
    return mlops__error(MLOPS_E_BUSY, "store '%s' is being compacted repeatedly; try again",
                        fb->path);
}

/* Writers: check under the lock that no other process switched the log. */
static mlops_status check_super(file_backend *fb, bool locked)
{
    struct stat stt;
    if (fb->io->fstatat(fb->io->payload, fb->dirfd, SUPER_NAME, &stt) != 0)
        return mlops__file_errno(fb, errno, "inspecting", SUPER_NAME);
    fb->super_checked_ms = mlops__now_ms(fb->base.env);
    if (stt.st_ino == fb->super_ino)
        return MLOPS_OK;
    return reload(fb, locked);
}

/* Readers: a cheap fstat of the log; catch up only when it grew. */
static mlops_status refresh(file_backend *fb)
{
    struct stat stt;
    if (fb->io->fstat(fb->io->payload, fb->logfd, &stt) == 0 &&
        (uint64_t)stt.st_size == atomic_load(&fb->end)) {
        int64_t now = mlops__now_ms(fb->base.env);
        if (now - fb->super_checked_ms < SYNC_WINDOW_MS && now >= fb->super_checked_ms)
            return MLOPS_OK;
    }
    pthread_mutex_lock(&fb->cmu);
    mlops_status st = MLOPS_OK;
    int64_t now = mlops__now_ms(fb->base.env);
    if (now - fb->super_checked_ms >= SYNC_WINDOW_MS || now < fb->super_checked_ms)
        st = check_super(fb, false);
    if (st == MLOPS_OK)
        st = refresh_locked(fb, false);
    pthread_mutex_unlock(&fb->cmu);
    return st;
}

/* ---- operations ---- */

static mlops_status file_get(mlops_backend *b, const uint8_t *key, size_t key_len,
                             mlops_bytes *value_out, uint64_t *version_out)
{
    file_backend *fb = (file_backend *)b;
    mlops_status st = refresh(fb);
    if (st != MLOPS_OK)
        return st;
    pthread_rwlock_rdlock(&fb->ilock);
    mlops__idx_node *n = mlops__idx_find(&fb->idx, key, key_len);
    if (n == NULL) {
        st = MLOPS_E_NOTFOUND;
        mlops__error(st, "key not found");
    } else {
        st = mlops_bytes_set(value_out, b->env, n->val, n->val_len);
        if (st == MLOPS_OK && version_out)
            *version_out = n->version;
    }
    pthread_rwlock_unlock(&fb->ilock);
    return st;
}

static mlops_status file_scan(mlops_backend *b, const uint8_t *start, size_t start_len,
                              const uint8_t *end, size_t end_len, size_t limit,
                              mlops_backend_scan_fn cb, void *payload)
{
    file_backend *fb = (file_backend *)b;
    mlops_status st = refresh(fb);
    if (st != MLOPS_OK)
        return st;
    pthread_rwlock_rdlock(&fb->ilock);
    st = mlops__idx_scan(&fb->idx, start, start_len, end, end_len, limit, cb, payload);
    pthread_rwlock_unlock(&fb->ilock);
    return st;
}

static mlops_status put_varint(mlops__buf *b, uint64_t v)
{
    uint8_t tmp[10];
    return mlops__buf_append(b, tmp, mlops__varint_put(tmp, v));
}

/* Encode the writes of a batch after REC_HDR reserved bytes. */
static mlops_status encode_batch(mlops__buf *b, const mlops_batch_op *ops, size_t n,
                                 size_t *writes, size_t *payload_len)
{
    static const uint8_t zeros[REC_HDR + 8];
    *writes = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == MLOPS_OP_PUT || ops[i].kind == MLOPS_OP_DELETE)
            (*writes)++;
    mlops_status st = mlops__buf_append(b, zeros, REC_HDR);
    if (st == MLOPS_OK)
        st = put_varint(b, *writes);
    for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
        const mlops_batch_op *op = &ops[i];
        if (op->kind != MLOPS_OP_PUT && op->kind != MLOPS_OP_DELETE)
            continue;
        st = mlops__buf_putc(b, (uint8_t)op->kind);
        if (st == MLOPS_OK)
            st = put_varint(b, op->key_len);
        if (st == MLOPS_OK)
            st = mlops__buf_append(b, op->key, op->key_len);
        if (st == MLOPS_OK && op->kind == MLOPS_OP_PUT) {
            st = put_varint(b, op->value_len);
            if (st == MLOPS_OK)
                st = mlops__buf_append(b, op->value, op->value_len);
        }
        if (st == MLOPS_OK && b->len - REC_HDR > REC_MAX_PAYLOAD)
            st = mlops__error(MLOPS_E_TOOBIG,
                              "batch encodes to more than %u bytes; split it or use blobs",
                              REC_MAX_PAYLOAD);
    }
    *payload_len = b->len - REC_HDR;
    if (st == MLOPS_OK)
        st = mlops__buf_append(b, zeros, (size_t)(align8(b->len) - b->len));
    return st;
}

static void *syncer_main(void *arg);

static void wake_syncer(file_backend *fb)
{
    pthread_mutex_lock(&fb->smu);
    fb->dirty = true;
    if (!fb->syncer_running && !fb->stop) {
        if (pthread_create(&fb->syncer, NULL, syncer_main, fb) == 0)
            fb->syncer_running = true;
    }
    pthread_cond_signal(&fb->scv);
    pthread_mutex_unlock(&fb->smu);
}

/* Append one record (already sealed in rec) at the end of the log and sync
 * it as the mode says. Caller holds wmu, cmu and the writer lock. */
static mlops_status append_record(file_backend *fb, const uint8_t *rec, size_t total)
{
    char lname[40];
    log_name(lname, sizeof(lname), fb->gen, false);
    uint64_t end = atomic_load(&fb->end);
    mlops_status st = mlops__file_pwrite(fb, fb->logfd, rec, total, end, lname);
    if (st != MLOPS_OK) {
        /* take back a partial record so the log ends on a record boundary */
        if (fio_ftruncate(fb, fb->logfd, (off_t)end) != 0)
            mlops__file_poison(fb);
        return st;
    }
    if (fb->sync == MLOPS_SYNC_FULL)
        st = mlops__file_sync(fb, fb->logfd, false, lname);
    return st;
}

static mlops_status file_apply(mlops_backend *b, const mlops_batch_op *ops, size_t n_ops)
{
    file_backend *fb = (file_backend *)b;
    const mlops_env *env = b->env;
    if (fb->readonly)
        return fb->newer_writer
                   ? mlops__error(MLOPS_E_VERSION, "store '%s' was written by a newer libmlops; "
                                  "this library may only read it", fb->path)
                   : mlops__error(MLOPS_E_INVALID, "store '%s' was opened read-only", fb->path);
    mlops__buf rec;
    mlops__buf_init(&rec, env);
    size_t writes = 0, plen = 0;
    apply_ctx a = {&fb->idx, NULL, 0, 0, 0, env, false};
    mlops_status st = encode_batch(&rec, ops, n_ops, &writes, &plen);
    if (st != MLOPS_OK) {
        mlops__buf_free(&rec);
        return st;
    }
    pthread_mutex_lock(&fb->wmu);
    st = mlops__file_poisoned(fb);
    if (st == MLOPS_OK)
        st = lock_acquire(fb);
    /* readers only wait for cmu, never for another process's lock */
    pthread_mutex_lock(&fb->cmu);
    if (st == MLOPS_OK)
        st = check_super(fb, true);
    if (st == MLOPS_OK)
        st = refresh_locked(fb, true);
    if (st == MLOPS_OK)
        st = mlops__idx_check(&fb->idx, ops, n_ops);
    if (st == MLOPS_OK && writes > 0) {
        uint64_t seq = fb->last_seq + 1;
        uint8_t flags = REC_F_MUST_UNDERSTAND;
        if (fb->sync != MLOPS_SYNC_FULL)
            flags |= REC_F_UNSYNCED;
        rec_seal(rec.data, REC_BATCH, flags, seq, fb->epoch, plen);
        rec_view v = {(uint32_t)plen, REC_BATCH, flags, seq,
                      rec.data + REC_HDR, rec.len};
        /* every allocation before the write, so nothing can fail after it */
        a.idx = &fb->idx;
        if (!decode_ops(v.payload, v.len, false, seq, collect_op, &a))
            st = a.nomem ? mlops__nomem()
                         : mlops__error(MLOPS_E_INTERNAL, "batch encoding failed to decode");
        if (st == MLOPS_OK) {
            /* growing the hash table replaces it: readers must not see that */
            pthread_rwlock_wrlock(&fb->ilock);
            st = mlops__idx_reserve(&fb->idx, a.puts);
            pthread_rwlock_unlock(&fb->ilock);
        }
        if (st == MLOPS_OK)
            st = append_record(fb, rec.data, rec.len);
        if (st == MLOPS_OK) {
            pthread_rwlock_wrlock(&fb->ilock);
            for (size_t i = 0; i < a.n; i++) {
                mlops__idx_node *node = a.nodes[i];
                if (node->level < 0) {
                    mlops__idx_remove(&fb->idx, node->key, node->key_len);
                } else {
                    mlops__idx_insert(&fb->idx, node);
                    a.nodes[i] = NULL;
                }
            }
            fb->last_seq = seq;
            fb->records++;
            atomic_store(&fb->end, atomic_load(&fb->end) + rec.len);
            pthread_rwlock_unlock(&fb->ilock);
            if (fb->sync == MLOPS_SYNC_NORMAL)
                wake_syncer(fb);
            else if (fb->sync == MLOPS_SYNC_OFF)
                fb->dirty = true;
        }
    }
    pthread_mutex_unlock(&fb->cmu);
    lock_release(fb);
    pthread_mutex_unlock(&fb->wmu);
    apply_ctx_free(&a);
    mlops__buf_free(&rec);
    return st;
}

/* ---- durability ---- */

/* fdatasync the log without holding a mutex, so writers go on meanwhile (group
 * commit); a failure poisons the handle. */
static mlops_status sync_log(file_backend *fb)
{
    pthread_mutex_lock(&fb->cmu);
    char lname[40];
    log_name(lname, sizeof(lname), fb->gen, false);
    mlops_status st = mlops__file_poisoned(fb);
    int fd = -1;
    if (st == MLOPS_OK && !fb->readonly && fb->logfd >= 0) {
        fd = mlops__io_dup(fb->io, fb->logfd);
        if (fd < 0)
            st = mlops__file_errno(fb, errno, "duplicating a descriptor of", lname);
    }
    pthread_mutex_unlock(&fb->cmu);
    if (fd >= 0) {
        st = mlops__file_sync(fb, fd, false, lname);
        mlops__file_close(fb, fd);
    }
    return st;
}

static void *syncer_main(void *arg)
{
    file_backend *fb = arg;
    pthread_mutex_lock(&fb->smu);
    while (!fb->stop) {
        if (fb->dirty) {
            fb->dirty = false;
            pthread_mutex_unlock(&fb->smu);
            /* group commit: one fdatasync covers every batch written since the last */
            sync_log(fb);
            pthread_mutex_lock(&fb->smu);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SYNC_WINDOW_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!fb->stop && !fb->dirty)
            pthread_cond_timedwait(&fb->scv, &fb->smu, &ts);
        else if (!fb->stop)
            pthread_cond_timedwait(&fb->scv, &fb->smu, &ts); /* wait out the window */
    }
    pthread_mutex_unlock(&fb->smu);
    return NULL;
}

static mlops_status file_sync(mlops_backend *b)
{
    file_backend *fb = (file_backend *)b;
    if (fb->readonly)
        return MLOPS_OK;
    return sync_log(fb);
}

/* ---- compaction ---- */

static mlops_status snap_flush(file_backend *fb, mlops__buf *body, mlops__buf *chunk,
                               uint64_t n, uint64_t seq)
{
    if (n == 0)
        return MLOPS_OK;
    uint8_t vb[10];
    size_t vn = mlops__varint_put(vb, n);
    size_t plen = vn + chunk->len;
    size_t start = body->len;
    static const uint8_t zeros[REC_HDR + 8];
    mlops_status st = mlops__buf_append(body, zeros, REC_HDR);
    if (st == MLOPS_OK)
        st = mlops__buf_append(body, vb, vn);
    if (st == MLOPS_OK)
        st = mlops__buf_append(body, chunk->data, chunk->len);
    if (st == MLOPS_OK)
        st = mlops__buf_append(body, zeros, (size_t)(align8(REC_HDR + plen) - REC_HDR - plen));
    if (st == MLOPS_OK)
        rec_seal(body->data + start, REC_SNAPSHOT, REC_F_MUST_UNDERSTAND, seq, fb->epoch, plen);
    chunk->len = 0;
    return st;
}

static mlops_status file_compact(mlops_backend *b)
{
    file_backend *fb = (file_backend *)b;
    const mlops_env *env = b->env;
    if (fb->readonly)
        return mlops__error(MLOPS_E_INVALID, "store '%s' was opened read-only", fb->path);
    mlops__buf body, chunk;
    mlops__buf_init(&body, env);
    mlops__buf_init(&chunk, env);
    pthread_mutex_lock(&fb->wmu);
    mlops_status st = mlops__file_poisoned(fb);
    if (st == MLOPS_OK)
        st = lock_acquire(fb);
    /* readers only wait for cmu, never for another process's lock */
    pthread_mutex_lock(&fb->cmu);
    if (st == MLOPS_OK)
        st = check_super(fb, true);
    if (st == MLOPS_OK)
        st = refresh_locked(fb, true);
    if (st == MLOPS_OK && fb->unknown_records)
        st = mlops__error(MLOPS_E_VERSION,
                          "store '%s' holds records written by a newer libmlops; compact it "
                          "with that version so they are kept",
                          fb->path);
    uint64_t new_gen = fb->gen + 1, base = fb->last_seq + 1;
    /* the whole live state, in key order, as snapshot records */
    uint64_t n = 0;
    for (mlops__idx_node *x = mlops__idx_first(&fb->idx); x && st == MLOPS_OK; x = x->next[0]) {
        st = put_varint(&chunk, x->key_len);
        if (st == MLOPS_OK)
            st = mlops__buf_append(&chunk, x->key, x->key_len);
        if (st == MLOPS_OK)
            st = put_varint(&chunk, x->val_len);
        if (st == MLOPS_OK)
            st = mlops__buf_append(&chunk, x->val, x->val_len);
        if (st == MLOPS_OK)
            st = put_varint(&chunk, x->version);
        n++;
        if (st == MLOPS_OK && chunk.len >= SNAP_CHUNK) {
            st = snap_flush(fb, &body, &chunk, n, base - 1);
            n = 0;
        }
    }
    if (st == MLOPS_OK)
        st = snap_flush(fb, &body, &chunk, n, base - 1);
    mlops__buf_free(&chunk);
    if (st == MLOPS_OK)
        st = log_create(fb, fb->epoch, new_gen, base, &body);
    int newfd = -1;
    uint64_t nb = 0;
    if (st == MLOPS_OK)
        st = log_open(fb, fb->epoch, new_gen, &newfd, &nb);
    bool switched = false;
    if (st == MLOPS_OK) {
        /* the commit point: the superblock names the new log */
        superblock sb = {FILE_FORMAT_VERSION, FILE_FORMAT_VERSION, fb->epoch, new_gen};
        st = super_write(fb, &sb);
        if (st == MLOPS_OK) {
            switched = true;
        } else {
            /* a failure after the rename (a directory fsync) may still have
             * switched generations: the superblock on disk decides */
            superblock now;
            mlops_status keep = st;
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", mlops_error_message());
            if (super_read(fb, &now, NULL) == MLOPS_OK && now.gen == new_gen)
                switched = true;
            mlops_error_set(keep, msg);
        }
    }
    if (!switched) {
        char tmp[48];
        log_name(tmp, sizeof(tmp), new_gen, false);
        if (newfd >= 0) {
            mlops__file_close(fb, newfd);
            fio_unlink(fb, fb->dirfd, tmp, 0);
        }
    } else {
        /* tell other open handles that this log is finished */
        uint8_t seal[REC_HDR + 8];
        mlops__put_u64le(seal + REC_HDR, new_gen);
        rec_seal(seal, REC_SEAL, REC_F_MUST_UNDERSTAND, fb->last_seq + 1, fb->epoch, 8);
        char old[40];
        log_name(old, sizeof(old), fb->gen, false);
        mlops__file_pwrite(fb, fb->logfd, seal, sizeof(seal), atomic_load(&fb->end), old);
        mlops__file_close(fb, fb->logfd);
        fio_unlink(fb, fb->dirfd, old, 0);
        ino_t ino = 0;
        superblock sb;
        if (super_read(fb, &sb, &ino) == MLOPS_OK)
            fb->super_ino = ino;
        fb->logfd = newfd;
        fb->gen = new_gen;
        fb->base_seq = base;
        fb->records = 0;
        for (uint64_t off = 0; off < body.len;) {
            off += align8(REC_HDR + (uint64_t)mlops__get_u32le(body.data + off));
            fb->records++;
        }
        atomic_store(&fb->end, LOG_HDR_SIZE + body.len);
        fb->rbuf.len = 0;
        if (st == MLOPS_OK) {
            mlops__fblob_cleanup(fb);
            mlops__log(env, MLOPS_LOG_INFO, "store '%s' compacted into generation %llu",
                       fb->path, (unsigned long long)new_gen);
        }
    }
    pthread_mutex_unlock(&fb->cmu);
    lock_release(fb);
    pthread_mutex_unlock(&fb->wmu);
    mlops__buf_free(&body);
    return st;
}

/* ---- check and info ---- */

static mlops_status file_check(mlops_backend *b, char **report_out)
{
    file_backend *fb = (file_backend *)b;
    const mlops_env *env = b->env;
    mlops__buf rep;
    mlops__buf_init(&rep, env);
    uint64_t problems = 0;
    pthread_mutex_lock(&fb->wmu);
    mlops_status st = MLOPS_OK;
    bool locked = false;
    if (!fb->readonly) {
        st = lock_acquire(fb);
        locked = st == MLOPS_OK;
    }
    pthread_mutex_lock(&fb->cmu);
    superblock sb;
    mlops_status sst = MLOPS_OK;
    if (st == MLOPS_OK) {
        sst = super_read(fb, &sb, NULL);
        if (sst == MLOPS_E_NOTFOUND)
            sst = mlops__error(MLOPS_E_CORRUPT, "superblock of '%s' is missing", fb->path);
        if (sst == MLOPS_E_CORRUPT || sst == MLOPS_E_VERSION) {
            problems++;
            st = mlops__buf_printf(&rep, "%s\n", mlops_error_message());
        } else if (sst != MLOPS_OK) {
            st = sst; /* out of memory or I/O is no verdict on the data */
        }
    }
    /* walk the whole log again, from its header */
    char lname[40];
    log_name(lname, sizeof(lname), fb->gen, false);
    struct stat stt;
    uint64_t size = 0;
    if (st == MLOPS_OK) {
        if (fb->io->fstat(fb->io->payload, fb->logfd, &stt) != 0)
            st = mlops__file_errno(fb, errno, "inspecting", lname);
        else
            size = (uint64_t)stt.st_size;
    }
    const uint8_t *p = NULL;
    uint64_t base = 0;
    if (st == MLOPS_OK) {
        mlops_status hs =
            size >= LOG_HDR_SIZE ? window(fb, 0, LOG_HDR_SIZE, size, &p) : MLOPS_OK;
        if (hs == MLOPS_OK)
            hs = log_header_check(fb, p, size >= LOG_HDR_SIZE ? LOG_HDR_SIZE : (size_t)size,
                                  lname, fb->epoch, fb->gen, &base);
        if (hs == MLOPS_E_CORRUPT || hs == MLOPS_E_VERSION) {
            problems++;
            st = mlops__buf_printf(&rep, "%s\n", mlops_error_message());
            size = 0;
        } else if (hs != MLOPS_OK) {
            st = hs;
        }
    }
    uint64_t off = LOG_HDR_SIZE, expect = base, committed = atomic_load(&fb->end);
    bool seen_batch = false;
    while (st == MLOPS_OK && off < size) {
        uint64_t avail = size - off;
        st = window(fb, off, avail < REC_HDR ? avail : REC_HDR, size, &p);
        if (st != MLOPS_OK)
            break;
        rec_view v;
        int r = REC_INCOMPLETE;
        if (avail >= REC_HDR) {
            uint64_t total = align8(REC_HDR + (uint64_t)mlops__get_u32le(p));
            if (mlops__get_u32le(p) <= REC_MAX_PAYLOAD && total <= avail)
                st = window(fb, off, total, size, &p);
            if (st != MLOPS_OK)
                break;
            r = rec_parse(p, avail, fb->epoch, &v);
        }
        if (r != REC_OK) {
            if (off >= committed && !locked)
                break; /* a write in progress in another process */
            problems++;
            st = mlops__buf_printf(&rep,
                                   "%s/%s: offset %llu: record fails its checksum or is "
                                   "incomplete (%llu bytes to the end of the log)\n",
                                   fb->path, lname, (unsigned long long)off,
                                   (unsigned long long)(size - off));
            break;
        }
        if (v.type == REC_SNAPSHOT) {
            if (seen_batch || v.seq + 1 != base) {
                problems++;
                st = mlops__buf_printf(&rep, "%s/%s: offset %llu: snapshot record out of place\n",
                                       fb->path, lname, (unsigned long long)off);
            }
        } else {
            seen_batch = true;
            if (v.seq != expect) {
                problems++;
                st = mlops__buf_printf(&rep,
                                       "%s/%s: offset %llu: sequence %llu where %llu was "
                                       "expected\n",
                                       fb->path, lname, (unsigned long long)off,
                                       (unsigned long long)v.seq, (unsigned long long)expect);
            }
            expect = v.seq + 1;
        }
        if (st == MLOPS_OK && (v.type == REC_BATCH || v.type == REC_SNAPSHOT) &&
            !decode_ops(v.payload, v.len, v.type == REC_SNAPSHOT, v.seq, NULL, NULL)) {
            problems++;
            st = mlops__buf_printf(&rep, "%s/%s: offset %llu: malformed record payload\n",
                                   fb->path, lname, (unsigned long long)off);
        }
        off += v.total;
    }
    if (st == MLOPS_OK)
        st = mlops__fblob_check(fb, &rep, &problems);
    pthread_mutex_unlock(&fb->cmu);
    if (locked)
        lock_release(fb);
    pthread_mutex_unlock(&fb->wmu);
    if (st != MLOPS_OK) {
        mlops__buf_free(&rep);
        return st;
    }
    char *text = mlops__buf_take_str(&rep);
    if (text == NULL) {
        mlops__buf_free(&rep);
        return mlops__nomem();
    }
    if (problems > 0) {
        /* the message names the first location */
        char first[400];
        size_t k = 0;
        while (text[k] && text[k] != '\n' && k < sizeof(first) - 1) {
            first[k] = text[k];
            k++;
        }
        first[k] = 0;
        st = mlops__error(MLOPS_E_CORRUPT, "%llu problem(s) found; first: %s",
                          (unsigned long long)problems, first);
    }
    if (report_out)
        *report_out = text;
    else
        mlops__free(env, text);
    return st;
}

static mlops_status file_info(mlops_backend *b, mlops_store_info_data *info)
{
    file_backend *fb = (file_backend *)b;
    mlops_status st = refresh(fb);
    if (st != MLOPS_OK)
        return st;
    pthread_mutex_lock(&fb->cmu);
    info->format_version = FILE_FORMAT_VERSION;
    pthread_rwlock_rdlock(&fb->ilock);
    info->keys = fb->idx.count;
    pthread_rwlock_unlock(&fb->ilock);
    info->records = fb->records;
    uint64_t blobs = 0, blob_bytes = 0;
    mlops__fblob_count(fb, &blobs, &blob_bytes);
    info->blobs = blobs;
    info->blob_bytes = blob_bytes;
    info->bytes = atomic_load(&fb->end) + SUPER_SIZE + blob_bytes;
    pthread_mutex_unlock(&fb->cmu);
    return MLOPS_OK;
}

/* ---- open and close ---- */

static void file_close(mlops_backend *b)
{
    file_backend *fb = (file_backend *)b;
    const mlops_env *env = b->env;
    pthread_mutex_lock(&fb->smu);
    fb->stop = true;
    pthread_cond_signal(&fb->scv);
    bool running = fb->syncer_running;
    pthread_mutex_unlock(&fb->smu);
    if (running)
        pthread_join(fb->syncer, NULL);
    /* normal and off: close makes every acknowledged batch durable */
    if (!fb->readonly && fb->logfd >= 0 && !atomic_load(&fb->poisoned) &&
        fb->sync != MLOPS_SYNC_FULL && fb->dirty)
        sync_log(fb);
    mlops__file_close(fb, fb->logfd);
    mlops__file_close(fb, fb->lockfd);
    mlops__file_close(fb, fb->blobfd);
    mlops__file_close(fb, fb->dirfd);
    mlops__idx_free(&fb->idx);
    mlops__buf_free(&fb->rbuf);
    pthread_mutex_destroy(&fb->wmu);
    pthread_mutex_destroy(&fb->cmu);
    pthread_mutex_destroy(&fb->smu);
    pthread_cond_destroy(&fb->scv);
    pthread_rwlock_destroy(&fb->ilock);
    mlops__free(env, fb->path);
    mlops__free(env, fb);
}

static const mlops_backend_ops file_ops = {
    .version = MLOPS_BACKEND_OPS_VERSION,
    .caps = MLOPS_BACKEND_CAP_PERSISTENT | MLOPS_BACKEND_CAP_MULTIPROCESS,
    .name = "file",
    .get = file_get,
    .scan = file_scan,
    .apply = file_apply,
    .blob_write_open = mlops__fblob_write_open,
    .blob_write = mlops__fblob_write,
    .blob_write_commit = mlops__fblob_write_commit,
    .blob_write_free = mlops__fblob_write_free,
    .blob_read_open = mlops__fblob_read_open,
    .blob_read = mlops__fblob_read,
    .blob_read_free = mlops__fblob_read_free,
    .close = file_close,
    .sync = file_sync,
    .compact = file_compact,
    .check = file_check,
    .info = file_info,
    .blob_stat = mlops__fblob_stat,
};

/* Whether the directory holds nothing but (possibly) our lock file. */
static int fresh_entry(void *arg, const char *name)
{
    bool *fresh = arg;
    if (strcmp(name, LOCK_NAME) && strcmp(name, SUPER_TMP) && strncmp(name, "log-", 4) != 0 &&
        strcmp(name, "blobs") != 0) {
        *fresh = false;
        return 1;
    }
    return 0;
}

static mlops_status dir_is_fresh(file_backend *fb, bool *fresh)
{
    *fresh = true;
    if (mlops__io_list(fb->io, fb->dirfd, fresh_entry, fresh) != 0)
        return mlops__file_errno(fb, errno, "listing", ".");
    return MLOPS_OK;
}

/* Remove logs of other generations and temp files (under the writer lock). */
typedef struct stale_ctx {
    file_backend *fb;
    char cur[40];
} stale_ctx;

static int stale_entry(void *arg, const char *name)
{
    stale_ctx *c = arg;
    if ((strncmp(name, "log-", 4) == 0 && strcmp(name, c->cur) != 0 && strlen(name) <= 24) ||
        strcmp(name, SUPER_TMP) == 0)
        fio_unlink(c->fb, c->fb->dirfd, name, 0);
    return 0;
}

static void cleanup_stale(file_backend *fb)
{
    stale_ctx c;
    c.fb = fb;
    log_name(c.cur, sizeof(c.cur), fb->gen, false);
    mlops__io_list(fb->io, fb->dirfd, stale_entry, &c);
}

static mlops_status create_store(file_backend *fb)
{
    fb->epoch = random_u64(fb);
    fb->gen = 1;
    mlops_status st = log_create(fb, fb->epoch, 1, 1, NULL);
    if (st == MLOPS_OK)
        st = mlops__file_blob_dir(fb, true);
    if (st == MLOPS_OK) {
        superblock sb = {FILE_FORMAT_VERSION, FILE_FORMAT_VERSION, fb->epoch, 1};
        st = super_write(fb, &sb);
    }
    /* the store directory's own name lives in its parent: without this a
     * power loss could take the whole new store (and every batch acknowledged
     * in it) with it, even in sync=full (K3) */
    if (st == MLOPS_OK) {
        int pfd = fio_open(fb, fb->dirfd, "..", O_RDONLY | O_DIRECTORY, 0, 0);
        if (pfd < 0)
            st = mlops__file_errno(fb, errno, "opening the parent of", ".");
        else
            st = mlops__file_sync(fb, pfd, true, "..");
        mlops__file_close(fb, pfd);
    }
    return st;
}

static mlops_status open_store(file_backend *fb, const char *path, const mlops_store_options *o)
{
    bool nocreate = (o->flags & (MLOPS_STORE_NOCREATE | MLOPS_STORE_READONLY)) != 0;
    const mlops__io *io = fb->io;
    fb->dirfd = fio_open(fb, AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0, 0);
    if (fb->dirfd < 0 && errno == ENOENT && !nocreate) {
        if (fio_mkdir(fb, AT_FDCWD, path, 0755) != 0 && errno != EEXIST) {
            if (errno == ENOENT)
                return mlops__error(MLOPS_E_NOTFOUND,
                                    "cannot create store directory '%s': its parent does not "
                                    "exist",
                                    path);
            return mlops__file_errno(fb, errno, "creating the store directory", "");
        }
        fb->dirfd = fio_open(fb, AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0, 0);
    }
    if (fb->dirfd < 0) {
        int e = errno;
        if (e == ENOENT)
            return mlops__error(MLOPS_E_NOTFOUND, "store directory '%s' does not exist", path);
        if (e == ENOTDIR)
            return mlops__error(MLOPS_E_INVALID,
                                "store path '%s' is not a directory (a file is in the way)", path);
        return mlops__file_errno(fb, e, "opening the store directory", "");
    }
    /* never leave even a lock file in a directory that is not ours */
    struct stat sst;
    if (io->fstatat(io->payload, fb->dirfd, SUPER_NAME, &sst) != 0 && errno == ENOENT) {
        bool fresh = false;
        mlops_status fs = dir_is_fresh(fb, &fresh);
        if (fs != MLOPS_OK)
            return fs;
        if (!fresh)
            return mlops__error(MLOPS_E_INVALID,
                                "directory '%s' is not empty and is not a libmlops store "
                                "(no superblock); refusing to write into it",
                                path);
    }
    if (!fb->readonly) {
        fb->lockfd = fio_open(fb, fb->dirfd, LOCK_NAME, O_RDWR | O_CREAT, 0644, 1);
        if (fb->lockfd < 0)
            return mlops__file_errno(fb, errno, "opening the lock file", LOCK_NAME);
    }
    mlops_status st = MLOPS_OK;
    if (!fb->readonly)
        st = lock_acquire(fb);
    superblock sb;
    ino_t ino = 0;
    if (st == MLOPS_OK)
        st = super_read(fb, &sb, &ino);
    if (st == MLOPS_E_NOTFOUND) {
        bool fresh = false;
        st = dir_is_fresh(fb, &fresh);
        if (st == MLOPS_OK && !fresh)
            st = mlops__error(MLOPS_E_INVALID,
                              "directory '%s' is not empty and is not a libmlops store "
                              "(no superblock); refusing to write into it",
                              path);
        else if (st == MLOPS_OK && nocreate)
            st = mlops__error(MLOPS_E_NOTFOUND, "no libmlops store in '%s'", path);
        else if (st == MLOPS_OK)
            st = create_store(fb);
        if (st == MLOPS_OK)
            st = super_read(fb, &sb, &ino);
        if (st == MLOPS_E_NOTFOUND)
            st = mlops__error(MLOPS_E_CORRUPT, "the superblock of '%s' vanished", path);
    }
    if (st == MLOPS_OK && sb.write_version > FILE_FORMAT_VERSION) {
        /* X2: readable, but only the newer library may write */
        fb->newer_writer = true;
        fb->readonly = true;
    }
    if (st == MLOPS_OK) {
        fb->super_ino = ino;
        fb->super_checked_ms = mlops__now_ms(fb->base.env);
        fb->epoch = sb.epoch;
        fb->gen = sb.gen;
        st = log_open(fb, sb.epoch, sb.gen, &fb->logfd, &fb->base_seq);
    }
    if (st == MLOPS_OK) {
        fb->last_seq = fb->base_seq - 1;
        atomic_store(&fb->end, LOG_HDR_SIZE);
        bool sealed = false;
        st = catch_up(fb, fb->holding_lock, &sealed);
        if (st == MLOPS_OK && sealed)
            st = refresh_locked(fb, fb->holding_lock);
    }
    if (st == MLOPS_OK && fb->holding_lock)
        cleanup_stale(fb);
    /* temp files of blob writers that died would otherwise wait for a
     * compaction, which a store that only grows may never run */
    if (st == MLOPS_OK && fb->holding_lock)
        mlops__fblob_cleanup(fb);
    else if (st == MLOPS_OK)
        mlops__file_blob_dir(fb, false);
    lock_release(fb);
    return st;
}

mlops_status mlops__file_backend_new_io(mlops_backend **out, mlops_env *env, const char *path,
                                        const mlops_store_options *opts, const mlops__io *io)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return mlops__error(MLOPS_E_INVALID, "store path is empty");
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    if (opts)
        o = *opts;
    if (o.sync == 0)
        o.sync = MLOPS_SYNC_FULL;
    if (o.lock_timeout_ms == 0)
        o.lock_timeout_ms = 5000;
    file_backend *fb = mlops__calloc(env, 1, sizeof(*fb));
    if (fb == NULL)
        return mlops__nomem();
    fb->base.ops = &file_ops;
    fb->base.env = env;
    fb->io = io;
    fb->dirfd = fb->lockfd = fb->logfd = fb->blobfd = -1;
    fb->sync = o.sync;
    fb->readonly = (o.flags & MLOPS_STORE_READONLY) != 0;
    fb->lock_timeout_ms = o.lock_timeout_ms;
    mlops__buf_init(&fb->rbuf, env);
    pthread_mutex_init(&fb->wmu, NULL);
    pthread_mutex_init(&fb->cmu, NULL);
    pthread_mutex_init(&fb->smu, NULL);
    pthread_rwlock_init(&fb->ilock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fb->scv, &ca);
    pthread_condattr_destroy(&ca);
    fb->path = mlops__strdup(env, path);
    mlops_status st = fb->path ? mlops__idx_init(&fb->idx, env) : mlops__nomem();
    if (st == MLOPS_OK)
        st = open_store(fb, path, &o);
    if (st != MLOPS_OK) {
        mlops_status keep = st;
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", mlops_error_message());
        fb->readonly = true; /* close must not sync anything */
        file_close(&fb->base);
        mlops_error_set(keep, msg);
        return keep;
    }
    *out = &fb->base;
    return MLOPS_OK;
}

mlops_status mlops__file_backend_new(mlops_backend **out, mlops_env *env, const char *path,
                                     const mlops_store_options *opts)
{
    return mlops__file_backend_new_io(out, env, path, opts, mlops__io_default());
}

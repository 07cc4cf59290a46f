/* SPDX-License-Identifier: MIT */
/* Blobs of the file backend: blobs/<2 hex>/<32 hex>, each a 32-byte header
 * and one zstd frame. A blob is written to a temp file, synced, and renamed
 * into place without replacing anything, so an interrupted write leaves no
 * visible partial blob. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "store/file/file_internal.h"

#define BLOB_DIR "blobs"
#define BLOB_HDR 32
#define BLOB_OUT_CHUNK (4u << 20)
#define BLOB_IN_CHUNK (1u << 20)
#define BLOB_LEVEL 1

static const uint8_t BLOB_MAGIC[8] = {'M', 'L', 'B', 'L', 'O', 'B', '0', '1'};

typedef struct fblob_writer {
    mlops_backend_blob_writer base;
    int fd;
    char tmp[64];
    mlops__zstd_cstream *z;
    mlops__buf out;
    uint64_t size, file_off;
    bool committed;
} fblob_writer;

typedef struct fblob_reader {
    mlops_backend_blob_reader base;
    int fd;
    mlops__zstd_dstream *z;
    uint8_t *in;
    size_t in_len, in_pos, in_cap;
    uint64_t file_off, file_end;
    bool frame_done;
    char name[40];
} fblob_reader;

mlops_status mlops__file_blob_dir(file_backend *fb, bool create)
{
    if (__atomic_load_n(&fb->blobfd, __ATOMIC_SEQ_CST) >= 0)
        return MLOPS_OK;
    if (create && fio_mkdir(fb, fb->dirfd, BLOB_DIR, 0755) != 0 && errno != EEXIST)
        return mlops__file_errno(fb, errno, "creating", BLOB_DIR);
    int fd = fio_open(fb, fb->dirfd, BLOB_DIR, O_RDONLY | O_DIRECTORY, 0, 1);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return MLOPS_E_NOTFOUND;
        return mlops__file_errno(fb, errno, "opening", BLOB_DIR);
    }
    int none = -1;
    if (__atomic_compare_exchange_n(&fb->blobfd, &none, fd, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        fd = -1; /* installed; otherwise another thread won */
    mlops__file_close(fb, fd);
    if (create)
        return mlops__file_sync(fb, fb->dirfd, true, ".");
    return MLOPS_OK;
}

static void blob_names(const mlops_hash128 *id, char sub[3], char name[33])
{
    mlops__hex(name, id->bytes, 16);
    sub[0] = name[0];
    sub[1] = name[1];
    sub[2] = 0;
}

mlops_status mlops__fblob_write_open(mlops_backend *b, mlops_backend_blob_writer **out)
{
    file_backend *fb = (file_backend *)b;
    const mlops_env *env = b->env;
    if (fb->readonly)
        return mlops__error(fb->newer_writer ? MLOPS_E_VERSION : MLOPS_E_INVALID,
                            "store '%s' is read-only", fb->path);
    mlops_status st = mlops__file_poisoned(fb);
    if (st == MLOPS_OK)
        st = mlops__file_blob_dir(fb, true);
    if (st != MLOPS_OK)
        return st;
    fblob_writer *w = mlops__calloc(env, 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    w->base.backend = b;
    w->fd = -1;
    mlops__buf_init(&w->out, env);
    uint64_t r = 0;
    mlops_hash128 h;
    int64_t now = mlops__now_ns(env);
    uint8_t seed[24];
    mlops__put_u64le(seed, (uint64_t)now);
    mlops__put_u64le(seed + 8, (uint64_t)(uintptr_t)w);
    mlops__put_u64le(seed + 16, (uint64_t)getpid());
    mlops__xxh3_128(&h, seed, sizeof(seed));
    memcpy(&r, h.bytes, 8);
    snprintf(w->tmp, sizeof(w->tmp), "tmp-%d-%016llx", (int)getpid(), (unsigned long long)r);
    w->fd = fio_open(fb, fb->blobfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644,
                         1);
    if (w->fd < 0)
        st = mlops__file_errno(fb, errno, "creating blob temp file", w->tmp);
    if (st == MLOPS_OK)
        st = mlops__zstd_cstream_new(&w->z, env, BLOB_LEVEL);
    /* the output buffer grows as the blob does (to about BLOB_OUT_CHUNK):
     * most blobs are small, and a 4 MiB buffer per writer is not free */
    if (st != MLOPS_OK) {
        mlops__fblob_write_free(&w->base);
        return st;
    }
    w->file_off = BLOB_HDR;
    *out = &w->base;
    return MLOPS_OK;
}

static mlops_status drain(fblob_writer *w, bool all)
{
    file_backend *fb = (file_backend *)w->base.backend;
    if (w->out.len == 0 || (!all && w->out.len < BLOB_OUT_CHUNK))
        return MLOPS_OK;
    mlops_status st = mlops__file_pwrite(fb, w->fd, w->out.data, w->out.len, w->file_off, w->tmp);
    if (st == MLOPS_OK) {
        w->file_off += w->out.len;
        w->out.len = 0;
    }
    return st;
}

mlops_status mlops__fblob_write(mlops_backend_blob_writer *bw, const uint8_t *data, size_t len)
{
    fblob_writer *w = (fblob_writer *)bw;
    /* feed in slices so the output buffer stays bounded */
    while (len > 0) {
        size_t n = len < BLOB_IN_CHUNK ? len : BLOB_IN_CHUNK;
        mlops_status st = mlops__zstd_cstream_feed(w->z, data, n, 0, &w->out);
        if (st == MLOPS_OK)
            st = drain(w, false);
        if (st != MLOPS_OK)
            return st;
        w->size += n;
        data += n;
        len -= n;
    }
    return MLOPS_OK;
}

/* Compare two blob files' contents by decompressing both. *equal is false
 * when they differ; MLOPS_E_CORRUPT if the existing one is damaged. */
static mlops_status same_content(file_backend *fb, int subfd, const char *name, const char *tmp,
                                 bool *equal)
{
    *equal = false;
    mlops_backend_blob_reader *ra = NULL, *rb = NULL;
    uint64_t sa = 0, sb = 0;
    mlops_status st = mlops__fblob_reader_at(fb, subfd, name, &ra, &sa);
    if (st == MLOPS_OK)
        st = mlops__fblob_reader_at(fb, fb->blobfd, tmp, &rb, &sb);
    uint8_t *ba = NULL, *bb = NULL;
    if (st == MLOPS_OK && sa == sb) {
        const size_t cap = 1u << 20;
        ba = mlops__malloc(fb->base.env, cap);
        bb = mlops__malloc(fb->base.env, cap);
        if (ba == NULL || bb == NULL)
            st = mlops__nomem();
        bool same = true;
        uint64_t left = sa;
        while (st == MLOPS_OK && same) {
            size_t na = 0, nb = 0;
            /* fill both buffers to the same length */
            size_t want = left < cap ? (size_t)left : cap;
            while (st == MLOPS_OK && na < want) {
                size_t n = 0;
                st = mlops__fblob_read(ra, ba + na, want - na, &n);
                if (n == 0)
                    break;
                na += n;
            }
            while (st == MLOPS_OK && nb < want) {
                size_t n = 0;
                st = mlops__fblob_read(rb, bb + nb, want - nb, &n);
                if (n == 0)
                    break;
                nb += n;
            }
            if (st != MLOPS_OK)
                break;
            if (na != nb || (na && memcmp(ba, bb, na) != 0))
                same = false;
            if (na == 0)
                break;
            left -= na;
        }
        /* a difference may be damage to the stored copy that its frame's
         * checksum has not reached yet: read it to the end before calling
         * the two different (a damaged copy is replaced, a collision not) */
        while (st == MLOPS_OK && !same) {
            size_t n = 0;
            st = mlops__fblob_read(ra, ba, cap, &n);
            if (n == 0)
                break;
        }
        if (st == MLOPS_OK)
            *equal = same;
    }
    mlops__free(fb->base.env, ba);
    mlops__free(fb->base.env, bb);
    if (ra)
        mlops__fblob_read_free(ra);
    if (rb)
        mlops__fblob_read_free(rb);
    return st;
}

mlops_status mlops__fblob_write_commit(mlops_backend_blob_writer *bw, const mlops_hash128 *id)
{
    fblob_writer *w = (fblob_writer *)bw;
    file_backend *fb = (file_backend *)bw->backend;
    mlops_status st = mlops__file_poisoned(fb);
    if (st == MLOPS_OK)
        st = mlops__zstd_cstream_feed(w->z, NULL, 0, 1, &w->out);
    if (st == MLOPS_OK)
        st = drain(w, true);
    if (st == MLOPS_OK) {
        uint8_t h[BLOB_HDR];
        memcpy(h, BLOB_MAGIC, 8);
        mlops__put_u64le(h + 8, w->size);
        mlops__put_u64le(h + 16, w->file_off - BLOB_HDR);
        mlops__put_u64le(h + 24, mlops__xxh3_64(h, 24, 0));
        st = mlops__file_pwrite(fb, w->fd, h, BLOB_HDR, 0, w->tmp);
    }
    /* in every mode, even off: the record naming the blob may reach the disk
     * before the blob's pages (writeback has no order), and a dangling
     * reference must never survive a power loss (I4, K3) */
    if (st == MLOPS_OK)
        st = mlops__file_sync(fb, w->fd, false, w->tmp);
    mlops__file_close(fb, w->fd);
    w->fd = -1;
    char sub[3], name[33];
    blob_names(id, sub, name);
    int subfd = -1;
    bool new_sub = false;
    if (st == MLOPS_OK) {
        if (fio_mkdir(fb, fb->blobfd, sub, 0755) == 0)
            new_sub = true;
        else if (errno != EEXIST)
            st = mlops__file_errno(fb, errno, "creating blob directory", sub);
    }
    if (st == MLOPS_OK) {
        subfd = fio_open(fb, fb->blobfd, sub, O_RDONLY | O_DIRECTORY, 0, 1);
        if (subfd < 0)
            st = mlops__file_errno(fb, errno, "opening blob directory", sub);
    }
    if (st == MLOPS_OK &&
        fio_rename(fb, fb->blobfd, w->tmp, subfd, name, RENAME_NOREPLACE) != 0) {
        if (errno != EEXIST) {
            st = mlops__file_errno(fb, errno, "renaming blob into place", name);
        } else {
            /* a dedup hit: the address alone is not proof, compare the bytes */
            bool equal = false;
            mlops_status cs = same_content(fb, subfd, name, w->tmp, &equal);
            if (cs == MLOPS_E_CORRUPT) {
                /* the stored copy is damaged; ours hashes right: replace it */
                if (fio_rename(fb, fb->blobfd, w->tmp, subfd, name, 0) != 0)
                    st = mlops__file_errno(fb, errno, "replacing damaged blob", name);
                else
                    w->committed = true;
            } else if (cs != MLOPS_OK) {
                st = cs;
            } else if (!equal) {
                st = mlops__error(MLOPS_E_CONFLICT,
                                  "a different blob already has the content address %s (hash "
                                  "collision); refusing to confuse them",
                                  name);
            }
        }
    } else if (st == MLOPS_OK) {
        w->committed = true;
    }
    if (st == MLOPS_OK && w->committed) {
        st = mlops__file_sync(fb, subfd, true, sub);
        if (st == MLOPS_OK && new_sub)
            st = mlops__file_sync(fb, fb->blobfd, true, BLOB_DIR);
    }
    mlops__file_close(fb, subfd);
    if (!w->committed)
        fio_unlink(fb, fb->blobfd, w->tmp, 0);
    w->committed = true; /* nothing left to remove */
    return st;
}

void mlops__fblob_write_free(mlops_backend_blob_writer *bw)
{
    fblob_writer *w = (fblob_writer *)bw;
    file_backend *fb = (file_backend *)bw->backend;
    if (w->fd >= 0)
        mlops__file_close(fb, w->fd);
    if (!w->committed && w->tmp[0] && fb->blobfd >= 0)
        fio_unlink(fb, fb->blobfd, w->tmp, 0);
    mlops__zstd_cstream_free(w->z);
    mlops__buf_free(&w->out);
    mlops__free(bw->backend->env, w);
}

mlops_status mlops__fblob_reader_at(file_backend *fb, int dirfd, const char *name,
                                    mlops_backend_blob_reader **out, uint64_t *size)
{
    const mlops_env *env = fb->base.env;
    const mlops__io *io = fb->io;
    int fd = fio_open(fb, dirfd, name, O_RDONLY | O_NONBLOCK, 0, 1);
    if (fd < 0) {
        if (errno == ENOENT)
            return mlops__error(MLOPS_E_NOTFOUND, "blob %s not found", name);
        return mlops__file_errno(fb, errno, "opening blob", name);
    }
    struct stat stt;
    uint8_t h[BLOB_HDR];
    size_t got = 0;
    mlops_status st = MLOPS_OK;
    if (io->fstat(io->payload, fd, &stt) != 0)
        st = mlops__file_errno(fb, errno, "inspecting blob", name);
    else if (!S_ISREG(stt.st_mode))
        st = mlops__error(MLOPS_E_CORRUPT, "blob '%s' in '%s' is not a regular file", name,
                          fb->path);
    if (st == MLOPS_OK)
        st = mlops__file_pread(fb, fd, h, BLOB_HDR, 0, &got, name);
    if (st == MLOPS_OK &&
        (got < BLOB_HDR || memcmp(h, BLOB_MAGIC, 8) != 0 ||
         mlops__get_u64le(h + 24) != mlops__xxh3_64(h, 24, 0) ||
         mlops__get_u64le(h + 16) != (uint64_t)stt.st_size - BLOB_HDR))
        st = mlops__error(MLOPS_E_CORRUPT,
                          "blob '%s' in '%s' has a damaged header or length (offset 0)", name,
                          fb->path);
    fblob_reader *r = NULL;
    if (st == MLOPS_OK) {
        r = mlops__calloc(env, 1, sizeof(*r));
        if (r == NULL)
            st = mlops__nomem();
    }
    if (st != MLOPS_OK) {
        mlops__file_close(fb, fd);
        return st;
    }
    r->base.backend = &fb->base;
    r->fd = fd;
    r->file_off = BLOB_HDR;
    r->file_end = (uint64_t)stt.st_size;
    snprintf(r->name, sizeof(r->name), "%s", name);
    st = mlops__zstd_dstream_new(&r->z, env);
    if (st == MLOPS_OK) {
        /* no bigger than the file needs: most blobs are small */
        uint64_t body = r->file_end - BLOB_HDR;
        r->in_cap = body < BLOB_IN_CHUNK ? (body ? (size_t)body : 1) : BLOB_IN_CHUNK;
        r->in = mlops__malloc(env, r->in_cap);
        if (r->in == NULL)
            st = mlops__nomem();
    }
    if (st != MLOPS_OK) {
        mlops__fblob_read_free(&r->base);
        return st;
    }
    *size = mlops__get_u64le(h + 8);
    *out = &r->base;
    return MLOPS_OK;
}

static mlops_status open_sub(file_backend *fb, const mlops_hash128 *id, int *subfd, char *name)
{
    char sub[3];
    blob_names(id, sub, name);
    *subfd = -1;
    mlops_status st = mlops__file_blob_dir(fb, false);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "blob %s not found", name);
    if (st != MLOPS_OK)
        return st;
    *subfd = fio_open(fb, fb->blobfd, sub, O_RDONLY | O_DIRECTORY, 0, 1);
    if (*subfd < 0) {
        if (errno == ENOENT)
            return mlops__error(MLOPS_E_NOTFOUND, "blob %s not found", name);
        return mlops__file_errno(fb, errno, "opening blob directory", sub);
    }
    return MLOPS_OK;
}

mlops_status mlops__fblob_read_open(mlops_backend *b, const mlops_hash128 *id,
                                    mlops_backend_blob_reader **out, uint64_t *size_out)
{
    file_backend *fb = (file_backend *)b;
    int subfd = -1;
    char name[33];
    mlops_status st = open_sub(fb, id, &subfd, name);
    uint64_t size = 0;
    if (st == MLOPS_OK)
        st = mlops__fblob_reader_at(fb, subfd, name, out, &size);
    mlops__file_close(fb, subfd);
    if (st == MLOPS_OK && size_out)
        *size_out = size;
    return st;
}

mlops_status mlops__fblob_read(mlops_backend_blob_reader *br, uint8_t *buf, size_t cap,
                               size_t *n_out)
{
    fblob_reader *r = (fblob_reader *)br;
    file_backend *fb = (file_backend *)br->backend;
    *n_out = 0;
    for (;;) {
        if (r->in_pos == r->in_len) {
            if (r->file_off >= r->file_end) {
                if (!r->frame_done)
                    return mlops__error(MLOPS_E_CORRUPT,
                                        "blob '%s' in '%s' is truncated (offset %llu)", r->name,
                                        fb->path, (unsigned long long)r->file_off);
                return MLOPS_OK;
            }
            uint64_t want = r->file_end - r->file_off;
            if (want > r->in_cap)
                want = r->in_cap;
            size_t got = 0;
            mlops_status st = mlops__file_pread(fb, r->fd, r->in, (size_t)want, r->file_off,
                                                &got, r->name);
            if (st != MLOPS_OK)
                return st;
            if (got == 0)
                return mlops__error(MLOPS_E_CORRUPT, "blob '%s' in '%s' shrank while read",
                                    r->name, fb->path);
            r->in_len = got;
            r->in_pos = 0;
            r->file_off += got;
        }
        size_t used = 0, made = 0;
        int done = 0;
        mlops_status st = mlops__zstd_dstream_feed(r->z, r->in + r->in_pos, r->in_len - r->in_pos,
                                                   &used, buf, cap, &made, &done);
        if (st == MLOPS_E_NOMEM)
            return st; /* out of memory is not damage */
        if (st != MLOPS_OK) {
            char why[256]; /* the message buffer cannot be its own argument */
            snprintf(why, sizeof(why), "%s", mlops_error_message());
            return mlops__error(MLOPS_E_CORRUPT, "blob '%s' in '%s' does not decompress: %s",
                                r->name, fb->path, why);
        }
        r->in_pos += used;
        if (done)
            r->frame_done = true;
        else if (made > 0 || used > 0)
            r->frame_done = false;
        if (made > 0) {
            *n_out = made;
            return MLOPS_OK;
        }
        if (done && r->in_pos == r->in_len && r->file_off >= r->file_end)
            return MLOPS_OK;
    }
}

void mlops__fblob_read_free(mlops_backend_blob_reader *br)
{
    fblob_reader *r = (fblob_reader *)br;
    file_backend *fb = (file_backend *)br->backend;
    mlops__file_close(fb, r->fd);
    mlops__zstd_dstream_free(r->z);
    mlops__free(fb->base.env, r->in);
    mlops__free(fb->base.env, r);
}

mlops_status mlops__fblob_stat(mlops_backend *b, const mlops_hash128 *id, uint64_t *size_out)
{
    mlops_backend_blob_reader *r = NULL;
    mlops_status st = mlops__fblob_read_open(b, id, &r, size_out);
    if (r)
        mlops__fblob_read_free(r);
    return st;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == 0;
}

/* Visit blobs/<sub>/<name> files; fn returns a status (non-OK stops). */
typedef mlops_status (*blob_visit_fn)(file_backend *fb, int subfd, const char *sub,
                                      const char *name, const struct stat *st, void *payload);

typedef struct visit_ctx {
    file_backend *fb;
    blob_visit_fn fn;
    void *payload;
    mlops_status st;
    int subfd;
    const char *sub;
} visit_ctx;

static int visit_file(void *arg, const char *name)
{
    visit_ctx *c = arg;
    if (name[0] == '.')
        return 0;
    struct stat stt;
    if (c->fb->io->fstatat(c->fb->io->payload, c->subfd, name, &stt) != 0)
        return 0;
    c->st = c->fn(c->fb, c->subfd, c->sub, name, &stt, c->payload);
    return c->st != MLOPS_OK;
}

static int visit_sub(void *arg, const char *name)
{
    visit_ctx *c = arg;
    if (strlen(name) != 2 || !is_hex(name, 2))
        return 0;
    file_backend *fb = c->fb;
    int sfd = fio_open(fb, fb->blobfd, name, O_RDONLY | O_DIRECTORY, 0, 1);
    if (sfd < 0)
        return 0;
    c->subfd = sfd;
    c->sub = name;
    mlops__io_list(fb->io, sfd, visit_file, c);
    mlops__file_close(fb, sfd);
    return c->st != MLOPS_OK;
}

static mlops_status visit_blobs(file_backend *fb, blob_visit_fn fn, void *payload)
{
    if (mlops__file_blob_dir(fb, false) != MLOPS_OK)
        return MLOPS_OK;
    visit_ctx c = {fb, fn, payload, MLOPS_OK, -1, NULL};
    if (mlops__io_list(fb->io, fb->blobfd, visit_sub, &c) != 0)
        return mlops__file_errno(fb, errno, "listing", BLOB_DIR);
    return c.st;
}

typedef struct count_ctx {
    uint64_t n, bytes;
} count_ctx;

static mlops_status count_one(file_backend *fb, int subfd, const char *sub, const char *name,
                              const struct stat *st, void *payload)
{
    (void)fb;
    (void)subfd;
    (void)sub;
    count_ctx *c = payload;
    if (strlen(name) == 32 && is_hex(name, 32)) {
        c->n++;
        c->bytes += (uint64_t)st->st_size;
    }
    return MLOPS_OK;
}

void mlops__fblob_count(file_backend *fb, uint64_t *count, uint64_t *bytes)
{
    count_ctx c = {0, 0};
    visit_blobs(fb, count_one, &c);
    *count = c.n;
    *bytes = c.bytes;
}

typedef struct check_ctx {
    mlops__buf *report;
    uint64_t *problems;
    uint8_t *buf;
} check_ctx;

static mlops_status check_one(file_backend *fb, int subfd, const char *sub, const char *name,
                              const struct stat *stt, void *payload)
{
    check_ctx *c = payload;
    if (!(strlen(name) == 32 && is_hex(name, 32)))
        return MLOPS_OK; /* temp files and strangers are not blobs */
    if (strncmp(name, sub, 2) != 0 || !S_ISREG(stt->st_mode)) {
        (*c->problems)++;
        return mlops__buf_printf(c->report, "%s/%s/%s/%s: misplaced or not a regular file\n",
                                 fb->path, BLOB_DIR, sub, name);
    }
    mlops_backend_blob_reader *r = NULL;
    uint64_t size = 0, seen = 0;
    mlops_status st = mlops__fblob_reader_at(fb, subfd, name, &r, &size);
    mlops__hash_stream *hs = NULL;
    if (st == MLOPS_OK)
        st = mlops__hash_stream_new(&hs, fb->base.env);
    while (st == MLOPS_OK) {
        size_t n = 0;
        st = mlops__fblob_read(r, c->buf, 1u << 20, &n);
        if (st != MLOPS_OK || n == 0)
            break;
        mlops__hash_stream_update(hs, c->buf, n);
        seen += n;
    }
    if (st == MLOPS_OK) {
        mlops_hash128 got;
        mlops__hash_stream_digest128(hs, &got);
        char hex[33];
        mlops__hex(hex, got.bytes, 16);
        if (seen != size || strcmp(hex, name) != 0)
            st = mlops__error(MLOPS_E_CORRUPT,
                              "content (%llu of %llu bytes) does not match its address",
                              (unsigned long long)seen, (unsigned long long)size);
    }
    mlops__hash_stream_free(hs);
    if (r)
        mlops__fblob_read_free(r);
    if (st == MLOPS_E_CORRUPT) {
        (*c->problems)++;
        return mlops__buf_printf(c->report, "%s/%s/%s/%s: %s\n", fb->path, BLOB_DIR, sub, name,
                                 mlops_error_message());
    }
    return st;
}

mlops_status mlops__fblob_check(file_backend *fb, mlops__buf *report, uint64_t *problems)
{
    check_ctx c = {report, problems, mlops__malloc(fb->base.env, 1u << 20)};
    if (c.buf == NULL)
        return mlops__nomem();
    mlops_status st = visit_blobs(fb, check_one, &c);
    mlops__free(fb->base.env, c.buf);
    return st;
}

/* tmp-<pid>-<random>: removed only when that process is gone */
static int cleanup_entry(void *arg, const char *name)
{
    file_backend *fb = arg;
    int pid = 0;
    if (sscanf(name, "tmp-%d-", &pid) == 1 && pid > 0 && kill((pid_t)pid, 0) != 0 &&
        errno == ESRCH)
        fio_unlink(fb, fb->blobfd, name, 0);
    return 0;
}

void mlops__fblob_cleanup(file_backend *fb)
{
    if (mlops__file_blob_dir(fb, false) != MLOPS_OK)
        return;
    mlops__io_list(fb->io, fb->blobfd, cleanup_entry, fb);
}

/* SPDX-License-Identifier: MIT */
/* Every I/O operation of a file-store workload that goes beyond the crash
 * sweeps' (blob streams, check, info, compaction, a read-only reopen) fails
 * in turn with each errno a disk or a kernel can give: reads, stats, opens,
 * locks included, not only the writes. Oracles (O1-O4, I2, I5, I8, I10):
 * every call returns a documented status whose message names the file;
 * EINTR and short writes never surface; a write that makes no progress is
 * MLOPS_E_IO, never a hang; nothing leaks (memory, descriptors); the store
 * reopened through the real system calls checks clean. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "fileutil.h"
#include "store/file/io.h"
#include "store/store_internal.h"
#include "testutil.h"

/* operation classes */
enum { C_OPEN = 1, C_CREATE = 2, C_READ = 4, C_WRITE = 8, C_SYNC = 16, C_TRUNC = 32,
       C_STAT = 64, C_RENAME = 128, C_UNLINK = 256, C_MKDIR = 512, C_LOCK = 1024 };

/* fault kinds: an errno on some classes, or a write that does less */
typedef struct kind {
    const char *name;
    int err;      /* errno to set; 0 for the write modes */
    int classes;  /* where it applies */
    int write_mode; /* 1: no progress (returns 0); 2: short */
    bool surfaces;  /* false: the library must hide it (retries) */
    bool persistent; /* every operation from the chosen one on fails */
} kind;

static const kind kinds[] = {
    {"EIO", EIO, ~0, 0, true, false},
    {"EIO-persistent", EIO, ~0, 0, true, true},
    {"ENOSPC", ENOSPC, C_CREATE | C_WRITE | C_TRUNC | C_MKDIR | C_RENAME, 0, true},
    /* on a lock: another process holds it (POSIX allows EACCES for EAGAIN) */
    {"EACCES", EACCES, C_OPEN | C_CREATE | C_UNLINK | C_RENAME | C_MKDIR | C_LOCK, 0, true},
    {"ENOMEM", ENOMEM, C_READ | C_STAT | C_OPEN, 0, true},
    {"ELOOP", ELOOP, C_OPEN, 0, true},
    {"EINTR", EINTR, C_READ | C_WRITE | C_SYNC | C_LOCK, 0, false},
    {"zero-write", 0, C_WRITE, 1, true},
    {"short-write", 0, C_WRITE, 2, false},
};

typedef struct fio {
    mlops__io io;
    long ops;    /* operations of the selected classes so far */
    long at;     /* 1-based operation to hit; 0: none */
    const kind *k;
    long hits;
} fio;

static const mlops__io *real(void)
{
    return mlops__io_default();
}

/* 1: fail with errno set; 2: write nothing; 3: write half */
static int hit(fio *f, int cls)
{
    if (f->k == NULL || !(f->k->classes & cls))
        return 0;
    f->ops++;
    if (getenv("IO_EDGES_TRACE") && f->at)
        fprintf(stderr, "op %ld class %d%s\n", f->ops, cls, f->ops == f->at ? " <- fault" : "");
    if (f->at == 0 || f->ops < f->at || (f->ops > f->at && !f->k->persistent))
        return 0;
    f->hits++;
    if (f->k->write_mode)
        return f->k->write_mode + 1;
    errno = f->k->err;
    return 1;
}

static int x_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    if (hit(p, (flags & O_CREAT) ? C_CREATE : C_OPEN) == 1)
        return -1;
    return real()->open(NULL, dirfd, name, flags, mode, beneath);
}
static int x_close(void *p, int fd)
{
    (void)p;
    return real()->close(NULL, fd);
}
static ssize_t x_pread(void *p, int fd, void *buf, size_t n, off_t off)
{
    if (hit(p, C_READ) == 1)
        return -1;
    return real()->pread(NULL, fd, buf, n, off);
}
static ssize_t x_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    int h = hit(p, C_WRITE);
    if (h == 1)
        return -1;
    if (h == 2)
        return 0;
    if (h == 3 && n > 1)
        n /= 2;
    return real()->pwrite(NULL, fd, buf, n, off);
}
/* the syncs are not made: durability is not under test here, speed is */
static int x_fsync(void *p, int fd)
{
    (void)fd;
    return hit(p, C_SYNC) == 1 ? -1 : 0;
}
static int x_fdatasync(void *p, int fd)
{
    (void)fd;
    return hit(p, C_SYNC) == 1 ? -1 : 0;
}
static int x_ftruncate(void *p, int fd, off_t len)
{
    if (hit(p, C_TRUNC) == 1)
        return -1;
    return real()->ftruncate(NULL, fd, len);
}
static int x_fstat(void *p, int fd, struct stat *st)
{
    if (hit(p, C_STAT) == 1)
        return -1;
    return real()->fstat(NULL, fd, st);
}
static int x_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    if (hit(p, C_STAT) == 1)
        return -1;
    return real()->fstatat(NULL, dirfd, name, st);
}
static int x_rename(void *p, int od, const char *on, int nd, const char *nn, unsigned flags)
{
    if (hit(p, C_RENAME) == 1)
        return -1;
    return real()->rename(NULL, od, on, nd, nn, flags);
}
static int x_unlink(void *p, int dirfd, const char *name, int flags)
{
    if (hit(p, C_UNLINK) == 1)
        return -1;
    return real()->unlink(NULL, dirfd, name, flags);
}
static int x_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    if (hit(p, C_MKDIR) == 1)
        return -1;
    return real()->mkdir(NULL, dirfd, name, mode);
}
static int x_lock(void *p, int fd, int cmd, struct flock *fl)
{
    if (hit(p, C_LOCK) == 1)
        return -1;
    return real()->lock(NULL, fd, cmd, fl);
}

static void fio_init(fio *f, const kind *k, long at)
{
    memset(f, 0, sizeof(*f));
    f->io = (mlops__io){f,         x_open,     x_close,     x_pread,  x_pwrite,
                        x_fsync,   x_fdatasync, x_ftruncate, x_fstat,  x_fstatat,
                        x_rename,  x_unlink,   x_mkdir,     x_lock};
    f->k = k;
    f->at = at;
}

static mlops_status open_io(mlops_store **out, mlops_env *env, const char *dir, fio *f,
                            uint32_t flags)
{
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.flags = flags;
    o.lock_timeout_ms = 200;
    mlops_backend *b = NULL;
    *out = NULL;
    mlops_status st = mlops__file_backend_new_io(&b, env, dir, &o, &f->io);
    if (st != MLOPS_OK)
        return st;
    st = mlops_store_open_backend(out, env, b);
    if (st != MLOPS_OK)
        b->ops->close(b);
    return st;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* the statuses a failed I/O operation may surface as */
static bool documented(mlops_status st, const kind *k)
{
    switch (st) {
    case MLOPS_OK:
        return true;
    case MLOPS_E_IO:
    case MLOPS_E_CLOSED: /* poisoned after a failed sync */
        return k->surfaces;
    case MLOPS_E_NOSPC:
        return k->err == ENOSPC;
    case MLOPS_E_NOMEM:
        return k->err == ENOMEM;
    case MLOPS_E_CORRUPT: /* ELOOP: a symlink where a store file belongs */
        return k->err == ELOOP;
    default:
        return false;
    }
}

typedef struct run {
    const kind *k;
    long at;
    int calls;
    mlops_status first_err;
    char msg[512];
} run;

/* Record a call's status; a status outside the documented set fails now. */
static mlops_status note(run *r, mlops_status st, const char *what, bool may_miss)
{
    r->calls++;
    if (st == MLOPS_E_NOTFOUND && may_miss)
        return st; /* an earlier write of the workload failed */
    ck_assert_msg(documented(st, r->k), "%s at op %ld: %s gave %s: %s", r->k->name, r->at, what,
                  mlops_status_name(st), mlops_error_message());
    if (st != MLOPS_OK && r->first_err == MLOPS_OK) {
        r->first_err = st;
        snprintf(r->msg, sizeof(r->msg), "%s", mlops_error_message());
    }
    return st;
}

#define BLOB_N (300u * 1024u)

static void workload(const char *dir, mlops_env *env, tu_clock *clk, fio *f, run *r,
                     const uint8_t *blob)
{
    /* a writer (real system calls) compacts behind a reader's back (through
     * the table): the reader's next reads reload the new generation */
    mlops_store *wr = NULL, *s = NULL;
    mlops_bytes v;
    tu_assert_ok(mlops_store_open(&wr, NULL, dir, NULL));
    tu_assert_ok(mlops_store_put(wr, "o1", 2, "other", 5));
    if (note(r, open_io(&s, env, dir, f, MLOPS_STORE_READONLY), "open reader", false) ==
        MLOPS_OK) {
        for (int round = 0; round < 3; round++) {
            tu_assert_ok(mlops_store_compact(wr));
            tu_assert_ok(mlops_store_put(wr, "o2", 2, "again", 5));
            /* past the window in which a reader may serve what it has: the
             * get must look at the superblock (and after a failed reload,
             * try again) */
            clk->now_ns += 1000000000LL;
            if (note(r, mlops_store_get(&v, NULL, s, "o2", 2), "get after a compaction",
                     false) == MLOPS_OK) {
                ck_assert_uint_eq(v.len, 5);
                mlops_bytes_free(&v);
            }
        }
        mlops_store_close(s);
    }
    mlops_store_close(wr);
    s = NULL;
    /* a torn tail (an interrupted append): the writer below cuts it off
     * into quarantine, through the table */
    const char *lp = fu_log_path(dir);
    int fd = open(lp, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\x10\0\0\0\1\0\0\0torn", 12), 12);
    close(fd);
    if (note(r, open_io(&s, env, dir, f, 0), "open", false) != MLOPS_OK)
        return;
    note(r, mlops_store_put(s, "k1", 2, "one", 3), "put", false);
    mlops_batch *b = NULL;
    if (note(r, mlops_batch_create(&b, s), "batch", false) == MLOPS_OK) {
        mlops_batch_put(b, "k2", 2, "two", 3);
        mlops_batch_delete(b, "k1", 2);
        mlops_batch_require_absent(b, "k3", 2);
        note(r, mlops_store_apply(s, b), "apply", false);
        mlops_batch_free(b);
    }
    mlops_hash128 id = {{0}};
    mlops_blob_writer *w = NULL;
    mlops_status st = note(r, mlops_blob_writer_open(&w, s), "blob open", false);
    for (size_t off = 0; st == MLOPS_OK && off < BLOB_N; off += BLOB_N / 3)
        st = note(r, mlops_blob_writer_write(w, blob + off, BLOB_N / 3), "blob write", false);
    if (st == MLOPS_OK)
        note(r, mlops_blob_writer_commit(&id, w), "blob commit", false);
    mlops_blob_writer_free(w);
    if (note(r, mlops_store_blob_get(&v, s, &id, 0), "blob get", true) == MLOPS_OK) {
        ck_assert_uint_eq(v.len, BLOB_N);
        ck_assert(memcmp(v.data, blob, BLOB_N) == 0);
        mlops_bytes_free(&v);
    }
    note(r, mlops_store_blob_stat(NULL, s, &id), "blob stat", true);
    if (note(r, mlops_store_get(&v, NULL, s, "k2", 2), "get", true) == MLOPS_OK) {
        ck_assert_uint_eq(v.len, 3);
        mlops_bytes_free(&v);
    }
    char *report = NULL;
    note(r, mlops_store_check(&report, s), "check", false);
    mlops_string_free(env, report);
    mlops_store_info_data info = {.version = MLOPS_STORE_INFO_VERSION};
    note(r, mlops_store_info(&info, s), "info", false);
    note(r, mlops_store_compact(s), "compact", false);
    note(r, mlops_store_put(s, "k4", 2, "four", 4), "put after compact", false);
    note(r, mlops_store_flush(s), "flush", false);
    mlops_store_close(s);
    /* a read-only reopen through the same table */
    if (note(r, open_io(&s, env, dir, f, MLOPS_STORE_READONLY), "open read-only", false) !=
        MLOPS_OK)
        return;
    if (note(r, mlops_store_get(&v, NULL, s, "k4", 2), "get read-only", true) == MLOPS_OK)
        mlops_bytes_free(&v);
    if (note(r, mlops_store_blob_get(&v, s, &id, 0), "blob get read-only", true) == MLOPS_OK)
        mlops_bytes_free(&v);
    note(r, mlops_store_check(NULL, s), "check read-only", false);
    note(r, mlops_store_flush(s), "flush read-only", false);
    ck_assert_int_eq(mlops_store_compact(s), MLOPS_E_INVALID);
    ck_assert_int_eq(mlops_store_put(s, "k", 1, "v", 1), MLOPS_E_INVALID);
    mlops_store_close(s);
}

/* A blob past the backend's 4 MiB output and 1 MiB input chunks, streamed
 * in and out: faults in the middle of a stream (a drain, a refill), in the
 * chunked comparison of a dedup hit, and in a check that reads it all. */
#define STREAM_N ((5u << 20) + 12345u)
#define STREAM_PIECE ((1u << 20) + 7u)

#define DAMAGE_AT 100000 /* file offset inside the first 1 MiB compared */

/* Write one byte at DAMAGE_AT; returns the byte it replaced. */
static uint8_t swap_byte(const char *path, uint8_t to)
{
    uint8_t was = 0;
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &was, 1, DAMAGE_AT), 1);
    ck_assert_int_eq(pwrite(fd, &to, 1, DAMAGE_AT), 1);
    close(fd);
    return was;
}

static void stream_workload(const char *dir, mlops_env *env, tu_clock *clk, fio *f, run *r,
                            const uint8_t *big)
{
    (void)clk;
    mlops_store *s = NULL;
    if (note(r, open_io(&s, env, dir, f, 0), "open", false) != MLOPS_OK)
        return;
    mlops_hash128 id = {{0}};
    bool have = false;
    char path[512];
    uint8_t good = 0;
    /* the second copy is a dedup hit; the third finds the stored copy
     * damaged in its first compared chunk and replaces it */
    for (int copy = 0; copy < 3; copy++) {
        if (copy == 2 && !have)
            break;
        if (copy == 2) {
            char hex[40];
            mlops_hash128_to_hex(hex, &id);
            snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", dir, hex, hex);
            good = swap_byte(path, 0);
            swap_byte(path, (uint8_t)~good);
        }
        mlops_blob_writer *w = NULL;
        mlops_status st = note(r, mlops_blob_writer_open(&w, s), "stream open", false);
        for (size_t off = 0; st == MLOPS_OK && off < STREAM_N; off += STREAM_PIECE) {
            size_t n = STREAM_N - off < STREAM_PIECE ? STREAM_N - off : STREAM_PIECE;
            st = note(r, mlops_blob_writer_write(w, big + off, n), "stream write", false);
        }
        mlops_hash128 got;
        if (st == MLOPS_OK &&
            note(r, mlops_blob_writer_commit(&got, w), "stream commit", false) == MLOPS_OK) {
            ck_assert(!have || memcmp(&got, &id, sizeof(id)) == 0);
            id = got;
            have = true;
        }
        mlops_blob_writer_free(w);
        /* a copy that replaced the damaged one wrote the same bytes; one
         * that did not (a fault came first) leaves the damage: undo it */
        if (copy == 2)
            swap_byte(path, good);
    }
    mlops_blob_reader *rd = NULL;
    uint64_t size = 0;
    if (note(r, mlops_blob_reader_open(&rd, &size, s, &id), "reader open", true) == MLOPS_OK) {
        ck_assert_uint_eq(size, STREAM_N);
        uint8_t *buf = malloc(1u << 16);
        size_t pos = 0, got = 0;
        mlops_status st;
        while ((st = note(r, mlops_blob_reader_read(&got, rd, buf, 1u << 16), "reader read",
                          false)) == MLOPS_OK &&
               got > 0) {
            ck_assert(pos + got <= STREAM_N && memcmp(buf, big + pos, got) == 0);
            pos += got;
        }
        if (st == MLOPS_OK)
            ck_assert_uint_eq(pos, STREAM_N);
        free(buf);
        mlops_blob_reader_free(rd);
    }
    note(r, mlops_store_check(NULL, s), "check", false);
    mlops_store_close(s);
}

typedef void (*workload_fn)(const char *dir, mlops_env *env, tu_clock *clk, fio *f, run *r,
                            const uint8_t *data);

static char *scratch_root(void)
{
    /* tmpfs: the reopens sync for real, and a shared disk makes that slow */
    char tmpl[256];
    snprintf(tmpl, sizeof(tmpl), "%s/mlops-io-edges-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    return strdup(tmpl);
}

static uint8_t *random_bytes(size_t n, unsigned compressible_of_64)
{
    uint8_t *b = malloc(n);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)(i % 64 >= 64 - compressible_of_64 ? 'a' : x);
    }
    return b;
}

/* Every fault kind at every operation of its classes in one workload. */
static void fault_sweep(const char *dir, workload_fn fn, const uint8_t *data, long *total,
                        long *sampled, long *surfaced)
{
    bool vg = RUNNING_ON_VALGRIND;
    int fds = count_fds();
    for (size_t ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++) {
        const kind *k = &kinds[ki];
        /* count the operations of this kind's classes in a clean run */
        fio f;
        fio_init(&f, k, 0);
        run r = {.k = k};
        tu_rmtree(dir);
        tu_clock clk = {1000000000LL};
        mlops_env *env0 = tu_env_new(NULL, &clk);
        fn(dir, env0, &clk, &f, &r, data);
        mlops_env_free(env0);
        ck_assert_int_eq(r.first_err, MLOPS_OK);
        long n_ops = f.ops;
        ck_assert_int_gt(n_ops, 0);
        long step = vg ? 1 + n_ops / 8 : 1; /* under valgrind: a sample, same checks */
        for (long at = 1; at <= n_ops; at += step) {
            tu_alloc a = {0};
            clk.now_ns = 1000000000LL;
            mlops_env *env = tu_env_new(&a, &clk);
            fio_init(&f, k, at);
            run rr = {.k = k, .at = at};
            tu_rmtree(dir);
            fn(dir, env, &clk, &f, &rr, data);
            ck_assert_int_ge(f.hits, 1);
            mlops_env_free(env);
            ck_assert_msg(a.live == 0, "%s at op %ld: %ld blocks leaked", k->name, at, a.live);
            ck_assert_msg(count_fds() == fds, "%s at op %ld: descriptors leaked", k->name, at);
            if (!k->surfaces)
                ck_assert_msg(rr.first_err == MLOPS_OK, "%s at op %ld surfaced: %s", k->name,
                              at, rr.msg);
            if (rr.first_err != MLOPS_OK) {
                (*surfaced)++;
                /* O2: the message names the store's path */
                ck_assert_msg(strstr(rr.msg, dir) != NULL || strstr(rr.msg, "poisoned") ||
                                  strstr(rr.msg, "memory"),
                              "%s at op %ld: '%s'", k->name, at, rr.msg);
            }
            /* I5: whatever failed, the store reopens clean */
            if (access(dir, F_OK) == 0) {
                mlops_store *s = NULL;
                mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
                if (st == MLOPS_OK) {
                    char *report = NULL;
                    st = mlops_store_check(&report, s);
                    ck_assert_msg(st == MLOPS_OK, "%s at op %ld: check after the fault: %s",
                                  k->name, at, report ? report : mlops_error_message());
                    mlops_string_free(NULL, report);
                    mlops_store_close(s);
                } else {
                    /* only a store whose creation was cut short may refuse */
                    ck_assert_msg(st == MLOPS_E_CORRUPT || st == MLOPS_E_NOTFOUND,
                                  "%s at op %ld: reopen: %s: %s", k->name, at,
                                  mlops_status_name(st), mlops_error_message());
                }
            }
            (*sampled)++;
        }
        *total += n_ops;
        if (getenv("IO_EDGES_TRACE"))
            fprintf(stderr, "%s: %ld ops\n", k->name, n_ops);
    }
}

START_TEST(test_every_io_fault)
{
    char *root = scratch_root();
    char *dir = malloc(strlen(root) + 16);
    sprintf(dir, "%s/s", root);
    uint8_t *blob = random_bytes(BLOB_N, 16); /* partly compressible */
    long total = 0, surfaced = 0, sampled = 0;
    fault_sweep(dir, workload, blob, &total, &sampled, &surfaced);
    printf("FIGURE store_io_edge_faults=%ld sampled=%ld surfaced=%ld violations=0\n", total,
           sampled, surfaced);
    free(blob);
    free(dir);
    tu_rmtree(root);
    free(root);
}
END_TEST

START_TEST(test_every_stream_fault)
{
    if (RUNNING_ON_VALGRIND)
        return; /* megabytes of zstd per step: checked in the normal and ASan runs */
    char *root = scratch_root();
    char *dir = malloc(strlen(root) + 16);
    sprintf(dir, "%s/s", root);
    uint8_t *big = random_bytes(STREAM_N, 0); /* incompressible */
    long total = 0, surfaced = 0, sampled = 0;
    fault_sweep(dir, stream_workload, big, &total, &sampled, &surfaced);
    printf("FIGURE store_io_edge_stream_faults=%ld sampled=%ld surfaced=%ld violations=0\n",
           total, sampled, surfaced);
    free(big);
    free(dir);
    tu_rmtree(root);
    free(root);
}
END_TEST

/* I10: every allocation of a workload fails once: MLOPS_E_NOMEM or success
 * from each call, no leak, and the store checks clean after. */
static void alloc_sweep(const char *dir, workload_fn fn, const uint8_t *data, long step,
                        long *n, long *refused)
{
    static const kind alloc_kind = {"allocation", ENOMEM, 0, 0, false, false};
    int fds = count_fds();
    for (long at = 1;; at += step) {
        tu_alloc a = {0};
        tu_clock clk = {1000000000LL};
        mlops_env *env = tu_env_new(&a, &clk);
        a.fail_at = at;
        fio f;
        fio_init(&f, NULL, 0);
        run r = {.k = &alloc_kind, .at = at};
        tu_rmtree(dir);
        fn(dir, env, &clk, &f, &r, data);
        long failures = a.failures;
        mlops_env_free(env);
        ck_assert_msg(a.live == 0, "allocation %ld: %ld blocks leaked", at, a.live);
        ck_assert_msg(count_fds() == fds, "allocation %ld: descriptors leaked", at);
        if (failures == 0)
            break;
        (*n)++;
        *refused += r.first_err == MLOPS_E_NOMEM;
        if (access(dir, F_OK) == 0) {
            mlops_store *s = NULL;
            mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
            ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_NOTFOUND,
                          "allocation %ld: reopen: %s", at, mlops_error_message());
            if (st == MLOPS_OK) {
                char *report = NULL;
                ck_assert_msg(mlops_store_check(&report, s) == MLOPS_OK,
                              "allocation %ld: check: %s", at, report ? report : "");
                mlops_string_free(NULL, report);
                mlops_store_close(s);
            }
        }
    }
}

START_TEST(test_every_allocation)
{
    char *root = scratch_root();
    char *dir = malloc(strlen(root) + 16);
    sprintf(dir, "%s/s", root);
    uint8_t *blob = malloc(BLOB_N);
    for (size_t i = 0; i < BLOB_N; i++)
        blob[i] = (uint8_t)(i * 2654435761u >> 13);
    bool vg = RUNNING_ON_VALGRIND;
    long refused = 0, n = 0;
    alloc_sweep(dir, workload, blob, vg ? 7 : 1, &n, &refused);
    ck_assert_int_gt(refused, 10);
    printf("FIGURE store_io_edge_alloc_failures=%ld refused=%ld leaks=0\n", n, refused);
    free(blob);
    if (!vg) { /* megabytes of zstd per step: checked in the normal and ASan runs */
        uint8_t *big = random_bytes(STREAM_N, 0);
        n = refused = 0;
        alloc_sweep(dir, stream_workload, big, 1, &n, &refused);
        ck_assert_int_gt(refused, 5);
        printf("FIGURE store_io_edge_stream_alloc_failures=%ld refused=%ld leaks=0\n", n,
               refused);
        free(big);
    }
    free(dir);
    tu_rmtree(root);
    free(root);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store-io-edges");
    TCase *tc = tcase_create("store-io-edges");
    tcase_add_test(tc, test_every_io_fault);
    tcase_add_test(tc, test_every_stream_fault);
    tcase_add_test(tc, test_every_allocation);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return tu_run(s);
}

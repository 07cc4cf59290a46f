/* SPDX-License-Identifier: MIT */
/* Fault tests of the file backend: every I/O operation failed (EIO, ENOSPC,
 * short write, EINTR) or "crashed" in turn, random SIGKILLs of a writer,
 * every bit flip and truncation of a small store, and the durability modes.
 * Set MLOPS_TEST_SLOW=1 for the long variants (suite 'slow'). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/valgrind.h>

#include "fileutil.h"
#include "store/file/io.h"
#include "store/store_internal.h"
#include "testutil.h"

static char *g_root;
static int g_slow;
static int g_valgrind; /* under valgrind the loops are sampled: same checks, fewer rounds */

/* ---- the fault I/O table ---- */

enum { F_NONE, F_ERRNO, F_SHORT, F_EINTR, F_CRASH };

typedef struct fault_io {
    mlops__io io;
    long count;   /* faultable operations so far */
    long at;      /* operation number to hit (1-based); 0: never */
    int mode;
    int err;
    int persistent;
    long hits;
    long syncs;   /* fsync + fdatasync calls that succeeded */
} fault_io;

static const mlops__io *real(void)
{
    return mlops__io_default();
}

/* Returns 1 if this operation must fail (errno set), 2 for a short write. */
static int fault_hit(fault_io *f)
{
    f->count++;
    if (f->at == 0 || f->mode == F_NONE)
        return 0;
    if (f->count < f->at || (f->count > f->at && !f->persistent))
        return 0;
    f->hits++;
    switch (f->mode) {
    case F_CRASH:
        kill(getpid(), SIGKILL); /* a crash: no exit handlers, no leak report */
        _exit(137);
    case F_ERRNO:
        errno = f->err;
        return 1;
    case F_EINTR:
        errno = EINTR;
        return 1;
    case F_SHORT:
        return 2;
    default:
        return 0;
    }
}

static int x_open(void *p, int dirfd, const char *name, int flags, mode_t mode, int beneath)
{
    fault_io *f = p;
    if ((flags & O_CREAT) && fault_hit(f) == 1)
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
    (void)p;
    return real()->pread(NULL, fd, buf, n, off);
}
static ssize_t x_pwrite(void *p, int fd, const void *buf, size_t n, off_t off)
{
    fault_io *f = p;
    int h = fault_hit(f);
    if (h == 1)
        return -1;
    if (h == 2 && n > 1)
        n /= 2;
    return real()->pwrite(NULL, fd, buf, n, off);
}
static int x_fsync(void *p, int fd)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    f->syncs++;
    return real()->fsync(NULL, fd);
}
static int x_fdatasync(void *p, int fd)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    f->syncs++;
    return real()->fdatasync(NULL, fd);
}
static int x_ftruncate(void *p, int fd, off_t len)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    return real()->ftruncate(NULL, fd, len);
}
static int x_fstat(void *p, int fd, struct stat *st)
{
    (void)p;
    return real()->fstat(NULL, fd, st);
}
static int x_fstatat(void *p, int dirfd, const char *name, struct stat *st)
{
    (void)p;
    return real()->fstatat(NULL, dirfd, name, st);
}
static int x_rename(void *p, int od, const char *on, int nd, const char *nn, unsigned flags)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    return real()->rename(NULL, od, on, nd, nn, flags);
}
static int x_unlink(void *p, int dirfd, const char *name, int flags)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    return real()->unlink(NULL, dirfd, name, flags);
}
static int x_mkdir(void *p, int dirfd, const char *name, mode_t mode)
{
    fault_io *f = p;
    if (fault_hit(f) == 1)
        return -1;
    return real()->mkdir(NULL, dirfd, name, mode);
}
static int x_lock(void *p, int fd, int cmd, struct flock *fl)
{
    (void)p;
    return real()->lock(NULL, fd, cmd, fl);
}

static void fault_init(fault_io *f)
{
    memset(f, 0, sizeof(*f));
    f->io = (mlops__io){f,          x_open,    x_close,  x_pread,  x_pwrite,
                        x_fsync,    x_fdatasync, x_ftruncate, x_fstat, x_fstatat,
                        x_rename,   x_unlink,  x_mkdir,  x_lock};
}

static mlops_status open_io(mlops_store **out, const char *dir, fault_io *f, uint32_t sync)
{
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.sync = sync;
    o.lock_timeout_ms = 2000;
    mlops_backend *b = NULL;
    *out = NULL;
    mlops_status st = mlops__file_backend_new_io(&b, NULL, dir, &o, &f->io);
    if (st != MLOPS_OK)
        return st;
    st = mlops_store_open_backend(out, NULL, b);
    if (st != MLOPS_OK)
        b->ops->close(b);
    return st;
}

static char *fresh_dir(const char *tag)
{
    static int n;
    char *p = malloc(700);
    snprintf(p, 700, "%s/%s-%d-%d", g_root, tag, (int)getpid(), n++);
    tu_rmtree(p);
    return p;
}

/* ---- the reference workload ---- */

/* Batch i puts a<i> and b<i> (so a partial batch is visible) and sets "last". */
static mlops_status do_batch(mlops_store *s, int i)
{
    char ka[16], kb[16], v[32];
    int na = snprintf(ka, sizeof(ka), "a%04d", i), nb = snprintf(kb, sizeof(kb), "b%04d", i);
    int nv = snprintf(v, sizeof(v), "value-%d", i);
    mlops_batch *b = NULL;
    mlops_status st = mlops_batch_create(&b, s);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, ka, (size_t)na, v, (size_t)nv);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, kb, (size_t)nb, v, (size_t)nv);
    if (st == MLOPS_OK)
        st = mlops_batch_put(b, "last", 4, v, (size_t)nv);
    if (st == MLOPS_OK)
        st = mlops_store_apply(s, b);
    mlops_batch_free(b);
    return st;
}

static int batch_present(mlops_store *s, int i)
{
    char ka[16], kb[16];
    int na = snprintf(ka, sizeof(ka), "a%04d", i), nb = snprintf(kb, sizeof(kb), "b%04d", i);
    mlops_bytes va, vb;
    mlops_status sa = mlops_store_get(&va, NULL, s, ka, (size_t)na);
    mlops_status sb = mlops_store_get(&vb, NULL, s, kb, (size_t)nb);
    char want[32];
    int nw = snprintf(want, sizeof(want), "value-%d", i);
    if (sa == MLOPS_OK)
        ck_assert(va.len == (size_t)nw && memcmp(va.data, want, va.len) == 0); /* bit-exact (I2) */
    mlops_bytes_free(&va);
    mlops_bytes_free(&vb);
    ck_assert_msg(sa == sb, "batch %d is half applied (I3)", i);
    return sa == MLOPS_OK;
}

/* Check a store after a fault: acknowledged batches 0..acked-1 present, at
 * most the next in-flight one too, nothing after; check passes; writable. */
static void verify_after(const char *dir, int acked, int attempted)
{
    mlops_store *s = NULL;
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    mlops_status st = mlops_store_open(&s, NULL, dir, &o);
    ck_assert_msg(st == MLOPS_OK, "reopen failed: %s", mlops_error_message());
    for (int i = 0; i < attempted + 1; i++) {
        int present = batch_present(s, i);
        if (i < acked)
            ck_assert_msg(present, "acknowledged batch %d lost (I2)", i);
        if (i > attempted)
            ck_assert(!present);
    }
    char *rep = NULL;
    st = mlops_store_check(&rep, s);
    ck_assert_msg(st == MLOPS_OK, "check: %s", rep ? rep : mlops_error_message());
    mlops_string_free(NULL, rep);
    tu_assert_ok(do_batch(s, 999)); /* still writable */
    mlops_store_close(s);
}

/* Runs the workload; returns the number of acknowledged batches and sets
 * *attempted to the last batch tried. Acks also go to fd ack_fd if >= 0. */
static int workload(const char *dir, fault_io *f, int *attempted, int ack_fd, uint32_t sync)
{
    mlops_store *s = NULL;
    int acked = 0;
    *attempted = -1;
    mlops_status st = open_io(&s, dir, f, sync);
    if (st != MLOPS_OK) {
        ck_assert_msg(st == MLOPS_E_IO || st == MLOPS_E_NOSPC || st == MLOPS_E_CORRUPT,
                      "open: %s", mlops_error_message());
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        *attempted = i;
        st = do_batch(s, i);
        if (st != MLOPS_OK) {
            ck_assert_msg(st == MLOPS_E_IO || st == MLOPS_E_NOSPC, "batch %d: %s (%d)", i,
                          mlops_error_message(), st);
            break;
        }
        acked = i + 1;
        if (ack_fd >= 0 && write(ack_fd, &acked, sizeof(acked)) != sizeof(acked))
            break;
        if (i == 3) {
            mlops_hash128 id;
            st = mlops_store_blob_put(&id, s, "artifact bytes", 14);
            ck_assert(st == MLOPS_OK || st == MLOPS_E_IO || st == MLOPS_E_NOSPC);
        }
        if (i == 5) {
            st = mlops_store_compact(s);
            ck_assert_msg(st == MLOPS_OK || st == MLOPS_E_IO || st == MLOPS_E_NOSPC,
                          "compact: %s", mlops_error_message());
        }
    }
    mlops_store_close(s);
    return acked;
}

static long count_ops(void)
{
    fault_io f;
    fault_init(&f);
    char *dir = fresh_dir("count");
    int att;
    ck_assert_int_eq(workload(dir, &f, &att, -1, MLOPS_SYNC_FULL), 8);
    tu_rmtree(dir);
    free(dir);
    return f.count;
}

START_TEST(io_fault_each_op)
{
    /* FG5 / O1-O5: every operation failed in turn, with each kind */
    long n = count_ops();
    ck_assert_int_gt(n, 30);
    struct {
        int mode, err;
    } kinds[] = {{F_ERRNO, EIO}, {F_ERRNO, ENOSPC}, {F_SHORT, 0}, {F_EINTR, 0}};
    long points = 0;
    for (size_t k = 0; k < 4; k++) {
        for (int persistent = 0; persistent < 2; persistent++) {
            if (persistent && kinds[k].mode == F_EINTR)
                continue; /* an endless EINTR is retried forever, like the kernel's */
            for (long at = 1; at <= n; at += g_valgrind ? 7 : 1) {
                fault_io f;
                fault_init(&f);
                f.at = at;
                f.mode = kinds[k].mode;
                f.err = kinds[k].err;
                f.persistent = persistent;
                char *dir = fresh_dir("fault");
                int att = -1;
                int acked = workload(dir, &f, &att, -1, MLOPS_SYNC_FULL);
                /* short writes and EINTR are absorbed: nothing is lost */
                if (kinds[k].mode == F_SHORT || kinds[k].mode == F_EINTR)
                    ck_assert_int_eq(acked, 8);
                if (att >= 0 || acked > 0)
                    verify_after(dir, acked, att);
                points++;
                tu_rmtree(dir);
                free(dir);
            }
        }
    }
    printf("FIGURE io_faults=%ldx4x2 violations=0\n", n);
}
END_TEST

START_TEST(crash_each_op)
{
    /* K1 / FG1: the process "dies" (_exit) at every I/O operation */
    long n = count_ops();
    long survived = 0;
    for (long at = 1; at <= n + 1; at += g_valgrind ? 5 : 1) {
        char *dir = fresh_dir("crash");
        int pfd[2];
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            fault_io f;
            fault_init(&f);
            f.at = at;
            f.mode = F_CRASH;
            int att;
            workload(dir, &f, &att, pfd[1], MLOPS_SYNC_FULL);
            kill(getpid(), SIGKILL);
            _exit(0);
        }
        close(pfd[1]);
        int acked = 0, v;
        while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
            acked = v;
        close(pfd[0]);
        waitpid(pid, NULL, 0);
        struct stat stt;
        if (stat(dir, &stt) == 0) {
            char sb[800];
            snprintf(sb, sizeof(sb), "%s/superblock", dir);
            if (stat(sb, &stt) == 0)
                verify_after(dir, acked, acked < 8 ? acked : 7);
        }
        survived++;
        tu_rmtree(dir);
        free(dir);
    }
    printf("FIGURE crash_points_whitebox=%ld/%ld\n", survived, n + 1);
}
END_TEST

START_TEST(random_kills)
{
    /* K2 / FG3: SIGKILL a writer at random moments; nothing acknowledged is
     * lost and the store stays writable. */
    int rounds = g_slow ? 2000 : g_valgrind ? 20 : 300;
    char *dir = fresh_dir("kill");
    uint64_t seed = 0x1234567 ^ (uint64_t)getpid();
    int next = 0, lost = 0, kills = 0;
    for (int r = 0; r < rounds; r++) {
        int pfd[2];
        ck_assert_int_eq(pipe(pfd), 0);
        uint32_t mode = (r % 2) ? MLOPS_SYNC_FULL : MLOPS_SYNC_NORMAL;
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
            o.sync = mode;
            mlops_store *s = NULL;
            if (mlops_store_open(&s, NULL, dir, &o) != MLOPS_OK)
                _exit(3);
            for (int i = next; i < next + 100000; i++) {
                if (do_batch(s, i) != MLOPS_OK)
                    _exit(4);
                if (write(pfd[1], &i, sizeof(i)) != sizeof(i))
                    _exit(5);
            }
            _exit(0);
        }
        close(pfd[1]);
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        /* 0.3-2.3 ms after the fork; valgrind needs a second just to start */
        struct timespec ts = {g_valgrind ? 2 : 0, (long)((seed >> 33) % 2000000) + 300000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int wst = 0;
        waitpid(pid, &wst, 0);
        ck_assert_msg(WIFSIGNALED(wst) || WEXITSTATUS(wst) == 0, "writer failed: %d",
                      WEXITSTATUS(wst));
        kills += WIFSIGNALED(wst);
        int last = next - 1, v;
        while (read(pfd[0], &v, sizeof(v)) == sizeof(v))
            last = v;
        close(pfd[0]);
        mlops_store *s = NULL;
        tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
        for (int i = next; i <= last; i++)
            if (!batch_present(s, i))
                lost++;
        /* the batch in flight is all there or absent; continue after it */
        int after = last + 1;
        if (batch_present(s, after))
            after++;
        ck_assert(!batch_present(s, after));
        mlops_store_close(s);
        next = after;
        /* keep the log small: compact now and then */
        if (r % 50 == 49) {
            tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
            tu_assert_ok(mlops_store_compact(s));
            mlops_store_close(s);
        }
    }
    ck_assert_int_eq(lost, 0);
    ck_assert_int_gt(next, 0);
    printf("FIGURE random_kills=%d lost_acked=%d batches=%d\n", kills, lost, next);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- bit flips and truncation ---- */

static uint64_t state_digest(mlops_store *s);

static int digest_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                     uint64_t version, void *payload)
{
    uint64_t *h = payload;
    *h = mlops_hash64(key, key_len, *h);
    *h = mlops_hash64(value, value_len, *h);
    *h = mlops_hash64(&version, sizeof(version), *h);
    return 0;
}

static uint64_t state_digest(mlops_store *s)
{
    uint64_t h = 1;
    tu_assert_ok(mlops_store_scan(s, NULL, 0, NULL, 0, digest_cb, &h));
    return h;
}

START_TEST(bitflips_and_truncation)
{
    /* F1, F3-F6, FG9: never a crash, never wrong data returned as good */
    char *dir = fresh_dir("flip");
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    uint64_t prefixes[64];
    int np = 0;
    prefixes[np++] = state_digest(s);
    for (int i = 0; i < 40; i++) {
        tu_assert_ok(do_batch(s, i));
        if (i % 3 == 0)
            tu_assert_ok(mlops_store_delete(s, "last", 4));
        prefixes[np++] = state_digest(s);
    }
    /* a delete batch makes an extra state; collect all states after each batch */
    mlops_store_close(s);
    char logp[900], work[900];
    snprintf(logp, sizeof(logp), "%s", fu_log_path(dir));
    size_t size = 0;
    uint8_t *orig = fu_read_file(logp, &size);
    ck_assert(size > 2000);
    /* states after every acknowledged call, for the prefix test */
    uint64_t states[128];
    int ns = 0;
    {
        char *d2 = fresh_dir("flipref");
        tu_assert_ok(mlops_store_open(&s, NULL, d2, NULL));
        states[ns++] = state_digest(s);
        for (int i = 0; i < 40; i++) {
            do_batch(s, i);
            states[ns++] = state_digest(s);
            if (i % 3 == 0) {
                mlops_store_delete(s, "last", 4);
                states[ns++] = state_digest(s);
            }
        }
        mlops_store_close(s);
        tu_rmtree(d2);
        free(d2);
    }
    (void)prefixes;
    (void)np;
    snprintf(work, sizeof(work), "%s", logp);
    long flips = 0, detected = 0, benign = 0, truncs = 0;
    size_t step = g_valgrind ? 41 : 1;
    int bits = g_slow ? 8 : 1;
    for (size_t off = 0; off < size; off += step) {
        for (int bit = 0; bit < bits; bit++) {
            uint8_t *copy = malloc(size);
            memcpy(copy, orig, size);
            int b = bits == 1 ? (int)(off * 5 % 8) : bit;
            copy[off] ^= (uint8_t)(1u << b);
            fu_write_file(work, copy, size);
            free(copy);
            s = NULL;
            mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
            flips++;
            if (st == MLOPS_OK) {
                uint64_t d = state_digest(s);
                int ok = 0;
                for (int i = 0; i < ns; i++)
                    ok |= d == states[i];
                ck_assert_msg(ok, "flip at byte %zu bit %d gave a state that was never committed",
                              off, b);
                mlops_store_close(s);
                benign++;
            } else {
                ck_assert_msg(st == MLOPS_E_CORRUPT, "flip at %zu: %s", off,
                              mlops_status_name(st));
                detected++;
            }
        }
    }
    for (size_t len = 0; len < size; len += g_valgrind ? 37 : 1) {
        fu_write_file(work, orig, len);
        s = NULL;
        mlops_status st = mlops_store_open(&s, NULL, dir, NULL);
        truncs++;
        if (st == MLOPS_OK) {
            uint64_t d = state_digest(s);
            int ok = 0;
            for (int i = 0; i < ns; i++)
                ok |= d == states[i];
            ck_assert_msg(ok, "truncation at %zu gave a state that was never committed", len);
            ck_assert(len >= 64); /* only a whole header can open */
            mlops_store_close(s);
        } else {
            ck_assert_msg(st == MLOPS_E_CORRUPT, "truncation at %zu: %s", len,
                          mlops_status_name(st));
        }
    }
    /* F3: a tail of zeros is a torn tail; F4: garbage too */
    uint8_t *ext = calloc(1, size + 4096);
    memcpy(ext, orig, size);
    fu_write_file(work, ext, size + 4096);
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    ck_assert_uint_eq(state_digest(s), states[ns - 1]);
    mlops_store_close(s);
    for (size_t i = size; i < size + 4096; i++)
        ext[i] = (uint8_t)(i * 131 + 7);
    fu_write_file(work, ext, size + 4096);
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    ck_assert_uint_eq(state_digest(s), states[ns - 1]);
    mlops_store_close(s);
    free(ext);
    printf("FIGURE bitflips=%ld/%ld (detected %ld, benign-prefix %ld) truncations=%ld/%ld\n",
           flips, flips, detected, benign, truncs, truncs);
    free(orig);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(corrupt_middle_reported)
{
    /* F5: damage in the middle is MLOPS_E_CORRUPT with file and offset, and
     * check reports it */
    char *dir = fresh_dir("mid");
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    for (int i = 0; i < 10; i++)
        tu_assert_ok(do_batch(s, i));
    mlops_store_close(s);
    size_t size = 0;
    char logp[900];
    snprintf(logp, sizeof(logp), "%s", fu_log_path(dir));
    uint8_t *b = fu_read_file(logp, &size);
    b[200] ^= 0x10;
    fu_write_file(logp, b, size);
    free(b);
    uint64_t before = fu_tree_hash(dir);
    tu_assert_st(mlops_store_open(&s, NULL, dir, NULL), MLOPS_E_CORRUPT);
    ck_assert(strstr(mlops_error_message(), "offset") != NULL);
    ck_assert(strstr(mlops_error_message(), "log-") != NULL);
    ck_assert_uint_eq(fu_tree_hash(dir), before); /* nothing truncated */
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(blob_damage)
{
    /* F11, F12: damaged blobs are never returned; check reports them */
    char *dir = fresh_dir("blob");
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, dir, NULL));
    uint8_t data[50000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * i);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, data, sizeof(data)));
    char hex[33], p[1000];
    mlops_hash128_to_hex(hex, &id);
    snprintf(p, sizeof(p), "%s/blobs/%.2s/%s", dir, hex, hex);
    size_t n = 0;
    uint8_t *orig = fu_read_file(p, &n);
    long damaged = 0;
    for (size_t off = 0; off < n; off += (n / 97) + 1) {
        uint8_t *c = malloc(n);
        memcpy(c, orig, n);
        c[off] ^= 0x04;
        fu_write_file(p, c, n);
        free(c);
        mlops_bytes v;
        mlops_status st = mlops_store_blob_get(&v, s, &id, 0);
        /* detected, or harmless (a flag bit of the zstd frame): the bytes
         * returned are then verified against the address */
        ck_assert_msg(st == MLOPS_E_CORRUPT || st == MLOPS_OK, "flip at %zu of blob: %s", off,
                      mlops_status_name(st));
        if (st == MLOPS_OK)
            ck_assert(v.len == sizeof(data) && memcmp(v.data, data, v.len) == 0);
        else
            damaged++;
        mlops_bytes_free(&v);
    }
    ck_assert_int_gt(damaged, 60);
    fu_write_file(p, orig, n / 2); /* truncated frame */
    mlops_bytes v;
    tu_assert_st(mlops_store_blob_get(&v, s, &id, 0), MLOPS_E_CORRUPT);
    char *rep = NULL;
    tu_assert_st(mlops_store_check(&rep, s), MLOPS_E_CORRUPT);
    ck_assert(strstr(rep, hex) != NULL);
    mlops_string_free(NULL, rep);
    /* writing the same bytes again repairs the damaged copy */
    tu_assert_ok(mlops_store_blob_put(&id, s, data, sizeof(data)));
    tu_assert_ok(mlops_store_blob_get(&v, s, &id, 0));
    ck_assert(v.len == sizeof(data) && memcmp(v.data, data, v.len) == 0);
    mlops_bytes_free(&v);
    free(orig);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- durability modes: each sentence is a contract ---- */

static const char *const SENTENCES[3] = {
    "Durability: fsync every batch before OK; OK survives power loss.",
    "Durability: written before OK, synced in the background within 100 ms; OK survives a "
    "process crash.",
    "Durability: written before OK, synced only by flush or close; OK survives a process "
    "crash, not a power loss.",
};

static int file_has(const char *rel, const char *needle)
{
    const char *root = getenv("MLOPS_SOURCE_ROOT");
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", root ? root : "..", rel);
    size_t n = 0;
    uint8_t *b = fu_read_file(p, &n);
    if (b == NULL)
        return 0;
    b[n] = 0;
    /* headers wrap lines: compare with runs of blanks and comment stars folded */
    char *flat = malloc(n + 1);
    size_t k = 0;
    int sp = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)b[i];
        if (c == '\n' || c == ' ' || c == '\t' || (c == '*' && sp)) {
            if (!sp && k)
                flat[k++] = ' ';
            sp = 1;
            continue;
        }
        sp = 0;
        flat[k++] = c;
    }
    flat[k] = 0;
    int found = strstr(flat, needle) != NULL;
    free(flat);
    free(b);
    return found;
}

START_TEST(durability_sentences)
{
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(file_has("include/mlops/store.h", SENTENCES[i]), "store.h lacks: %s",
                      SENTENCES[i]);
        ck_assert_msg(file_has("docs/storage.md", SENTENCES[i]), "storage.md lacks: %s",
                      SENTENCES[i]);
    }
}
END_TEST

START_TEST(durability_full)
{
    /* "fsync every batch before OK": one data sync per batch, before OK */
    char *dir = fresh_dir("full");
    fault_io f;
    fault_init(&f);
    mlops_store *s = NULL;
    tu_assert_ok(open_io(&s, dir, &f, MLOPS_SYNC_FULL));
    long before = f.syncs;
    for (int i = 0; i < 10; i++) {
        tu_assert_ok(do_batch(s, i));
        ck_assert_int_eq(f.syncs, before + i + 1);
    }
    /* a failed fsync poisons the handle: never retried into a later OK (O3) */
    f.at = f.count + 2; /* pwrite, then the fdatasync */
    f.mode = F_ERRNO;
    f.err = EIO;
    tu_assert_st(do_batch(s, 10), MLOPS_E_IO);
    f.at = 0;
    tu_assert_st(do_batch(s, 11), MLOPS_E_IO);
    ck_assert(strstr(mlops_error_message(), "poisoned") != NULL);
    tu_assert_st(mlops_store_flush(s), MLOPS_E_IO);
    mlops_store_close(s);
    verify_after(dir, 10, 10);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static void crash_writer(const char *dir, uint32_t mode, int n)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
        o.sync = mode;
        mlops_store *s = NULL;
        char ok = 'y';
        if (mlops_store_open(&s, NULL, dir, &o) != MLOPS_OK)
            ok = 'o';
        for (int i = 0; i < n && ok == 'y'; i++)
            if (do_batch(s, i) != MLOPS_OK)
                ok = 'b';
        if (write(pfd[1], &ok, 1) != 1)
            ok = 'w';
        kill(getpid(), SIGKILL); /* a process crash: no close, no flush */
        _exit(0);
    }
    close(pfd[1]);
    char ok = 0;
    ck_assert_int_eq(read(pfd[0], &ok, 1), 1);
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(ok, 'y');
}

START_TEST(durability_normal_off)
{
    /* normal and off: "OK survives a process crash" */
    for (uint32_t mode = MLOPS_SYNC_NORMAL; mode <= MLOPS_SYNC_OFF; mode++) {
        char *dir = fresh_dir("mode");
        crash_writer(dir, mode, 20);
        verify_after(dir, 20, 19);
        tu_rmtree(dir);
        free(dir);
    }
    /* off: no sync until flush or close */
    char *dir = fresh_dir("off");
    fault_io f;
    fault_init(&f);
    mlops_store *s = NULL;
    tu_assert_ok(open_io(&s, dir, &f, MLOPS_SYNC_OFF));
    long before = f.syncs;
    for (int i = 0; i < 10; i++)
        tu_assert_ok(do_batch(s, i));
    ck_assert_int_eq(f.syncs, before);
    tu_assert_ok(mlops_store_flush(s));
    ck_assert_int_eq(f.syncs, before + 1);
    mlops_store_close(s);
    /* normal: synced in the background within the window */
    tu_rmtree(dir);
    fault_init(&f);
    tu_assert_ok(open_io(&s, dir, &f, MLOPS_SYNC_NORMAL));
    before = f.syncs;
    for (int i = 0; i < 10; i++)
        tu_assert_ok(do_batch(s, i));
    ck_assert_int_lt(f.syncs, before + 10); /* group commit: fewer syncs than batches */
    /* within the window (allowing a loaded machine up to 5 s) */
    for (int i = 0; i < 100 && f.syncs == before; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_gt(f.syncs, before);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    g_slow = getenv("MLOPS_TEST_SLOW") != NULL;
    g_valgrind = RUNNING_ON_VALGRIND;
    /* tmpfs makes the thousands of fsyncs cheap; the logic under test is the same */
    const char *base = getenv("MLOPS_FAULT_TMPDIR");
    if (base == NULL || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/mlops-faults-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        return 1;
    g_root = strdup(tmpl);
    Suite *s = suite_create("store-faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, g_slow ? 1800 : 120);
    tcase_add_test(tc, durability_sentences);
    tcase_add_test(tc, durability_full);
    tcase_add_test(tc, durability_normal_off);
    tcase_add_test(tc, corrupt_middle_reported);
    tcase_add_test(tc, blob_damage);
    tcase_add_test(tc, io_fault_each_op);
    tcase_add_test(tc, crash_each_op);
    tcase_add_test(tc, random_kills);
    tcase_add_test(tc, bitflips_and_truncation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tu_rmtree(g_root);
    free(g_root);
    return failed == 0 ? 0 : 1;
}

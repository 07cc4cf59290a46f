/* SPDX-License-Identifier: MIT */
/* Internal to the file backend: the handle and the I/O helpers shared by
 * file.c (log, index, lock) and blob.c (blobs). */
#ifndef MLOPS_STORE_FILE_INTERNAL_H
#define MLOPS_STORE_FILE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/file/io.h"
#include "store/index.h"

#define FILE_FORMAT_VERSION 1u

typedef struct file_backend {
    mlops_backend base;
    const mlops__io *io;
    char *path; /* as given, for messages */
    int dirfd;
    int lockfd;  /* -1 if read-only and absent */
    int logfd;
    int blobfd;  /* blobs/, -1 until it exists */
    uint32_t sync;
    bool readonly;      /* opened read-only, or written by a newer library */
    bool newer_writer;  /* the superblock's write version is newer than ours */
    int64_t lock_timeout_ms;

    pthread_mutex_t wmu; /* serializes this handle's writers (taken before the OFD lock) */
    pthread_mutex_t cmu; /* the log state: catch-up, appends, log switches */
    pthread_rwlock_t ilock;
    mlops__idx idx;

    /* log state, guarded by cmu (end is also read without it) */
    uint64_t epoch, gen, base_seq, last_seq, records;
    _Atomic uint64_t end;
    ino_t super_ino;
    _Atomic int64_t super_checked_ms;
    bool unknown_records;
    bool holding_lock;
    bool rebuilding; /* reload holds ilock for writing */
    mlops__buf rbuf; /* read window of the log */
    uint64_t rbuf_off;

    /* durability */
    atomic_int poisoned;
    pthread_mutex_t smu;
    pthread_cond_t scv;
    pthread_t syncer;
    bool syncer_running, stop, dirty;
} file_backend;

/* The I/O table with EINTR retried (O4, O10). */
#include <errno.h>
static inline int fio_open(file_backend *fb, int dirfd, const char *name, int flags, mode_t mode,
                           int beneath)
{
    int r;
    do
        r = fb->io->open(fb->io->payload, dirfd, name, flags, mode, beneath);
    while (r < 0 && errno == EINTR);
    return r;
}
static inline int fio_rename(file_backend *fb, int od, const char *on, int nd, const char *nn,
                             unsigned flags)
{
    int r;
    do
        r = fb->io->rename(fb->io->payload, od, on, nd, nn, flags);
    while (r < 0 && errno == EINTR);
    return r;
}
static inline int fio_unlink(file_backend *fb, int dirfd, const char *name, int flags)
{
    int r;
    do
        r = fb->io->unlink(fb->io->payload, dirfd, name, flags);
    while (r < 0 && errno == EINTR);
    return r;
}
static inline int fio_mkdir(file_backend *fb, int dirfd, const char *name, mode_t mode)
{
    int r;
    do
        r = fb->io->mkdir(fb->io->payload, dirfd, name, mode);
    while (r < 0 && errno == EINTR);
    return r;
}
static inline int fio_ftruncate(file_backend *fb, int fd, off_t len)
{
    int r;
    do
        r = fb->io->ftruncate(fb->io->payload, fd, len);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Map errno after a failed operation on file name to a status with a message. */
mlops_status mlops__file_errno(file_backend *fb, int err, const char *what, const char *name);
/* pread until n bytes or end of file; *got receives the count. */
mlops_status mlops__file_pread(file_backend *fb, int fd, void *buf, size_t n, uint64_t off,
                               size_t *got, const char *name);
/* pwrite all n bytes (short writes looped, EINTR retried). */
mlops_status mlops__file_pwrite(file_backend *fb, int fd, const void *buf, size_t n,
                                uint64_t off, const char *name);
/* fdatasync (files) or fsync (dirs); EINTR retried. A failure is never retried. */
mlops_status mlops__file_sync(file_backend *fb, int fd, bool dir, const char *name);
int mlops__file_close(file_backend *fb, int fd);
mlops_status mlops__file_poisoned(file_backend *fb);
void mlops__file_poison(file_backend *fb);

/* blob.c */
mlops_status mlops__file_blob_dir(file_backend *fb, bool create);
mlops_status mlops__fblob_write_open(mlops_backend *b, mlops_backend_blob_writer **out);
mlops_status mlops__fblob_write(mlops_backend_blob_writer *w, const uint8_t *data, size_t len);
mlops_status mlops__fblob_write_commit(mlops_backend_blob_writer *w, const mlops_hash128 *id);
void mlops__fblob_write_free(mlops_backend_blob_writer *w);
mlops_status mlops__fblob_read_open(mlops_backend *b, const mlops_hash128 *id,
                                    mlops_backend_blob_reader **out, uint64_t *size_out);
mlops_status mlops__fblob_read(mlops_backend_blob_reader *r, uint8_t *buf, size_t cap,
                               size_t *n_out);
void mlops__fblob_read_free(mlops_backend_blob_reader *r);
/* Open a blob file by directory and name (no id check). */
mlops_status mlops__fblob_reader_at(file_backend *fb, int dirfd, const char *name,
                                    mlops_backend_blob_reader **out, uint64_t *size);
mlops_status mlops__fblob_stat(mlops_backend *b, const mlops_hash128 *id, uint64_t *size_out);
/* Verify every blob; append problems to report; count files and bytes. */
mlops_status mlops__fblob_check(file_backend *fb, mlops__buf *report, uint64_t *problems);
void mlops__fblob_count(file_backend *fb, uint64_t *count, uint64_t *bytes);
/* Remove temp files left by dead processes. */
void mlops__fblob_cleanup(file_backend *fb);

#endif

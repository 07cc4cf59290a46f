/* SPDX-License-Identifier: MIT */
/* A fault-injecting I/O table for the file backend (its mlops__io hooks):
 * counts every operation that changes the disk, and at a chosen one exits
 * the process (before or after the operation: a crash) or fails it (EIO,
 * ENOSPC, EINTR, a short write), once or from then on. Reads are counted
 * apart so EIO on read can be swept too. */
#ifndef MLOPS_FAULTIO_H
#define MLOPS_FAULTIO_H

#include <stdbool.h>

#include "store/file/io.h"

enum {
    FIO_NONE,
    FIO_CRASH_BEFORE, /* _exit(137) instead of the operation */
    FIO_CRASH_AFTER,  /* do it, then _exit(137) */
    FIO_ERRNO,        /* fail with err */
    FIO_SHORT,        /* a write moves half the bytes */
    FIO_EINTR,        /* fail with EINTR (must be retried) */
    FIO_READ_ERRNO,   /* fail the at-th read with err */
};

typedef struct fault_io {
    mlops__io io; /* first: the table handed to the backend */
    long ops;     /* disk-changing operations so far */
    long reads;   /* reads so far */
    long at;      /* the operation (1-based) to hit; 0: none */
    int mode;
    int err;
    bool persistent;
    long hits;
    bool only_writes; /* ERRNO mode: hit only pwrite/ftruncate (not syncs or renames) */
    bool only_syncs;  /* ERRNO mode: hit only fsync/fdatasync */
    bool trace;       /* print every counted operation to stderr */
} fault_io;

void fault_io_init(fault_io *f);

#endif

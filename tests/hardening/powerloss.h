/* SPDX-License-Identifier: MIT */
/* A power-loss simulator for the file backend (K3, FG4), in the spirit of
 * SQLite's crash-test VFS and of ALICE / CrashMonkey.
 *
 * Recording: pl_sim is an I/O table for the file backend that performs every
 * operation on the real file system (so the store works normally) and
 * records each disk-changing one (file create, mkdir, write, truncate,
 * fsync/fdatasync, rename, unlink) in a trace, naming files by their inode
 * rather than their path.
 *
 * Replay: pl_model walks the trace as a page cache would. A write or
 * truncate is pending until an fsync/fdatasync of that file makes it
 * durable; a create, mkdir, rename or unlink is pending until an fsync of
 * the directory holding the name (a rename across directories is two
 * pending halves, one per directory). At a power cut after operation k,
 * pl_model_crash() builds the on-disk state from the durable state plus an
 * adversarial choice of the pending operations: dropped, applied in another
 * order, or torn (a prefix, 512-byte sector pieces, the last sector zeroed
 * or garbage). The image can then be written to a directory and the store
 * reopened there with the real I/O. */
#ifndef MLOPS_POWERLOSS_H
#define MLOPS_POWERLOSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/file/io.h"

#define PL_SECTOR 512

typedef struct pl_sim pl_sim;

/* Record the operations under root, an existing directory. Whatever it
 * already holds is taken as durable: it is adopted through synthetic
 * operations (creates, writes and syncs) at the start of the trace, so
 * cuts start after pl_sim_base(). NULL on failure. */
pl_sim *pl_sim_new(const char *root);
/* The synthetic operations at the start of the trace. */
size_t pl_sim_base(const pl_sim *s);
/* The I/O table to hand to the backend (lives as long as the sim). */
const mlops__io *pl_sim_io(pl_sim *s);
/* Disk-changing operations recorded so far (thread-safe). */
size_t pl_sim_ops(pl_sim *s);
/* A recording problem (an operation on a file the sim never saw), or NULL. */
const char *pl_sim_error(const pl_sim *s);
/* Describe operation k (1-based) into buf. */
const char *pl_sim_describe(const pl_sim *s, size_t k, char *buf, size_t cap);
void pl_sim_free(pl_sim *s);

/* What happens to the pending operations at the cut. */
enum {
    PL_DROP_ALL,   /* every pending operation is lost */
    PL_KEEP_ALL,   /* every pending operation reached the disk (a process crash) */
    PL_NAMES_ONLY, /* directory changes reached the disk, file data did not */
    PL_DATA_ONLY,  /* file data reached the disk, directory changes did not */
    PL_TEAR,       /* in trace order up to the tear_at-th pending write, which is
                    * torn as `tear` says; everything after it is lost */
    PL_DROP_ONE,   /* every pending operation kept but the tear_at-th pending write
                    * (a later write reached the disk before an earlier one) */
    PL_RANDOM,     /* each pending operation kept or lost, the kept writes of a
                    * file applied in a random order and some torn in random
                    * sector pieces; directory changes kept in order */
};

enum {
    PL_TEAR_HALF,         /* the first half of the bytes */
    PL_TEAR_FIRST_SECTOR, /* up to the first 512-byte boundary */
    PL_TEAR_LAST_ZERO,    /* all but the last sector piece, which reads as zeros */
    PL_TEAR_LAST_GARBAGE, /* all of it, the last sector piece garbage */
    PL_TEAR_KINDS
};

typedef struct pl_variant {
    int kind;
    size_t tear_at; /* PL_TEAR, PL_DROP_ONE: index among the pending writes (trace order) */
    int tear;       /* PL_TEAR: PL_TEAR_* */
    uint64_t seed;  /* PL_RANDOM */
} pl_variant;

/* Describe a variant ("drop-all", "tear#2:last-zero", "random:seed=0x..."). */
const char *pl_variant_describe(const pl_variant *v, char *buf, size_t cap);

typedef struct pl_model pl_model;

/* A model at the start of the trace (nothing but the empty root). */
pl_model *pl_model_new(const pl_sim *s);
/* Replay up to the state after the first k operations (k never decreases). */
void pl_model_advance(pl_model *m, size_t k);
/* Pending operations (halves of cross-directory renames count apart). */
size_t pl_model_pending(const pl_model *m);
/* Pending writes (pwrite), the candidates of PL_TEAR. */
size_t pl_model_pending_writes(const pl_model *m);
/* Pending directory changes. */
size_t pl_model_pending_names(const pl_model *m);
void pl_model_free(pl_model *m);

/* The on-disk state after a power cut: a directory tree in memory. */
typedef struct pl_image pl_image;

/* The state the variant gives; NULL on allocation failure. */
pl_image *pl_model_crash(const pl_model *m, const pl_variant *v);
/* A hash of the whole tree (names, kinds and contents). */
uint64_t pl_image_hash(const pl_image *img);
/* Create the tree under dir (an existing empty directory); 0 or -1 with errno. */
int pl_image_write(const pl_image *img, const char *dir);
/* Files in the tree (not directories). */
size_t pl_image_files(const pl_image *img);
void pl_image_free(pl_image *img);

#endif

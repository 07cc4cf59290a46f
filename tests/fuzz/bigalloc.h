/* SPDX-License-Identifier: MIT */
/* An allocator env for fuzz targets that call into libzstd (through the
 * library's zstd wrappers): the fuzz_common.h counting allocator, except
 * that blocks of 128 KiB and more that are malloc'ed (not realloc'ed) bypass
 * ASan's allocator. Those are libzstd's own contexts and window buffers (a
 * frame may ask for up to 2 MiB); through ASan's allocator each cost a
 * fresh mapping, page faults and a shadow fill of an eighth of its size on
 * free and again when the quarantine recycled it, which was most of an
 * execution. libzstd is not built with ASan, so ASan never checked its
 * accesses to these blocks anyway. Here a block ends right before a
 * PROT_NONE guard page, so an overrun past its end faults, and a freed
 * mapping is kept for the next big block that fits. The library's own
 * buffers grow by realloc and stay with ASan. Single-threaded use. */
#ifndef MLOPS_FUZZ_BIGALLOC_H
#define MLOPS_FUZZ_BIGALLOC_H

#include "fuzz_common.h"

mlops_env *big_env_new(fz_alloc *a);

#endif

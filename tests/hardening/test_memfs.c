/* SPDX-License-Identifier: MIT */
/* The in-memory file system of the fuzz targets (tests/fuzz/memfs.c) is
 * only useful if the file backend behaves on it as on a real disk: run the
 * store conformance suite with the file backend over memfs. */
#include <stdio.h>

#include "conformance.h"
#include "memfs.h"
#include "store/store_internal.h"

static memfs *fs;

static mlops_status open_memfs(mlops_store **out, mlops_env *env, void *ctx, const char *name,
                               int fresh)
{
    (void)ctx;
    (void)fresh; /* names are unique per test; a reopen finds the same files */
    char uri[512];
    snprintf(uri, sizeof(uri), "file:/stores/%s", name);
    return mlops__store_open_io(out, env, uri, NULL, memfs_io(fs));
}

int main(void)
{
    fs = memfs_new();
    const mlops__io *io = memfs_io(fs);
    if (io->mkdir(io->payload, AT_FDCWD, "/stores", 0755) != 0)
        return 1;
    static const conf_backend b = {"file", open_memfs, NULL, CONF_PERSISTENT};
    int rc = tu_run(conf_suite(&b));
    memfs_free(fs);
    return rc;
}

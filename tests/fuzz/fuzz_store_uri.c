/* SPDX-License-Identifier: MIT */
/* Fuzz store URIs and options (N1-N5, N7, N12): mlops_store_open() on
 * arbitrary strings with arbitrary options. File paths resolve in an
 * in-memory file system behind the file backend's I/O table (memfs.h),
 * emptied for every input, so any path may be tried (absolute, "..", long,
 * odd bytes) without touching the real disk, and an open costs
 * microseconds. Server URIs (postgres, redis) are not opened. Checked:
 * every URI gives a documented status; status and handle agree; an opened
 * store takes a put and reads it back (or refuses the put with a
 * documented status when read-only); close frees every allocation and
 * closes every descriptor the backend opened. */
#include "fuzz_common.h"
#include "memfs.h"
#include "store/store_internal.h"

static bool server(const char *uri)
{
    /* servers are reached over the network: not for a fuzzer */
    return strstr(uri, "://") != NULL && strncmp(uri, "file://", 7) != 0 &&
           strncmp(uri, "mem://", 6) != 0 &&
           (strncmp(uri, "postgres", 8) == 0 || strncmp(uri, "redis", 5) == 0);
}

static bool documented(mlops_status st)
{
    switch (st) {
    case MLOPS_OK:
    case MLOPS_E_INVALID:
    case MLOPS_E_UNSUPPORTED:
    case MLOPS_E_NOTFOUND:
    case MLOPS_E_VERSION:
    case MLOPS_E_CORRUPT:
    case MLOPS_E_BUSY:
    case MLOPS_E_IO:
    case MLOPS_E_TOOBIG:
        return true;
    default:
        return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* made and freed within the execution: libFuzzer re-runs (and leak
     * checks) every input that ends with more mallocs than frees */
    memfs *mfs = memfs_new();
    fz_in in = {data, size, 0};
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    uint8_t ctl = fz_u8(&in);
    if (ctl & 1) {
        o.version = fz_u8(&in) % 4;
        o.sync = fz_u8(&in) % 5;
        o.flags = fz_u8(&in) & 7;
        o.reserved = (ctl & 2) ? fz_u8(&in) : 0;
        o.lock_timeout_ms = (ctl & 4) ? -1 : 50;
    } else {
        o.lock_timeout_ms = 50;
    }
    size_t n = 0;
    const uint8_t *rest = fz_bytes(&in, 8192, &n);
    char *uri = malloc(n + 1);
    if (uri == NULL)
        abort();
    memcpy(uri, rest, n);
    uri[n] = '\0';

    if (!server(uri)) {
        fz_alloc a = {0};
        mlops_env *env = fz_env_new(&a);
        mlops_store *s = (mlops_store *)(uintptr_t)1;
        mlops_status st = mlops__store_open_io(&s, env, uri, (ctl & 8) ? NULL : &o,
                                               memfs_io(mfs));
        FUZZ_CHECK(documented(st), "open gave %d", st);
        FUZZ_CHECK((st == MLOPS_OK) == (s != NULL), "handle and status disagree");
        if (st == MLOPS_OK) {
            mlops_bytes v;
            static const char key[] = "fuzz-key";
            mlops_status pst = mlops_store_put(s, key, sizeof(key) - 1, "v", 1);
            if (pst == MLOPS_OK) {
                st = mlops_store_get(&v, NULL, s, key, sizeof(key) - 1);
                FUZZ_CHECK(st == MLOPS_OK && v.len == 1 && v.data[0] == 'v', "read back %d",
                           st);
                mlops_bytes_free(&v);
            } else {
                FUZZ_CHECK(pst == MLOPS_E_INVALID || pst == MLOPS_E_IO ||
                               pst == MLOPS_E_BUSY,
                           "put gave %d", pst);
            }
            mlops_store_close(s);
        }
        mlops_env_free(env);
        FUZZ_CHECK(atomic_load(&a.live) == 0, "%ld blocks leaked", atomic_load(&a.live));
        FUZZ_CHECK(memfs_open_fds(mfs) == 0, "%zu descriptors left open", memfs_open_fds(mfs));
    }
    free(uri);
    memfs_free(mfs);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* The smallest host program: check that header and library agree, open an
 * in-memory store, write and read a key. Built by scripts/test-consumers
 * through pkg-config and as a meson subproject. */
#include <stdio.h>
#include <string.h>

#include <mlops/mlops.h>

int main(void)
{
    uint32_t v = mlops_version();
    if (v / 10000 != MLOPS_VERSION_MAJOR || v < MLOPS_VERSION_NUMBER) {
        fprintf(stderr, "libmlops %s is older than the headers (%s)\n", mlops_version_string(),
                MLOPS_VERSION_STRING);
        return 1;
    }
    mlops_store *store = NULL;
    mlops_status st = mlops_store_open(&store, NULL, "mem:", NULL);
    if (st != MLOPS_OK) {
        fprintf(stderr, "cannot open store: %s\n", mlops_error_message());
        return 1;
    }
    st = mlops_store_put(store, "greeting", 8, "hello", 5);
    mlops_bytes value = {0};
    if (st == MLOPS_OK)
        st = mlops_store_get(&value, NULL, store, "greeting", 8);
    if (st != MLOPS_OK) {
        fprintf(stderr, "store failed: %s\n", mlops_error_message());
        mlops_store_close(store);
        return 1;
    }
    printf("libmlops %s: greeting=%.*s\n", mlops_version_string(), (int)value.len,
           (const char *)value.data);
    int ok = value.len == 5 && memcmp(value.data, "hello", 5) == 0;
    mlops_bytes_free(&value);
    mlops_store_close(store);
    return ok ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Regression tests for bugs the hardening work found in other modules.
 * Each runs as its own meson test; while a bug is open its test is marked
 * should_fail, so the suite stays green and turns red ("unexpected pass")
 * when the bug is fixed, and the mark is then dropped.
 *   test_known_bugs <name>   exits 0 when the behaviour is correct. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "testutil.h"

/* store.c, mlops_store_open() (fixed): mlops_store_options.reserved is
 * documented "must be 0" but a non-zero value was accepted, so a later
 * version could not give the field a meaning (STYLE.md §5). */
static int store_options_reserved(void)
{
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.reserved = 5;
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, "mem:", &o);
    mlops_store_close(s);
    printf("reserved=5 gave %s\n", mlops_status_name(st));
    return st == MLOPS_E_INVALID ? 0 : 1;
}

/* src/core/error.c, mlops__error() and mlops_error_set() (fixed): the
 * message was formatted straight into the thread's buffer, so a caller that
 * wraps the previous message ("...: %s", mlops_error_message()) passed an
 * overlapping source to vsnprintf (undefined; glibc lost the inner text;
 * valgrind reports it). Seen from src/store/file/blob.c and src/run/run.c. */
static int error_wraps_previous(void)
{
    mlops_error_set(MLOPS_E_NOMEM, "out of memory");
    mlops__error(MLOPS_E_CORRUPT, "blob 'x' does not decompress: %s", mlops_error_message());
    printf("wrapped message: '%s'\n", mlops_error_message());
    if (strcmp(mlops_error_message(), "blob 'x' does not decompress: out of memory") != 0)
        return 1;
    mlops_error_set(MLOPS_E_IO, "abc");
    mlops_error_set(MLOPS_E_IO, mlops_error_message());
    return strcmp(mlops_error_message(), "abc") == 0 ? 0 : 1;
}

static const struct {
    const char *name;
    int (*fn)(void);
} bugs[] = {
    {"store_options_reserved", store_options_reserved},
    {"error_wraps_previous", error_wraps_previous},
};

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    for (size_t i = 0; i < sizeof(bugs) / sizeof(bugs[0]); i++)
        if (strcmp(argv[1], bugs[i].name) == 0)
            return bugs[i].fn();
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}

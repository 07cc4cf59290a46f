/* SPDX-License-Identifier: MIT */
/* Regression tests for bugs found by the hardening work and not yet fixed
 * in their module. Each runs as its own meson test marked should_fail, so
 * the suite stays green while the bug is open and turns red ("unexpected
 * pass") when it is fixed: then move the case into the catalogue.
 *   test_known_bugs <name>   exits 0 when the behaviour is correct. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* store.c, mlops_store_open(): mlops_store_options.reserved is documented
 * "must be 0" but a non-zero value is accepted, so a later version cannot
 * give the field a meaning (STYLE.md §5). Want MLOPS_E_INVALID. */
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

static const struct {
    const char *name;
    int (*fn)(void);
} bugs[] = {
    {"store_options_reserved", store_options_reserved},
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

/* SPDX-License-Identifier: MIT */
/* A main() for builds without libFuzzer: run the target once on every file
 * named on the command line (directories are walked, one level). Used by the
 * normal test suite to replay the committed corpora under gcc, ASan and
 * valgrind. Prints FIGURE fuzz_replay_<name>=<files>. */
#include <dirent.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static long replayed;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL)
                abort();
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    /* an exact-size copy, so ASan catches a read one past the end */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL)
        abort();
    if (len)
        memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    replayed++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    if (d == NULL)
        return 1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(*names));
            if (names == NULL)
                abort();
        }
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        if (names[n] == NULL)
            abort();
        snprintf(names[n], l, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), compare_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    const char *name = "target";
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--name") == 0) {
        name = argv[2];
        first = 3;
    }
    for (int i = first; i < argc; i++)
        rc |= run_path(argv[i]);
    if (replayed == 0) {
        fprintf(stderr, "no input files replayed\n");
        rc = 1;
    }
    printf("FIGURE fuzz_replay_%s=%ld\n", name, replayed);
    return rc;
}

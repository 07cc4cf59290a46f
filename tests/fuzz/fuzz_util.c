/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"

static char scratch[4096];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fz_rmtree(const char *path)
{
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void fz_clear_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    char sub[8192];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        fz_rmtree(sub);
    }
    closedir(d);
}

static void cleanup(void)
{
    if (scratch[0])
        fz_rmtree(scratch);
}

char *fz_scratch_dir(void)
{
    if (scratch[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(scratch, sizeof(scratch), "%s/mlops-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(scratch) == NULL)
            abort();
        atexit(cleanup);
    }
    return scratch;
}

/* SPDX-License-Identifier: MIT */
#include "fileutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlops/mlops.h"

void fu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

uint8_t *fu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t hash_tree(const char *path, uint64_t h)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return h ^ 0x1234;
    h = mlops_hash64(&st.st_mode, sizeof(st.st_mode), h);
    if (S_ISREG(st.st_mode)) {
        size_t n = 0;
        uint8_t *p = fu_read_file(path, &n);
        h = mlops_hash64(p, n, h);
        free(p);
    } else if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        char **names = NULL;
        size_t k = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            names = realloc(names, (k + 1) * sizeof(char *));
            names[k++] = strdup(de->d_name);
        }
        if (d)
            closedir(d);
        if (k > 1)
            qsort(names, k, sizeof(char *), cmpstr);
        for (size_t i = 0; i < k; i++) {
            char sub[4096];
            snprintf(sub, sizeof(sub), "%s/%s", path, names[i]);
            h = mlops_hash64(names[i], strlen(names[i]), h);
            h = hash_tree(sub, h);
            free(names[i]);
        }
        free(names);
    }
    return h;
}

uint64_t fu_tree_hash(const char *path)
{
    return hash_tree(path, 0);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void fu_set_super_versions(const char *dir, uint32_t rv, uint32_t wv)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/superblock", dir);
    size_t n = 0;
    uint8_t *b = fu_read_file(p, &n);
    ck_assert(b != NULL && n == 64);
    put32(b + 8, rv);
    put32(b + 12, wv);
    uint64_t c = mlops_hash64(b, 56, 0);
    for (int i = 0; i < 8; i++)
        b[56 + i] = (uint8_t)(c >> (8 * i));
    fu_write_file(p, b, 64);
    free(b);
}

int fu_count_logs(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "log-", 4) == 0;
    if (d)
        closedir(d);
    return n;
}

const char *fu_log_path(const char *dir)
{
    static char p[4096];
    DIR *d = opendir(dir);
    struct dirent *de;
    p[0] = 0;
    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "log-", 4) == 0 && strlen(de->d_name) == 20)
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    }
    if (d)
        closedir(d);
    return p;
}

void fu_copy(const char *from, const char *to)
{
    size_t n = 0;
    uint8_t *b = fu_read_file(from, &n);
    ck_assert(b != NULL);
    fu_write_file(to, b, n);
    free(b);
}

/* SPDX-License-Identifier: MIT */
/* Artifacts (content-addressed blobs under logical paths), file hashing and
 * the system tags and environment recorded when a run starts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "run/run_internal.h"

#define READ_CHUNK (256 * 1024)
#define MAX_DIR_DEPTH 32

mlops_status mlops__run_hash_file(mlops_hash128 *out, uint64_t *size_out, const mlops_env *env,
                                  const char *path);
mlops_status mlops__run_system_tags(mlops__buf *keys, mlops__buf *vals, size_t *n,
                                    const mlops_env *env, uint32_t flags);

static void key_art(runkey *k, const char *run_id, const char *path)
{
    k->n = 0;
    mlops__run_key_lit(k, "t/a/");
    mlops__run_key_raw(k, run_id, MLOPS_RUN_ID_LEN);
    mlops__run_key_raw(k, "/", 1);
    mlops__run_key_lp(k, path, strlen(path));
}

static mlops_status check_not_deleted(mlops_run *run)
{
    return mlops__run_check_writable(run);
}

static mlops_status put_artifact(mlops_run *run, const char *path, const mlops_hash128 *h,
                                 uint64_t size)
{
    mlops_env *env = mlops__run_env(run);
    mlops__rec_writer w;
    mlops__rec_writer_init(&w, env, 1, RUN_REC_ARTIFACT);
    mlops__rec_put_bytes(&w, 1, h->bytes, 16);
    mlops__rec_put_u64(&w, 2, size);
    mlops__rec_put_i64(&w, 3, mlops__now_ms(env));
    mlops_status st = mlops__rec_writer_finish(&w);
    runkey k;
    key_art(&k, mlops_run_id(run), path);
    if (st == MLOPS_OK)
        st = mlops_store_put(mlops__run_store(run), k.b, k.n, w.buf.data, w.buf.len);
    mlops__rec_writer_free(&w);
    return st;
}

mlops_status mlops_run_log_artifact_bytes(mlops_run *run, const char *path, const void *data,
                                          size_t len)
{
    if (run == NULL || (data == NULL && len > 0))
        return mlops__error(MLOPS_E_INVALID, "log_artifact_bytes: NULL argument");
    mlops_status st = mlops__run_check_artifact_path(path);
    if (st == MLOPS_OK)
        st = check_not_deleted(run);
    mlops_hash128 h;
    if (st == MLOPS_OK)
        st = mlops_store_blob_put(&h, mlops__run_store(run), data, len);
    if (st == MLOPS_OK)
        st = put_artifact(run, path, &h, len);
    return st;
}

/* Open a local file for reading, refusing anything but a regular file (N16). */
static mlops_status open_regular(int *fd_out, struct stat *sb, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return mlops__error(errno == ENOENT ? MLOPS_E_NOTFOUND : MLOPS_E_IO,
                            "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, sb) != 0) {
        int e = errno;
        close(fd);
        return mlops__error(MLOPS_E_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(sb->st_mode)) {
        close(fd);
        return mlops__error(MLOPS_E_INVALID, "'%s' is not a regular file", path);
    }
    *fd_out = fd;
    return MLOPS_OK;
}

static mlops_status read_some(int fd, uint8_t *buf, size_t cap, size_t *n, const char *path)
{
    for (;;) {
        ssize_t k = read(fd, buf, cap);
        if (k >= 0) {
            *n = (size_t)k;
            return MLOPS_OK;
        }
        if (errno != EINTR)
            return mlops__error(MLOPS_E_IO, "cannot read '%s': %s", path, strerror(errno));
    }
}

mlops_status mlops__run_hash_file(mlops_hash128 *out, uint64_t *size_out, const mlops_env *env,
                                  const char *path)
{
    int fd;
    struct stat sb;
    mlops_status st = open_regular(&fd, &sb, path);
    if (st != MLOPS_OK)
        return st;
    mlops__hash_stream *hs = NULL;
    uint8_t *buf = mlops__malloc(env, READ_CHUNK);
    st = buf ? mlops__hash_stream_new(&hs, env) : mlops__nomem();
    uint64_t total = 0;
    while (st == MLOPS_OK) {
        size_t n;
        st = read_some(fd, buf, READ_CHUNK, &n, path);
        if (st != MLOPS_OK || n == 0)
            break;
        mlops__hash_stream_update(hs, buf, n);
        total += n;
    }
    if (st == MLOPS_OK && total != (uint64_t)sb.st_size)
        st = mlops__error(MLOPS_E_IO, "'%s' changed size while it was read (%llu bytes, then "
                          "%llu)", path, (unsigned long long)sb.st_size,
                          (unsigned long long)total);
    if (st == MLOPS_OK) {
        mlops__hash_stream_digest128(hs, out);
        if (size_out)
            *size_out = total;
    }
    mlops__hash_stream_free(hs);
    mlops__free(env, buf);
    close(fd);
    return st;
}

static mlops_status log_file(mlops_run *run, const char *local, const char *path)
{
    mlops_status st = mlops__run_check_artifact_path(path);
    if (st != MLOPS_OK)
        return st;
    int fd;
    struct stat sb;
    st = open_regular(&fd, &sb, local);
    if (st != MLOPS_OK)
        return st;
    mlops_env *env = mlops__run_env(run);
    mlops_blob_writer *w = NULL;
    uint8_t *buf = mlops__malloc(env, READ_CHUNK);
    st = buf ? mlops_blob_writer_open(&w, mlops__run_store(run)) : mlops__nomem();
    uint64_t total = 0;
    while (st == MLOPS_OK) {
        size_t n;
        st = read_some(fd, buf, READ_CHUNK, &n, local);
        if (st != MLOPS_OK || n == 0)
            break;
        st = mlops_blob_writer_write(w, buf, n);
        total += n;
    }
    if (st == MLOPS_OK && total != (uint64_t)sb.st_size)
        st = mlops__error(MLOPS_E_IO, "'%s' changed size while it was read (%llu bytes, then "
                          "%llu)", local, (unsigned long long)sb.st_size,
                          (unsigned long long)total);
    mlops_hash128 h;
    if (st == MLOPS_OK)
        st = mlops_blob_writer_commit(&h, w);
    if (st == MLOPS_OK)
        st = put_artifact(run, path, &h, total);
    mlops_blob_writer_free(w);
    mlops__free(env, buf);
    close(fd);
    return st;
}

static mlops_status join(char *out, size_t cap, const char *a, const char *b)
{
    int n = (a == NULL || a[0] == '\0') ? snprintf(out, cap, "%s", b)
                                        : snprintf(out, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return mlops__error(MLOPS_E_INVALID, "path '%s/%s' is too long", a ? a : "", b);
    return MLOPS_OK;
}

static mlops_status log_dir(mlops_run *run, const char *local, const char *prefix, int depth)
{
    if (depth > MAX_DIR_DEPTH)
        return mlops__error(MLOPS_E_INVALID, "'%s' is nested more than %d directories deep",
                            local, MAX_DIR_DEPTH);
    DIR *d = opendir(local);
    if (d == NULL)
        return mlops__error(MLOPS_E_IO, "cannot open directory '%s': %s", local,
                            strerror(errno));
    mlops_status st = MLOPS_OK;
    struct dirent *de;
    char *lp = malloc(4096), *ap = malloc(RUN_MAX_ARTIFACT_PATH + 2);
    if (lp == NULL || ap == NULL)
        st = mlops__nomem();
    while (st == MLOPS_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        st = join(lp, 4096, local, de->d_name);
        if (st == MLOPS_OK)
            st = join(ap, RUN_MAX_ARTIFACT_PATH + 2, prefix, de->d_name);
        struct stat sb;
        if (st == MLOPS_OK && stat(lp, &sb) != 0)
            st = mlops__error(MLOPS_E_IO, "cannot stat '%s': %s", lp, strerror(errno));
        if (st != MLOPS_OK)
            break;
        if (S_ISDIR(sb.st_mode))
            st = log_dir(run, lp, ap, depth + 1);
        else if (S_ISREG(sb.st_mode))
            st = log_file(run, lp, ap);
        /* sockets, FIFOs and devices inside a directory are skipped */
    }
    free(lp);
    free(ap);
    closedir(d);
    return st;
}

mlops_status mlops_run_log_artifact(mlops_run *run, const char *local_path,
                                    const char *artifact_path)
{
    if (run == NULL || local_path == NULL)
        return mlops__error(MLOPS_E_INVALID, "log_artifact: NULL argument");
    mlops_status st = check_not_deleted(run);
    if (st != MLOPS_OK)
        return st;
    struct stat sb;
    if (stat(local_path, &sb) != 0)
        return mlops__error(errno == ENOENT ? MLOPS_E_NOTFOUND : MLOPS_E_IO,
                            "cannot stat '%s': %s", local_path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) {
        if (artifact_path != NULL && artifact_path[0] != '\0') {
            st = mlops__run_check_artifact_path(artifact_path);
            if (st != MLOPS_OK)
                return st;
        }
        return log_dir(run, local_path, artifact_path, 0);
    }
    if (!S_ISREG(sb.st_mode))
        return mlops__error(MLOPS_E_INVALID, "'%s' is neither a regular file nor a directory",
                            local_path);
    if (artifact_path == NULL || artifact_path[0] == '\0') {
        const char *slash = strrchr(local_path, '/');
        artifact_path = slash ? slash + 1 : local_path;
    }
    return log_file(run, local_path, artifact_path);
}

static mlops_status art_get(mlops_hash128 *h, uint64_t *size, mlops_run *run, const char *path)
{
    runkey k;
    key_art(&k, mlops_run_id(run), path);
    mlops_bytes v = {0};
    mlops_status st = mlops_store_get(&v, NULL, mlops__run_store(run), k.b, k.n);
    if (st == MLOPS_E_NOTFOUND)
        return mlops__error(MLOPS_E_NOTFOUND, "run %s has no artifact '%s'", mlops_run_id(run),
                            path);
    if (st != MLOPS_OK)
        return st;
    mlops__rec_reader r;
    mlops__rec_field f;
    bool have = false;
    st = mlops__rec_reader_init(&r, v.data, v.len, 1, RUN_REC_ARTIFACT, "artifact");
    while (st == MLOPS_OK && (st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 1 && f.wire == MLOPS__REC_WIRE_BYTES && f.n == 16) {
            memcpy(h->bytes, f.p, 16);
            have = true;
        } else if (f.tag == 2) {
            *size = f.u;
        }
    }
    if (st == MLOPS_E_NOTFOUND)
        st = have ? MLOPS_OK : mlops__error(MLOPS_E_CORRUPT, "artifact record without a hash");
    mlops_bytes_free(&v);
    return st;
}

mlops_status mlops_run_artifact_stat(mlops_hash128 *hash_out, uint64_t *size_out,
                                     mlops_run *run, const char *path)
{
    if (run == NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact_stat: run is NULL");
    mlops_status st = mlops__run_check_artifact_path(path);
    if (st != MLOPS_OK)
        return st;
    mlops_hash128 h;
    uint64_t size = 0;
    st = art_get(&h, &size, run, path);
    if (st == MLOPS_OK) {
        if (hash_out)
            *hash_out = h;
        if (size_out)
            *size_out = size;
    }
    return st;
}

mlops_status mlops_run_artifact_read(mlops_bytes *out, mlops_run *run, const char *path,
                                     uint64_t max_size)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact_read: NULL argument");
    mlops_status st = mlops__run_check_artifact_path(path);
    if (st != MLOPS_OK)
        return st;
    mlops_hash128 h;
    uint64_t size = 0;
    st = art_get(&h, &size, run, path);
    if (st == MLOPS_OK)
        st = mlops_store_blob_get(out, mlops__run_store(run), &h, max_size);
    return st;
}

/* ---- listing ---- */

typedef struct art_item {
    char *path;
    uint64_t size;
    mlops_hash128 hash;
} art_item;

struct mlops_artifact_list {
    mlops_env *env;
    art_item *items;
    size_t n, cap;
    const char *prefix;
    size_t prefix_len;
    mlops_status st;
};

static int art_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  uint64_t version, void *payload)
{
    (void)version;
    mlops_artifact_list *l = payload;
    size_t off = 4 + MLOPS_RUN_ID_LEN + 1;
    uint64_t plen;
    size_t m = key_len > off ? mlops__varint_get(key + off, key_len - off, &plen) : 0;
    if (m == 0 || off + m + plen != key_len) {
        l->st = mlops__error(MLOPS_E_CORRUPT, "malformed artifact key");
        return 1;
    }
    const char *path = (const char *)key + off + m;
    if (l->prefix_len > 0) {
        bool match = plen >= l->prefix_len && memcmp(path, l->prefix, l->prefix_len) == 0 &&
                     (plen == l->prefix_len || path[l->prefix_len] == '/');
        if (!match)
            return 0;
    }
    art_item it = {0};
    mlops__rec_reader r;
    mlops__rec_field f;
    l->st = mlops__rec_reader_init(&r, value, value_len, 1, RUN_REC_ARTIFACT, "artifact");
    while (l->st == MLOPS_OK && (l->st = mlops__rec_next(&r, &f)) == MLOPS_OK) {
        if (f.tag == 1 && f.wire == MLOPS__REC_WIRE_BYTES && f.n == 16)
            memcpy(it.hash.bytes, f.p, 16);
        else if (f.tag == 2)
            it.size = f.u;
    }
    if (l->st != MLOPS_E_NOTFOUND)
        return 1;
    l->st = mlops__reserve(l->env, (void **)&l->items, &l->cap, l->n + 1, sizeof(art_item));
    if (l->st != MLOPS_OK)
        return 1;
    it.path = mlops__strndup(l->env, path, (size_t)plen);
    if (it.path == NULL) {
        l->st = mlops__nomem();
        return 1;
    }
    l->items[l->n++] = it;
    return 0;
}

static int art_cmp(const void *a, const void *b)
{
    return strcmp(((const art_item *)a)->path, ((const art_item *)b)->path);
}

mlops_status mlops_artifact_list_open(mlops_artifact_list **out, mlops_run *run,
                                      const char *prefix)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || run == NULL)
        return mlops__error(MLOPS_E_INVALID, "artifact_list_open: NULL argument");
    if (prefix != NULL && prefix[0] != '\0') {
        mlops_status st = mlops__run_check_artifact_path(prefix);
        if (st != MLOPS_OK)
            return st;
    }
    mlops_env *env = mlops__run_env(run);
    mlops_artifact_list *l = mlops__calloc(env, 1, sizeof(*l));
    if (l == NULL)
        return mlops__nomem();
    l->env = mlops__env_ref(env);
    l->prefix = prefix ? prefix : "";
    l->prefix_len = strlen(l->prefix);
    runkey k = {.n = 0};
    mlops__run_key_lit(&k, "t/a/");
    mlops__run_key_raw(&k, mlops_run_id(run), MLOPS_RUN_ID_LEN);
    mlops__run_key_raw(&k, "/", 1);
    mlops_status st = mlops_store_scan_prefix(mlops__run_store(run), k.b, k.n, art_cb, l);
    if (st == MLOPS_E_CALLBACK)
        st = l->st;
    l->prefix = NULL;
    if (st != MLOPS_OK) {
        mlops_artifact_list_free(l);
        return st;
    }
    if (l->n > 1)
        qsort(l->items, l->n, sizeof(art_item), art_cmp);
    *out = l;
    return MLOPS_OK;
}

size_t mlops_artifact_list_count(const mlops_artifact_list *list)
{
    return list ? list->n : 0;
}

const char *mlops_artifact_list_path(const mlops_artifact_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].path : NULL;
}

uint64_t mlops_artifact_list_size(const mlops_artifact_list *list, size_t i)
{
    return list && i < list->n ? list->items[i].size : 0;
}

const mlops_hash128 *mlops_artifact_list_hash(const mlops_artifact_list *list, size_t i)
{
    return list && i < list->n ? &list->items[i].hash : NULL;
}

void mlops_artifact_list_free(mlops_artifact_list *list)
{
    if (list == NULL)
        return;
    mlops_env *env = list->env;
    for (size_t i = 0; i < list->n; i++)
        mlops__free(env, list->items[i].path);
    mlops__free(env, list->items);
    mlops__free(env, list);
    mlops__env_unref(env);
}

/* ---- system tags and environment ---- */

static mlops_status add_kv(mlops__buf *keys, mlops__buf *vals, size_t *n, const char *k,
                           const char *v)
{
    /* Values are tags: trim to the tag limit, keep valid UTF-8 only. */
    size_t vl = strlen(v);
    if (vl > 1000)
        vl = 1000;
    while (vl > 0 && !mlops__utf8_valid(v, vl))
        vl--;
    mlops_status st = mlops__buf_append(keys, k, strlen(k) + 1);
    if (st == MLOPS_OK)
        st = mlops__buf_append(vals, v, vl);
    if (st == MLOPS_OK)
        st = mlops__buf_putc(vals, 0);
    if (st == MLOPS_OK)
        (*n)++;
    return st;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* Read the first line of a small file. */
static bool read_line(char *out, size_t cap, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    if (ok)
        trim(out);
    return ok;
}

/* snprintf that reports truncation (so callers give up cleanly). */
static bool fmt_ok(int n, size_t cap)
{
    return n >= 0 && (size_t)n < cap;
}

static bool is_sha(const char *s)
{
    size_t n = strlen(s);
    if (n != 40 && n != 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* The commit checked out in the git repository containing the working
 * directory, read from .git without running git. */
static bool git_commit(char *out, size_t cap)
{
    char dir[4096];
    if (getcwd(dir, sizeof(dir)) == NULL)
        return false;
    char gitdir[4200], path[4400], line[512];
    for (;;) {
        snprintf(gitdir, sizeof(gitdir), "%s/.git", dir);
        struct stat sb;
        if (stat(gitdir, &sb) == 0) {
            if (S_ISREG(sb.st_mode)) { /* worktree or submodule: "gitdir: PATH" */
                if (!read_line(line, sizeof(line), gitdir) || strncmp(line, "gitdir: ", 8) != 0)
                    return false;
                bool ok = line[8] == '/'
                              ? fmt_ok(snprintf(gitdir, sizeof(gitdir), "%s", line + 8),
                                       sizeof(gitdir))
                              : fmt_ok(snprintf(gitdir, sizeof(gitdir), "%s/%s", dir, line + 8),
                                       sizeof(gitdir));
                if (!ok)
                    return false;
            }
            break;
        }
        char *slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir)
            return false;
        *slash = '\0';
    }
    if (!fmt_ok(snprintf(path, sizeof(path), "%s/HEAD", gitdir), sizeof(path)))
        return false;
    if (!read_line(line, sizeof(line), path))
        return false;
    if (is_sha(line)) {
        snprintf(out, cap, "%s", line);
        return true;
    }
    if (strncmp(line, "ref: ", 5) != 0)
        return false;
    char ref[256];
    if (!fmt_ok(snprintf(ref, sizeof(ref), "%s", line + 5), sizeof(ref)))
        return false;
    /* a linked worktree keeps refs in the common dir */
    char common[4200];
    bool ok = fmt_ok(snprintf(path, sizeof(path), "%s/commondir", gitdir), sizeof(path));
    if (ok && read_line(line, sizeof(line), path)) {
        if (line[0] == '/')
            ok = fmt_ok(snprintf(common, sizeof(common), "%s", line), sizeof(common));
        else
            ok = fmt_ok(snprintf(common, sizeof(common), "%s/%s", gitdir, line), sizeof(common));
    } else {
        ok = fmt_ok(snprintf(common, sizeof(common), "%s", gitdir), sizeof(common));
    }
    if (!ok)
        return false;
    const char *dirs[2] = {gitdir, common};
    for (int i = 0; i < 2; i++) {
        if (!fmt_ok(snprintf(path, sizeof(path), "%s/%s", dirs[i], ref), sizeof(path)))
            continue;
        if (read_line(line, sizeof(line), path) && is_sha(line)) {
            snprintf(out, cap, "%s", line);
            return true;
        }
    }
    if (!fmt_ok(snprintf(path, sizeof(path), "%s/packed-refs", common), sizeof(path)))
        return false;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool found = false;
    size_t rl = strlen(ref);
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        trim(line);
        if (strlen(line) > 41 && line[40] == ' ' && strcmp(line + 41, ref) == 0 &&
            strlen(line + 41) == rl) {
            line[40] = '\0';
            if (is_sha(line)) {
                snprintf(out, cap, "%s", line);
                found = true;
            }
        }
    }
    fclose(f);
    return found;
}

static void cpu_model(char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL)
        return;
    char line[512];
    for (int i = 0; i < 64 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c != NULL) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                trim(c);
                snprintf(out, cap, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

mlops_status mlops__run_system_tags(mlops__buf *keys, mlops__buf *vals, size_t *n,
                                    const mlops_env *env, uint32_t flags)
{
    (void)env;
    mlops_status st = MLOPS_OK;
    char buf[1024];
    if (!(flags & MLOPS_RUN_NO_SYSTEM_TAGS)) {
        const char *user = getenv("USER");
        struct passwd pw, *res = NULL;
        char pwbuf[1024];
        if ((user == NULL || user[0] == '\0') &&
            getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
            user = res->pw_name;
        if (user != NULL && user[0] != '\0')
            st = add_kv(keys, vals, n, "mlops.user", user);
        ssize_t k = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (st == MLOPS_OK && k > 0) {
            buf[k] = '\0';
            st = add_kv(keys, vals, n, "mlops.source.name", buf);
        }
        if (st == MLOPS_OK)
            st = add_kv(keys, vals, n, "mlops.source.type", "LOCAL");
        if (st == MLOPS_OK && git_commit(buf, sizeof(buf)))
            st = add_kv(keys, vals, n, "mlops.source.git.commit", buf);
    }
    if (!(flags & MLOPS_RUN_NO_ENVIRONMENT)) {
        if (st == MLOPS_OK)
            st = add_kv(keys, vals, n, "mlops.env.libmlops", mlops_version_string());
#if defined(__clang__)
        snprintf(buf, sizeof(buf), "clang %s", __clang_version__);
#elif defined(__GNUC__)
        snprintf(buf, sizeof(buf), "gcc %s", __VERSION__);
#else
        snprintf(buf, sizeof(buf), "unknown");
#endif
        if (st == MLOPS_OK)
            st = add_kv(keys, vals, n, "mlops.env.compiler", buf);
        struct utsname u;
        if (st == MLOPS_OK && uname(&u) == 0) {
            st = add_kv(keys, vals, n, "mlops.env.os", u.sysname);
            if (st == MLOPS_OK)
                st = add_kv(keys, vals, n, "mlops.env.kernel", u.release);
            if (st == MLOPS_OK)
                st = add_kv(keys, vals, n, "mlops.env.machine", u.machine);
            if (st == MLOPS_OK)
                st = add_kv(keys, vals, n, "mlops.env.hostname", u.nodename);
        }
        cpu_model(buf, sizeof(buf));
        if (st == MLOPS_OK && buf[0] != '\0')
            st = add_kv(keys, vals, n, "mlops.env.cpu", buf);
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof(buf), "%ld", ncpu);
        if (st == MLOPS_OK && ncpu > 0)
            st = add_kv(keys, vals, n, "mlops.env.cpu_count", buf);
    }
    return st;
}

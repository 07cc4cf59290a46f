/* SPDX-License-Identifier: MIT */
/* MLflow interchange: write and read the `mlruns` directory layout of
 * MLflow's file store (see docs/tracking.md). Names inside the layout come
 * from validated keys (no `..`, no leading `/`), so nothing is written
 * outside the destination directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/run_internal.h"

#define PATH_CAP 4096
#define MAX_FILE (64u * 1024u * 1024u)

static mlops_status mkdirs(const char *path)
{
    char tmp[PATH_CAP];
    size_t n = strlen(path);
    if (n >= sizeof(tmp))
        return mlops__error(MLOPS_E_INVALID, "path '%.100s...' is too long", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return mlops__error(MLOPS_E_IO, "cannot create directory '%s': %s", tmp,
                                    strerror(errno));
            tmp[i] = c;
        }
    }
    return MLOPS_OK;
}

static mlops_status write_file(const char *path, const void *data, size_t len)
{
    char dir[PATH_CAP];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        mlops_status st = mkdirs(dir);
        if (st != MLOPS_OK)
            return st;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return mlops__error(e == ENOSPC ? MLOPS_E_NOSPC : MLOPS_E_IO,
                                "cannot write '%s': %s", path, strerror(e));
        }
        p += k;
        len -= (size_t)k;
    }
    if (close(fd) != 0)
        return mlops__error(MLOPS_E_IO, "cannot write '%s': %s", path, strerror(errno));
    return MLOPS_OK;
}

static mlops_status path_join(char *out, const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", a, b);
    if (n < 0 || n >= PATH_CAP)
        return mlops__error(MLOPS_E_INVALID, "path '%.100s/%.100s' is too long", a, b);
    return MLOPS_OK;
}

/* YAML single-quoted scalar. */
static mlops_status yq(mlops__buf *b, const char *s)
{
    mlops_status st = mlops__buf_putc(b, '\'');
    for (; st == MLOPS_OK && *s; s++) {
        char c = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
        if (c == '\'')
            st = mlops__buf_putc(b, '\'');
        if (st == MLOPS_OK)
            st = mlops__buf_putc(b, (uint8_t)c);
    }
    if (st == MLOPS_OK)
        st = mlops__buf_append(b, "'\n", 2);
    return st;
}

static void fmt_f64(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "nan");
    else if (isinf(v))
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, cap, "%.17g", v);
}

static mlops_status export_experiment(mlops_store *store, const char *root, const char *exp_id,
                                      const char *abs_root)
{
    mlops_env *env = mlops_store_env(store);
    mlops__exp e;
    mlops_status st = mlops__run_exp_get(&e, store, exp_id);
    if (st != MLOPS_OK)
        return st;
    char dir[PATH_CAP], path[PATH_CAP];
    mlops__buf b;
    mlops__buf_init(&b, env);
    st = path_join(dir, root, exp_id);
    if (st == MLOPS_OK)
        st = path_join(path, dir, "meta.yaml");
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "artifact_location: file://%s/%s\ncreation_time: %lld\n"
                               "experiment_id: ", abs_root, exp_id, (long long)e.created);
    if (st == MLOPS_OK)
        st = yq(&b, exp_id);
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "last_update_time: %lld\nlifecycle_stage: %s\nname: ",
                               (long long)e.updated,
                               e.lifecycle == MLOPS_LIFECYCLE_DELETED ? "deleted" : "active");
    if (st == MLOPS_OK)
        st = yq(&b, e.name);
    if (st == MLOPS_OK)
        st = write_file(path, b.data, b.len);
    mlops__buf_free(&b);
    mlops__run_exp_clear(&e, env);
    return st;
}

static mlops_status export_run(mlops_store *store, const char *root, const char *abs_root,
                               const char *run_id)
{
    mlops_env *env = mlops_store_env(store);
    mlops_run_list *l = NULL;
    mlops_run *run = NULL;
    mlops_artifact_list *al = NULL;
    mlops__buf b;
    mlops__buf_init(&b, env);
    char rdir[PATH_CAP], path[PATH_CAP], sub[PATH_CAP];
    mlops_status st = mlops_run_list_get(&l, store, run_id);
    if (st == MLOPS_OK)
        st = mlops_run_open(&run, store, run_id);
    if (st != MLOPS_OK)
        goto out;
    const char *exp_id = mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_EXPERIMENT_ID);
    st = path_join(sub, root, exp_id);
    if (st == MLOPS_OK)
        st = path_join(rdir, sub, run_id);
    if (st != MLOPS_OK)
        goto out;
    uint32_t status, lc;
    int64_t start, end;
    mlops_run_list_info(&status, &lc, &start, &end, l, 0);
    st = mlops__buf_printf(&b, "artifact_uri: file://%s/%s/%s/artifacts\n", abs_root, exp_id,
                           run_id);
    if (st == MLOPS_OK) {
        if (status == MLOPS_RUN_RUNNING || status == MLOPS_RUN_SCHEDULED)
            st = mlops__buf_printf(&b, "end_time: null\n");
        else
            st = mlops__buf_printf(&b, "end_time: %lld\n", (long long)end);
    }
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "entry_point_name: ''\nexperiment_id: ");
    if (st == MLOPS_OK)
        st = yq(&b, exp_id);
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "lifecycle_stage: %s\nrun_id: %s\nrun_name: ",
                               lc == MLOPS_LIFECYCLE_DELETED ? "deleted" : "active", run_id);
    if (st == MLOPS_OK)
        st = yq(&b, mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_NAME));
    if (st == MLOPS_OK)
        st = mlops__buf_printf(&b, "run_uuid: %s\nsource_name: ''\nsource_type: 4\n"
                               "source_version: ''\nstart_time: %lld\nstatus: %u\ntags: []\n"
                               "user_id: ",
                               run_id, (long long)start, status);
    if (st == MLOPS_OK)
        st = yq(&b, mlops_run_list_text(l, 0, MLOPS_RUN_FIELD_USER));
    if (st == MLOPS_OK)
        st = path_join(path, rdir, "meta.yaml");
    if (st == MLOPS_OK)
        st = write_file(path, b.data, b.len);
    /* params and tags: one file each, the value without a newline */
    const uint32_t kinds[2] = {MLOPS_ITEM_PARAM, MLOPS_ITEM_TAG};
    const char *dirs[2] = {"params", "tags"};
    for (int k = 0; st == MLOPS_OK && k < 2; k++) {
        size_t n = mlops_run_list_item_count(l, 0, kinds[k]);
        for (size_t j = 0; st == MLOPS_OK && j < n; j++) {
            st = path_join(sub, rdir, dirs[k]);
            if (st == MLOPS_OK)
                st = path_join(path, sub, mlops_run_list_item_key(l, 0, kinds[k], j));
            const char *v = mlops_run_list_item_value(l, 0, kinds[k], j);
            if (st == MLOPS_OK)
                st = write_file(path, v, strlen(v));
        }
    }
    /* metrics: "timestamp value step" lines, the whole history */
    size_t nm = mlops_run_list_item_count(l, 0, MLOPS_ITEM_METRIC);
    for (size_t j = 0; st == MLOPS_OK && j < nm; j++) {
        const char *key = mlops_run_list_item_key(l, 0, MLOPS_ITEM_METRIC, j);
        mlops_metric_history *h = NULL;
        st = mlops_metric_history_open(&h, run, key, 0);
        b.len = 0;
        size_t cnt = mlops_metric_history_count(h);
        const mlops_metric_value *pts = mlops_metric_history_points(h);
        for (size_t i = 0; st == MLOPS_OK && i < cnt; i++) {
            char num[40];
            fmt_f64(num, sizeof(num), pts[i].value);
            st = mlops__buf_printf(&b, "%lld %s %lld\n", (long long)pts[i].timestamp_ms, num,
                                   (long long)pts[i].step);
        }
        mlops_metric_history_free(h);
        if (st == MLOPS_OK)
            st = path_join(sub, rdir, "metrics");
        if (st == MLOPS_OK)
            st = path_join(path, sub, key);
        if (st == MLOPS_OK)
            st = write_file(path, b.data ? (const void *)b.data : "", b.len);
    }
    /* artifacts, byte for byte */
    if (st == MLOPS_OK)
        st = mlops_artifact_list_open(&al, run, NULL);
    if (st == MLOPS_OK)
        st = path_join(sub, rdir, "artifacts");
    if (st == MLOPS_OK)
        st = mkdirs(sub);
    for (size_t j = 0; st == MLOPS_OK && j < mlops_artifact_list_count(al); j++) {
        mlops_bytes data = {0};
        const char *ap = mlops_artifact_list_path(al, j);
        st = mlops_run_artifact_read(&data, run, ap, 0);
        if (st == MLOPS_OK)
            st = path_join(path, sub, ap);
        if (st == MLOPS_OK)
            st = write_file(path, data.data ? (const void *)data.data : "", data.len);
        mlops_bytes_free(&data);
    }
out:
    mlops_artifact_list_free(al);
    mlops_run_close(run);
    mlops_run_list_free(l);
    mlops__buf_free(&b);
    return st;
}

mlops_status mlops_run_export_mlflow(size_t *count_out, mlops_store *store, const char *dir,
                                     const char *const *run_ids, size_t n_run_ids)
{
    if (count_out != NULL)
        *count_out = 0;
    if (store == NULL || dir == NULL || dir[0] == '\0' || (run_ids == NULL && n_run_ids > 0))
        return mlops__error(MLOPS_E_INVALID, "export_mlflow: NULL argument");
    mlops_status st = mkdirs(dir);
    if (st != MLOPS_OK)
        return st;
    char abs_root[PATH_CAP];
    if (realpath(dir, abs_root) == NULL)
        return mlops__error(MLOPS_E_IO, "cannot resolve '%s': %s", dir, strerror(errno));
    mlops_run_list *all = NULL;
    mlops_search_options so;
    mlops_search_options_init(&so, MLOPS_SEARCH_OPTIONS_VERSION);
    so.view = MLOPS_VIEW_ALL;
    so.max_results = RUN_MAX_SEARCH;
    size_t n = n_run_ids;
    if (run_ids == NULL) {
        st = mlops_run_search(&all, store, &so);
        n = mlops_run_list_count(all);
    }
    /* experiments first (every experiment of an exported run) */
    mlops_experiment_list *el = NULL;
    if (st == MLOPS_OK)
        st = mlops_experiment_list_open(&el, store, MLOPS_VIEW_ALL);
    for (size_t i = 0; st == MLOPS_OK && i < mlops_experiment_list_count(el); i++)
        st = export_experiment(store, dir, mlops_experiment_list_id(el, i), abs_root);
    mlops_experiment_list_free(el);
    size_t done = 0;
    for (size_t i = 0; st == MLOPS_OK && i < n; i++) {
        const char *id = run_ids ? run_ids[i] : mlops_run_list_text(all, i, MLOPS_RUN_FIELD_ID);
        st = export_run(store, dir, abs_root, id);
        if (st == MLOPS_OK)
            done++;
    }
    mlops_run_list_free(all);
    if (count_out != NULL)
        *count_out = done;
    return st;
}

/* ---- import ---- */

static mlops_status read_file(mlops__buf *out, const char *path)
{
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return mlops__error(errno == ENOENT ? MLOPS_E_NOTFOUND : MLOPS_E_IO,
                            "cannot read '%s': %s", path, strerror(errno));
    struct stat sb;
    mlops_status st = MLOPS_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = mlops__error(MLOPS_E_INVALID, "'%s' is not a regular file", path);
    else if ((uint64_t)sb.st_size > MAX_FILE)
        st = mlops__error(MLOPS_E_TOOBIG, "'%s' is larger than %u bytes", path, MAX_FILE);
    uint8_t buf[65536];
    while (st == MLOPS_OK) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            st = mlops__error(MLOPS_E_IO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        if (out->len + (size_t)k > MAX_FILE)
            st = mlops__error(MLOPS_E_TOOBIG, "'%s' is larger than %u bytes", path, MAX_FILE);
        else
            st = mlops__buf_append(out, buf, (size_t)k);
    }
    close(fd);
    if (st == MLOPS_OK)
        st = mlops__buf_putc(out, 0);
    if (st == MLOPS_OK)
        out->len--;
    return st;
}

/* Find `key:` at the start of a line of a simple YAML mapping; unquote the
 * value into out. Returns false if absent or null. */
static bool yaml_get(const char *text, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = text;
    while (p != NULL && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            const char *v = p + kl + 1;
            while (*v == ' ')
                v++;
            const char *eol = strchr(v, '\n');
            size_t n = eol ? (size_t)(eol - v) : strlen(v);
            while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == ' '))
                n--;
            size_t o = 0;
            if (n >= 2 && v[0] == '\'') {
                for (size_t i = 1; i + 1 < n && o + 1 < cap; i++) {
                    if (v[i] == '\'' && v[i + 1] == '\'')
                        i++;
                    out[o++] = v[i];
                }
            } else if (n >= 2 && v[0] == '"') {
                for (size_t i = 1; i + 1 < n && o + 1 < cap; i++) {
                    if (v[i] == '\\' && i + 2 < n)
                        i++;
                    out[o++] = v[i];
                }
            } else {
                if (n == 0 || (n == 4 && strncmp(v, "null", 4) == 0) || (n == 1 && v[0] == '~'))
                    return false;
                for (size_t i = 0; i < n && o + 1 < cap; i++)
                    out[o++] = v[i];
            }
            out[o] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return false;
}

typedef mlops_status (*walk_fn)(const char *path, const char *rel, void *arg);

/* Visit the regular files below dir (not following symbolic links). */
static mlops_status walk(const char *dir, const char *rel, int depth, walk_fn fn, void *arg)
{
    if (depth > 32)
        return mlops__error(MLOPS_E_INVALID, "'%s' is nested too deeply", dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? MLOPS_OK
                               : mlops__error(MLOPS_E_IO, "cannot open '%s': %s", dir,
                                              strerror(errno));
    mlops_status st = MLOPS_OK;
    struct dirent *de;
    char *path = malloc(PATH_CAP), *r = malloc(PATH_CAP);
    if (path == NULL || r == NULL)
        st = mlops__nomem();
    while (st == MLOPS_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
                                     (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        st = path_join(path, dir, de->d_name);
        if (st != MLOPS_OK)
            break;
        int rn = rel[0] == '\0' ? snprintf(r, PATH_CAP, "%s", de->d_name)
                                : snprintf(r, PATH_CAP, "%s/%s", rel, de->d_name);
        if (rn < 0 || rn >= PATH_CAP) {
            st = mlops__error(MLOPS_E_INVALID, "path below '%s' is too long", dir);
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            st = walk(path, r, depth + 1, fn, arg);
        else if (S_ISREG(sb.st_mode))
            st = fn(path, r, arg);
    }
    free(path);
    free(r);
    closedir(d);
    return st;
}

typedef struct imp {
    mlops_run *run;
    mlops__buf buf;
    uint32_t kind; /* MLOPS_ITEM_PARAM / TAG / METRIC */
} imp;

static mlops_status imp_file(const char *path, const char *rel, void *arg)
{
    imp *c = arg;
    mlops_status st = read_file(&c->buf, path);
    if (st != MLOPS_OK)
        return st;
    const char *text = (const char *)c->buf.data;
    if (c->kind == MLOPS_ITEM_PARAM) {
        st = mlops_run_log_param(c->run, rel, text);
    } else if (c->kind == MLOPS_ITEM_TAG) {
        st = mlops_run_set_tag(c->run, rel, text);
    } else {
        mlops_metric_point pts[256];
        size_t n = 0;
        const char *p = text;
        size_t line = 0;
        while (st == MLOPS_OK && p != NULL && *p) {
            line++;
            const char *eol = strchr(p, '\n');
            char tmp[256];
            size_t ln = eol ? (size_t)(eol - p) : strlen(p);
            if (ln > 0 && ln < sizeof(tmp)) {
                memcpy(tmp, p, ln);
                tmp[ln] = '\0';
                char *e1, *e2, *e3;
                long long ts = strtoll(tmp, &e1, 10);
                double v = strtod(e1, &e2);
                long long step = 0;
                if (*e2 != '\0' && *e2 != '\r')
                    step = strtoll(e2, &e3, 10);
                else
                    e3 = e2;
                while (*e3 == ' ' || *e3 == '\r')
                    e3++;
                if (e1 == tmp || e2 == e1 || *e3 != '\0')
                    st = mlops__error(MLOPS_E_INVALID,
                                      "%s line %zu: expected 'timestamp value step'", path, line);
                pts[n].key = rel;
                pts[n].value = v;
                pts[n].step = step;
                pts[n].timestamp_ms = ts;
                if (st == MLOPS_OK && ++n == sizeof(pts) / sizeof(pts[0])) {
                    st = mlops_run_log_metrics(c->run, pts, n);
                    n = 0;
                }
            } else if (ln >= sizeof(tmp)) {
                st = mlops__error(MLOPS_E_INVALID, "%s line %zu is too long", path, line);
            }
            p = eol ? eol + 1 : NULL;
        }
        if (st == MLOPS_OK && n > 0)
            st = mlops_run_log_metrics(c->run, pts, n);
    }
    if (st != MLOPS_OK && strstr(mlops_error_message(), path) == NULL)
        st = mlops__run_error_wrap(st, "%s", path);
    return st;
}

static mlops_status import_run(mlops_store *store, const char *rdir, const char *run_id,
                               const char *exp_id, bool *imported)
{
    mlops_env *env = mlops_store_env(store);
    *imported = false;
    mlops_run *existing = NULL;
    mlops_status st = mlops_run_open(&existing, store, run_id);
    mlops_run_close(existing);
    if (st == MLOPS_OK)
        return MLOPS_OK; /* already here: skipped */
    if (st != MLOPS_E_NOTFOUND)
        return st;
    char path[PATH_CAP], v[1024], name[1024], user[256];
    imp c = {0};
    mlops__buf_init(&c.buf, env);
    st = path_join(path, rdir, "meta.yaml");
    if (st == MLOPS_OK)
        st = read_file(&c.buf, path);
    if (st != MLOPS_OK) {
        mlops__buf_free(&c.buf);
        return st;
    }
    const char *meta = (const char *)c.buf.data;
    mlops__info info = {.exp_id = (char *)exp_id, .lifecycle = MLOPS_LIFECYCLE_ACTIVE,
                        .status = MLOPS_RUN_FINISHED};
    bool deleted = yaml_get(meta, "lifecycle_stage", v, sizeof(v)) && strcmp(v, "deleted") == 0;
    if (yaml_get(meta, "status", v, sizeof(v))) {
        char *e;
        long s = strtol(v, &e, 10);
        uint32_t parsed = *e == '\0' ? (uint32_t)s : mlops__run_status_parse(v);
        if (parsed >= 1 && parsed <= 5)
            info.status = parsed;
    }
    if (yaml_get(meta, "start_time", v, sizeof(v)))
        info.start = strtoll(v, NULL, 10);
    if (yaml_get(meta, "end_time", v, sizeof(v)))
        info.end = strtoll(v, NULL, 10);
    if (yaml_get(meta, "run_name", name, sizeof(name)))
        info.name = name;
    if (yaml_get(meta, "user_id", user, sizeof(user)))
        info.user = user;
    st = mlops__run_create_raw(store, run_id, &info);
    if (st == MLOPS_OK)
        st = mlops_run_open(&c.run, store, run_id);
    const char *parts[3] = {"params", "tags", "metrics"};
    const uint32_t kinds[3] = {MLOPS_ITEM_PARAM, MLOPS_ITEM_TAG, MLOPS_ITEM_METRIC};
    for (int k = 0; st == MLOPS_OK && k < 3; k++) {
        c.kind = kinds[k];
        st = path_join(path, rdir, parts[k]);
        if (st == MLOPS_OK)
            st = walk(path, "", 0, imp_file, &c);
    }
    if (st == MLOPS_OK) {
        st = path_join(path, rdir, "artifacts");
        struct stat sb;
        if (st == MLOPS_OK && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            st = mlops_run_log_artifact(c.run, path, NULL);
    }
    if (st == MLOPS_OK && deleted)
        st = mlops_run_delete(store, run_id);
    mlops_run_close(c.run);
    mlops__buf_free(&c.buf);
    if (st == MLOPS_OK)
        *imported = true;
    return st;
}

static bool is_run_id(const char *s)
{
    size_t n = strlen(s);
    if (n != MLOPS_RUN_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

mlops_status mlops_run_import_mlflow(size_t *count_out, mlops_store *store, const char *dir)
{
    if (count_out != NULL)
        *count_out = 0;
    if (store == NULL || dir == NULL)
        return mlops__error(MLOPS_E_INVALID, "import_mlflow: NULL argument");
    mlops_env *env = mlops_store_env(store);
    DIR *d = opendir(dir);
    if (d == NULL)
        return mlops__error(errno == ENOENT ? MLOPS_E_NOTFOUND : MLOPS_E_IO,
                            "cannot open '%s': %s", dir, strerror(errno));
    mlops_status st = MLOPS_OK;
    size_t done = 0;
    struct dirent *de;
    mlops__buf meta;
    mlops__buf_init(&meta, env);
    char edir[PATH_CAP], path[PATH_CAP], name[1024], lc[32];
    while (st == MLOPS_OK && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "models") == 0)
            continue;
        st = path_join(edir, dir, de->d_name);
        if (st == MLOPS_OK)
            st = path_join(path, edir, "meta.yaml");
        struct stat sb;
        if (st != MLOPS_OK || lstat(edir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
            lstat(path, &sb) != 0)
            continue;
        st = read_file(&meta, path);
        if (st != MLOPS_OK)
            break;
        if (!yaml_get((const char *)meta.data, "name", name, sizeof(name))) {
            st = mlops__error(MLOPS_E_INVALID, "%s has no experiment name", path);
            break;
        }
        bool exp_deleted = yaml_get((const char *)meta.data, "lifecycle_stage", lc, sizeof(lc)) &&
                           strcmp(lc, "deleted") == 0;
        char *exp_id = NULL;
        st = mlops_experiment_get_by_name(&exp_id, store, name);
        if (st == MLOPS_E_NOTFOUND)
            st = strcmp(name, "Default") == 0 && strcmp(de->d_name, "0") == 0
                     ? mlops__run_default_experiment_id(&exp_id, store)
                     : mlops_experiment_create(&exp_id, store, name);
        if (st != MLOPS_OK)
            break;
        mlops__exp e;
        bool was_deleted = mlops__run_exp_get(&e, store, exp_id) == MLOPS_OK &&
                           e.lifecycle == MLOPS_LIFECYCLE_DELETED;
        mlops__run_exp_clear(&e, env);
        if (was_deleted)
            st = mlops_experiment_restore(store, exp_id);
        DIR *rd = st == MLOPS_OK ? opendir(edir) : NULL;
        struct dirent *re;
        while (st == MLOPS_OK && rd != NULL && (re = readdir(rd)) != NULL) {
            if (!is_run_id(re->d_name))
                continue;
            char rdir[PATH_CAP];
            st = path_join(rdir, edir, re->d_name);
            if (st != MLOPS_OK || lstat(rdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
                continue;
            bool imported;
            st = import_run(store, rdir, re->d_name, exp_id, &imported);
            done += imported;
        }
        if (rd != NULL)
            closedir(rd);
        if (st == MLOPS_OK && (exp_deleted || was_deleted) && strcmp(exp_id, "0") != 0)
            st = mlops_experiment_delete(store, exp_id);
        mlops__free(env, exp_id);
    }
    closedir(d);
    mlops__buf_free(&meta);
    if (count_out != NULL)
        *count_out = done;
    return st;
}

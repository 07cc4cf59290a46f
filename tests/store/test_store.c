/* SPDX-License-Identifier: MIT */
/* The store module: the conformance suite on mem and file, and the file
 * backend's own cases (format, recovery, locking, durability modes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"
#include "fileutil.h"
#include "store/file/io.h"
#include "store/store_internal.h"

static char *g_root; /* scratch directory of this run */

static mlops_status open_mem(mlops_store **out, mlops_env *env, void *ctx, const char *name,
                             int fresh)
{
    (void)ctx;
    (void)name;
    (void)fresh;
    return mlops_store_open(out, env, "mem:", NULL);
}

static mlops_status open_file(mlops_store **out, mlops_env *env, void *ctx, const char *name,
                              int fresh)
{
    (void)ctx;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", g_root, name);
    if (fresh)
        tu_rmtree(path);
    return mlops_store_open(out, env, path, NULL);
}

static const conf_backend mem_backend = {"mem", open_mem, NULL, 0};
static const conf_backend file_backend = {"file", open_file, NULL,
                                          CONF_PERSISTENT | CONF_MULTIPROCESS};

/* ---- file backend specifics ---- */

static char *store_dir(const char *name)
{
    char *p = malloc(600);
    snprintf(p, 600, "%s/%s-%d", g_root, name, (int)getpid());
    tu_rmtree(p);
    return p;
}

static mlops_store *open_path(const char *path, uint32_t sync, uint32_t flags)
{
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.sync = sync;
    o.flags = flags;
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, path, &o));
    return s;
}

START_TEST(file_default_path)
{
    /* the embedded default: a plain relative path, created on first use */
    char *dir = store_dir("cwd");
    mkdir(dir, 0755);
    char old[1024];
    ck_assert_ptr_nonnull(getcwd(old, sizeof(old)));
    ck_assert_int_eq(chdir(dir), 0);
    mlops_store *s = NULL;
    tu_assert_ok(mlops_store_open(&s, NULL, "./mlops-data", NULL));
    ck_assert_str_eq(mlops_store_backend_name(s), "file");
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    mlops_store_close(s);
    struct stat st;
    ck_assert_int_eq(stat("mlops-data/superblock", &st), 0);
    ck_assert_int_eq(chdir(old), 0);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_bad_paths)
{
    char *dir = store_dir("bad");
    mkdir(dir, 0755);
    char p[700];
    mlops_store *s = NULL;
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    /* missing directory with NOCREATE; missing parent */
    snprintf(p, sizeof(p), "%s/missing", dir);
    o.flags = MLOPS_STORE_NOCREATE;
    tu_assert_st(mlops_store_open(&s, NULL, p, &o), MLOPS_E_NOTFOUND);
    ck_assert_ptr_null(s);
    o.flags = MLOPS_STORE_READONLY;
    tu_assert_st(mlops_store_open(&s, NULL, p, &o), MLOPS_E_NOTFOUND);
    struct stat stt;
    ck_assert_int_ne(stat(p, &stt), 0); /* no hidden mkdir (O7) */
    snprintf(p, sizeof(p), "%s/no/such/parent", dir);
    tu_assert_st(mlops_store_open(&s, NULL, p, NULL), MLOPS_E_NOTFOUND);
    /* a file where the directory should be */
    snprintf(p, sizeof(p), "%s/afile", dir);
    fu_write_file(p, "hello", 5);
    tu_assert_st(mlops_store_open(&s, NULL, p, NULL), MLOPS_E_INVALID);
    /* a directory that holds something else is never written into */
    snprintf(p, sizeof(p), "%s/other", dir);
    mkdir(p, 0755);
    char q[800];
    snprintf(q, sizeof(q), "%s/notes.txt", p);
    fu_write_file(q, "mine", 4);
    uint64_t before = fu_tree_hash(p);
    tu_assert_st(mlops_store_open(&s, NULL, p, NULL), MLOPS_E_INVALID);
    ck_assert_uint_eq(fu_tree_hash(p), before); /* I7 */
    /* unreadable permissions (not testable as root, who bypasses them) */
    if (geteuid() != 0) {
        snprintf(p, sizeof(p), "%s/locked", dir);
        s = open_path(p, 0, 0);
        mlops_store_close(s);
        chmod(p, 0);
        tu_assert_st(mlops_store_open(&s, NULL, p, NULL), MLOPS_E_IO);
        chmod(p, 0755);
    }
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_symlinks)
{
    /* N15: a planted symlink is never followed */
    char *dir = store_dir("sym");
    mlops_store *s = open_path(dir, 0, 0);
    mlops_hash128 id;
    tu_assert_ok(mlops_store_blob_put(&id, s, "payload", 7));
    mlops_store_close(s);
    char hex[33], p[1000], sub[800];
    mlops_hash128_to_hex(hex, &id);
    snprintf(sub, sizeof(sub), "%s/blobs/%.2s", dir, hex);
    snprintf(p, sizeof(p), "%s/%s", sub, hex);
    unlink(p);
    char outside[700];
    snprintf(outside, sizeof(outside), "%s/outside-%d", g_root, (int)getpid());
    fu_write_file(outside, "secret", 6);
    ck_assert_int_eq(symlink(outside, p), 0);
    s = open_path(dir, 0, 0);
    mlops_bytes v;
    mlops_status st = mlops_store_blob_get(&v, s, &id, 0);
    ck_assert_msg(st == MLOPS_E_CORRUPT, "got %s", mlops_status_name(st));
    /* the superblock replaced by a symlink: refused */
    mlops_store_close(s);
    char sb[800], sbsave[800];
    snprintf(sb, sizeof(sb), "%s/superblock", dir);
    snprintf(sbsave, sizeof(sbsave), "%s/sb.save", g_root);
    ck_assert_int_eq(rename(sb, sbsave), 0);
    ck_assert_int_eq(symlink(sbsave, sb), 0);
    s = NULL;
    st = mlops_store_open(&s, NULL, dir, NULL);
    ck_assert_msg(st == MLOPS_E_CORRUPT, "got %s", mlops_status_name(st));
    unlink(outside);
    unlink(sbsave);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_newer_format)
{
    /* X1: a newer read version is refused and nothing changes */
    char *dir = store_dir("ver");
    mlops_store *s = open_path(dir, 0, 0);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    mlops_store_close(s);
    fu_set_super_versions(dir, 2, 2);
    uint64_t before = fu_tree_hash(dir);
    s = NULL;
    tu_assert_st(mlops_store_open(&s, NULL, dir, NULL), MLOPS_E_VERSION);
    ck_assert(strstr(mlops_error_message(), "version 2") != NULL);
    ck_assert_uint_eq(fu_tree_hash(dir), before);
    /* X2: a newer write version only: readable, writes refused */
    fu_set_super_versions(dir, 1, 2);
    s = open_path(dir, 0, 0);
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, "k", 1));
    mlops_bytes_free(&v);
    tu_assert_st(mlops_store_put(s, "k", 1, "w", 1), MLOPS_E_VERSION);
    mlops_blob_writer *w = NULL;
    tu_assert_st(mlops_blob_writer_open(&w, s), MLOPS_E_VERSION);
    ck_assert_ptr_null(w);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_readonly)
{
    char *dir = store_dir("ro");
    mlops_store *s = open_path(dir, 0, 0);
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    mlops_store *ro = open_path(dir, 0, MLOPS_STORE_READONLY);
    tu_assert_st(mlops_store_put(ro, "k", 1, "w", 1), MLOPS_E_INVALID);
    tu_assert_st(mlops_store_compact(ro), MLOPS_E_INVALID);
    /* a reader sees batches committed later by another handle (C3) */
    tu_assert_ok(mlops_store_put(s, "k2", 2, "v2", 2));
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, ro, "k2", 2));
    mlops_bytes_free(&v);
    /* ... and after another handle compacts */
    tu_assert_ok(mlops_store_compact(s));
    tu_assert_ok(mlops_store_put(s, "k3", 2, "v3", 2));
    tu_assert_ok(mlops_store_get(&v, NULL, ro, "k3", 2));
    mlops_bytes_free(&v);
    tu_assert_ok(mlops_store_get(&v, NULL, ro, "k", 1));
    mlops_bytes_free(&v);
    mlops_store_close(ro);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_lock_busy)
{
    /* C9: a held writer lock gives MLOPS_E_BUSY after the timeout; K6: the
     * lock of a killed process never blocks the next one */
    char *dir = store_dir("lock");
    mlops_store *s = open_path(dir, 0, 0);
    mlops_store_close(s);
    char lp[700];
    snprintf(lp, sizeof(lp), "%s/LOCK", dir);
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(lp, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        if (fcntl(fd, F_OFD_SETLK, &fl) != 0)
            _exit(1);
        if (write(pfd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    mlops_store_options o = MLOPS_STORE_OPTIONS_INIT;
    o.lock_timeout_ms = 50;
    s = NULL;
    tu_assert_st(mlops_store_open(&s, NULL, dir, &o), MLOPS_E_BUSY);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tu_assert_ok(mlops_store_open(&s, NULL, dir, &o));
    tu_assert_ok(mlops_store_put(s, "k", 1, "v", 1));
    mlops_store_close(s);
    close(pfd[0]);
    close(pfd[1]);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_compact)
{
    char *dir = store_dir("compact");
    mlops_store *s = open_path(dir, MLOPS_SYNC_OFF, 0);
    for (int i = 0; i < 2000; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "value-%d", i);
        tu_assert_ok(mlops_store_put(s, "hot", 3, v, (size_t)n));
        if (i % 100 == 0) {
            char k[32];
            int kn = snprintf(k, sizeof(k), "cold-%d", i);
            tu_assert_ok(mlops_store_put(s, k, (size_t)kn, v, (size_t)n));
        }
    }
    mlops_store_info_data before = {MLOPS_STORE_INFO_VERSION}, after = before;
    tu_assert_ok(mlops_store_info(&before, s));
    ck_assert_uint_eq(before.keys, 21);
    ck_assert_uint_ge(before.records, 2000);
    tu_assert_ok(mlops_store_compact(s));
    tu_assert_ok(mlops_store_info(&after, s));
    ck_assert_uint_eq(after.keys, 21);
    ck_assert_uint_lt(after.records, 5);
    ck_assert_uint_lt(after.bytes, before.bytes / 10);
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, "hot", 3));
    ck_assert(v.len == 10 && memcmp(v.data, "value-1999", 10) == 0);
    mlops_bytes_free(&v);
    tu_assert_ok(mlops_store_put(s, "after", 5, "x", 1));
    mlops_store_close(s);
    s = open_path(dir, 0, 0);
    tu_assert_ok(mlops_store_get(&v, NULL, s, "after", 5));
    mlops_bytes_free(&v);
    ck_assert_uint_eq(fu_count_logs(dir), 1);
    char *rep = NULL;
    tu_assert_ok(mlops_store_check(&rep, s));
    ck_assert_str_eq(rep, "");
    mlops_string_free(NULL, rep);
    mlops_store_close(s);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(file_golden_v1)
{
    /* X3: a store written by format version 1 stays readable, untouched */
    const char *root = getenv("MLOPS_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/store/data/golden-v1", root ? root : "..");
    uint64_t before = fu_tree_hash(dir);
    mlops_store *s = open_path(dir, 0, MLOPS_STORE_READONLY);
    mlops_bytes v;
    tu_assert_ok(mlops_store_get(&v, NULL, s, "key09", 5));
    ck_assert(v.len == 7 && memcmp(v.data, "value 9", 7) == 0);
    mlops_bytes_free(&v);
    tu_assert_st(mlops_store_get(&v, NULL, s, "key05", 5), MLOPS_E_NOTFOUND);
    tu_assert_ok(mlops_store_get(&v, NULL, s, "bin\0key", 7));
    ck_assert(v.len == 3 && v.data[0] == 0 && v.data[2] == 0xff);
    mlops_bytes_free(&v);
    mlops_hash128 id;
    tu_assert_ok(mlops_hash128_from_hex(&id, "b5c22bb3e52a8c6468142b2a91236388"));
    tu_assert_ok(mlops_store_blob_get(&v, s, &id, 0));
    ck_assert_uint_eq(v.len, 1200);
    mlops_bytes_free(&v);
    char *rep = NULL;
    tu_assert_ok(mlops_store_check(&rep, s));
    mlops_string_free(NULL, rep);
    mlops_store_info_data in = {MLOPS_STORE_INFO_VERSION};
    tu_assert_ok(mlops_store_info(&in, s));
    ck_assert_uint_eq(in.format_version, 1);
    ck_assert_uint_eq(in.keys, 10);
    mlops_store_close(s);
    ck_assert_uint_eq(fu_tree_hash(dir), before);
}
END_TEST

int main(void)
{
    /* ck_assert cannot run outside a test, so no tu_tempdir() here */
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/mlops-store-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        return 1;
    g_root = strdup(tmpl);
    SRunner *sr = srunner_create(conf_suite(&mem_backend));
    Suite *fs = suite_create("file");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, file_default_path);
    tcase_add_test(tc, file_bad_paths);
    tcase_add_test(tc, file_symlinks);
    tcase_add_test(tc, file_newer_format);
    tcase_add_test(tc, file_readonly);
    tcase_add_test(tc, file_lock_busy);
    tcase_add_test(tc, file_compact);
    tcase_add_test(tc, file_golden_v1);
    suite_add_tcase(fs, tc);
    srunner_add_suite(sr, fs);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    /* the conformance suite keeps one backend at a time */
    sr = srunner_create(conf_suite(&file_backend));
    srunner_run_all(sr, CK_NORMAL);
    failed += srunner_ntests_failed(sr);
    srunner_free(sr);
    tu_rmtree(g_root);
    free(g_root);
    return failed == 0 ? 0 : 1;
}

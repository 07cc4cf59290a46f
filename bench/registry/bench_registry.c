/* SPDX-License-Identifier: MIT */
/*
 * Registry at scale: M models x V versions (default 1,000 x 100). Times
 * registration, listing every model (with its latest version per stage and
 * aliases) and resolving models:/ URIs, against SQLite with MLflow's
 * registry schema (registered_models, model_versions,
 * registered_model_aliases and their indexes) answering the same questions
 * in the same run. MLflow's own SQLAlchemy layer is not reproduced, so real
 * MLflow is slower than the SQLite figures.
 *
 *   bench_registry [--models M] [--versions V] [--store URI]
 *
 * Prints FIGURE name=value lines and ratios (SQLite time / libmlops time),
 * all in CPU time of this one process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlops/mlops.h"

#if defined(MLOPS_BENCH_SQLITE)
#include <sqlite3.h>
#endif

/* CPU time of this process: the machine is shared with other jobs, so wall
 * time measures them as much as us; both sides run single-threaded here. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, mlops_status st)
{
    fprintf(stderr, "bench_registry: %s: %s (%s)\n", what, mlops_error_message(),
            mlops_status_name(st));
    exit(1);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define N_QUERIES 100000

int main(int argc, char **argv)
{
    int models = 1000, versions = 100;
    const char *uri = "mem:";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
            models = atoi(argv[++i]);
        else if (strcmp(argv[i], "--versions") == 0 && i + 1 < argc)
            versions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            uri = argv[++i];
        else {
            fprintf(stderr, "usage: bench_registry [--models M] [--versions V] [--store URI]\n");
            return 2;
        }
    }
    if (models < 1 || versions < 3) {
        fprintf(stderr, "bench_registry: need at least 1 model and 3 versions\n");
        return 2;
    }
    mlops_store_options so;
    mlops_store_options_init(&so, MLOPS_STORE_OPTIONS_VERSION);
    so.sync = MLOPS_SYNC_NORMAL;
    mlops_store *s = NULL;
    mlops_status st = mlops_store_open(&s, NULL, uri, &so);
    if (st != MLOPS_OK)
        die("open", st);
    mlops_registry *reg = NULL;
    if ((st = mlops_registry_open(&reg, s)) != MLOPS_OK)
        die("registry", st);
    mlops_hash128 blob;
    if ((st = mlops_store_blob_put(&blob, s, "weights", 7)) != MLOPS_OK)
        die("blob", st);
    printf("registry bench: %d models x %d versions on %s (%s backend)\n", models, versions, uri,
           mlops_store_backend_name(s));

    /* ---- fill: every version registered, two stages and two aliases per model ---- */
    char name[64];
    mlops_register_options ro;
    mlops_register_options_init(&ro, MLOPS_REGISTER_OPTIONS_VERSION);
    ro.blob = &blob;
    ro.user = "bench";
    double t0 = now_s();
    for (int m = 0; m < models; m++) {
        snprintf(name, sizeof(name), "model-%05d", m);
        for (int v = 1; v <= versions; v++) {
            int64_t got;
            if ((st = mlops_registry_register(&got, reg, name, &ro)) != MLOPS_OK)
                die("register", st);
        }
    }
    double t_reg = now_s() - t0;
    t0 = now_s();
    for (int m = 0; m < models; m++) {
        snprintf(name, sizeof(name), "model-%05d", m);
        if ((st = mlops_registry_promote(NULL, reg, name, versions - 2, "Production", NULL)) ||
            (st = mlops_registry_promote(NULL, reg, name, versions - 1, "Staging", NULL)) ||
            (st = mlops_registry_set_alias(reg, name, "champion", versions - 2, NULL)) ||
            (st = mlops_registry_set_alias(reg, name, "challenger", versions - 1, NULL)))
            die("promote", st);
    }
    double t_promote = now_s() - t0;
    long total = (long)models * versions;
    printf("FIGURE registry_register_per_s=%.0f\n", total / t_reg);
    printf("FIGURE registry_promote_alias_per_s=%.0f\n", 4.0 * models / t_promote);

    /* ---- list every model (latest version per stage, aliases) ---- */
    int list_reps = 20;
    size_t json_len = 0;
    t0 = now_s();
    for (int r = 0; r < list_reps; r++) {
        char *doc = NULL;
        if ((st = mlops_registry_search_json(&doc, reg, NULL, 0)) != MLOPS_OK)
            die("list", st);
        json_len = strlen(doc);
        mlops_string_free(mlops_registry_env(reg), doc);
    }
    double t_list = (now_s() - t0) / list_reps;
    printf("FIGURE registry_list_all_ms=%.3f (%d models, %zu bytes of JSON)\n", t_list * 1e3,
           models, json_len);
    t0 = now_s();
    for (int r = 0; r < list_reps; r++) {
        char *doc = NULL;
        if ((st = mlops_registry_search_json(&doc, reg, "name LIKE 'model-000%'", 0)))
            die("search", st);
        mlops_string_free(mlops_registry_env(reg), doc);
    }
    double t_search = (now_s() - t0) / list_reps;
    printf("FIGURE registry_search_like_ms=%.3f\n", t_search * 1e3);

    /* ---- resolve URIs ---- */
    const char *kinds[3] = {"version", "stage", "alias"};
    double t_res[3];
    for (int k = 0; k < 3; k++) {
        rng = 42 + (uint64_t)k;
        char u[128];
        t0 = now_s();
        for (int q = 0; q < N_QUERIES; q++) {
            int m = (int)(next_rand() % (uint64_t)models);
            int v = 1 + (int)(next_rand() % (uint64_t)versions);
            if (k == 0)
                snprintf(u, sizeof(u), "models:/model-%05d/%d", m, v);
            else if (k == 1)
                snprintf(u, sizeof(u), "models:/model-%05d/Production", m);
            else
                snprintf(u, sizeof(u), "models:/model-%05d@champion", m);
            int64_t got;
            if ((st = mlops_registry_resolve(&got, reg, u)) != MLOPS_OK)
                die("resolve", st);
        }
        t_res[k] = (now_s() - t0) / N_QUERIES;
        printf("FIGURE registry_resolve_%s_us=%.2f\n", kinds[k], t_res[k] * 1e6);
    }
    /* time travel: which version was in Production at a time (replays history) */
    t0 = now_s();
    int tt = 2000;
    for (int q = 0; q < tt; q++) {
        char u[128];
        snprintf(u, sizeof(u), "models:/model-%05d/Production", (int)(next_rand() % models));
        int64_t got;
        if ((st = mlops_registry_resolve_at(&got, reg, u, INT64_MAX / 2)) != MLOPS_OK)
            die("resolve_at", st);
    }
    double t_tt = (now_s() - t0) / tt;
    printf("FIGURE registry_resolve_at_us=%.1f (replays %d events)\n", t_tt * 1e6, versions + 4);

#if defined(MLOPS_BENCH_SQLITE)
    /* ---- the reference: SQLite with MLflow's registry schema ---- */
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        return 1;
    const char *schema =
        "CREATE TABLE registered_models (name VARCHAR(256) PRIMARY KEY, creation_time BIGINT,"
        " last_updated_time BIGINT, description VARCHAR(5000));"
        "CREATE TABLE model_versions (name VARCHAR(256) REFERENCES registered_models(name),"
        " version INTEGER, creation_time BIGINT, last_updated_time BIGINT,"
        " description VARCHAR(5000), user_id VARCHAR(256), current_stage VARCHAR(20),"
        " source VARCHAR(500), run_id VARCHAR(32), status VARCHAR(20),"
        " status_message VARCHAR(500), run_link VARCHAR(500), storage_location VARCHAR(500),"
        " PRIMARY KEY (name, version));"
        "CREATE TABLE registered_model_aliases (alias VARCHAR(256), version INTEGER,"
        " name VARCHAR(256), PRIMARY KEY (name, alias));"
        "CREATE TABLE registered_model_tags (key VARCHAR(250), value VARCHAR(5000),"
        " name VARCHAR(256), PRIMARY KEY (key, name));";
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_stmt *ins_m, *ins_v, *ins_a, *sel_list, *sel_latest, *sel_ver, *sel_stage,
        *sel_alias, *next_v;
    sqlite3_prepare_v2(db, "INSERT INTO registered_models VALUES (?, 1, 1, '')", -1, &ins_m,
                       NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO model_versions VALUES (?, ?, 1, 1, '', 'bench', ?,"
                       " 'blob', '', 'READY', '', '', '')",
                       -1, &ins_v, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO registered_model_aliases VALUES (?, ?, ?)", -1, &ins_a,
                       NULL);
    sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?",
                       -1, &next_v, NULL);
    t0 = now_s();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int m = 0; m < models; m++) {
        snprintf(name, sizeof(name), "model-%05d", m);
        sqlite3_bind_text(ins_m, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_step(ins_m);
        sqlite3_reset(ins_m);
        for (int v = 1; v <= versions; v++) {
            /* MLflow computes the next number with a query, as here */
            sqlite3_bind_text(next_v, 1, name, -1, SQLITE_TRANSIENT);
            sqlite3_step(next_v);
            int nv = sqlite3_column_int(next_v, 0);
            sqlite3_reset(next_v);
            const char *stage = nv == versions - 2 ? "Production"
                                : nv == versions - 1 ? "Staging"
                                                     : "None";
            sqlite3_bind_text(ins_v, 1, name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(ins_v, 2, nv);
            sqlite3_bind_text(ins_v, 3, stage, -1, SQLITE_STATIC);
            sqlite3_step(ins_v);
            sqlite3_reset(ins_v);
        }
        const char *al[2] = {"champion", "challenger"};
        for (int a = 0; a < 2; a++) {
            sqlite3_bind_text(ins_a, 1, al[a], -1, SQLITE_STATIC);
            sqlite3_bind_int(ins_a, 2, versions - 2 + a);
            sqlite3_bind_text(ins_a, 3, name, -1, SQLITE_TRANSIENT);
            sqlite3_step(ins_a);
            sqlite3_reset(ins_a);
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t_sq_fill = now_s() - t0;
    printf("FIGURE sqlite_mlflow_schema_insert_per_s=%.0f (one transaction, no durability)\n",
           total / t_sq_fill);

    /* list: every model with its latest version per stage and its aliases,
     * the rows MLflow's search_registered_models loads */
    sqlite3_prepare_v2(db,
                       "SELECT m.name, m.description, m.last_updated_time,"
                       " (SELECT group_concat(alias || '=' || version) FROM"
                       "  registered_model_aliases a WHERE a.name = m.name)"
                       " FROM registered_models m ORDER BY m.name",
                       -1, &sel_list, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT current_stage, max(version) FROM model_versions WHERE name = ?"
                       " GROUP BY current_stage",
                       -1, &sel_latest, NULL);
    t0 = now_s();
    long rows = 0;
    for (int r = 0; r < list_reps; r++) {
        while (sqlite3_step(sel_list) == SQLITE_ROW) {
            const unsigned char *n = sqlite3_column_text(sel_list, 0);
            sqlite3_bind_text(sel_latest, 1, (const char *)n, -1, SQLITE_TRANSIENT);
            while (sqlite3_step(sel_latest) == SQLITE_ROW)
                rows++;
            sqlite3_reset(sel_latest);
        }
        sqlite3_reset(sel_list);
    }
    double t_sq_list = (now_s() - t0) / list_reps;
    printf("FIGURE sqlite_list_all_ms=%.3f (%ld stage rows)\n", t_sq_list * 1e3,
           rows / list_reps);

    sqlite3_prepare_v2(db, "SELECT version, current_stage FROM model_versions WHERE name = ? AND"
                           " version = ?",
                       -1, &sel_ver, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT version FROM model_versions WHERE name = ? AND current_stage ="
                       " 'Production' ORDER BY last_updated_time DESC, version DESC LIMIT 1",
                       -1, &sel_stage, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                       -1, &sel_alias, NULL);
    double t_sq[3];
    for (int k = 0; k < 3; k++) {
        rng = 42 + (uint64_t)k;
        sqlite3_stmt *q = k == 0 ? sel_ver : k == 1 ? sel_stage : sel_alias;
        t0 = now_s();
        for (int i = 0; i < N_QUERIES; i++) {
            int m = (int)(next_rand() % (uint64_t)models);
            int v = 1 + (int)(next_rand() % (uint64_t)versions);
            snprintf(name, sizeof(name), "model-%05d", m);
            sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
            if (k == 0)
                sqlite3_bind_int(q, 2, v);
            else if (k == 2)
                sqlite3_bind_text(q, 2, "champion", -1, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_ROW) {
                fprintf(stderr, "sqlite: no row\n");
                return 1;
            }
            sqlite3_reset(q);
        }
        t_sq[k] = (now_s() - t0) / N_QUERIES;
        printf("FIGURE sqlite_resolve_%s_us=%.2f\n", kinds[k], t_sq[k] * 1e6);
    }
    printf("\nside by side (SQLite with MLflow's schema / libmlops; above 1 means libmlops is "
           "faster)\n");
    printf("  list all %d models:      %7.3f ms vs %7.3f ms  ratio %.2f\n", models,
           t_sq_list * 1e3, t_list * 1e3, t_sq_list / t_list);
    for (int k = 0; k < 3; k++)
        printf("  resolve by %-8s       %7.2f us vs %7.2f us  ratio %.2f\n", kinds[k],
               t_sq[k] * 1e6, t_res[k] * 1e6, t_sq[k] / t_res[k]);
    printf("FIGURE registry_vs_sqlite_list_ratio=%.2f\n", t_sq_list / t_list);
    printf("FIGURE registry_vs_sqlite_resolve_stage_ratio=%.2f\n", t_sq[1] / t_res[1]);
    sqlite3_finalize(ins_m);
    sqlite3_finalize(ins_v);
    sqlite3_finalize(ins_a);
    sqlite3_finalize(next_v);
    sqlite3_finalize(sel_list);
    sqlite3_finalize(sel_latest);
    sqlite3_finalize(sel_ver);
    sqlite3_finalize(sel_stage);
    sqlite3_finalize(sel_alias);
    sqlite3_close(db);
#else
    printf("(SQLite not found at build time: no reference figures)\n");
#endif
    mlops_registry_close(reg);
    mlops_store_close(s);
    return 0;
}

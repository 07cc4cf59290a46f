/* SPDX-License-Identifier: MIT */
/* Writes the seed corpora of the fuzz targets that read stored records
 * (file_log, feature_segment, registry_records) from real encodings: the
 * library writes a store through its public API and the bytes it wrote
 * become the seeds, in each target's input layout.
 *   gen_seeds <tests/fuzz/corpus> [scratch dir]
 * make_seeds.py runs it when it is built. Deterministic up to the random
 * store epoch and timestamps. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "feature/feature_internal.h"
#include "registry/registry_internal.h"
#include "fuzz_common.h"

static const char *out_dir;

static void must(mlops_status st, const char *what)
{
    if (st != MLOPS_OK) {
        fprintf(stderr, "gen_seeds: %s: %s\n", what, mlops_error_message());
        exit(1);
    }
}

static void write_seed(const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *b = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            b = realloc(b, cap);
            if (b == NULL)
                abort();
        }
        size_t k = fread(b + len, 1, cap - len, f);
        if (k == 0)
            break;
        len += k;
    }
    fclose(f);
    *n = len;
    return b;
}

typedef struct seed {
    uint8_t b[65536];
    size_t n;
} seed;

static void s_u8(seed *s, uint8_t v)
{
    if (s->n < sizeof(s->b))
        s->b[s->n++] = v;
}

static void s_bytes(seed *s, const void *p, size_t n)
{
    if (n > sizeof(s->b) - s->n)
        n = sizeof(s->b) - s->n;
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void s_u16(seed *s, size_t v)
{
    s_u8(s, (uint8_t)v);
    s_u8(s, (uint8_t)(v >> 8));
}

/* ---- file_log ---- */

static void file_log_seed(const char *dir, const char *name, uint8_t flags, size_t cut,
                          size_t flip, const mlops_hash128 *blob)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/superblock", dir);
    size_t sn, ln = 0;
    uint8_t *sb = slurp(path, &sn);
    uint8_t *log = NULL;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "log-", 4) == 0 && strchr(e->d_name, '.') == NULL) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            log = slurp(path, &ln);
        }
    if (d)
        closedir(d);
    if (sb == NULL || log == NULL || ln > 60000) {
        fprintf(stderr, "gen_seeds: no store files in %s\n", dir);
        exit(1);
    }
    if (cut && cut < ln)
        ln = cut;
    if (flip && flip < ln)
        log[flip] ^= 0x10;
    static seed s;
    s.n = 0;
    s_u8(&s, flags | (blob ? 0x30 : 0));
    s_u16(&s, sn);
    s_bytes(&s, sb, sn);
    if (blob) {
        s_u16(&s, ln);
        s_bytes(&s, log, ln);
        char hex[33];
        mlops__hex(hex, blob->bytes, 16);
        snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", dir, hex, hex);
        size_t bn;
        uint8_t *bf = slurp(path, &bn);
        if (bf == NULL)
            exit(1);
        s_bytes(&s, blob->bytes, 16);
        s_bytes(&s, bf, bn);
        free(bf);
    } else {
        s_bytes(&s, log, ln);
    }
    write_seed("file_log", name, s.b, s.n);
    free(sb);
    free(log);
}

static void gen_file_log(const char *scratch)
{
    char dir[4096], uri[4200];
    snprintf(dir, sizeof(dir), "%s/store", scratch);
    fz_rmtree(dir);
    snprintf(uri, sizeof(uri), "file:%s", dir);
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.sync = MLOPS_SYNC_OFF;
    mlops_store *s = NULL;
    must(mlops_store_open(&s, NULL, uri, &o), "file store");
    write_seed("file_log", "empty-store", NULL, 0);
    must(mlops_store_put(s, "r/m/churn", 9, "head-1", 6), "put");
    must(mlops_store_put(s, "e/exp-1", 7, "", 0), "put");
    mlops_batch *b = NULL;
    must(mlops_batch_create(&b, s), "batch");
    must(mlops_batch_put(b, "k1", 2, "v1", 2), "batch put");
    must(mlops_batch_put(b, "k2", 2, "value-two", 9), "batch put");
    must(mlops_batch_delete(b, "e/exp-1", 7), "batch delete");
    must(mlops_store_apply(s, b), "apply");
    mlops_batch_free(b);
    must(mlops_store_put(s, "k1", 2, "v1-new", 6), "put");
    mlops_hash128 blob;
    static const char model[] = "model weights model weights model weights";
    must(mlops_store_blob_put(&blob, s, model, sizeof(model) - 1), "blob");
    mlops_store_close(s);
    file_log_seed(dir, "batches", 0x00, 0, 0, NULL);
    file_log_seed(dir, "batches-fix", 0x07, 0, 0, NULL);
    file_log_seed(dir, "batches-check", 0x27, 0, 0, NULL);
    file_log_seed(dir, "batches-writable", 0x0f, 0, 0, NULL);
    file_log_seed(dir, "torn-tail", 0x00, 190, 0, NULL);
    file_log_seed(dir, "torn-tail-writable", 0x08, 190, 0, NULL);
    file_log_seed(dir, "flip-middle", 0x00, 0, 110, NULL);
    file_log_seed(dir, "with-blob", 0x07, 0, 0, &blob);
    /* compacted: snapshot records, the next generation */
    must(mlops_store_open(&s, NULL, uri, &o), "reopen");
    must(mlops_store_compact(s), "compact");
    must(mlops_store_put(s, "k3", 2, "after", 5), "put");
    mlops_store_close(s);
    file_log_seed(dir, "compacted", 0x00, 0, 0, NULL);
    file_log_seed(dir, "compacted-writable", 0x0f, 0, 0, NULL);
    fz_rmtree(dir);
}

/* ---- registry_records ---- */

typedef struct reg_scan {
    int n[3];
} reg_scan;

static int reg_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                  uint64_t version, void *payload)
{
    (void)version;
    reg_scan *r = payload;
    if (key_len < 4)
        return 0;
    int kind = key[2] == 'm' ? 0 : key[2] == 'v' ? 1 : key[2] == 'h' ? 2 : -1;
    if (kind < 0 || r->n[kind] >= 6)
        return 0;
    static seed s;
    char name[64];
    static const char *const kn[] = {"head", "version", "event"};
    s.n = 0;
    s_u8(&s, (uint8_t)kind);
    s_bytes(&s, value, value_len);
    snprintf(name, sizeof(name), "%s-%d", kn[kind], r->n[kind]);
    write_seed("registry_records", name, s.b, s.n);
    if (kind == 0)
        for (int q = 0; q < 4; q++) {
            s.b[0] = (uint8_t)(3 + 4 * q);
            snprintf(name, sizeof(name), "query%d-%d", q + 1, r->n[kind]);
            write_seed("registry_records", name, s.b, s.n);
        }
    r->n[kind]++;
    return 0;
}

static void gen_registry(void)
{
    mlops_store *s = NULL;
    must(mlops_store_open(&s, NULL, "mem:", NULL), "mem store");
    mlops_registry *reg = NULL;
    must(mlops_registry_open(&reg, s), "registry");
    must(mlops_registry_create_model(reg, "churn", "churn model"), "create");
    must(mlops_registry_set_model_tag(reg, "churn", "team", "growth"), "tag");
    mlops_hash128 blob, feat;
    must(mlops_store_blob_put(&blob, s, "weights-1", 9), "blob");
    mlops__xxh3_128(&feat, "features", 8);
    mlops_register_options o;
    mlops_register_options_init(&o, MLOPS_REGISTER_OPTIONS_VERSION);
    o.blob = &blob;
    o.description = "first";
    o.user = "ana";
    o.code_commit = "0123abc";
    o.feature_hashes = &feat;
    o.n_feature_hashes = 1;
    int64_t v1, v2, v3;
    must(mlops_registry_register(&v1, reg, "churn", &o), "register");
    must(mlops_registry_register(&v2, reg, "churn", &o), "register");
    must(mlops_registry_register(&v3, reg, "fraud", &o), "register");
    char *rep = NULL;
    must(mlops_registry_promote(&rep, reg, "churn", v1, "Production", NULL), "promote");
    mlops_string_free(NULL, rep);
    must(mlops_registry_promote(&rep, reg, "churn", v2, "Staging", NULL), "promote");
    mlops_string_free(NULL, rep);
    must(mlops_registry_set_alias(reg, "churn", "champ", v1, "best"), "alias");
    must(mlops_registry_set_alias(reg, "churn", "a", v2, NULL), "alias");
    reg_scan r = {{0}};
    must(mlops_store_scan_prefix(s, "r/", 2, reg_cb, &r), "scan");
    mlops_registry_close(reg);
    mlops_store_close(s);
}

/* ---- feature_segment ---- */

typedef struct feat_scan {
    mlops_store *s;
    seed raw, as_is;
    int segs;
} feat_scan;

static int feat_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)version;
    feat_scan *f = payload;
    if (key_len < 5 || key[2] != 's' || f->segs >= 4)
        return 0;
    /* the blob address: field 1 (bytes, 16) of the index record */
    mlops_hash128 id;
    bool have = false;
    for (size_t i = 2; i + 18 <= value_len; i++)
        if (value[i] == 0x0a && value[i + 1] == 0x10) {
            memcpy(id.bytes, value + i + 2, 16);
            have = true;
            break;
        }
    if (!have)
        return 1;
    mlops_bytes blob;
    must(mlops_store_blob_get(&blob, f->s, &id, 0), "segment blob");
    mlops_bytes raw;
    must(mlops__zstd_decompress(&raw, NULL, blob.data + 24, blob.len - 24,
                                (size_t)mlops__get_u64le(blob.data + 8)),
         "decompress");
    s_u16(&f->as_is, value_len);
    s_bytes(&f->as_is, value, value_len);
    s_u16(&f->as_is, blob.len);
    s_bytes(&f->as_is, blob.data, blob.len);
    s_u16(&f->raw, value_len);
    s_bytes(&f->raw, value, value_len);
    s_u16(&f->raw, raw.len);
    s_bytes(&f->raw, raw.data, raw.len);
    mlops_bytes_free(&raw);
    mlops_bytes_free(&blob);
    f->segs++;
    return 0;
}

static void feature_view_seeds(const char *scratch, const char *name, const char *csv,
                               const mlops_feature_spec *feats, size_t nf, uint32_t key_type,
                               int ingests)
{
    mlops_store *s = NULL;
    must(mlops_store_open(&s, NULL, "mem:", NULL), "mem store");
    mlops_feature_store *fs = NULL;
    must(mlops_feature_store_open(&fs, s), "feature store");
    static const char *const keys[] = {"user_id"};
    mlops_feature_view_options o;
    mlops_feature_view_options_init(&o, MLOPS_FEATURE_VIEW_OPTIONS_VERSION);
    o.join_keys = keys;
    o.n_join_keys = 1;
    o.key_types = &key_type;
    o.features = feats;
    o.n_features = nf;
    o.created = "created";
    o.ttl_us = 86400000000;
    mlops_feature_view *v = NULL;
    must(mlops_feature_view_apply(&v, fs, "v", &o), "apply");
    char path[4200];
    snprintf(path, sizeof(path), "%s/in.csv", scratch);
    for (int i = 0; i < ingests; i++) {
        FILE *f = fopen(path, "w");
        fputs(csv, f);
        fclose(f);
        uint64_t rows = 0;
        must(mlops_feature_view_ingest_csv(&rows, v, path, NULL, NULL), "ingest");
    }
    mlops_feature_view_close(v);
    static feat_scan fsc;
    fsc.s = s;
    fsc.raw.n = fsc.as_is.n = 0;
    fsc.segs = 0;
    s_u8(&fsc.as_is, 0);
    s_u8(&fsc.raw, 0x03);
    uint8_t key[64];
    size_t k = mlops__fkey(key, 'v', "v");
    mlops_bytes def;
    must(mlops_store_get(&def, NULL, s, key, k), "definition");
    s_u16(&fsc.as_is, def.len);
    s_bytes(&fsc.as_is, def.data, def.len);
    s_u16(&fsc.raw, def.len);
    s_bytes(&fsc.raw, def.data, def.len);
    mlops_bytes_free(&def);
    k = mlops__fkey(key, 's', "v");
    must(mlops_store_scan_prefix(s, key, k, feat_cb, &fsc), "segments");
    char nm[128];
    snprintf(nm, sizeof(nm), "%s", name);
    write_seed("feature_segment", nm, fsc.as_is.b, fsc.as_is.n);
    snprintf(nm, sizeof(nm), "%s-raw", name);
    write_seed("feature_segment", nm, fsc.raw.b, fsc.raw.n);
    mlops_feature_store_close(fs);
    mlops_store_close(s);
}

static void gen_feature(const char *scratch)
{
    mlops_feature_spec f[5];
    memset(f, 0, sizeof(f));
    f[0].name = "clicks";
    f[0].type = MLOPS_FEATURE_INT64;
    f[1].name = "ctr";
    f[1].type = MLOPS_FEATURE_FLOAT64;
    f[2].name = "country";
    f[2].type = MLOPS_FEATURE_STRING;
    f[3].name = "active";
    f[3].type = MLOPS_FEATURE_BOOL;
    f[4].name = "emb";
    f[4].type = MLOPS_FEATURE_FLOAT32_VECTOR;
    f[4].dim = 2;
    feature_view_seeds(scratch, "all-types",
                       "user_id,event_timestamp,created,clicks,ctr,country,active,emb\n"
                       "1,2024-01-01T00:00:00Z,1704067200,3,0.5,SE,true,\"[1,2]\"\n"
                       "2,1704067300,1704067300,,0.25,,false,\"[0.5,-1]\"\n"
                       "1,1704067400,1704067401,7,,DE,,\n",
                       f, 5, MLOPS_FEATURE_INT64, 2);
    mlops_feature_spec g[2];
    memset(g, 0, sizeof(g));
    g[0].name = "amount";
    g[0].type = MLOPS_FEATURE_FLOAT64;
    g[1].name = "log_amount";
    g[1].type = MLOPS_FEATURE_FLOAT64;
    g[1].transform = 1; /* log1p */
    g[1].inputs = "amount";
    feature_view_seeds(scratch, "string-key-on-demand",
                       "user_id,event_timestamp,created,amount\n"
                       "u1,1704067200,1704067200,10\n"
                       "u2,1704067201,1704067201,-3.5\n",
                       g, 2, MLOPS_FEATURE_STRING, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_seeds CORPUS_DIR [SCRATCH_DIR]\n");
        return 2;
    }
    out_dir = argv[1];
    const char *scratch = argc > 2 ? argv[2] : fz_scratch_dir();
    gen_file_log(scratch);
    gen_registry();
    gen_feature(scratch);
    return 0;
}

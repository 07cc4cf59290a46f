/* SPDX-License-Identifier: MIT */
/* Fuzz the feature store's stored records (F13, M3, V-catalogue): a view
 * definition and up to four offline segments (index record + segment
 * blob) are put into a mem: store under the feature module's keys, then
 * read through the public API: open the view (definition decoder),
 * describe it, and read the latest rows of its features (segment list and
 * segment decoder, then the latest-row selection).
 *
 * Input: flags (1 byte), u16 LE definition length, definition bytes, then
 * per segment u16 LE index length, index record, u16 LE blob length, blob.
 * Flag RAW_SEGMENT: the blob part is the uncompressed segment record and
 * the harness frames it (magic, length, XXH3, zstd) as the writer does, so
 * mutations reach the record decoder. Flag RELINK: the index's blob
 * address is replaced by the address of the blob actually stored.
 *
 * Oracles: only documented statuses (MLOPS_E_CORRUPT for damage,
 * MLOPS_E_NOTFOUND for a missing view or feature, MLOPS_E_VERSION,
 * MLOPS_E_INVALID); a result table has the asked columns; nothing leaks
 * (every allocation is counted). */
#include "core/core.h"
#include "feature/feature_internal.h"
#include "fuzz_common.h"

#define F_RAW_SEGMENT 0x01
#define F_RELINK 0x02

#define SEG_MAGIC "MLFSEG\x01"
#define VIEW "v"

static fz_alloc counts;
static mlops_env *env;

static bool read_status(mlops_status st)
{
    return st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_NOTFOUND ||
           st == MLOPS_E_VERSION || st == MLOPS_E_INVALID || st == MLOPS_E_NOMEM ||
           st == MLOPS_E_TOOBIG;
}

static void put_segment(mlops_store *s, uint64_t seq, const uint8_t *idx, size_t in,
                        const uint8_t *seg, size_t sn, uint8_t flags)
{
    mlops_bytes framed = {0};
    const uint8_t *blob = seg;
    size_t bn = sn;
    if (flags & F_RAW_SEGMENT) {
        mlops_bytes z;
        if (mlops__zstd_compress(&z, env, seg, sn, 1) != MLOPS_OK)
            abort();
        uint8_t *b = malloc(24 + z.len);
        if (b == NULL)
            abort();
        memcpy(b, SEG_MAGIC, 8);
        mlops__put_u64le(b + 8, sn);
        mlops__put_u64le(b + 16, mlops__xxh3_64(seg, sn, 0));
        memcpy(b + 24, z.data, z.len);
        bn = 24 + z.len;
        mlops_bytes_free(&z);
        framed.data = b;
        blob = b;
    }
    mlops_hash128 id;
    if (mlops_store_blob_put(&id, s, blob, bn) != MLOPS_OK)
        abort();
    free(framed.data);
    uint8_t *rec = malloc(in ? in : 1);
    if (rec == NULL)
        abort();
    if (in)
        memcpy(rec, idx, in);
    if (flags & F_RELINK) {
        /* field 1, bytes, length 16: the blob address */
        for (size_t i = 2; i + 18 <= in; i++)
            if (rec[i] == 0x0a && rec[i + 1] == 0x10) {
                memcpy(rec + i + 2, id.bytes, 16);
                break;
            }
    }
    uint8_t key[64];
    size_t k = mlops__fkey(key, 's', VIEW);
    mlops__put_u64be(key + k, seq);
    if (mlops_store_put(s, key, k + 8, rec, in) != MLOPS_OK)
        abort();
    free(rec);
}

static void read_view(mlops_feature_store *fs)
{
    mlops_feature_view *v = NULL;
    mlops_status st = mlops_feature_view_open(&v, fs, VIEW);
    FUZZ_CHECK(read_status(st), "view open gave %d", st);
    FUZZ_CHECK((st == MLOPS_OK) == (v != NULL), "view handle and status disagree");
    if (v == NULL)
        return;
    char *desc = NULL;
    st = mlops_feature_view_describe(&desc, v);
    FUZZ_CHECK(read_status(st), "describe gave %d", st);
    mlops_string_free(env, desc);
    /* the latest rows of up to three stored features */
    const mlops__fdef *d = v->def;
    char refs[3][MLOPS_FEATURE_MAX_NAME * 2 + 8];
    const char *rp[3];
    size_t nr = 0;
    for (size_t i = 0; i < d->n_features && nr < 3; i++) {
        if (strlen(d->features[i].name) > MLOPS_FEATURE_MAX_NAME)
            continue;
        snprintf(refs[nr], sizeof(refs[nr]), "%s:%s", VIEW, d->features[i].name);
        rp[nr] = refs[nr];
        nr++;
    }
    if (nr > 0) {
        mlops_feature_table *t = NULL;
        st = mlops_feature_store_latest(&t, fs, rp, nr, INT64_MIN, INT64_MAX);
        FUZZ_CHECK(read_status(st) || st == MLOPS_E_CALLBACK, "latest gave %d", st);
        FUZZ_CHECK((st == MLOPS_OK) == (t != NULL), "table and status disagree");
        if (t != NULL) {
            FUZZ_CHECK(mlops_feature_table_columns(t) == d->n_keys + 1 + nr,
                       "latest has %zu columns, wanted %zu", mlops_feature_table_columns(t),
                       d->n_keys + 1 + nr);
            mlops_feature_table_free(t);
        }
    }
    mlops_feature_view_close(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (env == NULL)
        env = fz_env_new(&counts);
    if (size > 16384)
        return 0;
    long live = atomic_load(&counts.live);
    fz_in in = {data, size, 0};
    uint8_t flags = fz_u8(&in);
    size_t dn;
    const uint8_t *def = fz_bytes(&in, fz_u16(&in), &dn);
    mlops_store *s = NULL;
    if (mlops_store_open(&s, env, "mem:", NULL) != MLOPS_OK)
        abort();
    uint8_t key[64];
    size_t k = mlops__fkey(key, 'v', VIEW);
    if (mlops_store_put(s, key, k, def, dn) != MLOPS_OK)
        abort();
    for (uint64_t seq = 1; seq <= 4 && !fz_done(&in); seq++) {
        size_t xn, sn;
        const uint8_t *idx = fz_bytes(&in, fz_u16(&in), &xn);
        const uint8_t *seg = fz_bytes(&in, fz_u16(&in), &sn);
        put_segment(s, seq, idx, xn, seg, sn, flags);
    }
    mlops_feature_store *fs = NULL;
    if (mlops_feature_store_open(&fs, s) != MLOPS_OK)
        abort();
    read_view(fs);
    mlops_feature_store_close(fs);
    mlops_store_close(s);
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* API-sequence fuzzer (I9): the input is a program of store operations
 * (put, delete, batches with preconditions, get, range and prefix scans
 * stopped early or not, cursors, blobs whole and streamed, blob get with a
 * size cap, stat, compaction, close and reopen, invalid calls) run against
 * an in-harness model and two backends: `mem:` and the file backend.
 * Checked after every operation: each status, value, version (unchanged
 * without a write, increasing with one), scan and cursor contents and
 * order, blob ids (XXH3-128, the same on both backends) and bytes match the
 * model; invalid calls are refused and change nothing (I7). Every sequence
 * ends with a close and reopen of the file store (recovery from its log)
 * and a comparison of the whole key space; then no allocation may be left
 * and the file backend must have closed every descriptor it opened.
 *
 * A comparison of the whole key space is a full scan (every present key,
 * its value and the order, and so every absent key) plus a get of each key
 * the sequence touched: the gets check versions, which a scan does not
 * carry far enough to compare. A get of a key never touched can only
 * differ from the scan through the lookup path itself, so one input in 8
 * (by length) gets every key: that keeps the cost of an execution in
 * proportion to its operations and not to the 84-key space.
 *
 * The file backend runs its real code over an in-memory file system behind
 * its I/O table (memfs.h), so an open, a few hundred operations and a
 * reopen cost microseconds: durability and real-disk behaviour are the
 * crash sweeps' job (tests/hardening), not this target's. */
#include "bigalloc.h"
#include "fuzz_common.h"
#include "memfs.h"
#include "store/store_internal.h"

/* ---- keys: 1..3 bytes over {0x00, 'a', 'b', 0xff}, so prefixes, the 0x00
 * and 0xff edges and prefix_end carries all happen ---- */

#define NKEYS (4 + 16 + 64)
#define MAXOPS 8

static const uint8_t alphabet[4] = {0x00, 'a', 'b', 0xff};

typedef struct key {
    uint8_t b[3];
    size_t n;
} key;

FZ_ORACLE static key key_from(uint8_t sel, uint8_t chars)
{
    key k = {{0}, (size_t)(sel % 3) + 1};
    for (size_t i = 0; i < k.n; i++)
        k.b[i] = alphabet[(chars >> (2 * i)) & 3];
    return k;
}

FZ_ORACLE static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* ---- the model ---- */

typedef struct slot {
    bool present;
    uint8_t val[64];
    size_t len;
    uint64_t gen; /* the model batch that last wrote the key */
} slot;

static slot model[NKEYS];
static uint64_t model_gen;
/* keys written or read since the last comparison, and in the whole input */
static bool dirty[NKEYS], touched[NKEYS];

FZ_ORACLE static size_t key_index(const key *k)
{
    size_t base = k->n == 1 ? 0 : k->n == 2 ? 4 : 20, idx = 0;
    for (size_t i = 0; i < k->n; i++) {
        size_t c = k->b[i] == 0x00 ? 0 : k->b[i] == 'a' ? 1 : k->b[i] == 'b' ? 2 : 3;
        idx = idx * 4 + c;
    }
    return base + idx;
}

FZ_ORACLE static key key_at(size_t idx)
{
    key k = {{0}, 0};
    size_t rel;
    if (idx < 4) {
        k.n = 1;
        rel = idx;
    } else if (idx < 20) {
        k.n = 2;
        rel = idx - 4;
    } else {
        k.n = 3;
        rel = idx - 20;
    }
    for (size_t i = k.n; i-- > 0;) {
        k.b[i] = alphabet[rel & 3];
        rel >>= 2;
    }
    return k;
}

/* ---- the backends under test ---- */

#define MAXB 2

typedef struct tested {
    const char *name;
    mlops_store *s;
    char uri[4200];
    uint64_t ver[NKEYS];     /* version last seen by get (0: none) */
    uint64_t ver_gen[NKEYS]; /* model generation when it was seen */
} tested;

static tested tb[MAXB];
static size_t ntb;
static mlops_env *env;
static fz_alloc alloc_counts;
static memfs *mfs; /* the file backend's disk, new for every input */

FZ_ORACLE static void open_store(tested *t)
{
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.sync = MLOPS_SYNC_OFF; /* nothing to sync in memory; no syncer thread */
    mlops_status st = mlops__store_open_io(&t->s, env, t->uri, &o, memfs_io(mfs));
    FUZZ_CHECK(st == MLOPS_OK, "open %s gave %d", t->uri, st);
}

FZ_ORACLE static void setup(void)
{
    /* made and freed within the execution: libFuzzer re-runs (and leak
     * checks) every input that ends with more mallocs than frees */
    mfs = memfs_new();
    memset(model, 0, sizeof(model));
    model_gen = 0;
    memset(&alloc_counts, 0, sizeof(alloc_counts));
    env = big_env_new(&alloc_counts); /* blobs go through libzstd */
    ntb = 0;
    memset(tb, 0, sizeof(tb));
    tb[0].name = "mem";
    snprintf(tb[0].uri, sizeof(tb[0].uri), "mem:");
    open_store(&tb[ntb++]);
    tb[1].name = "file";
    snprintf(tb[1].uri, sizeof(tb[1].uri), "file:/store");
    open_store(&tb[ntb++]);
}

FZ_ORACLE static void teardown(void)
{
    for (size_t i = 0; i < ntb; i++)
        mlops_store_close(tb[i].s);
    mlops_env_free(env);
    FUZZ_CHECK(atomic_load(&alloc_counts.live) == 0, "%ld blocks leaked",
               atomic_load(&alloc_counts.live));
    FUZZ_CHECK(memfs_open_fds(mfs) == 0, "the file backend left %zu descriptors open",
               memfs_open_fds(mfs));
    memfs_free(mfs);
    mfs = NULL;
}

/* ---- operations ---- */

typedef struct bop {
    uint32_t kind;
    key k;
    const uint8_t *v;
    size_t vlen;
    uint8_t ver_mode; /* REQUIRE_VERSION: 0 current, 1 stale, 2 bogus */
} bop;

/* The model's verdict on a batch: OK or CONFLICT; applies it on OK. */
FZ_ORACLE static mlops_status model_apply(const bop *ops, size_t n, bool apply)
{
    for (size_t i = 0; i < n; i++) {
        const slot *s = &model[key_index(&ops[i].k)];
        switch (ops[i].kind) {
        case MLOPS_OP_REQUIRE_ABSENT:
            if (s->present)
                return MLOPS_E_CONFLICT;
            break;
        case MLOPS_OP_REQUIRE_VALUE:
            if (!s->present || s->len != ops[i].vlen ||
                (s->len && memcmp(s->val, ops[i].v, s->len) != 0))
                return MLOPS_E_CONFLICT;
            break;
        case MLOPS_OP_REQUIRE_VERSION:
            if (!s->present || ops[i].ver_mode != 0)
                return MLOPS_E_CONFLICT;
            break;
        default:
            break;
        }
    }
    if (!apply)
        return MLOPS_OK;
    bool writes = false;
    for (size_t i = 0; i < n; i++)
        writes |= ops[i].kind == MLOPS_OP_PUT || ops[i].kind == MLOPS_OP_DELETE;
    if (writes)
        model_gen++;
    for (size_t i = 0; i < n; i++) {
        size_t idx = key_index(&ops[i].k);
        slot *s = &model[idx];
        dirty[idx] = touched[idx] = true;
        if (ops[i].kind == MLOPS_OP_PUT) {
            s->present = true;
            s->len = ops[i].vlen;
            if (s->len)
                memcpy(s->val, ops[i].v, s->len);
            s->gen = model_gen;
        } else if (ops[i].kind == MLOPS_OP_DELETE) {
            s->present = false;
            s->gen = model_gen;
        }
    }
    return MLOPS_OK;
}

/* Read a key from a backend, check it against the model, remember its version. */
FZ_ORACLE static uint64_t check_get(tested *t, const key *k)
{
    size_t idx = key_index(k);
    const slot *m = &model[idx];
    dirty[idx] = touched[idx] = true;
    mlops_bytes v;
    uint64_t ver = 0;
    mlops_status st = mlops_store_get(&v, &ver, t->s, k->b, k->n);
    if (!m->present) {
        FUZZ_CHECK(st == MLOPS_E_NOTFOUND, "%s: absent key gave %d", t->name, st);
        FUZZ_CHECK(v.data == NULL && v.len == 0, "%s: output set on NOTFOUND", t->name);
        return 0;
    }
    FUZZ_CHECK(st == MLOPS_OK, "%s: present key gave %d", t->name, st);
    FUZZ_CHECK(v.len == m->len && (v.len == 0 || memcmp(v.data, m->val, v.len) == 0),
               "%s: value differs from the model (%zu vs %zu bytes)", t->name, v.len, m->len);
    mlops_bytes_free(&v);
    FUZZ_CHECK(ver > 0, "%s: version 0", t->name);
    if (t->ver[idx]) {
        if (t->ver_gen[idx] == m->gen)
            FUZZ_CHECK(ver == t->ver[idx], "%s: version moved without a write", t->name);
        else
            FUZZ_CHECK(ver > t->ver[idx], "%s: version did not increase on rewrite", t->name);
    }
    t->ver[idx] = ver;
    t->ver_gen[idx] = m->gen;
    return ver;
}

FZ_ORACLE static void run_batch(const bop *ops, size_t n)
{
    mlops_status want = model_apply(ops, n, false);
    for (size_t b = 0; b < ntb; b++) {
        tested *t = &tb[b];
        mlops_batch *bt = NULL;
        mlops_status st = mlops_batch_create(&bt, t->s);
        FUZZ_CHECK(st == MLOPS_OK, "batch_create %d", st);
        for (size_t i = 0; i < n; i++) {
            const bop *o = &ops[i];
            switch (o->kind) {
            case MLOPS_OP_PUT:
                st = mlops_batch_put(bt, o->k.b, o->k.n, o->v, o->vlen);
                break;
            case MLOPS_OP_DELETE:
                st = mlops_batch_delete(bt, o->k.b, o->k.n);
                break;
            case MLOPS_OP_REQUIRE_ABSENT:
                st = mlops_batch_require_absent(bt, o->k.b, o->k.n);
                break;
            case MLOPS_OP_REQUIRE_VALUE:
                st = mlops_batch_require_value(bt, o->k.b, o->k.n, o->v, o->vlen);
                break;
            default: {
                uint64_t ver = model[key_index(&o->k)].present ? check_get(t, &o->k) : 0;
                if (o->ver_mode == 1)
                    ver = ver > 1 ? ver - 1 : 0;
                else if (o->ver_mode == 2)
                    ver = ver + 1000000;
                if (ver == 0)
                    ver = UINT64_MAX; /* absent or no older version: never matches */
                st = mlops_batch_require_version(bt, o->k.b, o->k.n, ver);
            }
            }
            FUZZ_CHECK(st == MLOPS_OK, "%s: adding op %zu gave %d", t->name, i, st);
        }
        FUZZ_CHECK(mlops_batch_count(bt) == n, "batch count");
        st = mlops_store_apply(t->s, bt);
        FUZZ_CHECK(st == want, "%s: apply gave %d, model says %d", t->name, st, want);
        mlops_batch_free(bt);
    }
    model_apply(ops, n, true);
}

typedef struct scan_rec {
    uint8_t keys[NKEYS][3];
    size_t klen[NKEYS];
    size_t n;
    size_t stop_after; /* 0: never */
    bool bad;
} scan_rec;

FZ_ORACLE static int scan_cb(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, uint64_t ver,
                             void *payload)
{
    scan_rec *r = payload;
    key kk = {{0}, kl};
    if (kl < 1 || kl > 3 || r->n >= NKEYS || ver == 0) {
        r->bad = true;
        return 1;
    }
    memcpy(kk.b, k, kl);
    const slot *m = &model[key_index(&kk)];
    if (!m->present || m->len != vl || (vl && memcmp(m->val, v, vl) != 0))
        r->bad = true;
    memcpy(r->keys[r->n], k, kl);
    r->klen[r->n] = kl;
    r->n++;
    return r->stop_after && r->n >= r->stop_after;
}

/* Every key index in bytewise key order, made once. */
static size_t sorted_idx[NKEYS];
static bool sorted_ready;

FZ_ORACLE static void sort_keys(void)
{
    key all[NKEYS];
    for (size_t i = 0; i < NKEYS; i++) {
        all[i] = key_at(i);
        sorted_idx[i] = i;
    }
    for (size_t i = 1; i < NKEYS; i++)
        for (size_t j = i; j > 0 && keycmp(all[sorted_idx[j - 1]].b, all[sorted_idx[j - 1]].n,
                                           all[sorted_idx[j]].b, all[sorted_idx[j]].n) > 0;
             j--) {
            size_t t = sorted_idx[j];
            sorted_idx[j] = sorted_idx[j - 1];
            sorted_idx[j - 1] = t;
        }
    sorted_ready = true;
}

/* Keys of the model in [lo, hi) (hi NULL: unbounded), in order. */
FZ_ORACLE static size_t model_range(key *out, const uint8_t *lo, size_t lol, const uint8_t *hi,
                                    size_t hil)
{
    if (!sorted_ready)
        sort_keys();
    size_t m = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        if (!model[sorted_idx[i]].present)
            continue;
        key k = key_at(sorted_idx[i]);
        if (lol && keycmp(k.b, k.n, lo, lol) < 0)
            continue;
        if (hil && keycmp(k.b, k.n, hi, hil) >= 0)
            continue;
        out[m++] = k;
    }
    return m;
}

FZ_ORACLE static void check_scan(const key *lo, const key *hi, size_t stop_after, bool prefix)
{
    key want[NKEYS];
    uint8_t endb[3];
    size_t n;
    if (prefix) {
        size_t el = 0;
        size_t l = lo->n;
        while (l > 0 && lo->b[l - 1] == 0xff)
            l--;
        if (l) {
            memcpy(endb, lo->b, l);
            endb[l - 1]++;
            el = l;
        }
        n = model_range(want, lo->b, lo->n, el ? endb : NULL, el);
    } else {
        n = model_range(want, lo ? lo->b : NULL, lo ? lo->n : 0, hi ? hi->b : NULL,
                        hi ? hi->n : 0);
    }
    for (size_t b = 0; b < ntb; b++) {
        scan_rec r;
        memset(&r, 0, sizeof(r));
        r.stop_after = stop_after;
        mlops_status st;
        if (prefix)
            st = mlops_store_scan_prefix(tb[b].s, lo->b, lo->n, scan_cb, &r);
        else
            st = mlops_store_scan(tb[b].s, lo ? lo->b : NULL, lo ? lo->n : 0, hi ? hi->b : NULL,
                                  hi ? hi->n : 0, scan_cb, &r);
        FUZZ_CHECK(!r.bad, "%s: scan returned a pair the model does not have", tb[b].name);
        size_t expect = stop_after && stop_after <= n ? stop_after : n;
        mlops_status want_st = stop_after && stop_after <= n ? MLOPS_E_CALLBACK : MLOPS_OK;
        FUZZ_CHECK(st == want_st, "%s: scan gave %d, want %d", tb[b].name, st, want_st);
        FUZZ_CHECK(r.n == expect, "%s: scan saw %zu pairs, want %zu", tb[b].name, r.n, expect);
        for (size_t i = 0; i < r.n; i++)
            FUZZ_CHECK(keycmp(r.keys[i], r.klen[i], want[i].b, want[i].n) == 0,
                       "%s: scan pair %zu out of order", tb[b].name, i);
    }
}

FZ_ORACLE static void check_iter(const key *lo, const key *hi)
{
    key want[NKEYS];
    size_t n = model_range(want, lo ? lo->b : NULL, lo ? lo->n : 0, hi ? hi->b : NULL,
                           hi ? hi->n : 0);
    for (size_t b = 0; b < ntb; b++) {
        mlops_store_iter *it = NULL;
        mlops_status st = mlops_store_iter_open(&it, tb[b].s, lo ? lo->b : NULL, lo ? lo->n : 0,
                                                hi ? hi->b : NULL, hi ? hi->n : 0);
        FUZZ_CHECK(st == MLOPS_OK, "%s: iter_open %d", tb[b].name, st);
        size_t i = 0;
        const uint8_t *k, *v;
        size_t kl, vl;
        while ((st = mlops_store_iter_next(it, &k, &kl, &v, &vl)) == MLOPS_OK) {
            FUZZ_CHECK(i < n, "%s: cursor returned more than %zu pairs", tb[b].name, n);
            FUZZ_CHECK(keycmp(k, kl, want[i].b, want[i].n) == 0, "%s: cursor pair %zu differs",
                       tb[b].name, i);
            const slot *m = &model[key_index(&want[i])];
            FUZZ_CHECK(vl == m->len && (vl == 0 || memcmp(v, m->val, vl) == 0),
                       "%s: cursor value %zu differs", tb[b].name, i);
            i++;
        }
        FUZZ_CHECK(st == MLOPS_E_NOTFOUND && i == n, "%s: cursor ended with %d after %zu/%zu",
                   tb[b].name, st, i, n);
        mlops_store_iter_free(it);
    }
}

/* blobs the model knows: their ids and bytes (borrowed from the input) */
#define MAXBLOBS 16
static struct {
    mlops_hash128 id;
    const uint8_t *p;
    size_t n;
} blobs[MAXBLOBS];
static size_t nblobs;

FZ_ORACLE static void blob_put(const uint8_t *p, size_t n)
{
    mlops_hash128 first;
    for (size_t b = 0; b < ntb; b++) {
        mlops_hash128 id;
        mlops_status st;
        if (n > 4 && (p[0] & 1)) {
            /* streamed in two pieces */
            mlops_blob_writer *w = NULL;
            st = mlops_blob_writer_open(&w, tb[b].s);
            FUZZ_CHECK(st == MLOPS_OK, "writer_open %d", st);
            st = mlops_blob_writer_write(w, p, n / 2);
            FUZZ_CHECK(st == MLOPS_OK, "write %d", st);
            st = mlops_blob_writer_write(w, p + n / 2, n - n / 2);
            FUZZ_CHECK(st == MLOPS_OK, "write %d", st);
            st = mlops_blob_writer_commit(&id, w);
            mlops_blob_writer_free(w);
        } else {
            st = mlops_store_blob_put(&id, tb[b].s, n ? p : NULL, n);
        }
        FUZZ_CHECK(st == MLOPS_OK, "%s: blob put %d", tb[b].name, st);
        mlops_hash128 real;
        mlops_hash128_of(&real, p, n);
        FUZZ_CHECK(memcmp(real.bytes, id.bytes, 16) == 0, "%s: blob id is not XXH3-128",
                   tb[b].name);
        if (b == 0)
            first = id;
        else
            FUZZ_CHECK(memcmp(first.bytes, id.bytes, 16) == 0, "backends disagree on blob ids");
    }
    if (nblobs < MAXBLOBS) {
        blobs[nblobs].id = first;
        blobs[nblobs].p = p;
        blobs[nblobs].n = n;
        nblobs++;
    }
}

FZ_ORACLE static void blob_check(size_t which, uint64_t max)
{
    for (size_t b = 0; b < ntb; b++) {
        mlops_bytes out;
        if (nblobs == 0 || which >= nblobs) {
            mlops_hash128 id;
            memset(id.bytes, (int)which, 16);
            mlops_status st = mlops_store_blob_get(&out, tb[b].s, &id, 0);
            bool known = false;
            for (size_t i = 0; i < nblobs; i++)
                known |= memcmp(blobs[i].id.bytes, id.bytes, 16) == 0;
            if (!known)
                FUZZ_CHECK(st == MLOPS_E_NOTFOUND, "%s: unknown blob gave %d", tb[b].name, st);
            mlops_bytes_free(&out);
            uint64_t sz = 7;
            st = mlops_store_blob_stat(&sz, tb[b].s, &id);
            if (!known)
                FUZZ_CHECK(st == MLOPS_E_NOTFOUND, "%s: unknown blob stat gave %d", tb[b].name,
                           st);
            continue;
        }
        const mlops_hash128 *id = &blobs[which].id;
        size_t n = blobs[which].n;
        mlops_status st = mlops_store_blob_get(&out, tb[b].s, id, max);
        if (max && n > max) {
            FUZZ_CHECK(st == MLOPS_E_TOOBIG, "%s: blob over max gave %d", tb[b].name, st);
        } else {
            FUZZ_CHECK(st == MLOPS_OK && out.len == n &&
                           (n == 0 || memcmp(out.data, blobs[which].p, n) == 0),
                       "%s: blob read back wrong (%d)", tb[b].name, st);
        }
        mlops_bytes_free(&out);
        uint64_t sz = 0;
        st = mlops_store_blob_stat(&sz, tb[b].s, id);
        FUZZ_CHECK(st == MLOPS_OK && sz == n, "%s: blob stat %d size %llu want %zu", tb[b].name,
                   st, (unsigned long long)sz, n);
    }
}

/* Whether anything but reads ran since the last comparison: a second one
 * of the same state checks nothing new. */
static bool changed;

/* How much of the key space a comparison gets, besides its full scan. */
typedef enum { KEYS_DIRTY, KEYS_TOUCHED, KEYS_ALL } key_set;

FZ_ORACLE static void check_all(key_set which)
{
    changed = false;
    for (size_t i = 0; i < NKEYS; i++) {
        if (which == KEYS_DIRTY ? !dirty[i] : which == KEYS_TOUCHED ? !touched[i] : false)
            continue;
        key k = key_at(i);
        for (size_t b = 0; b < ntb; b++)
            check_get(&tb[b], &k);
    }
    memset(dirty, 0, sizeof(dirty));
    check_scan(NULL, NULL, 0, false);
}

FZ_ORACLE static key read_key(fz_in *in)
{
    uint8_t sel = fz_u8(in);
    return key_from(sel, fz_u8(in));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    memset(dirty, 0, sizeof(dirty));
    memset(touched, 0, sizeof(touched));
    nblobs = 0;
    changed = true;
    fz_in in = {data, size, 0};
    for (int step = 0; step < 400 && !fz_done(&in); step++) {
        uint8_t op = fz_u8(&in) % 12;
        if (op != 2 && op != 4 && op != 5 && op != 6 && op != 8 && op != 11)
            changed = true;
        switch (op) {
        case 0: { /* put */
            bop o = {MLOPS_OP_PUT, read_key(&in), NULL, 0, 0};
            o.v = fz_bytes(&in, fz_u8(&in) % 17, &o.vlen);
            run_batch(&o, 1);
            break;
        }
        case 1: { /* delete */
            bop o = {MLOPS_OP_DELETE, read_key(&in), NULL, 0, 0};
            run_batch(&o, 1);
            break;
        }
        case 2: { /* get */
            key k = read_key(&in);
            for (size_t b = 0; b < ntb; b++)
                check_get(&tb[b], &k);
            break;
        }
        case 3: { /* batch with preconditions */
            bop ops[MAXOPS];
            size_t n = fz_u8(&in) % MAXOPS + 1;
            for (size_t i = 0; i < n; i++) {
                uint8_t kind = fz_u8(&in);
                ops[i].kind = (uint32_t)(kind % 5) + 1;
                ops[i].k = read_key(&in);
                ops[i].v = NULL;
                ops[i].vlen = 0;
                ops[i].ver_mode = (uint8_t)((kind >> 4) % 3);
                if (ops[i].kind == MLOPS_OP_PUT || ops[i].kind == MLOPS_OP_REQUIRE_VALUE) {
                    if ((kind & 8) && ops[i].kind == MLOPS_OP_REQUIRE_VALUE &&
                        model[key_index(&ops[i].k)].present) {
                        /* often ask for the value that is there */
                        const slot *s = &model[key_index(&ops[i].k)];
                        ops[i].v = s->val;
                        ops[i].vlen = s->len;
                    } else {
                        ops[i].v = fz_bytes(&in, fz_u8(&in) % 9, &ops[i].vlen);
                    }
                }
            }
            /* the REQUIRE_VALUE pointer into the model must survive the apply */
            static uint8_t copies[MAXOPS][64];
            for (size_t i = 0; i < n; i++)
                if (ops[i].vlen && ops[i].v >= &model[0].val[0] &&
                    ops[i].v < (const uint8_t *)(model + NKEYS)) {
                    memcpy(copies[i], ops[i].v, ops[i].vlen);
                    ops[i].v = copies[i];
                }
            run_batch(ops, n);
            break;
        }
        case 4: { /* range scan, maybe stopped early */
            key lo = read_key(&in), hi = read_key(&in);
            uint8_t f = fz_u8(&in);
            check_scan((f & 1) ? &lo : NULL, (f & 2) ? &hi : NULL, (f >> 2) % 5, false);
            break;
        }
        case 5: { /* prefix scan */
            key p = read_key(&in);
            check_scan(&p, NULL, fz_u8(&in) % 4, true);
            break;
        }
        case 6: { /* cursor */
            key lo = read_key(&in), hi = read_key(&in);
            uint8_t f = fz_u8(&in);
            check_iter((f & 1) ? &lo : NULL, (f & 2) ? &hi : NULL);
            break;
        }
        case 7: { /* blob put */
            size_t n;
            const uint8_t *p = fz_bytes(&in, fz_u16(&in) % 3000, &n);
            blob_put(p, n);
            break;
        }
        case 8: { /* blob get / stat */
            uint8_t w = fz_u8(&in);
            blob_check(w % (MAXBLOBS + 2), (w & 0x80) ? fz_u8(&in) : 0);
            break;
        }
        case 9: { /* reopen persistent backends, compact */
            uint8_t w = fz_u8(&in);
            for (size_t b = 1; b < ntb; b++) {
                if (w & 1) {
                    mlops_status st = mlops_store_compact(tb[b].s);
                    FUZZ_CHECK(st == MLOPS_OK, "%s: compact %d", tb[b].name, st);
                } else {
                    mlops_store_close(tb[b].s);
                    tb[b].s = NULL;
                    open_store(&tb[b]);
                }
            }
            /* a reopen or a compaction rewrites every key the input wrote */
            check_all(KEYS_TOUCHED);
            break;
        }
        case 10: { /* invalid calls change nothing (I7) */
            uint8_t w = fz_u8(&in) % 4;
            for (size_t b = 0; b < ntb; b++) {
                mlops_status st;
                if (w == 0)
                    st = mlops_store_put(tb[b].s, "k", 0, "v", 1);
                else if (w == 1)
                    st = mlops_store_put(tb[b].s, "k", MLOPS_STORE_MAX_KEY + 1, "v", 1);
                else if (w == 2)
                    st = mlops_store_put(tb[b].s, "k", 1, NULL, 5);
                else
                    st = mlops_store_delete(tb[b].s, NULL, 0);
                FUZZ_CHECK(st == (w == 1 ? MLOPS_E_TOOBIG : MLOPS_E_INVALID),
                           "%s: invalid call %u gave %d", tb[b].name, w, st);
            }
            break;
        }
        default: /* full comparison, unless only reads ran since the last */
            if (changed)
                check_all(KEYS_DIRTY);
        }
    }
    check_all(KEYS_DIRTY);
    /* always end with recovery: reopen the file store from its log */
    for (size_t b = 1; b < ntb; b++) {
        mlops_store_close(tb[b].s);
        tb[b].s = NULL;
        open_store(&tb[b]);
    }
    check_all((size & 7) == 0 ? KEYS_ALL : KEYS_TOUCHED);
    teardown();
    return 0;
}

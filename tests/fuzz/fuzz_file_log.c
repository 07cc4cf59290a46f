/* SPDX-License-Identifier: MIT */
/* Fuzz the file backend's readers (F13, C-catalogue): a store directory is
 * built from the input in an in-memory file system (memio.c, plugged into
 * the backend's I/O table) and opened; everything is read back.
 *
 * Input: flags (1 byte), superblock length (u16 LE), superblock bytes,
 * log length (u16 LE), log bytes, then (flag BLOB) a 16-byte blob address
 * and the blob file. The log is named after the generation the superblock
 * holds. Flags can repair the superblock, log header and record checksums
 * after mutation, so mutations reach the record decoder and recovery; open
 * writable (which cuts torn tails) or read-only; add the blob; run the
 * full check (which reads everything again).
 *
 * Oracles: open gives a documented status; an opened store never returns a
 * key/value pair that is not a put of some record with a valid checksum
 * (checked by an independent walk of the log, docs/file-format.md); get
 * agrees with scan; check never crashes; a blob read back has its address
 * as its hash; a writable open (which cuts torn tails) still accepts a
 * batch that a reopen then reads back; nothing leaks. */
#include "core/core.h"
#include "fuzz_common.h"
#include "memio.h"

#define F_FIX_SUPER 0x01
#define F_FIX_LOGHDR 0x02
#define F_FIX_RECORDS 0x04
#define F_WRITABLE 0x08
#define F_BLOB 0x10
#define F_CHECK 0x20 /* also run the full check (slow: it reads everything again) */

#define LOG_HDR 64
#define REC_HDR 32
#define REC_SEED 0x6d6c6f70736c6f67ULL

static fz_alloc counts;
static mlops_env *env;

typedef struct kv {
    const uint8_t *k, *v;
    size_t kn, vn;
} kv;

#define MAX_KV 4096
static kv puts_seen[MAX_KV];
static size_t n_puts;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rec_sum(const uint8_t *r, size_t n)
{
    return mlops__xxh3_64(r + REC_HDR, n, mlops__xxh3_64(r, 24, REC_SEED));
}

static bool varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64 && *pos < len; s += 7) {
        uint8_t b = p[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static bool bytes(const uint8_t *p, size_t len, size_t *pos, const uint8_t **b, size_t *n)
{
    uint64_t l;
    if (!varint(p, len, pos, &l) || l > len - *pos)
        return false;
    *b = p + *pos;
    *n = (size_t)l;
    *pos += (size_t)l;
    return true;
}

/* Every put of every record with a valid checksum at any 8-aligned offset:
 * a superset of what the store may ever return. */
static void collect_valid(const uint8_t *log, size_t len)
{
    n_puts = 0;
    for (size_t off = LOG_HDR; off + REC_HDR <= len; off += 8) {
        const uint8_t *r = log + off;
        uint32_t n = get32(r);
        uint8_t type = r[4];
        if (n > len - off - REC_HDR || (type != 1 && type != 2))
            continue;
        if (get64(r + 24) != rec_sum(r, n))
            continue;
        const uint8_t *p = r + REC_HDR;
        size_t pos = 0;
        uint64_t count, ver;
        if (!varint(p, n, &pos, &count))
            continue;
        for (uint64_t i = 0; i < count && n_puts < MAX_KV; i++) {
            uint8_t kind = 1;
            if (type == 1) {
                if (pos >= n)
                    break;
                kind = p[pos++];
            }
            kv e;
            if (!bytes(p, n, &pos, &e.k, &e.kn))
                break;
            if (kind == 1) {
                if (!bytes(p, n, &pos, &e.v, &e.vn))
                    break;
                puts_seen[n_puts++] = e;
            }
            if (type == 2 && !varint(p, n, &pos, &ver))
                break;
        }
    }
}

static bool was_put(const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    for (size_t i = 0; i < n_puts; i++)
        if (puts_seen[i].kn == kn && puts_seen[i].vn == vn && memcmp(puts_seen[i].k, k, kn) == 0 &&
            (vn == 0 || memcmp(puts_seen[i].v, v, vn) == 0))
            return true;
    return false;
}

static void fix_records(uint8_t *log, size_t len)
{
    size_t off = LOG_HDR;
    while (off + REC_HDR <= len) {
        uint8_t *r = log + off;
        uint32_t n = get32(r);
        if (n > len - off - REC_HDR)
            break;
        put64(r + 24, rec_sum(r, n));
        off += REC_HDR + (((size_t)n + 7) & ~(size_t)7);
    }
}

typedef struct scan_ctx {
    kv *got; /* copies, to read back after the scan */
    uint64_t *vers;
    size_t n;
} scan_ctx;

static int scan_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    scan_ctx *c = payload;
    FUZZ_CHECK(key_len > 0, "an empty key was returned");
    FUZZ_CHECK(was_put(key, key_len, value, value_len),
               "scan returned a pair (key %zu bytes, value %zu bytes) that no valid record holds",
               key_len, value_len);
    if (c->n < MAX_KV) {
        uint8_t *k = malloc(key_len), *v = malloc(value_len ? value_len : 1);
        if (k == NULL || v == NULL)
            abort();
        memcpy(k, key, key_len);
        if (value_len)
            memcpy(v, value, value_len);
        c->got[c->n] = (kv){k, v, key_len, value_len};
        c->vers[c->n++] = version;
    }
    return 0;
}

/* get agrees with scan on every key */
static void get_all(mlops_store *s, scan_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const kv *e = &c->got[i];
        mlops_bytes got;
        uint64_t gv = 0;
        mlops_status st = mlops_store_get(&got, &gv, s, e->k, e->kn);
        FUZZ_CHECK(st == MLOPS_OK, "get of a scanned key gave %d", st);
        FUZZ_CHECK(got.len == e->vn && (e->vn == 0 || memcmp(got.data, e->v, e->vn) == 0),
                   "get and scan disagree");
        FUZZ_CHECK(gv == c->vers[i], "get version %llu, scan version %llu",
                   (unsigned long long)gv, (unsigned long long)c->vers[i]);
        mlops_bytes_free(&got);
        free((void *)e->k);
        free((void *)e->v);
    }
}

static mlops_status open_mem(mlops_store **out, bool writable)
{
    mlops_store_options o;
    mlops_store_options_init(&o, MLOPS_STORE_OPTIONS_VERSION);
    o.flags = writable ? MLOPS_STORE_NOCREATE : MLOPS_STORE_READONLY;
    o.lock_timeout_ms = -1;
    mlops_backend *b = NULL;
    *out = NULL;
    mlops_status st = mlops__file_backend_new_io(&b, env, MEMIO_ROOT, &o, memio_table());
    if (st != MLOPS_OK) {
        FUZZ_CHECK(b == NULL, "failed open returned a backend");
        FUZZ_CHECK(mlops_error_message()[0] != '\0', "failure without a message");
        return st;
    }
    st = mlops_store_open_backend(out, env, b);
    if (st != MLOPS_OK)
        b->ops->close(b);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (env == NULL)
        env = fz_env_new(&counts);
    if (size > 8192)
        return 0;
    long live = atomic_load(&counts.live);
    fz_in in = {data, size, 0};
    uint8_t flags = fz_u8(&in);
    size_t sn, ln, bn = 0, hn = 0;
    const uint8_t *sp = fz_bytes(&in, fz_u16(&in), &sn);
    const uint8_t *lp = fz_bytes(&in, (flags & F_BLOB) ? fz_u16(&in) : size, &ln);
    const uint8_t *hp = NULL, *bp = NULL;
    if (flags & F_BLOB) {
        hp = fz_bytes(&in, 16, &hn);
        bp = fz_bytes(&in, size, &bn);
    }

    uint8_t *super = malloc(sn ? sn : 1), *log = malloc(ln ? ln : 1);
    if (super == NULL || log == NULL)
        abort();
    if (sn)
        memcpy(super, sp, sn);
    if (ln)
        memcpy(log, lp, ln);
    if ((flags & F_FIX_SUPER) && sn >= 64)
        put64(super + 56, mlops__xxh3_64(super, 56, 0));
    if ((flags & F_FIX_LOGHDR) && ln >= LOG_HDR)
        put64(log + 56, mlops__xxh3_64(log, 56, 0));
    if (flags & F_FIX_RECORDS)
        fix_records(log, ln);

    memio_reset();
    memio_put(NULL, "superblock", super, sn);
    char lname[40];
    snprintf(lname, sizeof(lname), "log-%016llx",
             (unsigned long long)(sn >= 32 ? get64(super + 24) : 1));
    memio_put(NULL, lname, log, ln);
    mlops_hash128 bid;
    memset(&bid, 0, sizeof(bid));
    if (hn == 16) {
        memcpy(bid.bytes, hp, 16);
        char hex[33], sub[16];
        mlops__hex(hex, bid.bytes, 16);
        snprintf(sub, sizeof(sub), "blobs/%.2s", hex);
        memio_put(sub, hex, bp, bn);
    }
    collect_valid(log, ln);

    bool writable = (flags & F_WRITABLE) != 0;
    mlops_store *s = NULL;
    mlops_status st = open_mem(&s, writable);
    FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION ||
                   st == MLOPS_E_NOTFOUND || st == MLOPS_E_INVALID,
               "open gave %d", st);
    if (st == MLOPS_OK) {
        static kv got[MAX_KV];
        static uint64_t vers[MAX_KV];
        scan_ctx c = {got, vers, 0};
        st = mlops_store_scan(s, NULL, 0, NULL, 0, scan_cb, &c);
        FUZZ_CHECK(st == MLOPS_OK, "scan of an opened store gave %d", st);
        get_all(s, &c);
        if (flags & F_CHECK) {
            char *report = NULL;
            st = mlops_store_check(&report, s);
            FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION,
                       "check gave %d", st);
            FUZZ_CHECK((st == MLOPS_OK || st == MLOPS_E_CORRUPT) == (report != NULL),
                       "check report and status disagree");
            FUZZ_CHECK(st != MLOPS_OK || report[0] == '\0', "a clean check with a report: %s",
                       report);
            mlops_string_free(env, report);
        }
        if (hn == 16) {
            mlops_bytes b;
            st = mlops_store_blob_get(&b, s, &bid, 1u << 20);
            FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_NOTFOUND ||
                           st == MLOPS_E_TOOBIG,
                       "blob get gave %d", st);
            if (st == MLOPS_OK) {
                mlops_hash128 h;
                mlops__xxh3_128(&h, b.data, b.len);
                FUZZ_CHECK(memcmp(h.bytes, bid.bytes, 16) == 0,
                           "blob of %zu bytes returned under another address", b.len);
                mlops_bytes_free(&b);
            }
        }
        bool wrote = false;
        if (writable) {
            static const char key[] = "\xff" "fuzz-key";
            st = mlops_store_put(s, key, sizeof(key) - 1, "v", 1);
            FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_INVALID || st == MLOPS_E_CORRUPT ||
                           st == MLOPS_E_VERSION,
                       "put gave %d", st);
            wrote = st == MLOPS_OK;
        }
        mlops_store_close(s);
        if (wrote) {
            /* what was acknowledged must be there after a reopen */
            st = open_mem(&s, false);
            FUZZ_CHECK(st == MLOPS_OK, "reopen after a put gave %d", st);
            mlops_bytes back;
            st = mlops_store_get(&back, NULL, s, "\xff" "fuzz-key", 9);
            FUZZ_CHECK(st == MLOPS_OK && back.len == 1 && back.data[0] == 'v',
                       "acknowledged put lost on reopen (%d)", st);
            mlops_bytes_free(&back);
            mlops_store_close(s);
        }
    }
    free(super);
    free(log);
    /* as many frees as mallocs in every run (else libFuzzer runs LSan) */
    memio_reset();
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

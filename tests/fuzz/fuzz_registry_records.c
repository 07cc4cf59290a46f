/* SPDX-License-Identifier: MIT */
/* Fuzz the model registry's record decoders (F13, R6, M3): the first byte
 * picks the model head, version or history event decoder, or the head
 * query the resolver runs on the raw head bytes; the rest is the record.
 *
 * Oracles: only MLOPS_OK, MLOPS_E_CORRUPT, MLOPS_E_VERSION (or
 * MLOPS_E_NOMEM); a record that decodes re-encodes to bytes that decode
 * and encode to the very same bytes (unknown fields kept, R6); the head
 * query agrees with the decoded head on every head that decodes; nothing
 * leaks. */
#include "fuzz_common.h"
#include "registry/registry_internal.h"

static fz_alloc counts;
static mlops_env *env;

static bool decoded_status(mlops_status st)
{
    return st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION ||
           st == MLOPS_E_NOMEM;
}

static void same_bytes(const mlops__buf *a, const mlops__buf *b, const char *what)
{
    FUZZ_CHECK(a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0),
               "%s: re-encoding is not stable (%zu vs %zu bytes)", what, a->len, b->len);
}

#define ROUND_TRIP(type, decode, encode, release, what)                                            \
    do {                                                                                           \
        type x;                                                                                    \
        mlops_status st = decode(&x, env, p, n);                                                   \
        FUZZ_CHECK(decoded_status(st), "%s decode gave %d", what, st);                             \
        if (st != MLOPS_OK)                                                                        \
            break;                                                                                 \
        mlops__buf e1, e2;                                                                         \
        st = encode(&e1, env, &x);                                                                 \
        FUZZ_CHECK(st == MLOPS_OK, "%s encode of a decoded record gave %d", what, st);             \
        type y;                                                                                    \
        st = decode(&y, env, e1.data, e1.len);                                                     \
        FUZZ_CHECK(st == MLOPS_OK, "%s: our own encoding does not decode (%d)", what, st);         \
        st = encode(&e2, env, &y);                                                                 \
        FUZZ_CHECK(st == MLOPS_OK, "%s encode gave %d", what, st);                                 \
        same_bytes(&e1, &e2, what);                                                                \
        mlops__buf_free(&e1);                                                                      \
        mlops__buf_free(&e2);                                                                      \
        release(env, &x);                                                                          \
        release(env, &y);                                                                          \
    } while (0)

/* What mlops__registry_head_query must find, from the decoded head. */
static int64_t expect_query(const reg_head *h, int kind, int64_t version, uint32_t stage,
                            const char *alias)
{
    int64_t out = 0, best_ms = 0;
    if (kind == 3) {
        for (size_t i = 0; i < h->n_aliases; i++)
            if (strcmp(h->aliases[i].name, alias) == 0)
                out = h->aliases[i].version;
        return out;
    }
    for (size_t i = 0; i < h->n_vers; i++) {
        const reg_vstate *v = &h->vers[i];
        if (kind == 1 && v->version >= version)
            return v->version == version ? version : 0;
        if (kind == 2 && v->stage == stage && (out == 0 || v->stage_ms >= best_ms)) {
            out = v->version;
            best_ms = v->stage_ms;
        } else if (kind == 4)
            out = v->version;
    }
    return out;
}

static void query(const uint8_t *p, size_t n, uint8_t sel)
{
    /* the query's parameters come from the end of the input */
    int kind = 1 + sel % 4;
    int64_t version = 1 + (n ? p[n - 1] % 8 : 0);
    uint32_t stage = n > 1 ? p[n - 2] % 5 : 0;
    char alias[8] = "champ";
    if (n > 2 && p[n - 3] < 0x20) {
        alias[0] = (char)('a' + p[n - 3] % 26);
        alias[1] = 0;
    }
    int64_t out = -1, last = -1;
    mlops_status st =
        mlops__registry_head_query(&out, &last, p, n, kind, version, stage, alias);
    FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION,
               "head query gave %d", st);
    reg_head h;
    mlops_status dst = mlops__registry_head_decode(&h, env, p, n);
    FUZZ_CHECK(decoded_status(dst), "head decode gave %d", dst);
    if (dst != MLOPS_OK)
        return;
    FUZZ_CHECK(st == MLOPS_OK, "the query fails (%d) on a head that decodes", st);
    int64_t want = expect_query(&h, kind, version, stage, alias);
    FUZZ_CHECK(out == want, "query kind %d found %lld, the decoded head says %lld", kind,
               (long long)out, (long long)want);
    FUZZ_CHECK(last == h.last_version, "query last %lld, decoded %lld", (long long)last,
               (long long)h.last_version);
    mlops__registry_head_free(env, &h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (env == NULL)
        env = fz_env_new(&counts);
    if (size < 1 || size > 16384)
        return 0;
    long live = atomic_load(&counts.live);
    uint8_t sel = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (sel % 4) {
    case 0:
        ROUND_TRIP(reg_head, mlops__registry_head_decode, mlops__registry_head_encode,
                   mlops__registry_head_free, "model head");
        break;
    case 1:
        ROUND_TRIP(reg_version, mlops__registry_version_decode, mlops__registry_version_encode,
                   mlops__registry_version_free, "model version");
        break;
    case 2:
        ROUND_TRIP(reg_event, mlops__registry_event_decode, mlops__registry_event_encode,
                   mlops__registry_event_free, "history event");
        break;
    default:
        query(p, n, (uint8_t)(sel >> 2));
        break;
    }
    FUZZ_CHECK(atomic_load(&counts.live) == live, "%ld blocks leaked",
               atomic_load(&counts.live) - live);
    return 0;
}

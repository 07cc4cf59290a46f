/* SPDX-License-Identifier: MIT */
/* The Redis backend (hiredis).
 *
 * Keys, under a per-store prefix P (URI parameter prefix, default "mlops:"):
 *   P k:<key>            hash {v, ver}: one store key
 *   P idx                sorted set of every key at score 0 (ZRANGEBYLEX scans)
 *   P ver                the version counter (INCR once per batch)
 *   P meta               hash {format}
 *   P stats              hash {blobs, blob_bytes}
 *   P b:<id>             hash {size, n}: a committed blob's header
 *   P c:<id>:<i>         its chunks (1 MiB strings)
 *   P t:<rand>:<i>       chunks of a blob being written (expire after a day)
 * The part after P starts with a fixed tag, so user keys cannot collide with
 * the internal ones (N13). Everything goes through the argv API, so bytes
 * such as CR/LF in keys are harmless (S5).
 *
 * A batch is one Lua script (EVALSHA, EVAL when the server lost the script):
 * it checks every precondition, takes a version with INCR and writes, all
 * atomically on the server. Scans read pages of the sorted set and the
 * hashes in one script per page, with the page bounded in bytes. */
#include "mlops_config.h"
#include "store/store_internal.h"

#if MLOPS_HAVE_REDIS

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/redis/redis.h"

#define RD_FORMAT 1
#define RD_CHUNK (1024u * 1024u)
#define RD_SCAN_PAGE 256
#define RD_SCAN_BYTES (4u * 1024u * 1024u)
#define RD_MAX_IDLE 8

static const char APPLY_LUA[] =
    "local p = ARGV[1]\n"
    "local n = tonumber(ARGV[2])\n"
    "for j = 0, n - 1 do\n"
    "  local kind = ARGV[3 + 3 * j]\n"
    "  if kind ~= 'P' and kind ~= 'D' then\n"
    "    local hk = p .. 'k:' .. ARGV[4 + 3 * j]\n"
    "    if kind == 'A' then\n"
    "      if redis.call('EXISTS', hk) == 1 then return {1, j} end\n"
    "    else\n"
    "      local cur = redis.call('HGET', hk, kind == 'V' and 'v' or 'ver')\n"
    "      if not cur then return {2, j} end\n"
    "      if cur ~= ARGV[5 + 3 * j] then return {3, j} end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local ttl = tonumber(ARGV[3 + 3 * n])\n"
    "local ver = redis.call('INCR', p .. 'ver')\n"
    "for j = 0, n - 1 do\n"
    "  local kind = ARGV[3 + 3 * j]\n"
    "  local key = ARGV[4 + 3 * j]\n"
    "  if kind == 'P' then\n"
    "    redis.call('HSET', p .. 'k:' .. key, 'v', ARGV[5 + 3 * j], 'ver', ver)\n"
    "    if ttl > 0 then redis.call('EXPIRE', p .. 'k:' .. key, ttl) end\n"
    "    redis.call('ZADD', p .. 'idx', 0, key)\n"
    "  elseif kind == 'D' then\n"
    "    redis.call('DEL', p .. 'k:' .. key)\n"
    "    redis.call('ZREM', p .. 'idx', key)\n"
    "  end\n"
    "end\n"
    "return {0, ver}\n";

static const char SCAN_LUA[] =
    "local p = ARGV[1]\n"
    "local count = tonumber(ARGV[4])\n"
    "local ks = redis.call('ZRANGEBYLEX', p .. 'idx', ARGV[2], ARGV[3], 'LIMIT', 0, count)\n"
    "local out = {}\n"
    "local bytes = 0\n"
    "local last = ''\n"
    "local full = false\n"
    "for _, k in ipairs(ks) do\n"
    "  last = k\n"
    "  local r = redis.call('HMGET', p .. 'k:' .. k, 'v', 'ver')\n"
    "  if not r[1] and ARGV[6] == '1' then\n"
    "    redis.call('ZREM', p .. 'idx', k)\n"
    "  end\n"
    "  if r[1] and r[2] then\n"
    "    out[#out + 1] = k\n"
    "    out[#out + 1] = r[1]\n"
    "    out[#out + 1] = r[2]\n"
    "    bytes = bytes + #k + #r[1]\n"
    "    if bytes >= tonumber(ARGV[5]) then full = true break end\n"
    "  end\n"
    "end\n"
    "local ended = 0\n"
    "if not full and #ks < count then ended = 1 end\n"
    "return {ended, last, out}\n";

static const char BLOB_LUA[] =
    "local p = ARGV[1]\n"
    "local h = p .. 'b:' .. ARGV[2]\n"
    "local n = tonumber(ARGV[4])\n"
    "if redis.call('EXISTS', h) == 1 then\n"
    "  local same = redis.call('HGET', h, 'size') == ARGV[5] and redis.call('HGET', h, 'n') == ARGV[4]\n"
    "  if same then\n"
    "    for i = 0, n - 1 do\n"
    "      if redis.call('GET', p .. 'c:' .. ARGV[2] .. ':' .. i) ~= redis.call('GET', ARGV[3] .. i) then\n"
    "        same = false\n"
    "        break\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for i = 0, n - 1 do redis.call('DEL', ARGV[3] .. i) end\n"
    "  if same then return 1 end\n"
    "  return 2\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  if redis.call('EXISTS', ARGV[3] .. i) == 0 then return 3 end\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local c = p .. 'c:' .. ARGV[2] .. ':' .. i\n"
    "  redis.call('RENAME', ARGV[3] .. i, c)\n"
    "  redis.call('PERSIST', c)\n"
    "end\n"
    "redis.call('HSET', h, 'size', ARGV[5], 'n', ARGV[4])\n"
    "redis.call('HINCRBY', p .. 'stats', 'blobs', 1)\n"
    "redis.call('HINCRBY', p .. 'stats', 'blob_bytes', ARGV[5])\n"
    "return 0\n";

enum { S_APPLY, S_SCAN, S_BLOB, S__COUNT };
static const char *const script_text[S__COUNT] = {APPLY_LUA, SCAN_LUA, BLOB_LUA};

typedef struct rd_conn {
    redisContext *c;
    struct rd_conn *next;
} rd_conn;

typedef struct rd_backend {
    mlops_backend base;
    char *host;
    int port;
    int db;
    char *user, *pass;
    struct timeval timeout;
    char prefix[128];
    size_t prefix_len;
    char where[300];
    char client_name[64];
    char ttl_arg[24]; /* seconds every put key lives ("0": for ever) */
    char sha[S__COUNT][41];
    pthread_mutex_t lock;
    rd_conn *idle;
    size_t n_idle;
    pid_t pid; /* the process that opened it; its sockets are not a child's */
} rd_backend;

typedef struct rd_blob_writer {
    mlops_backend_blob_writer base;
    char tmp[160]; /* P t:<rand>: */
    size_t tmp_len;
    mlops__buf chunk;
    uint32_t nchunks;
    uint64_t size;
    mlops_status failed;
} rd_blob_writer;

typedef struct rd_blob_reader {
    mlops_backend_blob_reader base;
    uint8_t id[16];
    uint64_t size;
    uint32_t nchunks, next;
    redisReply *cur;
    size_t pos;
} rd_blob_reader;

/* ---- connections ---- */

static mlops_status lost(rd_backend *b, rd_conn *rc, const char *what)
{
    return mlops__error(MLOPS_E_BACKEND,
                        "lost the connection to Redis at %s while %s: %s; the next call "
                        "reconnects",
                        b->where, what, rc && rc->c && rc->c->errstr[0] ? rc->c->errstr : "no reply");
}

/* Map an error reply. */
static mlops_status reply_error(rd_backend *b, const redisReply *r, const char *what)
{
    const char *s = r->str ? r->str : "";
    int n = (int)(r->len > 300 ? 300 : r->len);
    if (strncmp(s, "OOM", 3) == 0)
        return mlops__error(MLOPS_E_BACKEND,
                            "Redis at %s refused %s: %.*s; nothing was written; raise "
                            "maxmemory or free memory",
                            b->where, what, n, s);
    if (strncmp(s, "WRONGTYPE", 9) == 0)
        return mlops__error(MLOPS_E_CORRUPT,
                            "Redis at %s while %s: %.*s; a key under the store's prefix was "
                            "written by something else",
                            b->where, what, n, s);
    if (strncmp(s, "LOADING", 7) == 0 || strncmp(s, "BUSY", 4) == 0 ||
        strncmp(s, "TRYAGAIN", 8) == 0)
        return mlops__error(MLOPS_E_BUSY, "Redis at %s while %s: %.*s; try again", b->where,
                            what, n, s);
    return mlops__error(MLOPS_E_BACKEND, "Redis at %s while %s: %.*s", b->where, what, n, s);
}

static redisReply *cmd(rd_conn *rc, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(rc->c, argc, argv, lens);
}

static void conn_close(rd_backend *b, rd_conn *rc)
{
    if (rc == NULL)
        return;
    if (rc->c)
        redisFree(rc->c);
    mlops__free(b->base.env, rc);
}

static mlops_status conn_open(rd_backend *b, rd_conn **out)
{
    *out = NULL;
    rd_conn *rc = mlops__calloc(b->base.env, 1, sizeof(*rc));
    if (rc == NULL)
        return mlops__nomem();
    rc->c = redisConnectWithTimeout(b->host, b->port, b->timeout);
    if (rc->c == NULL) {
        mlops__free(b->base.env, rc);
        return mlops__nomem();
    }
    mlops_status st = MLOPS_OK;
    if (rc->c->err) {
        st = mlops__error(MLOPS_E_BACKEND,
                          "cannot connect to Redis at %s: %s; check that the server runs and "
                          "the URI is right",
                          b->where, rc->c->errstr);
        goto out;
    }
    if (redisSetTimeout(rc->c, b->timeout) != REDIS_OK) {
        st = mlops__error(MLOPS_E_BACKEND, "cannot set the Redis socket timeout");
        goto out;
    }
    if (b->pass) {
        const char *argv[3] = {"AUTH", b->user ? b->user : b->pass, b->pass};
        size_t lens[3] = {4, strlen(argv[1]), strlen(b->pass)};
        redisReply *r = cmd(rc, b->user ? 3 : 2, argv, lens);
        if (r == NULL)
            st = lost(b, rc, "authenticating");
        else if (r->type == REDIS_REPLY_ERROR)
            st = mlops__error(MLOPS_E_BACKEND, "Redis at %s refused the password: %.*s",
                              b->where, (int)(r->len > 200 ? 200 : r->len), r->str);
        freeReplyObject(r);
    }
    if (st == MLOPS_OK && b->client_name[0]) {
        const char *argv[3] = {"CLIENT", "SETNAME", b->client_name};
        size_t lens[3] = {6, 7, strlen(b->client_name)};
        redisReply *r = cmd(rc, 3, argv, lens);
        if (r == NULL)
            st = lost(b, rc, "naming the connection");
        else if (r->type == REDIS_REPLY_ERROR)
            st = reply_error(b, r, "naming the connection");
        freeReplyObject(r);
    }
    if (st == MLOPS_OK && b->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", b->db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen(db)};
        redisReply *r = cmd(rc, 2, argv, lens);
        if (r == NULL)
            st = lost(b, rc, "selecting the database");
        else if (r->type == REDIS_REPLY_ERROR)
            st = reply_error(b, r, "selecting the database");
        freeReplyObject(r);
    }
out:
    if (st != MLOPS_OK) {
        conn_close(b, rc);
        return st;
    }
    *out = rc;
    return MLOPS_OK;
}

/* Redis never speaks first to a plain client, so an idle connection with
 * something to read has been closed by the server (restart, CLIENT KILL). */
static bool conn_alive(rd_conn *rc)
{
    if (rc->c->err)
        return false;
    struct pollfd p = {rc->c->fd, POLLIN, 0};
    int n = poll(&p, 1, 0);
    return n == 0 || (n < 0 && errno == EINTR);
}

static mlops_status take(rd_backend *b, rd_conn **out)
{
    if (getpid() != b->pid)
        return mlops__error(MLOPS_E_INVALID,
                            "this Redis store was opened in another process (before fork()); "
                            "open the store again in this process");
    for (;;) {
        pthread_mutex_lock(&b->lock);
        rd_conn *rc = b->idle;
        if (rc) {
            b->idle = rc->next;
            b->n_idle--;
        }
        pthread_mutex_unlock(&b->lock);
        if (rc == NULL)
            return conn_open(b, out);
        rc->next = NULL;
        if (conn_alive(rc)) {
            *out = rc;
            return MLOPS_OK;
        }
        conn_close(b, rc);
    }
}

static void give(rd_backend *b, rd_conn *rc)
{
    if (rc == NULL)
        return;
    if (rc->c->err) {
        conn_close(b, rc);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->n_idle < RD_MAX_IDLE) {
        rc->next = b->idle;
        b->idle = rc;
        b->n_idle++;
        rc = NULL;
    }
    pthread_mutex_unlock(&b->lock);
    conn_close(b, rc);
}

/* Run a script by its SHA, loading it again if the server forgot it. */
static redisReply *eval(rd_backend *b, rd_conn *rc, int script, int argc, const char **argv,
                        size_t *lens)
{
    argv[0] = "EVALSHA";
    lens[0] = 7;
    argv[1] = b->sha[script];
    lens[1] = 40;
    argv[2] = "0";
    lens[2] = 1;
    redisReply *r = cmd(rc, argc, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = script_text[script];
        lens[1] = strlen(script_text[script]);
        r = cmd(rc, argc, argv, lens);
    }
    return r;
}

/* ---- key names ---- */

typedef struct name {
    char *p;
    size_t len;
    char small[256];
    const mlops_env *env;
} name;

static mlops_status name_make(name *n, const rd_backend *b, const char *tag, const uint8_t *key,
                              size_t key_len)
{
    size_t tl = strlen(tag);
    n->env = b->base.env;
    n->len = b->prefix_len + tl + key_len;
    n->p = n->len <= sizeof(n->small) ? n->small : mlops__malloc(n->env, n->len);
    if (n->p == NULL)
        return mlops__nomem();
    memcpy(n->p, b->prefix, b->prefix_len);
    memcpy(n->p + b->prefix_len, tag, tl);
    if (key_len)
        memcpy(n->p + b->prefix_len + tl, key, key_len);
    return MLOPS_OK;
}

static void name_free(name *n)
{
    if (n->p && n->p != n->small)
        mlops__free(n->env, n->p);
    n->p = NULL;
}

static bool parse_u64(const redisReply *r, uint64_t *out)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        if (r->integer < 0)
            return false;
        *out = (uint64_t)r->integer;
        return true;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->str[i] < '0' || r->str[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(r->str[i] - '0');
    }
    *out = v;
    return true;
}

/* ---- get, multi-get, scan ---- */

static mlops_status decode_get(rd_backend *b, const redisReply *r, mlops_bytes *value_out,
                               uint64_t *version_out)
{
    if (r->type == REDIS_REPLY_ERROR)
        return reply_error(b, r, "reading a key");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed reply to HMGET",
                            b->where);
    const redisReply *v = r->element[0], *ver = r->element[1];
    if (v->type == REDIS_REPLY_NIL && ver->type == REDIS_REPLY_NIL)
        return mlops__error(MLOPS_E_NOTFOUND, "key not found");
    uint64_t version = 0;
    if (v->type != REDIS_REPLY_STRING || !parse_u64(ver, &version) || version == 0)
        return mlops__error(MLOPS_E_CORRUPT,
                            "a stored key at Redis %s is damaged (value or version missing)",
                            b->where);
    if (v->len > MLOPS_STORE_MAX_VALUE)
        return mlops__error(MLOPS_E_CORRUPT, "a stored value of %zu bytes exceeds the limit",
                            v->len);
    mlops_status st = mlops_bytes_set(value_out, b->base.env, v->str, v->len);
    if (st == MLOPS_OK && version_out)
        *version_out = version;
    return st;
}

static mlops_status rd_get(mlops_backend *base, const uint8_t *key, size_t key_len,
                           mlops_bytes *value_out, uint64_t *version_out)
{
    rd_backend *b = (rd_backend *)base;
    name n;
    mlops_status st = name_make(&n, b, "k:", key, key_len);
    if (st != MLOPS_OK)
        return st;
    const char *argv[4] = {"HMGET", n.p, "v", "ver"};
    size_t lens[4] = {5, n.len, 1, 3};
    for (int attempt = 0; attempt < 2; attempt++) {
        rd_conn *rc = NULL;
        st = take(b, &rc);
        if (st != MLOPS_OK)
            break;
        redisReply *r = cmd(rc, 4, argv, lens);
        if (r == NULL)
            st = lost(b, rc, "reading a key");
        else
            st = decode_get(b, r, value_out, version_out);
        freeReplyObject(r);
        give(b, rc);
        if (r != NULL)
            break; /* a read is safe to repeat once on a fresh connection */
    }
    name_free(&n);
    return st;
}

mlops_status mlops__redis_get_many(mlops_backend *base, size_t n, const uint8_t *const *keys,
                                   const size_t *key_lens, mlops_bytes *values,
                                   uint64_t *versions, mlops_status *statuses)
{
    rd_backend *b = (rd_backend *)base;
    if (base == NULL || base->ops == NULL || strcmp(base->ops->name, "redis") != 0)
        return mlops__error(MLOPS_E_INVALID, "not a redis backend");
    for (size_t i = 0; i < n; i++) {
        memset(&values[i], 0, sizeof(values[i]));
        statuses[i] = MLOPS_E_NOTFOUND;
    }
    rd_conn *rc = NULL;
    mlops_status st = take(b, &rc);
    if (st != MLOPS_OK)
        return st;
    /* Pipelined: every command is sent, then every reply read. */
    for (size_t i = 0; i < n && st == MLOPS_OK; i++) {
        name nm;
        st = name_make(&nm, b, "k:", keys[i], key_lens[i]);
        if (st != MLOPS_OK)
            break;
        const char *argv[4] = {"HMGET", nm.p, "v", "ver"};
        size_t lens[4] = {5, nm.len, 1, 3};
        if (redisAppendCommandArgv(rc->c, 4, argv, lens) != REDIS_OK)
            st = mlops__nomem();
        name_free(&nm);
    }
    size_t sent = st == MLOPS_OK ? n : 0;
    for (size_t i = 0; i < sent; i++) {
        void *rv = NULL;
        if (redisGetReply(rc->c, &rv) != REDIS_OK) {
            st = lost(b, rc, "reading keys");
            break;
        }
        redisReply *r = rv;
        statuses[i] = decode_get(b, r, &values[i], versions ? &versions[i] : NULL);
        freeReplyObject(r);
    }
    if (st != MLOPS_OK && !rc->c->err) {
        conn_close(b, rc); /* replies may be pending: never reuse it */
        rc = NULL;
    }
    give(b, rc);
    return st;
}

static mlops_status rd_scan(mlops_backend *base, const uint8_t *start, size_t start_len,
                            const uint8_t *end, size_t end_len, size_t limit,
                            mlops_backend_scan_fn cb, void *payload)
{
    rd_backend *b = (rd_backend *)base;
    const mlops_env *env = base->env;
    mlops__buf lo, hi;
    mlops__buf_init(&lo, env);
    mlops__buf_init(&hi, env);
    mlops_status st;
    if (start_len) {
        st = mlops__buf_putc(&lo, '[');
        if (st == MLOPS_OK)
            st = mlops__buf_append(&lo, start, start_len);
    } else {
        st = mlops__buf_putc(&lo, '-');
    }
    if (st == MLOPS_OK && end_len) {
        st = mlops__buf_putc(&hi, '(');
        if (st == MLOPS_OK)
            st = mlops__buf_append(&hi, end, end_len);
    } else if (st == MLOPS_OK) {
        st = mlops__buf_putc(&hi, '+');
    }
    size_t done = 0;
    bool ended = false;
    char count[24], maxb[24];
    snprintf(maxb, sizeof(maxb), "%u", RD_SCAN_BYTES);
    while (st == MLOPS_OK && !ended && (!limit || done < limit)) {
        size_t page = RD_SCAN_PAGE;
        if (limit && limit - done < page)
            page = limit - done;
        snprintf(count, sizeof(count), "%zu", page);
        const char *clean = strcmp(b->ttl_arg, "0") != 0 ? "1" : "0";
        const char *argv[9] = {NULL, NULL, NULL, b->prefix, (const char *)lo.data,
                               (const char *)hi.data, count, maxb, clean};
        size_t lens[9] = {0, 0, 0, b->prefix_len, lo.len, hi.len, strlen(count), strlen(maxb), 1};
        rd_conn *rc = NULL;
        st = take(b, &rc);
        if (st != MLOPS_OK)
            break;
        redisReply *r = eval(b, rc, S_SCAN, 9, argv, lens);
        if (r == NULL) {
            st = lost(b, rc, "scanning keys");
            give(b, rc);
            break;
        }
        give(b, rc);
        if (r->type == REDIS_REPLY_ERROR) {
            st = reply_error(b, r, "scanning keys");
        } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
                   r->element[0]->type != REDIS_REPLY_INTEGER ||
                   r->element[1]->type != REDIS_REPLY_STRING ||
                   r->element[2]->type != REDIS_REPLY_ARRAY ||
                   r->element[2]->elements % 3 != 0) {
            st = mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed scan reply",
                              b->where);
        } else {
            ended = r->element[0]->integer != 0;
            const redisReply *out = r->element[2];
            for (size_t i = 0; i + 2 < out->elements; i += 3) {
                const redisReply *k = out->element[i], *v = out->element[i + 1];
                uint64_t ver = 0;
                if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                    !parse_u64(out->element[i + 2], &ver)) {
                    st = mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed pair",
                                      b->where);
                    break;
                }
                done++;
                if (cb((const uint8_t *)k->str, k->len, (const uint8_t *)v->str, v->len, ver,
                       payload) != 0) {
                    st = MLOPS_E_CALLBACK;
                    break;
                }
            }
            const redisReply *last = r->element[1];
            if (st == MLOPS_OK && !ended) {
                if (last->len == 0) {
                    ended = true;
                } else {
                    lo.len = 0;
                    st = mlops__buf_putc(&lo, '(');
                    if (st == MLOPS_OK)
                        st = mlops__buf_append(&lo, last->str, last->len);
                }
            }
        }
        freeReplyObject(r);
    }
    mlops__buf_free(&lo);
    mlops__buf_free(&hi);
    return st;
}

/* ---- apply ---- */

static mlops_status rd_apply(mlops_backend *base, const mlops_batch_op *ops, size_t n_ops)
{
    rd_backend *b = (rd_backend *)base;
    const mlops_env *env = base->env;
    if (n_ops == 0)
        return MLOPS_OK;
    size_t argc = 6 + 3 * n_ops;
    const char **argv = mlops__calloc(env, argc, sizeof(*argv));
    size_t *lens = mlops__calloc(env, argc, sizeof(*lens));
    char *vers = mlops__calloc(env, n_ops, 24);
    mlops_status st = MLOPS_OK;
    if (argv == NULL || lens == NULL || vers == NULL) {
        st = mlops__nomem();
        goto out;
    }
    char nbuf[24];
    snprintf(nbuf, sizeof(nbuf), "%zu", n_ops);
    argv[3] = b->prefix;
    lens[3] = b->prefix_len;
    argv[4] = nbuf;
    lens[4] = strlen(nbuf);
    argv[argc - 1] = b->ttl_arg;
    lens[argc - 1] = strlen(b->ttl_arg);
    for (size_t i = 0; i < n_ops; i++) {
        const mlops_batch_op *op = &ops[i];
        const char *kind;
        const char *val = "";
        size_t vlen = 0;
        switch (op->kind) {
        case MLOPS_OP_PUT:
            kind = "P";
            val = (const char *)op->value;
            vlen = op->value_len;
            break;
        case MLOPS_OP_DELETE:
            kind = "D";
            break;
        case MLOPS_OP_REQUIRE_ABSENT:
            kind = "A";
            break;
        case MLOPS_OP_REQUIRE_VALUE:
            kind = "V";
            val = (const char *)op->value;
            vlen = op->value_len;
            break;
        case MLOPS_OP_REQUIRE_VERSION:
            kind = "R";
            snprintf(vers + 24 * i, 24, "%llu", (unsigned long long)op->version);
            val = vers + 24 * i;
            vlen = strlen(val);
            break;
        default:
            st = mlops__error(MLOPS_E_INVALID, "unknown batch operation kind %u", op->kind);
            goto out;
        }
        argv[5 + 3 * i] = kind;
        lens[5 + 3 * i] = 1;
        argv[6 + 3 * i] = (const char *)op->key;
        lens[6 + 3 * i] = op->key_len;
        argv[7 + 3 * i] = val;
        lens[7 + 3 * i] = vlen;
    }
    rd_conn *rc = NULL;
    st = take(b, &rc);
    if (st != MLOPS_OK)
        goto out;
    redisReply *r = eval(b, rc, S_APPLY, (int)argc, argv, lens);
    if (r == NULL) {
        st = mlops__error(MLOPS_E_BACKEND,
                          "lost the connection to Redis at %s while applying a batch (%s); the "
                          "batch is applied entirely or not at all; the next call reconnects",
                          b->where, rc->c->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        st = reply_error(b, r, "applying a batch");
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
               r->element[0]->type != REDIS_REPLY_INTEGER ||
               r->element[1]->type != REDIS_REPLY_INTEGER) {
        st = mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed batch reply", b->where);
    } else if (r->element[0]->integer != 0) {
        long long j = r->element[1]->integer;
        const mlops_batch_op *op = (j >= 0 && (size_t)j < n_ops) ? &ops[j] : &ops[0];
        switch (r->element[0]->integer) {
        case 1:
            st = mlops__store_conflict(op, "the key exists");
            break;
        case 2:
            st = mlops__store_conflict(op, "the key is absent");
            break;
        default:
            st = mlops__store_conflict(op, op->kind == MLOPS_OP_REQUIRE_VALUE
                                  ? "the key holds another value"
                                  : "the key was changed since it was read");
        }
    }
    freeReplyObject(r);
    give(b, rc);
out:
    mlops__free(env, argv);
    mlops__free(env, lens);
    mlops__free(env, vers);
    return st;
}

/* ---- blobs ---- */

static mlops_status rd_blob_write_open(mlops_backend *base, mlops_backend_blob_writer **out)
{
    rd_backend *b = (rd_backend *)base;
    rd_blob_writer *w = mlops__calloc(base->env, 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    w->base.backend = base;
    mlops__buf_init(&w->chunk, base->env);
    uint64_t seed = (uint64_t)mlops__now_ns(base->env) ^ (uint64_t)(uintptr_t)w;
    unsigned long long r1 = mlops__xxh3_64(&seed, sizeof(seed), 1);
    unsigned long long r2 = mlops__xxh3_64(&seed, sizeof(seed), 2);
    memcpy(w->tmp, b->prefix, b->prefix_len);
    int n = snprintf(w->tmp + b->prefix_len, sizeof(w->tmp) - b->prefix_len, "t:%016llx%016llx:",
                     r1, r2);
    w->tmp_len = b->prefix_len + (size_t)n;
    *out = &w->base;
    return MLOPS_OK;
}

static mlops_status chunk_send(rd_blob_writer *w, const uint8_t *data, size_t len)
{
    rd_backend *b = (rd_backend *)w->base.backend;
    char key[200];
    memcpy(key, w->tmp, w->tmp_len);
    int kn = snprintf(key + w->tmp_len, sizeof(key) - w->tmp_len, "%u", w->nchunks);
    const char *argv[5] = {"SET", key, (const char *)data, "EX", "86400"};
    size_t lens[5] = {3, w->tmp_len + (size_t)kn, len, 2, 5};
    rd_conn *rc = NULL;
    mlops_status st = take(b, &rc);
    if (st != MLOPS_OK)
        return st;
    redisReply *r = cmd(rc, 5, argv, lens);
    if (r == NULL)
        st = lost(b, rc, "writing a blob chunk");
    else if (r->type == REDIS_REPLY_ERROR)
        st = reply_error(b, r, "writing a blob chunk");
    else
        w->nchunks++;
    freeReplyObject(r);
    give(b, rc);
    return st;
}

static mlops_status rd_blob_write(mlops_backend_blob_writer *bw, const uint8_t *data, size_t len)
{
    rd_blob_writer *w = (rd_blob_writer *)bw;
    if (w->failed)
        return mlops__error(w->failed, "an earlier write to this blob failed");
    mlops_status st = MLOPS_OK;
    while (len > 0 && st == MLOPS_OK) {
        if (w->chunk.len == 0 && len >= RD_CHUNK) {
            st = chunk_send(w, data, RD_CHUNK);
            data += RD_CHUNK;
            len -= RD_CHUNK;
            w->size += RD_CHUNK;
            continue;
        }
        size_t room = RD_CHUNK - w->chunk.len;
        size_t n = len < room ? len : room;
        st = mlops__buf_append(&w->chunk, data, n);
        if (st != MLOPS_OK)
            break;
        data += n;
        len -= n;
        w->size += n;
        if (w->chunk.len == RD_CHUNK) {
            st = chunk_send(w, w->chunk.data, w->chunk.len);
            w->chunk.len = 0;
        }
    }
    if (st != MLOPS_OK)
        w->failed = st;
    return st;
}

static void drop_temp(rd_blob_writer *w)
{
    rd_backend *b = (rd_backend *)w->base.backend;
    if (w->nchunks == 0)
        return;
    rd_conn *rc = NULL;
    if (take(b, &rc) != MLOPS_OK)
        return; /* they expire by themselves */
    for (uint32_t i = 0; i < w->nchunks; i++) {
        char key[200];
        memcpy(key, w->tmp, w->tmp_len);
        int kn = snprintf(key + w->tmp_len, sizeof(key) - w->tmp_len, "%u", i);
        const char *argv[2] = {"DEL", key};
        size_t lens[2] = {3, w->tmp_len + (size_t)kn};
        redisAppendCommandArgv(rc->c, 2, argv, lens);
    }
    for (uint32_t i = 0; i < w->nchunks; i++) {
        void *r = NULL;
        if (redisGetReply(rc->c, &r) != REDIS_OK)
            break;
        freeReplyObject(r);
    }
    give(b, rc);
    w->nchunks = 0;
}

static mlops_status rd_blob_write_commit(mlops_backend_blob_writer *bw, const mlops_hash128 *id)
{
    rd_blob_writer *w = (rd_blob_writer *)bw;
    rd_backend *b = (rd_backend *)bw->backend;
    if (w->failed)
        return mlops__error(w->failed, "an earlier write to this blob failed");
    mlops_status st = MLOPS_OK;
    if (w->chunk.len > 0) {
        st = chunk_send(w, w->chunk.data, w->chunk.len);
        w->chunk.len = 0;
    }
    if (st != MLOPS_OK) {
        w->failed = st;
        return st;
    }
    char n[16], size[24];
    snprintf(n, sizeof(n), "%u", w->nchunks);
    snprintf(size, sizeof(size), "%llu", (unsigned long long)w->size);
    const char *argv[8] = {NULL, NULL, NULL, b->prefix, (const char *)id->bytes, w->tmp, n, size};
    size_t lens[8] = {0, 0, 0, b->prefix_len, 16, w->tmp_len, strlen(n), strlen(size)};
    rd_conn *rc = NULL;
    st = take(b, &rc);
    if (st != MLOPS_OK) {
        w->failed = st;
        return st;
    }
    redisReply *r = eval(b, rc, S_BLOB, 8, argv, lens);
    if (r == NULL)
        st = lost(b, rc, "committing a blob");
    else if (r->type == REDIS_REPLY_ERROR)
        st = reply_error(b, r, "committing a blob");
    else if (r->type != REDIS_REPLY_INTEGER)
        st = mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed reply", b->where);
    else if (r->integer == 0 || r->integer == 1)
        w->nchunks = 0; /* moved into place, or deleted as a duplicate */
    else if (r->integer == 2)
        st = mlops__error(MLOPS_E_CONFLICT,
                          "a different blob already has this content address (hash "
                          "collision); refusing to confuse them");
    else
        st = mlops__error(MLOPS_E_BACKEND,
                          "Redis at %s lost chunks of the blob being written (evicted or "
                          "expired); write it again",
                          b->where);
    freeReplyObject(r);
    give(b, rc);
    if (st != MLOPS_OK)
        w->failed = st;
    return st;
}

static void rd_blob_write_free(mlops_backend_blob_writer *bw)
{
    rd_blob_writer *w = (rd_blob_writer *)bw;
    drop_temp(w);
    mlops__buf_free(&w->chunk);
    mlops__free(bw->backend->env, w);
}

static mlops_status blob_head(rd_backend *b, const mlops_hash128 *id, uint64_t *size,
                              uint32_t *nchunks)
{
    name nm;
    mlops_status st = name_make(&nm, b, "b:", id->bytes, 16);
    if (st != MLOPS_OK)
        return st;
    const char *argv[4] = {"HMGET", nm.p, "size", "n"};
    size_t lens[4] = {5, nm.len, 4, 1};
    rd_conn *rc = NULL;
    st = take(b, &rc);
    if (st == MLOPS_OK) {
        redisReply *r = cmd(rc, 4, argv, lens);
        uint64_t sz = 0, n = 0;
        if (r == NULL)
            st = lost(b, rc, "reading a blob header");
        else if (r->type == REDIS_REPLY_ERROR)
            st = reply_error(b, r, "reading a blob header");
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            st = mlops__error(MLOPS_E_CORRUPT, "Redis at %s gave a malformed reply", b->where);
        else if (r->element[0]->type == REDIS_REPLY_NIL)
            st = mlops__error(MLOPS_E_NOTFOUND, "blob not found");
        else if (!parse_u64(r->element[0], &sz) || !parse_u64(r->element[1], &n) ||
                 n > UINT32_MAX || n != (sz + RD_CHUNK - 1) / RD_CHUNK)
            st = mlops__error(MLOPS_E_CORRUPT, "a blob header at Redis %s is damaged", b->where);
        else {
            *size = sz;
            *nchunks = (uint32_t)n;
        }
        freeReplyObject(r);
        give(b, rc);
    }
    name_free(&nm);
    return st;
}

static mlops_status rd_blob_read_open(mlops_backend *base, const mlops_hash128 *id,
                                      mlops_backend_blob_reader **out, uint64_t *size_out)
{
    rd_backend *b = (rd_backend *)base;
    uint64_t size = 0;
    uint32_t n = 0;
    mlops_status st = blob_head(b, id, &size, &n);
    if (st != MLOPS_OK)
        return st;
    rd_blob_reader *r = mlops__calloc(base->env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->base.backend = base;
    memcpy(r->id, id->bytes, 16);
    r->size = size;
    r->nchunks = n;
    if (size_out)
        *size_out = size;
    *out = &r->base;
    return MLOPS_OK;
}

static mlops_status rd_blob_read(mlops_backend_blob_reader *br, uint8_t *buf, size_t cap,
                                 size_t *n_out)
{
    rd_blob_reader *r = (rd_blob_reader *)br;
    rd_backend *b = (rd_backend *)br->backend;
    *n_out = 0;
    if (r->cur == NULL || r->pos >= r->cur->len) {
        if (r->next >= r->nchunks)
            return MLOPS_OK;
        freeReplyObject(r->cur);
        r->cur = NULL;
        r->pos = 0;
        uint8_t tag[24];
        int tl = snprintf((char *)tag, sizeof(tag), ":%u", r->next);
        uint8_t suffix[16 + 24];
        memcpy(suffix, r->id, 16);
        memcpy(suffix + 16, tag, (size_t)tl);
        name nm;
        mlops_status st = name_make(&nm, b, "c:", suffix, 16 + (size_t)tl);
        if (st != MLOPS_OK)
            return st;
        const char *argv[2] = {"GET", nm.p};
        size_t lens[2] = {3, nm.len};
        rd_conn *rc = NULL;
        st = take(b, &rc);
        if (st == MLOPS_OK) {
            redisReply *rep = cmd(rc, 2, argv, lens);
            if (rep == NULL)
                st = lost(b, rc, "reading a blob chunk");
            else if (rep->type == REDIS_REPLY_ERROR)
                st = reply_error(b, rep, "reading a blob chunk");
            else if (rep->type == REDIS_REPLY_NIL)
                st = mlops__error(MLOPS_E_CORRUPT,
                                  "blob chunk %u of %u is missing at Redis %s (evicted?)",
                                  r->next, r->nchunks, b->where);
            else if (rep->type != REDIS_REPLY_STRING || rep->len > RD_CHUNK || rep->len == 0)
                st = mlops__error(MLOPS_E_CORRUPT, "blob chunk %u at Redis %s is damaged",
                                  r->next, b->where);
            if (st == MLOPS_OK) {
                r->cur = rep;
                r->next++;
            } else {
                freeReplyObject(rep);
            }
            give(b, rc);
        }
        name_free(&nm);
        if (st != MLOPS_OK)
            return st;
    }
    size_t n = r->cur->len - r->pos < cap ? r->cur->len - r->pos : cap;
    memcpy(buf, r->cur->str + r->pos, n);
    r->pos += n;
    *n_out = n;
    return MLOPS_OK;
}

static void rd_blob_read_free(mlops_backend_blob_reader *br)
{
    rd_blob_reader *r = (rd_blob_reader *)br;
    freeReplyObject(r->cur);
    mlops__free(br->backend->env, r);
}

static mlops_status rd_blob_stat(mlops_backend *base, const mlops_hash128 *id, uint64_t *size_out)
{
    uint64_t size = 0;
    uint32_t n = 0;
    mlops_status st = blob_head((rd_backend *)base, id, &size, &n);
    if (st == MLOPS_OK && size_out)
        *size_out = size;
    return st;
}

/* ---- maintenance ---- */

static mlops_status rd_info(mlops_backend *base, mlops_store_info_data *info)
{
    rd_backend *b = (rd_backend *)base;
    name idx, stats;
    mlops_status st = name_make(&idx, b, "idx", NULL, 0);
    if (st != MLOPS_OK)
        return st;
    st = name_make(&stats, b, "stats", NULL, 0);
    if (st != MLOPS_OK) {
        name_free(&idx);
        return st;
    }
    rd_conn *rc = NULL;
    st = take(b, &rc);
    if (st == MLOPS_OK) {
        const char *a1[2] = {"ZCARD", idx.p};
        size_t l1[2] = {5, idx.len};
        const char *a2[4] = {"HMGET", stats.p, "blobs", "blob_bytes"};
        size_t l2[4] = {5, stats.len, 5, 10};
        redisAppendCommandArgv(rc->c, 2, a1, l1);
        redisAppendCommandArgv(rc->c, 4, a2, l2);
        void *v1 = NULL, *v2 = NULL;
        if (redisGetReply(rc->c, &v1) != REDIS_OK || redisGetReply(rc->c, &v2) != REDIS_OK) {
            st = lost(b, rc, "reading store figures");
        } else {
            redisReply *r1 = v1, *r2 = v2;
            uint64_t x = 0;
            info->format_version = RD_FORMAT;
            if (parse_u64(r1, &x))
                info->keys = info->records = x;
            if (r2->type == REDIS_REPLY_ARRAY && r2->elements == 2) {
                if (parse_u64(r2->element[0], &x))
                    info->blobs = x;
                if (parse_u64(r2->element[1], &x))
                    info->blob_bytes = info->bytes = x;
            }
        }
        freeReplyObject(v1);
        freeReplyObject(v2);
        give(b, rc);
    }
    name_free(&idx);
    name_free(&stats);
    return st;
}

static void rd_close(mlops_backend *base)
{
    rd_backend *b = (rd_backend *)base;
    const mlops_env *env = base->env;
    while (b->idle) {
        rd_conn *rc = b->idle;
        b->idle = rc->next;
        conn_close(b, rc);
    }
    mlops__free(env, b->host);
    mlops__free(env, b->user);
    mlops__free(env, b->pass);
    pthread_mutex_destroy(&b->lock);
    mlops__free(env, b);
}

static const mlops_backend_ops rd_ops = {
    .version = MLOPS_BACKEND_OPS_VERSION,
    .caps = MLOPS_BACKEND_CAP_PERSISTENT | MLOPS_BACKEND_CAP_MULTIPROCESS,
    .name = "redis",
    .get = rd_get,
    .scan = rd_scan,
    .apply = rd_apply,
    .blob_write_open = rd_blob_write_open,
    .blob_write = rd_blob_write,
    .blob_write_commit = rd_blob_write_commit,
    .blob_write_free = rd_blob_write_free,
    .blob_read_open = rd_blob_read_open,
    .blob_read = rd_blob_read,
    .blob_read_free = rd_blob_read_free,
    .close = rd_close,
    .info = rd_info,
    .blob_stat = rd_blob_stat,
};

/* ---- opening ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copy a URI component, decoding %XX (user and password only). */
static char *dup_decoded(const mlops_env *env, const char *s, size_t n)
{
    char *out = mlops__malloc(env, n + 1);
    if (out == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0) {
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* redis://[[user]:password@]host[:port][/db][?prefix=P&timeout=SECONDS] */
static mlops_status parse_uri(rd_backend *b, const char *uri)
{
    const mlops_env *env = b->base.env;
    const char *p = uri + strlen("redis://");
    const char *q = strchr(p, '?');
    const char *endp = q ? q : p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(endp - p));
    const char *hostend = slash ? slash : endp;
    const char *at = NULL;
    for (const char *x = p; x < hostend; x++)
        if (*x == '@')
            at = x;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p && (b->user = dup_decoded(env, p, (size_t)(colon - p))) == NULL)
                return mlops__nomem();
            if ((b->pass = dup_decoded(env, colon + 1, (size_t)(at - colon - 1))) == NULL)
                return mlops__nomem();
        } else if (at > p) {
            if ((b->pass = dup_decoded(env, p, (size_t)(at - p))) == NULL)
                return mlops__nomem();
        }
        p = at + 1;
    }
    const char *hs = p, *he;
    const char *portp = NULL;
    if (*p == '[') {
        he = memchr(p, ']', (size_t)(hostend - p));
        if (he == NULL)
            return mlops__error(MLOPS_E_INVALID, "the Redis URI has an unclosed '[' in its host");
        hs = p + 1;
        if (he + 1 < hostend && he[1] == ':')
            portp = he + 2;
    } else {
        he = memchr(p, ':', (size_t)(hostend - p));
        if (he)
            portp = he + 1;
        else
            he = hostend;
    }
    if (he == hs)
        b->host = mlops__strdup(env, "127.0.0.1");
    else
        b->host = mlops__strndup(env, hs, (size_t)(he - hs));
    if (b->host == NULL)
        return mlops__nomem();
    b->port = 6379;
    if (portp && portp < hostend) {
        long v = 0;
        for (const char *x = portp; x < hostend; x++) {
            if (*x < '0' || *x > '9' || v > 65535)
                return mlops__error(MLOPS_E_INVALID, "the Redis URI has a bad port '%.*s'",
                                    (int)(hostend - portp > 16 ? 16 : hostend - portp), portp);
            v = v * 10 + (*x - '0');
        }
        if (v < 1 || v > 65535)
            return mlops__error(MLOPS_E_INVALID, "the Redis URI's port %ld is out of range", v);
        b->port = (int)v;
    }
    if (slash && slash + 1 < endp) {
        long v = 0;
        for (const char *x = slash + 1; x < endp; x++) {
            if (*x < '0' || *x > '9' || v > 100000)
                return mlops__error(MLOPS_E_INVALID,
                                    "the Redis URI's database must be a number, as in "
                                    "redis://host:6379/0");
            v = v * 10 + (*x - '0');
        }
        b->db = (int)v;
    }
    while (q && *q) {
        const char *a = q + 1;
        const char *amp = strchr(a, '&');
        size_t len = amp ? (size_t)(amp - a) : strlen(a);
        if (len > 7 && strncmp(a, "prefix=", 7) == 0) {
            size_t pl = len - 7;
            if (pl + 8 > sizeof(b->prefix))
                return mlops__error(MLOPS_E_TOOBIG, "the Redis key prefix is longer than %zu bytes",
                                    sizeof(b->prefix) - 8);
            memcpy(b->prefix, a + 7, pl);
            b->prefix[pl] = '\0';
            b->prefix_len = pl;
        } else if (len > 8 && strncmp(a, "timeout=", 8) == 0) {
            char tmp[32];
            size_t tl = len - 8 < sizeof(tmp) - 1 ? len - 8 : sizeof(tmp) - 1;
            memcpy(tmp, a + 8, tl);
            tmp[tl] = '\0';
            char *e = NULL;
            double s = strtod(tmp, &e);
            if (e == tmp || *e != '\0' || !(s > 0) || s > 3600)
                return mlops__error(MLOPS_E_INVALID,
                                    "the Redis URI's timeout '%s' must be seconds in (0, 3600]",
                                    tmp);
            b->timeout.tv_sec = (time_t)s;
            b->timeout.tv_usec = (suseconds_t)((s - (double)(time_t)s) * 1e6);
        } else if (len > 4 && strncmp(a, "ttl=", 4) == 0) {
            long long v = 0;
            for (size_t i = 4; i < len; i++) {
                if (a[i] < '0' || a[i] > '9' || v > 100000000000LL)
                    return mlops__error(MLOPS_E_INVALID,
                                        "the Redis URI's ttl must be whole seconds, 0 or more");
                v = v * 10 + (a[i] - '0');
            }
            snprintf(b->ttl_arg, sizeof(b->ttl_arg), "%lld", v);
        } else if (len > 12 && strncmp(a, "client_name=", 12) == 0) {
            size_t nl = len - 12;
            if (nl >= sizeof(b->client_name))
                return mlops__error(MLOPS_E_TOOBIG, "the Redis client name is too long");
            for (size_t i = 0; i < nl; i++) {
                char c = a[12 + i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '-'))
                    return mlops__error(MLOPS_E_INVALID,
                                        "the Redis client name may hold only letters, digits, "
                                        "'_' and '-'");
            }
            memcpy(b->client_name, a + 12, nl);
            b->client_name[nl] = '\0';
        } else if (len > 0) {
            return mlops__error(MLOPS_E_INVALID,
                                "unknown parameter '%.*s' in the Redis URI; known: prefix, "
                                "timeout, ttl, client_name",
                                (int)(len > 64 ? 64 : len), a);
        }
        q = amp;
    }
    snprintf(b->where, sizeof(b->where), "%.200s:%d/%d", b->host, b->port, b->db);
    return MLOPS_OK;
}

static mlops_status open_store(rd_backend *b, const mlops_store_options *opts)
{
    rd_conn *rc = NULL;
    mlops_status st = conn_open(b, &rc);
    if (st != MLOPS_OK)
        return st;
    for (int i = 0; i < S__COUNT && st == MLOPS_OK; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", script_text[i]};
        size_t lens[3] = {6, 4, strlen(script_text[i])};
        redisReply *r = cmd(rc, 3, argv, lens);
        if (r == NULL)
            st = lost(b, rc, "loading scripts");
        else if (r->type == REDIS_REPLY_ERROR)
            st = reply_error(b, r, "loading scripts");
        else if (r->type != REDIS_REPLY_STRING || r->len != 40)
            st = mlops__error(MLOPS_E_BACKEND, "Redis at %s gave an odd SCRIPT LOAD reply",
                              b->where);
        else
            memcpy(b->sha[i], r->str, 41);
        freeReplyObject(r);
    }
    name meta;
    if (st == MLOPS_OK)
        st = name_make(&meta, b, "meta", NULL, 0);
    if (st != MLOPS_OK) {
        conn_close(b, rc);
        return st;
    }
    bool create = !(opts->flags & (MLOPS_STORE_READONLY | MLOPS_STORE_NOCREATE));
    const char *a1[4] = {"HSETNX", meta.p, "format", "1"};
    size_t l1[4] = {6, meta.len, 6, 1};
    const char *a2[3] = {"HGET", meta.p, "format"};
    size_t l2[3] = {4, meta.len, 6};
    redisReply *r = create ? cmd(rc, 4, a1, l1) : NULL;
    if (create && r == NULL)
        st = lost(b, rc, "creating the store");
    else if (r && r->type == REDIS_REPLY_ERROR)
        st = reply_error(b, r, "creating the store");
    freeReplyObject(r);
    r = NULL;
    if (st == MLOPS_OK) {
        r = cmd(rc, 3, a2, l2);
        uint64_t fmt = 0;
        if (r == NULL)
            st = lost(b, rc, "reading the store format");
        else if (r->type == REDIS_REPLY_ERROR)
            st = reply_error(b, r, "reading the store format");
        else if (r->type == REDIS_REPLY_NIL)
            st = mlops__error(MLOPS_E_NOTFOUND,
                              "no store under prefix '%s' at Redis %s (opened without create)",
                              b->prefix, b->where);
        else if (!parse_u64(r, &fmt))
            st = mlops__error(MLOPS_E_CORRUPT, "the store format marker at Redis %s is damaged",
                              b->where);
        else if (fmt > RD_FORMAT)
            st = mlops__error(MLOPS_E_VERSION,
                              "the store under prefix '%s' at Redis %s has format %llu; this "
                              "library supports up to %d; upgrade libmlops",
                              b->prefix, b->where, (unsigned long long)fmt, RD_FORMAT);
        freeReplyObject(r);
    }
    name_free(&meta);
    if (st == MLOPS_OK)
        give(b, rc);
    else
        conn_close(b, rc);
    return st;
}

mlops_status mlops__redis_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                      const mlops_store_options *opts)
{
    *out = NULL;
    rd_backend *b = mlops__calloc(env, 1, sizeof(*b));
    if (b == NULL)
        return mlops__nomem();
    b->base.ops = &rd_ops;
    b->base.env = env;
    b->pid = getpid();
    b->timeout.tv_sec = 5;
    memcpy(b->ttl_arg, "0", 2);
    memcpy(b->prefix, "mlops:", 7);
    b->prefix_len = 6;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        mlops__free(env, b);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create the Redis pool's lock");
    }
    mlops_status st = parse_uri(b, uri);
    if (st == MLOPS_OK)
        st = open_store(b, opts);
    if (st != MLOPS_OK) {
        rd_close(&b->base);
        return st;
    }
    *out = &b->base;
    return MLOPS_OK;
}

#else /* !MLOPS_HAVE_REDIS */

mlops_status mlops__redis_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                      const mlops_store_options *opts)
{
    (void)env;
    (void)uri;
    (void)opts;
    *out = NULL;
    return mlops__error(MLOPS_E_UNSUPPORTED,
                        "the Redis backend is not built into this library (build with "
                        "-Dredis=enabled and Debian's libhiredis-dev)");
}

#endif

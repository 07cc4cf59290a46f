/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend (libpq).
 *
 * Layout, inside one schema per store (URI parameter mlops_schema, default
 * "mlops"):
 *   meta(name text, value bigint)            schema_version
 *   kv(k bytea primary key, v bytea, ver bigint)
 *   ver_seq                                  one value per applied batch
 *   blobs(id bytea primary key, size, chunks) header, inserted at commit
 *   blob_chunks(id bytea, n int, data bytea) 1 MiB chunks
 *
 * Every value travels as a bound binary parameter; the only text spliced
 * into SQL is the validated schema identifier (S4). Batches are one
 * statement when they have no preconditions (an implicit transaction), or a
 * SERIALIZABLE transaction that reads the guarded keys, checks them, and
 * writes; serialization failures and deadlocks are retried a bounded number
 * of times, then reported as MLOPS_E_BUSY. Connections come from a small
 * pool; a connection that died while idle is noticed before it is used, and
 * a call that loses its connection fails with MLOPS_E_BACKEND while the next
 * call connects again. */
#include "mlops_config.h"
#include "store/store_internal.h"

#if MLOPS_HAVE_POSTGRES

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PG_SCHEMA_VERSION 1
#define PG_CHUNK (1024u * 1024u)
#define PG_SCAN_PAGE 512
#define PG_SCAN_BYTES_SQL "4194304"
#define PG_MAX_IDLE 8
#define PG_MAX_RETRIES 10
/* a write statement carries at most this many bytes or ops (bytea[] < 1 GB) */
#define PG_STMT_BYTES (32u * 1024u * 1024u)
#define PG_STMT_OPS 10000u

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23

enum {
    Q_GET,
    Q_SCAN_B,
    Q_SCAN_U,
    Q_WRITE_AUTO,
    Q_WRITE_V,
    Q_NEXTVAL,
    Q_PRECOND,
    Q_BLOB_HEAD,
    Q_BLOB_CHUNK,
    Q_CHUNK_PUT,
    Q_BLOB_INSERT,
    Q_CHUNK_RENAME,
    Q_BLOB_SAME,
    Q__COUNT
};

static const char *const q_name[Q__COUNT] = {"g", "sb", "su", "wa", "wv", "nv", "pc",
                                             "bh", "bc", "cp", "bi", "cr", "bs"};

typedef struct pg_conn {
    PGconn *c;
    struct pg_conn *next;
} pg_conn;

typedef struct pg_backend {
    mlops_backend base;
    char *conninfo; /* the URI without mlops_* parameters */
    char schema[64];
    char where[256]; /* host:port/db for messages (no password) */
    char lock_timeout[32];
    char *sql[Q__COUNT];
    pthread_mutex_t lock;
    pg_conn *idle;
    size_t n_idle;
    pid_t pid; /* the process that opened it; its sockets are not a child's */
} pg_backend;

typedef struct pg_blob_writer {
    mlops_backend_blob_writer base;
    pg_conn *pc; /* holds an open transaction once the first chunk is sent */
    uint8_t tmpid[20];
    mlops__buf chunk;
    int32_t nchunks;
    uint64_t size;
    mlops_status failed;
} pg_blob_writer;

typedef struct pg_blob_reader {
    mlops_backend_blob_reader base;
    uint8_t id[16];
    uint64_t size;
    int32_t nchunks, next;
    PGresult *res; /* the current chunk */
    const uint8_t *data;
    size_t len, pos;
} pg_blob_reader;

/* ---- small helpers ---- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get_i8(const PGresult *r, int row, int col)
{
    if (PQgetlength(r, row, col) != 8)
        return 0;
    return mlops__get_u64be((const uint8_t *)PQgetvalue(r, row, col));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* the library never prints */
}

/* The first line of a libpq message, without the trailing newline. */
static void first_line(char *out, size_t cap, const char *msg)
{
    size_t n = 0;
    if (msg == NULL)
        msg = "";
    while (msg[n] && msg[n] != '\n' && n + 1 < cap)
        n++;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static bool conn_bad(const pg_conn *pc)
{
    return pc == NULL || PQstatus(pc->c) != CONNECTION_OK;
}

/* Map a failed result to a status with a message naming what was done. */
static mlops_status pg_error(pg_backend *b, pg_conn *pc, const PGresult *r, const char *what)
{
    char line[256];
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    first_line(line, sizeof(line), msg ? msg : PQerrorMessage(pc->c));
    if (conn_bad(pc))
        return mlops__error(MLOPS_E_BACKEND,
                            "lost the connection to PostgreSQL at %s while %s: %s; the next "
                            "call reconnects",
                            b->where, what, line);
    if (state == NULL)
        state = "";
    if (strcmp(state, "23505") == 0)
        return mlops__error(MLOPS_E_EXISTS, "PostgreSQL at %s while %s: %s", b->where, what,
                            line);
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
        return mlops__error(MLOPS_E_BUSY, "PostgreSQL at %s while %s: %s (SQLSTATE %s)",
                            b->where, what, line, state);
    if (strcmp(state, "53100") == 0)
        return mlops__error(MLOPS_E_NOSPC, "PostgreSQL at %s while %s: %s", b->where, what,
                            line);
    if (strcmp(state, "53200") == 0)
        return mlops__error(MLOPS_E_NOMEM, "PostgreSQL at %s while %s: %s", b->where, what,
                            line);
    return mlops__error(MLOPS_E_BACKEND, "PostgreSQL at %s while %s: %s (SQLSTATE %s)",
                        b->where, what, line, state);
}

static bool retryable(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

/* ---- connections ---- */

static mlops_status conn_setup(pg_backend *b, pg_conn *pc)
{
    PGresult *r = PQexec(pc->c, b->lock_timeout);
    mlops_status st = MLOPS_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        st = pg_error(b, pc, r, "setting up the session");
    PQclear(r);
    for (int i = 0; i < Q__COUNT && st == MLOPS_OK; i++) {
        r = PQprepare(pc->c, q_name[i], b->sql[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            st = pg_error(b, pc, r, "preparing a statement");
        PQclear(r);
    }
    return st;
}

static mlops_status conn_open(pg_backend *b, pg_conn **out, bool prepare)
{
    *out = NULL;
    pg_conn *pc = mlops__calloc(b->base.env, 1, sizeof(*pc));
    if (pc == NULL)
        return mlops__nomem();
    /* Defaults first: the URI's own parameters override them. */
    const char *keys[] = {"connect_timeout", "application_name", "keepalives_idle",
                          "tcp_user_timeout", "dbname", NULL};
    const char *vals[] = {"10", "mlops", "30", "60000", b->conninfo, NULL};
    pc->c = PQconnectdbParams(keys, vals, 1);
    if (pc->c == NULL) {
        mlops__free(b->base.env, pc);
        return mlops__nomem();
    }
    PQsetNoticeProcessor(pc->c, quiet_notice, NULL);
    if (PQstatus(pc->c) != CONNECTION_OK) {
        char line[256];
        first_line(line, sizeof(line), PQerrorMessage(pc->c));
        mlops_status st = mlops__error(MLOPS_E_BACKEND,
                                       "cannot connect to PostgreSQL at %s: %s; check that the "
                                       "server runs and the URI (or PG* variables) is right",
                                       b->where, line);
        PQfinish(pc->c);
        mlops__free(b->base.env, pc);
        return st;
    }
    if (prepare) {
        mlops_status st = conn_setup(b, pc);
        if (st != MLOPS_OK) {
            PQfinish(pc->c);
            mlops__free(b->base.env, pc);
            return st;
        }
    }
    *out = pc;
    return MLOPS_OK;
}

static void conn_close(pg_backend *b, pg_conn *pc)
{
    if (pc == NULL)
        return;
    PQfinish(pc->c);
    mlops__free(b->base.env, pc);
}

/* True if an idle connection still works: a server that went away left
 * an EOF (and perhaps a FATAL message) to read. */
static bool conn_alive(pg_conn *pc)
{
    for (int i = 0; i < 4; i++) {
        if (PQstatus(pc->c) != CONNECTION_OK)
            return false;
        struct pollfd p = {PQsocket(pc->c), POLLIN, 0};
        int n = poll(&p, 1, 0);
        if (n == 0)
            return true;
        if (n < 0)
            return errno == EINTR;
        if (!PQconsumeInput(pc->c))
            return false;
        (void)PQisBusy(pc->c);
        PGnotify *nt;
        while ((nt = PQnotifies(pc->c)) != NULL)
            PQfreemem(nt);
    }
    return PQstatus(pc->c) == CONNECTION_OK;
}

static mlops_status take(pg_backend *b, pg_conn **out)
{
    if (getpid() != b->pid)
        return mlops__error(MLOPS_E_INVALID,
                            "this PostgreSQL store was opened in another process (before "
                            "fork()); open the store again in this process");
    for (;;) {
        pthread_mutex_lock(&b->lock);
        pg_conn *pc = b->idle;
        if (pc) {
            b->idle = pc->next;
            b->n_idle--;
        }
        pthread_mutex_unlock(&b->lock);
        if (pc == NULL)
            return conn_open(b, out, true);
        pc->next = NULL;
        if (conn_alive(pc)) {
            *out = pc;
            return MLOPS_OK;
        }
        conn_close(b, pc); /* died while idle (server restart, terminated backend) */
    }
}

static void give(pg_backend *b, pg_conn *pc)
{
    if (pc == NULL)
        return;
    if (PQstatus(pc->c) != CONNECTION_OK || PQtransactionStatus(pc->c) != PQTRANS_IDLE) {
        conn_close(b, pc);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->n_idle < PG_MAX_IDLE) {
        pc->next = b->idle;
        b->idle = pc;
        b->n_idle++;
        pc = NULL;
    }
    pthread_mutex_unlock(&b->lock);
    conn_close(b, pc);
}

static PGresult *run(pg_conn *pc, int q, int n, const char *const *vals, const int *lens,
                     const int *fmts)
{
    return PQexecPrepared(pc->c, q_name[q], n, vals, lens, fmts, 1);
}

static mlops_status exec_cmd(pg_backend *b, pg_conn *pc, const char *sql, const char *what)
{
    PGresult *r = PQexec(pc->c, sql);
    mlops_status st = MLOPS_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        st = pg_error(b, pc, r, what);
    PQclear(r);
    return st;
}

static void rollback(pg_conn *pc)
{
    if (PQstatus(pc->c) == CONNECTION_OK && PQtransactionStatus(pc->c) != PQTRANS_IDLE)
        PQclear(PQexec(pc->c, "ROLLBACK"));
}

/* ---- get and scan ---- */

static mlops_status pg_get(mlops_backend *base, const uint8_t *key, size_t key_len,
                           mlops_bytes *value_out, uint64_t *version_out)
{
    pg_backend *b = (pg_backend *)base;
    const char *vals[1] = {(const char *)key};
    int lens[1] = {(int)key_len}, fmts[1] = {1};
    mlops_status st = MLOPS_OK;
    /* A read is safe to repeat, so a connection lost mid-call is retried once. */
    for (int attempt = 0; attempt < 2; attempt++) {
        pg_conn *pc = NULL;
        st = take(b, &pc);
        if (st != MLOPS_OK)
            return st;
        PGresult *r = run(pc, Q_GET, 1, vals, lens, fmts);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            st = pg_error(b, pc, r, "reading a key");
        } else if (PQntuples(r) == 0) {
            st = mlops__error(MLOPS_E_NOTFOUND, "key not found");
        } else {
            st = mlops_bytes_set(value_out, base->env, PQgetvalue(r, 0, 0),
                                 (size_t)PQgetlength(r, 0, 0));
            if (st == MLOPS_OK && version_out)
                *version_out = get_i8(r, 0, 1);
        }
        PQclear(r);
        bool lost = conn_bad(pc);
        give(b, pc);
        if (!lost || attempt == 1)
            break;
    }
    return st;
}

static mlops_status pg_scan(mlops_backend *base, const uint8_t *start, size_t start_len,
                            const uint8_t *end, size_t end_len, size_t limit,
                            mlops_backend_scan_fn cb, void *payload)
{
    pg_backend *b = (pg_backend *)base;
    const mlops_env *env = base->env;
    mlops__buf from;
    mlops__buf_init(&from, env);
    mlops_status st = mlops__buf_append(&from, start ? start : (const uint8_t *)"", start_len);
    size_t done = 0;
    bool more = true;
    while (st == MLOPS_OK && more) {
        size_t page = PG_SCAN_PAGE;
        if (limit && limit - done < page)
            page = limit - done;
        uint8_t lim[8];
        mlops__put_u64be(lim, page);
        const char *vals[3] = {(const char *)(from.data ? from.data : (uint8_t *)""),
                               (const char *)end, (const char *)lim};
        int lens[3] = {(int)from.len, (int)end_len, 8}, fmts[3] = {1, 1, 1};
        if (end_len == 0) {
            vals[1] = vals[2];
            lens[1] = 8;
        }
        pg_conn *pc = NULL;
        st = take(b, &pc);
        if (st != MLOPS_OK)
            break;
        PGresult *r = run(pc, end_len ? Q_SCAN_B : Q_SCAN_U, end_len ? 3 : 2, vals, lens, fmts);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            st = pg_error(b, pc, r, "scanning keys");
            PQclear(r);
            give(b, pc);
            break;
        }
        give(b, pc); /* the callback may take its time; the result is ours */
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            if (cb((const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
                   (const uint8_t *)PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
                   get_i8(r, i, 2), payload) != 0) {
                st = MLOPS_E_CALLBACK;
                break;
            }
        }
        done += (size_t)n;
        if (st == MLOPS_OK) {
            /* more rows follow if the page was full or cut by its byte budget */
            uint64_t could = n > 0 ? get_i8(r, 0, 3) : 0;
            more = n > 0 && ((size_t)n == page || (uint64_t)n < could) &&
                   (!limit || done < limit);
            if (more) {
                /* the next page starts just after the last key: key + 0x00 */
                from.len = 0;
                st = mlops__buf_append(&from, PQgetvalue(r, n - 1, 0),
                                       (size_t)PQgetlength(r, n - 1, 0));
                if (st == MLOPS_OK)
                    st = mlops__buf_putc(&from, 0);
            }
        }
        PQclear(r);
    }
    mlops__buf_free(&from);
    return st;
}

/* ---- apply ---- */

/* A binary bytea[] (PostgreSQL's array_recv format). */
typedef struct arr {
    mlops__buf buf;
    uint32_t n;
} arr;

static mlops_status arr_begin(arr *a, const mlops_env *env)
{
    mlops__buf_init(&a->buf, env);
    a->n = 0;
    uint8_t hdr[20];
    be32(hdr, 1);         /* ndim */
    be32(hdr + 4, 0);     /* no nulls */
    be32(hdr + 8, OID_BYTEA);
    be32(hdr + 12, 0);    /* dim, patched at the end */
    be32(hdr + 16, 1);    /* lower bound */
    return mlops__buf_append(&a->buf, hdr, 20);
}

static mlops_status arr_add(arr *a, const uint8_t *p, size_t len)
{
    uint8_t l[4];
    be32(l, (uint32_t)len);
    mlops_status st = mlops__buf_append(&a->buf, l, 4);
    if (st == MLOPS_OK && len)
        st = mlops__buf_append(&a->buf, p, len);
    if (st == MLOPS_OK)
        a->n++;
    return st;
}

/* Finish; an empty array is sent as ndim 0. Returns its length. */
static size_t arr_end(arr *a)
{
    if (a->n == 0) {
        be32(a->buf.data, 0);
        return 12;
    }
    be32(a->buf.data + 12, a->n);
    return a->buf.len;
}

typedef struct wref {
    const mlops_batch_op *op;
    size_t idx;
} wref;

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return al < bl ? -1 : al > bl;
}

static int wref_cmp(const void *x, const void *y)
{
    const wref *a = x, *b = y;
    int c = keycmp(a->op->key, a->op->key_len, b->op->key, b->op->key_len);
    if (c != 0)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

typedef struct row_ref {
    const uint8_t *k;
    size_t klen;
    int row;
} row_ref;

static int row_cmp(const void *x, const void *y)
{
    const row_ref *a = x, *b = y;
    return keycmp(a->k, a->klen, b->k, b->klen);
}

/* Check the preconditions against the rows read in this transaction. */
static mlops_status check_preconds(pg_backend *b, pg_conn *pc, const mlops_batch_op *ops,
                                   size_t n_ops, size_t n_pre, PGresult **res_out)
{
    const mlops_env *env = b->base.env;
    arr a;
    mlops_status st = arr_begin(&a, env);
    for (size_t i = 0; i < n_ops && st == MLOPS_OK; i++) {
        if (ops[i].kind >= MLOPS_OP_REQUIRE_ABSENT)
            st = arr_add(&a, ops[i].key, ops[i].key_len);
    }
    if (st != MLOPS_OK) {
        mlops__buf_free(&a.buf);
        return st;
    }
    size_t alen = arr_end(&a);
    const char *vals[1] = {(const char *)a.buf.data};
    int lens[1] = {(int)alen}, fmts[1] = {1};
    PGresult *r = run(pc, Q_PRECOND, 1, vals, lens, fmts);
    mlops__buf_free(&a.buf);
    *res_out = r;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return MLOPS_E_BACKEND; /* the caller reports it with the result */
    int rows = PQntuples(r);
    row_ref *idx = mlops__calloc(env, rows ? (size_t)rows : 1, sizeof(*idx));
    if (idx == NULL)
        return mlops__nomem();
    for (int i = 0; i < rows; i++) {
        idx[i].k = (const uint8_t *)PQgetvalue(r, i, 0);
        idx[i].klen = (size_t)PQgetlength(r, i, 0);
        idx[i].row = i;
    }
    qsort(idx, (size_t)rows, sizeof(*idx), row_cmp);
    (void)n_pre;
    st = MLOPS_OK;
    for (size_t i = 0; i < n_ops && st == MLOPS_OK; i++) {
        const mlops_batch_op *op = &ops[i];
        if (op->kind < MLOPS_OP_REQUIRE_ABSENT)
            continue;
        row_ref want = {op->key, op->key_len, 0};
        row_ref *hit = bsearch(&want, idx, (size_t)rows, sizeof(*idx), row_cmp);
        switch (op->kind) {
        case MLOPS_OP_REQUIRE_ABSENT:
            if (hit)
                st = mlops__store_conflict(op, "the key exists");
            break;
        case MLOPS_OP_REQUIRE_VALUE:
            if (hit == NULL)
                st = mlops__store_conflict(op, "the key is absent");
            else if ((size_t)PQgetlength(r, hit->row, 1) != op->value_len ||
                     (op->value_len &&
                      memcmp(PQgetvalue(r, hit->row, 1), op->value, op->value_len) != 0))
                st = mlops__store_conflict(op, "the key holds another value");
            break;
        case MLOPS_OP_REQUIRE_VERSION:
            if (hit == NULL)
                st = mlops__store_conflict(op, "the key is absent");
            else if (get_i8(r, hit->row, 2) != op->version)
                st = mlops__store_conflict(op, "the key was changed since it was read");
            break;
        default:
            break;
        }
    }
    mlops__free(env, idx);
    return st;
}

/* Build the arrays for writes[from..to) and run one write statement. */
static mlops_status write_stmt(pg_backend *b, pg_conn *pc, const wref *w, size_t from,
                               size_t to, const uint8_t *ver_be, PGresult **res_out)
{
    const mlops_env *env = b->base.env;
    arr ks, vs, ds;
    mlops_status st = arr_begin(&ks, env);
    mlops_status st2 = arr_begin(&vs, env);
    mlops_status st3 = arr_begin(&ds, env);
    if (st == MLOPS_OK)
        st = st2;
    if (st == MLOPS_OK)
        st = st3;
    for (size_t i = from; i < to && st == MLOPS_OK; i++) {
        const mlops_batch_op *op = w[i].op;
        if (op->kind == MLOPS_OP_PUT) {
            st = arr_add(&ks, op->key, op->key_len);
            if (st == MLOPS_OK)
                st = arr_add(&vs, op->value, op->value_len);
        } else {
            st = arr_add(&ds, op->key, op->key_len);
        }
    }
    if (st == MLOPS_OK) {
        size_t kl = arr_end(&ks), vl = arr_end(&vs), dl = arr_end(&ds);
        const char *vals[4] = {(const char *)ks.buf.data, (const char *)vs.buf.data,
                               (const char *)ds.buf.data, (const char *)ver_be};
        int lens[4] = {(int)kl, (int)vl, (int)dl, 8}, fmts[4] = {1, 1, 1, 1};
        *res_out = run(pc, ver_be ? Q_WRITE_V : Q_WRITE_AUTO, ver_be ? 4 : 3, vals, lens, fmts);
    }
    mlops__buf_free(&ks.buf);
    mlops__buf_free(&vs.buf);
    mlops__buf_free(&ds.buf);
    return st;
}

/* One attempt at a batch. *retry is set for a serialization failure. */
static mlops_status apply_once(pg_backend *b, pg_conn *pc, const mlops_batch_op *ops,
                               size_t n_ops, size_t n_pre, const wref *w, size_t n_w,
                               bool *retry)
{
    PGresult *r = NULL;
    mlops_status st = MLOPS_OK;
    *retry = false;
    /* Split the writes into statements that stay well below bytea[] limits. */
    size_t n_stmt = 0, bytes = 0, ops_in = 0;
    for (size_t i = 0; i < n_w; i++) {
        size_t sz = w[i].op->key_len + w[i].op->value_len + 8;
        if (ops_in == 0 || bytes + sz > PG_STMT_BYTES || ops_in >= PG_STMT_OPS) {
            n_stmt++;
            bytes = 0;
            ops_in = 0;
        }
        bytes += sz;
        ops_in++;
    }
    if (n_pre == 0 && n_stmt <= 1) {
        /* one statement is its own transaction */
        st = write_stmt(b, pc, w, 0, n_w, NULL, &r);
        if (st == MLOPS_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
            *retry = retryable(r);
            if (conn_bad(pc)) {
                char line[256];
                first_line(line, sizeof(line), PQerrorMessage(pc->c));
                st = mlops__error(MLOPS_E_BACKEND,
                                  "lost the connection to PostgreSQL at %s while applying a "
                                  "batch (%s); it was applied entirely or not at all; the next "
                                  "call reconnects",
                                  b->where, line);
            } else {
                st = pg_error(b, pc, r, "applying a batch");
            }
        }
        PQclear(r);
        return st;
    }
    st = exec_cmd(b, pc,
                  n_pre ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN ISOLATION LEVEL READ COMMITTED",
                  "starting a transaction");
    if (st != MLOPS_OK)
        return st;
    if (n_pre) {
        st = check_preconds(b, pc, ops, n_ops, n_pre, &r);
        if (st == MLOPS_E_BACKEND && PQresultStatus(r) != PGRES_TUPLES_OK) {
            *retry = retryable(r);
            st = pg_error(b, pc, r, "reading the batch's preconditions");
        }
        PQclear(r);
        r = NULL;
    }
    uint8_t ver[8];
    if (st == MLOPS_OK && n_w) {
        r = run(pc, Q_NEXTVAL, 0, NULL, NULL, NULL);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            *retry = retryable(r);
            st = pg_error(b, pc, r, "taking a version number");
        } else {
            memcpy(ver, PQgetvalue(r, 0, 0), 8);
        }
        PQclear(r);
        r = NULL;
    }
    size_t i = 0;
    while (st == MLOPS_OK && i < n_w) {
        size_t j = i;
        bytes = 0;
        while (j < n_w && (j == i || (bytes + w[j].op->key_len + w[j].op->value_len + 8 <=
                                          PG_STMT_BYTES &&
                                      j - i < PG_STMT_OPS))) {
            bytes += w[j].op->key_len + w[j].op->value_len + 8;
            j++;
        }
        st = write_stmt(b, pc, w, i, j, ver, &r);
        if (st == MLOPS_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
            *retry = retryable(r);
            st = pg_error(b, pc, r, "applying a batch");
        }
        PQclear(r);
        r = NULL;
        i = j;
    }
    if (st != MLOPS_OK) {
        rollback(pc);
        return st;
    }
    r = PQexec(pc->c, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *retry = retryable(r);
        if (conn_bad(pc)) {
            char line[256];
            first_line(line, sizeof(line), PQerrorMessage(pc->c));
            st = mlops__error(MLOPS_E_BACKEND,
                              "lost the connection to PostgreSQL at %s during COMMIT (%s); the "
                              "batch may or may not have been applied; the next call reconnects",
                              b->where, line);
        } else {
            st = pg_error(b, pc, r, "committing a batch");
        }
    }
    PQclear(r);
    rollback(pc);
    return st;
}

static mlops_status pg_apply(mlops_backend *base, const mlops_batch_op *ops, size_t n_ops)
{
    pg_backend *b = (pg_backend *)base;
    const mlops_env *env = base->env;
    size_t n_pre = 0, n_w = 0;
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].kind == MLOPS_OP_PUT || ops[i].kind == MLOPS_OP_DELETE)
            n_w++;
        else if (ops[i].kind >= MLOPS_OP_REQUIRE_ABSENT && ops[i].kind <= MLOPS_OP_REQUIRE_VERSION)
            n_pre++;
        else
            return mlops__error(MLOPS_E_INVALID, "unknown batch operation kind %u", ops[i].kind);
        if (ops[i].key_len > INT32_MAX / 2 || ops[i].value_len > INT32_MAX / 2)
            return mlops__error(MLOPS_E_TOOBIG, "batch operation %zu is too large", i);
    }
    if (n_w == 0 && n_pre == 0)
        return MLOPS_OK;
    /* The last write to each key wins; keys go in order, so concurrent
     * batches lock rows in one order and rarely deadlock. */
    wref *w = mlops__calloc(env, n_w ? n_w : 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    size_t k = 0;
    for (size_t i = 0; i < n_ops; i++) {
        if (ops[i].kind == MLOPS_OP_PUT || ops[i].kind == MLOPS_OP_DELETE)
            w[k++] = (wref){&ops[i], i};
    }
    qsort(w, n_w, sizeof(*w), wref_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n_w; i++) {
        if (i + 1 < n_w && keycmp(w[i].op->key, w[i].op->key_len, w[i + 1].op->key,
                                  w[i + 1].op->key_len) == 0)
            continue; /* a later op on this key follows */
        w[u++] = w[i];
    }
    mlops_status st = MLOPS_OK;
    for (int attempt = 0;; attempt++) {
        pg_conn *pc = NULL;
        st = take(b, &pc);
        if (st != MLOPS_OK)
            break;
        bool retry = false;
        st = apply_once(b, pc, ops, n_ops, n_pre, w, u, &retry);
        give(b, pc);
        if (!retry)
            break;
        if (attempt + 1 >= PG_MAX_RETRIES) {
            st = mlops__error(MLOPS_E_BUSY,
                              "PostgreSQL at %s: the batch lost %d serialization races in a "
                              "row; nothing was applied; try again",
                              b->where, PG_MAX_RETRIES);
            break;
        }
        /* jittered exponential backoff: 1, 2, 4 ... ms, capped */
        long ms = 1L << (attempt < 6 ? attempt : 6);
        ms += (long)(mlops__xxh3_64(&pc, sizeof(pc), (uint64_t)attempt) % (uint64_t)ms);
        sleep_ms(ms);
    }
    mlops__free(env, w);
    return st;
}

/* ---- blobs ---- */

static mlops_status pg_blob_write_open(mlops_backend *base, mlops_backend_blob_writer **out)
{
    pg_blob_writer *w = mlops__calloc(base->env, 1, sizeof(*w));
    if (w == NULL)
        return mlops__nomem();
    w->base.backend = base;
    mlops__buf_init(&w->chunk, base->env);
    /* A temporary id of another length than any address, unique enough:
     * its rows are only ever visible inside the writer's transaction. */
    memcpy(w->tmpid, "tmp:", 4);
    uint64_t seed = (uint64_t)mlops__now_ns(base->env) ^ (uint64_t)(uintptr_t)w;
    mlops__put_u64le(w->tmpid + 4, mlops__xxh3_64(&seed, sizeof(seed), 1));
    mlops__put_u64le(w->tmpid + 12, mlops__xxh3_64(&seed, sizeof(seed), 2));
    *out = &w->base;
    return MLOPS_OK;
}

static mlops_status chunk_flush(pg_blob_writer *w, const uint8_t *data, size_t len)
{
    pg_backend *b = (pg_backend *)w->base.backend;
    mlops_status st = MLOPS_OK;
    if (w->pc == NULL) {
        st = take(b, &w->pc);
        if (st == MLOPS_OK)
            st = exec_cmd(b, w->pc, "BEGIN ISOLATION LEVEL READ COMMITTED",
                          "starting a blob transaction");
        if (st != MLOPS_OK)
            return st;
    }
    uint8_t n[4];
    be32(n, (uint32_t)w->nchunks);
    const char *vals[3] = {(const char *)w->tmpid, (const char *)n, (const char *)data};
    int lens[3] = {20, 4, (int)len}, fmts[3] = {1, 1, 1};
    PGresult *r = run(w->pc, Q_CHUNK_PUT, 3, vals, lens, fmts);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        st = pg_error(b, w->pc, r, "writing a blob chunk");
    else
        w->nchunks++;
    PQclear(r);
    return st;
}

static mlops_status pg_blob_write(mlops_backend_blob_writer *bw, const uint8_t *data, size_t len)
{
    pg_blob_writer *w = (pg_blob_writer *)bw;
    if (w->failed)
        return mlops__error(w->failed, "an earlier write to this blob failed");
    mlops_status st = MLOPS_OK;
    while (len > 0 && st == MLOPS_OK) {
        size_t room = PG_CHUNK - w->chunk.len;
        if (w->chunk.len == 0 && len >= PG_CHUNK) {
            st = chunk_flush(w, data, PG_CHUNK); /* whole chunks go straight out */
            data += PG_CHUNK;
            len -= PG_CHUNK;
            w->size += PG_CHUNK;
            continue;
        }
        size_t n = len < room ? len : room;
        st = mlops__buf_append(&w->chunk, data, n);
        if (st != MLOPS_OK)
            break;
        data += n;
        len -= n;
        w->size += n;
        if (w->chunk.len == PG_CHUNK) {
            st = chunk_flush(w, w->chunk.data, w->chunk.len);
            w->chunk.len = 0;
        }
    }
    if (st != MLOPS_OK)
        w->failed = st;
    return st;
}

static mlops_status pg_blob_write_commit(mlops_backend_blob_writer *bw, const mlops_hash128 *id)
{
    pg_blob_writer *w = (pg_blob_writer *)bw;
    pg_backend *b = (pg_backend *)bw->backend;
    if (w->failed)
        return mlops__error(w->failed, "an earlier write to this blob failed");
    mlops_status st = MLOPS_OK;
    if (w->chunk.len > 0) {
        st = chunk_flush(w, w->chunk.data, w->chunk.len);
        w->chunk.len = 0;
    } else if (w->pc == NULL) {
        st = take(b, &w->pc);
        if (st == MLOPS_OK)
            st = exec_cmd(b, w->pc, "BEGIN ISOLATION LEVEL READ COMMITTED",
                          "starting a blob transaction");
    }
    if (st != MLOPS_OK)
        goto out;
    uint8_t size[8], nch[4];
    mlops__put_u64be(size, w->size);
    be32(nch, (uint32_t)w->nchunks);
    const char *vals[3] = {(const char *)id->bytes, (const char *)size, (const char *)nch};
    int lens[3] = {16, 8, 4}, fmts[3] = {1, 1, 1};
    /* Waits for a concurrent writer of the same address, then sees its row. */
    PGresult *r = run(w->pc, Q_BLOB_INSERT, 3, vals, lens, fmts);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        st = pg_error(b, w->pc, r, "recording a blob");
        PQclear(r);
        goto out;
    }
    bool inserted = PQntuples(r) == 1;
    PQclear(r);
    if (inserted) {
        const char *v2[2] = {(const char *)id->bytes, (const char *)w->tmpid};
        int l2[2] = {16, 20}, f2[2] = {1, 1};
        r = run(w->pc, Q_CHUNK_RENAME, 2, v2, l2, f2);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            st = pg_error(b, w->pc, r, "moving blob chunks into place");
        PQclear(r);
        if (st == MLOPS_OK) {
            r = PQexec(w->pc->c, "COMMIT");
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                st = pg_error(b, w->pc, r, "committing a blob");
            PQclear(r);
        }
        goto out;
    }
    /* The address exists: the same bytes are a dedup, others a collision. */
    const char *v3[4] = {(const char *)id->bytes, (const char *)w->tmpid, (const char *)size,
                         (const char *)nch};
    int l3[4] = {16, 20, 8, 4}, f3[4] = {1, 1, 1, 1};
    r = run(w->pc, Q_BLOB_SAME, 4, v3, l3, f3);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        st = pg_error(b, w->pc, r, "comparing a blob with the stored copy");
    } else if (PQgetlength(r, 0, 0) != 1 || PQgetvalue(r, 0, 0)[0] != 1) {
        st = mlops__error(MLOPS_E_CONFLICT,
                          "a different blob already has this content address (hash "
                          "collision); refusing to confuse them");
    }
    PQclear(r);
out:
    if (w->pc) {
        rollback(w->pc); /* after COMMIT this does nothing; otherwise drops the chunks */
        give(b, w->pc);
        w->pc = NULL;
    }
    if (st != MLOPS_OK)
        w->failed = st;
    return st;
}

static void pg_blob_write_free(mlops_backend_blob_writer *bw)
{
    pg_blob_writer *w = (pg_blob_writer *)bw;
    pg_backend *b = (pg_backend *)bw->backend;
    if (w->pc) {
        rollback(w->pc);
        give(b, w->pc);
    }
    mlops__buf_free(&w->chunk);
    mlops__free(b->base.env, w);
}

static mlops_status blob_head(pg_backend *b, const mlops_hash128 *id, uint64_t *size,
                              int32_t *nchunks)
{
    const char *vals[1] = {(const char *)id->bytes};
    int lens[1] = {16}, fmts[1] = {1};
    mlops_status st = MLOPS_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        pg_conn *pc = NULL;
        st = take(b, &pc);
        if (st != MLOPS_OK)
            return st;
        PGresult *r = run(pc, Q_BLOB_HEAD, 1, vals, lens, fmts);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            st = pg_error(b, pc, r, "reading a blob header");
        } else if (PQntuples(r) == 0) {
            st = mlops__error(MLOPS_E_NOTFOUND, "blob not found");
        } else {
            *size = get_i8(r, 0, 0);
            *nchunks = PQgetlength(r, 0, 1) == 4
                           ? (int32_t)get_be32((const uint8_t *)PQgetvalue(r, 0, 1))
                           : -1;
            if (*nchunks < 0)
                st = mlops__error(MLOPS_E_CORRUPT, "blob header has a bad chunk count");
        }
        PQclear(r);
        bool lost = conn_bad(pc);
        give(b, pc);
        if (!lost)
            break;
    }
    return st;
}

static mlops_status pg_blob_read_open(mlops_backend *base, const mlops_hash128 *id,
                                      mlops_backend_blob_reader **out, uint64_t *size_out)
{
    pg_backend *b = (pg_backend *)base;
    uint64_t size = 0;
    int32_t nchunks = 0;
    mlops_status st = blob_head(b, id, &size, &nchunks);
    if (st != MLOPS_OK)
        return st;
    pg_blob_reader *r = mlops__calloc(base->env, 1, sizeof(*r));
    if (r == NULL)
        return mlops__nomem();
    r->base.backend = base;
    memcpy(r->id, id->bytes, 16);
    r->size = size;
    r->nchunks = nchunks;
    if (size_out)
        *size_out = size;
    *out = &r->base;
    return MLOPS_OK;
}

static mlops_status pg_blob_read(mlops_backend_blob_reader *br, uint8_t *buf, size_t cap,
                                 size_t *n_out)
{
    pg_blob_reader *r = (pg_blob_reader *)br;
    pg_backend *b = (pg_backend *)br->backend;
    *n_out = 0;
    if (r->pos >= r->len) {
        if (r->next >= r->nchunks)
            return MLOPS_OK; /* the end */
        PQclear(r->res);
        r->res = NULL;
        r->data = NULL;
        r->len = r->pos = 0;
        uint8_t n[4];
        be32(n, (uint32_t)r->next);
        const char *vals[2] = {(const char *)r->id, (const char *)n};
        int lens[2] = {16, 4}, fmts[2] = {1, 1};
        pg_conn *pc = NULL;
        mlops_status st = take(b, &pc);
        if (st != MLOPS_OK)
            return st;
        PGresult *res = run(pc, Q_BLOB_CHUNK, 2, vals, lens, fmts);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            st = pg_error(b, pc, res, "reading a blob chunk");
            PQclear(res);
        } else if (PQntuples(res) != 1) {
            PQclear(res);
            st = mlops__error(MLOPS_E_CORRUPT, "blob chunk %d of %d is missing", r->next,
                              r->nchunks);
        } else {
            r->res = res;
            r->data = (const uint8_t *)PQgetvalue(res, 0, 0);
            r->len = (size_t)PQgetlength(res, 0, 0);
            r->next++;
        }
        give(b, pc);
        if (st != MLOPS_OK)
            return st;
    }
    size_t n = r->len - r->pos < cap ? r->len - r->pos : cap;
    if (n)
        memcpy(buf, r->data + r->pos, n);
    r->pos += n;
    *n_out = n;
    return MLOPS_OK;
}

static void pg_blob_read_free(mlops_backend_blob_reader *br)
{
    pg_blob_reader *r = (pg_blob_reader *)br;
    PQclear(r->res);
    mlops__free(br->backend->env, r);
}

static mlops_status pg_blob_stat(mlops_backend *base, const mlops_hash128 *id, uint64_t *size_out)
{
    uint64_t size = 0;
    int32_t n = 0;
    mlops_status st = blob_head((pg_backend *)base, id, &size, &n);
    if (st == MLOPS_OK && size_out)
        *size_out = size;
    return st;
}

/* ---- maintenance ---- */

static mlops_status simple_query(pg_backend *b, const char *sql, const char *what,
                                 PGresult **out)
{
    pg_conn *pc = NULL;
    mlops_status st = take(b, &pc);
    if (st != MLOPS_OK)
        return st;
    PGresult *r = PQexecParams(pc->c, sql, 0, NULL, NULL, NULL, NULL, 0);
    ExecStatusType es = PQresultStatus(r);
    if (es != PGRES_TUPLES_OK && es != PGRES_COMMAND_OK) {
        st = pg_error(b, pc, r, what);
        PQclear(r);
        r = NULL;
    }
    give(b, pc);
    if (out)
        *out = r;
    else
        PQclear(r);
    return st;
}

static mlops_status pg_info(mlops_backend *base, mlops_store_info_data *info)
{
    pg_backend *b = (pg_backend *)base;
    char sql[768];
    snprintf(sql, sizeof(sql),
             "SELECT (SELECT count(*) FROM \"%s\".kv), (SELECT count(*) FROM \"%s\".blobs), "
             "(SELECT coalesce(sum(size), 0) FROM \"%s\".blobs), "
             "pg_total_relation_size('\"%s\".kv') + pg_total_relation_size('\"%s\".blobs') + "
             "pg_total_relation_size('\"%s\".blob_chunks'), "
             "pg_total_relation_size('\"%s\".blob_chunks')",
             b->schema, b->schema, b->schema, b->schema, b->schema, b->schema, b->schema);
    PGresult *r = NULL;
    mlops_status st = simple_query(b, sql, "reading store figures", &r);
    if (st != MLOPS_OK)
        return st;
    if (PQntuples(r) == 1) {
        info->format_version = PG_SCHEMA_VERSION;
        info->keys = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        info->records = info->keys;
        info->blobs = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        info->blob_bytes = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
        info->bytes = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
    }
    PQclear(r);
    return MLOPS_OK;
}

static mlops_status pg_check(mlops_backend *base, char **report_out)
{
    pg_backend *b = (pg_backend *)base;
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT encode(b.id, 'hex'), b.size, b.chunks, count(c.n), "
             "coalesce(sum(length(c.data)), 0), coalesce(max(c.n), -1) "
             "FROM \"%s\".blobs b LEFT JOIN \"%s\".blob_chunks c ON c.id = b.id "
             "GROUP BY b.id, b.size, b.chunks "
             "HAVING count(c.n) <> b.chunks OR coalesce(sum(length(c.data)), 0) <> b.size "
             "OR coalesce(max(c.n), -1) <> b.chunks - 1 ORDER BY b.id LIMIT 1000",
             b->schema, b->schema);
    PGresult *r = NULL;
    mlops_status st = simple_query(b, sql, "checking blobs", &r);
    if (st != MLOPS_OK)
        return st;
    mlops__buf rep;
    mlops__buf_init(&rep, base->env);
    int n = PQntuples(r);
    for (int i = 0; i < n && st == MLOPS_OK; i++)
        st = mlops__buf_printf(&rep,
                               "blob %s: header says %s bytes in %s chunks; found %s chunks "
                               "holding %s bytes\n",
                               PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                               PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
    char first[40] = "";
    if (n > 0)
        snprintf(first, sizeof(first), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (st == MLOPS_OK) {
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT value FROM \"%s\".meta WHERE name = 'schema_version')",
                 b->schema);
        st = simple_query(b, sql, "checking the schema version", &r);
        if (st == MLOPS_OK) {
            long long v = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
            if (v != PG_SCHEMA_VERSION)
                st = mlops__buf_printf(&rep, "schema version is %lld, expected %d\n", v,
                                       PG_SCHEMA_VERSION);
            PQclear(r);
        }
    }
    if (st != MLOPS_OK) {
        mlops__buf_free(&rep);
        return st;
    }
    bool bad = rep.len > 0;
    char *text = mlops__buf_take_str(&rep);
    if (text == NULL)
        return mlops__nomem();
    if (report_out)
        *report_out = text;
    else
        mlops__free(base->env, text);
    if (bad)
        return mlops__error(MLOPS_E_CORRUPT, "store check failed%s%s", first[0] ? " at blob " : "",
                            first);
    return MLOPS_OK;
}

static mlops_status pg_compact(mlops_backend *base)
{
    pg_backend *b = (pg_backend *)base;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "VACUUM (ANALYZE) \"%s\".kv, \"%s\".blobs, \"%s\".blob_chunks", b->schema,
             b->schema, b->schema);
    return simple_query(b, sql, "vacuuming the store's tables", NULL);
}

static void pg_close(mlops_backend *base)
{
    pg_backend *b = (pg_backend *)base;
    const mlops_env *env = base->env;
    /* In a forked child the sockets are shared with the parent, and PQfinish
     * would tell the server to end the parent's sessions: the child's copy
     * of each socket is swapped for /dev/null first, so the goodbye goes
     * nowhere and only the child's descriptor is closed. */
    bool owner = getpid() == b->pid;
    int nul = owner ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
    while (b->idle) {
        pg_conn *pc = b->idle;
        b->idle = pc->next;
        if (owner || (nul >= 0 && dup2(nul, PQsocket(pc->c)) >= 0))
            conn_close(b, pc);
    }
    if (nul >= 0)
        close(nul);
    for (int i = 0; i < Q__COUNT; i++)
        mlops__free(env, b->sql[i]);
    mlops__free(env, b->conninfo);
    pthread_mutex_destroy(&b->lock);
    mlops__free(env, b);
}

static const mlops_backend_ops pg_ops = {
    .version = MLOPS_BACKEND_OPS_VERSION,
    .caps = MLOPS_BACKEND_CAP_PERSISTENT | MLOPS_BACKEND_CAP_MULTIPROCESS,
    .name = "postgres",
    .get = pg_get,
    .scan = pg_scan,
    .apply = pg_apply,
    .blob_write_open = pg_blob_write_open,
    .blob_write = pg_blob_write,
    .blob_write_commit = pg_blob_write_commit,
    .blob_write_free = pg_blob_write_free,
    .blob_read_open = pg_blob_read_open,
    .blob_read = pg_blob_read,
    .blob_read_free = pg_blob_read_free,
    .close = pg_close,
    .compact = pg_compact,
    .check = pg_check,
    .info = pg_info,
    .blob_stat = pg_blob_stat,
};

/* ---- opening: URI, schema, migration ---- */

static bool schema_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9') || strncmp(s, "pg_", 3) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Split our own parameters (mlops_schema) out of the URI's query string. */
static mlops_status parse_uri(pg_backend *b, const char *uri)
{
    const mlops_env *env = b->base.env;
    snprintf(b->schema, sizeof(b->schema), "mlops");
    mlops__buf out;
    mlops__buf_init(&out, env);
    const char *q = strchr(uri, '?');
    size_t base_len = q ? (size_t)(q - uri) : strlen(uri);
    mlops_status st = mlops__buf_append(&out, uri, base_len);
    bool first = true;
    while (st == MLOPS_OK && q && *q) {
        const char *p = q + 1;
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 13 && strncmp(p, "mlops_schema=", 13) == 0) {
            if (!schema_name_ok(p + 13, len - 13)) {
                st = mlops__error(MLOPS_E_INVALID,
                                  "mlops_schema '%.*s' is not a plain lower-case identifier "
                                  "([a-z0-9_], 1 to 63 characters, not starting with a digit "
                                  "or pg_)",
                                  (int)(len - 13 > 64 ? 64 : len - 13), p + 13);
                break;
            }
            memcpy(b->schema, p + 13, len - 13);
            b->schema[len - 13] = '\0';
        } else if (len > 6 && strncmp(p, "mlops_", 6) == 0) {
            st = mlops__error(MLOPS_E_INVALID,
                              "unknown store parameter '%.*s' in the PostgreSQL URI; the "
                              "backend knows mlops_schema",
                              (int)(len > 64 ? 64 : len), p);
            break;
        } else if (len > 0) {
            st = mlops__buf_putc(&out, first ? '?' : '&');
            if (st == MLOPS_OK)
                st = mlops__buf_append(&out, p, len);
            first = false;
        }
        q = amp;
    }
    if (st == MLOPS_OK) {
        b->conninfo = mlops__buf_take_str(&out);
        if (b->conninfo == NULL)
            st = mlops__nomem();
    }
    mlops__buf_free(&out);
    return st;
}

static mlops_status build_sql(pg_backend *b)
{
    const char *s = b->schema;
    const char *tmpl[Q__COUNT] = {
        [Q_GET] = "SELECT v, ver FROM \"%1$s\".kv WHERE k = $1",
        /* A page is at most $3 rows and stops once PG_SCAN_BYTES of values
         * came before a row (octet_length does not detoast); cnt is the
         * number of rows the page could have had. */
        [Q_SCAN_B] = "SELECT k, v, ver, cnt FROM (SELECT k, v, ver, count(*) OVER () AS cnt, "
                     "sum(octet_length(v)) OVER (ORDER BY k) - octet_length(v) AS before "
                     "FROM (SELECT k, v, ver FROM \"%1$s\".kv WHERE k >= $1 AND k < $2 "
                     "ORDER BY k LIMIT $3::int8) p) t WHERE before < " PG_SCAN_BYTES_SQL
                     " ORDER BY k",
        [Q_SCAN_U] = "SELECT k, v, ver, cnt FROM (SELECT k, v, ver, count(*) OVER () AS cnt, "
                     "sum(octet_length(v)) OVER (ORDER BY k) - octet_length(v) AS before "
                     "FROM (SELECT k, v, ver FROM \"%1$s\".kv WHERE k >= $1 "
                     "ORDER BY k LIMIT $2::int8) p) t WHERE before < " PG_SCAN_BYTES_SQL
                     " ORDER BY k",
        [Q_WRITE_AUTO] =
            "WITH d AS (DELETE FROM \"%1$s\".kv WHERE k = ANY($3::bytea[])) "
            "INSERT INTO \"%1$s\".kv (k, v, ver) SELECT t.k, t.v, "
            "(SELECT nextval('\"%1$s\".ver_seq')) FROM unnest($1::bytea[], $2::bytea[]) AS t(k, v) "
            "ON CONFLICT (k) DO UPDATE SET v = excluded.v, ver = excluded.ver",
        [Q_WRITE_V] =
            "WITH d AS (DELETE FROM \"%1$s\".kv WHERE k = ANY($3::bytea[])) "
            "INSERT INTO \"%1$s\".kv (k, v, ver) SELECT t.k, t.v, $4::int8 "
            "FROM unnest($1::bytea[], $2::bytea[]) AS t(k, v) "
            "ON CONFLICT (k) DO UPDATE SET v = excluded.v, ver = excluded.ver",
        [Q_NEXTVAL] = "SELECT nextval('\"%1$s\".ver_seq')",
        [Q_PRECOND] = "SELECT k, v, ver FROM \"%1$s\".kv WHERE k = ANY($1::bytea[])",
        [Q_BLOB_HEAD] = "SELECT size, chunks FROM \"%1$s\".blobs WHERE id = $1",
        [Q_BLOB_CHUNK] = "SELECT data FROM \"%1$s\".blob_chunks WHERE id = $1 AND n = $2::int4",
        [Q_CHUNK_PUT] = "INSERT INTO \"%1$s\".blob_chunks (id, n, data) VALUES ($1, $2::int4, $3)",
        [Q_BLOB_INSERT] = "INSERT INTO \"%1$s\".blobs (id, size, chunks) VALUES ($1, $2::int8, "
                          "$3::int4) ON CONFLICT (id) DO NOTHING RETURNING 1",
        [Q_CHUNK_RENAME] = "UPDATE \"%1$s\".blob_chunks SET id = $1 WHERE id = $2",
        [Q_BLOB_SAME] =
            "SELECT (SELECT size = $3::int8 AND chunks = $4::int4 FROM \"%1$s\".blobs WHERE id = $1) "
            "AND NOT EXISTS (SELECT 1 FROM (SELECT n, data FROM \"%1$s\".blob_chunks WHERE id = $1) a "
            "FULL JOIN (SELECT n, data FROM \"%1$s\".blob_chunks WHERE id = $2) c USING (n) "
            "WHERE a.data IS DISTINCT FROM c.data)",
    };
    for (int i = 0; i < Q__COUNT; i++) {
        size_t cap = strlen(tmpl[i]) + 8 * strlen(s) + 1;
        b->sql[i] = mlops__malloc(b->base.env, cap);
        if (b->sql[i] == NULL)
            return mlops__nomem();
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
        snprintf(b->sql[i], cap, tmpl[i], s);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    }
    return MLOPS_OK;
}

/* Create or check the schema, under an advisory lock so concurrent first
 * opens do not race (C8). */
static mlops_status migrate(pg_backend *b, const mlops_store_options *opts)
{
    pg_conn *pc = NULL;
    mlops_status st = conn_open(b, &pc, false);
    if (st != MLOPS_OK)
        return st;
    char sql[2048];
    char qualified[80];
    snprintf(qualified, sizeof(qualified), "\"%s\".meta", b->schema);
    const char *vals[1] = {qualified};
    PGresult *r = PQexecParams(pc->c, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, vals, NULL,
                               NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        st = pg_error(b, pc, r, "looking for the store's schema");
        PQclear(r);
        goto out;
    }
    bool exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    bool create = !(opts->flags & (MLOPS_STORE_READONLY | MLOPS_STORE_NOCREATE));
    if (!exists && !create) {
        st = mlops__error(MLOPS_E_NOTFOUND,
                          "no store at PostgreSQL %s (opened without create)", b->where);
        goto out;
    }
    if (!exists) {
        st = exec_cmd(b, pc, "BEGIN", "starting the schema migration");
        if (st != MLOPS_OK)
            goto out;
        uint64_t h = mlops__xxh3_64(b->schema, strlen(b->schema), 0x6d6c6f7073ULL);
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
                 (long long)(int64_t)h);
        st = exec_cmd(b, pc, sql, "waiting for the schema migration lock");
        if (st == MLOPS_OK) {
            /* PQexec returns the last result; run them one by one */
            snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS \"%s\"", b->schema);
            PGresult *cr = PQexec(pc->c, sql);
            if (PQresultStatus(cr) != PGRES_COMMAND_OK)
                st = pg_error(b, pc, cr, "creating the store's schema");
            PQclear(cr);
        }
        if (st == MLOPS_OK) {
            snprintf(sql, sizeof(sql),
                     "CREATE TABLE IF NOT EXISTS \"%1$s\".meta (name text PRIMARY KEY, "
                     "value bigint NOT NULL)",
                     b->schema);
            st = exec_cmd(b, pc, sql, "creating the store's tables");
        }
    }
    if (st != MLOPS_OK)
        goto out;
    snprintf(sql, sizeof(sql), "SELECT value FROM \"%s\".meta WHERE name = 'schema_version'",
             b->schema);
    r = PQexec(pc->c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        st = pg_error(b, pc, r, "reading the schema version");
        PQclear(r);
        goto out;
    }
    long long have = PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (have > PG_SCHEMA_VERSION) {
        st = mlops__error(MLOPS_E_VERSION,
                          "the store in schema '%s' has schema version %lld; this library "
                          "supports up to %d; upgrade libmlops",
                          b->schema, have, PG_SCHEMA_VERSION);
        goto out;
    }
    if (have == 0) {
        if (!create) {
            st = mlops__error(MLOPS_E_NOTFOUND, "schema '%s' holds no store", b->schema);
            goto out;
        }
        const char *ddl[] = {
            "CREATE TABLE \"%1$s\".kv (k bytea PRIMARY KEY, v bytea NOT NULL, ver bigint NOT NULL)",
            "CREATE SEQUENCE \"%1$s\".ver_seq",
            "CREATE TABLE \"%1$s\".blobs (id bytea PRIMARY KEY, size bigint NOT NULL, "
            "chunks integer NOT NULL)",
            "CREATE TABLE \"%1$s\".blob_chunks (id bytea NOT NULL, n integer NOT NULL, "
            "data bytea NOT NULL, PRIMARY KEY (id, n))",
            "ALTER TABLE \"%1$s\".blob_chunks ALTER data SET STORAGE EXTERNAL",
            "INSERT INTO \"%1$s\".meta (name, value) VALUES ('schema_version', 1)",
        };
        for (size_t i = 0; i < sizeof(ddl) / sizeof(ddl[0]) && st == MLOPS_OK; i++) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
            snprintf(sql, sizeof(sql), ddl[i], b->schema);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
            st = exec_cmd(b, pc, sql, "creating the store's tables");
        }
    }
    if (st == MLOPS_OK && PQtransactionStatus(pc->c) == PQTRANS_INTRANS)
        st = exec_cmd(b, pc, "COMMIT", "committing the schema migration");
out:
    rollback(pc);
    conn_close(b, pc);
    return st;
}

mlops_status mlops__postgres_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                         const mlops_store_options *opts)
{
    *out = NULL;
    pg_backend *b = mlops__calloc(env, 1, sizeof(*b));
    if (b == NULL)
        return mlops__nomem();
    b->base.ops = &pg_ops;
    b->base.env = env;
    b->pid = getpid();
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        mlops__free(env, b);
        return mlops__error(MLOPS_E_INTERNAL, "cannot create the PostgreSQL pool's lock");
    }
    int64_t lt = opts->lock_timeout_ms;
    snprintf(b->lock_timeout, sizeof(b->lock_timeout), "SET lock_timeout = %lld",
             (long long)(lt < 0 ? 1 : lt > 600000 ? 600000 : lt));
    mlops_status st = parse_uri(b, uri);
    if (st == MLOPS_OK) {
        /* For messages: where, never the password. */
        PQconninfoOption *o = PQconninfoParse(b->conninfo, NULL);
        const char *host = NULL, *port = NULL, *db = NULL;
        for (PQconninfoOption *p = o; p && p->keyword; p++) {
            if (strcmp(p->keyword, "host") == 0 || strcmp(p->keyword, "hostaddr") == 0)
                host = host ? host : p->val;
            else if (strcmp(p->keyword, "port") == 0)
                port = p->val;
            else if (strcmp(p->keyword, "dbname") == 0)
                db = p->val;
        }
        if (o == NULL)
            st = mlops__error(MLOPS_E_INVALID, "the PostgreSQL URI does not parse");
        else
            snprintf(b->where, sizeof(b->where), "%.64s:%.8s/%.64s schema %s",
                     host ? host : getenv("PGHOST") ? getenv("PGHOST") : "(default host)",
                     port ? port : "5432", db ? db : "(default db)", b->schema);
        PQconninfoFree(o);
    }
    if (st == MLOPS_OK)
        st = build_sql(b);
    if (st == MLOPS_OK)
        st = migrate(b, opts);
    if (st == MLOPS_OK) {
        /* Connect once more with prepared statements, proving the tables work. */
        pg_conn *pc = NULL;
        st = take(b, &pc);
        give(b, pc);
    }
    if (st != MLOPS_OK) {
        pg_close(&b->base);
        return st;
    }
    *out = &b->base;
    return MLOPS_OK;
}

#else /* !MLOPS_HAVE_POSTGRES */

mlops_status mlops__postgres_backend_new(mlops_backend **out, mlops_env *env, const char *uri,
                                         const mlops_store_options *opts)
{
    (void)env;
    (void)uri;
    (void)opts;
    *out = NULL;
    return mlops__error(MLOPS_E_UNSUPPORTED,
                        "the PostgreSQL backend is not built into this library (build with "
                        "-Dpostgres=enabled and Debian's libpq-dev)");
}

#endif

/* SPDX-License-Identifier: MIT */
/* Run lists and search: MLflow's filter grammar (plus OR and parentheses),
 * multi-key ordering and opaque page tokens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "run/run_internal.h"

#define N_KINDS 5
#define MAX_ORDER 16
#define MAX_DEPTH 64

/* ---- the arena: strings of a list live in a few big blocks ---- */

typedef struct block {
    struct block *next;
    size_t used, cap;
    char data[];
} block;

typedef struct arena {
    const mlops_env *env;
    block *head;
} arena;

static char *arena_strndup(arena *a, const void *s, size_t n)
{
    if (a->head == NULL || a->head->cap - a->head->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        block *b = mlops__malloc(a->env, sizeof(block) + cap);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *p = a->head->data + a->head->used;
    memcpy(p, s, n);
    p[n] = '\0';
    a->head->used += n + 1;
    return p;
}

static void arena_free(arena *a)
{
    block *b = a->head;
    while (b != NULL) {
        block *next = b->next;
        mlops__free(a->env, b);
        b = next;
    }
    a->head = NULL;
}

/* ---- run records ---- */

typedef struct ritem {
    int kind;
    const char *key;
    const char *value;
    mlops_metric_value m;
    int64_t rows;
} ritem;

typedef struct runrec {
    char id[MLOPS_RUN_ID_LEN + 1];
    const char *exp_id, *name, *parent, *user;
    uint32_t status, lifecycle;
    int64_t start, end;
    ritem *items[N_KINDS]; /* into the list's pool, set once loading is done */
    size_t off[N_KINDS], nitems[N_KINDS];
} runrec;

struct mlops_run_list {
    mlops_env *env;
    arena ar;
    runrec *runs;
    size_t n, cap;
    ritem *pool; /* every item of every run, grouped by run then kind */
    size_t npool, pool_cap;
    size_t *page; /* indexes of the runs in this page, in order */
    size_t npage;
    char token[40];
    bool has_token;
    mlops_status st;
};

static mlops_run_list *list_new(mlops_env *env)
{
    mlops_run_list *l = mlops__calloc(env, 1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->env = mlops__env_ref(env);
    l->ar.env = env;
    return l;
}

static mlops_status add_item(mlops_run_list *l, runrec *r, int kind, ritem *it)
{
    (void)r;
    if (l->npool == l->pool_cap) {
        size_t cap = l->pool_cap ? l->pool_cap * 2 : 4096;
        ritem *nv = mlops__realloc(l->env, l->pool, cap * sizeof(ritem));
        if (nv == NULL)
            return mlops__nomem();
        l->pool = nv;
        l->pool_cap = cap;
    }
    it->kind = kind;
    l->pool[l->npool++] = *it;
    return MLOPS_OK;
}

static int kind_cmp(const void *a, const void *b)
{
    const ritem *x = a, *y = b;
    return x->kind != y->kind ? x->kind - y->kind : 0;
}

static int item_cmp(const void *a, const void *b);

/* After a document is parsed: group its items by kind (documents list them
 * grouped already) and sort params, tags and metrics by key unless they
 * are sorted already (documents keep them sorted). */
static void finish_run(mlops_run_list *l, runrec *r, size_t first)
{
    ritem *seg = l->pool + first;
    size_t n = l->npool - first;
    bool grouped = true;
    for (size_t i = 1; i < n && grouped; i++)
        grouped = seg[i - 1].kind <= seg[i].kind;
    if (!grouped)
        qsort(seg, n, sizeof(ritem), kind_cmp); /* keys sorted below anyway */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && seg[j].kind == seg[i].kind)
            j++;
        int kind = seg[i].kind;
        r->off[kind] = first + i;
        r->nitems[kind] = j - i;
        if (kind != MLOPS_ITEM_DATASET) {
            bool sorted = true;
            for (size_t m = i + 1; m < j && sorted; m++)
                sorted = strcmp(seg[m - 1].key, seg[m].key) < 0;
            if (!sorted)
                qsort(seg + i, j - i, sizeof(ritem), item_cmp);
        }
        i = j;
    }
}

/* One run document (t/s/<id>/i) into a run record, strings in the arena. */
static int load_cb(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len,
                   uint64_t version, void *payload)
{
    (void)version;
    mlops_run_list *l = payload;
    if (key_len != 4 + MLOPS_RUN_ID_LEN + 2 || key[key_len - 1] != 'i')
        return 0; /* not a run document (a newer kind of entry): skipped */
    l->st = mlops__reserve(l->env, (void **)&l->runs, &l->cap, l->n + 1, sizeof(runrec));
    if (l->st != MLOPS_OK)
        return 1;
    runrec *r = &l->runs[l->n];
    memset(r, 0, sizeof(*r));
    memcpy(r->id, key + 4, MLOPS_RUN_ID_LEN);
    r->exp_id = r->name = r->parent = r->user = "";
    size_t first = l->npool;
    mlops__rec_reader rd;
    mlops__rec_field f;
    mlops_status st = mlops__rec_reader_init(&rd, value, value_len, 1, RUN_REC_INFO,
                                             "run document");
    while (st == MLOPS_OK && (st = mlops__rec_next(&rd, &f)) == MLOPS_OK) {
        const char **dst = NULL;
        switch (f.tag) {
        case 1: dst = &r->exp_id; break;
        case 2: dst = &r->name; break;
        case 3: r->status = (uint32_t)f.u; break;
        case 4: r->lifecycle = (uint32_t)f.u; break;
        case 5: r->start = mlops__rec_as_i64(&f); break;
        case 6: r->end = mlops__rec_as_i64(&f); break;
        case 7: dst = &r->parent; break;
        case 8: dst = &r->user; break;
        default: break;
        }
        if (dst != NULL && f.wire == MLOPS__REC_WIRE_BYTES) {
            *dst = arena_strndup(&l->ar, f.p, f.n);
            if (*dst == NULL)
                st = mlops__nomem();
            continue;
        }
        if (f.tag < DOC_PARAM || f.tag > DOC_DATASET)
            continue;
        const uint8_t *k, *rest;
        size_t kl, rl;
        st = mlops__run_doc_entry(&f, &k, &kl, &rest, &rl);
        if (st != MLOPS_OK)
            break;
        ritem it = {.rows = -1};
        it.key = arena_strndup(&l->ar, k, kl);
        int kind;
        if (f.tag == DOC_PARAM || f.tag == DOC_TAG) {
            kind = f.tag == DOC_PARAM ? MLOPS_ITEM_PARAM : MLOPS_ITEM_TAG;
            it.value = arena_strndup(&l->ar, rest, rl);
        } else if (f.tag == DOC_METRIC) {
            kind = MLOPS_ITEM_METRIC;
            mlops__run_metric_payload(&it.m, rest);
            it.value = "";
        } else {
            kind = MLOPS_ITEM_DATASET;
            char hex[MLOPS_HASH128_HEX_LEN + 1];
            mlops__hex(hex, rest, 16);
            it.value = arena_strndup(&l->ar, hex, MLOPS_HASH128_HEX_LEN);
            it.rows = (int64_t)mlops__get_u64le(rest + 16);
        }
        if (it.key == NULL || it.value == NULL)
            st = mlops__nomem();
        else
            st = add_item(l, r, kind, &it);
    }
    if (st == MLOPS_E_NOTFOUND)
        st = MLOPS_OK;
    if (st == MLOPS_OK)
        finish_run(l, r, first);
    l->n++;
    l->st = st;
    return st != MLOPS_OK;
}

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const ritem *)a)->key, ((const ritem *)b)->key);
}

/* Point every run at its items, now that the pool no longer moves. */
static void sort_items(mlops_run_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (int k = 1; k < N_KINDS; k++)
            l->runs[i].items[k] = l->pool + l->runs[i].off[k];
    }
}

static const ritem *find_item(const runrec *r, int kind, const char *key)
{
    size_t lo = 0, hi = r->nitems[kind];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->items[kind][mid].key, key);
        if (c == 0)
            return &r->items[kind][mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- filter ---- */

enum { ENT_METRIC = 1, ENT_PARAM, ENT_TAG, ENT_ATTR, ENT_DATASET };
enum { OP_EQ = 1, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_LIKE, OP_ILIKE, OP_IN, OP_NOTIN,
       OP_NULL, OP_NOTNULL };
enum { A_RUN_ID = 1, A_RUN_NAME, A_STATUS, A_USER, A_START, A_END, A_EXP, A_LIFECYCLE,
       A_PARENT, D_NAME, D_DIGEST, D_ROWS };
enum { N_AND = 1, N_OR, N_CMP };

typedef struct fnode {
    int kind;
    struct fnode *l, *r;
    int ent, attr, op;
    const char *key;
    double num;
    const char *str;
    const char **list;
    size_t nlist, listcap;
    bool numeric;
} fnode;

typedef struct parser {
    const char *s;
    size_t pos;
    arena *ar;
    const mlops_env *env;
    fnode **nodes; /* every allocated node, for release */
    size_t nnodes, cap;
    int depth;
    const char *what; /* "filter" or "order_by" */
} parser;

static mlops_status perr(parser *p, size_t at, const char *fmt, const char *arg)
{
    char msg[300];
    snprintf(msg, sizeof(msg), fmt, arg);
    return mlops__error(MLOPS_E_INVALID, "invalid %s at position %zu: %s (in \"%.120s\")",
                        p->what, at + 1, msg, p->s);
}

static void skip_ws(parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '/' || c == '+' || c == ':' ||
           (unsigned char)c >= 0x80;
}

/* Read a bare word at the cursor; returns its length. */
static size_t word_len(parser *p)
{
    size_t n = 0;
    while (word_char(p->s[p->pos + n]))
        n++;
    return n;
}

static bool keyword(parser *p, const char *kw)
{
    skip_ws(p);
    size_t n = word_len(p);
    if (n == strlen(kw) && strncasecmp(p->s + p->pos, kw, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static fnode *node_new(parser *p)
{
    if (mlops__reserve(p->env, (void **)&p->nodes, &p->cap, p->nnodes + 1, sizeof(fnode *)) !=
        MLOPS_OK)
        return NULL;
    fnode *n = mlops__calloc(p->env, 1, sizeof(fnode));
    if (n != NULL)
        p->nodes[p->nnodes++] = n;
    return n;
}

/* A quoted string ('...' or "...", the quote doubled to escape it). */
static mlops_status quoted(parser *p, const char **out, char q)
{
    size_t start = p->pos;
    p->pos++;
    mlops__buf b;
    mlops__buf_init(&b, p->env);
    mlops_status st = MLOPS_OK;
    for (;;) {
        char c = p->s[p->pos];
        if (c == '\0') {
            st = perr(p, start, "unterminated quoted text starting with %s", q == '`' ? "`"
                                                                                   : q == '"' ? "\"" : "'");
            break;
        }
        if (c == q) {
            if (p->s[p->pos + 1] == q) {
                st = mlops__buf_putc(&b, (uint8_t)q);
                if (st != MLOPS_OK)
                    break; /* a lost quote would change the value */
                p->pos += 2;
                continue;
            }
            p->pos++;
            break;
        }
        st = mlops__buf_putc(&b, (uint8_t)c);
        if (st != MLOPS_OK)
            break;
        p->pos++;
    }
    if (st == MLOPS_OK) {
        *out = arena_strndup(p->ar, b.data ? (const char *)b.data : "", b.len);
        if (*out == NULL)
            st = mlops__nomem();
    }
    mlops__buf_free(&b);
    return st;
}

static const struct {
    const char *name;
    int ent;
} entities[] = {
    {"metrics", ENT_METRIC}, {"metric", ENT_METRIC},       {"params", ENT_PARAM},
    {"param", ENT_PARAM},    {"parameters", ENT_PARAM},    {"tags", ENT_TAG},
    {"tag", ENT_TAG},        {"attributes", ENT_ATTR},     {"attribute", ENT_ATTR},
    {"attr", ENT_ATTR},      {"run", ENT_ATTR},            {"datasets", ENT_DATASET},
    {"dataset", ENT_DATASET},
};

static const struct {
    const char *name;
    int attr;
    bool numeric;
} attrs[] = {
    {"run_id", A_RUN_ID, false},       {"run_name", A_RUN_NAME, false},
    {"status", A_STATUS, false},       {"user_id", A_USER, false},
    {"start_time", A_START, true},     {"created", A_START, true},
    {"end_time", A_END, true},         {"experiment_id", A_EXP, false},
    {"lifecycle_stage", A_LIFECYCLE, false}, {"parent_run_id", A_PARENT, false},
};

static const struct {
    const char *name;
    int attr;
    bool numeric;
} dattrs[] = {{"name", D_NAME, false}, {"digest", D_DIGEST, false}, {"rows", D_ROWS, true}};

/* entity.key, entity.`key`, entity."key"; bare attribute names are accepted in order_by. */
static mlops_status identifier(parser *p, fnode *n, bool allow_bare)
{
    skip_ws(p);
    size_t start = p->pos;
    size_t wl = word_len(p);
    if (wl == 0)
        return perr(p, start, "expected an identifier such as metrics.acc, found '%.20s'",
                    p->s[p->pos] ? p->s + p->pos : "end of text");
    const char *w = p->s + p->pos;
    const char *dot = memchr(w, '.', wl);
    if (dot == NULL) {
        for (size_t i = 0; allow_bare && i < sizeof(attrs) / sizeof(attrs[0]); i++) {
            if (strlen(attrs[i].name) == wl && strncasecmp(attrs[i].name, w, wl) == 0) {
                n->ent = ENT_ATTR;
                n->attr = attrs[i].attr;
                n->numeric = attrs[i].numeric;
                n->key = attrs[i].name;
                p->pos += wl;
                return MLOPS_OK;
            }
        }
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(wl > 40 ? 40 : wl), w);
        return perr(p, start,
                    "'%s' is not an identifier: use metrics.<key>, params.<key>, tags.<key>, "
                    "attributes.<name> or datasets.<name>",
                    tmp);
    }
    size_t el = (size_t)(dot - w);
    n->ent = 0;
    for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
        if (strlen(entities[i].name) == el && strncasecmp(entities[i].name, w, el) == 0)
            n->ent = entities[i].ent;
    }
    if (n->ent == 0) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)(el > 40 ? 40 : el), w);
        return perr(p, start,
                    "unknown entity '%s'; expected metrics, params, tags, attributes or "
                    "datasets",
                    tmp);
    }
    p->pos += el + 1;
    size_t kstart = p->pos;
    mlops_status st;
    if (wl == el + 1 && (p->s[p->pos] == '`' || p->s[p->pos] == '"')) {
        st = quoted(p, &n->key, p->s[p->pos]);
        if (st != MLOPS_OK)
            return st;
    } else {
        size_t kl = wl - el - 1;
        if (kl == 0)
            return perr(p, kstart, "%s", "expected a key after the '.'");
        n->key = arena_strndup(p->ar, p->s + p->pos, kl);
        if (n->key == NULL)
            return mlops__nomem();
        p->pos += kl;
    }
    if (n->ent == ENT_ATTR) {
        for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
            if (strcasecmp(attrs[i].name, n->key) == 0) {
                n->attr = attrs[i].attr;
                n->numeric = attrs[i].numeric;
            }
        }
        if (n->attr == 0)
            return perr(p, kstart,
                        "unknown attribute '%s'; expected run_id, run_name, status, user_id, "
                        "start_time, end_time, created, experiment_id, lifecycle_stage or "
                        "parent_run_id",
                        n->key);
    } else if (n->ent == ENT_DATASET) {
        for (size_t i = 0; i < sizeof(dattrs) / sizeof(dattrs[0]); i++) {
            if (strcasecmp(dattrs[i].name, n->key) == 0) {
                n->attr = dattrs[i].attr;
                n->numeric = dattrs[i].numeric;
            }
        }
        if (n->attr == 0)
            return perr(p, kstart, "unknown dataset field '%s'; expected name, digest or rows",
                        n->key);
    } else if (n->ent == ENT_METRIC) {
        n->numeric = true;
    }
    return MLOPS_OK;
}

static mlops_status number(parser *p, double *out)
{
    skip_ws(p);
    size_t start = p->pos;
    size_t wl = word_len(p);
    char tmp[64];
    if (wl == 0 || wl >= sizeof(tmp))
        return perr(p, start, "expected a number, found '%.20s'",
                    p->s[p->pos] ? p->s + p->pos : "end of text");
    memcpy(tmp, p->s + p->pos, wl);
    tmp[wl] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end != '\0' || end == tmp)
        return perr(p, start, "expected a number, found '%s'", tmp);
    p->pos += wl;
    *out = v;
    return MLOPS_OK;
}

static mlops_status string_value(parser *p, const char **out, const fnode *n)
{
    skip_ws(p);
    char c = p->s[p->pos];
    if (c != '\'' && c != '"')
        return perr(p, p->pos, "expected a quoted string for %s (values of params, tags and "
                    "text attributes are quoted)", n->key);
    return quoted(p, out, c);
}

static mlops_status comparison(parser *p, fnode **out)
{
    fnode *n = node_new(p);
    if (n == NULL)
        return mlops__nomem();
    n->kind = N_CMP;
    mlops_status st = identifier(p, n, false);
    if (st != MLOPS_OK)
        return st;
    skip_ws(p);
    size_t opos = p->pos;
    const char *s = p->s + p->pos;
    if (s[0] == '!' && s[1] == '=') {
        n->op = OP_NE;
        p->pos += 2;
    } else if (s[0] == '<' && s[1] == '>') {
        n->op = OP_NE;
        p->pos += 2;
    } else if (s[0] == '<' && s[1] == '=') {
        n->op = OP_LE;
        p->pos += 2;
    } else if (s[0] == '>' && s[1] == '=') {
        n->op = OP_GE;
        p->pos += 2;
    } else if (s[0] == '=' && s[1] == '=') {
        n->op = OP_EQ;
        p->pos += 2;
    } else if (s[0] == '=') {
        n->op = OP_EQ;
        p->pos++;
    } else if (s[0] == '<') {
        n->op = OP_LT;
        p->pos++;
    } else if (s[0] == '>') {
        n->op = OP_GT;
        p->pos++;
    } else if (keyword(p, "LIKE")) {
        n->op = OP_LIKE;
    } else if (keyword(p, "ILIKE")) {
        n->op = OP_ILIKE;
    } else if (keyword(p, "IN")) {
        n->op = OP_IN;
    } else if (keyword(p, "NOT")) {
        if (!keyword(p, "IN"))
            return perr(p, p->pos, "%s", "expected IN after NOT");
        n->op = OP_NOTIN;
    } else if (keyword(p, "IS")) {
        bool neg = keyword(p, "NOT");
        if (!keyword(p, "NULL"))
            return perr(p, p->pos, "%s", "expected NULL after IS");
        n->op = neg ? OP_NOTNULL : OP_NULL;
    } else {
        return perr(p, opos, "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, "
                    "ILIKE, IN, NOT IN, IS NULL) after %s",
                    n->key);
    }
    bool ordering = n->op >= OP_LT && n->op <= OP_GE;
    bool textual = n->op == OP_LIKE || n->op == OP_ILIKE || n->op == OP_IN || n->op == OP_NOTIN;
    if (n->op == OP_NULL || n->op == OP_NOTNULL) {
        if (n->ent == ENT_ATTR || n->ent == ENT_DATASET)
            return perr(p, opos, "IS NULL applies to metrics, params and tags, not %s", n->key);
    } else if (n->numeric) {
        if (textual)
            return perr(p, opos, "%s is numeric: use =, !=, <, <=, > or >=", n->key);
        st = number(p, &n->num);
    } else if (ordering) {
        return perr(p, opos, "%s is text: use =, !=, LIKE, ILIKE, IN or NOT IN", n->key);
    } else if (n->op == OP_IN || n->op == OP_NOTIN) {
        skip_ws(p);
        if (p->s[p->pos] != '(')
            return perr(p, p->pos, "%s", "expected '(' to start the IN list");
        p->pos++;
        for (;;) {
            const char *v;
            st = string_value(p, &v, n);
            if (st != MLOPS_OK)
                return st;
            st = mlops__reserve(p->env, (void **)&n->list, &n->listcap, n->nlist + 1,
                                sizeof(char *));
            if (st != MLOPS_OK)
                return st;
            n->list[n->nlist++] = v;
            skip_ws(p);
            if (p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->s[p->pos] == ')') {
                p->pos++;
                break;
            }
            return perr(p, p->pos, "%s", "expected ',' or ')' in the IN list");
        }
    } else {
        st = string_value(p, &n->str, n);
        if (st == MLOPS_OK && n->ent == ENT_ATTR && n->attr == A_STATUS &&
            (n->op == OP_EQ || n->op == OP_NE) && mlops__run_status_parse(n->str) == 0)
            return perr(p, opos, "unknown run status '%s'; expected RUNNING, SCHEDULED, "
                        "FINISHED, FAILED or KILLED", n->str);
    }
    if (st != MLOPS_OK)
        return st;
    *out = n;
    return MLOPS_OK;
}

static mlops_status expr(parser *p, fnode **out);

static mlops_status unary(parser *p, fnode **out)
{
    skip_ws(p);
    if (p->s[p->pos] == '(') {
        size_t open = p->pos;
        if (++p->depth > MAX_DEPTH)
            return perr(p, open, "%s", "parentheses nested too deeply");
        p->pos++;
        mlops_status st = expr(p, out);
        if (st != MLOPS_OK)
            return st;
        skip_ws(p);
        if (p->s[p->pos] != ')')
            return perr(p, p->pos, "%s", "expected ')' to close the '(' opened earlier");
        p->pos++;
        p->depth--;
        return MLOPS_OK;
    }
    return comparison(p, out);
}

static mlops_status and_expr(parser *p, fnode **out)
{
    mlops_status st = unary(p, out);
    while (st == MLOPS_OK && keyword(p, "AND")) {
        fnode *n = node_new(p);
        if (n == NULL)
            return mlops__nomem();
        n->kind = N_AND;
        n->l = *out;
        st = unary(p, &n->r);
        *out = n;
    }
    return st;
}

static mlops_status expr(parser *p, fnode **out)
{
    mlops_status st = and_expr(p, out);
    while (st == MLOPS_OK && keyword(p, "OR")) {
        fnode *n = node_new(p);
        if (n == NULL)
            return mlops__nomem();
        n->kind = N_OR;
        n->l = *out;
        st = and_expr(p, &n->r);
        *out = n;
    }
    return st;
}

static void parser_free(parser *p)
{
    for (size_t i = 0; i < p->nnodes; i++) {
        mlops__free(p->env, p->nodes[i]->list);
        mlops__free(p->env, p->nodes[i]);
    }
    mlops__free(p->env, p->nodes);
}

/* ---- evaluation ---- */

static bool like(const char *s, const char *pat, bool ci)
{
    const char *star = NULL, *ss = NULL;
    while (*s) {
        char a = *s, b = *pat;
        if (ci) {
            a = (a >= 'A' && a <= 'Z') ? (char)(a + 32) : a;
            b = (b >= 'A' && b <= 'Z') ? (char)(b + 32) : b;
        }
        if (*pat == '%') {
            star = ++pat;
            ss = s;
        } else if (*pat != '\0' && (*pat == '_' || a == b)) {
            s++;
            pat++;
        } else if (star != NULL) {
            pat = star;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*pat == '%')
        pat++;
    return *pat == '\0';
}

static bool cmp_num(int op, double a, double b)
{
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    default: return false;
    }
}

static bool cmp_str(const fnode *n, const char *v)
{
    switch (n->op) {
    case OP_EQ: return strcmp(v, n->str) == 0;
    case OP_NE: return strcmp(v, n->str) != 0;
    case OP_LIKE: return like(v, n->str, false);
    case OP_ILIKE: return like(v, n->str, true);
    case OP_IN:
    case OP_NOTIN: {
        bool in = false;
        for (size_t i = 0; i < n->nlist && !in; i++)
            in = strcmp(v, n->list[i]) == 0;
        return n->op == OP_IN ? in : !in;
    }
    default: return false;
    }
}

static const char *lifecycle_name(uint32_t lc)
{
    return lc == MLOPS_LIFECYCLE_DELETED ? "deleted" : "active";
}

static bool eval(const fnode *n, const runrec *r)
{
    if (n->kind == N_AND)
        return eval(n->l, r) && eval(n->r, r);
    if (n->kind == N_OR)
        return eval(n->l, r) || eval(n->r, r);
    switch (n->ent) {
    case ENT_METRIC: {
        const ritem *it = find_item(r, MLOPS_ITEM_METRIC, n->key);
        if (n->op == OP_NULL || n->op == OP_NOTNULL)
            return (it == NULL) == (n->op == OP_NULL);
        return it != NULL && cmp_num(n->op, it->m.value, n->num);
    }
    case ENT_PARAM:
    case ENT_TAG: {
        const ritem *it =
            find_item(r, n->ent == ENT_PARAM ? MLOPS_ITEM_PARAM : MLOPS_ITEM_TAG, n->key);
        if (n->op == OP_NULL || n->op == OP_NOTNULL)
            return (it == NULL) == (n->op == OP_NULL);
        return it != NULL && cmp_str(n, it->value);
    }
    case ENT_ATTR:
        switch (n->attr) {
        case A_START: return cmp_num(n->op, (double)r->start, n->num);
        case A_END: return cmp_num(n->op, (double)r->end, n->num);
        case A_RUN_ID: return cmp_str(n, r->id);
        case A_RUN_NAME: return cmp_str(n, r->name);
        case A_USER: return cmp_str(n, r->user);
        case A_EXP: return cmp_str(n, r->exp_id);
        case A_PARENT: return cmp_str(n, r->parent);
        case A_LIFECYCLE: return cmp_str(n, lifecycle_name(r->lifecycle));
        case A_STATUS: {
            if (n->op == OP_EQ || n->op == OP_NE) {
                bool eq = strcasecmp(mlops__run_status_name(r->status), n->str) == 0;
                return n->op == OP_EQ ? eq : !eq;
            }
            return cmp_str(n, mlops__run_status_name(r->status));
        }
        default: return false;
        }
    case ENT_DATASET:
        for (size_t i = 0; i < r->nitems[MLOPS_ITEM_DATASET]; i++) {
            const ritem *it = &r->items[MLOPS_ITEM_DATASET][i];
            bool ok = n->attr == D_ROWS   ? cmp_num(n->op, (double)it->rows, n->num)
                      : n->attr == D_NAME ? cmp_str(n, it->key)
                                          : cmp_str(n, it->value);
            if (ok)
                return true;
        }
        return false;
    default:
        return false;
    }
}

/* ---- ordering ---- */

typedef struct okey {
    fnode id;
    bool desc;
} okey;

typedef struct octx {
    const runrec *runs;
    const okey *keys;
    size_t nkeys;
} octx;

static int cmp3(double a, double b)
{
    return a < b ? -1 : (a > b);
}

static int order_cmp(const void *pa, const void *pb, void *arg)
{
    const octx *c = arg;
    const runrec *a = &c->runs[*(const size_t *)pa], *b = &c->runs[*(const size_t *)pb];
    for (size_t i = 0; i < c->nkeys; i++) {
        const okey *k = &c->keys[i];
        int r = 0;
        if (k->id.ent == ENT_METRIC) {
            const ritem *x = find_item(a, MLOPS_ITEM_METRIC, k->id.key);
            const ritem *y = find_item(b, MLOPS_ITEM_METRIC, k->id.key);
            /* class: 0 a real value, 1 NaN, 2 missing; always in that order (MLflow) */
            int cx = x == NULL ? 2 : isnan(x->m.value) ? 1 : 0;
            int cy = y == NULL ? 2 : isnan(y->m.value) ? 1 : 0;
            if (cx != cy)
                return cx < cy ? -1 : 1;
            if (cx == 0)
                r = cmp3(x->m.value, y->m.value);
        } else if (k->id.ent == ENT_PARAM || k->id.ent == ENT_TAG) {
            int kind = k->id.ent == ENT_PARAM ? MLOPS_ITEM_PARAM : MLOPS_ITEM_TAG;
            const ritem *x = find_item(a, kind, k->id.key), *y = find_item(b, kind, k->id.key);
            if ((x == NULL) != (y == NULL))
                return x == NULL ? 1 : -1;
            if (x != NULL)
                r = strcmp(x->value, y->value);
        } else if (k->id.ent == ENT_ATTR) {
            switch (k->id.attr) {
            case A_START: r = cmp3((double)a->start, (double)b->start); break;
            case A_END: r = cmp3((double)a->end, (double)b->end); break;
            case A_RUN_ID: r = strcmp(a->id, b->id); break;
            case A_RUN_NAME: r = strcmp(a->name, b->name); break;
            case A_USER: r = strcmp(a->user, b->user); break;
            case A_EXP: r = strcmp(a->exp_id, b->exp_id); break;
            case A_PARENT: r = strcmp(a->parent, b->parent); break;
            case A_STATUS:
                r = strcmp(mlops__run_status_name(a->status), mlops__run_status_name(b->status));
                break;
            case A_LIFECYCLE: r = cmp3(a->lifecycle, b->lifecycle); break;
            default: break;
            }
        }
        if (r != 0)
            return k->desc ? -r : r;
    }
    /* MLflow's tie-break: start_time DESC, then run id */
    if (a->start != b->start)
        return a->start > b->start ? -1 : 1;
    return strcmp(a->id, b->id);
}

static mlops_status parse_order(parser *p, okey *k)
{
    memset(k, 0, sizeof(*k));
    mlops_status st = identifier(p, &k->id, true);
    if (st != MLOPS_OK)
        return st;
    if (k->id.ent == ENT_DATASET)
        return perr(p, 0, "%s", "datasets cannot be used in order_by");
    if (keyword(p, "DESC"))
        k->desc = true;
    else
        (void)keyword(p, "ASC");
    skip_ws(p);
    if (p->s[p->pos] != '\0')
        return perr(p, p->pos, "unexpected '%.20s' after the order key; expected ASC or DESC",
                    p->s + p->pos);
    return MLOPS_OK;
}

/* ---- the search ---- */

mlops_status mlops_search_options_init(mlops_search_options *opts, uint32_t version)
{
    return mlops__options_init(opts, sizeof(*opts), version, MLOPS_SEARCH_OPTIONS_VERSION,
                               "search options");
}

static uint64_t query_hash(const mlops_search_options *o)
{
    uint64_t h = mlops__xxh3_64(o->filter ? o->filter : "", o->filter ? strlen(o->filter) : 0,
                                o->view);
    /* NULL elements are refused (order keys) or match nothing (experiments)
     * later; hash them as empty text */
    for (size_t i = 0; i < o->n_order_by; i++) {
        const char *k = o->order_by[i] ? o->order_by[i] : "";
        h = mlops__xxh3_64(k, strlen(k), h + 1);
    }
    for (size_t i = 0; i < o->n_experiment_ids; i++) {
        const char *e = o->experiment_ids[i] ? o->experiment_ids[i] : "";
        h = mlops__xxh3_64(e, strlen(e), h + 2);
    }
    return mlops__xxh3_64(&o->max_results, sizeof(o->max_results), h);
}

static void list_free_runs(mlops_run_list *l)
{
    mlops__free(l->env, l->pool);
    l->pool = NULL;
    mlops__free(l->env, l->runs);
    l->runs = NULL;
    l->n = 0;
}

mlops_status mlops_run_search(mlops_run_list **out, mlops_store *store,
                              const mlops_search_options *opts)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "run_search: NULL argument");
    mlops_search_options def;
    mlops_search_options_init(&def, MLOPS_SEARCH_OPTIONS_VERSION);
    if (opts == NULL)
        opts = &def;
    if (opts->version < 1 || opts->version > MLOPS_SEARCH_OPTIONS_VERSION)
        return mlops__error(MLOPS_E_VERSION, "search options version %u is not supported",
                            opts->version);
    uint32_t view = opts->view ? opts->view : MLOPS_VIEW_ACTIVE;
    if (view > MLOPS_VIEW_ALL)
        return mlops__error(MLOPS_E_INVALID, "view %u is not one of MLOPS_VIEW_*", view);
    size_t max = opts->max_results ? opts->max_results : 1000;
    if (max > RUN_MAX_SEARCH)
        return mlops__error(MLOPS_E_INVALID, "max_results %zu exceeds the limit of %d", max,
                            RUN_MAX_SEARCH);
    if (opts->n_order_by > MAX_ORDER)
        return mlops__error(MLOPS_E_INVALID, "%zu order_by keys; the limit is %d",
                            opts->n_order_by, MAX_ORDER);
    if ((opts->n_order_by && opts->order_by == NULL) ||
        (opts->n_experiment_ids && opts->experiment_ids == NULL))
        return mlops__error(MLOPS_E_INVALID, "search options: NULL array with a count");
    uint64_t offset = 0;
    uint64_t qh = query_hash(opts);
    if (opts->page_token != NULL && opts->page_token[0] != '\0') {
        mlops_hash128 tok;
        if (mlops_hash128_from_hex(&tok, opts->page_token) != MLOPS_OK ||
            mlops__get_u64le(tok.bytes + 8) != qh)
            return mlops__error(MLOPS_E_INVALID,
                                "page token '%.40s' is not valid for this search (tokens belong "
                                "to one filter, order and page size)",
                                opts->page_token);
        offset = mlops__get_u64le(tok.bytes);
    }
    mlops_env *env = mlops_store_env(store);
    mlops_run_list *l = list_new(env);
    if (l == NULL)
        return mlops__nomem();
    parser p = {.s = opts->filter ? opts->filter : "", .ar = &l->ar, .env = env,
                .what = "filter"};
    fnode *root = NULL;
    okey keys[MAX_ORDER];
    mlops_status st = MLOPS_OK;
    skip_ws(&p);
    if (p.s[p.pos] != '\0') {
        st = expr(&p, &root);
        skip_ws(&p);
        if (st == MLOPS_OK && p.s[p.pos] != '\0')
            st = perr(&p, p.pos, "unexpected '%.20s'; expected AND, OR or the end", p.s + p.pos);
    }
    parser po = {.ar = &l->ar, .env = env, .what = "order_by"};
    for (size_t i = 0; st == MLOPS_OK && i < opts->n_order_by; i++) {
        po.s = opts->order_by[i] ? opts->order_by[i] : "";
        po.pos = 0;
        st = parse_order(&po, &keys[i]);
    }
    if (st == MLOPS_OK) {
        st = mlops_store_scan_prefix(store, "t/s/", 4, load_cb, l);
        if (st == MLOPS_E_CALLBACK)
            st = l->st;
    }
    size_t *match = NULL, nmatch = 0;
    if (st == MLOPS_OK && l->n > 0) {
        sort_items(l);
        match = mlops__malloc(env, l->n * sizeof(size_t));
        if (match == NULL)
            st = mlops__nomem();
    }
    for (size_t i = 0; st == MLOPS_OK && i < l->n; i++) {
        const runrec *r = &l->runs[i];
        if (view == MLOPS_VIEW_ACTIVE && r->lifecycle != MLOPS_LIFECYCLE_ACTIVE)
            continue;
        if (view == MLOPS_VIEW_DELETED && r->lifecycle != MLOPS_LIFECYCLE_DELETED)
            continue;
        if (opts->n_experiment_ids > 0) {
            bool in = false;
            for (size_t j = 0; j < opts->n_experiment_ids && !in; j++)
                in = opts->experiment_ids[j] && strcmp(opts->experiment_ids[j], r->exp_id) == 0;
            if (!in)
                continue;
        }
        if (root != NULL && !eval(root, r))
            continue;
        match[nmatch++] = i;
    }
    if (st == MLOPS_OK && nmatch > 1) {
        octx c = {l->runs, keys, opts->n_order_by};
        qsort_r(match, nmatch, sizeof(size_t), order_cmp, &c);
    }
    if (st == MLOPS_OK) {
        size_t from = offset < nmatch ? (size_t)offset : nmatch;
        size_t cnt = nmatch - from < max ? nmatch - from : max;
        if (match != NULL && cnt > 0)
            memmove(match, match + from, cnt * sizeof(size_t));
        l->page = match;
        match = NULL;
        l->npage = cnt;
        if (from + cnt < nmatch) {
            mlops_hash128 tok;
            mlops__put_u64le(tok.bytes, from + cnt);
            mlops__put_u64le(tok.bytes + 8, qh);
            mlops_hash128_to_hex(l->token, &tok);
            l->has_token = true;
        }
    }
    mlops__free(env, match);
    parser_free(&p);
    parser_free(&po);
    if (st != MLOPS_OK) {
        mlops_run_list_free(l);
        return st;
    }
    *out = l;
    return MLOPS_OK;
}

mlops_status mlops_run_list_get(mlops_run_list **out, mlops_store *store, const char *run_id)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || store == NULL)
        return mlops__error(MLOPS_E_INVALID, "run_list_get: NULL argument");
    mlops_status st = mlops__run_check_id(run_id);
    if (st != MLOPS_OK)
        return st;
    mlops_env *env = mlops_store_env(store);
    mlops_run_list *l = list_new(env);
    if (l == NULL)
        return mlops__nomem();
    runkey k = {.n = 0};
    mlops__run_key_lit(&k, "t/s/");
    mlops__run_key_raw(&k, run_id, MLOPS_RUN_ID_LEN);
    mlops__run_key_raw(&k, "/i", 2);
    st = mlops_store_scan_prefix(store, k.b, k.n, load_cb, l);
    if (st == MLOPS_E_CALLBACK)
        st = l->st;
    if (st == MLOPS_OK && l->n != 1)
        st = mlops__error(MLOPS_E_NOTFOUND, "no run with id '%s' in this store", run_id);
    if (st == MLOPS_OK) {
        sort_items(l);
        l->page = mlops__malloc(env, sizeof(size_t));
        if (l->page == NULL)
            st = mlops__nomem();
        else {
            l->page[0] = 0;
            l->npage = 1;
        }
    }
    if (st != MLOPS_OK) {
        mlops_run_list_free(l);
        return st;
    }
    *out = l;
    return MLOPS_OK;
}

/* ---- getters ---- */

static const runrec *at(const mlops_run_list *l, size_t i)
{
    return l != NULL && i < l->npage ? &l->runs[l->page[i]] : NULL;
}

size_t mlops_run_list_count(const mlops_run_list *list)
{
    return list ? list->npage : 0;
}

const char *mlops_run_list_next_page_token(const mlops_run_list *list)
{
    return list && list->has_token ? list->token : NULL;
}

const char *mlops_run_list_text(const mlops_run_list *list, size_t i, uint32_t field)
{
    const runrec *r = at(list, i);
    if (r == NULL)
        return NULL;
    switch (field) {
    case MLOPS_RUN_FIELD_ID: return r->id;
    case MLOPS_RUN_FIELD_EXPERIMENT_ID: return r->exp_id;
    case MLOPS_RUN_FIELD_NAME: return r->name;
    case MLOPS_RUN_FIELD_PARENT_ID: return r->parent;
    case MLOPS_RUN_FIELD_USER: return r->user;
    default: return NULL;
    }
}

mlops_status mlops_run_list_info(uint32_t *status_out, uint32_t *lifecycle_out,
                                 int64_t *start_ms_out, int64_t *end_ms_out,
                                 const mlops_run_list *list, size_t i)
{
    const runrec *r = at(list, i);
    if (r == NULL)
        return mlops__error(MLOPS_E_INVALID, "run index %zu is out of range", i);
    if (status_out)
        *status_out = r->status;
    if (lifecycle_out)
        *lifecycle_out = r->lifecycle;
    if (start_ms_out)
        *start_ms_out = r->start;
    if (end_ms_out)
        *end_ms_out = r->end;
    return MLOPS_OK;
}

size_t mlops_run_list_item_count(const mlops_run_list *list, size_t i, uint32_t kind)
{
    const runrec *r = at(list, i);
    return r != NULL && kind >= 1 && kind < N_KINDS ? r->nitems[kind] : 0;
}

static const ritem *item_at(const mlops_run_list *list, size_t i, uint32_t kind, size_t j)
{
    const runrec *r = at(list, i);
    if (r == NULL || kind < 1 || kind >= N_KINDS || j >= r->nitems[kind])
        return NULL;
    return &r->items[kind][j];
}

const char *mlops_run_list_item_key(const mlops_run_list *list, size_t i, uint32_t kind,
                                    size_t j)
{
    const ritem *it = item_at(list, i, kind, j);
    return it ? it->key : NULL;
}

const char *mlops_run_list_item_value(const mlops_run_list *list, size_t i, uint32_t kind,
                                      size_t j)
{
    const ritem *it = item_at(list, i, kind, j);
    return it && kind != MLOPS_ITEM_METRIC ? it->value : NULL;
}

const mlops_metric_value *mlops_run_list_metric(const mlops_run_list *list, size_t i, size_t j)
{
    const ritem *it = item_at(list, i, MLOPS_ITEM_METRIC, j);
    return it ? &it->m : NULL;
}

int64_t mlops_run_list_dataset_rows(const mlops_run_list *list, size_t i, size_t j)
{
    const ritem *it = item_at(list, i, MLOPS_ITEM_DATASET, j);
    return it ? it->rows : -1;
}

void mlops_run_list_free(mlops_run_list *list)
{
    if (list == NULL)
        return;
    mlops_env *env = list->env;
    list_free_runs(list);
    mlops__free(env, list->page);
    arena_free(&list->ar);
    mlops__free(env, list);
    mlops__env_unref(env);
}

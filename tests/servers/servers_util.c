/* SPDX-License-Identifier: MIT */
#include "servers_util.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *sv_base_uri(int kind)
{
    const char *u = getenv(kind == SV_PG ? "MLOPS_TEST_PG_URI" : "MLOPS_TEST_REDIS_URI");
    return (u && u[0]) ? u : NULL;
}

void sv_fresh_uri(char *out, size_t cap, int kind, char *tag, size_t tag_cap)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(tag, tag_cap, "t_%d_%u_%lx", (int)getpid(), counter++,
             (unsigned long)(ts.tv_nsec ^ ts.tv_sec) & 0xfffffUL);
    const char *base = sv_base_uri(kind);
    const char *sep = strchr(base, '?') ? "&" : "?";
    if (kind == SV_PG)
        snprintf(out, cap, "%s%smlops_schema=%s&application_name=%s", base, sep, tag, tag);
    else
        snprintf(out, cap, "%s%sprefix=%s:&client_name=%s", base, sep, tag, tag);
}

/* The redis base URI split into host, port, password. */
static redisContext *redis_admin(void)
{
    const char *u = sv_base_uri(SV_REDIS);
    char host[128] = "127.0.0.1", pass[128] = "";
    int port = 6379;
    const char *p = u + 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *ps = colon ? colon + 1 : p;
        snprintf(pass, sizeof(pass), "%.*s", (int)(at - ps), ps);
        p = at + 1;
    }
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    if (colon && (!slash || colon < slash)) {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
        port = atoi(colon + 1);
    }
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (c && !c->err && pass[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", pass);
        freeReplyObject(r);
    }
    return c;
}

static PGconn *pg_admin(void)
{
    const char *u = sv_base_uri(SV_PG);
    PGconn *c = PQconnectdb(u);
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

char *sv_admin(int kind, const char *command)
{
    char *out = NULL;
    if (kind == SV_PG) {
        PGconn *c = pg_admin();
        PGresult *r = PQexec(c, command);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            out = strdup(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) == PGRES_COMMAND_OK)
            out = strdup("");
        PQclear(r);
        PQfinish(c);
    } else {
        redisContext *c = redis_admin();
        char *copy = strdup(command);
        const char *argv[16];
        int argc = 0;
        for (char *tok = strtok(copy, " "); tok && argc < 16; tok = strtok(NULL, " "))
            argv[argc++] = tok;
        redisReply *r = redisCommandArgv(c, argc, argv, NULL);
        if (r && r->type == REDIS_REPLY_STRING)
            out = strndup(r->str, r->len);
        else if (r && r->type == REDIS_REPLY_STATUS)
            out = strdup(r->str);
        else if (r && r->type == REDIS_REPLY_INTEGER) {
            out = malloc(32);
            snprintf(out, 32, "%lld", r->integer);
        }
        freeReplyObject(r);
        free(copy);
        redisFree(c);
    }
    return out;
}

int sv_kill_conns(int kind, const char *tag)
{
    char cmd[256];
    int n = 0;
    if (kind == SV_PG) {
        snprintf(cmd, sizeof(cmd),
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                 "application_name = '%s'",
                 tag);
        char *r = sv_admin(SV_PG, cmd);
        n = r ? atoi(r) : 0;
        free(r);
    } else {
        redisContext *c = redis_admin();
        redisReply *r = redisCommand(c, "CLIENT LIST");
        if (r && r->type == REDIS_REPLY_STRING) {
            char want[96];
            snprintf(want, sizeof(want), " name=%s ", tag);
            char *line = r->str;
            while (line && *line) {
                char *nl = strchr(line, '\n');
                if (nl)
                    *nl = '\0';
                if (strstr(line, want)) {
                    long long id = atoll(strstr(line, "id=") + 3);
                    redisReply *k = redisCommand(c, "CLIENT KILL ID %lld", id);
                    if (k && k->type == REDIS_REPLY_INTEGER)
                        n += (int)k->integer;
                    freeReplyObject(k);
                }
                line = nl ? nl + 1 : NULL;
            }
        }
        freeReplyObject(r);
        redisFree(c);
    }
    return n;
}

void sv_drop(int kind, const char *tag)
{
    if (kind == SV_PG) {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "DROP SCHEMA IF EXISTS \"%s\" CASCADE", tag);
        free(sv_admin(SV_PG, cmd));
        return;
    }
    redisContext *c = redis_admin();
    char match[96];
    snprintf(match, sizeof(match), "%s:*", tag);
    unsigned long long cursor = 0;
    do {
        redisReply *r = redisCommand(c, "SCAN %llu MATCH %s COUNT 1000", cursor, match);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            break;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            redisReply *d = redisCommand(c, "DEL %b", r->element[1]->element[i]->str,
                                         r->element[1]->element[i]->len);
            freeReplyObject(d);
        }
        freeReplyObject(r);
    } while (cursor != 0);
    redisFree(c);
}

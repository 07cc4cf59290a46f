/* SPDX-License-Identifier: MIT */
/* Helpers for the tests of the PostgreSQL and Redis backends: fresh,
 * isolated stores on the servers named by MLOPS_TEST_PG_URI and
 * MLOPS_TEST_REDIS_URI, and direct admin access to those servers. */
#ifndef MLOPS_TESTS_SERVERS_UTIL_H
#define MLOPS_TESTS_SERVERS_UTIL_H

#include <stdbool.h>

#include "mlops/mlops.h"

enum { SV_PG = 0, SV_REDIS = 1, SV__COUNT = 2 };

/* The base URI for a backend from the environment, or NULL. */
const char *sv_base_uri(int kind);
/* Write a URI for a new isolated store (its own schema or key prefix, and a
 * connection name "tag" so tests can find its connections) into out. */
void sv_fresh_uri(char *out, size_t cap, int kind, char *tag, size_t tag_cap);
/* Run one admin command on the server (SQL for pg, a command line split on
 * spaces for redis); returns the first field of the first row, malloc'd, or NULL. */
char *sv_admin(int kind, const char *command);
/* Cut every connection the store named tag holds. Returns how many. */
int sv_kill_conns(int kind, const char *tag);
/* Drop the store's schema or keys. */
void sv_drop(int kind, const char *tag);

#endif

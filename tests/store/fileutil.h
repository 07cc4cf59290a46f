/* SPDX-License-Identifier: MIT */
/* Helpers for file-backend tests: write files, hash a tree, edit the superblock. */
#ifndef MLOPS_TEST_FILEUTIL_H
#define MLOPS_TEST_FILEUTIL_H

#include <stddef.h>
#include <stdint.h>

void fu_write_file(const char *path, const void *data, size_t len);
/* Read a whole file (malloc'd); NULL if absent. */
uint8_t *fu_read_file(const char *path, size_t *len);
/* Hash of every name, type and content under path (I6, I7). */
uint64_t fu_tree_hash(const char *path);
/* Rewrite the superblock's read/write format versions with a valid checksum. */
void fu_set_super_versions(const char *dir, uint32_t read_version, uint32_t write_version);
/* Number of log-* files in a store directory. */
int fu_count_logs(const char *dir);
/* Path of the current log of a store (static buffer). */
const char *fu_log_path(const char *dir);
/* Copy a file. */
void fu_copy(const char *from, const char *to);

#endif

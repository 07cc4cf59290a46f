/* SPDX-License-Identifier: MIT */
/* The `mlops` command: shared context, argument parsing and JSON output. */
#ifndef MLOPS_CLI_H
#define MLOPS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mlops/mlops.h"

/* Exit statuses. */
#define CLI_OK 0
#define CLI_FAILED 1 /* the operation failed; a message is on stderr */
#define CLI_USAGE 2  /* the command line is wrong */
#define CLI_HELP 3   /* cli_parse saw --help; the command prints its help and returns 0 */

typedef struct cli_ctx {
    const char *prog;             /* "mlops" */
    const char *store_uri;        /* --store, MLOPS_STORE, or "./mlops-data" */
    const char *online_store_uri; /* --online-store, MLOPS_ONLINE_STORE, or NULL */
    bool json;                    /* --json */
    mlops_env *env;               /* NULL: defaults */
    mlops_store *store;           /* opened on first use by cli_store() */
} cli_ctx;

/* The main store, opened on first use; NULL after printing an error. */
mlops_store *cli_store(cli_ctx *ctx);

/* Print "mlops: <what>: <library message>" on stderr; return CLI_FAILED. */
int cli_fail(cli_ctx *ctx, mlops_status st, const char *what);
/* Print "mlops: <message>" on stderr; return CLI_FAILED. */
int cli_error(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "mlops: <message>" and a hint to use --help on stderr; return CLI_USAGE. */
int cli_usage(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option table for cli_parse(). */
typedef struct cli_optdef {
    const char *name;       /* "--ttl" */
    const char *short_name; /* "-o", or NULL */
    bool takes_value;
    const char **value;     /* receives the (last) value when takes_value */
    int *count;             /* incremented each time the option is seen, or NULL */
    const char ***values;   /* all values of a repeated option (malloc'd array), or NULL */
    size_t *n_values;
} cli_optdef;

/* Parse argv[0..argc) (argv[0] is the first argument, not the program).
 * Options may come anywhere; "--" ends options; "-" is a positional.
 * defs ends with a {NULL} entry. Positionals go to a malloc'd array
 * (*pos_out, free() it). Returns CLI_OK, CLI_USAGE (message printed) or
 * CLI_HELP. */
int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_optdef *defs, char ***pos_out,
              int *npos_out);
/* Free the arrays that cli_parse allocated for repeated options. */
void cli_free_values(const cli_optdef *defs);

/* Parse numbers strictly (whole string); return false if malformed. */
bool cli_parse_i64(const char *s, int64_t *out);
bool cli_parse_f64(const char *s, double *out);

/* ---- JSON output (streaming, with commas handled) ---- */

typedef struct cli_json {
    FILE *f;
    int depth;
    bool first[64];
    bool after_key;
} cli_json;

void json_init(cli_json *j, FILE *f);
void json_obj_begin(cli_json *j);
void json_obj_end(cli_json *j);
void json_arr_begin(cli_json *j);
void json_arr_end(cli_json *j);
void json_key(cli_json *j, const char *key);
void json_str(cli_json *j, const char *s);   /* NULL prints null */
void json_strn(cli_json *j, const char *s, size_t n);
void json_f64(cli_json *j, double v);        /* NaN/Inf as "NaN", "Infinity", "-Infinity" */
void json_i64(cli_json *j, int64_t v);
void json_u64(cli_json *j, uint64_t v);
void json_bool(cli_json *j, bool v);
void json_null(cli_json *j);
void json_end(cli_json *j);                   /* newline after the top-level value */

/* Print a double for humans and CSV with round-trip precision (%.17g,
 * trimmed): nan, inf, -inf. Returns buf. */
const char *cli_fmt_f64(char *buf, size_t cap, double v);
/* A store URI fit to print: a password in it (scheme://user:PASSWORD@host)
 * is replaced by ***. Returns buf. */
const char *cli_redact_uri(char *buf, size_t cap, const char *uri);

/* Print a time in milliseconds since the epoch as RFC 3339 UTC. */
const char *cli_fmt_time_ms(char *buf, size_t cap, int64_t ms);

/* ---- the commands (one file each) ---- */

int cli_cmd_store(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_experiments(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_runs(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_artifacts(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_models(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_features(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_drift(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_ab(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_rollout(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_demo(cli_ctx *ctx, int argc, char **argv);

/* ---- the demo: one step per module, sharing this state ---- */

typedef struct cli_demo_state {
    const char *workdir; /* a scratch directory for files the demo writes */
    /* store: begin */
    /* store: end */
    /* run: begin */
    char run_id[64];
    char experiment_id[64];
    /* run: end */
    /* registry: begin */
    char model_name[128];
    int64_t model_version;
    /* registry: end */
    /* feature: begin */
    char training_csv[512];
    /* feature: end */
    /* drift: begin */
    char drift_baseline[200];
    /* drift: end */
    /* rollout: begin */
    /* rollout: end */
} cli_demo_state;

/* Each returns CLI_OK or CLI_FAILED, printing what it does. */
int cli_demo_store(cli_ctx *ctx, cli_demo_state *st);
int cli_demo_features(cli_ctx *ctx, cli_demo_state *st);
int cli_demo_tracking(cli_ctx *ctx, cli_demo_state *st);
int cli_demo_registry(cli_ctx *ctx, cli_demo_state *st);
int cli_demo_drift(cli_ctx *ctx, cli_demo_state *st);
int cli_demo_rollout(cli_ctx *ctx, cli_demo_state *st);

/* Usage text of each noun, for `mlops --help`. */
extern const char cli_help_store[];
extern const char cli_help_experiments[];
extern const char cli_help_runs[];
extern const char cli_help_artifacts[];
extern const char cli_help_models[];
extern const char cli_help_features[];
extern const char cli_help_drift[];
extern const char cli_help_ab[];
extern const char cli_help_rollout[];

#endif

/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_REGISTRY_H
#define MLOPS_REGISTRY_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file registry.h
 * @brief Model registry: registered models, versions, stages, aliases, gates, lineage and rollback.
 *
 * Thread rule: a registry handle may be used from any thread at once, and
 * several processes may use one store. Every change to a model (a new
 * version, a stage transition, an alias move, a rollback) is one atomic
 * store batch guarded by a compare-and-set on the model's record: two
 * writers can never both win a race for a stage, and version numbers are
 * never reused.
 *
 * Names: model names are UTF-8, 1 to MLOPS_REGISTRY_MAX_NAME bytes, without
 * control characters, '/' or '@' (they separate the parts of a
 * `models:/` URI). They compare bytewise (no case folding, no Unicode
 * normalization) and never become file names. Aliases follow MLflow:
 * letters, digits, '_' and '-' only, at most MLOPS_REGISTRY_MAX_ALIAS
 * bytes; `latest` and `v<digits>` are reserved.
 *
 * Stages follow MLflow: None, Staging, Production, Archived. Stage names
 * are case-insensitive on input and printed in that capitalization.
 *
 * Text results (models, versions, history, lineage) come as JSON documents
 * (UTF-8, one object or array) released with mlops_string_free(); their
 * fields are described in docs/registry.md.
 */

MLOPS_BEGIN_DECL

/** @defgroup registry Model registry
 * @{ */

/** A model registry over a store. */
typedef struct mlops_registry mlops_registry;

/** Stage: registered, not yet staged. */
#define MLOPS_STAGE_NONE 0
/** Stage: under validation. */
#define MLOPS_STAGE_STAGING 1
/** Stage: serving. */
#define MLOPS_STAGE_PRODUCTION 2
/** Stage: retired. */
#define MLOPS_STAGE_ARCHIVED 3

/** Longest model name, in bytes. */
#define MLOPS_REGISTRY_MAX_NAME 256
/** Longest alias, in bytes (MLflow's limit). */
#define MLOPS_REGISTRY_MAX_ALIAS 255
/** Longest tag key, in bytes. */
#define MLOPS_REGISTRY_MAX_TAG_KEY 250
/** Longest tag value or description, in bytes. */
#define MLOPS_REGISTRY_MAX_TEXT 65536

/** Options for mlops_registry_register(). */
typedef struct mlops_register_options {
    uint32_t version;                    /**< MLOPS_REGISTER_OPTIONS_VERSION */
    uint32_t no_create_model;            /**< 0: create the model if it does not exist;
                                              1: MLOPS_E_NOTFOUND instead */
    const char *run_id;                  /**< source run, or NULL (then blob is required) */
    const char *artifact_path;           /**< the model artifact in the run (with run_id) */
    const mlops_hash128 *blob;           /**< or: a blob in the store (without a run) */
    const char *description;             /**< NULL: none */
    const char *eval_report_path;        /**< an artifact of the run holding the evaluation
                                              report, or NULL */
    const mlops_hash128 *feature_hashes; /**< feature definition hashes, or NULL */
    size_t n_feature_hashes;             /**< number of feature_hashes */
    const char *code_commit;             /**< NULL: the run's `mlops.source.git.commit` tag */
    const char *user;                    /**< who registers (history); NULL: "" */
    /* new fields go here, below all others */
} mlops_register_options;

/** Current version of mlops_register_options. */
#define MLOPS_REGISTER_OPTIONS_VERSION 1
/** Static initializer for mlops_register_options. */
#define MLOPS_REGISTER_OPTIONS_INIT {MLOPS_REGISTER_OPTIONS_VERSION}

/** Gate condition flag: the candidate's value must reach `threshold`. */
#define MLOPS_GATE_THRESHOLD 0x1u
/** Gate condition flag: it must beat the baseline by `min_absolute_change`. */
#define MLOPS_GATE_MIN_ABSOLUTE 0x2u
/** Gate condition flag: it must beat the baseline by `min_relative_change`. */
#define MLOPS_GATE_MIN_RELATIVE 0x4u
/** Gate flag: lower values are better (MLflow's `greater_is_better=False`). */
#define MLOPS_GATE_LOWER_IS_BETTER 0x8u

/**
 * One gate on a metric of the candidate's source run, with the meaning of
 * MLflow's `MetricThreshold`. With greater_is_better, the candidate value c
 * passes when c >= threshold, c >= b + min_absolute_change and
 * c >= b + |b| * min_relative_change, where b is the baseline's value
 * (the mirror image with MLOPS_GATE_LOWER_IS_BETTER). A metric missing on
 * the candidate or on the baseline, or a missing baseline version when a
 * change is required, fails the gate.
 */
typedef struct mlops_gate {
    uint32_t version;           /**< MLOPS_GATE_VERSION */
    uint32_t flags;             /**< MLOPS_GATE_* flags; at least one condition */
    const char *metric;         /**< metric key in the source runs */
    double threshold;           /**< with MLOPS_GATE_THRESHOLD; finite */
    double min_absolute_change; /**< with MLOPS_GATE_MIN_ABSOLUTE; finite, > 0 */
    double min_relative_change; /**< with MLOPS_GATE_MIN_RELATIVE; in (0, 1] */
    /* new fields go here, below all others */
} mlops_gate;

/** Current version of mlops_gate. */
#define MLOPS_GATE_VERSION 1
/** Static initializer for mlops_gate. */
#define MLOPS_GATE_INIT {MLOPS_GATE_VERSION}

/** Options for mlops_registry_promote(). */
typedef struct mlops_promote_options {
    uint32_t version;              /**< MLOPS_PROMOTE_OPTIONS_VERSION */
    uint32_t keep_existing;        /**< 0: archive the versions that held the target stage
                                        (Staging or Production); 1: leave them */
    const mlops_gate *gates;       /**< gates to pass, or NULL */
    size_t n_gates;                /**< number of gates */
    const char *const *gate_exprs; /**< gates as text (see mlops_registry_gate_parse()), or NULL */
    size_t n_gate_exprs;           /**< number of gate_exprs */
    const char *baseline_alias;    /**< compare with this alias's version; NULL: the current
                                        Production version */
    const char *reason;            /**< why (history); NULL: "" */
    const char *user;              /**< who (history); NULL: "" */
    /* new fields go here, below all others */
} mlops_promote_options;

/** Current version of mlops_promote_options. */
#define MLOPS_PROMOTE_OPTIONS_VERSION 1
/** Static initializer for mlops_promote_options. */
#define MLOPS_PROMOTE_OPTIONS_INIT {MLOPS_PROMOTE_OPTIONS_VERSION}

/**
 * Initialize register options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_REGISTER_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_register_options_init(mlops_register_options *opts,
                                                   uint32_t version);

/**
 * Initialize promote options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_PROMOTE_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_promote_options_init(mlops_promote_options *opts,
                                                  uint32_t version);

/**
 * Initialize a gate to its defaults (no condition) for a given version.
 *
 * @param[out] gate     Gate to fill.
 * @param[in]  version  MLOPS_GATE_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p gate is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_gate_init(mlops_gate *gate, uint32_t version);

/**
 * Parse a gate written as text.
 *
 * Forms (spaces optional; `<=` instead of `>=` means lower is better):
 * `val_auc >= 0.85` (threshold), `val_auc >= baseline + 0.01`
 * (min_absolute_change), `val_auc >= baseline + 2%` (min_relative_change
 * 0.02), `loss <= baseline - 0.05`. Several conditions on one metric are
 * given as several gates.
 *
 * @param[out] gate        The gate; its metric points into @p metric_buf.
 * @param[out] metric_buf  Receives the metric name, NUL-terminated.
 * @param[in]  cap         Capacity of @p metric_buf (251 is always enough).
 * @param[in]  expr        The text.
 * @return MLOPS_OK; MLOPS_E_INVALID for text that does not parse (the
 *         message shows where); MLOPS_E_TOOBIG if the metric name does not fit.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_gate_parse(mlops_gate *gate, char *metric_buf, size_t cap,
                                                 const char *expr);

/**
 * Parse a stage name, case-insensitively ("production", "Staging", "NONE").
 *
 * @param[out] stage_out  MLOPS_STAGE_*.
 * @param[in]  name       The name.
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown name (the message lists
 *         the valid ones).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_stage_parse(uint32_t *stage_out, const char *name);

/**
 * The display name of a stage ("None", "Staging", "Production", "Archived").
 *
 * @param[in] stage  MLOPS_STAGE_*.
 * @return A static string; "unknown" for other values. Borrowed for the
 *         life of the process.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_registry_stage_name(uint32_t stage);

/**
 * Open the registry of a store.
 *
 * @param[out] out    The registry; NULL on failure.
 * @param[in]  store  Open store. The registry keeps it alive.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_registry_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_open(mlops_registry **out, mlops_store *store);

/**
 * Create a registered model.
 *
 * @param[in] reg          Registry.
 * @param[in] name         Model name. Copied.
 * @param[in] description  Free text, or NULL.
 * @return MLOPS_OK; MLOPS_E_EXISTS if a model has that name (also when
 *         another process created it at the same moment); MLOPS_E_INVALID for
 *         a bad name; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_create_model(mlops_registry *reg, const char *name,
                                                   const char *description);

/**
 * Rename a registered model, with its versions, aliases and history.
 *
 * @param[in] reg       Registry.
 * @param[in] name      Current name.
 * @param[in] new_name  New name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_EXISTS if @p new_name is
 *         taken; MLOPS_E_INVALID; MLOPS_E_CONFLICT if the model changed
 *         during the call (nothing changed; try again); a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_rename_model(mlops_registry *reg, const char *name,
                                                   const char *new_name);

/**
 * Delete a registered model with its versions, aliases and history. Blobs
 * are left in the store.
 *
 * @param[in] reg   Registry.
 * @param[in] name  Model name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CONFLICT if
 *         the model changed during the call; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_delete_model(mlops_registry *reg, const char *name);

/**
 * Set or remove a tag of a registered model.
 *
 * @param[in] reg    Registry.
 * @param[in] name   Model name.
 * @param[in] key    Tag key, 1 to MLOPS_REGISTRY_MAX_TAG_KEY bytes of UTF-8.
 * @param[in] value  Value (UTF-8, at most MLOPS_REGISTRY_MAX_TEXT bytes), or
 *                   NULL to remove the tag.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_set_model_tag(mlops_registry *reg, const char *name,
                                                    const char *key, const char *value);

/**
 * Set the description of a model or of one of its versions.
 *
 * @param[in] reg          Registry.
 * @param[in] name         Model name.
 * @param[in] version      Version number, or 0 for the model itself.
 * @param[in] description  UTF-8 text (at most MLOPS_REGISTRY_MAX_TEXT bytes); NULL clears it.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_set_description(mlops_registry *reg, const char *name,
                                                      int64_t version, const char *description);

/**
 * Register a new version of a model, numbered one more than any version it
 * ever had (numbers are never reused, also under concurrent registration
 * from several processes).
 *
 * The source is a run's artifact (run_id + artifact_path) or a blob already
 * in the store. The version records its lineage: the run, the run's dataset
 * inputs, the code commit, the feature definition hashes and the evaluation
 * report artifact. It starts in stage None.
 *
 * @param[out] version_out  The new version number.
 * @param[in]  reg          Registry.
 * @param[in]  model        Model name.
 * @param[in]  opts         Options (a source is required).
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad name, no source or both
 *         sources; MLOPS_E_NOTFOUND for an unknown run, artifact, blob or
 *         (with no_create_model) model; MLOPS_E_VERSION for an unknown
 *         options version; MLOPS_E_BUSY if other writers kept winning for
 *         too long; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_register(int64_t *version_out, mlops_registry *reg,
                                               const char *model,
                                               const mlops_register_options *opts);

/**
 * Delete a model version. Its number is not reused; aliases pointing at it
 * are dropped; its history stays.
 *
 * @param[in] reg      Registry.
 * @param[in] model    Model name.
 * @param[in] version  Version number.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_delete_version(mlops_registry *reg, const char *model,
                                                     int64_t version);

/**
 * Move a version to a stage, atomically.
 *
 * Promoting to Staging or Production archives the versions that held that
 * stage (unless keep_existing), in the same atomic step. If gates are
 * given, the candidate must pass all of them first; the decision (the
 * "blessing") is stored with the version either way. If another writer
 * changes the stage in the meantime, nothing is changed and the call
 * returns MLOPS_E_CONFLICT naming the version that won.
 *
 * @param[out] report_out  The gate report (one line per condition, with
 *                         both values), or NULL. Release with
 *                         mlops_string_free(). Set when gates were evaluated.
 * @param[in]  reg         Registry.
 * @param[in]  model       Model name.
 * @param[in]  version     Version number.
 * @param[in]  stage       Target stage name, case-insensitive.
 * @param[in]  opts        Options, or NULL for the defaults.
 * @return MLOPS_OK; MLOPS_E_INVALID for an unknown stage or a bad gate;
 *         MLOPS_E_NOTFOUND for an unknown model, version or baseline alias;
 *         MLOPS_E_CONFLICT if a gate refused the promotion (the message
 *         names the condition and both values) or another writer won a
 *         race for the stage (the message names the winner); a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_promote(char **report_out, mlops_registry *reg,
                                              const char *model, int64_t version,
                                              const char *stage,
                                              const mlops_promote_options *opts);

/**
 * Evaluate gates for a version without changing its stage (a dry run).
 *
 * @param[out] report_out  The report, as for mlops_registry_promote(). Release
 *                         with mlops_string_free().
 * @param[out] passed_out  1 if every gate passed, 0 otherwise.
 * @param[in]  reg         Registry.
 * @param[in]  model       Model name.
 * @param[in]  version     Version number.
 * @param[in]  opts        Options holding the gates and baseline alias.
 * @return MLOPS_OK (whatever the decision); MLOPS_E_INVALID; MLOPS_E_NOTFOUND;
 *         a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_gate_check(char **report_out, int32_t *passed_out,
                                                 mlops_registry *reg, const char *model,
                                                 int64_t version,
                                                 const mlops_promote_options *opts);

/**
 * Point an alias at a version (creates or moves it), recorded in history
 * with the reason.
 *
 * @param[in] reg      Registry.
 * @param[in] model    Model name.
 * @param[in] alias    Alias name (see the file comment).
 * @param[in] version  Version number.
 * @param[in] reason   Why, or NULL.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad or reserved alias;
 *         MLOPS_E_NOTFOUND for an unknown model or version;
 *         MLOPS_E_CONFLICT if another writer moved the alias meanwhile (the
 *         message names where); a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_set_alias(mlops_registry *reg, const char *model,
                                                const char *alias, int64_t version,
                                                const char *reason);

/**
 * Remove an alias, recorded in history.
 *
 * @param[in] reg     Registry.
 * @param[in] model   Model name.
 * @param[in] alias   Alias name.
 * @param[in] reason  Why, or NULL.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND if the model or alias does not exist;
 *         MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_delete_alias(mlops_registry *reg, const char *model,
                                                   const char *alias, const char *reason);

/**
 * Restore the previous Production version, from history, in one atomic
 * step: the current Production version is archived and the most recent
 * earlier Production version that still exists is promoted.
 *
 * @param[out] version_out  The version now in Production, or NULL.
 * @param[in]  reg          Registry.
 * @param[in]  model        Model name.
 * @param[in]  reason       Why (history), or NULL.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND for an unknown model, or when there is
 *         no previous Production version to restore (nothing changes);
 *         MLOPS_E_CONFLICT if another writer changed Production meanwhile;
 *         a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_rollback(int64_t *version_out, mlops_registry *reg,
                                               const char *model, const char *reason);

/**
 * Resolve "models:/name@alias", "models:/name/<Stage>", "models:/name/<N>"
 * or "models:/name/latest" to a version number.
 *
 * With a stage, the answer is the version that entered that stage last.
 *
 * @param[out] version_out  The version.
 * @param[in]  reg          Registry.
 * @param[in]  uri          The URI.
 * @return MLOPS_OK; MLOPS_E_INVALID for a URI that does not parse;
 *         MLOPS_E_NOTFOUND if nothing matches (a deleted version, an unset
 *         alias, no version in that stage, an unknown model).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_resolve(int64_t *version_out, mlops_registry *reg,
                                              const char *uri);

/**
 * Resolve a URI as it was at a past time, from history: which version was
 * in Production (or held an alias) at @p at_ms.
 *
 * @param[out] version_out  The version.
 * @param[in]  reg          Registry.
 * @param[in]  uri          As for mlops_registry_resolve().
 * @param[in]  at_ms        Milliseconds since the Unix epoch, UTC.
 * @return As mlops_registry_resolve(); MLOPS_E_NOTFOUND also if the
 *         version existed only after @p at_ms or was deleted before it.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_resolve_at(int64_t *version_out, mlops_registry *reg,
                                                 const char *uri, int64_t at_ms);

/**
 * The stage of a version.
 *
 * @param[out] stage_out  MLOPS_STAGE_*.
 * @param[in]  reg        Registry.
 * @param[in]  model      Model name.
 * @param[in]  version    Version number.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_stage(uint32_t *stage_out, mlops_registry *reg,
                                            const char *model, int64_t version);

/**
 * The model artifact of a version: its blob address and size in the store.
 *
 * @param[out] blob_out  The blob address.
 * @param[out] size_out  Its size in bytes, or NULL.
 * @param[in]  reg       Registry.
 * @param[in]  model     Model name.
 * @param[in]  version   Version number.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_artifact(mlops_hash128 *blob_out, uint64_t *size_out,
                                               mlops_registry *reg, const char *model,
                                               int64_t version);

/**
 * A registered model with all its versions, as JSON.
 *
 * @param[out] json_out  The document; release with mlops_string_free().
 * @param[in]  reg       Registry.
 * @param[in]  name      Model name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_model_json(char **json_out, mlops_registry *reg,
                                                 const char *name);

/**
 * One model version, as JSON (stage, aliases, source, lineage, gate).
 *
 * @param[out] json_out  The document; release with mlops_string_free().
 * @param[in]  reg       Registry.
 * @param[in]  model     Model name.
 * @param[in]  version   Version number.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_version_json(char **json_out, mlops_registry *reg,
                                                   const char *model, int64_t version);

/**
 * Search registered models, in name order, as a JSON array of summaries.
 *
 * The filter follows MLflow's search_registered_models: conditions joined
 * by AND, each one of: name = 'x', name != 'x', name LIKE 'pattern',
 * name ILIKE 'pattern', or the same on tags.KEY (put a key with spaces
 * or dots in backquotes). In a pattern a percent sign matches any run of
 * characters and an underscore matches one character.
 *
 * @param[out] json_out     The array; release with mlops_string_free().
 * @param[in]  reg          Registry.
 * @param[in]  filter       The filter; NULL or "" lists every model.
 * @param[in]  max_results  At most this many; 0: no limit.
 * @return MLOPS_OK; MLOPS_E_INVALID for a filter that does not parse; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_search_json(char **json_out, mlops_registry *reg,
                                                  const char *filter, size_t max_results);

/**
 * The history of a model (registrations, transitions, alias moves,
 * deletions), oldest first, as a JSON array.
 *
 * @param[out] json_out  The array; release with mlops_string_free().
 * @param[in]  reg       Registry.
 * @param[in]  model     Model name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_history_json(char **json_out, mlops_registry *reg,
                                                   const char *model);

/**
 * What produced a version, in one call, as JSON: the source run, artifact,
 * dataset inputs (hash, rows, name), code commit, feature definition
 * hashes, evaluation report and gate decision.
 *
 * @param[out] json_out  The document; release with mlops_string_free().
 * @param[in]  reg       Registry.
 * @param[in]  model     Model name.
 * @param[in]  version   Version number.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a store status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_registry_lineage_json(char **json_out, mlops_registry *reg,
                                                   const char *model, int64_t version);

/**
 * The environment of the registry's store (to free returned strings).
 *
 * @param[in] reg  Registry.
 * @return The env (NULL if defaults). Borrowed until the registry is closed.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_env *mlops_registry_env(mlops_registry *reg);

/**
 * Release a registry.
 *
 * @param[in] reg  Registry, or NULL.
 * @threadsafety Not concurrent with other calls on the same registry.
 * @since 1.0
 */
MLOPS_API void mlops_registry_close(mlops_registry *reg);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_REGISTRY_H */

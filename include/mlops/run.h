/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_RUN_H
#define MLOPS_RUN_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file run.h
 * @brief Experiment tracking: experiments, runs, params, metrics, tags, artifacts and search.
 *
 * Thread rule: experiment functions and run handles may be used from any
 * thread at once (a run handle is locked internally, so many threads may log
 * to one run). Lists and histories are one thread per handle. Several
 * processes may log different runs (or the same run) to one store.
 *
 * Names follow MLflow's rules: keys (params, metrics, tags) are 1 to 250
 * characters of letters, digits and `_ - . / space` (any non-ASCII UTF-8
 * letter is accepted too), are unchanged by POSIX path normalisation (no
 * `..` or `.` segment, no empty segment, no leading or trailing `/`). Names
 * compare bytewise. Timestamps are milliseconds since the Unix epoch (UTC),
 * as in MLflow.
 */

MLOPS_BEGIN_DECL

/** @defgroup tracking Experiment tracking
 * @{ */

/** An open run (see mlops_run_create() and mlops_run_open()). */
typedef struct mlops_run mlops_run;
/** A snapshot of experiments (see mlops_experiment_list_open()). */
typedef struct mlops_experiment_list mlops_experiment_list;
/** A snapshot of runs with their data (see mlops_run_search()). */
typedef struct mlops_run_list mlops_run_list;
/** The history of one metric (see mlops_metric_history_open()). */
typedef struct mlops_metric_history mlops_metric_history;
/** A run's artifacts (see mlops_artifact_list_open()). */
typedef struct mlops_artifact_list mlops_artifact_list;

/** Run status: running (MLflow's RunStatus numbers). */
#define MLOPS_RUN_RUNNING 1
/** Run status: scheduled. */
#define MLOPS_RUN_SCHEDULED 2
/** Run status: finished successfully. */
#define MLOPS_RUN_FINISHED 3
/** Run status: failed. */
#define MLOPS_RUN_FAILED 4
/** Run status: killed. */
#define MLOPS_RUN_KILLED 5

/** Lifecycle: active. */
#define MLOPS_LIFECYCLE_ACTIVE 1
/** Lifecycle: deleted (soft; restorable). */
#define MLOPS_LIFECYCLE_DELETED 2

/** View: active objects only. */
#define MLOPS_VIEW_ACTIVE 1
/** View: deleted objects only. */
#define MLOPS_VIEW_DELETED 2
/** View: both. */
#define MLOPS_VIEW_ALL 3

/** Length of a run id in hex digits (32, as MLflow's). */
#define MLOPS_RUN_ID_LEN 32

/** Limit: characters in a param, metric or tag key (250). */
#define MLOPS_LIMIT_KEY 1
/** Limit: characters in a param value (6000). */
#define MLOPS_LIMIT_PARAM_VALUE 2
/** Limit: characters in a tag value (5000). */
#define MLOPS_LIMIT_TAG_VALUE 3
/** Limit: characters in an experiment name (500). */
#define MLOPS_LIMIT_EXPERIMENT_NAME 4
/** Limit: metrics in one batch (1000). */
#define MLOPS_LIMIT_BATCH_METRICS 5
/** Limit: params in one batch (100). */
#define MLOPS_LIMIT_BATCH_PARAMS 6
/** Limit: tags in one batch (100). */
#define MLOPS_LIMIT_BATCH_TAGS 7
/** Limit: results of one search page (50000). */
#define MLOPS_LIMIT_SEARCH_RESULTS 8

/**
 * A tracking limit, for bindings that cannot read macros.
 *
 * @param[in] which  MLOPS_LIMIT_*.
 * @return The limit, or 0 for an unknown @p which.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API size_t mlops_run_limit(uint32_t which);

/** One metric point to log in a batch. */
typedef struct mlops_metric_point {
    const char *key;      /**< metric key */
    double value;         /**< any double, NaN and infinities included */
    int64_t step;         /**< any step */
    int64_t timestamp_ms; /**< milliseconds since the epoch */
} mlops_metric_point;

/** One metric value as read back. */
typedef struct mlops_metric_value {
    double value;         /**< the value, bit-exact */
    int64_t step;         /**< its step */
    int64_t timestamp_ms; /**< its timestamp */
} mlops_metric_value;

/* ---- experiments ---- */

/**
 * Create an experiment.
 *
 * @param[out] id_out  The new experiment's id (decimal text); release with
 *                     mlops_string_free(). NULL on failure.
 * @param[in]  store   Open store.
 * @param[in]  name    Unique name, 1 to 500 characters of UTF-8 without
 *                     control characters. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad name; MLOPS_E_EXISTS if an
 *         experiment (active or deleted) has that name; a storage status.
 * @threadsafety Any thread; concurrent creators of one name get one winner.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_create(char **id_out, mlops_store *store,
                                               const char *name);

/**
 * Look an experiment up by name, creating it if it does not exist.
 *
 * @param[out] id_out  Its id; release with mlops_string_free().
 * @param[in]  store   Open store.
 * @param[in]  name    As for mlops_experiment_create().
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_CONFLICT if it exists but is
 *         deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_get_or_create(char **id_out, mlops_store *store,
                                                      const char *name);

/**
 * Look an experiment up by name.
 *
 * @param[out] id_out  Its id; release with mlops_string_free().
 * @param[in]  store   Open store.
 * @param[in]  name    The name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_get_by_name(char **id_out, mlops_store *store,
                                                    const char *name);

/**
 * Rename an experiment.
 *
 * @param[in] store     Open store.
 * @param[in] id        Experiment id.
 * @param[in] new_name  New unique name. Copied.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_EXISTS if the name is taken;
 *         MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_rename(mlops_store *store, const char *id,
                                               const char *new_name);

/**
 * Mark an experiment deleted (restorable). Its runs are kept.
 *
 * @param[in] store  Open store.
 * @param[in] id     Experiment id.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_CONFLICT if already deleted
 *         or if it is the default experiment "0"; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_delete(mlops_store *store, const char *id);

/**
 * Restore a deleted experiment.
 *
 * @param[in] store  Open store.
 * @param[in] id     Experiment id.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_CONFLICT if it is active; a
 *         storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_restore(mlops_store *store, const char *id);

/**
 * List experiments, ordered by id.
 *
 * @param[out] out    The list; NULL on failure.
 * @param[in]  store  Open store.
 * @param[in]  view   MLOPS_VIEW_*.
 * @return MLOPS_OK; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_experiment_list_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_experiment_list_open(mlops_experiment_list **out,
                                                  mlops_store *store, uint32_t view);

/**
 * Number of experiments in a list.
 *
 * @param[in] list  List, or NULL (0).
 * @return The count.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API size_t mlops_experiment_list_count(const mlops_experiment_list *list);

/**
 * Id of experiment @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_experiment_list_id(const mlops_experiment_list *list, size_t i);

/**
 * Name of experiment @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_experiment_list_name(const mlops_experiment_list *list, size_t i);

/**
 * Lifecycle of experiment @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return MLOPS_LIFECYCLE_*; 0 if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API uint32_t mlops_experiment_list_lifecycle(const mlops_experiment_list *list, size_t i);

/**
 * Creation time of experiment @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Milliseconds since the epoch; 0 if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API int64_t mlops_experiment_list_creation_time(const mlops_experiment_list *list,
                                                      size_t i);

/**
 * Last update time (rename, delete, restore) of experiment @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Milliseconds since the epoch; 0 if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API int64_t mlops_experiment_list_last_update_time(const mlops_experiment_list *list,
                                                         size_t i);

/**
 * Release an experiment list.
 *
 * @param[in] list  List, or NULL.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API void mlops_experiment_list_free(mlops_experiment_list *list);

/* ---- runs ---- */

/** Run flag: do not record the system tags (user, source, git commit). */
#define MLOPS_RUN_NO_SYSTEM_TAGS 0x1u
/** Run flag: do not record the environment (compiler, OS, CPU, host). */
#define MLOPS_RUN_NO_ENVIRONMENT 0x2u

/** Options for mlops_run_create(). */
typedef struct mlops_run_options {
    uint32_t version;               /**< MLOPS_RUN_OPTIONS_VERSION */
    uint32_t flags;                 /**< MLOPS_RUN_* flags */
    const char *name;               /**< run name; NULL: generated ("run-<8 hex>") */
    const char *parent_run_id;      /**< parent of a nested run, or NULL */
    int64_t start_ms;               /**< 0: now, from the environment's clock */
    const char *const *tag_keys;    /**< initial tags (n_tags of them) */
    const char *const *tag_values;  /**< their values */
    size_t n_tags;                  /**< number of initial tags (at most 100) */
    const char *const *env_keys;    /**< the host program's environment key/values */
    const char *const *env_values;  /**< their values */
    size_t n_env;                   /**< number of them (at most 100) */
    /* new fields go here, below all others */
} mlops_run_options;

/** Current version of mlops_run_options. */
#define MLOPS_RUN_OPTIONS_VERSION 1
/** Static initializer for mlops_run_options. */
#define MLOPS_RUN_OPTIONS_INIT {MLOPS_RUN_OPTIONS_VERSION}

/**
 * Initialize run options to their defaults.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_RUN_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_options_init(mlops_run_options *opts, uint32_t version);

/**
 * Start a run (status RUNNING) in an experiment.
 *
 * The run id is 32 lowercase hex digits from the operating system's random
 * source, unique across processes and machines. Unless flags say otherwise
 * the run records the system tags `mlops.user`, `mlops.source.name`,
 * `mlops.source.git.commit` (when the working directory is in a git
 * checkout) and the environment as `mlops.env.*` tags.
 *
 * @param[out] out            The run; NULL on failure.
 * @param[in]  store          Open store.
 * @param[in]  experiment_id  Experiment id, or NULL for the default
 *                            experiment "0" ("Default", created if needed).
 * @param[in]  opts           Options, or NULL.
 * @return MLOPS_OK; MLOPS_E_INVALID for bad options or tags;
 *         MLOPS_E_NOTFOUND for an unknown experiment or parent run;
 *         MLOPS_E_CONFLICT if the experiment is deleted; MLOPS_E_VERSION;
 *         a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_run_close() (which does not end the run).
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_create(mlops_run **out, mlops_store *store,
                                        const char *experiment_id,
                                        const mlops_run_options *opts);

/**
 * Attach to an existing run by id.
 *
 * @param[out] out     The run; NULL on failure.
 * @param[in]  store   Open store.
 * @param[in]  run_id  32 lowercase hex digits.
 * @return MLOPS_OK; MLOPS_E_INVALID if the id is malformed;
 *         MLOPS_E_NOTFOUND if no such run is in this store; a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_run_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_open(mlops_run **out, mlops_store *store, const char *run_id);

/**
 * The run's id.
 *
 * @param[in] run  Open run.
 * @return 32 hex digits. Borrowed until the run is closed; NULL for NULL.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_id(const mlops_run *run);

/**
 * The id of the run's experiment.
 *
 * @param[in] run  Open run.
 * @return Borrowed until the run is closed; NULL for NULL.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_experiment_id(const mlops_run *run);

/**
 * Read the run's status and times from the store.
 *
 * @param[out] status_out    MLOPS_RUN_*, or NULL.
 * @param[out] start_ms_out  Start time, or NULL.
 * @param[out] end_ms_out    End time (0 while running), or NULL.
 * @param[in]  run           Open run.
 * @return MLOPS_OK; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_get_status(uint32_t *status_out, int64_t *start_ms_out,
                                            int64_t *end_ms_out, mlops_run *run);

/**
 * End a run: flush pending metrics, set its status and end time.
 *
 * As in MLflow, an ended run may still be logged to and ended again (its
 * status and end time are then replaced).
 *
 * @param[in] run     Open run.
 * @param[in] status  MLOPS_RUN_FINISHED, MLOPS_RUN_FAILED or MLOPS_RUN_KILLED.
 * @param[in] end_ms  End time; 0: now.
 * @return MLOPS_OK; MLOPS_E_INVALID for another status; MLOPS_E_CONFLICT
 *         if the run is deleted; a background logging error; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_end(mlops_run *run, uint32_t status, int64_t end_ms);

/**
 * Rename a run (also sets the `mlops.runName` tag).
 *
 * @param[in] run   Open run.
 * @param[in] name  New name, a valid tag value. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_CONFLICT if deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_set_name(mlops_run *run, const char *name);

/**
 * Mark a run deleted (soft; restorable). Searches skip it by default.
 *
 * @param[in] store   Open store.
 * @param[in] run_id  Run id.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_delete(mlops_store *store, const char *run_id);

/**
 * Restore a deleted run.
 *
 * @param[in] store   Open store.
 * @param[in] run_id  Run id.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_restore(mlops_store *store, const char *run_id);

/**
 * Log a param. Params are immutable: logging the same value again succeeds,
 * another value fails and the message gives both values.
 *
 * @param[in] run    Open run.
 * @param[in] key    Key (see the file comment). Copied.
 * @param[in] value  UTF-8 value, 0 to 6000 characters. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad key or value; MLOPS_E_CONFLICT
 *         for another value or a deleted run; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_param(mlops_run *run, const char *key, const char *value);

/**
 * Log one metric point, timestamped now by the environment's clock.
 *
 * Synchronous (the point is stored when this returns) unless asynchronous
 * mode is on (mlops_run_set_async()).
 *
 * @param[in] run    Open run.
 * @param[in] key    Key. Copied.
 * @param[in] value  Any double; NaN and infinities are kept.
 * @param[in] step   Any step.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad key; MLOPS_E_CONFLICT if the
 *         run is deleted; an earlier background error in asynchronous mode;
 *         a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_metric(mlops_run *run, const char *key, double value,
                                            int64_t step);

/**
 * Log one metric point with an explicit timestamp.
 *
 * @param[in] run           Open run.
 * @param[in] key           Key. Copied.
 * @param[in] value         Any double.
 * @param[in] step          Any step.
 * @param[in] timestamp_ms  Milliseconds since the epoch (any int64).
 * @return As mlops_run_log_metric().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_metric_at(mlops_run *run, const char *key, double value,
                                               int64_t step, int64_t timestamp_ms);

/**
 * Log many metric points at once, all or nothing, in one store write.
 *
 * @param[in] run     Open run.
 * @param[in] points  Points; keys copied.
 * @param[in] n       Number of points, 0 to 1000.
 * @return MLOPS_OK; MLOPS_E_INVALID naming the first bad point (nothing is
 *         stored); MLOPS_E_TOOBIG above 1000; as mlops_run_log_metric().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_metrics(mlops_run *run, const mlops_metric_point *points,
                                             size_t n);

/**
 * Log metrics, params and tags together, all or nothing (unlike MLflow,
 * which documents partial writes).
 *
 * @param[in] run           Open run.
 * @param[in] metrics       Metric points (may be NULL when n_metrics is 0).
 * @param[in] n_metrics     At most 1000.
 * @param[in] param_keys    Param keys.
 * @param[in] param_values  Param values.
 * @param[in] n_params      At most 100.
 * @param[in] tag_keys      Tag keys.
 * @param[in] tag_values    Tag values.
 * @param[in] n_tags        At most 100.
 * @return MLOPS_OK; MLOPS_E_INVALID naming the first bad item;
 *         MLOPS_E_TOOBIG; MLOPS_E_CONFLICT for a param conflict (nothing is
 *         stored); a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_batch(mlops_run *run, const mlops_metric_point *metrics,
                                           size_t n_metrics, const char *const *param_keys,
                                           const char *const *param_values, size_t n_params,
                                           const char *const *tag_keys,
                                           const char *const *tag_values, size_t n_tags);

/**
 * Set a tag (tags are mutable).
 *
 * @param[in] run    Open run.
 * @param[in] key    Key. Copied.
 * @param[in] value  UTF-8 value, 0 to 5000 characters. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_CONFLICT if deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_set_tag(mlops_run *run, const char *key, const char *value);

/**
 * Delete a tag.
 *
 * @param[in] run  Open run.
 * @param[in] key  Key.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND if the run has no such tag;
 *         MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_delete_tag(mlops_run *run, const char *key);

/**
 * Switch asynchronous metric logging on or off.
 *
 * On: mlops_run_log_metric() and mlops_run_log_metric_at() copy the point
 * into a bounded ring and return; a background thread writes the points in
 * batches. When the ring is full the caller waits for room (no point is
 * dropped). A write error is kept and returned by the next log call,
 * mlops_run_flush(), mlops_run_end() or this function.
 *
 * @param[in] run       Open run.
 * @param[in] capacity  Ring size in points (64 to 16777216); 0: switch off
 *                      (after flushing).
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM; a background error.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_set_async(mlops_run *run, size_t capacity);

/**
 * Wait until every metric point logged so far is stored.
 *
 * @param[in] run  Open run.
 * @return MLOPS_OK; the first background error since the last flush (then cleared).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_flush(mlops_run *run);

/**
 * Latest value of a metric, by MLflow's rule: the point with the largest
 * (step, timestamp, value), NaN ordered above every number.
 *
 * @param[out] value_out  The value.
 * @param[in]  run        Open run.
 * @param[in]  key        Key.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND if never logged; MLOPS_E_INVALID; a
 *         storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_latest_metric(double *value_out, mlops_run *run,
                                               const char *key);

/**
 * Latest point of a metric (value, step and timestamp), by the same rule.
 *
 * @param[out] out  The point.
 * @param[in]  run  Open run.
 * @param[in]  key  Key.
 * @return As mlops_run_latest_metric().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_latest_metric_point(mlops_metric_value *out, mlops_run *run,
                                                     const char *key);

/**
 * Value of a param.
 *
 * @param[out] value_out  The value; release with mlops_string_free(mlops_store_env(store), s).
 * @param[in]  run        Open run.
 * @param[in]  key        Key.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_get_param(char **value_out, mlops_run *run, const char *key);

/**
 * Value of a tag.
 *
 * @param[out] value_out  The value; release with mlops_string_free(mlops_store_env(store), s).
 * @param[in]  run        Open run.
 * @param[in]  key        Key.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_get_tag(char **value_out, mlops_run *run, const char *key);

/**
 * Read a metric's history, in logging order, optionally downsampled.
 *
 * Downsampling sorts by step and keeps @p max_points points at evenly spaced
 * positions, always including the first and the last step (as MLflow's
 * sampled history does).
 *
 * @param[out] out         The history; NULL on failure.
 * @param[in]  run         Open run (pending asynchronous points are flushed first).
 * @param[in]  key         Key.
 * @param[in]  max_points  0: every point; otherwise at least 2.
 * @return MLOPS_OK (an empty history if never logged); MLOPS_E_INVALID; a
 *         storage status.
 * @threadsafety Any thread; the history is one thread per handle.
 * @ownership Release with mlops_metric_history_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_metric_history_open(mlops_metric_history **out, mlops_run *run,
                                                 const char *key, size_t max_points);

/**
 * Number of points in a history.
 *
 * @param[in] h  History, or NULL (0).
 * @return The count.
 * @threadsafety One thread per history.
 * @since 1.0
 */
MLOPS_API size_t mlops_metric_history_count(const mlops_metric_history *h);

/**
 * The points of a history as an array of mlops_metric_history_count() values.
 *
 * @param[in] h  History.
 * @return Borrowed until the history is freed; NULL when empty.
 * @threadsafety One thread per history.
 * @since 1.0
 */
MLOPS_API const mlops_metric_value *mlops_metric_history_points(const mlops_metric_history *h);

/**
 * Release a history.
 *
 * @param[in] h  History, or NULL.
 * @threadsafety One thread per history.
 * @since 1.0
 */
MLOPS_API void mlops_metric_history_free(mlops_metric_history *h);

/* ---- artifacts ---- */

/**
 * Store bytes as an artifact at a logical path (replacing one there).
 *
 * The bytes become a content-addressed blob (XXH3-128 of the bytes, zstd at
 * rest in the file backend), shared by every run that logs the same bytes.
 *
 * @param[in] run   Open run.
 * @param[in] path  Relative logical path ("model/model.bin"): UTF-8 without
 *                  control characters or backslashes, no `.`/`..`/empty
 *                  segments, no leading `/`, at most 1000 bytes. Copied.
 * @param[in] data  Bytes.
 * @param[in] len   Number of bytes.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad path; MLOPS_E_CONFLICT if
 *         deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_artifact_bytes(mlops_run *run, const char *path,
                                                    const void *data, size_t len);

/**
 * Store a local file, or every regular file below a local directory, as
 * artifacts.
 *
 * @param[in] run            Open run.
 * @param[in] local_path     A regular file or a directory (symbolic links
 *                           are followed; other file types are refused).
 * @param[in] artifact_path  Logical path of the file, or of the directory's
 *                           root; NULL: the file's base name, or the root
 *                           for a directory.
 * @return MLOPS_OK; MLOPS_E_INVALID for a non-regular file or bad path;
 *         MLOPS_E_IO (including a file that changed size while read);
 *         MLOPS_E_CONFLICT if deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_artifact(mlops_run *run, const char *local_path,
                                              const char *artifact_path);

/**
 * Content hash (blob id in the run's store) and size of an artifact.
 *
 * @param[out] hash_out  Its blob id, or NULL.
 * @param[out] size_out  Its size in bytes, or NULL.
 * @param[in]  run       Open run.
 * @param[in]  path      Logical path.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_artifact_stat(mlops_hash128 *hash_out, uint64_t *size_out,
                                               mlops_run *run, const char *path);

/**
 * Read an artifact back, byte for byte (verified against its hash).
 *
 * @param[out] out       The bytes; release with mlops_bytes_free().
 * @param[in]  run       Open run.
 * @param[in]  path      Logical path.
 * @param[in]  max_size  Refuse larger artifacts (MLOPS_E_TOOBIG); 0: no limit.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_CORRUPT; MLOPS_E_TOOBIG; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_artifact_read(mlops_bytes *out, mlops_run *run,
                                               const char *path, uint64_t max_size);

/**
 * List a run's artifacts below a path, ordered by path.
 *
 * @param[out] out     The list; NULL on failure.
 * @param[in]  run     Open run.
 * @param[in]  prefix  A logical directory ("model") or file path; NULL or
 *                     "": every artifact.
 * @return MLOPS_OK; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_artifact_list_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_artifact_list_open(mlops_artifact_list **out, mlops_run *run,
                                                const char *prefix);

/**
 * Number of artifacts in a list.
 *
 * @param[in] list  List, or NULL (0).
 * @return The count.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API size_t mlops_artifact_list_count(const mlops_artifact_list *list);

/**
 * Logical path of artifact @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_artifact_list_path(const mlops_artifact_list *list, size_t i);

/**
 * Size of artifact @p i in bytes.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return The size; 0 if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API uint64_t mlops_artifact_list_size(const mlops_artifact_list *list, size_t i);

/**
 * Content hash of artifact @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const mlops_hash128 *mlops_artifact_list_hash(const mlops_artifact_list *list,
                                                        size_t i);

/**
 * Release an artifact list.
 *
 * @param[in] list  List, or NULL.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API void mlops_artifact_list_free(mlops_artifact_list *list);

/* ---- dataset versions ---- */

/**
 * Record a buffer's content hash (XXH3-128) as a dataset input of the run.
 *
 * @param[out] hash_out  The hash, or NULL.
 * @param[in]  run       Open run.
 * @param[in]  name      Dataset name, a valid tag value of 1 to 500 characters. Copied.
 * @param[in]  data      The dataset's bytes.
 * @param[in]  len       Number of bytes.
 * @param[in]  rows      Row count, or -1 if unknown.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_CONFLICT if deleted; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_dataset_bytes(mlops_hash128 *hash_out, mlops_run *run,
                                                   const char *name, const void *data,
                                                   size_t len, int64_t rows);

/**
 * Record a file's content hash (XXH3-128, streamed) as a dataset input.
 *
 * @param[out] hash_out    The hash, or NULL.
 * @param[in]  run         Open run.
 * @param[in]  name        Dataset name; NULL: the file's base name.
 * @param[in]  local_path  A regular file.
 * @param[in]  rows        Row count, or -1 if unknown.
 * @return As mlops_run_log_dataset_bytes(); MLOPS_E_IO; MLOPS_E_INVALID for
 *         a non-regular file.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_log_dataset_file(mlops_hash128 *hash_out, mlops_run *run,
                                                  const char *name, const char *local_path,
                                                  int64_t rows);

/**
 * Number of dataset inputs of a run.
 *
 * @param[out] count_out  The count.
 * @param[in]  run        Open run.
 * @return MLOPS_OK; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_dataset_count(size_t *count_out, mlops_run *run);

/**
 * Dataset input @p index (0-based, in logging order).
 *
 * @param[out] hash_out  Its XXH3-128, or NULL.
 * @param[out] rows_out  Its row count (-1 if unknown), or NULL.
 * @param[out] name_out  Its name, or NULL; release with mlops_string_free().
 * @param[in]  run       Open run.
 * @param[in]  index     Index below the count.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND past the end; MLOPS_E_INVALID; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_dataset_get(mlops_hash128 *hash_out, int64_t *rows_out,
                                             char **name_out, mlops_run *run, size_t index);

/**
 * Release a run handle. Pending asynchronous points are written first (use
 * mlops_run_flush() before to see errors). The run is not ended.
 *
 * @param[in] run  Run, or NULL.
 * @threadsafety Not concurrent with other calls on the same run.
 * @since 1.0
 */
MLOPS_API void mlops_run_close(mlops_run *run);

/* ---- search ---- */

/** Options for mlops_run_search(). */
typedef struct mlops_search_options {
    uint32_t version;                   /**< MLOPS_SEARCH_OPTIONS_VERSION */
    uint32_t view;                      /**< MLOPS_VIEW_*; 0: active */
    const char *const *experiment_ids;  /**< experiments to search; NULL: all */
    size_t n_experiment_ids;            /**< their number */
    const char *filter;                 /**< filter expression, or NULL */
    const char *const *order_by;        /**< "metrics.acc DESC", ... */
    size_t n_order_by;                  /**< their number */
    size_t max_results;                 /**< page size; 0: 1000; at most 50000 */
    const char *page_token;             /**< from a previous page, or NULL */
    /* new fields go here, below all others */
} mlops_search_options;

/** Current version of mlops_search_options. */
#define MLOPS_SEARCH_OPTIONS_VERSION 1
/** Static initializer for mlops_search_options. */
#define MLOPS_SEARCH_OPTIONS_INIT {MLOPS_SEARCH_OPTIONS_VERSION}

/**
 * Initialize search options to their defaults.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_SEARCH_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_search_options_init(mlops_search_options *opts, uint32_t version);

/**
 * Search runs with MLflow's filter grammar, plus OR and parentheses.
 *
 * See docs/tracking.md for the grammar. A malformed filter or order-by
 * fails with MLOPS_E_INVALID and a message giving the position.
 *
 * @param[out] out    The page of runs; NULL on failure.
 * @param[in]  store  Open store.
 * @param[in]  opts   Options, or NULL (all active runs).
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_VERSION; a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_run_list_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_search(mlops_run_list **out, mlops_store *store,
                                        const mlops_search_options *opts);

/**
 * Read one run's data (info, params, tags, latest metrics, datasets) as a
 * list of one.
 *
 * @param[out] out     The list; NULL on failure.
 * @param[in]  store   Open store.
 * @param[in]  run_id  Run id.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND; a storage status.
 * @threadsafety Any thread.
 * @ownership Release with mlops_run_list_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_list_get(mlops_run_list **out, mlops_store *store,
                                          const char *run_id);

/**
 * Number of runs in a list.
 *
 * @param[in] list  List, or NULL (0).
 * @return The count.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API size_t mlops_run_list_count(const mlops_run_list *list);

/**
 * The token of the next page, or NULL if this is the last page.
 *
 * @param[in] list  List.
 * @return Borrowed until the list is freed.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_list_next_page_token(const mlops_run_list *list);

/** Run text field: run id. */
#define MLOPS_RUN_FIELD_ID 1
/** Run text field: experiment id. */
#define MLOPS_RUN_FIELD_EXPERIMENT_ID 2
/** Run text field: run name. */
#define MLOPS_RUN_FIELD_NAME 3
/** Run text field: parent run id ("" if none). */
#define MLOPS_RUN_FIELD_PARENT_ID 4
/** Run text field: user (the `mlops.user` tag, "" if none). */
#define MLOPS_RUN_FIELD_USER 5

/**
 * A text field of run @p i.
 *
 * @param[in] list   List.
 * @param[in] i      Index below the count.
 * @param[in] field  MLOPS_RUN_FIELD_*.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_list_text(const mlops_run_list *list, size_t i, uint32_t field);

/**
 * Status, lifecycle and times of run @p i.
 *
 * @param[out] status_out     MLOPS_RUN_*, or NULL.
 * @param[out] lifecycle_out  MLOPS_LIFECYCLE_*, or NULL.
 * @param[out] start_ms_out   Start time, or NULL.
 * @param[out] end_ms_out     End time (0 while running), or NULL.
 * @param[in]  list           List.
 * @param[in]  i              Index below the count.
 * @return MLOPS_OK; MLOPS_E_INVALID if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_list_info(uint32_t *status_out, uint32_t *lifecycle_out,
                                           int64_t *start_ms_out, int64_t *end_ms_out,
                                           const mlops_run_list *list, size_t i);

/** Item kind: params. */
#define MLOPS_ITEM_PARAM 1
/** Item kind: tags. */
#define MLOPS_ITEM_TAG 2
/** Item kind: latest metrics. */
#define MLOPS_ITEM_METRIC 3
/** Item kind: dataset inputs (key: name; value: hash in hex). */
#define MLOPS_ITEM_DATASET 4

/**
 * Number of items of a kind in run @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Index below the count.
 * @param[in] kind  MLOPS_ITEM_*.
 * @return The count; 0 if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API size_t mlops_run_list_item_count(const mlops_run_list *list, size_t i, uint32_t kind);

/**
 * Key of item @p j (params, tags and metrics are ordered by key; datasets by
 * logging order).
 *
 * @param[in] list  List.
 * @param[in] i     Run index.
 * @param[in] kind  MLOPS_ITEM_*.
 * @param[in] j     Item index.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_list_item_key(const mlops_run_list *list, size_t i,
                                              uint32_t kind, size_t j);

/**
 * Text value of item @p j: a param or tag value, a dataset's hash in hex;
 * NULL for metrics.
 *
 * @param[in] list  List.
 * @param[in] i     Run index.
 * @param[in] kind  MLOPS_ITEM_*.
 * @param[in] j     Item index.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const char *mlops_run_list_item_value(const mlops_run_list *list, size_t i,
                                                uint32_t kind, size_t j);

/**
 * Latest point of metric @p j of run @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Run index.
 * @param[in] j     Metric index.
 * @return Borrowed until the list is freed; NULL if out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API const mlops_metric_value *mlops_run_list_metric(const mlops_run_list *list, size_t i,
                                                          size_t j);

/**
 * Row count of dataset @p j of run @p i.
 *
 * @param[in] list  List.
 * @param[in] i     Run index.
 * @param[in] j     Dataset index.
 * @return The row count; -1 if unknown or out of range.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API int64_t mlops_run_list_dataset_rows(const mlops_run_list *list, size_t i, size_t j);

/**
 * Release a run list.
 *
 * @param[in] list  List, or NULL.
 * @threadsafety One thread per list.
 * @since 1.0
 */
MLOPS_API void mlops_run_list_free(mlops_run_list *list);

/* ---- MLflow interchange ---- */

/**
 * Write runs in MLflow's `mlruns` directory layout (see docs/tracking.md):
 * `DIR/<experiment id>/meta.yaml`, `DIR/<experiment id>/<run id>/meta.yaml`,
 * `metrics/<key>` (lines "timestamp value step"), `params/<key>`,
 * `tags/<key>` and `artifacts/<path>`.
 *
 * @param[out] count_out  Runs written, or NULL.
 * @param[in]  store      Open store.
 * @param[in]  dir        Destination directory (created if missing).
 * @param[in]  run_ids    Runs to write; NULL: every run in the store.
 * @param[in]  n_run_ids  Their number.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOTFOUND for an unknown run;
 *         MLOPS_E_IO; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_export_mlflow(size_t *count_out, mlops_store *store,
                                               const char *dir, const char *const *run_ids,
                                               size_t n_run_ids);

/**
 * Read an MLflow `mlruns` directory into the store. Experiments are matched
 * by name (created if missing); run ids are kept; runs already in the store
 * are skipped.
 *
 * @param[out] count_out  Runs imported, or NULL.
 * @param[in]  store      Open store.
 * @param[in]  dir        An `mlruns` directory.
 * @return MLOPS_OK; MLOPS_E_INVALID for a malformed layout (the message
 *         names the file); MLOPS_E_IO; a storage status.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_run_import_mlflow(size_t *count_out, mlops_store *store,
                                               const char *dir);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_RUN_H */

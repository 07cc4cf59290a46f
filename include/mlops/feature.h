/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_FEATURE_H
#define MLOPS_FEATURE_H

#include "mlops/common.h"
#include "mlops/store.h"

/**
 * @file feature.h
 * @brief Feature store: entities, feature views, point-in-time joins and the online store.
 *
 * Thread rule: a feature store handle (mlops_feature_store) and an online
 * handle (mlops_feature_online) may be used from any thread at once. Views
 * and tables are one thread per handle.
 *
 * Model (as in Feast): an entity has one or more join-key columns; a feature
 * view names the entity's join keys, an event-timestamp column, an optional
 * created-timestamp column, a TTL and typed features. Features are referred
 * to as `view:feature`, or `view@vN:feature` for an older definition.
 *
 * Timestamps are int64 microseconds since the Unix epoch, UTC.
 *
 * The point-in-time rule: for an entity row with key k and timestamp t, and
 * each view, the value comes from the view's row with key k and the largest
 * event timestamp e with `t - ttl <= e <= t` (no lower bound when ttl is 0);
 * among rows with the same e the one with the largest created timestamp
 * wins, then the one ingested last. No such row gives null. Every input row
 * gives exactly one output row, in the input order.
 */

MLOPS_BEGIN_DECL

/** @defgroup feature Feature store
 * @{ */

/** A feature store bound to a store: views, offline data, joins. */
typedef struct mlops_feature_store mlops_feature_store;
/** One version of a feature view's definition. */
typedef struct mlops_feature_view mlops_feature_view;
/** A table of typed columns: ingest input, entity table, join output. */
typedef struct mlops_feature_table mlops_feature_table;
/** The online store: latest value per entity, loaded in process. */
typedef struct mlops_feature_online mlops_feature_online;

/** Column type: int64. */
#define MLOPS_FEATURE_INT64 1u
/** Column type: float64. */
#define MLOPS_FEATURE_FLOAT64 2u
/** Column type: UTF-8 string. */
#define MLOPS_FEATURE_STRING 3u
/** Column type: bool (one byte, 0 or 1). */
#define MLOPS_FEATURE_BOOL 4u
/** Column type: fixed-length float32 vector (an embedding). */
#define MLOPS_FEATURE_FLOAT32_VECTOR 5u

/** Transformation: none; the feature is ingested. */
#define MLOPS_TRANSFORM_NONE 0u
/** On-demand: log(1 + x) of one input. */
#define MLOPS_TRANSFORM_LOG1P 1u
/** On-demand: a / b of two inputs (null when b is 0). */
#define MLOPS_TRANSFORM_RATIO 2u
/** On-demand: index of the bucket of one input; params are the sorted
 *  boundaries; bucket i holds params[i-1] <= x < params[i]. Type int64. */
#define MLOPS_TRANSFORM_BUCKETIZE 3u
/** On-demand: (x - params[0]) / params[1] with a stored mean and std. */
#define MLOPS_TRANSFORM_STANDARDIZE 4u
/** On-demand: a function registered with mlops_feature_store_register(). */
#define MLOPS_TRANSFORM_FUNCTION 5u

/** Online value status: a value is present. */
#define MLOPS_FEATURE_PRESENT 1u
/** Online value status: the entity is known but this value is null. */
#define MLOPS_FEATURE_NULL_VALUE 2u
/** Online value status: no value for this entity. */
#define MLOPS_FEATURE_NOT_FOUND 3u
/** Online value status: the value is older than the view's TTL. */
#define MLOPS_FEATURE_OUTSIDE_MAX_AGE 4u

/** Join flag: also require created timestamp <= t ("as of knowledge"). */
#define MLOPS_JOIN_AS_OF_KNOWLEDGE 0x1u
/** Join flag: name feature columns `view__feature` (Feast's full names). */
#define MLOPS_JOIN_FULL_NAMES 0x2u
/** Join flag: append each view's matched `view__event_timestamp` and
 *  `view__created_timestamp` columns. */
#define MLOPS_JOIN_TIMESTAMPS 0x4u

/** Most join-key columns of an entity. */
#define MLOPS_FEATURE_MAX_KEYS 8
/** Most features of a view. */
#define MLOPS_FEATURE_MAX_FEATURES 1024
/** Longest view, feature or column name, in bytes. */
#define MLOPS_FEATURE_MAX_NAME 128

/**
 * Callback of an on-demand feature of kind MLOPS_TRANSFORM_FUNCTION:
 * compute one value from the row's inputs.
 *
 * @param[out] out      The result.
 * @param[in]  inputs   The inputs, as float64 (int64 and bool converted).
 * @param[in]  n_inputs Their number.
 * @param[in]  payload  As registered.
 * @return 0 with a value; 1 for a null result; any other value stops the
 *         call, which returns MLOPS_E_CALLBACK.
 */
typedef int (*mlops_feature_fn)(double *out, const double *inputs, size_t n_inputs,
                                void *payload);

/** One feature of a view definition (an element of an array; fixed layout). */
typedef struct mlops_feature_spec {
    const char *name;   /**< 1 to MLOPS_FEATURE_MAX_NAME bytes, [A-Za-z0-9_.-], not a column */
    uint32_t type;      /**< MLOPS_FEATURE_*; on-demand features are FLOAT64 (BUCKETIZE: INT64) */
    uint32_t dim;       /**< vector length for FLOAT32_VECTOR (1 to 65536), else 0 */
    uint32_t transform; /**< MLOPS_TRANSFORM_*; NONE for an ingested feature */
    uint32_t reserved;  /**< 0 */
    const char *inputs; /**< comma-separated names of the view's features used as inputs */
    const double *params; /**< parameters of the transformation */
    size_t n_params;      /**< their number */
    const char *function; /**< name of the registered function (TRANSFORM_FUNCTION) */
} mlops_feature_spec;

/** Options of a feature view definition, for mlops_feature_view_apply(). */
typedef struct mlops_feature_view_options {
    uint32_t version;             /**< MLOPS_FEATURE_VIEW_OPTIONS_VERSION */
    uint32_t reserved;            /**< 0 */
    const char *entity;           /**< entity name; NULL: the join keys joined by ',' */
    const char *const *join_keys; /**< join-key column names (1 to MLOPS_FEATURE_MAX_KEYS) */
    size_t n_join_keys;           /**< their number */
    const uint32_t *key_types;    /**< INT64 or STRING per key; NULL: all INT64 */
    const char *timestamp;        /**< event-timestamp column; NULL: "event_timestamp" */
    const char *created;          /**< created-timestamp column, or NULL for none */
    int64_t ttl_us;               /**< time to live in microseconds; 0: unlimited */
    const mlops_feature_spec *features; /**< the features */
    size_t n_features;            /**< their number (1 to MLOPS_FEATURE_MAX_FEATURES) */
    const char *description;      /**< free text, or NULL (not part of the definition hash) */
    const char *tags;             /**< "k=v,k=v" or NULL (not part of the definition hash) */
    /* new fields go here, below all others */
} mlops_feature_view_options;

/** Current version of mlops_feature_view_options. */
#define MLOPS_FEATURE_VIEW_OPTIONS_VERSION 1
/** Static initializer for mlops_feature_view_options. */
#define MLOPS_FEATURE_VIEW_OPTIONS_INIT {MLOPS_FEATURE_VIEW_OPTIONS_VERSION}

/** Options of a point-in-time join, for mlops_feature_store_join(). */
typedef struct mlops_feature_join_options {
    uint32_t version;          /**< MLOPS_FEATURE_JOIN_OPTIONS_VERSION */
    uint32_t flags;            /**< MLOPS_JOIN_* */
    const char *timestamp;     /**< the entity table's timestamp column; NULL: "event_timestamp",
                                    else the first view's timestamp column name */
    uint32_t threads;          /**< worker threads; 0: 2 */
    uint32_t reserved;         /**< 0 */
    /* new fields go here, below all others */
} mlops_feature_join_options;

/** Current version of mlops_feature_join_options. */
#define MLOPS_FEATURE_JOIN_OPTIONS_VERSION 1
/** Static initializer for mlops_feature_join_options. */
#define MLOPS_FEATURE_JOIN_OPTIONS_INIT {MLOPS_FEATURE_JOIN_OPTIONS_VERSION}

/** One value read from the online store (an element of an array; fixed layout). */
typedef struct mlops_feature_value {
    uint32_t status;   /**< MLOPS_FEATURE_PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE */
    uint32_t type;     /**< MLOPS_FEATURE_* */
    int64_t event_us;  /**< event timestamp of the entity's row (0 if NOT_FOUND) */
    int64_t i64;       /**< INT64 and BOOL values */
    double f64;        /**< FLOAT64 values */
    const char *str;   /**< STRING: the text (NUL-terminated); FLOAT32_VECTOR: NULL */
    const float *vec;  /**< FLOAT32_VECTOR: dim floats */
    size_t len;        /**< STRING: bytes; FLOAT32_VECTOR: dim */
} mlops_feature_value;

/**
 * Initialize view options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_FEATURE_VIEW_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_options_init(mlops_feature_view_options *opts,
                                                       uint32_t version);

/**
 * Initialize join options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_FEATURE_JOIN_OPTIONS_VERSION or older.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_join_options_init(mlops_feature_join_options *opts,
                                                       uint32_t version);

/**
 * Open the feature store of a store (keys under "f/").
 *
 * @param[out] out    The handle; NULL on failure.
 * @param[in]  store  Open store. Kept alive.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_feature_store_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_store_open(mlops_feature_store **out, mlops_store *store);

/**
 * Register the function used by on-demand features of kind
 * MLOPS_TRANSFORM_FUNCTION that name it. The same function then runs in
 * joins and in online reads of this handle.
 *
 * @param[in] fs       Feature store.
 * @param[in] name     1 to MLOPS_FEATURE_MAX_NAME bytes. Copied.
 * @param[in] fn       The function; NULL removes the registration.
 * @param[in] payload  Passed to fn.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_store_register(mlops_feature_store *fs, const char *name,
                                                    mlops_feature_fn fn, void *payload);

/**
 * Create a view or change its definition. The schema (keys, timestamps,
 * TTL, features, transformations) is hashed with XXH3: a different hash
 * makes a new version N+1 and keeps the old ones readable as `view@vN`;
 * the same hash keeps the version (description and tags are updated).
 *
 * @param[out] out   The view at its new current version, or NULL to not open it.
 * @param[in]  fs    Feature store.
 * @param[in]  name  View name: 1 to MLOPS_FEATURE_MAX_NAME bytes of [A-Za-z0-9_.-].
 * @param[in]  opts  The definition. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad name, type, key or transformation
 *         (the message names it); MLOPS_E_VERSION; MLOPS_E_CONFLICT if another
 *         writer changed the view at the same time; a store error.
 * @threadsafety Any thread.
 * @ownership Release @p out with mlops_feature_view_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_apply(mlops_feature_view **out,
                                                mlops_feature_store *fs, const char *name,
                                                const mlops_feature_view_options *opts);

/**
 * Open a view: "name" for the current version, "name@vN" for version N.
 *
 * @param[out] out   The view; NULL on failure.
 * @param[in]  fs    Feature store.
 * @param[in]  name  View name with an optional "@vN".
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CORRUPT; a store error.
 * @threadsafety Any thread.
 * @ownership Release with mlops_feature_view_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_open(mlops_feature_view **out,
                                               mlops_feature_store *fs, const char *name);

/**
 * The names of all views, one per line in name order.
 *
 * @param[out] out  The text ("" if none); release with mlops_string_free()
 *                  using the store's env.
 * @param[in]  fs   Feature store.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM; a store error.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_store_list(char **out, mlops_feature_store *fs);

/**
 * Append rows to a view's offline store, atomically: the rows become one or
 * more immutable columnar segments (zstd-compressed, checksummed blobs) that
 * appear together or not at all. The table needs the join keys, the event
 * timestamp, the created timestamp (if the view has one) and every ingested
 * feature; other columns are ignored. STRING columns (as read from CSV) are
 * parsed into the view's types: timestamps as integer or fractional epoch
 * seconds or RFC 3339 text.
 *
 * @param[out] rows_out  Rows ingested, or NULL.
 * @param[in]  view      The current version of a view.
 * @param[in]  table     The rows. Not changed.
 * @return MLOPS_OK; MLOPS_E_INVALID for a missing column, a null key or
 *         timestamp, or a value that does not parse (the message gives the
 *         line and column); MLOPS_E_CONFLICT if @p view is not the current
 *         version or the definition changed during the ingest (nothing is
 *         ingested); a store error.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_ingest(uint64_t *rows_out, mlops_feature_view *view,
                                                 const mlops_feature_table *table);

/**
 * Append the rows of a CSV file (RFC 4180, with a header) to a view, as
 * mlops_feature_view_ingest() does, reading the file in chunks.
 *
 * @param[out] rows_out  Rows ingested, or NULL.
 * @param[in]  view      The current version of a view.
 * @param[in]  path      The file.
 * @param[in]  progress  Called after each chunk with the rows read so far
 *                       (non-zero stops: MLOPS_E_CALLBACK), or NULL.
 * @param[in]  payload   Passed to progress.
 * @return As mlops_feature_view_ingest(); MLOPS_E_IO if the file cannot be read;
 *         MLOPS_E_INVALID for malformed CSV (line and column in the message).
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_ingest_csv(uint64_t *rows_out,
                                                     mlops_feature_view *view, const char *path,
                                                     int (*progress)(uint64_t rows,
                                                                     void *payload),
                                                     void *payload);

/**
 * The view's name.
 *
 * @param[in] view  View.
 * @return The name. Borrowed until the view is closed.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API const char *mlops_feature_view_name(const mlops_feature_view *view);

/**
 * The definition version number of the view handle (1, 2, ...).
 *
 * @param[in] view  View.
 * @return The version.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API uint32_t mlops_feature_view_version(const mlops_feature_view *view);

/**
 * The definition hash (XXH3-64 of the schema) as 16 hex digits.
 *
 * @param[in] view  View.
 * @return The hash text. Borrowed until the view is closed.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API const char *mlops_feature_view_hash(const mlops_feature_view *view);

/**
 * The latest definition version of the view in the store.
 *
 * @param[in] view  View.
 * @return The version number, or 0 if it cannot be read.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API uint32_t mlops_feature_view_latest_version(const mlops_feature_view *view);

/**
 * The definition as JSON: name, version, hash, entity, join keys, timestamps,
 * TTL, features with types and transformations, description, tags, and the
 * offline rows and segments stored.
 *
 * @param[out] out   The text; release with mlops_string_free() using the store's env.
 * @param[in]  view  View.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM; a store error.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_view_describe(char **out, const mlops_feature_view *view);

/**
 * Release a view handle.
 *
 * @param[in] view  View, or NULL.
 * @threadsafety One thread per view.
 * @since 1.0
 */
MLOPS_API void mlops_feature_view_close(mlops_feature_view *view);

/**
 * Point-in-time join (Feast's get_historical_features): one output row per
 * row of @p entities, in the same order, with the entity table's columns
 * kept and one column per ref appended (named as the feature, or
 * `view__feature` with MLOPS_JOIN_FULL_NAMES). The rule is in this file's
 * description; MLOPS_JOIN_AS_OF_KNOWLEDGE also requires the created
 * timestamp to be <= t.
 *
 * @param[out] out       The joined table; NULL on failure.
 * @param[in]  fs        Feature store.
 * @param[in]  entities  Entity table: each view's join keys and a timestamp
 *                       column (INT64 microseconds, or STRING to parse).
 * @param[in]  refs      Feature refs, "view:feature" or "view@vN:feature".
 * @param[in]  n_refs    Their number, at least 1.
 * @param[in]  opts      Options, or NULL for defaults.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND for an unknown view or feature;
 *         MLOPS_E_INVALID for a missing or mistyped column or an unparsable
 *         value (line and column named); MLOPS_E_CALLBACK if a registered
 *         function stopped; MLOPS_E_CORRUPT; MLOPS_E_NOMEM; a store error.
 * @threadsafety Any thread.
 * @ownership Release @p out with mlops_feature_table_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_store_join(mlops_feature_table **out,
                                                mlops_feature_store *fs,
                                                const mlops_feature_table *entities,
                                                const char *const *refs, size_t n_refs,
                                                const mlops_feature_join_options *opts);

/**
 * Time-range read: without an entity table, the latest row per entity with
 * an event timestamp in [start_us, end_us] (ties as in the join), for refs
 * of one view. The output has the view's join keys, its event timestamp
 * column and one column per ref.
 *
 * @param[out] out       The table; NULL on failure.
 * @param[in]  fs        Feature store.
 * @param[in]  refs      Feature refs of one view.
 * @param[in]  n_refs    Their number, at least 1.
 * @param[in]  start_us  Window start (inclusive).
 * @param[in]  end_us    Window end (inclusive).
 * @return As mlops_feature_store_join(); MLOPS_E_INVALID if refs name several views.
 * @threadsafety Any thread.
 * @ownership Release @p out with mlops_feature_table_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_store_latest(mlops_feature_table **out,
                                                  mlops_feature_store *fs,
                                                  const char *const *refs, size_t n_refs,
                                                  int64_t start_us, int64_t end_us);

/**
 * Release a feature store handle.
 *
 * @param[in] fs  Handle, or NULL.
 * @threadsafety Not concurrent with other calls on the same handle.
 * @since 1.0
 */
MLOPS_API void mlops_feature_store_close(mlops_feature_store *fs);

/**
 * Create an empty table.
 *
 * @param[out] out  The table; NULL on failure.
 * @param[in]  env  Environment, or NULL. Kept alive.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_feature_table_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_table_create(mlops_feature_table **out, mlops_env *env);

/**
 * Add a column. The first column fixes the row count; later ones must match.
 *
 * @param[in] t      Table.
 * @param[in] name   Column name, unique in the table. Copied.
 * @param[in] type   MLOPS_FEATURE_*.
 * @param[in] dim    Vector length for FLOAT32_VECTOR, else 0.
 * @param[in] data   n_rows values: int64_t, double, uint8_t (BOOL), float
 *                   (n_rows * dim), or `const char *` (STRING; a NULL entry is
 *                   null). Copied.
 * @param[in] valid  n_rows bytes, 0 for null; NULL: all present. Copied.
 * @param[in] n_rows Number of rows.
 * @return MLOPS_OK; MLOPS_E_INVALID for a bad type, a duplicate name, a row
 *         count that differs or invalid UTF-8; MLOPS_E_NOMEM.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_table_add_column(mlops_feature_table *t, const char *name,
                                                      uint32_t type, uint32_t dim,
                                                      const void *data, const uint8_t *valid,
                                                      size_t n_rows);

/**
 * Read a CSV file (RFC 4180: a header line, quotes, embedded commas,
 * quotes and newlines; LF or CRLF) into a table of STRING columns; an empty
 * unquoted cell is null. Each row remembers its line for error messages.
 *
 * @param[out] out   The table; NULL on failure.
 * @param[in]  env   Environment, or NULL.
 * @param[in]  path  The file.
 * @return MLOPS_OK; MLOPS_E_IO; MLOPS_E_INVALID for malformed CSV (line and
 *         column in the message) or invalid UTF-8; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_feature_table_free().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_table_read_csv(mlops_feature_table **out, mlops_env *env,
                                                    const char *path);

/**
 * Write a table as CSV (RFC 4180 quoting where needed; null as an empty
 * cell; float64 with round-trip precision; vectors as "[a,b,...]").
 *
 * @param[in] t     Table.
 * @param[in] path  The file, replaced.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_IO.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_table_write_csv(const mlops_feature_table *t,
                                                     const char *path);

/**
 * Number of rows.
 *
 * @param[in] t  Table.
 * @return The count (0 for NULL).
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API size_t mlops_feature_table_rows(const mlops_feature_table *t);

/**
 * Number of columns.
 *
 * @param[in] t  Table.
 * @return The count (0 for NULL).
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API size_t mlops_feature_table_columns(const mlops_feature_table *t);

/**
 * Describe a column.
 *
 * @param[out] type_out  MLOPS_FEATURE_*, or NULL.
 * @param[out] dim_out   Vector length (0 unless FLOAT32_VECTOR), or NULL.
 * @param[in]  t         Table.
 * @param[in]  col       Column index.
 * @return The column name (borrowed until the table is freed), or NULL if
 *         @p col is out of range.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API const char *mlops_feature_table_column(uint32_t *type_out, uint32_t *dim_out,
                                                 const mlops_feature_table *t, size_t col);

/**
 * Index of a column by name.
 *
 * @param[out] col_out  The index.
 * @param[in]  t        Table.
 * @param[in]  name     Column name.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_table_find(size_t *col_out, const mlops_feature_table *t,
                                                const char *name);

/**
 * The values of a fixed-width column: int64_t, double, uint8_t (BOOL) or
 * float (rows * dim) per row. Null rows hold 0.
 *
 * @param[in] t    Table.
 * @param[in] col  Column index.
 * @return The array (borrowed until the table is freed), or NULL for a
 *         STRING column or a bad index.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API const void *mlops_feature_table_data(const mlops_feature_table *t, size_t col);

/**
 * Validity of a column's rows: 1 present, 0 null.
 *
 * @param[in] t    Table.
 * @param[in] col  Column index.
 * @return rows bytes (borrowed until the table is freed), or NULL when
 *         every row is present (or for a bad index).
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API const uint8_t *mlops_feature_table_valid(const mlops_feature_table *t, size_t col);

/**
 * One cell of a STRING column.
 *
 * @param[out] len_out  Its length in bytes, or NULL.
 * @param[in]  t        Table.
 * @param[in]  col      Column index.
 * @param[in]  row      Row index.
 * @return The NUL-terminated text (borrowed until the table is freed), or
 *         NULL for a null cell, a non-STRING column or a bad index.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API const char *mlops_feature_table_string(size_t *len_out, const mlops_feature_table *t,
                                                 size_t col, size_t row);

/**
 * Release a table.
 *
 * @param[in] t  Table, or NULL.
 * @threadsafety One thread per table.
 * @since 1.0
 */
MLOPS_API void mlops_feature_table_free(mlops_feature_table *t);

/**
 * Open the online store: the latest value per entity of each view, kept in
 * an online store (a separate store handle; mem: in a serving process)
 * and loaded into an in-process hash table on first use of each view.
 *
 * @param[out] out     The handle; NULL on failure.
 * @param[in]  fs      Feature store (definitions and offline data). Kept alive.
 * @param[in]  online  The online store. Kept alive.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership Release with mlops_feature_online_close().
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_online_open(mlops_feature_online **out,
                                                 mlops_feature_store *fs, mlops_store *online);

/**
 * Write the latest row per entity with an event timestamp in
 * [start_us, end_us] of a view's offline data into the online store.
 * Writes are monotonic by event time: a row older than what the online
 * store holds for its entity is skipped. Records end_us as the view's last
 * materialized end.
 *
 * @param[out] written_out  Entities written, or NULL.
 * @param[in]  on           Online handle.
 * @param[in]  view         View name (current version).
 * @param[in]  start_us     Window start (inclusive).
 * @param[in]  end_us       Window end (inclusive), >= start_us.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND; MLOPS_E_INVALID; MLOPS_E_CORRUPT;
 *         MLOPS_E_NOMEM; a store error.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_online_materialize(uint64_t *written_out,
                                                        mlops_feature_online *on,
                                                        const char *view, int64_t start_us,
                                                        int64_t end_us);

/**
 * Materialize from the view's last materialized end (or, if it was never
 * materialized, from now - TTL by the environment's clock) to end_us.
 *
 * @param[out] written_out  Entities written, or NULL.
 * @param[in]  on           Online handle.
 * @param[in]  view         View name.
 * @param[in]  end_us       Window end (inclusive).
 * @return As mlops_feature_online_materialize(); MLOPS_E_INVALID if the view
 *         was never materialized and has no TTL (the message says so).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_online_materialize_incremental(uint64_t *written_out,
                                                                    mlops_feature_online *on,
                                                                    const char *view,
                                                                    int64_t end_us);

/**
 * Write rows straight to the online store (a push source), monotonic by
 * event time as materialization is. The table holds the view's join keys,
 * its event timestamp and any of its ingested features (missing ones are
 * null).
 *
 * @param[out] written_out  Entities written, or NULL.
 * @param[in]  on           Online handle.
 * @param[in]  view         View name.
 * @param[in]  table        The rows.
 * @return As mlops_feature_online_materialize().
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_online_push(uint64_t *written_out,
                                                 mlops_feature_online *on, const char *view,
                                                 const mlops_feature_table *table);

/**
 * Read features of a batch of entities. Entities are given as text values of
 * named key columns; each ref's view takes the keys it needs by name.
 * TTL is enforced: a value older than now - ttl is OUTSIDE_MAX_AGE.
 * On-demand features are computed by the same code as in joins.
 *
 * @param[out] out         n_entities * n_refs values, row-major (entity, then ref).
 *                         STRING and vector pointers are borrowed until the next
 *                         write through this handle or its close.
 * @param[in]  on          Online handle.
 * @param[in]  refs        Feature refs.
 * @param[in]  n_refs      Their number.
 * @param[in]  key_names   Names of the key columns.
 * @param[in]  n_key_names Their number.
 * @param[in]  key_values  n_entities * n_key_names texts, row-major.
 * @param[in]  n_entities  Number of entities.
 * @return MLOPS_OK; MLOPS_E_NOTFOUND for an unknown view or feature;
 *         MLOPS_E_INVALID for a missing key column or a key that does not parse;
 *         MLOPS_E_CALLBACK; MLOPS_E_CORRUPT; MLOPS_E_NOMEM; a store error.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_feature_online_get(mlops_feature_value *out,
                                                mlops_feature_online *on,
                                                const char *const *refs, size_t n_refs,
                                                const char *const *key_names, size_t n_key_names,
                                                const char *const *key_values,
                                                size_t n_entities);

/**
 * Release an online handle.
 *
 * @param[in] on  Handle, or NULL.
 * @threadsafety Not concurrent with other calls on the same handle.
 * @since 1.0
 */
MLOPS_API void mlops_feature_online_close(mlops_feature_online *on);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_FEATURE_H */

/* SPDX-License-Identifier: MIT */
#ifndef MLOPS_COMMON_H
#define MLOPS_COMMON_H

/**
 * @file common.h
 * @brief Version, status codes, error messages, the environment and byte buffers.
 *
 * Thread rule: every function here may be called from any thread. The last
 * error message is kept per thread.
 */

#include <stddef.h>
#include <stdint.h>

/** @cond INTERNAL */
#ifdef __cplusplus
#define MLOPS_BEGIN_DECL extern "C" {
#define MLOPS_END_DECL }
#else
#define MLOPS_BEGIN_DECL
#define MLOPS_END_DECL
#endif

#if defined(_WIN32)
#if defined(MLOPS_BUILDING)
#define MLOPS_API __declspec(dllexport)
#else
#define MLOPS_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define MLOPS_API __attribute__((visibility("default")))
#else
#define MLOPS_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MLOPS_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define MLOPS_DEPRECATED(msg)
#endif
/** @endcond */

MLOPS_BEGIN_DECL

/** @defgroup version Version
 * @{ */

/** Major version of the headers; the soname follows it. */
#define MLOPS_VERSION_MAJOR 1
/** Minor version of the headers: new symbols, no breaks. */
#define MLOPS_VERSION_MINOR 0
/** Patch version of the headers. */
#define MLOPS_VERSION_PATCH 0
/** The header version as one number: major * 10000 + minor * 100 + patch. */
#define MLOPS_VERSION_NUMBER                                                                       \
    (MLOPS_VERSION_MAJOR * 10000 + MLOPS_VERSION_MINOR * 100 + MLOPS_VERSION_PATCH)
/** The header version as text. */
#define MLOPS_VERSION_STRING "1.0.0"

/**
 * Version of the library that is running, as MLOPS_VERSION_NUMBER computes it.
 *
 * A host compares it with MLOPS_VERSION_NUMBER to detect a header/library
 * mismatch: the major parts must be equal and the library's minor part must
 * be at least the header's.
 *
 * @return The running library's version number.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API uint32_t mlops_version(void);

/**
 * Version of the library that is running, as text ("1.0.0").
 *
 * @return A static string. Borrowed for the life of the process.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_version_string(void);

/** @} */

/** @defgroup status Status codes and error messages
 * @{ */

/**
 * Result of every fallible call: MLOPS_OK (0) or a negative MLOPS_E_* code.
 * Values never change; a retired code keeps its number.
 */
typedef int32_t mlops_status;

/** Success. */
#define MLOPS_OK 0
/** An argument is invalid (NULL handle, bad name, bad option). */
#define MLOPS_E_INVALID (-1)
/** The named object does not exist. */
#define MLOPS_E_NOTFOUND (-2)
/** An object with that name or id already exists. */
#define MLOPS_E_EXISTS (-3)
/** A precondition failed, or an immutable value was set to another value. */
#define MLOPS_E_CONFLICT (-4)
/** Stored data failed a checksum or does not decode. */
#define MLOPS_E_CORRUPT (-5)
/** The operating system reported an I/O error. */
#define MLOPS_E_IO (-6)
/** An allocation failed. */
#define MLOPS_E_NOMEM (-7)
/** A format or options version this library does not support. */
#define MLOPS_E_VERSION (-8)
/** The operation is not supported by this build or backend. */
#define MLOPS_E_UNSUPPORTED (-9)
/** A storage server or host-supplied backend failed. */
#define MLOPS_E_BACKEND (-10)
/** A user callback returned non-zero and stopped the call. */
#define MLOPS_E_CALLBACK (-11)
/** An internal invariant failed; please report it. */
#define MLOPS_E_INTERNAL (-12)
/** A size or count limit was exceeded. */
#define MLOPS_E_TOOBIG (-13)
/** A lock could not be taken in time, or a re-entrant call was refused. */
#define MLOPS_E_BUSY (-14)
/** The disk is full. */
#define MLOPS_E_NOSPC (-15)
/** Not enough data to compute a statistic. */
#define MLOPS_E_INSUFFICIENT (-16)
/** The handle was closed or is poisoned by an earlier fatal error. */
#define MLOPS_E_CLOSED (-17)
/** One past the most negative status code defined by this header. */
#define MLOPS_E__LAST (-18)

/**
 * Fixed English text for a status code ("invalid argument").
 *
 * @param[in] st  Any value; unknown values give "unknown status".
 * @return A static string. Borrowed for the life of the process.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_status_str(mlops_status st);

/**
 * Short symbolic name of a status code ("MLOPS_E_INVALID").
 *
 * @param[in] st  Any value; unknown values give "MLOPS_E_UNKNOWN".
 * @return A static string. Borrowed for the life of the process.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_status_name(mlops_status st);

/**
 * The message of the last failed call on this thread.
 *
 * Success leaves the message alone, so test the status, never the message.
 *
 * @return A thread-local string (never NULL). Borrowed until the next
 *         failing call on this thread.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API const char *mlops_error_message(void);

/**
 * The status of the last failed call on this thread (MLOPS_OK if none).
 *
 * @return The status code recorded with the last message.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_error_status(void);

/**
 * Record an error for this thread; for backends and bindings.
 *
 * @param[in] st       The status being reported.
 * @param[in] message  UTF-8 text, truncated to 511 bytes. Copied. NULL
 *                     stores the status's fixed text.
 * @return @p st, so a backend can write `return mlops_error_set(...)`.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_error_set(mlops_status st, const char *message);

/** @} */

/** @defgroup env The environment: allocator, clock, log
 * @{ */

/** An environment: allocator, clock and log callback shared by handles. */
typedef struct mlops_env mlops_env;

/** Allocate @p size bytes; return NULL on failure. */
typedef void *(*mlops_malloc_fn)(size_t size, void *payload);
/** Resize a block; on failure return NULL and leave @p ptr valid. */
typedef void *(*mlops_realloc_fn)(void *ptr, size_t size, void *payload);
/** Release a block from the two functions above (NULL is allowed). */
typedef void (*mlops_free_fn)(void *ptr, void *payload);
/** Current time in nanoseconds since the Unix epoch, UTC. */
typedef int64_t (*mlops_clock_fn)(void *payload);
/** Receive one log line (UTF-8, no newline) at a level MLOPS_LOG_*. */
typedef void (*mlops_log_fn)(uint32_t level, const char *message, void *payload);

/** Log level: failures the host should see. */
#define MLOPS_LOG_ERROR 1
/** Log level: something unusual that was handled (a dropped torn tail). */
#define MLOPS_LOG_WARN 2
/** Log level: lifecycle events (store opened, compaction done). */
#define MLOPS_LOG_INFO 3
/** Log level: detail for debugging. */
#define MLOPS_LOG_DEBUG 4

/** Options for mlops_env_create(). */
typedef struct mlops_env_options {
    uint32_t version;             /**< MLOPS_ENV_OPTIONS_VERSION */
    mlops_malloc_fn malloc_fn;    /**< NULL: the C allocator (all three or none) */
    mlops_realloc_fn realloc_fn;  /**< NULL: the C allocator */
    mlops_free_fn free_fn;        /**< NULL: the C allocator */
    void *alloc_payload;          /**< passed to the three allocator functions */
    mlops_clock_fn clock_fn;      /**< NULL: the system clock (CLOCK_REALTIME) */
    void *clock_payload;          /**< passed to clock_fn */
    mlops_log_fn log_fn;          /**< NULL: no logging */
    void *log_payload;            /**< passed to log_fn */
    uint32_t log_level;           /**< 0: MLOPS_LOG_WARN; higher levels are dropped */
    /* new fields go here, below all others */
} mlops_env_options;

/** Current version of mlops_env_options. */
#define MLOPS_ENV_OPTIONS_VERSION 1
/** Static initializer for mlops_env_options. */
#define MLOPS_ENV_OPTIONS_INIT {MLOPS_ENV_OPTIONS_VERSION}

/**
 * Initialize options to their defaults for a given version.
 *
 * @param[out] opts     Options to fill.
 * @param[in]  version  MLOPS_ENV_OPTIONS_VERSION, or an older version.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p opts is NULL; MLOPS_E_VERSION for
 *         an unknown version.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_env_options_init(mlops_env_options *opts, uint32_t version);

/**
 * Create an environment.
 *
 * @param[out] out   The new environment; NULL on failure.
 * @param[in]  opts  Options, or NULL for all defaults. Copied.
 * @return MLOPS_OK; MLOPS_E_INVALID for a partial allocator; MLOPS_E_VERSION
 *         for an unknown options version; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @ownership The caller releases it with mlops_env_free(); handles opened
 *            with it keep it alive, so it may be freed before them.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_env_create(mlops_env **out, const mlops_env_options *opts);

/**
 * Read the environment's clock.
 *
 * @param[in] env  Environment, or NULL for the system clock.
 * @return Nanoseconds since the Unix epoch, UTC.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API int64_t mlops_env_now_ns(const mlops_env *env);

/**
 * Release the caller's reference to an environment.
 *
 * @param[in] env  Environment, or NULL (no effect).
 * @threadsafety Not concurrent with other calls on the same env by the caller.
 * @since 1.0
 */
MLOPS_API void mlops_env_free(mlops_env *env);

/** @} */

/** @defgroup bytes Byte buffers
 * @{ */

/** Bytes returned by the library; release them with mlops_bytes_free(). */
typedef struct mlops_bytes {
    uint8_t *data;  /**< the bytes (NULL when len is 0 and nothing was allocated) */
    size_t len;     /**< number of bytes */
    mlops_env *env; /**< the environment whose allocator owns data (NULL: C allocator) */
} mlops_bytes;

/**
 * Copy bytes into a new library-owned buffer; for backends.
 *
 * A NUL byte is appended after the data (not counted in len) so text can be
 * used as a C string.
 *
 * @param[out] out   Receives the copy; zeroed on failure.
 * @param[in]  env   Environment whose allocator to use, or NULL.
 * @param[in]  data  Bytes to copy (may be NULL when len is 0).
 * @param[in]  len   Number of bytes.
 * @return MLOPS_OK; MLOPS_E_INVALID; MLOPS_E_NOMEM.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_bytes_set(mlops_bytes *out, mlops_env *env, const void *data,
                                       size_t len);

/**
 * Release a buffer returned by the library and zero the struct.
 *
 * @param[in] b  Buffer, or NULL (no effect).
 * @threadsafety One thread per buffer.
 * @since 1.0
 */
MLOPS_API void mlops_bytes_free(mlops_bytes *b);

/**
 * Release a string returned by the library (a `char **out` result).
 *
 * @param[in] env  The environment the string was made with (NULL if none).
 * @param[in] s    String, or NULL (no effect).
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API void mlops_string_free(mlops_env *env, char *s);

/** @} */

/** @defgroup hash Content hashes (XXH3)
 * @{ */

/** A 128-bit XXH3 hash, as bytes in canonical (big-endian) order. */
typedef struct mlops_hash128 {
    uint8_t bytes[16]; /**< canonical big-endian form */
} mlops_hash128;

/** Length of a 128-bit hash in hex, without the NUL. */
#define MLOPS_HASH128_HEX_LEN 32

/**
 * XXH3-64 of a buffer.
 *
 * @param[in] data  Bytes (may be NULL when len is 0).
 * @param[in] len   Number of bytes.
 * @param[in] seed  Seed (0 for the plain hash).
 * @return The hash.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API uint64_t mlops_hash64(const void *data, size_t len, uint64_t seed);

/**
 * XXH3-128 of a buffer, in canonical form.
 *
 * @param[out] out   The hash.
 * @param[in]  data  Bytes (may be NULL when len is 0).
 * @param[in]  len   Number of bytes.
 * @return MLOPS_OK; MLOPS_E_INVALID if @p out is NULL.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_hash128_of(mlops_hash128 *out, const void *data, size_t len);

/**
 * Format a 128-bit hash as 32 lowercase hex digits and a NUL.
 *
 * @param[out] out  At least MLOPS_HASH128_HEX_LEN + 1 bytes.
 * @param[in]  h    The hash.
 * @return MLOPS_OK; MLOPS_E_INVALID for NULL arguments.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_hash128_to_hex(char *out, const mlops_hash128 *h);

/**
 * Parse 32 lowercase hex digits into a 128-bit hash.
 *
 * @param[out] out  The hash.
 * @param[in]  hex  NUL-terminated text.
 * @return MLOPS_OK; MLOPS_E_INVALID if the text is not exactly 32 lowercase
 *         hex digits.
 * @threadsafety Any thread.
 * @since 1.0
 */
MLOPS_API mlops_status mlops_hash128_from_hex(mlops_hash128 *out, const char *hex);

/** @} */

MLOPS_END_DECL

#endif /* MLOPS_COMMON_H */

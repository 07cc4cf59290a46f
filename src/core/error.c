/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Fixed-size and thread-local, so reporting out-of-memory never allocates. */
static _Thread_local char tls_message[512];
static _Thread_local mlops_status tls_status;

static const struct {
    const char *name;
    const char *text;
} status_table[] = {
    {"MLOPS_OK", "ok"},
    {"MLOPS_E_INVALID", "invalid argument"},
    {"MLOPS_E_NOTFOUND", "not found"},
    {"MLOPS_E_EXISTS", "already exists"},
    {"MLOPS_E_CONFLICT", "conflict: a precondition failed or an immutable value differs"},
    {"MLOPS_E_CORRUPT", "corrupt data"},
    {"MLOPS_E_IO", "input/output error"},
    {"MLOPS_E_NOMEM", "out of memory"},
    {"MLOPS_E_VERSION", "unsupported version"},
    {"MLOPS_E_UNSUPPORTED", "not supported by this build or backend"},
    {"MLOPS_E_BACKEND", "storage backend failure"},
    {"MLOPS_E_CALLBACK", "stopped by a callback"},
    {"MLOPS_E_INTERNAL", "internal error"},
    {"MLOPS_E_TOOBIG", "a size or count limit was exceeded"},
    {"MLOPS_E_BUSY", "busy: a lock could not be taken in time"},
    {"MLOPS_E_NOSPC", "no space left on the device"},
    {"MLOPS_E_INSUFFICIENT", "not enough data for the statistic"},
    {"MLOPS_E_CLOSED", "the handle is closed or poisoned"},
};

const char *mlops_status_str(mlops_status st)
{
    if (st > 0 || st <= MLOPS_E__LAST)
        return "unknown status";
    return status_table[-st].text;
}

const char *mlops_status_name(mlops_status st)
{
    if (st > 0 || st <= MLOPS_E__LAST)
        return "MLOPS_E_UNKNOWN";
    return status_table[-st].name;
}

const char *mlops_error_message(void)
{
    return tls_message;
}

mlops_status mlops_error_status(void)
{
    return tls_status;
}

mlops_status mlops_error_set(mlops_status st, const char *message)
{
    /* the message may be this thread's own buffer (a caller re-setting it) */
    char tmp[sizeof(tls_message)];
    snprintf(tmp, sizeof(tmp), "%s", message ? message : mlops_status_str(st));
    memcpy(tls_message, tmp, sizeof(tmp));
    tls_status = st;
    return st;
}

mlops_status mlops__error(mlops_status st, const char *fmt, ...)
{
    /* format into a copy: the arguments may include the current message */
    char tmp[sizeof(tls_message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    memcpy(tls_message, tmp, sizeof(tmp));
    tls_status = st;
    return st;
}

mlops_status mlops__nomem(void)
{
    tls_status = MLOPS_E_NOMEM;
    snprintf(tls_message, sizeof(tls_message), "out of memory");
    return MLOPS_E_NOMEM;
}

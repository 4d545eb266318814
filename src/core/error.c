/* error.c - per-handle error state: a code and a one-line message; the
 * library version. */
#include "core/core.h"

#include <string.h>

const char *mlpc_status_str(mlpc_status s)
{
    switch (s) {
    case MLPC_OK: return "ok";
    case MLPC_ERR_ARG: return "invalid argument";
    case MLPC_ERR_IO: return "I/O error";
    case MLPC_ERR_FORMAT: return "format error";
    case MLPC_ERR_NOMEM: return "out of memory";
    case MLPC_ERR_SHAPE: return "shape mismatch";
    case MLPC_ERR_DIVERGED: return "diverged";
    case MLPC_ERR_STOPPED: return "stopped";
    case MLPC_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

mlpc_status mlpc_seterr(mlpc_error *e, mlpc_status code, const char *fmt, ...)
{
    if (!e) return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* keep it one line */
    for (char *p = e->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

void mlpc_clearerr(mlpc_error *e)
{
    if (!e) return;
    e->code = MLPC_OK;
    e->msg[0] = '\0';
}

int mlpc_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

const char *mlpc_version(void) { return MLPC_VERSION_STRING; }

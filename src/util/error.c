/* error.c: filling nm_err. */
#include <stdarg.h>
#include <stdio.h>

#include "neuromic/error.h"

nm_status nm_err_set(nm_err *err, nm_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

nm_status nm_err_at(nm_err *err, const char *file, int line, int col, const char *fmt, ...)
{
    if (err) {
        int n = snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", file, line, col);
        if (n < 0 || (size_t)n >= sizeof err->msg)
            n = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
        va_end(ap);
        err->code = NM_ERR_INPUT;
    }
    return NM_ERR_INPUT;
}

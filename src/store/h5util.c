/* h5util.c: HDF5 error messages, silencing and string types for the store. */
#include "h5util.h"
#include "neuromic/internal/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The innermost HDF5 message. The file drivers put the OS error into a
 * long description ("file write failed: time = ..., errno = 28, error
 * message = 'No space left on device', buf = ..."); of that, only what
 * failed and the OS's words are kept. */
static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    char *why = data;
    if (n != 0)
        return 0;
    char desc[256] = "";
    if (e->desc && e->desc[0])
        snprintf(desc, sizeof desc, "%s", e->desc);
    else
        H5Eget_msg(e->min_num, NULL, desc, sizeof desc);
    const char *en = strstr(desc, "errno = "), *msg = strstr(desc, "error message = '");
    if (en && msg) {
        int code = atoi(en + 8);
        msg += strlen("error message = '");
        const char *end = strchr(msg, '\'');
        size_t head = strcspn(desc, ":");
        snprintf(why, 256, "%.*s: %.*s (errno %d)", (int)head, desc,
                 (int)(end ? (size_t)(end - msg) : strlen(msg)), msg, code);
    } else
        snprintf(why, 256, "%s", desc);
    return 0;
}

nm_status nm_h5_fail(nm_err *err, const char *fmt, ...)
{
    char what[NM_ERR_MSG / 2], why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int os = errno;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, why);
    H5Eclear2(H5E_DEFAULT);
    /* The stack that held the OS error may be gone (any later HDF5 call
     * clears it), but errno, cleared by nm_h5_quiet_on, still says it. */
    if (os && !strstr(why, "(errno ")) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n, "%s%s (errno %d)", n ? ": " : "", strerror(os), os);
    }
    if (why[0])
        return nm_err_set(err, NM_ERR_RUNTIME, "%s: HDF5: %s", what, why);
    return nm_err_set(err, NM_ERR_RUNTIME, "%s", what);
}

static bool unclean;

void nm_h5_unclean(void) { unclean = true; }

bool nm_store_unclean(void) { return unclean; }

void nm_h5_quiet_on(nm_h5_quiet *q)
{
    H5open();
    errno = 0; /* nm_h5_fail reports what fails from here on */
    H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void nm_h5_quiet_off(const nm_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

hid_t nm_h5_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = H5I_INVALID_HID;
    }
    return t;
}

char *nm_h5_attr_str(hid_t f, const char *name)
{
    if (H5Aexists(f, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    hid_t ft = a < 0 ? a : H5Aget_type(a);
    char *s = NULL;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft)) {
        size_t n = H5Tget_size(ft);
        hid_t mt = H5Tcopy(ft);
        s = calloc(1, n + 1);
        if (s && (mt < 0 || H5Aread(a, mt, s) < 0)) {
            free(s);
            s = NULL;
        }
        if (mt >= 0)
            H5Tclose(mt);
    }
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

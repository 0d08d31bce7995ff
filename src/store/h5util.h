/* h5util.h: HDF5 helpers shared by the store's files (internal): error
 * messages, silencing HDF5's own error printing, string types. */
#ifndef NM_STORE_H5UTIL_H
#define NM_STORE_H5UTIL_H

#include <hdf5.h>

#include "neuromic/error.h"

/* Sets a runtime error "what: innermost HDF5 message" and clears HDF5's
 * error stack. */
nm_status nm_h5_fail(nm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records that H5Fclose failed (nm_store_unclean). */
void nm_h5_unclean(void);

/* HDF5 prints its error stack by default; the store reports errors itself.
 * quiet_on saves the current handler and silences it, quiet_off restores it. */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} nm_h5_quiet;

void nm_h5_quiet_on(nm_h5_quiet *q);
void nm_h5_quiet_off(const nm_h5_quiet *q);

/* Fixed-length UTF-8 string of len bytes (at least 1), NUL-padded: what
 * netCDF calls text. The caller closes it; H5I_INVALID_HID on failure. */
hid_t nm_h5_str_type(size_t len);

/* A fixed-length string attribute of object f (a file: its root group),
 * malloc'd and NUL-terminated; NULL if absent, of another type, or out of
 * memory. */
char *nm_h5_attr_str(hid_t f, const char *name);

#endif

/* h5err.h: HDF5 error handling shared by the store's files (internal). */
#ifndef NM_STORE_H5ERR_H
#define NM_STORE_H5ERR_H

#include <hdf5.h>

#include "neuromic/error.h"

/* Sets a runtime error "what: innermost HDF5 message" and clears HDF5's
 * error stack. */
nm_status nm_h5_fail(nm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* HDF5 prints its error stack by default; the store reports errors itself.
 * quiet_on saves the current handler and silences it, quiet_off restores it. */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} nm_h5_quiet;

void nm_h5_quiet_on(nm_h5_quiet *q);
void nm_h5_quiet_off(const nm_h5_quiet *q);

#endif

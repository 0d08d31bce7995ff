/* attempts.h: the columns of /attempts, shared by the file's creation and
 * the parallel writer (internal to the store). */
#ifndef NM_STORE_ATTEMPTS_H
#define NM_STORE_ATTEMPTS_H

#include <stddef.h>

#include <hdf5.h>

#include "neuromic/internal/store.h"

enum { A_START, A_END, A_STATUS, A_RANKS, A_TASKS, A_HOSTS, A_CMD, A_JOB, A_SLURM, A_N };

typedef struct {
    const char *name;
    size_t strlen;   /* > 0: fixed-length string of this many bytes */
    hid_t numtype;   /* else: native type (file type is its little-endian twin) */
    size_t offset;   /* in nm_attempt */
    const char *doc;
} nm_attempt_col;

/* Column i (H5T_NATIVE_* are run-time values, hence a function). */
nm_attempt_col nm_attempt_column(int i);

#endif

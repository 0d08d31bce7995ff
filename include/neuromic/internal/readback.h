/* readback.h: a result file read back by a process that does not write it
 * (`neuromic status`, the spec text a --resume continues with).
 *
 * Everything here is serial and read-only, and takes no lock: neither
 * neuromic's FILE.lock (a running sweep holds it) nor HDF5's own file lock
 * (the file is opened with HDF5 file locking off), so it is safe on a file
 * that a running sweep is writing. What it sees is the file as of the last
 * checkpoint: results are written before their statuses, and nothing after
 * creation changes the file's structure (store.h). */
#ifndef NEUROMIC_READBACK_H
#define NEUROMIC_READBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "neuromic/internal/store.h"

/* A string attribute of the root group of the neuromic result file at
 * path, malloc'd into *out. NM_ERR_INPUT naming the file when it is not
 * an HDF5 file or has no such attribute. */
nm_status nm_readback_attr(const char *path, const char *name, char **out, nm_err *err);

typedef struct {
    char *kernel, *kernel_version, *spec_path, *spec_text, *overrides; /* root attributes */
    uint64_t ntasks;
    int8_t *status;    /* per task: NM_TASK_* */
    double *seconds;   /* per task: run time of a finished task */
    uint64_t count[3]; /* pending, done, failed (a status outside 0..2 counts as pending) */
    nm_attempt attempts[NM_MAX_ATTEMPTS];
    int nattempts;     /* rows in use (with a start time) */
    time_t mtime;      /* the file's modification time: its last flush */
    int64_t file;      /* the open HDF5 file (hid_t), for nm_readback_error */
} nm_readback;

/* Opens path and reads its provenance, task table (status, seconds) and
 * /attempts. NM_ERR_INPUT with a message when it is missing, not HDF5 or
 * not a neuromic result file. Free with nm_readback_free (also after an
 * error). */
nm_status nm_readback_open(const char *path, nm_readback *rb, nm_err *err);

/* Task t's message from /tasks/error into buf (NM_ERROR_LEN bytes). */
void nm_readback_error(const nm_readback *rb, uint64_t t, char *buf);

void nm_readback_free(nm_readback *rb);

#endif

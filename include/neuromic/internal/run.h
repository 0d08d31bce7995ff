/* run.h: one run of a sweep (src/run/run.c), around the scheduler.
 *
 * Every function here returns its errors as status codes; the MPI calls
 * are collective over MPI_COMM_WORLD where the comment says so. */
#ifndef NEUROMIC_RUN_H
#define NEUROMIC_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/grid.h"
#include "neuromic/internal/prov.h"
#include "neuromic/internal/store.h"

/* Collective. Rank 0 reads the spec file; every rank parses the same bytes
 * (with o->sets applied), so all ranks hold the same sweep. A rank other
 * than 0 that cannot allocate the bytes calls MPI_Abort: the others are
 * already inside the broadcast. */
nm_status nm_run_load_spec(const nm_sweep_opts *o, int rank, nm_sweep **sw, nm_err *err);

/* Collective. Every rank returns rank 0's status, and its message. */
nm_status nm_run_agree(nm_status st, nm_err *err);

/* Collective. Each rank has its own status; all return the status and
 * message of the lowest rank that failed (NM_OK if none did). */
nm_status nm_run_agree_all(nm_status st, nm_err *err);

/* Rank 0 holds an flock on FILE.lock for the whole run, so that a second
 * run on the same output (with --force or --resume) refuses instead of
 * writing into a file another job is writing. flock's lock dies with the
 * process, so a killed run never leaves a stale lock behind. On a file
 * system without flock (some parallel file systems, mounted without it)
 * the run goes on with a warning. */
typedef struct {
    char *path;
    int fd;
} nm_run_lock_t;

/* Takes the lock (lk->fd < 0 when the file system has no flock: warned). */
nm_status nm_run_lock(const char *output, nm_run_lock_t *lk, nm_err *err);
void nm_run_unlock(nm_run_lock_t *lk); /* removes FILE.lock; harmless if not held */

/* Rank 0: what this run is to do with the file. */
typedef struct {
    nm_store_info info;   /* --resume: what the file holds */
    uint64_t *todo;       /* --resume: the tasks to run */
    uint64_t ntodo;
    uint64_t failed_kept; /* failed tasks this run does not retry */
    int attempt;          /* row of /attempts for this run */
    bool fresh;           /* --resume found no file and starts the sweep */
} nm_run_plan;

/* Rank 0: creates the file, or checks it and picks the tasks to resume. */
nm_status nm_run_prepare(const nm_sweep_opts *o, const nm_sweep *sw, const nm_prov *prov,
                         nm_run_plan *rp, nm_err *err);
void nm_run_plan_free(nm_run_plan *rp);

/* This run's row of /attempts as it starts (hosts and command line from
 * the provenance, the Slurm job id from the environment). */
void nm_run_attempt_begin(nm_attempt *a, const nm_prov *prov, int size);

#endif

/* sched.h: running a sweep's tasks over MPI ranks.
 *
 * Rank 0 runs a dispatcher thread that owns the task queue (longest expected
 * task first, from the kernel's cost estimate) and hands out batches whose
 * expected cost shrinks as the queue drains (guided scheduling); rank 0's
 * main thread computes tasks like every other rank, taking its batches from
 * the queue directly. The dispatcher also decides when to checkpoint: every
 * rank, between two tasks, joins a collective write of what it has finished.
 * Needs MPI_THREAD_MULTIPLE when there is more than one rank. */
#ifndef NEUROMIC_SCHED_H
#define NEUROMIC_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "neuromic/internal/store.h"

typedef struct {
    double progress_every; /* seconds between progress lines when stderr is not a TTY */
    bool quiet;            /* no progress output */
    const uint64_t *tasks; /* rank 0: the task ids to run (NULL: all) */
    uint64_t ntodo;        /* entries of tasks */
    const void *shared;    /* this rank's kernel data from prepare() (or NULL) */
} nm_sched_opts;

typedef struct {
    uint64_t done, failed; /* over all ranks (valid on rank 0) */
    int stop_signal;       /* the signal that stopped the run early, or 0 */
    double seconds;        /* wall time of the run phase */
    double task_seconds;   /* this rank's time inside kernels */
    double write_seconds;  /* this rank's time in checkpoints */
    int checkpoints;
} nm_sched_stats;

/* Collective over comm (which must be the communicator the store was opened
 * with, or a congruent one). Errors come back as status codes, except in
 * three places where the ranks can no longer agree on what comes next, and
 * which call MPI_Abort(comm, 1) after printing why: rank 0 cannot start
 * its dispatcher thread (the other ranks wait for it), a collective
 * checkpoint write fails on some rank (the ranks are out of step), or the
 * runner itself fails (out of memory inside a batch). */
nm_status nm_sched_run(const nm_sweep *sw, nm_store *store, MPI_Comm comm,
                       const nm_sched_opts *opts, nm_sched_stats *stats, nm_err *err);

#endif

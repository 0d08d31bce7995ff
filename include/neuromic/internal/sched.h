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

/* Seconds from the end of one checkpoint to the next: checkpoint_every
 * (every), but at least CKPT_TASKS mean task durations and CKPT_COST mean
 * checkpoint durations. A checkpoint is a rendezvous: every rank first
 * finishes the task it is running, so one costs each rank up to a task of
 * idle time, about half a task when durations are alike. Spacing them
 * CKPT_TASKS tasks apart keeps that near 1/(2 CKPT_TASKS) of the run, but
 * not when durations differ widely (a checkpoint waits for the longest task
 * in flight); spacing them CKPT_COST times their own measured duration
 * (from issuing one to rank 0 finishing it: the slowest rank's rest of its
 * task plus the write, an upper bound of a rank's idle time) keeps the
 * waiting under 1/CKPT_COST of the run whatever the durations. Zero means
 * not known yet. */
#define CKPT_TASKS 20
#define CKPT_COST 40
double nm_sched_ckpt_interval(double every, double mean_task, double mean_ckpt);

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

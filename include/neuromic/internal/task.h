/* task.h: what a kernel's run() gets besides its point.
 *
 * A task object holds the random streams of one task (generators allocated
 * once, re-keyed for every task), its failure message and its time limit.
 * It knows nothing of the scheduler or the result file: whoever runs tasks
 * (the engine's runner, a unit test) calls nm_task_begin before run() and
 * reads the outcome afterwards. The stop callback lets the engine say "the
 * run is being stopped" (a signal arrived) without this module knowing of
 * signals. */
#ifndef NEUROMIC_TASK_H
#define NEUROMIC_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "neuromic/internal/grid.h"

/* Stream limits of the contract (kernel.h states them too). */
#define NM_TASK_MAX_STREAMS 16
#define NM_TASK_STREAM_NAME 48 /* bytes, NUL included: names up to 47 bytes */
#define NM_TASK_ERROR_LEN 256  /* bytes of a failure message, NUL included */

struct nm_task {
    uint64_t base_seed;
    const nm_point *p;
    gsl_rng *rng[NM_TASK_MAX_STREAMS];
    char name[NM_TASK_MAX_STREAMS][NM_TASK_STREAM_NAME];
    size_t nrng;  /* allocated generators (kept across tasks) */
    size_t nused; /* streams handed out to the current task */
    char error[NM_TASK_ERROR_LEN];
    bool failed;
    double deadline; /* nm_now() after which the task is over time; 0: none */
    int (*stop_requested)(void); /* non-zero: stop now (NULL: never) */
    const void *shared; /* what the kernel's prepare() handed over (nm_task_shared) */
};

/* A task object for points of one sweep. NULL on out of memory. */
nm_task *nm_task_alloc(uint64_t base_seed, int (*stop_requested)(void));
void nm_task_free(nm_task *t); /* NULL is harmless */

/* Starts a task on point p (which must live until run() returns): no
 * streams handed out, no failure, deadline `timeout` seconds from now
 * (0: none). */
void nm_task_begin(nm_task *t, const nm_point *p, double timeout);

/* Wall-clock seconds from an arbitrary origin (CLOCK_MONOTONIC). */
double nm_now(void);

#endif

/* ---- shared data: the engine's side of a kernel's prepare/release ---- */

/* Runs sw's kernel's prepare() on this rank (nothing without one). With
 * `hash`, the SHA-256 of every file it records is computed (the rank that
 * writes provenance needs them; the others skip the work). A failure is
 * NM_ERR_INPUT with the kernel's message. *out is NULL without prepare(). */
nm_status nm_shared_prepare(const nm_sweep *sw, bool hash, nm_shared **out, nm_err *err);
/* What prepare() handed over (NULL: sh is NULL or nothing was set). */
void *nm_shared_data(const nm_shared *sh);
/* The recorded files as "SHA256  PATH" lines (sha256sum's format), or ""
 * when there are none; malloc'd, NULL on out of memory. */
char *nm_shared_files(const nm_shared *sh);
/* Calls the kernel's release() and frees sh (NULL is harmless). */
void nm_shared_free(nm_shared *sh);

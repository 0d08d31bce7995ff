/* runner.h: running one task of a sweep on this rank.
 *
 * The runner owns the point buffer and a task object (task.h: streams,
 * failure message, time limit), which it connects to the engine's stop
 * request. It appends the task's row to a rowbuf, marking it done, or failed when the
 * kernel reports an error or an output holds NaN or Inf. */
#ifndef NEUROMIC_RUNNER_H
#define NEUROMIC_RUNNER_H

#include "neuromic/internal/grid.h"
#include "neuromic/internal/store.h"
#include "neuromic/internal/task.h" /* nm_now */

typedef struct nm_runner nm_runner;

/* shared: what the kernel's prepare() handed over on this rank (or NULL),
 * given to run() through nm_task_shared. */
nm_runner *nm_runner_alloc(const nm_sweep *sw, const void *shared);
void nm_runner_free(nm_runner *r);

/* Runs task and appends its row to b. Returns NM_TASK_DONE or
 * NM_TASK_FAILED (kernel error, NaN/Inf output, over the time limit);
 * NM_TASK_PENDING, with no row kept, when a stop request cut the task
 * short; or -1 with err set if the engine itself failed (memory). */
int nm_runner_run(nm_runner *r, uint64_t task, nm_rowbuf *b, nm_err *err);

#endif

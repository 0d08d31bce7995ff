/* runner.c: one task: point, streams, kernel run, output checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/runner.h"
#include "neuromic/internal/stop.h"
#include "neuromic/internal/task.h"

struct nm_runner {
    const nm_sweep *sw;
    nm_point *p;
    nm_task *t;
    void **out;
};

nm_runner *nm_runner_alloc(const nm_sweep *sw, const void *shared)
{
    nm_runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sw = sw;
    r->p = nm_point_alloc(sw);
    r->out = calloc(sw->kernel->noutputs, sizeof *r->out);
    r->t = nm_task_alloc(sw->base_seed, nm_stop_requested);
    if (!r->p || !r->out || !r->t) {
        nm_runner_free(r);
        return NULL;
    }
    r->t->shared = shared;
    return r;
}

void nm_runner_free(nm_runner *r)
{
    if (!r)
        return;
    nm_task_free(r->t);
    nm_point_free(r->p);
    free(r->out);
    free(r);
}

/* First NaN or Inf in the float outputs, described in msg. */
static bool outputs_finite(const nm_sweep *sw, void **out, char *msg, size_t len)
{
    const nm_kernel *k = sw->kernel;
    for (size_t o = 0; o < k->noutputs; o++) {
        if (k->outputs[o].type != NM_O_F64)
            continue;
        const double *v = out[o];
        size_t n = sw->layout[o].size;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(v[i])) {
                snprintf(msg, len, "output '%s' element %zu is %s", k->outputs[o].name, i,
                         isnan(v[i]) ? "NaN" : "Inf");
                return false;
            }
    }
    return true;
}

int nm_runner_run(nm_runner *r, uint64_t task, nm_rowbuf *b, nm_err *err)
{
    const nm_kernel *k = r->sw->kernel;
    nm_grid_point(r->sw, task, r->p);
    nm_result res = {.out = r->out, .nout = k->noutputs, .outputs = k->outputs};
    if (nm_rowbuf_add(b, task, &res, err) != NM_OK)
        return -1;
    nm_task *t = r->t;
    double limit = r->sw->task_timeout;
    nm_task_begin(t, r->p, limit);
    nm_kernel_misuse_clear();
    double t0 = nm_now();
    int rc = k->run(r->p, t, &res);
    double secs = nm_now() - t0;

    const char *bug = nm_kernel_misuse() ? nm_kernel_misuse() : res.misuse;
    if (bug) { /* a kernel bug outranks what the kernel said about it */
        t->failed = false;
        nm_task_fail(t, "%s", bug);
        rc = 1;
    }
    if (rc != 0 && !t->failed)
        nm_task_fail(t, "kernel '%s' returned %d without a message", k->name, rc);
    if (rc == 0 && t->failed) /* a stream request failed but run() went on */
        rc = 1;
    if (limit > 0 && secs > limit) {
        /* Over time, whether the kernel noticed (and stopped) or not. */
        char why[NM_TASK_ERROR_LEN];
        snprintf(why, sizeof why, "%s", t->failed ? t->error : "finished late");
        int n = snprintf(t->error, sizeof t->error,
                         "exceeded the time limit of %g s (output.task_timeout) after %.3g s: ",
                         limit, secs);
        if (n > 0 && (size_t)n < sizeof t->error)
            memcpy(t->error + n, why, strnlen(why, sizeof t->error - (size_t)n - 1) + 1);
        t->error[sizeof t->error - 1] = 0;
        rc = 1;
    } else if (rc != 0 && nm_stop_requested()) {
        /* Cut short by a stop request: not a failure, the task stays
         * pending and runs again on --resume. */
        nm_rowbuf_discard(b);
        return NM_TASK_PENDING;
    }
    if (rc == 0 && !outputs_finite(r->sw, res.out, t->error, sizeof t->error))
        rc = 1;
    int status = rc == 0 ? NM_TASK_DONE : NM_TASK_FAILED;
    nm_rowbuf_finish(b, (int8_t)status, secs, status == NM_TASK_DONE ? NULL : t->error);
    return status;
}

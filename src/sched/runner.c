/* runner.c: one task: point, streams, kernel run, output checks. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "neuromic/internal/rng.h"
#include "neuromic/internal/runner.h"
#include "neuromic/internal/stop.h"

#define MAX_STREAMS 16
#define STREAM_NAME 48

struct nm_task {
    const nm_sweep *sw;
    const nm_point *p;
    gsl_rng *rng[MAX_STREAMS];
    char name[MAX_STREAMS][STREAM_NAME];
    size_t nrng;  /* allocated generators (kept across tasks) */
    size_t nused; /* streams handed out to the current task */
    char error[NM_ERROR_LEN];
    bool failed;
    double deadline; /* nm_now() after which the task is over time; 0: none */
};

struct nm_runner {
    const nm_sweep *sw;
    nm_point *p;
    struct nm_task t;
    void **out;
};

double nm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

gsl_rng *nm_task_rng(nm_task *t, const char *stream, const char *const *depends)
{
    /* The same name twice in one task continues the same stream. */
    for (size_t i = 0; i < t->nused; i++)
        if (strcmp(t->name[i], stream) == 0)
            return t->rng[i];
    if (t->nused == MAX_STREAMS || strlen(stream) >= STREAM_NAME) {
        nm_task_fail(t, "kernel asked for more than %d random streams or a name over %d bytes",
                     MAX_STREAMS, STREAM_NAME - 1);
        return NULL;
    }
    if (t->nused == t->nrng) {
        t->rng[t->nrng] = gsl_rng_alloc(nm_rng_xoshiro256ss);
        if (!t->rng[t->nrng])
            return NULL;
        t->nrng++;
    }
    uint8_t key[32];
    nm_err err;
    if (nm_rng_key(t->sw->base_seed, stream, t->p, depends, key, &err) != NM_OK) {
        nm_task_fail(t, "%s", err.msg);
        return NULL;
    }
    gsl_rng *r = t->rng[t->nused];
    nm_rng_set_key(r, key);
    snprintf(t->name[t->nused], STREAM_NAME, "%s", stream);
    t->nused++;
    return r;
}

bool nm_task_expired(nm_task *t)
{
    return nm_stop_requested() || (t->deadline > 0 && nm_now() > t->deadline);
}

int nm_task_fail(nm_task *t, const char *fmt, ...)
{
    if (!t->failed) { /* keep the first reason */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->error, sizeof t->error, fmt, ap);
        va_end(ap);
        t->failed = true;
    }
    return 1;
}

nm_runner *nm_runner_alloc(const nm_sweep *sw)
{
    nm_runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sw = sw;
    r->p = nm_point_alloc(sw);
    r->out = calloc(sw->kernel->noutputs, sizeof *r->out);
    if (!r->p || !r->out) {
        nm_runner_free(r);
        return NULL;
    }
    r->t.sw = sw;
    r->t.p = r->p;
    return r;
}

void nm_runner_free(nm_runner *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->t.nrng; i++)
        gsl_rng_free(r->t.rng[i]);
    nm_point_free(r->p);
    free(r->out);
    free(r);
}

/* First NaN or Inf in the float outputs, described in msg. */
static bool outputs_finite(const nm_kernel *k, const nm_point *p, void **out, char *msg,
                           size_t len)
{
    for (size_t o = 0; o < k->noutputs; o++) {
        if (k->outputs[o].type != NM_O_F64)
            continue;
        const double *v = out[o];
        size_t n = nm_output_size(&k->outputs[o], p);
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
    nm_result res = {r->out, k->noutputs};
    if (nm_rowbuf_add(b, task, &res, err) != NM_OK)
        return -1;
    r->t.nused = 0;
    r->t.failed = false;
    r->t.error[0] = 0;

    double t0 = nm_now();
    double limit = r->sw->task_timeout;
    r->t.deadline = limit > 0 ? t0 + limit : 0;
    int rc = k->run(r->p, &r->t, &res);
    double secs = nm_now() - t0;

    if (rc != 0 && !r->t.failed)
        nm_task_fail(&r->t, "kernel '%s' returned %d without a message", k->name, rc);
    if (rc == 0 && r->t.failed) /* a stream request failed but run() went on */
        rc = 1;
    if (limit > 0 && secs > limit) {
        /* Over time, whether the kernel noticed (and stopped) or not. */
        char why[NM_ERROR_LEN];
        snprintf(why, sizeof why, "%s", r->t.failed ? r->t.error : "finished late");
        int n = snprintf(r->t.error, sizeof r->t.error,
                         "exceeded the time limit of %g s (output.task_timeout) after %.3g s: ",
                         limit, secs);
        if (n > 0 && (size_t)n < sizeof r->t.error)
            memcpy(r->t.error + n, why, strnlen(why, sizeof r->t.error - (size_t)n - 1) + 1);
        r->t.error[sizeof r->t.error - 1] = 0;
        rc = 1;
    } else if (rc != 0 && nm_stop_requested()) {
        /* Cut short by a stop request: not a failure, the task stays
         * pending and runs again on --resume. */
        nm_rowbuf_discard(b);
        return NM_TASK_PENDING;
    }
    if (rc == 0 && !outputs_finite(k, r->p, res.out, r->t.error, sizeof r->t.error))
        rc = 1;
    int status = rc == 0 ? NM_TASK_DONE : NM_TASK_FAILED;
    nm_rowbuf_finish(b, (int8_t)status, secs, status == NM_TASK_DONE ? NULL : r->t.error);
    return status;
}

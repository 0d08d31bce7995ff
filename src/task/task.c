/* task.c: one task's random streams, failure message and time limit. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "neuromic/internal/rng.h"
#include "neuromic/internal/task.h"

double nm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

nm_task *nm_task_alloc(uint64_t base_seed, int (*stop_requested)(void))
{
    nm_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->base_seed = base_seed;
    t->stop_requested = stop_requested;
    return t;
}

void nm_task_free(nm_task *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrng; i++)
        gsl_rng_free(t->rng[i]);
    free(t);
}

void nm_task_begin(nm_task *t, const nm_point *p, double timeout)
{
    t->p = p;
    t->nused = 0;
    t->failed = false;
    t->error[0] = 0;
    t->deadline = timeout > 0 ? nm_now() + timeout : 0;
}

gsl_rng *nm_task_rng(nm_task *t, const char *stream, const char *const *depends)
{
    /* The same name twice in one task continues the same stream. */
    for (size_t i = 0; i < t->nused; i++)
        if (strcmp(t->name[i], stream) == 0)
            return t->rng[i];
    if (t->nused == NM_TASK_MAX_STREAMS || strlen(stream) >= NM_TASK_STREAM_NAME) {
        nm_task_fail(t, "kernel asked for more than %d random streams or a name over %d bytes",
                     NM_TASK_MAX_STREAMS, NM_TASK_STREAM_NAME - 1);
        return NULL;
    }
    if (t->nused == t->nrng) {
        t->rng[t->nrng] = gsl_rng_alloc(nm_rng_xoshiro256ss);
        if (!t->rng[t->nrng]) {
            nm_task_fail(t, "out of memory for random stream '%s'", stream);
            return NULL;
        }
        t->nrng++;
    }
    uint8_t key[32];
    nm_err err;
    if (nm_rng_key(t->base_seed, stream, t->p, depends, key, &err) != NM_OK) {
        nm_task_fail(t, "%s", err.msg);
        return NULL;
    }
    gsl_rng *r = t->rng[t->nused];
    nm_rng_set_key(r, key);
    snprintf(t->name[t->nused], NM_TASK_STREAM_NAME, "%s", stream);
    t->nused++;
    return r;
}

bool nm_task_expired(nm_task *t)
{
    return (t->stop_requested && t->stop_requested()) ||
           (t->deadline > 0 && nm_now() > t->deadline);
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

const void *nm_task_shared(const nm_task *t) { return t->shared; }

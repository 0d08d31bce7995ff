/* calibrate.c: `plan --calibrate N` and `submit --calibrate N`, the
 * kernel's relative cost turned into seconds by running N of the sweep's
 * tasks here, one after another, and what that means for a job's time
 * limit.
 *
 * The tasks are spread evenly over the task ids (ids (i + 1/2) ntasks / N),
 * so that every axis value range is represented; each is run exactly as a
 * rank would run it (the kernel's prepare(), the runner, the task time
 * limit), and its wall time is divided by its cost estimate (1 when the
 * kernel has none). The speed measured is this machine's at its current
 * load: on a login node, or next to other jobs, it is only a guide. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/runner.h"
#include "neuromic/internal/task.h"

/* Seconds at the end of a job run that do no work: the warning signal
 * (warn s before the limit) may come up to a minute early (README, "Time
 * limits"); start-up and the last checkpoint are in the same minute. */
#define CALIB_SLACK 60.0
/* Seconds Slurm holds a requeued job before it may start again (README). */
#define CALIB_REQUEUE_HOLD 120.0

static double task_cost(const nm_sweep *sw, nm_point *pt, uint64_t t)
{
    if (!sw->kernel->cost)
        return 1;
    nm_grid_point(sw, t, pt);
    return sw->kernel->cost(pt);
}

nm_status nm_calibrate(const nm_sweep *sw, long n, nm_calibration *c, nm_err *err)
{
    *c = (nm_calibration){0};
    if ((uint64_t)n > sw->ntasks)
        n = (long)sw->ntasks;
    nm_shared *sh = NULL;
    nm_status st = nm_shared_prepare(sw, false, &sh, err);
    nm_runner *r = st == NM_OK ? nm_runner_alloc(sw, nm_shared_data(sh)) : NULL;
    nm_rowbuf *b = st == NM_OK ? nm_rowbuf_alloc(sw) : NULL;
    nm_point *pt = st == NM_OK ? nm_point_alloc(sw) : NULL;
    if (st == NM_OK && (!r || !b || !pt))
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    double cost = 0;
    for (long i = 0; st == NM_OK && i < n; i++) {
        uint64_t t = (uint64_t)(((double)i + 0.5) * (double)sw->ntasks / (double)n);
        if (t >= sw->ntasks)
            t = sw->ntasks - 1;
        double t0 = nm_now();
        int s = nm_runner_run(r, t, b, err);
        double dt = nm_now() - t0;
        nm_rowbuf_clear(b);
        if (s < 0) {
            st = err->code;
            break;
        }
        c->ran++;
        c->failed += s == NM_TASK_FAILED;
        c->seconds += dt;
        c->longest = dt > c->longest ? dt : c->longest;
        cost += task_cost(sw, pt, t);
    }
    if (st == NM_OK && c->ran && cost > 0)
        c->per_cost = c->seconds / cost;
    if (st == NM_OK) {
        double sum = (double)sw->ntasks, max = 1;
        if (sw->kernel->cost && !nm_grid_cost(sw, &sum, &max))
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        c->total = sum * c->per_cost;
        c->longest_est = max * c->per_cost;
    }
    nm_point_free(pt);
    nm_rowbuf_free(b);
    nm_runner_free(r);
    nm_shared_free(sh);
    return st;
}

static void hms(double s, char *buf, size_t len)
{
    long t = (long)ceil(s);
    snprintf(buf, len, "%ld-%02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
}

int nm_calibrate_report(const nm_calibration *c, long ranks, long limit, long warn,
                        long max_requeues, FILE *f)
{
    char a[32], b[32], d[32];
    fprintf(f, "calibration: %llu task%s run here in %.3g s (longest %.3g s, %llu failed): "
            "%.4g s per cost unit\n", (unsigned long long)c->ran, c->ran == 1 ? "" : "s",
            c->seconds, c->longest, (unsigned long long)c->failed, c->per_cost);
    double per_rank = c->total / (double)(ranks > 0 ? ranks : 1);
    if (per_rank < c->longest_est)
        per_rank = c->longest_est; /* no rank finishes before its longest task */
    hms(c->total, a, sizeof a);
    hms(per_rank, b, sizeof b);
    fprintf(f, "estimate:    %s of work in all, %s per rank on %ld rank%s (longest task about "
            "%.3g s), at this machine's speed\n", a, b, ranks, ranks == 1 ? "" : "s",
            c->longest_est);
    if (limit <= 0)
        return 0;
    double usable = (double)limit - (double)warn - CALIB_SLACK;
    hms((double)limit, a, sizeof a);
    if (usable <= 0 || c->longest_est > usable) {
        fprintf(f, "warning: --time %s leaves %.0f s of work per job run (the limit less the "
                "warning's %ld s and %.0f s of slack), less than the longest task: the sweep "
                "would never finish\n", a, usable > 0 ? usable : 0, warn, CALIB_SLACK);
        return 1;
    }
    long runs = (long)ceil(per_rank / usable);
    if (runs <= 1)
        return 0;
    /* Each requeue loses the end of a run (warning and slack) and waits in
     * the queue before the next run starts. */
    double overhead = (double)(runs - 1) * ((double)warn + CALIB_SLACK + CALIB_REQUEUE_HOLD);
    hms(per_rank + overhead, b, sizeof b);
    hms(1.2 * per_rank + (double)warn + CALIB_SLACK, d, sizeof d);
    fprintf(f, "warning: --time %s is short for the work per rank: about %ld job runs (%ld "
            "requeue%s, some %.0f s of overhead: the last %ld + %.0f s of each run unused and "
            "%.0f s held in the queue), about %s in all before queue waits; --time %s (the "
            "work per rank + 20%%, the warning and the slack) finishes in one run\n",
            a, runs, runs - 1, runs == 2 ? "" : "s", overhead, warn, CALIB_SLACK,
            CALIB_REQUEUE_HOLD, b, d);
    if (runs - 1 > max_requeues)
        fprintf(f, "warning: %ld requeues are more than NEUROMIC_MAX_REQUEUES=%ld allows: the "
                "job stops before the sweep is done (resubmit, or raise --time or the limit)\n",
                runs - 1, max_requeues);
    return 1;
}

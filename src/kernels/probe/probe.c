/* probe.c: a kernel for testing and benchmarking the engine.
 *
 * Its outputs are a simple, documented function of its parameters and its
 * random streams, so a test can recompute every number in a result file:
 *
 *   value    = x * n + (mode == "b" ? 1000 : 0) + u,  u ~ U[0,1) the first draw
 *              of stream "noise" (depends on every parameter)
 *   trace[i] = x + n * i,                             i = 0 .. length-1
 *   draw     = floor(1e6 * v),  v ~ U[0,1) the first draw of stream "data",
 *              which depends on `seed` only: every point with the same seed
 *              sees the same draw (how a kernel shares data across models)
 *
 * It burns `work` seconds of CPU time (thread CPU clock, busy loop, giving
 * up early when nm_task_expired says so) before returning, fails with a
 * message when n == fail_n, and returns NaN in
 * `value` when n == nan_n (which the engine must catch).
 *
 * It is also the worked example of the kernel contract (kernel.h): tables
 * written with the NM_PARAM_* and NM_OUTPUT_* macros and indexed by enums,
 * parameters read by index, outputs reached through the name-checked
 * nm_out_f64/nm_out_i64. */
#include <math.h>
#include <time.h>

#include "neuromic/kernel.h"

/* Indices of the parameter and output tables: lookups by index are
 * constant time and cannot drift from the tables, which are indexed by the
 * same names. */
enum { P_X, P_N, P_MODE, P_LENGTH, P_WORK, P_FAIL_N, P_NAN_N, NPARAMS };
enum { O_VALUE, O_TRACE, O_DRAW, NOUTPUTS };

static const nm_param params[NPARAMS] = {
    [P_X] = NM_PARAM_FLOAT_ANY("x", 0.0, "", "a real input"),
    [P_N] = NM_PARAM_INT("n", 1, 0, 1e9, "", "an integer input"),
    [P_MODE] = NM_PARAM_CHOICE("mode", "a", "a choice: 'b' adds 1000 to value", "a", "b"),
    [P_LENGTH] = NM_PARAM_INT("length", 4, 1, 1e6, "", "length of the trace output"),
    [P_WORK] = NM_PARAM_FLOAT("work", 0.0, 0, 86400, "s", "CPU time to burn per task"),
    [P_FAIL_N] = NM_PARAM_INT_ANY("fail_n", -1, "", "the task fails with an error when n equals this"),
    [P_NAN_N] = NM_PARAM_INT_ANY("nan_n", -1, "", "the task returns NaN in value when n equals this"),
};

static size_t trace_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i_at(p, P_LENGTH);
}

static const nm_output outputs[NOUTPUTS] = {
    [O_VALUE] = NM_OUTPUT_SCALAR("value", NM_O_F64, "",
                                 "x*n + (1000 if mode is b) + U[0,1) from stream noise"),
    [O_TRACE] = NM_OUTPUT_ARRAY("trace", NM_O_F64, "trace_i", trace_extent, "", "x + n*i"),
    [O_DRAW] = NM_OUTPUT_SCALAR("draw", NM_O_I64, "",
                                "floor(1e6 * U[0,1)) from stream data, which depends on seed only"),
};

static double probe_cost(const nm_point *p) { return nm_get_f_at(p, P_WORK) + 1e-6; }

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Where the busy loop's sums go, so the compiler keeps the loop. */
static volatile double probe_sink;

/* Busy for `seconds` of this thread's CPU time. Like a real kernel's
 * training loop it asks nm_task_expired() now and then and gives up when
 * told to (time limit or stop request); returns false then. */
static bool burn(nm_task *t, double seconds)
{
    double start = thread_cpu_seconds(), until = start + seconds;
    while (thread_cpu_seconds() < until) {
        for (int i = 0; i < 1000; i++)
            probe_sink += 1e-9 * i;
        if (nm_task_expired(t))
            return false;
    }
    return true;
}

static int probe_run(const nm_point *p, nm_task *t, nm_result *res)
{
    double x = nm_get_f_at(p, P_X);
    int64_t n = nm_get_i_at(p, P_N);
    int64_t len = nm_get_i_at(p, P_LENGTH);

    if (!burn(t, nm_get_f_at(p, P_WORK)))
        return nm_task_fail(t, "probe: stopped before the end of its work");
    if (n == nm_get_i_at(p, P_FAIL_N))
        return nm_task_fail(t, "probe: asked to fail at n=%lld", (long long)n);

    gsl_rng *noise = nm_task_rng(t, "noise", NULL);
    static const char *const data_deps[] = {"seed", NULL};
    gsl_rng *data = nm_task_rng(t, "data", data_deps);
    double *value = nm_out_f64(res, O_VALUE, "value");
    double *trace = nm_out_f64(res, O_TRACE, "trace");
    int64_t *draw = nm_out_i64(res, O_DRAW, "draw");
    if (!noise || !data || !value || !trace || !draw)
        return nm_task_fail(t, "probe: no random stream or output");

    double offset = nm_get_s_at(p, P_MODE)[0] == 'b' ? 1000.0 : 0.0;
    value[0] = n == nm_get_i_at(p, P_NAN_N) ? NAN : x * (double)n + offset + gsl_rng_uniform(noise);
    for (int64_t i = 0; i < len; i++)
        trace[i] = x + (double)n * (double)i;
    draw[0] = (int64_t)floor(1e6 * gsl_rng_uniform(data));
    return 0;
}

const nm_kernel nm_kernel_probe = {
    .name = "probe",
    .version = "1",
    .doc = "engine test kernel: known outputs, CPU burn, failures on request",
    .params = params,
    .nparams = NPARAMS,
    .outputs = outputs,
    .noutputs = NOUTPUTS,
    .cost = probe_cost,
    .run = probe_run,
};

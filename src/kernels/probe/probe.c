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
 * `value` when n == nan_n (which the engine must catch). */
#include <math.h>
#include <time.h>

#include "neuromic/kernel.h"

static const nm_param params[] = {
    {.name = "x", .type = NM_T_FLOAT, .def = {.type = NM_T_FLOAT, .v.f = 0.0},
     .unit = "", .doc = "a real input"},
    {.name = "n", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = 1},
     .has_lo = true, .lo = 0, .has_hi = true, .hi = 1e9, .unit = "", .doc = "an integer input"},
    {.name = "mode", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "a"},
     .choices = {"a", "b"}, .unit = "", .doc = "a choice: 'b' adds 1000 to value"},
    {.name = "length", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = 4},
     .has_lo = true, .lo = 1, .has_hi = true, .hi = 1e6, .unit = "",
     .doc = "length of the trace output"},
    {.name = "work", .type = NM_T_FLOAT, .def = {.type = NM_T_FLOAT, .v.f = 0.0},
     .has_lo = true, .lo = 0, .has_hi = true, .hi = 86400, .unit = "s",
     .doc = "CPU time to burn per task"},
    {.name = "fail_n", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = -1},
     .unit = "", .doc = "the task fails with an error when n equals this"},
    {.name = "nan_n", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = -1},
     .unit = "", .doc = "the task returns NaN in value when n equals this"},
};

static size_t trace_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i(p, "length");
}

static const nm_output outputs[] = {
    {.name = "value", .type = NM_O_F64, .ndims = 0, .unit = "",
     .doc = "x*n + (1000 if mode is b) + U[0,1) from stream noise"},
    {.name = "trace", .type = NM_O_F64, .ndims = 1, .dims = {"trace_i"}, .extent = trace_extent,
     .unit = "", .doc = "x + n*i"},
    {.name = "draw", .type = NM_O_I64, .ndims = 0, .unit = "",
     .doc = "floor(1e6 * U[0,1)) from stream data, which depends on seed only"},
};

static double probe_cost(const nm_point *p) { return nm_get_f(p, "work") + 1e-6; }

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
    double x = nm_get_f(p, "x");
    int64_t n = nm_get_i(p, "n");
    int64_t len = nm_get_i(p, "length");

    if (!burn(t, nm_get_f(p, "work")))
        return nm_task_fail(t, "probe: stopped before the end of its work");
    if (n == nm_get_i(p, "fail_n"))
        return nm_task_fail(t, "probe: asked to fail at n=%lld", (long long)n);

    gsl_rng *noise = nm_task_rng(t, "noise", NULL);
    static const char *const data_deps[] = {"seed", NULL};
    gsl_rng *data = nm_task_rng(t, "data", data_deps);
    if (!noise || !data)
        return nm_task_fail(t, "probe: out of memory");

    double *value = res->out[0];
    double *trace = res->out[1];
    int64_t *draw = res->out[2];
    double offset = nm_get_s(p, "mode")[0] == 'b' ? 1000.0 : 0.0;
    value[0] = n == nm_get_i(p, "nan_n") ? NAN : x * (double)n + offset + gsl_rng_uniform(noise);
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
    .nparams = sizeof params / sizeof params[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .cost = probe_cost,
    .run = probe_run,
};

/* uz_bench.c: speed of the urbanczik kernel's neuron (src/kernels/urbanczik/)
 * on one core, in simulated seconds per wall-clock second.
 *
 *   build/bench/uz_bench time SECONDS N...   one line per N:
 *       "N steps wall_s cpu_s sim_s_per_s ns_per_synapse_step ns_per_event events floor_ns"
 *   build/bench/uz_bench check N STEPS       final weights, one per line (%.17g)
 *   build/bench/uz_bench net SECONDS N0 N1 N2  the spiking microcircuit (task
 *       self_predict's settings, a new pattern U(0, 1) every 100 ms), once with
 *       its rules on and once frozen, one line each:
 *       "plastic steps cpu_s sim_s_per_s synapses plastic_synapses ns_per_step
 *        ns_per_synapse_step spikes events ns_per_event floor_ns"
 *       where events are spikes times their fan-out (synapses they reach)
 *
 * The problem is the teacher task's, with inputs that need no random numbers
 * so that bench/urbanczik/uz_numpy.py can replay them exactly: input i spikes
 * at the end of step s when frac((s n + i) g) < rate dt (g the golden ratio,
 * rate 10 Hz), the teacher is on throughout, and the somatic spike of step s
 * is drawn with the uniform frac((s + 0.5) sqrt 2) in `check` mode (the gsl
 * generator of the kernel in `time` mode). `floor_ns` is the cost of touching
 * every synapse once per step: one multiply-add into each weight. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/kernels/urbanczik/urbanczik.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


static const double GOLDEN = 0.6180339887498949, SQRT2 = 1.4142135623730951;

static double frac(double x)
{
    return x - floor(x);
}

/* The inputs of step s (synapse indices into syn); returns their number. */
static size_t inputs_of(size_t s, size_t n, double p, uint32_t *syn)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (frac((double)(s * n + i) * GOLDEN) < p)
            syn[m++] = (uint32_t)i;
    return m;
}

/* Teacher conductance inputs of the step ending at time t (NEST's example). */
static void teacher(double t, double dt, double *dgE, double *dgI)
{
    *dgE = (48.0 * sin(2 * M_PI * 0.01 * t) + 54.0) * dt;
    *dgI = 180.0 * dt;
}

/* The steps' inputs, precomputed (the pattern is not what is timed). */
typedef struct {
    size_t *start;
    uint32_t *syn;
} pattern;

static int pattern_build(pattern *pt, size_t n, size_t steps, double p)
{
    uint32_t *tmp = malloc(n * sizeof *tmp);
    pt->start = malloc((steps + 1) * sizeof *pt->start);
    size_t cap = 1024, len = 0;
    pt->syn = malloc(cap * sizeof *pt->syn);
    if (!tmp || !pt->start || !pt->syn)
        return -1;
    for (size_t s = 0; s < steps; s++) {
        size_t m = inputs_of(s, n, p, tmp);
        pt->start[s] = len;
        while (len + m > cap) {
            cap *= 2;
            uint32_t *g = realloc(pt->syn, cap * sizeof *g);
            if (!g)
                return -1;
            pt->syn = g;
        }
        memcpy(pt->syn + len, tmp, m * sizeof *tmp);
        len += m;
    }
    pt->start[steps] = len;
    free(tmp);
    return 0;
}

/* One step as uz_neuron_step, with the spike uniform given (check mode). */
static int step_with_uniform(uz_neuron *nr, const uz_input *in, double u)
{
    uz_neuron_integrate(nr);
    uz_neuron_receive(nr, in);
    int s = 0;
    nr->dead = nr->refr > 0;
    if (nr->dead)
        nr->refr--;
    else if (u < uz_spike_prob(&nr->p, nr->U)) {
        nr->refr = nr->ref_steps;
        s = 1;
    }
    uz_neuron_learn(nr, s);
    return s;
}

static int check(size_t n, size_t steps)
{
    uz_params p = uz_params_nest();
    uz_neuron *nr = uz_neuron_alloc(&p, n, 90.0);
    uint32_t *syn = malloc((n ? n : 1) * sizeof *syn);
    if (!nr || !syn)
        return 1;
    long spikes = 0;
    for (size_t s = 0; s < steps; s++) {
        uz_input in = {.syn = syn, .nsyn = inputs_of(s, n, 10.0 * 1e-3 * p.dt, syn)};
        teacher((double)(s + 1) * p.dt, p.dt, &in.dgE, &in.dgI);
        spikes += step_with_uniform(nr, &in, frac(((double)s + 0.5) * SQRT2));
    }
    printf("# spikes %ld U %.17g V %.17g\n", spikes, nr->U, nr->V);
    for (size_t i = 0; i < n; i++)
        printf("%.17g\n", nr->w[i]);
    uz_neuron_free(nr);
    free(syn);
    return 0;
}

/* ns per synapse and step of the floor: w[i] += c * x[i] over all synapses. */
static double floor_ns(size_t n, size_t steps)
{
    double *w = calloc(n, sizeof *w), *x = malloc(n * sizeof *x);
    if (!w || !x)
        return NAN;
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0 / (double)(i + 1);
    double t0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t s = 0; s < steps; s++) {
        double c = 1e-9 * (double)(s & 7);
        for (size_t i = 0; i < n; i++)
            w[i] += c * x[i];
        __asm__ volatile("" : : "r"(w) : "memory"); /* keep every step's pass */
    }
    double t = now(CLOCK_PROCESS_CPUTIME_ID) - t0;
    volatile double sink = w[n / 2];
    (void)sink;
    free(w);
    free(x);
    return t / ((double)n * (double)steps) * 1e9;
}

static int timing(double seconds, size_t n)
{
    uz_params p = uz_params_nest();
    const size_t pat = 2000; /* the 200 ms pattern, repeated */
    pattern pt;
    if (pattern_build(&pt, n, pat, 10.0 * 1e-3 * p.dt))
        return 1;
    uz_neuron *nr = uz_neuron_alloc(&p, n, 90.0);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!nr || !r)
        return 1;
    size_t steps = 0, events = 0;
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID), c;
    do { /* whole patterns, at least one */
        for (size_t s = 0; s < pat; s++, steps++) {
            uz_input in = {.syn = pt.syn + pt.start[s], .nsyn = pt.start[s + 1] - pt.start[s]};
            teacher((double)(steps + 1) * p.dt, p.dt, &in.dgE, &in.dgI);
            events += in.nsyn;
            uz_neuron_step(nr, &in, r);
        }
        c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    } while (c < seconds);
    double wall = now(CLOCK_MONOTONIC) - w0, sim = (double)steps * p.dt * 1e-3;
    double fl = floor_ns(n, steps < 20000 ? steps : 20000);
    printf("%zu %zu %.4f %.4f %.3f %.3f %.1f %zu %.3f\n", n, steps, wall, c, sim / c,
           c / ((double)steps * (double)n) * 1e9, c / (double)events * 1e9, events, fl);
    uz_neuron_free(nr);
    gsl_rng_free(r);
    free(pt.start);
    free(pt.syn);
    return 0;
}

/* The spiking microcircuit n0-n1-n2 for about `seconds` of CPU time. */
static int net_timing(double seconds, size_t n0, size_t n1, size_t n2, bool plastic)
{
    uz_params p = uz_params_nest();
    p.tau_Delta = 30;
    uz_net_params c = {.g_lk = 0.1, .g_B = 1.0, .g_A = 0.8, .g_D = 1.0, .g_som = 0.8,
                       .eta_IP = 0.002375, .eta_PI = 0.005};
    uz_net *net = uz_net_alloc(&p, &c, n0, n1, n2);
    gsl_rng *rin = gsl_rng_alloc(gsl_rng_mt19937), *rsp = gsl_rng_alloc(gsl_rng_mt19937);
    double *x = malloc(n0 * sizeof *x);
    if (!net || !rin || !rsp || !x)
        return 1;
    gsl_rng_set(rsp, 2);
    uz_net_init_random(net, rin, 1.0);
    const size_t pat = 1000; /* 100 ms */
    size_t steps = 0;
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), cpu;
    do {
        for (size_t i = 0; i < n0; i++)
            x[i] = gsl_rng_uniform(rin);
        for (size_t s = 0; s < pat; s++, steps++)
            uz_net_step(net, x, plastic, rin, rsp);
        cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    } while (cpu < seconds);
    /* dendritic synapses: W_up (both layers), W_down, W_PI, W_IP; plastic: those
     * whose rate is not 0 (the lateral ones here) */
    double syn = (double)(n1 * n0 + n2 * n1 + 3 * n1 * n2), psyn = plastic ? 2.0 * (double)(n1 * n2) : 0;
    double spikes = (double)(net->in.spikes + net->hid.spikes + net->out.spikes + net->inh.spikes);
    double events = (double)net->in.spikes * (double)n1 + (double)net->hid.spikes * 2.0 * (double)n2 +
                    (double)(net->out.spikes + net->inh.spikes) * (double)n1;
    /* the floor's least of three (other load on the machine only adds to it) */
    double sim = (double)steps * p.dt * 1e-3, fl = INFINITY;
    for (int k = 0; k < 3; k++)
        fl = fmin(fl, floor_ns((size_t)syn, 200000));
    printf("%d %zu %.4f %.3f %.0f %.0f %.1f %.3f %.0f %.0f %.2f %.3f\n", plastic, steps, cpu,
           sim / cpu, syn, psyn, cpu / (double)steps * 1e9, cpu / ((double)steps * syn) * 1e9,
           spikes, events, cpu / events * 1e9, fl);
    uz_net_free(net);
    gsl_rng_free(rin);
    gsl_rng_free(rsp);
    free(x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "net") == 0) {
        printf("# plastic steps cpu_s sim_s_per_cpu_s synapses plastic_synapses ns_per_step "
               "ns_per_synapse_step spikes events ns_per_event floor_ns_per_synapse_step\n");
        for (int pl = 1; pl >= 0; pl--)
            if (net_timing(atof(argv[2]), (size_t)atol(argv[3]), (size_t)atol(argv[4]),
                           (size_t)atol(argv[5]), pl))
                return 1;
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "check") == 0)
        return check((size_t)atol(argv[2]), (size_t)atol(argv[3]));
    if (argc >= 4 && strcmp(argv[1], "time") == 0) {
        printf("# N steps wall_s cpu_s sim_s_per_cpu_s ns_per_synapse_step ns_per_event events "
               "floor_ns_per_synapse_step\n");
        for (int a = 3; a < argc; a++)
            if (timing(atof(argv[2]), (size_t)atol(argv[a])))
                return 1;
        return 0;
    }
    fprintf(stderr, "usage: uz_bench time SECONDS N... | uz_bench check N STEPS | "
                    "uz_bench net SECONDS N0 N1 N2\n");
    return 2;
}

/* mc_bench.c: Euler steps per second of the microcircuit kernel's network
 * (src/kernels/microcircuit/mc_model.c), one core.
 *
 *   build/bench/mc_bench SECONDS SIZES...        SIZES like 9-30-3 or 784-500-500-10
 *   build/bench/mc_bench --dump FILE SIZES       one reference trajectory for mc_numpy.py
 *   build/bench/mc_bench --steps N SIZES...      exactly N steps per case (for instruction
 *                                                counts: valgrind --tool=callgrind at N and 2N)
 *   build/bench/mc_bench --v2 ...                any of the above with the kernel's numerics v2
 *                                                (libm exp, GSL's Gaussian) instead of v3
 *
 * Each case builds the network with the 2018 paper's defaults (g_lk 0.1, g_B 1,
 * g_A 0.8, g_D 1, g_som 0.8, dt 0.1 ms, tau_in 3 ms, tau_w 30 ms, sigma 0.1,
 * logistic phi), random weights U(-1,1), and steps it on one random input
 * pattern with a target and every plasticity rule on (eta_down 0: fixed
 * feedback) for about SECONDS of CPU time, the noise drawn from a xoshiro256**
 * stream as a task's "noise" stream is. It prints one line per case:
 * "sizes steps cpu_seconds wall_seconds steps_per_cpu_second maxrss_kb"; the
 * peak resident set is the process's so far (run one case per process to
 * get it per network, as bench.py does).
 *
 * --dump writes the initial weights, the input, the target and the soma
 * potentials after 200 noise-free plastic steps as text, so that the NumPy
 * version can check that it computes the same equations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../../src/kernels/microcircuit/mc.h"
#include "neuromic/internal/rng.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_sizes(const char *s, size_t *n)
{
    int L = -1;
    for (const char *p = s; *p && L + 1 < MC_MAX_LAYERS;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0)
            return -1;
        n[++L] = (size_t)v;
        p = *end == '-' ? end + 1 : end;
        if (*end && *end != '-')
            return -1;
    }
    return L >= 1 ? L : -1;
}

/* Numerics v3 (the kernel's default) unless --v2. */
static bool v2;

static mc_config paper_config(void)
{
    mc_config c = {
        .phi = {.kind = MC_PHI_LOGISTIC, .gamma = 1, .beta = 1, .theta = 0},
        .g_lk = 0.1, .g_B = 1.0, .g_A = 0.8, .g_D = 1.0, .g_som = 0.8, .g_lk_dend = 1.0,
        .dt = 0.1, .tau_in = 3.0, .tau_w = 30.0, .sigma = 0.1,
        .eta_up = 0.0011875, .eta_up_out = 0.0005, .eta_IP = 0.0011875, .eta_PI = 0.0059375,
    };
    c.phi.own_exp = c.numerics_v3 = !v2;
    return c;
}

/* Network, input and target for sizes n[0..L]; the weights and data come from one stream. */
static mc_net *setup(const mc_config *c, const size_t *n, int L, gsl_rng *rng, double *x)
{
    mc_net *net = mc_net_alloc(c, n, L);
    if (!net)
        return NULL;
    mc_net_init_random(net, rng, 1.0);
    for (size_t i = 0; i < n[0]; i++)
        x[i] = gsl_rng_uniform(rng);
    for (size_t i = 0; i < n[L]; i++)
        net->target->data[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    net->nudge = true;
    return net;
}

static void dump_matrix(FILE *f, const char *name, int k, const gsl_matrix *m)
{
    if (!m)
        return;
    fprintf(f, "%s %d %zu %zu\n", name, k, m->size1, m->size2);
    for (size_t i = 0; i < m->size1 * m->size2; i++)
        fprintf(f, "%.17g\n", m->data[i]);
}

static void dump_vector(FILE *f, const char *name, int k, const double *v, size_t n)
{
    fprintf(f, "%s %d %zu 1\n", name, k, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g\n", v[i]);
}

static int dump(const char *path, const size_t *n, int L)
{
    mc_config c = paper_config();
    c.sigma = 0; /* no noise: the two implementations draw differently */
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *x = malloc(n[0] * sizeof *x);
    FILE *f = fopen(path, "w");
    mc_net *net = rng && x && f ? setup(&c, n, L, rng, x) : NULL;
    if (!net) {
        fprintf(stderr, "mc_bench: %s: cannot write the dump\n", path);
        return 1;
    }
    for (int k = 1; k <= L; k++) {
        const mc_layer *l = &net->layer[k];
        dump_matrix(f, "W_up", k, l->W_up);
        dump_matrix(f, "W_down", k, l->W_down);
        dump_matrix(f, "W_PI", k, l->W_PI);
        dump_matrix(f, "W_IP", k, l->W_IP);
    }
    dump_vector(f, "x", 0, x, n[0]);
    dump_vector(f, "target", L, net->target->data, n[L]);
    for (int s = 0; s < 200; s++)
        mc_net_step(net, x, true, NULL);
    for (int k = 1; k <= L; k++) {
        dump_vector(f, "u", k, net->layer[k].u->data, n[k]);
        dump_matrix(f, "W_up_after", k, net->layer[k].W_up);
    }
    fclose(f);
    mc_net_free(net);
    free(x);
    gsl_rng_free(rng);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n[MC_MAX_LAYERS];
    if (argc >= 2 && !strcmp(argv[1], "--v2")) {
        v2 = true;
        argv++, argc--;
    }
    if (argc == 4 && !strcmp(argv[1], "--dump")) {
        int L = parse_sizes(argv[3], n);
        return L < 0 ? 2 : dump(argv[2], n, L);
    }
    long fixed = 0; /* --steps N: that many steps instead of a CPU time */
    if (argc >= 4 && !strcmp(argv[1], "--steps")) {
        fixed = atol(argv[2]);
        if (fixed <= 0) {
            fprintf(stderr, "mc_bench: bad step count '%s'\n", argv[2]);
            return 2;
        }
        argv++, argc--;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: mc_bench [--v2] SECONDS SIZES... | mc_bench [--v2] --steps N "
                        "SIZES... | mc_bench [--v2] --dump FILE SIZES\n");
        return 2;
    }
    double seconds = fixed ? 0 : atof(argv[1]);
    printf("# sizes steps cpu_seconds wall_seconds steps_per_cpu_second maxrss_kb\n");
    for (int a = 2; a < argc; a++) {
        int L = parse_sizes(argv[a], n);
        if (L < 0) {
            fprintf(stderr, "mc_bench: bad sizes '%s' (like 30-50-10)\n", argv[a]);
            return 2;
        }
        mc_config c = paper_config();
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        /* the noise from a stream of the kind the kernel's tasks get */
        gsl_rng *noise = gsl_rng_alloc(nm_rng_xoshiro256ss);
        double *x = malloc(n[0] * sizeof *x);
        mc_net *net = rng && noise && x ? setup(&c, n, L, rng, x) : NULL;
        if (!net) {
            fprintf(stderr, "mc_bench: out of memory for %s\n", argv[a]);
            return 1;
        }
        gsl_rng_set(noise, 1);
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC), c1;
        long steps = 0;
        if (fixed) {
            for (; steps < fixed; steps++)
                mc_net_step(net, x, true, noise);
            c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        } else {
            do { /* clock checks every 10 steps, at least 50 steps */
                for (int q = 0; q < 10; q++)
                    mc_net_step(net, x, true, noise);
                steps += 10;
                c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            } while (c1 - c0 < seconds || steps < 50);
        }
        double w1 = clock_s(CLOCK_MONOTONIC);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%s %ld %.4f %.4f %.1f %ld\n", argv[a], steps, c1 - c0, w1 - w0,
               (double)steps / (c1 - c0), ru.ru_maxrss);
        mc_net_free(net);
        free(x);
        gsl_rng_free(rng);
        gsl_rng_free(noise);
    }
    return 0;
}

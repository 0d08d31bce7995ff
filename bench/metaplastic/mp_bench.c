/* mp_bench.c: speed of the metaplastic kernel's inner loop
 * (src/kernels/metaplastic/) on one core.
 *
 *   build/bench/mp_bench check N0 N1 ... NL UPDATES
 *       the weights after UPDATES plastic updates (feedback alignment, pool
 *       F0-F2, theta = 0.02 0.01 0.005) from the deterministic start below,
 *       one per line (%.17g), layer by layer: bench/metaplastic/mp_numpy.py
 *       does the same and bench.py compares them
 *   build/bench/mp_bench time SECONDS R N0 N1 ... NL
 *       "updates_per_s tangent_updates_per_s meta_steps_per_s flops flops_tangent R"
 *       for the pool F0..F(R-1): plastic updates without and with the
 *       tangents, and meta-steps (one 5-way episode of 250 updates and 50
 *       queries, with its gradient)
 *   build/bench/mp_bench kinds SECONDS N0 N1 ... NL
 *       "plain learned chemical": updates per CPU second with the tangents,
 *       pool F0-F2, for the plain rule with fa, the plain rule with learned
 *       feedback (R = 3 + 3), and chemical synapses (C = 2, fa)
 *   build/bench/mp_bench updates KIND COUNT N0 N1 ... NL
 *       COUNT updates with the tangents of one of those kinds and nothing
 *       else (for instruction counts under valgrind --tool=callgrind)
 *
 * The start needs no random numbers, so that NumPy can replay it: W_l[i] =
 * lim (2 frac((i + 1) g + 0.1 l) - 1), B_l[i] the same with sqrt 2 and
 * 0.3 l (g the golden ratio, lim Xavier's), input j pixel i = frac((j n0 +
 * i) sqrt 2 / 3), class j mod C. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/kernels/metaplastic/mp.h"

static const double GOLDEN = 0.6180339887498949, SQRT2 = 1.4142135623730951;
static const double THETA[MP_NTERMS] = {0.02, 0.01, 0.005, 0.001, -0.001, 0.001};

static double frac(double x)
{
    return x - floor(x);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void start(mp_net *net)
{
    const mp_config *c = mp_net_config(net);
    for (int l = 1; l <= c->L; l++) {
        size_t sz = c->n[l] * c->n[l - 1];
        double lim = sqrt(6.0 / (double)(c->n[l] + c->n[l - 1]));
        double *W = mp_net_weights(net, l), *B = mp_net_feedback(net, l);
        for (size_t i = 0; i < sz; i++) {
            W[i] = lim * (2 * frac((double)(i + 1) * GOLDEN + 0.1 * l) - 1);
            B[i] = lim * (2 * frac((double)(i + 1) * SQRT2 + 0.3 * l) - 1);
        }
    }
    mp_net_restart(net, THETA);
}

static void inputs(const mp_config *c, size_t count, double *x, int *y)
{
    size_t n0 = c->n[0];
    for (size_t j = 0; j < count; j++) {
        for (size_t i = 0; i < n0; i++)
            x[j * n0 + i] = frac((double)(j * n0 + i) * SQRT2 / 3.0);
        y[j] = (int)(j % c->n[c->L]);
    }
}

static int parse_sizes(int argc, char **argv, mp_config *c)
{
    *c = (mp_config){.L = argc - 1, .feedback = MP_FA, .beta = 10, .R = 3,
                     .term = {0, 1, 2, 3, 4, 5}};
    if (c->L < 1 || c->L > MP_MAXL)
        return -1;
    for (int l = 0; l < argc; l++)
        c->n[l] = (size_t)atol(argv[l]);
    return 0;
}


static int check(int argc, char **argv)
{
    mp_config c;
    if (parse_sizes(argc - 1, argv, &c))
        return 2;
    size_t updates = (size_t)atol(argv[argc - 1]);
    mp_net *net = mp_net_alloc(&c);
    double *x = malloc(updates * c.n[0] * sizeof *x);
    int *y = malloc(updates * sizeof *y);
    if (!net || !x || !y)
        return 1;
    start(net);
    inputs(&c, updates, x, y);
    for (size_t j = 0; j < updates; j++)
        mp_net_learn(net, THETA, x + j * c.n[0], y[j], NULL);
    for (int l = 1; l <= c.L; l++) {
        const double *W = mp_net_weights(net, l);
        for (size_t i = 0; i < c.n[l] * c.n[l - 1]; i++)
            printf("%.17g\n", W[i]);
    }
    mp_net_free(net);
    free(x), free(y);
    return 0;
}

/* Plastic updates per CPU second, cycling over `count` inputs. */
static double rate(mp_config c, bool tangents, double seconds, const double *x, const int *y,
                   size_t count)
{
    c.tangents = tangents;
    mp_net *net = mp_net_alloc(&c);
    if (!net)
        return -1;
    start(net);
    size_t n = 0;
    double t0 = cpu_now(), t;
    do {
        for (int k = 0; k < 50; k++, n++)
            mp_net_learn(net, THETA, x + (n % count) * c.n[0], y[n % count], NULL);
        t = cpu_now() - t0;
    } while (t < seconds);
    mp_net_free(net);
    return (double)n / t;
}

/* Meta-steps (episode of 250 updates and 50 queries, with the gradient) per CPU second. */
static double meta_rate(mp_config c, double seconds, const double *x, const int *y)
{
    c.tangents = true;
    mp_net *net = mp_net_alloc(&c);
    if (!net)
        return -1;
    size_t n = 0;
    double t0 = cpu_now(), t;
    do {
        mp_result r;
        start(net);
        mp_episode(net, THETA, x, y, 250, x + 250 * c.n[0], y + 250, 50, &r);
        n++;
        t = cpu_now() - t0;
    } while (t < seconds);
    mp_net_free(net);
    return (double)n / t;
}

static int timing(int argc, char **argv)
{
    double seconds = atof(argv[0]);
    int R = atoi(argv[1]);
    mp_config c;
    if (parse_sizes(argc - 2, argv + 2, &c) || R < 1 || R > MP_NTERMS)
        return 2;
    c.R = R;
    size_t count = 300;
    double *x = malloc(count * c.n[0] * sizeof *x);
    int *y = malloc(count * sizeof *y);
    if (!x || !y)
        return 1;
    inputs(&c, count, x, y);
    double plain = rate(c, false, seconds, x, y, count);
    double tang = rate(c, true, seconds, x, y, count);
    double meta = meta_rate(c, seconds, x, y);
    printf("%.6g %.6g %.6g %.6g %.6g %d\n", plain, tang, meta, mp_flops_update(&c, false),
           mp_flops_update(&c, true), c.R);
    free(x), free(y);
    return 0;
}

/* The configuration of a kind: plain, learned or chemical, pool F0-F2, tangents on. */
static int kind_config(const char *kind, mp_config *c)
{
    c->R = 3, c->tangents = true;
    if (!strcmp(kind, "learned"))
        c->feedback = MP_LEARNED;
    else if (!strcmp(kind, "chemical"))
        c->chemical = true, c->nchem = 2, c->tau_min = 1, c->tau_max = 50;
    else if (strcmp(kind, "plain"))
        return -1;
    return 0;
}

/* The kind's meta-parameters: the rule THETA, phi = 0.01 0.005 0.001, or
 * the chemical start from THETA's F0 with every parameter moved off it. */
static void kind_theta(const mp_config *c, double *theta)
{
    memset(theta, 0, MP_MAXPARAM * sizeof *theta);
    memcpy(theta, THETA, (size_t)c->R * sizeof *theta);
    if (c->feedback == MP_LEARNED)
        theta[c->R] = 0.01, theta[c->R + 1] = 0.005, theta[c->R + 2] = 0.001;
    if (c->chemical) {
        mp_chem_start(c, THETA[0], theta);
        for (int m = 0; m < mp_nparams(c); m++)
            theta[m] += 0.01 * sin(1.0 + m);
    }
}

static int kinds(int argc, char **argv, bool timed)
{
    static const char *const names[3] = {"plain", "learned", "chemical"};
    double seconds = timed ? atof(argv[0]) : 0;
    long count = timed ? 0 : atol(argv[1]);
    mp_config c0;
    int first = timed ? 1 : 2; /* SECONDS N0 .. NL, or KIND COUNT N0 .. NL */
    if (parse_sizes(argc - first, argv + first, &c0))
        return 2;
    size_t nx = 300;
    double *x = malloc(nx * c0.n[0] * sizeof *x);
    int *y = malloc(nx * sizeof *y);
    if (!x || !y)
        return 1;
    inputs(&c0, nx, x, y);
    for (int k = 0; k < 3; k++) {
        if (!timed && strcmp(argv[0], names[k]))
            continue;
        mp_config c = c0;
        double theta[MP_MAXPARAM];
        kind_config(names[k], &c);
        kind_theta(&c, theta);
        mp_net *net = mp_net_alloc(&c);
        if (!net)
            return 1;
        start(net);
        mp_net_restart(net, theta);
        long n = 0;
        double t0 = cpu_now(), t = 0;
        while (timed ? t < seconds : n < count) {
            for (int j = 0; j < 10; j++, n++)
                mp_net_learn(net, theta, x + (size_t)(n % (long)nx) * c.n[0], y[n % (long)nx],
                             NULL);
            t = cpu_now() - t0;
        }
        if (timed)
            printf("%.6g ", (double)n / t);
        mp_net_free(net);
    }
    if (timed)
        printf("\n");
    free(x), free(y);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 4 && !strcmp(argv[1], "kinds"))
        return kinds(argc - 2, argv + 2, true);
    if (argc > 5 && !strcmp(argv[1], "updates") && !kind_config(argv[2], &(mp_config){0}))
        return kinds(argc - 2, argv + 2, false);
    if (argc > 3 && !strcmp(argv[1], "check"))
        return check(argc - 2, argv + 2);
    if (argc > 5 && !strcmp(argv[1], "time"))
        return timing(argc - 2, argv + 2);
    fprintf(stderr, "usage: mp_bench check N0 .. NL UPDATES | time SECONDS R N0 .. NL | kinds "
                    "SECONDS N0 .. NL | updates plain|learned|chemical COUNT N0 .. NL\n");
    return 2;
}

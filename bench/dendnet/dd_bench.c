/* dd_bench.c: speed of the dendnet kernel's parts (src/kernels/dendnet/) on
 * one core.
 *
 *   build/bench/dd_bench neuron SECONDS
 *       the kernel's default neuron (47 compartments, 94 inputs, dt 0.1 ms)
 *       driven by its default inputs, 5 s simulations until SECONDS of CPU:
 *       "n_comp n_inputs sim_s cpu_s wall_s spikes"
 *   build/bench/dd_bench tcn CIN DEPTH WIDTH RF FIRST B L STEPS
 *       STEPS training steps (forward, backward, Adam) on B windows of L bins:
 *       "samples cpu_s wall_s loss" (samples = output bins B L STEPS)
 *   build/bench/dd_bench check CIN DEPTH WIDTH RF FIRST B L
 *       one forward and backward: the loss, then the gradient, one per line
 *
 * The TCN's inputs, targets and weights are generated without random numbers
 * so that bench/dendnet/dd_numpy.py builds the same ones (see there). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "../../src/kernels/dendnet/dendnet.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double frac(double x)
{
    return x - floor(x);
}

static int bench_neuron(double seconds)
{
    dn_morph m = {.n_basal = 4, .basal_order = 2, .basal_seg = 2, .basal_len = 120,
                  .basal_diam = 0.8, .trunk_seg = 4, .trunk_len = 400, .trunk_diam = 2.5,
                  .n_tuft = 3, .tuft_order = 2, .tuft_seg = 2, .tuft_len = 150, .tuft_diam = 0.6,
                  .soma_diam = 20, .cm = 1, .Rm = 15000, .Ra = 150};
    dn_cell_params p = {.tau_rise = {0.3, 2, 0.2}, .tau_decay = {3, 70, 8}, .g = {0.8, 0.8, 1},
                        .E = {0, 0, -80}, .mg = 1, .E_L = -70, .v_th = -55, .spike_ms = 1,
                        .spike_g = 100, .spike_E = 30, .ref_ms = 3, .ahp_g = 100, .ahp_E = -75,
                        .dt = 0.1};
    dn_tree *tr = dn_tree_alloc(&m);
    dn_cell *c = tr ? dn_cell_alloc(tr, &p, 1, 1) : NULL;
    if (!c)
        return 1;
    dn_input_params ip = {.n_exc = c->n_exc, .n_inh = c->n_inh, .rate_e = 10.5, .rate_i = 15,
                          .seg_min = 100, .seg_max = 1000, .smooth_ms = 20, .bal_lo = 0.8,
                          .bal_hi = 1.2};
    size_t T = 5000;
    int nin = c->n_exc + c->n_inh;
    uint8_t *x = malloc((size_t)nin * T), *y = malloc(T);
    float *v = malloc(T * sizeof *v);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    double cpu = 0, wall = 0, sim = 0;
    long spikes = 0;
    while (cpu < seconds) {
        dn_inputs_draw(&ip, T, r, x); /* not timed: the neuron alone */
        double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
        dn_cell_reset(c);
        spikes += dn_cell_run(c, x, T, y, v);
        cpu += now(CLOCK_PROCESS_CPUTIME_ID) - c0, wall += now(CLOCK_MONOTONIC) - w0;
        sim += (double)T * 1e-3;
    }
    printf("%d %d %.3f %.4f %.4f %ld\n", tr->n, nin, sim, cpu, wall, spikes);
    free(x), free(y), free(v);
    gsl_rng_free(r);
    dn_cell_free(c);
    dn_tree_free(tr);
    return 0;
}

/* Weights w[i] = 0.3 sin(0.7 i + 1) / sqrt(fan-in of their layer); inputs
 * x[c][j] = 1 when frac((c * cols + j) * golden) < 0.1; targets
 * y[j] = frac(j sqrt 2) < 0.05, v[j] = sin(0.01 j). */
typedef struct {
    dn_tcn *n;
    dn_work *w;
    double *x, *v;
    uint8_t *y;
} problem;

static int problem_make(problem *pb, char **a)
{
    int cin = atoi(a[0]), depth = atoi(a[1]), width = atoi(a[2]), rf = atoi(a[3]);
    int first = atoi(a[4]), B = atoi(a[5]), L = atoi(a[6]);
    pb->n = dn_tcn_alloc(cin, depth, width, rf, first);
    if (!pb->n)
        return -1;
    pb->w = dn_work_alloc(pb->n, B, L);
    int Lin = L + pb->n->rf - 1;
    size_t cols = (size_t)B * Lin;
    pb->x = malloc((size_t)cin * cols * sizeof *pb->x);
    pb->v = malloc((size_t)B * L * sizeof *pb->v);
    pb->y = malloc((size_t)B * L);
    if (!pb->w || !pb->x || !pb->v || !pb->y)
        return -1;
    const double golden = 0.6180339887498949;
    for (size_t i = 0; i < (size_t)cin * cols; i++)
        pb->x[i] = frac((double)i * golden) < 0.1;
    for (int j = 0; j < B * L; j++)
        pb->y[j] = frac(j * 1.4142135623730951) < 0.05, pb->v[j] = sin(0.01 * j);
    dn_tcn *n = pb->n;
    for (int l = 0; l <= depth; l++) {
        size_t off = l < depth ? n->off_W[l] : n->off_head;
        size_t end = l < depth ? n->off_b[l] : n->off_hb;
        double fan = l < depth ? (l == 0 ? cin : width) * n->K[l] : width;
        for (size_t i = off; i < end; i++)
            n->w[i] = 0.3 * sin(0.7 * (double)i + 1) / sqrt(fan);
    }
    return 0;
}

static void problem_free(problem *pb)
{
    dn_tcn_free(pb->n);
    dn_work_free(pb->w);
    free(pb->x), free(pb->v), free(pb->y);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "neuron"))
        return bench_neuron(atof(argv[2]));
    bool tcn = argc == 10 && !strcmp(argv[1], "tcn"), check = argc == 9 && !strcmp(argv[1], "check");
    if (!tcn && !check) {
        fprintf(stderr, "usage: dd_bench neuron SECONDS | tcn CIN DEPTH WIDTH RF FIRST B L STEPS |"
                        " check CIN DEPTH WIDTH RF FIRST B L\n");
        return 2;
    }
    problem pb = {0};
    if (problem_make(&pb, argv + 2)) {
        fprintf(stderr, "dd_bench: bad shape or out of memory\n");
        problem_free(&pb);
        return 2;
    }
    int B = atoi(argv[7]), L = atoi(argv[8]), steps = tcn ? atoi(argv[9]) : 1;
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC), loss = 0, bce, mse;
    for (int s = 0; s < steps; s++) {
        const double *lo, *vo;
        dn_tcn_forward(pb.n, pb.w, pb.x, B, &lo, &vo);
        loss = dn_tcn_backward(pb.n, pb.w, pb.y, pb.v, 0.5, &bce, &mse);
        if (tcn)
            dn_tcn_adam(pb.n, 1e-3, 0.9, 0.999, 1e-8, 0);
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = now(CLOCK_MONOTONIC) - w0;
    if (tcn) {
        printf("%ld %.4f %.4f %.9g\n", (long)B * L * steps, cpu, wall, loss);
    } else {
        printf("%.17g\n", loss);
        for (size_t i = 0; i < pb.n->np; i++)
            printf("%.17g\n", pb.n->g[i]);
    }
    problem_free(&pb);
    return 0;
}

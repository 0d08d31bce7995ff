/* fd_bench.c: training speed of the folded kernel's network (patterns per CPU
 * second: relaxation by the fixed-point iteration, then the local updates),
 * for bench/folded/bench.py, which runs the NumPy version of the same
 * equations (fd_numpy.py) next to it.
 *
 *   fd_bench check N0 N1 N2 LAMBDA ITER PATTERNS   one line: the sums of every
 *       W_i and G_i after PATTERNS patterns (weights and inputs from the
 *       closed forms below, which fd_numpy.py repeats), for the cross-check
 *   fd_bench time N0 N1 N2 LAMBDA ITER SECONDS     patterns, CPU seconds, patterns/s
 *
 * ITER fixed-point sweeps per pattern exactly (tol 0), so that both versions
 * do the same work; learning rates 0.64 / N0 (0.01 for the digits' 64
 * inputs), small enough that neither size diverges. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/kernels/folded/folded.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Weight (r, c) of matrix m: a smooth closed form in [-1, 1] over sqrt(fan-in). */
static void fill(gsl_matrix *M, int m)
{
    for (size_t r = 0; r < M->size1; r++)
        for (size_t c = 0; c < M->size2; c++)
            gsl_matrix_set(M, r, c,
                           sin(1.0 + 0.37 * (double)r + 0.11 * (double)c + 1.7 * m) /
                               sqrt((double)M->size2));
}

/* Input pattern p in [0, 1]. */
static void pattern(double *x, size_t n, long p)
{
    for (size_t j = 0; j < n; j++)
        x[j] = 0.5 + 0.5 * sin(0.7 * (double)p + 0.13 * (double)j);
}

int main(int argc, char **argv)
{
    if (argc != 8 || (strcmp(argv[1], "check") && strcmp(argv[1], "time"))) {
        fprintf(stderr, "usage: fd_bench check|time N0 N1 N2 LAMBDA ITER PATTERNS|SECONDS\n");
        return 2;
    }
    size_t n[3] = {(size_t)atol(argv[2]), (size_t)atol(argv[3]), (size_t)atol(argv[4])};
    fd_config c = {
        .phi = {.kind = MC_PHI_LOGISTIC, .gamma = 1, .beta = 1, .theta = 0},
        .lambda = atof(argv[5]), .tau = 10, .relax = FD_RELAX_FIXED, .damping = 0.5,
        .tol = 0, .max_iter = atoi(argv[6]),
    };
    /* a stable step: the rule's step on W_1 grows with |x|^2, i.e. with n0 */
    c.eta_W = c.eta_G = 0.64 / (double)n[0];
    fd_net *net = fd_net_alloc(&c, n, 2);
    double *x = malloc(n[0] * sizeof *x);
    if (!net || !x) {
        fprintf(stderr, "fd_bench: out of memory\n");
        return 1;
    }
    fill(net->W[1], 1), fill(net->W[2], 2), fill(net->G[0], 3), fill(net->G[1], 4);
    if (!strcmp(argv[1], "check")) {
        long np = atol(argv[7]);
        for (long p = 0; p < np; p++) {
            pattern(x, n[0], p);
            fd_learn(net, x);
        }
        gsl_matrix *ms[] = {net->W[1], net->W[2], net->G[0], net->G[1]};
        for (int k = 0; k < 4; k++) {
            double s = 0;
            for (size_t e = 0; e < ms[k]->size1 * ms[k]->size2; e++)
                s += ms[k]->data[e];
            printf("%.17g%c", s, k < 3 ? ' ' : '\n');
        }
    } else {
        double budget = atof(argv[7]), t0 = cpu_seconds(), t;
        long p = 0;
        do {
            for (int k = 0; k < 10; k++, p++) {
                pattern(x, n[0], p);
                fd_learn(net, x);
            }
            t = cpu_seconds() - t0;
        } while (t < budget);
        printf("%ld %.6f %.3f\n", p, t, (double)p / t);
    }
    free(x);
    fd_net_free(net);
    return 0;
}

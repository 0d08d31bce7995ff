/* nk_bench.c: learning cycles per second of the nk kernel's networks, with
 * incremental and with full evaluation, on one core.
 *
 *   build/bench/nk_bench [SECONDS [N...]]     (default 1.5 s per case; N = 20 100 500)
 *
 * For each N, model (mlp, nmlp, hmlp) and evaluation mode it builds the
 * kernel's default problem (K = 4, H = 10, R = 1, 1000 training examples),
 * climbs from the initial network for about SECONDS of wall-clock time, and
 * prints one line: "N model mode cycles seconds cycles_per_second". Both modes
 * start from the same network with the same search stream, so they walk the
 * same path (tests/unit/test_nk.c checks that) and the ratio of their rates is
 * the speed-up of incremental evaluation alone. bench/nk/bench.py runs this
 * and the NumPy version and prints the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../src/kernels/nk/nk.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, seed);
    return r;
}

/* Cycles per second of one case; -1 on out of memory. */
static int bench_case(const nk_dataset *train, nk_config c, double seconds, long *cycles,
                      double *elapsed)
{
    nk_net *net = nk_net_alloc(&c, train);
    gsl_rng *w = rng(2), *d = rng(3), *s = rng(4);
    if (!net || !w || !d || !s) {
        nk_net_free(net);
        gsl_rng_free(w), gsl_rng_free(d), gsl_rng_free(s);
        return -1;
    }
    nk_net_init(net, w, d);
    double t0 = now(), t;
    long n = 0;
    nk_move mv;
    do { /* time checks every 10 cycles, at least 20 cycles */
        for (int q = 0; q < 10; q++)
            nk_net_cycle(net, s, &mv);
        n += 10;
        t = now();
    } while (t - t0 < seconds || n < 20);
    *cycles = n;
    *elapsed = t - t0;
    nk_net_free(net);
    gsl_rng_free(w), gsl_rng_free(d), gsl_rng_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.5;
    int default_n[] = {20, 100, 500};
    int nn = argc > 2 ? argc - 2 : 3;
    static const char *models[] = {"mlp", "nmlp", "hmlp"};
    printf("# N model mode cycles seconds cycles_per_second\n");
    for (int a = 0; a < nn; a++) {
        int n = argc > 2 ? atoi(argv[a + 2]) : default_n[a];
        gsl_rng *r = rng(1);
        nk_landscape *l = r ? nk_landscape_alloc(n, 4, NK_LINKS_RANDOM, r) : NULL;
        nk_dataset *train = l ? nk_dataset_alloc(l, 1000, r) : NULL;
        if (!train) {
            fprintf(stderr, "nk_bench: cannot build N=%d (need N > 4, memory)\n", n);
            return 1;
        }
        for (int m = 0; m < 3; m++)
            for (int full = 0; full < 2; full++) {
                nk_config c = {.model = (nk_model)m, .n = n, .h = 10, .r = 1.0, .full = full};
                long cycles;
                double el;
                if (bench_case(train, c, seconds, &cycles, &el)) {
                    fprintf(stderr, "nk_bench: out of memory\n");
                    return 1;
                }
                printf("%d %s %s %ld %.4f %.2f\n", n, models[m], full ? "full" : "incremental",
                       cycles, el, cycles / el);
                fflush(stdout);
            }
        nk_dataset_free(train);
        nk_landscape_free(l);
        gsl_rng_free(r);
    }
    return 0;
}

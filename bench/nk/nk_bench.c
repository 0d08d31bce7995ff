/* nk_bench.c: learning cycles per CPU-second of the nk kernel's networks,
 * with incremental and with full evaluation, on one core; and the cost of
 * one sigmoid in the kernel's innermost loop.
 *
 *   nk_bench [SECONDS [N...]]    (default 1.5 s per case; N = 20 100 500)
 *   nk_bench sigmoid [SECONDS]   (ns per sigmoid, each compiled copy and libm)
 *   nk_bench ties [CYCLES [SEEDS [N...]]] (decisions: single vs double decoder outputs)
 *
 * For each N, model (mlp, nmlp, hmlp) and evaluation mode it builds the
 * kernel's default problem (K = 4, H = 10, R = 1, 1000 training examples),
 * climbs from the initial network for about SECONDS of this thread's CPU
 * time, and prints one line: "N model mode cycles seconds cycles_per_second".
 * CPU time, not wall-clock time, so that other work on a shared machine
 * slows the rates less. Both modes start from the same network with the same
 * search stream, so they walk the same path (tests/unit/test_nk.c checks
 * that) and the ratio of their rates is the speed-up of incremental
 * evaluation alone.
 *
 * The source compiles against the nk sources of any kernel version (it uses
 * only the networks' interface), so bench/nk/bench.py builds it against an
 * older commit too and compares the two in one run. The sigmoid mode needs
 * the vectorised loops (NK_HAVE_VEC, kernel version 2 on). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nk.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        gsl_rng_set(r, seed);
    return r;
}

/* Cycles and CPU seconds of one case; -1 on out of memory. */
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
    double t0 = cpu_now(), t;
    long n = 0;
    nk_move mv;
    do { /* time checks every 10 cycles, at least 20 cycles */
        for (int q = 0; q < 10; q++)
            nk_net_cycle(net, s, &mv);
        n += 10;
        t = cpu_now();
    } while (t - t0 < seconds || n < 20);
    *cycles = n;
    *elapsed = t - t0;
    nk_net_free(net);
    gsl_rng_free(w), gsl_rng_free(d), gsl_rng_free(s);
    return 0;
}

static int bench_cycles(double seconds, int argc, char **argv)
{
    int default_n[] = {20, 100, 500};
    int nn = argc > 2 ? argc - 2 : 3;
    static const char *models[] = {"mlp", "nmlp", "hmlp"};
    printf("# N model mode cycles cpu_seconds cycles_per_cpu_second\n");
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

#ifdef NK_HAVE_VEC
/* The nmlp encoder move's loop (E = 1000 examples, 100 decoders): the sum of
 * (sigmoid(d_i h) - x_i)^2, through one copy of the loops, or written as the
 * kernel's version 1 had it (a libm exp per example). */
enum { E = 1000, NDEC = 100 };

static double libm_neuron_sse(double scale, const double *h, const double *x, int e)
{
    double s = 0;
    for (int q = 0; q < e; q++) {
        double r = 1.0 / (1.0 + exp(-(scale * h[q]))) - x[q];
        s += r * r;
    }
    return s;
}

/* ns per sigmoid over about `seconds` of CPU time; vec NULL: libm; single:
 * the single-precision decoder loop (kernel version 3 on). */
static double sigmoid_ns(const nk_vec_ops *vec, bool single, const double *h, const double *x,
                         const double *d, double seconds, double *sink)
{
    long evals = 0;
    double t0 = cpu_now(), t;
    do {
        for (int i = 0; i < NDEC; i++)
            *sink += !vec ? libm_neuron_sse(d[i], h, x + (size_t)i * E, E)
#ifdef NK_HAVE_PRECISION
                     : single ? vec->neuron_sse32(NK_ACT_SIGMOID, d[i], 0.0, h, x + (size_t)i * E, E)
#endif
                              : vec->neuron_sse(NK_ACT_SIGMOID, d[i], 0.0, h, x + (size_t)i * E, E);
        evals += (long)NDEC * E;
        t = cpu_now();
    } while (t - t0 < seconds);
    return 1e9 * (t - t0) / (double)evals;
}

static int bench_sigmoid(double seconds)
{
    double *h = malloc(E * sizeof *h), *x = malloc((size_t)NDEC * E * sizeof *x);
    double d[NDEC], sink = 0;
    gsl_rng *r = rng(5);
    if (!h || !x || !r) {
        fprintf(stderr, "nk_bench: out of memory\n");
        return 1;
    }
    for (int q = 0; q < E; q++)
        h[q] = gsl_rng_uniform(r);
    for (int q = 0; q < NDEC * E; q++)
        x[q] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    for (int i = 0; i < NDEC; i++)
        d[i] = 8.0 * gsl_rng_uniform(r) - 4.0;
    printf("# copy ns_per_sigmoid (the nmlp encoder loop: sigmoid, difference, square, sum)\n");
    const nk_vec_ops *copies[] = {&nk_vec_generic, nk_vec_avx2(), nk_vec_best()};
    const char *names[] = {"generic", "avx2", "best"};
    for (int c = 0; c < 3; c++)
        if (copies[c])
            printf("%s %.3f\n", names[c], sigmoid_ns(copies[c], false, h, x, d, seconds, &sink));
#ifdef NK_HAVE_PRECISION
    for (int c = 0; c < 3; c++)
        if (copies[c])
            printf("%s-f32 %.3f\n", names[c],
                   sigmoid_ns(copies[c], true, h, x, d, seconds, &sink));
#endif
    printf("libm %.3f\n", sigmoid_ns(NULL, false, h, x, d, seconds, &sink));
    printf("# best copy: %s; checksum %.6g\n", nk_vec_best()->name, sink);
    free(h);
    free(x);
    gsl_rng_free(r);
    return 0;
}
#endif

#ifdef NK_HAVE_PRECISION
/* What single-precision decoder outputs change in the climber's decisions,
 * on the double-precision path: two networks with the same weights, one
 * computing decoder outputs in double (kernel version 2's arithmetic), one
 * in single, are shown the same proposal every cycle (the same search
 * stream); the double one's decision is carried out, and when the single
 * one decided otherwise it is reset to the double one's weights. Counts,
 * over the hidden-layer moves: ties in each precision, and decisions that
 * differ (each printed as a comment line: cycle, the objective before and
 * after in double and in single). Figure 4's settings (H = 10, R = 1, 1000
 * training examples, K = 4), SEEDS seeds (default 3) per N and model. */
static int copy_net(nk_net *to, const nk_net *from)
{
    const nk_config *c = &from->cfg;
    size_t n = (size_t)c->n, h = (size_t)c->h;
    memcpy(to->w, from->w, h * (n + 1) * sizeof *to->w);
    memcpy(to->v, from->v, (h + 1) * sizeof *to->v);
    memcpy(to->d, from->d, n * h * sizeof *to->d);
    nk_net_recompute(to, &to->cur);
    return 0;
}

static int bench_ties(long cycles, unsigned long seeds, int argc, char **argv)
{
    int default_n[] = {20, 50, 100, 200};
    int nn = argc > 4 ? argc - 4 : 4;
    static const char *models[] = {"mlp", "nmlp", "hmlp"};
    printf("# N model seed hidden_moves ties_double ties_single decisions_differ kept_double\n");
    for (int a = 0; a < nn; a++) {
        int n = argc > 4 ? atoi(argv[a + 4]) : default_n[a];
        for (int m = NK_NMLP; m <= NK_HMLP; m++)
            for (unsigned long seed = 1; seed <= seeds; seed++) {
                gsl_rng *r = rng(seed), *w[2] = {rng(seed + 100), rng(seed + 100)},
                        *d[2] = {rng(seed + 200), rng(seed + 200)}, *sa = rng(seed + 300),
                        *sb = rng(seed + 300);
                nk_landscape *l = nk_landscape_alloc(n, 4, NK_LINKS_RANDOM, r);
                nk_dataset *train = l ? nk_dataset_alloc(l, 1000, r) : NULL;
                nk_config c = {.model = (nk_model)m, .n = n, .h = 10, .r = 1.0};
                nk_config cd = c;
                cd.decoder_precision = NK_DOUBLE;
                nk_net *nd = train ? nk_net_alloc(&cd, train) : NULL;
                nk_net *ns = train ? nk_net_alloc(&c, train) : NULL;
                if (!nd || !ns) {
                    fprintf(stderr, "nk_bench: cannot build N=%d (need N > 4, memory)\n", n);
                    return 1;
                }
                nk_net_init(nd, w[0], d[0]);
                nk_net_init(ns, w[1], d[1]);
                long hidden = 0, tie_d = 0, tie_s = 0, differ = 0, kept = 0;
                for (long cyc = 0; cyc < cycles; cyc++) {
                    nk_move md, ms;
                    gsl_rng_memcpy(sb, sa);
                    nk_net_cycle(nd, sa, &md);
                    nk_net_cycle(ns, sb, &ms);
                    if (md.layer != NK_HIDDEN)
                        continue;
                    hidden++;
                    tie_d += md.tie;
                    tie_s += ms.tie;
                    kept += md.accepted;
                    if (md.accepted != ms.accepted) {
                        differ++;
                        printf("# differs: N=%d %s seed %lu cycle %ld: double %.17g -> %.17g%s,"
                               " single %.17g -> %.17g%s\n",
                               n, models[m], seed, cyc, md.before, md.after,
                               md.tie ? " (tie)" : "", ms.before, ms.after,
                               ms.tie ? " (tie)" : "");
                        copy_net(ns, nd);
                    }
                }
                printf("%d %s %lu %ld %ld %ld %ld %ld\n", n, models[m], seed, hidden, tie_d, tie_s,
                       differ, kept);
                fflush(stdout);
                nk_net_free(nd);
                nk_net_free(ns);
                nk_dataset_free(train);
                nk_landscape_free(l);
                gsl_rng_free(r), gsl_rng_free(sa), gsl_rng_free(sb);
                for (int q = 0; q < 2; q++)
                    gsl_rng_free(w[q]), gsl_rng_free(d[q]);
            }
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
#ifdef NK_HAVE_PRECISION
    if (argc > 1 && strcmp(argv[1], "ties") == 0)
        return bench_ties(argc > 2 ? atol(argv[2]) : 10000,
                          argc > 3 ? strtoul(argv[3], NULL, 10) : 3, argc, argv);
#endif
    if (argc > 1 && strcmp(argv[1], "sigmoid") == 0) {
#ifdef NK_HAVE_VEC
        return bench_sigmoid(argc > 2 ? atof(argv[2]) : 1.0);
#else
        fprintf(stderr, "nk_bench: this kernel version has no vectorised loops\n");
        return 1;
#endif
    }
    return bench_cycles(argc > 1 ? atof(argv[1]) : 1.5, argc, argv);
}

/* mc_trace.c: the whole state of the microcircuit network after a few
 * hundred steps, for 428 settings, as exact hexadecimal floats: two builds of
 * mc_model.c that print the same trace compute the same results bit for bit.
 * It is how a change meant only to make the step faster is checked.
 *
 *   make build/neuromic      (for build/obj/libnmcore.a: the engine's random draws)
 *   cc -std=c17 -D_GNU_SOURCE -O2 -Iinclude -Isrc/kernels/microcircuit \
 *      $(pkg-config --cflags openblas) bench/microcircuit/mc_trace.c MODEL.c \
 *      build/obj/libnmcore.a -lgsl -lopenblas -lyaml -lz -lm -o /tmp/trace
 *   /tmp/trace > trace.txt            (big: also runs 784-100-10 for 30 steps)
 *   /tmp/trace --v3 > trace3.txt      (the same under numerics v3)
 *
 * The settings cross seven networks (2 to 5 layers; rows of 2 to 784
 * weights, narrow and wide matrices, one past the BLAS threshold) with seven
 * transfer functions (logistic, softplus and relu, several gamma, beta,
 * theta) and ten variants of the rest: noise on and off, latent equilibrium,
 * tau_w 0 and > 0, tau_syn, i_inj, clipping, top-down plasticity, rates of
 * zero, another dt; every third run switches nudging, the input and
 * plasticity on and off during the run. Some settings diverge (NaN): IEEE
 * 754 leaves the sign of a NaN unspecified and compilers do not keep it, so
 * compare NaN signs only for what they are (sed 's/-nan/nan/g'). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

static void print_vec(const gsl_vector *v)
{
    for (size_t i = 0; v && i < v->size; i++)
        printf("%a\n", v->data[i]);
}

static void print_mat(const gsl_matrix *m)
{
    for (size_t i = 0; m && i < m->size1; i++)
        for (size_t j = 0; j < m->size2; j++)
            printf("%a\n", gsl_matrix_get(m, i, j));
}

static int run(mc_config c, const size_t *n, int L, int steps, bool noise, unsigned long seed,
               bool switching)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    mc_net *net = rng ? mc_net_alloc(&c, n, L) : NULL;
    double *x = malloc(n[0] * sizeof *x);
    if (!net || !x) {
        fprintf(stderr, "mc_trace: out of memory\n");
        return 1;
    }
    gsl_rng_set(rng, seed);
    mc_net_init_random(net, rng, 1.0);
    if (seed % 2)
        mc_net_self_predicting(net);
    for (size_t i = 0; i < n[0]; i++)
        x[i] = gsl_rng_uniform(rng);
    for (size_t i = 0; i < n[L]; i++)
        net->target->data[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    net->nudge = true;
    for (int s = 0; s < steps; s++) {
        if (switching && s % 37 == 0)
            net->nudge = !net->nudge;
        if (switching && s % 50 == 25)
            x[s % n[0]] = gsl_rng_uniform(rng) * 3 - 1;
        mc_net_step(net, x, !switching || s % 7 != 3, noise ? rng : NULL);
    }
    for (int k = 0; k <= L; k++) {
        const mc_layer *l = &net->layer[k];
        const gsl_vector *v[] = {l->u, l->du, l->ub, l->r, l->vB, l->vA, l->IB, l->IA,
                                 l->uI, l->duI, l->ubI, l->rI, l->vI, l->II};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            print_vec(v[i]);
        const gsl_matrix *m[] = {l->W_up, l->W_down, l->W_PI, l->W_IP,
                                 l->G_up, l->G_down, l->G_PI, l->G_IP};
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
            print_mat(m[i]);
    }
    printf("diag %a %a %a %a\n", mc_net_apical_sq(net), mc_net_interneuron_sq(net),
           mc_net_feedback_angle(net), net->t);
    printf("rng %lu\n", gsl_rng_get(rng)); /* the same number of draws */
    for (double u = -40; u < 40; u += 0.37)
        printf("phi %a %a\n", mc_phi_eval(&c.phi, u), mc_phi_deriv(&c.phi, u));
    mc_net_free(net);
    free(x);
    gsl_rng_free(rng);
    return 0;
}

int main(int argc, char **argv)
{
    bool v3 = argc > 1 && !strcmp(argv[1], "--v3");
    static const size_t s1[] = {9, 30, 3}, s2[] = {30, 50, 10}, s3[] = {5, 3, 2},
                        s4[] = {9, 30, 20, 3}, s5[] = {30, 20, 10}, s6[] = {3, 7, 9, 12, 4},
                        s7[] = {784, 100, 10};
    static const struct {
        const size_t *n;
        int L, steps;
    } nets[] = {{s1, 2, 400}, {s2, 2, 200}, {s3, 2, 300}, {s4, 3, 200},
                {s5, 2, 200}, {s6, 4, 200}, {s7, 2, 30}};
    static const mc_phi phis[] = {{MC_PHI_LOGISTIC, 1, 1, 0}, {MC_PHI_SOFTPLUS, 1, 1, 0},
                                  {MC_PHI_SOFTPLUS, 0.1, 1, 3}, {MC_PHI_LOGISTIC, 2, 0.7, 0.3},
                                  {MC_PHI_RELU, 1, 1, 0}, {MC_PHI_RELU, 0.5, 2, -0.2},
                                  {MC_PHI_SOFTPLUS, 1, 20, 0}};
    int cfg = 0;
    for (size_t ni = 0; ni < sizeof nets / sizeof nets[0]; ni++)
        for (size_t pi = 0; pi < sizeof phis / sizeof phis[0]; pi++)
            for (int var = 0; var < 10; var++) {
                if (ni == 6 && (pi > 1 || var > 3)) /* the large network: a few settings */
                    continue;
                mc_config c = { /* the 2018 paper's defaults, as mc_bench */
                    .phi = phis[pi],
                    .g_lk = 0.1, .g_B = 1.0, .g_A = 0.8, .g_D = 1.0, .g_som = 0.8,
                    .g_lk_dend = 1.0, .dt = 0.1, .tau_in = 3.0, .tau_w = 30.0, .sigma = 0.1,
                    .eta_up = 0.0011875, .eta_up_out = 0.0005, .eta_IP = 0.0011875,
                    .eta_PI = 0.0059375,
                };
                c.phi.own_exp = c.numerics_v3 = v3;
                switch (var) {
                case 1: c.tau_w = 0; break;
                case 2: c.le = true; break;
                case 3: c.tau_w = 0, c.le = true, c.i_inj = 0.3, c.tau_in = 0; break;
                case 4: c.tau_syn = 2, c.eta_down = 0.001, c.w_clip = 0.5, c.w_clip_out = 0.3; break;
                case 5: c.tau_syn = 2, c.le = true, c.eta_down = 0.002, c.tau_w = 0, c.w_clip = 0.4; break;
                case 6: c.sigma = 0, c.eta_IP = 0, c.eta_PI = 0, c.i_inj = -0.2, c.g_lk_dend = 0.7; break;
                case 7: c.eta_up = 0, c.eta_up_out = 0.01, c.dt = 0.5, c.tau_in = 0.2, c.g_A = 0; break;
                case 8: c.eta_up = 0.02, c.eta_IP = 0.05, c.eta_PI = 0.03, c.eta_down = 0.01,
                        c.tau_w = 0, c.sigma = 0.3; break;
                case 9: c.tau_w = 1, c.dt = 0.05, c.g_som = 0, c.le = true, c.i_inj = 1; break;
                default: break;
                }
                printf("cfg %d net %zu phi %zu var %d\n", cfg++, ni, pi, var);
                if (run(c, nets[ni].n, nets[ni].L, nets[ni].steps, var != 6,
                        1000 + (unsigned long)cfg, var % 3 == 1))
                    return 1;
            }
    return 0;
}

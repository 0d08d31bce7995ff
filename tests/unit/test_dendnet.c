/* test_dendnet.c: the neuron of the `dendnet` kernel (dn_neuron.c, dn_data.c):
 * the generated tree, the Hines solver against a dense solve, the passive
 * compartment against its analytic solution, the Mg block, synaptic
 * kinetics, the spiking soma and its spike in the dendrites, the LIF
 * control, and the inputs. */
#include "testutil.h"

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>

#include "../../src/kernels/dendnet/dendnet.h"

#define assert_close(a, b, tol)                                                          \
    do {                                                                                 \
        double a_ = (a), b_ = (b), t_ = (tol);                                           \
        if (!(fabs(a_ - b_) <= t_)) {                                                    \
            print_error("%s = %.12g, %s = %.12g, tolerance %.3g\n", #a, a_, #b, b_, t_); \
            fail();                                                                      \
        }                                                                                \
    } while (0)

static dn_morph small_morph(void)
{
    return (dn_morph){.n_basal = 2, .basal_order = 2, .basal_seg = 2, .basal_len = 100,
                      .basal_diam = 1, .trunk_seg = 3, .trunk_len = 300, .trunk_diam = 2,
                      .n_tuft = 2, .tuft_order = 2, .tuft_seg = 1, .tuft_len = 100,
                      .tuft_diam = 0.8, .soma_diam = 20, .cm = 1, .Rm = 15000, .Ra = 150};
}

static dn_cell_params cell_params(double dt)
{
    return (dn_cell_params){
        .tau_rise = {0.3, 2, 0.2}, .tau_decay = {3, 70, 8}, .g = {0.4, 0.4, 1},
        .E = {0, 0, -80}, .mg = 1, .E_L = -70, .v_th = -55, .spike_ms = 1, .spike_g = 100,
        .spike_E = 30, .ref_ms = 3, .ahp_g = 100, .ahp_E = -75, .dt = dt};
}

static void tree_is_ordered_and_counted(void **state)
{
    (void)state;
    dn_morph m = small_morph();
    dn_tree *tr = dn_tree_alloc(&m);
    assert_non_null(tr);
    /* soma + 2 stems x 3 sections x 2 + trunk 3 + 2 tuft stems x 3 sections x 1 */
    assert_int_equal(tr->n, 1 + 12 + 3 + 6);
    assert_int_equal(tr->parent[0], -1);
    int kinds[4] = {0};
    for (int i = 0; i < tr->n; i++) {
        kinds[tr->kind[i]]++;
        if (i > 0) {
            assert_true(tr->parent[i] >= 0 && tr->parent[i] < i);
            assert_true(tr->gA[i] > 0);
            assert_true(tr->dist[i] > tr->dist[tr->parent[i]]);
        }
    }
    assert_int_equal(kinds[DN_SOMA], 1);
    assert_int_equal(kinds[DN_BASAL], 12);
    assert_int_equal(kinds[DN_TRUNK], 3);
    assert_int_equal(kinds[DN_TUFT], 6);
    /* A basal compartment: 50 um x 1 um; area 157.08 um^2; C = 1.5708 pF,
     * gL = 157.08 * 10 / 15000 nS; tau = Rm cm = 15 ms. */
    assert_close(tr->C[1], M_PI * 50 * 1e-2, 1e-12);
    assert_close(tr->C[1] / tr->gL[1], 15.0, 1e-12);
    /* Two basal compartments of one section: axial 2 x 25 um halves of
     * 1 um diameter at 150 Ohm cm: R = 150 * 50e-4 / (pi 0.25e-8) Ohm. */
    double R = 150 * 50e-4 / (M_PI * 0.25e-8);
    assert_close(tr->gA[2], 1e9 / R, 1e-9);
    dn_tree_free(tr);
    m.n_tuft = 1, m.trunk_seg = 0;
    assert_non_null(dn_morph_invalid(&m));
    assert_null(dn_tree_alloc(&m));
}

/* The tree system against GSL's dense LU on the same matrix. */
static void hines_matches_dense_solve(void **state)
{
    (void)state;
    dn_morph m = small_morph();
    dn_tree *tr = dn_tree_alloc(&m);
    int n = tr->n;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    double *d = malloc(n * sizeof *d), *rhs = malloc(n * sizeof *rhs);
    gsl_matrix *A = gsl_matrix_calloc(n, n);
    gsl_vector *b = gsl_vector_alloc(n), *xs = gsl_vector_alloc(n);
    gsl_permutation *perm = gsl_permutation_alloc(n);
    for (int i = 0; i < n; i++) {
        d[i] = 0.5 + gsl_rng_uniform(r); /* C/dt + gL + synapses */
        rhs[i] = gsl_rng_uniform(r) * 20 - 10;
    }
    for (int i = 1; i < n; i++)
        d[i] += tr->gA[i], d[tr->parent[i]] += tr->gA[i];
    for (int i = 0; i < n; i++) {
        gsl_matrix_set(A, i, i, d[i]);
        gsl_vector_set(b, i, rhs[i]);
        if (i > 0) {
            gsl_matrix_set(A, i, tr->parent[i], -tr->gA[i]);
            gsl_matrix_set(A, tr->parent[i], i, -tr->gA[i]);
        }
    }
    int sign;
    gsl_linalg_LU_decomp(A, perm, &sign);
    gsl_linalg_LU_solve(A, perm, b, xs);
    dn_hines_solve(tr, d, rhs);
    double scale = 0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(gsl_vector_get(xs, i)));
    assert_true(scale > 1e-3);
    for (int i = 0; i < n; i++)
        assert_close(rhs[i], gsl_vector_get(xs, i), 1e-10 * scale);
    free(d), free(rhs);
    gsl_matrix_free(A), gsl_vector_free(b), gsl_vector_free(xs), gsl_permutation_free(perm);
    gsl_rng_free(r);
    dn_tree_free(tr);
}

static dn_morph one_compartment(void)
{
    dn_morph m = small_morph();
    m.n_basal = 0, m.trunk_seg = 0, m.n_tuft = 0;
    return m;
}

/* A lone compartment displaced by 10 mV relaxes as 10 exp(-t/tau), tau =
 * Rm cm = 15 ms; backward Euler is first order: halving dt halves the error. */
static void passive_compartment_relaxes_as_analytic(void **state)
{
    (void)state;
    dn_morph m = one_compartment();
    dn_tree *tr = dn_tree_alloc(&m);
    assert_int_equal(tr->n, 1);
    double err[2];
    for (int k = 0; k < 2; k++) {
        double dt = k == 0 ? 0.1 : 0.05;
        dn_cell_params p = cell_params(dt);
        p.v_th = 1e9;
        dn_cell *c = dn_cell_alloc(tr, &p, 1, 1);
        c->V[0] = -60;
        int steps = (int)round(30 / dt);
        double e = 0;
        for (int s = 1; s <= steps; s++) {
            dn_cell_step(c);
            e = fmax(e, fabs(c->V[0] - (-70 + 10 * exp(-s * dt / 15.0))));
        }
        err[k] = e;
        dn_cell_free(c);
    }
    assert_true(err[0] < 0.02);            /* 10 mV * dt / (2 tau e) ~ 0.012 mV */
    assert_close(err[0] / err[1], 2.0, 0.1);
    dn_tree_free(tr);
}

/* Two compartments at rest, a constant conductance on one: the steady state
 * of the linear circuit, solved by hand. */
static void two_compartments_reach_circuit_steady_state(void **state)
{
    (void)state;
    dn_morph m = one_compartment();
    m.trunk_seg = 1, m.trunk_len = 200;
    dn_tree *tr = dn_tree_alloc(&m);
    assert_int_equal(tr->n, 2);
    dn_cell_params p = cell_params(0.1);
    p.v_th = 1e9;
    /* A GABA conductance held constant: rise 0 and decay state frozen by
     * making the kinetics extremely slow. */
    p.tau_rise[DN_GABA] = 1e-6, p.tau_decay[DN_GABA] = 1e12;
    dn_cell *c = dn_cell_alloc(tr, &p, 0, 1);
    dn_cell_input(c, 1); /* inhibitory channel on compartment 1 */
    double g = p.g[DN_GABA] * c->norm[DN_GABA] * 1.0; /* ~ g after the rise */
    for (int s = 0; s < 20000; s++)
        dn_cell_step(c);
    /* gL0 (V0 - EL) + gA (V0 - V1) = 0;  gL1 (V1 - EL) + gA (V1 - V0) + g (V1 - E) = 0 */
    double gL0 = tr->gL[0], gL1 = tr->gL[1], gA = tr->gA[1], EL = -70, E = -80;
    double a = gL0 + gA, bb = gL1 + gA + g;
    double V1 = (gL1 * EL + g * E + gA * (gL0 * EL / a)) / (bb - gA * gA / a);
    double V0 = (gL0 * EL + gA * V1) / a;
    assert_close(c->V[1], V1, 1e-4);
    assert_close(c->V[0], V0, 1e-4);
    assert_true(c->V[1] < c->V[0] && c->V[0] < -70);
    dn_cell_free(c);
    dn_tree_free(tr);
}

/* 1 / (1 + exp(-0.08 V) [Mg] / 3.57), values computed by hand. */
static void mg_block_values(void **state)
{
    (void)state;
    assert_close(dn_mg_block(0, 1), 3.57 / 4.57, 1e-12);
    assert_close(dn_mg_block(-80, 1), 1 / (1 + 601.8450379 / 3.57), 1e-9);
    assert_close(dn_mg_block(-40, 1), 1 / (1 + 24.5325302 / 3.57), 1e-9);
    assert_close(dn_mg_block(20, 1), 1 / (1 + 0.2018965 / 3.57), 1e-7);
    assert_close(dn_mg_block(-40, 0), 1.0, 0);
    assert_close(dn_mg_block(-40, 2), 1 / (1 + 2 * 24.5325302 / 3.57), 1e-9);
    for (double v = -100; v < 40; v += 1)
        assert_true(dn_mg_block(v + 1, 1) > dn_mg_block(v, 1));
}

/* With V held near rest (tiny conductance), one input's conductance has its
 * peak g at the double exponential's peak time. */
static void synaptic_conductance_peaks_at_g(void **state)
{
    (void)state;
    dn_morph m = one_compartment();
    dn_tree *tr = dn_tree_alloc(&m);
    dn_cell_params p = cell_params(0.025);
    dn_cell *c = dn_cell_alloc(tr, &p, 1, 1);
    for (int k = 0; k < DN_NSYN; k++) {
        dn_cell_reset(c);
        dn_cell_input(c, k == DN_GABA ? 1 : 0);
        double best = 0, tbest = 0;
        for (int s = 1; s < 4000; s++) {
            double g = c->norm[k] * (c->decay[k * 1] - c->rise[k * 1]);
            if (g > best)
                best = g, tbest = (s - 1) * p.dt;
            for (int q = 0; q < DN_NSYN; q++)
                c->rise[q] *= c->a_rise[q], c->decay[q] *= c->a_decay[q];
        }
        double tr_ = p.tau_rise[k], td = p.tau_decay[k];
        double tp = tr_ * td / (td - tr_) * log(td / tr_);
        assert_close(best, 1.0, 1e-3);
        assert_close(tbest, tp, p.dt);
    }
    dn_cell_free(c);
    dn_tree_free(tr);
}

/* Strong excitation makes the soma fire; two spikes are at least ref_ms
 * apart; during a spike the proximal dendrite depolarises more than the
 * distal one (the spike reaches into the tree passively). */
static void soma_spikes_with_refractoriness_and_backpropagation(void **state)
{
    (void)state;
    dn_morph m = small_morph();
    dn_tree *tr = dn_tree_alloc(&m);
    dn_cell_params p = cell_params(0.1);
    p.g[DN_AMPA] = 30, p.g[DN_NMDA] = 0;
    dn_cell *c = dn_cell_alloc(tr, &p, 1, 1);
    int last = -1000, spikes = 0, min_gap = 1 << 30;
    double prox_peak = -1e9, dist_peak = -1e9;
    /* proximal: the first basal compartment; distal: the last compartment of
     * that stem (a terminal section). */
    int prox = 1, distal = 1 + 2 * 3 - 1;
    for (int s = 0; s < 5000; s++) {
        if (s % 10 == 0)
            dn_cell_input(c, 0); /* soma's excitatory channel, every ms */
        if (dn_cell_step(c)) {
            spikes++;
            if (last >= 0)
                min_gap = s - last < min_gap ? s - last : min_gap;
            last = s;
        }
        if (c->spike_left > 0) {
            prox_peak = fmax(prox_peak, c->V[prox]);
            dist_peak = fmax(dist_peak, c->V[distal]);
        }
    }
    assert_true(spikes > 5);
    assert_true(min_gap >= (int)round(p.ref_ms / p.dt));
    assert_true(prox_peak > dist_peak + 1.0);
    assert_true(prox_peak > -50);
    dn_cell_free(c);
    dn_tree_free(tr);
}

/* The NMDA block makes a cluster of inputs on a thin distal branch sum
 * less sublinearly: doubling the input from 4 to 8 spikes raises the local
 * depolarisation by a larger factor with NMDA than without (AMPA alone loses
 * driving force; NMDA gains conductance as the block lifts). Measured
 * factors: 1.32 without, 1.65 with. */
static void nmda_boosts_distal_summation(void **state)
{
    (void)state;
    dn_morph m = small_morph();
    dn_tree *tr = dn_tree_alloc(&m);
    int distal = 1 + 2 * 3 - 1;
    double peak[2][2];
    for (int nmda = 0; nmda < 2; nmda++)
        for (int k = 0; k < 2; k++) {
            dn_cell_params p = cell_params(0.1);
            p.v_th = 1e9;
            p.g[DN_AMPA] = 1, p.g[DN_NMDA] = nmda ? 2 : 0;
            dn_cell *c = dn_cell_alloc(tr, &p, 1, 1);
            int n_in = 4 * (k + 1);
            double best = -1e9;
            for (int s = 0; s < 3000; s++) {
                if (s < 10 * n_in && s % 10 == 0)
                    dn_cell_input(c, distal);
                dn_cell_step(c);
                best = fmax(best, c->V[distal]);
            }
            peak[nmda][k] = best + 70;
            dn_cell_free(c);
        }
    double r_ampa = peak[0][1] / peak[0][0], r_nmda = peak[1][1] / peak[1][0];
    assert_true(r_ampa < 1.5);
    assert_true(r_nmda > r_ampa + 0.2);
    dn_tree_free(tr);
}

static void lif_integrates_and_fires(void **state)
{
    (void)state;
    dn_lif_params p = {.tau_m = 20, .E_L = -70, .v_th = -54, .v_reset = -70, .ref_ms = 2,
                       .tau_e = 2, .tau_i = 5, .w_e = 1, .w_i = -1, .dt = 0.1};
    size_t T = 200;
    uint8_t *x = calloc(2 * T, 1), y[200];
    float v[200];
    x[10] = 1; /* one excitatory spike at 10 ms: PSP of peak below 1 mV */
    assert_int_equal(dn_lif_run(&p, 1, 1, x, T, y, v), 0);
    double peak = -1e9;
    int at = 0;
    for (size_t b = 0; b < T; b++)
        if (v[b] > peak)
            peak = v[b], at = (int)b;
    /* Peak of the difference of exponentials: w tau_m/(tau_m - tau_e) (x^a - x^b) at
     * t* = ln(tau_m/tau_e) tau_m tau_e/(tau_m - tau_e). */
    double ts = log(10.0) * 40 / 18, vp = 20.0 / 18 * (exp(-ts / 20) - exp(-ts / 2));
    assert_close(peak + 70, vp, 0.02);
    assert_true(abs(at - (10 + (int)round(ts))) <= 1);
    for (size_t b = 0; b < T; b++)
        x[b] = 1; /* excitation every ms: fires regularly */
    long n = dn_lif_run(&p, 1, 1, x, T, y, v);
    assert_true(n > 3);
    for (size_t b = 0; b < T; b++)
        assert_true(v[b] <= -54);
    free(x);
}

static void inputs_have_their_rates(void **state)
{
    (void)state;
    dn_input_params ip = {.n_exc = 20, .n_inh = 10, .rate_e = 5, .rate_i = 20, .seg_min = 100,
                          .seg_max = 500, .smooth_ms = 20, .bal_lo = 1, .bal_hi = 1};
    size_t T = 20000;
    uint8_t *x = malloc(30 * T);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    dn_inputs_draw(&ip, T, r, x);
    double se = 0, si = 0;
    for (int j = 0; j < 30; j++)
        for (size_t b = 0; b < T; b++)
            *(j < 20 ? &se : &si) += x[j * T + b];
    se /= 20 * T * 1e-3, si /= 10 * T * 1e-3;
    assert_close(se, 5, 0.6);
    assert_close(si, 20, 2.0);
    gsl_rng_free(r);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_is_ordered_and_counted),
        cmocka_unit_test(hines_matches_dense_solve),
        cmocka_unit_test(passive_compartment_relaxes_as_analytic),
        cmocka_unit_test(two_compartments_reach_circuit_steady_state),
        cmocka_unit_test(mg_block_values),
        cmocka_unit_test(synaptic_conductance_peaks_at_g),
        cmocka_unit_test(soma_spikes_with_refractoriness_and_backpropagation),
        cmocka_unit_test(nmda_boosts_distal_summation),
        cmocka_unit_test(lif_integrates_and_fires),
        cmocka_unit_test(inputs_have_their_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

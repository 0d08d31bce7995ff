/* test_urbanczik.c: the urbanczik kernel's neuron and rule
 * (src/kernels/urbanczik/): the subthreshold solution against closed forms
 * and a fine reference integration, the dendritic prediction, the PSP
 * kernel, the spike probability and dead time, the rule's sign, the exact
 * weight check of NEST's urbanczik_synapse test (presynaptic spikes at 1 and
 * 98 ms, somatic drive 10-50 ms) against the discretised closed form
 * computed here from the equations, and the parameter checks; then the
 * spiking microcircuit built of such neurons (urbanczik_net.c). */
#include "testutil.h"

#include "../../src/kernels/urbanczik/urbanczik.h"
#include "neuromic/internal/registry.h"
#include "neuromic/kernel.h"

/* NEST's defaults (checked against the kernel's schema below). */
static uz_params defaults(void)
{
    return uz_params_nest();
}

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

#define assert_near(a, b, tol)                                                           \
    do {                                                                                 \
        double a_ = (a), b_ = (b), t_ = (tol);                                           \
        if (!(fabs(a_ - b_) <= t_)) {                                                    \
            print_error("%s = %.15g, %s = %.15g, differ by %.3g > %.3g\n", #a, a_, #b, b_, \
                        fabs(a_ - b_), t_);                                              \
            fail();                                                                      \
        }                                                                                \
    } while (0)

/* ---- subthreshold dynamics ---- */

/* Without input the dendrite relaxes as EL + (V0 - EL) e^(-t/tau_L), and the
 * soma, with V at rest, as EL + (U0 - EL) e^(-(gL + g_sp) t / C): both exact. */
static void membranes_decay_exactly_without_input(void **state)
{
    uz_params p = defaults();
    uz_neuron *a = uz_neuron_alloc(&p, 0, 0);
    a->V = -60;
    uz_neuron *b = uz_neuron_alloc(&p, 0, 0);
    b->U = -50;
    for (int s = 1; s <= 500; s++) {
        uz_neuron_integrate(a);
        uz_neuron_integrate(b);
        double t = s * p.dt;
        assert_near(a->V, -70 + 10 * exp(-t / 10.0), 1e-12);
        assert_near(b->U, -70 + 20 * exp(-(30.0 + 600.0) * t / 300.0), 1e-12);
        assert_near(b->V, -70, 1e-12);
    }
    uz_neuron_free(a);
    uz_neuron_free(b);
}

/* Soma driven by a decaying dendrite: x = U - EL, v = V - EL = v0 e^(-t/tau_L),
 * C x' = -(gL + g_sp) x + g_sp v gives
 * x(t) = x0 e^(-a t) + (g_sp v0 / C) (e^(-t/tau_L) - e^(-a t)) / (a - 1/tau_L),
 * a = (gL + g_sp)/C. The integrator takes V's mean over a step from its ends:
 * the error is second order in dt (checked by halving dt). */
static double soma_error(double dt)
{
    uz_params p = defaults();
    p.dt = dt;
    uz_neuron *nr = uz_neuron_alloc(&p, 0, 0);
    nr->V = -50;
    nr->U = -65;
    double a = 630.0 / 300.0, v0 = 20, x0 = 5, err = 0;
    int steps = (int)lround(20.0 / dt);
    for (int s = 1; s <= steps; s++) {
        uz_neuron_integrate(nr);
        double t = s * dt;
        double x = x0 * exp(-a * t) + 600.0 * v0 / 300.0 * (exp(-t / 10.0) - exp(-a * t)) / (a - 0.1);
        err = fmax(err, fabs(nr->U - (-70 + x)));
    }
    uz_neuron_free(nr);
    return err;
}

static void soma_follows_dendrite_to_second_order(void **state)
{
    double e1 = soma_error(0.1), e2 = soma_error(0.05);
    print_message("soma error %.3g mV at dt 0.1 ms, %.3g at 0.05\n", e1, e2);
    assert_true(e1 < 5e-3); /* mV, on a 20 mV drive, at the kernel's dt */
    assert_true(e1 / e2 > 3.5 && e1 / e2 < 4.5);
}

/* Soma with decaying somatic conductances (both, at once): against a fine
 * classical Runge-Kutta integration of the same ODE. */
static double rk4_soma(double U, double gE0, double gI0, double T)
{
    const int n = 200000;
    double h = T / n;
    for (int s = 0; s < n; s++) {
        double t = s * h;
#define DU(u, tt)                                                                       \
    ((-30.0 * ((u) + 70) - gE0 * exp(-(tt) / 3.0) * ((u)-0) -                           \
      gI0 * exp(-(tt) / 3.0) * ((u) + 75) + 600.0 * (-70 - (u))) / 300.0)
        double k1 = DU(U, t), k2 = DU(U + 0.5 * h * k1, t + 0.5 * h);
        double k3 = DU(U + 0.5 * h * k2, t + 0.5 * h), k4 = DU(U + h * k3, t + h);
#undef DU
        U += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    return U;
}

static double conductance_error(double dt)
{
    uz_params p = defaults();
    p.dt = dt;
    uz_neuron *nr = uz_neuron_alloc(&p, 0, 0);
    nr->gE = 400;
    nr->gI = 300;
    int steps = (int)lround(4.0 / dt);
    for (int s = 0; s < steps; s++)
        uz_neuron_integrate(nr);
    double err = fabs(nr->U - rk4_soma(-70, 400, 300, 4.0));
    assert_near(nr->gE, 400 * exp(-4.0 / 3.0), 1e-9);
    uz_neuron_free(nr);
    return err;
}

static void soma_conductances_to_second_order(void **state)
{
    double e1 = conductance_error(0.1), e2 = conductance_error(0.05);
    print_message("soma error %.3g mV at dt 0.1 ms, %.3g at 0.05\n", e1, e2);
    assert_true(e1 < 0.05); /* mV, on a deflection of some 20 mV */
    assert_true(e1 / e2 > 3.0 && e1 / e2 < 5.0);
}

/* ---- prediction, rate, PSP kernel ---- */

static void dendritic_prediction_and_matching_potential(void **state)
{
    uz_params p = defaults();
    assert_near(uz_vstar(&p, -60), (30.0 * -70 + 600.0 * -60) / 630.0, 1e-12);
    assert_near(uz_vstar(&p, -60), -60.476190476190476, 1e-12);
    assert_near(uz_vstar(&p, -70), -70, 1e-12);
    /* The teacher's extremes of the card: gE 18..306 nS, gI 540 nS. */
    assert_near(uz_matching(&p, 18, 540), -72.58064516, 1e-6);
    assert_near(uz_matching(&p, 306, 540), -47.87234043, 1e-6);
}

/* phi at theta is phi_max / (1 + k); h is u_unit times the derivative of
 * ln phi, checked against a central difference. */
static void rate_function_and_its_log_derivative(void **state)
{
    uz_params p = defaults();
    assert_near(uz_phi(&p, -55), 0.15 / 1.5, 1e-15);
    assert_near(uz_phi(&p, 1000), 0.15, 1e-12);
    for (double u = -80; u <= -30; u += 5) {
        double e = 1e-5;
        double d = (log(uz_phi(&p, u + e)) - log(uz_phi(&p, u - e))) / (2 * e);
        assert_near(uz_h(&p, u), 15 * d, 1e-8);
        assert_true(uz_h(&p, u) > 0);
    }
}

/* kappa(s) = tau_d (e^(-s/tau_L) - e^(-s/tau_d)) / (gL (tau_L - tau_d)): zero at
 * 0, peak at ln(tau_L/tau_d) tau_L tau_d / (tau_L - tau_d), integral tau_d/gL;
 * the dendrite's response to one 1 pA input spike is this kernel. */
static void psp_kernel_shape_integral_and_dendritic_response(void **state)
{
    uz_params p = defaults();
    assert_near(uz_kappa(&p, 0), 0, 1e-18);
    double tpk = log(10.0 / 3.0) * 30.0 / 7.0;
    assert_true(uz_kappa(&p, tpk) > uz_kappa(&p, tpk - 1e-3));
    assert_true(uz_kappa(&p, tpk) > uz_kappa(&p, tpk + 1e-3));

    uz_neuron *nr = uz_neuron_alloc(&p, 1, 1.0);
    uint32_t syn = 0;
    uz_input in = {.syn = &syn, .nsyn = 1};
    uz_neuron_receive(nr, &in);
    double area = 0;
    for (int s = 1; s <= 4000; s++) { /* 400 ms = 40 tau_L */
        uz_neuron_integrate(nr);
        double kap = uz_kappa(&p, s * p.dt);
        assert_near(nr->V - -70, kap, 1e-12); /* V is held near -70 mV: absolute */
        assert_near(nr->psp_scale * (nr->trL[0] - nr->trS[0]), kap, 1e-10 * kap + 1e-15);
        area += (nr->V + 70) * p.dt; /* the rectangle rule is the trapezoid rule here: kappa(0) = 0 */
    }
    assert_near(area, 3.0 / 30.0, 1e-4 * 0.1);
    uz_neuron_free(nr);
}

/* ---- spiking ---- */

/* At a clamped U each step that is not dead spikes with probability
 * p = 1 - exp(-phi(U) dt): the count over n such steps is binomial; the test
 * allows 5 standard deviations. After a spike exactly ref_steps steps are
 * dead and draw nothing. */
static void spike_probability_and_dead_time(void **state)
{
    uz_params p = defaults();
    gsl_rng *r = rng(42);
    double us[] = {-70, -55, -40};
    for (int q = 0; q < 3; q++) {
        uz_neuron *nr = uz_neuron_alloc(&p, 0, 0);
        nr->U = us[q];
        double prob = uz_spike_prob(&p, us[q]);
        assert_near(prob, -expm1(-uz_phi(&p, us[q]) * 0.1), 1e-15);
        long trials = 0, spikes = 0, last = -1000000;
        for (long s = 0; s < 2000000; s++) {
            bool live = nr->refr == 0;
            int sp = uz_neuron_fire(nr, r);
            trials += live;
            spikes += sp;
            if (sp) {
                assert_true(live);
                assert_true(s - last >= 31); /* 30 dead steps at t_ref 3 ms, dt 0.1 ms */
                last = s;
            }
        }
        double mean = trials * prob, sd = sqrt(trials * prob * (1 - prob));
        assert_true(spikes > 100);
        assert_true(fabs(spikes - mean) < 5 * sd);
        uz_neuron_free(nr);
    }
    /* Dead steps draw no random number: the generator is left where it was. */
    uz_neuron *nr = uz_neuron_alloc(&p, 0, 0);
    nr->refr = 30;
    gsl_rng *a = rng(7), *b = rng(7);
    for (int s = 0; s < 30; s++)
        assert_int_equal(uz_neuron_fire(nr, a), 0);
    assert_int_equal(nr->refr, 0);
    assert_true(gsl_rng_get(a) == gsl_rng_get(b));
    uz_neuron_free(nr);
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(r);
}

/* ---- the rule ---- */

/* A synapse with a PSP grows when the soma spikes (S = 1 > phi dt) and shrinks
 * when it stays silent; a synapse without presynaptic spikes keeps its weight. */
static void rule_sign(void **state)
{
    uz_params p = defaults();
    for (int spike = 0; spike <= 1; spike++) {
        uz_neuron *nr = uz_neuron_alloc(&p, 2, 100);
        uint32_t syn = 0;
        uz_input in = {.syn = &syn, .nsyn = 1};
        uz_neuron_receive(nr, &in);
        for (int s = 0; s < 50; s++)
            uz_neuron_integrate(nr);
        uz_neuron_learn(nr, spike);
        for (int s = 0; s < 100; s++) {
            uz_neuron_integrate(nr);
            uz_neuron_learn(nr, 0);
        }
        if (spike)
            assert_true(nr->w[0] > 100.01);
        else
            assert_true(nr->w[0] < 100);
        assert_true(nr->w[1] == 100);
        uz_neuron_free(nr);
    }
}

/* In a dead step PI is -phi(V*) dt h PSP (NEST's convention, pi_dead) or
 * nothing (pi_dead false): the weight falls, or stays. */
static void dead_steps_and_the_rule(void **state)
{
    for (int keep = 0; keep <= 1; keep++) {
        uz_params p = defaults();
        p.pi_dead = keep;
        uz_neuron *nr = uz_neuron_alloc(&p, 1, 100);
        uint32_t syn = 0;
        uz_input in = {.syn = &syn, .nsyn = 1};
        uz_neuron_receive(nr, &in);
        for (int s = 0; s < 50; s++)
            uz_neuron_integrate(nr);
        nr->refr = 30;
        gsl_rng *r = rng(1);
        for (int s = 0; s < 30; s++) {
            uz_neuron_integrate(nr);
            assert_int_equal(uz_neuron_fire(nr, r), 0);
            assert_true(nr->dead);
            uz_neuron_learn(nr, 0);
        }
        uz_neuron_integrate(nr);
        if (keep)
            assert_true(nr->w[0] < 100);
        else
            assert_true(nr->w[0] == 100);
        gsl_rng_free(r);
        uz_neuron_free(nr);
    }
}

/* Weight bounds: with a huge learning rate one somatic spike drives the weight
 * to Wmax, and silence drives it to Wmin; it never leaves [Wmin, Wmax]. */
static void weights_stay_within_bounds(void **state)
{
    uz_params p = defaults();
    p.eta = 1e6;
    for (int spike = 1; spike >= 0; spike--) {
        uz_neuron *nr = uz_neuron_alloc(&p, 1, 100);
        uint32_t syn = 0;
        uz_input in = {.syn = &syn, .nsyn = 1};
        uz_neuron_receive(nr, &in);
        uz_neuron_integrate(nr);
        uz_neuron_learn(nr, spike);
        for (int s = 0; s < 200; s++) {
            uz_neuron_integrate(nr);
            uz_neuron_learn(nr, 0);
            assert_true(nr->w[0] >= 0 && nr->w[0] <= 1350);
        }
        assert_true(nr->w[0] == (spike ? 1350 : 0));
        uz_neuron_free(nr);
    }
}

/* NEST's test of urbanczik_synapse: one dendritic synapse (w0 100 pA, eta
 * 0.75, tau_Delta 100 ms) with presynaptic spikes arriving at 1 and 98 ms, the
 * soma driven by 10 nS of excitatory conductance per step from 10 to 50 ms.
 * The kernel's weight must equal the discretised closed form
 *   w(t) = w0 + eta sum_{t' <= t} [1 - e^(-(t - t')/tau_Delta)] PI(t'),
 *   PI(t') = u_unit C (S(t') - phi(V*(t')) dt) h(V*(t')) PSP(t'),
 * with V(t') = EL + sum over arrivals t_a < t' of w(t_a) kappa(t' - t_a),
 * computed here from the formulas (the somatic spikes S are the kernel's:
 * they are its random part). */
static void exact_weight_check(void **state)
{
    uz_params p = defaults();
    p.eta = 0.75;
    const double w0 = 100, dt = p.dt, tauD = 100, C = 300, gL = 30, tauL = 10, taus = 3;
    const int T = 1000; /* steps: 100 ms; step k ends at k dt */
    const int arrive[2] = {10, 980};
    uz_neuron *nr = uz_neuron_alloc(&p, 1, w0);
    gsl_rng *r = rng(2014);
    int S[1001] = {0};
    double w_kernel[1001];
    uint32_t syn = 0;
    int nspikes = 0;
    for (int k = 1; k <= T; k++) {
        uz_input in = {.syn = &syn, .nsyn = (k == arrive[0] || k == arrive[1]) ? 1 : 0,
                       .dgE = (k * dt >= 10 - 1e-9 && k * dt < 50 - 1e-9) ? 10.0 : 0};
        S[k] = uz_neuron_step(nr, &in, r);
        nspikes += S[k];
        w_kernel[k] = nr->w[0];
        assert_true(nr->w[0] > 0 && nr->w[0] < 1350); /* never clipped */
    }
    assert_true(nspikes >= 2); /* the drive makes the soma fire (some 0.14 spikes/ms) */

    /* The closed form, step by step from the definitions. */
    double PI[1001] = {0}, w_arr[2] = {w0, 0};
    double maxrel = 0;
    for (int k = 1; k <= T; k++) {
        double t = k * dt;
        /* weight at t: the sum over t' < t (the term t' = t is zero) */
        double w = w0;
        for (int m = 1; m < k; m++)
            w += 0.75 * (1 - exp(-(t - m * dt) / tauD)) * PI[m];
        if (k == arrive[1])
            w_arr[1] = w;
        if (k > arrive[0]) {
            double rel = fabs(w_kernel[k] - w) / fabs(w - w0);
            if (fabs(w - w0) > 1e-6)
                maxrel = fmax(maxrel, rel);
            else
                assert_near(w_kernel[k], w, 1e-6);
        }
        double V = -70, psp = 0;
        for (int a = 0; a < 2; a++)
            if (arrive[a] <= k) {
                double s = (k - arrive[a]) * dt;
                double kap = taus * (exp(-s / tauL) - exp(-s / taus)) / (gL * (tauL - taus));
                V += w_arr[a] * kap;
                psp += kap;
            }
        double vs = (30 * -70 + 600 * V) / 630;
        double phi = 0.15 / (1 + 0.5 * exp((-55 - vs) / 3));
        double h = 15 * (1.0 / 3) / (1 + exp(-(-55 - vs) / 3) / 0.5);
        PI[k] = 15 * C * (S[k] - phi * dt) * h * psp;
    }
    double wT = w0;
    for (int m = 1; m <= T; m++)
        wT += 0.75 * (1 - exp(-(T * dt - m * dt) / tauD)) * PI[m];
    print_message("exact check: w(100 ms) kernel %.12f, closed form %.12f, %d somatic spikes, "
                  "largest relative error of w - w0 %.2e\n", w_kernel[T], wT, nspikes, maxrel);
    assert_true(fabs(wT - w0) > 1.0); /* the check weighs a real change */
    /* 1e-3 is the bar of NEST's test; the two sums here differ in order only */
    assert_true(fabs(w_kernel[T] - wT) / fabs(wT - w0) < 1e-6);
    assert_true(maxrel < 1e-6);
    uz_neuron_free(nr);
    gsl_rng_free(r);
}

/* ---- parameters ---- */

static void invalid_parameters_are_named(void **state)
{
    uz_params p = defaults();
    assert_null(uz_params_invalid(&p));
    p.dt = 4;
    assert_contains(uz_params_invalid(&p), "t_ref");
    p = defaults();
    p.t_ref = 3.05;
    assert_contains(uz_params_invalid(&p), "whole number");
    p = defaults();
    p.tau_d = 10;
    assert_contains(uz_params_invalid(&p), "tau_syn_dend");
    p = defaults();
    p.w_min = 2000;
    assert_contains(uz_params_invalid(&p), "Wmin");
    p = defaults();
    p.g_sp = -1;
    assert_contains(uz_params_invalid(&p), "g_sp");
    assert_null(uz_neuron_alloc(&p, 3, 0));
}

/* The schema refuses negative conductances and any dt above t_ref (dt's
 * range ends where t_ref's begins), so a spec with them fails before a task
 * runs; every parameter has a unit and a doc; the defaults are NEST's. */
static void schema_refuses_bad_values(void **state)
{
    const nm_kernel *k = nm_kernel_find("urbanczik");
    assert_non_null(k);
    char why[128];
    const char *neg[] = {"g_L_soma", "g_L_dend", "g_sp", "teach_gI", "teach_gE_offset", "C_m_soma"};
    for (size_t q = 0; q < sizeof neg / sizeof neg[0]; q++) {
        const nm_param *pp = nm_kernel_param(k, (size_t)nm_kernel_param_index(k, neg[q]));
        nm_value v = {.type = NM_T_FLOAT, .v.f = -1};
        assert_false(nm_param_check(pp, &v, why, sizeof why));
    }
    const nm_param *dt = nm_kernel_param(k, (size_t)nm_kernel_param_index(k, "dt"));
    const nm_param *tr = nm_kernel_param(k, (size_t)nm_kernel_param_index(k, "t_ref"));
    assert_true(dt->has_hi && tr->has_lo && dt->hi <= tr->lo);
    /* The schema's defaults are NEST's. */
    uz_params d = defaults();
    struct { const char *name; double v; } want[] = {
        {"C_m_soma", d.C_s}, {"C_m_dend", d.C_d}, {"g_L_soma", d.gL_s}, {"g_L_dend", d.gL_d},
        {"E_L_soma", d.EL_s}, {"E_L_dend", d.EL_d}, {"E_ex", d.E_ex}, {"E_in", d.E_in},
        {"g_sp", d.g_sp}, {"tau_syn_ex", d.tau_ex}, {"tau_syn_in", d.tau_in},
        {"tau_syn_dend", d.tau_d}, {"I_e", d.I_e}, {"phi_max", d.phi_max}, {"rate_slope", d.k},
        {"beta", d.beta}, {"theta", d.theta}, {"t_ref", d.t_ref}, {"u_unit", d.u_unit},
        {"eta", d.eta}, {"tau_Delta", d.tau_Delta}, {"Wmin", d.w_min}, {"Wmax", d.w_max},
        {"dt", d.dt}, {"w0", 90}, {"n_inputs", 200}, {"input_rate", 10}, {"pattern_ms", 200},
        {"teach_gE_amp", 48}, {"teach_gE_offset", 54}, {"teach_gI", 180}, {"teach_freq", 10}};
    for (size_t q = 0; q < sizeof want / sizeof want[0]; q++) {
        const nm_param *pp = nm_kernel_param(k, (size_t)nm_kernel_param_index(k, want[q].name));
        double v = pp->type == NM_T_INT ? (double)pp->def.v.i : pp->def.v.f;
        assert_near(v, want[q].v, 1e-12);
    }
    for (size_t i = 0; i < k->nparams; i++) {
        assert_non_null(k->params[i].unit);
        assert_true(k->params[i].doc && strlen(k->params[i].doc) > 5);
    }
}

/* ---- the spiking microcircuit (urbanczik_net.c): the compartments'
 * subthreshold solution, the self-predicting state, the rate function's
 * change of units, spike counts and traces against closed forms, the
 * rules' expected drift ---- */

static const uz_net_params rate_model = {.g_lk = 0.1, .g_B = 1.0, .g_A = 0.8, .g_D = 1.0,
                                         .g_som = 0.8};

static uz_net *net_alloc(const uz_net_params *c, size_t n0, size_t n1, size_t n2)
{
    uz_params p = uz_params_nest();
    uz_net *net = uz_net_alloc(&p, c, n0, n1, n2);
    assert_non_null(net);
    return net;
}

/* Holds every presynaptic trace at a given value (the step recomputes them
 * after the dendrites have read them). */
static void hold_traces(uz_net *net, double xin, double xhid, double xout, double xinh)
{
    for (size_t i = 0; i < net->n0; i++)
        net->in.x[i] = xin;
    for (size_t i = 0; i < net->n1; i++)
        net->hid.x[i] = xhid;
    for (size_t i = 0; i < net->n2; i++)
        net->out.x[i] = xout, net->inh.x[i] = xinh;
}

/* With the traces held, v_B = W x, v_A = W_down x_out + W_PI x_I and every
 * soma relaxes as u_inf + (u0 - u_inf) e^(-G t), G its total conductance:
 * exact at every step, nudged or not. */
static void compartments_relax_exactly(void **state)
{
    uz_net *net = net_alloc(&rate_model, 2, 1, 1);
    gsl_rng *r = rng(1);
    net->W1[0] = 0.7, net->W1[1] = -0.2;
    net->Wd[0] = 0.5, net->WPI[0] = 0.3, net->W2[0] = -1.5, net->WIP[0] = 0.9;
    net->hid.u[0] = 1.0, net->out.u[0] = -0.5, net->inh.u[0] = 2.0;
    net->nudge = true, net->target[0] = 1.2;
    double xin = 0.4, xh = 0.6, xo = 0.8, xi = 0.3;
    double vB = (0.7 - 0.2) * xin, vA = 0.5 * xo + 0.3 * xi, vB2 = -1.5 * xh, vI = 0.9 * xh;
    double G1 = 0.1 + 1.0 + 0.8, u1 = (vB + 0.8 * vA) / G1;
    double G2 = 0.1 + 1.0 + 0.8, u2 = (vB2 + 0.8 * 1.2) / G2;
    double uo = -0.5; /* the interneuron is nudged by the output at each step's start */
    double ui = 2.0;
    for (int s = 1; s <= 100; s++) {
        hold_traces(net, xin, xh, xo, xi);
        uz_net_step(net, (double[]){0, 0}, false, r, r);
        double t = s * 0.1, GI = 0.1 + 1.0 + 0.8;
        double uinfI = (1.0 * vI + 0.8 * uo) / GI;
        ui = uinfI + (ui - uinfI) * exp(-GI * 0.1);
        uo = u2 + (-0.5 - u2) * exp(-G2 * t);
        assert_near(net->vB1[0], vB, 1e-15);
        assert_near(net->vA1[0], vA, 1e-15);
        assert_near(net->vB2[0], vB2, 1e-15);
        assert_near(net->vI[0], vI, 1e-15);
        assert_near(net->hid.u[0], u1 + (1.0 - u1) * exp(-G1 * t), 1e-12);
        assert_near(net->out.u[0], uo, 1e-12);
        assert_near(net->inh.u[0], ui, 1e-12);
    }
    gsl_rng_free(r);
    uz_net_free(net);
}

/* In the rate model's self-predicting state, with the hidden traces held,
 * every interneuron settles on its output partner's potential and the
 * apical potential vanishes when the two populations' traces agree. */
static void self_predicting_state(void **state)
{
    uz_net *net = net_alloc(&rate_model, 3, 4, 2);
    gsl_rng *r = rng(2);
    uz_net_init_random(net, r, 1.0);
    uz_net_self_predicting(net);
    for (int s = 0; s < 400; s++) {
        hold_traces(net, 0.5, 0.7, 0.4, 0.4);
        uz_net_step(net, (double[]){0, 0, 0}, false, r, r);
    }
    for (size_t i = 0; i < 2; i++)
        assert_near(net->inh.u[i], net->out.u[i], 1e-12);
    assert_true(fabs(net->out.u[0]) > 0.01);
    assert_near(uz_net_apical_sq(net), 0.0, 1e-28);
    assert_near(uz_net_inter_sq(net), 0.0, 1e-24);
    gsl_rng_free(r);
    uz_net_free(net);
}

/* phi(U(u)) is phi_max times the rate model's logistic. */
static void rate_function_in_network_units(void **state)
{
    uz_net *net = net_alloc(&rate_model, 1, 1, 1);
    const uz_params *p = &net->p;
    for (double u = -6; u <= 6; u += 0.5)
        assert_near(uz_phi(p, uz_net_U(net, u)), p->phi_max / (1 + exp(-u)), 1e-15);
    assert_near(uz_net_U(net, 0), -55 + 3 * log(0.5), 1e-12);
    uz_net_free(net);
}

/* Neurons held at u = 0 (no weights) spike with q = 1 - exp(-phi dt) in a
 * live step and are dead ref_steps = R steps after a spike: a renewal
 * process whose interval is R plus a geometric number of steps, mean R + 1/q
 * and variance (1 - q)/q^2; the count over n intervals has variance n times
 * the squared coefficient of variation. Checked to 5 standard deviations;
 * the count without the dead time would be 15 away. Inputs at x spike with
 * 1 - exp(-phi_max x dt) per step. */
static void spike_counts_against_the_rate_function(void **state)
{
    uz_net *net = net_alloc(&rate_model, 10, 40, 1);
    gsl_rng *rin = rng(3), *rsp = rng(4);
    const uz_params *p = &net->p;
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 0.8;
    const long steps = 20000;
    for (long s = 0; s < steps; s++)
        uz_net_step(net, x, false, rin, rsp);
    double q = uz_spike_prob(p, uz_net_U(net, 0)), R = net->ref_steps;
    double mean_int = R + 1 / q, var_int = (1 - q) / (q * q);
    double n = 40.0 * (double)steps / mean_int;
    double sd = sqrt(n * var_int / (mean_int * mean_int));
    assert_near((double)net->hid.spikes, n, 5 * sd);
    assert_true(fabs(40.0 * (double)steps * q - n) > 15 * sd);
    double qi = -expm1(-p->phi_max * 0.8 * p->dt), ni = 10.0 * (double)steps * qi;
    assert_near((double)net->in.spikes, ni, 5 * sqrt(ni * (1 - qi)));
    gsl_rng_free(rin);
    gsl_rng_free(rsp);
    uz_net_free(net);
}

/* The presynaptic trace of Bernoulli(q) spikes per step has mean
 * q / (phi_max dt) (the rate in units of phi_max) and variance
 * xnorm^2 q (1 - q) sum_k (aL^k - aS^k)^2; both over 10 inputs and 40000
 * steps (the trace's correlation time is about 100 steps). */
static void trace_mean_and_variance(void **state)
{
    uz_net *net = net_alloc(&rate_model, 10, 1, 1);
    gsl_rng *rin = rng(5), *rsp = rng(6);
    const uz_params *p = &net->p;
    double x[10];
    for (int i = 0; i < 10; i++)
        x[i] = 0.5;
    double s1 = 0, s2 = 0, N = 0;
    for (long s = 0; s < 40000; s++) {
        uz_net_step(net, x, false, rin, rsp);
        if (s < 1000) /* from rest: let the traces reach their stationary state */
            continue;
        for (int i = 0; i < 10; i++)
            s1 += net->in.x[i], s2 += net->in.x[i] * net->in.x[i], N++;
    }
    double q = -expm1(-p->phi_max * 0.5 * p->dt), aL = net->aL, aS = net->aS;
    double mean = q / (p->phi_max * p->dt);
    double var = net->xnorm * net->xnorm * q * (1 - q) *
                 (1 / (1 - aL * aL) - 2 / (1 - aL * aS) + 1 / (1 - aS * aS));
    double m = s1 / N, v = s2 / N - m * m;
    /* independent samples: about N / 200 (two correlation times) */
    assert_near(m, mean, 5 * sqrt(var / (N / 200)));
    assert_near(v, var, 0.15 * var);
    gsl_rng_free(rin);
    gsl_rng_free(rsp);
    uz_net_free(net);
}

/* The rules' expected drift. Interneurons at u = v_hat = 0 (no weights):
 * the mean postsynaptic factor S/(phi_max dt) - 1/2 per step is
 * p/(1 + p R)/(phi_max dt) - 1/2 < 0 when the rule acts in dead steps (the
 * dead time's bias toward depression), and (p/(phi_max dt) - 1/2)/(1 + p R),
 * near 0, when it does not. A positive apical potential depresses W_PI from
 * active interneurons, and an interneuron nudged above its dendritic
 * prediction potentiates W_IP from active hidden neurons. */
static void drift_of_the_rules(void **state)
{
    for (int dead = 0; dead <= 1; dead++) {
        uz_params p = uz_params_nest();
        p.pi_dead = dead;
        uz_net_params c = rate_model;
        c.eta_IP = 1e-12; /* the factor is read before the weights could move */
        uz_net *net = uz_net_alloc(&p, &c, 1, 1, 20);
        gsl_rng *rin = rng(7), *rsp = rng(8 + (unsigned long)dead);
        double sum = 0, N = 0;
        for (long s = 0; s < 20000; s++) {
            uz_net_step(net, (double[]){0.5}, true, rin, rsp);
            for (size_t i = 0; i < 20; i++)
                sum += net->inh.post[i], N++;
        }
        double q = uz_spike_prob(&p, uz_net_U(net, 0)), R = net->ref_steps;
        double a = q / (p.phi_max * p.dt), want = dead ? a / (1 + q * R) - 0.5
                                                       : (a - 0.5) / (1 + q * R);
        /* per step the factor's variance is about q / (phi_max dt)^2 */
        double sd = sqrt(q / (p.phi_max * p.dt) / (p.phi_max * p.dt) / N);
        assert_near(sum / N, want, 5 * sd);
        if (dead)
            assert_true(want < -5 * sd);
        else
            assert_true(fabs(want) < sd);
        gsl_rng_free(rin);
        gsl_rng_free(rsp);
        uz_net_free(net);
    }
    /* W_PI from a positive apical potential (W_down > 0, the output active) */
    uz_net_params c = rate_model;
    c.eta_PI = 1e-2;
    uz_net *net = net_alloc(&c, 1, 1, 1);
    gsl_rng *rin = rng(9), *rsp = rng(10);
    net->Wd[0] = 1.0;
    for (int s = 0; s < 5000; s++)
        uz_net_step(net, (double[]){0.5}, true, rin, rsp);
    assert_true(net->WPI[0] < -1e-4);
    /* W_IP: the output driven up by the hidden neuron, the interneuron's
     * dendrite silent, so the nudge puts u_I above v_hat_I (the rule off
     * in dead steps, so that the dead time's bias does not count) */
    c.eta_PI = 0, c.eta_IP = 1e-2;
    uz_params p = uz_params_nest();
    p.pi_dead = false;
    uz_net *n2 = uz_net_alloc(&p, &c, 1, 1, 1);
    n2->W1[0] = 3.0, n2->W2[0] = 5.0;
    for (int s = 0; s < 5000; s++)
        uz_net_step(n2, (double[]){1.0}, true, rin, rsp);
    assert_true(n2->WIP[0] > 1e-4);
    gsl_rng_free(rin);
    gsl_rng_free(rsp);
    uz_net_free(net);
    uz_net_free(n2);
}

static void net_refuses_what_it_cannot_simulate(void **state)
{
    uz_params p = uz_params_nest();
    assert_null(uz_net_alloc(&p, &rate_model, 0, 1, 1));
    p.phi_max = 0;
    assert_null(uz_net_alloc(&p, &rate_model, 1, 1, 1));
    p = uz_params_nest();
    p.t_ref = 0.05;
    assert_null(uz_net_alloc(&p, &rate_model, 1, 1, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(membranes_decay_exactly_without_input),
        cmocka_unit_test(soma_follows_dendrite_to_second_order),
        cmocka_unit_test(soma_conductances_to_second_order),
        cmocka_unit_test(dendritic_prediction_and_matching_potential),
        cmocka_unit_test(rate_function_and_its_log_derivative),
        cmocka_unit_test(psp_kernel_shape_integral_and_dendritic_response),
        cmocka_unit_test(spike_probability_and_dead_time),
        cmocka_unit_test(rule_sign),
        cmocka_unit_test(dead_steps_and_the_rule),
        cmocka_unit_test(weights_stay_within_bounds),
        cmocka_unit_test(exact_weight_check),
        cmocka_unit_test(invalid_parameters_are_named),
        cmocka_unit_test(schema_refuses_bad_values),
        cmocka_unit_test(compartments_relax_exactly),
        cmocka_unit_test(self_predicting_state),
        cmocka_unit_test(rate_function_in_network_units),
        cmocka_unit_test(spike_counts_against_the_rate_function),
        cmocka_unit_test(trace_mean_and_variance),
        cmocka_unit_test(drift_of_the_rules),
        cmocka_unit_test(net_refuses_what_it_cannot_simulate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* urbanczik_mc.c: task `self_predict` of the `urbanczik` kernel, the
 * self-predicting experiment of Sacramento et al. 2018 in the spiking
 * microcircuit (urbanczik_net.c), with the rate kernel's protocol so that the
 * two compare side by side: from random weights (U(-mc_w_init, mc_w_init)),
 * no target and fixed forward weights, mc_n_train patterns U(0, 1) of
 * mc_t_pattern ms each, shown once in order without a reset between them,
 * and mc_n_record evaluations spread evenly over training (the first before
 * it, the last after it). An evaluation starts from rest and shows the
 * mc_n_test held-out patterns for mc_t_pattern ms each without plasticity,
 * then the network returns to rest; the spikes stay (they are the model).
 *
 * Task `mc_teacher` (the teacher-student regression of Sacramento et al.
 * 2018, the rate kernel's task `teacher`, with inputs in [0, 1] because a
 * rate cannot be negative): a teacher network y = s2 W2 f(s1 W1 x), W1, W2
 * U(-1, 1) with mc_teacher_hidden hidden units and f(u) = 0.1 log(1 +
 * e^(u - 3)) (the rate kernel's default teacher), sets target potentials
 * for the output neurons, which are nudged toward them with g_som while a
 * training pattern is shown. The network's answer in an evaluation is each
 * output potential averaged over the pattern's second half; mc_test_mse is
 * its mean squared difference from the targets.
 *
 * Random streams, each keyed on the parameters listed:
 *   urbanczik-mc-weights  mc_in mc_hidden mc_out mc_w_init seed
 *   urbanczik-mc-train    mc_in mc_n_train seed      (the training patterns)
 *   urbanczik-mc-test     mc_in mc_n_test seed       (the held-out patterns)
 *   urbanczik-mc-input    mc_in mc_n_train mc_n_test mc_n_record mc_t_pattern
 *                         phi_max dt seed: the input spikes, one uniform per
 *                         input and step, so that conditions that differ in
 *                         anything else see the same input spikes
 *   urbanczik-mc-teacher  mc_in mc_teacher_hidden mc_out seed: the teacher's weights
 *   urbanczik-mc-spikes   all parameters: the network's spikes */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "urbanczik.h"
#include "urbanczik_mc.h"
#include "../microcircuit/mc.h" /* the teacher network */

static const char *const w_deps[] = {"mc_in", "mc_hidden", "mc_out", "mc_w_init", "seed", NULL};
static const char *const train_deps[] = {"mc_in", "mc_n_train", "seed", NULL};
static const char *const test_deps[] = {"mc_in", "mc_n_test", "seed", NULL};
static const char *const teacher_deps[] = {"mc_in", "mc_teacher_hidden", "mc_out", "seed",
                                           NULL};
static const char *const in_deps[] = {"mc_in",        "mc_n_train", "mc_n_test", "mc_n_record",
                                      "mc_t_pattern", "phi_max",    "dt",        "seed", NULL};

static size_t steps_of(const nm_point *p)
{
    double s = round(nm_get_f(p, "mc_t_pattern") / nm_get_f(p, "dt"));
    return s < 1 ? 1 : (size_t)s;
}

double uz_mc_cost(const nm_point *p)
{
    double n0 = (double)nm_get_i(p, "mc_in"), n1 = (double)nm_get_i(p, "mc_hidden");
    double n2 = (double)nm_get_i(p, "mc_out");
    double pats = (double)nm_get_i(p, "mc_n_train") +
                  (double)(nm_get_i(p, "mc_n_record") * nm_get_i(p, "mc_n_test"));
    /* every synapse once for the dendrites and once more for plasticity,
     * and every neuron's spike draw */
    return pats * (double)steps_of(p) * (2.0 * (n1 * n0 + 4.0 * n1 * n2) + 20.0 * (n0 + n1 + 2 * n2));
}

static uz_net_params net_params_of(const nm_point *p)
{
    return (uz_net_params){
        .g_lk = nm_get_f(p, "mc_g_lk"), .g_B = nm_get_f(p, "mc_g_B"),
        .g_A = nm_get_f(p, "mc_g_A"), .g_D = nm_get_f(p, "mc_g_D"),
        .g_som = nm_get_f(p, "mc_g_som"), .eta_up = nm_get_f(p, "mc_eta_up"),
        .eta_up_out = nm_get_f(p, "mc_eta_up_out"), .eta_IP = nm_get_f(p, "mc_eta_IP"),
        .eta_PI = nm_get_f(p, "mc_eta_PI"),
    };
}

static double *patterns(gsl_rng *r, size_t count, size_t n)
{
    double *x = malloc(count * n * sizeof *x);
    for (size_t i = 0; x && i < count * n; i++)
        x[i] = gsl_rng_uniform(r);
    return x;
}

/* The targets of the rate kernel's teacher network (mc_teacher: weights
 * U(-1, 1), W1 drawn before W2) for `count` patterns x: n2 each, or NULL;
 * f(u) = 0.1 log(1 + e^(u - 3)), the rate kernel's default teacher_phi. */
static double *teacher_targets(const mc_teacher *tc, const double *x, size_t count)
{
    static const mc_phi f = {.kind = MC_PHI_SOFTPLUS, .gamma = 0.1, .beta = 1.0, .theta = 3.0};
    double *h = malloc(tc->nh * sizeof *h), *y = malloc((count ? count : 1) * tc->ny * sizeof *y);
    if (!h || !y) {
        free(h);
        free(y);
        return NULL;
    }
    for (size_t q = 0; q < count; q++)
        mc_teacher_eval(tc, &f, x + q * tc->nx, y + q * tc->ny, h);
    free(h);
    return y;
}

/* One evaluation (record point j): from rest, every held-out pattern
 * without plasticity. apical: mean of v_A^2 over every step; apical_slow:
 * mean over neurons and patterns of the square of v_A averaged over the
 * pattern's second half (the part the spikes' noise leaves); rates in Hz. */
static void evaluate(uz_net *net, const double *test, const double *y, size_t n_test, size_t steps,
                     gsl_rng *rin, gsl_rng *rsp, double *vsum, const uz_mc_out *o, size_t j)
{
    uz_net_reset(net);
    net->nudge = false;
    double ap = 0, slow = 0, inter = 0, mse = 0;
    size_t half = steps / 2, n1 = net->n1, n2 = net->n2;
    for (size_t q = 0; q < n_test; q++) {
        memset(vsum, 0, (n1 + n2) * sizeof *vsum);
        for (size_t s = 0; s < steps; s++) {
            uz_net_step(net, test + q * net->n0, false, rin, rsp);
            ap += uz_net_apical_sq(net);
            inter += uz_net_inter_sq(net);
            if (s >= half) {
                for (size_t i = 0; i < n1; i++)
                    vsum[i] += net->vA1[i];
                for (size_t i = 0; i < n2; i++)
                    vsum[n1 + i] += net->out.u[i];
            }
        }
        for (size_t i = 0; i < n1; i++) {
            double m = vsum[i] / (double)(steps - half);
            slow += m * m / (double)n1;
        }
        for (size_t i = 0; y && i < n2; i++) {
            double d = vsum[n1 + i] / (double)(steps - half) - y[q * n2 + i];
            mse += d * d / (double)n2;
        }
    }
    o->test_mse[j] = y ? mse / (double)n_test : -1.0;
    double nsteps = (double)(n_test * steps), ms = nsteps * net->p.dt;
    o->apical[j] = ap / nsteps;
    o->apical_slow[j] = slow / (double)n_test;
    o->inter[j] = inter / nsteps;
    o->rate_hid[j] = 1e3 * (double)net->hid.spikes / ((double)net->n1 * ms);
    o->rate_out[j] = 1e3 * (double)net->out.spikes / ((double)net->n2 * ms);
    o->rate_inh[j] = 1e3 * (double)net->inh.spikes / ((double)net->n2 * ms);
    /* the rate model's alignment angles: W_IP with W_up(output), W_PI with -W_down */
    o->angle_ip[j] = uz_angle(net->WIP, net->W2, net->n2 * net->n1, 1.0);
    o->angle_pi[j] = uz_angle(net->WPI, net->Wd, net->n1 * net->n2, -1.0);
    uz_net_reset(net);
}

int uz_mc_run(const nm_point *p, nm_task *t, const uz_mc_out *o)
{
    uz_params up = uz_params_of(p);
    uz_net_params c = net_params_of(p);
    size_t n0 = (size_t)nm_get_i(p, "mc_in"), n1 = (size_t)nm_get_i(p, "mc_hidden");
    size_t n2 = (size_t)nm_get_i(p, "mc_out"), steps = steps_of(p);
    size_t n_train = (size_t)nm_get_i(p, "mc_n_train"), n_test = (size_t)nm_get_i(p, "mc_n_test");
    size_t n_record = (size_t)nm_get_i(p, "mc_n_record");
    gsl_rng *rw = nm_task_rng(t, "urbanczik-mc-weights", w_deps);
    gsl_rng *rtr = nm_task_rng(t, "urbanczik-mc-train", train_deps);
    gsl_rng *rte = nm_task_rng(t, "urbanczik-mc-test", test_deps);
    gsl_rng *rin = nm_task_rng(t, "urbanczik-mc-input", in_deps);
    gsl_rng *rsp = nm_task_rng(t, "urbanczik-mc-spikes", NULL);
    bool teach = !strcmp(nm_get_s(p, "task"), "mc_teacher");
    gsl_rng *rt = teach ? nm_task_rng(t, "urbanczik-mc-teacher", teacher_deps) : NULL;
    uz_net *net = uz_net_alloc(&up, &c, n0, n1, n2);
    double *train = rtr ? patterns(rtr, n_train, n0) : NULL;
    double *test = rte ? patterns(rte, n_test, n0) : NULL;
    double *vsum = malloc((n1 + n2) * sizeof *vsum);
    double *ytr = NULL, *yte = NULL;
    mc_teacher *tc = rt ? mc_teacher_alloc(n0, (size_t)nm_get_i(p, "mc_teacher_hidden"), n2, rt)
                        : NULL;
    if (tc && train && test) {
        tc->scale1 = nm_get_f(p, "mc_teacher_scale1");
        tc->scale2 = nm_get_f(p, "mc_teacher_scale2");
        ytr = teacher_targets(tc, train, n_train);
        yte = teacher_targets(tc, test, n_test);
    }
    int rc = 0;
    if (!rw || !rin || !rsp || !net || !train || !test || !vsum || (teach && (!ytr || !yte))) {
        rc = nm_task_fail(t, "urbanczik: out of memory for the %zu-%zu-%zu network", n0, n1, n2);
        goto done;
    }
    uz_net_init_random(net, rw, nm_get_f(p, "mc_w_init"));
    if (!strcmp(nm_get_s(p, "mc_init"), "self_predicting"))
        uz_net_self_predicting(net);
    bool plastic = c.eta_up != 0 || c.eta_up_out != 0 || c.eta_IP != 0 || c.eta_PI != 0;
    size_t seen = 0;
    for (size_t j = 0; j < n_record; j++) {
        size_t until = (size_t)((double)n_train * (double)j / (double)(n_record - 1) + 0.5);
        for (; seen < until; seen++) {
            if (nm_task_expired(t)) {
                rc = nm_task_fail(t, "urbanczik: stopped at pattern %zu of %zu", seen, n_train);
                goto done;
            }
            net->nudge = teach;
            if (teach)
                memcpy(net->target, ytr + seen * n2, n2 * sizeof *ytr);
            for (size_t s = 0; s < steps; s++)
                uz_net_step(net, train + seen * n0, plastic, rin, rsp);
        }
        o->pattern[j] = (int64_t)seen;
        evaluate(net, test, yte, n_test, steps, rin, rsp, vsum, o, j);
    }
done:
    mc_teacher_free(tc);
    uz_net_free(net);
    free(train);
    free(test);
    free(vsum);
    free(ytr);
    free(yte);
    return rc;
}

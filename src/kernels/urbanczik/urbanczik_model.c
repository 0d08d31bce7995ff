/* urbanczik_model.c: the two-compartment neuron of the `urbanczik` kernel, its
 * Poisson spiking and the Urbanczik-Senn rule, one step at a time (equations
 * and conventions in urbanczik.h). */
#include <math.h>
#include <stdlib.h>

#include "urbanczik.h"

uz_params uz_params_nest(void)
{
    return (uz_params){.pi_dead = true, .C_s = 300, .C_d = 300, .gL_s = 30, .gL_d = 30, .EL_s = -70, .EL_d = -70,
                       .E_ex = 0, .E_in = -75, .g_sp = 600, .tau_ex = 3, .tau_in = 3, .tau_d = 3,
                       .I_e = 0, .phi_max = 0.15, .k = 0.5, .beta = 1.0 / 3.0, .theta = -55,
                       .t_ref = 3, .u_unit = 15, .eta = 0.17, .tau_Delta = 100, .w_min = 0,
                       .w_max = 1350, .dt = 0.1};
}

const char *uz_params_invalid(const uz_params *p)
{
    if (!(p->dt > 0))
        return "dt must be > 0";
    if (!(p->t_ref >= p->dt))
        return "t_ref must be at least dt (refractoriness keeps at most one spike per step)";
    double steps = p->t_ref / p->dt;
    if (fabs(steps - round(steps)) > 1e-9 * steps)
        return "t_ref must be a whole number of steps dt";
    if (!(p->C_s > 0 && p->C_d > 0 && p->gL_s > 0 && p->gL_d > 0 && p->tau_ex > 0 &&
          p->tau_in > 0 && p->tau_d > 0 && p->tau_Delta > 0))
        return "capacitances, leak conductances and time constants must be > 0";
    if (p->g_sp < 0)
        return "g_sp must be >= 0";
    double tau_L = p->C_d / p->gL_d;
    if (fabs(tau_L - p->tau_d) <= 1e-9 * tau_L)
        return "tau_syn_dend must differ from C_dend/g_L_dend (the PSP kernel's two time constants)";
    if (p->w_min > p->w_max)
        return "Wmin must not exceed Wmax";
    return NULL;
}

double uz_phi(const uz_params *p, double u)
{
    return p->phi_max / (1.0 + p->k * exp(p->beta * (p->theta - u)));
}

double uz_h(const uz_params *p, double u)
{
    return p->u_unit * p->beta / (1.0 + exp(-p->beta * (p->theta - u)) / p->k);
}

double uz_vstar(const uz_params *p, double v)
{
    return (p->gL_s * p->EL_s + p->g_sp * v) / (p->gL_s + p->g_sp);
}

double uz_kappa(const uz_params *p, double s)
{
    double tau_L = p->C_d / p->gL_d;
    return p->tau_d * (exp(-s / tau_L) - exp(-s / p->tau_d)) / (p->gL_d * (tau_L - p->tau_d));
}

double uz_spike_prob(const uz_params *p, double u)
{
    return -expm1(-uz_phi(p, u) * p->dt);
}

double uz_matching(const uz_params *p, double gE, double gI)
{
    return (gE * p->E_ex + gI * p->E_in) / (gE + gI);
}

/* Mean over [0, dt] of e^(-s/tau): tau (1 - e^(-dt/tau)) / dt. */
static double mean_decay(double tau, double dt)
{
    return -expm1(-dt / tau) * tau / dt;
}

uz_neuron *uz_neuron_alloc(const uz_params *p, size_t n, double w0)
{
    if (uz_params_invalid(p))
        return NULL;
    uz_neuron *nr = calloc(1, sizeof *nr);
    if (!nr)
        return NULL;
    nr->p = *p;
    nr->n = n;
    size_t m = n ? n : 1;
    nr->w = malloc(m * sizeof *nr->w);
    nr->trL = calloc(m, sizeof *nr->trL);
    nr->trS = calloc(m, sizeof *nr->trS);
    nr->D = calloc(m, sizeof *nr->D);
    if (!nr->w || !nr->trL || !nr->trS || !nr->D) {
        uz_neuron_free(nr);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        nr->w[i] = w0;
    nr->U = p->EL_s;
    nr->V = p->EL_d;
    double tau_L = p->C_d / p->gL_d;
    nr->aL = exp(-p->dt / tau_L);
    nr->aS = exp(-p->dt / p->tau_d);
    nr->aD = exp(-p->dt / p->tau_Delta);
    nr->aE = exp(-p->dt / p->tau_ex);
    nr->aI = exp(-p->dt / p->tau_in);
    nr->mE = mean_decay(p->tau_ex, p->dt);
    nr->mI = mean_decay(p->tau_in, p->dt);
    nr->psp_scale = p->tau_d / (p->gL_d * (tau_L - p->tau_d));
    nr->pVI = nr->psp_scale * (nr->aL - nr->aS);
    nr->ref_steps = (int)lround(p->t_ref / p->dt);
    return nr;
}

void uz_neuron_free(uz_neuron *nr)
{
    if (!nr)
        return;
    free(nr->w);
    free(nr->trL);
    free(nr->trS);
    free(nr->D);
    free(nr);
}

void uz_neuron_integrate(uz_neuron *nr)
{
    const uz_params *p = &nr->p;
    /* Dendrite: exact propagator of (V, I_d). */
    double V0 = nr->V;
    nr->V = p->EL_d + (V0 - p->EL_d) * nr->aL + nr->pVI * nr->I_d;
    nr->I_d *= nr->aS;
    /* Soma: exponential integrator with the step's mean conductances. */
    double gE = nr->gE * nr->mE, gI = nr->gI * nr->mI, Vm = 0.5 * (V0 + nr->V);
    double G = p->gL_s + gE + gI + p->g_sp;
    double Uinf = (p->gL_s * p->EL_s + gE * p->E_ex + gI * p->E_in + p->g_sp * Vm + p->I_e) / G;
    nr->U = Uinf + (nr->U - Uinf) * exp(-G * p->dt / p->C_s);
    nr->gE *= nr->aE;
    nr->gI *= nr->aI;
    /* One pass over the synapses: PI of the previous step into D (with the
     * traces as they were then), the traces' decay, and the weight update
     * w += eta (1 - aD) D, clipped. */
    const double aL = nr->aL, aS = nr->aS, aD = nr->aD, f = nr->f_prev;
    const double c = p->eta * (1.0 - aD), lo = p->w_min, hi = p->w_max;
    double *restrict w = nr->w, *restrict D = nr->D;
    double *restrict trL = nr->trL, *restrict trS = nr->trS;
    for (size_t i = 0; i < nr->n; i++) {
        double d = aD * D[i] + f * (trL[i] - trS[i]);
        D[i] = d;
        trL[i] *= aL;
        trS[i] *= aS;
        double x = w[i] + c * d;
        x = x < lo ? lo : x;
        w[i] = x > hi ? hi : x;
    }
    nr->f_prev = 0;
}

void uz_neuron_receive(uz_neuron *nr, const uz_input *in)
{
    if (!in)
        return;
    for (size_t q = 0; q < in->nsyn; q++) {
        uint32_t i = in->syn[q];
        nr->I_d += nr->w[i];
        nr->trL[i] += 1.0;
        nr->trS[i] += 1.0;
    }
    nr->gE += in->dgE;
    nr->gI += in->dgI;
}

int uz_neuron_fire(uz_neuron *nr, gsl_rng *r)
{
    nr->dead = nr->refr > 0;
    if (nr->dead) {
        nr->refr--;
        return 0;
    }
    if (gsl_rng_uniform(r) < uz_spike_prob(&nr->p, nr->U)) {
        nr->refr = nr->ref_steps;
        return 1;
    }
    return 0;
}

void uz_neuron_learn(uz_neuron *nr, int spikes)
{
    const uz_params *p = &nr->p;
    if (nr->dead && !p->pi_dead) {
        nr->f_prev = 0;
        return;
    }
    double vs = uz_vstar(p, nr->V);
    /* PI_i = f (trL_i - trS_i): the factor common to every synapse; the next
     * uz_neuron_integrate adds it into D. */
    nr->f_prev = p->u_unit * p->C_d * ((double)spikes - uz_phi(p, vs) * p->dt) * uz_h(p, vs) *
                 nr->psp_scale;
}

int uz_neuron_step(uz_neuron *nr, const uz_input *in, gsl_rng *r)
{
    uz_neuron_integrate(nr);
    uz_neuron_receive(nr, in);
    int s = uz_neuron_fire(nr, r);
    uz_neuron_learn(nr, s);
    return s;
}

/* urbanczik.h: the parts of the `urbanczik` kernel (spiking dendritic
 * prediction learning, Urbanczik & Senn 2014), shared by its source files and
 * its unit test.
 *
 *   urbanczik_model.c  the two-compartment neuron, its Poisson spiking and the
 *                      plasticity rule, one time step at a time
 *   urbanczik.c        the kernel: parameters, outputs, the `teacher` and
 *                      `rates` tasks
 *   urbanczik_net.c    the spiking microcircuit built of such neurons (below)
 *   urbanczik_mc.c     its tasks `self_predict` and `mc_teacher`
 *
 * The neuron (conventions of NEST's pp_cond_exp_mc_urbanczik, units pF, nS,
 * mV, pA, ms):
 *   soma      C_s dU/dt = -gL_s (U - EL_s) - gE (U - E_ex) - gI (U - E_in)
 *                         + g_sp (V - U) + I_e
 *   dendrite  C_d dV/dt = -gL_d (V - EL_d) + I_d        (no soma -> dendrite coupling)
 *   gE, gI, I_d decay exponentially (tau_ex, tau_in, tau_d); a presynaptic
 *   spike on dendritic synapse i adds w_i (pA) to I_d.
 *   Rate phi(U) = phi_max / (1 + k exp(beta (theta - U))); in a step that is
 *   not refractory the soma spikes with probability 1 - exp(-phi(U) dt); after
 *   a spike the next ref_steps steps are dead (no reset of U).
 *   Dendritic prediction V* = (gL_s EL_s + g_sp V) / (gL_s + g_sp).
 *
 * The rule, per step of length dt ending at time t:
 *   PI_i(t) = u_unit C_d (S(t) - phi(V*) dt) h(V*) PSP_i(t),
 *   h(u) = u_unit d ln phi / du = u_unit beta / (1 + exp(-beta (theta - u)) / k),
 *   PSP_i(t) = sum over presynaptic spikes t_s <= t of kappa(t - t_s),
 *   kappa(s) = tau_d (e^(-s/tau_L) - e^(-s/tau_d)) / (gL_d (tau_L - tau_d)), tau_L = C_d/gL_d
 *   (the dendritic potential a 1 pA current jump produces, mV/pA),
 *   and the weight is the low-passed (tau_Delta) PI integrated with rate eta:
 *   w_i(t) = w0 + eta sum over steps t' <= t of [1 - e^(-(t - t')/tau_Delta)] PI_i(t'),
 *   with PI = 0 in dead steps when pi_dead is false (NEST keeps it there: its
 *   -phi(V*) dt term then depresses while the soma cannot fire; leaving them
 *   out makes the rule the likelihood gradient of the process with dead time),
 *   computed exactly by two running sums; the weight is clipped to
 *   [w_min, w_max] after every step. u_unit (15 mV) is the paper's unit of
 *   voltage, by which NEST scales h and the update.
 *
 * Integration: the dendrite (V, I_d) and every synaptic variable are linear
 * with constant coefficients and are advanced by their exact propagators. The
 * soma is linear in U with time-varying conductances; each step uses the exact
 * mean of gE and gI over the step (they decay exponentially), the mean of V at
 * the step's ends, and the exact exponential solution for that constant total
 * conductance (an exponential integrator, second order in dt). Input spikes
 * and conductance increments of a step are added at its end, as NEST does.
 *
 * Nothing here knows about the engine: functions that draw random numbers take
 * a gsl_rng, so the tests can drive them directly. */
#ifndef NEUROMIC_URBANCZIK_H
#define NEUROMIC_URBANCZIK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

typedef struct {
    double C_s, C_d;       /* capacitances, pF */
    double gL_s, gL_d;     /* leak conductances, nS */
    double EL_s, EL_d;     /* leak reversal potentials, mV */
    double E_ex, E_in;     /* somatic synaptic reversal potentials, mV */
    double g_sp;           /* dendrite -> soma coupling, nS */
    double tau_ex, tau_in; /* somatic conductance decay, ms */
    double tau_d;          /* dendritic current decay, ms */
    double I_e;            /* constant somatic current, pA */
    double phi_max;        /* 1/ms */
    double k, beta, theta; /* rate function: -, 1/mV, mV */
    double t_ref;          /* dead time after a spike, ms */
    double u_unit;         /* mV: scale of h and of the update */
    double eta;            /* learning rate */
    double tau_Delta;      /* low-pass of PI, ms */
    double w_min, w_max;   /* pA */
    double dt;             /* ms */
    bool pi_dead;          /* PI also in dead steps (NEST); false: PI = 0 there */
} uz_params;

/* NEST's defaults (pp_cond_exp_mc_urbanczik, urbanczik_synapse, and the
 * example's eta 0.17 and Wmax 1350 pA), which are the kernel's defaults. */
uz_params uz_params_nest(void);

/* Why a parameter set cannot be simulated (NULL when it can): dt and t_ref
 * not positive or t_ref not a whole number of steps, tau_d equal to C_d/gL_d
 * (the PSP kernel's two time constants must differ), w_min > w_max. */
const char *uz_params_invalid(const uz_params *p);

typedef struct {
    uz_params p;
    size_t n;               /* dendritic synapses */
    /* state */
    double U, V;            /* somatic, dendritic potential, mV */
    double gE, gI, I_d;     /* somatic conductances nS, dendritic current pA */
    int refr;               /* dead steps left */
    bool dead;              /* the last uz_neuron_fire was in a dead step */
    double *w;              /* n weights, pA */
    double *trL, *trS;      /* n presynaptic traces: sums of e^(-(t-t_s)/tau_L), e^(-(t-t_s)/tau_d) */
    double *D;              /* n: sum over t' < t of e^(-(t-t')/tau_Delta) PI(t') */
    double f_prev;          /* PI of the last step is f_prev (trL - trS) (see uz_neuron_learn) */
    /* step constants */
    double aL, aS, aD;      /* e^(-dt/tau_L), e^(-dt/tau_d), e^(-dt/tau_Delta) */
    double aE, aI;          /* e^(-dt/tau_ex), e^(-dt/tau_in) */
    double mE, mI;          /* mean over a step of a unit conductance decaying from 1 */
    double pVI;             /* V's response at dt to I_d = 1 pA at the step's start, mV */
    double psp_scale;       /* kappa's factor tau_d / (gL_d (tau_L - tau_d)), mV/pA */
    int ref_steps;
} uz_neuron;

/* A neuron at rest (U = EL_s, V = EL_d, no synaptic activity, no traces),
 * every weight w0. NULL on out of memory or invalid parameters. */
uz_neuron *uz_neuron_alloc(const uz_params *p, size_t n, double w0);
void uz_neuron_free(uz_neuron *nr);

double uz_phi(const uz_params *p, double u);       /* 1/ms */
double uz_h(const uz_params *p, double u);         /* u_unit d ln phi / du */
double uz_vstar(const uz_params *p, double v);     /* mV */
double uz_kappa(const uz_params *p, double s);     /* PSP kernel at lag s >= 0, mV/pA */
/* Probability of a spike in one step that is not refractory at potential u. */
double uz_spike_prob(const uz_params *p, double u);

/* What arrives at the end of a step: dendritic spikes (synapse indices, an
 * index listed twice counts twice) and somatic conductance increments (nS). */
typedef struct {
    const uint32_t *syn;
    size_t nsyn;
    double dgE, dgI;
} uz_input;

/* One step of length dt ending at time t: uz_neuron_integrate, then the
 * input of the step's end, then the spike draw, then uz_neuron_learn.
 * Returns the number of somatic spikes of the step (0 or 1). Afterwards U,
 * V, the conductances, the traces and w are those at time t. */
int uz_neuron_step(uz_neuron *nr, const uz_input *in, gsl_rng *r);

/* The parts of a step (tests and benchmarks call them directly): */
/* Advances U, V, gE, gI, I_d over dt, and in one pass over the synapses adds
 * the previous step's PI into D, decays the traces and updates the weights
 * (w += eta (1 - aD) D, clipped to [w_min, w_max]). */
void uz_neuron_integrate(uz_neuron *nr);
/* Adds the step's input (with the weights just updated). */
void uz_neuron_receive(uz_neuron *nr, const uz_input *in);
/* Refractoriness and the spike draw (one uniform from r when not refractory). */
int uz_neuron_fire(uz_neuron *nr, gsl_rng *r);
/* PI of the step for the given spike count, from V* now; it enters D at the
 * next uz_neuron_integrate (with the traces of now). Zero after a dead step
 * unless pi_dead. */
void uz_neuron_learn(uz_neuron *nr, int spikes);

/* Matching potential of somatic conductances: (gE E_ex + gI E_in)/(gE + gI). */
double uz_matching(const uz_params *p, double gE, double gI);

/* ---- The spiking microcircuit (urbanczik_net.c) ----
 *
 * The rate microcircuit of Sacramento et al. 2018 (the `microcircuit`
 * kernel's equations, one hidden layer) with every rate replaced by spikes,
 * as in Gille's thesis (seed 004). Layers: n0 inputs, n1 hidden pyramidal
 * neurons (soma u, basal v_B, apical v_A), n2 output pyramidal neurons (u,
 * v_B) and n2 interneurons in the hidden layer (soma u_I, dendrite v_I), one
 * per output neuron. Potentials are in the rate model's units (rest 0,
 * capacitance 1, conductances in 1/ms):
 *
 *   hidden      du/dt   = -g_lk u + g_B (v_B - u) + g_A (v_A - u)
 *   output      du/dt   = -g_lk u + g_B (v_B - u) [+ g_som (u_tgt - u)]
 *   interneuron du_I/dt = -g_lk u_I + g_D (v_I - u_I) + g_som (u_out - u_I)
 *   v_B = W_up x_below,  v_A = W_down x_out + W_PI x_I,  v_I = W_IP x_hidden,
 *
 * where x_j is neuron j's presynaptic trace: its spikes filtered by the
 * single neuron's PSP kernel (time constants tau_L = C_d/gL_d and tau_d),
 * normalised to unit area and divided by phi_max, so that its mean is the
 * neuron's rate in units of phi_max, the rate model's r = phi(u) in (0, 1).
 *
 * Spiking is the single neuron's: rate phi(U) (uz_phi, the same parameters),
 * a spike in a step with probability 1 - exp(-phi dt), then ref_steps dead
 * steps. A network potential u is the membrane potential U = U0 + u / beta,
 * U0 = theta + ln(k) / beta, so that phi(U) = phi_max / (1 + e^-u): the rate
 * model's logistic, scaled to phi_max (with NEST's defaults one unit of u is
 * 3 mV and u = 0 is -57.1 mV, 75 Hz). Input neuron i spikes as a Poisson
 * process of rate phi_max x_i (x_i the pattern, in [0, 1]) without dead time.
 *
 * Plasticity: the rate model's rules with the postsynaptic rate replaced by
 * the spike train (Urbanczik-Senn without the factor h), every one low-passed
 * with tau_Delta (G = aD G + (1 - aD) post pre^T, W += dt eta G):
 *   W_up (hidden)  post = S/(phi_max dt) - phi(vhat_B)/phi_max,
 *                  vhat_B = g_B v_B / (g_lk + g_B + g_A)
 *   W_up (output)  the same with vhat_B = g_B v_B / (g_lk + g_B)
 *   W_IP           post = S_I/(phi_max dt) - phi(vhat_I)/phi_max,
 *                  vhat_I = g_D v_I / (g_lk + g_D)
 *   W_PI           post = -v_A
 * with pre the trace x of the presynaptic neuron; S is the spike count of the
 * step. With pi_dead false, a neuron's forward or IP rule is silent in its
 * dead steps (as the single neuron's). W_down is fixed.
 *
 * A step (synchronous, as the rate model's Euler step): dendrites from the
 * traces at the step's start, every soma by its exact exponential solution
 * over dt (the interneurons nudged by the output potential at the step's
 * start), spikes, traces, plasticity. */
typedef struct {
    double g_lk, g_B, g_A, g_D, g_som;         /* 1/ms */
    double eta_up, eta_up_out, eta_IP, eta_PI; /* 1/ms */
} uz_net_params;

/* A population of spiking neurons and its presynaptic traces. */
typedef struct {
    size_t n;
    double *u;      /* somatic potential (inputs: the pattern x) */
    int *refr;      /* dead steps left */
    unsigned char *s, *dead; /* spikes of the last step, dead in the last step */
    double *trL, *trS, *x; /* traces: sums of e^(-(t-t_s)/tau_L), e^(-(t-t_s)/tau_d); x */
    double *post;   /* scratch: postsynaptic factor of a rule (inputs: spike probability of x = u) */
    long spikes;    /* spike count since the last uz_net_reset */
} uz_pop;

typedef struct {
    uz_params p;
    uz_net_params c;
    size_t n0, n1, n2;
    uz_pop in, hid, out, inh;   /* inputs, hidden, output, interneurons */
    double *vB1, *vA1, *vB2, *vI; /* dendritic potentials */
    double *W1, *W2, *Wd, *WPI, *WIP; /* row-major [post][pre]: n1 x n0, n2 x n1, n1 x n2, n1 x n2, n2 x n1 */
    double *G1, *G2, *GPI, *GIP;      /* low-passed updates, same shapes */
    double *target;                   /* n2 output targets (nudge) */
    bool nudge;
    bool in_ok;                     /* the inputs' u and spike probabilities are set */
    /* step constants */
    double U0, aL, aS, aD, xnorm;
    double e1, e2, eI;              /* e^(-G dt) of hidden, output (not nudged), interneuron */
    double e2n;                     /* output, nudged */
    int ref_steps;
} uz_net;

/* A network at rest with zero weights; NULL on out of memory, an empty
 * layer or invalid neuron parameters. */
uz_net *uz_net_alloc(const uz_params *p, const uz_net_params *c, size_t n0, size_t n1, size_t n2);
void uz_net_free(uz_net *net);
/* Every weight U(-w, w) from r: W1, W2, Wd, WPI, WIP in this order, row by row. */
void uz_net_init_random(uz_net *net, gsl_rng *r, double w);
/* W_PI = -W_down, W_IP = (g_lk + g_D)/g_D * g_B/(g_lk + g_B) W_up(output):
 * the rate model's self-predicting state. */
void uz_net_self_predicting(uz_net *net);
/* Potentials, traces, dead times and spike counts to zero (not G). */
void uz_net_reset(uz_net *net);
/* One step with input pattern x (n0 values in [0, 1]); plastic: apply the
 * rules; rin draws the input spikes, rsp the network's (one uniform per
 * neuron and step that is not dead, in the order hidden, output,
 * interneurons). */
void uz_net_step(uz_net *net, const double *x, bool plastic, gsl_rng *rin, gsl_rng *rsp);
/* The network unit u as a membrane potential U (mV) and its rate (1/ms). */
double uz_net_U(const uz_net *net, double u);
/* Mean over hidden neurons of v_A^2; of (u_I - u_out)^2. */
double uz_net_apical_sq(const uz_net *net);
double uz_net_inter_sq(const uz_net *net);
/* Angle in degrees between the n values of a and sign * b (90 when either is zero). */
double uz_angle(const double *a, const double *b, size_t n, double sign);

#endif

/* dendnet.h: the parts of the `dendnet` kernel (how deep a temporal
 * convolutional network must be to mimic a neuron; Beniaguev, Segev and
 * London, Neuron 2021), shared by its source files and its unit tests.
 *
 *   dn_neuron.c  the neuron: a branched passive tree generated from
 *                parameters, backward Euler with the Hines algorithm, AMPA,
 *                NMDA (Mg block) and GABA_A synapses, a spiking soma; and the
 *                leaky integrate-and-fire control
 *   dn_data.c    input spike trains and the simulated data sets
 *   dn_tcn.c     the causal temporal convolutional network (im2col + CBLAS),
 *                its losses, gradients, Adam, and the evaluation metrics
 *   dendnet.c    the kernel: parameters, outputs, one task
 *
 * Units: mV, ms, nS, pF, um, pA. Nothing here knows about the engine:
 * functions that draw random numbers take a gsl_rng. */
#ifndef NEUROMIC_DENDNET_H
#define NEUROMIC_DENDNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

/* ---- morphology ---- */

typedef struct {
    int n_basal;        /* basal stems leaving the soma */
    int basal_order;    /* levels of binary branching of each stem (1: one section) */
    int basal_seg;      /* compartments per basal section */
    double basal_len;   /* length of one basal section, um */
    double basal_diam;  /* diameter of the basal sections, um */
    int trunk_seg;      /* compartments of the apical trunk (0: no apical tree) */
    double trunk_len, trunk_diam;
    int n_tuft;         /* tuft stems leaving the end of the trunk */
    int tuft_order, tuft_seg;
    double tuft_len, tuft_diam;
    double soma_diam;   /* soma: a cylinder of this length and diameter, um */
    double cm;          /* specific capacitance, uF/cm^2 */
    double Rm;          /* specific membrane resistance, Ohm cm^2 */
    double Ra;          /* axial resistivity, Ohm cm */
} dn_morph;

/* Compartment kinds. */
enum { DN_SOMA, DN_BASAL, DN_TRUNK, DN_TUFT };

/* A tree of compartments numbered so that parent[i] < i (compartment 0 is
 * the soma, parent -1): the order the Hines elimination needs. */
typedef struct {
    int n;
    int *parent;
    int *kind;
    double *C;    /* capacitance, pF */
    double *gL;   /* leak conductance, nS */
    double *gA;   /* axial conductance to the parent, nS (0 for the soma) */
    double *dist; /* path distance of the compartment's centre from the soma's, um */
} dn_tree;

/* Builds the tree; NULL on invalid parameters or out of memory. */
dn_tree *dn_tree_alloc(const dn_morph *m);
void dn_tree_free(dn_tree *tr);
/* Why the morphology cannot be built (NULL when it can). */
const char *dn_morph_invalid(const dn_morph *m);

/* Solves the symmetric tree system in place: row i has diagonal d[i] and
 * -gA[i] at column parent[i] (and symmetrically in row parent[i]); r is the
 * right-hand side on entry and the solution on return. d is overwritten. */
void dn_hines_solve(const dn_tree *tr, double *d, double *r);

/* ---- synapses and the spiking soma ---- */

/* Mg block of the NMDA conductance (Jahr and Stevens' form with the
 * reference's constants): 1 / (1 + exp(-0.08 V) [Mg] / 3.57). */
double dn_mg_block(double v_mv, double mg_mM);

enum { DN_AMPA, DN_NMDA, DN_GABA, DN_NSYN };

typedef struct {
    double tau_rise[DN_NSYN], tau_decay[DN_NSYN]; /* ms */
    double g[DN_NSYN];                            /* peak conductance of one input spike, nS */
    double E[DN_NSYN];                            /* reversal potentials, mV */
    double mg;                                    /* [Mg], mM */
    double E_L;                                   /* leak reversal and initial V, mV */
    double v_th;                                  /* somatic threshold, mV */
    double spike_ms, spike_g, spike_E;            /* spike: conductance to spike_E for spike_ms */
    double ref_ms, ahp_g, ahp_E;                  /* then to ahp_E until ref_ms after onset */
    double dt;                                    /* ms; 1 ms is a whole number of steps */
} dn_cell_params;

/* Input channels: n_exc excitatory (each with AMPA and NMDA), then n_inh
 * inhibitory; channel j drives compartment comp[j]. */
typedef struct {
    const dn_tree *tree;
    dn_cell_params p;
    int n_exc, n_inh;
    int *comp;
    /* state */
    double *V;
    double *rise, *decay; /* [DN_NSYN][n]: double-exponential states per compartment */
    int spike_left, ref_left;
    /* step constants */
    double a_rise[DN_NSYN], a_decay[DN_NSYN], norm[DN_NSYN];
    int steps_per_ms, spike_steps, ref_steps;
    double *d, *r; /* work */
} dn_cell;

/* Excitatory channels: exc_per_comp on every compartment, in compartment
 * order; likewise the inhibitory ones. NULL on bad parameters or no memory. */
dn_cell *dn_cell_alloc(const dn_tree *tr, const dn_cell_params *p, int exc_per_comp,
                       int inh_per_comp);
void dn_cell_free(dn_cell *c);
/* Back to rest: every V at E_L, no synaptic activity, not refractory. */
void dn_cell_reset(dn_cell *c);
/* One step of dt: the conductances of the step's start (NMDA's block at the
 * start's V), backward Euler through dn_hines_solve, then the spike test.
 * Returns 1 when the soma spiked. */
int dn_cell_step(dn_cell *c);
/* One input spike on channel j (added to the synaptic states now). */
void dn_cell_input(dn_cell *c, int j);
/* Runs T bins of 1 ms: the spikes of bin b (x[j*T + b] != 0) arrive at its
 * start; spikes[b] = somatic spikes in the bin (0/1 after clipping), v[b] =
 * somatic V at the bin's end, capped at v_th (the spikes cut off). Returns
 * the number of spikes. */
long dn_cell_run(dn_cell *c, const uint8_t *x, size_t T, uint8_t *spikes, float *v);

/* The control: a leaky integrate-and-fire point neuron with current-based
 * exponential synapses. */
typedef struct {
    double tau_m, E_L, v_th, v_reset, ref_ms;
    double tau_e, tau_i; /* synaptic current decay, ms */
    double w_e, w_i;     /* voltage kick of one input spike at tau_s -> 0, mV (w_i < 0) */
    double dt;
} dn_lif_params;
/* As dn_cell_run, for n_exc then n_inh channels. */
long dn_lif_run(const dn_lif_params *p, int n_exc, int n_inh, const uint8_t *x, size_t T,
                uint8_t *spikes, float *v);

/* ---- inputs ---- */

typedef struct {
    int n_exc, n_inh;
    double rate_e, rate_i;   /* mean rate of one channel, Hz */
    double seg_min, seg_max; /* piecewise-constant segments, ms */
    double smooth_ms;        /* Gaussian smoothing of the rate, sigma, ms */
    double bal_lo, bal_hi;   /* per simulation, gains of E and of I drawn from U[lo, hi] */
} dn_input_params;

/* One simulation's input: x[j*T + b] in {0, 1}. Each channel's rate is
 * piecewise constant (segments U[seg_min, seg_max], levels U[0, 2) times
 * the mean rate times its population's gain for this simulation), smoothed
 * with a Gaussian; a spike in a bin with probability rate * 1 ms. */
void dn_inputs_draw(const dn_input_params *ip, size_t T, gsl_rng *r, uint8_t *x);

/* A data set: nsim simulations of T bins each, stored one after another. */
typedef struct {
    int nin;
    size_t nsim, T;
    uint8_t *x; /* [nsim][nin][T] */
    uint8_t *y; /* [nsim][T] spikes */
    float *v;   /* [nsim][T] somatic voltage, capped */
} dn_data;

dn_data *dn_data_alloc(int nin, size_t nsim, size_t T);
void dn_data_free(dn_data *d);
/* Output spikes per second over the whole set. */
double dn_data_rate(const dn_data *d);

/* ---- the temporal convolutional network ---- */

/* depth causal ("valid") convolutions with ReLU, kernel K[l] over time and
 * width channels, then two linear 1x1 heads: a spike logit and the
 * somatic voltage (standardised). All parameters live in one array. */
typedef struct {
    int cin, depth, width;
    int K[8];
    int rf;                 /* receptive field: 1 + sum (K[l] - 1) */
    size_t np;              /* parameters */
    size_t off_W[8], off_b[8], off_head, off_hb;
    double *w, *g;          /* parameters, gradient */
    double *m, *s;          /* Adam moments */
    long t_adam;
} dn_tcn;

/* Kernel sizes for a receptive field rf and first-layer kernel first:
 * depth 1 takes K = rf; deeper networks first, then equal kernels for the
 * rest (rounded; the realised rf is tcn->rf). */
dn_tcn *dn_tcn_alloc(int cin, int depth, int width, int rf, int first);
void dn_tcn_free(dn_tcn *n);
/* He-normal weights, zero biases; the spike bias at logit(p0). */
void dn_tcn_init(dn_tcn *n, gsl_rng *r, double p0);

/* Work space for batches of B windows of L output bins. */
typedef struct dn_work dn_work;
dn_work *dn_work_alloc(const dn_tcn *n, int B, int L);
void dn_work_free(dn_work *w);

/* Forward pass on B windows: x0 is [cin][B*(L + rf - 1)] (window b's columns
 * b*(L+rf-1) ...), as doubles. Writes the spike logits and voltage outputs
 * ([B*L] each) into the work space, returns pointers to them. */
void dn_tcn_forward(const dn_tcn *n, dn_work *w, const double *x0, int B, const double **logit,
                    const double **vout);
/* Loss of the last forward: mean over the B*L bins of BCE(logit, y) and of
 * v_weight (vout - v)^2; its gradient into n->g (overwritten). *bce and *mse
 * get the two means (mse without the weight). */
double dn_tcn_backward(dn_tcn *n, dn_work *w, const uint8_t *y, const double *v, double v_weight,
                       double *bce, double *mse);
/* Plain L2 weight decay: adds wd * w to n->g for every weight (not the
 * biases) and returns the penalty wd/2 sum w^2, to be added to the loss of
 * the last dn_tcn_backward. */
double dn_tcn_l2(dn_tcn *n, double wd);
/* One Adam step with the gradient in n->g; with wd > 0 also decoupled weight
 * decay (AdamW, Loshchilov and Hutter 2019): every weight (not the biases)
 * shrinks by lr wd times its value before the step, whatever the gradient's
 * scale, where plain L2 (dn_tcn_l2) goes through Adam's normalisation. */
void dn_tcn_adam(dn_tcn *n, double lr, double b1, double b2, double eps, double wd);

/* ---- metrics ---- */

/* Area under the ROC curve of scores for labels y (ties count half); -1
 * without both classes. */
double dn_auc(const double *score, const uint8_t *y, size_t n);
/* True-positive rate at the threshold that leaves at most a fraction fpr of
 * the negatives above it. -1 without both classes. */
double dn_tpr_at_fpr(const double *score, const uint8_t *y, size_t n, double fpr);

#endif

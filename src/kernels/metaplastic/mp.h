/* mp.h: the metaplastic kernel's model (meta-learned plasticity rules with
 * random feedback, Shervani-Tabar & Rosenbaum 2023; seed 003).
 *
 *   mp_model.c   the inner network, one plastic update per example, the
 *                query loss, and the exact forward-mode meta-gradient
 *   metaplastic.c  the kernel: data, episodes, Adam on theta, outputs
 *
 * The network: L weight layers W_l (n_l x n_(l-1), no biases), hidden
 * y_l = softplus_beta(a_l), a_l = W_l y_(l-1); output p = softmax(a_L),
 * cross-entropy. Teaching signals e_L = p - onehot and
 * e_(l-1) = (B_l^T e_l) * phi'(a_(l-1)), where B_l is a fixed random matrix
 * (feedback alignment, MP_FA), W_l itself (backprop, MP_BP), or a random
 * matrix that is itself plastic under a meta-learned rule (MP_LEARNED,
 * below). The input
 * layer gets e_0 = B_1^T e_1 (inputs are linear units), used only by the
 * terms that need a presynaptic error at the first layer.
 *
 * The plastic update after each example is dW_l = sum_k theta_k F_k,l, a
 * linear combination of the pool below. Every term is an outer product
 * c * u v^T of a postsynaptic vector u (size n_l) and a presynaptic one v
 * (size n_(l-1)), which is what makes the update and its tangents BLAS calls:
 *
 *   F0  -e_l y_(l-1)^T                  pseudo-gradient (backprop's step for B = W)
 *   F1  -e_l e_(l-1)^T                  error-Hebbian
 *   F2   y_l (y_(l-1) - W_l^T y_l)^T    Oja (subspace form: y y_(l-1)^T - (y y^T) W)
 *   F3   y_l y_(l-1)^T                  Hebbian
 *   F4  -y_l e_(l-1)^T                  postsynaptic activity x presynaptic error
 *   F5  -e_l 1^T                        error alone (presynaptically unspecific)
 *
 * F0-F2 are the card's (kernels.md 3c) and the paper's first three; F3-F5
 * are this kernel's own completion of the pool, not the paper's numbering.
 * At the output layer y_L = p.
 *
 * Meta-gradients: forward mode. Alongside W the model carries R tangents
 * T_l^q = dW_l/dtheta_q (one per term in the pool), updated exactly with
 * each plastic step; the query loss's gradient is then one more forward pass
 * of the tangents. Nothing of the trajectory is stored.
 *
 * Learned feedback (MP_LEARNED; seed 003's "make the fixed FA weights
 * adaptable and train a rule to update them"): B_l starts random, as for
 * MP_FA, and after each example changes by dB_l = sum_j phi_j G_j,l, a
 * linear combination of a second pool of local terms of the feedback
 * synapse (presynaptic: the error e_l it carries; postsynaptic: the unit of
 * layer l-1 it reaches):
 *
 *   G0  -e_l y_(l-1)^T     the forward pseudo-gradient's product, so that B
 *                          receives W's F0 step (with G2, Kolen-Pollack)
 *   G1  -e_l e_(l-1)^T     error-Hebbian
 *   G2  -B_l               decay
 *
 * phi (MP_NFB values, shared by the layers) follows theta in the
 * meta-parameters and starts at 0, which is MP_FA exactly. Why a rule and
 * not B itself: forward mode carries one tangent of W (and of B) per
 * meta-parameter, so meta-learning B's entries would make R the number of
 * feedback weights (2.3e4 at 196-80-60-40-5, 1.8e5 at the paper's
 * size), each tangent a copy of the network; B is also drawn afresh in
 * every episode, so a learned B would be a different model. The rule keeps
 * R = (terms of the pool) + 3, and costs about twice the plain tangents
 * per meta-parameter (tangents S_l^q = dB_l/dtheta_q as well as T_l^q).
 *
 * Chemical synapses (recurrent chemical networks, seed 003): with
 * `chemical`, each synapse holds C chemicals h (C = nchem) and
 *   h' = y * h + z * tanh(K h + P F + b_l),   w = v . h',
 * where F is the synapse's vector of the pool's R terms, tau_a =
 * (tau_max/tau_min)^(a/C), z_a = 1/(tau_min tau_a), y_a = 1 - z_a for
 * a = 1..C-1 and y_0 = 1 (seed 003, eqs. 6-9: chemical 0 integrates, the
 * others relax on timescales up to tau_max). The meta-parameters are P
 * (C x R), K (C x C), v (C) shared by the layers, and b_l (C per layer,
 * layer 1 first), in this order in theta (mp_nparams of them). Every
 * chemical starts at the episode's initial weight (w = (sum v) W0); the
 * seed's start is K = 0, b = 0, v = 1/C, and P_00 = C theta0 makes the
 * rule theta0 F0 to first order at the start. The tangents are those of h
 * and w per meta-parameter, updated a row of W at a time (chem_update). */
#ifndef MP_H
#define MP_H

#include <stdbool.h>
#include <stddef.h>

#include <gsl/gsl_rng.h>

enum { MP_MAXL = 5, MP_NTERMS = 6, MP_MAXCHEM = 4, MP_NFB = 3 };
/* Most meta-parameters: chemical, C = 4, R = 6, L = 5: P, K, v, b. */
enum { MP_MAXPARAM = MP_MAXCHEM * (MP_NTERMS + MP_MAXCHEM + 1 + MP_MAXL) };
typedef enum { MP_FA, MP_BP, MP_LEARNED } mp_feedback;

typedef struct {
    int L;                   /* weight layers, 1..MP_MAXL */
    size_t n[MP_MAXL + 1];   /* n[0] inputs .. n[L] classes */
    mp_feedback feedback;
    double beta;             /* softplus sharpness */
    int R;                   /* terms in the pool */
    int term[MP_NTERMS];     /* their indices F0..F5, in order */
    bool tangents;           /* carry dW/dtheta (meta-gradients) */
    bool angles;             /* measure FA-vs-BP teaching-signal angles */
    bool chemical;           /* chemical synapses instead of dW = theta . F */
    int nchem;               /* chemicals per synapse (1..MP_MAXCHEM) */
    double tau_min, tau_max; /* their timescales (updates) */
    double fault;            /* tests only: relative error put into one tangent
                                term (the direct term of G0's tangent); 0 in use */
} mp_config;

/* Meta-parameters of a configuration: R (+ MP_NFB for MP_LEARNED: theta
 * then phi), or C R + C^2 + C + C L (chemical). */
int mp_nparams(const mp_config *c);
/* Chemical: the seed's start (K = 0, b = 0, v = 1/C) with P_00 = C theta0,
 * the rule theta0 F0 to first order, and the other P 0. */
void mp_chem_start(const mp_config *c, double theta0, double *theta);
/* Chemical: the first-order plain rule the parameters amount to,
 * sum_a v_a z_a P_ak per term k (R values). */
void mp_chem_effective(const mp_config *c, const double *theta, double *eff);

typedef struct mp_net mp_net;

/* What one episode gives. */
typedef struct {
    double loss;                /* mean cross-entropy on the query set */
    double acc;                 /* fraction of the query set classified right */
    double grad[MP_MAXPARAM];   /* dloss/dtheta_q for q < mp_nparams (tangents on) */
    double angle[MP_MAXL];      /* mean angle (deg) between e_l and backprop's, l = 1..L-1 */
} mp_result;

/* NULL on bad sizes or out of memory. */
mp_net *mp_net_alloc(const mp_config *c);
void mp_net_free(mp_net *net);
const mp_config *mp_net_config(const mp_net *net);

/* Draws W and B (Xavier uniform, layer by layer, W_l then B_l, B also for
 * MP_BP so that both see the same W) and zeroes the tangents; chemical:
 * sets every chemical to W and W to (sum v) W, with v from theta. */
void mp_net_init(mp_net *net, gsl_rng *r, const double *theta);
/* The same from the weights now in place (set through mp_net_weights). */
void mp_net_restart(mp_net *net, const double *theta);
/* The weights and the feedback matrix of layer l (1..L), row-major
 * n_l x n_(l-1); NULL for another l. (MP_LEARNED: B as it is now.) */
double *mp_net_weights(mp_net *net, int l);
double *mp_net_feedback(mp_net *net, int l);

/* One plastic update on example x (n[0] values) of class y, with the
 * coefficients theta[0..R-1] of the pool's terms (learned feedback: then
 * phi[0..MP_NFB-1]; chemical: the mp_nparams meta-parameters). Adds this step's angles
 * (deg) to angle_sum[l] for l = 1..L-1 when angles are on. */
void mp_net_learn(mp_net *net, const double *theta, const double *x, int y, double *angle_sum);

/* Query loss, accuracy and (tangents on) the gradient over nq examples. */
void mp_net_query(mp_net *net, const double *x, const int *y, size_t nq, mp_result *out);

/* A whole episode from the current W (after mp_net_init): ntr plastic
 * updates in order, then the query. */
void mp_episode(mp_net *net, const double *theta, const double *xtr, const int *ytr, size_t ntr,
                const double *xq, const int *yq, size_t nq, mp_result *out);

/* Floating-point operations of one plastic update without and with
 * tangents (for the cost estimate and the benchmark's ratio). */
double mp_flops_update(const mp_config *c, bool tangents);

extern const char *const mp_term_names[MP_NTERMS];
extern const char *const mp_fb_term_names[MP_NFB];

#endif

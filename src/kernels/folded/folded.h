/* folded.h: the folded autoencoder (Dold, Sacramento, Kungl, Senn, Petrovici;
 * seed 001), shared by the kernel's files.
 *
 * fd_model.c   network, energy, relaxation, local plasticity, the encoder
 *              and decoder passes, the backprop autoencoder, PCA, the
 *              linear readout and the finite-difference gradient cosines
 * fd_digits.c  the reader of the 8x8 digits (scikit-learn's digits.csv.gz)
 * folded.c     the kernel: parameters, outputs, training schedule
 *
 * The rate machinery (transfer functions, IDX files, the data container) is
 * the microcircuit kernel's (mc.h).
 *
 * Layers 0 (visible, clamped to the data) .. L (latent). Forward weights W_i
 * (n_i x n_(i-1), i = 1..L) predict layer i from below, generative weights
 * G_i (n_i x n_(i+1), i = 0..L-1) from above. With rates r_i = phi(u_i)
 * (r_0 = x), the energy is
 *   E = sum_(i=1..L) a_i/2 |u_i - W_i r_(i-1)|^2 + sum_(i=0..L-1) b_i/2 |u_i - G_i r_(i+1)|^2
 * with a_i = lambda, b_i = 1 - lambda in the hidden layers 1..L-1 (the
 * reference card). A layer with one partner only keeps it at weight one: the
 * latent layer has no generative prediction (a_L = 1, so the code is the
 * encoder's), the clamped visible layer has no forward one (b_0 = 1: its term
 * is the reconstruction cost). Every free layer then has a_i + b_i = 1, and
 * dE/du_i = 0 gives the somatic potential of the five-compartment neuron
 *   u_i = a_i W_i r_(i-1) + b_i G_i r_(i+1) + a_(i+1) e_i^W + b_(i-1) e_i^G,
 *   e_i^W = r'_i . W_(i+1)^T (u_(i+1) - W_(i+1) r_i),
 *   e_i^G = r'_i . G_(i-1)^T (u_(i-1) - G_(i-1) r_i).
 * The dynamics are tau du/dt = -dE/du (Euler, with prospective rates
 * phi(u + tau du/dt) as in latent equilibrium) or a damped fixed-point
 * iteration of the equation above. Plasticity after relaxation:
 *   dW_i = eta_W (u_i - W_i r_(i-1)) r_(i-1)^T,  dG_i = eta_G (u_i - G_i r_(i+1)) r_(i+1)^T. */
#ifndef NEUROMIC_FOLDED_H
#define NEUROMIC_FOLDED_H

#include <stdbool.h>
#include <stddef.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "../microcircuit/mc.h"

#define FD_MAX_LAYERS 6

typedef enum { FD_RELAX_FIXED, FD_RELAX_EULER } fd_relax_kind;

typedef struct {
    mc_phi phi;
    double lambda;
    double tau;          /* membrane time constant (ms) */
    fd_relax_kind relax;
    double dt, t_pattern; /* Euler: step and presentation time (ms) */
    bool prospective;    /* Euler: rates from u + tau du/dt */
    double damping;      /* fixed: u <- (1 - damping) u + damping * rhs, halved
                          * whenever a step would raise E */
    double tol;          /* fixed: stop when max |rhs - u| < tol */
    int max_iter;        /* fixed: at most this many sweeps */
    double eta_W, eta_G; /* learning rates per pattern */
} fd_config;

typedef struct {
    fd_config c;
    int L;
    size_t n[FD_MAX_LAYERS];
    gsl_matrix *W[FD_MAX_LAYERS]; /* W[i]: n_i x n_(i-1), i >= 1 */
    gsl_matrix *G[FD_MAX_LAYERS]; /* G[i]: n_i x n_(i+1), i <= L-1 */
    /* state per layer (index 0: the visible layer, u = r = x) */
    gsl_vector *u[FD_MAX_LAYERS], *du[FD_MAX_LAYERS], *ub[FD_MAX_LAYERS];
    gsl_vector *u0[FD_MAX_LAYERS]; /* fixed: the state before the last step */
    gsl_vector *r[FD_MAX_LAYERS], *rp[FD_MAX_LAYERS]; /* phi(ub), phi'(ub) */
    gsl_vector *mW[FD_MAX_LAYERS], *mG[FD_MAX_LAYERS]; /* ub - W r below, ub - G r above */
    gsl_vector *rhs[FD_MAX_LAYERS], *tmp[FD_MAX_LAYERS];
    /* scratch of the feed-forward passes: pre-activations and rates */
    gsl_vector *ea[FD_MAX_LAYERS], *eh[FD_MAX_LAYERS]; /* encoder: W_i h_(i-1), phi of it */
    gsl_vector *da[FD_MAX_LAYERS], *dh[FD_MAX_LAYERS]; /* decoder: G_i g_(i+1), phi of it */
    gsl_vector *xhat;
    gsl_vector *dl[FD_MAX_LAYERS]; /* backprop deltas */
    long iterations;               /* of the last fixed-point relaxation */
} fd_net;

/* Sizes n[0..L], 1 <= L < FD_MAX_LAYERS. Weights and state zero; NULL on
 * out of memory or bad sizes. */
fd_net *fd_net_alloc(const fd_config *c, const size_t *n, int L);
void fd_net_free(fd_net *net);
/* W_i, then G_i, each entry U(-w, w)/sqrt(fan-in), in layer order. */
void fd_net_init_random(fd_net *net, gsl_rng *rng, double w);
/* Copies the weights of src (same sizes). */
void fd_net_copy_weights(fd_net *dst, const fd_net *src);

/* Weights of the energy's terms (see above). */
double fd_coef_a(const fd_net *net, int i);
double fd_coef_b(const fd_net *net, int i);

/* Energy of the current state (rates phi(u), visible clamped to x). */
double fd_energy(fd_net *net, const double *x);
/* Relaxes the state toward the stationary point for input x: Euler from
 * rest, the fixed-point iteration from the feed-forward pathways.
 * Returns the last max |rhs - u| (fixed) or max |du/dt| * tau (Euler). */
double fd_relax(fd_net *net, const double *x);
/* The somatic potentials the stationary equation asks for, from the current
 * state, into net->rhs (computes rates, mismatches and errors on the way). */
void fd_rhs(fd_net *net, const double *x);
/* The local updates at the current state, added into dW[i] (i >= 1) times
 * sW and dG[i] (i <= L-1) times sG; NULL entries are skipped. */
void fd_updates(fd_net *net, const double *x, gsl_matrix **dW, gsl_matrix **dG, double sW,
                double sG);
/* Relax on x, then apply the updates with eta_W and eta_G. */
double fd_learn(fd_net *net, const double *x);

/* Feed-forward passes: encode x along W (latent rate into z, size n_L),
 * decode z along G (into net->xhat). Returns |x - xhat|^2 for fd_autoencode. */
void fd_encode(fd_net *net, const double *x, double *z);
void fd_decode(fd_net *net, const double *z);
double fd_autoencode(fd_net *net, const double *x);
/* Backprop of 0.5 |x - G-path(W-path(x))|^2: the negative gradients are
 * added times `scale` into dW, dG (either may be NULL). Returns the cost. */
double fd_backprop(fd_net *net, const double *x, gsl_matrix **dW, gsl_matrix **dG, double scale);
/* Negative gradient of 0.5 |x - G-path(z)|^2 with respect to G (decoder
 * from a given latent rate z), added times `scale` into dG. */
double fd_backprop_decoder(fd_net *net, const double *x, const double *z, gsl_matrix **dG,
                           double scale);

/* Cosine between a and b over the entries listed in idx (all when idx ==
 * NULL, then m = size1*size2); FD_COS_UNDEFINED when either is zero there
 * (a result file holds no NaN from a task that finished). */
#define FD_COS_UNDEFINED (-2.0)
double fd_cosine(const gsl_matrix *a, const gsl_matrix *b, const size_t *idx, size_t m);

/* ---- baselines and measures ---- */

/* PCA of the rows of X (count x nx) with k components, by GSL's symmetric
 * eigen-solver on the covariance: mean mu (nx) and components V (nx x k,
 * orthonormal columns, largest variance first). 0 or an error code. */
int fd_pca_fit(const double *X, size_t count, size_t nx, size_t k, double *mu, gsl_matrix *V);

/* Least-squares linear readout (codes plus a bias to one-hot classes, ridge
 * `ridge` times the mean diagonal) fitted on (Ztr, ytr), accuracy on (Zte,
 * yte). Codes are rows of length k. Returns the accuracy, or -1 on failure. */
double fd_readout_accuracy(const double *Ztr, const int *ytr, size_t ntr, const double *Zte,
                           const int *yte, size_t nte, size_t k, int nclass, double ridge);

/* ---- the 8x8 digits (fd_digits.c) ---- */

/* Reads scikit-learn's digits.csv.gz (plain or gzip): rows of 64 pixel
 * values 0..16 and a label 0..9, comma-separated. Pixels scaled to [0, 1],
 * one-hot targets 0/1. At most max rows. NULL with why set, naming file,
 * line and field, on any error. */
mc_data *fd_digits_read(const char *path, size_t max, char *why, size_t whylen);

/* Where Debian's python3-sklearn puts the file; $NEUROMIC_DIGITS overrides. */
const char *fd_digits_path(void);

#endif

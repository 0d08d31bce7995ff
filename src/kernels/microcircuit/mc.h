/* mc.h: the dendritic cortical microcircuit (Sacramento et al. 2018) with the
 * latent-equilibrium option (Haider et al. 2021), shared by the kernel's files.
 *
 * mc_model.c   network state, Euler step, the four plasticity rules, LE,
 *              self-predicting initialisation (mc_net_*)
 * mc_tasks.c   the data of the tasks self_predict, teacher, bars, classify
 * mc_idx.c     the IDX reader (MNIST family, plain or gzip, through zlib)
 * mc_baselines.c  the `shallow` and `backprop` references (plain MLP, SGD)
 * microcircuit.c  the kernel: parameters, outputs, training schedule
 *
 * Layers are numbered 0 (input) .. L (output); sizes n[0..L]. A hidden layer
 * k (1 <= k < L) has pyramidal neurons with soma u, basal v_B, apical v_A,
 * and a population of interneurons of size n[k+1] that learns to mirror
 * layer k+1. The output layer has no apical compartment and is nudged toward
 * a target potential with conductance g_som. Units: ms, membrane capacitance 1. */
#ifndef NEUROMIC_MC_H
#define NEUROMIC_MC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#define MC_MAX_LAYERS 8

typedef enum { MC_PHI_SOFTPLUS, MC_PHI_LOGISTIC, MC_PHI_RELU } mc_phi_kind;

/* r = phi(u): softplus gamma*log(1+exp(beta*(u-theta))), logistic
 * gamma/(1+exp(-beta*(u-theta))), relu gamma*max(0, beta*(u-theta)). */
typedef struct {
    mc_phi_kind kind;
    double gamma, beta, theta;
    /* exp from the kernel (mc_vec.h, numerics v3: the same bits everywhere,
     * four at a time) instead of libm's (false: numerics v2) */
    bool own_exp;
} mc_phi;

double mc_phi_eval(const mc_phi *f, double u);
double mc_phi_deriv(const mc_phi *f, double u);
/* The transfer function named by choice parameter `name` (softplus, relu,
 * logistic) and its name_gamma, name_beta, name_theta; in microcircuit.c,
 * also used by the folded kernel. */
struct nm_point;
mc_phi mc_phi_from(const struct nm_point *p, const char *name);

/* Everything the dynamics and plasticity need (all from kernel parameters). */
typedef struct {
    mc_phi phi;
    double g_lk, g_B, g_A, g_D, g_som; /* conductances (1/ms) */
    double g_lk_dend;   /* dendritic leak: v = I_syn / g_lk_dend */
    double i_inj;       /* constant current into every pyramidal and interneuron soma */
    double dt;          /* ms */
    double tau_in;      /* input low-pass (ms); 0: none */
    double tau_syn;     /* dendritic synaptic current decay (ms); 0: instantaneous */
    double tau_w;       /* low-pass of the weight updates (ms); 0: none */
    double sigma;       /* somatic noise amplitude (per sqrt(ms)) */
    double eta_up, eta_up_out, eta_IP, eta_PI, eta_down; /* learning rates (1/ms) */
    double w_clip, w_clip_out; /* |W_up| bounds, hidden and output; 0: none */
    bool le;            /* latent equilibrium: rates and plasticity from u + tau_eff du/dt */
    /* numerics v3 (parameter `numerics`): large products in the kernel's own
     * summation order, computed ahead in the updates' pass; noise from
     * nm_rng_gaussians; phi.own_exp goes with it. false: version 2's
     * arithmetic (BLAS for large products, GSL's Gaussian). */
    bool numerics_v3;
} mc_config;

/* A product W x computed by W's update for the next step (numerics v3):
 * x the presynaptic rates the update predicted, y = W_new x; valid until
 * the next step's dendrites look at it, which use y only if their rates
 * are x bit for bit. */
typedef struct {
    gsl_vector *x, *y;
    bool valid;
} mc_ahead;

/* Per layer state. Index k runs 0..L; the fields a layer does not have stay
 * NULL (input: only r; output: no v_A, no interneurons). */
typedef struct {
    size_t n;
    gsl_vector *u, *du, *ub;     /* soma, its time derivative, the rate's voltage (u or u breve) */
    gsl_vector *r;               /* rate phi(ub) (input: the low-passed pattern) */
    gsl_vector *vB, *vA;         /* basal and apical potentials */
    gsl_vector *IB, *IA;         /* synaptic currents behind vB, vA (tau_syn > 0) */
    gsl_vector *err;             /* scratch: postsynaptic factor of a plasticity rule */
    gsl_vector *tmp;             /* scratch, size n */
    /* interneurons mirroring layer k+1 (hidden layers only), size n[k+1] */
    gsl_vector *uI, *duI, *ubI, *rI, *vI, *II, *errI, *tmpI;
    /* weights into this layer */
    gsl_matrix *W_up;   /* n x n[k-1] (k >= 1) */
    gsl_matrix *W_down; /* n x n[k+1] (hidden) */
    gsl_matrix *W_PI;   /* n x n[k+1] (hidden) interneuron -> pyramidal */
    gsl_matrix *W_IP;   /* n[k+1] x n (hidden) pyramidal -> interneuron */
    /* low-passed updates (tau_w > 0) */
    gsl_matrix *G_up, *G_down, *G_PI, *G_IP;
    /* numerics v3: products computed ahead by the updates of W_up, W_IP and
     * W_PI (mc_ahead) */
    mc_ahead up, ip, pi;
} mc_layer;

typedef struct {
    mc_config c;
    int L;                         /* index of the output layer */
    mc_layer layer[MC_MAX_LAYERS];
    gsl_vector *target;            /* output target potentials, size n[L] */
    bool nudge;                    /* target current on */
    double t;                      /* time within the current pattern (ms) */
} mc_net;

/* Allocates a network with sizes n[0..L] (2 <= L+1 <= MC_MAX_LAYERS), state
 * zero and weights zero. NULL on out of memory or bad sizes. */
mc_net *mc_net_alloc(const mc_config *c, const size_t *n, int L);
void mc_net_free(mc_net *net);

/* Code that writes W_up between steps (other than through these functions)
 * must call this: it drops the products numerics v3 computed ahead. */
void mc_net_weights_changed(mc_net *net);
/* Draws every weight U(-w, w) from rng (W_up, W_down, W_PI, W_IP, in layer order). */
void mc_net_init_random(mc_net *net, gsl_rng *rng, double w);
/* Sets W_PI = -W_down and W_IP from W_up of the layer above so that, at
 * steady state, interneurons match their partners and apical potentials vanish. */
void mc_net_self_predicting(mc_net *net);
/* Zeroes every potential, current and rate (between runs). */
void mc_net_reset_state(mc_net *net);

/* Effective membrane time constant of the rate-producing potential (LE). */
double mc_tau_eff_pyr(const mc_net *net, int k);
double mc_tau_eff_int(const mc_net *net);

/* One Euler step of dt. x: the input pattern (size n[0]); target on when
 * net->nudge; plastic: apply the plasticity rules; noise: NULL for none. */
void mc_net_step(mc_net *net, const double *x, bool plastic, gsl_rng *noise);

/* Diagnostics of the current state. */
double mc_net_apical_sq(const mc_net *net);      /* mean over hidden neurons of v_A^2 */
double mc_net_interneuron_sq(const mc_net *net); /* mean of (u_I - u_(k+1))^2 */
/* Angle (degrees) between W_down of the last hidden layer and W_up(out)^T. */
double mc_net_feedback_angle(const mc_net *net);
/* Angle (degrees) between A and sign*B (transposed: sign*B^T), from their
 * Frobenius inner product; 90 when either is zero, -1 when shapes differ. */
double mc_matrix_angle(const gsl_matrix *A, const gsl_matrix *B, double sign, bool transposed);

/* The learning-rate annealing of parameter eta_decay: 1/(1 + seen/decay)
 * after `seen` training patterns (a Robbins-Monro schedule: the rates sum
 * to infinity, their squares do not, so noise-driven drift dies out while
 * learning goes on); 1 for decay <= 0. In microcircuit.c. */
double mc_eta_factor(double seen, double decay);

/* ---- IDX files (mc_idx.c) ---- */

/* An IDX array of unsigned bytes: dims[0] items of dims[1]*dims[2]... bytes. */
typedef struct {
    int ndims;
    uint32_t dims[4];
    size_t count;      /* items read (<= dims[0]) */
    size_t item_size;  /* product of dims[1..] */
    uint8_t *data;     /* count * item_size bytes */
} mc_idx;

/* Reads at most max_items items of an IDX ubyte file, plain or
 * gzip-compressed (zlib tells them apart by content). On error returns NULL
 * and writes a message naming the file into why: missing, not IDX,
 * truncated, or corrupt compressed data. */
mc_idx *mc_idx_read(const char *path, size_t max_items, char *why, size_t whylen);
void mc_idx_free(mc_idx *x);
/* Path of IDX file `stem` of a data set: $NEUROMIC_IDX_DIR or
 * /usr/share/datasets/<dataset>, the uncompressed file when it exists, else
 * <stem>.gz (in microcircuit.c). */
void mc_idx_path(const char *dataset, const char *stem, char *buf, size_t len);

/* ---- task data (mc_tasks.c) ---- */

typedef enum { MC_TASK_SELF_PREDICT, MC_TASK_TEACHER, MC_TASK_BARS, MC_TASK_CLASSIFY } mc_task_kind;

/* Patterns and targets, row-major. ny == 0 when the task has no target. */
typedef struct {
    size_t count, nx, ny;
    double *x, *y;
    int *label;        /* class per pattern, -1 when not a classification */
} mc_data;

mc_data *mc_data_alloc(size_t count, size_t nx, size_t ny);
void mc_data_free(mc_data *d);

/* A 30-20-10-style teacher: y = scale2 * W2 phi(scale1 * W1 x). */
typedef struct {
    size_t nx, nh, ny;
    double scale1, scale2;
    double *W1, *W2;
} mc_teacher;

mc_teacher *mc_teacher_alloc(size_t nx, size_t nh, size_t ny, gsl_rng *rng);
void mc_teacher_free(mc_teacher *t);
void mc_teacher_eval(const mc_teacher *t, const mc_phi *phi, const double *x, double *y, double *h);

/* Fills d (count x nx) with U(lo, hi) inputs and, when teacher != NULL, its outputs. */
void mc_data_fill_random(mc_data *d, gsl_rng *rng, double lo, double hi,
                         const mc_teacher *teacher, const mc_phi *phi);
/* The 9 bars patterns (3x3: vertical, horizontal, diagonal) with one-hot
 * targets lo/hi. */
mc_data *mc_data_bars(double lo, double hi);
/* Images (scaled to [0,1]) and one-hot targets lo/hi from IDX images and
 * labels read with mc_idx_read (whose file names go into messages); at most
 * max items. NULL with why set on error. In mc_idx.c. */
mc_data *mc_data_idx(const mc_idx *im, const mc_idx *lb, const char *images, const char *labels,
                     size_t max, double lo, double hi, char *why, size_t whylen);

/* ---- baselines (mc_baselines.c) ---- */

/* A feed-forward network with the microcircuit's steady-state scaling:
 * hidden a_k = c_h W_k r_(k-1), r_k = phi(a_k); output y = c_o W_L r_(L-1). */
typedef struct {
    int L;
    size_t n[MC_MAX_LAYERS];
    double c_h, c_o;
    mc_phi phi;
    bool rate_loss;     /* SGD on 0.5|phi(y) - phi(t)|^2 instead of 0.5|y - t|^2 */
    gsl_matrix *W[MC_MAX_LAYERS];
    gsl_vector *a[MC_MAX_LAYERS], *r[MC_MAX_LAYERS], *delta[MC_MAX_LAYERS];
} mc_mlp;

mc_mlp *mc_mlp_alloc(const size_t *n, int L, double c_h, double c_o, const mc_phi *phi);
void mc_mlp_free(mc_mlp *m);
/* Forward pass; the output is m->r[L] (= y). */
void mc_mlp_forward(mc_mlp *m, const double *x);
/* One SGD step on 0.5*|y - t|^2 (rate_loss: 0.5*|phi(y) - phi(t)|^2) after a
 * forward pass; only_last: shallow. */
void mc_mlp_sgd(mc_mlp *m, const double *t, double eta, bool only_last);

#endif

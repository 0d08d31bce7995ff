/* nk.h: the parts of the `nk` kernel (neurons as autoencoders on NK
 * regression, Bull 2024), shared by its source files and its unit tests.
 *
 *   nk_data.c   the NK landscape (links, tables, fitness) and data sets
 *   nk_model.c  the three networks (mlp, nmlp, hmlp), their caches, and the
 *               random hill-climber with incremental or full evaluation
 *   nk_vec.c    the loops over examples (sigmoids, error sums), vectorised
 *   nk.c        the kernel: parameters, outputs, cost, run()
 *
 * Nothing here knows about the engine's tasks: every function that draws
 * random numbers takes a gsl_rng, so the tests can drive it directly. */
#ifndef NEUROMIC_NK_H
#define NEUROMIC_NK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

/* ---- the NK landscape (nk_data.c) ---- */

typedef enum { NK_LINKS_RANDOM, NK_LINKS_ADJACENT } nk_links;

/* Largest table the kernel will allocate: N * 2^(K+1) entries (1 GiB). */
#define NK_MAX_TABLE_ENTRIES ((size_t)1 << 27)

typedef struct {
    int n, k;
    int *links;    /* n x k: the K other genes gene i depends on */
    double *table; /* n x 2^(k+1): fitness contributions, U[0,1) */
} nk_landscape;

/* Draws the links (random: K distinct genes other than i, partial
 * Fisher-Yates over the N-1 others; adjacent: i+1 .. i+K mod N, no draws),
 * then the tables gene by gene, row by row, one gsl_rng_uniform each.
 * Requires 0 <= k < n. NULL on out of memory. */
nk_landscape *nk_landscape_alloc(int n, int k, nk_links links, gsl_rng *r);
void nk_landscape_free(nk_landscape *l);

/* Table row of gene i for genome bits (0/1): bit i is the most significant
 * of the K+1 bits, then the links in order:
 * row = bits[i] 2^K + sum_m bits[links[i][m]] 2^(K-1-m). */
size_t nk_row(const nk_landscape *l, int gene, const uint8_t *bits);
/* Fitness: the mean over the N genes of table_i[row_i]. */
double nk_fitness(const nk_landscape *l, const uint8_t *bits);

/* A data set: random genomes of one landscape and their fitness. */
typedef struct {
    int n, count;
    double *x;  /* count x n, row-major: bit 1 -> +1.0, bit 0 -> -1.0 */
    double *xt; /* n x count: the same, transposed (one input over all examples) */
    double *y;  /* count: fitness in [0,1) */
} nk_dataset;

/* Draws count genomes, each bit 1 when gsl_rng_uniform(r) < 0.5, genome
 * after genome, and computes their fitness. NULL on out of memory. */
nk_dataset *nk_dataset_alloc(const nk_landscape *l, int count, gsl_rng *r);
void nk_dataset_free(nk_dataset *d);

/* ---- loops over examples (nk_vec.c) ---- */

#define NK_HAVE_VEC 1 /* (bench/nk/nk_bench.c compiles against older versions too) */
#define NK_HAVE_PRECISION 1 /* kernel version 3 on: nk_config.decoder_precision */

typedef enum { NK_ACT_SIGMOID, NK_ACT_TANH } nk_act;

/* One compiled copy of the loops (see nk_vec.c). Every loop takes e values per
 * array and works for any e >= 0; sums run in four lanes, lane l taking
 * elements l, l+4, ..., added as (l0 + l1) + (l2 + l3). All copies give the
 * same results bit for bit. sigmoid(t) = 1/(1 + exp(-t)), tanh t = 2
 * sigmoid(2t) - 1, both from the kernel's own exp (arguments clamped to
 * [-700, 700]). */
typedef struct {
    const char *name;
    void (*exp)(const double *x, double *y, int e);              /* y = exp(x) */
    void (*decode)(nk_act act, const double *a, double *y, int e); /* y = act(a) */
    /* pa = a + delta xk (xk NULL: + delta), ph = sigmoid(pa) */
    void (*encoder_step)(const double *a, double delta, const double *xk, double *pa,
                         double *ph, int e);
    void (*axpy)(double *out, const double *y, double alpha, const double *x, int e); /* out = y + alpha x */
    void (*sub)(const double *a, const double *b, double *out, int e);                /* out = a - b */
    /* y = sigmoid(o); adds (y - target)^2 to lanes (lane l: elements l, l+4, ...) */
    void (*output_sse)(const double *o, const double *target, double *y, int e, double lanes[4]);
    /* sum of (act(scale h + shift) - x)^2 */
    double (*neuron_sse)(nk_act act, double scale, double shift, const double *h,
                         const double *x, int e);
    /* sum of (act(z + d dh) - x)^2 (dh NULL: act(z)) */
    double (*layer_sse)(nk_act act, const double *z, double d, const double *dh, const double *x,
                        int e);
    /* The same three with act() in single precision (nk_vec.c): arguments
     * rounded to float, act in float, the result widened back to double; the
     * differences, squares and sums in double, in the same lanes. */
    void (*decode32)(nk_act act, const double *a, double *y, int e);
    double (*neuron_sse32)(nk_act act, double scale, double shift, const double *h,
                           const double *x, int e);
    double (*layer_sse32)(nk_act act, const double *z, double d, const double *dh,
                          const double *x, int e);
} nk_vec_ops;

/* The copy for the build's target instruction set. */
extern const nk_vec_ops nk_vec_generic;
/* The AVX2 copy, or NULL when the CPU lacks AVX2 or the compiler made none. */
const nk_vec_ops *nk_vec_avx2(void);
/* The fastest copy this CPU runs. */
const nk_vec_ops *nk_vec_best(void);

/* ---- the networks (nk_model.c) ---- */

typedef enum { NK_MLP, NK_NMLP, NK_HMLP } nk_model;
typedef enum { NK_HIDDEN = 0, NK_OUTPUT = 1 } nk_layer;

/* Precision of the decoder outputs (nmlp, hmlp): single, the default, rounds
 * each decoder pre-activation to float and computes act() in float (the
 * vec ops' *32 loops); double is kernel version 2's arithmetic, bit for bit.
 * Everything else (hidden and output activations, errors, sums) is double
 * in both. */
typedef enum { NK_SINGLE = 0, NK_DOUBLE = 1 } nk_precision;

typedef struct {
    nk_model model;
    int n, h;          /* inputs, hidden neurons */
    double r;          /* a move adds U[-r, r) to one weight */
    bool decoder_bias; /* decoder nodes have a bias */
    nk_act decoder_act;
    nk_precision decoder_precision;
    bool full;         /* re-evaluate everything each cycle (tests, benchmarks) */
} nk_config;

/* Per-example state of a network on the training set. Every number here is
 * a function of the weights; nk_net_recompute() rebuilds it from scratch,
 * the incremental moves keep it up to date. */
typedef struct {
    double *a, *h;   /* h x E: hidden pre-activations and activations */
    double *o, *y;   /* E: output pre-activation and output */
    double *z;       /* hmlp: n x E decoder pre-activations; else NULL */
    double *s;       /* reconstruction SSE: nmlp h x n (neuron j, input i); hmlp n */
    double task_sse; /* sum over examples of (y - target)^2 */
} nk_cache;

/* Weights. Index layouts are those of the hill-climber's moves:
 *   w  h x (n+1)   encoder, w[j*(n+1) + k], k == n is the bias
 *   v  h+1         output layer, v[h] is the bias
 *   d  nmlp: h x n, d[j*n + i] decodes input i from neuron j
 *      hmlp: n x h, d[i*h + j] (the decoder layer's node i reads neuron j)
 *   c  decoder biases (decoder_bias only): nmlp h x n, hmlp n */
/* Examples per block of a forward pass on a data set (nk_net_mse). */
#define NK_BLOCK 256

typedef struct {
    nk_config cfg;
    const nk_dataset *train;
    const nk_vec_ops *vec; /* the loops over examples (nk_vec_best()) */
    double *w, *v, *d, *c;
    nk_cache cur;   /* state of the current network */
    nk_cache trial; /* full mode: state of the proposed network */
    /* Proposals of the incremental moves: one hidden neuron's new a and h,
     * new o and y, new s (one neuron's or the layer's), one new row of z
     * (hmlp decoder moves). A kept move swaps or copies them into `cur`. */
    double *pa, *ph, *po, *py, *ps, *pz;
    double *dh;  /* E: new minus old h_j of an encoder move */
    double *blk; /* (h + 1) x NK_BLOCK: a (then h) per neuron and o of one block
                  * (forward passes) */
} nk_net;

/* What one cycle did. */
typedef struct {
    nk_layer layer;
    size_t index;   /* weight index within the layer (see nk_hidden_count) */
    double delta;   /* the change tried */
    double before, after; /* the objective (an SSE) before and after the change */
    bool tie, accepted;
} nk_move;

/* Trainable weights of the whole network (encoder, output, decoder). */
size_t nk_nparams(const nk_config *c);
/* Weights a hidden-layer move chooses from: the encoder, plus for nmlp and
 * hmlp the decoder weights (and biases). Output moves choose from h + 1. */
size_t nk_hidden_count(const nk_config *c);

/* NULL on out of memory. The network keeps a pointer to train. */
nk_net *nk_net_alloc(const nk_config *c, const nk_dataset *train);
void nk_net_free(nk_net *net);
/* Draws the weights U[-1,1]: encoder (row by row) then output layer from
 * `shared`, decoder weights (in neuron-major order j, i for both nmlp and
 * hmlp) then decoder biases from `decoder`; then computes the state. */
void nk_net_init(nk_net *net, gsl_rng *shared, gsl_rng *decoder);
/* Rebuilds a state from the weights, from scratch. */
void nk_net_recompute(const nk_net *net, nk_cache *out);
/* Allocates / frees a state shaped for net (for comparisons in tests). */
int nk_cache_alloc(nk_cache *c, const nk_config *cfg, int examples);
void nk_cache_free(nk_cache *c);

/* The hill-climber's rule: keep a change when it lowers the objective; on an
 * exact tie keep it with probability 1/2 (one draw from r, only on ties). */
bool nk_accept(double after, double before, gsl_rng *r, bool *tie);

/* One learning cycle: hidden or output layer with equal probability, one
 * weight uniformly within it, plus U[-r, r); judged by the task SSE (output
 * moves, and every mlp move), neuron j's reconstruction SSE (nmlp hidden
 * moves of neuron j) or the whole reconstruction SSE (hmlp hidden moves). */
void nk_net_cycle(nk_net *net, gsl_rng *search, nk_move *mv);

/* Mean squared error of the current network on the training set (cached). */
double nk_net_train_mse(const nk_net *net);
/* Mean squared reconstruction error over examples, inputs (and neurons, for
 * nmlp) on the training set; -1 for mlp, which has no decoder. */
double nk_net_recon_mse(const nk_net *net);
/* Mean squared error on any data set of the same landscape (a forward pass). */
double nk_net_mse(const nk_net *net, const nk_dataset *d);

#endif

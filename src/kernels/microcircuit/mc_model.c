/* mc_model.c: dynamics and plasticity of the dendritic cortical microcircuit.
 *
 * Explicit Euler at dt, synchronous: every dendritic potential is computed
 * from the rates of the previous step, then every soma moves, then rates and
 * plasticity follow from the new state. Equations (Sacramento et al. 2018,
 * capacitance 1, rest 0):
 *
 *   hidden pyramidal  du/dt = -g_lk u + g_B (v_B - u) + g_A (v_A - u) + i_inj + noise
 *   output pyramidal  du/dt = -g_lk u + g_B (v_B - u) + i_inj [+ g_som (u_tgt - u)] + noise
 *   interneuron       du/dt = -g_lk u + g_D (v_I - u) + g_som (u_(k+1) - u) + i_I
 *   dendrites         v = I / g_lk_dend,  I = W r (tau_syn = 0) or low-passed with tau_syn
 *
 * An interneuron receives i_I = i_inj (g_lk + g_D) / g_(k+1), g_(k+1) the
 * partner's total conductance without nudging, so that the injected current
 * shifts both resting potentials equally and the self-predicting state
 * stays exact with i_inj != 0 (no bias weights are needed).
 *
 * Rates are phi(u), or with latent equilibrium (Haider et al. 2021) phi(u
 * breve), u breve = u + tau_eff du/dt, tau_eff the inverse total conductance:
 * the prospective voltage, which for these leaky integrators is the steady
 * state of the present inputs. Noise enters as sigma * sqrt(dt) * N(0,1) per
 * step and is left out of du/dt used for u breve (a derivative of white noise
 * has no meaning). Under LE every quantity a neuron sends or is nudged by is
 * prospective: interneurons are nudged by u breve of the layer above, and
 * the input low-pass (tau_in) and synaptic filter (tau_syn) are read as
 * x + tau dx/dt, which for a first-order low-pass is its input (the filters
 * drop out). Plasticity (all Euler, optionally low-passed with tau_w):
 *
 *   W_up   += eta_up   (phi(u_k) - phi(vhat_B)) r_(k-1)^T
 *   W_IP   += eta_IP   (phi(u_I) - phi(vhat_I)) r_k^T
 *   W_PI   += eta_PI   (-v_A) r_I^T
 *   W_down += eta_down (phi(u_k) - phi(W_down r_(k+1) / g_lk_dend)) r_(k+1)^T
 *
 * with the dendritic predictions vhat_B = (g_B v_B + i_inj) / (g_lk + g_B
 * [+ g_A]) and vhat_I = (g_D v_I + i_I) / (g_lk + g_D), the somatic steady
 * states without apical input or nudging.
 *
 * Every buffer is allocated in mc_net_alloc; a step allocates nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>

#include "mc.h"
#include "mc_vec.h"
#include "neuromic/kernel.h"

#define MC_INLINE static inline __attribute__((always_inline))

/* -O2 vectorises only loops whose trip count is a known multiple of the
 * vector width; the layer widths are not known at compile time. */
#pragma GCC optimize("vect-cost-model=dynamic")

/* The weight update and the matrix-vector product are compiled twice, for AVX2 and for the baseline ISA,
 * and the loader picks the one the CPU runs (GCC function multiversioning):
 * twice the doubles per instruction on the element-wise loops. Without FMA
 * (and with -std=c17, which turns contraction off) both versions perform the
 * same IEEE operations in the same order, so results do not depend on the
 * CPU (except for the sign of a NaN, which IEEE 754 leaves open and the
 * compiler does not keep when it swaps the operands of an addition). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define MC_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MC_MULTIVERSION
#endif

/* ---- transfer functions ---- */

/* exp from libm (numerics v2) or the kernel's own (v3, mc_vec.h). */
static inline double phi_exp(const mc_phi *f, double x)
{
    return f->own_exp ? mc_exp1(x) : exp(x);
}

static inline double phi_eval(const mc_phi *f, double u)
{
    double x = f->beta * (u - f->theta);
    switch (f->kind) {
    case MC_PHI_SOFTPLUS:
        /* log1p(exp(x)) overflows for large x, where it equals x. */
        return f->gamma * (x > 30 ? x : log1p(phi_exp(f, x)));
    case MC_PHI_LOGISTIC:
        return f->gamma / (1.0 + phi_exp(f, -x));
    case MC_PHI_RELU:
        return f->gamma * (x > 0 ? x : 0.0);
    }
    return 0;
}

double mc_phi_eval(const mc_phi *f, double u)
{
    return phi_eval(f, u);
}

double mc_phi_deriv(const mc_phi *f, double u)
{
    double x = f->beta * (u - f->theta);
    double s = 1.0 / (1.0 + phi_exp(f, -x));
    switch (f->kind) {
    case MC_PHI_SOFTPLUS:
        return f->gamma * f->beta * s;
    case MC_PHI_LOGISTIC:
        return f->gamma * f->beta * s * (1.0 - s);
    case MC_PHI_RELU:
        return x > 0 ? f->gamma * f->beta : 0.0;
    }
    return 0;
}

/* out_i = phi(v_i), or sub_i - phi(v_i) (the plasticity rules' error),
 * with v_i = in_i, or in_i scaled by a (mode PHI_SCALED) or a in_i + b
 * (PHI_AFFINE), for a whole vector: the same arithmetic as phi_eval, with
 * the choice of function made once instead of per element (the flags are
 * constants after inlining). */
enum { PHI_PLAIN, PHI_SCALED, PHI_AFFINE };

static inline __attribute__((always_inline)) void
phi_loop(const mc_phi *f, size_t n, const double *in, int mode, double a, double b,
         const double *sub, double *out, mc_phi_kind kind)
{
    double gamma = f->gamma, beta = f->beta, theta = f->theta;
    for (size_t i = 0; i < n; i++) {
        double v = mode == PHI_PLAIN ? in[i] : mode == PHI_SCALED ? a * in[i] : a * in[i] + b;
        double x = beta * (v - theta), r = 0;
        switch (kind) {
        case MC_PHI_SOFTPLUS:
            r = gamma * (x > 30 ? x : log1p(exp(x)));
            break;
        case MC_PHI_LOGISTIC:
            r = gamma / (1.0 + exp(-x));
            break;
        case MC_PHI_RELU:
            r = gamma * (x > 0 ? x : 0.0);
            break;
        }
        out[i] = mode != PHI_PLAIN ? sub[i] - r : r;
    }
}

/* One group of four in phi_loop4: per lane the arithmetic of phi_eval with
 * the kernel's own exp, so that a scalar evaluation and the vector loops
 * give the same bits. */
MC_INLINE v4d phi4(v4d v, double gamma, double beta, double theta, mc_phi_kind kind)
{
    v4d x = beta * (v - theta);
    if (kind == MC_PHI_LOGISTIC)
        return gamma / (1.0 + mc_exp4(-x));
    v4d e = mc_exp4(x), r; /* softplus: log1p stays libm's, lane by lane */
    for (int l = 0; l < 4; l++)
        r[l] = x[l] > 30 ? x[l] : log1p(e[l]);
    return gamma * r;
}

/* One group of four at in + i (mode and the subtraction as in phi_loop). */
MC_INLINE v4d phi_group(const mc_phi *f, v4d v, int mode, double a, double b, v4d sub,
                        mc_phi_kind kind)
{
    v = mode == PHI_PLAIN ? v : mode == PHI_SCALED ? a * v : a * v + b;
    v4d r = phi4(v, f->gamma, f->beta, f->theta, kind);
    return mode != PHI_PLAIN ? sub - r : r;
}

/* phi_loop for softplus and logistic under numerics v3, four elements at a
 * time: in, sub and out must have room for n rounded up to a multiple of
 * four (every vector from vec() has); the lanes past n are computed from
 * whatever they hold and stored back into that slack. */
MC_INLINE void phi_loop4(const mc_phi *f, size_t n, const double *in, int mode, double a,
                         double b, const double *sub, double *out, mc_phi_kind kind)
{
    for (size_t i = 0; i < n; i += 4) {
        v4d r = phi_group(f, load4(in + i), mode, a, b,
                          mode != PHI_PLAIN ? load4(sub + i) : splat4(0), kind);
        store4(out + i, &r);
    }
}

/* The v3 loops, compiled for AVX2 and the baseline ISA (same bits). */
MC_MULTIVERSION
static __attribute__((noinline)) void phi_own(const mc_phi *f, size_t n, const double *in,
                                              int mode, double a, double b, const double *sub,
                                              double *out)
{
    mc_phi_kind k = f->kind;
    if (k == MC_PHI_LOGISTIC && mode == PHI_PLAIN)
        phi_loop4(f, n, in, PHI_PLAIN, a, b, sub, out, MC_PHI_LOGISTIC);
    else if (k == MC_PHI_LOGISTIC && mode == PHI_SCALED)
        phi_loop4(f, n, in, PHI_SCALED, a, b, sub, out, MC_PHI_LOGISTIC);
    else if (k == MC_PHI_LOGISTIC)
        phi_loop4(f, n, in, PHI_AFFINE, a, b, sub, out, MC_PHI_LOGISTIC);
    else if (mode == PHI_PLAIN)
        phi_loop4(f, n, in, PHI_PLAIN, a, b, sub, out, MC_PHI_SOFTPLUS);
    else if (mode == PHI_SCALED)
        phi_loop4(f, n, in, PHI_SCALED, a, b, sub, out, MC_PHI_SOFTPLUS);
    else
        phi_loop4(f, n, in, PHI_AFFINE, a, b, sub, out, MC_PHI_SOFTPLUS);
}

static inline __attribute__((always_inline)) void
phi_map(const mc_phi *f, size_t n, const double *in, int mode, double a, double b,
        const double *sub, double *out)
{
    if (f->own_exp && f->kind != MC_PHI_RELU) {
        phi_own(f, n, in, mode, a, b, sub, out);
        return;
    }
    switch (f->kind) {
    case MC_PHI_SOFTPLUS:
        phi_loop(f, n, in, mode, a, b, sub, out, MC_PHI_SOFTPLUS);
        break;
    case MC_PHI_LOGISTIC:
        phi_loop(f, n, in, mode, a, b, sub, out, MC_PHI_LOGISTIC);
        break;
    case MC_PHI_RELU:
        phi_loop(f, n, in, mode, a, b, sub, out, MC_PHI_RELU);
        break;
    }
}

/* Out of line, one function per mode: inlined into the step, whose other
 * work keeps many values live, every exp call in these loops paid for
 * saving and restoring eight of them (about as much as the loop's own work).
 * r = phi(u): */
static __attribute__((noinline)) void phi_vec(const mc_phi *f, const gsl_vector *u, gsl_vector *r)
{
    phi_map(f, u->size, u->data, PHI_PLAIN, 0, 0, NULL, r->data);
}

/* err = r - phi(a v + b) */
static __attribute__((noinline)) void phi_err_affine(const mc_phi *f, size_t n, const double *v,
                                                     double a, double b, const double *r,
                                                     double *err)
{
    phi_map(f, n, v, PHI_AFFINE, a, b, r, err);
}

/* err = r - phi(a v) */
static __attribute__((noinline)) void phi_err_scaled(const mc_phi *f, size_t n, const double *v,
                                                     double a, const double *r, double *err)
{
    phi_map(f, n, v, PHI_SCALED, a, 0, r, err);
}

/* ---- allocation ---- */

/* A zeroed vector of n whose block has room for n rounded up to a multiple
 * of four: the v3 transfer-function loops read and write whole groups of
 * four, the lanes past n being scratch that nothing else reads. */
static gsl_vector *vec(size_t n, bool *ok)
{
    gsl_block *b = n ? gsl_block_calloc((n + 3) / 4 * 4) : NULL;
    gsl_vector *v = b ? gsl_vector_alloc_from_block(b, 0, n, 1) : NULL;
    if (v)
        v->owner = 1; /* gsl_vector_free frees the block */
    else
        gsl_block_free(b);
    if (!v)
        *ok = false;
    return v;
}

/* Matrices of at least this many bytes get transparent huge pages: a step
 * streams every weight and filter state of a large network (784-500-500-10:
 * about 10 MB), and with 4 kB pages that is thousands of TLB misses a step. */
#define MC_HUGE_BYTES (2u << 20)

/* A zeroed r x c matrix that gsl_matrix_free releases (the matrix owns its
 * block), page-aligned and advised for huge pages when large. */
static gsl_matrix *mat_big(size_t r, size_t c)
{
    size_t bytes = r * c * sizeof(double), align = MC_HUGE_BYTES;
    bytes = (bytes + align - 1) / align * align;
    gsl_block *b = malloc(sizeof *b);
    double *data = aligned_alloc(align, bytes);
    if (!b || !data) {
        free(b);
        free(data);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(data, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
    memset(data, 0, bytes);
    b->size = r * c, b->data = data;
    gsl_matrix *m = gsl_matrix_alloc_from_block(b, 0, r, c, c);
    if (!m) {
        free(data);
        free(b);
        return NULL;
    }
    m->owner = 1; /* gsl_matrix_free frees the block, gsl_block_free its data */
    return m;
}

static gsl_matrix *mat(size_t r, size_t c, bool *ok)
{
    gsl_matrix *m = NULL;
    if (r && c)
        m = r * c * sizeof(double) >= MC_HUGE_BYTES ? mat_big(r, c) : gsl_matrix_calloc(r, c);
    if (!m)
        *ok = false;
    return m;
}

static void layer_alloc(mc_layer *l, const mc_config *c, const size_t *n, int k, int L, bool *ok)
{
    l->n = n[k];
    l->r = vec(n[k], ok);
    if (k == 0)
        return;
    l->u = vec(n[k], ok), l->du = vec(n[k], ok), l->ub = vec(n[k], ok);
    l->vB = vec(n[k], ok), l->IB = vec(n[k], ok);
    l->err = vec(n[k], ok), l->tmp = vec(n[k], ok);
    l->W_up = mat(n[k], n[k - 1], ok);
    l->up.x = vec(n[k - 1], ok), l->up.y = vec(n[k], ok);
    if (c->tau_w > 0)
        l->G_up = mat(n[k], n[k - 1], ok);
    if (k == L)
        return;
    size_t m = n[k + 1];
    l->vA = vec(n[k], ok), l->IA = vec(n[k], ok);
    l->uI = vec(m, ok), l->duI = vec(m, ok), l->ubI = vec(m, ok), l->rI = vec(m, ok);
    l->vI = vec(m, ok), l->II = vec(m, ok), l->errI = vec(m, ok), l->tmpI = vec(m, ok);
    l->W_down = mat(n[k], m, ok), l->W_PI = mat(n[k], m, ok), l->W_IP = mat(m, n[k], ok);
    l->ip.x = vec(n[k], ok), l->ip.y = vec(m, ok), l->pi.x = vec(m, ok), l->pi.y = vec(n[k], ok);
    if (c->tau_w > 0) {
        l->G_down = mat(n[k], m, ok), l->G_PI = mat(n[k], m, ok);
        l->G_IP = mat(m, n[k], ok);
    }
}

mc_net *mc_net_alloc(const mc_config *c, const size_t *n, int L)
{
    if (L < 1 || L >= MC_MAX_LAYERS)
        return NULL;
    for (int k = 0; k <= L; k++)
        if (n[k] == 0)
            return NULL;
    mc_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->c = *c;
    net->L = L;
    bool ok = true;
    for (int k = 0; k <= L; k++)
        layer_alloc(&net->layer[k], c, n, k, L, &ok);
    net->target = vec(n[L], &ok);
    if (!ok) {
        mc_net_free(net);
        return NULL;
    }
    return net;
}

static void layer_free(mc_layer *l)
{
    gsl_vector *v[] = {l->u, l->du, l->ub, l->r, l->vB, l->vA, l->IB, l->IA, l->err, l->tmp,
                       l->uI, l->duI, l->ubI, l->rI, l->vI, l->II, l->errI, l->tmpI,
                       l->up.x, l->up.y, l->ip.x, l->ip.y, l->pi.x, l->pi.y};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        gsl_vector_free(v[i]); /* GSL's _free accepts NULL */
    gsl_matrix *m[] = {l->W_up, l->W_down, l->W_PI, l->W_IP, l->G_up, l->G_down, l->G_PI, l->G_IP};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        gsl_matrix_free(m[i]);
}

void mc_net_free(mc_net *net)
{
    if (!net)
        return;
    for (int k = 0; k <= net->L; k++)
        layer_free(&net->layer[k]);
    gsl_vector_free(net->target);
    free(net);
}

/* ---- initial states ---- */

static void fill_uniform(gsl_matrix *m, gsl_rng *rng, double w)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->size1 * m->size2; i++)
        m->data[i] = w * (2.0 * gsl_rng_uniform(rng) - 1.0);
}

void mc_net_weights_changed(mc_net *net)
{
    for (int k = 0; k <= net->L; k++)
        net->layer[k].up.valid = net->layer[k].ip.valid = net->layer[k].pi.valid = false;
}

void mc_net_init_random(mc_net *net, gsl_rng *rng, double w)
{
    mc_net_weights_changed(net);
    /* W_up first for every layer, so that the baselines (which draw only
     * W_up, in the same order) start from the same forward weights. */
    for (int k = 1; k <= net->L; k++)
        fill_uniform(net->layer[k].W_up, rng, w);
    for (int k = 1; k < net->L; k++) {
        fill_uniform(net->layer[k].W_down, rng, w);
        fill_uniform(net->layer[k].W_PI, rng, w);
        fill_uniform(net->layer[k].W_IP, rng, w);
    }
}

void mc_net_self_predicting(mc_net *net)
{
    mc_net_weights_changed(net);
    const mc_config *c = &net->c;
    for (int k = 1; k < net->L; k++) {
        mc_layer *l = &net->layer[k];
        gsl_matrix_memcpy(l->W_PI, l->W_down);
        gsl_matrix_scale(l->W_PI, -1.0);
        /* The layer above has an apical compartment unless it is the output. */
        double gA_above = k + 1 < net->L ? c->g_A : 0.0;
        double f = (c->g_lk + c->g_D) / c->g_D * c->g_B / (c->g_lk + c->g_B + gA_above);
        gsl_matrix_memcpy(l->W_IP, net->layer[k + 1].W_up);
        gsl_matrix_scale(l->W_IP, f);
    }
}

void mc_net_reset_state(mc_net *net)
{
    for (int k = 0; k <= net->L; k++) {
        mc_layer *l = &net->layer[k];
        gsl_vector *v[] = {l->u, l->du, l->ub, l->r, l->vB, l->vA, l->IB, l->IA,
                           l->uI, l->duI, l->ubI, l->rI, l->vI, l->II};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            if (v[i])
                gsl_vector_set_zero(v[i]);
    }
    net->t = 0;
}

/* ---- dynamics ---- */

/* Total conductance of the soma of layer k without nudging (the output's
 * target conductance is not part of what the network predicts). */
static double g_tot(const mc_net *net, int k)
{
    const mc_config *c = &net->c;
    return c->g_lk + c->g_B + (k < net->L ? c->g_A : 0.0);
}

double mc_tau_eff_pyr(const mc_net *net, int k)
{
    const mc_config *c = &net->c;
    return 1.0 / (g_tot(net, k) + (k == net->L && net->nudge ? c->g_som : 0.0));
}

double mc_tau_eff_int(const mc_net *net)
{
    const mc_config *c = &net->c;
    return 1.0 / (c->g_lk + c->g_D + c->g_som);
}

/* The current injected into the interneurons of hidden layer k. */
static double i_int(const mc_net *net, int k)
{
    const mc_config *c = &net->c;
    return c->i_inj * (c->g_lk + c->g_D) / g_tot(net, k + 1);
}

/* Below this many weights a plain loop beats a BLAS call, whose argument
 * checks and dispatch cost more than the arithmetic (9-30-3: 270 weights). */
#define MC_SMALL_MV 4096


/* v < c ? v : c, then v > -c ? v : -c, lane by lane (NaN becomes c, as in
 * the scalar form): minpd/maxpd. */
static inline void clip4(v4d *w, double c)
{
    v4d v = *w, hi = splat4(c), lo = splat4(-c);
    v4i m = v < hi;
    v = (v4d)(((v4i)v & m) | ((v4i)hi & ~m));
    m = v > lo;
    *w = (v4d)(((v4i)v & m) | ((v4i)lo & ~m));
}

static inline double clip1(double v, double c)
{
    v = v < c ? v : c;
    return v > -c ? v : -c;
}

/* ---- matrix-vector products ---- */

/* The summation order of every product below is the one the kernel has
 * always used, since it fixes the results:
 *   more than MC_SMALL_MV weights: cblas_dgemv;
 *   fewer than 8 columns: y_i = 0 + w_i0 x_0 + w_i1 x_1 + ... in column order;
 *   otherwise four partial sums, s_l over the columns j = l mod 4 below the
 *   last multiple of four, the remaining columns added to s_0 in order, and
 *   y_i = (s_0 + s_1) + (s_2 + s_3).
 * A second product added to y (beta 1) adds its terms or its sum to y_i. */

/* Rows of 8 or more weights, four rows at a time: each row's four partial
 * sums are one vector, and a 4x4 transpose turns the four rows' vectors into
 * s_0..s_3 of the four rows, so that the remaining columns and the final
 * sums are vector operations too instead of per-row scalar work. */
MC_INLINE void mv_rows(size_t m, size_t n, const double *W, size_t tda, const double *x,
                       double *y, bool add)
{
    size_t n4 = n / 4 * 4, i = 0;
    for (; i + 4 <= m; i += 4) {
        const double *w0 = W + i * tda, *w1 = w0 + tda, *w2 = w1 + tda, *w3 = w2 + tda;
        v4d a0 = splat4(0), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < n4; j += 4) {
            v4d xj = load4(x + j);
            a0 += load4(w0 + j) * xj;
            a1 += load4(w1 + j) * xj;
            a2 += load4(w2 + j) * xj;
            a3 += load4(w3 + j) * xj;
        }
        v4d t0 = __builtin_shufflevector(a0, a1, 0, 4, 2, 6), t1 = __builtin_shufflevector(a0, a1, 1, 5, 3, 7);
        v4d t2 = __builtin_shufflevector(a2, a3, 0, 4, 2, 6), t3 = __builtin_shufflevector(a2, a3, 1, 5, 3, 7);
        v4d s0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5), s2 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
        v4d s1 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5), s3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
        for (size_t j = n4; j < n; j++)
            s0 += (v4d){w0[j], w1[j], w2[j], w3[j]} * splat4(x[j]);
        v4d s = (s0 + s1) + (s2 + s3);
        if (add)
            s = load4(y + i) + s;
        store4(y + i, &s);
    }
    for (; i < m; i++) {
        const double *w = W + i * tda;
        v4d acc = splat4(0);
        for (size_t j = 0; j < n4; j += 4)
            acc += load4(w + j) * load4(x + j);
        for (size_t j = n4; j < n; j++)
            acc[0] += w[j] * x[j];
        double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        y[i] = add ? y[i] + s : s;
    }
}

/* Fewer than 8 columns, row by row with the width a constant (one copy per
 * width), the second matrix's terms (n2 columns, W2 NULL for none) following
 * the first's in the same running sum. */
MC_INLINE void mv_narrow(size_t m, size_t n, const double *W, size_t tda, const double *x,
                         size_t n2, const double *W2, size_t tda2, const double *x2, double *y,
                         bool add)
{
    for (size_t i = 0; i < m; i++) {
        const double *w = W + i * tda;
        double s = add ? y[i] : 0.0;
        for (size_t j = 0; j < n; j++)
            s += w[j] * x[j];
        if (W2) {
            const double *w2 = W2 + i * tda2;
            for (size_t j = 0; j < n2; j++)
                s += w2[j] * x2[j];
        }
        y[i] = s;
    }
}

#define MC_NARROW_CASE(N)                                                                        \
    case N:                                                                                      \
        if (W2)                                                                                  \
            mv_narrow(m, N, W->data, W->tda, x, N, W2->data, W2->tda, x2, y, false);             \
        else                                                                                     \
            mv_narrow(m, N, W->data, W->tda, x, 0, NULL, 0, NULL, y, add);                       \
        return true;

/* The narrow products with the width known to the compiler; false when W is
 * not narrow (or W2 has another width). */
MC_INLINE bool mv_narrow_fixed(const gsl_matrix *W, const double *x, const gsl_matrix *W2,
                               const double *x2, double *y, bool add)
{
    size_t m = W->size1;
    if (W2 && W2->size2 != W->size2)
        return false;
    switch (W->size2) {
        MC_NARROW_CASE(1)
        MC_NARROW_CASE(2)
        MC_NARROW_CASE(3)
        MC_NARROW_CASE(4)
        MC_NARROW_CASE(5)
        MC_NARROW_CASE(6)
        MC_NARROW_CASE(7)
    default:
        return false;
    }
}

/* y = W x (+ y when add). own (numerics v3): large products too in
 * mv_rows' order, which the fused forward update reproduces. */
MC_INLINE void mv_one(const gsl_matrix *W, const double *x, double *y, bool add, bool own)
{
    size_t m = W->size1, n = W->size2;
    if (m * n > MC_SMALL_MV && !own)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, 1.0, W->data, (int)W->tda, x, 1,
                    add ? 1.0 : 0.0, y, 1);
    else if (!mv_narrow_fixed(W, x, NULL, NULL, y, add))
        mv_rows(m, n, W->data, W->tda, x, y, add);
}

/* y = W x, then + W2 x2 when W2 != NULL (the apical dendrite's two inputs):
 * in one pass over the rows when both are small and narrow. */
MC_MULTIVERSION
static void matvec(const gsl_matrix *W, const double *x, const gsl_matrix *W2, const double *x2,
                   double *y, bool own)
{
    size_t mn = W->size1 * W->size2;
    if (W2 && mn <= MC_SMALL_MV && W2->size1 * W2->size2 <= MC_SMALL_MV &&
        mv_narrow_fixed(W, x, W2, x2, y, false))
        return;
    mv_one(W, x, y, false, own);
    if (W2)
        mv_one(W2, x2, y, true, own);
}

/* v = I / g_lk_dend with I = W pre (+ W2 pre2), instantaneous or low-passed.
 * Under LE the low-pass is read prospectively, I + tau_syn dI/dt = W pre:
 * the filter drops out. given: W pre already computed (NULL: compute it). */
static void dendrite(const mc_config *c, const gsl_matrix *W, const gsl_vector *pre,
                     const gsl_matrix *W2, const gsl_vector *pre2, gsl_vector *I,
                     gsl_vector *scratch, gsl_vector *v, const double *given,
                     const double *given2)
{
    bool filt = c->tau_syn > 0 && !c->le;
    double *dst = filt ? scratch->data : I->data;
    if (given)
        memcpy(dst, given, I->size * sizeof *dst);
    else
        matvec(W, pre->data, given2 ? NULL : W2, given2 || !W2 ? NULL : pre2->data, dst,
               c->numerics_v3);
    if (given2) /* as mv_rows adds a second product: y_i + s_i */
        for (size_t i = 0; i < I->size; i++)
            dst[i] = dst[i] + given2[i];
    double g = 1.0 / c->g_lk_dend;
    if (filt) {
        double a = c->dt / c->tau_syn;
        for (size_t i = 0; i < I->size; i++) {
            I->data[i] += a * (dst[i] - I->data[i]);
            v->data[i] = g * I->data[i];
        }
        return;
    }
    for (size_t i = 0; i < I->size; i++)
        v->data[i] = g * dst[i];
}

/* The input rates: the pattern low-passed with tau_in, or under LE the
 * prospective reading of that low-pass, which is the pattern itself. */
/* out = the input rates after one step toward pattern x from r (out may be
 * r): one expression, so that a prediction of the next step's rates
 * (plasticity_forward) has the bits input_step will compute. */
static void input_next(const mc_config *c, const double *r, const double *x, double *out,
                       size_t n)
{
    double a = c->tau_in > 0 && !c->le ? c->dt / c->tau_in : 1.0;
    if (a > 1.0)
        a = 1.0;
    for (size_t i = 0; i < n; i++)
        out[i] = r[i] + a * (x[i] - r[i]);
}

static void input_step(mc_net *net, const double *x)
{
    gsl_vector *r = net->layer[0].r;
    input_next(&net->c, r->data, x, r->data, r->size);
}

/* The product an update computed ahead, if its prediction of the rates
 * came true (bit for bit), else NULL; either way it is used up. */
static const double *ahead_take(mc_ahead *a, const gsl_vector *pre)
{
    bool hit = a->valid && !memcmp(a->x->data, pre->data, pre->size * sizeof *pre->data);
    a->valid = false;
    return hit ? a->y->data : NULL;
}

static void dendrites_step(mc_net *net)
{
    const mc_config *c = &net->c;
    for (int k = 1; k <= net->L; k++) {
        mc_layer *l = &net->layer[k];
        const gsl_vector *pre = net->layer[k - 1].r;
        dendrite(c, l->W_up, pre, NULL, NULL, l->IB, l->tmp, l->vB, ahead_take(&l->up, pre), NULL);
        if (k == net->L)
            continue;
        dendrite(c, l->W_down, net->layer[k + 1].r, l->W_PI, l->rI, l->IA, l->tmp, l->vA, NULL,
                 ahead_take(&l->pi, l->rI));
        dendrite(c, l->W_IP, l->r, NULL, NULL, l->II, l->tmpI, l->vI, ahead_take(&l->ip, l->r),
                 NULL);
    }
}

/* du/dt (deterministic part) of every soma, from the state at time t:
 * pyramidal neurons first, because the interneurons are nudged by their
 * partners' potential, under LE the prospective u + tau_eff du/dt at t. */
static void derivatives(mc_net *net)
{
    const mc_config *c = &net->c;
    double glk = -c->g_lk, gB = c->g_B, gA = c->g_A, gD = c->g_D, gs = c->g_som, ij = c->i_inj;
    for (int k = 1; k <= net->L; k++) {
        mc_layer *l = &net->layer[k];
        size_t n = l->n;
        const double *restrict u = l->u->data, *restrict vB = l->vB->data;
        double *restrict du = l->du->data;
        /* One loop per case, no test inside: the compiler vectorises them. */
        if (k < net->L) {
            const double *restrict vA = l->vA->data;
            for (size_t i = 0; i < n; i++)
                du[i] = glk * u[i] + gB * (vB[i] - u[i]) + ij + gA * (vA[i] - u[i]);
        } else if (net->nudge) {
            const double *restrict tg = net->target->data;
            for (size_t i = 0; i < n; i++)
                du[i] = glk * u[i] + gB * (vB[i] - u[i]) + ij + gs * (tg[i] - u[i]);
        } else {
            for (size_t i = 0; i < n; i++)
                du[i] = glk * u[i] + gB * (vB[i] - u[i]) + ij;
        }
    }
    for (int k = 1; k < net->L; k++) {
        mc_layer *l = &net->layer[k];
        const mc_layer *up = &net->layer[k + 1];
        double te = c->le ? mc_tau_eff_pyr(net, k + 1) : 0.0, ii = i_int(net, k);
        size_t n = l->uI->size;
        const double *restrict u = l->uI->data, *restrict vI = l->vI->data;
        const double *restrict pu = up->u->data, *restrict pdu = up->du->data;
        double *restrict du = l->duI->data;
        for (size_t i = 0; i < n; i++) {
            double partner = pu[i] + te * pdu[i];
            du[i] = glk * u[i] + gD * (vI[i] - u[i]) + gs * (partner - u[i]) + ii;
        }
    }
}

/* u += dt du/dt (+ noise); ub = u, or u breve from the state at time t. The
 * Gaussian draws of a layer are taken first, in neuron order, into scratch,
 * so that the update loops have no call in them and vectorise. */
static void advance(mc_net *net, gsl_rng *noise)
{
    const mc_config *c = &net->c;
    double sdt = c->sigma * sqrt(c->dt), dt = c->dt;
    bool noisy = noise && sdt > 0;
    for (int k = 1; k <= net->L; k++) {
        mc_layer *l = &net->layer[k];
        size_t n = l->n;
        double te = mc_tau_eff_pyr(net, k);
        double *restrict u = l->u->data, *restrict ub = l->ub->data, *restrict z = l->tmp->data;
        const double *restrict du = l->du->data;
        if (noisy) {
            if (c->numerics_v3)
                nm_rng_gaussians(noise, z, n);
            else
                for (size_t i = 0; i < n; i++)
                    z[i] = gsl_ran_gaussian_ziggurat(noise, 1.0);
            if (c->le)
                for (size_t i = 0; i < n; i++) {
                    double u0 = u[i];
                    u[i] = u0 + dt * du[i] + sdt * z[i];
                    ub[i] = u0 + te * du[i];
                }
            else
                for (size_t i = 0; i < n; i++)
                    ub[i] = u[i] = u[i] + dt * du[i] + sdt * z[i];
        } else if (c->le) {
            for (size_t i = 0; i < n; i++) {
                double u0 = u[i];
                u[i] = u0 + dt * du[i];
                ub[i] = u0 + te * du[i];
            }
        } else {
            for (size_t i = 0; i < n; i++)
                ub[i] = u[i] = u[i] + dt * du[i];
        }
        phi_vec(&c->phi, l->ub, l->r);
        if (k == net->L)
            continue;
        double ti = mc_tau_eff_int(net);
        size_t m = l->uI->size;
        double *restrict uI = l->uI->data, *restrict ubI = l->ubI->data;
        const double *restrict duI = l->duI->data;
        if (c->le)
            for (size_t i = 0; i < m; i++) {
                double u0 = uI[i];
                uI[i] = u0 + dt * duI[i];
                ubI[i] = u0 + ti * duI[i];
            }
        else
            for (size_t i = 0; i < m; i++)
                ubI[i] = uI[i] = uI[i] + dt * duI[i];
        phi_vec(&c->phi, l->ubI, l->rI);
    }
}

/* ---- plasticity ---- */

/* The weight update W += dt eta post pre^T comes in two forms, which round
 * differently; each matrix keeps the form it has always had, so that no
 * result changes:
 *
 *   row form (rows of 8 or more weights, or not contiguous):
 *     with the low-pass  g += p x_j - a g,  w += s g   (p = a post_i)
 *     without            w += p x_j                    (p = s post_i)
 *   column form (contiguous, fewer than 8 columns: from a small layer above):
 *     d = post_i x_j;  with the low-pass  g += a (d - g), d = g;  w += s d
 *
 * then |w| <= clip when clip > 0; a = dt / tau_w, s = dt eta. Every weight
 * is computed from its own old value alone, which the loops below use: four
 * weights at a time, the last chunk of four taken to end at the row's end,
 * possibly overlapping the one before; it is loaded and computed before any
 * store, so an overlapping weight gets the same value twice, and there is no
 * scalar remainder loop (on rows of 9 to 30 weights it cost more than the
 * vector part). The flags `filtered` and `clipped` are constants after
 * inlining, so each combination gets its own loops with no test inside. */
/* Four weights of a row in the row form (the weight is loaded where it is
 * an operand of its add, which saves an instruction). */
MC_INLINE v4d row_chunk(double *restrict w, double *restrict g, const double *restrict x,
                        double p, double a, double s, double clip, bool filtered, bool clipped)
{
    v4d wj, P = splat4(p), A = splat4(a), S = splat4(s); /* hoisted out of loops after inlining */
    if (filtered) {
        v4d gj = load4(g);
        gj = gj + (P * load4(x) - A * gj);
        store4(g, &gj);
        wj = load4(w) + S * gj;
    } else {
        wj = load4(w) + P * load4(x);
    }
    if (clipped)
        clip4(&wj, clip);
    store4(w, &wj);
    return wj;
}

MC_INLINE void row_form(size_t m, size_t n, double *restrict W, size_t tw, double *restrict G,
                        size_t tg, const double *restrict post, const double *restrict x,
                        double a, double s, double clip, bool filtered, bool clipped)
{
    if (n < 4) { /* narrow and not contiguous: no matrix of the kernel */
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double *w = W + i * tw + j;
                if (filtered) {
                    double *g = G + i * tg + j;
                    *g += a * post[i] * x[j] - a * *g;
                    *w += s * *g;
                } else {
                    *w += s * post[i] * x[j];
                }
                if (clipped)
                    *w = clip1(*w, clip);
            }
        return;
    }
    size_t t = n - 4;
    v4d A = splat4(a), S = splat4(s), xt = load4(x + t), zero = splat4(0);
    for (size_t i = 0; i < m; i++) {
        double *restrict w = W + i * tw;
        double *restrict g = filtered ? G + i * tg : NULL;
        double p = filtered ? a * post[i] : s * post[i];
        v4d P = splat4(p), wt = load4(w + t), gt = filtered ? load4(g + t) : zero;
        if (filtered) {
            gt = gt + (P * xt - A * gt);
            wt = wt + S * gt;
        } else {
            wt = wt + P * xt;
        }
        if (clipped)
            clip4(&wt, clip);
        for (size_t j = 0; j < t; j += 4)
            row_chunk(w + j, filtered ? g + j : NULL, x + j, p, a, s, clip, filtered, clipped);
        if (filtered)
            store4(g + t, &gt);
        store4(w + t, &wt);
    }
}

/* Rows of at least this many weights are updated by row_form_long, which
 * under numerics v3 also computes the next step's product (mc_fuses). */
#define MC_LONG_ROW 64

/* Long rows (MC_LONG_ROW weights or more): the chunks in order and a scalar
 * remainder. Loading each row's last chunk before its first, as row_form
 * does, would break the hardware prefetcher's streams over rows of
 * kilobytes. With xn (numerics v3), also yn = W_new xn in mv_rows' order
 * (lanes j mod 4, the remainder into lane 0, (l0 + l1) + (l2 + l3)) while
 * each new weight is still in a register: the next step's product without
 * reading W again (a large step is bound by reading memory). */
MC_INLINE void row_form_long(size_t m, size_t n, double *restrict W, size_t tw,
                             double *restrict G, size_t tg, const double *restrict post,
                             const double *restrict x, double a, double s, double clip,
                             bool filtered, bool clipped, const double *restrict xn,
                             double *restrict yn, bool dot)
{
    size_t n4 = n / 4 * 4;
    for (size_t i = 0; i < m; i++) {
        double *restrict w = W + i * tw;
        double *restrict g = filtered ? G + i * tg : NULL;
        double p = filtered ? a * post[i] : s * post[i];
        v4d acc = splat4(0);
        for (size_t j = 0; j < n4; j += 4) {
            v4d wj = row_chunk(w + j, filtered ? g + j : NULL, x + j, p, a, s, clip, filtered,
                               clipped);
            if (dot)
                acc += wj * load4(xn + j);
        }
        for (size_t j = n4; j < n; j++) {
            if (filtered) {
                g[j] += p * x[j] - a * g[j];
                w[j] += s * g[j];
            } else {
                w[j] += p * x[j];
            }
            if (clipped)
                w[j] = clip1(w[j], clip);
            if (dot)
                acc[0] += w[j] * xn[j];
        }
        if (dot)
            yn[i] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
}

MC_INLINE void row_forms(size_t m, size_t n, double *restrict W, size_t tw, double *restrict G,
                         size_t tg, const double *restrict post, const double *restrict x,
                         double a, double s, double clip, bool filtered, bool clipped,
                         const double *restrict xn, double *restrict yn)
{
    if (n >= MC_LONG_ROW && xn)
        row_form_long(m, n, W, tw, G, tg, post, x, a, s, clip, filtered, clipped, xn, yn, true);
    else if (n >= MC_LONG_ROW)
        row_form_long(m, n, W, tw, G, tg, post, x, a, s, clip, filtered, clipped, NULL, NULL,
                      false);
    else
        row_form(m, n, W, tw, G, tg, post, x, a, s, clip, filtered, clipped);
}

/* The column form on e contiguous weights whose products d are given. */
MC_INLINE void col_form_flat(size_t e, double *restrict w, double *restrict g,
                             const double *restrict d, double a, double s, double clip,
                             bool filtered, bool clipped)
{
    if (e < 4) {
        for (size_t q = 0; q < e; q++) {
            double v = d[q];
            if (filtered) {
                g[q] += a * (v - g[q]);
                v = g[q];
            }
            v = w[q] + s * v;
            w[q] = clipped ? clip1(v, clip) : v;
        }
        return;
    }
    size_t t = e - 4;
    v4d A = splat4(a), S = splat4(s), zero = splat4(0);
    v4d wt = load4(w + t), dt = load4(d + t), gt = filtered ? load4(g + t) : zero;
    if (filtered) {
        gt = gt + A * (dt - gt);
        dt = gt;
    }
    wt = wt + S * dt;
    if (clipped)
        clip4(&wt, clip);
    for (size_t q = 0; q < t; q += 4) {
        v4d v = load4(d + q);
        if (filtered) {
            v4d gq = load4(g + q);
            gq = gq + A * (v - gq);
            store4(g + q, &gq);
            v = gq;
        }
        v = load4(w + q) + S * v;
        if (clipped)
            clip4(&v, clip);
        store4(w + q, &v);
    }
    if (filtered)
        store4(g + t, &gt);
    store4(w + t, &wt);
}

/* The column form on a contiguous m x n matrix, n < 8: the products of a
 * block of rows are laid out like the block in a small buffer (a row's n
 * products written as four or eight lanes, the lanes past n, multiplied by
 * zero, overwritten by the next row or left in the slack), and the block is
 * then updated as one flat array. */
#define MC_COL_BLOCK 256

MC_INLINE void col_form(size_t m, size_t n, double *restrict W, double *restrict G,
                        const double *restrict post, const double *restrict x, double a,
                        double s, double clip, bool filtered, bool clipped)
{
    double d[MC_COL_BLOCK + 8], xp[8] = {0};
    memcpy(xp, x, n * sizeof *x);
    v4d x0 = load4(xp), x1 = load4(xp + 4);
    size_t rows = MC_COL_BLOCK / n;
    for (size_t i0 = 0; i0 < m; i0 += rows) {
        size_t i1 = i0 + rows < m ? i0 + rows : m;
        for (size_t i = i0; i < i1; i++) {
            v4d p = splat4(post[i]), p0 = p * x0, p1 = p * x1;
            store4(d + (i - i0) * n, &p0);
            if (n > 4)
                store4(d + (i - i0) * n + 4, &p1);
        }
        col_form_flat((i1 - i0) * n, W + i0 * n, filtered ? G + i0 * n : NULL, d, a, s, clip,
                      filtered, clipped);
    }
}

/* W += dt*eta*post pre^T, through the tau_w low-pass G when there is one,
 * then |W| <= clip when clip > 0: one pass over W (and G), since the update
 * is memory-bound on large layers and separate scale, rank-1 and axpy passes
 * would each stream the whole matrix again. With xn, when W's rows are long
 * (mc_fuses), also yn = W_new xn in that pass. */
MC_MULTIVERSION
static void apply_update(const mc_config *c, gsl_matrix *W, gsl_matrix *G, double eta,
                         const gsl_vector *post, const gsl_vector *pre, double clip,
                         const double *xn, double *yn)
{
    size_t m = W->size1, n = W->size2, tw = W->tda, tg = G ? G->tda : 0;
    double *w = W->data, *g = G ? G->data : NULL;
    const double *p = post->data, *x = pre->data;
    double s = c->dt * eta, a = G ? c->dt / c->tau_w : 0.0;
    bool f = G != NULL, cl = clip > 0;
    if (n < 8 && tw == n && (!G || tg == n)) {
        if (f && cl)
            col_form(m, n, w, g, p, x, a, s, clip, true, true);
        else if (f)
            col_form(m, n, w, g, p, x, a, s, clip, true, false);
        else if (cl)
            col_form(m, n, w, g, p, x, a, s, clip, false, true);
        else
            col_form(m, n, w, g, p, x, a, s, clip, false, false);
        return;
    }
    if (f && cl)
        row_forms(m, n, w, tw, g, tg, p, x, a, s, clip, true, true, xn, yn);
    else if (f)
        row_forms(m, n, w, tw, g, tg, p, x, a, s, clip, true, false, xn, yn);
    else if (cl)
        row_forms(m, n, w, tw, g, tg, p, x, a, s, clip, false, true, xn, yn);
    else
        row_forms(m, n, w, tw, g, tg, p, x, a, s, clip, false, false, xn, yn);
}

/* Whether W's update computes the next step's product W_new x in its pass:
 * under numerics v3, when its rows are long (row_form_long). */
static bool mc_fuses(const mc_config *c, const gsl_matrix *W)
{
    return c->numerics_v3 && W->size2 >= MC_LONG_ROW;
}

/* W += ... as apply_update, and when mc_fuses also the product W_new xn for
 * the next step into a (xn: the rates predicted for it; NULL: pre, which
 * nothing changes before the next step's dendrites). */
static void update_ahead(mc_net *net, gsl_matrix *W, gsl_matrix *G, double eta,
                         const gsl_vector *post, const gsl_vector *pre, double clip,
                         mc_ahead *a, const double *xn)
{
    const mc_config *c = &net->c;
    a->valid = mc_fuses(c, W);
    if (a->valid && !xn)
        memcpy(a->x->data, pre->data, pre->size * sizeof *pre->data);
    apply_update(c, W, G, eta, post, pre, clip, a->valid ? a->x->data : NULL,
                 a->valid ? a->y->data : NULL);
}

/* The forward rule of layer k; x is this step's pattern. When mc_fuses it
 * also computes W_up_new r_next for the next step, r_next its presynaptic
 * rates as the next step will have them if nothing changes (layer 0: one
 * more input step toward the same pattern); dendrites_step uses the product
 * only if the rates it then sees are these, bit for bit. */
static void plasticity_forward(mc_net *net, int k, const double *x)
{
    const mc_config *c = &net->c;
    mc_layer *l = &net->layer[k];
    bool out = k == net->L;
    double eta = out ? c->eta_up_out : c->eta_up;
    if (eta == 0)
        return;
    double g = g_tot(net, k), a = c->g_B / g, b = c->i_inj / g;
    phi_err_affine(&c->phi, l->n, l->vB->data, a, b, l->r->data, l->err->data);
    const gsl_vector *pre = net->layer[k - 1].r;
    const double *xn = NULL;
    if (k == 1 && mc_fuses(c, l->W_up)) { /* the input moves on toward the pattern */
        input_next(c, pre->data, x, l->up.x->data, pre->size);
        xn = l->up.x->data;
    }
    update_ahead(net, l->W_up, l->G_up, eta, l->err, pre, out ? c->w_clip_out : c->w_clip,
                 &l->up, xn);
}

static void plasticity_lateral(mc_net *net, int k)
{
    const mc_config *c = &net->c;
    mc_layer *l = &net->layer[k];
    const mc_layer *above = &net->layer[k + 1];
    if (c->eta_IP != 0) {
        double a = c->g_D / (c->g_lk + c->g_D), b = i_int(net, k) / (c->g_lk + c->g_D);
        phi_err_affine(&c->phi, l->uI->size, l->vI->data, a, b, l->rI->data, l->errI->data);
        update_ahead(net, l->W_IP, l->G_IP, c->eta_IP, l->errI, l->r, 0, &l->ip, NULL);
    }
    if (c->eta_PI != 0) {
        for (size_t i = 0; i < l->n; i++)
            l->err->data[i] = -l->vA->data[i];
        update_ahead(net, l->W_PI, l->G_PI, c->eta_PI, l->err, l->rI, 0, &l->pi, NULL);
    }
    if (c->eta_down != 0) {
        /* The top-down prediction has v_A's scaling: W_down r / g_lk_dend. */
        matvec(l->W_down, above->r->data, NULL, NULL, l->tmp->data, c->numerics_v3);
        double g = 1.0 / c->g_lk_dend;
        phi_err_scaled(&c->phi, l->n, l->tmp->data, g, l->r->data, l->err->data);
        apply_update(c, l->W_down, l->G_down, c->eta_down, l->err, above->r, 0, NULL, NULL);
    }
}

void mc_net_step(mc_net *net, const double *x, bool plastic, gsl_rng *noise)
{
    input_step(net, x);
    dendrites_step(net);
    derivatives(net);
    advance(net, noise);
    if (plastic) {
        for (int k = 1; k <= net->L; k++)
            plasticity_forward(net, k, x);
        for (int k = 1; k < net->L; k++)
            plasticity_lateral(net, k);
    }
    net->t += net->c.dt;
}

/* ---- diagnostics ---- */

double mc_net_apical_sq(const mc_net *net)
{
    double s = 0;
    size_t n = 0;
    for (int k = 1; k < net->L; k++) {
        const gsl_vector *v = net->layer[k].vA;
        for (size_t i = 0; i < v->size; i++)
            s += v->data[i] * v->data[i];
        n += v->size;
    }
    return n ? s / (double)n : 0.0;
}

double mc_net_interneuron_sq(const mc_net *net)
{
    double s = 0;
    size_t n = 0;
    for (int k = 1; k < net->L; k++) {
        const gsl_vector *uI = net->layer[k].uI, *u = net->layer[k + 1].u;
        for (size_t i = 0; i < uI->size; i++) {
            double d = uI->data[i] - u->data[i];
            s += d * d;
        }
        n += uI->size;
    }
    return n ? s / (double)n : 0.0;
}

double mc_matrix_angle(const gsl_matrix *A, const gsl_matrix *B, double sign, bool transposed)
{
    size_t r = transposed ? B->size2 : B->size1, c = transposed ? B->size1 : B->size2;
    if (A->size1 != r || A->size2 != c)
        return -1.0;
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) {
            double a = gsl_matrix_get(A, i, j);
            double b = sign * (transposed ? gsl_matrix_get(B, j, i) : gsl_matrix_get(B, i, j));
            dot += a * b, na += a * a, nb += b * b;
        }
    if (na == 0 || nb == 0)
        return 90.0;
    double cs = dot / sqrt(na * nb);
    cs = cs > 1 ? 1 : (cs < -1 ? -1 : cs);
    return acos(cs) * 180.0 / M_PI;
}

double mc_net_feedback_angle(const mc_net *net)
{
    if (net->L < 2)
        return -1.0;
    return mc_matrix_angle(net->layer[net->L - 1].W_down, net->layer[net->L].W_up, 1.0, true);
}

/* mp_model.c: the inner network of the metaplastic kernel, its plastic
 * update, and the exact forward-mode meta-gradient (mp.h has the equations).
 *
 * Layout. Vectors of layer l are arrays of n_l doubles; their tangents are
 * R x n_l row-major blocks (row q = d/dtheta_q), so that a tangent pass over
 * all q is one BLAS call: the R tangent matrices T_l^q are stored one after
 * the other, i.e. as one (R n_l) x n_(l-1) matrix, and T y is one dgemv.
 *
 * Why forward mode: reverse mode through 250 plastic steps would store every
 * step's W (or recompute them); forward mode carries R extra copies of W and
 * nothing else, and is exact. Its cost per step is a constant times R passes
 * over the weights (see mp_flops_update). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "mp.h"

const char *const mp_term_names[MP_NTERMS] = {"F0", "F1", "F2", "F3", "F4", "F5"};
const char *const mp_fb_term_names[MP_NFB] = {"G0", "G1", "G2"};

/* Postsynaptic and presynaptic factors of a term: c * u v^T. */
typedef enum { V_E, V_Y, V_ONE, V_OJA } mp_vec;
static const struct {
    double c;
    mp_vec post, pre;
} terms[MP_NTERMS] = {
    {-1, V_E, V_Y},   /* F0 pseudo-gradient */
    {-1, V_E, V_E},   /* F1 error-Hebbian */
    {+1, V_Y, V_OJA}, /* F2 Oja */
    {+1, V_Y, V_Y},   /* F3 Hebbian */
    {-1, V_Y, V_E},   /* F4 post activity x pre error */
    {-1, V_E, V_ONE}, /* F5 error alone */
};

/* Decay y_a and gain z_a of chemical a (seed 003, eqs. 8-9): tau_a =
 * (tau_max/tau_min)^(a/C), z_a = 1/(tau_min tau_a), y_a = 1 - z_a, except
 * y_0 = 1: chemical 0 integrates. */
static void chem_rates(const mp_config *c, int a, double *y, double *z)
{
    double tau = pow(c->tau_max / c->tau_min, (double)a / c->nchem);
    *z = 1.0 / (c->tau_min * tau);
    *y = a == 0 ? 1.0 : 1.0 - *z;
}

struct mp_net {
    mp_config c;
    int M;       /* meta-parameters = tangents carried */
    size_t nmax;
    /* chemical synapses: H[l] n_l x C x n_(l-1), DH[l] n_l x C x M x n_(l-1)
     * (chem_update says why); y, z per chemical; cw its scratch */
    double *H[MP_MAXL + 1], *DH[MP_MAXL + 1];
    double yc[MP_MAXCHEM], zc[MP_MAXCHEM];
    bool need_e0, need_oja;
    double *W[MP_MAXL + 1], *B[MP_MAXL + 1], *T[MP_MAXL + 1];
    double *S[MP_MAXL + 1]; /* learned feedback: tangents of B, laid out as T */
    double *a[MP_MAXL + 1], *y[MP_MAXL + 1], *s[MP_MAXL + 1], *e[MP_MAXL + 1], *ebp[MP_MAXL + 1];
    double *da[MP_MAXL + 1], *dy[MP_MAXL + 1], *de[MP_MAXL + 1];
    double *ones, *oja, *doja, *dg, *U, *V, *cw;
};

static size_t wsize(const mp_config *c, int l)
{
    return c->n[l] * c->n[l - 1];
}

void mp_net_free(mp_net *net)
{
    if (!net)
        return;
    for (int l = 0; l <= MP_MAXL; l++) {
        free(net->W[l]), free(net->B[l]), free(net->T[l]), free(net->H[l]), free(net->DH[l]);
        free(net->S[l]);
        free(net->a[l]), free(net->y[l]), free(net->s[l]), free(net->e[l]), free(net->ebp[l]);
        free(net->da[l]), free(net->dy[l]), free(net->de[l]);
    }
    free(net->ones), free(net->oja), free(net->doja), free(net->dg), free(net->U), free(net->V);
    free(net->cw);
    free(net);
}

mp_net *mp_net_alloc(const mp_config *c)
{
    if (c->L < 1 || c->L > MP_MAXL || c->R < 0 || c->R > MP_NTERMS)
        return NULL;
    for (int l = 0; l <= c->L; l++)
        if (c->n[l] == 0)
            return NULL;
    for (int k = 0; k < c->R; k++)
        if (c->term[k] < 0 || c->term[k] >= MP_NTERMS)
            return NULL;
    if (c->chemical && (c->nchem < 1 || c->nchem > MP_MAXCHEM || !(c->tau_min >= 1) ||
                        !(c->tau_max >= c->tau_min) || c->feedback == MP_LEARNED))
        return NULL;
    mp_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->c = *c;
    net->M = mp_nparams(c);
    for (int a = 0; c->chemical && a < c->nchem; a++)
        chem_rates(c, a, &net->yc[a], &net->zc[a]);
    for (int l = 0; l <= c->L; l++)
        net->nmax = c->n[l] > net->nmax ? c->n[l] : net->nmax;
    for (int k = 0; k < c->R; k++) {
        net->need_e0 |= terms[c->term[k]].pre == V_E;
        net->need_oja |= terms[c->term[k]].pre == V_OJA;
    }
    bool learned = c->feedback == MP_LEARNED;
    net->need_e0 |= learned; /* G1 at layer 1 */
    size_t R = c->tangents ? (size_t)net->M : 0, nm = net->nmax, m = 2 * (size_t)c->R + 1;
    m = m < 5 ? 5 : m; /* rows of the feedback update's tangent */
    size_t C = c->chemical ? (size_t)c->nchem : 0;
    bool ok = true;
    for (int l = 0; l <= c->L; l++) {
        size_t n = c->n[l];
        if (l > 0) {
            ok &= !!(net->W[l] = calloc(wsize(c, l), sizeof(double)));
            ok &= !!(net->B[l] = calloc(wsize(c, l), sizeof(double)));
            ok &= !!(net->T[l] = calloc(R * wsize(c, l) + 1, sizeof(double)));
            ok &= !!(net->H[l] = calloc(C * wsize(c, l) + 1, sizeof(double)));
            ok &= !!(net->DH[l] = calloc(R * C * wsize(c, l) + 1, sizeof(double)));
            ok &= !!(net->S[l] = calloc((learned ? R : 0) * wsize(c, l) + 1, sizeof(double)));
        }
        ok &= !!(net->a[l] = calloc(n, sizeof(double)));
        ok &= !!(net->y[l] = calloc(n, sizeof(double)));
        ok &= !!(net->s[l] = calloc(n, sizeof(double)));
        ok &= !!(net->e[l] = calloc(n, sizeof(double)));
        ok &= !!(net->ebp[l] = calloc(n, sizeof(double)));
        ok &= !!(net->da[l] = calloc(R * n + 1, sizeof(double)));
        ok &= !!(net->dy[l] = calloc(R * n + 1, sizeof(double)));
        ok &= !!(net->de[l] = calloc(R * n + 1, sizeof(double)));
    }
    ok &= !!(net->ones = malloc(nm * sizeof(double)));
    ok &= !!(net->oja = calloc(nm, sizeof(double)));
    ok &= !!(net->doja = calloc(R * nm + 1, sizeof(double)));
    ok &= !!(net->dg = calloc(R * nm + 1, sizeof(double)));
    ok &= !!(net->U = calloc(m * nm, sizeof(double)));
    ok &= !!(net->V = calloc(m * nm, sizeof(double)));
    /* chem_update's scratch (chemical only) */
    size_t ncw = C ? ((size_t)c->R + 2 * C + (c->R + C) * R) * nm : 0;
    ok &= !!(net->cw = calloc(ncw + 1, sizeof(double)));
    if (!ok) {
        mp_net_free(net);
        return NULL;
    }
    for (size_t i = 0; i < nm; i++)
        net->ones[i] = 1.0;
    return net;
}

const mp_config *mp_net_config(const mp_net *net)
{
    return &net->c;
}

double *mp_net_weights(mp_net *net, int l)
{
    return l >= 1 && l <= net->c.L ? net->W[l] : NULL;
}

double *mp_net_feedback(mp_net *net, int l)
{
    return l >= 1 && l <= net->c.L ? net->B[l] : NULL;
}

void mp_net_init(mp_net *net, gsl_rng *r, const double *theta)
{
    const mp_config *c = &net->c;
    for (int l = 1; l <= c->L; l++) {
        double lim = sqrt(6.0 / (double)(c->n[l] + c->n[l - 1]));
        for (size_t i = 0; i < wsize(c, l); i++)
            net->W[l][i] = lim * (2.0 * gsl_rng_uniform(r) - 1.0);
        for (size_t i = 0; i < wsize(c, l); i++)
            net->B[l][i] = lim * (2.0 * gsl_rng_uniform(r) - 1.0);
    }
    mp_net_restart(net, theta);
}

/* Offsets of the chemical meta-parameters in theta. */
typedef struct {
    int P, K, v, b;
} mp_chem_layout;

static mp_chem_layout chem_layout(const mp_config *c)
{
    int C = c->nchem, R = c->R;
    return (mp_chem_layout){.P = 0, .K = C * R, .v = C * R + C * C, .b = C * R + C * C + C};
    /* b: C per layer, layer 1 first */
}

void mp_net_restart(mp_net *net, const double *theta)
{
    const mp_config *c = &net->c;
    for (int l = 1; l <= c->L; l++) {
        size_t sz = wsize(c, l);
        if (c->tangents)
            memset(net->T[l], 0, (size_t)net->M * sz * sizeof(double));
        if (c->tangents && c->feedback == MP_LEARNED)
            memset(net->S[l], 0, (size_t)net->M * sz * sizeof(double));
        if (!c->chemical)
            continue;
        /* every chemical at W0; w = (sum v) W0, dw/dv_a = h_a = W0 */
        int C = c->nchem;
        mp_chem_layout lay = chem_layout(c);
        double sv = 0;
        for (int a = 0; a < C; a++)
            sv += theta[lay.v + a];
        size_t n0 = c->n[l - 1];
        for (size_t i = 0; i < sz; i++) {
            for (int a = 0; a < C; a++) /* row i / n0, chemical a, column i % n0 */
                net->H[l][(i / n0 * C + a) * n0 + i % n0] = net->W[l][i];
            for (int a = 0; c->tangents && a < C; a++)
                net->T[l][(size_t)(lay.v + a) * sz + i] = net->W[l][i];
            net->W[l][i] *= sv;
        }
        if (c->tangents)
            memset(net->DH[l], 0, (size_t)net->M * C * sz * sizeof(double));
    }
}

int mp_nparams(const mp_config *c)
{
    int C = c->nchem;
    return c->chemical ? C * c->R + C * C + C + C * c->L
                       : c->R + (c->feedback == MP_LEARNED ? MP_NFB : 0);
}

void mp_chem_start(const mp_config *c, double theta0, double *theta)
{
    int C = c->nchem;
    mp_chem_layout lay = chem_layout(c);
    memset(theta, 0, (size_t)mp_nparams(c) * sizeof *theta);
    theta[lay.P] = theta0 * C; /* chemical 0, term F0: w' = w + theta0 F0 to first order */
    for (int a = 0; a < C; a++)
        theta[lay.v + a] = 1.0 / C;
}

void mp_chem_effective(const mp_config *c, const double *theta, double *eff)
{
    int C = c->nchem, R = c->R;
    mp_chem_layout lay = chem_layout(c);
    for (int k = 0; k < R; k++) {
        eff[k] = 0;
        for (int a = 0; a < C; a++) {
            double y, z;
            chem_rates(c, a, &y, &z);
            eff[k] += theta[lay.v + a] * z * theta[lay.P + a * R + k];
        }
    }
}

/* ---- forward ---- */

/* a, y, s (= phi') of every layer for input x; with tangents da, dy. */
static void forward(mp_net *net, const double *x)
{
    const mp_config *c = &net->c;
    int L = c->L, R = net->M; /* R: tangents here */
    bool tg = c->tangents && R > 0;
    memcpy(net->y[0], x, c->n[0] * sizeof *x);
    for (int l = 1; l <= L; l++) {
        int n = (int)c->n[l], n0 = (int)c->n[l - 1];
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, n0, 1.0, net->W[l], n0, net->y[l - 1], 1,
                    0.0, net->a[l], 1);
        if (tg) {
            /* da^q = T^q y_(l-1) + W dy_(l-1)^q; dy_0 = 0 */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, R * n, n0, 1.0, net->T[l], n0,
                        net->y[l - 1], 1, 0.0, net->da[l], 1);
            if (l > 1)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, n, n0, 1.0, net->dy[l - 1],
                            n0, net->W[l], n0, 1.0, net->da[l], n);
        }
        double *a = net->a[l], *y = net->y[l], *s = net->s[l];
        if (l < L) {
            double b = c->beta;
            for (int i = 0; i < n; i++) {
                double z = b * a[i];
                y[i] = z > 30 ? a[i] : log1p(exp(z)) / b;
                s[i] = 1.0 / (1.0 + exp(-z));
            }
            for (int q = 0; tg && q < R; q++)
                for (int i = 0; i < n; i++)
                    net->dy[l][q * n + i] = s[i] * net->da[l][q * n + i];
        } else {
            double mx = a[0], sum = 0;
            for (int i = 1; i < n; i++)
                mx = a[i] > mx ? a[i] : mx;
            for (int i = 0; i < n; i++)
                sum += (y[i] = exp(a[i] - mx));
            for (int i = 0; i < n; i++)
                y[i] /= sum;
            /* dp = (diag p - p p^T) da */
            for (int q = 0; tg && q < R; q++) {
                const double *dq = net->da[l] + q * n;
                double pd = 0;
                for (int i = 0; i < n; i++)
                    pd += y[i] * dq[i];
                for (int i = 0; i < n; i++)
                    net->dy[l][q * n + i] = y[i] * (dq[i] - pd);
            }
        }
    }
}

/* ---- backward (teaching signals) ---- */

static double angle_deg(const double *u, const double *v, size_t n)
{
    double uu = cblas_ddot((int)n, u, 1, u, 1), vv = cblas_ddot((int)n, v, 1, v, 1);
    if (uu <= 0 || vv <= 0)
        return 90.0;
    double cs = cblas_ddot((int)n, u, 1, v, 1) / sqrt(uu * vv);
    return acos(cs > 1 ? 1 : cs < -1 ? -1 : cs) * 180.0 / M_PI;
}

/* e_l (and de_l) from the output down, through B (FA, learned) or W (BP). */
static void backward(mp_net *net, int y, double *angle_sum)
{
    const mp_config *c = &net->c;
    int L = c->L, R = net->M; /* R: tangents here */
    bool tg = c->tangents && R > 0;
    int nL = (int)c->n[L];
    for (int i = 0; i < nL; i++)
        net->e[L][i] = net->y[L][i] - (i == y);
    if (tg)
        memcpy(net->de[L], net->dy[L], (size_t)R * nL * sizeof(double));
    for (int l = L; l >= 1; l--) {
        if (l == 1 && !net->need_e0)
            break;
        int n = (int)c->n[l], n0 = (int)c->n[l - 1];
        const double *Bl = c->feedback == MP_BP ? net->W[l] : net->B[l];
        /* B's tangents: T for BP, where B = W moves with theta; S for learned */
        const double *Sl = c->feedback == MP_BP        ? net->T[l]
                           : c->feedback == MP_LEARNED ? net->S[l]
                                                       : NULL;
        double *g = net->e[l - 1]; /* B^T e, then times phi' */
        cblas_dgemv(CblasRowMajor, CblasTrans, n, n0, 1.0, Bl, n0, net->e[l], 1, 0.0, g, 1);
        if (tg) {
            /* dg^q = B^T de^q (+ dB^q^T e when B moves with theta) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, n0, n, 1.0, net->de[l], n,
                        Bl, n0, 0.0, net->dg, n0);
            if (Sl)
                for (int q = 0; q < R; q++)
                    cblas_dgemv(CblasRowMajor, CblasTrans, n, n0, 1.0,
                                Sl + (size_t)q * n * n0, n0, net->e[l], 1, 1.0,
                                net->dg + (size_t)q * n0, 1);
        }
        if (l == 1) { /* inputs are linear: e_0 = B^T e_1 */
            if (tg)
                memcpy(net->de[0], net->dg, (size_t)R * n0 * sizeof(double));
            break;
        }
        const double *s = net->s[l - 1], *da = net->da[l - 1];
        double b = c->beta;
        /* de = dg * s + g * phi''(a) da, phi'' = beta s (1 - s); g still unscaled here */
        for (int q = 0; tg && q < R; q++)
            for (int i = 0; i < n0; i++)
                net->de[l - 1][q * n0 + i] = net->dg[q * n0 + i] * s[i] +
                                             g[i] * b * s[i] * (1 - s[i]) * da[q * n0 + i];
        for (int i = 0; i < n0; i++)
            g[i] *= s[i];
    }
    if (!angle_sum || !c->angles)
        return;
    /* backprop's signals for the same forward pass, and their angle to e_l */
    memcpy(net->ebp[L], net->e[L], (size_t)nL * sizeof(double));
    for (int l = L; l >= 2; l--) {
        int n = (int)c->n[l], n0 = (int)c->n[l - 1];
        cblas_dgemv(CblasRowMajor, CblasTrans, n, n0, 1.0, net->W[l], n0, net->ebp[l], 1, 0.0,
                    net->ebp[l - 1], 1);
        for (int i = 0; i < n0; i++)
            net->ebp[l - 1][i] *= net->s[l - 1][i];
        angle_sum[l - 1] += angle_deg(net->e[l - 1], net->ebp[l - 1], (size_t)n0);
    }
}

/* ---- the plastic update ---- */

static const double *vec_post(const mp_net *net, mp_vec v, int l)
{
    return v == V_E ? net->e[l] : v == V_Y ? net->y[l] : net->ones;
}

static const double *vec_pre(const mp_net *net, mp_vec v, int l)
{
    return v == V_E ? net->e[l - 1] : v == V_Y ? net->y[l - 1] : v == V_OJA ? net->oja : net->ones;
}

/* Tangent q of a factor; NULL when it is zero (constants, and dy_0). */
static const double *dvec_post(const mp_net *net, mp_vec v, int l, int q)
{
    size_t n = net->c.n[l];
    return v == V_E ? net->de[l] + q * n : v == V_Y ? net->dy[l] + q * n : NULL;
}

static const double *dvec_pre(const mp_net *net, mp_vec v, int l, int q)
{
    size_t n = net->c.n[l - 1];
    if (v == V_E)
        return net->de[l - 1] + q * n;
    if (v == V_Y)
        return l > 1 ? net->dy[l - 1] + q * n : NULL;
    return v == V_OJA ? net->doja + q * n : NULL;
}

/* Oja's presynaptic factor y_(l-1) - W^T y_l and its tangents
 * dy_(l-1) - T^T y_l - W^T dy_l. */
static void oja_factor(mp_net *net, int l)
{
    const mp_config *c = &net->c;
    int n = (int)c->n[l], n0 = (int)c->n[l - 1], R = net->M;
    cblas_dgemv(CblasRowMajor, CblasTrans, n, n0, -1.0, net->W[l], n0, net->y[l], 1, 0.0,
                net->oja, 1);
    cblas_daxpy(n0, 1.0, net->y[l - 1], 1, net->oja, 1);
    if (!c->tangents || R == 0)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, n0, n, -1.0, net->dy[l], n,
                net->W[l], n0, 0.0, net->doja, n0);
    for (int q = 0; q < R; q++) {
        double *d = net->doja + (size_t)q * n0;
        cblas_dgemv(CblasRowMajor, CblasTrans, n, n0, -1.0, net->T[l] + (size_t)q * n * n0, n0,
                    net->y[l], 1, 1.0, d, 1);
        if (l > 1)
            cblas_daxpy(n0, 1.0, net->dy[l - 1] + (size_t)q * n0, 1, d, 1);
    }
}

/* Appends row pair (a u, v) to U, V (m rows so far). */
static void push(mp_net *net, int *m, double a, const double *u, size_t n, const double *v,
                 size_t n0)
{
    double *ur = net->U + (size_t)*m * n, *vr = net->V + (size_t)*m * n0;
    for (size_t i = 0; i < n; i++)
        ur[i] = a * u[i];
    memcpy(vr, v, n0 * sizeof *v);
    ++*m;
}

/* M += U^T V over the m rows pushed (rows of U have n entries, of V n0). */
static void apply(mp_net *net, int m, double *M, size_t n, size_t n0)
{
    if (m > 0)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)n0, m, 1.0, net->U,
                    (int)n, net->V, (int)n0, 1.0, M, (int)n0);
}

/* Learned feedback: B_l += sum_j phi_j G_j and, for every q,
 * S_l^q = (1 - phi_2) S_l^q - [q = G2] B_l + [q = G0] G0 + [q = G1] G1
 *         - phi_0 (de_l^q y_(l-1)^T + e_l dy_(l-1)^q^T)
 *         - phi_1 (de_l^q e_(l-1)^T + e_l de_(l-1)^q^T),
 * from the vectors before the update, like W's. */
static void feedback_update(mp_net *net, const double *phi, int l)
{
    const mp_config *c = &net->c;
    size_t n = c->n[l], n0 = c->n[l - 1], sz = n * n0;
    const double *e = net->e[l], *y0 = net->y[l - 1], *e0 = net->e[l - 1];
    int R = c->R;
    for (int q = 0; c->tangents && q < net->M; q++) {
        double *S = net->S[l] + (size_t)q * sz;
        const double *de = net->de[l] + (size_t)q * n, *de0 = net->de[l - 1] + (size_t)q * n0;
        int m = 0;
        if (phi[2] != 0)
            cblas_dscal((int)sz, 1 - phi[2], S, 1);
        if (q == R + 0)
            push(net, &m, -(1 + c->fault), e, n, y0, n0);
        if (q == R + 1)
            push(net, &m, -1, e, n, e0, n0);
        if (phi[0] != 0) {
            push(net, &m, -phi[0], de, n, y0, n0);
            if (l > 1)
                push(net, &m, -phi[0], e, n, net->dy[l - 1] + (size_t)q * n0, n0);
        }
        if (phi[1] != 0) {
            push(net, &m, -phi[1], de, n, e0, n0);
            push(net, &m, -phi[1], e, n, de0, n0);
        }
        apply(net, m, S, n, n0);
        if (q == R + 2)
            cblas_daxpy((int)sz, -1.0, net->B[l], 1, S, 1);
    }
    int m = 0;
    if (phi[2] != 0)
        cblas_dscal((int)sz, 1 - phi[2], net->B[l], 1);
    if (phi[0] != 0)
        push(net, &m, -phi[0], e, n, y0, n0);
    if (phi[1] != 0)
        push(net, &m, -phi[1], e, n, e0, n0);
    apply(net, m, net->B[l], n, n0);
}

/* W_l += sum_k theta_k c_k u_k v_k^T and, for every q,
 * T_l^q += [q < R] c_q u_q v_q^T + sum_k theta_k c_k (du_k^q v_k^T + u_k dv_k^q^T):
 * each one dgemm whose inner dimension is the number of terms. The vectors
 * are those of the state before the update, as the update itself uses.
 * Learned feedback: q runs over phi too (W's rule has no direct term in
 * phi), and B_l changes after W_l. */
static void update(mp_net *net, const double *theta)
{
    const mp_config *c = &net->c;
    int R = c->R;
    for (int l = 1; l <= c->L; l++) {
        size_t n = c->n[l], n0 = c->n[l - 1];
        if (net->need_oja)
            oja_factor(net, l);
        /* the tangents first: they read nothing the W update writes, and
         * this keeps the U/V rows of W's update for last */
        for (int q = 0; c->tangents && q < net->M; q++) {
            int m = 0, kq = q < R ? c->term[q] : -1;
            if (kq >= 0)
                push(net, &m, terms[kq].c, vec_post(net, terms[kq].post, l), n,
                     vec_pre(net, terms[kq].pre, l), n0);
            for (int k = 0; k < R; k++) {
                int t = c->term[k];
                double a = theta[k] * terms[t].c;
                if (a == 0)
                    continue;
                const double *du = dvec_post(net, terms[t].post, l, q);
                const double *dv = dvec_pre(net, terms[t].pre, l, q);
                if (du)
                    push(net, &m, a, du, n, vec_pre(net, terms[t].pre, l), n0);
                if (dv)
                    push(net, &m, a, vec_post(net, terms[t].post, l), n, dv, n0);
            }
            apply(net, m, net->T[l] + (size_t)q * n * n0, n, n0);
        }
        int m = 0;
        for (int k = 0; k < R; k++) {
            int t = c->term[k];
            if (theta[k] != 0)
                push(net, &m, theta[k] * terms[t].c, vec_post(net, terms[t].post, l), n,
                     vec_pre(net, terms[t].pre, l), n0);
        }
        apply(net, m, net->W[l], n, n0);
        if (c->feedback == MP_LEARNED)
            feedback_update(net, theta + R, l);
    }
}

/* Chemical synapses: h' = y h + z tanh(K h + P F + b), w = v . h, and the
 * tangents of h and w for every meta-parameter m:
 *   dh'^m = y dh^m + z tanh'(s) (K dh^m + P dF^m + ds/dm|direct),
 *   dw^m = v . dh'^m (+ h'_a when m is v_a),
 * with dF^m from the tangents of the terms' vectors. Row by row of W, with
 * every quantity a vector over the row's n_(l-1) synapses: H keeps, per
 * row, chemical a's values contiguous (C x n_(l-1)) and DH, per row,
 * chemical a's tangents for every m (C x M x n_(l-1)), so that K dh and
 * P dF for all M tangents at once are two dgemm calls of C rows and
 * M n_(l-1) columns (inner dimension C and R), dF^k is one scaled copy and
 * one dger, and the direct terms are a few vectors added per row. */
static void chem_update(mp_net *net, const double *th)
{
    const mp_config *c = &net->c;
    int C = c->nchem, R = c->R, M = net->M;
    bool tg = c->tangents;
    mp_chem_layout lay = chem_layout(c);
    const double *P = th + lay.P, *K = th + lay.K, *v = th + lay.v;
    for (int l = 1; l <= c->L; l++) {
        size_t n = c->n[l], n0 = c->n[l - 1], sz = n * n0, mn = (size_t)M * n0;
        const double *bb = th + lay.b + (l - 1) * C;
        int mb = lay.b + (l - 1) * C; /* this layer's b in theta */
        if (net->need_oja)
            oja_factor(net, l);
        const double *u[MP_NTERMS], *pv[MP_NTERMS], *du[MP_NTERMS], *dv[MP_NTERMS];
        double ck[MP_NTERMS];
        for (int k = 0; k < R; k++) {
            int t = c->term[k];
            u[k] = vec_post(net, terms[t].post, l), pv[k] = vec_pre(net, terms[t].pre, l);
            ck[k] = terms[t].c;
            /* tangent 0 of a factor; tangent m is m (n_l or n_(l-1)) further on */
            du[k] = tg ? dvec_post(net, terms[t].post, l, 0) : NULL;
            dv[k] = tg ? dvec_pre(net, terms[t].pre, l, 0) : NULL;
        }
        /* scratch: F (R x n0), tanh' (C x n0), h' (C x n0), dF (R x M n0), ds (C x M n0) */
        double *F = net->cw, *gp = F + R * n0, *hn = gp + C * n0, *dF = hn + C * n0,
               *ds = dF + R * mn;
        for (size_t i = 0; i < n; i++) {
            double *h = net->H[l] + i * C * n0, *w = net->W[l] + i * n0;
            for (int k = 0; k < R; k++) {
                double a = ck[k] * u[k][i];
                for (size_t j = 0; j < n0; j++)
                    F[k * n0 + j] = a * pv[k][j];
            }
            for (int a = 0; a < C; a++) {
                double *sa = gp + a * n0; /* s, then tanh'(s) */
                for (size_t j = 0; j < n0; j++)
                    sa[j] = bb[a];
                for (int b = 0; b < C; b++)
                    for (size_t j = 0; j < n0; j++)
                        sa[j] += K[a * C + b] * h[b * n0 + j];
                for (int k = 0; k < R; k++)
                    for (size_t j = 0; j < n0; j++)
                        sa[j] += P[a * R + k] * F[k * n0 + j];
                double ya = net->yc[a], za = net->zc[a];
                for (size_t j = 0; j < n0; j++) {
                    double g = tanh(sa[j]);
                    hn[a * n0 + j] = ya * h[a * n0 + j] + za * g;
                    sa[j] = 1 - g * g;
                }
            }
            if (tg) {
                double *dh = net->DH[l] + i * C * mn;
                /* dF^k,m = c_k (du_k^m[i] pv_k + u_k[i] dv_k^m) */
                for (int k = 0; k < R; k++) {
                    double *d = dF + k * mn, b = ck[k] * u[k][i];
                    if (dv[k])
                        for (size_t j = 0; j < mn; j++)
                            d[j] = b * dv[k][j];
                    else
                        memset(d, 0, mn * sizeof *d);
                    if (du[k])
                        cblas_dger(CblasRowMajor, M, (int)n0, ck[k], du[k] + i, (int)n, pv[k], 1,
                                   d, (int)n0);
                }
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, (int)mn, C, 1.0, K, C,
                            dh, (int)mn, 0.0, ds, (int)mn);
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, (int)mn, R, 1.0, P, R,
                            dF, (int)mn, 1.0, ds, (int)mn);
                /* the direct terms: P_a,k adds F_k, K_a,b the old h_b, b_a 1, to ds_a^m */
                for (int a = 0; a < C; a++) {
                    double *d = ds + a * mn;
                    for (int k = 0; k < R; k++)
                        cblas_daxpy((int)n0, 1.0, F + k * n0, 1,
                                    d + (size_t)(lay.P + a * R + k) * n0, 1);
                    for (int b = 0; b < C; b++)
                        cblas_daxpy((int)n0, 1.0, h + b * n0, 1,
                                    d + (size_t)(lay.K + a * C + b) * n0, 1);
                    for (size_t j = 0; j < n0; j++)
                        d[(size_t)(mb + a) * n0 + j] += 1.0;
                }
                /* dh' = y dh + z tanh'(s) ds, chemical by chemical over every m */
                for (int a = 0; a < C; a++) {
                    double ya = net->yc[a], za = net->zc[a];
                    double *dha = dh + a * mn;
                    const double *dsa = ds + a * mn, *gpa = gp + a * n0;
                    for (int m = 0; m < M; m++)
                        for (size_t j = 0; j < n0; j++)
                            dha[m * n0 + j] = ya * dha[m * n0 + j] + za * gpa[j] * dsa[m * n0 + j];
                }
                /* dw^m = v . dh'^m, plus h'_a for m = v_a */
                for (int m = 0; m < M; m++) {
                    double *dw = net->T[l] + m * sz + i * n0;
                    bool isv = m >= lay.v && m < lay.v + C;
                    for (size_t j = 0; j < n0; j++)
                        dw[j] = isv ? hn[(m - lay.v) * n0 + j] : 0.0;
                    for (int a = 0; a < C; a++)
                        cblas_daxpy((int)n0, v[a], dh + a * mn + m * n0, 1, dw, 1);
                }
            }
            for (size_t j = 0; j < n0; j++)
                w[j] = 0;
            for (int a = 0; a < C; a++)
                for (size_t j = 0; j < n0; j++)
                    w[j] += v[a] * (h[a * n0 + j] = hn[a * n0 + j]);
        }
    }
}

void mp_net_learn(mp_net *net, const double *theta, const double *x, int y, double *angle_sum)
{
    forward(net, x);
    backward(net, y, angle_sum);
    if (net->c.chemical)
        chem_update(net, theta);
    else
        update(net, theta);
}

void mp_net_query(mp_net *net, const double *x, const int *y, size_t nq, mp_result *out)
{
    const mp_config *c = &net->c;
    int L = c->L, R = net->M, nL = (int)c->n[L];
    double loss = 0;
    size_t right = 0;
    for (int q = 0; q < MP_MAXPARAM; q++)
        out->grad[q] = 0;
    for (size_t j = 0; j < nq; j++) {
        forward(net, x + j * c->n[0]);
        const double *p = net->y[L];
        int best = 0;
        for (int i = 1; i < nL; i++)
            best = p[i] > p[best] ? i : best;
        right += best == y[j];
        loss -= log(p[y[j]] > 1e-300 ? p[y[j]] : 1e-300);
        /* dCE/da_L = p - onehot */
        for (int q = 0; c->tangents && q < R; q++) {
            const double *da = net->da[L] + (size_t)q * nL;
            double g = 0;
            for (int i = 0; i < nL; i++)
                g += (p[i] - (i == y[j])) * da[i];
            out->grad[q] += g;
        }
    }
    double inv = nq ? 1.0 / (double)nq : 0.0;
    out->loss = loss * inv;
    out->acc = (double)right * inv;
    for (int q = 0; q < R; q++)
        out->grad[q] *= inv;
}

void mp_episode(mp_net *net, const double *theta, const double *xtr, const int *ytr, size_t ntr,
                const double *xq, const int *yq, size_t nq, mp_result *out)
{
    const mp_config *c = &net->c;
    double asum[MP_MAXL] = {0};
    for (size_t j = 0; j < ntr; j++)
        mp_net_learn(net, theta, xtr + j * c->n[0], ytr[j], asum);
    mp_net_query(net, xq, yq, nq, out);
    for (int l = 0; l < MP_MAXL; l++)
        out->angle[l] = c->angles && ntr && l >= 1 && l < c->L ? asum[l] / (double)ntr : 0.0;
}

double mp_flops_update(const mp_config *c, bool tangents)
{
    double w = 0, R = c->R;
    for (int l = 1; l <= c->L; l++)
        w += (double)wsize(c, l);
    if (c->chemical) { /* per synapse: terms, C (C + R) for s, and per tangent about as much */
        double C = c->nchem, M = mp_nparams(c), per = 2 * R + 2 * C * (C + R) + 20 * C;
        return 4 * w + w * per + (tangents ? w * M * (4 * R + 2 * C * (C + R) + 6 * C) +
                                                 2 * M * w * 3 : 0);
    }
    /* forward, backward, R rank-one terms (learned feedback: B's two and its decay) */
    bool learned = c->feedback == MP_LEARNED;
    double base = 2 * w + 2 * w + 2 * R * w + (learned ? 5 * w : 0);
    if (!tangents)
        return base;
    /* M tangents: T y, dy W^T, B^T de (+ dB^T e for BP and learned), Oja's two,
     * and per q a dgemm of inner dimension up to 2R + 1 (learned: and B's,
     * inner dimension up to 5, with its scaling) */
    double M = mp_nparams(c);
    return base + 2 * M * w * (3 + (c->feedback != MP_FA) + 2) + 2 * M * (2 * R + 1) * w +
           (learned ? 11 * M * w : 0);
}

/* fd_model.c: the folded autoencoder's network (folded.h states the
 * equations), its feed-forward passes, the backprop autoencoder on the same
 * weights, PCA and the linear readout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "folded.h"

/* ---- allocation ---- */

static gsl_vector *vec(size_t n, bool *ok)
{
    gsl_vector *v = gsl_vector_calloc(n);
    *ok = *ok && v;
    return v;
}

static gsl_matrix *mat(size_t r, size_t c, bool *ok)
{
    gsl_matrix *m = gsl_matrix_calloc(r, c);
    *ok = *ok && m;
    return m;
}

fd_net *fd_net_alloc(const fd_config *c, const size_t *n, int L)
{
    if (L < 1 || L >= FD_MAX_LAYERS)
        return NULL;
    for (int i = 0; i <= L; i++)
        if (n[i] == 0)
            return NULL;
    fd_net *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->c = *c;
    net->L = L;
    bool ok = true;
    for (int i = 0; i <= L; i++) {
        net->n[i] = n[i];
        net->u[i] = vec(n[i], &ok), net->du[i] = vec(n[i], &ok), net->ub[i] = vec(n[i], &ok);
        net->u0[i] = vec(n[i], &ok);
        net->r[i] = vec(n[i], &ok), net->rp[i] = vec(n[i], &ok);
        net->mW[i] = vec(n[i], &ok), net->mG[i] = vec(n[i], &ok);
        net->rhs[i] = vec(n[i], &ok), net->tmp[i] = vec(n[i], &ok);
        net->ea[i] = vec(n[i], &ok), net->eh[i] = vec(n[i], &ok);
        net->da[i] = vec(n[i], &ok), net->dh[i] = vec(n[i], &ok);
        net->dl[i] = vec(n[i], &ok);
        if (i >= 1)
            net->W[i] = mat(n[i], n[i - 1], &ok);
        if (i <= L - 1)
            net->G[i] = mat(n[i], n[i + 1], &ok);
    }
    net->xhat = vec(n[0], &ok);
    if (!ok) {
        fd_net_free(net);
        return NULL;
    }
    return net;
}

void fd_net_free(fd_net *net)
{
    if (!net)
        return;
    gsl_vector **vs[] = {net->u, net->u0, net->du, net->ub, net->r, net->rp, net->mW, net->mG,
                         net->rhs, net->tmp, net->ea, net->eh, net->da, net->dh, net->dl};
    for (int i = 0; i < FD_MAX_LAYERS; i++) {
        for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++)
            if (vs[k][i])
                gsl_vector_free(vs[k][i]);
        if (net->W[i])
            gsl_matrix_free(net->W[i]);
        if (net->G[i])
            gsl_matrix_free(net->G[i]);
    }
    if (net->xhat)
        gsl_vector_free(net->xhat);
    free(net);
}

static void fill_uniform(gsl_matrix *m, gsl_rng *rng, double w)
{
    double s = w / sqrt((double)m->size2);
    for (size_t i = 0; i < m->size1; i++)
        for (size_t j = 0; j < m->size2; j++)
            gsl_matrix_set(m, i, j, s * (2.0 * gsl_rng_uniform(rng) - 1.0));
}

void fd_net_init_random(fd_net *net, gsl_rng *rng, double w)
{
    for (int i = 1; i <= net->L; i++)
        fill_uniform(net->W[i], rng, w);
    for (int i = 0; i < net->L; i++)
        fill_uniform(net->G[i], rng, w);
}

void fd_net_copy_weights(fd_net *dst, const fd_net *src)
{
    for (int i = 1; i <= src->L; i++)
        gsl_matrix_memcpy(dst->W[i], src->W[i]);
    for (int i = 0; i < src->L; i++)
        gsl_matrix_memcpy(dst->G[i], src->G[i]);
}

/* ---- energy and dynamics ---- */

double fd_coef_a(const fd_net *net, int i)
{
    if (i < 1 || i > net->L)
        return 0.0;
    return i == net->L ? 1.0 : net->c.lambda;
}

double fd_coef_b(const fd_net *net, int i)
{
    if (i < 0 || i >= net->L)
        return 0.0;
    return i == 0 ? 1.0 : 1.0 - net->c.lambda;
}

/* Rates and slopes from ub, the visible layer clamped to x. */
static void rates(fd_net *net, const double *x)
{
    for (size_t j = 0; j < net->n[0]; j++) {
        gsl_vector_set(net->ub[0], j, x[j]);
        gsl_vector_set(net->r[0], j, x[j]);
    }
    for (int i = 1; i <= net->L; i++)
        for (size_t j = 0; j < net->n[i]; j++) {
            double v = gsl_vector_get(net->ub[i], j);
            gsl_vector_set(net->r[i], j, mc_phi_eval(&net->c.phi, v));
            gsl_vector_set(net->rp[i], j, mc_phi_deriv(&net->c.phi, v));
        }
}

/* Mismatches mW_i = ub_i - W_i r_(i-1), mG_i = ub_i - G_i r_(i+1). */
static void mismatches(fd_net *net)
{
    for (int i = 0; i <= net->L; i++) {
        if (i >= 1) {
            gsl_vector_memcpy(net->mW[i], net->ub[i]);
            gsl_blas_dgemv(CblasNoTrans, -1.0, net->W[i], net->r[i - 1], 1.0, net->mW[i]);
        }
        if (i < net->L) {
            gsl_vector_memcpy(net->mG[i], net->ub[i]);
            gsl_blas_dgemv(CblasNoTrans, -1.0, net->G[i], net->r[i + 1], 1.0, net->mG[i]);
        }
    }
}

/* E from the mismatches as they stand. */
static double energy_of_mismatches(const fd_net *net)
{
    double e = 0.0, s;
    for (int i = 0; i <= net->L; i++) {
        if (i >= 1) {
            gsl_blas_ddot(net->mW[i], net->mW[i], &s);
            e += 0.5 * fd_coef_a(net, i) * s;
        }
        if (i < net->L) {
            gsl_blas_ddot(net->mG[i], net->mG[i], &s);
            e += 0.5 * fd_coef_b(net, i) * s;
        }
    }
    return e;
}

double fd_energy(fd_net *net, const double *x)
{
    for (int i = 1; i <= net->L; i++)
        gsl_vector_memcpy(net->ub[i], net->u[i]);
    rates(net, x);
    mismatches(net);
    return energy_of_mismatches(net);
}

/* rhs_i = a_i W_i r_(i-1) + b_i G_i r_(i+1) + a_(i+1) e^W_i + b_(i-1) e^G_i
 * over a_i + b_i (= 1 for every free layer), from ub as it stands. */
static void rhs_from_ub(fd_net *net, const double *x)
{
    rates(net, x);
    mismatches(net);
    for (int i = 1; i <= net->L; i++) {
        gsl_vector *h = net->rhs[i], *t = net->tmp[i];
        double a = fd_coef_a(net, i), b = fd_coef_b(net, i);
        gsl_vector_set_zero(h);
        /* a (ub - mW) = a W r below; b (ub - mG) = b G r above */
        gsl_blas_daxpy(a, net->ub[i], h);
        gsl_blas_daxpy(-a, net->mW[i], h);
        if (i < net->L) {
            gsl_blas_daxpy(b, net->ub[i], h);
            gsl_blas_daxpy(-b, net->mG[i], h);
        }
        gsl_vector_set_zero(t);
        if (i < net->L) /* error from above: W_(i+1)^T mW_(i+1) */
            gsl_blas_dgemv(CblasTrans, fd_coef_a(net, i + 1), net->W[i + 1], net->mW[i + 1],
                           1.0, t);
        /* error from below: G_(i-1)^T mG_(i-1) */
        gsl_blas_dgemv(CblasTrans, fd_coef_b(net, i - 1), net->G[i - 1], net->mG[i - 1], 1.0, t);
        gsl_vector_mul(t, net->rp[i]);
        gsl_vector_add(h, t);
        gsl_vector_scale(h, 1.0 / (a + b));
    }
}

void fd_rhs(fd_net *net, const double *x)
{
    for (int i = 1; i <= net->L; i++)
        gsl_vector_memcpy(net->ub[i], net->u[i]);
    rhs_from_ub(net, x);
}

double fd_relax(fd_net *net, const double *x)
{
    const fd_config *c = &net->c;
    for (int i = 1; i <= net->L; i++) {
        gsl_vector_set_zero(net->u[i]);
        gsl_vector_set_zero(net->du[i]);
    }
    double res = 0.0;
    if (c->relax == FD_RELAX_FIXED) {
        /* Start from the two feed-forward pathways mixed as in the soma:
         * u_i = a_i (W path) + b_i (G path from the encoder's latent); the
         * iteration then only has to add the error terms. */
        fd_encode(net, x, NULL);
        fd_decode(net, net->eh[net->L]->data);
        for (int i = 1; i <= net->L; i++) {
            gsl_blas_daxpy(fd_coef_a(net, i), net->ea[i], net->u[i]);
            if (i < net->L)
                gsl_blas_daxpy(fd_coef_b(net, i), net->da[i], net->u[i]);
        }
        /* The step u += w (rhs - u) is a gradient step on E (a_i + b_i = 1:
         * rhs - u = -dE/du). A step that raises E is taken back and halved,
         * so that E falls monotonically and the iteration ends at a
         * stationary point also where a fixed step would oscillate (after
         * learning has grown the weights). du holds the last step's
         * direction, u0 the state it started from. */
        double w = c->damping, e_prev = INFINITY;
        net->iterations = 0;
        for (int it = 0; it < c->max_iter; it++) {
            net->iterations++;
            fd_rhs(net, x);
            double e = energy_of_mismatches(net);
            /* (a rise below rounding of E is no rise: near the fixed point
             * the steps change E by less than its last bits) */
            if (e > e_prev + 1e-12 * (1.0 + fabs(e_prev)) && w > 1e-12) {
                w *= 0.5;
                for (int i = 1; i <= net->L; i++) {
                    gsl_vector_memcpy(net->u[i], net->u0[i]);
                    gsl_blas_daxpy(w, net->du[i], net->u[i]);
                }
                continue;
            }
            e_prev = e;
            res = 0.0;
            for (int i = 1; i <= net->L; i++) {
                gsl_vector_memcpy(net->u0[i], net->u[i]);
                gsl_vector_memcpy(net->du[i], net->rhs[i]);
                gsl_vector_sub(net->du[i], net->u[i]);
                res = fmax(res, fabs(gsl_vector_get(net->du[i], gsl_blas_idamax(net->du[i]))));
            }
            if (res < c->tol)
                break;
            for (int i = 1; i <= net->L; i++)
                gsl_blas_daxpy(w, net->du[i], net->u[i]);
        }
        return res;
    }
    /* Euler on tau du/dt = rhs - u; with prospective rates the voltage the
     * rates see is u + tau du/dt, du/dt from the previous step (it is the
     * input to the step that computes the new one). */
    size_t steps = (size_t)ceil(c->t_pattern / c->dt - 1e-9);
    for (size_t s = 0; s < steps; s++) {
        for (int i = 1; i <= net->L; i++) {
            gsl_vector_memcpy(net->ub[i], net->u[i]);
            if (c->prospective)
                gsl_blas_daxpy(c->tau, net->du[i], net->ub[i]);
        }
        rhs_from_ub(net, x);
        res = 0.0;
        for (int i = 1; i <= net->L; i++) {
            gsl_vector_memcpy(net->du[i], net->rhs[i]);
            gsl_vector_sub(net->du[i], net->u[i]);
            gsl_vector_scale(net->du[i], 1.0 / c->tau);
            res = fmax(res, c->tau * fabs(gsl_vector_get(net->du[i],
                                                         gsl_blas_idamax(net->du[i]))));
            gsl_blas_daxpy(c->dt, net->du[i], net->u[i]);
        }
    }
    return res;
}

void fd_updates(fd_net *net, const double *x, gsl_matrix **dW, gsl_matrix **dG, double sW,
                double sG)
{
    /* At the end of a presentation: rates and mismatches of the voltage the
     * rates use (prospective under Euler with LE, else u). All mismatches
     * are computed before any matrix is touched, so dW and dG may be the
     * weights themselves. */
    for (int i = 1; i <= net->L; i++) {
        gsl_vector_memcpy(net->ub[i], net->u[i]);
        if (net->c.relax == FD_RELAX_EULER && net->c.prospective)
            gsl_blas_daxpy(net->c.tau, net->du[i], net->ub[i]);
    }
    rates(net, x);
    mismatches(net);
    for (int i = 1; i <= net->L; i++)
        if (dW && dW[i])
            gsl_blas_dger(sW, net->mW[i], net->r[i - 1], dW[i]);
    for (int i = 0; i < net->L; i++)
        if (dG && dG[i])
            gsl_blas_dger(sG, net->mG[i], net->r[i + 1], dG[i]);
}

double fd_learn(fd_net *net, const double *x)
{
    double res = fd_relax(net, x);
    fd_updates(net, x, net->W, net->G, net->c.eta_W, net->c.eta_G);
    return res;
}

/* ---- feed-forward passes and backprop ---- */

static void phi_into(const mc_phi *f, const gsl_vector *a, gsl_vector *h)
{
    for (size_t j = 0; j < a->size; j++)
        gsl_vector_set(h, j, mc_phi_eval(f, gsl_vector_get(a, j)));
}

void fd_encode(fd_net *net, const double *x, double *z)
{
    for (size_t j = 0; j < net->n[0]; j++)
        gsl_vector_set(net->eh[0], j, x[j]);
    for (int i = 1; i <= net->L; i++) {
        gsl_blas_dgemv(CblasNoTrans, 1.0, net->W[i], net->eh[i - 1], 0.0, net->ea[i]);
        phi_into(&net->c.phi, net->ea[i], net->eh[i]);
    }
    if (z)
        memcpy(z, net->eh[net->L]->data, net->n[net->L] * sizeof *z);
}

void fd_decode(fd_net *net, const double *z)
{
    int L = net->L;
    for (size_t j = 0; j < net->n[L]; j++)
        gsl_vector_set(net->dh[L], j, z[j]);
    for (int i = L - 1; i >= 1; i--) {
        gsl_blas_dgemv(CblasNoTrans, 1.0, net->G[i], net->dh[i + 1], 0.0, net->da[i]);
        phi_into(&net->c.phi, net->da[i], net->dh[i]);
    }
    /* the visible prediction is linear, as G_0 r_1 in the energy */
    gsl_blas_dgemv(CblasNoTrans, 1.0, net->G[0], net->dh[1], 0.0, net->xhat);
}

static double sq_error(const fd_net *net, const double *x)
{
    double s = 0.0;
    for (size_t j = 0; j < net->n[0]; j++) {
        double d = x[j] - gsl_vector_get(net->xhat, j);
        s += d * d;
    }
    return s;
}

double fd_autoencode(fd_net *net, const double *x)
{
    fd_encode(net, x, NULL);
    fd_decode(net, net->eh[net->L]->data);
    return sq_error(net, x);
}

/* Backward through the decoder after fd_decode: adds the negative
 * gradients of 0.5 |x - xhat|^2 into dG; leaves d cost / d z in dl[L]. */
static void decoder_backward(fd_net *net, const double *x, gsl_matrix **dG, double scale)
{
    int L = net->L;
    gsl_vector *e = net->dl[0]; /* x - xhat: the negative gradient at the output */
    for (size_t j = 0; j < net->n[0]; j++)
        gsl_vector_set(e, j, x[j] - gsl_vector_get(net->xhat, j));
    for (int i = 1; i <= L; i++) {
        /* dl[i] = -d cost / d g_i, through G_(i-1) before it is updated (dG
         * may be the weights themselves) */
        gsl_blas_dgemv(CblasTrans, 1.0, net->G[i - 1], net->dl[i - 1], 0.0, net->dl[i]);
        if (dG && dG[i - 1])
            gsl_blas_dger(scale, net->dl[i - 1], net->dh[i], dG[i - 1]);
        if (i < L) /* through phi of decoder layer i */
            for (size_t j = 0; j < net->n[i]; j++)
                net->dl[i]->data[j] *= mc_phi_deriv(&net->c.phi, gsl_vector_get(net->da[i], j));
    }
}

double fd_backprop(fd_net *net, const double *x, gsl_matrix **dW, gsl_matrix **dG, double scale)
{
    double c = 0.5 * fd_autoencode(net, x);
    decoder_backward(net, x, dG, scale);
    /* into the encoder: dl[L] holds -d cost / d z, z = phi(ea_L) */
    for (int i = net->L; i >= 1; i--) {
        gsl_vector *d = net->tmp[i];
        gsl_vector_memcpy(d, net->dl[i]);
        for (size_t j = 0; j < net->n[i]; j++)
            d->data[j] *= mc_phi_deriv(&net->c.phi, gsl_vector_get(net->ea[i], j));
        if (i > 1)
            gsl_blas_dgemv(CblasTrans, 1.0, net->W[i], d, 0.0, net->dl[i - 1]);
        if (dW && dW[i])
            gsl_blas_dger(scale, d, net->eh[i - 1], dW[i]);
    }
    return c;
}

double fd_backprop_decoder(fd_net *net, const double *x, const double *z, gsl_matrix **dG,
                           double scale)
{
    fd_decode(net, z);
    double c = 0.5 * sq_error(net, x);
    decoder_backward(net, x, dG, scale);
    return c;
}

double fd_cosine(const gsl_matrix *a, const gsl_matrix *b, const size_t *idx, size_t m)
{
    size_t n = idx ? m : a->size1 * a->size2;
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < n; k++) {
        size_t e = idx ? idx[k] : k;
        double va = a->data[(e / a->size2) * a->tda + e % a->size2];
        double vb = b->data[(e / b->size2) * b->tda + e % b->size2];
        ab += va * vb, aa += va * va, bb += vb * vb;
    }
    if (aa == 0.0 || bb == 0.0)
        return FD_COS_UNDEFINED;
    return ab / sqrt(aa * bb);
}

/* ---- PCA and readout ---- */

int fd_pca_fit(const double *X, size_t count, size_t nx, size_t k, double *mu, gsl_matrix *V)
{
    if (count < 2 || k > nx || V->size1 != nx || V->size2 != k)
        return GSL_EINVAL;
    for (size_t j = 0; j < nx; j++) {
        double s = 0;
        for (size_t p = 0; p < count; p++)
            s += X[p * nx + j];
        mu[j] = s / (double)count;
    }
    gsl_matrix *C = gsl_matrix_calloc(nx, nx), *evec = gsl_matrix_alloc(nx, nx);
    gsl_matrix *Xc = gsl_matrix_alloc(count, nx);
    gsl_vector *eval = gsl_vector_alloc(nx);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(nx);
    int rc = GSL_ENOMEM;
    if (C && evec && Xc && eval && ws) {
        for (size_t p = 0; p < count; p++)
            for (size_t j = 0; j < nx; j++)
                gsl_matrix_set(Xc, p, j, X[p * nx + j] - mu[j]);
        gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0 / (double)(count - 1), Xc, 0.0, C);
        for (size_t i = 0; i < nx; i++) /* symmv reads the lower triangle; fill for clarity */
            for (size_t j = i + 1; j < nx; j++)
                gsl_matrix_set(C, i, j, gsl_matrix_get(C, j, i));
        rc = gsl_eigen_symmv(C, eval, evec, ws);
        if (rc == 0)
            rc = gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
        if (rc == 0) {
            gsl_matrix_const_view top = gsl_matrix_const_submatrix(evec, 0, 0, nx, k);
            gsl_matrix_memcpy(V, &top.matrix);
        }
    }
    if (ws)
        gsl_eigen_symmv_free(ws);
    if (eval)
        gsl_vector_free(eval);
    if (Xc)
        gsl_matrix_free(Xc);
    if (evec)
        gsl_matrix_free(evec);
    if (C)
        gsl_matrix_free(C);
    return rc;
}

double fd_readout_accuracy(const double *Ztr, const int *ytr, size_t ntr, const double *Zte,
                           const int *yte, size_t nte, size_t k, int nclass, double ridge)
{
    size_t m = k + 1; /* codes and a bias */
    gsl_matrix *A = gsl_matrix_calloc(m, m), *B = gsl_matrix_calloc(m, (size_t)nclass);
    gsl_vector *z = gsl_vector_alloc(m), *col = gsl_vector_alloc(m), *sol = gsl_vector_alloc(m);
    double acc = -1.0;
    if (!A || !B || !z || !col || !sol)
        goto out;
    for (size_t p = 0; p < ntr; p++) {
        for (size_t j = 0; j < k; j++)
            gsl_vector_set(z, j, Ztr[p * k + j]);
        gsl_vector_set(z, k, 1.0);
        gsl_blas_dsyr(CblasLower, 1.0, z, A);
        if (ytr[p] >= 0 && ytr[p] < nclass)
            for (size_t j = 0; j < m; j++)
                *gsl_matrix_ptr(B, j, (size_t)ytr[p]) += gsl_vector_get(z, j);
    }
    double tr = 0;
    for (size_t j = 0; j < m; j++)
        tr += gsl_matrix_get(A, j, j);
    /* a small ridge keeps a code with a dead unit solvable */
    for (size_t j = 0; j < m; j++)
        *gsl_matrix_ptr(A, j, j) += ridge * tr / (double)m + 1e-12;
    /* a matrix that is not positive definite is a result (-1), not an abort */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(A);
    gsl_set_error_handler(old);
    if (rc != 0)
        goto out;
    for (int c = 0; c < nclass; c++) {
        gsl_vector_view b = gsl_matrix_column(B, (size_t)c);
        gsl_linalg_cholesky_solve(A, &b.vector, sol);
        gsl_vector_memcpy(&b.vector, sol);
    }
    size_t right = 0;
    for (size_t p = 0; p < nte; p++) {
        int best = 0;
        double bv = -INFINITY;
        for (int c = 0; c < nclass; c++) {
            double s = gsl_matrix_get(B, k, (size_t)c);
            for (size_t j = 0; j < k; j++)
                s += Zte[p * k + j] * gsl_matrix_get(B, j, (size_t)c);
            if (s > bv)
                bv = s, best = c;
        }
        right += best == yte[p];
    }
    acc = nte ? (double)right / (double)nte : NAN;
out:
    if (A)
        gsl_matrix_free(A);
    if (B)
        gsl_matrix_free(B);
    if (z)
        gsl_vector_free(z);
    if (col)
        gsl_vector_free(col);
    if (sol)
        gsl_vector_free(sol);
    return acc;
}

/* mc_baselines.c: the references every microcircuit figure is drawn against.
 *
 * A plain feed-forward network with the same architecture, transfer function,
 * initial forward weights and data as the microcircuit, and the same
 * steady-state scaling of the potentials (hidden a = g_B/(g_lk+g_B+g_A) W r,
 * output y = g_B/(g_lk+g_B) W r), trained by stochastic gradient descent on
 * 0.5 |y - target|^2 (or, with rate_loss, on the rates 0.5 |phi(y) -
 * phi(target)|^2, the error the microcircuit's output rule descends), one
 * step per pattern:
 *   backprop: every layer learns by error backpropagation;
 *   shallow:  only the output layer learns (the hidden layers stay random).
 * Both are ordinary algorithms, not neuron models: no time, no noise. */
#include <stdlib.h>

#include <gsl/gsl_blas.h>

#include "mc.h"

mc_mlp *mc_mlp_alloc(const size_t *n, int L, double c_h, double c_o, const mc_phi *phi)
{
    if (L < 1 || L >= MC_MAX_LAYERS)
        return NULL;
    mc_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->L = L, m->c_h = c_h, m->c_o = c_o, m->phi = *phi;
    bool ok = true;
    for (int k = 0; k <= L; k++) {
        m->n[k] = n[k];
        m->r[k] = gsl_vector_calloc(n[k]);
        ok = ok && m->r[k];
        if (k == 0)
            continue;
        m->a[k] = gsl_vector_calloc(n[k]);
        m->delta[k] = gsl_vector_calloc(n[k]);
        m->W[k] = gsl_matrix_calloc(n[k], n[k - 1]);
        ok = ok && m->a[k] && m->delta[k] && m->W[k];
    }
    if (!ok) {
        mc_mlp_free(m);
        return NULL;
    }
    return m;
}

void mc_mlp_free(mc_mlp *m)
{
    if (!m)
        return;
    for (int k = 0; k <= m->L; k++) {
        gsl_vector_free(m->r[k]);
        gsl_vector_free(m->a[k]);
        gsl_vector_free(m->delta[k]);
        gsl_matrix_free(m->W[k]);
    }
    free(m);
}

void mc_mlp_forward(mc_mlp *m, const double *x)
{
    for (size_t i = 0; i < m->n[0]; i++)
        m->r[0]->data[i] = x[i];
    for (int k = 1; k <= m->L; k++) {
        bool out = k == m->L;
        gsl_blas_dgemv(CblasNoTrans, out ? m->c_o : m->c_h, m->W[k], m->r[k - 1], 0.0, m->a[k]);
        for (size_t i = 0; i < m->n[k]; i++)
            m->r[k]->data[i] = out ? m->a[k]->data[i] : mc_phi_eval(&m->phi, m->a[k]->data[i]);
    }
}

void mc_mlp_sgd(mc_mlp *m, const double *t, double eta, bool only_last)
{
    int L = m->L;
    /* delta_k = dLoss/da_k */
    for (size_t i = 0; i < m->n[L]; i++) {
        double y = m->r[L]->data[i];
        m->delta[L]->data[i] = m->rate_loss ? (mc_phi_eval(&m->phi, y) - mc_phi_eval(&m->phi, t[i])) *
                                                  mc_phi_deriv(&m->phi, y)
                                            : y - t[i];
    }
    if (!only_last)
        for (int k = L - 1; k >= 1; k--) {
            double c = k + 1 == L ? m->c_o : m->c_h;
            gsl_blas_dgemv(CblasTrans, c, m->W[k + 1], m->delta[k + 1], 0.0, m->delta[k]);
            for (size_t i = 0; i < m->n[k]; i++)
                m->delta[k]->data[i] *= mc_phi_deriv(&m->phi, m->a[k]->data[i]);
        }
    for (int k = only_last ? L : 1; k <= L; k++) {
        double c = k == L ? m->c_o : m->c_h;
        gsl_blas_dger(-eta * c, m->delta[k], m->r[k - 1], m->W[k]);
    }
}

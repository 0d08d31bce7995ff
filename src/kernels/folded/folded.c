/* folded.c: the `folded` kernel, the folded autoencoder of Dold et al.
 * (seed 001): one stack of dendritic neurons that encodes with forward
 * weights W and decodes with generative weights G at once, mixed by lambda,
 * with local Urbanczik-Senn-type plasticity (folded.h has the equations).
 *
 * A task trains one model on one data set and records, at epoch 0 and every
 * record_every epochs:
 *   mse_test     reconstruction error of x -> W path -> G path on the test
 *                images, mean over images and pixels
 *   readout_acc  test accuracy of a least-squares linear readout (with bias)
 *                of the latent rates, fitted on the training codes
 *   cos_W, cos_G cosine between each layer's update, summed over the first
 *                n_grad training patterns, and the negative gradient of its
 *                cost, by central finite differences on n_fd entries per
 *                matrix: for W the autoencoder's cost 0.5 |x - G(W(x))|^2,
 *                for G the decoder's cost 0.5 |x - G(z*)|^2 from the
 *                network's own latent rate z* (the relaxed state for
 *                `folded`, W(x) for `backprop`, where the cosine checks the
 *                analytic gradient); -2 where a cosine is not defined (pca,
 *                or an update or gradient that is exactly zero)
 * and at the end the first n_show test images and their reconstructions.
 *
 * Models: `folded` (relaxation and local plasticity), `backprop` (the same
 * encoder and decoder, same initial weights, SGD on the autoencoder's cost,
 * same epochs and order), `pca` (principal components of the training
 * images, n_latent of them; GSL's symmetric eigen-solver).
 *
 * Random streams: folded-weights (task, sizes, w_init, seed: every model
 * and lambda starts from the same weights), folded-order (n_train, seed),
 * folded-fd (task, sizes, n_fd, seed: the entries of the cosines). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "neuromic/kernel.h"

#include "folded.h"

enum {
    P_TASK, P_MODEL, P_LAMBDA, P_N_HIDDEN, P_N_HIDDEN2, P_N_LATENT, P_PHI, P_PHI_GAMMA,
    P_PHI_BETA, P_PHI_THETA, P_TAU, P_RELAX, P_DT, P_T_PATTERN, P_PROSPECTIVE, P_DAMPING, P_TOL,
    P_MAX_ITER, P_ETA_W, P_ETA_G, P_ETA_BP, P_W_INIT, P_EPOCHS, P_RECORD_EVERY, P_N_TRAIN,
    P_N_TEST, P_N_GRAD, P_N_FD, P_N_SHOW, P_RIDGE, NPARAMS
};

#define F NM_PARAM_FLOAT
#define I(nm, dv, lo_, hi_, dc) NM_PARAM_INT(nm, dv, lo_, hi_, "", dc)

static const nm_param params[NPARAMS] = {
    [P_TASK] = NM_PARAM_CHOICE("task", "digits",
                               "digits: scikit-learn's 8x8 digits (csv.gz); fashion_mnist: IDX "
                               "files of /usr/share/datasets/fashion-mnist or $NEUROMIC_IDX_DIR",
                               "digits", "fashion_mnist"),
    [P_MODEL] = NM_PARAM_CHOICE("model", "folded",
                                "folded: local plasticity; backprop: SGD autoencoder on the same "
                                "weights; pca: principal components",
                                "folded", "backprop", "pca"),
    [P_LAMBDA] = F("lambda", 0.1, 0, 1, "", "mixing of the forward (lambda) and generative "
                                             "(1 - lambda) branches in the hidden layers"),
    [P_N_HIDDEN] = I("n_hidden", 32, 0, 100000, "first hidden layer's size (0: none)"),
    [P_N_HIDDEN2] = I("n_hidden2", 0, 0, 100000, "second hidden layer's size (0: none)"),
    [P_N_LATENT] = I("n_latent", 8, 1, 100000, "latent (top) layer's size"),
    [P_PHI] = NM_PARAM_CHOICE("phi", "logistic", "transfer function", "logistic", "softplus",
                              "relu"),
    [P_PHI_GAMMA] = F("phi_gamma", 1, 0, 1e6, "", "phi's amplitude"),
    [P_PHI_BETA] = F("phi_beta", 1, 0, 1e6, "", "phi's slope"),
    [P_PHI_THETA] = F("phi_theta", 0, -1e6, 1e6, "", "phi's threshold"),
    [P_TAU] = F("tau", 10, 1e-6, 1e6, "ms", "membrane time constant"),
    [P_RELAX] = NM_PARAM_CHOICE("relax", "fixed",
                                "fixed: damped fixed-point iteration of the stationary equation; "
                                "euler: tau du/dt = -dE/du for t_pattern",
                                "fixed", "euler"),
    [P_DT] = F("dt", 1, 1e-6, 1e6, "ms", "euler: time step"),
    [P_T_PATTERN] = F("t_pattern", 200, 1e-6, 1e9, "ms", "euler: presentation time per pattern"),
    [P_PROSPECTIVE] = NM_PARAM_BOOL("prospective", true,
                                    "euler: rates phi(u + tau du/dt) (latent equilibrium)"),
    [P_DAMPING] = F("damping", 0.5, 1e-6, 1, "", "fixed: step toward the stationary equation"),
    [P_TOL] = F("tol", 1e-6, 0, 1e6, "", "fixed: stop when max |rhs - u| is below"),
    [P_MAX_ITER] = I("max_iter", 500, 1, 100000000, "fixed: most iterations per pattern"),
    [P_ETA_W] = F("eta_W", 0.05, 0, 1e6, "", "folded: learning rate of W per pattern"),
    [P_ETA_G] = F("eta_G", 0.05, 0, 1e6, "", "folded: learning rate of G per pattern"),
    [P_ETA_BP] = F("eta_bp", 0.05, 0, 1e6, "", "backprop: SGD learning rate per pattern"),
    [P_W_INIT] = F("w_init", 1, 0, 1e6, "", "initial weights U(-w, w)/sqrt(fan-in)"),
    [P_EPOCHS] = I("epochs", 20, 0, 100000000, "passes over the training images"),
    [P_RECORD_EVERY] = I("record_every", 5, 1, 100000000, "epochs between record points"),
    [P_N_TRAIN] = I("n_train", 1500, 1, 60000, "training images (digits: the first ones)"),
    [P_N_TEST] = I("n_test", 297, 1, 10000, "test images (digits: the last ones)"),
    [P_N_GRAD] = I("n_grad", 20, 0, 60000, "training patterns of the gradient cosines"),
    [P_N_FD] = I("n_fd", 100, 1, 100000000, "matrix entries per cosine (all when fewer)"),
    [P_N_SHOW] = I("n_show", 10, 1, 10000, "test images whose reconstructions are stored"),
    [P_RIDGE] = F("ridge", 1e-6, 0, 1e6, "", "readout ridge, times the mean diagonal"),
};

/* ---- shapes ---- */

static size_t input_size(const nm_point *p)
{
    return strcmp(nm_get_s_at(p, P_TASK), "digits") ? 784 : 64;
}

/* Sizes n[0..L]; returns L. */
static int sizes_of(const nm_point *p, size_t *n)
{
    int L = 0;
    n[L++] = input_size(p);
    if (nm_get_i_at(p, P_N_HIDDEN) > 0)
        n[L++] = (size_t)nm_get_i_at(p, P_N_HIDDEN);
    if (nm_get_i_at(p, P_N_HIDDEN2) > 0)
        n[L++] = (size_t)nm_get_i_at(p, P_N_HIDDEN2);
    n[L] = (size_t)nm_get_i_at(p, P_N_LATENT);
    return L;
}

static size_t n_record(const nm_point *p)
{
    return (size_t)(nm_get_i_at(p, P_EPOCHS) / nm_get_i_at(p, P_RECORD_EVERY)) + 1;
}

static size_t record_extent(const nm_point *p, int d)
{
    (void)d;
    return n_record(p);
}

static size_t record_layer_extent(const nm_point *p, int d)
{
    size_t n[FD_MAX_LAYERS];
    return d == 0 ? n_record(p) : (size_t)sizes_of(p, n);
}

static size_t image_extent(const nm_point *p, int d)
{
    return d == 0 ? (size_t)nm_get_i_at(p, P_N_SHOW) : input_size(p);
}

enum { O_EPOCH, O_MSE, O_ACC, O_COS_W, O_COS_G, O_RESIDUAL, O_ITER, O_IMAGE, O_RECON, NOUTPUTS };

static const nm_output outputs[NOUTPUTS] = {
    [O_EPOCH] = NM_OUTPUT_ARRAY("epoch", NM_O_I64, "record", record_extent, "",
                                "epochs trained at the record point"),
    [O_MSE] = NM_OUTPUT_ARRAY("mse_test", NM_O_F64, "record", record_extent, "",
                              "test reconstruction error |x - G(W(x))|^2 per pixel"),
    [O_ACC] = NM_OUTPUT_ARRAY("readout_acc", NM_O_F64, "record", record_extent, "",
                              "test accuracy of a linear readout of the latent code"),
    [O_COS_W] = {.name = "cos_W", .type = NM_O_F64, .ndims = 2, .dims = {"record", "layer"},
                 .extent = record_layer_extent, .unit = "",
                 .doc = "cosine of the update of W_(layer+1) and -grad of the autoencoder's "
                        "cost; -2: not defined (a zero update or gradient, or pca)"},
    [O_COS_G] = {.name = "cos_G", .type = NM_O_F64, .ndims = 2, .dims = {"record", "layer"},
                 .extent = record_layer_extent, .unit = "",
                 .doc = "cosine of the update of G_layer and -grad of the decoder's cost from "
                        "the network's latent; -2: not defined"},
    [O_RESIDUAL] = NM_OUTPUT_ARRAY("residual", NM_O_F64, "record", record_extent, "",
                                   "folded: largest relaxation residual over the cosine "
                                   "patterns (max |rhs - u|); else 0"),
    [O_ITER] = NM_OUTPUT_ARRAY("iterations", NM_O_F64, "record", record_extent, "",
                               "folded, relax fixed: mean fixed-point iterations over the "
                               "cosine patterns; else 0"),
    [O_IMAGE] = {.name = "image", .type = NM_O_F64, .ndims = 2, .dims = {"show", "pixel"},
                 .extent = image_extent, .unit = "", .doc = "the first n_show test images"},
    [O_RECON] = {.name = "recon", .type = NM_O_F64, .ndims = 2, .dims = {"show", "pixel"},
                 .extent = image_extent, .unit = "",
                 .doc = "their reconstructions after training"},
};

static bool check(const nm_point *p, char *why, size_t len)
{
    if (nm_get_i_at(p, P_EPOCHS) % nm_get_i_at(p, P_RECORD_EVERY) != 0) {
        snprintf(why, len, "epochs must be a multiple of record_every");
        return false;
    }
    if (!strcmp(nm_get_s_at(p, P_TASK), "digits") &&
        nm_get_i_at(p, P_N_TRAIN) + nm_get_i_at(p, P_N_TEST) > 1797) {
        snprintf(why, len, "digits: n_train + n_test must not exceed the 1797 images");
        return false;
    }
    if (nm_get_i_at(p, P_N_SHOW) > nm_get_i_at(p, P_N_TEST) ||
        nm_get_i_at(p, P_N_GRAD) > nm_get_i_at(p, P_N_TRAIN)) {
        snprintf(why, len, "n_show must not exceed n_test, nor n_grad n_train");
        return false;
    }
    if (!strcmp(nm_get_s_at(p, P_MODEL), "pca") &&
        nm_get_i_at(p, P_N_LATENT) > (int64_t)input_size(p)) {
        snprintf(why, len, "pca: n_latent must not exceed the image size");
        return false;
    }
    return true;
}

static double cost(const nm_point *p)
{
    size_t n[FD_MAX_LAYERS];
    int L = sizes_of(p, n);
    double w = 0;
    for (int i = 1; i <= L; i++)
        w += 2.0 * (double)(n[i] * n[i - 1]);
    const char *m = nm_get_s_at(p, P_MODEL);
    if (!strcmp(m, "pca"))
        return (double)(n[0] * n[0]) * (double)nm_get_i_at(p, P_N_TRAIN) * 1e-9 + 1e-6;
    double per = !strcmp(m, "backprop") ? 3.0
                 : !strcmp(nm_get_s_at(p, P_RELAX), "euler")
                     ? 2.0 * ceil(nm_get_f_at(p, P_T_PATTERN) / nm_get_f_at(p, P_DT))
                     : 60.0; /* typical fixed-point iterations */
    double pats = (double)nm_get_i_at(p, P_N_TRAIN) * (double)nm_get_i_at(p, P_EPOCHS);
    double fd = (double)n_record(p) * (double)nm_get_i_at(p, P_N_GRAD) * 4.0 *
                (double)nm_get_i_at(p, P_N_FD) * (double)L;
    return (pats * per + fd) * w * 1e-9 + 1e-6;
}

/* ---- data shared per rank ---- */

enum { F_TRAIN_IM, F_TRAIN_LB, F_TEST_IM, F_TEST_LB, NFILES };
static const char *const idx_stems[NFILES] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

typedef struct {
    mc_data *digits;               /* every digit, split per task */
    mc_data *fm_train, *fm_test;   /* Fashion-MNIST, as many as the sweep needs */
} fd_shared;

static void fd_release(void *data)
{
    fd_shared *sh = data;
    mc_data_free(sh->digits);
    mc_data_free(sh->fm_train);
    mc_data_free(sh->fm_test);
    free(sh);
}

static int read_fashion(nm_shared *nsh, fd_shared *sh, size_t ntr, size_t nte)
{
    char path[NFILES][1024], why[1400];
    mc_idx *idx[NFILES] = {0};
    int rc = 0;
    for (int f = 0; f < NFILES && rc == 0; f++) {
        mc_idx_path("fashion-mnist", idx_stems[f], path[f], sizeof path[f]);
        if (!(idx[f] = mc_idx_read(path[f], f < F_TEST_IM ? ntr : nte, why, sizeof why)))
            rc = nm_shared_fail(nsh, "%s (NEUROMIC_IDX_DIR selects another directory)", why);
        else if (nm_shared_file(nsh, path[f]) != 0)
            rc = 1;
    }
    if (rc == 0 &&
        (!(sh->fm_train = mc_data_idx(idx[F_TRAIN_IM], idx[F_TRAIN_LB], path[F_TRAIN_IM],
                                      path[F_TRAIN_LB], ntr, 0, 1, why, sizeof why)) ||
         !(sh->fm_test = mc_data_idx(idx[F_TEST_IM], idx[F_TEST_LB], path[F_TEST_IM],
                                     path[F_TEST_LB], nte, 0, 1, why, sizeof why))))
        rc = nm_shared_fail(nsh, "%s", why);
    for (int f = 0; f < NFILES; f++)
        mc_idx_free(idx[f]);
    return rc;
}

/* Reads what the sweep's points use, once per rank. */
static int fd_prepare(nm_shared *nsh)
{
    fd_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return nm_shared_fail(nsh, "out of memory");
    nm_shared_set(nsh, sh);
    bool digits = false;
    size_t ntr = 0, nte = 0;
    const nm_point *p;
    while (nm_shared_next(nsh, &p)) {
        if (!strcmp(nm_get_s_at(p, P_TASK), "digits")) {
            digits = true;
            continue;
        }
        ntr = (size_t)nm_get_i_at(p, P_N_TRAIN) > ntr ? (size_t)nm_get_i_at(p, P_N_TRAIN) : ntr;
        nte = (size_t)nm_get_i_at(p, P_N_TEST) > nte ? (size_t)nm_get_i_at(p, P_N_TEST) : nte;
    }
    if (digits) {
        char why[1400];
        const char *path = fd_digits_path();
        if (!(sh->digits = fd_digits_read(path, SIZE_MAX, why, sizeof why)))
            return nm_shared_fail(nsh, "%s (NEUROMIC_DIGITS names another file)", why);
        if (nm_shared_file(nsh, path) != 0)
            return 1;
    }
    if (ntr > 0)
        return read_fashion(nsh, sh, ntr, nte);
    return 0;
}

/* ---- one task ---- */

typedef struct {
    size_t nx, ntr, nte;
    const double *xtr, *xte;
    const int *ytr, *yte;
} fd_split;

static int split_of(const nm_point *p, nm_task *t, fd_split *s)
{
    const fd_shared *sh = nm_task_shared(t);
    s->ntr = (size_t)nm_get_i_at(p, P_N_TRAIN);
    s->nte = (size_t)nm_get_i_at(p, P_N_TEST);
    const mc_data *tr, *te;
    size_t te_off;
    if (!strcmp(nm_get_s_at(p, P_TASK), "digits")) {
        tr = te = sh ? sh->digits : NULL;
        te_off = tr ? tr->count - s->nte : 0;
    } else {
        tr = sh ? sh->fm_train : NULL, te = sh ? sh->fm_test : NULL;
        te_off = 0;
    }
    if (!tr || !te)
        return nm_task_fail(t, "folded: data of task '%s' not prepared on this rank",
                            nm_get_s_at(p, P_TASK));
    if (tr->count < s->ntr || te->count < s->nte || (tr == te && s->ntr + s->nte > tr->count))
        return nm_task_fail(t, "folded: the data has %zu training and %zu test images, "
                               "the task asks for %zu and %zu",
                            tr->count, te->count, s->ntr, s->nte);
    s->nx = tr->nx;
    s->xtr = tr->x, s->ytr = tr->label;
    s->xte = te->x + te_off * te->nx, s->yte = te->label + te_off;
    return 0;
}

typedef struct {
    fd_net *net, *probe;           /* the model; a copy to perturb */
    fd_split d;
    size_t k;                      /* latent size */
    double *ztr, *zte, *zstar;     /* codes; relaxed latents of the cosine patterns */
    gsl_matrix *uW[FD_MAX_LAYERS], *uG[FD_MAX_LAYERS]; /* summed updates */
    gsl_matrix *gW[FD_MAX_LAYERS], *gG[FD_MAX_LAYERS]; /* -grad by finite differences */
    size_t *fdW[FD_MAX_LAYERS], *fdG[FD_MAX_LAYERS], nfdW[FD_MAX_LAYERS], nfdG[FD_MAX_LAYERS];
    size_t n_grad;
    bool folded;
} fd_run;

static void run_free(fd_run *r)
{
    fd_net_free(r->net);
    fd_net_free(r->probe);
    free(r->ztr), free(r->zte), free(r->zstar);
    for (int i = 0; i < FD_MAX_LAYERS; i++) {
        gsl_matrix *ms[] = {r->uW[i], r->uG[i], r->gW[i], r->gG[i]};
        for (int j = 0; j < 4; j++)
            if (ms[j])
                gsl_matrix_free(ms[j]);
        free(r->fdW[i]), free(r->fdG[i]);
    }
}

/* n_fd distinct entries of a rows x cols matrix (all of them when fewer). */
static size_t *draw_entries(size_t total, size_t want, gsl_rng *rng, size_t *got)
{
    size_t *all = malloc(total * sizeof *all);
    if (!all)
        return NULL;
    for (size_t e = 0; e < total; e++)
        all[e] = e;
    if (want >= total) {
        *got = total;
        return all;
    }
    size_t *pick = malloc(want * sizeof *pick);
    if (pick)
        gsl_ran_choose(rng, pick, want, all, total, sizeof *all);
    free(all);
    *got = want;
    return pick;
}

/* Central differences of cost(weights) on the chosen entries of m. */
static void finite_diff(fd_run *r, gsl_matrix *m, const size_t *idx, size_t nidx, gsl_matrix *out,
                        double (*costf)(fd_run *))
{
    const double h = 1e-5;
    for (size_t k = 0; k < nidx; k++) {
        double *w = &m->data[(idx[k] / m->size2) * m->tda + idx[k] % m->size2];
        double w0 = *w;
        *w = w0 + h;
        double cp = costf(r);
        *w = w0 - h;
        double cm = costf(r);
        *w = w0;
        out->data[(idx[k] / out->size2) * out->tda + idx[k] % out->size2] = -(cp - cm) / (2 * h);
    }
}

static double ae_cost(fd_run *r)
{
    double c = 0;
    for (size_t p = 0; p < r->n_grad; p++)
        c += 0.5 * fd_autoencode(r->probe, r->d.xtr + p * r->d.nx);
    return c;
}

static double dec_cost(fd_run *r)
{
    double c = 0;
    for (size_t p = 0; p < r->n_grad; p++)
        c += fd_backprop_decoder(r->probe, r->d.xtr + p * r->d.nx, r->zstar + p * r->k, NULL, 0);
    return c;
}

/* The cosines at the current weights; returns the largest residual and
 * the mean number of fixed-point iterations in *iter. */
static double cosines(fd_run *r, double *cosW, double *cosG, double *iter)
{
    fd_net *net = r->net;
    int L = net->L;
    double res = 0;
    for (int i = 0; i <= L; i++) {
        if (r->uW[i])
            gsl_matrix_set_zero(r->uW[i]), gsl_matrix_set_zero(r->gW[i]);
        if (r->uG[i])
            gsl_matrix_set_zero(r->uG[i]), gsl_matrix_set_zero(r->gG[i]);
    }
    for (size_t p = 0; p < r->n_grad; p++) {
        const double *x = r->d.xtr + p * r->d.nx;
        if (r->folded) {
            res = fmax(res, fd_relax(net, x));
            *iter += net->c.relax == FD_RELAX_FIXED ? (double)net->iterations / (double)r->n_grad
                                                     : 0.0;
            fd_updates(net, x, r->uW, r->uG, 1.0, 1.0);
            for (size_t j = 0; j < r->k; j++) /* the relaxed latent rate */
                r->zstar[p * r->k + j] = gsl_vector_get(net->r[L], j);
        } else {
            fd_backprop(net, x, r->uW, r->uG, 1.0);
            memcpy(r->zstar + p * r->k, net->eh[L]->data, r->k * sizeof *r->zstar);
        }
    }
    fd_net_copy_weights(r->probe, net);
    for (int i = 1; i <= L; i++) {
        finite_diff(r, r->probe->W[i], r->fdW[i], r->nfdW[i], r->gW[i], ae_cost);
        cosW[i - 1] = fd_cosine(r->uW[i], r->gW[i], r->fdW[i], r->nfdW[i]);
    }
    for (int i = 0; i < L; i++) {
        finite_diff(r, r->probe->G[i], r->fdG[i], r->nfdG[i], r->gG[i], dec_cost);
        cosG[i] = fd_cosine(r->uG[i], r->gG[i], r->fdG[i], r->nfdG[i]);
    }
    return res;
}

/* Test MSE per pixel and readout accuracy of the encoder's codes. */
static void evaluate(fd_run *r, double ridge, double *mse, double *acc)
{
    fd_split *d = &r->d;
    double s = 0;
    for (size_t p = 0; p < d->nte; p++) {
        s += fd_autoencode(r->net, d->xte + p * d->nx);
        memcpy(r->zte + p * r->k, r->net->eh[r->net->L]->data, r->k * sizeof *r->zte);
    }
    *mse = s / (double)(d->nte * d->nx);
    for (size_t p = 0; p < d->ntr; p++)
        fd_encode(r->net, d->xtr + p * d->nx, r->ztr + p * r->k);
    *acc = fd_readout_accuracy(r->ztr, d->ytr, d->ntr, r->zte, d->yte, d->nte, r->k, 10, ridge);
}

static int run_pca(const nm_point *p, nm_task *t, fd_run *r, nm_result *res)
{
    fd_split *d = &r->d;
    size_t nx = d->nx, k = r->k, nrec = n_record(p), nshow = (size_t)nm_get_i_at(p, P_N_SHOW);
    double *mu = malloc(nx * sizeof *mu), *xr = malloc(nx * sizeof *xr);
    gsl_matrix *V = gsl_matrix_alloc(nx, k);
    int rc = 0;
    if (!mu || !xr || !V || fd_pca_fit(d->xtr, d->ntr, nx, k, mu, V) != 0) {
        rc = nm_task_fail(t, "folded: PCA failed (out of memory or eigen-solver)");
        goto out;
    }
    /* code c = V^T (x - mu), reconstruction mu + V c */
    double s = 0;
    for (int set = 0; set < 2; set++) {
        size_t n = set ? d->nte : d->ntr;
        const double *X = set ? d->xte : d->xtr;
        double *Z = set ? r->zte : r->ztr;
        for (size_t q = 0; q < n; q++) {
            const double *x = X + q * nx;
            for (size_t c = 0; c < k; c++) {
                double v = 0;
                for (size_t j = 0; j < nx; j++)
                    v += gsl_matrix_get(V, j, c) * (x[j] - mu[j]);
                Z[q * k + c] = v;
            }
            if (!set)
                continue;
            for (size_t j = 0; j < nx; j++) {
                double v = mu[j];
                for (size_t c = 0; c < k; c++)
                    v += gsl_matrix_get(V, j, c) * Z[q * k + c];
                xr[j] = v;
                s += (x[j] - v) * (x[j] - v);
                if (q < nshow)
                    nm_out_f64(res, O_RECON, "recon")[q * nx + j] = v;
            }
        }
    }
    double acc = fd_readout_accuracy(r->ztr, d->ytr, d->ntr, r->zte, d->yte, d->nte, k, 10,
                                     nm_get_f_at(p, P_RIDGE));
    for (size_t j = 0; j < nrec; j++) {
        nm_out_f64(res, O_MSE, "mse_test")[j] = s / (double)(d->nte * nx);
        nm_out_f64(res, O_ACC, "readout_acc")[j] = acc;
    }
out:
    free(mu), free(xr);
    if (V)
        gsl_matrix_free(V);
    return rc;
}

static int run(const nm_point *p, nm_task *t, nm_result *res)
{
    fd_run r = {0};
    int rc = split_of(p, t, &r.d);
    if (rc)
        return rc;
    size_t n[FD_MAX_LAYERS];
    int L = sizes_of(p, n);
    const char *model = nm_get_s_at(p, P_MODEL);
    r.folded = !strcmp(model, "folded");
    r.k = n[L];
    r.n_grad = strcmp(model, "pca") ? (size_t)nm_get_i_at(p, P_N_GRAD) : 0;
    size_t nrec = n_record(p), nshow = (size_t)nm_get_i_at(p, P_N_SHOW), nx = r.d.nx;
    fd_config c = {
        .phi = mc_phi_from(p, "phi"), .lambda = nm_get_f_at(p, P_LAMBDA),
        .tau = nm_get_f_at(p, P_TAU),
        .relax = strcmp(nm_get_s_at(p, P_RELAX), "euler") ? FD_RELAX_FIXED : FD_RELAX_EULER,
        .dt = nm_get_f_at(p, P_DT), .t_pattern = nm_get_f_at(p, P_T_PATTERN),
        .prospective = nm_get_b_at(p, P_PROSPECTIVE), .damping = nm_get_f_at(p, P_DAMPING),
        .tol = nm_get_f_at(p, P_TOL), .max_iter = (int)nm_get_i_at(p, P_MAX_ITER),
        .eta_W = nm_get_f_at(p, P_ETA_W), .eta_G = nm_get_f_at(p, P_ETA_G),
    };
    static const char *const wdeps[] = {"task", "n_hidden", "n_hidden2", "n_latent", "w_init",
                                        "seed", NULL};
    static const char *const odeps[] = {"n_train", "seed", NULL};
    static const char *const fdeps[] = {"task", "n_hidden", "n_hidden2", "n_latent", "n_fd",
                                        "seed", NULL};
    gsl_rng *wrng = nm_task_rng(t, "folded-weights", wdeps);
    gsl_rng *orng = nm_task_rng(t, "folded-order", odeps);
    gsl_rng *frng = nm_task_rng(t, "folded-fd", fdeps);
    int64_t *epoch = nm_out_i64(res, O_EPOCH, "epoch");
    double *mse = nm_out_f64(res, O_MSE, "mse_test"), *acc = nm_out_f64(res, O_ACC, "readout_acc");
    double *cosW = nm_out_f64(res, O_COS_W, "cos_W"), *cosG = nm_out_f64(res, O_COS_G, "cos_G");
    double *resid = nm_out_f64(res, O_RESIDUAL, "residual");
    double *iters = nm_out_f64(res, O_ITER, "iterations");
    double *image = nm_out_f64(res, O_IMAGE, "image"), *recon = nm_out_f64(res, O_RECON, "recon");
    if (!wrng || !orng || !frng || !epoch || !mse || !acc || !cosW || !cosG || !resid || !iters || !image ||
        !recon)
        return nm_task_fail(t, "folded: no stream or output");
    int64_t every = nm_get_i_at(p, P_RECORD_EVERY);
    for (size_t j = 0; j < nrec; j++) {
        epoch[j] = (int64_t)j * every;
        resid[j] = iters[j] = 0;
        for (int i = 0; i < L; i++)
            cosW[j * (size_t)L + (size_t)i] = cosG[j * (size_t)L + (size_t)i] = FD_COS_UNDEFINED;
    }
    memcpy(image, r.d.xte, nshow * nx * sizeof *image);
    r.ztr = malloc(r.d.ntr * r.k * sizeof *r.ztr);
    r.zte = malloc(r.d.nte * r.k * sizeof *r.zte);
    r.zstar = malloc((r.n_grad + 1) * r.k * sizeof *r.zstar);
    size_t *order = malloc(r.d.ntr * sizeof *order);
    if (!r.ztr || !r.zte || !r.zstar || !order) {
        rc = nm_task_fail(t, "folded: out of memory");
        goto out;
    }
    if (!strcmp(model, "pca")) {
        rc = run_pca(p, t, &r, res);
        goto out;
    }
    r.net = fd_net_alloc(&c, n, L);
    r.probe = fd_net_alloc(&c, n, L);
    if (!r.net || !r.probe) {
        rc = nm_task_fail(t, "folded: out of memory for the network");
        goto out;
    }
    fd_net_init_random(r.net, wrng, nm_get_f_at(p, P_W_INIT));
    bool ok = true;
    for (int i = 0; i <= L && ok; i++) {
        size_t nfd = (size_t)nm_get_i_at(p, P_N_FD);
        if (i >= 1) {
            r.uW[i] = gsl_matrix_calloc(n[i], n[i - 1]), r.gW[i] = gsl_matrix_calloc(n[i], n[i - 1]);
            r.fdW[i] = draw_entries(n[i] * n[i - 1], nfd, frng, &r.nfdW[i]);
            ok = r.uW[i] && r.gW[i] && r.fdW[i];
        }
        if (i < L && ok) {
            r.uG[i] = gsl_matrix_calloc(n[i], n[i + 1]), r.gG[i] = gsl_matrix_calloc(n[i], n[i + 1]);
            r.fdG[i] = draw_entries(n[i] * n[i + 1], nfd, frng, &r.nfdG[i]);
            ok = r.uG[i] && r.gG[i] && r.fdG[i];
        }
    }
    if (!ok) {
        rc = nm_task_fail(t, "folded: out of memory");
        goto out;
    }
    for (size_t q = 0; q < r.d.ntr; q++)
        order[q] = q;
    double eta_bp = nm_get_f_at(p, P_ETA_BP), ridge = nm_get_f_at(p, P_RIDGE);
    int64_t epochs = nm_get_i_at(p, P_EPOCHS);
    for (int64_t e = 0;; e++) {
        if (e % every == 0) {
            size_t j = (size_t)(e / every);
            evaluate(&r, ridge, &mse[j], &acc[j]);
            if (r.n_grad > 0)
                resid[j] = cosines(&r, cosW + j * (size_t)L, cosG + j * (size_t)L, &iters[j]);
            if (!r.folded)
                resid[j] = iters[j] = 0;
        }
        if (e == epochs)
            break;
        if (nm_task_expired(t)) {
            rc = nm_task_fail(t, "folded: stopped at epoch %lld of %lld", (long long)e,
                              (long long)epochs);
            goto out;
        }
        gsl_ran_shuffle(orng, order, r.d.ntr, sizeof *order);
        for (size_t q = 0; q < r.d.ntr; q++) {
            const double *x = r.d.xtr + order[q] * nx;
            if (r.folded)
                fd_learn(r.net, x);
            else
                fd_backprop(r.net, x, r.net->W, r.net->G, eta_bp);
        }
    }
    for (size_t q = 0; q < nshow; q++) {
        fd_autoencode(r.net, r.d.xte + q * nx);
        memcpy(recon + q * nx, r.net->xhat->data, nx * sizeof *recon);
    }
out:
    free(order);
    run_free(&r);
    return rc;
}

const nm_kernel nm_kernel_folded = {
    .name = "folded",
    .version = "2",
    .doc = "folded autoencoder (Dold et al.): W encodes, G decodes in the same dendritic "
           "neurons, mixed by lambda; local plasticity; backprop AE and PCA baselines",
    .params = params,
    .nparams = NPARAMS,
    .outputs = outputs,
    .noutputs = NOUTPUTS,
    .cost = cost,
    .run = run,
    .check = check,
    .prepare = fd_prepare,
    .release = fd_release,
};

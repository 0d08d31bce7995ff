/* test_dendnet_tcn.c: the temporal convolutional network of the `dendnet`
 * kernel (dn_tcn.c): its gradients against central finite differences at
 * depths 1 to 3, with plain L2 weight decay too, decoupled decay, its
 * causality, Adam learning a known causal filter, and the
 * metrics (AUC, TPR at a false-positive rate) on cases worked by hand. */
#include "testutil.h"

#include <gsl/gsl_rng.h>

#include "../../src/kernels/dendnet/dendnet.h"

/* Loss of one forward pass at the current weights. */
static double loss_at(dn_tcn *n, dn_work *w, const double *x, int B, const uint8_t *y,
                      const double *v, double vw)
{
    const double *lo, *vo;
    dn_tcn_forward(n, w, x, B, &lo, &vo);
    size_t N = (size_t)B * 7;
    double s = 0;
    for (size_t j = 0; j < N; j++) {
        double z = lo[j], e = vo[j] - v[j];
        s += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[j] * z + vw * e * e;
    }
    return s / (double)N;
}

/* Is parameter i a weight (convolution or head), not a bias? */
static bool is_weight(const dn_tcn *n, size_t i)
{
    for (int l = 0; l < n->depth; l++)
        if (i >= n->off_W[l] && i < n->off_b[l])
            return true;
    return i >= n->off_head && i < n->off_hb;
}

/* A random network of `depth` layers (3 inputs, width 4, rf 6) on 2 random
 * windows of 7 bins, its weights and biases jittered so that every term of
 * the gradient is exercised. */
enum { FD_CIN = 3, FD_B = 2, FD_L = 7 };
typedef struct {
    dn_tcn *n;
    dn_work *w;
    double *x, v[FD_B * FD_L], vw;
    uint8_t y[FD_B * FD_L];
} fd_problem;

static void fd_make(fd_problem *q, gsl_rng *r, int depth, double jitter)
{
    q->n = dn_tcn_alloc(FD_CIN, depth, 4, 6, 3);
    assert_non_null(q->n);
    dn_tcn_init(q->n, r, 0.2);
    for (size_t i = 0; i < q->n->np; i++)
        q->n->w[i] += jitter * (2 * gsl_rng_uniform(r) - 1);
    q->w = dn_work_alloc(q->n, FD_B, FD_L);
    int nx = FD_CIN * FD_B * (FD_L + q->n->rf - 1);
    q->x = malloc((size_t)nx * sizeof *q->x);
    for (int i = 0; i < nx; i++)
        q->x[i] = gsl_rng_uniform(r) < 0.4;
    for (int j = 0; j < FD_B * FD_L; j++)
        q->y[j] = gsl_rng_uniform(r) < 0.3, q->v[j] = gsl_rng_uniform(r) - 0.5;
}

static void fd_free(fd_problem *q)
{
    free(q->x);
    dn_work_free(q->w);
    dn_tcn_free(q->n);
}

/* Loss (with the L2 penalty wd/2 sum w^2 over the weights) at the current
 * parameters, computed here from the forward pass alone. */
static double fd_loss(fd_problem *q, double wd)
{
    double pen = 0;
    for (size_t i = 0; i < q->n->np; i++)
        if (is_weight(q->n, i))
            pen += 0.5 * wd * q->n->w[i] * q->n->w[i];
    return loss_at(q->n, q->w, q->x, FD_B, q->y, q->v, q->vw) + pen;
}

/* Largest |central difference - g[i]| over every parameter; *gmax gets the
 * largest |g[i]|. */
static double fd_worst(fd_problem *q, double wd, const double *g, double *gmax)
{
    double worst = 0;
    *gmax = 0;
    for (size_t i = 0; i < q->n->np; i++) {
        double h = 1e-6, keep = q->n->w[i];
        q->n->w[i] = keep + h;
        double up = fd_loss(q, wd);
        q->n->w[i] = keep - h;
        double dn = fd_loss(q, wd);
        q->n->w[i] = keep;
        worst = fmax(worst, fabs((up - dn) / (2 * h) - g[i]));
        *gmax = fmax(*gmax, fabs(g[i]));
    }
    return worst;
}

static void gradients_match_finite_differences(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    for (int depth = 1; depth <= 3; depth++) {
        fd_problem q = {.vw = 0.7};
        fd_make(&q, r, depth, 0.05);
        const double *lo, *vo;
        double bce, mse, gmax;
        dn_tcn_forward(q.n, q.w, q.x, FD_B, &lo, &vo);
        double loss = dn_tcn_backward(q.n, q.w, q.y, q.v, q.vw, &bce, &mse);
        assert_true(fabs(loss - fd_loss(&q, 0)) < 1e-12);
        double *g = malloc(q.n->np * sizeof *g);
        memcpy(g, q.n->g, q.n->np * sizeof *g);
        double worst = fd_worst(&q, 0, g, &gmax);
        if (!(worst < 1e-7 * fmax(gmax, 1e-3))) {
            print_error("depth %d: worst |fd - grad| %.3g, max |grad| %.3g\n", depth, worst, gmax);
            fail();
        }
        assert_true(gmax > 1e-3);
        free(g);
        fd_free(&q);
    }
    gsl_rng_free(r);
}

/* Plain L2 decay: the penalty wd/2 sum w^2 over the weights (not the
 * biases), and its gradient added to the loss's, against central finite
 * differences of loss + penalty. */
static void l2_decay_gradient_matches_finite_differences(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 21);
    double wd = 0.3, bce, mse, gmax;
    fd_problem q = {.vw = 0.5};
    fd_make(&q, r, 2, 0.1); /* biases away from 0, so that decaying them would show */
    const double *lo, *vo;
    dn_tcn_forward(q.n, q.w, q.x, FD_B, &lo, &vo);
    double loss = dn_tcn_backward(q.n, q.w, q.y, q.v, q.vw, &bce, &mse);
    double *g0 = malloc(q.n->np * sizeof *g0), *g = malloc(q.n->np * sizeof *g);
    memcpy(g0, q.n->g, q.n->np * sizeof *g0);
    double pen = dn_tcn_l2(q.n, wd);
    memcpy(g, q.n->g, q.n->np * sizeof *g);
    assert_true(fabs(loss + pen - fd_loss(&q, wd)) < 1e-12);
    double worst = fd_worst(&q, wd, g, &gmax), shift = 0;
    for (size_t i = 0; i < q.n->np; i++) {
        shift = fmax(shift, fabs(g[i] - g0[i]));
        if (!is_weight(q.n, i))
            assert_true(g[i] == g0[i]); /* biases are not decayed */
    }
    if (!(worst < 1e-7 * fmax(gmax, 1e-3))) {
        print_error("worst |fd - grad| %.3g, max |grad| %.3g\n", worst, gmax);
        fail();
    }
    assert_true(shift > 1e-3); /* the decay's term did change the gradient */
    free(g0), free(g);
    fd_free(&q);
    gsl_rng_free(r);
}

/* Decoupled decay: with a zero gradient Adam's step is 0, so one step
 * leaves exactly w (1 - lr wd) on the weights and the biases untouched. */
static void decoupled_decay_shrinks_weights_not_biases(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 4);
    dn_tcn *n = dn_tcn_alloc(2, 3, 3, 9, 5);
    dn_tcn_init(n, r, 0.3);
    for (size_t i = 0; i < n->np; i++)
        n->w[i] += 0.1;
    double *before = malloc(n->np * sizeof *before), lr = 0.01, wd = 2.5;
    memcpy(before, n->w, n->np * sizeof *before);
    memset(n->g, 0, n->np * sizeof *n->g);
    dn_tcn_adam(n, lr, 0.9, 0.999, 1e-8, wd);
    size_t nw = 0;
    for (size_t i = 0; i < n->np; i++) {
        double want = is_weight(n, i) ? before[i] * (1 - lr * wd) : before[i];
        nw += is_weight(n, i);
        assert_true(fabs(n->w[i] - want) <= 1e-15 * fabs(want));
    }
    assert_int_equal(nw, n->np - (3 * 3 + 2)); /* all but 3 layers' biases and 2 head biases */
    free(before);
    dn_tcn_free(n);
    gsl_rng_free(r);
}

/* Output bin t changes with input bins t - rf + 1 .. t and no others. */
static void outputs_are_causal_with_their_receptive_field(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    dn_tcn *n = dn_tcn_alloc(2, 3, 5, 9, 5);
    assert_int_equal(n->K[0], 5);
    assert_int_equal(n->K[1], 3);
    assert_int_equal(n->rf, 9);
    dn_tcn_init(n, r, 0.1);
    for (size_t i = 0; i < n->np; i++)
        n->w[i] += 0.05; /* positive biases: every unit active, every path open */
    int L = 10, Lin = L + n->rf - 1;
    dn_work *w = dn_work_alloc(n, 1, L);
    double *x = calloc(2 * Lin, sizeof *x), base[10];
    const double *lo, *vo;
    dn_tcn_forward(n, w, x, 1, &lo, &vo);
    memcpy(base, lo, sizeof base);
    int s = 12; /* input bin s is output bin s - (rf - 1) = 4 */
    x[s] = 1;
    dn_tcn_forward(n, w, x, 1, &lo, &vo);
    for (int t = 0; t < L; t++) {
        bool sees = t + n->rf - 1 >= s && t + n->rf - 1 - s < n->rf;
        if (sees)
            assert_true(fabs(lo[t] - base[t]) > 1e-9);
        else
            assert_true(fabs(lo[t] - base[t]) == 0);
    }
    free(x);
    dn_work_free(w);
    dn_tcn_free(n);
    gsl_rng_free(r);
}

/* A depth-1 network learns a voltage that is a causal filter of the input
 * (v[t] = x[t] - 0.5 x[t-2]) to a small error with Adam. */
static void adam_learns_a_causal_filter(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 9);
    dn_tcn *n = dn_tcn_alloc(1, 1, 4, 4, 0);
    dn_tcn_init(n, r, 0.5);
    int B = 4, L = 32, Lin = L + 3;
    dn_work *w = dn_work_alloc(n, B, L);
    double *x = malloc((size_t)B * Lin * sizeof *x), v[128], first = 0, mse = 0, bce;
    uint8_t y[128];
    for (int it = 0; it < 1500; it++) {
        for (int i = 0; i < B * Lin; i++)
            x[i] = gsl_rng_uniform(r) < 0.5;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < L; t++) {
                const double *xb = x + b * Lin + 3;
                v[b * L + t] = xb[t] - 0.5 * xb[t - 2];
                y[b * L + t] = xb[t] > 0;
            }
        const double *lo, *vo;
        dn_tcn_forward(n, w, x, B, &lo, &vo);
        dn_tcn_backward(n, w, y, v, 1.0, &bce, &mse);
        if (it == 0)
            first = mse;
        dn_tcn_adam(n, 0.01, 0.9, 0.999, 1e-8, 0);
    }
    assert_true(first > 0.2);
    assert_true(mse < 0.01);
    assert_true(bce < 0.05);
    free(x);
    dn_work_free(w);
    dn_tcn_free(n);
    gsl_rng_free(r);
}

static void auc_and_tpr_by_hand(void **state)
{
    (void)state;
    double s[6] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.9};
    uint8_t y[6] = {0, 0, 1, 1, 1, 0};
    /* pairs (pos, neg): (0.35: beats 0.1) 1; (0.8: beats 0.1, 0.4) 2; (0.4:
     * beats 0.1, ties 0.4) 1.5 -> 4.5 / 9 */
    assert_true(fabs(dn_auc(s, y, 6) - 0.5) < 1e-12);
    uint8_t y2[6] = {0, 0, 0, 1, 0, 1};
    assert_true(fabs(dn_auc(s, y2, 6) - 1.0) < 1e-12);
    uint8_t none[6] = {0};
    assert_true(dn_auc(s, none, 6) == -1);
    /* 3 negatives; fpr 0.34 allows one above the threshold (the 2nd-largest
     * negative, 0.4): of the positives {0.35, 0.8, 0.4} only 0.8 is above. */
    assert_true(fabs(dn_tpr_at_fpr(s, y, 6, 0.34) - 1.0 / 3) < 1e-12);
    assert_true(dn_tpr_at_fpr(s, y, 6, 0.33) == 0); /* none allowed: above 0.9 */
    /* fpr 0: above the largest negative 0.9: none. */
    assert_true(dn_tpr_at_fpr(s, y, 6, 0.0) == 0);
    assert_true(dn_tpr_at_fpr(s, y2, 6, 0.0) == 1.0);
}

static void bad_shapes_are_refused(void **state)
{
    (void)state;
    assert_null(dn_tcn_alloc(0, 1, 4, 5, 0));
    assert_null(dn_tcn_alloc(3, 9, 4, 20, 5));
    assert_null(dn_tcn_alloc(3, 2, 4, 5, 5)); /* first kernel must leave room for the rest */
    dn_tcn *n = dn_tcn_alloc(3, 7, 4, 43, 13);
    assert_non_null(n);
    assert_int_equal(n->rf, 43);
    dn_tcn_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(l2_decay_gradient_matches_finite_differences),
        cmocka_unit_test(decoupled_decay_shrinks_weights_not_biases),
        cmocka_unit_test(outputs_are_causal_with_their_receptive_field),
        cmocka_unit_test(adam_learns_a_causal_filter),
        cmocka_unit_test(auc_and_tpr_by_hand),
        cmocka_unit_test(bad_shapes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

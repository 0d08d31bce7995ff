/* test_dendnet_tcn.c: the temporal convolutional network of the `dendnet`
 * kernel (dn_tcn.c): its gradients against central finite differences at
 * depths 1 to 3, its causality, Adam learning a known causal filter, and the
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

static void gradients_match_finite_differences(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    for (int depth = 1; depth <= 3; depth++) {
        int cin = 3, width = 4, B = 2, L = 7;
        dn_tcn *n = dn_tcn_alloc(cin, depth, width, 6, 3);
        assert_non_null(n);
        dn_tcn_init(n, r, 0.2);
        for (size_t i = 0; i < n->np; i++) /* biases too, so that every term is exercised */
            n->w[i] += 0.1 * gsl_rng_uniform(r) - 0.05;
        dn_work *w = dn_work_alloc(n, B, L);
        int Lin = L + n->rf - 1;
        double *x = malloc((size_t)cin * B * Lin * sizeof *x), v[14];
        uint8_t y[14];
        for (int i = 0; i < cin * B * Lin; i++)
            x[i] = gsl_rng_uniform(r) < 0.4;
        for (int j = 0; j < B * L; j++)
            y[j] = gsl_rng_uniform(r) < 0.3, v[j] = gsl_rng_uniform(r) - 0.5;
        const double *lo, *vo;
        double bce, mse, vw = 0.7;
        dn_tcn_forward(n, w, x, B, &lo, &vo);
        double loss = dn_tcn_backward(n, w, y, v, vw, &bce, &mse);
        assert_true(fabs(loss - loss_at(n, w, x, B, y, v, vw)) < 1e-12);
        double *g = malloc(n->np * sizeof *g);
        memcpy(g, n->g, n->np * sizeof *g);
        double worst = 0, gmax = 0;
        for (size_t i = 0; i < n->np; i++) {
            double h = 1e-6, keep = n->w[i];
            n->w[i] = keep + h;
            double up = loss_at(n, w, x, B, y, v, vw);
            n->w[i] = keep - h;
            double dn = loss_at(n, w, x, B, y, v, vw);
            n->w[i] = keep;
            double fd = (up - dn) / (2 * h);
            worst = fmax(worst, fabs(fd - g[i]));
            gmax = fmax(gmax, fabs(g[i]));
        }
        if (!(worst < 1e-7 * fmax(gmax, 1e-3))) {
            print_error("depth %d: worst |fd - grad| %.3g, max |grad| %.3g\n", depth, worst, gmax);
            fail();
        }
        assert_true(gmax > 1e-3);
        free(g), free(x);
        dn_work_free(w);
        dn_tcn_free(n);
    }
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
        dn_tcn_adam(n, 0.01, 0.9, 0.999, 1e-8);
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
        cmocka_unit_test(outputs_are_causal_with_their_receptive_field),
        cmocka_unit_test(adam_learns_a_causal_filter),
        cmocka_unit_test(auc_and_tpr_by_hand),
        cmocka_unit_test(bad_shapes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_metaplastic.c: the metaplastic kernel (src/kernels/metaplastic/):
 * the forward-mode meta-gradient against central finite differences with
 * common random numbers (same data, same initial W and B) for feedback
 * alignment and backprop with the whole pool; F0 with tied feedback as
 * exactly one step of gradient descent; the feedback angles; and the input
 * checks, from the sweep file (sizes, classes) and from the data files
 * (pixels, images per class), all before any task runs. */
#include "testutil.h"

#include "../../src/kernels/metaplastic/mp.h"
#include "neuromic/internal/spec.h"
#include "neuromic/internal/task.h"
#include "neuromic/kernel.h"

enum { NTR = 10, NQ = 6 };

static mp_config small(mp_feedback fb, int R)
{
    mp_config c = {.L = 3, .n = {12, 7, 5, 3}, .feedback = fb, .beta = 10, .R = R,
                   .tangents = true, .angles = true};
    for (int k = 0; k < R; k++)
        c.term[k] = k;
    return c;
}

/* Inputs in [0, 1), labels 0..2: the same for every call (common random numbers). */
static void data(double *xtr, int *ytr, double *xq, int *yq)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    for (int i = 0; i < NTR * 12; i++)
        xtr[i] = gsl_rng_uniform(r);
    for (int i = 0; i < NQ * 12; i++)
        xq[i] = gsl_rng_uniform(r);
    for (int i = 0; i < NTR; i++)
        ytr[i] = i % 3;
    for (int i = 0; i < NQ; i++)
        yq[i] = (i + 1) % 3;
    gsl_rng_free(r);
}

static void init_weights(mp_net *net, unsigned long seed, const double *theta)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    mp_net_init(net, r, theta);
    gsl_rng_free(r);
}

/* The query loss after an episode from the initial weights of seed 11. */
static double episode_loss(mp_net *net, const double *theta, mp_result *out)
{
    double xtr[NTR * 12], xq[NQ * 12];
    int ytr[NTR], yq[NQ];
    data(xtr, ytr, xq, yq);
    init_weights(net, 11, theta);
    mp_episode(net, theta, xtr, ytr, NTR, xq, yq, NQ, out);
    return out->loss;
}

/* The largest relative difference between the episode's meta-gradient and
 * central differences of the query loss, over every component; with a
 * label, a component off by more than 1e-5 relative fails the test. */
static double gradient_error(mp_net *net, const double *theta, int M, const char *what)
{
    mp_result r, rp, rm;
    double worst = 0;
    episode_loss(net, theta, &r);
    for (int m = 0; m < M; m++) {
        double h = 1e-5, tp[MP_MAXPARAM], tm[MP_MAXPARAM];
        memcpy(tp, theta, M * sizeof *tp), memcpy(tm, theta, M * sizeof *tm);
        tp[m] += h, tm[m] -= h;
        double fd = (episode_loss(net, tp, &rp) - episode_loss(net, tm, &rm)) / (2 * h);
        double g = r.grad[m], scale = fmax(fabs(fd), fabs(g));
        if (!(scale > 1e-6))
            fail_msg("%s, parameter %d: gradient %.3g too small to compare", what, m, scale);
        double rel = fabs(g - fd) / scale;
        worst = rel > worst ? rel : worst;
        if (what && !(rel <= 1e-5))
            fail_msg("%s, parameter %d: forward mode %.12g, central difference %.12g "
                     "(relative %.3g)", what, m, g, fd, rel);
    }
    return worst;
}

static void check_gradient(mp_net *net, const double *theta, int M, const char *what)
{
    gradient_error(net, theta, M, what);
}

static void meta_gradient_matches_finite_differences(mp_feedback fb)
{
    mp_config c = small(fb, MP_NTERMS);
    mp_net *net = mp_net_alloc(&c);
    assert_non_null(net);
    /* large enough that every term moves the weights visibly in 10 steps */
    double theta[MP_NTERMS] = {0.3, 0.05, 0.04, -0.03, 0.02, 0.01};
    check_gradient(net, theta, MP_NTERMS, fb == MP_FA ? "plain, fa" : "plain, bp");
    mp_net_free(net);
}

static void meta_gradient_fa(void **state)
{
    meta_gradient_matches_finite_differences(MP_FA);
}

static void meta_gradient_bp(void **state)
{
    meta_gradient_matches_finite_differences(MP_BP);
}

/* Chemical synapses: every one of P, K, v and the layers' b against
 * central differences. */
static void chemical_meta_gradient_matches_finite_differences(mp_feedback fb)
{
    mp_config c = small(fb, 3);
    c.chemical = true, c.nchem = 2, c.tau_min = 1, c.tau_max = 10;
    int M = mp_nparams(&c);
    assert_int_equal(M, 2 * 3 + 4 + 2 + 2 * 3);
    mp_net *net = mp_net_alloc(&c);
    assert_non_null(net);
    double theta[MP_MAXPARAM];
    mp_chem_start(&c, 0.3, theta);
    for (int m = 0; m < M; m++) /* off the start's zeros and ones, each by its own amount */
        theta[m] += 0.05 * sin(1.0 + 2.3 * m);
    check_gradient(net, theta, M, fb == MP_FA ? "chemical, fa" : "chemical, bp");
    mp_net_free(net);
}

static void chemical_meta_gradient_fa(void **state)
{
    chemical_meta_gradient_matches_finite_differences(MP_FA);
}

static void chemical_meta_gradient_bp(void **state)
{
    chemical_meta_gradient_matches_finite_differences(MP_BP);
}

/* Learned feedback: theta (whole pool) and the feedback rule's phi against
 * central differences, for phi on (every G moves B) and at its start 0. */
static void learned_feedback_meta_gradient(void **state)
{
    mp_config c = small(MP_LEARNED, MP_NTERMS);
    int M = mp_nparams(&c);
    assert_int_equal(M, MP_NTERMS + MP_NFB);
    mp_net *net = mp_net_alloc(&c);
    assert_non_null(net);
    double theta[MP_NTERMS + MP_NFB] = {0.3, 0.05, 0.04, -0.03, 0.02, 0.01, 0.2, 0.1, 0.05};
    check_gradient(net, theta, M, "learned, phi on");
    double start[MP_NTERMS + MP_NFB] = {0.3, 0.05, 0.04, -0.03, 0.02, 0.01};
    check_gradient(net, start, M, "learned, phi = 0");
    mp_net_free(net);
}

/* The comparison catches a broken tangent: a relative error of 1e-3 put into
 * one term of B's tangent (the direct term of G0) shows up well above the
 * 1e-5 the tests accept, and without it the same comparison passes. */
static void a_broken_tangent_fails_the_comparison(void **state)
{
    mp_config c = small(MP_LEARNED, 3);
    double theta[3 + MP_NFB] = {0.3, 0.05, 0.04, 0.2, 0.1, 0.05};
    mp_net *net = mp_net_alloc(&c);
    double ok = gradient_error(net, theta, 3 + MP_NFB, NULL);
    mp_net_free(net);
    c.fault = 1e-3;
    net = mp_net_alloc(&c);
    double broken = gradient_error(net, theta, 3 + MP_NFB, NULL);
    mp_net_free(net);
    if (!(ok <= 1e-5 && broken > 1e-5))
        fail_msg("largest relative error %.3g intact, %.3g with a broken tangent", ok, broken);
}

/* Learned feedback with phi = 0 is feedback alignment: the same losses,
 * angles and theta-gradient as fa from the same W and B. */
static void learned_feedback_at_zero_is_fa(void **state)
{
    mp_config cl = small(MP_LEARNED, 3), cf = small(MP_FA, 3);
    double theta[3 + MP_NFB] = {0.3, 0.05, 0.04, 0, 0, 0};
    mp_net *nl = mp_net_alloc(&cl), *nf = mp_net_alloc(&cf);
    mp_result rl, rf;
    assert_true(episode_loss(nl, theta, &rl) == episode_loss(nf, theta, &rf));
    for (int k = 0; k < 3; k++)
        assert_true(fabs(rl.grad[k] - rf.grad[k]) <= 1e-12 * fabs(rf.grad[k]));
    for (int l = 1; l < 3; l++)
        assert_true(rl.angle[l] == rf.angle[l]);
    /* and with phi on, B (hence the angles) moves */
    theta[3] = 0.5;
    episode_loss(nl, theta, &rl);
    assert_true(fabs(rl.angle[2] - rf.angle[2]) > 0.1);
    mp_net_free(nl), mp_net_free(nf);
}

/* A pool that leaves out terms: the gradient of each term kept is the
 * same as with the whole pool at the same theta (zeros elsewhere). */
static void smaller_pool_gives_the_same_partial_derivatives(void **state)
{
    mp_config c3 = small(MP_FA, 3), c6 = small(MP_FA, MP_NTERMS);
    mp_net *n3 = mp_net_alloc(&c3), *n6 = mp_net_alloc(&c6);
    double theta[MP_NTERMS] = {0.2, 0.03, -0.02, 0, 0, 0};
    mp_result r3, r6;
    assert_true(fabs(episode_loss(n3, theta, &r3) - episode_loss(n6, theta, &r6)) < 1e-13);
    for (int k = 0; k < 3; k++)
        assert_true(fabs(r3.grad[k] - r6.grad[k]) <= 1e-12 * fabs(r6.grad[k]) + 1e-15);
    mp_net_free(n3), mp_net_free(n6);
}

/* With B = W and the pool {F0}, one plastic update is one step of gradient
 * descent on the cross-entropy of that example: W' = W - theta0 dCE/dW,
 * the gradient taken here by central differences of the loss in W. */
static void f0_with_tied_feedback_is_gradient_descent(void **state)
{
    mp_config c = small(MP_BP, 1);
    c.tangents = false;
    mp_net *net = mp_net_alloc(&c);
    double xtr[NTR * 12], xq[NQ * 12];
    int ytr[NTR], yq[NQ];
    data(xtr, ytr, xq, yq);
    double theta[1] = {0.5};
    init_weights(net, 3, theta);
    size_t sizes[4] = {0, 7 * 12, 5 * 7, 3 * 5};
    double *before[4] = {0}, *grad[4] = {0};
    mp_result q;
    for (int l = 1; l <= 3; l++) {
        double *W = mp_net_weights(net, l);
        before[l] = malloc(sizes[l] * sizeof(double));
        grad[l] = malloc(sizes[l] * sizeof(double));
        memcpy(before[l], W, sizes[l] * sizeof(double));
        for (size_t i = 0; i < sizes[l]; i++) {
            double w = W[i], h = 1e-6, lp, lm;
            W[i] = w + h;
            mp_net_query(net, xtr, ytr, 1, &q);
            lp = q.loss;
            W[i] = w - h;
            mp_net_query(net, xtr, ytr, 1, &q);
            lm = q.loss;
            W[i] = w;
            grad[l][i] = (lp - lm) / (2 * h);
        }
    }
    mp_net_learn(net, theta, xtr, ytr[0], NULL);
    for (int l = 1; l <= 3; l++) {
        const double *W = mp_net_weights(net, l);
        for (size_t i = 0; i < sizes[l]; i++) {
            double want = before[l][i] - 0.5 * grad[l][i];
            if (!(fabs(W[i] - want) <= 1e-8))
                fail_msg("layer %d weight %zu: %.12g, gradient step gives %.12g", l, i, W[i],
                         want);
        }
        free(before[l]), free(grad[l]);
    }
    mp_net_free(net);
}

/* Backprop's signals are their own reference (angle 0); random feedback's
 * are not (angle well above 0 with fresh random B). */
static void feedback_angles(void **state)
{
    double theta[1] = {0.1};
    mp_result rb, rf;
    mp_config cb = small(MP_BP, 1), cf = small(MP_FA, 1);
    mp_net *nb = mp_net_alloc(&cb), *nf = mp_net_alloc(&cf);
    episode_loss(nb, theta, &rb);
    episode_loss(nf, theta, &rf);
    for (int l = 1; l < 3; l++) {
        assert_true(rb.angle[l] < 1e-5);
        assert_true(rf.angle[l] > 20 && rf.angle[l] <= 180);
    }
    mp_net_free(nb), mp_net_free(nf);
}

/* ---- input checks ---- */

static void spec_rejects(const char *text, const char *needle)
{
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("mp.yaml", text, strlen(text), NULL, 0, &sw, &err),
                     NM_ERR_INPUT);
    assert_null(sw);
    assert_contains(err.msg, needle);
}

static void sizes_and_classes_are_checked_when_the_spec_is_read(void **state)
{
    spec_rejects("kernel: metaplastic\nfixed: {n_out: 4}\n",
                 "n_out = 4 does not match ways = 5");
    spec_rejects("kernel: metaplastic\nfixed: {h2: 0, h3: 8}\n",
                 "h2 = 0 ends the hidden layers, but h3 = 8 is not 0");
    spec_rejects("kernel: metaplastic\nfixed: {test_classes: 3}\n",
                 "test_classes = 3 is fewer than ways = 5");
    spec_rejects("kernel: metaplastic\nfixed: {feedback: learned, synapse: chemical}\n",
                 "feedback = learned is not built for synapse = chemical");
    spec_rejects("kernel: metaplastic\nfixed: {h1: 0, h2: 0, h3: 0, h4: 0}\n",
                 "empty dimension 'hidden'");
}

static const char *fmnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

/* prepare() reads the files and refuses a point they cannot serve; the
 * message names the parameter and the file. */
static void prepare_rejects(const char *text, const char *needle)
{
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("mp.yaml", text, strlen(text), NULL, 0, &sw, &err), NM_OK);
    nm_shared *sh = NULL;
    nm_status st = nm_shared_prepare(sw, false, &sh, &err);
    if (!needle) {
        if (st != NM_OK)
            fail_msg("%s", err.msg);
        assert_non_null(nm_shared_data(sh));
        nm_shared_free(sh);
    } else {
        if (st != NM_ERR_INPUT)
            fail_msg("accepted, expected \"%s\"", needle);
        assert_null(sh);
        assert_contains(err.msg, needle);
    }
    nm_sweep_free(sw);
}

static void data_sizes_are_checked_before_any_task(void **state)
{
    FILE *f = fopen(fmnist, "rb");
    if (!f)
        skip();
    fclose(f);
    prepare_rejects("kernel: metaplastic\nfixed: {max_images: 1000}\n", NULL);
    prepare_rejects("kernel: metaplastic\nfixed: {max_images: 1000, downsample: true}\n",
                    "n_in = 784 does not match the images of "
                    "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz: 28 x 28, "
                    "downsampled 2x2 = 196 pixels");
    prepare_rejects("kernel: metaplastic\nfixed: {max_images: 1000, downsample: true, n_in: 196}\n",
                    NULL);
    prepare_rejects("kernel: metaplastic\nfixed: {max_images: 1000, shots: 100}\n",
                    "shots + queries = 110 exceeds the");
    prepare_rejects("kernel: metaplastic\nfixed: {max_images: 1000, ways: 3, n_out: 3, "
                    "test_classes: 8}\n",
                    "test_classes = 8 of the 10 classes in "
                    "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz leaves fewer "
                    "than ways = 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_gradient_fa),
        cmocka_unit_test(meta_gradient_bp),
        cmocka_unit_test(chemical_meta_gradient_fa),
        cmocka_unit_test(chemical_meta_gradient_bp),
        cmocka_unit_test(learned_feedback_meta_gradient),
        cmocka_unit_test(a_broken_tangent_fails_the_comparison),
        cmocka_unit_test(learned_feedback_at_zero_is_fa),
        cmocka_unit_test(smaller_pool_gives_the_same_partial_derivatives),
        cmocka_unit_test(f0_with_tied_feedback_is_gradient_descent),
        cmocka_unit_test(feedback_angles),
        cmocka_unit_test(sizes_and_classes_are_checked_when_the_spec_is_read),
        cmocka_unit_test(data_sizes_are_checked_before_any_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_folded.c: the folded autoencoder's equations (src/kernels/folded/):
 * the relaxed dynamics end at the energy's stationary point; the local
 * updates against backprop's gradients at the edge values of lambda; the
 * backprop autoencoder against finite differences; PCA and the readout; the
 * digits reader on the shipped file and on damaged ones. */
#include "testutil.h"

#include <unistd.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <zlib.h>

#include "../../src/kernels/folded/folded.h"

static fd_config config(double lambda)
{
    return (fd_config){
        .phi = {.kind = MC_PHI_LOGISTIC, .gamma = 1, .beta = 1, .theta = 0},
        .lambda = lambda, .tau = 1, .relax = FD_RELAX_FIXED, .dt = 0.05, .t_pattern = 200,
        .prospective = false, .damping = 0.5, .tol = 1e-13, .max_iter = 100000,
        .eta_W = 0.1, .eta_G = 0.1,
    };
}

static fd_net *net_of(double lambda, const size_t *n, int L, double w, unsigned long seed)
{
    fd_config c = config(lambda);
    fd_net *net = fd_net_alloc(&c, n, L);
    assert_non_null(net);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    fd_net_init_random(net, rng, w);
    gsl_rng_free(rng);
    return net;
}

static void input(double *x, size_t n, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    for (size_t j = 0; j < n; j++)
        x[j] = gsl_rng_uniform(rng);
    gsl_rng_free(rng);
}

static double max_abs_diff(const gsl_vector *a, const gsl_vector *b)
{
    double m = 0;
    for (size_t j = 0; j < a->size; j++)
        m = fmax(m, fabs(gsl_vector_get(a, j) - gsl_vector_get(b, j)));
    return m;
}

/* The fixed point of the somatic equation is where dE/du = 0 (checked by
 * central differences of the energy), and Euler on tau du/dt = -dE/du ends
 * there, with and without prospective rates. */
static void relaxation_ends_at_the_energy_stationary_point(void **state)
{
    (void)state;
    static const size_t n[] = {6, 5, 4, 3};
    const double lambdas[] = {0.0, 0.3, 1.0};
    double x[6];
    input(x, 6, 11);
    for (size_t l = 0; l < 3; l++) {
        fd_net *net = net_of(lambdas[l], n, 3, 1.5, 5);
        assert_true(fd_relax(net, x) < 1e-12);
        gsl_vector *uf[4];
        for (int i = 1; i <= 3; i++) {
            uf[i] = gsl_vector_alloc(n[i]);
            gsl_vector_memcpy(uf[i], net->u[i]);
        }
        /* dE/du_i = 0 at the fixed point; a step away from it costs energy */
        double e0 = fd_energy(net, x), gmax = 0;
        for (int i = 1; i <= 3; i++)
            for (size_t j = 0; j < n[i]; j++) {
                double u = gsl_vector_get(net->u[i], j), h = 1e-6;
                gsl_vector_set(net->u[i], j, u + h);
                double ep = fd_energy(net, x);
                gsl_vector_set(net->u[i], j, u - h);
                double em = fd_energy(net, x);
                gsl_vector_set(net->u[i], j, u);
                gmax = fmax(gmax, fabs(ep - em) / (2 * h));
                assert_true(ep > e0 - 1e-12 && em > e0 - 1e-12);
            }
        assert_true(gmax < 1e-7);
        /* away from the fixed point the gradient is not zero (the check can fail) */
        gsl_vector_add_constant(net->u[1], 0.1);
        double ep = fd_energy(net, x);
        assert_true(ep > e0 + 1e-4);
        /* Euler dynamics reach the same state */
        for (int pro = 0; pro < 2; pro++) {
            net->c.relax = FD_RELAX_EULER;
            net->c.prospective = pro;
            fd_relax(net, x);
            for (int i = 1; i <= 3; i++)
                assert_true(max_abs_diff(net->u[i], uf[i]) < 1e-8);
        }
        for (int i = 1; i <= 3; i++)
            gsl_vector_free(uf[i]);
        fd_net_free(net);
    }
}

/* With large weights (as learning makes them) a fixed step of 0.5 overshoots
 * and the plain iteration oscillates (the first digits sweep stopped at 500
 * iterations with residuals up to 8); halving a step that raises E makes the
 * iteration end at the stationary point all the same. */
static void relaxation_converges_with_large_weights(void **state)
{
    (void)state;
    static const size_t n[] = {10, 8, 3};
    for (unsigned long seed = 1; seed <= 4; seed++)
        for (int l = 0; l < 3; l++) {
            double x[10], lambda = (double[]){0.0, 0.1, 0.5}[l];
            input(x, 10, seed);
            fd_net *net = net_of(lambda, n, 2, 8.0, seed);
            net->c.tol = 1e-10;
            assert_true(fd_relax(net, x) < 1e-10);
            assert_true(net->iterations < net->c.max_iter);
            fd_rhs(net, x); /* rhs = u: the stationary equation holds */
            for (int i = 1; i <= 2; i++)
                assert_true(max_abs_diff(net->rhs[i], net->u[i]) < 1e-9);
            fd_net_free(net);
        }
}

static gsl_matrix *zeros_like(const gsl_matrix *m)
{
    return gsl_matrix_calloc(m->size1, m->size2);
}

/* Backprop's gradients of the autoencoder equal central differences. */
static void backprop_autoencoder_matches_finite_differences(void **state)
{
    (void)state;
    static const size_t n[] = {7, 5, 3};
    fd_net *net = net_of(0.5, n, 2, 1.0, 3);
    double x[7];
    input(x, 7, 4);
    gsl_matrix *dW[FD_MAX_LAYERS] = {0}, *dG[FD_MAX_LAYERS] = {0};
    for (int i = 1; i <= 2; i++)
        dW[i] = zeros_like(net->W[i]);
    for (int i = 0; i < 2; i++)
        dG[i] = zeros_like(net->G[i]);
    fd_backprop(net, x, dW, dG, 1.0);
    gsl_matrix *all[] = {net->W[1], net->W[2], net->G[0], net->G[1]};
    gsl_matrix *an[] = {dW[1], dW[2], dG[0], dG[1]};
    for (int m = 0; m < 4; m++)
        for (size_t e = 0; e < all[m]->size1 * all[m]->size2; e++) {
            double *w = &all[m]->data[(e / all[m]->size2) * all[m]->tda + e % all[m]->size2];
            double w0 = *w, h = 1e-6;
            *w = w0 + h;
            double cp = 0.5 * fd_autoencode(net, x);
            *w = w0 - h;
            double cm = 0.5 * fd_autoencode(net, x);
            *w = w0;
            double g = -(cp - cm) / (2 * h);
            double a = an[m]->data[(e / an[m]->size2) * an[m]->tda + e % an[m]->size2];
            assert_true(fabs(g - a) < 1e-7);
        }
    for (int i = 0; i < FD_MAX_LAYERS; i++) {
        if (dW[i])
            gsl_matrix_free(dW[i]);
        if (dG[i])
            gsl_matrix_free(dG[i]);
    }
    fd_net_free(net);
}

/* At lambda = 1 the forward pathway is the network: the first hidden layer
 * is nudged by the visible reconstruction error through G_0, and its W
 * update points along backprop's gradient of the two-layer net
 * x -> phi(W_1 x) -> G_0 (.) (cosine > 0.999 on random nets); the latent
 * layer receives no error, so its W does not move. At lambda = 0 every G
 * update points along the gradient of the decoder from the relaxed latent. */
static void edge_lambdas_follow_backprop(void **state)
{
    (void)state;
    static const size_t n[] = {8, 6, 3};
    for (unsigned long seed = 1; seed <= 5; seed++) {
        double x[8];
        input(x, 8, 100 + seed);
        /* lambda = 1 */
        fd_net *net = net_of(1.0, n, 2, 0.5, seed);
        fd_relax(net, x);
        gsl_matrix *uW[FD_MAX_LAYERS] = {0};
        uW[1] = zeros_like(net->W[1]), uW[2] = zeros_like(net->W[2]);
        fd_updates(net, x, uW, NULL, 1.0, 0.0);
        /* backprop on the two-layer net W_1, G_0: one hidden layer */
        static const size_t n2[] = {8, 6};
        fd_config c = config(1.0);
        fd_net *two = fd_net_alloc(&c, n2, 1);
        gsl_matrix_memcpy(two->W[1], net->W[1]);
        gsl_matrix_memcpy(two->G[0], net->G[0]);
        gsl_matrix *bW[FD_MAX_LAYERS] = {0};
        bW[1] = zeros_like(two->W[1]);
        fd_backprop(two, x, bW, NULL, 1.0);
        double cw = fd_cosine(uW[1], bW[1], NULL, 0);
        assert_true(cw > 0.999);
        double nu = 0;
        for (size_t e = 0; e < uW[1]->size1 * uW[1]->size2; e++)
            nu = fmax(nu, fabs(uW[1]->data[e]));
        assert_true(nu > 1e-3); /* a real update, not a cosine of noise */
        for (size_t e = 0; e < uW[2]->size1 * uW[2]->size2; e++)
            assert_true(fabs(uW[2]->data[e]) < 1e-10);
        gsl_matrix_free(bW[1]);
        fd_net_free(two);
        gsl_matrix_free(uW[1]), gsl_matrix_free(uW[2]);
        fd_net_free(net);

        /* lambda = 0 */
        net = net_of(0.0, n, 2, 0.5, seed);
        fd_relax(net, x);
        gsl_matrix *uG[FD_MAX_LAYERS] = {0}, *bG[FD_MAX_LAYERS] = {0};
        for (int i = 0; i < 2; i++)
            uG[i] = zeros_like(net->G[i]), bG[i] = zeros_like(net->G[i]);
        fd_updates(net, x, NULL, uG, 0.0, 1.0);
        double z[3];
        memcpy(z, net->r[2]->data, sizeof z);
        fd_backprop_decoder(net, x, z, bG, 1.0);
        for (int i = 0; i < 2; i++) {
            assert_true(fd_cosine(uG[i], bG[i], NULL, 0) > 0.999);
            gsl_matrix_free(uG[i]), gsl_matrix_free(bG[i]);
        }
        fd_net_free(net);
    }
}

/* Between the edges the G updates drift away from the decoder's gradient:
 * the mean cosine over five random nets is > 0.999 at lambda = 0, < 0.9 at
 * lambda = 0.5. */
static void mixing_moves_g_off_the_gradient(void **state)
{
    (void)state;
    static const size_t n[] = {8, 6, 3};
    double mean[2] = {0, 0};
    const double lambdas[2] = {0.0, 0.5};
    for (int l = 0; l < 2; l++)
        for (unsigned long seed = 1; seed <= 5; seed++) {
            double x[8];
            input(x, 8, 100 + seed);
            fd_net *net = net_of(lambdas[l], n, 2, 1.0, seed);
            fd_relax(net, x);
            gsl_matrix *uG = zeros_like(net->G[1]), *bG[FD_MAX_LAYERS] = {0};
            gsl_matrix *dG[FD_MAX_LAYERS] = {0};
            dG[1] = uG;
            bG[0] = zeros_like(net->G[0]), bG[1] = zeros_like(net->G[1]);
            fd_updates(net, x, NULL, dG, 0.0, 1.0);
            double z[3];
            memcpy(z, net->r[2]->data, sizeof z);
            fd_backprop_decoder(net, x, z, bG, 1.0);
            mean[l] += fd_cosine(uG, bG[1], NULL, 0) / 5;
            gsl_matrix_free(uG), gsl_matrix_free(bG[0]), gsl_matrix_free(bG[1]);
            fd_net_free(net);
        }
    assert_true(mean[0] > 0.999);
    assert_true(mean[1] < 0.9); /* 0.64 on these nets */
}

/* PCA finds the direction of largest variance; the readout separates
 * separable codes and fails to better chance on shuffled labels. */
static void pca_and_readout(void **state)
{
    (void)state;
    enum { N = 400 };
    double X[N * 3], mu[3];
    int y[N];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 9);
    for (size_t p = 0; p < N; p++) { /* variance 9 along (1,1,0)/sqrt2, 0.01 elsewhere */
        double a = 3 * gsl_ran_gaussian(rng, 1), b = 0.1 * gsl_ran_gaussian(rng, 1);
        X[p * 3 + 0] = 1 + a / sqrt(2) + b;
        X[p * 3 + 1] = 2 + a / sqrt(2) - b;
        X[p * 3 + 2] = 0.1 * gsl_ran_gaussian(rng, 1);
        y[p] = a > 0;
    }
    gsl_matrix *V = gsl_matrix_alloc(3, 1);
    assert_int_equal(fd_pca_fit(X, N, 3, 1, mu, V), 0);
    assert_true(fabs(mu[0] - 1) < 0.5 && fabs(mu[1] - 2) < 0.5);
    assert_true(fabs(fabs(gsl_matrix_get(V, 0, 0)) - 1 / sqrt(2)) < 0.01);
    assert_true(fabs(fabs(gsl_matrix_get(V, 1, 0)) - 1 / sqrt(2)) < 0.01);
    assert_true(fabs(gsl_matrix_get(V, 2, 0)) < 0.01);
    /* code = first coordinate sum: separable by sign */
    double Z[N];
    for (size_t p = 0; p < N; p++)
        Z[p] = X[p * 3] + X[p * 3 + 1] - 3;
    double acc = fd_readout_accuracy(Z, y, N / 2, Z + N / 2, y + N / 2, N / 2, 1, 2, 1e-9);
    assert_true(acc > 0.95);
    int ys[N];
    for (size_t p = 0; p < N; p++)
        ys[p] = (int)gsl_rng_uniform_int(rng, 2);
    acc = fd_readout_accuracy(Z, ys, N / 2, Z + N / 2, ys + N / 2, N / 2, 1, 2, 1e-9);
    assert_true(acc < 0.65);
    gsl_matrix_free(V);
    gsl_rng_free(rng);
}

/* ---- the digits reader ---- */

static void digits_reader_reads_the_shipped_file(void **state)
{
    (void)state;
    char why[512];
    const char *path = fd_digits_path();
    assert_int_equal(access(path, R_OK), 0); /* scripts/deps.sh installs python3-sklearn */
    mc_data *d = fd_digits_read(path, SIZE_MAX, why, sizeof why);
    if (!d)
        print_error("%s\n", why);
    assert_non_null(d);
    assert_int_equal(d->count, 1797);
    assert_int_equal(d->nx, 64);
    /* first line: 0,0,5,13,9,1,...; label 0. Last line's label: 8. */
    assert_true(fabs(d->x[2] - 5.0 / 16) < 1e-12 && fabs(d->x[3] - 13.0 / 16) < 1e-12);
    assert_int_equal(d->label[0], 0);
    assert_int_equal(d->label[1796], 8);
    int count[10] = {0};
    for (size_t p = 0; p < d->count; p++)
        count[d->label[p]]++;
    assert_int_equal(count[0], 178);
    assert_int_equal(count[8], 174);
    mc_data_free(d);
    d = fd_digits_read(path, 10, why, sizeof why);
    assert_non_null(d);
    assert_int_equal(d->count, 10);
    mc_data_free(d);
}

static void write_gz(const char *path, const char *text)
{
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzputs(f, text), (int)strlen(text));
    assert_int_equal(gzclose(f), Z_OK);
}

/* A line of 64 pixels and a label, with field `bad` (1-based, 0: none)
 * replaced by `what`. */
static void line_of(char *buf, size_t len, int bad, const char *what)
{
    size_t o = 0;
    for (int f = 1; f <= 65; f++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", f == bad ? what : (f == 65 ? "3" : "7"),
                              f < 65 ? "," : "\n");
}

static void digits_reader_names_file_line_and_field(void **state)
{
    (void)state;
    char dir[] = "/tmp/nm_digits_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], why[512], l1[512], l2[512], text[2048];
    snprintf(path, sizeof path, "%s/digits.csv.gz", dir);

    line_of(l1, sizeof l1, 0, "");
    write_gz(path, l1);
    mc_data *d = fd_digits_read(path, SIZE_MAX, why, sizeof why);
    assert_non_null(d);
    assert_int_equal(d->count, 1);
    assert_int_equal(d->label[0], 3);
    assert_true(fabs(d->x[0] - 7.0 / 16) < 1e-12);
    mc_data_free(d);

    struct {
        int field;
        const char *value, *needle;
    } cases[] = {
        {5, "x", ":2: field 5 (pixel): expected an integer"},
        {9, "17", ":2: field 9 (pixel): 17 is outside 0..16"},
        {65, "10", ":2: field 65 (label): 10 is outside 0..9"},
        {64, "3\n", ":2: 64 fields, expected 65"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        line_of(l2, sizeof l2, cases[c].field, cases[c].value);
        snprintf(text, sizeof text, "%s%s", l1, l2);
        if (cases[c].field == 64) { /* cut the line after field 64 */
            char *end = strstr(l2, "3\n");
            *end = '\0';
            snprintf(text, sizeof text, "%s%s3\n", l1, l2);
        }
        write_gz(path, text);
        assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
        assert_contains(why, path);
        assert_contains(why, cases[c].needle);
    }
    /* a line with one field too many */
    snprintf(text, sizeof text, "%s%.*s,1\n", l1, (int)strlen(l1) - 1, l1);
    write_gz(path, text);
    assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
    assert_contains(why, ":2: more than 65 fields");
    /* empty */
    write_gz(path, "\n");
    assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
    assert_contains(why, "no data lines");
    /* damaged compressed data: a flipped byte in the deflate stream, then a
     * file cut in half */
    snprintf(text, sizeof text, "%s%s%s", l1, l1, l1);
    write_gz(path, text);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_int_equal(fseek(f, 12, SEEK_SET), 0);
    int b = fgetc(f);
    assert_int_equal(fseek(f, 12, SEEK_SET), 0);
    fputc(b ^ 0xff, f);
    fclose(f);
    assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
    assert_contains(why, path);
    write_gz(path, text);
    assert_int_equal(truncate(path, size / 2), 0);
    assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
    assert_contains(why, path);
    assert_contains(why, "truncated compressed data");
    unlink(path);
    snprintf(path, sizeof path, "%s/none.csv.gz", dir);
    assert_null(fd_digits_read(path, SIZE_MAX, why, sizeof why));
    assert_contains(why, "cannot open");
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relaxation_ends_at_the_energy_stationary_point),
        cmocka_unit_test(relaxation_converges_with_large_weights),
        cmocka_unit_test(backprop_autoencoder_matches_finite_differences),
        cmocka_unit_test(edge_lambdas_follow_backprop),
        cmocka_unit_test(mixing_moves_g_off_the_gradient),
        cmocka_unit_test(pca_and_readout),
        cmocka_unit_test(digits_reader_reads_the_shipped_file),
        cmocka_unit_test(digits_reader_names_file_line_and_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

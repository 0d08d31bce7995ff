/* test_nk.c: the nk kernel's landscape, data, networks and hill-climber
 * (src/kernels/nk/): fitness against a hand-computed landscape, links and
 * tables, parameter counts, the incremental state against a full
 * recomputation for every model, the tie rule, which weights each kind of
 * move may change, and the vectorised loops (accuracy of their exp, sigmoid
 * and tanh; the same bits from every compiled copy and at every length). */
#include "testutil.h"

#include <float.h>

#include "../../src/kernels/nk/nk.h"
#include "neuromic/internal/registry.h"

static gsl_rng *rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

#define assert_near(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

/* ---- landscape and data ---- */

/* N=3, K=1, links 0->2, 1->0, 2->1; row = 2*bit_i + bit_link. */
static void fitness_matches_hand_computed_landscape(void **state)
{
    int links[3] = {2, 0, 1};
    double table[12] = {0.1, 0.2, 0.3, 0.4, /* gene 0 */
                        0.5, 0.6, 0.7, 0.8, /* gene 1 */
                        0.9, 0.0, 0.25, 0.75};
    nk_landscape l = {.n = 3, .k = 1, .links = links, .table = table};
    uint8_t g1[3] = {1, 0, 1}; /* rows: 2*1+1=3, 2*0+1=1, 2*1+0=2 */
    assert_int_equal(nk_row(&l, 0, g1), 3);
    assert_int_equal(nk_row(&l, 1, g1), 1);
    assert_int_equal(nk_row(&l, 2, g1), 2);
    assert_near(nk_fitness(&l, g1), (0.4 + 0.6 + 0.25) / 3, 1e-15);
    uint8_t g0[3] = {0, 0, 0};
    assert_near(nk_fitness(&l, g0), (0.1 + 0.5 + 0.9) / 3, 1e-15);
    uint8_t g2[3] = {0, 1, 1}; /* rows: 0*2+1=1, 2+0=2, 2+1=3 */
    assert_near(nk_fitness(&l, g2), (0.2 + 0.7 + 0.75) / 3, 1e-15);
}

/* K=2: gene i is the most significant bit, then links in order. */
static void row_bit_order_with_two_links(void **state)
{
    int links[4 * 2] = {3, 1, 0, 2, 1, 3, 2, 0};
    double table[4 * 8] = {0};
    nk_landscape l = {.n = 4, .k = 2, .links = links, .table = table};
    uint8_t g[4] = {1, 1, 0, 0};
    assert_int_equal(nk_row(&l, 0, g), 4 * 1 + 2 * 0 + 1); /* bits 0,3,1 */
    assert_int_equal(nk_row(&l, 2, g), 4 * 0 + 2 * 1 + 0); /* bits 2,1,3 */
}

static void random_links_are_distinct_and_never_self(void **state)
{
    gsl_rng *r = rng(1);
    for (int k = 0; k < 12; k++) {
        nk_landscape *l = nk_landscape_alloc(13, k, NK_LINKS_RANDOM, r);
        assert_non_null(l);
        for (int i = 0; i < 13; i++) {
            int seen[13] = {0};
            for (int m = 0; m < k; m++) {
                int g = l->links[i * k + m];
                assert_true(g >= 0 && g < 13);
                assert_int_not_equal(g, i);
                assert_int_equal(seen[g]++, 0);
            }
        }
        nk_landscape_free(l);
    }
    gsl_rng_free(r);
}

static void adjacent_links_wrap_around(void **state)
{
    gsl_rng *r = rng(2);
    nk_landscape *l = nk_landscape_alloc(5, 3, NK_LINKS_ADJACENT, r);
    int want[5][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1}, {0, 1, 2}};
    for (int i = 0; i < 5; i++)
        for (int m = 0; m < 3; m++)
            assert_int_equal(l->links[i * 3 + m], want[i][m]);
    nk_landscape_free(l);
    gsl_rng_free(r);
}

static void landscape_is_reproducible_and_seed_dependent(void **state)
{
    gsl_rng *a = rng(7), *b = rng(7), *c = rng(8);
    nk_landscape *la = nk_landscape_alloc(20, 4, NK_LINKS_RANDOM, a);
    nk_landscape *lb = nk_landscape_alloc(20, 4, NK_LINKS_RANDOM, b);
    nk_landscape *lc = nk_landscape_alloc(20, 4, NK_LINKS_RANDOM, c);
    size_t entries = 20 * 32;
    assert_memory_equal(la->links, lb->links, 20 * 4 * sizeof(int));
    assert_memory_equal(la->table, lb->table, entries * sizeof(double));
    assert_true(memcmp(la->links, lc->links, 20 * 4 * sizeof(int)) != 0);
    /* Tables: in [0,1), all distinct (continuous draws), mean near 1/2. */
    double s = 0;
    for (size_t q = 0; q < entries; q++) {
        assert_true(la->table[q] >= 0.0 && la->table[q] < 1.0);
        assert_true(la->table[q] != lc->table[q]);
        for (size_t u = 0; u < q; u++)
            assert_true(la->table[q] != la->table[u]);
        s += la->table[q];
    }
    assert_true(fabs(s / entries - 0.5) < 0.05);
    nk_landscape_free(la);
    nk_landscape_free(lb);
    nk_landscape_free(lc);
    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(c);
}

static void landscape_refuses_k_not_below_n(void **state)
{
    gsl_rng *r = rng(3);
    assert_null(nk_landscape_alloc(4, 4, NK_LINKS_RANDOM, r));
    assert_null(nk_landscape_alloc(4, -1, NK_LINKS_RANDOM, r));
    gsl_rng_free(r);
}

static void dataset_inputs_targets_and_scale(void **state)
{
    gsl_rng *r = rng(4);
    nk_landscape *l = nk_landscape_alloc(20, 10, NK_LINKS_RANDOM, r);
    nk_dataset *d = nk_dataset_alloc(l, 1000, r);
    uint8_t bits[20];
    double mean = 0, var = 0;
    int ones = 0;
    for (int q = 0; q < 1000; q++) {
        for (int i = 0; i < 20; i++) {
            double x = d->x[q * 20 + i];
            assert_true(x == 1.0 || x == -1.0);
            assert_true(d->xt[i * 1000 + q] == x);
            bits[i] = x > 0;
            ones += bits[i];
        }
        assert_true(d->y[q] == nk_fitness(l, bits));
        mean += d->y[q];
    }
    mean /= 1000;
    for (int q = 0; q < 1000; q++)
        var += (d->y[q] - mean) * (d->y[q] - mean) / 1000;
    /* A mean predictor's MSE is about 1/(12N) when 2^(K+1) entries per gene
     * are in play; a binomial count of ones near half. */
    assert_true(var > 0.75 / 240 && var < 1.25 / 240);
    assert_true(abs(ones - 10000) < 400);
    nk_dataset_free(d);
    nk_landscape_free(l);
    gsl_rng_free(r);
}

/* ---- networks ---- */

static void parameter_counts(void **state)
{
    nk_config c = {.model = NK_MLP, .n = 20, .h = 10};
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11);
    assert_int_equal(nk_hidden_count(&c), 210);
    c.model = NK_NMLP;
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11 + 10 * 20);
    assert_int_equal(nk_hidden_count(&c), 10 * 41);
    c.model = NK_HMLP;
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11 + 20 * 10);
    c.decoder_bias = true;
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11 + 20 * 10 + 20);
    c.model = NK_NMLP;
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11 + 2 * 10 * 20);
    c.model = NK_MLP; /* no decoder, no decoder biases */
    assert_int_equal(nk_nparams(&c), 10 * 21 + 11);
}

typedef struct {
    nk_landscape *l;
    nk_dataset *d;
    nk_net *net;
} fixture;

static fixture make_net(nk_config c, int examples, unsigned long seed)
{
    fixture f;
    gsl_rng *r = rng(seed);
    f.l = nk_landscape_alloc(c.n, 2, NK_LINKS_RANDOM, r);
    f.d = nk_dataset_alloc(f.l, examples, r);
    f.net = nk_net_alloc(&c, f.d);
    assert_non_null(f.net);
    gsl_rng *w = rng(seed + 100), *dr = rng(seed + 200);
    nk_net_init(f.net, w, dr);
    gsl_rng_free(w);
    gsl_rng_free(dr);
    gsl_rng_free(r);
    return f;
}

static void free_net(fixture *f)
{
    nk_net_free(f->net);
    nk_dataset_free(f->d);
    nk_landscape_free(f->l);
}

static void assert_close(const double *a, const double *b, size_t n, double tol)
{
    for (size_t q = 0; q < n; q++)
        if (fabs(a[q] - b[q]) > tol * (1 + fabs(b[q]))) {
            print_error("element %zu: %.17g vs %.17g\n", q, a[q], b[q]);
            fail();
        }
}

/* The cached state after every cycle equals a fresh recomputation. */
static void check_incremental(nk_config c)
{
    fixture f = make_net(c, 60, 11);
    nk_cache fresh;
    assert_int_equal(nk_cache_alloc(&fresh, &c, 60), 0);
    gsl_rng *s = rng(12);
    size_t n = (size_t)c.n, h = (size_t)c.h;
    size_t ns = c.model == NK_NMLP ? h * n : n;
    int kept[2] = {0, 0};
    for (int cyc = 0; cyc < 3000; cyc++) {
        nk_move mv;
        nk_net_cycle(f.net, s, &mv);
        kept[mv.layer] += mv.accepted;
        nk_net_recompute(f.net, &fresh);
        assert_close(&f.net->cur.task_sse, &fresh.task_sse, 1, 1e-10);
        assert_close(f.net->cur.h, fresh.h, h * 60, 1e-10);
        assert_close(f.net->cur.y, fresh.y, 60, 1e-10);
        if (c.model != NK_MLP)
            assert_close(f.net->cur.s, fresh.s, ns, 1e-10);
        if (c.model == NK_HMLP)
            assert_close(f.net->cur.z, fresh.z, n * 60, 1e-10);
    }
    /* Both layers learned something, so the state really moved. */
    assert_true(kept[NK_HIDDEN] > 50 && kept[NK_OUTPUT] > 10);
    assert_close(&f.net->cur.task_sse, (double[]){nk_net_mse(f.net, f.d) * 60}, 1, 1e-10);
    gsl_rng_free(s);
    nk_cache_free(&fresh);
    free_net(&f);
}

static void incremental_matches_full_mlp(void **state)
{
    check_incremental((nk_config){.model = NK_MLP, .n = 9, .h = 4, .r = 1.0});
}

static void incremental_matches_full_nmlp(void **state)
{
    check_incremental((nk_config){.model = NK_NMLP, .n = 9, .h = 4, .r = 1.0});
    check_incremental((nk_config){.model = NK_NMLP, .n = 9, .h = 4, .r = 1.0,
                                  .decoder_bias = true, .decoder_act = NK_ACT_TANH});
    check_incremental((nk_config){.model = NK_NMLP, .n = 9, .h = 4, .r = 1.0,
                                  .decoder_precision = NK_DOUBLE});
}

static void incremental_matches_full_hmlp(void **state)
{
    check_incremental((nk_config){.model = NK_HMLP, .n = 9, .h = 4, .r = 1.0});
    check_incremental((nk_config){.model = NK_HMLP, .n = 9, .h = 4, .r = 1.0,
                                  .decoder_bias = true, .decoder_act = NK_ACT_TANH});
    check_incremental((nk_config){.model = NK_HMLP, .n = 9, .h = 4, .r = 1.0,
                                  .decoder_precision = NK_DOUBLE});
}

/* The full mode takes the same decisions as the incremental one from the same
 * search stream: same moves kept, same weights. */
static void full_mode_follows_same_trajectory(void **state)
{
    for (nk_model m = NK_MLP; m <= NK_HMLP; m++) {
        nk_config c = {.model = m, .n = 8, .h = 3, .r = 1.0, .decoder_bias = true};
        fixture a = make_net(c, 40, 21);
        c.full = true;
        fixture b = make_net(c, 40, 21);
        gsl_rng *sa = rng(22), *sb = rng(22);
        for (int cyc = 0; cyc < 1500; cyc++) {
            nk_move ma, mb;
            nk_net_cycle(a.net, sa, &ma);
            nk_net_cycle(b.net, sb, &mb);
            assert_int_equal(ma.index, mb.index);
            assert_int_equal(ma.accepted, mb.accepted);
            assert_close(&ma.after, &mb.after, 1, 1e-10);
        }
        assert_close(a.net->w, b.net->w, (size_t)3 * 9, 1e-12);
        assert_close(a.net->v, b.net->v, 4, 1e-12);
        gsl_rng_free(sa);
        gsl_rng_free(sb);
        free_net(&a);
        free_net(&b);
    }
}

static void accept_rule(void **state)
{
    gsl_rng *r = rng(5), *twin = rng(5);
    bool tie;
    /* Strict improvements and deteriorations draw nothing. */
    assert_true(nk_accept(1.0, 2.0, r, &tie));
    assert_false(tie);
    assert_false(nk_accept(2.0, 1.0, r, &tie));
    assert_false(tie);
    assert_int_equal(gsl_rng_get(r), gsl_rng_get(twin));
    int kept = 0;
    for (int q = 0; q < 10000; q++) {
        kept += nk_accept(0.5, 0.5, r, &tie);
        assert_true(tie);
    }
    assert_true(kept > 4700 && kept < 5300);
    gsl_rng_free(r);
    gsl_rng_free(twin);
}

/* Hidden neurons saturated (h == 1.0 exactly on every example): no hidden
 * move of mlp can change the task error, so every one is a tie, and about
 * half of them are kept. */
static void saturated_hidden_layer_ties(void **state)
{
    nk_config c = {.model = NK_MLP, .n = 6, .h = 3, .r = 1.0};
    fixture f = make_net(c, 30, 31);
    for (int j = 0; j < 3; j++) {
        for (int k = 0; k < 6; k++)
            f.net->w[j * 7 + k] = 0.0;
        f.net->w[j * 7 + 6] = 100.0;
    }
    nk_net_recompute(f.net, &f.net->cur);
    gsl_rng *s = rng(32);
    int hidden = 0, kept = 0;
    for (int cyc = 0; cyc < 4000; cyc++) {
        nk_move mv;
        nk_net_cycle(f.net, s, &mv);
        if (mv.layer != NK_HIDDEN)
            continue;
        hidden++;
        assert_true(mv.tie);
        kept += mv.accepted;
    }
    assert_true(hidden > 1800);
    assert_true(fabs((double)kept / hidden - 0.5) < 0.05);
    gsl_rng_free(s);
    free_net(&f);
}

/* What single precision changes in the tie rule: hidden neurons nearly
 * saturated (encoder bias 28, other encoder weights 0, so a one-weight move
 * leaves a_j in [27, 29] and h_j = 1 - 5e-13 .. 2e-12): an encoder move
 * changes every h_j, and hence every decoder pre-activation, by far less
 * than a float's resolution, so with single-precision decoder outputs it is
 * an exact tie; in double the decoder outputs do change, and the same moves
 * are decided by those differences. The weights are reset before every
 * cycle so that the test does not depend on where the climb wanders. */
static void count_encoder_ties(nk_config c, int *encoder, int *ties)
{
    fixture f = make_net(c, 30, 35);
    gsl_rng *s = rng(36);
    size_t n = (size_t)c.n, per = (n + 1) + n;
    *encoder = *ties = 0;
    for (int cyc = 0; cyc < 600; cyc++) {
        for (int j = 0; j < c.h; j++) {
            for (size_t k = 0; k < n; k++)
                f.net->w[(size_t)j * (n + 1) + k] = 0.0;
            f.net->w[(size_t)j * (n + 1) + n] = 28.0;
        }
        nk_net_recompute(f.net, &f.net->cur);
        nk_move mv;
        nk_net_cycle(f.net, s, &mv);
        bool enc = c.model == NK_NMLP ? mv.index % per <= n : mv.index < (size_t)c.h * (n + 1);
        if (mv.layer != NK_HIDDEN || !enc)
            continue;
        ++*encoder;
        *ties += mv.tie;
    }
    gsl_rng_free(s);
    free_net(&f);
}

static void single_precision_ties_below_float_resolution(void **state)
{
    for (nk_model m = NK_NMLP; m <= NK_HMLP; m++) {
        int enc, ties;
        nk_config c = {.model = m, .n = 6, .h = 3, .r = 1.0};
        count_encoder_ties(c, &enc, &ties);
        assert_true(enc > 100);
        assert_int_equal(ties, enc);
        c.decoder_precision = NK_DOUBLE;
        count_encoder_ties(c, &enc, &ties);
        assert_true(enc > 100);
        assert_true(ties <= enc / 50);
    }
}

/* A move changes exactly the weight it names, and hidden moves never touch
 * the output layer (nor output moves the hidden layer); an nmlp hidden move
 * changes only its own neuron's encoder and decoder. */
static void check_move_scope(nk_config c)
{
    fixture f = make_net(c, 30, 41);
    size_t n = (size_t)c.n, h = (size_t)c.h;
    size_t nw = h * (n + 1), nd = n * h, nc = c.decoder_bias ? (c.model == NK_NMLP ? h * n : n) : 0;
    double *w0 = malloc(nw * sizeof(double)), *v0 = malloc((h + 1) * sizeof(double));
    double *d0 = malloc(nd * sizeof(double)), *c0 = malloc((nc + 1) * sizeof(double));
    gsl_rng *s = rng(42);
    int hidden_kept = 0;
    for (int cyc = 0; cyc < 3000; cyc++) {
        memcpy(w0, f.net->w, nw * sizeof(double));
        memcpy(v0, f.net->v, (h + 1) * sizeof(double));
        memcpy(d0, f.net->d, nd * sizeof(double));
        if (nc)
            memcpy(c0, f.net->c, nc * sizeof(double));
        nk_move mv;
        nk_net_cycle(f.net, s, &mv);
        int changed = 0;
        for (size_t q = 0; q < nw; q++)
            if (w0[q] != f.net->w[q]) {
                changed++;
                assert_int_equal(mv.layer, NK_HIDDEN);
                if (c.model == NK_NMLP) /* neuron j owns weights j*(2n+1+nc/h) .. */
                    assert_int_equal(q / (n + 1), mv.index / ((2 * n + 1) + nc / h));
            }
        for (size_t q = 0; q <= h; q++)
            if (v0[q] != f.net->v[q]) {
                changed++;
                assert_int_equal(mv.layer, NK_OUTPUT);
                assert_int_equal(q, mv.index);
            }
        for (size_t q = 0; q < nd; q++)
            if (d0[q] != f.net->d[q]) {
                changed++;
                assert_int_equal(mv.layer, NK_HIDDEN);
                if (c.model == NK_NMLP)
                    assert_int_equal(q / n, mv.index / ((2 * n + 1) + nc / h));
            }
        for (size_t q = 0; q < nc; q++)
            if (c0[q] != f.net->c[q]) {
                changed++;
                assert_int_equal(mv.layer, NK_HIDDEN);
            }
        assert_int_equal(changed, mv.accepted ? 1 : 0);
        hidden_kept += mv.accepted && mv.layer == NK_HIDDEN;
    }
    assert_true(hidden_kept > 100);
    gsl_rng_free(s);
    free(w0);
    free(v0);
    free(d0);
    free(c0);
    free_net(&f);
}

static void hidden_moves_never_change_output_weights(void **state)
{
    check_move_scope((nk_config){.model = NK_NMLP, .n = 7, .h = 3, .r = 1.0});
    check_move_scope((nk_config){.model = NK_NMLP, .n = 7, .h = 3, .r = 1.0, .decoder_bias = true});
    check_move_scope((nk_config){.model = NK_HMLP, .n = 7, .h = 3, .r = 1.0, .decoder_bias = true});
}

/* nmlp and hmlp draw the same decoder values (neuron-major), and every
 * model the same encoder and output weights from the same streams. */
static void models_share_initial_weights(void **state)
{
    nk_config c = {.n = 6, .h = 4, .r = 1.0};
    c.model = NK_MLP;
    fixture a = make_net(c, 20, 51);
    c.model = NK_NMLP;
    fixture b = make_net(c, 20, 51);
    c.model = NK_HMLP;
    fixture d = make_net(c, 20, 51);
    assert_memory_equal(a.net->w, b.net->w, 4 * 7 * sizeof(double));
    assert_memory_equal(a.net->w, d.net->w, 4 * 7 * sizeof(double));
    assert_memory_equal(a.net->v, d.net->v, 5 * sizeof(double));
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 6; i++)
            assert_true(b.net->d[j * 6 + i] == d.net->d[i * 4 + j]);
    assert_true(a.net->cur.task_sse == d.net->cur.task_sse);
    assert_true(nk_net_recon_mse(a.net) == -1.0);
    assert_true(nk_net_recon_mse(b.net) > 0 && nk_net_recon_mse(d.net) > 0);
    free_net(&a);
    free_net(&b);
    free_net(&d);
}

/* ---- vectorised loops (nk_vec.c) ---- */

static long double sigmoid_ref(long double x) { return 1.0L / (1.0L + expl(-x)); }

/* Max error (relative, or absolute) of f_vec against ref on n points evenly
 * spread over [lo, hi]. */
static double max_error(void (*f)(const nk_vec_ops *, const double *, double *, int),
                        long double (*ref)(long double), double lo, double hi, bool relative)
{
    int n = 400001;
    double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int q = 0; q < n; q++)
        x[q] = lo + (hi - lo) * q / (n - 1);
    f(nk_vec_best(), x, y, n);
    double worst = 0;
    for (int q = 0; q < n; q++) {
        long double want = ref((long double)x[q]), err = fabsl(y[q] - want);
        worst = fmax(worst, (double)(relative ? err / fabsl(want) : err));
    }
    free(x);
    free(y);
    return worst;
}

static void exp_vec(const nk_vec_ops *v, const double *x, double *y, int n) { v->exp(x, y, n); }
static void sigmoid_vec(const nk_vec_ops *v, const double *x, double *y, int n)
{
    v->decode(NK_ACT_SIGMOID, x, y, n);
}
static void tanh_vec(const nk_vec_ops *v, const double *x, double *y, int n)
{
    v->decode(NK_ACT_TANH, x, y, n);
}

/* Max relative error of exp over [-700, 700] and of the sigmoid over
 * [-700, 40] (beyond 40 it is 1 - tiny), max absolute error of tanh over
 * [-20, 20], against the C library's long double functions on 400,001
 * points each. The bounds are 1.8 times the double epsilon (2.2e-16); the
 * measured values are printed. */
static void vec_exp_sigmoid_tanh_accuracy(void **state)
{
    volatile long double one = 1.0L, tiny = LDBL_EPSILON;
    if (!(one + tiny > one)) { /* valgrind runs x87 long double as double */
        print_message("long double has only double precision here: no reference\n");
        skip();
    }
    double e = max_error(exp_vec, expl, -700, 700, true);
    double s = max_error(sigmoid_vec, sigmoid_ref, -700, 40, true);
    double t = max_error(tanh_vec, tanhl, -20, 20, false);
    print_message("max error: exp %.3g (relative), sigmoid %.3g (relative), tanh %.3g (absolute)\n",
                  e, s, t);
    assert_true(e < 4e-16);
    assert_true(s < 4e-16);
    assert_true(t < 4e-16);
}

/* Max error of f32 (a single-precision loop) against libm's double sigmoid
 * (or tanh) on n points evenly spread over [lo, hi]: relative, or absolute;
 * with on_floats, points that are floats (no rounding of the argument). */
static double max_error32(void (*f)(const nk_vec_ops *, const double *, double *, int), bool tanh_,
                          double lo, double hi, bool relative, bool on_floats)
{
    int n = 400001;
    double *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int q = 0; q < n; q++) {
        x[q] = lo + (hi - lo) * q / (n - 1);
        if (on_floats)
            x[q] = (float)x[q];
    }
    f(nk_vec_best(), x, y, n);
    double worst = 0;
    for (int q = 0; q < n; q++) {
        double want = tanh_ ? tanh(x[q]) : 1.0 / (1.0 + exp(-x[q])), err = fabs(y[q] - want);
        worst = fmax(worst, relative ? err / fabs(want) : err);
    }
    free(x);
    free(y);
    return worst;
}

static void sigmoid32_vec(const nk_vec_ops *v, const double *x, double *y, int n)
{
    v->decode32(NK_ACT_SIGMOID, x, y, n);
}
static void tanh32_vec(const nk_vec_ops *v, const double *x, double *y, int n)
{
    v->decode32(NK_ACT_TANH, x, y, n);
}

/* The single-precision decoder outputs against libm in double, printed.
 * What matters to a reconstruction error of +-1 inputs is the absolute
 * error: about 1.5 float epsilons (6e-8) for the sigmoid, twice that for
 * tanh (2 sigmoid(2t) - 1). Relative error of the sigmoid on [-80, 80]: at
 * arguments that are floats, a few float epsilons (the function itself);
 * at any double argument the rounding of t to float adds up to |t| 6e-8
 * (1 - sigmoid(t)), which dominates in the negative tail. */
static void vec_single_sigmoid_tanh_accuracy(void **state)
{
    double sa = max_error32(sigmoid32_vec, false, -80, 80, false, false);
    double ta = max_error32(tanh32_vec, true, -20, 20, false, false);
    double sf = max_error32(sigmoid32_vec, false, -80, 80, true, true);
    double sw = max_error32(sigmoid32_vec, false, -80, 80, true, false);
    print_message("single: sigmoid max abs %.3g, max rel %.3g at float arguments, %.3g at "
                  "double arguments, on [-80, 80]; tanh max abs %.3g on [-20, 20]\n",
                  sa, sf, sw, ta);
    assert_true(sa < 1.2e-7);
    assert_true(ta < 2.4e-7);
    assert_true(sf < 3.6e-7);
    assert_true(sw < 6e-6);
}

/* Far outside the clamp [-700, 700]: finite, saturated, no NaN. */
static void vec_saturates_outside_clamp(void **state)
{
    double x[6] = {-1e300, -800, -745.5, 745.5, 800, 1e300}, y[6], t[6];
    const nk_vec_ops *v = nk_vec_best();
    v->decode(NK_ACT_SIGMOID, x, y, 6);
    v->decode(NK_ACT_TANH, x, t, 6);
    for (int q = 0; q < 3; q++) {
        assert_true(y[q] > 0 && y[q] < 1e-300);
        assert_true(t[q] == -1.0);
    }
    for (int q = 3; q < 6; q++) {
        assert_true(y[q] == 1.0);
        assert_true(t[q] == 1.0);
    }
    v->exp(x, y, 6);
    assert_true(y[0] > 0 && y[0] < 1e-300 && y[5] > 1e300 && isfinite(y[5]));
}

/* Random inputs for the loops: pre-activations, activations in (0,1),
 * targets +-1, weights. */
static void random_fill(double *v, int n, double lo, double hi, gsl_rng *r)
{
    for (int q = 0; q < n; q++)
        v[q] = lo + (hi - lo) * gsl_rng_uniform(r);
}

/* Every loop of two copies on the same inputs, all lengths 0..41: the same
 * bits. */
static void check_copies_agree(const nk_vec_ops *a, const nk_vec_ops *b)
{
    enum { M = 41 };
    gsl_rng *r = rng(61);
    double in[M], h[M], x[M], ya[M], yb[M], pa[M], pb[M];
    for (int e = 0; e <= M; e++) {
        random_fill(in, M, -30, 30, r);
        random_fill(h, M, 0, 1, r);
        for (int q = 0; q < M; q++)
            x[q] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
        a->exp(in, ya, e);
        b->exp(in, yb, e);
        assert_memory_equal(ya, yb, (size_t)e * sizeof(double));
        for (nk_act act = NK_ACT_SIGMOID; act <= NK_ACT_TANH; act++) {
            a->decode(act, in, ya, e);
            b->decode(act, in, yb, e);
            assert_memory_equal(ya, yb, (size_t)e * sizeof(double));
            double sa = a->neuron_sse(act, 3.7, -0.4, h, x, e);
            double sb = b->neuron_sse(act, 3.7, -0.4, h, x, e);
            assert_memory_equal(&sa, &sb, sizeof sa);
            sa = a->layer_sse(act, in, 0.3, h, x, e);
            sb = b->layer_sse(act, in, 0.3, h, x, e);
            assert_memory_equal(&sa, &sb, sizeof sa);
            a->decode32(act, in, ya, e);
            b->decode32(act, in, yb, e);
            assert_memory_equal(ya, yb, (size_t)e * sizeof(double));
            sa = a->neuron_sse32(act, 3.7, -0.4, h, x, e);
            sb = b->neuron_sse32(act, 3.7, -0.4, h, x, e);
            assert_memory_equal(&sa, &sb, sizeof sa);
            sa = a->layer_sse32(act, in, 0.3, h, x, e);
            sb = b->layer_sse32(act, in, 0.3, h, x, e);
            assert_memory_equal(&sa, &sb, sizeof sa);
        }
        a->encoder_step(in, 0.9, x, pa, ya, e);
        b->encoder_step(in, 0.9, x, pb, yb, e);
        assert_memory_equal(pa, pb, (size_t)e * sizeof(double));
        assert_memory_equal(ya, yb, (size_t)e * sizeof(double));
        double la[4] = {1, 2, 3, 4}, lb[4] = {1, 2, 3, 4};
        a->output_sse(in, h, ya, e, la);
        b->output_sse(in, h, yb, e, lb);
        assert_memory_equal(la, lb, sizeof la);
        assert_memory_equal(ya, yb, (size_t)e * sizeof(double));
    }
    gsl_rng_free(r);
}

static void vec_copies_agree_bitwise(void **state)
{
    const nk_vec_ops *avx2 = nk_vec_avx2();
    if (!avx2) {
        print_message("no AVX2 copy on this CPU or compiler: nothing to compare\n");
        skip();
    }
    check_copies_agree(&nk_vec_generic, avx2);
}

/* The sums take element q into lane q mod 4, lanes added (l0 + l1) + (l2 +
 * l3), at every length (the last partial vector included). */
static void vec_sums_follow_lane_order(void **state)
{
    enum { M = 23 };
    gsl_rng *r = rng(62);
    double h[M], x[M], t[M], y[M];
    random_fill(h, M, 0, 1, r);
    for (int q = 0; q < M; q++)
        x[q] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    const nk_vec_ops *v = nk_vec_best();
    for (int single = 0; single < 2; single++)
        for (int e = 0; e <= M; e++) {
            for (int q = 0; q < e; q++)
                t[q] = -1.3 * h[q] + 0.2;
            (single ? v->decode32 : v->decode)(NK_ACT_SIGMOID, t, y, e);
            double lane[4] = {0, 0, 0, 0};
            for (int q = 0; q < e; q++)
                lane[q % 4] += (y[q] - x[q]) * (y[q] - x[q]);
            double want = (lane[0] + lane[1]) + (lane[2] + lane[3]);
            double got = (single ? v->neuron_sse32 : v->neuron_sse)(NK_ACT_SIGMOID, -1.3, 0.2, h,
                                                                     x, e);
            assert_memory_equal(&got, &want, sizeof got);
            got = (single ? v->layer_sse32 : v->layer_sse)(NK_ACT_SIGMOID, t, 0.0, NULL, x, e);
            assert_memory_equal(&got, &want, sizeof got);
        }
    gsl_rng_free(r);
}

/* The block-wise forward pass on the training set gives the cached task
 * error bit for bit (more than one block, a partial last vector). */
static void forward_pass_matches_cached_error(void **state)
{
    for (nk_model m = NK_MLP; m <= NK_HMLP; m++) {
        nk_config c = {.model = m, .n = 7, .h = 5, .r = 1.0};
        fixture f = make_net(c, 2 * NK_BLOCK + 3, 71);
        double mse = nk_net_mse(f.net, f.d);
        assert_memory_equal(&mse, &(double){nk_net_train_mse(f.net)}, sizeof mse);
        free_net(&f);
    }
}

/* The kernel's schema: the parameters the sweep files use. */
static void kernel_is_registered(void **state)
{
    const nm_kernel *k = nm_kernel_find("nk");
    assert_non_null(k);
    const char *names[] = {"model", "N", "K", "links", "H", "R", "cycles", "train_size",
                           "test_size", "record_every", "decoder_bias", "decoder_act",
                           "decoder_precision", "eval", "seed"};
    for (size_t q = 0; q < sizeof names / sizeof names[0]; q++)
        assert_true(nm_kernel_param_index(k, names[q]) >= 0);
    assert_non_null(k->cost);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fitness_matches_hand_computed_landscape),
        cmocka_unit_test(row_bit_order_with_two_links),
        cmocka_unit_test(random_links_are_distinct_and_never_self),
        cmocka_unit_test(adjacent_links_wrap_around),
        cmocka_unit_test(landscape_is_reproducible_and_seed_dependent),
        cmocka_unit_test(landscape_refuses_k_not_below_n),
        cmocka_unit_test(dataset_inputs_targets_and_scale),
        cmocka_unit_test(parameter_counts),
        cmocka_unit_test(incremental_matches_full_mlp),
        cmocka_unit_test(incremental_matches_full_nmlp),
        cmocka_unit_test(incremental_matches_full_hmlp),
        cmocka_unit_test(full_mode_follows_same_trajectory),
        cmocka_unit_test(accept_rule),
        cmocka_unit_test(saturated_hidden_layer_ties),
        cmocka_unit_test(single_precision_ties_below_float_resolution),
        cmocka_unit_test(hidden_moves_never_change_output_weights),
        cmocka_unit_test(models_share_initial_weights),
        cmocka_unit_test(vec_exp_sigmoid_tanh_accuracy),
        cmocka_unit_test(vec_single_sigmoid_tanh_accuracy),
        cmocka_unit_test(vec_saturates_outside_clamp),
        cmocka_unit_test(vec_copies_agree_bitwise),
        cmocka_unit_test(vec_sums_follow_lane_order),
        cmocka_unit_test(forward_pass_matches_cached_error),
        cmocka_unit_test(kernel_is_registered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

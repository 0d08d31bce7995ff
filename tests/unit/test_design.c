/* test_design.c: sampling designs (`sample:` in a spec; src/spec/sample.c,
 * src/grid/design.c): coverage properties of each method, determinism, the
 * mapping onto ranges and lists, the axis they form, and bad sample blocks. */
#include "testutil.h"

#include "neuromic/internal/spec.h"

static nm_err last_err;

static nm_sweep *parse(const char *text)
{
    nm_sweep *sw = NULL;
    memset(&last_err, 0, sizeof last_err);
    if (nm_spec_parse("s.yaml", text, strlen(text), NULL, 0, &sw, &last_err) != NM_OK) {
        print_error("unexpected error: %s\n", last_err.msg);
        fail();
    }
    return sw;
}

static const char *fails(const char *text)
{
    nm_sweep *sw = NULL;
    memset(&last_err, 0, sizeof last_err);
    nm_status st = nm_spec_parse("s.yaml", text, strlen(text), NULL, 0, &sw, &last_err);
    if (st == NM_OK) {
        nm_sweep_free(sw);
        print_error("expected an error for:\n%s\n", text);
        fail();
    }
    assert_int_equal(st, NM_ERR_INPUT);
    assert_null(sw);
    return last_err.msg;
}

/* A probe spec whose design has method m, n points and three continuous
 * parameters (x linear, work log, n int); extra goes into the sample block. */
static nm_sweep *design_spec(const char *m, unsigned n, unsigned long long seed, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text,
             "kernel: probe\nbase_seed: %llu\nsample:\n  method: %s\n  n: %u\n%s"
             "  params:\n    x: {from: -1, to: 3}\n    work: {from: 1e-4, to: 1e-2, scale: log}\n"
             "    n: {from: 0, to: 1000000}\n",
             seed, m, n, extra);
    return parse(text);
}

static const nm_axis *sample_axis(const nm_sweep *sw)
{
    for (size_t a = 0; a < sw->naxes; a++)
        if (sw->axes[a].sample)
            return &sw->axes[a];
    fail_msg("no sample axis");
    return NULL;
}

/* Every one of `strata` equal strata of [0, 1) holds exactly one of the
 * points first .. first+strata-1, for every parameter. */
static void assert_one_per_stratum(const nm_design *d, uint64_t first, uint64_t strata)
{
    uint8_t *hit = calloc(strata, 1);
    assert_non_null(hit);
    for (size_t j = 0; j < d->nparams; j++) {
        memset(hit, 0, strata);
        for (uint64_t i = first; i < first + strata; i++) {
            double u = d->u[i * d->nparams + j];
            assert_true(u >= 0.0 && u < 1.0);
            uint64_t s = (uint64_t)(u * (double)strata);
            if (hit[s]++) {
                print_error("parameter %zu: stratum %llu of %llu holds two points (point %llu)\n",
                            j, (unsigned long long)s, (unsigned long long)strata,
                            (unsigned long long)i);
                fail();
            }
        }
    }
    free(hit);
}

static void test_lhs_one_point_per_stratum(void **state)
{
    (void)state;
    static const unsigned ns[] = {1, 2, 7, 100, 1000};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        nm_sweep *sw = design_spec("lhs", ns[t], 11, "");
        assert_int_equal(sw->design->n, ns[t]);
        assert_one_per_stratum(sw->design, 0, ns[t]);
        nm_sweep_free(sw);
    }
}

static void test_random_is_not_stratified(void **state)
{
    /* The control for the stratification checks: independent uniform
     * points leave about 1/e of n strata empty. */
    (void)state;
    nm_sweep *sw = design_spec("random", 1000, 11, "");
    uint64_t filled, most;
    assert_true(nm_design_cells(sw->design, 1000, 0, 0, 1000, &filled, &most));
    assert_true(filled > 560 && filled < 700); /* 632 expected, sd about 9 */
    assert_true(most >= 2);
    nm_sweep_free(sw);
}

static void test_sobol_first_2m_points_stratified(void **state)
{
    (void)state;
    static const char *const extra[] = {"", "  scramble: false\n"};
    for (int e = 0; e < 2; e++) {
        nm_sweep *sw = design_spec("sobol", 1024, 5, extra[e]);
        const nm_design *d = sw->design;
        for (uint64_t m = 1; m <= 1024; m *= 2) {
            /* every aligned block of m points is stratified, the first included */
            for (uint64_t first = 0; first + m <= 1024; first += m)
                assert_one_per_stratum(d, first, m);
        }
        /* Dimensions 1 and 2 of Sobol's sequence form a (0, m, 2)-net: each
         * of the 2^a x 2^b cells with a + b = m holds one of the first 2^m
         * points. */
        for (unsigned a = 0; a <= 10; a++) {
            unsigned b = 10 - a;
            uint8_t *hit = calloc(1024, 1);
            assert_non_null(hit);
            for (size_t i = 0; i < 1024; i++) {
                unsigned cx = (unsigned)(d->u[i * 3 + 0] * (double)(1u << a));
                unsigned cy = (unsigned)(d->u[i * 3 + 1] * (double)(1u << b));
                assert_int_equal(hit[(cx << b) | cy]++, 0);
            }
            free(hit);
        }
        nm_sweep_free(sw);
    }
}

static void test_sobol_unscrambled_starts_at_origin(void **state)
{
    /* GSL's first point is the sequence's second (all 0.5); the origin is
     * put back in front. */
    (void)state;
    nm_sweep *sw = design_spec("sobol", 4, 5, "  scramble: false\n");
    const nm_design *d = sw->design;
    for (size_t j = 0; j < 3; j++) {
        assert_true(d->u[j] == 0.0);
        assert_true(d->u[3 + j] == 0.5);
    }
    /* mapped: the lower ends of the ranges */
    const nm_axis *ax = sample_axis(sw);
    assert_true(ax->values[0][0].v.f == -1.0);
    assert_true(ax->values[1][0].v.f == 1e-4);
    assert_int_equal(ax->values[2][0].v.i, 0);
    nm_sweep_free(sw);
}

static void assert_same_values(const nm_axis *a, size_t ai, const nm_axis *b, size_t bi,
                               size_t count)
{
    assert_int_equal(a->nparams, b->nparams);
    for (size_t j = 0; j < a->nparams; j++)
        for (size_t i = 0; i < count; i++)
            assert_memory_equal(&a->values[j][ai + i].v, &b->values[j][bi + i].v,
                                sizeof a->values[j][0].v);
}

static void test_deterministic_from_base_seed(void **state)
{
    (void)state;
    static const char *const methods[] = {"random", "lhs", "sobol"};
    for (int m = 0; m < 3; m++) {
        nm_sweep *a = design_spec(methods[m], 64, 99, ""), *b = design_spec(methods[m], 64, 99, "");
        nm_sweep *c = design_spec(methods[m], 64, 100, "");
        assert_same_values(sample_axis(a), 0, sample_axis(b), 0, 64);
        assert_memory_equal(a->design->u, b->design->u, 64 * 3 * sizeof(double));
        assert_memory_not_equal(a->design->u, c->design->u, 64 * 3 * sizeof(double));
        nm_sweep_free(a);
        nm_sweep_free(b);
        nm_sweep_free(c);
    }
}

static void test_skip_continues_the_sequence(void **state)
{
    /* random and sobol: n points from skip are points skip.. of a longer
     * design, so a design is extended by a second run with skip. */
    (void)state;
    static const char *const methods[] = {"random", "sobol"};
    for (int m = 0; m < 2; m++) {
        nm_sweep *whole = design_spec(methods[m], 48, 3, "");
        nm_sweep *head = design_spec(methods[m], 16, 3, "");
        nm_sweep *tail = design_spec(methods[m], 32, 3, "  skip: 16\n");
        assert_same_values(sample_axis(whole), 0, sample_axis(head), 0, 16);
        assert_same_values(sample_axis(whole), 16, sample_axis(tail), 0, 32);
        assert_int_equal(sample_axis(tail)->first, 16);
        nm_sweep_free(whole);
        nm_sweep_free(head);
        nm_sweep_free(tail);
    }
}

static void test_values_follow_ranges_and_lists(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\nsample:\n  method: lhs\n  n: 400\n  params:\n"
                         "    x: {from: 0.5, to: 8, scale: log}\n    n: {from: 1, to: 4}\n"
                         "    mode: [b, a]\n    fail_n: {from: 1, to: 1000, scale: log}\n");
    const nm_axis *ax = sample_axis(sw);
    assert_int_equal(ax->len, 400);
    size_t below2 = 0, count_n[5] = {0}, count_b = 0, len_small = 0;
    for (size_t i = 0; i < 400; i++) {
        double x = ax->values[0][i].v.f;
        int64_t n = ax->values[1][i].v.i, len = ax->values[3][i].v.i;
        assert_true(x >= 0.5 && x <= 8);
        assert_true(n >= 1 && n <= 4);
        assert_true(len >= 1 && len <= 1000);
        below2 += x < 2; /* log scale: half the points below the geometric middle */
        count_n[n]++;
        count_b += !strcmp(ax->values[2][i].v.s, "b");
        len_small += len < 32; /* log10(32) / log10(1001): about half */
    }
    assert_int_equal(below2, 200);
    for (int v = 1; v <= 4; v++) /* every integer equally likely: LHS gives exactly 100 */
        assert_int_equal(count_n[v], 100);
    assert_int_equal(count_b, 200);
    assert_true(len_small > 180 && len_small < 220);
    nm_sweep_free(sw);
}

static void test_axis_crossed_with_grid_and_replicates(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\nreplicates: 3\nsample:\n  method: sobol\n  n: 5\n"
                         "  params:\n    x: {from: 0, to: 1}\n    n: {from: 1, to: 9}\n"
                         "grid:\n  mode: [a, b]\n");
    assert_int_equal(sw->naxes, 3);
    assert_string_equal(sw->axes[0].name, "seed");
    assert_string_equal(sw->axes[1].name, "sample");
    assert_string_equal(sw->axes[2].name, "mode");
    assert_true(sw->axes[1].sample && !sw->axes[0].sample && !sw->axes[2].sample);
    assert_int_equal(sw->axes[1].nparams, 2);
    assert_int_equal(sw->ntasks, 3 * 5 * 2);
    nm_point *p = nm_point_alloc(sw);
    size_t idx[3] = {2, 4, 1};
    nm_grid_point(sw, nm_grid_task(sw, idx), p);
    assert_int_equal(p->vals[nm_kernel_param_index(sw->kernel, "seed")].v.i, 2);
    assert_true(p->vals[nm_kernel_param_index(sw->kernel, "x")].v.f ==
                sw->axes[1].values[0][4].v.f);
    assert_string_equal(p->vals[nm_kernel_param_index(sw->kernel, "mode")].v.s, "b");
    char text[256];
    nm_grid_point_text(sw, nm_grid_task(sw, idx), text, sizeof text);
    assert_contains(text, "seed=2 sample=4 x=");
    nm_point_free(p);
    nm_sweep_free(sw);
}

static void test_set_overrides_reach_the_design(void **state)
{
    (void)state;
    static const char text[] = "kernel: probe\nsample:\n  method: sobol\n  n: 8\n  params:\n"
                               "    x: {from: 0, to: 1}\n    n: {from: 1, to: 9}\n";
    char *ov[] = {"sample.n=32", "sample.skip=32", "n=3"};
    nm_sweep *sw = NULL;
    assert_int_equal(nm_spec_parse("s.yaml", text, strlen(text), ov, 3, &sw, &last_err), NM_OK);
    const nm_axis *ax = sample_axis(sw);
    assert_int_equal(ax->len, 32);
    assert_int_equal(ax->first, 32);
    assert_int_equal(ax->nparams, 1); /* the bare name pinned n and took it out */
    assert_int_equal(sw->fixed[nm_kernel_param_index(sw->kernel, "n")].v.i, 3);
    nm_sweep_free(sw);
}

static void test_bad_sample_blocks(void **state)
{
    (void)state;
#define HEAD "kernel: probe\nsample:\n"
    assert_contains(fails(HEAD "  method: sobl\n  n: 4\n  params: {x: {from: 0, to: 1}}\n"),
                    "s.yaml:3:11: sample.method: expected random, lhs or sobol, got 'sobl' "
                    "(did you mean 'sobol'?)");
    assert_contains(fails(HEAD "  method: lhs\n  params: {x: {from: 0, to: 1}}\n"),
                    "s.yaml:2:1: sample: missing required key 'n'");
    assert_contains(fails(HEAD "  method: lhs\n  n: 0\n  params: {x: {from: 0, to: 1}}\n"),
                    "s.yaml:4:6: sample.n: expected a whole number of points from 1");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  skip: 4\n  params: {x: {from: 0, to: 1}}\n"),
                    "s.yaml:5:3: sample.skip: a Latin hypercube");
    assert_contains(
        fails(HEAD "  method: random\n  n: 4\n  scramble: true\n  params: {x: {from: 0, to: 1}}\n"),
        "s.yaml:5:3: sample.scramble: only a sobol design is scrambled");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  nn: 3\n  params: {x: {from: 0, to: 1}}\n"),
                    "s.yaml:5:3: sample.nn: unknown key 'nn'");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {wrk: {from: 0, to: 1}}\n"),
                    "s.yaml:5:12: sample.params.wrk: unknown parameter 'wrk' for kernel 'probe' "
                    "(did you mean 'work'?)");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {x: {from: 1, to: 1}}\n"),
                    "s.yaml:5:25: sample.params.x.to: expected a value above from (1), got 1");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {x: {from: 0, to: 1, scale: log}}\n"),
                    "s.yaml:5:16: sample.params.x.from: a log scale needs from > 0");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {x: {from: 0, to: 1, scal: log}}\n"),
                    "sample.params.x: unknown key 'scal' (did you mean 'scale'?)");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {mode: {from: 0, to: 1}}\n"),
                    "sample.params.mode: a range needs a numeric parameter");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {mode: [a, c]}\n"),
                    "sample.params.mode[1]: invalid value for mode");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {mode: [a, a]}\n"),
                    "sample.params.mode[1]: duplicate value");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {n: {from: 0.5, to: 3}}\n"),
                    "sample.params.n.from: expected an integer (n is an int parameter), got '0.5'");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {}\n"),
                    "s.yaml:5:11: sample.params: expected a mapping of parameter: range or list");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {x: 3}\n"),
                    "sample.params.x: expected a range");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {x: {from: 0, to: 1}}\n"
                               "grid:\n  x: [1, 2]\n"),
                    "s.yaml:5:12: sample.params.x: parameter 'x' is declared twice (also "
                    "declared at 7:3 as grid.x)");
    assert_contains(fails(HEAD "  [1, 2]\n"), "s.yaml:3:3: sample: expected a mapping");
    assert_contains(fails(HEAD "  method: lhs\n  n: 4\n  params: {length: {from: 1, to: 9}}\n"),
                    "s.yaml:2:1: sample: the shape of output 'trace' depends on a sampled "
                    "parameter");
    /* a sampled combination the kernel refuses names the point */
    assert_contains(fails("kernel: nk\nfixed: {N: 8}\nsample:\n  method: lhs\n  n: 4\n  params:\n"
                          "    K: {from: 1, to: 12}\n"),
                    "kernel 'nk' cannot run the point sample=");
#undef HEAD
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lhs_one_point_per_stratum),
        cmocka_unit_test(test_random_is_not_stratified),
        cmocka_unit_test(test_sobol_first_2m_points_stratified),
        cmocka_unit_test(test_sobol_unscrambled_starts_at_origin),
        cmocka_unit_test(test_deterministic_from_base_seed),
        cmocka_unit_test(test_skip_continues_the_sequence),
        cmocka_unit_test(test_values_follow_ranges_and_lists),
        cmocka_unit_test(test_axis_crossed_with_grid_and_replicates),
        cmocka_unit_test(test_set_overrides_reach_the_design),
        cmocka_unit_test(test_bad_sample_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

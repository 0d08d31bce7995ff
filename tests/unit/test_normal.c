/* test_normal.c: nm_rng_gaussians (src/rng/normal.c): its distribution on a
 * task stream and on other GSL generators, determinism, and the documented
 * mapping from 64-bit words to draws, checked word by word through a
 * generator that returns given values. */
#include "testutil.h"

#include <gsl/gsl_rng.h>

#include "neuromic/kernel.h"
#include "neuromic/internal/rng.h"
#include "neuromic/internal/xoshiro.h"
#include "../../src/rng/ziggurat_table.h"

/* ---- a generator that returns given values ---- */

typedef struct {
    const uint32_t *v;
    size_t n, pos;
} given_state;

static void given_set(void *s, unsigned long seed) { memset(s, 0, sizeof(given_state)); }

static unsigned long given_get(void *vs)
{
    given_state *s = vs;
    if (s->pos >= s->n)
        fail_msg("the generator was asked for value %zu of %zu", s->pos + 1, s->n);
    return s->v[s->pos++];
}

static double given_get_double(void *vs) { return (double)given_get(vs) * 0x1.0p-32; }

/* Full 32-bit values: a word is (first << 32) | second. */
static const gsl_rng_type given32 = {"given32",     0xffffffffUL,   0, sizeof(given_state),
                                     given_set,     given_get,      given_get_double};
/* 24-bit values: a word is the low 64 bits of v1 v2 v3 (first most significant). */
static const gsl_rng_type given24 = {"given24",     0xffffffUL,     0, sizeof(given_state),
                                     given_set,     given_get,      given_get_double};

static gsl_rng *given_alloc(const gsl_rng_type *t, const uint32_t *v, size_t n)
{
    gsl_rng *r = gsl_rng_alloc(t);
    given_state *s = r->state;
    s->v = v, s->n = n, s->pos = 0;
    return r;
}

static size_t given_used(const gsl_rng *r) { return ((const given_state *)r->state)->pos; }

/* 64-bit words as the 32-bit halves given32 returns, high half first. */
static void split_words(const uint64_t *w, size_t n, uint32_t *v)
{
    for (size_t i = 0; i < n; i++)
        v[2 * i] = (uint32_t)(w[i] >> 32), v[2 * i + 1] = (uint32_t)w[i];
}

/* ---- the mapping, by hand (src/rng/normal.c) ---- */

#define LAYER_MASK 0xffULL
#define SIGN_BIT 0x100ULL

/* The word with layer i, sign bit and the 53-bit integer u53 (u = u53 2^-53). */
static uint64_t word_of(unsigned i, int negative, uint64_t u53)
{
    return (u53 << 11) | (negative ? SIGN_BIT : 0) | i;
}

static double u_of(uint64_t w) { return (double)(w >> 11) * 0x1.0p-53; }

/* The word whose u' = ((w >> 11) + 1) 2^-53 (the tail's uniform) is u53p 2^-53. */
static uint64_t open_word(uint64_t u53p) { return (u53p - 1) << 11; }

/* The 53-bit integer nearest to u 2^53 (u in [0, 1)). */
static uint64_t u53_near(double u) { return (uint64_t)(u * 0x1.0p53); }

/* Draws one value from the given words through the generic path. */
static double draw_given(const uint64_t *w, size_t nw, size_t *used)
{
    uint32_t v[32];
    assert_true(2 * nw <= 32);
    split_words(w, nw, v);
    gsl_rng *r = given_alloc(&given32, v, 2 * nw);
    double z;
    nm_rng_gaussians(r, &z, 1);
    *used = given_used(r) / 2;
    gsl_rng_free(r);
    return z;
}

static void fast_path_is_sign_times_u_times_x(void **state)
{
    static const struct {
        unsigned layer;
        int negative;
        double u;
    } cases[] = {{5, 0, 0.5}, {200, 1, 0.25}, {0, 1, 0.5}, {0, 0, 0.0}, {254, 0, 0.1}, {77, 1, 0.75}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t w = word_of(cases[c].layer, cases[c].negative, u53_near(cases[c].u));
        double x = u_of(w) * nm_zig_x[cases[c].layer];
        assert_true(x < nm_zig_x[cases[c].layer + 1]); /* the case is a fast one */
        size_t used;
        double z = draw_given(&w, 1, &used);
        assert_true(z == (cases[c].negative ? -x : x));
        assert_int_equal(used, 1);
        /* bits 9 and 10 are not used */
        uint64_t w2 = w | 0x600;
        assert_true(draw_given(&w2, 1, &used) == z);
    }
}

static void wedge_accepts_below_the_curve_and_retries_above(void **state)
{
    unsigned i = 100;
    /* u midway between the rectangle's edge and the layer's edge: in the wedge. */
    double u = 0.5 * (1.0 + nm_zig_x[i + 1] / nm_zig_x[i]);
    uint64_t w = word_of(i, 1, u53_near(u));
    double x = u_of(w) * nm_zig_x[i];
    assert_true(x > nm_zig_x[i + 1] && x < nm_zig_x[i]);
    size_t used;

    /* height u1 = 0: f[i], below f(x) since x < x[i] */
    uint64_t accept[2] = {w, word_of(0, 0, 0)};
    assert_true(draw_given(accept, 2, &used) == -x);
    assert_int_equal(used, 2);

    /* height u1 near 1: near f[i+1], above f(x) since x > x[i+1]: rejected,
     * and the third word starts a new attempt, a fast one. */
    uint64_t third = word_of(5, 0, u53_near(0.5));
    uint64_t reject[3] = {w, word_of(0, 0, (1ULL << 53) - 1), third};
    assert_true(draw_given(reject, 3, &used) == u_of(third) * nm_zig_x[5]);
    assert_int_equal(used, 3);
}

static void tail_is_r_plus_exponential(void **state)
{
    /* layer 0 with u near 1: x near x[0] > R, the tail */
    uint64_t w = word_of(0, 1, (1ULL << 53) - 1);
    assert_true(u_of(w) * nm_zig_x[0] >= NM_ZIG_R);
    size_t used;

    /* u1' = u2' = 1/2: a = log(2)/R, b = log 2, 2b > a^2: accepted */
    uint64_t half = open_word(1ULL << 52);
    uint64_t accept[3] = {w, half, half};
    double a = -log(0.5) / NM_ZIG_R;
    assert_true(draw_given(accept, 3, &used) == -(NM_ZIG_R + a));
    assert_int_equal(used, 3);

    /* u1' = 2^-53: a = 53 log(2)/R, about 10, rejected; the next pair is taken */
    uint64_t reject[5] = {w, open_word(1), half, half, half};
    assert_true(draw_given(reject, 5, &used) == -(NM_ZIG_R + a));
    assert_int_equal(used, 5);
}

static void words_of_24_bit_generators_take_three_values(void **state)
{
    /* The word (v1 << 48 | v2 << 24 | v3) mod 2^64: v1's top 8 bits drop. */
    uint64_t w = word_of(5, 1, u53_near(0.5)) | 0x600;
    uint32_t v[3] = {(uint32_t)(w >> 48) | 0xab0000u, (uint32_t)(w >> 24) & 0xffffff,
                     (uint32_t)w & 0xffffff};
    gsl_rng *r = given_alloc(&given24, v, 3);
    double z;
    nm_rng_gaussians(r, &z, 1);
    assert_true(z == -(u_of(w) * nm_zig_x[5]));
    assert_int_equal(given_used(r), 3);
    gsl_rng_free(r);
}

/* The task streams' inline path draws what the generic path draws from
 * the same 64-bit words, and uses up the same number of them. */
static void xoshiro_path_uses_its_words_as_documented(void **state)
{
    enum { N = 1000, WORDS = 1200 };
    gsl_rng *r = gsl_rng_alloc(nm_rng_xoshiro256ss);
    gsl_rng_set(r, 7);
    gsl_rng *copy = gsl_rng_clone(r);
    uint64_t *w = malloc(WORDS * sizeof *w);
    uint32_t *v = malloc(2 * WORDS * sizeof *v);
    double *z1 = malloc(N * sizeof *z1), *z2 = malloc(N * sizeof *z2);
    for (size_t k = 0; k < WORDS; k++)
        w[k] = nm_xoshiro_next64(((nm_xoshiro_state *)copy->state)->s);
    split_words(w, WORDS, v);
    gsl_rng *given = given_alloc(&given32, v, 2 * WORDS);

    nm_rng_gaussians(r, z1, N);
    nm_rng_gaussians(given, z2, N);
    assert_memory_equal(z1, z2, N * sizeof *z1);
    size_t used = given_used(given) / 2;
    assert_true(used > N); /* some attempts went beyond the first word */
    assert_true(used < WORDS);
    /* r went on exactly as far */
    assert_true(nm_xoshiro_next64(((nm_xoshiro_state *)r->state)->s) == w[used]);

    free(w), free(v), free(z1), free(z2);
    gsl_rng_free(r), gsl_rng_free(copy), gsl_rng_free(given);
}

/* ---- determinism ---- */

static gsl_rng *keyed(uint8_t fill)
{
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(fill + 31 * i);
    gsl_rng *r = gsl_rng_alloc(nm_rng_xoshiro256ss);
    nm_rng_set_key(r, key);
    return r;
}

static void same_key_same_draws_whatever_the_batches(void **state)
{
    enum { N = 1000 };
    gsl_rng *a = keyed(3), *b = keyed(3), *c = keyed(4);
    double za[N], zb[N], zc[N];
    nm_rng_gaussians(a, za, 12);
    nm_rng_gaussians(b, zb, 7);
    nm_rng_gaussians(b, zb + 7, 5);
    assert_memory_equal(za, zb, 12 * sizeof za[0]);
    /* longer batches, so that some draws take the slow path mid-batch */
    nm_rng_gaussians(a, za + 12, N - 12);
    nm_rng_gaussians(b, zb + 12, 333);
    nm_rng_gaussians(b, zb + 345, 1);
    nm_rng_gaussians(b, zb + 346, N - 346);
    assert_memory_equal(za, zb, sizeof za);
    assert_int_equal(gsl_rng_get(a), gsl_rng_get(b)); /* the streams went on alike */
    nm_rng_gaussians(c, zc, N);
    assert_memory_not_equal(za, zc, sizeof za);
    nm_rng_gaussians(a, za, 0); /* n = 0 draws nothing */
    assert_int_equal(gsl_rng_get(a), gsl_rng_get(b));
    gsl_rng_free(a), gsl_rng_free(b), gsl_rng_free(c);
}

/* ---- distribution ---- */

static double normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Moments within 5 standard errors, the Kolmogorov-Smirnov statistic below
 * its 0.1% critical value, and the counts beyond R and beyond 4 within 5
 * standard deviations of their expectations. Sorts z. */
static void check_standard_normal(double *z, size_t n, const char *what)
{
    double mean = 0, m2 = 0, m3 = 0, m4 = 0;
    size_t beyond_r = 0, beyond_4 = 0;
    for (size_t i = 0; i < n; i++)
        mean += z[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = z[i] - mean, d2 = d * d;
        m2 += d2, m3 += d2 * d, m4 += d2 * d2;
        beyond_r += fabs(z[i]) > NM_ZIG_R;
        beyond_4 += fabs(z[i]) > 4.0;
    }
    m2 /= (double)n, m3 /= (double)n, m4 /= (double)n;
    double skew = m3 / pow(m2, 1.5), kurt = m4 / (m2 * m2) - 3.0;
    double dn = (double)n;
    print_message("%s, n = %zu: mean %.5f var %.5f skew %.5f ex.kurt %.5f\n", what, n, mean, m2,
                  skew, kurt);
    assert_true(fabs(mean) < 5.0 / sqrt(dn));
    assert_true(fabs(m2 - 1.0) < 5.0 * sqrt(2.0 / dn));
    assert_true(fabs(skew) < 5.0 * sqrt(6.0 / dn));
    assert_true(fabs(kurt) < 5.0 * sqrt(24.0 / dn));

    qsort(z, n, sizeof *z, cmp_double);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double f = normal_cdf(z[i]);
        d = fmax(d, fmax((double)(i + 1) / dn - f, f - (double)i / dn));
    }
    /* Asymptotic 0.1% point of sqrt(n) D: sqrt(-log(0.0005) / 2) = 1.9495. */
    print_message("%s: KS sqrt(n) D = %.4f (0.1%% critical value 1.9495)\n", what, sqrt(dn) * d);
    assert_true(sqrt(dn) * d < 1.9495);

    double cuts[2] = {NM_ZIG_R, 4.0};
    size_t counts[2] = {beyond_r, beyond_4};
    for (int c = 0; c < 2; c++) {
        double p = erfc(cuts[c] / sqrt(2.0)), mu = dn * p, sd = sqrt(dn * p * (1 - p));
        print_message("%s: %zu beyond |%.3f|, expected %.1f +- %.1f\n", what, counts[c], cuts[c],
                      mu, sd);
        assert_true(fabs((double)counts[c] - mu) < 5.0 * sd);
    }
}

static void task_stream_draws_are_standard_normal(void **state)
{
    enum { N = 1000000 };
    double *z = malloc(N * sizeof *z);
    gsl_rng *r = keyed(11);
    nm_rng_gaussians(r, z, N);
    check_standard_normal(z, N, "xoshiro256**");
    free(z);
    gsl_rng_free(r);
}

static void other_gsl_generators_work(void **state)
{
    enum { N = 200000 };
    double *z = malloc(N * sizeof *z);
    /* mt19937: 32-bit values, a word is (first << 32) | second */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    gsl_rng *copy = gsl_rng_clone(r);
    uint64_t w = (uint64_t)gsl_rng_get(copy) << 32;
    w |= gsl_rng_get(copy);
    double x = u_of(w) * nm_zig_x[w & LAYER_MASK];
    assert_true(x < nm_zig_x[(w & LAYER_MASK) + 1]); /* seed 5's first draw is a fast one */
    nm_rng_gaussians(r, z, N);
    assert_true(z[0] == (w & SIGN_BIT ? -x : x));
    check_standard_normal(z, N, "mt19937");
    gsl_rng_free(r), gsl_rng_free(copy);
    /* ran2: values in [1, 2147483562], not a power of two: 30 bits at a time
     * through gsl_rng_uniform_int */
    r = gsl_rng_alloc(gsl_rng_ran2);
    gsl_rng_set(r, 5);
    nm_rng_gaussians(r, z, N);
    check_standard_normal(z, N, "ran2");
    gsl_rng_free(r);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fast_path_is_sign_times_u_times_x),
        cmocka_unit_test(wedge_accepts_below_the_curve_and_retries_above),
        cmocka_unit_test(tail_is_r_plus_exponential),
        cmocka_unit_test(words_of_24_bit_generators_take_three_values),
        cmocka_unit_test(xoshiro_path_uses_its_words_as_documented),
        cmocka_unit_test(same_key_same_draws_whatever_the_batches),
        cmocka_unit_test(task_stream_draws_are_standard_normal),
        cmocka_unit_test(other_gsl_generators_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

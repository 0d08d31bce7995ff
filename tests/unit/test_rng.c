/* test_rng.c: SHA-256 vectors, the xoshiro256** reference sequence, and how
 * stream keys depend (and do not depend) on the point. */
#include "testutil.h"

#include <gsl/gsl_randist.h>

#include "neuromic/internal/grid.h"
#include "neuromic/internal/rng.h"
#include "neuromic/internal/sha256.h"

static void sha256_known_vectors(void **state)
{
    char hex[65];
    nm_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    nm_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    nm_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sha256_incremental_equals_one_shot(void **state)
{
    /* One million 'a', fed in uneven pieces (FIPS 180-2 vector). */
    nm_sha256 c;
    uint8_t d[32];
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    nm_sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        nm_sha256_update(&c, chunk, n);
        left -= n;
    }
    nm_sha256_final(&c, d);
    static const uint8_t want[8] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92};
    assert_memory_equal(d, want, 8);
}

static void xoshiro_matches_reference_sequence(void **state)
{
    gsl_rng *r = gsl_rng_alloc(nm_rng_xoshiro256ss);
    uint8_t key[32] = {0};
    key[0] = 1, key[8] = 2, key[16] = 3, key[24] = 4; /* s = {1, 2, 3, 4} */
    nm_rng_set_key(r, key);
    /* 64-bit outputs 11520, 0, 1509978240, 1215971899390074240; gsl_rng_get
     * returns the upper 32 bits. */
    assert_int_equal(gsl_rng_get(r), 0);
    assert_int_equal(gsl_rng_get(r), 0);
    assert_int_equal(gsl_rng_get(r), 0);
    assert_int_equal(gsl_rng_get(r), 1215971899390074240ULL >> 32);
    gsl_rng_free(r);
}

static void xoshiro_uniform_in_unit_interval(void **state)
{
    gsl_rng *r = gsl_rng_alloc(nm_rng_xoshiro256ss);
    gsl_rng_set(r, 42);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = gsl_rng_uniform(r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.01);
    unsigned long k = gsl_rng_uniform_int(r, 10);
    assert_true(k < 10);
    gsl_rng_free(r);
}

/* A point of the probe kernel with its defaults. */
static nm_point *probe_point(void)
{
    const nm_kernel *k = nm_kernel_find("probe");
    assert_non_null(k);
    nm_point *p = malloc(sizeof *p);
    p->kernel = k;
    p->vals = calloc(nm_kernel_nparams_all(k), sizeof *p->vals);
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        p->vals[i] = nm_kernel_param(k, i)->def;
    return p;
}

static void set_f(nm_point *p, const char *name, double v)
{
    p->vals[nm_kernel_param_index(p->kernel, name)].v.f = v;
}

static void key_depends_on_named_params_only(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32], b[32];
    static const char *const seed_only[] = {"seed", NULL};
    assert_int_equal(nm_rng_key(1, "data", p, seed_only, a, NULL), NM_OK);
    set_f(p, "x", 3.5);
    assert_int_equal(nm_rng_key(1, "data", p, seed_only, b, NULL), NM_OK);
    assert_memory_equal(a, b, 32); /* x is not in depends */
    p->vals[nm_kernel_param_index(p->kernel, "seed")].v.i = 1;
    assert_int_equal(nm_rng_key(1, "data", p, seed_only, b, NULL), NM_OK);
    assert_memory_not_equal(a, b, 32);
    nm_point_free(p);
}

static void key_depends_on_every_param_by_default(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32], b[32];
    nm_rng_key(1, "noise", p, NULL, a, NULL);
    set_f(p, "work", 0.5);
    nm_rng_key(1, "noise", p, NULL, b, NULL);
    assert_memory_not_equal(a, b, 32);
    nm_point_free(p);
}

/* A parameter marked unkeyed (microcircuit's eta_decay, added after
 * results were published) stays out of the every-parameter key, and only
 * out of that one. */
static void key_by_default_leaves_out_unkeyed_params(void **state)
{
    const nm_kernel *k = nm_kernel_find("microcircuit");
    assert_non_null(k);
    assert_true(nm_kernel_param(k, (size_t)nm_kernel_param_index(k, "eta_decay"))->unkeyed);
    nm_point *p = probe_point();
    free(p->vals);
    p->kernel = k;
    p->vals = calloc(nm_kernel_nparams_all(k), sizeof *p->vals);
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        p->vals[i] = nm_kernel_param(k, i)->def;
    uint8_t a[32], b[32], c[32], d[32];
    static const char *const named[] = {"eta_decay", NULL};
    nm_rng_key(1, "noise", p, NULL, a, NULL);
    nm_rng_key(1, "noise", p, named, c, NULL);
    set_f(p, "eta_decay", 100);
    nm_rng_key(1, "noise", p, NULL, b, NULL);
    assert_memory_equal(a, b, 32);
    nm_rng_key(1, "noise", p, named, d, NULL);
    assert_memory_not_equal(c, d, 32);
    set_f(p, "sigma", 0.3);
    nm_rng_key(1, "noise", p, NULL, b, NULL);
    assert_memory_not_equal(a, b, 32);
    nm_point_free(p);
}

static void key_changes_with_base_seed_and_stream_name(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32], b[32], c[32];
    nm_rng_key(1, "noise", p, NULL, a, NULL);
    nm_rng_key(2, "noise", p, NULL, b, NULL);
    nm_rng_key(1, "noise2", p, NULL, c, NULL);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    nm_point_free(p);
}

static void key_ignores_order_of_depends(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32], b[32];
    static const char *const d1[] = {"seed", "n", NULL}, *const d2[] = {"n", "seed", NULL};
    nm_rng_key(9, "s", p, d1, a, NULL);
    nm_rng_key(9, "s", p, d2, b, NULL);
    assert_memory_equal(a, b, 32);
    nm_point_free(p);
}

static void key_treats_negative_zero_as_zero(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32], b[32];
    set_f(p, "x", 0.0);
    nm_rng_key(9, "s", p, NULL, a, NULL);
    set_f(p, "x", -0.0);
    nm_rng_key(9, "s", p, NULL, b, NULL);
    assert_memory_equal(a, b, 32);
    nm_point_free(p);
}

static void key_rejects_unknown_dependency(void **state)
{
    nm_point *p = probe_point();
    uint8_t a[32];
    nm_err err;
    static const char *const bad[] = {"seeed", NULL};
    assert_int_equal(nm_rng_key(9, "data", p, bad, a, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "'seeed'");
    nm_point_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_vectors),
        cmocka_unit_test(sha256_incremental_equals_one_shot),
        cmocka_unit_test(xoshiro_matches_reference_sequence),
        cmocka_unit_test(xoshiro_uniform_in_unit_interval),
        cmocka_unit_test(key_depends_on_named_params_only),
        cmocka_unit_test(key_depends_on_every_param_by_default),
        cmocka_unit_test(key_changes_with_base_seed_and_stream_name),
        cmocka_unit_test(key_by_default_leaves_out_unkeyed_params),
        cmocka_unit_test(key_ignores_order_of_depends),
        cmocka_unit_test(key_treats_negative_zero_as_zero),
        cmocka_unit_test(key_rejects_unknown_dependency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_kernels.c: the kernel contract (kernel.h). Walks the registry and
 * checks every kernel against the rules; shows that each rule catches a
 * kernel that breaks it; and runs a kernel's task, check() and
 * prepare()/release() through the kernel library alone: this test links
 * no MPI and no HDF5. */
#include "testutil.h"

#include "neuromic/internal/spec.h"
#include "neuromic/internal/task.h"

/* ---- every registered kernel keeps the rules ---- */

static void every_registered_kernel_conforms(void **state)
{
    (void)state;
    assert_true(nm_kernel_count() >= 3);
    for (size_t i = 0; i < nm_kernel_count(); i++) {
        const nm_kernel *k = nm_kernel_at(i);
        char why[512] = "";
        if (!nm_kernel_validate(k, why, sizeof why))
            fail_msg("%s", why);
        assert_ptr_equal(nm_kernel_find(k->name), k);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(nm_kernel_at(j)->name, k->name);
    }
}

/* ---- each rule fails a kernel that breaks it ---- */

static int dummy_run(const nm_point *p, nm_task *t, nm_result *res) { return 0; }
static size_t one(const nm_point *p, int d) { return 1; }
static size_t zero(const nm_point *p, int d) { return 0; }
static size_t asks_wrong_name(const nm_point *p, int d) { return (size_t)nm_get_i(p, "nope") + 1; }
static bool refuse(const nm_point *p, char *why, size_t len)
{
    snprintf(why, len, "never");
    return false;
}
static double negative_cost(const nm_point *p) { return -1; }
static int some_prepare(nm_shared *sh) { return 0; }

static const nm_param good_params[] = {
    NM_PARAM_INT("n", 2, 0, 10, "", "an int"),
    NM_PARAM_CHOICE("mode", "a", "a choice", "a", "b"),
};
static const nm_output good_outputs[] = {
    NM_OUTPUT_ARRAY("v", NM_O_F64, "i", one, "", "a vector"),
};

static nm_kernel good(void)
{
    return (nm_kernel){.name = "t", .version = "1", .doc = "test kernel",
                       .params = good_params, .nparams = NM_COUNT(good_params),
                       .outputs = good_outputs, .noutputs = NM_COUNT(good_outputs),
                       .run = dummy_run};
}

static void expect_broken(const nm_kernel *k, const char *needle)
{
    char why[512] = "";
    assert_false(nm_kernel_validate(k, why, sizeof why));
    assert_contains(why, needle);
}

static void each_rule_catches_its_breach(void **state)
{
    (void)state;
    char why[512];
    nm_kernel k = good();
    assert_true(nm_kernel_validate(&k, why, sizeof why));

    k = good(), k.version = "";
    expect_broken(&k, "name, version, doc and run");
    k = good(), k.run = NULL;
    expect_broken(&k, "name, version, doc and run");
    k = good(), k.prepare = some_prepare;
    expect_broken(&k, "prepare and release");

    nm_param p[2] = {good_params[0], good_params[1]};
    k = good(), k.params = p;
    p[0].name = "seed";
    expect_broken(&k, "declares 'seed'");
    p[0] = good_params[0], p[0].name = "2n";
    expect_broken(&k, "not an identifier");
    p[0] = good_params[0], p[0].name = "mode";
    expect_broken(&k, "declared twice");
    p[0] = good_params[0], p[0].def = (nm_value){.type = NM_T_FLOAT, .v.f = 2};
    expect_broken(&k, "default is float, declared int");
    p[0] = good_params[0], p[0].def.v.i = 11;
    expect_broken(&k, "must be <= 10");
    p[0] = good_params[0], p[0].lo = 20;
    expect_broken(&k, "is empty");
    p[0] = good_params[0], p[1].def.v.s = "c";
    expect_broken(&k, "must be one of a, b");
    p[1] = good_params[1], p[1].doc = "";
    expect_broken(&k, "unit and doc");
    p[1] = good_params[1];

    nm_output o[1] = {good_outputs[0]};
    k = good(), k.outputs = o;
    o[0].name = NULL; /* a hole in an indexed table */
    expect_broken(&k, "hole");
    o[0] = good_outputs[0], o[0].name = "n";
    expect_broken(&k, "name of a parameter");
    o[0] = good_outputs[0], o[0].extent = NULL;
    expect_broken(&k, "no extent()");
    o[0] = good_outputs[0], o[0].extent = zero;
    expect_broken(&k, "is 0");
    o[0] = good_outputs[0], o[0].ndims = 5;
    expect_broken(&k, "dimensions (0..4");
    o[0] = good_outputs[0], o[0].dims[0] = NULL;
    expect_broken(&k, "no valid name");
    o[0] = good_outputs[0], o[0].extent = asks_wrong_name;
    expect_broken(&k, "'nope' that it does not declare");
    o[0] = good_outputs[0];

    k = good(), k.check = refuse;
    expect_broken(&k, "rejects the default point: never");
    k = good(), k.cost = negative_cost;
    expect_broken(&k, "not positive");
}

/* ---- lookups by index and name, and their misuse ---- */

static void lookups_by_index_match_lookups_by_name(void **state)
{
    (void)state;
    const nm_kernel *k = nm_kernel_find("probe");
    nm_value vals[16];
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        vals[i] = nm_kernel_param(k, i)->def;
    nm_point p = {.kernel = k, .vals = vals};
    int n = nm_kernel_param_index(k, "n"), mode = nm_kernel_param_index(k, "mode");
    assert_int_equal(nm_get_i_at(&p, n), nm_get_i(&p, "n"));
    assert_string_equal(nm_get_s_at(&p, mode), nm_get_s(&p, "mode"));
    assert_null(nm_kernel_misuse());

    /* A misuse returns a zero value and is remembered, never aborts. */
    assert_int_equal(nm_get_i(&p, "no_such"), 0);
    assert_contains(nm_kernel_misuse(), "'no_such' that it does not declare");
    nm_kernel_misuse_clear();
    assert_string_equal(nm_get_s_at(&p, n), "");
    assert_contains(nm_kernel_misuse(), "parameter 'n' as choice, but it is int");
    nm_kernel_misuse_clear();
    assert_true(nm_get_f_at(&p, 99) == 0.0);
    assert_contains(nm_kernel_misuse(), "index 99");
    nm_kernel_misuse_clear();
}

static void outputs_are_checked_by_name_and_type(void **state)
{
    (void)state;
    double v[1];
    void *out[1] = {v};
    nm_result res = {.out = out, .nout = 1, .outputs = good_outputs};
    assert_ptr_equal(nm_out_f64(&res, 0, "v"), v);
    assert_null(res.misuse);
    assert_null(nm_out_f64(&res, 0, "w"));
    assert_contains(res.misuse, "another output's index");
    res.misuse = NULL;
    assert_null(nm_out_i64(&res, 0, "v"));
    assert_contains(res.misuse, "other element type");
    res.misuse = NULL;
    assert_null(nm_out_f64(&res, 1, "v"));
    assert_contains(res.misuse, "not an output index");
}

/* ---- a task run without the engine ---- */

static void probe_runs_through_a_bare_task(void **state)
{
    (void)state;
    static const char text[] = "kernel: probe\nfixed: {x: 2.0, n: 3, length: 3}\n";
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("t.yaml", text, strlen(text), NULL, 0, &sw, &err), NM_OK);
    const nm_kernel *k = sw->kernel;
    assert_int_equal(sw->layout[1].size, 3);
    nm_point *p = nm_point_alloc(sw);
    nm_grid_point(sw, 0, p);
    nm_task *t = nm_task_alloc(sw->base_seed, NULL);
    assert_non_null(t);
    double value, trace[3];
    int64_t draw;
    void *out[3] = {&value, trace, &draw};
    nm_result res = {.out = out, .nout = 3, .outputs = k->outputs};
    nm_task_begin(t, p, 0);
    assert_int_equal(k->run(p, t, &res), 0);
    assert_false(t->failed);
    assert_null(res.misuse);
    assert_true(value >= 6.0 && value < 7.0);
    assert_true(trace[2] == 2.0 + 3.0 * 2);
    assert_true(draw >= 0 && draw < 1000000);

    /* Past its 16 streams a task fails with the stated limit. */
    nm_task_begin(t, p, 0);
    char name[16];
    for (int i = 0; i < 16; i++) {
        snprintf(name, sizeof name, "s%d", i);
        assert_non_null(nm_task_rng(t, name, NULL));
    }
    assert_null(nm_task_rng(t, "s16", NULL));
    assert_true(t->failed);
    assert_contains(t->error, "more than 16 random streams or a name over 47 bytes");
    nm_task_begin(t, p, 0);
    assert_null(nm_task_rng(t, "012345678901234567890123456789012345678901234567", NULL));
    assert_true(t->failed);
    assert_non_null(nm_task_rng(t, "01234567890123456789012345678901234567890123456", NULL));

    nm_task_free(t);
    nm_point_free(p);
    nm_sweep_free(sw);
}

/* ---- check() on every point, before any rank computes ---- */

static void nk_check_rejects_points_with_their_axis_values(void **state)
{
    (void)state;
    static const char text[] = "kernel: nk\nfixed: {N: 4}\ngrid:\n  K: [1, 3, 4, 5]\n";
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("nk.yaml", text, strlen(text), NULL, 0, &sw, &err),
                     NM_ERR_INPUT);
    assert_null(sw);
    assert_contains(err.msg, "nk.yaml: kernel 'nk' cannot run the point K=4 (task 2)");
    assert_contains(err.msg, "K must be less than N");
    assert_contains(err.msg, "2 of 4 points are rejected");

    static const char ok[] = "kernel: nk\nfixed: {N: 4}\ngrid:\n  K: [0, 1, 2, 3]\n";
    assert_int_equal(nm_spec_parse("nk.yaml", ok, strlen(ok), NULL, 0, &sw, &err), NM_OK);
    nm_sweep_free(sw);
}

/* folded: combinations its ranges cannot express, refused with the axis values. */
static void folded_check_rejects_points_with_their_axis_values(void **state)
{
    (void)state;
    static const char text[] = "kernel: folded\nfixed: {n_test: 297}\ngrid:\n"
                               "  n_train: [1000, 1500, 1501]\n";
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("fd.yaml", text, strlen(text), NULL, 0, &sw, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "cannot run the point n_train=1501");
    assert_contains(err.msg, "must not exceed the 1797 images");
    static const char ok[] = "kernel: folded\nfixed: {epochs: 10, record_every: 5}\n";
    assert_int_equal(nm_spec_parse("fd.yaml", ok, strlen(ok), NULL, 0, &sw, &err), NM_OK);
    nm_sweep_free(sw);
}

/* ---- prepare/release: data shared by a rank's tasks ---- */

static int released;

static int count_prepare(nm_shared *sh)
{
    const nm_point *p;
    int64_t *sum = calloc(1, sizeof *sum);
    if (!sum)
        return nm_shared_fail(sh, "out of memory");
    nm_shared_set(sh, sum);
    while (nm_shared_next(sh, &p))
        *sum += nm_get_i(p, "n");
    if (nm_shared_file(sh, "tests/data/specs/basic.yaml") != 0)
        return 1;
    return nm_shared_file(sh, "tests/data/no_such_file.idx");
}

static void count_release(void *data)
{
    released++;
    free(data);
}

static void prepare_walks_points_records_files_and_fails_naming_the_file(void **state)
{
    (void)state;
    static const char text[] = "kernel: probe\ngrid:\n  n: [1, 2, 3]\n";
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("t.yaml", text, strlen(text), NULL, 0, &sw, &err), NM_OK);
    nm_kernel k = *sw->kernel;
    k.prepare = count_prepare;
    k.release = count_release;
    sw->kernel = &k;
    nm_shared *sh = NULL;
    released = 0;
    assert_int_equal(nm_shared_prepare(sw, true, &sh, &err), NM_ERR_INPUT);
    assert_null(sh);
    assert_int_equal(released, 1); /* what was handed over is released on failure */
    assert_contains(err.msg, "tests/data/no_such_file.idx: cannot read: No such file");

    sw->kernel = nm_kernel_find("probe"); /* no prepare: nothing to do */
    assert_int_equal(nm_shared_prepare(sw, true, &sh, &err), NM_OK);
    assert_null(sh);
    assert_null(nm_shared_data(sh));
    nm_shared_free(sh);
    nm_sweep_free(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_registered_kernel_conforms),
        cmocka_unit_test(each_rule_catches_its_breach),
        cmocka_unit_test(lookups_by_index_match_lookups_by_name),
        cmocka_unit_test(outputs_are_checked_by_name_and_type),
        cmocka_unit_test(probe_runs_through_a_bare_task),
        cmocka_unit_test(nk_check_rejects_points_with_their_axis_values),
        cmocka_unit_test(folded_check_rejects_points_with_their_axis_values),
        cmocka_unit_test(prepare_walks_points_records_files_and_fails_naming_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_spec.c: the YAML sweep-spec reader (src/spec/spec.c). */
#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include "neuromic/internal/sha256.h"
#include "neuromic/internal/spec.h"

/* ---- helpers ---- */

static nm_err last_err;

/* Parses text (as file "s.yaml") with overrides; fails the test on error. */
static nm_sweep *parse_ov(const char *text, char *const *ov, size_t nov)
{
    nm_sweep *sw = NULL;
    memset(&last_err, 0, sizeof last_err);
    nm_status st = nm_spec_parse("s.yaml", text, strlen(text), ov, nov, &sw, &last_err);
    if (st != NM_OK) {
        print_error("unexpected error: %s\n", last_err.msg);
        fail();
    }
    assert_non_null(sw);
    return sw;
}

static nm_sweep *parse(const char *text) { return parse_ov(text, NULL, 0); }

/* Parses text expecting an input error; returns the message. */
static const char *fails_ov(const char *text, char *const *ov, size_t nov)
{
    nm_sweep *sw = (nm_sweep *)&last_err; /* must be reset to NULL */
    memset(&last_err, 0, sizeof last_err);
    nm_status st = nm_spec_parse("s.yaml", text, strlen(text), ov, nov, &sw, &last_err);
    if (st == NM_OK) {
        nm_sweep_free(sw);
        print_error("expected an error for:\n%s\n", text);
        fail();
    }
    assert_int_equal(st, NM_ERR_INPUT);
    assert_int_equal(last_err.code, NM_ERR_INPUT);
    assert_null(sw);
    return last_err.msg;
}

static const char *fails(const char *text) { return fails_ov(text, NULL, 0); }

static int pidx(const nm_sweep *sw, const char *name)
{
    int i = nm_kernel_param_index(sw->kernel, name);
    assert_true(i >= 0);
    return i;
}

/* The axis named name (fails if there is none). */
static const nm_axis *axis(const nm_sweep *sw, const char *name)
{
    for (size_t i = 0; i < sw->naxes; i++)
        if (!strcmp(sw->axes[i].name, name))
            return &sw->axes[i];
    print_error("no axis '%s'\n", name);
    fail();
    return NULL;
}

static bool has_axis(const nm_sweep *sw, const char *name)
{
    for (size_t i = 0; i < sw->naxes; i++)
        if (!strcmp(sw->axes[i].name, name))
            return true;
    return false;
}

#define assert_near(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* tests/data/specs/NAME: relative to __FILE__ (tests/unit/test_spec.c when
 * run from the repository root), else found from the executable, which is
 * ROOT/build/san/tests/test_spec. */
static void data_path(char *buf, size_t len, const char *name)
{
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    int dirlen = slash ? (int)(slash - f) : 1;
    snprintf(buf, len, "%.*s/../data/specs/%s", dirlen, slash ? f : ".", name);
    if (access(buf, R_OK) == 0)
        return;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
        char *s = strrchr(exe, '/');
        if (s)
            *s = '\0';
    }
    snprintf(buf, len, "%s/tests/data/specs/%s", exe, name);
}

/* ---- valid specs ---- */

static const char *full_spec =
    "kernel: probe\n"                                  /* 1 */
    "base_seed: 20261122\n"                            /* 2 */
    "replicates: 3\n"                                  /* 3 */
    "fixed:\n"                                         /* 4 */
    "  mode: b\n"                                      /* 5 */
    "  length: 6\n"                                    /* 6 */
    "grid:\n"                                          /* 7 */
    "  x: [0.5, 1.0, 2.0]\n"                           /* 8 */
    "  n: {from: 1, to: 10, step: 3}\n"                /* 9 */
    "  work: {from: 0, to: 1, num: 5}\n"               /* 10 */
    "zip:\n"                                           /* 11 */
    "  - {fail_n: [1, 2, 4], nan_n: [10, 20, 40]}\n"   /* 12 */
    "output:\n"                                        /* 13 */
    "  checkpoint_every: 30\n";                        /* 14 */

static void test_full_spec_axes_in_file_order(void **state)
{
    (void)state;
    nm_sweep *sw = parse(full_spec);
    assert_string_equal(sw->kernel->name, "probe");
    assert_int_equal(sw->naxes, 5);
    const char *order[] = {"seed", "x", "n", "work", "fail_n"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(sw->axes[i].name, order[i]);
    assert_int_equal(sw->ntasks, 3 * 3 * 4 * 5 * 3);
    /* declaring nodes */
    assert_int_equal(sw->axes[0].line, 3);
    assert_int_equal(sw->axes[0].col, 1);
    assert_int_equal(sw->axes[1].line, 8);
    assert_int_equal(sw->axes[1].col, 3);
    assert_int_equal(sw->axes[4].line, 12);
    assert_int_equal(sw->axes[4].col, 5);
    nm_sweep_free(sw);
}

static void test_full_spec_values(void **state)
{
    (void)state;
    nm_sweep *sw = parse(full_spec);
    const nm_axis *a = axis(sw, "seed");
    assert_int_equal(a->len, 3);
    assert_int_equal(a->param[0], pidx(sw, "seed"));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a->values[0][i].type, NM_T_INT);
        assert_int_equal(a->values[0][i].v.i, i);
    }
    a = axis(sw, "x");
    assert_int_equal(a->nparams, 1);
    assert_int_equal(a->param[0], pidx(sw, "x"));
    assert_int_equal(a->len, 3);
    assert_int_equal(a->values[0][0].type, NM_T_FLOAT);
    assert_true(a->values[0][0].v.f == 0.5 && a->values[0][1].v.f == 1.0 &&
                a->values[0][2].v.f == 2.0);
    a = axis(sw, "n");
    assert_int_equal(a->len, 4);
    int64_t nv[] = {1, 4, 7, 10};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a->values[0][i].type, NM_T_INT);
        assert_int_equal(a->values[0][i].v.i, nv[i]);
    }
    a = axis(sw, "work");
    assert_int_equal(a->len, 5);
    for (int i = 0; i < 5; i++)
        assert_near(a->values[0][i].v.f, 0.25 * i, 1e-15);
    a = axis(sw, "fail_n");
    assert_int_equal(a->nparams, 2);
    assert_int_equal(a->param[0], pidx(sw, "fail_n"));
    assert_int_equal(a->param[1], pidx(sw, "nan_n"));
    assert_int_equal(a->len, 3);
    assert_int_equal(a->values[0][2].v.i, 4);
    assert_int_equal(a->values[1][2].v.i, 40);
    nm_sweep_free(sw);
}

static void test_full_spec_fixed_defaults_seed_checkpoint(void **state)
{
    (void)state;
    nm_sweep *sw = parse(full_spec);
    assert_int_equal(sw->base_seed, 20261122);
    assert_near(sw->checkpoint_every, 30, 0);
    assert_int_equal(sw->fixed[pidx(sw, "mode")].type, NM_T_CHOICE);
    assert_string_equal(sw->fixed[pidx(sw, "mode")].v.s, "b");
    assert_int_equal(sw->fixed[pidx(sw, "length")].v.i, 6);
    /* defaults */
    assert_int_equal(sw->fixed[pidx(sw, "fail_n")].v.i, -1);
    assert_int_equal(sw->fixed[pidx(sw, "seed")].v.i, 0);
    for (size_t i = 0; i < nm_kernel_nparams_all(sw->kernel); i++)
        assert_int_equal(sw->fixed[i].type, nm_kernel_param(sw->kernel, i)->type);
    nm_sweep_free(sw);
}

static void test_minimal_spec_uses_defaults(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\n");
    assert_int_equal(sw->naxes, 0);
    assert_int_equal(sw->ntasks, 1);
    assert_int_equal(sw->base_seed, 0);
    assert_near(sw->checkpoint_every, 60, 0);
    for (size_t i = 0; i < nm_kernel_nparams_all(sw->kernel); i++) {
        const nm_param *p = nm_kernel_param(sw->kernel, i);
        char a[64], b[64];
        nm_value_format(&sw->fixed[i], a, sizeof a);
        nm_value_format(&p->def, b, sizeof b);
        assert_string_equal(a, b);
    }
    nm_sweep_free(sw);
}

static void test_empty_sections_are_allowed(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\nfixed:\ngrid: {}\nzip: []\noutput: ~\n");
    assert_int_equal(sw->naxes, 0);
    nm_sweep_free(sw);
}

static void test_float_range_tenth_steps_ends_at_one(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: {from: 0, to: 1, step: 0.1}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 11);
    for (size_t i = 0; i < 11; i++)
        assert_near(a->values[0][i].v.f, 0.1 * (double)i, 1e-12);
    assert_near(a->values[0][10].v.f, 1.0, 1e-12);
    nm_sweep_free(sw);
}

static void test_float_range_last_value_snaps_to_to(void **state)
{
    (void)state;
    /* 3 * 0.1 is 0.30000000000000004 in doubles */
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: {from: 0, to: 0.3, step: 0.1}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 4);
    assert_true(a->values[0][3].v.f == 0.3);
    nm_sweep_free(sw);
}

static void test_float_range_stops_before_passing_to(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: {from: 0, to: 1, step: 0.3}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 4);
    assert_near(a->values[0][3].v.f, 0.9, 1e-15);
    nm_sweep_free(sw);
}

static void test_float_range_descending(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: {from: 1, to: 0, step: -0.25}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 5);
    assert_true(a->values[0][0].v.f == 1.0 && a->values[0][4].v.f == 0.0);
    nm_sweep_free(sw);
}

static void test_linspace_endpoints_and_num_one(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: {from: -1, to: 0.7, num: 7}\n"
                         "  work: {from: 3, to: 9, num: 1}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 7);
    assert_true(a->values[0][0].v.f == -1.0 && a->values[0][6].v.f == 0.7);
    a = axis(sw, "work");
    assert_int_equal(a->len, 1);
    assert_true(a->values[0][0].v.f == 3.0);
    nm_sweep_free(sw);
}

static void test_logspace_values(void **state)
{
    (void)state;
    nm_sweep *sw =
        parse("kernel: probe\ngrid:\n  x: {from: 1e-3, to: 1e-1, num: 3, scale: log}\n");
    const nm_axis *a = axis(sw, "x");
    assert_int_equal(a->len, 3);
    assert_true(a->values[0][0].v.f == 1e-3);
    assert_near(a->values[0][1].v.f / 1e-2, 1.0, 1e-12);
    assert_true(a->values[0][2].v.f == 1e-1);
    nm_sweep_free(sw);
}

static void test_logspace_int_parameter(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  n: {from: 1, to: 1000, num: 4, scale: log}\n");
    const nm_axis *a = axis(sw, "n");
    int64_t want[] = {1, 10, 100, 1000};
    assert_int_equal(a->len, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a->values[0][i].v.i, want[i]);
    nm_sweep_free(sw);
}

static void test_int_ranges(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  n: {from: 10, to: 1, step: -4}\n"
                         "  fail_n: {from: 0, to: 10, num: 6}\n  nan_n: {from: 5, to: 5, step: 2}\n");
    const nm_axis *a = axis(sw, "n");
    assert_int_equal(a->len, 3);
    assert_int_equal(a->values[0][0].v.i, 10);
    assert_int_equal(a->values[0][1].v.i, 6);
    assert_int_equal(a->values[0][2].v.i, 2);
    a = axis(sw, "fail_n");
    assert_int_equal(a->len, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(a->values[0][i].v.i, 2 * i);
    a = axis(sw, "nan_n");
    assert_int_equal(a->len, 1);
    assert_int_equal(a->values[0][0].v.i, 5);
    nm_sweep_free(sw);
}

static void test_zip_group_is_one_dimension(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\n"
                         "zip:\n"
                         "  - x: [1, 2, 4]\n"
                         "    n: {from: 0, to: 2, step: 1}\n"
                         "  - {mode: [a, b], work: [0.1, 0.2]}\n"
                         "grid:\n  length: [3]\n");
    assert_int_equal(sw->naxes, 3);
    assert_string_equal(sw->axes[0].name, "x");
    assert_string_equal(sw->axes[1].name, "mode");
    assert_string_equal(sw->axes[2].name, "length");
    assert_int_equal(sw->ntasks, 6);
    const nm_axis *a = &sw->axes[0];
    assert_int_equal(a->nparams, 2);
    assert_int_equal(a->line, 3);
    assert_int_equal(a->col, 5);
    assert_true(a->values[0][2].v.f == 4.0);
    assert_int_equal(a->values[1][2].v.i, 2);
    a = &sw->axes[1];
    assert_string_equal(a->values[0][1].v.s, "b");
    assert_near(a->values[1][1].v.f, 0.2, 0);
    nm_sweep_free(sw);
}

static void test_zip_repeated_value_in_one_column_is_fine(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\nzip:\n  - {n: [1, 1, 2], x: [0.1, 0.2, 0.1]}\n");
    assert_int_equal(sw->ntasks, 3);
    nm_sweep_free(sw);
}

static void test_replicates_axis(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid: {x: [1, 2]}\nreplicates: 4\n");
    assert_int_equal(sw->naxes, 2);
    assert_string_equal(sw->axes[1].name, "seed");
    assert_int_equal(sw->axes[1].len, 4);
    assert_int_equal(sw->axes[1].values[0][3].v.i, 3);
    assert_int_equal(sw->ntasks, 8);
    nm_sweep_free(sw);
}

static void test_choice_quoted_and_plain(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  mode: [\"a\", b]\n");
    const nm_axis *a = axis(sw, "mode");
    assert_string_equal(a->values[0][0].v.s, "a");
    assert_string_equal(a->values[0][1].v.s, "b");
    nm_sweep_free(sw);
}

static void test_float_forms_and_int_as_float(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  x: [1, 1.5, 1e-3, -2E+4, .5, +3.]\n");
    const nm_axis *a = axis(sw, "x");
    double want[] = {1, 1.5, 1e-3, -2e4, 0.5, 3};
    for (int i = 0; i < 6; i++)
        assert_true(a->values[0][i].v.f == want[i]);
    nm_sweep_free(sw);
}

static void test_anchor_and_alias(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\ngrid:\n  n: &ns [1, 2]\nzip:\n  - {fail_n: *ns, nan_n: *ns}\n");
    assert_int_equal(axis(sw, "fail_n")->len, 2);
    assert_int_equal(axis(sw, "fail_n")->values[1][1].v.i, 2);
    nm_sweep_free(sw);
}

static void test_text_and_sha256_preserved(void **state)
{
    (void)state;
    const char *text = "# comment kept\nkernel: probe   \n\ngrid: {x: [1, 2]}\n";
    nm_sweep *sw = parse(text);
    assert_string_equal(sw->text, text);
    assert_string_equal(sw->path, "s.yaml");
    char hex[65];
    nm_sha256_hex(text, strlen(text), hex);
    assert_string_equal(sw->sha256, hex);
    assert_int_equal(strlen(sw->sha256), 64);
    nm_sweep_free(sw);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[512];
    data_path(path, sizeof path, "basic.yaml");
    nm_sweep *sw = NULL;
    nm_err err = {0};
    nm_status st = nm_spec_load(path, NULL, 0, &sw, &err);
    if (st)
        print_error("%s\n", err.msg);
    assert_int_equal(st, NM_OK);
    assert_string_equal(sw->path, path);
    assert_int_equal(sw->base_seed, 7);
    assert_near(sw->checkpoint_every, 5, 0);
    assert_int_equal(sw->naxes, 3);
    assert_string_equal(sw->axes[0].name, "x");
    assert_string_equal(sw->axes[2].name, "seed");
    assert_int_equal(sw->ntasks, 3 * 4 * 2);
    assert_int_equal(sw->fixed[pidx(sw, "length")].v.i, 8);
    assert_contains(sw->text, "kernel: probe\nbase_seed: 7\n");
    char hex[65];
    nm_sha256_hex(sw->text, strlen(sw->text), hex);
    assert_string_equal(sw->sha256, hex);
    nm_sweep_free(sw);
}

static void test_load_file_error_has_position(void **state)
{
    (void)state;
    char path[512], want[600];
    data_path(path, sizeof path, "bad_param.yaml");
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_load(path, NULL, 0, &sw, &err), NM_ERR_INPUT);
    assert_null(sw);
    snprintf(want, sizeof want, "%s:5:3: fixed.lenght: unknown parameter 'lenght'", path);
    assert_contains(err.msg, want);
    assert_contains(err.msg, "(did you mean 'length'?)");
}

static void test_load_missing_file(void **state)
{
    (void)state;
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_load("/nonexistent/sweep.yaml", NULL, 0, &sw, &err), NM_ERR_INPUT);
    assert_null(sw);
    assert_contains(err.msg, "cannot read /nonexistent/sweep.yaml: No such file or directory");
}

static void test_load_directory_is_an_error(void **state)
{
    (void)state;
    char path[512];
    data_path(path, sizeof path, "");
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_load(path, NULL, 0, &sw, &err), NM_ERR_INPUT);
    assert_null(sw);
    assert_contains(err.msg, "cannot read ");
    assert_contains(err.msg, ": Is a directory");
}

static void test_free_null(void **state)
{
    (void)state;
    nm_sweep_free(NULL);
}

/* ---- errors: document shape ---- */

static void test_err_yaml_syntax(void **state)
{
    (void)state;
    const char *m = fails("kernel: probe\ngrid:\n  x: [1, 2\n");
    assert_contains(m, "s.yaml:4:1: YAML syntax error: did not find expected ',' or ']'");
    assert_contains(m, "(while parsing a flow sequence at 3:6)");
    m = fails("kernel: probe\n  bad: indent\n");
    assert_contains(m, "s.yaml:2:6: YAML syntax error");
}

static void test_err_top_level_not_mapping(void **state)
{
    (void)state;
    assert_contains(fails("- kernel: probe\n"),
                    "s.yaml:1:1: expected a mapping at the top level");
}

static void test_err_unknown_top_level_key(void **state)
{
    (void)state;
    const char *m = fails("kernel: probe\ngird:\n  x: [1]\n");
    assert_contains(m, "s.yaml:2:1: gird: unknown top-level key 'gird' (did you mean 'grid'?)");
    assert_contains(m, "expected one of: kernel, base_seed");
}

static void test_err_missing_kernel_at_1_1(void **state)
{
    (void)state;
    assert_contains(fails("\n\ngrid: {x: [1]}\n"), "s.yaml:1:1: kernel: missing required key");
    assert_contains(fails(""), "s.yaml:1:1: kernel: missing required key");
    assert_contains(fails("# nothing\n"), "known kernels: probe");
}

static void test_err_unknown_kernel_suggests(void **state)
{
    (void)state;
    const char *m = fails("kernel: prob\n");
    assert_contains(m, "s.yaml:1:9: kernel: unknown kernel 'prob' (did you mean 'probe'?)");
    assert_contains(m, "known kernels: probe");
    m = fails("kernel: hodgkin_huxley\n");
    assert_contains(m, "unknown kernel 'hodgkin_huxley'; known kernels: probe");
}

static void test_err_duplicate_yaml_key(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  n: [1]\n  x: [2]\n  n: [3]\n"),
                    "s.yaml:5:3: grid.n: duplicate key 'n' (also declared at 3:3)");
    assert_contains(fails("kernel: probe\nkernel: probe\n"),
                    "s.yaml:2:1: kernel: duplicate top-level key 'kernel' (also declared at 1:1)");
}

static void test_err_multiple_documents(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\n---\nkernel: probe\n"),
                    "s.yaml:2:1: expected a single YAML document");
}

static void test_err_tags_rejected(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  n: !!int 3\n"),
                    "s.yaml:3:6: YAML tags (here 'tag:yaml.org,2002:int') are not supported");
}

static void test_err_unknown_alias(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  n: *ns\n"), "s.yaml:3:6: unknown alias '*ns'");
}

/* ---- errors: parameters and values ---- */

static void test_err_unknown_parameter_suggests(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  lenght: 3\n"),
                    "s.yaml:3:3: fixed.lenght: unknown parameter 'lenght' for kernel 'probe' "
                    "(did you mean 'length'?)");
    assert_contains(fails("kernel: probe\ngrid:\n  mdoe: [a]\n"),
                    "s.yaml:3:3: grid.mdoe: unknown parameter 'mdoe' for kernel 'probe' (did you "
                    "mean 'mode'?)");
}

static void test_err_unknown_parameter_far_lists_parameters(void **state)
{
    (void)state;
    const char *m = fails("kernel: probe\nzip:\n  - {temperature: [1]}\n");
    assert_contains(m, "s.yaml:3:6: zip[0].temperature: unknown parameter 'temperature'");
    assert_contains(m, "its parameters: x, n, mode, length, work, fail_n, nan_n, seed");
    assert_true(strstr(m, "did you mean") == NULL);
}

static void test_err_int_rejects_float_and_quoted(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  n: 2.5\n"),
                    "s.yaml:3:6: fixed.n: expected an integer (n is an int parameter), got '2.5'");
    assert_contains(fails("kernel: probe\nfixed:\n  n: \"3\"\n"),
                    "fixed.n: expected an integer (n is an int parameter), got \"3\" (a quoted");
    assert_contains(fails("kernel: probe\ngrid:\n  n: [1, 1e3]\n"),
                    "s.yaml:3:10: grid.n[1]: expected an integer");
    assert_contains(fails("kernel: probe\nfixed:\n  n: 99999999999999999999\n"),
                    "fixed.n: integer '99999999999999999999' is out of range");
}

static void test_err_float_rejects_nan_inf_and_quoted(void **state)
{
    (void)state;
    const char *bads[] = {"nan", ".nan", "inf", "-.inf", "'1.5'", "0x10", "1e", "abc", "1e999"};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "kernel: probe\nfixed:\n  x: %s\n", bads[i]);
        const char *m = fails(text);
        assert_contains(m, "s.yaml:3:6: fixed.x: ");
        assert_true(strstr(m, "expected a number (x is a float parameter)") ||
                    strstr(m, "too large"));
    }
}

static void test_err_value_not_scalar(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  x: [1, 2]\n"),
                    "s.yaml:3:6: fixed.x: expected a single value for x, got a list (to vary a "
                    "parameter, put it under grid:)");
}

static void test_err_choice_not_allowed(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  mode: [a, c]\n"),
                    "s.yaml:3:13: grid.mode[1]: invalid value for mode: must be one of a, b "
                    "(got 'c')");
}

static void test_err_out_of_range(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  n: -1\n"),
                    "s.yaml:3:6: fixed.n: invalid value for n: must be >= 0");
    assert_contains(fails("kernel: probe\nfixed:\n  length: 0\n"),
                    "fixed.length: invalid value for length: must be >= 1");
    assert_contains(fails("kernel: probe\ngrid:\n  n: {from: -2, to: 2, step: 1}\n"),
                    "s.yaml:3:6: grid.n: the range gives -2, which is invalid for n: must be >= 0");
}

static void test_err_empty_axis(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: []\n"),
                    "s.yaml:3:6: grid.x: empty list; an axis needs at least one value");
    assert_contains(fails("kernel: probe\ngrid:\n  x:\n"), "grid.x: expected a list of values");
    assert_contains(fails("kernel: probe\ngrid:\n  x: 3\n"), "(to fix a single value, use fixed:)");
}

static void test_err_duplicate_value_in_axis(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: [1, 2, 1.0]\n"),
                    "s.yaml:3:13: grid.x[2]: duplicate value 1 (also at 3:7 as grid.x[0])");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 1, to: 1, num: 3}\n"),
                    "s.yaml:3:6: grid.x: the range gives the value 1 more than once");
    assert_contains(fails("kernel: probe\nzip:\n  - {n: [1, 2, 1], x: [5, 6, 5]}\n"),
                    "s.yaml:3:5: zip[0]: rows 0 and 2 are the same (n=1, x=5)");
}

static void test_err_declared_in_fixed_and_grid(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nfixed:\n  x: 1\ngrid:\n  x: [1, 2]\n"),
                    "s.yaml:5:3: grid.x: parameter 'x' is declared twice (also declared at 3:3 "
                    "as fixed.x)");
}

static void test_err_declared_in_grid_and_zip(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  n: [1, 2]\nzip:\n  - {x: [1], n: [3]}\n"),
                    "s.yaml:5:14: zip[0].n: parameter 'n' is declared twice (also declared at "
                    "3:3 as grid.n)");
}

static void test_err_declared_twice_in_zip(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nzip:\n  - {x: [1, 2]}\n  - {n: [1], x: [3]}\n"),
                    "s.yaml:4:14: zip[1].x: parameter 'x' is declared twice (also declared at "
                    "3:6 as zip[0].x)");
}

static void test_err_replicates_and_seed(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nreplicates: 3\ngrid:\n  seed: [1, 2]\n"),
                    "s.yaml:4:3: grid.seed: parameter 'seed' is declared twice (also declared at "
                    "2:1 as replicates)");
    assert_contains(fails("kernel: probe\nfixed: {seed: 3}\nreplicates: 3\n"),
                    "s.yaml:3:1: replicates: parameter 'seed' is declared twice (also declared at "
                    "2:9 as fixed.seed)");
    assert_contains(fails("kernel: probe\nreplicates: 0\n"),
                    "s.yaml:2:13: replicates: expected an integer from 1 to");
}

static void test_replicates_as_seeds(void **state)
{
    /* replicates: a list or range of seeds, in replicates' place among the axes */
    (void)state;
    nm_sweep *sw = parse("kernel: probe\nreplicates: {from: 10, to: 13, step: 1}\n"
                         "grid:\n  x: [1, 2]\n");
    assert_string_equal(sw->axes[0].name, "seed");
    assert_int_equal(sw->axes[0].len, 4);
    assert_int_equal(sw->axes[0].values[0][0].v.i, 10);
    assert_int_equal(sw->axes[0].values[0][3].v.i, 13);
    nm_sweep_free(sw);
    char *ov[] = {"replicates=[7, 3]"};
    sw = parse_ov("kernel: probe\ngrid:\n  x: [1, 2]\nreplicates: 2\n", ov, 1);
    assert_string_equal(sw->axes[1].name, "seed");
    assert_int_equal(sw->axes[1].values[0][1].v.i, 3);
    nm_sweep_free(sw);
    assert_contains(fails("kernel: probe\nreplicates: [1, 1]\n"),
                    "s.yaml:2:17: replicates[1]: duplicate value 1");
    assert_contains(fails("kernel: probe\nreplicates: [-1]\n"), "s.yaml:2:14: replicates[0]: invalid");
}

static void test_err_zip_length_mismatch(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nzip:\n  - {x: [1, 2, 3], n: [1, 2]}\n"),
                    "s.yaml:3:20: zip[0].n: has 2 values but zip[0].x has 3; all parameters of a "
                    "zip group need the same number of values");
}

static void test_err_zip_shape(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nzip: {x: [1]}\n"), "s.yaml:2:6: zip: expected a list");
    assert_contains(fails("kernel: probe\nzip:\n  - {}\n"), "s.yaml:3:5: zip[0]: empty zip group");
    assert_contains(fails("kernel: probe\nzip:\n  - [1, 2]\n"),
                    "s.yaml:3:5: zip[0]: expected a group mapping");
}

static void test_err_range_step_zero_and_sign(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1, step: 0}\n"),
                    "s.yaml:3:29: grid.x.step: step must not be 0");
    assert_contains(fails("kernel: probe\ngrid:\n  n: {from: 1, to: 10, step: -3}\n"),
                    "s.yaml:3:30: grid.n.step: step -3 points away from 'to' (from 1 to 10 needs a "
                    "positive step)");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 1, to: 0, step: 0.5}\n"),
                    "grid.x.step: step 0.5 points away from 'to'");
}

static void test_err_range_missing_and_unknown_keys(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, step: 1}\n"),
                    "s.yaml:3:6: grid.x: a range needs 'to'");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1}\n"),
                    "s.yaml:3:6: grid.x: a range needs 'step'");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1, stpe: 0.1}\n"),
                    "s.yaml:3:23: grid.x: unknown key 'stpe' in a range (did you mean 'step'?)");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1, step: 0.1, num: 3}\n"),
                    "s.yaml:3:34: grid.x: give either step or num, not both");
}

static void test_err_range_scale(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 1, to: 2, step: 0.5, scale: log}\n"),
                    "s.yaml:3:34: grid.x.scale: scale is only allowed with num");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 1, to: 2, num: 3, scale: ln}\n"),
                    "s.yaml:3:38: grid.x.scale: expected linear or log, got 'ln'");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 2, num: 3, scale: log}\n"),
                    "s.yaml:3:6: grid.x: a log range needs from > 0 and to > 0");
}

static void test_err_range_types(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  n: {from: 0, to: 1, step: 0.5}\n"),
                    "s.yaml:3:29: grid.n.step: expected an integer (n is an int parameter), got "
                    "'0.5'");
    assert_contains(fails("kernel: probe\ngrid:\n  n: {from: 0, to: 10, num: 4}\n"),
                    "grid.n: 4 evenly spaced values from 0 to 10 are not all integers");
    assert_contains(fails("kernel: probe\ngrid:\n  n: {from: 1, to: 10, num: 3, scale: log}\n"),
                    "grid.n: log range value");
    assert_contains(fails("kernel: probe\ngrid:\n  mode: {from: 0, to: 1, num: 2}\n"),
                    "s.yaml:3:9: grid.mode: a range needs a numeric parameter, but mode is a "
                    "choice parameter");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1, num: 0}\n"),
                    "s.yaml:3:28: grid.x.num: expected a whole number of values >= 1, got '0'");
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: a, to: 1, num: 2}\n"),
                    "s.yaml:3:13: grid.x.from: expected a number, got 'a'");
}

static void test_err_range_too_many_values(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\ngrid:\n  x: {from: 0, to: 1, step: 1e-12}\n"),
                    "grid.x: the range has too many values");
}

static void test_err_too_many_tasks(void **state)
{
    (void)state;
    char text[1024];
    /* 7 axes of 1000 values = 10^21 > 2^62 */
    snprintf(text, sizeof text,
             "kernel: probe\nreplicates: 1000\ngrid:\n"
             "  x: {from: 1, to: 1000, step: 1}\n  n: {from: 1, to: 1000, step: 1}\n"
             "  work: {from: 1, to: 1000, step: 1}\n  fail_n: {from: 1, to: 1000, step: 1}\n"
             "  nan_n: {from: 1, to: 1000, step: 1}\n"
             "zip:\n  - {mode: [a, b]}\n");
    nm_sweep *ok = parse(text); /* 2 * 10^18 < 2^62 */
    assert_int_equal(ok->ntasks, 2000000000000000000ULL);
    nm_sweep_free(ok);
    char *ov[] = {"grid.length=[1, 2, 3]"};
    assert_contains(fails_ov(text, ov, 1),
                    "--set grid.length=[1, 2, 3]:1:6: length: with this axis the sweep has more "
                    "than 2^62 tasks");
}

static void test_err_base_seed(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\nbase_seed: -1\n"),
                    "s.yaml:2:12: base_seed: expected an integer 0 <= base_seed < 2^63, got '-1'");
    assert_contains(fails("kernel: probe\nbase_seed: 9223372036854775808\n"),
                    "s.yaml:2:12: base_seed: integer '9223372036854775808' is out of range");
    assert_contains(fails("kernel: probe\nbase_seed: 1.5\n"), "base_seed: expected an integer");
    nm_sweep *sw = parse("kernel: probe\nbase_seed: 9223372036854775807\n");
    assert_int_equal(sw->base_seed, 9223372036854775807ULL);
    nm_sweep_free(sw);
}

static void test_err_output(void **state)
{
    (void)state;
    assert_contains(fails("kernel: probe\noutput:\n  checkpoint_every: 0\n"),
                    "s.yaml:3:21: output.checkpoint_every: expected a number of seconds > 0, got "
                    "'0'");
    assert_contains(fails("kernel: probe\noutput:\n  checkpoint: 10\n"),
                    "s.yaml:3:3: output.checkpoint: unknown key 'checkpoint'; expected "
                    "checkpoint_every");
    assert_contains(fails("kernel: probe\noutput:\n  chekpoint_every: 10\n"),
                    "(did you mean 'checkpoint_every'?)");
}

static void test_task_timeout(void **state)
{
    (void)state;
    nm_sweep *sw = parse("kernel: probe\n");
    assert_near(sw->task_timeout, 0, 0);
    nm_sweep_free(sw);
    sw = parse("kernel: probe\noutput:\n  task_timeout: 2.5\n  checkpoint_every: 7\n");
    assert_near(sw->task_timeout, 2.5, 0);
    assert_near(sw->checkpoint_every, 7, 0);
    nm_sweep_free(sw);
    char *ov[] = {"output.task_timeout=9"};
    sw = parse_ov("kernel: probe\n", ov, 1);
    assert_near(sw->task_timeout, 9, 0);
    nm_sweep_free(sw);
    assert_contains(fails("kernel: probe\noutput:\n  task_timeout: -1\n"),
                    "s.yaml:3:17: output.task_timeout: expected a number of seconds >= 0 (0: none), "
                    "got '-1'");
    assert_contains(fails("kernel: probe\noutput:\n  task_timout: 1\n"),
                    "(did you mean 'task_timeout'?)");
}

static void test_err_output_shape_depends_on_axis(void **state)
{
    (void)state;
    /* length sets the extent of the output `trace` */
    assert_contains(fails("kernel: probe\ngrid:\n  length: [2, 4]\n"), "s.yaml:3:3: grid.length");
}

/* ---- overrides ---- */

static const char *ov_spec = "kernel: probe\n"
                             "grid:\n"
                             "  x: [1, 2]\n"
                             "  n: [1, 2, 3]\n"
                             "zip:\n"
                             "  - {fail_n: [5, 6], nan_n: [7, 8]}\n"
                             "replicates: 2\n";

static void test_set_replaced_axis_keeps_place(void **state)
{
    (void)state;
    char *ov[] = {"grid.x=[7, 8, 9]"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 1);
    assert_int_equal(sw->naxes, 4);
    assert_string_equal(sw->axes[0].name, "x");
    assert_int_equal(sw->axes[0].len, 3);
    assert_true(sw->axes[0].values[0][2].v.f == 9);
    assert_string_equal(sw->axes[1].name, "n");
    assert_int_equal(sw->ntasks, 3 * 3 * 2 * 2);
    assert_int_equal(sw->noverrides, 1);
    assert_string_equal(sw->overrides[0], "grid.x=[7, 8, 9]");
    nm_sweep_free(sw);
}

static void test_set_new_axis_is_appended(void **state)
{
    (void)state;
    char *ov[] = {"grid.work={from: 0, to: 1, num: 3}"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 1);
    assert_int_equal(sw->naxes, 5);
    assert_string_equal(sw->axes[4].name, "work");
    assert_int_equal(sw->axes[4].len, 3);
    assert_true(sw->axes[4].values[0][2].v.f == 1.0);
    nm_sweep_free(sw);
}

static void test_set_bare_name_pins_grid_axis(void **state)
{
    (void)state;
    char *ov[] = {"n=5"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 1);
    assert_false(has_axis(sw, "n"));
    assert_int_equal(sw->naxes, 3);
    assert_int_equal(sw->fixed[pidx(sw, "n")].v.i, 5);
    assert_int_equal(sw->ntasks, 2 * 2 * 2);
    nm_sweep_free(sw);
}

static void test_set_bare_name_leaves_zip_and_replicates(void **state)
{
    (void)state;
    char *ov[] = {"fail_n=1", "nan_n=2", "seed=3"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 3);
    assert_int_equal(sw->naxes, 2);
    assert_string_equal(sw->axes[0].name, "x");
    assert_string_equal(sw->axes[1].name, "n");
    assert_int_equal(sw->fixed[pidx(sw, "nan_n")].v.i, 2);
    assert_int_equal(sw->fixed[pidx(sw, "seed")].v.i, 3);
    nm_sweep_free(sw);

    /* One parameter of the group stays: the group is named after it. */
    char *ov2[] = {"fail_n=1"};
    sw = parse_ov(ov_spec, ov2, 1);
    assert_string_equal(sw->axes[2].name, "nan_n");
    assert_int_equal(sw->axes[2].nparams, 1);
    nm_sweep_free(sw);
}

static void test_set_scalars_and_sections(void **state)
{
    (void)state;
    char *ov[] = {"base_seed=42", "output.checkpoint_every=2.5", "replicates=5", "fixed.mode=b",
                  "kernel=probe"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 5);
    assert_int_equal(sw->base_seed, 42);
    assert_near(sw->checkpoint_every, 2.5, 0);
    assert_int_equal(axis(sw, "seed")->len, 5);
    assert_string_equal(sw->axes[3].name, "seed"); /* replaced: keeps its place */
    assert_string_equal(sw->fixed[pidx(sw, "mode")].v.s, "b");
    assert_int_equal(sw->noverrides, 5);
    assert_string_equal(sw->overrides[4], "kernel=probe");
    nm_sweep_free(sw);
}

static void test_set_nested_range_key(void **state)
{
    (void)state;
    char *ov[] = {"grid.x={from: 0, to: 1, step: 0.5}", "grid.x.step=0.25"};
    nm_sweep *sw = parse_ov(ov_spec, ov, 2);
    assert_int_equal(axis(sw, "x")->len, 5);
    nm_sweep_free(sw);
}

static void test_set_on_empty_file(void **state)
{
    (void)state;
    char *ov[] = {"kernel=probe", "x=2"};
    nm_sweep *sw = parse_ov("", ov, 2);
    assert_int_equal(sw->naxes, 0);
    assert_true(sw->fixed[pidx(sw, "x")].v.f == 2.0);
    nm_sweep_free(sw);
}

static void test_set_value_error_points_into_argument(void **state)
{
    (void)state;
    char *ov[] = {"grid.n=[1,-2]"};
    assert_contains(fails_ov(ov_spec, ov, 1),
                    "--set grid.n=[1,-2]:1:11: grid.n[1]: invalid value for n: must be >= 0");
    char *ov2[] = {"work=-1"};
    assert_contains(fails_ov(ov_spec, ov2, 1),
                    "--set work=-1:1:6: fixed.work: invalid value for work: must be >= 0");
    char *ov3[] = {"grid.n=[1, 2"};
    assert_contains(fails_ov(ov_spec, ov3, 1), "--set grid.n=[1, 2:1:13: YAML syntax error");
    char *ov4[] = {"grid.x={from: 0, to: 1, step: 0}"};
    assert_contains(fails_ov(ov_spec, ov4, 1),
                    "--set grid.x={from: 0, to: 1, step: 0}:1:31: grid.x.step: step must not be 0");
}

static void test_set_bad_keys(void **state)
{
    (void)state;
    char *ov[] = {"grid.x"};
    assert_contains(fails_ov(ov_spec, ov, 1), "--set grid.x:1:1: expected KEY=VALUE");
    char *ov2[] = {"gird.x=[1]"};
    assert_contains(fails_ov(ov_spec, ov2, 1),
                    "--set gird.x=[1]:1:1: unknown key 'gird.x' (did you mean 'grid'?)");
    char *ov3[] = {"lenght=3"};
    assert_contains(fails_ov(ov_spec, ov3, 1),
                    "--set lenght=3:1:1: fixed.lenght: unknown parameter 'lenght' for kernel "
                    "'probe' (did you mean 'length'?)");
    char *ov4[] = {"=3"};
    assert_contains(fails_ov(ov_spec, ov4, 1), "--set =3:1:1: missing KEY");
    char *ov5[] = {"grid..x=3"};
    assert_contains(fails_ov(ov_spec, ov5, 1), "--set grid..x=3:1:6: empty name");
    char *ov6[] = {"kernel.x=1"};
    assert_contains(fails_ov(ov_spec, ov6, 1),
                    "--set kernel.x=1:1:8: cannot set 'kernel.x': 'kernel' is 'probe' (at "
                    "s.yaml:1:9), not a mapping");
    char *ov7[] = {"kernel=prob"};
    assert_contains(fails_ov(ov_spec, ov7, 1),
                    "--set kernel=prob:1:8: kernel: unknown kernel 'prob' (did you mean 'probe'?)");
}

static void test_set_dotted_fixed_conflicts_with_grid(void **state)
{
    (void)state;
    char *ov[] = {"fixed.n=3"};
    assert_contains(fails_ov(ov_spec, ov, 1),
                    "--set fixed.n=3:1:7: fixed.n: parameter 'n' is declared twice (also declared "
                    "at s.yaml:4:3 as grid.n)");
}

/* Found by fuzzing: a --set argument longer than the message buffer used to
 * push the "FILE:LINE:COL:" prefix out of the message entirely. */
static void test_set_long_override_keeps_position(void **state)
{
    (void)state;
    char key[1500], val[1500];
    snprintf(key, sizeof key, "kerne.x=[%0*d]", 1400, 1);
    char *ov1[] = {key};
    const char *m = fails_ov("kernel: probe\n", ov1, 1);
    assert_int_equal(strncmp(m, "--set kerne.x=[0000", 19), 0);
    assert_contains(m, "0...:1:1: unknown key 'kerne.x'");
    assert_true(strlen(m) < 600);
    /* A value error far into the argument keeps its column. */
    snprintf(val, sizeof val, "grid.x=[%0*d, zz]", 1400, 1);
    char *ov2[] = {val};
    m = fails_ov("kernel: probe\n", ov2, 1);
    assert_contains(m, "...:1:1411: grid.x[1]: expected a number");
}

static void test_set_applied_in_order(void **state)
{
    (void)state;
    char *ov[] = {"x=1", "grid.x=[3, 4]"};
    const char *m = fails_ov(ov_spec, ov, 2);
    assert_contains(m, "parameter 'x' is declared twice");
    char *ov2[] = {"grid.x=[3, 4]", "x=1"};
    nm_sweep *sw = parse_ov(ov_spec, ov2, 2);
    assert_false(has_axis(sw, "x"));
    nm_sweep_free(sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec_axes_in_file_order),
        cmocka_unit_test(test_full_spec_values),
        cmocka_unit_test(test_full_spec_fixed_defaults_seed_checkpoint),
        cmocka_unit_test(test_minimal_spec_uses_defaults),
        cmocka_unit_test(test_empty_sections_are_allowed),
        cmocka_unit_test(test_float_range_tenth_steps_ends_at_one),
        cmocka_unit_test(test_float_range_last_value_snaps_to_to),
        cmocka_unit_test(test_float_range_stops_before_passing_to),
        cmocka_unit_test(test_float_range_descending),
        cmocka_unit_test(test_linspace_endpoints_and_num_one),
        cmocka_unit_test(test_logspace_values),
        cmocka_unit_test(test_logspace_int_parameter),
        cmocka_unit_test(test_int_ranges),
        cmocka_unit_test(test_zip_group_is_one_dimension),
        cmocka_unit_test(test_zip_repeated_value_in_one_column_is_fine),
        cmocka_unit_test(test_replicates_axis),
        cmocka_unit_test(test_choice_quoted_and_plain),
        cmocka_unit_test(test_float_forms_and_int_as_float),
        cmocka_unit_test(test_anchor_and_alias),
        cmocka_unit_test(test_text_and_sha256_preserved),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_error_has_position),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_load_directory_is_an_error),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_err_yaml_syntax),
        cmocka_unit_test(test_err_top_level_not_mapping),
        cmocka_unit_test(test_err_unknown_top_level_key),
        cmocka_unit_test(test_err_missing_kernel_at_1_1),
        cmocka_unit_test(test_err_unknown_kernel_suggests),
        cmocka_unit_test(test_err_duplicate_yaml_key),
        cmocka_unit_test(test_err_multiple_documents),
        cmocka_unit_test(test_err_tags_rejected),
        cmocka_unit_test(test_err_unknown_alias),
        cmocka_unit_test(test_err_unknown_parameter_suggests),
        cmocka_unit_test(test_err_unknown_parameter_far_lists_parameters),
        cmocka_unit_test(test_err_int_rejects_float_and_quoted),
        cmocka_unit_test(test_err_float_rejects_nan_inf_and_quoted),
        cmocka_unit_test(test_err_value_not_scalar),
        cmocka_unit_test(test_err_choice_not_allowed),
        cmocka_unit_test(test_err_out_of_range),
        cmocka_unit_test(test_err_empty_axis),
        cmocka_unit_test(test_err_duplicate_value_in_axis),
        cmocka_unit_test(test_err_declared_in_fixed_and_grid),
        cmocka_unit_test(test_err_declared_in_grid_and_zip),
        cmocka_unit_test(test_err_declared_twice_in_zip),
        cmocka_unit_test(test_err_replicates_and_seed),
        cmocka_unit_test(test_err_zip_length_mismatch),
        cmocka_unit_test(test_err_zip_shape),
        cmocka_unit_test(test_err_range_step_zero_and_sign),
        cmocka_unit_test(test_err_range_missing_and_unknown_keys),
        cmocka_unit_test(test_err_range_scale),
        cmocka_unit_test(test_err_range_types),
        cmocka_unit_test(test_err_range_too_many_values),
        cmocka_unit_test(test_err_too_many_tasks),
        cmocka_unit_test(test_err_base_seed),
        cmocka_unit_test(test_err_output),
        cmocka_unit_test(test_task_timeout),
        cmocka_unit_test(test_err_output_shape_depends_on_axis),
        cmocka_unit_test(test_set_replaced_axis_keeps_place),
        cmocka_unit_test(test_set_new_axis_is_appended),
        cmocka_unit_test(test_set_bare_name_pins_grid_axis),
        cmocka_unit_test(test_set_bare_name_leaves_zip_and_replicates),
        cmocka_unit_test(test_set_scalars_and_sections),
        cmocka_unit_test(test_set_nested_range_key),
        cmocka_unit_test(test_set_on_empty_file),
        cmocka_unit_test(test_set_value_error_points_into_argument),
        cmocka_unit_test(test_set_bad_keys),
        cmocka_unit_test(test_set_dotted_fixed_conflicts_with_grid),
        cmocka_unit_test(test_set_applied_in_order),
        cmocka_unit_test(test_set_long_override_keeps_position),
        cmocka_unit_test(test_replicates_as_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_grid.c: task id <-> indices <-> point, hyperslab boxes, and the check
 * that output shapes do not vary across the grid. Sweeps are built by hand
 * here so that these tests do not depend on the spec reader. */
#include "testutil.h"

#include "neuromic/internal/grid.h"

typedef struct {
    nm_sweep sw;
    nm_axis axes[4];
    int params[4][2];
    nm_value *vals[4][2];
} hand_sweep;

/* A probe sweep with int axes on the given parameters, values 0..len-1
 * (plus 100 for `length`, whose values must be >= 1). */
static hand_sweep *make_sweep(size_t naxes, const char *const *names, const size_t *lens)
{
    hand_sweep *h = calloc(1, sizeof *h);
    const nm_kernel *k = nm_kernel_find("probe");
    h->sw.kernel = k;
    h->sw.path = "hand.yaml";
    h->sw.fixed = calloc(nm_kernel_nparams_all(k), sizeof *h->sw.fixed);
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        h->sw.fixed[i] = nm_kernel_param(k, i)->def;
    h->sw.axes = h->axes;
    h->sw.naxes = naxes;
    h->sw.ntasks = 1;
    for (size_t a = 0; a < naxes; a++) {
        nm_axis *ax = &h->axes[a];
        ax->name = (char *)names[a];
        ax->len = lens[a];
        ax->nparams = 1;
        h->params[a][0] = nm_kernel_param_index(k, names[a]);
        assert_true(h->params[a][0] >= 0);
        ax->param = h->params[a];
        h->vals[a][0] = calloc(lens[a], sizeof(nm_value));
        for (size_t i = 0; i < lens[a]; i++)
            h->vals[a][0][i] = (nm_value){.type = NM_T_INT, .v.i = (int64_t)i + 100 * !strcmp(names[a], "length")};
        ax->values = h->vals[a];
        ax->line = 3 + (int)a;
        ax->col = 3;
        h->sw.ntasks *= lens[a];
    }
    return h;
}

static void free_sweep(hand_sweep *h)
{
    for (size_t a = 0; a < h->sw.naxes; a++)
        free(h->vals[a][0]);
    free(h->sw.fixed);
    free(h);
}

static void index_and_task_round_trip(void **state)
{
    static const char *const names[] = {"n", "seed", "fail_n"};
    static const size_t lens[] = {3, 4, 5};
    hand_sweep *h = make_sweep(3, names, lens);
    assert_int_equal(h->sw.ntasks, 60);
    size_t idx[3];
    for (uint64_t t = 0; t < h->sw.ntasks; t++) {
        nm_grid_index(&h->sw, t, idx);
        assert_int_equal(nm_grid_task(&h->sw, idx), t);
    }
    /* Last axis fastest: task 7 = (0, 1, 2). */
    nm_grid_index(&h->sw, 7, idx);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    free_sweep(h);
}

static void point_takes_axis_values_and_fixed_rest(void **state)
{
    static const char *const names[] = {"n", "seed"};
    static const size_t lens[] = {3, 4};
    hand_sweep *h = make_sweep(2, names, lens);
    nm_point *p = nm_point_alloc(&h->sw);
    nm_grid_point(&h->sw, 11, p); /* (2, 3) */
    assert_int_equal(nm_get_i(p, "n"), 2);
    assert_int_equal(nm_get_i(p, "seed"), 3);
    assert_int_equal(nm_get_i(p, "length"), 4); /* default */
    assert_string_equal(nm_get_s(p, "mode"), "a");
    assert_int_equal(nm_grid_axis_of(&h->sw, nm_kernel_param_index(h->sw.kernel, "seed")), 1);
    assert_int_equal(nm_grid_axis_of(&h->sw, nm_kernel_param_index(h->sw.kernel, "x")), -1);
    nm_point_free(p);
    free_sweep(h);
}

/* Every range of a 3x4x5 grid: boxes cover it exactly, in order, and there
 * are at most 2*naxes - 1 of them. */
static void boxes_cover_every_range_in_order(void **state)
{
    static const char *const names[] = {"n", "seed", "fail_n"};
    static const size_t lens[] = {3, 4, 5};
    hand_sweep *h = make_sweep(3, names, lens);
    size_t start[6 * 3], len[6 * 3], idx[3];
    for (uint64_t first = 0; first < 60; first++)
        for (uint64_t count = 1; first + count <= 60; count++) {
            size_t nb = nm_grid_boxes(&h->sw, first, count, start, len);
            assert_true(nb >= 1 && nb <= 5);
            uint64_t next = first;
            for (size_t b = 0; b < nb; b++) {
                const size_t *s = start + 3 * b, *l = len + 3 * b;
                for (idx[0] = s[0]; idx[0] < s[0] + l[0]; idx[0]++)
                    for (idx[1] = s[1]; idx[1] < s[1] + l[1]; idx[1]++)
                        for (idx[2] = s[2]; idx[2] < s[2] + l[2]; idx[2]++)
                            assert_int_equal(nm_grid_task(&h->sw, idx), next++);
            }
            assert_int_equal(next, first + count);
        }
    free_sweep(h);
}

static void boxes_of_whole_grid_is_one_box(void **state)
{
    static const char *const names[] = {"n", "seed"};
    static const size_t lens[] = {3, 4};
    hand_sweep *h = make_sweep(2, names, lens);
    size_t start[4], len[4];
    assert_int_equal(nm_grid_boxes(&h->sw, 0, 12, start, len), 1);
    assert_int_equal(len[0], 3);
    assert_int_equal(len[1], 4);
    free_sweep(h);
}

static void no_axes_means_one_task(void **state)
{
    hand_sweep *h = make_sweep(0, NULL, NULL);
    assert_int_equal(h->sw.ntasks, 1);
    size_t s[1], l[1];
    assert_int_equal(nm_grid_boxes(&h->sw, 0, 1, s, l), 1);
    assert_int_equal(nm_grid_check_outputs(&h->sw, NULL), NM_OK);
    free_sweep(h);
}

static void output_shape_may_not_vary_on_an_axis(void **state)
{
    static const char *const names[] = {"n", "length"};
    static const size_t lens[] = {2, 3};
    hand_sweep *h = make_sweep(2, names, lens);
    nm_err err;
    assert_int_equal(nm_grid_check_outputs(&h->sw, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "hand.yaml:4:3");
    assert_contains(err.msg, "output 'trace' depends on 'length'");
    free_sweep(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(index_and_task_round_trip),
        cmocka_unit_test(point_takes_axis_values_and_fixed_rest),
        cmocka_unit_test(boxes_cover_every_range_in_order),
        cmocka_unit_test(boxes_of_whole_grid_is_one_box),
        cmocka_unit_test(no_axes_means_one_task),
        cmocka_unit_test(output_shape_may_not_vary_on_an_axis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_dendnet_task.c: the `dendnet` kernel's task through the kernel
 * library alone (no MPI, no HDF5): small runs of the three conditions, the
 * ampa rate matching, the rank's data cache (same results as without it),
 * and check()'s refusals. */
#include "testutil.h"

#include "neuromic/internal/spec.h"
#include "neuromic/internal/task.h"

enum { NOUT_MAX = 32, EPOCHS = 2 };

typedef struct {
    double scalar[NOUT_MAX];
    double curve[NOUT_MAX][EPOCHS];
    size_t nout;
} outs;

static int find(const nm_kernel *k, const char *name)
{
    for (size_t i = 0; i < k->noutputs; i++)
        if (!strcmp(k->outputs[i].name, name))
            return (int)i;
    fail_msg("no output %s", name);
    return -1;
}

/* Runs point `index` of the sweep text; shared: the rank's prepared data
 * (NULL: none). Returns the task's status. */
static int run_point(const char *text, size_t index, const void *shared, outs *o, char *error)
{
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(nm_spec_parse("d.yaml", text, strlen(text), NULL, 0, &sw, &err), NM_OK);
    const nm_kernel *k = sw->kernel;
    nm_point *p = nm_point_alloc(sw);
    nm_grid_point(sw, index, p);
    nm_task *t = nm_task_alloc(sw->base_seed, NULL);
    void *out[NOUT_MAX];
    o->nout = k->noutputs;
    for (size_t i = 0; i < k->noutputs; i++)
        out[i] = k->outputs[i].ndims ? (void *)o->curve[i] : (void *)&o->scalar[i];
    nm_result res = {.out = out, .nout = k->noutputs, .outputs = k->outputs};
    nm_task_begin(t, p, 0);
    t->shared = shared;
    int rc = k->run(p, t, &res);
    if (error)
        snprintf(error, NM_TASK_ERROR_LEN, "%s", t->error);
    nm_task_free(t);
    nm_point_free(p);
    nm_sweep_free(sw);
    return rc;
}

#define SMALL                                                                                   \
    "kernel: dendnet\nbase_seed: 3\nfixed: {epochs: 2, steps_per_epoch: 40, batch: 4, window: "  \
    "50, rf_ms: 20, first_ms: 10, sim_ms: 1000, n_train: 3, n_test: 3, calib_ms: 3000, "        \
    "n_basal: 2, n_tuft: 2, rate_e: 14, lr: 0.01}\n"

static const char conditions[] = SMALL "grid:\n  condition: [nmda, ampa, lif]\n  depth: [2]\n";

static void three_conditions_run_and_ampa_matches_the_nmda_rate(void **state)
{
    (void)state;
    nm_sweep *sw = NULL;
    nm_err err = {0};
    assert_int_equal(
        nm_spec_parse("d.yaml", conditions, strlen(conditions), NULL, 0, &sw, &err), NM_OK);
    const nm_kernel *k = sw->kernel;
    nm_sweep_free(sw);
    for (size_t i = 0; i < 3; i++) {
        outs o = {0};
        char why[NM_TASK_ERROR_LEN];
        if (run_point(conditions, i, NULL, &o, why) != 0)
            fail_msg("point %zu: %s", i, why);
        double auc = o.scalar[find(k, "auc")], scale = o.scalar[find(k, "ampa_scale")];
        double rate = o.scalar[find(k, "rate_train")];
        /* 80 small steps: the tree's spikes are already predicted above
         * chance; the lif's need more. */
        double min_auc = i < 2 ? 0.6 : 0.0;
        if (!(rate > 0.5 && auc > min_auc && auc <= 1))
            fail_msg("point %zu: rate %g Hz, auc %g", i, rate, auc);
        assert_true(o.scalar[find(k, "v_rmse")] > 0);
        assert_true(o.scalar[find(k, "v_explained")] <= 1);
        for (int e = 0; e < EPOCHS; e++)
            assert_true(o.curve[find(k, "curve_loss")][e] > 0);
        assert_int_equal((int)o.scalar[find(k, "rf")], 20);
        if (i == 0) { /* nmda */
            assert_true(scale == 1);
            assert_int_equal((int)o.scalar[find(k, "n_inputs")], 2 * 29);
        } else if (i == 1) { /* ampa: more AMPA than nmda's, rate matched from above */
            double ref = o.scalar[find(k, "rate_nmda_calib")];
            double cal = o.scalar[find(k, "rate_calib")];
            assert_true(scale > 1);
            assert_true(ref > 0.5);
            assert_true(cal >= ref && cal < ref * 1.25 + 1);
        } else { /* lif */
            assert_true(scale == -1);
            assert_int_equal((int)o.scalar[find(k, "n_inputs")], 100);
            assert_int_equal((int)o.scalar[find(k, "n_comp")], 1);
        }
    }
}

/* The rank's cache gives a later task the data an earlier one simulated:
 * the same outputs as a task that simulates them itself. */
static void cached_data_give_the_same_results(void **state)
{
    (void)state;
    static const char text[] = SMALL "grid:\n  condition: [nmda]\n  depth: [1, 2]\n";
    nm_sweep *sw = NULL;
    nm_err err = {0};
    nm_shared *sh = NULL;
    assert_int_equal(nm_spec_parse("d.yaml", text, strlen(text), NULL, 0, &sw, &err), NM_OK);
    assert_int_equal(nm_shared_prepare(sw, false, &sh, &err), NM_OK);
    assert_non_null(nm_shared_data(sh));
    outs fresh = {0}, first = {0}, again = {0};
    assert_int_equal(run_point(text, 1, NULL, &fresh, NULL), 0);
    assert_int_equal(run_point(text, 0, nm_shared_data(sh), &first, NULL), 0); /* fills */
    assert_int_equal(run_point(text, 1, nm_shared_data(sh), &again, NULL), 0); /* reuses */
    assert_memory_equal(fresh.scalar, again.scalar, fresh.nout * sizeof(double));
    assert_memory_equal(fresh.curve, again.curve, sizeof fresh.curve);
    assert_true(first.scalar[0] != again.scalar[0]); /* depth 1 and 2 do differ */
    nm_shared_free(sh);
    nm_sweep_free(sw);
}

static void check_refuses_what_cannot_run(void **state)
{
    (void)state;
    static const char *bad[][2] = {
        {"kernel: dendnet\nfixed: {depth: 5, rf_ms: 20, first_ms: 18}\n", "leaves no room"},
        {"kernel: dendnet\nfixed: {dt: 0.3}\n", "does not divide 1 ms"},
        {"kernel: dendnet\nfixed: {sim_ms: 200, window: 256}\n", "window + rf_ms - 1"},
        {"kernel: dendnet\nfixed: {n_tuft: 2, trunk_seg: 0}\n", "a tuft needs a trunk"},
        {"kernel: dendnet\nfixed: {exc_per_comp: 0, inh_per_comp: 0}\n", "no input channels"},
        {"kernel: dendnet\nfixed: {seg_min: 500, seg_max: 100}\n", "seg_min"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nm_sweep *sw = NULL;
        nm_err err = {0};
        assert_int_equal(nm_spec_parse("d.yaml", bad[i][0], strlen(bad[i][0]), NULL, 0, &sw, &err),
                         NM_ERR_INPUT);
        assert_contains(err.msg, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_conditions_run_and_ampa_matches_the_nmda_rate),
        cmocka_unit_test(cached_data_give_the_same_results),
        cmocka_unit_test(check_refuses_what_cannot_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_dendnet_task.c: the `dendnet` kernel's task through the kernel
 * library alone (no MPI, no HDF5): small runs of the three conditions, the
 * ampa rate matching, rate_target, the rank's data cache (same results as without it),
 * early stopping and the kept weights, lr_decay, and check()'s refusals. */
#include "testutil.h"

#include "neuromic/internal/registry.h"
#include "neuromic/internal/spec.h"
#include "neuromic/internal/task.h"

enum { NOUT_MAX = 32, EPOCHS_MAX = 12, EPOCHS = 2 };

typedef struct {
    double scalar[NOUT_MAX];
    double curve[NOUT_MAX][EPOCHS_MAX];
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
    if (nm_spec_parse("d.yaml", text, strlen(text), NULL, 0, &sw, &err) != NM_OK)
        fail_msg("%s", err.msg);
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

/* Tiny sizes (dt 0.25 ms, 0.4 s simulations, a 1.2 s calibration, width 4,
 * 50 Adam steps; the cache's identity with 8): under valgrind this file took
 * 36 CPU-s (load average 3), against 228 CPU-s with 1 s simulations at dt
 * 0.1 ms, a 3 s calibration, width 16 and 80 steps. The rate_target tests
 * (4 tasks of 17 calibrations each, at dt 0.5 ms) add about 15 CPU-s (47.7
 * against 33.0 at load 10). */
/* run_point that must succeed. */
static void run_ok(const char *text, size_t index, outs *o)
{
    char why[NM_TASK_ERROR_LEN];
    if (run_point(text, index, NULL, o, why) != 0)
        fail_msg("point %zu: %s", index, why);
}

#define BASE_SIM(sim)                                                                           \
    "kernel: dendnet\nbase_seed: 3\nfixed: {epochs: 2, batch: 4, window: 50, rf_ms: 20, "        \
    "first_ms: 10, sim_ms: 400, n_train: 3, n_val: 1, n_test: 2, " sim ", "                       \
    "n_basal: 2, n_tuft: 2, rate_e: 14, lr: 0.01, width: 4, "
#define BASE BASE_SIM("calib_ms: 1000, dt: 0.25")
/* rate_target's tests: each task runs 17 calibrations, so one simulation of
 * 0.4 s at dt 0.5 ms */
#define FAST_CAL BASE_SIM("calib_ms: 400, dt: 0.5") "steps_per_epoch: 4, "
#define SMALL BASE "steps_per_epoch: 25}\n"
#define TINY BASE "steps_per_epoch: 4}\n" /* for identities, not for fitting */

static const char conditions[] = SMALL "grid:\n  condition: [nmda, ampa, lif]\n  depth: [2]\n";

static void three_conditions_run_and_ampa_matches_the_nmda_rate(void **state)
{
    (void)state;
    const nm_kernel *k = nm_kernel_find("dendnet");
    for (size_t i = 0; i < 3; i++) {
        outs o = {0};
        run_ok(conditions, i, &o);
        double auc = o.scalar[find(k, "auc")], scale = o.scalar[find(k, "ampa_scale")];
        double rate = o.scalar[find(k, "rate_train")];
        /* 50 small steps: the tree's spikes are already predicted above
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
    static const char text[] = TINY "grid:\n  condition: [nmda]\n  depth: [1, 2]\n";
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

/* Early stopping on a network that overfits fast (a large learning rate,
 * one short training simulation): training stops `patience` epochs after the
 * best validation score, and the test numbers are those of the best
 * epoch's weights, restored: the final test AUC is, to the bit, the one
 * recorded after that epoch, not after the last. */
#define LIF_FAST                                                                                \
    "kernel: dendnet\nbase_seed: 7\nfixed: {condition: lif, depth: 1, width: 4, rf_ms: 10, "     \
    "steps_per_epoch: 4, batch: 2, window: 40, sim_ms: 400, n_train: 1, n_val: 1, n_test: 1, "    \
    "rate_e: 16, lr: 0.08, "
#define STOPPING LIF_FAST "epochs: 12}\n"

static void check_stopping(const nm_kernel *k, const outs *o, int patience, bool by_auc)
{
    const double *val = o->curve[find(k, by_auc ? "curve_val_auc" : "curve_val_loss")];
    const double *test = o->curve[find(k, "curve_auc")];
    int run = (int)o->scalar[find(k, "epochs_run")], kept = (int)o->scalar[find(k, "epoch_kept")];
    assert_true(run >= 1 && run <= 12 && kept >= 0 && kept < run);
    for (int e = run; e < 12; e++)
        assert_true(test[e] == -1 && val[e] == -1); /* not run */
    if (patience == 0) { /* every epoch, the last one's weights */
        assert_int_equal(run, 12);
        assert_int_equal(kept, 11);
    } else {
        int best = 0; /* the first best validation score */
        for (int e = 1; e < run; e++)
            if (by_auc ? val[e] > val[best] : val[e] < val[best])
                best = e;
        assert_int_equal(kept, best);
        assert_int_equal(run, kept + patience + 1); /* it did stop early */
        assert_true(test[run - 1] != test[kept]);   /* so keeping the last would differ */
    }
    assert_true(o->scalar[find(k, "auc")] == test[kept]);
    assert_true(o->scalar[find(k, by_auc ? "val_auc" : "val_loss")] == val[kept]);
}

static void early_stopping_keeps_the_best_validation_epoch(void **state)
{
    (void)state;
    static const char text[] = STOPPING "grid:\n  patience: [2]\n  val_metric: [auc, loss]\n";
    static const char last[] = STOPPING "grid:\n  patience: [0]\n";
    const nm_kernel *k = nm_kernel_find("dendnet");
    for (size_t i = 0; i < 2; i++) {
        outs o = {0};
        run_ok(text, i, &o);
        check_stopping(k, &o, 2, i == 0);
    }
    outs o = {0};
    run_ok(last, 0, &o);
    check_stopping(k, &o, 0, true);
}

/* lr_decay: the learning rate of epoch e is lr * lr_decay^e, so with 1e-6
 * only the first epoch moves the weights (the validation loss stays where
 * epoch 0 left it), and with 1 the later epochs do move them. */
static void lr_decay_scales_later_epochs(void **state)
{
    (void)state;
    static const char text[] = LIF_FAST "epochs: 3}\ngrid:\n  patience: [0]\n  lr_decay: [1e-6, 1]\n";
    const nm_kernel *k = nm_kernel_find("dendnet");
    double moved[2];
    for (size_t i = 0; i < 2; i++) {
        outs o = {0};
        run_ok(text, i, &o);
        const double *val = o.curve[find(k, "curve_val_loss")];
        moved[i] = 0;
        for (int e = 1; e < 3; e++)
            moved[i] = fmax(moved[i], fabs(val[e] - val[0]));
    }
    if (!(moved[0] < 1e-4 && moved[1] > 1e-2))
        fail_msg("validation loss moved %g after epoch 0 with lr_decay 1e-6, %g with 1", moved[0],
                 moved[1]);
}

/* rate_target: nmda scales g_ampa and g_nmda together, ampa scales g_ampa,
 * each to the smallest factor whose calibration rate reaches the target.
 * Tolerance: the calibration is one simulation of 0.4 s, so one spike is
 * 2.5 Hz; the rate at the factor found may overshoot by a few spikes (a
 * step of the factor can add more than one), not more. Doubling g_nmda
 * needs a smaller factor. The training sets' rates are not the target's:
 * their inputs are others, and near threshold the rate is steep in the
 * E/I balance drawn per simulation (so the test only asks that the
 * training set moves from the unscaled neuron's rate the factor's way). */
#define TARGET 12.0
static void rate_target_brings_both_conditions_to_it(void **state)
{
    (void)state;
    /* points 0, 1: nmda, ampa at 0.8 nS; 2: nmda at 1.6 nS (ampa has no NMDA) */
    static const char text[] = FAST_CAL "rate_target: 12}\n"
                                        "grid:\n  g_nmda: [0.8, 1.6]\n  condition: [nmda, ampa]\n";
    /* the same inputs (calib_ms and dt are among the parameters they depend on) */
    static const char free_run[] = FAST_CAL "rate_target: 0}\ngrid:\n  g_nmda: [0.8, 1.6]\n";
    const nm_kernel *k = nm_kernel_find("dendnet");
    const double spike = 1 / 0.4; /* Hz: one spike in the 0.4 s calibration */
    double exc[2], rate[2], unscaled[2];
    for (size_t g = 0; g < 2; g++) {
        for (size_t c = 0; c < 2 - g; c++) {
            outs o = {0};
            run_ok(text, 2 * g + c, &o);
            double ref = o.scalar[find(k, "rate_nmda_calib")];
            double cal = o.scalar[find(k, "rate_calib")];
            double es = o.scalar[find(k, "exc_scale")], as = o.scalar[find(k, "ampa_scale")];
            if (!(ref == TARGET && cal >= TARGET && cal <= TARGET + 3 * spike))
                fail_msg("g_nmda point %zu condition %zu: matched %g Hz, calibration rate %g Hz",
                         g, c, ref, cal);
            if (c == 0) { /* nmda: both conductances, ampa_scale untouched */
                assert_true(as == 1 && es > 1.0 / 16 && es < 256);
                exc[g] = es;
                rate[g] = o.scalar[find(k, "rate_train")];
            } else {
                assert_true(es == 1 && as > 1.0 / 16 && as < 256);
            }
        }
        outs o = {0};
        run_ok(free_run, g, &o);
        unscaled[g] = o.scalar[find(k, "rate_train")];
    }
    if (!(exc[1] < exc[0]))
        fail_msg("exc_scale %g at g_nmda 1.6 nS, not below %g at 0.8 nS", exc[1], exc[0]);
    /* the training sets are simulated with the factor found: the nmda
     * neuron scaled up fires more than unscaled, scaled down less */
    if (!((exc[0] - 1) * (rate[0] - unscaled[0]) > 0 && (exc[1] - 1) * (rate[1] - unscaled[1]) > 0))
        fail_msg("nmda training rates %g, %g Hz scaled by %g, %g; unscaled %g, %g Hz", rate[0],
                 rate[1], exc[0], exc[1], unscaled[0], unscaled[1]);
}

/* A target the neuron cannot reach (its refractory period allows 333 Hz)
 * fails the task with the reason. */
static void rate_target_out_of_reach_fails(void **state)
{
    (void)state;
    static const char text[] = FAST_CAL "rate_target: 900}\n";
    outs o = {0};
    char why[NM_TASK_ERROR_LEN];
    assert_int_not_equal(run_point(text, 0, NULL, &o, why), 0);
    assert_contains(why, "rate_target = 900 Hz out of reach: the nmda neuron fires at");
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
        {"kernel: dendnet\nfixed: {condition: lif, rate_target: 6}\n", "never rescaled"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nm_sweep *sw = NULL;
        nm_err err = {0};
        assert_int_equal(nm_spec_parse("d.yaml", bad[i][0], strlen(bad[i][0]), NULL, 0, &sw, &err),
                         NM_ERR_INPUT);
        assert_contains(err.msg, bad[i][1]);
    }
}

/* OpenBLAS's own (the Makefile links it): at these sizes its threads only
 * add hand-offs, which cost as much as the work under valgrind. */
void openblas_set_num_threads(int n);

int main(void)
{
    openblas_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_conditions_run_and_ampa_matches_the_nmda_rate),
        cmocka_unit_test(cached_data_give_the_same_results),
        cmocka_unit_test(early_stopping_keeps_the_best_validation_epoch),
        cmocka_unit_test(lr_decay_scales_later_epochs),
        cmocka_unit_test(rate_target_brings_both_conditions_to_it),
        cmocka_unit_test(rate_target_out_of_reach_fails),
        cmocka_unit_test(check_refuses_what_cannot_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* microcircuit.c: the `microcircuit` kernel: dendritic cortical microcircuits
 * (Sacramento et al. 2018) with the latent-equilibrium switch (Haider et al.
 * 2021), on four tasks, with the shallow and backprop references.
 *
 * One task trains one network on n_train patterns for `epochs` epochs (each
 * pattern shown for t_pattern ms, plasticity on from t_onset ms into the
 * pattern) and evaluates it at n_record evenly spaced points of training. An
 * evaluation starts from rest and shows each pattern for t_pattern ms without
 * target, plasticity or noise; the network's answer is the output potential
 * at the end of the pattern (u breve with LE). It measures the output MSE
 * against the targets and the accuracy (argmax agreement) on the test set and
 * on the first min(n_train, n_test) training patterns, and, over the whole
 * test pass, the mean squared apical potential and interneuron mismatch.
 * Quantities a model or task does not have are written as -1.
 *
 * Random streams: "weights" (task, hidden, n_hidden, w_init, seed), "teacher"
 * (task, teacher_hidden, seed), "train" and "test" data (task, the set's
 * size, teacher_hidden, seed), "order" of presentation (task, seed), and
 * "noise" (every parameter but the unkeyed eta_decay and numerics). The models
 * therefore share data and initial forward weights across learning rates,
 * models and LE. A point's streams depend on its values, base_seed and the
 * replicate index only, never on the sweep's axes; but the noise changes
 * with any parameter, even one the dynamics ignore (n_test, n_record,
 * eta_bp). Learning rates are constant, or annealed with eta_decay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"
#include "neuromic/kernel.h"

/* Short names for the contract's table macros (kernel.h). */
#define FLOAT NM_PARAM_FLOAT
#define INT(nm, d, l, h, doc_) NM_PARAM_INT(nm, d, l, h, "", doc_)

static const nm_param params[] = {
    {.name = "task", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "teacher"},
     .choices = {"self_predict", "teacher", "bars", "classify"}, .unit = "",
     .doc = "self_predict (30-H-10, no target), teacher (30-H-10 regression), bars (9-H-3), "
            "classify (IDX images)"},
    {.name = "model", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "microcircuit"},
     .choices = {"microcircuit", "shallow", "backprop"}, .unit = "",
     .doc = "the microcircuit, or an SGD reference: shallow (last layer only) or backprop"},
    {.name = "le", .type = NM_T_BOOL, .def = {.type = NM_T_BOOL, .v.b = false}, .unit = "",
     .doc = "latent equilibrium: rates and plasticity use u + tau_eff du/dt"},
    {.name = "init", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "self_predicting"},
     .choices = {"random", "self_predicting"}, .unit = "",
     .doc = "initial lateral weights: random U(-w_init,w_init) or the self-predicting state"},
    INT("hidden", 0, 0, 100000, "neurons per hidden layer; 0: task default (20, 50, 30, 500)"),
    INT("n_hidden", 1, 1, MC_MAX_LAYERS - 2, "number of hidden layers"),
    {.name = "phi", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "logistic"},
     .choices = {"softplus", "logistic", "relu"}, .unit = "",
     .doc = "transfer function r = phi(u)"},
    FLOAT("phi_gamma", 1.0, 0, 1e6, "", "phi's scale: gamma*f(beta*(u-theta))"),
    FLOAT("phi_beta", 1.0, 0, 1e6, "", "phi's slope beta"),
    FLOAT("phi_theta", 0.0, -1e6, 1e6, "", "phi's threshold theta"),
    FLOAT("g_lk", 0.1, 0, 1e3, "1/ms", "somatic leak conductance"),
    FLOAT("g_B", 1.0, 1e-9, 1e3, "1/ms", "basal dendrite to soma conductance"),
    FLOAT("g_A", 0.8, 0, 1e3, "1/ms", "apical dendrite to soma conductance"),
    FLOAT("g_D", 1.0, 1e-9, 1e3, "1/ms", "interneuron dendrite to soma conductance"),
    FLOAT("g_som", 0.8, 0, 1e3, "1/ms",
          "nudging conductance: interneurons toward the layer above, output toward the target"),
    FLOAT("g_lk_dend", 1.0, 1e-9, 1e3, "", "dendritic leak: dendritic potential = current / g_lk_dend"),
    FLOAT("i_inj", 0.0, -1e3, 1e3, "", "constant current injected into every soma"),
    FLOAT("dt", 0.1, 1e-6, 10, "ms", "Euler time step"),
    FLOAT("t_pattern", 100.0, 1e-6, 1e6, "ms", "presentation time of one pattern"),
    FLOAT("t_onset", 0.0, 0, 1e6, "ms", "plasticity starts this long after each pattern onset"),
    FLOAT("t_onset_frac", 0.0, 0, 1, "",
          "plasticity starts after this fraction of t_pattern (the later of the two onsets)"),
    FLOAT("tau_in", 3.0, 0, 1e6, "ms", "input low-pass time constant; 0: none"),
    FLOAT("tau_syn", 0.0, 0, 1e6, "ms", "dendritic synaptic current decay; 0: instantaneous"),
    FLOAT("tau_w", 30.0, 0, 1e6, "ms", "low-pass of the weight updates; 0: none"),
    FLOAT("sigma", 0.1, 0, 1e3, "1/sqrt(ms)", "somatic noise of pyramidal neurons (training only)"),
    FLOAT("eta_up", 0.0011875, -1e6, 1e6, "1/ms", "forward learning rate, hidden layers"),
    FLOAT("eta_up_out", 0.0005, -1e6, 1e6, "1/ms", "forward learning rate, output layer"),
    FLOAT("eta_IP", 0.0011875, -1e6, 1e6, "1/ms", "pyramidal -> interneuron learning rate"),
    FLOAT("eta_PI", 0.0059375, -1e6, 1e6, "1/ms", "interneuron -> pyramidal learning rate"),
    FLOAT("eta_down", 0.0, -1e6, 1e6, "1/ms", "top-down learning rate; 0: fixed (feedback alignment)"),
    FLOAT("eta_bp", 0.01, 0, 1e6, "", "SGD learning rate of the shallow and backprop references"),
    {.name = "bp_loss", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "potential"},
     .choices = {"potential", "rate"}, .unit = "",
     .doc = "what the references' SGD minimises: 0.5|y - t|^2 on output potentials, or "
            "0.5|phi(y) - phi(t)|^2 on rates (the error the microcircuit's output rule descends)"},
    FLOAT("w_init", 1.0, 0, 1e6, "", "initial weights U(-w_init, w_init)"),
    FLOAT("w_clip", 0.0, 0, 1e6, "", "clip hidden forward weights to +-w_clip; 0: no clipping"),
    FLOAT("w_clip_out", 0.0, 0, 1e6, "", "clip output forward weights to +-w_clip_out; 0: none"),
    INT("n_train", 500, 1, 1e8, "training patterns (bars: always its 9)"),
    INT("epochs", 1, 1, 1e8, "passes over the training patterns"),
    INT("n_test", 50, 1, 1e8, "test patterns (bars: its 9 again)"),
    INT("n_record", 11, 2, 100000, "evaluations over training (first before, last after)"),
    INT("teacher_hidden", 20, 1, 4096, "hidden neurons of the teacher network"),
    FLOAT("teacher_scale1", 2.0, -1e6, 1e6, "", "teacher: y = scale2 W2 phi(scale1 W1 x)"),
    FLOAT("teacher_scale2", 10.0, -1e6, 1e6, "", "teacher's output scale"),
    {.name = "teacher_phi", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "softplus"},
     .choices = {"softplus", "logistic", "relu"}, .unit = "",
     .doc = "the teacher's transfer function, independent of the student's phi"},
    FLOAT("teacher_phi_gamma", 0.1, 0, 1e6, "", "teacher phi's scale (Sacramento 2018: 0.1)"),
    FLOAT("teacher_phi_beta", 1.0, 0, 1e6, "", "teacher phi's slope"),
    FLOAT("teacher_phi_theta", 3.0, -1e6, 1e6, "", "teacher phi's threshold (Sacramento 2018: 3)"),
    FLOAT("target_lo", 0.1, -1e6, 1e6, "", "target potential of the wrong classes (bars, classify)"),
    FLOAT("target_hi", 1.0, -1e6, 1e6, "", "target potential of the right class (bars, classify)"),
    {.name = "dataset", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "fashion-mnist"},
     .choices = {"fashion-mnist", "mnist"}, .unit = "",
     .doc = "classify: IDX files in $NEUROMIC_IDX_DIR or /usr/share/datasets/<dataset>"},
    /* Added after version 2: unkeyed, so that the noise stream (keyed on every
     * parameter) and with it every earlier result stay as they were. */
    NM_PARAM_FLOAT_UNKEYED("eta_decay", 0.0, 0, 1e300, "patterns",
          "learning-rate annealing: after n training patterns every learning rate (the "
          "microcircuit's eta_* and the references' eta_bp) is multiplied by "
          "1/(1 + n/eta_decay); 0: constant rates"),
    /* Added in version 3, unkeyed for the same reason: numerics v2 reproduces
     * every version 2 result bit for bit. */
    {.name = "numerics", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "v3"},
     .choices = {"v3", "v2"}, .unit = "", .unkeyed = true,
     .doc = "v3: the kernel's own exp, four at a time, and the engine's ziggurat for the "
            "noise (the same bits on every machine); v2: libm's exp and GSL's Gaussian, "
            "the arithmetic of kernel version 2, whose results it reproduces bit for bit"},
};

static size_t record_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i(p, "n_record");
}

/* record x hidden layer: always the most hidden layers there can be, so that
 * n_hidden may be a grid axis; the layers a network does not have hold -1. */
#define MC_MAX_HIDDEN (MC_MAX_LAYERS - 2)
static size_t layer_extent(const nm_point *p, int d)
{
    return d == 0 ? (size_t)nm_get_i(p, "n_record") : MC_MAX_HIDDEN;
}

#define LAYER_CURVE(nm, doc_)                                                                \
    {.name = nm, .type = NM_O_F64, .ndims = 2, .dims = {"record", "hidden_layer"},           \
     .extent = layer_extent, .unit = "degrees", .doc = doc_}
#define CURVE(nm, doc_) NM_OUTPUT_ARRAY(nm, NM_O_F64, "record", record_extent, "", doc_)
#define SCALAR(nm, doc_) NM_OUTPUT_SCALAR(nm, NM_O_F64, "", doc_)

enum { O_PATTERN, O_TEST_MSE, O_TEST_ACC, O_TRAIN_MSE, O_TRAIN_ACC, O_APICAL, O_INTER, O_ANGLE,
       O_F_TEST_MSE, O_F_TEST_ACC, O_F_TRAIN_MSE, O_F_TRAIN_ACC, O_F_APICAL, O_F_INTER,
       O_ANG_IP, O_ANG_PI, O_ANG_DOWN, O_TEST_RMSE, O_F_TEST_RMSE, O_N };

static const nm_output outputs[] = {
    {.name = "pattern", .type = NM_O_I64, .ndims = 1, .dims = {"record"}, .extent = record_extent,
     .unit = "", .doc = "training patterns presented before each evaluation"},
    CURVE("test_mse", "test MSE of the output potentials (-1: no target)"),
    CURVE("test_acc", "test accuracy, argmax agreement with the target (-1: no target)"),
    CURVE("train_mse", "MSE on the first min(n_train, n_test) training patterns"),
    CURVE("train_acc", "accuracy on the first min(n_train, n_test) training patterns"),
    CURVE("apical_error", "mean squared apical potential over the test pass (-1: baseline)"),
    CURVE("interneuron_error", "mean squared u_I - u_(k+1) over the test pass (-1: baseline)"),
    CURVE("angle", "angle between top-down weights and W_out^T in degrees (-1: none)"),
    SCALAR("final_test_mse", "test_mse after training"),
    SCALAR("final_test_acc", "test_acc after training"),
    SCALAR("final_train_mse", "train_mse after training"),
    SCALAR("final_train_acc", "train_acc after training"),
    SCALAR("final_apical_error", "apical_error after training"),
    SCALAR("final_interneuron_error", "interneuron_error after training"),
    LAYER_CURVE("angle_ip_up", "angle(W_IP(k), W_up(k+1)) per hidden layer k (-1: baseline, or no layer k)"),
    LAYER_CURVE("angle_pi_down", "angle(W_PI(k), -W_down(k)) per hidden layer k (-1: baseline)"),
    LAYER_CURVE("angle_down_up", "angle(W_down(k), W_up(k+1)^T) per hidden layer k (-1: baseline)"),
    CURVE("test_rate_mse", "test MSE of the output rates, phi(answer) against phi(target) "
                           "(-1: no target)"),
    SCALAR("final_test_rate_mse", "test_rate_mse after training"),
};

/* ---- what a run needs ---- */

typedef struct {
    mc_task_kind task;
    size_t n[MC_MAX_LAYERS];
    int L;
    bool baseline, shallow, rate_loss;
    mc_config c;
    double w_init, eta_bp, t_pattern, t_onset;
    double eta_decay;          /* patterns; 0: constant learning rates */
    size_t n_train, epochs, n_test, n_record, n_steps;
    mc_data *train, *test;
    size_t *order;             /* presentation order, n_train */
} mc_run;

static mc_task_kind task_kind(const char *s)
{
    if (!strcmp(s, "self_predict"))
        return MC_TASK_SELF_PREDICT;
    if (!strcmp(s, "bars"))
        return MC_TASK_BARS;
    if (!strcmp(s, "classify"))
        return MC_TASK_CLASSIFY;
    return MC_TASK_TEACHER;
}

/* The transfer function named by parameter `name` and its name_gamma,
 * name_beta, name_theta ("phi": the student's, "teacher_phi": the teacher's). */
mc_phi mc_phi_from(const nm_point *p, const char *name)
{
    char key[64];
    const char *s = nm_get_s(p, name);
    mc_phi f = {.kind = !strcmp(s, "softplus") ? MC_PHI_SOFTPLUS
                        : !strcmp(s, "relu")   ? MC_PHI_RELU
                                               : MC_PHI_LOGISTIC};
    snprintf(key, sizeof key, "%s_gamma", name);
    f.gamma = nm_get_f(p, key);
    snprintf(key, sizeof key, "%s_beta", name);
    f.beta = nm_get_f(p, key);
    snprintf(key, sizeof key, "%s_theta", name);
    f.theta = nm_get_f(p, key);
    return f;
}

/* Whether the point computes with numerics v3 (else version 2's). */
static bool numerics_v3(const nm_point *p)
{
    return !strcmp(nm_get_s(p, "numerics"), "v3");
}

/* mc_phi_from with the exp of the point's numerics. */
static mc_phi phi_of(const nm_point *p, const char *name)
{
    mc_phi f = mc_phi_from(p, name);
    f.own_exp = numerics_v3(p);
    return f;
}

static mc_config config_from(const nm_point *p)
{
    mc_config c = {
        .phi = phi_of(p, "phi"),
        .g_lk = nm_get_f(p, "g_lk"), .g_B = nm_get_f(p, "g_B"), .g_A = nm_get_f(p, "g_A"),
        .g_D = nm_get_f(p, "g_D"), .g_som = nm_get_f(p, "g_som"),
        .g_lk_dend = nm_get_f(p, "g_lk_dend"), .i_inj = nm_get_f(p, "i_inj"),
        .dt = nm_get_f(p, "dt"), .tau_in = nm_get_f(p, "tau_in"),
        .tau_syn = nm_get_f(p, "tau_syn"), .tau_w = nm_get_f(p, "tau_w"),
        .sigma = nm_get_f(p, "sigma"),
        .eta_up = nm_get_f(p, "eta_up"), .eta_up_out = nm_get_f(p, "eta_up_out"),
        .eta_IP = nm_get_f(p, "eta_IP"), .eta_PI = nm_get_f(p, "eta_PI"),
        .eta_down = nm_get_f(p, "eta_down"),
        .w_clip = nm_get_f(p, "w_clip"), .w_clip_out = nm_get_f(p, "w_clip_out"),
        .le = nm_get_b(p, "le"),
        .numerics_v3 = numerics_v3(p),
    };
    return c;
}

/* Layer sizes: task's input and output, hidden width from the parameter or
 * the task's default. */
static void sizes_from(const nm_point *p, mc_run *r)
{
    static const size_t in[] = {30, 30, 9, 784}, out[] = {10, 10, 3, 10},
                        hid[] = {20, 50, 30, 500};
    size_t h = (size_t)nm_get_i(p, "hidden");
    if (h == 0)
        h = hid[r->task];
    r->L = (int)nm_get_i(p, "n_hidden") + 1;
    r->n[0] = in[r->task];
    for (int k = 1; k < r->L; k++)
        r->n[k] = h;
    r->n[r->L] = out[r->task];
}

static double cost(const nm_point *p)
{
    mc_run r = {.task = task_kind(nm_get_s(p, "task"))};
    sizes_from(p, &r);
    double w = 0;
    for (int k = 1; k <= r.L; k++)
        w += (double)(r.n[k] * r.n[k - 1]);
    double ntr = r.task == MC_TASK_BARS ? 9 : (double)nm_get_i(p, "n_train");
    double nte = r.task == MC_TASK_BARS ? 9 : (double)nm_get_i(p, "n_test");
    double pats = ntr * (double)nm_get_i(p, "epochs") +
                  (double)nm_get_i(p, "n_record") * (nte + fmin(ntr, nte));
    if (strcmp(nm_get_s(p, "model"), "microcircuit") != 0)
        return pats * w * 1e-9 + 1e-6;
    double steps = ceil(nm_get_f(p, "t_pattern") / nm_get_f(p, "dt"));
    return pats * steps * w * 5e-9 + 1e-6;
}

/* ---- data ---- */

/* The IDX files of one data set, read once per rank by prepare() and shared
 * by every task of that rank (read-only). */
enum { F_TRAIN_IM, F_TRAIN_LB, F_TEST_IM, F_TEST_LB, NFILES };
static const char *const idx_stems[NFILES] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

typedef struct {
    const char *dataset;  /* the choice string (lives as long as the kernel) */
    size_t max_train, max_test; /* most items any task of the sweep uses */
    char path[NFILES][1024];
    mc_idx *idx[NFILES];
} mc_dataset;

typedef struct {
    mc_dataset set[NM_MAX_CHOICES];
    size_t n;
} mc_shared;

/* Where the files of a data set are: $NEUROMIC_IDX_DIR, or Debian's
 * /usr/share/datasets/<dataset>; the uncompressed file when both exist.
 * The paths read go into the result file (data_files). */
void mc_idx_path(const char *dataset, const char *stem, char *buf, size_t len)
{
    const char *dir = getenv("NEUROMIC_IDX_DIR");
    char def[256];
    if (!dir || !*dir) {
        snprintf(def, sizeof def, "/usr/share/datasets/%s", dataset);
        dir = def;
    }
    snprintf(buf, len, "%s/%s", dir, stem);
    FILE *f = fopen(buf, "rb");
    if (f) {
        fclose(f);
        return;
    }
    snprintf(buf, len, "%s/%s.gz", dir, stem);
}

static void mc_release(void *data)
{
    mc_shared *sh = data;
    for (size_t i = 0; i < sh->n; i++)
        for (int f = 0; f < NFILES; f++)
            mc_idx_free(sh->set[i].idx[f]);
    free(sh);
}

/* Reads, once per rank, the data sets that the sweep's classify points use,
 * as many items as the largest n_train / n_test asks for. */
static int mc_prepare(nm_shared *nsh)
{
    mc_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return nm_shared_fail(nsh, "out of memory");
    nm_shared_set(nsh, sh);
    const nm_point *p;
    while (nm_shared_next(nsh, &p)) {
        if (task_kind(nm_get_s(p, "task")) != MC_TASK_CLASSIFY)
            continue;
        const char *name = nm_get_s(p, "dataset");
        size_t i = 0;
        while (i < sh->n && strcmp(sh->set[i].dataset, name) != 0)
            i++;
        if (i == sh->n)
            sh->set[sh->n++].dataset = name;
        mc_dataset *d = &sh->set[i];
        size_t ntr = (size_t)nm_get_i(p, "n_train"), nte = (size_t)nm_get_i(p, "n_test");
        d->max_train = ntr > d->max_train ? ntr : d->max_train;
        d->max_test = nte > d->max_test ? nte : d->max_test;
    }
    for (size_t i = 0; i < sh->n; i++) {
        mc_dataset *d = &sh->set[i];
        for (int f = 0; f < NFILES; f++) {
            char why[1400];
            mc_idx_path(d->dataset, idx_stems[f], d->path[f], sizeof d->path[f]);
            size_t max = f < F_TEST_IM ? d->max_train : d->max_test;
            if (!(d->idx[f] = mc_idx_read(d->path[f], max, why, sizeof why)))
                return nm_shared_fail(nsh, "%s (data set '%s'; NEUROMIC_IDX_DIR selects another "
                                           "directory)", why, d->dataset);
            if (nm_shared_file(nsh, d->path[f]) != 0)
                return 1;
        }
    }
    return 0;
}

static int load_classify(const nm_point *p, nm_task *t, mc_run *r)
{
    const mc_shared *sh = nm_task_shared(t);
    const char *name = nm_get_s(p, "dataset");
    const mc_dataset *d = NULL;
    for (size_t i = 0; sh && i < sh->n && !d; i++)
        if (!strcmp(sh->set[i].dataset, name))
            d = &sh->set[i];
    if (!d)
        return nm_task_fail(t, "microcircuit: data set '%s' was not prepared on this rank", name);
    char why[1400];
    double lo = nm_get_f(p, "target_lo"), hi = nm_get_f(p, "target_hi");
    r->train = mc_data_idx(d->idx[F_TRAIN_IM], d->idx[F_TRAIN_LB], d->path[F_TRAIN_IM],
                           d->path[F_TRAIN_LB], r->n_train, lo, hi, why, sizeof why);
    if (!r->train)
        return nm_task_fail(t, "microcircuit: %s", why);
    r->test = mc_data_idx(d->idx[F_TEST_IM], d->idx[F_TEST_LB], d->path[F_TEST_IM],
                          d->path[F_TEST_LB], r->n_test, lo, hi, why, sizeof why);
    if (!r->test)
        return nm_task_fail(t, "microcircuit: %s", why);
    if (r->train->nx != r->n[0] || r->test->nx != r->n[0])
        return nm_task_fail(t, "microcircuit: %s: images of %zu pixels, expected %zu",
                            d->path[F_TEST_IM], r->test->nx, r->n[0]);
    /* Fewer images in the files than asked for: train on what there is. */
    r->n_train = r->train->count, r->n_test = r->test->count;
    return 0;
}

static int load_random(const nm_point *p, nm_task *t, mc_run *r)
{
    static const char *const tdeps[] = {"task", "teacher_hidden", "seed", NULL};
    /* The teacher's scales and phi shape the targets but not the draws. */
    static const char *const trdeps[] = {"task", "n_train", "teacher_hidden", "seed", NULL};
    static const char *const tedeps[] = {"task", "n_test", "teacher_hidden", "seed", NULL};
    bool teach = r->task == MC_TASK_TEACHER;
    size_t ny = teach ? r->n[r->L] : 0;
    double lo = teach ? -1.0 : 0.0;
    gsl_rng *tr = nm_task_rng(t, "teacher", tdeps);
    gsl_rng *rtrain = nm_task_rng(t, "train", trdeps);
    gsl_rng *rtest = nm_task_rng(t, "test", tedeps);
    r->train = mc_data_alloc(r->n_train, r->n[0], ny);
    r->test = mc_data_alloc(r->n_test, r->n[0], ny);
    if (!tr || !rtrain || !rtest || !r->train || !r->test)
        return nm_task_fail(t, "microcircuit: out of memory");
    mc_teacher *teacher = NULL;
    if (teach) {
        teacher = mc_teacher_alloc(r->n[0], (size_t)nm_get_i(p, "teacher_hidden"), ny, tr);
        if (!teacher)
            return nm_task_fail(t, "microcircuit: out of memory");
        teacher->scale1 = nm_get_f(p, "teacher_scale1");
        teacher->scale2 = nm_get_f(p, "teacher_scale2");
    }
    /* The teacher's own transfer function: a study of the student's phi
     * must not change the task. */
    mc_phi phi = phi_of(p, "teacher_phi");
    mc_data_fill_random(r->train, rtrain, lo, 1.0, teacher, &phi);
    mc_data_fill_random(r->test, rtest, lo, 1.0, teacher, &phi);
    mc_teacher_free(teacher);
    return 0;
}

static int load_data(const nm_point *p, nm_task *t, mc_run *r)
{
    if (r->task == MC_TASK_CLASSIFY)
        return load_classify(p, t, r);
    if (r->task == MC_TASK_BARS) {
        r->train = mc_data_bars(nm_get_f(p, "target_lo"), nm_get_f(p, "target_hi"));
        r->test = mc_data_bars(nm_get_f(p, "target_lo"), nm_get_f(p, "target_hi"));
        r->n_train = r->n_test = 9;
        if (!r->train || !r->test)
            return nm_task_fail(t, "microcircuit: out of memory");
        return 0;
    }
    return load_random(p, t, r);
}

/* ---- evaluation ---- */

typedef struct {
    double mse, rmse, acc, apical, inter;
} mc_eval;

static size_t argmax(const double *v, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

/* Adds pattern p's squared errors (potentials, and rates phi of both) and
 * hit to *e given the network answer y. */
static void score(const mc_data *d, size_t p, const double *y, const mc_phi *phi, mc_eval *e)
{
    const double *tg = d->y + p * d->ny;
    for (size_t i = 0; i < d->ny; i++) {
        double dr = mc_phi_eval(phi, y[i]) - mc_phi_eval(phi, tg[i]);
        e->mse += (y[i] - tg[i]) * (y[i] - tg[i]) / (double)d->ny;
        e->rmse += dr * dr / (double)d->ny;
    }
    e->acc += argmax(y, d->ny) == argmax(tg, d->ny) ? 1.0 : 0.0;
}

static void finish(const mc_data *d, size_t count, mc_eval *e)
{
    if (d->ny == 0) {
        e->mse = e->rmse = e->acc = -1;
        return;
    }
    e->mse /= (double)count;
    e->rmse /= (double)count;
    e->acc /= (double)count;
}

static mc_eval eval_net(mc_run *r, mc_net *net, const mc_data *d, size_t count)
{
    mc_eval e = {0};
    double steps = 0;
    mc_net_reset_state(net);
    net->nudge = false;
    const mc_layer *out = &net->layer[net->L];
    for (size_t p = 0; p < count; p++) {
        for (size_t s = 0; s < r->n_steps; s++) {
            mc_net_step(net, d->x + p * d->nx, false, NULL);
            e.apical += mc_net_apical_sq(net);
            e.inter += mc_net_interneuron_sq(net);
            steps++;
        }
        if (d->ny)
            score(d, p, out->ub->data, &net->c.phi, &e);
    }
    finish(d, count, &e);
    e.apical /= steps, e.inter /= steps;
    if (r->L < 2)
        e.apical = e.inter = -1;
    mc_net_reset_state(net);
    return e;
}

static mc_eval eval_mlp(mc_mlp *m, const mc_data *d, size_t count)
{
    mc_eval e = {0};
    for (size_t p = 0; p < count; p++) {
        mc_mlp_forward(m, d->x + p * d->nx);
        if (d->ny)
            score(d, p, m->r[m->L]->data, &m->phi, &e);
    }
    finish(d, count, &e);
    e.apical = e.inter = -1;
    return e;
}

/* ---- training ---- */

static void shuffle(size_t *v, size_t n, gsl_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(rng, (unsigned long)i);
        size_t tmp = v[i - 1];
        v[i - 1] = v[j], v[j] = tmp;
    }
}

/* The three alignment angles of every hidden layer at record point j; -1
 * without a network (baselines). */
static void record_angles(nm_result *res, size_t j, const mc_net *net, int n_hidden)
{
    for (int k = 1; k <= MC_MAX_HIDDEN; k++) {
        size_t at = j * MC_MAX_HIDDEN + (size_t)(k - 1);
        double *o[] = {res->out[O_ANG_IP], res->out[O_ANG_PI], res->out[O_ANG_DOWN]};
        if (!net || k > n_hidden) {
            o[0][at] = o[1][at] = o[2][at] = -1;
            continue;
        }
        const mc_layer *l = &net->layer[k];
        o[0][at] = mc_matrix_angle(l->W_IP, net->layer[k + 1].W_up, 1.0, false);
        o[1][at] = mc_matrix_angle(l->W_PI, l->W_down, -1.0, false);
        o[2][at] = mc_matrix_angle(l->W_down, net->layer[k + 1].W_up, 1.0, true);
    }
}

static void record(nm_result *res, size_t j, int64_t pattern, mc_eval te, mc_eval tr, double angle)
{
    ((int64_t *)res->out[O_PATTERN])[j] = pattern;
    double *o[O_N];
    for (int k = 1; k < O_N; k++)
        o[k] = res->out[k];
    o[O_TEST_MSE][j] = te.mse, o[O_TEST_ACC][j] = te.acc;
    o[O_TRAIN_MSE][j] = tr.mse, o[O_TRAIN_ACC][j] = tr.acc;
    o[O_APICAL][j] = te.apical, o[O_INTER][j] = te.inter, o[O_ANGLE][j] = angle;
    o[O_TEST_RMSE][j] = te.rmse, o[O_F_TEST_RMSE][0] = te.rmse;
    o[O_F_TEST_MSE][0] = te.mse, o[O_F_TEST_ACC][0] = te.acc;
    o[O_F_TRAIN_MSE][0] = tr.mse, o[O_F_TRAIN_ACC][0] = tr.acc;
    o[O_F_APICAL][0] = te.apical, o[O_F_INTER][0] = te.inter;
}

/* Shows pattern x (target y or NULL) for t_pattern ms. */
static void present(mc_run *r, mc_net *net, const double *x, const double *y, gsl_rng *noise)
{
    net->nudge = y != NULL;
    if (y)
        memcpy(net->target->data, y, r->n[r->L] * sizeof *y);
    bool learns = net->c.eta_up != 0 || net->c.eta_up_out != 0 || net->c.eta_IP != 0 ||
                  net->c.eta_PI != 0 || net->c.eta_down != 0;
    net->t = 0;
    for (size_t s = 0; s < r->n_steps; s++)
        mc_net_step(net, x, learns && net->t >= r->t_onset - 1e-12, noise);
}

double mc_eta_factor(double seen, double decay)
{
    return decay > 0 ? 1.0 / (1.0 + seen / decay) : 1.0;
}

/* The network's learning rates after `seen` training patterns: the
 * configured ones times mc_eta_factor. Left alone without a schedule, so
 * that constant rates are exactly the configured values. */
static void anneal(const mc_run *r, mc_net *net, size_t seen)
{
    if (r->eta_decay <= 0)
        return;
    double f = mc_eta_factor((double)seen, r->eta_decay);
    net->c.eta_up = f * r->c.eta_up, net->c.eta_up_out = f * r->c.eta_up_out;
    net->c.eta_IP = f * r->c.eta_IP, net->c.eta_PI = f * r->c.eta_PI;
    net->c.eta_down = f * r->c.eta_down;
}

/* The j-th record point: after this many training patterns. */
static size_t record_at(const mc_run *r, size_t j)
{
    size_t total = r->n_train * r->epochs;
    return (size_t)((double)total * (double)j / (double)(r->n_record - 1) + 0.5);
}

static int train_net(mc_run *r, nm_task *t, nm_result *res, gsl_rng *wrng, gsl_rng *orng,
                     const char *init)
{
    mc_net *net = mc_net_alloc(&r->c, r->n, r->L);
    gsl_rng *noise = nm_task_rng(t, "noise", NULL);
    if (!net || !noise) {
        mc_net_free(net);
        return nm_task_fail(t, "microcircuit: out of memory");
    }
    mc_net_init_random(net, wrng, r->w_init);
    if (!strcmp(init, "self_predicting"))
        mc_net_self_predicting(net);
    size_t ntr_eval = r->n_train < r->n_test ? r->n_train : r->n_test;
    size_t seen = 0, total = r->n_train * r->epochs;
    for (size_t j = 0; j < r->n_record; j++) {
        for (size_t until = record_at(r, j); seen < until; seen++) {
            if (nm_task_expired(t)) {
                mc_net_free(net);
                return nm_task_fail(t, "stopped at pattern %zu of %zu", seen, total);
            }
            if (seen % r->n_train == 0)
                shuffle(r->order, r->n_train, orng);
            size_t p = r->order[seen % r->n_train];
            const mc_data *d = r->train;
            anneal(r, net, seen);
            present(r, net, d->x + p * d->nx, d->ny ? d->y + p * d->ny : NULL, noise);
        }
        mc_net_reset_state(net);
        mc_eval te = eval_net(r, net, r->test, r->n_test);
        mc_eval tr = eval_net(r, net, r->train, ntr_eval);
        record(res, j, (int64_t)seen, te, tr, mc_net_feedback_angle(net));
        record_angles(res, j, net, r->L - 1);
    }
    mc_net_free(net);
    return 0;
}

static int train_mlp(mc_run *r, nm_task *t, nm_result *res, gsl_rng *wrng, gsl_rng *orng,
                     const mc_phi *phi)
{
    const mc_config *c = &r->c;
    mc_mlp *m = mc_mlp_alloc(r->n, r->L, c->g_B / (c->g_lk + c->g_B + c->g_A),
                             c->g_B / (c->g_lk + c->g_B), phi);
    if (!m)
        return nm_task_fail(t, "microcircuit: out of memory");
    m->rate_loss = r->rate_loss;
    for (int k = 1; k <= r->L; k++) /* the same draws as mc_net_init_random's W_up */
        for (size_t i = 0; i < r->n[k] * r->n[k - 1]; i++)
            m->W[k]->data[i] = r->w_init * (2.0 * gsl_rng_uniform(wrng) - 1.0);
    size_t ntr_eval = r->n_train < r->n_test ? r->n_train : r->n_test;
    size_t seen = 0, total = r->n_train * r->epochs;
    for (size_t j = 0; j < r->n_record; j++) {
        for (size_t until = record_at(r, j); seen < until; seen++) {
            if (seen % 256 == 0 && nm_task_expired(t)) {
                mc_mlp_free(m);
                return nm_task_fail(t, "stopped at pattern %zu of %zu", seen, total);
            }
            if (seen % r->n_train == 0)
                shuffle(r->order, r->n_train, orng);
            size_t p = r->order[seen % r->n_train];
            mc_mlp_forward(m, r->train->x + p * r->train->nx);
            double eta = r->eta_bp * mc_eta_factor((double)seen, r->eta_decay);
            if (r->train->ny)
                mc_mlp_sgd(m, r->train->y + p * r->train->ny, eta, r->shallow);
        }
        mc_eval te = eval_mlp(m, r->test, r->n_test);
        mc_eval tr = eval_mlp(m, r->train, ntr_eval);
        record(res, j, (int64_t)seen, te, tr, -1.0);
        record_angles(res, j, NULL, r->L - 1);
    }
    mc_mlp_free(m);
    return 0;
}

static int run(const nm_point *p, nm_task *t, nm_result *res)
{
    static const char *const wdeps[] = {"task", "hidden", "n_hidden", "w_init", "seed", NULL};
    static const char *const odeps[] = {"task", "seed", NULL};
    const char *model = nm_get_s(p, "model");
    mc_run r = {
        .task = task_kind(nm_get_s(p, "task")),
        .baseline = strcmp(model, "microcircuit") != 0,
        .shallow = !strcmp(model, "shallow"),
        .rate_loss = !strcmp(nm_get_s(p, "bp_loss"), "rate"),
        .c = config_from(p),
        .w_init = nm_get_f(p, "w_init"), .eta_bp = nm_get_f(p, "eta_bp"),
        .eta_decay = nm_get_f(p, "eta_decay"),
        .t_pattern = nm_get_f(p, "t_pattern"),
        .t_onset = fmax(nm_get_f(p, "t_onset"), nm_get_f(p, "t_onset_frac") * nm_get_f(p, "t_pattern")),
        .n_train = (size_t)nm_get_i(p, "n_train"), .epochs = (size_t)nm_get_i(p, "epochs"),
        .n_test = (size_t)nm_get_i(p, "n_test"), .n_record = (size_t)nm_get_i(p, "n_record"),
    };
    sizes_from(p, &r);
    r.n_steps = (size_t)(r.t_pattern / r.c.dt + 0.5);
    if (r.n_steps == 0)
        return nm_task_fail(t, "microcircuit: t_pattern %g ms is shorter than dt %g ms",
                            r.t_pattern, r.c.dt);
    int rc = load_data(p, t, &r);
    gsl_rng *wrng = nm_task_rng(t, "weights", wdeps);
    gsl_rng *orng = nm_task_rng(t, "order", odeps);
    if (rc == 0) {
        r.order = malloc(r.n_train * sizeof *r.order);
        if (!r.order || !wrng || !orng)
            rc = nm_task_fail(t, "microcircuit: out of memory");
    }
    if (rc == 0) {
        for (size_t i = 0; i < r.n_train; i++)
            r.order[i] = i;
        mc_phi phi = phi_of(p, "phi");
        rc = r.baseline ? train_mlp(&r, t, res, wrng, orng, &phi)
                        : train_net(&r, t, res, wrng, orng, nm_get_s(p, "init"));
    }
    free(r.order);
    mc_data_free(r.train);
    mc_data_free(r.test);
    return rc;
}

const nm_kernel nm_kernel_microcircuit = {
    .name = "microcircuit",
    /* 2: LE nudges interneurons and reads the filters prospectively; i_inj in
     * the dendritic predictions; W_down's rule divides by g_lk_dend; the
     * teacher has its own transfer function (teacher_phi).
     * 3: numerics v3 (parameter `numerics`; v2 keeps version 2's results). */
    .version = "3",
    .doc = "dendritic cortical microcircuits (Sacramento 2018) with latent equilibrium "
           "(Haider 2021); shallow and backprop references",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .cost = cost,
    .run = run,
    .prepare = mc_prepare,
    .release = mc_release,
};

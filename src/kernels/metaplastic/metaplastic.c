/* metaplastic.c: the `metaplastic` kernel, meta-learning a plasticity rule
 * for networks trained with random feedback (N. Shervani-Tabar and R.
 * Rosenbaum, "Meta-learning biologically plausible plasticity rules with
 * random feedback pathways", Nat. Commun. 14, 1805, 2023; seed 003).
 *
 * One task is one meta-training run. Each of `episodes` episodes draws
 * `ways` classes of the meta-training classes and `shots` + `queries` images
 * of each, draws the network's W and B afresh (Xavier uniform), shows the
 * ways x shots training images one at a time (shuffled), each followed by
 * the plastic update dW = sum_k theta_k F_k (mp.h lists the pool), and then
 * measures the cross-entropy of the ways x queries query images: the
 * meta-loss. Its exact gradient with respect to theta (forward mode,
 * mp_model.c) plus l1 * sign(theta), averaged over `meta_batch` consecutive
 * episodes, makes one step of Adam on theta (and, with learned feedback,
 * on the feedback rule's phi, which has no L1). After the last
 * episode the rule is frozen and `test_episodes` episodes of the held-out
 * classes measure its query accuracy (meta-test).
 *
 * Classes: the data set's last `test_classes` classes are the meta-test
 * classes, the others the meta-training classes (Fashion-MNIST with the
 * default 5: T-shirt, trouser, pullover, dress, coat for training; sandal,
 * shirt, sneaker, bag, ankle boot for testing). Images come from the data
 * set's training file only (at most max_images of them), scaled to [0, 1],
 * optionally 2x2-averaged (downsample: 28x28 -> 14x14).
 *
 * Random streams, each keyed on the parameters listed, so that every rule,
 * feedback and rate sees the same episodes and the same initial weights
 * (common random numbers):
 *   metaplastic-episodes, metaplastic-test-episodes
 *       dataset downsample ways shots queries test_classes max_images seed
 *   metaplastic-init, metaplastic-test-init
 *       n_in h1 h2 h3 h4 n_out seed   (W then B, layer by layer) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "neuromic/kernel.h"

#include "../microcircuit/mc.h" /* the IDX reader */
#include "mp.h"

enum { P_DATASET, P_DOWNSAMPLE, P_N_IN, P_H1, P_H2, P_H3, P_H4, P_N_OUT, P_FEEDBACK, P_POOL,
       P_BETA, P_WAYS, P_SHOTS, P_QUERIES, P_EPISODES, P_TEST_EPISODES, P_TEST_CLASSES,
       P_THETA0, P_META_LR, P_META_BATCH, P_L1, P_MAX_IMAGES, P_SYNAPSE, P_CHEMICALS, P_TAU_MIN, P_TAU_MAX,
       NPARAMS };

#define HID(nm, dv, dc) NM_PARAM_INT(nm, dv, 0, 100000, "", dc)

static const nm_param params[NPARAMS] = {
    [P_DATASET] = NM_PARAM_CHOICE("dataset", "fashion-mnist",
                                  "IDX data set: /usr/share/datasets/<dataset>/ or "
                                  "$NEUROMIC_IDX_DIR, files train-{images-idx3,labels-idx1}-ubyte"
                                  "[.gz] (emnist-balanced: with the prefix emnist-balanced-)",
                                  "fashion-mnist", "mnist", "emnist-balanced"),
    [P_DOWNSAMPLE] = NM_PARAM_BOOL("downsample", false, "average 2x2 pixel blocks (28x28 -> 14x14)"),
    [P_N_IN] = NM_PARAM_INT("n_in", 784, 1, 1e6, "", "input units: must equal the image's pixels"),
    [P_H1] = HID("h1", 170, "units of hidden layer 1 (at least 1)"),
    [P_H2] = HID("h2", 130, "units of hidden layer 2 (0: none, nor any after it)"),
    [P_H3] = HID("h3", 100, "units of hidden layer 3 (0: none, nor any after it)"),
    [P_H4] = HID("h4", 70, "units of hidden layer 4 (0: none)"),
    [P_N_OUT] = NM_PARAM_INT("n_out", 5, 2, 1e5, "", "output units C: must equal ways"),
    [P_FEEDBACK] = NM_PARAM_CHOICE("feedback", "fa",
                                   "teaching signals through fixed random B (fa), through W "
                                   "itself (bp), or through random B that is plastic under a "
                                   "meta-learned rule phi . (G0, G1, G2) starting at 0 (learned; "
                                   "mp.h; plain synapses only)",
                                   "fa", "bp", "learned"),
    [P_POOL] = NM_PARAM_CHOICE("pool", "F0-F5",
                               "terms of the plastic update (mp.h): F0 only, F0..F2, or F0..F5",
                               "F0", "F0-F2", "F0-F5"),
    [P_BETA] = NM_PARAM_FLOAT("beta", 10, 1e-3, 1e3, "", "softplus sharpness of the hidden units"),
    [P_WAYS] = NM_PARAM_INT("ways", 5, 2, 1000, "", "classes per episode (M)"),
    [P_SHOTS] = NM_PARAM_INT("shots", 50, 1, 100000, "", "training images per class (K)"),
    [P_QUERIES] = NM_PARAM_INT("queries", 10, 1, 100000, "", "query images per class (Q)"),
    [P_EPISODES] = NM_PARAM_INT("episodes", 600, 1, 1e7, "", "meta-training episodes"),
    [P_TEST_EPISODES] = NM_PARAM_INT("test_episodes", 20, 1, 1e6, "",
                                     "meta-test episodes (held-out classes, rule frozen)"),
    [P_TEST_CLASSES] = NM_PARAM_INT("test_classes", 5, 1, 1000, "",
                                    "the data set's last classes held out for meta-testing "
                                    "(at least ways)"),
    [P_THETA0] = NM_PARAM_FLOAT("theta0", 1e-3, -10, 10, "",
                                "initial coefficient of F0 (the others start at 0; chemical: "
                                "P_00 = chemicals x theta0)"),
    [P_META_LR] = NM_PARAM_FLOAT("meta_lr", 1e-4, 0, 10, "",
                                 "Adam's step on theta (0: the rule stays as it starts; the "
                                 "paper's 1e-3 collapses most seeds at the reduced size, "
                                 "docs/reproductions/metaplastic.md)"),
    [P_META_BATCH] = NM_PARAM_INT("meta_batch", 1, 1, 10000, "",
                                  "episodes whose mean meta-gradient makes one Adam step"),
    [P_L1] = NM_PARAM_FLOAT("l1", 0, 0, 1e3, "", "weight of |theta|_1 in the meta-loss"),
    [P_MAX_IMAGES] = NM_PARAM_INT("max_images", 60000, 1, 1e8, "",
                                  "images read from the training file (its first ones)"),
    [P_SYNAPSE] = NM_PARAM_CHOICE("synapse", "plain",
                                  "plain: dW = theta . F; chemical: C chemicals per synapse, "
                                  "h' = y h + z tanh(K h + P F + b), w = v . h (mp.h)",
                                  "plain", "chemical"),
    [P_CHEMICALS] = NM_PARAM_INT("chemicals", 3, 1, MP_MAXCHEM, "", "chemical: C per synapse"),
    [P_TAU_MIN] = NM_PARAM_FLOAT("tau_min", 1, 1, 1e6, "updates", "chemical: shortest timescale"),
    [P_TAU_MAX] = NM_PARAM_FLOAT("tau_max", 50, 1, 1e6, "updates",
                                 "chemical: longest timescale (at least tau_min)"),
};

static int hidden_layers(const nm_point *p)
{
    int h = 0;
    while (h < 4 && nm_get_i_at(p, P_H1 + h) > 0)
        h++;
    return h;
}

static size_t episode_extent(const nm_point *p, int d)
{
    return d == 0 ? (size_t)nm_get_i_at(p, P_EPISODES) : MP_NTERMS;
}
static size_t episode_hidden_extent(const nm_point *p, int d)
{
    return d == 0 ? (size_t)nm_get_i_at(p, P_EPISODES) : (size_t)hidden_layers(p);
}
static size_t term_extent(const nm_point *p, int d)
{
    (void)p, (void)d;
    return MP_NTERMS;
}
static size_t episode_fb_extent(const nm_point *p, int d)
{
    return d == 0 ? (size_t)nm_get_i_at(p, P_EPISODES) : MP_NFB;
}
static size_t fb_extent(const nm_point *p, int d)
{
    (void)p, (void)d;
    return MP_NFB;
}
static size_t test_extent(const nm_point *p, int d)
{
    return (size_t)nm_get_i_at(p, P_TEST_EPISODES);
}
static size_t hidden_extent(const nm_point *p, int d)
{
    return (size_t)hidden_layers(p);
}
static mp_config config_of(const nm_point *p, bool tangents);
/* The chemical parameters with P as C x 6 (all terms), whatever `synapse`
 * and `pool` are, so that both can be grid axes (what is not used is 0). */
static mp_config rcn_layout(const nm_point *p)
{
    mp_config c = config_of(p, false);
    c.chemical = true, c.R = MP_NTERMS;
    return c;
}
static size_t rcn_extent(const nm_point *p, int d)
{
    mp_config c = rcn_layout(p);
    return (size_t)mp_nparams(&c);
}

enum { O_META_LOSS, O_QUERY_ACC, O_THETA, O_GRAD, O_ANGLE, O_THETA_FINAL, O_TEST_ACC, O_TEST_LOSS,
       O_TEST_ACC_MEAN, O_TEST_ANGLE, O_RCN_FINAL, O_FB_THETA, O_FB_THETA_FINAL, NOUTPUTS };

static const nm_output outputs[NOUTPUTS] = {
    [O_META_LOSS] = NM_OUTPUT_ARRAY("meta_loss", NM_O_F64, "episode", episode_extent, "",
                                    "query cross-entropy of each meta-training episode (without "
                                    "the L1 term), before its theta update"),
    [O_QUERY_ACC] = NM_OUTPUT_ARRAY("query_acc", NM_O_F64, "episode", episode_extent, "",
                                    "query accuracy of each meta-training episode"),
    [O_THETA] = {.name = "theta", .type = NM_O_F64, .ndims = 2, .dims = {"episode", "term"},
                 .extent = episode_extent, .unit = "",
                 .doc = "the rule's coefficients F0..F5 used in each episode (0 outside the pool; "
                        "chemical: the plain rule its parameters amount to to first order)"},
    [O_GRAD] = {.name = "meta_grad", .type = NM_O_F64, .ndims = 2, .dims = {"episode", "term"},
                .extent = episode_extent, .unit = "",
                .doc = "d meta_loss / d theta of each episode, without the L1 term (0 outside "
                       "the pool, when meta_lr = 0, and for chemical synapses)"},
    [O_ANGLE] = {.name = "angle", .type = NM_O_F64, .ndims = 2, .dims = {"episode", "hidden"},
                 .extent = episode_hidden_extent, .unit = "deg",
                 .doc = "mean over an episode's updates of the angle between hidden layer l's "
                        "teaching signal and backprop's (0 for bp)"},
    [O_THETA_FINAL] = NM_OUTPUT_ARRAY("theta_final", NM_O_F64, "term", term_extent, "",
                                      "the rule after meta-training (meta-test uses it)"),
    [O_TEST_ACC] = NM_OUTPUT_ARRAY("test_acc", NM_O_F64, "test_episode", test_extent, "",
                                   "query accuracy of each meta-test episode"),
    [O_TEST_LOSS] = NM_OUTPUT_ARRAY("test_loss", NM_O_F64, "test_episode", test_extent, "",
                                    "query cross-entropy of each meta-test episode"),
    [O_TEST_ACC_MEAN] = NM_OUTPUT_SCALAR("test_acc_mean", NM_O_F64, "",
                                         "mean meta-test query accuracy"),
    [O_TEST_ANGLE] = NM_OUTPUT_ARRAY("test_angle", NM_O_F64, "hidden", hidden_extent, "deg",
                                     "mean over the meta-test episodes of angle"),
    [O_RCN_FINAL] = NM_OUTPUT_ARRAY("rcn_final", NM_O_F64, "rcn_param", rcn_extent, "",
                                    "chemical: P (C x 6: F0..F5, 0 outside the pool), K (C x C), "
                                    "v, b per layer after meta-training (plain: 0)"),
    [O_FB_THETA] = {.name = "fb_theta", .type = NM_O_F64, .ndims = 2,
                    .dims = {"episode", "fb_term"}, .extent = episode_fb_extent, .unit = "",
                    .doc = "learned feedback: the feedback rule's coefficients G0..G2 used in "
                           "each episode (0 for fa and bp)"},
    [O_FB_THETA_FINAL] = NM_OUTPUT_ARRAY("fb_theta_final", NM_O_F64, "fb_term", fb_extent, "",
                                         "learned feedback: the feedback rule after "
                                         "meta-training (0 for fa and bp)"),
};

static int pool_size(const char *pool)
{
    return !strcmp(pool, "F0") ? 1 : !strcmp(pool, "F0-F2") ? 3 : MP_NTERMS;
}

/* The network and rule of a point; tangents only when theta is learned. */
static mp_config config_of(const nm_point *p, bool tangents)
{
    const char *fb = nm_get_s_at(p, P_FEEDBACK);
    mp_config c = {.L = hidden_layers(p) + 1,
                   .feedback = !strcmp(fb, "bp")        ? MP_BP
                               : !strcmp(fb, "learned") ? MP_LEARNED
                                                        : MP_FA,
                   .beta = nm_get_f_at(p, P_BETA),
                   .R = pool_size(nm_get_s_at(p, P_POOL)),
                   .tangents = tangents,
                   .angles = true,
                   .chemical = !strcmp(nm_get_s_at(p, P_SYNAPSE), "chemical"),
                   .nchem = (int)nm_get_i_at(p, P_CHEMICALS),
                   .tau_min = nm_get_f_at(p, P_TAU_MIN),
                   .tau_max = nm_get_f_at(p, P_TAU_MAX)};
    c.n[0] = (size_t)nm_get_i_at(p, P_N_IN);
    for (int l = 1; l < c.L; l++)
        c.n[l] = (size_t)nm_get_i_at(p, P_H1 + l - 1);
    c.n[c.L] = (size_t)nm_get_i_at(p, P_N_OUT);
    for (int k = 0; k < c.R; k++)
        c.term[k] = k;
    return c;
}

static double mp_cost(const nm_point *p)
{
    double meta = nm_get_f_at(p, P_META_LR) > 0;
    mp_config c = config_of(p, meta);
    double per = (double)nm_get_i_at(p, P_WAYS) *
                 (double)(nm_get_i_at(p, P_SHOTS) + nm_get_i_at(p, P_QUERIES));
    return per * ((double)nm_get_i_at(p, P_EPISODES) * mp_flops_update(&c, meta) +
                  (double)nm_get_i_at(p, P_TEST_EPISODES) * mp_flops_update(&c, false)) *
           1e-9;
}

static bool mp_check(const nm_point *p, char *why, size_t len)
{
    int h = hidden_layers(p);
    int64_t ways = nm_get_i_at(p, P_WAYS);
    for (int j = h + 1; j < 4; j++)
        if (nm_get_i_at(p, P_H1 + j) > 0) {
            snprintf(why, len, "h%d = 0 ends the hidden layers, but h%d = %lld is not 0", h + 1,
                     j + 1, (long long)nm_get_i_at(p, P_H1 + j));
            return false;
        }
    if (h == 0)
        snprintf(why, len, "h1 must be at least 1 (one hidden layer)");
    else if (nm_get_i_at(p, P_N_OUT) != ways)
        snprintf(why, len, "n_out = %lld does not match ways = %lld, the classes of an episode",
                 (long long)nm_get_i_at(p, P_N_OUT), (long long)ways);
    else if (nm_get_f_at(p, P_TAU_MAX) < nm_get_f_at(p, P_TAU_MIN))
        snprintf(why, len, "tau_max = %g is less than tau_min = %g", nm_get_f_at(p, P_TAU_MAX),
                 nm_get_f_at(p, P_TAU_MIN));
    else if (!strcmp(nm_get_s_at(p, P_FEEDBACK), "learned") &&
             !strcmp(nm_get_s_at(p, P_SYNAPSE), "chemical"))
        snprintf(why, len, "feedback = learned is not built for synapse = chemical");
    else if (nm_get_i_at(p, P_TEST_CLASSES) < ways)
        snprintf(why, len, "test_classes = %lld is fewer than ways = %lld",
                 (long long)nm_get_i_at(p, P_TEST_CLASSES), (long long)ways);
    else
        return true;
    return false;
}

/* ---- data ---- */

typedef struct {
    const char *dataset;
    size_t max_items;
    char path[2][1024]; /* images, labels */
    mc_idx *idx[2];
    int nclass;
    size_t *count, *start, *index; /* per class: images, offset into index */
} mp_dataset;

typedef struct {
    mp_dataset set[NM_MAX_CHOICES];
    size_t n;
} mp_shared;

static void mp_release(void *data)
{
    mp_shared *sh = data;
    for (size_t i = 0; i < sh->n; i++) {
        mp_dataset *d = &sh->set[i];
        mc_idx_free(d->idx[0]), mc_idx_free(d->idx[1]);
        free(d->count), free(d->start), free(d->index);
    }
    free(sh);
}

/* $NEUROMIC_IDX_DIR or /usr/share/datasets/<dataset>; the plain file when
 * it exists, else the .gz. */
static void data_path(const char *dataset, const char *stem, char *buf, size_t len)
{
    const char *dir = getenv("NEUROMIC_IDX_DIR");
    char def[256];
    if (!dir || !*dir) {
        snprintf(def, sizeof def, "/usr/share/datasets/%s", dataset);
        dir = def;
    }
    const char *prefix = strcmp(dataset, "emnist-balanced") ? "" : "emnist-balanced-";
    snprintf(buf, len, "%s/%s%s", dir, prefix, stem);
    FILE *f = fopen(buf, "rb");
    if (f) {
        fclose(f);
        return;
    }
    snprintf(buf, len, "%s/%s%s.gz", dir, prefix, stem);
}

static int load_dataset(nm_shared *nsh, mp_dataset *d)
{
    static const char *const stems[2] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"};
    for (int f = 0; f < 2; f++) {
        char why[1400];
        data_path(d->dataset, stems[f], d->path[f], sizeof d->path[f]);
        if (!(d->idx[f] = mc_idx_read(d->path[f], d->max_items, why, sizeof why)))
            return nm_shared_fail(nsh, "%s (data set '%s'; NEUROMIC_IDX_DIR selects another "
                                       "directory)", why, d->dataset);
        if (nm_shared_file(nsh, d->path[f]) != 0)
            return 1;
    }
    const mc_idx *im = d->idx[0], *lb = d->idx[1];
    if (im->ndims != 3 || lb->ndims != 1 || im->count != lb->count)
        return nm_shared_fail(nsh, "%s / %s: expected images (3 dimensions) and as many labels "
                                   "(1 dimension)", d->path[0], d->path[1]);
    for (size_t j = 0; j < lb->count; j++)
        d->nclass = lb->data[j] + 1 > d->nclass ? lb->data[j] + 1 : d->nclass;
    d->count = calloc((size_t)d->nclass, sizeof *d->count);
    d->start = calloc((size_t)d->nclass + 1, sizeof *d->start);
    d->index = malloc(lb->count * sizeof *d->index);
    if (!d->count || !d->start || !d->index)
        return nm_shared_fail(nsh, "%s: out of memory", d->path[1]);
    for (size_t j = 0; j < lb->count; j++)
        d->count[lb->data[j]]++;
    for (int c = 0; c < d->nclass; c++)
        d->start[c + 1] = d->start[c] + d->count[c];
    size_t *fill = calloc((size_t)d->nclass, sizeof *fill);
    if (!fill)
        return nm_shared_fail(nsh, "%s: out of memory", d->path[1]);
    for (size_t j = 0; j < lb->count; j++) {
        int c = lb->data[j];
        d->index[d->start[c] + fill[c]++] = j;
    }
    free(fill);
    return 0;
}

static size_t pixels(const mp_dataset *d, bool down)
{
    size_t r = d->idx[0]->dims[1], c = d->idx[0]->dims[2];
    return down ? (r / 2) * (c / 2) : r * c;
}

/* What a point asks of its data set's files. */
typedef struct {
    size_t set;
    int64_t down; /* int64_t: no padding, so that memcmp compares needs */
    int64_t n_in, ways, test_classes, need; /* need: shots + queries */
} mp_need;

/* Checks one point's needs against the files; the message names the
 * parameter and the file. */
static int check_data(nm_shared *nsh, const mp_dataset *d, const mp_need *q)
{
    size_t npix = pixels(d, q->down);
    if ((size_t)q->n_in != npix)
        return nm_shared_fail(nsh, "n_in = %lld does not match the images of %s: %u x %u%s = %zu "
                                   "pixels",
                              (long long)q->n_in, d->path[0], d->idx[0]->dims[1],
                              d->idx[0]->dims[2], q->down ? ", downsampled 2x2" : "", npix);
    if (q->test_classes >= d->nclass || d->nclass - q->test_classes < q->ways)
        return nm_shared_fail(nsh, "test_classes = %lld of the %d classes in %s leaves fewer "
                                   "than ways = %lld for meta-training",
                              (long long)q->test_classes, d->nclass, d->path[1],
                              (long long)q->ways);
    for (int c = 0; c < d->nclass; c++)
        if (d->count[c] < (size_t)q->need)
            return nm_shared_fail(nsh, "shots + queries = %lld exceeds the %zu images of class "
                                       "%d in %s (its first max_images = %zu items)",
                                  (long long)q->need, d->count[c], c, d->path[1], d->max_items);
    return 0;
}

/* Reads, once per rank, the data sets the sweep's points use (as many items
 * as the largest max_images asks for) and checks every point against them,
 * so that a mismatch stops the run before any task. The points are walked
 * once: their distinct needs are kept and checked after the reading. */
static int mp_prepare(nm_shared *nsh)
{
    mp_shared *sh = calloc(1, sizeof *sh);
    if (!sh)
        return nm_shared_fail(nsh, "out of memory");
    nm_shared_set(nsh, sh);
    mp_need *need = NULL;
    size_t nneed = 0, cap = 0;
    const nm_point *p;
    while (nm_shared_next(nsh, &p)) {
        const char *name = nm_get_s_at(p, P_DATASET);
        size_t i = 0;
        while (i < sh->n && strcmp(sh->set[i].dataset, name) != 0)
            i++;
        if (i == sh->n)
            sh->set[sh->n++].dataset = name;
        size_t mx = (size_t)nm_get_i_at(p, P_MAX_IMAGES);
        sh->set[i].max_items = mx > sh->set[i].max_items ? mx : sh->set[i].max_items;
        mp_need q = {.set = i, .down = nm_get_b_at(p, P_DOWNSAMPLE), .n_in = nm_get_i_at(p, P_N_IN),
                     .ways = nm_get_i_at(p, P_WAYS), .test_classes = nm_get_i_at(p, P_TEST_CLASSES),
                     .need = nm_get_i_at(p, P_SHOTS) + nm_get_i_at(p, P_QUERIES)};
        size_t j = 0;
        while (j < nneed && memcmp(&need[j], &q, sizeof q) != 0)
            j++;
        if (j < nneed)
            continue;
        if (nneed == cap) {
            mp_need *n2 = realloc(need, (cap = cap ? 2 * cap : 16) * sizeof *need);
            if (!n2) {
                free(need);
                return nm_shared_fail(nsh, "out of memory");
            }
            need = n2;
        }
        need[nneed++] = q;
    }
    int rc = 0;
    for (size_t i = 0; i < sh->n && !rc; i++)
        rc = load_dataset(nsh, &sh->set[i]);
    for (size_t j = 0; j < nneed && !rc; j++)
        rc = check_data(nsh, &sh->set[need[j].set], &need[j]);
    free(need);
    return rc;
}

/* ---- episodes ---- */

typedef struct {
    size_t ntr, nq, nx;
    double *xtr, *xq;
    int *ytr, *yq;
    size_t *pick, *order; /* scratch */
} mp_batch;

static void batch_free(mp_batch *b)
{
    free(b->xtr), free(b->xq), free(b->ytr), free(b->yq), free(b->pick), free(b->order);
}

static int batch_alloc(mp_batch *b, size_t ways, size_t shots, size_t queries, size_t nx,
                       size_t maxclass)
{
    *b = (mp_batch){.ntr = ways * shots, .nq = ways * queries, .nx = nx};
    b->xtr = malloc(b->ntr * nx * sizeof *b->xtr);
    b->xq = malloc(b->nq * nx * sizeof *b->xq);
    b->ytr = malloc(b->ntr * sizeof *b->ytr);
    b->yq = malloc(b->nq * sizeof *b->yq);
    b->pick = malloc((shots + queries > ways ? shots + queries : ways) * sizeof *b->pick);
    b->order = malloc((b->ntr > maxclass ? b->ntr : maxclass) * sizeof *b->order);
    return b->xtr && b->xq && b->ytr && b->yq && b->pick && b->order ? 0 : -1;
}

/* Image j of the data set as nx values in [0, 1]. */
static void image(const mp_dataset *d, size_t j, bool down, double *x)
{
    size_t R = d->idx[0]->dims[1], C = d->idx[0]->dims[2];
    const uint8_t *px = d->idx[0]->data + j * R * C;
    if (!down) {
        for (size_t i = 0; i < R * C; i++)
            x[i] = px[i] / 255.0;
        return;
    }
    for (size_t r = 0; r < R / 2; r++)
        for (size_t c = 0; c < C / 2; c++) {
            const uint8_t *q = px + 2 * r * C + 2 * c;
            x[r * (C / 2) + c] = (q[0] + q[1] + q[C] + q[C + 1]) / (4 * 255.0);
        }
}

/* One episode from classes first..first+nclass-1: ways of them, labels
 * 0..ways-1 in random order, shots + queries images of each; the training
 * images shuffled. */
static void draw_episode(const mp_dataset *d, int first, int nclass, size_t ways, size_t shots,
                         size_t queries, bool down, gsl_rng *r, mp_batch *b)
{
    size_t cls[1000], all[1000];
    for (int c = 0; c < nclass; c++)
        all[c] = (size_t)(first + c);
    gsl_ran_choose(r, cls, ways, all, (size_t)nclass, sizeof *cls);
    gsl_ran_shuffle(r, cls, ways, sizeof *cls);
    for (size_t i = 0; i < b->ntr; i++)
        b->order[i] = i;
    gsl_ran_shuffle(r, b->order, b->ntr, sizeof *b->order);
    for (size_t k = 0; k < ways; k++) {
        size_t c = cls[k];
        gsl_ran_choose(r, b->pick, shots + queries, d->index + d->start[c], d->count[c],
                       sizeof *b->pick);
        gsl_ran_shuffle(r, b->pick, shots + queries, sizeof *b->pick);
        for (size_t j = 0; j < shots; j++) {
            size_t at = b->order[k * shots + j];
            image(d, b->pick[j], down, b->xtr + at * b->nx);
            b->ytr[at] = (int)k;
        }
        for (size_t j = 0; j < queries; j++) {
            image(d, b->pick[shots + j], down, b->xq + (k * queries + j) * b->nx);
            b->yq[k * queries + j] = (int)k;
        }
    }
}

/* ---- the run ---- */

typedef struct {
    double m[MP_MAXPARAM], v[MP_MAXPARAM];
    long t;
} mp_adam;

static void adam_step(mp_adam *a, double *theta, const double *grad, int R, double lr)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    a->t++;
    for (int k = 0; k < R; k++) {
        a->m[k] = b1 * a->m[k] + (1 - b1) * grad[k];
        a->v[k] = b2 * a->v[k] + (1 - b2) * grad[k] * grad[k];
        double mh = a->m[k] / (1 - pow(b1, (double)a->t)), vh = a->v[k] / (1 - pow(b2, (double)a->t));
        theta[k] -= lr * mh / (sqrt(vh) + eps);
    }
}

/* The rule's coefficient per term: theta itself, or (chemical) the plain
 * rule it amounts to to first order. */
static void effective(const mp_config *c, const double *theta, double *eff)
{
    if (c->chemical)
        mp_chem_effective(c, theta, eff);
    else
        memcpy(eff, theta, (size_t)c->R * sizeof *eff);
}

static const char *const ep_deps[] = {"dataset", "downsample", "ways", "shots", "queries",
                                      "test_classes", "max_images", "seed", NULL};
static const char *const init_deps[] = {"n_in", "h1", "h2", "h3", "h4", "n_out", "seed", NULL};

static const mp_dataset *find_dataset(const nm_point *p, nm_task *t)
{
    const mp_shared *sh = nm_task_shared(t);
    for (size_t i = 0; sh && i < sh->n; i++)
        if (!strcmp(sh->set[i].dataset, nm_get_s_at(p, P_DATASET)))
            return &sh->set[i];
    return NULL;
}

static int mp_run(const nm_point *p, nm_task *t, nm_result *res)
{
    char why[NM_ERR_MSG];
    if (!mp_check(p, why, sizeof why))
        return nm_task_fail(t, "metaplastic: %s", why);
    const mp_dataset *d = find_dataset(p, t);
    if (!d)
        return nm_task_fail(t, "metaplastic: data set '%s' was not prepared on this rank",
                            nm_get_s_at(p, P_DATASET));
    size_t ways = (size_t)nm_get_i_at(p, P_WAYS), shots = (size_t)nm_get_i_at(p, P_SHOTS);
    size_t queries = (size_t)nm_get_i_at(p, P_QUERIES);
    size_t neps = (size_t)nm_get_i_at(p, P_EPISODES), ntest = (size_t)nm_get_i_at(p, P_TEST_EPISODES);
    int tc = (int)nm_get_i_at(p, P_TEST_CLASSES), ntrain_cls = d->nclass - tc;
    bool down = nm_get_b_at(p, P_DOWNSAMPLE);
    double lr = nm_get_f_at(p, P_META_LR), l1 = nm_get_f_at(p, P_L1);
    mp_config c = config_of(p, lr > 0), ct = config_of(p, false);
    int H = c.L - 1, R = c.R, M = mp_nparams(&c);
    size_t maxclass = 0;
    for (int k = 0; k < d->nclass; k++)
        maxclass = d->count[k] > maxclass ? d->count[k] : maxclass;

    double *meta_loss = nm_out_f64(res, O_META_LOSS, "meta_loss");
    double *qacc = nm_out_f64(res, O_QUERY_ACC, "query_acc");
    double *theta_ep = nm_out_f64(res, O_THETA, "theta");
    double *grad = nm_out_f64(res, O_GRAD, "meta_grad");
    double *angle = nm_out_f64(res, O_ANGLE, "angle");
    double *rcn = nm_out_f64(res, O_RCN_FINAL, "rcn_final");
    double *theta_fin = nm_out_f64(res, O_THETA_FINAL, "theta_final");
    double *test_acc = nm_out_f64(res, O_TEST_ACC, "test_acc");
    double *test_loss = nm_out_f64(res, O_TEST_LOSS, "test_loss");
    double *test_mean = nm_out_f64(res, O_TEST_ACC_MEAN, "test_acc_mean");
    double *test_angle = nm_out_f64(res, O_TEST_ANGLE, "test_angle");
    double *fb_ep = nm_out_f64(res, O_FB_THETA, "fb_theta");
    double *fb_fin = nm_out_f64(res, O_FB_THETA_FINAL, "fb_theta_final");
    gsl_rng *rep = nm_task_rng(t, "metaplastic-episodes", ep_deps);
    gsl_rng *rinit = nm_task_rng(t, "metaplastic-init", init_deps);
    gsl_rng *rtep = nm_task_rng(t, "metaplastic-test-episodes", ep_deps);
    gsl_rng *rtinit = nm_task_rng(t, "metaplastic-test-init", init_deps);
    if (!meta_loss || !qacc || !theta_ep || !grad || !angle || !rcn || !theta_fin || !test_acc || !test_loss ||
        !test_mean || !test_angle || !fb_ep || !fb_fin || !rep || !rinit || !rtep || !rtinit)
        return nm_task_fail(t, "metaplastic: no output or stream");

    mp_batch b;
    mp_net *net = mp_net_alloc(&c);
    if (batch_alloc(&b, ways, shots, queries, c.n[0], maxclass) != 0 || !net) {
        batch_free(&b);
        mp_net_free(net);
        return nm_task_fail(t, "metaplastic: out of memory");
    }
    double theta[MP_MAXPARAM] = {nm_get_f_at(p, P_THETA0)}, eff[MP_NTERMS];
    if (c.chemical)
        mp_chem_start(&c, nm_get_f_at(p, P_THETA0), theta);
    mp_adam adam = {0};
    size_t mb = (size_t)nm_get_i_at(p, P_META_BATCH);
    double gsum[MP_MAXPARAM] = {0};
    int rc = 0;
    for (size_t ep = 0; ep < neps && !rc; ep++) {
        if (nm_task_expired(t)) {
            rc = nm_task_fail(t, "metaplastic: stopped at episode %zu of %zu", ep, neps);
            break;
        }
        draw_episode(d, 0, ntrain_cls, ways, shots, queries, down, rep, &b);
        mp_net_init(net, rinit, theta);
        mp_result r;
        mp_episode(net, theta, b.xtr, b.ytr, b.ntr, b.xq, b.yq, b.nq, &r);
        meta_loss[ep] = r.loss, qacc[ep] = r.acc;
        effective(&c, theta, eff);
        for (int k = 0; k < MP_NTERMS; k++) {
            theta_ep[ep * MP_NTERMS + k] = k < R ? eff[k] : 0.0;
            grad[ep * MP_NTERMS + k] = k < R && lr > 0 && !c.chemical ? r.grad[k] : 0.0;
        }
        for (int h = 0; h < H; h++)
            angle[ep * (size_t)H + h] = r.angle[h + 1];
        for (int j = 0; j < MP_NFB; j++)
            fb_ep[ep * MP_NFB + j] = c.feedback == MP_LEARNED ? theta[R + j] : 0.0;
        if (!isfinite(r.loss)) {
            rc = nm_task_fail(t, "metaplastic: meta-loss not finite in episode %zu (the rule "
                                 "diverged; a smaller theta0 or meta_lr)", ep);
            break;
        }
        bool finite = true;
        for (int k = 0; k < M && lr > 0; k++)
            finite &= isfinite(r.grad[k]);
        if (!finite) {
            rc = nm_task_fail(t, "metaplastic: meta-gradient not finite in episode %zu (the rule "
                                 "diverged; a smaller theta0 or meta_lr)", ep);
            break;
        }
        for (int k = 0; k < M && lr > 0; k++)
            gsum[k] += r.grad[k] / (double)mb;
        if (lr > 0 && (ep + 1) % mb == 0) {
            /* L1 on the terms' coefficients: theta (plain) or P (chemical, first) */
            for (int k = 0; k < (c.chemical ? c.nchem * R : R); k++)
                gsum[k] += l1 * (theta[k] > 0 ? 1 : theta[k] < 0 ? -1 : 0);
            adam_step(&adam, theta, gsum, M, lr);
            memset(gsum, 0, sizeof gsum);
        }
    }
    mp_net_free(net);
    net = rc ? NULL : mp_net_alloc(&ct);
    if (!rc && !net)
        rc = nm_task_fail(t, "metaplastic: out of memory");
    effective(&c, theta, eff);
    for (int k = 0; k < MP_NTERMS; k++)
        theta_fin[k] = k < R ? eff[k] : 0.0;
    for (int j = 0; j < MP_NFB; j++)
        fb_fin[j] = c.feedback == MP_LEARNED ? theta[R + j] : 0.0;
    mp_config cl = rcn_layout(p);
    memset(rcn, 0, (size_t)mp_nparams(&cl) * sizeof *rcn);
    for (int k = 0; c.chemical && k < M; k++) /* P's rows widen from R to 6 terms */
        rcn[k < c.nchem * R ? k / R * MP_NTERMS + k % R : k + c.nchem * (MP_NTERMS - R)] =
            theta[k];
    double sum = 0, asum[MP_MAXL] = {0};
    for (size_t ep = 0; ep < ntest && !rc; ep++) {
        draw_episode(d, ntrain_cls, tc, ways, shots, queries, down, rtep, &b);
        mp_net_init(net, rtinit, theta);
        mp_result r;
        mp_episode(net, theta, b.xtr, b.ytr, b.ntr, b.xq, b.yq, b.nq, &r);
        if (!isfinite(r.loss)) {
            rc = nm_task_fail(t, "metaplastic: meta-test episode %zu: the query loss is not "
                                 "finite (the learned rule diverges on the held-out classes)", ep);
            break;
        }
        test_acc[ep] = r.acc, test_loss[ep] = r.loss;
        sum += r.acc;
        for (int h = 0; h < H; h++)
            asum[h] += r.angle[h + 1];
    }
    *test_mean = sum / (double)ntest;
    for (int h = 0; h < H; h++)
        test_angle[h] = asum[h] / (double)ntest;
    mp_net_free(net);
    batch_free(&b);
    return rc;
}

const nm_kernel nm_kernel_metaplastic = {
    .name = "metaplastic",
    .version = "2",
    .doc = "meta-learned plasticity rules with random feedback (Shervani-Tabar & Rosenbaum "
           "2023): few-shot episodes, forward-mode meta-gradients, Adam on theta",
    .params = params,
    .nparams = NPARAMS,
    .outputs = outputs,
    .noutputs = NOUTPUTS,
    .cost = mp_cost,
    .check = mp_check,
    .run = mp_run,
    .prepare = mp_prepare,
    .release = mp_release,
};

/* nk.c: the `nk` kernel, neurons as autoencoders on NK regression.
 *
 * Reproduces the experiments of L. Bull, "Toward Neuromic Computing: Neurons
 * as Autoencoders" (2024): an MLP (N inputs, H hidden, 1 output, logistic
 * nodes with biases, weights U[-1,1]) learns the fitness of an NK landscape
 * by a random hill-climber. A cycle picks the hidden or the output layer
 * (1/2 each), one weight in it uniformly, adds U[-R,R), and keeps the change
 * if the objective went down (exact ties: kept with probability 1/2).
 *   model mlp   every move is judged by the task MSE on the training set
 *   model nmlp  each hidden neuron j has N decoder weights d_ij; a hidden move
 *               changes one of neuron j's encoder or decoder weights and is
 *               judged by j's reconstruction MSE, mean over examples and
 *               inputs of (act(d_ij h_j) - x_i)^2
 *   model hmlp  one decoder layer of N nodes reads all hidden neurons; a hidden
 *               move changes an encoder or decoder weight and is judged by the
 *               whole reconstruction MSE
 * Output moves are always judged by the task MSE.
 *
 * Choices the paper leaves open, as parameters: decoder biases (default none)
 * and decoder activation (default the logistic sigmoid, as "all nodes" use it,
 * although it cannot reach the -1 inputs; tanh can), and the precision of the
 * decoder outputs (default single, see nk.h; double gives kernel version 2's
 * results bit for bit). The figures report the
 * network the climber holds after the last cycle: it is the best one found
 * by its own criteria. Hidden moves are drawn uniformly over all hidden-layer
 * weights, decoders included; nmlp and hmlp (without biases) then have the
 * same number of weights, H(2N+1) + H + 1.
 *
 * Random streams (nm_task_rng), each keyed on the parameters listed:
 *   nk-landscape  N K links seed   links, then tables
 *   nk-train      N K links seed   training genomes
 *   nk-test       N K links seed   test genomes
 *   nk-weights    N H seed         encoder then output weights (shared by models)
 *   nk-decoder    N H seed         decoder weights, then decoder biases
 *   nk-search     model N K links H R decoder_bias decoder_act seed
 *                                  the climber's choices; not keyed on cycles,
 *                                  eval, decoder_precision or set sizes, so a
 *                                  shorter run is a prefix of a longer one, both
 *                                  eval modes agree, and both precisions start
 *                                  from the same streams. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "neuromic/kernel.h"

#include "nk.h"

static const nm_param params[] = {
    NM_PARAM_CHOICE("model", "nmlp",
                    "mlp: plain; nmlp: an autoencoder per hidden neuron; hmlp: one decoder layer",
                    "mlp", "nmlp", "hmlp"),
    NM_PARAM_INT("N", 20, 1, 10000, "", "genome length = network inputs"),
    NM_PARAM_INT("K", 0, 0, 24, "",
                 "other genes each gene's fitness depends on (K < N; N*2^(K+1) <= 2^27)"),
    NM_PARAM_CHOICE("links", "random",
                    "random: K distinct other genes; adjacent: genes i+1 .. i+K mod N", "random",
                    "adjacent"),
    NM_PARAM_INT("H", 10, 1, 10000, "", "hidden neurons"),
    NM_PARAM_FLOAT("R", 1.0, 0, 1e6, "", "a move adds U[-R,R) to one weight"),
    NM_PARAM_INT("cycles", 10000, 0, 1e9, "", "learning cycles (one move each)"),
    NM_PARAM_INT("train_size", 1000, 1, 1e7, "", "training examples"),
    NM_PARAM_INT("test_size", 1000, 1, 1e7, "", "test examples"),
    NM_PARAM_INT("record_every", 100, 1, 1e9, "", "cycles between points of the learning curves"),
    NM_PARAM_BOOL("decoder_bias", false, "decoder nodes have a bias (nmlp, hmlp)"),
    NM_PARAM_CHOICE("decoder_act", "sigmoid", "activation of the decoder nodes", "sigmoid",
                    "tanh"),
    NM_PARAM_CHOICE("decoder_precision", "single",
                    "decoder outputs (nmlp, hmlp) in float (errors and sums stay double) or all "
                    "in double, as kernel version 2",
                    "single", "double"),
    NM_PARAM_CHOICE("eval", "incremental",
                    "incremental: update what a move touches; full: recompute all (same results, "
                    "slower)",
                    "incremental", "full"),
};

static size_t record_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)(nm_get_i(p, "cycles") / nm_get_i(p, "record_every")) + 1;
}

enum { O_TRAIN, O_TEST, O_RECON, O_TRAIN_CURVE, O_TEST_CURVE, O_ACC_HIDDEN, O_ACC_OUTPUT,
       O_HIDDEN_CYCLES, O_NPARAMS, O_N };

static const nm_output outputs[O_N] = {
    [O_TRAIN] = NM_OUTPUT_SCALAR("train_mse", NM_O_F64, "",
                                 "training-set MSE of the final network"),
    [O_TEST] = NM_OUTPUT_SCALAR("test_mse", NM_O_F64, "", "test-set MSE of the final network"),
    [O_RECON] = NM_OUTPUT_SCALAR("recon_mse", NM_O_F64, "",
                                 "final reconstruction MSE on the training set (nmlp: mean over "
                                 "neurons); -1 for mlp"),
    [O_TRAIN_CURVE] = NM_OUTPUT_ARRAY("train_curve", NM_O_F64, "record", record_extent, "",
                                      "training MSE after cycle record*record_every"),
    [O_TEST_CURVE] = NM_OUTPUT_ARRAY("test_curve", NM_O_F64, "record", record_extent, "",
                                     "test MSE after cycle record*record_every"),
    [O_ACC_HIDDEN] = NM_OUTPUT_SCALAR("accepted_hidden", NM_O_I64, "", "hidden-layer moves kept"),
    [O_ACC_OUTPUT] = NM_OUTPUT_SCALAR("accepted_output", NM_O_I64, "", "output-layer moves kept"),
    [O_HIDDEN_CYCLES] = NM_OUTPUT_SCALAR("hidden_cycles", NM_O_I64, "",
                                         "cycles that tried a hidden-layer move"),
    [O_NPARAMS] = NM_OUTPUT_SCALAR("nparams", NM_O_I64, "",
                                   "trainable weights (encoder, output, decoder)"),
};

static nk_model model_of(const nm_point *p)
{
    const char *m = nm_get_s(p, "model");
    return strcmp(m, "mlp") == 0 ? NK_MLP : strcmp(m, "nmlp") == 0 ? NK_NMLP : NK_HMLP;
}

static nk_config config_of(const nm_point *p)
{
    return (nk_config){
        .model = model_of(p),
        .n = (int)nm_get_i(p, "N"),
        .h = (int)nm_get_i(p, "H"),
        .r = nm_get_f(p, "R"),
        .decoder_bias = nm_get_b(p, "decoder_bias"),
        .decoder_act = strcmp(nm_get_s(p, "decoder_act"), "tanh") == 0 ? NK_ACT_TANH
                                                                       : NK_ACT_SIGMOID,
        .decoder_precision =
            strcmp(nm_get_s(p, "decoder_precision"), "double") == 0 ? NK_DOUBLE : NK_SINGLE,
        .full = strcmp(nm_get_s(p, "eval"), "full") == 0,
    };
}

/* Relative run time: per cycle about E (output and decoder moves) plus, for
 * nmlp/hmlp, E*N for the quarter of cycles that move an encoder weight; the
 * full mode pays E*H*N every cycle; each curve point a test pass of E*H*N. */
static double nk_cost(const nm_point *p)
{
    nk_config c = config_of(p);
    double n = c.n, h = c.h, cycles = (double)nm_get_i(p, "cycles");
    double etr = (double)nm_get_i(p, "train_size"), ete = (double)nm_get_i(p, "test_size");
    double per_cycle = c.full ? etr * h * n * (c.model == NK_MLP ? 1 : 2)
                              : etr * (2 + (c.model == NK_MLP ? 0 : 0.25 * n));
    double records = (double)record_extent(p, 0);
    return cycles * per_cycle + records * ete * h * n + (etr + ete) * n * 4;
}

/* Bad combinations the schema's ranges cannot express: the engine calls
 * this for every grid point before any rank computes. */
static bool nk_check(const nm_point *p, char *why, size_t len)
{
    int64_t n = nm_get_i(p, "N"), k = nm_get_i(p, "K");
    if (k >= n) {
        snprintf(why, len, "K must be less than N (each gene links to K others), got K=%lld N=%lld",
                 (long long)k, (long long)n);
        return false;
    }
    if ((size_t)n * ((size_t)1 << (k + 1)) > NK_MAX_TABLE_ENTRIES) {
        snprintf(why, len, "N*2^(K+1) = %lld table entries exceeds the limit 2^27; lower K or N",
                 (long long)((size_t)n << (k + 1)));
        return false;
    }
    return true;
}

/* The same check inside a task, for callers that bypass the spec reader. */
static int check_point(const nm_point *p, nm_task *t)
{
    char why[160];
    if (!nk_check(p, why, sizeof why))
        return nm_task_fail(t, "nk: %s", why);
    return 0;
}

typedef struct {
    nk_landscape *land;
    nk_dataset *train, *test;
    nk_net *net;
} nk_run_state;

static void run_state_free(nk_run_state *s)
{
    nk_net_free(s->net);
    nk_dataset_free(s->test);
    nk_dataset_free(s->train);
    nk_landscape_free(s->land);
}

static const char *const data_deps[] = {"N", "K", "links", "seed", NULL};
static const char *const weight_deps[] = {"N", "H", "seed", NULL};
static const char *const search_deps[] = {"model", "N", "K", "links", "H", "R",
                                          "decoder_bias", "decoder_act", "seed", NULL};

/* Landscape, data sets and the initialised network. */
static int build(const nm_point *p, nm_task *t, const nk_config *c, nk_run_state *s)
{
    gsl_rng *rl = nm_task_rng(t, "nk-landscape", data_deps);
    gsl_rng *rtr = nm_task_rng(t, "nk-train", data_deps);
    gsl_rng *rte = nm_task_rng(t, "nk-test", data_deps);
    gsl_rng *rw = nm_task_rng(t, "nk-weights", weight_deps);
    gsl_rng *rd = nm_task_rng(t, "nk-decoder", weight_deps);
    if (!rl || !rtr || !rte || !rw || !rd)
        return nm_task_fail(t, "nk: no random stream (out of memory)");
    nk_links links = strcmp(nm_get_s(p, "links"), "adjacent") == 0 ? NK_LINKS_ADJACENT
                                                                    : NK_LINKS_RANDOM;
    s->land = nk_landscape_alloc(c->n, (int)nm_get_i(p, "K"), links, rl);
    if (s->land) {
        s->train = nk_dataset_alloc(s->land, (int)nm_get_i(p, "train_size"), rtr);
        s->test = nk_dataset_alloc(s->land, (int)nm_get_i(p, "test_size"), rte);
    }
    if (s->train && s->test)
        s->net = nk_net_alloc(c, s->train);
    if (!s->net)
        return nm_task_fail(t, "nk: out of memory for N=%d K=%lld H=%d", c->n,
                            (long long)nm_get_i(p, "K"), c->h);
    nk_net_init(s->net, rw, rd);
    return 0;
}

/* The climb, with the learning curves recorded on the way. */
static int climb(const nm_point *p, nm_task *t, nk_run_state *s, nm_result *res)
{
    int64_t cycles = nm_get_i(p, "cycles"), every = nm_get_i(p, "record_every");
    gsl_rng *rs = nm_task_rng(t, "nk-search", search_deps);
    if (!rs)
        return nm_task_fail(t, "nk: no random stream (out of memory)");
    double *train_curve = res->out[O_TRAIN_CURVE], *test_curve = res->out[O_TEST_CURVE];
    int64_t acc[2] = {0, 0}, hidden = 0;
    for (int64_t cyc = 0;; cyc++) {
        if (cyc % every == 0) {
            train_curve[cyc / every] = nk_net_train_mse(s->net);
            test_curve[cyc / every] = nk_net_mse(s->net, s->test);
        }
        if (cyc == cycles)
            break;
        if (nm_task_expired(t))
            return nm_task_fail(t, "nk: stopped at cycle %lld of %lld", (long long)cyc,
                                (long long)cycles);
        nk_move mv;
        nk_net_cycle(s->net, rs, &mv);
        acc[mv.layer] += mv.accepted;
        hidden += mv.layer == NK_HIDDEN;
    }
    *(int64_t *)res->out[O_ACC_HIDDEN] = acc[NK_HIDDEN];
    *(int64_t *)res->out[O_ACC_OUTPUT] = acc[NK_OUTPUT];
    *(int64_t *)res->out[O_HIDDEN_CYCLES] = hidden;
    return 0;
}

static int nk_run(const nm_point *p, nm_task *t, nm_result *res)
{
    int rc = check_point(p, t);
    if (rc)
        return rc;
    nk_config c = config_of(p);
    nk_run_state s = {0};
    rc = build(p, t, &c, &s);
    if (rc == 0)
        rc = climb(p, t, &s, res);
    if (rc == 0) {
        /* Final numbers from a fresh pass, free of incremental round-off. */
        nk_net_recompute(s.net, &s.net->cur);
        *(double *)res->out[O_TRAIN] = nk_net_train_mse(s.net);
        *(double *)res->out[O_TEST] = nk_net_mse(s.net, s.test);
        *(double *)res->out[O_RECON] = nk_net_recon_mse(s.net);
        *(int64_t *)res->out[O_NPARAMS] = (int64_t)nk_nparams(&c);
    }
    run_state_free(&s);
    return rc;
}

const nm_kernel nm_kernel_nk = {
    .name = "nk",
    .version = "3",
    .doc = "neurons as autoencoders on NK regression (Bull 2024): mlp, nmlp, hmlp by hill-climbing",
    .params = params,
    .nparams = NM_COUNT(params),
    .outputs = outputs,
    .noutputs = O_N,
    .cost = nk_cost,
    .run = nk_run,
    .check = nk_check,
};

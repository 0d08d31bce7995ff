/* dendnet.c: the `dendnet` kernel, how deep a temporal convolutional
 * network must be to mimic a neuron (Beniaguev, Segev and London, "Single
 * cortical neurons as deep artificial neural networks", Neuron 2021), with
 * and without NMDA receptors.
 *
 * One task = one (condition, depth, width, seed, ...):
 *   1. the data: n_train, n_val and n_test simulations of sim_ms each of the
 *      neuron driven by fresh inputs (dn_data.c); the validation inputs are
 *      drawn from the training inputs' stream after them, the test inputs
 *      from a separate stream; reused from the rank's cache when an earlier
 *      task of the rank simulated the same condition, seed and neuron.
 *      Conditions:
 *        nmda  every excitatory input has AMPA and NMDA (Mg block)
 *        ampa  NMDA removed; the AMPA conductance scaled by the factor
 *              (found here by bisection on a calibration set of calib_ms)
 *              that brings the output rate to that of the nmda neuron on
 *              the same calibration inputs; reported as ampa_scale
 *      With rate_target > 0 both are brought to that rate instead: nmda by
 *      one factor on g_ampa and g_nmda (exc_scale), ampa by one on g_ampa;
 *      so that neurons differing in g_nmda, branching or Ra can be compared
 *      at one output rate (version 2's results are unchanged with 0).
 *        lif   the control: a leaky integrate-and-fire point neuron with 80
 *              excitatory and 20 inhibitory inputs
 *   2. the fit: a causal TCN (dn_tcn.c) of `depth` layers of `width`
 *      channels and receptive field rf_ms, trained with Adam for epochs x
 *      steps_per_epoch minibatches of `batch` windows of `window` bins on
 *      BCE (spikes) + v_weight MSE (somatic voltage, standardised), with
 *      weight decay (decoupled or L2) and a learning rate decaying by
 *      lr_decay per epoch. After every epoch the validation set is scored
 *      (AUC or loss); the best epoch's weights are kept, training stops
 *      after `patience` epochs without a better score, and the kept weights
 *      are the ones evaluated. Without this (version 1) the test AUC peaked
 *      after 3-5 epochs and fell while the training loss kept falling.
 *   3. the evaluation on the test set: AUC of the spike logit over 1 ms
 *      bins, TPR at 0.25 % false positives, voltage RMSE (mV) and explained
 *      variance; the training losses, validation AUC and loss, and test AUC
 *      after every epoch.
 *
 * Random streams (nm_task_rng), each keyed on the parameters listed:
 *   dendnet-train, dendnet-test, dendnet-calib   the inputs of the training
 *        (then validation), test and calibration simulations: every parameter of the data
 *        except `condition` and the synaptic strengths (input_deps below),
 *        so that nmda and ampa see the same inputs
 *   dendnet-fit   every parameter but rate_target: the TCN's initial
 *        weights and the training windows */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/kernel.h"

#include "dendnet.h"

#define F NM_PARAM_FLOAT
#define I(nm, dv, lo_, hi_, dc) NM_PARAM_INT(nm, dv, lo_, hi_, "", dc)

enum {
    P_COND, P_DEPTH, P_WIDTH, P_RF, P_FIRST, P_EPOCHS, P_STEPS, P_BATCH, P_WINDOW, P_LR, P_VW,
    P_LRDECAY, P_WD, P_WDMODE, P_PATIENCE, P_SELECT,
    P_SIM_MS, P_NTRAIN, P_NTEST, P_NVAL, P_CALIB, P_RATE_TGT, P_DT,
    P_NBASAL, P_BORDER, P_BSEG, P_BLEN, P_BDIAM, P_TSEG, P_TLEN, P_TDIAM, P_NTUFT, P_TUORDER,
    P_TUSEG, P_TULEN, P_TUDIAM, P_SOMA, P_CM, P_RM, P_RA,
    P_GAMPA, P_GNMDA, P_GGABA, P_MG, P_EL, P_VTH, P_REF,
    P_EPC, P_IPC, P_RATE_E, P_RATE_I, P_SEGMIN, P_SEGMAX, P_SMOOTH, P_BALLO, P_BALHI,
    P_LIF_WE, P_LIF_WI,
    NPARAMS
};

static const nm_param params[NPARAMS] = {
    [P_COND] = NM_PARAM_CHOICE("condition", "nmda",
                               "nmda: AMPA+NMDA synapses; ampa: NMDA removed, AMPA rescaled to "
                               "the nmda output rate; lif: the integrate-and-fire control",
                               "nmda", "ampa", "lif"),
    [P_DEPTH] = I("depth", 1, 1, 7, "TCN layers (convolution + ReLU)"),
    [P_WIDTH] = I("width", 16, 1, 1024, "channels of every layer"),
    [P_RF] = I("rf_ms", 60, 2, 1000, "receptive field, ms (bins)"),
    [P_FIRST] = I("first_ms", 25, 1, 1000,
                  "kernel of the first layer when depth > 1, ms; the others share the rest of rf_ms"),
    [P_EPOCHS] = I("epochs", 20, 1, 100000, "epochs (the test AUC is recorded after each)"),
    [P_STEPS] = I("steps_per_epoch", 50, 1, 1000000, "Adam steps per epoch"),
    [P_BATCH] = I("batch", 8, 1, 4096, "windows per minibatch"),
    [P_WINDOW] = I("window", 256, 1, 100000, "output bins per training window"),
    [P_LR] = F("lr", 2e-3, 0, 10, "", "Adam learning rate"),
    [P_VW] = F("v_weight", 0.5, 0, 1e6, "", "weight of the voltage MSE (standardised) in the loss"),
    [P_LRDECAY] = F("lr_decay", 1, 1e-6, 1, "",
                    "learning rate of epoch e: lr * lr_decay^e (1: constant)"),
    [P_WD] = F("weight_decay", 0, 0, 1e6, "",
               "weight decay of the convolution and head weights (not the biases); see decay"),
    [P_WDMODE] = NM_PARAM_CHOICE("decay", "decoupled",
                                 "decoupled: each step shrinks the weights by lr * weight_decay "
                                 "times their value (AdamW); l2: weight_decay/2 sum w^2 added to "
                                 "the loss, its gradient through Adam",
                                 "decoupled", "l2"),
    [P_PATIENCE] = I("patience", 4, 0, 100000,
                     "early stopping: stop after this many epochs without a better validation "
                     "score and evaluate the best epoch's weights; 0: run every epoch and "
                     "evaluate the last"),
    [P_SELECT] = NM_PARAM_CHOICE("val_metric", "auc",
                                 "validation score that picks the epoch: auc (spike AUC) or loss "
                                 "(the training objective, lower is better)",
                                 "auc", "loss"),
    [P_SIM_MS] = I("sim_ms", 5000, 100, 100000000, "length of one simulation, ms"),
    [P_NTRAIN] = I("n_train", 16, 1, 100000, "training simulations"),
    [P_NTEST] = I("n_test", 12, 1, 100000, "test simulations"),
    [P_NVAL] = I("n_val", 4, 1, 100000,
                 "validation simulations, drawn from the training inputs' stream after the "
                 "n_train training ones (the training set does not depend on n_val)"),
    [P_CALIB] = I("calib_ms", 20000, 100, 100000000,
                  "ampa, and nmda with rate_target: simulated time (in simulations of sim_ms) on "
                  "which the output rates are matched, ms"),
    [P_RATE_TGT] = NM_PARAM_FLOAT_UNKEYED("rate_target", 0, 0, 1000, "Hz",
                     "0: off. Otherwise nmda scales g_ampa and g_nmda together (their ratio kept) "
                     "and ampa scales g_ampa, each by bisection on the calibration inputs, to "
                     "this output rate (reported as exc_scale and ampa_scale): neurons that "
                     "differ in other parameters then fire alike"),
    [P_DT] = F("dt", 0.1, 0.001, 1, "ms", "time step; 1 ms must be a whole number of steps"),
    [P_NBASAL] = I("n_basal", 4, 0, 64, "basal stems"),
    [P_BORDER] = I("basal_order", 2, 1, 8, "levels of binary branching of a basal stem"),
    [P_BSEG] = I("basal_seg", 2, 1, 64, "compartments per basal section"),
    [P_BLEN] = F("basal_len", 120, 1e-3, 1e5, "um", "length of a basal section"),
    [P_BDIAM] = F("basal_diam", 0.8, 1e-3, 100, "um", "diameter of the basal sections"),
    [P_TSEG] = I("trunk_seg", 4, 0, 256, "compartments of the apical trunk"),
    [P_TLEN] = F("trunk_len", 400, 1e-3, 1e5, "um", "length of the apical trunk"),
    [P_TDIAM] = F("trunk_diam", 2.5, 1e-3, 100, "um", "diameter of the apical trunk"),
    [P_NTUFT] = I("n_tuft", 3, 0, 64, "tuft stems at the end of the trunk"),
    [P_TUORDER] = I("tuft_order", 2, 1, 8, "levels of binary branching of a tuft stem"),
    [P_TUSEG] = I("tuft_seg", 2, 1, 64, "compartments per tuft section"),
    [P_TULEN] = F("tuft_len", 150, 1e-3, 1e5, "um", "length of a tuft section"),
    [P_TUDIAM] = F("tuft_diam", 0.6, 1e-3, 100, "um", "diameter of the tuft sections"),
    [P_SOMA] = F("soma_diam", 20, 1e-3, 1000, "um", "soma: a cylinder of this length and diameter"),
    [P_CM] = F("cm", 1, 1e-6, 1e3, "uF/cm^2", "specific membrane capacitance"),
    [P_RM] = F("Rm", 15000, 1, 1e9, "Ohm cm^2", "specific membrane resistance"),
    [P_RA] = F("Ra", 150, 1e-3, 1e6, "Ohm cm", "axial resistivity"),
    [P_GAMPA] = F("g_ampa", 0.8, 0, 1e6, "nS",
                  "peak AMPA conductance of one input spike (rise 0.3 ms, decay 3 ms)"),
    [P_GNMDA] = F("g_nmda", 0.8, 0, 1e6, "nS",
                  "peak NMDA conductance of one input spike before the block (2 ms, 70 ms)"),
    [P_GGABA] = F("g_gaba", 1.0, 0, 1e6, "nS",
                  "peak GABA_A conductance of one input spike (0.2 ms, 8 ms, -80 mV)"),
    [P_MG] = F("mg", 1, 0, 100, "mM", "extracellular [Mg]"),
    [P_EL] = F("E_L", -70, -200, 100, "mV", "leak reversal potential and rest"),
    [P_VTH] = F("v_th", -55, -200, 100, "mV", "somatic spike threshold"),
    [P_REF] = F("ref_ms", 3, 1, 1000, "ms",
                "refractory period: 1 ms spike conductance (to +30 mV), then an after-"
                "hyperpolarising one (to -75 mV)"),
    [P_EPC] = I("exc_per_comp", 1, 0, 1000, "excitatory input channels per compartment"),
    [P_IPC] = I("inh_per_comp", 1, 0, 1000, "inhibitory input channels per compartment"),
    [P_RATE_E] = F("rate_e", 10.5, 0, 500, "Hz", "mean rate of an excitatory input"),
    [P_RATE_I] = F("rate_i", 15, 0, 500, "Hz", "mean rate of an inhibitory input"),
    [P_SEGMIN] = F("seg_min", 100, 1, 1e7, "ms", "shortest piece of a piecewise-constant rate"),
    [P_SEGMAX] = F("seg_max", 1000, 1, 1e7, "ms", "longest piece of a piecewise-constant rate"),
    [P_SMOOTH] = F("smooth_ms", 20, 0, 1e5, "ms", "Gaussian smoothing of the rates (sigma)"),
    [P_BALLO] = F("bal_lo", 0.8, 0, 100, "",
                  "per simulation, the gains of excitation and of inhibition are U[bal_lo, bal_hi]"),
    [P_BALHI] = F("bal_hi", 1.2, 0, 100, "", "see bal_lo"),
    [P_LIF_WE] = F("lif_w_e", 1.2, 0, 1000, "mV", "lif: kick of one excitatory input spike"),
    [P_LIF_WI] = F("lif_w_i", 2.0, 0, 1000, "mV", "lif: kick of one inhibitory input spike (down)"),
};

/* The parameters that shape the inputs (not `condition` nor the synapses). */
static const char *const input_deps[] = {
    "sim_ms", "n_train", "n_test", "calib_ms", "n_basal", "basal_order", "basal_seg", "trunk_seg",
    "n_tuft", "tuft_order", "tuft_seg", "exc_per_comp", "inh_per_comp", "rate_e", "rate_i",
    "seg_min", "seg_max", "smooth_ms", "bal_lo", "bal_hi", "seed", NULL};

/* The parameters of the data (the cache's key): everything before P_DEPTH
 * and from P_SIM_MS on, and the seed. */
static bool is_data_param(int i)
{
    return i == P_COND || i >= P_SIM_MS;
}

enum { LIF_EXC = 80, LIF_INH = 20 };

static dn_morph morph_of(const nm_point *p)
{
    return (dn_morph){
        .n_basal = (int)nm_get_i_at(p, P_NBASAL), .basal_order = (int)nm_get_i_at(p, P_BORDER),
        .basal_seg = (int)nm_get_i_at(p, P_BSEG), .basal_len = nm_get_f_at(p, P_BLEN),
        .basal_diam = nm_get_f_at(p, P_BDIAM), .trunk_seg = (int)nm_get_i_at(p, P_TSEG),
        .trunk_len = nm_get_f_at(p, P_TLEN), .trunk_diam = nm_get_f_at(p, P_TDIAM),
        .n_tuft = (int)nm_get_i_at(p, P_NTUFT), .tuft_order = (int)nm_get_i_at(p, P_TUORDER),
        .tuft_seg = (int)nm_get_i_at(p, P_TUSEG), .tuft_len = nm_get_f_at(p, P_TULEN),
        .tuft_diam = nm_get_f_at(p, P_TUDIAM), .soma_diam = nm_get_f_at(p, P_SOMA),
        .cm = nm_get_f_at(p, P_CM), .Rm = nm_get_f_at(p, P_RM), .Ra = nm_get_f_at(p, P_RA)};
}

static dn_cell_params cell_of(const nm_point *p)
{
    double E_L = nm_get_f_at(p, P_EL);
    return (dn_cell_params){
        .tau_rise = {0.3, 2, 0.2}, .tau_decay = {3, 70, 8},
        .g = {nm_get_f_at(p, P_GAMPA), nm_get_f_at(p, P_GNMDA), nm_get_f_at(p, P_GGABA)},
        .E = {0, 0, -80}, .mg = nm_get_f_at(p, P_MG), .E_L = E_L, .v_th = nm_get_f_at(p, P_VTH),
        .spike_ms = 1, .spike_g = 100, .spike_E = 30, .ref_ms = nm_get_f_at(p, P_REF),
        .ahp_g = 100, .ahp_E = -75, .dt = nm_get_f_at(p, P_DT)};
}

static dn_lif_params lif_of(const nm_point *p)
{
    return (dn_lif_params){.tau_m = 20, .E_L = nm_get_f_at(p, P_EL), .v_th = nm_get_f_at(p, P_VTH),
                           .v_reset = nm_get_f_at(p, P_EL), .ref_ms = 2, .tau_e = 3, .tau_i = 8,
                           .w_e = nm_get_f_at(p, P_LIF_WE), .w_i = -nm_get_f_at(p, P_LIF_WI),
                           .dt = nm_get_f_at(p, P_DT)};
}

static bool is_lif(const nm_point *p)
{
    return strcmp(nm_get_s_at(p, P_COND), "lif") == 0;
}

/* Compartments of the tree (1 for lif); 0 when the morphology is invalid. */
static int comp_count(const nm_point *p)
{
    if (is_lif(p))
        return 1;
    dn_morph m = morph_of(p);
    if (dn_morph_invalid(&m))
        return 0;
    return 1 + m.n_basal * ((1 << m.basal_order) - 1) * m.basal_seg + m.trunk_seg +
           m.n_tuft * ((1 << m.tuft_order) - 1) * m.tuft_seg;
}

static int input_count(const nm_point *p)
{
    if (is_lif(p))
        return LIF_EXC + LIF_INH;
    return comp_count(p) * (int)(nm_get_i_at(p, P_EPC) + nm_get_i_at(p, P_IPC));
}

static bool dd_check(const nm_point *p, char *why, size_t len)
{
    dn_morph m = morph_of(p);
    const char *bad = dn_morph_invalid(&m);
    double dt = nm_get_f_at(p, P_DT), spm = 1.0 / dt;
    int64_t rf = nm_get_i_at(p, P_RF), first = nm_get_i_at(p, P_FIRST);
    int64_t depth = nm_get_i_at(p, P_DEPTH);
    if (bad)
        snprintf(why, len, "%s", bad);
    else if (fabs(spm - round(spm)) > 1e-9 * spm)
        snprintf(why, len, "dt = %g ms does not divide 1 ms", dt);
    else if (depth > 1 && first + (depth - 1) > rf)
        snprintf(why, len, "first_ms = %lld leaves no room in rf_ms = %lld for %lld more layers",
                 (long long)first, (long long)rf, (long long)(depth - 1));
    else if (nm_get_i_at(p, P_SIM_MS) < nm_get_i_at(p, P_WINDOW) + rf - 1)
        snprintf(why, len, "sim_ms must be at least window + rf_ms - 1");
    else if (nm_get_f_at(p, P_SEGMIN) > nm_get_f_at(p, P_SEGMAX) ||
             nm_get_f_at(p, P_BALLO) > nm_get_f_at(p, P_BALHI))
        snprintf(why, len, "seg_min must not exceed seg_max, nor bal_lo bal_hi");
    else if (input_count(p) < 1)
        snprintf(why, len, "no input channels (exc_per_comp + inh_per_comp = 0)");
    else if (nm_get_f_at(p, P_REF) < 1)
        snprintf(why, len, "ref_ms must cover the 1 ms spike");
    else if (is_lif(p) && nm_get_f_at(p, P_RATE_TGT) > 0)
        snprintf(why, len, "rate_target = %g Hz: the lif control is never rescaled "
                 "(use rate_target with nmda or ampa)", nm_get_f_at(p, P_RATE_TGT));
    else
        return true;
    return false;
}

/* ---- outputs ---- */

enum {
    O_AUC, O_TPR, O_RMSE, O_EV, O_RATE_TRAIN, O_RATE_TEST, O_RATE_REF, O_RATE_CAL, O_SCALE, O_EXC,
    O_NCOMP, O_NIN, O_RF, O_NPARAMS, O_EPOCH_KEPT, O_EPOCHS_RUN, O_VAL_AUC, O_VAL_LOSS,
    O_CURVE_LOSS, O_CURVE_BCE, O_CURVE_MSE, O_CURVE_AUC, O_CURVE_VAL_AUC, O_CURVE_VAL_LOSS,
    NOUTPUTS
};

static size_t epoch_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i_at(p, P_EPOCHS);
}

#define SCALAR(nm, un, dc) NM_OUTPUT_SCALAR(nm, NM_O_F64, un, dc)
#define CURVE(nm, un, dc) NM_OUTPUT_ARRAY(nm, NM_O_F64, "epoch", epoch_extent, un, dc)
static const nm_output outputs[NOUTPUTS] = {
    [O_AUC] = SCALAR("auc", "", "spike prediction on the test set: ROC AUC over 1 ms bins"),
    [O_TPR] = SCALAR("tpr", "", "true-positive rate at 0.25 % false positives (test set)"),
    [O_RMSE] = SCALAR("v_rmse", "mV", "somatic voltage (spikes cut at v_th) RMSE, test set"),
    [O_EV] = SCALAR("v_explained", "", "explained variance of the somatic voltage, test set"),
    [O_RATE_TRAIN] = SCALAR("rate_train", "Hz", "output rate of the training simulations"),
    [O_RATE_TEST] = SCALAR("rate_test", "Hz", "output rate of the test simulations"),
    [O_RATE_REF] = SCALAR("rate_nmda_calib", "Hz",
                          "the rate matched on the calibration inputs: rate_target when set, "
                          "else (ampa) the nmda neuron's rate on them; -1 when nothing is matched"),
    [O_RATE_CAL] = SCALAR("rate_calib", "Hz",
                          "rate of the rescaled neuron on the calibration inputs (-1 when "
                          "nothing is matched)"),
    [O_SCALE] = SCALAR("ampa_scale", "",
                       "ampa: factor on g_ampa that matches the rates (1: nmda, -1: lif)"),
    [O_EXC] = SCALAR("exc_scale", "",
                     "nmda with rate_target: factor on g_ampa and g_nmda that brings the "
                     "rate to it (1 otherwise, -1: lif)"),
    [O_NCOMP] = SCALAR("n_comp", "", "compartments of the neuron"),
    [O_NIN] = SCALAR("n_inputs", "", "input channels"),
    [O_RF] = SCALAR("rf", "ms", "receptive field of the TCN as built"),
    [O_NPARAMS] = SCALAR("n_weights", "", "trainable parameters of the TCN"),
    [O_EPOCH_KEPT] = SCALAR("epoch_kept", "",
                            "epoch (from 0) whose weights give the test numbers: the best on "
                            "validation, or the last with patience 0"),
    [O_EPOCHS_RUN] = SCALAR("epochs_run", "", "epochs trained before early stopping"),
    [O_VAL_AUC] = SCALAR("val_auc", "", "validation AUC of the kept weights"),
    [O_VAL_LOSS] = SCALAR("val_loss", "", "validation loss (BCE + v_weight MSE) of the kept weights"),
    [O_CURVE_LOSS] = CURVE("curve_loss", "",
                           "mean training loss over each epoch (without the weight penalty; -1 "
                           "after an early stop, as every curve)"),
    [O_CURVE_BCE] = CURVE("curve_bce", "", "mean training spike BCE over each epoch"),
    [O_CURVE_MSE] = CURVE("curve_mse", "",
                          "mean training voltage MSE (standardised) over each epoch"),
    [O_CURVE_AUC] = CURVE("curve_auc", "", "test AUC after each epoch"),
    [O_CURVE_VAL_AUC] = CURVE("curve_val_auc", "", "validation AUC after each epoch"),
    [O_CURVE_VAL_LOSS] = CURVE("curve_val_loss", "", "validation loss after each epoch"),
};

/* Relative cost: multiply-adds of the training (forward + backward, about 3
 * forward passes) plus the simulations. */
static double dd_cost(const nm_point *p)
{
    double cin = input_count(p), w = (double)nm_get_i_at(p, P_WIDTH);
    double depth = (double)nm_get_i_at(p, P_DEPTH), rf = (double)nm_get_i_at(p, P_RF);
    double first = depth > 1 ? (double)nm_get_i_at(p, P_FIRST) : rf;
    double rest = depth > 1 ? (rf - first) / (depth - 1) + 1 : 0;
    double per_bin = cin * first * w + (depth - 1) * w * w * rest;
    double bins = (double)nm_get_i_at(p, P_EPOCHS) *
                  ((double)nm_get_i_at(p, P_STEPS) * (double)nm_get_i_at(p, P_BATCH) *
                       (double)nm_get_i_at(p, P_WINDOW) * 3 +
                   (double)(nm_get_i_at(p, P_NTEST) + nm_get_i_at(p, P_NVAL)) *
                       (double)nm_get_i_at(p, P_SIM_MS));
    double sim = (double)(nm_get_i_at(p, P_NTRAIN) + nm_get_i_at(p, P_NTEST) +
                          nm_get_i_at(p, P_NVAL)) *
                 (double)nm_get_i_at(p, P_SIM_MS) / nm_get_f_at(p, P_DT) * 40.0 * comp_count(p);
    return per_bin * bins + sim + 1.0;
}

/* ---- the rank's cache of simulated data ---- */

enum { CACHE_SLOTS = 4, KEY_LEN = 2048 };

typedef struct {
    char key[KEY_LEN];
    dn_data *train, *val, *test;
    double scale;    /* ampa: factor on g_ampa (1: nmda, -1: lif) */
    double exc;      /* nmda with rate_target: factor on g_ampa and g_nmda (else 1; -1: lif) */
    double rate_ref, rate_cal;
    unsigned long used;
} cache_slot;

typedef struct {
    cache_slot slot[CACHE_SLOTS];
    unsigned long clock;
} dd_cache;

static void slot_free(cache_slot *s)
{
    dn_data_free(s->train), dn_data_free(s->val), dn_data_free(s->test);
}

static void dd_release(void *data)
{
    dd_cache *c = data;
    for (int i = 0; i < CACHE_SLOTS; i++)
        slot_free(&c->slot[i]);
    free(c);
}

/* The cache is the rank's (tasks of a rank run one after another); it only
 * ever holds what run() would simulate again from the same key. */
static int dd_prepare(nm_shared *sh)
{
    dd_cache *c = calloc(1, sizeof *c);
    if (!c)
        return nm_shared_fail(sh, "out of memory");
    nm_shared_set(sh, c);
    return 0;
}

static void data_key(const nm_point *p, char *key, size_t len)
{
    size_t at = 0;
    for (int i = 0; i < NPARAMS && at < len; i++) {
        if (!is_data_param(i))
            continue;
        const nm_value *v = &p->vals[i];
        int w = v->type == NM_T_FLOAT   ? snprintf(key + at, len - at, "%.17g,", v->v.f)
                : v->type == NM_T_INT   ? snprintf(key + at, len - at, "%lld,", (long long)v->v.i)
                : v->type == NM_T_CHOICE ? snprintf(key + at, len - at, "%s,", v->v.s)
                                        : snprintf(key + at, len - at, "%d,", (int)v->v.b);
        at += w > 0 ? (size_t)w : 0;
    }
    if (at < len)
        snprintf(key + at, len - at, "seed=%lld", (long long)nm_get_i(p, "seed"));
}

/* ---- simulation ---- */

typedef struct {
    bool lif;
    dn_tree *tree;
    dn_cell *cell;
    dn_lif_params lp;
    dn_input_params ip;
} neuron;

static void neuron_free(neuron *nr)
{
    dn_cell_free(nr->cell);
    dn_tree_free(nr->tree);
}

static int neuron_make(neuron *nr, const nm_point *p, double g_ampa, double g_nmda)
{
    *nr = (neuron){.lif = is_lif(p)};
    nr->ip = (dn_input_params){
        .rate_e = nm_get_f_at(p, P_RATE_E), .rate_i = nm_get_f_at(p, P_RATE_I),
        .seg_min = nm_get_f_at(p, P_SEGMIN), .seg_max = nm_get_f_at(p, P_SEGMAX),
        .smooth_ms = nm_get_f_at(p, P_SMOOTH), .bal_lo = nm_get_f_at(p, P_BALLO),
        .bal_hi = nm_get_f_at(p, P_BALHI)};
    if (nr->lif) {
        nr->lp = lif_of(p);
        nr->ip.n_exc = LIF_EXC, nr->ip.n_inh = LIF_INH;
        return 0;
    }
    dn_morph m = morph_of(p);
    dn_cell_params cp = cell_of(p);
    cp.g[DN_AMPA] = g_ampa, cp.g[DN_NMDA] = g_nmda;
    nr->tree = dn_tree_alloc(&m);
    nr->cell = nr->tree ? dn_cell_alloc(nr->tree, &cp, (int)nm_get_i_at(p, P_EPC),
                                        (int)nm_get_i_at(p, P_IPC))
                        : NULL;
    if (!nr->cell) {
        neuron_free(nr);
        return -1;
    }
    nr->ip.n_exc = nr->cell->n_exc, nr->ip.n_inh = nr->cell->n_inh;
    return 0;
}

/* Simulation s of a data set from its inputs (drawn before). */
static long simulate_one(neuron *nr, dn_data *d, size_t s)
{
    const uint8_t *x = d->x + s * (size_t)d->nin * d->T;
    if (nr->lif)
        return dn_lif_run(&nr->lp, LIF_EXC, LIF_INH, x, d->T, d->y + s * d->T, d->v + s * d->T);
    dn_cell_reset(nr->cell);
    return dn_cell_run(nr->cell, x, d->T, d->y + s * d->T, d->v + s * d->T);
}

static dn_data *draw_inputs(const neuron *nr, size_t nsim, size_t T, gsl_rng *r)
{
    dn_data *d = dn_data_alloc(nr->ip.n_exc + nr->ip.n_inh, nsim, T);
    for (size_t s = 0; d && s < nsim; s++)
        dn_inputs_draw(&nr->ip, T, r, d->x + s * (size_t)d->nin * T);
    return d;
}

static void simulate_all(neuron *nr, dn_data *d)
{
    for (size_t s = 0; s < d->nsim; s++)
        simulate_one(nr, d, s);
}

/* Bounds of the bisection on log2 of a conductance factor. */
#define SCALE_LO (-4.0)
#define SCALE_HI 8.0

/* The factor on the excitatory conductances ga and gn (gn = 0: NMDA off)
 * whose output count on the calibration inputs first reaches rate_ref:
 * bisection on log2 of the factor over [2^SCALE_LO, 2^SCALE_HI], 16 steps (the
 * count rises with the factor). *rate_cal gets the rate at that factor;
 * *bracketed is false when rate_ref lies outside the rates of the bounds
 * (the factor is then the bound nearest to it). -1: out of memory. */
static int scale_to_rate(const nm_point *p, dn_data *cal, double ga, double gn, double rate_ref,
                         double *scale, double *rate_cal, bool *bracketed)
{
    neuron nr;
    double lo = SCALE_LO, hi = SCALE_HI;
    for (int it = 0; it < 16; it++) {
        double mid = 0.5 * (lo + hi);
        if (neuron_make(&nr, p, ga * exp2(mid), gn * exp2(mid)))
            return -1;
        simulate_all(&nr, cal);
        neuron_free(&nr);
        if (dn_data_rate(cal) >= rate_ref)
            hi = mid;
        else
            lo = mid;
    }
    *scale = exp2(hi);
    if (neuron_make(&nr, p, ga * *scale, gn * *scale))
        return -1;
    simulate_all(&nr, cal);
    neuron_free(&nr);
    *rate_cal = dn_data_rate(cal);
    /* lo never raised: even the smallest factors reach the rate */
    *bracketed = *rate_cal >= rate_ref && lo > SCALE_LO;
    return 0;
}

/* The conductance factors of the condition (cache_slot's scale and exc) on
 * the calibration inputs. Without rate_target, ampa matches the nmda
 * neuron's rate (rate_ref); with it, ampa scales g_ampa and nmda both its
 * conductances to rate_target. -1: out of memory; 1: rate_target out of
 * reach (why says so). */
static int match_rates(const nm_point *p, dn_data *cal, cache_slot *s, char *why, size_t len)
{
    double ga = nm_get_f_at(p, P_GAMPA), gn = nm_get_f_at(p, P_GNMDA);
    double target = nm_get_f_at(p, P_RATE_TGT);
    bool ampa = strcmp(nm_get_s_at(p, P_COND), "ampa") == 0;
    if (target > 0)
        s->rate_ref = target;
    else { /* ampa: the nmda neuron's rate */
        neuron nr;
        if (neuron_make(&nr, p, ga, gn))
            return -1;
        simulate_all(&nr, cal);
        neuron_free(&nr);
        s->rate_ref = dn_data_rate(cal);
    }
    bool ok;
    double *f = ampa ? &s->scale : &s->exc;
    if (scale_to_rate(p, cal, ga, ampa ? 0 : gn, s->rate_ref, f, &s->rate_cal, &ok))
        return -1;
    if (target > 0 && !ok) {
        snprintf(why, len,
                 "rate_target = %g Hz out of reach: the %s neuron fires at %g Hz with its "
                 "excitation scaled by %g (factors 2^%g..2^%g tried)",
                 target, ampa ? "ampa" : "nmda", s->rate_cal, *f, SCALE_LO, SCALE_HI);
        return 1;
    }
    return 0;
}

/* Simulates (or finds in the cache) the training and test sets. */
static int get_data(const nm_point *p, nm_task *t, cache_slot *out)
{
    dd_cache *cache = (dd_cache *)nm_task_shared(t); /* the rank's, see dd_prepare */
    char key[KEY_LEN];
    data_key(p, key, sizeof key);
    if (cache)
        for (int i = 0; i < CACHE_SLOTS; i++)
            if (cache->slot[i].train && strcmp(cache->slot[i].key, key) == 0) {
                cache->slot[i].used = ++cache->clock;
                *out = cache->slot[i];
                return 0;
            }
    gsl_rng *rtr = nm_task_rng(t, "dendnet-train", input_deps);
    gsl_rng *rte = nm_task_rng(t, "dendnet-test", input_deps);
    gsl_rng *rca = nm_task_rng(t, "dendnet-calib", input_deps);
    if (!rtr || !rte || !rca)
        return nm_task_fail(t, "dendnet: no random stream");
    cache_slot s = {.scale = is_lif(p) ? -1 : 1, .exc = is_lif(p) ? -1 : 1, .rate_ref = -1,
                    .rate_cal = -1};
    bool ampa = strcmp(nm_get_s_at(p, P_COND), "ampa") == 0;
    bool nmda = strcmp(nm_get_s_at(p, P_COND), "nmda") == 0;
    double ga = nm_get_f_at(p, P_GAMPA), gn = nm_get_f_at(p, P_GNMDA);
    size_t T = (size_t)nm_get_i_at(p, P_SIM_MS);
    neuron nr;
    if (neuron_make(&nr, p, ga, gn))
        return nm_task_fail(t, "dendnet: out of memory for the neuron");
    s.train = draw_inputs(&nr, (size_t)nm_get_i_at(p, P_NTRAIN), T, rtr);
    /* after the training inputs, from their stream: the training set is the
     * same whatever n_val */
    s.val = draw_inputs(&nr, (size_t)nm_get_i_at(p, P_NVAL), T, rtr);
    s.test = draw_inputs(&nr, (size_t)nm_get_i_at(p, P_NTEST), T, rte);
    neuron_free(&nr);
    if (!s.train || !s.val || !s.test)
        goto oom;
    if (ampa || (nmda && nm_get_f_at(p, P_RATE_TGT) > 0)) {
        /* calibration simulations of sim_ms each (so that they sample the
         * E/I balance as the data sets do), calib_ms in all */
        int64_t ncal = (nm_get_i_at(p, P_CALIB) + (int64_t)T - 1) / (int64_t)T;
        dn_data *cal = draw_inputs(&nr, (size_t)ncal, T, rca);
        char why[NM_ERR_MSG] = "";
        int rc = cal ? match_rates(p, cal, &s, why, sizeof why) : -1;
        dn_data_free(cal);
        if (rc > 0) {
            slot_free(&s);
            return nm_task_fail(t, "dendnet: %s", why);
        }
        if (rc)
            goto oom;
    }
    if (neuron_make(&nr, p, ampa ? ga * s.scale : ga * s.exc, ampa ? 0 : gn * s.exc))
        goto oom;
    simulate_all(&nr, s.train);
    simulate_all(&nr, s.val);
    simulate_all(&nr, s.test);
    neuron_free(&nr);
    if (cache) { /* into the least recently used slot */
        int lru = 0;
        for (int i = 1; i < CACHE_SLOTS; i++)
            if (cache->slot[i].used < cache->slot[lru].used)
                lru = i;
        slot_free(&cache->slot[lru]);
        snprintf(s.key, sizeof s.key, "%s", key);
        s.used = ++cache->clock;
        cache->slot[lru] = s;
    }
    *out = s;
    return 0;
oom:
    slot_free(&s);
    return nm_task_fail(t, "dendnet: out of memory for the simulated data");
}

/* ---- fitting ---- */

typedef struct {
    dn_tcn *net;
    dn_work *work, *eval;
    double *x0, *vt, *score, *vpred, *vtrue, *best_w;
    uint8_t *yt, *ytrue;
    double v_mean, v_sd;
} fit_state;

static void fit_free(fit_state *f)
{
    dn_tcn_free(f->net);
    dn_work_free(f->work), dn_work_free(f->eval);
    free(f->x0), free(f->vt), free(f->score), free(f->vpred), free(f->vtrue), free(f->best_w);
    free(f->yt), free(f->ytrue);
}

/* Copies the input bins [t0 - rf + 1, t0 + L) of simulation s as window b of
 * B into x0 ([cin][B * (L + rf - 1)]). */
static void fill_window(const dn_data *d, size_t s, size_t t0, int rf, int L, int b, int B,
                        double *x0)
{
    size_t Lin = (size_t)L + rf - 1, from = t0 + 1 - (size_t)rf;
    for (int c = 0; c < d->nin; c++) {
        const uint8_t *src = d->x + (s * d->nin + c) * d->T + from;
        double *dst = x0 + (size_t)c * B * Lin + (size_t)b * Lin;
        for (size_t i = 0; i < Lin; i++)
            dst[i] = src[i];
    }
}

/* The network's outputs on every bin of a data set (validation or test)
 * from rf - 1 on, in chunks of the eval work's length (the last chunk moved
 * back to end at T). */
static size_t predict(fit_state *f, const dn_data *d, int L)
{
    int rf = f->net->rf;
    size_t k = 0;
    for (size_t s = 0; s < d->nsim; s++)
        for (size_t t0 = (size_t)rf - 1; t0 < d->T; t0 += (size_t)L) {
            size_t start = t0 + (size_t)L <= d->T ? t0 : d->T - (size_t)L;
            fill_window(d, s, start, rf, L, 0, 1, f->x0);
            const double *lo, *vo;
            dn_tcn_forward(f->net, f->eval, f->x0, 1, &lo, &vo);
            for (size_t j = t0 - start; j < (size_t)L; j++, k++) {
                f->score[k] = lo[j];
                f->vpred[k] = vo[j] * f->v_sd + f->v_mean;
                f->ytrue[k] = d->y[s * d->T + start + j];
                f->vtrue[k] = d->v[s * d->T + start + j];
            }
        }
    return k;
}

static void voltage_stats(const dn_data *d, double *mean, double *sd)
{
    size_t n = d->nsim * d->T;
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        s += d->v[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        q += (d->v[i] - *mean) * (d->v[i] - *mean);
    *sd = sqrt(q / (double)n);
    if (!(*sd > 1e-9))
        *sd = 1;
}

/* The training objective on the n bins predict() left: BCE of the spike
 * logit plus v_weight times the standardised voltage's squared error. */
static double eval_loss(const fit_state *f, size_t n, double vw)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double z = f->score[i], e = (f->vpred[i] - f->vtrue[i]) / f->v_sd;
        s += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - f->ytrue[i] * z + vw * e * e;
    }
    return n ? s / (double)n : 0.0;
}

static int dd_run(const nm_point *p, nm_task *t, nm_result *res)
{
    char why[NM_ERR_MSG];
    if (!dd_check(p, why, sizeof why))
        return nm_task_fail(t, "dendnet: %s", why);
    double *o[NOUTPUTS];
    for (int i = 0; i < NOUTPUTS; i++)
        if (!(o[i] = nm_out_f64(res, i, outputs[i].name)))
            return nm_task_fail(t, "dendnet: output %s", outputs[i].name);
    cache_slot data = {.scale = 0};
    int rc = get_data(p, t, &data);
    if (rc)
        return rc;
    bool cached = nm_task_shared(t) != NULL;
    int depth = (int)nm_get_i_at(p, P_DEPTH), width = (int)nm_get_i_at(p, P_WIDTH);
    int B = (int)nm_get_i_at(p, P_BATCH), L = (int)nm_get_i_at(p, P_WINDOW);
    int epochs = (int)nm_get_i_at(p, P_EPOCHS), steps = (int)nm_get_i_at(p, P_STEPS);
    double lr = nm_get_f_at(p, P_LR), vw = nm_get_f_at(p, P_VW);
    double lr_decay = nm_get_f_at(p, P_LRDECAY), wd = nm_get_f_at(p, P_WD);
    bool l2 = strcmp(nm_get_s_at(p, P_WDMODE), "l2") == 0;
    bool by_auc = strcmp(nm_get_s_at(p, P_SELECT), "auc") == 0;
    int patience = (int)nm_get_i_at(p, P_PATIENCE);
    const dn_data *tr = data.train, *va = data.val, *te = data.test;
    fit_state f = {0};
    /* every parameter but the unkeyed rate_target (see its table entry) */
    gsl_rng *rfit = nm_task_rng(t, "dendnet-fit", NULL);
    f.net = dn_tcn_alloc(tr->nin, depth, width, (int)nm_get_i_at(p, P_RF),
                         (int)nm_get_i_at(p, P_FIRST));
    int Le = L > 1024 ? L : 1024;
    if (f.net) {
        if ((size_t)Le + f.net->rf - 1 > te->T)
            Le = (int)(te->T - (size_t)f.net->rf + 1);
        f.work = dn_work_alloc(f.net, B, L);
        f.eval = dn_work_alloc(f.net, 1, Le);
        size_t xin = (size_t)tr->nin * (size_t)((size_t)B * (L + f.net->rf - 1) >
                                                        (size_t)Le + f.net->rf - 1
                                                    ? (size_t)B * (L + f.net->rf - 1)
                                                    : (size_t)Le + f.net->rf - 1);
        size_t nte = (te->nsim > va->nsim ? te->nsim : va->nsim) * te->T;
        f.x0 = malloc(xin * sizeof *f.x0);
        f.vt = malloc((size_t)B * L * sizeof *f.vt);
        f.yt = malloc((size_t)B * L * sizeof *f.yt);
        f.score = malloc(nte * sizeof *f.score);
        f.vpred = malloc(nte * sizeof *f.vpred);
        f.vtrue = malloc(nte * sizeof *f.vtrue);
        f.ytrue = malloc(nte * sizeof *f.ytrue);
        f.best_w = malloc(f.net->np * sizeof *f.best_w);
    }
    if (!rfit || !f.net || !f.work || !f.eval || !f.x0 || !f.vt || !f.yt || !f.score || !f.vpred ||
        !f.vtrue || !f.ytrue || !f.best_w) {
        fit_free(&f);
        rc = nm_task_fail(t, "dendnet: out of memory for the network (%d layers of %d)", depth,
                          width);
        goto done;
    }
    voltage_stats(tr, &f.v_mean, &f.v_sd);
    double rate = dn_data_rate(tr) * 1e-3;
    dn_tcn_init(f.net, rfit, rate > 1e-4 ? rate : 1e-4);
    int rf = f.net->rf;
    /* the epoch whose weights are kept: the best validation score so far
     * (ties keep the earlier epoch) */
    int kept = -1, run = 0;
    double best = -INFINITY;
    for (int e = 0; e < epochs; e++) {
        if (nm_task_expired(t)) {
            fit_free(&f);
            rc = nm_task_fail(t, "dendnet: stopped at epoch %d of %d", e, epochs);
            goto done;
        }
        double lr_e = lr * pow(lr_decay, e);
        double sl = 0, sb = 0, sm = 0;
        for (int st = 0; st < steps; st++) {
            for (int b = 0; b < B; b++) {
                size_t s = gsl_rng_uniform_int(rfit, tr->nsim);
                size_t t0 = (size_t)rf - 1 + gsl_rng_uniform_int(rfit, tr->T - (size_t)L - rf + 2);
                fill_window(tr, s, t0, rf, L, b, B, f.x0);
                for (int j = 0; j < L; j++) {
                    f.yt[b * L + j] = tr->y[s * tr->T + t0 + j];
                    f.vt[b * L + j] = (tr->v[s * tr->T + t0 + j] - f.v_mean) / f.v_sd;
                }
            }
            const double *lo, *vo;
            double bce, mse;
            dn_tcn_forward(f.net, f.work, f.x0, B, &lo, &vo);
            sl += dn_tcn_backward(f.net, f.work, f.yt, f.vt, vw, &bce, &mse);
            sb += bce, sm += mse;
            if (l2 && wd > 0)
                dn_tcn_l2(f.net, wd);
            dn_tcn_adam(f.net, lr_e, 0.9, 0.999, 1e-8, l2 ? 0 : wd);
        }
        o[O_CURVE_LOSS][e] = sl / steps;
        o[O_CURVE_BCE][e] = sb / steps;
        o[O_CURVE_MSE][e] = sm / steps;
        size_t n = predict(&f, va, Le);
        o[O_CURVE_VAL_AUC][e] = dn_auc(f.score, f.ytrue, n);
        o[O_CURVE_VAL_LOSS][e] = eval_loss(&f, n, vw);
        n = predict(&f, te, Le);
        o[O_CURVE_AUC][e] = dn_auc(f.score, f.ytrue, n);
        run = e + 1;
        double score = by_auc ? o[O_CURVE_VAL_AUC][e] : -o[O_CURVE_VAL_LOSS][e];
        if (score > best) {
            best = score, kept = e;
            memcpy(f.best_w, f.net->w, f.net->np * sizeof *f.best_w);
        }
        if (patience > 0 && e - kept >= patience)
            break;
    }
    for (int e = run; e < epochs; e++)
        o[O_CURVE_LOSS][e] = o[O_CURVE_BCE][e] = o[O_CURVE_MSE][e] = o[O_CURVE_AUC][e] =
            o[O_CURVE_VAL_AUC][e] = o[O_CURVE_VAL_LOSS][e] = -1; /* outputs must be finite */
    if (patience > 0) /* back to the best validation epoch's weights */
        memcpy(f.net->w, f.best_w, f.net->np * sizeof *f.best_w);
    else
        kept = run - 1;
    *o[O_EPOCH_KEPT] = kept;
    *o[O_EPOCHS_RUN] = run;
    *o[O_VAL_AUC] = o[O_CURVE_VAL_AUC][kept];
    *o[O_VAL_LOSS] = o[O_CURVE_VAL_LOSS][kept];
    size_t n = predict(&f, te, Le);
    *o[O_AUC] = dn_auc(f.score, f.ytrue, n);
    *o[O_TPR] = dn_tpr_at_fpr(f.score, f.ytrue, n, 0.0025);
    double se = 0, me = 0, mv = 0, ve = 0, vv = 0;
    for (size_t i = 0; i < n; i++)
        me += f.vpred[i] - f.vtrue[i], mv += f.vtrue[i];
    me /= (double)n, mv /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = f.vpred[i] - f.vtrue[i];
        se += e * e, ve += (e - me) * (e - me), vv += (f.vtrue[i] - mv) * (f.vtrue[i] - mv);
    }
    *o[O_RMSE] = sqrt(se / (double)n);
    *o[O_EV] = vv > 0 ? 1 - ve / vv : 0;
    *o[O_RATE_TRAIN] = dn_data_rate(tr);
    *o[O_RATE_TEST] = dn_data_rate(te);
    *o[O_RATE_REF] = data.rate_ref;
    *o[O_RATE_CAL] = data.rate_cal;
    *o[O_SCALE] = data.scale;
    *o[O_EXC] = data.exc;
    *o[O_NCOMP] = comp_count(p);
    *o[O_NIN] = tr->nin;
    *o[O_RF] = rf;
    *o[O_NPARAMS] = (double)f.net->np;
    fit_free(&f);
done:
    if (!cached)
        slot_free(&data);
    return rc;
}

const nm_kernel nm_kernel_dendnet = {
    .name = "dendnet",
    .version = "2", /* 2: validation set, early stopping, weight decay, lr_decay */
    .doc = "how deep a TCN must be to mimic a neuron (Beniaguev, Segev, London 2021): branched "
           "passive tree with AMPA/NMDA/GABA_A synapses, nmda vs ampa vs lif",
    .params = params,
    .nparams = NPARAMS,
    .outputs = outputs,
    .noutputs = NOUTPUTS,
    .cost = dd_cost,
    .check = dd_check,
    .run = dd_run,
    .prepare = dd_prepare,
    .release = dd_release,
};

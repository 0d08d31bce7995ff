/* urbanczik.c: the `urbanczik` kernel, learning by dendritic prediction of
 * somatic spiking (R. Urbanczik and W. Senn, "Learning by the dendritic
 * prediction of somatic spiking", Neuron 81, 2014).
 *
 * One two-compartment neuron (urbanczik.h; defaults those of NEST's
 * pp_cond_exp_mc_urbanczik and urbanczik_synapse) with plastic synapses on
 * its dendrite.
 *
 * Task `teacher` (NEST's urbanczik_synapse_example, the paper's Fig. 1): each
 * of n_inputs dendritic synapses receives a frozen Poisson train of
 * input_rate over a pattern of pattern_ms, and the pattern is repeated
 * reps_before + reps_teach + reps_after times. During the reps_teach middle
 * repetitions a teacher adds to the somatic conductances in every step
 *   dgE = (teach_gE_amp sin(2 pi teach_freq t) + teach_gE_offset) dt,  dgI = teach_gI dt,
 * which nudges U towards the matching potential U_M = (gE E_ex + gI E_in) /
 * (gE + gI). U_M of the outputs is always that of the teacher's conductances
 * (computed also while they are not applied, from long before t = 0, so
 * that it is in its steady state), so that V* can be compared with the target
 * before and after teaching. Learning shows as V* following U_M.
 *
 * Task `rates`: n_patterns patterns of input rates, U[0, 2 input_rate) per
 * input, each shown for pattern_ms per repetition (in order), with fresh
 * Poisson spikes every time; a teacher neuron of the same kind with fixed
 * weights w* U[0, 2 teach_w) receives the same spikes, and while teaching the
 * student's somatic conductances are set at the end of every step to a total
 * of teach_g split so that U_M equals the teacher's V*. If V* of the student
 * equals the teacher's, so do the weights: angle and |w - w*| / |w*| measure
 * how close they come.
 *
 * Tasks `self_predict` and `mc_teacher`: the spiking microcircuit of seed
 * 004 (urbanczik_net.c, urbanczik_mc.c, parameters mc_*), whose neurons are
 * this neuron's kind; run() hands them to uz_mc_run.
 *
 * Random streams (nm_task_rng), each keyed on the parameters listed:
 *   urbanczik-input   n_inputs input_rate pattern_ms dt seed
 *                     teacher: the frozen pattern, input by input, exponential
 *                     intervals, each spike in the step its time falls in;
 *                     every condition with the same keys sees the same inputs
 *   urbanczik-rates   n_inputs n_patterns input_rate seed: the patterns' rates
 *   urbanczik-teacher n_inputs teach_w seed: the teacher neuron's weights
 *   urbanczik-rates-input  n_inputs n_patterns input_rate pattern_ms dt seed
 *                     rates: the input spikes, drawn as the run goes (so a
 *                     shorter run sees a prefix of a longer one's)
 *   urbanczik-spikes  all parameters: the somatic spike draws */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "neuromic/kernel.h"

#include "urbanczik.h"
#include "urbanczik_mc.h"

#define F NM_PARAM_FLOAT
#define I(nm, dv, lo_, hi_, dc) NM_PARAM_INT(nm, dv, lo_, hi_, "", dc)

/* dt <= 1 ms <= t_ref by the ranges below, so that dt never exceeds the
 * refractory period and a spec asking for it is refused with the rest of its
 * values, before any task runs. */
static const nm_param params[] = {
    {.name = "task", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "teacher"},
     .choices = {"teacher", "rates", "self_predict", "mc_teacher"}, .unit = "",
     .doc = "teacher: frozen pattern, sine teacher (NEST's example); rates: learn a teacher "
            "neuron's weights from patterns of input rates; self_predict: the spiking "
            "microcircuit (mc_*) learns its self-predicting state without a target; "
            "mc_teacher: the spiking microcircuit learns a teacher network's mapping"},
    /* neuron */
    F("C_m_soma", 300, 1e-3, 1e9, "pF", "somatic capacitance"),
    F("C_m_dend", 300, 1e-3, 1e9, "pF", "dendritic capacitance"),
    F("g_L_soma", 30, 1e-6, 1e9, "nS", "somatic leak conductance"),
    F("g_L_dend", 30, 1e-6, 1e9, "nS", "dendritic leak conductance"),
    F("E_L_soma", -70, -1000, 1000, "mV", "somatic leak reversal potential and initial U"),
    F("E_L_dend", -70, -1000, 1000, "mV", "dendritic leak reversal potential and initial V"),
    F("E_ex", 0, -1000, 1000, "mV", "reversal potential of the somatic excitatory conductance"),
    F("E_in", -75, -1000, 1000, "mV", "reversal potential of the somatic inhibitory conductance"),
    F("g_sp", 600, 0, 1e9, "nS", "dendrite-to-soma coupling conductance"),
    F("tau_syn_ex", 3, 1e-3, 1e6, "ms", "decay time of the somatic excitatory conductance"),
    F("tau_syn_in", 3, 1e-3, 1e6, "ms", "decay time of the somatic inhibitory conductance"),
    F("tau_syn_dend", 3, 1e-3, 1e6, "ms",
      "decay time of the dendritic synaptic current (and the PSP kernel's rise); "
      "must differ from C_m_dend/g_L_dend"),
    F("I_e", 0, -1e9, 1e9, "pA", "constant current into the soma"),
    F("phi_max", 0.15, 0, 1e3, "1/ms", "maximal firing rate"),
    F("rate_slope", 0.5, 1e-9, 1e9, "", "k of phi(U) = phi_max / (1 + k exp(beta (theta - U)))"),
    F("beta", 1.0 / 3.0, 1e-9, 1e3, "1/mV", "steepness of phi"),
    F("theta", -55, -1000, 1000, "mV", "potential of phi's midpoint (for k = 1)"),
    F("t_ref", 3, 1, 1000, "ms", "dead time after a spike (no reset); a whole number of steps"),
    /* plasticity */
    F("u_unit", 15, 1e-9, 1e9, "mV",
      "the paper's unit of voltage: h is u_unit d ln phi/du, the update u_unit C_m_dend PI"),
    F("eta", 0.17, 0, 1e9, "", "learning rate"),
    F("tau_Delta", 100, 1e-3, 1e9, "ms", "time constant of the low-pass of PI"),
    F("w0", 90, -1e9, 1e9, "pA", "initial weight of every dendritic synapse"),
    F("Wmin", 0, -1e9, 1e9, "pA", "lower weight bound"),
    F("Wmax", 1350, -1e9, 1e9, "pA", "upper weight bound"),
    {.name = "pi_dead", .type = NM_T_BOOL, .def = {.type = NM_T_BOOL, .v.b = true}, .unit = "",
     .doc = "the rule's PI also in the dead steps after a spike (NEST); false: not there"},
    F("dt", 0.1, 1e-4, 1, "ms", "time step; at most 1 ms, so never above t_ref (at least 1 ms)"),
    /* task teacher */
    I("n_inputs", 200, 0, 1000000, "dendritic synapses, each with its own input train"),
    F("input_rate", 10, 0, 1000, "Hz", "rate of each input's Poisson train"),
    F("pattern_ms", 200, 0.1, 1e6, "ms", "duration of the frozen pattern; a whole number of steps"),
    I("reps_before", 2, 0, 1000000, "repetitions of the pattern before teaching"),
    I("reps_teach", 100, 0, 1000000, "repetitions with the teacher on"),
    I("reps_after", 2, 0, 1000000, "repetitions after teaching"),
    F("teach_gE_amp", 48, 0, 1e9, "nS/ms",
      "amplitude of the sine of the teacher's excitatory conductance input (at most the offset)"),
    F("teach_gE_offset", 54, 0, 1e9, "nS/ms", "offset of the teacher's excitatory conductance input"),
    F("teach_freq", 10, 0, 1e6, "Hz", "frequency of the teacher's sine"),
    F("teach_gI", 180, 0, 1e9, "nS/ms", "the teacher's inhibitory conductance input"),
    /* task rates */
    I("n_patterns", 10, 1, 1000000, "rates: input rate patterns, each shown pattern_ms per repetition"),
    F("teach_w", 90, 0, 1e9, "pA", "rates: the teacher neuron's weights are U[0, 2 teach_w)"),
    F("teach_g", 600, 0, 1e9, "nS",
      "rates: total somatic conductance of the teacher, split so that U_M is the teacher's V*"),
    I("record_every", 5, 1, 1000000, "steps between trace samples"),
    /* task self_predict: the spiking microcircuit (urbanczik_net.c, urbanczik_mc.c); its
     * neurons spike by phi, t_ref and dt above, its traces use the dendrite's PSP kernel
     * (C_m_dend / g_L_dend, tau_syn_dend), its rules tau_Delta and pi_dead */
    I("mc_in", 30, 1, 100000, "network tasks: input neurons"),
    I("mc_hidden", 20, 1, 100000, "network tasks: hidden pyramidal neurons"),
    I("mc_out", 10, 1, 100000, "network tasks: output pyramidal neurons (and interneurons)"),
    F("mc_g_lk", 0.1, 0, 1e3, "1/ms", "network tasks: somatic leak conductance (rate model's units)"),
    F("mc_g_B", 1.0, 1e-9, 1e3, "1/ms", "network tasks: basal dendrite to soma conductance"),
    F("mc_g_A", 0.8, 0, 1e3, "1/ms", "network tasks: apical dendrite to soma conductance"),
    F("mc_g_D", 1.0, 1e-9, 1e3, "1/ms", "network tasks: interneuron dendrite to soma conductance"),
    F("mc_g_som", 0.8, 0, 1e3, "1/ms",
      "network tasks: nudging conductance of the interneurons toward the output neurons, "
      "and (mc_teacher) of the output neurons toward their targets"),
    F("mc_eta_up", 0, -1e6, 1e6, "1/ms", "network tasks: forward learning rate, hidden layer"),
    F("mc_eta_up_out", 0, -1e6, 1e6, "1/ms", "network tasks: forward learning rate, output layer"),
    F("mc_eta_IP", 0.002375, -1e6, 1e6, "1/ms", "network tasks: pyramidal -> interneuron rate"),
    F("mc_eta_PI", 0.005, -1e6, 1e6, "1/ms", "network tasks: interneuron -> pyramidal rate"),
    F("mc_w_init", 1.0, 0, 1e6, "", "network tasks: initial weights U(-mc_w_init, mc_w_init)"),
    {.name = "mc_init", .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = "random"},
     .choices = {"random", "self_predicting"}, .unit = "",
     .doc = "network tasks: lateral weights random, or the rate model's self-predicting state"},
    F("mc_t_pattern", 100, 0.1, 1e6, "ms", "network tasks: presentation time of a pattern"),
    I("mc_n_train", 500, 0, 100000000, "network tasks: training patterns, each shown once"),
    I("mc_n_test", 20, 1, 1000000, "network tasks: held-out patterns of an evaluation"),
    I("mc_n_record", 11, 2, 100000, "network tasks: evaluations (first before, last after training)"),
    I("mc_teacher_hidden", 20, 1, 100000, "mc_teacher: hidden units of the teacher network"),
    F("mc_teacher_scale1", 2, -1e6, 1e6, "",
      "mc_teacher: targets s2 W2 f(s1 W1 x), f(u) = 0.1 log(1 + e^(u - 3)); s1"),
    F("mc_teacher_scale2", 10, -1e6, 1e6, "", "mc_teacher: the teacher's output scale s2"),
};

uz_params uz_params_of(const nm_point *p)
{
    return (uz_params){
        .C_s = nm_get_f(p, "C_m_soma"), .C_d = nm_get_f(p, "C_m_dend"),
        .gL_s = nm_get_f(p, "g_L_soma"), .gL_d = nm_get_f(p, "g_L_dend"),
        .EL_s = nm_get_f(p, "E_L_soma"), .EL_d = nm_get_f(p, "E_L_dend"),
        .E_ex = nm_get_f(p, "E_ex"), .E_in = nm_get_f(p, "E_in"), .g_sp = nm_get_f(p, "g_sp"),
        .tau_ex = nm_get_f(p, "tau_syn_ex"), .tau_in = nm_get_f(p, "tau_syn_in"),
        .tau_d = nm_get_f(p, "tau_syn_dend"), .I_e = nm_get_f(p, "I_e"),
        .phi_max = nm_get_f(p, "phi_max"), .k = nm_get_f(p, "rate_slope"),
        .beta = nm_get_f(p, "beta"), .theta = nm_get_f(p, "theta"), .t_ref = nm_get_f(p, "t_ref"),
        .u_unit = nm_get_f(p, "u_unit"), .eta = nm_get_f(p, "eta"),
        .tau_Delta = nm_get_f(p, "tau_Delta"), .w_min = nm_get_f(p, "Wmin"),
        .w_max = nm_get_f(p, "Wmax"), .dt = nm_get_f(p, "dt"), .pi_dead = nm_get_b(p, "pi_dead"),
    };
}

/* Trace snapshots: the first repetition, the first and the last with the
 * teacher, the last one. */
enum { N_SNAPS = 4 };

static size_t pattern_steps(const nm_point *p)
{
    return (size_t)llround(nm_get_f(p, "pattern_ms") / nm_get_f(p, "dt"));
}

/* Steps of one repetition: one pattern (teacher), every pattern once (rates). */
static size_t rep_steps(const nm_point *p)
{
    size_t np = strcmp(nm_get_s(p, "task"), "rates") == 0 ? (size_t)nm_get_i(p, "n_patterns") : 1;
    return np * pattern_steps(p);
}

static size_t reps(const nm_point *p)
{
    return (size_t)(nm_get_i(p, "reps_before") + nm_get_i(p, "reps_teach") +
                    nm_get_i(p, "reps_after"));
}

static size_t samples(const nm_point *p)
{
    size_t every = (size_t)nm_get_i(p, "record_every");
    return (pattern_steps(p) + every - 1) / every;
}

static size_t rep_extent(const nm_point *p, int d)
{
    (void)d;
    return reps(p);
}

static size_t rep_input_extent(const nm_point *p, int d)
{
    return d == 0 ? reps(p) : (size_t)nm_get_i(p, "n_inputs");
}

static size_t input_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i(p, "n_inputs");
}

static size_t snap_extent(const nm_point *p, int d)
{
    (void)p, (void)d;
    return N_SNAPS;
}

static size_t trace_extent(const nm_point *p, int d)
{
    return d == 0 ? N_SNAPS : samples(p);
}

static size_t sample_extent(const nm_point *p, int d)
{
    (void)d;
    return samples(p);
}

enum { O_CORR, O_RMS, O_CORR_U, O_SPIKES, O_MEAN_W, O_W_REP, O_W_FINAL, O_ANGLE, O_W_ERROR,
       O_W_TEACHER, O_SNAP_REP, O_TR_T, O_TR_U, O_TR_VSTAR, O_TR_UM, O_TR_SPIKES,
       O_MC_PATTERN, O_MC_APICAL, O_MC_APICAL_SLOW, O_MC_INTER, O_MC_RATE_HID, O_MC_RATE_OUT,
       O_MC_RATE_INH, O_MC_ANGLE_IP, O_MC_ANGLE_PI, O_MC_TEST_MSE, O_N };

static size_t record_extent(const nm_point *p, int d)
{
    (void)d;
    return (size_t)nm_get_i(p, "mc_n_record");
}

#define MC_CURVE(nm, unit_, doc_) NM_OUTPUT_ARRAY(nm, NM_O_F64, "record", record_extent, unit_, doc_)

static const nm_output outputs[] = {
    [O_CORR] = {.name = "corr", .type = NM_O_F64, .ndims = 1, .dims = {"rep"},
                .extent = rep_extent, .unit = "",
                .doc = "correlation over one repetition of V* and U_M (every step)"},
    [O_RMS] = {.name = "rms", .type = NM_O_F64, .ndims = 1, .dims = {"rep"}, .extent = rep_extent,
               .unit = "mV", .doc = "root mean square of V* - U_M over one repetition"},
    [O_CORR_U] = {.name = "corr_U", .type = NM_O_F64, .ndims = 1, .dims = {"rep"},
                  .extent = rep_extent, .unit = "",
                  .doc = "correlation over one repetition of the somatic U and U_M"},
    [O_SPIKES] = {.name = "spikes", .type = NM_O_I64, .ndims = 1, .dims = {"rep"},
                  .extent = rep_extent, .unit = "", .doc = "somatic spikes in one repetition"},
    [O_MEAN_W] = {.name = "mean_w", .type = NM_O_F64, .ndims = 1, .dims = {"rep"},
                  .extent = rep_extent, .unit = "pA",
                  .doc = "mean dendritic weight at the end of a repetition"},
    [O_W_REP] = {.name = "w_rep", .type = NM_O_F64, .ndims = 2, .dims = {"rep", "input"},
                 .extent = rep_input_extent, .unit = "pA",
                 .doc = "every weight at the end of every repetition"},
    [O_W_FINAL] = {.name = "w_final", .type = NM_O_F64, .ndims = 1, .dims = {"input"},
                   .extent = input_extent, .unit = "pA", .doc = "final weights"},
    [O_ANGLE] = {.name = "angle", .type = NM_O_F64, .ndims = 1, .dims = {"rep"},
                 .extent = rep_extent, .unit = "deg",
                 .doc = "rates: angle between the weights and the teacher's after a repetition "
                        "(-1: teacher task)"},
    [O_W_ERROR] = {.name = "w_error", .type = NM_O_F64, .ndims = 1, .dims = {"rep"},
                   .extent = rep_extent, .unit = "",
                   .doc = "rates: |w - w*| / |w*| after a repetition (-1: teacher task)"},
    [O_W_TEACHER] = {.name = "w_teacher", .type = NM_O_F64, .ndims = 1, .dims = {"input"},
                     .extent = input_extent, .unit = "pA",
                     .doc = "rates: the teacher neuron's weights w* (-1: teacher task)"},
    [O_SNAP_REP] = {.name = "snap_rep", .type = NM_O_I64, .ndims = 1, .dims = {"snap"},
                    .extent = snap_extent, .unit = "",
                    .doc = "repetition of each trace snapshot: first, first and last taught, last"},
    [O_TR_T] = {.name = "trace_t", .type = NM_O_F64, .ndims = 1, .dims = {"sample"},
                .extent = sample_extent, .unit = "ms",
                .doc = "time of each trace sample from the start of its repetition"},
    [O_TR_U] = {.name = "trace_U", .type = NM_O_F64, .ndims = 2, .dims = {"snap", "sample"},
                .extent = trace_extent, .unit = "mV",
                .doc = "somatic potential every record_every steps of a snapshot repetition"},
    [O_TR_VSTAR] = {.name = "trace_Vstar", .type = NM_O_F64, .ndims = 2,
                    .dims = {"snap", "sample"}, .extent = trace_extent, .unit = "mV",
                    .doc = "dendritic prediction V*, sampled as trace_U"},
    [O_TR_UM] = {.name = "trace_UM", .type = NM_O_F64, .ndims = 2, .dims = {"snap", "sample"},
                 .extent = trace_extent, .unit = "mV",
                 .doc = "the teacher's matching potential U_M, sampled as trace_U"},
    [O_TR_SPIKES] = {.name = "trace_spikes", .type = NM_O_I64, .ndims = 2,
                     .dims = {"snap", "sample"}, .extent = trace_extent, .unit = "",
                     .doc = "somatic spikes in the record_every steps ending at each sample"},
    /* the network tasks self_predict and mc_teacher (-1 in the other tasks, and theirs
     * -1 in these) */
    [O_MC_PATTERN] = NM_OUTPUT_ARRAY("mc_pattern", NM_O_I64, "record", record_extent, "",
                                     "network tasks: training patterns before each evaluation"),
    [O_MC_APICAL] = MC_CURVE("mc_apical_error", "",
                             "network tasks: mean squared apical potential over an evaluation "
                             "(the rate kernel's apical_error)"),
    [O_MC_APICAL_SLOW] = MC_CURVE("mc_apical_slow", "",
                                  "network tasks: mean square of the apical potential averaged "
                                  "over each held-out pattern's second half"),
    [O_MC_INTER] = MC_CURVE("mc_interneuron_error", "",
                            "network tasks: mean squared u_I - u_out over an evaluation"),
    [O_MC_RATE_HID] = MC_CURVE("mc_rate_hidden", "Hz", "network tasks: mean rate of the hidden "
                                                        "pyramidal neurons in an evaluation"),
    [O_MC_RATE_OUT] = MC_CURVE("mc_rate_out", "Hz", "network tasks: mean rate of the output neurons"),
    [O_MC_RATE_INH] = MC_CURVE("mc_rate_inter", "Hz", "network tasks: mean rate of the interneurons"),
    [O_MC_ANGLE_IP] = MC_CURVE("mc_angle_ip_up", "deg",
                               "network tasks: angle between W_IP and W_up of the output layer"),
    [O_MC_ANGLE_PI] = MC_CURVE("mc_angle_pi_down", "deg",
                               "network tasks: angle between W_PI and -W_down"),
    [O_MC_TEST_MSE] = MC_CURVE("mc_test_mse", "",
                               "mc_teacher: mean squared difference of the output potentials "
                               "(averaged over each pattern's second half) from the targets"),
};

/* The spiking microcircuit's tasks. */
static bool net_task(const nm_point *p)
{
    const char *task = nm_get_s(p, "task");
    return !strcmp(task, "self_predict") || !strcmp(task, "mc_teacher");
}

/* Every output of res to -1 (the quantities a task does not have). */
static void fill_absent(const nm_point *p, nm_result *res, int from, int to)
{
    for (int k = from; k < to; k++) {
        const nm_output *o = &outputs[k];
        size_t n = 1;
        for (int d = 0; d < o->ndims; d++)
            n *= o->extent(p, d);
        for (size_t i = 0; i < n; i++)
            if (o->type == NM_O_I64)
                ((int64_t *)res->out[k])[i] = -1;
            else
                ((double *)res->out[k])[i] = -1.0;
    }
}

/* Relative run time: every step touches every synapse once (twice in rates:
 * the teacher neuron too). */
static double uz_cost(const nm_point *p)
{
    if (net_task(p))
        return uz_mc_cost(p);
    double per = strcmp(nm_get_s(p, "task"), "rates") == 0 ? 2.0 : 1.0;
    return (double)reps(p) * (double)rep_steps(p) * (per * (double)nm_get_i(p, "n_inputs") + 20.0);
}

/* A frozen pattern: the synapse indices of each step, steps in order. */
typedef struct {
    size_t steps;
    size_t *start; /* steps + 1 offsets into syn */
    uint32_t *syn;
} uz_pattern;

static void pattern_free(uz_pattern *pt)
{
    free(pt->start);
    free(pt->syn);
}

/* Input by input, exponential intervals of mean 1/rate from t = 0; a spike at
 * time t belongs to step floor(t/dt) and arrives at that step's end. */
static int pattern_make(uz_pattern *pt, size_t n, double rate_hz, double dt, size_t steps,
                        gsl_rng *r)
{
    pt->steps = steps;
    pt->start = calloc(steps + 1, sizeof *pt->start);
    size_t cap = 64, len = 0;
    size_t *at = malloc(cap * sizeof *at);
    uint32_t *who = malloc(cap * sizeof *who);
    if (!pt->start || !at || !who)
        goto oom;
    double mean_isi = rate_hz > 0 ? 1000.0 / rate_hz : 0, T = (double)steps * dt;
    for (size_t i = 0; i < n && rate_hz > 0; i++)
        for (double t = gsl_ran_exponential(r, mean_isi); t < T;
             t += gsl_ran_exponential(r, mean_isi)) {
            if (len == cap) {
                cap *= 2;
                size_t *a2 = realloc(at, cap * sizeof *at);
                if (a2)
                    at = a2;
                uint32_t *w2 = realloc(who, cap * sizeof *who);
                if (w2)
                    who = w2;
                if (!a2 || !w2)
                    goto oom;
            }
            size_t s = (size_t)(t / dt);
            at[len] = s < steps ? s : steps - 1;
            who[len++] = (uint32_t)i;
        }
    /* Counting sort by step, stable (inputs in order within a step). */
    for (size_t q = 0; q < len; q++)
        pt->start[at[q] + 1]++;
    for (size_t s = 0; s < steps; s++)
        pt->start[s + 1] += pt->start[s];
    pt->syn = malloc((len ? len : 1) * sizeof *pt->syn);
    if (!pt->syn)
        goto oom;
    size_t *fill = at; /* reuse: at[q] becomes the slot of spike q */
    for (size_t q = 0; q < len; q++)
        fill[q] = pt->start[at[q]]++;
    for (size_t s = steps; s > 0; s--) /* undo the advance of the offsets */
        pt->start[s] = pt->start[s - 1];
    pt->start[0] = 0;
    for (size_t q = 0; q < len; q++)
        pt->syn[fill[q]] = who[q];
    free(at);
    free(who);
    return 0;
oom:
    free(at);
    free(who);
    pattern_free(pt);
    return -1;
}

/* Pearson correlation and RMS difference of two series. */
static void compare_series(const double *a, const double *b, size_t n, double *corr, double *rms)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    double saa = 0, sbb = 0, sab = 0, sdd = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i] - ma, y = b[i] - mb, d = a[i] - b[i];
        saa += x * x, sbb += y * y, sab += x * y, sdd += d * d;
    }
    /* A flat series has no correlation; 0 keeps the output finite. */
    *corr = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0.0;
    *rms = sqrt(sdd / (double)n);
}

/* The teacher's conductance inputs of the step ending at time t (ms). */
static void teacher_input(const nm_point *p, double t, double dt, double *dgE, double *dgI)
{
    double f = nm_get_f(p, "teach_freq") * 1e-3;
    *dgE = (nm_get_f(p, "teach_gE_amp") * sin(2 * M_PI * f * t) + nm_get_f(p, "teach_gE_offset")) * dt;
    *dgI = nm_get_f(p, "teach_gI") * dt;
}

static const char *const input_deps[] = {"n_inputs", "input_rate", "pattern_ms", "dt", "seed", NULL};
static const char *const rate_deps[] = {"n_inputs", "n_patterns", "input_rate", "seed", NULL};
static const char *const rates_input_deps[] = {"n_inputs", "n_patterns", "input_rate",
                                               "pattern_ms", "dt", "seed", NULL};
static const char *const teacher_w_deps[] = {"n_inputs", "teach_w", "seed", NULL};

/* Where a task's input comes from. */
typedef struct {
    bool rates;
    size_t n, pat_steps;
    /* teacher: the frozen pattern, and the teacher's conductances as they
     * would be without the neuron (they define U_M) */
    uz_pattern pt;
    double sE, sI;
    /* rates: the teacher neuron (fixed weights w*), the patterns' rates, the
     * time of each input's next spike (in steps from the pattern's start),
     * this step's spiking inputs */
    uz_neuron *tnr;
    double *rate, *next;
    uint32_t *syn;
    gsl_rng *rin;
    double g_teach;
} uz_source;

static void source_free(uz_source *src)
{
    pattern_free(&src->pt);
    uz_neuron_free(src->tnr);
    free(src->rate);
    free(src->next);
    free(src->syn);
}

static int source_make(uz_source *src, const nm_point *p, nm_task *t, const uz_params *up)
{
    src->n = (size_t)nm_get_i(p, "n_inputs");
    src->pat_steps = pattern_steps(p);
    double rate = nm_get_f(p, "input_rate");
    if (!src->rates) {
        gsl_rng *rin = nm_task_rng(t, "urbanczik-input", input_deps);
        if (!rin)
            return -1;
        /* From 20 decay times before t = 0, so that U_M starts in its steady state. */
        double tau_max = up->tau_ex > up->tau_in ? up->tau_ex : up->tau_in;
        long warm = (long)ceil(20 * tau_max / up->dt);
        double aE = exp(-up->dt / up->tau_ex), aI = exp(-up->dt / up->tau_in);
        for (long q = -warm; q < 0; q++) {
            double dgE, dgI;
            teacher_input(p, (double)(q + 1) * up->dt, up->dt, &dgE, &dgI);
            src->sE = src->sE * aE + dgE;
            src->sI = src->sI * aI + dgI;
        }
        return pattern_make(&src->pt, src->n, rate, up->dt, src->pat_steps, rin);
    }
    size_t np = (size_t)nm_get_i(p, "n_patterns"), m = src->n ? src->n : 1;
    gsl_rng *rr = nm_task_rng(t, "urbanczik-rates", rate_deps);
    gsl_rng *rw = nm_task_rng(t, "urbanczik-teacher", teacher_w_deps);
    src->rin = nm_task_rng(t, "urbanczik-rates-input", rates_input_deps);
    uz_params tp = *up;
    tp.eta = 0; /* the teacher does not learn */
    src->tnr = uz_neuron_alloc(&tp, src->n, 0);
    src->rate = malloc(np * m * sizeof *src->rate);
    src->next = malloc(m * sizeof *src->next);
    src->syn = malloc(m * 8 * sizeof *src->syn);
    if (!rr || !rw || !src->rin || !src->tnr || !src->rate || !src->next || !src->syn)
        return -1;
    /* Rates U[0, 2 input_rate) per pattern and input; w* U[0, 2 teach_w). */
    for (size_t q = 0; q < np * src->n; q++)
        src->rate[q] = 2 * rate * gsl_rng_uniform(rr);
    double tw = nm_get_f(p, "teach_w");
    for (size_t i = 0; i < src->n; i++)
        src->tnr->w[i] = 2 * tw * gsl_rng_uniform(rw);
    src->g_teach = nm_get_f(p, "teach_g");
    return 0;
}

/* The input of step `step` of a repetition (0-based) for the student nr,
 * which has just been integrated over the step; *um is the matching potential
 * of the step's end. */
static void source_step(uz_source *src, const nm_point *p, const uz_params *up, uz_neuron *nr,
                        size_t rep_steps, size_t rep, size_t step, bool teach, uz_input *in,
                        double *um)
{
    if (!src->rates) {
        size_t k = step % src->pat_steps;
        double dgE, dgI;
        teacher_input(p, ((double)(rep * rep_steps + step) + 1.0) * up->dt, up->dt, &dgE, &dgI);
        src->sE = src->sE * nr->aE + dgE;
        src->sI = src->sI * nr->aI + dgI;
        *um = uz_matching(up, src->sE, src->sI);
        *in = (uz_input){.syn = src->pt.syn + src->pt.start[k],
                         .nsyn = src->pt.start[k + 1] - src->pt.start[k],
                         .dgE = teach ? dgE : 0, .dgI = teach ? dgI : 0};
        return;
    }
    size_t k = step % src->pat_steps, pat = step / src->pat_steps, m = 0;
    const double *r = src->rate + pat * src->n;
    if (k == 0) /* a new pattern: fresh intervals at its rates (Poisson: memoryless) */
        for (size_t i = 0; i < src->n; i++)
            src->next[i] = r[i] > 0 ? gsl_ran_exponential(src->rin, 1e3 / (r[i] * up->dt))
                                    : INFINITY;
    /* A spike at time x (steps) belongs to step floor(x), at most 8 per input. */
    for (size_t i = 0; i < src->n; i++)
        for (int c = 0; src->next[i] < (double)(k + 1); c++) {
            if (c < 8)
                src->syn[m++] = (uint32_t)i;
            src->next[i] += gsl_ran_exponential(src->rin, 1e3 / (r[i] * up->dt));
        }
    uz_input tin = {.syn = src->syn, .nsyn = m};
    uz_neuron_integrate(src->tnr);
    uz_neuron_receive(src->tnr, &tin);
    *um = uz_vstar(up, src->tnr->V);
    *in = tin;
    if (teach) { /* conductances set, at the step's end, to total g_teach with U_M = V*_teacher */
        double gE = src->g_teach * (*um - up->E_in) / (up->E_ex - up->E_in);
        gE = gE < 0 ? 0 : gE > src->g_teach ? src->g_teach : gE;
        in->dgE = gE - nr->gE;
        in->dgI = (src->g_teach - gE) - nr->gI;
    }
}

typedef struct {
    uz_source src;
    uz_neuron *nr;
    double *vs, *um, *u; /* one repetition of V*, U_M, U */
} uz_run_state;

static void run_state_free(uz_run_state *s)
{
    source_free(&s->src);
    uz_neuron_free(s->nr);
    free(s->vs);
    free(s->um);
    free(s->u);
}

/* Combinations of parameters the ranges cannot express. The engine calls
 * it for every grid point before any rank computes (a bad point is exit 2
 * with its axis values); run() asks again for callers that skip the engine. */
static bool uz_check(const nm_point *p, char *why, size_t len)
{
    uz_params up = uz_params_of(p);
    const char *bad = uz_params_invalid(&up);
    double steps = nm_get_f(p, "pattern_ms") / up.dt;
    if (bad)
        snprintf(why, len, "%s", bad);
    else if (fabs(steps - round(steps)) > 1e-9 * steps)
        snprintf(why, len, "pattern_ms = %g is not a whole number of steps dt = %g",
                 nm_get_f(p, "pattern_ms"), up.dt);
    else if (nm_get_f(p, "teach_gE_amp") > nm_get_f(p, "teach_gE_offset"))
        snprintf(why, len, "teach_gE_amp must not exceed teach_gE_offset (the excitatory "
                           "conductance would go negative)");
    else if (reps(p) == 0)
        snprintf(why, len, "reps_before + reps_teach + reps_after must be >= 1");
    else if (net_task(p) && !(up.phi_max > 0))
        snprintf(why, len, "the network tasks need phi_max > 0 (the traces are rates in its units)");
    else if (net_task(p) && !(nm_get_f(p, "mc_t_pattern") >= 2 * up.dt))
        snprintf(why, len, "mc_t_pattern = %g must be at least two steps dt = %g",
                 nm_get_f(p, "mc_t_pattern"), up.dt);
    else
        return true;
    return false;
}

static int check_point(const nm_point *p, nm_task *t)
{
    char why[NM_ERR_MSG];
    return uz_check(p, why, sizeof why) ? 0 : nm_task_fail(t, "urbanczik: %s", why);
}

/* Repetition of each snapshot. */
static void snap_reps(const nm_point *p, int64_t *out)
{
    int64_t b = nm_get_i(p, "reps_before"), k = nm_get_i(p, "reps_teach");
    int64_t last = (int64_t)reps(p) - 1;
    int64_t want[N_SNAPS] = {0, b, b + k - 1, last};
    for (int q = 0; q < N_SNAPS; q++)
        out[q] = want[q] < 0 ? 0 : want[q] > last ? last : want[q];
}

/* Angle (degrees) between w and w*, and |w - w*| / |w*|. */
static void weight_match(const double *w, const double *ws, size_t n, double *angle, double *err)
{
    double ss = 0, dd = 0;
    for (size_t i = 0; i < n; i++)
        ss += ws[i] * ws[i], dd += (w[i] - ws[i]) * (w[i] - ws[i]);
    *angle = uz_angle(w, ws, n, 1.0);
    *err = ss > 0 ? sqrt(dd / ss) : 0.0;
}

/* Both tasks: repetitions without, with and again without the teacher; a
 * repetition is one pattern (teacher) or every pattern once in order (rates). */
static int uz_run(const nm_point *p, nm_task *t, nm_result *res)
{
    uz_params up = uz_params_of(p);
    int rc = check_point(p, t);
    if (rc)
        return rc;
    if (net_task(p)) {
        fill_absent(p, res, 0, O_MC_PATTERN);
        uz_mc_out o = {.pattern = res->out[O_MC_PATTERN], .apical = res->out[O_MC_APICAL],
                       .apical_slow = res->out[O_MC_APICAL_SLOW], .inter = res->out[O_MC_INTER],
                       .rate_hid = res->out[O_MC_RATE_HID], .rate_out = res->out[O_MC_RATE_OUT],
                       .rate_inh = res->out[O_MC_RATE_INH], .angle_ip = res->out[O_MC_ANGLE_IP],
                       .angle_pi = res->out[O_MC_ANGLE_PI], .test_mse = res->out[O_MC_TEST_MSE]};
        return uz_mc_run(p, t, &o);
    }
    fill_absent(p, res, O_MC_PATTERN, O_N);
    uz_run_state s = {.src.rates = strcmp(nm_get_s(p, "task"), "rates") == 0};
    size_t n = (size_t)nm_get_i(p, "n_inputs"), nrep = reps(p), pat = pattern_steps(p);
    size_t steps = rep_steps(p), every = (size_t)nm_get_i(p, "record_every"), nsamp = samples(p);
    int64_t b = nm_get_i(p, "reps_before"), k = nm_get_i(p, "reps_teach");
    gsl_rng *rsp = nm_task_rng(t, "urbanczik-spikes", NULL);
    s.nr = uz_neuron_alloc(&up, n, nm_get_f(p, "w0"));
    s.vs = malloc(steps * sizeof *s.vs);
    s.um = malloc(steps * sizeof *s.um);
    s.u = malloc(steps * sizeof *s.u);
    if (!rsp || !s.nr || !s.vs || !s.um || !s.u || source_make(&s.src, p, t, &up)) {
        run_state_free(&s);
        return nm_task_fail(t, "urbanczik: out of memory for %zu inputs and %zu steps", n, steps);
    }

    double *corr = res->out[O_CORR], *rms = res->out[O_RMS], *corr_u = res->out[O_CORR_U];
    double *mean_w = res->out[O_MEAN_W], *w_rep = res->out[O_W_REP];
    double *angle = res->out[O_ANGLE], *w_err = res->out[O_W_ERROR];
    int64_t *spikes = res->out[O_SPIKES], *snap = res->out[O_SNAP_REP];
    double *tr_u = res->out[O_TR_U], *tr_vs = res->out[O_TR_VSTAR], *tr_um = res->out[O_TR_UM];
    int64_t *tr_sp = res->out[O_TR_SPIKES];
    memset(tr_sp, 0, N_SNAPS * nsamp * sizeof *tr_sp);
    snap_reps(p, snap);
    double *tr_t = res->out[O_TR_T];
    for (size_t j = 0; j < nsamp; j++) {
        size_t end = (j + 1) * every < pat ? (j + 1) * every : pat;
        tr_t[j] = (double)end * up.dt;
    }
    double *w_teacher = res->out[O_W_TEACHER];
    for (size_t i = 0; i < n; i++)
        w_teacher[i] = s.src.rates ? s.src.tnr->w[i] : -1.0;

    for (size_t rep = 0; rep < nrep; rep++) {
        if (nm_task_expired(t)) {
            run_state_free(&s);
            return nm_task_fail(t, "urbanczik: stopped at repetition %zu of %zu", rep, nrep);
        }
        bool teach = (int64_t)rep >= b && (int64_t)rep < b + k;
        int64_t count = 0;
        for (size_t step = 0; step < steps; step++) {
            uz_input in;
            double um;
            uz_neuron_integrate(s.nr);
            source_step(&s.src, p, &up, s.nr, steps, rep, step, teach, &in, &um);
            uz_neuron_receive(s.nr, &in);
            int sp = uz_neuron_fire(s.nr, rsp);
            uz_neuron_learn(s.nr, sp);
            count += sp;
            s.vs[step] = uz_vstar(&up, s.nr->V);
            s.um[step] = um;
            s.u[step] = s.nr->U;
            if (step < pat) /* traces: the repetition's first pattern */
                for (int q = 0; q < N_SNAPS; q++)
                    if ((size_t)snap[q] == rep) {
                        size_t j = q * nsamp + step / every;
                        tr_sp[j] += sp;
                        if ((step + 1) % every == 0 || step + 1 == pat) {
                            tr_u[j] = s.u[step];
                            tr_vs[j] = s.vs[step];
                            tr_um[j] = s.um[step];
                        }
                    }
        }
        double unused;
        compare_series(s.vs, s.um, steps, &corr[rep], &rms[rep]);
        compare_series(s.u, s.um, steps, &corr_u[rep], &unused);
        spikes[rep] = count;
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += (w_rep[rep * n + i] = s.nr->w[i]);
        mean_w[rep] = n ? sum / (double)n : 0.0;
        if (s.src.rates)
            weight_match(s.nr->w, s.src.tnr->w, n, &angle[rep], &w_err[rep]);
        else
            angle[rep] = w_err[rep] = -1.0;
    }
    memcpy(res->out[O_W_FINAL], s.nr->w, n * sizeof *s.nr->w);
    run_state_free(&s);
    return 0;
}

const nm_kernel nm_kernel_urbanczik = {
    .name = "urbanczik",
    .version = "2",
    .doc = "spiking dendritic prediction learning (Urbanczik & Senn 2014): two-compartment "
           "Poisson neuron; tasks teacher (NEST's example, Fig. 1) and rates; self_predict: the "
           "spiking microcircuit (Gille)",
    .params = params,
    .nparams = sizeof params / sizeof params[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .cost = uz_cost,
    .check = uz_check,
    .run = uz_run,
};

/* urbanczik_mc.h: the `urbanczik` kernel's network task (urbanczik_mc.c),
 * called by its run() in urbanczik.c. */
#ifndef NEUROMIC_URBANCZIK_MC_H
#define NEUROMIC_URBANCZIK_MC_H

#include <stdint.h>

#include "neuromic/kernel.h"

#include "urbanczik.h"

/* The network task's outputs, each of extent mc_n_record (dimension
 * "record"); a quantity the task does not have is -1. */
typedef struct {
    int64_t *pattern;
    double *apical, *apical_slow, *inter, *test_mse;
    double *rate_hid, *rate_out, *rate_inh, *angle_ip, *angle_pi;
} uz_mc_out;

/* The single neuron's parameters of a point (urbanczik.c). */
uz_params uz_params_of(const nm_point *p);

/* Task `self_predict` (no target) or `mc_teacher` (targets of a teacher
 * network): trains the spiking microcircuit and evaluates it at mc_n_record
 * points. 0, or the result of nm_task_fail. */
int uz_mc_run(const nm_point *p, nm_task *t, const uz_mc_out *o);
/* Relative cost of the point's network task. */
double uz_mc_cost(const nm_point *p);

#endif

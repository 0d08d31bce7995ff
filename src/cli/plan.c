/* plan.c: `neuromic plan SPEC`, what a sweep would run, without MPI. */
#include <stdio.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/report.h"
#include "neuromic/internal/spec.h"

static void print_values(const nm_axis *ax, size_t j)
{
    size_t show = ax->len <= 8 ? ax->len : 6;
    for (size_t i = 0; i < show; i++) {
        char v[64];
        nm_value_format(&ax->values[j][i], v, sizeof v);
        printf("%s%s", i ? ", " : "", v);
    }
    if (show < ax->len) {
        char v[64];
        nm_value_format(&ax->values[j][ax->len - 1], v, sizeof v);
        printf(", ..., %s", v);
    }
}

/* --calibrate N [--ranks R] [--time T]: calibrate.c. */
static nm_status calibrate(const nm_sweep *sw, const nm_sweep_opts *o)
{
    nm_calibration c;
    nm_err err = {0};
    if (nm_calibrate(sw, o->calibrate, &c, &err) != NM_OK) {
        fprintf(stderr, "neuromic: calibration: %s\n", err.msg);
        return err.code;
    }
    long warn = o->time_limit / 4 > 300 ? 300 : o->time_limit / 4; /* as submit's default */
    nm_calibrate_report(&c, o->ranks ? o->ranks : 1, o->time_limit, warn, 10, stdout);
    return NM_OK;
}

static int plan(int argc, char **argv, const nm_sweep_opts *o)
{
    nm_err err = {0};
    nm_sweep *sw;
    if (nm_spec_load(o->spec, o->sets, o->nsets, &sw, &err) != NM_OK) {
        fprintf(stderr, "neuromic: %s\n", err.msg);
        return err.code;
    }
    const nm_kernel *k = sw->kernel;
    printf("spec:       %s (sha256 %.16s...)\n", sw->path, sw->sha256);
    printf("kernel:     %s (version %s): %s\n", k->name, k->version, k->doc);
    printf("base seed:  %llu\ncheckpoint: every %g s\n", (unsigned long long)sw->base_seed,
           sw->checkpoint_every);
    printf("axes (%zu):\n", sw->naxes);
    for (size_t a = 0; a < sw->naxes; a++) {
        const nm_axis *ax = &sw->axes[a];
        if (ax->sample) {
            nm_plan_design(sw, ax); /* plan_design.c */
            continue;
        }
        for (size_t j = 0; j < ax->nparams; j++) {
            const nm_param *p = nm_kernel_param(k, (size_t)ax->param[j]);
            printf("  %-14s %-6s %5zu values%s: ", p->name, nm_type_name(p->type), ax->len,
                   j ? " (zipped)" : "");
            print_values(ax, j);
            printf("\n");
        }
    }
    printf("fixed:\n");
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++) {
        if (nm_grid_axis_of(sw, (int)i) >= 0)
            continue;
        char v[64];
        nm_value_format(&sw->fixed[i], v, sizeof v);
        printf("  %-14s = %s\n", nm_kernel_param(k, i)->name, v);
    }
    printf("outputs:\n");
    for (size_t i = 0; i < k->noutputs; i++) {
        const nm_output *out = &k->outputs[i];
        printf("  %-14s (", out->name);
        for (int d = 0; d < out->ndims; d++)
            printf("%s%s=%zu", d ? ", " : "", out->dims[d], sw->layout[i].ext[d]);
        printf(")\n");
    }
    printf("tasks:      %llu\n", (unsigned long long)sw->ntasks);
    double sum, max;
    uint64_t seen = nm_grid_cost_estimate(sw, &sum, &max);
    if (seen == sw->ntasks)
        printf("cost:       %.4g in all (relative units), mean %.4g, longest %.4g per task\n", sum,
               sum / (double)sw->ntasks, max);
    else if (seen)
        printf("cost:       about %.4g in all (relative units), mean %.4g, longest seen %.4g per "
               "task (estimated from %llu tasks drawn at random)\n", sum, sum / (double)sw->ntasks,
               max, (unsigned long long)seen);
    else
        printf("cost:       no estimate (kernel '%s' has none; tasks assumed equal)\n", k->name);
    if (o->calibrate && calibrate(sw, o) != NM_OK) {
        nm_sweep_free(sw);
        return NM_ERR_RUNTIME;
    }
    uint64_t show = (uint64_t)o->tasks < sw->ntasks ? (uint64_t)o->tasks : sw->ntasks;
    printf("first %llu tasks:\n", (unsigned long long)show);
    for (uint64_t t = 0; t < show; t++) {
        char buf[1024];
        nm_grid_point_text(sw, t, buf, sizeof buf);
        printf("  %6llu  %s\n", (unsigned long long)t, *buf ? buf : "(no axes)");
    }
    nm_sweep_free(sw);
    return 0;
}

int nm_cmd_plan(int argc, char **argv) { return nm_sweep_cmd(argc, argv, plan); }

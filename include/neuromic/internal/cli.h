/* cli.h: the commands of the `neuromic` program (src/cli/) and the one
 * option parser they share.
 *
 * main() only dispatches: each command parses its own arguments with
 * nm_opts_parse, does its work, and returns the process exit status (the
 * nm_status codes of error.h). */
#ifndef NEUROMIC_CLI_H
#define NEUROMIC_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>
#include <stdio.h>

#include "neuromic/error.h"
#include "neuromic/internal/grid.h"

/* One option of a command: its name ("--output"), an optional short alias
 * ("-o"), whether it takes a value (the next argument), and an id passed to
 * the command's handler. */
typedef struct {
    const char *name, *alias;
    bool value;
    int id;
} nm_opt;

/* Called once per option, in command-line order, with the option's value
 * (NULL when it takes none), and once per positional argument with
 * o == NULL. Returns NM_OK or an error (which stops the parse). */
typedef nm_status (*nm_opt_fn)(void *ctx, const nm_opt *o, const char *arg, nm_err *err);

/* Walks argv[first..argc). An argument starting with '-' (other than "-"
 * alone) must be in opts: "X: unknown option" otherwise, "X: missing its
 * value" when a valued option ends the line. Errors are NM_ERR_INPUT. */
nm_status nm_opts_parse(int argc, char **argv, int first, const nm_opt *opts, size_t nopts,
                        nm_opt_fn fn, void *ctx, nm_err *err);

/* A non-negative finite number (seconds, counts) for option `opt`. */
nm_status nm_opt_number(const char *opt, const char *arg, double *out, nm_err *err);

/* Options of `plan` and `run`. */
typedef struct {
    const char *spec, *output;
    char **sets; /* the --set values in order (owned array, borrowed strings) */
    size_t nsets;
    bool force, quiet, resume, retry_failed, repair;
    bool strict; /* --resume: refuse when SPEC differs from the text stored in FILE */
    double progress, task_timeout; /* task_timeout < 0: the spec's */
    long tasks;                    /* plan: how many tasks to list */
    long calibrate, ranks, time_limit; /* plan: --calibrate N, --ranks R, --time T (seconds) */
} nm_sweep_opts;

nm_status nm_sweep_opts_parse(int argc, char **argv, int first, nm_sweep_opts *o, nm_err *err);
void nm_sweep_opts_free(nm_sweep_opts *o);
/* Parses the options of plan or run (argv[1]) and calls fn with them;
 * a bad command line is exit status 2 with the message and a hint. */
int nm_sweep_cmd(int argc, char **argv,
                 int (*fn)(int argc, char **argv, const nm_sweep_opts *o));

/* `plan`'s lines for the axis of a sampling design: method, ranges,
 * coverage (src/cli/plan_design.c). */
void nm_plan_design(const nm_sweep *sw, const nm_axis *ax);

/* The commands (argv[1] is the command's name). */
int nm_cmd_kernels(int argc, char **argv);  /* src/cli/describe.c */
int nm_cmd_describe(int argc, char **argv); /* src/cli/describe.c */
int nm_cmd_plan(int argc, char **argv);     /* src/cli/plan.c */
int nm_cmd_run(int argc, char **argv);      /* src/cli/run.c */
int nm_submit_main(int argc, char **argv);  /* src/cli/submit.c */
int nm_cmd_merge(int argc, char **argv);    /* src/cli/merge.c */
int nm_cmd_status(int argc, char **argv);   /* src/cli/status.c */

/* --calibrate N of plan and submit (src/cli/calibrate.c): N of the sweep's
 * tasks, spread over the task ids, run here one after another. */
typedef struct {
    uint64_t ran, failed;
    double seconds, longest; /* wall time of the tasks run, and of the longest */
    double per_cost;         /* seconds per unit of the kernel's cost (per task without one) */
    double total, longest_est; /* the whole sweep's and its longest task's seconds, estimated */
} nm_calibration;
nm_status nm_calibrate(const nm_sweep *sw, long n, nm_calibration *c, nm_err *err);
/* Prints the calibration and the estimate on `ranks` ranks to f; given a
 * time limit (seconds; 0: none), warns when the work per rank needs more
 * than one job run (the limit less `warn` and a minute of slack), with the
 * requeue overhead. Returns 1 when it warned. */
int nm_calibrate_report(const nm_calibration *c, long ranks, long limit, long warn,
                        long max_requeues, FILE *f);

#endif

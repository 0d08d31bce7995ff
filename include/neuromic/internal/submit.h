/* submit.h: `neuromic submit`, a sweep handed to Slurm.
 *
 *   neuromic submit SPEC -o FILE [--nodes N] [--ntasks-per-node N] [--time T]
 *                   [--partition P] [--account A] [--warn SEC] [--dry-run]
 *                   [--set K=V]... [--task-timeout SEC] [--force | --retry-failed]
 *                   [--sbatch ARG]... [--test-only] [--strict] [--calibrate N]
 *
 * It checks the spec, prints the sweep's size and cost estimate, renders
 * jobscripts/slurm/neuromic.sbatch (compiled into the program) with the
 * #SBATCH lines set from the options and the sweep's arguments filled in,
 * and pipes it to sbatch (or prints it with --dry-run). The job script does
 * the rest: warning signal, checkpoint, requeue, --resume. */
#ifndef NEUROMIC_SUBMIT_H
#define NEUROMIC_SUBMIT_H

#include <stdbool.h>

#include "neuromic/error.h"

typedef struct {
    const char *spec, *output;
    const char *partition, *account; /* NULL: the cluster's default */
    long nodes, ntasks_per_node;     /* 0: the script's default */
    long time_limit;                 /* seconds; 0: the script's default (1 h) */
    long warn;                       /* seconds before the limit; 0: chosen from time_limit */
    bool dry_run;
    bool test_only;  /* only `sbatch --test-only`: can the cluster run it? */
    long calibrate;  /* run this many sample tasks locally first (0: no) */
    char **sbatch;   /* --sbatch ARG values, verbatim */
    size_t nsbatch;
    char **run_args; /* passed to `neuromic run` (--set K=V, --task-timeout, ...) */
    size_t nrun_args;
    char **sets; /* the --set values alone, for checking the spec */
    size_t nsets;
} nm_submit_opts;

/* Parses argv[first..argc) into o (which owns arrays freed by
 * nm_submit_opts_free). Errors name the option and what was expected. */
nm_status nm_submit_parse(int argc, char **argv, int first, nm_submit_opts *o, nm_err *err);
void nm_submit_opts_free(nm_submit_opts *o);

/* A Slurm time limit ("MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM",
 * "D-HH:MM:SS") in seconds. */
nm_status nm_submit_parse_time(const char *s, long *seconds, nm_err *err);

/* The job script for o; `program` is the neuromic binary the job runs.
 * *script is malloc'd. */
nm_status nm_submit_render(const nm_submit_opts *o, const char *program, char **script,
                           nm_err *err);

#endif

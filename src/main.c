/* main.c: the neuromic command line, dispatch only.
 *
 *   neuromic kernels                 the kernels compiled in
 *   neuromic describe KERNEL         parameters and outputs of a kernel
 *   neuromic plan SPEC [options]     what a sweep would run (no MPI needed)
 *   neuromic run SPEC -o FILE [...]  run a sweep (under mpirun for many ranks)
 *   neuromic submit SPEC -o FILE     run a sweep as a Slurm job
 *   neuromic merge OUT IN IN...      join result files along one axis
 *   neuromic status FILE             what a result file holds (safe while it is written)
 *
 * The commands live in src/cli/. Every error reaches their end as an nm_err
 * and leaves with its exit status: 0 success, 1 runtime failure, 2 bad
 * input, 3 stopped early (resume possible), 4 finished with failed tasks. */
#include <stdio.h>
#include <string.h>

#include "buildinfo.h"
#include "neuromic/internal/cli.h"
#include "neuromic/internal/stop.h"

static const char usage[] =
    "usage: neuromic COMMAND ...\n"
    "\n"
    "  neuromic kernels                      list the kernels compiled in\n"
    "  neuromic describe KERNEL              parameters and outputs of KERNEL\n"
    "  neuromic plan SPEC [--set K=V]... [--tasks N]\n"
    "                                        axes, task count, cost estimate, first tasks\n"
    "      [--calibrate N [--ranks R] [--time T]]  and seconds per cost unit from N sample tasks\n"
    "  neuromic run SPEC -o FILE [--force | --resume [--retry-failed] [--repair] [--strict]]\n"
    "               [--set K=V]...\n"
    "               [--task-timeout SEC] [--progress SEC] [--quiet]\n"
    "                                        run the sweep; start it with mpirun for many ranks\n"
    "  neuromic submit SPEC -o FILE [--nodes N] [--ntasks-per-node N] [--time T] [--dry-run]\n"
    "                                        run the sweep as a Slurm job (jobscripts/slurm)\n"
    "  neuromic merge OUT IN IN... [--sort] [--force]\n"
    "                                        join result files whose sweeps differ in one axis\n"
    "  neuromic status FILE [--failed] [--json]\n"
    "                                        done/pending/failed tasks, runs, ETA (read-only)\n"
    "  neuromic --version | --help\n"
    "\n"
    "--set K=V overrides the spec: K is base_seed, replicates, fixed.NAME, grid.NAME,\n"
    "sample.KEY (n, skip, method, ...), output.checkpoint_every, output.task_timeout, or a\n"
    "bare parameter NAME (pins it to V); V is YAML.\n"
    "--resume continues FILE: runs the tasks still pending (with --retry-failed also the\n"
    "failed ones, with --repair also those whose results fail their checksum), with the\n"
    "spec text stored in FILE (a changed SPEC is a warning; --strict refuses it); --set\n"
    "must be as the file was made with.\n"
    "merge joins files whose sweeps differ only in one axis's values (in the order given, or\n"
    "--sort), into the file one run of the union would write.\n"
    "SIGTERM, SIGINT or SIGUSR1 stop a run cleanly (checkpoint, exit 3); a second one exits\n"
    "at once, keeping every task up to the last checkpoint.\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad input, 3 stopped early (resume\n"
    "possible), 4 finished but some tasks failed.\n";

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"kernels", nm_cmd_kernels}, {"describe", nm_cmd_describe}, {"plan", nm_cmd_plan},
    {"run", nm_cmd_run},         {"submit", nm_submit_main},
    {"merge", nm_cmd_merge},
    {"status", nm_cmd_status},
};

int main(int argc, char **argv)
{
    nm_stop_install(); /* stop.h: from the first instruction, no signal is lost */
    if (argc < 2 || strcmp(argv[1], "run") != 0)
        nm_stop_uninstall();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? NM_ERR_INPUT : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("neuromic %s (%s)\n", NM_VERSION, NM_GIT_COMMIT);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc, argv);
    fprintf(stderr, "neuromic: unknown command '%s'\n\n%s", argv[1], usage);
    return NM_ERR_INPUT;
}

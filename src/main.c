/* main.c: the neuromic command line.
 *
 *   neuromic kernels                 the kernels compiled in
 *   neuromic describe KERNEL         parameters and outputs of a kernel
 *   neuromic plan SPEC [options]     what a sweep would run (no MPI needed)
 *   neuromic run SPEC -o FILE [...]  run a sweep (under mpirun for many ranks)
 *
 * Every error reaches here as an nm_err and leaves with its exit status:
 * 0 success, 1 runtime failure, 2 bad input, 3 stopped early (resume
 * possible), 4 finished with failed tasks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "buildinfo.h"
#include "neuromic/input.h"
#include "neuromic/prov.h"
#include "neuromic/report.h"
#include "neuromic/sched.h"
#include "neuromic/spec.h"
#include "neuromic/stop.h"
#include "neuromic/store.h"
#include "neuromic/submit.h"

static const char usage[] =
    "usage: neuromic COMMAND ...\n"
    "\n"
    "  neuromic kernels                      list the kernels compiled in\n"
    "  neuromic describe KERNEL              parameters and outputs of KERNEL\n"
    "  neuromic plan SPEC [--set K=V]... [--tasks N]\n"
    "                                        axes, task count, cost estimate, first tasks\n"
    "  neuromic run SPEC -o FILE [--force | --resume [--retry-failed] [--repair]] [--set K=V]...\n"
    "               [--task-timeout SEC] [--progress SEC] [--quiet]\n"
    "                                        run the sweep; start it with mpirun for many ranks\n"
    "  neuromic submit SPEC -o FILE [--nodes N] [--ntasks-per-node N] [--time T] [--dry-run]\n"
    "                                        run the sweep as a Slurm job (jobscripts/slurm)\n"
    "  neuromic --version | --help\n"
    "\n"
    "--set K=V overrides the spec: K is base_seed, replicates, fixed.NAME, grid.NAME,\n"
    "output.checkpoint_every, output.task_timeout, or a bare parameter NAME (pins it to V);\n"
    "V is YAML.\n"
    "--resume continues FILE: runs the tasks still pending (with --retry-failed also the\n"
    "failed ones, with --repair also those whose results fail their checksum); SPEC and\n"
    "--set must be those the file was made with.\n"
    "SIGTERM, SIGINT or SIGUSR1 stop a run cleanly (checkpoint, exit 3); a second one exits\n"
    "at once, keeping every task up to the last checkpoint.\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad input, 3 stopped early (resume\n"
    "possible), 4 finished but some tasks failed.\n";

typedef struct {
    const char *spec, *output;
    char **sets;
    size_t nsets;
    bool force, quiet, resume, retry_failed, repair;
    double progress, task_timeout; /* task_timeout < 0: the spec's */
    long tasks;
} options;

static const char *type_name(nm_type t)
{
    static const char *const n[] = {"int", "float", "bool", "choice"};
    return n[t];
}

static nm_status parse_options(int argc, char **argv, int first, options *o, nm_err *err)
{
    memset(o, 0, sizeof *o);
    o->progress = 30;
    o->tasks = 5;
    o->task_timeout = -1;
    o->sets = calloc((size_t)argc, sizeof *o->sets);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && more)
            o->output = argv[++i];
        else if (!strcmp(a, "--set") && more)
            o->sets[o->nsets++] = argv[++i];
        else if (!strcmp(a, "--force"))
            o->force = true;
        else if (!strcmp(a, "--quiet"))
            o->quiet = true;
        else if (!strcmp(a, "--resume"))
            o->resume = true;
        else if (!strcmp(a, "--retry-failed"))
            o->resume = o->retry_failed = true;
        else if (!strcmp(a, "--repair"))
            o->resume = o->repair = true;
        else if ((!strcmp(a, "--progress") || !strcmp(a, "--tasks") ||
                  !strcmp(a, "--task-timeout")) && more) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || !(v >= 0) || !isfinite(v))
                return nm_err_set(err, NM_ERR_INPUT, "%s: expected a non-negative number, got '%s'",
                                  a, argv[i]);
            if (a[2] == 'p')
                o->progress = v;
            else if (!strcmp(a, "--tasks"))
                o->tasks = (long)v;
            else
                o->task_timeout = v;
        } else if (a[0] == '-' && a[1]) {
            static const char *const valued[] = {"-o",         "--output", "--set",
                                                 "--progress", "--tasks",  "--task-timeout"};
            for (size_t v = 0; v < sizeof valued / sizeof *valued; v++)
                if (!strcmp(a, valued[v]))
                    return nm_err_set(err, NM_ERR_INPUT, "%s: missing its value", a);
            return nm_err_set(err, NM_ERR_INPUT, "%s: unknown option", a);
        }
        else if (!o->spec)
            o->spec = a;
        else
            return nm_err_set(err, NM_ERR_INPUT, "unexpected argument '%s'", a);
    }
    if (!o->spec)
        return nm_err_set(err, NM_ERR_INPUT, "missing the sweep file (SPEC)");
    if (o->force && o->resume)
        return nm_err_set(err, NM_ERR_INPUT,
                          "--force (start over) and --resume (continue) exclude each other");
    return NM_OK;
}

/* ---- kernels, describe ---- */

static int cmd_kernels(void)
{
    for (size_t i = 0; i < nm_kernel_count(); i++) {
        const nm_kernel *k = nm_kernel_at(i);
        printf("%-14s v%-4s %s\n", k->name, k->version, k->doc);
    }
    return 0;
}

static int cmd_describe(const char *name)
{
    const nm_kernel *k = nm_kernel_find(name);
    if (!k) {
        fprintf(stderr, "neuromic: unknown kernel '%s'; `neuromic kernels` lists them\n", name);
        return NM_ERR_INPUT;
    }
    printf("kernel %s (version %s): %s\n\nparameters:\n", k->name, k->version, k->doc);
    printf("  %-16s %-7s %-12s %-22s %-5s %s\n", "name", "type", "default", "range", "unit", "doc");
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++) {
        const nm_param *p = nm_kernel_param(k, i);
        char def[64], range[128] = "";
        nm_value_format(&p->def, def, sizeof def);
        if (p->type == NM_T_CHOICE) {
            size_t n = 0;
            for (int c = 0; c < NM_MAX_CHOICES && p->choices[c]; c++)
                n += (size_t)snprintf(range + n, sizeof range - n, "%s%s", c ? "|" : "",
                                      p->choices[c]);
        } else if (p->type == NM_T_BOOL)
            snprintf(range, sizeof range, "true|false");
        else if (p->has_lo || p->has_hi) {
            char lo[32] = "-inf", hi[32] = "inf";
            if (p->has_lo)
                snprintf(lo, sizeof lo, "%g", p->lo);
            if (p->has_hi)
                snprintf(hi, sizeof hi, "%g", p->hi);
            snprintf(range, sizeof range, "[%s, %s]", lo, hi);
        } else
            snprintf(range, sizeof range, "any");
        printf("  %-16s %-7s %-12s %-22s %-5s %s\n", p->name, type_name(p->type), def, range,
               p->unit && *p->unit ? p->unit : "-", p->doc);
    }
    printf("\noutputs:\n");
    for (size_t i = 0; i < k->noutputs; i++) {
        const nm_output *o = &k->outputs[i];
        char shape[128] = "scalar";
        if (o->ndims) {
            size_t n = (size_t)snprintf(shape, sizeof shape, "(");
            for (int d = 0; d < o->ndims; d++)
                n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%s", d ? ", " : "",
                                      o->dims[d]);
            snprintf(shape + n, sizeof shape - n, ")");
        }
        printf("  %-16s %-7s %-20s %-5s %s\n", o->name, o->type == NM_O_F64 ? "float64" : "int64",
               shape, o->unit && *o->unit ? o->unit : "-", o->doc);
    }
    return 0;
}

/* ---- plan ---- */

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

static int cmd_plan(const options *o)
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
        for (size_t j = 0; j < ax->nparams; j++) {
            const nm_param *p = nm_kernel_param(k, (size_t)ax->param[j]);
            printf("  %-14s %-6s %5zu values%s: ", p->name, type_name(p->type), ax->len,
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
    nm_point *p = nm_point_alloc(sw);
    printf("outputs:\n");
    nm_grid_point(sw, 0, p);
    for (size_t i = 0; i < k->noutputs; i++) {
        const nm_output *out = &k->outputs[i];
        printf("  %-14s (", out->name);
        for (int d = 0; d < out->ndims; d++)
            printf("%s%s=%zu", d ? ", " : "", out->dims[d], out->extent(p, d));
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
    uint64_t show = (uint64_t)o->tasks < sw->ntasks ? (uint64_t)o->tasks : sw->ntasks;
    printf("first %llu tasks:\n", (unsigned long long)show);
    for (uint64_t t = 0; t < show; t++) {
        char buf[1024];
        nm_report_point(sw, t, buf, sizeof buf);
        printf("  %6llu  %s\n", (unsigned long long)t, *buf ? buf : "(no axes)");
    }
    nm_point_free(p);
    nm_sweep_free(sw);
    return 0;
}

/* ---- run ---- */

/* Rank 0 reads the spec; everyone parses the same bytes. */
static nm_status load_everywhere(const options *o, int rank, nm_sweep **sw, nm_err *err)
{
    long len = -1;
    char *text = NULL;
    if (rank == 0) {
        size_t n;
        if (nm_input_read_spec(o->spec, &text, &n, err) == NM_OK) /* regular files only */
            len = (long)n;
    }
    MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    if (len < 0) {
        free(text);
        return NM_ERR_INPUT;
    }
    if (rank != 0)
        text = malloc((size_t)len + 1);
    MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    text[len] = 0;
    nm_status st = nm_spec_parse(o->spec, text, (size_t)len, o->sets, o->nsets, sw, err);
    free(text);
    return st;
}

/* Agree on a status decided by rank 0, with its message. */
static nm_status bcast_status(nm_status st, nm_err *err)
{
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (code != NM_OK)
        MPI_Bcast(err->msg, NM_ERR_MSG, MPI_CHAR, 0, MPI_COMM_WORLD);
    return (nm_status)code;
}

/* ---- the output lock ---- */

/* Rank 0 holds an flock on FILE.lock for the whole run, so that a second
 * run on the same output (with --force or --resume) refuses instead of
 * writing into a file another job is writing. flock's lock dies with the
 * process, so a killed run never leaves a stale lock behind. On a file
 * system without flock (some parallel file systems, mounted without it)
 * the run goes on with a warning. */
typedef struct {
    char *path;
    int fd;
} out_lock;

static nm_status lock_output(const char *output, out_lock *lk, nm_err *err)
{
    lk->fd = -1;
    if (asprintf(&lk->path, "%s.lock", output) < 0) {
        lk->path = NULL;
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    lk->fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lk->fd < 0)
        return nm_err_set(err, NM_ERR_INPUT, "cannot create the lock file %s: %s", lk->path,
                          strerror(errno));
    if (flock(lk->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            char who[256] = "";
            ssize_t n = pread(lk->fd, who, sizeof who - 1, 0);
            who[n > 0 ? n : 0] = 0;
            who[strcspn(who, "\n")] = 0;
            close(lk->fd);
            lk->fd = -1;
            return nm_err_set(err, NM_ERR_INPUT,
                              "%s is being written by another neuromic run (%s; it holds %s); "
                              "wait for it to end or choose another output",
                              output, who[0] ? who : "unknown process", lk->path);
        }
        fprintf(stderr, "neuromic: warning: cannot lock %s (%s); make sure no other run writes "
                        "%s\n", lk->path, strerror(errno), output);
        return NM_OK;
    }
    char host[256] = "unknown", line[400];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    int n = snprintf(line, sizeof line, "host %s, pid %ld\n", host, (long)getpid());
    if (ftruncate(lk->fd, 0) != 0 || pwrite(lk->fd, line, (size_t)n, 0) != n)
        fprintf(stderr, "neuromic: warning: cannot write %s\n", lk->path);
    return NM_OK;
}

static void unlock_output(out_lock *lk)
{
    if (lk->fd >= 0) {
        unlink(lk->path); /* while still holding the lock */
        close(lk->fd);
    }
    free(lk->path);
    lk->path = NULL;
    lk->fd = -1;
}

/* ---- run ---- */

/* OpenBLAS (behind GSL's CBLAS) would start a thread per core in every
 * rank; one rank per core is the model, so it gets one thread unless the
 * user asks otherwise with OPENBLAS_NUM_THREADS. */
void openblas_set_num_threads(int n);

/* Rank 0: what this run is to do with the file. */
typedef struct {
    nm_store_info info;  /* --resume: what the file holds */
    uint64_t *todo;      /* --resume: the tasks to run */
    uint64_t ntodo;
    uint64_t failed_kept; /* failed tasks this run does not retry */
    int attempt;          /* row of /attempts for this run */
    bool fresh;           /* --resume found no file and starts the sweep */
} run_plan;

/* Rank 0: creates the file, or checks it and picks the tasks to resume. */
static nm_status prepare_output(const options *o, const nm_sweep *sw, const nm_prov *prov,
                                run_plan *rp, nm_err *err)
{
    struct stat sb;
    /* --resume of a file that does not exist starts the sweep: a run
     * stopped or killed before it had created the file left nothing to
     * continue, and the same command must still do the work. */
    if (o->resume && stat(o->output, &sb) != 0 && errno == ENOENT) {
        if (!o->quiet)
            fprintf(stderr, "neuromic: %s does not exist yet: starting the sweep\n", o->output);
        rp->fresh = true;
    }
    if (!o->resume || rp->fresh) {
        if (!o->force && !rp->fresh && stat(o->output, &sb) == 0)
            return nm_err_set(err, NM_ERR_INPUT,
                              "%s exists; pass --resume to continue it or --force to overwrite it",
                              o->output);
        rp->ntodo = sw->ntasks;
        return nm_store_create(o->output, sw, prov, o->force && !rp->fresh, err);
    }
    nm_status st = nm_store_inspect(o->output, sw, o->repair, &rp->info, err);
    if (st != NM_OK)
        return st;
    if (rp->info.damaged && !o->quiet)
        fprintf(stderr, "neuromic: --repair: %llu damaged task%s of %s will be run again\n",
                (unsigned long long)rp->info.damaged, rp->info.damaged == 1 ? "" : "s", o->output);
    rp->attempt = rp->info.attempts;
    uint64_t n = rp->info.count[NM_TASK_PENDING] + (o->retry_failed ? rp->info.count[NM_TASK_FAILED] : 0);
    rp->failed_kept = o->retry_failed ? 0 : rp->info.count[NM_TASK_FAILED];
    rp->todo = malloc((n ? n : 1) * sizeof *rp->todo);
    if (!rp->todo)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (uint64_t t = 0; t < sw->ntasks; t++) {
        int8_t s = rp->info.status[t];
        if (s == NM_TASK_PENDING || (o->retry_failed && s == NM_TASK_FAILED))
            rp->todo[rp->ntodo++] = t;
    }
    return NM_OK;
}

/* This run's row of /attempts as it starts. */
static void attempt_begin(nm_attempt *a, const nm_prov *prov, int size)
{
    memset(a, 0, sizeof *a);
    a->status = NM_ATTEMPT_RUNNING;
    a->ranks = size;
    nm_utc_now(a->start_time);
    const nm_attr *h = nm_prov_get(prov, "hosts"), *c = nm_prov_get(prov, "command_line");
    /* "RANK HOST" lines become "RANK HOST; RANK HOST" */
    size_t n = 0;
    for (const char *p = h && h->sval ? h->sval : ""; *p && n + 3 < sizeof a->hosts; p++) {
        if (*p == '\n') {
            if (p[1]) {
                a->hosts[n++] = ';';
                a->hosts[n++] = ' ';
            }
        } else
            a->hosts[n++] = *p;
    }
    a->hosts[n] = 0;
    snprintf(a->command_line, sizeof a->command_line, "%s", c && c->sval ? c->sval : "");
    const char *job = getenv("SLURM_JOB_ID"), *arr = getenv("SLURM_ARRAY_TASK_ID");
    if (job)
        snprintf(a->job_id, sizeof a->job_id, "%s%s%s", job, arr ? "_" : "", arr ? arr : "");
    nm_prov_slurm(a->slurm, sizeof a->slurm); /* this run's, not the first run's */
}

static void print_summary(const options *o, const nm_sched_stats *stats, double wmax, int size)
{
    fprintf(stderr,
            "neuromic: %llu tasks run: %llu done, %llu failed in %.2f s (%.1f tasks/s) on %d "
            "rank%s; %d checkpoint%s took %.3f s; results in %s\n",
            (unsigned long long)(stats->done + stats->failed), (unsigned long long)stats->done,
            (unsigned long long)stats->failed, stats->seconds,
            stats->seconds > 0 ? (double)(stats->done + stats->failed) / stats->seconds : 0.0,
            size, size > 1 ? "s" : "", stats->checkpoints, stats->checkpoints == 1 ? "" : "s",
            wmax, o->output);
}

static int cmd_run(int argc, char **argv, const options *o)
{
    int provided, rank, size;
    if (!getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
        openblas_set_num_threads(1);
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    nm_stop_install();
    nm_err err = {0};
    nm_sweep *sw = NULL;
    nm_prov prov;
    nm_prov_init(&prov);
    nm_status st = NM_OK;
    run_plan rp = {0};
    out_lock lk = {NULL, -1};

    if (size > 1 && provided < MPI_THREAD_MULTIPLE)
        st = nm_err_set(&err, NM_ERR_RUNTIME,
                        "this MPI library does not provide MPI_THREAD_MULTIPLE, which neuromic "
                        "needs to run on more than one rank");
    else if (!o->output)
        st = nm_err_set(&err, NM_ERR_INPUT, "run: missing -o FILE (the result file)");
    if (st == NM_OK)
        st = load_everywhere(o, rank, &sw, &err);
    if (st == NM_OK && o->task_timeout >= 0)
        sw->task_timeout = o->task_timeout;
    int made_dirs = 0;
    if (st == NM_OK) {
        nm_prov_collect(&prov, sw, argc, argv, MPI_COMM_WORLD);
        /* A stop before the file is touched ends the run here (exit 3). */
        int sig = nm_stop_agree(MPI_COMM_WORLD);
        if (sig)
            st = nm_err_set(&err, NM_ERR_INCOMPLETE, "stopped by %s during start-up, before %s "
                            "was created or changed; run the same command again (--resume "
                            "starts the sweep when the file does not exist)",
                            nm_stop_signame(sig), o->output);
        else if (rank == 0) {
            st = nm_output_check(o->output, o->spec, &err); /* input.c */
            if (st == NM_OK)
                st = nm_output_make_parents(o->output, &made_dirs, &err);
            if (st == NM_OK)
                st = lock_output(o->output, &lk, &err);
            if (st == NM_OK)
                st = prepare_output(o, sw, &prov, &rp, &err);
        }
        if (!sig)
            st = bcast_status(st, &err);
    }
    nm_store *store = NULL;
    nm_sched_stats stats = {0};
    nm_attempt at;
    uint64_t left = 0; /* rank 0: tasks of this run not run */
    if (st == NM_OK)
        st = nm_store_open(o->output, sw, MPI_COMM_WORLD, &store, &err);
    if (st == NM_OK) {
        MPI_Bcast(&rp.attempt, 1, MPI_INT, 0, MPI_COMM_WORLD);
        attempt_begin(&at, &prov, size);
        st = nm_store_attempt(store, rp.attempt, &at, &err);
        if (st != NM_OK) {
            nm_err ignored;
            nm_store_close(store, &ignored); /* an open file would be closed at MPI_Finalize */
            store = NULL;
        }
    }
    if (st == NM_OK) {
        if (rank == 0 && !o->quiet)
            fprintf(stderr, "neuromic: %llu of %llu tasks of kernel %s to run on %d rank%s -> %s%s\n",
                    (unsigned long long)rp.ntodo, (unsigned long long)sw->ntasks,
                    sw->kernel->name, size, size > 1 ? "s" : "", o->output,
                    o->resume && !rp.fresh ? " (resumed)" : "");
        nm_sched_opts so = {.progress_every = o->progress, .quiet = o->quiet,
                            .tasks = o->resume ? rp.todo : NULL, .ntodo = rp.ntodo};
        st = nm_sched_run(sw, store, MPI_COMM_WORLD, &so, &stats, &err);
        nm_stop_ignore();
        /* The run's outcome, decided by rank 0 (it alone has the counts). */
        left = rp.ntodo - stats.done - stats.failed;
        int outcome = st != NM_OK ? st
                      : left > 0 ? NM_ERR_INCOMPLETE
                      : stats.failed + rp.failed_kept > 0 ? NM_ERR_TASKS : NM_OK;
        MPI_Bcast(&outcome, 1, MPI_INT, 0, MPI_COMM_WORLD);
        nm_utc_now(at.end_time);
        at.status = (int8_t)outcome;
        at.tasks_run = (int64_t)(stats.done + stats.failed);
        nm_status as = nm_store_attempt(store, rp.attempt, &at, &err);
        nm_status cs = nm_store_close(store, &err);
        if (st == NM_OK)
            st = as != NM_OK ? as : cs != NM_OK ? cs : (nm_status)outcome;
    }
    double wsec = stats.write_seconds, wmax;
    MPI_Reduce(&wsec, &wmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0 && store && (st == NM_OK || st == NM_ERR_TASKS || st == NM_ERR_INCOMPLETE)) {
        /* The root attributes stay as the first run wrote them: the end of
         * each run is its /attempts row (written through the parallel
         * file, raw data only), never a change of the file's structure. */
        if (!o->quiet)
            print_summary(o, &stats, wmax, size);
        if (st == NM_ERR_INCOMPLETE)
            fprintf(stderr,
                    "neuromic: stopped by %s with %llu task%s not run; continue with:\n"
                    "  neuromic run %s -o %s --resume\n",
                    nm_stop_signame(stats.stop_signal), (unsigned long long)left,
                    left == 1 ? "" : "s", o->spec, o->output);
        if (st == NM_ERR_TASKS || (st == NM_ERR_INCOMPLETE && stats.failed + rp.failed_kept)) {
            uint64_t counts[3];
            fprintf(stderr, "neuromic: %llu task%s failed:\n",
                    (unsigned long long)(stats.failed + rp.failed_kept),
                    stats.failed + rp.failed_kept > 1 ? "s" : "");
            nm_status rs = nm_report_failures(o->output, sw, stderr, 5, counts, &err);
            if (rs != NM_OK)
                st = rs;
            else
                fprintf(stderr, "neuromic: rerun them with --retry-failed\n");
        }
    }
    if (st != NM_OK && st != NM_ERR_TASKS && (st != NM_ERR_INCOMPLETE || !store) && rank == 0)
        fprintf(stderr, "neuromic: %s\n", err.msg);
    if (rank == 0) {
        unlock_output(&lk);
        struct stat sb;
        if (made_dirs && o->output && stat(o->output, &sb) != 0)
            nm_output_unmake_parents(o->output, made_dirs); /* refused: leave nothing behind */
    }
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(rp.todo);
    nm_store_info_free(&rp.info);
    nm_sweep_free(sw);
    nm_prov_free(&prov);
    /* HDF5 keeps a file it could not close (a full disk, an I/O error) and
     * would crash on it while shutting down inside MPI_Finalize: then every
     * rank leaves without it, with the status already decided. */
    int unclean = nm_store_unclean(), any_unclean = unclean;
    MPI_Allreduce(&unclean, &any_unclean, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_unclean) {
        fflush(NULL);
        _exit(code);
    }
    MPI_Finalize();
    return code;
}

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
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version")) {
        printf("neuromic %s (%s)\n", NM_VERSION, NM_GIT_COMMIT);
        return 0;
    }
    if (!strcmp(cmd, "kernels"))
        return cmd_kernels();
    if (!strcmp(cmd, "describe")) {
        if (argc != 3) {
            fprintf(stderr, "neuromic: usage: neuromic describe KERNEL\n");
            return NM_ERR_INPUT;
        }
        return cmd_describe(argv[2]);
    }
    if (!strcmp(cmd, "submit"))
        return nm_submit_main(argc, argv);
    if (strcmp(cmd, "plan") && strcmp(cmd, "run")) {
        fprintf(stderr, "neuromic: unknown command '%s'\n\n%s", cmd, usage);
        return NM_ERR_INPUT;
    }
    options o;
    nm_err err = {0};
    int rc;
    if (parse_options(argc, argv, 2, &o, &err) != NM_OK) {
        fprintf(stderr, "neuromic %s: %s\n(see `neuromic --help`)\n", cmd, err.msg);
        rc = NM_ERR_INPUT;
    } else
        rc = !strcmp(cmd, "plan") ? cmd_plan(&o) : cmd_run(argc, argv, &o);
    free(o.sets);
    return rc;
}

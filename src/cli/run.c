/* run.c: `neuromic run SPEC -o FILE`, under mpirun for many ranks: MPI up,
 * the run's preparation (src/run/), the scheduler, the outcome agreed by
 * all ranks, the summary, MPI down. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/input.h"
#include "neuromic/internal/report.h"
#include "neuromic/internal/run.h"
#include "neuromic/internal/sched.h"
#include "neuromic/internal/stop.h"
#include "neuromic/internal/task.h"

/* OpenBLAS (behind GSL's CBLAS) would start a thread per core in every
 * rank; one rank per core is the model, so it gets one thread unless the
 * user asks otherwise with OPENBLAS_NUM_THREADS. */
void openblas_set_num_threads(int n);

static void print_summary(const nm_sweep_opts *o, const nm_sched_stats *stats, double wmax, int size)
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

/* Rank 0, after a run that completed or stopped: the summary, how to
 * resume, the first failed tasks. The root attributes stay as the first
 * run wrote them: the end of each run is its /attempts row (written through
 * the parallel file, raw data only), never a change of the file's
 * structure. Returns st or the error that came up on the way. */
static nm_status finish(const nm_sweep_opts *o, const nm_sweep *sw, const nm_sched_stats *stats,
                        const nm_run_plan *rp, uint64_t left, double wmax, int size, nm_status st,
                        nm_err *err)
{
    if (!o->quiet)
        print_summary(o, stats, wmax, size);
    if (st == NM_ERR_INCOMPLETE)
        fprintf(stderr,
                "neuromic: stopped by %s with %llu task%s not run; continue with:\n"
                "  neuromic run %s -o %s --resume\n",
                nm_stop_signame(stats->stop_signal), (unsigned long long)left,
                left == 1 ? "" : "s", o->spec, o->output);
    if (st == NM_ERR_TASKS || (st == NM_ERR_INCOMPLETE && stats->failed + rp->failed_kept)) {
        uint64_t counts[3];
        fprintf(stderr, "neuromic: %llu task%s failed:\n",
                (unsigned long long)(stats->failed + rp->failed_kept),
                stats->failed + rp->failed_kept > 1 ? "s" : "");
        nm_status rs = nm_report_failures(o->output, sw, stderr, 5, counts, err);
        if (rs != NM_OK)
            st = rs;
        else
            fprintf(stderr, "neuromic: rerun them with --retry-failed\n");
    }
    return st;
}

static int run(int argc, char **argv, const nm_sweep_opts *o)
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
    nm_run_plan rp = {0};
    nm_run_lock_t lk = {NULL, -1};

    if (size > 1 && provided < MPI_THREAD_MULTIPLE)
        st = nm_err_set(&err, NM_ERR_RUNTIME,
                        "this MPI library does not provide MPI_THREAD_MULTIPLE, which neuromic "
                        "needs to run on more than one rank");
    else if (!o->output)
        st = nm_err_set(&err, NM_ERR_INPUT, "run: missing -o FILE (the result file)");
    if (st == NM_OK)
        st = nm_run_load_spec(o, rank, &sw, &err);
    if (st == NM_OK && o->task_timeout >= 0)
        sw->task_timeout = o->task_timeout;
    nm_shared *shared = NULL;
    int made_dirs = 0; /* rank 0: directories made for the output */
    if (st == NM_OK) /* the kernel's data, read once per rank before any file is touched */
        st = nm_run_agree_all(nm_shared_prepare(sw, rank == 0, &shared, &err), &err);
    if (st == NM_OK) {
        st = nm_prov_collect(&prov, sw, argc, argv, MPI_COMM_WORLD);
        if (st == NM_OK && rank == 0 && sw->kernel->prepare) {
            char *files = nm_shared_files(shared);
            st = files ? nm_prov_set_s(&prov, "data_files", files) : NM_ERR_RUNTIME;
            free(files);
        }
        if (st != NM_OK)
            nm_err_set(&err, st, "out of memory for the provenance");
        /* A stop before the file is touched ends the run here (exit 3). */
        int sig = nm_stop_agree(MPI_COMM_WORLD);
        if (sig)
            st = nm_err_set(&err, NM_ERR_INCOMPLETE, "stopped by %s during start-up, before %s "
                            "was created or changed; run the same command again (--resume "
                            "starts the sweep when the file does not exist)",
                            nm_stop_signame(sig), o->output);
        else if (st == NM_OK && rank == 0) {
            st = nm_output_check(o->output, o->spec, &err); /* input.c */
            if (st == NM_OK)
                st = nm_output_make_parents(o->output, &made_dirs, &err);
            if (st == NM_OK)
                st = nm_run_lock(o->output, &lk, &err);
            if (st == NM_OK)
                st = nm_run_prepare(o, sw, &prov, &rp, &err);
        }
        if (!sig)
            st = nm_run_agree(st, &err);
    }
    nm_store *store = NULL;
    nm_sched_stats stats = {0};
    nm_attempt at;
    uint64_t left = 0; /* rank 0: tasks of this run not run */
    if (st == NM_OK)
        st = nm_store_open(o->output, sw, MPI_COMM_WORLD, &store, &err);
    if (st == NM_OK) {
        MPI_Bcast(&rp.attempt, 1, MPI_INT, 0, MPI_COMM_WORLD);
        nm_run_attempt_begin(&at, &prov, size);
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
                            .tasks = o->resume ? rp.todo : NULL, .ntodo = rp.ntodo,
                            .shared = nm_shared_data(shared)};
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
    if (rank == 0 && store && (st == NM_OK || st == NM_ERR_TASKS || st == NM_ERR_INCOMPLETE))
        st = finish(o, sw, &stats, &rp, left, wmax, size, st, &err);
    if (st != NM_OK && st != NM_ERR_TASKS && (st != NM_ERR_INCOMPLETE || !store) && rank == 0)
        fprintf(stderr, "neuromic: %s\n", err.msg);
    if (rank == 0) {
        nm_run_unlock(&lk);
        struct stat sb;
        if (made_dirs && o->output && stat(o->output, &sb) != 0)
            nm_output_unmake_parents(o->output, made_dirs); /* refused: leave nothing behind */
    }
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    nm_run_plan_free(&rp);
    nm_shared_free(shared);
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

int nm_cmd_run(int argc, char **argv) { return nm_sweep_cmd(argc, argv, run); }

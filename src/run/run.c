/* run.c: the logic of one run of a sweep around the scheduler: the spec
 * read once and broadcast, the lock on the output, the plan (a new file, or
 * the tasks a --resume continues), and this run's row of /attempts. The
 * command that strings them together is src/cli/run.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "neuromic/internal/readback.h"
#include "neuromic/internal/run.h"
#include "neuromic/internal/spec.h"

/* Rank 0, --resume: the sweep a file continues is the one it was made
 * from, whose text the file keeps (spec_text). The file on disk may have
 * changed since (a comment added while a requeued job waited, or the file
 * moved away): that is a warning, and the stored text is used; --strict
 * makes it a refusal. When FILE does not exist or has no spec text, the
 * file on disk is used as before (and nm_store_inspect judges the file).
 * st is the status of reading the spec from disk into *text. */
static nm_status resume_text(const nm_sweep_opts *o, nm_status st, char **text, size_t *n,
                             nm_err *err)
{
    struct stat sb;
    char *kept = NULL;
    nm_err ignored = {0};
    if (stat(o->output, &sb) != 0 || !S_ISREG(sb.st_mode) || /* a FIFO would block: input.c */
        nm_readback_attr(o->output, "spec_text", &kept, &ignored) != NM_OK)
        return st;
    if (st == NM_OK && *n == strlen(kept) && !memcmp(*text, kept, *n)) {
        free(kept);
        return NM_OK;
    }
    char why[NM_ERR_MSG + 64];
    if (st == NM_OK)
        snprintf(why, sizeof why, "%s has changed since %s was made from it", o->spec, o->output);
    else
        snprintf(why, sizeof why, "%s cannot be read (%s)", o->spec, err->msg);
    if (o->strict) {
        free(kept);
        return nm_err_set(err, NM_ERR_INPUT, "%s; --strict: refusing to resume (without --strict "
                          "the run continues with the spec text stored in %s)", why, o->output);
    }
    fprintf(stderr, "neuromic: warning: %s; resuming with the spec text stored in %s (the "
            "attribute spec_text; --strict refuses instead)\n", why, o->output);
    free(*text);
    *text = kept;
    *n = strlen(kept);
    return NM_OK;
}

/* Rank 0 reads the spec (for --resume, the one stored in the file: see
 * resume_text); everyone parses the same bytes. */
nm_status nm_run_load_spec(const nm_sweep_opts *o, int rank, nm_sweep **sw, nm_err *err)
{
    long len = -1;
    char *text = NULL;
    if (rank == 0) {
        size_t n = 0;
        nm_status st = nm_spec_read(o->spec, &text, &n, err);
        if (o->resume)
            st = resume_text(o, st, &text, &n, err);
        if (st == NM_OK)
            len = n <= (size_t)INT_MAX ? (long)n : -1; /* one MPI_Bcast below */
        if (st == NM_OK && len < 0)
            nm_err_set(err, NM_ERR_INPUT, "%s: a spec file of %zu bytes is too large", o->spec, n);
    }
    MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    if (len < 0) {
        free(text);
        return NM_ERR_INPUT;
    }
    if (rank != 0 && !(text = malloc((size_t)len + 1)))
        MPI_Abort(MPI_COMM_WORLD, NM_ERR_RUNTIME); /* the other ranks are in the broadcast */
    MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD);
    text[len] = 0;
    nm_status st = nm_spec_parse(o->spec, text, (size_t)len, o->sets, o->nsets, sw, err);
    free(text);
    return st;
}

/* Agree on a status decided by rank 0, with its message. */
nm_status nm_run_agree(nm_status st, nm_err *err)
{
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (code != NM_OK)
        MPI_Bcast(err->msg, NM_ERR_MSG, MPI_CHAR, 0, MPI_COMM_WORLD);
    return (nm_status)code;
}

nm_status nm_run_agree_all(nm_status st, nm_err *err)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* The lowest rank that failed speaks for all. */
    int mine = st != NM_OK ? rank : size, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size)
        return NM_OK;
    int code = st;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(err->msg, NM_ERR_MSG, MPI_CHAR, first, MPI_COMM_WORLD);
    return (nm_status)code;
}

/* ---- the output lock ---- */

nm_status nm_run_lock(const char *output, nm_run_lock_t *lk, nm_err *err)
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

void nm_run_unlock(nm_run_lock_t *lk)
{
    if (lk->fd >= 0) {
        unlink(lk->path); /* while still holding the lock */
        close(lk->fd);
    }
    free(lk->path);
    lk->path = NULL;
    lk->fd = -1;
}

/* ---- the plan and the attempt row ---- */

/* Rank 0: creates the file, or checks it and picks the tasks to resume. */
nm_status nm_run_prepare(const nm_sweep_opts *o, const nm_sweep *sw, const nm_prov *prov,
                         nm_run_plan *rp, nm_err *err)
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
void nm_run_attempt_begin(nm_attempt *a, const nm_prov *prov, int size)
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

void nm_run_plan_free(nm_run_plan *rp)
{
    free(rp->todo);
    rp->todo = NULL;
    nm_store_info_free(&rp->info);
}

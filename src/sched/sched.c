/* sched.c: the dispatcher (rank 0, its own thread) and the task loop every
 * rank runs.
 *
 * Messages on a private duplicate of the communicator:
 *   worker -> 0, TAG_MSG: {kind (REQ or PROG), tasks done, tasks failed}
 *   0 -> worker, TAG_WORK: a batch of task ids; an empty batch = no more work
 *   worker -> 0, TAG_MSG: {STOP, signal, 0} when the worker got a signal
 *   0 -> worker, TAG_CTRL: {CKPT, FINAL or STOP, sequence number or signal}
 * Every rank sees the same sequence of CKPT/FINAL messages (rank 0's main
 * thread through shared counters), so every rank makes the same collective
 * store calls in the same order. FINAL is sent once every rank has been told
 * there is no more work.
 *
 * Stopping (stop.h): a rank that sees a signal stops starting tasks, drops
 * the rest of its batch and tells rank 0; rank 0 then hands out no more work
 * and sends STOP to every worker, so that all ranks stop after the task they
 * are running, go idle and meet in the FINAL checkpoint. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "neuromic/internal/runner.h"
#include "neuromic/internal/sched.h"
#include "neuromic/internal/stop.h"

enum { TAG_MSG = 11, TAG_WORK = 12, TAG_CTRL = 13 };
enum { MSG_REQ = 1, MSG_PROG = 2, MSG_STOP = 3 };
enum { CTRL_CKPT = 1, CTRL_FINAL = 2, CTRL_STOP = 3 };
#define MAX_BATCH 4096
/* Memory a rank may fill with finished rows before a checkpoint is forced,
 * whatever checkpoint_every says: without a bound, a million tiny tasks
 * between two checkpoints cost each rank hundreds of MB. A row costs its
 * outputs twice (the buffer, and the checkpoint's copy in task order) plus
 * ROW_OVERHEAD bytes: the buffer's bookkeeping (about 35) and the
 * checkpoint's staging of the task-table columns (store.c: host and error
 * strings, sort order, runs; about 380). A rank whose buffer is full runs
 * no further task until the checkpoint, so the bound holds for any row
 * size: with rows larger than the limit, every row is checkpointed alone. */
#define CKPT_BUFFER_BYTES (8.0 * 1024 * 1024)
#define ROW_OVERHEAD 400

typedef struct {
    const nm_sweep *sw;
    const nm_sched_opts *opts;
    MPI_Comm comm;
    int nranks;
    double t0;

    pthread_mutex_t mu;
    /* queue */
    uint64_t *order; /* schedule order (NULL: task id order) */
    double *cost;    /* cost by task id (NULL: all equal) */
    uint64_t ntodo;  /* tasks in the queue */
    uint64_t next;
    double remaining; /* expected cost still in the queue */
    /* state seen by both threads */
    uint64_t done, failed;
    bool *idle;       /* told there is no more work */
    int ckpt_sent;    /* CKPT messages issued so far */
    int ckpt_done;    /* checkpoints rank 0's main thread has finished */
    double ckpt_end;  /* when it finished the last one */
    double ckpt_issued; /* when the last CKPT went out */
    double ckpt_cost;   /* sum over finished checkpoints of issue to finish on rank 0 */
    uint64_t *buffered; /* per rank: rows reported since the last CKPT went out */
    uint64_t ckpt_rows; /* a rank with this many buffered rows forces a CKPT */
    bool final_sent;
    bool stopping;    /* a stop was requested: no more work is handed out */
    /* progress */
    double last_print;
    bool tty;
} disp;

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static int by_cost_desc(const void *a, const void *b, void *cost)
{
    const double *c = cost;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    if (c[x] != c[y])
        return c[x] > c[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The queue: the tasks to run (all, or opts->tasks), longest expected
 * first. The costs are computed once, in one pass; the per-task cost array
 * (8 bytes a task on rank 0) is made only when two tasks' estimates differ.
 * With equal estimates (or none) id order is already longest-first, and a
 * full sweep needs no order array either: 16 MB saved per million tasks. */
static nm_status queue_init(disp *d, nm_err *err)
{
    const nm_sweep *sw = d->sw;
    const uint64_t *only = d->opts->tasks;
    d->ntodo = only ? d->opts->ntodo : sw->ntasks;
    d->remaining = (double)d->ntodo;
    if (sw->kernel->cost) {
        nm_point *p = nm_point_alloc(sw);
        if (!p)
            return nm_err_set(err, NM_ERR_RUNTIME, "out of memory for the task queue");
        double first = 0, sum = 0;
        for (uint64_t i = 0; i < d->ntodo; i++) {
            uint64_t t = only ? only[i] : i;
            nm_grid_point(sw, t, p);
            double c = sw->kernel->cost(p);
            c = isfinite(c) && c > 0 ? c : 1e-12;
            sum += c;
            if (i == 0)
                first = c;
            else if (!d->cost && c != first) {
                /* The first difference: from here on, keep every cost. */
                if (!(d->cost = malloc(sw->ntasks * sizeof *d->cost))) {
                    nm_point_free(p);
                    return nm_err_set(err, NM_ERR_RUNTIME, "out of memory for the task queue");
                }
                for (uint64_t j = 0; j < i; j++)
                    d->cost[only ? only[j] : j] = first;
            }
            if (d->cost)
                d->cost[t] = c;
        }
        nm_point_free(p);
        if (d->cost)
            d->remaining = sum;
    }
    if (!d->cost && !only)
        return NM_OK;
    d->order = malloc((d->ntodo ? d->ntodo : 1) * sizeof *d->order);
    if (!d->order)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory for the task queue");
    for (uint64_t i = 0; i < d->ntodo; i++)
        d->order[i] = only ? only[i] : i;
    if (d->cost)
        qsort_r(d->order, d->ntodo, sizeof *d->order, by_cost_desc, d->cost);
    return NM_OK;
}

/* Rows a rank may buffer before a checkpoint is forced (the outputs' sizes
 * do not change across the grid, so point 0 tells them); at least one. */
static uint64_t rows_per_checkpoint(const nm_sweep *sw)
{
    double bytes = ROW_OVERHEAD;
    for (size_t o = 0; o < sw->kernel->noutputs; o++)
        bytes += 2 * 8.0 * (double)sw->layout[o].size;
    double rows = CKPT_BUFFER_BYTES / bytes;
    return rows < 1 ? 1 : (uint64_t)rows;
}

/* Seconds between checkpoints (nm_sched_ckpt_interval). The mean task is
 * estimated from the wall time and the tasks finished so far, the mean
 * checkpoint from those rank 0 has finished. */
static double ckpt_interval(const disp *d, double now)
{
    uint64_t fin = d->done + d->failed;
    double mean = fin ? (now - d->t0) * d->nranks / (double)fin : 0;
    double ckpt = d->ckpt_done ? d->ckpt_cost / d->ckpt_done : 0;
    return nm_sched_ckpt_interval(d->sw->checkpoint_every, mean, ckpt);
}

double nm_sched_ckpt_interval(double every, double mean_task, double mean_ckpt)
{
    double floor = CKPT_TASKS * mean_task, cost = CKPT_COST * mean_ckpt;
    floor = cost > floor ? cost : floor;
    return every > floor ? every : floor;
}

/* Whether any rank has reported a finished task since the last CKPT went
 * out: a checkpoint with nothing to save would only make every rank wait. */
static bool rows_pending(const disp *d)
{
    for (int r = 0; r < d->nranks; r++)
        if (d->buffered[r])
            return true;
    return false;
}

static bool buffers_full(const disp *d)
{
    for (int r = 0; r < d->nranks; r++)
        if (d->buffered[r] >= d->ckpt_rows)
            return true;
    return false;
}

/* Guided batch: expected cost about remaining / (2 * ranks), at least one
 * task. Caller holds the mutex. */
static int take_batch(disp *d, uint64_t *ids)
{
    double target = d->remaining / (2.0 * d->nranks), sum = 0;
    int n = 0;
    while (!d->stopping && d->next < d->ntodo && n < MAX_BATCH && (n == 0 || sum < target)) {
        uint64_t t = d->order ? d->order[d->next] : d->next;
        double c = d->cost ? d->cost[t] : 1.0;
        ids[n++] = t;
        sum += c;
        d->next++;
    }
    d->remaining = d->next == d->ntodo ? 0 : d->remaining - sum;
    return n;
}

static void print_progress(disp *d, bool force)
{
    double now = nm_now();
    double every = d->tty ? 0.5 : d->opts->progress_every;
    if (d->opts->quiet || (!force && now - d->last_print < every))
        return;
    d->last_print = now;
    double el = now - d->t0;
    uint64_t fin = d->done + d->failed, total = d->ntodo;
    double rate = el > 0 ? (double)fin / el : 0;
    char eta[32] = "?";
    if (rate > 0) {
        long s = lround((double)(total - fin) / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    }
    fprintf(stderr, "%sneuromic: %llu/%llu tasks (%.1f%%), %llu failed, %.1f tasks/s, ETA %s%s",
            d->tty ? "\r\033[K" : "", (unsigned long long)fin, (unsigned long long)total,
            total ? 100.0 * (double)fin / (double)total : 100.0, (unsigned long long)d->failed,
            rate, eta, d->tty ? "" : "\n");
    fflush(stderr);
}

static void send_ctrl_all(disp *d, int kind)
{
    int64_t msg[2] = {kind, kind == CTRL_STOP ? nm_stop_requested() : d->ckpt_sent};
    for (int r = 1; r < d->nranks; r++)
        MPI_Send(msg, 2, MPI_INT64_T, r, TAG_CTRL, d->comm);
}

static void *dispatcher(void *arg)
{
    disp *d = arg;
    int64_t in[3];
    MPI_Request req;
    MPI_Irecv(in, 3, MPI_INT64_T, MPI_ANY_SOURCE, TAG_MSG, d->comm, &req);
    uint64_t *ids = malloc(MAX_BATCH * sizeof *ids);
    long nap = 50;

    for (;;) {
        int got = 0;
        MPI_Status st;
        MPI_Test(&req, &got, &st);
        pthread_mutex_lock(&d->mu);
        if (got) {
            if (in[0] == MSG_STOP)
                nm_stop_request((int)in[1]);
            else {
                d->done += (uint64_t)in[1];
                d->failed += (uint64_t)in[2];
                d->buffered[st.MPI_SOURCE] += (uint64_t)(in[1] + in[2]);
            }
            if (in[0] == MSG_REQ) {
                int n = take_batch(d, ids);
                if (n == 0)
                    d->idle[st.MPI_SOURCE] = true;
                pthread_mutex_unlock(&d->mu);
                MPI_Send(ids, n, MPI_UINT64_T, st.MPI_SOURCE, TAG_WORK, d->comm);
                pthread_mutex_lock(&d->mu);
            }
            MPI_Irecv(in, 3, MPI_INT64_T, MPI_ANY_SOURCE, TAG_MSG, d->comm, &req);
        }
        if (!d->stopping && nm_stop_requested()) {
            d->stopping = true;
            send_ctrl_all(d, CTRL_STOP);
        }
        bool all_idle = true;
        for (int r = 0; r < d->nranks; r++)
            all_idle &= d->idle[r];
        double now = nm_now();
        if (all_idle) {
            send_ctrl_all(d, CTRL_FINAL);
            d->final_sent = true;
            pthread_mutex_unlock(&d->mu);
            break;
        }
        /* The next checkpoint is due the interval after the last one ended
         * if some rank has finished a task since, or as soon as a rank's
         * buffer is full, never while one is in progress: a checkpoint
         * slower than the interval must not queue up more of them. */
        if (d->ckpt_done == d->ckpt_sent &&
            ((now - d->ckpt_end >= ckpt_interval(d, now) && rows_pending(d)) ||
             buffers_full(d))) {
            d->ckpt_sent++;
            d->ckpt_issued = now;
            memset(d->buffered, 0, (size_t)d->nranks * sizeof *d->buffered);
            send_ctrl_all(d, CTRL_CKPT);
        }
        print_progress(d, false);
        pthread_mutex_unlock(&d->mu);
        /* Poll fast while messages come, back off to 2 ms when quiet, so
         * the thread costs rank 0's computing thread almost nothing. */
        nap = got ? 50 : (nap * 2 > 2000 ? 2000 : nap * 2);
        sleep_us(nap);
    }
    MPI_Cancel(&req);
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    free(ids);
    return NULL;
}

/* ---- the loop every rank runs ---- */

typedef struct {
    disp *d;         /* rank 0 only */
    MPI_Comm comm;
    int rank;
    uint64_t *batch;
    int nbatch, pos;
    bool no_more;
    bool waiting;    /* a worker's request is out, its reply not yet read */
    bool stop_seen;  /* this rank has acted on a stop request */
    int ckpt_seen;   /* rank 0: CKPTs handled */
    uint64_t done, failed; /* since the last report */
    double last_report;
    uint64_t max_rows;     /* rows this rank may buffer (rows_per_checkpoint) */
    bool full;             /* buffer full: reported, waiting for a checkpoint */
} loop;

/* A pending control message: CTRL_CKPT, CTRL_FINAL or 0. */
static int poll_ctrl(loop *l)
{
    if (l->d) {
        pthread_mutex_lock(&l->d->mu);
        int kind = l->ckpt_seen < l->d->ckpt_sent ? CTRL_CKPT : l->d->final_sent ? CTRL_FINAL : 0;
        if (kind == CTRL_CKPT)
            l->ckpt_seen++;
        pthread_mutex_unlock(&l->d->mu);
        return kind;
    }
    int flag;
    MPI_Iprobe(0, TAG_CTRL, l->comm, &flag, MPI_STATUS_IGNORE);
    if (!flag)
        return 0;
    int64_t msg[2];
    MPI_Recv(msg, 2, MPI_INT64_T, 0, TAG_CTRL, l->comm, MPI_STATUS_IGNORE);
    if (msg[0] == CTRL_STOP)
        nm_stop_request((int)msg[1]);
    return (int)msg[0];
}

static void report(loop *l, int kind)
{
    if (l->d) {
        pthread_mutex_lock(&l->d->mu);
        l->d->done += l->done;
        l->d->failed += l->failed;
        l->d->buffered[0] += l->done + l->failed;
        pthread_mutex_unlock(&l->d->mu);
    } else {
        int64_t msg[3] = {kind, (int64_t)l->done, (int64_t)l->failed};
        MPI_Send(msg, 3, MPI_INT64_T, 0, TAG_MSG, l->comm);
    }
    l->done = l->failed = 0;
    l->last_report = nm_now();
}

/* Gets the next batch, or a control message that came first. */
static int request(loop *l)
{
    if (l->d) {
        report(l, MSG_REQ);
        pthread_mutex_lock(&l->d->mu);
        l->nbatch = take_batch(l->d, l->batch);
        if (l->nbatch == 0)
            l->d->idle[0] = true;
        pthread_mutex_unlock(&l->d->mu);
    } else {
        if (!l->waiting)
            report(l, MSG_REQ);
        l->waiting = true;
        for (long nap = 20;; nap = nap * 2 > 1000 ? 1000 : nap * 2) {
            int flag;
            MPI_Status st;
            MPI_Iprobe(0, TAG_WORK, l->comm, &flag, &st);
            if (flag) {
                MPI_Recv(l->batch, MAX_BATCH, MPI_UINT64_T, 0, TAG_WORK, l->comm, &st);
                MPI_Get_count(&st, MPI_UINT64_T, &l->nbatch);
                l->waiting = false;
                break;
            }
            int kind = poll_ctrl(l);
            if (kind)
                return kind; /* the reply is read after the checkpoint */
            sleep_us(nap);
        }
    }
    l->pos = 0;
    l->no_more = l->nbatch == 0;
    return 0;
}

nm_status nm_sched_run(const nm_sweep *sw, nm_store *store, MPI_Comm comm,
                       const nm_sched_opts *opts, nm_sched_stats *stats, nm_err *err)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    memset(stats, 0, sizeof *stats);
    double t0 = nm_now();

    MPI_Comm sc;
    MPI_Comm_dup(comm, &sc);
    disp d = {.sw = sw, .opts = opts, .comm = sc, .nranks = size, .t0 = t0};
    loop l = {.comm = sc, .rank = rank, .max_rows = rows_per_checkpoint(sw)};
    nm_status st = NM_OK;
    pthread_t thread;
    bool thread_started = false;

    if (rank == 0) {
        pthread_mutex_init(&d.mu, NULL);
        d.idle = calloc((size_t)size, sizeof *d.idle);
        d.buffered = calloc((size_t)size, sizeof *d.buffered);
        d.ckpt_rows = l.max_rows;
        d.tty = isatty(2);
        d.last_print = t0;
        d.ckpt_end = t0;
        st = d.idle && d.buffered ? queue_init(&d, err)
                                  : nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        l.d = &d;
    }
    /* Everyone learns whether rank 0 could set up. */
    int ok = st == NM_OK;
    MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
    nm_runner *runner = nm_runner_alloc(sw, opts->shared);
    nm_rowbuf *buf = nm_rowbuf_alloc(sw);
    l.batch = malloc(MAX_BATCH * sizeof *l.batch);
    int local_ok = runner && buf && l.batch, all_ok;
    MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_LAND, comm);
    if (!ok || !all_ok) {
        if (st == NM_OK)
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory setting up the task loop");
        goto out;
    }
    if (rank == 0) {
        if (pthread_create(&thread, NULL, dispatcher, &d) != 0) {
            /* Unrecoverable: the other ranks wait for the dispatcher. */
            fprintf(stderr, "neuromic: cannot start the dispatcher thread\n");
            MPI_Abort(comm, NM_ERR_RUNTIME);
        }
        thread_started = true;
    }

    for (;;) {
        int kind = poll_ctrl(&l);
        if (!l.stop_seen && nm_stop_requested()) {
            /* Start no more tasks; a worker tells rank 0 (whose dispatcher
             * sees this rank's own flag directly). */
            l.stop_seen = true;
            if (!l.d) {
                int64_t msg[3] = {MSG_STOP, nm_stop_requested(), 0};
                MPI_Send(msg, 3, MPI_INT64_T, 0, TAG_MSG, sc);
            }
        }
        if (l.stop_seen)
            l.pos = l.nbatch; /* a batch that arrives after the stop is dropped */
        if (!kind && l.pos == l.nbatch && !l.no_more)
            kind = request(&l);
        if (kind == CTRL_STOP)
            continue;
        if (kind) {
            double w0 = nm_now();
            nm_status cs = nm_store_checkpoint(store, buf, err);
            stats->write_seconds += nm_now() - w0;
            stats->checkpoints++;
            if (cs != NM_OK) {
                /* A failed collective write leaves ranks out of step. */
                fprintf(stderr, "neuromic: rank %d: %s\n", rank, err->msg);
                MPI_Abort(comm, NM_ERR_RUNTIME);
            }
            l.full = false;
            if (kind == CTRL_FINAL)
                break;
            if (l.d) {
                pthread_mutex_lock(&d.mu);
                d.ckpt_done++;
                d.ckpt_end = nm_now();
                d.ckpt_cost += d.ckpt_end - d.ckpt_issued;
                pthread_mutex_unlock(&d.mu);
            }
            continue;
        }
        if (l.pos < l.nbatch && nm_rowbuf_count(buf) >= l.max_rows) {
            /* Full: tell rank 0 (whose dispatcher then calls a checkpoint)
             * and wait for it instead of buffering more. */
            if (!l.full)
                report(&l, MSG_PROG);
            l.full = true;
            sleep_us(200);
            continue;
        }
        if (l.pos < l.nbatch) {
            double k0 = nm_now();
            int r = nm_runner_run(runner, l.batch[l.pos++], buf, err);
            stats->task_seconds += nm_now() - k0;
            if (r < 0) {
                fprintf(stderr, "neuromic: rank %d: %s\n", rank, err->msg);
                MPI_Abort(comm, NM_ERR_RUNTIME);
            }
            if (r == NM_TASK_DONE)
                l.done++;
            else if (r == NM_TASK_FAILED)
                l.failed++;
            if (nm_now() - l.last_report > 1.0 && l.pos < l.nbatch)
                report(&l, MSG_PROG);
            continue;
        }
        if (l.no_more)
            sleep_us(500); /* wait for FINAL or a checkpoint */
    }

    if (rank == 0) {
        pthread_join(thread, NULL);
        thread_started = false;
        print_progress(&d, true);
        if (d.tty && !opts->quiet)
            fputc('\n', stderr);
        stats->done = d.done;
        stats->failed = d.failed;
    }
out:
    (void)thread_started;
    stats->seconds = nm_now() - t0;
    stats->stop_signal = nm_stop_requested();
    nm_runner_free(runner);
    nm_rowbuf_free(buf);
    free(l.batch);
    if (rank == 0) {
        free(d.order);
        free(d.cost);
        free(d.idle);
        free(d.buffered);
        pthread_mutex_destroy(&d.mu);
    }
    MPI_Comm_free(&sc);
    return st;
}

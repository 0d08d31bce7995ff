/* status.c: `neuromic status FILE`, what a result file holds, read while a
 * sweep may still be writing it.
 *
 * Everything comes from the file (readback.h: read-only, no lock taken,
 * HDF5 file locking off), so the answer is the sweep as of its last
 * checkpoint: counts of done, pending and failed tasks, by axis value; the
 * runs of /attempts with their job ids and exit statuses; for a run that
 * has not ended, its throughput and the time left; the failed tasks with
 * their parameters and messages. The sweep itself (axes, parameters) is
 * rebuilt from the spec text and --set overrides the file keeps, so the
 * spec file on disk is not needed and may have changed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/readback.h"
#include "neuromic/internal/spec.h"

static const char status_usage[] =
    "usage: neuromic status FILE [--failed] [--json]\n"
    "  counts of done, pending and failed tasks (by axis value), the runs on FILE\n"
    "  (/attempts), throughput and time left of a run in progress; --failed lists every\n"
    "  failed task with its parameters and message; --json prints it all as one JSON object.\n"
    "  Read-only and lock-free: safe while a sweep is writing FILE.\n";

typedef struct {
    const char *path;
    bool failed, json;
} status_opts;

enum { ST_FAILED = 1, ST_JSON };

static const nm_opt status_optv[] = {
    {"--failed", NULL, false, ST_FAILED},
    {"--json", NULL, false, ST_JSON},
};

static nm_status status_opt(void *ctx, const nm_opt *o, const char *arg, nm_err *err)
{
    status_opts *s = ctx;
    if (!o) {
        if (s->path)
            return nm_err_set(err, NM_ERR_INPUT, "unexpected argument '%s'", arg);
        s->path = arg;
    } else if (o->id == ST_FAILED)
        s->failed = true;
    else
        s->json = true;
    return NM_OK;
}

/* What an /attempts status means. */
static const char *attempt_state(int status)
{
    switch (status) {
    case 0: return "complete";
    case 1: return "runtime error";
    case 2: return "bad input";
    case 3: return "stopped early (resumable)";
    case 4: return "finished, some tasks failed";
    case NM_ATTEMPT_RUNNING: return "no end recorded: running, or killed";
    case NM_ATTEMPT_UNUSED: return "row not used";
    default: return "unknown status";
    }
}

/* "2026-11-29T19:00:00Z" -> seconds since the epoch (-1 if unreadable). */
static double parse_utc(const char *s)
{
    struct tm tm = {0};
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return e && !*e ? (double)timegm(&tm) : -1;
}

static void hms(double s, char *buf, size_t len)
{
    long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* ---- the sweep the file was made from ---- */

/* Parses the spec text and overrides stored in the file. NULL with why
 * when it cannot (a kernel not compiled into this program, say). */
static nm_sweep *stored_sweep(const char *path, const nm_readback *rb, char *why, size_t len)
{
    size_t n = 0;
    char *ov = strdup(rb->overrides ? rb->overrides : "");
    char **sets = calloc(ov ? strlen(ov) + 2 : 1, sizeof *sets);
    nm_sweep *sw = NULL;
    nm_err err = {0};
    if (!ov || !sets) {
        snprintf(why, len, "out of memory");
        goto out;
    }
    for (char *p = ov; *p;) { /* one --set per line */
        char *e = strchr(p, '\n');
        if (e)
            *e = 0;
        if (*p)
            sets[n++] = p;
        p = e ? e + 1 : p + strlen(p);
    }
    char label[1100];
    snprintf(label, sizeof label, "%s:spec_text", path);
    if (nm_spec_parse(label, rb->spec_text, strlen(rb->spec_text), sets, n, &sw, &err) != NM_OK)
        snprintf(why, len, "%s", err.msg);
    else if (sw->ntasks != rb->ntasks) {
        snprintf(why, len, "the stored spec gives %llu tasks where the file has %llu",
                 (unsigned long long)sw->ntasks, (unsigned long long)rb->ntasks);
        nm_sweep_free(sw);
        sw = NULL;
    }
out:
    free(sets);
    free(ov);
    return sw;
}

/* Value i of an axis as the file's dimension labels it: a design's points by
 * their index in its sequence (the file's `sample` scale), any other axis by
 * its (first) parameter's value. */
static void axis_label(const nm_axis *ax, size_t i, char *buf, size_t size)
{
    if (ax->sample)
        snprintf(buf, size, "%llu", (unsigned long long)(ax->first + i));
    else
        nm_value_format(&ax->values[0][i], buf, size);
}

/* counts[a][i][s]: tasks with status s at value i of axis a. */
static uint64_t (**axis_counts(const nm_sweep *sw, const nm_readback *rb))[3]
{
    uint64_t (**c)[3] = calloc(sw->naxes ? sw->naxes : 1, sizeof *c);
    size_t *idx = calloc(sw->naxes ? sw->naxes : 1, sizeof *idx);
    bool ok = c && idx;
    for (size_t a = 0; ok && a < sw->naxes; a++)
        ok = (c[a] = calloc(sw->axes[a].len, sizeof *c[a])) != NULL;
    for (uint64_t t = 0; ok && t < rb->ntasks; t++) {
        int s = rb->status[t] == NM_TASK_DONE ? 1 : rb->status[t] == NM_TASK_FAILED ? 2 : 0;
        nm_grid_index(sw, t, idx);
        for (size_t a = 0; a < sw->naxes; a++)
            c[a][idx[a]][s]++;
    }
    free(idx);
    if (!ok && c) {
        for (size_t a = 0; a < sw->naxes; a++)
            free(c[a]);
        free(c);
        c = NULL;
    }
    return c;
}

/* ---- progress of a run in progress ---- */

typedef struct {
    bool running;      /* the last /attempts row has no end */
    int attempt;
    double since_ckpt; /* seconds since the file last changed */
    double finished, mean_seconds, rate, eta; /* rate, eta < 0: unknown */
    double wall_rate;  /* finished by this run / its wall time, or -1 */
    bool by_cost;      /* eta weighted by the kernel's cost estimate */
    int ranks;
} progress;

/* Throughput from the task times the file records: the ranks of the
 * running attempt each take one task at a time, so the sweep runs
 * ranks / (mean task time) tasks a second. The time left weights the
 * pending tasks by the kernel's cost estimate where it has one (the queue
 * runs the costly tasks first, so the done ones are not a fair sample).
 * When every earlier run ended with its count recorded, the run's own
 * rate over its wall time (start to last checkpoint) is given as well. */
static progress get_progress(const nm_readback *rb, const nm_sweep *sw)
{
    progress p = {.attempt = rb->nattempts - 1, .rate = -1, .eta = -1, .wall_rate = -1};
    if (rb->nattempts == 0)
        return p;
    const nm_attempt *a = &rb->attempts[rb->nattempts - 1];
    p.running = a->status == NM_ATTEMPT_RUNNING;
    p.ranks = a->ranks > 0 ? a->ranks : 1;
    p.since_ckpt = difftime(time(NULL), rb->mtime);
    double secs = 0, cost_done = 0, cost_left = 0;
    nm_point *pt = sw && sw->kernel->cost ? nm_point_alloc(sw) : NULL;
    for (uint64_t t = 0; t < rb->ntasks; t++) {
        bool fin = rb->status[t] == NM_TASK_DONE || rb->status[t] == NM_TASK_FAILED;
        if (fin) {
            p.finished++;
            secs += rb->seconds[t];
        }
        if (pt) {
            nm_grid_point(sw, t, pt);
            *(fin ? &cost_done : &cost_left) += sw->kernel->cost(pt);
        }
    }
    nm_point_free(pt);
    uint64_t pending = rb->count[0];
    if (p.finished > 0 && secs > 0) {
        p.mean_seconds = secs / p.finished;
        p.rate = p.ranks / p.mean_seconds;
        p.by_cost = pt != NULL && cost_done > 0;
        p.eta = p.by_cost ? cost_left / cost_done * secs / p.ranks : (double)pending / p.rate;
    }
    double base = 0, start = parse_utc(a->start_time);
    bool known = start > 0;
    for (int i = 0; i < rb->nattempts - 1; i++) {
        known &= rb->attempts[i].status >= 0 && rb->attempts[i].status != 2;
        base += (double)rb->attempts[i].tasks_run;
    }
    if (p.running && known && (double)rb->mtime > start && p.finished >= base)
        p.wall_rate = (p.finished - base) / ((double)rb->mtime - start);
    return p;
}

/* ---- text ---- */

static void print_text(const char *path, const nm_readback *rb, const nm_sweep *sw,
                       const char *why, bool failed)
{
    uint64_t n = rb->ntasks;
    printf("%s: kernel %s version %s, %llu tasks: %llu done, %llu pending, %llu failed "
           "(%.1f%% finished)\n", path, rb->kernel, rb->kernel_version ? rb->kernel_version : "?",
           (unsigned long long)n, (unsigned long long)rb->count[1],
           (unsigned long long)rb->count[0], (unsigned long long)rb->count[2],
           n ? 100.0 * (double)(rb->count[1] + rb->count[2]) / (double)n : 100.0);
    uint64_t (**c)[3] = sw ? axis_counts(sw, rb) : NULL;
    if (!sw)
        printf("by axis value: not available (%s)\n", why);
    else if (c && sw->naxes) {
        printf("by axis value (done/pending/failed):\n");
        for (size_t a = 0; a < sw->naxes; a++) {
            const nm_axis *ax = &sw->axes[a];
            size_t show = ax->len <= 24 ? ax->len : 20;
            printf("  %s:", ax->name);
            for (size_t i = 0; i < show; i++) {
                char v[64];
                axis_label(ax, i, v, sizeof v);
                printf("%s %s %llu/%llu/%llu", i && i % 4 == 0 ? ",\n   " : i ? "," : "", v,
                       (unsigned long long)c[a][i][1], (unsigned long long)c[a][i][0],
                       (unsigned long long)c[a][i][2]);
            }
            if (show < ax->len)
                printf(", ... (%zu more values; --json lists all)", ax->len - show);
            printf("\n");
        }
    }
    printf("runs (/attempts):\n");
    for (int i = 0; i < rb->nattempts; i++) {
        const nm_attempt *a = &rb->attempts[i];
        printf("  #%d %s .. %s  status %d: %s; %d rank%s", i, a->start_time,
               a->end_time[0] ? a->end_time : "(no end)", a->status, attempt_state(a->status),
               a->ranks, a->ranks == 1 ? "" : "s");
        if (a->status != NM_ATTEMPT_RUNNING)
            printf(", %lld tasks run", (long long)a->tasks_run);
        printf("%s%s\n", a->job_id[0] ? ", job " : "", a->job_id);
    }
    if (!rb->nattempts)
        printf("  (none)\n");
    progress p = get_progress(rb, sw);
    if (p.running) {
        char ago[32], eta[32], when[32];
        struct tm tm;
        gmtime_r(&rb->mtime, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        hms(p.since_ckpt, ago, sizeof ago);
        printf("run #%d as of its last checkpoint (%s, %s ago):\n", p.attempt, when, ago);
        if (p.rate > 0) {
            hms(p.eta, eta, sizeof eta);
            printf("  %.4g tasks/s on %d rank%s (mean task %.3g s)", p.rate, p.ranks,
                   p.ranks == 1 ? "" : "s", p.mean_seconds);
            if (p.wall_rate >= 0)
                printf(", %.4g tasks/s over its wall time", p.wall_rate);
            printf("; %llu pending: ETA %s%s\n", (unsigned long long)rb->count[0], eta,
                   p.by_cost ? " (weighted by the kernel's cost estimate)" : "");
        } else
            printf("  no task finished yet\n");
        printf("  (no end recorded: if no job is running on this file, the run was killed; "
               "`neuromic run SPEC -o %s --resume` continues it)\n", path);
    }
    if (failed && rb->count[2]) {
        printf("failed tasks (%llu):\n", (unsigned long long)rb->count[2]);
        for (uint64_t t = 0; t < n; t++) {
            if (rb->status[t] != NM_TASK_FAILED)
                continue;
            char msg[NM_ERROR_LEN], point[1024] = "";
            nm_readback_error(rb, t, msg);
            if (sw)
                nm_grid_point_text(sw, t, point, sizeof point);
            printf("  task %llu (%s): %s\n", (unsigned long long)t, point, msg);
        }
    } else if (rb->count[2])
        printf("%llu failed task%s: `neuromic status %s --failed` lists them\n",
               (unsigned long long)rb->count[2], rb->count[2] == 1 ? "" : "s", path);
    for (size_t a = 0; c && sw && a < sw->naxes; a++)
        free(c[a]);
    free(c);
}

/* ---- JSON ---- */

/* Bytes of the UTF-8 sequence at p, or 0 if it is not one (a message cut
 * at its field's length may end inside a character). */
static int utf8_len(const unsigned char *p)
{
    int n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 : *p >= 0xe0 && *p <= 0xef ? 3
            : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_len(p);
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else if (n == 0)
            printf("\\ufffd"); /* not UTF-8: JSON readers would refuse the document */
        else
            fwrite(p, 1, (size_t)n, stdout);
        p += n ? n : 1;
    }
    putchar('"');
}

static void json_value(const nm_value *v)
{
    switch (v->type) {
    case NM_T_INT: printf("%lld", (long long)v->v.i); break;
    case NM_T_FLOAT:
        if (isfinite(v->v.f))
            printf("%.17g", v->v.f);
        else
            printf("null");
        break;
    case NM_T_BOOL: printf(v->v.b ? "true" : "false"); break;
    default: json_str(v->v.s); break;
    }
}

static void json_num(double x)
{
    if (isfinite(x) && x >= 0)
        printf("%.6g", x);
    else
        printf("null");
}

static void print_json(const char *path, const nm_readback *rb, const nm_sweep *sw,
                       const char *why, bool failed)
{
    printf("{\"file\": ");
    json_str(path);
    printf(", \"kernel\": ");
    json_str(rb->kernel);
    printf(", \"kernel_version\": ");
    json_str(rb->kernel_version ? rb->kernel_version : "");
    printf(",\n \"tasks\": %llu, \"done\": %llu, \"pending\": %llu, \"failed\": %llu,\n",
           (unsigned long long)rb->ntasks, (unsigned long long)rb->count[1],
           (unsigned long long)rb->count[0], (unsigned long long)rb->count[2]);
    printf(" \"axes\": ");
    uint64_t (**c)[3] = sw ? axis_counts(sw, rb) : NULL;
    if (!c) {
        printf("null, \"axes_unavailable\": ");
        json_str(sw ? "out of memory" : why);
    } else {
        printf("[");
        for (size_t a = 0; a < sw->naxes; a++) {
            const nm_axis *ax = &sw->axes[a];
            printf("%s\n  {\"name\": ", a ? "," : "");
            json_str(ax->name);
            printf(", \"values\": [");
            for (size_t i = 0; i < ax->len; i++) {
                printf(i ? ", " : "");
                if (ax->sample)
                    printf("%llu", (unsigned long long)(ax->first + i));
                else
                    json_value(&ax->values[0][i]);
            }
            const char *key[3] = {"pending", "done", "failed"};
            for (int s = 0; s < 3; s++) {
                printf("], \"%s\": [", key[s]);
                for (size_t i = 0; i < ax->len; i++)
                    printf("%s%llu", i ? ", " : "", (unsigned long long)c[a][i][s]);
            }
            printf("]}");
        }
        printf("]");
    }
    printf(",\n \"attempts\": [");
    for (int i = 0; i < rb->nattempts; i++) {
        const nm_attempt *a = &rb->attempts[i];
        printf("%s\n  {\"index\": %d, \"start_time\": ", i ? "," : "", i);
        json_str(a->start_time);
        printf(", \"end_time\": ");
        if (a->end_time[0])
            json_str(a->end_time);
        else
            printf("null");
        printf(", \"status\": %d, \"state\": ", a->status);
        json_str(attempt_state(a->status));
        printf(", \"ranks\": %d, \"tasks_run\": ", a->ranks);
        if (a->status == NM_ATTEMPT_RUNNING)
            printf("null");
        else
            printf("%lld", (long long)a->tasks_run);
        printf(", \"job_id\": ");
        json_str(a->job_id);
        printf(", \"hosts\": ");
        json_str(a->hosts);
        printf(", \"command_line\": ");
        json_str(a->command_line);
        printf("}");
    }
    printf("],\n \"progress\": ");
    progress p = get_progress(rb, sw);
    if (!p.running)
        printf("null");
    else {
        char when[32];
        struct tm tm;
        gmtime_r(&rb->mtime, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("{\"attempt\": %d, \"last_checkpoint\": \"%s\", \"seconds_since_checkpoint\": ",
               p.attempt, when);
        json_num(p.since_ckpt);
        printf(", \"ranks\": %d, \"mean_task_seconds\": ", p.ranks);
        json_num(p.rate > 0 ? p.mean_seconds : -1);
        printf(", \"tasks_per_second\": ");
        json_num(p.rate);
        printf(", \"wall_tasks_per_second\": ");
        json_num(p.wall_rate);
        printf(", \"eta_seconds\": ");
        json_num(p.eta);
        printf(", \"eta_by_cost\": %s}", p.by_cost ? "true" : "false");
    }
    if (failed) {
        printf(",\n \"failed_tasks\": [");
        bool first = true;
        for (uint64_t t = 0; t < rb->ntasks; t++) {
            if (rb->status[t] != NM_TASK_FAILED)
                continue;
            char msg[NM_ERROR_LEN];
            nm_readback_error(rb, t, msg);
            printf("%s\n  {\"task\": %llu, \"params\": {", first ? "" : ",", (unsigned long long)t);
            first = false;
            if (sw) {
                size_t *idx = calloc(sw->naxes ? sw->naxes : 1, sizeof *idx);
                bool any = false;
                if (idx)
                    nm_grid_index(sw, t, idx);
                for (size_t a = 0; idx && a < sw->naxes; a++)
                    for (size_t j = 0; j < sw->axes[a].nparams; j++) {
                        printf("%s", any ? ", " : "");
                        json_str(nm_kernel_param(sw->kernel, (size_t)sw->axes[a].param[j])->name);
                        printf(": ");
                        json_value(&sw->axes[a].values[j][idx[a]]);
                        any = true;
                    }
                free(idx);
            }
            printf("}, \"error\": ");
            json_str(msg);
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
    for (size_t a = 0; c && a < sw->naxes; a++)
        free(c[a]);
    free(c);
}

int nm_cmd_status(int argc, char **argv)
{
    status_opts so = {0};
    nm_err err = {0};
    if (nm_opts_parse(argc, argv, 2, status_optv, sizeof status_optv / sizeof *status_optv,
                      status_opt, &so, &err) != NM_OK || !so.path) {
        fprintf(stderr, "neuromic status: %s\n%s", err.msg[0] ? err.msg : "missing FILE",
                status_usage);
        return NM_ERR_INPUT;
    }
    nm_readback rb;
    nm_status st = nm_readback_open(so.path, &rb, &err);
    if (st != NM_OK) {
        fprintf(stderr, "neuromic status: %s\n", err.msg);
        nm_readback_free(&rb);
        return st;
    }
    char why[NM_ERR_MSG] = "";
    nm_sweep *sw = stored_sweep(so.path, &rb, why, sizeof why);
    if (so.json)
        print_json(so.path, &rb, sw, why, so.failed);
    else
        print_text(so.path, &rb, sw, why, so.failed);
    nm_sweep_free(sw);
    nm_readback_free(&rb);
    return fflush(stdout) == 0 ? 0 : NM_ERR_RUNTIME;
}

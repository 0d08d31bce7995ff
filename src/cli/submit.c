/* submit.c: `neuromic submit`, one sweep as a Slurm batch job.
 *
 * The job script itself is jobscripts/slurm/neuromic.sbatch, compiled in as
 * a string (the Makefile turns it into build/jobscript_slurm.h), so the
 * program and the script it submits always come from the same tree. This
 * file only fills it in: it replaces the values of the #SBATCH lines the
 * user chose on the command line, uncomments the partition and account
 * lines when given, and writes the sweep's arguments where the script's
 * marker line is, so that the rendered script needs no arguments. Then it
 * pipes the result to sbatch, whose "Submitted batch job N" line the user
 * sees as it is. Before any of that the spec is loaded and checked, so a
 * bad spec is refused here rather than in a queued job hours later. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "neuromic/internal/spec.h"
#include "neuromic/internal/submit.h"
#include "neuromic/internal/cli.h"

#include "jobscript_slurm.h" /* nm_slurm_template */

static const char submit_usage[] =
    "usage: neuromic submit SPEC -o FILE [--nodes N] [--ntasks-per-node N] [--time T]\n"
    "                       [--partition P] [--account A] [--warn SEC] [--dry-run]\n"
    "                       [--set K=V]... [--task-timeout SEC] [--force | --retry-failed]\n"
    "T is a Slurm time limit: MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.\n"
    "--warn: seconds before the limit at which the job checkpoints and requeues itself\n"
    "(default: a quarter of the limit, at most 300). --dry-run prints the job script.\n";

/* ---- a growing string ---- */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->oom)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s as one single-quoted shell word. */
static void sb_shell_word(strbuf *b, const char *s)
{
    sb_add(b, "'");
    for (; *s; s++)
        if (*s == '\'')
            sb_add(b, "'\\''");
        else
            sb_add(b, "%c", *s);
    sb_add(b, "'");
}

/* ---- options ---- */

static nm_status parse_count(const char *opt, const char *v, long *out, nm_err *err)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > 1000000)
        return nm_err_set(err, NM_ERR_INPUT, "%s: expected a whole number from 1 to 1000000, got '%s'",
                          opt, v);
    *out = n;
    return NM_OK;
}

/* Partition and account names go into #SBATCH lines: no spaces, quotes or
 * newlines, which sbatch would split or the line would not survive. */
static nm_status check_name(const char *opt, const char *v, nm_err *err)
{
    if (!*v)
        return nm_err_set(err, NM_ERR_INPUT, "%s: expected a name, got an empty string", opt);
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.,+:@", *p))
            return nm_err_set(err, NM_ERR_INPUT,
                              "%s: expected a Slurm name (letters, digits, _-.,+:@), got '%s'", opt, v);
    return NM_OK;
}

/* Reads the digits of one field of a time limit; false if there are none. */
static bool time_field(const char **p, long *v)
{
    if (!isdigit((unsigned char)**p))
        return false;
    long n = 0;
    while (isdigit((unsigned char)**p) && n < 100000000)
        n = 10 * n + (*(*p)++ - '0');
    *v = n;
    return !isdigit((unsigned char)**p);
}

nm_status nm_submit_parse_time(const char *s, long *seconds, nm_err *err)
{
    const char *p = s;
    long f[4], days = 0;
    int n = 0;
    bool has_days = false;
    if (!time_field(&p, &f[0]))
        goto bad;
    if (*p == '-') {
        has_days = true;
        days = f[0];
        p++;
        if (!time_field(&p, &f[0]))
            goto bad;
    }
    n = 1;
    while (*p == ':' && n < 3) {
        p++;
        if (!time_field(&p, &f[n++]))
            goto bad;
    }
    if (*p)
        goto bad;
    long secs;
    if (has_days) /* D-HH, D-HH:MM, D-HH:MM:SS */
        secs = days * 86400 + f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
    else if (n == 1) /* MM */
        secs = f[0] * 60;
    else if (n == 2) /* MM:SS */
        secs = f[0] * 60 + f[1];
    else /* HH:MM:SS */
        secs = f[0] * 3600 + f[1] * 60 + f[2];
    if (secs < 60 || secs > 365L * 86400)
        return nm_err_set(err, NM_ERR_INPUT,
                          "--time: '%s' is %ld s; expected at least one minute and at most a year",
                          s, secs);
    *seconds = secs;
    return NM_OK;
bad:
    return nm_err_set(err, NM_ERR_INPUT,
                      "--time: expected MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, "
                      "got '%s'",
                      s);
}

void nm_submit_opts_free(nm_submit_opts *o)
{
    free(o->run_args);
    free(o->sets);
    o->run_args = o->sets = NULL;
}

enum { S_OUTPUT = 1, S_NODES, S_NTASKS, S_TIME, S_WARN, S_PARTITION, S_ACCOUNT, S_SET,
       S_TIMEOUT, S_DRY, S_FORCE, S_RETRY };

static const nm_opt submit_opts[] = {
    {"--output", "-o", true, S_OUTPUT},       {"--nodes", NULL, true, S_NODES},
    {"--ntasks-per-node", NULL, true, S_NTASKS}, {"--time", NULL, true, S_TIME},
    {"--warn", NULL, true, S_WARN},           {"--partition", NULL, true, S_PARTITION},
    {"--account", NULL, true, S_ACCOUNT},     {"--set", NULL, true, S_SET},
    {"--task-timeout", NULL, true, S_TIMEOUT}, {"--dry-run", NULL, false, S_DRY},
    {"--force", NULL, false, S_FORCE},        {"--retry-failed", NULL, false, S_RETRY},
};

typedef struct {
    nm_submit_opts *o;
    bool force, retry;
} submit_ctx;

static nm_status submit_opt(void *ctx, const nm_opt *opt, const char *v, nm_err *err)
{
    submit_ctx *c = ctx;
    nm_submit_opts *o = c->o;
    double t;
    nm_status st = NM_OK;
    if (!opt) {
        if (o->spec)
            return nm_err_set(err, NM_ERR_INPUT, "unexpected argument '%s'", v);
        o->spec = v;
        return NM_OK;
    }
    switch (opt->id) {
    case S_OUTPUT: o->output = v; break;
    case S_NODES: st = parse_count(opt->name, v, &o->nodes, err); break;
    case S_NTASKS: st = parse_count(opt->name, v, &o->ntasks_per_node, err); break;
    case S_TIME: st = nm_submit_parse_time(v, &o->time_limit, err); break;
    case S_WARN: st = parse_count(opt->name, v, &o->warn, err); break;
    case S_PARTITION:
    case S_ACCOUNT:
        st = check_name(opt->name, v, err);
        *(opt->id == S_PARTITION ? &o->partition : &o->account) = v;
        break;
    case S_DRY: o->dry_run = true; break;
    case S_FORCE:
    case S_RETRY:
        /* Options of `neuromic run` that travel into the job unchanged. */
        *(opt->id == S_FORCE ? &c->force : &c->retry) = true;
        o->run_args[o->nrun_args++] = (char *)opt->name;
        break;
    case S_SET:
    case S_TIMEOUT:
        if (opt->id == S_SET)
            o->sets[o->nsets++] = (char *)v;
        else
            st = nm_opt_number(opt->name, v, &t, err);
        o->run_args[o->nrun_args++] = (char *)opt->name;
        o->run_args[o->nrun_args++] = (char *)v;
        break;
    }
    return st;
}

nm_status nm_submit_parse(int argc, char **argv, int first, nm_submit_opts *o, nm_err *err)
{
    memset(o, 0, sizeof *o);
    o->run_args = calloc((size_t)argc + 1, sizeof *o->run_args);
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    if (!o->run_args || !o->sets)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    submit_ctx c = {o, false, false};
    nm_status st = nm_opts_parse(argc, argv, first, submit_opts,
                                 sizeof submit_opts / sizeof *submit_opts, submit_opt, &c, err);
    if (st != NM_OK)
        return st;
    bool force = c.force, retry = c.retry;
    if (!o->spec)
        return nm_err_set(err, NM_ERR_INPUT, "missing the sweep file (SPEC)");
    if (!o->output)
        return nm_err_set(err, NM_ERR_INPUT, "missing -o FILE (the result file)");
    if (force && retry)
        return nm_err_set(err, NM_ERR_INPUT,
                          "--force (start over) and --retry-failed (continue) exclude each other");
    long limit = o->time_limit ? o->time_limit : 3600;
    if (o->warn && o->warn >= limit)
        return nm_err_set(err, NM_ERR_INPUT,
                          "--warn: %ld s is not less than the time limit (%ld s)", o->warn, limit);
    return NM_OK;
}

/* ---- rendering ---- */

/* The warning time: the user's, or a quarter of the limit, at most 5 min. */
static long warn_seconds(const nm_submit_opts *o)
{
    if (o->warn)
        return o->warn;
    long limit = o->time_limit ? o->time_limit : 3600;
    long w = limit / 4;
    return w > 300 ? 300 : w;
}

/* The job's log: next to the output, named after it ("x.h5" -> "x-JOBID.log"). */
static void sb_log_path(strbuf *b, const char *output)
{
    size_t n = strlen(output);
    if (n > 3 && !strcmp(output + n - 3, ".h5"))
        n -= 3;
    sb_add(b, "%.*s-%%j.log", (int)n, output);
}

static bool starts(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && !memcmp(line, prefix, n);
}

/* One template line, replaced when the options say so, else copied. */
static void render_line(strbuf *b, const char *line, size_t len, const nm_submit_opts *o,
                        const char *program)
{
    if (starts(line, len, "#SBATCH --job-name=")) {
        const char *base = strrchr(o->spec, '/');
        base = base ? base + 1 : o->spec;
        size_t n = strcspn(base, ".");
        sb_add(b, "#SBATCH --job-name=neuromic-");
        for (size_t i = 0; i < n; i++) /* keep the name a single word */
            sb_add(b, "%c", isalnum((unsigned char)base[i]) || base[i] == '-' ? base[i] : '_');
        sb_add(b, "\n");
    } else if (o->nodes && starts(line, len, "#SBATCH --nodes="))
        sb_add(b, "#SBATCH --nodes=%ld\n", o->nodes);
    else if (o->ntasks_per_node && starts(line, len, "#SBATCH --ntasks-per-node="))
        sb_add(b, "#SBATCH --ntasks-per-node=%ld\n", o->ntasks_per_node);
    else if (o->time_limit && starts(line, len, "#SBATCH --time=")) {
        long t = o->time_limit;
        sb_add(b, "#SBATCH --time=%ld-%02ld:%02ld:%02ld\n", t / 86400, t / 3600 % 24, t / 60 % 60,
               t % 60);
    } else if (o->partition && starts(line, len, "##SBATCH --partition="))
        sb_add(b, "#SBATCH --partition=%s\n", o->partition);
    else if (o->account && starts(line, len, "##SBATCH --account="))
        sb_add(b, "#SBATCH --account=%s\n", o->account);
    else if (starts(line, len, "#SBATCH --signal="))
        sb_add(b, "#SBATCH --signal=B:USR1@%ld\n", warn_seconds(o));
    else if (starts(line, len, "#SBATCH --output=")) {
        sb_add(b, "#SBATCH --output=");
        sb_log_path(b, o->output);
        sb_add(b, "\n");
    } else if (starts(line, len, "# @NEUROMIC_SUBMIT@")) {
        sb_add(b, "set --");
        const char *words[] = {o->spec, o->output};
        for (size_t i = 0; i < 2; i++) {
            sb_add(b, " ");
            sb_shell_word(b, words[i]);
        }
        for (size_t i = 0; i < o->nrun_args; i++) {
            sb_add(b, " ");
            sb_shell_word(b, o->run_args[i]);
        }
        sb_add(b, "\nNEUROMIC=${NEUROMIC:-");
        sb_shell_word(b, program);
        sb_add(b, "}\n");
    } else
        sb_add(b, "%.*s\n", (int)len, line);
}

nm_status nm_submit_render(const nm_submit_opts *o, const char *program, char **script,
                           nm_err *err)
{
    /* The output's name goes into the #SBATCH --output line, where Slurm
     * would split it at white space and expand % patterns. */
    if (o->output[strcspn(o->output, " \t\n%")])
        return nm_err_set(err, NM_ERR_INPUT,
                          "-o: '%s': expected a path without spaces, tabs, newlines or '%%' "
                          "(the job's log is named after it)",
                          o->output);
    if (strchr(o->spec, '\n'))
        return nm_err_set(err, NM_ERR_INPUT, "SPEC: a path with a newline cannot go into a job script");
    strbuf b = {0};
    for (const char *p = nm_slurm_template; *p;) {
        size_t len = strcspn(p, "\n");
        render_line(&b, p, len, o, program);
        p += len + (p[len] == '\n');
    }
    if (b.oom) {
        free(b.s);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    *script = b.s;
    return NM_OK;
}

/* ---- the command ---- */

/* Tasks and cost, as `plan` gives them, to choose the size of the job. */
static nm_status print_estimate(const nm_submit_opts *o, nm_err *err)
{
    nm_sweep *sw;
    nm_status st = nm_spec_load(o->spec, o->sets, o->nsets, &sw, err);
    if (st != NM_OK)
        return st;
    long ranks = (o->nodes ? o->nodes : 1) * (o->ntasks_per_node ? o->ntasks_per_node : 2);
    fprintf(stderr, "neuromic submit: %s: %llu tasks of kernel %s on %ld rank%s", o->spec,
            (unsigned long long)sw->ntasks, sw->kernel->name, ranks, ranks > 1 ? "s" : "");
    double sum, max;
    if (nm_grid_cost(sw, &sum, &max))
        fprintf(stderr, "; cost %.4g in all, %.4g per rank, longest task %.4g (relative units: "
                        "time a small run with `neuromic run` to scale them)",
                sum, sum / (double)ranks, max);
    fprintf(stderr, "\n");
    nm_sweep_free(sw);
    return NM_OK;
}

/* Pipes the script to `sbatch` (stdin), whose own output goes to ours. */
static int run_sbatch(const char *script, nm_err *err)
{
    int fd[2];
    if (pipe(fd) != 0)
        return nm_err_set(err, NM_ERR_RUNTIME, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return nm_err_set(err, NM_ERR_RUNTIME, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fd[0], 0);
        close(fd[0]);
        close(fd[1]);
        execlp("sbatch", "sbatch", (char *)NULL);
        fprintf(stderr, "neuromic submit: cannot run sbatch: %s (is Slurm installed? --dry-run "
                        "prints the job script)\n", strerror(errno));
        _exit(127);
    }
    close(fd[0]);
    size_t len = strlen(script), off = 0;
    while (off < len) {
        ssize_t n = write(fd[1], script + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* sbatch went away; its status says why */
        off += (size_t)n;
    }
    close(fd[1]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return nm_err_set(err, NM_ERR_RUNTIME, "waitpid: %s", strerror(errno));
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return NM_OK;
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127)
        return nm_err_set(err, NM_ERR_RUNTIME, "sbatch could not be run");
    return nm_err_set(err, NM_ERR_RUNTIME, "sbatch failed (%s %d); the job was not submitted",
                      WIFEXITED(ws) ? "exit status" : "signal",
                      WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
}

/* Slurm opens the job's log (next to the output) before the script runs,
 * and a job whose log directory is missing fails without a word: make it. */
static nm_status make_log_dir(const char *output, nm_err *err)
{
    char *dir = strdup(output);
    if (!dir)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    nm_status st = NM_OK;
    for (char *s = dir + 1; *s && st == NM_OK; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                st = nm_err_set(err, NM_ERR_INPUT, "-o: cannot make the directory %s: %s", dir,
                                strerror(errno));
            *s = '/';
        }
    free(dir);
    return st;
}

/* The program the job runs: this one, by absolute path. */
static void self_path(const char *argv0, char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n > 0) {
        buf[n] = 0;
        return;
    }
    if (!realpath(argv0, buf))
        snprintf(buf, size, "%s", argv0);
}

int nm_submit_main(int argc, char **argv)
{
    nm_submit_opts o;
    nm_err err = {0};
    char *script = NULL;
    char program[PATH_MAX];
    nm_status st = nm_submit_parse(argc, argv, 2, &o, &err);
    bool usage = st != NM_OK; /* the command line itself was wrong */
    if (st == NM_OK)
        st = print_estimate(&o, &err);
    if (st == NM_OK) {
        self_path(argv[0], program, sizeof program);
        st = nm_submit_render(&o, program, &script, &err);
    }
    if (st == NM_OK) {
        struct stat sb;
        bool force = false;
        for (size_t i = 0; i < o.nrun_args; i++)
            force |= !strcmp(o.run_args[i], "--force");
        if (stat(o.output, &sb) == 0)
            fprintf(stderr, "neuromic submit: %s exists; the job %s\n", o.output,
                    force ? "starts it over (--force)" : "continues it (--resume)");
        if (o.dry_run)
            fputs(script, stdout);
        else if ((st = make_log_dir(o.output, &err)) == NM_OK)
            st = run_sbatch(script, &err);
    }
    if (st != NM_OK) {
        fprintf(stderr, "neuromic submit: %s\n", err.msg);
        if (usage)
            fputs(submit_usage, stderr);
    }
    free(script);
    nm_submit_opts_free(&o);
    return st;
}

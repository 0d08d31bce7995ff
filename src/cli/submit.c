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

#include "neuromic/internal/cli.h"
#include "neuromic/internal/input.h"
#include "neuromic/internal/spec.h"
#include "neuromic/internal/submit.h"

#include "jobscript_slurm.h" /* nm_slurm_template */

static const char submit_usage[] =
    "usage: neuromic submit SPEC -o FILE [--nodes N] [--ntasks-per-node N] [--time T]\n"
    "                       [--partition P] [--account A] [--warn SEC] [--dry-run]\n"
    "                       [--set K=V]... [--task-timeout SEC] [--force | --retry-failed]\n"
    "                       [--sbatch ARG]... [--test-only] [--strict] [--calibrate N]\n"
    "T is a Slurm time limit: MINUTES, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS.\n"
    "--warn: seconds before the limit at which the job checkpoints and requeues itself\n"
    "(default: a quarter of the limit, at most 300). --dry-run prints the job script.\n"
    "--sbatch ARG: one sbatch option, passed verbatim (--sbatch --qos=long --sbatch\n"
    "--gres=gpu:1). Every submission is first checked with `sbatch --test-only`;\n"
    "--test-only does only that check. --calibrate N: run N sample tasks here first, turn\n"
    "the cost estimate into seconds and warn when --time is short for the work per rank.\n";

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
    free(o->sbatch);
    o->run_args = o->sets = o->sbatch = NULL;
}

enum { S_OUTPUT = 1, S_NODES, S_NTASKS, S_TIME, S_WARN, S_PARTITION, S_ACCOUNT, S_SET,
       S_TIMEOUT, S_DRY, S_FORCE, S_RETRY, S_SBATCH, S_TEST_ONLY, S_STRICT, S_CALIBRATE };

static const nm_opt submit_opts[] = {
    {"--output", "-o", true, S_OUTPUT},       {"--nodes", NULL, true, S_NODES},
    {"--ntasks-per-node", NULL, true, S_NTASKS}, {"--time", NULL, true, S_TIME},
    {"--warn", NULL, true, S_WARN},           {"--partition", NULL, true, S_PARTITION},
    {"--account", NULL, true, S_ACCOUNT},     {"--set", NULL, true, S_SET},
    {"--task-timeout", NULL, true, S_TIMEOUT}, {"--dry-run", NULL, false, S_DRY},
    {"--force", NULL, false, S_FORCE},        {"--retry-failed", NULL, false, S_RETRY},
    {"--sbatch", NULL, true, S_SBATCH},       {"--test-only", NULL, false, S_TEST_ONLY},
    {"--strict", NULL, false, S_STRICT},      {"--calibrate", NULL, true, S_CALIBRATE},
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
    case S_TEST_ONLY: o->test_only = true; break;
    case S_CALIBRATE: st = parse_count(opt->name, v, &o->calibrate, err); break;
    case S_SBATCH:
        /* One sbatch option, as is: it becomes an #SBATCH line and an
         * argument of sbatch, so it must be one word of one line. */
        if (v[0] != '-' || v[strcspn(v, " \t\n\r")])
            return nm_err_set(err, NM_ERR_INPUT, "--sbatch: expected one sbatch option "
                              "starting with '-', without spaces, got '%s'", v);
        o->sbatch[o->nsbatch++] = (char *)v;
        break;
    case S_STRICT:
    case S_FORCE:
    case S_RETRY:
        /* Options of `neuromic run` that travel into the job unchanged. */
        if (opt->id != S_STRICT)
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
    o->sbatch = calloc((size_t)argc + 1, sizeof *o->sbatch);
    if (!o->run_args || !o->sets || !o->sbatch)
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

/* "--job-name=neuromic-SPECNAME", one word whatever the spec's name. */
static void sb_job_name(strbuf *b, const char *spec)
{
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    size_t n = strcspn(base, ".");
    sb_add(b, "--job-name=neuromic-");
    for (size_t i = 0; i < n; i++)
        sb_add(b, "%c", isalnum((unsigned char)base[i]) || base[i] == '-' ? base[i] : '_');
}

static void sb_time(strbuf *b, long t)
{
    sb_add(b, "--time=%ld-%02ld:%02ld:%02ld", t / 86400, t / 3600 % 24, t / 60 % 60, t % 60);
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
        sb_add(b, "#SBATCH ");
        sb_job_name(b, o->spec);
        sb_add(b, "\n");
    } else if (o->nodes && starts(line, len, "#SBATCH --nodes="))
        sb_add(b, "#SBATCH --nodes=%ld\n", o->nodes);
    else if (o->ntasks_per_node && starts(line, len, "#SBATCH --ntasks-per-node="))
        sb_add(b, "#SBATCH --ntasks-per-node=%ld\n", o->ntasks_per_node);
    else if (o->time_limit && starts(line, len, "#SBATCH --time=")) {
        sb_add(b, "#SBATCH ");
        sb_time(b, o->time_limit);
        sb_add(b, "\n");
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
        for (size_t i = 0; i < o->nsbatch; i++) /* --sbatch, verbatim */
            sb_add(b, "#SBATCH %s\n", o->sbatch[i]);
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
        sb_add(b, "}\nNEUROMIC_WARN=${NEUROMIC_WARN:-%ld}\n", warn_seconds(o));
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
                        "--calibrate N turns them into seconds)",
                sum, sum / (double)ranks, max);
    fprintf(stderr, "\n");
    if (o->calibrate) {
        nm_calibration c;
        const char *mr = getenv("NEUROMIC_MAX_REQUEUES");
        st = nm_calibrate(sw, o->calibrate, &c, err);
        if (st == NM_OK)
            nm_calibrate_report(&c, ranks, o->time_limit ? o->time_limit : 3600, warn_seconds(o),
                                mr && *mr ? atol(mr) : 10, stderr);
    }
    nm_sweep_free(sw);
    return st;
}

/* sbatch's options: everything submit decides goes on sbatch's command
 * line too, where it wins over SBATCH_* variables in the environment
 * (which would win over the script's #SBATCH lines); then the --sbatch
 * options as given. *args holds the strings, NUL-separated; argv points
 * into it. */
static nm_status sbatch_args(const nm_submit_opts *o, const char *mode, strbuf *args,
                             char ***argv, nm_err *err)
{
    strbuf b = {0};
    sb_add(&b, "sbatch%c%s%c", 0, mode, 0);
    sb_job_name(&b, o->spec);
    sb_add(&b, "%c", 0);
    if (o->nodes)
        sb_add(&b, "--nodes=%ld%c", o->nodes, 0);
    if (o->ntasks_per_node)
        sb_add(&b, "--ntasks-per-node=%ld%c", o->ntasks_per_node, 0);
    sb_time(&b, o->time_limit ? o->time_limit : 3600);
    sb_add(&b, "%c", 0);
    if (o->partition)
        sb_add(&b, "--partition=%s%c", o->partition, 0);
    if (o->account)
        sb_add(&b, "--account=%s%c", o->account, 0);
    sb_add(&b, "--signal=B:USR1@%ld%c--requeue%c--open-mode=append%c--output=", warn_seconds(o), 0,
           0, 0);
    sb_log_path(&b, o->output);
    sb_add(&b, "%c", 0);
    for (size_t i = 0; i < o->nsbatch; i++)
        sb_add(&b, "%s%c", o->sbatch[i], 0);
    size_t n = 0;
    for (size_t i = 0; !b.oom && i < b.len; i++)
        n += b.s[i] == 0;
    char **v = b.oom ? NULL : calloc(n + 1, sizeof *v);
    if (!v) {
        free(b.s);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    for (size_t i = 0, k = 0; k < n; k++) {
        v[k] = b.s + i;
        i += strlen(b.s + i) + 1;
    }
    *args = b;
    *argv = v;
    return NM_OK;
}

/* SBATCH_* variables in the environment override the #SBATCH lines of a
 * job script, silently. Say which are set, and which of them an option of
 * submit overrides in turn (it is on sbatch's command line). */
extern char **environ;
static void report_sbatch_env(const nm_submit_opts *o, bool time_from_env)
{
    static const struct {
        const char *var, *opt;
        int given; /* 0 always set by submit, 1 --time, 2 --partition, 3 --account */
    } mine[] = {
        {"SBATCH_TIMELIMIT", "--time", 1},        {"SBATCH_PARTITION", "--partition", 2},
        {"SBATCH_ACCOUNT", "--account", 3},       {"SBATCH_SIGNAL", "--signal (the warning)", 0},
        {"SBATCH_JOB_NAME", "--job-name", 0},     {"SBATCH_OPEN_MODE", "--open-mode=append", 0},
        {"SBATCH_NO_REQUEUE", "--requeue", 0},    {"SBATCH_REQUEUE", "--requeue", 0},
    };
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "SBATCH_", 7) != 0)
            continue;
        size_t klen = strcspn(*e, "=");
        const char *over = NULL;
        for (size_t i = 0; i < sizeof mine / sizeof *mine && !over; i++) {
            if (strlen(mine[i].var) != klen || strncmp(*e, mine[i].var, klen) != 0)
                continue;
            bool given = mine[i].given == 0 || (mine[i].given == 1 && !time_from_env) ||
                         (mine[i].given == 2 && o->partition) || (mine[i].given == 3 && o->account);
            if (given)
                over = mine[i].opt;
        }
        for (size_t i = 0; i < o->nsbatch && !over; i++) {
            /* --sbatch --qos=x overrides SBATCH_QOS: compare the option's
             * name with the variable's, as Slurm spells them. */
            char name[64];
            size_t n = 0;
            for (const char *p = o->sbatch[i] + strspn(o->sbatch[i], "-");
                 *p && *p != '=' && n + 1 < sizeof name; p++)
                name[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
            name[n] = 0;
            if (n + 7 == klen && !strncmp(*e + 7, name, n))
                over = o->sbatch[i];
        }
        if (time_from_env && klen == 16 && !strncmp(*e, "SBATCH_TIMELIMIT", 16))
            fprintf(stderr, "neuromic submit: %s in the environment sets the time limit (no "
                            "--time given); the warning signal is timed for it\n", *e);
        else if (over)
            fprintf(stderr, "neuromic submit: %s in the environment is overridden by %s "
                            "(submit passes it on sbatch's command line)\n", *e, over);
        else
            fprintf(stderr, "neuromic submit: %s in the environment applies to the job (it "
                            "overrides the job script's #SBATCH lines)\n", *e);
    }
}

/* Runs argv (sbatch) with script on its stdin; its stderr goes to ours,
 * its stdout to out (up to len bytes) when out is given, else to ours.
 * Returns its exit status (127: could not run it), or -1 with err set. */
static int run_sbatch(char **argv, const char *script, char *out, size_t len, nm_err *err)
{
    int in[2], res[2] = {-1, -1};
    if (pipe(in) != 0 || (out && pipe(res) != 0))
        return nm_err_set(err, NM_ERR_RUNTIME, "pipe: %s", strerror(errno)), -1;
    pid_t pid = fork();
    if (pid < 0)
        return nm_err_set(err, NM_ERR_RUNTIME, "fork: %s", strerror(errno)), -1;
    if (pid == 0) {
        dup2(in[0], 0);
        if (out)
            dup2(res[1], 1);
        close(in[0]);
        close(in[1]);
        if (out) {
            close(res[0]);
            close(res[1]);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "neuromic submit: cannot run sbatch: %s (is Slurm installed? --dry-run "
                        "prints the job script)\n", strerror(errno));
        _exit(127);
    }
    close(in[0]);
    size_t n = strlen(script), off = 0;
    while (off < n) {
        ssize_t w = write(in[1], script + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break; /* sbatch went away; its status says why */
        off += (size_t)w;
    }
    close(in[1]);
    if (out) {
        close(res[1]);
        size_t got = 0;
        ssize_t r;
        while ((r = read(res[0], out + got, len - 1 - got)) != 0)
            if (r > 0 && (got += (size_t)r) >= len - 1)
                break;
            else if (r < 0 && errno != EINTR)
                break;
        out[got] = 0;
        close(res[0]);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return nm_err_set(err, NM_ERR_RUNTIME, "waitpid: %s", strerror(errno)), -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/* sbatch --test-only: would the cluster ever run this job? A job that asks
 * for more nodes, memory or time than any partition has would otherwise
 * sit PENDING for ever. */
static nm_status test_only(const nm_submit_opts *o, const char *script, nm_err *err)
{
    strbuf args;
    char **argv;
    nm_status st = sbatch_args(o, "--test-only", &args, &argv, err);
    if (st != NM_OK)
        return st;
    int rc = run_sbatch(argv, script, NULL, 0, err);
    free(argv);
    free(args.s);
    if (rc < 0)
        return NM_ERR_RUNTIME;
    if (rc == 127)
        return nm_err_set(err, NM_ERR_RUNTIME, "sbatch could not be run; nothing was queued");
    if (rc != 0)
        return nm_err_set(err, NM_ERR_INPUT, "the cluster refuses this job (`sbatch --test-only` "
                          "exit status %d, its message above); nothing was queued or created",
                          rc);
    return NM_OK;
}

/* Queues the job (sbatch --parsable) and says where its log goes. */
static nm_status queue_job(const nm_submit_opts *o, const char *script, nm_err *err)
{
    strbuf args, log = {0};
    char **argv, id[256];
    int made = 0;
    nm_status st = sbatch_args(o, "--parsable", &args, &argv, err);
    if (st == NM_OK) /* Slurm opens the log before the script runs: its directory must exist */
        st = nm_output_make_parents(o->output, &made, err);
    int rc = st == NM_OK ? run_sbatch(argv, script, id, sizeof id, err) : 0;
    if (st == NM_OK && rc != 0) {
        nm_output_unmake_parents(o->output, made); /* nothing left behind */
        st = rc < 0 ? NM_ERR_RUNTIME
             : nm_err_set(err, NM_ERR_RUNTIME, rc == 127 ? "sbatch could not be run"
                          : "sbatch failed (exit status %d); the job was not submitted", rc);
    }
    if (st == NM_OK) {
        id[strcspn(id, ";\n")] = 0; /* "JOBID" or "JOBID;CLUSTER" */
        sb_log_path(&log, o->output);
        char *pct = log.s ? strstr(log.s, "%j") : NULL;
        printf("Submitted batch job %s\n", id);
        fflush(stdout);
        fprintf(stderr, "neuromic submit: job %s; its log: %.*s%s%s; follow the sweep with "
                "`neuromic status %s`\n", id, pct ? (int)(pct - log.s) : 0, log.s ? log.s : "",
                id, pct ? pct + 2 : "", o->output);
    }
    free(log.s);
    free(argv);
    free(args.s);
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
    bool time_from_env = false;
    const char *env_time = getenv("SBATCH_TIMELIMIT");
    if (st == NM_OK && !o.time_limit && env_time && *env_time) {
        /* The limit the job will have: time the warning for it. */
        st = nm_submit_parse_time(env_time, &o.time_limit, &err);
        if (st != NM_OK)
            snprintf(err.msg, sizeof err.msg, "SBATCH_TIMELIMIT='%s' in the environment: expected "
                     "a Slurm time limit (or give --time)", env_time);
        time_from_env = true;
    }
    if (st == NM_OK)
        st = print_estimate(&o, &err);
    if (st == NM_OK) {
        self_path(argv[0], program, sizeof program);
        st = nm_submit_render(&o, program, &script, &err);
    }
    if (st == NM_OK) {
        report_sbatch_env(&o, time_from_env);
        struct stat sb;
        bool force = false;
        for (size_t i = 0; i < o.nrun_args; i++)
            force |= !strcmp(o.run_args[i], "--force");
        if (stat(o.output, &sb) == 0)
            fprintf(stderr, "neuromic submit: %s exists; the job %s\n", o.output,
                    force ? "starts it over (--force)" : "continues it (--resume)");
        if (o.dry_run)
            fputs(script, stdout);
        else if ((st = test_only(&o, script, &err)) == NM_OK && o.test_only)
            fprintf(stderr, "neuromic submit: --test-only: the cluster accepts the job; nothing "
                            "was queued\n");
        else if (st == NM_OK)
            st = queue_job(&o, script, &err);
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

/* options.c: the one command-line option parser, and the options of
 * `neuromic plan` and `neuromic run`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/submit.h"

nm_status nm_opts_parse(int argc, char **argv, int first, const nm_opt *opts, size_t nopts,
                        nm_opt_fn fn, void *ctx, nm_err *err)
{
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        nm_status st;
        if (a[0] != '-' || !a[1]) {
            st = fn(ctx, NULL, a, err);
        } else {
            const nm_opt *o = NULL;
            for (size_t k = 0; k < nopts && !o; k++)
                if (!strcmp(a, opts[k].name) || (opts[k].alias && !strcmp(a, opts[k].alias)))
                    o = &opts[k];
            if (!o)
                return nm_err_set(err, NM_ERR_INPUT, "%s: unknown option", a);
            if (o->value && i + 1 >= argc)
                return nm_err_set(err, NM_ERR_INPUT, "%s: missing its value", a);
            st = fn(ctx, o, o->value ? argv[++i] : NULL, err);
        }
        if (st != NM_OK)
            return st;
    }
    return NM_OK;
}

nm_status nm_opt_number(const char *opt, const char *arg, double *out, nm_err *err)
{
    char *end;
    double v = strtod(arg, &end);
    if (!*arg || *end || !(v >= 0) || !isfinite(v))
        return nm_err_set(err, NM_ERR_INPUT, "%s: expected a non-negative number, got '%s'", opt,
                          arg);
    *out = v;
    return NM_OK;
}

enum { O_OUTPUT = 1, O_SET, O_FORCE, O_QUIET, O_RESUME, O_RETRY, O_REPAIR, O_PROGRESS, O_TASKS, O_TIMEOUT,
       O_STRICT, O_CALIBRATE, O_RANKS, O_TIME };

static const nm_opt sweep_opts[] = {
    {"--output", "-o", true, O_OUTPUT},         {"--set", NULL, true, O_SET},
    {"--force", NULL, false, O_FORCE},          {"--quiet", NULL, false, O_QUIET},
    {"--resume", NULL, false, O_RESUME},        {"--retry-failed", NULL, false, O_RETRY},
    {"--progress", NULL, true, O_PROGRESS},     {"--tasks", NULL, true, O_TASKS},
    {"--task-timeout", NULL, true, O_TIMEOUT},  {"--repair", NULL, false, O_REPAIR},
    {"--strict", NULL, false, O_STRICT},
    {"--calibrate", NULL, true, O_CALIBRATE},   {"--ranks", NULL, true, O_RANKS},
    {"--time", NULL, true, O_TIME},
};

static nm_status sweep_opt(void *ctx, const nm_opt *opt, const char *arg, nm_err *err)
{
    nm_sweep_opts *o = ctx;
    double v;
    nm_status st = NM_OK;
    if (!opt) {
        if (o->spec)
            return nm_err_set(err, NM_ERR_INPUT, "unexpected argument '%s'", arg);
        o->spec = arg;
        return NM_OK;
    }
    switch (opt->id) {
    case O_OUTPUT: o->output = arg; break;
    case O_SET: o->sets[o->nsets++] = (char *)arg; break;
    case O_FORCE: o->force = true; break;
    case O_QUIET: o->quiet = true; break;
    case O_RESUME: o->resume = true; break;
    case O_RETRY: o->resume = o->retry_failed = true; break;
    case O_REPAIR: o->resume = o->repair = true; break;
    case O_STRICT: o->strict = true; break;
    case O_CALIBRATE:
    case O_RANKS:
        if ((st = nm_opt_number(opt->name, arg, &v, err)) == NM_OK && (v < 1 || v > 1e6))
            st = nm_err_set(err, NM_ERR_INPUT, "%s: expected a whole number from 1 to 1000000, "
                            "got '%s'", opt->name, arg);
        if (st == NM_OK)
            *(opt->id == O_RANKS ? &o->ranks : &o->calibrate) = (long)v;
        break;
    case O_TIME: st = nm_submit_parse_time(arg, &o->time_limit, err); break;
    case O_PROGRESS:
        if ((st = nm_opt_number(opt->name, arg, &v, err)) == NM_OK)
            o->progress = v;
        break;
    case O_TASKS:
        if ((st = nm_opt_number(opt->name, arg, &v, err)) == NM_OK)
            o->tasks = (long)v;
        break;
    case O_TIMEOUT:
        if ((st = nm_opt_number(opt->name, arg, &v, err)) == NM_OK)
            o->task_timeout = v;
        break;
    }
    return st;
}

nm_status nm_sweep_opts_parse(int argc, char **argv, int first, nm_sweep_opts *o, nm_err *err)
{
    memset(o, 0, sizeof *o);
    o->progress = 30;
    o->tasks = 5;
    o->task_timeout = -1;
    o->sets = calloc((size_t)argc + 1, sizeof *o->sets);
    if (!o->sets)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    nm_status st = nm_opts_parse(argc, argv, first, sweep_opts,
                                 sizeof sweep_opts / sizeof *sweep_opts, sweep_opt, o, err);
    if (st != NM_OK)
        return st;
    if (!o->spec)
        return nm_err_set(err, NM_ERR_INPUT, "missing the sweep file (SPEC)");
    if (o->output && (o->calibrate || o->ranks || o->time_limit))
        return nm_err_set(err, NM_ERR_INPUT, "--calibrate, --ranks and --time are options of "
                          "plan and submit");
    if (o->force && o->resume)
        return nm_err_set(err, NM_ERR_INPUT,
                          "--force (start over) and --resume (continue) exclude each other");
    return NM_OK;
}

void nm_sweep_opts_free(nm_sweep_opts *o)
{
    free(o->sets);
    o->sets = NULL;
}

int nm_sweep_cmd(int argc, char **argv,
                 int (*fn)(int argc, char **argv, const nm_sweep_opts *o))
{
    nm_sweep_opts o;
    nm_err err = {0};
    int rc;
    if (nm_sweep_opts_parse(argc, argv, 2, &o, &err) != NM_OK) {
        fprintf(stderr, "neuromic %s: %s\n(see `neuromic --help`)\n", argv[1], err.msg);
        rc = NM_ERR_INPUT;
    } else
        rc = fn(argc, argv, &o);
    nm_sweep_opts_free(&o);
    return rc;
}

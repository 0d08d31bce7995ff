/* merge.c: `neuromic merge OUT IN...`, one result file from several whose
 * sweeps differ only in the values of one axis (no MPI).
 *
 * Each input's sweep is parsed again from the spec text and --set overrides
 * stored in it. Against the first input, every other must have the same
 * kernel (and version: checked with the file, as --resume does), base seed,
 * fixed values, axes (names, parameters, order, and for a design its method
 * and ranges) and the same values on every axis but one, the same one for
 * all; the first difference found is named otherwise. The values of that
 * axis are joined in the order the files are given (--sort: ascending) and
 * must not repeat; a design's points must join into one run of its
 * sequence. The union is written out as a spec of its own (stored in the
 * merged file as spec_text), parsed like any spec, and the file is made by
 * nm_store_merge exactly as a run of that spec would make it. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/prov.h"
#include "neuromic/internal/run.h"
#include "neuromic/internal/sha256.h"
#include "neuromic/internal/spec.h"
#include "neuromic/internal/store.h"

typedef struct {
    const char *out;
    const char **in;
    size_t nin;
    bool sort, force;
} merge_opts;

enum { MO_SORT, MO_FORCE };

static nm_status merge_opt(void *ctx, const nm_opt *o, const char *arg, nm_err *err)
{
    merge_opts *m = ctx;
    if (!o) {
        if (!m->out)
            m->out = arg;
        else
            m->in[m->nin++] = arg;
        return NM_OK;
    }
    if (o->id == MO_SORT)
        m->sort = true;
    else
        m->force = true;
    return NM_OK;
}

/* ---- comparing sweeps ---- */

static bool value_same(const nm_value *a, const nm_value *b)
{
    switch (a->type) {
    case NM_T_INT: return a->v.i == b->v.i;
    case NM_T_FLOAT: return memcmp(&a->v.f, &b->v.f, sizeof a->v.f) == 0;
    case NM_T_BOOL: return a->v.b == b->v.b;
    case NM_T_CHOICE: return strcmp(a->v.s, b->v.s) == 0;
    }
    return false;
}

static const char *pname(const nm_sweep *sw, int p) { return nm_kernel_param(sw->kernel, (size_t)p)->name; }

static bool design_same(const nm_design *a, const nm_design *b)
{
    if (a->method != b->method || a->scramble != b->scramble || a->nparams != b->nparams)
        return false;
    for (size_t j = 0; j < a->nparams; j++) {
        const nm_design_param *p = &a->params[j], *q = &b->params[j];
        if (p->param != q->param || p->log != q->log || p->nlist != q->nlist)
            return false;
        if (!p->nlist && (!value_same(&p->from, &q->from) || !value_same(&p->to, &q->to)))
            return false;
        for (size_t i = 0; i < p->nlist; i++)
            if (!value_same(&p->list[i], &q->list[i]))
                return false;
    }
    return true;
}

/* Whether axis a of x and y hold the same values (same structure assumed). */
static bool axis_values_same(const nm_axis *a, const nm_axis *b)
{
    if (a->sample)
        return a->first == b->first && a->len == b->len;
    if (a->len != b->len)
        return false;
    for (size_t j = 0; j < a->nparams; j++)
        for (size_t i = 0; i < a->len; i++)
            if (!value_same(&a->values[j][i], &b->values[j][i]))
                return false;
    return true;
}

/* Everything but the axes' values. NM_ERR_INPUT naming the first
 * difference between file x (sweep a) and file y (sweep b). */
static nm_status same_structure(const char *x, const nm_sweep *a, const char *y,
                                const nm_sweep *b, nm_err *err)
{
    if (strcmp(a->kernel->name, b->kernel->name))
        return nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s is a sweep of kernel %s, %s of %s",
                          x, a->kernel->name, y, b->kernel->name);
    if (a->base_seed != b->base_seed)
        return nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s differ in base_seed (%" PRIu64
                          " and %" PRIu64 ")", x, y, a->base_seed, b->base_seed);
    char buf[NM_ERR_MSG];
    if (a->naxes != b->naxes)
        goto axes;
    for (size_t i = 0; i < a->naxes; i++) {
        const nm_axis *p = &a->axes[i], *q = &b->axes[i];
        if (strcmp(p->name, q->name) || p->sample != q->sample || p->nparams != q->nparams)
            goto axes;
        for (size_t j = 0; j < p->nparams; j++)
            if (p->param[j] != q->param[j])
                goto axes;
    }
    for (size_t p = 0; p < nm_kernel_nparams_all(a->kernel); p++) {
        if (nm_grid_axis_of(a, (int)p) >= 0 || value_same(&a->fixed[p], &b->fixed[p]))
            continue;
        char u[64], v[64];
        nm_value_format(&a->fixed[p], u, sizeof u);
        nm_value_format(&b->fixed[p], v, sizeof v);
        return nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s differ in fixed.%s (%s and "
                          "%s)", x, y, pname(a, (int)p), u, v);
    }
    if (a->design && !design_same(a->design, b->design))
        return nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s differ in the sample "
                          "design (method, scramble or a parameter's range); only its points "
                          "(n, skip) may differ", x, y);
    return NM_OK;
axes:;
    size_t n = 0;
    const nm_sweep *s[2] = {a, b};
    for (int w = 0; w < 2; w++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s(", w ? " and " : "");
        for (size_t i = 0; i < s[w]->naxes && n < sizeof buf; i++)
            for (size_t j = 0; j < s[w]->axes[i].nparams && n < sizeof buf; j++)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s%s",
                                      i || j ? (j ? "+" : ", ") : "",
                                      j == 0 && s[w]->axes[i].sample ? "sample:" : "",
                                      pname(s[w], s[w]->axes[i].param[j]));
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ")");
    }
    return nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s have other axes %s; merge "
                      "joins sweeps whose axes differ in their values only", x, y, buf);
}

/* ---- the union of the merge axis ---- */

typedef struct {
    size_t in, i; /* input and index on its axis */
} entry;

static const nm_axis *g_ax_of(const nm_sweep *const *sw, size_t axis, size_t in)
{
    return &sw[in]->axes[axis];
}

/* qsort has no context argument: the comparison reads these. */
static const nm_sweep *const *g_sw;
static size_t g_axis;

static int entry_cmp(const void *x, const void *y)
{
    const entry *e = x, *f = y;
    const nm_axis *a = g_ax_of(g_sw, g_axis, e->in), *b = g_ax_of(g_sw, g_axis, f->in);
    if (a->sample) {
        uint64_t u = a->first + e->i, v = b->first + f->i;
        return (u > v) - (u < v);
    }
    for (size_t j = 0; j < a->nparams; j++) {
        int r = nm_value_cmp(&a->values[j][e->i], &b->values[j][f->i]);
        if (r)
            return r;
    }
    return 0;
}

static void entry_text(const entry *e, char *buf, size_t len)
{
    const nm_axis *a = g_ax_of(g_sw, g_axis, e->in);
    if (a->sample) {
        snprintf(buf, len, "point %" PRIu64, a->first + e->i);
        return;
    }
    size_t n = 0;
    for (size_t j = 0; j < a->nparams && n < len; j++) {
        char v[64];
        nm_value_format(&a->values[j][e->i], v, sizeof v);
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", j ? " " : "", pname(g_sw[e->in],
                              a->param[j]), v);
    }
}

/* ---- the union's spec ---- */

static void yaml_value(FILE *f, const nm_value *v)
{
    switch (v->type) {
    case NM_T_INT: fprintf(f, "%" PRId64, v->v.i); break;
    case NM_T_FLOAT: fprintf(f, "%.17g", v->v.f); break;
    case NM_T_BOOL: fputs(v->v.b ? "true" : "false", f); break;
    case NM_T_CHOICE: fprintf(f, "\"%s\"", v->v.s); break;
    }
}

/* The union's spec: the first input's sweep with the joined axis. Axes
 * before a design are zip groups (one per axis, so any kind fits), the
 * design its sample: block, axes after it grid: entries, so that the order
 * of their keys gives the order of the axes. */
static nm_status union_text(const nm_sweep *sw, size_t axis, const entry *e, size_t ne,
                            const merge_opts *mo, char **text, nm_err *err)
{
    const nm_sweep *const *all = g_sw;
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    fprintf(f, "# The union of %zu result files joined along axis '%s' by neuromic merge:\n", mo->nin,
            sw->axes[axis].name);
    for (size_t k = 0; k < mo->nin; k++)
        fprintf(f, "#   %s\n", mo->in[k]);
    fprintf(f, "kernel: %s\nbase_seed: %" PRIu64 "\nfixed:\n", sw->kernel->name, sw->base_seed);
    for (size_t p = 0; p < nm_kernel_nparams_all(sw->kernel); p++) {
        if (nm_grid_axis_of(sw, (int)p) >= 0)
            continue;
        fprintf(f, "  %s: ", pname(sw, (int)p));
        yaml_value(f, &sw->fixed[p]);
        fputc('\n', f);
    }
    size_t ds = sw->naxes;
    for (size_t a = 0; a < sw->naxes; a++)
        if (sw->axes[a].sample)
            ds = a;
    nm_status st = NM_OK;
    for (size_t a = 0; a < sw->naxes; a++) {
        const nm_axis *ax = &sw->axes[a];
        if (a == 0 && ds > 0)
            fputs("zip:\n", f);
        if (a == ds + 1)
            fputs("grid:\n", f);
        if (a > ds && ax->nparams > 1) {
            st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: the union cannot be written as a "
                            "spec (zip group '%s' after the sample: block); put the sample: "
                            "block last", ax->name);
            break;
        }
        if (ax->sample) {
            const nm_design *d = sw->design;
            uint64_t first = axis == a ? all[e[0].in]->axes[a].first + e[0].i : ax->first;
            uint64_t n = axis == a ? ne : ax->len;
            fprintf(f, "sample:\n  method: %s\n  n: %" PRIu64 "\n", nm_design_methods[d->method],
                    n);
            if (d->method != NM_DESIGN_LHS)
                fprintf(f, "  skip: %" PRIu64 "\n", first);
            if (d->method == NM_DESIGN_SOBOL)
                fprintf(f, "  scramble: %s\n", d->scramble ? "true" : "false");
            fputs("  params:\n", f);
            for (size_t j = 0; j < d->nparams; j++) {
                const nm_design_param *p = &d->params[j];
                fprintf(f, "    %s: ", pname(sw, p->param));
                if (p->nlist) {
                    fputc('[', f);
                    for (size_t i = 0; i < p->nlist; i++) {
                        fputs(i ? ", " : "", f);
                        yaml_value(f, &p->list[i]);
                    }
                    fputs("]\n", f);
                } else {
                    fputs("{from: ", f);
                    yaml_value(f, &p->from);
                    fputs(", to: ", f);
                    yaml_value(f, &p->to);
                    fprintf(f, ", scale: %s}\n", p->log ? "log" : "linear");
                }
            }
            continue;
        }
        fputs(a < ds ? "  - {" : "  ", f);
        for (size_t j = 0; j < ax->nparams; j++) {
            fprintf(f, "%s%s: [", j ? ", " : "", pname(sw, ax->param[j]));
            size_t n = axis == a ? ne : ax->len;
            for (size_t i = 0; i < n; i++) {
                const nm_value *v = axis == a ? &all[e[i].in]->axes[a].values[j][e[i].i]
                                              : &ax->values[j][i];
                fputs(i ? ", " : "", f);
                yaml_value(f, v);
            }
            fputc(']', f);
        }
        fputs(a < ds ? "}\n" : "\n", f);
    }
    fprintf(f, "output:\n  checkpoint_every: %.17g\n  task_timeout: %.17g\n", sw->checkpoint_every,
            sw->task_timeout);
    if (fclose(f) != 0 && st == NM_OK)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    if (st != NM_OK) {
        free(*text);
        *text = NULL;
    }
    return st;
}

/* ---- the command ---- */

/* "A\nB\n" into a NULL-terminated array of lines (the buffer is modified). */
static char **split_lines(char *s, size_t *n)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == '\n';
    char **v = calloc(cap + 1, sizeof *v);
    *n = 0;
    for (char *p = s; v && *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = 0;
        if (*p)
            v[(*n)++] = p;
        p = e ? e + 1 : p + strlen(p);
    }
    return v;
}

static nm_status merge(const merge_opts *mo, int argc, char **argv, nm_err *err)
{
    size_t nin = mo->nin;
    nm_sweep **sw = calloc(nin, sizeof *sw);
    char **texts = calloc(nin, sizeof *texts), **ovs = calloc(nin, sizeof *ovs);
    nm_run_lock_t *locks = calloc(nin + 1, sizeof *locks);
    nm_merge_in *in = calloc(nin, sizeof *in);
    uint64_t **axmap = calloc(nin, sizeof *axmap);
    entry *e = NULL;
    char *utext = NULL;
    nm_sweep *usw = NULL;
    nm_prov prov;
    nm_prov_init(&prov);
    nm_status st = NM_OK;
    for (size_t k = 0; k <= nin && locks; k++)
        locks[k].fd = -1;
    if (!sw || !texts || !ovs || !locks || !in || !axmap)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");

    struct stat sb;
    if (st == NM_OK && !mo->force && lstat(mo->out, &sb) == 0)
        st = nm_err_set(err, NM_ERR_INPUT, "%s exists; pass --force to overwrite it", mo->out);
    /* The same file twice, or OUT among the inputs, is refused by name. */
    char (*real)[PATH_MAX] = st == NM_OK ? calloc(nin + 1, sizeof *real) : NULL;
    if (st == NM_OK && !real)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t k = 0; st == NM_OK && k < nin; k++) {
        if (!realpath(mo->in[k], real[k]))
            snprintf(real[k], PATH_MAX, "%s", mo->in[k]);
        if (realpath(mo->out, real[nin]) && !strcmp(real[nin], real[k]))
            st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s is both the output and an input",
                            mo->out);
        for (size_t j = 0; st == NM_OK && j < k; j++)
            if (!strcmp(real[j], real[k]))
                st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s is given twice (as %s and %s)",
                                real[k], mo->in[j], mo->in[k]);
    }
    free(real);

    /* Each input's sweep, from the spec it was made with. */
    for (size_t k = 0; st == NM_OK && k < nin; k++) {
        if ((st = nm_store_spec(mo->in[k], &texts[k], &ovs[k], err)))
            break;
        size_t nov;
        char **ov = split_lines(ovs[k], &nov);
        char label[PATH_MAX + 32];
        snprintf(label, sizeof label, "%s (its spec_text)", mo->in[k]);
        if (!ov)
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        else
            st = nm_spec_parse(label, texts[k], strlen(texts[k]), ov, nov, &sw[k], err);
        free(ov);
    }
    /* No run may write an input or the output meanwhile. */
    for (size_t k = 0; st == NM_OK && k <= nin; k++)
        st = nm_run_lock(k < nin ? mo->in[k] : mo->out, &locks[k], err);

    /* Everything as the first, but for the values of one axis. */
    size_t axis = SIZE_MAX;
    for (size_t k = 1; st == NM_OK && k < nin; k++) {
        if ((st = same_structure(mo->in[0], sw[0], mo->in[k], sw[k], err)))
            break;
        size_t diff[2], nd = 0;
        for (size_t a = 0; a < sw[0]->naxes; a++)
            if (!axis_values_same(&sw[0]->axes[a], &sw[k]->axes[a]) && nd < 2)
                diff[nd++] = a;
        if (nd == 0 && nin == 2)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s are the same sweep (the "
                            "same values on every axis); nothing to join", mo->in[0], mo->in[k]);
        else if (nd == 2)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s differ in the values of "
                            "two axes, '%s' and '%s'; merge joins files that differ in one axis",
                            mo->in[0], mo->in[k], sw[0]->axes[diff[0]].name,
                            sw[0]->axes[diff[1]].name);
        else if (nd == 1 && axis != SIZE_MAX && diff[0] != axis)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s and %s differ in the values of "
                            "axis '%s', the other files in those of '%s'; merge joins files that "
                            "differ in one axis", mo->in[0], mo->in[k], sw[0]->axes[diff[0]].name,
                            sw[0]->axes[axis].name);
        else if (nd == 1)
            axis = diff[0];
    }
    if (st == NM_OK && axis == SIZE_MAX)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: the files are the same sweep (the same "
                        "values on every axis); nothing to join");

    if (st == NM_OK && sw[0]->axes[axis].sample && sw[0]->design->method == NM_DESIGN_LHS)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: the files hold Latin hypercubes of "
                        "different n, and two Latin hypercubes are not one; join random or "
                        "sobol designs (n and skip), or run one lhs design");

    /* The joined axis: given order or sorted; no value twice. */
    size_t ne = 0;
    for (size_t k = 0; st == NM_OK && k < nin; k++)
        ne += sw[k]->axes[axis].len;
    if (st == NM_OK && !(e = malloc(ne * sizeof *e)))
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    g_sw = (const nm_sweep *const *)sw;
    g_axis = axis;
    entry *sorted = st == NM_OK ? malloc(ne * sizeof *sorted) : NULL;
    if (st == NM_OK && !sorted)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    if (st == NM_OK) {
        size_t n = 0;
        for (size_t k = 0; k < nin; k++)
            for (size_t i = 0; i < sw[k]->axes[axis].len; i++)
                e[n++] = (entry){k, i};
        memcpy(sorted, e, ne * sizeof *e);
        qsort(sorted, ne, sizeof *sorted, entry_cmp);
        for (size_t j = 1; j < ne && st == NM_OK; j++)
            if (!entry_cmp(&sorted[j - 1], &sorted[j])) {
                char v[256];
                entry_text(&sorted[j], v, sizeof v);
                const entry *x = sorted[j - 1].in < sorted[j].in ? &sorted[j - 1] : &sorted[j];
                const entry *y = x == &sorted[j] ? &sorted[j - 1] : &sorted[j];
                st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: %s of axis '%s' is in %s and "
                                "in %s; each value must come from one file", v,
                                sw[0]->axes[axis].name, mo->in[x->in], mo->in[y->in]);
            }
        if (st == NM_OK && mo->sort)
            memcpy(e, sorted, ne * sizeof *e);
    }
    free(sorted);
    if (st == NM_OK && sw[0]->axes[axis].sample) {
        uint64_t first = sw[e[0].in]->axes[axis].first + e[0].i;
        for (size_t j = 0; st == NM_OK && j < ne; j++) {
            uint64_t at = sw[e[j].in]->axes[axis].first + e[j].i;
            if (at != first + j)
                st = nm_err_set(err, NM_ERR_INPUT, "cannot merge: the joined design goes from "
                                "point %" PRIu64 " to point %" PRIu64 " (in %s); its points must "
                                "follow each other (%s)", first + j - 1, at, mo->in[e[j].in],
                                at > first + j ? "a part is missing" : "give the files in the "
                                "order of their points, or --sort");
        }
    }

    /* The union's spec, parsed like any other. */
    if (st == NM_OK)
        st = union_text(sw[0], axis, e, ne, mo, &utext, err);
    if (st == NM_OK) {
        nm_err pe = {0};
        if (nm_spec_parse("(the union's spec)", utext, strlen(utext), NULL, 0, &usw, &pe) != NM_OK)
            st = nm_err_set(err, pe.code, "cannot merge: the union of the files is not a sweep "
                            "neuromic can run: %s", pe.msg);
    }
    for (size_t k = 0; st == NM_OK && k < nin; k++) {
        if (!(axmap[k] = calloc(sw[k]->axes[axis].len, sizeof **axmap)))
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        in[k] = (nm_merge_in){mo->in[k], sw[k], axmap[k]};
    }
    for (size_t j = 0; st == NM_OK && j < ne; j++)
        axmap[e[j].in][e[j].i] = j;

    /* The root attributes that describe the union; the rest are input 0's. */
    if (st == NM_OK) {
        char sha[65], when[32], *cmd = NULL, *from = NULL;
        size_t clen = 0, flen = 0;
        FILE *c = open_memstream(&cmd, &clen), *fr = open_memstream(&from, &flen);
        for (int i = 0; c && i < argc; i++)
            fprintf(c, "%s%s", i ? " " : "", argv[i]);
        for (size_t k = 0; fr && k < nin; k++)
            fprintf(fr, "%s%s", k ? "\n" : "", mo->in[k]);
        if (c)
            fclose(c);
        if (fr)
            fclose(fr);
        nm_sha256_hex(utext, strlen(utext), sha);
        nm_utc_now(when);
        if (!cmd || !from || nm_prov_set_s(&prov, "spec_path", "") ||
            nm_prov_set_s(&prov, "spec_text", utext) || nm_prov_set_s(&prov, "spec_sha256", sha) ||
            nm_prov_set_s(&prov, "overrides", "") ||
            nm_prov_set_i(&prov, "tasks", (int64_t)usw->ntasks) ||
            nm_prov_set_s(&prov, "merged_from", from) ||
            nm_prov_set_s(&prov, "merge_command_line", cmd) ||
            nm_prov_set_s(&prov, "merge_time", when))
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        free(cmd);
        free(from);
    }
    if (st == NM_OK)
        st = nm_store_merge(mo->out, usw, axis, in, nin, &prov, mo->force, err);
    if (st == NM_OK)
        printf("neuromic: merged %zu files into %s: axis '%s' now has %zu values, %" PRIu64
               " tasks\n",
               nin, mo->out, usw->axes[axis].name, ne, usw->ntasks);

    for (size_t k = 0; locks && k <= nin; k++)
        nm_run_unlock(&locks[k]);
    for (size_t k = 0; k < nin; k++) {
        if (sw)
            nm_sweep_free(sw[k]);
        if (texts)
            free(texts[k]);
        if (ovs)
            free(ovs[k]);
        if (axmap)
            free(axmap[k]);
    }
    nm_prov_free(&prov);
    nm_sweep_free(usw);
    free(utext);
    free(e);
    free(sw);
    free(texts);
    free(ovs);
    free(locks);
    free(in);
    free(axmap);
    return st;
}

int nm_cmd_merge(int argc, char **argv)
{
    static const nm_opt opts[] = {{"--sort", NULL, false, MO_SORT},
                                  {"--force", NULL, false, MO_FORCE}};
    merge_opts mo = {0};
    nm_err err = {0};
    mo.in = calloc((size_t)argc + 1, sizeof *mo.in);
    if (!mo.in) {
        fprintf(stderr, "neuromic merge: out of memory\n");
        return NM_ERR_RUNTIME;
    }
    nm_status st = nm_opts_parse(argc, argv, 2, opts, sizeof opts / sizeof *opts, merge_opt, &mo,
                                 &err);
    if (st == NM_OK && mo.nin < 2)
        st = nm_err_set(&err, NM_ERR_INPUT, "expected OUT and at least two input files "
                        "(neuromic merge OUT IN IN... [--sort] [--force])");
    if (st == NM_OK)
        st = merge(&mo, argc, argv, &err);
    if (st != NM_OK)
        fprintf(stderr, "neuromic merge: %s\n", err.msg);
    free(mo.in);
    return st;
}

/* build.c: interpretation of the parsed sweep file: the tree into a
 * validated nm_sweep. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

/* ------------------------------------------------------------------ */
/* Interpretation                                                      */
/* ------------------------------------------------------------------ */

/* Keys of a mapping must be scalars, each once. */
nm_status spec_map_check(nm_err *err, const ynode *m, const char *path)
{
    for (size_t i = 0; i < YPAIRS(m); i++) {
        const ynode *k = YKEY(m, i);
        if (k->kind != YN_SCALAR) {
            char got[80];
            ydescribe(k, got, sizeof got);
            return ybad(err, k, "%s%sexpected a name as key, got %s", path ? path : "",
                       path ? ": " : "", got);
        }
        for (size_t j = 0; j < i; j++) {
            const ynode *o = YKEY(m, j);
            if (o->kind == YN_SCALAR && !strcmp(o->s, k->s)) {
                char w[PATH_LEN];
                ywhere(k, o, w, sizeof w);
                if (path)
                    return ybad(err, k, "%s.%s: duplicate key '%s' (also declared at %s)", path,
                               k->s, k->s, w);
                return ybad(err, k, "%s: duplicate top-level key '%s' (also declared at %s)", k->s,
                           k->s, w);
            }
        }
    }
    return NM_OK;
}

nm_status spec_known_keys(nm_err *err, const ynode *m, const char *path, const char *const *keys,
                          int nkeys, const ynode **kn, const ynode **vn, bool keypath,
                          const char *what, const char *hint)
{
    nm_status st = spec_map_check(err, m, path);
    for (size_t i = 0; !st && i < YPAIRS(m); i++) {
        const ynode *k = YKEY(m, i);
        int r = -1;
        for (int j = 0; j < nkeys; j++)
            if (!strcmp(k->s, keys[j]))
                r = j;
        if (r < 0) {
            char dym[80];
            spec_didyoumean(k->s, keys, (size_t)nkeys, dym, sizeof dym);
            return ybad(err, k, "%s%s%s: unknown key '%s'%s%s; %s", path, keypath ? "." : "",
                        keypath ? k->s : "", k->s, what, dym, hint);
        }
        kn[r] = k;
        vn[r] = YVAL(m, i);
    }
    return st;
}

/* Index of the parameter named by key node k, or an error. */
nm_status spec_param_of(ictx *c, const ynode *k, const char *path, int *pi)
{
    *pi = nm_kernel_param_index(c->k, k->s);
    if (*pi >= 0)
        return NM_OK;
    const char **names = malloc(c->np * sizeof *names);
    if (!names)
        return spec_oom(c->err);
    for (size_t i = 0; i < c->np; i++)
        names[i] = nm_kernel_param(c->k, i)->name;
    const char *s = spec_nearest(k->s, names, c->np);
    nm_status st;
    if (s) {
        st = ybad(c->err, k, "%s: unknown parameter '%s' for kernel '%s' (did you mean '%s'?)", path,
                 k->s, c->k->name, s);
    } else {
        char list[512];
        spec_joinlist(names, c->np, list, sizeof list);
        st = ybad(c->err, k, "%s: unknown parameter '%s' for kernel '%s' (its parameters: %s)", path,
                 k->s, c->k->name, list);
    }
    free(names);
    return st;
}

/* Records that parameter pi is declared at key node k (path), or reports
 * the earlier declaration. */
nm_status spec_declare(ictx *c, int pi, const ynode *k, const char *path)
{
    decl_t *d = &c->decl[pi];
    if (d->node) {
        char w[PATH_LEN];
        ywhere(k, d->node, w, sizeof w);
        return ybad(c->err, k, "%s: parameter '%s' is declared twice (also declared at %s as %s)",
                   path, nm_kernel_param(c->k, (size_t)pi)->name, w, d->path);
    }
    d->node = k;
    snprintf(d->path, sizeof d->path, "%s", path);
    return NM_OK;
}

/* One scalar value for parameter pi: converted and checked. */
nm_status spec_conv(ictx *c, int pi, const ynode *n, const char *path, nm_value *out)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    char got[80];
    ydescribe(n, got, sizeof got);
    out->type = p->type;
    if (n->kind != YN_SCALAR)
        return ybad(c->err, n, "%s: expected a single value for %s, got %s%s", path, p->name, got,
                   n->kind == YN_SEQ && !strncmp(path, "fixed.", 6)
                       ? " (to vary a parameter, put it under grid:)"
                       : "");
    switch (p->type) {
    case NM_T_INT: {
        int r = n->plain ? spec_int_syntax(n->s, &out->v.i) : 1;
        if (r == 2)
            return ybad(c->err, n, "%s: integer %s is out of range", path, got);
        if (r)
            return ybad(c->err, n, "%s: expected an integer (%s is an int parameter), got %s", path,
                       p->name, got);
        break;
    }
    case NM_T_FLOAT: {
        int r = n->plain ? spec_float_syntax(n->s, &out->v.f) : 1;
        if (r == 2)
            return ybad(c->err, n, "%s: number %s is too large", path, got);
        if (r)
            return ybad(c->err, n, "%s: expected a number (%s is a float parameter), got %s", path,
                       p->name, got);
        break;
    }
    case NM_T_BOOL:
        if (n->plain && !strcmp(n->s, "true"))
            out->v.b = true;
        else if (n->plain && !strcmp(n->s, "false"))
            out->v.b = false;
        else
            return ybad(c->err, n, "%s: expected true or false (%s is a bool parameter), got %s",
                       path, p->name, got);
        break;
    case NM_T_CHOICE:
        out->v.s = n->s;
        break;
    }
    char why[512];
    if (!nm_param_check(p, out, why, sizeof why))
        return ybad(c->err, n, "%s: invalid value for %s: %s", path, p->name, why);
    if (p->type == NM_T_CHOICE) {
        /* Point into the kernel's own strings, which outlive the tree. */
        for (int i = 0; i < NM_MAX_CHOICES && p->choices[i]; i++)
            if (!strcmp(p->choices[i], n->s)) {
                out->v.s = p->choices[i];
                break;
            }
    }
    return NM_OK;
}

static nm_status do_grid(ictx *c, const ynode *g)
{
    if (yis_null(g))
        return NM_OK;
    if (g->kind != YN_MAP) {
        char got[80];
        ydescribe(g, got, sizeof got);
        return ybad(c->err, g, "grid: expected a mapping of parameter: list or range, got %s", got);
    }
    nm_status st = spec_map_check(c->err, g, "grid");
    for (size_t i = 0; !st && i < YPAIRS(g); i++) {
        const ynode *k = YKEY(g, i), *v = YVAL(g, i);
        char path[PATH_LEN];
        int pi;
        nm_axis *ax;
        snprintf(path, sizeof path, "grid.%s", k->s);
        if ((st = spec_param_of(c, k, path, &pi)) || (st = spec_declare(c, pi, k, path)) ||
            (st = spec_add_axis(c, k, 1, &ax)))
            break;
        ax->param[0] = pi;
        if (!(ax->name = strdup(k->s))) {
            st = spec_oom(c->err);
            break;
        }
        if ((st = spec_parse_axis(c, pi, v, path, &ax->values[0], &ax->len)))
            break;
        st = spec_check_unique(c, ax, v, v->kind == YN_SEQ ? v : NULL, path);
    }
    return st;
}

/* zip: - {A: axis, B: axis} */
static nm_status do_zip(ictx *c, const ynode *z)
{
    if (yis_null(z))
        return NM_OK;
    if (z->kind != YN_SEQ) {
        char got[80];
        ydescribe(z, got, sizeof got);
        return ybad(c->err, z,
                   "zip: expected a list of groups (- {a: [1, 2], b: [3, 4]}), got %s", got);
    }
    nm_status st = NM_OK;
    for (size_t gi = 0; !st && gi < z->n; gi++) {
        const ynode *g = z->kid[gi];
        char gpath[32];
        snprintf(gpath, sizeof gpath, "zip[%zu]", gi);
        if (g->kind != YN_MAP) {
            char got[80];
            ydescribe(g, got, sizeof got);
            return ybad(c->err, g,
                       "%s: expected a group mapping parameter: list or range ({a: [1, 2], b: "
                       "[3, 4]}), got %s",
                       gpath, got);
        }
        if (YPAIRS(g) == 0)
            return ybad(c->err, g, "%s: empty zip group; expected at least one parameter", gpath);
        nm_axis *ax;
        if ((st = spec_map_check(c->err, g, gpath)) || (st = spec_add_axis(c, g, YPAIRS(g), &ax)))
            return st;
        for (size_t j = 0; j < YPAIRS(g); j++) {
            const ynode *k = YKEY(g, j), *v = YVAL(g, j);
            char path[PATH_LEN];
            int pi;
            size_t len;
            snprintf(path, sizeof path, "%s.%s", gpath, k->s);
            if ((st = spec_param_of(c, k, path, &pi)) || (st = spec_declare(c, pi, k, path)))
                return st;
            ax->param[j] = pi;
            if (j == 0 && !(ax->name = strdup(k->s)))
                return spec_oom(c->err);
            if ((st = spec_parse_axis(c, pi, v, path, &ax->values[j], &len)))
                return st;
            if (j == 0) {
                ax->len = len;
            } else if (len != ax->len) {
                return ybad(c->err, k,
                           "%s: has %zu values but %s.%s has %zu; all parameters of a zip group "
                           "need the same number of values",
                           path, len, gpath, YKEY(g, 0)->s, ax->len);
            }
        }
        if (ax->nparams == 1) {
            const ynode *v0 = YVAL(g, 0);
            char path[PATH_LEN];
            snprintf(path, sizeof path, "%s.%s", gpath, YKEY(g, 0)->s);
            st = spec_check_unique(c, ax, v0, v0->kind == YN_SEQ ? v0 : NULL, path);
        } else {
            st = spec_check_unique(c, ax, g, NULL, gpath);
        }
    }
    return st;
}

static nm_status do_fixed(ictx *c, const ynode *f)
{
    if (yis_null(f))
        return NM_OK;
    if (f->kind != YN_MAP) {
        char got[80];
        ydescribe(f, got, sizeof got);
        return ybad(c->err, f, "fixed: expected a mapping of parameter: value, got %s", got);
    }
    nm_status st = spec_map_check(c->err, f, "fixed");
    for (size_t i = 0; !st && i < YPAIRS(f); i++) {
        const ynode *k = YKEY(f, i);
        char path[PATH_LEN];
        int pi;
        snprintf(path, sizeof path, "fixed.%s", k->s);
        if ((st = spec_param_of(c, k, path, &pi)) || (st = spec_declare(c, pi, k, path)))
            break;
        st = spec_conv(c, pi, YVAL(f, i), path, &c->sw->fixed[pi]);
    }
    return st;
}

static nm_status do_replicates(ictx *c, const ynode *k, const ynode *v)
{
    int64_t r;
    nm_status st;
    if (v->kind == YN_SEQ || v->kind == YN_MAP) {
        /* The seeds themselves (a list or range), so that a later run adds
         * replicates 10-19 to a study of `replicates: 10` with the axis in
         * the same place (--set 'replicates={from: 10, to: 19, step: 1}'). */
        int pi = nm_kernel_param_index(c->k, "seed");
        nm_axis *ax;
        if ((st = spec_declare(c, pi, k, "replicates")) || (st = spec_add_axis(c, k, 1, &ax)))
            return st;
        ax->param[0] = pi;
        if (!(ax->name = strdup("seed")))
            return spec_oom(c->err);
        if ((st = spec_parse_axis(c, pi, v, "replicates", &ax->values[0], &ax->len)))
            return st;
        return spec_check_unique(c, ax, v, v->kind == YN_SEQ ? v : NULL, "replicates");
    }
    st = spec_get_int(c->err, v, "replicates", "an integer >= 1 (the number of seeds)", &r);
    if (st)
        return st;
    if (r < 1 || r > (int64_t)AXIS_MAX) {
        char got[80];
        ydescribe(v, got, sizeof got);
        return ybad(c->err, v, "replicates: expected an integer from 1 to %u, got %s", AXIS_MAX,
                   got);
    }
    int pi = nm_kernel_param_index(c->k, "seed");
    nm_axis *ax;
    if ((st = spec_declare(c, pi, k, "replicates")) || (st = spec_add_axis(c, k, 1, &ax)))
        return st;
    ax->param[0] = pi;
    if (!(ax->name = strdup("seed")) || !(ax->values[0] = calloc((size_t)r, sizeof(nm_value))))
        return spec_oom(c->err);
    ax->len = (size_t)r;
    for (size_t i = 0; i < ax->len; i++) {
        ax->values[0][i].type = NM_T_INT;
        ax->values[0][i].v.i = (int64_t)i;
    }
    return NM_OK;
}

static nm_status do_output(ictx *c, const ynode *o)
{
    static const char *const okeys[] = {"checkpoint_every", "task_timeout"};
    if (yis_null(o))
        return NM_OK;
    if (o->kind != YN_MAP) {
        char got[80];
        ydescribe(o, got, sizeof got);
        return ybad(c->err, o, "output: expected a mapping (checkpoint_every: 60), got %s", got);
    }
    nm_status st = spec_map_check(c->err, o, "output");
    for (size_t i = 0; !st && i < YPAIRS(o); i++) {
        const ynode *k = YKEY(o, i), *v = YVAL(o, i);
        bool ckpt = !strcmp(k->s, okeys[0]);
        if (!ckpt && strcmp(k->s, okeys[1])) {
            char dym[80];
            spec_didyoumean(k->s, okeys, 2, dym, sizeof dym);
            return ybad(c->err, k, "output.%s: unknown key '%s'%s; expected checkpoint_every or "
                       "task_timeout", k->s, k->s, dym);
        }
        double x;
        char field[40];
        snprintf(field, sizeof field, "output.%s", okeys[ckpt ? 0 : 1]);
        const char *what = ckpt ? "a number of seconds > 0" : "a number of seconds >= 0 (0: none)";
        if ((st = spec_get_num(c->err, v, field, what, &x)))
            return st;
        if (ckpt ? !(x > 0) : !(x >= 0)) {
            char got[80];
            ydescribe(v, got, sizeof got);
            return ybad(c->err, v, "%s: expected %s, got %s", field, what, got);
        }
        if (ckpt)
            c->sw->checkpoint_every = x;
        else
            c->sw->task_timeout = x;
    }
    return st;
}

static void sort_axes(ictx *c)
{
    nm_sweep *sw = c->sw;
    for (size_t i = 1; i < sw->naxes; i++) {
        nm_axis a = sw->axes[i];
        struct aord o = c->aord[i];
        size_t j = i;
        for (; j > 0 && c->aord[j - 1].seq > o.seq; j--) {
            sw->axes[j] = sw->axes[j - 1];
            c->aord[j] = c->aord[j - 1];
        }
        sw->axes[j] = a;
        c->aord[j] = o;
    }
}

nm_status spec_build(nm_sweep *sw, const char *path, const ynode *root, nm_err *err)
{
    ictx c = {.err = err, .sw = sw};
    size_t nk = nm_kernel_count();
    const char **knames = calloc(nk ? nk : 1, sizeof *knames);
    if (!knames)
        return spec_oom(err);
    for (size_t i = 0; i < nk; i++)
        knames[i] = nm_kernel_at(i)->name;
    char klist[512];
    spec_joinlist(knames, nk, klist, sizeof klist);

    nm_status st = NM_OK;
    const ynode *kv = NULL;
    if (root && !yis_null(root)) {
        if ((st = spec_map_check(err, root, NULL)))
            goto done;
        for (size_t i = 0; i < YPAIRS(root); i++) {
            const ynode *k = YKEY(root, i);
            if (!spec_is_top_key(k->s)) {
                char dym[80], list[256];
                spec_didyoumean(k->s, spec_top_keys, NTOP, dym, sizeof dym);
                spec_joinlist(spec_top_keys, NTOP, list, sizeof list);
                st = ybad(err, k, "%s: unknown top-level key '%s'%s; expected one of: %s", k->s,
                         k->s, dym, list);
                goto done;
            }
        }
        kv = ymap_get(root, "kernel", NULL);
    }
    if (!kv || yis_null(kv)) {
        if (kv)
            st = ybad(err, kv, "kernel: expected a kernel name (known kernels: %s)", klist);
        else
            st = nm_err_at(err, path, 1, 1,
                           "kernel: missing required key 'kernel' (e.g. kernel: %s; known "
                           "kernels: %s)",
                           nk ? knames[0] : "probe", klist);
        goto done;
    }
    if (kv->kind != YN_SCALAR) {
        char got[80];
        ydescribe(kv, got, sizeof got);
        st = ybad(err, kv, "kernel: expected a kernel name, got %s (known kernels: %s)", got, klist);
        goto done;
    }
    if (!(c.k = nm_kernel_find(kv->s))) {
        char dym[80];
        spec_didyoumean(kv->s, knames, nk, dym, sizeof dym);
        st = ybad(err, kv, "kernel: unknown kernel '%s'%s; known kernels: %s", kv->s, dym, klist);
        goto done;
    }
    sw->kernel = c.k;
    c.np = nm_kernel_nparams_all(c.k);
    if (!(sw->fixed = calloc(c.np, sizeof *sw->fixed)) ||
        !(c.decl = calloc(c.np, sizeof *c.decl))) {
        st = spec_oom(err);
        goto done;
    }
    for (size_t i = 0; i < c.np; i++)
        sw->fixed[i] = nm_kernel_param(c.k, i)->def;

    for (size_t i = 0; !st && i < YPAIRS(root); i++) {
        const ynode *k = YKEY(root, i), *v = YVAL(root, i);
        if (!strcmp(k->s, "base_seed")) {
            int64_t s;
            const char *what = "an integer 0 <= base_seed < 2^63";
            if (!(st = spec_get_int(err, v, "base_seed", what, &s))) {
                if (s < 0) {
                    char got[80];
                    ydescribe(v, got, sizeof got);
                    st = ybad(err, v, "base_seed: expected %s, got %s", what, got);
                }
                sw->base_seed = (uint64_t)s;
            }
        } else if (!strcmp(k->s, "replicates")) {
            st = do_replicates(&c, k, v);
        } else if (!strcmp(k->s, "fixed")) {
            st = do_fixed(&c, v);
        } else if (!strcmp(k->s, "grid")) {
            st = do_grid(&c, v);
        } else if (!strcmp(k->s, "zip")) {
            st = do_zip(&c, v);
        } else if (!strcmp(k->s, "output")) {
            st = do_output(&c, v);
        }
    }
    /* The design is drawn from base_seed, wherever that key is. */
    for (size_t i = 0; !st && i < YPAIRS(root); i++)
        if (!strcmp(YKEY(root, i)->s, "sample") && !yis_null(YVAL(root, i)))
            st = spec_do_sample(&c, YKEY(root, i), YVAL(root, i));
    if (st)
        goto done;

    sort_axes(&c);
    sw->ntasks = 1;
    for (size_t i = 0; i < sw->naxes; i++) {
        const nm_axis *a = &sw->axes[i];
        if (sw->ntasks > TASKS_MAX / a->len) {
            st = ybad(err, c.aord[i].node,
                     "%s: with this axis the sweep has more than 2^62 tasks (%" PRIu64
                     " before it, times %zu values)",
                     a->name, sw->ntasks, a->len);
            goto done;
        }
        sw->ntasks *= a->len;
    }
    st = nm_grid_check_outputs(sw, err);
    if (st == NM_OK)
        st = nm_grid_layout(sw, err);
    /* Combinations the ranges cannot express, for every point: a sweep
     * that would fail tasks for its own parameters is a bad spec. */
    if (st == NM_OK)
        st = nm_grid_check_points(sw, err);
done:
    free(knames);
    free(c.decl);
    free(c.aord);
    return st;
}

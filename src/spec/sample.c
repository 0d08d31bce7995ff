/* sample.c: the `sample:` block of a sweep file, a sampling design over
 * named parameters, read into one axis named `sample`.
 *
 *   sample:
 *     method: sobol            # random, lhs or sobol (required)
 *     n: 256                   # number of points (required, >= 1)
 *     skip: 0                  # random, sobol: start at point `skip` of the sequence
 *     scramble: true           # sobol: random digital shift from base_seed (default true)
 *     params:                  # parameter -> range or list (at least one)
 *       lr: {from: 1e-4, to: 1e-1, scale: log}
 *       N: {from: 10, to: 100}          # int: every integer equally likely
 *       model: [mlp, nmlp]              # a list: each value equally likely
 *
 * The points themselves come from src/grid/design.c. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

enum { S_METHOD, S_N, S_SKIP, S_SCRAMBLE, S_PARAMS, S_N_KEYS };
static const char *const sample_keys[S_N_KEYS] = {"method", "n", "skip", "scramble", "params"};

enum { P_FROM, P_TO, P_SCALE, P_N_KEYS };
static const char *const prange_keys[P_N_KEYS] = {"from", "to", "scale"};

/* One end of a range for parameter p, converted and checked. */
static nm_status range_end(ictx *c, int pi, const ynode *n, const char *path, nm_value *out)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    nm_status st;
    out->type = p->type;
    if (p->type == NM_T_INT) {
        char what[128];
        snprintf(what, sizeof what, "an integer (%s is an int parameter)", p->name);
        st = spec_get_int(c->err, n, path, what, &out->v.i);
    } else {
        st = spec_get_num(c->err, n, path, "a number", &out->v.f);
    }
    if (st)
        return st;
    char why[512];
    if (!nm_param_check(p, out, why, sizeof why))
        return ybad(c->err, n, "%s: invalid value for %s: %s", path, p->name, why);
    return NM_OK;
}

static double as_double(const nm_value *v) { return v->type == NM_T_INT ? (double)v->v.i : v->v.f; }

static nm_status sample_range(ictx *c, int pi, const ynode *m, const char *path,
                              nm_design_param *dp)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    const ynode *kn[P_N_KEYS] = {0}, *vn[P_N_KEYS] = {0};
    char sub[P_N_KEYS][PATH_LEN + 8];
    nm_status st = spec_known_keys(c->err, m, path, prange_keys, P_N_KEYS, kn, vn, false, "",
                                   "a sampled range has from, to and optionally scale (linear "
                                   "or log)");
    if (st)
        return st;
    for (int j = 0; j < P_N_KEYS; j++)
        snprintf(sub[j], sizeof sub[j], "%s.%s", path, prange_keys[j]);
    if (p->type != NM_T_INT && p->type != NM_T_FLOAT)
        return ybad(c->err, m,
                    "%s: a range needs a numeric parameter, but %s is a %s parameter; give a "
                    "list of values to draw from instead",
                    path, p->name, nm_type_name(p->type));
    if (!vn[P_FROM] || !vn[P_TO])
        return ybad(c->err, m, "%s: a sampled range needs '%s' (expected {from: A, to: B} or "
                               "{from: A, to: B, scale: log})",
                    path, vn[P_FROM] ? "to" : "from");
    if ((st = range_end(c, pi, vn[P_FROM], sub[P_FROM], &dp->from)) ||
        (st = range_end(c, pi, vn[P_TO], sub[P_TO], &dp->to)))
        return st;
    if (vn[P_SCALE]) {
        const ynode *s = vn[P_SCALE];
        if (s->kind == YN_SCALAR && !strcmp(s->s, "log")) {
            dp->log = true;
        } else if (!(s->kind == YN_SCALAR && !strcmp(s->s, "linear"))) {
            char got[80];
            ydescribe(s, got, sizeof got);
            return ybad(c->err, s, "%s: expected linear or log, got %s", sub[P_SCALE], got);
        }
    }
    double lo = as_double(&dp->from), hi = as_double(&dp->to);
    if (!(lo < hi))
        return ybad(c->err, kn[P_TO], "%s: expected a value above from (%.17g), got %.17g",
                    sub[P_TO], lo, hi);
    if (dp->log && !(lo > 0))
        return ybad(c->err, kn[P_FROM], "%s: a log scale needs from > 0, got %.17g", sub[P_FROM],
                    lo);
    if (!isfinite(hi - lo) || (dp->log && !isfinite(log(hi) - log(lo))))
        return ybad(c->err, m, "%s: the range is too wide", path);
    return NM_OK;
}

static nm_status sample_list(ictx *c, int pi, const ynode *v, const char *path,
                             nm_design_param *dp)
{
    if (v->n == 0)
        return ybad(c->err, v, "%s: empty list; expected at least one value to draw from", path);
    if (v->n > AXIS_MAX)
        return ybad(c->err, v, "%s: too many values (at most %u)", path, AXIS_MAX);
    if (!(dp->list = calloc(v->n, sizeof *dp->list)))
        return spec_oom(c->err);
    dp->nlist = v->n;
    for (size_t i = 0; i < v->n; i++) {
        char ip[PATH_LEN + 24];
        snprintf(ip, sizeof ip, "%s[%zu]", path, i);
        nm_status st = spec_conv(c, pi, v->kid[i], ip, &dp->list[i]);
        if (st)
            return st;
        for (size_t j = 0; j < i; j++)
            if (nm_value_cmp(&dp->list[j], &dp->list[i]) == 0) {
                char w[PATH_LEN];
                ywhere(v->kid[i], v->kid[j], w, sizeof w);
                return ybad(c->err, v->kid[i],
                            "%s: duplicate value (also at %s as %s[%zu]); each value to draw "
                            "from must appear once",
                            ip, w, path, j);
            }
    }
    return NM_OK;
}

static nm_status sample_params(ictx *c, const ynode *m, nm_design *d)
{
    if (m->kind != YN_MAP || YPAIRS(m) == 0) {
        char got[80];
        ydescribe(m, got, sizeof got);
        return ybad(c->err, m,
                    "sample.params: expected a mapping of parameter: range or list (lr: {from: "
                    "1e-4, to: 1e-1, scale: log}), got %s",
                    got);
    }
    nm_status st = spec_map_check(c->err, m, "sample.params");
    if (st)
        return st;
    if (!(d->params = calloc(YPAIRS(m), sizeof *d->params)))
        return spec_oom(c->err);
    for (size_t i = 0; i < YPAIRS(m); i++) {
        const ynode *k = YKEY(m, i), *v = YVAL(m, i);
        char path[PATH_LEN];
        int pi;
        snprintf(path, sizeof path, "sample.params.%s", k->s);
        nm_design_param *dp = &d->params[d->nparams++];
        if ((st = spec_param_of(c, k, path, &pi)) || (st = spec_declare(c, pi, k, path)))
            return st;
        dp->param = pi;
        if (v->kind == YN_MAP) {
            st = sample_range(c, pi, v, path, dp);
        } else if (v->kind == YN_SEQ) {
            st = sample_list(c, pi, v, path, dp);
        } else {
            char got[80];
            ydescribe(v, got, sizeof got);
            st = ybad(c->err, v,
                      "%s: expected a range ({from: A, to: B}, optionally scale: log) or a list "
                      "of values to draw from, got %s",
                      path, got);
        }
        if (st)
            return st;
    }
    return NM_OK;
}

static nm_status get_count(ictx *c, const ynode *v, const char *path, const char *what,
                           int64_t min, int64_t max, int64_t *out)
{
    nm_status st = spec_get_int(c->err, v, path, what, out);
    if (st)
        return st;
    if (*out < min || *out > max) {
        char got[80];
        ydescribe(v, got, sizeof got);
        return ybad(c->err, v, "%s: expected %s, got %s", path, what, got);
    }
    return NM_OK;
}

nm_status spec_do_sample(ictx *c, const ynode *key, const ynode *m)
{
    if (m->kind != YN_MAP) {
        char got[80];
        ydescribe(m, got, sizeof got);
        return ybad(c->err, m,
                    "sample: expected a mapping (method: sobol, n: 256, params: {...}), got %s",
                    got);
    }
    const ynode *kn[S_N_KEYS] = {0}, *vn[S_N_KEYS] = {0};
    nm_status st = spec_known_keys(c->err, m, "sample", sample_keys, S_N_KEYS, kn, vn, true, "",
                                   "expected method, n, params, skip or scramble");
    if (st)
        return st;
    static const char *const need[] = {"method", "n", "params"};
    static const int needi[] = {S_METHOD, S_N, S_PARAMS};
    for (int i = 0; i < 3; i++)
        if (!vn[needi[i]])
            return ybad(c->err, key,
                        "sample: missing required key '%s' (a design needs method: random, lhs "
                        "or sobol; n: the number of points; params: the parameters' ranges)",
                        need[i]);

    nm_design *d = calloc(1, sizeof *d);
    if (!d)
        return spec_oom(c->err);
    c->sw->design = d; /* freed with the sweep whatever happens next */
    d->scramble = true;

    const ynode *mv = vn[S_METHOD];
    int method = -1;
    for (int i = 0; i < 3 && mv->kind == YN_SCALAR; i++)
        if (!strcmp(mv->s, nm_design_methods[i]))
            method = i;
    if (method < 0) {
        char got[80], dym[80] = "";
        ydescribe(mv, got, sizeof got);
        if (mv->kind == YN_SCALAR)
            spec_didyoumean(mv->s, nm_design_methods, 3, dym, sizeof dym);
        return ybad(c->err, mv, "sample.method: expected random, lhs or sobol, got %s%s", got,
                    dym);
    }
    d->method = (nm_design_method)method;
    int64_t n, skip = 0;
    if ((st = get_count(c, vn[S_N], "sample.n", "a whole number of points from 1 to 10000000",
                        1, (int64_t)AXIS_MAX, &n)))
        return st;
    d->n = (uint64_t)n;
    if (vn[S_SKIP]) {
        if (d->method == NM_DESIGN_LHS)
            return ybad(c->err, kn[S_SKIP],
                        "sample.skip: a Latin hypercube is drawn for its n as a whole and has "
                        "no sequence to skip into; use random or sobol");
        if ((st = get_count(c, vn[S_SKIP], "sample.skip",
                            "a whole number of points from 0 to 10000000", 0, (int64_t)AXIS_MAX,
                            &skip)))
            return st;
    }
    d->skip = (uint64_t)skip;
    if (vn[S_SCRAMBLE]) {
        const ynode *s = vn[S_SCRAMBLE];
        if (d->method != NM_DESIGN_SOBOL)
            return ybad(c->err, kn[S_SCRAMBLE],
                        "sample.scramble: only a sobol design is scrambled (%s points are "
                        "random already)",
                        nm_design_methods[d->method]);
        if (s->kind == YN_SCALAR && s->plain && !strcmp(s->s, "true")) {
            d->scramble = true;
        } else if (s->kind == YN_SCALAR && s->plain && !strcmp(s->s, "false")) {
            d->scramble = false;
        } else {
            char got[80];
            ydescribe(s, got, sizeof got);
            return ybad(c->err, s, "sample.scramble: expected true or false, got %s", got);
        }
    }
    if ((st = sample_params(c, vn[S_PARAMS], d)))
        return st;
    if (d->method == NM_DESIGN_SOBOL && d->nparams > 40)
        return ybad(c->err, vn[S_PARAMS],
                    "sample.params: a sobol design has at most 40 parameters (GSL's "
                    "gsl_qrng_sobol), this one %zu",
                    d->nparams);

    nm_axis *ax;
    if ((st = spec_add_axis(c, key, d->nparams, &ax)))
        return st;
    if (!(ax->name = strdup("sample")))
        return spec_oom(c->err);
    ax->sample = true;
    ax->first = d->skip;
    for (size_t j = 0; j < d->nparams; j++)
        ax->param[j] = d->params[j].param;
    if ((st = nm_design_draw(d, c->sw->base_seed, c->err)))
        return st;
    for (size_t j = 0; j < d->nparams; j++)
        if (!(ax->values[j] = calloc(d->n, sizeof(nm_value))))
            return spec_oom(c->err);
    ax->len = (size_t)d->n;
    for (size_t i = 0; i < ax->len; i++)
        for (size_t j = 0; j < d->nparams; j++)
            ax->values[j][i] = nm_design_value(&d->params[j], d->u[i * d->nparams + j]);
    return NM_OK;
}

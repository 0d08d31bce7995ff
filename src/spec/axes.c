/* axes.c: axes of a sweep file (lists and ranges) into values, and the
 * check that no value (or zip row) comes twice. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

enum { R_FROM, R_TO, R_STEP, R_NUM, R_SCALE, R_N };
static const char *const range_keys[R_N] = {"from", "to", "step", "num", "scale"};

/* uint64 distance between two int64 values. */
static uint64_t idist(int64_t a, int64_t b)
{
    return a <= b ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
}

static nm_status spec_parse_range(ictx *c, int pi, const ynode *m, const char *path, nm_value **out,
                             size_t *len)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    const ynode *kn[R_N] = {0}, *vn[R_N] = {0};
    char sub[R_N][PATH_LEN];
    nm_status st = spec_known_keys(c->err, m, path, range_keys, R_N, kn, vn, false, " in a range",
                                   "a range has from, to, and step or num (and scale with num)");
    if (st)
        return st;
    for (int j = 0; j < R_N; j++)
        snprintf(sub[j], sizeof sub[j], "%s.%s", path, range_keys[j]);
    if (p->type != NM_T_INT && p->type != NM_T_FLOAT)
        return ybad(c->err, m,
                   "%s: a range needs a numeric parameter, but %s is %s %s parameter; give a list "
                   "of values instead",
                   path, p->name, p->type == NM_T_INT ? "an" : "a", nm_type_name(p->type));
    if (!vn[R_FROM] || !vn[R_TO])
        return ybad(c->err, m, "%s: a range needs '%s' (expected {from: A, to: B, step: S} or "
                              "{from: A, to: B, num: N})",
                   path, vn[R_FROM] ? "to" : "from");
    if (vn[R_STEP] && vn[R_NUM]) {
        const ynode *later = kn[R_STEP]->seq > kn[R_NUM]->seq ? kn[R_STEP] : kn[R_NUM];
        return ybad(c->err, later, "%s: give either step or num, not both", path);
    }
    if (!vn[R_STEP] && !vn[R_NUM])
        return ybad(c->err, m,
                   "%s: a range needs 'step' (from, from+step, ... up to to) or 'num' (that many "
                   "evenly spaced values)",
                   path);
    if (vn[R_SCALE] && !vn[R_NUM])
        return ybad(c->err, kn[R_SCALE],
                   "%s: scale is only allowed with num (a step range is always linear)",
                   sub[R_SCALE]);
    bool logscale = false;
    if (vn[R_SCALE]) {
        const ynode *s = vn[R_SCALE];
        if (s->kind == YN_SCALAR && !strcmp(s->s, "log")) {
            logscale = true;
        } else if (!(s->kind == YN_SCALAR && !strcmp(s->s, "linear"))) {
            char got[80];
            ydescribe(s, got, sizeof got);
            return ybad(c->err, s, "%s: expected linear or log, got %s", sub[R_SCALE], got);
        }
    }
    int64_t num = 0;
    if (vn[R_NUM]) {
        if ((st = spec_get_int(c->err, vn[R_NUM], sub[R_NUM], "a whole number of values >= 1", &num)))
            return st;
        if (num < 1) {
            char got[80];
            ydescribe(vn[R_NUM], got, sizeof got);
            return ybad(c->err, vn[R_NUM], "%s: expected a whole number of values >= 1, got %s",
                       sub[R_NUM], got);
        }
        if (num > (int64_t)AXIS_MAX)
            return ybad(c->err, vn[R_NUM], "%s: %" PRId64 " values is too many (at most %u)",
                       sub[R_NUM], num, AXIS_MAX);
    }

    nm_value *vals = NULL;
    size_t n = 0;
    bool isint = p->type == NM_T_INT;
    if (isint) {
        char what[128];
        snprintf(what, sizeof what, "an integer (%s is an int parameter)", p->name);
        int64_t from, to, step = 0;
        if ((st = spec_get_int(c->err, vn[R_FROM], sub[R_FROM], what, &from)) ||
            (st = spec_get_int(c->err, vn[R_TO], sub[R_TO], what, &to)) ||
            (vn[R_STEP] && (st = spec_get_int(c->err, vn[R_STEP], sub[R_STEP], what, &step))))
            return st;
        uint64_t d = idist(from, to);
        if (vn[R_STEP]) {
            if (step == 0)
                return ybad(c->err, vn[R_STEP], "%s: step must not be 0", sub[R_STEP]);
            if ((to > from && step < 0) || (to < from && step > 0))
                return ybad(c->err, vn[R_STEP],
                           "%s: step %" PRId64 " points away from 'to' (from %" PRId64
                           " to %" PRId64 " needs a %s step)",
                           sub[R_STEP], step, from, to, to > from ? "positive" : "negative");
            uint64_t sa = step < 0 ? (uint64_t)0 - (uint64_t)step : (uint64_t)step;
            uint64_t q = d / sa;
            if (q >= AXIS_MAX)
                return ybad(c->err, m, "%s: the range has too many values (at most %u)", path,
                           AXIS_MAX);
            n = (size_t)q + 1;
        } else if (!logscale) {
            n = (size_t)num;
            if (num > 1 && d % (uint64_t)(num - 1))
                return ybad(c->err, m,
                           "%s: %" PRId64 " evenly spaced values from %" PRId64 " to %" PRId64
                           " are not all integers (%s is an int parameter); change from, to or "
                           "num, or use step",
                           path, num, from, to, p->name);
            uint64_t sa = num > 1 ? d / (uint64_t)(num - 1) : 0;
            step = 0; /* as a signed stride below */
            if (to < from)
                step = -(int64_t)sa;
            else
                step = (int64_t)sa;
        } else {
            n = (size_t)num;
        }
        if (!(vals = calloc(n, sizeof *vals)))
            return spec_oom(c->err);
        if (!logscale) {
            for (size_t i = 0; i < n; i++) {
                vals[i].type = NM_T_INT;
                vals[i].v.i = (int64_t)((uint64_t)from + (uint64_t)i * (uint64_t)step);
            }
        } else {
            if (from <= 0 || to <= 0) {
                free(vals);
                return ybad(c->err, m, "%s: a log range needs from > 0 and to > 0", path);
            }
            double lf = log10((double)from), lt = log10((double)to);
            for (size_t i = 0; i < n; i++) {
                vals[i].type = NM_T_INT;
                if (i == 0) {
                    vals[i].v.i = from;
                } else if (i == n - 1) {
                    vals[i].v.i = to;
                } else {
                    double x = pow(10.0, lf + (double)i * (lt - lf) / (double)(n - 1));
                    double r = nearbyint(x);
                    if (fabs(x - r) > 1e-9 * fmax(1.0, fabs(x))) {
                        free(vals);
                        return ybad(c->err, m,
                                   "%s: log range value %.17g is not an integer (%s is an int "
                                   "parameter); change from, to or num",
                                   path, x, p->name);
                    }
                    vals[i].v.i = (int64_t)r;
                }
            }
        }
    } else {
        double from, to, step = 0;
        if ((st = spec_get_num(c->err, vn[R_FROM], sub[R_FROM], "a number", &from)) ||
            (st = spec_get_num(c->err, vn[R_TO], sub[R_TO], "a number", &to)) ||
            (vn[R_STEP] && (st = spec_get_num(c->err, vn[R_STEP], sub[R_STEP], "a number", &step))))
            return st;
        if (vn[R_STEP]) {
            if (step == 0)
                return ybad(c->err, vn[R_STEP], "%s: step must not be 0", sub[R_STEP]);
            if ((to > from && step < 0) || (to < from && step > 0))
                return ybad(c->err, vn[R_STEP],
                           "%s: step %g points away from 'to' (from %g to %g needs a %s step)",
                           sub[R_STEP], step, from, to, to > from ? "positive" : "negative");
            double q = (to - from) / step;
            if (!isfinite(q) || q + 1e-9 >= (double)AXIS_MAX)
                return ybad(c->err, m, "%s: the range has too many values (at most %u)", path,
                           AXIS_MAX);
            n = (size_t)floor(q + 1e-9) + 1;
            if (!(vals = calloc(n, sizeof *vals)))
                return spec_oom(c->err);
            for (size_t i = 0; i < n; i++) {
                double x = from + (double)i * step;
                if (i == n - 1 && fabs(x - to) <= 1e-9 * fabs(step))
                    x = to;
                vals[i].type = NM_T_FLOAT;
                vals[i].v.f = x;
            }
        } else {
            n = (size_t)num;
            if (logscale && (from <= 0 || to <= 0))
                return ybad(c->err, m, "%s: a log range needs from > 0 and to > 0", path);
            double lf = logscale ? log10(from) : from, lt = logscale ? log10(to) : to;
            double stride = n > 1 ? (lt - lf) / (double)(n - 1) : 0;
            if (!isfinite(stride))
                return ybad(c->err, m, "%s: the range is too wide", path);
            if (!(vals = calloc(n, sizeof *vals)))
                return spec_oom(c->err);
            for (size_t i = 0; i < n; i++) {
                double x = lf + (double)i * stride;
                if (logscale)
                    x = pow(10.0, x);
                if (i == 0)
                    x = from;
                else if (i == n - 1)
                    x = to;
                vals[i].type = NM_T_FLOAT;
                vals[i].v.f = x;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        char why[512], v[64];
        if (!nm_param_check(p, &vals[i], why, sizeof why)) {
            nm_value_format(&vals[i], v, sizeof v);
            free(vals);
            return ybad(c->err, m, "%s: the range gives %s, which is invalid for %s: %s", path, v,
                       p->name, why);
        }
    }
    *out = vals;
    *len = n;
    return NM_OK;
}

/* The values of an axis for parameter pi: a list or a range. */
nm_status spec_parse_axis(ictx *c, int pi, const ynode *v, const char *path, nm_value **out,
                            size_t *len)
{
    *out = NULL;
    *len = 0;
    if (v->kind == YN_MAP)
        return spec_parse_range(c, pi, v, path, out, len);
    if (v->kind != YN_SEQ) {
        char got[80];
        ydescribe(v, got, sizeof got);
        return ybad(c->err, v,
                   "%s: expected a list of values ([1, 2, 3]) or a range ({from: 0, to: 1, step: "
                   "0.1} or {from: 0, to: 1, num: 11}), got %s%s",
                   path, got, yis_null(v) ? "" : " (to fix a single value, use fixed:)");
    }
    if (v->n == 0)
        return ybad(c->err, v, "%s: empty list; an axis needs at least one value", path);
    if (v->n > AXIS_MAX)
        return ybad(c->err, v, "%s: too many values (at most %u)", path, AXIS_MAX);
    nm_value *vals = calloc(v->n, sizeof *vals);
    if (!vals)
        return spec_oom(c->err);
    for (size_t i = 0; i < v->n; i++) {
        char ip[PATH_LEN];
        snprintf(ip, sizeof ip, "%s[%zu]", path, i);
        nm_status st = spec_conv(c, pi, v->kid[i], ip, &vals[i]);
        if (st) {
            free(vals);
            return st;
        }
    }
    *out = vals;
    *len = v->n;
    return NM_OK;
}

/* A new axis with nparams parameters, appended to sw (so nm_sweep_free
 * frees it whatever state it is left in). */
nm_status spec_add_axis(ictx *c, const ynode *declnode, size_t nparams, nm_axis **ax)
{
    nm_sweep *sw = c->sw;
    if (sw->naxes == c->acap) {
        size_t cap = c->acap ? 2 * c->acap : 8;
        nm_axis *a = realloc(sw->axes, cap * sizeof *a);
        if (!a)
            return spec_oom(c->err);
        sw->axes = a;
        struct aord *o = realloc(c->aord, cap * sizeof *o);
        if (!o)
            return spec_oom(c->err);
        c->aord = o;
        c->acap = cap;
    }
    nm_axis *a = &sw->axes[sw->naxes];
    memset(a, 0, sizeof *a);
    c->aord[sw->naxes].seq = declnode->seq;
    c->aord[sw->naxes++].node = declnode;
    a->line = declnode->line;
    a->col = declnode->col;
    a->param = calloc(nparams, sizeof *a->param);
    a->values = calloc(nparams, sizeof *a->values);
    if (!a->param || !a->values)
        return spec_oom(c->err);
    a->nparams = nparams;
    *ax = a;
    return NM_OK;
}

typedef struct {
    const nm_axis *ax;
    size_t row;
} rowref;

static int rows_cmp(const rowref *a, const rowref *b)
{
    for (size_t j = 0; j < a->ax->nparams; j++) {
        int r = nm_value_cmp(&a->ax->values[j][a->row], &a->ax->values[j][b->row]);
        if (r)
            return r;
    }
    return 0;
}

static int rowref_cmp(const void *x, const void *y)
{
    const rowref *a = x, *b = y;
    int r = rows_cmp(a, b);
    return r ? r : (a->row > b->row) - (a->row < b->row);
}

/* No value (row, for a zip group) twice. list: the list node when the axis
 * is a single parameter given as a list (errors then point at the item). */
nm_status spec_check_unique(ictx *c, const nm_axis *ax, const ynode *at, const ynode *list,
                              const char *path)
{
    if (ax->len < 2)
        return NM_OK;
    rowref *r = malloc(ax->len * sizeof *r);
    if (!r)
        return spec_oom(c->err);
    for (size_t i = 0; i < ax->len; i++)
        r[i] = (rowref){ax, i};
    qsort(r, ax->len, sizeof *r, rowref_cmp);
    size_t a = 0, b = SIZE_MAX;
    for (size_t i = 1; i < ax->len; i++)
        if (!rows_cmp(&r[i - 1], &r[i]) && (i == 1 || rows_cmp(&r[i - 2], &r[i - 1])) &&
            r[i].row < b) {
            a = r[i - 1].row;
            b = r[i].row;
        }
    free(r);
    if (b == SIZE_MAX)
        return NM_OK;
    char v[64];
    if (ax->nparams == 1) {
        nm_value_format(&ax->values[0][b], v, sizeof v);
        if (list) {
            char w[PATH_LEN];
            ywhere(list->kid[b], list->kid[a], w, sizeof w);
            return ybad(c->err, list->kid[b],
                       "%s[%zu]: duplicate value %s (also at %s as %s[%zu]); each value of an axis "
                       "must appear once",
                       path, b, v, w, path, a);
        }
        return ybad(c->err, at,
                   "%s: the range gives the value %s more than once (values %zu and %zu)", path, v,
                   a, b);
    }
    char row[512];
    size_t used = 0;
    row[0] = '\0';
    for (size_t j = 0; j < ax->nparams && used < sizeof row; j++) {
        nm_value_format(&ax->values[j][b], v, sizeof v);
        int w = snprintf(row + used, sizeof row - used, "%s%s=%s", j ? ", " : "",
                         nm_kernel_param(c->k, (size_t)ax->param[j])->name, v);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return ybad(c->err, at,
               "%s: rows %zu and %zu are the same (%s); each combination of a zip group must "
               "appear once",
               path, a, b, row);
}

/* grid: NAME: axis */

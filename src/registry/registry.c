/* kernel.c: the registry of compiled-in kernels, parameter schemas and
 * access to a point's values. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/registry.h"

#define NM_KERNEL(name) extern const nm_kernel nm_kernel_##name;
#include "registry.def"
#undef NM_KERNEL

static const nm_kernel *const registry[] = {
#define NM_KERNEL(name) &nm_kernel_##name,
#include "registry.def"
#undef NM_KERNEL
};

/* The replicate index every kernel has. 2^53 keeps it exact in a double. */
static const nm_param seed_param = {
    .name = "seed",
    .type = NM_T_INT,
    .def = {.type = NM_T_INT, .v.i = 0},
    .has_lo = true, .lo = 0,
    .has_hi = true, .hi = 9007199254740992.0,
    .unit = "",
    .doc = "replicate index; with base_seed it selects the task's random streams",
};

size_t nm_kernel_count(void) { return sizeof registry / sizeof registry[0]; }

const nm_kernel *nm_kernel_at(size_t i) { return i < nm_kernel_count() ? registry[i] : NULL; }

const nm_kernel *nm_kernel_find(const char *name)
{
    for (size_t i = 0; i < nm_kernel_count(); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

size_t nm_kernel_nparams_all(const nm_kernel *k) { return k->nparams + 1; }

const nm_param *nm_kernel_param(const nm_kernel *k, size_t i)
{
    if (i < k->nparams)
        return &k->params[i];
    return i == k->nparams ? &seed_param : NULL;
}

int nm_kernel_param_index(const nm_kernel *k, const char *name)
{
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        if (strcmp(nm_kernel_param(k, i)->name, name) == 0)
            return (int)i;
    return -1;
}

const char *nm_type_name(nm_type t)
{
    switch (t) {
    case NM_T_INT: return "int";
    case NM_T_FLOAT: return "float";
    case NM_T_BOOL: return "bool";
    case NM_T_CHOICE: return "choice";
    }
    return "?";
}

void nm_value_format(const nm_value *v, char *buf, size_t len)
{
    switch (v->type) {
    case NM_T_INT:
        snprintf(buf, len, "%" PRId64, v->v.i);
        break;
    case NM_T_FLOAT:
        /* Shortest of %.15g / %.17g that reads back exactly. */
        snprintf(buf, len, "%.15g", v->v.f);
        if (strtod(buf, NULL) != v->v.f)
            snprintf(buf, len, "%.17g", v->v.f);
        break;
    case NM_T_BOOL:
        snprintf(buf, len, "%s", v->v.b ? "true" : "false");
        break;
    case NM_T_CHOICE:
        snprintf(buf, len, "%s", v->v.s);
        break;
    }
}

bool nm_param_check(const nm_param *p, const nm_value *v, char *why, size_t whylen)
{
    /* The value is formatted only for a message: checking millions of axis
     * values must not cost a printf each. */
    char got[64];
    if (v->type != p->type) {
        snprintf(why, whylen, "wrong type");
        return false;
    }
    if (p->type == NM_T_INT || p->type == NM_T_FLOAT) {
        double x = p->type == NM_T_INT ? (double)v->v.i : v->v.f;
        bool low = p->has_lo && x < p->lo, high = p->has_hi && x > p->hi;
        if (isfinite(x) && !low && !high)
            return true;
        nm_value_format(v, got, sizeof got);
        if (!isfinite(x))
            snprintf(why, whylen, "must be a finite number (got %s)", got);
        else
            snprintf(why, whylen, "must be %s %g (got %s)", low ? ">=" : "<=", low ? p->lo : p->hi,
                     got);
        return false;
    }
    if (p->type == NM_T_CHOICE) {
        for (int i = 0; i < NM_MAX_CHOICES && p->choices[i]; i++)
            if (strcmp(p->choices[i], v->v.s) == 0)
                return true;
        size_t n = (size_t)snprintf(why, whylen, "must be one of");
        for (int i = 0; i < NM_MAX_CHOICES && p->choices[i] && n < whylen; i++)
            n += (size_t)snprintf(why + n, whylen - n, "%s %s", i ? "," : "", p->choices[i]);
        if (n < whylen)
            snprintf(why + n, whylen - n, " (got '%s')", v->v.s);
        return false;
    }
    return true;
}

/* Kernel code asks for its own parameters by name or index; a wrong name,
 * index or type is a bug in the kernel. It is not a reason to abort the
 * rank: the thread remembers it, the call returns a zero value, and the
 * runner fails the task with the message (the conformance test and the
 * first task of any sweep catch it). */
static _Thread_local char misuse_msg[200];
static _Thread_local bool misused;

const char *nm_kernel_misuse(void) { return misused ? misuse_msg : NULL; }
void nm_kernel_misuse_clear(void) { misused = false; }

static const nm_value *misuse(nm_type type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const nm_value *misuse(nm_type type, const char *fmt, ...)
{
    static const nm_value zero[] = {
        [NM_T_INT] = {.type = NM_T_INT, .v.i = 0},
        [NM_T_FLOAT] = {.type = NM_T_FLOAT, .v.f = 0.0},
        [NM_T_BOOL] = {.type = NM_T_BOOL, .v.b = false},
        [NM_T_CHOICE] = {.type = NM_T_CHOICE, .v.s = ""},
    };
    if (!misused) { /* keep the first */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(misuse_msg, sizeof misuse_msg, fmt, ap);
        va_end(ap);
        misused = true;
    }
    return &zero[type];
}

static const nm_value *get_at(const nm_point *p, int i, nm_type type)
{
    if (i < 0 || (size_t)i >= nm_kernel_nparams_all(p->kernel))
        return misuse(type, "kernel '%s' asked for parameter index %d, which it does not have",
                      p->kernel->name, i);
    if (p->vals[i].type != type)
        return misuse(type, "kernel '%s' asked for parameter '%s' as %s, but it is %s",
                      p->kernel->name, nm_kernel_param(p->kernel, (size_t)i)->name,
                      nm_type_name(type), nm_type_name(p->vals[i].type));
    return &p->vals[i];
}

static const nm_value *get(const nm_point *p, const char *name, nm_type type)
{
    int i = nm_kernel_param_index(p->kernel, name);
    if (i < 0)
        return misuse(type, "kernel '%s' asked for parameter '%s' that it does not declare",
                      p->kernel->name, name);
    return get_at(p, i, type);
}

int64_t nm_get_i(const nm_point *p, const char *name) { return get(p, name, NM_T_INT)->v.i; }
double nm_get_f(const nm_point *p, const char *name) { return get(p, name, NM_T_FLOAT)->v.f; }
bool nm_get_b(const nm_point *p, const char *name) { return get(p, name, NM_T_BOOL)->v.b; }
const char *nm_get_s(const nm_point *p, const char *name) { return get(p, name, NM_T_CHOICE)->v.s; }

int64_t nm_get_i_at(const nm_point *p, int i) { return get_at(p, i, NM_T_INT)->v.i; }
double nm_get_f_at(const nm_point *p, int i) { return get_at(p, i, NM_T_FLOAT)->v.f; }
bool nm_get_b_at(const nm_point *p, int i) { return get_at(p, i, NM_T_BOOL)->v.b; }
const char *nm_get_s_at(const nm_point *p, int i) { return get_at(p, i, NM_T_CHOICE)->v.s; }

static void *out_at(nm_result *res, int i, const char *name, nm_otype type)
{
    static _Thread_local char msg[160];
    const char *why = NULL;
    if (!res->outputs || i < 0 || (size_t)i >= res->nout)
        why = "is not an output index";
    else if (strcmp(res->outputs[i].name, name) != 0)
        why = "is another output's index";
    else if (res->outputs[i].type != type)
        why = "has the other element type";
    if (!why)
        return res->out[i];
    if (!res->misuse) {
        snprintf(msg, sizeof msg, "kernel asked for output %d as '%s' (%s), which %s", i, name,
                 type == NM_O_F64 ? "float64" : "int64", why);
        res->misuse = msg;
    }
    return NULL;
}

double *nm_out_f64(nm_result *res, int i, const char *name) { return out_at(res, i, name, NM_O_F64); }
int64_t *nm_out_i64(nm_result *res, int i, const char *name) { return out_at(res, i, name, NM_O_I64); }

size_t nm_output_size(const nm_output *o, const nm_point *p)
{
    size_t n = 1;
    for (int d = 0; d < o->ndims; d++)
        n *= o->extent(p, d);
    return n;
}

/* ---- the contract check (the rules are listed in kernel.h) ---- */

static bool is_ident(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static bool nonempty(const char *s) { return s && *s; }

#define BROKEN(...) (snprintf(why, len, __VA_ARGS__), false)

static bool validate_params(const nm_kernel *k, char *why, size_t len)
{
    for (size_t i = 0; i < k->nparams; i++) {
        const nm_param *p = &k->params[i];
        char r[128];
        if (!is_ident(p->name))
            return BROKEN("kernel '%s': parameter %zu: name '%s' is not an identifier", k->name,
                          i, p->name ? p->name : "(null)");
        if (!strcmp(p->name, "seed"))
            return BROKEN("kernel '%s': declares 'seed', which the engine adds", k->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(k->params[j].name, p->name))
                return BROKEN("kernel '%s': parameter '%s' declared twice", k->name, p->name);
        if (!p->unit || !nonempty(p->doc))
            return BROKEN("kernel '%s': parameter '%s': unit and doc must be set", k->name,
                          p->name);
        if (p->def.type != p->type)
            return BROKEN("kernel '%s': parameter '%s': default is %s, declared %s", k->name,
                          p->name, nm_type_name(p->def.type), nm_type_name(p->type));
        if (p->has_lo && p->has_hi && p->lo > p->hi)
            return BROKEN("kernel '%s': parameter '%s': range [%g, %g] is empty", k->name,
                          p->name, p->lo, p->hi);
        if (p->type == NM_T_CHOICE && !p->choices[0])
            return BROKEN("kernel '%s': parameter '%s': no choices", k->name, p->name);
        if (p->type == NM_T_CHOICE && !p->def.v.s)
            return BROKEN("kernel '%s': parameter '%s': no default", k->name, p->name);
        if (!nm_param_check(p, &p->def, r, sizeof r))
            return BROKEN("kernel '%s': parameter '%s': default %s", k->name, p->name, r);
    }
    return true;
}

static bool validate_outputs(const nm_kernel *k, const nm_point *def, char *why, size_t len)
{
    for (size_t i = 0; i < k->noutputs; i++) {
        const nm_output *o = &k->outputs[i];
        if (!is_ident(o->name))
            return BROKEN("kernel '%s': output %zu: name '%s' is not an identifier (a hole in "
                          "an indexed table?)", k->name, i, o->name ? o->name : "(null)");
        if (nm_kernel_param_index(k, o->name) >= 0)
            return BROKEN("kernel '%s': output '%s' has the name of a parameter", k->name,
                          o->name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(k->outputs[j].name, o->name))
                return BROKEN("kernel '%s': output '%s' declared twice", k->name, o->name);
        if (o->type != NM_O_F64 && o->type != NM_O_I64)
            return BROKEN("kernel '%s': output '%s': unknown element type", k->name, o->name);
        if (!o->unit || !nonempty(o->doc))
            return BROKEN("kernel '%s': output '%s': unit and doc must be set", k->name, o->name);
        if (o->ndims < 0 || o->ndims > NM_MAX_DIMS)
            return BROKEN("kernel '%s': output '%s': %d dimensions (0..%d allowed)", k->name,
                          o->name, o->ndims, NM_MAX_DIMS);
        if (o->ndims > 0 && !o->extent)
            return BROKEN("kernel '%s': output '%s': dimensions but no extent()", k->name,
                          o->name);
        for (int d = 0; d < o->ndims; d++) {
            if (!is_ident(o->dims[d]))
                return BROKEN("kernel '%s': output '%s': dimension %d has no valid name",
                              k->name, o->name, d);
            if (o->extent(def, d) < 1)
                return BROKEN("kernel '%s': output '%s': extent of '%s' at the default point "
                              "is 0", k->name, o->name, o->dims[d]);
        }
    }
    return true;
}

bool nm_kernel_validate(const nm_kernel *k, char *why, size_t len)
{
    if (!nonempty(k->name) || !nonempty(k->version) || !nonempty(k->doc) || !k->run)
        return BROKEN("kernel '%s': name, version, doc and run must be set",
                      k->name ? k->name : "(null)");
    if ((k->nparams && !k->params) || (k->noutputs && !k->outputs))
        return BROKEN("kernel '%s': a table is missing", k->name);
    if (!k->prepare != !k->release)
        return BROKEN("kernel '%s': prepare and release come together", k->name);
    if (!validate_params(k, why, len))
        return false;
    /* The default point: every default, seed 0. */
    nm_value vals[k->nparams + 1];
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        vals[i] = nm_kernel_param(k, i)->def;
    nm_point def = {.kernel = k, .vals = vals};
    nm_kernel_misuse_clear();
    if (!validate_outputs(k, &def, why, len))
        return false;
    char r[256] = "";
    if (k->check && !k->check(&def, r, sizeof r))
        return BROKEN("kernel '%s': check() rejects the default point: %s", k->name, r);
    if (k->cost) {
        double c = k->cost(&def);
        if (!(c > 0) || !isfinite(c))
            return BROKEN("kernel '%s': cost() at the default point is %g, not positive",
                          k->name, c);
    }
    if (nm_kernel_misuse())
        return BROKEN("%s", nm_kernel_misuse());
    return true;
}

int nm_value_cmp(const nm_value *a, const nm_value *b)
{
    switch (a->type) {
    case NM_T_INT: return (a->v.i > b->v.i) - (a->v.i < b->v.i);
    case NM_T_FLOAT: return (a->v.f > b->v.f) - (a->v.f < b->v.f);
    case NM_T_BOOL: return (int)a->v.b - (int)b->v.b;
    case NM_T_CHOICE: return strcmp(a->v.s, b->v.s);
    }
    return 0;
}

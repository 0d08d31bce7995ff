/* kernel.c: the registry of compiled-in kernels, parameter schemas and
 * access to a point's values. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/kernel.h"

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

/* Kernel code asks for its own parameters by name; a wrong name or type is
 * a bug in the kernel, caught the first time it runs. */
static const nm_value *get(const nm_point *p, const char *name, nm_type type)
{
    int i = nm_kernel_param_index(p->kernel, name);
    if (i < 0 || p->vals[i].type != type) {
        fprintf(stderr, "neuromic: kernel '%s' asked for parameter '%s' %s\n", p->kernel->name,
                name, i < 0 ? "that it does not declare" : "with the wrong type");
        abort();
    }
    return &p->vals[i];
}

int64_t nm_get_i(const nm_point *p, const char *name) { return get(p, name, NM_T_INT)->v.i; }
double nm_get_f(const nm_point *p, const char *name) { return get(p, name, NM_T_FLOAT)->v.f; }
bool nm_get_b(const nm_point *p, const char *name) { return get(p, name, NM_T_BOOL)->v.b; }
const char *nm_get_s(const nm_point *p, const char *name) { return get(p, name, NM_T_CHOICE)->v.s; }

size_t nm_output_size(const nm_output *o, const nm_point *p)
{
    size_t n = 1;
    for (int d = 0; d < o->ndims; d++)
        n *= o->extent(p, d);
    return n;
}

/* kernel.h: the kernel interface, parameter points and the kernel registry.
 *
 * A kernel is a self-contained model: it declares its parameters (name, type,
 * default, range or choices, unit, doc), its outputs (name, element type,
 * dimensions whose extents may depend on the parameters), an optional relative
 * cost estimate, and run(), which fills one result row for one parameter point.
 * Kernels know nothing of MPI or HDF5.
 *
 * Every kernel implicitly has the integer parameter `seed` (the replicate
 * index, default 0): it is added by the engine, not declared by the kernel.
 *
 * Adding a kernel: write src/kernels/<name>/<name>.c defining
 * `const nm_kernel nm_kernel_<name>` and add one line to src/registry/registry.def. */
#ifndef NEUROMIC_KERNEL_H
#define NEUROMIC_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "neuromic/error.h"

typedef enum { NM_T_INT, NM_T_FLOAT, NM_T_BOOL, NM_T_CHOICE } nm_type;

/* One parameter value. Strings (choices) point into the kernel's choices
 * array or into the spec and live as long as the spec. */
typedef struct {
    nm_type type;
    union {
        int64_t i;
        double f;
        bool b;
        const char *s;
    } v;
} nm_value;

#define NM_MAX_CHOICES 16

typedef struct {
    const char *name;
    nm_type type;
    nm_value def;      /* default; def.type must equal type */
    bool has_lo, has_hi;
    double lo, hi;     /* inclusive bounds for INT and FLOAT */
    const char *choices[NM_MAX_CHOICES]; /* CHOICE: allowed strings, NULL-terminated */
    const char *unit;  /* "" if dimensionless */
    const char *doc;   /* one line */
} nm_param;

#define NM_MAX_DIMS 4

typedef enum { NM_O_F64, NM_O_I64 } nm_otype;

/* The parameter point a task runs: one value per kernel parameter, in the
 * order of the kernel's schema, followed by `seed`. */
typedef struct nm_point nm_point;

typedef struct {
    const char *name;
    nm_otype type;
    int ndims;                        /* 0 for a scalar */
    const char *dims[NM_MAX_DIMS];    /* dimension names, e.g. "record" */
    /* Extent of dimension d for this point. Must not depend on grid axes
     * (checked when the sweep is validated). NULL when ndims == 0. */
    size_t (*extent)(const nm_point *p, int d);
    const char *unit;
    const char *doc;
} nm_output;

/* What run() gets besides its point: random streams and failure reporting. */
typedef struct nm_task nm_task;

/* Output storage for one task: out[k] points to the row of output k
 * (double* for NM_O_F64, int64_t* for NM_O_I64), with as many elements as
 * the product of the output's extents. */
typedef struct {
    void **out;
    size_t nout;
} nm_result;

typedef struct nm_kernel {
    const char *name;
    const char *version; /* bump when results for the same point change */
    const char *doc;     /* one line */
    const nm_param *params;
    size_t nparams;
    const nm_output *outputs;
    size_t noutputs;
    /* Optional relative cost of a point (any positive unit); NULL = all equal. */
    double (*cost)(const nm_point *p);
    /* Returns 0 on success; on failure returns nm_task_fail(t, ...). */
    int (*run)(const nm_point *p, nm_task *t, nm_result *res);
} nm_kernel;

/* ---- registry ---- */
size_t nm_kernel_count(void);
const nm_kernel *nm_kernel_at(size_t i);
const nm_kernel *nm_kernel_find(const char *name); /* NULL if unknown */

/* ---- schema ---- */
/* Index of parameter `name` in the kernel's point layout (including the
 * implicit `seed`, which is last), or -1. */
int nm_kernel_param_index(const nm_kernel *k, const char *name);
/* Schema of parameter i of the point layout (i == nparams is `seed`). */
const nm_param *nm_kernel_param(const nm_kernel *k, size_t i);
size_t nm_kernel_nparams_all(const nm_kernel *k); /* nparams + 1 */
/* Checks a value against a parameter's schema (type already converted).
 * On failure writes a reason such as "must be >= 0" into why. */
bool nm_param_check(const nm_param *p, const nm_value *v, char *why, size_t whylen);
/* Formats a value as text (for plans, errors, describe). */
void nm_value_format(const nm_value *v, char *buf, size_t len);
/* "int", "float", "bool" or "choice". */
const char *nm_type_name(nm_type t);

/* ---- points ---- */
struct nm_point {
    const nm_kernel *kernel;
    nm_value *vals; /* nm_kernel_nparams_all(kernel) values */
};
int64_t nm_get_i(const nm_point *p, const char *name);
double nm_get_f(const nm_point *p, const char *name);
bool nm_get_b(const nm_point *p, const char *name);
const char *nm_get_s(const nm_point *p, const char *name);
/* Number of elements of output k for point p. */
size_t nm_output_size(const nm_output *o, const nm_point *p);

/* ---- tasks (src/task/task.c) ---- */
/* A generator of the task's own: seeded from the base seed, the stream name
 * and the values of the parameters named in `depends` (NULL-terminated; NULL
 * means every parameter of the point). Never depends on rank or order. Owned
 * by the task; valid until run() returns. Asking again for the same name in
 * the same task continues that stream. Limits: at most 16 distinct streams
 * per task, names of at most 47 bytes. Returns NULL when the stream cannot
 * be made (over a limit, a name in `depends` that is not a parameter, out of
 * memory); the task is then already marked failed with the reason, and run()
 * returns nm_task_fail(t, ...) (the first message is kept). */
gsl_rng *nm_task_rng(nm_task *t, const char *stream, const char *const *depends);
/* True when the task should stop now: its time limit (`task_timeout` in the
 * spec, or --task-timeout) has passed, or the run is being aborted. Cheap
 * (one clock read); a kernel with long loops calls it every so often (say
 * once per training cycle) and, when it is true, returns
 * nm_task_fail(t, "stopped at ..."). The engine then records the task as
 * failed with the time limit in the message. A task that overruns its limit
 * without asking is still marked failed when it returns. */
bool nm_task_expired(nm_task *t);
/* Records why the task failed; returns a non-zero value for run() to return. */
int nm_task_fail(nm_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

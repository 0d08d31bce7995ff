/* kernel.h: the kernel contract, the one header a kernel includes.
 *
 * A kernel is a self-contained model. It declares its parameters (name,
 * type, default, range or choices, unit, doc) and its outputs (name, element
 * type, dimensions whose extents may depend on the parameters), and gives
 * run(), which fills one result row for one parameter point. Optionally it
 * gives a relative cost estimate, a check of parameter combinations that the
 * ranges cannot express, and per-rank shared data (prepare/release). Kernels
 * know nothing of MPI or HDF5, and are built and unit-tested without them.
 *
 * Every kernel implicitly has the integer parameter `seed` (the replicate
 * index, default 0): the engine adds it; a kernel must not declare it.
 *
 * Adding a kernel: one folder src/kernels/<name>/ (any number of .c files
 * and private headers; the Makefile finds them and tracks their includes)
 * defining `const nm_kernel nm_kernel_<name>`, and one line NM_KERNEL(<name>)
 * in src/registry/registry.def. tests/unit/test_kernels.c then checks the
 * rules below for it (`make build/san/tests/test_kernels`).
 *
 * THE RULES (checked by nm_kernel_validate, for every registered kernel, by
 * the conformance test)
 *   - name, version and doc are non-empty; run is set.
 *   - parameter and output names are C identifiers, distinct from each other
 *     and from `seed` (they name the result file's datasets).
 *   - a default has the declared type and lies within its range or choices;
 *     lo <= hi; a choice parameter lists at least one choice.
 *   - an output has 0..NM_MAX_DIMS dimensions, each named, and an extent()
 *     when it has any; at the default point every extent is >= 1. Extents
 *     may depend on fixed parameters only (the spec reader refuses a grid
 *     axis that changes them).
 *   - at the default point, check() (if any) accepts, and cost() (if any)
 *     is positive and finite.
 *   - prepare and release come together or not at all.
 *
 * A WORKED EXAMPLE (the `probe` kernel, src/kernels/probe/probe.c, is this
 * pattern in full):
 *
 *   #include "neuromic/kernel.h"
 *
 *   // Parameter and output indices: the tables are indexed by these, so a
 *   // lookup by index cannot drift from the table.
 *   enum { P_X, P_N, P_LENGTH, NPARAMS };
 *   enum { O_VALUE, O_TRACE, NOUTPUTS };
 *
 *   static const nm_param params[NPARAMS] = {
 *       [P_X] = NM_PARAM_FLOAT_ANY("x", 0.0, "", "a real input"),
 *       [P_N] = NM_PARAM_INT("n", 1, 0, 1e9, "", "an integer input"),
 *       [P_LENGTH] = NM_PARAM_INT("length", 4, 1, 1e6, "", "length of trace"),
 *   };
 *
 *   static size_t trace_extent(const nm_point *p, int d)
 *   {
 *       return (size_t)nm_get_i_at(p, P_LENGTH);
 *   }
 *
 *   static const nm_output outputs[NOUTPUTS] = {
 *       [O_VALUE] = NM_OUTPUT_SCALAR("value", NM_O_F64, "", "x*n + U[0,1)"),
 *       [O_TRACE] = NM_OUTPUT_ARRAY("trace", NM_O_F64, "trace_i", trace_extent,
 *                                   "", "x + n*i"),
 *   };
 *
 *   // Combinations the ranges cannot express; called for every grid point
 *   // by plan, run and submit before any rank computes.
 *   static bool example_check(const nm_point *p, char *why, size_t len)
 *   {
 *       if (nm_get_i_at(p, P_N) <= nm_get_i_at(p, P_LENGTH))
 *           return true;
 *       snprintf(why, len, "n must not exceed length");
 *       return false;
 *   }
 *
 *   static int example_run(const nm_point *p, nm_task *t, nm_result *res)
 *   {
 *       double x = nm_get_f_at(p, P_X);
 *       int64_t n = nm_get_i_at(p, P_N);
 *       gsl_rng *noise = nm_task_rng(t, "noise", NULL);
 *       double *value = nm_out_f64(res, O_VALUE, "value");
 *       double *trace = nm_out_f64(res, O_TRACE, "trace");
 *       if (!noise || !value || !trace)
 *           return nm_task_fail(t, "example: no stream or output");
 *       value[0] = x * (double)n + gsl_rng_uniform(noise);
 *       for (int64_t i = 0; i < nm_get_i_at(p, P_LENGTH); i++)
 *           trace[i] = x + (double)n * (double)i;
 *       return 0;
 *   }
 *
 *   const nm_kernel nm_kernel_example = {
 *       .name = "example", .version = "1", .doc = "one line",
 *       .params = params, .nparams = NPARAMS,
 *       .outputs = outputs, .noutputs = NOUTPUTS,
 *       .check = example_check,
 *       .run = example_run,
 *   };
 *
 * A kernel that reads data files shares them across its tasks with
 * prepare/release: see nm_shared below and src/kernels/microcircuit/. */
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
    /* Left out of the streams keyed on every parameter (nm_task_rng with
     * depends NULL): for a parameter added to a kernel after results were
     * published, so that every point keeps its earlier streams (and results)
     * and points that differ only in it share them. Named in an explicit
     * `depends` list, it is keyed as any other. */
    bool unkeyed;
} nm_param;

/* Table entries without the repetition (they expand to the nm_param
 * initializers above, so tables written out in full stay valid). */
#define NM_PARAM_INT(name_, def_, lo_, hi_, unit_, doc_)                                   \
    {.name = (name_), .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = (def_)},           \
     .has_lo = true, .lo = (lo_), .has_hi = true, .hi = (hi_), .unit = (unit_), .doc = (doc_)}
#define NM_PARAM_INT_ANY(name_, def_, unit_, doc_)                                         \
    {.name = (name_), .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = (def_)},           \
     .unit = (unit_), .doc = (doc_)}
#define NM_PARAM_FLOAT(name_, def_, lo_, hi_, unit_, doc_)                                 \
    {.name = (name_), .type = NM_T_FLOAT, .def = {.type = NM_T_FLOAT, .v.f = (def_)},       \
     .has_lo = true, .lo = (lo_), .has_hi = true, .hi = (hi_), .unit = (unit_), .doc = (doc_)}
/* The same, left out of the streams keyed on every parameter (unkeyed). */
#define NM_PARAM_FLOAT_UNKEYED(name_, def_, lo_, hi_, unit_, doc_)                         \
    {.name = (name_), .type = NM_T_FLOAT, .def = {.type = NM_T_FLOAT, .v.f = (def_)},       \
     .has_lo = true, .lo = (lo_), .has_hi = true, .hi = (hi_), .unit = (unit_), .doc = (doc_), \
     .unkeyed = true}
#define NM_PARAM_FLOAT_ANY(name_, def_, unit_, doc_)                                       \
    {.name = (name_), .type = NM_T_FLOAT, .def = {.type = NM_T_FLOAT, .v.f = (def_)},       \
     .unit = (unit_), .doc = (doc_)}
#define NM_PARAM_BOOL(name_, def_, doc_)                                                   \
    {.name = (name_), .type = NM_T_BOOL, .def = {.type = NM_T_BOOL, .v.b = (def_)},         \
     .unit = "", .doc = (doc_)}
/* The choices follow the doc: NM_PARAM_CHOICE("mode", "a", "doc", "a", "b"). */
#define NM_PARAM_CHOICE(name_, def_, doc_, ...)                                            \
    {.name = (name_), .type = NM_T_CHOICE, .def = {.type = NM_T_CHOICE, .v.s = (def_)},     \
     .choices = {__VA_ARGS__}, .unit = "", .doc = (doc_)}

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

#define NM_OUTPUT_SCALAR(name_, type_, unit_, doc_)                                        \
    {.name = (name_), .type = (type_), .ndims = 0, .unit = (unit_), .doc = (doc_)}
#define NM_OUTPUT_ARRAY(name_, type_, dim_, extent_, unit_, doc_)                          \
    {.name = (name_), .type = (type_), .ndims = 1, .dims = {(dim_)}, .extent = (extent_),   \
     .unit = (unit_), .doc = (doc_)}

/* Entries of a table (params, outputs). */
#define NM_COUNT(table) (sizeof(table) / sizeof((table)[0]))

/* What run() gets besides its point: random streams and failure reporting. */
typedef struct nm_task nm_task;

/* Output storage for one task: out[k] points to the row of output k
 * (double* for NM_O_F64, int64_t* for NM_O_I64), with as many elements as
 * the product of the output's extents. Reach it through nm_out_f64 and
 * nm_out_i64, which check index, name and type. */
typedef struct {
    void **out;
    size_t nout;
    const nm_output *outputs; /* the kernel's table (set by the engine) */
    const char *misuse;       /* set by nm_out_* on a wrong index, name or type */
} nm_result;

/* Per-rank shared data, for a kernel that reads data files: see
 * nm_shared_* below. */
typedef struct nm_shared nm_shared;

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
    /* Optional. Rejects a point that the ranges cannot (nk: K < N): writes
     * why (one line; the engine adds the axis values) and returns
     * false. Called for every grid point when the spec is read, by `plan`,
     * `run` and `submit`, before any rank computes; a rejected point is a
     * bad spec (exit status 2, the axis values named). Must be cheap and
     * must not depend on files (prepare() does that). */
    bool (*check)(const nm_point *p, char *why, size_t len);
    /* Optional, on each rank once before its first task (every rank, also
     * for a --resume): reads what the kernel's tasks share (data files) and
     * hands it over with nm_shared_set; run() gets it from
     * nm_task_shared(t). It may walk the sweep's points (nm_shared_next) to
     * learn what is needed, and records each file it reads with
     * nm_shared_file, which puts the path and SHA-256 into the result
     * file's provenance (attribute data_files). Returns 0, or
     * nm_shared_fail(sh, ...) naming the file: the run then stops before any
     * task with exit status 2. */
    int (*prepare)(nm_shared *sh);
    /* Frees what prepare() handed over (called once per rank at the end). */
    void (*release)(void *data);
} nm_kernel;

/* Index of parameter `name` in the kernel's point layout (including the
 * implicit `seed`, which is last), or -1. */
int nm_kernel_param_index(const nm_kernel *k, const char *name);

/* ---- points ---- */
struct nm_point {
    const nm_kernel *kernel;
    nm_value *vals; /* nm_kernel_nparams_all(kernel) values */
};
/* Values by name (a search through the schema on each call) ... */
int64_t nm_get_i(const nm_point *p, const char *name);
double nm_get_f(const nm_point *p, const char *name);
bool nm_get_b(const nm_point *p, const char *name);
const char *nm_get_s(const nm_point *p, const char *name);
/* ... or by index into the kernel's params table (constant time). A wrong
 * name, index or type is a bug in the kernel: the call returns 0 (false,
 * "") and the task fails with a message that names the parameter. */
int64_t nm_get_i_at(const nm_point *p, int i);
double nm_get_f_at(const nm_point *p, int i);
bool nm_get_b_at(const nm_point *p, int i);
const char *nm_get_s_at(const nm_point *p, int i);

/* ---- outputs ---- */
/* The row of output i, checked against its name and element type; NULL
 * (and res->misuse set, which fails the task) when they do not match. */
double *nm_out_f64(nm_result *res, int i, const char *name);
int64_t *nm_out_i64(nm_result *res, int i, const char *name);

/* ---- tasks (src/task/task.c) ---- */
/* A generator of the task's own: seeded from the base seed, the stream name
 * and the values of the parameters named in `depends` (NULL-terminated; NULL
 * means every parameter of the point but those marked unkeyed). Never depends on rank or order. Owned
 * by the task; valid until run() returns. Asking again for the same name in
 * the same task continues that stream. Limits: at most 16 distinct streams
 * per task, names of at most 47 bytes. Returns NULL when the stream cannot
 * be made (over a limit, a name in `depends` that is not a parameter, out of
 * memory); the task is then already marked failed with the reason, and run()
 * returns nm_task_fail(t, ...) (the first message is kept). */
gsl_rng *nm_task_rng(nm_task *t, const char *stream, const char *const *depends);
/* Fills z[0..n) with independent standard normal draws from stream r, by a
 * 256-layer ziggurat (src/rng/normal.c), one 64-bit word per attempt. For a
 * task stream (xoshiro256**) the words are taken from its state inline, with
 * no call per draw, which makes it several times faster than
 * gsl_ran_gaussian_ziggurat; any other gsl_rng works too, its words built
 * from gsl_rng_get. The draws depend only on the stream, never on how they
 * are split into calls (n = 7 then 5 gives the same 12 numbers as n = 12);
 * the mapping from words to draws is in docs/ARCHITECTURE.md. */
void nm_rng_gaussians(gsl_rng *r, double *z, size_t n);
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
/* What the kernel's prepare() handed over on this rank (NULL without one). */
const void *nm_task_shared(const nm_task *t);

/* ---- shared data (prepare) ---- */
/* Walks the sweep's points, each once: *p is valid until the next call.
 * False after the last. */
bool nm_shared_next(nm_shared *sh, const nm_point **p);
/* Records a data file the kernel reads (its path as given, and SHA-256 of
 * its bytes, computed here). Returns 0, or nm_shared_fail naming the file
 * when it cannot be read. */
int nm_shared_file(nm_shared *sh, const char *path);
/* Hands over the kernel's data (freed by the kernel's release()). */
void nm_shared_set(nm_shared *sh, void *data);
/* Records why prepare failed; returns non-zero for prepare() to return. */
int nm_shared_fail(nm_shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* grid.h: a sweep's axes and the mapping task id <-> parameter point.
 *
 * A sweep is a kernel, the fixed values of its parameters, and an ordered list
 * of axes. An axis is one dimension of the grid: a single parameter taking
 * `len` values, or a zip group of parameters that take their values together
 * (the axis is named after the group's first parameter). Task ids enumerate
 * the grid in row-major (mixed radix) order: the last axis varies fastest, so
 * a task id is also the linear index of its row in every output dataset. */
#ifndef NEUROMIC_GRID_H
#define NEUROMIC_GRID_H

#include <stdint.h>

#include "neuromic/internal/registry.h"

typedef struct {
    char *name;        /* dimension name: the first parameter's name ("sample" for a design) */
    size_t len;        /* number of values (>= 1) */
    size_t nparams;    /* 1, or the size of a zip group or sampling design */
    int *param;        /* nparams indices into the point layout */
    nm_value **values; /* values[j][i]: value i of parameter j */
    int line, col;     /* where the axis was declared in the spec */
    bool sample;       /* the axis of a `sample:` design: its own values are the
                        * points' indices in the design's sequence (first,
                        * first + 1, ...) and every parameter is a coordinate */
    uint64_t first;    /* sample axes: index of point 0 (the design's skip) */
} nm_axis;

/* A sampling design (`sample:` in a spec; src/spec/sample.c): n points of
 * the unit cube, one coordinate per parameter, mapped onto each parameter's
 * range (linear or log) or list of values. Deterministic from base_seed. */
typedef enum { NM_DESIGN_RANDOM, NM_DESIGN_LHS, NM_DESIGN_SOBOL } nm_design_method;
extern const char *const nm_design_methods[3]; /* "random", "lhs", "sobol" */

typedef struct {
    int param;         /* index into the point layout */
    bool log;          /* range on a log scale */
    nm_value from, to; /* the range, both ends included (nlist == 0) */
    nm_value *list;    /* or the values drawn from, equally likely */
    size_t nlist;
} nm_design_param;

typedef struct {
    nm_design_method method;
    uint64_t n, skip;  /* points skip .. skip+n-1 of the design's sequence */
    bool scramble;     /* sobol: random digital shift from base_seed */
    size_t nparams;
    nm_design_param *params;
    double *u;         /* n x nparams unit-cube coordinates, row-major */
} nm_design;

/* Fills d->u for d->n points (d->u allocated here). NM_ERR_RUNTIME on out
 * of memory; NM_ERR_INPUT for more parameters than the method supports. */
nm_status nm_design_draw(nm_design *d, uint64_t base_seed, nm_err *err);
/* The value of a design parameter at unit coordinate u in [0, 1). */
nm_value nm_design_value(const nm_design_param *p, double u);
void nm_design_free(nm_design *d); /* NULL is harmless */
/* Coverage of the design's first `npoints` points over parameters j and k
 * (j == k: one parameter): the unit square (or interval) cut into bins x
 * bins equal cells (bins cells), *filled of them hold a point, *most is
 * the largest number of points in one cell. False on out of memory. */
bool nm_design_cells(const nm_design *d, uint64_t npoints, size_t j, size_t k, size_t bins,
                     uint64_t *filled, uint64_t *most);

/* Shape of one output, the same at every point of a sweep. */
typedef struct {
    size_t ext[NM_MAX_DIMS]; /* extents of the output's dimensions */
    size_t size;             /* elements per task: their product (1 for a scalar) */
} nm_out_layout;

typedef struct {
    const nm_kernel *kernel;
    nm_value *fixed;     /* the whole point layout: defaults, then `fixed:` */
    nm_axis *axes;
    size_t naxes;
    uint64_t ntasks;     /* product of the axes' lengths (1 with no axes) */
    uint64_t base_seed;
    double checkpoint_every; /* seconds */
    double task_timeout;     /* seconds a task may run; 0: no limit */
    char *path;          /* spec file as given */
    char *text;          /* the spec file's full text, verbatim */
    char sha256[65];     /* hex SHA-256 of text */
    char **overrides;    /* the --set arguments, in order */
    size_t noverrides;
    void *strings;       /* owned copies of string values (private) */
    nm_out_layout *layout; /* per output, computed once when the spec is read */
    nm_design *design;   /* the `sample:` block's design, or NULL */
} nm_sweep;

void nm_sweep_free(nm_sweep *sw); /* NULL is harmless */

/* Axis indices of a task (idx has naxes entries) and back. */
void nm_grid_index(const nm_sweep *sw, uint64_t task, size_t *idx);
uint64_t nm_grid_task(const nm_sweep *sw, const size_t *idx);

/* Fills p->vals (caller-allocated, nm_kernel_nparams_all values) for task. */
void nm_grid_point(const nm_sweep *sw, uint64_t task, nm_point *p);

/* Allocates a point for sw's kernel (free with nm_point_free). */
nm_point *nm_point_alloc(const nm_sweep *sw);
void nm_point_free(nm_point *p);

/* Index of the axis that parameter `param` (point layout index) is on, or -1. */
int nm_grid_axis_of(const nm_sweep *sw, int param);

/* Decomposes the task range [first, first+count) into hyperslab boxes over
 * the axes: for each box, start[] and len[] (naxes entries each) such that
 * the boxes, in order, cover the range in row-major order. Writes at most
 * 2*naxes boxes; returns the number written. */
size_t nm_grid_boxes(const nm_sweep *sw, uint64_t first, uint64_t count,
                     size_t *start, size_t *len);

/* Tasks whose costs nm_grid_cost_estimate computes one by one at most;
 * a larger grid is estimated from a random sample of this many tasks, so
 * that `plan` on a 10^12-task grid answers in a second. */
#define NM_COST_EXACT_TASKS 1000000
/* Like nm_grid_cost; returns how many tasks it looked at (all of them, or
 * the sample), 0 when the kernel has no cost estimate. */
uint64_t nm_grid_cost_estimate(const nm_sweep *sw, double *sum, double *max);
/* The kernel's cost estimate summed over every task (estimated from a
 * sample beyond NM_COST_EXACT_TASKS), and its largest value. False when the
 * kernel has no estimate (or out of memory). */
bool nm_grid_cost(const nm_sweep *sw, double *sum, double *max);

/* The --set arguments, one per line, without a trailing newline ("" when
 * there are none). malloc'd; NULL on out of memory. */
char *nm_sweep_overrides(const nm_sweep *sw);

/* Checks that every output's extents are the same at every grid point
 * (they may depend on fixed parameters only). */
nm_status nm_grid_check_outputs(const nm_sweep *sw, nm_err *err);

/* Computes sw->layout (after nm_grid_check_outputs). */
nm_status nm_grid_layout(nm_sweep *sw, nm_err *err);

/* Calls the kernel's check() for every grid point. NM_ERR_INPUT naming the
 * spec, the first rejected point's axis values and task id, the kernel's
 * reason and how many points are rejected. */
nm_status nm_grid_check_points(const nm_sweep *sw, nm_err *err);

/* Writes "name=value name=value ..." for the axes of task into buf. */
void nm_grid_point_text(const nm_sweep *sw, uint64_t task, char *buf, size_t len);

#endif

/* registry.h: the kernels compiled in (src/registry/registry.def), their
 * schemas as the engine sees them, and the contract check.
 *
 * Kernels do not include this; they include neuromic/kernel.h alone. */
#ifndef NEUROMIC_REGISTRY_H
#define NEUROMIC_REGISTRY_H

#include "neuromic/kernel.h"

/* ---- registry ---- */
size_t nm_kernel_count(void);
const nm_kernel *nm_kernel_at(size_t i);
const nm_kernel *nm_kernel_find(const char *name); /* NULL if unknown */

/* Checks k against the rules of kernel.h; false with the first broken rule
 * described in why ("kernel 'x': parameter 'y': default 5 must be <= 3"). */
bool nm_kernel_validate(const nm_kernel *k, char *why, size_t len);

/* The first wrong parameter request (nm_get_*) made by this thread since
 * the last nm_kernel_misuse_clear, or NULL. The runner fails the task with
 * it; the contract check refuses a kernel that makes one. */
const char *nm_kernel_misuse(void);
void nm_kernel_misuse_clear(void);

/* ---- schema ---- */
/* Schema of parameter i of the point layout (i == nparams is `seed`). */
const nm_param *nm_kernel_param(const nm_kernel *k, size_t i);
size_t nm_kernel_nparams_all(const nm_kernel *k); /* nparams + 1 */
/* Checks a value against a parameter's schema (type already converted).
 * On failure writes a reason such as "must be >= 0" into why. */
bool nm_param_check(const nm_param *p, const nm_value *v, char *why, size_t whylen);
/* Formats a value as text (for plans, errors, describe). */
void nm_value_format(const nm_value *v, char *buf, size_t len);
/* Order of two values of one type (numbers, false < true, strcmp of
 * choices): < 0, 0 or > 0. */
int nm_value_cmp(const nm_value *a, const nm_value *b);
/* "int", "float", "bool" or "choice". */
const char *nm_type_name(nm_type t);
/* Number of elements of output o for point p. */
size_t nm_output_size(const nm_output *o, const nm_point *p);

#endif

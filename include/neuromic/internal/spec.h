/* spec.h: reading a YAML sweep file into a validated nm_sweep.
 *
 * The format is documented in README.md ("Sweep files"). Everything is
 * checked here, before any rank computes: unknown kernel, unknown parameter
 * (with the nearest name suggested), wrong type, out of range, empty or
 * duplicate axis. Errors name FILE:LINE:COLUMN; errors in a --set override
 * name the override ("--set x=1:1:3"). Knows nothing of MPI or HDF5. */
#ifndef NEUROMIC_SPEC_H
#define NEUROMIC_SPEC_H

#include "neuromic/internal/grid.h"

/* Loads and validates the spec at path, applying overrides "KEY=VALUE" in
 * order. KEY is a dotted path into the document (base_seed, fixed.x,
 * grid.n, output.checkpoint_every) or a bare parameter name, which sets
 * fixed.NAME and removes NAME from grid and zip. VALUE is YAML (so lists and
 * mappings work: grid.n=[1,2,3]). On success *out owns everything. */
nm_status nm_spec_load(const char *path, char *const *overrides, size_t noverrides,
                       nm_sweep **out, nm_err *err);

/* The spec file's bytes, NUL-terminated (*text malloc'd; NULL on error).
 * The one reader of spec files: nm_spec_load, and rank 0 of a run. */
nm_status nm_spec_read(const char *path, char **text, size_t *len, nm_err *err);

/* Same as nm_spec_load, from text in memory (path is only used in messages). */
nm_status nm_spec_parse(const char *path, const char *text, size_t len,
                        char *const *overrides, size_t noverrides,
                        nm_sweep **out, nm_err *err);

#endif

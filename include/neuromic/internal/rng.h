/* rng.h: per-task random streams.
 *
 * A stream is seeded from SHA-256 over (base seed, stream name, the names and
 * values of the parameters it depends on), so it depends on what the task
 * computes and never on the rank, the number of ranks or the order of
 * execution. The generator is xoshiro256** (256-bit state, seeded with the
 * whole digest) exposed through GSL's gsl_rng interface, so kernels use the
 * gsl_ran_* distributions as usual. The exact byte layout hashed is given in
 * docs/ARCHITECTURE.md so that other tools can recompute a stream. */
#ifndef NEUROMIC_RNG_H
#define NEUROMIC_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "neuromic/internal/registry.h"

extern const gsl_rng_type *nm_rng_xoshiro256ss;

/* Derives a stream key. depends: NULL-terminated parameter names, or NULL
 * for every parameter of the point (in point-layout order). Returns
 * NM_ERR_INPUT if a name is not a parameter of p's kernel. */
nm_status nm_rng_key(uint64_t base_seed, const char *stream, const nm_point *p,
                     const char *const *depends, uint8_t key[32], nm_err *err);

/* Sets r (of type nm_rng_xoshiro256ss) to the state given by key. */
void nm_rng_set_key(gsl_rng *r, const uint8_t key[32]);

#endif

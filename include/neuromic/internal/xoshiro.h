/* xoshiro.h: one step of xoshiro256** (Blackman & Vigna), shared by the
 * gsl_rng type in src/rng/rng.c and the normal generator in src/rng/normal.c,
 * which takes the 64-bit outputs straight from the state. Inline so that the
 * normal generator's loop keeps the state in registers. */
#ifndef NEUROMIC_XOSHIRO_H
#define NEUROMIC_XOSHIRO_H

#include <stdint.h>

/* The state behind a gsl_rng of type nm_rng_xoshiro256ss (r->state). */
typedef struct {
    uint64_t s[4];
} nm_xoshiro_state;

static inline uint64_t nm_xoshiro_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next 64-bit output; advances s. */
static inline uint64_t nm_xoshiro_next64(uint64_t s[4])
{
    uint64_t result = nm_xoshiro_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = nm_xoshiro_rotl(s[3], 45);
    return result;
}

#endif

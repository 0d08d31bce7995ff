/* rng.c: per-task random streams: SHA-256 keys and a xoshiro256** generator
 * behind GSL's gsl_rng interface.
 *
 * Why not GSL's own generators: their seeds are 32-bit (gsl_rng_set takes an
 * unsigned long, and mt19937 keeps only the low 32 bits), so a sweep of
 * 10^5 tasks would likely give two tasks the same stream. Seeding the 256-bit
 * state of xoshiro256** with a whole SHA-256 digest makes collisions
 * practically impossible and keeps the stream a pure function of its key.
 *
 * Key layout (hashed in this order; integers little-endian):
 *   "neuromic-stream-v1" NUL, base seed (8 bytes), stream name NUL,
 *   then for each parameter the stream depends on, in point-layout order:
 *   name NUL, a type byte ('i','f','b','s'), the value
 *   (int64: 8 bytes; float64: its IEEE 754 bits, 8 bytes; bool: 1 byte;
 *   string: bytes then NUL).
 * The state words s[0..3] are the digest's bytes 0-7, 8-15, 16-23, 24-31,
 * each read little-endian. */
#include <string.h>

#include "neuromic/internal/rng.h"
#include "neuromic/internal/sha256.h"
#include "neuromic/internal/xoshiro.h"

typedef nm_xoshiro_state xoshiro_state;

static uint64_t next64(xoshiro_state *st) { return nm_xoshiro_next64(st->s); }

/* gsl_rng_set(r, seed): expand the seed with splitmix64 (for code that seeds
 * the generator directly; streams use nm_rng_set_key). */
static void xo_set(void *vs, unsigned long seed)
{
    xoshiro_state *st = vs;
    uint64_t z = seed;
    for (int i = 0; i < 4; i++) {
        z += 0x9e3779b97f4a7c15ULL;
        uint64_t x = z;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        st->s[i] = x ^ (x >> 31);
    }
}

/* 32 bits per call: GSL's integer helpers assume a modest range. */
static unsigned long xo_get(void *vs) { return (unsigned long)(next64(vs) >> 32); }

/* 53 random bits: uniform on [0, 1). */
static double xo_get_double(void *vs) { return (double)(next64(vs) >> 11) * 0x1.0p-53; }

static const gsl_rng_type xoshiro_type = {"xoshiro256**", 0xffffffffUL, 0, sizeof(xoshiro_state),
                                          xo_set, xo_get, xo_get_double};
const gsl_rng_type *nm_rng_xoshiro256ss = &xoshiro_type;

void nm_rng_set_key(gsl_rng *r, const uint8_t key[32])
{
    xoshiro_state *st = r->state;
    int zero = 1;
    for (int w = 0; w < 4; w++) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--)
            v = (v << 8) | key[8 * w + b];
        st->s[w] = v;
        zero &= v == 0;
    }
    if (zero) /* the one state xoshiro cannot leave; 2^-256 likely */
        st->s[0] = 1;
}

static void put_u64(nm_sha256 *c, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    nm_sha256_update(c, b, 8);
}

static void put_str(nm_sha256 *c, const char *s) { nm_sha256_update(c, s, strlen(s) + 1); }

static void put_value(nm_sha256 *c, const char *name, const nm_value *v)
{
    put_str(c, name);
    switch (v->type) {
    case NM_T_INT:
        nm_sha256_update(c, "i", 1);
        put_u64(c, (uint64_t)v->v.i);
        break;
    case NM_T_FLOAT: {
        uint64_t bits;
        double f = v->v.f == 0.0 ? 0.0 : v->v.f; /* -0.0 and 0.0 are one point */
        memcpy(&bits, &f, 8);
        nm_sha256_update(c, "f", 1);
        put_u64(c, bits);
        break;
    }
    case NM_T_BOOL: {
        uint8_t b = v->v.b ? 1 : 0;
        nm_sha256_update(c, "b", 1);
        nm_sha256_update(c, &b, 1);
        break;
    }
    case NM_T_CHOICE:
        nm_sha256_update(c, "s", 1);
        put_str(c, v->v.s);
        break;
    }
}

nm_status nm_rng_key(uint64_t base_seed, const char *stream, const nm_point *p,
                     const char *const *depends, uint8_t key[32], nm_err *err)
{
    const nm_kernel *k = p->kernel;
    size_t n = nm_kernel_nparams_all(k);
    if (depends) {
        for (const char *const *d = depends; *d; d++)
            if (nm_kernel_param_index(k, *d) < 0)
                return nm_err_set(err, NM_ERR_INPUT,
                                  "random stream '%s' of kernel '%s' depends on '%s', "
                                  "which is not one of its parameters",
                                  stream, k->name, *d);
    }
    nm_sha256 c;
    nm_sha256_init(&c);
    put_str(&c, "neuromic-stream-v1");
    put_u64(&c, base_seed);
    put_str(&c, stream);
    for (size_t i = 0; i < n; i++) {
        const char *name = nm_kernel_param(k, i)->name;
        int use = depends == NULL && !nm_kernel_param(k, i)->unkeyed;
        for (const char *const *d = depends; d && *d && !use; d++)
            use = strcmp(*d, name) == 0;
        if (use)
            put_value(&c, name, &p->vals[i]);
    }
    nm_sha256_final(&c, key);
    return NM_OK;
}

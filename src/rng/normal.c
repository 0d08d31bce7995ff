/* normal.c: nm_rng_gaussians, standard normal draws by a 256-layer ziggurat
 * (the method of Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000).
 *
 * Why not gsl_ran_gaussian_ziggurat: it reaches the generator through a
 * function pointer for every 32-bit word and handles generators of every
 * range: 86 instructions a draw on a xoshiro256** stream (callgrind), and a
 * third of the microcircuit kernel's Euler step at 9-30-3. Here the stream is
 * advanced inline, one 64-bit word per attempt (34 instructions a draw at
 * n = 33, 33 at n = 1000), and the tables are compile-time
 * constants (src/rng/ziggurat_table.h, made by scripts/gen_ziggurat.py with
 * exact decimal arithmetic, so that they do not depend on a machine's libm).
 *
 * From words to draws (docs/ARCHITECTURE.md, "Random streams"):
 *   x[0..256], f[0..256] are the tables, R = x[1]. One attempt takes a word w:
 *     layer i = w & 0xff (bits 0-7), negative when bit 8 is set (bits 9-10
 *     are unused), u = (w >> 11) * 2^-53 (the top 53 bits, in [0, 1)),
 *     x = u * x[i] (one double multiplication).
 *   1. x < x[i+1]: the draw is x, or -x.   (98.5% of attempts: the mean
 *      of x[i+1] / x[i] over the 256 layers)
 *   2. i = 0 (x >= R): the tail. Take words w1, w2, with
 *      a = -log(u1') / R, b = -log(u2'), u' = ((w >> 11) + 1) * 2^-53
 *      (in (0, 1], so the log is finite); while 2b <= a*a take two more.
 *      The draw is R + a, or -(R + a), signed by bit 8 of w.
 *   3. i >= 1: the wedge. Take one word w1, u1 = (w1 >> 11) * 2^-53; when
 *      f[i] + u1 * (f[i+1] - f[i]) < exp(-0.5 * x * x) the draw is x or -x;
 *      otherwise the attempt is rejected and the next word starts a new one.
 *   Arithmetic is IEEE double, evaluated as written: no fused multiply-add,
 *   which -std=c17 (ISO C, not gnu17) keeps GCC from contracting to, even
 *   with -march=native. exp and log are libm's, met only on paths 2 and 3.
 *
 * Where the words come from:
 *   - a gsl_rng of type nm_rng_xoshiro256ss: each word is the generator's
 *     next 64-bit output (the one whose upper 32 bits gsl_rng_get returns),
 *     taken from its state directly;
 *   - any other gsl_rng: each word is built from b-bit values, the first one
 *     most significant: w = (w << b) | value, ceil(64 / b) times (only the
 *     low 64 bits are kept). When the generator's min is 0 and its max is
 *     2^k - 1 (mt19937: k = 32), b = min(k, 32) and a value is the low b bits
 *     of gsl_rng_get; for mt19937 a word is (first << 32) | second. Otherwise
 *     b = min(floor(log2(max - min)), 32) and a value is
 *     gsl_rng_uniform_int(r, 2^b), which rejects to stay unbiased. */
#include <math.h>
#include <string.h>

#include "neuromic/kernel.h"
#include "neuromic/internal/rng.h"
#include "neuromic/internal/xoshiro.h"
#include "ziggurat_table.h"

/* Where words come from: a gsl_rng of type nm_rng_xoshiro256ss (its state
 * advanced directly), or any other taken `bits` at a time. */
typedef struct {
    gsl_rng *r;
    int xoshiro;
    int direct; /* values are gsl_rng_get's low `bits` bits */
    unsigned bits;
} word_src;

static void word_src_init(word_src *src, gsl_rng *r)
{
    unsigned long min = r->type->min, max = r->type->max;
    unsigned bits = 0;
    *src = (word_src){.r = r, .xoshiro = r->type == nm_rng_xoshiro256ss, .bits = 64};
    if (src->xoshiro) /* words straight from the state: nothing to work out */
        return;
    src->direct = min == 0 && (max & (max + 1)) == 0; /* max = 2^k - 1 */
    if (src->direct) {
        while (bits < 32 && (max >> bits) != 0)
            bits++;
    } else {
        while (bits < 32 && ((max - min) >> (bits + 1)) != 0)
            bits++; /* 2^bits <= max - min, as gsl_rng_uniform_int needs */
    }
    src->bits = bits ? bits : 1;
}

static uint64_t next_word(const word_src *src)
{
    if (src->xoshiro)
        return nm_xoshiro_next64(((nm_xoshiro_state *)src->r->state)->s);
    unsigned long mask = (1UL << src->bits) - 1;
    uint64_t w = 0;
    for (unsigned got = 0; got < 64; got += src->bits) {
        unsigned long v = src->direct ? gsl_rng_get(src->r) & mask
                                      : gsl_rng_uniform_int(src->r, mask + 1);
        w = (w << src->bits) | v;
    }
    return w;
}

static inline double unit(uint64_t w) { return (double)(w >> 11) * 0x1.0p-53; }

/* In (0, 1]: the argument of a log. */
static inline double unit_open(uint64_t w) { return (double)((w >> 11) + 1) * 0x1.0p-53; }

/* x = u * x[i] for the word's layer i. Written as (w >> 11) * (2^-53 x[i]):
 * the scaling by a power of two is exact, so the product is the same double
 * as u * x[i], and the two multiplications no longer wait for each other. */
static inline double layer_x(uint64_t w)
{
    return (double)(w >> 11) * (0x1.0p-53 * nm_zig_x[w & 0xff]);
}

/* x, negated when bit 8 of w is set. Without a branch: the sign is a coin
 * flip, and a mispredicted branch every other draw would cost more than the
 * rest of the fast path. */
static inline double with_sign(uint64_t w, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits ^= (w & 0x100) << 55; /* bit 8 to bit 63, the sign of a double */
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* Path 1: stores the draw of word w in *z and returns 1 when the point lies
 * inside its layer's rectangle; returns 0 otherwise. */
static inline int fast(uint64_t w, double *z)
{
    double x = layer_x(w);
    if (__builtin_expect(x < nm_zig_x[(w & 0xff) + 1], 1)) {
        *z = with_sign(w, x);
        return 1;
    }
    return 0;
}

/* Beyond R (Marsaglia 1964): a = -log(u1)/R is exponential with rate R,
 * accepted with probability exp(-a^2/2), so R + a has density
 * proportional to exp(-(R + a)^2 / 2). */
static double tail(const word_src *src)
{
    for (;;) {
        double a = -log(unit_open(next_word(src))) / NM_ZIG_R;
        double b = -log(unit_open(next_word(src)));
        if (b + b > a * a)
            return NM_ZIG_R + a;
    }
}

/* Paths 2 and 3 for a word w that missed its rectangle, and the attempts
 * after a rejection. Out of line: one attempt in 67 comes here. */
static double slow(const word_src *src, uint64_t w)
{
    for (;;) {
        unsigned i = (unsigned)(w & 0xff);
        if (i == 0)
            return with_sign(w, tail(src));
        /* The wedge between the rectangle and the curve: a uniform height
         * within the layer, kept if it lies under f. */
        double x = layer_x(w);
        double y = nm_zig_f[i] + unit(next_word(src)) * (nm_zig_f[i + 1] - nm_zig_f[i]);
        if (y < exp(-0.5 * x * x))
            return with_sign(w, x);
        double z;
        w = next_word(src);
        if (fast(w, &z))
            return z;
    }
}

/* Element by element: a memcpy here would make the compiler keep s in
 * memory instead of registers. */
static inline void state_copy(uint64_t to[4], const uint64_t from[4])
{
    to[0] = from[0], to[1] = from[1], to[2] = from[2], to[3] = from[3];
}

void nm_rng_gaussians(gsl_rng *r, double *z, size_t n)
{
    word_src src;
    word_src_init(&src, r);
    if (src.xoshiro) {
        /* The hot loop works on a copy of the state in local variables,
         * which the compiler keeps in registers; the rare slow path finds
         * the state in r, written back before and read again after. */
        uint64_t *st = ((nm_xoshiro_state *)r->state)->s;
        uint64_t s[4] = {st[0], st[1], st[2], st[3]};
        for (size_t k = 0; k < n; k++) {
            uint64_t w = nm_xoshiro_next64(s);
            if (!fast(w, &z[k])) {
                state_copy(st, s);
                z[k] = slow(&src, w);
                state_copy(s, st);
            }
        }
        state_copy(st, s);
    } else {
        for (size_t k = 0; k < n; k++) {
            uint64_t w = next_word(&src);
            if (!fast(w, &z[k]))
                z[k] = slow(&src, w);
        }
    }
}

/* mc_vec.h: four doubles at a time through GCC's vector extension, and the
 * kernel's own exp on them (numerics v3).
 *
 * A v4d operation is one AVX2 instruction in the AVX2 clone of a function,
 * two SSE2 ones in the baseline clone, and the same IEEE operation on every
 * lane either way: with contraction off (-std=c17) no multiply-add is fused,
 * so results do not depend on the CPU. */
#ifndef NEUROMIC_MC_VEC_H
#define NEUROMIC_MC_VEC_H

#include <string.h>

typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef long long v4i __attribute__((vector_size(4 * sizeof(long long))));
/* Functions taking or returning v4d are static and inlined, so the warning
 * that such values are passed differently with and without AVX concerns no
 * call that exists. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v); /* unaligned */
    return v;
}

static inline void store4(double *p, const v4d *v)
{
    memcpy(p, v, sizeof *v);
}

static inline v4d splat4(double a)
{
    return (v4d){a, a, a, a};
}

/* m ? a : b lane by lane, m a comparison's result (all ones or zero). */
static inline v4d select4(v4i m, v4d a, v4d b)
{
    return (v4d)(((v4i)a & m) | ((v4i)b & ~m));
}

/* exp(x) on four lanes, with nothing from libm: the same bits on every
 * machine, CPU and C library (glibc's scalar exp differs between versions
 * and between its FMA and non-FMA variants), and about a fifth of the
 * instructions of four scalar calls.
 *
 * x = k ln2 + r with k = round(x / ln2) (by adding and subtracting 1.5 2^52)
 * and r = (x - k ln2_hi) - k ln2_lo, Cody and Waite's two-part ln2: ln2_hi
 * has 33 significant bits, so k ln2_hi is exact for |k| < 2^20 and so is the
 * subtraction; |r| <= ln2/2. exp(r) = 1 + (r + r^2 q(r)), q the Taylor
 * polynomial with coefficients 1/2! .. 1/13! (the first term left out,
 * r^14/14! < 2^-58 here). The result is scaled by 2^k in
 * two exact steps 2^k1 2^k2 (k1 = k/2 rounded), so that results near the
 * overflow threshold and subnormal ones are rounded once. Measured error: at
 * most one unit in the last place (tests/unit/test_microcircuit.c,
 * exp_is_accurate, against long double expl). x is clamped to [-746, 710]
 * first (exp underflows to 0 below -745.2 and overflows to inf above 709.8,
 * which the scaling reproduces); NaN stays NaN. */
static inline __attribute__((always_inline)) v4d mc_exp4(v4d x)
{
    const double log2e = 0x1.71547652b82fep+0, shift = 0x1.8p+52;
    const double ln2_hi = 0x1.62e42fee00000p-1, ln2_lo = 0x1.a39ef35793c76p-33;
    v4d hi = splat4(710.0), lo = splat4(-746.0), s = splat4(shift);
    v4d xc = select4(x < hi, x, hi);
    xc = select4(xc > lo, xc, lo);
    v4d kd = (xc * log2e + s) - s;
    v4d r = (xc - kd * ln2_hi) - kd * ln2_lo;
    /* q by Estrin's scheme: pairs, then powers r^2, r^4, r^8, so that the
     * chain of dependent operations is 5 long instead of Horner's 22; on
     * the step's many short vectors (one group of four) that latency, not
     * the operation count, is what an exp costs. */
    v4d r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    v4d e0 = 0.5 + r * 0x1.5555555555555p-3;                   /* 1/2!, 1/3! */
    v4d e1 = 0x1.5555555555555p-5 + r * 0x1.1111111111111p-7;  /* 1/4!, 1/5! */
    v4d e2 = 0x1.6c16c16c16c17p-10 + r * 0x1.a01a01a01a01ap-13; /* 1/6!, 1/7! */
    v4d e3 = 0x1.a01a01a01a01ap-16 + r * 0x1.71de3a556c734p-19; /* 1/8!, 1/9! */
    v4d e4 = 0x1.27e4fb7789f5cp-22 + r * 0x1.ae64567f544e4p-26; /* 1/10!, 1/11! */
    v4d e5 = 0x1.1eed8eff8d898p-29 + r * 0x1.6124613a86d09p-33; /* 1/12!, 1/13! */
    v4d q = ((e0 + r2 * e1) + r4 * (e2 + r2 * e3)) + r8 * (e4 + r2 * e5);
    v4d p = 1.0 + (r + r2 * q);
    v4d k1 = (kd * 0.5 + s) - s, k2 = kd - k1;
    v4i one = {1023, 1023, 1023, 1023};
    v4d s1 = (v4d)((((v4i)(k1 + s) - (v4i)s) + one) << 52);
    v4d s2 = (v4d)((((v4i)(k2 + s) - (v4i)s) + one) << 52);
    v4d y = (p * s1) * s2;
    return select4(x == x, y, x);
}

/* The same arithmetic on one value (lane 0): scalar callers get the bits the
 * vector loops get. */
static inline double mc_exp1(double x)
{
    return mc_exp4(splat4(x))[0];
}

#endif

/* nk_vec.c: the nk kernel's loops over examples, vectorised.
 *
 * Nearly all of a sweep's time goes into sigmoids of per-example values
 * (an nmlp or hmlp encoder move recomputes E x N decoder outputs), so these
 * loops are written for SIMD: GCC's vector extensions, four doubles per
 * vector, compiled twice (nk_vec_body.h): for the build's target (the
 * portable x86-64 baseline runs each vector as two SSE2 halves) and, with
 * GCC on x86-64, for AVX2; nk_vec_best() picks the AVX2 copy when the CPU
 * has it. The arithmetic per lane is the same IEEE operations in both
 * copies (no FMA: the build is ISO C, so -ffp-contract=off, also with
 * make NATIVE=1), hence the same results bit for bit on any x86-64 and either
 * build; tests/unit/test_nk.c checks the two copies against each other.
 *
 * exp(x) = 2^k e^r, k = round(x / ln 2), |r| <= ln 2 / 2 (Cody-Waite, two-part
 * ln 2), e^r by its [6/6] Pade approximant P(r)/P(-r) (truncation error below
 * 2e-19 on that range, so what remains is rounding), 2^k built from the bits
 * of the rounding sum itself (no conversion to integers, and AVX2 has none
 * from double to 64-bit integers). The sigmoid then needs a single division:
 * 1/(1 + 2^k P/Q) = Q/(Q + 2^k P). Arguments are clamped to [-700, 700], far
 * beyond where the sigmoid saturates in double precision, so that 2^k stays
 * a normal number.
 *
 * Sums run in four lanes (lane l takes elements l, l+4, ...) and the lanes are
 * added as (l0 + l1) + (l2 + l3): a fixed order, independent of the vector
 * width, so every result is deterministic. */
#include <string.h>

#include "nk.h"

/* The vector helpers below are static and always inlined, so their vector
 * arguments never cross a call boundary whose ABI -Wpsabi warns about (the
 * Makefile also passes -Wno-psabi, which silences GCC's note on it). */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

#define NK_INLINE static inline __attribute__((always_inline))

NK_INLINE v4d splat(double a) { return (v4d){a, a, a, a}; }

NK_INLINE v4d load(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

NK_INLINE void store(double *p, v4d v) { memcpy(p, &v, sizeof v); }

/* The first m (< 4) elements of p, the other lanes 0. */
NK_INLINE v4d load_part(const double *p, int m)
{
    double t[4] = {0, 0, 0, 0};
    memcpy(t, p, (size_t)m * sizeof *p);
    return load(t);
}

NK_INLINE void store_part(double *p, v4d v, int m)
{
    double t[4];
    store(t, v);
    memcpy(p, t, (size_t)m * sizeof *p);
}

/* Lanes below m all ones, the others zero. */
NK_INLINE v4i lanes_below(int m)
{
    return (v4i){m > 0 ? -1 : 0, m > 1 ? -1 : 0, m > 2 ? -1 : 0, m > 3 ? -1 : 0};
}

NK_INLINE v4d vselect(v4i mask, v4d a, v4d b) { return (v4d)(((v4i)a & mask) | ((v4i)b & ~mask)); }

NK_INLINE double lanes_sum(v4d s) { return (s[0] + s[1]) + (s[2] + s[3]); }

/* Pade [6/6] of e^r: P(r) = E(r^2) + r O(r^2), Q(r) = P(-r). */
static const double PE1 = 5.0 / 44, PE2 = 1.0 / 792, PE3 = 1.0 / 665280;
static const double PO0 = 0.5, PO1 = 1.0 / 66, PO2 = 1.0 / 15840;
static const double LOG2E = 1.4426950408889634074;
static const double LN2_HI = 6.93147180369123816490e-01; /* 32 bits: k LN2_HI is exact */
static const double LN2_LO = 1.90821492927058770002e-10;
/* 1.5 * 2^52 rounds x / ln 2 to an integer k held in the low mantissa bits;
 * the extra 1023 (the exponent bias) puts k + 1023 there, which shifted
 * into the exponent field is 2^k. */
static const double ROUND_BIAS = 6755399441055744.0 + 1023.0;
#define NK_EXP_LIMIT 700.0

/* e^x = 2^k P/Q on return: *p2k = 2^k P, *q = Q. */
NK_INLINE void exp_parts(v4d x, v4d *p2k, v4d *q)
{
    x = vselect(x < splat(-NK_EXP_LIMIT), splat(-NK_EXP_LIMIT), x);
    x = vselect(x > splat(NK_EXP_LIMIT), splat(NK_EXP_LIMIT), x);
    v4d sh = x * splat(LOG2E) + splat(ROUND_BIAS);
    v4d k = sh - splat(ROUND_BIAS);
    v4d r = (x - k * splat(LN2_HI)) - k * splat(LN2_LO);
    v4d s = r * r;
    v4d e = ((splat(PE3) * s + splat(PE2)) * s + splat(PE1)) * s + splat(1.0);
    v4d o = r * ((splat(PO2) * s + splat(PO1)) * s + splat(PO0));
    v4d two_k = (v4d)((v4i)sh << 52);
    *p2k = two_k * (e + o);
    *q = e - o;
}

NK_INLINE v4d vexp(v4d x)
{
    v4d p2k, q;
    exp_parts(x, &p2k, &q);
    return p2k / q;
}

NK_INLINE v4d vsigmoid(v4d t)
{
    v4d p2k, q;
    exp_parts(-t, &p2k, &q);
    return q / (q + p2k);
}

/* tanh t = 2 sigmoid(2t) - 1: absolute error near that of the sigmoid, which
 * is what a reconstruction error of +-1 inputs needs. */
NK_INLINE v4d vdecode(v4d t, nk_act act)
{
    if (act == NK_ACT_TANH)
        return splat(2.0) * vsigmoid(splat(2.0) * t) - splat(1.0);
    return vsigmoid(t);
}

/* ---- single precision (the decoder outputs) ----
 *
 * The same exp and sigmoid in float, eight lanes per vector: the argument
 * (a double) rounded to float, clamped to [-80, 80] (the float sigmoid is
 * 1.0f beyond 17.3; at -80 it is 1.8e-35, which (y - x)^2 with x = +-1
 * cannot see), k = round(x / ln 2) by adding 1.5 * 2^23 (+ 127, the float
 * exponent bias), a two-part ln 2 whose high part has 15 bits (k LN2F_HI is
 * exact for |k| <= 116), e^r by the [3/3] Pade approximant (truncation error
 * below 1e-8 for |r| <= ln 2 / 2, under half a float ulp), one division.
 * The result is widened back to double: only the decoder outputs themselves
 * are rounded to float; their differences from the targets, the squares and
 * the sums stay in double, in the same lanes and order as the double loops. */

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int v8i __attribute__((vector_size(32)));

NK_INLINE v8f splatf(float a) { return (v8f){a, a, a, a, a, a, a, a}; }

NK_INLINE v8f vselectf(v8i mask, v8f a, v8f b) { return (v8f)(((v8i)a & mask) | ((v8i)b & ~mask)); }

/* Eight doubles (two vectors) rounded to eight floats, and back: exact IEEE
 * conversions (round to nearest), the same bits whatever instructions do
 * them. The portable copy goes through a 64-byte vector (GCC then converts
 * four lanes at a time); the AVX2 copy uses the 256-bit conversions
 * directly (nk_vec_body.h calls NK_NARROW and NK_WIDEN), as GCC's generic
 * lowering of these goes through the stack or two lanes at a time there. */
typedef double v8d __attribute__((vector_size(64)));

NK_INLINE v8f narrow_generic(v4d lo, v4d hi)
{
    v8d w;
    memcpy(&w, &lo, sizeof lo);
    memcpy((char *)&w + sizeof lo, &hi, sizeof hi);
    return __builtin_convertvector(w, v8f);
}

NK_INLINE void widen_generic(v8f y, v4d *lo, v4d *hi)
{
    v8d w = __builtin_convertvector(y, v8d);
    memcpy(lo, &w, sizeof *lo);
    memcpy(hi, (const char *)&w + sizeof *lo, sizeof *hi);
}

static const float LOG2EF = 1.44269504f;
static const float LN2F_HI = 0.693145751953125f; /* 15 bits */
static const float LN2F_LO = 1.42860682e-06f;
static const float ROUND_BIASF = 12582912.0f + 127.0f; /* 1.5 * 2^23 + bias */
#define NK_EXPF_LIMIT 80.0f

/* e^-t = 2^k e^r with k = round(-t / ln 2), written without negating t:
 * r = (k (-ln 2_hi) - t) - k ln 2_lo is the same rounded value as
 * (-t - k ln 2_hi) - k ln 2_lo. */
NK_INLINE v8f vsigmoidf(v8f t)
{
    t = vselectf(t < splatf(-NK_EXPF_LIMIT), splatf(-NK_EXPF_LIMIT), t);
    t = vselectf(t > splatf(NK_EXPF_LIMIT), splatf(NK_EXPF_LIMIT), t);
    v8f sh = t * splatf(-LOG2EF) + splatf(ROUND_BIASF);
    v8f k = sh - splatf(ROUND_BIASF);
    v8f r = (k * splatf(-LN2F_HI) - t) - k * splatf(LN2F_LO);
    v8f s = r * r;
    v8f e = splatf(0.1f) * s + splatf(1.0f);
    v8f o = r * (splatf(1.0f / 120) * s + splatf(0.5f));
    v8f two_k = (v8f)((v8i)sh << 23);
    v8f q = e - o;
    return q / (q + two_k * (e + o));
}

NK_INLINE v8f vdecodef(v8f t, nk_act act)
{
    if (act == NK_ACT_TANH)
        return splatf(2.0f) * vsigmoidf(splatf(2.0f) * t) - splatf(1.0f);
    return vsigmoidf(t);
}

/* ---- the copies ---- */

#define NK_VEC(name) name##_generic
#define NK_VEC_TABLE const nk_vec_ops nk_vec_generic
#define NK_VEC_NAME "generic"
#define NK_NARROW narrow_generic
#define NK_WIDEN widen_generic
#include "nk_vec_body.h"
#undef NK_VEC
#undef NK_VEC_TABLE
#undef NK_VEC_NAME
#undef NK_NARROW
#undef NK_WIDEN

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NK_VEC_HAVE_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
#include <immintrin.h>

NK_INLINE v8f narrow_avx2(v4d lo, v4d hi)
{
    __m128 a = _mm256_cvtpd_ps((__m256d)lo), b = _mm256_cvtpd_ps((__m256d)hi);
    return (v8f)_mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
}

NK_INLINE void widen_avx2(v8f y, v4d *lo, v4d *hi)
{
    *lo = (v4d)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)y));
    *hi = (v4d)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)y, 1));
}

#define NK_NARROW narrow_avx2
#define NK_WIDEN widen_avx2
#define NK_VEC(name) name##_avx2
#define NK_VEC_TABLE static const nk_vec_ops nk_vec_avx2_ops
#define NK_VEC_NAME "avx2"
#include "nk_vec_body.h"
#pragma GCC pop_options
#endif

const nk_vec_ops *nk_vec_avx2(void)
{
#ifdef NK_VEC_HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return &nk_vec_avx2_ops;
#endif
    return NULL;
}

const nk_vec_ops *nk_vec_best(void)
{
    const nk_vec_ops *v = nk_vec_avx2();
    return v ? v : &nk_vec_generic;
}

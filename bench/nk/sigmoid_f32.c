/* sigmoid_f32.c: what a float32 sigmoid would cost in the nk kernel's
 * innermost loop; a measurement for docs/benchmarks-nk.md, not used by the
 * kernel.
 *
 *   cc -std=c17 -D_GNU_SOURCE -O2 -Wno-psabi bench/nk/sigmoid_f32.c -lm -o /tmp/sigmoid_f32
 *   /tmp/sigmoid_f32
 *
 * The loop has the shape of the nmlp encoder move (nk_vec.c, neuron_sse):
 * 1000 examples, 100 decoders, sum of (sigmoid(d h) - x)^2 with the
 * activations, targets and sums in double, but the sigmoid in float32, eight
 * lanes (AVX2): the same range reduction as the kernel's exp, e^r by the
 * [3/3] Pade approximant, one division. Prints ns per sigmoid (CPU time) and
 * the float sigmoid's max relative error against the double one of libm. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));

enum { E = 1000, NDEC = 100 };

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define S(a) ((v8f){a, a, a, a, a, a, a, a})

static inline __attribute__((always_inline)) v8f clamp(v8f x, float lo, float hi)
{
    v8i m = x < S(lo);
    x = (v8f)(((v8i)x & ~m) | ((v8i)S(lo) & m));
    m = x > S(hi);
    return (v8f)(((v8i)x & ~m) | ((v8i)S(hi) & m));
}

static inline __attribute__((always_inline)) v8f sigmoid8(v8f t)
{
    v8f x = clamp(-t, -80.0f, 80.0f);
    v8f sh = x * S(1.44269504f) + S(12582912.0f + 127.0f); /* 1.5 * 2^23 + bias */
    v8f k = sh - S(12582912.0f + 127.0f);
    v8f r = (x - k * S(0.693145752f)) - k * S(1.42860677e-06f);
    v8f s = r * r;
    v8f e = S(1.0f) + s * S(0.1f), o = r * (S(0.5f) + s * S(1.0f / 120));
    v8f q = e - o;
    return q / (q + (v8f)((v8i)sh << 23) * (e + o));
}

__attribute__((target("avx2"))) static double neuron_sse8(double scale, const double *h,
                                                          const double *x, int e)
{
    v4d acc = {0, 0, 0, 0};
    for (int q = 0; q + 8 <= e; q += 8) { /* e is a multiple of 8 here */
        v4d h0, h1, x0, x1;
        memcpy(&h0, h + q, sizeof h0), memcpy(&h1, h + q + 4, sizeof h1);
        memcpy(&x0, x + q, sizeof x0), memcpy(&x1, x + q + 4, sizeof x1);
        v4d t0 = h0 * scale, t1 = h1 * scale;
        v8f y = sigmoid8((v8f){t0[0], t0[1], t0[2], t0[3], t1[0], t1[1], t1[2], t1[3]});
        v4d r0 = (v4d){y[0], y[1], y[2], y[3]} - x0, r1 = (v4d){y[4], y[5], y[6], y[7]} - x1;
        acc += r0 * r0;
        acc += r1 * r1;
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

int main(void)
{
    double *h = malloc(E * sizeof *h), *x = malloc((size_t)NDEC * E * sizeof *x), d[NDEC];
    if (!h || !x)
        return 1;
    srand(5);
    for (int q = 0; q < E; q++)
        h[q] = rand() / (double)RAND_MAX;
    for (int q = 0; q < NDEC * E; q++)
        x[q] = rand() & 1 ? 1.0 : -1.0;
    for (int i = 0; i < NDEC; i++)
        d[i] = 8.0 * rand() / RAND_MAX - 4.0;
    double sink = 0, t0 = cpu_now();
    int reps = 300;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < NDEC; i++)
            sink += neuron_sse8(d[i], h, x + (size_t)i * E, E);
    double ns = 1e9 * (cpu_now() - t0) / ((double)reps * NDEC * E);
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        float t = -40.0f + 80.0f * (float)i / 200000.0f;
        double want = 1.0 / (1.0 + exp(-(double)t)), got = sigmoid8(S(t))[0];
        worst = fmax(worst, fabs(got - want) / want);
    }
    printf("float32 sigmoid, double sums: %.3f ns per sigmoid; max relative error %.3g on "
           "[-40, 40] (checksum %.6g)\n", ns, worst, sink);
    free(h);
    free(x);
    return 0;
}

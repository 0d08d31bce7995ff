/* design.c: the points of a sampling design (`sample:` in a spec) in the
 * unit cube, and their mapping onto the parameters' ranges.
 *
 * Every method draws from one xoshiro256** stream whose key is the SHA-256
 * of "neuromic-design-v1", a NUL, the base seed (8 bytes little-endian) and
 * the method's name with its NUL, so a design is a function of the base seed
 * and the spec alone (never of the grid axes, ranks or order of runs).
 *
 *   random  point i, coordinate j: draw i*nparams + j of the stream. Point i
 *           is the same whatever n and skip are, so a design of 2n points
 *           begins with the design of n, and skip: n continues it.
 *   lhs     per parameter a random permutation of the n strata [k/n, (k+1)/n)
 *           and a uniform position inside each: every stratum of every
 *           parameter holds exactly one point. Depends on n as a whole.
 *   sobol   GSL's gsl_qrng_sobol (at most 40 parameters). Point 0 of the
 *           sequence is the origin, which GSL leaves out (its first point is
 *           the sequence's second); it is put back in front, so that every
 *           block of 2^m points starting at a multiple of 2^m is a (t,m,s)-net:
 *           one point in each of the 2^m strata of every parameter. With
 *           scramble, each coordinate's 30 bits are XORed with a mask drawn
 *           from the stream (a random digital shift, which keeps that
 *           property and moves the origin off the corner). Points i are the
 *           same whatever n and skip are, as for random. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_qrng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "neuromic/internal/grid.h"
#include "neuromic/internal/rng.h"
#include "neuromic/internal/sha256.h"

const char *const nm_design_methods[3] = {"random", "lhs", "sobol"};

#define SOBOL_BITS 30 /* GSL's sobol numerators have 30 bits */

static gsl_rng *design_stream(uint64_t base_seed, const char *method)
{
    gsl_rng *r = gsl_rng_alloc(nm_rng_xoshiro256ss);
    if (!r)
        return NULL;
    static const char tag[] = "neuromic-design-v1";
    uint8_t le[8], key[32];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(base_seed >> (8 * i));
    nm_sha256 c;
    nm_sha256_init(&c);
    nm_sha256_update(&c, tag, sizeof tag); /* with its NUL */
    nm_sha256_update(&c, le, sizeof le);
    nm_sha256_update(&c, method, strlen(method) + 1);
    nm_sha256_final(&c, key);
    nm_rng_set_key(r, key);
    return r;
}

static nm_status draw_random(nm_design *d, gsl_rng *r)
{
    size_t np = d->nparams;
    for (uint64_t i = 0; i < d->skip * np; i++)
        (void)gsl_rng_uniform(r);
    for (uint64_t i = 0; i < d->n * np; i++)
        d->u[i] = gsl_rng_uniform(r);
    return NM_OK;
}

static nm_status draw_lhs(nm_design *d, gsl_rng *r, nm_err *err)
{
    size_t n = (size_t)d->n, np = d->nparams;
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t j = 0; j < np; j++) {
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        gsl_ran_shuffle(r, perm, n, sizeof *perm);
        for (size_t i = 0; i < n; i++) {
            double u = ((double)perm[i] + gsl_rng_uniform(r)) / (double)n;
            d->u[i * np + j] = u < 1.0 ? u : nextafter(1.0, 0.0);
        }
    }
    free(perm);
    return NM_OK;
}

static nm_status draw_sobol(nm_design *d, gsl_rng *r, nm_err *err)
{
    size_t np = d->nparams;
    uint32_t *mask = calloc(np, sizeof *mask);
    double *x = malloc(np * sizeof *x);
    gsl_qrng *q = gsl_qrng_alloc(gsl_qrng_sobol, (unsigned)np);
    nm_status st = NM_OK;
    if (!mask || !x || !q) {
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        goto out;
    }
    if (d->scramble)
        for (size_t j = 0; j < np; j++)
            mask[j] = (uint32_t)(gsl_rng_get(r) >> (32 - SOBOL_BITS));
    const double scale = ldexp(1.0, SOBOL_BITS);
    for (uint64_t i = 0; i < d->skip + d->n; i++) {
        if (i == 0)
            memset(x, 0, np * sizeof *x); /* the origin, which GSL skips */
        else
            gsl_qrng_get(q, x);
        if (i < d->skip)
            continue;
        for (size_t j = 0; j < np; j++) {
            uint32_t b = (uint32_t)(x[j] * scale) ^ mask[j];
            d->u[(i - d->skip) * np + j] = (double)b / scale;
        }
    }
out:
    if (q)
        gsl_qrng_free(q);
    free(x);
    free(mask);
    return st;
}

nm_status nm_design_draw(nm_design *d, uint64_t base_seed, nm_err *err)
{
    free(d->u);
    d->u = NULL;
    if (d->method == NM_DESIGN_SOBOL && d->nparams > gsl_qrng_sobol->max_dimension)
        return nm_err_set(err, NM_ERR_INPUT,
                          "a sobol design has at most %u parameters (GSL's gsl_qrng_sobol), "
                          "this one %zu",
                          gsl_qrng_sobol->max_dimension, d->nparams);
    size_t cells = (size_t)d->n * (d->nparams ? d->nparams : 1);
    gsl_rng *r = design_stream(base_seed, nm_design_methods[d->method]);
    if (!r || !(d->u = calloc(cells, sizeof *d->u))) {
        if (r)
            gsl_rng_free(r);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    nm_status st = NM_OK;
    if (d->nparams > 0) {
        if (d->method == NM_DESIGN_RANDOM)
            st = draw_random(d, r);
        else if (d->method == NM_DESIGN_LHS)
            st = draw_lhs(d, r, err);
        else
            st = draw_sobol(d, r, err);
    }
    gsl_rng_free(r);
    return st;
}

nm_value nm_design_value(const nm_design_param *p, double u)
{
    if (p->nlist > 0) {
        size_t k = (size_t)(u * (double)p->nlist);
        return p->list[k < p->nlist ? k : p->nlist - 1];
    }
    nm_value v = p->from;
    if (u <= 0.0)
        return v; /* exactly the lower end, which exp(log(x)) may miss by an ulp */
    if (p->from.type == NM_T_INT) {
        /* Every integer of [from, to] is equally likely (linear), or every
         * interval [k, k+1) of the log scale from from to to + 1 is as
         * likely as its length on that scale. */
        double lo = (double)p->from.v.i, hi = (double)p->to.v.i + 1.0;
        double x = p->log ? exp(log(lo) + u * (log(hi) - log(lo))) : lo + u * (hi - lo);
        double f = floor(x);
        if (f < (double)p->from.v.i)
            f = (double)p->from.v.i;
        if (f > (double)p->to.v.i)
            f = (double)p->to.v.i;
        v.v.i = (int64_t)f;
    } else {
        double lo = p->from.v.f, hi = p->to.v.f;
        double x = p->log ? exp(log(lo) + u * (log(hi) - log(lo))) : lo + u * (hi - lo);
        v.v.f = x < lo ? lo : x > hi ? hi : x;
    }
    return v;
}

static size_t bin_of(double u, size_t bins)
{
    size_t b = (size_t)(u * (double)bins);
    return b < bins ? b : bins - 1;
}

bool nm_design_cells(const nm_design *d, uint64_t npoints, size_t j, size_t k, size_t bins,
                     uint64_t *filled, uint64_t *most)
{
    size_t cells = j == k ? bins : bins * bins;
    uint64_t *count = calloc(cells ? cells : 1, sizeof *count);
    if (!count)
        return false;
    size_t np = d->nparams;
    for (uint64_t i = 0; i < npoints && i < d->n; i++) {
        size_t c = bin_of(d->u[i * np + j], bins);
        if (j != k)
            c = c * bins + bin_of(d->u[i * np + k], bins);
        count[c]++;
    }
    *filled = *most = 0;
    for (size_t c = 0; c < cells; c++) {
        *filled += count[c] > 0;
        if (count[c] > *most)
            *most = count[c];
    }
    free(count);
    return true;
}

void nm_design_free(nm_design *d)
{
    if (!d)
        return;
    for (size_t j = 0; j < d->nparams; j++)
        free(d->params[j].list);
    free(d->params);
    free(d->u);
    free(d);
}

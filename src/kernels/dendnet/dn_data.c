/* dn_data.c: input spike trains and simulated data sets of the `dendnet`
 * kernel (dendnet.h). */
#include <math.h>
#include <stdlib.h>

#include "dendnet.h"

typedef struct {
    double t0, t1, level; /* ms, Hz */
} segment;

/* Rate at time t of the piecewise-constant levels smoothed by a Gaussian of
 * width sigma: each segment contributes its level times the Gaussian's mass
 * over it (exact, no discretisation of the kernel). seg[*first..] are the
 * segments in time order; *first advances past those that can no longer
 * contribute. */
static double smoothed(const segment *seg, size_t nseg, size_t *first, double t, double sigma)
{
    if (sigma <= 0) {
        while (*first + 1 < nseg && seg[*first].t1 <= t)
            (*first)++;
        return seg[*first].level;
    }
    double reach = 5 * sigma, sum = 0, k = 1.0 / (sigma * M_SQRT2);
    while (*first + 1 < nseg && seg[*first].t1 < t - reach)
        (*first)++;
    for (size_t s = *first; s < nseg && seg[s].t0 < t + reach; s++)
        sum += seg[s].level * 0.5 * (erf((seg[s].t1 - t) * k) - erf((seg[s].t0 - t) * k));
    return sum;
}

void dn_inputs_draw(const dn_input_params *ip, size_t T, gsl_rng *r, uint8_t *x)
{
    double gain_e = ip->bal_lo + (ip->bal_hi - ip->bal_lo) * gsl_rng_uniform(r);
    double gain_i = ip->bal_lo + (ip->bal_hi - ip->bal_lo) * gsl_rng_uniform(r);
    double margin = 5 * ip->smooth_ms, span = (double)T + 2 * margin;
    size_t cap = (size_t)(span / ip->seg_min) + 2;
    segment *seg = malloc(cap * sizeof *seg);
    if (!seg) { /* no memory: no spikes (the caller's rates will show it) */
        for (size_t i = 0; i < (size_t)(ip->n_exc + ip->n_inh) * T; i++)
            x[i] = 0;
        return;
    }
    for (int j = 0; j < ip->n_exc + ip->n_inh; j++) {
        double mean = j < ip->n_exc ? ip->rate_e * gain_e : ip->rate_i * gain_i;
        size_t nseg = 0;
        for (double t = -margin; t < (double)T + margin && nseg < cap; nseg++) {
            double len = ip->seg_min + (ip->seg_max - ip->seg_min) * gsl_rng_uniform(r);
            seg[nseg] = (segment){t, t + len, mean * 2 * gsl_rng_uniform(r)};
            t += len;
        }
        size_t first = 0;
        uint8_t *row = x + (size_t)j * T;
        for (size_t b = 0; b < T; b++) {
            double p = smoothed(seg, nseg, &first, (double)b + 0.5, ip->smooth_ms) * 1e-3;
            row[b] = gsl_rng_uniform(r) < p;
        }
    }
    free(seg);
}

dn_data *dn_data_alloc(int nin, size_t nsim, size_t T)
{
    dn_data *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->nin = nin, d->nsim = nsim, d->T = T;
    d->x = malloc((size_t)nin * nsim * T * sizeof *d->x);
    d->y = malloc(nsim * T * sizeof *d->y);
    d->v = malloc(nsim * T * sizeof *d->v);
    if (!d->x || !d->y || !d->v) {
        dn_data_free(d);
        return NULL;
    }
    return d;
}

void dn_data_free(dn_data *d)
{
    if (!d)
        return;
    free(d->x), free(d->y), free(d->v);
    free(d);
}

double dn_data_rate(const dn_data *d)
{
    size_t n = d->nsim * d->T, s = 0;
    for (size_t i = 0; i < n; i++)
        s += d->y[i];
    return n ? (double)s / ((double)n * 1e-3) : 0.0;
}

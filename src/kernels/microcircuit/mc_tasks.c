/* mc_tasks.c: the data of the microcircuit kernel's tasks.
 *
 * - self_predict: random input patterns, no target.
 * - teacher: inputs U(-1,1) and the target potentials of a fixed random
 *   teacher network, y = 10 W2 phi(2 W1 x) with W1, W2 ~ U(-1,1) (the
 *   regression task of Sacramento et al. 2018; the student's output
 *   potentials are nudged toward y).
 * - bars: 3x3 images of 3 classes with 3 samples each (Haider et al. 2021):
 *   vertical bars (the three columns), horizontal bars (the three rows) and
 *   diagonals (main, anti, and both). The third diagonal sample is our
 *   choice: the paper's figure shows three samples per class but a 3x3 grid
 *   has only two diagonals. Pixels 1 on, 0 off.
 * - classify: IDX images scaled to [0,1], one-hot targets.
 * Targets are output potentials: lo for the wrong classes, hi for the right one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

mc_data *mc_data_alloc(size_t count, size_t nx, size_t ny)
{
    mc_data *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->count = count, d->nx = nx, d->ny = ny;
    d->x = calloc(count * nx, sizeof *d->x);
    d->y = ny ? calloc(count * ny, sizeof *d->y) : NULL;
    d->label = malloc(count * sizeof *d->label);
    if (!d->x || (ny && !d->y) || !d->label) {
        mc_data_free(d);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        d->label[i] = -1;
    return d;
}

void mc_data_free(mc_data *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    free(d->label);
    free(d);
}

/* ---- teacher ---- */

mc_teacher *mc_teacher_alloc(size_t nx, size_t nh, size_t ny, gsl_rng *rng)
{
    mc_teacher *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nx = nx, t->nh = nh, t->ny = ny;
    t->scale1 = 2.0, t->scale2 = 10.0;
    t->W1 = malloc(nh * nx * sizeof *t->W1);
    t->W2 = malloc(ny * nh * sizeof *t->W2);
    if (!t->W1 || !t->W2) {
        mc_teacher_free(t);
        return NULL;
    }
    for (size_t i = 0; i < nh * nx; i++)
        t->W1[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    for (size_t i = 0; i < ny * nh; i++)
        t->W2[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    return t;
}

void mc_teacher_free(mc_teacher *t)
{
    if (!t)
        return;
    free(t->W1);
    free(t->W2);
    free(t);
}

/* h: scratch of size nh. */
void mc_teacher_eval(const mc_teacher *t, const mc_phi *phi, const double *x, double *y, double *h)
{
    for (size_t j = 0; j < t->nh; j++) {
        double a = 0;
        for (size_t i = 0; i < t->nx; i++)
            a += t->W1[j * t->nx + i] * x[i];
        h[j] = mc_phi_eval(phi, t->scale1 * a);
    }
    for (size_t o = 0; o < t->ny; o++) {
        double a = 0;
        for (size_t j = 0; j < t->nh; j++)
            a += t->W2[o * t->nh + j] * h[j];
        y[o] = t->scale2 * a;
    }
}

void mc_data_fill_random(mc_data *d, gsl_rng *rng, double lo, double hi,
                         const mc_teacher *teacher, const mc_phi *phi)
{
    double h[4096];
    for (size_t p = 0; p < d->count; p++) {
        double *x = d->x + p * d->nx;
        for (size_t i = 0; i < d->nx; i++)
            x[i] = lo + (hi - lo) * gsl_rng_uniform(rng);
        if (teacher && teacher->nh <= sizeof h / sizeof h[0])
            mc_teacher_eval(teacher, phi, x, d->y + p * d->ny, h);
    }
}

/* ---- bars ---- */

mc_data *mc_data_bars(double lo, double hi)
{
    static const char *const img[9] = {
        "100100100", "010010010", "001001001", /* vertical */
        "111000000", "000111000", "000000111", /* horizontal */
        "100010001", "001010100", "101010101", /* diagonals: main, anti, both */
    };
    mc_data *d = mc_data_alloc(9, 9, 3);
    if (!d)
        return NULL;
    for (size_t p = 0; p < 9; p++) {
        for (size_t i = 0; i < 9; i++)
            d->x[p * 9 + i] = img[p][i] == '1' ? 1.0 : 0.0;
        d->label[p] = (int)(p / 3);
        for (size_t c = 0; c < 3; c++)
            d->y[p * 3 + c] = (int)c == d->label[p] ? hi : lo;
    }
    return d;
}

/* nk_data.c: Kauffman's NK landscape used as a regression function, and the
 * data sets drawn from it (Bull 2024, after Kauffman & Levin 1987).
 *
 * A genome has N bits; gene i depends on itself and K other genes, and has a
 * table of 2^(K+1) fitness contributions drawn U[0,1). The fitness of a genome
 * is the mean of its N contributions, so targets lie in [0,1) and a predictor
 * that always answers the mean has an MSE near 1/(12N). The network sees the
 * bits as +1/-1. Everything random here comes from the generator passed in:
 * the kernel keys those streams on (N, K, links, seed) only, so every model
 * trains and is tested on the same examples. */
#include <stdlib.h>

#include "nk.h"

void nk_landscape_free(nk_landscape *l)
{
    if (!l)
        return;
    free(l->links);
    free(l->table);
    free(l);
}

/* K distinct genes other than `gene`: the first K of a partial Fisher-Yates
 * shuffle of the other N-1 genes. pool has room for n ints. */
static void draw_random_links(int n, int k, int gene, int *pool, int *out, gsl_rng *r)
{
    int m = 0;
    for (int g = 0; g < n; g++)
        if (g != gene)
            pool[m++] = g;
    for (int i = 0; i < k; i++) {
        int j = i + (int)gsl_rng_uniform_int(r, (unsigned long)(m - i));
        int tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
        out[i] = pool[i];
    }
}

nk_landscape *nk_landscape_alloc(int n, int k, nk_links links, gsl_rng *r)
{
    if (n < 1 || k < 0 || k >= n || k > 30)
        return NULL;
    size_t rows = (size_t)1 << (k + 1);
    nk_landscape *l = calloc(1, sizeof *l);
    int *pool = malloc((size_t)n * sizeof *pool);
    if (!l || !pool)
        goto fail;
    l->n = n;
    l->k = k;
    l->links = malloc((size_t)n * (size_t)(k > 0 ? k : 1) * sizeof *l->links);
    l->table = malloc((size_t)n * rows * sizeof *l->table);
    if (!l->links || !l->table)
        goto fail;
    for (int i = 0; i < n; i++) {
        int *li = l->links + (size_t)i * (size_t)k;
        if (links == NK_LINKS_ADJACENT)
            for (int m = 0; m < k; m++)
                li[m] = (i + 1 + m) % n;
        else
            draw_random_links(n, k, i, pool, li, r);
    }
    for (size_t q = 0; q < (size_t)n * rows; q++)
        l->table[q] = gsl_rng_uniform(r);
    free(pool);
    return l;
fail:
    free(pool);
    nk_landscape_free(l);
    return NULL;
}

size_t nk_row(const nk_landscape *l, int gene, const uint8_t *bits)
{
    const int *li = l->links + (size_t)gene * (size_t)l->k;
    size_t row = bits[gene] & 1u;
    for (int m = 0; m < l->k; m++)
        row = (row << 1) | (bits[li[m]] & 1u);
    return row;
}

double nk_fitness(const nk_landscape *l, const uint8_t *bits)
{
    size_t rows = (size_t)1 << (l->k + 1);
    double sum = 0;
    for (int i = 0; i < l->n; i++)
        sum += l->table[(size_t)i * rows + nk_row(l, i, bits)];
    return sum / l->n;
}

void nk_dataset_free(nk_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->xt);
    free(d->y);
    free(d);
}

nk_dataset *nk_dataset_alloc(const nk_landscape *l, int count, gsl_rng *r)
{
    if (count < 1)
        return NULL;
    size_t n = (size_t)l->n, e = (size_t)count;
    nk_dataset *d = calloc(1, sizeof *d);
    uint8_t *bits = malloc(n);
    if (!d || !bits)
        goto fail;
    d->n = l->n;
    d->count = count;
    d->x = malloc(e * n * sizeof *d->x);
    d->xt = malloc(e * n * sizeof *d->xt);
    d->y = malloc(e * sizeof *d->y);
    if (!d->x || !d->xt || !d->y)
        goto fail;
    for (size_t s = 0; s < e; s++) {
        for (size_t i = 0; i < n; i++) {
            bits[i] = gsl_rng_uniform(r) < 0.5;
            double xi = bits[i] ? 1.0 : -1.0;
            d->x[s * n + i] = xi;
            d->xt[i * e + s] = xi;
        }
        d->y[s] = nk_fitness(l, bits);
    }
    free(bits);
    return d;
fail:
    free(bits);
    nk_dataset_free(d);
    return NULL;
}

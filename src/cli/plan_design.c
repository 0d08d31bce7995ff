/* plan_design.c: what `neuromic plan` shows of a sampling design: the
 * method, the parameters' ranges and values, and how evenly the points
 * cover the unit cube they were drawn in (before the mapping onto ranges,
 * so that log scales and lists do not hide gaps). */
#include <math.h>
#include <stdio.h>

#include "neuromic/internal/cli.h"
#include "neuromic/internal/grid.h"

/* Pairwise cells are counted only while this many point-pairs suffice. */
#define PAIR_WORK_MAX 100000000ull

static void print_param(const nm_sweep *sw, const nm_axis *ax, const nm_design_param *dp,
                        size_t j)
{
    const nm_param *p = nm_kernel_param(sw->kernel, (size_t)dp->param);
    char a[64], b[64];
    printf("    %-12s %-6s ", p->name, nm_type_name(p->type));
    if (dp->nlist) {
        printf("one of ");
        for (size_t i = 0; i < dp->nlist; i++) {
            nm_value_format(&dp->list[i], a, sizeof a);
            printf("%s%s", i ? ", " : "", a);
        }
    } else {
        nm_value_format(&dp->from, a, sizeof a);
        nm_value_format(&dp->to, b, sizeof b);
        printf("%s [%s, %s]", dp->log ? "log" : "linear", a, b);
    }
    printf(": ");
    size_t show = ax->len <= 6 ? ax->len : 4;
    for (size_t i = 0; i < show; i++) {
        nm_value_format(&ax->values[j][i], a, sizeof a);
        printf("%s%s", i ? ", " : "", a);
    }
    if (show < ax->len)
        printf(", ...");
    printf("\n");
}

static void print_coverage(const nm_sweep *sw, const nm_design *d)
{
    const nm_kernel *k = sw->kernel;
    uint64_t filled, most;
    printf("    coverage (unit cube, before the mapping onto ranges):\n");
    /* One stratum per point: a Latin hypercube, and a Sobol design of 2^m
     * points from a multiple of 2^m, fill every one. */
    uint64_t blk = 1;
    while (blk * 2 <= d->n)
        blk *= 2;
    uint64_t sets[2] = {d->n, blk};
    int nsets = d->method == NM_DESIGN_SOBOL && blk != d->n ? 2 : 1;
    for (int s = 0; s < nsets; s++) {
        printf("      first %llu points, %llu strata per parameter:",
               (unsigned long long)sets[s], (unsigned long long)sets[s]);
        for (size_t j = 0; j < d->nparams; j++) {
            if (!nm_design_cells(d, sets[s], j, j, (size_t)sets[s], &filled, &most)) {
                printf(" (out of memory)");
                break;
            }
            printf(" %s %llu filled (at most %llu)%s",
                   nm_kernel_param(k, (size_t)d->params[j].param)->name,
                   (unsigned long long)filled, (unsigned long long)most,
                   j + 1 < d->nparams ? "," : "");
        }
        printf("\n");
    }
    if (d->nparams < 2)
        return;
    size_t bins = (size_t)floor(sqrt((double)d->n));
    uint64_t pairs = (uint64_t)d->nparams * (d->nparams - 1) / 2;
    if (pairs * d->n > PAIR_WORK_MAX) {
        printf("      pairs: not counted (%llu pairs x %llu points)\n",
               (unsigned long long)pairs, (unsigned long long)d->n);
        return;
    }
    uint64_t worst = UINT64_MAX, worst_most = 0;
    size_t wj = 0, wk = 1;
    for (size_t j = 0; j < d->nparams; j++)
        for (size_t q = j + 1; q < d->nparams; q++) {
            if (!nm_design_cells(d, d->n, j, q, bins, &filled, &most))
                return;
            if (filled < worst) {
                worst = filled;
                wj = j;
                wk = q;
            }
            if (most > worst_most)
                worst_most = most;
        }
    printf("      pairs, %zu x %zu cells: fewest filled %llu of %zu (%s, %s); at most %llu "
           "points in a cell\n",
           bins, bins, (unsigned long long)worst, bins * bins,
           nm_kernel_param(k, (size_t)d->params[wj].param)->name,
           nm_kernel_param(k, (size_t)d->params[wk].param)->name,
           (unsigned long long)worst_most);
}

void nm_plan_design(const nm_sweep *sw, const nm_axis *ax)
{
    const nm_design *d = sw->design;
    printf("  %-14s design %5zu points: %s", ax->name, ax->len, nm_design_methods[d->method]);
    if (d->method == NM_DESIGN_SOBOL)
        printf(" (%s)", d->scramble ? "scrambled: random digital shift from base_seed"
                                    : "not scrambled");
    if (d->method != NM_DESIGN_LHS)
        printf(", points %llu..%llu of the sequence", (unsigned long long)d->skip,
               (unsigned long long)(d->skip + d->n - 1));
    printf("\n");
    for (size_t j = 0; j < d->nparams; j++)
        print_param(sw, ax, &d->params[j], j);
    print_coverage(sw, d);
}

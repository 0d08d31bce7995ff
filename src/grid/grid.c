/* grid.c: task id <-> axis indices <-> parameter point (mixed radix, last
 * axis fastest), and the decomposition of task ranges into boxes for the
 * store's hyperslab selections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/grid.h"

void nm_grid_index(const nm_sweep *sw, uint64_t task, size_t *idx)
{
    for (size_t a = sw->naxes; a-- > 0;) {
        idx[a] = (size_t)(task % sw->axes[a].len);
        task /= sw->axes[a].len;
    }
}

uint64_t nm_grid_task(const nm_sweep *sw, const size_t *idx)
{
    uint64_t t = 0;
    for (size_t a = 0; a < sw->naxes; a++)
        t = t * sw->axes[a].len + idx[a];
    return t;
}

static void point_at(const nm_sweep *sw, const size_t *idx, nm_point *p)
{
    memcpy(p->vals, sw->fixed, nm_kernel_nparams_all(sw->kernel) * sizeof *p->vals);
    for (size_t a = 0; a < sw->naxes; a++)
        for (size_t j = 0; j < sw->axes[a].nparams; j++)
            p->vals[sw->axes[a].param[j]] = sw->axes[a].values[j][idx[a]];
}

void nm_grid_point(const nm_sweep *sw, uint64_t task, nm_point *p)
{
    size_t idx[sw->naxes + 1];
    nm_grid_index(sw, task, idx);
    point_at(sw, idx, p);
}

nm_point *nm_point_alloc(const nm_sweep *sw)
{
    nm_point *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    p->kernel = sw->kernel;
    p->vals = calloc(nm_kernel_nparams_all(sw->kernel), sizeof *p->vals);
    if (!p->vals) {
        free(p);
        return NULL;
    }
    memcpy(p->vals, sw->fixed, nm_kernel_nparams_all(sw->kernel) * sizeof *p->vals);
    return p;
}

void nm_point_free(nm_point *p)
{
    if (p) {
        free(p->vals);
        free(p);
    }
}

int nm_grid_axis_of(const nm_sweep *sw, int param)
{
    for (size_t a = 0; a < sw->naxes; a++)
        for (size_t j = 0; j < sw->axes[a].nparams; j++)
            if (sw->axes[a].param[j] == param)
                return (int)a;
    return -1;
}

/* Greedy: at each position take the largest block of whole sub-arrays that
 * starts there. Block sizes first grow (filling up to an aligned position)
 * and then shrink, so there are at most 2*naxes - 1 boxes. */
size_t nm_grid_boxes(const nm_sweep *sw, uint64_t first, uint64_t count, size_t *start,
                     size_t *len)
{
    size_t n = sw->naxes;
    if (n == 0)
        return count > 0 ? 1 : 0;
    uint64_t stride[n];
    stride[n - 1] = 1;
    for (size_t d = n - 1; d-- > 0;)
        stride[d] = stride[d + 1] * sw->axes[d + 1].len;

    size_t nbox = 0;
    size_t idx[n];
    while (count > 0) {
        nm_grid_index(sw, first, idx);
        size_t k = 0;
        while (first % stride[k] != 0 || stride[k] > count)
            k++;
        uint64_t m = count / stride[k];
        if (m > sw->axes[k].len - idx[k])
            m = sw->axes[k].len - idx[k];
        size_t *s = start + nbox * n, *l = len + nbox * n;
        for (size_t d = 0; d < n; d++) {
            s[d] = d <= k ? idx[d] : 0;
            l[d] = d < k ? 1 : d == k ? (size_t)m : sw->axes[d].len;
        }
        nbox++;
        first += m * stride[k];
        count -= m * stride[k];
    }
    return nbox;
}

static nm_status extents(const nm_sweep *sw, const nm_point *p, const nm_output *o, size_t *ext,
                         nm_err *err)
{
    for (int d = 0; d < o->ndims; d++) {
        ext[d] = o->extent(p, d);
        if (ext[d] == 0)
            return nm_err_set(err, NM_ERR_INPUT,
                              "%s: output '%s' of kernel '%s' would have an empty dimension '%s'",
                              sw->path, o->name, sw->kernel->name, o->dims[d]);
    }
    return NM_OK;
}

/* Varies one axis at a time from the grid's first point. */
nm_status nm_grid_check_outputs(const nm_sweep *sw, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    nm_point *p = nm_point_alloc(sw);
    if (!p)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    size_t idx[sw->naxes + 1];
    nm_status st = NM_OK;
    for (size_t o = 0; o < k->noutputs && st == NM_OK; o++) {
        const nm_output *out = &k->outputs[o];
        if (out->ndims == 0)
            continue;
        size_t ref[NM_MAX_DIMS], ext[NM_MAX_DIMS];
        memset(idx, 0, sizeof idx);
        point_at(sw, idx, p);
        st = extents(sw, p, out, ref, err);
        for (size_t a = 0; a < sw->naxes && st == NM_OK; a++) {
            for (size_t i = 1; i < sw->axes[a].len && st == NM_OK; i++) {
                memset(idx, 0, sizeof idx);
                idx[a] = i;
                point_at(sw, idx, p);
                st = extents(sw, p, out, ext, err);
                if (st == NM_OK && memcmp(ext, ref, (size_t)out->ndims * sizeof *ext) != 0 &&
                    sw->axes[a].sample)
                    st = nm_err_at(err, sw->path, sw->axes[a].line, sw->axes[a].col,
                                   "sample: the shape of output '%s' depends on a sampled "
                                   "parameter (point %zu differs from point 0); set the "
                                   "parameters that shape it in fixed:",
                                   out->name, i);
                else if (st == NM_OK && memcmp(ext, ref, (size_t)out->ndims * sizeof *ext) != 0)
                    st = nm_err_at(err, sw->path, sw->axes[a].line, sw->axes[a].col,
                                   "grid.%s: the shape of output '%s' depends on '%s', so it "
                                   "cannot be a grid axis; set it in fixed: or run one sweep "
                                   "per value",
                                   sw->axes[a].name, out->name, sw->axes[a].name);
            }
        }
    }
    nm_point_free(p);
    return st;
}

/* splitmix64: the sample of tasks nm_grid_cost_estimate looks at (fixed
 * seed, so plan prints the same estimate every time). */
static uint64_t next_sample(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t nm_grid_cost_estimate(const nm_sweep *sw, double *sum, double *max)
{
    *sum = *max = 0;
    if (!sw->kernel->cost || sw->ntasks == 0)
        return 0;
    nm_point *p = nm_point_alloc(sw);
    if (!p)
        return 0;
    /* Up to NM_COST_EXACT_TASKS every task; beyond, a uniform random
     * sample of that many, scaled up (the maximum is the sample's). */
    bool all = sw->ntasks <= NM_COST_EXACT_TASKS;
    uint64_t n = all ? sw->ntasks : NM_COST_EXACT_TASKS, seed = 20261129;
    for (uint64_t i = 0; i < n; i++) {
        nm_grid_point(sw, all ? i : next_sample(&seed) % sw->ntasks, p);
        double c = sw->kernel->cost(p);
        *sum += c;
        *max = c > *max ? c : *max;
    }
    if (!all)
        *sum *= (double)sw->ntasks / (double)n;
    nm_point_free(p);
    return n;
}

bool nm_grid_cost(const nm_sweep *sw, double *sum, double *max)
{
    return nm_grid_cost_estimate(sw, sum, max) > 0;
}

char *nm_sweep_overrides(const nm_sweep *sw)
{
    size_t len = 1;
    for (size_t i = 0; i < sw->noverrides; i++)
        len += strlen(sw->overrides[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; s && i < sw->noverrides; i++) {
        if (i)
            strcat(s, "\n");
        strcat(s, sw->overrides[i]);
    }
    return s;
}

nm_status nm_grid_layout(nm_sweep *sw, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    sw->layout = calloc(k->noutputs ? k->noutputs : 1, sizeof *sw->layout);
    nm_point *p = nm_point_alloc(sw);
    if (!sw->layout || !p) {
        nm_point_free(p);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    /* Point 0 stands for all: nm_grid_check_outputs has made sure that no
     * axis changes an extent. */
    nm_grid_point(sw, 0, p);
    nm_kernel_misuse_clear();
    for (size_t o = 0; o < k->noutputs; o++) {
        nm_out_layout *l = &sw->layout[o];
        l->size = 1;
        for (int d = 0; d < k->outputs[o].ndims; d++) {
            l->ext[d] = k->outputs[o].extent(p, d);
            l->size *= l->ext[d];
        }
    }
    nm_status st = NM_OK;
    if (nm_kernel_misuse())
        st = nm_err_set(err, NM_ERR_RUNTIME, "%s", nm_kernel_misuse());
    nm_point_free(p);
    return st;
}

void nm_grid_point_text(const nm_sweep *sw, uint64_t task, char *buf, size_t len)
{
    size_t idx[sw->naxes + 1];
    nm_grid_index(sw, task, idx);
    size_t n = 0;
    buf[0] = 0;
    for (size_t a = 0; a < sw->naxes && n < len; a++) {
        if (sw->axes[a].sample)
            n += (size_t)snprintf(buf + n, len - n, "%ssample=%llu", n ? " " : "",
                                  (unsigned long long)(sw->axes[a].first + idx[a]));
        for (size_t j = 0; j < sw->axes[a].nparams && n < len; j++) {
            char v[64];
            nm_value_format(&sw->axes[a].values[j][idx[a]], v, sizeof v);
            n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "",
                                  nm_kernel_param(sw->kernel, (size_t)sw->axes[a].param[j])->name,
                                  v);
        }
    }
}

nm_status nm_grid_check_points(const nm_sweep *sw, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    if (!k->check)
        return NM_OK;
    nm_point *p = nm_point_alloc(sw);
    if (!p)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    uint64_t bad = 0, first = 0, n = sw->ntasks;
#ifdef NM_FUZZ_LIMITS
    /* The fuzz build (Makefile) looks at the first 10^5 points only: a legal
     * grid of 10^12 points would take longer than the fuzzer allows. */
    n = n < 100000 ? n : 100000;
#endif
    char why[256] = "", firstwhy[256] = "";
    nm_kernel_misuse_clear();
    for (uint64_t t = 0; t < n; t++) {
        nm_grid_point(sw, t, p);
        why[0] = 0;
        if (!k->check(p, why, sizeof why) && bad++ == 0) {
            first = t;
            snprintf(firstwhy, sizeof firstwhy, "%s", why[0] ? why : "rejected");
        }
        if (nm_kernel_misuse())
            break;
    }
    nm_status st = NM_OK;
    if (nm_kernel_misuse())
        st = nm_err_set(err, NM_ERR_RUNTIME, "%s", nm_kernel_misuse());
    else if (bad) {
        char at[512];
        nm_grid_point_text(sw, first, at, sizeof at);
        st = nm_err_set(err, NM_ERR_INPUT,
                        "%s: kernel '%s' cannot run the point %s%s(task %llu): %s; %llu of "
                        "%llu points are rejected",
                        sw->path, k->name, at, *at ? " " : "", (unsigned long long)first,
                        firstwhy, (unsigned long long)bad, (unsigned long long)n);
    }
    nm_point_free(p);
    return st;
}

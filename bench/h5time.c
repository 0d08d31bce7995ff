/* h5time.c: an LD_PRELOAD library that measures the wall time a process
 * spends inside HDF5, for the output-cost figure of bench/engine.py.
 *
 * It interposes the HDF5 calls neuromic makes that can take time (files,
 * datasets, attributes, groups, dimension scales, selections), times each
 * with the monotonic clock, and at exit appends one line to
 * $NM_H5TIME_DIR/h5time.<pid>:
 *
 *   rank <R> h5_seconds <S> lifetime_seconds <L> calls <N> [<function> <seconds>]...
 *
 * followed by the functions that took more than a millisecond in all, so that
 * a reader can see where the time went. R is Open MPI's OMPI_COMM_WORLD_RANK (-1 outside mpirun); L runs from the
 * library's load to the process's exit. Only the outermost call is timed: a
 * dimension-scale call of libhdf5_hl that calls the core library again is
 * counted once. Calls inside a collective write include the time spent
 * waiting for the other ranks, which is time the rank does not compute.
 * A process that made no HDF5 call (mpirun itself) writes nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#define NFUNC 64
static double t_load, t_h5;
static long ncalls;
static __thread int depth;
static double f_time[NFUNC];
static const char *f_name[NFUNC];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((constructor)) static void h5time_load(void) { t_load = now(); }

__attribute__((destructor)) static void h5time_exit(void)
{
    const char *dir = getenv("NM_H5TIME_DIR");
    if (!dir || ncalls == 0)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/h5time.%ld", dir, (long)getpid());
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    fprintf(f, "rank %s h5_seconds %.6f lifetime_seconds %.6f calls %ld", rank ? rank : "-1",
            t_h5, now() - t_load, ncalls);
    for (int i = 0; i < NFUNC; i++)
        if (f_name[i] && f_time[i] > 1e-3)
            fprintf(f, " %s %.6f", f_name[i], f_time[i]);
    fputc('\n', f);
    fclose(f);
}

static double enter(void) { return depth++ == 0 ? now() : 0.0; }

static void leave(double t0, int id, const char *name)
{
    if (--depth == 0) {
        double dt = now() - t0;
        t_h5 += dt;
        ncalls++;
        f_time[id] += dt;
        f_name[id] = name;
    }
}

/* One wrapper: looks the real function up once, times the call. */
#define WRAP(ret, name, params, args)                                        \
    ret name params                                                          \
    {                                                                        \
        static ret(*real) params;                                            \
        if (!real)                                                           \
            *(void **)&real = dlsym(RTLD_NEXT, #name);                       \
        double t0 = enter();                                                 \
        ret r = real args;                                                   \
        leave(t0, __COUNTER__, #name);                                       \
        return r;                                                            \
    }

WRAP(hid_t, H5Fcreate, (const char *n, unsigned fl, hid_t c, hid_t a), (n, fl, c, a))
WRAP(hid_t, H5Fopen, (const char *n, unsigned fl, hid_t a), (n, fl, a))
WRAP(herr_t, H5Fclose, (hid_t f), (f))
WRAP(herr_t, H5Fflush, (hid_t o, H5F_scope_t s), (o, s))
WRAP(htri_t, H5Fis_hdf5, (const char *n), (n))
WRAP(hid_t, H5Dcreate2, (hid_t l, const char *n, hid_t t, hid_t s, hid_t lc, hid_t dc, hid_t da),
     (l, n, t, s, lc, dc, da))
WRAP(hid_t, H5Dopen2, (hid_t l, const char *n, hid_t a), (l, n, a))
WRAP(herr_t, H5Dclose, (hid_t d), (d))
WRAP(hid_t, H5Dget_space, (hid_t d), (d))
WRAP(herr_t, H5Dwrite, (hid_t d, hid_t mt, hid_t ms, hid_t fs, hid_t x, const void *b),
     (d, mt, ms, fs, x, b))
WRAP(herr_t, H5Dread, (hid_t d, hid_t mt, hid_t ms, hid_t fs, hid_t x, void *b),
     (d, mt, ms, fs, x, b))
WRAP(hid_t, H5Acreate2, (hid_t l, const char *n, hid_t t, hid_t s, hid_t c, hid_t a),
     (l, n, t, s, c, a))
WRAP(hid_t, H5Aopen, (hid_t o, const char *n, hid_t a), (o, n, a))
WRAP(herr_t, H5Awrite, (hid_t a, hid_t t, const void *b), (a, t, b))
WRAP(herr_t, H5Aread, (hid_t a, hid_t t, void *b), (a, t, b))
WRAP(herr_t, H5Aclose, (hid_t a), (a))
WRAP(herr_t, H5Adelete, (hid_t l, const char *n), (l, n))
WRAP(hid_t, H5Gcreate2, (hid_t l, const char *n, hid_t lc, hid_t gc, hid_t ga), (l, n, lc, gc, ga))
WRAP(hid_t, H5Gopen2, (hid_t l, const char *n, hid_t a), (l, n, a))
WRAP(herr_t, H5Gclose, (hid_t g), (g))
WRAP(herr_t, H5DSattach_scale, (hid_t d, hid_t s, unsigned i), (d, s, i))
WRAP(herr_t, H5DSset_scale, (hid_t d, const char *n), (d, n))
WRAP(hid_t, H5Scombine_select, (hid_t a, H5S_seloper_t op, hid_t b), (a, op, b))
WRAP(herr_t, H5Sselect_hyperslab,
     (hid_t s, H5S_seloper_t op, const hsize_t *st, const hsize_t *sd, const hsize_t *c,
      const hsize_t *b),
     (s, op, st, sd, c, b))
WRAP(hid_t, H5Scopy, (hid_t s), (s))
WRAP(herr_t, H5Sclose, (hid_t s), (s))

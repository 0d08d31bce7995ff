/* create.c: building the result file (rank 0, serial driver, before any task
 * runs) and updating its root attributes afterwards.
 *
 * The whole layout is built under a temporary name next to the target
 * ("PATH.tmp.PID"), synced, and only then moved into place: with link(2) +
 * unlink(2) when the target must not exist (so an existing file is never
 * replaced, even by a race), with rename(2) under --force. A failed or killed
 * create leaves at most the temporary file behind, never a half-built PATH.
 *
 * Every dataset has a fixed size and its space allocated at creation
 * (contiguous, H5D_ALLOC_TIME_EARLY), so the parallel writers only ever write
 * raw data and never touch the file's metadata. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "attempts.h"
#include "install.h"
#include "h5util.h"
#include "neuromic/internal/store.h"

/* 2: /tasks/checksum, /attempts/slurm; the root attributes are written
 * once, at creation. */
#define NM_FORMAT 2

/* /tasks/host and /tasks/error: rows per chunk if chunked and deflated, 0
 * for contiguous (the default). Deflate makes them ~20x smaller (100k tasks:
 * 7.1 MB file instead of 38.9 MB) and parallel filtered writes work, but
 * every write reallocates the compressed chunks, i.e. changes the file's
 * metadata: killing a job (kill -9) during a checkpoint left /tasks/host
 * unreadable ("inflate() failed", "addr overflow") in about half of the
 * trials, while contiguous files survived every trial. */
#ifndef NM_TASK_STRING_CHUNK
#define NM_TASK_STRING_CHUNK 0
#endif

/* ---- HDF5 errors and string types: see h5util.c ---- */

static void close_id(hid_t *id)
{
    if (*id >= 0)
        H5Idec_ref(*id);
    *id = H5I_INVALID_HID;
}

/* ---- attributes ---- */

static herr_t attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                         const void *buf)
{
    if (H5Aexists(loc, name) > 0 && H5Adelete(loc, name) < 0)
        return -1;
    hid_t space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return -1;
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = a < 0 ? -1 : H5Awrite(a, mtype, buf);
    if (a >= 0 && H5Aclose(a) < 0)
        r = -1;
    H5Sclose(space);
    return r;
}

static herr_t attr_s(hid_t loc, const char *name, const char *val)
{
    size_t len = strlen(val);
    hid_t t = nm_h5_str_type(len);
    if (t < 0)
        return -1;
    herr_t r = attr_write(loc, name, t, t, 0, len ? val : "");
    H5Tclose(t);
    return r;
}

static herr_t attr_i(hid_t loc, const char *name, int64_t v)
{
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &v);
}

/* units and long_name, the CF attributes xarray and ncdump show. */
static herr_t attr_doc(hid_t loc, const char *unit, const char *doc)
{
    if (unit && unit[0] && attr_s(loc, "units", unit) < 0)
        return -1;
    if (doc && doc[0] && attr_s(loc, "long_name", doc) < 0)
        return -1;
    return 0;
}

static nm_status write_prov(hid_t file, const nm_prov *prov, nm_err *err)
{
    for (size_t i = 0; prov && i < prov->n; i++) {
        const nm_attr *a = &prov->a[i];
        herr_t r = a->is_int ? attr_i(file, a->key, a->ival)
                             : attr_s(file, a->key, a->sval ? a->sval : "");
        if (r < 0)
            return nm_h5_fail(err, "cannot write attribute '%s'", a->key);
    }
    return NM_OK;
}

/* ---- names in the root group ---- */

typedef struct {
    const char *name;
    char what[160];
} used_name;

typedef struct {
    used_name *v;
    size_t n;
} names;

/* Registers a root-level name; a second use is an error naming both. */
static nm_status claim(names *ns, const char *name, nm_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static nm_status claim(names *ns, const char *name, nm_err *err, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0)
        return nm_err_set(err, NM_ERR_INPUT,
                          "cannot store the results: %s has the name '%s', which cannot name "
                          "an HDF5 dataset",
                          what, name);
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i].name, name) == 0)
            return nm_err_set(err, NM_ERR_INPUT,
                              "cannot store the results: %s and %s would both be the dataset "
                              "/%s in the result file",
                              ns->v[i].what, what, name);
    ns->v[ns->n].name = name;
    snprintf(ns->v[ns->n].what, sizeof ns->v[ns->n].what, "%s", what);
    ns->n++;
    return NM_OK;
}

/* One scale per distinct output dimension name. */
typedef struct {
    const char *name;
    size_t len;
    const char *first_output; /* for messages */
    hid_t id;
} dimscale;

/* ---- datasets ---- */

/* A 1-D dataset of n elements written from buf (contiguous, allocated at
 * the first write; n may be 0). */
static hid_t dset_1d(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n,
                     const void *buf, hid_t dcpl)
{
    hid_t space = H5Screate_simple(1, &n, NULL);
    if (space < 0)
        return H5I_INVALID_HID;
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(space);
    if (d >= 0 && buf && n > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        H5Dclose(d);
        return H5I_INVALID_HID;
    }
    return d;
}

/* first, first + 1, ..., first + n-1 as int64, written in blocks so huge n
 * needs little memory. */
static hid_t dset_iota(hid_t loc, const char *name, hsize_t n, int64_t first)
{
    hid_t d = dset_1d(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, n, NULL, H5P_DEFAULT);
    if (d < 0 || n == 0)
        return d;
    enum { BLOCK = 65536 };
    int64_t *buf = malloc(BLOCK * sizeof *buf);
    hid_t fs = H5Dget_space(d), ms = H5I_INVALID_HID;
    herr_t r = buf && fs >= 0 ? 0 : -1;
    for (hsize_t at = 0; at < n && r >= 0; at += BLOCK) {
        hsize_t cnt = n - at < BLOCK ? n - at : BLOCK;
        for (hsize_t i = 0; i < cnt; i++)
            buf[i] = first + (int64_t)(at + i);
        ms = H5Screate_simple(1, &cnt, NULL);
        r = ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &cnt, NULL);
        if (r >= 0)
            r = H5Dwrite(d, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, buf);
        if (ms >= 0)
            H5Sclose(ms);
    }
    if (fs >= 0)
        H5Sclose(fs);
    free(buf);
    if (r < 0) {
        H5Dclose(d);
        return H5I_INVALID_HID;
    }
    return d;
}

/* The values of parameter j of axis ax, as a 1-D dataset named after it. */
static hid_t axis_values(hid_t file, const nm_kernel *k, const nm_axis *ax, size_t j)
{
    const nm_param *p = nm_kernel_param(k, (size_t)ax->param[j]);
    size_t n = ax->len;
    hid_t d = H5I_INVALID_HID;
    switch (p->type) {
    case NM_T_INT: {
        int64_t *v = malloc(n * sizeof *v);
        if (!v)
            return H5I_INVALID_HID;
        for (size_t i = 0; i < n; i++)
            v[i] = ax->values[j][i].v.i;
        d = dset_1d(file, p->name, H5T_STD_I64LE, H5T_NATIVE_INT64, n, v, H5P_DEFAULT);
        free(v);
        break;
    }
    case NM_T_FLOAT: {
        double *v = malloc(n * sizeof *v);
        if (!v)
            return H5I_INVALID_HID;
        for (size_t i = 0; i < n; i++)
            v[i] = ax->values[j][i].v.f;
        d = dset_1d(file, p->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, v, H5P_DEFAULT);
        free(v);
        break;
    }
    case NM_T_BOOL: {
        int8_t *v = malloc(n * sizeof *v);
        if (!v)
            return H5I_INVALID_HID;
        for (size_t i = 0; i < n; i++)
            v[i] = ax->values[j][i].v.b ? 1 : 0;
        d = dset_1d(file, p->name, H5T_STD_I8LE, H5T_NATIVE_INT8, n, v, H5P_DEFAULT);
        free(v);
        /* xarray's convention for booleans stored as integers */
        if (d >= 0 && attr_s(d, "dtype", "bool") < 0)
            close_id(&d);
        break;
    }
    case NM_T_CHOICE: {
        const char **v = malloc(n * sizeof *v);
        hid_t t = H5Tcopy(H5T_C_S1);
        if (v && t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
            H5Tset_cset(t, H5T_CSET_UTF8) >= 0) {
            for (size_t i = 0; i < n; i++)
                v[i] = ax->values[j][i].v.s;
            d = dset_1d(file, p->name, t, t, n, v, H5P_DEFAULT);
        }
        if (t >= 0)
            H5Tclose(t);
        free(v);
        break;
    }
    }
    if (d >= 0 && attr_doc(d, p->unit, p->doc) < 0)
        close_id(&d);
    return d;
}

/* Dataset creation properties of a result: contiguous, allocated and filled
 * now, so that workers never allocate. fill NULL: HDF5's default (zeros). */
static hid_t result_dcpl(hid_t mtype, const void *fill)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return dcpl;
    if (H5Pset_layout(dcpl, H5D_CONTIGUOUS) < 0 ||
        H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_IFSET) < 0 ||
        (fill && H5Pset_fill_value(dcpl, mtype, fill) < 0) ||
        H5Pset_attr_creation_order(dcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0) {
        H5Pclose(dcpl);
        return H5I_INVALID_HID;
    }
    return dcpl;
}

/* Task-table dataset: like a result, or chunked + deflated (strings). */
static hid_t task_dset(hid_t grp, const char *name, hid_t ftype, hid_t mtype, const void *fill,
                       hsize_t ntasks, hsize_t chunk, const char *doc, const char *unit)
{
    hid_t dcpl = result_dcpl(mtype, fill);
    if (dcpl < 0)
        return dcpl;
    if (chunk > 0) {
        hsize_t c = chunk < ntasks ? chunk : ntasks;
        if (H5Pset_layout(dcpl, H5D_CHUNKED) < 0 || H5Pset_chunk(dcpl, 1, &c) < 0 ||
            H5Pset_deflate(dcpl, 1) < 0) {
            H5Pclose(dcpl);
            return H5I_INVALID_HID;
        }
    }
    hid_t d = dset_1d(grp, name, ftype, mtype, ntasks, NULL, dcpl);
    H5Pclose(dcpl);
    if (d >= 0 && attr_doc(d, unit, doc) < 0)
        close_id(&d);
    return d;
}

/* The /attempts table: NM_MAX_ATTEMPTS rows, allocated now (attempts.c). */
static bool create_attempts(hid_t file, hid_t gcpl)
{
    hid_t g = H5Gcreate2(file, "attempts", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (g < 0)
        return false;
    hid_t scale = dset_iota(g, "attempt", NM_MAX_ATTEMPTS, 0);
    bool ok = scale >= 0 && H5DSset_scale(scale, "attempt") >= 0 &&
              attr_doc(scale, NULL, "run of the sweep: 0 the first, then each --resume") >= 0;
    for (int i = 0; i < A_N && ok; i++) {
        nm_attempt_col c = nm_attempt_column(i);
        int8_t unused = NM_ATTEMPT_UNUSED; /* a run writes -1 as it starts */
        hid_t ft = c.strlen ? nm_h5_str_type(c.strlen) : H5Tcopy(c.numtype);
        if (ft >= 0 && !c.strlen)
            H5Tset_order(ft, H5T_ORDER_LE);
        hid_t d = ft < 0 ? ft
                         : task_dset(g, c.name, ft, c.strlen ? ft : c.numtype,
                                     i == A_STATUS ? &unused : NULL, NM_MAX_ATTEMPTS, 0, c.doc,
                                     NULL);
        ok = d >= 0 && H5DSattach_scale(d, scale, 0) >= 0;
        if (d >= 0)
            H5Dclose(d);
        if (ft >= 0)
            H5Tclose(ft);
    }
    if (scale >= 0)
        H5Dclose(scale);
    H5Gclose(g);
    return ok;
}

/* ---- creating the file ---- */

typedef struct {
    hid_t file;
    hid_t *axis;   /* naxes scales */
    hid_t *zip;    /* one per zip partner, in axis order */
    size_t nzip;
    dimscale *dim; /* distinct output dims */
    size_t ndim;
    hid_t *out;
    hid_t tasks, tscale, tset[NM_TCOL_N];
} layout;

/* n identifiers, all H5I_INVALID_HID (NULL if out of memory). */
static hid_t *invalid_ids(size_t n)
{
    hid_t *v = malloc((n + 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = H5I_INVALID_HID;
    return v;
}

static void layout_close(layout *l, size_t naxes, size_t nout)
{
    for (size_t i = 0; l->axis && i < naxes; i++)
        close_id(&l->axis[i]);
    for (size_t i = 0; l->zip && i < l->nzip; i++)
        close_id(&l->zip[i]);
    for (size_t i = 0; l->dim && i < l->ndim; i++)
        close_id(&l->dim[i].id);
    for (size_t i = 0; l->out && i < nout; i++)
        close_id(&l->out[i]);
    for (int i = 0; i < NM_TCOL_N; i++)
        close_id(&l->tset[i]);
    close_id(&l->tscale);
    close_id(&l->tasks);
    free(l->axis);
    free(l->zip);
    free(l->dim);
    free(l->out);
}

/* Checks names and output dimensions before anything is written: fills
 * l->dim (distinct output dimensions with their lengths) and ext (extents
 * of every output, NM_MAX_DIMS per output). */
static nm_status plan(const nm_sweep *sw, layout *l, size_t *ext, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    size_t maxnames = 1 + k->noutputs * (1 + NM_MAX_DIMS);
    for (size_t a = 0; a < sw->naxes; a++)
        maxnames += sw->axes[a].nparams + 1;
    names ns = {calloc(maxnames, sizeof(used_name)), 0};
    l->dim = calloc(k->noutputs * NM_MAX_DIMS + 1, sizeof *l->dim);
    if (!ns.v || !l->dim) {
        free(ns.v);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }

    nm_status st = claim(&ns, "tasks", err, "the task table");
    for (size_t a = 0; a < sw->naxes && st == NM_OK; a++)
        for (size_t j = 0; j < sw->axes[a].nparams && st == NM_OK; j++) {
            const char *name = nm_kernel_param(k, (size_t)sw->axes[a].param[j])->name;
            if (j == 0 && sw->axes[a].sample)
                st = claim(&ns, "sample", err, "the axis 'sample' of the sampling design");
            if (st == NM_OK && j == 0 && !sw->axes[a].sample)
                st = claim(&ns, name, err, "grid axis '%s'", name);
            else if (st == NM_OK)
                st = claim(&ns, name, err, "%s parameter '%s' (on axis '%s')",
                           sw->axes[a].sample ? "sampled" : "zip", name, sw->axes[a].name);
        }
    for (size_t o = 0; o < k->noutputs && st == NM_OK; o++) {
        const nm_output *out = &k->outputs[o];
        st = claim(&ns, out->name, err, "output '%s' of kernel '%s'", out->name, k->name);
        for (int d = 0; d < out->ndims && st == NM_OK; d++) {
            size_t n = sw->layout[o].ext[d];
            ext[o * NM_MAX_DIMS + (size_t)d] = n;
            size_t i = 0;
            while (i < l->ndim && strcmp(l->dim[i].name, out->dims[d]) != 0)
                i++;
            if (i < l->ndim) {
                if (l->dim[i].len != n)
                    st = nm_err_set(err, NM_ERR_INPUT,
                                    "cannot store the results: dimension '%s' has length %zu "
                                    "in output '%s' but %zu in output '%s' of kernel '%s'",
                                    out->dims[d], l->dim[i].len, l->dim[i].first_output, n,
                                    out->name, k->name);
                continue;
            }
            st = claim(&ns, out->dims[d], err, "dimension '%s' of output '%s'", out->dims[d],
                       out->name);
            l->dim[l->ndim++] = (dimscale){out->dims[d], n, out->name, H5I_INVALID_HID};
        }
    }
    free(ns.v);
    return st;
}

static nm_status build(const char *tmp, const nm_sweep *sw, const nm_prov *prov, layout *l,
                       const size_t *ext, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    nm_status st = NM_OK;
    char msg[256];

    /* Root group: dense attribute storage from the first attribute, so any
     * attribute may exceed 64 KiB (the spec text); creation order tracked,
     * which netCDF-4 readers like. File format of HDF5 1.8 (superblock v2):
     * readable by every HDF5 >= 1.8, and no SWMR consistency flags that
     * would lock a file whose writer was killed. */
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (fcpl < 0 || fapl < 0 || gcpl < 0 || H5Pset_attr_phase_change(fcpl, 0, 0) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_fapl_sec2(fapl) < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        st = nm_h5_fail(err, "cannot set up HDF5 properties");
        goto done;
    }
    l->file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (l->file < 0) {
        st = nm_h5_fail(err, "cannot create %s", tmp);
        goto done;
    }

    /* Root attributes. */
    snprintf(msg, sizeof msg, "neuromic sweep of kernel %s: %" PRIu64 " task%s", k->name,
             sw->ntasks, sw->ntasks == 1 ? "" : "s");
    if (attr_i(l->file, "neuromic_format", NM_FORMAT) < 0 || attr_s(l->file, "title", msg) < 0) {
        st = nm_h5_fail(err, "cannot write root attributes of %s", tmp);
        goto done;
    }
    if ((st = write_prov(l->file, prov, err)) != NM_OK)
        goto done;

    /* Axes: a scale per axis, coordinate datasets for zip partners. */
    size_t nzip = 0;
    for (size_t a = 0; a < sw->naxes; a++)
        nzip += sw->axes[a].nparams - (sw->axes[a].sample ? 0 : 1);
    l->axis = invalid_ids(sw->naxes);
    l->zip = invalid_ids(nzip);
    l->out = invalid_ids(k->noutputs);
    if (!l->axis || !l->zip || !l->out) {
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        goto done;
    }
    char coords[NM_ERR_MSG] = "";
    size_t clen = 0;
    for (size_t a = 0; a < sw->naxes; a++) {
        const nm_axis *ax = &sw->axes[a];
        /* A design's axis is the points' indices in its sequence; every
         * sampled parameter is a coordinate along it. */
        l->axis[a] = ax->sample ? dset_iota(l->file, ax->name, ax->len, (int64_t)ax->first)
                                : axis_values(l->file, k, ax, 0);
        if (l->axis[a] < 0 || H5DSset_scale(l->axis[a], ax->name) < 0 ||
            (ax->sample && attr_doc(l->axis[a], "",
                                    "index of the point in the sampling design's sequence") < 0)) {
            st = nm_h5_fail(err, "cannot write the values of grid axis '%s'", ax->name);
            goto done;
        }
        for (size_t j = ax->sample ? 0 : 1; j < ax->nparams; j++) {
            const char *name = nm_kernel_param(k, (size_t)ax->param[j])->name;
            hid_t z = l->zip[l->nzip++] = axis_values(l->file, k, ax, j);
            if (z < 0 || H5DSattach_scale(z, l->axis[a], 0) < 0) {
                st = nm_h5_fail(err, "cannot write the values of zip parameter '%s'", name);
                goto done;
            }
            int n = snprintf(coords + clen, sizeof coords - clen, "%s%s", clen ? " " : "", name);
            if (n > 0 && (size_t)n < sizeof coords - clen)
                clen += (size_t)n;
        }
    }

    /* Output dimensions: scales 0..n-1. */
    for (size_t i = 0; i < l->ndim; i++) {
        l->dim[i].id = dset_iota(l->file, l->dim[i].name, l->dim[i].len, 0);
        if (l->dim[i].id < 0 || H5DSset_scale(l->dim[i].id, l->dim[i].name) < 0) {
            st = nm_h5_fail(err, "cannot write dimension '%s'", l->dim[i].name);
            goto done;
        }
    }

    /* Outputs. */
    for (size_t o = 0; o < k->noutputs; o++) {
        const nm_output *out = &k->outputs[o];
        int rank = (int)sw->naxes + out->ndims;
        hsize_t dims[rank + 1];
        for (size_t a = 0; a < sw->naxes; a++)
            dims[a] = sw->axes[a].len;
        for (int d = 0; d < out->ndims; d++)
            dims[sw->naxes + (size_t)d] = ext[o * NM_MAX_DIMS + (size_t)d];
        bool isf = out->type == NM_O_F64;
        double fnan = NAN;
        int64_t imin = INT64_MIN;
        const void *fill = isf ? (const void *)&fnan : (const void *)&imin;
        hid_t ftype = isf ? H5T_IEEE_F64LE : H5T_STD_I64LE;
        hid_t mtype = isf ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
        hid_t dcpl = result_dcpl(mtype, fill);
        hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
        if (dcpl >= 0 && space >= 0)
            l->out[o] = H5Dcreate2(l->file, out->name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        /* Before any other HDF5 call, which would clear the error stack
         * that says why (ENOSPC writing the fill values, typically). */
        if (l->out[o] < 0)
            st = nm_h5_fail(err, "cannot create dataset '%s' in %s", out->name, tmp);
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (space >= 0)
            H5Sclose(space);
        hid_t d = l->out[o];
        if (st != NM_OK)
            goto done;
        if (attr_doc(d, out->unit, out->doc) < 0 ||
            attr_write(d, "_FillValue", ftype, mtype, 0, fill) < 0 ||
            (clen > 0 && attr_s(d, "coordinates", coords) < 0)) {
            st = nm_h5_fail(err, "cannot create dataset '%s' in %s", out->name, tmp);
            goto done;
        }
        for (size_t a = 0; a < sw->naxes; a++)
            if (H5DSattach_scale(d, l->axis[a], (unsigned)a) < 0) {
                st = nm_h5_fail(err, "cannot attach axis '%s' to output '%s'", sw->axes[a].name,
                            out->name);
                goto done;
            }
        for (int dd = 0; dd < out->ndims; dd++) {
            size_t i = 0;
            while (strcmp(l->dim[i].name, out->dims[dd]) != 0)
                i++;
            if (H5DSattach_scale(d, l->dim[i].id, (unsigned)(sw->naxes + (size_t)dd)) < 0) {
                st = nm_h5_fail(err, "cannot attach dimension '%s' to output '%s'", out->dims[dd],
                            out->name);
                goto done;
            }
        }
    }

    /* The task table. */
    hsize_t nt = sw->ntasks;
    int8_t pending = NM_TASK_PENDING;
    int32_t norank = -1;
    double fnan = NAN;
    hid_t hs = nm_h5_str_type(NM_HOST_LEN), es = nm_h5_str_type(NM_ERROR_LEN);
    l->tasks = H5Gcreate2(l->file, "tasks", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (l->tasks >= 0 && hs >= 0 && es >= 0) {
        l->tscale = dset_iota(l->tasks, "task", nt, 0);
        if (l->tscale >= 0 && (H5DSset_scale(l->tscale, "task") < 0 ||
                               attr_doc(l->tscale, NULL, "task id: the row-major index into the "
                                                          "grid axes") < 0))
            close_id(&l->tscale);
        hid_t *ts = l->tset;
        const char *const *tn = nm_task_columns;
        ts[NM_TCOL_STATUS] = task_dset(l->tasks, tn[NM_TCOL_STATUS], H5T_STD_I8LE,
                                       H5T_NATIVE_INT8, &pending, nt, 0,
                                       "0 pending, 1 done, 2 failed", NULL);
        ts[NM_TCOL_RANK] = task_dset(l->tasks, tn[NM_TCOL_RANK], H5T_STD_I32LE, H5T_NATIVE_INT32,
                                     &norank, nt, 0, "MPI rank that ran the task (-1 if none)",
                                     NULL);
        ts[NM_TCOL_SECONDS] = task_dset(l->tasks, tn[NM_TCOL_SECONDS], H5T_IEEE_F64LE,
                                        H5T_NATIVE_DOUBLE, &fnan, nt, 0,
                                        "wall-clock time of the task", "s");
        /* Strings: the default fill (all NUL, i.e. ""), because netCDF-C
         * 4.9 (ncdump -h) crashes on fixed-length strings with an explicit
         * fill value. */
        ts[NM_TCOL_HOST] = task_dset(l->tasks, tn[NM_TCOL_HOST], hs, hs, NULL, nt,
                                     NM_TASK_STRING_CHUNK, "host that ran the task", NULL);
        ts[NM_TCOL_ERROR] = task_dset(l->tasks, tn[NM_TCOL_ERROR], es, es, NULL, nt,
                                      NM_TASK_STRING_CHUNK, "why the task failed", NULL);
        uint64_t nosum = 0;
        ts[NM_TCOL_CHECKSUM] = task_dset(l->tasks, tn[NM_TCOL_CHECKSUM], H5T_STD_U64LE,
                                         H5T_NATIVE_UINT64, &nosum, nt, 0,
                                         "checksum of a done task's results, written with them "
                                         "and verified by --resume (0: no results)", NULL);
    }
    if (hs >= 0)
        H5Tclose(hs);
    if (es >= 0)
        H5Tclose(es);
    bool ok = l->tasks >= 0 && l->tscale >= 0;
    for (int i = 0; i < NM_TCOL_N && ok; i++)
        ok = l->tset[i] >= 0 && H5DSattach_scale(l->tset[i], l->tscale, 0) >= 0;
    if (ok) {
        static const int8_t flags[] = {NM_TASK_PENDING, NM_TASK_DONE, NM_TASK_FAILED};
        ok = attr_write(l->tset[NM_TCOL_STATUS], "flag_values", H5T_STD_I8LE, H5T_NATIVE_INT8,
                        3, flags) >= 0 &&
             attr_s(l->tset[NM_TCOL_STATUS], "flag_meanings", "pending done failed") >= 0;
    }
    if (!ok) {
        st = nm_h5_fail(err, "cannot create the task table in %s", tmp);
        goto done;
    }
    if (!create_attempts(l->file, gcpl)) {
        st = nm_h5_fail(err, "cannot create the attempts table in %s", tmp);
        goto done;
    }

done:
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    layout_close(l, sw->naxes, k->noutputs);
    if (l->file >= 0) {
        /* A failed build (a full disk, typically) is thrown away: emptying
         * the file first frees its space, so that HDF5 can write the
         * metadata it still holds and close the file. A file that cannot
         * be closed would stay open in the library and crash it at exit
         * (H5F__close_cb inside MPI_Finalize). */
        if (st != NM_OK && truncate(tmp, 0) != 0) {
            /* the close below reports what went wrong */
        }
        /* Never a second H5Fclose: after a failed one it crashes. */
        if (H5Fclose(l->file) < 0) {
            nm_h5_unclean();
            if (st == NM_OK)
                st = nm_h5_fail(err, "cannot close %s", tmp);
        }
    }
    l->file = H5I_INVALID_HID;
    return st;
}

/* At least how many bytes the file will take: the outputs, the task
 * table, the /attempts table, the attributes and 16 KiB of HDF5's own
 * structures (a lower bound: the build itself catches the rest). */
static double file_bytes(const nm_sweep *sw, const nm_prov *prov, const size_t *ext)
{
    const nm_kernel *k = sw->kernel;
    double per_task = 1 + 4 + 8 + NM_HOST_LEN + NM_ERROR_LEN + 8 + 8;
    for (size_t o = 0; o < k->noutputs; o++) {
        double n = 8;
        for (int d = 0; d < k->outputs[o].ndims; d++)
            n *= (double)ext[o * NM_MAX_DIMS + (size_t)d];
        per_task += n;
    }
    double bytes = per_task * (double)sw->ntasks + 16.0 * 1024 +
                   NM_MAX_ATTEMPTS * (double)sizeof(nm_attempt);
    for (size_t i = 0; prov && i < prov->n; i++)
        bytes += prov->a[i].sval ? (double)strlen(prov->a[i].sval) + 64 : 72;
    return bytes;
}

/* Refuses up front a file that cannot fit: HDF5 failing half-way through
 * the build on a full disk is slower and says less. */
static nm_status check_space(const char *path, const char *dir, const nm_sweep *sw,
                             const nm_prov *prov, const size_t *ext, nm_err *err)
{
    struct statvfs vs;
    if (statvfs(dir, &vs) != 0)
        return NM_OK; /* no figures: the build itself will tell */
    double need = file_bytes(sw, prov, ext);
    double avail = (double)vs.f_bavail * (double)vs.f_frsize;
    if (need > avail)
        return nm_err_set(err, NM_ERR_RUNTIME, "cannot create %s: %s (errno %d): the file needs "
                          "about %.3g bytes, %s has %.3g available", path, strerror(ENOSPC),
                          ENOSPC, need, dir, avail);
    return NM_OK;
}

/* Reserves every block of the built file (HDF5 leaves never-written
 * ranges as holes), so that a full disk shows up now, as a failed create,
 * and never as a failed checkpoint in the middle of the run. */
static nm_status reserve(const char *tmp, nm_err *err)
{
    int fd = open(tmp, O_RDWR | O_CLOEXEC);
    struct stat sb;
    int e = fd < 0 ? errno : fstat(fd, &sb) != 0 ? errno : posix_fallocate(fd, 0, sb.st_size);
    if (fd >= 0)
        close(fd);
    if (e == EOPNOTSUPP || e == EINVAL)
        return NM_OK; /* a file system that cannot reserve space */
    if (e != 0)
        return nm_err_set(err, NM_ERR_RUNTIME, "cannot reserve the space of %s: %s (errno %d)",
                          tmp, strerror(e), e);
    return NM_OK;
}

static nm_status sync_path(const char *path, int flags, nm_err *err)
{
    int fd = open(path, flags);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return nm_err_set(err, NM_ERR_RUNTIME, "cannot sync %s: %s", path, strerror(e));
    }
    close(fd);
    return NM_OK;
}

/* Moves the finished tmp to path; without force never replaces a file. */
static nm_status install(const char *tmp, const char *path, const char *dir, bool force,
                         nm_err *err)
{
    if (force) {
        if (rename(tmp, path) != 0)
            return nm_err_set(err, NM_ERR_RUNTIME, "cannot rename %s to %s: %s", tmp, path,
                              strerror(errno));
    } else if (link(tmp, path) == 0) {
        unlink(tmp);
    } else if (errno == EEXIST) {
        return nm_err_set(err, NM_ERR_INPUT, "%s exists; pass --force to overwrite it", path);
    } else if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EMLINK) {
        /* A file system without hard links: RENAME_NOREPLACE where the
         * kernel and file system have it, else a last look and rename. */
#ifdef RENAME_NOREPLACE
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            goto synced;
        if (errno == EEXIST)
            return nm_err_set(err, NM_ERR_INPUT, "%s exists; pass --force to overwrite it", path);
#endif
        struct stat sb;
        if (lstat(path, &sb) == 0)
            return nm_err_set(err, NM_ERR_INPUT, "%s exists; pass --force to overwrite it", path);
        if (rename(tmp, path) != 0)
            return nm_err_set(err, NM_ERR_RUNTIME, "cannot rename %s to %s: %s", tmp, path,
                              strerror(errno));
    } else {
        return nm_err_set(err, NM_ERR_RUNTIME, "cannot create %s: %s", path, strerror(errno));
    }
#ifdef RENAME_NOREPLACE
synced:
#endif
    /* The new directory entry is durable too (best effort: some file
     * systems refuse fsync on directories). */
    sync_path(dir, O_RDONLY | O_DIRECTORY, NULL);
    return NM_OK;
}

/* The directory of path into dir (strlen(path) + 2 bytes). */
static void dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        sprintf(dir, "%.*s", (int)(slash - path), path);
}

nm_status nm_store_install(const char *tmp, const char *path, bool force, nm_err *err)
{
    char *dir = malloc(strlen(path) + 2);
    if (!dir)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    dir_of(path, dir);
    nm_status st = sync_path(tmp, O_RDONLY, err);
    if (st == NM_OK)
        st = install(tmp, path, dir, force, err);
    free(dir);
    return st;
}

nm_status nm_store_create(const char *path, const nm_sweep *sw, const nm_prov *prov, bool force,
                          nm_err *err)
{
    nm_err local;
    if (!err)
        err = &local;
    /* Up front: refuse an existing file, check the directory. */
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return nm_err_set(err, NM_ERR_INPUT, "%s is a directory; give a file name", path);
        if (!force)
            return nm_err_set(err, NM_ERR_INPUT, "%s exists; pass --force to overwrite it", path);
    }
    size_t plen = strlen(path);
    char *dir = malloc(plen + 2), *tmp = malloc(plen + 32);
    if (!dir || !tmp) {
        free(dir);
        free(tmp);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    dir_of(path, dir);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());

    nm_status st = NM_OK;
    if (plen == 0 || path[plen - 1] == '/')
        st = nm_err_set(err, NM_ERR_INPUT, "'%s' is not a file name", path);
    if (st == NM_OK) {
        if (stat(dir, &sb) != 0)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot create %s: directory %s: %s", path, dir,
                            strerror(errno));
        else if (!S_ISDIR(sb.st_mode))
            st = nm_err_set(err, NM_ERR_INPUT, "cannot create %s: %s is not a directory", path,
                            dir);
        else if (access(dir, W_OK | X_OK) != 0)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot create %s: directory %s is not writable (%s)",
                            path, dir, strerror(errno));
    }

    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    layout l = {.file = H5I_INVALID_HID, .tasks = H5I_INVALID_HID, .tscale = H5I_INVALID_HID};
    for (int i = 0; i < NM_TCOL_N; i++)
        l.tset[i] = H5I_INVALID_HID;
    size_t *ext = calloc(sw->kernel->noutputs * NM_MAX_DIMS + 1, sizeof *ext);
    if (st == NM_OK && !ext)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    if (st == NM_OK)
        st = plan(sw, &l, ext, err);
    if (st == NM_OK)
        st = check_space(path, dir, sw, prov, ext, err);
    bool made = false;
    if (st == NM_OK) {
        made = true;
        st = build(tmp, sw, prov, &l, ext, err);
    } else {
        free(l.dim);
    }
    if (st == NM_OK)
        st = reserve(tmp, err);
    if (st == NM_OK)
        st = sync_path(tmp, O_RDONLY, err);
    if (st == NM_OK)
        st = install(tmp, path, dir, force, err);
    if (st != NM_OK && made)
        unlink(tmp);
    nm_h5_quiet_off(&q);
    free(ext);
    free(dir);
    free(tmp);
    return st;
}

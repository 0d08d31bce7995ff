/* integrity.c: checksums of task results and the check of a file before
 * --resume writes into it.
 *
 * A checkpoint writes each done task's checksum into /tasks/checksum
 * together with the rest of the task table, after its results and before
 * its status, so a task marked done always has both. Before a resume,
 * every done task's results are read back (raw bytes, straight from the
 * contiguous datasets) and their checksum recomputed: one flipped byte in a
 * value, a trace or a draw, a status byte set to "done" on a task that
 * never ran, a checksum overwritten: each shows up as a damaged task, named,
 * before anything is written. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"
#include "integrity.h"
#include "neuromic/internal/report.h"
#include "neuromic/internal/sha256.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checksums are computed over the in-memory rows, which must be the file's little-endian bytes"
#endif

/* Bytes of results read at a time while checking. */
#define VERIFY_BLOCK_BYTES (8u << 20)

uint64_t nm_integrity_row(uint64_t task, size_t nout, const unsigned char *const *rows,
                          const size_t *rowbytes)
{
    nm_sha256 c;
    uint8_t id[8], d[32];
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(task >> (8 * i));
    nm_sha256_init(&c);
    nm_sha256_update(&c, id, sizeof id);
    for (size_t o = 0; o < nout; o++)
        nm_sha256_update(&c, rows[o], rowbytes[o]);
    nm_sha256_final(&c, d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)d[i] << (8 * i);
    return v ? v : 1;
}

/* ---- structure ---- */

static bool same_dims(hid_t d, int rank, const hsize_t *want)
{
    hid_t sp = H5Dget_space(d);
    hsize_t got[H5S_MAX_RANK];
    int r = sp < 0 ? -1 : H5Sget_simple_extent_ndims(sp);
    bool ok = r == rank && rank <= H5S_MAX_RANK &&
              (rank == 0 || H5Sget_simple_extent_dims(sp, got, NULL) == rank);
    for (int i = 0; ok && i < rank; i++)
        ok = got[i] == want[i];
    if (sp >= 0)
        H5Sclose(sp);
    return ok;
}

static bool has_type(hid_t d, hid_t want)
{
    hid_t t = H5Dget_type(d);
    bool ok = t >= 0 && H5Tequal(t, want) > 0;
    if (t >= 0)
        H5Tclose(t);
    return ok;
}

/* The values of parameter j of axis a, as the spec makes them. */
static bool axis_matches(hid_t d, const nm_sweep *sw, const nm_axis *ax, size_t j)
{
    const nm_param *p = nm_kernel_param(sw->kernel, (size_t)ax->param[j]);
    hsize_t n = ax->len;
    if (!same_dims(d, 1, &n))
        return false;
    bool ok = false;
    if (p->type == NM_T_CHOICE) {
        hid_t t = H5Dget_type(d), mt = H5Tcopy(H5T_C_S1);
        char **v = calloc(n, sizeof *v);
        if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 && mt >= 0 &&
            H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Tset_cset(mt, H5Tget_cset(t)) >= 0 && v &&
            H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
            ok = true;
            for (size_t i = 0; i < n; i++)
                ok &= v[i] && strcmp(v[i], ax->values[j][i].v.s) == 0;
            hid_t sp = H5Dget_space(d);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
            H5Sclose(sp);
        }
        free(v);
        if (mt >= 0)
            H5Tclose(mt);
        if (t >= 0)
            H5Tclose(t);
        return ok;
    }
    int64_t *iv = malloc(n * sizeof *iv);
    double *fv = malloc(n * sizeof *fv);
    if (!iv || !fv)
        goto out;
    if (p->type == NM_T_FLOAT) {
        if (!has_type(d, H5T_IEEE_F64LE) ||
            H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, fv) < 0)
            goto out;
        ok = true;
        for (size_t i = 0; i < n; i++)
            ok &= memcmp(&fv[i], &ax->values[j][i].v.f, sizeof(double)) == 0;
    } else {
        bool isb = p->type == NM_T_BOOL;
        if (!has_type(d, isb ? H5T_STD_I8LE : H5T_STD_I64LE) ||
            H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, iv) < 0)
            goto out;
        ok = true;
        for (size_t i = 0; i < n; i++)
            ok &= iv[i] == (isb ? (int64_t)(ax->values[j][i].v.b ? 1 : 0) : ax->values[j][i].v.i);
    }
out:
    free(iv);
    free(fv);
    return ok;
}

/* The dataset `sample` of a design's axis: first, first + 1, ... */
static bool sample_index_matches(hid_t f, const nm_axis *ax)
{
    hid_t d = H5Dopen2(f, ax->name, H5P_DEFAULT);
    hsize_t n = ax->len;
    int64_t *v = malloc(n * sizeof *v);
    bool ok = d >= 0 && v && same_dims(d, 1, &n) && has_type(d, H5T_STD_I64LE) &&
              H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    for (size_t i = 0; ok && i < ax->len; i++)
        ok = v[i] == (int64_t)(ax->first + i);
    free(v);
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* Outputs, axes and the task table: names, types, shapes and, for the
 * axes, values. Fills offset[o] with the file offset of output o's data. */
static nm_status check_structure(hid_t f, const char *path, const nm_sweep *sw,
                                 haddr_t *offset, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    nm_point *p = nm_point_alloc(sw);
    if (!p)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    nm_grid_point(sw, 0, p);
    nm_status st = NM_OK;
    for (size_t o = 0; o < k->noutputs && st == NM_OK; o++) {
        const nm_output *out = &k->outputs[o];
        int rank = (int)sw->naxes + out->ndims;
        hsize_t dims[H5S_MAX_RANK];
        for (size_t a = 0; a < sw->naxes && a < H5S_MAX_RANK; a++)
            dims[a] = sw->axes[a].len;
        for (int d = 0; d < out->ndims && (int)sw->naxes + d < H5S_MAX_RANK; d++)
            dims[sw->naxes + (size_t)d] = out->extent(p, d);
        hid_t d = H5Dopen2(f, out->name, H5P_DEFAULT);
        hid_t dcpl = d < 0 ? d : H5Dget_create_plist(d);
        bool isf = out->type == NM_O_F64;
        if (d < 0)
            st = nm_err_set(err, NM_ERR_INPUT, "%s has no dataset '%s' (output of kernel %s); "
                            "refusing to resume into it", path, out->name, k->name);
        else if (!has_type(d, isf ? H5T_IEEE_F64LE : H5T_STD_I64LE))
            st = nm_err_set(err, NM_ERR_INPUT, "%s: dataset '%s' is not stored as %s, as neuromic "
                            "writes it (was the file rewritten by another program?); refusing to "
                            "resume into it", path, out->name, isf ? "float64" : "int64");
        else if (rank > H5S_MAX_RANK || !same_dims(d, rank, dims))
            st = nm_err_set(err, NM_ERR_INPUT, "%s: dataset '%s' does not have the shape this "
                            "sweep gives it; refusing to resume into it", path, out->name);
        else if (dcpl < 0 || H5Pget_layout(dcpl) != H5D_CONTIGUOUS ||
                 (offset[o] = H5Dget_offset(d)) == HADDR_UNDEF)
            st = nm_err_set(err, NM_ERR_INPUT, "%s: dataset '%s' is not laid out as neuromic "
                            "writes it (contiguous, allocated); refusing to resume into it", path,
                            out->name);
        if (dcpl >= 0)
            H5Pclose(dcpl);
        if (d >= 0)
            H5Dclose(d);
    }
    nm_point_free(p);
    for (size_t a = 0; a < sw->naxes && st == NM_OK; a++) {
        if (sw->axes[a].sample && !sample_index_matches(f, &sw->axes[a]))
            st = nm_err_set(err, NM_ERR_INPUT, "%s: the indices of the design's axis 'sample' are "
                            "not this spec's (sample.n or sample.skip changed after the run?); "
                            "refusing to resume into it", path);
        for (size_t j = 0; j < sw->axes[a].nparams && st == NM_OK; j++) {
            const char *name = nm_kernel_param(k, (size_t)sw->axes[a].param[j])->name;
            hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
            if (d < 0 || !axis_matches(d, sw, &sw->axes[a], j))
                st = nm_err_set(err, NM_ERR_INPUT, "%s: the values of axis '%s' are not this "
                                "spec's (changed after the run?); refusing to resume into it",
                                path, name);
            if (d >= 0)
                H5Dclose(d);
        }
    }
    static const char *const tnames[] = {"status", "rank", "seconds", "host", "error", "checksum"};
    hsize_t nt = sw->ntasks;
    for (size_t i = 0; i < sizeof tnames / sizeof *tnames && st == NM_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "/tasks/%s", tnames[i]);
        hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        bool ok = d >= 0 && same_dims(d, 1, &nt);
        if (ok && i == 0)
            ok = has_type(d, H5T_STD_I8LE);
        if (ok && i == 5)
            ok = has_type(d, H5T_STD_U64LE);
        if (!ok)
            st = nm_err_set(err, NM_ERR_INPUT, "%s: %s is missing or not as neuromic writes it%s; "
                            "refusing to resume into it", path, name,
                            i == 5 ? " (a file from a neuromic without checksums?)" : "");
        if (d >= 0)
            H5Dclose(d);
    }
    return st;
}

/* ---- every done task ---- */

static nm_status read_checksums(hid_t d, uint64_t first, uint64_t n, uint64_t *out)
{
    hsize_t start = first, cnt = n;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &cnt, NULL);
    herr_t r = fs < 0 || ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
    if (r >= 0)
        r = H5Dread(d, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, out);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return r < 0 ? NM_ERR_RUNTIME : NM_OK;
}

static bool pread_all(int fd, void *buf, size_t n, off_t at)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

nm_status nm_integrity_verify(hid_t file, const char *path, const nm_sweep *sw,
                              nm_store_info *info, bool repair, nm_err *err)
{
    const nm_kernel *k = sw->kernel;
    size_t nout = k->noutputs;
    size_t *rowbytes = calloc(nout + 1, sizeof *rowbytes);
    haddr_t *offset = calloc(nout + 1, sizeof *offset);
    unsigned char **rows = calloc(nout + 1, sizeof *rows);
    const unsigned char **rowp = calloc(nout + 1, sizeof *rowp);
    nm_point *p = nm_point_alloc(sw);
    if (!rowbytes || !offset || !rows || !rowp || !p) {
        free(rowbytes);
        free(offset);
        free(rows);
        free(rowp);
        nm_point_free(p);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    nm_grid_point(sw, 0, p);
    size_t bytes_per_task = 8;
    for (size_t o = 0; o < nout; o++) {
        rowbytes[o] = 8 * nm_output_size(&k->outputs[o], p);
        bytes_per_task += rowbytes[o];
    }
    nm_point_free(p);
    nm_status st = check_structure(file, path, sw, offset, err);

    /* Tasks in blocks of about VERIFY_BLOCK_BYTES (at least one). */
    uint64_t block = VERIFY_BLOCK_BYTES / bytes_per_task;
    block = block < 1 ? 1 : block > sw->ntasks ? (sw->ntasks ? sw->ntasks : 1) : block;
    uint64_t *sums = st == NM_OK ? malloc(block * sizeof *sums) : NULL;
    for (size_t o = 0; st == NM_OK && o < nout; o++)
        if (!(rows[o] = malloc(block * rowbytes[o] + 1)))
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    if (st == NM_OK && !sums)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    int fd = st == NM_OK ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (st == NM_OK && fd < 0)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    hid_t cd = st == NM_OK ? H5Dopen2(file, "/tasks/checksum", H5P_DEFAULT) : H5I_INVALID_HID;
    uint64_t bad = 0, first_bad = 0;
    const char *why = NULL;
    for (uint64_t t0 = 0; st == NM_OK && t0 < sw->ntasks; t0 += block) {
        uint64_t n = sw->ntasks - t0 < block ? sw->ntasks - t0 : block;
        bool any = false;
        for (uint64_t i = 0; i < n; i++)
            any |= info->status[t0 + i] == NM_TASK_DONE;
        if (!any) {
            for (uint64_t i = 0; i < n; i++) /* only out-of-range statuses to catch */
                if (info->status[t0 + i] < NM_TASK_PENDING || info->status[t0 + i] > NM_TASK_FAILED) {
                    if (!bad++) {
                        first_bad = t0 + i;
                        why = "its status is not one of 0 pending, 1 done, 2 failed";
                    }
                    if (repair)
                        info->status[t0 + i] = NM_TASK_PENDING;
                }
            continue;
        }
        if (read_checksums(cd, t0, n, sums) != NM_OK) {
            st = nm_h5_fail(err, "%s: cannot read /tasks/checksum", path);
            break;
        }
        for (size_t o = 0; o < nout; o++)
            if (rowbytes[o] && !pread_all(fd, rows[o], n * rowbytes[o],
                                          (off_t)(offset[o] + t0 * rowbytes[o]))) {
                st = nm_err_set(err, NM_ERR_INPUT, "%s: cannot read the results of output '%s' "
                                "(file truncated?); refusing to resume into it", path,
                                k->outputs[o].name);
                break;
            }
        for (uint64_t i = 0; st == NM_OK && i < n; i++) {
            int8_t s = info->status[t0 + i];
            const char *w = NULL;
            if (s < NM_TASK_PENDING || s > NM_TASK_FAILED)
                w = "its status is not one of 0 pending, 1 done, 2 failed";
            else if (s == NM_TASK_DONE) {
                for (size_t o = 0; o < nout; o++)
                    rowp[o] = rows[o] + i * rowbytes[o];
                if (nm_integrity_row(t0 + i, nout, rowp, rowbytes) != sums[i])
                    w = "its results do not match the checksum written with them";
            }
            if (!w)
                continue;
            if (!bad++) {
                first_bad = t0 + i;
                why = w;
            }
            if (repair)
                info->status[t0 + i] = NM_TASK_PENDING;
        }
    }
    if (cd >= 0)
        H5Dclose(cd);
    if (fd >= 0)
        close(fd);
    info->damaged = bad;
    if (st == NM_OK && bad && !repair) {
        char point[512];
        nm_grid_point_text(sw, first_bad, point, sizeof point);
        st = nm_err_set(err, NM_ERR_INPUT, "%s is damaged: task %" PRIu64 " (%s): %s; %" PRIu64
                        " damaged task%s in all. Nothing was written. Rerun the damaged tasks "
                        "with --repair (or start a new file)", path, first_bad,
                        *point ? point : "no axes", why, bad, bad == 1 ? "" : "s");
    }
    free(sums);
    for (size_t o = 0; o < nout; o++)
        free(rows[o]);
    free(rows);
    free(rowp);
    free(rowbytes);
    free(offset);
    return st;
}

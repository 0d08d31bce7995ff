/* merge.c: one result file from several whose sweeps differ only in the
 * values of one axis (`neuromic merge`; the checks on the sweeps are in
 * src/cli/merge.c).
 *
 * The union's file is created exactly as a run of the union sweep creates it
 * (nm_store_create, under a temporary name next to OUT), so that every
 * dataset has the layout, fill values and attributes a run would give it.
 * Then each input task's result rows are copied byte for byte to the row of
 * its task id in the union (raw reads and writes at the contiguous datasets'
 * offsets, as the integrity check reads them), its task-table entries are
 * copied and its checksum recomputed for its new task id; the inputs'
 * /attempts rows are concatenated in input order; each input's root
 * attributes are kept in the group /inputs/K. Only then is the file synced
 * and moved to OUT: a failed merge leaves no OUT and no temporary file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attempts.h"
#include "h5util.h"
#include "install.h"
#include "integrity.h"
#include "neuromic/internal/store.h"

/* ---- reading root attributes ---- */

/* A string attribute of loc, malloc'd (NULL if absent or not a string). */
static char *attr_string(hid_t loc, const char *name)
{
    if (H5Aexists(loc, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = a < 0 ? a : H5Aget_type(a);
    char *s = NULL;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft)) {
        size_t n = H5Tget_size(ft);
        s = calloc(1, n + 1);
        if (s && H5Aread(a, ft, s) < 0) {
            free(s);
            s = NULL;
        }
    }
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

nm_status nm_store_spec(const char *path, char **text, char **overrides, nm_err *err)
{
    *text = *overrides = NULL;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    nm_status st = NM_OK;
    if (f < 0) {
        struct stat sb;
        st = nm_err_set(err, NM_ERR_INPUT, "%s: %s", path,
                        stat(path, &sb) != 0 ? strerror(errno)
                                             : "not an HDF5 file (or damaged); not a neuromic "
                                               "result file");
    } else if (H5Aexists(f, "neuromic_version") <= 0 || !(*text = attr_string(f, "spec_text"))) {
        st = nm_err_set(err, NM_ERR_INPUT, "%s is an HDF5 file but not a neuromic result file",
                        path);
    } else if (!(*overrides = attr_string(f, "overrides")) && !(*overrides = strdup(""))) {
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    if (f >= 0)
        H5Fclose(f);
    nm_h5_quiet_off(&q);
    if (st != NM_OK) {
        free(*text);
        free(*overrides);
        *text = *overrides = NULL;
    }
    return st;
}

/* Root attributes of input 0, as the union's provenance (those that
 * describe the sweep are replaced by the caller). */
static herr_t prov_from_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    nm_prov *p = data;
    if (!strcmp(name, "neuromic_format") || !strcmp(name, "title"))
        return 0; /* written by nm_store_create itself */
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t ft = a < 0 ? a : H5Aget_type(a);
    herr_t r = 0;
    if (ft >= 0 && H5Tget_class(ft) == H5T_INTEGER) {
        int64_t v;
        if (H5Aread(a, H5T_NATIVE_INT64, &v) < 0 || nm_prov_set_i(p, name, v) != NM_OK)
            r = -1;
    } else if (ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        char *s = attr_string(loc, name);
        if (!s || nm_prov_set_s(p, name, s) != NM_OK)
            r = -1;
        free(s);
    }
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return r;
}

/* Copies attribute `name` of one object to another, type and all. */
static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    hid_t to = *(hid_t *)data;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t t = a < 0 ? a : H5Aget_type(a), sp = a < 0 ? a : H5Aget_space(a);
    herr_t r = -1;
    hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    size_t sz = t < 0 ? 0 : H5Tget_size(t);
    void *buf = n >= 0 && sz ? calloc((size_t)(n ? n : 1), sz) : NULL;
    if (buf && H5Aread(a, t, buf) >= 0) {
        hid_t b = H5Acreate2(to, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (b >= 0) {
            r = H5Awrite(b, t, buf);
            H5Aclose(b);
        }
    }
    free(buf);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return r;
}

/* ---- the copy ---- */

/* The task table of the union, filled from the inputs. */
typedef struct {
    int8_t *status;
    int32_t *rank;
    double *seconds;
    char *host, *error;
    uint64_t *checksum;
} tasktab;

static void tasktab_free(tasktab *t)
{
    free(t->status);
    free(t->rank);
    free(t->seconds);
    free(t->host);
    free(t->error);
    free(t->checksum);
}

/* File offsets of every output dataset of f (contiguous, allocated). */
static bool output_offsets(const char *path, const nm_kernel *k, haddr_t *off)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    bool ok = f >= 0;
    for (size_t o = 0; ok && o < k->noutputs; o++) {
        hid_t d = H5Dopen2(f, k->outputs[o].name, H5P_DEFAULT);
        ok = d >= 0 && (off[o] = H5Dget_offset(d)) != HADDR_UNDEF;
        if (d >= 0)
            H5Dclose(d);
    }
    if (f >= 0)
        H5Fclose(f);
    return ok;
}

static bool io_all(int fd, void *buf, size_t n, off_t at, bool wr)
{
    for (size_t done = 0; done < n;) {
        ssize_t r = wr ? pwrite(fd, (char *)buf + done, n - done, at + (off_t)done)
                       : pread(fd, (char *)buf + done, n - done, at + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

/* Reads /tasks/NAME of f (n entries of mtype) into buf. */
static bool read_col(hid_t f, const char *name, hid_t mtype, void *buf)
{
    char p[64];
    snprintf(p, sizeof p, "/tasks/%s", name);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    bool ok = d >= 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

static bool write_col(hid_t f, const char *group, const char *name, hid_t mtype, hsize_t rows,
                      const void *buf)
{
    char p[64];
    snprintf(p, sizeof p, "/%s/%s", group, name);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    hid_t fs = d < 0 ? d : H5Dget_space(d), ms = H5Screate_simple(1, &rows, NULL);
    hsize_t zero = 0;
    bool ok = d >= 0 && fs >= 0 && ms >= 0 &&
              (rows == 0 || (H5Sselect_hyperslab(fs, H5S_SELECT_SET, &zero, NULL, &rows, NULL) >= 0 &&
                             H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, buf) >= 0));
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* Input k's results and task table into the union (fd: the union's file,
 * uoff: its outputs' offsets). */
static nm_status copy_input(const nm_merge_in *in, const nm_store_info *info, const nm_sweep *usw,
                            size_t axis, int fd, const haddr_t *uoff, const size_t *rowbytes,
                            tasktab *tt, nm_err *err)
{
    const nm_kernel *k = usw->kernel;
    size_t nout = k->noutputs, bytes = 0;
    const nm_sweep *sw = in->sw;
    haddr_t *off = calloc(nout + 1, sizeof *off);
    unsigned char **rows = calloc(nout + 1, sizeof *rows);
    const unsigned char **rowp = calloc(nout + 1, sizeof *rowp);
    size_t *idx = calloc(sw->naxes + 1, sizeof *idx);
    int32_t *rank = malloc(sw->ntasks * sizeof *rank + 1);
    double *secs = malloc(sw->ntasks * sizeof *secs + 1);
    char *host = malloc(sw->ntasks * NM_HOST_LEN + 1), *error = malloc(sw->ntasks * NM_ERROR_LEN + 1);
    for (size_t o = 0; o < nout; o++)
        bytes += rowbytes[o];
    unsigned char *buf = malloc(bytes + 1);
    nm_status st = NM_OK;
    if (!off || !rows || !rowp || !idx || !rank || !secs || !host || !error || !buf)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    hid_t sh = nm_h5_str_type(NM_HOST_LEN), se = nm_h5_str_type(NM_ERROR_LEN);
    hid_t f = st == NM_OK ? H5Fopen(in->path, H5F_ACC_RDONLY, H5P_DEFAULT) : H5I_INVALID_HID;
    if (st == NM_OK &&
        (f < 0 || sh < 0 || se < 0 || !read_col(f, "rank", H5T_NATIVE_INT32, rank) ||
         !read_col(f, "seconds", H5T_NATIVE_DOUBLE, secs) || !read_col(f, "host", sh, host) ||
         !read_col(f, "error", se, error)))
        st = nm_h5_fail(err, "%s: cannot read its task table", in->path);
    if (f >= 0)
        H5Fclose(f);
    if (sh >= 0)
        H5Tclose(sh);
    if (se >= 0)
        H5Tclose(se);
    if (st == NM_OK && !output_offsets(in->path, k, off))
        st = nm_h5_fail(err, "%s: cannot locate its results", in->path);
    int ifd = st == NM_OK ? open(in->path, O_RDONLY | O_CLOEXEC) : -1;
    if (st == NM_OK && ifd < 0)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", in->path, strerror(errno));
    for (size_t o = 0, at = 0; st == NM_OK && o < nout; at += rowbytes[o++]) {
        rows[o] = buf + at;
        rowp[o] = rows[o];
    }
    for (uint64_t t = 0; st == NM_OK && t < sw->ntasks; t++) {
        nm_grid_index(sw, t, idx);
        idx[axis] = (size_t)in->axmap[idx[axis]];
        uint64_t u = nm_grid_task(usw, idx);
        for (size_t o = 0; o < nout && st == NM_OK; o++) {
            if (!rowbytes[o])
                continue;
            if (!io_all(ifd, rows[o], rowbytes[o], (off_t)(off[o] + t * rowbytes[o]), false))
                st = nm_err_set(err, NM_ERR_INPUT, "%s: cannot read the results of output '%s' "
                                "(file truncated?)", in->path, k->outputs[o].name);
            else if (!io_all(fd, rows[o], rowbytes[o], (off_t)(uoff[o] + u * rowbytes[o]), true))
                st = nm_err_set(err, NM_ERR_RUNTIME, "cannot write the merged results: %s",
                                strerror(errno));
        }
        tt->status[u] = info->status[t];
        tt->rank[u] = rank[t];
        tt->seconds[u] = secs[t];
        memcpy(tt->host + u * NM_HOST_LEN, host + t * NM_HOST_LEN, NM_HOST_LEN);
        memcpy(tt->error + u * NM_ERROR_LEN, error + t * NM_ERROR_LEN, NM_ERROR_LEN);
        tt->checksum[u] =
            info->status[t] == NM_TASK_DONE ? nm_integrity_row(u, nout, rowp, rowbytes) : 0;
    }
    if (ifd >= 0)
        close(ifd);
    free(off);
    free(rows);
    free(rowp);
    free(idx);
    free(rank);
    free(secs);
    free(host);
    free(error);
    free(buf);
    return st;
}

/* The used /attempts rows of every input, in input order, into f. */
static nm_status copy_attempts(hid_t f, const nm_merge_in *in, const nm_store_info *info,
                               size_t nin, nm_err *err)
{
    int total = 0;
    for (size_t i = 0; i < nin; i++)
        total += info[i].attempts;
    nm_status st = NM_OK;
    for (int c = 0; c < A_N && st == NM_OK; c++) {
        nm_attempt_col col = nm_attempt_column(c);
        hid_t mt = col.strlen ? nm_h5_str_type(col.strlen) : H5Tcopy(col.numtype);
        size_t sz = mt < 0 ? 0 : H5Tget_size(mt);
        char *all = calloc((size_t)NM_MAX_ATTEMPTS * nin + 1, sz + 1);
        char *one = malloc((size_t)NM_MAX_ATTEMPTS * sz + 1);
        size_t at = 0;
        if (mt < 0 || !all || !one)
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        for (size_t i = 0; i < nin && st == NM_OK; i++) {
            char p[64];
            snprintf(p, sizeof p, "/attempts/%s", col.name);
            hid_t g = H5Fopen(in[i].path, H5F_ACC_RDONLY, H5P_DEFAULT);
            hid_t d = g < 0 ? g : H5Dopen2(g, p, H5P_DEFAULT);
            if (d < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, one) < 0)
                st = nm_h5_fail(err, "%s: cannot read %s", in[i].path, p);
            if (d >= 0)
                H5Dclose(d);
            if (g >= 0)
                H5Fclose(g);
            memcpy(all + at * sz, one, (size_t)info[i].attempts * sz);
            at += (size_t)info[i].attempts;
        }
        if (st == NM_OK && !write_col(f, "attempts", col.name, mt, (hsize_t)total, all))
            st = nm_h5_fail(err, "cannot write /attempts/%s of the merged file", col.name);
        free(all);
        free(one);
        if (mt >= 0)
            H5Tclose(mt);
    }
    return st;
}

/* Every input's root attributes as /inputs/K, with its path. */
static nm_status keep_provenance(hid_t f, const nm_merge_in *in, size_t nin, nm_err *err)
{
    hid_t g = H5Gcreate2(f, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    nm_status st = g < 0 ? nm_h5_fail(err, "cannot create /inputs in the merged file") : NM_OK;
    for (size_t i = 0; i < nin && st == NM_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "%zu", i);
        hid_t src = H5Fopen(in[i].path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t dst = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t st_t = nm_h5_str_type(strlen(in[i].path));
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t a = dst < 0 || st_t < 0 || sp < 0
                      ? H5I_INVALID_HID
                      : H5Acreate2(dst, "merged_from_path", st_t, sp, H5P_DEFAULT, H5P_DEFAULT);
        /* A merged input keeps its own inputs' provenance below it. */
        if (src < 0 || dst < 0 || a < 0 || H5Awrite(a, st_t, in[i].path) < 0 ||
            H5Aiterate2(src, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, copy_attr, &dst) < 0 ||
            (H5Lexists(src, "inputs", H5P_DEFAULT) > 0 &&
             H5Ocopy(src, "inputs", dst, "inputs", H5P_DEFAULT, H5P_DEFAULT) < 0))
            st = nm_h5_fail(err, "cannot keep the provenance of %s in the merged file", in[i].path);
        if (a >= 0)
            H5Aclose(a);
        if (sp >= 0)
            H5Sclose(sp);
        if (st_t >= 0)
            H5Tclose(st_t);
        if (dst >= 0)
            H5Gclose(dst);
        if (src >= 0)
            H5Fclose(src);
    }
    if (g >= 0)
        H5Gclose(g);
    return st;
}

nm_status nm_store_merge(const char *out, const nm_sweep *usw, size_t axis, const nm_merge_in *in,
                         size_t nin, nm_prov *prov, bool force, nm_err *err)
{
    const nm_kernel *k = usw->kernel;
    size_t nout = k->noutputs;
    nm_store_info *info = calloc(nin, sizeof *info);
    size_t *rowbytes = calloc(nout + 1, sizeof *rowbytes);
    haddr_t *uoff = calloc(nout + 1, sizeof *uoff);
    char *tmp = malloc(strlen(out) + 40);
    tasktab tt = {0};
    uint64_t nt = usw->ntasks;
    nm_status st = NM_OK;
    if (!info || !rowbytes || !uoff || !tmp)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t o = 0; st == NM_OK && o < nout; o++)
        rowbytes[o] = 8 * usw->layout[o].size;

    /* Every input whole and undamaged: the checks of --resume. */
    int attempts = 0;
    for (size_t i = 0; st == NM_OK && i < nin; i++) {
        nm_err e = {0};
        if (nm_store_inspect(in[i].path, in[i].sw, false, &info[i], &e) != NM_OK)
            st = nm_err_set(err, e.code, "cannot merge %s: %s", in[i].path, e.msg);
        attempts += info[i].attempts;
    }
    if (st == NM_OK && attempts > NM_MAX_ATTEMPTS)
        st = nm_err_set(err, NM_ERR_INPUT, "the inputs record %d runs in all, more than the %d "
                        "rows of /attempts", attempts, NM_MAX_ATTEMPTS);

    /* Provenance: input 0's, then what describes the union (the caller's). */
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    if (st == NM_OK) {
        hid_t f0 = H5Fopen(in[0].path, H5F_ACC_RDONLY, H5P_DEFAULT);
        nm_prov first;
        nm_prov_init(&first);
        if (f0 < 0 || H5Aiterate2(f0, H5_INDEX_CRT_ORDER, H5_ITER_INC, NULL, prov_from_attr,
                                  &first) < 0)
            st = nm_h5_fail(err, "%s: cannot read its provenance", in[0].path);
        if (f0 >= 0)
            H5Fclose(f0);
        for (size_t i = 0; st == NM_OK && i < prov->n; i++) {
            const nm_attr *a = &prov->a[i];
            st = a->is_int ? nm_prov_set_i(&first, a->key, a->ival)
                           : nm_prov_set_s(&first, a->key, a->sval ? a->sval : "");
        }
        nm_prov_free(prov);
        *prov = first;
    }
    if (st == NM_OK) {
        snprintf(tmp, strlen(out) + 40, "%s.merge.%ld", out, (long)getpid());
        unlink(tmp); /* a leftover of a killed merge with our pid */
        st = nm_store_create(tmp, usw, prov, false, err);
    }
    bool made = st == NM_OK;
    if (st == NM_OK && !output_offsets(tmp, k, uoff))
        st = nm_h5_fail(err, "%s: cannot locate the new file's results", tmp);
    if (st == NM_OK &&
        (!(tt.status = calloc(nt, 1)) || !(tt.rank = malloc(nt * sizeof *tt.rank)) ||
         !(tt.seconds = malloc(nt * sizeof *tt.seconds)) || !(tt.host = calloc(nt, NM_HOST_LEN)) ||
         !(tt.error = calloc(nt, NM_ERROR_LEN)) || !(tt.checksum = calloc(nt, 8))))
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    int fd = st == NM_OK ? open(tmp, O_RDWR | O_CLOEXEC) : -1;
    if (st == NM_OK && fd < 0)
        st = nm_err_set(err, NM_ERR_RUNTIME, "cannot open %s: %s", tmp, strerror(errno));
    for (size_t i = 0; st == NM_OK && i < nin; i++)
        st = copy_input(&in[i], &info[i], usw, axis, fd, uoff, rowbytes, &tt, err);
    if (fd >= 0 && fsync(fd) != 0 && st == NM_OK)
        st = nm_err_set(err, NM_ERR_RUNTIME, "cannot sync %s: %s", tmp, strerror(errno));
    if (fd >= 0)
        close(fd);

    /* The task table, /attempts and /inputs through HDF5. */
    hid_t f = st == NM_OK ? H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT) : H5I_INVALID_HID;
    if (st == NM_OK && f < 0)
        st = nm_h5_fail(err, "cannot open %s", tmp);
    hid_t sh = nm_h5_str_type(NM_HOST_LEN), se = nm_h5_str_type(NM_ERROR_LEN);
    if (st == NM_OK &&
        (!write_col(f, "tasks", "rank", H5T_NATIVE_INT32, nt, tt.rank) ||
         !write_col(f, "tasks", "seconds", H5T_NATIVE_DOUBLE, nt, tt.seconds) ||
         !write_col(f, "tasks", "host", sh, nt, tt.host) ||
         !write_col(f, "tasks", "error", se, nt, tt.error) ||
         !write_col(f, "tasks", "checksum", H5T_NATIVE_UINT64, nt, tt.checksum) ||
         !write_col(f, "tasks", "status", H5T_NATIVE_INT8, nt, tt.status)))
        st = nm_h5_fail(err, "cannot write the task table of %s", tmp);
    if (sh >= 0)
        H5Tclose(sh);
    if (se >= 0)
        H5Tclose(se);
    if (st == NM_OK)
        st = copy_attempts(f, in, info, nin, err);
    if (st == NM_OK)
        st = keep_provenance(f, in, nin, err);
    if (f >= 0 && H5Fclose(f) < 0 && st == NM_OK)
        st = nm_h5_fail(err, "cannot close %s", tmp);
    nm_h5_quiet_off(&q);
    if (st == NM_OK)
        st = nm_store_install(tmp, out, force, err);
    if (st != NM_OK && made)
        unlink(tmp);
    for (size_t i = 0; info && i < nin; i++)
        nm_store_info_free(&info[i]);
    tasktab_free(&tt);
    free(info);
    free(rowbytes);
    free(uoff);
    free(tmp);
    return st;
}

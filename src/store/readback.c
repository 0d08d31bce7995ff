/* readback.c: a result file read by a process that does not write it
 * (readback.h): no lock of any kind, read-only, serial. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attempts.h"
#include "h5util.h"
#include "neuromic/internal/readback.h"

/* Read-only, without HDF5's file lock: the lock would fail (or, taken
 * first, make the writer fail) while a sweep holds the file open. */
static hid_t open_unlocked(const char *path, nm_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        nm_err_set(err, NM_ERR_INPUT, "%s: %s", path, strerror(errno));
        return H5I_INVALID_HID;
    }
    if (!S_ISREG(sb.st_mode)) { /* a FIFO or a device would block or read without end */
        nm_err_set(err, NM_ERR_INPUT, "%s is not a regular file", path);
        return H5I_INVALID_HID;
    }
    if (H5Fis_hdf5(path) <= 0) {
        nm_err_set(err, NM_ERR_INPUT, "%s is not an HDF5 file", path);
        return H5I_INVALID_HID;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t f = H5I_INVALID_HID;
    if (fapl >= 0 && H5Pset_file_locking(fapl, false, true) >= 0)
        f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f < 0) {
        nm_h5_fail(err, "%s cannot be opened as HDF5 (truncated or damaged?)", path);
        err->code = NM_ERR_INPUT;
    }
    return f;
}

nm_status nm_readback_attr(const char *path, const char *name, char **out, nm_err *err)
{
    *out = NULL;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    hid_t f = open_unlocked(path, err);
    nm_status st = f < 0 ? err->code : NM_OK;
    if (st == NM_OK && !(*out = nm_h5_attr_str(f, name)))
        st = nm_err_set(err, NM_ERR_INPUT, "%s has no string attribute '%s' (not a neuromic "
                        "result file?)", path, name);
    if (f >= 0)
        H5Fclose(f);
    nm_h5_quiet_off(&q);
    return st;
}

static bool read_column(hid_t f, const char *name, hid_t mtype, void *buf, uint64_t n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = d < 0 ? d : H5Dget_space(d);
    bool ok = sp >= 0 && H5Sget_simple_extent_npoints(sp) == (hssize_t)n &&
              H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* Every column of /attempts into rb->attempts (attempts.c defines them). */
static bool read_attempts(hid_t f, nm_readback *rb)
{
    hid_t g = H5Gopen2(f, "attempts", H5P_DEFAULT);
    if (g < 0)
        return false;
    bool ok = true;
    size_t rowlen = 0;
    for (int i = 0; i < A_N && ok; i++) {
        nm_attempt_col c = nm_attempt_column(i);
        size_t w = c.strlen ? c.strlen : H5Tget_size(c.numtype);
        rowlen = w > rowlen ? w : rowlen;
    }
    unsigned char *col = malloc(rowlen * NM_MAX_ATTEMPTS);
    ok = col != NULL;
    for (int i = 0; i < A_N && ok; i++) {
        nm_attempt_col c = nm_attempt_column(i);
        hid_t t = c.strlen ? nm_h5_str_type(c.strlen) : c.numtype;
        size_t w = c.strlen ? c.strlen : H5Tget_size(c.numtype);
        ok = t >= 0 && read_column(g, c.name, t, col, NM_MAX_ATTEMPTS);
        for (int r = 0; ok && r < NM_MAX_ATTEMPTS; r++) {
            unsigned char *dst = (unsigned char *)&rb->attempts[r] + c.offset;
            memcpy(dst, col + (size_t)r * w, w);
            if (c.strlen)
                dst[w - 1] = 0;
        }
        if (c.strlen && t >= 0)
            H5Tclose(t);
    }
    free(col);
    H5Gclose(g);
    for (int r = 0; ok && r < NM_MAX_ATTEMPTS; r++)
        if (rb->attempts[r].start_time[0])
            rb->nattempts = r + 1;
    return ok;
}

nm_status nm_readback_open(const char *path, nm_readback *rb, nm_err *err)
{
    memset(rb, 0, sizeof *rb);
    rb->file = H5I_INVALID_HID;
    struct stat sb;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    hid_t f = open_unlocked(path, err);
    nm_status st = f < 0 ? err->code : NM_OK;
    rb->file = f;
    if (st == NM_OK && stat(path, &sb) == 0)
        rb->mtime = sb.st_mtime;
    if (st == NM_OK) {
        rb->kernel = nm_h5_attr_str(f, "kernel");
        rb->kernel_version = nm_h5_attr_str(f, "kernel_version");
        rb->spec_path = nm_h5_attr_str(f, "spec_path");
        rb->spec_text = nm_h5_attr_str(f, "spec_text");
        rb->overrides = nm_h5_attr_str(f, "overrides");
        if (!rb->kernel || !rb->spec_text || H5Lexists(f, "tasks", H5P_DEFAULT) <= 0)
            st = nm_err_set(err, NM_ERR_INPUT, "%s is an HDF5 file but not a neuromic result "
                            "file", path);
    }
    if (st == NM_OK) {
        hid_t d = H5Dopen2(f, "/tasks/status", H5P_DEFAULT);
        hid_t sp = d < 0 ? d : H5Dget_space(d);
        hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
        if (sp >= 0)
            H5Sclose(sp);
        if (d >= 0)
            H5Dclose(d);
        if (n < 0)
            st = nm_err_set(err, NM_ERR_INPUT, "%s: cannot read /tasks/status", path);
        rb->ntasks = n < 0 ? 0 : (uint64_t)n;
    }
    if (st == NM_OK) {
        size_t n = rb->ntasks ? rb->ntasks : 1;
        rb->status = malloc(n);
        rb->seconds = malloc(n * sizeof *rb->seconds);
        if (!rb->status || !rb->seconds)
            st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    if (st == NM_OK &&
        (!read_column(f, "/tasks/status", H5T_NATIVE_INT8, rb->status, rb->ntasks) ||
         !read_column(f, "/tasks/seconds", H5T_NATIVE_DOUBLE, rb->seconds, rb->ntasks)))
        st = nm_h5_fail(err, "%s: cannot read the task table", path);
    if (st == NM_OK && !read_attempts(f, rb))
        st = nm_h5_fail(err, "%s: cannot read /attempts", path);
    for (uint64_t t = 0; st == NM_OK && t < rb->ntasks; t++)
        rb->count[rb->status[t] == NM_TASK_DONE ? 1 : rb->status[t] == NM_TASK_FAILED ? 2 : 0]++;
    nm_h5_quiet_off(&q);
    return st;
}

void nm_readback_error(const nm_readback *rb, uint64_t t, char *buf)
{
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    buf[0] = 0;
    hid_t d = H5Dopen2((hid_t)rb->file, "/tasks/error", H5P_DEFAULT);
    hid_t type = nm_h5_str_type(NM_ERROR_LEN);
    hsize_t start = t, one = 1;
    hid_t fs = d < 0 ? d : H5Dget_space(d), ms = H5Screate_simple(1, &one, NULL);
    if (fs < 0 || type < 0 || ms < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &one, NULL) < 0 ||
        H5Dread(d, type, ms, fs, H5P_DEFAULT, buf) < 0)
        snprintf(buf, NM_ERROR_LEN, "(message unreadable from /tasks/error)");
    buf[NM_ERROR_LEN - 1] = 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (type >= 0)
        H5Tclose(type);
    if (d >= 0)
        H5Dclose(d);
    nm_h5_quiet_off(&q);
}

void nm_readback_free(nm_readback *rb)
{
    if (rb->file >= 0)
        H5Fclose((hid_t)rb->file);
    rb->file = H5I_INVALID_HID;
    free(rb->kernel);
    free(rb->kernel_version);
    free(rb->spec_path);
    free(rb->spec_text);
    free(rb->overrides);
    free(rb->status);
    free(rb->seconds);
    rb->kernel = rb->kernel_version = rb->spec_path = rb->spec_text = rb->overrides = NULL;
    rb->status = NULL;
    rb->seconds = NULL;
}

/* inspect.c: reading a result file back before --resume (rank 0, serial).
 *
 * Resuming writes into an existing file, so the file must be exactly the
 * one this sweep would have created: a neuromic file (it has the
 * neuromic_version attribute and a task table), of the same kernel and
 * kernel version, from the same spec text (SHA-256) and the same --set
 * overrides. Overrides of output.* (checkpoint interval, task time limit)
 * do not change any result and may differ. Then every done task's
 * results are checked against their checksum (integrity.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "integrity.h"
#include "neuromic/internal/store.h"

/* A string attribute of the root group into buf ("" if absent). */
static bool read_attr(hid_t file, const char *name, char *buf, size_t len)
{
    char *s = nm_h5_attr_str(file, name);
    snprintf(buf, len, "%s", s ? s : "");
    free(s);
    return s != NULL;
}

/* The --set arguments that change results, newline-separated. */
static void result_overrides(const char *all, char *out, size_t len)
{
    size_t n = 0;
    out[0] = 0;
    for (const char *p = all; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l && strncmp(p, "output.", 7) != 0 && n + l + 2 < len) {
            memcpy(out + n, p, l);
            n += l;
            out[n++] = '\n';
            out[n] = 0;
        }
        p += l + (e != NULL);
    }
}

/* The override list of result_overrides() on one line for a message: its
 * entries separated by ";", no newline at the end. */
static void one_line(char *s)
{
    size_t n = strlen(s);
    if (n && s[n - 1] == '\n')
        s[--n] = 0;
    for (char *p = s; (p = strchr(p, '\n')) != NULL;)
        *p = ';';
}

static nm_status check_identity(hid_t f, const char *path, const nm_sweep *sw, nm_err *err)
{
    char v[128], kname[128], kver[64], sha[80];
    if (!read_attr(f, "neuromic_version", v, sizeof v) || H5Lexists(f, "tasks", H5P_DEFAULT) <= 0)
        return nm_err_set(err, NM_ERR_INPUT,
                          "%s is an HDF5 file but not a neuromic result file; refusing to resume "
                          "into it",
                          path);
    read_attr(f, "kernel", kname, sizeof kname);
    read_attr(f, "kernel_version", kver, sizeof kver);
    if (strcmp(kname, sw->kernel->name) || strcmp(kver, sw->kernel->version))
        return nm_err_set(err, NM_ERR_INPUT,
                          "%s holds results of kernel %s version %s, but this sweep runs %s "
                          "version %s; resuming would mix them (start a new file instead)",
                          path, kname, kver, sw->kernel->name, sw->kernel->version);
    read_attr(f, "spec_sha256", sha, sizeof sha);
    if (strcmp(sha, sw->sha256))
        return nm_err_set(err, NM_ERR_INPUT,
                          "%s was made from another sweep spec (SHA-256 %.12s..., this spec "
                          "%.12s...); resume with the spec file the run started with",
                          path, sha, sw->sha256);
    char fov[4096], have[4096], want[4096];
    char *mine = nm_sweep_overrides(sw);
    if (!mine)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    read_attr(f, "overrides", fov, sizeof fov);
    result_overrides(fov, have, sizeof have);
    result_overrides(mine, want, sizeof want);
    free(mine);
    if (strcmp(have, want)) {
        one_line(have);
        one_line(want);
        return nm_err_set(err, NM_ERR_INPUT,
                          "%s was made with other --set overrides ('%s' in the file, '%s' now); "
                          "resume with the same --set arguments",
                          path, have, want);
    }
    return NM_OK;
}

static nm_status read_status(hid_t f, const char *path, const nm_sweep *sw, nm_store_info *info,
                             nm_err *err)
{
    hid_t d = H5Dopen2(f, "/tasks/status", H5P_DEFAULT);
    hid_t sp = d < 0 ? d : H5Dget_space(d);
    hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    nm_status st = NM_OK;
    if (n != (hssize_t)sw->ntasks)
        st = nm_err_set(err, NM_ERR_INPUT, "%s has %lld tasks where this sweep has %llu", path,
                        (long long)n, (unsigned long long)sw->ntasks);
    else if (!(info->status = malloc(sw->ntasks ? sw->ntasks : 1)))
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    else if (H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, info->status) < 0)
        st = nm_h5_fail(err, "%s: cannot read /tasks/status (file damaged or truncated?)", path);
    if (d >= 0)
        H5Dclose(d);
    if (st)
        return st;
    info->ntasks = sw->ntasks;
    return NM_OK; /* values outside 0..2 are damage, found by nm_integrity_verify */
}

/* Rows of /attempts in use: those with a start time. */
static nm_status count_attempts(hid_t f, const char *path, nm_store_info *info, nm_err *err)
{
    hid_t d = H5Dopen2(f, "/attempts/start_time", H5P_DEFAULT);
    if (d < 0)
        return nm_h5_fail(err, "%s has no /attempts table (made by an older neuromic?)", path);
    char (*rows)[NM_ATTEMPT_TIME_LEN] = calloc(NM_MAX_ATTEMPTS, sizeof *rows);
    hid_t t = nm_h5_str_type(NM_ATTEMPT_TIME_LEN);
    nm_status st = NM_OK;
    if (!rows || t < 0 || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
        st = nm_h5_fail(err, "%s: cannot read /attempts/start_time", path);
    for (int i = 0; st == NM_OK && i < NM_MAX_ATTEMPTS; i++)
        if (rows[i][0])
            info->attempts = i + 1;
    if (t >= 0)
        H5Tclose(t);
    H5Dclose(d);
    free(rows);
    return st;
}

nm_status nm_store_inspect(const char *path, const nm_sweep *sw, bool repair,
                           nm_store_info *info, nm_err *err)
{
    memset(info, 0, sizeof *info);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return nm_err_set(err, NM_ERR_INPUT, "%s: %s; nothing to resume (run without --resume "
                          "to start the sweep)", path, strerror(errno));
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    nm_status st = NM_OK;
    hid_t f = H5I_INVALID_HID;
    if (H5Fis_hdf5(path) <= 0)
        st = nm_err_set(err, NM_ERR_INPUT, "%s is not an HDF5 file; refusing to resume into it",
                        path);
    else if ((f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        nm_h5_fail(err, "%s cannot be opened as HDF5 (truncated or damaged?); refusing to "
                   "resume into it", path);
        st = err->code = NM_ERR_INPUT;
    }
    if (st == NM_OK)
        st = check_identity(f, path, sw, err);
    if (st == NM_OK)
        st = read_status(f, path, sw, info, err);
    if (st == NM_OK)
        st = nm_integrity_verify(f, path, sw, info, repair, err);
    for (uint64_t t = 0; st == NM_OK && t < sw->ntasks; t++)
        info->count[info->status[t]]++;
    if (st == NM_OK)
        st = count_attempts(f, path, info, err);
    if (st == NM_OK && info->attempts >= NM_MAX_ATTEMPTS)
        st = nm_err_set(err, NM_ERR_INPUT, "%s has had %d runs, the most /attempts records; "
                        "copy the finished tasks to a new file instead", path, NM_MAX_ATTEMPTS);
    if (f >= 0)
        H5Fclose(f);
    nm_h5_quiet_off(&q);
    if (st != NM_OK)
        nm_store_info_free(info);
    return st;
}

void nm_store_info_free(nm_store_info *info)
{
    free(info->status);
    info->status = NULL;
}

/* report.c: the summary after a run, read back from the file itself, so it
 * reports what is on disk rather than what the ranks believe they wrote. */
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "h5util.h"
#include "neuromic/internal/report.h"
#include "neuromic/internal/store.h"

nm_status nm_report_failures(const char *path, const nm_sweep *sw, FILE *f, int show,
                             uint64_t counts[3], nm_err *err)
{
    memset(counts, 0, 3 * sizeof *counts);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return nm_err_set(err, NM_ERR_RUNTIME, "cannot reopen %s to summarise it", path);
    nm_status st = NM_OK;
    int8_t *status = malloc(sw->ntasks ? sw->ntasks : 1);
    hid_t ds = H5Dopen2(file, "/tasks/status", H5P_DEFAULT);
    if (!status || ds < 0 || H5Dread(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status) < 0) {
        st = nm_err_set(err, NM_ERR_RUNTIME, "cannot read /tasks/status of %s", path);
        goto out;
    }
    for (uint64_t t = 0; t < sw->ntasks; t++)
        if (status[t] >= 0 && status[t] <= 2)
            counts[status[t]]++;

    hid_t eds = H5Dopen2(file, "/tasks/error", H5P_DEFAULT);
    hid_t type = nm_h5_str_type(NM_ERROR_LEN);
    int shown = 0;
    for (uint64_t t = 0; t < sw->ntasks && shown < show && eds >= 0; t++) {
        if (status[t] != NM_TASK_FAILED)
            continue;
        char msg[NM_ERROR_LEN] = {0}, point[512];
        hsize_t start = t, one = 1;
        hid_t fs = H5Dget_space(eds), ms = H5Screate_simple(1, &one, NULL);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &one, NULL);
        herr_t rd = H5Dread(eds, type, ms, fs, H5P_DEFAULT, msg);
        H5Sclose(fs);
        H5Sclose(ms);
        if (rd < 0)
            snprintf(msg, sizeof msg, "(message unreadable from /tasks/error)");
        msg[NM_ERROR_LEN - 1] = 0;
        nm_grid_point_text(sw, t, point, sizeof point);
        fprintf(f, "  task %llu (%s): %s\n", (unsigned long long)t, point, msg);
        shown++;
    }
    if (counts[2] > (uint64_t)shown)
        fprintf(f, "  ... and %llu more; all messages are in /tasks/error\n",
                (unsigned long long)(counts[2] - (uint64_t)shown));
    if (type >= 0)
        H5Tclose(type);
    if (eds >= 0)
        H5Dclose(eds);
out:
    if (ds >= 0)
        H5Dclose(ds);
    free(status);
    H5Fclose(file);
    return st;
}

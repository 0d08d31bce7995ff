/* report.h: reading a finished result file back for the end-of-run summary. */
#ifndef NEUROMIC_REPORT_H
#define NEUROMIC_REPORT_H

#include <stdio.h>

#include "neuromic/internal/grid.h"

/* Serial. Counts task statuses in PATH's /tasks/status and prints up to
 * `show` failed tasks (id, point, message) to f. Fills counts[3] (pending,
 * done, failed). */
nm_status nm_report_failures(const char *path, const nm_sweep *sw, FILE *f, int show,
                             uint64_t counts[3], nm_err *err);

/* Writes "name=value name=value ..." for the axes of task into buf. */
void nm_report_point(const nm_sweep *sw, uint64_t task, char *buf, size_t len);

#endif

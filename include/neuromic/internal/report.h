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

#endif

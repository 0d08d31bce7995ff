/* store.h: the result file.
 *
 * Layout (docs/ARCHITECTURE.md has the full picture):
 *   /<output>          one dataset per kernel output, shape (axes..., output dims...)
 *   /<axis>            dimension scale per axis with its values; zip partners
 *                      are 1-D coordinate datasets along their axis
 *   /<output dim>      dimension scale 0..n-1 per output dimension
 *   /tasks/status      int8 per task: 0 pending, 1 done, 2 failed
 *   /tasks/rank        int32, /tasks/seconds float64, /tasks/host and
 *   /tasks/error       fixed-length strings, all by task id
 *   root attributes    provenance (prov.h)
 *
 * Rank 0 creates the whole layout serially before any task runs (fixed sizes,
 * space allocated early), so later writes are raw data only and a killed job
 * cannot damage the file's structure. Then all ranks open it with MPI-IO and
 * write their own results collectively at checkpoints: results first, flush,
 * then the task table, flush. */
#ifndef NEUROMIC_STORE_H
#define NEUROMIC_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "neuromic/grid.h"
#include "neuromic/prov.h"

enum { NM_TASK_PENDING = 0, NM_TASK_DONE = 1, NM_TASK_FAILED = 2 };
#define NM_HOST_LEN 64  /* bytes of /tasks/host entries, NUL included */
#define NM_ERROR_LEN 256 /* bytes of /tasks/error entries, NUL included */

/* ---- a rank's results not yet written ---- */
typedef struct nm_rowbuf nm_rowbuf;

/* Row sizes come from the sweep's first point (all points agree: see
 * nm_grid_check_outputs). */
nm_rowbuf *nm_rowbuf_alloc(const nm_sweep *sw);
void nm_rowbuf_free(nm_rowbuf *b);
/* Appends a row for task and points res->out[k] at its storage (zeroed;
 * float outputs filled with NaN). Returns NULL-free res or NM_ERR_RUNTIME on
 * out of memory. The row is pending until nm_rowbuf_finish. */
nm_status nm_rowbuf_add(nm_rowbuf *b, uint64_t task, nm_result *res, nm_err *err);
/* Completes the last added row. error may be NULL (truncated to fit). */
void nm_rowbuf_finish(nm_rowbuf *b, int8_t status, double seconds, const char *error);
size_t nm_rowbuf_count(const nm_rowbuf *b);
void nm_rowbuf_clear(nm_rowbuf *b);

/* ---- the file ---- */
typedef struct nm_store nm_store;

/* Rank 0 only, no MPI-IO. Creates the file with the whole layout and the
 * provenance attributes. If path exists: NM_ERR_INPUT unless force, in which
 * case the new file is built under a temporary name next to it and renamed
 * over the old one only when complete. */
nm_status nm_store_create(const char *path, const nm_sweep *sw, const nm_prov *prov,
                          bool force, nm_err *err);

/* Collective. Opens the file created above for parallel writing. */
nm_status nm_store_open(const char *path, const nm_sweep *sw, MPI_Comm comm,
                        nm_store **out, nm_err *err);

/* Collective. Writes every rank's buffered rows (results, flush, then
 * status/rank/seconds/host/error, flush) and clears the buffers. */
nm_status nm_store_checkpoint(nm_store *s, nm_rowbuf *b, nm_err *err);

/* Collective. Closes the parallel file (s is freed even on error). */
nm_status nm_store_close(nm_store *s, nm_err *err);

/* Rank 0 only, after nm_store_close: adds or replaces root attributes
 * (end time and the like). */
nm_status nm_store_set_attrs(const char *path, const nm_prov *prov, nm_err *err);

#endif

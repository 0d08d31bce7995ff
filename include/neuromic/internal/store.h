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
 *   /tasks/checksum    uint64 per task: checksum of a done task's results
 *                      (integrity.c), 0 for the others
 *   /attempts/...      one row per run of the sweep (the first run and every
 *                      --resume): start_time, end_time, status, ranks,
 *                      tasks_run, hosts, command_line, job_id
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

#include "neuromic/internal/grid.h"
#include "neuromic/internal/prov.h"

enum { NM_TASK_PENDING = 0, NM_TASK_DONE = 1, NM_TASK_FAILED = 2 };

/* The columns of /tasks, defined here once, in the order a checkpoint
 * writes them: status last, so that a job killed in the middle never
 * leaves a task marked done whose other columns were not written. */
enum {
    NM_TCOL_RANK, NM_TCOL_SECONDS, NM_TCOL_HOST, NM_TCOL_ERROR, NM_TCOL_CHECKSUM, NM_TCOL_STATUS,
    NM_TCOL_N
};
extern const char *const nm_task_columns[NM_TCOL_N]; /* dataset names under /tasks */
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
/* Drops the last added row if it is not finished (the task stays pending). */
void nm_rowbuf_discard(nm_rowbuf *b);
size_t nm_rowbuf_count(const nm_rowbuf *b);
void nm_rowbuf_clear(nm_rowbuf *b);

/* ---- the file ---- */
typedef struct nm_store nm_store;

/* One run of a sweep on a file: a row of /attempts, written by rank 0
 * through the parallel file (raw data only, like the task table). */
#define NM_MAX_ATTEMPTS 64
#define NM_ATTEMPT_TIME_LEN 32
#define NM_ATTEMPT_HOSTS_LEN 1024
#define NM_ATTEMPT_CMD_LEN 1024
#define NM_ATTEMPT_JOB_LEN 64
#define NM_ATTEMPT_SLURM_LEN 2048
/* status until the run ends (stays if killed); and of a row no run has used
 * (the fill value: files made before it existed read -1 there too, but
 * have no start_time in such rows) */
enum { NM_ATTEMPT_RUNNING = -1, NM_ATTEMPT_UNUSED = -2 };
typedef struct {
    char start_time[NM_ATTEMPT_TIME_LEN], end_time[NM_ATTEMPT_TIME_LEN];
    int8_t status;     /* exit status of the run, or NM_ATTEMPT_RUNNING */
    int32_t ranks;
    int64_t tasks_run; /* tasks this run finished (done or failed) */
    char hosts[NM_ATTEMPT_HOSTS_LEN], command_line[NM_ATTEMPT_CMD_LEN];
    char job_id[NM_ATTEMPT_JOB_LEN]; /* SLURM_JOB_ID (and array task), or "" */
    char slurm[NM_ATTEMPT_SLURM_LEN]; /* this run's SLURM_* variables: "K=V; K=V" */
} nm_attempt;

/* What a result file holds, read serially by rank 0 before --resume. */
typedef struct {
    int8_t *status;   /* per task */
    uint64_t ntasks;
    uint64_t count[3]; /* pending, done, failed */
    int attempts;     /* rows of /attempts in use */
    uint64_t damaged; /* done tasks whose results fail their checksum (integrity.c) */
} nm_store_info;

/* Rank 0 only, no MPI-IO, read-only. Checks that path is a complete
 * neuromic result file made from this sweep (same kernel and version, same
 * spec text and --set overrides apart from output.*, same task count, the
 * datasets' types and shapes and the axes' values), reads its task statuses
 * and verifies the checksum of every done task's results. NM_ERR_INPUT with
 * a message that says why when it is not; a damaged task is named, unless
 * repair, which marks the damaged tasks pending (info->damaged counts them)
 * so that the run redoes them. */
nm_status nm_store_inspect(const char *path, const nm_sweep *sw, bool repair,
                           nm_store_info *info, nm_err *err);
void nm_store_info_free(nm_store_info *info);

/* Rank 0 only, no MPI-IO. Creates the file with the whole layout and the
 * provenance attributes. If path exists: NM_ERR_INPUT unless force, in which
 * case the new file is built under a temporary name next to it and renamed
 * over the old one only when complete. */
nm_status nm_store_create(const char *path, const nm_sweep *sw, const nm_prov *prov,
                          bool force, nm_err *err);

/* ---- joining result files (merge.c) ---- */

/* The spec text and --set overrides (newline-separated) the result file
 * at path was made with (both malloc'd). NM_ERR_INPUT naming path when it
 * is not a neuromic result file. */
nm_status nm_store_spec(const char *path, char **text, char **overrides, nm_err *err);

/* One file to merge: its path, its own sweep, and for each index of the
 * merge axis in it, that value's index on the union's axis. */
typedef struct {
    const char *path;
    const nm_sweep *sw;
    const uint64_t *axmap;
} nm_merge_in;

/* Serial, no MPI. Writes OUT as a run of the union sweep usw would create
 * it, with every input task's results, task-table entries (checksums
 * recomputed for the union's task ids) and the inputs' /attempts rows in
 * order; the inputs' root attributes go to /inputs/K. The root attributes
 * are input 0's with those of prov put over them (prov is replaced by the
 * result). Every input is first checked as --resume checks a file. OUT
 * appears only complete, and never over an existing file unless force. */
nm_status nm_store_merge(const char *out, const nm_sweep *usw, size_t axis, const nm_merge_in *in,
                         size_t nin, nm_prov *prov, bool force, nm_err *err);

/* Collective. Opens the file created above for parallel writing. */
nm_status nm_store_open(const char *path, const nm_sweep *sw, MPI_Comm comm,
                        nm_store **out, nm_err *err);

/* Collective. Writes every rank's buffered rows (results, flush, then
 * status/rank/seconds/host/error, flush) and clears the buffers. */
nm_status nm_store_checkpoint(nm_store *s, nm_rowbuf *b, nm_err *err);

/* Collective. Rank 0's a is written as row `index` of /attempts (the
 * other ranks' a is ignored and may be NULL), then the file is flushed. */
nm_status nm_store_attempt(nm_store *s, int index, const nm_attempt *a, nm_err *err);

/* Collective. Closes the parallel file (s is freed even on error). */
nm_status nm_store_close(nm_store *s, nm_err *err);

/* True once HDF5 failed to close a file of this process (a full disk, an
 * I/O error). The library then holds a half-closed file that crashes its
 * shutdown (in MPI_Finalize); the caller must exit without finalizing. */
bool nm_store_unclean(void);

#endif

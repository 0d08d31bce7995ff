/* integrity.h: per-task checksums of the results, and the check --resume
 * makes of a file before it writes anything into it (internal to the store). */
#ifndef NM_STORE_INTEGRITY_H
#define NM_STORE_INTEGRITY_H

#include <stdbool.h>
#include <stdint.h>

#include <hdf5.h>

#include "neuromic/internal/store.h"

/* The checksum written with a done task's results: the first 8 bytes of
 * the SHA-256 of the task id (8 bytes, little-endian) followed by each
 * output's row as stored in the file (little-endian float64/int64), in
 * output order. Never 0 (0 marks "no results"). */
uint64_t nm_integrity_row(uint64_t task, size_t nout, const unsigned char *const *rows,
                          const size_t *rowbytes);

/* Rank 0, read-only. Checks that the file's datasets have the types and
 * shapes this sweep makes and its axes the spec's values, then recomputes
 * the checksum of every done task's results. A structural mismatch is
 * NM_ERR_INPUT. Damaged tasks (a checksum that does not match, a status
 * that is not 0/1/2) are NM_ERR_INPUT naming the first one, unless repair:
 * then their info->status becomes pending (so the run redoes them) and
 * info->damaged counts them. info->status must have been read. */
nm_status nm_integrity_verify(hid_t file, const char *path, const nm_sweep *sw,
                              nm_store_info *info, bool repair, nm_err *err);

#endif

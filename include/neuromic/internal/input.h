/* input.h: the files a run reads and writes, checked before anything is
 * touched.
 *
 * A sweep file is read only from a regular file of at most
 * NM_SPEC_MAX_BYTES (never a directory, FIFO, device or socket, which could
 * block, never end or be huge), and must be UTF-8 text: a NUL byte (UTF-16,
 * binary) is refused with its line and column. An output path must name a
 * regular file (or nothing yet), never a directory, FIFO, device, socket or
 * the sweep file itself, and must be short enough that the file, its
 * temporary twin (FILE.tmp.PID) and its lock (FILE.lock) can all be made:
 * every check happens before a directory is created. */
#ifndef NEUROMIC_INPUT_H
#define NEUROMIC_INPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "neuromic/error.h"

/* The largest sweep file read (bytes). */
#define NM_SPEC_MAX_BYTES (16L * 1024 * 1024)

/* Reads the sweep file at path into a malloc'd, NUL-terminated *text of
 * *len bytes. NM_ERR_INPUT "cannot read PATH: why" when it is not a
 * readable regular file of at most NM_SPEC_MAX_BYTES. */
nm_status nm_input_read_spec(const char *path, char **text, size_t *len, nm_err *err);

/* Refuses text that is not UTF-8 YAML: a NUL byte or a UTF-16/32 byte
 * order mark, naming PATH:LINE:COLUMN of the first offending byte. */
nm_status nm_input_check_text(const char *path, const char *text, size_t len, nm_err *err);

/* Checks the output path of a run: a file name (not empty, no trailing
 * '/', not "." or ".."), short enough for FILE.tmp.PID and FILE.lock, and,
 * if something exists there, a regular file that is not the sweep file
 * spec. Touches nothing. */
nm_status nm_output_check(const char *output, const char *spec, nm_err *err);

/* Creates the missing parent directories of output; *made counts them so
 * that nm_output_unmake_parents can remove them again when the run is
 * refused. On failure nothing is left behind. */
nm_status nm_output_make_parents(const char *output, int *made, nm_err *err);
/* Removes the `made` innermost parent directories of output (only if empty). */
void nm_output_unmake_parents(const char *output, int made);

#endif

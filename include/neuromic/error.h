/* error.h: errors that travel up to main.
 *
 * Library functions never exit. A function that can fail takes an nm_err *
 * and returns a non-zero nm_status; the message says where (file:line:column
 * for user input) and what the user can do. main() prints it and chooses the
 * process exit status from the code. */
#ifndef NEUROMIC_ERROR_H
#define NEUROMIC_ERROR_H

#include <stddef.h>

/* Also the process exit statuses of `neuromic` (documented in README). */
typedef enum {
    NM_OK = 0,
    NM_ERR_RUNTIME = 1,    /* I/O, MPI, out of memory: the environment failed */
    NM_ERR_INPUT = 2,      /* bad spec, bad command line, refused output file */
    NM_ERR_INCOMPLETE = 3, /* sweep stopped early; resume possible (reserved) */
    NM_ERR_TASKS = 4       /* sweep finished but some tasks failed */
} nm_status;

#define NM_ERR_MSG 1024

typedef struct {
    nm_status code;
    char msg[NM_ERR_MSG];
} nm_err;

/* Sets err (if not NULL) and returns code. printf-style message. */
nm_status nm_err_set(nm_err *err, nm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Error about user input at a place: "FILE:LINE:COL: message". */
nm_status nm_err_at(nm_err *err, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif

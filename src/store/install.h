/* install.h: moving a finished file into place (create.c; internal to the
 * store). */
#ifndef NM_STORE_INSTALL_H
#define NM_STORE_INSTALL_H

#include <stdbool.h>

#include "neuromic/error.h"

/* Syncs tmp and moves it to path: without force never replacing a file
 * (NM_ERR_INPUT "PATH exists"), with force renaming over it; then syncs the
 * directory. tmp is left in place on error. */
nm_status nm_store_install(const char *tmp, const char *path, bool force, nm_err *err);

#endif

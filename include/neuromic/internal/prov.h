/* prov.h: provenance, stored as root attributes of the result file.
 *
 * An ordered list of named string or integer attributes. Collected once at
 * start (collectively: the hosts of all ranks are gathered) and completed at
 * the end (end time). */
#ifndef NEUROMIC_PROV_H
#define NEUROMIC_PROV_H

#include <stdbool.h>
#include <stdint.h>

#include <mpi.h>

#include "neuromic/internal/grid.h"

typedef struct {
    char *key;
    bool is_int;
    int64_t ival;
    char *sval;
} nm_attr;

typedef struct {
    nm_attr *a;
    size_t n, cap;
} nm_prov;

void nm_prov_init(nm_prov *p);
void nm_prov_free(nm_prov *p);
/* Adds or replaces an attribute. NM_ERR_RUNTIME on out of memory (the
 * attribute is then missing or holds the integer 0). */
nm_status nm_prov_set_s(nm_prov *p, const char *key, const char *val);
nm_status nm_prov_set_i(nm_prov *p, const char *key, int64_t val);
const nm_attr *nm_prov_get(const nm_prov *p, const char *key);

/* Collective over comm. Fills: neuromic_version, git_commit, compiler,
 * cflags, mpi_library, hdf5_version, gsl_version, ranks, hosts (one line
 * per rank: "RANK HOST"), command_line, working_directory, user, start_time,
 * SLURM_* variables present in the environment, rng_type, base_seed,
 * kernel, kernel_version, spec_path, spec_text, spec_sha256, overrides. */
nm_status nm_prov_collect(nm_prov *p, const nm_sweep *sw, int argc, char **argv, MPI_Comm comm);

/* This process's SLURM_* variables as "NAME=VALUE; NAME=VALUE" (cut
 * before the first that does not fit in len bytes). */
void nm_prov_slurm(char *buf, size_t len);

/* Current UTC time as ISO 8601 ("2026-11-22T08:12:28Z"). */
void nm_utc_now(char buf[32]);

#endif

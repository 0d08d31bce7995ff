/* prov.c: what a result file records about how it was made. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_version.h>
#include <hdf5.h>

#include "buildinfo.h"
#include "neuromic/internal/prov.h"
#include "neuromic/internal/rng.h"

extern char **environ;

void nm_prov_init(nm_prov *p) { memset(p, 0, sizeof *p); }

void nm_prov_free(nm_prov *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->a[i].key);
        free(p->a[i].sval);
    }
    free(p->a);
    nm_prov_init(p);
}

static nm_attr *slot(nm_prov *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->a[i].key, key) == 0) {
            free(p->a[i].sval);
            p->a[i].sval = NULL;
            return &p->a[i];
        }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        nm_attr *a = realloc(p->a, cap * sizeof *a);
        if (!a)
            return NULL;
        p->a = a;
        p->cap = cap;
    }
    nm_attr *a = &p->a[p->n];
    memset(a, 0, sizeof *a);
    if (!(a->key = strdup(key)))
        return NULL;
    p->n++;
    return a;
}

nm_status nm_prov_set_s(nm_prov *p, const char *key, const char *val)
{
    nm_attr *a = slot(p, key);
    if (!a)
        return NM_ERR_RUNTIME;
    a->is_int = false;
    if (!(a->sval = strdup(val ? val : ""))) {
        a->is_int = true; /* an int needs no storage: the entry stays valid */
        return NM_ERR_RUNTIME;
    }
    return NM_OK;
}

nm_status nm_prov_set_i(nm_prov *p, const char *key, int64_t val)
{
    nm_attr *a = slot(p, key);
    if (!a)
        return NM_ERR_RUNTIME;
    a->is_int = true;
    a->ival = val;
    return NM_OK;
}

const nm_attr *nm_prov_get(const nm_prov *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->a[i].key, key) == 0)
            return &p->a[i];
    return NULL;
}

void nm_utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Joins argv with spaces, quoting arguments that need it for a shell. */
static char *command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 3;
    char *s = malloc(len), *w = s;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a != 0 && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789-_./=:,+@%") == strlen(a);
        if (i)
            *w++ = ' ';
        if (plain) {
            w = stpcpy(w, a);
            continue;
        }
        *w++ = '\'';
        for (; *a; a++)
            w = *a == '\'' ? stpcpy(w, "'\\''") : (*w = *a, w + 1);
        *w++ = '\'';
    }
    *w = 0;
    return s;
}

void nm_prov_slurm(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (char **e = environ; *e && n + 1 < len; e++)
        if (strncmp(*e, "SLURM_", 6) == 0) {
            int w = snprintf(buf + n, len - n, "%s%s", n ? "; " : "", *e);
            if (w < 0 || (size_t)w >= len - n) {
                buf[n] = 0; /* a variable that does not fit is left out whole */
                break;
            }
            n += (size_t)w;
        }
}

/* Inside nm_prov_collect every set counts its failure in `bad` (the macro
 * calls the function of the same name: a macro does not expand itself). */
#define nm_prov_set_s(...) (bad += nm_prov_set_s(__VA_ARGS__) != NM_OK)
#define nm_prov_set_i(...) (bad += nm_prov_set_i(__VA_ARGS__) != NM_OK)

nm_status nm_prov_collect(nm_prov *p, const nm_sweep *sw, int argc, char **argv, MPI_Comm comm)
{
    int bad = 0;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    char buf[4096];

    nm_prov_set_s(p, "neuromic_version", NM_VERSION);
    nm_prov_set_s(p, "git_commit", NM_GIT_COMMIT);
#ifdef __VERSION__
    nm_prov_set_s(p, "compiler", "gcc-compatible " __VERSION__);
#endif
    nm_prov_set_s(p, "cflags", NM_CFLAGS);
    int len;
    MPI_Get_library_version(buf, &len);
    buf[strcspn(buf, "\n")] = 0;
    nm_prov_set_s(p, "mpi_library", buf);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, sizeof buf, "%u.%u.%u (parallel)", maj, min, rel);
    nm_prov_set_s(p, "hdf5_version", buf);
    nm_prov_set_s(p, "gsl_version", gsl_version);

    /* Hosts: gathered so that rank 0 can list "RANK HOST" per line. */
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    char *all = rank == 0 ? malloc((size_t)size * sizeof host) : NULL;
    MPI_Gather(host, sizeof host, MPI_CHAR, all, sizeof host, MPI_CHAR, 0, comm);
    if (rank == 0) {
        size_t cap = (size_t)size * (sizeof host + 16), n = 0;
        char *lines = all ? malloc(cap) : NULL;
        if (!lines)
            bad++;
        for (int r = 0; lines && r < size; r++)
            n += (size_t)snprintf(lines + n, cap - n, "%s%d %s", r ? "\n" : "", r,
                                  all + (size_t)r * sizeof host);
        if (lines)
            nm_prov_set_s(p, "hosts", lines);
        free(lines);
        free(all);
    }
    nm_prov_set_i(p, "ranks", size);

    char *cl = command_line(argc, argv);
    nm_prov_set_s(p, "command_line", cl);
    free(cl);
    nm_prov_set_s(p, "working_directory", getcwd(buf, sizeof buf) ? buf : "(unknown)");
    struct passwd *pw = getpwuid(getuid());
    nm_prov_set_s(p, "user", pw ? pw->pw_name : "(unknown)");
    nm_utc_now(buf);
    nm_prov_set_s(p, "start_time", buf);
    nm_prov_set_s(p, "end_time", "");

    for (char **e = environ; *e; e++)
        if (strncmp(*e, "SLURM_", 6) == 0) {
            const char *eq = strchr(*e, '=');
            if (!eq || (size_t)(eq - *e) >= 128)
                continue;
            char key[128];
            memcpy(key, *e, (size_t)(eq - *e));
            key[eq - *e] = 0;
            nm_prov_set_s(p, key, eq + 1);
        }

    nm_prov_set_s(p, "rng_type", "xoshiro256** seeded by SHA-256 (see docs/ARCHITECTURE.md)");
    nm_prov_set_i(p, "base_seed", (int64_t)sw->base_seed);
    nm_prov_set_s(p, "kernel", sw->kernel->name);
    nm_prov_set_s(p, "kernel_version", sw->kernel->version);
    nm_prov_set_s(p, "spec_path", sw->path);
    nm_prov_set_s(p, "spec_text", sw->text);
    nm_prov_set_s(p, "spec_sha256", sw->sha256);
    char *ov = nm_sweep_overrides(sw);
    nm_prov_set_s(p, "overrides", ov ? ov : "(out of memory)");
    free(ov);
    nm_prov_set_i(p, "tasks", (int64_t)sw->ntasks);
    return bad ? NM_ERR_RUNTIME : NM_OK;
}
#undef nm_prov_set_s
#undef nm_prov_set_i

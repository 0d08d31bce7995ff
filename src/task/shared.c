/* shared.c: a kernel's per-rank shared data (prepare/release) and the data
 * files it records for provenance. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/sha256.h"
#include "neuromic/internal/task.h"

struct nm_shared {
    const nm_sweep *sw;
    nm_point *p;       /* nm_shared_next's point */
    uint64_t next;     /* next task nm_shared_next visits */
    bool hash;
    void *data;
    char *files;       /* "SHA256  PATH\n" lines */
    size_t flen;
    char error[NM_ERR_MSG];
    bool failed;
};

bool nm_shared_next(nm_shared *sh, const nm_point **p)
{
    if (sh->next >= sh->sw->ntasks)
        return false;
    nm_grid_point(sh->sw, sh->next++, sh->p);
    *p = sh->p;
    return true;
}

int nm_shared_fail(nm_shared *sh, const char *fmt, ...)
{
    if (!sh->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->error, sizeof sh->error, fmt, ap);
        va_end(ap);
        sh->failed = true;
    }
    return 1;
}

void nm_shared_set(nm_shared *sh, void *data) { sh->data = data; }

/* Hex SHA-256 of a file's bytes. */
static int hash_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    nm_sha256 c;
    nm_sha256_init(&c);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        nm_sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -1;
    uint8_t d[32];
    nm_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

int nm_shared_file(nm_shared *sh, const char *path)
{
    char hex[65] = "-";
    if (sh->hash && hash_file(path, hex) != 0)
        return nm_shared_fail(sh, "%s: cannot read: %s", path, strerror(errno));
    size_t add = strlen(hex) + 2 + strlen(path) + 1;
    char *f = realloc(sh->files, sh->flen + add + 1);
    if (!f)
        return nm_shared_fail(sh, "out of memory");
    sh->files = f;
    sh->flen += (size_t)snprintf(f + sh->flen, add + 1, "%s  %s\n", hex, path);
    return 0;
}

nm_status nm_shared_prepare(const nm_sweep *sw, bool hash, nm_shared **out, nm_err *err)
{
    *out = NULL;
    const nm_kernel *k = sw->kernel;
    if (!k->prepare)
        return NM_OK;
    nm_shared *sh = calloc(1, sizeof *sh);
    if (!sh || !(sh->p = nm_point_alloc(sw))) {
        free(sh);
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    }
    sh->sw = sw;
    sh->hash = hash;
    int rc = k->prepare(sh);
    if (rc != 0 || sh->failed) {
        nm_status st = nm_err_set(err, NM_ERR_INPUT, "kernel '%s': %s", k->name,
                                  sh->failed ? sh->error : "prepare() failed without a message");
        nm_shared_free(sh);
        return st;
    }
    *out = sh;
    return NM_OK;
}

void *nm_shared_data(const nm_shared *sh) { return sh ? sh->data : NULL; }

char *nm_shared_files(const nm_shared *sh)
{
    if (!sh || !sh->files)
        return strdup("");
    char *s = strdup(sh->files);
    return s;
}

void nm_shared_free(nm_shared *sh)
{
    if (!sh)
        return;
    if (sh->data && sh->sw->kernel->release)
        sh->sw->kernel->release(sh->data);
    nm_point_free(sh->p);
    free(sh->files);
    free(sh);
}

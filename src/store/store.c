/* store.c: a rank's buffered results and the collective checkpoint that
 * writes them into the file nm_store_create built.
 *
 * A checkpoint writes, with one collective H5Dwrite per dataset: first the
 * results of the rank's finished rows into the output datasets, then
 * H5Fflush (which ends in MPI_File_sync), then the task table rows (status
 * last), then another flush. A task's results are therefore on disk before
 * the status that says it is done. Failed tasks write no results (their
 * rows keep the fill value).
 *
 * Selections: a rank's rows, sorted by task id, form runs of consecutive
 * ids; nm_grid_boxes turns each run into at most 2*naxes hyperslab boxes,
 * extended by the output's own dimensions. Because task ids are row-major
 * indices, the selection's row-major order is task order, so the memory
 * side is simply the rows packed in task order. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "attempts.h"
#include "h5util.h"
#include "integrity.h"
#include "neuromic/internal/store.h"

/* ---- rows ---- */

struct nm_rowbuf {
    size_t nout;
    size_t *rowlen;     /* elements per row of output k */
    nm_otype *otype;
    unsigned char **data; /* output k: cap rows of rowlen 8-byte elements */
    void **ptrs;        /* res->out when the caller brings none */
    uint64_t *task;
    int8_t *status;
    double *seconds;
    uint64_t *sum;      /* checksum of a done row's results (integrity.c), else 0 */
    char **error;       /* NULL, malloc'd or oom_msg */
    size_t n;           /* finished rows */
    size_t cap;
    bool pending;       /* row n has been added but not finished */
};

static char oom_msg[] = "(error message lost: out of memory)";

nm_rowbuf *nm_rowbuf_alloc(const nm_sweep *sw)
{
    const nm_kernel *k = sw->kernel;
    nm_rowbuf *b = calloc(1, sizeof *b);
    if (!b)
        goto fail;
    b->nout = k->noutputs;
    b->rowlen = calloc(b->nout + 1, sizeof *b->rowlen);
    b->otype = calloc(b->nout + 1, sizeof *b->otype);
    b->data = calloc(b->nout + 1, sizeof *b->data);
    b->ptrs = calloc(b->nout + 1, sizeof *b->ptrs);
    if (!b->rowlen || !b->otype || !b->data || !b->ptrs)
        goto fail;
    for (size_t o = 0; o < b->nout; o++) {
        b->rowlen[o] = sw->layout[o].size;
        b->otype[o] = k->outputs[o].type;
    }
    return b;
fail:
    nm_rowbuf_free(b);
    return NULL;
}

void nm_rowbuf_free(nm_rowbuf *b)
{
    if (!b)
        return;
    nm_rowbuf_clear(b);
    for (size_t o = 0; b->data && o < b->nout; o++)
        free(b->data[o]);
    free(b->data);
    free(b->rowlen);
    free(b->otype);
    free(b->ptrs);
    free(b->task);
    free(b->status);
    free(b->seconds);
    free(b->sum);
    free(b->error);
    free(b);
}

/* Grows every per-row array to hold cap rows. */
static bool grow(nm_rowbuf *b, size_t cap)
{
    for (size_t o = 0; o < b->nout; o++) {
        size_t bytes = (b->rowlen[o] ? b->rowlen[o] : 1) * 8 * cap;
        void *d = realloc(b->data[o], bytes);
        if (!d)
            return false;
        b->data[o] = d;
    }
    void *t = realloc(b->task, cap * sizeof *b->task);
    if (!t)
        return false;
    b->task = t;
    if (!(t = realloc(b->status, cap * sizeof *b->status)))
        return false;
    b->status = t;
    if (!(t = realloc(b->seconds, cap * sizeof *b->seconds)))
        return false;
    b->seconds = t;
    if (!(t = realloc(b->sum, cap * sizeof *b->sum)))
        return false;
    b->sum = t;
    if (!(t = realloc(b->error, cap * sizeof *b->error)))
        return false;
    b->error = t;
    b->cap = cap;
    return true;
}

nm_status nm_rowbuf_add(nm_rowbuf *b, uint64_t task, nm_result *res, nm_err *err)
{
    /* An unfinished row is replaced. */
    b->pending = false;
    if (res->out && res->nout < b->nout)
        return nm_err_set(err, NM_ERR_RUNTIME,
                          "internal: result array of %zu outputs where the kernel has %zu",
                          res->nout, b->nout);
    /* From 4 rows up: rows may be large (sched.c keeps their number down). */
    if (b->n == b->cap && !grow(b, b->cap ? 2 * b->cap : 4))
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory buffering results");
    size_t r = b->n;
    b->task[r] = task;
    b->status[r] = NM_TASK_PENDING;
    b->seconds[r] = NAN;
    b->error[r] = NULL;
    /* The caller's own array if it brings one, else the buffer's. */
    void **out = res->out ? res->out : b->ptrs;
    for (size_t o = 0; o < b->nout; o++) {
        size_t len = b->rowlen[o];
        void *row = b->data[o] + r * len * 8;
        if (b->otype[o] == NM_O_F64)
            for (size_t i = 0; i < len; i++)
                ((double *)row)[i] = NAN;
        else
            memset(row, 0, len * 8);
        out[o] = row;
    }
    res->out = out;
    res->nout = b->nout;
    b->pending = true;
    return NM_OK;
}

void nm_rowbuf_discard(nm_rowbuf *b) { b->pending = false; }

void nm_rowbuf_finish(nm_rowbuf *b, int8_t status, double seconds, const char *error)
{
    if (!b->pending)
        return;
    size_t r = b->n;
    b->status[r] = status;
    b->seconds[r] = seconds;
    b->sum[r] = 0;
    if (status == NM_TASK_DONE) {
        /* The rows hold the file's bytes (little-endian float64/int64). */
        const unsigned char *rows[b->nout + 1];
        size_t bytes[b->nout + 1];
        for (size_t o = 0; o < b->nout; o++) {
            rows[o] = b->data[o] + r * b->rowlen[o] * 8;
            bytes[o] = b->rowlen[o] * 8;
        }
        b->sum[r] = nm_integrity_row(b->task[r], b->nout, rows, bytes);
    }
    b->error[r] = NULL;
    if (error && error[0]) {
        /* Truncate to fit, at a UTF-8 character boundary. */
        size_t len = strlen(error);
        if (len > NM_ERROR_LEN - 1) {
            len = NM_ERROR_LEN - 1;
            while (len > 0 && ((unsigned char)error[len] & 0xC0) == 0x80)
                len--;
        }
        char *e = malloc(len + 1);
        if (e) {
            memcpy(e, error, len);
            e[len] = '\0';
        }
        b->error[r] = e ? e : oom_msg;
    }
    b->n++;
    b->pending = false;
}

size_t nm_rowbuf_count(const nm_rowbuf *b) { return b ? b->n : 0; }

void nm_rowbuf_clear(nm_rowbuf *b)
{
    for (size_t r = 0; r < b->n; r++)
        if (b->error[r] != oom_msg)
            free(b->error[r]);
    b->n = 0;
    b->pending = false;
}

/* ---- MPI errors ---- */

/* Collective: every rank learns whether any rank failed; then all return
 * the error of the lowest failing rank ("rank R: ..." when there are
 * several ranks). */
static nm_status agree(MPI_Comm comm, nm_status st, nm_err *err)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = st != NM_OK ? rank : size, first = size;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return nm_err_set(err, NM_ERR_RUNTIME, "MPI_Allreduce failed");
    if (first == size)
        return NM_OK;
    struct {
        int code;
        char msg[NM_ERR_MSG];
    } m = {(int)st, ""};
    if (rank == first)
        snprintf(m.msg, sizeof m.msg, "%s", err->msg);
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, comm) != MPI_SUCCESS)
        return nm_err_set(err, NM_ERR_RUNTIME, "MPI_Bcast failed");
    if (size == 1)
        return nm_err_set(err, (nm_status)m.code, "%s", m.msg);
    return nm_err_set(err, (nm_status)m.code, "rank %d: %s", first, m.msg);
}

/* ---- the parallel file ---- */

const char *const nm_task_columns[NM_TCOL_N] = {"rank", "seconds", "host", "error", "checksum",
                                                "status"};

struct nm_store {
    const nm_sweep *sw;
    char *path;
    MPI_Comm comm;
    int rank, size;
    hid_t file, dxpl;
    size_t nout;
    hid_t *dset;        /* per output */
    size_t *rowlen;     /* elements per task of output k */
    int *ndims;         /* output dims of output k */
    hsize_t *ext;       /* NM_MAX_DIMS per output */
    hid_t tset[NM_TCOL_N];
    hid_t hostt, errt;  /* fixed-length string types of host and error */
    char host[NM_HOST_LEN];
};

static void store_free(nm_store *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->dset);
    free(s->rowlen);
    free(s->ndims);
    free(s->ext);
    if (s->comm != MPI_COMM_NULL)
        MPI_Comm_free(&s->comm);
    free(s);
}

/* Closes every HDF5 object of s; returns false if one failed. */
static bool store_close_ids(nm_store *s)
{
    bool ok = true;
    for (size_t o = 0; s->dset && o < s->nout; o++)
        if (s->dset[o] >= 0 && H5Dclose(s->dset[o]) < 0)
            ok = false;
    for (int i = 0; i < NM_TCOL_N; i++)
        if (s->tset[i] >= 0 && H5Dclose(s->tset[i]) < 0)
            ok = false;
    if (s->hostt >= 0)
        H5Tclose(s->hostt);
    if (s->errt >= 0)
        H5Tclose(s->errt);
    if (s->dxpl >= 0)
        H5Pclose(s->dxpl);
    if (s->file >= 0 && H5Fclose(s->file) < 0) {
        nm_h5_unclean();
        ok = false;
    }
    return ok;
}

/* Opens dataset name and checks that it has n elements. */
static nm_status open_dset(nm_store *s, hid_t loc, const char *name, hssize_t n, hid_t *out,
                           nm_err *err)
{
    *out = H5Dopen2(loc, name, H5P_DEFAULT);
    if (*out < 0)
        return nm_h5_fail(err, "%s: cannot open dataset '%s'", s->path, name);
    hid_t sp = H5Dget_space(*out);
    hssize_t got = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    if (got != n)
        return nm_err_set(err, NM_ERR_INPUT,
                          "%s: dataset '%s' has %lld elements where this sweep needs %lld; "
                          "the file was made for another sweep",
                          s->path, name, (long long)got, (long long)n);
    return NM_OK;
}

/* Local part of the opening: sizes of the outputs' rows. */
static nm_status open_local(nm_store *s, nm_err *err)
{
    const nm_sweep *sw = s->sw;
    const nm_kernel *k = sw->kernel;
    s->nout = k->noutputs;
    s->dset = malloc((s->nout + 1) * sizeof *s->dset);
    for (size_t o = 0; s->dset && o < s->nout; o++)
        s->dset[o] = H5I_INVALID_HID;
    s->rowlen = calloc(s->nout + 1, sizeof *s->rowlen);
    s->ndims = calloc(s->nout + 1, sizeof *s->ndims);
    s->ext = calloc(s->nout * NM_MAX_DIMS + 1, sizeof *s->ext);
    if (!s->dset || !s->rowlen || !s->ndims || !s->ext)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t o = 0; o < s->nout; o++) {
        s->ndims[o] = k->outputs[o].ndims;
        s->rowlen[o] = sw->layout[o].size;
        memcpy(&s->ext[o * NM_MAX_DIMS], sw->layout[o].ext, sizeof sw->layout[o].ext);
    }
    s->hostt = nm_h5_str_type(NM_HOST_LEN);
    s->errt = nm_h5_str_type(NM_ERROR_LEN);
    if (s->hostt < 0 || s->errt < 0)
        return nm_h5_fail(err, "cannot make string types");
    return NM_OK;
}

/* Collective part of the opening: the file, then every dataset. */
static nm_status open_file(nm_store *s, nm_err *err)
{
    const nm_sweep *sw = s->sw;
    const nm_kernel *k = sw->kernel;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_mpio(fapl, s->comm, MPI_INFO_NULL) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return nm_h5_fail(err, "cannot set up MPI-IO for %s", s->path);
    }
    s->file = H5Fopen(s->path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (s->file < 0)
        return nm_h5_fail(err, "cannot open %s for writing", s->path);
    s->dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (s->dxpl < 0 || H5Pset_dxpl_mpio(s->dxpl, H5FD_MPIO_COLLECTIVE) < 0)
        return nm_h5_fail(err, "cannot set up collective transfers");

    nm_status st = NM_OK;
    for (size_t o = 0; o < s->nout && st == NM_OK; o++)
        st = open_dset(s, s->file, k->outputs[o].name,
                       (hssize_t)(sw->ntasks * s->rowlen[o]), &s->dset[o], err);
    hid_t g = H5I_INVALID_HID;
    if (st == NM_OK && (g = H5Gopen2(s->file, "tasks", H5P_DEFAULT)) < 0)
        st = nm_h5_fail(err, "%s: cannot open group /tasks", s->path);
    for (int i = 0; i < NM_TCOL_N && st == NM_OK; i++)
        st = open_dset(s, g, nm_task_columns[i], (hssize_t)sw->ntasks, &s->tset[i], err);
    if (g >= 0)
        H5Gclose(g);
    return st;
}

nm_status nm_store_open(const char *path, const nm_sweep *sw, MPI_Comm comm, nm_store **out,
                        nm_err *err)
{
    nm_err local;
    if (!err)
        err = &local;
    *out = NULL;
    nm_status st = NM_OK;
    nm_store *s = calloc(1, sizeof *s);
    if (!s) {
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        return agree(comm, st, err);
    }
    s->comm = MPI_COMM_NULL;
    s->file = s->dxpl = s->hostt = s->errt = H5I_INVALID_HID;
    for (int i = 0; i < NM_TCOL_N; i++)
        s->tset[i] = H5I_INVALID_HID;
    s->sw = sw;
    /* Our own communicator: our collectives never mix with the caller's. */
    if (MPI_Comm_dup(comm, &s->comm) != MPI_SUCCESS) {
        s->comm = MPI_COMM_NULL;
        store_free(s);
        st = nm_err_set(err, NM_ERR_RUNTIME, "MPI_Comm_dup failed");
        return agree(comm, st, err);
    }
    MPI_Comm_rank(s->comm, &s->rank);
    MPI_Comm_size(s->comm, &s->size);
    /* Each rank writes its own rows, so its own name is all it needs. */
    if (gethostname(s->host, sizeof s->host) != 0)
        snprintf(s->host, sizeof s->host, "unknown");
    s->host[sizeof s->host - 1] = '\0';
    s->path = strdup(path);
    if (!s->path)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory");

    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    /* Every rank enters the collective H5Fopen only if all are ready. */
    if (st == NM_OK)
        st = open_local(s, err);
    st = agree(s->comm, st, err);
    if (st == NM_OK) {
        st = open_file(s, err);
        st = agree(s->comm, st, err);
    }
    if (st != NM_OK) {
        store_close_ids(s);
        store_free(s);
    } else {
        *out = s;
    }
    nm_h5_quiet_off(&q);
    return st;
}

/* Rank 0 writes row index of one column; the others take part with an
 * empty selection (the write is collective). */
static nm_status attempt_column(nm_store *s, hid_t g, int i, int index, const nm_attempt *a,
                                nm_err *err)
{
    nm_attempt_col c = nm_attempt_column(i);
    hid_t d = H5Dopen2(g, c.name, H5P_DEFAULT);
    if (d < 0)
        return nm_h5_fail(err, "%s: cannot open /attempts/%s", s->path, c.name);
    hid_t mt = c.strlen ? nm_h5_str_type(c.strlen) : c.numtype;
    hid_t fs = H5Dget_space(d);
    hsize_t one = 1, at = (hsize_t)index;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    bool mine = s->rank == 0 && a;
    herr_t r = mt < 0 || fs < 0 || ms < 0 ? -1 : 0;
    if (r >= 0 && mine)
        r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL);
    else if (r >= 0)
        r = H5Sselect_none(fs) < 0 || H5Sselect_none(ms) < 0 ? -1 : 0;
    char zero[8] = {0};
    const void *buf = mine ? (const char *)a + c.offset : zero;
    if (r >= 0)
        r = H5Dwrite(d, mt, ms, fs, s->dxpl, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (c.strlen && mt >= 0)
        H5Tclose(mt);
    H5Dclose(d);
    return r < 0 ? nm_h5_fail(err, "%s: cannot write /attempts/%s", s->path, c.name) : NM_OK;
}

nm_status nm_store_attempt(nm_store *s, int index, const nm_attempt *a, nm_err *err)
{
    nm_err local;
    if (!err)
        err = &local;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    nm_status st = NM_OK;
    if (index < 0 || index >= NM_MAX_ATTEMPTS)
        st = nm_err_set(err, NM_ERR_RUNTIME, "attempt %d is outside /attempts", index);
    hid_t g = st ? H5I_INVALID_HID : H5Gopen2(s->file, "attempts", H5P_DEFAULT);
    if (!st && g < 0)
        st = nm_h5_fail(err, "%s: cannot open group /attempts", s->path);
    for (int i = 0; i < A_N && st == NM_OK; i++)
        st = attempt_column(s, g, i, index, a, err);
    if (g >= 0)
        H5Gclose(g);
    if (st == NM_OK && H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0)
        st = nm_h5_fail(err, "%s: cannot flush", s->path);
    nm_h5_quiet_off(&q);
    return agree(s->comm, st, err);
}

nm_status nm_store_close(nm_store *s, nm_err *err)
{
    nm_err local;
    if (!err)
        err = &local;
    if (!s)
        return NM_OK;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    nm_status st = NM_OK;
    if (!store_close_ids(s))
        st = nm_h5_fail(err, "cannot close %s", s->path);
    nm_h5_quiet_off(&q);
    st = agree(s->comm, st, err);
    store_free(s);
    return st;
}

/* ---- checkpoint ---- */

typedef struct {
    uint64_t task;
    size_t row;
} order_t;

static int by_task(const void *a, const void *b)
{
    uint64_t x = ((const order_t *)a)->task, y = ((const order_t *)b)->task;
    return x < y ? -1 : x > y;
}

/* Runs of consecutive task ids among ord[0..n) (sorted), optionally only
 * the rows with status DONE. first/count have room for n runs. */
static size_t runs(const nm_rowbuf *b, const order_t *ord, size_t n, bool done_only,
                   uint64_t *first, uint64_t *count)
{
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (done_only && b->status[ord[i].row] != NM_TASK_DONE)
            continue;
        if (nr > 0 && first[nr - 1] + count[nr - 1] == ord[i].task) {
            count[nr - 1]++;
        } else {
            first[nr] = ord[i].task;
            count[nr] = 1;
            nr++;
        }
    }
    return nr;
}

/* Everything a checkpoint prepares before its collective writes. */
typedef struct {
    size_t n, ndone;
    order_t *ord;
    uint64_t *first, *count; /* runs of done rows, then of all rows */
    size_t nrdone, nrall;
    size_t *bstart, *blen; /* boxes over the axes of the done runs */
    size_t nbox;
    size_t nout;            /* entries of the per-output arrays set up */
    hid_t *ospace, *mspace; /* per output */
    void **obuf;            /* per output: done rows in task order */
    bool *obuf_owned;
    hid_t tspace, tmspace;
    int8_t *status;
    int32_t *rank;
    double *seconds;
    uint64_t *sum;
    char *host, *error;
} ckpt;

static void ckpt_free(ckpt *c)
{
    for (size_t o = 0; o < c->nout; o++) {
        if (c->ospace[o] >= 0)
            H5Sclose(c->ospace[o]);
        if (c->mspace[o] >= 0)
            H5Sclose(c->mspace[o]);
        if (c->obuf_owned[o])
            free(c->obuf[o]);
    }
    if (c->tspace >= 0)
        H5Sclose(c->tspace);
    if (c->tmspace >= 0)
        H5Sclose(c->tmspace);
    free(c->ord);
    free(c->first);
    free(c->count);
    free(c->bstart);
    free(c->blen);
    free(c->ospace);
    free(c->mspace);
    free(c->obuf);
    free(c->obuf_owned);
    free(c->status);
    free(c->rank);
    free(c->seconds);
    free(c->sum);
    free(c->host);
    free(c->error);
}

/* A 1-D memory space of n elements, or an empty selection when n == 0. */
static hid_t mem_space(hsize_t n)
{
    hsize_t one = 1;
    hid_t sp = H5Screate_simple(1, n ? &n : &one, NULL);
    if (sp >= 0 && n == 0 && H5Sselect_none(sp) < 0) {
        H5Sclose(sp);
        return H5I_INVALID_HID;
    }
    return sp;
}

/* The union of boxes [lo, hi) (box i: start/count at i*rank) as a new
 * selection on a copy of space. HDF5 1.10 ORs a hyperslab into a selection
 * in time linear in the selection's size, so adding n boxes one by one costs
 * O(n^2) (100k scattered rows: minutes). Merging halves with
 * H5Scombine_select costs O(n log n) (100k: 0.2 s). */
static hid_t box_union(hid_t space, int rank, const hsize_t *start, const hsize_t *count,
                       size_t lo, size_t hi)
{
    if (hi - lo <= 8) {
        hid_t sp = H5Scopy(space);
        herr_t r = sp < 0 ? -1 : 0;
        for (size_t i = lo; i < hi && r >= 0; i++)
            r = H5Sselect_hyperslab(sp, i == lo ? H5S_SELECT_SET : H5S_SELECT_OR,
                                    start + i * (size_t)rank, NULL, count + i * (size_t)rank,
                                    NULL);
        if (r < 0 && sp >= 0) {
            H5Sclose(sp);
            sp = H5I_INVALID_HID;
        }
        return sp;
    }
    size_t mid = lo + (hi - lo) / 2;
    hid_t a = box_union(space, rank, start, count, lo, mid);
    hid_t b = a < 0 ? a : box_union(space, rank, start, count, mid, hi);
    hid_t u = b < 0 ? b : H5Scombine_select(a, H5S_SELECT_OR, b);
    if (a >= 0)
        H5Sclose(a);
    if (b >= 0)
        H5Sclose(b);
    return u;
}

/* File selection of output o: the boxes, each extended by the output's own
 * dimensions. */
static hid_t out_selection(const nm_store *s, const ckpt *c, size_t o)
{
    size_t na = s->sw->naxes;
    hid_t sp = H5Dget_space(s->dset[o]);
    if (sp < 0)
        return sp;
    if (c->ndone > 0 && s->rowlen[o] > 0 && na > 0) {
        size_t rank = na + (size_t)s->ndims[o];
        hsize_t *start = malloc(c->nbox * rank * sizeof *start);
        hsize_t *cnt = malloc(c->nbox * rank * sizeof *cnt);
        hid_t u = H5I_INVALID_HID;
        if (start && cnt) {
            for (size_t bx = 0; bx < c->nbox; bx++) {
                hsize_t *st = start + bx * rank, *ct = cnt + bx * rank;
                for (size_t a = 0; a < na; a++) {
                    st[a] = c->bstart[bx * na + a];
                    ct[a] = c->blen[bx * na + a];
                }
                for (int d = 0; d < s->ndims[o]; d++) {
                    st[na + (size_t)d] = 0;
                    ct[na + (size_t)d] = s->ext[o * NM_MAX_DIMS + (size_t)d];
                }
            }
            u = box_union(sp, (int)rank, start, cnt, 0, c->nbox);
        }
        free(start);
        free(cnt);
        H5Sclose(sp);
        return u;
    }
    herr_t r = c->ndone == 0 || s->rowlen[o] == 0 ? H5Sselect_none(sp) : H5Sselect_all(sp);
    if (r < 0) {
        H5Sclose(sp);
        return H5I_INVALID_HID;
    }
    return sp;
}

/* File selection of the task table: the runs of all rows. */
static hid_t task_selection(const nm_store *s, const ckpt *c)
{
    hid_t sp = H5Dget_space(s->tset[0]);
    if (sp < 0 || c->nrall == 0) {
        if (sp >= 0 && H5Sselect_none(sp) < 0) {
            H5Sclose(sp);
            return H5I_INVALID_HID;
        }
        return sp;
    }
    hsize_t *start = malloc(c->nrall * sizeof *start), *cnt = malloc(c->nrall * sizeof *cnt);
    hid_t u = H5I_INVALID_HID;
    if (start && cnt) {
        for (size_t i = 0; i < c->nrall; i++) {
            start[i] = c->first[i];
            cnt[i] = c->count[i];
        }
        u = box_union(sp, 1, start, cnt, 0, c->nrall);
    }
    free(start);
    free(cnt);
    H5Sclose(sp);
    return u;
}

static nm_status prepare(nm_store *s, const nm_rowbuf *b, ckpt *c, nm_err *err)
{
    const nm_sweep *sw = s->sw;
    size_t na = sw->naxes, n = c->n;
    if (b && b->nout != s->nout)
        return nm_err_set(err, NM_ERR_RUNTIME, "internal: row buffer of another sweep");
    for (size_t o = 0; b && o < s->nout; o++)
        if (b->rowlen[o] != s->rowlen[o])
            return nm_err_set(err, NM_ERR_RUNTIME,
                              "internal: row buffer of another sweep (output %zu)", o);
    c->ord = malloc((n + 1) * sizeof *c->ord);
    c->first = malloc((n + 1) * sizeof *c->first);
    c->count = malloc((n + 1) * sizeof *c->count);
    c->ospace = malloc((s->nout + 1) * sizeof *c->ospace);
    c->mspace = malloc((s->nout + 1) * sizeof *c->mspace);
    c->obuf = calloc(s->nout + 1, sizeof *c->obuf);
    c->obuf_owned = calloc(s->nout + 1, sizeof *c->obuf_owned);
    if (!c->ord || !c->first || !c->count || !c->ospace || !c->mspace || !c->obuf ||
        !c->obuf_owned)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t o = 0; o < s->nout; o++)
        c->ospace[o] = c->mspace[o] = H5I_INVALID_HID;
    c->nout = s->nout;

    /* Rows in task order; ids must be valid and distinct. */
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        c->ord[i] = (order_t){b->task[i], i};
        if (b->task[i] >= sw->ntasks)
            return nm_err_set(err, NM_ERR_RUNTIME, "internal: task %llu is not in the grid",
                              (unsigned long long)b->task[i]);
        if (i > 0 && b->task[i] <= b->task[i - 1])
            sorted = false;
        if (b->status[i] == NM_TASK_DONE)
            c->ndone++;
    }
    if (!sorted)
        qsort(c->ord, n, sizeof *c->ord, by_task);
    for (size_t i = 1; i < n; i++)
        if (c->ord[i].task == c->ord[i - 1].task)
            return nm_err_set(err, NM_ERR_RUNTIME, "internal: task %llu buffered twice",
                              (unsigned long long)c->ord[i].task);

    /* Results: boxes of the runs of done tasks. */
    c->nrdone = runs(b, c->ord, n, true, c->first, c->count);
    if (na > 0 && c->nrdone > 0) {
        size_t maxbox = c->nrdone * 2 * na;
        c->bstart = malloc(maxbox * na * sizeof *c->bstart);
        c->blen = malloc(maxbox * na * sizeof *c->blen);
        if (!c->bstart || !c->blen)
            return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        for (size_t r = 0; r < c->nrdone; r++)
            c->nbox += nm_grid_boxes(sw, c->first[r], c->count[r], c->bstart + c->nbox * na,
                                     c->blen + c->nbox * na);
    }
    for (size_t o = 0; o < s->nout; o++) {
        size_t rowbytes = s->rowlen[o] * 8;
        if (c->ndone == n && sorted) {
            c->obuf[o] = n ? b->data[o] : NULL; /* already in order */
        } else if (c->ndone > 0) {
            unsigned char *p = malloc(c->ndone * rowbytes + 1);
            if (!p)
                return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
            c->obuf[o] = p;
            c->obuf_owned[o] = true;
            for (size_t i = 0; i < n; i++)
                if (b->status[c->ord[i].row] == NM_TASK_DONE) {
                    memcpy(p, b->data[o] + c->ord[i].row * rowbytes, rowbytes);
                    p += rowbytes;
                }
        }
        c->ospace[o] = out_selection(s, c, o);
        c->mspace[o] = mem_space(c->ndone * s->rowlen[o]);
        if (c->ospace[o] < 0 || c->mspace[o] < 0)
            return nm_h5_fail(err, "cannot select the rows of output '%s'",
                          sw->kernel->outputs[o].name);
        if ((size_t)H5Sget_select_npoints(c->ospace[o]) != c->ndone * s->rowlen[o])
            return nm_err_set(err, NM_ERR_RUNTIME,
                              "internal: selection of output '%s' has %lld elements, not %zu",
                              sw->kernel->outputs[o].name,
                              (long long)H5Sget_select_npoints(c->ospace[o]),
                              c->ndone * s->rowlen[o]);
    }

    /* Task table: runs of all rows. */
    c->nrall = runs(b, c->ord, n, false, c->first, c->count);
    c->tspace = task_selection(s, c);
    c->tmspace = mem_space(n);
    if (c->tspace < 0 || c->tmspace < 0)
        return nm_h5_fail(err, "cannot select rows of the task table");
    if ((size_t)H5Sget_select_npoints(c->tspace) != n)
        return nm_err_set(err, NM_ERR_RUNTIME, "internal: task selection of wrong size");
    c->status = malloc(n + 1);
    c->rank = malloc((n + 1) * sizeof *c->rank);
    c->seconds = malloc((n + 1) * sizeof *c->seconds);
    c->sum = malloc((n + 1) * sizeof *c->sum);
    c->host = calloc(n + 1, NM_HOST_LEN);
    c->error = calloc(n + 1, NM_ERROR_LEN);
    if (!c->status || !c->rank || !c->seconds || !c->sum || !c->host || !c->error)
        return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t row = c->ord[i].row;
        c->status[i] = b->status[row];
        c->rank[i] = s->rank;
        c->seconds[i] = b->seconds[row];
        c->sum[i] = b->sum[row];
        memcpy(c->host + i * NM_HOST_LEN, s->host, NM_HOST_LEN);
        if (b->error[row])
            memcpy(c->error + i * NM_ERROR_LEN, b->error[row], strlen(b->error[row]));
    }
    return NM_OK;
}

nm_status nm_store_checkpoint(nm_store *s, nm_rowbuf *b, nm_err *err)
{
    nm_err local;
    if (!err)
        err = &local;
    nm_h5_quiet q;
    nm_h5_quiet_on(&q);
    ckpt c = {.n = nm_rowbuf_count(b), .tspace = H5I_INVALID_HID, .tmspace = H5I_INVALID_HID};
    nm_status st = prepare(s, b, &c, err);
    st = agree(s->comm, st, err);
    if (st != NM_OK)
        goto done;

    /* Every rank makes the same sequence of collective calls from here on,
     * whatever fails; the first failure is reported. */
    static const double dummy[1];
    nm_status wst = NM_OK;
    for (size_t o = 0; o < s->nout; o++) {
        hid_t mt = s->sw->kernel->outputs[o].type == NM_O_F64 ? H5T_NATIVE_DOUBLE
                                                                : H5T_NATIVE_INT64;
        const void *buf = c.obuf[o] ? c.obuf[o] : dummy;
        if (H5Dwrite(s->dset[o], mt, c.mspace[o], c.ospace[o], s->dxpl, buf) < 0 && !wst)
            wst = nm_h5_fail(err, "%s: cannot write output '%s'", s->path,
                         s->sw->kernel->outputs[o].name);
    }
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0 && !wst)
        wst = nm_h5_fail(err, "%s: cannot flush results", s->path);
    const void *tbuf[NM_TCOL_N] = {c.rank, c.seconds, c.host, c.error, c.sum, c.status};
    hid_t tmt[NM_TCOL_N] = {H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE, s->hostt, s->errt,
                            H5T_NATIVE_UINT64, H5T_NATIVE_INT8};
    for (int i = 0; i < NM_TCOL_N; i++)
        if (H5Dwrite(s->tset[i], tmt[i], c.tmspace, c.tspace, s->dxpl, tbuf[i]) < 0 && !wst)
            wst = nm_h5_fail(err, "%s: cannot write /tasks/%s", s->path, nm_task_columns[i]);
    if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0 && !wst)
        wst = nm_h5_fail(err, "%s: cannot flush the task table", s->path);
    st = agree(s->comm, wst, err);
    if (b)
        nm_rowbuf_clear(b);
done:
    ckpt_free(&c);
    nm_h5_quiet_off(&q);
    return st;
}

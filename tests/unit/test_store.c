/* test_store.c: the result file: layout, dimension scales, attributes, fill
 * values, create's refusal/replacement rules, checkpoints read back with
 * H5Dread, and the row buffer. Sweeps are built by hand.
 *
 * Run as an MPI singleton (./build/san/tests/test_store) for every test;
 * under mpirun -n N (N > 1) it runs only the collective checkpoint test,
 * with interleaved rows on every rank. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <hdf5_hl.h>
#include <mpi.h>

#include "neuromic/internal/store.h"

/* Sanitizer defaults for a program linked with Open MPI (environment
 * variables still override them):
 * - full stack unwinding on malloc, so that the leaks Open MPI makes inside
 *   MPI_Init/MPI_Finalize have stacks that tests/lsan.supp can match (its
 *   plugins lack frame pointers);
 * - use_tls=0: LeakSanitizer (GCC 12) crashes in its tracer thread reading
 *   the dynamic TLS of Open MPI's threads ("Tracer caught signal 11"). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "use_tls=0"; }

/* Counts the MPI_File_sync calls HDF5 makes (PMPI interposition). */
static int nsync;
int MPI_File_sync(MPI_File fh)
{
    nsync++;
    return PMPI_File_sync(fh);
}

static char dir[64];
static int mpi_rank, mpi_size;

/* ---- hand-made sweeps ---- */

typedef struct {
    nm_sweep sw;
    nm_axis axes[4];
    int params[4][3];
    nm_value *vals[4][3];
    nm_value store[4][3][8];
} hand_sweep;

static nm_value F(double x) { return (nm_value){.type = NM_T_FLOAT, .v.f = x}; }
static nm_value I(int64_t x) { return (nm_value){.type = NM_T_INT, .v.i = x}; }
static nm_value S(const char *x) { return (nm_value){.type = NM_T_CHOICE, .v.s = x}; }
static nm_value B(bool x) { return (nm_value){.type = NM_T_BOOL, .v.b = x}; }

static hand_sweep *sweep_new(const nm_kernel *k)
{
    hand_sweep *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->sw.kernel = k;
    h->sw.path = "hand.yaml";
    h->sw.fixed = calloc(nm_kernel_nparams_all(k), sizeof *h->sw.fixed);
    for (size_t i = 0; i < nm_kernel_nparams_all(k); i++)
        h->sw.fixed[i] = nm_kernel_param(k, i)->def;
    h->sw.axes = h->axes;
    h->sw.ntasks = 1;
    /* Output shapes come from the fixed values, as in the spec reader. */
    nm_err err;
    assert_int_equal(nm_grid_layout(&h->sw, &err), NM_OK);
    return h;
}

/* Adds an axis of np parameters (a zip group if np > 1); vals[j*len + i] is
 * value i of parameter j. */
static void sweep_axis(hand_sweep *h, size_t np, const char *const *names, size_t len,
                       const nm_value *vals)
{
    size_t a = h->sw.naxes++;
    nm_axis *ax = &h->axes[a];
    ax->name = (char *)names[0];
    ax->len = len;
    ax->nparams = np;
    ax->param = h->params[a];
    ax->values = h->vals[a];
    for (size_t j = 0; j < np; j++) {
        h->params[a][j] = nm_kernel_param_index(h->sw.kernel, names[j]);
        assert_true(h->params[a][j] >= 0);
        h->vals[a][j] = h->store[a][j];
        for (size_t i = 0; i < len; i++)
            h->store[a][j][i] = vals[j * len + i];
    }
    h->sw.ntasks *= len;
}

static void sweep_free(hand_sweep *h)
{
    free(h->sw.layout);
    free(h->sw.fixed);
    free(h);
}

/* probe over x (3 floats) x mode (a, b) x zip(n, seed) (4): 24 tasks. */
static hand_sweep *probe_sweep(void)
{
    hand_sweep *h = sweep_new(nm_kernel_find("probe"));
    static const char *const x[] = {"x"}, *const mode[] = {"mode"}, *const nseed[] = {"n", "seed"};
    nm_value xv[] = {F(0.5), F(1.5), F(2.5)};
    nm_value mv[] = {S("a"), S("b")};
    nm_value nv[] = {I(1), I(2), I(3), I(4), I(10), I(20), I(30), I(40)};
    sweep_axis(h, 1, x, 3, xv);
    sweep_axis(h, 1, mode, 2, mv);
    sweep_axis(h, 2, nseed, 4, nv);
    return h;
}

/* A kernel for shapes probe does not have: a bool parameter, a 2-D int
 * output, a dimension shared by two outputs. */
static const nm_param tk_params[] = {
    {.name = "flag", .type = NM_T_BOOL, .def = {.type = NM_T_BOOL, .v.b = false}, .unit = "",
     .doc = "a flag"},
    {.name = "k", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = 3}, .unit = "m",
     .doc = "an int"},
    {.name = "rows", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = 2}, .unit = "",
     .doc = "rows"},
    {.name = "c", .type = NM_T_INT, .def = {.type = NM_T_INT, .v.i = 0}, .unit = "",
     .doc = "named like a dimension"},
};
static size_t tk_extent(const nm_point *p, int d) { return d == 0 ? (size_t)nm_get_i(p, "rows") : 3; }
static size_t tk_extent2(const nm_point *p, int d) { return d == 0 ? 3 : 5; }
static int tk_run(const nm_point *p, nm_task *t, nm_result *res) { return 0; }
static const nm_output tk_outputs[] = {
    {.name = "a", .type = NM_O_F64, .ndims = 0, .unit = "V", .doc = "a scalar"},
    {.name = "m", .type = NM_O_I64, .ndims = 2, .dims = {"r", "c"}, .extent = tk_extent,
     .unit = "", .doc = "a matrix"},
    {.name = "v", .type = NM_O_F64, .ndims = 1, .dims = {"r"}, .extent = tk_extent, .unit = "",
     .doc = "a vector along r"},
};
static const nm_kernel tk = {.name = "tk", .version = "1", .doc = "test", .params = tk_params,
                             .nparams = 4, .outputs = tk_outputs, .noutputs = 3, .run = tk_run};
/* Dimension 'r' with two lengths. */
static const nm_output tk_bad_outputs[] = {
    {.name = "m", .type = NM_O_I64, .ndims = 2, .dims = {"r", "c"}, .extent = tk_extent},
    {.name = "w", .type = NM_O_F64, .ndims = 2, .dims = {"c", "r"}, .extent = tk_extent2},
};
static const nm_kernel tk_bad = {.name = "tk_bad", .version = "1", .params = tk_params,
                                 .nparams = 4, .outputs = tk_bad_outputs, .noutputs = 2,
                                 .run = tk_run};
/* An output named like a parameter. */
static const nm_output tk_clash_outputs[] = {
    {.name = "k", .type = NM_O_F64, .ndims = 0},
};
static const nm_kernel tk_clash = {.name = "tk_clash", .version = "1", .params = tk_params,
                                   .nparams = 4, .outputs = tk_clash_outputs, .noutputs = 1,
                                   .run = tk_run};

/* An output named like the task table. */
static const nm_output tk_tasks_outputs[] = {
    {.name = "tasks", .type = NM_O_F64, .ndims = 0},
};
static const nm_kernel tk_tasks = {.name = "tk_tasks", .version = "1", .params = tk_params,
                                   .nparams = 4, .outputs = tk_tasks_outputs, .noutputs = 1,
                                   .run = tk_run};

/* ---- helpers ---- */

static char *path_in_dir(const char *name)
{
    static char buf[8][128];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 128, "%s/%s", dir, name);
    return p;
}

static nm_attr prov_attrs[] = {
    {.key = "kernel", .sval = "probe"},
    {.key = "base_seed", .is_int = true, .ival = 42},
    {.key = "empty", .sval = ""},
};
static nm_prov prov = {prov_attrs, 3, 3};

static hid_t open_ro(const char *path)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    return f;
}

static void dims_of(hid_t f, const char *name, int *rank, hsize_t *dims)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d);
    *rank = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(d);
}

static void read_all(hid_t f, const char *name, hid_t mtype, void *buf)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(d);
}

/* A string attribute (fixed or variable length) of object `obj` ("." = root). */
static char *attr_str(hid_t f, const char *obj, const char *name)
{
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    hid_t t = H5Aget_type(a);
    assert_int_equal(H5Tget_class(t), H5T_STRING);
    char *s;
    if (H5Tis_variable_str(t)) {
        char *v;
        assert_true(H5Aread(a, t, &v) >= 0);
        s = strdup(v);
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(t);
        s = calloc(n + 1, 1);
        assert_true(H5Aread(a, t, s) >= 0);
    }
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

static int64_t attr_int(hid_t f, const char *obj, const char *name)
{
    int64_t v = 0;
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    return v;
}

static void assert_attr_str(hid_t f, const char *obj, const char *name, const char *want)
{
    char *s = attr_str(f, obj, name);
    assert_string_equal(s, want);
    free(s);
}

static bool attached(hid_t f, const char *dset, const char *scale, unsigned idx)
{
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT), s = H5Dopen2(f, scale, H5P_DEFAULT);
    assert_true(d >= 0 && s >= 0);
    htri_t r = H5DSis_attached(d, s, idx);
    H5Dclose(d);
    H5Dclose(s);
    return r > 0;
}

static bool is_scale(hid_t f, const char *name)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(d >= 0);
    htri_t r = H5DSis_scale(d);
    H5Dclose(d);
    return r > 0;
}

/* Files in the test directory whose name contains ".tmp.". */
static int temp_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static bool has_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    return strcmp(buf, text) == 0;
}

/* ---- layout ---- */

static void layout_dims_and_attributes(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("layout.h5");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_OK);
    assert_int_equal(temp_files(), 0);

    hid_t f = open_ro(path);
    int rank;
    hsize_t d[8];
    dims_of(f, "value", &rank, d);
    assert_int_equal(rank, 3);
    assert_true(d[0] == 3 && d[1] == 2 && d[2] == 4);
    dims_of(f, "trace", &rank, d);
    assert_int_equal(rank, 4);
    assert_true(d[0] == 3 && d[1] == 2 && d[2] == 4 && d[3] == 4);
    dims_of(f, "draw", &rank, d);
    assert_int_equal(rank, 3);

    /* Axis scales with their values; the zip partner is a coordinate. */
    double x[3];
    read_all(f, "x", H5T_NATIVE_DOUBLE, x);
    assert_true(x[0] == 0.5 && x[1] == 1.5 && x[2] == 2.5);
    int64_t n[4], seed[4], ti[4];
    read_all(f, "n", H5T_NATIVE_INT64, n);
    read_all(f, "seed", H5T_NATIVE_INT64, seed);
    read_all(f, "trace_i", H5T_NATIVE_INT64, ti);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(n[i], i + 1);
        assert_int_equal(seed[i], 10 * (i + 1));
        assert_int_equal(ti[i], i);
    }
    char *mode[2];
    hid_t vs = H5Tcopy(H5T_C_S1);
    H5Tset_size(vs, H5T_VARIABLE);
    H5Tset_cset(vs, H5T_CSET_UTF8);
    read_all(f, "mode", vs, mode);
    assert_string_equal(mode[0], "a");
    assert_string_equal(mode[1], "b");
    H5free_memory(mode[0]);
    H5free_memory(mode[1]);
    H5Tclose(vs);

    assert_true(is_scale(f, "x") && is_scale(f, "mode") && is_scale(f, "n"));
    assert_true(is_scale(f, "trace_i"));
    assert_false(is_scale(f, "seed"));
    assert_true(attached(f, "value", "x", 0) && attached(f, "value", "mode", 1) &&
                attached(f, "value", "n", 2));
    assert_true(attached(f, "trace", "n", 2) && attached(f, "trace", "trace_i", 3));
    assert_true(attached(f, "draw", "x", 0));
    assert_true(attached(f, "seed", "n", 0));
    assert_false(attached(f, "value", "n", 0));

    assert_attr_str(f, "value", "coordinates", "seed");
    assert_attr_str(f, "trace", "long_name", "x + n*i");
    assert_attr_str(f, "n", "long_name", "an integer input");
    assert_attr_str(f, "seed", "long_name", nm_kernel_param(h->sw.kernel, 7)->doc);
    assert_int_equal(attr_int(f, "draw", "_FillValue"), INT64_MIN);

    /* Root attributes: format, title, provenance. */
    assert_int_equal(attr_int(f, ".", "neuromic_format"), 2);
    char *title = attr_str(f, ".", "title");
    assert_contains(title, "probe");
    assert_contains(title, "24 tasks");
    free(title);
    assert_attr_str(f, ".", "kernel", "probe");
    assert_int_equal(attr_int(f, ".", "base_seed"), 42);
    assert_attr_str(f, ".", "empty", "");

    /* Task table. */
    int64_t task[24];
    read_all(f, "tasks/task", H5T_NATIVE_INT64, task);
    for (int i = 0; i < 24; i++)
        assert_int_equal(task[i], i);
    assert_true(is_scale(f, "tasks/task"));
    assert_true(attached(f, "tasks/status", "tasks/task", 0));
    assert_true(attached(f, "tasks/error", "tasks/task", 0));
    H5Fclose(f);
    sweep_free(h);
}

static void fill_values_before_any_checkpoint(void **state)
{
    const char *path = path_in_dir("layout.h5"); /* made by the test above */
    hid_t f = open_ro(path);
    double value[24], trace[96], seconds[24];
    int64_t draw[24];
    int8_t status[24];
    int32_t rank[24];
    read_all(f, "value", H5T_NATIVE_DOUBLE, value);
    read_all(f, "trace", H5T_NATIVE_DOUBLE, trace);
    read_all(f, "draw", H5T_NATIVE_INT64, draw);
    read_all(f, "tasks/status", H5T_NATIVE_INT8, status);
    read_all(f, "tasks/rank", H5T_NATIVE_INT32, rank);
    read_all(f, "tasks/seconds", H5T_NATIVE_DOUBLE, seconds);
    for (int i = 0; i < 24; i++) {
        assert_true(isnan(value[i]) && isnan(seconds[i]));
        assert_int_equal(draw[i], INT64_MIN);
        assert_int_equal(status[i], NM_TASK_PENDING);
        assert_int_equal(rank[i], -1);
    }
    for (int i = 0; i < 96; i++)
        assert_true(isnan(trace[i]));
    static char host[24][NM_HOST_LEN];
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, NM_HOST_LEN);
    H5Tset_cset(t, H5T_CSET_UTF8);
    read_all(f, "tasks/host", t, host);
    H5Tclose(t);
    for (int i = 0; i < 24; i++)
        assert_string_equal(host[i], "");
    H5Fclose(f);
}

static void bool_axis_shared_dims_and_2d_int_output(void **state)
{
    hand_sweep *h = sweep_new(&tk);
    static const char *const flag[] = {"flag"}, *const k[] = {"k"};
    nm_value fv[] = {B(false), B(true)};
    nm_value kv[] = {I(5), I(6), I(7)};
    sweep_axis(h, 1, flag, 2, fv);
    sweep_axis(h, 1, k, 3, kv);
    const char *path = path_in_dir("tk.h5");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, NULL, false, &err), NM_OK);
    hid_t f = open_ro(path);
    int rank;
    hsize_t d[8];
    dims_of(f, "m", &rank, d);
    assert_int_equal(rank, 4);
    assert_true(d[0] == 2 && d[1] == 3 && d[2] == 2 && d[3] == 3);
    dims_of(f, "v", &rank, d);
    assert_int_equal(rank, 3);
    assert_true(d[2] == 2);
    assert_true(attached(f, "m", "r", 2) && attached(f, "m", "c", 3) && attached(f, "v", "r", 2));
    int8_t flags[2];
    read_all(f, "flag", H5T_NATIVE_INT8, flags);
    assert_true(flags[0] == 0 && flags[1] == 1);
    assert_attr_str(f, "flag", "dtype", "bool");
    assert_attr_str(f, "k", "units", "m");
    assert_attr_str(f, "a", "units", "V");
    assert_false(H5Aexists_by_name(f, "a", "coordinates", H5P_DEFAULT) > 0);
    int64_t m[2 * 3 * 6];
    read_all(f, "m", H5T_NATIVE_INT64, m);
    for (int i = 0; i < 36; i++)
        assert_int_equal(m[i], INT64_MIN);
    H5Fclose(f);
    sweep_free(h);
}

static void name_clashes_are_input_errors(void **state)
{
    nm_err err = {0};
    /* dimension 'r' of two lengths */
    hand_sweep *h = sweep_new(&tk_bad);
    assert_int_equal(nm_store_create(path_in_dir("bad.h5"), &h->sw, NULL, false, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "dimension 'r' has length 2 in output 'm' but 5 in output 'w'");
    sweep_free(h);

    /* output 'k' and grid axis 'k' */
    h = sweep_new(&tk_clash);
    static const char *const k[] = {"k"};
    nm_value kv[] = {I(1), I(2)};
    sweep_axis(h, 1, k, 2, kv);
    assert_int_equal(nm_store_create(path_in_dir("bad.h5"), &h->sw, NULL, false, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "grid axis 'k' and output 'k' of kernel 'tk_clash'");
    sweep_free(h);

    /* an output named like the task table */
    h = sweep_new(&tk_tasks);
    assert_int_equal(nm_store_create(path_in_dir("bad.h5"), &h->sw, NULL, false, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "the task table and output 'tasks' of kernel 'tk_tasks' would "
                             "both be the dataset /tasks");
    sweep_free(h);

    /* an axis named like an output dimension */
    h = sweep_new(&tk);
    static const char *const c[] = {"c"};
    sweep_axis(h, 1, c, 2, kv);
    assert_int_equal(nm_store_create(path_in_dir("bad.h5"), &h->sw, NULL, false, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "grid axis 'c' and dimension 'c' of output 'm' would both be the "
                             "dataset /c");
    sweep_free(h);
    assert_int_equal(access(path_in_dir("bad.h5"), F_OK), -1);
    assert_int_equal(temp_files(), 0);
}

/* ---- create: existing files ---- */

static void create_refuses_existing_file(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("exists.h5");
    write_text(path, "precious");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_ERR_INPUT);
    char want[256];
    snprintf(want, sizeof want, "%s exists; pass --force to overwrite it", path);
    assert_string_equal(err.msg, want);
    assert_true(has_text(path, "precious"));
    assert_int_equal(temp_files(), 0);
    sweep_free(h);
}

static void create_force_replaces_only_when_complete(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("force.h5");
    write_text(path, "old");
    nm_err err = {0};
    /* A failure while building (an attribute HDF5 cannot name) leaves the
     * old file and no temporary file. */
    nm_attr bad[] = {{.key = "", .sval = "x"}};
    nm_prov badprov = {bad, 1, 1};
    assert_int_equal(nm_store_create(path, &h->sw, &badprov, true, &err), NM_ERR_RUNTIME);
    assert_contains(err.msg, "cannot write attribute ''");
    assert_true(has_text(path, "old"));
    assert_int_equal(temp_files(), 0);
    /* Success replaces it. */
    assert_int_equal(nm_store_create(path, &h->sw, &prov, true, &err), NM_OK);
    assert_true(H5Fis_hdf5(path) > 0);
    assert_int_equal(temp_files(), 0);
    sweep_free(h);
}

static void create_checks_the_directory(void **state)
{
    hand_sweep *h = probe_sweep();
    nm_err err = {0};
    assert_int_equal(nm_store_create(path_in_dir("nodir/r.h5"), &h->sw, &prov, false, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "nodir: No such file or directory");
    assert_int_equal(nm_store_create(dir, &h->sw, &prov, true, &err), NM_ERR_INPUT);
    assert_contains(err.msg, "is a directory");
    if (geteuid() != 0) {
        const char *ro = path_in_dir("ro");
        mkdir(ro, 0555);
        char p[160];
        snprintf(p, sizeof p, "%s/r.h5", ro);
        assert_int_equal(nm_store_create(p, &h->sw, &prov, false, &err), NM_ERR_INPUT);
        assert_contains(err.msg, "is not writable");
        rmdir(ro);
    }
    sweep_free(h);
}

/* ---- large attributes ---- */

static void attributes_over_64k(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("big.h5");
    size_t big = 200 * 1024;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 26);
    text[big] = 0;
    nm_attr a[] = {{.key = "spec_text", .sval = text}, {.key = "end_time", .sval = ""}};
    nm_prov p = {a, 2, 2};
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &p, false, &err), NM_OK);
    hid_t f = open_ro(path);
    char *got = attr_str(f, ".", "spec_text");
    assert_int_equal(strlen(got), big);
    assert_memory_equal(got, text, big);
    free(got);
    assert_int_equal(attr_int(f, ".", "neuromic_format"), 2);
    H5Fclose(f);
    free(text);
    sweep_free(h);
}

/* ---- row buffer ---- */

static void rowbuf_rows_and_pointers(void **state)
{
    hand_sweep *h = probe_sweep();
    nm_rowbuf *b = nm_rowbuf_alloc(&h->sw);
    assert_non_null(b);
    assert_int_equal(nm_rowbuf_count(b), 0);
    nm_err err;
    /* With no array of its own, res gets the buffer's. */
    nm_result res = {0};
    for (int t = 0; t < 200; t++) {
        assert_int_equal(nm_rowbuf_add(b, (uint64_t)t, &res, &err), NM_OK);
        assert_int_equal(res.nout, 3);
        double *v = res.out[0], *tr = res.out[1];
        int64_t *dr = res.out[2];
        assert_true(isnan(v[0]));
        for (int i = 0; i < 4; i++)
            assert_true(isnan(tr[i]));
        assert_int_equal(dr[0], 0);
        v[0] = t;
        nm_rowbuf_finish(b, NM_TASK_DONE, 0.1, NULL);
    }
    assert_int_equal(nm_rowbuf_count(b), 200);
    /* An unfinished row does not count and is dropped by clear. */
    assert_int_equal(nm_rowbuf_add(b, 500, &res, &err), NM_OK);
    assert_int_equal(nm_rowbuf_count(b), 200);
    nm_rowbuf_clear(b);
    assert_int_equal(nm_rowbuf_count(b), 0);
    nm_rowbuf_finish(b, NM_TASK_DONE, 0, NULL); /* nothing pending: ignored */
    assert_int_equal(nm_rowbuf_count(b), 0);
    /* The caller's own array is filled in. */
    void *mine[3] = {0};
    nm_result r2 = {.out = mine, .nout = 3};
    assert_int_equal(nm_rowbuf_add(b, 1, &r2, &err), NM_OK);
    assert_ptr_equal(r2.out, mine);
    assert_non_null(mine[0]);
    assert_non_null(mine[1]);
    assert_non_null(mine[2]);
    nm_rowbuf_finish(b, NM_TASK_FAILED, 1, "an error");
    assert_int_equal(nm_rowbuf_count(b), 1);
    /* A caller's array that is too small is a bug, reported. */
    nm_result r3 = {.out = mine, .nout = 2};
    assert_int_equal(nm_rowbuf_add(b, 2, &r3, &err), NM_ERR_RUNTIME);
    assert_contains(err.msg, "result array of 2 outputs where the kernel has 3");
    assert_int_equal(nm_rowbuf_count(b), 1);
    nm_rowbuf_free(b);
    nm_rowbuf_free(NULL);
    sweep_free(h);
}

/* ---- checkpoints ---- */

/* Row for task t of the probe sweep: value 1000+t, trace 10t+i, draw 100t-7. */
static void add_row(nm_rowbuf *b, uint64_t t, int8_t status, const char *error)
{
    nm_result res = {0};
    nm_err err;
    assert_int_equal(nm_rowbuf_add(b, t, &res, &err), NM_OK);
    ((double *)res.out[0])[0] = 1000.0 + (double)t;
    for (int i = 0; i < 4; i++)
        ((double *)res.out[1])[i] = 10.0 * (double)t + i;
    ((int64_t *)res.out[2])[0] = 100 * (int64_t)t - 7;
    nm_rowbuf_finish(b, status, 0.5 * (double)t, error);
}

typedef struct {
    int8_t status[24];
    int32_t rank[24];
    double seconds[24], value[24], trace[96];
    int64_t draw[24];
    char host[24][NM_HOST_LEN];
    char error[24][NM_ERROR_LEN];
} table;

static void read_table(const char *path, table *tb)
{
    hid_t f = open_ro(path);
    read_all(f, "tasks/status", H5T_NATIVE_INT8, tb->status);
    read_all(f, "tasks/rank", H5T_NATIVE_INT32, tb->rank);
    read_all(f, "tasks/seconds", H5T_NATIVE_DOUBLE, tb->seconds);
    read_all(f, "value", H5T_NATIVE_DOUBLE, tb->value);
    read_all(f, "trace", H5T_NATIVE_DOUBLE, tb->trace);
    read_all(f, "draw", H5T_NATIVE_INT64, tb->draw);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, NM_HOST_LEN);
    H5Tset_cset(t, H5T_CSET_UTF8);
    read_all(f, "tasks/host", t, tb->host);
    H5Tset_size(t, NM_ERROR_LEN);
    read_all(f, "tasks/error", t, tb->error);
    H5Tclose(t);
    H5Fclose(f);
}

/* Checks task t against the row add_row wrote (or the fill values). */
static void check_task(const table *tb, int t, int8_t status, int rank, const char *host)
{
    assert_int_equal(tb->status[t], status);
    if (status == NM_TASK_DONE) {
        assert_true(tb->value[t] == 1000.0 + t);
        for (int i = 0; i < 4; i++)
            assert_true(tb->trace[4 * t + i] == 10.0 * t + i);
        assert_int_equal(tb->draw[t], 100 * t - 7);
    } else {
        assert_true(isnan(tb->value[t]));
        for (int i = 0; i < 4; i++)
            assert_true(isnan(tb->trace[4 * t + i]));
        assert_int_equal(tb->draw[t], INT64_MIN);
    }
    if (status == NM_TASK_PENDING) {
        assert_int_equal(tb->rank[t], -1);
        assert_true(isnan(tb->seconds[t]));
        assert_string_equal(tb->host[t], "");
    } else {
        assert_int_equal(tb->rank[t], rank);
        assert_true(tb->seconds[t] == 0.5 * t);
        assert_string_equal(tb->host[t], host);
    }
    if (status != NM_TASK_FAILED)
        assert_string_equal(tb->error[t], "");
}

static void checkpoint_writes_rows_in_place(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("ckpt.h5");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_OK);
    nm_store *s;
    assert_int_equal(nm_store_open(path, &h->sw, MPI_COMM_WORLD, &s, &err), NM_OK);
    nm_rowbuf *b = nm_rowbuf_alloc(&h->sw);

    /* Out of order, a failure in the middle of a run, runs across axes. */
    static const uint64_t first[] = {5, 3, 4, 10, 11, 0, 23, 7, 8};
    for (size_t i = 0; i < sizeof first / sizeof *first; i++)
        add_row(b, first[i], first[i] == 4 ? NM_TASK_FAILED : NM_TASK_DONE,
                first[i] == 4 ? "boom" : NULL);
    int before = nsync;
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    assert_true(nsync - before >= 2); /* results flushed, then the table */
    assert_int_equal(nm_rowbuf_count(b), 0);

    /* A long UTF-8 message is cut at a character boundary. */
    char longmsg[400];
    for (int i = 0; i < 199; i++)
        memcpy(longmsg + 2 * i, "\xc3\xa9", 2); /* é */
    longmsg[398] = 0;
    add_row(b, 22, NM_TASK_FAILED, longmsg);
    add_row(b, 1, NM_TASK_DONE, NULL);
    add_row(b, 2, NM_TASK_DONE, NULL);
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    /* Empty checkpoints: an empty buffer and none at all. */
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    assert_int_equal(nm_store_checkpoint(s, NULL, &err), NM_OK);
    assert_int_equal(nm_store_close(s, &err), NM_OK);
    nm_rowbuf_free(b);

    table *tb = calloc(1, sizeof *tb);
    read_table(path, tb);
    char host[NM_HOST_LEN] = "";
    gethostname(host, sizeof host - 1);
    for (int t = 0; t < 24; t++) {
        int8_t st = NM_TASK_PENDING;
        if (t == 4 || t == 22)
            st = NM_TASK_FAILED;
        else if (t <= 3 || t == 5 || t == 7 || t == 8 || t == 10 || t == 11 || t == 23)
            st = NM_TASK_DONE;
        check_task(tb, t, st, 0, host);
    }
    assert_string_equal(tb->error[4], "boom");
    assert_int_equal(strlen(tb->error[22]), 254);
    assert_memory_equal(tb->error[22], longmsg, 254);
    free(tb);
    sweep_free(h);
}

static void no_axes_gives_rank0_results(void **state)
{
    hand_sweep *h = sweep_new(nm_kernel_find("probe"));
    const char *path = path_in_dir("single.h5");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_OK);
    hid_t f = open_ro(path);
    int rank;
    hsize_t d[4];
    dims_of(f, "value", &rank, d);
    assert_int_equal(rank, 0);
    dims_of(f, "trace", &rank, d);
    assert_int_equal(rank, 1);
    assert_int_equal(d[0], 4);
    H5Fclose(f);

    nm_store *s;
    assert_int_equal(nm_store_open(path, &h->sw, MPI_COMM_WORLD, &s, &err), NM_OK);
    nm_rowbuf *b = nm_rowbuf_alloc(&h->sw);
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    add_row(b, 0, NM_TASK_DONE, NULL);
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    assert_int_equal(nm_store_close(s, &err), NM_OK);
    nm_rowbuf_free(b);

    f = open_ro(path);
    double v, tr[4];
    int64_t dr;
    int8_t st;
    read_all(f, "value", H5T_NATIVE_DOUBLE, &v);
    read_all(f, "trace", H5T_NATIVE_DOUBLE, tr);
    read_all(f, "draw", H5T_NATIVE_INT64, &dr);
    read_all(f, "tasks/status", H5T_NATIVE_INT8, &st);
    assert_true(v == 1000.0);
    assert_true(tr[3] == 3.0);
    assert_int_equal(dr, -7);
    assert_int_equal(st, NM_TASK_DONE);
    H5Fclose(f);
    sweep_free(h);
}

static void open_checks_the_file(void **state)
{
    hand_sweep *h = probe_sweep();
    nm_store *s = (nm_store *)1;
    nm_err err = {0};
    assert_int_equal(nm_store_open(path_in_dir("missing.h5"), &h->sw, MPI_COMM_WORLD, &s, &err),
                     NM_ERR_RUNTIME);
    assert_null(s);
    assert_contains(err.msg, "cannot open");
    /* A file of another sweep (no axes: 1 task). */
    assert_int_equal(nm_store_open(path_in_dir("single.h5"), &h->sw, MPI_COMM_WORLD, &s, &err),
                     NM_ERR_INPUT);
    assert_contains(err.msg, "dataset 'value' has 1 elements where this sweep needs 24");
    sweep_free(h);
}

static void checkpoint_rejects_bad_rows(void **state)
{
    hand_sweep *h = probe_sweep();
    const char *path = path_in_dir("badrows.h5");
    nm_err err = {0};
    assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_OK);
    nm_store *s;
    assert_int_equal(nm_store_open(path, &h->sw, MPI_COMM_WORLD, &s, &err), NM_OK);
    nm_rowbuf *b = nm_rowbuf_alloc(&h->sw);
    add_row(b, 3, NM_TASK_DONE, NULL);
    add_row(b, 3, NM_TASK_DONE, NULL);
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_ERR_RUNTIME);
    assert_contains(err.msg, "task 3 buffered twice");
    nm_rowbuf_clear(b);
    add_row(b, 24, NM_TASK_DONE, NULL);
    assert_int_equal(nm_store_checkpoint(s, b, &err), NM_ERR_RUNTIME);
    assert_contains(err.msg, "task 24 is not in the grid");
    nm_rowbuf_clear(b);
    assert_int_equal(nm_store_close(s, &err), NM_OK);
    nm_rowbuf_free(b);
    sweep_free(h);
}

/* ---- several ranks (mpirun -n N) ---- */

/* Ranks take batches of 3 tasks round robin; every 5th task fails; rank
 * size-1 (if > 0) buffers nothing in the first checkpoint. */
static void collective_checkpoints(void **state)
{
    hand_sweep *h = probe_sweep();
    char path[128];
    nm_err err = {0};
    if (mpi_rank == 0) {
        snprintf(path, sizeof path, "%s", path_in_dir("coll.h5"));
        assert_int_equal(nm_store_create(path, &h->sw, &prov, false, &err), NM_OK);
    }
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    nm_store *s;
    assert_int_equal(nm_store_open(path, &h->sw, MPI_COMM_WORLD, &s, &err), NM_OK);
    nm_rowbuf *b = nm_rowbuf_alloc(&h->sw);
    for (int round = 0; round < 2; round++) {
        for (uint64_t t = 0; t < 24; t++) {
            int owner = (int)(t / 3) % mpi_size;
            if (owner != mpi_rank || (t < 12) != (round == 0))
                continue;
            if (round == 0 && mpi_size > 1 && mpi_rank == mpi_size - 1)
                continue;
            add_row(b, t, t % 5 == 4 ? NM_TASK_FAILED : NM_TASK_DONE,
                    t % 5 == 4 ? "five" : NULL);
        }
        assert_int_equal(nm_store_checkpoint(s, b, &err), NM_OK);
    }
    assert_int_equal(nm_store_close(s, &err), NM_OK);
    nm_rowbuf_free(b);

    char hosts[mpi_size > 0 ? mpi_size : 1][NM_HOST_LEN];
    char host[NM_HOST_LEN] = "";
    gethostname(host, sizeof host - 1);
    MPI_Gather(host, NM_HOST_LEN, MPI_CHAR, hosts, NM_HOST_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (mpi_rank == 0) {
        table *tb = calloc(1, sizeof *tb);
        read_table(path, tb);
        for (int t = 0; t < 24; t++) {
            int owner = (t / 3) % mpi_size;
            bool skipped = t < 12 && mpi_size > 1 && owner == mpi_size - 1;
            int8_t st = skipped ? NM_TASK_PENDING : t % 5 == 4 ? NM_TASK_FAILED : NM_TASK_DONE;
            check_task(tb, t, st, owner, hosts[owner]);
            if (st == NM_TASK_FAILED)
                assert_string_equal(tb->error[t], "five");
        }
        free(tb);
    }
    sweep_free(h);
}

/* ---- main ---- */

/* Every test must leave no HDF5 file, group, dataset, attribute or named
 * type open (the store's or its own): HDF5 would close them at exit, so
 * LeakSanitizer would not notice. */
static int no_open_objects(void **state)
{
    ssize_t n = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0) {
        print_error("%zd HDF5 objects left open\n", n);
        return -1;
    }
    return 0;
}

#define TEST(f) cmocka_unit_test_teardown(f, no_open_objects)

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
    if (mpi_rank == 0) {
        snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    int rc;
    if (getenv("CMOCKA_TEST_FILTER")) /* e.g. "checkpoint*" */
        cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
    if (mpi_size == 1) {
        const struct CMUnitTest tests[] = {
            TEST(layout_dims_and_attributes),
            TEST(fill_values_before_any_checkpoint),
            TEST(bool_axis_shared_dims_and_2d_int_output),
            TEST(name_clashes_are_input_errors),
            TEST(create_refuses_existing_file),
            TEST(create_force_replaces_only_when_complete),
            TEST(create_checks_the_directory),
            TEST(attributes_over_64k),
            TEST(rowbuf_rows_and_pointers),
            TEST(checkpoint_writes_rows_in_place),
            TEST(no_axes_gives_rank0_results),
            TEST(open_checks_the_file),
            TEST(checkpoint_rejects_bad_rows),
            TEST(collective_checkpoints),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    } else {
        const struct CMUnitTest tests[] = {
            TEST(collective_checkpoints),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (mpi_rank == 0)
        remove_dir();
    MPI_Finalize();
    return rc;
}

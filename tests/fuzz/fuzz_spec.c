/* fuzz_spec.c: libFuzzer harness for the sweep-spec reader (src/spec/spec.c).
 *
 * Feeds arbitrary bytes to nm_spec_parse as the text of "fuzz.yaml". Lines
 * that start with "#set " are YAML comments, so they leave the document
 * alone, but the harness also passes the rest of each such line as a --set
 * override (at most MAX_SETS of them): one input exercises both the file
 * reader and the override path. The sanitizers (ASan, UBSan) catch memory and
 * arithmetic errors, LeakSanitizer catches anything not freed; on top of that
 * the harness checks the contract of nm_spec_parse and aborts when it is
 * broken:
 *   - failure: *out is NULL, err.code equals the returned status, the status
 *     is bad input or out of memory, and the message is non-empty and names
 *     where the problem is (the file or the --set argument);
 *   - success: the sweep is consistent (task count is the product of the axis
 *     lengths, every axis has values, task id <-> indices round-trips, the
 *     first and last points pass the kernel's parameter checks), and
 *     nm_sweep_free releases all of it.
 * With NM_FUZZ_REPORT set in the environment, each input's outcome is printed
 * ("fuzz_spec: ok, N tasks" or "fuzz_spec: error: MESSAGE"), so that a replay
 * can show the harness really reaches both paths.
 *
 * Build and run: see "Tests" in README.md (make fuzz; build/fuzz/fuzz_spec). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/grid.h"
#include "neuromic/internal/spec.h"

#define PATH "fuzz.yaml"
#define MAX_SETS 4
#define SET_PREFIX "#set "

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken contract and aborts, so libFuzzer saves the input. */
static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_spec: contract broken: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* Copies the "#set " lines' remainders into sets[] (malloc'd, NUL-terminated). */
static size_t collect_sets(const uint8_t *data, size_t size, char **sets)
{
    size_t n = 0, plen = strlen(SET_PREFIX);
    for (size_t i = 0; i < size && n < MAX_SETS;) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) : size;
        if (end - i >= plen && memcmp(data + i, SET_PREFIX, plen) == 0) {
            size_t len = end - i - plen;
            char *s = malloc(len + 1);
            if (!s)
                break;
            memcpy(s, data + i + plen, len);
            s[len] = '\0';
            sets[n++] = s;
        }
        i = end + 1;
    }
    return n;
}

static void check_failure(nm_status st, const nm_sweep *sw, const nm_err *err)
{
    if (sw)
        broken("failed parse left *out set", NULL);
    if (st != NM_ERR_INPUT && st != NM_ERR_RUNTIME)
        broken("unexpected status", NULL);
    if (err->code != st)
        broken("err.code differs from the returned status", err->msg);
    if (memchr(err->msg, '\0', sizeof err->msg) == NULL)
        broken("message not terminated", NULL);
    if (err->msg[0] == '\0')
        broken("empty error message", NULL);
    if (st == NM_ERR_INPUT && strncmp(err->msg, PATH ":", strlen(PATH) + 1) != 0 &&
        strncmp(err->msg, "--set ", 6) != 0)
        broken("input error does not name the file or the --set argument", err->msg);
}

/* The task count is the product of the axis lengths; every axis has values. */
static void check_axes(const nm_sweep *sw)
{
    uint64_t prod = 1;
    for (size_t a = 0; a < sw->naxes; a++) {
        const nm_axis *ax = &sw->axes[a];
        if (ax->len == 0 || ax->nparams == 0 || !ax->name || !ax->values || !ax->param)
            broken("empty or incomplete axis", ax->name);
        if (prod > UINT64_MAX / ax->len)
            broken("task count overflows", ax->name);
        prod *= ax->len;
    }
    if (prod != sw->ntasks)
        broken("ntasks is not the product of the axis lengths", NULL);
}

/* Task id -> indices -> task id, and the point's values pass the kernel's checks. */
static void check_task(const nm_sweep *sw, uint64_t task, size_t *idx, nm_point *p)
{
    nm_grid_index(sw, task, idx);
    for (size_t a = 0; a < sw->naxes; a++)
        if (idx[a] >= sw->axes[a].len)
            broken("axis index out of range", sw->axes[a].name);
    if (nm_grid_task(sw, idx) != task)
        broken("task id does not round-trip through its indices", NULL);
    nm_grid_point(sw, task, p);
    size_t np = nm_kernel_nparams_all(sw->kernel);
    for (size_t i = 0; i < np; i++) {
        char why[256];
        const nm_param *par = nm_kernel_param(sw->kernel, i);
        if (!nm_param_check(par, &p->vals[i], why, sizeof why))
            broken("a point value fails its parameter check", why);
    }
}

static void check_success(const nm_sweep *sw, const uint8_t *data, size_t size)
{
    if (!sw || !sw->kernel)
        broken("successful parse without a sweep or kernel", NULL);
    if (strcmp(sw->path, PATH) != 0 || memcmp(sw->text, data, size) != 0 || sw->text[size])
        broken("path or text not kept verbatim", NULL);
    check_axes(sw);
    size_t *idx = calloc(sw->naxes + 1, sizeof *idx);
    nm_point *p = nm_point_alloc(sw);
    if (!idx || !p) {
        free(idx);
        nm_point_free(p);
        return; /* out of memory in the harness: nothing to check */
    }
    check_task(sw, 0, idx, p);
    check_task(sw, sw->ntasks - 1, idx, p);
    check_task(sw, sw->ntasks / 2, idx, p);
    free(idx);
    nm_point_free(p);
}

static bool report(void)
{
    static int on = -1;
    if (on < 0)
        on = getenv("NM_FUZZ_REPORT") != NULL;
    return on;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sets[MAX_SETS];
    size_t nsets = collect_sets(data, size, sets);
    nm_sweep *sw = (nm_sweep *)&sets; /* must be reset to NULL on failure */
    nm_err err;
    memset(&err, 0, sizeof err);
    nm_status st = nm_spec_parse(PATH, (const char *)data, size, sets, nsets, &sw, &err);
    if (st == NM_OK)
        check_success(sw, data, size);
    else
        check_failure(st, sw, &err);
    if (report() && st == NM_OK)
        fprintf(stderr, "fuzz_spec: ok, %" PRIu64 " tasks\n", sw->ntasks);
    else if (report())
        fprintf(stderr, "fuzz_spec: error: %s\n", err.msg);
    nm_sweep_free(st == NM_OK ? sw : NULL);
    for (size_t i = 0; i < nsets; i++)
        free(sets[i]);
    return 0;
}

/* spec.c: reading a YAML sweep file into a validated nm_sweep.
 *
 * THE SWEEP FILE FORMAT
 *
 * One YAML document whose top level is a mapping with these keys (any order;
 * only `kernel` is required; any other key is an error, with the nearest
 * known key suggested):
 *
 *   kernel: probe            # name of a compiled-in kernel
 *   base_seed: 20261122      # integer, 0 <= base_seed < 2^63; default 0
 *   replicates: 3            # integer >= 1: the axis `seed` = 0, 1, ..., 2; or the
 *                            # seeds as an axis (list or range): [3, 4], {from: 3, to: 9, step: 1}
 *   fixed:                   # parameter -> one value
 *     work: 0.01
 *   grid:                    # parameter -> axis (a list or a range)
 *     x: [0.5, 1.0, 2.0]
 *     n: {from: 1, to: 10, step: 3}
 *     y: {from: 0, to: 1, num: 5}
 *     lr: {from: 1e-3, to: 1e-1, num: 3, scale: log}
 *   zip:                     # list of groups of parameters varied together
 *     - {tau: [1, 2, 4], g: [0.1, 0.2, 0.4]}
 *   output:
 *     checkpoint_every: 60   # seconds, a number > 0; default 60
 *     task_timeout: 0        # seconds a task may run before it is failed; 0: no limit
 *
 * A key whose value is empty (`fixed:` with nothing below it, or `~`/null)
 * is the same as an empty mapping (fixed, grid, output) or list (zip).
 *
 * Parameters are those of the kernel plus the implicit integer `seed`.
 * The point's fixed part is the kernel's defaults, then the `fixed:` values.
 * A parameter may be declared only once among fixed:, grid:, zip: and (for
 * `seed`) replicates:; a second declaration is an error naming both places.
 * Duplicate keys in any mapping are errors too.
 *
 * Scalars (plain means unquoted; quoted scalars are never numbers):
 *   int     plain [+-]?[0-9]+ (decimal only; no 1e3, no 0x10, no 1_000)
 *   float   plain [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?; no nan/inf;
 *           an int literal is a valid float
 *   bool    plain true or false
 *   choice  any scalar (quoted or not), which must be one of the choices
 * Every value is then checked against the parameter's range or choices.
 * YAML tags (!!int, !foo) are rejected; anchors and aliases work (an alias is
 * a copy of the anchored node).
 *
 * Axes. An axis is a list or a range:
 *   [v1, v2, ...]               non-empty, no value twice
 *   {from: A, to: B, step: S}   A + i*S for i = 0, 1, ... while not past B.
 *                               Computed, not accumulated. For floats "past"
 *                               has a tolerance of 1e-9*|S|, and a last value
 *                               within that tolerance of B is exactly B.
 *                               S != 0 and points from A towards B (A == B
 *                               gives [A] for any S != 0).
 *   {from: A, to: B, num: N}    N >= 1 evenly spaced values, first A, last
 *                               exactly B (N == 1 gives [A]).
 *   ... num: N, scale: log      N values evenly spaced in log10 between A > 0
 *                               and B > 0, endpoints exactly A and B.
 *                               scale is linear (default) or log, only with num.
 * Ranges need an int or float parameter. For an int parameter A, B and S must
 * be integers; a linear num range must give integers ((B-A) divisible by
 * N-1); a log range's values are rounded to integers, and must be within
 * 1e-9 (relative) of an integer. A range must not give a value twice.
 * An axis has at most 10^7 values.
 *
 * sample: a sampling design (sample.c), one axis named `sample`:
 *   sample:
 *     method: sobol          # random, lhs or sobol
 *     n: 256                 # points, 1 to 10^7
 *     skip: 0                # random, sobol: first point's index in the sequence
 *     scramble: true         # sobol: random digital shift (default true)
 *     params:                # at least one; sobol at most 40
 *       lr: {from: 1e-4, to: 1e-1, scale: log}   # from < to; log needs from > 0
 *       N: {from: 10, to: 100}                   # int: each integer equally likely
 *       model: [mlp, nmlp]                       # list: each value equally likely
 * The points are drawn in the unit cube from base_seed (src/grid/design.c)
 * and mapped onto each range or list. The axis's values are the points'
 * indices skip, skip+1, ...; the sampled parameters are its coordinates
 * (rows may repeat). A sampled parameter is declared there and nowhere
 * else. --set sample.n=512, sample.skip=256 etc. reach into the block.
 *
 * zip: each group is a mapping parameter -> axis, every axis of the group of
 * the same length. The group is one grid dimension, named after its first
 * parameter; its rows (tuples of values) must be distinct.
 *
 * Axis (dimension) order, which fixes the task numbering: order of
 * appearance of the node declaring the axis (the grid entry's key, the zip
 * group, the replicates key, the sample key). The total task count
 * (product of the axis lengths, 1 with no axes) must not exceed 2^62.
 *
 * --set overrides "KEY=VALUE", applied in order to the parsed document
 * before it is interpreted. VALUE is YAML (grid.n=[1,2,3],
 * grid.y={from: 0, to: 1, num: 3}); an empty VALUE is null. KEY is
 *   - a top-level key: kernel, base_seed, replicates, fixed, grid, zip, output
 *     (replaces the whole value);
 *   - a dotted path of mapping keys starting with a top-level key:
 *     fixed.NAME, grid.NAME, output.checkpoint_every, grid.NAME.step, ...
 *     (missing mappings on the way are created);
 *   - a bare parameter name NAME: sets fixed.NAME and removes NAME from grid:,
 *     from every zip group (dropping groups left empty) and, for `seed`,
 *     removes replicates:.
 * A replaced value keeps the place of its key (so a replaced axis keeps its
 * dimension); a new key is appended (a new axis becomes the last dimension).
 * Messages about a --set value name the file "--set KEY=VALUE", line 1 and
 * the column within KEY=VALUE.
 *
 * Every error is "FILE:LINE:COL: PATH: what was wrong, what was expected",
 * with PATH the place in the document (grid.n.step, fixed.work, zip[0].tau[2]).
 *
 * The reader is split along its stages; spec_internal.h lists the files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neuromic/internal/sha256.h"
#include "neuromic/internal/input.h"
#include "neuromic/internal/spec.h"
#include "spec_internal.h"

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

void nm_sweep_free(nm_sweep *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; i < sw->naxes; i++) {
        nm_axis *a = &sw->axes[i];
        free(a->name);
        if (a->values)
            for (size_t j = 0; j < a->nparams; j++)
                free(a->values[j]);
        free(a->values);
        free(a->param);
    }
    free(sw->axes);
    nm_design_free(sw->design);
    free(sw->fixed);
    free(sw->layout);
    free(sw->path);
    free(sw->text);
    for (size_t i = 0; i < sw->noverrides; i++)
        free(sw->overrides[i]);
    free(sw->overrides);
    /* sw->strings is unused: choice values point into the kernel's
     * choices array. */
    free(sw);
}

nm_status nm_spec_parse(const char *path, const char *text, size_t len, char *const *overrides,
                        size_t noverrides, nm_sweep **out, nm_err *err)
{
    *out = NULL;
    nm_sweep *sw = calloc(1, sizeof *sw);
    char **names = calloc(noverrides ? noverrides : 1, sizeof *names);
    ynode *root = NULL;
    ycount cnt = {0, 0};
    nm_status st = nm_input_check_text(path, text, len, err); /* input.c: UTF-8 only */
    if (st != NM_OK)
        goto done;
    if (!sw || !names || !(sw->path = strdup(path)) || !(sw->text = malloc(len + 1)) ||
        !(sw->overrides = calloc(noverrides ? noverrides : 1, sizeof *sw->overrides))) {
        st = spec_oom(err);
        goto done;
    }
    memcpy(sw->text, text, len);
    sw->text[len] = '\0';
    nm_sha256_hex(text, len, sw->sha256);
    sw->checkpoint_every = 60;
    for (size_t i = 0; i < noverrides; i++) {
        /* Messages name the override as their "file"; a long one is cut so
         * that the line and column after it still fit in the message. */
        size_t n = strlen(overrides[i]), shown = n > SET_SHOWN ? SET_SHOWN : n;
        if (!(sw->overrides[i] = strdup(overrides[i])) || !(names[i] = malloc(shown + 10))) {
            free(sw->overrides[i]);
            st = spec_oom(err);
            goto done;
        }
        sw->noverrides++;
        memcpy(names[i], "--set ", 6);
        memcpy(names[i] + 6, overrides[i], shown);
        strcpy(names[i] + 6 + shown, n > shown ? "..." : "");
    }

    ysrc src = {path, text, len, 0};
    if ((st = yload(&src, &cnt, &root, err)))
        goto done;
    if (root && !yis_null(root) && root->kind != YN_MAP) {
        char got[80];
        ydescribe(root, got, sizeof got);
        st = ybad(err, root,
                 "expected a mapping at the top level (kernel: ..., grid: ...), got %s", got);
        goto done;
    }
    if (root && yis_null(root)) {
        yfree(root);
        root = NULL;
    }
    for (size_t i = 0; i < noverrides && !st; i++)
        st = spec_apply_set(overrides[i], names[i], &root, &cnt, err);
    if (!st)
        st = spec_build(sw, path, root, err);
done:
    yfree(root);
    for (size_t i = 0; names && i < noverrides; i++)
        free(names[i]);
    free(names);
    if (st) {
        nm_sweep_free(sw);
        return st;
    }
    *out = sw;
    return NM_OK;
}

nm_status nm_spec_read(const char *path, char **text, size_t *len, nm_err *err)
{
    /* Regular files of at most NM_SPEC_MAX_BYTES only (input.c). */
    return nm_input_read_spec(path, text, len, err);
}

nm_status nm_spec_load(const char *path, char *const *overrides, size_t noverrides,
                       nm_sweep **out, nm_err *err)
{
    *out = NULL;
    char *buf;
    size_t len;
    nm_status st = nm_spec_read(path, &buf, &len, err);
    if (st == NM_OK)
        st = nm_spec_parse(path, buf, len, overrides, noverrides, out, err);
    free(buf);
    return st;
}

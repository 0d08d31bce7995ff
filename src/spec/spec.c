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
 *   replicates: 3            # integer >= 1: the axis `seed` = 0, 1, ..., 2
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
 * zip: each group is a mapping parameter -> axis, every axis of the group of
 * the same length. The group is one grid dimension, named after its first
 * parameter; its rows (tuples of values) must be distinct.
 *
 * Axis (dimension) order, which fixes the task numbering: order of
 * appearance of the node declaring the axis (the grid entry's key, the zip
 * group, the replicates key). The total task count (product of the axis
 * lengths, 1 with no axes) must not exceed 2^62.
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
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "neuromic/error.h"
#include "neuromic/grid.h"
#include "neuromic/kernel.h"
#include "neuromic/sha256.h"
#include "neuromic/input.h"
#include "neuromic/spec.h"

/* The fuzz build (build/fuzz/, Makefile) lowers the size limits: an axis of
 * 10^7 values or a document of 10^6 nodes is legal but takes seconds under
 * the sanitizers, longer than the fuzzer allows one input. */
#ifdef NM_FUZZ_LIMITS
#define AXIS_MAX 100000u
#define NODES_MAX 100000u
#else
#define AXIS_MAX 10000000u
#define NODES_MAX 1000000u
#endif
#define TASKS_MAX ((uint64_t)1 << 62)
#define DEPTH_MAX 64
#define PATH_LEN 256

/* ------------------------------------------------------------------ */
/* A small YAML tree with marks                                        */
/* ------------------------------------------------------------------ */

enum { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode {
    int kind;
    const char *file; /* name used in messages (not owned) */
    int line, col;    /* 1-based */
    unsigned long seq; /* order of appearance (file first, then each --set) */
    char *s;          /* YN_SCALAR: text, NUL-terminated */
    bool plain;       /* YN_SCALAR: unquoted */
    struct ynode **kid; /* YN_SEQ: items; YN_MAP: key, value, key, value, ... */
    size_t n, cap;      /* entries of kid in use / allocated */
} ynode;

#define YKEY(m, i) ((m)->kid[2 * (i)])
#define YVAL(m, i) ((m)->kid[2 * (i) + 1])
#define YPAIRS(m) ((m)->n / 2)

typedef struct {
    unsigned long seq; /* last sequence number handed out */
    size_t nnodes;     /* nodes created, against NODES_MAX */
} ycount;

static nm_status oom(nm_err *err) { return nm_err_set(err, NM_ERR_RUNTIME, "out of memory"); }

static void yfree(ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        yfree(n->kid[i]);
    free(n->kid);
    free(n->s);
    free(n);
}

static ynode *ynew(int kind, const char *file, int line, int col, ycount *cnt)
{
    ynode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    n->seq = ++cnt->seq;
    cnt->nnodes++;
    return n;
}

static bool ypush(ynode *parent, ynode *child)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? 2 * parent->cap : 8;
        ynode **k = realloc(parent->kid, cap * sizeof *k);
        if (!k)
            return false;
        parent->kid = k;
        parent->cap = cap;
    }
    parent->kid[parent->n++] = child;
    return true;
}

/* Removes entries [i, i+count) of kid, freeing them. */
static void ydel(ynode *parent, size_t i, size_t count)
{
    for (size_t j = i; j < i + count; j++)
        yfree(parent->kid[j]);
    memmove(parent->kid + i, parent->kid + i + count,
            (parent->n - i - count) * sizeof *parent->kid);
    parent->n -= count;
}

/* Deep copy for an alias: marks kept, new sequence numbers. NULL on out of
 * memory or when the node limit is reached (*toomany set). */
static ynode *ycopy(const ynode *src, ycount *cnt, bool *toomany)
{
    if (cnt->nnodes >= NODES_MAX) {
        *toomany = true;
        return NULL;
    }
    ynode *n = ynew(src->kind, src->file, src->line, src->col, cnt);
    if (!n)
        return NULL;
    n->plain = src->plain;
    if (src->s && !(n->s = strdup(src->s))) {
        yfree(n);
        return NULL;
    }
    for (size_t i = 0; i < src->n; i++) {
        ynode *k = ycopy(src->kid[i], cnt, toomany);
        if (!k || !ypush(n, k)) {
            yfree(k);
            yfree(n);
            return NULL;
        }
    }
    return n;
}

static bool yis_null(const ynode *n)
{
    return n->kind == YN_SCALAR && n->plain &&
           (!n->s[0] || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
            !strcmp(n->s, "NULL"));
}

static bool ykey_is(const ynode *k, const char *name)
{
    return k->kind == YN_SCALAR && !strcmp(k->s, name);
}

/* Value of the first key `name` of mapping m, or NULL. */
static ynode *ymap_get(const ynode *m, const char *name, size_t *at)
{
    for (size_t i = 0; i < YPAIRS(m); i++)
        if (ykey_is(YKEY(m, i), name)) {
            if (at)
                *at = i;
            return YVAL(m, i);
        }
    return NULL;
}

/* "2.5", "\"5\" (a quoted string)", "a list", "a mapping", "nothing". */
static void describe(const ynode *n, char *buf, size_t len)
{
    if (n->kind == YN_SEQ) {
        snprintf(buf, len, "a list");
    } else if (n->kind == YN_MAP) {
        snprintf(buf, len, "a mapping");
    } else if (yis_null(n)) {
        snprintf(buf, len, "nothing");
    } else {
        const char *dots = strlen(n->s) > 40 ? "..." : "";
        if (n->plain)
            snprintf(buf, len, "'%.40s%s'", n->s, dots);
        else
            snprintf(buf, len, "\"%.40s%s\" (a quoted string)", n->s, dots);
    }
}

/* Where `other` is, as seen from a message about `at`: "L:C", or
 * "FILE:L:C" when it is in another file (the spec vs a --set). */
static void where(const ynode *at, const ynode *other, char *buf, size_t len)
{
    if (!strcmp(at->file, other->file))
        snprintf(buf, len, "%d:%d", other->line, other->col);
    else
        snprintf(buf, len, "%s:%d:%d", other->file, other->line, other->col);
}

static nm_status bad(nm_err *err, const ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static nm_status bad(nm_err *err, const ynode *n, const char *fmt, ...)
{
    char msg[NM_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nm_err_at(err, n->file, n->line, n->col, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* libyaml events -> tree                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *file;
    const char *text;
    size_t len;
    int coloff; /* added to columns on line 1 (a --set value after KEY=) */
} ysrc;

static void ymark(const ysrc *src, yaml_mark_t m, int *line, int *col)
{
    if (m.index >= src->len && m.line > 0 && m.column == 0 && src->len &&
        src->text[src->len - 1] != '\n') {
        /* libyaml ends a text without a final newline with a line break of
         * its own: report the end of the last line instead. */
        size_t start = src->len;
        while (start > 0 && src->text[start - 1] != '\n')
            start--;
        m.line--;
        m.column = src->len - start;
    }
    *line = (int)m.line + 1;
    *col = (int)m.column + 1 + (m.line == 0 ? src->coloff : 0);
}

static nm_status ysyntax(const ysrc *src, const yaml_parser_t *ps, nm_err *err)
{
    const char *problem = ps->problem ? ps->problem : "unknown error";
    int line, col;
    if (ps->error == YAML_MEMORY_ERROR)
        return oom(err);
    if (ps->error == YAML_READER_ERROR) {
        size_t off = ps->problem_offset < src->len ? ps->problem_offset : src->len;
        line = 1;
        col = 1 + src->coloff;
        for (size_t i = 0; i < off; i++) {
            if (src->text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (ps->problem_value != -1)
            return nm_err_at(err, src->file, line, col, "cannot read YAML: %s (byte 0x%02X)",
                             problem, (unsigned)ps->problem_value & 0xFFu);
        return nm_err_at(err, src->file, line, col, "cannot read YAML: %s", problem);
    }
    ymark(src, ps->problem_mark, &line, &col);
    if (ps->context) {
        int cl, cc;
        ymark(src, ps->context_mark, &cl, &cc);
        return nm_err_at(err, src->file, line, col, "YAML syntax error: %s (%s at %d:%d)", problem,
                         ps->context, cl, cc);
    }
    return nm_err_at(err, src->file, line, col, "YAML syntax error: %s", problem);
}

typedef struct {
    char *name;
    ynode *node;
} yanchor;

/* Takes name (freed on failure). */
static nm_status add_anchor(yanchor **anch, size_t *n, size_t *cap, char *name, ynode *node,
                            nm_err *err)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        yanchor *a = realloc(*anch, c * sizeof *a);
        if (!a) {
            free(name);
            return oom(err);
        }
        *anch = a;
        *cap = c;
    }
    (*anch)[*n].name = name;
    (*anch)[(*n)++].node = node;
    return NM_OK;
}

/* Parses src into a tree (*out; NULL for an empty stream). */
static nm_status yload(const ysrc *src, ycount *cnt, ynode **out, nm_err *err)
{
    yaml_parser_t ps;
    yaml_event_t ev;
    struct {
        ynode *node;
        char *anchor;
    } stack[DEPTH_MAX];
    size_t depth = 0;
    yanchor *anch = NULL;
    size_t nanch = 0, capanch = 0;
    ynode *root = NULL;
    int ndocs = 0;
    nm_status st = NM_OK;

    *out = NULL;
    if (!yaml_parser_initialize(&ps))
        return oom(err);
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    for (bool done = false; !done && !st;) {
        if (!yaml_parser_parse(&ps, &ev)) {
            st = ysyntax(src, &ps, err);
            break;
        }
        int line, col;
        ymark(src, ev.start_mark, &line, &col);
        ynode *nn = NULL;
        const char *tag = NULL, *anchor = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1)
                st = nm_err_at(err, src->file, line, col,
                               "expected a single YAML document, found a second one");
            break;
        case YAML_ALIAS_EVENT: {
            const char *name = (const char *)ev.data.alias.anchor;
            ynode *target = NULL;
            for (size_t i = nanch; i-- > 0;)
                if (!strcmp(anch[i].name, name)) {
                    target = anch[i].node;
                    break;
                }
            if (!target) {
                st = nm_err_at(err, src->file, line, col, "unknown alias '*%s'%s", name,
                               " (an alias must follow its complete &anchor)");
                break;
            }
            bool toomany = false;
            nn = ycopy(target, cnt, &toomany);
            if (!nn)
                st = toomany ? nm_err_at(err, src->file, line, col,
                                         "too many YAML nodes (more than %u, aliases included)",
                                         NODES_MAX)
                             : oom(err);
            break;
        }
        case YAML_SCALAR_EVENT:
            tag = (const char *)ev.data.scalar.tag;
            anchor = (const char *)ev.data.scalar.anchor;
            if (tag)
                break;
            if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
                st = nm_err_at(err, src->file, line, col, "NUL characters are not allowed");
                break;
            }
            if (!(nn = ynew(YN_SCALAR, src->file, line, col, cnt)) ||
                !(nn->s = strdup((const char *)ev.data.scalar.value))) {
                yfree(nn);
                nn = NULL;
                st = oom(err);
                break;
            }
            nn->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SEQUENCE_START_EVENT) {
                tag = (const char *)ev.data.sequence_start.tag;
                anchor = (const char *)ev.data.sequence_start.anchor;
            } else {
                tag = (const char *)ev.data.mapping_start.tag;
                anchor = (const char *)ev.data.mapping_start.anchor;
            }
            if (tag)
                break;
            if (depth == DEPTH_MAX) {
                st = nm_err_at(err, src->file, line, col, "nested too deeply (more than %d levels)",
                               DEPTH_MAX);
                break;
            }
            nn = ynew(ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, src->file, line, col,
                      cnt);
            if (!nn)
                st = oom(err);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            /* Registered only now, so an alias cannot point into its own
             * anchor (no cycles). */
            if (stack[depth].anchor)
                st = add_anchor(&anch, &nanch, &capanch, stack[depth].anchor, stack[depth].node,
                                err);
            break;
        default:
            break;
        }
        if (!st && tag)
            st = nm_err_at(err, src->file, line, col,
                           "YAML tags (here '%s') are not supported; write the plain value", tag);
        if (!st && cnt->nnodes > NODES_MAX)
            st = nm_err_at(err, src->file, line, col, "too many YAML nodes (more than %u)",
                           NODES_MAX);
        if (st && nn) {
            yfree(nn);
            nn = NULL;
        }
        if (!st && nn) {
            if (depth == 0) {
                root = nn;
            } else if (!ypush(stack[depth - 1].node, nn)) {
                yfree(nn);
                st = oom(err);
            }
            char *a = NULL;
            if (!st && anchor && !(a = strdup(anchor)))
                st = oom(err);
            if (!st && nn->kind != YN_SCALAR && ev.type != YAML_ALIAS_EVENT) {
                stack[depth].node = nn; /* anchor registered when complete */
                stack[depth++].anchor = a;
            } else if (!st && a) {
                st = add_anchor(&anch, &nanch, &capanch, a, nn, err);
            }
        }
        yaml_event_delete(&ev);
    }
    for (size_t i = 0; i < depth; i++)
        free(stack[i].anchor);
    for (size_t i = 0; i < nanch; i++)
        free(anch[i].name);
    free(anch);
    yaml_parser_delete(&ps);
    if (st) {
        yfree(root);
        return st;
    }
    *out = root;
    return NM_OK;
}

/* ------------------------------------------------------------------ */
/* Names: edit distance and suggestions                                */
/* ------------------------------------------------------------------ */

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t editdist(const char *a, const char *b)
{
    enum { M = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= M || lb >= M)
        return (size_t)-1;
    size_t d[M][M];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The candidate nearest to name if reasonably close, else NULL. Close: at
 * most 1 edit for names of up to 3 characters, 2 up to 6, else 3, and fewer
 * edits than the candidate has characters. */
static const char *nearest(const char *name, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t lc = strlen(cands[i]);
        size_t limit = lc <= 3 ? 1 : lc <= 6 ? 2 : 3;
        size_t d = editdist(name, cands[i]);
        if (d <= limit && d < lc && d < bestd) {
            best = cands[i];
            bestd = d;
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "". */
static void didyoumean(const char *name, const char *const *cands, size_t n, char *buf, size_t len)
{
    const char *s = nearest(name, cands, n);
    if (s)
        snprintf(buf, len, " (did you mean '%s'?)", s);
    else if (len)
        buf[0] = '\0';
}

static void joinlist(const char *const *items, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", items[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *const top_keys[] = {"kernel", "base_seed", "replicates", "fixed",
                                       "grid",   "zip",       "output"};
#define NTOP (sizeof top_keys / sizeof top_keys[0])

static bool is_top_key(const char *s)
{
    for (size_t i = 0; i < NTOP; i++)
        if (!strcmp(s, top_keys[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

/* 0: ok, 1: not an integer, 2: out of range. */
static int int_syntax(const char *s, int64_t *v)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return 1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 1;
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return 2;
    *v = (int64_t)x;
    return 0;
}

/* 0: ok, 1: not a number, 2: too large. */
static int float_syntax(const char *s, double *v)
{
    const char *p = s;
    size_t nd = 0;
    if (*p == '+' || *p == '-')
        p++;
    for (; isdigit((unsigned char)*p); p++)
        nd++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            nd++;
    if (!nd)
        return 1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return 1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return 1;
    double x = strtod(s, NULL);
    if (!isfinite(x))
        return 2;
    *v = x;
    return 0;
}

/* An integer field (not a parameter value): plain integer scalar. */
static nm_status get_int(nm_err *err, const ynode *n, const char *path, const char *what,
                         int64_t *v)
{
    char got[80];
    describe(n, got, sizeof got);
    int r = n->kind == YN_SCALAR && n->plain ? int_syntax(n->s, v) : 1;
    if (r == 2)
        return bad(err, n, "%s: integer %s is out of range", path, got);
    if (r)
        return bad(err, n, "%s: expected %s, got %s", path, what, got);
    return NM_OK;
}

static nm_status get_num(nm_err *err, const ynode *n, const char *path, const char *what,
                         double *v)
{
    char got[80];
    describe(n, got, sizeof got);
    int r = n->kind == YN_SCALAR && n->plain ? float_syntax(n->s, v) : 1;
    if (r == 2)
        return bad(err, n, "%s: number %s is too large", path, got);
    if (r)
        return bad(err, n, "%s: expected %s, got %s", path, what, got);
    return NM_OK;
}

/* ------------------------------------------------------------------ */
/* Interpretation                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
    const ynode *node; /* key node that declared the parameter */
    char path[PATH_LEN];
} decl_t;

typedef struct {
    nm_err *err;
    nm_sweep *sw;
    const nm_kernel *k;
    size_t np;
    decl_t *decl;        /* np entries */
    struct aord {
        unsigned long seq; /* order of the declaring node */
        const ynode *node; /* the declaring node */
    } *aord;             /* one per axis of sw */
    size_t acap;
} ictx;

static const char *type_name(nm_type t)
{
    switch (t) {
    case NM_T_INT: return "an int";
    case NM_T_FLOAT: return "a float";
    case NM_T_BOOL: return "a bool";
    case NM_T_CHOICE: return "a choice";
    }
    return "?";
}

/* Keys of a mapping must be scalars, each once. */
static nm_status map_check(nm_err *err, const ynode *m, const char *path)
{
    for (size_t i = 0; i < YPAIRS(m); i++) {
        const ynode *k = YKEY(m, i);
        if (k->kind != YN_SCALAR) {
            char got[80];
            describe(k, got, sizeof got);
            return bad(err, k, "%s%sexpected a name as key, got %s", path ? path : "",
                       path ? ": " : "", got);
        }
        for (size_t j = 0; j < i; j++) {
            const ynode *o = YKEY(m, j);
            if (o->kind == YN_SCALAR && !strcmp(o->s, k->s)) {
                char w[PATH_LEN];
                where(k, o, w, sizeof w);
                if (path)
                    return bad(err, k, "%s.%s: duplicate key '%s' (also declared at %s)", path,
                               k->s, k->s, w);
                return bad(err, k, "%s: duplicate top-level key '%s' (also declared at %s)", k->s,
                           k->s, w);
            }
        }
    }
    return NM_OK;
}

/* Index of the parameter named by key node k, or an error. */
static nm_status param_of(ictx *c, const ynode *k, const char *path, int *pi)
{
    *pi = nm_kernel_param_index(c->k, k->s);
    if (*pi >= 0)
        return NM_OK;
    const char **names = malloc(c->np * sizeof *names);
    if (!names)
        return oom(c->err);
    for (size_t i = 0; i < c->np; i++)
        names[i] = nm_kernel_param(c->k, i)->name;
    const char *s = nearest(k->s, names, c->np);
    nm_status st;
    if (s) {
        st = bad(c->err, k, "%s: unknown parameter '%s' for kernel '%s' (did you mean '%s'?)", path,
                 k->s, c->k->name, s);
    } else {
        char list[512];
        joinlist(names, c->np, list, sizeof list);
        st = bad(c->err, k, "%s: unknown parameter '%s' for kernel '%s' (its parameters: %s)", path,
                 k->s, c->k->name, list);
    }
    free(names);
    return st;
}

/* Records that parameter pi is declared at key node k (path), or reports
 * the earlier declaration. */
static nm_status declare(ictx *c, int pi, const ynode *k, const char *path)
{
    decl_t *d = &c->decl[pi];
    if (d->node) {
        char w[PATH_LEN];
        where(k, d->node, w, sizeof w);
        return bad(c->err, k, "%s: parameter '%s' is declared twice (also declared at %s as %s)",
                   path, nm_kernel_param(c->k, (size_t)pi)->name, w, d->path);
    }
    d->node = k;
    snprintf(d->path, sizeof d->path, "%s", path);
    return NM_OK;
}

/* One scalar value for parameter pi: converted and checked. */
static nm_status conv(ictx *c, int pi, const ynode *n, const char *path, nm_value *out)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    char got[80];
    describe(n, got, sizeof got);
    out->type = p->type;
    if (n->kind != YN_SCALAR)
        return bad(c->err, n, "%s: expected a single value for %s, got %s%s", path, p->name, got,
                   n->kind == YN_SEQ && !strncmp(path, "fixed.", 6)
                       ? " (to vary a parameter, put it under grid:)"
                       : "");
    switch (p->type) {
    case NM_T_INT: {
        int r = n->plain ? int_syntax(n->s, &out->v.i) : 1;
        if (r == 2)
            return bad(c->err, n, "%s: integer %s is out of range", path, got);
        if (r)
            return bad(c->err, n, "%s: expected an integer (%s is an int parameter), got %s", path,
                       p->name, got);
        break;
    }
    case NM_T_FLOAT: {
        int r = n->plain ? float_syntax(n->s, &out->v.f) : 1;
        if (r == 2)
            return bad(c->err, n, "%s: number %s is too large", path, got);
        if (r)
            return bad(c->err, n, "%s: expected a number (%s is a float parameter), got %s", path,
                       p->name, got);
        break;
    }
    case NM_T_BOOL:
        if (n->plain && !strcmp(n->s, "true"))
            out->v.b = true;
        else if (n->plain && !strcmp(n->s, "false"))
            out->v.b = false;
        else
            return bad(c->err, n, "%s: expected true or false (%s is a bool parameter), got %s",
                       path, p->name, got);
        break;
    case NM_T_CHOICE:
        out->v.s = n->s;
        break;
    }
    char why[512];
    if (!nm_param_check(p, out, why, sizeof why))
        return bad(c->err, n, "%s: invalid value for %s: %s", path, p->name, why);
    if (p->type == NM_T_CHOICE) {
        /* Point into the kernel's own strings, which outlive the tree. */
        for (int i = 0; i < NM_MAX_CHOICES && p->choices[i]; i++)
            if (!strcmp(p->choices[i], n->s)) {
                out->v.s = p->choices[i];
                break;
            }
    }
    return NM_OK;
}

enum { R_FROM, R_TO, R_STEP, R_NUM, R_SCALE, R_N };
static const char *const range_keys[R_N] = {"from", "to", "step", "num", "scale"};

/* uint64 distance between two int64 values. */
static uint64_t idist(int64_t a, int64_t b)
{
    return a <= b ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
}

static nm_status parse_range(ictx *c, int pi, const ynode *m, const char *path, nm_value **out,
                             size_t *len)
{
    const nm_param *p = nm_kernel_param(c->k, (size_t)pi);
    const ynode *kn[R_N] = {0}, *vn[R_N] = {0};
    char sub[R_N][PATH_LEN];
    nm_status st = map_check(c->err, m, path);
    if (st)
        return st;
    for (size_t i = 0; i < YPAIRS(m); i++) {
        const ynode *k = YKEY(m, i);
        int r = -1;
        for (int j = 0; j < R_N; j++)
            if (!strcmp(k->s, range_keys[j]))
                r = j;
        if (r < 0) {
            char dym[80];
            didyoumean(k->s, range_keys, R_N, dym, sizeof dym);
            return bad(c->err, k,
                       "%s: unknown key '%s' in a range%s; a range has from, to, and step or num "
                       "(and scale with num)",
                       path, k->s, dym);
        }
        kn[r] = k;
        vn[r] = YVAL(m, i);
    }
    for (int j = 0; j < R_N; j++)
        snprintf(sub[j], sizeof sub[j], "%s.%s", path, range_keys[j]);
    if (p->type != NM_T_INT && p->type != NM_T_FLOAT)
        return bad(c->err, m,
                   "%s: a range needs a numeric parameter, but %s is %s parameter; give a list of "
                   "values instead",
                   path, p->name, type_name(p->type));
    if (!vn[R_FROM] || !vn[R_TO])
        return bad(c->err, m, "%s: a range needs '%s' (expected {from: A, to: B, step: S} or "
                              "{from: A, to: B, num: N})",
                   path, vn[R_FROM] ? "to" : "from");
    if (vn[R_STEP] && vn[R_NUM]) {
        const ynode *later = kn[R_STEP]->seq > kn[R_NUM]->seq ? kn[R_STEP] : kn[R_NUM];
        return bad(c->err, later, "%s: give either step or num, not both", path);
    }
    if (!vn[R_STEP] && !vn[R_NUM])
        return bad(c->err, m,
                   "%s: a range needs 'step' (from, from+step, ... up to to) or 'num' (that many "
                   "evenly spaced values)",
                   path);
    if (vn[R_SCALE] && !vn[R_NUM])
        return bad(c->err, kn[R_SCALE],
                   "%s: scale is only allowed with num (a step range is always linear)",
                   sub[R_SCALE]);
    bool logscale = false;
    if (vn[R_SCALE]) {
        const ynode *s = vn[R_SCALE];
        if (s->kind == YN_SCALAR && !strcmp(s->s, "log")) {
            logscale = true;
        } else if (!(s->kind == YN_SCALAR && !strcmp(s->s, "linear"))) {
            char got[80];
            describe(s, got, sizeof got);
            return bad(c->err, s, "%s: expected linear or log, got %s", sub[R_SCALE], got);
        }
    }
    int64_t num = 0;
    if (vn[R_NUM]) {
        if ((st = get_int(c->err, vn[R_NUM], sub[R_NUM], "a whole number of values >= 1", &num)))
            return st;
        if (num < 1) {
            char got[80];
            describe(vn[R_NUM], got, sizeof got);
            return bad(c->err, vn[R_NUM], "%s: expected a whole number of values >= 1, got %s",
                       sub[R_NUM], got);
        }
        if (num > (int64_t)AXIS_MAX)
            return bad(c->err, vn[R_NUM], "%s: %" PRId64 " values is too many (at most %u)",
                       sub[R_NUM], num, AXIS_MAX);
    }

    nm_value *vals = NULL;
    size_t n = 0;
    bool isint = p->type == NM_T_INT;
    if (isint) {
        char what[128];
        snprintf(what, sizeof what, "an integer (%s is an int parameter)", p->name);
        int64_t from, to, step = 0;
        if ((st = get_int(c->err, vn[R_FROM], sub[R_FROM], what, &from)) ||
            (st = get_int(c->err, vn[R_TO], sub[R_TO], what, &to)) ||
            (vn[R_STEP] && (st = get_int(c->err, vn[R_STEP], sub[R_STEP], what, &step))))
            return st;
        uint64_t d = idist(from, to);
        if (vn[R_STEP]) {
            if (step == 0)
                return bad(c->err, vn[R_STEP], "%s: step must not be 0", sub[R_STEP]);
            if ((to > from && step < 0) || (to < from && step > 0))
                return bad(c->err, vn[R_STEP],
                           "%s: step %" PRId64 " points away from 'to' (from %" PRId64
                           " to %" PRId64 " needs a %s step)",
                           sub[R_STEP], step, from, to, to > from ? "positive" : "negative");
            uint64_t sa = step < 0 ? (uint64_t)0 - (uint64_t)step : (uint64_t)step;
            uint64_t q = d / sa;
            if (q >= AXIS_MAX)
                return bad(c->err, m, "%s: the range has too many values (at most %u)", path,
                           AXIS_MAX);
            n = (size_t)q + 1;
        } else if (!logscale) {
            n = (size_t)num;
            if (num > 1 && d % (uint64_t)(num - 1))
                return bad(c->err, m,
                           "%s: %" PRId64 " evenly spaced values from %" PRId64 " to %" PRId64
                           " are not all integers (%s is an int parameter); change from, to or "
                           "num, or use step",
                           path, num, from, to, p->name);
            uint64_t sa = num > 1 ? d / (uint64_t)(num - 1) : 0;
            step = 0; /* as a signed stride below */
            if (to < from)
                step = -(int64_t)sa;
            else
                step = (int64_t)sa;
        } else {
            n = (size_t)num;
        }
        if (!(vals = calloc(n, sizeof *vals)))
            return oom(c->err);
        if (!logscale) {
            for (size_t i = 0; i < n; i++) {
                vals[i].type = NM_T_INT;
                vals[i].v.i = (int64_t)((uint64_t)from + (uint64_t)i * (uint64_t)step);
            }
        } else {
            if (from <= 0 || to <= 0) {
                free(vals);
                return bad(c->err, m, "%s: a log range needs from > 0 and to > 0", path);
            }
            double lf = log10((double)from), lt = log10((double)to);
            for (size_t i = 0; i < n; i++) {
                vals[i].type = NM_T_INT;
                if (i == 0) {
                    vals[i].v.i = from;
                } else if (i == n - 1) {
                    vals[i].v.i = to;
                } else {
                    double x = pow(10.0, lf + (double)i * (lt - lf) / (double)(n - 1));
                    double r = nearbyint(x);
                    if (fabs(x - r) > 1e-9 * fmax(1.0, fabs(x))) {
                        free(vals);
                        return bad(c->err, m,
                                   "%s: log range value %.17g is not an integer (%s is an int "
                                   "parameter); change from, to or num",
                                   path, x, p->name);
                    }
                    vals[i].v.i = (int64_t)r;
                }
            }
        }
    } else {
        double from, to, step = 0;
        if ((st = get_num(c->err, vn[R_FROM], sub[R_FROM], "a number", &from)) ||
            (st = get_num(c->err, vn[R_TO], sub[R_TO], "a number", &to)) ||
            (vn[R_STEP] && (st = get_num(c->err, vn[R_STEP], sub[R_STEP], "a number", &step))))
            return st;
        if (vn[R_STEP]) {
            if (step == 0)
                return bad(c->err, vn[R_STEP], "%s: step must not be 0", sub[R_STEP]);
            if ((to > from && step < 0) || (to < from && step > 0))
                return bad(c->err, vn[R_STEP],
                           "%s: step %g points away from 'to' (from %g to %g needs a %s step)",
                           sub[R_STEP], step, from, to, to > from ? "positive" : "negative");
            double q = (to - from) / step;
            if (!isfinite(q) || q + 1e-9 >= (double)AXIS_MAX)
                return bad(c->err, m, "%s: the range has too many values (at most %u)", path,
                           AXIS_MAX);
            n = (size_t)floor(q + 1e-9) + 1;
            if (!(vals = calloc(n, sizeof *vals)))
                return oom(c->err);
            for (size_t i = 0; i < n; i++) {
                double x = from + (double)i * step;
                if (i == n - 1 && fabs(x - to) <= 1e-9 * fabs(step))
                    x = to;
                vals[i].type = NM_T_FLOAT;
                vals[i].v.f = x;
            }
        } else {
            n = (size_t)num;
            if (logscale && (from <= 0 || to <= 0))
                return bad(c->err, m, "%s: a log range needs from > 0 and to > 0", path);
            double lf = logscale ? log10(from) : from, lt = logscale ? log10(to) : to;
            double stride = n > 1 ? (lt - lf) / (double)(n - 1) : 0;
            if (!isfinite(stride))
                return bad(c->err, m, "%s: the range is too wide", path);
            if (!(vals = calloc(n, sizeof *vals)))
                return oom(c->err);
            for (size_t i = 0; i < n; i++) {
                double x = lf + (double)i * stride;
                if (logscale)
                    x = pow(10.0, x);
                if (i == 0)
                    x = from;
                else if (i == n - 1)
                    x = to;
                vals[i].type = NM_T_FLOAT;
                vals[i].v.f = x;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        char why[512], v[64];
        if (!nm_param_check(p, &vals[i], why, sizeof why)) {
            nm_value_format(&vals[i], v, sizeof v);
            free(vals);
            return bad(c->err, m, "%s: the range gives %s, which is invalid for %s: %s", path, v,
                       p->name, why);
        }
    }
    *out = vals;
    *len = n;
    return NM_OK;
}

/* The values of an axis for parameter pi: a list or a range. */
static nm_status parse_axis(ictx *c, int pi, const ynode *v, const char *path, nm_value **out,
                            size_t *len)
{
    *out = NULL;
    *len = 0;
    if (v->kind == YN_MAP)
        return parse_range(c, pi, v, path, out, len);
    if (v->kind != YN_SEQ) {
        char got[80];
        describe(v, got, sizeof got);
        return bad(c->err, v,
                   "%s: expected a list of values ([1, 2, 3]) or a range ({from: 0, to: 1, step: "
                   "0.1} or {from: 0, to: 1, num: 11}), got %s%s",
                   path, got, yis_null(v) ? "" : " (to fix a single value, use fixed:)");
    }
    if (v->n == 0)
        return bad(c->err, v, "%s: empty list; an axis needs at least one value", path);
    if (v->n > AXIS_MAX)
        return bad(c->err, v, "%s: too many values (at most %u)", path, AXIS_MAX);
    nm_value *vals = calloc(v->n, sizeof *vals);
    if (!vals)
        return oom(c->err);
    for (size_t i = 0; i < v->n; i++) {
        char ip[PATH_LEN];
        snprintf(ip, sizeof ip, "%s[%zu]", path, i);
        nm_status st = conv(c, pi, v->kid[i], ip, &vals[i]);
        if (st) {
            free(vals);
            return st;
        }
    }
    *out = vals;
    *len = v->n;
    return NM_OK;
}

/* A new axis with nparams parameters, appended to sw (so nm_sweep_free
 * frees it whatever state it is left in). */
static nm_status add_axis(ictx *c, const ynode *declnode, size_t nparams, nm_axis **ax)
{
    nm_sweep *sw = c->sw;
    if (sw->naxes == c->acap) {
        size_t cap = c->acap ? 2 * c->acap : 8;
        nm_axis *a = realloc(sw->axes, cap * sizeof *a);
        if (!a)
            return oom(c->err);
        sw->axes = a;
        struct aord *o = realloc(c->aord, cap * sizeof *o);
        if (!o)
            return oom(c->err);
        c->aord = o;
        c->acap = cap;
    }
    nm_axis *a = &sw->axes[sw->naxes];
    memset(a, 0, sizeof *a);
    c->aord[sw->naxes].seq = declnode->seq;
    c->aord[sw->naxes++].node = declnode;
    a->line = declnode->line;
    a->col = declnode->col;
    a->param = calloc(nparams, sizeof *a->param);
    a->values = calloc(nparams, sizeof *a->values);
    if (!a->param || !a->values)
        return oom(c->err);
    a->nparams = nparams;
    *ax = a;
    return NM_OK;
}

static int value_cmp(const nm_value *a, const nm_value *b)
{
    switch (a->type) {
    case NM_T_INT: return (a->v.i > b->v.i) - (a->v.i < b->v.i);
    case NM_T_FLOAT: return (a->v.f > b->v.f) - (a->v.f < b->v.f);
    case NM_T_BOOL: return (int)a->v.b - (int)b->v.b;
    case NM_T_CHOICE: return strcmp(a->v.s, b->v.s);
    }
    return 0;
}

typedef struct {
    const nm_axis *ax;
    size_t row;
} rowref;

static int rows_cmp(const rowref *a, const rowref *b)
{
    for (size_t j = 0; j < a->ax->nparams; j++) {
        int r = value_cmp(&a->ax->values[j][a->row], &a->ax->values[j][b->row]);
        if (r)
            return r;
    }
    return 0;
}

static int rowref_cmp(const void *x, const void *y)
{
    const rowref *a = x, *b = y;
    int r = rows_cmp(a, b);
    return r ? r : (a->row > b->row) - (a->row < b->row);
}

/* No value (row, for a zip group) twice. list: the list node when the axis
 * is a single parameter given as a list (errors then point at the item). */
static nm_status check_unique(ictx *c, const nm_axis *ax, const ynode *at, const ynode *list,
                              const char *path)
{
    if (ax->len < 2)
        return NM_OK;
    rowref *r = malloc(ax->len * sizeof *r);
    if (!r)
        return oom(c->err);
    for (size_t i = 0; i < ax->len; i++)
        r[i] = (rowref){ax, i};
    qsort(r, ax->len, sizeof *r, rowref_cmp);
    size_t a = 0, b = SIZE_MAX;
    for (size_t i = 1; i < ax->len; i++)
        if (!rows_cmp(&r[i - 1], &r[i]) && (i == 1 || rows_cmp(&r[i - 2], &r[i - 1])) &&
            r[i].row < b) {
            a = r[i - 1].row;
            b = r[i].row;
        }
    free(r);
    if (b == SIZE_MAX)
        return NM_OK;
    char v[64];
    if (ax->nparams == 1) {
        nm_value_format(&ax->values[0][b], v, sizeof v);
        if (list) {
            char w[PATH_LEN];
            where(list->kid[b], list->kid[a], w, sizeof w);
            return bad(c->err, list->kid[b],
                       "%s[%zu]: duplicate value %s (also at %s as %s[%zu]); each value of an axis "
                       "must appear once",
                       path, b, v, w, path, a);
        }
        return bad(c->err, at,
                   "%s: the range gives the value %s more than once (values %zu and %zu)", path, v,
                   a, b);
    }
    char row[512];
    size_t used = 0;
    row[0] = '\0';
    for (size_t j = 0; j < ax->nparams && used < sizeof row; j++) {
        nm_value_format(&ax->values[j][b], v, sizeof v);
        int w = snprintf(row + used, sizeof row - used, "%s%s=%s", j ? ", " : "",
                         nm_kernel_param(c->k, (size_t)ax->param[j])->name, v);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return bad(c->err, at,
               "%s: rows %zu and %zu are the same (%s); each combination of a zip group must "
               "appear once",
               path, a, b, row);
}

/* grid: NAME: axis */
static nm_status do_grid(ictx *c, const ynode *g)
{
    if (yis_null(g))
        return NM_OK;
    if (g->kind != YN_MAP) {
        char got[80];
        describe(g, got, sizeof got);
        return bad(c->err, g, "grid: expected a mapping of parameter: list or range, got %s", got);
    }
    nm_status st = map_check(c->err, g, "grid");
    for (size_t i = 0; !st && i < YPAIRS(g); i++) {
        const ynode *k = YKEY(g, i), *v = YVAL(g, i);
        char path[PATH_LEN];
        int pi;
        nm_axis *ax;
        snprintf(path, sizeof path, "grid.%s", k->s);
        if ((st = param_of(c, k, path, &pi)) || (st = declare(c, pi, k, path)) ||
            (st = add_axis(c, k, 1, &ax)))
            break;
        ax->param[0] = pi;
        if (!(ax->name = strdup(k->s))) {
            st = oom(c->err);
            break;
        }
        if ((st = parse_axis(c, pi, v, path, &ax->values[0], &ax->len)))
            break;
        st = check_unique(c, ax, v, v->kind == YN_SEQ ? v : NULL, path);
    }
    return st;
}

/* zip: - {A: axis, B: axis} */
static nm_status do_zip(ictx *c, const ynode *z)
{
    if (yis_null(z))
        return NM_OK;
    if (z->kind != YN_SEQ) {
        char got[80];
        describe(z, got, sizeof got);
        return bad(c->err, z,
                   "zip: expected a list of groups (- {a: [1, 2], b: [3, 4]}), got %s", got);
    }
    nm_status st = NM_OK;
    for (size_t gi = 0; !st && gi < z->n; gi++) {
        const ynode *g = z->kid[gi];
        char gpath[32];
        snprintf(gpath, sizeof gpath, "zip[%zu]", gi);
        if (g->kind != YN_MAP) {
            char got[80];
            describe(g, got, sizeof got);
            return bad(c->err, g,
                       "%s: expected a group mapping parameter: list or range ({a: [1, 2], b: "
                       "[3, 4]}), got %s",
                       gpath, got);
        }
        if (YPAIRS(g) == 0)
            return bad(c->err, g, "%s: empty zip group; expected at least one parameter", gpath);
        nm_axis *ax;
        if ((st = map_check(c->err, g, gpath)) || (st = add_axis(c, g, YPAIRS(g), &ax)))
            return st;
        for (size_t j = 0; j < YPAIRS(g); j++) {
            const ynode *k = YKEY(g, j), *v = YVAL(g, j);
            char path[PATH_LEN];
            int pi;
            size_t len;
            snprintf(path, sizeof path, "%s.%s", gpath, k->s);
            if ((st = param_of(c, k, path, &pi)) || (st = declare(c, pi, k, path)))
                return st;
            ax->param[j] = pi;
            if (j == 0 && !(ax->name = strdup(k->s)))
                return oom(c->err);
            if ((st = parse_axis(c, pi, v, path, &ax->values[j], &len)))
                return st;
            if (j == 0) {
                ax->len = len;
            } else if (len != ax->len) {
                return bad(c->err, k,
                           "%s: has %zu values but %s.%s has %zu; all parameters of a zip group "
                           "need the same number of values",
                           path, len, gpath, YKEY(g, 0)->s, ax->len);
            }
        }
        if (ax->nparams == 1) {
            const ynode *v0 = YVAL(g, 0);
            char path[PATH_LEN];
            snprintf(path, sizeof path, "%s.%s", gpath, YKEY(g, 0)->s);
            st = check_unique(c, ax, v0, v0->kind == YN_SEQ ? v0 : NULL, path);
        } else {
            st = check_unique(c, ax, g, NULL, gpath);
        }
    }
    return st;
}

static nm_status do_fixed(ictx *c, const ynode *f)
{
    if (yis_null(f))
        return NM_OK;
    if (f->kind != YN_MAP) {
        char got[80];
        describe(f, got, sizeof got);
        return bad(c->err, f, "fixed: expected a mapping of parameter: value, got %s", got);
    }
    nm_status st = map_check(c->err, f, "fixed");
    for (size_t i = 0; !st && i < YPAIRS(f); i++) {
        const ynode *k = YKEY(f, i);
        char path[PATH_LEN];
        int pi;
        snprintf(path, sizeof path, "fixed.%s", k->s);
        if ((st = param_of(c, k, path, &pi)) || (st = declare(c, pi, k, path)))
            break;
        st = conv(c, pi, YVAL(f, i), path, &c->sw->fixed[pi]);
    }
    return st;
}

static nm_status do_replicates(ictx *c, const ynode *k, const ynode *v)
{
    int64_t r;
    nm_status st = get_int(c->err, v, "replicates", "an integer >= 1 (the number of seeds)", &r);
    if (st)
        return st;
    if (r < 1 || r > (int64_t)AXIS_MAX) {
        char got[80];
        describe(v, got, sizeof got);
        return bad(c->err, v, "replicates: expected an integer from 1 to %u, got %s", AXIS_MAX,
                   got);
    }
    int pi = nm_kernel_param_index(c->k, "seed");
    nm_axis *ax;
    if ((st = declare(c, pi, k, "replicates")) || (st = add_axis(c, k, 1, &ax)))
        return st;
    ax->param[0] = pi;
    if (!(ax->name = strdup("seed")) || !(ax->values[0] = calloc((size_t)r, sizeof(nm_value))))
        return oom(c->err);
    ax->len = (size_t)r;
    for (size_t i = 0; i < ax->len; i++) {
        ax->values[0][i].type = NM_T_INT;
        ax->values[0][i].v.i = (int64_t)i;
    }
    return NM_OK;
}

static nm_status do_output(ictx *c, const ynode *o)
{
    static const char *const okeys[] = {"checkpoint_every", "task_timeout"};
    if (yis_null(o))
        return NM_OK;
    if (o->kind != YN_MAP) {
        char got[80];
        describe(o, got, sizeof got);
        return bad(c->err, o, "output: expected a mapping (checkpoint_every: 60), got %s", got);
    }
    nm_status st = map_check(c->err, o, "output");
    for (size_t i = 0; !st && i < YPAIRS(o); i++) {
        const ynode *k = YKEY(o, i), *v = YVAL(o, i);
        bool ckpt = !strcmp(k->s, okeys[0]);
        if (!ckpt && strcmp(k->s, okeys[1])) {
            char dym[80];
            didyoumean(k->s, okeys, 2, dym, sizeof dym);
            return bad(c->err, k, "output.%s: unknown key '%s'%s; expected checkpoint_every or "
                       "task_timeout", k->s, k->s, dym);
        }
        double x;
        char field[40];
        snprintf(field, sizeof field, "output.%s", okeys[ckpt ? 0 : 1]);
        const char *what = ckpt ? "a number of seconds > 0" : "a number of seconds >= 0 (0: none)";
        if ((st = get_num(c->err, v, field, what, &x)))
            return st;
        if (ckpt ? !(x > 0) : !(x >= 0)) {
            char got[80];
            describe(v, got, sizeof got);
            return bad(c->err, v, "%s: expected %s, got %s", field, what, got);
        }
        if (ckpt)
            c->sw->checkpoint_every = x;
        else
            c->sw->task_timeout = x;
    }
    return st;
}

static void sort_axes(ictx *c)
{
    nm_sweep *sw = c->sw;
    for (size_t i = 1; i < sw->naxes; i++) {
        nm_axis a = sw->axes[i];
        struct aord o = c->aord[i];
        size_t j = i;
        for (; j > 0 && c->aord[j - 1].seq > o.seq; j--) {
            sw->axes[j] = sw->axes[j - 1];
            c->aord[j] = c->aord[j - 1];
        }
        sw->axes[j] = a;
        c->aord[j] = o;
    }
}

static nm_status build(nm_sweep *sw, const char *path, const ynode *root, nm_err *err)
{
    ictx c = {.err = err, .sw = sw};
    size_t nk = nm_kernel_count();
    const char **knames = calloc(nk ? nk : 1, sizeof *knames);
    if (!knames)
        return oom(err);
    for (size_t i = 0; i < nk; i++)
        knames[i] = nm_kernel_at(i)->name;
    char klist[512];
    joinlist(knames, nk, klist, sizeof klist);

    nm_status st = NM_OK;
    const ynode *kv = NULL;
    if (root && !yis_null(root)) {
        if ((st = map_check(err, root, NULL)))
            goto done;
        for (size_t i = 0; i < YPAIRS(root); i++) {
            const ynode *k = YKEY(root, i);
            if (!is_top_key(k->s)) {
                char dym[80], list[256];
                didyoumean(k->s, top_keys, NTOP, dym, sizeof dym);
                joinlist(top_keys, NTOP, list, sizeof list);
                st = bad(err, k, "%s: unknown top-level key '%s'%s; expected one of: %s", k->s,
                         k->s, dym, list);
                goto done;
            }
        }
        kv = ymap_get(root, "kernel", NULL);
    }
    if (!kv || yis_null(kv)) {
        if (kv)
            st = bad(err, kv, "kernel: expected a kernel name (known kernels: %s)", klist);
        else
            st = nm_err_at(err, path, 1, 1,
                           "kernel: missing required key 'kernel' (e.g. kernel: %s; known "
                           "kernels: %s)",
                           nk ? knames[0] : "probe", klist);
        goto done;
    }
    if (kv->kind != YN_SCALAR) {
        char got[80];
        describe(kv, got, sizeof got);
        st = bad(err, kv, "kernel: expected a kernel name, got %s (known kernels: %s)", got, klist);
        goto done;
    }
    if (!(c.k = nm_kernel_find(kv->s))) {
        char dym[80];
        didyoumean(kv->s, knames, nk, dym, sizeof dym);
        st = bad(err, kv, "kernel: unknown kernel '%s'%s; known kernels: %s", kv->s, dym, klist);
        goto done;
    }
    sw->kernel = c.k;
    c.np = nm_kernel_nparams_all(c.k);
    if (!(sw->fixed = calloc(c.np, sizeof *sw->fixed)) ||
        !(c.decl = calloc(c.np, sizeof *c.decl))) {
        st = oom(err);
        goto done;
    }
    for (size_t i = 0; i < c.np; i++)
        sw->fixed[i] = nm_kernel_param(c.k, i)->def;

    for (size_t i = 0; !st && i < YPAIRS(root); i++) {
        const ynode *k = YKEY(root, i), *v = YVAL(root, i);
        if (!strcmp(k->s, "base_seed")) {
            int64_t s;
            const char *what = "an integer 0 <= base_seed < 2^63";
            if (!(st = get_int(err, v, "base_seed", what, &s))) {
                if (s < 0) {
                    char got[80];
                    describe(v, got, sizeof got);
                    st = bad(err, v, "base_seed: expected %s, got %s", what, got);
                }
                sw->base_seed = (uint64_t)s;
            }
        } else if (!strcmp(k->s, "replicates")) {
            st = do_replicates(&c, k, v);
        } else if (!strcmp(k->s, "fixed")) {
            st = do_fixed(&c, v);
        } else if (!strcmp(k->s, "grid")) {
            st = do_grid(&c, v);
        } else if (!strcmp(k->s, "zip")) {
            st = do_zip(&c, v);
        } else if (!strcmp(k->s, "output")) {
            st = do_output(&c, v);
        }
    }
    if (st)
        goto done;

    sort_axes(&c);
    sw->ntasks = 1;
    for (size_t i = 0; i < sw->naxes; i++) {
        const nm_axis *a = &sw->axes[i];
        if (sw->ntasks > TASKS_MAX / a->len) {
            st = bad(err, c.aord[i].node,
                     "%s: with this axis the sweep has more than 2^62 tasks (%" PRIu64
                     " before it, times %zu values)",
                     a->name, sw->ntasks, a->len);
            goto done;
        }
        sw->ntasks *= a->len;
    }
    st = nm_grid_check_outputs(sw, err);
done:
    free(knames);
    free(c.decl);
    free(c.aord);
    return st;
}

/* ------------------------------------------------------------------ */
/* --set overrides                                                     */
/* ------------------------------------------------------------------ */

/* Sets key `name` of mapping m to val (takes it): replaces the value of the
 * first such key (keeping its place), else appends a new key at
 * file:1:col. */
static nm_status set_key(ynode *m, const char *name, const char *file, int col, ynode *val,
                         ycount *cnt, nm_err *err)
{
    size_t at;
    if (ymap_get(m, name, &at)) {
        yfree(YVAL(m, at));
        YVAL(m, at) = val;
        return NM_OK;
    }
    ynode *k = ynew(YN_SCALAR, file, 1, col, cnt);
    if (!k || !(k->s = strdup(name)) || !ypush(m, k)) {
        yfree(k);
        yfree(val);
        return oom(err);
    }
    k->plain = true;
    if (!ypush(m, val)) {
        m->n--;
        yfree(k);
        yfree(val);
        return oom(err);
    }
    return NM_OK;
}

/* Removes every key `name` from mapping m. Returns whether any was. */
static bool del_key(ynode *m, const char *name)
{
    bool any = false;
    for (size_t i = 0; i < YPAIRS(m);) {
        if (ykey_is(YKEY(m, i), name)) {
            ydel(m, 2 * i, 2);
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

/* A bare parameter name: out of grid, zip groups and replicates. */
static void unvary(ynode *root, const char *name)
{
    for (size_t i = 0; i < YPAIRS(root); i++) {
        ynode *k = YKEY(root, i), *v = YVAL(root, i);
        if (ykey_is(k, "grid") && v->kind == YN_MAP) {
            del_key(v, name);
        } else if (ykey_is(k, "zip") && v->kind == YN_SEQ) {
            for (size_t g = 0; g < v->n;) {
                ynode *grp = v->kid[g];
                if (grp->kind == YN_MAP && del_key(grp, name) && grp->n == 0)
                    ydel(v, g, 1);
                else
                    g++;
            }
        }
    }
    if (!strcmp(name, "seed"))
        del_key(root, "replicates");
}

#define SET_MAXCOMP 8
#define SET_SHOWN 200 /* characters of a --set argument quoted in messages */

static nm_status apply_set(const char *arg, const char *file, ynode **rootp, ycount *cnt,
                           nm_err *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return nm_err_at(err, file, 1, 1,
                         "expected KEY=VALUE (e.g. grid.x=[1, 2, 3], fixed.work=0.5 or work=0.5)");
    size_t klen = (size_t)(eq - arg);
    char key[PATH_LEN];
    if (klen == 0)
        return nm_err_at(err, file, 1, 1, "missing KEY before '=' (expected KEY=VALUE)");
    if (klen >= sizeof key)
        return nm_err_at(err, file, 1, 1, "KEY is too long");
    memcpy(key, arg, klen);
    key[klen] = '\0';

    const char *comp[SET_MAXCOMP];
    int ccol[SET_MAXCOMP];
    size_t ncomp = 0;
    for (char *p = key, *dot;; p = dot + 1) {
        dot = strchr(p, '.');
        if (dot)
            *dot = '\0';
        int col = (int)(p - key) + 1;
        if (!*p)
            return nm_err_at(err, file, 1, col, "empty name in KEY '%.*s'", (int)klen, arg);
        if (ncomp == SET_MAXCOMP)
            return nm_err_at(err, file, 1, col, "KEY '%.*s' has too many parts", (int)klen, arg);
        comp[ncomp] = p;
        ccol[ncomp++] = col;
        if (!dot)
            break;
    }
    if (ncomp > 1 && !is_top_key(comp[0])) {
        char dym[80];
        didyoumean(comp[0], top_keys, NTOP, dym, sizeof dym);
        return nm_err_at(err, file, 1, 1,
                         "unknown key '%.*s'%s; expected a parameter name, kernel, base_seed, "
                         "replicates, fixed.NAME, grid.NAME, output.checkpoint_every or "
                         "output.task_timeout",
                         (int)klen, arg, dym);
    }

    ysrc src = {file, eq + 1, strlen(eq + 1), (int)klen + 1};
    ynode *val;
    nm_status st = yload(&src, cnt, &val, err);
    if (st)
        return st;
    if (!val) {
        if (!(val = ynew(YN_SCALAR, file, 1, (int)klen + 2, cnt)) || !(val->s = strdup(""))) {
            yfree(val);
            return oom(err);
        }
        val->plain = true;
    }
    if (!*rootp && !(*rootp = ynew(YN_MAP, file, 1, 1, cnt))) {
        yfree(val);
        return oom(err);
    }
    ynode *m = *rootp;
    if (ncomp == 1 && !is_top_key(comp[0])) {
        /* Bare parameter name: fixed.NAME, and no longer varied. */
        unvary(m, comp[0]);
        comp[1] = comp[0];
        ccol[1] = ccol[0];
        comp[0] = "fixed";
        ncomp = 2;
    }
    for (size_t i = 0; i + 1 < ncomp; i++) {
        size_t at;
        ynode *child = ymap_get(m, comp[i], &at);
        if (child && yis_null(child)) {
            ynode *nm = ynew(YN_MAP, file, 1, ccol[i], cnt);
            if (!nm) {
                yfree(val);
                return oom(err);
            }
            yfree(child);
            child = YVAL(m, at) = nm;
        }
        if (!child) {
            ynode *nm = ynew(YN_MAP, file, 1, ccol[i], cnt);
            if (!nm) {
                yfree(val);
                return oom(err);
            }
            if ((st = set_key(m, comp[i], file, ccol[i], nm, cnt, err))) {
                yfree(val);
                return st;
            }
            child = nm;
        }
        if (child->kind != YN_MAP) {
            char got[80];
            describe(child, got, sizeof got);
            nm_err_at(err, file, 1, ccol[i + 1],
                      "cannot set '%.*s': '%s' is %s (at %s:%d:%d), not a mapping", (int)klen, arg,
                      comp[i], got, child->file, child->line, child->col);
            yfree(val);
            return NM_ERR_INPUT;
        }
        m = child;
    }
    return set_key(m, comp[ncomp - 1], file, ccol[ncomp - 1], val, cnt, err);
}

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
    free(sw->fixed);
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
        st = oom(err);
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
            st = oom(err);
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
        describe(root, got, sizeof got);
        st = bad(err, root,
                 "expected a mapping at the top level (kernel: ..., grid: ...), got %s", got);
        goto done;
    }
    if (root && yis_null(root)) {
        yfree(root);
        root = NULL;
    }
    for (size_t i = 0; i < noverrides && !st; i++)
        st = apply_set(overrides[i], names[i], &root, &cnt, err);
    if (!st)
        st = build(sw, path, root, err);
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

nm_status nm_spec_load(const char *path, char *const *overrides, size_t noverrides,
                       nm_sweep **out, nm_err *err)
{
    *out = NULL;
    char *buf;
    size_t len;
    nm_status rs = nm_input_read_spec(path, &buf, &len, err); /* input.c: regular files only */
    if (rs != NM_OK)
        return rs;
    nm_status st = nm_spec_parse(path, buf, len, overrides, noverrides, out, err);
    free(buf);
    return st;
}

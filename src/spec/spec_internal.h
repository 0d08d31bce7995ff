/* spec_internal.h: the parts of the spec reader (src/spec/), private to it.
 *
 *   yaml.c    libyaml events -> a small tree of nodes with their marks
 *   scalar.c  names (edit distance, suggestions) and scalar syntax
 *   axes.c    lists and ranges -> axis values, distinctness
 *   sample.c  the sample: block (a sampling design) -> the axis `sample`
 *   build.c   interpretation: the tree -> a validated nm_sweep
 *   set.c     --set overrides applied to the tree
 *   spec.c    the format (its comment) and the entry points */
#ifndef NEUROMIC_SPEC_INTERNAL_H
#define NEUROMIC_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "neuromic/error.h"
#include "neuromic/internal/grid.h"
#include "neuromic/kernel.h"

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

/* ---- the tree (yaml.c) ---- */

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

typedef struct {
    const char *file;
    const char *text;
    size_t len;
    int coloff; /* added to columns on line 1 (a --set value after KEY=) */
} ysrc;

nm_status spec_oom(nm_err *err); /* NM_ERR_RUNTIME "out of memory" */
ynode *ynew(int kind, const char *file, int line, int col, ycount *cnt);
bool ypush(ynode *parent, ynode *child);
void ydel(ynode *parent, size_t i, size_t count);
bool yis_null(const ynode *n);
bool ykey_is(const ynode *k, const char *name);
ynode *ymap_get(const ynode *m, const char *name, size_t *at);
void ydescribe(const ynode *n, char *buf, size_t len);
void ywhere(const ynode *at, const ynode *other, char *buf, size_t len);
nm_status ybad(nm_err *err, const ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
nm_status yload(const ysrc *src, ycount *cnt, ynode **out, nm_err *err);
void yfree(ynode *n);
ynode *ycopy(const ynode *src, ycount *cnt, bool *toomany);

/* ---- names and scalars (scalar.c) ---- */

#define NTOP 8
extern const char *const spec_top_keys[NTOP];
const char *spec_nearest(const char *name, const char *const *cands, size_t n);
void spec_didyoumean(const char *name, const char *const *cands, size_t n, char *buf, size_t len);
void spec_joinlist(const char *const *items, size_t n, char *buf, size_t len);
bool spec_is_top_key(const char *s);
int spec_int_syntax(const char *s, int64_t *v);
int spec_float_syntax(const char *s, double *v);
nm_status spec_get_int(nm_err *err, const ynode *n, const char *path, const char *what,
                         int64_t *v);
nm_status spec_get_num(nm_err *err, const ynode *n, const char *path, const char *what,
                         double *v);

/* ---- interpretation (build.c, axes.c) ---- */

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

nm_status spec_map_check(nm_err *err, const ynode *m, const char *path);
/* Checks mapping m (spec_map_check) and sorts its entries by a fixed set of
 * keys: kn[r] and vn[r] are the key and value nodes of keys[r], NULL when
 * absent. An unknown key is "PATH[.KEY]: unknown key 'KEY'WHAT (did you
 * mean ...?); HINT" (.KEY when keypath). */
nm_status spec_known_keys(nm_err *err, const ynode *m, const char *path, const char *const *keys,
                          int nkeys, const ynode **kn, const ynode **vn, bool keypath,
                          const char *what, const char *hint);
nm_status spec_conv(ictx *c, int pi, const ynode *n, const char *path, nm_value *out);
nm_status spec_build(nm_sweep *sw, const char *path, const ynode *root, nm_err *err);
nm_status spec_parse_axis(ictx *c, int pi, const ynode *v, const char *path, nm_value **out,
                            size_t *len);
nm_status spec_add_axis(ictx *c, const ynode *declnode, size_t nparams, nm_axis **ax);
nm_status spec_check_unique(ictx *c, const nm_axis *ax, const ynode *at, const ynode *list,
                              const char *path);
/* The point-layout index of the parameter named by key k (an error naming
 * path and the nearest name when there is none). */
nm_status spec_param_of(ictx *c, const ynode *k, const char *path, int *pi);
/* Records that parameter pi is declared at key k (an error naming both
 * places when it already was). */
nm_status spec_declare(ictx *c, int pi, const ynode *k, const char *path);
/* sample: (sample.c): the design and its axis `sample`, drawn from the
 * sweep's base_seed (so called after base_seed is read). */
nm_status spec_do_sample(ictx *c, const ynode *key, const ynode *m);

/* ---- overrides (set.c) ---- */

#define SET_SHOWN 200 /* characters of a --set argument quoted in messages */

nm_status spec_apply_set(const char *arg, const char *file, ynode **rootp, ycount *cnt,
                           nm_err *err);

#endif

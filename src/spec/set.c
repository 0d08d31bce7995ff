/* set.c: --set overrides, applied to the parsed tree before it is
 * interpreted. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_internal.h"

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
        return spec_oom(err);
    }
    k->plain = true;
    if (!ypush(m, val)) {
        m->n--;
        yfree(k);
        yfree(val);
        return spec_oom(err);
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
        } else if (ykey_is(k, "sample") && v->kind == YN_MAP) {
            ynode *ps = ymap_get(v, "params", NULL);
            if (ps && ps->kind == YN_MAP)
                del_key(ps, name);
        }
    }
    if (!strcmp(name, "seed"))
        del_key(root, "replicates");
}

#define SET_MAXCOMP 8

nm_status spec_apply_set(const char *arg, const char *file, ynode **rootp, ycount *cnt,
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
    if (ncomp > 1 && !spec_is_top_key(comp[0])) {
        char dym[80];
        spec_didyoumean(comp[0], spec_top_keys, NTOP, dym, sizeof dym);
        return nm_err_at(err, file, 1, 1,
                         "unknown key '%.*s'%s; expected a parameter name, kernel, base_seed, "
                         "replicates, fixed.NAME, grid.NAME, sample.KEY, output.checkpoint_every or "
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
            return spec_oom(err);
        }
        val->plain = true;
    }
    if (!*rootp && !(*rootp = ynew(YN_MAP, file, 1, 1, cnt))) {
        yfree(val);
        return spec_oom(err);
    }
    ynode *m = *rootp;
    if (ncomp == 1 && !spec_is_top_key(comp[0])) {
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
                return spec_oom(err);
            }
            yfree(child);
            child = YVAL(m, at) = nm;
        }
        if (!child) {
            ynode *nm = ynew(YN_MAP, file, 1, ccol[i], cnt);
            if (!nm) {
                yfree(val);
                return spec_oom(err);
            }
            if ((st = set_key(m, comp[i], file, ccol[i], nm, cnt, err))) {
                yfree(val);
                return st;
            }
            child = nm;
        }
        if (child->kind != YN_MAP) {
            char got[80];
            ydescribe(child, got, sizeof got);
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

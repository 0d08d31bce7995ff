/* scalar.c: names (edit distance, suggestions) and scalar syntax of the spec
 * reader. */
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
/* Names: edit distance and suggestions                                */
/* ------------------------------------------------------------------ */

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t spec_editdist(const char *a, const char *b)
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
const char *spec_nearest(const char *name, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t lc = strlen(cands[i]);
        size_t limit = lc <= 3 ? 1 : lc <= 6 ? 2 : 3;
        size_t d = spec_editdist(name, cands[i]);
        if (d <= limit && d < lc && d < bestd) {
            best = cands[i];
            bestd = d;
        }
    }
    return best;
}

/* " (did you mean 'x'?)" or "". */
void spec_didyoumean(const char *name, const char *const *cands, size_t n, char *buf, size_t len)
{
    const char *s = spec_nearest(name, cands, n);
    if (s)
        snprintf(buf, len, " (did you mean '%s'?)", s);
    else if (len)
        buf[0] = '\0';
}

void spec_joinlist(const char *const *items, size_t n, char *buf, size_t len)
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

const char *const spec_top_keys[NTOP] = {"kernel", "base_seed", "replicates", "fixed",
                                         "grid",   "zip",       "output",     "sample"};

bool spec_is_top_key(const char *s)
{
    for (size_t i = 0; i < NTOP; i++)
        if (!strcmp(s, spec_top_keys[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

/* 0: ok, 1: not an integer, 2: out of range. */
int spec_int_syntax(const char *s, int64_t *v)
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
int spec_float_syntax(const char *s, double *v)
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
nm_status spec_get_int(nm_err *err, const ynode *n, const char *path, const char *what,
                         int64_t *v)
{
    char got[80];
    ydescribe(n, got, sizeof got);
    int r = n->kind == YN_SCALAR && n->plain ? spec_int_syntax(n->s, v) : 1;
    if (r == 2)
        return ybad(err, n, "%s: integer %s is out of range", path, got);
    if (r)
        return ybad(err, n, "%s: expected %s, got %s", path, what, got);
    return NM_OK;
}

nm_status spec_get_num(nm_err *err, const ynode *n, const char *path, const char *what,
                         double *v)
{
    char got[80];
    ydescribe(n, got, sizeof got);
    int r = n->kind == YN_SCALAR && n->plain ? spec_float_syntax(n->s, v) : 1;
    if (r == 2)
        return ybad(err, n, "%s: number %s is too large", path, got);
    if (r)
        return ybad(err, n, "%s: expected %s, got %s", path, what, got);
    return NM_OK;
}

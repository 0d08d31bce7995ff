/* fd_digits.c: the 8x8 handwritten digits as scikit-learn ships them
 * (sklearn/datasets/data/digits.csv.gz; Debian's python3-sklearn): 1797
 * lines of 65 comma-separated integers, 64 pixels 0..16 row by row and the
 * class 0..9. zlib's gzgets reads the compressed and the plain file alike.
 * Anything else is an error that names the file, the line and the field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "folded.h"

enum { DIGITS_PIXELS = 64, DIGITS_FIELDS = 65, DIGITS_CLASSES = 10 };

const char *fd_digits_path(void)
{
    const char *p = getenv("NEUROMIC_DIGITS");
    return p && *p ? p : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
}

/* Parses one line into v[0..64]; false with why set on a malformed one. */
static bool parse_line(char *line, int *v, const char *path, size_t lineno, char *why,
                       size_t whylen)
{
    char *s = line;
    for (int f = 0; f < DIGITS_FIELDS; f++) {
        const char *what = f < DIGITS_PIXELS ? "pixel" : "label";
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno) {
            snprintf(why, whylen, "%s:%zu: field %d (%s): expected an integer, found '%.20s'",
                     path, lineno, f + 1, what, s);
            return false;
        }
        long hi = f < DIGITS_PIXELS ? 16 : DIGITS_CLASSES - 1;
        if (x < 0 || x > hi) {
            snprintf(why, whylen, "%s:%zu: field %d (%s): %ld is outside 0..%ld", path, lineno,
                     f + 1, what, x, hi);
            return false;
        }
        v[f] = (int)x;
        s = end;
        if (f < DIGITS_FIELDS - 1) {
            if (*s != ',') {
                snprintf(why, whylen, "%s:%zu: %d fields, expected %d (64 pixels and a label)",
                         path, lineno, f + 1, DIGITS_FIELDS);
                return false;
            }
            s++;
        }
    }
    s += strspn(s, " \t\r\n");
    if (*s) {
        snprintf(why, whylen, "%s:%zu: more than %d fields, expected 64 pixels and a label",
                 path, lineno, DIGITS_FIELDS);
        return false;
    }
    return true;
}

/* True, with why set, when zlib reports a damaged or truncated stream. */
static bool stream_error(gzFile f, const char *path, size_t lineno, char *why, size_t whylen)
{
    int code;
    const char *msg = gzerror(f, &code);
    if (code == Z_OK)
        return false;
    if (code == Z_BUF_ERROR)
        snprintf(why, whylen, "%s: truncated compressed data after line %zu", path, lineno);
    else
        snprintf(why, whylen, "%s: corrupt or unreadable after line %zu: %s", path, lineno,
                 code == Z_ERRNO ? strerror(errno) : msg);
    return true;
}

mc_data *fd_digits_read(const char *path, size_t max, char *why, size_t whylen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s: cannot open: %s (Debian: apt-get install python3-sklearn)",
                 path, errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    size_t cap = 2048, count = 0, lineno = 0;
    int *all = malloc(cap * DIGITS_FIELDS * sizeof *all);
    char line[1024];
    bool ok = all != NULL;
    if (!ok)
        snprintf(why, whylen, "%s: out of memory", path);
    while (ok && count < max && gzgets(f, line, sizeof line)) {
        lineno++;
        if (!strchr(line, '\n') && stream_error(f, path, lineno - 1, why, whylen)) {
            ok = false;
            break;
        }
        if (!strchr(line, '\n') && !gzeof(f)) {
            snprintf(why, whylen, "%s:%zu: line longer than %zu bytes", path, lineno,
                     sizeof line - 1);
            ok = false;
            break;
        }
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue; /* a blank line (a trailing newline) */
        if (count == cap) {
            int *more = realloc(all, 2 * cap * DIGITS_FIELDS * sizeof *all);
            if (!more) {
                snprintf(why, whylen, "%s: out of memory", path);
                ok = false;
                break;
            }
            all = more, cap *= 2;
        }
        ok = parse_line(line, all + count * DIGITS_FIELDS, path, lineno, why, whylen);
        count += ok;
    }
    if (ok && count < max && stream_error(f, path, lineno, why, whylen))
        ok = false; /* the loop ended at the end of the data or at an error */
    gzclose(f);
    if (ok && count == 0) {
        snprintf(why, whylen, "%s: no data lines", path);
        ok = false;
    }
    mc_data *d = ok ? mc_data_alloc(count, DIGITS_PIXELS, DIGITS_CLASSES) : NULL;
    if (ok && !d)
        snprintf(why, whylen, "%s: out of memory", path);
    for (size_t p = 0; d && p < count; p++) {
        const int *v = all + p * DIGITS_FIELDS;
        for (int j = 0; j < DIGITS_PIXELS; j++)
            d->x[p * DIGITS_PIXELS + (size_t)j] = v[j] / 16.0;
        d->label[p] = v[DIGITS_PIXELS];
        d->y[p * DIGITS_CLASSES + (size_t)d->label[p]] = 1.0;
    }
    free(all);
    return d;
}

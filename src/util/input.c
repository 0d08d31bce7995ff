/* input.c: reading sweep files and checking output paths (input.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "neuromic/internal/input.h"

/* Room the output's last path component needs for ".tmp.PID" (PIDs are at
 * most 2^22 on Linux, but leave room for 10 digits) and ".lock". */
#define OUTPUT_SUFFIX 16

nm_status nm_input_read_spec(const char *path, char **text, size_t *len, nm_err *err)
{
    *text = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait
     * forever; the type check below refuses it before any read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    nm_status st = NM_OK;
    if (fstat(fd, &sb) != 0)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(EISDIR));
    else if (!S_ISREG(sb.st_mode))
        st = nm_err_set(err, NM_ERR_INPUT,
                        "cannot read %s: not a regular file (a %s); give the sweep file itself",
                        path, S_ISFIFO(sb.st_mode)   ? "FIFO"
                              : S_ISCHR(sb.st_mode)  ? "character device"
                              : S_ISBLK(sb.st_mode)  ? "block device"
                              : S_ISSOCK(sb.st_mode) ? "socket"
                                                     : "special file");
    else if (sb.st_size > NM_SPEC_MAX_BYTES)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %lld bytes, more than the %ld a sweep "
                        "file may have", path, (long long)sb.st_size, NM_SPEC_MAX_BYTES);
    /* Read to the end, whatever st_size says (files in /proc report 0),
     * but never more than the limit. */
    size_t cap = st == NM_OK ? (size_t)sb.st_size + 1 : 0, n = 0;
    char *buf = st == NM_OK ? malloc(cap + 1) : NULL;
    if (st == NM_OK && !buf)
        st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory reading %s", path);
    if (st == NM_OK && fcntl(fd, F_SETFL, 0) != 0)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    while (st == NM_OK) {
        if (n == cap) {
            if (cap > (size_t)NM_SPEC_MAX_BYTES) {
                st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: more than the %ld bytes a "
                                "sweep file may have", path, NM_SPEC_MAX_BYTES);
                break;
            }
            size_t ncap = cap < 4096 ? 4096 : 2 * cap;
            char *b = realloc(buf, ncap + 1);
            if (!b) {
                st = nm_err_set(err, NM_ERR_RUNTIME, "out of memory reading %s", path);
                break;
            }
            buf = b;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
        else if (got == 0)
            break;
        else
            n += (size_t)got;
    }
    close(fd);
    if (st == NM_OK && n > (size_t)NM_SPEC_MAX_BYTES)
        st = nm_err_set(err, NM_ERR_INPUT, "cannot read %s: more than the %ld bytes a sweep "
                        "file may have", path, NM_SPEC_MAX_BYTES);
    if (st != NM_OK) {
        free(buf);
        return st;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return NM_OK;
}

nm_status nm_input_check_text(const char *path, const char *text, size_t len, nm_err *err)
{
    const unsigned char *u = (const unsigned char *)text;
    if ((len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) ||
        (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF))
        return nm_err_at(err, path, 1, 1, "the file starts with a UTF-16 or UTF-32 byte order "
                         "mark; sweep files are UTF-8 (convert it, e.g. with iconv -t UTF-8)");
    const char *nul = memchr(text, 0, len);
    if (!nul)
        return NM_OK;
    int line = 1, col = 1;
    for (const char *p = text; p < nul; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80)
            col++;
    }
    return nm_err_at(err, path, line, col, "NUL byte: sweep files are UTF-8 text (is this file "
                     "UTF-16 or binary? convert it, e.g. with iconv -t UTF-8)");
}

static const char *type_name(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

nm_status nm_output_check(const char *output, const char *spec, nm_err *err)
{
    size_t len = strlen(output);
    if (len == 0)
        return nm_err_set(err, NM_ERR_INPUT, "-o: empty file name");
    if (output[len - 1] == '/')
        return nm_err_set(err, NM_ERR_INPUT, "-o %s: not a file name (ends with '/')", output);
    if (len + OUTPUT_SUFFIX >= PATH_MAX)
        return nm_err_set(err, NM_ERR_INPUT, "-o: path of %zu bytes, longer than this system "
                          "allows (%d, with room for FILE.tmp.PID)", len, PATH_MAX - OUTPUT_SUFFIX);
    /* Every component must fit NAME_MAX; the last one leaves room for the
     * suffixes of the temporary file and the lock. */
    for (const char *p = output; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        bool last = p[n] == 0;
        if (n > NAME_MAX - (last ? OUTPUT_SUFFIX : 0))
            return nm_err_set(err, NM_ERR_INPUT, "-o: the name '%.40s...' has %zu bytes, more "
                              "than this system allows (%d%s)", p, n,
                              NAME_MAX - (last ? OUTPUT_SUFFIX : 0),
                              last ? ", with room for FILE.tmp.PID" : "");
        if (last && ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')))
            return nm_err_set(err, NM_ERR_INPUT, "-o %s: not a file name", output);
        p += n;
    }
    struct stat ob, sb;
    if (stat(output, &ob) != 0)
        return NM_OK; /* nothing there yet (a bad directory shows up at creation) */
    if (!S_ISREG(ob.st_mode))
        return nm_err_set(err, NM_ERR_INPUT, "-o %s: %s, not a result file; refusing to write "
                          "there", output, type_name(ob.st_mode));
    if (spec && stat(spec, &sb) == 0 && sb.st_dev == ob.st_dev && sb.st_ino == ob.st_ino)
        return nm_err_set(err, NM_ERR_INPUT, "-o %s: this is the sweep file itself; refusing to "
                          "overwrite it", output);
    return NM_OK;
}

/* The prefix of output that ends before its k-th '/' from the end (k >= 1),
 * or NULL if there is none. */
static char *parent_at(const char *output, int k)
{
    char *dir = strdup(output);
    for (int i = 0; dir && i < k; i++) {
        char *s = strrchr(dir, '/');
        while (s && s > dir && s[-1] == '/')
            s--;
        if (!s || s == dir) {
            free(dir);
            return NULL;
        }
        *s = 0;
    }
    return dir;
}

/* Removes the parents k = from..to of output (innermost first). */
static void remove_parents(const char *output, int from, int to)
{
    for (int k = from; k <= to; k++) {
        char *dir = parent_at(output, k);
        if (!dir)
            return;
        rmdir(dir); /* only if empty: never removes what another run made */
        free(dir);
    }
}

void nm_output_unmake_parents(const char *output, int made) { remove_parents(output, 1, made); }

nm_status nm_output_make_parents(const char *output, int *made, nm_err *err)
{
    *made = 0;
    /* Walk up to the first parent that exists, then create downwards. */
    int missing = 0;
    for (int k = 1;; k++) {
        char *dir = parent_at(output, k);
        if (!dir)
            break;
        struct stat sb;
        int r = stat(dir, &sb);
        free(dir);
        if (r == 0)
            break;
        missing = k;
    }
    for (int k = missing; k >= 1; k--) {
        char *dir = parent_at(output, k);
        if (!dir) {
            remove_parents(output, k + 1, missing);
            return nm_err_set(err, NM_ERR_RUNTIME, "out of memory");
        }
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            nm_status st = nm_err_set(err, NM_ERR_INPUT, "cannot create directory %s for %s: %s",
                                      dir, output, strerror(errno));
            free(dir);
            remove_parents(output, k + 1, missing);
            return st;
        }
        free(dir);
    }
    *made = missing;
    return NM_OK;
}

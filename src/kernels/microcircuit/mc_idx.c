/* mc_idx.c: a reader for IDX files, the format of MNIST, Fashion-MNIST and
 * EMNIST (http://yann.lecun.com/exdb/mnist/ describes it).
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type
 * these data sets use), the number of dimensions, then each dimension as a
 * big-endian uint32, then the data in row-major order. Debian ships the files
 * gzip-compressed; a name ending in ".gz" is read through `gzip -dc` so that
 * the program needs no compression library. Only the first max_items items
 * are read, which keeps reduced runs fast. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Opens plain files directly and .gz files through gzip; *piped says which
 * close to use. */
static FILE *open_idx(const char *path, bool *piped, char *why, size_t whylen)
{
    *piped = ends_with(path, ".gz");
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (!*piped)
        return f;
    fclose(f);
    /* The name goes to the shell in single quotes; refuse names that could
     * break out of them rather than escaping. */
    if (strchr(path, '\'')) {
        snprintf(why, whylen, "%s: file name contains a quote", path);
        return NULL;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' 2>/dev/null", path);
    f = popen(cmd, "r");
    if (!f)
        snprintf(why, whylen, "%s: cannot run gzip: %s", path, strerror(errno));
    return f;
}

static int close_idx(FILE *f, bool piped)
{
    return piped ? pclose(f) : fclose(f);
}

static int read_header(FILE *f, mc_idx *x, const char *path, char *why, size_t whylen)
{
    uint8_t h[4];
    if (fread(h, 1, 4, f) != 4) {
        snprintf(why, whylen, "%s: not an IDX file: shorter than its 4-byte magic number", path);
        return -1;
    }
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] < 1 || h[3] > 4) {
        snprintf(why, whylen,
                 "%s: not an IDX ubyte file: magic %02x %02x %02x %02x, expected 00 00 08 "
                 "and 1..4 dimensions",
                 path, h[0], h[1], h[2], h[3]);
        return -1;
    }
    x->ndims = h[3];
    x->item_size = 1;
    for (int d = 0; d < x->ndims; d++) {
        uint8_t b[4];
        if (fread(b, 1, 4, f) != 4) {
            snprintf(why, whylen, "%s: IDX header ends inside dimension %d", path, d);
            return -1;
        }
        x->dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (x->dims[d] == 0) {
            snprintf(why, whylen, "%s: IDX dimension %d is 0", path, d);
            return -1;
        }
        if (d > 0)
            x->item_size *= x->dims[d];
    }
    if (x->item_size > (1u << 24)) {
        snprintf(why, whylen, "%s: IDX items of %zu bytes are implausibly large", path,
                 x->item_size);
        return -1;
    }
    return 0;
}

mc_idx *mc_idx_read(const char *path, size_t max_items, char *why, size_t whylen)
{
    bool piped;
    FILE *f = open_idx(path, &piped, why, whylen);
    if (!f)
        return NULL;
    mc_idx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(why, whylen, "%s: out of memory", path);
        close_idx(f, piped);
        return NULL;
    }
    if (read_header(f, x, path, why, whylen) != 0)
        goto fail;
    x->count = x->dims[0] < max_items ? x->dims[0] : max_items;
    x->data = malloc(x->count * x->item_size + 1);
    if (!x->data) {
        snprintf(why, whylen, "%s: out of memory for %zu items", path, x->count);
        goto fail;
    }
    size_t got = fread(x->data, x->item_size, x->count, f);
    if (got != x->count) {
        snprintf(why, whylen, "%s: truncated IDX file: %zu of %zu items present", path, got,
                 x->count);
        goto fail;
    }
    if (piped) {
        /* Drain what we did not read so gzip exits cleanly, then check it. */
        char buf[65536];
        while (fread(buf, 1, sizeof buf, f) > 0) {
        }
    }
    int rc = close_idx(f, piped);
    if (piped && rc != 0) {
        snprintf(why, whylen, "%s: gzip failed to decompress it (status %d)", path, rc);
        mc_idx_free(x);
        return NULL;
    }
    return x;
fail:
    close_idx(f, piped);
    mc_idx_free(x);
    return NULL;
}

void mc_idx_free(mc_idx *x)
{
    if (!x)
        return;
    free(x->data);
    free(x);
}

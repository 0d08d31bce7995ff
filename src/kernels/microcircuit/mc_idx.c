/* mc_idx.c: a reader for IDX files, the format of MNIST, Fashion-MNIST and
 * EMNIST (http://yann.lecun.com/exdb/mnist/ describes it), and the images
 * and labels it gives turned into a task's data.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type
 * these data sets use), the number of dimensions, then each dimension as a
 * big-endian uint32, then the data in row-major order. Debian ships the files
 * gzip-compressed; zlib's gzread reads compressed and plain files alike, in
 * this process (no child process inside an MPI rank). Only the first
 * max_items items are read, which keeps reduced runs fast. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "mc.h"

/* Reads exactly len bytes; false on a short read or a decompression error
 * (then why says which, naming the file). */
static bool read_all(gzFile f, void *buf, size_t len, const char *path, const char *what,
                     char *why, size_t whylen)
{
    unsigned char *p = buf;
    while (len > 0) {
        unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
        int n = gzread(f, p, chunk);
        if (n < 0) {
            int code;
            const char *msg = gzerror(f, &code);
            size_t plen = strlen(path); /* zlib starts its message with the path */
            if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2))
                msg += plen + 2;
            snprintf(why, whylen, "%s: corrupt or unreadable while reading %s: %s", path, what,
                     code == Z_ERRNO ? strerror(errno) : msg);
            return false;
        }
        if (n == 0) {
            snprintf(why, whylen, "%s: truncated IDX file: it ends inside %s", path, what);
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static int read_header(gzFile f, mc_idx *x, const char *path, char *why, size_t whylen)
{
    uint8_t h[4];
    if (!read_all(f, h, 4, path, "its 4-byte magic number", why, whylen))
        return -1;
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
        if (!read_all(f, b, 4, path, "the header", why, whylen))
            return -1;
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
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s: cannot open: %s", path,
                 errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    mc_idx *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(why, whylen, "%s: out of memory", path);
        gzclose(f);
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
    char what[64];
    snprintf(what, sizeof what, "its first %zu items", x->count);
    if (!read_all(f, x->data, x->count * x->item_size, path, what, why, whylen))
        goto fail;
    gzclose(f);
    return x;
fail:
    gzclose(f);
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

mc_data *mc_data_idx(const mc_idx *im, const mc_idx *lb, const char *images, const char *labels,
                     size_t max, double lo, double hi, char *why, size_t whylen)
{
    if (im->ndims < 2 || lb->ndims != 1) {
        snprintf(why, whylen, "%s / %s: expected images with >= 2 dimensions and labels with 1",
                 images, labels);
        return NULL;
    }
    if (lb->count != im->count) {
        snprintf(why, whylen, "%s has %zu items but %s has %zu", images, im->count, labels,
                 lb->count);
        return NULL;
    }
    size_t count = im->count < max ? im->count : max;
    int nclass = 0;
    for (size_t p = 0; p < count; p++)
        nclass = lb->data[p] + 1 > nclass ? lb->data[p] + 1 : nclass;
    if (nclass > 10) {
        snprintf(why, whylen, "%s: labels up to %d, expected at most 10 classes", labels,
                 nclass - 1);
        return NULL;
    }
    mc_data *d = mc_data_alloc(count, im->item_size, 10);
    if (!d) {
        snprintf(why, whylen, "%s: out of memory", images);
        return NULL;
    }
    for (size_t p = 0; p < count; p++) {
        for (size_t i = 0; i < im->item_size; i++)
            d->x[p * im->item_size + i] = im->data[p * im->item_size + i] / 255.0;
        d->label[p] = lb->data[p];
        for (size_t c = 0; c < 10; c++)
            d->y[p * 10 + c] = (int)c == d->label[p] ? hi : lo;
    }
    return d;
}

/* sha256.h: SHA-256 (FIPS 180-4), for spec hashes and stream seeds. */
#ifndef NEUROMIC_SHA256_H
#define NEUROMIC_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} nm_sha256;

void nm_sha256_init(nm_sha256 *c);
void nm_sha256_update(nm_sha256 *c, const void *data, size_t len);
void nm_sha256_final(nm_sha256 *c, uint8_t out[32]);
/* One call: hex digest (65 bytes with the NUL). */
void nm_sha256_hex(const void *data, size_t len, char hex[65]);

#endif

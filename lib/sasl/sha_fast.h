/*
 * SHA-1 / SHA-256 and their HMAC over the x86 SHA extensions (sha_ni.c),
 * for SCRAM's per-login hashing: mbedTLS 2.28 hashes in portable C, and
 * a SCRAM-SHA-256 login does about a dozen compressions. Only call these
 * when xi_sha_ni_available() is true; otherwise use mbedTLS.
 */
#ifndef XI_SHA_FAST_H
#define XI_SHA_FAST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    unsigned char buf[64];
    size_t n;       /* bytes in buf */
    uint64_t total; /* bytes hashed */
    int sha1;       /* SHA-1 (5 words, 20 bytes) instead of SHA-256 */
} xi_sha_ctx;

typedef struct {
    xi_sha_ctx inner, outer;
} xi_hmac_ctx;

/* hash: XI_SCRAM_SHA1 or XI_SCRAM_SHA256. */
void xi_sha_init(xi_sha_ctx *c, int hash);
void xi_sha_update(xi_sha_ctx *c, const void *data, size_t len);
/* Writes 20 or 32 bytes and wipes the context. */
void xi_sha_final(xi_sha_ctx *c, unsigned char *out);

void xi_hmac_init(xi_hmac_ctx *c, int hash, const unsigned char *key,
                  size_t klen);
void xi_hmac_update(xi_hmac_ctx *c, const void *data, size_t len);
void xi_hmac_final(xi_hmac_ctx *c, unsigned char *out);

#endif

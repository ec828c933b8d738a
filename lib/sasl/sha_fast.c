/*
 * Streaming SHA-1/SHA-256 and HMAC on the SHA extensions; see sha_fast.h.
 */
#include <sodium.h>
#include <string.h>

#include "sasl/sasl_int.h"
#include "sasl/sha_fast.h"
#include "sasl/sha_ni.h"

static const uint32_t iv256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                  0xa54ff53a, 0x510e527f, 0x9b05688c,
                                  0x1f83d9ab, 0x5be0cd19};
static const uint32_t iv1[5] = {0x67452301, 0xefcdab89, 0x98badcfe,
                                0x10325476, 0xc3d2e1f0};

static void block(xi_sha_ctx *c, const unsigned char *b)
{
    if (c->sha1)
        xi_sha1_ni_block(c->h, b);
    else
        xi_sha256_ni_block(c->h, b);
}

void xi_sha_init(xi_sha_ctx *c, int hash)
{
    memset(c, 0, sizeof *c);
    c->sha1 = hash == XI_SCRAM_SHA1;
    if (c->sha1)
        memcpy(c->h, iv1, sizeof iv1);
    else
        memcpy(c->h, iv256, sizeof iv256);
}

void xi_sha_update(xi_sha_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->total += len;
    if (c->n) {
        size_t k = 64 - c->n < len ? 64 - c->n : len;
        memcpy(c->buf + c->n, p, k);
        c->n += k;
        p += k;
        len -= k;
        if (c->n < 64)
            return;
        block(c, c->buf);
        c->n = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        block(c, p);
    memcpy(c->buf, p, len);
    c->n = len;
}

void xi_sha_final(xi_sha_ctx *c, unsigned char *out)
{
    uint64_t bits = c->total * 8;
    c->buf[c->n++] = 0x80;
    if (c->n > 56) {
        memset(c->buf + c->n, 0, 64 - c->n);
        block(c, c->buf);
        c->n = 0;
    }
    memset(c->buf + c->n, 0, 56 - c->n);
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    block(c, c->buf);
    size_t words = c->sha1 ? 5 : 8;
    for (size_t i = 0; i < words; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->h[i];
    }
    sodium_memzero(c, sizeof *c);
}

void xi_hmac_init(xi_hmac_ctx *c, int hash, const unsigned char *key,
                  size_t klen)
{
    unsigned char k[64] = {0}, pad[64];
    if (klen > 64) {
        xi_sha_ctx t;
        xi_sha_init(&t, hash);
        xi_sha_update(&t, key, klen);
        xi_sha_final(&t, k);
    } else if (klen) {
        memcpy(k, key, klen);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    xi_sha_init(&c->inner, hash);
    xi_sha_update(&c->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    xi_sha_init(&c->outer, hash);
    xi_sha_update(&c->outer, pad, 64);
    sodium_memzero(k, sizeof k);
    sodium_memzero(pad, sizeof pad);
}

void xi_hmac_update(xi_hmac_ctx *c, const void *data, size_t len)
{
    xi_sha_update(&c->inner, data, len);
}

void xi_hmac_final(xi_hmac_ctx *c, unsigned char *out)
{
    unsigned char ih[32];
    size_t hl = c->inner.sha1 ? 20 : 32;
    xi_sha_final(&c->inner, ih);
    xi_sha_update(&c->outer, ih, hl);
    xi_sha_final(&c->outer, out);
    sodium_memzero(ih, sizeof ih);
}

/*
 * PBKDF2-HMAC with one output block (dkLen = hash length), the only size
 * SCRAM needs, at two compression-function calls per iteration.
 *
 * mbedtls_pkcs5_pbkdf2_hmac re-keys the HMAC every iteration (four
 * compressions); here the states after the ipad and opad blocks are
 * computed once and every iteration hashes one pre-padded block from each.
 * This halves the cost of account creation and PLAIN logins. It needs the
 * mbedTLS 2.x context layout (state[] is public there); meson checks for it
 * and the generic mbedTLS routine is used otherwise.
 */
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <sodium.h>

#include "sasl/sasl_int.h"
#include "sasl/sha_ni.h"
#include "xmppcore_config.h"

#if HAVE_MBEDTLS_SHA_STATE

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* One hash family behind function pointers, so SHA-1 and SHA-256 share
 * the iteration loop. */
typedef struct {
    size_t hlen;    /* digest bytes */
    size_t nstate;  /* 32-bit state words */
    void (*init)(void *ctx);
    void (*process)(void *ctx, const unsigned char block[64]);
    uint32_t *(*state)(void *ctx);
    void (*digest)(const unsigned char *in, size_t n, unsigned char *out);
} hash_ops;

static void s1_init(void *c)
{
    mbedtls_sha1_init(c);
    mbedtls_sha1_starts_ret(c);
}
static void s1_process(void *c, const unsigned char b[64])
{
    mbedtls_internal_sha1_process(c, b);
}
static uint32_t *s1_state(void *c)
{
    return ((mbedtls_sha1_context *)c)->state;
}
static void s1_digest(const unsigned char *in, size_t n, unsigned char *out)
{
    mbedtls_sha1_ret(in, n, out);
}
static void s256_init(void *c)
{
    mbedtls_sha256_init(c);
    mbedtls_sha256_starts_ret(c, 0);
}
static void s256_process(void *c, const unsigned char b[64])
{
    mbedtls_internal_sha256_process(c, b);
}
static uint32_t *s256_state(void *c)
{
    return ((mbedtls_sha256_context *)c)->state;
}
static void s256_digest(const unsigned char *in, size_t n, unsigned char *out)
{
    mbedtls_sha256_ret(in, n, out, 0);
}

static const hash_ops ops_sha1 = {20, 5, s1_init, s1_process, s1_state,
                                  s1_digest};
static const hash_ops ops_sha256 = {32, 8, s256_init, s256_process,
                                    s256_state, s256_digest};

typedef union {
    mbedtls_sha1_context s1;
    mbedtls_sha256_context s256;
} any_ctx;

/* Runs the compression on block from state `from`, big-endian digest to
 * out: with the SHA extensions when the CPU has them. */
static void compress_from(const hash_ops *h, any_ctx *ctx, const uint32_t *from,
                          const unsigned char block[64], unsigned char *out,
                          void (*ni)(uint32_t *, const unsigned char *))
{
    uint32_t tmp[8];
    uint32_t *st = ni ? tmp : h->state(ctx);
    memcpy(st, from, h->nstate * 4);
    if (ni)
        ni(st, block);
    else
        h->process(ctx, block);
    for (size_t i = 0; i < h->nstate; i++)
        put_be32(out + 4 * i, st[i]);
}

int xi_pbkdf2_block(int hash, const char *pw, size_t plen,
                    const unsigned char *salt, size_t slen, uint32_t iterations,
                    unsigned char *out)
{
    const hash_ops *h = hash == XI_SCRAM_SHA1 ? &ops_sha1 : &ops_sha256;
    unsigned char key[64] = {0}, pad[64], u[32], t[32], block[64];
    uint32_t istate[8], ostate[8];
    any_ctx ctx;

    if (iterations == 0)
        return XMPPCORE_E_INVAL;
    /* HMAC key: the password, hashed if longer than a block. */
    if (plen > 64)
        h->digest((const unsigned char *)pw, plen, key);
    else
        memcpy(key, pw, plen);
    for (int i = 0; i < 64; i++)
        pad[i] = key[i] ^ 0x36;
    h->init(&ctx);
    h->process(&ctx, pad);
    memcpy(istate, h->state(&ctx), h->nstate * 4);
    for (int i = 0; i < 64; i++)
        pad[i] = key[i] ^ 0x5c;
    h->init(&ctx);
    h->process(&ctx, pad);
    memcpy(ostate, h->state(&ctx), h->nstate * 4);

    /* U1 = HMAC(P, salt || INT(1)), through the generic HMAC since the
     * salt may be long. */
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(
        hash == XI_SCRAM_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
    mbedtls_md_context_t mctx;
    unsigned char one[4] = {0, 0, 0, 1};
    int rc = XMPPCORE_E_INTERNAL;
    mbedtls_md_init(&mctx);
    if (mbedtls_md_setup(&mctx, md, 1) != 0 ||
        mbedtls_md_hmac_starts(&mctx, (const unsigned char *)pw, plen) != 0 ||
        mbedtls_md_hmac_update(&mctx, salt, slen) != 0 ||
        mbedtls_md_hmac_update(&mctx, one, 4) != 0 ||
        mbedtls_md_hmac_finish(&mctx, u) != 0)
        goto done;
    memcpy(t, u, h->hlen);

    /* Each later U hashes hlen bytes after a 64-byte pad block: one padded
     * block whose tail (0x80, zeros, bit length) never changes. */
    memset(block, 0, sizeof block);
    block[h->hlen] = 0x80;
    uint32_t bits = (uint32_t)(64 + h->hlen) * 8;
    put_be32(block + 60, bits);
    void (*ni)(uint32_t *, const unsigned char *) = NULL;
    if (xi_sha_ni_available())
        ni = hash == XI_SCRAM_SHA1 ? xi_sha1_ni_block : xi_sha256_ni_block;
    for (uint32_t it = 1; it < iterations; it++) {
        memcpy(block, u, h->hlen);
        compress_from(h, &ctx, istate, block, u, ni); /* inner */
        memcpy(block, u, h->hlen);
        compress_from(h, &ctx, ostate, block, u, ni); /* outer */
        for (size_t i = 0; i < h->hlen; i++)
            t[i] ^= u[i];
    }
    memcpy(out, t, h->hlen);
    rc = 0;
done:
    mbedtls_md_free(&mctx);
    sodium_memzero(key, sizeof key);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(u, sizeof u);
    sodium_memzero(t, sizeof t);
    sodium_memzero(block, sizeof block);
    sodium_memzero(istate, sizeof istate);
    sodium_memzero(ostate, sizeof ostate);
    sodium_memzero(&ctx, sizeof ctx);
    return rc;
}

#else /* mbedTLS without a public state: the generic routine */

int xi_pbkdf2_block(int hash, const char *pw, size_t plen,
                    const unsigned char *salt, size_t slen, uint32_t iterations,
                    unsigned char *out)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(
        hash == XI_SCRAM_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
    mbedtls_md_context_t ctx;
    int rc = XMPPCORE_E_INTERNAL;
    if (iterations == 0)
        return XMPPCORE_E_INVAL;
    mbedtls_md_init(&ctx);
    if (mbedtls_md_setup(&ctx, md, 1) == 0 &&
        mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw, plen, salt,
                                  slen, iterations,
                                  (uint32_t)xi_scram_hash_len(hash), out) == 0)
        rc = 0;
    mbedtls_md_free(&ctx);
    return rc;
}

#endif

/*
 * The PLAIN verifier cache: remembers that a (domain, user, password,
 * StoredKey) tuple was verified, as an HMAC-SHA-256 under a secret drawn
 * when the cache is made, so a repeated PLAIN login skips PBKDF2. Only
 * digests are kept; a memory dump reveals no password. Entries live in a
 * fixed ring: the oldest is replaced when full.
 */
#include <mbedtls/md.h>
#include <sodium.h>

#include "sasl/sasl_int.h"

#define CACHE_KEY_LEN 32
#define CACHE_DEFAULT_CAPACITY 256

struct xi_sasl_cache {
    const xmppcore_mem *mem;
    unsigned char secret[32];
    unsigned char (*entries)[CACHE_KEY_LEN];
    size_t cap, n, next;
    unsigned long hits, misses;
};

xi_sasl_cache *xi_sasl_cache_new(const xmppcore_mem *mem, size_t capacity,
                                 xmppcore_rng_fn rng, void *rng_user_data)
{
    xi_sasl_cache *c;

    mem = xi_mem(mem);
    if (capacity == 0)
        capacity = CACHE_DEFAULT_CAPACITY;
    if (capacity > SIZE_MAX / CACHE_KEY_LEN)
        return NULL;
    if (!rng)
        rng = xmppcore_rng_default;
    c = xi_calloc(mem, sizeof *c);
    if (!c)
        return NULL;
    c->mem = mem;
    c->cap = capacity;
    c->entries = xi_calloc(mem, capacity * CACHE_KEY_LEN);
    if (!c->entries || rng(c->secret, sizeof c->secret, rng_user_data) != 0) {
        xi_sasl_cache_free(c);
        return NULL;
    }
    return c;
}

void xi_sasl_cache_clear(xi_sasl_cache *c)
{
    if (!c)
        return;
    sodium_memzero(c->entries, c->cap * CACHE_KEY_LEN);
    c->n = c->next = 0;
}

void xi_sasl_cache_free(xi_sasl_cache *c)
{
    if (!c)
        return;
    if (c->entries) {
        sodium_memzero(c->entries, c->cap * CACHE_KEY_LEN);
        xi_free(c->mem, c->entries);
    }
    const xmppcore_mem *mem = c->mem;
    sodium_memzero(c, sizeof *c);
    xi_free(mem, c);
}

void xi_sasl_cache_stats(const xi_sasl_cache *c, unsigned long *hits,
                         unsigned long *misses)
{
    if (hits)
        *hits = c ? c->hits : 0;
    if (misses)
        *misses = c ? c->misses : 0;
}

static int cache_key(const xi_sasl_cache *c, const char *domain,
                     const char *user, const char *pw, size_t pwlen,
                     const unsigned char *stored, size_t slen,
                     unsigned char *out)
{
    static const unsigned char zero = 0;
    mbedtls_md_context_t ctx;
    int rc = -1;

    mbedtls_md_init(&ctx);
    /* NUL separators are unambiguous: none of the strings holds a NUL
     * (PLAIN splits on them) and the StoredKey comes last. */
    if (mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                         1) == 0 &&
        mbedtls_md_hmac_starts(&ctx, c->secret, sizeof c->secret) == 0 &&
        mbedtls_md_hmac_update(&ctx, (const unsigned char *)domain,
                               strlen(domain)) == 0 &&
        mbedtls_md_hmac_update(&ctx, &zero, 1) == 0 &&
        mbedtls_md_hmac_update(&ctx, (const unsigned char *)user,
                               strlen(user)) == 0 &&
        mbedtls_md_hmac_update(&ctx, &zero, 1) == 0 &&
        mbedtls_md_hmac_update(&ctx, (const unsigned char *)pw, pwlen) == 0 &&
        mbedtls_md_hmac_update(&ctx, &zero, 1) == 0 &&
        mbedtls_md_hmac_update(&ctx, stored, slen) == 0 &&
        mbedtls_md_hmac_finish(&ctx, out) == 0)
        rc = 0;
    mbedtls_md_free(&ctx);
    return rc;
}

bool xi_sasl_cache_lookup(xi_sasl_cache *c, const char *domain,
                          const char *user, const char *pw, size_t pwlen,
                          const unsigned char *stored, size_t slen)
{
    unsigned char key[CACHE_KEY_LEN];
    bool found = false;

    if (!c || cache_key(c, domain, user, pw, pwlen, stored, slen, key) != 0)
        return false;
    /* Compare against every entry so the time does not tell where (or
     * whether) the entry is. */
    for (size_t i = 0; i < c->n; i++)
        found |= sodium_memcmp(c->entries[i], key, CACHE_KEY_LEN) == 0;
    sodium_memzero(key, sizeof key);
    if (found)
        c->hits++;
    else
        c->misses++;
    return found;
}

void xi_sasl_cache_insert(xi_sasl_cache *c, const char *domain,
                          const char *user, const char *pw, size_t pwlen,
                          const unsigned char *stored, size_t slen)
{
    unsigned char key[CACHE_KEY_LEN];

    if (!c || cache_key(c, domain, user, pw, pwlen, stored, slen, key) != 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (sodium_memcmp(c->entries[i], key, CACHE_KEY_LEN) == 0) {
            sodium_memzero(key, sizeof key);
            return;
        }
    }
    memcpy(c->entries[c->next], key, CACHE_KEY_LEN);
    c->next = (c->next + 1) % c->cap;
    if (c->n < c->cap)
        c->n++;
    sodium_memzero(key, sizeof key);
}

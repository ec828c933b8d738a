/*
 * The PLAIN verifier cache: remembers that a (domain, user, password,
 * StoredKey) tuple was verified, as an HMAC-SHA-256 under a secret drawn
 * when the cache is made, so a repeated PLAIN login skips PBKDF2. Only
 * digests are kept; a memory dump reveals no password.
 *
 * Entries live in a set-associative table with two choices: two slices
 * of the digest pick two sets of CACHE_WAYS entries; a new entry goes to
 * the emptier one, and only when both are full does the first replace
 * its oldest entry. A lookup compares two sets, not the table, so its
 * cost does not grow with the capacity, and the table fills to about
 * 90% before anything is evicted (one choice evicted a few per cent of
 * the entries at 60%). Where an entry sits tells nothing: the digest
 * is keyed with the secret, so neither the set nor the position can be
 * predicted or related to a user or password.
 */
#include <mbedtls/md.h>
#include <sodium.h>

#include "sasl/sasl_int.h"
#include "sasl/sha_fast.h"
#include "sasl/sha_ni.h"

#define CACHE_KEY_LEN 32
#define CACHE_DEFAULT_CAPACITY 256
#define CACHE_WAYS 8

struct xi_sasl_cache {
    const xmppcore_mem *mem;
    unsigned char secret[32];
    unsigned char (*entries)[CACHE_KEY_LEN]; /* nsets * ways */
    unsigned char *fill;                     /* per set: entries in use */
    unsigned char *next;                     /* per set: oldest entry */
    size_t nsets, ways;
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
    /* A power-of-two number of sets, so the index is a mask; the
     * capacity is rounded down to a multiple of the ways, at least one
     * set. */
    c->ways = capacity < CACHE_WAYS ? capacity : CACHE_WAYS;
    c->nsets = 1;
    while (c->nsets * 2 * c->ways <= capacity)
        c->nsets *= 2;
    c->entries = xi_calloc(mem, c->nsets * c->ways * CACHE_KEY_LEN);
    c->fill = xi_calloc(mem, c->nsets);
    c->next = xi_calloc(mem, c->nsets);
    if (!c->entries || !c->fill || !c->next ||
        rng(c->secret, sizeof c->secret, rng_user_data) != 0) {
        xi_sasl_cache_free(c);
        return NULL;
    }
    return c;
}

void xi_sasl_cache_clear(xi_sasl_cache *c)
{
    if (!c)
        return;
    sodium_memzero(c->entries, c->nsets * c->ways * CACHE_KEY_LEN);
    memset(c->fill, 0, c->nsets);
    memset(c->next, 0, c->nsets);
}

void xi_sasl_cache_free(xi_sasl_cache *c)
{
    if (!c)
        return;
    if (c->entries) {
        sodium_memzero(c->entries, c->nsets * c->ways * CACHE_KEY_LEN);
        xi_free(c->mem, c->entries);
    }
    xi_free(c->mem, c->fill);
    xi_free(c->mem, c->next);
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

    if (xi_sha_ni_available()) {
        xi_hmac_ctx h;
        xi_hmac_init(&h, XI_SCRAM_SHA256, c->secret, sizeof c->secret);
        xi_hmac_update(&h, domain, strlen(domain));
        xi_hmac_update(&h, &zero, 1);
        xi_hmac_update(&h, user, strlen(user));
        xi_hmac_update(&h, &zero, 1);
        xi_hmac_update(&h, pw, pwlen);
        xi_hmac_update(&h, &zero, 1);
        xi_hmac_update(&h, stored, slen);
        xi_hmac_final(&h, out);
        return 0;
    }

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

/* The which-th (0 or 1) candidate set of key. */
static size_t set_of(const xi_sasl_cache *c, const unsigned char *key,
                     int which)
{
    const unsigned char *k = key + 4 * which;
    size_t v = (size_t)k[0] | (size_t)k[1] << 8 | (size_t)k[2] << 16 |
               (size_t)k[3] << 24;
    return v & (c->nsets - 1);
}

static bool in_set(const xi_sasl_cache *c, size_t set, const unsigned char *key)
{
    const unsigned char(*e)[CACHE_KEY_LEN] = c->entries + set * c->ways;
    bool found = false;
    for (size_t i = 0; i < c->fill[set]; i++)
        found |= sodium_memcmp(e[i], key, CACHE_KEY_LEN) == 0;
    return found;
}

bool xi_sasl_cache_lookup(xi_sasl_cache *c, const char *domain,
                          const char *user, const char *pw, size_t pwlen,
                          const unsigned char *stored, size_t slen)
{
    unsigned char key[CACHE_KEY_LEN];
    bool found = false;

    if (!c || cache_key(c, domain, user, pw, pwlen, stored, slen, key) != 0)
        return false;
    found = in_set(c, set_of(c, key, 0), key) ||
            in_set(c, set_of(c, key, 1), key);
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
    size_t a = set_of(c, key, 0), b = set_of(c, key, 1);
    if (in_set(c, a, key) || in_set(c, b, key)) {
        sodium_memzero(key, sizeof key);
        return;
    }
    size_t set = c->fill[b] < c->fill[a] ? b : a;
    unsigned char(*e)[CACHE_KEY_LEN] = c->entries + set * c->ways;
    if (c->fill[set] < c->ways) {
        memcpy(e[c->fill[set]++], key, CACHE_KEY_LEN);
    } else {
        memcpy(e[c->next[set]], key, CACHE_KEY_LEN);
        c->next[set] = (unsigned char)((c->next[set] + 1) % c->ways);
    }
    sodium_memzero(key, sizeof key);
}

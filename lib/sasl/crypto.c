/*
 * SCRAM arithmetic on mbedTLS (HMAC, digests, PBKDF2), the string
 * preparation of usernames and passwords, and the public credential
 * derivation API (include/xmppcore/sasl.h). Every intermediate secret is
 * wiped with sodium_memzero.
 */
#include <mbedtls/md.h>
#include <sodium.h>

#include "jid/precis.h"
#include "sasl/sasl_int.h"
#include "sasl/sha_fast.h"
#include "sasl/sha_ni.h"
#include "xmppcore/jid.h"
#include "xmppcore/sasl.h"

static const mbedtls_md_info_t *md_info(int hash)
{
    return mbedtls_md_info_from_type(hash == XI_SCRAM_SHA1 ? MBEDTLS_MD_SHA1
                                                           : MBEDTLS_MD_SHA256);
}

size_t xi_scram_hash_len(int hash)
{
    return hash == XI_SCRAM_SHA1 ? 20 : 32;
}

int xi_scram_hmac(int hash, const unsigned char *key, size_t klen,
                  const void *data, size_t dlen, unsigned char *out)
{
    if (xi_sha_ni_available() &&
        (hash == XI_SCRAM_SHA1 || hash == XI_SCRAM_SHA256)) {
        xi_hmac_ctx c;
        xi_hmac_init(&c, hash, key, klen);
        xi_hmac_update(&c, data, dlen);
        xi_hmac_final(&c, out);
        return 0;
    }
    const mbedtls_md_info_t *md = md_info(hash);
    if (!md || mbedtls_md_hmac(md, key, klen, data, dlen, out) != 0)
        return XMPPCORE_E_INTERNAL;
    return 0;
}

int xi_scram_digest(int hash, const void *data, size_t dlen,
                    unsigned char *out)
{
    if (xi_sha_ni_available() &&
        (hash == XI_SCRAM_SHA1 || hash == XI_SCRAM_SHA256)) {
        xi_sha_ctx c;
        xi_sha_init(&c, hash);
        xi_sha_update(&c, data, dlen);
        xi_sha_final(&c, out);
        return 0;
    }
    const mbedtls_md_info_t *md = md_info(hash);
    if (!md || mbedtls_md(md, data, dlen, out) != 0)
        return XMPPCORE_E_INTERNAL;
    return 0;
}

int xi_scram_salted_password(int hash, const char *pw, size_t plen,
                             const unsigned char *salt, size_t slen,
                             uint32_t iterations, unsigned char *out)
{
    return xi_pbkdf2_block(hash, pw, plen, salt, slen, iterations, out);
}

int xi_scram_keys_from_salted(int hash, const unsigned char *salted,
                              unsigned char *stored, unsigned char *server)
{
    unsigned char client_key[XI_SASL_HASH_MAX];
    size_t hl = xi_scram_hash_len(hash);
    int rc = xi_scram_hmac(hash, salted, hl, "Client Key", 10, client_key);
    if (rc == 0)
        rc = xi_scram_digest(hash, client_key, hl, stored);
    if (rc == 0 && server)
        rc = xi_scram_hmac(hash, salted, hl, "Server Key", 10, server);
    sodium_memzero(client_key, sizeof client_key);
    return rc;
}

int xi_scram_derive_keys(int hash, const char *password, size_t len,
                         const unsigned char *salt, size_t salt_len,
                         uint32_t iterations, xmppcore_scram_keys *keys)
{
    unsigned char salted[XI_SASL_HASH_MAX];
    int rc;

    if ((hash != XI_SCRAM_SHA1 && hash != XI_SCRAM_SHA256) || !keys ||
        (!password && len) || !salt || salt_len == 0 ||
        salt_len > XMPPCORE_SCRAM_SALT_MAX || iterations == 0)
        return XMPPCORE_E_INVAL;
    memset(keys, 0, sizeof *keys);
    rc = xi_scram_salted_password(hash, password, len, salt, salt_len,
                                  iterations, salted);
    if (rc == 0)
        rc = xi_scram_keys_from_salted(hash, salted, keys->stored_key,
                                       keys->server_key);
    sodium_memzero(salted, sizeof salted);
    if (rc != 0) {
        sodium_memzero(keys, sizeof *keys);
        return rc;
    }
    keys->iterations = iterations;
    keys->salt_len = (uint32_t)salt_len;
    memcpy(keys->salt, salt, salt_len);
    return 0;
}

/*
 * String preparation (RFC 8265): usernames with PRECIS UsernameCaseMapped
 * (as JID localparts), passwords with OpaqueString. Disallowed or empty
 * input gives XMPPCORE_E_INVAL, output too long XMPPCORE_E_RANGE.
 */
static int prep(int profile, const char *in, size_t len, char *out,
                size_t outsz)
{
    if (!in || len == 0)
        return XMPPCORE_E_INVAL;
    int n = xi_precis_enforce(profile, in, len, out, outsz);
    if (n == XMPPCORE_E_RANGE)
        return n;
    if (n <= 0)
        return XMPPCORE_E_INVAL;
    /* RFC 7622 §3.3.1: characters a localpart may not hold even though
     * PRECIS allows them. */
    if (profile == XI_PRECIS_USERNAME_CASEMAPPED && strpbrk(out, "\"&'/:<>@"))
        return XMPPCORE_E_INVAL;
    return n;
}

int xi_sasl_prep_username(const char *in, size_t len, char *out,
                          size_t outsz)
{
    if (len > XMPPCORE_JID_PART_MAX)
        return XMPPCORE_E_RANGE;
    return prep(XI_PRECIS_USERNAME_CASEMAPPED, in, len, out, outsz);
}

int xi_sasl_prep_password(const char *in, size_t len, char *out,
                          size_t outsz)
{
    return prep(XI_PRECIS_OPAQUE_STRING, in, len, out, outsz);
}

int xmppcore_credentials_derive(const char *password, size_t len,
                                uint32_t iterations, xmppcore_rng_fn rng,
                                void *rng_user_data,
                                xmppcore_credentials *out)
{
    char pw[XI_SASL_PASS_MAX];
    unsigned char salt[XMPPCORE_SCRAM_SALT_LEN];
    int rc, plen;

    if (!out)
        return XMPPCORE_E_INVAL;
    memset(out, 0, sizeof *out);
    if (!password)
        return XMPPCORE_E_INVAL;
    if (iterations == 0)
        iterations = XMPPCORE_SCRAM_ITERATIONS_DEFAULT;
    if (iterations < XMPPCORE_SCRAM_ITERATIONS_MIN ||
        iterations > XMPPCORE_SCRAM_ITERATIONS_MAX)
        return XMPPCORE_E_RANGE;
    if (!rng)
        rng = xmppcore_rng_default;
    plen = xi_sasl_prep_password(password, len, pw, sizeof pw);
    if (plen < 0) {
        sodium_memzero(pw, sizeof pw);
        return XMPPCORE_E_INVAL;
    }
    rc = rng(salt, sizeof salt, rng_user_data);
    if (rc == 0)
        rc = xi_scram_derive_keys(XI_SCRAM_SHA1, pw, (size_t)plen, salt,
                                  sizeof salt, iterations, &out->sha1);
    if (rc == 0)
        rc = rng(salt, sizeof salt, rng_user_data);
    if (rc == 0)
        rc = xi_scram_derive_keys(XI_SCRAM_SHA256, pw, (size_t)plen, salt,
                                  sizeof salt, iterations, &out->sha256);
    sodium_memzero(pw, sizeof pw);
    if (rc != 0) {
        sodium_memzero(out, sizeof *out);
        return rc < 0 ? rc : XMPPCORE_E_INTERNAL;
    }
    return 0;
}

const xmppcore_scram_keys *xi_sasl_plain_keys(const xmppcore_credentials *c,
                                              int *hash)
{
    const xmppcore_scram_keys *k = NULL;
    if (c->sha256.iterations > 0) {
        k = &c->sha256;
        *hash = XI_SCRAM_SHA256;
    } else if (c->sha1.iterations > 0) {
        k = &c->sha1;
        *hash = XI_SCRAM_SHA1;
    }
    if (k && (k->salt_len == 0 || k->salt_len > XMPPCORE_SCRAM_SALT_MAX))
        k = NULL;
    return k;
}

int xmppcore_credentials_check_password(const xmppcore_credentials *c,
                                        const char *password, size_t len)
{
    char pw[XI_SASL_PASS_MAX];
    unsigned char salted[XI_SASL_HASH_MAX], stored[XI_SASL_HASH_MAX];
    const xmppcore_scram_keys *k;
    int hash = XI_SCRAM_SHA256, plen, rc;

    if (!c || !password)
        return XMPPCORE_E_INVAL;
    k = xi_sasl_plain_keys(c, &hash);
    if (!k)
        return XMPPCORE_E_AUTH;
    plen = xi_sasl_prep_password(password, len, pw, sizeof pw);
    if (plen < 0) {
        sodium_memzero(pw, sizeof pw);
        return XMPPCORE_E_AUTH;
    }
    rc = xi_scram_salted_password(hash, pw, (size_t)plen, k->salt,
                                  k->salt_len, k->iterations, salted);
    sodium_memzero(pw, sizeof pw);
    if (rc == 0)
        rc = xi_scram_keys_from_salted(hash, salted, stored, NULL);
    if (rc == 0 && sodium_memcmp(stored, k->stored_key,
                                 xi_scram_hash_len(hash)) != 0)
        rc = XMPPCORE_E_AUTH;
    sodium_memzero(salted, sizeof salted);
    sodium_memzero(stored, sizeof stored);
    return rc;
}

/*
 * Private to lib/sasl: the exchange object and the hash helpers shared by
 * the mechanism files. Not used outside this folder.
 */
#ifndef XI_SASL_INT_H
#define XI_SASL_INT_H

#include "core/core.h"
#include "sasl/sasl.h"

/* Limits: a client message after base64 decoding, a prepared username
 * (a JID localpart is at most 1023 bytes) and a password. */
#define XI_SASL_MSG_MAX 8192
#define XI_SASL_USER_MAX 1024
#define XI_SASL_PASS_MAX 1024
#define XI_SASL_SECRET_MIN 16
#define XI_SASL_SECRET_MAX 64
#define XI_SASL_HASH_MAX 32

enum {
    XI_MECH_NONE = 0,
    XI_MECH_SCRAM_SHA1,
    XI_MECH_SCRAM_SHA1_PLUS,
    XI_MECH_SCRAM_SHA256,
    XI_MECH_SCRAM_SHA256_PLUS,
    XI_MECH_PLAIN,
    XI_MECH_ANONYMOUS,
};

/* Where an exchange is. */
enum {
    XI_PH_INIT = 0,         /* before start */
    XI_PH_WAIT_FIRST,       /* empty challenge sent, want the first message */
    XI_PH_WAIT_CREDS,       /* NEED_CREDENTIALS returned */
    XI_PH_WAIT_FINAL,       /* SCRAM server-first sent */
    XI_PH_DONE,             /* SUCCESS or FAILURE */
};

struct xi_sasl {
    const xmppcore_mem *mem;
    xmppcore_rng_fn rng;
    void *rng_user_data;
    char *domain;
    unsigned char secret[XI_SASL_SECRET_MAX];
    size_t secret_len;
    uint32_t fake_iterations;
    unsigned flags;
    unsigned char *cb_ep, *cb_unique;
    size_t cb_ep_len, cb_unique_len;
    xi_sasl_cache *cache;

    int mech;
    int phase;
    int status;
    int cond;
    const char *text;
    int error;
    bool anonymous;
    unsigned pbkdf2_runs;

    char username[XI_SASL_USER_MAX];
    bool have_user;
    char *authzid;

    unsigned char *out; /* challenge or success data */
    size_t out_len;
    bool has_out;
    char *out_b64;

    /* SCRAM */
    int hash;                  /* XI_SCRAM_SHA1 / XI_SCRAM_SHA256 */
    bool plus;
    char *test_nonce;
    char *gs2_header;          /* up to and including the second ',' */
    size_t gs2_len;
    const unsigned char *cb_data; /* points at cb_ep/cb_unique, or NULL */
    size_t cb_len;
    char *client_first_bare;
    char *server_first;
    char *nonce;               /* client nonce + server nonce */
    size_t client_nonce_len;
    xmppcore_scram_keys keys;
    bool fake_user;
    unsigned cred_flags;

    /* PLAIN: the prepared password while the lookup runs */
    char *password;
    size_t password_len;
};

/* Hash helpers over mbedTLS: 0 or XMPPCORE_E_INTERNAL. */
size_t xi_scram_hash_len(int hash);
int xi_scram_hmac(int hash, const unsigned char *key, size_t klen,
                  const void *data, size_t dlen, unsigned char *out);
int xi_scram_digest(int hash, const void *data, size_t dlen,
                    unsigned char *out);
int xi_scram_salted_password(int hash, const char *pw, size_t plen,
                             const unsigned char *salt, size_t slen,
                             uint32_t iterations, unsigned char *out);
/* PBKDF2-HMAC, one output block (pbkdf2.c). 0, XMPPCORE_E_INVAL or
 * XMPPCORE_E_INTERNAL. */
int xi_pbkdf2_block(int hash, const char *pw, size_t plen,
                    const unsigned char *salt, size_t slen, uint32_t iterations,
                    unsigned char *out);
/* StoredKey and ServerKey from SaltedPassword. */
int xi_scram_keys_from_salted(int hash, const unsigned char *salted,
                              unsigned char *stored, unsigned char *server);

/* Exchange helpers used by the mechanism files. */
int xi_sasl_fail(xi_sasl *s, int cond, const char *text);
int xi_sasl_fail_internal(xi_sasl *s, int err);
int xi_sasl_set_output(xi_sasl *s, const void *data, size_t len,
                       int status);
/* Ends a verified exchange: account flags and authzid checks, then
 * SUCCESS with data (the SCRAM server-final) or FAILURE. */
int xi_sasl_succeed(xi_sasl *s, const void *data, size_t len);
/* Checks the authzid (if any) names the authenticated user's bare JID. */
bool xi_sasl_authzid_ok(const xi_sasl *s);
/* Fake, deterministic keys for a user without credentials. */
int xi_sasl_fake_keys(xi_sasl *s, int hash, xmppcore_scram_keys *keys);
/* Pick the keys PLAIN uses: SHA-256 if present, else SHA-1. */
const xmppcore_scram_keys *xi_sasl_plain_keys(const xmppcore_credentials *c,
                                              int *hash);

/* SCRAM (scram.c) */
int xi_scram_client_first(xi_sasl *s, const char *msg, size_t len);
int xi_scram_credentials(xi_sasl *s, int lookup,
                         const xmppcore_credentials *creds);
int xi_scram_client_final(xi_sasl *s, const char *msg, size_t len);

/* PLAIN cache (cache.c) */
bool xi_sasl_cache_lookup(xi_sasl_cache *c, const char *domain,
                          const char *user, const char *pw, size_t pwlen,
                          const unsigned char *stored, size_t slen);
void xi_sasl_cache_insert(xi_sasl_cache *c, const char *domain,
                          const char *user, const char *pw, size_t pwlen,
                          const unsigned char *stored, size_t slen);

#endif

/*
 * Server side of SASL (RFC 4422 as profiled by RFC 6120 §6): the mechanism
 * list for <mechanisms/>, and one exchange object per authentication
 * attempt that turns client responses into challenges, a success (with
 * additional data) or a failure with its RFC 6120 §6.5 condition.
 *
 * Mechanisms: SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants
 * (RFC 5802, RFC 7677), PLAIN (RFC 4616), ANONYMOUS (RFC 4505).
 *
 * Sans-IO and asynchronous-friendly: the exchange never calls storage.
 * When it needs an account's credentials it returns
 * XI_SASL_NEED_CREDENTIALS; the caller reads xi_sasl_username(), looks the
 * account up (possibly completing later, from a storage callback) and
 * resumes the exchange with xi_sasl_provide_credentials().
 *
 * Typical use by the c2s stream layer:
 *
 *   names[] = xi_sasl_mechanisms(&cfg, ...)      -> <mechanisms/>
 *   s = xi_sasl_new(&cfg)
 *   r = xi_sasl_start_b64(s, mech, text, len)    <- <auth/>
 *   loop:
 *     NEED_CREDENTIALS: lookup(xi_sasl_username(s)) ...
 *                       r = xi_sasl_provide_credentials(s, rc, &creds, fl)
 *     CHALLENGE: send <challenge>xi_sasl_output_b64(s)</challenge>
 *                r = xi_sasl_step_b64(s, text, len)  <- <response/>
 *                (or r = xi_sasl_abort(s)           <- <abort/>)
 *     SUCCESS:   send <success>xi_sasl_output_b64(s) or nothing</success>;
 *                the identity is xi_sasl_username(s)
 *     FAILURE:   send <failure><xi_sasl_condition_name(...)/>
 *                             <text>xi_sasl_failure_text(s)</text>?
 *   xi_sasl_free(s)
 *
 * Which condition when: a mechanism not offered gives invalid-mechanism
 * (PLAIN without TLS: encryption-required; SCRAM-SHA-1 under
 * XI_SASL_F_NO_SCRAM_SHA1: mechanism-too-weak); bad base64 in the element
 * gives incorrect-encoding; a message that breaks its mechanism's grammar
 * gives malformed-request; a wrong password, an unknown user and every
 * SCRAM "authentication failure" of RFC 5802 (channel binding mismatch or
 * downgrade, "m=" extensions, nonce mismatch) give not-authorized, with
 * the RFC's server-error-value as xi_sasl_failure_text(); an authzid other
 * than the user's own bare JID gives invalid-authzid; storage errors, an
 * RNG failure or out of memory give temporary-auth-failure.
 *
 * Not thread-safe per object; distinct objects may be used from distinct
 * threads. A xi_sasl_cache may be shared only by exchanges of one thread.
 */
#ifndef XI_SASL_H
#define XI_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xmppcore/auth.h"
#include "xmppcore/common.h"

/* What start/step/provide_credentials/abort return (>= 0). API misuse
 * (a call in the wrong state, a NULL argument) gives a negative
 * XMPPCORE_E_STATE / XMPPCORE_E_INVAL and leaves the exchange unchanged. */
enum {
    XI_SASL_CHALLENGE = 1,        /* send xi_sasl_output as <challenge/> */
    XI_SASL_SUCCESS = 2,          /* send <success/> (with output if any) */
    XI_SASL_FAILURE = 3,          /* send <failure/> with the condition */
    XI_SASL_NEED_CREDENTIALS = 4, /* look up the user, then provide */
};

/* RFC 6120 §6.5 failure conditions. */
enum {
    XI_SASL_COND_NONE = 0,
    XI_SASL_COND_ABORTED,
    XI_SASL_COND_ACCOUNT_DISABLED,
    XI_SASL_COND_CREDENTIALS_EXPIRED,
    XI_SASL_COND_ENCRYPTION_REQUIRED,
    XI_SASL_COND_INCORRECT_ENCODING,
    XI_SASL_COND_INVALID_AUTHZID,
    XI_SASL_COND_INVALID_MECHANISM,
    XI_SASL_COND_MALFORMED_REQUEST,
    XI_SASL_COND_MECHANISM_TOO_WEAK,
    XI_SASL_COND_NOT_AUTHORIZED,
    XI_SASL_COND_TEMPORARY_AUTH_FAILURE,
};

/* The element name of a condition ("not-authorized", ...); NULL for
 * XI_SASL_COND_NONE and unknown values. Static string. */
const char *xi_sasl_condition_name(int cond);

/* Policy flags of xi_sasl_config.flags. */
enum {
    XI_SASL_F_SECURE = 1u << 0,         /* the stream is TLS-protected */
    XI_SASL_F_PLAIN = 1u << 1,          /* offer PLAIN on secure streams */
    XI_SASL_F_PLAIN_INSECURE = 1u << 2, /* ...and also without TLS */
    XI_SASL_F_ANONYMOUS = 1u << 3,      /* offer ANONYMOUS */
    XI_SASL_F_NO_SCRAM_SHA1 = 1u << 4,  /* SCRAM-SHA-1(-PLUS) too weak */
    XI_SASL_F_NO_SCRAM = 1u << 5,       /* offer no SCRAM at all */
};

/* A cache of successful PLAIN verifications (see below). */
typedef struct xi_sasl_cache xi_sasl_cache;

/*
 * Everything an exchange needs from its server and connection. Read by
 * xi_sasl_mechanisms() and copied by xi_sasl_new(), except `mem` (kept:
 * must outlive the exchange) and `cache` (borrowed: must outlive it).
 */
typedef struct xi_sasl_config {
    const xmppcore_mem *mem;   /* NULL: default allocator */
    xmppcore_rng_fn rng;       /* NULL: xmppcore_rng_default */
    void *rng_user_data;
    const char *domain;        /* the vhost; authzid must be user@domain */
    /* A per-server secret (at least 16 bytes) from which fake salts are
     * derived for unknown users, so that SCRAM does not reveal which
     * accounts exist. Required for SCRAM and PLAIN. */
    const unsigned char *secret;
    size_t secret_len;
    /* Iteration count announced to unknown users; should equal the count
     * real accounts use. 0: XMPPCORE_SCRAM_ITERATIONS_DEFAULT. */
    uint32_t fake_iterations;
    unsigned flags;            /* XI_SASL_F_* */
    /* Channel binding data from the TLS layer, NULL when not available.
     * -PLUS mechanisms are offered when at least one is set. */
    const unsigned char *cb_tls_server_end_point;
    size_t cb_tls_server_end_point_len;
    const unsigned char *cb_tls_unique;
    size_t cb_tls_unique_len;
    xi_sasl_cache *cache;      /* PLAIN verifier cache, may be NULL */
} xi_sasl_config;

/*
 * Fills names[0..max) with the mechanisms to offer under cfg, strongest
 * first, and returns how many it would offer (may exceed max). The names
 * are static strings.
 */
size_t xi_sasl_mechanisms(const xi_sasl_config *cfg, const char **names,
                          size_t max);

typedef struct xi_sasl xi_sasl;

/* Creates an exchange; NULL when out of memory or cfg is invalid (no
 * domain). xi_sasl_free(NULL) is a no-op; free wipes every secret. */
xi_sasl *xi_sasl_new(const xi_sasl_config *cfg);
void xi_sasl_free(xi_sasl *s);

/*
 * Starts mechanism `mech` (the <auth mechanism=''/> value). has_resp says
 * whether an initial response was sent (an empty one is "="). Returns a
 * XI_SASL_* status; a mechanism not offered under the config fails with
 * invalid-mechanism (or encryption-required / mechanism-too-weak when
 * policy forbids a known one).
 */
int xi_sasl_start(xi_sasl *s, const char *mech, const void *resp,
                  size_t len, bool has_resp);

/* As xi_sasl_start, with the base64 text content of <auth/>; text NULL
 * means the element was empty (no initial response). Bad base64 fails
 * with incorrect-encoding. */
int xi_sasl_start_b64(xi_sasl *s, const char *mech, const char *text,
                      size_t len);

/* Feeds the client's response to the last challenge. */
int xi_sasl_step(xi_sasl *s, const void *resp, size_t len);
/* As xi_sasl_step with base64 text (empty element or "=": empty). */
int xi_sasl_step_b64(xi_sasl *s, const char *text, size_t len);

/* Credential flags for xi_sasl_provide_credentials; they are reported
 * only after the client proved knowledge of the password, so they reveal
 * nothing to someone who does not know it. */
enum {
    XI_SASL_CRED_DISABLED = 1u << 0, /* fail with account-disabled */
    XI_SASL_CRED_EXPIRED = 1u << 1,  /* fail with credentials-expired */
};

/*
 * Resumes an exchange that returned XI_SASL_NEED_CREDENTIALS. lookup is
 * 0 (creds holds the account's credentials, copied), XMPPCORE_E_NOTFOUND
 * (no such user: the exchange goes on with fake keys and fails with
 * not-authorized at the proof, like a wrong password), or another
 * negative code (storage failed: temporary-auth-failure). Returns a
 * XI_SASL_* status.
 */
int xi_sasl_provide_credentials(xi_sasl *s, int lookup,
                                const xmppcore_credentials *creds,
                                unsigned cred_flags);

/* The client sent <abort/>: the exchange fails with "aborted". */
int xi_sasl_abort(xi_sasl *s);

/* The state after the last call: one of XI_SASL_*, or 0 before start. */
int xi_sasl_status(const xi_sasl *s);

/* Challenge bytes (status CHALLENGE) or success additional data (status
 * SUCCESS); NULL when there is none. Borrowed until the next call on s. */
const unsigned char *xi_sasl_output(const xi_sasl *s, size_t *len);

/* The same, base64-encoded for the element's text content: "=" for empty
 * data, NULL when there is no data (send an empty element) or out of
 * memory (*err set to XMPPCORE_E_NOMEM, else 0). Borrowed until the next
 * call on s. */
const char *xi_sasl_output_b64(xi_sasl *s, int *err);

/* The failure condition (XI_SASL_COND_*), XI_SASL_COND_NONE otherwise. */
int xi_sasl_condition(const xi_sasl *s);
/* An optional English <text/> for the failure (e.g. the SCRAM e= value
 * "channel-bindings-dont-match"), or NULL. Static string. */
const char *xi_sasl_failure_text(const xi_sasl *s);
/* The internal error behind a temporary-auth-failure (XMPPCORE_E_NOMEM,
 * an RNG failure ...), 0 otherwise. For logs. */
int xi_sasl_error(const xi_sasl *s);

/* The prepared username (localpart): to look up while NEED_CREDENTIALS,
 * the authenticated identity after SUCCESS (for ANONYMOUS a random one).
 * NULL otherwise. Borrowed until xi_sasl_free. */
const char *xi_sasl_username(const xi_sasl *s);
/* The authzid the client asked for, NULL if none. After SUCCESS it is
 * known to be the user's own bare JID. Borrowed until xi_sasl_free. */
const char *xi_sasl_authzid(const xi_sasl *s);
/* The mechanism started, or NULL. Static string. */
const char *xi_sasl_mechanism(const xi_sasl *s);
/* True after SUCCESS of ANONYMOUS. */
bool xi_sasl_is_anonymous(const xi_sasl *s);
/* How many PBKDF2 derivations this exchange ran (for tests and stats). */
unsigned xi_sasl_pbkdf2_runs(const xi_sasl *s);

/*
 * Test hook: replaces the random server nonce part of the next SCRAM
 * server-first message by `nonce` (printable ASCII without ','), so the
 * RFC examples can be replayed. Copied. 0 or XMPPCORE_E_INVAL/E_NOMEM.
 */
int xi_sasl_set_server_nonce(xi_sasl *s, const char *nonce);

/*
 * PLAIN verifier cache. A PLAIN login costs a PBKDF2 derivation; after a
 * successful one, the cache remembers HMAC-SHA-256(secret, domain \0 user
 * \0 password \0 StoredKey) under a per-cache random secret, so the same
 * user with the same password is accepted without PBKDF2 next time. As
 * the StoredKey is hashed in, changed credentials never hit an old entry.
 * Bounded: a set-associative table of 8-entry sets with two candidate
 * sets per entry (the emptier takes it; the oldest entry of a full set
 * is replaced); a lookup costs one HMAC and at most sixteen compares,
 * whatever the capacity. Wiped on free. Owned by the caller (the
 * server), shared by its exchanges; not thread-safe.
 */
/* capacity 0: 256 entries; otherwise rounded down to a power of two
 * times 8 (at least 1). rng NULL: default. NULL on failure. */
xi_sasl_cache *xi_sasl_cache_new(const xmppcore_mem *mem, size_t capacity,
                                 xmppcore_rng_fn rng, void *rng_user_data);
void xi_sasl_cache_free(xi_sasl_cache *c);
/* Drops every entry (e.g. after a password change storm). */
void xi_sasl_cache_clear(xi_sasl_cache *c);
/* Hits and misses so far (either pointer may be NULL). */
void xi_sasl_cache_stats(const xi_sasl_cache *c, unsigned long *hits,
                         unsigned long *misses);

/*
 * Base64 (RFC 4648 §4, the alphabet with '+' '/') for the XML text
 * content. Strict: no whitespace, padding required, unused bits zero.
 */
/* Characters needed to encode n bytes, plus 1 for the NUL. */
size_t xi_sasl_b64_encoded_size(size_t n);
/* Writes the encoding of in[0..n) and a NUL to out. */
void xi_sasl_b64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes in[0..n) into out (room for n / 4 * 3 bytes); sets *outlen.
 * 0, or XMPPCORE_E_INVAL for anything that is not canonical base64. */
int xi_sasl_b64_decode(const char *in, size_t n, unsigned char *out,
                       size_t *outlen);

/*
 * String preparation: the one place where usernames and passwords are
 * prepared, for SCRAM, PLAIN and credential derivation alike.
 *
 * TEMPORARY: until lib/jid (PRECIS, RFC 8264/8265) is merged these accept
 * printable ASCII only and reject anything else with XMPPCORE_E_INVAL.
 * At merge time their bodies become calls to xi_precis_enforce() with
 * XI_PRECIS_USERNAME_CASEMAPPED / XI_PRECIS_OPAQUE_STRING.
 *
 * Both write a NUL-terminated result to out (outsz bytes) and return its
 * length, or XMPPCORE_E_INVAL (not allowed) / XMPPCORE_E_RANGE (too long).
 */
int xi_sasl_prep_username(const char *in, size_t len, char *out,
                          size_t outsz);
int xi_sasl_prep_password(const char *in, size_t len, char *out,
                          size_t outsz);

/* SCRAM key derivation for one hash (XI_SCRAM_SHA1 / XI_SCRAM_SHA256)
 * with a given salt: the password must already be prepared. Fills
 * keys. 0, XMPPCORE_E_INVAL or XMPPCORE_E_INTERNAL. */
enum { XI_SCRAM_SHA1 = 0, XI_SCRAM_SHA256 = 1 };
int xi_scram_derive_keys(int hash, const char *password, size_t len,
                         const unsigned char *salt, size_t salt_len,
                         uint32_t iterations, xmppcore_scram_keys *keys);

#endif

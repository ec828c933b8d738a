/*
 * libxmppcore — SCRAM credential derivation.
 *
 * Turns a password into the stored credentials of auth.h (salted keys for
 * SCRAM-SHA-1 and SCRAM-SHA-256, RFC 5802 / RFC 7677) and checks a
 * password against them. Used when an account is created or its password
 * changed, and by tools that import accounts. The password is never
 * stored; every intermediate secret is wiped before these calls return.
 */
#ifndef XMPPCORE_SASL_H
#define XMPPCORE_SASL_H

#include "auth.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds accepted for `iterations` by xmppcore_credentials_derive. */
#define XMPPCORE_SCRAM_ITERATIONS_MIN 4096
#define XMPPCORE_SCRAM_ITERATIONS_MAX 10000000u
/* Salt length used by xmppcore_credentials_derive (bytes). */
#define XMPPCORE_SCRAM_SALT_LEN 16

/*
 * Derives fresh credentials for `password` (len bytes, UTF-8, not
 * NUL-terminated necessarily): for each of SHA-1 and SHA-256, a new
 * 16-byte random salt from rng (NULL: xmppcore_rng_default), then
 * SaltedPassword = PBKDF2(password, salt, iterations), StoredKey and
 * ServerKey. The password is prepared first as SCRAM clients do (PRECIS
 * OpaqueString; for now printable ASCII only, see the return codes).
 *
 * iterations: 0 means XMPPCORE_SCRAM_ITERATIONS_DEFAULT; otherwise it
 * must lie in [XMPPCORE_SCRAM_ITERATIONS_MIN, _MAX].
 *
 * Ownership: password is only read; *out is overwritten entirely (on
 * failure it is zeroed). Thread-safe if rng is.
 *
 * Returns 0; XMPPCORE_E_INVAL if password or out is NULL, the password is
 * empty, longer than 1023 bytes, or contains characters the preparation
 * rejects (currently anything outside printable ASCII and space);
 * XMPPCORE_E_RANGE for a bad iteration count; the rng's negative code if
 * it fails; XMPPCORE_E_INTERNAL if the hash library fails.
 */
XMPPCORE_API int xmppcore_credentials_derive(const char *password, size_t len,
                                             uint32_t iterations,
                                             xmppcore_rng_fn rng,
                                             void *rng_user_data,
                                             xmppcore_credentials *out);

/*
 * Checks `password` against stored credentials, using the SHA-256 keys
 * when present, else the SHA-1 keys. The comparison is constant-time.
 * Costs one PBKDF2 derivation. Thread-safe; c and password are only read.
 *
 * Returns 0 if the password matches; XMPPCORE_E_AUTH if it does not, if
 * the preparation rejects it, or if c holds no keys; XMPPCORE_E_INVAL if
 * c or password is NULL; XMPPCORE_E_INTERNAL if the hash library fails.
 */
XMPPCORE_API int xmppcore_credentials_check_password(
    const xmppcore_credentials *c, const char *password, size_t len);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libxmppcore — stored credentials.
 *
 * Passwords are never stored: an account holds SCRAM salted keys for
 * SHA-1 and SHA-256 (RFC 5802, RFC 7677): salt, iteration count,
 * StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
 * ServerKey = HMAC(SaltedPassword, "Server Key"). SCRAM logins use them
 * directly; PLAIN logins are checked against them.
 *
 * These structs are plain data so that storage backends (including ones
 * written in Python through the bindings) can read and fill them.
 */
#ifndef XMPPCORE_AUTH_H
#define XMPPCORE_AUTH_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XMPPCORE_SCRAM_SALT_MAX 64
#define XMPPCORE_SCRAM_KEY_MAX 32 /* SHA-256 size; SHA-1 uses 20 bytes */
#define XMPPCORE_SCRAM_ITERATIONS_DEFAULT 4096

/* Keys for one hash. iterations == 0 means "not present". */
typedef struct xmppcore_scram_keys {
    uint32_t iterations;
    uint32_t salt_len;
    unsigned char salt[XMPPCORE_SCRAM_SALT_MAX];
    unsigned char stored_key[XMPPCORE_SCRAM_KEY_MAX];
    unsigned char server_key[XMPPCORE_SCRAM_KEY_MAX];
} xmppcore_scram_keys;

/* An account's credentials. */
typedef struct xmppcore_credentials {
    xmppcore_scram_keys sha1;
    xmppcore_scram_keys sha256;
} xmppcore_credentials;

#ifdef __cplusplus
}
#endif
#endif

/*
 * libxmppcore — TLS certificates for a server's setup.
 *
 * A fresh server needs a certificate before it can offer STARTTLS or
 * direct TLS; these calls make a self-signed one (clients will warn about
 * it, but federation with dialback and testing work). Real deployments
 * use certificates from a CA (e.g. ACME) in PEM files.
 *
 * The generated certificate: an ECDSA P-256 key, SHA-256 signature,
 * subject CN=domain, subjectAltName dNSName entries for domain and each
 * alt name (duplicates dropped), basicConstraints CA:FALSE, keyUsage
 * digitalSignature, extendedKeyUsage serverAuth and clientAuth (so it
 * also serves for s2s client authentication), a 128-bit random serial
 * number, valid from one hour before now (allowing for clock skew) for
 * `days` days. The key is written as a SEC 1 "EC PRIVATE KEY" PEM block.
 *
 * These calls read the wall clock (env->clock, default CLOCK_REALTIME)
 * and the RNG (env->rng, default libsodium): they are setup calls, not
 * meant for the stream path. env may be NULL (defaults); it is not kept.
 */
#ifndef XMPPCORE_TLS_H
#define XMPPCORE_TLS_H

#include "xmppcore/common.h"
#include "xmppcore/stanza.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Generates a key and a self-signed certificate for domain (plus
 * n_alt names in alt_names; alt_names may be NULL when n_alt is 0) and
 * writes them as PEM: the key to key_path with mode 0600 (also when the
 * file existed with another mode), the certificate to cert_path with
 * mode 0644. Existing files are replaced; symbolic links are not
 * followed. Names are DNS names (letters, digits, '-', '_', labels of 1
 * to 63 bytes, at most 253 bytes), optionally starting with "*." for a
 * wildcard. days: 1 to 36500.
 * Returns 0; XMPPCORE_E_INVAL (a bad name, days out of range, a NULL
 * path); XMPPCORE_E_IO (a file could not be written; the key file may
 * then exist without the certificate); XMPPCORE_E_NOMEM;
 * XMPPCORE_E_INTERNAL (the RNG or mbedTLS failed).
 */
XMPPCORE_API int xmppcore_tls_generate_self_signed(
    const xmppcore_env *env, const char *domain, const char *const *alt_names,
    size_t n_alt, unsigned days, const char *key_path, const char *cert_path);

/*
 * The same, appending the PEM texts to key_pem and cert_pem (which the
 * caller owns; on failure their contents are unchanged). The key's PEM
 * is secret: free or clear the buffer when done.
 * Returns 0, XMPPCORE_E_INVAL, XMPPCORE_E_NOMEM or XMPPCORE_E_INTERNAL.
 */
XMPPCORE_API int xmppcore_tls_generate_self_signed_pem(
    const xmppcore_env *env, const char *domain, const char *const *alt_names,
    size_t n_alt, unsigned days, xmppcore_buffer *key_pem,
    xmppcore_buffer *cert_pem);

#ifdef __cplusplus
}
#endif
#endif

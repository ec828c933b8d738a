/*
 * lib/tls: TLS for streams, over memory buffers. The one internal
 * interface behind which all TLS library use lives (moving to mbedTLS
 * 3.6 touches this folder alone).
 *
 * Two backends, chosen at configure time (meson option tls): mbedTLS
 * 2.28 (tls_config.c, tls_session.c; the default) or OpenSSL >= 3.0
 * (ossl_config.c, ossl_session.c; a full handshake costs the server a
 * sixth to an eighth of the CPU: bench_tls, docs/benchmarks.md). Both implement everything below the same
 * way; certificates, keys and trust anchors are read by mbedTLS's X.509
 * code on both (tls_cert.c), so the same files are accepted or refused
 * with the same messages. What differs:
 *  - allocation: neither library uses the env's allocator (mbedTLS 2.28
 *    as Debian builds it calls calloc; OpenSSL uses its own
 *    CRYPTO_malloc, process-wide, which a library must not replace).
 *    The library's own structures use the env's allocator on both.
 *  - randomness: mbedTLS draws from a CTR-DRBG per config seeded from
 *    the env's RNG; OpenSSL uses its own DRBGs (the env's RNG is unused
 *    by the OpenSSL backend; xi_tls_generate still uses it).
 *  - xi_tls_peer_verify_flags: mbedTLS's own verification flags, or on
 *    OpenSSL its X509_V_ERR_* codes mapped to the same
 *    MBEDTLS_X509_BADCERT_* bits (expired, future, not trusted, key
 *    usage, bad key or hash; anything else BADCERT_OTHER).
 *  - with several EC certificates for one name, OpenSSL serves the
 *    first (it holds one per key type), where mbedTLS would fall back
 *    to the next one if the client lacks the first one's curve.
 *  - memory: an idle OpenSSL session holds about 14 KB (record buffers
 *    released when empty), an mbedTLS one about 37 KB (two 16 KB record
 *    buffers for its lifetime).
 * Error texts (xi_tls_error) are the library's own, after the same
 * prefixes ("TLS handshake failed: ...").
 *
 * Nothing here does socket I/O. Bytes read from the socket are fed in,
 * bytes to send are appended to an xmppcore_buffer the host drains.
 * The library's own code does not read the clock, but note that both
 * libraries call time() themselves during a server handshake (mbedTLS
 * 2.28 for gmt_unix_time in ServerHello.random and the session start,
 * OpenSSL for the session start) and when verifying a client
 * certificate's validity period; neither has a hook to replace it.
 *
 * Protocol policy, on both backends: TLS 1.2 only (mbedTLS 2.28 has no
 * TLS 1.3 server; OpenSSL is held to 1.2 so tls-unique stays defined);
 * ECDHE key exchange with ECDSA or RSA certificates; AEAD ciphers only
 * (AES-GCM, ChaCha20-Poly1305); extended master secret; no renegotiation;
 * no session resumption (neither tickets nor a session cache: every
 * connection makes a full handshake, and XEP-0198 resumes XMPP sessions
 * above TLS anyway).
 *
 * Threads: a config may be shared by sessions on several threads once
 * frozen (its random generator locks, or OpenSSL's SSL_CTX is shared
 * read-only; its reference count is atomic); a session belongs to one
 * thread.
 */
#ifndef XI_TLS_H
#define XI_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct xi_tls_config xi_tls_config;
typedef struct xi_tls_session xi_tls_session;

/* ---- Server configuration ---- */

/*
 * A server TLS configuration, for one listener or one set of virtual
 * hosts. env is copied (NULL: defaults); its RNG seeds the config's
 * CTR-DRBG (mbedTLS backend; OpenSSL uses its own), its allocator holds
 * the library's own allocations (mbedTLS 2.28 as built by Debian
 * allocates with calloc directly, OpenSSL with its own malloc).
 * Returns 0, XMPPCORE_E_NOMEM, or XMPPCORE_E_INTERNAL (seeding failed,
 * or OpenSSL refused the settings).
 */
int xi_tls_config_new(const xmppcore_env *env, xi_tls_config **out);

/*
 * Drops the creator's reference. The config is freed when its last
 * session is freed too, so a host may replace a config (reloading
 * certificates) while old connections still use the old one.
 * xi_tls_config_free(NULL) is a no-op.
 */
void xi_tls_config_free(xi_tls_config *cfg);

/* Flags for xi_tls_config_add_cert_*. */
enum {
    /* Serve this certificate to clients that send no SNI or an unknown
     * name. If no certificate has the flag, the first one added does. */
    XI_TLS_CERT_DEFAULT = 1u << 0
};

/*
 * Adds a certificate chain (leaf first, then intermediates) and its
 * private key. The names the certificate is picked for by SNI are taken
 * from the leaf: its subjectAltName dNSName entries, or its subject CN
 * when it has none; "*.example.org" matches exactly one label. Several
 * certificates may share names (an ECDSA and an RSA one): the TLS
 * library picks the one the negotiated suite can use.
 * PEM strings are NUL-terminated and copied; password may be NULL.
 * Returns 0; XMPPCORE_E_IO (a file cannot be read); XMPPCORE_E_INVAL
 * (not a valid PEM certificate or key, key does not match the
 * certificate, an unsupported key type, an RSA key under 2048 bits,
 * or, on the OpenSSL backend, anything else its security level 2
 * refuses to serve); XMPPCORE_E_NOMEM;
 * XMPPCORE_E_STATE once a session was created with this config.
 * On failure xi_tls_config_error() says what and where.
 */
int xi_tls_config_add_cert_pem(xi_tls_config *cfg, const char *chain_pem,
                               const char *key_pem, const char *password,
                               unsigned flags);
int xi_tls_config_add_cert_file(xi_tls_config *cfg, const char *chain_path,
                                const char *key_path, const char *password,
                                unsigned flags);

/*
 * ALPN protocols the server accepts, most preferred first, e.g.
 * {"xmpp-client"} for a direct-TLS c2s listener (XEP-0368). Copied. A
 * client that offers ALPN but none of these is refused with a
 * no_application_protocol alert (RFC 7301); one that offers none is
 * accepted. n == 0 turns ALPN off. Returns 0, XMPPCORE_E_INVAL (an empty
 * or > 255 byte name, more than 8 names), XMPPCORE_E_NOMEM or
 * XMPPCORE_E_STATE.
 */
int xi_tls_config_set_alpn(xi_tls_config *cfg, const char *const *protocols,
                           size_t n);

/*
 * Asks clients for a certificate (for SASL EXTERNAL on s2s). The result
 * of verifying it against the trust anchors added with
 * xi_tls_config_add_ca_* is exposed per session, never enforced: a
 * client with no certificate or an untrusted one still completes the
 * handshake. Returns 0 or XMPPCORE_E_STATE.
 */
int xi_tls_config_request_client_cert(xi_tls_config *cfg, bool on);

/* Trust anchors for client certificates (PEM, one or more). Same return
 * codes as xi_tls_config_add_cert_pem. */
int xi_tls_config_add_ca_pem(xi_tls_config *cfg, const char *pem);
int xi_tls_config_add_ca_file(xi_tls_config *cfg, const char *path);

/* Text of the last failed config call ("" if none). Borrowed until the
 * next call on cfg. */
const char *xi_tls_config_error(const xi_tls_config *cfg);

/* ---- Sessions ---- */

typedef enum {
    XI_TLS_HANDSHAKE = 0, /* waiting for or in the handshake */
    XI_TLS_ESTABLISHED,   /* application data flows */
    XI_TLS_CLOSED,        /* close_notify sent or received */
    XI_TLS_FAILED         /* fatal error; see xi_tls_error() */
} xi_tls_state;

/*
 * A server-side TLS session for one connection. Ciphertext for the peer
 * is appended to out, which is borrowed: it must outlive the session (it
 * is normally the connection's output queue). The config is referenced
 * and frozen (no more certificates can be added).
 * Returns 0, XMPPCORE_E_NOMEM, XMPPCORE_E_STATE (the config has no
 * certificate) or XMPPCORE_E_INTERNAL (the TLS library refused the
 * setup).
 */
int xi_tls_session_new(xi_tls_config *cfg, struct xmppcore_buffer *out,
                       xi_tls_session **sp);

/* Frees without sending anything (call xi_tls_close first for a clean
 * shutdown). NULL is a no-op. */
void xi_tls_session_free(xi_tls_session *s);

/*
 * Feeds bytes read from the socket; they are copied. While handshaking,
 * drives the handshake as far as the bytes allow (its answers go to
 * out). Returns 0 (including "need more bytes"); XMPPCORE_E_TLS when the
 * handshake failed (state becomes XI_TLS_FAILED; out may hold an alert
 * to send before closing the socket); XMPPCORE_E_POLICY when more than
 * 256 KiB of fed ciphertext has not been read out; XMPPCORE_E_STATE
 * after the session closed or failed; XMPPCORE_E_NOMEM.
 * After a successful feed the host calls xi_tls_read until it returns
 * XMPPCORE_E_AGAIN.
 */
int xi_tls_feed(xi_tls_session *s, const void *data, size_t len);

/*
 * Decrypts application data into buf (at most cap bytes; *n set).
 * Returns 0 with *n > 0; XMPPCORE_E_AGAIN when more ciphertext is
 * needed (also while handshaking); XMPPCORE_E_STREAM_CLOSED when the
 * peer sent close_notify (our close_notify is appended to out and the
 * state becomes XI_TLS_CLOSED); XMPPCORE_E_TLS on a bad record (state
 * XI_TLS_FAILED); XMPPCORE_E_STATE when closed or failed before.
 * A renegotiation request from the client is refused with a
 * no_renegotiation warning; the session goes on.
 */
int xi_tls_read(xi_tls_session *s, void *buf, size_t cap, size_t *n);

/*
 * Encrypts len bytes into records appended to out (any length; records
 * are at most 16 KiB). Returns 0; XMPPCORE_E_STATE unless established;
 * XMPPCORE_E_NOMEM or XMPPCORE_E_TLS (state XI_TLS_FAILED).
 */
int xi_tls_write(xi_tls_session *s, const void *data, size_t len);

/* Appends a close_notify alert to out (when the handshake completed) and
 * moves to XI_TLS_CLOSED. Returns 0, or XMPPCORE_E_STATE when already
 * closed or failed. */
int xi_tls_close(xi_tls_session *s);

xi_tls_state xi_tls_get_state(const xi_tls_session *s);

/* Why the session failed ("" while it has not). Borrowed, lives as long
 * as the session. */
const char *xi_tls_error(const xi_tls_session *s);

/* After the handshake: the ALPN protocol chosen (NULL if none), the
 * server name the client asked for (SNI, lower-case; NULL if none), the
 * cipher suite ("TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256") and version
 * ("TLSv1.2"). Borrowed for the session's life. */
const char *xi_tls_alpn(const xi_tls_session *s);
const char *xi_tls_sni(const xi_tls_session *s);
const char *xi_tls_ciphersuite(const xi_tls_session *s);
const char *xi_tls_version(const xi_tls_session *s);

/* Channel-binding types (RFC 5929). tls-exporter (RFC 9266) needs TLS
 * 1.3 or mbedTLS 3.x keying-material export: not available. */
typedef enum {
    XI_TLS_CB_SERVER_END_POINT = 1, /* "tls-server-end-point" */
    XI_TLS_CB_UNIQUE = 2            /* "tls-unique" */
} xi_tls_cb_type;

/* Longest channel-binding value (SHA-512 of the certificate). */
#define XI_TLS_CB_MAX 64

/*
 * Channel-binding data for SCRAM-*-PLUS, written to out (cap bytes;
 * *len set). tls-server-end-point: the hash of the DER server
 * certificate this session used, with the hash of the certificate's
 * signature algorithm, SHA-256 for MD5 and SHA-1 ones. tls-unique: the
 * first Finished message of the connection (the client's, since there is
 * no resumption), 12 bytes. Returns 0; XMPPCORE_E_STATE before the
 * handshake completed; XMPPCORE_E_UNSUPPORTED (tls-unique with an
 * mbedTLS that keeps no Finished messages, or a certificate hash we do
 * not know); XMPPCORE_E_RANGE (cap
 * too small); XMPPCORE_E_INVAL.
 */
int xi_tls_channel_binding(const xi_tls_session *s, xi_tls_cb_type type,
                           unsigned char *out, size_t cap, size_t *len);

/* ---- The client's certificate (when requested) ---- */

/* True if the client presented a certificate. */
bool xi_tls_peer_has_cert(const xi_tls_session *s);

/* True if it verified against the configured trust anchors (chain,
 * signature, validity period, key usage). Never true without a cert. */
bool xi_tls_peer_verified(const xi_tls_session *s);

/* MBEDTLS_X509_BADCERT_* flags of that verification, for logs (0 when
 * verified; all bits set when no certificate). On OpenSSL, its
 * verification errors mapped to these bits (see the top of this file). */
uint32_t xi_tls_peer_verify_flags(const xi_tls_session *s);

/* The DER of the client's certificate. Returns 0 or XMPPCORE_E_NOTFOUND.
 * Borrowed for the session's life. */
int xi_tls_peer_cert_der(const xi_tls_session *s, const unsigned char **der,
                         size_t *len);

typedef enum {
    XI_TLS_NAME_DNS = 1,      /* subjectAltName dNSName */
    XI_TLS_NAME_XMPPADDR = 2, /* subjectAltName otherName id-on-xmppAddr */
    XI_TLS_NAME_SRV = 3,      /* subjectAltName otherName id-on-dnsSRV */
    XI_TLS_NAME_CN = 4        /* subject commonName */
} xi_tls_name_type;

/*
 * The identities in the client's certificate, in certificate order (SAN
 * entries, then the CN): the i-th one's type and NUL-terminated value
 * (UTF-8 for xmppAddr). Names with embedded NULs are skipped. Returns
 * 0; XMPPCORE_E_NOTFOUND when i is past the end or there is no
 * certificate; XMPPCORE_E_NOMEM (the list is built on first use).
 * Values are borrowed for the session's life.
 */
int xi_tls_peer_name(xi_tls_session *s, size_t i, xi_tls_name_type *type,
                     const char **value);

/* ---- Certificates ---- */

/*
 * Options for generating a self-signed certificate: an ECDSA P-256 key,
 * SHA-256 signature, subject CN=domain, subjectAltName with dNSName
 * entries for domain and alt_names and otherName id-on-xmppAddr entries
 * for xmpp_addrs, serverAuth and clientAuth usage, a 128-bit random
 * serial, valid from one hour before now_ms for days days.
 */
struct xi_tls_certgen {
    const char *domain;
    const char *const *alt_names;
    size_t n_alt;
    const char *const *xmpp_addrs;
    size_t n_xmpp;
    unsigned days;
    int64_t now_ms; /* Unix time in milliseconds */
};

/*
 * Generates a key and self-signed certificate; appends their PEM texts to
 * key_pem and cert_pem. The RNG comes from env (NULL: default).
 * Returns 0; XMPPCORE_E_INVAL (empty or malformed domain or name, days 0
 * or more than 36500); XMPPCORE_E_NOMEM; XMPPCORE_E_INTERNAL.
 */
int xi_tls_generate(const xmppcore_env *env, const struct xi_tls_certgen *g,
                    struct xmppcore_buffer *key_pem,
                    struct xmppcore_buffer *cert_pem);

/* Helpers shared by the files of lib/tls. */

/* RFC 6125 DNS-ID match, ASCII case-insensitive; a leading "*." in
 * pattern matches exactly one non-empty label. */
bool xi_tls_name_match(const char *pattern, const char *name);

#endif

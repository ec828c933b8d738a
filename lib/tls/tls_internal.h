/*
 * Definitions shared by the files of the mbedTLS backend only (meson
 * option tls=mbedtls): the config and session structs, which embed
 * mbedTLS types; ossl_internal.h is the OpenSSL backend's. Nothing outside lib/tls includes
 * this header (or any mbedTLS header).
 */
#ifndef XI_TLS_INTERNAL_H
#define XI_TLS_INTERNAL_H

#include <stdatomic.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls.h"
#include "tls/tls_cert.h"
#include "tls/tls_common.h"
#include "tls/tls_features.h"

/* Certificates a session remembers from SNI matching, to tell later
 * which one was used. */
#define XI_TLS_MAX_CAND 4

struct xi_tls_cert {
    struct xi_tls_cert *next;
    mbedtls_x509_crt chain;
    mbedtls_pk_context key;
    char **names; /* lower-case DNS names from the leaf, n_names of them */
    size_t n_names;
    bool is_default;
};

struct xi_tls_config {
    const xmppcore_mem *mem;
    xmppcore_env env;
    atomic_int refs;
    bool frozen;
    bool request_client_cert;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    bool have_ca;
    struct xi_tls_cert *certs, **certs_tail;
    /* The default set, in the order given to mbedtls_ssl_conf_own_cert. */
    struct xi_tls_cert *defaults[XI_TLS_MAX_CAND];
    size_t n_defaults;
    int suites[8];
    char *alpn_names[XI_TLS_MAX_ALPN];
    const char *alpn_list[XI_TLS_MAX_ALPN + 1]; /* NULL-terminated */
    char err[256];
};

struct xi_tls_session {
    /* First member: the SNI callback finds the session from the
     * mbedtls_ssl_context it is given. */
    mbedtls_ssl_context ssl;
    xi_tls_config *cfg;
    struct xmppcore_buffer *out; /* borrowed */
    struct xmppcore_buffer in;   /* fed, not yet consumed ciphertext */
    xi_tls_state state;
    bool handshake_done;
    bool sent_close;
    bool peer_closed;
    int first_byte; /* of all input, -1 before any */
    char *sni;
    struct xi_tls_cert *cand[XI_TLS_MAX_CAND]; /* matched by SNI */
    size_t n_cand;
    struct xi_tls_cert *used; /* set when the handshake completes */
    struct xi_tls_peer_name *peer_names;
    size_t n_peer_names;
    bool peer_names_done;
    char err[160];
};

/* Called by xi_tls_session_new: the last settings go to mbedTLS, and the
 * config becomes read-only. Returns 0, XMPPCORE_E_STATE (no certificate)
 * or XMPPCORE_E_NOMEM. */
int xi_tls_config_freeze(xi_tls_config *cfg);

#endif

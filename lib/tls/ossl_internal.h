/*
 * Definitions shared by the files of the OpenSSL backend only (meson
 * option tls=openssl): the config and session structs. OpenSSL's types
 * appear as incomplete structs, so this header pulls in no OpenSSL
 * header (the benchmark includes it to print the struct sizes); only
 * ossl_config.c and ossl_session.c include OpenSSL.
 */
#ifndef XI_OSSL_INTERNAL_H
#define XI_OSSL_INTERNAL_H

#include <stdatomic.h>

#include "tls/tls.h"
#include "tls/tls_cert.h"
#include "tls/tls_common.h"
#include "tls/tls_features.h"

/* Certificates a session remembers from SNI matching. */
#define XI_TLS_MAX_CAND 4
/* Cipher suites a config allows (see ossl_config.c). */
#define XI_TLS_MAX_SUITES 8

struct ssl_ctx_st;
struct ssl_st;
struct bio_method_st;
struct x509_st;
struct evp_pkey_st;
struct stack_st_X509;
struct ssl_cipher_st;

struct xi_tls_cert {
    struct xi_tls_cert *next;
    struct x509_st *leaf;
    struct stack_st_X509 *chain; /* intermediates; NULL when none */
    struct evp_pkey_st *key;
    bool is_rsa; /* else EC */
    bool is_default;
    char **names; /* lower-case DNS names from the leaf, n_names of them */
    size_t n_names;
    /* tls-server-end-point, computed once when the certificate is added;
     * end_point_rc is 0 or why there is none (XMPPCORE_E_UNSUPPORTED). */
    int end_point_rc;
    size_t end_point_len;
    unsigned char end_point[XI_TLS_CB_MAX];
};

/* An allowed suite with its name in mbedTLS's spelling. */
struct xi_tls_suite {
    const struct ssl_cipher_st *cipher;
    char name[64];
};

struct xi_tls_config {
    const xmppcore_mem *mem;
    atomic_int refs;
    bool frozen;
    bool request_client_cert;
    struct ssl_ctx_st *ctx;           /* shared by all sessions */
    struct bio_method_st *bio_method; /* the sessions' memory BIO */
    struct xi_tls_cert *certs, **certs_tail;
    /* What the SSL_CTX serves without an SNI match: the first EC and the
     * first RSA certificate of the default set (either may be NULL). */
    struct xi_tls_cert *def_ec, *def_rsa;
    char *alpn_names[XI_TLS_MAX_ALPN];
    size_t n_alpn;
    struct xi_tls_suite suites[XI_TLS_MAX_SUITES];
    size_t n_suites;
    char err[256];
};

struct xi_tls_session {
    struct ssl_st *ssl;
    xi_tls_config *cfg;
    struct xmppcore_buffer *out; /* borrowed */
    struct xmppcore_buffer in;   /* fed, not yet consumed ciphertext */
    xi_tls_state state;
    bool handshake_done;
    bool sent_close;
    bool peer_closed;
    bool out_failed; /* appending to out ran out of memory */
    bool peer_names_done;
    int first_byte;        /* of all input, -1 before any */
    uint32_t verify_flags; /* MBEDTLS_X509_BADCERT_* of the client cert */
    char *sni;
    const char *alpn;                       /* one of cfg->alpn_names */
    const char *suite;                      /* one of cfg->suites[].name */
    struct xi_tls_cert *cand_ec, *cand_rsa; /* matched by SNI */
    struct xi_tls_cert *used; /* set when the handshake completes */
    unsigned char *peer_der;  /* the client's certificate */
    size_t peer_der_len;
    struct xi_tls_peer_name *peer_names;
    size_t n_peer_names;
    char err[160];
};

/* Called by xi_tls_session_new: the certificates go to the SSL_CTX, and
 * the config becomes read-only. Returns 0, XMPPCORE_E_STATE (no
 * certificate) or XMPPCORE_E_NOMEM. */
int xi_tls_config_freeze(xi_tls_config *cfg);

/* The BIO_METHOD of the sessions' BIOs (ossl_session.c); NULL when out
 * of memory. */
struct bio_method_st *xi_ossl_bio_method_new(void);

/* "what: " and the reason of the oldest error in this thread's OpenSSL
 * error queue (or fallback when it is empty) into buf; the queue is
 * cleared. Returns whether the error was an allocation failure. */
bool xi_ossl_error(char *buf, size_t size, const char *what,
                   const char *fallback);

#endif

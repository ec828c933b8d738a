/*
 * A TLS client made with mbedTLS, talking to an xi_tls_session over two
 * memory buffers (no sockets): c2s carries the client's records to the
 * server (the test feeds them in), s2c is the server's output buffer,
 * which the client reads from. Shared by test_tls.c and bench_tls.c.
 */
#ifndef TLS_PEER_H
#define TLS_PEER_H

#include <limits.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <sodium.h>

#include "core/core.h"
#include "tls/tls.h"
#include "xmppcore.h"

typedef struct {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own;
    mbedtls_pk_context own_key;
    const char *alpn[4];
    xmppcore_buffer *c2s;
    xmppcore_buffer *s2c;
} tp_client;

typedef struct {
    const char *ca_pem;      /* trust anchors (NULL: none) */
    const char *hostname;    /* SNI and name to verify (NULL: no SNI) */
    const char *const *alpn; /* NULL-terminated, up to 3 (NULL: none) */
    const int *suites;       /* 0-terminated (NULL: mbedTLS defaults) */
    int max_minor;           /* 0: TLS 1.2 */
    const char *cert_pem;    /* client certificate (NULL: none) */
    const char *key_pem;
    int renegotiation; /* allow the client to renegotiate */
} tp_opts;

static inline int tp_entropy(void *p, unsigned char *buf, size_t len)
{
    (void)p;
    randombytes_buf(buf, len);
    return 0;
}

static inline int tp_send(void *p, const unsigned char *buf, size_t len)
{
    tp_client *c = p;
    if (xmppcore_buffer_append(c->c2s, buf, len) != 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return (int)len;
}

static inline int tp_recv(void *p, unsigned char *buf, size_t len)
{
    tp_client *c = p;
    size_t have = xmppcore_buffer_len(c->s2c);
    if (have == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = len < have ? len : have;
    memcpy(buf, xmppcore_buffer_data(c->s2c), n);
    xmppcore_buffer_consume(c->s2c, n);
    return (int)n;
}

/* Returns 0 or an mbedTLS error. */
static inline int tp_init(tp_client *c, const tp_opts *o, xmppcore_buffer *s2c)
{
    int ret;
    memset(c, 0, sizeof *c);
    mbedtls_ssl_init(&c->ssl);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_x509_crt_init(&c->own);
    mbedtls_pk_init(&c->own_key);
    c->c2s = xmppcore_buffer_new(NULL);
    c->s2c = s2c;
    if ((ret = mbedtls_ctr_drbg_seed(&c->drbg, tp_entropy, NULL, NULL, 0)) ||
        (ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                           MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)))
        return ret;
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    /* Verification is checked by the tests, not enforced. */
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    if (o->ca_pem) {
        if ((ret = mbedtls_x509_crt_parse(&c->ca,
                                          (const unsigned char *)o->ca_pem,
                                          strlen(o->ca_pem) + 1)))
            return ret;
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    }
    if (o->cert_pem) {
        if ((ret = mbedtls_x509_crt_parse(&c->own,
                                          (const unsigned char *)o->cert_pem,
                                          strlen(o->cert_pem) + 1)) ||
            (ret = mbedtls_pk_parse_key(&c->own_key,
                                        (const unsigned char *)o->key_pem,
                                        strlen(o->key_pem) + 1, NULL, 0)) ||
            (ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->own, &c->own_key)))
            return ret;
    }
    if (o->alpn) {
        size_t i = 0;
        for (; o->alpn[i] && i < 3; i++)
            c->alpn[i] = o->alpn[i];
        c->alpn[i] = NULL;
        if ((ret = mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn)))
            return ret;
    }
    if (o->suites)
        mbedtls_ssl_conf_ciphersuites(&c->conf, o->suites);
    if (o->max_minor)
        mbedtls_ssl_conf_max_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                     o->max_minor);
    if (o->renegotiation)
        mbedtls_ssl_conf_renegotiation(&c->conf,
                                       MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    if ((ret = mbedtls_ssl_setup(&c->ssl, &c->conf)))
        return ret;
    if (o->hostname && (ret = mbedtls_ssl_set_hostname(&c->ssl, o->hostname)))
        return ret;
    mbedtls_ssl_set_bio(&c->ssl, c, tp_send, tp_recv, NULL);
    return 0;
}

static inline void tp_free(tp_client *c)
{
    mbedtls_ssl_free(&c->ssl);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_x509_crt_free(&c->own);
    mbedtls_pk_free(&c->own_key);
    xmppcore_buffer_free(c->c2s);
}

/* Moves what the client wrote into the server, in pieces of at most
 * chunk bytes (0: all at once). Returns the first non-zero feed result. */
static inline int tp_to_server(tp_client *c, xi_tls_session *s, size_t chunk)
{
    int rc = 0;
    while (xmppcore_buffer_len(c->c2s) && rc == 0) {
        size_t n = xmppcore_buffer_len(c->c2s);
        if (chunk && n > chunk)
            n = chunk;
        rc = xi_tls_feed(s, xmppcore_buffer_data(c->c2s), n);
        xmppcore_buffer_consume(c->c2s, n);
    }
    return rc;
}

typedef struct {
    int client; /* last mbedtls_ssl_handshake result */
    int server; /* first non-zero xi_tls_feed result */
} tp_result;

/* Runs the handshake to its end, either way. */
static inline tp_result tp_handshake(tp_client *c, xi_tls_session *s,
                                     size_t chunk)
{
    tp_result r = {0, 0};
    for (int i = 0; i < 50; i++) {
        r.client = mbedtls_ssl_handshake(&c->ssl);
        int rc = tp_to_server(c, s, chunk);
        if (rc && !r.server)
            r.server = rc;
        if (r.client != MBEDTLS_ERR_SSL_WANT_READ)
            break;
        if (r.server && xmppcore_buffer_len(c->s2c) == 0)
            break;
    }
    if (r.client == MBEDTLS_ERR_SSL_WANT_READ && r.server)
        r.client = mbedtls_ssl_handshake(&c->ssl); /* reads the alert */
    return r;
}

/* Client → server: writes len bytes, feeds them in pieces of chunk
 * bytes, reading after each feed; appends the plaintext to got.
 * Returns the last xi_tls_read result that was not 0. */
static inline int tp_client_to_server(tp_client *c, xi_tls_session *s,
                                      const void *data, size_t len,
                                      size_t chunk, xmppcore_buffer *got)
{
    const unsigned char *p = data;
    while (len) {
        int ret = mbedtls_ssl_write(&c->ssl, p, len);
        if (ret <= 0)
            return XMPPCORE_E_INTERNAL;
        p += ret;
        len -= (size_t)ret;
    }
    int rc = XMPPCORE_E_AGAIN;
    while (xmppcore_buffer_len(c->c2s)) {
        size_t n = xmppcore_buffer_len(c->c2s);
        if (chunk && n > chunk)
            n = chunk;
        int f = xi_tls_feed(s, xmppcore_buffer_data(c->c2s), n);
        xmppcore_buffer_consume(c->c2s, n);
        if (f)
            return f;
        for (;;) {
            char buf[4096];
            size_t got_n;
            rc = xi_tls_read(s, buf, sizeof buf, &got_n);
            if (rc)
                break;
            xmppcore_buffer_append(got, buf, got_n);
        }
        if (rc != XMPPCORE_E_AGAIN)
            return rc;
    }
    return rc;
}

/* Reads all the client can from s2c into got; returns the last
 * mbedtls_ssl_read result (WANT_READ when all was read). */
static inline int tp_client_read(tp_client *c, xmppcore_buffer *got)
{
    for (;;) {
        unsigned char buf[4096];
        int ret = mbedtls_ssl_read(&c->ssl, buf, sizeof buf);
        if (ret <= 0)
            return ret;
        xmppcore_buffer_append(got, buf, (size_t)ret);
    }
}

#endif

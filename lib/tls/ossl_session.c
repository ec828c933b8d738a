/*
 * A server TLS session over memory, OpenSSL backend. The SSL's one BIO
 * is our own: its read takes fed ciphertext from `in` (released as soon
 * as it is drained), its write appends straight to the host's output
 * buffer, so no memory BIO sits in between and nothing is copied twice.
 * Reads never block (no input is a retry), writes always fit. Every
 * OpenSSL call starts with an empty error queue and leaves it empty, so
 * one session's error never shows in another's message. Also the
 * session's channel bindings and the client's certificate (its names are
 * read by tls_cert.c).
 */
#include <limits.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls/ossl_internal.h"


/* ---- The BIO ---- */


static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    xi_tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (xi_buf_put(s->out, data, len) < 0) {
        s->out_failed = true;
        return 0;
    }
    *written = len;
    return 1;
}

static int bio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    xi_tls_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (s->in.len == 0) {
        BIO_set_retry_read(b);
        return 0;
    }
    size_t n = len < s->in.len ? len : s->in.len;
    memcpy(buf, s->in.data + s->in.off, n);
    s->in.off += n;
    s->in.len -= n;
    if (s->in.len == 0)
        xi_tls_in_release(&s->in);
    *readbytes = n;
    return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    XI_UNUSED(b);
    XI_UNUSED(num);
    XI_UNUSED(ptr);
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD *xi_ossl_bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "xmppcore tls");
    if (m && (!BIO_meth_set_write_ex(m, bio_write) ||
              !BIO_meth_set_read_ex(m, bio_read) ||
              !BIO_meth_set_ctrl(m, bio_ctrl))) {
        BIO_meth_free(m);
        m = NULL;
    }
    return m;
}

/* ---- Sessions ---- */

int xi_tls_session_new(xi_tls_config *cfg, struct xmppcore_buffer *out,
                       xi_tls_session **sp)
{
    int rc;
    *sp = NULL;
    if (!cfg || !out)
        return XMPPCORE_E_INVAL;
    if ((rc = xi_tls_config_freeze(cfg)) < 0)
        return rc;
    xi_tls_session *s = xi_calloc(cfg->mem, sizeof *s);
    if (!s)
        return XMPPCORE_E_NOMEM;
    s->in.mem = cfg->mem;
    s->out = out;
    s->state = XI_TLS_HANDSHAKE;
    s->first_byte = -1;
    ERR_clear_error();
    BIO *bio = NULL;
    if (!(s->ssl = SSL_new(cfg->ctx)) || !(bio = BIO_new(cfg->bio_method))) {
        bool nomem =
            xi_ossl_error(s->err, sizeof s->err, "TLS setup", "failed");
        SSL_free(s->ssl);
        xi_free(cfg->mem, s);
        return nomem ? XMPPCORE_E_NOMEM : XMPPCORE_E_INTERNAL;
    }
    BIO_set_data(bio, s);
    BIO_set_init(bio, 1);
    SSL_set_bio(s->ssl, bio, bio); /* one reference, owned by the SSL */
    SSL_set_app_data(s->ssl, s);
    SSL_set_accept_state(s->ssl);
    atomic_fetch_add(&cfg->refs, 1);
    s->cfg = cfg;
    *sp = s;
    return 0;
}

void xi_tls_session_free(xi_tls_session *s)
{
    if (!s)
        return;
    const xmppcore_mem *mem = s->cfg->mem;
    SSL_free(s->ssl);
    xi_tls_in_release(&s->in);
    xi_free(mem, s->sni);
    xi_free(mem, s->peer_der);
    xi_tls_peer_names_free(mem, s->peer_names, s->n_peer_names);
    xi_tls_config_free(s->cfg);
    xi_free(mem, s);
}

/* Fails the session with OpenSSL's reason for the failed call. */
static int fail(xi_tls_session *s, const char *what)
{
    s->state = XI_TLS_FAILED;
    bool nomem = xi_ossl_error(s->err, sizeof s->err, what,
                               s->out_failed ? "out of memory"
                                             : "unexpected end of input");
    xi_tls_in_release(&s->in);
    return nomem || s->out_failed ? XMPPCORE_E_NOMEM : XMPPCORE_E_TLS;
}

/* The suite's name as mbedTLS spells it, from the config's table. */
static const char *suite_name(const xi_tls_session *s)
{
    const SSL_CIPHER *c = SSL_get_current_cipher(s->ssl);
    for (size_t i = 0; i < s->cfg->n_suites; i++)
        if (s->cfg->suites[i].cipher == c)
            return s->cfg->suites[i].name;
    return c ? SSL_CIPHER_standard_name(c) : NULL;
}

static int established(xi_tls_session *s)
{
    X509 *own = SSL_get_certificate(s->ssl);
    for (struct xi_tls_cert *c = s->cfg->certs; c && own; c = c->next)
        if (c->leaf == own) {
            s->used = c;
            break;
        }
    s->suite = suite_name(s);
    X509 *peer = SSL_get0_peer_certificate(s->ssl);
    if (peer) {
        /* Kept as DER for xi_tls_peer_cert_der and the names. */
        int n = i2d_X509(peer, NULL);
        unsigned char *p;
        if (n <= 0 || !(p = s->peer_der = xi_calloc(s->cfg->mem, (size_t)n))) {
            s->state = XI_TLS_FAILED;
            snprintf(s->err, sizeof s->err, "out of memory");
            ERR_clear_error();
            xi_tls_in_release(&s->in);
            return XMPPCORE_E_NOMEM;
        }
        s->peer_der_len = (size_t)i2d_X509(peer, &p);
    }
    s->state = XI_TLS_ESTABLISHED;
    s->handshake_done = true;
    return 0;
}

static int handshake(xi_tls_session *s)
{
    ERR_clear_error();
    int ret = SSL_do_handshake(s->ssl);
    if (ret == 1)
        return established(s);
    int e = SSL_get_error(s->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error(); /* nothing of ours stays for the host to see */
        return 0;
    }
    /* A client speaking plain XMPP to a direct-TLS port is the common
     * case worth naming. */
    return fail(s, s->first_byte == '<'
                       ? "TLS handshake failed (the peer sent plaintext "
                         "XML, not TLS)"
                       : "TLS handshake failed");
}

int xi_tls_feed(xi_tls_session *s, const void *data, size_t len)
{
    int rc = xi_tls_take_input(&s->in, &s->state, s->peer_closed,
                               &s->first_byte, s->err, sizeof s->err, data,
                               len);
    if (rc != 0)
        return rc;
    if (s->state == XI_TLS_HANDSHAKE)
        return handshake(s);
    return 0;
}

static int peer_closed(xi_tls_session *s)
{
    s->peer_closed = true;
    s->state = XI_TLS_CLOSED;
    xi_tls_in_release(&s->in);
    if (!s->sent_close) {
        s->sent_close = true;
        ERR_clear_error();
        if (SSL_shutdown(s->ssl) < 0)
            return fail(s, "sending close_notify");
    }
    return XMPPCORE_E_STREAM_CLOSED;
}

int xi_tls_read(xi_tls_session *s, void *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (s->state == XI_TLS_FAILED)
        return XMPPCORE_E_STATE;
    if (s->peer_closed)
        return XMPPCORE_E_STREAM_CLOSED;
    if (!s->handshake_done)
        return s->state == XI_TLS_HANDSHAKE ? XMPPCORE_E_AGAIN
                                            : XMPPCORE_E_STATE;
    if (cap == 0)
        return XMPPCORE_E_INVAL;
    ERR_clear_error();
    if (SSL_read_ex(s->ssl, buf, cap, n) == 1)
        return 0;
    *n = 0;
    switch (SSL_get_error(s->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: ERR_clear_error(); return XMPPCORE_E_AGAIN;
    case SSL_ERROR_ZERO_RETURN: return peer_closed(s);
    default: return fail(s, "TLS read failed");
    }
}

int xi_tls_write(xi_tls_session *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (s->state != XI_TLS_ESTABLISHED)
        return XMPPCORE_E_STATE;
    while (len > 0) {
        size_t done = 0;
        ERR_clear_error();
        if (SSL_write_ex(s->ssl, p, len, &done) != 1)
            return fail(s, "TLS write failed");
        p += done;
        len -= done;
    }
    return 0;
}

int xi_tls_close(xi_tls_session *s)
{
    if (s->state == XI_TLS_FAILED || s->state == XI_TLS_CLOSED)
        return XMPPCORE_E_STATE;
    s->state = XI_TLS_CLOSED;
    if (s->handshake_done && !s->sent_close) {
        s->sent_close = true;
        ERR_clear_error();
        if (SSL_shutdown(s->ssl) < 0)
            return fail(s, "sending close_notify");
    }
    return 0;
}

xi_tls_state xi_tls_get_state(const xi_tls_session *s)
{
    return s->state;
}

const char *xi_tls_error(const xi_tls_session *s)
{
    return s->err;
}

const char *xi_tls_alpn(const xi_tls_session *s)
{
    return s->handshake_done ? s->alpn : NULL;
}

const char *xi_tls_sni(const xi_tls_session *s)
{
    return s->sni;
}

const char *xi_tls_ciphersuite(const xi_tls_session *s)
{
    return s->handshake_done ? s->suite : NULL;
}

const char *xi_tls_version(const xi_tls_session *s)
{
    return s->handshake_done ? SSL_get_version(s->ssl) : NULL;
}

/* ---- Channel bindings (RFC 5929) and the client's certificate ---- */

int xi_tls_channel_binding(const xi_tls_session *s, xi_tls_cb_type type,
                           unsigned char *out, size_t cap, size_t *len)
{
    unsigned char fin[64];
    size_t n;
    *len = 0;
    if (!s->handshake_done || s->state == XI_TLS_FAILED)
        return XMPPCORE_E_STATE;
    switch (type) {
    case XI_TLS_CB_SERVER_END_POINT:
        /* Hashed when the certificate was added. */
        if (!s->used)
            return XMPPCORE_E_INTERNAL;
        if (s->used->end_point_rc < 0)
            return s->used->end_point_rc;
        if (s->used->end_point_len > cap)
            return XMPPCORE_E_RANGE;
        memcpy(out, s->used->end_point, s->used->end_point_len);
        *len = s->used->end_point_len;
        return 0;
    case XI_TLS_CB_UNIQUE:
        /* The first Finished of the connection: with no resumption that
         * is always the client's, the server's peer Finished. */
        n = SSL_get_peer_finished(s->ssl, fin, sizeof fin);
        if (n == 0 || n > sizeof fin)
            return XMPPCORE_E_STATE;
        if (n > cap)
            return XMPPCORE_E_RANGE;
        memcpy(out, fin, n);
        *len = n;
        return 0;
    default: return XMPPCORE_E_INVAL;
    }
}

bool xi_tls_peer_has_cert(const xi_tls_session *s)
{
    return s->handshake_done && s->peer_der != NULL;
}

bool xi_tls_peer_verified(const xi_tls_session *s)
{
    return xi_tls_peer_has_cert(s) && s->verify_flags == 0;
}

uint32_t xi_tls_peer_verify_flags(const xi_tls_session *s)
{
    return xi_tls_peer_has_cert(s) ? s->verify_flags : UINT32_MAX;
}

int xi_tls_peer_cert_der(const xi_tls_session *s, const unsigned char **der,
                         size_t *len)
{
    if (!xi_tls_peer_has_cert(s))
        return XMPPCORE_E_NOTFOUND;
    *der = s->peer_der;
    *len = s->peer_der_len;
    return 0;
}

int xi_tls_peer_name(xi_tls_session *s, size_t i, xi_tls_name_type *type,
                     const char **value)
{
    if (!xi_tls_peer_has_cert(s))
        return XMPPCORE_E_NOTFOUND;
    if (!s->peer_names_done) {
        /* Read with mbedTLS, like the mbedTLS backend's; a certificate
         * OpenSSL took but mbedTLS cannot parse has no names. */
        mbedtls_x509_crt crt;
        mbedtls_x509_crt_init(&crt);
        int ret =
            mbedtls_x509_crt_parse_der(&crt, s->peer_der, s->peer_der_len);
        int rc = 0;
        if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
            rc = XMPPCORE_E_NOMEM;
        else if (ret == 0)
            rc = xi_tls_peer_names(s->cfg->mem, &crt, &s->peer_names,
                                   &s->n_peer_names);
        mbedtls_x509_crt_free(&crt);
        if (rc < 0)
            return rc;
        s->peer_names_done = true;
    }
    if (i >= s->n_peer_names)
        return XMPPCORE_E_NOTFOUND;
    *type = s->peer_names[i].type;
    *value = s->peer_names[i].value;
    return 0;
}

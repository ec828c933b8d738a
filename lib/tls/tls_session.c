/*
 * A server TLS session over memory, mbedTLS backend: fed ciphertext is
 * queued in `in` and handed to mbedTLS by the receive callback; what
 * mbedTLS sends is appended to the host's output buffer. The callbacks
 * never block: no input is MBEDTLS_ERR_SSL_WANT_READ, output always
 * fits. Also the session's channel bindings and the client's
 * certificate (its names are read by tls_cert.c).
 */
#include <limits.h>
#include <stdio.h>

#include <mbedtls/ssl_ciphersuites.h>

#include "tls/tls_internal.h"


/* The input queue's storage is released as soon as it is drained, so
 * an idle session holds no input copy. */

static int bio_send(void *p, const unsigned char *buf, size_t len)
{
    xi_tls_session *s = p;
    if (len > INT_MAX)
        len = INT_MAX;
    if (xi_buf_put(s->out, buf, len) < 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return (int)len;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
    xi_tls_session *s = p;
    if (s->in.len == 0)
        return MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = len < s->in.len ? len : s->in.len;
    if (n > INT_MAX)
        n = INT_MAX;
    memcpy(buf, s->in.data + s->in.off, n);
    s->in.off += n;
    s->in.len -= n;
    if (s->in.len == 0)
        xi_tls_in_release(&s->in);
    return (int)n;
}

int xi_tls_session_new(xi_tls_config *cfg, struct xmppcore_buffer *out,
                       xi_tls_session **sp)
{
    int rc, ret;
    *sp = NULL;
    if (!cfg || !out)
        return XMPPCORE_E_INVAL;
    if ((rc = xi_tls_config_freeze(cfg)) < 0)
        return rc;
    xi_tls_session *s = xi_calloc(cfg->mem, sizeof *s);
    if (!s)
        return XMPPCORE_E_NOMEM;
    mbedtls_ssl_init(&s->ssl);
    s->in.mem = cfg->mem;
    s->out = out;
    s->state = XI_TLS_HANDSHAKE;
    s->first_byte = -1;
    if ((ret = mbedtls_ssl_setup(&s->ssl, &cfg->conf)) != 0) {
        mbedtls_ssl_free(&s->ssl);
        xi_free(cfg->mem, s);
        return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? XMPPCORE_E_NOMEM
                                                   : XMPPCORE_E_INTERNAL;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
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
    mbedtls_ssl_free(&s->ssl);
    xi_tls_in_release(&s->in);
    xi_free(mem, s->sni);
    xi_tls_peer_names_free(mem, s->peer_names, s->n_peer_names);
    xi_tls_config_free(s->cfg);
    xi_free(mem, s);
}

static int fail(xi_tls_session *s, const char *what, int ret)
{
    s->state = XI_TLS_FAILED;
    xi_tls_strerror(s->err, sizeof s->err, what, ret);
    xi_tls_in_release(&s->in);
    return XMPPCORE_E_TLS;
}

/* Which certificate the handshake used: the first one of the set mbedTLS
 * chose from (SNI matches, else the defaults) whose key fits the suite.
 * mbedTLS picks the same way, barring an EC certificate on a curve the
 * client does not support followed by another EC certificate. */
static void find_used_cert(xi_tls_session *s)
{
    const char *name = mbedtls_ssl_get_ciphersuite(&s->ssl);
    const mbedtls_ssl_ciphersuite_t *info =
        name ? mbedtls_ssl_ciphersuite_from_id(
                   mbedtls_ssl_get_ciphersuite_id(name))
             : NULL;
    if (!info)
        return;
    mbedtls_pk_type_t pk = mbedtls_ssl_get_ciphersuite_sig_pk_alg(info);
    struct xi_tls_cert *const *set = s->n_cand ? s->cand : s->cfg->defaults;
    size_t n = s->n_cand ? s->n_cand : s->cfg->n_defaults;
    for (size_t i = 0; i < n; i++) {
        if (mbedtls_pk_can_do(&set[i]->key, pk)) {
            s->used = set[i];
            return;
        }
    }
}

static int handshake(xi_tls_session *s)
{
    int ret = mbedtls_ssl_handshake(&s->ssl);
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    if (ret != 0)
        /* A client speaking plain XMPP to a direct-TLS port is the
         * common case worth naming. */
        return fail(s,
                    s->first_byte == '<'
                        ? "TLS handshake failed (the peer sent plaintext "
                          "XML, not TLS)"
                        : "TLS handshake failed",
                    ret);
    s->state = XI_TLS_ESTABLISHED;
    s->handshake_done = true;
    find_used_cert(s);
    return 0;
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
        int ret = mbedtls_ssl_close_notify(&s->ssl);
        if (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return fail(s, "sending close_notify", ret);
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
    /* 0 is what mbedTLS returns for an empty application record; go on
     * while there is input so that none is left stranded. */
    for (;;) {
        int ret = mbedtls_ssl_read(&s->ssl, buf, cap);
        if (ret > 0) {
            *n = (size_t)ret;
            return 0;
        }
        if (ret == 0 && (s->in.len || mbedtls_ssl_check_pending(&s->ssl)))
            continue;
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ ||
            ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            return XMPPCORE_E_AGAIN;
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            return peer_closed(s);
        return fail(s, "TLS read failed", ret);
    }
}

int xi_tls_write(xi_tls_session *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (s->state != XI_TLS_ESTABLISHED)
        return XMPPCORE_E_STATE;
    while (len > 0) {
        int ret = mbedtls_ssl_write(&s->ssl, p, len);
        if (ret == MBEDTLS_ERR_SSL_ALLOC_FAILED) {
            fail(s, "TLS write failed", ret);
            return XMPPCORE_E_NOMEM;
        }
        if (ret < 0)
            return fail(s, "TLS write failed", ret);
        p += ret;
        len -= (size_t)ret;
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
        int ret = mbedtls_ssl_close_notify(&s->ssl);
        if (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return fail(s, "sending close_notify", ret);
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
    return s->handshake_done ? mbedtls_ssl_get_alpn_protocol(&s->ssl) : NULL;
}

const char *xi_tls_sni(const xi_tls_session *s)
{
    return s->sni;
}

const char *xi_tls_ciphersuite(const xi_tls_session *s)
{
    return s->handshake_done ? mbedtls_ssl_get_ciphersuite(&s->ssl) : NULL;
}

const char *xi_tls_version(const xi_tls_session *s)
{
    return s->handshake_done ? mbedtls_ssl_get_version(&s->ssl) : NULL;
}

/* ---- Channel bindings (RFC 5929) and the client's certificate ---- */

static int tls_unique(const xi_tls_session *s, unsigned char *out, size_t cap,
                      size_t *len)
{
#if XI_TLS_HAVE_VERIFY_DATA
    /* The first Finished of the connection: with no resumption that is
     * always the client's, which the server holds as the peer's. */
    size_t n = s->ssl.verify_data_len;
    if (n == 0)
        return XMPPCORE_E_STATE;
    if (n > cap)
        return XMPPCORE_E_RANGE;
    memcpy(out, s->ssl.peer_verify_data, n);
    *len = n;
    return 0;
#else
    XI_UNUSED(s);
    XI_UNUSED(out);
    XI_UNUSED(cap);
    XI_UNUSED(len);
    return XMPPCORE_E_UNSUPPORTED;
#endif
}

int xi_tls_channel_binding(const xi_tls_session *s, xi_tls_cb_type type,
                           unsigned char *out, size_t cap, size_t *len)
{
    *len = 0;
    if (!s->handshake_done || s->state == XI_TLS_FAILED)
        return XMPPCORE_E_STATE;
    switch (type) {
    case XI_TLS_CB_SERVER_END_POINT:
        return s->used ? xi_tls_end_point(&s->used->chain, out, cap, len)
                       : XMPPCORE_E_INTERNAL;
    case XI_TLS_CB_UNIQUE: return tls_unique(s, out, cap, len);
    default: return XMPPCORE_E_INVAL;
    }
}

bool xi_tls_peer_has_cert(const xi_tls_session *s)
{
    return s->handshake_done && mbedtls_ssl_get_peer_cert(&s->ssl) != NULL;
}

bool xi_tls_peer_verified(const xi_tls_session *s)
{
    return xi_tls_peer_has_cert(s) &&
           mbedtls_ssl_get_verify_result(&s->ssl) == 0;
}

uint32_t xi_tls_peer_verify_flags(const xi_tls_session *s)
{
    if (!xi_tls_peer_has_cert(s))
        return UINT32_MAX;
    return mbedtls_ssl_get_verify_result(&s->ssl);
}

int xi_tls_peer_cert_der(const xi_tls_session *s, const unsigned char **der,
                         size_t *len)
{
    const mbedtls_x509_crt *crt =
        s->handshake_done ? mbedtls_ssl_get_peer_cert(&s->ssl) : NULL;
    if (!crt)
        return XMPPCORE_E_NOTFOUND;
    *der = crt->raw.p;
    *len = crt->raw.len;
    return 0;
}

int xi_tls_peer_name(xi_tls_session *s, size_t i, xi_tls_name_type *type,
                     const char **value)
{
    const mbedtls_x509_crt *crt =
        s->handshake_done ? mbedtls_ssl_get_peer_cert(&s->ssl) : NULL;
    if (!crt)
        return XMPPCORE_E_NOTFOUND;
    if (!s->peer_names_done) {
        int rc = xi_tls_peer_names(s->cfg->mem, crt, &s->peer_names,
                                   &s->n_peer_names);
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

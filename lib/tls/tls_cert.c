/*
 * What a session knows about certificates: channel bindings (RFC 5929)
 * from the server certificate it used and its Finished messages, and the
 * client's certificate with its identities (for SASL EXTERNAL).
 */
#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>

#include "tls/tls_internal.h"

/* id-on-xmppAddr (RFC 6120 §13.7.1.4) and id-on-dnsSRV (RFC 4985). */
#define OID_XMPPADDR MBEDTLS_OID_ON "\x05"
#define OID_DNSSRV   MBEDTLS_OID_ON "\x07"

static int server_end_point(const xi_tls_session *s, unsigned char *out,
                            size_t cap, size_t *len)
{
    const mbedtls_x509_crt *crt = &s->used->chain;
    mbedtls_md_type_t md = crt->sig_md;
    /* RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256. */
    if (md == MBEDTLS_MD_MD5 || md == MBEDTLS_MD_SHA1)
        md = MBEDTLS_MD_SHA256;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    if (!info)
        return XMPPCORE_E_UNSUPPORTED;
    size_t n = mbedtls_md_get_size(info);
    if (n > cap)
        return XMPPCORE_E_RANGE;
    if (mbedtls_md(info, crt->raw.p, crt->raw.len, out) != 0)
        return XMPPCORE_E_INTERNAL;
    *len = n;
    return 0;
}

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
        return s->used ? server_end_point(s, out, cap, len)
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

static int push_name(xi_tls_session *s, xi_tls_name_type type,
                     const unsigned char *p, size_t len)
{
    const xmppcore_mem *mem = s->cfg->mem;
    if (len == 0 || memchr(p, '\0', len))
        return 0;
    struct xi_tls_peer_name *v =
        xi_realloc(mem, s->peer_names, (s->n_peer_names + 1) * sizeof *v);
    if (!v)
        return XMPPCORE_E_NOMEM;
    s->peer_names = v;
    if (!(v[s->n_peer_names].value = xi_strndup(mem, (const char *)p, len)))
        return XMPPCORE_E_NOMEM;
    v[s->n_peer_names++].type = type;
    return 0;
}

/*
 * otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; mbedTLS
 * keeps the SEQUENCE's contents. xmppAddr is a UTF8String, SRVName an
 * IA5String. Malformed or other names are skipped.
 */
static int other_name(xi_tls_session *s, const mbedtls_x509_buf *b)
{
    unsigned char *p = b->p, *end = b->p + b->len;
    size_t len;
    mbedtls_x509_buf oid;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OID) != 0)
        return 0;
    oid.tag = MBEDTLS_ASN1_OID;
    oid.p = p;
    oid.len = len;
    p += len;
    if (mbedtls_asn1_get_tag(&p, end, &len,
                             MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                 MBEDTLS_ASN1_CONSTRUCTED | 0) != 0)
        return 0;
    end = p + len;
    if (MBEDTLS_OID_CMP(OID_XMPPADDR, &oid) == 0) {
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_UTF8_STRING) == 0)
            return push_name(s, XI_TLS_NAME_XMPPADDR, p, len);
    } else if (MBEDTLS_OID_CMP(OID_DNSSRV, &oid) == 0) {
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_IA5_STRING) == 0)
            return push_name(s, XI_TLS_NAME_SRV, p, len);
    }
    return 0;
}

static int collect_peer_names(xi_tls_session *s, const mbedtls_x509_crt *crt)
{
    int rc = 0;
    for (const mbedtls_x509_sequence *q = &crt->subject_alt_names; q && !rc;
         q = q->next) {
        if (!q->buf.p)
            continue;
        if (q->buf.tag ==
            (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
            rc = push_name(s, XI_TLS_NAME_DNS, q->buf.p, q->buf.len);
        else if (q->buf.tag ==
                 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED |
                  MBEDTLS_X509_SAN_OTHER_NAME))
            rc = other_name(s, &q->buf);
    }
    for (const mbedtls_x509_name *n = &crt->subject; n && !rc; n = n->next) {
        if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
            rc = push_name(s, XI_TLS_NAME_CN, n->val.p, n->val.len);
    }
    return rc;
}

int xi_tls_peer_name(xi_tls_session *s, size_t i, xi_tls_name_type *type,
                     const char **value)
{
    const mbedtls_x509_crt *crt =
        s->handshake_done ? mbedtls_ssl_get_peer_cert(&s->ssl) : NULL;
    if (!crt)
        return XMPPCORE_E_NOTFOUND;
    if (!s->peer_names_done) {
        int rc = collect_peer_names(s, crt);
        if (rc < 0) {
            /* Leave nothing half-built; the next call retries. */
            for (size_t k = 0; k < s->n_peer_names; k++)
                xi_free(s->cfg->mem, s->peer_names[k].value);
            xi_free(s->cfg->mem, s->peer_names);
            s->peer_names = NULL;
            s->n_peer_names = 0;
            return rc;
        }
        s->peer_names_done = true;
    }
    if (i >= s->n_peer_names)
        return XMPPCORE_E_NOTFOUND;
    *type = s->peer_names[i].type;
    *value = s->peer_names[i].value;
    return 0;
}

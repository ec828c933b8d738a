/*
 * Certificates, whichever backend runs TLS: reading certificate chains,
 * keys and trust anchors (with mbedTLS's parsers, so both backends accept
 * and refuse the same input with the same messages), the names a server
 * certificate is served for, its tls-server-end-point hash (RFC 5929),
 * and the identities in a client's certificate (for SASL EXTERNAL).
 */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>

#include "tls/tls_cert.h"

/* id-on-xmppAddr (RFC 6120 §13.7.1.4) and id-on-dnsSRV (RFC 4985). */
#define OID_XMPPADDR MBEDTLS_OID_ON "\x05"
#define OID_DNSSRV   MBEDTLS_OID_ON "\x07"

void xi_tls_strerror(char *buf, size_t size, const char *what, int ret)
{
    char msg[128];
    mbedtls_strerror(ret, msg, sizeof msg);
    /* Truncation is fine; the return value is used to say so to gcc. */
    if (snprintf(buf, size, "%s: %s (-0x%04x)", what, msg,
                 (unsigned)(ret < 0 ? -ret : ret)) < 0)
        buf[0] = '\0';
}

int xi_tls_set_err(char *err, size_t size, int code, const char *fmt,
                   const char *arg, int mbed_ret)
{
    char what[200];
    if (snprintf(what, sizeof what, fmt, arg ? arg : "") < 0)
        what[0] = '\0';
    if (mbed_ret)
        xi_tls_strerror(err, size, what, mbed_ret);
    else if (snprintf(err, size, "%s", what) < 0)
        err[0] = '\0';
    return code;
}

int xi_tls_entropy(void *p, unsigned char *buf, size_t len)
{
    const xmppcore_env *env = p;
    if (env->rng(buf, len, env->rng_user_data) != 0)
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    return 0;
}

/* mbedTLS parse errors: unreadable file, out of memory, or bad data. */
static int parse_code(int ret)
{
    if (ret == MBEDTLS_ERR_X509_FILE_IO_ERROR ||
        ret == MBEDTLS_ERR_PK_FILE_IO_ERROR)
        return XMPPCORE_E_IO;
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED ||
        ret == MBEDTLS_ERR_PK_ALLOC_FAILED)
        return XMPPCORE_E_NOMEM;
    return XMPPCORE_E_INVAL;
}

int xi_tls_parse_cert(mbedtls_x509_crt *chain, mbedtls_pk_context *key,
                      const char *chain_src, const char *key_src,
                      const char *password, bool files, char *err, size_t errsz)
{
    int ret;
    if (files)
        ret = mbedtls_x509_crt_parse_file(chain, chain_src);
    else /* PEM input to mbedTLS is counted with its terminating NUL. */
        ret = mbedtls_x509_crt_parse(chain, (const unsigned char *)chain_src,
                                     strlen(chain_src) + 1);
    if (ret > 0) /* some certificates of the chain did not parse */
        return xi_tls_set_err(
            err, errsz, XMPPCORE_E_INVAL,
            files ? "certificate file %s: a certificate is malformed"
                  : "certificate chain: a certificate is malformed%s",
            files ? chain_src : NULL, 0);
    if (ret < 0)
        return xi_tls_set_err(err, errsz, parse_code(ret),
                              files ? "certificate file %s" : "certificate%s",
                              files ? chain_src : NULL, ret);
    if (files)
        ret = mbedtls_pk_parse_keyfile(key, key_src, password);
    else
        ret = mbedtls_pk_parse_key(
            key, (const unsigned char *)key_src, strlen(key_src) + 1,
            (const unsigned char *)password, password ? strlen(password) : 0);
    if (ret != 0)
        return xi_tls_set_err(err, errsz, parse_code(ret),
                              files ? "private key file %s" : "private key%s",
                              files ? key_src : NULL, ret);
    if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECKEY) &&
        !mbedtls_pk_can_do(key, MBEDTLS_PK_RSA))
        return xi_tls_set_err(err, errsz, XMPPCORE_E_INVAL,
                              "private key: neither an EC nor an RSA key", NULL,
                              0);
    if ((ret = mbedtls_pk_check_pair(&chain->pk, key)) != 0)
        return xi_tls_set_err(err, errsz, XMPPCORE_E_INVAL,
                              "private key does not match the certificate",
                              NULL, ret);
    /* Below 2048 bits RSA is breakable in practice; OpenSSL (security
     * level 2) would not serve it either, so both backends refuse it
     * here, when the certificate is added. */
    if (mbedtls_pk_can_do(key, MBEDTLS_PK_RSA) &&
        mbedtls_pk_get_bitlen(key) < 2048)
        return xi_tls_set_err(err, errsz, XMPPCORE_E_INVAL,
                              "RSA key shorter than 2048 bits", NULL, 0);
    return 0;
}

int xi_tls_parse_ca(mbedtls_x509_crt *ca, const char *src, bool file, char *err,
                    size_t errsz)
{
    int ret = file ? mbedtls_x509_crt_parse_file(ca, src)
                   : mbedtls_x509_crt_parse(ca, (const unsigned char *)src,
                                            strlen(src) + 1);
    if (ret > 0)
        return xi_tls_set_err(err, errsz, XMPPCORE_E_INVAL,
                              file ? "CA file %s: a certificate is malformed"
                                   : "CA certificates: one is malformed%s",
                              file ? src : NULL, 0);
    if (ret < 0)
        return xi_tls_set_err(err, errsz, parse_code(ret),
                              file ? "CA file %s" : "CA certificate%s",
                              file ? src : NULL, ret);
    return 0;
}

char *xi_tls_lower_dup(const xmppcore_mem *mem, const unsigned char *p,
                       size_t len)
{
    if (len == 0 || memchr(p, '\0', len))
        return NULL;
    char *s = xi_strndup(mem, (const char *)p, len);
    if (s)
        for (char *q = s; *q; q++)
            *q = (char)tolower((unsigned char)*q);
    return s;
}

static int add_name(const xmppcore_mem *mem, char ***names, size_t *n,
                    const unsigned char *p, size_t len)
{
    if (len == 0 || memchr(p, '\0', len))
        return 0; /* not a usable DNS name: skip */
    char **v = xi_realloc(mem, *names, (*n + 1) * sizeof *v);
    if (!v)
        return XMPPCORE_E_NOMEM;
    *names = v;
    if (!(v[*n] = xi_tls_lower_dup(mem, p, len)))
        return XMPPCORE_E_NOMEM;
    (*n)++;
    return 0;
}

int xi_tls_cert_names(const xmppcore_mem *mem, const mbedtls_x509_crt *crt,
                      char ***names, size_t *n)
{
    size_t before = *n;
    int rc;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s;
         s = s->next) {
        if (s->buf.p &&
            s->buf.tag ==
                (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME) &&
            (rc = add_name(mem, names, n, s->buf.p, s->buf.len)) < 0)
            return rc;
    }
    if (*n > before)
        return 0;
    for (const mbedtls_x509_name *a = &crt->subject; a; a = a->next) {
        if (a->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0)
            return add_name(mem, names, n, a->val.p, a->val.len);
    }
    return 0;
}

bool xi_tls_name_match(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(name, '.');
        /* One non-empty label, then the rest must match exactly. */
        return dot && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

int xi_tls_end_point(const mbedtls_x509_crt *crt, unsigned char *out,
                     size_t cap, size_t *len)
{
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

struct names {
    const xmppcore_mem *mem;
    struct xi_tls_peer_name *v;
    size_t n;
};

static int push_name(struct names *l, xi_tls_name_type type,
                     const unsigned char *p, size_t len)
{
    if (len == 0 || memchr(p, '\0', len))
        return 0;
    struct xi_tls_peer_name *v =
        xi_realloc(l->mem, l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return XMPPCORE_E_NOMEM;
    l->v = v;
    if (!(v[l->n].value = xi_strndup(l->mem, (const char *)p, len)))
        return XMPPCORE_E_NOMEM;
    v[l->n++].type = type;
    return 0;
}

/*
 * otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }; mbedTLS
 * keeps the SEQUENCE's contents. xmppAddr is a UTF8String, SRVName an
 * IA5String. Malformed or other names are skipped.
 */
static int other_name(struct names *l, const mbedtls_x509_buf *b)
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
            return push_name(l, XI_TLS_NAME_XMPPADDR, p, len);
    } else if (MBEDTLS_OID_CMP(OID_DNSSRV, &oid) == 0) {
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_IA5_STRING) == 0)
            return push_name(l, XI_TLS_NAME_SRV, p, len);
    }
    return 0;
}

int xi_tls_peer_names(const xmppcore_mem *mem, const mbedtls_x509_crt *crt,
                      struct xi_tls_peer_name **v, size_t *n)
{
    struct names l = {mem, NULL, 0};
    int rc = 0;
    for (const mbedtls_x509_sequence *q = &crt->subject_alt_names; q && !rc;
         q = q->next) {
        if (!q->buf.p)
            continue;
        if (q->buf.tag ==
            (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
            rc = push_name(&l, XI_TLS_NAME_DNS, q->buf.p, q->buf.len);
        else if (q->buf.tag ==
                 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED |
                  MBEDTLS_X509_SAN_OTHER_NAME))
            rc = other_name(&l, &q->buf);
    }
    for (const mbedtls_x509_name *a = &crt->subject; a && !rc; a = a->next) {
        if (a->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0)
            rc = push_name(&l, XI_TLS_NAME_CN, a->val.p, a->val.len);
    }
    if (rc < 0) {
        /* Leave nothing half-built; the next call retries. */
        xi_tls_peer_names_free(mem, l.v, l.n);
        return rc;
    }
    *v = l.v;
    *n = l.n;
    return 0;
}

void xi_tls_peer_names_free(const xmppcore_mem *mem, struct xi_tls_peer_name *v,
                            size_t n)
{
    for (size_t i = 0; i < n; i++)
        xi_free(mem, v[i].value);
    xi_free(mem, v);
}

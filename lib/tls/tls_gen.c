/*
 * Self-signed certificate generation (ECDSA P-256, SHA-256) and the
 * public calls that write it to buffers or files. mbedTLS 2.28's
 * x509write has no subjectAltName or extendedKeyUsage helper, so those
 * extensions are built here with the asn1write functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "tls/tls_cert.h"
#include "xmppcore/tls.h"

#define OID_XMPPADDR MBEDTLS_OID_ON "\x05"

/* A DNS name as certificates carry it; "*." allowed in front. */
static bool dns_name_ok(const char *s)
{
    size_t len = s ? strlen(s) : 0, label = 0;
    if (len == 0 || len > 253)
        return false;
    if (s[0] == '*' && s[1] == '.')
        s += 2;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0;
}

/* Is names[i] equal to the domain or to an earlier alt name? */
static bool duplicate(const struct xi_tls_certgen *g, size_t i)
{
    if (strcasecmp(g->alt_names[i], g->domain) == 0)
        return true;
    for (size_t j = 0; j < i; j++)
        if (strcasecmp(g->alt_names[i], g->alt_names[j]) == 0)
            return true;
    return false;
}

#define ASN1_ADD(len, expr)                                                    \
    do {                                                                       \
        int r_ = (expr);                                                       \
        if (r_ < 0)                                                            \
            return r_;                                                         \
        (len) += (size_t)r_;                                                   \
    } while (0)

/*
 * SubjectAltName ::= SEQUENCE OF GeneralName: dNSName [2] IA5String for
 * the domain and alt names, otherName [0] { id-on-xmppAddr, [0] EXPLICIT
 * UTF8String } for each xmppAddr. asn1write writes backwards, so the
 * entries are written last to first. Returns the length written before
 * *p, or a negative mbedTLS error.
 */
static int write_san(const struct xi_tls_certgen *g, unsigned char **p,
                     unsigned char *start)
{
    size_t len = 0;
    for (size_t i = g->n_xmpp; i-- > 0;) {
        const char *a = g->xmpp_addrs[i];
        size_t in = 0;
        ASN1_ADD(in, mbedtls_asn1_write_utf8_string(p, start, a, strlen(a)));
        ASN1_ADD(in, mbedtls_asn1_write_len(p, start, in));
        ASN1_ADD(in, mbedtls_asn1_write_tag(p, start,
                                            MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                                MBEDTLS_ASN1_CONSTRUCTED | 0));
        ASN1_ADD(in, mbedtls_asn1_write_oid(p, start, OID_XMPPADDR,
                                            MBEDTLS_OID_SIZE(OID_XMPPADDR)));
        ASN1_ADD(in, mbedtls_asn1_write_len(p, start, in));
        ASN1_ADD(in, mbedtls_asn1_write_tag(p, start,
                                            MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                                MBEDTLS_ASN1_CONSTRUCTED |
                                                MBEDTLS_X509_SAN_OTHER_NAME));
        len += in;
    }
    for (size_t i = g->n_alt; i-- > 0;) {
        if (duplicate(g, i))
            continue;
        ASN1_ADD(len,
                 mbedtls_asn1_write_tagged_string(
                     p, start,
                     MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME,
                     g->alt_names[i], strlen(g->alt_names[i])));
    }
    ASN1_ADD(len, mbedtls_asn1_write_tagged_string(
                      p, start,
                      MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME,
                      g->domain, strlen(g->domain)));
    ASN1_ADD(len, mbedtls_asn1_write_len(p, start, len));
    ASN1_ADD(len,
             mbedtls_asn1_write_tag(
                 p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId: serverAuth, clientAuth */
static int write_eku(unsigned char **p, unsigned char *start)
{
    size_t len = 0;
    ASN1_ADD(len,
             mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_CLIENT_AUTH,
                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
    ASN1_ADD(len,
             mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_SERVER_AUTH,
                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
    ASN1_ADD(len, mbedtls_asn1_write_len(p, start, len));
    ASN1_ADD(len,
             mbedtls_asn1_write_tag(
                 p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* "YYYYMMDDhhmmss" in UTC, as mbedtls_x509write_crt_set_validity wants. */
static bool format_time(int64_t secs, char out[16])
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    return strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14;
}

static int check_args(const struct xi_tls_certgen *g)
{
    if (!dns_name_ok(g->domain) || g->days == 0 || g->days > 36500 ||
        (g->n_alt && !g->alt_names) || (g->n_xmpp && !g->xmpp_addrs))
        return XMPPCORE_E_INVAL;
    for (size_t i = 0; i < g->n_alt; i++)
        if (!dns_name_ok(g->alt_names[i]))
            return XMPPCORE_E_INVAL;
    for (size_t i = 0; i < g->n_xmpp; i++) {
        const char *a = g->xmpp_addrs[i];
        size_t len = a ? strlen(a) : 0;
        if (len == 0 || len > 3071 || !xi_utf8_xml_valid(a, len))
            return XMPPCORE_E_INVAL;
    }
    return 0;
}

/* The tbsCertificate fields; the caller signs. */
static int fill_cert(const struct xi_tls_certgen *g,
                     mbedtls_x509write_cert *crt, mbedtls_pk_context *key,
                     mbedtls_ctr_drbg_context *drbg, unsigned char *ext,
                     size_t ext_size)
{
    char subject[8 + 253], from[16], until[16];
    unsigned char serial_bytes[16];
    mbedtls_mpi serial;
    int ret;

    mbedtls_x509write_crt_set_version(crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(crt, key);
    mbedtls_x509write_crt_set_issuer_key(crt, key);
    snprintf(subject, sizeof subject, "CN=%s", g->domain);
    if ((ret = mbedtls_x509write_crt_set_subject_name(crt, subject)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(crt, subject)) != 0)
        return ret;

    /* RFC 5280: positive, at most 20 bytes; top bits fixed so the DER
     * length is always 16. */
    if ((ret = mbedtls_ctr_drbg_random(drbg, serial_bytes,
                                       sizeof serial_bytes)) != 0)
        return ret;
    serial_bytes[0] = (unsigned char)((serial_bytes[0] & 0x3f) | 0x40);
    mbedtls_mpi_init(&serial);
    ret = mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof serial_bytes);
    if (ret == 0)
        ret = mbedtls_x509write_crt_set_serial(crt, &serial);
    mbedtls_mpi_free(&serial);
    if (ret != 0)
        return ret;

    int64_t now = g->now_ms / 1000;
    if (!format_time(now - 3600, from) ||
        !format_time(now + (int64_t)g->days * 86400, until))
        return MBEDTLS_ERR_X509_BAD_INPUT_DATA;
    if ((ret = mbedtls_x509write_crt_set_validity(crt, from, until)) != 0 ||
        (ret = mbedtls_x509write_crt_set_basic_constraints(crt, 0, -1)) != 0 ||
        (ret = mbedtls_x509write_crt_set_subject_key_identifier(crt)) != 0 ||
        (ret = mbedtls_x509write_crt_set_authority_key_identifier(crt)) != 0 ||
        (ret = mbedtls_x509write_crt_set_key_usage(
             crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0)
        return ret;

    unsigned char *p = ext + ext_size;
    if ((ret = write_san(g, &p, ext)) < 0)
        return ret;
    if ((ret = mbedtls_x509write_crt_set_extension(
             crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p,
             (size_t)ret)) != 0)
        return ret;
    p = ext + ext_size;
    if ((ret = write_eku(&p, ext)) < 0)
        return ret;
    return mbedtls_x509write_crt_set_extension(
        crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
        MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, p, (size_t)ret);
}

static int mbed_code(int ret)
{
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED ||
        ret == MBEDTLS_ERR_ASN1_ALLOC_FAILED ||
        ret == MBEDTLS_ERR_PK_ALLOC_FAILED ||
        ret == MBEDTLS_ERR_MPI_ALLOC_FAILED ||
        ret == MBEDTLS_ERR_ECP_ALLOC_FAILED)
        return XMPPCORE_E_NOMEM;
    return XMPPCORE_E_INTERNAL;
}

int xi_tls_generate(const xmppcore_env *env, const struct xi_tls_certgen *g,
                    struct xmppcore_buffer *key_pem,
                    struct xmppcore_buffer *cert_pem)
{
    static const char pers[] = "libxmppcore certgen";
    xmppcore_env e = {XMPPCORE_ENV_VERSION, NULL, NULL, NULL, NULL, NULL};
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    unsigned char key_buf[512], *ext = NULL, *cert_buf = NULL;
    size_t ext_size = 64, cert_size;
    int rc, ret;

    if (!g || !key_pem || !cert_pem)
        return XMPPCORE_E_INVAL;
    if ((rc = check_args(g)) < 0)
        return rc;
    if (env)
        e = *env;
    if (!e.rng)
        e.rng = xmppcore_rng_default;
    const xmppcore_mem *mem = xi_mem(e.mem);

    /* Room for the extensions and the whole certificate. */
    ext_size += strlen(g->domain) + 8;
    for (size_t i = 0; i < g->n_alt; i++)
        ext_size += strlen(g->alt_names[i]) + 8;
    for (size_t i = 0; i < g->n_xmpp; i++)
        ext_size += strlen(g->xmpp_addrs[i]) + 32;
    cert_size = 2 * ext_size + 2048; /* base64 of the DER, plus headers */
    ext = xi_malloc(mem, ext_size);
    cert_buf = xi_malloc(mem, cert_size);

    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    if (!ext || !cert_buf) {
        rc = XMPPCORE_E_NOMEM;
        goto out;
    }
    ret = mbedtls_ctr_drbg_seed(&drbg, xi_tls_entropy, &e,
                                (const unsigned char *)pers, sizeof pers - 1);
    if (ret == 0)
        ret =
            mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
        ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
                                  mbedtls_ctr_drbg_random, &drbg);
    if (ret == 0)
        ret = fill_cert(g, &crt, &key, &drbg, ext, ext_size);
    if (ret == 0)
        ret = mbedtls_x509write_crt_pem(&crt, cert_buf, cert_size,
                                        mbedtls_ctr_drbg_random, &drbg);
    if (ret == 0)
        ret = mbedtls_pk_write_key_pem(&key, key_buf, sizeof key_buf);
    if (ret != 0) {
        rc = mbed_code(ret);
        goto out;
    }
    size_t key_len = strlen((char *)key_buf);
    size_t old_key_len = key_pem->len;
    if ((rc = xi_buf_put(key_pem, key_buf, key_len)) < 0)
        goto out;
    if ((rc = xi_buf_put(cert_pem, cert_buf, strlen((char *)cert_buf))) < 0) {
        /* Leave key_pem as it was, wiping the appended secret. */
        mbedtls_platform_zeroize(key_pem->data + key_pem->off + old_key_len,
                                 key_len);
        key_pem->len = old_key_len;
        key_pem->data[key_pem->off + old_key_len] = '\0';
    }
out:
    mbedtls_platform_zeroize(key_buf, sizeof key_buf);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    xi_free(mem, ext);
    xi_free(mem, cert_buf);
    return rc;
}

static struct xi_tls_certgen make_gen(const xmppcore_env *env,
                                      const char *domain,
                                      const char *const *alt_names,
                                      size_t n_alt, unsigned days)
{
    struct xi_tls_certgen g = {0};
    xmppcore_clock_fn clock =
        env && env->clock ? env->clock : xmppcore_clock_default;
    g.domain = domain;
    g.alt_names = alt_names;
    g.n_alt = n_alt;
    g.days = days;
    g.now_ms = clock(env ? env->clock_user_data : NULL);
    return g;
}

int xmppcore_tls_generate_self_signed_pem(const xmppcore_env *env,
                                          const char *domain,
                                          const char *const *alt_names,
                                          size_t n_alt, unsigned days,
                                          xmppcore_buffer *key_pem,
                                          xmppcore_buffer *cert_pem)
{
    struct xi_tls_certgen g = make_gen(env, domain, alt_names, n_alt, days);
    return xi_tls_generate(env, &g, key_pem, cert_pem);
}

static int write_file(const char *path, const char *data, size_t len,
                      mode_t mode)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return XMPPCORE_E_IO;
    /* An existing file keeps its mode through open(): set it before any
     * secret is written. */
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return XMPPCORE_E_IO;
    }
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return XMPPCORE_E_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return close(fd) == 0 ? 0 : XMPPCORE_E_IO;
}

int xmppcore_tls_generate_self_signed(
    const xmppcore_env *env, const char *domain, const char *const *alt_names,
    size_t n_alt, unsigned days, const char *key_path, const char *cert_path)
{
    const xmppcore_mem *mem = xi_mem(env ? env->mem : NULL);
    struct xmppcore_buffer key = {mem, NULL, 0, 0, 0};
    struct xmppcore_buffer cert = {mem, NULL, 0, 0, 0};
    int rc;

    if (!key_path || !cert_path)
        return XMPPCORE_E_INVAL;
    rc = xmppcore_tls_generate_self_signed_pem(env, domain, alt_names, n_alt,
                                               days, &key, &cert);
    if (rc == 0)
        rc = write_file(key_path, key.data + key.off, key.len, 0600);
    if (rc == 0)
        rc = write_file(cert_path, cert.data + cert.off, cert.len, 0644);
    if (key.data)
        mbedtls_platform_zeroize(key.data, key.cap);
    xi_free(mem, key.data);
    xi_free(mem, cert.data);
    return rc;
}

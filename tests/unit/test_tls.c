/* Unit tests for lib/tls: certificate generation, server config, and TLS
 * sessions against an mbedTLS client over memory buffers. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha512.h>
#include <mbedtls/x509_crt.h>

#include "testlib.h"
#include "tls/tls_features.h"
#include "tls_peer.h"

/* ---- Fixtures ---- */

typedef struct {
    xmppcore_buffer *key, *cert;
} pem_pair;

static pem_pair gen_pem(const char *domain, const char *const *alts,
                        size_t n_alt)
{
    pem_pair p = {xmppcore_buffer_new(NULL), xmppcore_buffer_new(NULL)};
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(
                     NULL, domain, alts, n_alt, 30, p.key, p.cert),
                 0);
    return p;
}

static void pem_free(pem_pair *p)
{
    xmppcore_buffer_free(p->key);
    xmppcore_buffer_free(p->cert);
}

static const char *K(const pem_pair *p)
{
    return xmppcore_buffer_data(p->key);
}

static const char *C(const pem_pair *p)
{
    return xmppcore_buffer_data(p->cert);
}

static xi_tls_config *config_with(const pem_pair *p)
{
    xi_tls_config *cfg = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    if (cfg)
        CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(p), K(p), NULL, 0), 0);
    return cfg;
}

/* A server session plus a client, connected. */
typedef struct {
    xmppcore_buffer *s2c;
    xi_tls_session *s;
    tp_client c;
    tp_result r;
} pair;

static void pair_open(pair *pr, xi_tls_config *cfg, const tp_opts *o,
                      size_t chunk)
{
    memset(pr, 0, sizeof *pr);
    pr->s2c = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(xi_tls_session_new(cfg, pr->s2c, &pr->s), 0);
    CHECK_EQ_INT(tp_init(&pr->c, o, pr->s2c), 0);
    if (pr->s)
        pr->r = tp_handshake(&pr->c, pr->s, chunk);
}

static void pair_close(pair *pr)
{
    xi_tls_session_free(pr->s);
    tp_free(&pr->c);
    xmppcore_buffer_free(pr->s2c);
}

static void sha256_of_peer_cert(tp_client *c, unsigned char out[32])
{
    const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&c->ssl);
    memset(out, 0, 32);
    CHECK(crt != NULL);
    if (crt)
        crypto_hash_sha256(out, crt->raw.p, crt->raw.len);
}

static int64_t fixed_clock(void *ud)
{
    return *(int64_t *)ud;
}

/* ---- Certificate generation ---- */

static bool has_dns_name(const mbedtls_x509_crt *crt, const char *name)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s;
         s = s->next)
        if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) &&
            s->buf.len == strlen(name) && !memcmp(s->buf.p, name, s->buf.len))
            return true;
    return false;
}

static size_t count_san(const mbedtls_x509_crt *crt)
{
    size_t n = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s;
         s = s->next)
        n += s->buf.p != NULL;
    return n;
}

static void test_generate_pem(void)
{
    static const char *const alts[] = {"conference.example.org",
                                       "*.upload.example.org", "EXAMPLE.org"};
    int64_t now = 1700000000000LL; /* 2023-11-14 22:13:20 UTC */
    xmppcore_env env = {XMPPCORE_ENV_VERSION, NULL, NULL, NULL,
                        fixed_clock,          &now};
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(&env, "example.org",
                                                       alts, 3, 365, key, cert),
                 0);
    CHECK(strstr(xmppcore_buffer_data(cert), "-----BEGIN CERTIFICATE-----"));
    CHECK(strstr(xmppcore_buffer_data(key), "-----BEGIN EC PRIVATE KEY-----"));

    mbedtls_x509_crt crt;
    mbedtls_pk_context pk;
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&pk);
    CHECK_EQ_INT(mbedtls_x509_crt_parse(
                     &crt, (const unsigned char *)xmppcore_buffer_data(cert),
                     xmppcore_buffer_len(cert) + 1),
                 0);
    CHECK_EQ_INT(mbedtls_pk_parse_key(
                     &pk, (const unsigned char *)xmppcore_buffer_data(key),
                     xmppcore_buffer_len(key) + 1, NULL, 0),
                 0);
    CHECK_EQ_INT(mbedtls_pk_check_pair(&crt.pk, &pk), 0);
    CHECK_EQ_INT(mbedtls_pk_get_type(&crt.pk), MBEDTLS_PK_ECKEY);
    CHECK_EQ_INT(mbedtls_pk_ec(crt.pk)->grp.id, MBEDTLS_ECP_DP_SECP256R1);
    CHECK_EQ_INT(crt.sig_md, MBEDTLS_MD_SHA256);
    CHECK_EQ_INT(crt.version, 3);
    CHECK_EQ_INT(crt.serial.len, 16);
    CHECK(crt.serial.p[0] & 0x40);
    /* SAN: the domain, then the alt names with the duplicate dropped. */
    CHECK(has_dns_name(&crt, "example.org"));
    CHECK(has_dns_name(&crt, "conference.example.org"));
    CHECK(has_dns_name(&crt, "*.upload.example.org"));
    CHECK_EQ_INT(count_san(&crt), 3);
    CHECK_EQ_INT(crt.subject_alt_names.buf.len, strlen("example.org"));
    /* One hour before "now", for 365 days. */
    CHECK_EQ_INT(crt.valid_from.year, 2023);
    CHECK_EQ_INT(crt.valid_from.mon, 11);
    CHECK_EQ_INT(crt.valid_from.day, 14);
    CHECK_EQ_INT(crt.valid_from.hour, 21);
    CHECK_EQ_INT(crt.valid_from.min, 13);
    CHECK_EQ_INT(crt.valid_to.year, 2024);
    CHECK_EQ_INT(crt.valid_to.mon, 11);
    CHECK_EQ_INT(crt.valid_to.day, 13); /* 2024 is a leap year */
    CHECK_EQ_INT(crt.valid_to.hour, 22);
    CHECK_EQ_INT(crt.ca_istrue, 0);
    CHECK(crt.key_usage & MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    CHECK_EQ_INT(mbedtls_x509_crt_check_extended_key_usage(
                     &crt, MBEDTLS_OID_SERVER_AUTH,
                     MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                 0);
    CHECK_EQ_INT(mbedtls_x509_crt_check_extended_key_usage(
                     &crt, MBEDTLS_OID_CLIENT_AUTH,
                     MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
                 0);
    /* Self-signed: it verifies against itself, for each of its names; the
     * only flaw is that the 2023 clock makes it expired by now. */
    uint32_t flags = 0;
    mbedtls_x509_crt_verify(&crt, &crt, NULL, "example.org", &flags, NULL,
                            NULL);
    CHECK_EQ_INT(flags, MBEDTLS_X509_BADCERT_EXPIRED);
    mbedtls_x509_crt_verify(&crt, &crt, NULL, "x.upload.example.org", &flags,
                            NULL, NULL);
    CHECK_EQ_INT(flags, MBEDTLS_X509_BADCERT_EXPIRED);
    mbedtls_x509_crt_verify(&crt, &crt, NULL, "other.org", &flags, NULL, NULL);
    CHECK_EQ_INT(flags, MBEDTLS_X509_BADCERT_EXPIRED |
                            MBEDTLS_X509_BADCERT_CN_MISMATCH);
    mbedtls_x509_crt_free(&crt);
    mbedtls_pk_free(&pk);

    /* A second certificate has another key and serial. */
    xmppcore_buffer *key2 = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert2 = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(
                     &env, "example.org", NULL, 0, 365, key2, cert2),
                 0);
    CHECK(strcmp(xmppcore_buffer_data(key), xmppcore_buffer_data(key2)) != 0);
    CHECK(strcmp(xmppcore_buffer_data(cert), xmppcore_buffer_data(cert2)) != 0);
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    xmppcore_buffer_free(key2);
    xmppcore_buffer_free(cert2);
}

static int failing_rng(void *buf, size_t len, void *ud)
{
    (void)buf;
    (void)len;
    (void)ud;
    return XMPPCORE_E_INTERNAL;
}

static void test_generate_errors(void)
{
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    static const char *const bad_alt[] = {"ok.example", "bad name"};
    static const char *const null_alt[] = {NULL};
    char long_label[80];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".example");

    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, "exa mple.org",
                                                       NULL, 0, 30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(
        xmppcore_tls_generate_self_signed_pem(NULL, "", NULL, 0, 30, key, cert),
        XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, "a..b", NULL, 0,
                                                       30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, long_label, NULL,
                                                       0, 30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, "CN=x,O=y", NULL,
                                                       0, 30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(
                     NULL, "example.org", bad_alt, 2, 30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(
                     NULL, "example.org", null_alt, 1, 30, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, "example.org",
                                                       NULL, 0, 0, key, cert),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(
                     NULL, "example.org", NULL, 0, 36501, key, cert),
                 XMPPCORE_E_INVAL);
    xmppcore_env env = {
        XMPPCORE_ENV_VERSION, NULL, failing_rng, NULL, NULL, NULL};
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(&env, "example.org",
                                                       NULL, 0, 30, key, cert),
                 XMPPCORE_E_INTERNAL);
    /* Nothing was appended by the failed calls. */
    CHECK_EQ_INT(xmppcore_buffer_len(key), 0);
    CHECK_EQ_INT(xmppcore_buffer_len(cert), 0);
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
}

/* ---- Handshake and data ---- */

static void test_handshake_and_data(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    static const char *const server_alpn[] = {"xmpp-client", "xmpp-server"};
    static const char *const client_alpn[] = {"xmpp-server", NULL};
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg, server_alpn, 2), 0);
    tp_opts o = {
        .ca_pem = C(&p), .hostname = "example.org", .alpn = client_alpn};
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(pr.r.server, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    CHECK_STR(xi_tls_error(pr.s), "");
    CHECK_EQ_INT(mbedtls_ssl_get_verify_result(&pr.c.ssl), 0);
    CHECK_STR(xi_tls_alpn(pr.s), "xmpp-server");
    CHECK_STR(mbedtls_ssl_get_alpn_protocol(&pr.c.ssl), "xmpp-server");
    CHECK_STR(xi_tls_version(pr.s), "TLSv1.2");
    CHECK_STR(xi_tls_sni(pr.s), "example.org");
    CHECK_STR(xi_tls_ciphersuite(pr.s),
              "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
    CHECK(!xi_tls_peer_has_cert(pr.s));
    CHECK(!xi_tls_peer_verified(pr.s));

    /* Client → server, all at once, and one byte per feed. */
    xmppcore_buffer *got = xmppcore_buffer_new(NULL);
    const char *hello = "<stream:stream to='example.org'>";
    CHECK_EQ_INT(tp_client_to_server(&pr.c, pr.s, hello, strlen(hello), 0, got),
                 XMPPCORE_E_AGAIN);
    CHECK_STR(xmppcore_buffer_data(got), hello);
    xmppcore_buffer_clear(got);
    const char *msg = "<message to='a@example.org'><body>hi</body></message>";
    CHECK_EQ_INT(tp_client_to_server(&pr.c, pr.s, msg, strlen(msg), 1, got),
                 XMPPCORE_E_AGAIN);
    CHECK_STR(xmppcore_buffer_data(got), msg);

    /* Server → client. */
    xmppcore_buffer_clear(got);
    CHECK_EQ_INT(xi_tls_write(pr.s, "<stream:features/>", 18), 0);
    CHECK_EQ_INT(tp_client_read(&pr.c, got), MBEDTLS_ERR_SSL_WANT_READ);
    CHECK_STR(xmppcore_buffer_data(got), "<stream:features/>");

    /* More than one record's worth, both ways. */
    enum { BIG = 40000 };
    char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    xmppcore_buffer_clear(got);
    CHECK_EQ_INT(xi_tls_write(pr.s, big, BIG), 0);
    CHECK(xmppcore_buffer_len(pr.s2c) > BIG);
    CHECK_EQ_INT(tp_client_read(&pr.c, got), MBEDTLS_ERR_SSL_WANT_READ);
    CHECK_EQ_INT(xmppcore_buffer_len(got), BIG);
    CHECK(memcmp(xmppcore_buffer_data(got), big, BIG) == 0);
    xmppcore_buffer_clear(got);
    CHECK_EQ_INT(tp_client_to_server(&pr.c, pr.s, big, BIG, 5000, got),
                 XMPPCORE_E_AGAIN);
    CHECK_EQ_INT(xmppcore_buffer_len(got), BIG);
    CHECK(memcmp(xmppcore_buffer_data(got), big, BIG) == 0);
    free(big);

    /* Reading with a small buffer returns the rest on the next calls. */
    xmppcore_buffer_clear(got);
    CHECK_EQ_INT(
        mbedtls_ssl_write(&pr.c.ssl, (const unsigned char *)"0123456789", 10),
        10);
    CHECK_EQ_INT(tp_to_server(&pr.c, pr.s, 0), 0);
    char small[4];
    size_t n = 0;
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n), 0);
    CHECK_EQ_INT(n, 4);
    CHECK(memcmp(small, "0123", 4) == 0);
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n), 0);
    CHECK(memcmp(small, "4567", 4) == 0);
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n), XMPPCORE_E_AGAIN);
    CHECK_EQ_INT(n, 0);

    /* The client closes: the server sees it and answers in kind. */
    CHECK_EQ_INT(mbedtls_ssl_close_notify(&pr.c.ssl), 0);
    CHECK_EQ_INT(tp_to_server(&pr.c, pr.s, 0), 0);
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n),
                 XMPPCORE_E_STREAM_CLOSED);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_CLOSED);
    CHECK_EQ_INT(tp_client_read(&pr.c, got), MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
    CHECK_EQ_INT(xi_tls_read(pr.s, small, sizeof small, &n),
                 XMPPCORE_E_STREAM_CLOSED);
    CHECK_EQ_INT(xi_tls_write(pr.s, "x", 1), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_feed(pr.s, "x", 1), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_close(pr.s), XMPPCORE_E_STATE);

    xmppcore_buffer_free(got);
    pair_close(&pr);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_handshake_byte_by_byte(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org"};
    pair pr;
    pair_open(&pr, cfg, &o, 1);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(pr.r.server, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    CHECK(xi_tls_alpn(pr.s) == NULL); /* the client offered none */
    pair_close(&pr);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_server_close(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org"};
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    CHECK_EQ_INT(xi_tls_write(pr.s, "</stream:stream>", 16), 0);
    CHECK_EQ_INT(xi_tls_close(pr.s), 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_CLOSED);
    CHECK_EQ_INT(xi_tls_write(pr.s, "x", 1), XMPPCORE_E_STATE);
    xmppcore_buffer *got = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(tp_client_read(&pr.c, got), MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
    CHECK_STR(xmppcore_buffer_data(got), "</stream:stream>");
    /* The client's answering close_notify is reported, once closed. */
    CHECK_EQ_INT(mbedtls_ssl_close_notify(&pr.c.ssl), 0);
    CHECK_EQ_INT(tp_to_server(&pr.c, pr.s, 0), 0);
    char buf[16];
    size_t n;
    CHECK_EQ_INT(xi_tls_read(pr.s, buf, sizeof buf, &n),
                 XMPPCORE_E_STREAM_CLOSED);
    xmppcore_buffer_free(got);
    pair_close(&pr);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_channel_binding(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org"};
    pair pr;
    unsigned char cb[XI_TLS_CB_MAX], want[32];
    size_t len = 99;

    memset(&pr, 0, sizeof pr);
    pr.s2c = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(xi_tls_session_new(cfg, pr.s2c, &pr.s), 0);
    CHECK_EQ_INT(xi_tls_channel_binding(pr.s, XI_TLS_CB_SERVER_END_POINT, cb,
                                        sizeof cb, &len),
                 XMPPCORE_E_STATE);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(tp_init(&pr.c, &o, pr.s2c), 0);
    pr.r = tp_handshake(&pr.c, pr.s, 0);
    CHECK_EQ_INT(pr.r.client, 0);

    sha256_of_peer_cert(&pr.c, want);
    CHECK_EQ_INT(xi_tls_channel_binding(pr.s, XI_TLS_CB_SERVER_END_POINT, cb,
                                        sizeof cb, &len),
                 0);
    CHECK_EQ_INT(len, 32);
    CHECK(memcmp(cb, want, 32) == 0);
    CHECK_EQ_INT(
        xi_tls_channel_binding(pr.s, XI_TLS_CB_SERVER_END_POINT, cb, 31, &len),
        XMPPCORE_E_RANGE);

    /* tls-unique: the client's Finished, as the client itself has it.
     * The OpenSSL backend always has it; the mbedTLS one when mbedTLS
     * keeps the Finished messages (tls_features.h). */
    int rc =
        xi_tls_channel_binding(pr.s, XI_TLS_CB_UNIQUE, cb, sizeof cb, &len);
#if XI_TLS_OPENSSL || XI_TLS_HAVE_VERIFY_DATA
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(len, 12);
#else
    CHECK_EQ_INT(rc, XMPPCORE_E_UNSUPPORTED);
#endif
#if defined(MBEDTLS_SSL_RENEGOTIATION) /* the client's copy is readable */
    if (rc == 0) {
        CHECK_EQ_INT(pr.c.ssl.verify_data_len, 12);
        CHECK(memcmp(cb, pr.c.ssl.own_verify_data, 12) == 0);
        CHECK(memcmp(cb, pr.c.ssl.peer_verify_data, 12) != 0);
    }
#endif
    CHECK_EQ_INT(
        xi_tls_channel_binding(pr.s, (xi_tls_cb_type)7, cb, sizeof cb, &len),
        XMPPCORE_E_INVAL);
    pair_close(&pr);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

/* ---- SNI ---- */

static void sni_case(xi_tls_config *cfg, const char *host, const char *ca,
                     const pem_pair *expect, const char *expect_sni)
{
    tp_opts o = {.ca_pem = ca, .hostname = host};
    pair pr;
    unsigned char cb[XI_TLS_CB_MAX], want[32];
    size_t len;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    if (expect_sni)
        CHECK_STR(xi_tls_sni(pr.s), expect_sni);
    else
        CHECK(xi_tls_sni(pr.s) == NULL);
    /* The certificate the client got is the expected one... */
    mbedtls_x509_crt e;
    mbedtls_x509_crt_init(&e);
    CHECK_EQ_INT(mbedtls_x509_crt_parse(&e, (const unsigned char *)C(expect),
                                        strlen(C(expect)) + 1),
                 0);
    const mbedtls_x509_crt *got = mbedtls_ssl_get_peer_cert(&pr.c.ssl);
    CHECK(got && got->raw.len == e.raw.len &&
          memcmp(got->raw.p, e.raw.p, e.raw.len) == 0);
    /* ...and the channel binding follows it. */
    crypto_hash_sha256(want, e.raw.p, e.raw.len);
    CHECK_EQ_INT(xi_tls_channel_binding(pr.s, XI_TLS_CB_SERVER_END_POINT, cb,
                                        sizeof cb, &len),
                 0);
    CHECK(len == 32 && memcmp(cb, want, 32) == 0);
    mbedtls_x509_crt_free(&e);
    pair_close(&pr);
}

static void test_sni(void)
{
    static const char *const a_alts[] = {"conference.a.example"};
    pem_pair a = gen_pem("a.example", a_alts, 1);
    pem_pair b = gen_pem("b.example", NULL, 0);
    pem_pair w = gen_pem("*.w.example", NULL, 0);
    pem_pair x = gen_pem("x.w.example", NULL, 0);
    xi_tls_config *cfg = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&a), K(&a), NULL, 0), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&w), K(&w), NULL, 0), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&b), K(&b), NULL, 0), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&x), K(&x), NULL, 0), 0);

    sni_case(cfg, "b.example", C(&b), &b, "b.example");
    sni_case(cfg, "B.Example", C(&b), &b, "b.example");
    sni_case(cfg, "b.example.", C(&b), &b, "b.example");
    sni_case(cfg, "conference.a.example", C(&a), &a, "conference.a.example");
    sni_case(cfg, "muc.w.example", C(&w), &w, "muc.w.example");
    /* An exact name wins over a wildcard added before it. */
    sni_case(cfg, "x.w.example", C(&x), &x, "x.w.example");
    /* A wildcard matches one label only; unknown names get the default,
     * the first certificate added. */
    sni_case(cfg, "a.b.w.example", C(&a), &a, "a.b.w.example");
    sni_case(cfg, "w.example", C(&a), &a, "w.example");
    sni_case(cfg, "unknown.example", C(&a), &a, "unknown.example");
    sni_case(cfg, NULL, C(&a), &a, NULL);
    xi_tls_config_free(cfg);

    /* XI_TLS_CERT_DEFAULT picks another fallback. */
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&a), K(&a), NULL, 0), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&b), K(&b), NULL,
                                            XI_TLS_CERT_DEFAULT),
                 0);
    sni_case(cfg, NULL, C(&b), &b, NULL);
    sni_case(cfg, "nowhere.example", C(&b), &b, "nowhere.example");
    sni_case(cfg, "a.example", C(&a), &a, "a.example");
    xi_tls_config_free(cfg);

    CHECK(xi_tls_name_match("*.example.org", "Chat.Example.ORG"));
    CHECK(!xi_tls_name_match("*.example.org", ".example.org"));
    CHECK(!xi_tls_name_match("*.example.org", "example.org"));
    CHECK(!xi_tls_name_match("*.example.org", "a.b.example.org"));
    CHECK(xi_tls_name_match("example.org", "EXAMPLE.org"));
    CHECK(!xi_tls_name_match("example.org", "example.org.evil"));
    pem_free(&a);
    pem_free(&b);
    pem_free(&w);
    pem_free(&x);
}

/* An RSA certificate without subjectAltName (its CN names it), made with
 * mbedTLS directly: the generator only makes ECDSA ones. */
static pem_pair gen_rsa_bits(const char *cn, unsigned bits)
{
    pem_pair p = {xmppcore_buffer_new(NULL), xmppcore_buffer_new(NULL)};
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context pk;
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    unsigned char *buf = calloc(1, 8192);
    char subject[300];
    snprintf(subject, sizeof subject, "CN=%s", cn);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&pk);
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    CHECK_EQ_INT(mbedtls_ctr_drbg_seed(&drbg, tp_entropy, NULL, NULL, 0), 0);
    CHECK_EQ_INT(
        mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)), 0);
    CHECK_EQ_INT(mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk),
                                     mbedtls_ctr_drbg_random, &drbg, bits,
                                     65537),
                 0);
    CHECK_EQ_INT(mbedtls_mpi_lset(&serial, 7), 0);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA384);
    mbedtls_x509write_crt_set_subject_key(&w, &pk);
    mbedtls_x509write_crt_set_issuer_key(&w, &pk);
    CHECK_EQ_INT(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
    CHECK_EQ_INT(mbedtls_x509write_crt_set_issuer_name(&w, subject), 0);
    CHECK_EQ_INT(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
    CHECK_EQ_INT(mbedtls_x509write_crt_set_validity(&w, "20240101000000",
                                                    "20991231000000"),
                 0);
    CHECK_EQ_INT(mbedtls_x509write_crt_pem(&w, buf, 8192,
                                           mbedtls_ctr_drbg_random, &drbg),
                 0);
    xmppcore_buffer_append(p.cert, buf, strlen((char *)buf));
    CHECK_EQ_INT(mbedtls_pk_write_key_pem(&pk, buf, 8192), 0);
    xmppcore_buffer_append(p.key, buf, strlen((char *)buf));
    free(buf);
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&w);
    mbedtls_pk_free(&pk);
    mbedtls_ctr_drbg_free(&drbg);
    return p;
}

static pem_pair gen_rsa(const char *cn)
{
    return gen_rsa_bits(cn, 2048);
}

/* RSA under 2048 bits is refused when added, on both backends, with a
 * message; the config stays usable. */
static void test_weak_rsa(void)
{
    xi_tls_config *cfg = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    pem_pair weak = gen_rsa_bits("weak.example", 1024);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&weak), K(&weak), NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK(strstr(xi_tls_config_error(cfg), "2048") != NULL);
    pem_pair ok = gen_rsa("ok.example");
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&ok), K(&ok), NULL, 0), 0);
    pem_free(&weak);
    pem_free(&ok);
    xi_tls_config_free(cfg);
}

/* An ECDSA and an RSA certificate for the same name: the suite decides
 * which one is used, and the channel binding follows (SHA-384 for the
 * RSA one, signed with SHA-384). */
static void test_ecdsa_and_rsa(void)
{
    pem_pair ec = gen_pem("example.org", NULL, 0);
    pem_pair rsa = gen_rsa("example.org");
    static const int rsa_suites[] = {
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0};
    static const int ec_suites[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 0};
    xi_tls_config *cfg = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&ec), K(&ec), NULL,
                                            XI_TLS_CERT_DEFAULT),
                 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&rsa), K(&rsa), NULL,
                                            XI_TLS_CERT_DEFAULT),
                 0);
    for (int with_sni = 0; with_sni < 2; with_sni++) {
        for (int use_rsa = 0; use_rsa < 2; use_rsa++) {
            tp_opts o = {.hostname = with_sni ? "example.org" : NULL,
                         .suites = use_rsa ? rsa_suites : ec_suites};
            pair pr;
            unsigned char cb[XI_TLS_CB_MAX], want[64];
            size_t len = 0;
            pair_open(&pr, cfg, &o, 0);
            CHECK_EQ_INT(pr.r.client, 0);
            CHECK_STR(xi_tls_ciphersuite(pr.s),
                      use_rsa ? "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"
                              : "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384");
            const mbedtls_x509_crt *got = mbedtls_ssl_get_peer_cert(&pr.c.ssl);
            CHECK(got != NULL);
            if (got) {
                CHECK_EQ_INT(mbedtls_pk_get_type(&got->pk),
                             use_rsa ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY);
                /* SHA-384 is not in libsodium: mbedTLS's own then. */
                if (use_rsa)
                    CHECK_EQ_INT(
                        mbedtls_sha512_ret(got->raw.p, got->raw.len, want, 1),
                        0);
                else
                    crypto_hash_sha256(want, got->raw.p, got->raw.len);
            }
            CHECK_EQ_INT(xi_tls_channel_binding(pr.s,
                                                XI_TLS_CB_SERVER_END_POINT, cb,
                                                sizeof cb, &len),
                         0);
            CHECK_EQ_INT(len, use_rsa ? 48 : 32);
            CHECK(got && memcmp(cb, want, len) == 0);
            pair_close(&pr);
        }
    }

    /* Every allowed suite, named as mbedTLS names it, on either backend. */
    static const int all_suites[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
#if defined(MBEDTLS_CHACHAPOLY_C)
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
#endif
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(all_suites); i++) {
        const int one[] = {all_suites[i], 0};
        tp_opts o = {.hostname = "example.org", .suites = one};
        pair pr;
        pair_open(&pr, cfg, &o, 0);
        CHECK_EQ_INT(pr.r.client, 0);
        CHECK_STR(xi_tls_ciphersuite(pr.s),
                  mbedtls_ssl_get_ciphersuite_name(all_suites[i]));
        CHECK_STR(xi_tls_version(pr.s), "TLSv1.2");
        pair_close(&pr);
    }
    xi_tls_config_free(cfg);
    pem_free(&ec);
    pem_free(&rsa);
}

/* ---- Refusals ---- */

static void test_alpn(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    static const char *const server_alpn[] = {"xmpp-client"};
    static const char *const http[] = {"http/1.1", NULL};
    static const char *const both[] = {"http/1.1", "xmpp-client", NULL};
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg, server_alpn, 1), 0);

    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org", .alpn = http};
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.server, XMPPCORE_E_TLS);
    CHECK(pr.r.client != 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_FAILED);
    CHECK(xi_tls_alpn(pr.s) == NULL);
    pair_close(&pr);

    o.alpn = both;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_STR(xi_tls_alpn(pr.s), "xmpp-client");
    pair_close(&pr);

    /* Bad ALPN settings. */
    static const char *const empty[] = {""};
    static const char *const nine[] = {"a", "b", "c", "d", "e",
                                       "f", "g", "h", "i"};
    xi_tls_config *cfg2 = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg2), 0);
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg2, empty, 1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg2, nine, 9), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg2, nine, 8), 0);
    CHECK_EQ_INT(xi_tls_config_set_alpn(cfg2, NULL, 0), 0);
    xi_tls_config_free(cfg2);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_garbage_input(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    xmppcore_buffer *out = xmppcore_buffer_new(NULL);
    xi_tls_session *s = NULL;
    const char *hdr = "<?xml version='1.0'?><stream:stream to='example.org' "
                      "xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' "
                      "version='1.0'>";
    char buf[64];
    size_t n;
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), 0);
    CHECK_EQ_INT(xi_tls_get_state(s), XI_TLS_HANDSHAKE);
    CHECK_EQ_INT(xi_tls_read(s, buf, sizeof buf, &n), XMPPCORE_E_AGAIN);
    CHECK_EQ_INT(xi_tls_write(s, "x", 1), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_feed(s, hdr, strlen(hdr)), XMPPCORE_E_TLS);
    CHECK_EQ_INT(xi_tls_get_state(s), XI_TLS_FAILED);
    CHECK(strstr(xi_tls_error(s), "handshake") != NULL);
    CHECK(strstr(xi_tls_error(s), "plaintext") != NULL);
    fprintf(stderr, "  (expected) error: %s\n", xi_tls_error(s));
    CHECK_EQ_INT(xi_tls_feed(s, "x", 1), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_read(s, buf, sizeof buf, &n), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_close(s), XMPPCORE_E_STATE);
    xi_tls_session_free(s);

    /* Fewer bytes than a record header: waiting, not failing... */
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), 0);
    CHECK_EQ_INT(xi_tls_feed(s, "<?x", 3), 0);
    CHECK_EQ_INT(xi_tls_get_state(s), XI_TLS_HANDSHAKE);
    /* ...until the header is complete. */
    CHECK_EQ_INT(xi_tls_feed(s, "ml", 2), XMPPCORE_E_TLS);
    xi_tls_session_free(s);

    /* A record header announcing a huge record. */
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), 0);
    CHECK_EQ_INT(xi_tls_feed(s, "\x16\x03\x01\xff\xff", 5), XMPPCORE_E_TLS);
    xi_tls_session_free(s);

    /* Unread input is bounded. */
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), 0);
    char *junk = calloc(1, 300 * 1024);
    /* A partial ClientHello header keeps the session waiting. */
    CHECK_EQ_INT(xi_tls_feed(s, "\x16\x03", 2), 0);
    CHECK_EQ_INT(xi_tls_feed(s, junk, 300 * 1024), XMPPCORE_E_POLICY);
    CHECK_EQ_INT(xi_tls_get_state(s), XI_TLS_FAILED);
    free(junk);
    xi_tls_session_free(s);

    xmppcore_buffer_free(out);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_refused_suites_and_versions(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    static const int cbc[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                              MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
                              MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 0};
    static const int cbc_then_chacha[] = {
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0};
    static const int rsa_kx[] = {MBEDTLS_TLS_RSA_WITH_AES_128_GCM_SHA256, 0};
    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org", .suites = cbc};
    pair pr;

    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.server, XMPPCORE_E_TLS);
    CHECK(pr.r.client != 0 && pr.r.client != MBEDTLS_ERR_SSL_WANT_READ);
    CHECK(strstr(xi_tls_error(pr.s), "cipher") != NULL);
    fprintf(stderr, "  (expected) error: %s\n", xi_tls_error(pr.s));
    pair_close(&pr);

    o.suites = rsa_kx; /* AEAD but no forward secrecy */
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.server, XMPPCORE_E_TLS);
    pair_close(&pr);

    o.suites = cbc_then_chacha;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_STR(xi_tls_ciphersuite(pr.s),
              "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
    pair_close(&pr);

    o.suites = NULL;
    o.max_minor = MBEDTLS_SSL_MINOR_VERSION_2; /* TLS 1.1 */
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.server, XMPPCORE_E_TLS);
    CHECK(pr.r.client != 0);
    fprintf(stderr, "  (expected) error: %s\n", xi_tls_error(pr.s));
    pair_close(&pr);

    xi_tls_config_free(cfg);
    pem_free(&p);
}

static void test_renegotiation_refused(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    xi_tls_config *cfg = config_with(&p);
    tp_opts o = {
        .ca_pem = C(&p), .hostname = "example.org", .renegotiation = 1};
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(mbedtls_ssl_renegotiate(&pr.c.ssl), MBEDTLS_ERR_SSL_WANT_READ);
    CHECK(xmppcore_buffer_len(pr.c.c2s) > 0); /* a new ClientHello */
    CHECK_EQ_INT(tp_to_server(&pr.c, pr.s, 0), 0);
    char buf[64];
    size_t n;
    CHECK_EQ_INT(xi_tls_read(pr.s, buf, sizeof buf, &n), XMPPCORE_E_AGAIN);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    /* The answer is one alert record (no_renegotiation), no handshake. */
    const unsigned char *rec =
        (const unsigned char *)xmppcore_buffer_data(pr.s2c);
    CHECK(xmppcore_buffer_len(pr.s2c) > 5);
    CHECK_EQ_INT(rec[0], 21); /* ContentType alert */
    CHECK_EQ_INT(xmppcore_buffer_len(pr.s2c), 5 + (rec[3] << 8 | rec[4]));
    /* The server still talks. */
    CHECK_EQ_INT(xi_tls_write(pr.s, "ok", 2), 0);
    pair_close(&pr);
    xi_tls_config_free(cfg);
    pem_free(&p);
}

/* ---- Client certificates ---- */

static void test_client_cert(void)
{
    pem_pair srv = gen_pem("example.org", NULL, 0);
    xmppcore_buffer *ckey = xmppcore_buffer_new(NULL);
    xmppcore_buffer *ccert = xmppcore_buffer_new(NULL);
    static const char *const addrs[] = {"remote.example",
                                        "caf\xc3\xa9.example"};
    static const char *const alts[] = {"xmpp.remote.example"};
    struct xi_tls_certgen g = {.domain = "remote.example",
                               .alt_names = alts,
                               .n_alt = 1,
                               .xmpp_addrs = addrs,
                               .n_xmpp = 2,
                               .days = 10,
                               .now_ms = xmppcore_clock_default(NULL)};
    CHECK_EQ_INT(xi_tls_generate(NULL, &g, ckey, ccert), 0);
    tp_opts o = {.ca_pem = C(&srv),
                 .hostname = "example.org",
                 .cert_pem = xmppcore_buffer_data(ccert),
                 .key_pem = xmppcore_buffer_data(ckey)};

    /* Not requested: no certificate is sent. */
    xi_tls_config *cfg = config_with(&srv);
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK(!xi_tls_peer_has_cert(pr.s));
    CHECK_EQ_INT(xi_tls_peer_verify_flags(pr.s), UINT32_MAX);
    xi_tls_name_type t;
    const char *v;
    CHECK_EQ_INT(xi_tls_peer_name(pr.s, 0, &t, &v), XMPPCORE_E_NOTFOUND);
    pair_close(&pr);
    xi_tls_config_free(cfg);

    /* Requested, no trust anchor: present but not verified. */
    cfg = config_with(&srv);
    CHECK_EQ_INT(xi_tls_config_request_client_cert(cfg, true), 0);
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    CHECK(xi_tls_peer_has_cert(pr.s));
    CHECK(!xi_tls_peer_verified(pr.s));
    CHECK(xi_tls_peer_verify_flags(pr.s) & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
    static const struct {
        xi_tls_name_type t;
        const char *v;
    } want[] = {{XI_TLS_NAME_DNS, "remote.example"},
                {XI_TLS_NAME_DNS, "xmpp.remote.example"},
                {XI_TLS_NAME_XMPPADDR, "remote.example"},
                {XI_TLS_NAME_XMPPADDR, "caf\xc3\xa9.example"},
                {XI_TLS_NAME_CN, "remote.example"}};
    for (size_t i = 0; i < XI_ARRAY_LEN(want); i++) {
        t = 0;
        v = NULL;
        CHECK_EQ_INT(xi_tls_peer_name(pr.s, i, &t, &v), 0);
        CHECK_EQ_INT(t, want[i].t);
        CHECK_STR(v, want[i].v);
    }
    CHECK_EQ_INT(xi_tls_peer_name(pr.s, XI_ARRAY_LEN(want), &t, &v),
                 XMPPCORE_E_NOTFOUND);
    const unsigned char *der;
    size_t der_len;
    CHECK_EQ_INT(xi_tls_peer_cert_der(pr.s, &der, &der_len), 0);
    CHECK_EQ_INT(der_len, pr.c.own.raw.len);
    CHECK(memcmp(der, pr.c.own.raw.p, der_len) == 0);
    pair_close(&pr);
    xi_tls_config_free(cfg);

    /* Requested, trusted. */
    cfg = config_with(&srv);
    CHECK_EQ_INT(xi_tls_config_request_client_cert(cfg, true), 0);
    CHECK_EQ_INT(xi_tls_config_add_ca_pem(cfg, xmppcore_buffer_data(ccert)), 0);
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK(xi_tls_peer_has_cert(pr.s));
    CHECK(xi_tls_peer_verified(pr.s));
    CHECK_EQ_INT(xi_tls_peer_verify_flags(pr.s), 0);
    pair_close(&pr);

    /* Requested, the client has none: still accepted. */
    tp_opts none = {.ca_pem = C(&srv), .hostname = "example.org"};
    pair_open(&pr, cfg, &none, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(xi_tls_get_state(pr.s), XI_TLS_ESTABLISHED);
    CHECK(!xi_tls_peer_has_cert(pr.s));
    CHECK(!xi_tls_peer_verified(pr.s));
    pair_close(&pr);
    xi_tls_config_free(cfg);

    xmppcore_buffer_free(ckey);
    xmppcore_buffer_free(ccert);
    pem_free(&srv);
}

/* ---- Files and config errors ---- */

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_files(void)
{
    char dir[] = "/tmp/xmppcore-tls-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *key = path_in(dir, "example.key"), *crt = path_in(dir, "example.crt");
    char *bad = path_in(dir, "bad.key"), *none = path_in(dir, "none.key");
    char *key2 = path_in(dir, "other.key"), *crt2 = path_in(dir, "other.crt");
    static const char *const alts[] = {"upload.example.org"};
    struct stat st;

    /* A pre-existing, world-readable key file ends up 0600. */
    write_text(key, "old");
    chmod(key, 0644);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed(NULL, "example.org", alts, 1,
                                                   90, key, crt),
                 0);
    CHECK_EQ_INT(stat(key, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    CHECK_EQ_INT(stat(crt, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0644);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed(NULL, "other.org", NULL, 0,
                                                   90, key2, crt2),
                 0);

    xi_tls_config *cfg = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt, key, NULL, 0), 0);
    CHECK_STR(xi_tls_config_error(cfg), "");

    /* Missing key file. */
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt, none, NULL, 0),
                 XMPPCORE_E_IO);
    CHECK(strstr(xi_tls_config_error(cfg), none) != NULL);
    fprintf(stderr, "  (expected) error: %s\n", xi_tls_config_error(cfg));
    /* Missing certificate file. */
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, none, key, NULL, 0),
                 XMPPCORE_E_IO);
    CHECK(strstr(xi_tls_config_error(cfg), "certificate") != NULL);
    /* Corrupt key file. */
    write_text(bad, "-----BEGIN EC PRIVATE KEY-----\nAAAAnotakey\n"
                    "-----END EC PRIVATE KEY-----\n");
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt, bad, NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK(strstr(xi_tls_config_error(cfg), bad) != NULL);
    fprintf(stderr, "  (expected) error: %s\n", xi_tls_config_error(cfg));
    write_text(bad, "garbage");
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt, bad, NULL, 0),
                 XMPPCORE_E_INVAL);
    /* A key that belongs to another certificate. */
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt, key2, NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK(strstr(xi_tls_config_error(cfg), "does not match") != NULL);
    /* A key file given as the certificate. */
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, key, key, NULL, 0),
                 XMPPCORE_E_INVAL);

    /* The loaded certificate works, for both of its names. */
    xmppcore_buffer *pem = xmppcore_buffer_new(NULL);
    FILE *f = fopen(crt, "r");
    char chunk[512];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        xmppcore_buffer_append(pem, chunk, n);
    if (f)
        fclose(f);
    tp_opts o = {.ca_pem = xmppcore_buffer_data(pem),
                 .hostname = "upload.example.org"};
    pair pr;
    pair_open(&pr, cfg, &o, 0);
    CHECK_EQ_INT(pr.r.client, 0);
    CHECK_EQ_INT(mbedtls_ssl_get_verify_result(&pr.c.ssl), 0);
    pair_close(&pr);
    /* A config in use takes no more certificates. */
    CHECK_EQ_INT(xi_tls_config_add_cert_file(cfg, crt2, key2, NULL, 0),
                 XMPPCORE_E_STATE);
    xi_tls_config_free(cfg);
    xmppcore_buffer_free(pem);

    /* Unwritable destination. */
    char *nodir = path_in(dir, "missing/dir.key");
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed(NULL, "example.org", NULL, 0,
                                                   90, nodir, crt),
                 XMPPCORE_E_IO);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed(NULL, "example.org", NULL, 0,
                                                   90, NULL, crt),
                 XMPPCORE_E_INVAL);
    free(nodir);

    const char *files[] = {key, crt, bad, key2, crt2};
    for (size_t i = 0; i < XI_ARRAY_LEN(files); i++)
        unlink(files[i]);
    CHECK_EQ_INT(rmdir(dir), 0);
    free(key);
    free(crt);
    free(bad);
    free(none);
    free(key2);
    free(crt2);
}

static void test_config_lifecycle(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    pem_pair q = gen_pem("other.org", NULL, 0);
    xi_tls_config *cfg = NULL;
    xmppcore_buffer *out = xmppcore_buffer_new(NULL);
    xi_tls_session *s = NULL;
    CHECK_EQ_INT(xi_tls_config_new(NULL, &cfg), 0);
    /* No certificate yet. */
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), XMPPCORE_E_STATE);
    CHECK(s == NULL);
    CHECK(strstr(xi_tls_config_error(cfg), "no certificate") != NULL);
    /* Corrupt PEM and mismatched key. */
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, "not a cert", K(&p), NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&p), "not a key", NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&p), K(&q), NULL, 0),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_add_ca_pem(cfg, "junk"), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_tls_config_add_ca_file(cfg, "/nonexistent/ca.pem"),
                 XMPPCORE_E_IO);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&p), K(&p), NULL, 0), 0);
    CHECK_EQ_INT(xi_tls_session_new(cfg, out, &s), 0);
    CHECK_EQ_INT(xi_tls_config_add_cert_pem(cfg, C(&q), K(&q), NULL, 0),
                 XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_tls_config_request_client_cert(cfg, true),
                 XMPPCORE_E_STATE);
    /* The session keeps the config alive after its owner lets go. */
    xi_tls_config_free(cfg);
    tp_opts o = {.ca_pem = C(&p), .hostname = "example.org"};
    tp_client c;
    CHECK_EQ_INT(tp_init(&c, &o, out), 0);
    tp_result r = tp_handshake(&c, s, 0);
    CHECK_EQ_INT(r.client, 0);
    CHECK_EQ_INT(xi_tls_get_state(s), XI_TLS_ESTABLISHED);
    tp_free(&c);
    xi_tls_session_free(s);
    xi_tls_session_free(NULL);
    xi_tls_config_free(NULL);
    xmppcore_buffer_free(out);
    pem_free(&p);
    pem_free(&q);
}

/* The library's own allocations fail one by one; nothing leaks and every
 * failure is reported. (mbedTLS 2.28 allocates with calloc directly.) */
static void test_oom(void)
{
    pem_pair p = gen_pem("example.org", NULL, 0);
    static const char *const alpn[] = {"xmpp-client"};
    bool completed = false;
    for (long fail_at = 1; fail_at < 200 && !completed; fail_at++) {
        tl_failmem fm;
        xmppcore_mem m = tl_failmem_make(&fm, fail_at);
        xmppcore_env env = {XMPPCORE_ENV_VERSION, &m, NULL, NULL, NULL, NULL};
        xi_tls_config *cfg = NULL;
        xi_tls_session *s = NULL;
        xmppcore_buffer *out = xmppcore_buffer_new(NULL);
        int rc = xi_tls_config_new(&env, &cfg);
        if (rc == 0)
            rc = xi_tls_config_add_cert_pem(cfg, C(&p), K(&p), NULL, 0);
        if (rc == 0)
            rc = xi_tls_config_set_alpn(cfg, alpn, 1);
        if (rc == 0)
            rc = xi_tls_session_new(cfg, out, &s);
        if (rc == 0) {
            tp_opts o = {.ca_pem = C(&p), .hostname = "example.org"};
            tp_client c;
            CHECK_EQ_INT(tp_init(&c, &o, out), 0);
            tp_result r = tp_handshake(&c, s, 0);
            rc = r.server;
            if (rc == 0 && r.client == 0) {
                xmppcore_buffer *got = xmppcore_buffer_new(NULL);
                rc = tp_client_to_server(&c, s, "hello", 5, 0, got);
                if (rc == XMPPCORE_E_AGAIN)
                    rc = xmppcore_buffer_len(got) == 5 ? 0 : -999;
                xmppcore_buffer_free(got);
            } else if (rc == 0) {
                rc = -998;
            }
            tp_free(&c);
        }
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM || rc == XMPPCORE_E_TLS);
        if (rc == XMPPCORE_E_TLS)
            CHECK(fm.failed);
        if (rc == 0)
            completed = !fm.failed;
        xi_tls_session_free(s);
        xi_tls_config_free(cfg);
        xmppcore_buffer_free(out);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(completed);
    pem_free(&p);
}

TEST_MAIN(TEST_ENTRY(test_generate_pem), TEST_ENTRY(test_generate_errors),
          TEST_ENTRY(test_handshake_and_data),
          TEST_ENTRY(test_handshake_byte_by_byte),
          TEST_ENTRY(test_server_close), TEST_ENTRY(test_channel_binding),
          TEST_ENTRY(test_sni), TEST_ENTRY(test_ecdsa_and_rsa), TEST_ENTRY(test_weak_rsa),
          TEST_ENTRY(test_alpn), TEST_ENTRY(test_garbage_input),
          TEST_ENTRY(test_refused_suites_and_versions),
          TEST_ENTRY(test_renegotiation_refused), TEST_ENTRY(test_client_cert),
          TEST_ENTRY(test_files), TEST_ENTRY(test_config_lifecycle),
          TEST_ENTRY(test_oom))

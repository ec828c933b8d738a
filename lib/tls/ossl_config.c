/*
 * Server TLS configuration, OpenSSL backend: one SSL_CTX per config with
 * the protocol policy of tls.h, shared by all its sessions; the
 * certificates (read and checked by tls_cert.c with mbedTLS, then handed
 * to OpenSSL as DER) with their names for SNI; ALPN; client-certificate
 * trust anchors. The SSL_CTX callbacks (SNI, certificate choice, ALPN,
 * client-certificate verification) live here too.
 */
#include <stdio.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/x509.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls/ossl_internal.h"

/* Server preference: ECDHE only (forward secrecy), AEAD only; AES-128-GCM
 * first (fast with AES-NI), ChaCha20-Poly1305 for clients without AES
 * hardware, AES-256-GCM last. The same list as tls_config.c's. */
static const char cipher_list[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384";
static const char groups[] = "X25519:P-256:P-384";
/* SHA-256/384/512 with ECDSA or RSA (PKCS#1 v1.5), as tls_config.c. */
static const char sigalgs[] = "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:"
                              "RSA+SHA256:RSA+SHA384:RSA+SHA512";

bool xi_ossl_error(char *buf, size_t size, const char *what,
                   const char *fallback)
{
    unsigned long e = ERR_peek_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    bool nomem = e && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
    int n;
    if (e && reason)
        n = snprintf(buf, size, "%s: %s (OpenSSL error %08lx)", what, reason,
                     e);
    else if (e)
        n = snprintf(buf, size, "%s: OpenSSL error %08lx", what, e);
    else
        n = snprintf(buf, size, "%s: %s", what, fallback);
    if (n < 0)
        buf[0] = '\0';
    ERR_clear_error();
    return nomem;
}

/* ---- Callbacks ---- */

static void add_cand(xi_tls_session *s, struct xi_tls_cert *c)
{
    struct xi_tls_cert **slot = c->is_rsa ? &s->cand_rsa : &s->cand_ec;
    if (!*slot)
        *slot = c;
}

/*
 * SNI: certificates naming the host exactly come first, then wildcard
 * ones; of those, the first EC and the first RSA one are candidates
 * (OpenSSL holds one certificate per key type and picks by suite). With
 * no match the SSL_CTX's defaults stay.
 */
static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    xi_tls_config *cfg = arg;
    xi_tls_session *s = SSL_get_app_data(ssl);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    size_t len = name ? strlen(name) : 0;
    if (len > 0 && name[len - 1] == '.') /* absolute form */
        len--;
    if (len == 0 || len > 253 || s->sni)
        return SSL_TLSEXT_ERR_OK;
    if (!(s->sni =
              xi_tls_lower_dup(cfg->mem, (const unsigned char *)name, len))) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    for (int wild = 0; wild < 2; wild++) {
        for (struct xi_tls_cert *c = cfg->certs; c; c = c->next) {
            for (size_t i = 0; i < c->n_names; i++) {
                bool is_wild = c->names[i][0] == '*';
                if (is_wild == (wild != 0) &&
                    xi_tls_name_match(c->names[i], s->sni))
                    add_cand(s, c);
            }
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

/* Called before the suite is chosen: an SNI match replaces the default
 * certificates (which every SSL got from the SSL_CTX) unless it names the
 * same ones. */
static int cert_cb(SSL *ssl, void *arg)
{
    XI_UNUSED(arg);
    xi_tls_session *s = SSL_get_app_data(ssl);
    xi_tls_config *cfg = s->cfg;
    if ((!s->cand_ec && !s->cand_rsa) ||
        (s->cand_ec == cfg->def_ec && s->cand_rsa == cfg->def_rsa))
        return 1;
    SSL_certs_clear(ssl);
    struct xi_tls_cert *use[2] = {s->cand_ec, s->cand_rsa};
    for (size_t i = 0; i < 2; i++)
        if (use[i] && SSL_use_cert_and_key(ssl, use[i]->leaf, use[i]->key,
                                           use[i]->chain, 1) != 1)
            return 0;
    return 1;
}

/* RFC 7301 with the server's preference; no match is a fatal
 * no_application_protocol alert. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    xi_tls_config *cfg = arg;
    xi_tls_session *s = SSL_get_app_data(ssl);
    for (size_t i = 0; i < cfg->n_alpn; i++) {
        const char *want = cfg->alpn_names[i];
        size_t wlen = strlen(want);
        for (unsigned int p = 0; p < inlen;) {
            unsigned int l = in[p];
            if (l > inlen - p - 1)
                break;
            if (l == wlen && memcmp(in + p + 1, want, wlen) == 0) {
                *out = (const unsigned char *)want;
                *outlen = (unsigned char)wlen;
                s->alpn = want;
                return SSL_TLSEXT_ERR_OK;
            }
            p += 1 + l;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* OpenSSL's verification errors as mbedTLS's MBEDTLS_X509_BADCERT_*
 * flags, so xi_tls_peer_verify_flags means the same on both backends. */
static uint32_t badcert_flag(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED: return MBEDTLS_X509_BADCERT_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID: return MBEDTLS_X509_BADCERT_FUTURE;
    case X509_V_ERR_CERT_REVOKED: return MBEDTLS_X509_BADCERT_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        return MBEDTLS_X509_BADCERT_NOT_TRUSTED;
    case X509_V_ERR_INVALID_PURPOSE: return MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
        return MBEDTLS_X509_BADCERT_KEY_USAGE;
    case X509_V_ERR_CA_MD_TOO_WEAK: return MBEDTLS_X509_BADCERT_BAD_MD;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: return MBEDTLS_X509_BADCERT_BAD_KEY;
    default: return MBEDTLS_X509_BADCERT_OTHER;
    }
}

/* Records every problem, never fails the handshake (tls.h: the result is
 * exposed, not enforced). */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    xi_tls_session *s = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!ok && s)
        s->verify_flags |= badcert_flag(X509_STORE_CTX_get_error(x));
    return 1;
}

/* ---- Config ---- */

static void cert_free(const xmppcore_mem *mem, struct xi_tls_cert *c)
{
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    for (size_t i = 0; i < c->n_names; i++)
        xi_free(mem, c->names[i]);
    xi_free(mem, c->names);
    xi_free(mem, c);
}

void xi_tls_config_free(xi_tls_config *cfg)
{
    if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
        return;
    const xmppcore_mem *mem = cfg->mem;
    for (struct xi_tls_cert *c = cfg->certs, *next; c; c = next) {
        next = c->next;
        cert_free(mem, c);
    }
    for (size_t i = 0; i < XI_TLS_MAX_ALPN; i++)
        xi_free(mem, cfg->alpn_names[i]);
    SSL_CTX_free(cfg->ctx);
    BIO_meth_free(cfg->bio_method);
    xi_free(mem, cfg);
}

/* Suite names as mbedTLS spells them (tls.h): OpenSSL's RFC names with
 * '-' for '_', computed once per config. */
static void name_suites(xi_tls_config *cfg)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(cfg->ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        const char *std = SSL_CIPHER_standard_name(c);
        if (!std || cfg->n_suites == XI_TLS_MAX_SUITES)
            continue;
        struct xi_tls_suite *e = &cfg->suites[cfg->n_suites++];
        e->cipher = c;
        size_t j = 0;
        for (; std[j] && j < sizeof e->name - 1; j++)
            e->name[j] = std[j] == '_' ? '-' : std[j];
        e->name[j] = '\0';
    }
}

int xi_tls_config_new(const xmppcore_env *env, xi_tls_config **out)
{
    const xmppcore_mem *mem = xi_mem(env ? env->mem : NULL);
    xi_tls_config *cfg = xi_calloc(mem, sizeof *cfg);
    *out = NULL;
    if (!cfg)
        return XMPPCORE_E_NOMEM;
    cfg->mem = mem;
    atomic_init(&cfg->refs, 1);
    cfg->certs_tail = &cfg->certs;
    ERR_clear_error();
    cfg->ctx = SSL_CTX_new(TLS_server_method());
    cfg->bio_method = xi_ossl_bio_method_new();
    SSL_CTX *ctx = cfg->ctx;
    if (!ctx || !cfg->bio_method ||
        !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) ||
        !SSL_CTX_set_cipher_list(ctx, cipher_list) ||
        /* No TLS 1.3 (tls.h), so none of its suites either. */
        !SSL_CTX_set_ciphersuites(ctx, "") ||
        !SSL_CTX_set1_groups_list(ctx, groups) ||
        !SSL_CTX_set1_sigalgs_list(ctx, sigalgs)) {
        bool nomem =
            xi_ossl_error(cfg->err, sizeof cfg->err, "OpenSSL setup", "failed");
        xi_tls_config_free(cfg);
        return nomem ? XMPPCORE_E_NOMEM : XMPPCORE_E_INTERNAL;
    }
    /* The system's openssl.cnf may say otherwise: the policy is ours.
     * Level 2 matches mbedTLS's default X.509 profile (RSA >= 2048 bits,
     * no SHA-1 signatures). */
    SSL_CTX_set_security_level(ctx, 2);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION |
                                   SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* Record buffers are freed whenever they are empty: an idle session
     * holds none. The chain sent is the one configured, as with mbedTLS:
     * no chain building (an X509_verify_cert per handshake, which could
     * also pull in client-certificate trust anchors). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, cfg);
    SSL_CTX_set_cert_cb(ctx, cert_cb, cfg);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    name_suites(cfg);
    ERR_clear_error(); /* what OpenSSL noted while succeeding */
    *out = cfg;
    return 0;
}

const char *xi_tls_config_error(const xi_tls_config *cfg)
{
    return cfg->err;
}

static int set_err(xi_tls_config *cfg, int code, const char *fmt,
                   const char *arg, int mbed_ret)
{
    return xi_tls_set_err(cfg->err, sizeof cfg->err, code, fmt, arg, mbed_ret);
}

static int ossl_err(xi_tls_config *cfg, const char *what)
{
    return xi_ossl_error(cfg->err, sizeof cfg->err, what, "failed")
               ? XMPPCORE_E_NOMEM
               : XMPPCORE_E_INVAL;
}

/* The private key as OpenSSL's, through DER. */
static int convert_key(xi_tls_config *cfg, struct xi_tls_cert *c,
                       mbedtls_pk_context *key)
{
    /* Enough for an RSA key of 8192 bits. */
    enum { KEY_DER_MAX = 8192 };
    unsigned char *buf = xi_calloc(cfg->mem, KEY_DER_MAX);
    if (!buf)
        return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    int len = mbedtls_pk_write_key_der(key, buf, KEY_DER_MAX);
    int rc = 0;
    if (len <= 0) {
        rc = set_err(cfg, XMPPCORE_E_INVAL, "private key%s", NULL, len);
    } else {
        /* mbedTLS writes at the end of the buffer. */
        const unsigned char *p = buf + KEY_DER_MAX - len;
        if (!(c->key = d2i_AutoPrivateKey(NULL, &p, len)))
            rc = ossl_err(cfg, "private key");
        else
            c->is_rsa = EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA;
    }
    mbedtls_platform_zeroize(buf, KEY_DER_MAX);
    xi_free(cfg->mem, buf);
    return rc;
}

static X509 *der_to_x509(const mbedtls_x509_crt *crt)
{
    const unsigned char *p = crt->raw.p;
    return d2i_X509(NULL, &p, (long)crt->raw.len);
}

/* The checked mbedTLS chain and key as OpenSSL objects. */
static int convert(xi_tls_config *cfg, struct xi_tls_cert *c,
                   const mbedtls_x509_crt *chain, mbedtls_pk_context *key)
{
    ERR_clear_error();
    if (!(c->leaf = der_to_x509(chain)))
        return ossl_err(cfg, "certificate");
    for (const mbedtls_x509_crt *i = chain->next; i && i->raw.p; i = i->next) {
        X509 *x = der_to_x509(i);
        if (!x)
            return ossl_err(cfg, "certificate chain");
        if ((!c->chain && !(c->chain = sk_X509_new_null())) ||
            !sk_X509_push(c->chain, x)) {
            X509_free(x);
            return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
        }
    }
    return convert_key(cfg, c, key);
}

/* OpenSSL refuses to serve what its security level forbids: find out
 * when the certificate is added, not at the first connection. */
static int check_servable(xi_tls_config *cfg, struct xi_tls_cert *c)
{
    SSL *ssl = SSL_new(cfg->ctx);
    if (!ssl)
        return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    int ok = SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1) == 1;
    SSL_free(ssl);
    return ok ? 0 : ossl_err(cfg, "certificate refused by OpenSSL");
}

static int add_cert(xi_tls_config *cfg, const char *chain_src,
                    const char *key_src, const char *password, bool files,
                    unsigned flags)
{
    struct xi_tls_cert *c = xi_calloc(cfg->mem, sizeof *c);
    if (!c)
        return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    mbedtls_x509_crt chain;
    mbedtls_pk_context key;
    mbedtls_x509_crt_init(&chain);
    mbedtls_pk_init(&key);
    int rc = xi_tls_parse_cert(&chain, &key, chain_src, key_src, password,
                               files, cfg->err, sizeof cfg->err);
    if (rc == 0 &&
        xi_tls_cert_names(cfg->mem, &chain, &c->names, &c->n_names) < 0)
        rc = set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    if (rc == 0) {
        c->end_point_rc = xi_tls_end_point(
            &chain, c->end_point, sizeof c->end_point, &c->end_point_len);
        rc = convert(cfg, c, &chain, &key);
    }
    if (rc == 0)
        rc = check_servable(cfg, c);
    mbedtls_x509_crt_free(&chain);
    ERR_clear_error();
    mbedtls_pk_free(&key);
    if (rc < 0) {
        cert_free(cfg->mem, c);
        return rc;
    }
    c->is_default = (flags & XI_TLS_CERT_DEFAULT) != 0;
    *cfg->certs_tail = c;
    cfg->certs_tail = &c->next;
    cfg->err[0] = '\0';
    return 0;
}

int xi_tls_config_add_cert_pem(xi_tls_config *cfg, const char *chain_pem,
                               const char *key_pem, const char *password,
                               unsigned flags)
{
    if (!chain_pem || !key_pem)
        return set_err(cfg, XMPPCORE_E_INVAL, "no certificate or key", NULL, 0);
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    return add_cert(cfg, chain_pem, key_pem, password, false, flags);
}

int xi_tls_config_add_cert_file(xi_tls_config *cfg, const char *chain_path,
                                const char *key_path, const char *password,
                                unsigned flags)
{
    if (!chain_path || !key_path)
        return set_err(cfg, XMPPCORE_E_INVAL, "no certificate or key file",
                       NULL, 0);
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    return add_cert(cfg, chain_path, key_path, password, true, flags);
}

int xi_tls_config_set_alpn(xi_tls_config *cfg, const char *const *protocols,
                           size_t n)
{
    char *names[XI_TLS_MAX_ALPN] = {0};
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    int rc = xi_tls_alpn_copy(cfg->mem, protocols, n, names, cfg->err,
                              sizeof cfg->err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < XI_TLS_MAX_ALPN; i++) {
        xi_free(cfg->mem, cfg->alpn_names[i]);
        cfg->alpn_names[i] = names[i];
    }
    cfg->n_alpn = n;
    return 0;
}

int xi_tls_config_request_client_cert(xi_tls_config *cfg, bool on)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    cfg->request_client_cert = on;
    return 0;
}

/* Trust anchors go to the SSL_CTX's store and, as in mbedTLS, their
 * names to the CertificateRequest. */
static int add_ca(xi_tls_config *cfg, const char *src, bool file)
{
    mbedtls_x509_crt ca;
    mbedtls_x509_crt_init(&ca);
    int rc = xi_tls_parse_ca(&ca, src, file, cfg->err, sizeof cfg->err);
    X509_STORE *store = SSL_CTX_get_cert_store(cfg->ctx);
    ERR_clear_error();
    for (const mbedtls_x509_crt *i = &ca; rc == 0 && i && i->raw.p;
         i = i->next) {
        X509 *x = der_to_x509(i);
        if (!x || !X509_STORE_add_cert(store, x) ||
            !SSL_CTX_add_client_CA(cfg->ctx, x))
            rc = ossl_err(cfg, "CA certificate");
        X509_free(x);
    }
    mbedtls_x509_crt_free(&ca);
    ERR_clear_error();
    return rc;
}

int xi_tls_config_add_ca_pem(xi_tls_config *cfg, const char *pem)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    if (!pem)
        return set_err(cfg, XMPPCORE_E_INVAL, "no CA certificate", NULL, 0);
    return add_ca(cfg, pem, false);
}

int xi_tls_config_add_ca_file(xi_tls_config *cfg, const char *path)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    if (!path)
        return set_err(cfg, XMPPCORE_E_INVAL, "no CA file", NULL, 0);
    return add_ca(cfg, path, true);
}

int xi_tls_config_freeze(xi_tls_config *cfg)
{
    if (cfg->frozen)
        return 0;
    if (!cfg->certs)
        return set_err(cfg, XMPPCORE_E_STATE, "no certificate configured", NULL,
                       0);
    /* The default set: the flagged certificates, else the first one; the
     * first of each key type is served (mbedTLS would also try the next
     * EC one when the client lacks the first one's curve). */
    bool any = false;
    for (struct xi_tls_cert *c = cfg->certs; c; c = c->next)
        any |= c->is_default;
    cfg->def_ec = cfg->def_rsa = NULL;
    for (struct xi_tls_cert *c = cfg->certs; c; c = c->next) {
        if (any ? !c->is_default : c != cfg->certs)
            continue;
        struct xi_tls_cert **slot = c->is_rsa ? &cfg->def_rsa : &cfg->def_ec;
        if (!*slot)
            *slot = c;
    }
    ERR_clear_error();
    struct xi_tls_cert *use[2] = {cfg->def_ec, cfg->def_rsa};
    for (size_t i = 0; i < 2; i++)
        if (use[i] &&
            SSL_CTX_use_cert_and_key(cfg->ctx, use[i]->leaf, use[i]->key,
                                     use[i]->chain, 1) != 1)
            return ossl_err(cfg, "default certificate");
    if (cfg->n_alpn)
        SSL_CTX_set_alpn_select_cb(cfg->ctx, alpn_cb, cfg);
    /* Optional: the verification result is reported, not enforced. */
    if (cfg->request_client_cert)
        SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER, verify_cb);
    ERR_clear_error();
    cfg->frozen = true;
    return 0;
}

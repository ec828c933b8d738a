/*
 * Server TLS configuration: the mbedTLS config with the protocol policy,
 * the certificates with their names for SNI, ALPN, the random generator,
 * client-certificate trust anchors. See tls.h.
 */
#include <stdio.h>

#include "tls/tls_internal.h"

/* Cipher suites, server preference order: ECDHE only (forward secrecy),
 * AEAD only. AES-128-GCM first (fast with AES-NI), ChaCha20-Poly1305
 * for clients without AES hardware, AES-256-GCM last. */
static const int wanted_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_CURVE25519,
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE,
};

static const int sig_hashes[] = {
    MBEDTLS_MD_SHA256,
    MBEDTLS_MD_SHA384,
    MBEDTLS_MD_SHA512,
    MBEDTLS_MD_NONE,
};

static bool is_chachapoly(int id)
{
    return id == MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 ||
           id == MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
}

static int sni_callback(void *p, mbedtls_ssl_context *ssl,
                        const unsigned char *name, size_t len);

int xi_tls_config_new(const xmppcore_env *env, xi_tls_config **out)
{
    const xmppcore_mem *mem = xi_mem(env ? env->mem : NULL);
    xi_tls_config *cfg = xi_calloc(mem, sizeof *cfg);
    static const char pers[] = "libxmppcore tls config";
    size_t n = 0;
    int ret;

    *out = NULL;
    if (!cfg)
        return XMPPCORE_E_NOMEM;
    cfg->mem = mem;
    if (env)
        cfg->env = *env;
    cfg->env.version = XMPPCORE_ENV_VERSION;
    cfg->env.mem = mem;
    if (!cfg->env.rng) {
        cfg->env.rng = xmppcore_rng_default;
        cfg->env.rng_user_data = NULL;
    }
    if (!cfg->env.clock) {
        cfg->env.clock = xmppcore_clock_default;
        cfg->env.clock_user_data = NULL;
    }
    atomic_init(&cfg->refs, 1);
    cfg->certs_tail = &cfg->certs;
    mbedtls_ctr_drbg_init(&cfg->drbg);
    mbedtls_ssl_config_init(&cfg->conf);
    mbedtls_x509_crt_init(&cfg->ca);

    ret = mbedtls_ctr_drbg_seed(&cfg->drbg, xi_tls_entropy, &cfg->env,
                                (const unsigned char *)pers, sizeof pers - 1);
    if (ret == 0)
        ret = mbedtls_ssl_config_defaults(&cfg->conf, MBEDTLS_SSL_IS_SERVER,
                                          MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        xi_tls_config_free(cfg);
        return XMPPCORE_E_INTERNAL;
    }
    mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
    mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    /* Only the suites this mbedTLS build knows. */
    for (size_t i = 0; i < XI_ARRAY_LEN(wanted_suites); i++) {
        if (is_chachapoly(wanted_suites[i]) && !XI_TLS_HAVE_CHACHAPOLY)
            continue;
        if (mbedtls_ssl_ciphersuite_from_id(wanted_suites[i]))
            cfg->suites[n++] = wanted_suites[i];
    }
    cfg->suites[n] = 0;
    mbedtls_ssl_conf_ciphersuites(&cfg->conf, cfg->suites);
    mbedtls_ssl_conf_curves(&cfg->conf, curves);
    mbedtls_ssl_conf_sig_hashes(&cfg->conf, sig_hashes);
    mbedtls_ssl_conf_renegotiation(&cfg->conf,
                                   MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    mbedtls_ssl_conf_legacy_renegotiation(&cfg->conf,
                                          MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
    mbedtls_ssl_conf_extended_master_secret(&cfg->conf,
                                            MBEDTLS_SSL_EXTENDED_MS_ENABLED);
    mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_sni(&cfg->conf, sni_callback, cfg);
    *out = cfg;
    return 0;
}

static void cert_free(const xmppcore_mem *mem, struct xi_tls_cert *c)
{
    mbedtls_x509_crt_free(&c->chain);
    mbedtls_pk_free(&c->key);
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
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_ssl_config_free(&cfg->conf);
    mbedtls_ctr_drbg_free(&cfg->drbg);
    xi_free(mem, cfg);
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

/* Files a parsed and checked certificate + key pair; frees it on error. */
static int finish_cert(xi_tls_config *cfg, struct xi_tls_cert *c, int rc,
                       unsigned flags)
{
    if (rc == 0 &&
        xi_tls_cert_names(cfg->mem, &c->chain, &c->names, &c->n_names) < 0)
        rc = set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
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

static struct xi_tls_cert *cert_new(xi_tls_config *cfg)
{
    struct xi_tls_cert *c = xi_calloc(cfg->mem, sizeof *c);
    if (c) {
        mbedtls_x509_crt_init(&c->chain);
        mbedtls_pk_init(&c->key);
    }
    return c;
}

int xi_tls_config_add_cert_pem(xi_tls_config *cfg, const char *chain_pem,
                               const char *key_pem, const char *password,
                               unsigned flags)
{
    if (!chain_pem || !key_pem)
        return set_err(cfg, XMPPCORE_E_INVAL, "no certificate or key", NULL, 0);
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    struct xi_tls_cert *c = cert_new(cfg);
    if (!c)
        return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    int rc = xi_tls_parse_cert(&c->chain, &c->key, chain_pem, key_pem, password,
                               false, cfg->err, sizeof cfg->err);
    return finish_cert(cfg, c, rc, flags);
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
    struct xi_tls_cert *c = cert_new(cfg);
    if (!c)
        return set_err(cfg, XMPPCORE_E_NOMEM, "out of memory", NULL, 0);
    int rc = xi_tls_parse_cert(&c->chain, &c->key, chain_path, key_path,
                               password, true, cfg->err, sizeof cfg->err);
    return finish_cert(cfg, c, rc, flags);
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
        cfg->alpn_list[i] = names[i];
    }
    cfg->alpn_list[n] = NULL;
    return 0;
}

int xi_tls_config_request_client_cert(xi_tls_config *cfg, bool on)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    cfg->request_client_cert = on;
    return 0;
}

int xi_tls_config_add_ca_pem(xi_tls_config *cfg, const char *pem)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    if (!pem)
        return set_err(cfg, XMPPCORE_E_INVAL, "no CA certificate", NULL, 0);
    int rc = xi_tls_parse_ca(&cfg->ca, pem, false, cfg->err, sizeof cfg->err);
    if (rc == 0)
        cfg->have_ca = true;
    return rc;
}

int xi_tls_config_add_ca_file(xi_tls_config *cfg, const char *path)
{
    if (cfg->frozen)
        return set_err(cfg, XMPPCORE_E_STATE, "config already in use", NULL, 0);
    if (!path)
        return set_err(cfg, XMPPCORE_E_INVAL, "no CA file", NULL, 0);
    int rc = xi_tls_parse_ca(&cfg->ca, path, true, cfg->err, sizeof cfg->err);
    if (rc == 0)
        cfg->have_ca = true;
    return rc;
}

int xi_tls_config_freeze(xi_tls_config *cfg)
{
    if (cfg->frozen)
        return 0;
    if (!cfg->certs)
        return set_err(cfg, XMPPCORE_E_STATE, "no certificate configured", NULL,
                       0);
    cfg->n_defaults = 0;
    for (struct xi_tls_cert *c = cfg->certs; c; c = c->next)
        if (c->is_default && cfg->n_defaults < XI_TLS_MAX_CAND)
            cfg->defaults[cfg->n_defaults++] = c;
    if (!cfg->n_defaults)
        cfg->defaults[cfg->n_defaults++] = cfg->certs;
    for (size_t i = 0; i < cfg->n_defaults; i++) {
        int ret = mbedtls_ssl_conf_own_cert(
            &cfg->conf, &cfg->defaults[i]->chain, &cfg->defaults[i]->key);
        if (ret != 0)
            return set_err(cfg, XMPPCORE_E_NOMEM, "default certificate%s", NULL,
                           ret);
    }
    if (cfg->alpn_list[0])
        mbedtls_ssl_conf_alpn_protocols(&cfg->conf, cfg->alpn_list);
    if (cfg->request_client_cert) {
        /* Optional: the verification result is reported, not enforced. */
        mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        mbedtls_ssl_conf_ca_chain(&cfg->conf, cfg->have_ca ? &cfg->ca : NULL,
                                  NULL);
    }
    cfg->frozen = true;
    return 0;
}

static void add_cand(xi_tls_session *s, struct xi_tls_cert *c)
{
    for (size_t i = 0; i < s->n_cand; i++)
        if (s->cand[i] == c)
            return;
    if (s->n_cand < XI_TLS_MAX_CAND)
        s->cand[s->n_cand++] = c;
}

/*
 * SNI: certificates naming the host exactly come first, then wildcard
 * ones. With no match mbedTLS falls back to the default set.
 */
static int sni_callback(void *p, mbedtls_ssl_context *ssl,
                        const unsigned char *name, size_t len)
{
    xi_tls_config *cfg = p;
    xi_tls_session *s = (xi_tls_session *)(void *)ssl;
    if (len > 0 && name[len - 1] == '.') /* absolute form */
        len--;
    if (len == 0 || len > 253 || s->sni)
        return 0;
    if (!(s->sni = xi_tls_lower_dup(cfg->mem, name, len)))
        return memchr(name, '\0', len) ? 0 : MBEDTLS_ERR_SSL_ALLOC_FAILED;
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
    for (size_t i = 0; i < s->n_cand; i++) {
        int ret = mbedtls_ssl_set_hs_own_cert(ssl, &s->cand[i]->chain,
                                              &s->cand[i]->key);
        if (ret != 0)
            return ret;
    }
    return 0;
}

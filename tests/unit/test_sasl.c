/* Unit tests for lib/sasl: base64, mechanism policy, SCRAM (RFC 5802 and
 * RFC 7677 examples, -PLUS, downgrade, unknown users), PLAIN and its
 * verifier cache, ANONYMOUS, authzid rules, credential derivation, and
 * allocation failures. The SCRAM client here is written on mbedTLS
 * directly, not on the library's helpers. */
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include <sodium.h>

#include "testlib.h"
#include "core/core.h"
#include "sasl/sasl.h"
#include "sasl/sasl_int.h"
#include "sasl/sha_fast.h"
#include "sasl/sha_ni.h"
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include "xmppcore/sasl.h"

static const unsigned char SECRET[32] = "0123456789abcdef0123456789abcde";
static const unsigned char CB_EP[32] = {
    1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char CB_UNIQUE[12] = "tls-finished";

/* Deterministic RNG: a counter-driven byte stream. */
typedef struct {
    unsigned seed;
    int fail;
    unsigned long calls;
} test_rng;

static int rng_fn(void *buf, size_t len, void *ud)
{
    test_rng *r = ud;
    unsigned char *p = buf;
    r->calls++;
    if (r->fail)
        return XMPPCORE_E_INTERNAL;
    for (size_t i = 0; i < len; i++) {
        r->seed = r->seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(r->seed >> 16);
    }
    return 0;
}

static test_rng g_rng;

static xi_sasl_config make_cfg(unsigned flags, bool cb)
{
    xi_sasl_config c;
    memset(&c, 0, sizeof c);
    c.rng = rng_fn;
    c.rng_user_data = &g_rng;
    c.domain = "example.com";
    c.secret = SECRET;
    c.secret_len = sizeof SECRET;
    c.flags = flags;
    if (cb) {
        c.cb_tls_server_end_point = CB_EP;
        c.cb_tls_server_end_point_len = sizeof CB_EP;
        c.cb_tls_unique = CB_UNIQUE;
        c.cb_tls_unique_len = sizeof CB_UNIQUE;
    }
    return c;
}

static char *b64(const void *d, size_t n)
{
    static char buf[4][2048];
    static int k;
    char *o = buf[k++ & 3];
    xi_sasl_b64_encode(d, n, o);
    return o;
}

/* Credentials for password pw with a fixed salt, through the library. */
static xmppcore_credentials creds_for(const char *pw)
{
    xmppcore_credentials c;
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(xi_scram_derive_keys(XI_SCRAM_SHA1, pw, strlen(pw),
                                      (const unsigned char *)"salt-one-1234567",
                                      16, 4096, &c.sha1), 0);
    CHECK_EQ_INT(xi_scram_derive_keys(XI_SCRAM_SHA256, pw, strlen(pw),
                                      (const unsigned char *)"salt-two-1234567",
                                      16, 4096, &c.sha256), 0);
    return c;
}

/* ---- a SCRAM client on mbedTLS ---- */

static void client_compute(bool sha256, const char *pw,
                           const unsigned char *salt, size_t slen,
                           unsigned iter, const char *am, unsigned char *proof,
                           unsigned char *ssig)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(
        sha256 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA1);
    size_t hl = sha256 ? 32 : 20;
    unsigned char salted[32], ck[32], sk[32], svk[32], cs[32];
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    mbedtls_md_setup(&ctx, md, 1);
    mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw, strlen(pw), salt,
                              slen, iter, (uint32_t)hl, salted);
    mbedtls_md_free(&ctx);
    mbedtls_md_hmac(md, salted, hl, (const unsigned char *)"Client Key", 10, ck);
    mbedtls_md(md, ck, hl, sk);
    mbedtls_md_hmac(md, salted, hl, (const unsigned char *)"Server Key", 10, svk);
    mbedtls_md_hmac(md, sk, hl, (const unsigned char *)am, strlen(am), cs);
    for (size_t i = 0; i < hl; i++)
        proof[i] = ck[i] ^ cs[i];
    mbedtls_md_hmac(md, svk, hl, (const unsigned char *)am, strlen(am), ssig);
}

typedef struct {
    const char *mech;
    const char *gs2;            /* "n,," "y,," "p=tls-server-end-point,," */
    const unsigned char *cb;    /* binding data the client puts in c= */
    size_t cb_len;
    const char *user;           /* saslname as sent */
    const char *password;
    int lookup;                 /* what storage answers */
    const xmppcore_credentials *creds;
    unsigned cred_flags;
    bool b64;                   /* go through the _b64 calls */
    const char *nonce_override; /* client nonce in r= of client-final */
} scram_client;

/* Runs a whole exchange; returns the final status; checks v= on success. */
static int scram_run(xi_sasl *s, const scram_client *c)
{
    char first[512], final_wo[1024], am[2048], final[1200];
    char sf[512], cbind[256];
    unsigned char cbraw[128], salt[64], proof[32], ssig[32];
    size_t saltlen, n;
    bool sha256 = strstr(c->mech, "256") != NULL;
    size_t hl = sha256 ? 32 : 20;
    int r;

    snprintf(first, sizeof first, "%sn=%s,r=fyko+d2lbbFgONRv9qkxdawL",
             c->gs2, c->user);
    if (c->b64) {
        const char *t = b64(first, strlen(first));
        r = xi_sasl_start_b64(s, c->mech, t, strlen(t));
    } else {
        r = xi_sasl_start(s, c->mech, first, strlen(first), true);
    }
    if (r != XI_SASL_NEED_CREDENTIALS)
        return r;
    r = xi_sasl_provide_credentials(s, c->lookup, c->creds, c->cred_flags);
    if (r != XI_SASL_CHALLENGE)
        return r;
    const unsigned char *out = xi_sasl_output(s, &n);
    CHECK(out != NULL && n < sizeof sf);
    if (!out || n >= sizeof sf)
        return -1;
    memcpy(sf, out, n);
    sf[n] = '\0';
    /* server-first: r=...,s=...,i=... */
    char *rr = sf + 2, *ss = strstr(sf, ",s="), *ii = strstr(sf, ",i=");
    CHECK(strncmp(sf, "r=fyko+d2lbbFgONRv9qkxdawL", 26) == 0 && ss && ii);
    if (!ss || !ii)
        return -1;
    *ss = '\0';
    *ii = '\0';
    CHECK_EQ_INT(xi_sasl_b64_decode(ss + 3, strlen(ss + 3), salt, &saltlen), 0);
    unsigned iter = (unsigned)strtoul(ii + 3, NULL, 10);
    size_t gl = strlen(c->gs2);
    memcpy(cbraw, c->gs2, gl);
    if (c->cb_len)
        memcpy(cbraw + gl, c->cb, c->cb_len);
    strcpy(cbind, b64(cbraw, gl + c->cb_len));
    snprintf(final_wo, sizeof final_wo, "c=%s,r=%s", cbind,
             c->nonce_override ? c->nonce_override : rr);
    *ss = ',';
    *ii = ',';
    snprintf(am, sizeof am, "%s,%s,%s", first + gl, sf, final_wo);
    client_compute(sha256, c->password, salt, saltlen, iter, am, proof, ssig);
    snprintf(final, sizeof final, "%s,p=%s", final_wo, b64(proof, hl));
    if (c->b64) {
        const char *t = b64(final, strlen(final));
        r = xi_sasl_step_b64(s, t, strlen(t));
    } else {
        r = xi_sasl_step(s, final, strlen(final));
    }
    if (r == XI_SASL_SUCCESS) {
        char v[64];
        out = xi_sasl_output(s, &n);
        snprintf(v, sizeof v, "v=%s", b64(ssig, hl));
        CHECK(out && n == strlen(v) && memcmp(out, v, n) == 0);
    }
    return r;
}

static scram_client client_default(const char *mech,
                                   const xmppcore_credentials *creds)
{
    scram_client c;
    memset(&c, 0, sizeof c);
    c.mech = mech;
    c.gs2 = "n,,";
    c.user = "juliet";
    c.password = "pencil";
    c.creds = creds;
    return c;
}

/* ---- tests ---- */

static void test_base64(void)
{
    unsigned char out[64];
    size_t n;
    CHECK_STR(b64("", 0), "");
    CHECK_STR(b64("f", 1), "Zg==");
    CHECK_STR(b64("fo", 2), "Zm8=");
    CHECK_STR(b64("foo", 3), "Zm9v");
    CHECK_STR(b64("foobar", 6), "Zm9vYmFy");
    CHECK_STR(b64("\xff\xfe\xfd", 3), "//79");
    CHECK_EQ_INT(xi_sasl_b64_decode("Zm9vYg==", 8, out, &n), 0);
    CHECK(n == 4 && memcmp(out, "foob", 4) == 0);
    CHECK_EQ_INT(xi_sasl_b64_decode("Zm9vYmE=", 8, out, &n), 0);
    CHECK(n == 5 && memcmp(out, "fooba", 5) == 0);
    CHECK_EQ_INT(xi_sasl_b64_decode("", 0, out, &n), 0);
    CHECK_EQ_INT(n, 0);
    static const char *bad[] = {"Zg", "Zg=", "Zm9", "Zg==Zg==", "Zh==",
                                "Zm9=", "Z===", "====", "Zm 9v", "Zm9v\n",
                                "Zm-v", "Zm_v", "=Zm9", "Zm=v"};
    for (size_t i = 0; i < XI_ARRAY_LEN(bad); i++)
        CHECK_EQ_INT(xi_sasl_b64_decode(bad[i], strlen(bad[i]), out, &n),
                     XMPPCORE_E_INVAL);
}

static void test_conditions(void)
{
    CHECK_STR(xi_sasl_condition_name(XI_SASL_COND_ABORTED), "aborted");
    CHECK_STR(xi_sasl_condition_name(XI_SASL_COND_NOT_AUTHORIZED),
              "not-authorized");
    CHECK_STR(xi_sasl_condition_name(XI_SASL_COND_TEMPORARY_AUTH_FAILURE),
              "temporary-auth-failure");
    CHECK_STR(xi_sasl_condition_name(XI_SASL_COND_INVALID_AUTHZID),
              "invalid-authzid");
    CHECK(xi_sasl_condition_name(XI_SASL_COND_NONE) == NULL);
    CHECK(xi_sasl_condition_name(999) == NULL);
}

static void test_mechanisms(void)
{
    const char *m[8];
    xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN, true);
    size_t n = xi_sasl_mechanisms(&c, m, 8);
    CHECK_EQ_INT(n, 5);
    CHECK_STR(m[0], "SCRAM-SHA-256-PLUS");
    CHECK_STR(m[1], "SCRAM-SHA-1-PLUS");
    CHECK_STR(m[2], "SCRAM-SHA-256");
    CHECK_STR(m[3], "SCRAM-SHA-1");
    CHECK_STR(m[4], "PLAIN");
    /* No channel binding data: no -PLUS. Without TLS: no PLAIN. */
    c = make_cfg(XI_SASL_F_PLAIN, false);
    n = xi_sasl_mechanisms(&c, m, 8);
    CHECK_EQ_INT(n, 2);
    CHECK_STR(m[0], "SCRAM-SHA-256");
    CHECK_STR(m[1], "SCRAM-SHA-1");
    /* ...unless policy allows PLAIN in the clear. */
    c = make_cfg(XI_SASL_F_PLAIN | XI_SASL_F_PLAIN_INSECURE, false);
    CHECK_EQ_INT(xi_sasl_mechanisms(&c, m, 8), 3);
    CHECK_STR(m[2], "PLAIN");
    c = make_cfg(XI_SASL_F_NO_SCRAM_SHA1 | XI_SASL_F_ANONYMOUS, true);
    n = xi_sasl_mechanisms(&c, m, 8);
    CHECK_EQ_INT(n, 3);
    CHECK_STR(m[0], "SCRAM-SHA-256-PLUS");
    CHECK_STR(m[1], "SCRAM-SHA-256");
    CHECK_STR(m[2], "ANONYMOUS");
    /* Counting without room. */
    CHECK_EQ_INT(xi_sasl_mechanisms(&c, NULL, 0), 3);
    CHECK_EQ_INT(xi_sasl_mechanisms(&c, m, 1), 3);
}

static void test_policy_failures(void)
{
    struct {
        unsigned flags;
        bool cb;
        const char *mech;
        int cond;
    } cases[] = {
        {0, false, "DIGEST-MD5", XI_SASL_COND_INVALID_MECHANISM},
        {0, false, "scram-sha-1", XI_SASL_COND_INVALID_MECHANISM},
        {0, false, "SCRAM-SHA-1-PLUS", XI_SASL_COND_INVALID_MECHANISM},
        {0, false, "PLAIN", XI_SASL_COND_INVALID_MECHANISM},
        {XI_SASL_F_PLAIN, false, "PLAIN", XI_SASL_COND_ENCRYPTION_REQUIRED},
        {0, false, "ANONYMOUS", XI_SASL_COND_INVALID_MECHANISM},
        {XI_SASL_F_NO_SCRAM_SHA1, true, "SCRAM-SHA-1",
         XI_SASL_COND_MECHANISM_TOO_WEAK},
        {XI_SASL_F_NO_SCRAM_SHA1, true, "SCRAM-SHA-1-PLUS",
         XI_SASL_COND_MECHANISM_TOO_WEAK},
        {XI_SASL_F_NO_SCRAM, true, "SCRAM-SHA-256",
         XI_SASL_COND_INVALID_MECHANISM},
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(cases); i++) {
        xi_sasl_config c = make_cfg(cases[i].flags, cases[i].cb);
        xi_sasl *s = xi_sasl_new(&c);
        CHECK(s != NULL);
        CHECK_EQ_INT(xi_sasl_start_b64(s, cases[i].mech, "!!", 2),
                     XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), cases[i].cond);
        /* Nothing more can happen on a failed exchange. */
        CHECK_EQ_INT(xi_sasl_step(s, "x", 1), XMPPCORE_E_STATE);
        CHECK_EQ_INT(xi_sasl_start(s, "PLAIN", NULL, 0, false),
                     XMPPCORE_E_STATE);
        xi_sasl_free(s);
    }
    /* A config without domain or secret is refused. */
    xi_sasl_config c = make_cfg(0, false);
    c.secret_len = 8;
    CHECK(xi_sasl_new(&c) == NULL);
    c = make_cfg(0, false);
    c.domain = NULL;
    CHECK(xi_sasl_new(&c) == NULL);
    xi_sasl_free(NULL);
}

static void rfc_example(const char *mech, int hash, const char *salt64,
                        const char *cnonce, const char *snonce,
                        const char *proof64, const char *v, bool b64_calls)
{
    unsigned char salt[32];
    size_t saltlen;
    xmppcore_credentials cr;
    char msg[512];
    size_t n;
    memset(&cr, 0, sizeof cr);
    CHECK_EQ_INT(xi_sasl_b64_decode(salt64, strlen(salt64), salt, &saltlen), 0);
    CHECK_EQ_INT(xi_scram_derive_keys(hash, "pencil", 6, salt, saltlen, 4096,
                                      hash == XI_SCRAM_SHA1 ? &cr.sha1
                                                            : &cr.sha256),
                 0);
    xi_sasl_config c = make_cfg(0, false);
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_set_server_nonce(s, snonce), 0);
    snprintf(msg, sizeof msg, "n,,n=user,r=%s", cnonce);
    if (b64_calls) {
        char *t = b64(msg, strlen(msg));
        CHECK_EQ_INT(xi_sasl_start_b64(s, mech, t, strlen(t)),
                     XI_SASL_NEED_CREDENTIALS);
    } else {
        CHECK_EQ_INT(xi_sasl_start(s, mech, msg, strlen(msg), true),
                     XI_SASL_NEED_CREDENTIALS);
    }
    CHECK_STR(xi_sasl_username(s), "user");
    CHECK(xi_sasl_authzid(s) == NULL);
    CHECK_STR(xi_sasl_mechanism(s), mech);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0), XI_SASL_CHALLENGE);
    const unsigned char *o = xi_sasl_output(s, &n);
    snprintf(msg, sizeof msg, "r=%s%s,s=%s,i=4096", cnonce, snonce, salt64);
    CHECK(o && n == strlen(msg) && memcmp(o, msg, n) == 0);
    int err = -1;
    CHECK_STR(xi_sasl_output_b64(s, &err), b64(msg, strlen(msg)));
    CHECK_EQ_INT(err, 0);
    snprintf(msg, sizeof msg, "c=biws,r=%s%s,p=%s", cnonce, snonce, proof64);
    if (b64_calls) {
        char *t = b64(msg, strlen(msg));
        CHECK_EQ_INT(xi_sasl_step_b64(s, t, strlen(t)), XI_SASL_SUCCESS);
    } else {
        CHECK_EQ_INT(xi_sasl_step(s, msg, strlen(msg)), XI_SASL_SUCCESS);
    }
    o = xi_sasl_output(s, &n);
    CHECK(o && n == strlen(v) && memcmp(o, v, n) == 0);
    CHECK_STR(xi_sasl_output_b64(s, NULL), b64(v, strlen(v)));
    CHECK_STR(xi_sasl_username(s), "user");
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NONE);
    CHECK_EQ_INT(xi_sasl_pbkdf2_runs(s), 0);
    xi_sasl_free(s);
}

static void test_scram_sha1_rfc5802(void)
{
    rfc_example("SCRAM-SHA-1", XI_SCRAM_SHA1, "QSXCR+Q6sek8bf92",
                "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j",
                "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", false);
    rfc_example("SCRAM-SHA-1", XI_SCRAM_SHA1, "QSXCR+Q6sek8bf92",
                "fyko+d2lbbFgONRv9qkxdawL", "3rfcNHYJY1ZVvWVs7j",
                "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", true);
}

static void test_scram_sha256_rfc7677(void)
{
    rfc_example("SCRAM-SHA-256", XI_SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
                "rOprNGfwEbeRWgbNEkqO", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", true);
}

static void test_scram_random_nonce(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(0, false);
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", &cr);
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
    CHECK_STR(xi_sasl_username(s), "juliet");
    xi_sasl_free(s);
    /* The server nonce comes from the injected RNG: 24 bytes, base64. */
    g_rng.seed = 7;
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-1", "n,,n=juliet,r=abc", 17, true),
                 XI_SASL_NEED_CREDENTIALS);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0), XI_SASL_CHALLENGE);
    unsigned char rnd[24];
    test_rng r2 = {7, 0, 0};
    rng_fn(rnd, sizeof rnd, &r2);
    char expect[256];
    snprintf(expect, sizeof expect, "r=abc%s,s=%s,i=4096", b64(rnd, 24),
             b64(cr.sha1.salt, 16));
    size_t n;
    const unsigned char *o = xi_sasl_output(s, &n);
    CHECK(o && n == strlen(expect) && memcmp(o, expect, n) == 0);
    xi_sasl_free(s);
}

static void test_scram_no_initial_response(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(0, false);
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "SCRAM-SHA-1", NULL, 0), XI_SASL_CHALLENGE);
    size_t n = 99;
    CHECK(xi_sasl_output(s, &n) != NULL);
    CHECK_EQ_INT(n, 0);
    CHECK_STR(xi_sasl_output_b64(s, NULL), "=");
    const char *first = "n,,n=juliet,r=abcdef";
    char *t = b64(first, strlen(first));
    CHECK_EQ_INT(xi_sasl_step_b64(s, t, strlen(t)), XI_SASL_NEED_CREDENTIALS);
    CHECK_STR(xi_sasl_username(s), "juliet");
    CHECK_EQ_INT(xi_sasl_step(s, "x", 1), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0), XI_SASL_CHALLENGE);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xi_sasl_abort(s), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_ABORTED);
    CHECK_EQ_INT(xi_sasl_abort(s), XMPPCORE_E_STATE);
    xi_sasl_free(s);
}

static void test_scram_plus(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    const char *mechs[] = {"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS"};
    for (int i = 0; i < 2; i++) {
        xi_sasl_config c = make_cfg(0, true);
        /* tls-server-end-point */
        xi_sasl *s = xi_sasl_new(&c);
        scram_client cl = client_default(mechs[i], &cr);
        cl.gs2 = "p=tls-server-end-point,,";
        cl.cb = CB_EP;
        cl.cb_len = sizeof CB_EP;
        cl.b64 = i == 1;
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
        xi_sasl_free(s);
        /* tls-unique */
        s = xi_sasl_new(&c);
        cl.gs2 = "p=tls-unique,,";
        cl.cb = CB_UNIQUE;
        cl.cb_len = sizeof CB_UNIQUE;
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
        xi_sasl_free(s);
        /* with an authzid in the gs2 header */
        s = xi_sasl_new(&c);
        cl.gs2 = "p=tls-unique,a=juliet@example.com,";
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
        CHECK_STR(xi_sasl_authzid(s), "juliet@example.com");
        xi_sasl_free(s);
        /* c= carries other binding data (a MITM's certificate) */
        s = xi_sasl_new(&c);
        unsigned char other[32];
        memcpy(other, CB_EP, 32);
        other[31] ^= 1;
        cl.gs2 = "p=tls-server-end-point,,";
        cl.cb = other;
        cl.cb_len = sizeof other;
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
        CHECK_STR(xi_sasl_failure_text(s), "channel-bindings-dont-match");
        xi_sasl_free(s);
        /* c= without the binding data */
        s = xi_sasl_new(&c);
        cl.cb_len = 0;
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
        CHECK_STR(xi_sasl_failure_text(s), "channel-bindings-dont-match");
        xi_sasl_free(s);
        /* binding type the server does not have */
        s = xi_sasl_new(&c);
        cl.gs2 = "p=tls-exporter,,";
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
        CHECK_STR(xi_sasl_failure_text(s), "unsupported-channel-binding-type");
        xi_sasl_free(s);
        /* -PLUS with "n" or "y" contradicts itself */
        s = xi_sasl_new(&c);
        cl = client_default(mechs[i], &cr);
        CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
        xi_sasl_free(s);
    }
    /* Only tls-server-end-point available: tls-unique is refused. */
    xi_sasl_config c = make_cfg(0, false);
    c.cb_tls_server_end_point = CB_EP;
    c.cb_tls_server_end_point_len = sizeof CB_EP;
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256-PLUS", &cr);
    cl.gs2 = "p=tls-unique,,";
    cl.cb = CB_UNIQUE;
    cl.cb_len = sizeof CB_UNIQUE;
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_STR(xi_sasl_failure_text(s), "unsupported-channel-binding-type");
    xi_sasl_free(s);
}

static void test_scram_cb_flags(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    /* "p=" with a mechanism that is not -PLUS */
    xi_sasl_config c = make_cfg(0, true);
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", &cr);
    cl.gs2 = "p=tls-server-end-point,,";
    cl.cb = CB_EP;
    cl.cb_len = sizeof CB_EP;
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
    xi_sasl_free(s);
    /* "y" while we offer -PLUS: a downgrade */
    s = xi_sasl_new(&c);
    cl = client_default("SCRAM-SHA-1", &cr);
    cl.gs2 = "y,,";
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    CHECK_STR(xi_sasl_failure_text(s), "server-does-support-channel-binding");
    xi_sasl_free(s);
    /* "y" when we offer no -PLUS is fine; so is "n" when we do */
    c = make_cfg(0, false);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
    xi_sasl_free(s);
    c = make_cfg(0, true);
    s = xi_sasl_new(&c);
    cl.gs2 = "n,,";
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
    xi_sasl_free(s);
}

static void test_scram_wrong_password(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(0, false);
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", &cr);
    cl.password = "pencil2";
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    CHECK_STR(xi_sasl_failure_text(s), "invalid-proof");
    CHECK(xi_sasl_username(s) == NULL);
    CHECK(xi_sasl_output(s, NULL) == NULL);
    xi_sasl_free(s);
}

/* Returns the server-first message for user under config c (lookup
 * NOTFOUND), in buf. */
static void unknown_first(xi_sasl_config *c, const char *mech,
                          const char *user, char *buf, size_t bufsz)
{
    char msg[128];
    size_t n;
    xi_sasl *s = xi_sasl_new(c);
    CHECK_EQ_INT(xi_sasl_set_server_nonce(s, "SRV"), 0);
    snprintf(msg, sizeof msg, "n,,n=%s,r=abc", user);
    CHECK_EQ_INT(xi_sasl_start(s, mech, msg, strlen(msg), true),
                 XI_SASL_NEED_CREDENTIALS);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, XMPPCORE_E_NOTFOUND, NULL, 0),
                 XI_SASL_CHALLENGE);
    const unsigned char *o = xi_sasl_output(s, &n);
    CHECK(o && n < bufsz);
    snprintf(buf, bufsz, "%.*s", (int)n, o ? (const char *)o : "");
    xi_sasl_free(s);
}

static void test_scram_unknown_user(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    char a[256], b[256], d[256], e[256];
    xi_sasl_config c = make_cfg(0, false);
    /* The full exchange fails like a wrong password does. */
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", NULL);
    cl.lookup = XMPPCORE_E_NOTFOUND;
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    CHECK_STR(xi_sasl_failure_text(s), "invalid-proof");
    xi_sasl_free(s);
    /* The fake salt is stable per user, differs between users and between
     * servers, and has a real salt's shape and the real iteration count. */
    unknown_first(&c, "SCRAM-SHA-256", "romeo", a, sizeof a);
    unknown_first(&c, "SCRAM-SHA-256", "romeo", b, sizeof b);
    CHECK_STR(a, b);
    unknown_first(&c, "SCRAM-SHA-256", "mercutio", d, sizeof d);
    CHECK(strcmp(a, d) != 0);
    CHECK(strncmp(a, "r=abcSRV,s=", 11) == 0);
    CHECK_EQ_INT(strlen(a), strlen("r=abcSRV,s=") + 24 + strlen(",i=4096"));
    CHECK(strstr(a, ",i=4096") != NULL);
    unsigned char secret2[32];
    memcpy(secret2, SECRET, 32);
    secret2[0] ^= 1;
    xi_sasl_config c2 = make_cfg(0, false);
    c2.secret = secret2;
    c2.fake_iterations = 10000;
    unknown_first(&c2, "SCRAM-SHA-256", "romeo", e, sizeof e);
    CHECK(strcmp(a, e) != 0);
    CHECK(strstr(e, ",i=10000") != NULL);
    /* An account without keys for this hash is treated the same way. */
    xmppcore_credentials only256 = cr;
    memset(&only256.sha1, 0, sizeof only256.sha1);
    s = xi_sasl_new(&c);
    cl = client_default("SCRAM-SHA-1", &only256);
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_STR(xi_sasl_failure_text(s), "invalid-proof");
    xi_sasl_free(s);
    /* Storage failure: temporary-auth-failure. */
    s = xi_sasl_new(&c);
    cl = client_default("SCRAM-SHA-1", &cr);
    cl.lookup = XMPPCORE_E_IO;
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_TEMPORARY_AUTH_FAILURE);
    CHECK_EQ_INT(xi_sasl_error(s), XMPPCORE_E_IO);
    xi_sasl_free(s);
}

static void test_scram_usernames(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(0, false);
    struct {
        const char *sent;
        const char *prepared;
    } ok[] = {{"Juliet", "juliet"}, {"a=2Cb", "a,b"}, {"a=3Db", "a=b"}};
    for (size_t i = 0; i < XI_ARRAY_LEN(ok); i++) {
        xi_sasl *s = xi_sasl_new(&c);
        char msg[128];
        snprintf(msg, sizeof msg, "n,,n=%s,r=x", ok[i].sent);
        CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-1", msg, strlen(msg), true),
                     XI_SASL_NEED_CREDENTIALS);
        CHECK_STR(xi_sasl_username(s), ok[i].prepared);
        xi_sasl_free(s);
    }
    /* Mixed case logs into the lower-case account. */
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", &cr);
    cl.user = "JuLiEt";
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
    CHECK_STR(xi_sasl_username(s), "juliet");
    xi_sasl_free(s);
    /* Names that can be no account's. */
    /* (U+2126 OHM SIGN is disallowed in usernames: HasCompat.) */
    const char *bad[] = {"a@b", "a/b", "a b", "\xe2\x84\xa6", "a:b"};
    for (size_t i = 0; i < XI_ARRAY_LEN(bad); i++) {
        char msg[128];
        s = xi_sasl_new(&c);
        snprintf(msg, sizeof msg, "n,,n=%s,r=x", bad[i]);
        CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-1", msg, strlen(msg), true),
                     XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
        xi_sasl_free(s);
    }
}

static void test_scram_malformed_first(void)
{
    static const char *bad[] = {
        "",
        "n",
        "n,",
        "x,,n=user,r=abc",
        "n,,",
        "n,,n=user",
        "n,,r=abc,n=user",
        "n,,n=,r=abc",
        "n,,n=user,r=",
        "n,,n=user,r=a\x7f",
        "n,,n=us=er,r=abc",
        "n,,n=us=2,r=abc",
        "n,,n=user,r=abc,",
        "n,,n=user,r=abc,1=x",
        "n,,n=user,r=abc,x=",
        "n,,n=user,r=abc,xyz",
        "n,a=,n=user,r=abc",
        "n,a=x=,n=user,r=abc",
        "n,b=x,n=user,r=abc",
        "n,a=x",
        "n,,,n=user,r=abc",
        "p=,,n=user,r=abc",
        "p,,n=user,r=abc",
        "p=tls unique,,n=user,r=abc",
        "y,n=user,r=abc",
        "nn,,n=user,r=abc",
        "n,,n=user,r=abc\0",
        "n,,m=,n=user,r=abc",
        "n,,n=user,r=abc,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,"
        "l=12,n=13,o=14,p=15,q=16,r=17,s=18,t=19,u=20,v=21,w=22,x=23,y=24,"
        "z=25,A=26,B=27,C=28,D=29,E=30,F=31",
    };
    xi_sasl_config c = make_cfg(0, false);
    for (size_t i = 0; i < XI_ARRAY_LEN(bad); i++) {
        xi_sasl *s = xi_sasl_new(&c);
        size_t len = strlen(bad[i]);
        if (strcmp(bad[i], "n,,n=user,r=abc") == 0)
            len++; /* the entry with an embedded NUL */
        int r = xi_sasl_start(s, "SCRAM-SHA-1", bad[i], len, true);
        CHECK_EQ_INT(r, XI_SASL_FAILURE);
        if (xi_sasl_condition(s) != XI_SASL_COND_MALFORMED_REQUEST)
            fprintf(stderr, "  case %zu: \"%s\"\n", i, bad[i]);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
        xi_sasl_free(s);
    }
    /* Extensions: "m=" (mandatory) is refused, others ignored. */
    xi_sasl *s = xi_sasl_new(&c);
    const char *m = "n,,m=foo,n=user,r=abc";
    CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-1", m, strlen(m), true),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    CHECK_STR(xi_sasl_failure_text(s), "extensions-not-supported");
    xi_sasl_free(s);
    s = xi_sasl_new(&c);
    m = "n,,n=user,r=abc,x=ignored,t=42";
    CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-1", m, strlen(m), true),
                 XI_SASL_NEED_CREDENTIALS);
    xi_sasl_free(s);
}

static void test_scram_malformed_final(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(0, false);
    const char *P = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    char cases[16][256];
    int nc = 0;
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV");
    snprintf(cases[nc++], 256, "r=abcSRV,c=biws,p=%s", P);
    snprintf(cases[nc++], 256, "c=biws,p=%s", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,p=%s,x=1", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,p=AAAA");
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,p=%sAAAA", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,p=!%s", P + 1);
    snprintf(cases[nc++], 256, "c=biw,r=abcSRV,p=%s", P);
    snprintf(cases[nc++], 256, "c=bi s,r=abcSRV,p=%s", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,,p=%s", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,9=x,p=%s", P);
    snprintf(cases[nc++], 256, "c=biws,r=abcSRV,p=");
    snprintf(cases[nc++], 256, "%s", "");
    for (int i = 0; i < nc; i++) {
        xi_sasl *s = xi_sasl_new(&c);
        xi_sasl_set_server_nonce(s, "SRV");
        CHECK_EQ_INT(xi_sasl_start(s, "SCRAM-SHA-256", "n,,n=juliet,r=abc", 17,
                                   true),
                     XI_SASL_NEED_CREDENTIALS);
        CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0),
                     XI_SASL_CHALLENGE);
        CHECK_EQ_INT(xi_sasl_step(s, cases[i], strlen(cases[i])),
                     XI_SASL_FAILURE);
        if (xi_sasl_condition(s) != XI_SASL_COND_MALFORMED_REQUEST)
            fprintf(stderr, "  case %d: \"%s\"\n", i, cases[i]);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
        xi_sasl_free(s);
    }
    /* Well-formed but wrong: the nonce, an "m" extension. */
    const char *wrong[] = {"c=biws,r=abcSRX,p=%s", "c=biws,r=abc,p=%s",
                           "c=biws,r=abcSRV,m=x,p=%s"};
    for (size_t i = 0; i < XI_ARRAY_LEN(wrong); i++) {
        char msg[256];
        snprintf(msg, sizeof msg, wrong[i], P);
        xi_sasl *s = xi_sasl_new(&c);
        xi_sasl_set_server_nonce(s, "SRV");
        xi_sasl_start(s, "SCRAM-SHA-256", "n,,n=juliet,r=abc", 17, true);
        xi_sasl_provide_credentials(s, 0, &cr, 0);
        CHECK_EQ_INT(xi_sasl_step(s, msg, strlen(msg)), XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
        xi_sasl_free(s);
    }
    /* A different nonce in r= with a correct proof for it still fails. */
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-256", &cr);
    cl.nonce_override = "fyko+d2lbbFgONRv9qkxdawLforged";
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    xi_sasl_free(s);
}

static void test_bad_base64(void)
{
    xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN, false);
    const char *bad[] = {"bi", "biws=", "b!ws", "bi ws", "Zh==", "=="};
    for (size_t i = 0; i < XI_ARRAY_LEN(bad); i++) {
        xi_sasl *s = xi_sasl_new(&c);
        CHECK_EQ_INT(xi_sasl_start_b64(s, "PLAIN", bad[i], strlen(bad[i])),
                     XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_INCORRECT_ENCODING);
        xi_sasl_free(s);
        s = xi_sasl_new(&c);
        CHECK_EQ_INT(xi_sasl_start_b64(s, "SCRAM-SHA-1", NULL, 0),
                     XI_SASL_CHALLENGE);
        CHECK_EQ_INT(xi_sasl_step_b64(s, bad[i], strlen(bad[i])),
                     XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_INCORRECT_ENCODING);
        xi_sasl_free(s);
    }
    /* "=" is an empty response: valid base64, malformed SCRAM. */
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "SCRAM-SHA-1", "=", 1), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
    xi_sasl_free(s);
}

static int plain_login(xi_sasl *s, const char *msg, size_t len, int lookup,
                       const xmppcore_credentials *cr, unsigned flags)
{
    char *t = b64(msg, len);
    int r = xi_sasl_start_b64(s, "PLAIN", t, strlen(t));
    if (r != XI_SASL_NEED_CREDENTIALS)
        return r;
    return xi_sasl_provide_credentials(s, lookup, cr, flags);
}

#define PLAIN_MSG(lit) lit, sizeof(lit) - 1

static void test_plain(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN, false);
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0Juliet\0pencil"), 0, &cr, 0),
                 XI_SASL_SUCCESS);
    CHECK_STR(xi_sasl_username(s), "juliet");
    CHECK(xi_sasl_output(s, NULL) == NULL);
    CHECK(xi_sasl_output_b64(s, NULL) == NULL);
    CHECK_EQ_INT(xi_sasl_pbkdf2_runs(s), 1);
    xi_sasl_free(s);
    /* wrong password */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil!"), 0, &cr, 0),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    xi_sasl_free(s);
    /* unknown user: same answer, same work (one PBKDF2) */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0romeo\0pencil"),
                             XMPPCORE_E_NOTFOUND, NULL, 0),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    CHECK_EQ_INT(xi_sasl_pbkdf2_runs(s), 1);
    xi_sasl_free(s);
    /* only SHA-1 keys stored */
    xmppcore_credentials only1 = cr;
    memset(&only1.sha256, 0, sizeof only1.sha256);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil"), 0, &only1, 0),
                 XI_SASL_SUCCESS);
    xi_sasl_free(s);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil2"), 0, &only1, 0),
                 XI_SASL_FAILURE);
    xi_sasl_free(s);
    /* account flags only show after the right password */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil"), 0, &cr,
                             XI_SASL_CRED_DISABLED),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_ACCOUNT_DISABLED);
    xi_sasl_free(s);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0wrong"), 0, &cr,
                             XI_SASL_CRED_DISABLED),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    xi_sasl_free(s);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil"), 0, &cr,
                             XI_SASL_CRED_EXPIRED),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_CREDENTIALS_EXPIRED);
    xi_sasl_free(s);
    /* malformed */
    struct {
        const char *m;
        size_t n;
        int cond;
    } bad[] = {
        {PLAIN_MSG("juliet"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\0juliet"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\0juliet\0"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\0\0pencil"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\0juliet\0pen\0cil"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\xff\0juliet\0pencil"), XI_SASL_COND_MALFORMED_REQUEST},
        {PLAIN_MSG("\0jul@iet\0pencil"), XI_SASL_COND_NOT_AUTHORIZED},
        {PLAIN_MSG("\0juliet\0p\x01ncil"), XI_SASL_COND_NOT_AUTHORIZED},
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(bad); i++) {
        s = xi_sasl_new(&c);
        CHECK_EQ_INT(plain_login(s, bad[i].m, bad[i].n, 0, &cr, 0),
                     XI_SASL_FAILURE);
        CHECK_EQ_INT(xi_sasl_condition(s), bad[i].cond);
        xi_sasl_free(s);
    }
    /* empty initial response ("=") */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "PLAIN", "=", 1), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
    xi_sasl_free(s);
    /* no initial response: empty challenge, then the message */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "PLAIN", NULL, 0), XI_SASL_CHALLENGE);
    CHECK_EQ_INT(xi_sasl_step(s, "\0juliet\0pencil", 14),
                 XI_SASL_NEED_CREDENTIALS);
    CHECK_EQ_INT(xi_sasl_provide_credentials(s, 0, &cr, 0), XI_SASL_SUCCESS);
    xi_sasl_free(s);
    /* PLAIN in the clear when policy allows it */
    c = make_cfg(XI_SASL_F_PLAIN | XI_SASL_F_PLAIN_INSECURE, false);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("\0juliet\0pencil"), 0, &cr, 0),
                 XI_SASL_SUCCESS);
    xi_sasl_free(s);
}

static void test_plain_cache(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    unsigned long hits, misses;
    xi_sasl_cache *cache = xi_sasl_cache_new(NULL, 2, rng_fn, &g_rng);
    CHECK(cache != NULL);
    xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN, false);
    c.cache = cache;
    xmppcore_credentials changed = creds_for("pen");
    xi_sasl *s;
#define LOGIN(msg, creds, res, runs)                                         \
    do {                                                                     \
        s = xi_sasl_new(&c);                                                 \
        CHECK_EQ_INT(plain_login(s, PLAIN_MSG(msg), 0, creds, 0), res);      \
        CHECK_EQ_INT(xi_sasl_pbkdf2_runs(s), runs);                          \
        xi_sasl_free(s);                                                     \
    } while (0)
    LOGIN("\0juliet\0pencil", &cr, XI_SASL_SUCCESS, 1);
    LOGIN("\0juliet\0pencil", &cr, XI_SASL_SUCCESS, 0); /* hit */
    LOGIN("\0Juliet\0pencil", &cr, XI_SASL_SUCCESS, 0); /* same user */
    LOGIN("\0juliet\0pencil2", &cr, XI_SASL_FAILURE, 1); /* no hit */
    LOGIN("\0juliet\0pencil2", &cr, XI_SASL_FAILURE, 1); /* failures not kept */
    /* password changed: the old entry no longer matches */
    LOGIN("\0juliet\0pencil", &changed, XI_SASL_FAILURE, 1);
    LOGIN("\0juliet\0pen", &changed, XI_SASL_SUCCESS, 1);
    LOGIN("\0juliet\0pen", &changed, XI_SASL_SUCCESS, 0);
    xi_sasl_cache_stats(cache, &hits, &misses);
    CHECK_EQ_INT(hits, 3);
    CHECK_EQ_INT(misses, 5);
    /* capacity 2: a third entry evicts the oldest */
    LOGIN("\0romeo\0pencil", &cr, XI_SASL_SUCCESS, 1);
    LOGIN("\0juliet\0pencil", &cr, XI_SASL_SUCCESS, 1);
    LOGIN("\0romeo\0pencil", &cr, XI_SASL_SUCCESS, 0);
    /* the same user on another vhost is another entry */
    c.domain = "example.org";
    LOGIN("\0romeo\0pencil", &cr, XI_SASL_SUCCESS, 1);
    c.domain = "example.com";
    xi_sasl_cache_clear(cache);
    LOGIN("\0romeo\0pencil", &cr, XI_SASL_SUCCESS, 1);
#undef LOGIN
    xi_sasl_cache_free(cache);
    xi_sasl_cache_free(NULL);
    /* a large cache: many users, each found again (one set per lookup) */
    cache = xi_sasl_cache_new(NULL, 1024, rng_fn, &g_rng);
    CHECK(cache != NULL);
    c.cache = cache;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 64; i++) {
            char msg[64];
            int len = snprintf(msg, sizeof msg, "%cuser%d%cpencil", 0, i, 0);
            s = xi_sasl_new(&c);
            CHECK_EQ_INT(plain_login(s, msg, (size_t)len, 0, &cr, 0),
                         XI_SASL_SUCCESS);
            CHECK_EQ_INT(xi_sasl_pbkdf2_runs(s), round == 0 ? 1 : 0);
            xi_sasl_free(s);
        }
    }
    xi_sasl_cache_stats(cache, &hits, &misses);
    CHECK_EQ_INT(hits, 64);
    CHECK_EQ_INT(misses, 64);
    xi_sasl_cache_free(cache);
    /* Two choices per entry: filled to 85%, nothing is evicted; then a
     * flood of others replaces old entries, never more than it adds. */
    cache = xi_sasl_cache_new(NULL, 1024, rng_fn, &g_rng);
    CHECK(cache != NULL);
    static const unsigned char sk[32] = {1, 2, 3};
    char u[32];
    for (int i = 0; i < 870; i++) {
        snprintf(u, sizeof u, "u%d", i);
        xi_sasl_cache_insert(cache, "example.com", u, "pw", 2, sk, sizeof sk);
    }
    int found = 0;
    for (int i = 0; i < 870; i++) {
        snprintf(u, sizeof u, "u%d", i);
        found += xi_sasl_cache_lookup(cache, "example.com", u, "pw", 2, sk,
                                      sizeof sk);
    }
    CHECK_EQ_INT(found, 870);
    snprintf(u, sizeof u, "u%d", 0);
    CHECK(!xi_sasl_cache_lookup(cache, "example.com", u, "pw!", 3, sk,
                                sizeof sk));
    for (int i = 0; i < 2000; i++) {
        snprintf(u, sizeof u, "v%d", i);
        xi_sasl_cache_insert(cache, "example.com", u, "pw", 2, sk, sizeof sk);
    }
    found = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(u, sizeof u, "v%d", i);
        found += xi_sasl_cache_lookup(cache, "example.com", u, "pw", 2, sk,
                                      sizeof sk);
    }
    CHECK(found > 900 && found <= 1024); /* the newest survive */
    xi_sasl_cache_free(cache);
    /* a failing RNG: no cache */
    test_rng bad = {1, 1, 0};
    CHECK(xi_sasl_cache_new(NULL, 0, rng_fn, &bad) == NULL);
}

static void test_authzid(void)
{
    xmppcore_credentials cr = creds_for("pencil");
    xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN, false);
    struct {
        const char *m;
        size_t n;
        int result;
    } plain[] = {
        {PLAIN_MSG("juliet@example.com\0juliet\0pencil"), XI_SASL_SUCCESS},
        {PLAIN_MSG("Juliet@EXAMPLE.com\0juliet\0pencil"), XI_SASL_SUCCESS},
        {PLAIN_MSG("romeo@example.com\0juliet\0pencil"), XI_SASL_FAILURE},
        {PLAIN_MSG("juliet@example.org\0juliet\0pencil"), XI_SASL_FAILURE},
        {PLAIN_MSG("juliet@example.com/balcony\0juliet\0pencil"),
         XI_SASL_FAILURE},
        {PLAIN_MSG("juliet\0juliet\0pencil"), XI_SASL_FAILURE},
        {PLAIN_MSG("example.com\0juliet\0pencil"), XI_SASL_FAILURE},
        {PLAIN_MSG("@example.com\0juliet\0pencil"), XI_SASL_FAILURE},
        {PLAIN_MSG("juliet@@example.com\0juliet\0pencil"), XI_SASL_FAILURE},
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(plain); i++) {
        xi_sasl *s = xi_sasl_new(&c);
        CHECK_EQ_INT(plain_login(s, plain[i].m, plain[i].n, 0, &cr, 0),
                     plain[i].result);
        if (plain[i].result == XI_SASL_FAILURE)
            CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_INVALID_AUTHZID);
        xi_sasl_free(s);
    }
    /* Wrong password and a foreign authzid: not-authorized first. */
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(plain_login(s, PLAIN_MSG("romeo@example.com\0juliet\0x"), 0,
                             &cr, 0),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_NOT_AUTHORIZED);
    xi_sasl_free(s);
    /* SCRAM: a= in the gs2 header, with saslname escaping */
    struct {
        const char *gs2;
        int result;
    } sc[] = {
        {"n,a=juliet@example.com,", XI_SASL_SUCCESS},
        {"n,a=romeo@example.com,", XI_SASL_FAILURE},
        {"n,a=juliet=40example.com,", -1}, /* bad escape */
        {"n,a=juliet=2Cx@example.com,", XI_SASL_FAILURE},
    };
    for (size_t i = 0; i < XI_ARRAY_LEN(sc); i++) {
        s = xi_sasl_new(&c);
        scram_client cl = client_default("SCRAM-SHA-256", &cr);
        cl.gs2 = sc[i].gs2;
        int r = scram_run(s, &cl);
        CHECK_EQ_INT(r, sc[i].result == -1 ? XI_SASL_FAILURE : sc[i].result);
        if (sc[i].result == XI_SASL_FAILURE)
            CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_INVALID_AUTHZID);
        if (sc[i].result == -1)
            CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
        xi_sasl_free(s);
    }
}

static void test_anonymous(void)
{
    xi_sasl_config c = make_cfg(XI_SASL_F_ANONYMOUS, false);
    g_rng.seed = 42;
    xi_sasl *s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "ANONYMOUS", "dHJhY2U=", 8),
                 XI_SASL_SUCCESS);
    CHECK(xi_sasl_is_anonymous(s));
    const char *u = xi_sasl_username(s);
    CHECK(u && strlen(u) == 32 && strspn(u, "0123456789abcdef") == 32);
    char first[33];
    snprintf(first, sizeof first, "%s", u ? u : "");
    xi_sasl_free(s);
    /* Each exchange gets another name; the same RNG state, the same one. */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start(s, "ANONYMOUS", NULL, 0, true), XI_SASL_SUCCESS);
    CHECK(xi_sasl_username(s) && strcmp(xi_sasl_username(s), first) != 0);
    xi_sasl_free(s);
    g_rng.seed = 42;
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start(s, "ANONYMOUS", "x", 1, true), XI_SASL_SUCCESS);
    CHECK_STR(xi_sasl_username(s), first);
    xi_sasl_free(s);
    /* no initial response */
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start_b64(s, "ANONYMOUS", NULL, 0), XI_SASL_CHALLENGE);
    CHECK_EQ_INT(xi_sasl_step_b64(s, "=", 1), XI_SASL_SUCCESS);
    xi_sasl_free(s);
    /* trace data is bounded */
    char big[2000];
    memset(big, 'a', sizeof big);
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start(s, "ANONYMOUS", big, sizeof big, true),
                 XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_MALFORMED_REQUEST);
    xi_sasl_free(s);
    /* a failing RNG */
    test_rng bad = {1, 1, 0};
    c.rng_user_data = &bad;
    s = xi_sasl_new(&c);
    CHECK_EQ_INT(xi_sasl_start(s, "ANONYMOUS", "", 0, true), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_TEMPORARY_AUTH_FAILURE);
    CHECK(!xi_sasl_is_anonymous(s));
    xi_sasl_free(s);
    /* ... and for SCRAM's server nonce */
    c = make_cfg(0, false);
    c.rng_user_data = &bad;
    s = xi_sasl_new(&c);
    xmppcore_credentials cr = creds_for("pencil");
    scram_client cl = client_default("SCRAM-SHA-1", &cr);
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_FAILURE);
    CHECK_EQ_INT(xi_sasl_condition(s), XI_SASL_COND_TEMPORARY_AUTH_FAILURE);
    xi_sasl_free(s);
}

static void test_prep(void)
{
    char out[64];
    CHECK_EQ_INT(xi_sasl_prep_username("Juliet", 6, out, sizeof out), 6);
    CHECK_STR(out, "juliet");
    CHECK_EQ_INT(xi_sasl_prep_username("", 0, out, sizeof out), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_sasl_prep_username("a b", 3, out, sizeof out),
                 XMPPCORE_E_INVAL);
    /* PRECIS UsernameCaseMapped: É -> é; fullwidth Ａ -> a (width mapping) */
    CHECK_EQ_INT(xi_sasl_prep_username("\xc3\x89", 2, out, sizeof out), 2);
    CHECK_STR(out, "\xc3\xa9");
    CHECK_EQ_INT(xi_sasl_prep_username("\xef\xbc\xa1", 3, out, sizeof out), 1);
    CHECK_STR(out, "a");
    CHECK_EQ_INT(xi_sasl_prep_username("\xe2\x84\xa6", 3, out, sizeof out),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_sasl_prep_username("abcdef", 6, out, 4), XMPPCORE_E_RANGE);
    CHECK_EQ_INT(xi_sasl_prep_password("Pen cil", 7, out, sizeof out), 7);
    CHECK_STR(out, "Pen cil");
    CHECK_EQ_INT(xi_sasl_prep_password("", 0, out, sizeof out),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xi_sasl_prep_password("a\tb", 3, out, sizeof out),
                 XMPPCORE_E_INVAL);
    /* OpaqueString: non-ASCII kept (NFC), non-ASCII spaces become U+0020 */
    CHECK_EQ_INT(xi_sasl_prep_password("\xe2\x82\xac", 3, out, sizeof out), 3);
    CHECK_STR(out, "\xe2\x82\xac");
    CHECK_EQ_INT(xi_sasl_prep_password("a\xc2\xa0" "b", 4, out, sizeof out), 3);
    CHECK_STR(out, "a b");
    CHECK_EQ_INT(xi_sasl_prep_password("e\xcc\x81", 3, out, sizeof out), 2);
    CHECK_STR(out, "\xc3\xa9");
}

static void test_credentials(void)
{
    xmppcore_credentials cr, again;
    test_rng r = {5, 0, 0};
    CHECK_EQ_INT(xmppcore_credentials_derive("pencil", 6, 0, rng_fn, &r, &cr),
                 0);
    CHECK_EQ_INT(cr.sha1.iterations, 4096);
    CHECK_EQ_INT(cr.sha256.iterations, 4096);
    CHECK_EQ_INT(cr.sha1.salt_len, 16);
    CHECK_EQ_INT(cr.sha256.salt_len, 16);
    CHECK(memcmp(cr.sha1.salt, cr.sha256.salt, 16) != 0);
    /* Salts come from the RNG, in order: SHA-1 then SHA-256. */
    unsigned char salt[16];
    test_rng r2 = {5, 0, 0};
    rng_fn(salt, 16, &r2);
    CHECK(memcmp(salt, cr.sha1.salt, 16) == 0);
    rng_fn(salt, 16, &r2);
    CHECK(memcmp(salt, cr.sha256.salt, 16) == 0);
    /* Keys match an independent derivation (the client in this file). */
    {
        char am[] = "x";
        unsigned char proof[32], ssig[32], ssig2[32];
        client_compute(true, "pencil", cr.sha256.salt, 16, 4096, am, proof,
                       ssig);
        mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                        cr.sha256.server_key, 32, (const unsigned char *)am, 1,
                        ssig2);
        CHECK(memcmp(ssig, ssig2, 32) == 0);
    }
    CHECK_EQ_INT(xmppcore_credentials_check_password(&cr, "pencil", 6), 0);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&cr, "pencil", 5),
                 XMPPCORE_E_AUTH);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&cr, "Pencil", 6),
                 XMPPCORE_E_AUTH);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&cr, "", 0),
                 XMPPCORE_E_AUTH);
    CHECK_EQ_INT(xmppcore_credentials_check_password(NULL, "x", 1),
                 XMPPCORE_E_INVAL);
    /* SHA-1 keys alone are enough; no keys at all never match. */
    again = cr;
    memset(&again.sha256, 0, sizeof again.sha256);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&again, "pencil", 6), 0);
    again.sha1.stored_key[0] ^= 1;
    CHECK_EQ_INT(xmppcore_credentials_check_password(&again, "pencil", 6),
                 XMPPCORE_E_AUTH);
    memset(&again, 0, sizeof again);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&again, "pencil", 6),
                 XMPPCORE_E_AUTH);
    /* Fresh salts every time (default RNG). */
    CHECK_EQ_INT(xmppcore_credentials_derive("pencil", 6, 4096, NULL, NULL,
                                             &again),
                 0);
    CHECK(memcmp(again.sha256.salt, cr.sha256.salt, 16) != 0);
    CHECK(memcmp(again.sha256.stored_key, cr.sha256.stored_key, 32) != 0);
    /* Derived credentials work for SCRAM logins. */
    xi_sasl_config c = make_cfg(0, false);
    xi_sasl *s = xi_sasl_new(&c);
    scram_client cl = client_default("SCRAM-SHA-1", &again);
    CHECK_EQ_INT(scram_run(s, &cl), XI_SASL_SUCCESS);
    xi_sasl_free(s);
    /* Errors; out is zeroed on failure. */
    CHECK_EQ_INT(xmppcore_credentials_derive("pencil", 6, 100, NULL, NULL, &cr),
                 XMPPCORE_E_RANGE);
    CHECK_EQ_INT(cr.sha1.iterations, 0);
    CHECK_EQ_INT(xmppcore_credentials_derive("pencil", 6, 20000000u, NULL, NULL,
                                             &cr),
                 XMPPCORE_E_RANGE);
    CHECK_EQ_INT(xmppcore_credentials_derive("", 0, 0, NULL, NULL, &cr),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_credentials_derive("p\x01", 2, 0, NULL, NULL, &cr),
                 XMPPCORE_E_INVAL);
    /* Composed and decomposed forms of a password are the same password. */
    CHECK_EQ_INT(xmppcore_credentials_derive("p\xc3\xa9", 3, 0, NULL, NULL, &cr), 0);
    CHECK_EQ_INT(xmppcore_credentials_check_password(&cr, "pe\xcc\x81", 4), 0);
    CHECK_EQ_INT(xmppcore_credentials_derive(NULL, 0, 0, NULL, NULL, &cr),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_credentials_derive("x", 1, 0, NULL, NULL, NULL),
                 XMPPCORE_E_INVAL);
    test_rng bad = {1, 1, 0};
    CHECK_EQ_INT(xmppcore_credentials_derive("pencil", 6, 0, rng_fn, &bad, &cr),
                 XMPPCORE_E_INTERNAL);
    CHECK_EQ_INT(cr.sha1.iterations, 0);
}

/* Every allocation of a whole exchange fails in turn; nothing leaks and
 * each attempt ends in success or temporary-auth-failure. */
static void oom_exchange(int kind)
{
    xmppcore_credentials cr = creds_for("pencil");
    tl_failmem fm;
    bool completed = false;
    for (long n = 1; n < 200 && !completed; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        xi_sasl_config c = make_cfg(XI_SASL_F_SECURE | XI_SASL_F_PLAIN |
                                        XI_SASL_F_ANONYMOUS,
                                    true);
        c.mem = &m;
        xi_sasl_cache *cache = NULL;
        if (kind == 1) {
            cache = xi_sasl_cache_new(&m, 4, rng_fn, &g_rng);
            if (!cache) {
                CHECK(fm.failed);
                CHECK_EQ_INT(fm.live, 0);
                continue;
            }
            c.cache = cache;
        }
        xi_sasl *s = xi_sasl_new(&c);
        int r;
        if (!s) {
            CHECK(fm.failed);
            xi_sasl_cache_free(cache);
            CHECK_EQ_INT(fm.live, 0);
            continue;
        }
        if (kind == 0) {
            scram_client cl = client_default("SCRAM-SHA-256-PLUS", &cr);
            cl.gs2 = "p=tls-server-end-point,a=juliet@example.com,";
            cl.cb = CB_EP;
            cl.cb_len = sizeof CB_EP;
            cl.b64 = true;
            r = scram_run(s, &cl);
        } else if (kind == 1) {
            r = plain_login(s, PLAIN_MSG("juliet@example.com\0juliet\0pencil"),
                            0, &cr, 0);
        } else {
            r = xi_sasl_start_b64(s, "ANONYMOUS", "dHJhY2U=", 8);
        }
        int err = 0;
        bool b64_failed = false;
        if (r == XI_SASL_SUCCESS && kind == 0 &&
            !xi_sasl_output_b64(s, &err)) {
            CHECK_EQ_INT(err, XMPPCORE_E_NOMEM);
            b64_failed = true;
        }
        if (r == XI_SASL_SUCCESS) {
            /* Success despite a failed allocation only if it was the
             * encoding of the output, reported as such. */
            CHECK(!fm.failed || b64_failed);
            completed = !fm.failed;
        } else {
            CHECK_EQ_INT(r, XI_SASL_FAILURE);
            CHECK_EQ_INT(xi_sasl_condition(s),
                         XI_SASL_COND_TEMPORARY_AUTH_FAILURE);
            CHECK_EQ_INT(xi_sasl_error(s), XMPPCORE_E_NOMEM);
        }
        xi_sasl_free(s);
        xi_sasl_cache_free(cache);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(completed);
}

static void test_oom(void)
{
    oom_exchange(0);
    oom_exchange(1);
    oom_exchange(2);
}

/* The SHA-extension block functions against mbedTLS on random states and
 * blocks (skipped, and said so, on CPUs without them). */
static void test_sha_ni(void)
{
    if (!xi_sha_ni_available()) {
        printf("test_sha_ni: CPU without SHA extensions, not run\n");
        return;
    }
    for (int i = 0; i < 200; i++) {
        unsigned char block[64];
        uint32_t st[8];
        randombytes_buf(block, sizeof block);
        randombytes_buf(st, sizeof st);
        mbedtls_sha256_context c2;
        mbedtls_sha256_init(&c2);
        memcpy(c2.state, st, 32);
        mbedtls_internal_sha256_process(&c2, block);
        uint32_t mine[8];
        memcpy(mine, st, 32);
        xi_sha256_ni_block(mine, block);
        CHECK(memcmp(mine, c2.state, 32) == 0);
        mbedtls_sha1_context c1;
        mbedtls_sha1_init(&c1);
        memcpy(c1.state, st, 20);
        mbedtls_internal_sha1_process(&c1, block);
        memcpy(mine, st, 20);
        xi_sha1_ni_block(mine, block);
        CHECK(memcmp(mine, c1.state, 20) == 0);
    }
}

/* Streaming SHA and HMAC on the SHA extensions against mbedTLS: every
 * key length around the block size, messages fed in uneven pieces. */
static void test_sha_fast(void)
{
    if (!xi_sha_ni_available()) {
        printf("test_sha_fast: CPU without SHA extensions, not run\n");
        return;
    }
    unsigned char key[200], msg[300], a[32], b[32];
    randombytes_buf(key, sizeof key);
    randombytes_buf(msg, sizeof msg);
    for (int hash = XI_SCRAM_SHA1; hash <= XI_SCRAM_SHA256; hash++) {
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(
            hash == XI_SCRAM_SHA1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
        size_t hl = hash == XI_SCRAM_SHA1 ? 20 : 32;
        for (size_t ml = 0; ml <= sizeof msg; ml += ml < 130 ? 1 : 17) {
            xi_sha_ctx c;
            xi_sha_init(&c, hash);
            /* pieces of 1, 2, 3, ... bytes */
            for (size_t off = 0, k = 1; off < ml; off += k, k++)
                xi_sha_update(&c, msg + off, off + k <= ml ? k : ml - off);
            xi_sha_final(&c, a);
            CHECK_EQ_INT(mbedtls_md(md, msg, ml, b), 0);
            CHECK(memcmp(a, b, hl) == 0);
        }
        for (size_t kl = 0; kl <= sizeof key; kl += kl < 70 ? 1 : 13) {
            size_t ml = (kl * 7) % sizeof msg;
            CHECK_EQ_INT(xi_scram_hmac(hash, key, kl, msg, ml, a), 0);
            CHECK_EQ_INT(mbedtls_md_hmac(md, key, kl, msg, ml, b), 0);
            CHECK(memcmp(a, b, hl) == 0);
        }
        CHECK_EQ_INT(xi_scram_digest(hash, msg, 100, a), 0);
        CHECK_EQ_INT(mbedtls_md(md, msg, 100, b), 0);
        CHECK(memcmp(a, b, hl) == 0);
    }
}

/* The two-compressions-per-iteration PBKDF2 against RFC 6070's vectors and
 * against mbedTLS's generic routine for many lengths. */
static void test_pbkdf2(void)
{
    static const struct {
        uint32_t c;
        const char *hex;
    } v[] = {
        {1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
        {2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
        {4096, "4b007901b765489abead49d926f721d065a429c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char out[32];
        char hex[41];
        CHECK_EQ_INT(xi_pbkdf2_block(XI_SCRAM_SHA1, "password", 8,
                                     (const unsigned char *)"salt", 4, v[i].c, out), 0);
        for (int k = 0; k < 20; k++)
            snprintf(hex + 2 * k, 3, "%02x", out[k]);
        CHECK_STR(hex, v[i].hex);
    }
    CHECK_EQ_INT(xi_pbkdf2_block(XI_SCRAM_SHA256, "p", 1,
                                 (const unsigned char *)"s", 1, 0, NULL), XMPPCORE_E_INVAL);
    char pw[200];
    unsigned char salt[100];
    for (int i = 0; i < 200; i++)
        pw[i] = (char)('!' + (i * 7) % 90);
    for (int i = 0; i < 100; i++)
        salt[i] = (unsigned char)(i * 13);
    const size_t plens[] = {0, 1, 20, 55, 63, 64, 65, 128, 200};
    const size_t slens[] = {0, 1, 16, 51, 52, 60, 64, 100};
    for (int h = 0; h < 2; h++) {
        int hash = h ? XI_SCRAM_SHA256 : XI_SCRAM_SHA1;
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(
            h ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA1);
        uint32_t hl = h ? 32 : 20;
        for (size_t a = 0; a < sizeof plens / sizeof plens[0]; a++)
            for (size_t b = 0; b < sizeof slens / sizeof slens[0]; b++) {
                unsigned char mine[32], ref[32];
                uint32_t iter = (uint32_t)(1 + a * 3 + b);
                mbedtls_md_context_t ctx;
                mbedtls_md_init(&ctx);
                mbedtls_md_setup(&ctx, md, 1);
                mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw, plens[a],
                                          salt, slens[b], iter, hl, ref);
                mbedtls_md_free(&ctx);
                CHECK_EQ_INT(xi_pbkdf2_block(hash, pw, plens[a], salt, slens[b],
                                             iter, mine), 0);
                CHECK(memcmp(mine, ref, hl) == 0);
            }
    }
}

TEST_MAIN(TEST_ENTRY(test_sha_ni), TEST_ENTRY(test_sha_fast), TEST_ENTRY(test_pbkdf2), TEST_ENTRY(test_base64), TEST_ENTRY(test_conditions),
          TEST_ENTRY(test_mechanisms), TEST_ENTRY(test_policy_failures),
          TEST_ENTRY(test_scram_sha1_rfc5802),
          TEST_ENTRY(test_scram_sha256_rfc7677),
          TEST_ENTRY(test_scram_random_nonce),
          TEST_ENTRY(test_scram_no_initial_response),
          TEST_ENTRY(test_scram_plus), TEST_ENTRY(test_scram_cb_flags),
          TEST_ENTRY(test_scram_wrong_password),
          TEST_ENTRY(test_scram_unknown_user),
          TEST_ENTRY(test_scram_usernames),
          TEST_ENTRY(test_scram_malformed_first),
          TEST_ENTRY(test_scram_malformed_final), TEST_ENTRY(test_bad_base64),
          TEST_ENTRY(test_plain), TEST_ENTRY(test_plain_cache),
          TEST_ENTRY(test_authzid), TEST_ENTRY(test_anonymous),
          TEST_ENTRY(test_prep), TEST_ENTRY(test_credentials),
          TEST_ENTRY(test_oom))

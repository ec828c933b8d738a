/*
 * SCRAM server side (RFC 5802, RFC 7677): SCRAM-SHA-1 and SCRAM-SHA-256,
 * with channel binding (-PLUS: tls-server-end-point, tls-unique) from the
 * data the TLS layer put in the config. Parses the client messages to the
 * RFC grammar, answers unknown users with fake salts, verifies the proof
 * in constant time and returns the server-final "v=" as success data.
 *
 * Failures: grammar violations give malformed-request; what RFC 5802
 * calls an authentication failure gives not-authorized, with the RFC's
 * server-error-value as the failure text.
 */
#include <sodium.h>
#include <stdio.h>

#include "sasl/sasl_int.h"

/* Server nonce part: 24 random bytes, base64 (32 characters). */
#define SERVER_NONCE_BYTES 24

static int malformed(xi_sasl *s)
{
    return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
}

/* A field of a comma-separated SCRAM message. */
typedef struct {
    const char *p;
    size_t n;
} field;

/* Splits msg at commas into at most max fields; returns how many, or -1
 * if there are more than max. Empty fields are kept (and rejected by the
 * callers' grammar checks). */
static int split(const char *msg, size_t len, field *f, int max)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || msg[i] == ',') {
            if (n == max)
                return -1;
            f[n].p = msg + start;
            f[n].n = i - start;
            n++;
            start = i + 1;
        }
    }
    return n;
}

static bool has_key(const field *f, char k)
{
    return f->n >= 2 && f->p[0] == k && f->p[1] == '=';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* attr-val = ALPHA "=" value; value = 1*value-char (no NUL, no ','). */
static bool is_attr_val(const field *f)
{
    return f->n >= 3 && is_alpha((unsigned char)f->p[0]) && f->p[1] == '=';
}

/* printable = %x21-2B / %x2D-7E */
static bool is_printable(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
            return false;
    return true;
}

/* saslname: "=2C" is ',' and "=3D" is '='; any other '=' is invalid.
 * Writes at most n bytes plus a NUL to out; returns the length, or -1. */
static int saslname_decode(const char *p, size_t n, char *out)
{
    size_t o = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '=') {
            out[o++] = p[i];
        } else if (i + 2 < n && p[i + 1] == '2' && p[i + 2] == 'C') {
            out[o++] = ',';
            i += 2;
        } else if (i + 2 < n && p[i + 1] == '3' && p[i + 2] == 'D') {
            out[o++] = '=';
            i += 2;
        } else {
            return -1;
        }
    }
    out[o] = '\0';
    return (int)o;
}

int xi_scram_client_first(xi_sasl *s, const char *msg, size_t len)
{
    field f[32];
    char flag, *name = NULL;
    const char *cbname = NULL, *bare;
    size_t cbname_len = 0, pos, bare_len;
    int nf, rc;

    s->hash = (s->mech == XI_MECH_SCRAM_SHA1 ||
               s->mech == XI_MECH_SCRAM_SHA1_PLUS)
                  ? XI_SCRAM_SHA1
                  : XI_SCRAM_SHA256;
    s->plus = s->mech == XI_MECH_SCRAM_SHA1_PLUS ||
              s->mech == XI_MECH_SCRAM_SHA256_PLUS;
    if (len < 3 || memchr(msg, '\0', len))
        return malformed(s);

    /* gs2-header = gs2-cbind-flag "," [ authzid ] "," */
    flag = msg[0];
    pos = 1;
    if (flag == 'p') {
        if (msg[1] != '=')
            return malformed(s);
        pos = 2;
        cbname = msg + pos;
        while (pos < len && msg[pos] != ',') {
            unsigned char c = (unsigned char)msg[pos];
            if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '.' &&
                c != '-')
                return malformed(s);
            pos++;
        }
        cbname_len = (size_t)(msg + pos - cbname);
        if (cbname_len == 0)
            return malformed(s);
    } else if (flag != 'n' && flag != 'y') {
        return malformed(s);
    }
    if (pos >= len || msg[pos] != ',')
        return malformed(s);
    pos++;
    if (pos + 1 < len && msg[pos] == 'a' && msg[pos + 1] == '=') {
        const char *a = msg + pos + 2, *end;
        end = memchr(a, ',', len - pos - 2);
        if (!end)
            return malformed(s);
        name = xi_malloc(s->mem, (size_t)(end - a) + 1);
        if (!name)
            return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
        rc = saslname_decode(a, (size_t)(end - a), name);
        if (rc < 0 || !xi_utf8_xml_valid(name, (size_t)rc)) {
            xi_free(s->mem, name);
            return malformed(s);
        }
        s->authzid = name;
        pos = (size_t)(end - msg);
    }
    if (pos >= len || msg[pos] != ',')
        return malformed(s);
    pos++;
    s->gs2_len = pos;
    bare = msg + pos;
    bare_len = len - pos;

    /* client-first-message-bare = [reserved-mext ","] username ","
     *                             nonce ["," extensions] */
    nf = split(bare, bare_len, f, (int)XI_ARRAY_LEN(f));
    if (nf < 0)
        return malformed(s);
    if (nf >= 1 && has_key(&f[0], 'm') && f[0].n > 2)
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                            "extensions-not-supported");
    if (nf < 2 || !has_key(&f[0], 'n') || !has_key(&f[1], 'r') ||
        !is_printable(f[1].p + 2, f[1].n - 2))
        return malformed(s);
    for (int i = 2; i < nf; i++) {
        if (!is_attr_val(&f[i]))
            return malformed(s);
        if (f[i].p[0] == 'm')
            return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                                "extensions-not-supported");
    }

    /* Channel binding (RFC 5802 §6, RFC 5801 §5): a -PLUS mechanism
     * requires "p", and "p" requires a -PLUS mechanism. "y" means the
     * client supports binding but saw no -PLUS offered: if we offered
     * one, someone stripped it (a downgrade), so fail. */
    if (s->plus != (flag == 'p'))
        return malformed(s);
    if (flag == 'y' && (s->cb_ep || s->cb_unique))
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                            "server-does-support-channel-binding");
    if (flag == 'p') {
        if (cbname_len == 20 && memcmp(cbname, "tls-server-end-point", 20) == 0 &&
            s->cb_ep) {
            s->cb_data = s->cb_ep;
            s->cb_len = s->cb_ep_len;
        } else if (cbname_len == 10 && memcmp(cbname, "tls-unique", 10) == 0 &&
                   s->cb_unique) {
            s->cb_data = s->cb_unique;
            s->cb_len = s->cb_unique_len;
        } else {
            return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                                "unsupported-channel-binding-type");
        }
    }

    /* The username: saslname, then prepared like every username. */
    {
        char raw[XI_SASL_USER_MAX];
        if (f[0].n - 2 >= sizeof raw)
            return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                                "invalid-username-encoding");
        rc = saslname_decode(f[0].p + 2, f[0].n - 2, raw);
        if (rc < 0)
            return malformed(s);
        if (xi_sasl_prep_username(raw, (size_t)rc, s->username,
                                  sizeof s->username) < 0)
            return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                                "invalid-username-encoding");
    }

    s->gs2_header = xi_strndup(s->mem, msg, s->gs2_len);
    s->client_first_bare = xi_strndup(s->mem, bare, bare_len);
    s->nonce = xi_strndup(s->mem, f[1].p + 2, f[1].n - 2);
    if (!s->gs2_header || !s->client_first_bare || !s->nonce)
        return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    s->client_nonce_len = f[1].n - 2;
    s->have_user = true;
    s->phase = XI_PH_WAIT_CREDS;
    s->status = XI_SASL_NEED_CREDENTIALS;
    return XI_SASL_NEED_CREDENTIALS;
}

int xi_scram_credentials(xi_sasl *s, int lookup,
                         const xmppcore_credentials *creds)
{
    const xmppcore_scram_keys *k = NULL;
    char snonce[64], salt64[XMPPCORE_SCRAM_SALT_MAX / 3 * 4 + 8];
    size_t snonce_len, sf_len;
    char *nonce, *sf;

    if (lookup == 0 && creds)
        k = s->hash == XI_SCRAM_SHA1 ? &creds->sha1 : &creds->sha256;
    if (k && (k->iterations == 0 || k->salt_len == 0 ||
              k->salt_len > XMPPCORE_SCRAM_SALT_MAX))
        k = NULL;
    if (k) {
        s->keys = *k;
    } else {
        /* Unknown user, or no keys for this hash: carry on with fake
         * keys and fail at the proof, as for a wrong password. */
        if (xi_sasl_fake_keys(s, s->hash, &s->keys) != 0)
            return xi_sasl_fail_internal(s, XMPPCORE_E_INTERNAL);
        s->fake_user = true;
    }

    if (s->test_nonce) {
        snonce_len = strlen(s->test_nonce);
        if (snonce_len >= sizeof snonce)
            return xi_sasl_fail_internal(s, XMPPCORE_E_INVAL);
        memcpy(snonce, s->test_nonce, snonce_len + 1);
    } else {
        unsigned char rnd[SERVER_NONCE_BYTES];
        int rc = s->rng(rnd, sizeof rnd, s->rng_user_data);
        if (rc != 0)
            return xi_sasl_fail_internal(s, rc < 0 ? rc : XMPPCORE_E_INTERNAL);
        xi_sasl_b64_encode(rnd, sizeof rnd, snonce);
        snonce_len = strlen(snonce);
    }

    nonce = xi_realloc(s->mem, s->nonce, s->client_nonce_len + snonce_len + 1);
    if (!nonce)
        return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    s->nonce = nonce;
    memcpy(nonce + s->client_nonce_len, snonce, snonce_len + 1);

    xi_sasl_b64_encode(s->keys.salt, s->keys.salt_len, salt64);
    sf_len = 2 + strlen(nonce) + 3 + strlen(salt64) + 3 + 10 + 1;
    sf = xi_malloc(s->mem, sf_len);
    if (!sf)
        return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    snprintf(sf, sf_len, "r=%s,s=%s,i=%lu", nonce, salt64,
             (unsigned long)s->keys.iterations);
    s->server_first = sf;
    s->phase = XI_PH_WAIT_FINAL;
    return xi_sasl_set_output(s, sf, strlen(sf), XI_SASL_CHALLENGE);
}

/* Expected c= content: gs2-header followed by the channel binding data
 * (only when the client used "p"). Constant-time compare, though the
 * values are not secret, to keep the habit. */
static bool cbind_matches(const xi_sasl *s, const unsigned char *c, size_t n)
{
    if (n != s->gs2_len + s->cb_len)
        return false;
    if (sodium_memcmp(c, s->gs2_header, s->gs2_len) != 0)
        return false;
    return s->cb_len == 0 ||
           sodium_memcmp(c + s->gs2_len, s->cb_data, s->cb_len) == 0;
}

int xi_scram_client_final(xi_sasl *s, const char *msg, size_t len)
{
    field f[32];
    unsigned char cbuf[XI_SASL_MSG_MAX / 4 * 3 + 3];
    unsigned char proof[XI_SASL_HASH_MAX + 3], sig[XI_SASL_HASH_MAX];
    unsigned char key[XI_SASL_HASH_MAX], h[XI_SASL_HASH_MAX];
    size_t hl = xi_scram_hash_len(s->hash), clen, plen, wp_len, am_len;
    size_t cfb_len, sf_len;
    char *am, final_msg[2 + XI_SASL_HASH_MAX / 3 * 4 + 8];
    bool ok;
    int nf, rc;

    if (memchr(msg, '\0', len))
        return malformed(s);
    /* client-final-message = channel-binding "," nonce ["," extensions]
     *                        "," proof */
    nf = split(msg, len, f, (int)XI_ARRAY_LEN(f));
    if (nf < 3 || !has_key(&f[0], 'c') || !has_key(&f[1], 'r') ||
        !has_key(&f[nf - 1], 'p'))
        return malformed(s);
    for (int i = 2; i < nf - 1; i++) {
        if (!is_attr_val(&f[i]))
            return malformed(s);
        if (f[i].p[0] == 'm')
            return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                                "extensions-not-supported");
    }
    if ((f[0].n - 2) % 4 != 0 || f[0].n - 2 > sizeof cbuf / 3 * 4 ||
        xi_sasl_b64_decode(f[0].p + 2, f[0].n - 2, cbuf, &clen) != 0)
        return malformed(s);
    if ((f[nf - 1].n - 2) != (hl + 2) / 3 * 4 ||
        xi_sasl_b64_decode(f[nf - 1].p + 2, f[nf - 1].n - 2, proof, &plen) !=
            0 ||
        plen != hl)
        return malformed(s);
    if (!cbind_matches(s, cbuf, clen))
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED,
                            "channel-bindings-dont-match");
    if (f[1].n - 2 != strlen(s->nonce) ||
        memcmp(f[1].p + 2, s->nonce, f[1].n - 2) != 0)
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED, "other-error");

    /* AuthMessage = client-first-message-bare "," server-first-message ","
     *               client-final-message-without-proof */
    wp_len = (size_t)(f[nf - 1].p - msg) - 1;
    cfb_len = strlen(s->client_first_bare);
    sf_len = strlen(s->server_first);
    am_len = cfb_len + 1 + sf_len + 1 + wp_len;
    am = xi_malloc(s->mem, am_len);
    if (!am)
        return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    memcpy(am, s->client_first_bare, cfb_len);
    am[cfb_len] = ',';
    memcpy(am + cfb_len + 1, s->server_first, sf_len);
    am[cfb_len + 1 + sf_len] = ',';
    memcpy(am + cfb_len + 2 + sf_len, msg, wp_len);

    /* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof
     * is right when H(ClientKey) == StoredKey. */
    rc = xi_scram_hmac(s->hash, s->keys.stored_key, hl, am, am_len, sig);
    if (rc == 0) {
        for (size_t i = 0; i < hl; i++)
            key[i] = proof[i] ^ sig[i];
        rc = xi_scram_digest(s->hash, key, hl, h);
    }
    ok = rc == 0 && sodium_memcmp(h, s->keys.stored_key, hl) == 0;
    /* Even a correct guess of a fake key must not log anyone in. */
    ok = ok && !s->fake_user;
    if (rc == 0 && ok)
        rc = xi_scram_hmac(s->hash, s->keys.server_key, hl, am, am_len, sig);
    sodium_memzero(am, am_len);
    xi_free(s->mem, am);
    sodium_memzero(key, sizeof key);
    sodium_memzero(h, sizeof h);
    if (rc != 0) {
        sodium_memzero(sig, sizeof sig);
        return xi_sasl_fail_internal(s, rc);
    }
    if (!ok) {
        sodium_memzero(sig, sizeof sig);
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED, "invalid-proof");
    }
    memcpy(final_msg, "v=", 2);
    xi_sasl_b64_encode(sig, hl, final_msg + 2);
    sodium_memzero(sig, sizeof sig);
    sodium_memzero(&s->keys, sizeof s->keys);
    return xi_sasl_succeed(s, final_msg, strlen(final_msg));
}

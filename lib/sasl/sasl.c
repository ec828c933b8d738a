/*
 * The SASL exchange: mechanism policy and listing, the state machine that
 * dispatches client messages to a mechanism, PLAIN (RFC 4616) and
 * ANONYMOUS (RFC 4505), authzid rules and fake keys for unknown users.
 * SCRAM lives in scram.c.
 */
#include <sodium.h>

#include "sasl/sasl_int.h"
#include "xmppcore/jid.h"

/* ANONYMOUS trace data: at most 255 characters of UTF-8 (RFC 4505 §3). */
#define ANON_TRACE_MAX (255 * 4)

static const struct {
    const char *name;
    int mech;
} mech_names[] = {
    {"SCRAM-SHA-256-PLUS", XI_MECH_SCRAM_SHA256_PLUS},
    {"SCRAM-SHA-1-PLUS", XI_MECH_SCRAM_SHA1_PLUS},
    {"SCRAM-SHA-256", XI_MECH_SCRAM_SHA256},
    {"SCRAM-SHA-1", XI_MECH_SCRAM_SHA1},
    {"PLAIN", XI_MECH_PLAIN},
    {"ANONYMOUS", XI_MECH_ANONYMOUS},
};

const char *xi_sasl_condition_name(int cond)
{
    switch (cond) {
    case XI_SASL_COND_ABORTED: return "aborted";
    case XI_SASL_COND_ACCOUNT_DISABLED: return "account-disabled";
    case XI_SASL_COND_CREDENTIALS_EXPIRED: return "credentials-expired";
    case XI_SASL_COND_ENCRYPTION_REQUIRED: return "encryption-required";
    case XI_SASL_COND_INCORRECT_ENCODING: return "incorrect-encoding";
    case XI_SASL_COND_INVALID_AUTHZID: return "invalid-authzid";
    case XI_SASL_COND_INVALID_MECHANISM: return "invalid-mechanism";
    case XI_SASL_COND_MALFORMED_REQUEST: return "malformed-request";
    case XI_SASL_COND_MECHANISM_TOO_WEAK: return "mechanism-too-weak";
    case XI_SASL_COND_NOT_AUTHORIZED: return "not-authorized";
    case XI_SASL_COND_TEMPORARY_AUTH_FAILURE: return "temporary-auth-failure";
    default: return NULL;
    }
}

static bool cfg_has_cb(const xi_sasl_config *cfg)
{
    return (cfg->cb_tls_server_end_point && cfg->cb_tls_server_end_point_len) ||
           (cfg->cb_tls_unique && cfg->cb_tls_unique_len);
}

/* Why cfg does not allow mech: XI_SASL_COND_NONE if it does. */
static int mech_policy(int mech, unsigned flags, bool has_cb)
{
    switch (mech) {
    case XI_MECH_SCRAM_SHA1_PLUS:
    case XI_MECH_SCRAM_SHA256_PLUS:
        if (!has_cb)
            return XI_SASL_COND_INVALID_MECHANISM;
        /* fall through */
    case XI_MECH_SCRAM_SHA1:
    case XI_MECH_SCRAM_SHA256:
        if (flags & XI_SASL_F_NO_SCRAM)
            return XI_SASL_COND_INVALID_MECHANISM;
        if ((flags & XI_SASL_F_NO_SCRAM_SHA1) &&
            (mech == XI_MECH_SCRAM_SHA1 || mech == XI_MECH_SCRAM_SHA1_PLUS))
            return XI_SASL_COND_MECHANISM_TOO_WEAK;
        return XI_SASL_COND_NONE;
    case XI_MECH_PLAIN:
        if (!(flags & XI_SASL_F_PLAIN))
            return XI_SASL_COND_INVALID_MECHANISM;
        if (!(flags & (XI_SASL_F_SECURE | XI_SASL_F_PLAIN_INSECURE)))
            return XI_SASL_COND_ENCRYPTION_REQUIRED;
        return XI_SASL_COND_NONE;
    case XI_MECH_ANONYMOUS:
        return (flags & XI_SASL_F_ANONYMOUS) ? XI_SASL_COND_NONE
                                             : XI_SASL_COND_INVALID_MECHANISM;
    default:
        return XI_SASL_COND_INVALID_MECHANISM;
    }
}

size_t xi_sasl_mechanisms(const xi_sasl_config *cfg, const char **names,
                          size_t max)
{
    size_t n = 0;
    if (!cfg)
        return 0;
    for (size_t i = 0; i < XI_ARRAY_LEN(mech_names); i++) {
        if (mech_policy(mech_names[i].mech, cfg->flags, cfg_has_cb(cfg)) !=
            XI_SASL_COND_NONE)
            continue;
        if (names && n < max)
            names[n] = mech_names[i].name;
        n++;
    }
    return n;
}

static unsigned char *dup_bytes(const xmppcore_mem *mem,
                                const unsigned char *p, size_t n)
{
    unsigned char *d = xi_malloc(mem, n);
    if (d)
        memcpy(d, p, n);
    return d;
}

xi_sasl *xi_sasl_new(const xi_sasl_config *cfg)
{
    const xmppcore_mem *mem;
    xi_sasl *s;

    if (!cfg || !cfg->domain || !*cfg->domain || !cfg->secret ||
        cfg->secret_len < XI_SASL_SECRET_MIN ||
        cfg->secret_len > XI_SASL_SECRET_MAX)
        return NULL;
    mem = xi_mem(cfg->mem);
    s = xi_calloc(mem, sizeof *s);
    if (!s)
        return NULL;
    s->mem = mem;
    s->rng = cfg->rng ? cfg->rng : xmppcore_rng_default;
    s->rng_user_data = cfg->rng_user_data;
    memcpy(s->secret, cfg->secret, cfg->secret_len);
    s->secret_len = cfg->secret_len;
    s->fake_iterations = cfg->fake_iterations
                             ? cfg->fake_iterations
                             : XMPPCORE_SCRAM_ITERATIONS_DEFAULT;
    s->flags = cfg->flags;
    s->cache = cfg->cache;
    s->domain = xi_strdup(mem, cfg->domain);
    if (!s->domain)
        goto fail;
    if (cfg->cb_tls_server_end_point && cfg->cb_tls_server_end_point_len) {
        s->cb_ep = dup_bytes(mem, cfg->cb_tls_server_end_point,
                             cfg->cb_tls_server_end_point_len);
        if (!s->cb_ep)
            goto fail;
        s->cb_ep_len = cfg->cb_tls_server_end_point_len;
    }
    if (cfg->cb_tls_unique && cfg->cb_tls_unique_len) {
        s->cb_unique = dup_bytes(mem, cfg->cb_tls_unique,
                                 cfg->cb_tls_unique_len);
        if (!s->cb_unique)
            goto fail;
        s->cb_unique_len = cfg->cb_tls_unique_len;
    }
    return s;
fail:
    xi_sasl_free(s);
    return NULL;
}

static void free_str(const xmppcore_mem *mem, char **p)
{
    if (*p) {
        sodium_memzero(*p, strlen(*p));
        xi_free(mem, *p);
        *p = NULL;
    }
}

static void clear_output(xi_sasl *s)
{
    if (s->out) {
        sodium_memzero(s->out, s->out_len);
        xi_free(s->mem, s->out);
    }
    s->out = NULL;
    s->out_len = 0;
    s->has_out = false;
    free_str(s->mem, &s->out_b64);
}

static void clear_password(xi_sasl *s)
{
    if (s->password) {
        sodium_memzero(s->password, s->password_len);
        xi_free(s->mem, s->password);
        s->password = NULL;
        s->password_len = 0;
    }
}

void xi_sasl_free(xi_sasl *s)
{
    const xmppcore_mem *mem;
    if (!s)
        return;
    mem = s->mem;
    clear_output(s);
    clear_password(s);
    free_str(mem, &s->domain);
    free_str(mem, &s->authzid);
    free_str(mem, &s->test_nonce);
    free_str(mem, &s->gs2_header);
    free_str(mem, &s->client_first_bare);
    free_str(mem, &s->server_first);
    free_str(mem, &s->nonce);
    if (s->cb_ep) {
        sodium_memzero(s->cb_ep, s->cb_ep_len);
        xi_free(mem, s->cb_ep);
    }
    if (s->cb_unique) {
        sodium_memzero(s->cb_unique, s->cb_unique_len);
        xi_free(mem, s->cb_unique);
    }
    sodium_memzero(s, sizeof *s);
    xi_free(mem, s);
}

int xi_sasl_fail(xi_sasl *s, int cond, const char *text)
{
    clear_output(s);
    clear_password(s);
    s->cond = cond;
    s->text = text;
    s->phase = XI_PH_DONE;
    s->status = XI_SASL_FAILURE;
    s->have_user = false;
    return XI_SASL_FAILURE;
}

int xi_sasl_fail_internal(xi_sasl *s, int err)
{
    xi_sasl_fail(s, XI_SASL_COND_TEMPORARY_AUTH_FAILURE, NULL);
    s->error = err ? err : XMPPCORE_E_INTERNAL;
    return XI_SASL_FAILURE;
}

int xi_sasl_set_output(xi_sasl *s, const void *data, size_t len, int status)
{
    clear_output(s);
    if (data) {
        s->out = xi_malloc(s->mem, len);
        if (!s->out)
            return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
        if (len)
            memcpy(s->out, data, len);
        s->out_len = len;
        s->has_out = true;
    }
    s->status = status;
    if (status == XI_SASL_SUCCESS)
        s->phase = XI_PH_DONE;
    return status;
}

/*
 * Fake keys for an account that does not exist (or lacks keys for the
 * hash asked for): a salt and keys derived from the server secret and the
 * username, so that the same name always gets the same salt, as a real
 * account would, and the exchange fails only at the proof.
 */
int xi_sasl_fake_keys(xi_sasl *s, int hash, xmppcore_scram_keys *keys)
{
    unsigned char buf[1 + XI_SASL_USER_MAX + 256];
    unsigned char mac[32];
    size_t ul = strlen(s->username), dl = strlen(s->domain);
    int rc;

    if (dl > 250)
        dl = 250;
    memset(keys, 0, sizeof *keys);
    /* buf = hash-id || domain || NUL || username || tag */
    buf[0] = (unsigned char)hash;
    memcpy(buf + 1, s->domain, dl);
    buf[1 + dl] = 0;
    memcpy(buf + 2 + dl, s->username, ul);
    buf[2 + dl + ul] = 's';
    rc = xi_scram_hmac(XI_SCRAM_SHA256, s->secret, s->secret_len, buf,
                       3 + dl + ul, mac);
    if (rc == 0) {
        memcpy(keys->salt, mac, 16);
        keys->salt_len = 16;
        keys->iterations = s->fake_iterations;
        buf[2 + dl + ul] = 'k';
        rc = xi_scram_hmac(XI_SCRAM_SHA256, s->secret, s->secret_len, buf,
                           3 + dl + ul, mac);
    }
    if (rc == 0) {
        memcpy(keys->stored_key, mac, sizeof keys->stored_key);
        buf[2 + dl + ul] = 'v';
        rc = xi_scram_hmac(XI_SCRAM_SHA256, s->secret, s->secret_len, buf,
                           3 + dl + ul, mac);
    }
    if (rc == 0)
        memcpy(keys->server_key, mac, sizeof keys->server_key);
    sodium_memzero(mac, sizeof mac);
    return rc;
}

/* A client may only authorize as itself: the authzid, if any, must be
 * the bare JID user@domain of the authenticated user (RFC 6120 §6.3.8). */
bool xi_sasl_authzid_ok(const xi_sasl *s)
{
    /* Split as RFC 7622 §3.1 does and enforce each part on the stack: no
     * allocation, so this check cannot fail for want of memory. */
    char local[XMPPCORE_JID_PART_MAX + 1], dom[XMPPCORE_JID_PART_MAX + 1];
    char mine[XMPPCORE_JID_PART_MAX + 1];
    const char *a = s->authzid, *at;
    size_t len;

    if (!a)
        return true;
    len = strlen(a);
    at = memchr(a, '@', len);
    if (!at || memchr(a, '/', len))
        return false;
    return xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, a, (size_t)(at - a),
                                     local, sizeof local) > 0 &&
           strcmp(local, s->username) == 0 &&
           xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, at + 1,
                                     len - (size_t)(at + 1 - a), dom,
                                     sizeof dom) > 0 &&
           xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, s->domain,
                                     strlen(s->domain), mine,
                                     sizeof mine) > 0 &&
           strcmp(dom, mine) == 0;
}

static int parse_mech(const char *name)
{
    for (size_t i = 0; i < XI_ARRAY_LEN(mech_names); i++)
        if (strcmp(name, mech_names[i].name) == 0)
            return mech_names[i].mech;
    return XI_MECH_NONE;
}

/* ---- PLAIN ---- */

static int plain_message(xi_sasl *s, const char *msg, size_t len)
{
    const char *nul1, *nul2, *authcid, *pw;
    size_t zlen, clen, plen;
    char pwbuf[XI_SASL_PASS_MAX];
    int n;

    nul1 = memchr(msg, '\0', len);
    if (!nul1)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    zlen = (size_t)(nul1 - msg);
    authcid = nul1 + 1;
    nul2 = memchr(authcid, '\0', len - zlen - 1);
    if (!nul2)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    clen = (size_t)(nul2 - authcid);
    pw = nul2 + 1;
    plen = len - zlen - clen - 2;
    if (clen == 0 || plen == 0 || memchr(pw, '\0', plen) ||
        zlen >= XI_SASL_USER_MAX + 256)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    if (zlen) {
        if (!xi_utf8_xml_valid(msg, zlen))
            return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
        s->authzid = xi_strndup(s->mem, msg, zlen);
        if (!s->authzid)
            return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    }
    /* A name or password the preparation rejects cannot belong to an
     * account: the same answer as a wrong password. */
    if (xi_sasl_prep_username(authcid, clen, s->username,
                              sizeof s->username) < 0)
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED, NULL);
    n = xi_sasl_prep_password(pw, plen, pwbuf, sizeof pwbuf);
    if (n < 0) {
        sodium_memzero(pwbuf, sizeof pwbuf);
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED, NULL);
    }
    s->password = xi_malloc(s->mem, (size_t)n + 1);
    if (!s->password) {
        sodium_memzero(pwbuf, sizeof pwbuf);
        return xi_sasl_fail_internal(s, XMPPCORE_E_NOMEM);
    }
    memcpy(s->password, pwbuf, (size_t)n + 1);
    s->password_len = (size_t)n;
    sodium_memzero(pwbuf, sizeof pwbuf);
    s->have_user = true;
    s->phase = XI_PH_WAIT_CREDS;
    s->status = XI_SASL_NEED_CREDENTIALS;
    return XI_SASL_NEED_CREDENTIALS;
}

/* After the client proved knowledge of the password: the checks that
 * must not run earlier (they would tell strangers about the account). */
static int finish_success(xi_sasl *s, const void *data, size_t len)
{
    if (s->cred_flags & XI_SASL_CRED_DISABLED)
        return xi_sasl_fail(s, XI_SASL_COND_ACCOUNT_DISABLED, NULL);
    if (s->cred_flags & XI_SASL_CRED_EXPIRED)
        return xi_sasl_fail(s, XI_SASL_COND_CREDENTIALS_EXPIRED, NULL);
    if (!xi_sasl_authzid_ok(s))
        return xi_sasl_fail(s, XI_SASL_COND_INVALID_AUTHZID, NULL);
    return xi_sasl_set_output(s, data, len, XI_SASL_SUCCESS);
}

static int plain_credentials(xi_sasl *s, int lookup,
                             const xmppcore_credentials *creds)
{
    xmppcore_scram_keys fake;
    const xmppcore_scram_keys *k = NULL;
    unsigned char salted[XI_SASL_HASH_MAX], stored[XI_SASL_HASH_MAX];
    int hash = XI_SCRAM_SHA256, rc;
    bool ok;

    if (lookup == 0 && creds)
        k = xi_sasl_plain_keys(creds, &hash);
    if (!k) {
        /* No account (or no usable keys): run the same derivation on
         * fake keys so the answer takes as long as a wrong password. */
        hash = XI_SCRAM_SHA256;
        if (xi_sasl_fake_keys(s, hash, &fake) != 0)
            return xi_sasl_fail_internal(s, XMPPCORE_E_INTERNAL);
        k = &fake;
        s->fake_user = true;
    }
    size_t hl = xi_scram_hash_len(hash);
    if (!s->fake_user &&
        xi_sasl_cache_lookup(s->cache, s->domain, s->username, s->password,
                             s->password_len, k->stored_key, hl)) {
        clear_password(s);
        return finish_success(s, NULL, 0);
    }
    s->pbkdf2_runs++;
    rc = xi_scram_salted_password(hash, s->password, s->password_len, k->salt,
                                  k->salt_len, k->iterations, salted);
    if (rc == 0)
        rc = xi_scram_keys_from_salted(hash, salted, stored, NULL);
    sodium_memzero(salted, sizeof salted);
    if (rc != 0) {
        sodium_memzero(stored, sizeof stored);
        return xi_sasl_fail_internal(s, rc);
    }
    ok = sodium_memcmp(stored, k->stored_key, hl) == 0 && !s->fake_user;
    sodium_memzero(stored, sizeof stored);
    sodium_memzero(&fake, sizeof fake);
    if (!ok)
        return xi_sasl_fail(s, XI_SASL_COND_NOT_AUTHORIZED, NULL);
    xi_sasl_cache_insert(s->cache, s->domain, s->username, s->password,
                         s->password_len, k->stored_key, hl);
    clear_password(s);
    return finish_success(s, NULL, 0);
}

/* ---- ANONYMOUS ---- */

static int anonymous_message(xi_sasl *s, const char *msg, size_t len)
{
    unsigned char rnd[16];
    static const char hex[] = "0123456789abcdef";

    XI_UNUSED(msg);
    /* The trace data is not used; it is only bounded. */
    if (len > ANON_TRACE_MAX)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    if (s->rng(rnd, sizeof rnd, s->rng_user_data) != 0)
        return xi_sasl_fail_internal(s, XMPPCORE_E_INTERNAL);
    for (size_t i = 0; i < sizeof rnd; i++) {
        s->username[2 * i] = hex[rnd[i] >> 4];
        s->username[2 * i + 1] = hex[rnd[i] & 15];
    }
    s->username[2 * sizeof rnd] = '\0';
    s->have_user = true;
    s->anonymous = true;
    return xi_sasl_set_output(s, NULL, 0, XI_SASL_SUCCESS);
}

/* ---- the exchange ---- */

static int first_message(xi_sasl *s, const char *msg, size_t len)
{
    if (len > XI_SASL_MSG_MAX)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    switch (s->mech) {
    case XI_MECH_PLAIN: return plain_message(s, msg, len);
    case XI_MECH_ANONYMOUS: return anonymous_message(s, msg, len);
    default: return xi_scram_client_first(s, msg, len);
    }
}

int xi_sasl_start(xi_sasl *s, const char *mech, const void *resp,
                  size_t len, bool has_resp)
{
    int cond;

    if (!s || !mech || (has_resp && !resp && len))
        return XMPPCORE_E_INVAL;
    if (s->phase != XI_PH_INIT)
        return XMPPCORE_E_STATE;
    s->mech = parse_mech(mech);
    cond = mech_policy(s->mech, s->flags, s->cb_ep || s->cb_unique);
    if (cond != XI_SASL_COND_NONE) {
        s->mech = XI_MECH_NONE;
        return xi_sasl_fail(s, cond, NULL);
    }
    if (!has_resp) {
        /* No initial response: ask for one with an empty challenge. */
        s->phase = XI_PH_WAIT_FIRST;
        return xi_sasl_set_output(s, "", 0, XI_SASL_CHALLENGE);
    }
    return first_message(s, resp ? resp : "", len);
}

int xi_sasl_step(xi_sasl *s, const void *resp, size_t len)
{
    if (!s || (!resp && len))
        return XMPPCORE_E_INVAL;
    if (!resp)
        resp = "";
    switch (s->phase) {
    case XI_PH_WAIT_FIRST:
        clear_output(s);
        return first_message(s, resp, len);
    case XI_PH_WAIT_FINAL:
        clear_output(s);
        if (len > XI_SASL_MSG_MAX)
            return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
        return xi_scram_client_final(s, resp, len);
    default:
        return XMPPCORE_E_STATE;
    }
}

/* Decodes SASL element text: *out NULL-and-0 for "=" or empty text. */
static int decode_text(xi_sasl *s, const char *text, size_t len,
                       unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (len == 0 || (len == 1 && text[0] == '='))
        return 0;
    if (len / 4 * 3 > XI_SASL_MSG_MAX + 3)
        return XMPPCORE_E_RANGE;
    *out = xi_malloc(s->mem, len / 4 * 3);
    if (!*out)
        return XMPPCORE_E_NOMEM;
    if (xi_sasl_b64_decode(text, len, *out, outlen) != 0) {
        xi_free(s->mem, *out);
        *out = NULL;
        return XMPPCORE_E_INVAL;
    }
    return 0;
}

static int decoded_call(xi_sasl *s, int rc, unsigned char *buf, size_t n,
                        const char *mech)
{
    int r;
    if (rc == XMPPCORE_E_INVAL)
        return xi_sasl_fail(s, XI_SASL_COND_INCORRECT_ENCODING, NULL);
    if (rc == XMPPCORE_E_RANGE)
        return xi_sasl_fail(s, XI_SASL_COND_MALFORMED_REQUEST, NULL);
    if (rc != 0)
        return xi_sasl_fail_internal(s, rc);
    r = mech ? xi_sasl_start(s, mech, buf ? (void *)buf : "", n, true)
             : xi_sasl_step(s, buf ? (void *)buf : "", n);
    if (buf) {
        sodium_memzero(buf, n);
        xi_free(s->mem, buf);
    }
    return r;
}

int xi_sasl_start_b64(xi_sasl *s, const char *mech, const char *text,
                      size_t len)
{
    unsigned char *buf;
    size_t n;
    int rc;

    if (!s || !mech || (!text && len))
        return XMPPCORE_E_INVAL;
    if (s->phase != XI_PH_INIT)
        return XMPPCORE_E_STATE;
    if (!text || len == 0)
        return xi_sasl_start(s, mech, NULL, 0, false);
    /* The mechanism is checked before the payload, so that an unknown
     * mechanism with garbage gives invalid-mechanism. */
    if (mech_policy(parse_mech(mech), s->flags, s->cb_ep || s->cb_unique) !=
        XI_SASL_COND_NONE)
        return xi_sasl_start(s, mech, NULL, 0, false);
    rc = decode_text(s, text, len, &buf, &n);
    return decoded_call(s, rc, buf, n, mech);
}

int xi_sasl_step_b64(xi_sasl *s, const char *text, size_t len)
{
    unsigned char *buf;
    size_t n;
    int rc;

    if (!s || (!text && len))
        return XMPPCORE_E_INVAL;
    if (s->phase != XI_PH_WAIT_FIRST && s->phase != XI_PH_WAIT_FINAL)
        return XMPPCORE_E_STATE;
    rc = decode_text(s, text, len, &buf, &n);
    return decoded_call(s, rc, buf, n, NULL);
}

int xi_sasl_provide_credentials(xi_sasl *s, int lookup,
                                const xmppcore_credentials *creds,
                                unsigned cred_flags)
{
    if (!s || (lookup == 0 && !creds))
        return XMPPCORE_E_INVAL;
    if (s->phase != XI_PH_WAIT_CREDS)
        return XMPPCORE_E_STATE;
    if (lookup != 0 && lookup != XMPPCORE_E_NOTFOUND)
        return xi_sasl_fail_internal(s, lookup);
    s->cred_flags = lookup == 0 ? cred_flags : 0;
    if (s->mech == XI_MECH_PLAIN)
        return plain_credentials(s, lookup, creds);
    return xi_scram_credentials(s, lookup, creds);
}

int xi_sasl_abort(xi_sasl *s)
{
    if (!s)
        return XMPPCORE_E_INVAL;
    if (s->phase == XI_PH_DONE)
        return XMPPCORE_E_STATE;
    return xi_sasl_fail(s, XI_SASL_COND_ABORTED, NULL);
}

int xi_sasl_succeed(xi_sasl *s, const void *data, size_t len)
{
    return finish_success(s, data, len);
}

int xi_sasl_status(const xi_sasl *s)
{
    return s ? s->status : 0;
}

const unsigned char *xi_sasl_output(const xi_sasl *s, size_t *len)
{
    if (len)
        *len = 0;
    if (!s || !s->has_out ||
        (s->status != XI_SASL_CHALLENGE && s->status != XI_SASL_SUCCESS))
        return NULL;
    if (len)
        *len = s->out_len;
    return s->out ? s->out : (const unsigned char *)"";
}

const char *xi_sasl_output_b64(xi_sasl *s, int *err)
{
    size_t n;
    const unsigned char *d = xi_sasl_output(s, &n);

    if (err)
        *err = 0;
    if (!d)
        return NULL;
    if (!s->out_b64) {
        s->out_b64 = xi_malloc(s->mem, n ? xi_sasl_b64_encoded_size(n) : 2);
        if (!s->out_b64) {
            if (err)
                *err = XMPPCORE_E_NOMEM;
            return NULL;
        }
        if (n)
            xi_sasl_b64_encode(d, n, s->out_b64);
        else
            memcpy(s->out_b64, "=", 2);
    }
    return s->out_b64;
}

int xi_sasl_condition(const xi_sasl *s)
{
    return s && s->status == XI_SASL_FAILURE ? s->cond : XI_SASL_COND_NONE;
}

const char *xi_sasl_failure_text(const xi_sasl *s)
{
    return s && s->status == XI_SASL_FAILURE ? s->text : NULL;
}

int xi_sasl_error(const xi_sasl *s)
{
    return s ? s->error : 0;
}

const char *xi_sasl_username(const xi_sasl *s)
{
    if (!s || !s->have_user)
        return NULL;
    if (s->status != XI_SASL_NEED_CREDENTIALS && s->status != XI_SASL_SUCCESS)
        return NULL;
    return s->username;
}

const char *xi_sasl_authzid(const xi_sasl *s)
{
    return s ? s->authzid : NULL;
}

const char *xi_sasl_mechanism(const xi_sasl *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < XI_ARRAY_LEN(mech_names); i++)
        if (mech_names[i].mech == s->mech)
            return mech_names[i].name;
    return NULL;
}

bool xi_sasl_is_anonymous(const xi_sasl *s)
{
    return s && s->anonymous && s->status == XI_SASL_SUCCESS;
}

unsigned xi_sasl_pbkdf2_runs(const xi_sasl *s)
{
    return s ? s->pbkdf2_runs : 0;
}

int xi_sasl_set_server_nonce(xi_sasl *s, const char *nonce)
{
    size_t n;
    if (!s || !nonce || !*nonce)
        return XMPPCORE_E_INVAL;
    n = strlen(nonce);
    for (size_t i = 0; i < n; i++)
        if (nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',')
            return XMPPCORE_E_INVAL;
    free_str(s->mem, &s->test_nonce);
    s->test_nonce = xi_strdup(s->mem, nonce);
    return s->test_nonce ? 0 : XMPPCORE_E_NOMEM;
}

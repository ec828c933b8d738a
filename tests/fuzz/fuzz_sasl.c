/*
 * Fuzz target for lib/sasl: drives the SCRAM, PLAIN and ANONYMOUS state
 * machines with the input as client messages.
 *
 * Input layout: one control byte, then client messages separated by the
 * byte 0xFF (which never occurs in valid UTF-8): the first message is the
 * initial response (client-first for SCRAM), the next ones answer the
 * challenges (client-final). Control byte bits:
 *   0-2  mechanism (index into mechs[], the last is not offered)
 *   3    feed messages as base64 text (the *_b64 calls) instead of raw
 *   4    the connection has channel binding data (-PLUS offered)
 *   5    storage answers "no such user"
 *   6    start without an initial response (first message goes in a step)
 *   7    abort after the last message
 * Also checks that the base64 decoder is canonical: whatever it accepts
 * encodes back to the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl/sasl.h"

static const char *const mechs[] = {
    "SCRAM-SHA-1",   "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
    "PLAIN",         "ANONYMOUS",        "PLAIN",         "X-UNKNOWN",
};

static const unsigned char secret[32] = "fuzz-secret-fuzz-secret-fuzz-se";
static const unsigned char cb_ep[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char cb_unique[12] = "tls-finished";

static int fuzz_rng(void *buf, size_t len, void *ud)
{
    unsigned *seed = ud;
    unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(*seed >> 16);
    }
    return 0;
}

static void check_b64(const uint8_t *data, size_t size)
{
    unsigned char out[512];
    char back[700];
    size_t n;
    if (size > 680)
        size = 680;
    if (xi_sasl_b64_decode((const char *)data, size, out, &n) == 0) {
        xi_sasl_b64_encode(out, n, back);
        if (strlen(back) != size || memcmp(back, data, size) != 0)
            abort();
    }
}

static int feed(xi_sasl *s, const char *mech, bool b64, bool start,
                const uint8_t *msg, size_t len)
{
    if (!b64)
        return start ? xi_sasl_start(s, mech, msg, len, true)
                     : xi_sasl_step(s, msg, len);
    return start ? xi_sasl_start_b64(s, mech, (const char *)msg, len)
                 : xi_sasl_step_b64(s, (const char *)msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static xmppcore_credentials creds;
    static bool have_creds;
    unsigned seed = 1;

    if (!have_creds) {
        /* One iteration keeps PBKDF2 cheap for the fuzzer. */
        xi_scram_derive_keys(XI_SCRAM_SHA1, "pencil", 6,
                             (const unsigned char *)"salt-fuzz-1", 11, 1,
                             &creds.sha1);
        xi_scram_derive_keys(XI_SCRAM_SHA256, "pencil", 6,
                             (const unsigned char *)"salt-fuzz-2", 11, 1,
                             &creds.sha256);
        have_creds = true;
    }
    check_b64(data, size);
    if (size < 1)
        return 0;
    unsigned ctl = data[0];
    data++;
    size--;

    xi_sasl_cache *cache = xi_sasl_cache_new(NULL, 4, fuzz_rng, &seed);
    xi_sasl_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rng = fuzz_rng;
    cfg.rng_user_data = &seed;
    cfg.domain = "example.com";
    cfg.secret = secret;
    cfg.secret_len = sizeof secret;
    cfg.fake_iterations = 1;
    cfg.flags = XI_SASL_F_SECURE | XI_SASL_F_PLAIN | XI_SASL_F_ANONYMOUS;
    cfg.cache = cache;
    if (ctl & 0x10) {
        cfg.cb_tls_server_end_point = cb_ep;
        cfg.cb_tls_server_end_point_len = sizeof cb_ep;
        cfg.cb_tls_unique = cb_unique;
        cfg.cb_tls_unique_len = sizeof cb_unique;
    }
    const char *names[8];
    if (xi_sasl_mechanisms(&cfg, names, 8) > 8)
        abort();

    xi_sasl *s = xi_sasl_new(&cfg);
    if (!s) {
        xi_sasl_cache_free(cache);
        return 0;
    }
    const char *mech = mechs[ctl & 7];
    bool b64 = ctl & 0x08;
    int lookup = (ctl & 0x20) ? XMPPCORE_E_NOTFOUND : 0;
    int r;
    if (ctl & 0x40)
        r = b64 ? xi_sasl_start_b64(s, mech, NULL, 0)
                : xi_sasl_start(s, mech, NULL, 0, false);
    else
        r = 0;

    bool started = ctl & 0x40;
    size_t pos = 0;
    for (int round = 0; round < 6 && pos <= size; round++) {
        const uint8_t *sep = memchr(data + pos, 0xff, size - pos);
        size_t len = sep ? (size_t)(sep - (data + pos)) : size - pos;
        if (started && r != XI_SASL_CHALLENGE)
            break;
        r = feed(s, mech, b64, !started, data + pos, len);
        started = true;
        pos += len + 1;
        while (r == XI_SASL_NEED_CREDENTIALS) {
            if (!xi_sasl_username(s))
                abort();
            r = xi_sasl_provide_credentials(s, lookup, lookup ? NULL : &creds,
                                            0);
        }
        if (r < 0 || r > XI_SASL_NEED_CREDENTIALS)
            abort();
        int err;
        (void)xi_sasl_output_b64(s, &err);
        if (r == XI_SASL_FAILURE &&
            !xi_sasl_condition_name(xi_sasl_condition(s)))
            abort();
        if (r == XI_SASL_SUCCESS && !xi_sasl_username(s))
            abort();
        if (!sep)
            break;
    }
    if (ctl & 0x80)
        (void)xi_sasl_abort(s);
    xi_sasl_free(s);
    xi_sasl_cache_free(cache);
    return 0;
}

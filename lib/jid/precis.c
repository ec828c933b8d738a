/*
 * PRECIS enforcement: the IdentifierClass and FreeformClass behavioural
 * rules (RFC 8264 sections 4.2, 4.3 and 8, with the contextual rules of
 * RFC 5892 Appendix A) and the UsernameCaseMapped, UsernameCasePreserved,
 * OpaqueString (RFC 8265) and Nickname (RFC 8266) profiles. Pure-ASCII
 * input, by far the common case, takes a short path that gives the same
 * result without touching the Unicode tables.
 */
#include "jid/precis.h"

#include "core/core.h"
#include "jid/unicode.h"

struct profile {
    bool freeform;  /* FreeformClass (else IdentifierClass) */
    bool width;     /* width mapping rule */
    bool spaces;    /* map non-ASCII Zs to U+0020 */
    bool nick;      /* trim and collapse spaces (RFC 8266 2.2 rule 2b/2c) */
    bool lower;     /* case mapping rule: toLowerCase */
    bool compat;    /* NFKC instead of NFC */
    bool bidi;      /* Bidi Rule for strings with right-to-left code points */
};

static const struct profile *profile_get(int id)
{
    static const struct profile username_mapped = {
        false, true, false, false, true, false, true};
    static const struct profile username_preserved = {
        false, true, false, false, false, false, true};
    static const struct profile opaque = {
        true, false, true, false, false, false, false};
    static const struct profile nickname = {
        true, false, true, true, false, true, false};
    static const struct profile nickname_mapped = {
        true, false, true, true, true, true, false};
    switch (id) {
    case XI_PRECIS_USERNAME_CASEMAPPED: return &username_mapped;
    case XI_PRECIS_USERNAME_CASEPRESERVED: return &username_preserved;
    case XI_PRECIS_OPAQUE_STRING: return &opaque;
    case XI_PRECIS_NICKNAME: return &nickname;
    case XI_PRECIS_NICKNAME_CASEMAPPED: return &nickname_mapped;
    default: return NULL;
    }
}

/*
 * The string class check: every code point PVALID (FREE_PVAL counts for
 * FreeformClass), or CONTEXTJ/CONTEXTO with its rule satisfied. DISALLOWED
 * and UNASSIGNED code points reject the string (RFC 8264 section 8).
 */
static bool class_ok(bool freeform, const uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t p = xi_uprop_get(cps[i])->precis;
        p = freeform ? (uint8_t)(p >> 4) : (uint8_t)(p & 0x0F);
        if (p == XI_DP_PVALID)
            continue;
        if ((p == XI_DP_CONTEXTJ || p == XI_DP_CONTEXTO) &&
            xi_uni_context_ok(cps, n, i))
            continue;
        return false;
    }
    return true;
}

/* RFC 8266 section 2.2 rule 2: non-ASCII spaces become U+0020 (also done
 * by OpaqueString), then leading and trailing spaces go and inner runs
 * collapse to one. */
static size_t map_spaces(const struct profile *p, uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cps[i] >= 0x80 && (xi_uprop_get(cps[i])->flags & XI_UF_ZS))
            cps[i] = 0x20;
    if (!p->nick)
        return n;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (cps[i] == 0x20 && (w == 0 || cps[w - 1] == 0x20))
            continue;
        cps[w++] = cps[i];
    }
    if (w > 0 && cps[w - 1] == 0x20)
        w--;
    return w;
}

/* One application of all rules to in[0..len); the result is left in one
 * of the two buffers, *res. */
static int precis_pass(const struct profile *p, const char *in, size_t len,
                       uint32_t *a, uint32_t *b, uint32_t **res)
{
    int rc = xi_utf8_decode(in, len, a, XI_UNI_MAX);
    if (rc < 0)
        return rc;
    size_t n = (size_t)rc;
    if (p->width)
        xi_uni_width_map(a, n);
    /* Preparation (RFC 8265 sections 3.3.1, 3.4.1 and 4.2.1, RFC 8266
     * section 2.3): the width-mapped input must already be in the class. */
    if (!class_ok(p->freeform, a, n))
        return XMPPCORE_E_JID;
    if (p->spaces)
        n = map_spaces(p, a, n);
    uint32_t *cur = a, *other = b;
    if (p->lower) {
        rc = xi_uni_tolower(cur, n, other, XI_UNI_MAX);
        if (rc < 0)
            return rc;
        n = (size_t)rc;
        cur = b;
        other = a;
    }
    rc = xi_uni_normalize(p->compat, cur, n, other, XI_UNI_MAX);
    if (rc < 0)
        return rc;
    n = (size_t)rc;
    cur = other;
    if (p->bidi && xi_uni_has_rtl(cur, n) && !xi_uni_bidi_rule(cur, n))
        return XMPPCORE_E_JID;
    /* The behavioural rules once more on the result (RFC 8264 section 7,
     * step 6), and the empty-string rule of every profile. */
    if (n == 0 || !class_ok(p->freeform, cur, n))
        return XMPPCORE_E_JID;
    *res = cur;
    return (int)n;
}

/* All rules for ASCII input, where width mapping, normalization and the
 * Bidi Rule change nothing and the class is decided by the byte value. */
static int precis_ascii(const struct profile *p, const char *in, size_t len,
                        char *out, size_t outsz)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        /* IdentifierClass: ASCII7 (K) only; FreeformClass adds SPACE. */
        if (c > 0x7E || c < 0x20 || (c == 0x20 && !p->freeform))
            return XMPPCORE_E_JID;
        if (c == 0x20 && p->nick && (w == 0 || out[w - 1] == ' '))
            continue;
        if (p->lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (w + 1 >= outsz)
            return XMPPCORE_E_RANGE;
        out[w++] = (char)c;
    }
    if (p->nick && w > 0 && out[w - 1] == ' ')
        w--;
    if (w == 0)
        return XMPPCORE_E_JID;
    if (w > (size_t)INT32_MAX)
        return XMPPCORE_E_RANGE;
    out[w] = '\0';
    return (int)w;
}

int xi_precis_enforce(int profile, const char *in, size_t len, char *out,
                      size_t outsz)
{
    const struct profile *p = profile_get(profile);
    if (!p || (!in && len) || !out || outsz == 0)
        return XMPPCORE_E_INVAL;
    size_t i = 0;
    while (i < len && (unsigned char)in[i] < 0x80)
        i++;
    if (i == len)
        return precis_ascii(p, in, len, out, outsz);
    if (len > 4 * (size_t)XI_UNI_MAX)
        return XMPPCORE_E_RANGE;

    uint32_t a[XI_UNI_MAX], b[XI_UNI_MAX], *res = NULL;
    int rc = precis_pass(p, in, len, a, b, &res);
    if (rc < 0)
        return rc;
    int olen = xi_utf8_encode(res, (size_t)rc, out, outsz);
    if (olen < 0)
        return olen;
    if ((size_t)olen == len && memcmp(out, in, len) == 0)
        return olen; /* the input was already a fixed point */
    /* RFC 8264 section 7: apply the rules again until the output is
     * stable, at most three more times. */
    for (int round = 0; round < 3; round++) {
        rc = precis_pass(p, out, (size_t)olen, a, b, &res);
        if (rc < 0)
            return rc;
        if (xi_utf8_equal(res, (size_t)rc, out, (size_t)olen))
            return olen;
        olen = xi_utf8_encode(res, (size_t)rc, out, outsz);
        if (olen < 0)
            return olen;
    }
    return XMPPCORE_E_JID;
}

int xi_unicode_normalize(int compat, const uint32_t *in, size_t n,
                         uint32_t *out, size_t cap)
{
    return xi_uni_normalize(compat, in, n, out, cap);
}

const char *xi_unicode_normtest_file(void)
{
    return xi_unicode_normtest_path;
}

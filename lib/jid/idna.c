/*
 * Domainpart enforcement for JIDs (RFC 7622 section 3.2) and the Punycode
 * codec (RFC 3492) it needs to accept A-labels and to measure U-labels.
 * Labels are checked as IDNA2008 U-labels (RFC 5891 section 5.4: the
 * RFC 5892 derived property, contextual rules, hyphen and leading-mark
 * restrictions, the Bidi Rule of RFC 5893 for Bidi domain names) or as
 * NR-LDH labels; the common all-ASCII LDH domain takes a short path.
 */
#include "jid/idna.h"

#include <arpa/inet.h>

#include "core/core.h"
#include "jid/unicode.h"
#include "xmppcore/jid.h"

/* RFC 3492 section 5, parameter values for Punycode. */
enum {
    PC_BASE = 36,
    PC_TMIN = 1,
    PC_TMAX = 26,
    PC_SKEW = 38,
    PC_DAMP = 700,
    PC_INITIAL_BIAS = 72,
    PC_INITIAL_N = 128
};

/* A-labels and NR-LDH labels are at most 63 octets (RFC 5890 2.3.2.1). */
#define LABEL_MAX 63

static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int pc_digit_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '0' && c <= '9')
        return c - '0' + 26;
    return -1;
}

static char pc_digit(uint32_t d)
{
    return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

int xi_punycode_decode(const char *in, size_t len, uint32_t *out, size_t cap)
{
    size_t basic = 0, n_out = 0;
    for (size_t j = 0; j < len; j++)
        if (in[j] == '-')
            basic = j;
    /* Code points before the last delimiter are copied as they are. */
    if (basic > 0 || (len > 0 && in[0] == '-')) {
        if (basic > cap)
            return XMPPCORE_E_JID;
        for (size_t j = 0; j < basic; j++) {
            if ((unsigned char)in[j] >= 0x80)
                return XMPPCORE_E_JID;
            out[n_out++] = (unsigned char)in[j];
        }
        basic++;
    }
    uint32_t n = PC_INITIAL_N, bias = PC_INITIAL_BIAS, i = 0;
    for (size_t pos = basic; pos < len;) {
        uint32_t oldi = i, w = 1;
        for (uint32_t k = PC_BASE;; k += PC_BASE) {
            if (pos >= len)
                return XMPPCORE_E_JID;
            int digit = pc_digit_value(in[pos++]);
            if (digit < 0)
                return XMPPCORE_E_JID;
            if ((uint32_t)digit > (UINT32_MAX - i) / w)
                return XMPPCORE_E_JID;
            i += (uint32_t)digit * w;
            uint32_t t = k <= bias ? PC_TMIN
                         : k >= bias + PC_TMAX ? PC_TMAX
                                               : k - bias;
            if ((uint32_t)digit < t)
                break;
            if (w > UINT32_MAX / (PC_BASE - t))
                return XMPPCORE_E_JID;
            w *= PC_BASE - t;
        }
        bias = pc_adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
        if (i / (n_out + 1) > UINT32_MAX - n)
            return XMPPCORE_E_JID;
        n += i / (uint32_t)(n_out + 1);
        i %= (uint32_t)(n_out + 1);
        if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) || n < 0x80)
            return XMPPCORE_E_JID;
        if (n_out == cap)
            return XMPPCORE_E_JID;
        memmove(out + i + 1, out + i, (n_out - i) * sizeof *out);
        out[i++] = n;
        n_out++;
    }
    return (int)n_out;
}

int xi_punycode_encode(const uint32_t *in, size_t n_in, char *out,
                       size_t outsz)
{
    size_t o = 0, b = 0;
    for (size_t j = 0; j < n_in; j++) {
        if (in[j] < 0x80) {
            if (o == outsz)
                return XMPPCORE_E_RANGE;
            out[o++] = (char)in[j];
            b++;
        }
    }
    size_t h = b;
    if (b > 0) {
        if (o == outsz)
            return XMPPCORE_E_RANGE;
        out[o++] = '-';
    }
    uint32_t n = PC_INITIAL_N, delta = 0, bias = PC_INITIAL_BIAS;
    while (h < n_in) {
        uint32_t m = UINT32_MAX;
        for (size_t j = 0; j < n_in; j++)
            if (in[j] >= n && in[j] < m)
                m = in[j];
        /* Code points are <= 0x10FFFF and labels short: no overflow, but
         * stay defensive for arbitrary callers. */
        if ((uint64_t)(m - n) * (h + 1) + delta > UINT32_MAX)
            return XMPPCORE_E_RANGE;
        delta += (m - n) * (uint32_t)(h + 1);
        n = m;
        for (size_t j = 0; j < n_in; j++) {
            if (in[j] < n && ++delta == 0)
                return XMPPCORE_E_RANGE;
            if (in[j] != n)
                continue;
            uint32_t q = delta;
            for (uint32_t k = PC_BASE;; k += PC_BASE) {
                uint32_t t = k <= bias ? PC_TMIN
                             : k >= bias + PC_TMAX ? PC_TMAX
                                                   : k - bias;
                if (q < t)
                    break;
                if (o == outsz)
                    return XMPPCORE_E_RANGE;
                out[o++] = pc_digit(t + (q - t) % (PC_BASE - t));
                q = (q - t) / (PC_BASE - t);
            }
            if (o == outsz)
                return XMPPCORE_E_RANGE;
            out[o++] = pc_digit(q);
            bias = pc_adapt(delta, (uint32_t)h + 1, h == b);
            delta = 0;
            h++;
        }
        delta++;
        n++;
    }
    return (int)o;
}

/* An NR-LDH label: [a-z0-9-], no hyphen first or last, and not a reserved
 * LDH label ("??--", RFC 5890 section 2.3.1) — "xn--" labels are handled
 * by the caller as A-labels before this. */
static bool ldh_label_ok(const uint32_t *l, size_t n)
{
    if (n == 0 || n > LABEL_MAX || l[0] == '-' || l[n - 1] == '-')
        return false;
    if (n >= 4 && l[2] == '-' && l[3] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/* The U-label tests of RFC 5891 section 5.4 that apply to one label;
 * the Bidi Rule needs the whole name and is run by the caller. */
static bool ulabel_ok(const uint32_t *l, size_t n)
{
    if (n == 0 || l[0] == '-' || l[n - 1] == '-')
        return false; /* 4.2.3.1 */
    if (n >= 4 && l[2] == '-' && l[3] == '-')
        return false; /* 4.2.3.1 */
    if (xi_uprop_get(l[0])->flags & XI_UF_MARK)
        return false; /* 4.2.3.2: no leading combining mark */
    for (size_t i = 0; i < n; i++) {
        uint8_t p = xi_uprop_get(l[i])->idna;
        if (p == XI_DP_PVALID)
            continue;
        if ((p == XI_DP_CONTEXTJ || p == XI_DP_CONTEXTO) &&
            xi_uni_context_ok(l, n, i))
            continue; /* 4.2.3.3 */
        return false;
    }
    /* The label must fit the DNS as an A-label: "xn--" + Punycode. */
    char ace[LABEL_MAX];
    return xi_punycode_encode(l, n, ace, LABEL_MAX - 4) >= 0;
}

/*
 * Converts the A-label l[0..n) (already lowercase, starting "xn--") to its
 * U-label in u. Valid only if the U-label passes the U-label tests, is in
 * NFC, contains non-ASCII, and encodes back to exactly the same A-label
 * (RFC 5891 section 5.4 and RFC 5890 section 2.3.2.1).
 */
static int alabel_decode(const uint32_t *l, size_t n, uint32_t *u,
                         size_t cap)
{
    char ace[LABEL_MAX + 1];
    if (n > LABEL_MAX || n <= 4)
        return XMPPCORE_E_JID;
    for (size_t i = 0; i < n; i++)
        ace[i] = (char)l[i];
    int un = xi_punycode_decode(ace + 4, n - 4, u, cap);
    if (un <= 0)
        return XMPPCORE_E_JID;
    bool ascii = true;
    for (int i = 0; i < un; i++)
        if (u[i] >= 0x80)
            ascii = false;
    if (ascii || !ulabel_ok(u, (size_t)un))
        return XMPPCORE_E_JID;
    uint32_t nfc[LABEL_MAX * 4];
    int nn = xi_uni_normalize(0, u, (size_t)un, nfc, XI_ARRAY_LEN(nfc));
    if (nn != un || memcmp(nfc, u, (size_t)un * sizeof *u) != 0)
        return XMPPCORE_E_JID;
    char back[LABEL_MAX];
    int bn = xi_punycode_encode(u, (size_t)un, back, sizeof back);
    if (bn < 0 || (size_t)bn != n - 4 || memcmp(back, ace + 4, n - 4) != 0)
        return XMPPCORE_E_JID;
    return un;
}

static int write_out(const char *s, size_t n, char *out, size_t outsz)
{
    if (n > XMPPCORE_JID_PART_MAX)
        return XMPPCORE_E_JID;
    if (n >= outsz)
        return XMPPCORE_E_RANGE;
    memcpy(out, s, n);
    out[n] = '\0';
    return (int)n;
}

/* IPv6 literal "[...]" (RFC 7622 section 3.2 by way of RFC 3986
 * IP-literal), rewritten canonically so equal addresses compare equal. */
static int ipv6_literal(const char *in, size_t len, char *out, size_t outsz)
{
    char addr[INET6_ADDRSTRLEN + 2];
    unsigned char bin[16];
    if (len < 3 || in[len - 1] != ']' || len - 2 >= INET6_ADDRSTRLEN)
        return XMPPCORE_E_JID;
    memcpy(addr, in + 1, len - 2);
    addr[len - 2] = '\0';
    if (inet_pton(AF_INET6, addr, bin) != 1)
        return XMPPCORE_E_JID;
    if (!inet_ntop(AF_INET6, bin, addr + 1, INET6_ADDRSTRLEN))
        return XMPPCORE_E_JID;
    addr[0] = '[';
    size_t n = strlen(addr);
    addr[n++] = ']';
    return write_out(addr, n, out, outsz);
}

/* The common case: ASCII LDH labels without A-labels. Returns the length,
 * an error, or 0 to send the input to the general path. */
static int ascii_fast(const char *in, size_t len, char *out, size_t outsz)
{
    char buf[XMPPCORE_JID_PART_MAX + 1];
    if (len > XMPPCORE_JID_PART_MAX)
        return XMPPCORE_E_JID;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && in[i] != '.') {
            char c = in[i];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-'))
                return XMPPCORE_E_JID;
            buf[i] = c;
            continue;
        }
        size_t n = i - start;
        const char *l = buf + start;
        if (n == 0 || n > LABEL_MAX || l[0] == '-' || l[n - 1] == '-')
            return XMPPCORE_E_JID;
        if (n >= 4 && l[2] == '-' && l[3] == '-')
            return 0; /* maybe an A-label: the general path decides */
        if (i < len)
            buf[i] = '.';
        start = i + 1;
    }
    return write_out(buf, len, out, outsz);
}

int xi_domain_enforce(const char *in, size_t len, char *out, size_t outsz)
{
    if ((!in && len) || !out || outsz == 0)
        return XMPPCORE_E_INVAL;
    /* RFC 7622 section 3.2: one trailing label separator is stripped
     * before any other canonicalization. */
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0)
        return XMPPCORE_E_JID;
    if (in[0] == '[')
        return ipv6_literal(in, len, out, outsz);

    bool ascii = true;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] >= 0x80)
            ascii = false;
    if (ascii) {
        int rc = ascii_fast(in, len, out, outsz);
        if (rc != 0)
            return rc;
    }

    uint32_t a[XI_UNI_MAX], b[XI_UNI_MAX];
    int rc = xi_utf8_decode(in, len, a, XI_UNI_MAX);
    if (rc < 0)
        return XMPPCORE_E_JID;
    size_t n = (size_t)rc;
    for (size_t i = 0; i < n; i++)
        if (a[i] >= 'A' && a[i] <= 'Z')
            a[i] += 32;

    /* Preparation (RFC 7622 section 3.2.1): each A-label becomes its
     * U-label, rebuilt in b. */
    size_t w = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && a[i] != '.')
            continue;
        const uint32_t *l = a + start;
        size_t ln = i - start;
        if (w > XI_UNI_MAX - LABEL_MAX - 1)
            return XMPPCORE_E_JID;
        if (ln >= 4 && l[0] == 'x' && l[1] == 'n' && l[2] == '-' &&
            l[3] == '-') {
            rc = alabel_decode(l, ln, b + w, LABEL_MAX);
            if (rc < 0)
                return rc;
            w += (size_t)rc;
        } else {
            if (ln > XI_UNI_MAX - 1 - w)
                return XMPPCORE_E_JID;
            memcpy(b + w, l, ln * sizeof *l);
            w += ln;
        }
        if (i < n)
            b[w++] = '.';
        start = i + 1;
    }

    /* Enforcement (RFC 7622 section 3.2.2 by way of RFC 5895 section 2):
     * lowercase, width mapping, NFC, all after the A-labels were decoded
     * so that typed and A-label input end in the same form. */
    rc = xi_uni_tolower(b, w, a, XI_UNI_MAX);
    if (rc < 0)
        return XMPPCORE_E_JID;
    n = (size_t)rc;
    xi_uni_width_map(a, n);
    rc = xi_uni_normalize(0, a, n, b, XI_UNI_MAX);
    if (rc < 0)
        return XMPPCORE_E_JID;
    n = (size_t)rc;

    /* Every label must now be an NR-LDH label or a U-label. */
    size_t nlabels = 0;
    size_t lpos[XMPPCORE_JID_PART_MAX / 2 + 1], llen[XMPPCORE_JID_PART_MAX / 2 + 1];
    bool bidi_name = false;
    start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && b[i] != '.')
            continue;
        const uint32_t *l = b + start;
        size_t ln = i - start;
        bool label_ascii = true;
        for (size_t j = 0; j < ln; j++)
            if (l[j] >= 0x80)
                label_ascii = false;
        if (nlabels == XI_ARRAY_LEN(lpos))
            return XMPPCORE_E_JID;
        if (label_ascii ? !ldh_label_ok(l, ln) : !ulabel_ok(l, ln))
            return XMPPCORE_E_JID;
        if (xi_uni_has_rtl(l, ln))
            bidi_name = true;
        lpos[nlabels] = start;
        llen[nlabels++] = ln;
        start = i + 1;
    }
    /* RFC 5893 section 2: in a Bidi domain name every label must satisfy
     * the Bidi Rule. */
    if (bidi_name)
        for (size_t k = 0; k < nlabels; k++)
            if (!xi_uni_bidi_rule(b + lpos[k], llen[k]))
                return XMPPCORE_E_JID;
    char tmp[XMPPCORE_JID_PART_MAX + 1];
    rc = xi_utf8_encode(b, n, tmp, sizeof tmp);
    if (rc < 0)
        return XMPPCORE_E_JID; /* longer than 1023 bytes */
    return write_out(tmp, (size_t)rc, out, outsz);
}

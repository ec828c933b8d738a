/*
 * The Unicode algorithms behind PRECIS and IDNA2008: strict UTF-8 coding,
 * toLowerCase (Unicode 15.0 section 3.13, default case conversion),
 * width mapping (UAX #11), normalization forms C and KC (UAX #15), the
 * Bidi Rule (RFC 5893 section 2) and the contextual rules of RFC 5892
 * Appendix A. Property data comes from the generated unicode_data.c.
 */
#include "jid/unicode.h"

#include "core/core.h"

/* Hangul syllable constants, Unicode 15.0 section 3.12. */
enum {
    S_BASE = 0xAC00,
    L_BASE = 0x1100,
    V_BASE = 0x1161,
    T_BASE = 0x11A7,
    L_COUNT = 19,
    V_COUNT = 21,
    T_COUNT = 28,
    N_COUNT = V_COUNT * T_COUNT,
    S_COUNT = L_COUNT * N_COUNT
};

int xi_utf8_decode(const char *s, size_t len, uint32_t *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t c = p[i];
        size_t need;
        uint32_t min;
        if (c < 0x80) {
            need = 0;
            min = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            min = 0x80;
            c &= 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            min = 0x800;
            c &= 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return XMPPCORE_E_JID;
        }
        if (len - i - 1 < need)
            return XMPPCORE_E_JID;
        for (size_t k = 1; k <= need; k++) {
            unsigned char b = p[i + k];
            if ((b & 0xC0) != 0x80)
                return XMPPCORE_E_JID;
            c = (c << 6) | (b & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
            return XMPPCORE_E_JID;
        if (n == cap)
            return XMPPCORE_E_RANGE;
        out[n++] = c;
        i += need + 1;
    }
    return (int)n;
}

static size_t utf8_put(uint32_t c, unsigned char b[4])
{
    if (c < 0x80) {
        b[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        b[0] = (unsigned char)(0xC0 | (c >> 6));
        b[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (c >> 12));
        b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (c >> 18));
    b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

int xi_utf8_encode(const uint32_t *cps, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4];
        size_t k = utf8_put(cps[i], b);
        if (outsz - o <= k || o + k > (size_t)INT32_MAX)
            return XMPPCORE_E_RANGE;
        memcpy(out + o, b, k);
        o += k;
    }
    if (o >= outsz)
        return XMPPCORE_E_RANGE;
    out[o] = '\0';
    return (int)o;
}

bool xi_utf8_equal(const uint32_t *cps, size_t n, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b[4];
        size_t k = utf8_put(cps[i], b);
        if (len - o < k || memcmp(s + o, b, k) != 0)
            return false;
        o += k;
    }
    return o == len;
}

static const struct xi_umap *umap_find(const struct xi_umap *m, size_t n,
                                       uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].cp == cp)
            return &m[mid];
        if (m[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * Final_Sigma (Unicode 15.0 Table 3-17): C is preceded by a cased letter
 * and any case-ignorable characters, and not followed by case-ignorable
 * characters then a cased letter. Cased is tested before Case_Ignorable
 * because a few characters (U+0345) are both.
 */
static bool final_sigma(const uint32_t *cps, size_t n, size_t i)
{
    bool before = false;
    for (size_t j = i; j-- > 0;) {
        uint16_t f = xi_uprop_get(cps[j])->flags;
        if (f & XI_UF_CASED) {
            before = true;
            break;
        }
        if (!(f & XI_UF_CASE_IGNORABLE))
            break;
    }
    if (!before)
        return false;
    for (size_t j = i + 1; j < n; j++) {
        uint16_t f = xi_uprop_get(cps[j])->flags;
        if (f & XI_UF_CASED)
            return false;
        if (!(f & XI_UF_CASE_IGNORABLE))
            break;
    }
    return true;
}

int xi_uni_tolower(const uint32_t *in, size_t n, uint32_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = in[i];
        if (c < 0x80) {
            if (o == cap)
                return XMPPCORE_E_RANGE;
            out[o++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
            continue;
        }
        if (c == 0x03A3) {
            if (o == cap)
                return XMPPCORE_E_RANGE;
            out[o++] = final_sigma(in, n, i) ? 0x03C2 : 0x03C3;
            continue;
        }
        const struct xi_umap *m = NULL;
        if (xi_uprop_get(c)->flags & XI_UF_LOWER)
            m = umap_find(xi_umap_lower, xi_umap_lower_len, c);
        if (!m) {
            if (o == cap)
                return XMPPCORE_E_RANGE;
            out[o++] = c;
            continue;
        }
        if (cap - o < m->len)
            return XMPPCORE_E_RANGE;
        for (size_t k = 0; k < m->len; k++)
            out[o++] = xi_umap_pool[m->off + k];
    }
    return (int)o;
}

void xi_uni_width_map(uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cps[i] < 0x80 || !(xi_uprop_get(cps[i])->flags & XI_UF_WIDTH))
            continue;
        size_t lo = 0, hi = xi_umap_width_len;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (xi_umap_width[mid][0] == cps[i]) {
                cps[i] = xi_umap_width[mid][1];
                break;
            }
            if (xi_umap_width[mid][0] < cps[i])
                lo = mid + 1;
            else
                hi = mid;
        }
    }
}

static uint8_t ccc_of(uint32_t c)
{
    return c < 0x300 ? 0 : xi_uprop_get(c)->ccc;
}

/* Appends the full (canonical or compatibility) decomposition of c. */
static int decompose_one(int compat, uint32_t c, uint32_t *out, size_t *o,
                         size_t cap)
{
    if (c >= S_BASE && c < S_BASE + S_COUNT) {
        uint32_t s = c - S_BASE, t = s % T_COUNT;
        if (cap - *o < (t ? 3u : 2u))
            return XMPPCORE_E_RANGE;
        out[(*o)++] = L_BASE + s / N_COUNT;
        out[(*o)++] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (t)
            out[(*o)++] = T_BASE + t;
        return 0;
    }
    const struct xi_umap *m = NULL;
    if (c >= 0xA0) {
        uint16_t f = xi_uprop_get(c)->flags;
        if (compat && (f & XI_UF_KDECOMP))
            m = umap_find(xi_umap_kdecomp, xi_umap_kdecomp_len, c);
        else if (f & XI_UF_DECOMP)
            m = umap_find(xi_umap_cdecomp, xi_umap_cdecomp_len, c);
    }
    if (!m) {
        if (*o == cap)
            return XMPPCORE_E_RANGE;
        out[(*o)++] = c;
        return 0;
    }
    if (cap - *o < m->len)
        return XMPPCORE_E_RANGE;
    for (size_t k = 0; k < m->len; k++)
        out[(*o)++] = xi_umap_pool[m->off + k];
    return 0;
}

/* The primary composite of a + b, or 0 if there is none. */
static uint32_t compose_pair(uint32_t a, uint32_t b)
{
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE &&
        b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 &&
        b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    if (!(xi_uprop_get(a)->flags & XI_UF_COMP_FIRST) ||
        !(xi_uprop_get(b)->flags & XI_UF_COMP_SECOND))
        return 0;
    size_t lo = 0, hi = xi_ucompose_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct xi_upair *p = &xi_ucompose[mid];
        if (p->a == a && p->b == b)
            return p->to;
        if (p->a < a || (p->a == a && p->b < b))
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int xi_uni_normalize(int compat, const uint32_t *in, size_t n, uint32_t *out,
                     size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = decompose_one(compat, in[i], out, &o, cap);
        if (rc < 0)
            return rc;
    }
    /* Canonical ordering: a stable insertion sort by combining class of
     * each run of non-starters. */
    for (size_t i = 1; i < o; i++) {
        uint32_t c = out[i];
        uint8_t cc = ccc_of(c);
        if (cc == 0)
            continue;
        size_t j = i;
        while (j > 0 && ccc_of(out[j - 1]) > cc) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = c;
    }
    if (o == 0)
        return 0;
    /* Canonical composition (UAX #15 section 1.3): a character combines
     * with the last starter unless blocked by a character of the same or
     * higher class, or by any starter in between. */
    size_t starter = 0, w = 1;
    int last_cc = ccc_of(out[0]) ? 256 : 0;
    bool have_starter = last_cc == 0;
    for (size_t i = 1; i < o; i++) {
        uint32_t c = out[i];
        int cc = ccc_of(c);
        if (have_starter && (last_cc < cc || last_cc == 0)) {
            uint32_t comp = compose_pair(out[starter], c);
            if (comp) {
                out[starter] = comp;
                continue;
            }
        }
        if (cc == 0) {
            starter = w;
            have_starter = true;
        }
        last_cc = cc;
        out[w++] = c;
    }
    return (int)w;
}

bool xi_uni_has_rtl(const uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cps[i] < 0x590)
            continue; /* nothing below Hebrew is R, AL or AN */
        uint8_t b = xi_uprop_get(cps[i])->bidi;
        if (b == XI_BIDI_R || b == XI_BIDI_AL || b == XI_BIDI_AN)
            return true;
    }
    return false;
}

bool xi_uni_bidi_rule(const uint32_t *cps, size_t n)
{
    if (n == 0)
        return true;
    uint8_t first = xi_uprop_get(cps[0])->bidi;
    /* 1. The first character must be L, R or AL. */
    if (first != XI_BIDI_L && first != XI_BIDI_R && first != XI_BIDI_AL)
        return false;
    bool rtl = first != XI_BIDI_L;
    bool en = false, an = false;
    /* The last character that is not NSM decides conditions 3 and 6. */
    uint8_t last = first;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = xi_uprop_get(cps[i])->bidi;
        switch (b) {
        case XI_BIDI_EN:
            en = true;
            break;
        case XI_BIDI_AN:
            an = true;
            break;
        default:
            break;
        }
        if (rtl) {
            /* 2. Only R, AL, AN, EN, ES, CS, ET, ON, BN, NSM. */
            if (b != XI_BIDI_R && b != XI_BIDI_AL && b != XI_BIDI_AN &&
                b != XI_BIDI_EN && b != XI_BIDI_ES && b != XI_BIDI_CS &&
                b != XI_BIDI_ET && b != XI_BIDI_ON && b != XI_BIDI_BN &&
                b != XI_BIDI_NSM)
                return false;
        } else {
            /* 5. Only L, EN, ES, CS, ET, ON, BN, NSM. */
            if (b != XI_BIDI_L && b != XI_BIDI_EN && b != XI_BIDI_ES &&
                b != XI_BIDI_CS && b != XI_BIDI_ET && b != XI_BIDI_ON &&
                b != XI_BIDI_BN && b != XI_BIDI_NSM)
                return false;
        }
        if (b != XI_BIDI_NSM)
            last = b;
    }
    if (rtl) {
        /* 3. End with R, AL, EN or AN (then NSMs); 4. not both EN, AN. */
        if (last != XI_BIDI_R && last != XI_BIDI_AL && last != XI_BIDI_EN &&
            last != XI_BIDI_AN)
            return false;
        return !(en && an);
    }
    /* 6. End with L or EN, then any NSMs. */
    return last == XI_BIDI_L || last == XI_BIDI_EN;
}

bool xi_uni_context_ok(const uint32_t *cps, size_t n, size_t i)
{
    uint32_t c = cps[i];
    switch (c) {
    case 0x200C: /* A.1 ZERO WIDTH NON-JOINER */
        if (i > 0 && xi_uprop_get(cps[i - 1])->ccc == 9) /* Virama */
            return true;
        {
            /* (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ
             * (Joining_Type:T)*(Joining_Type:{R,D}) */
            bool left = false, right = false;
            for (size_t j = i; j-- > 0;) {
                uint8_t jt = xi_uprop_get(cps[j])->jt;
                if (jt == XI_JT_T)
                    continue;
                left = jt == XI_JT_L || jt == XI_JT_D;
                break;
            }
            for (size_t j = i + 1; j < n; j++) {
                uint8_t jt = xi_uprop_get(cps[j])->jt;
                if (jt == XI_JT_T)
                    continue;
                right = jt == XI_JT_R || jt == XI_JT_D;
                break;
            }
            return left && right;
        }
    case 0x200D: /* A.2 ZERO WIDTH JOINER */
        return i > 0 && xi_uprop_get(cps[i - 1])->ccc == 9;
    case 0x00B7: /* A.3 MIDDLE DOT: between two 'l' (Catalan l·l) */
        return i > 0 && i + 1 < n && cps[i - 1] == 0x6C && cps[i + 1] == 0x6C;
    case 0x0375: /* A.4 GREEK LOWER NUMERAL SIGN: followed by Greek */
        return i + 1 < n && xi_uprop_get(cps[i + 1])->script == XI_SC_GREEK;
    case 0x05F3: /* A.5 HEBREW PUNCTUATION GERESH */
    case 0x05F4: /* A.6 HEBREW PUNCTUATION GERSHAYIM */
        return i > 0 && xi_uprop_get(cps[i - 1])->script == XI_SC_HEBREW;
    case 0x30FB: /* A.7 KATAKANA MIDDLE DOT: some Hiragana/Katakana/Han */
        for (size_t j = 0; j < n; j++) {
            uint8_t sc = xi_uprop_get(cps[j])->script;
            if (sc == XI_SC_HIRAGANA || sc == XI_SC_KATAKANA ||
                sc == XI_SC_HAN)
                return true;
        }
        return false;
    default:
        break;
    }
    if (c >= 0x0660 && c <= 0x0669) { /* A.8: no Extended Arabic-Indic */
        for (size_t j = 0; j < n; j++)
            if (cps[j] >= 0x06F0 && cps[j] <= 0x06F9)
                return false;
        return true;
    }
    if (c >= 0x06F0 && c <= 0x06F9) { /* A.9: no Arabic-Indic digits */
        for (size_t j = 0; j < n; j++)
            if (cps[j] >= 0x0660 && cps[j] <= 0x0669)
                return false;
        return true;
    }
    return false;
}

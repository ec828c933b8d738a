/*
 * Unit tests for lib/jid: JID splitting and enforcement (RFC 7622 examples
 * and edge cases), the PRECIS profiles (RFC 8265, RFC 8266 examples),
 * IDNA2008 domain labels and Punycode, and NFC/NFKC conformance against
 * the Unicode NormalizationTest.txt decompressed at build time.
 */
#include <stdint.h>

#include "testlib.h"
#include "core/core.h"
#include "jid/idna.h"
#include "jid/precis.h"

/* Parses s; on success checks the full string against want (NULL: must
 * fail with XMPPCORE_E_JID). */
static void check_jid(const char *s, const char *want, int line)
{
    xmppcore_jid *j = (xmppcore_jid *)1;
    int rc = xmppcore_jid_parse(NULL, s, (size_t)-1, &j);
    if (!want) {
        if (rc != XMPPCORE_E_JID || j != NULL) {
            tl_failures++;
            fprintf(stderr, "line %d: \"%s\" accepted (rc %d, \"%s\")\n",
                    line, s, rc, rc == 0 ? xmppcore_jid_str(j) : "");
        }
        xmppcore_jid_free(rc == 0 ? j : NULL);
        return;
    }
    if (rc != 0) {
        tl_failures++;
        fprintf(stderr, "line %d: \"%s\" rejected (%d)\n", line, s, rc);
        return;
    }
    if (strcmp(xmppcore_jid_str(j), want) != 0) {
        tl_failures++;
        fprintf(stderr, "line %d: \"%s\" -> \"%s\", want \"%s\"\n", line, s,
                xmppcore_jid_str(j), want);
    }
    /* Idempotence: the enforced form parses to itself. */
    xmppcore_jid *k = NULL;
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, xmppcore_jid_str(j), (size_t)-1, &k),
                 0);
    CHECK(xmppcore_jid_equal(j, k));
    xmppcore_jid_free(k);
    xmppcore_jid_free(j);
}
#define JID_OK(s, want) check_jid(s, want, __LINE__)
#define JID_BAD(s) check_jid(s, NULL, __LINE__)

/* Enforces s with profile; want NULL means it must be rejected. */
static void check_precis(int profile, const char *s, const char *want,
                         int line)
{
    char out[2048], again[2048];
    int rc = xi_precis_enforce(profile, s, strlen(s), out, sizeof out);
    if (!want) {
        if (rc != XMPPCORE_E_JID) {
            tl_failures++;
            fprintf(stderr, "line %d: profile %d accepted \"%s\" (%d)\n",
                    line, profile, s, rc);
        }
        return;
    }
    if (rc < 0 || strcmp(out, want) != 0) {
        tl_failures++;
        fprintf(stderr, "line %d: profile %d: \"%s\" -> rc %d \"%s\", "
                "want \"%s\"\n", line, profile, s, rc, rc < 0 ? "" : out,
                want);
        return;
    }
    CHECK_EQ_INT(rc, (int)strlen(want));
    /* Enforcing twice gives the same result. */
    int rc2 = xi_precis_enforce(profile, out, (size_t)rc, again, sizeof again);
    CHECK_EQ_INT(rc2, rc);
    CHECK(rc2 == rc && memcmp(out, again, (size_t)rc) == 0);
}
#define P_OK(p, s, want) check_precis(p, s, want, __LINE__)
#define P_BAD(p, s) check_precis(p, s, NULL, __LINE__)

enum {
    UCM = XI_PRECIS_USERNAME_CASEMAPPED,
    UCP = XI_PRECIS_USERNAME_CASEPRESERVED,
    OPQ = XI_PRECIS_OPAQUE_STRING,
    NICK = XI_PRECIS_NICKNAME,
    NICKCMP = XI_PRECIS_NICKNAME_CASEMAPPED
};

/* RFC 7622 section 3.5, the valid and invalid examples. */
static void test_rfc7622_examples(void)
{
    JID_OK("juliet@example.com", "juliet@example.com");
    JID_OK("juliet@example.com/foo", "juliet@example.com/foo");
    JID_OK("juliet@example.com/foo bar", "juliet@example.com/foo bar");
    JID_OK("juliet@example.com/foo@bar", "juliet@example.com/foo@bar");
    JID_OK("foo\\20bar@example.com", "foo\\20bar@example.com");
    JID_OK("fussball@example.com", "fussball@example.com");
    JID_OK("fu\xc3\x9f" "ball@example.com", "fu\xc3\x9f" "ball@example.com");
    JID_OK("\xcf\x80@example.com", "\xcf\x80@example.com");
    /* Σ is lowercased to σ; σ and ς are kept as they are. */
    JID_OK("\xce\xa3@example.com/foo", "\xcf\x83@example.com/foo");
    JID_OK("\xcf\x83@example.com/foo", "\xcf\x83@example.com/foo");
    JID_OK("\xcf\x82@example.com/foo", "\xcf\x82@example.com/foo");
    JID_OK("king@example.com/\xe2\x99\x9a", "king@example.com/\xe2\x99\x9a");
    JID_OK("example.com", "example.com");
    JID_OK("example.com/foobar", "example.com/foobar");
    JID_OK("a.example.com/b@example.net", "a.example.com/b@example.net");

    JID_BAD("\"juliet\"@example.com");
    JID_BAD("foo bar@example.com");
    JID_BAD("juliet@example.com/");
    JID_BAD("@example.com/");
    JID_BAD("henry\xe2\x85\xa3@example.com");
    JID_BAD("\xe2\x99\x9a@example.com");
    JID_BAD("juliet@");
    JID_BAD("/foobar");
}

static void test_split(void)
{
    xmppcore_jid *j = NULL;
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "a/b@c", (size_t)-1, &j), 0);
    CHECK(xmppcore_jid_local(j) == NULL);
    CHECK_STR(xmppcore_jid_domain(j), "a");
    CHECK_STR(xmppcore_jid_resource(j), "b@c");
    CHECK_STR(xmppcore_jid_bare_str(j), "a");
    xmppcore_jid_free(j);

    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "User@Example.COM/Res/x@y z",
                                    (size_t)-1, &j), 0);
    CHECK_STR(xmppcore_jid_local(j), "user");
    CHECK_STR(xmppcore_jid_domain(j), "example.com");
    CHECK_STR(xmppcore_jid_resource(j), "Res/x@y z");
    CHECK_STR(xmppcore_jid_bare_str(j), "user@example.com");
    CHECK_STR(xmppcore_jid_str(j), "user@example.com/Res/x@y z");
    xmppcore_jid_free(j);

    /* The length argument bounds the input. */
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "a@b.c/rest", 5, &j), 0);
    CHECK_STR(xmppcore_jid_str(j), "a@b.c");
    xmppcore_jid_free(j);

    JID_BAD("a@b@c");
    JID_BAD("@d");
    JID_BAD("d/");
    JID_BAD("a@");
    JID_BAD("/r");
    JID_BAD("");
    JID_BAD("@");
    JID_BAD("/");
    JID_BAD("@/");
    JID_BAD("a@/r");
    /* An embedded NUL is a control character. */
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "a\0b@c", 5, &j), XMPPCORE_E_JID);
    CHECK(j == NULL);
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, NULL, 0, &j), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "a", 1, NULL), XMPPCORE_E_INVAL);
}

static void test_localpart(void)
{
    JID_OK("\xc3\xa9lise@example.com", "\xc3\xa9lise@example.com");
    /* Decomposed input is normalised to NFC: e + U+0301 -> é. */
    JID_OK("e\xcc\x81lise@example.com", "\xc3\xa9lise@example.com");
    JID_OK("\xc3\x89LISE@example.com", "\xc3\xa9lise@example.com");
    /* Width mapping: fullwidth ＪＵＬＩＥＴ becomes juliet. */
    JID_OK("\xef\xbc\xaa\xef\xbc\xb5\xef\xbc\xac\xef\xbc\xa9\xef\xbc\xa5"
           "\xef\xbc\xb4@example.com", "juliet@example.com");
    /* ß stays (toLowerCase does not fold it to "ss"). */
    JID_OK("STRA\xc3\x9f" "E@example.com", "stra\xc3\x9f" "e@example.com");
    /* Final sigma: ΟΔΟΣ lowercases to οδος with a final ς. */
    JID_OK("\xce\x9f\xce\x94\xce\x9f\xce\xa3@example.com",
           "\xce\xbf\xce\xb4\xce\xbf\xcf\x82@example.com");
    /* The RFC 7622 3.3.1 exclusions, also after width mapping (＠, ＆). */
    JID_BAD("a&b@example.com");
    JID_BAD("a'b@example.com");
    JID_BAD("a:b@example.com");
    JID_BAD("a<b@example.com");
    JID_BAD("a>b@example.com");
    JID_BAD("a\xef\xbc\xa0" "b@example.com");
    JID_BAD("a\xef\xbc\x86" "b@example.com");
    /* Other ASCII punctuation is in ASCII7 and allowed. */
    JID_OK("a+b.c_d=e!#$%*?^`{|}~@example.com",
           "a+b.c_d=e!#$%*?^`{|}~@example.com");
    /* Emoji and spaces: no in the localpart, yes in the resource. */
    JID_BAD("\xf0\x9f\x98\x80@example.com");
    JID_OK("a@example.com/\xf0\x9f\x98\x80 phone",
           "a@example.com/\xf0\x9f\x98\x80 phone");
    JID_BAD("a\tb@example.com");
    JID_BAD("a@example.com/tab\there");
    /* Malformed UTF-8: overlong, surrogate, truncated, beyond U+10FFFF. */
    JID_BAD("\xc0\xaf@example.com");
    JID_BAD("\xed\xa0\x80@example.com");
    JID_BAD("\xc3@example.com");
    JID_BAD("\xf4\x90\x80\x80@example.com");
    JID_BAD("a@example.com/\xff");
    /* Unassigned code point U+0378. */
    JID_BAD("\xcd\xb8@example.com");
    /* Default-ignorable soft hyphen. */
    JID_BAD("a\xc2\xad" "b@example.com");
}

static void test_resourcepart(void)
{
    /* Non-ASCII spaces map to U+0020; case is kept; NFC. */
    JID_OK("a@b/x\xe1\x9a\x80y", "a@b/x y");
    JID_OK("a@b/x\xc2\xa0y", "a@b/x y");
    JID_OK("a@b/ Leading and trailing ", "a@b/ Leading and trailing ");
    JID_OK("a@b/Caf\x65\xcc\x81", "a@b/Caf\xc3\xa9");
    /* Fullwidth letters are not width-mapped in OpaqueString. */
    JID_OK("a@b/\xef\xbc\xa1", "a@b/\xef\xbc\xa1");
    JID_BAD("a@b/\x7f");
    JID_BAD("a@b/x\xe2\x80\x8b"); /* ZERO WIDTH SPACE: default ignorable */
}

/* RFC 8265 sections 3.5 and 4.3. */
static void test_rfc8265_examples(void)
{
    P_OK(UCM, "juliet@example.com", "juliet@example.com");
    P_OK(UCM, "fussball", "fussball");
    P_OK(UCM, "fu\xc3\x9f" "ball", "fu\xc3\x9f" "ball");
    P_OK(UCM, "\xcf\x80", "\xcf\x80");
    P_OK(UCM, "\xce\xa3", "\xcf\x83");
    P_OK(UCM, "\xcf\x83", "\xcf\x83");
    P_OK(UCM, "\xcf\x82", "\xcf\x82");
    P_OK(UCP, "\xce\xa3", "\xce\xa3");
    P_OK(UCP, "Juliet", "Juliet");
    P_BAD(UCM, "foo bar");
    P_BAD(UCM, "");
    P_BAD(UCM, "henry\xe2\x85\xa3");
    P_BAD(UCM, "\xe2\x99\x9a");
    /* Width mapping happens before the class check. */
    P_OK(UCP, "\xef\xbc\xab" "evin", "Kevin");
    P_OK(UCM, "\xef\xbc\xab" "evin", "kevin");
    /* KELVIN SIGN has a compatibility mapping: not in IdentifierClass. */
    P_BAD(UCM, "\xe2\x84\xaa" "evin");

    P_OK(OPQ, "correct horse battery staple", "correct horse battery staple");
    P_OK(OPQ, "Correct Horse Battery Staple", "Correct Horse Battery Staple");
    P_OK(OPQ, "\xcf\x80\xc3\x9f\xc3\xa5", "\xcf\x80\xc3\x9f\xc3\xa5");
    P_OK(OPQ, "Jack of \xe2\x99\xa6s", "Jack of \xe2\x99\xa6s");
    P_OK(OPQ, "foo\xe1\x9a\x80" "bar", "foo bar");
    P_BAD(OPQ, "my cat is a \x09" "by");
    P_BAD(OPQ, "");
    /* EN QUAD is Zs (mapped to SPACE before NFC would turn it into EN
     * SPACE); the result is stable. */
    P_OK(OPQ, "a\xe2\x80\x80" "b", "a b");
}

/* RFC 8266 section 3: the comparison outputs; enforcement keeps case. */
static void test_rfc8266_examples(void)
{
    P_OK(NICKCMP, "Foo", "foo");
    P_OK(NICKCMP, "foo", "foo");
    P_OK(NICKCMP, "Foo Bar", "foo bar");
    P_OK(NICKCMP, "foo bar", "foo bar");
    P_OK(NICKCMP, "\xce\xa3", "\xcf\x83");
    P_OK(NICKCMP, "\xcf\x83", "\xcf\x83");
    P_OK(NICKCMP, "\xcf\x82", "\xcf\x82");
    /* ϔ: NFKC gives Ϋ, which the next round lowercases to ϋ, which NFKC
     * keeps: stable after re-application (RFC 8266 section 4). The RFC's
     * table shows the decomposed form; NFKC output is composed. */
    P_OK(NICKCMP, "\xcf\x94", "\xcf\x8b");
    P_OK(NICKCMP, "\xe2\x99\x9a", "\xe2\x99\x9a");
    P_OK(NICKCMP, "Richard \xe2\x85\xa3", "richard iv");
    P_OK(NICK, "Richard \xe2\x85\xa3", "Richard IV");
    P_OK(NICK, "  St\xc2\xa0\xc2\xa0Peter  ", "St Peter");
    P_OK(NICK, "Foo", "Foo");
    P_BAD(NICK, "   ");
    P_BAD(NICK, "\xc2\xa0");
    P_BAD(NICK, "a\nb");
}

static void test_bidi(void)
{
    /* Hebrew and Arabic letters: RTL strings that pass. */
    P_OK(UCM, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
    P_OK(UCM, "\xd7\x90" "1", "\xd7\x90" "1"); /* R then EN at the end */
    /* Rule 1: must start with L, R or AL (here EN). */
    P_BAD(UCM, "1\xd7\x90");
    /* Rule 2: no L in an RTL string. */
    P_BAD(UCM, "\xd7\x90" "a");
    /* Rule 4: EN and AN together (AN: ARABIC-INDIC DIGIT ONE is
     * CONTEXTO-valid without extended digits). */
    P_BAD(UCM, "\xd8\xa7" "1\xd9\xa1");
    /* Rule 6: an LTR string with an AN has RTL code points and must end
     * with L or EN: a + U+0661 fails (AN is not allowed in LTR, rule 5). */
    P_BAD(UCM, "a\xd9\xa1");
    /* Nicknames and passwords have no directionality rule. */
    P_OK(OPQ, "1\xd7\x90", "1\xd7\x90");
    /* Domain labels: a Bidi domain name needs every label to pass. */
    JID_OK("a@\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d.example",
           "a@\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d.example");
    JID_BAD("a@1abc.\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
    JID_OK("a@1abc.example", "a@1abc.example");
}

static void test_context_rules(void)
{
    /* CONTEXTO A.3: MIDDLE DOT only between two 'l' (Catalan). */
    P_OK(UCM, "col\xc2\xb7lecci\xc3\xb3", "col\xc2\xb7lecci\xc3\xb3");
    P_BAD(UCM, "co\xc2\xb7lecci\xc3\xb3");
    P_BAD(UCM, "\xc2\xb7l");
    JID_OK("a@col\xc2\xb7lecci\xc3\xb3.example", "a@col\xc2\xb7lecci\xc3\xb3.example");
    /* CONTEXTJ A.2: ZWJ after a virama (Devanagari KA + VIRAMA + ZWJ). */
    P_OK(UCM, "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7",
         "\xe0\xa4\x95\xe0\xa5\x8d\xe2\x80\x8d\xe0\xa4\xb7");
    P_BAD(UCM, "a\xe2\x80\x8d" "b");
    /* CONTEXTJ A.1: ZWNJ between joining letters (BEH ZWNJ BEH). */
    P_OK(UCM, "\xd8\xa8\xe2\x80\x8c\xd8\xa8", "\xd8\xa8\xe2\x80\x8c\xd8\xa8");
    P_BAD(UCM, "a\xe2\x80\x8c" "b");
    P_BAD(UCM, "\xe2\x80\x8c");
    /* A.4 KERAIA must be followed by Greek. */
    P_OK(OPQ, "\xcd\xb5\xce\xb1", "\xcd\xb5\xce\xb1");
    P_BAD(OPQ, "\xcd\xb5" "a");
    /* A.5 GERESH after Hebrew. */
    P_OK(OPQ, "\xd7\x90\xd7\xb3", "\xd7\x90\xd7\xb3");
    P_BAD(OPQ, "a\xd7\xb3");
    /* A.7 KATAKANA MIDDLE DOT needs Hiragana, Katakana or Han. */
    P_OK(UCM, "\xe3\x82\xa2\xe3\x83\xbb\xe3\x82\xa4",
         "\xe3\x82\xa2\xe3\x83\xbb\xe3\x82\xa4");
    P_BAD(UCM, "a\xe3\x83\xbb" "b");
    /* A.8/A.9: Arabic-Indic and extended Arabic-Indic digits never mix. */
    P_OK(UCM, "\xd8\xa8\xd9\xa1", "\xd8\xa8\xd9\xa1");
    P_BAD(UCM, "\xd8\xa8\xd9\xa1\xdb\xb1");
}

static void test_domain(void)
{
    JID_OK("Example.COM", "example.com");
    JID_OK("a@EXAMPLE.com.", "a@example.com");       /* one trailing dot */
    JID_BAD("a@example.com..");
    JID_BAD("a@.");
    JID_BAD("a@.example.com");
    JID_BAD("a@example..com");
    JID_BAD("a@-example.com");
    JID_BAD("a@example-.com");
    JID_BAD("a@exa_mple.com");
    JID_BAD("a@ab--cd.com");                         /* reserved LDH label */
    JID_OK("a@a-b.c-d", "a@a-b.c-d");
    /* 63-octet labels are fine, 64 are not. */
    JID_OK("a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
           "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com");
    JID_BAD("a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com");
    /* IP literals. */
    JID_OK("a@192.168.0.1/r", "a@192.168.0.1/r");
    JID_OK("a@[::1]/r", "a@[::1]/r");
    JID_OK("a@[2001:DB8:0:0:0:0:0:1]", "a@[2001:db8::1]");
    JID_BAD("a@[::1");
    JID_BAD("a@[nonsense]");
    JID_BAD("a@[]");
    /* U-labels: lowercased, width-mapped and NFC, then IDNA2008 checks. */
    JID_OK("a@CAF\xc3\x89.example", "a@caf\xc3\xa9.example");
    JID_OK("a@cafe\xcc\x81.example", "a@caf\xc3\xa9.example");
    JID_OK("a@\xef\xbd\x85xample.com", "a@example.com"); /* fullwidth e */
    JID_OK("a@\xef\xbd\x85x\xc3\xa4mple\xef\xbc\x8e" "com",
           "a@ex\xc3\xa4mple.com");                  /* fullwidth full stop */
    JID_BAD("a@\xe2\x99\x9a.example");              /* symbol */
    JID_BAD("a@\xcc\x81" "a.example");              /* leading mark */
    JID_BAD("a@\xc3\xa4" "b--c.example");           /* hyphens at 3-4 */
    JID_BAD("a@\xc3\xa4-.example");
    JID_BAD("a@a\xc2\xa0" "b.example");             /* NBSP */
    /* A-labels are checked and converted to U-labels. */
    JID_OK("a@xn--caf-dma.example", "a@caf\xc3\xa9.example");
    JID_OK("a@XN--CAF-DMA.example", "a@caf\xc3\xa9.example");
    JID_OK("xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
    JID_BAD("a@xn--.example");
    JID_BAD("a@xn--abc-.example");                   /* decodes to ASCII */
    JID_BAD("a@xn--a.example");                      /* bad Punycode */
    JID_BAD("a@xn--99999999999999.example");         /* out of range */
    JID_BAD("a@xn--CAF-DMA-x.example");
    /* xn--zca = "ß": PVALID in IDNA2008; xn--ss-... not a round trip. */
    JID_OK("a@xn--zca.example", "a@\xc3\x9f.example");
    /* Uppercase Cherokee is PVALID in IDNA2008 but the RFC 5895 mapping
     * lowercases it into DISALLOWED code points; the A-label must give the
     * same verdict as the typed U-label (found by fuzzing). */
    JID_BAD("a@xn--mbekcmmxam");
    JID_BAD("a@\xe1\x8f\xa3\xe1\x8f\xa3.example");
    /* An A-label for "Café" (uppercase) is not a valid U-label. */
    JID_BAD("a@xn--caf-yva.example");
    /* A U-label whose A-label would exceed 63 octets. */
    {
        char d[400] = "a@";
        for (int i = 0; i < 60; i++)
            strcat(d, "\xc3\xa9");
        strcat(d, ".example");
        JID_BAD(d);
    }
    /* '@' cannot be in a domain: "a@b@c". */
    JID_BAD("b@c@d");
}

static void test_lengths(void)
{
    char buf[4200];
    xmppcore_jid *j = NULL;
    /* Localpart of 1023 bytes is fine, 1024 is not. */
    memset(buf, 'a', 1023);
    strcpy(buf + 1023, "@example.com");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), 0);
    CHECK_EQ_INT(strlen(xmppcore_jid_local(j)), 1023);
    xmppcore_jid_free(j);
    memset(buf, 'a', 1024);
    strcpy(buf + 1024, "@example.com");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), XMPPCORE_E_JID);
    /* Counted after enforcement: 1023 fullwidth letters (3069 bytes) map
     * to 1023 bytes. */
    for (int i = 0; i < 1023; i++)
        memcpy(buf + 3 * i, "\xef\xbd\x81", 3);
    strcpy(buf + 3069, "@example.com");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), 0);
    CHECK_EQ_INT(strlen(xmppcore_jid_local(j)), 1023);
    xmppcore_jid_free(j);
    /* 512 two-byte letters are 1024 bytes. */
    for (int i = 0; i < 512; i++)
        memcpy(buf + 2 * i, "\xc3\xa9", 2);
    strcpy(buf + 1024, "@example.com");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), XMPPCORE_E_JID);
    /* Resourcepart: 1023 and 1024. */
    strcpy(buf, "a@b/");
    memset(buf + 4, 'r', 1023);
    buf[4 + 1023] = '\0';
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), 0);
    CHECK_EQ_INT(strlen(xmppcore_jid_resource(j)), 1023);
    xmppcore_jid_free(j);
    buf[4 + 1023] = 'r';
    buf[4 + 1024] = '\0';
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), XMPPCORE_E_JID);
    /* Domainpart: 1023 bytes of labels ("aaa.aaa...") and one more. */
    for (size_t i = 0; i < 1023; i++)
        buf[i] = (i % 4 == 3) ? '.' : 'a';
    buf[1022] = 'a';
    buf[1023] = '\0';
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), 0);
    CHECK_EQ_INT(strlen(xmppcore_jid_domain(j)), 1023);
    xmppcore_jid_free(j);
    buf[1023] = 'a';
    buf[1024] = '\0';
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), XMPPCORE_E_JID);
    /* Very long non-ASCII input is rejected, not truncated. */
    for (int i = 0; i < 1400; i++)
        memcpy(buf + 3 * i, "\xef\xbd\x81", 3);
    strcpy(buf + 4200 - 13, "@example.com");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, buf, (size_t)-1, &j), XMPPCORE_E_JID);
}

static void test_enforce_part(void)
{
    char out[1024];
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, "Juliet", 6,
                                           out, sizeof out), 6);
    CHECK_STR(out, "juliet");
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, "EXAMPLE.com.",
                                           12, out, sizeof out), 11);
    CHECK_STR(out, "example.com");
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_RESOURCE, "Home Phone",
                                           10, out, sizeof out), 10);
    CHECK_STR(out, "Home Phone");
    /* Output buffer too small: E_RANGE; exactly big enough: fine. */
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, "juliet", 6,
                                           out, 6), XMPPCORE_E_RANGE);
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, "juliet", 6,
                                           out, 7), 6);
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, "a@b", 3, out,
                                           sizeof out), XMPPCORE_E_JID);
    CHECK_EQ_INT(xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, "", 0, out,
                                           sizeof out), XMPPCORE_E_JID);
    CHECK_EQ_INT(xmppcore_jid_enforce_part(7, "a", 1, out, sizeof out),
                 XMPPCORE_E_INVAL);
    /* xi_precis_enforce reports a too-small buffer as E_RANGE. */
    CHECK_EQ_INT(xi_precis_enforce(OPQ, "\xc3\xa9t\xc3\xa9", 5, out, 5),
                 XMPPCORE_E_RANGE);
    CHECK_EQ_INT(xi_precis_enforce(99, "a", 1, out, sizeof out),
                 XMPPCORE_E_INVAL);
}

static void test_objects(void)
{
    xmppcore_jid *a = NULL, *b = NULL, *c, *bare;
    CHECK_EQ_INT(xmppcore_jid_new(NULL, "Romeo", "Example.NET", "Orchard", &a),
                 0);
    CHECK_STR(xmppcore_jid_str(a), "romeo@example.net/Orchard");
    CHECK_EQ_INT(xmppcore_jid_parse(NULL, "romeo@example.net/orchard",
                                    (size_t)-1, &b), 0);
    CHECK(!xmppcore_jid_equal(a, b)); /* resources differ in case */
    CHECK(xmppcore_jid_bare_equal(a, b));
    c = xmppcore_jid_copy(a);
    CHECK(c != NULL && xmppcore_jid_equal(a, c));
    bare = xmppcore_jid_bare(a);
    CHECK(bare != NULL);
    CHECK_STR(xmppcore_jid_str(bare), "romeo@example.net");
    CHECK(xmppcore_jid_resource(bare) == NULL);
    CHECK(xmppcore_jid_bare_equal(bare, a));
    CHECK(!xmppcore_jid_equal(bare, a));
    xmppcore_jid_free(c);
    xmppcore_jid_free(bare);
    xmppcore_jid_free(b);
    xmppcore_jid_free(a);
    xmppcore_jid_free(NULL);

    CHECK_EQ_INT(xmppcore_jid_new(NULL, NULL, "example.net", NULL, &a), 0);
    CHECK_STR(xmppcore_jid_str(a), "example.net");
    CHECK(xmppcore_jid_local(a) == NULL);
    xmppcore_jid_free(a);
    CHECK_EQ_INT(xmppcore_jid_new(NULL, "", "example.net", NULL, &a),
                 XMPPCORE_E_JID);
    CHECK(a == NULL);
    CHECK_EQ_INT(xmppcore_jid_new(NULL, "x", NULL, NULL, &a),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_jid_new(NULL, "x", "b", "", &a), XMPPCORE_E_JID);
}

/* Every allocation made by the JID calls can fail without leaking. */
static void test_oom(void)
{
    int done = 0;
    for (long fail = 1; fail < 20 && !done; fail++) {
        tl_failmem fm;
        xmppcore_mem mem = tl_failmem_make(&fm, fail);
        xmppcore_jid *j = NULL;
        int rc = xmppcore_jid_parse(&mem, "\xc3\x89lise@caf\xc3\xa9.example/r",
                                    (size_t)-1, &j);
        if (fm.failed) {
            CHECK_EQ_INT(rc, XMPPCORE_E_NOMEM);
            CHECK(j == NULL);
        } else {
            CHECK_EQ_INT(rc, 0);
            xmppcore_jid *c = xmppcore_jid_copy(j);
            xmppcore_jid *b = xmppcore_jid_bare(j);
            CHECK(fm.failed || (c && b));
            xmppcore_jid_free(c);
            xmppcore_jid_free(b);
            if (!fm.failed)
                done = 1;
        }
        xmppcore_jid_free(j);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(done);
    /* copy and bare fail cleanly too. */
    for (long fail = 1; fail <= 2; fail++) {
        tl_failmem fm;
        xmppcore_mem mem = tl_failmem_make(&fm, 0);
        xmppcore_jid *j = NULL;
        CHECK_EQ_INT(xmppcore_jid_parse(&mem, "a@b/c", (size_t)-1, &j), 0);
        fm.fail_at = fm.count + fail;
        xmppcore_jid *c = xmppcore_jid_copy(j);
        xmppcore_jid *b = xmppcore_jid_bare(j);
        CHECK((fail == 1) ? c == NULL && b != NULL : c != NULL && b == NULL);
        xmppcore_jid_free(c);
        xmppcore_jid_free(b);
        xmppcore_jid_free(j);
        CHECK_EQ_INT(fm.live, 0);
    }
}

static void test_punycode(void)
{
    /* RFC 3492 section 7.1 sample (A) Arabic (Egyptian). */
    static const uint32_t arabic[] = {
        0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643,
        0x0644, 0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A,
        0x061F};
    char out[64];
    uint32_t back[64];
    int n = xi_punycode_encode(arabic, XI_ARRAY_LEN(arabic), out, sizeof out);
    CHECK(n > 0);
    if (n > 0) {
        out[n] = '\0';
        CHECK_STR(out, "egbpdaj6bu4bxfgehfvwxn");
        int m = xi_punycode_decode(out, (size_t)n, back, XI_ARRAY_LEN(back));
        CHECK_EQ_INT(m, (int)XI_ARRAY_LEN(arabic));
        CHECK(m > 0 && memcmp(back, arabic, sizeof arabic) == 0);
    }
    /* (L) 3<nen>B<gumi><kinpachi><sensei>: mixed basic and non-basic. */
    static const uint32_t mixed[] = {0x0033, 0x5E74, 0x0042, 0x7D44,
                                     0x91D1, 0x516B, 0x5148, 0x751F};
    n = xi_punycode_encode(mixed, XI_ARRAY_LEN(mixed), out, sizeof out);
    CHECK(n > 0);
    if (n > 0) {
        out[n] = '\0';
        CHECK_STR(out, "3B-ww4c5e180e575a65lsy2b");
    }
    CHECK_EQ_INT(xi_punycode_encode(mixed, XI_ARRAY_LEN(mixed), out, 5),
                 XMPPCORE_E_RANGE);
    CHECK_EQ_INT(xi_punycode_decode("!!", 2, back, 64), XMPPCORE_E_JID);
}

static size_t parse_cps(const char *field, uint32_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = field;
    while (*p && *p != ';' && n < cap) {
        char *end;
        unsigned long v = strtoul(p, &end, 16);
        if (end == p)
            break;
        out[n++] = (uint32_t)v;
        p = end;
        while (*p == ' ')
            p++;
    }
    return n;
}

static int same(const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
    return an == bn && memcmp(a, b, an * sizeof *a) == 0;
}

/* UAX #15 conformance: for every line c1;c2;c3;c4;c5 of
 * NormalizationTest.txt, c2 == NFC(c1) == NFC(c2) == NFC(c3),
 * c4 == NFC(c4) == NFC(c5), and c4 == NFKC(c1..c5). */
static void test_normalization_conformance(void)
{
    FILE *f = fopen(xi_unicode_normtest_file(), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[2048];
    long lines = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '@' || line[0] == '\n')
            continue;
        uint32_t c[5][64], r[256];
        size_t cn[5];
        const char *p = line;
        for (int k = 0; k < 5; k++) {
            cn[k] = parse_cps(p, c[k], 64);
            p = strchr(p, ';');
            if (!p)
                break;
            p++;
        }
        lines++;
        for (int k = 0; k < 5; k++) {
            const uint32_t *want_c = k < 3 ? c[1] : c[3];
            size_t want_cn = k < 3 ? cn[1] : cn[3];
            int n = xi_unicode_normalize(0, c[k], cn[k], r, 256);
            int ok = n >= 0 && same(r, (size_t)n, want_c, want_cn);
            n = xi_unicode_normalize(1, c[k], cn[k], r, 256);
            ok = ok && n >= 0 && same(r, (size_t)n, c[3], cn[3]);
            if (!ok && bad++ < 5)
                fprintf(stderr, "NormalizationTest mismatch: %s", line);
        }
    }
    fclose(f);
    CHECK(lines > 19000);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN(TEST_ENTRY(test_rfc7622_examples), TEST_ENTRY(test_split),
          TEST_ENTRY(test_localpart), TEST_ENTRY(test_resourcepart),
          TEST_ENTRY(test_rfc8265_examples), TEST_ENTRY(test_rfc8266_examples),
          TEST_ENTRY(test_bidi), TEST_ENTRY(test_context_rules),
          TEST_ENTRY(test_domain), TEST_ENTRY(test_lengths),
          TEST_ENTRY(test_enforce_part), TEST_ENTRY(test_objects),
          TEST_ENTRY(test_oom), TEST_ENTRY(test_punycode),
          TEST_ENTRY(test_normalization_conformance))

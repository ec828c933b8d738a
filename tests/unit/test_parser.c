/* Unit tests for the XML stream parser: chunking, restricted XML, limits,
 * restarts and stops, out-of-memory behaviour. */
#include "testlib.h"

/* Records every event as text, so runs can be compared. */
typedef struct {
    xmppcore_parser *p;
    xmppcore_buffer *log;
    int headers, stanzas, ends;
    const char *reset_on;  /* element name that triggers a reset */
    const char *stop_on;   /* element name that triggers a stop */
    xmppcore_stanza *last; /* kept copy of the last stanza */
} rec;

static void on_header(void *ud, const xmppcore_stanza *h, const char *dns)
{
    rec *r = ud;
    r->headers++;
    const char *to = xmppcore_stanza_attr(h, "to");
    char line[512];
    snprintf(line, sizeof line, "[header ns=%s to=%s ver=%s]", dns, to ? to : "-",
             xmppcore_stanza_attr(h, "version") ? xmppcore_stanza_attr(h, "version") : "-");
    xmppcore_buffer_append(r->log, line, strlen(line));
}

static void on_stanza(void *ud, xmppcore_stanza *s)
{
    rec *r = ud;
    r->stanzas++;
    xmppcore_stanza_serialize(s, NULL, r->log);
    if (r->reset_on && strcmp(xmppcore_stanza_name(s), r->reset_on) == 0)
        CHECK_EQ_INT(xmppcore_parser_reset(r->p), 0);
    if (r->stop_on && strcmp(xmppcore_stanza_name(s), r->stop_on) == 0)
        xmppcore_parser_stop(r->p);
    xmppcore_stanza_free(r->last);
    r->last = s;
}

static void on_end(void *ud)
{
    rec *r = ud;
    r->ends++;
    xmppcore_buffer_append(r->log, "[end]", 5);
}

static const xmppcore_parser_callbacks cbs = {
    XMPPCORE_PARSER_CALLBACKS_VERSION, on_header, on_stanza, on_end};

static void rec_init(rec *r, const xmppcore_mem *mem)
{
    memset(r, 0, sizeof *r);
    r->log = xmppcore_buffer_new(NULL);
    r->p = xmppcore_parser_new(&cbs, r, mem);
}

static void rec_done(rec *r)
{
    xmppcore_parser_free(r->p);
    xmppcore_buffer_free(r->log);
    xmppcore_stanza_free(r->last);
}

/* Feeds s in chunks of size chunk (0: all at once); returns the first
 * error. */
static int feed_chunks(rec *r, const char *s, size_t len, size_t chunk)
{
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        int rc = xmppcore_parser_feed(r->p, s + off, n, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_all(const char *s, size_t chunk, char *log, size_t logsz)
{
    rec r;
    rec_init(&r, NULL);
    int rc = feed_chunks(&r, s, strlen(s), chunk);
    if (log)
        snprintf(log, logsz, "%s", xmppcore_buffer_data(r.log));
    rec_done(&r);
    return rc;
}

#define HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
            "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' " \
            "version='1.0' xml:lang='en'>"

static const char *stream_text =
    HDR
    "<message to='juliet@example.com' type='chat' id='m1'>"
    "<body>Wherefore art thou, Romeo? &lt;3 &amp; &#x263A; &#9731;</body>"
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>\n  \n"
    "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
    "node='http://gajim.org' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
    "<priority>5</priority></presence> "
    "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>"
    "<p:x xmlns:p='urn:prefixed' p:attr='v'><p:y/><z/></p:x>"
    "<![CDATA[ ]]>"
    "<message><body><![CDATA[<not markup>]]> text \xc3\xa9\xf0\x9f\x98\x80</body></message>"
    "</stream:stream>";

static void test_basic_stream(void)
{
    char log[8192];
    CHECK_EQ_INT(parse_all(stream_text, 0, log, sizeof log), 0);
    CHECK_STR(log,
        "[header ns=jabber:client to=example.com ver=1.0]"
        "<message xmlns=\"jabber:client\" to=\"juliet@example.com\" type=\"chat\" id=\"m1\">"
        "<body>Wherefore art thou, Romeo? &lt;3 &amp; \xe2\x98\xba \xe2\x98\x83</body>"
        "<active xmlns=\"http://jabber.org/protocol/chatstates\"/></message>"
        "<presence xmlns=\"jabber:client\"><c xmlns=\"http://jabber.org/protocol/caps\" hash=\"sha-1\" "
        "node=\"http://gajim.org\" ver=\"QgayPKawpkPSDYmwT/WM94uAlu0=\"/>"
        "<priority>5</priority></presence>"
        "<iq xmlns=\"jabber:client\" type=\"get\" id=\"r1\"><query xmlns=\"jabber:iq:roster\"/></iq>"
        "<x xmlns=\"urn:prefixed\" xmlns:ns0=\"urn:prefixed\" ns0:attr=\"v\"><y/>"
        "<z xmlns=\"jabber:client\"/></x>"
        "<message xmlns=\"jabber:client\"><body>&lt;not markup&gt; text \xc3\xa9\xf0\x9f\x98\x80</body></message>"
        "[end]");
}

static void test_chunking_equivalence(void)
{
    char whole[8192], piece[8192];
    CHECK_EQ_INT(parse_all(stream_text, 0, whole, sizeof whole), 0);
    for (size_t chunk = 1; chunk <= 13; chunk++) {
        CHECK_EQ_INT(parse_all(stream_text, chunk, piece, sizeof piece), 0);
        CHECK_STR(piece, whole);
    }
}

static void test_delivered_on_last_byte(void)
{
    /* A stanza must come out of the feed call that brings its last byte:
     * no lookahead, no reparse deferral. */
    rec r;
    rec_init(&r, NULL);
    const char *h = HDR;
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, h, strlen(h), NULL), 0);
    CHECK_EQ_INT(r.headers, 1);
    const char *m = "<message to='a@b'><body>hello</body></message>";
    size_t n = strlen(m);
    /* A large first part, as expat's deferral heuristics key on size. */
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, m, n - 1, NULL), 0);
    CHECK_EQ_INT(r.stanzas, 0);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, m + n - 1, 1, NULL), 0);
    CHECK_EQ_INT(r.stanzas, 1);
    /* The same for a big stanza split unevenly. */
    char big[20000];
    strcpy(big, "<message><body>");
    size_t off = strlen(big);
    memset(big + off, 'x', 16000);
    strcpy(big + off + 16000, "</body></message>");
    n = strlen(big);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, big, 7, NULL), 0);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, big + 7, n - 8, NULL), 0);
    CHECK_EQ_INT(r.stanzas, 1);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, big + n - 1, 1, NULL), 0);
    CHECK_EQ_INT(r.stanzas, 2);
    CHECK_EQ_INT(strlen(xmppcore_stanza_child_text(r.last, "body", NULL)), 16000);
    /* The header, too, is delivered on its own last byte. */
    rec_done(&r);
    rec_init(&r, NULL);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, h, strlen(h) - 1, NULL), 0);
    CHECK_EQ_INT(r.headers, 0);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, h + strlen(h) - 1, 1, NULL), 0);
    CHECK_EQ_INT(r.headers, 1);
    rec_done(&r);
}

static int stream_with(const char *body)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", HDR, body);
    int rc1 = parse_all(buf, 0, NULL, 0);
    int rc2 = parse_all(buf, 1, NULL, 0);
    CHECK_EQ_INT(rc1, rc2);
    return rc1;
}

static void test_restricted_xml(void)
{
    CHECK_EQ_INT(stream_with("<!-- hi -->"), XMPPCORE_E_RESTRICTED_XML);
    CHECK_EQ_INT(stream_with("<message><!-- hi --></message>"), XMPPCORE_E_RESTRICTED_XML);
    CHECK_EQ_INT(stream_with("<?php echo 1; ?>"), XMPPCORE_E_RESTRICTED_XML);
    CHECK_EQ_INT(stream_with("<message><?pi x?></message>"), XMPPCORE_E_RESTRICTED_XML);
    CHECK_EQ_INT(parse_all("<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'aaaa'>]>"
                           "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", 0, NULL, 0),
                 XMPPCORE_E_RESTRICTED_XML);
    /* billion laughs never expands */
    CHECK_EQ_INT(parse_all("<!DOCTYPE s [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>"
                           "<s>&b;</s>", 1, NULL, 0), XMPPCORE_E_RESTRICTED_XML);
    /* undefined entity references are not XML */
    CHECK_EQ_INT(stream_with("<message><body>&foo;</body></message>"), XMPPCORE_E_XML);
    /* predefined entities and character references are fine */
    CHECK_EQ_INT(stream_with("<message><body>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;</body></message>"), 0);
    /* a character reference to a forbidden character is not */
    CHECK_EQ_INT(stream_with("<message><body>&#0;</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>&#1;</body></message>"), XMPPCORE_E_XML);
}

static void test_encoding_and_utf8(void)
{
    CHECK_EQ_INT(parse_all("<?xml version='1.0' encoding='ISO-8859-1'?>"
                           "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", 0, NULL, 0),
                 XMPPCORE_E_ENCODING);
    CHECK_EQ_INT(parse_all("<?xml version='1.0' encoding='utf-8'?>"
                           "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", 0, NULL, 0), 0);
    CHECK_EQ_INT(stream_with("<message><body>\xc3\x28</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>\xed\xa0\x80</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>\xc0\xaf</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>\xef\xbf\xbe</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>\x01</body></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message to='\xff'/>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message><body>a</bod></message>"), XMPPCORE_E_XML);
    CHECK_EQ_INT(stream_with("<message a='1' a='2'/>"), XMPPCORE_E_XML);
}

static void test_namespaces(void)
{
    CHECK_EQ_INT(stream_with("<foo:bar/>"), XMPPCORE_E_BAD_PREFIX);
    CHECK_EQ_INT(stream_with("<message foo:attr='1'/>"), XMPPCORE_E_BAD_PREFIX);
    CHECK_EQ_INT(stream_with("<message xmlns:xml='urn:wrong'/>"), XMPPCORE_E_BAD_PREFIX);
    CHECK_EQ_INT(parse_all("<stream:stream xmlns:stream='urn:not-streams'>", 0, NULL, 0),
                 XMPPCORE_E_INVALID_NAMESPACE);
    CHECK_EQ_INT(parse_all("<stream xmlns='jabber:client'>", 0, NULL, 0),
                 XMPPCORE_E_INVALID_NAMESPACE);
    CHECK_EQ_INT(parse_all("<stream:stream>", 0, NULL, 0), XMPPCORE_E_BAD_PREFIX);
    CHECK_EQ_INT(parse_all("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>", 0, NULL, 0),
                 XMPPCORE_E_XML);
    /* a header with another prefix for the streams namespace is fine */
    char log[512];
    CHECK_EQ_INT(parse_all("<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:server'><s:features/>",
                           0, log, sizeof log), 0);
    CHECK_STR(log, "[header ns=jabber:server to=- ver=-]<features xmlns=\"http://etherx.jabber.org/streams\"/>");
}

static void test_limits(void)
{
    rec r;
    /* stanza bytes */
    rec_init(&r, NULL);
    CHECK_EQ_INT(xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_STANZA_BYTES, 1000), 0);
    CHECK_EQ_INT(xmppcore_parser_get_limit(r.p, XMPPCORE_LIMIT_STANZA_BYTES), 1000);
    CHECK_EQ_INT(xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_STANZA_BYTES, 0), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_parser_set_limit(r.p, (xmppcore_parser_limit)99, 1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(feed_chunks(&r, HDR, strlen(HDR), 0), 0);
    char body[3000];
    memset(body, 'a', sizeof body);
    CHECK_EQ_INT(feed_chunks(&r, "<message><body>", 15, 0), 0);
    /* under the limit in total: fine; then over */
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, body, 900, NULL), 0);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, body, 900, NULL), XMPPCORE_E_POLICY);
    CHECK(strstr(xmppcore_parser_error_text(r.p), "1000") != NULL);
    /* dead after an error */
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, "<a/>", 4, NULL), XMPPCORE_E_POLICY);
    /* a reset revives it */
    CHECK_EQ_INT(xmppcore_parser_reset(r.p), 0);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<a/>", strlen(HDR) + 4, 0), 0);
    rec_done(&r);

    /* an attribute value that never ends is cut off, not buffered forever */
    rec_init(&r, NULL);
    xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_STANZA_BYTES, 10000);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<message to='", strlen(HDR) + 13, 0), 0);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = xmppcore_parser_feed(r.p, body, 1000, NULL);
    CHECK_EQ_INT(rc, XMPPCORE_E_POLICY);
    rec_done(&r);

    /* whitespace keepalives between stanzas never add up */
    rec_init(&r, NULL);
    xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_STANZA_BYTES, 100);
    CHECK_EQ_INT(feed_chunks(&r, HDR, strlen(HDR), 0), 0);
    rc = 0;
    for (int i = 0; i < 2000 && rc == 0; i++)
        rc = xmppcore_parser_feed(r.p, " ", 1, NULL);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, "<a/>", 4, NULL), 0);
    CHECK_EQ_INT(r.stanzas, 1);
    rec_done(&r);

    /* depth */
    rec_init(&r, NULL);
    xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_DEPTH, 3);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<a><b><c/></b></a>", strlen(HDR) + 18, 0), 0);
    CHECK_EQ_INT(feed_chunks(&r, "<a><b><c><d/></c></b></a>", 25, 0), XMPPCORE_E_POLICY);
    rec_done(&r);
    /* default depth: 1000 nested elements fail */
    char deep[8000] = "";
    for (int i = 0; i < 1000; i++)
        strcat(deep, "<a>");
    CHECK_EQ_INT(stream_with(deep), XMPPCORE_E_POLICY);

    /* attributes */
    rec_init(&r, NULL);
    xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_ATTRS, 3); /* header has 3 */
    CHECK_EQ_INT(feed_chunks(&r, HDR "<a x='1' y='2' z='3'/>", strlen(HDR) + 22, 0), 0);
    CHECK_EQ_INT(feed_chunks(&r, "<a x='1' y='2' z='3' w='4'/>", 28, 0), XMPPCORE_E_POLICY);
    rec_done(&r);

    /* header bytes */
    rec_init(&r, NULL);
    xmppcore_parser_set_limit(r.p, XMPPCORE_LIMIT_HEADER_BYTES, 100);
    CHECK_EQ_INT(feed_chunks(&r, HDR, strlen(HDR), 1), XMPPCORE_E_POLICY);
    CHECK_EQ_INT(r.headers, 0);
    rec_done(&r);
}

static void test_restart_in_callback(void)
{
    /* After <success/> the client sends a new header in the same read. */
    rec r;
    rec_init(&r, NULL);
    r.reset_on = "success";
    const char *s = HDR "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
                        HDR "<iq type='set' id='b'/>";
    char whole[2048];
    CHECK_EQ_INT(feed_chunks(&r, s, strlen(s), 0), 0);
    CHECK_EQ_INT(r.headers, 2);
    CHECK_EQ_INT(r.stanzas, 2);
    snprintf(whole, sizeof whole, "%s", xmppcore_buffer_data(r.log));
    rec_done(&r);
    for (size_t chunk = 1; chunk < 7; chunk++) {
        rec_init(&r, NULL);
        r.reset_on = "success";
        CHECK_EQ_INT(feed_chunks(&r, s, strlen(s), chunk), 0);
        CHECK_STR(xmppcore_buffer_data(r.log), whole);
        rec_done(&r);
    }
    /* without the reset, a second XML declaration is an error */
    rec_init(&r, NULL);
    CHECK_EQ_INT(feed_chunks(&r, s, strlen(s), 0), XMPPCORE_E_XML);
    rec_done(&r);
}

static void test_stop_in_callback(void)
{
    /* At <starttls/> the bytes that follow belong to TLS. */
    rec r;
    rec_init(&r, NULL);
    r.stop_on = "starttls";
    const char *pre = HDR "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
    char s[1024];
    snprintf(s, sizeof s, "%s\x16\x03\x01 binary", pre);
    size_t consumed = 0;
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, s, strlen(s), &consumed), 0);
    CHECK_EQ_INT(consumed, strlen(pre));
    CHECK_EQ_INT(r.stanzas, 1);
    /* a feed without the reset is refused */
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, "<a/>", 4, NULL), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xmppcore_parser_reset(r.p), 0);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<a/>", strlen(HDR) + 4, 0), 0);
    CHECK_EQ_INT(r.headers, 2);
    CHECK_EQ_INT(r.stanzas, 2);
    rec_done(&r);
}

static void test_stream_level_text_and_end(void)
{
    char log[512];
    CHECK_EQ_INT(parse_all(HDR " \n\t <a/> </stream:stream>", 1, log, sizeof log), 0);
    CHECK_STR(log, "[header ns=jabber:client to=example.com ver=1.0]<a xmlns=\"jabber:client\"/>[end]");
    /* anything after the end is not XML */
    CHECK_EQ_INT(parse_all(HDR "</stream:stream><a/>", 0, NULL, 0), XMPPCORE_E_XML);
}

static void test_large_stanza_across_slices(void)
{
    static char buf[200000];
    strcpy(buf, HDR "<message><body>");
    size_t off = strlen(buf);
    for (int i = 0; i < 150000; i++)
        buf[off + i] = (char)('a' + i % 26);
    strcpy(buf + off + 150000, "</body></message>");
    rec r;
    rec_init(&r, NULL);
    CHECK_EQ_INT(feed_chunks(&r, buf, strlen(buf), 0), 0);
    CHECK_EQ_INT(r.stanzas, 1);
    const char *t = xmppcore_stanza_child_text(r.last, "body", NULL);
    CHECK(t && strlen(t) == 150000 && memcmp(t, buf + off, 150000) == 0);
    rec_done(&r);
}

static void test_stanza_parse(void)
{
    xmppcore_stanza *s;
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, "<a xmlns='u'><b>t</b></a>", 25, &s), 0);
    CHECK_STR(xmppcore_stanza_child_text(s, "b", "u"), "t");
    xmppcore_stanza_free(s);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, "<a><b>", 6, &s), XMPPCORE_E_XML);
    CHECK(s == NULL);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, "<a/><b/>", 8, &s), XMPPCORE_E_XML);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, "", 0, &s), XMPPCORE_E_XML);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, "<a><!--c--></a>", 15, &s), XMPPCORE_E_RESTRICTED_XML);
}

static void test_oom(void)
{
    tl_failmem fm;
    int completed = 0;
    for (long n = 1; n < 400 && !completed; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        rec r;
        rec_init(&r, &m);
        if (r.p) {
            int rc = feed_chunks(&r, stream_text, strlen(stream_text), 7);
            CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
            if (rc == 0 && !fm.failed)
                completed = 1;
        }
        xmppcore_stanza_free(r.last);
        r.last = NULL;
        rec_done(&r);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(completed);
}

static void test_stop_and_resume(void)
{
    /* Stopping after an element and resuming the same stream gives the
     * same events as never stopping. */
    const char *s = "<s:stream xmlns:s='http://etherx.jabber.org/streams' "
                    "xmlns='jabber:client' xmlns:x='urn:x' to='d'>"
                    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
                    "<message><body>after</body><x:y/></message></s:stream>";
    char whole[2048];
    CHECK_EQ_INT(parse_all(s, 0, whole, sizeof whole), 0);
    rec r;
    rec_init(&r, NULL);
    r.stop_on = "auth";
    size_t consumed = 0, len = strlen(s);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, s, len, &consumed), 0);
    CHECK(consumed < len);
    CHECK_EQ_INT(r.stanzas, 1);
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, "<a/>", 4, NULL), XMPPCORE_E_STATE);
    CHECK_EQ_INT(xmppcore_parser_resume(r.p), 0);
    r.stop_on = NULL;
    CHECK_EQ_INT(xmppcore_parser_feed(r.p, s + consumed, len - consumed, NULL), 0);
    CHECK_STR(xmppcore_buffer_data(r.log), whole);
    CHECK_EQ_INT(r.ends, 1);
    rec_done(&r);
}

static long hib_live;
static void *hib_malloc(size_t n, void *ud)
{
    (void)ud;
    size_t *p = malloc(n + sizeof(size_t) * 2);
    p[0] = n;
    hib_live += (long)n;
    return p + 2;
}
static void *hib_realloc(void *q, size_t n, void *ud)
{
    (void)ud;
    size_t *p = (size_t *)q - 2;
    hib_live -= (long)p[0];
    p = realloc(p, n + sizeof(size_t) * 2);
    p[0] = n;
    hib_live += (long)n;
    return p + 2;
}
static void hib_free(void *q, void *ud)
{
    (void)ud;
    size_t *p = (size_t *)q - 2;
    hib_live -= (long)p[0];
    free(p);
}

static void test_hibernate(void)
{
    char whole[8192];
    CHECK_EQ_INT(parse_all(stream_text, 0, whole, sizeof whole), 0);
    /* Hibernating after every feed, wherever allowed, changes nothing. */
    for (size_t chunk = 1; chunk <= 9; chunk += 4) {
        rec r;
        rec_init(&r, NULL);
        int slept = 0;
        for (size_t off = 0; off < strlen(stream_text); off += chunk) {
            size_t n = strlen(stream_text) - off < chunk ? strlen(stream_text) - off : chunk;
            CHECK_EQ_INT(xmppcore_parser_feed(r.p, stream_text + off, n, NULL), 0);
            if (xmppcore_parser_hibernate(r.p) == 0)
                slept++;
        }
        if (chunk == 1)
            CHECK(slept > 3);
        CHECK_STR(xmppcore_buffer_data(r.log), whole);
        rec_done(&r);
    }
    /* Not inside a stanza, nor before the header. */
    rec r;
    rec_init(&r, NULL);
    CHECK_EQ_INT(xmppcore_parser_hibernate(r.p), XMPPCORE_E_STATE);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<message><body>", strlen(HDR) + 15, 0), 0);
    CHECK_EQ_INT(xmppcore_parser_hibernate(r.p), XMPPCORE_E_STATE);
    CHECK_EQ_INT(feed_chunks(&r, "x</body></message>", 18, 0), 0);
    CHECK_EQ_INT(xmppcore_parser_hibernate(r.p), 0);
    CHECK_EQ_INT(xmppcore_parser_hibernate(r.p), 0);
    CHECK_EQ_INT(feed_chunks(&r, "<iq type='get' id='1'/>", 23, 0), 0);
    CHECK_EQ_INT(r.stanzas, 2);
    rec_done(&r);
    /* It gives back most of the memory of an idle stream. */
    xmppcore_mem m = {XMPPCORE_MEM_VERSION, NULL, hib_malloc, hib_realloc, hib_free};
    rec_init(&r, &m);
    CHECK_EQ_INT(feed_chunks(&r, HDR "<presence/>", strlen(HDR) + 11, 0), 0);
    xmppcore_stanza_free(r.last);
    r.last = NULL;
    long awake = hib_live;
    CHECK_EQ_INT(xmppcore_parser_hibernate(r.p), 0);
    long asleep = hib_live;
    CHECK(asleep < 1024);
    CHECK(awake > 4 * asleep);
    printf("idle parser: %ld bytes awake, %ld hibernated\n", awake, asleep);
    CHECK_EQ_INT(feed_chunks(&r, "<presence/></stream:stream>", 27, 0), 0);
    CHECK_EQ_INT(r.ends, 1);
    rec_done(&r);
    CHECK_EQ_INT(hib_live, 0);
}

TEST_MAIN(TEST_ENTRY(test_basic_stream), TEST_ENTRY(test_chunking_equivalence),
          TEST_ENTRY(test_delivered_on_last_byte), TEST_ENTRY(test_restricted_xml),
          TEST_ENTRY(test_encoding_and_utf8), TEST_ENTRY(test_namespaces),
          TEST_ENTRY(test_limits), TEST_ENTRY(test_restart_in_callback),
          TEST_ENTRY(test_stop_in_callback), TEST_ENTRY(test_stream_level_text_and_end),
          TEST_ENTRY(test_large_stanza_across_slices), TEST_ENTRY(test_stanza_parse),
          TEST_ENTRY(test_stop_and_resume), TEST_ENTRY(test_hibernate),
          TEST_ENTRY(test_oom))

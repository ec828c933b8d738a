/* Unit tests for stanza trees and the serializer. */
#include "testlib.h"

static char *ser(const xmppcore_stanza *s, const char *outer)
{
    static char out[65536];
    xmppcore_buffer *b = xmppcore_buffer_new(NULL);
    if (xmppcore_stanza_serialize(s, outer, b) != 0) {
        xmppcore_buffer_free(b);
        return NULL;
    }
    snprintf(out, sizeof out, "%s", xmppcore_buffer_data(b));
    xmppcore_buffer_free(b);
    return out;
}

static void test_build_and_query(void)
{
    xmppcore_stanza *m = xmppcore_stanza_new(NULL, "message", "jabber:client");
    CHECK(m != NULL);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(m, "to", "juliet@example.com"), 0);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(m, "type", "chat"), 0);
    CHECK_EQ_INT(xmppcore_stanza_set_attr_ns(m, XMPPCORE_NS_XML, "lang", "en"), 0);
    xmppcore_stanza *body = xmppcore_stanza_add_child(m, "body", NULL);
    CHECK(body != NULL);
    CHECK_EQ_INT(xmppcore_stanza_add_text(body, "Art thou ", (size_t)-1), 0);
    CHECK_EQ_INT(xmppcore_stanza_add_text(body, "not Romeo?", 10), 0);
    xmppcore_stanza *r = xmppcore_stanza_add_child(m, "request", "urn:xmpp:receipts");
    CHECK(r != NULL);

    CHECK_STR(xmppcore_stanza_name(m), "message");
    CHECK_STR(xmppcore_stanza_ns(body), "jabber:client");
    CHECK_STR(xmppcore_stanza_ns(r), "urn:xmpp:receipts");
    CHECK_STR(xmppcore_stanza_attr(m, "to"), "juliet@example.com");
    CHECK(xmppcore_stanza_attr(m, "lang") == NULL);
    CHECK_STR(xmppcore_stanza_attr_ns(m, XMPPCORE_NS_XML, "lang"), "en");
    CHECK_EQ_INT(xmppcore_stanza_attr_count(m), 3);
    CHECK_STR(xmppcore_stanza_child_text(m, "body", NULL), "Art thou not Romeo?");
    CHECK(xmppcore_stanza_child(m, "request", "urn:xmpp:receipts") == r);
    CHECK(xmppcore_stanza_child(m, "request", "jabber:client") == NULL);
    CHECK(xmppcore_stanza_child(m, NULL, "urn:xmpp:receipts") == r);
    CHECK(xmppcore_stanza_next_match(body, NULL, NULL) == r);
    CHECK(xmppcore_stanza_parent(r) == m);
    CHECK(xmppcore_stanza_parent(m) == NULL);
    CHECK(xmppcore_stanza_child_text(m, "subject", NULL) == NULL);
    const char *ns, *name, *value;
    CHECK_EQ_INT(xmppcore_stanza_attr_at(m, 2, &ns, &name, &value), 0);
    CHECK_STR(ns, XMPPCORE_NS_XML);
    CHECK_STR(name, "lang");
    CHECK_EQ_INT(xmppcore_stanza_attr_at(m, 3, &ns, &name, &value), XMPPCORE_E_RANGE);

    CHECK_STR(ser(m, "jabber:client"),
              "<message to=\"juliet@example.com\" type=\"chat\" xml:lang=\"en\">"
              "<body>Art thou not Romeo?</body>"
              "<request xmlns=\"urn:xmpp:receipts\"/></message>");
    CHECK_STR(ser(m, NULL),
              "<message xmlns=\"jabber:client\" to=\"juliet@example.com\" "
              "type=\"chat\" xml:lang=\"en\"><body>Art thou not Romeo?</body>"
              "<request xmlns=\"urn:xmpp:receipts\"/></message>");

    /* change and remove attributes */
    CHECK_EQ_INT(xmppcore_stanza_set_attr(m, "type", "normal"), 0);
    CHECK_STR(xmppcore_stanza_attr(m, "type"), "normal");
    CHECK_EQ_INT(xmppcore_stanza_set_attr(m, "type", NULL), 0);
    CHECK(xmppcore_stanza_attr(m, "type") == NULL);
    CHECK_EQ_INT(xmppcore_stanza_attr_count(m), 2);
    /* remove a child */
    CHECK_EQ_INT(xmppcore_stanza_remove(r), 0);
    CHECK(xmppcore_stanza_child(m, "request", NULL) == NULL);
    CHECK_STR(xmppcore_stanza_name(r), "request"); /* still readable */
    CHECK_EQ_INT(xmppcore_stanza_set_text(body, "short"), 0);
    CHECK_STR(xmppcore_stanza_text(body), "short");
    CHECK_EQ_INT(xmppcore_stanza_set_name(m, "presence"), 0);
    CHECK_STR(ser(m, "jabber:client"),
              "<presence to=\"juliet@example.com\" xml:lang=\"en\"><body>short</body></presence>");
    xmppcore_stanza_free(r); /* not a root: no-op */
    xmppcore_stanza_free(m);
    xmppcore_stanza_free(NULL);
}

static void test_invalid_input(void)
{
    CHECK(xmppcore_stanza_new(NULL, "", NULL) == NULL);
    CHECK(xmppcore_stanza_new(NULL, NULL, NULL) == NULL);
    CHECK(xmppcore_stanza_new(NULL, "a b", NULL) == NULL);
    CHECK(xmppcore_stanza_new(NULL, "a<", NULL) == NULL);
    CHECK(xmppcore_stanza_new(NULL, "p:q", NULL) == NULL);
    xmppcore_stanza *s = xmppcore_stanza_new(NULL, "x", NULL);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(s, "xmlns", "u"), XMPPCORE_E_INVAL);
    /* a name that merely starts with "xmlns" is an ordinary attribute */
    CHECK_EQ_INT(xmppcore_stanza_set_attr(s, "xmlns-x", "u"), 0);
    xmppcore_stanza *c = xmppcore_stanza_copy(s);
    CHECK(c && xmppcore_stanza_equal(s, c));
    xmppcore_stanza_free(c);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(s, "a=b", "u"), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(s, "a", "bad\x01"), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_stanza_add_text(s, "\xff", 1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_stanza_add_text(s, "a\0b", 3), XMPPCORE_E_INVAL);
    CHECK(xmppcore_stanza_add_child(s, "", NULL) == NULL);
    CHECK_EQ_INT(xmppcore_stanza_add_text(s, "", 0), 0);
    CHECK(xmppcore_stanza_first(s) == NULL);
    xmppcore_stanza_free(s);
}

static void test_escaping(void)
{
    xmppcore_stanza *s = xmppcore_stanza_new(NULL, "x", "u");
    xmppcore_stanza_set_attr(s, "a", "<&>\"'\t\n\r");
    xmppcore_stanza_add_text(s, "<&>\"'\t\n\r]]>", (size_t)-1);
    CHECK_STR(ser(s, "u"), "<x a=\"&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;\">"
                           "&lt;&amp;&gt;\"'\t\n&#13;]]&gt;</x>");
    /* round trip keeps every character */
    xmppcore_stanza *back = NULL;
    const char *xml = ser(s, NULL);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, xml, strlen(xml), &back), 0);
    CHECK(back != NULL);
    CHECK_STR(xmppcore_stanza_attr(back, "a"), "<&>\"'\t\n\r");
    CHECK_STR(xmppcore_stanza_text(back), "<&>\"'\t\n\r]]>");
    CHECK(xmppcore_stanza_equal(s, back));
    xmppcore_stanza_free(back);
    xmppcore_stanza_free(s);
}

static void test_namespaces(void)
{
    /* Child in no namespace below a namespaced parent needs xmlns="". */
    xmppcore_stanza *s = xmppcore_stanza_new(NULL, "iq", "jabber:client");
    xmppcore_stanza *q = xmppcore_stanza_add_child(s, "query", "jabber:iq:roster");
    xmppcore_stanza *item = xmppcore_stanza_add_child(q, "item", NULL);
    xmppcore_stanza *plain = xmppcore_stanza_add_child(q, "plain", "");
    xmppcore_stanza_set_attr(item, "jid", "a@b");
    xmppcore_stanza_set_attr_ns(item, "urn:x:one", "p", "1");
    xmppcore_stanza_set_attr_ns(item, "urn:x:two", "q", "2");
    xmppcore_stanza_set_attr_ns(item, "urn:x:one", "r", "3");
    CHECK_STR(xmppcore_stanza_ns(item), "jabber:iq:roster");
    CHECK_STR(xmppcore_stanza_ns(plain), "");
    const char *xml = ser(s, "jabber:client");
    CHECK_STR(xml, "<iq><query xmlns=\"jabber:iq:roster\"><item jid=\"a@b\" "
                   "xmlns:ns1=\"urn:x:one\" ns1:p=\"1\" xmlns:ns2=\"urn:x:two\" "
                   "ns2:q=\"2\" ns1:r=\"3\"/><plain xmlns=\"\"/></query></iq>");
    xmppcore_stanza *back = NULL;
    xml = ser(s, NULL);
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, xml, strlen(xml), &back), 0);
    CHECK(xmppcore_stanza_equal(s, back));
    xmppcore_stanza *bi = xmppcore_stanza_child(xmppcore_stanza_child(back, "query", NULL), "item", NULL);
    CHECK_STR(xmppcore_stanza_attr_ns(bi, "urn:x:two", "q"), "2");
    CHECK_STR(xmppcore_stanza_attr_ns(bi, "urn:x:one", "r"), "3");
    CHECK_STR(xmppcore_stanza_ns(xmppcore_stanza_child(xmppcore_stanza_child(back, "query", NULL), "plain", NULL)), "");
    xmppcore_stanza_free(back);
    xmppcore_stanza_free(s);
}

static void test_replies(void)
{
    const char *xml = "<iq xmlns='jabber:client' from='a@b/c' to='b' id='7' type='get'><q xmlns='u'/></iq>";
    xmppcore_stanza *s = NULL;
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, xml, strlen(xml), &s), 0);
    xmppcore_stanza *r = xmppcore_stanza_reply(s, "result");
    CHECK_STR(ser(r, "jabber:client"), "<iq id=\"7\" to=\"a@b/c\" from=\"b\" type=\"result\"/>");
    xmppcore_stanza_free(r);
    r = xmppcore_stanza_error_reply(s, "cancel", "item-not-found");
    CHECK_STR(ser(r, "jabber:client"), "<iq id=\"7\" to=\"a@b/c\" from=\"b\" type=\"error\">"
              "<error type=\"cancel\"><item-not-found xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></iq>");
    xmppcore_stanza_free(r);
    CHECK(xmppcore_stanza_error_reply(s, "bogus", "item-not-found") == NULL);
    CHECK(xmppcore_stanza_error_reply(s, NULL, "item-not-found") == NULL);
    CHECK(xmppcore_stanza_error_reply(s, "wait", NULL) == NULL);
    xmppcore_stanza_free(s);
}

static void test_xml_namespace_element(void)
{
    /* <xml:x> is namespace-well-formed; it must round-trip without
     * declaring the XML namespace as a default (which XML forbids). */
    const char *xml = "<a xmlns='u'><xml:x l='1'><b/></xml:x></a>";
    xmppcore_stanza *s = NULL, *back = NULL;
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, xml, strlen(xml), &s), 0);
    const char *out = ser(s, NULL);
    CHECK_STR(out, "<a xmlns=\"u\"><xml:x l=\"1\"><b/></xml:x></a>");
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, out, strlen(out), &back), 0);
    CHECK(back && xmppcore_stanza_equal(s, back));
    xmppcore_stanza_free(back);
    xmppcore_stanza_free(s);
}

static void test_copy_and_equal(void)
{
    const char *xml =
        "<message xmlns='jabber:client' from='a@b/c' to='d@e' id='1'>"
        "<body>hi <b xmlns='http://www.w3.org/1999/xhtml'>there</b> you</body>"
        "<x xmlns='jabber:x:data' type='submit'><field var='v'><value>1</value>"
        "</field></x></message>";
    xmppcore_stanza *s = NULL;
    CHECK_EQ_INT(xmppcore_stanza_parse(NULL, xml, strlen(xml), &s), 0);
    xmppcore_stanza *c = xmppcore_stanza_copy(s);
    CHECK(c != NULL);
    CHECK(xmppcore_stanza_equal(s, c));
    CHECK_STR(xmppcore_stanza_text(xmppcore_stanza_child(c, "body", NULL)), "hi  you");
    /* copy of an inner element keeps its inherited namespace */
    xmppcore_stanza *x = xmppcore_stanza_copy(xmppcore_stanza_child(s, "x", NULL));
    CHECK_STR(xmppcore_stanza_ns(x), "jabber:x:data");
    CHECK(xmppcore_stanza_parent(x) == NULL);
    xmppcore_stanza *field = xmppcore_stanza_child(x, "field", NULL);
    CHECK_STR(xmppcore_stanza_ns(field), "jabber:x:data");
    /* difference detection */
    xmppcore_stanza_set_attr(c, "id", "2");
    CHECK(!xmppcore_stanza_equal(s, c));
    xmppcore_stanza_set_attr(c, "id", "1");
    CHECK(xmppcore_stanza_equal(s, c));
    xmppcore_stanza_set_text(xmppcore_stanza_child(c, "body", NULL), "hi there you");
    CHECK(!xmppcore_stanza_equal(s, c));
    /* attribute order is not significant; split text equals joined text */
    xmppcore_stanza *a = xmppcore_stanza_new(NULL, "e", "n");
    xmppcore_stanza *b = xmppcore_stanza_new(NULL, "e", "n");
    xmppcore_stanza_set_attr(a, "p", "1");
    xmppcore_stanza_set_attr(a, "q", "2");
    xmppcore_stanza_set_attr(b, "q", "2");
    xmppcore_stanza_set_attr(b, "p", "1");
    xmppcore_stanza_add_text(a, "abc", 3);
    xmppcore_stanza_add_text(b, "a", 1);
    xmppcore_stanza_add_text(b, "bc", 2);
    CHECK(xmppcore_stanza_equal(a, b));
    xmppcore_stanza_add_text(b, "d", 1);
    CHECK(!xmppcore_stanza_equal(a, b));
    /* add_copy across trees */
    xmppcore_stanza *added = xmppcore_stanza_add_copy(a, x);
    CHECK(added != NULL);
    CHECK(xmppcore_stanza_equal(added, x));
    CHECK(xmppcore_stanza_parent(added) == a);
    CHECK_STR(ser(a, NULL), "<e xmlns=\"n\" p=\"1\" q=\"2\">abc<x xmlns=\"jabber:x:data\" "
                            "type=\"submit\"><field var=\"v\"><value>1</value></field></x></e>");
    xmppcore_stanza_free(a);
    xmppcore_stanza_free(b);
    xmppcore_stanza_free(x);
    xmppcore_stanza_free(c);
    xmppcore_stanza_free(s);
}

static void test_large_tree(void)
{
    /* Many children force several arena blocks. */
    xmppcore_stanza *s = xmppcore_stanza_new(NULL, "list", "urn:t");
    char name[32];
    for (int i = 0; i < 2000; i++) {
        xmppcore_stanza *c = xmppcore_stanza_add_child(s, "item", NULL);
        snprintf(name, sizeof name, "%d", i);
        CHECK(c && xmppcore_stanza_set_attr(c, "n", name) == 0);
        CHECK(xmppcore_stanza_add_text(c, name, (size_t)-1) == 0);
    }
    xmppcore_stanza *c = xmppcore_stanza_copy(s);
    CHECK(xmppcore_stanza_equal(s, c));
    int n = 0;
    for (xmppcore_stanza *k = xmppcore_stanza_first(c); k; k = xmppcore_stanza_next(k))
        n++;
    CHECK_EQ_INT(n, 2000);
    xmppcore_stanza_free(c);
    xmppcore_stanza_free(s);
}

static int build_tree(const xmppcore_mem *m, xmppcore_stanza **out)
{
    *out = NULL;
    xmppcore_stanza *s = xmppcore_stanza_new(m, "message", "jabber:client");
    if (!s)
        return XMPPCORE_E_NOMEM;
    int rc = 0;
    for (int i = 0; i < 40 && rc == 0; i++) {
        xmppcore_stanza *c = xmppcore_stanza_add_child(s, "body", NULL);
        if (!c)
            rc = XMPPCORE_E_NOMEM;
        else if ((rc = xmppcore_stanza_set_attr(c, "k", "a fairly long attribute value to fill memory")) == 0)
            rc = xmppcore_stanza_add_text(c, "hello hello hello hello hello hello", (size_t)-1);
    }
    *out = s;
    return rc;
}

static void test_oom(void)
{
    tl_failmem fm;
    int completed = 0;
    for (long n = 1; n < 200 && !completed; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        xmppcore_stanza *s;
        int rc = build_tree(&m, &s);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
        if (rc == 0 && s) {
            xmppcore_stanza *c = xmppcore_stanza_copy(s);
            xmppcore_buffer *b = xmppcore_buffer_new(&m);
            if (b) {
                size_t before = xmppcore_buffer_len(b);
                rc = xmppcore_stanza_serialize(s, NULL, b);
                CHECK(rc == 0 || (rc == XMPPCORE_E_NOMEM && xmppcore_buffer_len(b) == before));
            }
            if (c && b && rc == 0 && !fm.failed)
                completed = 1;
            xmppcore_buffer_free(b);
            xmppcore_stanza_free(c);
        }
        xmppcore_stanza_free(s);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(completed);
}

TEST_MAIN(TEST_ENTRY(test_build_and_query), TEST_ENTRY(test_invalid_input),
          TEST_ENTRY(test_escaping), TEST_ENTRY(test_namespaces),
          TEST_ENTRY(test_xml_namespace_element), TEST_ENTRY(test_replies),
          TEST_ENTRY(test_copy_and_equal), TEST_ENTRY(test_large_tree),
          TEST_ENTRY(test_oom))

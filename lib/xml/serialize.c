/*
 * The serializer: stanza tree → XML text in an xmppcore_buffer.
 *
 * Namespaces are declared from the tree, not remembered from the input:
 * an element whose namespace differs from the default in force gets an
 * xmlns attribute; namespaced attributes get a generated prefix declared
 * on their element (xml:lang uses the reserved xml prefix). Escaping keeps
 * the text exact through a re-parse: besides the markup characters, CR in
 * text and TAB/LF/CR in attribute values are written as character
 * references, since XML would otherwise normalise them.
 */
#include <stdio.h>

#include "xml/stanza_impl.h"

/* Characters that need escaping: 1 in text, 2 in attribute values. */
static const unsigned char esc_class[256] = {
    ['&'] = 3, ['<'] = 3, ['>'] = 3, ['"'] = 2, ['\''] = 2,
    ['\r'] = 3, ['\n'] = 2, ['\t'] = 2,
};

static const char *esc_of(unsigned char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    case '\r': return "&#13;";
    case '\n': return "&#10;";
    case '\t': return "&#9;";
    default: return "";
    }
}

static int put_escaped(struct xmppcore_buffer *b, const char *s, size_t n,
                       unsigned char mask)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n, *run = p;
    for (; p < e; p++) {
        if (!(esc_class[*p] & mask))
            continue;
        if (p > run && xi_buf_put(b, run, (size_t)(p - run)) < 0)
            return XMPPCORE_E_NOMEM;
        if (xi_buf_puts(b, esc_of(*p)) < 0)
            return XMPPCORE_E_NOMEM;
        run = p + 1;
    }
    if (p > run && xi_buf_put(b, run, (size_t)(p - run)) < 0)
        return XMPPCORE_E_NOMEM;
    return 0;
}

static int put_attr(struct xmppcore_buffer *b, const char *prefix,
                    const char *name, const char *value)
{
    if (xi_buf_put(b, " ", 1) < 0)
        return XMPPCORE_E_NOMEM;
    if (prefix && (xi_buf_puts(b, prefix) < 0 || xi_buf_put(b, ":", 1) < 0))
        return XMPPCORE_E_NOMEM;
    if (xi_buf_puts(b, name) < 0 || xi_buf_put(b, "=\"", 2) < 0 ||
        put_escaped(b, value, strlen(value), 2) < 0 ||
        xi_buf_put(b, "\"", 1) < 0)
        return XMPPCORE_E_NOMEM;
    return 0;
}

static int ser_elem(struct xmppcore_buffer *b, const xmppcore_stanza *s,
                    const char *default_ns)
{
    if (!s->name)
        return put_escaped(b, s->ns, s->text_len, 1);
    if (!default_ns)
        default_ns = "";
    /* The XML namespace cannot be a default namespace: such an element
     * keeps its reserved prefix, and its children the outer default. */
    bool xml_ns = strcmp(s->ns, XMPPCORE_NS_XML) == 0;
    const char *pfx = xml_ns ? "xml:" : "";
    if (xi_buf_put(b, "<", 1) < 0 || xi_buf_puts(b, pfx) < 0 ||
        xi_buf_puts(b, s->name) < 0)
        return XMPPCORE_E_NOMEM;
    if (!xml_ns && s->ns != default_ns && strcmp(s->ns, default_ns) != 0)
        if (put_attr(b, NULL, "xmlns", s->ns) < 0)
            return XMPPCORE_E_NOMEM;
    /* A namespaced attribute (other than xml:) gets the prefix "ns<i>",
     * i being the index of the first attribute in its namespace, declared
     * on this element where first used. */
    for (uint32_t i = 0; i < s->nattrs; i++) {
        const xi_attr *a = &s->attrs[i];
        if (!a->ns[0]) {
            if (put_attr(b, NULL, a->name, a->value) < 0)
                return XMPPCORE_E_NOMEM;
            continue;
        }
        if (strcmp(a->ns, XMPPCORE_NS_XML) == 0) {
            if (put_attr(b, "xml", a->name, a->value) < 0)
                return XMPPCORE_E_NOMEM;
            continue;
        }
        uint32_t first = i;
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(s->attrs[j].ns, a->ns) == 0) {
                first = j;
                break;
            }
        }
        char prefix[16];
        snprintf(prefix, sizeof prefix, "ns%u", (unsigned)first);
        if (first == i && put_attr(b, "xmlns", prefix, a->ns) < 0)
            return XMPPCORE_E_NOMEM;
        if (put_attr(b, prefix, a->name, a->value) < 0)
            return XMPPCORE_E_NOMEM;
    }
    if (!s->first)
        return xi_buf_put(b, "/>", 2);
    if (xi_buf_put(b, ">", 1) < 0)
        return XMPPCORE_E_NOMEM;
    for (const xmppcore_stanza *c = s->first; c; c = c->next)
        if (ser_elem(b, c, xml_ns ? default_ns : s->ns) < 0)
            return XMPPCORE_E_NOMEM;
    if (xi_buf_put(b, "</", 2) < 0 || xi_buf_puts(b, pfx) < 0 ||
        xi_buf_puts(b, s->name) < 0 || xi_buf_put(b, ">", 1) < 0)
        return XMPPCORE_E_NOMEM;
    return 0;
}

int xmppcore_stanza_serialize(const xmppcore_stanza *s, const char *outer_ns,
                              xmppcore_buffer *b)
{
    size_t len = b->len;
    int rc = ser_elem(b, s, outer_ns);
    if (rc < 0) {
        b->len = len;
        if (b->data)
            b->data[b->off + len] = '\0';
        return XMPPCORE_E_NOMEM;
    }
    return 0;
}

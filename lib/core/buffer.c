/*
 * xmppcore_buffer: a growable byte buffer with a cheaply consumed front,
 * used for serialized output and connection queues; and UTF-8 checking.
 */
#include "core/core.h"
#include "xmppcore/stanza.h"

int xi_buf_reserve(struct xmppcore_buffer *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need < b->len) /* overflow */
        return XMPPCORE_E_NOMEM;
    if (b->off) {
        /* Reclaim the consumed front before growing. */
        if (b->off + need <= b->cap && b->off < b->cap / 2)
            return 0;
        memmove(b->data, b->data + b->off, b->len + 1);
        b->off = 0;
        if (need <= b->cap)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return XMPPCORE_E_NOMEM;
        cap *= 2;
    }
    char *d = xi_realloc(b->mem, b->data, cap);
    if (!d)
        return XMPPCORE_E_NOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

xmppcore_buffer *xmppcore_buffer_new(const xmppcore_mem *mem)
{
    mem = xi_mem(mem);
    struct xmppcore_buffer *b = xi_calloc(mem, sizeof *b);
    if (b)
        b->mem = mem;
    return b;
}

void xmppcore_buffer_free(xmppcore_buffer *b)
{
    if (!b)
        return;
    xi_free(b->mem, b->data);
    xi_free(b->mem, b);
}

const char *xmppcore_buffer_data(const xmppcore_buffer *b)
{
    return b->data ? b->data + b->off : "";
}

size_t xmppcore_buffer_len(const xmppcore_buffer *b)
{
    return b->len;
}

void xmppcore_buffer_clear(xmppcore_buffer *b)
{
    b->len = 0;
    b->off = 0;
    if (b->data)
        b->data[0] = '\0';
}

int xmppcore_buffer_append(xmppcore_buffer *b, const void *d, size_t n)
{
    return xi_buf_put(b, d, n);
}

void xmppcore_buffer_consume(xmppcore_buffer *b, size_t n)
{
    if (n >= b->len) {
        xmppcore_buffer_clear(b);
        return;
    }
    b->off += n;
    b->len -= n;
}

bool xi_utf8_xml_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *e = s + len;
    while (s < e) {
        unsigned c = *s;
        if (c < 0x80) {
            if (c < 0x20 && c != 0x09 && c != 0x0a && c != 0x0d)
                return false;
            s++;
            continue;
        }
        unsigned cp, n;
        if (c >= 0xc2 && c <= 0xdf) {
            cp = c & 0x1f;
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            cp = c & 0x0f;
            n = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            cp = c & 0x07;
            n = 3;
        } else {
            return false;
        }
        if ((size_t)(e - s) <= n)
            return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
            return false;
        s += n + 1;
    }
    return true;
}

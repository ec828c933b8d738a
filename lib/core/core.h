/*
 * Internal helpers shared by every part of the library: allocation through
 * the injectable allocator, and small utilities. Not installed.
 * Internal names use the prefix xi_ (hidden by the symbol visibility).
 */
#ifndef XI_CORE_H
#define XI_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xmppcore/common.h"

#define XI_UNUSED(x) ((void)(x))
#define XI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Never NULL: resolves NULL to the default allocator. */
static inline const xmppcore_mem *xi_mem(const xmppcore_mem *mem)
{
    return mem ? mem : xmppcore_mem_default();
}

static inline void *xi_malloc(const xmppcore_mem *mem, size_t n)
{
    return mem->malloc(n ? n : 1, mem->user_data);
}

static inline void *xi_calloc(const xmppcore_mem *mem, size_t n)
{
    void *p = xi_malloc(mem, n);
    if (p)
        memset(p, 0, n);
    return p;
}

static inline void *xi_realloc(const xmppcore_mem *mem, void *p, size_t n)
{
    if (!p)
        return xi_malloc(mem, n);
    return mem->realloc(p, n ? n : 1, mem->user_data);
}

static inline void xi_free(const xmppcore_mem *mem, void *p)
{
    if (p)
        mem->free(p, mem->user_data);
}

char *xi_strndup(const xmppcore_mem *mem, const char *s, size_t n);
char *xi_strdup(const xmppcore_mem *mem, const char *s);

/* Checks that s[0..len) is UTF-8 XML 1.0 Char data (no C0 controls but
 * tab/LF/CR, no surrogates, no U+FFFE/U+FFFF, shortest forms only). */
bool xi_utf8_xml_valid(const char *s, size_t len);

/* Byte buffer shared by serializer and connections (public as
 * xmppcore_buffer). Kept NUL-terminated. */
struct xmppcore_buffer {
    const xmppcore_mem *mem;
    char *data;
    size_t len;
    size_t cap;
    size_t off; /* consumed prefix, reclaimed lazily */
};

int xi_buf_reserve(struct xmppcore_buffer *b, size_t extra);

static inline int xi_buf_put(struct xmppcore_buffer *b, const void *d, size_t n)
{
    if (b->off + b->len + n + 1 > b->cap && xi_buf_reserve(b, n) < 0)
        return XMPPCORE_E_NOMEM;
    memcpy(b->data + b->off + b->len, d, n);
    b->len += n;
    b->data[b->off + b->len] = '\0';
    return 0;
}

static inline int xi_buf_puts(struct xmppcore_buffer *b, const char *s)
{
    return xi_buf_put(b, s, strlen(s));
}

#endif

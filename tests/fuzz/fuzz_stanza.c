/*
 * Fuzz target: one standalone element. If it parses, it must survive
 * serialize → parse, copy and serialize-of-copy unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xmppcore_stanza *s = NULL;
    if (xmppcore_stanza_parse(NULL, (const char *)data, size, &s) != 0)
        return 0;
    xmppcore_buffer *b1 = xmppcore_buffer_new(NULL);
    xmppcore_buffer *b2 = xmppcore_buffer_new(NULL);
    xmppcore_stanza *back = NULL, *copy = xmppcore_stanza_copy(s);
    if (!b1 || !b2 || !copy || xmppcore_stanza_serialize(s, NULL, b1) != 0 ||
        xmppcore_stanza_serialize(copy, NULL, b2) != 0)
        abort();
    if (!xmppcore_stanza_equal(s, copy))
        abort();
    if (xmppcore_buffer_len(b1) != xmppcore_buffer_len(b2) ||
        memcmp(xmppcore_buffer_data(b1), xmppcore_buffer_data(b2),
               xmppcore_buffer_len(b1)) != 0)
        abort();
    int rc = xmppcore_stanza_parse(NULL, xmppcore_buffer_data(b1),
                                   xmppcore_buffer_len(b1), &back);
    if (rc != XMPPCORE_E_POLICY && (rc != 0 || !xmppcore_stanza_equal(s, back)))
        abort();
    /* Text queries on every element must not fail. */
    for (xmppcore_stanza *c = xmppcore_stanza_first(s); c; c = xmppcore_stanza_next(c))
        if (!xmppcore_stanza_text(c))
            abort();
    xmppcore_stanza_free(back);
    xmppcore_stanza_free(copy);
    xmppcore_stanza_free(s);
    xmppcore_buffer_free(b1);
    xmppcore_buffer_free(b2);
    return 0;
}

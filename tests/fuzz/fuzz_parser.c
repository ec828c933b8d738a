/*
 * Fuzz target: the XML stream parser. The first input byte picks a chunk
 * size, whether <success/>-like elements restart the stream and whether the
 * parser hibernates between chunks; the rest is
 * the stream. Invariants checked: feeding in chunks gives exactly the
 * events of feeding at once (up to where an error is noticed); every stanza survives serialize → parse
 * unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

typedef struct {
    xmppcore_parser *p;
    xmppcore_buffer *log;
    int restart;
} fz;

static void on_header(void *ud, const xmppcore_stanza *h, const char *dns)
{
    fz *f = ud;
    xmppcore_buffer_append(f->log, "H", 1);
    xmppcore_buffer_append(f->log, dns, strlen(dns));
    xmppcore_stanza_serialize(h, NULL, f->log);
}

static void on_stanza(void *ud, xmppcore_stanza *s)
{
    fz *f = ud;
    xmppcore_buffer *b = xmppcore_buffer_new(NULL);
    if (xmppcore_stanza_serialize(s, NULL, b) == 0) {
        xmppcore_stanza *back = NULL;
        int rc = xmppcore_stanza_parse(NULL, xmppcore_buffer_data(b),
                                       xmppcore_buffer_len(b), &back);
        /* Larger than the default limit can happen: the stream's limit
         * counts input bytes, serialization may escape more. */
        if (rc != XMPPCORE_E_POLICY && (rc != 0 || !xmppcore_stanza_equal(s, back)))
            abort();
        xmppcore_stanza_free(back);
        xmppcore_buffer_append(f->log, "S", 1);
        xmppcore_buffer_append(f->log, xmppcore_buffer_data(b),
                               xmppcore_buffer_len(b));
    }
    xmppcore_buffer_free(b);
    if (f->restart && strcmp(xmppcore_stanza_name(s), "success") == 0)
        xmppcore_parser_reset(f->p);
    xmppcore_stanza_free(s);
}

static void on_end(void *ud)
{
    fz *f = ud;
    xmppcore_buffer_append(f->log, "E", 1);
}

static const xmppcore_parser_callbacks cbs = {
    XMPPCORE_PARSER_CALLBACKS_VERSION, on_header, on_stanza, on_end};

static int run(const uint8_t *d, size_t n, size_t chunk, int restart,
               int hibernate, xmppcore_buffer *log)
{
    fz f = {NULL, log, restart};
    f.p = xmppcore_parser_new(&cbs, &f, NULL);
    if (!f.p)
        abort();
    xmppcore_parser_set_limit(f.p, XMPPCORE_LIMIT_STANZA_BYTES, 8192);
    xmppcore_parser_set_limit(f.p, XMPPCORE_LIMIT_DEPTH, 16);
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        rc = xmppcore_parser_feed(f.p, (const char *)d + off, k, NULL);
        /* Where allowed, releasing expat between chunks changes nothing. */
        if (rc == 0 && hibernate)
            xmppcore_parser_hibernate(f.p);
    }
    xmppcore_parser_free(f.p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = 1 + (data[0] & 0x1f);
    int restart = data[0] & 0x80;
    int hibernate = data[0] & 0x40;
    data++;
    size--;
    xmppcore_buffer *a = xmppcore_buffer_new(NULL);
    xmppcore_buffer *b = xmppcore_buffer_new(NULL);
    int rc_a = run(data, size, size ? size : 1, restart, 0, a);
    int rc_b = run(data, size, chunk, restart, hibernate, b);
    /* Expat may notice an error a few bytes later when fed piecemeal (it
     * waits for a token to complete), so when exactly one run failed, the
     * events before the failure must agree; otherwise everything must. */
    size_t la = xmppcore_buffer_len(a), lb = xmppcore_buffer_len(b);
    size_t common = la < lb ? la : lb;
    if (memcmp(xmppcore_buffer_data(a), xmppcore_buffer_data(b), common) != 0)
        abort();
    if ((rc_a == 0) == (rc_b == 0) && la != lb)
        abort();
    if (rc_a != 0 && rc_b != 0 && rc_a != rc_b &&
        rc_a != XMPPCORE_E_POLICY && rc_b != XMPPCORE_E_POLICY)
        abort();
    if ((rc_a == 0 && rc_b != 0 && lb > la) || (rc_b == 0 && rc_a != 0 && la > lb))
        abort();
    xmppcore_buffer_free(a);
    xmppcore_buffer_free(b);
    return 0;
}

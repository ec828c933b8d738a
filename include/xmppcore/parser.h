/*
 * libxmppcore — the XML stream parser.
 *
 * A push parser for one XMPP stream (RFC 6120 §4, §11): feed it bytes in
 * chunks of any size; it calls back once for the stream header, once per
 * complete top-level child of the stream (a stanza or stream-level element
 * such as <starttls/>), and once for the stream's end. Feeding one byte at
 * a time gives the same calls as feeding everything at once, and a stanza
 * is delivered during the feed call that brings its last byte.
 *
 * Restricted XML (RFC 6120 §11.1) is enforced: a DOCTYPE, entity
 * declarations, processing instructions and comments fail with
 * XMPPCORE_E_RESTRICTED_XML; no entities are expanded beyond the five
 * predefined ones; the input must be UTF-8 (XMPPCORE_E_ENCODING for a
 * declaration of another encoding; XMPPCORE_E_XML for invalid bytes);
 * an undeclared prefix fails with XMPPCORE_E_BAD_PREFIX, a stream element
 * outside the streams namespace with XMPPCORE_E_INVALID_NAMESPACE.
 * Exceeding a limit fails with XMPPCORE_E_POLICY; memory use is bounded by
 * the limits plus the size of one fed chunk.
 *
 * After an error the parser is dead: every further feed returns the same
 * code until xmppcore_parser_reset().
 */
#ifndef XMPPCORE_PARSER_H
#define XMPPCORE_PARSER_H

#include "common.h"
#include "stanza.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xmppcore_parser xmppcore_parser;

/*
 * Callbacks. `version` must be XMPPCORE_PARSER_CALLBACKS_VERSION; fields
 * are only ever appended. Any member may be NULL. Inside a callback the
 * host may call xmppcore_parser_reset() and xmppcore_parser_stop(), but
 * must not free the parser or feed it.
 */
#define XMPPCORE_PARSER_CALLBACKS_VERSION 1
typedef struct xmppcore_parser_callbacks {
    int version;
    /*
     * The stream header arrived. header is the <stream:stream/> element
     * without children, borrowed for the duration of the call; its
     * attributes are the header's (to, from, id, version, xml:lang) and
     * xmppcore_stanza_ns() gives XMPPCORE_NS_STREAMS. default_ns is the
     * default namespace the header declared ("" if none).
     */
    void (*stream_start)(void *user_data, const xmppcore_stanza *header,
                         const char *default_ns);
    /*
     * A complete top-level child. The callee owns stanza and must free it
     * (or keep it and free it later) with xmppcore_stanza_free().
     */
    void (*stanza)(void *user_data, xmppcore_stanza *stanza);
    /* The peer sent </stream:stream>. */
    void (*stream_end)(void *user_data);
} xmppcore_parser_callbacks;

/* Limits; each has a safe default and can be set per parser. */
typedef enum xmppcore_parser_limit {
    /* Bytes of one top-level child, whitespace before it included.
     * Default 262144 (256 KiB). */
    XMPPCORE_LIMIT_STANZA_BYTES = 0,
    /* Element nesting depth inside a stanza (the stanza itself is 1).
     * Default 32. */
    XMPPCORE_LIMIT_DEPTH = 1,
    /* Attributes on one element. Default 64. */
    XMPPCORE_LIMIT_ATTRS = 2,
    /* Bytes of the stream header, XML declaration included. Default 4096. */
    XMPPCORE_LIMIT_HEADER_BYTES = 3
} xmppcore_parser_limit;

/*
 * Creates a parser. cb is copied; user_data is passed to every callback.
 * mem may be NULL. Returns NULL on allocation failure or a bad cb version.
 */
XMPPCORE_API xmppcore_parser *xmppcore_parser_new(const xmppcore_parser_callbacks *cb,
                                                  void *user_data,
                                                  const xmppcore_mem *mem);

/* Frees the parser. NULL is a no-op. Not from inside its callbacks. */
XMPPCORE_API void xmppcore_parser_free(xmppcore_parser *parser);

/*
 * Sets a limit (value > 0). Returns 0 or XMPPCORE_E_INVAL. Takes effect
 * from the next byte fed.
 */
XMPPCORE_API int xmppcore_parser_set_limit(xmppcore_parser *parser,
                                           xmppcore_parser_limit limit,
                                           size_t value);

/* Current value of a limit, 0 for an unknown limit. */
XMPPCORE_API size_t xmppcore_parser_get_limit(const xmppcore_parser *parser,
                                              xmppcore_parser_limit limit);

/*
 * Parses len bytes. Returns 0, or a fatal code (see the top of this file)
 * after which the stream must be closed with the stream error
 * xmppcore_stream_condition(code). XMPPCORE_E_NOMEM is also possible.
 * If a callback called xmppcore_parser_stop(), returns 0 and sets
 * *consumed (when not NULL) to the number of bytes parsed so far; the rest
 * is for the caller to handle (e.g. hand to a TLS layer). Otherwise
 * *consumed is len.
 */
XMPPCORE_API int xmppcore_parser_feed(xmppcore_parser *parser, const char *data,
                                      size_t len, size_t *consumed);

/*
 * Restarts the stream (RFC 6120 §4.3.3, after STARTTLS or SASL): the next
 * bytes must begin a new stream header. May be called from a callback, in
 * which case the bytes after the element being delivered are parsed as
 * the start of the new stream within the same feed call.
 * Returns 0 or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_parser_reset(xmppcore_parser *parser);

/*
 * From inside a callback: stop parsing after the current element and
 * return from xmppcore_parser_feed() with *consumed telling how far it got.
 * Used at STARTTLS, where the bytes after <starttls/> belong to TLS, and
 * when the stream must wait (e.g. for storage) before reading on. After a
 * stop, feeding fails with XMPPCORE_E_STATE until xmppcore_parser_reset()
 * (new stream) or xmppcore_parser_resume() (same stream).
 */
XMPPCORE_API void xmppcore_parser_stop(xmppcore_parser *parser);

/*
 * Continues the same stream after a stop: the next bytes are parsed as
 * more children of the stream element, with the header's namespace
 * declarations in force. Not from inside a callback. Returns 0,
 * XMPPCORE_E_STATE (inside a callback, after an error) or
 * XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_parser_resume(xmppcore_parser *parser);

/*
 * Releases expat's memory (about 10 KiB) while the stream sits between
 * stanzas; the next feed restores it transparently (at the cost of a few
 * microseconds). For idle connections. Returns 0, or XMPPCORE_E_STATE
 * when the parser is not between stanzas of an open stream (then nothing
 * changes). Not from inside a callback.
 */
XMPPCORE_API int xmppcore_parser_hibernate(xmppcore_parser *parser);

/*
 * A short English description of the last error (e.g. "stanza exceeds
 * 262144 bytes", expat's message with line and column), for logs and the
 * stream error's <text/>. Empty string if none. Borrowed until the next
 * feed or reset.
 */
XMPPCORE_API const char *xmppcore_parser_error_text(const xmppcore_parser *parser);

#ifdef __cplusplus
}
#endif
#endif

/*
 * Library-internal calls on the stream parser, for the stream code.
 * Not installed.
 */
#ifndef XI_PARSER_INT_H
#define XI_PARSER_INT_H

#include "xmppcore/parser.h"

/*
 * Gives expat's hash tables their secret salt (against hash flooding)
 * for this document and every later one (stream restarts, the document
 * after hibernation), so expat does not draw one from the kernel each
 * time. The salt must be unpredictable: draw it from the server's RNG.
 * Call before the first feed.
 */
void xi_parser_set_hash_salt(xmppcore_parser *p, unsigned long salt);

#endif

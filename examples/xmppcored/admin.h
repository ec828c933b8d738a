/*
 * The admin socket's line protocol, shared by xmppcored and xmppcorectl.
 *
 * A request is one line of space-separated fields; each field is
 * percent-encoded (bytes <= 0x20, 0x7f and '%' as %XX), so passwords with
 * spaces pass. The server answers with zero or more data lines
 * ("item FIELD", "exists USER") and one final line: "ok [TEXT]" or
 * "error CODE TEXT" (CODE an XMPPCORE_E_* number). Requests:
 *
 *   register USER HOST PASSWORD
 *   unregister USER HOST
 *   passwd USER HOST PASSWORD
 *   registered-users HOST         items: usernames, in order
 *   connected-users               items: full JIDs
 *   create-many HOST N            then N lines of credentials (below);
 *                                 "ok CREATED", an "exists USER" line per
 *                                 account that existed (not changed)
 *   ping                          "ok VERSION"
 *
 * A credentials line: USER ITER1 SALT1 STORED1 SERVER1 ITER256 SALT256
 * STORED256 SERVER256, numbers in decimal and bytes in hex (SCRAM keys
 * only; never a password).
 */
#ifndef XD_ADMIN_H
#define XD_ADMIN_H

#include <stddef.h>

#include "xmppcore/auth.h"

#define XD_ADMIN_MAX_LINE 8192
#define XD_ADMIN_MAX_FIELDS 12
#define XD_ADMIN_BATCH 1000

/* Appends field, percent-encoded, to buf (size cap, used *len); returns
 * 0 or -1 if it does not fit. */
int xd_field_put(char *buf, size_t cap, size_t *len, const char *field);

/* Splits line (NUL-terminated, no newline) in place into at most max
 * decoded fields. Returns their count or -1 for a malformed line. */
int xd_fields_split(char *line, char **fields, int max);

/* Credentials as the 8 fields of a credentials line (after USER). */
int xd_creds_put(char *buf, size_t cap, size_t *len,
                 const xmppcore_credentials *c);
/* The reverse from fields[0..8). 0 or -1. */
int xd_creds_parse(char *const *fields, xmppcore_credentials *c);

#endif

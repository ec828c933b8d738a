/*
 * libxmppcore — JIDs (RFC 7622).
 *
 * xmppcore_jid_parse() splits and enforces a JID: the localpart with the
 * PRECIS UsernameCaseMapped profile (RFC 8265 §3.3), the resourcepart with
 * the OpaqueString profile (RFC 8265 §4.2), the domainpart lowercased,
 * NFC-normalised and checked as IDNA2008 U-labels / LDH labels, or an IP
 * literal (IPv4 dotted quad, IPv6 in brackets). Each part is at most 1023
 * bytes after enforcement. A JID object is immutable and owns one
 * allocation holding every string it returns.
 */
#ifndef XMPPCORE_JID_H
#define XMPPCORE_JID_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xmppcore_jid xmppcore_jid;

/* Largest size in bytes of each part after enforcement (RFC 7622 §3). */
#define XMPPCORE_JID_PART_MAX 1023

/*
 * Parses and enforces the JID in str[0..len) (len == (size_t)-1: str is
 * NUL-terminated). On success stores a new JID in *out and returns 0.
 * On failure *out is NULL and the return is XMPPCORE_E_JID (malformed or
 * disallowed; the caller answers jid-malformed) or XMPPCORE_E_NOMEM.
 * mem may be NULL.
 */
XMPPCORE_API int xmppcore_jid_parse(const xmppcore_mem *mem, const char *str,
                                    size_t len, xmppcore_jid **out);

/*
 * Builds a JID from its parts (local and resource may be NULL), enforcing
 * each as xmppcore_jid_parse() would. Returns as xmppcore_jid_parse().
 */
XMPPCORE_API int xmppcore_jid_new(const xmppcore_mem *mem, const char *local,
                                  const char *domain, const char *resource,
                                  xmppcore_jid **out);

/* Frees jid. NULL is a no-op. */
XMPPCORE_API void xmppcore_jid_free(xmppcore_jid *jid);

/* A copy of jid, or NULL on allocation failure. */
XMPPCORE_API xmppcore_jid *xmppcore_jid_copy(const xmppcore_jid *jid);

/* A new JID with the resource removed, or NULL on allocation failure. */
XMPPCORE_API xmppcore_jid *xmppcore_jid_bare(const xmppcore_jid *jid);

/* The enforced localpart, or NULL if there is none. Borrowed from jid. */
XMPPCORE_API const char *xmppcore_jid_local(const xmppcore_jid *jid);

/* The enforced domainpart (never NULL). Borrowed from jid. */
XMPPCORE_API const char *xmppcore_jid_domain(const xmppcore_jid *jid);

/* The enforced resourcepart, or NULL if there is none. Borrowed. */
XMPPCORE_API const char *xmppcore_jid_resource(const xmppcore_jid *jid);

/* The whole enforced JID, "local@domain/resource". Borrowed. */
XMPPCORE_API const char *xmppcore_jid_str(const xmppcore_jid *jid);

/* The enforced bare JID, "local@domain" or "domain". Borrowed. */
XMPPCORE_API const char *xmppcore_jid_bare_str(const xmppcore_jid *jid);

/* Non-zero if the JIDs are equal (full compare). */
XMPPCORE_API int xmppcore_jid_equal(const xmppcore_jid *a,
                                    const xmppcore_jid *b);

/* Non-zero if the bare parts of the JIDs are equal. */
XMPPCORE_API int xmppcore_jid_bare_equal(const xmppcore_jid *a,
                                         const xmppcore_jid *b);

/*
 * Enforces one part on its own (for a username typed at registration, a
 * resource asked for at bind, a configured domain). which is one of the
 * values below. Writes the result and a NUL into out (size outsz) and
 * returns its length (>= 0), or XMPPCORE_E_JID, or XMPPCORE_E_RANGE if
 * outsz is too small (XMPPCORE_JID_PART_MAX + 1 always suffices).
 */
enum {
    XMPPCORE_JID_LOCAL = 0,
    XMPPCORE_JID_DOMAIN = 1,
    XMPPCORE_JID_RESOURCE = 2
};
XMPPCORE_API int xmppcore_jid_enforce_part(int which, const char *in, size_t len,
                                           char *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif

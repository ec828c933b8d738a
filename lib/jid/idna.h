/*
 * JID domainparts (RFC 7622 section 3.2): IDNA2008 label checks and
 * Punycode (RFC 3492). Internal to lib/.
 */
#ifndef XI_JID_IDNA_H
#define XI_JID_IDNA_H

#include <stddef.h>
#include <stdint.h>

/*
 * Enforces the domainpart in[0..len): strips one trailing '.', accepts an
 * IPv6 literal in brackets (written back in its canonical inet_ntop form)
 * or labels that are NR-LDH labels (lowercased) or U-labels; typed
 * non-ASCII input is mapped per RFC 5895 (toLowerCase, width mapping, NFC)
 * and A-labels ("xn--") are validated and converted to U-labels. Writes the
 * result and a NUL to out. Returns its length, XMPPCORE_E_JID if invalid
 * (including longer than 1023 bytes) or XMPPCORE_E_RANGE if outsz is too
 * small.
 */
int xi_domain_enforce(const char *in, size_t len, char *out, size_t outsz);

/* RFC 3492 decoding of the ASCII string in[0..len) (without "xn--") into
 * at most cap code points. Returns the count or XMPPCORE_E_JID. */
int xi_punycode_decode(const char *in, size_t len, uint32_t *out, size_t cap);

/* RFC 3492 encoding; writes no NUL. Returns the length or
 * XMPPCORE_E_RANGE if more than outsz bytes are needed. */
int xi_punycode_encode(const uint32_t *in, size_t n, char *out, size_t outsz);

#endif

/*
 * PRECIS string enforcement (RFC 8264) for the profiles the library needs:
 * usernames and passwords (RFC 8265) and nicknames (RFC 8266). Internal to
 * lib/: the JID code uses it for localparts and resourceparts, SASL for
 * authentication identities and passwords, MUC for room nicknames.
 *
 * Nothing here allocates; the working set (two buffers of XI_UNI_MAX code
 * points, 32 KiB) lives on the caller's stack. Thread-safe.
 */
#ifndef XI_JID_PRECIS_H
#define XI_JID_PRECIS_H

#include <stddef.h>
#include <stdint.h>

#include "xmppcore/common.h"

enum {
    /* RFC 8265 section 3.3: IdentifierClass, width mapping, toLowerCase,
     * NFC, Bidi Rule. JID localparts (RFC 7622 section 3.3). */
    XI_PRECIS_USERNAME_CASEMAPPED = 1,
    /* RFC 8265 section 3.4: as above without case mapping. */
    XI_PRECIS_USERNAME_CASEPRESERVED = 2,
    /* RFC 8265 section 4.2: FreeformClass, non-ASCII spaces to U+0020,
     * NFC. Passwords and JID resourceparts (RFC 7622 section 3.4). */
    XI_PRECIS_OPAQUE_STRING = 3,
    /* RFC 8266 section 2.3 (enforcement): FreeformClass, spaces mapped,
     * trimmed and collapsed, NFKC. Case is preserved, as the RFC wants
     * for enforcement. */
    XI_PRECIS_NICKNAME = 4,
    /* RFC 8266 section 2.4 (comparison): the nickname rules plus
     * toLowerCase; compare two nicknames by comparing these outputs. */
    XI_PRECIS_NICKNAME_CASEMAPPED = 5
};

/*
 * Enforces profile on the UTF-8 string in[0..len) and writes the result
 * and a NUL into out (outsz bytes; in and out must not overlap). The rules
 * are applied in the order of the profile's RFC: the preparation check
 * against the string class (after width mapping for usernames), then the
 * additional, case and normalization mappings, the directionality rule,
 * and the class check again on the result (RFC 8264 section 7). As RFC 8264
 * section 7 asks, the rules are re-applied until the output is stable, and
 * the string is rejected if it is not stable after three more rounds; so
 * enforcing an output again always gives the same output.
 *
 * Returns the length of the output (> 0), XMPPCORE_E_JID if the string is
 * malformed UTF-8, contains a disallowed or unassigned code point, fails a
 * contextual or the Bidi rule, or is empty after enforcement, or
 * XMPPCORE_E_RANGE if outsz is too small or the working form exceeds
 * XI_UNI_MAX code points.
 */
int xi_precis_enforce(int profile, const char *in, size_t len, char *out,
                      size_t outsz);

/*
 * NFC (compat == 0) or NFKC (compat != 0) of in[0..n) into out[0..cap).
 * Returns the output length or XMPPCORE_E_RANGE. in and out must differ.
 * Exposed for the NormalizationTest.txt conformance test.
 */
int xi_unicode_normalize(int compat, const uint32_t *in, size_t n,
                         uint32_t *out, size_t cap);

/* Path of the NormalizationTest.txt decompressed at build time. */
const char *xi_unicode_normtest_file(void);

#endif

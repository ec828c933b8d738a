/*
 * Unicode operations shared by the PRECIS profiles (precis.c) and the
 * IDNA2008 domainpart checks (idna.c): UTF-8 coding, toLowerCase, width
 * mapping, NFC/NFKC, the Bidi Rule (RFC 5893) and the contextual rules of
 * RFC 5892 Appendix A. They work on arrays of code points so that a caller
 * can keep its working set on the stack; no function here allocates.
 * Internal to lib/; the tables come from gen_unicode.py.
 */
#ifndef XI_JID_UNICODE_H
#define XI_JID_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jid/unicode_data.h"

/*
 * Capacity (in code points) of the working buffers callers put on the
 * stack. A JID part is at most 1023 bytes after enforcement; no mapping used
 * for JIDs deletes code points and composition shrinks at most 4:1 into a
 * 3-byte character, so an input longer than this cannot yield a valid part.
 */
#define XI_UNI_MAX 4096

/* Decodes strict UTF-8 (shortest form, no surrogates, <= U+10FFFF).
 * Returns the number of code points, XMPPCORE_E_JID on malformed input or
 * XMPPCORE_E_RANGE if more than cap code points. */
int xi_utf8_decode(const char *s, size_t len, uint32_t *out, size_t cap);

/* Encodes n code points and a NUL into out; returns the length without the
 * NUL or XMPPCORE_E_RANGE if outsz is too small. */
int xi_utf8_encode(const uint32_t *cps, size_t n, char *out, size_t outsz);

/* Non-zero if cps[0..n) encodes exactly to s[0..len). */
bool xi_utf8_equal(const uint32_t *cps, size_t n, const char *s, size_t len);

/* Unicode toLowerCase() (full mappings, Final_Sigma context, no locale).
 * Returns the new length or XMPPCORE_E_RANGE. in and out must differ. */
int xi_uni_tolower(const uint32_t *in, size_t n, uint32_t *out, size_t cap);

/* Maps fullwidth and halfwidth code points to their <wide>/<narrow>
 * decomposition (UAX #11), in place. */
void xi_uni_width_map(uint32_t *cps, size_t n);

/* NFC (compat == 0) or NFKC (compat != 0) of in into out (distinct
 * buffers). Returns the new length or XMPPCORE_E_RANGE. */
int xi_uni_normalize(int compat, const uint32_t *in, size_t n, uint32_t *out,
                     size_t cap);

/* Non-zero if some code point has Bidi_Class R, AL or AN (RFC 5893 calls
 * such a label an RTL label; PRECIS "right-to-left code points"). */
bool xi_uni_has_rtl(const uint32_t *cps, size_t n);

/* The six conditions of the Bidi Rule, RFC 5893 section 2. */
bool xi_uni_bidi_rule(const uint32_t *cps, size_t n);

/* The contextual rule of RFC 5892 Appendix A for cps[i] (a CONTEXTJ or
 * CONTEXTO code point) within cps[0..n). False if no rule exists. */
bool xi_uni_context_ok(const uint32_t *cps, size_t n, size_t i);

#endif

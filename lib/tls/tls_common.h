/*
 * Protocol-independent pieces shared by both TLS backends (lib/tls
 * only): the bounds, the fed-ciphertext queue, and the ALPN list's
 * checking and copying. What touches certificates is in tls_cert.h.
 */
#ifndef XI_TLS_COMMON_H
#define XI_TLS_COMMON_H

#include <stdbool.h>

#include "tls/tls.h"

/* ALPN protocols a config accepts at most. */
#define XI_TLS_MAX_ALPN 8

/* Fed ciphertext not yet read out; past this the host is not reading. */
#define XI_TLS_MAX_PENDING (256u * 1024u)

/* Frees the storage of a drained input queue (idle sessions hold none). */
void xi_tls_in_release(struct xmppcore_buffer *in);

/*
 * The backend-neutral start of xi_tls_feed: refuses input after a
 * failure or the peer's close_notify (XMPPCORE_E_STATE), enforces
 * XI_TLS_MAX_PENDING (XMPPCORE_E_POLICY: *state becomes XI_TLS_FAILED,
 * err says why, in is released), remembers the first byte ever fed
 * (*first_byte, -1 before any) and appends data to in
 * (XMPPCORE_E_NOMEM). Returns 0 when the backend should go on.
 */
int xi_tls_take_input(struct xmppcore_buffer *in, xi_tls_state *state,
                      bool peer_closed, int *first_byte, char *err,
                      size_t errsz, const void *data, size_t len);

/*
 * Checks and copies an ALPN list for xi_tls_config_set_alpn: names[0..n)
 * receive copies (names has XI_TLS_MAX_ALPN slots; the caller frees
 * them). Returns 0; XMPPCORE_E_INVAL (more than XI_TLS_MAX_ALPN names, a
 * NULL list, a name empty or over 255 bytes) or XMPPCORE_E_NOMEM, with
 * err set and nothing left allocated.
 */
int xi_tls_alpn_copy(const xmppcore_mem *mem, const char *const *protocols,
                     size_t n, char **names, char *err, size_t errsz);

#endif

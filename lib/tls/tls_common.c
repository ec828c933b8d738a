/*
 * Protocol-independent pieces shared by both TLS backends; see
 * tls_common.h.
 */
#include <stdio.h>

#include "tls/tls_common.h"

void xi_tls_in_release(struct xmppcore_buffer *in)
{
    xi_free(in->mem, in->data);
    in->data = NULL;
    in->len = in->off = in->cap = 0;
}

int xi_tls_take_input(struct xmppcore_buffer *in, xi_tls_state *state,
                      bool peer_closed, int *first_byte, char *err,
                      size_t errsz, const void *data, size_t len)
{
    if (*state == XI_TLS_FAILED || peer_closed)
        return XMPPCORE_E_STATE;
    if (len > XI_TLS_MAX_PENDING - in->len) {
        *state = XI_TLS_FAILED;
        snprintf(err, errsz,
                 "more than %u bytes of ciphertext fed but not read",
                 XI_TLS_MAX_PENDING);
        xi_tls_in_release(in);
        return XMPPCORE_E_POLICY;
    }
    if (len && *first_byte < 0)
        *first_byte = *(const unsigned char *)data;
    if (len && xi_buf_put(in, data, len) < 0)
        return XMPPCORE_E_NOMEM;
    return 0;
}

int xi_tls_alpn_copy(const xmppcore_mem *mem, const char *const *protocols,
                     size_t n, char **names, char *err, size_t errsz)
{
    if (n > XI_TLS_MAX_ALPN || (n && !protocols)) {
        snprintf(err, errsz, "too many ALPN protocols");
        return XMPPCORE_E_INVAL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = protocols[i] ? strlen(protocols[i]) : 0;
        bool bad = len == 0 || len > 255;
        if (bad || !(names[i] = xi_strndup(mem, protocols[i], len))) {
            for (size_t j = 0; j < i; j++) {
                xi_free(mem, names[j]);
                names[j] = NULL;
            }
            snprintf(err, errsz, "%s",
                     bad ? "ALPN protocol name empty or too long"
                         : "out of memory");
            return bad ? XMPPCORE_E_INVAL : XMPPCORE_E_NOMEM;
        }
    }
    return 0;
}

/*
 * TLS cost on the server side: CPU time per full handshake (in memory,
 * the server's calls timed apart from the client's with the thread CPU
 * clock) and heap per established, idle session (glibc mallinfo2 deltas:
 * Debian's mbedTLS 2.28 has no MBEDTLS_PLATFORM_MEMORY, and OpenSSL is
 * not told to use the env's allocator, so both allocate with malloc and
 * cannot be counted any other way; chunk overhead included). Measures
 * the backend the build was configured with (meson option tls); the
 * client is mbedTLS either way, and its time is not counted.
 *
 *   bench_tls [handshakes] [idle sessions]     (defaults 200, 200)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mbedtls/version.h>

#include "tls/tls_features.h"
#if XI_TLS_OPENSSL
#include "tls/ossl_internal.h"
#else
#include <mbedtls/ssl_internal.h>

#include "tls/tls_internal.h"
#define BENCH_TLS_LIB "mbedTLS " MBEDTLS_VERSION_STRING
#endif
#include "tls_peer.h"
#include "xmppcore.h"

static double now_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_used(void)
{
    return mallinfo2().uordblks;
}

/* Drops a drained output queue's storage, as a host that frees its
 * write buffer when the socket caught up would. */
static void release(xmppcore_buffer *b)
{
    struct xmppcore_buffer *q = b;
    free(q->data);
    q->data = NULL;
    q->len = q->off = q->cap = 0;
}

static const mbedtls_ecp_group_id only_p256[] = {MBEDTLS_ECP_DP_SECP256R1,
                                                 MBEDTLS_ECP_DP_NONE};

/* One handshake; server and client CPU time added to *srv and *cli. */
static int timed_handshake(xi_tls_config *cfg, const tp_opts *o, int p256,
                           double *srv, double *cli)
{
    xmppcore_buffer *s2c = xmppcore_buffer_new(NULL);
    xi_tls_session *s = NULL;
    tp_client c;
    int ok = 0;
    double t0 = now_cpu();
    if (xi_tls_session_new(cfg, s2c, &s) != 0)
        return 0;
    *srv += now_cpu() - t0;
    t0 = now_cpu();
    tp_init(&c, o, s2c);
    if (p256)
        mbedtls_ssl_conf_curves(&c.conf, only_p256);
    *cli += now_cpu() - t0;
    for (int i = 0; i < 20; i++) {
        t0 = now_cpu();
        int cr = mbedtls_ssl_handshake(&c.ssl);
        *cli += now_cpu() - t0;
        t0 = now_cpu();
        int sr = 0;
        while (xmppcore_buffer_len(c.c2s) && sr == 0) {
            sr = xi_tls_feed(s, xmppcore_buffer_data(c.c2s),
                             xmppcore_buffer_len(c.c2s));
            xmppcore_buffer_consume(c.c2s, xmppcore_buffer_len(c.c2s));
        }
        *srv += now_cpu() - t0;
        if (sr)
            break;
        if (cr == 0 && xi_tls_get_state(s) == XI_TLS_ESTABLISHED) {
            ok = 1;
            break;
        }
        if (cr != MBEDTLS_ERR_SSL_WANT_READ)
            break;
    }
    t0 = now_cpu();
    xi_tls_session_free(s);
    *srv += now_cpu() - t0;
    tp_free(&c);
    xmppcore_buffer_free(s2c);
    return ok;
}

int main(int argc, char **argv)
{
    int n_hs = argc > 1 ? atoi(argv[1]) : 200;
    int n_idle = argc > 2 ? atoi(argv[2]) : 200;
    if (xmppcore_init() != 0 || n_hs <= 0 || n_idle <= 0)
        return 1;

    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    xi_tls_config *cfg = NULL;
    if (xmppcore_tls_generate_self_signed_pem(NULL, "example.org", NULL, 0, 30,
                                              key, cert) != 0 ||
        xi_tls_config_new(NULL, &cfg) != 0 ||
        xi_tls_config_add_cert_pem(cfg, xmppcore_buffer_data(cert),
                                   xmppcore_buffer_data(key), NULL, 0) != 0)
        return 1;
    static const char *const alpn[] = {"xmpp-client", NULL};
    xi_tls_config_set_alpn(cfg, alpn, 1);
    tp_opts o = {.ca_pem = xmppcore_buffer_data(cert),
                 .hostname = "example.org",
                 .alpn = alpn};

    /* Warm-up: lazily built tables (the key's ECP comb) belong to the
     * config, not to a session. */
    double srv = 0, cli = 0;
    for (int i = 0; i < 5; i++)
        if (!timed_handshake(cfg, &o, 0, &srv, &cli))
            return 1;

    printf("TLS 1.2, ECDSA P-256 certificate, "
           "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256, server on %s\n",
           BENCH_TLS_LIB);
    for (int p256 = 0; p256 < 2; p256++) {
        srv = cli = 0;
        for (int i = 0; i < n_hs; i++)
            if (!timed_handshake(cfg, &o, p256, &srv, &cli)) {
                fprintf(stderr, "handshake %d failed\n", i);
                return 1;
            }
        printf("ECDHE %-10s %d handshakes: server %.3f ms CPU each, "
               "client %.3f ms CPU each\n",
               p256 ? "secp256r1" : "x25519", n_hs, srv * 1000 / n_hs,
               cli * 1000 / n_hs);
    }

    /* Idle sessions: established, one message each way, output drained,
     * clients gone; what stays is the server's per-connection cost. */
    xi_tls_session **ss = calloc((size_t)n_idle, sizeof *ss);
    xmppcore_buffer **outs = calloc((size_t)n_idle, sizeof *outs);
    size_t base = heap_used(), after_new = 0, peak_extra = 0;
    for (int i = 0; i < n_idle; i++) {
        outs[i] = xmppcore_buffer_new(NULL);
        if (xi_tls_session_new(cfg, outs[i], &ss[i]) != 0)
            return 1;
    }
    after_new = heap_used();
    for (int i = 0; i < n_idle; i++) {
        tp_client c;
        size_t before = heap_used();
        tp_init(&c, &o, outs[i]);
        tp_result r = tp_handshake(&c, ss[i], 0);
        xmppcore_buffer *got = xmppcore_buffer_new(NULL);
        if (r.client || r.server ||
            tp_client_to_server(&c, ss[i], "<presence/>", 11, 0, got) !=
                XMPPCORE_E_AGAIN ||
            xi_tls_write(ss[i], "<presence/>", 11) != 0 ||
            tp_client_read(&c, got) != MBEDTLS_ERR_SSL_WANT_READ)
            return 1;
        xmppcore_buffer_free(got);
        size_t during = heap_used() - before;
        if (during > peak_extra)
            peak_extra = during;
        tp_free(&c);
        release(outs[i]);
    }
    size_t idle = heap_used();
    printf("heap per session: %.0f bytes after xi_tls_session_new, "
           "%.0f bytes established and idle (%d sessions)\n",
           (double)(after_new - base) / n_idle, (double)(idle - base) / n_idle,
           n_idle);
#if XI_TLS_OPENSSL
    printf("  sizeof(struct xi_tls_session) %zu; the rest is OpenSSL's SSL "
           "(record buffers released while idle: SSL_MODE_RELEASE_BUFFERS)\n",
           sizeof(struct xi_tls_session));
#else
    printf("  of which mbedTLS record buffers: in %d + out %d bytes; "
           "sizeof(struct xi_tls_session) %zu, of which "
           "mbedtls_ssl_context %zu (variable buffers compiled in: %s)\n",
           (int)MBEDTLS_SSL_IN_BUFFER_LEN, (int)MBEDTLS_SSL_OUT_BUFFER_LEN,
           sizeof(struct xi_tls_session), sizeof(mbedtls_ssl_context),
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
           "yes"
#else
           "no"
#endif
    );
#endif
    printf("  heap growth during one handshake (server + in-memory client, "
           "before the client is freed): %zu bytes\n",
           peak_extra);
    for (int i = 0; i < n_idle; i++) {
        xi_tls_session_free(ss[i]);
        xmppcore_buffer_free(outs[i]);
    }
    free(ss);
    free(outs);
    xi_tls_config_free(cfg);
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    return 0;
}

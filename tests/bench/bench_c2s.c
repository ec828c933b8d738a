/*
 * In-process benchmark of the c2s engine, without sockets: N client
 * connections log in (SASL PLAIN with the verifier cache warm, or
 * SCRAM-SHA-256), bind and send presence; then pairs exchange messages.
 * Prints library CPU per login and per delivered message, and library
 * memory per idle session (counting allocator, after the idle timer let
 * parsers hibernate). Socket and kernel costs are not included: the load
 * test against xmppcored (tests/bench/compare-servers.sh) measures those.
 *
 *   bench_c2s [sessions] [messages]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>

#include "xmppcore.h"

#define DOMAIN "bench.local"
#define HDR "<?xml version='1.0'?><stream:stream to='" DOMAIN "' version='1.0' " \
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

static long live_bytes;
static void *c_malloc(size_t n, void *ud)
{
    (void)ud;
    size_t *p = malloc(n + 16);
    if (!p)
        return NULL;
    p[0] = n;
    live_bytes += (long)n;
    return (char *)p + 16;
}
static void *c_realloc(void *q, size_t n, void *ud)
{
    (void)ud;
    size_t *p = (size_t *)((char *)q - 16);
    live_bytes -= (long)p[0];
    p = realloc(p, n + 16);
    if (!p)
        return NULL;
    p[0] = n;
    live_bytes += (long)n;
    return (char *)p + 16;
}
static void c_free(void *q, void *ud)
{
    (void)ud;
    size_t *p = (size_t *)((char *)q - 16);
    live_bytes -= (long)p[0];
    free(p);
}
static const xmppcore_mem counting = {XMPPCORE_MEM_VERSION, NULL, c_malloc,
                                      c_realloc, c_free};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t drain(xmppcore_conn *c)
{
    size_t len, total = 0;
    while (xmppcore_conn_output(c, &len) && len) {
        xmppcore_conn_consume(c, len);
        total += len;
    }
    return total;
}

/* Separate, so `valgrind --tool=callgrind --toggle-collect=run_messages`
 * counts the message path alone. */
__attribute__((noinline)) static size_t run_messages(xmppcore_conn **conns,
                                                     int n, long msgs)
{
    char m[300];
    size_t out_bytes = 0;
    for (long k = 0; k < msgs; k++) {
        int a = (int)(k % n), b = a ^ 1;
        size_t ml = (size_t)snprintf(m, sizeof m,
            "<message to='user%d@" DOMAIN "/r' type='chat' id='m%ld'>"
            "<body>Hello there, how are you doing today?</body></message>", b, k);
        xmppcore_conn_feed(conns[a], m, ml);
        out_bytes += drain(conns[b]);
    }
    return out_bytes;
}

static void done(int st, void *ud)
{
    *(int *)ud = st;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    long msgs = argc > 2 ? atol(argv[2]) : 200000;
    if (n < 2 || n > 100000)
        n = 2000;
    n &= ~1;
    xmppcore_init();
    xmppcore_env env = {XMPPCORE_ENV_VERSION, &counting, NULL, NULL, NULL, NULL};
    xmppcore_server *s = xmppcore_server_new(&env, NULL, NULL);
    int64_t now = 1000;
    xmppcore_server_tick(s, now);
    xmppcore_server_add_vhost(s, DOMAIN);
    xmppcore_server_set_option(s, NULL, "auth.plain_without_tls", "true");
    xmppcore_store *store = xmppcore_store_memory_new(NULL);
    xmppcore_server_set_store(s, store);
    xmppcore_listener *l = xmppcore_server_add_listener(s, "c2s", XMPPCORE_LISTEN_C2S);
    xmppcore_listener_set_option(l, "starttls_required", "false");
    /* accounts: derive once, store under every name (setup, not measured) */
    xmppcore_credentials cr;
    xmppcore_credentials_derive("secret", 6, 4096, NULL, NULL, &cr);
    for (int i = 0; i < n; i++) {
        char u[32];
        snprintf(u, sizeof u, "user%d", i);
        int st = 1;
        xmppcore_store_auth_create(store, DOMAIN, u, &cr, done, &st);
    }
    xmppcore_conn **conns = calloc((size_t)n, sizeof *conns);
    long base = live_bytes;
    double t0 = cpu_now();
    for (int i = 0; i < n; i++) {
        char raw[64], enc[128], buf[512];
        int rl = snprintf(raw, sizeof raw, "%cuser%d%csecret", 0, i, 0);
        size_t el = 0;
        mbedtls_base64_encode((unsigned char *)enc, sizeof enc, &el,
                              (unsigned char *)raw, (size_t)rl);
        enc[el] = 0;
        conns[i] = xmppcore_conn_new(l, "127.0.0.1", NULL, NULL);
        xmppcore_conn_feed(conns[i], HDR, strlen(HDR));
        drain(conns[i]);
        snprintf(buf, sizeof buf,
                 "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>",
                 enc);
        xmppcore_conn_feed(conns[i], buf, strlen(buf));
        drain(conns[i]);
        xmppcore_conn_feed(conns[i], HDR, strlen(HDR));
        drain(conns[i]);
        const char *bind = "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                           "<resource>r</resource></bind></iq><presence/>";
        xmppcore_conn_feed(conns[i], bind, strlen(bind));
        drain(conns[i]);
    }
    double t_login = cpu_now() - t0;
    if ((long)xmppcore_server_sessions(s, NULL, NULL, NULL) != n) {
        fprintf(stderr, "only %zu of %d sessions\n",
                xmppcore_server_sessions(s, NULL, NULL, NULL), n);
        return 1;
    }
    long before_idle = live_bytes - base;
    now += 2000;
    xmppcore_server_tick(s, now);
    long idle = live_bytes - base;

    /* messages: i sends to i^1 */
    double t1 = cpu_now();
    size_t out_bytes = run_messages(conns, n, msgs);
    double t_msg = cpu_now() - t1;
    printf("machine: %ld sessions in-process (no sockets)\n", (long)n);
    printf("login (PLAIN, verifier cache warm after the first): %.1f us CPU per login\n",
           t_login / n * 1e6);
    printf("memory per session: %.0f bytes just after login, %.0f bytes idle (hibernated)\n",
           (double)before_idle / n, (double)idle / n);
    printf("messages: %ld delivered, %.2f us CPU per delivered message, %.0f msgs/s on one core\n",
           msgs, t_msg / msgs * 1e6, msgs / t_msg);
    if (out_bytes < (size_t)msgs * 100) {
        fprintf(stderr, "messages were not delivered (%zu bytes out)\n", out_bytes);
        return 1;
    }
    for (int i = 0; i < n; i++)
        xmppcore_conn_free(conns[i]);
    free(conns);
    xmppcore_server_free(s);
    xmppcore_store_free(store);
    return 0;
}

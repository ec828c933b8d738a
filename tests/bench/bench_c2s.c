/*
 * In-process benchmark of the c2s engine, without sockets: N client
 * connections log in (SASL PLAIN with the verifier cache warm, or
 * SCRAM-SHA-256), bind and send presence; then pairs exchange messages.
 * Prints library CPU per login (PLAIN on an account's first login, which
 * pays PBKDF2; PLAIN again, answered from the verifier cache; and
 * SCRAM-SHA-256, with the client's own computations timed apart and
 * subtracted) and per delivered message, and library
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
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

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

/* Drains c's output into out (NUL-terminated, truncated to cap). */
static void grab(xmppcore_conn *c, char *out, size_t cap)
{
    size_t len, used = 0;
    const void *p;
    while ((p = xmppcore_conn_output(c, &len)) && len) {
        size_t k = len < cap - 1 - used ? len : cap - 1 - used;
        memcpy(out + used, p, k);
        used += k;
        xmppcore_conn_consume(c, len);
    }
    out[used] = 0;
}

/* Text between the first '>' after tag and the next '<'. */
static int inner(const char *xml, const char *tag, char *out, size_t cap)
{
    const char *a = strstr(xml, tag);
    if (!a || !(a = strchr(a, '>')))
        return -1;
    a++;
    const char *b = strchr(a, '<');
    if (!b || (size_t)(b - a) >= cap)
        return -1;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = 0;
    return 0;
}

static void hmac256(const unsigned char *k, size_t kl, const void *m, size_t ml,
                    unsigned char out[32])
{
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), k, kl, m, ml, out);
}

static double client_cpu; /* time spent in the bench's own SCRAM client */

/* Logs conn in as user with SCRAM-SHA-256 and binds resource res.
 * salted caches the SaltedPassword (every account shares one salt).
 * Returns 0 on success. */
__attribute__((noinline)) static int scram_login(xmppcore_conn *c, const char *user,
                                                 const char *res,
                       unsigned char salted[32], int *have_salted)
{
    char buf[1024], b64[512], first[128], sfirst[256], fin[512], am[768];
    unsigned char raw[512];
    size_t n;
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    grab(c, buf, sizeof buf);
    double t = cpu_now();
    snprintf(first, sizeof first, "n=%s,r=rOprNGfwEbeRWgbNEkqO%s", user, user);
    snprintf(fin, sizeof fin, "n,,%s", first);
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &n,
                          (unsigned char *)fin, strlen(fin));
    b64[n] = 0;
    snprintf(buf, sizeof buf, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
             "mechanism='SCRAM-SHA-256'>%s</auth>", b64);
    client_cpu += cpu_now() - t;
    xmppcore_conn_feed(c, buf, strlen(buf));
    grab(c, buf, sizeof buf);
    t = cpu_now();
    if (inner(buf, "<challenge", b64, sizeof b64) != 0)
        return -1;
    if (mbedtls_base64_decode((unsigned char *)sfirst, sizeof sfirst - 1, &n,
                              (unsigned char *)b64, strlen(b64)) != 0)
        return -1;
    sfirst[n] = 0;
    const char *r = strstr(sfirst, "r="), *sp = strstr(sfirst, ",s="), *ip = strstr(sfirst, ",i=");
    if (!r || !sp || !ip)
        return -1;
    if (!*have_salted) {
        size_t sl;
        char sb[128];
        snprintf(sb, sizeof sb, "%.*s", (int)(ip - sp - 3), sp + 3);
        if (mbedtls_base64_decode(raw, sizeof raw, &sl, (unsigned char *)sb, strlen(sb)))
            return -1;
        mbedtls_md_context_t md;
        mbedtls_md_init(&md);
        mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
        mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)"secret", 6, raw, sl,
                                  (unsigned)atoi(ip + 3), 32, salted);
        mbedtls_md_free(&md);
        *have_salted = 1;
    }
    char wo[256];
    snprintf(wo, sizeof wo, "c=biws,r=%.*s", (int)(sp - r - 2), r + 2);
    snprintf(am, sizeof am, "%s,%s,%s", first, sfirst, wo);
    unsigned char ck[32], sk[32], sig[32], proof[32];
    hmac256(salted, 32, "Client Key", 10, ck);
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), ck, 32, sk);
    hmac256(sk, 32, am, strlen(am), sig);
    for (int i = 0; i < 32; i++)
        proof[i] = ck[i] ^ sig[i];
    char pb[64];
    mbedtls_base64_encode((unsigned char *)pb, sizeof pb, &n, proof, 32);
    pb[n] = 0;
    snprintf(fin, sizeof fin, "%s,p=%s", wo, pb);
    mbedtls_base64_encode((unsigned char *)b64, sizeof b64, &n,
                          (unsigned char *)fin, strlen(fin));
    b64[n] = 0;
    snprintf(buf, sizeof buf, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>", b64);
    client_cpu += cpu_now() - t;
    xmppcore_conn_feed(c, buf, strlen(buf));
    grab(c, buf, sizeof buf);
    if (!strstr(buf, "<success"))
        return -1;
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    drain(c);
    snprintf(buf, sizeof buf, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
             "<resource>%s</resource></bind></iq>", res);
    xmppcore_conn_feed(c, buf, strlen(buf));
    grab(c, buf, sizeof buf);
    return strstr(buf, "type='result'") || strstr(buf, "type=\"result\"") ? 0 : -1;
}

/* A PLAIN login and bind, as a client that pipelines nothing. */
__attribute__((noinline)) static int plain_login(xmppcore_conn *c, int i,
                                                 const char *res)
{
    char raw[64], enc[128], buf[1024];
    int rl = snprintf(raw, sizeof raw, "%cuser%d%csecret", 0, i, 0);
    size_t el = 0;
    mbedtls_base64_encode((unsigned char *)enc, sizeof enc, &el,
                          (unsigned char *)raw, (size_t)rl);
    enc[el] = 0;
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    drain(c);
    snprintf(buf, sizeof buf,
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>",
             enc);
    xmppcore_conn_feed(c, buf, strlen(buf));
    grab(c, buf, sizeof buf);
    if (!strstr(buf, "<success"))
        return -1;
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    drain(c);
    snprintf(buf, sizeof buf, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
             "<resource>%s</resource></bind></iq>", res);
    xmppcore_conn_feed(c, buf, strlen(buf));
    grab(c, buf, sizeof buf);
    return strstr(buf, "type='result'") || strstr(buf, "type=\"result\"") ? 0 : -1;
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
    printf("login (PLAIN, first login of each account: PBKDF2): %.1f us CPU per login\n",
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

    /* PLAIN again: the accounts that logged in last have their
     * verifiers cached (the cache may hold fewer than n). */
    int nw = n < 1000 ? n : 1000;
    double t2 = cpu_now();
    for (int i = 0; i < nw; i++) {
        conns[i] = xmppcore_conn_new(l, "127.0.0.1", NULL, NULL);
        if (plain_login(conns[i], n - nw + i, "w") != 0) {
            fprintf(stderr, "PLAIN login %d failed\n", i);
            return 1;
        }
    }
    double t_warm = cpu_now() - t2;
    for (int i = 0; i < nw; i++)
        xmppcore_conn_free(conns[i]);

    unsigned char salted[32];
    int have_salted = 0;
    client_cpu = 0;
    double t3 = cpu_now();
    for (int i = 0; i < n; i++) {
        char u[32];
        snprintf(u, sizeof u, "user%d", i);
        conns[i] = xmppcore_conn_new(l, "127.0.0.1", NULL, NULL);
        if (scram_login(conns[i], u, "s", salted, &have_salted) != 0) {
            fprintf(stderr, "SCRAM login %d failed\n", i);
            return 1;
        }
    }
    double t_scram = cpu_now() - t3 - client_cpu;
    printf("login (PLAIN, verifier cached): %.1f us CPU per login\n", t_warm / nw * 1e6);
    printf("login (SCRAM-SHA-256, client's work subtracted): %.1f us CPU per login\n",
           t_scram / n * 1e6);
    for (int i = 0; i < n; i++)
        xmppcore_conn_free(conns[i]);
    free(conns);
    xmppcore_server_free(s);
    xmppcore_store_free(store);
    return 0;
}

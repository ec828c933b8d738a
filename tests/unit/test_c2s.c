/*
 * Scenario tests for client connections: drive xmppcore_conn objects with
 * the bytes a client would send (plaintext, or through an in-memory
 * mbedTLS client for STARTTLS and direct TLS) and a fake clock, and check
 * the bytes that come out: negotiation, SASL (PLAIN, SCRAM-SHA-256 and
 * -PLUS), binding, routing between sessions, stanza and stream errors,
 * timers, and a store that answers later.
 */
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "testlib.h"
#include "tls_peer.h"

#define DOMAIN "example.com"
#define HDR "<?xml version='1.0'?><stream:stream to='" DOMAIN "' version='1.0' " \
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

static xmppcore_server *srv;
static xmppcore_store *store;
static xmppcore_listener *plain_l, *tls_l, *direct_l;
static char *cert_pem, *key_pem;
static int64_t now_ms = 1000000;

typedef struct {
    xmppcore_conn *conn;
    xmppcore_buffer *in; /* plaintext the server sent */
    int closed, reason, want_writes;
    int tls; /* 0 none, 1 active */
    tp_client tc;
    xmppcore_buffer *s2c;
} client;

static client *clients[16];

static void on_want_write(xmppcore_conn *c, void *ud)
{
    (void)c;
    ((client *)ud)->want_writes++;
}

static void on_closed(xmppcore_conn *c, int reason, void *ud)
{
    (void)c;
    client *cl = ud;
    cl->closed++;
    cl->reason = reason;
}

static const xmppcore_conn_callbacks conn_cbs = {
    XMPPCORE_CONN_CALLBACKS_VERSION, on_want_write, on_closed};

/* Moves server output to the client, and client TLS records to the
 * server, until nothing moves. */
static void pump(client *cl)
{
    for (int round = 0; round < 100; round++) {
        int moved = 0;
        size_t len;
        const void *out = cl->conn ? xmppcore_conn_output(cl->conn, &len) : NULL;
        if (out && len) {
            xmppcore_buffer_append(cl->tls ? cl->s2c : cl->in, out, len);
            xmppcore_conn_consume(cl->conn, len);
            moved = 1;
        }
        if (cl->tls) {
            if (!(cl->tc.ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER)) {
                int r = mbedtls_ssl_handshake(&cl->tc.ssl);
                (void)r;
            }
            unsigned char buf[4096];
            int n;
            while ((n = mbedtls_ssl_read(&cl->tc.ssl, buf, sizeof buf)) > 0) {
                xmppcore_buffer_append(cl->in, buf, (size_t)n);
                moved = 1;
            }
            if (xmppcore_buffer_len(cl->tc.c2s) && cl->conn) {
                xmppcore_conn_feed(cl->conn, xmppcore_buffer_data(cl->tc.c2s),
                                   xmppcore_buffer_len(cl->tc.c2s));
                xmppcore_buffer_clear(cl->tc.c2s);
                moved = 1;
            }
        }
        if (!moved)
            break;
    }
}

static void start_tls(client *cl)
{
    tp_opts o;
    memset(&o, 0, sizeof o);
    o.ca_pem = cert_pem;
    o.hostname = DOMAIN;
    cl->s2c = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(tp_init(&cl->tc, &o, cl->s2c), 0);
    cl->tls = 1;
    pump(cl);
}

static void pump_all(void)
{
    for (size_t i = 0; i < 16; i++)
        if (clients[i])
            pump(clients[i]);
}

static void cl_open(client *cl, xmppcore_listener *l)
{
    memset(cl, 0, sizeof *cl);
    for (size_t i = 0; i < 16; i++)
        if (!clients[i] || clients[i] == cl) {
            clients[i] = cl;
            break;
        }
    cl->in = xmppcore_buffer_new(NULL);
    cl->conn = xmppcore_conn_new(l, "127.0.0.1", &conn_cbs, cl);
    CHECK(cl->conn != NULL);
    if (l == direct_l)
        start_tls(cl);
}

static void cl_free(client *cl)
{
    for (size_t i = 0; i < 16; i++)
        if (clients[i] == cl)
            clients[i] = NULL;
    xmppcore_conn_free(cl->conn);
    cl->conn = NULL;
    xmppcore_buffer_free(cl->in);
    if (cl->tls) {
        tp_free(&cl->tc);
        xmppcore_buffer_free(cl->s2c);
    }
}

static void cl_send(client *cl, const char *s)
{
    if (cl->tls) {
        size_t len = strlen(s);
        while (len) {
            int n = mbedtls_ssl_write(&cl->tc.ssl, (const unsigned char *)s, len);
            if (n <= 0) {
                CHECK(n > 0);
                return;
            }
            s += n;
            len -= (size_t)n;
        }
    } else {
        xmppcore_conn_feed(cl->conn, s, strlen(s));
    }
    pump(cl);
    pump_all();
}

static int saw(client *cl, const char *needle)
{
    return strstr(xmppcore_buffer_data(cl->in), needle) != NULL;
}

#define EXPECT(cl, needle)                                                     \
    do {                                                                       \
        if (!saw(cl, needle)) {                                                \
            tl_failures++;                                                     \
            fprintf(stderr, "%s:%d: %s: expected \"%s\" in \"%s\"\n", __FILE__, \
                    __LINE__, tl_current, needle, xmppcore_buffer_data((cl)->in)); \
        }                                                                      \
    } while (0)

static void cl_clear(client *cl)
{
    xmppcore_buffer_clear(cl->in);
}

static void b64(const char *in, size_t len, char *out, size_t outsz)
{
    size_t olen = 0;
    mbedtls_base64_encode((unsigned char *)out, outsz, &olen,
                          (const unsigned char *)in, len);
    out[olen] = '\0';
}

/* Logs in with PLAIN over whatever the client has, binds resource. */
static void login_plain(client *cl, const char *user, const char *pw,
                        const char *resource)
{
    char raw[256], enc[400], msg[600];
    int n = snprintf(raw, sizeof raw, "%c%s%c%s", 0, user, 0, pw);
    b64(raw, (size_t)n, enc, sizeof enc);
    cl_send(cl, HDR);
    EXPECT(cl, "<mechanism>PLAIN</mechanism>");
    snprintf(msg, sizeof msg,
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>",
             enc);
    cl_send(cl, msg);
    EXPECT(cl, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    cl_clear(cl);
    cl_send(cl, HDR);
    EXPECT(cl, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>");
    snprintf(msg, sizeof msg,
             "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
             "<resource>%s</resource></bind></iq>",
             resource);
    cl_send(cl, msg);
    char jid[300], lower[100];
    size_t i;
    for (i = 0; user[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(user[i] >= 'A' && user[i] <= 'Z' ? user[i] + 32 : user[i]);
    lower[i] = 0;
    snprintf(jid, sizeof jid, "<jid>%s@" DOMAIN "/%s</jid>", lower, resource);
    EXPECT(cl, jid);
    cl_clear(cl);
}

static void account_done(int status, void *ud)
{
    *(int *)ud = status;
}

static const xmppcore_server_callbacks *setup_cb;

static void setup(void)
{
    xmppcore_env env = {XMPPCORE_ENV_VERSION, NULL, NULL, NULL, NULL, NULL};
    srv = xmppcore_server_new(&env, setup_cb, NULL);
    CHECK(srv != NULL);
    xmppcore_server_tick(srv, now_ms);
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, DOMAIN), 0);
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, "Other.ORG"), 0);
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, "example.com"), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "auth.plain_without_tls", "true"), 0);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "auth.failure_delay_ms", "0"), 0);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "no.such", "1"), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "c2s.idle_timeout", "x"), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, "nowhere.net", "auth.anonymous", "true"),
                 XMPPCORE_E_NOTFOUND);
    xmppcore_buffer *k = xmppcore_buffer_new(NULL), *c = xmppcore_buffer_new(NULL);
    CHECK_EQ_INT(xmppcore_tls_generate_self_signed_pem(NULL, DOMAIN, NULL, 0, 30, k, c), 0);
    key_pem = strdup(xmppcore_buffer_data(k));
    cert_pem = strdup(xmppcore_buffer_data(c));
    xmppcore_buffer_free(k);
    xmppcore_buffer_free(c);
    CHECK_EQ_INT(xmppcore_server_add_cert_pem(srv, cert_pem, key_pem), 0);
    store = xmppcore_store_memory_new(NULL);
    xmppcore_server_set_store(srv, store);
    plain_l = xmppcore_server_add_listener(srv, "plain", XMPPCORE_LISTEN_C2S);
    CHECK_EQ_INT(xmppcore_listener_set_option(plain_l, "starttls_required", "false"), 0);
    tls_l = xmppcore_server_add_listener(srv, "starttls", XMPPCORE_LISTEN_C2S);
    direct_l = xmppcore_server_add_listener(srv, "direct", XMPPCORE_LISTEN_C2S_TLS);
    CHECK_EQ_INT(xmppcore_listener_set_option(tls_l, "bogus", "true"), XMPPCORE_E_INVAL);
    const char *users[] = {"juliet", "romeo", "nurse"};
    for (size_t i = 0; i < 3; i++) {
        int st = 1;
        CHECK_EQ_INT(xmppcore_account_create(srv, DOMAIN, users[i], "pencil", account_done, &st), 0);
        CHECK_EQ_INT(st, 0);
    }
    int st = 1;
    CHECK_EQ_INT(xmppcore_account_create(srv, DOMAIN, "juliet", "x", account_done, &st), 0);
    CHECK_EQ_INT(st, XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_account_create(srv, "nowhere.net", "a", "x", account_done, &st),
                 XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_account_create(srv, DOMAIN, "a@b", "x", account_done, &st),
                 XMPPCORE_E_JID);
}

static void teardown(void)
{
    xmppcore_server_free(srv);
    xmppcore_store_free(store);
    free(cert_pem);
    free(key_pem);
    srv = NULL;
}

static void test_plain_login_and_chat(void)
{
    setup();
    client a, b;
    cl_open(&a, plain_l);
    cl_open(&b, plain_l);
    cl_send(&a, HDR);
    EXPECT(&a, "<stream:stream xmlns='jabber:client'");
    EXPECT(&a, "from='example.com'");
    EXPECT(&a, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'></starttls>");
    EXPECT(&a, "<mechanism>SCRAM-SHA-256</mechanism>");
    CHECK(!saw(&a, "PLUS")); /* no channel binding without TLS */
    CHECK(a.want_writes >= 1);
    cl_free(&a);
    cl_open(&a, plain_l);
    login_plain(&a, "juliet", "pencil", "balcony");
    login_plain(&b, "Romeo", "pencil", "orchard");
    CHECK_STR(xmppcore_conn_jid(a.conn), "juliet@example.com/balcony");
    CHECK_EQ_INT(xmppcore_server_sessions(srv, DOMAIN, NULL, NULL), 2);

    /* initial presence reaches the user's own resource */
    cl_send(&a, "<presence><priority>5</priority></presence>");
    EXPECT(&a, "<presence from=\"juliet@example.com/balcony\" to=\"juliet@example.com/balcony\"><priority>5</priority></presence>");
    cl_send(&b, "<presence/>");
    cl_clear(&a);
    cl_clear(&b);

    /* full JID message: 'from' stamped by the server */
    cl_send(&b, "<message to='juliet@example.com/balcony' type='chat' id='m1' "
                "from='juliet@example.com/balcony'><body>Juliet, forged?</body></message>");
    CHECK_EQ_INT(b.closed, 1); /* invalid-from */
    EXPECT(&b, "<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK(!saw(&a, "forged"));
    cl_free(&b);
    cl_open(&b, plain_l);
    login_plain(&b, "romeo", "pencil", "orchard");
    cl_send(&b, "<presence/>");
    cl_clear(&a);
    cl_send(&b, "<message to='juliet@example.com/balcony' type='chat' id='m2'>"
                "<body>It is my lady &amp; love</body></message>");
    EXPECT(&a, "<message to=\"juliet@example.com/balcony\" type=\"chat\" id=\"m2\" "
               "from=\"romeo@example.com/orchard\"><body>It is my lady &amp; love</body></message>");
    /* bare JID message goes to the highest-priority available resource */
    cl_clear(&a);
    cl_send(&b, "<message to='JULIET@example.com' type='chat'><body>bare</body></message>");
    EXPECT(&a, "<body>bare</body>");
    /* message to an unknown resource: treated as to the bare JID */
    cl_clear(&a);
    cl_send(&b, "<message to='juliet@example.com/nowhere' type='chat'><body>fallback</body></message>");
    EXPECT(&a, "<body>fallback</body>");
    /* iq to a full JID is delivered, the answer comes back */
    cl_clear(&a);
    cl_send(&b, "<iq to='juliet@example.com/balcony' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
    EXPECT(&a, "<iq to=\"juliet@example.com/balcony\" type=\"get\" id=\"v1\" from=\"romeo@example.com/orchard\">");
    cl_clear(&b);
    cl_send(&a, "<iq to='romeo@example.com/orchard' type='result' id='v1'><query xmlns='jabber:iq:version'><name>x</name></query></iq>");
    EXPECT(&b, "<iq to=\"romeo@example.com/orchard\" type=\"result\" id=\"v1\" from=\"juliet@example.com/balcony\">");
    /* iq to a missing resource: service-unavailable */
    cl_clear(&b);
    cl_send(&b, "<iq to='juliet@example.com/gone' type='get' id='v2'><query xmlns='jabber:iq:version'/></iq>");
    EXPECT(&b, "<iq id=\"v2\" to=\"romeo@example.com/orchard\" from=\"juliet@example.com/gone\" type=\"error\"><error type=\"cancel\"><service-unavailable xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></iq>");
    /* message to a user with no session */
    cl_clear(&b);
    cl_send(&b, "<message to='nurse@example.com' type='chat' id='m3'><body>x</body></message>");
    EXPECT(&b, "type=\"error\"><error type=\"cancel\"><service-unavailable");
    /* another domain: no federation yet */
    cl_clear(&b);
    cl_send(&b, "<message to='someone@elsewhere.net' id='m4'><body>x</body></message>");
    EXPECT(&b, "<remote-server-not-found xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>");
    /* malformed 'to' */
    cl_clear(&b);
    cl_send(&b, "<message to='a@b@c' id='m5'><body>x</body></message>");
    EXPECT(&b, "<jid-malformed xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>");
    /* ping, disco and version of the server */
    cl_clear(&b);
    cl_send(&b, "<iq to='example.com' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT(&b, "<iq id=\"p1\" to=\"romeo@example.com/orchard\" from=\"example.com\" type=\"result\"/>");
    cl_clear(&b);
    cl_send(&b, "<iq to='example.com' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    EXPECT(&b, "<identity category=\"server\" type=\"im\" name=\"libxmppcore\"/>");
    EXPECT(&b, "<feature var=\"urn:xmpp:ping\"/>");
    cl_clear(&b);
    cl_send(&b, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
    EXPECT(&b, "<service-unavailable"); /* roster arrives later */
    cl_clear(&b);
    cl_send(&b, "<iq type='get' id='bad'/>");
    EXPECT(&b, "<bad-request");
    /* the legacy session iq */
    cl_clear(&b);
    cl_send(&b, "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    EXPECT(&b, "<iq id=\"s1\" type=\"result\"/>");

    /* closing handshake */
    cl_clear(&a);
    cl_send(&a, "</stream:stream>");
    EXPECT(&a, "</stream:stream>");
    CHECK_EQ_INT(a.closed, 1);
    CHECK_EQ_INT(a.reason, 0);
    CHECK_EQ_INT(xmppcore_server_sessions(srv, NULL, NULL, NULL), 1);
    cl_free(&a);
    cl_free(&b);
    teardown();
}

static void test_auth_failures(void)
{
    setup();
    client a;
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    char enc[200];
    b64("\0juliet\0wrong", 13, enc, sizeof enc);
    char msg[400];
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    EXPECT(&a, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>");
    /* unknown user looks the same */
    cl_clear(&a);
    b64("\0nobody\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    EXPECT(&a, "<not-authorized/>");
    /* the third failed attempt ends the stream */
    cl_clear(&a);
    cl_send(&a, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-NONE'>=</auth>");
    EXPECT(&a, "<invalid-mechanism/>");
    EXPECT(&a, "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);

    cl_open(&a, plain_l);
    cl_send(&a, HDR "<message to='x@example.com'><body>hi</body></message>");
    EXPECT(&a, "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);

    /* PLAIN is refused on a plaintext stream unless allowed */
    xmppcore_server_set_option(srv, DOMAIN, "auth.plain_without_tls", "false");
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    CHECK(!saw(&a, "<mechanism>PLAIN</mechanism>"));
    cl_clear(&a);
    b64("\0juliet\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    EXPECT(&a, "<encryption-required/>");
    cl_free(&a);
    teardown();
}

static void test_delayed_failure(void)
{
    setup();
    xmppcore_server_set_option(srv, NULL, "auth.failure_delay_ms", "1500");
    client a;
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    char enc[200], msg[400];
    b64("\0juliet\0wrong", 13, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_clear(&a);
    cl_send(&a, msg);
    CHECK(!saw(&a, "failure"));
    /* input sent meanwhile waits */
    b64("\0juliet\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    CHECK(!saw(&a, "success"));
    int64_t t = xmppcore_server_next_timeout(srv);
    CHECK(t > 0 && t <= 1500);
    now_ms += 1000;
    xmppcore_server_tick(srv, now_ms);
    pump(&a);
    CHECK(!saw(&a, "failure"));
    now_ms += 600;
    xmppcore_server_tick(srv, now_ms);
    pump(&a);
    EXPECT(&a, "<not-authorized/>");
    EXPECT(&a, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    cl_free(&a);
    teardown();
}

/* ---- SCRAM-SHA-256 client side ---- */

static void hmac256(const unsigned char *k, size_t kl, const void *d, size_t dl,
                    unsigned char *out)
{
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), k, kl, d, dl, out);
}

static void scram_login(client *cl, const char *user, const char *pw, int plus,
                        int expect_ok, int header)
{
    const char *mech = plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256";
    const char *gs2 = plus ? "p=tls-server-end-point,," : "n,,";
    char cfirst_bare[200], cfirst[300], enc[1024], msg[1400];
    snprintf(cfirst_bare, sizeof cfirst_bare, "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
    snprintf(cfirst, sizeof cfirst, "%s%s", gs2, cfirst_bare);
    b64(cfirst, strlen(cfirst), enc, sizeof enc);
    if (header) {
        cl_send(cl, HDR);
        char want[100];
        snprintf(want, sizeof want, "<mechanism>%s</mechanism>", mech);
        EXPECT(cl, want);
    }
    cl_clear(cl);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='%s'>%s</auth>", mech, enc);
    cl_send(cl, msg);
    const char *ch = strstr(xmppcore_buffer_data(cl->in), "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    CHECK(ch != NULL);
    if (!ch)
        return;
    ch += strlen("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    const char *end = strstr(ch, "</challenge>");
    unsigned char sfirst[512];
    size_t sl = 0;
    mbedtls_base64_decode(sfirst, sizeof sfirst - 1, &sl, (const unsigned char *)ch, (size_t)(end - ch));
    sfirst[sl] = 0;
    /* r=...,s=...,i=... */
    char nonce[200], salt64[100];
    int iter = 0;
    const char *r = strstr((char *)sfirst, "r="), *sp = strstr((char *)sfirst, ",s="), *ip = strstr((char *)sfirst, ",i=");
    CHECK(r && sp && ip);
    snprintf(nonce, sizeof nonce, "%.*s", (int)(sp - r - 2), r + 2);
    snprintf(salt64, sizeof salt64, "%.*s", (int)(ip - sp - 3), sp + 3);
    iter = atoi(ip + 3);
    unsigned char salt[64];
    size_t saltl = 0;
    mbedtls_base64_decode(salt, sizeof salt, &saltl, (const unsigned char *)salt64, strlen(salt64));
    unsigned char salted[32], ck[32], sk[32], sig[32], proof[32], svk[32], ssig[32];
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw, strlen(pw), salt, saltl, (unsigned)iter, 32, salted);
    mbedtls_md_free(&ctx);
    hmac256(salted, 32, "Client Key", 10, ck);
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), ck, 32, sk);
    /* channel binding: gs2 header + cb data (SHA-256 of the cert DER) */
    unsigned char cbind[200];
    size_t cbl = strlen(gs2);
    memcpy(cbind, gs2, cbl);
    if (plus) {
        const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&cl->tc.ssl);
        CHECK(peer != NULL);
        if (peer) {
            mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), peer->raw.p, peer->raw.len, cbind + cbl);
            cbl += 32;
        }
    }
    char cb64[300];
    b64((const char *)cbind, cbl, cb64, sizeof cb64);
    char cfinal_wo[600], authmsg[1400], cfinal[800];
    snprintf(cfinal_wo, sizeof cfinal_wo, "c=%s,r=%s", cb64, nonce);
    snprintf(authmsg, sizeof authmsg, "%s,%s,%s", cfirst_bare, (char *)sfirst, cfinal_wo);
    hmac256(sk, 32, authmsg, strlen(authmsg), sig);
    for (int i = 0; i < 32; i++)
        proof[i] = ck[i] ^ sig[i];
    char p64[100];
    b64((const char *)proof, 32, p64, sizeof p64);
    snprintf(cfinal, sizeof cfinal, "%s,p=%s", cfinal_wo, p64);
    b64(cfinal, strlen(cfinal), enc, sizeof enc);
    cl_clear(cl);
    snprintf(msg, sizeof msg, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>", enc);
    cl_send(cl, msg);
    if (!expect_ok) {
        EXPECT(cl, "<not-authorized/>");
        return;
    }
    hmac256(salted, 32, "Server Key", 10, svk);
    hmac256(svk, 32, authmsg, strlen(authmsg), ssig);
    char v[200], v64[100];
    b64((const char *)ssig, 32, v64, sizeof v64);
    snprintf(v, sizeof v, "v=%s", v64);
    b64(v, strlen(v), enc, sizeof enc);
    snprintf(msg, sizeof msg, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</success>", enc);
    EXPECT(cl, msg);
}

static void test_starttls_scram(void)
{
    setup();
    client a;
    cl_open(&a, tls_l);
    cl_send(&a, HDR);
    EXPECT(&a, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>");
    CHECK(!saw(&a, "<mechanisms")); /* TLS first */
    cl_clear(&a);
    cl_send(&a, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    EXPECT(&a, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    cl_clear(&a);
    start_tls(&a);
    CHECK(a.tc.ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER);
    scram_login(&a, "juliet", "pencil", 1, 1, 1);
    cl_clear(&a);
    cl_send(&a, HDR);
    EXPECT(&a, "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>");
    cl_send(&a, "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    EXPECT(&a, "<jid>juliet@example.com/");
    cl_clear(&a);
    cl_send(&a, "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT(&a, "type=\"result\"");
    cl_clear(&a);
    cl_send(&a, "</stream:stream>");
    EXPECT(&a, "</stream:stream>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);

    /* direct TLS, plain SCRAM-SHA-256 and a wrong password */
    cl_open(&a, direct_l);
    CHECK(a.tc.ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER);
    scram_login(&a, "romeo", "wrong", 0, 0, 1);
    cl_clear(&a);
    /* another attempt on the same stream after a failure */
    scram_login(&a, "romeo", "pencil", 0, 1, 0);
    cl_free(&a);
    teardown();
}

static void test_stream_errors(void)
{
    setup();
    client a;
    cl_open(&a, plain_l);
    /* a 'from' on the client's header comes back as our 'to' */
    cl_send(&a, "<?xml version='1.0'?><stream:stream to='example.com' from='Juliet@Example.com' "
                "version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    CHECK(strncmp(xmppcore_buffer_data(a.in), "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' id='", 100) == 0);
    EXPECT(&a, " from='example.com' to='juliet@example.com' version='1.0' xml:lang='en'>");
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, "<?xml version='1.0'?><stream:stream to='unknown.net' version='1.0' "
                "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
    EXPECT(&a, "<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    EXPECT(&a, "</stream:stream>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, "<stream:stream to='example.com' version='1.0' xmlns='jabber:server' "
                "xmlns:stream='http://etherx.jabber.org/streams'>");
    EXPECT(&a, "<invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, "<stream:stream to='example.com' xmlns='jabber:client' "
                "xmlns:stream='http://etherx.jabber.org/streams'>");
    EXPECT(&a, "<unsupported-version");
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, "<hello/>");
    /* the error comes with our header even before theirs */
    EXPECT(&a, "<stream:stream");
    EXPECT(&a, "<invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, "<<<");
    EXPECT(&a, "<not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK(xmppcore_conn_feed(a.conn, "x", 1) == 0); /* ignored after close */
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, HDR "<!-- no -->");
    EXPECT(&a, "<restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    cl_free(&a);
    /* a stanza over the limit */
    xmppcore_server_set_option(srv, DOMAIN, "c2s.max_stanza_bytes", "2000");
    cl_open(&a, plain_l);
    login_plain(&a, "nurse", "pencil", "r");
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cl_send(&a, "<message to='juliet@example.com'><body>");
    cl_send(&a, big);
    EXPECT(&a, "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    CHECK(a.reason == XMPPCORE_E_POLICY);
    cl_free(&a);
    CHECK_EQ_INT(xmppcore_server_sessions(srv, NULL, NULL, NULL), 0);
    /* eof from the peer */
    cl_open(&a, plain_l);
    login_plain(&a, "nurse", "pencil", "r");
    xmppcore_conn_eof(a.conn);
    CHECK_EQ_INT(a.closed, 1);
    CHECK_EQ_INT(xmppcore_server_sessions(srv, NULL, NULL, NULL), 0);
    cl_free(&a);
    /* server-side close */
    cl_open(&a, plain_l);
    login_plain(&a, "nurse", "pencil", "r");
    xmppcore_conn_close(a.conn, "system-shutdown");
    pump(&a);
    EXPECT(&a, "<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
    cl_free(&a);
    teardown();
}

static void test_conflict_and_limits(void)
{
    setup();
    client a, b;
    cl_open(&a, plain_l);
    cl_open(&b, plain_l);
    login_plain(&a, "juliet", "pencil", "phone");
    login_plain(&b, "juliet", "pencil", "phone");
    EXPECT(&a, "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    CHECK_EQ_INT(b.closed, 0);
    CHECK_EQ_INT(xmppcore_server_sessions(srv, NULL, NULL, NULL), 1);
    cl_free(&a);
    /* resource limit */
    xmppcore_server_set_option(srv, NULL, "c2s.max_sessions", "1");
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    char enc[100], msg[300];
    b64("\0juliet\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    cl_send(&a, HDR "<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>laptop</resource></bind></iq>");
    EXPECT(&a, "<resource-constraint");
    /* a bad resource */
    xmppcore_server_set_option(srv, NULL, "c2s.max_sessions", "10");
    cl_clear(&a);
    cl_send(&a, "<iq type='set' id='b3'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>\xe2\x80\x8b</resource></bind></iq>");
    EXPECT(&a, "<bad-request");
    cl_free(&a);
    cl_free(&b);
    teardown();
}

static void test_timers(void)
{
    setup();
    xmppcore_server_set_option(srv, NULL, "c2s.keepalive", "30");
    xmppcore_server_set_option(srv, NULL, "c2s.idle_timeout", "100");
    client a, b;
    cl_open(&a, plain_l);
    login_plain(&a, "juliet", "pencil", "r");
    CHECK(xmppcore_server_next_timeout(srv) >= 0);
    /* after 31 s of silence from the server: a whitespace keepalive */
    for (int i = 0; i < 31; i++) {
        now_ms += 1000;
        xmppcore_server_tick(srv, now_ms);
    }
    pump(&a);
    CHECK_STR(xmppcore_buffer_data(a.in), " ");
    /* the client stays silent: connection-timeout after 100 s */
    for (int i = 0; i < 70; i++) {
        now_ms += 1000;
        xmppcore_server_tick(srv, now_ms);
    }
    pump(&a);
    EXPECT(&a, "<connection-timeout xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);
    /* a connection that never authenticates */
    xmppcore_server_set_option(srv, NULL, "c2s.auth_timeout", "10");
    cl_open(&b, plain_l);
    cl_send(&b, HDR);
    now_ms += 11000;
    xmppcore_server_tick(srv, now_ms);
    pump(&b);
    EXPECT(&b, "<connection-timeout");
    cl_free(&b);
    teardown();
}

/* ---- a store that answers later ---- */

typedef struct {
    const xmppcore_store_auth_vtable *inner;
    void *inner_backend;
    xmppcore_store_creds_fn cb;
    void *ud;
    char user[64], vhost[64];
    int pending;
} slow_store;

static int slow_get(void *b, const char *vhost, const char *user,
                    xmppcore_store_creds_fn cb, void *ud)
{
    slow_store *s = b;
    s->cb = cb;
    s->ud = ud;
    snprintf(s->user, sizeof s->user, "%s", user);
    snprintf(s->vhost, sizeof s->vhost, "%s", vhost);
    s->pending = 1;
    return 0;
}

static void slow_complete(slow_store *s)
{
    s->pending = 0;
    s->inner->get(s->inner_backend, s->vhost, s->user, s->cb, s->ud);
}

static void test_async_store(void)
{
    setup();
    slow_store ss;
    memset(&ss, 0, sizeof ss);
    xmppcore_store_get_auth(store, &ss.inner, &ss.inner_backend);
    xmppcore_store_auth_vtable vt = *ss.inner;
    vt.get = slow_get;
    xmppcore_store *slow = xmppcore_store_new(NULL);
    xmppcore_store_set_auth(slow, &vt, &ss);
    xmppcore_server_set_store(srv, slow);

    client a;
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    char enc[100], msg[300];
    b64("\0juliet\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_clear(&a);
    /* the client pipelines the restart and the bind with its auth */
    char all[1200];
    snprintf(all, sizeof all, "%s%s<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                              "<resource>pipe</resource></bind></iq>", msg, HDR);
    cl_send(&a, all);
    CHECK_EQ_INT(ss.pending, 1);
    CHECK(!saw(&a, "success"));
    slow_complete(&ss);
    pump(&a);
    EXPECT(&a, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    EXPECT(&a, "<jid>juliet@example.com/pipe</jid>");
    /* freeing a connection while its lookup is pending is safe */
    client b;
    cl_open(&b, plain_l);
    cl_send(&b, HDR);
    cl_send(&b, msg);
    CHECK_EQ_INT(ss.pending, 1);
    cl_free(&b);
    slow_complete(&ss);
    cl_free(&a);
    xmppcore_server_set_store(srv, store);
    xmppcore_store_free(slow);
    teardown();
}

static xmppcore_hook_result drop_secret(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    const char *body = xmppcore_stanza_child_text(xmppcore_hook_event_stanza(ev), "body", NULL);
    return body && strstr(body, "secret") ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_CONTINUE;
}

static int bound_count;
static xmppcore_hook_result count_bound(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    CHECK(strstr(xmppcore_session_jid(xmppcore_hook_event_session(ev)), "@example.com/") != NULL);
    CHECK(xmppcore_hook_event_conn(ev) == NULL);
    CHECK(xmppcore_hook_event_data(ev) == (void *)xmppcore_hook_event_session(ev));
    bound_count++;
    return XMPPCORE_HOOK_CONTINUE;
}

static xmppcore_hook_result shout(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    xmppcore_stanza *b = xmppcore_stanza_child(xmppcore_hook_event_stanza(ev), "body", NULL);
    if (b)
        xmppcore_stanza_set_text(b, "LOUD");
    return XMPPCORE_HOOK_CONTINUE;
}

static int authed_count, closed_count, filtered_count;
static xmppcore_hook_result on_authed(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    /* the data of c2s_authenticated is the connection, which knows its
     * account already (but has no resource yet) */
    xmppcore_conn *conn = xmppcore_hook_event_conn(ev);
    CHECK(conn != NULL && xmppcore_hook_event_session(ev) == NULL);
    CHECK(strcmp(xmppcore_conn_peer(conn), "127.0.0.1") == 0);
    CHECK(xmppcore_conn_account(conn) != NULL &&
          strstr(xmppcore_conn_account(conn), "@example.com") != NULL);
    CHECK(xmppcore_conn_jid(conn) == NULL);
    authed_count++;
    return XMPPCORE_HOOK_CONTINUE;
}
static xmppcore_hook_result on_session_closed(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    CHECK_STR(xmppcore_session_vhost(xmppcore_hook_event_session(ev)), DOMAIN);
    closed_count++;
    return XMPPCORE_HOOK_CONTINUE;
}
static xmppcore_hook_result filter_headlines(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    CHECK(xmppcore_hook_event_server(ev) == srv);
    filtered_count++;
    const char *t = xmppcore_stanza_attr(xmppcore_hook_event_stanza(ev), "type");
    return t && strcmp(t, "headline") == 0 ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_CONTINUE;
}

/* An IQ handler that cannot answer (as if out of memory). */
static xmppcore_hook_result cannot_answer(xmppcore_hook_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    return XMPPCORE_HOOK_DROP;
}

static void test_iq_handler_cannot_answer(void)
{
    setup();
    CHECK_EQ_INT(xmppcore_iq_handler_add(xmppcore_server_hooks(srv), NULL,
                                         "urn:example:fragile", XMPPCORE_IQ_GET,
                                         cannot_answer, NULL),
                 0);
    client b;
    cl_open(&b, plain_l);
    login_plain(&b, "romeo", "pencil", "y");
    cl_clear(&b);
    cl_send(&b, "<iq to='example.com' type='get' id='f1'><q xmlns='urn:example:fragile'/></iq>");
    EXPECT(&b, "id=\"f1\"");
    EXPECT(&b, "<error type=\"wait\"><internal-server-error");
    /* on behalf of the account (no 'to') too */
    cl_clear(&b);
    cl_send(&b, "<iq type='get' id='f2'><q xmlns='urn:example:fragile'/></iq>");
    EXPECT(&b, "<error type=\"wait\"><internal-server-error");
    cl_free(&b);
    teardown();
}

static void test_hooks(void)
{
    setup();
    xmppcore_hooks *h = xmppcore_server_hooks(srv);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_USER_SEND_PACKET, DOMAIN, 10, drop_secret, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_SESSION_BOUND, NULL, 10, count_bound, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_USER_RECEIVE_PACKET, NULL, 10, shout, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_C2S_AUTHENTICATED, DOMAIN, 0, on_authed, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_SESSION_CLOSED, NULL, 0, on_session_closed, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, XMPPCORE_HOOK_FILTER_PACKET, NULL, 0, filter_headlines, NULL), 0);
    client a, b;
    cl_open(&a, plain_l);
    cl_open(&b, plain_l);
    login_plain(&a, "juliet", "pencil", "x");
    login_plain(&b, "romeo", "pencil", "y");
    CHECK_EQ_INT(bound_count, 2);
    cl_send(&b, "<message to='juliet@example.com/x'><body>a secret</body></message>");
    CHECK(!saw(&a, "secret"));
    cl_send(&b, "<message to='juliet@example.com/x'><body>hello</body></message>");
    EXPECT(&a, "<body>LOUD</body>");
    CHECK_EQ_INT(authed_count, 2);
    int before = filtered_count;
    cl_send(&b, "<message to='juliet@example.com/x' type='headline'><body>news</body></message>");
    CHECK(filtered_count > before);
    CHECK(!saw(&a, "news"));
    cl_free(&a);
    CHECK_EQ_INT(closed_count, 1);
    cl_free(&b);
    CHECK_EQ_INT(closed_count, 2);
    teardown();
}

static void test_account_delete(void)
{
    setup();
    client a;
    cl_open(&a, plain_l);
    login_plain(&a, "juliet", "pencil", "x");
    int st = 1;
    CHECK_EQ_INT(xmppcore_account_delete(srv, DOMAIN, "juliet", account_done, &st), 0);
    CHECK_EQ_INT(st, 0);
    pump(&a);
    EXPECT(&a, "<not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
    CHECK_EQ_INT(a.closed, 1);
    cl_free(&a);
    cl_open(&a, plain_l);
    cl_send(&a, HDR);
    char enc[100], msg[300];
    b64("\0juliet\0pencil", 14, enc, sizeof enc);
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", enc);
    cl_send(&a, msg);
    EXPECT(&a, "<not-authorized/>");
    cl_free(&a);
    st = 1;
    CHECK_EQ_INT(xmppcore_account_set_password(srv, DOMAIN, "romeo", "new", account_done, &st), 0);
    CHECK_EQ_INT(st, 0);
    cl_open(&a, plain_l);
    login_plain(&a, "romeo", "new", "z");
    cl_free(&a);
    teardown();
}

static int log_lines[8];
static void count_log(xmppcore_server *s, int level, const char *msg, void *ud)
{
    (void)s;
    (void)msg;
    (void)ud;
    if (level >= 0 && level < 8)
        log_lines[level]++;
}

static void test_log_level(void)
{
    static const xmppcore_server_callbacks cb = {
        XMPPCORE_SERVER_CALLBACKS_VERSION, NULL, count_log};
    setup_cb = &cb;
    setup();
    setup_cb = NULL;
    client a;
    /* by default everything reaches the callback */
    cl_open(&a, plain_l);
    login_plain(&a, "juliet", "pencil", "one");
    cl_free(&a);
    CHECK(log_lines[XMPPCORE_LOG_INFO] >= 2); /* authenticated, bound */
    /* above the level nothing is produced */
    memset(log_lines, 0, sizeof log_lines);
    xmppcore_server_set_log_level(srv, XMPPCORE_LOG_NOTICE);
    cl_open(&a, plain_l);
    login_plain(&a, "juliet", "pencil", "two");
    cl_send(&a, "<<<"); /* a stream error is logged at INFO too */
    cl_free(&a);
    CHECK_EQ_INT(log_lines[XMPPCORE_LOG_INFO], 0);
    CHECK_EQ_INT(log_lines[XMPPCORE_LOG_DEBUG], 0);
    teardown();
}

TEST_MAIN(TEST_ENTRY(test_log_level), TEST_ENTRY(test_plain_login_and_chat), TEST_ENTRY(test_auth_failures),
          TEST_ENTRY(test_delayed_failure), TEST_ENTRY(test_starttls_scram),
          TEST_ENTRY(test_stream_errors), TEST_ENTRY(test_conflict_and_limits),
          TEST_ENTRY(test_timers), TEST_ENTRY(test_async_store),
          TEST_ENTRY(test_hooks), TEST_ENTRY(test_iq_handler_cannot_answer), TEST_ENTRY(test_account_delete))

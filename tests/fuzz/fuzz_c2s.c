/*
 * Fuzz target: a client connection, with bytes before authentication or
 * after a canned login (flag byte), in chunks; a second logged-in session
 * receives whatever gets routed. The server must answer everything with
 * stanzas or a stream error, never crash or leak, and its session table
 * must be consistent afterwards.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

#define HDR "<?xml version='1.0'?><stream:stream to='fuzz.example' version='1.0' " \
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
/* "\0alice\0secret" and "\0bob\0secret" in base64 */
#define AUTH_ALICE "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>"
#define AUTH_BOB "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGJvYgBzZWNyZXQ=</auth>"
#define BIND "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq><presence/>"

static xmppcore_server *srv;
static xmppcore_store *store;
static xmppcore_listener *lis;

static void done(int st, void *ud)
{
    (void)st;
    (void)ud;
}

static void drain(xmppcore_conn *c)
{
    size_t len;
    while (xmppcore_conn_output(c, &len) && len)
        xmppcore_conn_consume(c, len);
}

static void setup(void)
{
    if (srv)
        return;
    xmppcore_init();
    srv = xmppcore_server_new(NULL, NULL, NULL);
    xmppcore_server_tick(srv, 1000);
    xmppcore_server_add_vhost(srv, "fuzz.example");
    xmppcore_server_set_option(srv, NULL, "auth.plain_without_tls", "true");
    xmppcore_server_set_option(srv, NULL, "auth.failure_delay_ms", "0");
    store = xmppcore_store_memory_new(NULL);
    xmppcore_server_set_store(srv, store);
    lis = xmppcore_server_add_listener(srv, "c2s", XMPPCORE_LISTEN_C2S);
    xmppcore_listener_set_option(lis, "starttls_required", "false");
    /* the lowest iteration count: setup only */
    xmppcore_credentials cr;
    xmppcore_credentials_derive("secret", 6, 4096, NULL, NULL, &cr);
    xmppcore_store_auth_create(store, "fuzz.example", "alice", &cr, done, NULL);
    xmppcore_store_auth_create(store, "fuzz.example", "bob", &cr, done, NULL);
}

static xmppcore_conn *login(const char *auth)
{
    xmppcore_conn *c = xmppcore_conn_new(lis, "fuzz", NULL, NULL);
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    xmppcore_conn_feed(c, auth, strlen(auth));
    xmppcore_conn_feed(c, HDR, strlen(HDR));
    xmppcore_conn_feed(c, BIND, strlen(BIND));
    drain(c);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    data++;
    size--;
    size_t chunk = 1 + (flags & 0x3f);
    xmppcore_conn *peer = login(AUTH_BOB);
    xmppcore_conn *c;
    if (flags & 0x80) {
        c = login(AUTH_ALICE);
    } else {
        c = xmppcore_conn_new(lis, "fuzz", NULL, NULL);
    }
    static int64_t now = 1000;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        xmppcore_conn_feed(c, (const char *)data + off, n);
        drain(c);
        drain(peer);
        if (flags & 0x40) {
            now += 700;
            xmppcore_server_tick(srv, now);
        }
    }
    xmppcore_conn_free(c);
    xmppcore_conn_free(peer);
    /* every session went away with its connection */
    if (xmppcore_server_sessions(srv, NULL, NULL, NULL) != 0)
        abort();
    return 0;
}

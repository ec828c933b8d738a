/*
 * embed-libuv — a program with its own work in a libuv loop that also
 * runs a chat server in that loop, through the libuv adapter.
 *
 * The host's own work:
 *   - a uv_timer that every --status-interval ms sends a status message
 *     (sessions online) from the server's domain to --status-to, with
 *     xmppcore_server_send() on the loop thread;
 *   - a line protocol on --line-port (try `nc 127.0.0.1 5280`):
 *       say JID TEXT   sends TEXT as a chat message from the domain to JID
 *       who            lists the connected full JIDs, then "end N"
 *   - SIGINT/SIGTERM: stop its own handles, shut the chat server down
 *     gracefully (clients get system-shutdown), exit 0.
 * The chat server: one vhost, memory accounts, STARTTLS with a
 * certificate generated at start.
 *
 *   embed-libuv [--host IP] [--port N] [--line-port N] [--domain D]
 *               [--status-to JID] [--status-interval MS] [USER:PASSWORD ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"
#include "xmppcore/adapters/libuv.h"

typedef struct {
    uv_loop_t *loop;
    xmppcore_server *srv;
    xmppcore_io *io;
    const char *domain, *status_to;
    uv_timer_t status;
    uv_tcp_t line_server;
    uv_signal_t sigint, sigterm;
    unsigned ticks;
    int stopping;
} host;

typedef struct {
    uv_tcp_t tcp;
    host *h;
    char buf[1024];
    size_t n;
} line_client;

/* ---- Sending from the host (loop thread) ---- */

static int send_chat(host *h, const char *to, const char *text)
{
    xmppcore_stanza *m = xmppcore_stanza_new(NULL, "message", XMPPCORE_NS_CLIENT);
    xmppcore_stanza *body = m ? xmppcore_stanza_add_child(m, "body", NULL) : NULL;
    int rc = body ? 0 : XMPPCORE_E_NOMEM;
    if (rc == 0)
        rc = xmppcore_stanza_set_attr(m, "from", h->domain);
    if (rc == 0)
        rc = xmppcore_stanza_set_attr(m, "to", to);
    if (rc == 0)
        rc = xmppcore_stanza_set_attr(m, "type", "chat");
    if (rc == 0)
        rc = xmppcore_stanza_set_text(body, text);
    /* Routed at once (a copy); the io writes the output on the next loop
     * iteration. */
    if (rc == 0)
        rc = xmppcore_server_send(h->srv, m);
    xmppcore_stanza_free(m);
    return rc;
}

static void status_tick(uv_timer_t *t)
{
    host *h = t->data;
    char text[128];
    snprintf(text, sizeof text, "status %u: %zu session(s) online", ++h->ticks,
             xmppcore_server_sessions(h->srv, NULL, NULL, NULL));
    send_chat(h, h->status_to, text);
}

/* ---- The line protocol ---- */

static void write_done(uv_write_t *req, int status)
{
    (void)status;
    free(req); /* the text follows the request in the same block */
}

static void reply(line_client *c, const char *text)
{
    size_t len = strlen(text);
    uv_write_t *req = malloc(sizeof *req + len);
    if (!req)
        return;
    memcpy(req + 1, text, len);
    uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, write_done) != 0)
        free(req);
}

static void who_line(const char *jid, void *ud)
{
    char line[1100];
    snprintf(line, sizeof line, "%s\n", jid);
    reply(ud, line);
}

static void run_command(line_client *c, char *line)
{
    host *h = c->h;
    if (strncmp(line, "say ", 4) == 0) {
        char *jid = line + 4, *text = strchr(jid, ' ');
        if (!text) {
            reply(c, "error: say JID TEXT\n");
            return;
        }
        *text++ = '\0';
        int rc = send_chat(h, jid, text);
        char msg[160];
        snprintf(msg, sizeof msg, rc == 0 ? "ok\n" : "error: %s\n",
                 xmppcore_strerror(rc));
        reply(c, msg);
    } else if (strcmp(line, "who") == 0) {
        size_t n = xmppcore_server_sessions(h->srv, NULL, who_line, c);
        char msg[64];
        snprintf(msg, sizeof msg, "end %zu\n", n);
        reply(c, msg);
    } else {
        reply(c, "error: commands are: say JID TEXT, who\n");
    }
}

static void client_closed(uv_handle_t *hd)
{
    free(hd->data);
}

static void alloc_cb(uv_handle_t *hd, size_t size, uv_buf_t *buf)
{
    (void)size;
    line_client *c = hd->data;
    *buf = uv_buf_init(c->buf + c->n, (unsigned)(sizeof c->buf - 1 - c->n));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    line_client *c = s->data;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, client_closed);
        return;
    }
    c->n += (size_t)nread;
    c->buf[c->n] = '\0';
    char *nl;
    while ((nl = strchr(c->buf, '\n')) != NULL) {
        *nl = '\0';
        if (nl > c->buf && nl[-1] == '\r')
            nl[-1] = '\0';
        run_command(c, c->buf);
        size_t used = (size_t)(nl + 1 - c->buf);
        memmove(c->buf, nl + 1, c->n - used + 1);
        c->n -= used;
    }
    if (c->n == sizeof c->buf - 1) { /* a line too long: drop the client */
        uv_read_stop(s);
        uv_close((uv_handle_t *)s, client_closed);
    }
}

static void on_line_connection(uv_stream_t *server, int status)
{
    host *h = server->data;
    line_client *c = calloc(1, sizeof *c);
    if (status < 0 || !c) {
        free(c);
        return;
    }
    c->h = h;
    uv_tcp_init(h->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        uv_close((uv_handle_t *)&c->tcp, client_closed);
}

/* ---- Shutdown ---- */

static void chat_server_done(xmppcore_io *io, void *ud)
{
    (void)ud;
    fprintf(stderr, "embed-libuv: chat server closed\n");
    xmppcore_io_free(io); /* closes the adapter's handles */
}

static void close_client(uv_handle_t *hd, void *ud)
{
    host *h = ud;
    /* The host's own TCP handles other than the listener are the line
     * clients (the adapter's handles are uv_poll_t). */
    if (hd->type == UV_TCP && hd != (uv_handle_t *)&h->line_server &&
        !uv_is_closing(hd))
        uv_close(hd, client_closed);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    host *h = sig->data;
    if (h->stopping)
        return;
    h->stopping = 1;
    fprintf(stderr, "embed-libuv: signal %d, shutting down\n", signum);
    uv_walk(h->loop, close_client, h);
    uv_close((uv_handle_t *)&h->line_server, NULL);
    uv_close((uv_handle_t *)&h->status, NULL);
    uv_close((uv_handle_t *)&h->sigint, NULL);
    uv_close((uv_handle_t *)&h->sigterm, NULL);
    xmppcore_io_shutdown(h->io, -1, chat_server_done, h);
}

/* ---- Setup ---- */

static void account_done(int status, void *user)
{
    if (status != 0)
        fprintf(stderr, "account %s: %s\n", (const char *)user,
                xmppcore_strerror(status));
}

static xmppcore_server *make_server(const char *domain, char **users, int n,
                                    xmppcore_store *store)
{
    xmppcore_server *srv = xmppcore_server_new(NULL, NULL, NULL);
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    int ok = srv && key && cert && xmppcore_server_add_vhost(srv, domain) == 0 &&
             xmppcore_tls_generate_self_signed_pem(NULL, domain, NULL, 0, 365,
                                                   key, cert) == 0 &&
             xmppcore_server_add_cert_pem(srv, xmppcore_buffer_data(cert),
                                          xmppcore_buffer_data(key)) == 0;
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    if (!ok) {
        xmppcore_server_free(srv);
        return NULL;
    }
    xmppcore_server_set_store(srv, store);
    for (int i = 0; i < n; i++) {
        char *colon = strchr(users[i], ':');
        if (colon) {
            *colon = '\0';
            xmppcore_account_create(srv, domain, users[i], colon + 1,
                                    account_done, users[i]);
        }
    }
    return srv;
}

int main(int argc, char **argv)
{
    const char *ip = "127.0.0.1";
    int port = 5222, line_port = 5280, interval = 5000, first_user = argc;
    host h = {.domain = "localhost", .status_to = "alice@localhost"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--host") == 0 && v)
            ip = argv[++i];
        else if (strcmp(a, "--port") == 0 && v)
            port = atoi(argv[++i]);
        else if (strcmp(a, "--line-port") == 0 && v)
            line_port = atoi(argv[++i]);
        else if (strcmp(a, "--domain") == 0 && v)
            h.domain = argv[++i];
        else if (strcmp(a, "--status-to") == 0 && v)
            h.status_to = argv[++i];
        else if (strcmp(a, "--status-interval") == 0 && v)
            interval = atoi(argv[++i]);
        else if (a[0] != '-' && strchr(a, ':')) {
            first_user = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--host IP] [--port N] [--line-port N] "
                    "[--domain D] [--status-to JID] [--status-interval MS] "
                    "[USER:PASSWORD ...]\n", argv[0]);
            return 2;
        }
    }
    static char *defaults[] = {"alice:alice", "bob:bob"};
    if (xmppcore_init() != 0 || interval <= 0)
        return 1;
    xmppcore_store *store = xmppcore_store_memory_new(NULL);
    h.srv = store ? make_server(h.domain, first_user < argc ? argv + first_user
                                                            : defaults,
                                first_user < argc ? argc - first_user : 2,
                                store)
                  : NULL;
    if (!h.srv) {
        fprintf(stderr, "cannot set up the chat server for %s\n", h.domain);
        return 1;
    }

    /* The host's loop and its own work. */
    h.loop = uv_default_loop();
    struct sockaddr_storage addr;
    if (uv_ip4_addr(ip, line_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(ip, line_port, (struct sockaddr_in6 *)&addr) != 0) {
        fprintf(stderr, "%s: not an IP address\n", ip);
        return 2;
    }
    uv_tcp_init(h.loop, &h.line_server);
    h.line_server.data = &h;
    int rc = uv_tcp_bind(&h.line_server, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h.line_server, 16, on_line_connection);
    if (rc != 0) {
        fprintf(stderr, "line port %d: %s\n", line_port, uv_strerror(rc));
        return 1;
    }
    uv_timer_init(h.loop, &h.status);
    h.status.data = &h;
    uv_timer_start(&h.status, status_tick, (uint64_t)interval, (uint64_t)interval);
    uv_signal_init(h.loop, &h.sigint);
    uv_signal_init(h.loop, &h.sigterm);
    h.sigint.data = h.sigterm.data = &h;
    uv_signal_start(&h.sigint, on_signal, SIGINT);
    uv_signal_start(&h.sigterm, on_signal, SIGTERM);

    /* The chat server, in the same loop. */
    xmppcore_listener *l = xmppcore_server_add_listener(h.srv, "c2s",
                                                        XMPPCORE_LISTEN_C2S);
    if (xmppcore_uv_attach(h.loop, h.srv, &h.io) != 0 ||
        (rc = xmppcore_io_listen(h.io, l, ip, port)) < 0) {
        fprintf(stderr, "chat server: %s\n", xmppcore_io_last_error(h.io));
        return 1;
    }
    printf("embed-libuv: XMPP for %s on %s port %d, line protocol on port %d\n",
           h.domain, ip, rc, line_port);
    fflush(stdout);

    uv_run(h.loop, UV_RUN_DEFAULT); /* until every handle is closed */
    rc = uv_loop_close(h.loop);
    xmppcore_server_free(h.srv);
    xmppcore_store_free(store);
    printf("embed-libuv: stopped\n");
    return rc == 0 ? 0 : 1;
}

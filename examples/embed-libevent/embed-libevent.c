/*
 * embed-libevent — a program with its own work in a libevent base that
 * also runs a chat server in that base, through the libevent adapter.
 *
 * The host's own work:
 *   - a worker thread that every --status-interval ms posts a status
 *     message (from the server's domain to --status-to) into the
 *     server's mailbox: the thread-safe way in; the adapter wakes the
 *     base and the message is routed on the loop thread;
 *   - a line protocol on --line-port, with bufferevents
 *     (try `nc 127.0.0.1 5280`):
 *       say JID TEXT   sends TEXT as a chat message from the domain to JID
 *       who            lists the connected full JIDs, then "end N"
 *   - SIGINT/SIGTERM: stop the worker and its own events, shut the chat
 *     server down gracefully (clients get system-shutdown), exit 0.
 * The chat server: one vhost, memory accounts, STARTTLS with a
 * certificate generated at start.
 *
 *   embed-libevent [--host IP] [--port N] [--line-port N] [--domain D]
 *                  [--status-to JID] [--status-interval MS] [USER:PASSWORD ...]
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "xmppcore.h"
#include "xmppcore/adapters/libevent.h"

typedef struct line_client line_client;

typedef struct {
    struct event_base *base;
    xmppcore_server *srv;
    xmppcore_io *io;
    const char *domain, *status_to;
    int interval_ms;
    struct evconnlistener *line_listener;
    line_client *clients;
    struct event *sigint, *sigterm;
    pthread_t worker;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int worker_stop;
    int stopping;
} host;

struct line_client {
    host *h;
    struct bufferevent *bev;
    line_client *prev, *next;
};

static xmppcore_stanza *chat(const char *from, const char *to, const char *text)
{
    xmppcore_stanza *m = xmppcore_stanza_new(NULL, "message", XMPPCORE_NS_CLIENT);
    xmppcore_stanza *body = m ? xmppcore_stanza_add_child(m, "body", NULL) : NULL;
    if (!body || xmppcore_stanza_set_attr(m, "from", from) != 0 ||
        xmppcore_stanza_set_attr(m, "to", to) != 0 ||
        xmppcore_stanza_set_attr(m, "type", "chat") != 0 ||
        xmppcore_stanza_set_text(body, text) != 0) {
        xmppcore_stanza_free(m);
        return NULL;
    }
    return m;
}

/* ---- The worker thread: posts into the mailbox ---- */

static void *worker_main(void *ud)
{
    host *h = ud;
    xmppcore_mailbox *mb = xmppcore_io_mailbox(h->io);
    unsigned n = 0;
    pthread_mutex_lock(&h->mu);
    while (!h->worker_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += h->interval_ms / 1000;
        until.tv_nsec += (long)(h->interval_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        while (!h->worker_stop &&
               pthread_cond_timedwait(&h->cond, &h->mu, &until) == 0)
            ;
        if (h->worker_stop)
            break;
        char text[96];
        snprintf(text, sizeof text, "status %u from the worker thread", ++n);
        xmppcore_stanza *m = chat(h->domain, h->status_to, text);
        if (m && xmppcore_mailbox_post_stanza(mb, m) != 0)
            fprintf(stderr, "embed-libevent: cannot post the status\n");
        xmppcore_stanza_free(m); /* the mailbox keeps a copy */
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- The line protocol ---- */

static void client_free(line_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(c->bev);
    free(c);
}

static void who_line(const char *jid, void *ud)
{
    evbuffer_add_printf(ud, "%s\n", jid);
}

static void run_command(line_client *c, char *line)
{
    host *h = c->h;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (strncmp(line, "say ", 4) == 0) {
        char *jid = line + 4, *text = strchr(jid, ' ');
        if (!text) {
            evbuffer_add_printf(out, "error: say JID TEXT\n");
            return;
        }
        *text++ = '\0';
        /* On the loop thread: straight to the server. */
        xmppcore_stanza *m = chat(h->domain, jid, text);
        int rc = m ? xmppcore_server_send(h->srv, m) : XMPPCORE_E_NOMEM;
        xmppcore_stanza_free(m);
        if (rc == 0)
            evbuffer_add_printf(out, "ok\n");
        else
            evbuffer_add_printf(out, "error: %s\n", xmppcore_strerror(rc));
    } else if (strcmp(line, "who") == 0) {
        size_t n = xmppcore_server_sessions(h->srv, NULL, who_line, out);
        evbuffer_add_printf(out, "end %zu\n", n);
    } else {
        evbuffer_add_printf(out, "error: commands are: say JID TEXT, who\n");
    }
}

static void client_read(struct bufferevent *bev, void *ud)
{
    line_client *c = ud;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t len;
    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
        run_command(c, line);
        free(line);
    }
    if (evbuffer_get_length(in) > 1024) /* a line too long */
        client_free(c);
}

static void client_event(struct bufferevent *bev, short what, void *ud)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(ud);
}

static void on_line_connection(struct evconnlistener *l, evutil_socket_t fd,
                               struct sockaddr *sa, int socklen, void *ud)
{
    (void)l;
    (void)sa;
    (void)socklen;
    host *h = ud;
    line_client *c = calloc(1, sizeof *c);
    struct bufferevent *bev = c ? bufferevent_socket_new(h->base, fd,
                                                         BEV_OPT_CLOSE_ON_FREE)
                                : NULL;
    if (!bev) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->h = h;
    c->bev = bev;
    c->next = h->clients;
    if (h->clients)
        h->clients->prev = c;
    h->clients = c;
    bufferevent_setcb(bev, client_read, NULL, client_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ---- Shutdown ---- */

static void chat_server_done(xmppcore_io *io, void *ud)
{
    (void)ud;
    fprintf(stderr, "embed-libevent: chat server closed\n");
    xmppcore_io_free(io); /* frees the adapter's events: the base empties */
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    (void)what;
    host *h = ud;
    if (h->stopping)
        return;
    h->stopping = 1;
    fprintf(stderr, "embed-libevent: signal %d, shutting down\n", (int)sig);
    /* No thread may post into the mailbox once the io is freed. */
    pthread_mutex_lock(&h->mu);
    h->worker_stop = 1;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->worker, NULL);
    while (h->clients)
        client_free(h->clients);
    evconnlistener_free(h->line_listener);
    event_del(h->sigint);
    event_del(h->sigterm);
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
    int port = 5222, line_port = 5280, first_user = argc;
    host h = {.domain = "localhost", .status_to = "alice@localhost",
              .interval_ms = 5000};
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
            h.interval_ms = atoi(argv[++i]);
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
    if (xmppcore_init() != 0 || h.interval_ms <= 0)
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

    /* The host's base and its own work. */
    h.base = event_base_new();
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int sl = (int)sizeof ss;
    char spec[128];
    snprintf(spec, sizeof spec, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip,
             line_port);
    if (!h.base || evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) != 0) {
        fprintf(stderr, "%s: not an IP address\n", ip);
        return 2;
    }
    h.line_listener = evconnlistener_new_bind(
        h.base, on_line_connection, &h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
        16, (struct sockaddr *)&ss, sl);
    if (!h.line_listener) {
        fprintf(stderr, "line port %d: cannot listen\n", line_port);
        return 1;
    }
    h.sigint = evsignal_new(h.base, SIGINT, on_signal, &h);
    h.sigterm = evsignal_new(h.base, SIGTERM, on_signal, &h);
    evsignal_add(h.sigint, NULL);
    evsignal_add(h.sigterm, NULL);

    /* The chat server, in the same base. */
    xmppcore_listener *l = xmppcore_server_add_listener(h.srv, "c2s",
                                                        XMPPCORE_LISTEN_C2S);
    int rc = xmppcore_event_attach(h.base, h.srv, &h.io);
    if (rc != 0 || (rc = xmppcore_io_listen(h.io, l, ip, port)) < 0) {
        fprintf(stderr, "chat server: %s\n", xmppcore_io_last_error(h.io));
        return 1;
    }
    pthread_mutex_init(&h.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h.cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&h.worker, NULL, worker_main, &h) != 0)
        return 1;
    printf("embed-libevent: XMPP for %s on %s port %d, line protocol on port %d\n",
           h.domain, ip, rc, line_port);
    fflush(stdout);

    event_base_dispatch(h.base); /* until no event is left */
    event_free(h.sigint);
    event_free(h.sigterm);
    event_base_free(h.base);
    xmppcore_server_free(h.srv);
    xmppcore_store_free(store);
    pthread_cond_destroy(&h.cond);
    pthread_mutex_destroy(&h.mu);
    printf("embed-libevent: stopped\n");
    return 0;
}

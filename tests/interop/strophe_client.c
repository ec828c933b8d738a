/*
 * A libstrophe client that the interop suite drives as a subprocess. It
 * connects (STARTTLS or direct TLS), authenticates, binds, and then does
 * what its options ask: send a message to a peer and wait for the peer's
 * reply, ping the server, query a JID's software version. It reports
 * every step as one line on stdout, for the test to check:
 *
 *   mech NAME                 the SASL mechanism libstrophe chose
 *   sasl-failure CONDITION    a SASL <failure/> from the server
 *   cert-failed TEXT          the server's certificate was not trusted
 *   connected FULLJID         session established (bound JID)
 *   secured 0|1               whether the stream is encrypted
 *   message-sent ID
 *   message FROM BODY         a chat message arrived
 *   ping result|error COND
 *   version result NAME|error COND
 *   disconnected ERROR        the connection ended (ERROR: errno or 0)
 *   timeout                   --timeout elapsed first
 *   done                      every requested step succeeded
 *
 * libstrophe 0.12 offers no call to restrict SASL mechanisms: it takes
 * the strongest one the server offers, which "mech" reports (read from
 * the <auth/> element in its debug log, the only place it appears).
 *
 * Exit status: 0 done; 1 usage; 2 not connected (authentication, TLS or
 * connection failure); 3 timeout; 4 a step failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strophe.h>

#define NS_PING "urn:xmpp:ping"
#define NS_VERSION "jabber:iq:version"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

struct state {
    const char *peer;      /* --peer: message it and wait for a reply */
    const char *version;   /* --version: ask this JID's software version */
    int ping;              /* --ping: ping the server */
    int verbose;
    xmpp_ctx_t *ctx;
    char domain[256];
    char msg_id[64];
    char body[128];
    int connected, disconnected, failed;
    int want, got;         /* steps requested, steps answered */
};

static void out(const char *fmt, const char *a, const char *b)
{
    printf(fmt, a ? a : "-", b ? b : "-");
    putchar('\n');
    fflush(stdout);
}

/* Copies the value of attribute name="..." or name='...' found in text. */
static int find_attr(const char *text, const char *name, char *buf, size_t size)
{
    const char *p = strstr(text, name);
    if (!p || size == 0)
        return 0;
    p += strlen(name);
    if (*p != '=' || (p[1] != '"' && p[1] != '\''))
        return 0;
    char quote = p[1];
    p += 2;
    size_t n = 0;
    while (p[n] && p[n] != quote && n + 1 < size)
        n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

/* The first child element of a <failure/> or <error/>, i.e. its condition
 * (skipping <text/>). */
static const char *condition_in(xmpp_stanza_t *parent)
{
    for (xmpp_stanza_t *c = parent ? xmpp_stanza_get_children(parent) : NULL;
         c; c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (xmpp_stanza_is_tag(c) && name && strcmp(name, "text") != 0)
            return name;
    }
    return NULL;
}

/*
 * libstrophe logs what it sends and receives at debug level; that is
 * where the chosen mechanism and SASL failures can be seen, since user
 * handlers run only after authentication.
 */
static void log_handler(void *userdata, xmpp_log_level_t level,
                        const char *area, const char *msg)
{
    struct state *st = userdata;
    if (st->verbose)
        fprintf(stderr, "strophe %d %s: %s\n", (int)level, area, msg);
    const char *auth = strstr(msg, "<auth");
    char mech[64];
    if (auth && strstr(auth, "xmpp-sasl") &&
        find_attr(auth, "mechanism", mech, sizeof mech))
        out("mech %s", mech, NULL);
    const char *fail = strstr(msg, "<failure");
    if (fail && strstr(fail, "xmpp-sasl")) {
        xmpp_stanza_t *s = xmpp_stanza_new_from_string(st->ctx, fail);
        out("sasl-failure %s", s ? condition_in(s) : "unparsed", NULL);
        if (s)
            xmpp_stanza_release(s);
    }
}

static int certfail_handler(const xmpp_tlscert_t *cert, const char *errormsg)
{
    (void)cert;
    out("cert-failed %s", errormsg, NULL);
    return 0; /* never accept: clients trust only the CA file given */
}

static void step_done(struct state *st, int ok)
{
    st->got++;
    if (!ok)
        st->failed = 1;
}

static int message_handler(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *ud)
{
    struct state *st = ud;
    (void)conn;
    const char *type = xmpp_stanza_get_type(stanza);
    const char *from = xmpp_stanza_get_from(stanza);
    if (type && strcmp(type, "error") == 0) {
        const char *id = xmpp_stanza_get_id(stanza);
        out("message-error %s %s", id,
            condition_in(xmpp_stanza_get_child_by_name(stanza, "error")));
        if (st->peer && id && strcmp(id, st->msg_id) == 0)
            step_done(st, 0);
        return 1;
    }
    char *body = xmpp_message_get_body(stanza);
    if (!body)
        return 1;
    out("message %s %s", from, body);
    /* The peer answers "re: " + our body. */
    if (st->peer && from && strncmp(body, "re: ", 4) == 0 &&
        strcmp(body + 4, st->body) == 0) {
        char *bare = xmpp_jid_bare(st->ctx, from);
        char *peer_bare = xmpp_jid_bare(st->ctx, st->peer);
        step_done(st, bare && peer_bare && strcmp(bare, peer_bare) == 0);
        xmpp_free(st->ctx, bare);
        xmpp_free(st->ctx, peer_bare);
    }
    xmpp_free(st->ctx, body);
    return 1;
}

static int iq_result(struct state *st, xmpp_stanza_t *stanza, const char *what)
{
    const char *type = xmpp_stanza_get_type(stanza);
    if (type && strcmp(type, "result") == 0) {
        const char *name = NULL;
        xmpp_stanza_t *q = xmpp_stanza_get_child_by_ns(stanza, NS_VERSION);
        xmpp_stanza_t *n = q ? xmpp_stanza_get_child_by_name(q, "name") : NULL;
        char *text = n ? xmpp_stanza_get_text(n) : NULL;
        name = text;
        printf("%s result %s\n", what, name ? name : "-");
        fflush(stdout);
        if (text)
            xmpp_free(st->ctx, text);
        step_done(st, 1);
    } else {
        xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(stanza, "error");
        const char *cond = condition_in(err);
        printf("%s error %s\n", what, cond ? cond : "-");
        fflush(stdout);
        step_done(st, 0);
    }
    return 0; /* one answer per id */
}

static int ping_handler(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *ud)
{
    (void)conn;
    return iq_result(ud, stanza, "ping");
}

static int version_handler(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *ud)
{
    (void)conn;
    return iq_result(ud, stanza, "version");
}

static void send_iq(xmpp_conn_t *conn, struct state *st, const char *to,
                    const char *id, const char *child, const char *ns,
                    xmpp_handler handler)
{
    xmpp_stanza_t *iq = xmpp_iq_new(st->ctx, "get", id);
    xmpp_stanza_t *q = xmpp_stanza_new(st->ctx);
    xmpp_stanza_set_name(q, child);
    xmpp_stanza_set_ns(q, ns);
    xmpp_stanza_add_child(iq, q);
    xmpp_stanza_release(q);
    xmpp_stanza_set_to(iq, to);
    xmpp_id_handler_add(conn, handler, id, st);
    xmpp_send(conn, iq);
    xmpp_stanza_release(iq);
}

static void conn_handler(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                         xmpp_stream_error_t *stream_error, void *ud)
{
    struct state *st = ud;
    if (event != XMPP_CONN_CONNECT) {
        char num[32];
        snprintf(num, sizeof num, "%d", error);
        out("disconnected %s%s", num, stream_error ? " stream-error" : "");
        st->disconnected = 1;
        return;
    }
    st->connected = 1;
    out("connected %s", xmpp_conn_get_bound_jid(conn), NULL);
    out("secured %s", xmpp_conn_is_secured(conn) ? "1" : "0", NULL);
    xmpp_handler_add(conn, message_handler, NULL, "message", NULL, st);

    xmpp_stanza_t *pres = xmpp_presence_new(st->ctx);
    xmpp_send(conn, pres);
    xmpp_stanza_release(pres);

    if (st->ping)
        send_iq(conn, st, st->domain, "strophe-ping-1", "ping", NS_PING,
                ping_handler);
    if (st->version)
        send_iq(conn, st, st->version, "strophe-version-1", "query",
                NS_VERSION, version_handler);
    if (st->peer) {
        xmpp_stanza_t *msg = xmpp_message_new(st->ctx, "chat", st->peer,
                                              st->msg_id);
        xmpp_message_set_body(msg, st->body);
        xmpp_send(conn, msg);
        xmpp_stanza_release(msg);
        out("message-sent %s", st->msg_id, NULL);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: strophe_client [--ca FILE] [--peer JID] [--ping] "
            "[--version JID] [--timeout SECONDS] [--verbose]\n"
            "                      JID PASSWORD HOST PORT starttls|direct\n");
    return 1;
}

int main(int argc, char **argv)
{
    struct state st;
    memset(&st, 0, sizeof st);
    const char *ca = NULL;
    double timeout = 20;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(opt, "--ca") == 0 && has_value)
            ca = argv[++i];
        else if (strcmp(opt, "--peer") == 0 && has_value)
            st.peer = argv[++i];
        else if (strcmp(opt, "--version") == 0 && has_value)
            st.version = argv[++i];
        else if (strcmp(opt, "--timeout") == 0 && has_value)
            timeout = atof(argv[++i]);
        else if (strcmp(opt, "--ping") == 0)
            st.ping = 1;
        else if (strcmp(opt, "--verbose") == 0)
            st.verbose = 1;
        else
            return usage();
    }
    if (argc - i != 5 || timeout <= 0)
        return usage();
    const char *jid = argv[i], *password = argv[i + 1], *host = argv[i + 2];
    long port = strtol(argv[i + 3], NULL, 10);
    const char *mode = argv[i + 4];
    long flags;
    if (strcmp(mode, "starttls") == 0)
        flags = XMPP_CONN_FLAG_MANDATORY_TLS;
    else if (strcmp(mode, "direct") == 0)
        flags = XMPP_CONN_FLAG_LEGACY_SSL;
    else
        return usage();
    if (port <= 0 || port > 65535)
        return usage();
    const char *at = strchr(jid, '@');
    if (!at || strlen(at + 1) >= sizeof st.domain)
        return usage();
    snprintf(st.domain, sizeof st.domain, "%.*s", (int)strcspn(at + 1, "/"),
             at + 1);
    snprintf(st.msg_id, sizeof st.msg_id, "strophe-msg-%ld", (long)getpid());
    snprintf(st.body, sizeof st.body, "hello from libstrophe %ld %ld",
             (long)getpid(), (long)time(NULL));
    st.want = (st.peer != NULL) + st.ping + (st.version != NULL);

    xmpp_initialize();
    xmpp_log_t log = {log_handler, &st};
    st.ctx = xmpp_ctx_new(NULL, &log);
    xmpp_conn_t *conn = xmpp_conn_new(st.ctx);
    xmpp_conn_set_flags(conn, flags);
    xmpp_conn_set_jid(conn, jid);
    xmpp_conn_set_pass(conn, password);
    if (ca)
        xmpp_conn_set_cafile(conn, ca);
    xmpp_conn_set_certfail_handler(conn, certfail_handler);

    int status = 0;
    if (xmpp_connect_client(conn, host, (unsigned short)port, conn_handler,
                            &st) != XMPP_EOK) {
        out("disconnected %s", "connect-call-failed", NULL);
        status = 2;
    } else {
        double deadline = now() + timeout;
        int closing = 0;
        while (!st.disconnected) {
            if (now() > deadline) {
                out("timeout", NULL, NULL);
                status = 3;
                break;
            }
            if (st.connected && !closing && st.got >= st.want) {
                /* Everything answered: leave cleanly. */
                xmpp_disconnect(conn);
                closing = 1;
            }
            xmpp_run_once(st.ctx, 100);
        }
        if (status == 0) {
            if (!st.connected)
                status = 2;
            else if (st.failed || st.got < st.want)
                status = 4;
            else
                out("done", NULL, NULL);
        }
    }
    xmpp_conn_release(conn);
    xmpp_ctx_free(st.ctx);
    xmpp_shutdown();
    return status;
}

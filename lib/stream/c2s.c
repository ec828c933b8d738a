/*
 * Client-to-server connections (RFC 6120): the sans-IO connection object
 * and the c2s stream state machine — stream headers and features,
 * STARTTLS and direct TLS, SASL, resource binding, the legacy session
 * iq, stanza intake (validation, 'from' stamping, user_send_packet), the
 * closing handshake, stream errors, keepalives and timeouts.
 *
 * Input path: bytes → TLS (if active) → plaintext → stream parser →
 * one callback per top-level element. When the stream must wait (a
 * storage lookup during SASL, a delayed authentication failure), the
 * parser is stopped after the element and later plaintext is held, then
 * replayed when the wait ends. Output: stanzas are serialized into a
 * plaintext queue, encrypted in one go when the host asks for output, so
 * everything routed during one feed leaves in as few TLS records as
 * possible.
 */
#include <stdio.h>

#include <sodium.h>

#include "server/server_int.h"
#include "hooks/hooks_int.h"
#include "xml/parser_int.h"
#include "xml/stanza_impl.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define MAX_AUTH_FAILURES 3
#define HIBERNATE_AFTER_MS 500

static void conn_destroy(xmppcore_conn *c);
static void parse_plain(xmppcore_conn *c, const char *data, size_t len);
static void conn_rearm(xmppcore_conn *c);

/* ---- output ---- */

static bool has_output(const xmppcore_conn *c)
{
    return c->out.len || c->plain.len;
}

static void notify_write(xmppcore_conn *c, bool was_empty)
{
    if (was_empty && has_output(c) && c->cb.want_write && !c->freed)
        c->cb.want_write(c, c->ud);
}

/* The buffer stream text goes to: plaintext for TLS, or straight out. */
static struct xmppcore_buffer *text_buffer(xmppcore_conn *c)
{
    return c->tls ? &c->plain : &c->out;
}

/*
 * Output the connection owes could not be made or queued (out of
 * memory): the stream now has a hole, so nothing more is sent and the
 * connection closes at the next tick (not here: the caller may be in
 * the middle of binding or routing). The client sees the stream end
 * instead of waiting for an answer that never comes.
 */
static void mark_broken(xmppcore_conn *c)
{
    if (c->broken || c->closed)
        return;
    c->broken = true;
    xi_log(c->server, XMPPCORE_LOG_ERROR,
           "c2s %s: out of memory; closing the connection", c->peer);
    conn_rearm(c);
}

static void send_raw(xmppcore_conn *c, const char *data, size_t len)
{
    if (c->broken)
        return;
    bool was_empty = !has_output(c);
    if (xi_buf_put(text_buffer(c), data, len) < 0) {
        mark_broken(c);
        return;
    }
    c->last_out = c->server->now;
    notify_write(c, was_empty);
}

static void send_str(xmppcore_conn *c, const char *s)
{
    send_raw(c, s, strlen(s));
}

int xi_conn_send_stanza(xmppcore_conn *c, const xmppcore_stanza *st)
{
    if (c->closed)
        return XMPPCORE_E_STATE;
    if (c->broken)
        return XMPPCORE_E_NOMEM;
    bool was_empty = !has_output(c);
    int rc = xmppcore_stanza_serialize(st, XMPPCORE_NS_CLIENT, text_buffer(c));
    if (rc == 0) {
        c->last_out = c->server->now;
        notify_write(c, was_empty);
    } else if (rc == XMPPCORE_E_NOMEM) {
        mark_broken(c);
    }
    return rc;
}

/* Escapes for a single-quoted attribute value into buf. */
static void attr_escape(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    for (; *in && o + 7 < outsz; in++) {
        const char *r = *in == '&' ? "&amp;" : *in == '<' ? "&lt;"
                      : *in == '\'' ? "&apos;" : *in == '"' ? "&quot;"
                      : NULL;
        if (r) {
            size_t n = strlen(r);
            memcpy(out + o, r, n);
            o += n;
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

static void send_header(xmppcore_conn *c, const char *to_attr)
{
    char buf[1200], from[300] = "", to[300] = "";
    if (c->vhost) {
        char esc[280];
        attr_escape(c->vhost->domain, esc, sizeof esc);
        snprintf(from, sizeof from, " from='%s'", esc);
    }
    if (to_attr) {
        char esc[280];
        attr_escape(to_attr, esc, sizeof esc);
        snprintf(to, sizeof to, " to='%s'", esc);
    }
    snprintf(buf, sizeof buf,
             "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
             "xmlns:stream='http://etherx.jabber.org/streams' id='%s'%s%s "
             "version='1.0' xml:lang='en'>",
             c->stream_id, from, to);
    send_str(c, buf);
    c->header_sent = true;
}

/* ---- closing ---- */

static void flush_tls(xmppcore_conn *c)
{
    if (c->tls && c->plain.len &&
        xi_tls_get_state(c->tls) == XI_TLS_ESTABLISHED) {
        if (xi_tls_write(c->tls, xmppcore_buffer_data(&c->plain),
                         c->plain.len) < 0)
            xi_log(c->server, XMPPCORE_LOG_INFO, "c2s %s: TLS write failed: %s",
                   c->peer, xi_tls_error(c->tls));
        xmppcore_buffer_clear(&c->plain);
    }
}

/* Ends the connection: session gone, output finished, host told. */
static void conn_finish(xmppcore_conn *c, int reason, bool notify)
{
    if (c->closed)
        return;
    c->closed = true;
    c->state = XI_C2S_CLOSED;
    c->close_reason = reason;
    c->waiting = false;
    xi_timer_cancel(&c->server->timers, &c->timer);
    if (c->session) {
        xmppcore_session *se = c->session;
        c->session = NULL;
        xmppcore_stanza *st = NULL;
        xi_hooks_run(c->server->hooks, XMPPCORE_HOOK_SESSION_CLOSED,
                           se->vhost->domain, &st, se, XI_HOOK_DATA_SESSION);
        xmppcore_stanza_free(st);
        xi_sm_unbind(c->server, se);
    }
    bool was_empty = !has_output(c);
    flush_tls(c);
    if (c->tls && xi_tls_get_state(c->tls) == XI_TLS_ESTABLISHED)
        xi_tls_close(c->tls);
    notify_write(c, was_empty);
    if (notify && c->cb.closed && !c->freed)
        c->cb.closed(c, reason, c->ud);
}

void xi_conn_close(xmppcore_conn *c, const char *condition, const char *text,
                   int reason)
{
    if (c->closed)
        return;
    if (!c->header_sent && (!c->tls || c->tls_active))
        send_header(c, NULL);
    if (condition && c->header_sent) {
        char buf[600];
        char esc[300] = "";
        if (text) {
            /* text content: escape & and < */
            size_t o = 0;
            for (const char *t = text; *t && o + 6 < sizeof esc; t++) {
                if (*t == '&') {
                    memcpy(esc + o, "&amp;", 5);
                    o += 5;
                } else if (*t == '<') {
                    memcpy(esc + o, "&lt;", 4);
                    o += 4;
                } else {
                    esc[o++] = *t;
                }
            }
            esc[o] = '\0';
        }
        snprintf(buf, sizeof buf,
                 "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                 "%s%s%s</stream:error>",
                 condition,
                 text ? "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>" : "",
                 esc, text ? "</text>" : "");
        send_str(c, buf);
        xi_log(c->server, XMPPCORE_LOG_INFO, "c2s %s: stream error %s%s%s",
               c->peer, condition, text ? ": " : "", text ? text : "");
    }
    if (c->header_sent)
        send_str(c, "</stream:stream>");
    conn_finish(c, reason, true);
}

void xmppcore_conn_close(xmppcore_conn *c, const char *condition)
{
    xi_conn_close(c, condition, NULL, 0);
}

/* A fatal code from the parser or our own checks. */
static void stream_error(xmppcore_conn *c, int code, const char *condition,
                         const char *text)
{
    xi_conn_close(c, condition ? condition : xmppcore_stream_condition(code),
                  text, code);
}

/* ---- features ---- */

static unsigned sasl_flags(xmppcore_conn *c)
{
    const xi_opts *o = xi_vhost_opts(c->server, c->vhost);
    unsigned f = XI_SASL_F_PLAIN;
    if (c->tls_active)
        f |= XI_SASL_F_SECURE;
    if (o->plain_without_tls)
        f |= XI_SASL_F_PLAIN_INSECURE;
    if (o->anonymous)
        f |= XI_SASL_F_ANONYMOUS;
    if (!o->scram_sha1)
        f |= XI_SASL_F_NO_SCRAM_SHA1;
    return f;
}

static void sasl_config(xmppcore_conn *c, xi_sasl_config *cfg)
{
    xmppcore_server *s = c->server;
    memset(cfg, 0, sizeof *cfg);
    cfg->mem = s->mem;
    cfg->rng = s->env.rng;
    cfg->rng_user_data = s->env.rng_user_data;
    cfg->domain = c->vhost->domain;
    cfg->secret = s->sasl_secret;
    cfg->secret_len = sizeof s->sasl_secret;
    cfg->fake_iterations = xi_vhost_opts(s, c->vhost)->iterations;
    cfg->flags = sasl_flags(c);
    cfg->cache = s->plain_cache;
    if (c->tls_active && c->cb_len == 0) {
        size_t n = 0;
        if (xi_tls_channel_binding(c->tls, XI_TLS_CB_SERVER_END_POINT,
                                   c->cb_data, sizeof c->cb_data, &n) == 0)
            c->cb_len = n;
    }
    if (c->cb_len) {
        cfg->cb_tls_server_end_point = c->cb_data;
        cfg->cb_tls_server_end_point_len = c->cb_len;
    }
    if (c->tls_active && c->cb_unique_len == 0) {
        size_t n = 0;
        if (xi_tls_channel_binding(c->tls, XI_TLS_CB_UNIQUE, c->cb_unique,
                                   sizeof c->cb_unique, &n) == 0)
            c->cb_unique_len = n;
    }
    if (c->cb_unique_len) {
        cfg->cb_tls_unique = c->cb_unique;
        cfg->cb_tls_unique_len = c->cb_unique_len;
    }
}

static bool tls_required_missing(const xmppcore_conn *c)
{
    return !c->tls_active && c->listener->starttls_required;
}

static bool can_starttls(const xmppcore_conn *c)
{
    return !c->tls_active && c->listener->kind == XMPPCORE_LISTEN_C2S &&
           c->listener->starttls && c->server->tls_has_cert;
}

static void send_features(xmppcore_conn *c)
{
    char buf[2048];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "<stream:features>");
    if (c->state == XI_C2S_NEGOTIATE) {
        if (can_starttls(c))
            n += (size_t)snprintf(buf + n, sizeof buf - n,
                                  "<starttls xmlns='" NS_TLS "'>%s</starttls>",
                                  c->listener->starttls_required ? "<required/>"
                                                                 : "");
        if (!tls_required_missing(c)) {
            xi_sasl_config cfg;
            const char *mechs[16];
            sasl_config(c, &cfg);
            size_t m = xi_sasl_mechanisms(&cfg, mechs, XI_ARRAY_LEN(mechs));
            if (m > XI_ARRAY_LEN(mechs))
                m = XI_ARRAY_LEN(mechs);
            if (m) {
                n += (size_t)snprintf(buf + n, sizeof buf - n,
                                      "<mechanisms xmlns='" NS_SASL "'>");
                for (size_t i = 0; i < m && n < sizeof buf; i++)
                    n += (size_t)snprintf(buf + n, sizeof buf - n,
                                          "<mechanism>%s</mechanism>", mechs[i]);
                if (n < sizeof buf)
                    n += (size_t)snprintf(buf + n, sizeof buf - n,
                                          "</mechanisms>");
            }
        }
    } else if (c->state == XI_C2S_BIND) {
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "<bind xmlns='" NS_BIND "'/>"
                              "<session xmlns='" NS_SESSION "'><optional/></session>");
    }
    if (n < sizeof buf)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "</stream:features>");
    send_raw(c, buf, n < sizeof buf ? n : sizeof buf - 1);
}

/* ---- the stream header ---- */

/* A fresh id for every stream (RFC 6120 §4.7.3). */
static void new_stream_id(xmppcore_conn *c)
{
    static const char alnum[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[12];
    c->server->env.rng(rnd, sizeof rnd, c->server->env.rng_user_data);
    for (size_t i = 0; i < sizeof rnd; i++)
        c->stream_id[i] = alnum[rnd[i] % 62];
    c->stream_id[sizeof rnd] = '\0';
}

static void on_stream_start(void *ud, const xmppcore_stanza *h,
                            const char *default_ns)
{
    xmppcore_conn *c = ud;
    xmppcore_server *s = c->server;
    const char *to = xmppcore_stanza_attr(h, "to");
    const char *from = xmppcore_stanza_attr(h, "from");
    const char *version = xmppcore_stanza_attr(h, "version");

    new_stream_id(c);
    xi_vhost *v = NULL;
    char d[XMPPCORE_JID_PART_MAX + 1];
    if (to && xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, to, strlen(to), d,
                                        sizeof d) > 0)
        v = xi_vhost_find(s, d);
    else if (!to && s->nvhosts == 1)
        v = s->vhosts[0];
    if (c->vhost && v != c->vhost)
        v = NULL; /* a restart must stay on the same host */
    if (v)
        c->vhost = v;
    /* A 'from' we can echo as 'to' only if it is a JID (RFC 6120 §4.7.2). */
    xmppcore_jid *fj = NULL;
    bool from_ok = from && xmppcore_jid_parse(s->mem, from, (size_t)-1, &fj) == 0;
    send_header(c, from_ok ? xmppcore_jid_str(fj) : NULL);
    xmppcore_jid_free(fj);

    if (strcmp(default_ns, XMPPCORE_NS_CLIENT) != 0) {
        stream_error(c, XMPPCORE_E_INVALID_NAMESPACE, "invalid-namespace",
                     "this port serves jabber:client streams");
        return;
    }
    if (!v) {
        stream_error(c, XMPPCORE_E_FATAL, "host-unknown", NULL);
        return;
    }
    if (!version || strncmp(version, "1.", 2) != 0) {
        stream_error(c, XMPPCORE_E_FATAL, "unsupported-version", NULL);
        return;
    }
    xmppcore_parser_set_limit(c->parser, XMPPCORE_LIMIT_STANZA_BYTES,
                              xi_vhost_opts(s, v)->max_stanza);
    if (c->state == XI_C2S_HEADER)
        c->state = XI_C2S_NEGOTIATE;
    else if (c->state == XI_C2S_AUTHED)
        c->state = XI_C2S_BIND;
    send_features(c);
}

static void on_stream_end(void *ud)
{
    xmppcore_conn *c = ud;
    /* The peer closed its stream: close ours (RFC 6120 §4.4). */
    if (!c->closed) {
        send_str(c, "</stream:stream>");
        conn_finish(c, 0, true);
    }
}

/* ---- pausing input ---- */

/* Stops reading after the current element until conn_resume(). */
static void conn_wait(xmppcore_conn *c)
{
    if (c->waiting)
        return;
    c->waiting = true;
    xmppcore_parser_stop(c->parser);
}

/* The wait is over: restart or resume the parser and replay held input. */
static void conn_resume(xmppcore_conn *c)
{
    if (c->closed || !c->waiting)
        return;
    c->waiting = false;
    int rc = c->restart ? xmppcore_parser_reset(c->parser)
                        : xmppcore_parser_resume(c->parser);
    c->restart = false;
    if (rc < 0) {
        stream_error(c, rc, "internal-server-error", NULL);
        return;
    }
    if (!c->held.len)
        return;
    /* Replay from a copy: parsing may hold input again. */
    struct xmppcore_buffer h = c->held;
    memset(&c->held, 0, sizeof c->held);
    c->held.mem = c->server->mem;
    c->in_feed = true;
    parse_plain(c, xmppcore_buffer_data(&h), h.len);
    c->in_feed = false;
    xi_free(c->server->mem, h.data);
}

/* ---- SASL ---- */

static void sasl_result(xmppcore_conn *c, int r);

static void creds_done(int status, const xmppcore_credentials *creds, void *ud)
{
    xmppcore_conn *c = ud;
    /* Called inside xmppcore_store_auth_get (inline) or later. */
    bool later = c->waiting;
    c->refs--;
    c->lookup_pending = false;
    if (c->freed || c->closed || !c->sasl) {
        if (c->freed && c->refs == 0)
            conn_destroy(c);
        return;
    }
    int r = xi_sasl_provide_credentials(c->sasl, status, creds, 0);
    sasl_result(c, r);
    if (later && !c->failure_pending) {
        bool was_in_feed = c->in_feed;
        conn_resume(c);
        c->in_feed = was_in_feed;
    }
}

static void send_sasl_failure(xmppcore_conn *c)
{
    char buf[300];
    const char *cond = xi_sasl_condition_name(xi_sasl_condition(c->sasl));
    const char *text = xi_sasl_failure_text(c->sasl);
    snprintf(buf, sizeof buf, "<failure xmlns='" NS_SASL "'><%s/>%s%s%s</failure>",
             cond, text && *text ? "<text>" : "", text && *text ? text : "",
             text && *text ? "</text>" : "");
    send_str(c, buf);
    xi_sasl_free(c->sasl);
    c->sasl = NULL;
    if (c->auth_failures >= MAX_AUTH_FAILURES)
        stream_error(c, XMPPCORE_E_POLICY, "policy-violation",
                     "too many failed authentication attempts");
}

static void sasl_result(xmppcore_conn *c, int r)
{
    xmppcore_server *s = c->server;
    switch (r) {
    case XI_SASL_CHALLENGE: {
        int err = 0;
        const char *b64 = xi_sasl_output_b64(c->sasl, &err);
        if (err) {
            stream_error(c, XMPPCORE_E_NOMEM, "internal-server-error", NULL);
            return;
        }
        send_str(c, "<challenge xmlns='" NS_SASL "'>");
        if (b64)
            send_str(c, b64);
        send_str(c, "</challenge>");
        return;
    }
    case XI_SASL_SUCCESS: {
        int err = 0;
        const char *b64 = xi_sasl_output_b64(c->sasl, &err);
        if (err) {
            stream_error(c, XMPPCORE_E_NOMEM, "internal-server-error", NULL);
            return;
        }
        const char *user = xi_sasl_username(c->sasl);
        xi_free(s->mem, c->username);
        xi_free(s->mem, c->account);
        c->username = xi_strdup(s->mem, user ? user : "");
        size_t ul = c->username ? strlen(c->username) : 0;
        size_t dl = strlen(c->vhost->domain);
        c->account = c->username ? xi_malloc(s->mem, ul + dl + 2) : NULL;
        if (c->account) {
            memcpy(c->account, c->username, ul);
            c->account[ul] = '@';
            memcpy(c->account + ul + 1, c->vhost->domain, dl + 1);
        }
        if (!c->username || !c->account) {
            stream_error(c, XMPPCORE_E_NOMEM, "internal-server-error", NULL);
            return;
        }
        if (b64) {
            send_str(c, "<success xmlns='" NS_SASL "'>");
            send_str(c, b64);
            send_str(c, "</success>");
        } else {
            send_str(c, "<success xmlns='" NS_SASL "'/>");
        }
        xi_log(s, XMPPCORE_LOG_INFO, "c2s %s: %s@%s authenticated with %s",
               c->peer, c->username, c->vhost->domain,
               xi_sasl_mechanism(c->sasl));
        xi_sasl_free(c->sasl);
        c->sasl = NULL;
        c->state = XI_C2S_AUTHED;
        c->header_sent = false;
        /* The stream restarts (RFC 6120 §6.4.6): at once if we are inside
         * the parser's callback, else when input resumes. */
        if (c->waiting)
            c->restart = true;
        else
            xmppcore_parser_reset(c->parser);
        xmppcore_stanza *st = NULL;
        xi_hooks_run(s->hooks, XMPPCORE_HOOK_C2S_AUTHENTICATED,
                           c->vhost->domain, &st, c, XI_HOOK_DATA_CONN);
        xmppcore_stanza_free(st);
        return;
    }
    case XI_SASL_NEED_CREDENTIALS: {
        if (!s->store) {
            sasl_result(c, xi_sasl_provide_credentials(c->sasl,
                                                       XMPPCORE_E_UNSUPPORTED,
                                                       NULL, 0));
            return;
        }
        c->refs++;
        c->lookup_pending = true;
        int rc = xmppcore_store_auth_get(s->store, c->vhost->domain,
                                         xi_sasl_username(c->sasl),
                                         creds_done, c);
        if (rc < 0) {
            c->refs--;
            c->lookup_pending = false;
            sasl_result(c, xi_sasl_provide_credentials(c->sasl, rc, NULL, 0));
            return;
        }
        /* Still pending after the call: the backend answers later, and the
         * stream waits for it. */
        if (c->lookup_pending)
            conn_wait(c);
        return;
    }
    case XI_SASL_FAILURE:
    default: {
        c->auth_failures++;
        uint32_t delay = xi_vhost_opts(s, c->vhost)->auth_fail_delay_ms;
        /* Wrong credentials cost time, against guessing; protocol errors
         * are answered at once. Input waits meanwhile. */
        if (delay && xi_sasl_condition(c->sasl) == XI_SASL_COND_NOT_AUTHORIZED &&
            (c->waiting || c->in_feed)) {
            c->failure_pending = true;
            c->delay_until = s->now + delay;
            conn_wait(c);
            conn_rearm(c);
            return;
        }
        send_sasl_failure(c);
        return;
    }
    }
}

static void handle_auth(xmppcore_conn *c, const xmppcore_stanza *st)
{
    const char *name = xmppcore_stanza_name(st);
    if (strcmp(name, "auth") == 0) {
        const char *mech = xmppcore_stanza_attr(st, "mechanism");
        if (tls_required_missing(c)) {
            send_str(c, "<failure xmlns='" NS_SASL "'><encryption-required/></failure>");
            return;
        }
        xi_sasl_free(c->sasl);
        xi_sasl_config cfg;
        sasl_config(c, &cfg);
        c->sasl = xi_sasl_new(&cfg);
        if (!c->sasl) {
            stream_error(c, XMPPCORE_E_NOMEM, "internal-server-error", NULL);
            return;
        }
        const char *text = xmppcore_stanza_text(st);
        size_t tl = text ? strlen(text) : 0;
        sasl_result(c, xi_sasl_start_b64(c->sasl, mech ? mech : "",
                                         tl ? text : NULL, tl));
    } else if (strcmp(name, "response") == 0) {
        if (!c->sasl) {
            send_str(c, "<failure xmlns='" NS_SASL "'><malformed-request/></failure>");
            return;
        }
        const char *text = xmppcore_stanza_text(st);
        sasl_result(c, xi_sasl_step_b64(c->sasl, text ? text : "",
                                        text ? strlen(text) : 0));
    } else if (strcmp(name, "abort") == 0) {
        if (!c->sasl) {
            send_str(c, "<failure xmlns='" NS_SASL "'><aborted/></failure>");
            return;
        }
        sasl_result(c, xi_sasl_abort(c->sasl));
    } else {
        stream_error(c, XMPPCORE_E_FATAL, "unsupported-stanza-type", NULL);
    }
}

/* An error answer to one of the client's own stanzas, straight back on
 * this stream (the stanza has no trustworthy 'from' to route by). */
static void reply_error(xmppcore_conn *c, const xmppcore_stanza *st,
                        const char *type, const char *condition)
{
    const char *t = xmppcore_stanza_attr(st, "type");
    if (t && (strcmp(t, "error") == 0 ||
              (strcmp(xmppcore_stanza_name(st), "iq") == 0 &&
               strcmp(t, "result") == 0)))
        return;
    xmppcore_stanza *e = xmppcore_stanza_error_reply(st, type, condition);
    if (!e)
        return;
    xmppcore_stanza_set_attr(e, "to", c->session ? c->session->full : NULL);
    xi_conn_send_stanza(c, e);
    xmppcore_stanza_free(e);
}

/* ---- STARTTLS ---- */

static void handle_starttls(xmppcore_conn *c)
{
    if (!can_starttls(c) || c->state != XI_C2S_NEGOTIATE) {
        send_str(c, "<failure xmlns='" NS_TLS "'/>");
        xi_conn_close(c, NULL, NULL, XMPPCORE_E_TLS);
        return;
    }
    send_str(c, "<proceed xmlns='" NS_TLS "'/>");
    /* <proceed/> is the last plaintext; what follows is TLS. */
    int rc = xi_tls_session_new(c->server->tls, &c->out, &c->tls);
    if (rc < 0) {
        xi_log(c->server, XMPPCORE_LOG_ERROR, "c2s %s: TLS setup failed: %s",
               c->peer, xmppcore_strerror(rc));
        conn_finish(c, XMPPCORE_E_TLS, true);
        return;
    }
    c->tls_active = true;
    c->header_sent = false;
    c->state = XI_C2S_HEADER;
    xmppcore_parser_reset(c->parser);
    xmppcore_parser_stop(c->parser);
}

/* ---- stanzas from the client ---- */

static bool valid_type(const char *name, const char *type)
{
    static const char *const msg[] = {"chat", "error", "groupchat", "headline",
                                      "normal", NULL};
    static const char *const pres[] = {"error", "probe", "subscribe",
                                       "subscribed", "unavailable",
                                       "unsubscribe", "unsubscribed", NULL};
    static const char *const iq[] = {"get", "set", "result", "error", NULL};
    const char *const *list = strcmp(name, "message") == 0    ? msg
                              : strcmp(name, "presence") == 0 ? pres
                                                              : iq;
    if (!type)
        return strcmp(name, "iq") != 0;
    for (; *list; list++)
        if (strcmp(*list, type) == 0)
            return true;
    return false;
}

static size_t element_children(const xmppcore_stanza *st)
{
    size_t n = 0;
    for (xmppcore_stanza *k = xmppcore_stanza_first(st); k;
         k = xmppcore_stanza_next(k))
        if (!xmppcore_stanza_is_text(k))
            n++;
    return n;
}

static void handle_bind(xmppcore_conn *c, xmppcore_stanza *iq)
{
    xmppcore_server *s = c->server;
    xmppcore_stanza *bind = xmppcore_stanza_child(iq, "bind", NS_BIND);
    const char *res = bind ? xmppcore_stanza_child_text(bind, "resource", NULL) : NULL;
    if (res && !*res)
        res = NULL;
    xmppcore_session *se = NULL;
    int rc = xi_sm_bind(s, c, res, &se);
    if (rc < 0) {
        reply_error(c, iq, rc == XMPPCORE_E_JID ? "modify" : rc == XMPPCORE_E_RANGE ? "cancel" : "wait",
                  rc == XMPPCORE_E_JID     ? "bad-request"
                  : rc == XMPPCORE_E_RANGE ? "resource-constraint"
                                           : "internal-server-error");
        return;
    }
    c->session = se;
    c->state = XI_C2S_SESSION;
    xmppcore_stanza *r = xi_reply(iq, "result");
    xmppcore_stanza *b = r ? xmppcore_stanza_add_child(r, "bind", NS_BIND) : NULL;
    xmppcore_stanza *j = b ? xmppcore_stanza_add_child(b, "jid", NULL) : NULL;
    if (j)
        xmppcore_stanza_set_text(j, se->full);
    if (j)
        xmppcore_stanza_set_attr(r, "from", NULL);
    if (j)
        xmppcore_stanza_set_attr(r, "to", NULL);
    if (j)
        xi_conn_send_stanza(c, r);
    else
        mark_broken(c); /* bound, but the answer could not be made */
    xmppcore_stanza_free(r);
    xi_log(s, XMPPCORE_LOG_INFO, "c2s %s: bound %s", c->peer, se->full);
    xmppcore_stanza *st = NULL;
    xi_hooks_run(s->hooks, XMPPCORE_HOOK_SESSION_BOUND, se->vhost->domain,
                       &st, se, XI_HOOK_DATA_SESSION);
    xmppcore_stanza_free(st);
}

/* Checks 'from' (RFC 6120 §8.1.2.1) and stamps the full JID. */
static bool stamp_from(xmppcore_conn *c, xmppcore_stanza *st)
{
    const char *from = xmppcore_stanza_attr(st, "from");
    xmppcore_session *se = c->session;
    if (from && strcmp(from, se->full) != 0) {
        xmppcore_jid *j = NULL;
        bool ok = xmppcore_jid_parse(c->server->mem, from, (size_t)-1, &j) == 0 &&
                  (strcmp(xmppcore_jid_str(j), se->full) == 0 ||
                   strcmp(xmppcore_jid_str(j), se->user->bare) == 0);
        xmppcore_jid_free(j);
        if (!ok) {
            stream_error(c, XMPPCORE_E_FATAL, "invalid-from", NULL);
            return false;
        }
    }
    return xi_stanza_set_attr_trusted(st, "from", se->full) == 0;
}

static void handle_stanza(xmppcore_conn *c, xmppcore_stanza *st)
{
    xmppcore_server *s = c->server;
    const char *name = xmppcore_stanza_name(st);
    const char *type = xmppcore_stanza_attr(st, "type");

    if (!valid_type(name, type)) {
        reply_error(c, st, "modify", "bad-request");
        xmppcore_stanza_free(st);
        return;
    }
    bool is_iq = strcmp(name, "iq") == 0;
    bool iq_request = is_iq && (strcmp(type, "get") == 0 || strcmp(type, "set") == 0);
    if (is_iq && (!xmppcore_stanza_attr(st, "id") ||
                  (iq_request && element_children(st) != 1))) {
        reply_error(c, st, "modify", "bad-request");
        xmppcore_stanza_free(st);
        return;
    }
    if (c->state == XI_C2S_BIND) {
        if (iq_request && xmppcore_stanza_child(st, "bind", NS_BIND) &&
            strcmp(type, "set") == 0) {
            handle_bind(c, st);
        } else if (iq_request && xmppcore_stanza_child(st, "session", NS_SESSION)) {
            reply_error(c, st, "wait", "not-allowed");
        } else {
            stream_error(c, XMPPCORE_E_FATAL, "not-authorized",
                         "bind a resource first");
        }
        xmppcore_stanza_free(st);
        return;
    }
    /* The legacy session establishment (RFC 3921 §3): a no-op now. */
    if (iq_request && xmppcore_stanza_child(st, "session", NS_SESSION) &&
        !xmppcore_stanza_attr(st, "to")) {
        xmppcore_stanza *r = xi_reply(st, "result");
        if (r) {
            xmppcore_stanza_set_attr(r, "from", NULL);
            xmppcore_stanza_set_attr(r, "to", NULL);
            xi_conn_send_stanza(c, r);
        }
        xmppcore_stanza_free(r);
        xmppcore_stanza_free(st);
        return;
    }
    if (iq_request && xmppcore_stanza_child(st, "bind", NS_BIND)) {
        reply_error(c, st, "cancel", "not-allowed");
        xmppcore_stanza_free(st);
        return;
    }
    if (!stamp_from(c, st)) {
        xmppcore_stanza_free(st);
        return;
    }
    const char *to = xmppcore_stanza_attr(st, "to");
    xmppcore_jid *to_jid = NULL;
    if (to) {
        int rc = xmppcore_jid_parse(s->mem, to, (size_t)-1, &to_jid);
        /* Addresses leave in their enforced form. */
        if (rc == 0 && strcmp(to, xmppcore_jid_str(to_jid)) != 0)
            rc = xi_stanza_set_attr_trusted(st, "to", xmppcore_jid_str(to_jid));
        if (rc < 0) {
            xmppcore_jid_free(to_jid);
            reply_error(c, st, "modify", "jid-malformed");
            xmppcore_stanza_free(st);
            return;
        }
    } else if (strcmp(name, "presence") != 0) {
        /* No 'to': on behalf of the account (RFC 6120 §10.3). */
        xi_stanza_set_attr_trusted(st, "to", c->session->user->bare);
    }
    xmppcore_session *se = c->session;
    xmppcore_hook_result hr = xi_hooks_run(
        s->hooks, XMPPCORE_HOOK_USER_SEND_PACKET, se->vhost->domain, &st, se, XI_HOOK_DATA_SESSION);
    if (hr == XMPPCORE_HOOK_DROP || !st) {
        xmppcore_jid_free(to_jid);
        xmppcore_stanza_free(st);
        return;
    }
    name = xmppcore_stanza_name(st); /* a handler may have replaced st */
    if (strcmp(name, "presence") == 0 && !xmppcore_stanza_attr(st, "to")) {
        xmppcore_jid_free(to_jid);
        xi_sm_presence_broadcast(s, se, st);
        return;
    }
    /* A stanza that went nowhere for lack of memory: the client would
     * wait for an answer (or believe its message delivered); ending the
     * stream tells it, and a resuming client (XEP-0198) sends again. */
    if (xi_route_to(s, st, to_jid) == XMPPCORE_E_NOMEM)
        mark_broken(c);
    xmppcore_jid_free(to_jid);
}

static void on_element(void *ud, xmppcore_stanza *st)
{
    xmppcore_conn *c = ud;
    if (c->closed) {
        xmppcore_stanza_free(st);
        return;
    }
    const char *ns = xmppcore_stanza_ns(st);
    switch (c->state) {
    case XI_C2S_NEGOTIATE:
        if (strcmp(ns, NS_TLS) == 0 &&
            strcmp(xmppcore_stanza_name(st), "starttls") == 0)
            handle_starttls(c);
        else if (strcmp(ns, NS_SASL) == 0)
            handle_auth(c, st);
        else if (strcmp(ns, XMPPCORE_NS_CLIENT) == 0)
            stream_error(c, XMPPCORE_E_FATAL, "not-authorized", NULL);
        else
            stream_error(c, XMPPCORE_E_FATAL, "unsupported-stanza-type", NULL);
        xmppcore_stanza_free(st);
        return;
    case XI_C2S_BIND:
    case XI_C2S_SESSION: {
        const char *name = xmppcore_stanza_name(st);
        if (strcmp(ns, XMPPCORE_NS_CLIENT) == 0 &&
            (strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
             strcmp(name, "iq") == 0)) {
            handle_stanza(c, st);
            return;
        }
        stream_error(c, XMPPCORE_E_FATAL, "unsupported-stanza-type", NULL);
        xmppcore_stanza_free(st);
        return;
    }
    default:
        stream_error(c, XMPPCORE_E_FATAL, "not-authorized", NULL);
        xmppcore_stanza_free(st);
        return;
    }
}

static const xmppcore_parser_callbacks parser_cbs = {
    XMPPCORE_PARSER_CALLBACKS_VERSION, on_stream_start, on_element,
    on_stream_end};

/* ---- input ---- */

static void hold(xmppcore_conn *c, const char *data, size_t len)
{
    const xi_opts *o = xi_vhost_opts(c->server, c->vhost);
    if (c->held.len + len > (size_t)o->max_stanza * 2) {
        stream_error(c, XMPPCORE_E_POLICY, "policy-violation",
                     "too much input while waiting");
        return;
    }
    if (xi_buf_put(&c->held, data, len) < 0)
        stream_error(c, XMPPCORE_E_NOMEM, "internal-server-error", NULL);
}

static void feed_tls(xmppcore_conn *c, const char *data, size_t len);

static void parse_plain(xmppcore_conn *c, const char *data, size_t len)
{
    while (len && !c->closed) {
        if (c->waiting) {
            hold(c, data, len);
            return;
        }
        bool had_tls = c->tls != NULL;
        size_t used = 0;
        int rc = xmppcore_parser_feed(c->parser, data, len, &used);
        if (rc < 0) {
            if (!c->closed)
                stream_error(c, rc, NULL, xmppcore_parser_error_text(c->parser));
            return;
        }
        data += used;
        len -= used;
        if (!had_tls && c->tls && !c->closed) {
            /* STARTTLS: the rest of this read is the TLS handshake. */
            feed_tls(c, data, len);
            return;
        }
    }
}

static void feed_tls(xmppcore_conn *c, const char *data, size_t len)
{
    bool was_empty = !has_output(c);
    int rc = len ? xi_tls_feed(c->tls, data, len) : 0;
    if (rc < 0) {
        xi_log(c->server, XMPPCORE_LOG_INFO, "c2s %s: TLS: %s", c->peer,
               xi_tls_error(c->tls));
        notify_write(c, was_empty);
        conn_finish(c, XMPPCORE_E_TLS, true);
        return;
    }
    notify_write(c, was_empty);
    char buf[16384];
    while (!c->closed) {
        size_t n = 0;
        rc = xi_tls_read(c->tls, buf, sizeof buf, &n);
        if (rc == XMPPCORE_E_AGAIN)
            break;
        if (rc == XMPPCORE_E_STREAM_CLOSED) {
            conn_finish(c, 0, true);
            break;
        }
        if (rc < 0) {
            xi_log(c->server, XMPPCORE_LOG_INFO, "c2s %s: TLS: %s", c->peer,
                   xi_tls_error(c->tls));
            conn_finish(c, XMPPCORE_E_TLS, true);
            break;
        }
        parse_plain(c, buf, n);
    }
    notify_write(c, was_empty);
}

int xmppcore_conn_feed(xmppcore_conn *c, const void *data, size_t len)
{
    if (c->closed)
        return 0;
    if (!data && len)
        return XMPPCORE_E_INVAL;
    c->last_in = c->server->now;
    c->in_feed = true;
    if (c->tls)
        feed_tls(c, data, len);
    else
        parse_plain(c, data, len);
    c->in_feed = false;
    if (c->closed && c->close_reason < 0)
        return c->close_reason <= XMPPCORE_E_FATAL ? c->close_reason
                                                   : XMPPCORE_E_FATAL;
    return 0;
}

/* ---- timers ---- */

static int64_t deadline(const xmppcore_conn *c, int64_t base, uint32_t secs)
{
    return secs ? base + (int64_t)secs * 1000 : INT64_MAX;
}

static void on_timer(xi_timer *t, void *ud)
{
    xmppcore_conn *c = ud;
    xmppcore_server *s = c->server;
    XI_UNUSED(t);
    if (c->closed)
        return;
    if (c->broken) {
        conn_finish(c, XMPPCORE_E_NOMEM, true);
        return;
    }
    const xi_opts *o = xi_vhost_opts(s, c->vhost);
    int64_t now = s->now;
    if (c->failure_pending && now >= c->delay_until) {
        /* A delayed authentication failure is due. */
        c->failure_pending = false;
        send_sasl_failure(c);
        conn_resume(c);
        if (c->closed)
            return;
    }
    if (c->state != XI_C2S_SESSION &&
        now >= deadline(c, c->started, o->auth_timeout)) {
        stream_error(c, XMPPCORE_E_FATAL, "connection-timeout",
                     "authentication took too long");
        return;
    }
    if (now >= deadline(c, c->last_in, o->idle_timeout)) {
        stream_error(c, XMPPCORE_E_FATAL, "connection-timeout", NULL);
        return;
    }
    if (c->state == XI_C2S_SESSION && c->header_sent &&
        now >= deadline(c, c->last_out, o->keepalive))
        send_str(c, " ");
    if (!c->waiting && now - c->last_in >= HIBERNATE_AFTER_MS) {
        /* Idle: give back the parser's and buffers' memory. */
        xmppcore_parser_hibernate(c->parser);
        if (!c->held.len) {
            xi_free(s->mem, c->held.data);
            memset(&c->held, 0, sizeof c->held);
            c->held.mem = s->mem;
        }
        if (!c->plain.len) {
            xi_free(s->mem, c->plain.data);
            memset(&c->plain, 0, sizeof c->plain);
            c->plain.mem = s->mem;
        }
    }
    conn_rearm(c);
}

static void conn_rearm(xmppcore_conn *c)
{
    xmppcore_server *s = c->server;
    if (c->closed)
        return;
    if (c->broken) {
        xi_timer_set(&s->timers, &c->timer, s->now);
        return;
    }
    const xi_opts *o = xi_vhost_opts(s, c->vhost);
    int64_t next = INT64_MAX, d;
    if (c->failure_pending)
        next = c->delay_until;
    if (c->state != XI_C2S_SESSION &&
        (d = deadline(c, c->started, o->auth_timeout)) < next)
        next = d;
    if ((d = deadline(c, c->last_in, o->idle_timeout)) < next)
        next = d;
    if (c->state == XI_C2S_SESSION &&
        (d = deadline(c, c->last_out, o->keepalive)) < next)
        next = d;
    if (c->last_in + HIBERNATE_AFTER_MS > s->now &&
        c->last_in + HIBERNATE_AFTER_MS < next)
        next = c->last_in + HIBERNATE_AFTER_MS;
    if (next <= s->now)
        next = s->now + 1;
    if (next != INT64_MAX) {
        xi_timer_set(&s->timers, &c->timer, next);
        xi_server_timers_changed(s);
    }
}

/* ---- the connection object ---- */

xmppcore_conn *xmppcore_conn_new(xmppcore_listener *l, const char *peer,
                                 const xmppcore_conn_callbacks *cb, void *ud)
{
    if (!l || (cb && cb->version < 1))
        return NULL;
    xmppcore_server *s = l->server;
    xmppcore_conn *c = xi_calloc(s->mem, sizeof *c);
    if (!c)
        return NULL;
    c->server = s;
    c->listener = l;
    if (cb)
        c->cb = *cb;
    c->ud = ud;
    c->refs = 1;
    c->out.mem = c->plain.mem = c->held.mem = s->mem;
    c->peer = xi_strdup(s->mem, peer ? peer : "");
    c->parser = xmppcore_parser_new(&parser_cbs, c, s->mem);
    if (c->parser) {
        unsigned long salt = 0;
        if (s->env.rng(&salt, sizeof salt, s->env.rng_user_data) == 0)
            xi_parser_set_hash_salt(c->parser, salt);
    }
    xi_timer_init(&c->timer, on_timer, c);
    c->started = c->last_in = c->last_out = s->now;
    new_stream_id(c);
    if (!c->peer || !c->parser) {
        xmppcore_parser_free(c->parser);
        xi_free(s->mem, c->peer);
        xi_free(s->mem, c);
        return NULL;
    }
    if (l->kind == XMPPCORE_LISTEN_C2S_TLS) {
        if (xi_tls_session_new(s->tls, &c->out, &c->tls) < 0) {
            xmppcore_parser_free(c->parser);
            xi_free(s->mem, c->peer);
            xi_free(s->mem, c);
            return NULL;
        }
        c->tls_active = true;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    conn_rearm(c);
    return c;
}

static void conn_destroy(xmppcore_conn *c)
{
    xmppcore_server *s = c->server;
    const xmppcore_mem *mem = c->out.mem;
    if (s) {
        xi_timer_cancel(&s->timers, &c->timer);
        if (c->prev)
            c->prev->next = c->next;
        else if (s->conns == c)
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->nconns--;
    }
    xmppcore_parser_free(c->parser);
    xi_tls_session_free(c->tls);
    xi_sasl_free(c->sasl);
    xi_free(mem, c->out.data);
    xi_free(mem, c->plain.data);
    xi_free(mem, c->held.data);
    xi_free(mem, c->username);
    xi_free(mem, c->account);
    xi_free(mem, c->peer);
    xi_free(mem, c);
}

void xmppcore_conn_free(xmppcore_conn *c)
{
    if (!c || c->freed)
        return;
    if (!c->closed)
        conn_finish(c, 0, false);
    c->freed = true;
    if (--c->refs == 0)
        conn_destroy(c);
}

const void *xmppcore_conn_output(xmppcore_conn *c, size_t *len)
{
    flush_tls(c);
    *len = c->out.len;
    return c->out.len ? xmppcore_buffer_data(&c->out) : NULL;
}

void xmppcore_conn_consume(xmppcore_conn *c, size_t n)
{
    xmppcore_buffer_consume(&c->out, n);
    if (!c->out.len && c->out.cap > 65536) {
        /* A burst is over: don't keep its buffer. */
        xi_free(c->out.mem, c->out.data);
        c->out.data = NULL;
        c->out.cap = c->out.off = 0;
    }
}

void xmppcore_conn_eof(xmppcore_conn *c)
{
    if (!c->closed)
        conn_finish(c, XMPPCORE_E_STREAM_CLOSED, true);
}

const char *xmppcore_conn_peer(const xmppcore_conn *c)
{
    return c->peer;
}

const char *xmppcore_conn_account(const xmppcore_conn *c)
{
    return c->account;
}

const char *xmppcore_conn_jid(const xmppcore_conn *c)
{
    return c->session ? c->session->full : NULL;
}

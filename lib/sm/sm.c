/*
 * The session manager: the table of online accounts (bare JID → their
 * sessions), resource binding with conflict resolution, and local
 * delivery per RFC 6121 §8.5 — to the server itself, to a bare JID
 * (priority rules), to a full JID (falling back to the bare JID where the
 * RFC says so) — plus presence broadcast to the user's own resources.
 * Roster-based presence and offline storage arrive with the IM issue.
 */
#include <stdio.h>
#include <stdlib.h>

#include "server/server_int.h"
#include "hooks/hooks_int.h"

xi_user *xi_sm_user(const xmppcore_server *s, const char *bare)
{
    return xi_map_get(&s->users, bare);
}

static xmppcore_session *find_resource(const xi_user *u, const char *res)
{
    for (xmppcore_session *se = u ? u->sessions : NULL; se; se = se->next_in_user)
        if (strcmp(se->resource, res) == 0)
            return se;
    return NULL;
}

static void random_resource(xmppcore_server *s, char *out, size_t n)
{
    static const char alnum[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[16];
    s->env.rng(rnd, sizeof rnd, s->env.rng_user_data);
    size_t i;
    for (i = 0; i + 1 < n && i < sizeof rnd; i++)
        out[i] = alnum[rnd[i] % 62];
    out[i] = '\0';
}

int xi_sm_bind(xmppcore_server *s, xmppcore_conn *c, const char *resource,
               xmppcore_session **out)
{
    char res[XMPPCORE_JID_PART_MAX + 1];
    char bare[2 * XMPPCORE_JID_PART_MAX + 2];
    const xi_opts *o = xi_vhost_opts(s, c->vhost);

    *out = NULL;
    if (resource) {
        if (xmppcore_jid_enforce_part(XMPPCORE_JID_RESOURCE, resource,
                                      strlen(resource), res, sizeof res) <= 0)
            return XMPPCORE_E_JID;
    }
    snprintf(bare, sizeof bare, "%s@%s", c->username, c->vhost->domain);
    xi_user *u = xi_sm_user(s, bare);
    if (!resource) {
        do
            random_resource(s, res, 13);
        while (find_resource(u, res));
    }
    /* Conflict: the new session replaces the old (RFC 6120 §7.7.2.2). */
    xmppcore_session *old = find_resource(u, res);
    if (old && old->conn) {
        xi_conn_close(old->conn, "conflict", "replaced by a new connection",
                      XMPPCORE_E_FATAL);
        u = xi_sm_user(s, bare);
    }
    if (u && u->nsessions >= o->max_sessions)
        return XMPPCORE_E_RANGE;
    bool new_user = !u;
    if (new_user) {
        u = xi_calloc(s->mem, sizeof *u);
        if (!u || !(u->bare = xi_strdup(s->mem, bare)) ||
            xi_map_put(&s->users, u->bare, u) < 0) {
            if (u)
                xi_free(s->mem, u->bare);
            xi_free(s->mem, u);
            return XMPPCORE_E_NOMEM;
        }
    }
    xmppcore_session *se = xi_calloc(s->mem, sizeof *se);
    size_t blen = strlen(bare), rlen = strlen(res);
    char *full = xi_malloc(s->mem, blen + rlen + 2);
    if (!se || !full) {
        xi_free(s->mem, se);
        xi_free(s->mem, full);
        if (new_user) {
            xi_map_del(&s->users, u->bare);
            xi_free(s->mem, u->bare);
            xi_free(s->mem, u);
        }
        return XMPPCORE_E_NOMEM;
    }
    memcpy(full, bare, blen);
    full[blen] = '/';
    memcpy(full + blen + 1, res, rlen + 1);
    se->full = full;
    se->resource = full + blen + 1;
    se->conn = c;
    se->user = u;
    se->vhost = c->vhost;
    se->next_in_user = u->sessions;
    u->sessions = se;
    u->nsessions++;
    s->nsessions++;
    *out = se;
    return 0;
}

/* Sends a copy of stanza to session se, through user_receive_packet. */
static void deliver_to(xmppcore_server *s, xmppcore_session *se,
                       const xmppcore_stanza *st)
{
    if (!se->conn)
        return;
    xmppcore_stanza *copy = xmppcore_stanza_copy(st);
    if (!copy)
        return;
    xmppcore_hook_result hr = xi_hooks_run(
        s->hooks, XMPPCORE_HOOK_USER_RECEIVE_PACKET, se->vhost->domain, &copy,
        se, XI_HOOK_DATA_SESSION);
    if (hr != XMPPCORE_HOOK_DROP && copy && se->conn)
        xi_conn_send_stanza(se->conn, copy);
    xmppcore_stanza_free(copy);
}

/* The same, giving away the stanza (saves a copy for a single target). */
static void deliver_owned(xmppcore_server *s, xmppcore_session *se,
                          xmppcore_stanza *st)
{
    xmppcore_hook_result hr = xi_hooks_run(
        s->hooks, XMPPCORE_HOOK_USER_RECEIVE_PACKET, se->vhost->domain, &st, se, XI_HOOK_DATA_SESSION);
    if (hr != XMPPCORE_HOOK_DROP && st && se->conn)
        xi_conn_send_stanza(se->conn, st);
    xmppcore_stanza_free(st);
}

void xi_sm_unbind(xmppcore_server *s, xmppcore_session *se)
{
    xi_user *u = se->user;
    xmppcore_session **pp = &u->sessions;
    while (*pp && *pp != se)
        pp = &(*pp)->next_in_user;
    if (*pp)
        *pp = se->next_in_user;
    u->nsessions--;
    s->nsessions--;
    se->conn = NULL;
    if (se->available) {
        /* Gone without saying so: the others learn it (RFC 6121 §4.5.3). */
        xmppcore_stanza *p = xmppcore_stanza_new(s->mem, "presence",
                                                 XMPPCORE_NS_CLIENT);
        if (p && xmppcore_stanza_set_attr(p, "from", se->full) == 0 &&
            xmppcore_stanza_set_attr(p, "type", "unavailable") == 0) {
            for (xmppcore_session *o = u->sessions; o; o = o->next_in_user)
                if (o->available) {
                    xmppcore_stanza_set_attr(p, "to", o->full);
                    deliver_to(s, o, p);
                }
        }
        xmppcore_stanza_free(p);
    }
    if (!u->sessions) {
        xi_map_del(&s->users, u->bare);
        xi_free(s->mem, u->bare);
        xi_free(s->mem, u);
    }
    xi_free(s->mem, se->full);
    xi_free(s->mem, se);
}

void xi_sm_free_all(xmppcore_server *s)
{
    size_t pos = 0;
    void *val;
    /* Sessions whose connections are gone already; free what is left. */
    while (xi_map_next(&s->users, &pos, NULL, &val)) {
        xi_user *u = val;
        for (xmppcore_session *se = u->sessions, *n; se; se = n) {
            n = se->next_in_user;
            xi_free(s->mem, se->full);
            xi_free(s->mem, se);
        }
        xi_free(s->mem, u->bare);
        xi_free(s->mem, u);
    }
    xi_map_free(&s->users);
}

static int parse_priority(const xmppcore_stanza *p)
{
    const char *t = xmppcore_stanza_child_text(p, "priority", NULL);
    if (!t)
        return 0;
    char *end;
    long v = strtol(t, &end, 10);
    if (end == t || *end || v < -128 || v > 127)
        return 0;
    return (int)v;
}

void xi_sm_presence_broadcast(xmppcore_server *s, xmppcore_session *se,
                              xmppcore_stanza *p)
{
    const char *type = xmppcore_stanza_attr(p, "type");
    if (!type) {
        se->available = true;
        se->priority = parse_priority(p);
    } else if (strcmp(type, "unavailable") == 0) {
        se->available = false;
    } else {
        /* probe/subscribe & co. need a 'to'; error: nothing to do. */
        xmppcore_stanza_free(p);
        return;
    }
    /* To the user's available resources, the sender included
     * (RFC 6121 §4.2.2, §4.5.2); contacts come with the roster. */
    for (xmppcore_session *o = se->user->sessions; o; o = o->next_in_user) {
        if (!o->available && o != se)
            continue;
        if (xmppcore_stanza_set_attr(p, "to", o->full) == 0)
            deliver_to(s, o, p);
    }
    xmppcore_stanza_free(p);
}

/* ---- delivery (RFC 6121 §8.5) ---- */

static void to_server(xmppcore_server *s, xi_vhost *v, xmppcore_stanza *st)
{
    const char *name = xmppcore_stanza_name(st);
    const char *type = xmppcore_stanza_attr(st, "type");
    if (strcmp(name, "iq") == 0 && type &&
        (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
        int rc = xi_iq_dispatch(s->hooks, v->domain, &st, s, XI_HOOK_DATA_SERVER);
        if (rc == XMPPCORE_E_NOTFOUND || rc == XMPPCORE_HOOK_CONTINUE)
            xi_bounce(s, st, "cancel", "service-unavailable");
        else if (rc == XMPPCORE_E_INVAL)
            xi_bounce(s, st, "modify", "bad-request");
        else if (rc == XMPPCORE_HOOK_DROP)
            xi_bounce(s, st, "wait", "internal-server-error");
    }
    /* Messages and presence to the server itself: nothing to do yet. */
    xmppcore_stanza_free(st);
}

static void to_bare(xmppcore_server *s, xi_vhost *v, xi_user *u,
                    xmppcore_stanza *st)
{
    const char *name = xmppcore_stanza_name(st);
    const char *type = xmppcore_stanza_attr(st, "type");
    if (strcmp(name, "message") == 0) {
        if (type && strcmp(type, "error") == 0) {
            xmppcore_stanza_free(st);
            return;
        }
        if (type && strcmp(type, "groupchat") == 0) {
            xi_bounce(s, st, "cancel", "service-unavailable");
            xmppcore_stanza_free(st);
            return;
        }
        bool headline = type && strcmp(type, "headline") == 0;
        int best = -1;
        size_t n = 0;
        for (xmppcore_session *se = u ? u->sessions : NULL; se; se = se->next_in_user)
            if (se->available && se->priority >= 0) {
                if (se->priority > best) {
                    best = se->priority;
                    n = 0;
                }
                if (se->priority == best)
                    n++;
            }
        if (!n) {
            /* No available resource: no offline storage yet (RFC 6121
             * §8.5.2.2.1 allows the error instead). */
            if (!headline)
                xi_bounce(s, st, "cancel", "service-unavailable");
            xmppcore_stanza_free(st);
            return;
        }
        /* chat/normal: the highest priority resources; headline: all
         * available non-negative ones. */
        xmppcore_session *last = NULL;
        for (xmppcore_session *se = u->sessions; se; se = se->next_in_user) {
            if (!se->available || se->priority < 0 ||
                (!headline && se->priority != best))
                continue;
            if (last)
                deliver_to(s, last, st);
            last = se;
        }
        deliver_owned(s, last, st);
        return;
    }
    if (strcmp(name, "presence") == 0) {
        /* Directed presence to a bare JID: to every available resource. */
        xmppcore_session *last = NULL;
        for (xmppcore_session *se = u ? u->sessions : NULL; se; se = se->next_in_user) {
            if (!se->available)
                continue;
            if (last)
                deliver_to(s, last, st);
            last = se;
        }
        if (last)
            deliver_owned(s, last, st);
        else
            xmppcore_stanza_free(st);
        return;
    }
    /* iq to a bare JID: the server answers for the account
     * (RFC 6120 §10.5.3.2). */
    if (type && (strcmp(type, "get") == 0 || strcmp(type, "set") == 0)) {
        int rc = xi_iq_dispatch(s->hooks, v->domain, &st, s, XI_HOOK_DATA_SERVER);
        if (rc == XMPPCORE_E_NOTFOUND || rc == XMPPCORE_HOOK_CONTINUE)
            xi_bounce(s, st, "cancel", "service-unavailable");
        else if (rc == XMPPCORE_E_INVAL)
            xi_bounce(s, st, "modify", "bad-request");
        else if (rc == XMPPCORE_HOOK_DROP)
            xi_bounce(s, st, "wait", "internal-server-error");
    }
    xmppcore_stanza_free(st);
}

void xi_sm_deliver(xmppcore_server *s, xi_vhost *v, const xmppcore_jid *to,
                   xmppcore_stanza *st)
{
    if (!xmppcore_jid_local(to)) {
        to_server(s, v, st);
        return;
    }
    xi_user *u = xi_sm_user(s, xmppcore_jid_bare_str(to));
    const char *res = xmppcore_jid_resource(to);
    if (!res) {
        to_bare(s, v, u, st);
        return;
    }
    xmppcore_session *se = find_resource(u, res);
    if (se) {
        deliver_owned(s, se, st);
        return;
    }
    /* No such resource (RFC 6121 §8.5.3.2). */
    const char *name = xmppcore_stanza_name(st);
    const char *type = xmppcore_stanza_attr(st, "type");
    if (strcmp(name, "message") == 0) {
        /* Only a chat falls back to the bare JID (§8.5.3.2.1); normal and
         * groupchat get an error, headline is ignored. */
        if (type && strcmp(type, "chat") == 0) {
            to_bare(s, v, u, st);
            return;
        }
        if (!type || strcmp(type, "normal") == 0 ||
            strcmp(type, "groupchat") == 0)
            xi_bounce(s, st, "cancel", "service-unavailable");
    } else if (strcmp(name, "iq") == 0) {
        xi_bounce(s, st, "cancel", "service-unavailable");
    }
    /* presence, headline, error: silently ignored */
    xmppcore_stanza_free(st);
}

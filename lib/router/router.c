/*
 * The router: where a stanza goes once an entity of this server sent it.
 * filter_packet runs first; then a local domain goes to the session
 * manager and anything else to a remote route. Remote routes (s2s,
 * components, other cluster nodes) are a later issue: until then every
 * other domain answers remote-server-not-found. Also the stanza-error
 * helpers (RFC 6120 §8.3).
 */
#include "server/server_int.h"
#include "hooks/hooks_int.h"
#include "xml/stanza_impl.h"

xmppcore_stanza *xi_reply(const xmppcore_stanza *st, const char *type)
{
    return xmppcore_stanza_reply(st, type);
}

void xi_bounce(xmppcore_server *s, const xmppcore_stanza *st, const char *type,
               const char *condition)
{
    const char *t = xmppcore_stanza_attr(st, "type");
    /* Never answer an error with an error, nor an iq result. */
    if (t && (strcmp(t, "error") == 0 ||
              (strcmp(xmppcore_stanza_name(st), "iq") == 0 &&
               strcmp(t, "result") == 0)))
        return;
    if (!xmppcore_stanza_attr(st, "from"))
        return;
    xmppcore_stanza *r = xmppcore_stanza_error_reply(st, type, condition);
    if (!r)
        return;
    /* When the stanza had no 'to', the error comes from the server. */
    if (!xmppcore_stanza_attr(st, "to")) {
        xmppcore_jid *fj = NULL;
        if (xmppcore_jid_parse(s->mem, xmppcore_stanza_attr(st, "from"),
                               (size_t)-1, &fj) == 0)
            xmppcore_stanza_set_attr(r, "from", xmppcore_jid_domain(fj));
        xmppcore_jid_free(fj);
    }
    xi_route(s, r);
}

int xi_route_to(xmppcore_server *s, xmppcore_stanza *st,
                const xmppcore_jid *known)
{
    /* Stanzas built by modules without a namespace are client stanzas. */
    const char *ns = xmppcore_stanza_ns(st);
    if (ns && !*ns)
        xi_stanza_set_ns_static(st, XMPPCORE_NS_CLIENT);
    xmppcore_hook_result hr = xi_hooks_run(
        s->hooks, XMPPCORE_HOOK_FILTER_PACKET, NULL, &st, s, XI_HOOK_DATA_SERVER);
    if (hr == XMPPCORE_HOOK_DROP || !st) {
        xmppcore_stanza_free(st);
        return 0;
    }
    const char *to = xmppcore_stanza_attr(st, "to");
    xmppcore_jid *j = NULL;
    /* Reuse the caller's JID unless a filter changed the address. */
    if (known && to && strcmp(to, xmppcore_jid_str(known)) == 0) {
        j = (xmppcore_jid *)known;
    } else if (!to) {
        xmppcore_stanza_free(st);
        return 0;
    } else {
        int rc = xmppcore_jid_parse(s->mem, to, (size_t)-1, &j);
        if (rc < 0) {
            /* Out of memory is not a malformed address: the caller
             * learns that its stanza went nowhere. */
            if (rc != XMPPCORE_E_NOMEM)
                xi_bounce(s, st, "modify", "jid-malformed");
            xmppcore_stanza_free(st);
            return rc == XMPPCORE_E_NOMEM ? rc : 0;
        }
    }
    xi_vhost *v = xi_vhost_find(s, xmppcore_jid_domain(j));
    if (v) {
        xi_sm_deliver(s, v, j, st);
    } else {
        xi_bounce(s, st, "cancel", "remote-server-not-found");
        xmppcore_stanza_free(st);
    }
    if (j != known)
        xmppcore_jid_free(j);
    return 0;
}

int xi_route(xmppcore_server *s, xmppcore_stanza *st)
{
    return xi_route_to(s, st, NULL);
}

/*
 * XEP-0030 Service Discovery for the server itself: its identity and the
 * features every registered IQ namespace implies, and an empty item list
 * until components and MUC exist. Uses only the public API.
 */
#include <string.h>

#include "xmppcore/hooks.h"
#include "xmppcore/jid.h"
#include "xmppcore/server.h"
#include "modules/modules.h"

#define NS_INFO "http://jabber.org/protocol/disco#info"
#define NS_ITEMS "http://jabber.org/protocol/disco#items"

typedef struct {
    xmppcore_stanza *query;
    int rc;
} feat_ctx;

static void add_feature(const char *ns, void *ud)
{
    feat_ctx *f = ud;
    xmppcore_stanza *e = xmppcore_stanza_add_child(f->query, "feature", NULL);
    if (!e || xmppcore_stanza_set_attr(e, "var", ns) < 0)
        f->rc = -1;
}

/* Only the server's own JID (no localpart) is described here; accounts'
 * bare JIDs get their own disco with PEP later. */
static int to_domain(const xmppcore_stanza *iq, char *domain, size_t n)
{
    const char *to = xmppcore_stanza_attr(iq, "to");
    xmppcore_jid *j = NULL;
    if (!to || xmppcore_jid_parse(NULL, to, (size_t)-1, &j) < 0)
        return -1;
    int ok = !xmppcore_jid_local(j) && !xmppcore_jid_resource(j) &&
             strlen(xmppcore_jid_domain(j)) < n;
    if (ok)
        strcpy(domain, xmppcore_jid_domain(j));
    xmppcore_jid_free(j);
    return ok ? 0 : -1;
}

static xmppcore_hook_result on_info(xmppcore_hook_event *ev, void *ud)
{
    xmppcore_server *s = ud;
    const xmppcore_stanza *iq = xmppcore_hook_event_stanza(ev);
    char domain[1024];
    xmppcore_stanza *q = xmppcore_stanza_child(iq, "query", NS_INFO);
    if (to_domain(iq, domain, sizeof domain) < 0 || !q ||
        xmppcore_stanza_attr(q, "node")) {
        xmppcore_stanza *e = xmppcore_stanza_error_reply(
            iq, "cancel", "item-not-found");
        int rc = e ? xmppcore_server_send(s, e) : XMPPCORE_E_NOMEM;
        xmppcore_stanza_free(e);
        return rc == XMPPCORE_E_NOMEM ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_STOP;
    }
    xmppcore_stanza *r = xmppcore_stanza_reply(iq, "result");
    feat_ctx f = {r ? xmppcore_stanza_add_child(r, "query", NS_INFO) : NULL, 0};
    xmppcore_stanza *id = f.query ? xmppcore_stanza_add_child(f.query, "identity", NULL) : NULL;
    int rc = XMPPCORE_E_NOMEM;
    if (id && xmppcore_stanza_set_attr(id, "category", "server") == 0 &&
        xmppcore_stanza_set_attr(id, "type", "im") == 0 &&
        xmppcore_stanza_set_attr(id, "name", "libxmppcore") == 0) {
        xmppcore_iq_features(xmppcore_server_hooks(s), domain, add_feature, &f);
        if (f.rc == 0)
            rc = xmppcore_server_send(s, r);
    }
    xmppcore_stanza_free(r);
    return rc == XMPPCORE_E_NOMEM ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_STOP;
}

static xmppcore_hook_result on_items(xmppcore_hook_event *ev, void *ud)
{
    xmppcore_server *s = ud;
    const xmppcore_stanza *iq = xmppcore_hook_event_stanza(ev);
    char domain[1024];
    if (to_domain(iq, domain, sizeof domain) < 0)
        return XMPPCORE_HOOK_CONTINUE; /* service-unavailable */
    xmppcore_stanza *r = xmppcore_stanza_reply(iq, "result");
    int rc = XMPPCORE_E_NOMEM;
    if (r && xmppcore_stanza_add_child(r, "query", NS_ITEMS))
        rc = xmppcore_server_send(s, r);
    xmppcore_stanza_free(r);
    return rc == XMPPCORE_E_NOMEM ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_STOP;
}

int xi_mod_disco_register(xmppcore_server *s)
{
    xmppcore_hooks *h = xmppcore_server_hooks(s);
    int rc = xmppcore_iq_handler_add(h, NULL, NS_INFO, XMPPCORE_IQ_GET, on_info, s);
    if (rc == 0)
        rc = xmppcore_iq_handler_add(h, NULL, NS_ITEMS, XMPPCORE_IQ_GET, on_items, s);
    return rc;
}

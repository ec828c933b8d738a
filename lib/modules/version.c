/*
 * XEP-0092 Software Version for the server's own JID. Uses only the
 * public API. (The operating system is not disclosed.)
 */
#include <string.h>

#include "xmppcore.h"
#include "modules/modules.h"

#define NS_VERSION "jabber:iq:version"

static xmppcore_hook_result on_version(xmppcore_hook_event *ev, void *ud)
{
    xmppcore_server *s = ud;
    const xmppcore_stanza *iq = xmppcore_hook_event_stanza(ev);
    const char *to = xmppcore_stanza_attr(iq, "to");
    if (!to || strchr(to, '@'))
        return XMPPCORE_HOOK_CONTINUE; /* accounts answer for themselves */
    xmppcore_stanza *r = xmppcore_stanza_reply(iq, "result");
    xmppcore_stanza *q = r ? xmppcore_stanza_add_child(r, "query", NS_VERSION) : NULL;
    xmppcore_stanza *n = q ? xmppcore_stanza_add_child(q, "name", NULL) : NULL;
    xmppcore_stanza *v = q ? xmppcore_stanza_add_child(q, "version", NULL) : NULL;
    int rc = XMPPCORE_E_NOMEM;
    if (n && v && xmppcore_stanza_set_text(n, "libxmppcore") == 0 &&
        xmppcore_stanza_set_text(v, xmppcore_version()) == 0)
        rc = xmppcore_server_send(s, r);
    xmppcore_stanza_free(r);
    return rc == XMPPCORE_E_NOMEM ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_STOP;
}

int xi_mod_version_register(xmppcore_server *s)
{
    return xmppcore_iq_handler_add(xmppcore_server_hooks(s), NULL, NS_VERSION,
                                   XMPPCORE_IQ_GET, on_version, s);
}

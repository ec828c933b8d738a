/*
 * XEP-0199 XMPP Ping: the server answers pings addressed to it (and, on
 * behalf of accounts, to bare JIDs). Uses only the public API.
 */
#include "xmppcore/hooks.h"
#include "xmppcore/server.h"
#include "modules/modules.h"

#define NS_PING "urn:xmpp:ping"

static xmppcore_hook_result on_ping(xmppcore_hook_event *ev, void *ud)
{
    xmppcore_server *s = ud;
    xmppcore_stanza *r = xmppcore_stanza_reply(xmppcore_hook_event_stanza(ev),
                                               "result");
    int rc = r ? xmppcore_server_send(s, r) : XMPPCORE_E_NOMEM;
    xmppcore_stanza_free(r);
    /* Unanswered (out of memory): the server sends an error instead. */
    return rc == XMPPCORE_E_NOMEM ? XMPPCORE_HOOK_DROP : XMPPCORE_HOOK_STOP;
}

int xi_mod_ping_register(xmppcore_server *s)
{
    return xmppcore_iq_handler_add(xmppcore_server_hooks(s), NULL, NS_PING,
                                   XMPPCORE_IQ_GET, on_ping, s);
}

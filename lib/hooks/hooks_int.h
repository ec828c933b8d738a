/*
 * What the library tells the hook registry about the data it passes with
 * its own points, so handlers get typed accessors
 * (xmppcore_hook_event_session() & co.) instead of casting a void *.
 * Not installed.
 */
#ifndef XI_HOOKS_INT_H
#define XI_HOOKS_INT_H

#include "xmppcore/hooks.h"

enum {
    XI_HOOK_DATA_OPAQUE = 0, /* a host's own point: only _data() */
    XI_HOOK_DATA_SESSION,    /* an xmppcore_session */
    XI_HOOK_DATA_CONN,       /* an xmppcore_conn */
    XI_HOOK_DATA_SERVER      /* the xmppcore_server */
};

/* xmppcore_hooks_run() with the kind of data it carries. */
xmppcore_hook_result xi_hooks_run(xmppcore_hooks *hooks, const char *point,
                                  const char *vhost, xmppcore_stanza **stanza,
                                  void *data, int kind);

/* xmppcore_iq_dispatch() with the kind of data it carries. */
int xi_iq_dispatch(xmppcore_hooks *hooks, const char *vhost,
                   xmppcore_stanza **iq, void *data, int kind);

#endif

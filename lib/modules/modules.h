/*
 * The built-in modules. Each registers itself through the public API only
 * (xmppcore_iq_handler_add, xmppcore_hooks_add), as an outside module
 * would.
 */
#ifndef XI_MODULES_H
#define XI_MODULES_H

#include "xmppcore/server.h"

int xi_mod_ping_register(xmppcore_server *s);
int xi_mod_disco_register(xmppcore_server *s);
int xi_mod_version_register(xmppcore_server *s);

#endif

/*
 * libxmppcore — an embeddable XMPP server library.
 *
 * The umbrella header: include this one. See README.md and docs/.
 */
#ifndef XMPPCORE_H
#define XMPPCORE_H

#include "xmppcore/version.h"
#include "xmppcore/common.h"
#include "xmppcore/stanza.h"
#include "xmppcore/parser.h"
#include "xmppcore/jid.h"
#include "xmppcore/hooks.h"
#include "xmppcore/auth.h"
#include "xmppcore/store.h"
#include "xmppcore/tls.h"
#include "xmppcore/sasl.h"
#include "xmppcore/server.h"
#include "xmppcore/net.h"
#include "xmppcore/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library actually linked ("0.1.0"); compare with
 * XMPPCORE_VERSION from the headers. */
XMPPCORE_API const char *xmppcore_version(void);

#ifdef __cplusplus
}
#endif
#endif

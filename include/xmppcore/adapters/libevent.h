/*
 * libxmppcore — the libevent 2 adapter (library libxmppcore-event,
 * pkg-config libxmppcore-event): runs a server in an event_base the host
 * already runs.
 *
 * Each socket is a persistent `struct event`, the io's timer an evtimer,
 * and wake-ups from other threads (the mailbox) come through an eventfd
 * watched by the base, so the base need not be built with libevent's
 * thread support. Everything else — accepting, reading, writing,
 * shutdown — is the generic xmppcore_io of io.h:
 *
 *     xmppcore_io *io;
 *     xmppcore_event_attach(base, server, &io);
 *     xmppcore_io_listen(io, listener, "127.0.0.1", 5222);
 *     event_base_dispatch(base);
 *
 * While attached, the adapter's events keep the base running. To stop:
 * xmppcore_io_shutdown(io, -1, done, ud), and in `done` (or any time
 * after) xmppcore_io_free(io), which frees every event of the adapter at
 * once. Free the io before the server and before event_base_free().
 */
#ifndef XMPPCORE_ADAPTERS_LIBEVENT_H
#define XMPPCORE_ADAPTERS_LIBEVENT_H

#include <event2/event.h>

#include "../io.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Attaches server (borrowed: it must outlive the io) to base (borrowed:
 * it must outlive the io) and returns the io in *out. Call on the base's
 * thread. Returns 0, XMPPCORE_E_INVAL (an argument is NULL),
 * XMPPCORE_E_NOMEM or XMPPCORE_E_IO (no eventfd, or libevent refused an
 * event); on failure *out is NULL.
 */
XMPPCORE_API int xmppcore_event_attach(struct event_base *base,
                                       xmppcore_server *server,
                                       xmppcore_io **out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libxmppcore — the libuv adapter (library libxmppcore-uv, pkg-config
 * libxmppcore-uv): runs a server in a uv_loop_t the host already runs.
 *
 * Each socket is watched with a uv_poll_t, the io's timer is a
 * uv_timer_t, and wake-ups from other threads (the mailbox) arrive
 * through a uv_async_t. Everything else — accepting, reading, writing,
 * shutdown — is the generic xmppcore_io of io.h:
 *
 *     xmppcore_io *io;
 *     xmppcore_uv_attach(uv_default_loop(), server, &io);
 *     xmppcore_io_listen(io, listener, "127.0.0.1", 5222);
 *     uv_run(uv_default_loop(), UV_RUN_DEFAULT);
 *
 * While attached, the adapter's handles keep the loop alive. To stop:
 * xmppcore_io_shutdown(io, -1, done, ud), and in `done` (or any time
 * after) xmppcore_io_free(io), which closes every handle of the adapter;
 * their memory is released by their close callbacks, so the host runs
 * the loop once more before uv_loop_close() (as for any libuv handle).
 * The server may be freed as soon as xmppcore_io_free() has returned.
 */
#ifndef XMPPCORE_ADAPTERS_LIBUV_H
#define XMPPCORE_ADAPTERS_LIBUV_H

#include <uv.h>

#include "../io.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Attaches server (borrowed: it must outlive the io) to loop (borrowed:
 * it must outlive the io's handles) and returns the io in *out. Call on
 * the loop's thread. Returns 0, XMPPCORE_E_INVAL (an argument is NULL),
 * XMPPCORE_E_NOMEM or XMPPCORE_E_IO (libuv could not create the
 * wake-up handle); on failure *out is NULL.
 */
XMPPCORE_API int xmppcore_uv_attach(uv_loop_t *loop, xmppcore_server *server,
                                    xmppcore_io **out);

#ifdef __cplusplus
}
#endif
#endif

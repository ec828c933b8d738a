/*
 * libxmppcore — running a server inside an event loop the host already
 * has (libuv, libevent, GLib, ...).
 *
 * An xmppcore_io does what every loop integration needs: it owns the
 * listening sockets and the accepted ones with their xmppcore_conn, reads
 * and feeds, writes output in one batch per loop event, closes and frees
 * connections outside the library's callbacks, ticks the server before
 * feeding, keeps one timer for the server's timers and the connections'
 * deadlines, drains a mailbox that other threads post into, and shuts
 * down gracefully. It never waits: it tells the loop what to watch
 * through a struct of five hooks (the adapter), and the loop tells it
 * what happened through xmppcore_io_ready(), _timeout() and _wakeup().
 *
 * Adapters for libuv and libevent come with the library, each a small
 * file in its own library (xmppcore/adapters/libuv.h and libevent.h:
 * libxmppcore-uv, libxmppcore-event); any other loop needs only the hooks
 * below. See docs/embedding.md.
 *
 * Threads: an io belongs to the thread that runs its loop, like its
 * server. Other threads hand work over through xmppcore_io_mailbox(),
 * which is thread-safe.
 *
 * Callbacks the io calls (hooks, the shutdown's `done`, functions
 * drained from the mailbox) run on the loop thread. They may call any io
 * and server function allowed outside library callbacks, including
 * xmppcore_io_free() (which then completes when the io's own call
 * returns).
 *
 * Built on Linux (with lib/net).
 */
#ifndef XMPPCORE_IO_H
#define XMPPCORE_IO_H

#include "common.h"
#include "server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xmppcore_io xmppcore_io;

/* Event bits for the `watch` hook and xmppcore_io_ready(). */
enum {
    XMPPCORE_IO_READ = 1,  /* readable, or at end of file */
    XMPPCORE_IO_WRITE = 2, /* writable */
    XMPPCORE_IO_ERROR = 4  /* error or hang-up (xmppcore_io_ready only) */
};

/*
 * What an adapter does for the io. `version` must be
 * XMPPCORE_IO_HOOKS_VERSION; fields are only ever appended. adapter is
 * the pointer given to xmppcore_io_new(). Every hook is required and is
 * called on the loop thread, except `wake`. No hook may call back into
 * the io.
 */
#define XMPPCORE_IO_HOOKS_VERSION 1
typedef struct xmppcore_io_hooks {
    int version;
    /*
     * Watch socket fd for events (XMPPCORE_IO_READ | XMPPCORE_IO_WRITE;
     * 0: nothing for now), level-triggered: call xmppcore_io_ready()
     * while the condition lasts. *handle is NULL the first time an fd is
     * watched; the adapter may keep its per-fd state there (it gets it
     * back in later calls and in `unwatch`). Returns 0, or a negative
     * code leaving *handle as it was (the io then gives the socket up).
     */
    int (*watch)(void *adapter, int fd, int events, void **handle);
    /*
     * Stop watching fd for good and release handle (NULL if `watch`
     * never succeeded for it). The io closes fd right after, so from now
     * on the adapter must not call xmppcore_io_ready() for fd, even for
     * events it has already collected.
     */
    void (*unwatch)(void *adapter, int fd, void *handle);
    /*
     * Call xmppcore_io_timeout() once, ms milliseconds from now (0: as
     * soon as possible), replacing the previous request; ms < 0 cancels.
     */
    void (*set_timer)(void *adapter, int64_t ms);
    /*
     * Make the loop thread call xmppcore_io_wakeup() soon. Called from
     * any thread (whichever posts into the mailbox): must be
     * thread-safe. Wake-ups may be coalesced.
     */
    void (*wake)(void *adapter);
    /*
     * The io is being freed and will make no more calls: release what
     * the adapter owns (its timer, its wake-up). Called once, last.
     */
    void (*cleanup)(void *adapter);
} xmppcore_io_hooks;

/*
 * Creates an io for server (borrowed: it must outlive the io) driven by
 * hooks (copied) with adapter (passed to every hook). Ticks the server.
 * Returns NULL on allocation failure, a bad hooks version or a missing
 * hook. Adapters call this for you (xmppcore_uv_attach(), ...).
 */
XMPPCORE_API xmppcore_io *xmppcore_io_new(xmppcore_server *server,
                                          const xmppcore_io_hooks *hooks,
                                          void *adapter);

/*
 * Frees the io: closes its listening sockets and the sockets of its
 * connections, frees those connections (without a goodbye: use
 * xmppcore_io_shutdown() first for one), drops what is left in the
 * mailbox, unwatches every fd and calls the `cleanup` hook. No thread may
 * post into the mailbox during or after this. Free the io before its
 * server. If called from a callback of this io (the shutdown's `done`, a
 * function drained from the mailbox), the io is freed when the call that
 * ran that callback returns. NULL is a no-op.
 */
XMPPCORE_API void xmppcore_io_free(xmppcore_io *io);

/*
 * Listens on ip (an IPv4 or IPv6 literal; NULL means "::") and port (0:
 * any free port) with SO_REUSEADDR (IPV6_V6ONLY for IPv6) and creates a
 * connection on listener (one of the server's) for every accepted
 * socket. Returns the port bound (> 0), or XMPPCORE_E_INVAL (bad ip or
 * port, listener NULL), XMPPCORE_E_STATE (shutting down), XMPPCORE_E_IO
 * (socket, bind or listen failed: see xmppcore_io_last_error()), or the
 * `watch` hook's error.
 */
XMPPCORE_API int xmppcore_io_listen(xmppcore_io *io,
                                    xmppcore_listener *listener,
                                    const char *ip, int port);

/* For adapters: fd (one the io watches) is ready for events. */
XMPPCORE_API void xmppcore_io_ready(xmppcore_io *io, int fd, int events);

/* For adapters: the timer asked for with `set_timer` is due. */
XMPPCORE_API void xmppcore_io_timeout(xmppcore_io *io);

/* For adapters: a wake-up asked for with `wake` arrived (on the loop
 * thread). Drains the mailbox. Extra calls are harmless. */
XMPPCORE_API void xmppcore_io_wakeup(xmppcore_io *io);

/*
 * The io's mailbox (owned by the io; valid until xmppcore_io_free()):
 * other threads post stanzas and functions into it, the io drains it on
 * the loop thread. See xmppcore_mailbox_post_stanza() in server.h.
 */
XMPPCORE_API xmppcore_mailbox *xmppcore_io_mailbox(xmppcore_io *io);

/* Called when a graceful shutdown is complete. */
typedef void (*xmppcore_io_done_fn)(xmppcore_io *io, void *user_data);

/*
 * Graceful shutdown: closes every listening socket, closes every
 * connection with xmppcore_conn_close(conn, "system-shutdown"), writes
 * their remaining output for up to timeout_ms (negative: 2000), then
 * closes and frees them and calls done(io, user_data) (may be NULL) on
 * the loop thread — always later, never from inside this call. The io
 * stays usable (e.g. to free it from `done`; it may listen again).
 * Loop thread only (another thread posts a function that calls this).
 * Returns 0, or XMPPCORE_E_STATE if a shutdown is already under way
 * (done will not be called for this call).
 */
XMPPCORE_API int xmppcore_io_shutdown(xmppcore_io *io, int timeout_ms,
                                      xmppcore_io_done_fn done,
                                      void *user_data);

/* Number of open connections (those closed but still writing their last
 * bytes included). */
XMPPCORE_API size_t xmppcore_io_conn_count(const xmppcore_io *io);

/* The server given at creation. */
XMPPCORE_API xmppcore_server *xmppcore_io_server(const xmppcore_io *io);

/* A description of the last failed call on this io, "" if none.
 * Borrowed until the next call. */
XMPPCORE_API const char *xmppcore_io_last_error(const xmppcore_io *io);

#ifdef __cplusplus
}
#endif
#endif

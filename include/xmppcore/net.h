/*
 * libxmppcore — an optional event loop (Linux epoll) that drives a server.
 *
 * The library core is sans-IO (server.h); this layer is for hosts that
 * would rather not write a loop. It owns: an epoll instance, TCP
 * listeners that create an xmppcore_conn per accepted socket and move
 * bytes between sockets and connections, the server's timers (it calls
 * xmppcore_server_tick() with CLOCK_MONOTONIC milliseconds), a few timers
 * and file descriptors of the host's own, a thread-safe way to run a
 * function on the loop's thread, and (opt-in) SIGINT/SIGTERM/SIGHUP
 * through a signalfd with a graceful shutdown.
 *
 * Threads: a loop belongs to the thread that runs it, like its server.
 * Only xmppcore_loop_stop(), xmppcore_loop_shutdown(),
 * xmppcore_loop_post() and posting into xmppcore_loop_mailbox() may be
 * called from other threads.
 *
 * Callbacks (fd, timer, posted functions, loop callbacks) run on the
 * loop's thread, from inside xmppcore_loop_run(). They may call any loop
 * function except xmppcore_loop_run() and xmppcore_loop_free(), and any
 * server function allowed outside library callbacks.
 *
 * Built on Linux only (epoll, eventfd, signalfd, accept4).
 */
#ifndef XMPPCORE_NET_H
#define XMPPCORE_NET_H

#include "common.h"
#include "server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xmppcore_loop xmppcore_loop;

/*
 * Loop callbacks; `version` must be XMPPCORE_LOOP_CALLBACKS_VERSION,
 * fields are only appended, any member may be NULL.
 */
#define XMPPCORE_LOOP_CALLBACKS_VERSION 1
typedef struct xmppcore_loop_callbacks {
    int version;
    /* A log line of the loop's own (accept failures, shutdown progress),
     * at a level of server.h's XMPPCORE_LOG_*; msg is borrowed. */
    void (*log)(xmppcore_loop *loop, int level, const char *msg,
                void *user_data);
    /* SIGHUP arrived (with xmppcore_loop_catch_signals()): reopen logs,
     * reload certificates, ... */
    void (*hangup)(xmppcore_loop *loop, void *user_data);
} xmppcore_loop_callbacks;

/*
 * Creates a loop for server (borrowed; it must outlive the loop; NULL
 * for a loop without a server: only fds, timers and posts). cb is copied
 * (NULL: none). The loop ticks the server once at creation.
 * Returns NULL if a system call or an allocation fails, or cb has a bad
 * version.
 */
XMPPCORE_API xmppcore_loop *xmppcore_loop_new(xmppcore_server *server,
                                              const xmppcore_loop_callbacks *cb,
                                              void *user_data);

/*
 * Frees the loop: closes its listeners and the sockets of its
 * connections and frees those connections (without a goodbye: use
 * xmppcore_loop_shutdown() first for one), cancels timers, forgets the
 * host's fds (without closing them), drops functions posted but not run,
 * and with xmppcore_loop_catch_signals() restores the signal mask.
 * Free the loop before its server. Not while xmppcore_loop_run() runs.
 * NULL is a no-op.
 */
XMPPCORE_API void xmppcore_loop_free(xmppcore_loop *loop);

/*
 * Runs the loop until xmppcore_loop_stop() or the end of a graceful
 * shutdown. Returns 0, XMPPCORE_E_STATE if called from inside the loop's
 * own run, or XMPPCORE_E_IO if epoll_wait fails (see
 * xmppcore_loop_last_error()). May be called again after it returns.
 */
XMPPCORE_API int xmppcore_loop_run(xmppcore_loop *loop);

/*
 * Makes xmppcore_loop_run() return after the current iteration, leaving
 * listeners and connections as they are. Thread-safe and async-signal-
 * safe (an atomic flag and an eventfd write). If the loop is not
 * running, the next run returns at once.
 */
XMPPCORE_API void xmppcore_loop_stop(xmppcore_loop *loop);

/*
 * Graceful shutdown: stops accepting (closes every listener), closes
 * every connection with xmppcore_conn_close(conn, "system-shutdown"),
 * writes their remaining output for up to timeout_ms (negative: 2000),
 * then frees them and makes xmppcore_loop_run() return 0. Thread-safe
 * and async-signal-safe; SIGINT and SIGTERM do this with
 * xmppcore_loop_catch_signals().
 */
XMPPCORE_API void xmppcore_loop_shutdown(xmppcore_loop *loop, int timeout_ms);

/*
 * Runs fn(user_data) on the loop's thread, soon, in the order posted.
 * Thread-safe (the way for another thread, e.g. one that derives
 * credentials or talks to a database, to hand back its result). Returns
 * 0, or XMPPCORE_E_NOMEM (fn will not be called). Functions still queued
 * when the loop is freed are dropped without being called: the host
 * frees what they own.
 */
XMPPCORE_API int xmppcore_loop_post(xmppcore_loop *loop,
                                    void (*fn)(void *user_data),
                                    void *user_data);

/*
 * The loop's mailbox (NULL for a loop without a server), drained on the
 * loop's thread after the functions of xmppcore_loop_post(): other
 * threads post stanzas and functions into it with
 * xmppcore_mailbox_post_stanza() / _post_fn() (server.h), as with the
 * adapters of io.h. Owned by the loop; valid until xmppcore_loop_free(),
 * which drops what is still queued.
 */
XMPPCORE_API xmppcore_mailbox *xmppcore_loop_mailbox(xmppcore_loop *loop);

/* A description of the last failed call on this loop, "" if none.
 * Borrowed until the next call. */
XMPPCORE_API const char *xmppcore_loop_last_error(const xmppcore_loop *loop);

/* ---- Listeners ---- */

/*
 * Listens on ip (an IPv4 or IPv6 literal: "127.0.0.1", "::1", "0.0.0.0",
 * "::"; NULL means "::") and port (0: any free port) with SO_REUSEADDR
 * (and IPV6_V6ONLY for IPv6, so "::" and "0.0.0.0" can both be used),
 * a backlog of 1024, and creates a connection on listener for every
 * accepted socket. Requires a loop with a server, whose listener it is.
 * Returns the port bound (> 0), or XMPPCORE_E_INVAL (bad ip or port, no
 * server) or XMPPCORE_E_IO (socket, bind or listen failed: see
 * xmppcore_loop_last_error(), e.g. "address already in use").
 */
XMPPCORE_API int xmppcore_loop_listen(xmppcore_loop *loop,
                                      xmppcore_listener *listener,
                                      const char *ip, int port);

/* Number of open connections on the loop (those closed but still
 * writing their last bytes included). */
XMPPCORE_API size_t xmppcore_loop_conn_count(const xmppcore_loop *loop);

/* ---- The host's own file descriptors ---- */

/* Event bits for xmppcore_loop_add_fd() and for the callbacks. */
enum {
    XMPPCORE_LOOP_READ = 1,  /* readable (or at end of file) */
    XMPPCORE_LOOP_WRITE = 2, /* writable */
    XMPPCORE_LOOP_ERROR = 4  /* error or hang-up (callback only; always
                                reported, whatever was asked for) */
};

/*
 * Called when fd is ready; events holds the XMPPCORE_LOOP_* bits that
 * happened. Level-triggered: called again while the condition lasts.
 * The callback may delete or modify any watched fd, including its own.
 */
typedef void (*xmppcore_loop_fd_fn)(xmppcore_loop *loop, int fd, int events,
                                    void *user_data);

/*
 * Watches fd (which the host keeps owning, and should make non-blocking)
 * for events (XMPPCORE_LOOP_READ | XMPPCORE_LOOP_WRITE, or 0 to only hear
 * of errors). Returns 0, XMPPCORE_E_EXISTS (fd already watched),
 * XMPPCORE_E_INVAL (fd < 0, bad events or a NULL cb), XMPPCORE_E_NOMEM or
 * XMPPCORE_E_IO (epoll refused the fd, e.g. a regular file).
 */
XMPPCORE_API int xmppcore_loop_add_fd(xmppcore_loop *loop, int fd, int events,
                                      xmppcore_loop_fd_fn cb, void *user_data);

/* Changes the events watched on fd. 0, XMPPCORE_E_NOTFOUND (not one of
 * the host's fds), XMPPCORE_E_INVAL or XMPPCORE_E_IO. */
XMPPCORE_API int xmppcore_loop_mod_fd(xmppcore_loop *loop, int fd, int events);

/* Stops watching fd (do this before closing it). No more callbacks for
 * it, even for events already collected. 0 or XMPPCORE_E_NOTFOUND. */
XMPPCORE_API int xmppcore_loop_del_fd(xmppcore_loop *loop, int fd);

/* ---- Timers ---- */

/* Called when timer id is due. For a repeating timer, id stays valid;
 * the callback may cancel any timer, its own included. */
typedef void (*xmppcore_loop_timer_fn)(xmppcore_loop *loop, uint64_t id,
                                       void *user_data);

/*
 * Calls cb after ms milliseconds (0: on the next iteration), and then
 * every ms milliseconds if repeat is non-zero (ms must then be > 0).
 * Timers due at the same time run in the order they were added. Meant
 * for a handful of host timers (cancel is linear in their number).
 * Returns the timer's id (> 0; ids are never reused) through *id and 0,
 * or XMPPCORE_E_INVAL (ms < 0, repeat with ms 0, cb NULL) or
 * XMPPCORE_E_NOMEM. id may be NULL.
 */
XMPPCORE_API int xmppcore_loop_add_timer(xmppcore_loop *loop, int64_t ms,
                                         int repeat, xmppcore_loop_timer_fn cb,
                                         void *user_data, uint64_t *id);

/* Cancels timer id. 0, or XMPPCORE_E_NOTFOUND (no such timer, or a
 * one-shot timer that already ran). */
XMPPCORE_API int xmppcore_loop_cancel_timer(xmppcore_loop *loop, uint64_t id);

/* The loop's clock: CLOCK_MONOTONIC in milliseconds, as read at the
 * start of the current iteration (the value given to the server). */
XMPPCORE_API int64_t xmppcore_loop_now(const xmppcore_loop *loop);

/* ---- Signals ---- */

/*
 * Takes over SIGINT, SIGTERM and SIGHUP for this loop: blocks them in
 * the calling thread (threads created afterwards inherit the mask, so
 * call this before creating any) and reads them from a signalfd.
 * SIGINT/SIGTERM start xmppcore_loop_shutdown(loop, -1); SIGHUP calls the
 * `hangup` callback. Also sets SIGPIPE to be ignored (the loop itself
 * sends with MSG_NOSIGNAL). One loop per process should do this.
 * Returns 0, XMPPCORE_E_EXISTS (already done on this loop) or
 * XMPPCORE_E_IO.
 */
XMPPCORE_API int xmppcore_loop_catch_signals(xmppcore_loop *loop);

#ifdef __cplusplus
}
#endif
#endif

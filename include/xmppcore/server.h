/*
 * libxmppcore — the server, its listeners and connections (sans-IO).
 *
 * A host program creates one xmppcore_server per thread, adds virtual
 * hosts, certificates, a store and listeners, then for every socket it
 * accepts creates an xmppcore_conn on the listener that accepted it. From
 * then on the host
 *
 *   - feeds the bytes it reads:        xmppcore_conn_feed();
 *   - writes the bytes the library has: xmppcore_conn_output() and
 *     xmppcore_conn_consume() (the want_write callback says when there
 *     is something new);
 *   - reports end of input:            xmppcore_conn_eof();
 *   - passes the time:                 xmppcore_server_tick() when
 *     xmppcore_server_next_timeout() says so;
 *   - closes the socket and calls xmppcore_conn_free() after the closed
 *     callback.
 *
 * Nothing here touches a socket, blocks, or reads the clock: the time the
 * library sees is the last value given to xmppcore_server_tick().
 * Output is batched: stanzas routed during one feed or tick are queued and
 * encrypted together when the host asks for output.
 *
 * Threads: a server and everything created from it belong to one thread;
 * the one exception is posting into a mailbox (below).
 */
#ifndef XMPPCORE_SERVER_H
#define XMPPCORE_SERVER_H

#include "common.h"
#include "hooks.h"
#include "stanza.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* xmppcore_server, xmppcore_conn and xmppcore_session are declared in
 * hooks.h (included above). */
typedef struct xmppcore_listener xmppcore_listener;

/* Log levels, as syslog's. */
enum {
    XMPPCORE_LOG_ERROR = 3,
    XMPPCORE_LOG_WARNING = 4,
    XMPPCORE_LOG_NOTICE = 5,
    XMPPCORE_LOG_INFO = 6,
    XMPPCORE_LOG_DEBUG = 7
};

/*
 * Server callbacks; `version` must be XMPPCORE_SERVER_CALLBACKS_VERSION,
 * fields are only appended, any member may be NULL. They must not free
 * the server.
 */
#define XMPPCORE_SERVER_CALLBACKS_VERSION 1
typedef struct xmppcore_server_callbacks {
    int version;
    /* The earliest timer changed: ask xmppcore_server_next_timeout()
     * again. Hosts that ask on every loop iteration may leave it NULL. */
    void (*timer_changed)(xmppcore_server *server, void *user_data);
    /* A log line (no newline) at level; msg is borrowed for the call. */
    void (*log)(xmppcore_server *server, int level, const char *msg,
                void *user_data);
} xmppcore_server_callbacks;

/*
 * Creates a server. env and cb are copied (NULL: defaults / none).
 * Returns NULL on allocation failure or a bad struct version. The store
 * defaults to none (every login fails) until xmppcore_server_set_store().
 */
XMPPCORE_API xmppcore_server *xmppcore_server_new(const xmppcore_env *env,
                                                  const xmppcore_server_callbacks *cb,
                                                  void *user_data);

/*
 * Frees the server. Connections still open are closed without a goodbye
 * and freed: the host must not use them afterwards (nor call back into
 * them). NULL is a no-op. Not from inside any library callback.
 */
XMPPCORE_API void xmppcore_server_free(xmppcore_server *server);

/*
 * Adds a virtual host serving domain (enforced as a JID domainpart).
 * Returns 0, XMPPCORE_E_JID, XMPPCORE_E_EXISTS or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_server_add_vhost(xmppcore_server *server,
                                           const char *domain);

/*
 * Sets an option for vhost (NULL: the default for every vhost that does
 * not set its own). Values are strings as in a config file: booleans
 * "true"/"false", numbers in decimal. Unknown names and bad values give
 * XMPPCORE_E_INVAL; an unknown vhost XMPPCORE_E_NOTFOUND. Options:
 *
 *   auth.plain_without_tls   allow SASL PLAIN on unencrypted streams
 *                            (false)
 *   auth.anonymous           offer SASL ANONYMOUS (false)
 *   auth.scram_sha1          offer SCRAM-SHA-1(-PLUS) (true)
 *   auth.iterations          PBKDF2 iterations for new passwords (4096)
 *   c2s.max_stanza_bytes     largest stanza accepted (262144)
 *   c2s.idle_timeout         seconds without input before a connection
 *                            is closed with connection-timeout (600;
 *                            0: never)
 *   c2s.keepalive            seconds of silence after which the server
 *                            sends a whitespace keepalive (60; 0: never)
 *   c2s.auth_timeout         seconds allowed to authenticate (60)
 *   c2s.max_sessions         resources per account (10)
 *
 * Must be called before connections exist to take effect for all.
 */
XMPPCORE_API int xmppcore_server_set_option(xmppcore_server *server,
                                            const char *vhost, const char *name,
                                            const char *value);

/*
 * Adds a certificate chain and its private key from PEM files (one file
 * may hold both: pass it twice). The certificate is served to clients
 * whose SNI matches one of its names, or by default when it is the first.
 * Returns 0, XMPPCORE_E_IO (unreadable file), XMPPCORE_E_INVAL (bad PEM,
 * key does not match the certificate) or XMPPCORE_E_NOMEM;
 * xmppcore_server_last_error() then says why.
 */
XMPPCORE_API int xmppcore_server_add_cert_file(xmppcore_server *server,
                                               const char *chain_path,
                                               const char *key_path);

/* The same from PEM text in memory. */
XMPPCORE_API int xmppcore_server_add_cert_pem(xmppcore_server *server,
                                              const char *chain_pem,
                                              const char *key_pem);

/*
 * Log lines above level (XMPPCORE_LOG_ERROR ... XMPPCORE_LOG_DEBUG) are not
 * produced at all, so hosts do not pay for formatting what they would
 * drop. Default: XMPPCORE_LOG_DEBUG (everything goes to the log callback).
 */
XMPPCORE_API void xmppcore_server_set_log_level(xmppcore_server *server,
                                               int level);

/* A description of the last configuration error, "" if none. Borrowed. */
XMPPCORE_API const char *xmppcore_server_last_error(const xmppcore_server *server);

/*
 * Uses store for accounts (and later everything else). Borrowed: the store
 * must outlive the server. NULL removes it.
 */
XMPPCORE_API void xmppcore_server_set_store(xmppcore_server *server,
                                            xmppcore_store *store);

/* The server's hook and IQ registry (borrowed, lives as long as server). */
XMPPCORE_API xmppcore_hooks *xmppcore_server_hooks(xmppcore_server *server);

/* ---- Time ---- */

/*
 * Milliseconds from the time of the last tick until the next timer is
 * due (0: due now), or -1 if no timer is pending.
 */
XMPPCORE_API int64_t xmppcore_server_next_timeout(const xmppcore_server *server);

/*
 * Passes the time: now_ms is a monotonic clock in milliseconds (any
 * origin, never going back). Runs every timer due by then. The library's
 * notion of "now" (for idle timeouts, keepalives, new connections) is the
 * last value given here, so a host should tick whenever its loop wakes,
 * before feeding: it is cheap when nothing is due. Not from inside a
 * library callback.
 */
XMPPCORE_API void xmppcore_server_tick(xmppcore_server *server, int64_t now_ms);

/* ---- Listeners ---- */

enum {
    /* Client-to-server, plaintext start with STARTTLS (RFC 6120). */
    XMPPCORE_LISTEN_C2S = 1,
    /* Client-to-server over direct TLS (XEP-0368). */
    XMPPCORE_LISTEN_C2S_TLS = 2
};

/*
 * A listener's settings (not a socket: the host owns sockets). name is
 * for logs. Returns the listener, owned by the server, or NULL on
 * allocation failure / bad kind. Options, set with
 * xmppcore_listener_set_option():
 *
 *   starttls            offer STARTTLS (true; C2S only)
 *   starttls_required   refuse to authenticate before TLS (true)
 */
XMPPCORE_API xmppcore_listener *xmppcore_server_add_listener(xmppcore_server *server,
                                                             const char *name,
                                                             int kind);

/* Sets a listener option. 0 or XMPPCORE_E_INVAL. */
XMPPCORE_API int xmppcore_listener_set_option(xmppcore_listener *listener,
                                              const char *name,
                                              const char *value);

/* ---- Connections ---- */

/*
 * Connection callbacks; `version` must be XMPPCORE_CONN_CALLBACKS_VERSION.
 * They are called from inside feed/tick/consume calls; they must not free
 * the connection (free it after `closed`, outside the callback).
 */
#define XMPPCORE_CONN_CALLBACKS_VERSION 1
typedef struct xmppcore_conn_callbacks {
    int version;
    /* There is new output: the host should drain it when the socket is
     * writable. Called when the output goes from empty to non-empty. */
    void (*want_write)(xmppcore_conn *conn, void *user_data);
    /* The library is done with the connection: the host writes what
     * output remains (best effort), closes the socket and frees conn.
     * reason is 0 for a clean close or the error that ended the stream.
     * Called exactly once. */
    void (*closed)(xmppcore_conn *conn, int reason, void *user_data);
} xmppcore_conn_callbacks;

/*
 * A connection for a socket accepted on listener. peer is the remote
 * address as text, for logs and ACLs (copied; may be NULL). cb is copied.
 * Returns NULL on allocation failure.
 */
XMPPCORE_API xmppcore_conn *xmppcore_conn_new(xmppcore_listener *listener,
                                              const char *peer,
                                              const xmppcore_conn_callbacks *cb,
                                              void *user_data);

/*
 * Processes len bytes read from the socket. Returns 0, or the fatal code
 * that ended the stream (the stream error is already in the output and
 * `closed` has been called). After `closed`, further input is ignored.
 */
XMPPCORE_API int xmppcore_conn_feed(xmppcore_conn *conn, const void *data,
                                    size_t len);

/*
 * The bytes waiting to be written: returns a pointer to them and their
 * count in *len (0: nothing). Borrowed until the next call on conn. Output
 * and consume stay valid after `closed` until xmppcore_conn_free(), so the
 * host can flush the last bytes (the stream error, </stream:stream>).
 * Neither calls back into the host.
 */
XMPPCORE_API const void *xmppcore_conn_output(xmppcore_conn *conn, size_t *len);

/* Marks the first n bytes of the output as written. */
XMPPCORE_API void xmppcore_conn_consume(xmppcore_conn *conn, size_t n);

/* The peer closed its side (read returned 0) or the socket failed. The
 * session ends and `closed` is called before this returns (unless it was
 * called already). */
XMPPCORE_API void xmppcore_conn_eof(xmppcore_conn *conn);

/*
 * Closes the stream from the server side (e.g. at shutdown: reason
 * "system-shutdown"): sends the stream error if condition is not NULL,
 * then </stream:stream>, and calls `closed`.
 */
XMPPCORE_API void xmppcore_conn_close(xmppcore_conn *conn, const char *condition);

/*
 * Frees the connection. If it had not been closed, it is closed first
 * (without calling `closed`). Not from inside a callback of this
 * connection. NULL is a no-op.
 */
XMPPCORE_API void xmppcore_conn_free(xmppcore_conn *conn);

/* The peer address given at creation, or "". */
XMPPCORE_API const char *xmppcore_conn_peer(const xmppcore_conn *conn);

/*
 * The account authenticated on this connection as a bare JID
 * ("user@domain"), or NULL before SASL succeeded (so it is set when the
 * c2s_authenticated hook runs). Borrowed until the connection is freed.
 */
XMPPCORE_API const char *xmppcore_conn_account(const xmppcore_conn *conn);

/*
 * The full JID bound on this connection, or NULL before resource binding.
 * Borrowed until the connection closes.
 */
XMPPCORE_API const char *xmppcore_conn_jid(const xmppcore_conn *conn);

/* ---- Sessions (the point-specific data of session hooks) ---- */

/* The session's full JID. Borrowed while the session lives. */
XMPPCORE_API const char *xmppcore_session_jid(const xmppcore_session *session);

/* The session's vhost. Borrowed while the session lives. */
XMPPCORE_API const char *xmppcore_session_vhost(const xmppcore_session *session);

/* ---- Sending ---- */

/*
 * Routes a copy of stanza as if sent by its `from` (which must be set and
 * be a JID of one of this server's vhosts, or the vhost itself). For
 * modules and hosts: replies to IQs, bot messages. May be called from a
 * hook or IQ handler. Returns 0, XMPPCORE_E_INVAL (no or bad from/to) or
 * XMPPCORE_E_NOMEM. Delivery errors come back as error stanzas to `from`.
 */
XMPPCORE_API int xmppcore_server_send(xmppcore_server *server,
                                      const xmppcore_stanza *stanza);

/* ---- Accounts (credentials are derived here; passwords never stored) ---- */

/*
 * Completion of an account call: status 0 or a negative code. Called
 * exactly once if the call returned 0, never otherwise (storage rule).
 */
typedef void (*xmppcore_account_fn)(int status, void *user_data);

/*
 * Creates user@vhost with password (both enforced with PRECIS). Derives
 * the SCRAM keys (PBKDF2: milliseconds of CPU) and stores them. Returns 0
 * or XMPPCORE_E_JID (bad username), XMPPCORE_E_INVAL (bad password),
 * XMPPCORE_E_NOTFOUND (no such vhost), XMPPCORE_E_UNSUPPORTED (no store);
 * the callback reports XMPPCORE_E_EXISTS and storage errors.
 */
XMPPCORE_API int xmppcore_account_create(xmppcore_server *server,
                                         const char *vhost, const char *user,
                                         const char *password,
                                         xmppcore_account_fn cb, void *user_data);

/* Changes the password of an existing account (as _create). */
XMPPCORE_API int xmppcore_account_set_password(xmppcore_server *server,
                                               const char *vhost,
                                               const char *user,
                                               const char *password,
                                               xmppcore_account_fn cb,
                                               void *user_data);

/*
 * Deletes the account and closes its sessions (with the stream error
 * not-authorized). As _create; the callback may report
 * XMPPCORE_E_NOTFOUND.
 */
XMPPCORE_API int xmppcore_account_delete(xmppcore_server *server,
                                         const char *vhost, const char *user,
                                         xmppcore_account_fn cb, void *user_data);

/*
 * Calls fn for each session bound on vhost (NULL: all vhosts), with its
 * full JID. Returns the number of sessions. fn must not close sessions.
 */
XMPPCORE_API size_t xmppcore_server_sessions(xmppcore_server *server,
                                             const char *vhost,
                                             void (*fn)(const char *jid,
                                                        void *user_data),
                                             void *user_data);

/* ---- Handing work to the server from other threads ----
 *
 * A mailbox is the one thread-safe door into a server: other threads
 * post stanzas or functions into it, and the loop that owns the server
 * drains it on the server's thread. Posting calls the `wake` function
 * given at creation (on the posting thread) when the mailbox goes from
 * empty to non-empty; the host turns that into a loop event (a
 * uv_async_t, an eventfd, a pipe) whose handler calls
 * xmppcore_mailbox_drain(). The loop adapters of io.h and the built-in
 * loop of net.h each own one (xmppcore_io_mailbox()).
 */
typedef struct xmppcore_mailbox xmppcore_mailbox;

/*
 * Called on the posting thread, after the item is queued, when the
 * mailbox went from empty to non-empty (so at most once per drain).
 * Must be thread-safe and must not call back into the mailbox.
 */
typedef void (*xmppcore_mailbox_wake_fn)(void *user_data);

/*
 * A mailbox for server (borrowed: it must outlive the mailbox). wake may
 * be NULL for a host that drains on every iteration anyway. Returns NULL
 * on allocation failure (or server NULL). Call on the server's thread.
 */
XMPPCORE_API xmppcore_mailbox *xmppcore_mailbox_new(xmppcore_server *server,
                                                    xmppcore_mailbox_wake_fn wake,
                                                    void *user_data);

/*
 * Frees the mailbox on the server's thread. Items still queued are
 * dropped: stanzas are freed, functions are not called (their owners
 * free what they carry). No thread may post during or after this call:
 * join or stop the posting threads first. NULL is a no-op.
 */
XMPPCORE_API void xmppcore_mailbox_free(xmppcore_mailbox *mailbox);

/*
 * Queues a copy of stanza (a root element with 'from' and 'to'; the
 * caller keeps its own). On the server's thread, the drain routes it as
 * xmppcore_server_send() would, as if sent by its 'from'; if the server
 * refuses it (a 'from' not on one of its vhosts) the drain logs a
 * warning through the server's log callback and drops it (an error,
 * saying "out of memory", if an allocation failed). The copy is
 * made with stanza's allocator, which must be usable from the server's
 * thread. Thread-safe. Returns 0, XMPPCORE_E_INVAL (NULL, not a root
 * element, no 'from' or 'to') or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_mailbox_post_stanza(xmppcore_mailbox *mailbox,
                                              const xmppcore_stanza *stanza);

/*
 * Queues fn(user_data), to run on the server's thread during a drain,
 * where it may call any server function allowed outside library
 * callbacks (send, account calls, xmppcore_server_sessions(), ...).
 * Items run in the order posted, stanzas and functions alike.
 * Thread-safe. Returns 0, XMPPCORE_E_INVAL (fn NULL) or XMPPCORE_E_NOMEM
 * (fn will not be called).
 */
XMPPCORE_API int xmppcore_mailbox_post_fn(xmppcore_mailbox *mailbox,
                                          void (*fn)(void *user_data),
                                          void *user_data);

/*
 * Runs, on the server's thread, every item posted before the call (items
 * posted meanwhile wait for the next drain, and wake again). Returns the
 * number of items run. Not from inside a library callback; a function
 * being drained must not drain or free its own mailbox.
 */
XMPPCORE_API size_t xmppcore_mailbox_drain(xmppcore_mailbox *mailbox);

/* Number of items waiting (a snapshot: other threads may be posting).
 * Thread-safe. */
XMPPCORE_API size_t xmppcore_mailbox_pending(xmppcore_mailbox *mailbox);

#ifdef __cplusplus
}
#endif
#endif

/*
 * libxmppcore — hooks and IQ handlers.
 *
 * A hook point is a name ("user_send_packet", "filter_packet", ...).
 * Handlers are registered on a point for one virtual host or for all
 * (vhost NULL), with a priority; running a point for a vhost calls the
 * global and that vhost's handlers merged in priority order (lower first;
 * at equal priority, earlier registration first). Each handler returns:
 *
 *   XMPPCORE_HOOK_CONTINUE  run the next handler;
 *   XMPPCORE_HOOK_STOP      run no more handlers, go on with the stanza;
 *   XMPPCORE_HOOK_DROP      run no more handlers and discard the stanza.
 *
 * A handler may change the stanza in place or replace it.
 *
 * IQ handlers are registered per (namespace of the iq's payload, type
 * get/set), per vhost or global; a vhost's handler hides a global one.
 * The set of registered namespaces is what disco#info advertises.
 *
 * A registry belongs to one thread (one server shard). Handlers may add
 * and remove handlers, also on the point being run; an added handler runs
 * from the next run of that point, a removed one is not called again.
 */
#ifndef XMPPCORE_HOOKS_H
#define XMPPCORE_HOOKS_H

#include "common.h"
#include "stanza.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hook points the library runs. Points are strings, so hosts and modules
 * may define and run their own. */
#define XMPPCORE_HOOK_USER_SEND_PACKET "user_send_packet"
#define XMPPCORE_HOOK_FILTER_PACKET "filter_packet"
#define XMPPCORE_HOOK_USER_RECEIVE_PACKET "user_receive_packet"
#define XMPPCORE_HOOK_C2S_AUTHENTICATED "c2s_authenticated"
#define XMPPCORE_HOOK_SESSION_BOUND "session_bound"
#define XMPPCORE_HOOK_SESSION_CLOSED "session_closed"

typedef enum xmppcore_hook_result {
    XMPPCORE_HOOK_CONTINUE = 0,
    XMPPCORE_HOOK_STOP = 1,
    XMPPCORE_HOOK_DROP = 2
} xmppcore_hook_result;

typedef struct xmppcore_hooks xmppcore_hooks;
typedef struct xmppcore_hook_event xmppcore_hook_event;
/* Defined in server.h; named here for the typed event accessors. */
typedef struct xmppcore_session xmppcore_session;
typedef struct xmppcore_conn xmppcore_conn;
typedef struct xmppcore_server xmppcore_server;

typedef xmppcore_hook_result (*xmppcore_hook_fn)(xmppcore_hook_event *event,
                                                 void *user_data);

/* ---- The event a handler sees (valid only during the call) ---- */

/* The point being run. */
XMPPCORE_API const char *xmppcore_hook_event_point(const xmppcore_hook_event *event);

/* The vhost it runs for, or NULL for a global run. */
XMPPCORE_API const char *xmppcore_hook_event_vhost(const xmppcore_hook_event *event);

/* The stanza (may be NULL for points without one). Borrowed. */
XMPPCORE_API xmppcore_stanza *xmppcore_hook_event_stanza(const xmppcore_hook_event *event);

/*
 * Replaces the stanza: the event takes ownership of stanza (a root) and
 * frees the previous one, which the handler must no longer use. Returns 0,
 * or XMPPCORE_E_INVAL if stanza is not a root.
 */
XMPPCORE_API int xmppcore_hook_event_set_stanza(xmppcore_hook_event *event,
                                                xmppcore_stanza *stanza);

/*
 * Point-specific data, typed: the library's points carry
 *   user_send_packet, user_receive_packet,
 *   session_bound, session_closed        the session   (_session)
 *   c2s_authenticated                    the connection (_conn)
 *   filter_packet, IQ handlers           the server    (_server)
 * Each accessor returns NULL when the event carries something else (or
 * comes from a host's own xmppcore_hooks_run()). Borrowed for the call.
 */
XMPPCORE_API xmppcore_session *xmppcore_hook_event_session(const xmppcore_hook_event *event);
XMPPCORE_API xmppcore_conn *xmppcore_hook_event_conn(const xmppcore_hook_event *event);
XMPPCORE_API xmppcore_server *xmppcore_hook_event_server(const xmppcore_hook_event *event);

/*
 * The data pointer as passed to xmppcore_hooks_run() or
 * xmppcore_iq_dispatch(), untyped (for a host's own points).
 */
XMPPCORE_API void *xmppcore_hook_event_data(const xmppcore_hook_event *event);

/* ---- Registry ---- */

/* A new, empty registry. mem may be NULL. NULL on allocation failure. */
XMPPCORE_API xmppcore_hooks *xmppcore_hooks_new(const xmppcore_mem *mem);

/* Frees the registry. NULL is a no-op. Not from inside a handler. */
XMPPCORE_API void xmppcore_hooks_free(xmppcore_hooks *hooks);

/*
 * Registers fn (with user_data) on point for vhost (NULL: every vhost).
 * The same (point, vhost, fn, user_data) twice gives XMPPCORE_E_EXISTS.
 * Returns 0, XMPPCORE_E_INVAL or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_hooks_add(xmppcore_hooks *hooks, const char *point,
                                    const char *vhost, int priority,
                                    xmppcore_hook_fn fn, void *user_data);

/*
 * Removes the registration made with the same (point, vhost, fn,
 * user_data). Returns 0 or XMPPCORE_E_NOTFOUND.
 */
XMPPCORE_API int xmppcore_hooks_remove(xmppcore_hooks *hooks, const char *point,
                                       const char *vhost, xmppcore_hook_fn fn,
                                       void *user_data);

/*
 * Runs point for vhost (NULL: global handlers only). *stanza (may point to
 * NULL) is passed to the handlers and receives the stanza they leave,
 * which the caller owns as before. On XMPPCORE_HOOK_DROP the stanza is
 * left in *stanza for the caller to free. data is what
 * xmppcore_hook_event_data() returns. Returns the last handler's result
 * (XMPPCORE_HOOK_CONTINUE if none ran).
 */
XMPPCORE_API xmppcore_hook_result xmppcore_hooks_run(xmppcore_hooks *hooks,
                                                     const char *point,
                                                     const char *vhost,
                                                     xmppcore_stanza **stanza,
                                                     void *data);

/* Number of handlers that a run of point for vhost would call. */
XMPPCORE_API size_t xmppcore_hooks_count(const xmppcore_hooks *hooks,
                                         const char *point, const char *vhost);

/* ---- IQ handlers ---- */

enum { XMPPCORE_IQ_GET = 1, XMPPCORE_IQ_SET = 2 };

/*
 * An IQ handler: called with an event whose stanza is the iq and whose
 * point is "iq". It answers
 * through the server's send calls, and returns XMPPCORE_HOOK_STOP when it
 * handled the iq; XMPPCORE_HOOK_CONTINUE tells the dispatcher's caller the
 * iq is unhandled (answer service-unavailable); XMPPCORE_HOOK_DROP says
 * it could not answer (out of memory, its answer could not be sent): the
 * server answers internal-server-error (type wait), so the client is
 * not left waiting.
 */
typedef xmppcore_hook_fn xmppcore_iq_fn;

/*
 * Registers fn for iqs of type (XMPPCORE_IQ_GET, XMPPCORE_IQ_SET, or both
 * OR-ed) whose payload element is in namespace ns, for vhost (NULL: every
 * vhost). Returns 0, XMPPCORE_E_EXISTS (that slot is taken),
 * XMPPCORE_E_INVAL or XMPPCORE_E_NOMEM.
 */
XMPPCORE_API int xmppcore_iq_handler_add(xmppcore_hooks *hooks, const char *vhost,
                                         const char *ns, int type,
                                         xmppcore_iq_fn fn, void *user_data);

/*
 * Removes the handlers for (vhost, ns) of the types in type (bits as for
 * _add). Returns 0 if at least one was removed, else XMPPCORE_E_NOTFOUND.
 * May be called from a handler, also the one being dispatched.
 */
XMPPCORE_API int xmppcore_iq_handler_remove(xmppcore_hooks *hooks,
                                            const char *vhost, const char *ns,
                                            int type);

/*
 * Dispatches an iq get/set to its handler: the vhost's for (payload ns,
 * type) if any, else the global one. *iq as in xmppcore_hooks_run().
 * Returns the handler's result, or a negative code: XMPPCORE_E_NOTFOUND
 * (no handler: answer service-unavailable), XMPPCORE_E_INVAL (not an iq
 * get/set with exactly one payload element: answer bad-request).
 */
XMPPCORE_API int xmppcore_iq_dispatch(xmppcore_hooks *hooks, const char *vhost,
                                      xmppcore_stanza **iq, void *data);

/*
 * Calls fn (may be NULL: count only) once per distinct namespace with a
 * handler visible on vhost (global and the vhost's; NULL: global only), in
 * registration order; for disco#info. fn must not change the IQ
 * registry. Returns the number of namespaces.
 */
XMPPCORE_API size_t xmppcore_iq_features(const xmppcore_hooks *hooks,
                                         const char *vhost,
                                         void (*fn)(const char *ns, void *user_data),
                                         void *user_data);

#ifdef __cplusplus
}
#endif
#endif

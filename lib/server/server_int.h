/*
 * Internal layout of the server and what hangs off it: virtual hosts,
 * options, listeners, connections, sessions and the session manager's
 * user table. Shared by lib/server, lib/stream, lib/sm, lib/router and
 * lib/modules. Not installed.
 *
 * Ownership: the server owns vhosts, listeners, the user table and every
 * connection still open. A connection owns its parser, TLS session, SASL
 * exchange and output buffers, and its session once bound. A session is
 * kept apart from the connection that carries it (stream management and
 * BOSH will move sessions between transports).
 */
#ifndef XI_SERVER_INT_H
#define XI_SERVER_INT_H

#include "core/core.h"
#include "core/map.h"
#include "core/timer.h"
#include "sasl/sasl.h"
#include "tls/tls.h"
#include "xmppcore/hooks.h"
#include "xmppcore/jid.h"
#include "xmppcore/parser.h"
#include "xmppcore/server.h"
#include "xmppcore/stanza.h"
#include "xmppcore/store.h"

/* Entries of the server's PLAIN verifier cache: 32 bytes each, so 16384
 * is 512 KiB (calloc'ed: pages are touched only as entries fill), enough
 * for every account of a mid-size server to log in again without PBKDF2. */
#define XI_PLAIN_CACHE_ENTRIES 16384

/* Options; per vhost with a server-wide default. */
typedef struct xi_opts {
    bool plain_without_tls;
    bool anonymous;
    bool scram_sha1;
    uint32_t iterations;
    uint32_t max_stanza;
    uint32_t idle_timeout; /* seconds; 0: never */
    uint32_t keepalive;    /* seconds; 0: never */
    uint32_t auth_timeout; /* seconds */
    uint32_t max_sessions;
    uint32_t auth_fail_delay_ms;
    uint32_t set; /* bit per option set explicitly (vhost overrides) */
} xi_opts;

typedef struct xi_vhost {
    char *domain; /* enforced */
    xi_opts opts; /* what was set for this vhost */
    xi_opts eff;  /* in force: opts over the server's defaults */
} xi_vhost;

struct xmppcore_listener {
    xmppcore_server *server;
    struct xmppcore_listener *next;
    char *name;
    int kind;
    bool starttls;
    bool starttls_required;
};

typedef struct xi_user xi_user;

struct xmppcore_session {
    xmppcore_conn *conn; /* transport now carrying it (NULL: detached) */
    xi_user *user;
    xi_vhost *vhost;
    xmppcore_session *next_in_user;
    char *full;     /* "local@domain/resource" */
    const char *resource; /* points into full */
    int priority;
    bool available; /* sent initial presence */
    bool interested; /* asked for the roster (RFC 6121 §1.4) */
};

/* The sessions of one account. */
struct xi_user {
    char *bare; /* "local@domain"; the map's key */
    xmppcore_session *sessions;
    size_t nsessions;
};

/* c2s states */
enum {
    XI_C2S_HEADER = 0,   /* waiting for the stream header */
    XI_C2S_NEGOTIATE,    /* features sent, before STARTTLS / SASL */
    XI_C2S_AUTHED,       /* SASL done, waiting for the restart header */
    XI_C2S_BIND,         /* features with bind sent */
    XI_C2S_SESSION,      /* resource bound: stanzas flow */
    XI_C2S_CLOSED
};

struct xmppcore_conn {
    xmppcore_server *server;
    xmppcore_listener *listener;
    xmppcore_conn *prev, *next; /* server's list of open connections */
    xmppcore_conn_callbacks cb;
    void *ud;
    char *peer;
    int state;
    int refs;        /* the host's reference + pending storage calls */
    bool freed;      /* the host called xmppcore_conn_free */
    bool closed;     /* the stream is over; `closed` was (or is) called */
    bool want_write_pending;
    bool header_sent;
    bool tls_active;
    bool restart;    /* the parser must restart after the current element */
    bool waiting;    /* input paused (storage lookup, delayed failure) */
    bool in_feed;
    bool lookup_pending;  /* a credentials lookup is under way */
    bool failure_pending; /* a delayed SASL failure waits for delay_until */
    bool broken; /* output could not be queued: closes at the next tick */
    int64_t delay_until;
    int close_reason;
    xi_vhost *vhost;
    xmppcore_parser *parser;
    xi_tls_session *tls;
    struct xmppcore_buffer out;   /* bytes for the socket */
    struct xmppcore_buffer plain; /* plaintext waiting for TLS */
    struct xmppcore_buffer held;  /* input held while waiting */
    xi_sasl *sasl;
    unsigned auth_failures;
    char *username; /* after SASL */
    char *account;  /* after SASL: "username@vhost" */
    xmppcore_session *session;
    char stream_id[24];
    xi_timer timer;
    int64_t last_in, last_out, started;
    unsigned char cb_data[XI_TLS_CB_MAX]; /* tls-server-end-point */
    size_t cb_len;
    unsigned char cb_unique[XI_TLS_CB_MAX]; /* tls-unique */
    size_t cb_unique_len;
};

struct xmppcore_server {
    xmppcore_env env;
    const xmppcore_mem *mem;
    xmppcore_server_callbacks cb;
    void *ud;
    xmppcore_hooks *hooks;
    xmppcore_store *store;
    xi_vhost **vhosts;
    size_t nvhosts;
    xi_map vhost_map;
    xi_opts defaults;
    xi_tls_config *tls;
    bool tls_has_cert;
    xi_sasl_cache *plain_cache; /* XI_PLAIN_CACHE_ENTRIES */
    /* When the host gave no RNG, env.rng draws from this buffered
     * generator (owned); seed_env keeps the unbuffered source for what
     * may outlive the server (the reference-counted TLS config). */
    struct xi_rng *rng;
    xmppcore_env seed_env;
    unsigned char sasl_secret[32];
    xmppcore_listener *listeners;
    xmppcore_conn *conns;
    size_t nconns;
    xi_timers timers;
    int64_t now;
    bool ticked;
    xi_map users; /* bare JID -> xi_user */
    size_t nsessions;
    char last_error[256];
    int log_level; /* lines above it are not formatted */
};

/* ---- server.c ---- */
void xi_log(xmppcore_server *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
xi_vhost *xi_vhost_find(const xmppcore_server *s, const char *domain);
const xi_opts *xi_vhost_opts(const xmppcore_server *s, const xi_vhost *v);
void xi_server_timers_changed(xmppcore_server *s);
/* xmppcore_server_send() of a stanza the caller hands over (consumed,
 * also on failure). */
int xi_server_send_owned(xmppcore_server *s, xmppcore_stanza *stanza);

/* ---- stream/c2s.c ---- */
/* Serializes stanza into conn's output (jabber:client content). */
int xi_conn_send_stanza(xmppcore_conn *c, const xmppcore_stanza *stanza);
/* Closes with a stream error (condition NULL: clean close). */
void xi_conn_close(xmppcore_conn *c, const char *condition, const char *text,
                   int reason);

/* ---- router/router.c ---- */
/*
 * Routes stanza (owned: consumed in every case) from an entity of this
 * server. Runs filter_packet, then delivers locally or bounces. Returns
 * 0, or XMPPCORE_E_NOMEM when the stanza went nowhere for lack of memory
 * (no bounce was possible either), so a caller owing an answer can say
 * so.
 */
int xi_route(xmppcore_server *s, xmppcore_stanza *stanza);
/* The same when the caller has parsed 'to' already (borrowed). */
int xi_route_to(xmppcore_server *s, xmppcore_stanza *stanza,
                const xmppcore_jid *to);
/*
 * Answers stanza (borrowed) with an error of type/condition back to its
 * sender, unless it is itself an error (RFC 6120 §8.3.1).
 */
void xi_bounce(xmppcore_server *s, const xmppcore_stanza *stanza,
               const char *type, const char *condition);
/* A reply skeleton: name, id, from=stanza's to, to=stanza's from. */
xmppcore_stanza *xi_reply(const xmppcore_stanza *stanza, const char *type);

/* ---- sm/sm.c ---- */
/* Binds a session for conn's user with resource (NULL: generated).
 * 0, XMPPCORE_E_JID (bad resource), XMPPCORE_E_RANGE (too many) or
 * XMPPCORE_E_NOMEM. */
int xi_sm_bind(xmppcore_server *s, xmppcore_conn *c, const char *resource,
               xmppcore_session **out);
/* Removes the session (and broadcasts unavailable if it was available). */
void xi_sm_unbind(xmppcore_server *s, xmppcore_session *sess);
/* Delivers stanza (owned) to the local JID `to` on vhost. */
void xi_sm_deliver(xmppcore_server *s, xi_vhost *v, const xmppcore_jid *to,
                   xmppcore_stanza *stanza);
/* Presence sent by a session without 'to' (RFC 6121 §4.2, §4.4, §4.5). */
void xi_sm_presence_broadcast(xmppcore_server *s, xmppcore_session *sess,
                              xmppcore_stanza *presence);
xi_user *xi_sm_user(const xmppcore_server *s, const char *bare);
void xi_sm_free_all(xmppcore_server *s);

/* ---- modules ---- */
int xi_modules_register(xmppcore_server *s);

#endif

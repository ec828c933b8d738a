"""cffi build script for the xmppcore package (API mode, out of line).

Writes the C source of the extension module ``xmppcore._xmppcore``; meson
compiles and links it against libxmppcore (see meson.build). Run as

    python3 build_ffi.py OUTPUT.c

The cdef below declares the part of the public C API (include/xmppcore.h)
that the package uses. In API mode cffi checks it against the real headers
when the generated C is compiled, so a mismatch is a build error, not a
crash. Callbacks are ``extern "Python"`` functions: C gets plain function
pointers, and ``user_data`` carries an ``ffi.new_handle()`` of the Python
object concerned.
"""
import sys

import cffi

CDEF = r"""
/* common.h */
enum {
    XMPPCORE_OK = 0,
    XMPPCORE_E_INVAL = -1, XMPPCORE_E_NOMEM = -2, XMPPCORE_E_NOTFOUND = -3,
    XMPPCORE_E_EXISTS = -4, XMPPCORE_E_RANGE = -5, XMPPCORE_E_STATE = -6,
    XMPPCORE_E_JID = -7, XMPPCORE_E_AGAIN = -8, XMPPCORE_E_UNSUPPORTED = -9,
    XMPPCORE_E_IO = -10, XMPPCORE_E_AUTH = -11,
    XMPPCORE_E_FATAL = -100, XMPPCORE_E_XML = -101,
    XMPPCORE_E_RESTRICTED_XML = -102, XMPPCORE_E_POLICY = -103,
    XMPPCORE_E_BAD_PREFIX = -104, XMPPCORE_E_INVALID_NAMESPACE = -105,
    XMPPCORE_E_ENCODING = -106, XMPPCORE_E_INVALID_XML = -107,
    XMPPCORE_E_STREAM_CLOSED = -108, XMPPCORE_E_INTERNAL = -109,
    XMPPCORE_E_TLS = -110
};
const char *xmppcore_strerror(int code);
int xmppcore_is_fatal(int code);
const char *xmppcore_stream_condition(int code);
int xmppcore_init(void);
const char *xmppcore_version(void);
typedef int (*xmppcore_rng_fn)(void *buf, size_t len, void *user_data);
typedef struct xmppcore_env xmppcore_env; /* opaque here: always NULL */

/* stanza.h */
typedef struct xmppcore_stanza xmppcore_stanza;
typedef struct xmppcore_buffer xmppcore_buffer;
typedef struct xmppcore_mem xmppcore_mem;
xmppcore_stanza *xmppcore_stanza_new(const xmppcore_mem *mem, const char *name,
                                     const char *ns);
int xmppcore_stanza_parse(const xmppcore_mem *mem, const char *buf, size_t len,
                          xmppcore_stanza **out);
void xmppcore_stanza_free(xmppcore_stanza *stanza);
xmppcore_stanza *xmppcore_stanza_copy(const xmppcore_stanza *node);
int xmppcore_stanza_is_text(const xmppcore_stanza *node);
const char *xmppcore_stanza_name(const xmppcore_stanza *node);
const char *xmppcore_stanza_ns(const xmppcore_stanza *node);
const char *xmppcore_stanza_attr_ns(const xmppcore_stanza *node,
                                    const char *ns, const char *name);
size_t xmppcore_stanza_attr_count(const xmppcore_stanza *node);
int xmppcore_stanza_attr_at(const xmppcore_stanza *node, size_t index,
                            const char **ns, const char **name,
                            const char **value);
xmppcore_stanza *xmppcore_stanza_parent(const xmppcore_stanza *node);
xmppcore_stanza *xmppcore_stanza_first(const xmppcore_stanza *node);
xmppcore_stanza *xmppcore_stanza_next(const xmppcore_stanza *node);
xmppcore_stanza *xmppcore_stanza_child(const xmppcore_stanza *node,
                                       const char *name, const char *ns);
xmppcore_stanza *xmppcore_stanza_next_match(const xmppcore_stanza *node,
                                            const char *name, const char *ns);
const char *xmppcore_stanza_text(const xmppcore_stanza *node);
int xmppcore_stanza_equal(const xmppcore_stanza *a, const xmppcore_stanza *b);
int xmppcore_stanza_set_attr_ns(xmppcore_stanza *node, const char *ns,
                                const char *name, const char *value);
xmppcore_stanza *xmppcore_stanza_add_child(xmppcore_stanza *node,
                                           const char *name, const char *ns);
int xmppcore_stanza_add_text(xmppcore_stanza *node, const char *text,
                             size_t len);
int xmppcore_stanza_set_text(xmppcore_stanza *node, const char *text);
xmppcore_stanza *xmppcore_stanza_add_copy(xmppcore_stanza *node,
                                          const xmppcore_stanza *src);
int xmppcore_stanza_remove(xmppcore_stanza *node);
int xmppcore_stanza_set_name(xmppcore_stanza *node, const char *name);
xmppcore_stanza *xmppcore_stanza_reply(const xmppcore_stanza *stanza,
                                       const char *type);
xmppcore_stanza *xmppcore_stanza_error_reply(const xmppcore_stanza *stanza,
                                             const char *error_type,
                                             const char *condition);
int xmppcore_stanza_serialize(const xmppcore_stanza *node,
                              const char *outer_ns, xmppcore_buffer *buf);
xmppcore_buffer *xmppcore_buffer_new(const xmppcore_mem *mem);
void xmppcore_buffer_free(xmppcore_buffer *buf);
const char *xmppcore_buffer_data(const xmppcore_buffer *buf);
size_t xmppcore_buffer_len(const xmppcore_buffer *buf);

/* jid.h */
typedef struct xmppcore_jid xmppcore_jid;
int xmppcore_jid_parse(const xmppcore_mem *mem, const char *str, size_t len,
                       xmppcore_jid **out);
void xmppcore_jid_free(xmppcore_jid *jid);
const char *xmppcore_jid_local(const xmppcore_jid *jid);
const char *xmppcore_jid_domain(const xmppcore_jid *jid);
const char *xmppcore_jid_resource(const xmppcore_jid *jid);
const char *xmppcore_jid_str(const xmppcore_jid *jid);
const char *xmppcore_jid_bare_str(const xmppcore_jid *jid);

/* hooks.h */
typedef enum xmppcore_hook_result {
    XMPPCORE_HOOK_CONTINUE = 0, XMPPCORE_HOOK_STOP = 1, XMPPCORE_HOOK_DROP = 2
} xmppcore_hook_result;
typedef struct xmppcore_hooks xmppcore_hooks;
typedef struct xmppcore_hook_event xmppcore_hook_event;
typedef xmppcore_hook_result (*xmppcore_hook_fn)(xmppcore_hook_event *event,
                                                 void *user_data);
const char *xmppcore_hook_event_point(const xmppcore_hook_event *event);
const char *xmppcore_hook_event_vhost(const xmppcore_hook_event *event);
xmppcore_stanza *xmppcore_hook_event_stanza(const xmppcore_hook_event *event);
int xmppcore_hook_event_set_stanza(xmppcore_hook_event *event,
                                   xmppcore_stanza *stanza);
void *xmppcore_hook_event_data(const xmppcore_hook_event *event);
int xmppcore_hooks_add(xmppcore_hooks *hooks, const char *point,
                       const char *vhost, int priority, xmppcore_hook_fn fn,
                       void *user_data);
int xmppcore_hooks_remove(xmppcore_hooks *hooks, const char *point,
                          const char *vhost, xmppcore_hook_fn fn,
                          void *user_data);
enum { XMPPCORE_IQ_GET = 1, XMPPCORE_IQ_SET = 2 };
int xmppcore_iq_handler_add(xmppcore_hooks *hooks, const char *vhost,
                            const char *ns, int type, xmppcore_hook_fn fn,
                            void *user_data);
int xmppcore_iq_handler_remove(xmppcore_hooks *hooks, const char *vhost,
                               const char *ns, int type);

/* auth.h, sasl.h */
typedef struct xmppcore_scram_keys {
    uint32_t iterations;
    uint32_t salt_len;
    unsigned char salt[64];
    unsigned char stored_key[32];
    unsigned char server_key[32];
} xmppcore_scram_keys;
typedef struct xmppcore_credentials {
    xmppcore_scram_keys sha1;
    xmppcore_scram_keys sha256;
} xmppcore_credentials;
int xmppcore_credentials_derive(const char *password, size_t len,
                                uint32_t iterations, xmppcore_rng_fn rng,
                                void *rng_user_data, xmppcore_credentials *out);
int xmppcore_credentials_check_password(const xmppcore_credentials *c,
                                        const char *password, size_t len);

/* store.h */
typedef struct xmppcore_store xmppcore_store;
typedef void (*xmppcore_store_done_fn)(int status, void *user_data);
typedef void (*xmppcore_store_creds_fn)(int status,
                                        const xmppcore_credentials *creds,
                                        void *user_data);
typedef void (*xmppcore_store_count_fn)(int status, uint64_t count,
                                        void *user_data);
typedef void (*xmppcore_store_users_fn)(int status, const char *const *users,
                                        size_t n, void *user_data);
typedef struct xmppcore_store_account {
    const char *username;
    const xmppcore_credentials *creds;
} xmppcore_store_account;
#define XMPPCORE_STORE_AUTH_VERSION 1
typedef struct xmppcore_store_auth_vtable {
    int version;
    int (*get)(void *backend, const char *vhost, const char *username,
               xmppcore_store_creds_fn cb, void *user_data);
    int (*create)(void *backend, const char *vhost, const char *username,
                  const xmppcore_credentials *creds,
                  xmppcore_store_done_fn cb, void *user_data);
    int (*set)(void *backend, const char *vhost, const char *username,
               const xmppcore_credentials *creds, xmppcore_store_done_fn cb,
               void *user_data);
    int (*remove)(void *backend, const char *vhost, const char *username,
                  xmppcore_store_done_fn cb, void *user_data);
    int (*exists)(void *backend, const char *vhost, const char *username,
                  xmppcore_store_done_fn cb, void *user_data);
    int (*list)(void *backend, const char *vhost, const char *after,
                size_t limit, xmppcore_store_users_fn cb, void *user_data);
    int (*count)(void *backend, const char *vhost, xmppcore_store_count_fn cb,
                 void *user_data);
    int (*create_many)(void *backend, const char *vhost,
                       const xmppcore_store_account *accounts, size_t n,
                       xmppcore_store_done_fn cb, void *user_data);
} xmppcore_store_auth_vtable;
xmppcore_store *xmppcore_store_new(const xmppcore_mem *mem);
void xmppcore_store_free(xmppcore_store *store);
int xmppcore_store_set_auth(xmppcore_store *store,
                            const xmppcore_store_auth_vtable *vtable,
                            void *backend);
xmppcore_store *xmppcore_store_memory_new(const xmppcore_mem *mem);
typedef struct xmppcore_store_sqlite_options xmppcore_store_sqlite_options;
int xmppcore_store_sqlite_open(const char *path,
                               const xmppcore_store_sqlite_options *opts,
                               const xmppcore_mem *mem, xmppcore_store **out);

/* tls.h */
int xmppcore_tls_generate_self_signed_pem(
    const xmppcore_env *env, const char *domain, const char *const *alt_names,
    size_t n_alt, unsigned days, xmppcore_buffer *key_pem,
    xmppcore_buffer *cert_pem);

/* server.h */
typedef struct xmppcore_server xmppcore_server;
typedef struct xmppcore_listener xmppcore_listener;
typedef struct xmppcore_conn xmppcore_conn;
typedef struct xmppcore_session xmppcore_session;
#define XMPPCORE_SERVER_CALLBACKS_VERSION 1
typedef struct xmppcore_server_callbacks {
    int version;
    void (*timer_changed)(xmppcore_server *server, void *user_data);
    void (*log)(xmppcore_server *server, int level, const char *msg,
                void *user_data);
} xmppcore_server_callbacks;
xmppcore_server *xmppcore_server_new(const xmppcore_env *env,
                                     const xmppcore_server_callbacks *cb,
                                     void *user_data);
void xmppcore_server_free(xmppcore_server *server);
int xmppcore_server_add_vhost(xmppcore_server *server, const char *domain);
int xmppcore_server_set_option(xmppcore_server *server, const char *vhost,
                               const char *name, const char *value);
int xmppcore_server_add_cert_file(xmppcore_server *server,
                                  const char *chain_path, const char *key_path);
int xmppcore_server_add_cert_pem(xmppcore_server *server,
                                 const char *chain_pem, const char *key_pem);
const char *xmppcore_server_last_error(const xmppcore_server *server);
void xmppcore_server_set_store(xmppcore_server *server, xmppcore_store *store);
xmppcore_hooks *xmppcore_server_hooks(xmppcore_server *server);
int64_t xmppcore_server_next_timeout(const xmppcore_server *server);
void xmppcore_server_tick(xmppcore_server *server, int64_t now_ms);
enum { XMPPCORE_LISTEN_C2S = 1, XMPPCORE_LISTEN_C2S_TLS = 2 };
xmppcore_listener *xmppcore_server_add_listener(xmppcore_server *server,
                                                const char *name, int kind);
int xmppcore_listener_set_option(xmppcore_listener *listener,
                                 const char *name, const char *value);
#define XMPPCORE_CONN_CALLBACKS_VERSION 1
typedef struct xmppcore_conn_callbacks {
    int version;
    void (*want_write)(xmppcore_conn *conn, void *user_data);
    void (*closed)(xmppcore_conn *conn, int reason, void *user_data);
} xmppcore_conn_callbacks;
xmppcore_conn *xmppcore_conn_new(xmppcore_listener *listener, const char *peer,
                                 const xmppcore_conn_callbacks *cb,
                                 void *user_data);
int xmppcore_conn_feed(xmppcore_conn *conn, const void *data, size_t len);
const void *xmppcore_conn_output(xmppcore_conn *conn, size_t *len);
void xmppcore_conn_consume(xmppcore_conn *conn, size_t n);
void xmppcore_conn_eof(xmppcore_conn *conn);
void xmppcore_conn_close(xmppcore_conn *conn, const char *condition);
void xmppcore_conn_free(xmppcore_conn *conn);
const char *xmppcore_conn_jid(const xmppcore_conn *conn);
const char *xmppcore_session_jid(const xmppcore_session *session);
const char *xmppcore_session_vhost(const xmppcore_session *session);
xmppcore_session *xmppcore_hook_event_session(const xmppcore_hook_event *event);
xmppcore_conn *xmppcore_hook_event_conn(const xmppcore_hook_event *event);
const char *xmppcore_conn_account(const xmppcore_conn *conn);
int xmppcore_server_send(xmppcore_server *server,
                         const xmppcore_stanza *stanza);
typedef void (*xmppcore_account_fn)(int status, void *user_data);
int xmppcore_account_create(xmppcore_server *server, const char *vhost,
                            const char *user, const char *password,
                            xmppcore_account_fn cb, void *user_data);
int xmppcore_account_set_password(xmppcore_server *server, const char *vhost,
                                  const char *user, const char *password,
                                  xmppcore_account_fn cb, void *user_data);
int xmppcore_account_delete(xmppcore_server *server, const char *vhost,
                            const char *user, xmppcore_account_fn cb,
                            void *user_data);
size_t xmppcore_server_sessions(xmppcore_server *server, const char *vhost,
                                void (*fn)(const char *jid, void *user_data),
                                void *user_data);

/* net.h */
typedef struct xmppcore_loop xmppcore_loop;
#define XMPPCORE_LOOP_CALLBACKS_VERSION 1
typedef struct xmppcore_loop_callbacks {
    int version;
    void (*log)(xmppcore_loop *loop, int level, const char *msg,
                void *user_data);
    void (*hangup)(xmppcore_loop *loop, void *user_data);
} xmppcore_loop_callbacks;
xmppcore_loop *xmppcore_loop_new(xmppcore_server *server,
                                 const xmppcore_loop_callbacks *cb,
                                 void *user_data);
void xmppcore_loop_free(xmppcore_loop *loop);
int xmppcore_loop_run(xmppcore_loop *loop);
void xmppcore_loop_stop(xmppcore_loop *loop);
void xmppcore_loop_shutdown(xmppcore_loop *loop, int timeout_ms);
int xmppcore_loop_post(xmppcore_loop *loop, void (*fn)(void *user_data),
                       void *user_data);
const char *xmppcore_loop_last_error(const xmppcore_loop *loop);
int xmppcore_loop_listen(xmppcore_loop *loop, xmppcore_listener *listener,
                         const char *ip, int port);
size_t xmppcore_loop_conn_count(const xmppcore_loop *loop);
int xmppcore_loop_add_timer(xmppcore_loop *loop, int64_t ms, int repeat,
                            void (*cb)(xmppcore_loop *, uint64_t, void *),
                            void *user_data, uint64_t *id);
int xmppcore_loop_cancel_timer(xmppcore_loop *loop, uint64_t id);
int xmppcore_loop_catch_signals(xmppcore_loop *loop);

/* Callbacks into Python (see xmppcore/_core.py). */
extern "Python" void _xc_server_log(xmppcore_server *, int, const char *,
                                    void *);
extern "Python" void _xc_timer_changed(xmppcore_server *, void *);
extern "Python" void _xc_want_write(xmppcore_conn *, void *);
extern "Python" void _xc_closed(xmppcore_conn *, int, void *);
extern "Python" xmppcore_hook_result _xc_hook(xmppcore_hook_event *, void *);
extern "Python" xmppcore_hook_result _xc_iq(xmppcore_hook_event *, void *);
extern "Python" void _xc_account_done(int, void *);
extern "Python" void _xc_session_each(const char *, void *);
extern "Python" void _xc_loop_log(xmppcore_loop *, int, const char *, void *);
extern "Python" void _xc_loop_posted(void *);
extern "Python" void _xc_loop_timer(xmppcore_loop *, uint64_t, void *);
extern "Python" int _xc_auth_get(void *, const char *, const char *,
                                 xmppcore_store_creds_fn, void *);
extern "Python" int _xc_auth_create(void *, const char *, const char *,
                                    const xmppcore_credentials *,
                                    xmppcore_store_done_fn, void *);
extern "Python" int _xc_auth_set(void *, const char *, const char *,
                                 const xmppcore_credentials *,
                                 xmppcore_store_done_fn, void *);
extern "Python" int _xc_auth_remove(void *, const char *, const char *,
                                    xmppcore_store_done_fn, void *);
extern "Python" int _xc_auth_exists(void *, const char *, const char *,
                                    xmppcore_store_done_fn, void *);
extern "Python" int _xc_auth_list(void *, const char *, const char *, size_t,
                                  xmppcore_store_users_fn, void *);
extern "Python" int _xc_auth_count(void *, const char *,
                                   xmppcore_store_count_fn, void *);
extern "Python" int _xc_auth_create_many(void *, const char *,
                                         const xmppcore_store_account *,
                                         size_t, xmppcore_store_done_fn,
                                         void *);
"""


def make_ffi():
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("xmppcore._xmppcore", "#include <xmppcore.h>\n")
    return ffi


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_ffi.py OUTPUT.c")
    make_ffi().emit_c_code(sys.argv[1])

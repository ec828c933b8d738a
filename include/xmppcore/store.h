/*
 * libxmppcore — storage.
 *
 * Storage is split by concern: account credentials now; roster, offline
 * queue, archive, private XML, vCard, pubsub, MUC rooms, blocking and last
 * activity follow the same pattern. Each concern is a vtable
 * (xmppcore_store_<concern>_vtable) that a backend fills; an
 * xmppcore_store bundles one backend per concern, set with
 * xmppcore_store_set_<concern>(), and callers go through the
 * xmppcore_store_<concern>_<verb>() calls, which check the arguments and
 * the vtable's version before calling the backend.
 *
 * Vtables are versioned as SQLite's sqlite3_vfs: the first field is
 * `version`, fields are only ever appended, and a call whose function is
 * beyond the backend's version (or NULL) fails with
 * XMPPCORE_E_UNSUPPORTED. A backend may implement only some concerns.
 *
 * Completion. Every call takes a callback. A backend may call it before
 * returning (SQLite on the loop thread) or later (a worker thread handing
 * the result back to the loop, an asynchronous client); callers never
 * assume which, and must keep user_data alive until the callback. The
 * rule is libuv's: if a call returns an error (a negative code), its
 * callback is never called; if it returns 0, the callback is called
 * exactly once, with the status of the operation. A backend that
 * completes later must call the callback on the thread that owns the
 * store (the one that made the call).
 *
 * Arguments passed in (vhost, usernames, credentials, arrays) are
 * borrowed for the duration of the call only: a backend that completes
 * later copies them. Results passed to callbacks are borrowed until the
 * callback returns or changes the store, whichever comes first. Callbacks
 * may make new store calls (not xmppcore_store_free).
 *
 * Everything is per virtual host: vhost is the domain, as a non-empty
 * string. Usernames are given already normalised (PRECIS, by the JID
 * code); the store treats them as opaque non-empty UTF-8 strings and
 * orders them bytewise. A store belongs to one thread.
 */
#ifndef XMPPCORE_STORE_H
#define XMPPCORE_STORE_H

#include "common.h"
#include "auth.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct xmppcore_store xmppcore_store;

/* ---- Completion callbacks ---- */

/* Status only: 0 or a negative XMPPCORE_E... code. */
typedef void (*xmppcore_store_done_fn)(int status, void *user_data);

/* Credentials: creds is non-NULL exactly when status is 0. */
typedef void (*xmppcore_store_creds_fn)(int status,
                                        const xmppcore_credentials *creds,
                                        void *user_data);

/* A count (0 unless status is 0). */
typedef void (*xmppcore_store_count_fn)(int status, uint64_t count,
                                        void *user_data);

/* A page of usernames in bytewise order (users[0..n), NULL if n == 0). */
typedef void (*xmppcore_store_users_fn)(int status, const char *const *users,
                                        size_t n, void *user_data);

/* ---- Concern: account credentials ---- */

/* One account for xmppcore_store_auth_create_many(). */
typedef struct xmppcore_store_account {
    const char *username;
    const xmppcore_credentials *creds;
} xmppcore_store_account;

/*
 * The backend side of accounts. backend is the pointer given to
 * xmppcore_store_set_auth(). Each function returns 0 (the callback will
 * be called once) or a negative code (it will not). The store has checked
 * the arguments: vhost and username are non-empty, creds is non-NULL with
 * salt_len <= XMPPCORE_SCRAM_SALT_MAX for both hashes, limit and n are at
 * least 1. Statuses given to the callback are listed with each call.
 */
#define XMPPCORE_STORE_AUTH_VERSION 1
typedef struct xmppcore_store_auth_vtable {
    int version; /* XMPPCORE_STORE_AUTH_VERSION the backend was built for */

    /* Status 0 with the credentials, XMPPCORE_E_NOTFOUND, or an error. */
    int (*get)(void *backend, const char *vhost, const char *username,
               xmppcore_store_creds_fn cb, void *user_data);
    /* Creates the account. 0, XMPPCORE_E_EXISTS, or an error. */
    int (*create)(void *backend, const char *vhost, const char *username,
                  const xmppcore_credentials *creds,
                  xmppcore_store_done_fn cb, void *user_data);
    /* Replaces an existing account's credentials (password change).
     * 0, XMPPCORE_E_NOTFOUND, or an error. */
    int (*set)(void *backend, const char *vhost, const char *username,
               const xmppcore_credentials *creds, xmppcore_store_done_fn cb,
               void *user_data);
    /* Deletes the account. 0, XMPPCORE_E_NOTFOUND, or an error. */
    int (*remove)(void *backend, const char *vhost, const char *username,
                  xmppcore_store_done_fn cb, void *user_data);
    /* 0 if the account exists, XMPPCORE_E_NOTFOUND if not, or an error. */
    int (*exists)(void *backend, const char *vhost, const char *username,
                  xmppcore_store_done_fn cb, void *user_data);
    /* Up to limit usernames of vhost greater (bytewise) than after (NULL:
     * from the first), in order; fewer than limit means the end. */
    int (*list)(void *backend, const char *vhost, const char *after,
                size_t limit, xmppcore_store_users_fn cb, void *user_data);
    /* Number of accounts on vhost. */
    int (*count)(void *backend, const char *vhost, xmppcore_store_count_fn cb,
                 void *user_data);
    /* Creates n accounts at once, all or none: XMPPCORE_E_EXISTS (none
     * created) if one exists already or a name repeats in the batch. */
    int (*create_many)(void *backend, const char *vhost,
                       const xmppcore_store_account *accounts, size_t n,
                       xmppcore_store_done_fn cb, void *user_data);
} xmppcore_store_auth_vtable;

/* ---- The store ---- */

/*
 * A store with no backend for any concern (calls give
 * XMPPCORE_E_UNSUPPORTED until one is set). mem may be NULL. NULL on
 * allocation failure.
 */
XMPPCORE_API xmppcore_store *xmppcore_store_new(const xmppcore_mem *mem);

/*
 * Frees the store and the built-in backends it opened (closing the SQLite
 * database). Backends set with _set_<concern> are not freed: their owner
 * frees them after this call. No call may be pending (every callback
 * called). NULL is a no-op. Not from inside a store callback.
 */
XMPPCORE_API void xmppcore_store_free(xmppcore_store *store);

/*
 * Uses vtable with backend for accounts (vtable NULL: none). Both
 * pointers are kept, not copied: they must stay valid until the store is
 * freed or another backend is set. Returns 0, or XMPPCORE_E_INVAL if
 * vtable->version < 1. Not while a call to the concern is pending.
 */
XMPPCORE_API int xmppcore_store_set_auth(xmppcore_store *store,
                                         const xmppcore_store_auth_vtable *vtable,
                                         void *backend);

/*
 * The backend currently used for accounts (either out pointer may be
 * NULL; both NULL if none), e.g. to wrap it in a cache.
 */
XMPPCORE_API void xmppcore_store_get_auth(const xmppcore_store *store,
                                          const xmppcore_store_auth_vtable **vtable,
                                          void **backend);

/*
 * In-memory backend for every concern, for tests and throwaway servers.
 * Completes every call before returning. NULL on allocation failure.
 */
XMPPCORE_API xmppcore_store *xmppcore_store_memory_new(const xmppcore_mem *mem);

/* Options of the SQLite backend. version must be
 * XMPPCORE_STORE_SQLITE_OPTIONS_VERSION; fields are only ever appended. */
#define XMPPCORE_STORE_SQLITE_OPTIONS_VERSION 2
typedef struct xmppcore_store_sqlite_options {
    int version;
    /* How long a call waits for another connection's lock before failing
     * with XMPPCORE_E_IO, in milliseconds (0: the default, 5000). */
    int busy_timeout_ms;
    /* Version 2. Nonzero: hold the database's lock from the first call until
     * the store is freed (SQLite's locking_mode=EXCLUSIVE). Each call then
     * skips the file-lock system calls a shared database needs (three per
     * read), and the WAL index lives in heap memory instead of a -shm
     * file; but no other process can read or write the database
     * meanwhile (it gets "database is locked" after its busy timeout).
     * 0: shared, the default. */
    int exclusive;
} xmppcore_store_sqlite_options;

/*
 * Opens (creating if needed) the SQLite database at path and returns in
 * *out a store whose every concern is backed by it. One database holds
 * all vhosts. The database is put in WAL mode (synchronous=NORMAL) and
 * its schema brought to the current version by applying the missing
 * migration steps, each in its own transaction. Data calls complete
 * before returning, on the calling thread. opts and mem may be NULL.
 *
 * Returns 0, XMPPCORE_E_INVAL (path or out NULL, bad opts version),
 * XMPPCORE_E_NOMEM, XMPPCORE_E_UNSUPPORTED (the database's schema is
 * newer than this library), or XMPPCORE_E_IO (cannot open, not a
 * database, a migration failed: the failed step is rolled back). On
 * failure *out is NULL.
 */
XMPPCORE_API int xmppcore_store_sqlite_open(const char *path,
                                            const xmppcore_store_sqlite_options *opts,
                                            const xmppcore_mem *mem,
                                            xmppcore_store **out);

/* Schema version that xmppcore_store_sqlite_open() migrates to. */
XMPPCORE_API int xmppcore_store_sqlite_schema_version(void);

/* ---- Account calls ----
 *
 * Each returns 0 (cb will be called exactly once, with the status given
 * for the vtable function above) or, without calling cb:
 * XMPPCORE_E_INVAL (an argument is NULL or empty, a salt_len too large,
 * limit or n zero), XMPPCORE_E_UNSUPPORTED (no backend, or one without
 * that function), or another negative code from the backend.
 */

/* The credentials of vhost's user username. */
XMPPCORE_API int xmppcore_store_auth_get(xmppcore_store *store,
                                         const char *vhost,
                                         const char *username,
                                         xmppcore_store_creds_fn cb,
                                         void *user_data);

/* Creates an account (XMPPCORE_E_EXISTS if there is one). */
XMPPCORE_API int xmppcore_store_auth_create(xmppcore_store *store,
                                            const char *vhost,
                                            const char *username,
                                            const xmppcore_credentials *creds,
                                            xmppcore_store_done_fn cb,
                                            void *user_data);

/* Replaces an existing account's credentials (password change). */
XMPPCORE_API int xmppcore_store_auth_set(xmppcore_store *store,
                                         const char *vhost,
                                         const char *username,
                                         const xmppcore_credentials *creds,
                                         xmppcore_store_done_fn cb,
                                         void *user_data);

/* Deletes an account. */
XMPPCORE_API int xmppcore_store_auth_remove(xmppcore_store *store,
                                            const char *vhost,
                                            const char *username,
                                            xmppcore_store_done_fn cb,
                                            void *user_data);

/* Status 0 if the account exists, XMPPCORE_E_NOTFOUND if not. */
XMPPCORE_API int xmppcore_store_auth_exists(xmppcore_store *store,
                                            const char *vhost,
                                            const char *username,
                                            xmppcore_store_done_fn cb,
                                            void *user_data);

/*
 * One page of vhost's usernames after `after` (NULL: from the start), at
 * most limit. To walk all accounts, call again with the last name of the
 * previous page until a page is shorter than limit; accounts created or
 * removed meanwhile may or may not appear.
 */
XMPPCORE_API int xmppcore_store_auth_list(xmppcore_store *store,
                                          const char *vhost, const char *after,
                                          size_t limit,
                                          xmppcore_store_users_fn cb,
                                          void *user_data);

/* Number of accounts on vhost. */
XMPPCORE_API int xmppcore_store_auth_count(xmppcore_store *store,
                                           const char *vhost,
                                           xmppcore_store_count_fn cb,
                                           void *user_data);

/*
 * Creates n accounts in one go (one transaction in SQL), all or none; for
 * imports and provisioning. Status XMPPCORE_E_EXISTS if any exists.
 */
XMPPCORE_API int xmppcore_store_auth_create_many(xmppcore_store *store,
                                                 const char *vhost,
                                                 const xmppcore_store_account *accounts,
                                                 size_t n,
                                                 xmppcore_store_done_fn cb,
                                                 void *user_data);

#ifdef __cplusplus
}
#endif
#endif

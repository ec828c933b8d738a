/*
 * The store object: one backend per concern, and the calls that check
 * arguments and vtable versions before handing a request to a backend.
 * Adding a concern means a vtable in store.h, a pair of fields here, a
 * _set/_get pair and one checked call per vtable function.
 */
#include "store/store_impl.h"

xmppcore_store *xmppcore_store_new(const xmppcore_mem *mem)
{
    mem = xi_mem(mem);
    xmppcore_store *s = xi_calloc(mem, sizeof *s);
    if (s)
        s->mem = mem;
    return s;
}

void xmppcore_store_free(xmppcore_store *store)
{
    if (!store)
        return;
    if (store->owned_free)
        store->owned_free(store->owned);
    xi_free(store->mem, store);
}

int xmppcore_store_set_auth(xmppcore_store *store,
                            const xmppcore_store_auth_vtable *vtable,
                            void *backend)
{
    if (!store || (vtable && vtable->version < 1))
        return XMPPCORE_E_INVAL;
    store->auth = vtable;
    store->auth_backend = vtable ? backend : NULL;
    return 0;
}

void xmppcore_store_get_auth(const xmppcore_store *store,
                             const xmppcore_store_auth_vtable **vtable,
                             void **backend)
{
    if (vtable)
        *vtable = store ? store->auth : NULL;
    if (backend)
        *backend = store ? store->auth_backend : NULL;
}

/* ---- Checked calls ---- */

static int bad_str(const char *s)
{
    return !s || !*s;
}

static int bad_creds(const xmppcore_credentials *c)
{
    return !c || c->sha1.salt_len > XMPPCORE_SCRAM_SALT_MAX ||
           c->sha256.salt_len > XMPPCORE_SCRAM_SALT_MAX;
}

/* The auth vtable if it has function fn (a member) in its version, else
 * NULL. Version 1 holds every function so far; a function appended in
 * version N is checked as `vt->version >= N && vt->fn`. */
#define AUTH_FN(store, fn)                                                     \
    ((store)->auth && (store)->auth->version >= 1 && (store)->auth->fn         \
         ? (store)->auth                                                       \
         : NULL)

int xmppcore_store_auth_get(xmppcore_store *store, const char *vhost,
                            const char *username, xmppcore_store_creds_fn cb,
                            void *user_data)
{
    if (!store || bad_str(vhost) || bad_str(username) || !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, get);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->get(store->auth_backend, vhost, username, cb, user_data);
}

int xmppcore_store_auth_create(xmppcore_store *store, const char *vhost,
                               const char *username,
                               const xmppcore_credentials *creds,
                               xmppcore_store_done_fn cb, void *user_data)
{
    if (!store || bad_str(vhost) || bad_str(username) || bad_creds(creds) ||
        !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, create);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->create(store->auth_backend, vhost, username, creds, cb,
                      user_data);
}

int xmppcore_store_auth_set(xmppcore_store *store, const char *vhost,
                            const char *username,
                            const xmppcore_credentials *creds,
                            xmppcore_store_done_fn cb, void *user_data)
{
    if (!store || bad_str(vhost) || bad_str(username) || bad_creds(creds) ||
        !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, set);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->set(store->auth_backend, vhost, username, creds, cb, user_data);
}

int xmppcore_store_auth_remove(xmppcore_store *store, const char *vhost,
                               const char *username, xmppcore_store_done_fn cb,
                               void *user_data)
{
    if (!store || bad_str(vhost) || bad_str(username) || !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, remove);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->remove(store->auth_backend, vhost, username, cb, user_data);
}

int xmppcore_store_auth_exists(xmppcore_store *store, const char *vhost,
                               const char *username, xmppcore_store_done_fn cb,
                               void *user_data)
{
    if (!store || bad_str(vhost) || bad_str(username) || !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, exists);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->exists(store->auth_backend, vhost, username, cb, user_data);
}

int xmppcore_store_auth_list(xmppcore_store *store, const char *vhost,
                             const char *after, size_t limit,
                             xmppcore_store_users_fn cb, void *user_data)
{
    if (!store || bad_str(vhost) || !limit || !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, list);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->list(store->auth_backend, vhost, after, limit, cb, user_data);
}

int xmppcore_store_auth_count(xmppcore_store *store, const char *vhost,
                              xmppcore_store_count_fn cb, void *user_data)
{
    if (!store || bad_str(vhost) || !cb)
        return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, count);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->count(store->auth_backend, vhost, cb, user_data);
}

int xmppcore_store_auth_create_many(xmppcore_store *store, const char *vhost,
                                    const xmppcore_store_account *accounts,
                                    size_t n, xmppcore_store_done_fn cb,
                                    void *user_data)
{
    if (!store || bad_str(vhost) || !accounts || !n || !cb)
        return XMPPCORE_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (bad_str(accounts[i].username) || bad_creds(accounts[i].creds))
            return XMPPCORE_E_INVAL;
    const xmppcore_store_auth_vtable *vt = AUTH_FN(store, create_many);
    if (!vt)
        return XMPPCORE_E_UNSUPPORTED;
    return vt->create_many(store->auth_backend, vhost, accounts, n, cb,
                           user_data);
}

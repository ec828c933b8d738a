/*
 * Internal view of xmppcore_store, shared by the store object and the
 * built-in backends (which the store owns and frees). Not installed.
 */
#ifndef XI_STORE_IMPL_H
#define XI_STORE_IMPL_H

#include "core/core.h"
#include "xmppcore/store.h"

struct xmppcore_store {
    const xmppcore_mem *mem;
    const xmppcore_store_auth_vtable *auth;
    void *auth_backend;
    /* A built-in backend opened with the store, freed with it. */
    void *owned;
    void (*owned_free)(void *owned);
};

#endif

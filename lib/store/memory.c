/*
 * The in-memory backend: per vhost, a sorted array of accounts (binary
 * search; listing a page is a slice). Every call completes before it
 * returns. Used by tests and throwaway servers; nothing persists.
 */
#include <stdlib.h>

#include "store/store_impl.h"

struct mem_account {
    xmppcore_credentials creds;
    char name[]; /* the username */
};

struct mem_vhost {
    char *name;
    struct mem_account **users; /* sorted by name, bytewise */
    size_t n, cap;
};

struct mem_backend {
    const xmppcore_mem *mem;
    struct mem_vhost **vhosts; /* sorted by name */
    size_t n, cap;
};

static size_t find_vhost(const struct mem_backend *b, const char *name,
                         int *found)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->vhosts[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static size_t find_user(const struct mem_vhost *v, const char *name, int *found)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->users[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* arr (of elem-sized items, capacity *cap) grown to hold need items:
 * the new array (*cap updated), arr itself if big enough, or NULL (arr
 * unchanged) on allocation failure. */
static void *grow(const xmppcore_mem *mem, void *arr, size_t *cap, size_t need,
                  size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return NULL;
        ncap *= 2;
    }
    void *p = xi_realloc(mem, arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

static struct mem_vhost *get_vhost(const struct mem_backend *b,
                                   const char *name)
{
    int found;
    size_t i = find_vhost(b, name, &found);
    return found ? b->vhosts[i] : NULL;
}

/* The vhost, created if missing; NULL on allocation failure. */
static struct mem_vhost *make_vhost(struct mem_backend *b, const char *name)
{
    int found;
    size_t i = find_vhost(b, name, &found);
    if (found)
        return b->vhosts[i];
    void *arr = grow(b->mem, b->vhosts, &b->cap, b->n + 1, sizeof *b->vhosts);
    if (!arr)
        return NULL;
    b->vhosts = arr;
    struct mem_vhost *v = xi_calloc(b->mem, sizeof *v);
    if (!v)
        return NULL;
    v->name = xi_strdup(b->mem, name);
    if (!v->name) {
        xi_free(b->mem, v);
        return NULL;
    }
    memmove(&b->vhosts[i + 1], &b->vhosts[i], (b->n - i) * sizeof *b->vhosts);
    b->vhosts[i] = v;
    b->n++;
    return v;
}

static struct mem_account *account_new(const xmppcore_mem *mem,
                                       const char *name,
                                       const xmppcore_credentials *creds)
{
    size_t len = strlen(name);
    struct mem_account *a = xi_malloc(mem, sizeof *a + len + 1);
    if (a) {
        a->creds = *creds;
        memcpy(a->name, name, len + 1);
    }
    return a;
}

static int m_get(void *backend, const char *vhost, const char *username,
                 xmppcore_store_creds_fn cb, void *user_data)
{
    struct mem_vhost *v = get_vhost(backend, vhost);
    int found = 0;
    size_t i = v ? find_user(v, username, &found) : 0;
    if (!found) {
        cb(XMPPCORE_E_NOTFOUND, NULL, user_data);
        return 0;
    }
    /* A copy, so that the callback may change or remove the account. */
    xmppcore_credentials c = v->users[i]->creds;
    cb(0, &c, user_data);
    return 0;
}

static int m_create(void *backend, const char *vhost, const char *username,
                    const xmppcore_credentials *creds,
                    xmppcore_store_done_fn cb, void *user_data)
{
    struct mem_backend *b = backend;
    struct mem_vhost *v = make_vhost(b, vhost);
    if (!v)
        return XMPPCORE_E_NOMEM;
    int found;
    size_t i = find_user(v, username, &found);
    if (found) {
        cb(XMPPCORE_E_EXISTS, user_data);
        return 0;
    }
    void *arr = grow(b->mem, v->users, &v->cap, v->n + 1, sizeof *v->users);
    if (!arr)
        return XMPPCORE_E_NOMEM;
    v->users = arr;
    struct mem_account *a = account_new(b->mem, username, creds);
    if (!a)
        return XMPPCORE_E_NOMEM;
    memmove(&v->users[i + 1], &v->users[i], (v->n - i) * sizeof *v->users);
    v->users[i] = a;
    v->n++;
    cb(0, user_data);
    return 0;
}

static int m_set(void *backend, const char *vhost, const char *username,
                 const xmppcore_credentials *creds, xmppcore_store_done_fn cb,
                 void *user_data)
{
    struct mem_vhost *v = get_vhost(backend, vhost);
    int found = 0;
    size_t i = v ? find_user(v, username, &found) : 0;
    if (!found) {
        cb(XMPPCORE_E_NOTFOUND, user_data);
        return 0;
    }
    /* creds may be the very struct a get callback was given: memmove. */
    memmove(&v->users[i]->creds, creds, sizeof *creds);
    cb(0, user_data);
    return 0;
}

static int m_remove(void *backend, const char *vhost, const char *username,
                    xmppcore_store_done_fn cb, void *user_data)
{
    struct mem_backend *b = backend;
    struct mem_vhost *v = get_vhost(b, vhost);
    int found = 0;
    size_t i = v ? find_user(v, username, &found) : 0;
    if (!found) {
        cb(XMPPCORE_E_NOTFOUND, user_data);
        return 0;
    }
    /* username may point into the account: do not use it after this. */
    xi_free(b->mem, v->users[i]);
    memmove(&v->users[i], &v->users[i + 1], (v->n - i - 1) * sizeof *v->users);
    v->n--;
    cb(0, user_data);
    return 0;
}

static int m_exists(void *backend, const char *vhost, const char *username,
                    xmppcore_store_done_fn cb, void *user_data)
{
    struct mem_vhost *v = get_vhost(backend, vhost);
    int found = 0;
    if (v)
        find_user(v, username, &found);
    cb(found ? 0 : XMPPCORE_E_NOTFOUND, user_data);
    return 0;
}

static int m_list(void *backend, const char *vhost, const char *after,
                  size_t limit, xmppcore_store_users_fn cb, void *user_data)
{
    struct mem_backend *b = backend;
    struct mem_vhost *v = get_vhost(b, vhost);
    size_t start = 0;
    if (v && after) {
        int found;
        start = find_user(v, after, &found);
        start += found;
    }
    size_t n = v ? v->n - start : 0;
    if (n > limit)
        n = limit;
    if (!n) {
        cb(0, NULL, 0, user_data);
        return 0;
    }
    const char **names = xi_malloc(b->mem, n * sizeof *names);
    if (!names)
        return XMPPCORE_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        names[i] = v->users[start + i]->name;
    cb(0, names, n, user_data);
    xi_free(b->mem, names);
    return 0;
}

static int m_count(void *backend, const char *vhost, xmppcore_store_count_fn cb,
                   void *user_data)
{
    struct mem_vhost *v = get_vhost(backend, vhost);
    cb(0, v ? v->n : 0, user_data);
    return 0;
}

static int cmp_account(const void *a, const void *b)
{
    const struct mem_account *x = *(struct mem_account *const *)a;
    const struct mem_account *y = *(struct mem_account *const *)b;
    return strcmp(x->name, y->name);
}

static int m_create_many(void *backend, const char *vhost,
                         const xmppcore_store_account *accounts, size_t n,
                         xmppcore_store_done_fn cb, void *user_data)
{
    struct mem_backend *b = backend;
    struct mem_vhost *v = make_vhost(b, vhost);
    if (!v)
        return XMPPCORE_E_NOMEM;
    if (n > SIZE_MAX / sizeof(void *) - v->n)
        return XMPPCORE_E_NOMEM;
    void *arr = grow(b->mem, v->users, &v->cap, v->n + n, sizeof *v->users);
    if (!arr)
        return XMPPCORE_E_NOMEM;
    v->users = arr;
    int rc = 0;
    /* Build the new accounts sorted beside the array, check for clashes,
     * then merge: n log n instead of n inserts into the middle. */
    struct mem_account **add = xi_malloc(b->mem, n * sizeof *add);
    if (!add)
        return XMPPCORE_E_NOMEM;
    size_t made = 0;
    for (; made < n; made++) {
        add[made] =
            account_new(b->mem, accounts[made].username, accounts[made].creds);
        if (!add[made]) {
            rc = XMPPCORE_E_NOMEM;
            goto out;
        }
    }
    qsort(add, n, sizeof *add, cmp_account);
    for (size_t i = 0; i < n; i++) {
        int found = i && strcmp(add[i - 1]->name, add[i]->name) == 0;
        if (!found)
            find_user(v, add[i]->name, &found);
        if (found) {
            cb(XMPPCORE_E_EXISTS, user_data);
            goto out; /* rc stays 0: the callback was called */
        }
    }
    /* Merge from the back into the grown array. */
    size_t i = v->n, j = n, k = v->n + n;
    while (j > 0) {
        if (i > 0 && strcmp(v->users[i - 1]->name, add[j - 1]->name) > 0)
            v->users[--k] = v->users[--i];
        else
            v->users[--k] = add[--j];
    }
    v->n += n;
    made = 0; /* now owned by the vhost */
    cb(0, user_data);
out:
    for (size_t x = 0; x < made; x++)
        xi_free(b->mem, add[x]);
    xi_free(b->mem, add);
    return rc;
}

static const xmppcore_store_auth_vtable mem_auth = {
    XMPPCORE_STORE_AUTH_VERSION,
    m_get,
    m_create,
    m_set,
    m_remove,
    m_exists,
    m_list,
    m_count,
    m_create_many,
};

static void mem_backend_free(void *p)
{
    struct mem_backend *b = p;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        struct mem_vhost *v = b->vhosts[i];
        for (size_t j = 0; j < v->n; j++)
            xi_free(b->mem, v->users[j]);
        xi_free(b->mem, v->users);
        xi_free(b->mem, v->name);
        xi_free(b->mem, v);
    }
    xi_free(b->mem, b->vhosts);
    xi_free(b->mem, b);
}

xmppcore_store *xmppcore_store_memory_new(const xmppcore_mem *mem)
{
    xmppcore_store *s = xmppcore_store_new(mem);
    if (!s)
        return NULL;
    struct mem_backend *b = xi_calloc(s->mem, sizeof *b);
    if (!b) {
        xmppcore_store_free(s);
        return NULL;
    }
    b->mem = s->mem;
    s->owned = b;
    s->owned_free = mem_backend_free;
    xmppcore_store_set_auth(s, &mem_auth, b);
    return s;
}

/*
 * The default environment: allocator, RNG (libsodium) and wall clock, and
 * library initialisation. The only place in the core that reads the clock;
 * everything else gets time from the host or through xmppcore_env.
 */
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "core/core.h"
#include "xmppcore.h"

static void *def_malloc(size_t n, void *ud)
{
    XI_UNUSED(ud);
    return malloc(n);
}

static void *def_realloc(void *p, size_t n, void *ud)
{
    XI_UNUSED(ud);
    return realloc(p, n);
}

static void def_free(void *p, void *ud)
{
    XI_UNUSED(ud);
    free(p);
}

static const xmppcore_mem default_mem = {
    XMPPCORE_MEM_VERSION, NULL, def_malloc, def_realloc, def_free,
};

const xmppcore_mem *xmppcore_mem_default(void)
{
    return &default_mem;
}

int xmppcore_init(void)
{
    return sodium_init() < 0 ? XMPPCORE_E_INTERNAL : 0;
}

int xmppcore_rng_default(void *buf, size_t len, void *user_data)
{
    XI_UNUSED(user_data);
    randombytes_buf(buf, len);
    return 0;
}

int64_t xmppcore_clock_default(void *user_data)
{
    struct timespec ts;
    XI_UNUSED(user_data);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *xmppcore_version(void)
{
    return XMPPCORE_VERSION;
}

char *xi_strndup(const xmppcore_mem *mem, const char *s, size_t n)
{
    char *p = xi_malloc(mem, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *xi_strdup(const xmppcore_mem *mem, const char *s)
{
    return xi_strndup(mem, s, strlen(s));
}

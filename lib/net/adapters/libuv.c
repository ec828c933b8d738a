/*
 * The libuv adapter: fills xmppcore_io's hooks with a uv_poll_t per
 * socket, one uv_timer_t and one uv_async_t. Handles are freed in their
 * close callbacks; the adapter itself once the last one has closed.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "xmppcore/adapters/libuv.h"

typedef struct uv_adapter {
    uv_loop_t *loop;
    xmppcore_io *io; /* NULL once the io is gone */
    uv_timer_t timer;
    uv_async_t async;
    int open;        /* handles not yet through their close callback */
} uv_adapter;

typedef struct uv_fd {
    uv_poll_t poll;
    uv_adapter *a;
    int fd;
} uv_fd;

static void handle_closed(uv_handle_t *h)
{
    uv_adapter *a = h->data;
    if (h != (uv_handle_t *)&a->timer && h != (uv_handle_t *)&a->async)
        free(h); /* a uv_fd (its poll handle is its first member) */
    if (--a->open == 0 && !a->io)
        free(a);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    uv_fd *f = (uv_fd *)p;
    int ev = 0;
    if (status < 0)
        ev = XMPPCORE_IO_READ | XMPPCORE_IO_ERROR;
    if (events & (UV_READABLE | UV_DISCONNECT))
        ev |= XMPPCORE_IO_READ;
    if (events & UV_WRITABLE)
        ev |= XMPPCORE_IO_WRITE;
    if (f->a->io)
        xmppcore_io_ready(f->a->io, f->fd, ev);
}

static int hook_watch(void *ud, int fd, int events, void **handle)
{
    uv_adapter *a = ud;
    uv_fd *f = *handle;
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f)
            return XMPPCORE_E_NOMEM;
        if (uv_poll_init_socket(a->loop, &f->poll, fd) != 0) {
            free(f);
            return XMPPCORE_E_IO;
        }
        f->poll.data = a;
        f->a = a;
        f->fd = fd;
        a->open++;
        *handle = f;
    }
    int flags = (events & XMPPCORE_IO_READ ? UV_READABLE : 0) |
                (events & XMPPCORE_IO_WRITE ? UV_WRITABLE : 0);
    int rc = flags ? uv_poll_start(&f->poll, flags, poll_cb)
                   : uv_poll_stop(&f->poll);
    return rc == 0 ? 0 : XMPPCORE_E_IO;
}

static void hook_unwatch(void *ud, int fd, void *handle)
{
    (void)ud;
    (void)fd;
    uv_fd *f = handle;
    /* uv_close stops the poll at once: no callback for fd after this. */
    if (f)
        uv_close((uv_handle_t *)&f->poll, handle_closed);
}

static void timer_cb(uv_timer_t *t)
{
    uv_adapter *a = t->data;
    if (a->io)
        xmppcore_io_timeout(a->io);
}

static void hook_set_timer(void *ud, int64_t ms)
{
    uv_adapter *a = ud;
    if (ms < 0)
        uv_timer_stop(&a->timer);
    else
        uv_timer_start(&a->timer, timer_cb, (uint64_t)ms, 0);
}

static void async_cb(uv_async_t *h)
{
    uv_adapter *a = h->data;
    if (a->io)
        xmppcore_io_wakeup(a->io);
}

static void hook_wake(void *ud)
{
    uv_adapter *a = ud;
    uv_async_send(&a->async); /* thread-safe; coalesced by libuv */
}

static void hook_cleanup(void *ud)
{
    uv_adapter *a = ud;
    a->io = NULL;
    uv_close((uv_handle_t *)&a->timer, handle_closed);
    uv_close((uv_handle_t *)&a->async, handle_closed);
}

static const xmppcore_io_hooks uv_hooks = {
    XMPPCORE_IO_HOOKS_VERSION, hook_watch, hook_unwatch, hook_set_timer,
    hook_wake, hook_cleanup};

int xmppcore_uv_attach(uv_loop_t *loop, xmppcore_server *server,
                       xmppcore_io **out)
{
    if (out)
        *out = NULL;
    if (!loop || !server || !out)
        return XMPPCORE_E_INVAL;
    uv_adapter *a = calloc(1, sizeof *a);
    if (!a)
        return XMPPCORE_E_NOMEM;
    a->loop = loop;
    if (uv_async_init(loop, &a->async, async_cb) != 0) {
        free(a);
        return XMPPCORE_E_IO;
    }
    uv_timer_init(loop, &a->timer);
    a->async.data = a->timer.data = a;
    a->open = 2;
    a->io = xmppcore_io_new(server, &uv_hooks, a);
    if (!a->io) {
        hook_cleanup(a); /* frees a from the close callbacks */
        return XMPPCORE_E_NOMEM;
    }
    *out = a->io;
    return 0;
}

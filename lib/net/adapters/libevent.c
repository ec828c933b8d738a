/*
 * The libevent adapter: fills xmppcore_io's hooks with a persistent
 * event per socket, one evtimer, and an eventfd for wake-ups from other
 * threads (written by any thread, read by the base: no need for
 * evthread_use_pthreads()). libevent frees events at once, so cleanup is
 * synchronous.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "xmppcore/adapters/libevent.h"

typedef struct ev_adapter {
    struct event_base *base;
    xmppcore_io *io;
    struct event *timer;
    struct event *wake_ev;
    int wake_fd;
} ev_adapter;

typedef struct ev_fd {
    struct event *ev;
    ev_adapter *a;
    int fd;
} ev_fd;

static void fd_cb(evutil_socket_t fd, short what, void *arg)
{
    ev_fd *f = arg;
    int ev = 0;
    if (what & EV_READ)
        ev |= XMPPCORE_IO_READ;
    if (what & EV_WRITE)
        ev |= XMPPCORE_IO_WRITE;
    xmppcore_io_ready(f->a->io, (int)fd, ev);
}

static int hook_watch(void *ud, int fd, int events, void **handle)
{
    ev_adapter *a = ud;
    ev_fd *f = *handle;
    bool fresh = !f;
    if (fresh) {
        f = calloc(1, sizeof *f);
        if (!f)
            return XMPPCORE_E_NOMEM;
        f->a = a;
        f->fd = fd;
    } else {
        /* An event's flags are fixed once added: take it out, re-assign. */
        event_del(f->ev);
    }
    short flags = EV_PERSIST | (events & XMPPCORE_IO_READ ? EV_READ : 0) |
                  (events & XMPPCORE_IO_WRITE ? EV_WRITE : 0);
    int rc;
    if (fresh) {
        f->ev = event_new(a->base, fd, flags, fd_cb, f);
        rc = f->ev ? 0 : -1;
    } else {
        rc = event_assign(f->ev, a->base, fd, flags, fd_cb, f);
    }
    if (rc == 0 && events)
        rc = event_add(f->ev, NULL);
    if (rc != 0) {
        if (fresh) {
            if (f->ev)
                event_free(f->ev);
            free(f);
        }
        return XMPPCORE_E_IO;
    }
    *handle = f;
    return 0;
}

static void hook_unwatch(void *ud, int fd, void *handle)
{
    (void)ud;
    (void)fd;
    ev_fd *f = handle;
    if (!f)
        return;
    event_free(f->ev); /* deletes it, pending or active: no more calls */
    free(f);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ev_adapter *a = arg;
    xmppcore_io_timeout(a->io);
}

static void hook_set_timer(void *ud, int64_t ms)
{
    ev_adapter *a = ud;
    if (ms < 0) {
        evtimer_del(a->timer);
        return;
    }
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(a->timer, &tv);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    ev_adapter *a = arg;
    uint64_t v;
    ssize_t r = read((int)fd, &v, sizeof v);
    (void)r;
    xmppcore_io_wakeup(a->io);
}

static void hook_wake(void *ud)
{
    ev_adapter *a = ud;
    uint64_t one = 1;
    /* EAGAIN: the counter is already non-zero, the base will wake. */
    ssize_t r = write(a->wake_fd, &one, sizeof one);
    (void)r;
}

static void adapter_free(ev_adapter *a)
{
    if (a->timer)
        event_free(a->timer);
    if (a->wake_ev)
        event_free(a->wake_ev);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    free(a);
}

static void hook_cleanup(void *ud)
{
    adapter_free(ud);
}

static const xmppcore_io_hooks ev_hooks = {
    XMPPCORE_IO_HOOKS_VERSION, hook_watch, hook_unwatch, hook_set_timer,
    hook_wake, hook_cleanup};

int xmppcore_event_attach(struct event_base *base, xmppcore_server *server,
                          xmppcore_io **out)
{
    if (out)
        *out = NULL;
    if (!base || !server || !out)
        return XMPPCORE_E_INVAL;
    ev_adapter *a = calloc(1, sizeof *a);
    if (!a)
        return XMPPCORE_E_NOMEM;
    a->base = base;
    a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->wake_fd >= 0) {
        a->timer = evtimer_new(base, timer_cb, a);
        a->wake_ev = event_new(base, a->wake_fd, EV_READ | EV_PERSIST,
                               wake_cb, a);
    }
    if (a->wake_fd < 0 || !a->timer || !a->wake_ev ||
        event_add(a->wake_ev, NULL) != 0) {
        adapter_free(a);
        return XMPPCORE_E_IO;
    }
    a->io = xmppcore_io_new(server, &ev_hooks, a);
    if (!a->io) {
        adapter_free(a);
        return XMPPCORE_E_NOMEM;
    }
    *out = a->io;
    return 0;
}

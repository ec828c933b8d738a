/*
 * The epoll loop: the iteration (clock, server tick, timers, writes,
 * wait, dispatch), the fd table that tells stale events from live ones,
 * host timers on a binary heap, functions posted from other threads and
 * stop/shutdown requests through one eventfd, and signals through a
 * signalfd. With a server, listeners and connections are driven by an
 * xmppcore_io (io.c) whose adapter hooks are implemented here on the same
 * epoll set: the built-in loop is one more adapter, like libuv's and
 * libevent's.
 */
#include "net/net_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct xi_timer {
    uint64_t id;
    uint64_t seq;      /* tie-break: order of (re-)arming */
    int64_t due;
    int64_t interval;  /* > 0 for repeating timers */
    bool cancelled;    /* cancelled from inside its own callback */
    xmppcore_loop_timer_fn cb;
    void *user_data;
};

struct xi_post {
    void (*fn)(void *);
    void *user_data;
    struct xi_post *next;
};

/* A host fd. */
struct xi_host_fd {
    struct xi_watch w;
    xmppcore_loop_fd_fn cb;
    void *user_data;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *xi_net_strerror(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

int xi_loop_fail(xmppcore_loop *loop, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(loop->err, sizeof loop->err, fmt, ap);
    va_end(ap);
    return code;
}

void xi_loop_log(xmppcore_loop *loop, int level, const char *fmt, ...)
{
    if (!loop->cb.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    loop->cb.log(loop, level, msg, loop->user_data);
}

/* ---- The fd table ---- */

static uint64_t watch_key(const struct xi_watch *w)
{
    return (uint64_t)w->gen << 32 | (uint32_t)w->fd;
}

int xi_watch_add(xmppcore_loop *loop, struct xi_watch *w, uint32_t events)
{
    if (w->fd < 0)
        return XMPPCORE_E_INVAL;
    size_t fd = (size_t)w->fd;
    if (fd >= loop->fds_cap) {
        size_t cap = loop->fds_cap ? loop->fds_cap : 64;
        while (cap <= fd)
            cap *= 2;
        struct xi_watch **t = realloc(loop->fds, cap * sizeof *t);
        if (!t)
            return XMPPCORE_E_NOMEM;
        memset(t + loop->fds_cap, 0, (cap - loop->fds_cap) * sizeof *t);
        loop->fds = t;
        loop->fds_cap = cap;
    }
    if (loop->fds[fd])
        return XMPPCORE_E_EXISTS;
    w->gen = ++loop->gen;
    w->events = events;
    struct epoll_event ev = {.events = events, .data.u64 = watch_key(w)};
    /* events 0: parked, in the table but not in epoll (which would still
     * report hang-ups, level-triggered, again and again). */
    if (events && epoll_ctl(loop->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
        char eb[128];
        return xi_loop_fail(loop, XMPPCORE_E_IO, "epoll_ctl(ADD, %d): %s",
                            w->fd, xi_net_strerror(errno, eb, sizeof eb));
    }
    loop->fds[fd] = w;
    return 0;
}

int xi_watch_mod(xmppcore_loop *loop, struct xi_watch *w, uint32_t events)
{
    if (w->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.u64 = watch_key(w)};
    int op = !events ? EPOLL_CTL_DEL
                     : !w->events ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(loop->epfd, op, w->fd, &ev) < 0) {
        char eb[128];
        return xi_loop_fail(loop, XMPPCORE_E_IO, "epoll_ctl(MOD, %d): %s",
                            w->fd, xi_net_strerror(errno, eb, sizeof eb));
    }
    w->events = events;
    return 0;
}

void xi_watch_del(xmppcore_loop *loop, struct xi_watch *w)
{
    if (w->fd < 0 || (size_t)w->fd >= loop->fds_cap || loop->fds[w->fd] != w)
        return;
    if (w->events)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    loop->fds[w->fd] = NULL;
}

/* ---- Host fds ---- */

static uint32_t host_events(int events)
{
    uint32_t e = EPOLLERR; /* never 0, which would park the fd */
    if (events & XMPPCORE_LOOP_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (events & XMPPCORE_LOOP_WRITE)
        e |= EPOLLOUT;
    return e;
}

static void host_io(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    struct xi_host_fd *h = (struct xi_host_fd *)w;
    int events = 0;
    if (ev & (EPOLLIN | EPOLLRDHUP))
        events |= XMPPCORE_LOOP_READ;
    if (ev & EPOLLOUT)
        events |= XMPPCORE_LOOP_WRITE;
    if (ev & (EPOLLERR | EPOLLHUP))
        events |= XMPPCORE_LOOP_ERROR;
    h->cb(loop, w->fd, events, h->user_data);
}

static struct xi_host_fd *host_fd(xmppcore_loop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->fds_cap || !loop->fds[fd] ||
        loop->fds[fd]->io != host_io)
        return NULL;
    return (struct xi_host_fd *)loop->fds[fd];
}

int xmppcore_loop_add_fd(xmppcore_loop *loop, int fd, int events,
                         xmppcore_loop_fd_fn cb, void *user_data)
{
    if (!loop || fd < 0 || !cb ||
        (events & ~(XMPPCORE_LOOP_READ | XMPPCORE_LOOP_WRITE)))
        return XMPPCORE_E_INVAL;
    if ((size_t)fd < loop->fds_cap && loop->fds[fd])
        return XMPPCORE_E_EXISTS;
    struct xi_host_fd *h = calloc(1, sizeof *h);
    if (!h)
        return XMPPCORE_E_NOMEM;
    h->w.fd = fd;
    h->w.io = host_io;
    h->cb = cb;
    h->user_data = user_data;
    int rc = xi_watch_add(loop, &h->w, host_events(events));
    if (rc < 0)
        free(h);
    return rc;
}

int xmppcore_loop_mod_fd(xmppcore_loop *loop, int fd, int events)
{
    if (!loop || (events & ~(XMPPCORE_LOOP_READ | XMPPCORE_LOOP_WRITE)))
        return XMPPCORE_E_INVAL;
    struct xi_host_fd *h = host_fd(loop, fd);
    if (!h)
        return XMPPCORE_E_NOTFOUND;
    return xi_watch_mod(loop, &h->w, host_events(events));
}

int xmppcore_loop_del_fd(xmppcore_loop *loop, int fd)
{
    if (!loop)
        return XMPPCORE_E_INVAL;
    struct xi_host_fd *h = host_fd(loop, fd);
    if (!h)
        return XMPPCORE_E_NOTFOUND;
    xi_watch_del(loop, &h->w);
    free(h);
    return 0;
}

/* ---- Timers ---- */

static bool timer_before(const struct xi_timer *a, const struct xi_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_up(xmppcore_loop *loop, size_t i)
{
    struct xi_timer **h = loop->heap;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_before(h[i], h[p]))
            break;
        struct xi_timer *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void heap_down(xmppcore_loop *loop, size_t i)
{
    struct xi_timer **h = loop->heap;
    size_t n = loop->n_heap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && timer_before(h[l], h[m]))
            m = l;
        if (r < n && timer_before(h[r], h[m]))
            m = r;
        if (m == i)
            break;
        struct xi_timer *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int heap_push(xmppcore_loop *loop, struct xi_timer *t)
{
    if (loop->n_heap == loop->cap_heap) {
        size_t cap = loop->cap_heap ? loop->cap_heap * 2 : 16;
        struct xi_timer **h = realloc(loop->heap, cap * sizeof *h);
        if (!h)
            return XMPPCORE_E_NOMEM;
        loop->heap = h;
        loop->cap_heap = cap;
    }
    t->seq = ++loop->timer_seq;
    loop->heap[loop->n_heap++] = t;
    heap_up(loop, loop->n_heap - 1);
    return 0;
}

static void heap_remove(xmppcore_loop *loop, size_t i)
{
    loop->heap[i] = loop->heap[--loop->n_heap];
    if (i < loop->n_heap) {
        heap_down(loop, i);
        heap_up(loop, i);
    }
}

int xmppcore_loop_add_timer(xmppcore_loop *loop, int64_t ms, int repeat,
                            xmppcore_loop_timer_fn cb, void *user_data,
                            uint64_t *id)
{
    if (!loop || ms < 0 || (repeat && ms == 0) || !cb)
        return XMPPCORE_E_INVAL;
    struct xi_timer *t = calloc(1, sizeof *t);
    if (!t)
        return XMPPCORE_E_NOMEM;
    t->id = ++loop->next_timer_id;
    /* The clock as of now, not of the iteration's start, so a timer
     * added late in a long iteration still waits its full delay. */
    t->due = mono_ms() + ms;
    t->interval = repeat ? ms : 0;
    t->cb = cb;
    t->user_data = user_data;
    if (heap_push(loop, t) < 0) {
        free(t);
        return XMPPCORE_E_NOMEM;
    }
    if (id)
        *id = t->id;
    return 0;
}

int xmppcore_loop_cancel_timer(xmppcore_loop *loop, uint64_t id)
{
    if (!loop)
        return XMPPCORE_E_INVAL;
    if (loop->running_timer && loop->running_timer->id == id) {
        loop->running_timer->cancelled = true;
        return 0;
    }
    for (size_t i = 0; i < loop->n_heap; i++) {
        if (loop->heap[i]->id == id) {
            struct xi_timer *t = loop->heap[i];
            heap_remove(loop, i);
            free(t);
            return 0;
        }
    }
    return XMPPCORE_E_NOTFOUND;
}

/* Runs the timers due by now that were armed before this call (a timer
 * armed by a callback waits for the next iteration even if due). */
static void run_timers(xmppcore_loop *loop, int64_t now)
{
    uint64_t limit = loop->timer_seq;
    while (loop->n_heap > 0) {
        struct xi_timer *t = loop->heap[0];
        if (t->due > now || t->seq > limit)
            break;
        heap_remove(loop, 0);
        loop->running_timer = t;
        t->cb(loop, t->id, t->user_data);
        loop->running_timer = NULL;
        if (t->interval > 0 && !t->cancelled) {
            t->due += t->interval;
            if (t->due <= now) /* fell behind: do not run a backlog */
                t->due = now + t->interval;
            if (heap_push(loop, t) == 0)
                continue;
            xi_loop_log(loop, XMPPCORE_LOG_ERROR,
                        "out of memory re-arming timer %llu",
                        (unsigned long long)t->id);
        }
        free(t);
    }
}

int64_t xmppcore_loop_now(const xmppcore_loop *loop)
{
    return loop ? loop->now : 0;
}

/* ---- Wake-ups: stop, shutdown, posts ---- */

static void wake(xmppcore_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: awake anyway. */
    ssize_t r = write(loop->wake.fd, &one, sizeof one);
    (void)r;
}

void xmppcore_loop_stop(xmppcore_loop *loop)
{
    if (!loop)
        return;
    atomic_store(&loop->stop_req, 1);
    wake(loop);
}

void xmppcore_loop_shutdown(xmppcore_loop *loop, int timeout_ms)
{
    if (!loop)
        return;
    atomic_store(&loop->shutdown_ms, timeout_ms < 0 ? XI_NET_LINGER_MS
                                                    : timeout_ms);
    atomic_store(&loop->shutdown_req, 1);
    wake(loop);
}

int xmppcore_loop_post(xmppcore_loop *loop, void (*fn)(void *),
                       void *user_data)
{
    if (!loop || !fn)
        return XMPPCORE_E_INVAL;
    struct xi_post *p = malloc(sizeof *p);
    if (!p)
        return XMPPCORE_E_NOMEM;
    p->fn = fn;
    p->user_data = user_data;
    p->next = NULL;
    pthread_mutex_lock(&loop->post_mu);
    if (loop->post_tail)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    pthread_mutex_unlock(&loop->post_mu);
    wake(loop);
    return 0;
}

xmppcore_mailbox *xmppcore_loop_mailbox(xmppcore_loop *loop)
{
    return loop && loop->io ? xmppcore_io_mailbox(loop->io) : NULL;
}

static void wake_io(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    uint64_t v;
    ssize_t r = read(w->fd, &v, sizeof v);
    (void)r;
    (void)ev;
    /* Run what was posted before now; later posts wake us again. */
    pthread_mutex_lock(&loop->post_mu);
    struct xi_post *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_mu);
    while (p) {
        struct xi_post *next = p->next;
        p->fn(p->user_data);
        free(p);
        p = next;
    }
    if (loop->io)
        xmppcore_io_wakeup(loop->io);
}

/* ---- Signals ---- */

static void sig_io(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    (void)ev;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGINT:
        case SIGTERM:
            xi_loop_log(loop, XMPPCORE_LOG_NOTICE,
                        "%s: shutting down",
                        si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
            xmppcore_loop_shutdown(loop, -1);
            break;
        case SIGHUP:
            xi_loop_log(loop, XMPPCORE_LOG_INFO, "SIGHUP");
            if (loop->cb.hangup)
                loop->cb.hangup(loop, loop->user_data);
            break;
        default:
            break;
        }
    }
}

int xmppcore_loop_catch_signals(xmppcore_loop *loop)
{
    if (!loop)
        return XMPPCORE_E_INVAL;
    if (loop->sig.fd >= 0)
        return XMPPCORE_E_EXISTS;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    char eb[128];
    int e = pthread_sigmask(SIG_BLOCK, &set, &loop->old_mask);
    if (e != 0)
        return xi_loop_fail(loop, XMPPCORE_E_IO, "pthread_sigmask: %s",
                            xi_net_strerror(e, eb, sizeof eb));
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        e = errno;
        pthread_sigmask(SIG_SETMASK, &loop->old_mask, NULL);
        return xi_loop_fail(loop, XMPPCORE_E_IO, "signalfd: %s",
                            xi_net_strerror(e, eb, sizeof eb));
    }
    loop->sig.fd = fd;
    loop->sig.io = sig_io;
    int rc = xi_watch_add(loop, &loop->sig, EPOLLIN);
    if (rc < 0) {
        close(fd);
        loop->sig.fd = -1;
        pthread_sigmask(SIG_SETMASK, &loop->old_mask, NULL);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

/* ---- The server's connections: this loop as an xmppcore_io adapter ---- */

/* An fd the io asked us to watch. */
struct xi_io_fd {
    struct xi_watch w;
};

static void io_fd_event(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    int events = 0;
    if (ev & (EPOLLIN | EPOLLRDHUP))
        events |= XMPPCORE_IO_READ;
    if (ev & EPOLLOUT)
        events |= XMPPCORE_IO_WRITE;
    if (ev & (EPOLLERR | EPOLLHUP))
        events |= XMPPCORE_IO_ERROR | XMPPCORE_IO_READ;
    xmppcore_io_ready(loop->io, w->fd, events);
}

static uint32_t epoll_events(int events)
{
    return ((events & XMPPCORE_IO_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
           ((events & XMPPCORE_IO_WRITE) ? EPOLLOUT : 0);
}

static int hook_watch(void *adapter, int fd, int events, void **handle)
{
    xmppcore_loop *loop = adapter;
    struct xi_io_fd *f = *handle;
    if (f)
        return xi_watch_mod(loop, &f->w, epoll_events(events));
    f = calloc(1, sizeof *f);
    if (!f)
        return XMPPCORE_E_NOMEM;
    f->w.fd = fd;
    f->w.io = io_fd_event;
    int rc = xi_watch_add(loop, &f->w, epoll_events(events));
    if (rc < 0) {
        free(f);
        return rc;
    }
    *handle = f;
    return 0;
}

static void hook_unwatch(void *adapter, int fd, void *handle)
{
    (void)fd;
    struct xi_io_fd *f = handle;
    if (!f)
        return;
    /* The io closes fd right after, which takes it out of the epoll set
     * (its sockets are never dup'ed): spare the EPOLL_CTL_DEL syscall. */
    f->w.events = 0;
    xi_watch_del(adapter, &f->w);
    free(f);
}

static void io_timer_fired(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    (void)ud;
    loop->io_timer = 0;
    xmppcore_io_timeout(loop->io);
}

static void hook_set_timer(void *adapter, int64_t ms)
{
    xmppcore_loop *loop = adapter;
    /* The io re-asks after every event, mostly for the same moment:
     * leave the timer alone then (no heap churn, no allocation). */
    int64_t due = ms < 0 ? -1 : mono_ms() + ms;
    if (loop->io_timer && due == loop->io_due)
        return;
    loop->io_due = due;
    if (loop->io_timer) {
        xmppcore_loop_cancel_timer(loop, loop->io_timer);
        loop->io_timer = 0;
    }
    if (ms >= 0 &&
        xmppcore_loop_add_timer(loop, ms, 0, io_timer_fired, NULL,
                                &loop->io_timer) < 0)
        xi_loop_log(loop, XMPPCORE_LOG_ERROR, "cannot arm the io timer");
}

static void wake(xmppcore_loop *loop);

static void hook_wake(void *adapter)
{
    wake(adapter);
}

static void hook_cleanup(void *adapter)
{
    xmppcore_loop *loop = adapter;
    if (loop->io_timer) {
        xmppcore_loop_cancel_timer(loop, loop->io_timer);
        loop->io_timer = 0;
    }
}

static const xmppcore_io_hooks io_hooks = {
    XMPPCORE_IO_HOOKS_VERSION, hook_watch, hook_unwatch, hook_set_timer,
    hook_wake, hook_cleanup};

int xmppcore_loop_listen(xmppcore_loop *loop, xmppcore_listener *listener,
                         const char *ip, int port)
{
    if (!loop || !loop->io)
        return XMPPCORE_E_INVAL;
    int rc = xmppcore_io_listen(loop->io, listener, ip, port);
    if (rc < 0)
        snprintf(loop->err, sizeof loop->err, "%s",
                 xmppcore_io_last_error(loop->io));
    return rc;
}

size_t xmppcore_loop_conn_count(const xmppcore_loop *loop)
{
    return loop && loop->io ? xmppcore_io_conn_count(loop->io) : 0;
}

static void io_shutdown_done(xmppcore_io *io, void *ud)
{
    (void)io;
    xmppcore_loop *loop = ud;
    loop->shutdown_done = true;
}

/* ---- The loop ---- */

xmppcore_loop *xmppcore_loop_new(xmppcore_server *server,
                                 const xmppcore_loop_callbacks *cb,
                                 void *user_data)
{
    if (cb && cb->version < 1)
        return NULL;
    xmppcore_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->server = server;
    if (cb) {
        /* Copy only the fields the caller's version has. */
        loop->cb.version = XMPPCORE_LOOP_CALLBACKS_VERSION;
        loop->cb.log = cb->log;
        loop->cb.hangup = cb->hangup;
    }
    loop->user_data = user_data;
    loop->epfd = loop->wake.fd = loop->sig.fd = -1;
    if (pthread_mutex_init(&loop->post_mu, NULL) != 0) {
        free(loop);
        return NULL;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    loop->wake.io = wake_io;
    if (loop->epfd < 0 || loop->wake.fd < 0 ||
        xi_watch_add(loop, &loop->wake, EPOLLIN) < 0) {
        xmppcore_loop_free(loop);
        return NULL;
    }
    loop->now = mono_ms();
    if (server) {
        xmppcore_server_tick(server, loop->now);
        if (!(loop->io = xmppcore_io_new(server, &io_hooks, loop))) {
            xmppcore_loop_free(loop);
            return NULL;
        }
    }
    return loop;
}

void xmppcore_loop_free(xmppcore_loop *loop)
{
    if (!loop)
        return;
    /* First: it unwatches its fds and cancels its timer through us. */
    xmppcore_io_free(loop->io);
    loop->io = NULL;
    for (size_t fd = 0; fd < loop->fds_cap; fd++) {
        struct xi_watch *w = loop->fds[fd];
        if (w && w->io == host_io)
            free(w);
    }
    free(loop->fds);
    for (size_t i = 0; i < loop->n_heap; i++)
        free(loop->heap[i]);
    free(loop->heap);
    for (struct xi_post *p = loop->post_head, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    if (loop->sig.fd >= 0) {
        /* Consume what arrived meanwhile so unblocking does not deliver
         * it with its default action. */
        struct signalfd_siginfo si;
        while (read(loop->sig.fd, &si, sizeof si) == (ssize_t)sizeof si)
            ;
        close(loop->sig.fd);
        pthread_sigmask(SIG_SETMASK, &loop->old_mask, NULL);
    }
    if (loop->wake.fd >= 0)
        close(loop->wake.fd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    pthread_mutex_destroy(&loop->post_mu);
    free(loop);
}

const char *xmppcore_loop_last_error(const xmppcore_loop *loop)
{
    return loop ? loop->err : "";
}

/* The epoll_wait timeout: until the first timer (the io's included);
 * -1 for none. */
static int wait_timeout(xmppcore_loop *loop, int64_t now)
{
    int64_t due = -1;
    if (loop->n_heap > 0)
        due = loop->heap[0]->due;
    if (due < 0)
        return -1;
    if (due <= now)
        return 0;
    return due - now > 60000 ? 60000 : (int)(due - now);
}

int xmppcore_loop_run(xmppcore_loop *loop)
{
    if (!loop)
        return XMPPCORE_E_INVAL;
    if (loop->running)
        return XMPPCORE_E_STATE;
    loop->running = true;
    int rc = 0;
    struct epoll_event evs[64];
    for (;;) {
        int64_t now = loop->now = mono_ms();
        /* Every iteration: host code run from our timers and fds may call
         * into the server, which stamps its timers with the last tick. */
        if (loop->server)
            xmppcore_server_tick(loop->server, now);
        run_timers(loop, now);
        if (atomic_exchange(&loop->shutdown_req, 0) && !loop->shutting_down) {
            loop->shutting_down = true;
            loop->shutdown_done = !loop->io ||
                                  xmppcore_io_shutdown(
                                      loop->io, atomic_load(&loop->shutdown_ms),
                                      io_shutdown_done, loop) < 0;
        }
        if (loop->shutting_down && loop->shutdown_done) {
            loop->shutting_down = loop->shutdown_done = false;
            break;
        }
        if (atomic_exchange(&loop->stop_req, 0))
            break;
        int n = epoll_wait(loop->epfd, evs, 64, wait_timeout(loop, now));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            char eb[128];
            rc = xi_loop_fail(loop, XMPPCORE_E_IO, "epoll_wait: %s",
                              xi_net_strerror(errno, eb, sizeof eb));
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t key = evs[i].data.u64;
            int fd = (int)(uint32_t)key;
            uint32_t gen = (uint32_t)(key >> 32);
            if (fd < 0 || (size_t)fd >= loop->fds_cap)
                continue;
            struct xi_watch *w = loop->fds[fd];
            if (!w || w->gen != gen)
                continue; /* removed (or fd reused) by an earlier callback */
            w->io(loop, w, evs[i].events);
        }
    }
    loop->running = false;
    return rc;
}

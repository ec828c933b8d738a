/*
 * xmppcore_io: listeners, connections, batched writes, deadlines, the
 * mailbox and graceful shutdown for a loop the host owns, which it
 * drives through the adapter hooks of io.h (libuv and libevent adapters
 * in lib/net/adapters/).
 *
 * Every entry point (ready, timeout, wakeup, shutdown) is bracketed by
 * enter() and leave(): enter() ticks the server with the monotonic clock
 * before anything is fed; the outermost leave() writes the output of
 * every connection that has some (one batch per loop event), closes and
 * frees the connections that are done — outside the library's
 * callbacks — completes a shutdown, performs an xmppcore_io_free() asked
 * for meanwhile, and re-arms the adapter's single timer. Output made
 * outside an entry point (the host sending from its own timer) asks for
 * a zero timer, so it goes out on the next loop iteration.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "server/server_int.h" /* xi_log */
#include "xmppcore/io.h"

#define IO_READ_BUF (64 * 1024)
#define IO_LINGER_MS 2000      /* a closed connection's time to write */
#define IO_ACCEPT_PAUSE_MS 100 /* after EMFILE and the like */
#define IO_ACCEPT_BATCH 64

enum { SOCK_LISTEN = 1, SOCK_CONN = 2 };

/* What the fd table points to: the head of a listener or a connection. */
typedef struct io_sock {
    int kind;
    int fd;
    int events;   /* asked of the adapter */
    bool watched; /* `watch` succeeded at least once */
    void *handle; /* the adapter's */
} io_sock;

typedef struct io_listen {
    io_sock s;
    xmppcore_listener *listener;
    char addr[64];
    int64_t paused_until; /* 0: accepting */
    bool nodelay;         /* TCP_NODELAY set here, inherited by accepts */
    struct io_listen *next;
} io_listen;

typedef struct io_conn {
    io_sock s;
    xmppcore_io *io;
    xmppcore_conn *conn;
    struct io_conn *prev, *next;
    struct io_conn *next_flush;
    bool in_flush;
    bool closed;       /* the closed callback came */
    bool eof;          /* input ended; xmppcore_conn_eof() called */
    bool write_failed;
    int64_t deadline;  /* closed: give up writing then (0: not set) */
    char peer[64];
} io_conn;

struct xmppcore_io {
    xmppcore_server *server;
    xmppcore_io_hooks hooks;
    void *adapter;
    xmppcore_mailbox *mailbox;
    io_sock **fds; /* indexed by fd */
    size_t fds_cap;
    io_listen *listeners;
    io_conn *conns;
    size_t n_conns;
    size_t n_lingering; /* connections with a deadline set */
    io_conn *flush_head;
    int busy;          /* nesting depth of entry points */
    bool free_pending;
    bool timer_now;    /* a zero timer is armed */
    bool shutting_down;
    int64_t shutdown_deadline;
    xmppcore_io_done_fn done;
    void *done_ud;
    int64_t now;
    unsigned char *rbuf;
    char err[256];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *errstr(int err, char *buf, size_t len)
{
#if defined(__GLIBC__)
    /* _GNU_SOURCE (for accept4) selects glibc's strerror_r, which returns
     * the text (not always in buf) rather than an int: testing that for 0
     * printed "error 98" instead of "Address already in use". */
    return strerror_r(err, buf, len);
#else
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
#endif
}

static int io_fail(xmppcore_io *io, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int io_fail(xmppcore_io *io, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(io->err, sizeof io->err, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- The fd table and the adapter's watches ---- */

static int table_put(xmppcore_io *io, io_sock *s)
{
    size_t fd = (size_t)s->fd;
    if (fd >= io->fds_cap) {
        size_t cap = io->fds_cap ? io->fds_cap : 64;
        while (cap <= fd)
            cap *= 2;
        io_sock **t = realloc(io->fds, cap * sizeof *t);
        if (!t)
            return XMPPCORE_E_NOMEM;
        memset(t + io->fds_cap, 0, (cap - io->fds_cap) * sizeof *t);
        io->fds = t;
        io->fds_cap = cap;
    }
    io->fds[fd] = s;
    return 0;
}

static int sock_watch(xmppcore_io *io, io_sock *s, int events)
{
    if (s->watched && s->events == events)
        return 0;
    int rc = io->hooks.watch(io->adapter, s->fd, events, &s->handle);
    if (rc < 0)
        return rc;
    s->watched = true;
    s->events = events;
    return 0;
}

/* Unwatches and closes the socket. */
static void sock_close(xmppcore_io *io, io_sock *s)
{
    io->hooks.unwatch(io->adapter, s->fd, s->handle);
    s->handle = NULL;
    if ((size_t)s->fd < io->fds_cap && io->fds[s->fd] == s)
        io->fds[s->fd] = NULL;
    close(s->fd);
}

/* ---- Writing and closing connections ---- */

static void flush_push(io_conn *c)
{
    if (c->in_flush)
        return;
    c->in_flush = true;
    c->next_flush = c->io->flush_head;
    c->io->flush_head = c;
    /* Output made outside an entry point (the host sending from its own
     * callback): have the loop come back at once to write it. */
    if (c->io->busy == 0 && !c->io->timer_now) {
        c->io->timer_now = true;
        c->io->hooks.set_timer(c->io->adapter, 0);
    }
}

static void conn_want_write(xmppcore_conn *conn, void *ud)
{
    (void)conn;
    flush_push(ud);
}

static void conn_closed(xmppcore_conn *conn, int reason, void *ud)
{
    (void)conn;
    io_conn *c = ud;
    c->closed = true;
    if (reason != 0)
        xi_log(c->io->server, XMPPCORE_LOG_DEBUG, "%s: closed: %s", c->peer,
               xmppcore_strerror(reason));
    flush_push(c);
}

static const xmppcore_conn_callbacks conn_cbs = {
    XMPPCORE_CONN_CALLBACKS_VERSION, conn_want_write, conn_closed};

static void conn_finish(xmppcore_io *io, io_conn *c)
{
    if (c->in_flush) {
        io_conn **pp = &io->flush_head;
        while (*pp != c)
            pp = &(*pp)->next_flush;
        *pp = c->next_flush;
    }
    /* Freeing the connection may route (presence) and call back: keep
     * it off the flush list for good. */
    c->in_flush = true;
    if (c->deadline)
        io->n_lingering--;
    sock_close(io, &c->s);
    if (c->prev)
        c->prev->next = c->next;
    else
        io->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    io->n_conns--;
    xmppcore_conn_free(c->conn);
    free(c);
}

static void conn_write(xmppcore_io *io, io_conn *c)
{
    while (!c->write_failed) {
        size_t len;
        const void *out = xmppcore_conn_output(c->conn, &len);
        if (len == 0)
            break;
        ssize_t n = send(c->s.fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            xmppcore_conn_consume(c->conn, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        char eb[128];
        xi_log(io->server, XMPPCORE_LOG_DEBUG, "%s: write: %s", c->peer,
               errstr(errno, eb, sizeof eb));
        c->write_failed = true;
        if (!c->closed && !c->eof) {
            c->eof = true;
            xmppcore_conn_eof(c->conn); /* calls `closed` */
        }
    }
}

/* Writes c's output; then watches for writability if some is left, or
 * for a closed connection finishes it once all is written (or writing
 * failed or ran out of time). */
static void conn_flush(xmppcore_io *io, io_conn *c)
{
    conn_write(io, c);
    size_t left = 0;
    if (!c->write_failed)
        xmppcore_conn_output(c->conn, &left);
    if (c->closed) {
        if (left == 0 || c->write_failed ||
            (c->deadline && io->now >= c->deadline)) {
            conn_finish(io, c);
            return;
        }
        if (!c->deadline) {
            c->deadline = io->now + IO_LINGER_MS;
            io->n_lingering++;
        }
        if (io->shutting_down && io->shutdown_deadline < c->deadline)
            c->deadline = io->shutdown_deadline;
        if (sock_watch(io, &c->s, XMPPCORE_IO_WRITE) < 0)
            conn_finish(io, c);
        return;
    }
    int ev = (c->eof ? 0 : XMPPCORE_IO_READ) | (left ? XMPPCORE_IO_WRITE : 0);
    if (sock_watch(io, &c->s, ev) < 0) {
        xi_log(io->server, XMPPCORE_LOG_ERROR, "%s: the loop refused the "
               "socket", c->peer);
        c->write_failed = true;
        if (!c->eof) {
            c->eof = true;
            xmppcore_conn_eof(c->conn); /* calls `closed`: flushed again */
        }
    }
}

static void flush_all(xmppcore_io *io)
{
    /* Flushing may make output elsewhere (an eof routes presence):
     * repeat until nothing is pending. */
    while (io->flush_head) {
        io_conn *c = io->flush_head;
        io->flush_head = c->next_flush;
        c->in_flush = false;
        conn_flush(io, c);
    }
    /* Only while some linger: this runs after every event, and must not
     * cost O(connections) each time. */
    for (io_conn *c = io->n_lingering ? io->conns : NULL, *next; c; c = next) {
        next = c->next;
        if (c->closed && c->deadline && io->now >= c->deadline) {
            xi_log(io->server, XMPPCORE_LOG_DEBUG,
                   "%s: gave up writing the last bytes", c->peer);
            conn_finish(io, c);
        }
    }
    if (io->shutting_down && io->now >= io->shutdown_deadline) {
        while (io->conns)
            conn_finish(io, io->conns);
    }
}

/* ---- Entry points ---- */

static void io_destroy(xmppcore_io *io);

static void enter(xmppcore_io *io)
{
    io->busy++;
    io->now = mono_ms();
    /* Before anything is fed: the library stamps what it does with the
     * last time it was given. */
    xmppcore_server_tick(io->server, io->now);
}

static void rearm_timer(xmppcore_io *io)
{
    int64_t due = -1;
#define EARLIER(t) do { if ((t) >= 0 && (due < 0 || (t) < due)) due = (t); } while (0)
    int64_t t = xmppcore_server_next_timeout(io->server);
    if (t >= 0)
        EARLIER(io->now + t); /* relative to the tick at io->now */
    for (io_conn *c = io->n_lingering ? io->conns : NULL; c; c = c->next)
        if (c->closed && c->deadline)
            EARLIER(c->deadline);
    for (io_listen *l = io->listeners; l; l = l->next)
        if (l->paused_until)
            EARLIER(l->paused_until);
    if (io->shutting_down) {
        EARLIER(io->shutdown_deadline);
        if (io->n_conns == 0)
            EARLIER(io->now); /* complete on the next iteration */
    }
    if (io->flush_head)
        EARLIER(io->now);
#undef EARLIER
    int64_t ms = -1;
    if (due >= 0) {
        ms = due - mono_ms();
        if (ms < 0)
            ms = 0;
    }
    io->timer_now = ms == 0;
    io->hooks.set_timer(io->adapter, ms);
}

/* may_complete: false for xmppcore_io_shutdown(), whose `done` must not
 * run from inside the call. */
static void leave(xmppcore_io *io, bool may_complete)
{
    if (io->busy > 1) {
        io->busy--;
        return;
    }
    flush_all(io);
    if (may_complete && io->shutting_down && io->n_conns == 0) {
        io->shutting_down = false;
        xmppcore_io_done_fn done = io->done;
        io->done = NULL;
        if (done)
            done(io, io->done_ud); /* may ask to free io: deferred */
        flush_all(io);
    }
    io->busy--;
    if (io->free_pending) {
        io_destroy(io);
        return;
    }
    rearm_timer(io);
}

/* ---- Accepting ---- */

static void format_addr(const struct sockaddr_storage *ss, char *buf,
                        size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%d", ip, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(buf, len, "[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        snprintf(buf, len, "?");
    }
}

static void accept_one(xmppcore_io *io, io_listen *l, int fd,
                       const struct sockaddr_storage *ss)
{
    int one = 1;
    if (!l->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    io_conn *c = calloc(1, sizeof *c);
    if (!c || (size_t)fd >= (size_t)1 << 30) {
        free(c);
        close(fd);
        xi_log(io->server, XMPPCORE_LOG_ERROR, "%s: out of memory", l->addr);
        return;
    }
    c->io = io;
    c->s.kind = SOCK_CONN;
    c->s.fd = fd;
    format_addr(ss, c->peer, sizeof c->peer);
    if (table_put(io, &c->s) < 0) {
        close(fd);
        free(c);
        xi_log(io->server, XMPPCORE_LOG_ERROR, "%s: out of memory", l->addr);
        return;
    }
    c->next = io->conns;
    if (io->conns)
        io->conns->prev = c;
    io->conns = c;
    io->n_conns++;
    if (sock_watch(io, &c->s, XMPPCORE_IO_READ) < 0) {
        xi_log(io->server, XMPPCORE_LOG_ERROR,
               "%s: the loop refused the socket", c->peer);
        conn_finish(io, c);
        return;
    }
    c->conn = xmppcore_conn_new(l->listener, c->peer, &conn_cbs, c);
    if (!c->conn) {
        xi_log(io->server, XMPPCORE_LOG_ERROR,
               "%s: cannot create a connection", c->peer);
        conn_finish(io, c);
        return;
    }
    xi_log(io->server, XMPPCORE_LOG_DEBUG, "%s: accepted on %s", c->peer,
           l->addr);
}

static void listen_ready(xmppcore_io *io, io_listen *l)
{
    /* A bounded batch keeps a busy listener from starving connections
     * (level-triggered: the rest comes on the next event). */
    for (int i = 0; i < IO_ACCEPT_BATCH && !l->paused_until; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(l->s.fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(io, l, fd, &ss);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM)
            continue;
        char eb[128];
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            /* The connection stays in the backlog and would wake us at
             * once: stop accepting for a moment instead. */
            xi_log(io->server, XMPPCORE_LOG_WARNING,
                   "%s: accept: %s; pausing for %d ms", l->addr,
                   errstr(e, eb, sizeof eb), IO_ACCEPT_PAUSE_MS);
            l->paused_until = io->now + IO_ACCEPT_PAUSE_MS;
            sock_watch(io, &l->s, 0);
            return;
        }
        xi_log(io->server, XMPPCORE_LOG_ERROR, "%s: accept: %s", l->addr,
               errstr(e, eb, sizeof eb));
        return;
    }
}

static void resume_listeners(xmppcore_io *io)
{
    for (io_listen *l = io->listeners; l; l = l->next) {
        if (l->paused_until && io->now >= l->paused_until) {
            l->paused_until = 0;
            sock_watch(io, &l->s, XMPPCORE_IO_READ);
        }
    }
}

static void close_listeners(xmppcore_io *io)
{
    while (io->listeners) {
        io_listen *l = io->listeners;
        io->listeners = l->next;
        sock_close(io, &l->s);
        free(l);
    }
}

/* ---- Reading ---- */

static void conn_ready(xmppcore_io *io, io_conn *c, int events)
{
    if (events & (XMPPCORE_IO_WRITE | XMPPCORE_IO_ERROR))
        flush_push(c);
    if (c->closed || c->eof ||
        !(events & (XMPPCORE_IO_READ | XMPPCORE_IO_ERROR)))
        return;
    ssize_t n;
    do
        n = recv(c->s.fd, io->rbuf, IO_READ_BUF, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        xmppcore_conn_feed(c->conn, io->rbuf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0) {
        char eb[128];
        xi_log(io->server, XMPPCORE_LOG_DEBUG, "%s: read: %s", c->peer,
               errstr(errno, eb, sizeof eb));
    }
    /* End of input: stop reading (a level-triggered end of file would
     * spin); the library finishes the stream, its output may still go. */
    c->eof = true;
    flush_push(c);
    xmppcore_conn_eof(c->conn);
}

void xmppcore_io_ready(xmppcore_io *io, int fd, int events)
{
    if (!io || fd < 0 || (size_t)fd >= io->fds_cap || !io->fds[fd] ||
        io->free_pending)
        return;
    enter(io);
    io_sock *s = io->fds[fd];
    if (s->kind == SOCK_LISTEN)
        listen_ready(io, (io_listen *)s);
    else
        conn_ready(io, (io_conn *)s, events);
    leave(io, true);
}

void xmppcore_io_timeout(xmppcore_io *io)
{
    if (!io || io->free_pending)
        return;
    enter(io);
    io->timer_now = false;
    resume_listeners(io);
    leave(io, true); /* deadlines are checked there */
}

void xmppcore_io_wakeup(xmppcore_io *io)
{
    if (!io || io->free_pending)
        return;
    enter(io);
    xmppcore_mailbox_drain(io->mailbox);
    leave(io, true);
}

/* ---- The io ---- */

static void mailbox_wake(void *ud)
{
    xmppcore_io *io = ud;
    io->hooks.wake(io->adapter);
}

xmppcore_io *xmppcore_io_new(xmppcore_server *server,
                             const xmppcore_io_hooks *hooks, void *adapter)
{
    if (!server || !hooks || hooks->version < 1 || !hooks->watch ||
        !hooks->unwatch || !hooks->set_timer || !hooks->wake ||
        !hooks->cleanup)
        return NULL;
    xmppcore_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    io->server = server;
    io->hooks.version = XMPPCORE_IO_HOOKS_VERSION;
    io->hooks.watch = hooks->watch;
    io->hooks.unwatch = hooks->unwatch;
    io->hooks.set_timer = hooks->set_timer;
    io->hooks.wake = hooks->wake;
    io->hooks.cleanup = hooks->cleanup;
    io->adapter = adapter;
    io->rbuf = malloc(IO_READ_BUF);
    io->mailbox = xmppcore_mailbox_new(server, mailbox_wake, io);
    if (!io->rbuf || !io->mailbox) {
        xmppcore_mailbox_free(io->mailbox);
        free(io->rbuf);
        free(io);
        return NULL;
    }
    io->now = mono_ms();
    xmppcore_server_tick(server, io->now);
    return io;
}

static void io_destroy(xmppcore_io *io)
{
    io->busy = 1; /* no more timer requests from flush_push */
    close_listeners(io);
    io->flush_head = NULL;
    while (io->conns) {
        io->conns->in_flush = false;
        conn_finish(io, io->conns);
    }
    xmppcore_mailbox_free(io->mailbox);
    io->hooks.set_timer(io->adapter, -1);
    io->hooks.cleanup(io->adapter);
    free(io->fds);
    free(io->rbuf);
    free(io);
}

void xmppcore_io_free(xmppcore_io *io)
{
    if (!io)
        return;
    if (io->busy > 0) {
        io->free_pending = true; /* done when the entry point returns */
        return;
    }
    io_destroy(io);
}

int xmppcore_io_listen(xmppcore_io *io, xmppcore_listener *listener,
                       const char *ip, int port)
{
    if (!io)
        return XMPPCORE_E_INVAL;
    if (!listener)
        return io_fail(io, XMPPCORE_E_INVAL, "no listener");
    if (io->shutting_down)
        return io_fail(io, XMPPCORE_E_STATE, "shutting down");
    if (!ip)
        ip = "::";
    if (port < 0 || port > 65535)
        return io_fail(io, XMPPCORE_E_INVAL, "bad port %d", port);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        return io_fail(io, XMPPCORE_E_INVAL,
                       "\"%s\" is not an IPv4 or IPv6 address", ip);
    }
    char eb[128];
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0)
        return io_fail(io, XMPPCORE_E_IO, "%s: socket: %s", ip,
                       errstr(errno, eb, sizeof eb));
    int one = 1;
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &bl) < 0) {
        int e = errno;
        close(fd);
        return io_fail(io, XMPPCORE_E_IO, "%s port %d: %s", ip, port,
                       errstr(e, eb, sizeof eb));
    }
    int bound_port = ntohs(bound.ss_family == AF_INET
                               ? ((struct sockaddr_in *)&bound)->sin_port
                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    io_listen *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return io_fail(io, XMPPCORE_E_NOMEM, "out of memory");
    }
    l->s.kind = SOCK_LISTEN;
    l->s.fd = fd;
#ifdef __linux__
    /* Linux copies TCP_NODELAY to accepted sockets: one system call per
     * listener instead of one per connection. */
    l->nodelay =
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
#endif
    l->listener = listener;
    snprintf(l->addr, sizeof l->addr, ss.ss_family == AF_INET6 ? "[%s]:%d"
                                                               : "%s:%d",
             ip, bound_port);
    int rc = table_put(io, &l->s);
    if (rc == 0 && (rc = sock_watch(io, &l->s, XMPPCORE_IO_READ)) < 0)
        io->fds[fd] = NULL;
    if (rc < 0) {
        io_fail(io, rc, "%s: cannot watch the socket: %s", l->addr,
                xmppcore_strerror(rc));
        close(fd);
        free(l);
        return rc;
    }
    l->next = io->listeners;
    io->listeners = l;
    return bound_port;
}

int xmppcore_io_shutdown(xmppcore_io *io, int timeout_ms,
                         xmppcore_io_done_fn done, void *user_data)
{
    if (!io)
        return XMPPCORE_E_INVAL;
    if (io->shutting_down || io->free_pending)
        return io_fail(io, XMPPCORE_E_STATE, "already shutting down");
    enter(io);
    io->shutting_down = true;
    io->shutdown_deadline = io->now + (timeout_ms < 0 ? IO_LINGER_MS
                                                      : timeout_ms);
    io->done = done;
    io->done_ud = user_data;
    close_listeners(io);
    xi_log(io->server, XMPPCORE_LOG_INFO, "closing %zu connection(s)",
           io->n_conns);
    for (io_conn *c = io->conns; c; c = c->next) {
        if (!c->closed)
            xmppcore_conn_close(c->conn, "system-shutdown");
        if (!c->deadline || io->shutdown_deadline < c->deadline) {
            if (!c->deadline)
                io->n_lingering++;
            c->deadline = io->shutdown_deadline;
        }
    }
    leave(io, false);
    return 0;
}

xmppcore_mailbox *xmppcore_io_mailbox(xmppcore_io *io)
{
    return io ? io->mailbox : NULL;
}

size_t xmppcore_io_conn_count(const xmppcore_io *io)
{
    return io ? io->n_conns : 0;
}

xmppcore_server *xmppcore_io_server(const xmppcore_io *io)
{
    return io ? io->server : NULL;
}

const char *xmppcore_io_last_error(const xmppcore_io *io)
{
    return io ? io->err : "";
}

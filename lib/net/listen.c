/*
 * TCP listeners and the connections they accept: one xmppcore_conn per
 * socket; bytes read into the loop's buffer go to xmppcore_conn_feed();
 * output is written at the end of the iteration in which it appeared,
 * and EPOLLOUT is asked for only while a write would block. A closed
 * connection writes what remains for up to two seconds, then its socket
 * is closed and the connection freed — always here, outside the
 * library's callbacks.
 */
#define _GNU_SOURCE /* accept4 */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct xi_listen {
    struct xi_watch w;
    xmppcore_listener *listener;
    char addr[64];
    uint64_t pause_timer;
    struct xi_listen *next;
};

struct xi_nconn {
    struct xi_watch w;
    xmppcore_loop *loop;
    xmppcore_conn *conn;
    struct xi_nconn *prev, *next;  /* loop->conns */
    struct xi_nconn *next_flush;
    bool in_flush;
    bool closed;       /* the closed callback came */
    bool eof;          /* input ended; xmppcore_conn_eof() called */
    bool write_failed;
    int64_t deadline;  /* closed: give up writing then (0: not set) */
    char peer[64];
};

/* ---- Writing and closing ---- */

static void flush_push(struct xi_nconn *c)
{
    if (c->in_flush)
        return;
    c->in_flush = true;
    c->next_flush = c->loop->flush_head;
    c->loop->flush_head = c;
}

static void conn_want_write(xmppcore_conn *conn, void *ud)
{
    (void)conn;
    flush_push(ud);
}

static void conn_closed(xmppcore_conn *conn, int reason, void *ud)
{
    (void)conn;
    struct xi_nconn *c = ud;
    c->closed = true;
    if (reason != 0)
        xi_loop_log(c->loop, XMPPCORE_LOG_DEBUG, "%s: closed: %s", c->peer,
                    xmppcore_strerror(reason));
    flush_push(c);
}

static const xmppcore_conn_callbacks conn_cbs = {
    XMPPCORE_CONN_CALLBACKS_VERSION, conn_want_write, conn_closed};

static void conn_finish(xmppcore_loop *loop, struct xi_nconn *c)
{
    if (c->in_flush) {
        struct xi_nconn **pp = &loop->flush_head;
        while (*pp != c)
            pp = &(*pp)->next_flush;
        *pp = c->next_flush;
    }
    if (c->deadline)
        loop->n_lingering--;
    xi_watch_del(loop, &c->w);
    close(c->w.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop->n_conns--;
    xmppcore_conn_free(c->conn);
    free(c);
}

/* Writes as much output as the socket takes. */
static void conn_write(xmppcore_loop *loop, struct xi_nconn *c)
{
    while (!c->write_failed) {
        size_t len;
        const void *out = xmppcore_conn_output(c->conn, &len);
        if (len == 0)
            break;
        ssize_t n = send(c->w.fd, out, len, MSG_NOSIGNAL);
        if (n > 0) {
            xmppcore_conn_consume(c->conn, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        char eb[128];
        xi_loop_log(loop, XMPPCORE_LOG_DEBUG, "%s: write: %s", c->peer,
                    xi_net_strerror(errno, eb, sizeof eb));
        c->write_failed = true;
        if (!c->closed && !c->eof) {
            c->eof = true;
            xmppcore_conn_eof(c->conn); /* the socket failed */
        }
    }
}

/* Writes c's output, then arms EPOLLOUT if some is left, or for a
 * closed connection closes the socket and frees it when all is written
 * (or writing failed or timed out). */
static void conn_flush(xmppcore_loop *loop, struct xi_nconn *c)
{
    conn_write(loop, c);
    size_t left = 0;
    if (!c->write_failed)
        xmppcore_conn_output(c->conn, &left);
    if (c->closed) {
        if (left == 0 || c->write_failed ||
            (c->deadline && loop->now >= c->deadline)) {
            conn_finish(loop, c);
            return;
        }
        if (!c->deadline) {
            c->deadline = loop->now + XI_NET_LINGER_MS;
            loop->n_lingering++;
        }
        if (loop->shutting_down && loop->shutdown_deadline < c->deadline)
            c->deadline = loop->shutdown_deadline;
        /* Only writing is left: stop reading. */
        xi_watch_mod(loop, &c->w, EPOLLOUT);
        return;
    }
    uint32_t ev = (c->eof ? 0 : EPOLLIN | EPOLLRDHUP) | (left ? EPOLLOUT : 0);
    xi_watch_mod(loop, &c->w, ev);
}

void xi_net_flush(xmppcore_loop *loop)
{
    /* Flushing may make output or close connections elsewhere (an eof
     * routes presence): repeat until nothing is pending. */
    while (loop->flush_head) {
        struct xi_nconn *c = loop->flush_head;
        loop->flush_head = c->next_flush;
        c->in_flush = false;
        conn_flush(loop, c);
    }
    /* Closed connections whose time to write ran out (the scan only runs
     * while some are lingering: it must not cost every iteration O(n)). */
    for (struct xi_nconn *c = loop->n_lingering ? loop->conns : NULL, *next;
         c; c = next) {
        next = c->next;
        if (c->closed && !c->in_flush && c->deadline &&
            loop->now >= c->deadline) {
            xi_loop_log(loop, XMPPCORE_LOG_DEBUG,
                        "%s: gave up writing the last bytes", c->peer);
            conn_finish(loop, c);
        }
    }
    if (loop->shutting_down && loop->now >= loop->shutdown_deadline) {
        while (loop->conns)
            conn_finish(loop, loop->conns);
    }
}

int64_t xi_net_next_deadline(xmppcore_loop *loop)
{
    int64_t d = -1;
    if (!loop->n_lingering)
        return -1;
    for (struct xi_nconn *c = loop->conns; c; c = c->next)
        if (c->closed && c->deadline && (d < 0 || c->deadline < d))
            d = c->deadline;
    return d;
}

/* ---- Reading ---- */

static void conn_io(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    struct xi_nconn *c = (struct xi_nconn *)w;
    if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        flush_push(c);
    if (c->closed || c->eof || !(ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
        return;
    ssize_t n;
    do
        n = recv(w->fd, loop->rbuf, XI_NET_READ_BUF, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        xmppcore_conn_feed(c->conn, loop->rbuf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0) {
        char eb[128];
        xi_loop_log(loop, XMPPCORE_LOG_DEBUG, "%s: read: %s", c->peer,
                    xi_net_strerror(errno, eb, sizeof eb));
    }
    /* End of input: stop reading (level-triggered EOF would spin) and
     * let the library finish the stream; its output may still go out. */
    c->eof = true;
    flush_push(c);
    xmppcore_conn_eof(c->conn);
}

/* ---- Accepting ---- */

static void format_addr(const struct sockaddr_storage *ss, char *buf,
                        size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(buf, len, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(buf, len, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, len, "?");
    }
}

static void accept_resume(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    struct xi_listen *l = ud;
    l->pause_timer = 0;
    xi_watch_mod(loop, &l->w, EPOLLIN);
}

static void accept_one(xmppcore_loop *loop, struct xi_listen *l, int fd,
                       const struct sockaddr_storage *ss)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct xi_nconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        xi_loop_log(loop, XMPPCORE_LOG_ERROR, "%s: out of memory", l->addr);
        return;
    }
    c->loop = loop;
    c->w.fd = fd;
    c->w.io = conn_io;
    format_addr(ss, c->peer, sizeof c->peer);
    if (xi_watch_add(loop, &c->w, EPOLLIN | EPOLLRDHUP) < 0) {
        xi_loop_log(loop, XMPPCORE_LOG_ERROR, "%s: %s", c->peer, loop->err);
        close(fd);
        free(c);
        return;
    }
    c->next = loop->conns;
    if (loop->conns)
        loop->conns->prev = c;
    loop->conns = c;
    loop->n_conns++;
    c->conn = xmppcore_conn_new(l->listener, c->peer, &conn_cbs, c);
    if (!c->conn) {
        xi_loop_log(loop, XMPPCORE_LOG_ERROR,
                    "%s: cannot create a connection", c->peer);
        conn_finish(loop, c);
        return;
    }
    xi_loop_log(loop, XMPPCORE_LOG_DEBUG, "%s: accepted on %s", c->peer,
                l->addr);
}

static void listen_io(xmppcore_loop *loop, struct xi_watch *w, uint32_t ev)
{
    (void)ev;
    struct xi_listen *l = (struct xi_listen *)w;
    /* A bounded batch per event keeps one busy listener from starving
     * the connections (level-triggered: the rest comes next time). */
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(loop, l, fd, &ss);
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            return;
        if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM)
            continue;
        char eb[128];
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            /* The pending connection stays in the backlog and would wake
             * us at once: stop listening for a moment instead. */
            xi_loop_log(loop, XMPPCORE_LOG_WARNING,
                        "%s: accept: %s; pausing for %d ms", l->addr,
                        xi_net_strerror(e, eb, sizeof eb),
                        XI_NET_ACCEPT_PAUSE_MS);
            if (l->pause_timer == 0 &&
                xmppcore_loop_add_timer(loop, XI_NET_ACCEPT_PAUSE_MS, 0,
                                        accept_resume, l,
                                        &l->pause_timer) == 0)
                xi_watch_mod(loop, &l->w, 0);
            return;
        }
        xi_loop_log(loop, XMPPCORE_LOG_ERROR, "%s: accept: %s", l->addr,
                    xi_net_strerror(e, eb, sizeof eb));
        return;
    }
}

int xmppcore_loop_listen(xmppcore_loop *loop, xmppcore_listener *listener,
                         const char *ip, int port)
{
    if (!loop)
        return XMPPCORE_E_INVAL;
    if (!loop->server || !listener)
        return xi_loop_fail(loop, XMPPCORE_E_INVAL,
                            "no server or no listener");
    if (!ip)
        ip = "::";
    if (port < 0 || port > 65535)
        return xi_loop_fail(loop, XMPPCORE_E_INVAL, "bad port %d", port);
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
        return xi_loop_fail(loop, XMPPCORE_E_INVAL,
                            "\"%s\" is not an IPv4 or IPv6 address", ip);
    }
    char addr[64];
    if (ss.ss_family == AF_INET6)
        snprintf(addr, sizeof addr, "[%s]:%d", ip, port);
    else
        snprintf(addr, sizeof addr, "%s:%d", ip, port);
    char eb[128];
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0)
        return xi_loop_fail(loop, XMPPCORE_E_IO, "%s: socket: %s", addr,
                            xi_net_strerror(errno, eb, sizeof eb));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)) {
        int e = errno;
        close(fd);
        return xi_loop_fail(loop, XMPPCORE_E_IO, "%s: setsockopt: %s", addr,
                            xi_net_strerror(e, eb, sizeof eb));
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        close(fd);
        return xi_loop_fail(loop, XMPPCORE_E_IO, "%s: %s", addr,
                            xi_net_strerror(e, eb, sizeof eb));
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) < 0) {
        int e = errno;
        close(fd);
        return xi_loop_fail(loop, XMPPCORE_E_IO, "%s: getsockname: %s", addr,
                            xi_net_strerror(e, eb, sizeof eb));
    }
    int bound_port = ntohs(bound.ss_family == AF_INET
                               ? ((struct sockaddr_in *)&bound)->sin_port
                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    struct xi_listen *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return xi_loop_fail(loop, XMPPCORE_E_NOMEM, "out of memory");
    }
    l->w.fd = fd;
    l->w.io = listen_io;
    l->listener = listener;
    if (ss.ss_family == AF_INET6)
        snprintf(l->addr, sizeof l->addr, "[%s]:%d", ip, bound_port);
    else
        snprintf(l->addr, sizeof l->addr, "%s:%d", ip, bound_port);
    int rc = xi_watch_add(loop, &l->w, EPOLLIN);
    if (rc < 0) {
        close(fd);
        free(l);
        return rc;
    }
    l->next = loop->listeners;
    loop->listeners = l;
    return bound_port;
}

size_t xmppcore_loop_conn_count(const xmppcore_loop *loop)
{
    return loop ? loop->n_conns : 0;
}

static void close_listeners(xmppcore_loop *loop)
{
    while (loop->listeners) {
        struct xi_listen *l = loop->listeners;
        loop->listeners = l->next;
        if (l->pause_timer)
            xmppcore_loop_cancel_timer(loop, l->pause_timer);
        xi_watch_del(loop, &l->w);
        close(l->w.fd);
        free(l);
    }
}

void xi_net_shutdown_begin(xmppcore_loop *loop)
{
    close_listeners(loop);
    xi_loop_log(loop, XMPPCORE_LOG_INFO, "closing %zu connection(s)",
                loop->n_conns);
    for (struct xi_nconn *c = loop->conns; c; c = c->next) {
        if (!c->closed)
            xmppcore_conn_close(c->conn, "system-shutdown");
        if (c->closed && (!c->deadline || loop->shutdown_deadline < c->deadline)) {
            if (!c->deadline)
                loop->n_lingering++;
            c->deadline = loop->shutdown_deadline;
        }
    }
}

void xi_net_free_all(xmppcore_loop *loop)
{
    close_listeners(loop);
    loop->flush_head = NULL;
    while (loop->conns)
        conn_finish(loop, loop->conns);
}

/*
 * lib/net internals of loop.c (epoll, timers, posts, signals, and the
 * xmppcore_io adapter hooks that drive the server's sockets). Not
 * installed.
 */
#ifndef XI_NET_INT_H
#define XI_NET_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "net/net_config.h"
#include "xmppcore/io.h"
#include "xmppcore/net.h"

/* How long connections may take to write their last bytes at shutdown. */
#define XI_NET_LINGER_MS 2000

struct xi_watch;
/* Called with the epoll events that happened on w's fd. */
typedef void (*xi_watch_io_fn)(xmppcore_loop *loop, struct xi_watch *w,
                               uint32_t events);

/* One watched fd. Embedded as the first member of what owns the fd. */
struct xi_watch {
    int fd;
    uint32_t gen;       /* tells a reused fd from the one an event was for */
    uint32_t events;    /* epoll events currently asked for */
    xi_watch_io_fn io;
};

struct xi_timer;
struct xi_post;
struct xi_listen;
struct xi_nconn;

struct xmppcore_loop {
    xmppcore_server *server;
    xmppcore_loop_callbacks cb;
    void *user_data;

    int epfd;
    struct xi_watch wake;   /* eventfd: stop, shutdown, posts */
    struct xi_watch sig;    /* signalfd (fd -1 until catch_signals) */
    sigset_t old_mask;

    struct xi_watch **fds;  /* indexed by fd */
    size_t fds_cap;
    uint32_t gen;

    struct xi_timer **heap; /* by (due, seq) */
    size_t n_heap, cap_heap;
    uint64_t next_timer_id;
    uint64_t timer_seq;
    struct xi_timer *running_timer;

    pthread_mutex_t post_mu;
    struct xi_post *post_head, *post_tail;
    xmppcore_io *io;           /* with a server: its sockets */
    uint64_t io_timer;         /* the io's timer (0: none) */
    int64_t io_due;            /* when it is due (ms, mono) */

    atomic_int stop_req;
    atomic_int shutdown_req;
    atomic_int shutdown_ms;
    bool running;
    bool shutting_down;
    bool shutdown_done;

    int64_t now;
    char err[256];
};

/* Records a message for xmppcore_loop_last_error() and returns code. */
int xi_loop_fail(xmppcore_loop *loop, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Logs through the loop's log callback. */
void xi_loop_log(xmppcore_loop *loop, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* strerror without the thread-safety trap. */
const char *xi_net_strerror(int err, char *buf, size_t len);

/* Registers, changes and removes an internal watch (w->fd set). */
int xi_watch_add(xmppcore_loop *loop, struct xi_watch *w, uint32_t events);
int xi_watch_mod(xmppcore_loop *loop, struct xi_watch *w, uint32_t events);
void xi_watch_del(xmppcore_loop *loop, struct xi_watch *w);



#endif

/*
 * lib/net internals shared by loop.c (epoll, timers, posts, signals) and
 * listen.c (listeners and the connections they accept). Not installed.
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
#include "xmppcore/net.h"

/* Size of the per-loop read buffer every connection reads into. */
#define XI_NET_READ_BUF (64 * 1024)
/* How long a closed connection may take to write its last bytes. */
#define XI_NET_LINGER_MS 2000
/* How long accepting pauses after EMFILE and the like. */
#define XI_NET_ACCEPT_PAUSE_MS 100

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
    xmppcore_mailbox *mailbox; /* with a server: stanzas and functions */

    atomic_int stop_req;
    atomic_int shutdown_req;
    atomic_int shutdown_ms;
    bool running;
    bool shutting_down;
    int64_t shutdown_deadline;

    int64_t now;
    char err[256];
    unsigned char *rbuf;

    /* listen.c */
    struct xi_listen *listeners;
    struct xi_nconn *conns;       /* every open connection */
    size_t n_conns;
    struct xi_nconn *flush_head;  /* connections with output or closed */
    size_t n_lingering;           /* closed, still writing (deadline set) */
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

#if XI_NET_HAVE_SERVER
/* listen.c: called by loop.c at its points of the iteration. */
void xi_net_flush(xmppcore_loop *loop);          /* writes, closes, frees */
int64_t xi_net_next_deadline(xmppcore_loop *loop); /* -1: none */
void xi_net_shutdown_begin(xmppcore_loop *loop);
void xi_net_free_all(xmppcore_loop *loop);       /* listeners + conns */
#endif

#endif

/*
 * Tests for xmppcore_io through a real adapter (built once with
 * -DADAPTER_UV against libxmppcore-uv, once with -DADAPTER_EVENT against
 * libxmppcore-event): a raw client gets its stream features, a thread
 * posts many functions into the mailbox while the loop runs, a graceful
 * shutdown sends system-shutdown and completes through `done`, which
 * frees the io; freeing from a drained function without a shutdown; the
 * loop ends by itself once the adapter is gone (libuv: uv_loop_close()
 * succeeds, so every handle was closed).
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#if defined(ADAPTER_UV)
#include "xmppcore/adapters/libuv.h"
#elif defined(ADAPTER_EVENT)
#include "xmppcore/adapters/libevent.h"
#else
#error "build with -DADAPTER_UV or -DADAPTER_EVENT"
#endif

/* ---- The host loop, either kind ---- */

typedef struct host host;
static void watchdog_fired(host *h);

struct host {
#if defined(ADAPTER_UV)
    uv_loop_t loop;
    uv_timer_t watchdog;
#else
    struct event_base *base;
    struct event *watchdog;
#endif
    xmppcore_server *srv;
    xmppcore_io *io;
    int port;
    atomic_int ran;          /* posted functions run */
    atomic_int client_ready; /* the client saw its features */
    int shutdown_started;
    int done_calls;
    int timed_out;
    int free_instead;        /* test 2: free from a drained function */
};

#if defined(ADAPTER_UV)
static void wd_cb(uv_timer_t *t)
{
    watchdog_fired(t->data);
}
static int host_init(host *h)
{
    if (uv_loop_init(&h->loop) != 0)
        return -1;
    uv_timer_init(&h->loop, &h->watchdog);
    h->watchdog.data = h;
    uv_timer_start(&h->watchdog, wd_cb, 10000, 0);
    return xmppcore_uv_attach(&h->loop, h->srv, &h->io);
}
static void host_run(host *h)
{
    uv_run(&h->loop, UV_RUN_DEFAULT);
}
static void host_stop_watchdog(host *h)
{
    uv_close((uv_handle_t *)&h->watchdog, NULL);
}
static void host_break(host *h)
{
    uv_stop(&h->loop);
}
static void host_fini(host *h)
{
    /* Every handle of the adapter closed and freed by now. */
    uv_run(&h->loop, UV_RUN_DEFAULT);
    CHECK_EQ_INT(uv_loop_close(&h->loop), 0);
}
#else
static void wd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watchdog_fired(arg);
}
static int host_init(host *h)
{
    h->base = event_base_new();
    if (!h->base)
        return -1;
    h->watchdog = evtimer_new(h->base, wd_cb, h);
    struct timeval tv = {10, 0};
    evtimer_add(h->watchdog, &tv);
    return xmppcore_event_attach(h->base, h->srv, &h->io);
}
static void host_run(host *h)
{
    event_base_dispatch(h->base);
}
static void host_stop_watchdog(host *h)
{
    evtimer_del(h->watchdog);
}
static void host_break(host *h)
{
    event_base_loopbreak(h->base);
}
static void host_fini(host *h)
{
    /* Nothing of the adapter is left: the base has no events. */
    CHECK_EQ_INT(event_base_dispatch(h->base), 1);
    event_free(h->watchdog);
    event_base_free(h->base);
}
#endif

static void watchdog_fired(host *h)
{
    h->timed_out = 1;
    CHECK(!"the test timed out");
    xmppcore_io_free(h->io);
    h->io = NULL;
    host_break(h);
}

/* ---- The raw client (a thread with blocking, time-limited I/O) ---- */

typedef struct {
    host *h;
    char buf[8192];
    size_t n;
    int saw_features;
    int saw_eof;
} client;

static void client_post_ready(void *ud);

static void *client_main(void *arg)
{
    client *c = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)c->h->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    const char *hdr = "<?xml version='1.0'?><stream:stream to='localhost' "
                      "xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' "
                      "version='1.0'>";
    if (write(fd, hdr, strlen(hdr)) < 0) {
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, c->buf + c->n, sizeof c->buf - 1 - c->n);
        if (r == 0)
            c->saw_eof = 1;
        if (r <= 0)
            break;
        c->n += (size_t)r;
        c->buf[c->n] = '\0';
        if (!c->saw_features && strstr(c->buf, "</stream:features>")) {
            c->saw_features = 1;
            /* Tell the loop, through the mailbox, from this thread. */
            xmppcore_mailbox_post_fn(xmppcore_io_mailbox(c->h->io),
                                     client_post_ready, c->h);
        }
    }
    close(fd);
    return NULL;
}

/* ---- The posting thread ---- */

#define N_POSTS 20000

static void maybe_finish(host *h);

static void posted(void *ud)
{
    host *h = ud;
    atomic_fetch_add(&h->ran, 1);
    maybe_finish(h);
}

static void client_post_ready(void *ud)
{
    host *h = ud;
    atomic_store(&h->client_ready, 1);
    maybe_finish(h);
}

static void *producer(void *arg)
{
    host *h = arg;
    for (int i = 0; i < N_POSTS; i++)
        if (xmppcore_mailbox_post_fn(xmppcore_io_mailbox(h->io), posted, h) != 0)
            CHECK(!"post failed");
    return NULL;
}

static void shutdown_done(xmppcore_io *io, void *ud)
{
    host *h = ud;
    h->done_calls++;
    CHECK(io == h->io);
    CHECK_EQ_INT(xmppcore_io_conn_count(io), 0);
    host_stop_watchdog(h);
    xmppcore_io_free(io); /* from inside `done`: completes afterwards */
    h->io = NULL;
}

static void maybe_finish(host *h)
{
    if (h->shutdown_started || atomic_load(&h->ran) < N_POSTS ||
        !atomic_load(&h->client_ready))
        return;
    h->shutdown_started = 1;
    CHECK_EQ_INT(xmppcore_io_conn_count(h->io), 1);
    if (h->free_instead) {
        host_stop_watchdog(h);
        xmppcore_io_free(h->io); /* from a drained function */
        h->io = NULL;
        return;
    }
    CHECK_EQ_INT(xmppcore_io_shutdown(h->io, 2000, shutdown_done, h), 0);
    CHECK_EQ_INT(h->done_calls, 0); /* never from inside the call */
    CHECK_EQ_INT(xmppcore_io_shutdown(h->io, 2000, shutdown_done, h),
                 XMPPCORE_E_STATE);
}

static xmppcore_server *plain_server(xmppcore_listener **l)
{
    xmppcore_server *srv = xmppcore_server_new(NULL, NULL, NULL);
    if (!srv)
        return NULL;
    xmppcore_server_add_vhost(srv, "localhost");
    *l = xmppcore_server_add_listener(srv, "c2s", XMPPCORE_LISTEN_C2S);
    xmppcore_listener_set_option(*l, "starttls", "false");
    xmppcore_listener_set_option(*l, "starttls_required", "false");
    return srv;
}

static void run_case(int free_instead)
{
    host *h = calloc(1, sizeof *h);
    xmppcore_listener *l = NULL;
    h->srv = plain_server(&l);
    h->free_instead = free_instead;
    CHECK(h->srv != NULL);
    CHECK_EQ_INT(host_init(h), 0);
    CHECK(h->io != NULL);
    if (!h->io) {
        free(h);
        return;
    }
    CHECK(xmppcore_io_server(h->io) == h->srv);
    h->port = xmppcore_io_listen(h->io, l, "127.0.0.1", 0);
    CHECK(h->port > 0);
    CHECK_EQ_INT(xmppcore_io_listen(h->io, l, "nonsense", 0), XMPPCORE_E_INVAL);
    CHECK(strstr(xmppcore_io_last_error(h->io), "nonsense") != NULL);
    CHECK_EQ_INT(xmppcore_io_listen(h->io, l, "127.0.0.1", h->port), XMPPCORE_E_IO);
    CHECK_EQ_INT(xmppcore_io_listen(h->io, NULL, "127.0.0.1", 0), XMPPCORE_E_INVAL);
    client c = {.h = h};
    pthread_t ct, pt;
    CHECK_EQ_INT(pthread_create(&ct, NULL, client_main, &c), 0);
    CHECK_EQ_INT(pthread_create(&pt, NULL, producer, h), 0);
    host_run(h);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    CHECK(!h->timed_out);
    CHECK(h->io == NULL);
    CHECK_EQ_INT(atomic_load(&h->ran), N_POSTS);
    CHECK(c.saw_features);
    CHECK(c.saw_eof);
    if (free_instead) {
        CHECK_EQ_INT(h->done_calls, 0);
        CHECK(strstr(c.buf, "system-shutdown") == NULL);
    } else {
        CHECK_EQ_INT(h->done_calls, 1);
        CHECK(strstr(c.buf, "<stream:error><system-shutdown") != NULL);
        CHECK(strstr(c.buf, "</stream:stream>") != NULL);
    }
    host_fini(h);
    xmppcore_server_free(h->srv);
    free(h);
}

static void test_shutdown_with_client_and_posts(void)
{
    run_case(0);
}

static void test_free_from_drained_function(void)
{
    run_case(1);
}

static int nop_watch(void *a, int fd, int ev, void **h)
{
    (void)a, (void)fd, (void)ev, (void)h;
    return 0;
}
static void nop_unwatch(void *a, int fd, void *h)
{
    (void)a, (void)fd, (void)h;
}
static void nop_timer(void *a, int64_t ms)
{
    (void)a, (void)ms;
}
static void nop(void *a)
{
    (void)a;
}

static void test_bad_arguments(void)
{
    xmppcore_listener *l;
    xmppcore_server *srv = plain_server(&l);
    xmppcore_io *io = (xmppcore_io *)1;
#if defined(ADAPTER_UV)
    CHECK_EQ_INT(xmppcore_uv_attach(NULL, srv, &io), XMPPCORE_E_INVAL);
#else
    CHECK_EQ_INT(xmppcore_event_attach(NULL, srv, &io), XMPPCORE_E_INVAL);
#endif
    CHECK(io == NULL);
    xmppcore_io_hooks hk = {XMPPCORE_IO_HOOKS_VERSION, nop_watch, nop_unwatch,
                            nop_timer, nop, NULL};
    CHECK(xmppcore_io_new(srv, &hk, NULL) == NULL); /* no cleanup hook */
    hk.cleanup = nop;
    hk.version = 0;
    CHECK(xmppcore_io_new(srv, &hk, NULL) == NULL);
    hk.version = XMPPCORE_IO_HOOKS_VERSION;
    io = xmppcore_io_new(srv, &hk, NULL);
    CHECK(io != NULL);
    CHECK(xmppcore_io_mailbox(io) != NULL);
    CHECK_EQ_INT(xmppcore_io_conn_count(io), 0);
    /* Calls for fds the io does not know are ignored. */
    xmppcore_io_ready(io, 12345, XMPPCORE_IO_READ);
    xmppcore_io_free(io);
    xmppcore_io_free(NULL);
    xmppcore_server_free(srv);
}

TEST_MAIN(TEST_ENTRY(test_bad_arguments),
          TEST_ENTRY(test_shutdown_with_client_and_posts),
          TEST_ENTRY(test_free_from_drained_function))

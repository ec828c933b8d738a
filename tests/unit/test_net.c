/* Tests for lib/net: timers, host fds, posts, stop, signals, listeners. */
#include "testlib.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net_config.h"
#include "xmppcore/net.h"

#if XI_NET_HAVE_SERVER
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#endif

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Timers ---- */

typedef struct {
    int order[16];
    int n;
    int64_t at[16];
    uint64_t ids[16];
    int repeat_runs;
    uint64_t repeat_id;
} timer_log;

static timer_log *g_tl;

static void timer_rec(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)loop;
    (void)id;
    int tag = (int)(intptr_t)ud;
    if (g_tl->n < 16) {
        g_tl->at[g_tl->n] = now_ms();
        g_tl->order[g_tl->n++] = tag;
    }
}

static void timer_stop(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    (void)ud;
    xmppcore_loop_stop(loop);
}

static void test_timers_order(void)
{
    timer_log tl = {0};
    g_tl = &tl;
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    int64_t t0 = now_ms();
    uint64_t id30, id10a, id20, id10b, idx, idstop;
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 30, 0, timer_rec, (void *)30, &id30), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 10, 0, timer_rec, (void *)10, &id10a), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 20, 0, timer_rec, (void *)20, &id20), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 10, 0, timer_rec, (void *)11, &id10b), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 15, 0, timer_rec, (void *)99, &idx), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 50, 0, timer_stop, NULL, &idstop), 0);
    CHECK(id30 > 0 && id10a != id30 && id20 != id10a && idx != id10b);
    CHECK_EQ_INT(xmppcore_loop_cancel_timer(loop, idx), 0);
    CHECK_EQ_INT(xmppcore_loop_cancel_timer(loop, idx), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK_EQ_INT(tl.n, 4);
    int want[] = {10, 11, 20, 30};
    for (int i = 0; i < 4 && i < tl.n; i++)
        CHECK_EQ_INT(tl.order[i], want[i]);
    /* Never early. */
    CHECK(tl.at[0] - t0 >= 10);
    CHECK(tl.at[3] - t0 >= 30);
    CHECK(now_ms() - t0 >= 50);
    /* A one-shot timer that ran is gone. */
    CHECK_EQ_INT(xmppcore_loop_cancel_timer(loop, id10a), XMPPCORE_E_NOTFOUND);
    /* Bad arguments. */
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, -1, 0, timer_rec, NULL, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 0, 1, timer_rec, NULL, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 5, 0, NULL, NULL, NULL), XMPPCORE_E_INVAL);
    xmppcore_loop_free(loop);
}

static void timer_repeat(xmppcore_loop *loop, uint64_t id, void *ud)
{
    timer_log *tl = ud;
    tl->repeat_runs++;
    if (tl->repeat_runs == 3) {
        CHECK_EQ_INT(xmppcore_loop_cancel_timer(loop, id), 0);
        /* A zero-delay timer added from a callback runs on a later
         * iteration, and ends the test. */
        CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 0, 0, timer_stop, NULL, NULL), 0);
    }
}

static void test_timers_repeat_cancel_self(void)
{
    timer_log tl = {0};
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    int64_t t0 = now_ms();
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 5, 1, timer_repeat, &tl, &tl.repeat_id), 0);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK_EQ_INT(tl.repeat_runs, 3);
    CHECK(now_ms() - t0 >= 15);
    CHECK_EQ_INT(xmppcore_loop_cancel_timer(loop, tl.repeat_id), XMPPCORE_E_NOTFOUND);
    /* Timers left pending are freed with the loop (ASan checks). */
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 100000, 0, timer_rec, NULL, NULL), 0);
    xmppcore_loop_free(loop);
}

/* ---- Host fds ---- */

typedef struct {
    int sv[2];
    char got[64];
    size_t n;
    int writable;
    int errors;
    int reads;
} fd_state;

static void fd_cb(xmppcore_loop *loop, int fd, int events, void *ud)
{
    fd_state *s = ud;
    if (events & XMPPCORE_LOOP_READ) {
        s->reads++;
        ssize_t r = read(fd, s->got + s->n, sizeof s->got - 1 - s->n);
        if (r > 0)
            s->n += (size_t)r;
        if (s->n >= 5) {
            /* Done reading: ask for writability instead. */
            CHECK_EQ_INT(xmppcore_loop_mod_fd(loop, fd, XMPPCORE_LOOP_WRITE), 0);
        }
        if (r == 0) {
            CHECK_EQ_INT(xmppcore_loop_del_fd(loop, fd), 0);
            xmppcore_loop_stop(loop);
        }
    }
    if (events & XMPPCORE_LOOP_WRITE) {
        s->writable++;
        /* Back to reading; the peer's close ends the test. */
        CHECK_EQ_INT(xmppcore_loop_mod_fd(loop, fd, XMPPCORE_LOOP_READ), 0);
        close(s->sv[1]);
        s->sv[1] = -1;
    }
    if (events & XMPPCORE_LOOP_ERROR)
        s->errors++;
}

static void test_fd_socketpair(void)
{
    fd_state s = {0};
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s.sv), 0);
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.sv[0], XMPPCORE_LOOP_READ, fd_cb, &s), 0);
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.sv[0], XMPPCORE_LOOP_READ, fd_cb, &s),
                 XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, -1, XMPPCORE_LOOP_READ, fd_cb, &s), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.sv[1], 8, fd_cb, &s), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_loop_mod_fd(loop, s.sv[1], XMPPCORE_LOOP_READ), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_loop_del_fd(loop, s.sv[1]), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(write(s.sv[1], "hello", 5), 5);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    s.got[s.n] = '\0';
    CHECK_STR(s.got, "hello");
    CHECK_EQ_INT(s.writable, 1);
    CHECK(s.reads >= 2);
    CHECK_EQ_INT(xmppcore_loop_del_fd(loop, s.sv[0]), XMPPCORE_E_NOTFOUND);
    /* A watched fd left at free is forgotten, not closed. */
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.sv[0], XMPPCORE_LOOP_READ, fd_cb, &s), 0);
    xmppcore_loop_free(loop);
    CHECK_EQ_INT(close(s.sv[0]), 0);
}

/* Deleting another fd from a callback drops its pending events. */
typedef struct {
    int a[2], b[2];
    int calls;
} del_state;

static void del_cb(xmppcore_loop *loop, int fd, int events, void *ud)
{
    (void)events;
    del_state *s = ud;
    s->calls++;
    int other = fd == s->a[0] ? s->b[0] : s->a[0];
    CHECK_EQ_INT(xmppcore_loop_del_fd(loop, other), 0);
    CHECK_EQ_INT(xmppcore_loop_del_fd(loop, fd), 0);
    xmppcore_loop_stop(loop);
}

static void test_fd_delete_other(void)
{
    del_state s = {0};
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, s.a), 0);
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, s.b), 0);
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    CHECK_EQ_INT(write(s.a[1], "x", 1), 1);
    CHECK_EQ_INT(write(s.b[1], "y", 1), 1);
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.a[0], XMPPCORE_LOOP_READ, del_cb, &s), 0);
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, s.b[0], XMPPCORE_LOOP_READ, del_cb, &s), 0);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK_EQ_INT(s.calls, 1);
    xmppcore_loop_free(loop);
    close(s.a[0]);
    close(s.a[1]);
    close(s.b[0]);
    close(s.b[1]);
}

/* ---- Posts and stop from other threads ---- */

#define N_POSTS 1000

typedef struct {
    xmppcore_loop *loop;
    int seen[N_POSTS];
    int n;
    int in_order;
    pthread_t loop_thread;
    int wrong_thread;
} post_state;

typedef struct {
    post_state *s;
    int i;
} post_item;

static post_item g_items[N_POSTS];

static void posted(void *ud)
{
    post_item *it = ud;
    post_state *s = it->s;
    if (!pthread_equal(pthread_self(), s->loop_thread))
        s->wrong_thread++;
    if (it->i != s->n)
        s->in_order = 0;
    s->seen[it->i]++;
    s->n++;
    if (s->n == N_POSTS)
        xmppcore_loop_stop(s->loop);
}

static void *poster(void *ud)
{
    post_state *s = ud;
    for (int i = 0; i < N_POSTS; i++) {
        g_items[i].s = s;
        g_items[i].i = i;
        if (xmppcore_loop_post(s->loop, posted, &g_items[i]) != 0)
            return (void *)1;
        if (i % 100 == 0)
            usleep(1000);
    }
    return NULL;
}

static void test_post_from_thread(void)
{
    static post_state s;
    memset(&s, 0, sizeof s);
    s.in_order = 1;
    s.loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(s.loop != NULL);
    if (!s.loop)
        return;
    s.loop_thread = pthread_self();
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, poster, &s), 0);
    CHECK_EQ_INT(xmppcore_loop_run(s.loop), 0);
    void *ret;
    pthread_join(th, &ret);
    CHECK(ret == NULL);
    CHECK_EQ_INT(s.n, N_POSTS);
    CHECK(s.in_order);
    CHECK_EQ_INT(s.wrong_thread, 0);
    int once = 1;
    for (int i = 0; i < N_POSTS; i++)
        once &= s.seen[i] == 1;
    CHECK(once);
    /* Posted but never run: dropped at free (ASan checks the memory). */
    CHECK_EQ_INT(xmppcore_loop_post(s.loop, posted, &g_items[0]), 0);
    CHECK_EQ_INT(xmppcore_loop_post(s.loop, NULL, NULL), XMPPCORE_E_INVAL);
    xmppcore_loop_free(s.loop);
}

static void *stopper(void *ud)
{
    usleep(50 * 1000);
    xmppcore_loop_stop(ud);
    return NULL;
}

static void test_stop_from_thread(void)
{
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    int64_t t0 = now_ms();
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, stopper, loop), 0);
    /* Nothing to wait for: only the eventfd can end this. */
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    pthread_join(th, NULL);
    int64_t dt = now_ms() - t0;
    CHECK(dt >= 40 && dt < 5000);
    /* A stop before run makes the next run return at once. */
    xmppcore_loop_stop(loop);
    t0 = now_ms();
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 2000, 0, timer_stop, NULL, NULL), 0);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK(now_ms() - t0 < 1000);
    xmppcore_loop_free(loop);
}

/* Run from inside run is refused. */
static void nested_run(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    *(int *)ud = xmppcore_loop_run(loop);
    xmppcore_loop_stop(loop);
}

static void test_nested_run(void)
{
    xmppcore_loop *loop = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop)
        return;
    int rc = 1;
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 0, 0, nested_run, &rc, NULL), 0);
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK_EQ_INT(rc, XMPPCORE_E_STATE);
    xmppcore_loop_free(loop);
}

/* ---- Signals ---- */

typedef struct {
    int hups;
    int logs;
} sig_state;

static void sig_hangup(xmppcore_loop *loop, void *ud)
{
    (void)loop;
    ((sig_state *)ud)->hups++;
    /* The TERM raised after this one ends the run. */
    raise(SIGTERM);
}

static void sig_log(xmppcore_loop *loop, int level, const char *msg, void *ud)
{
    (void)loop;
    (void)level;
    (void)msg;
    ((sig_state *)ud)->logs++;
}

static void raise_hup(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)loop;
    (void)id;
    (void)ud;
    raise(SIGHUP);
}

static void test_signals(void)
{
    sig_state st = {0};
    xmppcore_loop_callbacks cb = {XMPPCORE_LOOP_CALLBACKS_VERSION, sig_log,
                                  sig_hangup};
    xmppcore_loop *loop = xmppcore_loop_new(NULL, &cb, &st);
    CHECK(loop != NULL);
    if (!loop)
        return;
    CHECK_EQ_INT(xmppcore_loop_catch_signals(loop), 0);
    CHECK_EQ_INT(xmppcore_loop_catch_signals(loop), XMPPCORE_E_EXISTS);
    /* SIGPIPE is ignored now. */
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    CHECK(sa.sa_handler == SIG_IGN);
    /* Without the signalfd these would kill the test. */
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 10, 0, raise_hup, NULL, NULL), 0);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK(now_ms() - t0 < 3000);
    CHECK_EQ_INT(st.hups, 1);
    CHECK(st.logs >= 2);
    /* A signal pending at free is consumed, not delivered. */
    raise(SIGINT);
    xmppcore_loop_free(loop);
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    CHECK(!sigismember(&cur, SIGTERM));
    CHECK(!sigismember(&cur, SIGINT));
    CHECK_EQ_INT(xmppcore_loop_new(NULL, &(xmppcore_loop_callbacks){0}, NULL) == NULL, 1);
}

#if XI_NET_HAVE_SERVER
/* ---- Listeners (with the server) ---- */

typedef struct {
    int fd;
    char buf[8192];
    size_t n;
    int saw_features;
} client_state;

static void client_cb(xmppcore_loop *loop, int fd, int events, void *ud)
{
    client_state *c = ud;
    (void)events;
    ssize_t r = read(fd, c->buf + c->n, sizeof c->buf - 1 - c->n);
    if (r > 0) {
        c->n += (size_t)r;
        c->buf[c->n] = '\0';
        if (strstr(c->buf, "</stream:features>") && !c->saw_features) {
            c->saw_features = 1;
            /* Graceful shutdown with the client still connected. */
            xmppcore_loop_del_fd(loop, fd);
            xmppcore_loop_shutdown(loop, 2000);
        }
    } else {
        xmppcore_loop_del_fd(loop, fd);
        xmppcore_loop_stop(loop);
    }
}

static int connect_to(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        sl = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void listen_case(const char *ip)
{
    xmppcore_server *srv = xmppcore_server_new(NULL, NULL, NULL);
    CHECK(srv != NULL);
    if (!srv)
        return;
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, "localhost"), 0);
    xmppcore_listener *l = xmppcore_server_add_listener(srv, "c2s", XMPPCORE_LISTEN_C2S);
    CHECK(l != NULL);
    CHECK_EQ_INT(xmppcore_listener_set_option(l, "starttls", "false"), 0);
    CHECK_EQ_INT(xmppcore_listener_set_option(l, "starttls_required", "false"), 0);
    xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop || !l) {
        xmppcore_loop_free(loop);
        xmppcore_server_free(srv);
        return;
    }
    int port = xmppcore_loop_listen(loop, l, ip, 0);
    CHECK(port > 0);
    CHECK_EQ_INT(xmppcore_loop_listen(loop, l, "not-an-ip", 0), XMPPCORE_E_INVAL);
    CHECK(strstr(xmppcore_loop_last_error(loop), "not-an-ip") != NULL);
    /* The same port again: in use. */
    CHECK_EQ_INT(xmppcore_loop_listen(loop, l, ip, port), XMPPCORE_E_IO);
    CHECK(strstr(xmppcore_loop_last_error(loop), "in use") != NULL);
    client_state c = {0};
    c.fd = connect_to(ip, port);
    CHECK(c.fd >= 0);
    const char *hdr = "<?xml version='1.0'?><stream:stream to='localhost' "
                      "xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' "
                      "version='1.0'>";
    CHECK_EQ_INT(write(c.fd, hdr, strlen(hdr)), (long long)strlen(hdr));
    CHECK_EQ_INT(xmppcore_loop_add_fd(loop, c.fd, XMPPCORE_LOOP_READ, client_cb, &c), 0);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK(now_ms() - t0 < 3000);
    CHECK(c.saw_features);
    CHECK(strstr(c.buf, "<stream:stream") != NULL);
    CHECK_EQ_INT(xmppcore_loop_conn_count(loop), 0);
    /* What the shutdown sent, then end of file. */
    struct pollfd pfd = {c.fd, POLLIN, 0};
    while (poll(&pfd, 1, 2000) > 0) {
        ssize_t r = read(c.fd, c.buf + c.n, sizeof c.buf - 1 - c.n);
        if (r <= 0)
            break;
        c.n += (size_t)r;
    }
    c.buf[c.n] = '\0';
    CHECK(strstr(c.buf, "system-shutdown") != NULL);
    CHECK(strstr(c.buf, "</stream:stream>") != NULL);
    close(c.fd);
    /* Listeners are closed by the shutdown. */
    CHECK(connect_to(ip, port) < 0);
    xmppcore_loop_free(loop);
    xmppcore_server_free(srv);
}

static void test_listen_ipv4(void)
{
    listen_case("127.0.0.1");
}

static void test_listen_ipv6(void)
{
    listen_case("::1");
}

/* A client that sends a header and closes: the connection goes away. */
static void eof_check(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    (void)ud;
    if (xmppcore_loop_conn_count(loop) == 0)
        xmppcore_loop_stop(loop);
}

static void test_listen_eof(void)
{
    xmppcore_server *srv = xmppcore_server_new(NULL, NULL, NULL);
    CHECK(srv != NULL);
    if (!srv)
        return;
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, "localhost"), 0);
    xmppcore_listener *l = xmppcore_server_add_listener(srv, "c2s", XMPPCORE_LISTEN_C2S);
    xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
    int port = xmppcore_loop_listen(loop, l, "127.0.0.1", 0);
    CHECK(port > 0);
    int fd = connect_to("127.0.0.1", port);
    CHECK(fd >= 0);
    const char *hdr = "<stream:stream to='localhost' xmlns='jabber:client' "
                      "xmlns:stream='http://etherx.jabber.org/streams' "
                      "version='1.0'>";
    CHECK_EQ_INT(write(fd, hdr, strlen(hdr)), (long long)strlen(hdr));
    shutdown(fd, SHUT_WR);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 20, 1, eof_check, NULL, NULL), 0);
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 5000, 0, timer_stop, NULL, NULL), 0);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
    CHECK(now_ms() - t0 < 4000);
    CHECK_EQ_INT(xmppcore_loop_conn_count(loop), 0);
    close(fd);
    xmppcore_loop_free(loop);
    xmppcore_server_free(srv);
}
#endif

#if XI_NET_HAVE_SERVER
#define LISTEN_TESTS                                                        \
    , TEST_ENTRY(test_listen_ipv4), TEST_ENTRY(test_listen_ipv6),           \
        TEST_ENTRY(test_listen_eof)
#else
#define LISTEN_TESTS
#endif

TEST_MAIN(TEST_ENTRY(test_timers_order),
          TEST_ENTRY(test_timers_repeat_cancel_self),
          TEST_ENTRY(test_fd_socketpair),
          TEST_ENTRY(test_fd_delete_other),
          TEST_ENTRY(test_post_from_thread),
          TEST_ENTRY(test_stop_from_thread),
          TEST_ENTRY(test_nested_run),
          TEST_ENTRY(test_signals) LISTEN_TESTS)

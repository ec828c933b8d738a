/* Out-of-memory tests for lib/net (io.c, loop.c) and the mailbox
 * (lib/server/mailbox.c), which allocate with libc's malloc, calloc and
 * realloc rather than an injectable xmppcore_mem.
 *
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: every
 * reference to those in the linked objects (the static library's and this
 * file's) goes to __wrap_* below, which fail one chosen allocation while a
 * test has armed them (oom_arm). libc's own allocations (stdio, opendir,
 * pthread) and the shared libraries' (expat gets the library's allocator,
 * so its blocks are counted) are not redirected; this file's allocations
 * are made with the injection held (oom_hold), so only the library's
 * count. The ASan runtime still does the real allocating: __real_malloc
 * is its malloc.
 *
 * Each sweep runs a scenario with its 1st, 2nd, 3rd ... allocation
 * failing until one run completes without reaching the failing index,
 * and checks after every run: no crash, no leak (ASan), no fd left open,
 * a clear error or log line, nothing acknowledged lost, the loop still
 * usable, and an already-connected client unaffected. */
#define _GNU_SOURCE /* dladdr */
#include "testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xmppcore/net.h"

/* ---- The allocation wrappers ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static atomic_long oom_left = -1; /* allocations before the failing one; -1: disarmed */
static atomic_int oom_hit;        /* the failure was injected */
static atomic_long oom_seen;      /* allocations counted while armed */
static _Thread_local int oom_held; /* this thread's own allocations: not counted */

/* Where the injected failures happened (return addresses), per sweep. */
#define MAX_SITES 256
static void *oom_sites[MAX_SITES];
static int n_oom_sites;
static pthread_mutex_t oom_mu = PTHREAD_MUTEX_INITIALIZER;
static void *oom_last_site; /* where the last injected failure happened */

static int oom_should_fail(void *site)
{
    if (oom_held || atomic_load(&oom_left) < 0)
        return 0;
    atomic_fetch_add(&oom_seen, 1);
    if (atomic_fetch_sub(&oom_left, 1) != 0)
        return 0;
    atomic_store(&oom_hit, 1);
    pthread_mutex_lock(&oom_mu);
    oom_last_site = site;
    int known = 0;
    for (int i = 0; i < n_oom_sites; i++)
        known |= oom_sites[i] == site;
    if (!known && n_oom_sites < MAX_SITES)
        oom_sites[n_oom_sites++] = site;
    pthread_mutex_unlock(&oom_mu);
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return oom_should_fail(__builtin_return_address(0)) ? NULL
                                                        : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return oom_should_fail(__builtin_return_address(0))
               ? NULL
               : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return oom_should_fail(__builtin_return_address(0)) ? NULL
                                                        : __real_realloc(p, n);
}

/* The k-th allocation from now (1-based) fails, the others succeed. */
static void oom_arm(long k)
{
    atomic_store(&oom_hit, 0);
    atomic_store(&oom_seen, 0);
    atomic_store(&oom_left, k - 1);
}

/* Disarms; returns whether the failure was injected. */
static int oom_disarm(void)
{
    atomic_store(&oom_left, -1);
    return atomic_load(&oom_hit);
}

/* Names the last failure's site, for a run that went wrong. */
static void print_last_site(const char *what, long k)
{
    Dl_info di;
    void *p = oom_last_site;
    if (p && dladdr(p, &di) && di.dli_fbase)
        printf("%s: run %ld, failure at +0x%lx (%s)\n", what, k,
               (unsigned long)((char *)p - (char *)di.dli_fbase),
               di.dli_sname ? di.dli_sname : "?");
}

static void sites_reset(void)
{
    n_oom_sites = 0;
}

/* Prints where the sweep's failures were injected, as return addresses
 * relative to the executable (addr2line -e test_oom_net maps them; a
 * tail call shows as its caller's caller). */
static void sites_report(const char *sweep, long runs)
{
    printf("%s: %ld runs, failures injected from %d distinct return addresses:", sweep, runs,
           n_oom_sites);
    for (int i = 0; i < n_oom_sites; i++) {
        Dl_info di;
        if (dladdr(oom_sites[i], &di) && di.dli_fbase)
            printf(" +0x%lx", (unsigned long)((char *)oom_sites[i] -
                                              (char *)di.dli_fbase));
        else
            printf(" %p", oom_sites[i]);
    }
    printf("\n");
}

#define MAX_RUNS 20000

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- A server ---- */

#define DOMAIN "localhost"
#define HDR "<?xml version='1.0'?><stream:stream to='" DOMAIN "' version='1.0' " \
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"

typedef struct {
    int n_routed;
    char last_body[64];
    char last_log[256];
    int n_logs;
} srv_state;

static void log_cb(xmppcore_server *s, int level, const char *msg, void *ud)
{
    (void)s;
    srv_state *st = ud;
    if (level <= XMPPCORE_LOG_WARNING) {
        snprintf(st->last_log, sizeof st->last_log, "%s", msg);
        st->n_logs++;
    }
}

/* Counts messages with a body "mbox-..." (the ones the mailbox posts)
 * and drops them; everything else is routed. */
static xmppcore_hook_result filter(xmppcore_hook_event *ev, void *ud)
{
    srv_state *st = ud;
    const char *body = xmppcore_stanza_child_text(xmppcore_hook_event_stanza(ev),
                                                  "body", NULL);
    if (!body || strncmp(body, "mbox-", 5) != 0)
        return XMPPCORE_HOOK_CONTINUE;
    st->n_routed++;
    snprintf(st->last_body, sizeof st->last_body, "%s", body);
    return XMPPCORE_HOOK_DROP;
}

static void account_done(int status, void *ud)
{
    *(int *)ud = status;
}

static xmppcore_store *g_store;

static xmppcore_server *new_server(srv_state *st, xmppcore_listener **l)
{
    xmppcore_server_callbacks cb = {XMPPCORE_SERVER_CALLBACKS_VERSION, NULL,
                                    log_cb};
    xmppcore_server *srv = xmppcore_server_new(NULL, &cb, st);
    CHECK(srv != NULL);
    if (!srv)
        return NULL;
    CHECK_EQ_INT(xmppcore_server_add_vhost(srv, DOMAIN), 0);
    xmppcore_hooks_add(xmppcore_server_hooks(srv), XMPPCORE_HOOK_FILTER_PACKET,
                       NULL, 0, filter, st);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "auth.plain_without_tls",
                                            "true"), 0);
    CHECK_EQ_INT(xmppcore_server_set_option(srv, NULL, "auth.failure_delay_ms",
                                            "0"), 0);
    g_store = xmppcore_store_memory_new(NULL);
    xmppcore_server_set_store(srv, g_store);
    const char *users[] = {"romeo", "juliet"};
    for (size_t i = 0; i < 2; i++) {
        int rc = 1;
        CHECK_EQ_INT(xmppcore_account_create(srv, DOMAIN, users[i], "pencil",
                                             account_done, &rc), 0);
        CHECK_EQ_INT(rc, 0);
    }
    if (l) {
        *l = xmppcore_server_add_listener(srv, "c2s", XMPPCORE_LISTEN_C2S);
        CHECK(*l != NULL);
        CHECK_EQ_INT(xmppcore_listener_set_option(*l, "starttls", "false"), 0);
        CHECK_EQ_INT(xmppcore_listener_set_option(*l, "starttls_required",
                                                  "false"), 0);
    }
    return srv;
}

static void free_server(xmppcore_server *srv)
{
    xmppcore_server_free(srv);
    xmppcore_store_free(g_store);
    g_store = NULL;
}

static xmppcore_stanza *message(const char *from, const char *to,
                                const char *body)
{
    xmppcore_stanza *m = xmppcore_stanza_new(NULL, "message", "jabber:client");
    xmppcore_stanza_set_attr(m, "from", from);
    xmppcore_stanza_set_attr(m, "to", to);
    xmppcore_stanza_set_text(xmppcore_stanza_add_child(m, "body", NULL), body);
    return m;
}

/* A routed stanza that was acknowledged but not delivered must have been
 * reported, as an allocation failure. */
static int reported_oom(const srv_state *st, int logs_before)
{
    return st->n_logs > logs_before &&
           strstr(st->last_log, "out of memory") != NULL;
}

/* ---- The mailbox on its own ---- */

static int ran;

static void run_fn(void *ud)
{
    (void)ud;
    ran++;
}

static void test_mailbox(void)
{
    srv_state st = {0};
    xmppcore_server *srv = new_server(&st, NULL);
    if (!srv)
        return;
    xmppcore_stanza *m = message("romeo@" DOMAIN "/a", "juliet@" DOMAIN,
                                 "mbox-1");
    int fds = count_fds();
    sites_reset();
    long k;
    for (k = 1; k < MAX_RUNS; k++) {
        st.n_routed = 0;
        ran = 0;
        int logs = st.n_logs;
        oom_arm(k);
        xmppcore_mailbox *mb = xmppcore_mailbox_new(srv, NULL, NULL);
        int rc_st = -1, rc_fn = -1;
        size_t drained = 0, pending = 0;
        if (mb) {
            rc_st = xmppcore_mailbox_post_stanza(mb, m);
            rc_fn = xmppcore_mailbox_post_fn(mb, run_fn, NULL);
            pending = xmppcore_mailbox_pending(mb);
            drained = xmppcore_mailbox_drain(mb);
        }
        int hit = oom_disarm();
        if (!mb) {
            CHECK(hit);
        } else {
            CHECK(rc_st == 0 || rc_st == XMPPCORE_E_NOMEM);
            CHECK(rc_fn == 0 || rc_fn == XMPPCORE_E_NOMEM);
            size_t acked = (rc_st == 0) + (rc_fn == 0);
            CHECK_EQ_INT(pending, acked);
            CHECK_EQ_INT(drained, acked);
            CHECK_EQ_INT(ran, rc_fn == 0);
            /* Acknowledged: routed, or the allocation failure that lost
             * it on the way is logged as such. */
            if (rc_st == 0 && st.n_routed != 1) {
                CHECK(hit);
                CHECK(reported_oom(&st, logs));
            }
            if (rc_st == 0 && st.n_routed == 1)
                CHECK_STR(st.last_body, "mbox-1");
            CHECK_EQ_INT(xmppcore_mailbox_pending(mb), 0);
            xmppcore_mailbox_free(mb);
        }
        CHECK_EQ_INT(count_fds(), fds);
        if (!hit)
            break;
    }
    CHECK(k > 1 && k < MAX_RUNS);
    sites_report("mailbox", k);
    xmppcore_stanza_free(m);
    free_server(srv);
}

/* ---- The built-in loop's mailbox and posts ---- */

static void stop_fn(void *ud)
{
    xmppcore_loop_stop(ud);
}

static void test_loop_mailbox(void)
{
    srv_state st = {0};
    xmppcore_server *srv = new_server(&st, NULL);
    if (!srv)
        return;
    xmppcore_stanza *m = message("romeo@" DOMAIN "/a", "juliet@" DOMAIN,
                                 "mbox-2");
    int fds = count_fds();
    sites_reset();
    long k;
    for (k = 1; k < MAX_RUNS; k++) {
        st.n_routed = 0;
        ran = 0;
        int logs = st.n_logs;
        oom_arm(k);
        xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
        if (!loop) {
            CHECK(oom_disarm());
            CHECK_EQ_INT(count_fds(), fds);
            continue;
        }
        xmppcore_mailbox *mb = xmppcore_loop_mailbox(loop);
        CHECK(mb != NULL);
        int rc_st = xmppcore_mailbox_post_stanza(mb, m);
        int rc_fn = xmppcore_mailbox_post_fn(mb, run_fn, NULL);
        int rc_post = xmppcore_loop_post(loop, run_fn, NULL);
        CHECK(rc_st == 0 || rc_st == XMPPCORE_E_NOMEM);
        CHECK(rc_fn == 0 || rc_fn == XMPPCORE_E_NOMEM);
        CHECK(rc_post == 0 || rc_post == XMPPCORE_E_NOMEM);
        /* Ends the run once everything before it ran (at most one
         * allocation fails: one of these two goes through). */
        if (xmppcore_loop_post(loop, stop_fn, loop) != 0)
            CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, stop_fn, loop), 0);
        int64_t t0 = now_ms();
        CHECK_EQ_INT(xmppcore_loop_run(loop), 0);
        int hit = oom_disarm();
        CHECK(now_ms() - t0 < 3000);
        CHECK_EQ_INT(ran, (rc_fn == 0) + (rc_post == 0));
        if (rc_st == 0 && st.n_routed != 1) {
            CHECK(hit);
            CHECK(reported_oom(&st, logs));
        }
        CHECK_EQ_INT(xmppcore_mailbox_pending(mb), 0);
        xmppcore_loop_free(loop);
        CHECK_EQ_INT(count_fds(), fds);
        if (!hit)
            break;
    }
    CHECK(k > 1 && k < MAX_RUNS);
    sites_report("loop mailbox", k);
    xmppcore_stanza_free(m);
    free_server(srv);
}

/* ---- Clients over loopback TCP ---- */

typedef struct {
    int fd;
    char buf[32768];
    size_t n;
    int eof;
} peer;

static int peer_connect(peer *p, int port)
{
    memset(p, 0, sizeof *p);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        return -1;
    if (connect(p->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(p->fd);
        p->fd = -1;
        return -1;
    }
    return 0;
}

static void peer_send(peer *p, const char *s)
{
    size_t len = strlen(s);
    /* The server may have closed already: that is for the caller to see
     * as end of file, not a failed check here. */
    ssize_t n = send(p->fd, s, len, MSG_NOSIGNAL);
    (void)n;
}

static void peer_poll(peer *p)
{
    while (!p->eof && p->n < sizeof p->buf - 1) {
        ssize_t r = recv(p->fd, p->buf + p->n, sizeof p->buf - 1 - p->n,
                         MSG_DONTWAIT);
        if (r > 0) {
            p->n += (size_t)r;
            p->buf[p->n] = '\0';
        } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            p->eof = 1;
        } else {
            break;
        }
    }
}

static void peer_clear(peer *p)
{
    p->n = 0;
    p->buf[0] = '\0';
}

static void peer_close(peer *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/* Runs the loop until cond holds (checked every millisecond by a timer
 * added while the injection is held, so checking allocates nothing) or
 * ms pass. */
typedef int (*cond_fn)(void *ud);
static cond_fn g_cond;
static void *g_cond_ud;
static int64_t g_deadline;

static void pump_tick(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    (void)ud;
    if (g_cond(g_cond_ud) || now_ms() >= g_deadline)
        xmppcore_loop_stop(loop);
}

static void pump_attach(xmppcore_loop *loop)
{
    oom_held++;
    CHECK_EQ_INT(xmppcore_loop_add_timer(loop, 1, 1, pump_tick, NULL, NULL), 0);
    oom_held--;
}

static int pump(xmppcore_loop *loop, cond_fn cond, void *ud, int ms)
{
    g_cond = cond;
    g_cond_ud = ud;
    g_deadline = now_ms() + ms;
    if (!cond(ud))
        xmppcore_loop_run(loop);
    return cond(ud);
}

static const char *g_want;
static const char *g_want2; /* an alternative answer, or NULL */

static int peer_has(void *ud)
{
    peer *p = ud;
    peer_poll(p);
    return strstr(p->buf, g_want) != NULL ||
           (g_want2 && strstr(p->buf, g_want2) != NULL);
}

static int peer_has_or_eof(void *ud)
{
    peer *p = ud;
    return peer_has(p) || p->eof;
}

/* Waits (ms at most) for want from the server; 0 if it closed or did
 * not send it. */
static int expect_ms(xmppcore_loop *loop, peer *p, const char *want, int ms)
{
    g_want = want;
    return pump(loop, peer_has_or_eof, p, ms) && !p->eof;
}

/* Waits for want (1) or alt (2); 0 if the server closed or sent
 * neither. */
static int expect2_ms(xmppcore_loop *loop, peer *p, const char *want,
                      const char *alt, int ms)
{
    g_want = want;
    g_want2 = alt;
    int ok = pump(loop, peer_has_or_eof, p, ms) && !p->eof;
    g_want2 = NULL;
    if (!ok)
        return 0;
    return strstr(p->buf, want) ? 1 : 2;
}

static int expect(xmppcore_loop *loop, peer *p, const char *want)
{
    return expect_ms(loop, p, want, 3000);
}

static xmppcore_loop *g_count_loop;
static size_t g_count_want;

static int conns_are(void *ud)
{
    (void)ud;
    return xmppcore_loop_conn_count(g_count_loop) == g_count_want;
}

static int wait_conns(xmppcore_loop *loop, size_t n)
{
    g_count_loop = loop;
    g_count_want = n;
    return pump(loop, conns_are, NULL, 5000);
}

/* Logs in with PLAIN and binds resource; 0, -2 (the server answered no:
 * a SASL failure or a bind error) or -1 (it closed, or did not answer). */
static int login(xmppcore_loop *loop, peer *p, const char *b64,
                 const char *resource, int ms)
{
    char msg[512];
    peer_send(p, HDR);
    if (!expect_ms(loop, p, "</stream:features>", ms))
        return -1;
    snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
                              "mechanism='PLAIN'>%s</auth>", b64);
    peer_send(p, msg);
    int r = expect2_ms(loop, p, "<success", "</failure>", ms);
    if (r != 1)
        return r == 2 ? -2 : -1; /* -2: refused, with an answer */
    peer_clear(p);
    peer_send(p, HDR);
    if (!expect_ms(loop, p, "</stream:features>", ms))
        return -1;
    snprintf(msg, sizeof msg, "<iq type='set' id='b1'><bind xmlns='urn:ietf:"
                              "params:xml:ns:xmpp-bind'><resource>%s</resource>"
                              "</bind></iq>", resource);
    peer_send(p, msg);
    r = expect2_ms(loop, p, "</jid>", "type=\"error\"", ms);
    if (r != 1)
        return r == 2 ? -2 : -1;
    peer_clear(p);
    return 0;
}

#define ROMEO_PLAIN "AHJvbWVvAHBlbmNpbA=="   /* \0romeo\0pencil */
#define JULIET_PLAIN "AGp1bGlldABwZW5jaWw=" /* \0juliet\0pencil */

/* The bystander answers a ping, as if nothing happened. */
static void check_ping(xmppcore_loop *loop, peer *p, long k)
{
    char msg[160], want[64];
    snprintf(msg, sizeof msg, "<iq to='" DOMAIN "' type='get' id='p%ld'>"
                              "<ping xmlns='urn:xmpp:ping'/></iq>", k);
    snprintf(want, sizeof want, "id=\"p%ld\"", k);
    peer_send(p, msg);
    CHECK(expect(loop, p, want));
    CHECK(strstr(p->buf, "type=\"result\"") != NULL);
    peer_clear(p);
}

/* How long a client waits for each answer during an armed run. Every
 * run must end with an answer (a result, a SASL failure, a stanza error)
 * or with the stream closed: a stream that cannot queue what it owes
 * closes at the next tick. A run that only times out is a failure. */
#define VICTIM_WAIT_MS 1000

/* What a client does during an armed run: stream header, features, log
 * in, bind, a message to the bystander (romeo), close. Returns how far it
 * got: 0 nothing ... 5 the server's closing tag seen; 6: the login was
 * refused with an answer (a SASL failure, a bind error). */
static int victim(xmppcore_loop *loop, peer *v, int port, int ms)
{
    if (peer_connect(v, port) < 0)
        return -1;
    int lr = login(loop, v, JULIET_PLAIN, "v", ms);
    if (lr == -2)
        return 6;
    if (lr < 0)
        return 1;
    peer_send(v, "<message to='romeo@" DOMAIN "/b' type='chat'>"
                 "<body>hello from juliet</body></message>");
    peer_send(v, "<iq type='get' id='v1'><ping xmlns='urn:xmpp:ping'/></iq>");
    if (!expect_ms(loop, v, "id=\"v1\"", ms))
        return 2;
    peer_send(v, "</stream:stream>");
    g_want = "\1"; /* never: wait for end of file */
    pump(loop, peer_has_or_eof, v, ms);
    if (!strstr(v->buf, "</stream:stream>"))
        return 3;
    return v->eof ? 5 : 4;
}

/* io/loop: the loop's creation, listening, accepting, reading, writing
 * and closing, each allocation failing in turn; afterwards (nothing
 * failing) the loop, if made, still serves a client. */
static void test_loop_lifecycle(void)
{
    srv_state st = {0};
    xmppcore_listener *l = NULL;
    xmppcore_server *srv = new_server(&st, &l);
    if (!srv)
        return;
    int fds = count_fds();
    sites_reset();
    long k;
    int completed = 0, unanswered = 0;
    for (k = 1; k < MAX_RUNS; k++) {
        oom_arm(k);
        xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
        if (!loop) {
            CHECK(oom_disarm());
            CHECK_EQ_INT(count_fds(), fds);
            continue;
        }
        pump_attach(loop);
        int port = xmppcore_loop_listen(loop, l, "127.0.0.1", 0);
        peer v = {.fd = -1};
        int got = 0;
        if (port < 0) {
            CHECK_EQ_INT(port, XMPPCORE_E_NOMEM);
            CHECK(strstr(xmppcore_loop_last_error(loop), "out of memory"));
        } else {
            got = victim(loop, &v, port, VICTIM_WAIT_MS);
            if (got < 5 && !v.eof) { /* neither an answer nor the end */
                unanswered++;
                print_last_site("unanswered", k);
            }
            peer_close(&v);
            CHECK(wait_conns(loop, 0));
        }
        int hit = oom_disarm();
        if (got == 5)
            completed++;
        else
            CHECK(hit);
        /* Still usable: listen (again) and serve a client. */
        if (port < 0)
            port = xmppcore_loop_listen(loop, l, "127.0.0.1", 0);
        CHECK(port > 0);
        if (port > 0) {
            CHECK_EQ_INT(victim(loop, &v, port, 3000), 5);
            peer_close(&v);
            CHECK(wait_conns(loop, 0));
        }
        xmppcore_loop_free(loop);
        CHECK_EQ_INT(count_fds(), fds);
        if (!hit)
            break;
    }
    CHECK(k > 1 && k < MAX_RUNS);
    CHECK(completed >= 1);
    sites_report("loop lifecycle", k);
    CHECK_EQ_INT(unanswered, 0);
    free_server(srv);
}

/* One loop; a logged-in bystander (romeo); each run a victim's
 * allocation fails; the bystander answers a ping after every run, and
 * is never cut off, whatever the victim got. */
static void test_conn_isolation(void)
{
    srv_state st = {0};
    xmppcore_listener *l = NULL;
    xmppcore_server *srv = new_server(&st, &l);
    if (!srv)
        return;
    xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
    CHECK(loop != NULL);
    if (!loop) {
        free_server(srv);
        return;
    }
    pump_attach(loop);
    int port = xmppcore_loop_listen(loop, l, "127.0.0.1", 0);
    CHECK(port > 0);
    static peer b;
    CHECK_EQ_INT(peer_connect(&b, port), 0);
    CHECK_EQ_INT(login(loop, &b, ROMEO_PLAIN, "b", 3000), 0);
    check_ping(loop, &b, 0);
    int fds = count_fds();
    sites_reset();
    long k;
    int completed = 0, unanswered = 0;
    for (k = 1; k < MAX_RUNS; k++) {
        static peer v;
        oom_arm(k);
        int got = victim(loop, &v, port, VICTIM_WAIT_MS);
        if (got < 5 && !v.eof) { /* neither an answer nor the end */
            unanswered++;
            print_last_site("unanswered", k);
        }
        peer_close(&v);
        int settled = wait_conns(loop, 1);
        int hit = oom_disarm();
        CHECK(settled);
        if (got == 5)
            completed++;
        else
            CHECK(hit);
        CHECK_EQ_INT(xmppcore_loop_conn_count(loop), 1);
        CHECK_EQ_INT(count_fds(), fds);
        CHECK(!b.eof);
        check_ping(loop, &b, k);
        if (!hit)
            break;
    }
    CHECK(k > 1 && k < MAX_RUNS);
    CHECK(completed >= 1);
    sites_report("connection isolation", k);
    CHECK_EQ_INT(unanswered, 0);
    peer_close(&b);
    CHECK(wait_conns(loop, 0));
    xmppcore_loop_free(loop);
    free_server(srv);
}

TEST_MAIN(TEST_ENTRY(test_mailbox), TEST_ENTRY(test_loop_mailbox),
          TEST_ENTRY(test_loop_lifecycle), TEST_ENTRY(test_conn_isolation))

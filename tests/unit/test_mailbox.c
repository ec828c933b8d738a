/* Tests for the mailbox (lib/server/mailbox.c): order, routing of posted
 * stanzas, the wake-up edge, dropping on free, and many posting threads
 * while the owner drains. */
#include "testlib.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    int n_wakes;
    int n_routed;
    char last_body[64];
    char last_log[256];
} mb_state;

static void log_cb(xmppcore_server *s, int level, const char *msg, void *ud)
{
    (void)s;
    mb_state *st = ud;
    if (level <= XMPPCORE_LOG_WARNING)
        snprintf(st->last_log, sizeof st->last_log, "%s", msg);
}

static xmppcore_hook_result filter(xmppcore_hook_event *ev, void *ud)
{
    mb_state *st = ud;
    const char *body = xmppcore_stanza_child_text(xmppcore_hook_event_stanza(ev),
                                                  "body", NULL);
    st->n_routed++;
    snprintf(st->last_body, sizeof st->last_body, "%s", body ? body : "");
    return XMPPCORE_HOOK_DROP;
}

static void wake_cb(void *ud)
{
    ((mb_state *)ud)->n_wakes++;
}

static xmppcore_server *new_server(mb_state *st)
{
    xmppcore_server_callbacks cb = {XMPPCORE_SERVER_CALLBACKS_VERSION, NULL,
                                    log_cb};
    xmppcore_server *srv = xmppcore_server_new(NULL, &cb, st);
    if (srv) {
        xmppcore_server_add_vhost(srv, "localhost");
        xmppcore_hooks_add(xmppcore_server_hooks(srv),
                           XMPPCORE_HOOK_FILTER_PACKET, NULL, 0, filter, st);
    }
    return srv;
}

static xmppcore_stanza *message(const char *from, const char *to,
                                const char *body)
{
    xmppcore_stanza *m = xmppcore_stanza_new(NULL, "message", "jabber:client");
    if (from)
        xmppcore_stanza_set_attr(m, "from", from);
    if (to)
        xmppcore_stanza_set_attr(m, "to", to);
    xmppcore_stanza_set_text(xmppcore_stanza_add_child(m, "body", NULL), body);
    return m;
}

static int order[8];
static int n_order;

static void record(void *ud)
{
    if (n_order < 8)
        order[n_order++] = (int)(intptr_t)ud;
}

static void test_order_and_wake(void)
{
    mb_state st = {0};
    xmppcore_server *srv = new_server(&st);
    xmppcore_mailbox *mb = xmppcore_mailbox_new(srv, wake_cb, &st);
    CHECK(mb != NULL);
    n_order = 0;
    CHECK_EQ_INT(xmppcore_mailbox_drain(mb), 0);
    CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, record, (void *)1), 0);
    CHECK_EQ_INT(st.n_wakes, 1);
    xmppcore_stanza *m = message("alice@localhost/x", "bob@localhost", "hi");
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, m), 0);
    /* The caller keeps its stanza: changing it changes nothing queued. */
    xmppcore_stanza_set_text(xmppcore_stanza_child(m, "body", NULL), "changed");
    xmppcore_stanza_free(m);
    CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, record, (void *)2), 0);
    CHECK_EQ_INT(st.n_wakes, 1); /* only on the empty -> non-empty edge */
    CHECK_EQ_INT(xmppcore_mailbox_pending(mb), 3);
    CHECK_EQ_INT(st.n_routed, 0); /* nothing runs before the drain */
    CHECK_EQ_INT(xmppcore_mailbox_drain(mb), 3);
    CHECK_EQ_INT(xmppcore_mailbox_pending(mb), 0);
    CHECK_EQ_INT(n_order, 2);
    CHECK_EQ_INT(order[0], 1);
    CHECK_EQ_INT(order[1], 2);
    CHECK_EQ_INT(st.n_routed, 1);
    CHECK_STR(st.last_body, "hi");
    CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, record, (void *)3), 0);
    CHECK_EQ_INT(st.n_wakes, 2);
    CHECK_EQ_INT(xmppcore_mailbox_drain(mb), 1);
    xmppcore_mailbox_free(mb);
    xmppcore_server_free(srv);
}

static void test_invalid_and_refused(void)
{
    mb_state st = {0};
    xmppcore_server *srv = new_server(&st);
    CHECK(xmppcore_mailbox_new(NULL, NULL, NULL) == NULL);
    xmppcore_mailbox *mb = xmppcore_mailbox_new(srv, NULL, NULL);
    CHECK(mb != NULL);
    xmppcore_stanza *nofrom = message(NULL, "bob@localhost", "x");
    xmppcore_stanza *noto = message("alice@localhost", NULL, "x");
    xmppcore_stanza *remote = message("eve@elsewhere.example", "bob@localhost",
                                      "x");
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, nofrom), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, noto), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, NULL), XMPPCORE_E_INVAL);
    /* A child element is not a stanza. */
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(
                     mb, xmppcore_stanza_child(remote, "body", NULL)),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, NULL, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_mailbox_post_fn(NULL, record, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_mailbox_pending(mb), 0);
    /* Accepted by the mailbox, refused by the server at the drain. */
    CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, remote), 0);
    CHECK_EQ_INT(xmppcore_mailbox_drain(mb), 1);
    CHECK_EQ_INT(st.n_routed, 0);
    CHECK(strstr(st.last_log, "eve@elsewhere.example") != NULL);
    CHECK(strstr(st.last_log, "<message/>") != NULL);
    xmppcore_stanza_free(nofrom);
    xmppcore_stanza_free(noto);
    xmppcore_stanza_free(remote);
    xmppcore_mailbox_free(mb);
    xmppcore_mailbox_free(NULL);
    xmppcore_server_free(srv);
}

static void never(void *ud)
{
    (void)ud;
    CHECK(!"a dropped function ran");
}

static void test_free_drops(void)
{
    mb_state st = {0};
    xmppcore_server *srv = new_server(&st);
    xmppcore_mailbox *mb = xmppcore_mailbox_new(srv, NULL, NULL);
    xmppcore_stanza *m = message("alice@localhost", "bob@localhost", "x");
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(xmppcore_mailbox_post_stanza(mb, m), 0);
        CHECK_EQ_INT(xmppcore_mailbox_post_fn(mb, never, NULL), 0);
    }
    xmppcore_stanza_free(m);
    xmppcore_mailbox_free(mb); /* ASan: the queued copies are freed */
    CHECK_EQ_INT(st.n_routed, 0);
    xmppcore_server_free(srv);
}

/* ---- Threads ---- */

#define N_THREADS 4
#define N_EACH 20000

typedef struct {
    xmppcore_mailbox *mb;
    int id;
    int next_seen; /* owner thread only */
    int bad_order;
    int failed_posts;
} producer;

static atomic_int wakes;
static int total_run;

static producer g_prod[N_THREADS];

static void seq_fn(void *ud)
{
    uintptr_t v = (uintptr_t)ud;
    producer *p = &g_prod[v >> 20];
    int seq = (int)(v & 0xfffff);
    if (seq != p->next_seen)
        p->bad_order++;
    p->next_seen = seq + 1;
    total_run++;
}

static void *produce(void *arg)
{
    producer *p = arg;
    xmppcore_stanza *m = message("alice@localhost/t", "bob@localhost", "t");
    for (int i = 0; i < N_EACH; i++) {
        if (xmppcore_mailbox_post_fn(p->mb, seq_fn,
                                     (void *)(((uintptr_t)p->id << 20) |
                                              (uintptr_t)i)) != 0)
            p->failed_posts++;
        if (i % 100 == 0 && xmppcore_mailbox_post_stanza(p->mb, m) != 0)
            p->failed_posts++;
    }
    xmppcore_stanza_free(m);
    return NULL;
}

static void thread_wake(void *ud)
{
    (void)ud;
    atomic_fetch_add(&wakes, 1);
}

static void test_threads(void)
{
    mb_state st = {0};
    xmppcore_server *srv = new_server(&st);
    xmppcore_mailbox *mb = xmppcore_mailbox_new(srv, thread_wake, NULL);
    total_run = 0;
    atomic_store(&wakes, 0);
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        g_prod[i] = (producer){.mb = mb, .id = i};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, produce, &g_prod[i]), 0);
    }
    int drains = 0;
    int want = N_THREADS * N_EACH;
    int stanzas = N_THREADS * (N_EACH / 100);
    /* The owner drains while the producers post. */
    for (int spins = 0; spins < 10000000 &&
                        (total_run < want || st.n_routed < stanzas);
         spins++) {
        if (xmppcore_mailbox_drain(mb) > 0)
            drains++;
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    xmppcore_mailbox_drain(mb);
    CHECK_EQ_INT(total_run, want);
    CHECK_EQ_INT(st.n_routed, stanzas);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK_EQ_INT(g_prod[i].bad_order, 0);
        CHECK_EQ_INT(g_prod[i].failed_posts, 0);
        CHECK_EQ_INT(g_prod[i].next_seen, N_EACH);
    }
    /* Coalescing: at most one wake-up per drain (plus the first). */
    CHECK(atomic_load(&wakes) >= 1);
    CHECK(atomic_load(&wakes) <= drains + 1);
    xmppcore_mailbox_free(mb);
    xmppcore_server_free(srv);
}

/* ---- The built-in loop's mailbox ---- */

#define N_LOOP_POSTS 5000

typedef struct {
    xmppcore_loop *loop;
    int ran;
} loop_state;

static void loop_posted(void *ud)
{
    loop_state *ls = ud;
    if (++ls->ran == N_LOOP_POSTS)
        xmppcore_loop_stop(ls->loop);
}

static void *loop_producer(void *ud)
{
    loop_state *ls = ud;
    xmppcore_mailbox *mb = xmppcore_loop_mailbox(ls->loop);
    xmppcore_stanza *m = message("alice@localhost", "bob@localhost", "loop");
    xmppcore_mailbox_post_stanza(mb, m);
    xmppcore_stanza_free(m);
    for (int i = 0; i < N_LOOP_POSTS; i++)
        xmppcore_mailbox_post_fn(mb, loop_posted, ls);
    return NULL;
}

static void stop_anyway(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)id;
    *(int *)ud = 1;
    xmppcore_loop_stop(loop);
}

static void test_builtin_loop(void)
{
    mb_state st = {0};
    xmppcore_server *srv = new_server(&st);
    xmppcore_loop *bare = xmppcore_loop_new(NULL, NULL, NULL);
    CHECK(bare != NULL);
    CHECK(xmppcore_loop_mailbox(bare) == NULL); /* no server, no mailbox */
    xmppcore_loop_free(bare);
    loop_state ls = {xmppcore_loop_new(srv, NULL, NULL), 0};
    CHECK(ls.loop != NULL);
    CHECK(xmppcore_loop_mailbox(ls.loop) != NULL);
    int timed_out = 0;
    xmppcore_loop_add_timer(ls.loop, 10000, 0, stop_anyway, &timed_out, NULL);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, loop_producer, &ls), 0);
    CHECK_EQ_INT(xmppcore_loop_run(ls.loop), 0);
    pthread_join(t, NULL);
    CHECK(!timed_out);
    CHECK_EQ_INT(ls.ran, N_LOOP_POSTS);
    CHECK_EQ_INT(st.n_routed, 1); /* posted first: routed before the rest */
    CHECK_STR(st.last_body, "loop");
    /* Queued but never drained: dropped by the loop's free (ASan). */
    xmppcore_mailbox_post_fn(xmppcore_loop_mailbox(ls.loop), never, NULL);
    xmppcore_loop_free(ls.loop);
    xmppcore_server_free(srv);
}

TEST_MAIN(TEST_ENTRY(test_order_and_wake), TEST_ENTRY(test_invalid_and_refused),
          TEST_ENTRY(test_free_drops), TEST_ENTRY(test_threads),
          TEST_ENTRY(test_builtin_loop))

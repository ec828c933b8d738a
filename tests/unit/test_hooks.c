/* Unit tests for lib/hooks: hook points, ordering, changes during a run,
 * per-vhost merging, IQ handler registry and dispatch, allocation
 * failures. */
#include "testlib.h"

/* ---- A recorder: each handler appends its tag to a log ---- */

static char rec_log[256];

static void rec_reset(void)
{
    rec_log[0] = '\0';
}

typedef struct rec {
    char tag;
    xmppcore_hook_result result;
    /* Optional action before returning. */
    void (*action)(struct rec *self, xmppcore_hook_event *ev);
    xmppcore_hooks *hooks;
    const char *point;
    const char *vhost;
    struct rec *other;
    int calls;
} rec;

static xmppcore_hook_result rec_fn(xmppcore_hook_event *ev, void *ud)
{
    rec *r = ud;
    size_t n = strlen(rec_log);
    if (n + 1 < sizeof rec_log) {
        rec_log[n] = r->tag;
        rec_log[n + 1] = '\0';
    }
    r->calls++;
    if (r->action)
        r->action(r, ev);
    return r->result;
}

static xmppcore_hook_result other_fn(xmppcore_hook_event *ev, void *ud)
{
    return rec_fn(ev, ud);
}

static rec mk(char tag)
{
    rec r;
    memset(&r, 0, sizeof r);
    r.tag = tag;
    return r;
}

static xmppcore_hook_result run(xmppcore_hooks *h, const char *point,
                                const char *vhost)
{
    rec_reset();
    return xmppcore_hooks_run(h, point, vhost, NULL, NULL);
}

static void test_registry(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a');
    CHECK(h != NULL);
    xmppcore_hooks_free(NULL);

    CHECK_EQ_INT(xmppcore_hooks_add(h, NULL, NULL, 0, rec_fn, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "", NULL, 0, rec_fn, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 0, NULL, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "", 0, rec_fn, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_hooks_add(NULL, "p", NULL, 0, rec_fn, &a), XMPPCORE_E_INVAL);

    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 10, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 20, rec_fn, &a), XMPPCORE_E_EXISTS);
    /* Same fn with other user_data, or on a vhost, is another handler. */
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 10, rec_fn, NULL), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "example.org", 10, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "example.org", 10, rec_fn, &a),
                 XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", NULL), 2);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", "example.org"), 3);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", "other.org"), 2);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "q", "example.org"), 0);

    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, rec_fn, &a), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, other_fn, NULL),
                 XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "nope", NULL, rec_fn, NULL),
                 XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", "other.org", rec_fn, &a),
                 XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", "example.org"), 2);
    /* Re-adding after removal works. */
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 10, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", NULL), 2);

    /* Running an unknown point or one without handlers is a no-op. */
    CHECK_EQ_INT(run(h, "unknown", "example.org"), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(rec_log, "");
    xmppcore_hooks_free(h);
}

static void test_order(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a'), b = mk('b'), c = mk('c'), d = mk('d'), e = mk('e'),
        f = mk('f'), g = mk('g');
    const char *P = XMPPCORE_HOOK_USER_SEND_PACKET;
    /* Registration order mixes priorities, scopes and equal priorities. */
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, NULL, 50, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, "v1", 50, rec_fn, &b), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, NULL, 10, rec_fn, &c), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, "v1", 90, rec_fn, &d), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, NULL, 50, rec_fn, &e), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, "v2", -5, rec_fn, &f), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, P, "v1", 10, rec_fn, &g), 0);

    CHECK_EQ_INT(run(h, P, NULL), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(rec_log, "cae");
    run(h, P, "v1");
    CHECK_STR(rec_log, "cgabed");
    run(h, P, "v2");
    CHECK_STR(rec_log, "fcae");
    run(h, P, "v3");
    CHECK_STR(rec_log, "cae");
    CHECK_EQ_INT(xmppcore_hooks_count(h, P, "v1"), 6);

    /* Another point with the same handlers is independent. */
    run(h, XMPPCORE_HOOK_FILTER_PACKET, "v1");
    CHECK_STR(rec_log, "");
    xmppcore_hooks_free(h);
}

static void test_results(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a'), b = mk('b'), c = mk('c');
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 1, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "v", 2, rec_fn, &b), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 3, rec_fn, &c), 0);

    CHECK_EQ_INT(run(h, "p", "v"), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(rec_log, "abc");
    b.result = XMPPCORE_HOOK_STOP;
    CHECK_EQ_INT(run(h, "p", "v"), XMPPCORE_HOOK_STOP);
    CHECK_STR(rec_log, "ab");
    CHECK_EQ_INT(run(h, "p", NULL), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(rec_log, "ac");
    b.result = XMPPCORE_HOOK_DROP;
    CHECK_EQ_INT(run(h, "p", "v"), XMPPCORE_HOOK_DROP);
    CHECK_STR(rec_log, "ab");
    a.result = XMPPCORE_HOOK_STOP;
    CHECK_EQ_INT(run(h, "p", "v"), XMPPCORE_HOOK_STOP);
    CHECK_STR(rec_log, "a");
    a.result = XMPPCORE_HOOK_CONTINUE;
    c.result = XMPPCORE_HOOK_DROP;
    CHECK_EQ_INT(run(h, "p", NULL), XMPPCORE_HOOK_DROP);
    CHECK_STR(rec_log, "ac");
    xmppcore_hooks_free(h);
}

static void *seen_data;
static const char *seen_point, *seen_vhost;
static xmppcore_stanza *seen_stanza;

static xmppcore_hook_result peek_fn(xmppcore_hook_event *ev, void *ud)
{
    (void)ud;
    seen_data = xmppcore_hook_event_data(ev);
    /* a host's own run carries opaque data: the typed views are NULL */
    CHECK(xmppcore_hook_event_session(ev) == NULL);
    CHECK(xmppcore_hook_event_conn(ev) == NULL);
    CHECK(xmppcore_hook_event_server(ev) == NULL);
    seen_point = xmppcore_hook_event_point(ev);
    seen_vhost = xmppcore_hook_event_vhost(ev);
    seen_stanza = xmppcore_hook_event_stanza(ev);
    return XMPPCORE_HOOK_CONTINUE;
}

static void test_event(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    int token;
    xmppcore_stanza *st = NULL;
    CHECK_EQ_INT(xmppcore_hooks_add(h, "session_bound", NULL, 0, peek_fn, NULL), 0);
    seen_stanza = (xmppcore_stanza *)&token;
    CHECK_EQ_INT(xmppcore_hooks_run(h, "session_bound", "example.net", &st, &token),
                 XMPPCORE_HOOK_CONTINUE);
    CHECK(seen_data == &token);
    CHECK_STR(seen_point, "session_bound");
    CHECK_STR(seen_vhost, "example.net");
    CHECK(seen_stanza == NULL);
    CHECK(st == NULL);
    CHECK_EQ_INT(xmppcore_hooks_run(h, "session_bound", NULL, NULL, NULL),
                 XMPPCORE_HOOK_CONTINUE);
    CHECK(seen_vhost == NULL);
    CHECK(seen_data == NULL);
    xmppcore_hooks_free(h);
}

/* ---- Changing the registry from inside a run ---- */

static void act_remove_self(rec *r, xmppcore_hook_event *ev)
{
    (void)ev;
    CHECK_EQ_INT(xmppcore_hooks_remove(r->hooks, r->point, r->vhost, rec_fn, r), 0);
}

static void act_remove_other(rec *r, xmppcore_hook_event *ev)
{
    (void)ev;
    CHECK_EQ_INT(xmppcore_hooks_remove(r->hooks, r->point, r->other->vhost,
                                       rec_fn, r->other), 0);
}

static void act_add_other(rec *r, xmppcore_hook_event *ev)
{
    (void)ev;
    /* Priorities that would place it before and after the current one. */
    CHECK_EQ_INT(xmppcore_hooks_add(r->hooks, r->point, r->other->vhost, 100,
                                    rec_fn, r->other), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(r->hooks, r->point, NULL, -100, other_fn,
                                    r->other), 0);
}

static void act_add_remove_other(rec *r, xmppcore_hook_event *ev)
{
    (void)ev;
    CHECK_EQ_INT(xmppcore_hooks_add(r->hooks, r->point, NULL, 100, rec_fn,
                                    r->other), 0);
    CHECK_EQ_INT(xmppcore_hooks_remove(r->hooks, r->point, NULL, rec_fn,
                                       r->other), 0);
}

static int nest_depth;

static void act_nested_run(rec *r, xmppcore_hook_event *ev)
{
    (void)ev;
    if (nest_depth++ == 0) {
        /* A nested run of the same point: sees the removal made by its
         * caller's earlier handler, and runs to the end by itself. */
        xmppcore_hooks_run(r->hooks, r->point, r->vhost, NULL, NULL);
        CHECK_EQ_INT(xmppcore_hooks_remove(r->hooks, r->point, r->vhost,
                                           rec_fn, r->other), 0);
    }
}

static void test_change_during_run(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a'), b = mk('b'), c = mk('c'), d = mk('d'), x = mk('x');
    rec *all[] = {&a, &b, &c, &d, &x};
    for (size_t i = 0; i < 5; i++) {
        all[i]->hooks = h;
        all[i]->point = "p";
    }
    b.vhost = "v";
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 1, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "v", 2, rec_fn, &b), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 3, rec_fn, &c), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 4, rec_fn, &d), 0);

    /* A removes the next one (a vhost handler): it is not called. */
    a.action = act_remove_other;
    a.other = &b;
    run(h, "p", "v");
    CHECK_STR(rec_log, "acd");
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", "v"), 3);

    /* C removes itself: called this time, not the next. */
    a.action = NULL;
    c.action = act_remove_self;
    run(h, "p", "v");
    CHECK_STR(rec_log, "acd");
    run(h, "p", "v");
    CHECK_STR(rec_log, "ad");

    /* D removes A, which was called before it. */
    d.action = act_remove_other;
    d.other = &a;
    run(h, "p", NULL);
    CHECK_STR(rec_log, "ad");
    d.action = NULL;
    run(h, "p", NULL);
    CHECK_STR(rec_log, "d");
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", NULL), 1);

    /* D adds x twice (before and after itself): not run until the next;
     * y, not yet reached when x is added, comes before the later x. */
    rec y = mk('y');
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 50, rec_fn, &y), 0);
    d.action = act_add_other;
    d.other = &x;
    run(h, "p", "v");
    CHECK_STR(rec_log, "dy");
    d.action = NULL;
    run(h, "p", "v");
    CHECK_STR(rec_log, "xdyx");
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, other_fn, &x), 0);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, rec_fn, &x), 0);
    CHECK_EQ_INT(xmppcore_hooks_remove(h, "p", NULL, rec_fn, &y), 0);

    /* Added and removed within one run: never called, nothing left. */
    d.action = act_add_remove_other;
    d.other = &x;
    run(h, "p", NULL);
    CHECK_STR(rec_log, "d");
    d.action = NULL;
    run(h, "p", NULL);
    CHECK_STR(rec_log, "d");

    /* Nested run: a -> (nested: a c d) then a removes d: outer run skips
     * d; c sees no change. */
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 1, rec_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 3, rec_fn, &c), 0);
    a.action = act_nested_run;
    a.other = &d;
    c.action = NULL;
    nest_depth = 0;
    run(h, "p", NULL);
    CHECK_STR(rec_log, "aacdc");
    run(h, "p", NULL);
    CHECK_STR(rec_log, "ac");
    CHECK_EQ_INT(xmppcore_hooks_count(h, "p", NULL), 2);
    xmppcore_hooks_free(h);
}

/* Every handler removes itself and all others while the run goes on. */
static xmppcore_hooks *massacre_hooks;
static int massacre_calls;

static xmppcore_hook_result massacre_fn(xmppcore_hook_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    massacre_calls++;
    for (intptr_t i = 0; i < 16; i++) {
        const char *vh = (i & 1) ? "v" : NULL;
        xmppcore_hooks_remove(massacre_hooks, "p", vh, massacre_fn, (void *)i);
    }
    CHECK_EQ_INT(xmppcore_hooks_count(massacre_hooks, "p", "v"), 0);
    return XMPPCORE_HOOK_CONTINUE;
}

static void test_remove_all_during_run(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    massacre_hooks = h;
    for (intptr_t i = 0; i < 16; i++)
        CHECK_EQ_INT(xmppcore_hooks_add(h, "p", (i & 1) ? "v" : NULL,
                                        (int)(i % 3), massacre_fn, (void *)i),
                     0);
    massacre_calls = 0;
    xmppcore_hooks_run(h, "p", "v", NULL, NULL);
    CHECK_EQ_INT(massacre_calls, 1);
    xmppcore_hooks_run(h, "p", "v", NULL, NULL);
    CHECK_EQ_INT(massacre_calls, 1);
    xmppcore_hooks_free(h);
}

static void test_many_points(void)
{
    /* Enough names to grow the intern tables several times. */
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    char point[32], vhost[32];
    rec a = mk('a');
    for (int i = 0; i < 300; i++) {
        snprintf(point, sizeof point, "point-%d", i);
        snprintf(vhost, sizeof vhost, "host%d.example", i % 37);
        CHECK_EQ_INT(xmppcore_hooks_add(h, point, vhost, i, rec_fn, &a), 0);
        if (i % 2)
            CHECK_EQ_INT(xmppcore_hooks_add(h, point, NULL, i, other_fn, &a), 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(point, sizeof point, "point-%d", i);
        snprintf(vhost, sizeof vhost, "host%d.example", i % 37);
        CHECK_EQ_INT(xmppcore_hooks_count(h, point, vhost), 1 + i % 2);
        CHECK_EQ_INT(xmppcore_hooks_count(h, point, NULL), i % 2);
        snprintf(vhost, sizeof vhost, "host%d.example", (i + 1) % 37);
        CHECK_EQ_INT(xmppcore_hooks_count(h, point, vhost), i % 2);
    }
    xmppcore_hooks_free(h);
}

/* ---- IQ registry ---- */

static xmppcore_hook_result iq_a(xmppcore_hook_event *ev, void *ud)
{
    return rec_fn(ev, ud);
}

static xmppcore_hook_result iq_b(xmppcore_hook_event *ev, void *ud)
{
    return rec_fn(ev, ud);
}

static char feat_log[512];

static void feat_fn(const char *ns, void *ud)
{
    (void)ud;
    strncat(feat_log, ns, sizeof feat_log - strlen(feat_log) - 2);
    strcat(feat_log, " ");
}

static const char *features(xmppcore_hooks *h, const char *vhost, size_t *n)
{
    feat_log[0] = '\0';
    *n = xmppcore_iq_features(h, vhost, feat_fn, NULL);
    return feat_log;
}

static void test_iq_registry(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a');
    size_t n;
    const int GET = XMPPCORE_IQ_GET, SET = XMPPCORE_IQ_SET;

    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", 0, iq_a, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", 4, iq_a, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, NULL, GET, iq_a, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "", GET, iq_a, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", GET, NULL, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "", "ns:a", GET, iq_a, &a), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_features(h, NULL, NULL, NULL), 0);

    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", GET, iq_a, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", GET, iq_b, &a), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", GET | SET, iq_b, &a),
                 XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:a", SET, iq_b, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:b", GET | SET, iq_b, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "v1", "ns:c", SET, iq_b, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "v1", "ns:a", GET, iq_b, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "v2", "ns:d", GET, iq_b, &a), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:e", GET, iq_b, &a), 0);

    CHECK_STR(features(h, NULL, &n), "ns:a ns:b ns:e ");
    CHECK_EQ_INT(n, 3);
    /* ns:a is in both scopes: reported once, at its earliest place. */
    CHECK_STR(features(h, "v1", &n), "ns:a ns:b ns:c ns:e ");
    CHECK_EQ_INT(n, 4);
    CHECK_STR(features(h, "v2", &n), "ns:a ns:b ns:d ns:e ");
    CHECK_STR(features(h, "v3", &n), "ns:a ns:b ns:e ");
    CHECK_EQ_INT(xmppcore_iq_features(h, "v1", NULL, NULL), 4);

    /* Removing one type keeps the namespace; removing both drops it. */
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:b", GET), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:b", GET), XMPPCORE_E_NOTFOUND);
    CHECK_STR(features(h, NULL, &n), "ns:a ns:b ns:e ");
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:b", GET | SET), 0);
    CHECK_STR(features(h, NULL, &n), "ns:a ns:e ");
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:b", SET), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, "v9", "ns:a", GET), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:zz", GET), XMPPCORE_E_NOTFOUND);
    /* Re-registering puts it at the end. */
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "ns:b", SET, iq_a, &a), 0);
    CHECK_STR(features(h, NULL, &n), "ns:a ns:e ns:b ");
    /* The global ns:a goes; v1 still has its own, at its own place. */
    CHECK_EQ_INT(xmppcore_iq_handler_remove(h, NULL, "ns:a", GET | SET), 0);
    CHECK_STR(features(h, "v1", &n), "ns:c ns:a ns:e ns:b ");
    CHECK_STR(features(h, NULL, &n), "ns:e ns:b ");

    /* Malformed dispatch input. */
    xmppcore_stanza *none = NULL;
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, NULL, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &none, NULL), XMPPCORE_E_INVAL);
    xmppcore_hooks_free(h);
}

/* ---- With stanzas ---- */

static xmppcore_stanza *make_iq(const char *type, const char *ns1,
                                const char *ns2)
{
    xmppcore_stanza *iq = xmppcore_stanza_new(NULL, "iq", "jabber:client");
    CHECK(iq != NULL);
    if (!iq)
        return NULL;
    if (type)
        CHECK_EQ_INT(xmppcore_stanza_set_attr(iq, "type", type), 0);
    CHECK_EQ_INT(xmppcore_stanza_set_attr(iq, "id", "x1"), 0);
    if (ns1)
        CHECK(xmppcore_stanza_add_child(iq, "query", ns1) != NULL);
    if (ns2)
        CHECK(xmppcore_stanza_add_child(iq, "query", ns2) != NULL);
    return iq;
}

static void test_iq_dispatch(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec g = mk('g'), s = mk('s'), v = mk('v');
    int token;
    g.result = s.result = v.result = XMPPCORE_HOOK_STOP;
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "jabber:iq:version",
                                         XMPPCORE_IQ_GET, iq_a, &g), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "jabber:iq:version",
                                         XMPPCORE_IQ_SET, iq_a, &s), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "v1", "jabber:iq:version",
                                         XMPPCORE_IQ_GET, peek_fn, NULL), 0);
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, "v2", "jabber:iq:version",
                                         XMPPCORE_IQ_GET, iq_b, &v), 0);

    xmppcore_stanza *iq = make_iq("get", "jabber:iq:version", NULL);
    xmppcore_stanza *orig = iq;
    rec_reset();
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_HOOK_STOP);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, "v3", &iq, NULL), XMPPCORE_HOOK_STOP);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, "v2", &iq, NULL), XMPPCORE_HOOK_STOP);
    CHECK_STR(rec_log, "ggv");
    CHECK(iq == orig);
    /* peek_fn returns CONTINUE: "unhandled", passed through. */
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, "v1", &iq, &token), XMPPCORE_HOOK_CONTINUE);
    CHECK(seen_stanza == iq);
    CHECK(seen_data == &token);
    CHECK_STR(seen_point, "iq");
    CHECK_STR(seen_vhost, "v1");
    xmppcore_stanza_free(iq);

    /* The vhost hides only the slot it registered: set goes global. */
    iq = make_iq("set", "jabber:iq:version", NULL);
    rec_reset();
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, "v2", &iq, NULL), XMPPCORE_HOOK_STOP);
    CHECK_STR(rec_log, "s");
    xmppcore_stanza_free(iq);

    iq = make_iq("get", "urn:unknown", NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, "v1", &iq, NULL), XMPPCORE_E_NOTFOUND);
    xmppcore_stanza_free(iq);
    iq = make_iq("result", "jabber:iq:version", NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_E_INVAL);
    xmppcore_stanza_free(iq);
    iq = make_iq(NULL, "jabber:iq:version", NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_E_INVAL);
    xmppcore_stanza_free(iq);
    iq = make_iq("get", NULL, NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_E_INVAL);
    xmppcore_stanza_free(iq);
    iq = make_iq("get", "jabber:iq:version", "jabber:iq:version");
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_E_INVAL);
    xmppcore_stanza_free(iq);
    /* Text beside the payload does not count as an element. */
    iq = make_iq("get", "jabber:iq:version", NULL);
    CHECK_EQ_INT(xmppcore_stanza_add_text(iq, "  ", (size_t)-1), 0);
    rec_reset();
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_HOOK_STOP);
    CHECK_STR(rec_log, "g");
    xmppcore_stanza_free(iq);
    /* Not an iq at all. */
    iq = xmppcore_stanza_new(NULL, "message", "jabber:client");
    CHECK_EQ_INT(xmppcore_stanza_set_attr(iq, "type", "get"), 0);
    CHECK(xmppcore_stanza_add_child(iq, "query", "jabber:iq:version") != NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &iq, NULL), XMPPCORE_E_INVAL);
    xmppcore_stanza_free(iq);
    xmppcore_hooks_free(h);
}

/* Replaces the stanza by a <replaced n=tag/>, checking the rules. */
static xmppcore_hook_result replace_fn(xmppcore_hook_event *ev, void *ud)
{
    rec *r = ud;
    char n[2] = {r->tag, 0};
    xmppcore_stanza *cur = xmppcore_hook_event_stanza(ev);
    xmppcore_stanza *st = xmppcore_stanza_new(NULL, "replaced", "urn:test");
    CHECK(st != NULL);
    if (!st)
        return XMPPCORE_HOOK_CONTINUE;
    CHECK_EQ_INT(xmppcore_stanza_set_attr(st, "n", n), 0);
    /* A child is not a root: refused, nothing changes. */
    xmppcore_stanza *child = xmppcore_stanza_add_child(st, "c", NULL);
    CHECK_EQ_INT(xmppcore_hook_event_set_stanza(ev, child), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_hook_event_set_stanza(ev, NULL), XMPPCORE_E_INVAL);
    CHECK(xmppcore_hook_event_stanza(ev) == cur);
    /* Setting the current stanza again is a no-op (no free). */
    if (cur)
        CHECK_EQ_INT(xmppcore_hook_event_set_stanza(ev, cur), 0);
    CHECK_EQ_INT(xmppcore_hook_event_set_stanza(ev, st), 0);
    CHECK(xmppcore_hook_event_stanza(ev) == st);
    return rec_fn(ev, ud);
}

static xmppcore_hook_result expect_fn(xmppcore_hook_event *ev, void *ud)
{
    /* Sees the stanza the previous handler left. */
    const char *want = ud;
    CHECK_STR(xmppcore_stanza_attr(xmppcore_hook_event_stanza(ev), "n"), want);
    return XMPPCORE_HOOK_CONTINUE;
}

static void test_replace_stanza(void)
{
    xmppcore_hooks *h = xmppcore_hooks_new(NULL);
    rec a = mk('a'), b = mk('b');
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 1, replace_fn, &a), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", NULL, 2, expect_fn, "a"), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "v", 3, replace_fn, &b), 0);
    CHECK_EQ_INT(xmppcore_hooks_add(h, "p", "v", 4, expect_fn, "b"), 0);

    xmppcore_stanza *st = xmppcore_stanza_new(NULL, "message", "jabber:client");
    rec_reset();
    CHECK_EQ_INT(xmppcore_hooks_run(h, "p", "v", &st, NULL), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(rec_log, "ab");
    CHECK_STR(xmppcore_stanza_name(st), "replaced");
    CHECK_STR(xmppcore_stanza_attr(st, "n"), "b");

    /* DROP leaves the (replaced) stanza for the caller to free. */
    b.result = XMPPCORE_HOOK_DROP;
    rec_reset();
    CHECK_EQ_INT(xmppcore_hooks_run(h, "p", "v", &st, NULL), XMPPCORE_HOOK_DROP);
    CHECK_STR(rec_log, "ab");
    CHECK(st != NULL);
    CHECK_STR(xmppcore_stanza_attr(st, "n"), "b");
    xmppcore_stanza_free(st);

    /* From no stanza to one. */
    st = NULL;
    CHECK_EQ_INT(xmppcore_hooks_run(h, "p", NULL, &st, NULL), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(xmppcore_stanza_attr(st, "n"), "a");
    xmppcore_stanza_free(st);

    /* An IQ handler may replace the iq too (e.g. with its answer). */
    CHECK_EQ_INT(xmppcore_iq_handler_add(h, NULL, "urn:x", XMPPCORE_IQ_SET,
                                         replace_fn, &a), 0);
    st = make_iq("set", "urn:x", NULL);
    CHECK_EQ_INT(xmppcore_iq_dispatch(h, NULL, &st, NULL), XMPPCORE_HOOK_CONTINUE);
    CHECK_STR(xmppcore_stanza_name(st), "replaced");
    xmppcore_stanza_free(st);
    xmppcore_hooks_free(h);
}

/* ---- Allocation failures ---- */

static int oom_build(xmppcore_hooks *h, rec *r)
{
    char point[16], vhost[16], ns[16];
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(point, sizeof point, "p%d", i % 13);
        snprintf(vhost, sizeof vhost, "v%d", i % 7);
        snprintf(ns, sizeof ns, "ns%d", i % 11);
        int rc = xmppcore_hooks_add(h, point, (i % 3) ? vhost : NULL, i % 5,
                                    rec_fn, &r[i]);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
        ok += rc == 0;
        rc = xmppcore_iq_handler_add(h, (i % 2) ? vhost : NULL, ns,
                                     (i % 3) + 1 > 2 ? 3 : (i % 3) + 1, iq_a, r);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM || rc == XMPPCORE_E_EXISTS);
    }
    return ok;
}

static void test_oom(void)
{
    tl_failmem fm;
    rec r[40];
    for (int i = 0; i < 40; i++)
        r[i] = mk('a');
    int saw_success = 0;
    for (long n = 1; n < 2000 && !saw_success; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        xmppcore_hooks *h = xmppcore_hooks_new(&m);
        if (h) {
            int ok = oom_build(h, r);
            /* What succeeded is registered and runs. */
            size_t total = 0;
            char point[16];
            for (int i = 0; i < 13; i++) {
                snprintf(point, sizeof point, "p%d", i);
                for (int v = 0; v < 7; v++) {
                    char vhost[16];
                    snprintf(vhost, sizeof vhost, "v%d", v);
                    total += xmppcore_hooks_count(h, point, vhost) -
                             xmppcore_hooks_count(h, point, NULL);
                }
                total += xmppcore_hooks_count(h, point, NULL);
            }
            CHECK_EQ_INT(total, ok);
            xmppcore_iq_features(h, "v1", NULL, NULL);
            if (!fm.failed) {
                saw_success = 1;
                CHECK_EQ_INT(ok, 40);
            }
            xmppcore_hooks_free(h);
        }
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(saw_success);
}

TEST_MAIN(TEST_ENTRY(test_registry), TEST_ENTRY(test_order),
          TEST_ENTRY(test_results), TEST_ENTRY(test_event),
          TEST_ENTRY(test_change_during_run),
          TEST_ENTRY(test_remove_all_during_run),
          TEST_ENTRY(test_many_points), TEST_ENTRY(test_iq_registry),
          TEST_ENTRY(test_iq_dispatch), TEST_ENTRY(test_replace_stanza),
          TEST_ENTRY(test_oom))

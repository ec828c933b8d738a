/* Unit tests for lib/store: one account test body run against the
 * memory backend, the SQLite backend (temp file) and a wrapper that
 * completes every call later; SQLite migrations, persistence and
 * failures; allocation failures; bulk creation timing. */
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "xmppcore/store.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Waiting for completions, whenever they come ---- */

/* Drives a backend that completes later; NULL for inline backends. */
static int (*pump)(void);

typedef struct {
    int done; /* times the callback ran */
    int status;
    xmppcore_credentials creds;
    uint64_t count;
    char **users;
    size_t n;
} result;

static void wait_done(result *r)
{
    while (!r->done && pump && pump())
        ;
    CHECK_EQ_INT(r->done, 1);
}

static void done_cb(int status, void *ud)
{
    result *r = ud;
    r->done++;
    r->status = status;
}

static void creds_cb(int status, const xmppcore_credentials *c, void *ud)
{
    result *r = ud;
    r->done++;
    r->status = status;
    CHECK((status == 0) == (c != NULL));
    if (c)
        r->creds = *c;
}

static void count_cb(int status, uint64_t count, void *ud)
{
    result *r = ud;
    r->done++;
    r->status = status;
    r->count = count;
}

static void users_cb(int status, const char *const *users, size_t n, void *ud)
{
    result *r = ud;
    r->done++;
    r->status = status;
    r->n = n;
    CHECK((n == 0) == (users == NULL));
    r->users = n ? calloc(n, sizeof *r->users) : NULL;
    for (size_t i = 0; i < n; i++)
        r->users[i] = strdup(users[i]);
}

static void result_clear(result *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->users[i]);
    free(r->users);
    memset(r, 0, sizeof *r);
}

/* Each helper returns the synchronous error, or the status the callback
 * got; a synchronous error must come without a callback. */
#define FINISH(rc, r)                                                      \
    do {                                                                   \
        if (rc) {                                                          \
            while (pump && pump())                                         \
                ;                                                          \
            CHECK_EQ_INT((r)->done, 0);                                    \
            return rc;                                                     \
        }                                                                  \
        wait_done(r);                                                      \
        return (r)->status;                                                \
    } while (0)

static int do_create(xmppcore_store *s, const char *vh, const char *u,
                     const xmppcore_credentials *c)
{
    result r = {0};
    int rc = xmppcore_store_auth_create(s, vh, u, c, done_cb, &r);
    FINISH(rc, &r);
}

static int do_set(xmppcore_store *s, const char *vh, const char *u,
                  const xmppcore_credentials *c)
{
    result r = {0};
    int rc = xmppcore_store_auth_set(s, vh, u, c, done_cb, &r);
    FINISH(rc, &r);
}

static int do_remove(xmppcore_store *s, const char *vh, const char *u)
{
    result r = {0};
    int rc = xmppcore_store_auth_remove(s, vh, u, done_cb, &r);
    FINISH(rc, &r);
}

static int do_exists(xmppcore_store *s, const char *vh, const char *u)
{
    result r = {0};
    int rc = xmppcore_store_auth_exists(s, vh, u, done_cb, &r);
    FINISH(rc, &r);
}

static int do_get(xmppcore_store *s, const char *vh, const char *u,
                  xmppcore_credentials *out)
{
    result r = {0};
    int rc = xmppcore_store_auth_get(s, vh, u, creds_cb, &r);
    if (rc) {
        FINISH(rc, &r);
    }
    wait_done(&r);
    if (out)
        *out = r.creds;
    return r.status;
}

static int64_t do_count(xmppcore_store *s, const char *vh)
{
    result r = {0};
    int rc = xmppcore_store_auth_count(s, vh, count_cb, &r);
    if (rc)
        return rc;
    wait_done(&r);
    return r.status ? r.status : (int64_t)r.count;
}

static int do_list(xmppcore_store *s, const char *vh, const char *after,
                   size_t limit, result *r)
{
    memset(r, 0, sizeof *r);
    int rc = xmppcore_store_auth_list(s, vh, after, limit, users_cb, r);
    FINISH(rc, r);
}

static int do_create_many(xmppcore_store *s, const char *vh,
                          const xmppcore_store_account *a, size_t n)
{
    result r = {0};
    int rc = xmppcore_store_auth_create_many(s, vh, a, n, done_cb, &r);
    FINISH(rc, &r);
}

/* ---- Credentials ---- */

static xmppcore_credentials make_creds(unsigned seed, int with_sha256)
{
    xmppcore_credentials c;
    memset(&c, 0, sizeof c);
    c.sha1.iterations = 4096 + seed;
    c.sha1.salt_len = 16 + seed % 17;
    for (unsigned i = 0; i < c.sha1.salt_len; i++)
        c.sha1.salt[i] = (unsigned char)(seed * 31 + i);
    for (unsigned i = 0; i < 20; i++) {
        c.sha1.stored_key[i] = (unsigned char)(seed + 7 * i);
        c.sha1.server_key[i] = (unsigned char)(seed + 11 * i + 1);
    }
    if (with_sha256) {
        c.sha256.iterations = 5000 + seed;
        c.sha256.salt_len = XMPPCORE_SCRAM_SALT_MAX - seed % 5;
        for (unsigned i = 0; i < c.sha256.salt_len; i++)
            c.sha256.salt[i] = (unsigned char)(seed * 17 + i);
        for (unsigned i = 0; i < 32; i++) {
            c.sha256.stored_key[i] = (unsigned char)(seed + 3 * i + 2);
            c.sha256.server_key[i] = (unsigned char)(seed + 5 * i + 3);
        }
    }
    return c;
}

static int keys_equal(const xmppcore_scram_keys *a,
                      const xmppcore_scram_keys *b, size_t key_len)
{
    if (a->iterations != b->iterations)
        return 0;
    if (!a->iterations)
        return 1;
    return a->salt_len == b->salt_len &&
           memcmp(a->salt, b->salt, a->salt_len) == 0 &&
           memcmp(a->stored_key, b->stored_key, key_len) == 0 &&
           memcmp(a->server_key, b->server_key, key_len) == 0;
}

static int creds_equal(const xmppcore_credentials *a,
                       const xmppcore_credentials *b)
{
    return keys_equal(&a->sha1, &b->sha1, 20) &&
           keys_equal(&a->sha256, &b->sha256, 32);
}

/* ---- Reentrancy: store calls made from inside a callback ---- */

typedef struct {
    xmppcore_store *s;
    const char *vhost;
    int outer_done;
    int inner_ok;
    int inner_done;
} nest;

static void nest_inner_cb(int status, void *ud)
{
    nest *x = ud;
    x->inner_done++;
    x->inner_ok += status == 0;
}

static void nest_list_cb(int status, const char *const *users, size_t n,
                         void *ud)
{
    nest *x = ud;
    x->outer_done++;
    CHECK_EQ_INT(status, 0);
    for (size_t i = 0; i < n; i++) {
        /* Start calls without waiting: the backend may finish them now
         * or later, while this callback still reads users[]. */
        int rc = xmppcore_store_auth_exists(x->s, x->vhost, users[i],
                                            nest_inner_cb, x);
        CHECK_EQ_INT(rc, 0);
    }
}

/* ---- The test body every backend must pass ---- */

static const char *const odd_names[] = {
    "a'; DROP TABLE x;--",
    "Robert'); DROP TABLE users;--",
    "\"quoted\" name",
    "100%_like*",
    "back\\slash",
    "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9", /* ünïcødé */
    "\xf0\x9f\x98\x80 emoji",
    "?1 ?2 :name @x $y",
};

static void auth_suite(xmppcore_store *s)
{
    const char *V = "example.org", *W = "example.net";
    xmppcore_credentials c1 = make_creds(1, 1), c2 = make_creds(2, 1),
                         c3 = make_creds(3, 0), got;

    /* Empty. */
    CHECK_EQ_INT(do_count(s, V), 0);
    CHECK_EQ_INT(do_get(s, V, "alice", &got), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, V, "alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_remove(s, V, "alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_set(s, V, "alice", &c1), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, V, "alice"), XMPPCORE_E_NOTFOUND);
    result r;
    CHECK_EQ_INT(do_list(s, V, NULL, 10, &r), 0);
    CHECK_EQ_INT(r.n, 0);
    result_clear(&r);

    /* Create, duplicate, read back. */
    CHECK_EQ_INT(do_create(s, V, "alice", &c1), 0);
    CHECK_EQ_INT(do_create(s, V, "alice", &c2), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(do_exists(s, V, "alice"), 0);
    memset(&got, 0xee, sizeof got);
    CHECK_EQ_INT(do_get(s, V, "alice", &got), 0);
    CHECK(creds_equal(&got, &c1));
    CHECK(!creds_equal(&got, &c2));
    /* Usernames are exact: no case folding, no trimming. */
    CHECK_EQ_INT(do_exists(s, V, "Alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, V, "alice "), XMPPCORE_E_NOTFOUND);

    /* Vhosts are separate. */
    CHECK_EQ_INT(do_exists(s, W, "alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_create(s, W, "alice", &c2), 0);
    CHECK_EQ_INT(do_create(s, W, "bob", &c3), 0);
    CHECK_EQ_INT(do_get(s, W, "alice", &got), 0);
    CHECK(creds_equal(&got, &c2));
    CHECK_EQ_INT(do_get(s, V, "alice", &got), 0);
    CHECK(creds_equal(&got, &c1));
    CHECK_EQ_INT(do_count(s, V), 1);
    CHECK_EQ_INT(do_count(s, W), 2);

    /* Only SHA-1 keys: SHA-256 reads back as absent. */
    CHECK_EQ_INT(do_get(s, W, "bob", &got), 0);
    CHECK(creds_equal(&got, &c3));
    CHECK_EQ_INT(got.sha256.iterations, 0);

    /* Password change. */
    CHECK_EQ_INT(do_set(s, W, "bob", &c1), 0);
    CHECK_EQ_INT(do_get(s, W, "bob", &got), 0);
    CHECK(creds_equal(&got, &c1));
    CHECK_EQ_INT(do_set(s, W, "bob", &c3), 0);
    CHECK_EQ_INT(do_get(s, W, "bob", &got), 0);
    CHECK(creds_equal(&got, &c3));
    CHECK_EQ_INT(do_count(s, W), 2);

    /* Delete. */
    CHECK_EQ_INT(do_remove(s, W, "alice"), 0);
    CHECK_EQ_INT(do_remove(s, W, "alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, W, "alice"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_get(s, W, "alice", &got), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, V, "alice"), 0);
    CHECK_EQ_INT(do_count(s, W), 1);
    /* Re-create after delete. */
    CHECK_EQ_INT(do_create(s, W, "alice", &c3), 0);
    CHECK_EQ_INT(do_get(s, W, "alice", &got), 0);
    CHECK(creds_equal(&got, &c3));

    /* Names with SQL and shell meta-characters are stored verbatim. */
    const char *X = "odd.example";
    for (size_t i = 0; i < N_OF(odd_names); i++)
        CHECK_EQ_INT(do_create(s, X, odd_names[i], &c1), 0);
    char longname[1001];
    memset(longname, 'l', 1000);
    longname[1000] = '\0';
    CHECK_EQ_INT(do_create(s, X, longname, &c2), 0);
    for (size_t i = 0; i < N_OF(odd_names); i++) {
        CHECK_EQ_INT(do_exists(s, X, odd_names[i]), 0);
        CHECK_EQ_INT(do_get(s, X, odd_names[i], &got), 0);
        CHECK(creds_equal(&got, &c1));
    }
    CHECK_EQ_INT(do_get(s, X, longname, &got), 0);
    CHECK(creds_equal(&got, &c2));
    CHECK_EQ_INT(do_count(s, X), N_OF(odd_names) + 1);
    CHECK_EQ_INT(do_list(s, X, NULL, 100, &r), 0);
    CHECK_EQ_INT(r.n, N_OF(odd_names) + 1);
    for (size_t i = 0; i < N_OF(odd_names); i++) {
        int seen = 0;
        for (size_t j = 0; j < r.n; j++)
            seen += strcmp(r.users[j], odd_names[i]) == 0;
        CHECK_EQ_INT(seen, 1);
    }
    /* Bytewise order. */
    for (size_t j = 1; j < r.n; j++)
        CHECK(strcmp(r.users[j - 1], r.users[j]) < 0);
    result_clear(&r);
    /* The other vhosts are untouched. */
    CHECK_EQ_INT(do_count(s, V), 1);
    CHECK_EQ_INT(do_count(s, W), 2);

    /* Bulk creation, paging. */
    const char *P = "page.example";
    enum { NP = 250 };
    static char names[NP][16];
    static xmppcore_credentials pc[NP];
    xmppcore_store_account acc[NP];
    for (int i = 0; i < NP; i++) {
        /* Not in order, to exercise sorting. */
        int k = (i * 97) % NP;
        snprintf(names[i], sizeof names[i], "u%03d", k);
        pc[i] = make_creds((unsigned)k, k % 2);
        acc[i].username = names[i];
        acc[i].creds = &pc[i];
    }
    CHECK_EQ_INT(do_create_many(s, P, acc, NP), 0);
    CHECK_EQ_INT(do_count(s, P), NP);
    CHECK_EQ_INT(do_create_many(s, P, acc + 10, 1), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(do_get(s, P, "u123", &got), 0);
    xmppcore_credentials want = make_creds(123, 1);
    CHECK(creds_equal(&got, &want));

    const char *after = NULL;
    char last[16] = "";
    int total = 0, pages = 0;
    for (;;) {
        CHECK_EQ_INT(do_list(s, P, after, 64, &r), 0);
        pages++;
        for (size_t j = 0; j < r.n; j++) {
            char expect[16];
            snprintf(expect, sizeof expect, "u%03d", total++);
            CHECK_STR(r.users[j], expect);
        }
        size_t n = r.n;
        if (n)
            snprintf(last, sizeof last, "%s", r.users[n - 1]);
        result_clear(&r);
        if (n < 64)
            break;
        after = last;
    }
    CHECK_EQ_INT(total, NP);
    CHECK_EQ_INT(pages, 4);
    /* After a name that is not there; after the last one. */
    CHECK_EQ_INT(do_list(s, P, "u0995", 3, &r), 0);
    CHECK_EQ_INT(r.n, 3);
    if (r.n == 3) {
        CHECK_STR(r.users[0], "u100");
        CHECK_STR(r.users[2], "u102");
    }
    result_clear(&r);
    CHECK_EQ_INT(do_list(s, P, "u249", 3, &r), 0);
    CHECK_EQ_INT(r.n, 0);
    result_clear(&r);

    /* All or nothing: one clash, or a name twice in the batch. */
    xmppcore_store_account clash[3] = {
        {"new1", &c1}, {"u200", &c1}, {"new2", &c1}};
    CHECK_EQ_INT(do_create_many(s, P, clash, 3), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(do_exists(s, P, "new1"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_exists(s, P, "new2"), XMPPCORE_E_NOTFOUND);
    clash[1].username = "new1";
    CHECK_EQ_INT(do_create_many(s, P, clash, 3), XMPPCORE_E_EXISTS);
    CHECK_EQ_INT(do_exists(s, P, "new1"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_count(s, P), NP);
    clash[1].username = "new3";
    CHECK_EQ_INT(do_create_many(s, P, clash, 3), 0);
    CHECK_EQ_INT(do_count(s, P), NP + 3);

    /* Calls from inside a callback. */
    nest x = {s, P, 0, 0, 0};
    CHECK_EQ_INT(xmppcore_store_auth_list(s, P, "u050", 20, nest_list_cb, &x), 0);
    while ((x.outer_done < 1 || x.inner_done < 20) && pump && pump())
        ;
    CHECK_EQ_INT(x.outer_done, 1);
    CHECK_EQ_INT(x.inner_done, 20);
    CHECK_EQ_INT(x.inner_ok, 20);

    /* Synchronous errors never call back. */
    xmppcore_credentials bad = c1;
    bad.sha256.salt_len = XMPPCORE_SCRAM_SALT_MAX + 1;
    CHECK_EQ_INT(do_create(s, V, "carol", &bad), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_set(s, V, "alice", &bad), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_create(s, V, "", &c1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_create(s, V, NULL, &c1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_create(s, V, "carol", NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_create(s, "", "carol", &c1), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_get(s, NULL, "alice", NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_exists(s, V, ""), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_remove(s, V, NULL), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_list(s, V, NULL, 0, &r), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_count(s, ""), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_create_many(s, V, clash, 0), XMPPCORE_E_INVAL);
    clash[2].username = "";
    CHECK_EQ_INT(do_create_many(s, V, clash, 3), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_store_auth_get(s, V, "alice", NULL, NULL),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(do_exists(s, V, "carol"), XMPPCORE_E_NOTFOUND);
}

/* ---- A backend that completes every call later ---- */

/* Wraps another auth backend: runs the call at once, but holds its
 * completion in a queue until pump() delivers it, as a worker thread
 * or an asynchronous client would. */
typedef struct job {
    struct job *next;
    int kind; /* 0 done, 1 creds, 2 count, 3 users */
    union {
        xmppcore_store_done_fn done;
        xmppcore_store_creds_fn creds;
        xmppcore_store_count_fn count;
        xmppcore_store_users_fn users;
    } cb;
    void *user_data;
    int status;
    xmppcore_credentials creds;
    uint64_t count;
    char **users;
    size_t n;
} job;

static struct {
    const xmppcore_store_auth_vtable *inner;
    job *head, **tail;
} dfr;

static job *job_new(int kind)
{
    job *j = calloc(1, sizeof *j);
    j->kind = kind;
    return j;
}

/* Queues j if the inner call succeeded; else drops it: a call that
 * fails synchronously never calls back. */
static int job_finish(job *j, void *ud, int rc)
{
    if (rc) {
        free(j);
        return rc;
    }
    j->user_data = ud;
    *dfr.tail = j;
    dfr.tail = &j->next;
    return 0;
}

static void cap_done(int status, void *ud)
{
    job *j = ud;
    j->status = status;
}

static void cap_creds(int status, const xmppcore_credentials *c, void *ud)
{
    job *j = ud;
    j->status = status;
    if (c)
        j->creds = *c;
}

static void cap_count(int status, uint64_t count, void *ud)
{
    job *j = ud;
    j->status = status;
    j->count = count;
}

static void cap_users(int status, const char *const *users, size_t n, void *ud)
{
    job *j = ud;
    j->status = status;
    j->n = n;
    j->users = n ? calloc(n, sizeof *j->users) : NULL;
    for (size_t i = 0; i < n; i++)
        j->users[i] = strdup(users[i]);
}

static int dfr_pump(void)
{
    job *j = dfr.head;
    if (!j)
        return 0;
    dfr.head = j->next;
    if (!dfr.head)
        dfr.tail = &dfr.head;
    switch (j->kind) {
    case 0:
        j->cb.done(j->status, j->user_data);
        break;
    case 1:
        j->cb.creds(j->status, j->status ? NULL : &j->creds,
                                         j->user_data);
        break;
    case 2:
        j->cb.count(j->status, j->count, j->user_data);
        break;
    default:
        j->cb.users(j->status,
                                         (const char *const *)j->users, j->n,
                                         j->user_data);
        for (size_t i = 0; i < j->n; i++)
            free(j->users[i]);
        free(j->users);
        break;
    }
    free(j);
    return 1;
}

static int d_get(void *b, const char *v, const char *u,
                 xmppcore_store_creds_fn cb, void *ud)
{
    job *j = job_new(1);
    j->cb.creds = cb;
    return job_finish(j, ud, dfr.inner->get(b, v, u, cap_creds, j));
}

static int d_create(void *b, const char *v, const char *u,
                    const xmppcore_credentials *c, xmppcore_store_done_fn cb,
                    void *ud)
{
    job *j = job_new(0);
    j->cb.done = cb;
    return job_finish(j, ud, dfr.inner->create(b, v, u, c, cap_done, j));
}

static int d_set(void *b, const char *v, const char *u,
                 const xmppcore_credentials *c, xmppcore_store_done_fn cb,
                 void *ud)
{
    job *j = job_new(0);
    j->cb.done = cb;
    return job_finish(j, ud, dfr.inner->set(b, v, u, c, cap_done, j));
}

static int d_remove(void *b, const char *v, const char *u,
                    xmppcore_store_done_fn cb, void *ud)
{
    job *j = job_new(0);
    j->cb.done = cb;
    return job_finish(j, ud, dfr.inner->remove(b, v, u, cap_done, j));
}

static int d_exists(void *b, const char *v, const char *u,
                    xmppcore_store_done_fn cb, void *ud)
{
    job *j = job_new(0);
    j->cb.done = cb;
    return job_finish(j, ud, dfr.inner->exists(b, v, u, cap_done, j));
}

static int d_list(void *b, const char *v, const char *after, size_t limit,
                  xmppcore_store_users_fn cb, void *ud)
{
    job *j = job_new(3);
    j->cb.users = cb;
    return job_finish(j, ud, dfr.inner->list(b, v, after, limit, cap_users, j));
}

static int d_count(void *b, const char *v, xmppcore_store_count_fn cb, void *ud)
{
    job *j = job_new(2);
    j->cb.count = cb;
    return job_finish(j, ud, dfr.inner->count(b, v, cap_count, j));
}

static int d_create_many(void *b, const char *v,
                         const xmppcore_store_account *a, size_t n,
                         xmppcore_store_done_fn cb, void *ud)
{
    job *j = job_new(0);
    j->cb.done = cb;
    return job_finish(j, ud, dfr.inner->create_many(b, v, a, n, cap_done, j));
}

static const xmppcore_store_auth_vtable deferred_auth = {
    XMPPCORE_STORE_AUTH_VERSION, d_get, d_create, d_set, d_remove,
    d_exists, d_list, d_count, d_create_many,
};

/* ---- Tests ---- */

static void test_memory(void)
{
    xmppcore_store *s = xmppcore_store_memory_new(NULL);
    CHECK(s != NULL);
    pump = NULL;
    auth_suite(s);
    xmppcore_store_free(s);
    xmppcore_store_free(NULL);
}

static void test_deferred(void)
{
    xmppcore_store *s = xmppcore_store_memory_new(NULL);
    void *inner_backend;
    xmppcore_store_get_auth(s, &dfr.inner, &inner_backend);
    CHECK(dfr.inner != NULL);
    dfr.head = NULL;
    dfr.tail = &dfr.head;
    CHECK_EQ_INT(xmppcore_store_set_auth(s, &deferred_auth, inner_backend), 0);

    /* Nothing completes before the pump runs. */
    result r = {0};
    CHECK_EQ_INT(xmppcore_store_auth_count(s, "x.example", count_cb, &r), 0);
    CHECK_EQ_INT(r.done, 0);
    CHECK(dfr_pump());
    CHECK_EQ_INT(r.done, 1);

    pump = dfr_pump;
    auth_suite(s);
    pump = NULL;
    CHECK(dfr.head == NULL);
    xmppcore_store_free(s);
}

static void test_no_backend(void)
{
    xmppcore_store *s = xmppcore_store_new(NULL);
    const xmppcore_store_auth_vtable *vt = (void *)1;
    void *be = (void *)1;
    xmppcore_credentials c = make_creds(1, 1);
    pump = NULL;
    xmppcore_store_get_auth(s, &vt, &be);
    CHECK(vt == NULL && be == NULL);
    CHECK_EQ_INT(do_create(s, "v", "u", &c), XMPPCORE_E_UNSUPPORTED);
    CHECK_EQ_INT(do_get(s, "v", "u", NULL), XMPPCORE_E_UNSUPPORTED);
    CHECK_EQ_INT(do_count(s, "v"), XMPPCORE_E_UNSUPPORTED);

    /* A backend implementing only part of the vtable. */
    xmppcore_store *m = xmppcore_store_memory_new(NULL);
    const xmppcore_store_auth_vtable *mvt;
    void *mbe;
    xmppcore_store_get_auth(m, &mvt, &mbe);
    xmppcore_store_auth_vtable partial = *mvt;
    partial.create_many = NULL;
    partial.list = NULL;
    CHECK_EQ_INT(xmppcore_store_set_auth(s, &partial, mbe), 0);
    CHECK_EQ_INT(do_create(s, "v", "u", &c), 0);
    CHECK_EQ_INT(do_exists(s, "v", "u"), 0);
    xmppcore_store_account a = {"w", &c};
    CHECK_EQ_INT(do_create_many(s, "v", &a, 1), XMPPCORE_E_UNSUPPORTED);
    result r;
    CHECK_EQ_INT(do_list(s, "v", NULL, 5, &r), XMPPCORE_E_UNSUPPORTED);
    partial.version = 0;
    CHECK_EQ_INT(xmppcore_store_set_auth(s, &partial, mbe), XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_store_set_auth(s, NULL, NULL), 0);
    CHECK_EQ_INT(do_exists(s, "v", "u"), XMPPCORE_E_UNSUPPORTED);
    xmppcore_store_free(s);
    xmppcore_store_free(m);
}

static void test_memory_oom(void)
{
    tl_failmem fm;
    xmppcore_credentials c = make_creds(5, 1);
    char names[40][8];
    xmppcore_store_account acc[40];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "m%02d", 39 - i);
        acc[i].username = names[i];
        acc[i].creds = &c;
    }
    pump = NULL;
    int saw_success = 0;
    for (long n = 1; n < 500 && !saw_success; n++) {
        xmppcore_mem m = tl_failmem_make(&fm, n);
        xmppcore_store *s = xmppcore_store_memory_new(&m);
        if (!s) {
            CHECK_EQ_INT(fm.live, 0);
            continue;
        }
        /* Track what must be there whatever fails. */
        int64_t expect_v = 0, expect_w = 0;
        int rc;
        char u[8];
        for (int i = 0; i < 20; i++) {
            snprintf(u, sizeof u, "u%02d", (i * 7) % 20);
            rc = do_create(s, "v.example", u, &c);
            CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
            expect_v += rc == 0;
        }
        rc = do_create_many(s, "w.example", acc, 40);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
        if (rc == 0)
            expect_w = 40;
        CHECK_EQ_INT(do_count(s, "v.example"), expect_v);
        CHECK_EQ_INT(do_count(s, "w.example"), expect_w);
        result r;
        rc = do_list(s, "w.example", "m10", 10, &r);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOMEM);
        if (rc == 0)
            CHECK_EQ_INT(r.n, expect_w ? 10 : 0);
        result_clear(&r);
        rc = do_remove(s, "v.example", "u03");
        CHECK(rc == 0 || rc == XMPPCORE_E_NOTFOUND);
        rc = do_set(s, "v.example", "u04", &c);
        CHECK(rc == 0 || rc == XMPPCORE_E_NOTFOUND);
        if (!fm.failed) {
            saw_success = 1;
            CHECK_EQ_INT(expect_v, 20);
            CHECK_EQ_INT(expect_w, 40);
        }
        xmppcore_store_free(s);
        CHECK_EQ_INT(fm.live, 0);
    }
    CHECK(saw_success);
}

/* ---- SQLite ---- */

static char db_path[64];

static void db_temp(void)
{
    snprintf(db_path, sizeof db_path, "/tmp/xc_store_XXXXXX");
    int fd = mkstemp(db_path);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    unlink(db_path); /* SQLite creates it */
}

static void db_remove(void)
{
    char p[80];
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
}

/* Runs SQL on the database file directly (sqlite3 API, not ours). */
static void raw_sql(const char *sql)
{
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "raw_sql: %s\n", err ? err : "?");
    CHECK_EQ_INT(rc, SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

static int64_t raw_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *sql, char *out, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_sqlite(void)
{
    xmppcore_store *s = NULL;
    xmppcore_credentials got, c1 = make_creds(1, 1);
    pump = NULL;
    db_temp();
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), 0);
    CHECK(s != NULL);
    if (!s)
        return;
    auth_suite(s);
    xmppcore_store_free(s);

    /* Persisted, in WAL mode, at the current schema version. */
    char mode[16];
    raw_text("PRAGMA journal_mode", mode, sizeof mode);
    CHECK_STR(mode, "wal");
    CHECK_EQ_INT(raw_int("SELECT max(version) FROM schema_version"),
                 xmppcore_store_sqlite_schema_version());
    /* The odd name is a row, and nothing was dropped. */
    CHECK_EQ_INT(raw_int("SELECT count(*) FROM users WHERE username ="
                         " 'a''; DROP TABLE x;--'"), 1);

    xmppcore_store_sqlite_options o = {XMPPCORE_STORE_SQLITE_OPTIONS_VERSION,
                                       250, 0};
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, &o, NULL, &s), 0);
    if (!s)
        return;
    CHECK_EQ_INT(do_get(s, "example.org", "alice", &got), 0);
    CHECK(creds_equal(&got, &c1));
    CHECK_EQ_INT(do_count(s, "page.example"), 253);
    CHECK_EQ_INT(do_exists(s, "odd.example", "a'; DROP TABLE x;--"), 0);
    CHECK_EQ_INT(do_exists(s, "example.net", "alice"), 0);

    /* A second connection holding the write lock: a write waits out the
     * busy timeout, then fails with XMPPCORE_E_IO (through the callback)
     * and changes nothing. */
    sqlite3 *other = NULL;
    CHECK_EQ_INT(sqlite3_open(db_path, &other), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                 SQLITE_OK);
    CHECK_EQ_INT(do_create(s, "example.org", "locked", &c1), XMPPCORE_E_IO);
    xmppcore_store_account a = {"locked2", &c1};
    CHECK_EQ_INT(do_create_many(s, "example.org", &a, 1), XMPPCORE_E_IO);
    /* Readers are not blocked in WAL mode. */
    CHECK_EQ_INT(do_exists(s, "example.org", "alice"), 0);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    CHECK_EQ_INT(do_exists(s, "example.org", "locked"), XMPPCORE_E_NOTFOUND);
    CHECK_EQ_INT(do_create(s, "example.org", "locked", &c1), 0);
    xmppcore_store_free(s);

    /* Exclusive: the store works as before and holds the lock until it
     * is freed; another connection cannot even read meanwhile. */
    xmppcore_store_sqlite_options ex = {XMPPCORE_STORE_SQLITE_OPTIONS_VERSION,
                                        100, 1};
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, &ex, NULL, &s), 0);
    if (!s)
        return;
    CHECK_EQ_INT(do_get(s, "example.org", "alice", &got), 0);
    CHECK(creds_equal(&got, &c1));
    CHECK_EQ_INT(do_create(s, "example.org", "excl", &c1), 0);
    CHECK_EQ_INT(do_exists(s, "example.org", "excl"), 0);
    CHECK_EQ_INT(sqlite3_open(db_path, &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 50);
    CHECK(sqlite3_exec(other, "SELECT count(*) FROM users", NULL, NULL, NULL) ==
          SQLITE_BUSY);
    CHECK_EQ_INT(do_count(s, "page.example"), 253);
    xmppcore_store_free(s);
    CHECK_EQ_INT(sqlite3_exec(other, "SELECT count(*) FROM users", NULL, NULL,
                              NULL), SQLITE_OK);
    sqlite3_close(other);
    /* Version 1 callers, whose struct ends before `exclusive`, stay
     * shared. */
    xmppcore_store_sqlite_options v1 = {1, 100, 1};
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, &v1, NULL, &s), 0);
    CHECK_EQ_INT(do_exists(s, "example.org", "excl"), 0);
    CHECK_EQ_INT(sqlite3_open(db_path, &other), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(other, "SELECT count(*) FROM users", NULL, NULL,
                              NULL), SQLITE_OK);
    sqlite3_close(other);
    xmppcore_store_free(s);
    db_remove();
}

static void test_sqlite_open_errors(void)
{
    xmppcore_store *s = (void *)1;
    xmppcore_store_sqlite_options bad = {0, 0, 0};
    CHECK_EQ_INT(xmppcore_store_sqlite_open(NULL, NULL, NULL, &s), XMPPCORE_E_INVAL);
    CHECK(s == NULL);
    CHECK_EQ_INT(xmppcore_store_sqlite_open("/tmp/x", NULL, NULL, NULL),
                 XMPPCORE_E_INVAL);
    CHECK_EQ_INT(xmppcore_store_sqlite_open("/tmp/x", &bad, NULL, &s),
                 XMPPCORE_E_INVAL);
    s = (void *)1;
    CHECK_EQ_INT(xmppcore_store_sqlite_open("/nonexistent-dir/x.db", NULL, NULL, &s),
                 XMPPCORE_E_IO);
    CHECK(s == NULL);

    /* Not a database. */
    db_temp();
    FILE *f = fopen(db_path, "wb");
    CHECK(f != NULL);
    for (int i = 0; f && i < 4096; i++)
        fputc((i * 37) & 0xff, f);
    if (f)
        fclose(f);
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), XMPPCORE_E_IO);
    CHECK(s == NULL);
    db_remove();

    /* A schema newer than this library. */
    db_temp();
    raw_sql("CREATE TABLE schema_version (version INTEGER NOT NULL);"
            "INSERT INTO schema_version VALUES (99);");
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s),
                 XMPPCORE_E_UNSUPPORTED);
    CHECK(s == NULL);
    CHECK_EQ_INT(raw_int("SELECT version FROM schema_version"), 99);
    db_remove();
}

/* The schema as version 1 wrote it, built by hand. */
static const char *const schema_v1 =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1);"
    "CREATE TABLE users (vhost TEXT NOT NULL, username TEXT NOT NULL,"
    " sha1_iterations INTEGER, sha1_salt BLOB, sha1_stored_key BLOB,"
    " sha1_server_key BLOB, PRIMARY KEY (vhost, username)) WITHOUT ROWID;";

static void test_sqlite_migrations(void)
{
    xmppcore_store *s = NULL;
    xmppcore_credentials got;
    pump = NULL;

    /* v0: a database with someone else's table and no schema_version. */
    db_temp();
    raw_sql("CREATE TABLE host_notes (note TEXT); INSERT INTO host_notes"
            " VALUES ('keep me');");
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), 0);
    if (s) {
        xmppcore_credentials c = make_creds(9, 1);
        CHECK_EQ_INT(do_create(s, "v", "u", &c), 0);
        CHECK_EQ_INT(do_get(s, "v", "u", &got), 0);
        CHECK(creds_equal(&got, &c));
        xmppcore_store_free(s);
    }
    CHECK_EQ_INT(raw_int("SELECT count(*) FROM host_notes"), 1);
    CHECK_EQ_INT(raw_int("SELECT max(version) FROM schema_version"), 2);
    CHECK_EQ_INT(raw_int("SELECT count(*) FROM schema_version"), 1);
    db_remove();

    /* v1 with an account holding SHA-1 keys only. */
    db_temp();
    raw_sql(schema_v1);
    raw_sql("INSERT INTO users VALUES ('example.org', 'old', 4096,"
            " x'0102030405', x'000102030405060708090a0b0c0d0e0f10111213',"
            " x'ff0102030405060708090a0b0c0d0e0f10111213');");
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), 0);
    if (s) {
        CHECK_EQ_INT(do_get(s, "example.org", "old", &got), 0);
        CHECK_EQ_INT(got.sha1.iterations, 4096);
        CHECK_EQ_INT(got.sha1.salt_len, 5);
        CHECK_EQ_INT(got.sha1.salt[4], 5);
        CHECK_EQ_INT(got.sha1.stored_key[19], 0x13);
        CHECK_EQ_INT(got.sha1.server_key[0], 0xff);
        CHECK_EQ_INT(got.sha256.iterations, 0);
        /* The migrated table takes SHA-256 keys. */
        xmppcore_credentials c = make_creds(4, 1);
        CHECK_EQ_INT(do_set(s, "example.org", "old", &c), 0);
        CHECK_EQ_INT(do_get(s, "example.org", "old", &got), 0);
        CHECK(creds_equal(&got, &c));
        xmppcore_store_free(s);
    }
    CHECK_EQ_INT(raw_int("SELECT max(version) FROM schema_version"), 2);
    db_remove();

    /* A step that fails is rolled back: the version stays, nothing of
     * the step is left, the open fails. */
    db_temp();
    raw_sql(schema_v1);
    raw_sql("ALTER TABLE users ADD COLUMN sha256_salt BLOB;");
    s = (void *)1;
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), XMPPCORE_E_IO);
    CHECK(s == NULL);
    CHECK_EQ_INT(raw_int("SELECT version FROM schema_version"), 1);
    /* The step's first ALTER (sha256_iterations) was rolled back. */
    CHECK_EQ_INT(raw_int("SELECT count(*) FROM pragma_table_info('users')"
                         " WHERE name = 'sha256_iterations'"), 0);
    db_remove();
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 20,000 accounts through the API, as provisioning would make them (the
 * caller derives the keys; here they are made up). */
static void bulk(xmppcore_store *s, const char *label)
{
    enum { N = 20000, BATCH = 5000 };
    static char names[N][24];
    static xmppcore_credentials creds[N];
    static xmppcore_store_account acc[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "user%05d", i);
        creds[i] = make_creds((unsigned)i, 1);
        acc[i].username = names[i];
        acc[i].creds = &creds[i];
    }
    double t0 = now_ms();
    for (int i = 0; i < N; i += BATCH)
        CHECK_EQ_INT(do_create_many(s, "bulk.example", acc + i, BATCH), 0);
    double t1 = now_ms();
    CHECK_EQ_INT(do_count(s, "bulk.example"), N);
    /* Walk them all in pages. */
    result r;
    char last[24] = "";
    size_t seen = 0;
    for (;;) {
        CHECK_EQ_INT(do_list(s, "bulk.example", seen ? last : NULL, 1000, &r), 0);
        seen += r.n;
        if (r.n)
            snprintf(last, sizeof last, "%s", r.users[r.n - 1]);
        size_t n = r.n;
        result_clear(&r);
        if (n < 1000)
            break;
    }
    double t2 = now_ms();
    CHECK_EQ_INT(seen, N);
    /* And one at a time (one transaction each). */
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(do_create(s, "single.example", names[i], &creds[i]), 0);
    double t3 = now_ms();
    printf("%s: %d accounts with create_many (batches of %d) in %.0f ms;"
           " listed in pages of 1000 in %.0f ms; %d single creates in %.0f ms\n",
           label, N, BATCH, t1 - t0, t2 - t1, N, t3 - t2);
    /* "Well under a minute": fail loudly if it ever gets close. */
    CHECK(t1 - t0 < 15000);
}

static void test_bulk(void)
{
    pump = NULL;
    xmppcore_store *s = xmppcore_store_memory_new(NULL);
    bulk(s, "memory");
    xmppcore_store_free(s);
    db_temp();
    CHECK_EQ_INT(xmppcore_store_sqlite_open(db_path, NULL, NULL, &s), 0);
    if (s) {
        bulk(s, "sqlite");
        xmppcore_store_free(s);
    }
    db_remove();
}

TEST_MAIN(TEST_ENTRY(test_memory), TEST_ENTRY(test_deferred),
          TEST_ENTRY(test_no_backend), TEST_ENTRY(test_memory_oom),
          TEST_ENTRY(test_sqlite), TEST_ENTRY(test_sqlite_open_errors),
          TEST_ENTRY(test_sqlite_migrations), TEST_ENTRY(test_bulk))

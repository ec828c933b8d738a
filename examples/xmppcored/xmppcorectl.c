/*
 * xmppcorectl — administration of xmppcored: accounts, connected users,
 * a self-signed certificate. Account commands go through the server's
 * admin socket when it runs, and straight to the SQLite database when it
 * does not (so scripts can prepare accounts before the first start).
 * register-bulk derives credentials on every core here and sends or
 * stores only the derived keys, in batches.
 *
 * Exit codes: 0 done, 1 failed (user exists, no such user, server not
 * running for connected-users, ...), 2 usage or configuration error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "xmppcore.h"

#include "admin.h"
#include "config.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char *prog = "xmppcorectl";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s [-c CONFIG] COMMAND [ARGS...]\n"
            "\n"
            "Account commands use the running server's admin socket, or the\n"
            "database directly when the server is not running:\n"
            "  register USER HOST PASSWORD\n"
            "  unregister USER HOST\n"
            "  passwd USER HOST PASSWORD\n"
            "  registered-users HOST\n"
            "  register-bulk HOST FILE      FILE: lines \"user password\"\n"
            "Server only:\n"
            "  connected-users\n"
            "No configuration needed:\n"
            "  gencert DOMAIN PATH [ALTNAME...]\n"
            "      writes a self-signed ECDSA P-256 certificate and its key\n"
            "      into one PEM file (mode 0600), as certfiles expects\n"
            "\n"
            "CONFIG defaults to $XMPPCORED_CONFIG.\n"
            "Exit codes: 0 ok, 1 failure, 2 usage or configuration error.\n",
            prog);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_FAIL;
}

/* ---- gencert ---- */

static int cmd_gencert(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr), EXIT_USAGE;
    const char *domain = argv[0], *path = argv[1];
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    if (!key || !cert) {
        xmppcore_buffer_free(key);
        xmppcore_buffer_free(cert);
        return fail("out of memory");
    }
    int rc = xmppcore_tls_generate_self_signed_pem(
        NULL, domain, (const char *const *)argv + 2, (size_t)(argc - 2), 3650,
        key, cert);
    int ex = 0;
    if (rc < 0) {
        ex = rc == XMPPCORE_E_INVAL ? EXIT_USAGE : EXIT_FAIL;
        fprintf(stderr, "%s: gencert: %s (names are DNS names)\n", prog,
                xmppcore_strerror(rc));
        goto out;
    }
    if (xd_mkdir_parents(path) < 0) {
        ex = fail("gencert: cannot create the folder of %s: %s", path,
                  strerror(errno));
        goto out;
    }
    /* Certificate and key in one file, readable by its owner only. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        ex = fail("gencert: %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        ex = fail("gencert: %s: %s", path, strerror(errno));
        goto out;
    }
    fwrite(xmppcore_buffer_data(cert), 1, xmppcore_buffer_len(cert), f);
    fwrite(xmppcore_buffer_data(key), 1, xmppcore_buffer_len(key), f);
    if (fclose(f) != 0) {
        ex = fail("gencert: writing %s: %s", path, strerror(errno));
        goto out;
    }
    printf("Wrote a self-signed certificate for %s", domain);
    for (int i = 2; i < argc; i++)
        printf(", %s", argv[i]);
    printf(" (and its key) to %s\n", path);
out:
    /* The key is secret: clear it before freeing. */
    if (xmppcore_buffer_len(key))
        memset((char *)xmppcore_buffer_data(key), 0, xmppcore_buffer_len(key));
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    return ex;
}

/* ---- The admin socket (client side) ---- */

typedef struct {
    int fd;
    char buf[XD_ADMIN_MAX_LINE * 2];
    size_t len;
} admin_conn;

/* Connects to the running server: 1 connected, 0 not running, -1 error. */
static int admin_connect(const xd_config *cfg, admin_conn *a)
{
    memset(a, 0, sizeof *a);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", cfg->admin_socket);
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->fd < 0)
        return fail("socket: %s", strerror(errno)), -1;
    if (connect(a->fd, (struct sockaddr *)&un, sizeof un) == 0)
        return 1;
    int e = errno;
    close(a->fd);
    a->fd = -1;
    if (e == ENOENT || e == ECONNREFUSED)
        return 0;
    fail("cannot reach the server at %s: %s", cfg->admin_socket, strerror(e));
    return -1;
}

static int admin_send(admin_conn *a, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(a->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail("admin socket: %s", strerror(errno)), -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line (without newline) into line. 0 or -1. */
static int admin_line(admin_conn *a, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(a->buf, '\n', a->len);
        if (nl) {
            size_t n = (size_t)(nl - a->buf);
            if (n >= cap)
                return fail("admin socket: line too long"), -1;
            memcpy(line, a->buf, n);
            line[n] = '\0';
            memmove(a->buf, nl + 1, a->len - n - 1);
            a->len -= n + 1;
            return 0;
        }
        if (a->len == sizeof a->buf)
            return fail("admin socket: line too long"), -1;
        ssize_t r = recv(a->fd, a->buf + a->len, sizeof a->buf - a->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return fail("admin socket: the server closed the connection"), -1;
        a->len += (size_t)r;
    }
}

/* Reads the answer to a request: prints "item" fields to stdout, passes
 * "exists" fields to on_exists, and returns the status (0 or a negative
 * code, with the text in msg), or 1 on a protocol failure. */
static int admin_result(admin_conn *a, char *msg, size_t msgcap,
                        void (*on_exists)(const char *user, void *ud),
                        void *ud)
{
    char line[XD_ADMIN_MAX_LINE];
    for (;;) {
        if (admin_line(a, line, sizeof line) < 0)
            return 1;
        char *f[4];
        int n = xd_fields_split(line, f, 4);
        if (n < 1)
            return fail("admin socket: bad answer"), 1;
        if (!strcmp(f[0], "item") && n == 2) {
            puts(f[1]);
        } else if (!strcmp(f[0], "exists") && n == 2) {
            if (on_exists)
                on_exists(f[1], ud);
        } else if (!strcmp(f[0], "ok")) {
            snprintf(msg, msgcap, "%s", n > 1 ? f[1] : "");
            return 0;
        } else if (!strcmp(f[0], "error") && n >= 2) {
            snprintf(msg, msgcap, "%s", n > 2 ? f[2] : "");
            int code = atoi(f[1]);
            return code < 0 ? code : XMPPCORE_E_INTERNAL;
        } else {
            return fail("admin socket: bad answer"), 1;
        }
    }
}

/* Sends a request of fields and waits for the result. */
static int admin_request(admin_conn *a, const char *const *fields, int n,
                         char *msg, size_t msgcap)
{
    char line[XD_ADMIN_MAX_LINE];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        if (xd_field_put(line, sizeof line - 1, &len, fields[i]) < 0)
            return fail("argument too long"), 1;
    line[len++] = '\n';
    if (admin_send(a, line, len) < 0)
        return 1;
    return admin_result(a, msg, msgcap, NULL, NULL);
}

/* ---- Offline: the database ---- */

typedef struct {
    int done;
    int status;
} sync_done;

static void on_done(int status, void *ud)
{
    sync_done *d = ud;
    d->done = 1;
    d->status = status;
}

/* The SQLite backend completes before returning (store.h): a call that
 * returns 0 without having called back is a broken promise. */
static int wait_done(int rc, const sync_done *d)
{
    if (rc < 0)
        return rc;
    return d->done ? d->status : XMPPCORE_E_INTERNAL;
}

static int open_store(const xd_config *cfg, xmppcore_store **st, int create)
{
    if (!create && access(cfg->sql_database, F_OK) != 0) {
        *st = NULL;
        return 0; /* nothing stored yet */
    }
    if (create && xd_mkdir_parents(cfg->sql_database) < 0)
        return fail("cannot create the folder of %s: %s", cfg->sql_database,
                    strerror(errno));
    int rc = xmppcore_store_sqlite_open(cfg->sql_database, NULL, NULL, st);
    if (rc < 0)
        return fail("cannot open the database %s: %s", cfg->sql_database,
                    xmppcore_strerror(rc));
    return 0;
}

/* ---- Account commands ---- */

/* Enforces user as a localpart into out. */
static int enforce_user(const char *user, char *out, size_t cap)
{
    if (xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, user, strlen(user), out,
                                  cap) < 0) {
        fail("\"%s\" is not a valid username (JID localpart)", user);
        return -1;
    }
    return 0;
}

static const char *status_text(int st, const char *user, const char *host)
{
    static char buf[2200];
    switch (st) {
    case XMPPCORE_E_EXISTS:
        snprintf(buf, sizeof buf, "user %s@%s already exists", user, host);
        break;
    case XMPPCORE_E_NOTFOUND:
        snprintf(buf, sizeof buf, "user %s@%s does not exist", user, host);
        break;
    case XMPPCORE_E_INVAL:
        snprintf(buf, sizeof buf, "invalid password (printable ASCII, 1 to "
                 "1023 characters)");
        break;
    default:
        snprintf(buf, sizeof buf, "%s", xmppcore_strerror(st));
    }
    return buf;
}

enum { OP_REGISTER, OP_UNREGISTER, OP_PASSWD };

static int cmd_account(const xd_config *cfg, int op, int argc, char **argv)
{
    int need = op == OP_UNREGISTER ? 2 : 3;
    if (argc != need)
        return usage(stderr), EXIT_USAGE;
    char user[XMPPCORE_JID_PART_MAX + 1];
    if (enforce_user(argv[0], user, sizeof user) < 0)
        return EXIT_FAIL;
    const char *host = xd_config_find_host(cfg, argv[1]);
    if (!host)
        return fail("%s is not one of the configured hosts", argv[1]);
    const char *pw = op == OP_UNREGISTER ? NULL : argv[2];
    static const char *const names[] = {"register", "unregister", "passwd"};
    admin_conn a;
    int online = admin_connect(cfg, &a);
    if (online < 0)
        return EXIT_FAIL;
    int st;
    if (online) {
        const char *fields[] = {names[op], user, host, pw};
        char msg[512];
        st = admin_request(&a, fields, need + 1, msg, sizeof msg);
        close(a.fd);
        if (st == 1)
            return EXIT_FAIL;
    } else {
        xmppcore_store *store;
        if (open_store(cfg, &store, 1) != 0)
            return EXIT_FAIL;
        sync_done d = {0, 0};
        if (op == OP_UNREGISTER) {
            st = wait_done(xmppcore_store_auth_remove(store, host, user,
                                                      on_done, &d), &d);
        } else {
            xmppcore_credentials c;
            st = xmppcore_credentials_derive(pw, strlen(pw), 0, NULL, NULL, &c);
            if (st == 0 && op == OP_REGISTER)
                st = wait_done(xmppcore_store_auth_create(store, host, user,
                                                          &c, on_done, &d), &d);
            else if (st == 0)
                st = wait_done(xmppcore_store_auth_set(store, host, user, &c,
                                                       on_done, &d), &d);
            memset(&c, 0, sizeof c);
        }
        xmppcore_store_free(store);
    }
    if (st != 0)
        return fail("%s", status_text(st, user, host));
    static const char *const done[] = {"registered", "unregistered",
                                       "has a new password"};
    printf("User %s@%s %s%s\n", user, host, done[op],
           online ? "" : " (server not running: database updated)");
    return 0;
}

typedef struct {
    int status;
    char last[XMPPCORE_JID_PART_MAX + 1];
    size_t n;
    int done;
} list_state;

static void on_users(int status, const char *const *users, size_t n, void *ud)
{
    list_state *s = ud;
    s->done = 1;
    s->status = status;
    s->n = n;
    for (size_t i = 0; i < n; i++)
        puts(users[i]);
    if (n > 0)
        snprintf(s->last, sizeof s->last, "%s", users[n - 1]);
}

static int cmd_registered_users(const xd_config *cfg, int argc, char **argv)
{
    if (argc != 1)
        return usage(stderr), EXIT_USAGE;
    const char *host = xd_config_find_host(cfg, argv[0]);
    if (!host)
        return fail("%s is not one of the configured hosts", argv[0]);
    admin_conn a;
    int online = admin_connect(cfg, &a);
    if (online < 0)
        return EXIT_FAIL;
    if (online) {
        const char *fields[] = {"registered-users", host};
        char msg[512];
        int st = admin_request(&a, fields, 2, msg, sizeof msg);
        close(a.fd);
        if (st != 0)
            return st == 1 ? EXIT_FAIL : fail("%s", xmppcore_strerror(st));
        return 0;
    }
    xmppcore_store *store;
    if (open_store(cfg, &store, 0) != 0)
        return EXIT_FAIL;
    if (!store)
        return 0;
    list_state s;
    memset(&s, 0, sizeof s);
    const size_t page = 1000;
    int st;
    for (;;) {
        s.done = 0;
        st = xmppcore_store_auth_list(store, host, s.n ? s.last : NULL, page,
                                      on_users, &s);
        st = st < 0 ? st : s.done ? s.status : XMPPCORE_E_INTERNAL;
        if (st != 0 || s.n < page)
            break;
    }
    xmppcore_store_free(store);
    if (st != 0)
        return fail("%s", xmppcore_strerror(st));
    return 0;
}

static int cmd_connected_users(const xd_config *cfg, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage(stderr), EXIT_USAGE;
    admin_conn a;
    int online = admin_connect(cfg, &a);
    if (online < 0)
        return EXIT_FAIL;
    if (!online)
        return fail("the server is not running (no admin socket at %s)",
                    cfg->admin_socket);
    const char *fields[] = {"connected-users"};
    char msg[512];
    int st = admin_request(&a, fields, 1, msg, sizeof msg);
    close(a.fd);
    if (st != 0)
        return st == 1 ? EXIT_FAIL : fail("%s", xmppcore_strerror(st));
    return 0;
}

/* ---- register-bulk ---- */

typedef struct {
    char *user;      /* enforced */
    char *password;
    int line;
} bulk_entry;

typedef struct {
    bulk_entry *e;
    xmppcore_credentials *creds;
    size_t n;
    atomic_size_t next;
    atomic_int failed_line; /* first line whose password is refused */
} bulk_job;

static void *derive_worker(void *ud)
{
    bulk_job *j = ud;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return NULL;
        bulk_entry *e = &j->e[i];
        if (xmppcore_credentials_derive(e->password, strlen(e->password), 0,
                                        NULL, NULL, &j->creds[i]) != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&j->failed_line, &zero, e->line);
        }
        memset(e->password, 0, strlen(e->password));
    }
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const bulk_entry *)a)->user, ((const bulk_entry *)b)->user);
}

static int read_bulk(const char *path, bulk_entry **out, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail("%s: %s", path, strerror(errno));
    bulk_entry *v = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int lineno = 0, bad = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        char *sp = p + strcspn(p, " \t");
        if (!*sp) {
            fprintf(stderr, "%s:%d: expected \"user password\"\n", path, lineno);
            bad = 1;
            continue;
        }
        *sp++ = '\0';
        while (*sp == ' ' || *sp == '\t')
            sp++;
        char user[XMPPCORE_JID_PART_MAX + 1];
        if (xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, p, strlen(p), user,
                                      sizeof user) < 0) {
            fprintf(stderr, "%s:%d: \"%s\" is not a valid username\n", path,
                    lineno, p);
            bad = 1;
            continue;
        }
        if (!*sp) {
            fprintf(stderr, "%s:%d: the password is missing\n", path, lineno);
            bad = 1;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            bulk_entry *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                bad = 1;
                break;
            }
            v = nv;
        }
        v[n].user = strdup(user);
        v[n].password = strdup(sp);
        v[n].line = lineno;
        if (!v[n].user || !v[n].password) {
            free(v[n].user);
            free(v[n].password);
            bad = 1;
            break;
        }
        n++;
    }
    if (line) {
        memset(line, 0, lcap);
        free(line);
    }
    fclose(f);
    if (!bad && n > 1) {
        /* A name twice would fail its whole batch: say where. */
        bulk_entry *s = malloc(n * sizeof *s);
        if (!s) {
            bad = 1;
        } else {
            memcpy(s, v, n * sizeof *s);
            qsort(s, n, sizeof *s, cmp_entry);
            for (size_t i = 1; i < n; i++)
                if (!strcmp(s[i].user, s[i - 1].user)) {
                    fprintf(stderr, "%s:%d: %s is already on line %d\n", path,
                            s[i].line > s[i - 1].line ? s[i].line : s[i - 1].line,
                            s[i].user,
                            s[i].line > s[i - 1].line ? s[i - 1].line : s[i].line);
                    bad = 1;
                }
            free(s);
        }
    }
    if (bad) {
        for (size_t i = 0; i < n; i++) {
            free(v[i].user);
            memset(v[i].password, 0, strlen(v[i].password));
            free(v[i].password);
        }
        free(v);
        return EXIT_FAIL;
    }
    *out = v;
    *n_out = n;
    return 0;
}

typedef struct {
    size_t skipped;
    char first[5][XMPPCORE_JID_PART_MAX + 1];
} exists_log;

static void note_exists(const char *user, void *ud)
{
    exists_log *x = ud;
    if (x->skipped < 5)
        snprintf(x->first[x->skipped], sizeof x->first[0], "%s", user);
    x->skipped++;
}

/* Offline: one create_many per batch; a batch with an existing account
 * is retried one account at a time, skipping those that exist. */
static int bulk_store(xmppcore_store *store, const char *host,
                      const bulk_entry *e, const xmppcore_credentials *c,
                      size_t n, size_t *created, exists_log *x)
{
    xmppcore_store_account *acc = malloc(XD_ADMIN_BATCH * sizeof *acc);
    if (!acc)
        return XMPPCORE_E_NOMEM;
    int st = 0;
    for (size_t off = 0; off < n && st == 0; off += XD_ADMIN_BATCH) {
        size_t k = n - off < XD_ADMIN_BATCH ? n - off : XD_ADMIN_BATCH;
        for (size_t i = 0; i < k; i++) {
            acc[i].username = e[off + i].user;
            acc[i].creds = &c[off + i];
        }
        sync_done d = {0, 0};
        st = wait_done(xmppcore_store_auth_create_many(store, host, acc, k,
                                                       on_done, &d), &d);
        if (st == 0) {
            *created += k;
        } else if (st == XMPPCORE_E_EXISTS) {
            st = 0;
            for (size_t i = 0; i < k && st == 0; i++) {
                sync_done d1 = {0, 0};
                int s1 = wait_done(xmppcore_store_auth_create(
                                       store, host, acc[i].username,
                                       acc[i].creds, on_done, &d1), &d1);
                if (s1 == 0)
                    (*created)++;
                else if (s1 == XMPPCORE_E_EXISTS)
                    note_exists(acc[i].username, x);
                else
                    st = s1;
            }
        }
    }
    free(acc);
    return st;
}

/* Online: batches of credential lines over the admin socket. */
static int bulk_send(admin_conn *a, const char *host, const bulk_entry *e,
                     const xmppcore_credentials *c, size_t n,
                     size_t *created, exists_log *x)
{
    size_t cap = (size_t)XD_ADMIN_BATCH * 512 + 1024;
    char *buf = malloc(cap);
    if (!buf)
        return XMPPCORE_E_NOMEM;
    int st = 0;
    for (size_t off = 0; off < n && st == 0; off += XD_ADMIN_BATCH) {
        size_t k = n - off < XD_ADMIN_BATCH ? n - off : XD_ADMIN_BATCH;
        size_t len = 0;
        char num[32];
        snprintf(num, sizeof num, "%zu", k);
        xd_field_put(buf, cap, &len, "create-many");
        xd_field_put(buf, cap, &len, host);
        xd_field_put(buf, cap, &len, num);
        buf[len++] = '\n';
        for (size_t i = 0; i < k; i++) {
            size_t l0 = len;
            size_t ll = 0;
            if (xd_field_put(buf + l0, cap - l0, &ll, e[off + i].user) < 0 ||
                xd_creds_put(buf + l0, cap - l0, &ll, &c[off + i]) < 0) {
                st = XMPPCORE_E_RANGE;
                break;
            }
            len = l0 + ll;
            buf[len++] = '\n';
        }
        if (st != 0 || admin_send(a, buf, len) < 0) {
            st = st ? st : XMPPCORE_E_IO;
            break;
        }
        char msg[64];
        st = admin_result(a, msg, sizeof msg, note_exists, x);
        if (st == 1)
            st = XMPPCORE_E_IO;
        else if (st == 0)
            *created += strtoul(msg, NULL, 10);
    }
    free(buf);
    return st;
}

static int cmd_register_bulk(const xd_config *cfg, int argc, char **argv)
{
    if (argc != 2)
        return usage(stderr), EXIT_USAGE;
    const char *host = xd_config_find_host(cfg, argv[0]);
    if (!host)
        return fail("%s is not one of the configured hosts", argv[0]);
    double t0 = now_s();
    bulk_job j;
    memset(&j, 0, sizeof j);
    if (read_bulk(argv[1], &j.e, &j.n) != 0)
        return EXIT_FAIL;
    int ex = 0;
    j.creds = calloc(j.n ? j.n : 1, sizeof *j.creds);
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 64)
        nthreads = 64;
    pthread_t th[64];
    long started = 0;
    if (!j.creds) {
        ex = fail("out of memory");
        goto out;
    }
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, derive_worker, &j) != 0)
            break;
    if (started == 0)
        derive_worker(&j);
    for (long i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double t1 = now_s();
    if (atomic_load(&j.failed_line)) {
        ex = fail("%s:%d: the password is refused (printable ASCII, 1 to 1023 "
                  "characters); nothing was registered",
                  argv[1], atomic_load(&j.failed_line));
        goto out;
    }
    admin_conn a;
    int online = admin_connect(cfg, &a);
    if (online < 0) {
        ex = EXIT_FAIL;
        goto out;
    }
    size_t created = 0;
    exists_log x;
    memset(&x, 0, sizeof x);
    int st;
    if (online) {
        st = bulk_send(&a, host, j.e, j.creds, j.n, &created, &x);
        close(a.fd);
    } else {
        xmppcore_store *store;
        if (open_store(cfg, &store, 1) != 0) {
            ex = EXIT_FAIL;
            goto out;
        }
        st = bulk_store(store, host, j.e, j.creds, j.n, &created, &x);
        xmppcore_store_free(store);
    }
    double t2 = now_s();
    printf("Registered %zu account%s on %s in %.2f s (%.0f accounts/s; "
           "derivation %.2f s on %ld thread%s, storing %.2f s%s)\n",
           created, created == 1 ? "" : "s", host, t2 - t0,
           (double)created / (t2 - t0 > 0 ? t2 - t0 : 1), t1 - t0,
           started ? started : 1, started == 1 ? "" : "s", t2 - t1,
           online ? " through the server" : " in the database");
    if (x.skipped) {
        fprintf(stderr, "%s: %zu account%s already existed and kept their "
                "password:", prog, x.skipped, x.skipped == 1 ? "" : "s");
        for (size_t i = 0; i < x.skipped && i < 5; i++)
            fprintf(stderr, " %s", x.first[i]);
        fprintf(stderr, "%s\n", x.skipped > 5 ? " ..." : "");
        ex = EXIT_FAIL;
    }
    if (st != 0)
        ex = fail("register-bulk: %s (%zu registered before)",
                  xmppcore_strerror(st), created);
out:
    for (size_t i = 0; i < j.n; i++) {
        free(j.e[i].user);
        memset(j.e[i].password, 0, strlen(j.e[i].password));
        free(j.e[i].password);
    }
    free(j.e);
    if (j.creds)
        memset(j.creds, 0, j.n * sizeof *j.creds);
    free(j.creds);
    return ex;
}

int main(int argc, char **argv)
{
    const char *config = getenv("XMPPCORED_CONFIG");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
            i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i++];
    int cargc = argc - i;
    char **cargv = argv + i;
    if (xmppcore_init() != 0)
        return fail("cannot initialise the library");
    if (!strcmp(cmd, "gencert"))
        return cmd_gencert(cargc, cargv);
    static const char *const known[] = {"register", "unregister", "passwd",
                                        "registered-users", "register-bulk",
                                        "connected-users"};
    size_t k;
    for (k = 0; k < sizeof known / sizeof known[0]; k++)
        if (!strcmp(cmd, known[k]))
            break;
    if (k == sizeof known / sizeof known[0]) {
        fprintf(stderr, "%s: unknown command %s\n", prog, cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!config) {
        fprintf(stderr, "%s: no configuration: use -c FILE\n", prog);
        return EXIT_USAGE;
    }
    xd_config *cfg = xd_config_load(config, 0);
    if (!cfg)
        return fail("out of memory");
    if (cfg->n_errors) {
        fputs(cfg->errors, stderr);
        xd_config_free(cfg);
        return EXIT_USAGE;
    }
    int ex;
    switch (k) {
    case 0: ex = cmd_account(cfg, OP_REGISTER, cargc, cargv); break;
    case 1: ex = cmd_account(cfg, OP_UNREGISTER, cargc, cargv); break;
    case 2: ex = cmd_account(cfg, OP_PASSWD, cargc, cargv); break;
    case 3: ex = cmd_registered_users(cfg, cargc, cargv); break;
    case 4: ex = cmd_register_bulk(cfg, cargc, cargv); break;
    default: ex = cmd_connected_users(cfg, cargc, cargv); break;
    }
    xd_config_free(cfg);
    return ex;
}

/*
 * xmppcored — an XMPP server built from libxmppcore's public API: the
 * YAML configuration (config.c) applied to a server, an SQLite store,
 * the epoll loop of xmppcore/net.h with one TCP listener per `listen`
 * entry, and an admin socket (admin.h) for xmppcorectl.
 *
 *   xmppcored -c FILE           runs in the foreground until SIGINT/TERM
 *   xmppcored -c FILE --check   checks the configuration (exit 0 or 2)
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xmppcore.h"
#include "xmppcore/net.h"
#include "xmppcore/server.h"

#include "admin.h"
#include "config.h"

static int log_level = XMPPCORE_LOG_INFO;

static void vlog_at(int level, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    static const char *const names[] = {"", "", "", "error", "warning",
                                        "notice", "info", "debug"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "%s.%03ld [%s] %s\n", when, ts.tv_nsec / 1000000,
            level >= 3 && level <= 7 ? names[level] : "?", msg);
}

static void log_at(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_at(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_at(level, fmt, ap);
    va_end(ap);
}

static void server_log(xmppcore_server *s, int level, const char *msg, void *ud)
{
    (void)s;
    (void)ud;
    log_at(level, "%s", msg);
}

static void loop_log(xmppcore_loop *l, int level, const char *msg, void *ud)
{
    (void)l;
    (void)ud;
    log_at(level, "%s", msg);
}

static void loop_hangup(xmppcore_loop *l, void *ud)
{
    (void)l;
    (void)ud;
    /* Logs go to stderr (nothing to reopen); the server has no call to
     * replace certificates yet. */
    log_at(XMPPCORE_LOG_NOTICE, "SIGHUP: nothing to reload yet (logs go to "
           "stderr; certificates are read at start)");
}

/* ---- Applying the configuration ---- */

static int apply_opts(xmppcore_server *srv, xd_config *cfg, const char *vhost,
                      const xd_opt *opts, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = xmppcore_server_set_option(srv, vhost, opts[i].name,
                                            opts[i].value);
        if (rc < 0) {
            xd_config_error(cfg, &opts[i].mark, "the server refuses %s = %s: "
                            "%s", opts[i].name, opts[i].value,
                            xmppcore_strerror(rc));
            bad = 1;
        }
    }
    return bad;
}

static xmppcore_server *build_server(xd_config *cfg, xmppcore_listener **ls)
{
    xmppcore_server_callbacks cb = {XMPPCORE_SERVER_CALLBACKS_VERSION, NULL,
                                    server_log};
    xmppcore_server *srv = xmppcore_server_new(NULL, &cb, NULL);
    if (srv)
        xmppcore_server_set_log_level(srv, log_level);
    if (!srv) {
        xd_config_error(cfg, NULL, "cannot create the server (out of memory)");
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_hosts; i++) {
        int rc = xmppcore_server_add_vhost(srv, cfg->hosts[i]);
        if (rc < 0)
            xd_config_error(cfg, NULL, "host %s: %s", cfg->hosts[i],
                            xmppcore_strerror(rc));
    }
    apply_opts(srv, cfg, NULL, cfg->opts, cfg->n_opts);
    for (size_t i = 0; i < cfg->n_host_config; i++)
        apply_opts(srv, cfg, cfg->host_config[i].host, cfg->host_config[i].opts,
                   cfg->host_config[i].n_opts);
    for (size_t i = 0; i < cfg->n_certfiles; i++) {
        int rc = xmppcore_server_add_cert_file(srv, cfg->certfiles[i],
                                               cfg->certfiles[i]);
        if (rc < 0)
            xd_config_error(cfg, &cfg->certfile_marks[i],
                            "certfiles: %s: %s (%s)", cfg->certfiles[i],
                            xmppcore_strerror(rc),
                            xmppcore_server_last_error(srv));
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        xd_listen *l = &cfg->listen[i];
        char name[96];
        snprintf(name, sizeof name, "c2s%s %s:%d", l->tls ? "+tls" : "", l->ip,
                 l->port);
        ls[i] = xmppcore_server_add_listener(
            srv, name, l->tls ? XMPPCORE_LISTEN_C2S_TLS : XMPPCORE_LISTEN_C2S);
        if (!ls[i]) {
            xd_config_error(cfg, &l->mark, "listen: cannot add the listener");
            continue;
        }
        if ((l->starttls >= 0 &&
             xmppcore_listener_set_option(ls[i], "starttls",
                                          l->starttls ? "true" : "false") < 0) ||
            (l->starttls_required >= 0 &&
             xmppcore_listener_set_option(ls[i], "starttls_required",
                                          l->starttls_required ? "true"
                                                               : "false") < 0))
            xd_config_error(cfg, &l->mark,
                            "listen: the server refuses the starttls options");
    }
    if (cfg->n_errors) {
        xmppcore_server_free(srv);
        return NULL;
    }
    return srv;
}

/* ---- The admin socket ---- */

typedef struct admin_client admin_client;

typedef struct {
    xmppcore_loop *loop;
    xmppcore_server *server;
    xmppcore_store *store;
    xd_config *cfg;
    int listen_fd;
    admin_client *clients;
} daemon_ctx;

struct admin_client {
    daemon_ctx *d;
    admin_client *prev, *next;
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_cap;
    int busy;        /* a request is in progress */
    int processing;  /* inside admin_process */
    int posted;      /* admin_process is posted to the loop */
    int dead;        /* the peer is gone: free when idle */
    int failed;      /* out of memory: drop the client */
    /* create-many */
    char many_host[XMPPCORE_JID_PART_MAX + 1];
    size_t many_want, many_got, many_n, many_idx;
    int many_bad;
    int many_inflight, many_async;
    char **many_users;
    xmppcore_credentials *many_creds;
    xmppcore_store_account *many_acc;
    size_t many_created;
    /* registered-users */
    char list_after[XMPPCORE_JID_PART_MAX + 1];
    int list_inflight, list_async, list_more;
};

static void admin_process(admin_client *c);

static void client_free(admin_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->d->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    xmppcore_loop_del_fd(c->d->loop, c->fd);
    close(c->fd);
    for (size_t i = 0; i < c->many_n; i++)
        free(c->many_users[i]);
    free(c->many_users);
    if (c->many_creds)
        memset(c->many_creds, 0, c->many_want * sizeof *c->many_creds);
    free(c->many_creds);
    free(c->many_acc);
    free(c->in);
    free(c->out);
    free(c);
}

static void client_maybe_free(admin_client *c)
{
    if ((c->dead || c->failed) && !c->busy && !c->posted && !c->processing)
        client_free(c);
}

static void client_flush(admin_client *c)
{
    while (c->out_len > 0 && !c->dead) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n > 0) {
            memmove(c->out, c->out + n, c->out_len - (size_t)n);
            c->out_len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            c->dead = 1;
        }
    }
    if (!c->dead)
        xmppcore_loop_mod_fd(c->d->loop, c->fd,
                             XMPPCORE_LOOP_READ |
                                 (c->out_len ? XMPPCORE_LOOP_WRITE : 0));
}

/* Queues a line of fields. */
static void reply(admin_client *c, const char *const *f, int n)
{
    char line[XD_ADMIN_MAX_LINE];
    size_t len = 0;
    for (int i = 0; i < n; i++)
        if (xd_field_put(line, sizeof line - 1, &len, f[i]) < 0)
            break;
    line[len++] = '\n';
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len)
            cap *= 2;
        char *o = realloc(c->out, cap);
        if (!o) {
            c->failed = 1;
            return;
        }
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
}

static void reply_status(admin_client *c, int st, const char *text)
{
    char code[16];
    snprintf(code, sizeof code, "%d", st);
    if (st == 0) {
        const char *f[] = {"ok", text};
        reply(c, f, text ? 2 : 1);
    } else {
        const char *f[] = {"error", code, text ? text : xmppcore_strerror(st)};
        reply(c, f, 3);
    }
}

static void process_posted(void *ud)
{
    admin_process(ud);
}

/* A request finished: answer sent; continue with the next line. */
static void request_done(admin_client *c)
{
    c->busy = 0;
    client_flush(c);
    if (!c->processing && !c->posted) {
        /* Completed later, from a library callback: go on from the loop. */
        if (xmppcore_loop_post(c->d->loop, process_posted, c) == 0)
            c->posted = 1;
    }
}

static void on_account(int status, void *ud)
{
    admin_client *c = ud;
    reply_status(c, status, NULL);
    request_done(c);
}

static void on_session(const char *jid, void *ud)
{
    const char *f[] = {"item", jid};
    reply(ud, f, 2);
}

/* registered-users: pages of 1000, each completion asking for the next. */
static void list_next(admin_client *c);

static void on_list(int status, const char *const *users, size_t n, void *ud)
{
    admin_client *c = ud;
    c->list_inflight = 0;
    if (status != 0) {
        reply_status(c, status, NULL);
        c->list_more = 0;
        request_done(c);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *f[] = {"item", users[i]};
        reply(c, f, 2);
    }
    c->list_more = n == 1000;
    if (n)
        snprintf(c->list_after, sizeof c->list_after, "%s", users[n - 1]);
    if (!c->list_more) {
        reply_status(c, 0, NULL);
        request_done(c);
    } else if (c->list_async) {
        list_next(c);
    }
}

static void list_next(admin_client *c)
{
    while (c->list_more) {
        c->list_inflight = 1;
        c->list_async = 0;
        int rc = xmppcore_store_auth_list(c->d->store, c->many_host,
                                          c->list_after[0] ? c->list_after : NULL,
                                          1000, on_list, c);
        if (rc < 0) {
            c->list_inflight = 0;
            c->list_more = 0;
            reply_status(c, rc, NULL);
            request_done(c);
            return;
        }
        if (c->list_inflight) {
            c->list_async = 1; /* on_list goes on */
            return;
        }
    }
}

/* create-many: one create_many; if an account exists, one by one. */
static void many_finish(admin_client *c, int st, const char *text)
{
    char num[32];
    snprintf(num, sizeof num, "%zu", c->many_created);
    reply_status(c, st, st == 0 ? num : text);
    for (size_t i = 0; i < c->many_n; i++)
        free(c->many_users[i]);
    memset(c->many_creds, 0, c->many_want * sizeof *c->many_creds);
    c->many_n = c->many_want = c->many_got = 0;
    c->many_bad = 0;
    request_done(c);
}

static void many_one_next(admin_client *c);

static void on_many_one(int status, void *ud)
{
    admin_client *c = ud;
    c->many_inflight = 0;
    if (status == 0) {
        c->many_created++;
    } else if (status == XMPPCORE_E_EXISTS) {
        const char *f[] = {"exists", c->many_users[c->many_idx]};
        reply(c, f, 2);
    } else {
        c->many_idx = c->many_n;
        many_finish(c, status, NULL);
        return;
    }
    c->many_idx++;
    if (c->many_async)
        many_one_next(c);
}

static void many_one_next(admin_client *c)
{
    while (c->many_idx < c->many_n) {
        c->many_inflight = 1;
        c->many_async = 0;
        int rc = xmppcore_store_auth_create(c->d->store, c->many_host,
                                            c->many_users[c->many_idx],
                                            &c->many_creds[c->many_idx],
                                            on_many_one, c);
        if (rc < 0) {
            c->many_inflight = 0;
            many_finish(c, rc, NULL);
            return;
        }
        if (c->many_inflight) {
            c->many_async = 1;
            return;
        }
        if (!c->many_n) /* finished with an error inside the callback */
            return;
    }
    many_finish(c, 0, NULL);
}

static void on_many(int status, void *ud)
{
    admin_client *c = ud;
    if (status == 0) {
        c->many_created = c->many_n;
        many_finish(c, 0, NULL);
    } else if (status == XMPPCORE_E_EXISTS) {
        c->many_idx = 0;
        many_one_next(c);
    } else {
        many_finish(c, status, NULL);
    }
}

static void many_start(admin_client *c)
{
    for (size_t i = 0; i < c->many_n; i++) {
        c->many_acc[i].username = c->many_users[i];
        c->many_acc[i].creds = &c->many_creds[i];
    }
    c->many_created = 0;
    int rc = xmppcore_store_auth_create_many(c->d->store, c->many_host,
                                             c->many_acc, c->many_n, on_many, c);
    if (rc < 0)
        many_finish(c, rc, NULL);
}

/* One line of a create-many batch; the last one starts it. */
static void many_line(admin_client *c, char *line)
{
    char *f[XD_ADMIN_MAX_FIELDS];
    int n = xd_fields_split(line, f, XD_ADMIN_MAX_FIELDS);
    char user[XMPPCORE_JID_PART_MAX + 1];
    int bad = n != 9 ||
              xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, f[0], strlen(f[0]),
                                        user, sizeof user) < 0 ||
              strcmp(user, f[0]) != 0 ||
              xd_creds_parse(f + 1, &c->many_creds[c->many_n]) < 0;
    if (!bad && !c->many_bad) {
        char *u = strdup(user);
        if (u)
            c->many_users[c->many_n++] = u;
        else
            bad = 1;
    }
    if (bad)
        c->many_bad = 1;
    if (++c->many_got < c->many_want)
        return;
    c->busy = 1;
    if (c->many_bad)
        many_finish(c, XMPPCORE_E_INVAL, "bad account line; none created");
    else
        many_start(c);
}

static void admin_command(admin_client *c, char *line)
{
    daemon_ctx *d = c->d;
    char *f[XD_ADMIN_MAX_FIELDS];
    int n = xd_fields_split(line, f, XD_ADMIN_MAX_FIELDS);
    if (n < 1) {
        reply_status(c, XMPPCORE_E_INVAL, "malformed request");
        return;
    }
    const char *host = n >= 3 ? xd_config_find_host(d->cfg, f[2]) : NULL;
    c->busy = 1;
    int rc = 0;
    if (!strcmp(f[0], "ping") && n == 1) {
        reply_status(c, 0, xmppcore_version());
        c->busy = 0;
    } else if (!strcmp(f[0], "register") && n == 4) {
        rc = host ? xmppcore_account_create(d->server, host, f[1], f[3],
                                            on_account, c)
                  : XMPPCORE_E_NOTFOUND;
        log_at(XMPPCORE_LOG_INFO, "admin: register %s@%s: %s", f[1], f[2],
               rc < 0 ? xmppcore_strerror(rc) : "started");
    } else if (!strcmp(f[0], "unregister") && n == 3) {
        rc = host ? xmppcore_account_delete(d->server, host, f[1], on_account, c)
                  : XMPPCORE_E_NOTFOUND;
        log_at(XMPPCORE_LOG_INFO, "admin: unregister %s@%s", f[1], f[2]);
    } else if (!strcmp(f[0], "passwd") && n == 4) {
        rc = host ? xmppcore_account_set_password(d->server, host, f[1], f[3],
                                                  on_account, c)
                  : XMPPCORE_E_NOTFOUND;
        log_at(XMPPCORE_LOG_INFO, "admin: passwd %s@%s", f[1], f[2]);
    } else if (!strcmp(f[0], "registered-users") && n == 2) {
        host = xd_config_find_host(d->cfg, f[1]);
        if (!host) {
            rc = XMPPCORE_E_NOTFOUND;
        } else {
            snprintf(c->many_host, sizeof c->many_host, "%s", host);
            c->list_after[0] = '\0';
            c->list_more = 1;
            list_next(c);
        }
    } else if (!strcmp(f[0], "connected-users") && n == 1) {
        xmppcore_server_sessions(d->server, NULL, on_session, c);
        reply_status(c, 0, NULL);
        c->busy = 0;
    } else if (!strcmp(f[0], "create-many") && n == 3) {
        char *end;
        unsigned long k = strtoul(f[2], &end, 10);
        host = xd_config_find_host(d->cfg, f[1]);
        if (!host || *end || k == 0 || k > XD_ADMIN_BATCH) {
            rc = host ? XMPPCORE_E_RANGE : XMPPCORE_E_NOTFOUND;
        } else {
            snprintf(c->many_host, sizeof c->many_host, "%s", host);
            if (!c->many_users) {
                c->many_users = calloc(XD_ADMIN_BATCH, sizeof *c->many_users);
                c->many_creds = calloc(XD_ADMIN_BATCH, sizeof *c->many_creds);
                c->many_acc = calloc(XD_ADMIN_BATCH, sizeof *c->many_acc);
            }
            if (!c->many_users || !c->many_creds || !c->many_acc)
                rc = XMPPCORE_E_NOMEM;
            else {
                c->many_want = k;
                c->many_n = c->many_got = 0;
                c->many_bad = 0;
                /* busy stays 0: the account lines follow. */
                c->busy = 0;
                log_at(XMPPCORE_LOG_INFO, "admin: creating %lu accounts on %s",
                       k, host);
            }
        }
    } else {
        rc = XMPPCORE_E_INVAL;
    }
    if (rc < 0) {
        reply_status(c, rc, rc == XMPPCORE_E_INVAL ? "unknown request" : NULL);
        c->busy = 0;
    }
}

static void admin_process(admin_client *c)
{
    c->posted = 0;
    c->processing = 1;
    while (!c->busy && !c->failed) {
        char *nl = memchr(c->in, '\n', c->in_len);
        if (!nl)
            break;
        *nl = '\0';
        size_t used = (size_t)(nl - c->in) + 1;
        char *line = malloc(used);
        if (!line) {
            c->failed = 1;
            break;
        }
        memcpy(line, c->in, used);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        if (c->many_got < c->many_want) {
            many_line(c, line);
        } else {
            admin_command(c, line);
        }
        free(line);
    }
    c->processing = 0;
    client_flush(c);
    client_maybe_free(c);
}

static void client_io(xmppcore_loop *loop, int fd, int events, void *ud)
{
    (void)loop;
    admin_client *c = ud;
    if (events & XMPPCORE_LOOP_WRITE)
        client_flush(c);
    if (events & (XMPPCORE_LOOP_READ | XMPPCORE_LOOP_ERROR)) {
        if (c->in_cap - c->in_len < 4096) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            char *in = cap <= (size_t)XD_ADMIN_BATCH * 1024 ? realloc(c->in, cap)
                                                            : NULL;
            if (!in) {
                c->failed = 1; /* a runaway client */
                client_maybe_free(c);
                return;
            }
            c->in = in;
            c->in_cap = cap;
        }
        ssize_t r = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r > 0) {
            c->in_len += (size_t)r;
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            c->dead = 1;
            xmppcore_loop_del_fd(c->d->loop, c->fd);
        }
    }
    if (!c->processing)
        admin_process(c);
}

static void admin_accept(xmppcore_loop *loop, int fd, int events, void *ud)
{
    (void)events;
    daemon_ctx *d = ud;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    admin_client *c = calloc(1, sizeof *c);
    if (!c || xmppcore_loop_add_fd(loop, cfd, XMPPCORE_LOOP_READ, client_io, c) < 0) {
        free(c);
        close(cfd);
        return;
    }
    c->d = d;
    c->fd = cfd;
    c->next = d->clients;
    if (d->clients)
        d->clients->prev = c;
    d->clients = c;
}

static int admin_listen(daemon_ctx *d)
{
    const char *path = d->cfg->admin_socket;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
    if (xd_mkdir_parents(path) < 0) {
        log_at(XMPPCORE_LOG_ERROR, "admin socket: cannot create the folder "
               "of %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Another server on this socket? Then do not steal it. */
    if (connect(fd, (struct sockaddr *)&un, sizeof un) == 0) {
        log_at(XMPPCORE_LOG_ERROR, "admin socket %s: another xmppcored is "
               "running", path);
        close(fd);
        return -1;
    }
    close(fd);
    unlink(path); /* stale, from a server that did not stop cleanly */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&un, sizeof un);
    umask(old);
    if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0 ||
        xmppcore_loop_add_fd(d->loop, fd, XMPPCORE_LOOP_READ, admin_accept, d) < 0) {
        log_at(XMPPCORE_LOG_ERROR, "admin socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    d->listen_fd = fd;
    return 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: xmppcored -c CONFIG [--check]\n"
               "  runs the XMPP server in the foreground until SIGINT or "
               "SIGTERM;\n"
               "  --check only checks CONFIG (exit 0: fine, 2: errors)\n");
}

static void trim_heap(xmppcore_loop *loop, uint64_t id, void *ud)
{
    (void)loop;
    (void)id;
    (void)ud;
    malloc_trim(0);
}

int main(int argc, char **argv)
{
    const char *config = getenv("XMPPCORED_CONFIG");
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
            i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "--check")) {
            check = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    if (xmppcore_init() != 0) {
        fprintf(stderr, "xmppcored: cannot initialise the library\n");
        return 1;
    }
    xd_config *cfg = xd_config_load(config, XD_CONFIG_CHECK_FILES);
    if (!cfg) {
        fprintf(stderr, "xmppcored: out of memory\n");
        return 1;
    }
    xmppcore_listener **ls = NULL;
    xmppcore_server *srv = NULL;
    if (!cfg->n_errors) {
        log_level = cfg->loglevel;
        ls = calloc(cfg->n_listen ? cfg->n_listen : 1, sizeof *ls);
        srv = ls ? build_server(cfg, ls) : NULL;
    }
    if (cfg->n_errors || !srv) {
        fputs(cfg->errors ? cfg->errors : "xmppcored: out of memory\n", stderr);
        free(ls);
        xd_config_free(cfg);
        return 2;
    }
    if (check) {
        printf("%s: configuration OK (%zu host%s, %zu listener%s)\n", config,
               cfg->n_hosts, cfg->n_hosts == 1 ? "" : "s", cfg->n_listen,
               cfg->n_listen == 1 ? "" : "s");
        xmppcore_server_free(srv);
        free(ls);
        xd_config_free(cfg);
        return 0;
    }

    int ex = 1;
    daemon_ctx d = {NULL, srv, NULL, cfg, -1, NULL};
    xmppcore_loop_callbacks lcb = {XMPPCORE_LOOP_CALLBACKS_VERSION, loop_log,
                                   loop_hangup};
    if (xd_mkdir_parents(cfg->sql_database) < 0) {
        log_at(XMPPCORE_LOG_ERROR, "cannot create the folder of %s: %s",
               cfg->sql_database, strerror(errno));
        goto out;
    }
    /* xmppcorectl goes through the admin socket while the server runs,
     * so by default the server keeps the database to itself (and saves
     * the file-lock system calls of every query). */
    xmppcore_store_sqlite_options so = {XMPPCORE_STORE_SQLITE_OPTIONS_VERSION,
                                        0, cfg->sql_exclusive};
    int rc = xmppcore_store_sqlite_open(cfg->sql_database, &so, NULL, &d.store);
    if (rc < 0) {
        log_at(XMPPCORE_LOG_ERROR, "database %s: %s%s", cfg->sql_database,
               xmppcore_strerror(rc),
               rc == XMPPCORE_E_IO
                   ? " (if another process has it open: with sql_exclusive: "
                     "true, the default, only one server may use a database)"
                   : "");
        goto out;
    }
    xmppcore_server_set_store(srv, d.store);
    d.loop = xmppcore_loop_new(srv, &lcb, NULL);
    if (!d.loop || xmppcore_loop_catch_signals(d.loop) < 0) {
        log_at(XMPPCORE_LOG_ERROR, "cannot set up the event loop%s%s",
               d.loop ? ": " : "", d.loop ? xmppcore_loop_last_error(d.loop) : "");
        goto out;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        xd_listen *l = &cfg->listen[i];
        int port = xmppcore_loop_listen(d.loop, ls[i], l->ip, l->port);
        if (port < 0) {
            log_at(XMPPCORE_LOG_ERROR, "listen (%s line %d): %s", config,
                   l->mark.line, xmppcore_loop_last_error(d.loop));
            goto out;
        }
        log_at(XMPPCORE_LOG_NOTICE, "listening on %s%s%s:%d (%s)",
               strchr(l->ip, ':') ? "[" : "", l->ip,
               strchr(l->ip, ':') ? "]" : "", port,
               l->tls ? "direct TLS" : "STARTTLS");
    }
    if (admin_listen(&d) < 0)
        goto out;
    /* Idle connections give their parsers' memory back to the heap; this
     * hands free heap pages back to the kernel so RSS follows (glibc keeps
     * them otherwise). Cheap at this period. */
    if (xmppcore_loop_add_timer(d.loop, 5000, 1, trim_heap, NULL, NULL) < 0)
        log_at(XMPPCORE_LOG_WARNING, "heap trimming timer: %s",
               xmppcore_loop_last_error(d.loop));
    log_at(XMPPCORE_LOG_NOTICE, "xmppcored %s serving %s%s; admin socket %s",
           xmppcore_version(), cfg->hosts[0], cfg->n_hosts > 1 ? " and more" : "",
           cfg->admin_socket);
    rc = xmppcore_loop_run(d.loop);
    if (rc < 0)
        log_at(XMPPCORE_LOG_ERROR, "event loop: %s",
               xmppcore_loop_last_error(d.loop));
    else
        log_at(XMPPCORE_LOG_NOTICE, "stopped");
    ex = rc < 0 ? 1 : 0;
out:
    if (d.listen_fd >= 0) {
        xmppcore_loop_del_fd(d.loop, d.listen_fd);
        close(d.listen_fd);
        unlink(cfg->admin_socket);
    }
    while (d.clients)
        client_free(d.clients);
    xmppcore_loop_free(d.loop);
    xmppcore_server_free(srv);
    xmppcore_store_free(d.store);
    free(ls);
    xd_config_free(cfg);
    return ex;
}

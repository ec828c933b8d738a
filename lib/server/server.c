/*
 * The server object: virtual hosts and their options, certificates,
 * listeners' settings, the store, the timer heap and time, logging, and
 * the account calls (credential derivation plus storage).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/rng.h"
#include "server/server_int.h"
#include "xmppcore/sasl.h"

/* ---- logging ---- */

void xi_log(xmppcore_server *s, int level, const char *fmt, ...)
{
    if (!s->cb.log || level > s->log_level)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->cb.log(s, level, msg, s->ud);
}

static void set_error(xmppcore_server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_error, sizeof s->last_error, fmt, ap);
    va_end(ap);
}

void xmppcore_server_set_log_level(xmppcore_server *s, int level)
{
    s->log_level = level;
}

const char *xmppcore_server_last_error(const xmppcore_server *s)
{
    return s->last_error;
}

/* ---- options ---- */

enum {
    OPT_PLAIN_WITHOUT_TLS,
    OPT_ANONYMOUS,
    OPT_SCRAM_SHA1,
    OPT_ITERATIONS,
    OPT_MAX_STANZA,
    OPT_IDLE_TIMEOUT,
    OPT_KEEPALIVE,
    OPT_AUTH_TIMEOUT,
    OPT_MAX_SESSIONS,
    OPT_AUTH_FAIL_DELAY,
};

static const struct {
    const char *name;
    int id;
    bool boolean;
    uint32_t min, max;
} opt_table[] = {
    {"auth.plain_without_tls", OPT_PLAIN_WITHOUT_TLS, true, 0, 0},
    {"auth.anonymous", OPT_ANONYMOUS, true, 0, 0},
    {"auth.scram_sha1", OPT_SCRAM_SHA1, true, 0, 0},
    {"auth.iterations", OPT_ITERATIONS, false, 4096, 10000000},
    {"auth.failure_delay_ms", OPT_AUTH_FAIL_DELAY, false, 0, 60000},
    {"c2s.max_stanza_bytes", OPT_MAX_STANZA, false, 1024, 64u << 20},
    {"c2s.idle_timeout", OPT_IDLE_TIMEOUT, false, 0, 86400 * 7},
    {"c2s.keepalive", OPT_KEEPALIVE, false, 0, 86400},
    {"c2s.auth_timeout", OPT_AUTH_TIMEOUT, false, 1, 3600},
    {"c2s.max_sessions", OPT_MAX_SESSIONS, false, 1, 10000},
};

static void vhost_refresh(const xmppcore_server *s, xi_vhost *v);

static void opts_default(xi_opts *o)
{
    memset(o, 0, sizeof *o);
    o->scram_sha1 = true;
    o->iterations = XMPPCORE_SCRAM_ITERATIONS_DEFAULT;
    o->max_stanza = 262144;
    o->idle_timeout = 600;
    o->keepalive = 60;
    o->auth_timeout = 60;
    o->max_sessions = 10;
    o->auth_fail_delay_ms = 1000;
}

static void opt_store(xi_opts *o, int id, uint32_t v)
{
    switch (id) {
    case OPT_PLAIN_WITHOUT_TLS: o->plain_without_tls = v; break;
    case OPT_ANONYMOUS: o->anonymous = v; break;
    case OPT_SCRAM_SHA1: o->scram_sha1 = v; break;
    case OPT_ITERATIONS: o->iterations = v; break;
    case OPT_MAX_STANZA: o->max_stanza = v; break;
    case OPT_IDLE_TIMEOUT: o->idle_timeout = v; break;
    case OPT_KEEPALIVE: o->keepalive = v; break;
    case OPT_AUTH_TIMEOUT: o->auth_timeout = v; break;
    case OPT_MAX_SESSIONS: o->max_sessions = v; break;
    case OPT_AUTH_FAIL_DELAY: o->auth_fail_delay_ms = v; break;
    }
    o->set |= 1u << id;
}

static uint32_t opt_load(const xi_opts *o, int id)
{
    switch (id) {
    case OPT_PLAIN_WITHOUT_TLS: return o->plain_without_tls;
    case OPT_ANONYMOUS: return o->anonymous;
    case OPT_SCRAM_SHA1: return o->scram_sha1;
    case OPT_ITERATIONS: return o->iterations;
    case OPT_MAX_STANZA: return o->max_stanza;
    case OPT_IDLE_TIMEOUT: return o->idle_timeout;
    case OPT_KEEPALIVE: return o->keepalive;
    case OPT_AUTH_TIMEOUT: return o->auth_timeout;
    case OPT_MAX_SESSIONS: return o->max_sessions;
    case OPT_AUTH_FAIL_DELAY: return o->auth_fail_delay_ms;
    }
    return 0;
}

/* "true"/"false" or a decimal number in [min, max]. */
static int parse_value(const char *value, bool boolean, uint32_t min,
                       uint32_t max, uint32_t *out)
{
    if (!value)
        return XMPPCORE_E_INVAL;
    if (boolean) {
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *out = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *out = 0;
        else
            return XMPPCORE_E_INVAL;
        return 0;
    }
    char *end;
    if (*value < '0' || *value > '9')
        return XMPPCORE_E_INVAL;
    unsigned long long v = strtoull(value, &end, 10);
    if (*end || v < min || v > max)
        return XMPPCORE_E_INVAL;
    *out = (uint32_t)v;
    return 0;
}

int xmppcore_server_set_option(xmppcore_server *s, const char *vhost,
                               const char *name, const char *value)
{
    if (!name)
        return XMPPCORE_E_INVAL;
    for (size_t i = 0; i < XI_ARRAY_LEN(opt_table); i++) {
        if (strcmp(opt_table[i].name, name) != 0)
            continue;
        uint32_t v;
        if (parse_value(value, opt_table[i].boolean, opt_table[i].min,
                        opt_table[i].max, &v) < 0) {
            set_error(s, "bad value for %s: %s", name, value ? value : "(null)");
            return XMPPCORE_E_INVAL;
        }
        if (!vhost) {
            opt_store(&s->defaults, opt_table[i].id, v);
            for (size_t k = 0; k < s->nvhosts; k++)
                vhost_refresh(s, s->vhosts[k]);
            return 0;
        }
        xi_vhost *vh = xi_vhost_find(s, vhost);
        if (!vh) {
            set_error(s, "unknown host %s", vhost);
            return XMPPCORE_E_NOTFOUND;
        }
        opt_store(&vh->opts, opt_table[i].id, v);
        vhost_refresh(s, vh);
        return 0;
    }
    set_error(s, "unknown option %s", name);
    return XMPPCORE_E_INVAL;
}

static void vhost_refresh(const xmppcore_server *s, xi_vhost *v)
{
    v->eff = s->defaults;
    for (size_t i = 0; i < XI_ARRAY_LEN(opt_table); i++) {
        int id = opt_table[i].id;
        if (v->opts.set & (1u << id))
            opt_store(&v->eff, id, opt_load(&v->opts, id));
    }
}

const xi_opts *xi_vhost_opts(const xmppcore_server *s, const xi_vhost *v)
{
    return v ? &v->eff : &s->defaults;
}

/* ---- server ---- */

xmppcore_server *xmppcore_server_new(const xmppcore_env *env,
                                     const xmppcore_server_callbacks *cb,
                                     void *user_data)
{
    if ((env && env->version < 1) || (cb && cb->version < 1))
        return NULL;
    const xmppcore_mem *mem = xi_mem(env ? env->mem : NULL);
    xmppcore_server *s = xi_calloc(mem, sizeof *s);
    if (!s)
        return NULL;
    if (env)
        s->env = *env;
    s->env.version = XMPPCORE_ENV_VERSION;
    s->env.mem = mem;
    bool host_rng = s->env.rng != NULL;
    if (!host_rng) {
        s->env.rng = xmppcore_rng_default;
        s->env.rng_user_data = NULL;
    }
    s->seed_env = s->env;
    if (!host_rng) {
        s->rng = xi_rng_new(mem, NULL, NULL);
        if (!s->rng) {
            xi_free(mem, s);
            return NULL;
        }
        s->env.rng = xi_rng_fill;
        s->env.rng_user_data = s->rng;
    }
    if (!s->env.clock)
        s->env.clock = xmppcore_clock_default;
    s->mem = mem;
    if (cb)
        s->cb = *cb;
    s->ud = user_data;
    s->log_level = XMPPCORE_LOG_DEBUG;
    opts_default(&s->defaults);
    s->timers.mem = mem;
    xi_map_init(&s->vhost_map, mem, s->env.rng, s->env.rng_user_data);
    xi_map_init(&s->users, mem, s->env.rng, s->env.rng_user_data);
    s->hooks = xmppcore_hooks_new(mem);
    s->plain_cache = xi_sasl_cache_new(mem, XI_PLAIN_CACHE_ENTRIES, s->env.rng,
                                       s->env.rng_user_data);
    if (!s->hooks || !s->plain_cache ||
        s->env.rng(s->sasl_secret, sizeof s->sasl_secret,
                   s->env.rng_user_data) != 0 ||
        xi_tls_config_new(&s->seed_env, &s->tls) != 0 ||
        xi_modules_register(s) != 0) {
        xmppcore_server_free(s);
        return NULL;
    }
    return s;
}

void xmppcore_server_free(xmppcore_server *s)
{
    if (!s)
        return;
    /* Connections still open: closed without a goodbye, freed. */
    while (s->conns) {
        xmppcore_conn *c = s->conns;
        c->cb.closed = NULL;
        c->cb.want_write = NULL;
        xmppcore_conn_free(c);
        if (s->conns == c) {
            /* still referenced by a pending storage call: detach */
            s->conns = c->next;
            c->server = NULL;
        }
    }
    xi_sm_free_all(s);
    for (xmppcore_listener *l = s->listeners, *n; l; l = n) {
        n = l->next;
        xi_free(s->mem, l->name);
        xi_free(s->mem, l);
    }
    for (size_t i = 0; i < s->nvhosts; i++) {
        xi_free(s->mem, s->vhosts[i]->domain);
        xi_free(s->mem, s->vhosts[i]);
    }
    xi_free(s->mem, s->vhosts);
    xi_map_free(&s->vhost_map);
    xi_map_free(&s->users);
    xi_timers_free(&s->timers);
    xi_tls_config_free(s->tls);
    xi_sasl_cache_free(s->plain_cache);
    xmppcore_hooks_free(s->hooks);
    sodium_memzero(s->sasl_secret, sizeof s->sasl_secret);
    xi_rng_free(s->rng);
    xi_free(s->mem, s);
}

xi_vhost *xi_vhost_find(const xmppcore_server *s, const char *domain)
{
    return xi_map_get(&s->vhost_map, domain);
}

int xmppcore_server_add_vhost(xmppcore_server *s, const char *domain)
{
    char d[XMPPCORE_JID_PART_MAX + 1];
    if (!domain ||
        xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, domain, strlen(domain),
                                  d, sizeof d) < 0) {
        set_error(s, "not a valid domain: %s", domain ? domain : "(null)");
        return XMPPCORE_E_JID;
    }
    if (xi_vhost_find(s, d)) {
        set_error(s, "host %s added twice", d);
        return XMPPCORE_E_EXISTS;
    }
    xi_vhost *v = xi_calloc(s->mem, sizeof *v);
    xi_vhost **arr = xi_realloc(s->mem, s->vhosts,
                                (s->nvhosts + 1) * sizeof *arr);
    if (arr)
        s->vhosts = arr;
    if (!v || !arr || !(v->domain = xi_strdup(s->mem, d)) ||
        xi_map_put(&s->vhost_map, v->domain, v) < 0) {
        if (v)
            xi_free(s->mem, v->domain);
        xi_free(s->mem, v);
        return XMPPCORE_E_NOMEM;
    }
    vhost_refresh(s, v);
    s->vhosts[s->nvhosts++] = v;
    return 0;
}

static int cert_result(xmppcore_server *s, int rc)
{
    if (rc == 0) {
        s->tls_has_cert = true;
        return 0;
    }
    set_error(s, "%s", xi_tls_config_error(s->tls));
    return rc;
}

int xmppcore_server_add_cert_file(xmppcore_server *s, const char *chain_path,
                                  const char *key_path)
{
    if (!chain_path || !key_path)
        return XMPPCORE_E_INVAL;
    return cert_result(s, xi_tls_config_add_cert_file(
                              s->tls, chain_path, key_path, NULL,
                              s->tls_has_cert ? 0 : XI_TLS_CERT_DEFAULT));
}

int xmppcore_server_add_cert_pem(xmppcore_server *s, const char *chain_pem,
                                 const char *key_pem)
{
    if (!chain_pem || !key_pem)
        return XMPPCORE_E_INVAL;
    return cert_result(s, xi_tls_config_add_cert_pem(
                              s->tls, chain_pem, key_pem, NULL,
                              s->tls_has_cert ? 0 : XI_TLS_CERT_DEFAULT));
}

void xmppcore_server_set_store(xmppcore_server *s, xmppcore_store *store)
{
    s->store = store;
}

xmppcore_hooks *xmppcore_server_hooks(xmppcore_server *s)
{
    return s->hooks;
}

/* ---- time ---- */

void xi_server_timers_changed(xmppcore_server *s)
{
    if (s->cb.timer_changed)
        s->cb.timer_changed(s, s->ud);
}

int64_t xmppcore_server_next_timeout(const xmppcore_server *s)
{
    int64_t e = xi_timers_earliest(&s->timers);
    if (e == INT64_MAX)
        return -1;
    return e <= s->now ? 0 : e - s->now;
}

void xmppcore_server_tick(xmppcore_server *s, int64_t now_ms)
{
    if (now_ms > s->now || !s->ticked)
        s->now = now_ms;
    s->ticked = true;
    xi_timers_run(&s->timers, s->now);
}

/* ---- listeners ---- */

xmppcore_listener *xmppcore_server_add_listener(xmppcore_server *s,
                                                const char *name, int kind)
{
    if (kind != XMPPCORE_LISTEN_C2S && kind != XMPPCORE_LISTEN_C2S_TLS)
        return NULL;
    xmppcore_listener *l = xi_calloc(s->mem, sizeof *l);
    if (!l)
        return NULL;
    l->name = xi_strdup(s->mem, name ? name : "c2s");
    if (!l->name) {
        xi_free(s->mem, l);
        return NULL;
    }
    l->server = s;
    l->kind = kind;
    l->starttls = kind == XMPPCORE_LISTEN_C2S;
    l->starttls_required = true;
    l->next = s->listeners;
    s->listeners = l;
    return l;
}

int xmppcore_listener_set_option(xmppcore_listener *l, const char *name,
                                 const char *value)
{
    uint32_t v;
    if (!name || parse_value(value, true, 0, 1, &v) < 0)
        return XMPPCORE_E_INVAL;
    if (strcmp(name, "starttls") == 0 && l->kind == XMPPCORE_LISTEN_C2S)
        l->starttls = v;
    else if (strcmp(name, "starttls_required") == 0)
        l->starttls_required = v;
    else
        return XMPPCORE_E_INVAL;
    return 0;
}

/* ---- accounts ---- */

typedef struct {
    xmppcore_server *server;
    xmppcore_account_fn cb;
    void *ud;
    char vhost[XMPPCORE_JID_PART_MAX + 1];
    char user[XMPPCORE_JID_PART_MAX + 1];
    xmppcore_credentials creds;
    bool close_sessions;
} account_op;

static void account_done(int status, void *ud)
{
    account_op *op = ud;
    if (status == 0 && op->close_sessions && op->server) {
        char bare[2 * XMPPCORE_JID_PART_MAX + 2];
        snprintf(bare, sizeof bare, "%s@%s", op->user, op->vhost);
        xi_user *u = xi_sm_user(op->server, bare);
        while (u && u->sessions) {
            xmppcore_conn *c = u->sessions->conn;
            if (!c)
                break;
            xi_conn_close(c, "not-authorized", "account deleted",
                          XMPPCORE_E_AUTH);
            u = xi_sm_user(op->server, bare);
        }
    }
    if (op->cb)
        op->cb(status, op->ud);
    sodium_memzero(&op->creds, sizeof op->creds);
    xi_free(op->server->mem, op);
}

static int account_prepare(xmppcore_server *s, const char *vhost,
                           const char *user, account_op **out)
{
    *out = NULL;
    if (!vhost || !user)
        return XMPPCORE_E_INVAL;
    if (!s->store)
        return XMPPCORE_E_UNSUPPORTED;
    account_op *op = xi_calloc(s->mem, sizeof *op);
    if (!op)
        return XMPPCORE_E_NOMEM;
    op->server = s;
    if (xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, vhost, strlen(vhost),
                                  op->vhost, sizeof op->vhost) < 0 ||
        !xi_vhost_find(s, op->vhost)) {
        xi_free(s->mem, op);
        return XMPPCORE_E_NOTFOUND;
    }
    if (xmppcore_jid_enforce_part(XMPPCORE_JID_LOCAL, user, strlen(user),
                                  op->user, sizeof op->user) < 0) {
        xi_free(s->mem, op);
        return XMPPCORE_E_JID;
    }
    *out = op;
    return 0;
}

static int account_write(xmppcore_server *s, const char *vhost,
                         const char *user, const char *password,
                         xmppcore_account_fn cb, void *ud, bool create)
{
    account_op *op;
    int rc = account_prepare(s, vhost, user, &op);
    if (rc < 0)
        return rc;
    if (!password) {
        xi_free(s->mem, op);
        return XMPPCORE_E_INVAL;
    }
    const xi_opts *o = xi_vhost_opts(s, xi_vhost_find(s, op->vhost));
    rc = xmppcore_credentials_derive(password, strlen(password), o->iterations,
                                     s->env.rng, s->env.rng_user_data,
                                     &op->creds);
    if (rc < 0) {
        xi_free(s->mem, op);
        return rc == XMPPCORE_E_NOMEM ? rc : XMPPCORE_E_INVAL;
    }
    op->cb = cb;
    op->ud = ud;
    rc = create ? xmppcore_store_auth_create(s->store, op->vhost, op->user,
                                             &op->creds, account_done, op)
                : xmppcore_store_auth_set(s->store, op->vhost, op->user,
                                          &op->creds, account_done, op);
    if (rc < 0) {
        sodium_memzero(&op->creds, sizeof op->creds);
        xi_free(s->mem, op);
    }
    return rc;
}

int xmppcore_account_create(xmppcore_server *s, const char *vhost,
                            const char *user, const char *password,
                            xmppcore_account_fn cb, void *ud)
{
    return account_write(s, vhost, user, password, cb, ud, true);
}

int xmppcore_account_set_password(xmppcore_server *s, const char *vhost,
                                  const char *user, const char *password,
                                  xmppcore_account_fn cb, void *ud)
{
    return account_write(s, vhost, user, password, cb, ud, false);
}

int xmppcore_account_delete(xmppcore_server *s, const char *vhost,
                            const char *user, xmppcore_account_fn cb, void *ud)
{
    account_op *op;
    int rc = account_prepare(s, vhost, user, &op);
    if (rc < 0)
        return rc;
    op->cb = cb;
    op->ud = ud;
    op->close_sessions = true;
    rc = xmppcore_store_auth_remove(s->store, op->vhost, op->user,
                                    account_done, op);
    if (rc < 0)
        xi_free(s->mem, op);
    return rc;
}

size_t xmppcore_server_sessions(xmppcore_server *s, const char *vhost,
                                void (*fn)(const char *jid, void *ud), void *ud)
{
    size_t n = 0, pos = 0;
    void *val;
    xi_vhost *v = vhost ? xi_vhost_find(s, vhost) : NULL;
    if (vhost && !v)
        return 0;
    while (xi_map_next(&s->users, &pos, NULL, &val)) {
        xi_user *u = val;
        for (xmppcore_session *se = u->sessions; se; se = se->next_in_user) {
            if (v && se->vhost != v)
                continue;
            n++;
            if (fn)
                fn(se->full, ud);
        }
    }
    return n;
}

const char *xmppcore_session_jid(const xmppcore_session *se)
{
    return se->full;
}

const char *xmppcore_session_vhost(const xmppcore_session *se)
{
    return se->vhost->domain;
}

int xi_server_send_owned(xmppcore_server *s, xmppcore_stanza *stanza)
{
    const char *from = xmppcore_stanza_attr(stanza, "from");
    const char *to = xmppcore_stanza_attr(stanza, "to");
    xmppcore_jid *fj = NULL;
    int rc = from && to && xmppcore_stanza_name(stanza)
                 ? xmppcore_jid_parse(s->mem, from, (size_t)-1, &fj)
                 : XMPPCORE_E_INVAL;
    if (rc < 0) {
        xmppcore_stanza_free(stanza);
        /* Out of memory is not a bad 'from'. */
        return rc == XMPPCORE_E_NOMEM ? rc : XMPPCORE_E_INVAL;
    }
    bool local = xi_vhost_find(s, xmppcore_jid_domain(fj)) != NULL;
    xmppcore_jid_free(fj);
    if (!local) {
        xmppcore_stanza_free(stanza);
        return XMPPCORE_E_INVAL;
    }
    return xi_route(s, stanza);
}

int xmppcore_server_send(xmppcore_server *s, const xmppcore_stanza *stanza)
{
    if (!stanza || !xmppcore_stanza_attr(stanza, "from") ||
        !xmppcore_stanza_attr(stanza, "to") || !xmppcore_stanza_name(stanza))
        return XMPPCORE_E_INVAL;
    xmppcore_stanza *copy = xmppcore_stanza_copy(stanza);
    if (!copy)
        return XMPPCORE_E_NOMEM;
    return xi_server_send_owned(s, copy);
}

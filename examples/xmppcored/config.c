/*
 * The YAML configuration, read with libyaml's document API (the whole
 * tree, with a start mark per node for the error messages). Keys follow
 * ejabberd's where ejabberd has one; each option is checked here for
 * type and range, and mapped to the server.h option it sets.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <yaml.h>

#include "xmppcore/jid.h"
#include "xmppcore/server.h"

typedef struct {
    xd_config *cfg;
    yaml_document_t *doc;
    int flags;
} ctx;

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static xd_mark mark_of(const yaml_node_t *n)
{
    xd_mark m = {(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return m;
}

static void verror(xd_config *cfg, const xd_mark *m, const char *fmt,
                   va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char line[1400];
    int n;
    if (m && m->line)
        n = snprintf(line, sizeof line, "%s:%d:%d: %s\n", cfg->path, m->line,
                     m->col, msg);
    else
        n = snprintf(line, sizeof line, "%s: %s\n", cfg->path, msg);
    if (n < 0)
        return;
    size_t len = strlen(line);
    size_t old = cfg->errors ? strlen(cfg->errors) : 0;
    char *e = realloc(cfg->errors, old + len + 1);
    if (!e)
        return;
    memcpy(e + old, line, len + 1);
    cfg->errors = e;
    cfg->n_errors++;
}

void xd_config_error(xd_config *cfg, const xd_mark *mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(cfg, mark, fmt, ap);
    va_end(ap);
}

static void node_error(ctx *c, const yaml_node_t *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void node_error(ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    xd_mark m = mark_of(n);
    va_list ap;
    va_start(ap, fmt);
    verror(c->cfg, &m, fmt, ap);
    va_end(ap);
}

static yaml_node_t *node(ctx *c, int i)
{
    return yaml_document_get_node(c->doc, i);
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null");
}

/* A string scalar (plain or quoted, not empty). NULL after an error. */
static const char *get_str(ctx *c, const yaml_node_t *n, const char *key)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n)) {
        node_error(c, n, "%s: expected a string, found %s", key,
                   is_null(n) ? "nothing" : kind_name(n));
        return NULL;
    }
    const char *v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length) {
        node_error(c, n, "%s: NUL character in the value", key);
        return NULL;
    }
    return v;
}

/* true/false. -1 after an error. */
static int get_bool(ctx *c, const yaml_node_t *n, const char *key)
{
    if (n->type == YAML_SCALAR_NODE &&
        n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)n->data.scalar.value;
        if (!strcmp(v, "true"))
            return 1;
        if (!strcmp(v, "false"))
            return 0;
    }
    node_error(c, n, "%s: expected true or false", key);
    return -1;
}

/* A decimal integer in [min, max] (or "infinity", given as inf_value
 * when inf_value >= 0). 0 on success. */
static int get_int(ctx *c, const yaml_node_t *n, const char *key, long min,
                   long max, long inf_value, long *out)
{
    if (n->type == YAML_SCALAR_NODE &&
        n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = (const char *)n->data.scalar.value;
        if (inf_value >= 0 && !strcmp(v, "infinity")) {
            *out = inf_value;
            return 0;
        }
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (*v && !*end && errno == 0 && (*v == '-' || (*v >= '0' && *v <= '9'))) {
            if (x < min || x > max) {
                node_error(c, n, "%s: %ld is out of range (%ld to %ld)", key,
                           x, min, max);
                return -1;
            }
            *out = x;
            return 0;
        }
    }
    node_error(c, n, "%s: expected an integer%s", key,
               inf_value >= 0 ? " or infinity" : "");
    return -1;
}

/* path relative to the config file's folder, made absolute. */
static char *resolve(ctx *c, const char *p)
{
    if (p[0] == '/')
        return xstrdup(p);
    size_t n = strlen(c->cfg->dir) + 1 + strlen(p) + 1;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s/%s", c->cfg->dir, p);
    return r;
}

/* Checks a mapping for duplicate keys (libyaml keeps them) and non-scalar
 * keys. Returns 0 if fine. */
static int check_keys(ctx *c, const yaml_node_t *map)
{
    int bad = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key);
        if (k->type != YAML_SCALAR_NODE) {
            node_error(c, k, "a key must be a plain name, found %s",
                       kind_name(k));
            bad = 1;
            continue;
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node(c, q->key);
            if (k2->type == YAML_SCALAR_NODE &&
                !strcmp((char *)k->data.scalar.value,
                        (char *)k2->data.scalar.value)) {
                node_error(c, k, "duplicate key %s (first at line %d)",
                           (char *)k->data.scalar.value, mark_of(k2).line);
                bad = 1;
                break;
            }
        }
    }
    return bad;
}

/* ---- Options that map to server options (global and per host) ---- */

static int add_opt(ctx *c, xd_opt *opts, size_t *n, const char *name,
                   const char *value, const yaml_node_t *at)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(opts[i].name, name)) {
            snprintf(opts[i].value, sizeof opts[i].value, "%s", value);
            opts[i].mark = mark_of(at);
            return 0;
        }
    if (*n == XD_MAX_OPTS) {
        node_error(c, at, "too many options");
        return -1;
    }
    opts[*n].name = name;
    snprintf(opts[*n].value, sizeof opts[*n].value, "%s", value);
    opts[*n].mark = mark_of(at);
    (*n)++;
    return 0;
}

/* Handles key if it is a per-host option: 1 handled, 0 not one. */
static int host_option(ctx *c, const char *key, const yaml_node_t *v,
                       xd_opt *opts, size_t *n)
{
    char buf[32];
    long x;
    int b;
    if (!strcmp(key, "auth_plain_without_tls") ||
        !strcmp(key, "allow_anonymous")) {
        if ((b = get_bool(c, v, key)) >= 0)
            add_opt(c, opts, n,
                    key[0] == 'a' && key[1] == 'u' ? "auth.plain_without_tls"
                                                   : "auth.anonymous",
                    b ? "true" : "false", v);
        return 1;
    }
    if (!strcmp(key, "max_stanza_size")) {
        if (get_int(c, v, key, 1024, 1L << 30, -1, &x) == 0) {
            snprintf(buf, sizeof buf, "%ld", x);
            add_opt(c, opts, n, "c2s.max_stanza_bytes", buf, v);
        }
        return 1;
    }
    if (!strcmp(key, "c2s_idle_timeout")) {
        if (get_int(c, v, key, 0, 1L << 30, 0, &x) == 0) {
            snprintf(buf, sizeof buf, "%ld", x);
            add_opt(c, opts, n, "c2s.idle_timeout", buf, v);
        }
        return 1;
    }
    if (!strcmp(key, "modules")) {
        if (is_null(v))
            return 1;
        if (v->type != YAML_MAPPING_NODE) {
            node_error(c, v, "modules: expected a mapping, found %s",
                       kind_name(v));
            return 1;
        }
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
             p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *k = node(c, p->key);
            node_error(c, k, "modules: %s is not available (no modules are "
                       "built in yet)",
                       k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value
                                                   : "this module");
        }
        return 1;
    }
    return 0;
}

/* ---- Sections ---- */

static void parse_hosts(ctx *c, const yaml_node_t *v)
{
    xd_config *cfg = c->cfg;
    if (v->type != YAML_SEQUENCE_NODE) {
        node_error(c, v, "hosts: expected a list of domains, found %s",
                   kind_name(v));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) {
        node_error(c, v, "hosts: the list is empty");
        return;
    }
    cfg->hosts = calloc(n, sizeof *cfg->hosts);
    if (!cfg->hosts)
        return;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *h = node(c, *it);
        const char *s = get_str(c, h, "hosts");
        if (!s)
            continue;
        char dom[XMPPCORE_JID_PART_MAX + 1];
        if (xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, s, strlen(s), dom,
                                      sizeof dom) < 0) {
            node_error(c, h, "hosts: \"%s\" is not a valid domain", s);
            continue;
        }
        if (xd_config_find_host(cfg, dom)) {
            node_error(c, h, "hosts: %s is listed twice", dom);
            continue;
        }
        cfg->hosts[cfg->n_hosts++] = xstrdup(dom);
    }
}

static void parse_certfiles(ctx *c, const yaml_node_t *v)
{
    xd_config *cfg = c->cfg;
    if (v->type != YAML_SEQUENCE_NODE) {
        node_error(c, v, "certfiles: expected a list of PEM files, found %s",
                   kind_name(v));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    cfg->certfiles = calloc(n ? n : 1, sizeof *cfg->certfiles);
    cfg->certfile_marks = calloc(n ? n : 1, sizeof *cfg->certfile_marks);
    if (!cfg->certfiles || !cfg->certfile_marks)
        return;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        yaml_node_t *f = node(c, *it);
        const char *s = get_str(c, f, "certfiles");
        if (!s)
            continue;
        char *p = resolve(c, s);
        if (!p)
            continue;
        if ((c->flags & XD_CONFIG_CHECK_FILES) && access(p, R_OK) != 0) {
            node_error(c, f, "certfiles: cannot read %s: %s (make one with: "
                       "xmppcorectl gencert DOMAIN %s)",
                       p, strerror(errno), p);
        }
        cfg->certfile_marks[cfg->n_certfiles] = mark_of(f);
        cfg->certfiles[cfg->n_certfiles++] = p;
    }
}

static int ip_family(const char *ip, unsigned char addr[16])
{
    if (inet_pton(AF_INET, ip, addr) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, ip, addr) == 1)
        return AF_INET6;
    return 0;
}

static void parse_listener(ctx *c, const yaml_node_t *m, xd_listen *l)
{
    memset(l, 0, sizeof *l);
    l->port = -1;
    l->starttls = l->starttls_required = -1;
    snprintf(l->ip, sizeof l->ip, "::");
    l->mark = mark_of(m);
    if (m->type != YAML_MAPPING_NODE) {
        node_error(c, m, "listen: each listener is a mapping (port, ip, "
                   "module, ...), found %s", kind_name(m));
        return;
    }
    check_keys(c, m);
    int have_module = 0;
    const yaml_node_t *starttls_node = NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        const char *key = (const char *)k->data.scalar.value;
        long x;
        int b;
        if (!strcmp(key, "port")) {
            if (get_int(c, v, "port", 1, 65535, -1, &x) == 0)
                l->port = (int)x;
        } else if (!strcmp(key, "ip")) {
            const char *s = get_str(c, v, "ip");
            unsigned char a[16];
            if (s && !ip_family(s, a))
                node_error(c, v, "ip: \"%s\" is not an IPv4 or IPv6 address",
                           s);
            else if (s)
                snprintf(l->ip, sizeof l->ip, "%s", s);
        } else if (!strcmp(key, "module")) {
            const char *s = get_str(c, v, "module");
            if (s && strcmp(s, "c2s") && strcmp(s, "ejabberd_c2s"))
                node_error(c, v, "module: \"%s\" is not available (c2s is)",
                           s);
            have_module = s != NULL;
        } else if (!strcmp(key, "tls")) {
            if ((b = get_bool(c, v, "tls")) >= 0)
                l->tls = b;
        } else if (!strcmp(key, "starttls")) {
            if ((b = get_bool(c, v, "starttls")) >= 0)
                l->starttls = b;
            starttls_node = k;
        } else if (!strcmp(key, "starttls_required")) {
            if ((b = get_bool(c, v, "starttls_required")) >= 0)
                l->starttls_required = b;
            starttls_node = starttls_node ? starttls_node : k;
        } else {
            node_error(c, k, "listen: unknown option %s (known: port, ip, "
                       "module, tls, starttls, starttls_required)", key);
        }
    }
    if (l->port < 0 && m->data.mapping.pairs.top > m->data.mapping.pairs.start)
        node_error(c, m, "listen: port is missing");
    if (!have_module)
        node_error(c, m, "listen: module is missing (module: c2s)");
    if (l->tls && starttls_node && l->starttls == 1)
        node_error(c, starttls_node, "listen: starttls and tls (direct TLS) "
                   "do not go together");
}

static void parse_listen(ctx *c, const yaml_node_t *v)
{
    xd_config *cfg = c->cfg;
    if (v->type != YAML_SEQUENCE_NODE) {
        node_error(c, v, "listen: expected a list of listeners, found %s",
                   kind_name(v));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        node_error(c, v, "listen: the list is empty");
    cfg->listen = calloc(n ? n : 1, sizeof *cfg->listen);
    if (!cfg->listen)
        return;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        xd_listen *l = &cfg->listen[cfg->n_listen];
        parse_listener(c, node(c, *it), l);
        if (l->port <= 0)
            continue;
        /* Two listeners clash on the same port if their addresses are
         * equal or one is the wildcard of the other's family. */
        unsigned char a[16], b[16];
        int fa = ip_family(l->ip, a);
        static const unsigned char zero[16];
        for (size_t i = 0; i < cfg->n_listen; i++) {
            xd_listen *o = &cfg->listen[i];
            if (o->port != l->port)
                continue;
            int fb = ip_family(o->ip, b);
            if (fa != fb)
                continue;
            size_t len = fa == AF_INET ? 4 : 16;
            if (!memcmp(a, b, len) || !memcmp(a, zero, len) ||
                !memcmp(b, zero, len)) {
                xd_config_error(cfg, &l->mark,
                                "listen: port %d on %s clashes with the "
                                "listener at line %d (%s)",
                                l->port, l->ip, o->mark.line, o->ip);
                break;
            }
        }
        cfg->n_listen++;
    }
}

static void parse_host_config(ctx *c, const yaml_node_t *v)
{
    xd_config *cfg = c->cfg;
    if (is_null(v))
        return;
    if (v->type != YAML_MAPPING_NODE) {
        node_error(c, v, "host_config: expected a mapping of host to "
                   "options, found %s", kind_name(v));
        return;
    }
    check_keys(c, v);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    cfg->host_config = calloc(n ? n : 1, sizeof *cfg->host_config);
    if (!cfg->host_config)
        return;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
         p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *m = node(c, p->value);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        const char *h = xd_config_find_host(cfg, (char *)k->data.scalar.value);
        if (!h) {
            node_error(c, k, "host_config: %s is not in hosts",
                       (char *)k->data.scalar.value);
            continue;
        }
        xd_host_config *hc = &cfg->host_config[cfg->n_host_config++];
        hc->host = xstrdup(h);
        hc->mark = mark_of(k);
        if (is_null(m))
            continue;
        if (m->type != YAML_MAPPING_NODE) {
            node_error(c, m, "host_config: %s: expected a mapping of "
                       "options, found %s", h, kind_name(m));
            continue;
        }
        check_keys(c, m);
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start;
             q < m->data.mapping.pairs.top; q++) {
            yaml_node_t *kk = node(c, q->key), *vv = node(c, q->value);
            if (kk->type != YAML_SCALAR_NODE)
                continue;
            const char *key = (const char *)kk->data.scalar.value;
            if (!host_option(c, key, vv, hc->opts, &hc->n_opts))
                node_error(c, kk, "host_config: unknown option %s (known per "
                           "host: allow_anonymous, auth_plain_without_tls, "
                           "max_stanza_size, c2s_idle_timeout, modules)",
                           key);
        }
    }
}

static const char *const top_keys =
    "hosts, loglevel, certfiles, listen, sql_type, sql_database, "
    "sql_exclusive, "
    "admin_socket, auth_plain_without_tls, allow_anonymous, "
    "max_stanza_size, c2s_idle_timeout, host_config, modules";

static char *socket_path(ctx *c, const yaml_node_t *v, const char *s)
{
    char *p = resolve(c, s);
    struct sockaddr_un un;
    if (p && strlen(p) >= sizeof un.sun_path) {
        node_error(c, v, "admin_socket: %s is too long for a UNIX socket "
                   "(%zu bytes at most)", p, sizeof un.sun_path - 1);
    }
    return p;
}

static void parse_root(ctx *c, const yaml_node_t *root)
{
    xd_config *cfg = c->cfg;
    if (root->type != YAML_MAPPING_NODE) {
        node_error(c, root, "the configuration must be a mapping of options, "
                   "found %s", kind_name(root));
        return;
    }
    check_keys(c, root);
    /* hosts first: host_config refers to them. */
    const yaml_node_t *hosts = NULL, *host_cfg = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key);
        if (k->type == YAML_SCALAR_NODE &&
            !strcmp((char *)k->data.scalar.value, "hosts"))
            hosts = node(c, p->value);
    }
    if (hosts)
        parse_hosts(c, hosts);
    else
        node_error(c, root, "hosts is missing (hosts: [localhost])");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        const char *key = (const char *)k->data.scalar.value;
        if (!strcmp(key, "hosts")) {
            continue;
        } else if (!strcmp(key, "loglevel")) {
            static const struct {
                const char *name;
                int level;
            } levels[] = {{"none", 0},
                          {"critical", XMPPCORE_LOG_ERROR},
                          {"error", XMPPCORE_LOG_ERROR},
                          {"warning", XMPPCORE_LOG_WARNING},
                          {"notice", XMPPCORE_LOG_NOTICE},
                          {"info", XMPPCORE_LOG_INFO},
                          {"debug", XMPPCORE_LOG_DEBUG}};
            const char *s = get_str(c, v, key);
            if (!s)
                continue;
            size_t i;
            for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
                if (!strcmp(s, levels[i].name))
                    break;
            if (i == sizeof levels / sizeof levels[0])
                node_error(c, v, "loglevel: \"%s\" is not one of none, "
                           "error, warning, notice, info, debug", s);
            else
                cfg->loglevel = levels[i].level;
        } else if (!strcmp(key, "certfiles")) {
            parse_certfiles(c, v);
        } else if (!strcmp(key, "listen")) {
            parse_listen(c, v);
        } else if (!strcmp(key, "sql_type")) {
            const char *s = get_str(c, v, key);
            if (s && strcmp(s, "sqlite"))
                node_error(c, v, "sql_type: \"%s\" is not supported (sqlite "
                           "is)", s);
        } else if (!strcmp(key, "sql_database")) {
            const char *s = get_str(c, v, key);
            if (s) {
                free(cfg->sql_database);
                cfg->sql_database = resolve(c, s);
            }
        } else if (!strcmp(key, "sql_exclusive")) {
            int b = get_bool(c, v, key);
            if (b >= 0)
                cfg->sql_exclusive = b;
        } else if (!strcmp(key, "admin_socket")) {
            const char *s = get_str(c, v, key);
            if (s) {
                free(cfg->admin_socket);
                cfg->admin_socket = socket_path(c, v, s);
            }
        } else if (!strcmp(key, "host_config")) {
            host_cfg = v;
        } else if (!host_option(c, key, v, cfg->opts, &cfg->n_opts)) {
            node_error(c, k, "unknown option %s (known: %s)", key, top_keys);
        }
    }
    if (host_cfg)
        parse_host_config(c, host_cfg);
    if (!cfg->n_listen && cfg->listen == NULL)
        node_error(c, root, "listen is missing (at least one listener)");
    /* A TLS listener without a certificate cannot work. */
    for (size_t i = 0; i < cfg->n_listen; i++) {
        xd_listen *l = &cfg->listen[i];
        if (cfg->n_certfiles == 0 && (l->tls || l->starttls != 0))
            xd_config_error(cfg, &l->mark, "listen: port %d uses TLS%s but "
                            "certfiles lists no certificate",
                            l->port, l->tls ? "" : " (starttls is on unless "
                            "starttls: false)");
    }
}

static char *abs_dir(const char *path)
{
    char *copy = xstrdup(path);
    if (!copy)
        return NULL;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    char *r = realpath(dir, NULL);
    free(copy);
    return r;
}

xd_config *xd_config_load(const char *path, int flags)
{
    xd_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->path = xstrdup(path);
    cfg->loglevel = XMPPCORE_LOG_INFO;
    cfg->sql_exclusive = true;
    if (!cfg->path) {
        free(cfg);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        xd_config_error(cfg, NULL, "cannot open: %s", strerror(errno));
        return cfg;
    }
    cfg->dir = abs_dir(path);
    if (!cfg->dir) {
        xd_config_error(cfg, NULL, "cannot resolve its folder: %s",
                        strerror(errno));
        fclose(f);
        return cfg;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        xd_config_error(cfg, NULL, "out of memory");
        return cfg;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        xd_mark m = {(int)parser.problem_mark.line + 1,
                     (int)parser.problem_mark.column + 1};
        xd_config_error(cfg, &m, "YAML: %s%s%s",
                        parser.problem ? parser.problem : "syntax error",
                        parser.context ? " " : "",
                        parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(f);
        return cfg;
    }
    ctx c = {cfg, &doc, flags};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        xd_config_error(cfg, NULL, "the file is empty (hosts and listen are "
                        "needed)");
    else
        parse_root(&c, root);
    if (!cfg->sql_database)
        cfg->sql_database = resolve(&c, "xmppcore.db");
    if (!cfg->admin_socket)
        cfg->admin_socket = resolve(&c, "xmppcorectl.sock");
    if (!cfg->sql_database || !cfg->admin_socket)
        xd_config_error(cfg, NULL, "out of memory");
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return cfg;
}

void xd_config_free(xd_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_hosts; i++)
        free(cfg->hosts[i]);
    free(cfg->hosts);
    for (size_t i = 0; i < cfg->n_certfiles; i++)
        free(cfg->certfiles[i]);
    free(cfg->certfiles);
    free(cfg->certfile_marks);
    free(cfg->listen);
    for (size_t i = 0; i < cfg->n_host_config; i++)
        free(cfg->host_config[i].host);
    free(cfg->host_config);
    free(cfg->sql_database);
    free(cfg->admin_socket);
    free(cfg->errors);
    free(cfg->dir);
    free(cfg->path);
    free(cfg);
}

const char *xd_config_find_host(const xd_config *cfg, const char *host)
{
    char dom[XMPPCORE_JID_PART_MAX + 1];
    if (xmppcore_jid_enforce_part(XMPPCORE_JID_DOMAIN, host, strlen(host), dom,
                                  sizeof dom) < 0)
        return NULL;
    for (size_t i = 0; i < cfg->n_hosts; i++)
        if (!strcmp(cfg->hosts[i], dom))
            return cfg->hosts[i];
    return NULL;
}

int xd_mkdir_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

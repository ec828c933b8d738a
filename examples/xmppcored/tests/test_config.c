/* Tests of xmppcored's configuration reader: good files, and each kind
 * of error reported at the right line and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmppcore.h"
#include "xmppcore/server.h"

#include "config.h"

static int failures, passed;
static char dir[] = "/tmp/xd-config-XXXXXX";

static xd_config *load(const char *yaml, int flags)
{
    char path[256];
    snprintf(path, sizeof path, "%s/x.yml", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(yaml, f);
    fclose(f);
    return xd_config_load(path, flags);
}

#define EXPECT(cond)                                                         \
    do {                                                                     \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__,   \
                    name, #cond);                                            \
        }                                                                    \
    } while (0)

/* The config must fail with an error containing ":LINE:COL: " and text. */
static void bad(const char *name, const char *yaml, int flags, int line,
                int col, const char *text)
{
    int before = failures;
    xd_config *c = load(yaml, flags);
    EXPECT(c != NULL);
    if (!c)
        return;
    char where[64];
    if (line)
        snprintf(where, sizeof where, "x.yml:%d:%d: ", line, col);
    else
        snprintf(where, sizeof where, "x.yml: ");
    EXPECT(c->n_errors >= 1);
    EXPECT(c->errors && strstr(c->errors, where));
    EXPECT(c->errors && strstr(c->errors, text));
    if (failures != before)
        fprintf(stderr, "  errors were:\n%s", c->errors ? c->errors : "(none)\n");
    else
        passed++;
    xd_config_free(c);
}

static const char *good_yaml =
    "hosts:\n"
    "  - localhost\n"
    "  - Example.ORG\n"
    "loglevel: debug\n"
    "certfiles:\n"
    "  - certs/localhost.pem\n"
    "listen:\n"
    "  - port: 5222\n"
    "    ip: \"127.0.0.1\"\n"
    "    module: c2s\n"
    "    starttls: true\n"
    "    starttls_required: true\n"
    "  - port: 5223\n"
    "    ip: \"::1\"\n"
    "    module: ejabberd_c2s\n"
    "    tls: true\n"
    "  - port: 5222\n"
    "    ip: \"::1\"\n"
    "    module: c2s\n"
    "sql_type: sqlite\n"
    "sql_database: data/xmppcore.db\n"
    "admin_socket: /tmp/ctl.sock\n"
    "auth_plain_without_tls: false\n"
    "allow_anonymous: false\n"
    "max_stanza_size: 262144\n"
    "c2s_idle_timeout: infinity\n"
    "host_config:\n"
    "  example.org:\n"
    "    allow_anonymous: true\n"
    "    max_stanza_size: 65536\n"
    "modules: {}\n";

static void test_good(void)
{
    const char *name = "good";
    int before = failures;
    xd_config *c = load(good_yaml, 0);
    EXPECT(c && c->n_errors == 0);
    if (!c)
        return;
    if (c->n_errors)
        fprintf(stderr, "%s", c->errors);
    EXPECT(c->n_hosts == 2);
    EXPECT(c->n_hosts == 2 && !strcmp(c->hosts[1], "example.org"));
    EXPECT(c->loglevel == XMPPCORE_LOG_DEBUG);
    EXPECT(c->n_listen == 3);
    if (c->n_listen == 3) {
        EXPECT(c->listen[0].port == 5222 && !strcmp(c->listen[0].ip, "127.0.0.1"));
        EXPECT(c->listen[0].starttls == 1 && c->listen[0].starttls_required == 1);
        EXPECT(c->listen[1].tls == 1 && c->listen[1].starttls == -1);
        EXPECT(c->listen[2].port == 5222 && !strcmp(c->listen[2].ip, "::1"));
        EXPECT(c->listen[1].mark.line == 13 && c->listen[1].mark.col == 5);
    }
    /* Relative to the config's folder; absolute kept. */
    char want[300];
    char *real = realpath(dir, NULL);
    snprintf(want, sizeof want, "%s/data/xmppcore.db", real);
    EXPECT(!strcmp(c->sql_database, want));
    snprintf(want, sizeof want, "%s/certs/localhost.pem", real);
    EXPECT(c->n_certfiles == 1 && !strcmp(c->certfiles[0], want));
    free(real);
    EXPECT(!strcmp(c->admin_socket, "/tmp/ctl.sock"));
    EXPECT(c->n_opts == 4);
    int seen = 0;
    for (size_t i = 0; i < c->n_opts; i++) {
        if (!strcmp(c->opts[i].name, "c2s.idle_timeout"))
            seen += !strcmp(c->opts[i].value, "0");
        if (!strcmp(c->opts[i].name, "c2s.max_stanza_bytes"))
            seen += !strcmp(c->opts[i].value, "262144") && c->opts[i].mark.line == 25;
        if (!strcmp(c->opts[i].name, "auth.plain_without_tls"))
            seen += !strcmp(c->opts[i].value, "false");
        if (!strcmp(c->opts[i].name, "auth.anonymous"))
            seen += !strcmp(c->opts[i].value, "false");
    }
    EXPECT(seen == 4);
    EXPECT(c->n_host_config == 1);
    if (c->n_host_config == 1) {
        EXPECT(!strcmp(c->host_config[0].host, "example.org"));
        EXPECT(c->host_config[0].n_opts == 2);
        EXPECT(!strcmp(c->host_config[0].opts[0].name, "auth.anonymous") &&
               !strcmp(c->host_config[0].opts[0].value, "true"));
    }
    EXPECT(xd_config_find_host(c, "EXAMPLE.org") != NULL);
    EXPECT(xd_config_find_host(c, "other.org") == NULL);
    xd_config_free(c);

    /* Defaults: database and socket beside the config. */
    c = load("hosts: [a.example]\nlisten:\n  - {port: 5222, module: c2s, starttls: false}\n", 0);
    EXPECT(c && c->n_errors == 0);
    if (c && c->n_errors)
        fprintf(stderr, "%s", c->errors);
    EXPECT(c && strstr(c->sql_database, "/xmppcore.db"));
    EXPECT(c && strstr(c->admin_socket, "/xmppcorectl.sock"));
    EXPECT(c && c->n_listen == 1 && !strcmp(c->listen[0].ip, "::"));
    EXPECT(c && c->sql_exclusive);
    xd_config_free(c);
    c = load("hosts: [a.example]\nsql_exclusive: false\n"
             "listen: [{port: 5222, module: c2s, starttls: false}]\n", 0);
    EXPECT(c && c->n_errors == 0 && !c->sql_exclusive);
    xd_config_free(c);
    c = load("hosts: [a.example]\nsql_exclusive: sometimes\n"
             "listen: [{port: 5222, module: c2s, starttls: false}]\n", 0);
    EXPECT(c && c->n_errors == 1 &&
           strstr(c->errors, ":2:16: sql_exclusive: expected true or false"));
    if (c && c->n_errors)
        fprintf(stderr, "(expected) %s", c->errors);
    xd_config_free(c);
    if (failures == before)
        passed++;
}

static const char *head = "hosts: [localhost]\n"
                          "listen:\n"
                          "  - port: 5222\n"
                          "    module: c2s\n"
                          "    starttls: false\n";

static void test_errors(void)
{
    char y[2048];
    bad("syntax", "hosts: [localhost\nlisten: x\n", 0, 2, 7, "YAML");
    bad("tab", "hosts:\n\t- localhost\n", 0, 2, 1, "YAML");
    bad("empty", "", 0, 0, 0, "empty");
    bad("not a mapping", "- a\n- b\n", 0, 1, 1, "must be a mapping");
    snprintf(y, sizeof y, "%sfoo: 1\n", head);
    bad("unknown key", y, 0, 6, 1, "unknown option foo");
    snprintf(y, sizeof y, "%shosts: [x]\n", head);
    bad("duplicate key", y, 0, 6, 1, "duplicate key hosts (first at line 1)");
    bad("hosts missing", "listen: []\n", 0, 1, 1, "hosts is missing");
    bad("hosts type", "hosts: localhost\n", 0, 1, 8, "expected a list");
    bad("bad domain", "hosts:\n  - \"a b\"\n", 0, 2, 5, "not a valid domain");
    bad("host twice", "hosts:\n  - a.org\n  - A.org\n", 0, 3, 5, "listed twice");
    snprintf(y, sizeof y, "%sloglevel: loud\n", head);
    bad("loglevel", y, 0, 6, 11, "loglevel");
    snprintf(y, sizeof y, "%sauth_plain_without_tls: yes\n", head);
    bad("bool", y, 0, 6, 25, "expected true or false");
    snprintf(y, sizeof y, "%sallow_anonymous: \"true\"\n", head);
    bad("quoted bool", y, 0, 6, 18, "expected true or false");
    snprintf(y, sizeof y, "%smax_stanza_size: 12x\n", head);
    bad("int", y, 0, 6, 18, "expected an integer");
    snprintf(y, sizeof y, "%smax_stanza_size: 10\n", head);
    bad("int range", y, 0, 6, 18, "out of range");
    snprintf(y, sizeof y, "%sc2s_idle_timeout: -5\n", head);
    bad("negative", y, 0, 6, 19, "out of range");
    snprintf(y, sizeof y, "%ssql_type: mysql\n", head);
    bad("sql_type", y, 0, 6, 11, "not supported");
    snprintf(y, sizeof y, "%ssql_database: [a]\n", head);
    bad("string type", y, 0, 6, 15, "expected a string, found a list");
    snprintf(y, sizeof y, "%smodules:\n  mod_roster: {}\n", head);
    bad("modules", y, 0, 7, 3, "mod_roster is not available");
    bad("port range", "hosts: [a]\nlisten:\n  - port: 70000\n    module: c2s\n", 0,
        3, 11, "out of range");
    bad("port missing", "hosts: [a]\nlisten:\n  - module: c2s\n    starttls: false\n",
        0, 3, 5, "port is missing");
    bad("module missing", "hosts: [a]\nlisten:\n  - port: 1\n    starttls: false\n", 0,
        3, 5, "module is missing");
    bad("module", "hosts: [a]\nlisten:\n  - port: 1\n    module: s2s\n", 0, 4, 13,
        "not available");
    bad("ip", "hosts: [a]\nlisten:\n  - port: 1\n    module: c2s\n    ip: localhost\n",
        0, 5, 9, "not an IPv4 or IPv6 address");
    bad("listener option", "hosts: [a]\nlisten:\n  - port: 1\n    module: c2s\n"
        "    shaper: fast\n", 0, 5, 5, "unknown option shaper");
    bad("listener type", "hosts: [a]\nlisten:\n  - 5222\n", 0, 3, 5,
        "each listener is a mapping");
    bad("tls and starttls", "hosts: [a]\ncertfiles: []\nlisten:\n  - port: 1\n"
        "    module: c2s\n    tls: true\n    starttls: true\n", 0, 7, 5,
        "do not go together");
    bad("duplicate port", "hosts: [a]\nlisten:\n"
        "  - {port: 5222, ip: 127.0.0.1, module: c2s, starttls: false}\n"
        "  - {port: 5222, ip: 0.0.0.0, module: c2s, starttls: false}\n", 0, 4, 5,
        "clashes with the listener at line 3");
    bad("duplicate port v6", "hosts: [a]\nlisten:\n"
        "  - {port: 5222, ip: \"::\", module: c2s, starttls: false}\n"
        "  - {port: 5222, ip: \"::1\", module: c2s, starttls: false}\n", 0, 4, 5,
        "clashes");
    bad("tls without certs", "hosts: [a]\nlisten:\n  - port: 5222\n    module: c2s\n",
        0, 3, 5, "certfiles lists no certificate");
    bad("certfile missing", "hosts: [a]\ncertfiles:\n  - nothere.pem\n"
        "listen:\n  - {port: 1, module: c2s}\n", XD_CONFIG_CHECK_FILES, 3, 5,
        "xmppcorectl gencert");
    snprintf(y, sizeof y, "%shost_config:\n  other.org:\n    allow_anonymous: true\n",
             head);
    bad("host_config host", y, 0, 7, 3, "other.org is not in hosts");
    snprintf(y, sizeof y, "%shost_config:\n  localhost:\n    loglevel: debug\n", head);
    bad("host_config option", y, 0, 8, 5, "unknown option loglevel");
    char longp[300];
    memset(longp, 'a', 200);
    longp[200] = '\0';
    snprintf(y, sizeof y, "%sadmin_socket: /tmp/%s\n", head, longp);
    bad("socket path", y, 0, 6, 15, "too long");
    /* Every error is reported, not only the first. */
    {
        const char *name = "all errors";
        snprintf(y, sizeof y, "%sfoo: 1\nbar: 2\n", head);
        xd_config *c = load(y, 0);
        EXPECT(c && c->n_errors == 2);
        xd_config_free(c);
    }
}

static void test_missing_file(void)
{
    const char *name = "missing file";
    xd_config *c = xd_config_load("/nonexistent/x.yml", 0);
    EXPECT(c && c->n_errors == 1 && strstr(c->errors, "cannot open"));
    xd_config_free(c);
    if (!failures)
        passed++;
}

/* The demo configuration that scripts/run.sh uses is valid. */
static void test_demo(void)
{
    const char *name = "demo.yml";
    int before = failures;
    xd_config *c = xd_config_load(XD_DEMO_CONFIG, 0);
    EXPECT(c && c->n_errors == 0);
    if (c && c->n_errors)
        fprintf(stderr, "%s", c->errors);
    EXPECT(c && c->n_listen == 2 && c->listen[1].tls == 1);
    EXPECT(c && strstr(c->sql_database, "/data/xmppcore.db"));
    xd_config_free(c);
    if (failures == before)
        passed++;
}

int main(void)
{
    if (xmppcore_init() != 0 || !mkdtemp(dir))
        return 1;
    test_good();
    test_errors();
    test_missing_file();
    test_demo();
    char path[256];
    snprintf(path, sizeof path, "%s/x.yml", dir);
    unlink(path);
    rmdir(dir);
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}

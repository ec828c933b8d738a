/*
 * minimal — the smallest useful XMPP server on libxmppcore.
 *
 * One virtual host, accounts in memory, STARTTLS with a self-signed
 * certificate made at start (no files), the library's own event loop
 * (xmppcore/net.h). Ctrl-C or SIGTERM closes every client with
 * system-shutdown and exits 0.
 *
 *   minimal [--host IP] [--port N] [--domain D] [--plaintext] [USER:PASSWORD ...]
 *
 * Defaults: 127.0.0.1, 5222, localhost, alice:alice and bob:bob.
 * --plaintext turns STARTTLS off and allows PLAIN without TLS (testing
 * on loopback only: passwords then cross the wire in clear).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

static void account_done(int status, void *user)
{
    if (status != 0)
        fprintf(stderr, "account %s: %s\n", (const char *)user,
                xmppcore_strerror(status));
}

/* A certificate for domain, generated in memory. */
static int add_self_signed(xmppcore_server *srv, const char *domain)
{
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    int rc = key && cert ? xmppcore_tls_generate_self_signed_pem(
                               NULL, domain, NULL, 0, 365, key, cert)
                         : XMPPCORE_E_NOMEM;
    if (rc == 0)
        rc = xmppcore_server_add_cert_pem(srv, xmppcore_buffer_data(cert),
                                          xmppcore_buffer_data(key));
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    return rc;
}

int main(int argc, char **argv)
{
    const char *ip = "127.0.0.1", *domain = "localhost";
    int port = 5222, plaintext = 0, first_user = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            ip = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
            domain = argv[++i];
        else if (strcmp(argv[i], "--plaintext") == 0)
            plaintext = 1;
        else if (argv[i][0] != '-' && strchr(argv[i], ':')) {
            first_user = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--host IP] [--port N] [--domain D] "
                    "[--plaintext] [USER:PASSWORD ...]\n", argv[0]);
            return 2;
        }
    }
    static char *defaults[] = {"alice:alice", "bob:bob"};
    char **users = first_user < argc ? argv + first_user : defaults;
    int n_users = first_user < argc ? argc - first_user : 2;

    if (xmppcore_init() != 0)
        return 1;
    xmppcore_server *srv = xmppcore_server_new(NULL, NULL, NULL);
    xmppcore_store *store = xmppcore_store_memory_new(NULL);
    if (!srv || !store || xmppcore_server_add_vhost(srv, domain) != 0) {
        fprintf(stderr, "cannot set up the server for %s\n", domain);
        return 1;
    }
    xmppcore_server_set_store(srv, store);
    xmppcore_listener *l = xmppcore_server_add_listener(srv, "c2s",
                                                        XMPPCORE_LISTEN_C2S);
    if (plaintext) {
        xmppcore_listener_set_option(l, "starttls", "false");
        xmppcore_listener_set_option(l, "starttls_required", "false");
        xmppcore_server_set_option(srv, NULL, "auth.plain_without_tls", "true");
    } else if (add_self_signed(srv, domain) != 0) {
        fprintf(stderr, "certificate: %s\n", xmppcore_server_last_error(srv));
        return 1;
    }
    for (int i = 0; i < n_users; i++) {
        char *colon = strchr(users[i], ':');
        if (!colon) {
            fprintf(stderr, "%s: expected USER:PASSWORD\n", users[i]);
            return 2;
        }
        *colon = '\0';
        int rc = xmppcore_account_create(srv, domain, users[i], colon + 1,
                                         account_done, users[i]);
        if (rc != 0)
            fprintf(stderr, "account %s: %s\n", users[i], xmppcore_strerror(rc));
    }

    xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
    if (!loop || xmppcore_loop_catch_signals(loop) != 0) {
        fprintf(stderr, "cannot create the loop\n");
        return 1;
    }
    int bound = xmppcore_loop_listen(loop, l, ip, port);
    if (bound < 0) {
        fprintf(stderr, "listen: %s\n", xmppcore_loop_last_error(loop));
        return 1;
    }
    printf("minimal: XMPP for %s on %s port %d (%s)\n", domain, ip, bound,
           plaintext ? "plaintext" : "STARTTLS, self-signed");
    fflush(stdout);
    int rc = xmppcore_loop_run(loop); /* until SIGINT/SIGTERM */
    xmppcore_loop_free(loop);
    xmppcore_server_free(srv);
    xmppcore_store_free(store);
    printf("minimal: stopped\n");
    return rc == 0 ? 0 : 1;
}

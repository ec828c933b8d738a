/*
 * echo-bot — a server-side bot written as a hook, with public calls only.
 *
 * A handler on user_send_packet sees every stanza a logged-in client
 * sends, after the server has stamped its 'from'. Messages with a body
 * addressed to the bot (echo@DOMAIN, any resource) are answered with
 * xmppcore_stanza_reply() + xmppcore_server_send() and then dropped, so
 * the bot needs no account and no connection. Everything else goes on.
 * Runs on the built-in loop (xmppcore/net.h); Ctrl-C/SIGTERM exit 0.
 *
 *   echo-bot [--host IP] [--port N] [--domain D] [--bot NAME] [USER:PASSWORD ...]
 *
 * Defaults: 127.0.0.1, 5222, localhost, echo, alice:alice and bob:bob.
 * STARTTLS with a certificate generated at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppcore.h"

typedef struct {
    xmppcore_server *server;
    char jid[256]; /* the bot's bare JID */
    unsigned answered;
} bot;

static xmppcore_hook_result on_user_send(xmppcore_hook_event *ev, void *ud)
{
    bot *b = ud;
    xmppcore_stanza *st = xmppcore_hook_event_stanza(ev);
    const char *to = st ? xmppcore_stanza_attr(st, "to") : NULL;
    if (!to || strcmp(xmppcore_stanza_name(st), "message") != 0)
        return XMPPCORE_HOOK_CONTINUE;
    xmppcore_jid *j = NULL;
    if (xmppcore_jid_parse(NULL, to, (size_t)-1, &j) != 0)
        return XMPPCORE_HOOK_CONTINUE;
    int for_bot = strcmp(xmppcore_jid_bare_str(j), b->jid) == 0;
    xmppcore_jid_free(j);
    if (!for_bot)
        return XMPPCORE_HOOK_CONTINUE;
    const char *type = xmppcore_stanza_attr(st, "type");
    const char *body = xmppcore_stanza_child_text(st, "body", NULL);
    if (body && !(type && strcmp(type, "error") == 0)) {
        /* from/to swapped, same id and type. */
        xmppcore_stanza *r = xmppcore_stanza_reply(st, type ? type : "normal");
        xmppcore_stanza *rb = r ? xmppcore_stanza_add_child(r, "body", NULL) : NULL;
        if (rb && xmppcore_stanza_set_text(rb, body) == 0 &&
            xmppcore_server_send(b->server, r) == 0)
            b->answered++;
        xmppcore_stanza_free(r);
    }
    return XMPPCORE_HOOK_DROP; /* the bot has no session to deliver to */
}

static void account_done(int status, void *user)
{
    if (status != 0)
        fprintf(stderr, "account %s: %s\n", (const char *)user,
                xmppcore_strerror(status));
}

int main(int argc, char **argv)
{
    const char *ip = "127.0.0.1", *domain = "localhost", *name = "echo";
    int port = 5222, first_user = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            ip = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
            domain = argv[++i];
        else if (strcmp(argv[i], "--bot") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (argv[i][0] != '-' && strchr(argv[i], ':')) {
            first_user = i;
            break;
        } else {
            fprintf(stderr, "usage: %s [--host IP] [--port N] [--domain D] "
                    "[--bot NAME] [USER:PASSWORD ...]\n", argv[0]);
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
    xmppcore_buffer *key = xmppcore_buffer_new(NULL);
    xmppcore_buffer *cert = xmppcore_buffer_new(NULL);
    if (!srv || !store || !key || !cert ||
        xmppcore_server_add_vhost(srv, domain) != 0 ||
        xmppcore_tls_generate_self_signed_pem(NULL, domain, NULL, 0, 365, key,
                                              cert) != 0 ||
        xmppcore_server_add_cert_pem(srv, xmppcore_buffer_data(cert),
                                     xmppcore_buffer_data(key)) != 0) {
        fprintf(stderr, "cannot set up the server for %s\n", domain);
        return 1;
    }
    xmppcore_buffer_free(key);
    xmppcore_buffer_free(cert);
    xmppcore_server_set_store(srv, store);
    for (int i = 0; i < n_users; i++) {
        char *colon = strchr(users[i], ':');
        if (!colon)
            return 2;
        *colon = '\0';
        xmppcore_account_create(srv, domain, users[i], colon + 1, account_done,
                                users[i]);
    }

    bot b = {.server = srv};
    snprintf(b.jid, sizeof b.jid, "%s@%s", name, domain);
    xmppcore_hooks_add(xmppcore_server_hooks(srv),
                       XMPPCORE_HOOK_USER_SEND_PACKET, domain, 0, on_user_send,
                       &b);

    xmppcore_listener *l = xmppcore_server_add_listener(srv, "c2s",
                                                        XMPPCORE_LISTEN_C2S);
    xmppcore_loop *loop = xmppcore_loop_new(srv, NULL, NULL);
    int bound = loop && xmppcore_loop_catch_signals(loop) == 0
                    ? xmppcore_loop_listen(loop, l, ip, port)
                    : XMPPCORE_E_IO;
    if (bound < 0) {
        fprintf(stderr, "listen: %s\n", xmppcore_loop_last_error(loop));
        return 1;
    }
    printf("echo-bot: %s answers on %s port %d\n", b.jid, ip, bound);
    fflush(stdout);
    int rc = xmppcore_loop_run(loop);
    xmppcore_loop_free(loop);
    xmppcore_server_free(srv);
    xmppcore_store_free(store);
    printf("echo-bot: stopped after %u answers\n", b.answered);
    return rc == 0 ? 0 : 1;
}

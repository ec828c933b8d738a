/*
 * xmppcore-stream-check: reads an XMPP stream from a file (or stdin) and
 * checks it the way the server's parser does: restricted XML, UTF-8,
 * namespaces, size limits. Prints the stream header, each stanza as the
 * library re-serializes it, and on bad input the stream error the server
 * would send, exiting 1. Uses only the public API.
 *
 *   xmppcore-stream-check [--max-stanza BYTES] [FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmppcore.h>

typedef struct {
    long stanzas;
    xmppcore_buffer *out;
} state;

static void on_header(void *ud, const xmppcore_stanza *header,
                      const char *default_ns)
{
    (void)ud;
    const char *to = xmppcore_stanza_attr(header, "to");
    const char *ver = xmppcore_stanza_attr(header, "version");
    printf("stream header: to=%s version=%s content namespace=%s\n",
           to ? to : "(none)", ver ? ver : "(none)",
           *default_ns ? default_ns : "(none)");
}

static void on_stanza(void *ud, xmppcore_stanza *s)
{
    state *st = ud;
    st->stanzas++;
    xmppcore_buffer_clear(st->out);
    if (xmppcore_stanza_serialize(s, XMPPCORE_NS_CLIENT, st->out) == 0)
        printf("stanza %ld: %s\n", st->stanzas, xmppcore_buffer_data(st->out));
    xmppcore_stanza_free(s);
}

static void on_end(void *ud)
{
    (void)ud;
    printf("stream closed by peer\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    long max_stanza = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-stanza") == 0 && i + 1 < argc) {
            max_stanza = atol(argv[++i]);
            if (max_stanza <= 0) {
                fprintf(stderr, "--max-stanza needs a positive number\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "usage: %s [--max-stanza BYTES] [FILE]\n", argv[0]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
    if (!f) {
        perror(path);
        return 2;
    }
    if (xmppcore_init() != 0) {
        fprintf(stderr, "library initialisation failed\n");
        return 2;
    }
    state st = {0, xmppcore_buffer_new(NULL)};
    xmppcore_parser_callbacks cb = {XMPPCORE_PARSER_CALLBACKS_VERSION,
                                    on_header, on_stanza, on_end};
    xmppcore_parser *p = xmppcore_parser_new(&cb, &st, NULL);
    if (!p || !st.out) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    if (max_stanza)
        xmppcore_parser_set_limit(p, XMPPCORE_LIMIT_STANZA_BYTES,
                                  (size_t)max_stanza);
    char buf[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = xmppcore_parser_feed(p, buf, n, NULL);
    if (rc != 0) {
        printf("stream error <%s/>: %s (%s)\n", xmppcore_stream_condition(rc),
               xmppcore_strerror(rc), xmppcore_parser_error_text(p));
    } else {
        printf("%ld stanzas, stream well-formed\n", st.stanzas);
    }
    xmppcore_parser_free(p);
    xmppcore_buffer_free(st.out);
    if (f != stdin)
        fclose(f);
    return rc ? 1 : 0;
}

/*
 * Benchmark: XML stream → stanza objects → serializer, against raw expat
 * parsing the same bytes with no callbacks, in the same run.
 *
 * Prints MB/s and stanzas/s for each, the ratio (goal: parse-to-stanza at
 * least 50% of raw expat), serializer MB/s (goal: 200 MB/s), and the
 * allocations per parsed stanza. Each figure is the median of several
 * rounds. Usage: bench_xml [megabytes] [rounds]
 */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmppcore.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A deterministic, realistic mix: 60% chat messages (bodies 10–400
 * bytes, receipts, chat states), 25% presences with caps, 15% iqs. */
static char *make_stream(size_t target, size_t *len, long *nstanzas)
{
    static const char hdr[] =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
        "version='1.0' xml:lang='en'>";
    static const char words[] = "lorem ipsum dolor sit amet consectetur "
                                "adipiscing elit sed do eiusmod tempor "
                                "incididunt ut labore et dolore magna aliqua "
                                "caf\xc3\xa9 \xe2\x98\xba &amp; &lt;3 ";
    size_t cap = target + 4096;
    char *s = malloc(cap);
    size_t n = 0;
    long count = 0;
    unsigned seed = 12345;
    n += (size_t)sprintf(s, "%s", hdr);
    while (n < target) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 8) % 100;
        char body[512];
        if (r < 60) {
            unsigned bl = 10 + (seed >> 4) % 390, k = 0;
            while (k < bl) {
                size_t take = sizeof words - 1;
                if (take > bl - k)
                    take = bl - k;
                memcpy(body + k, words, take);
                k += (unsigned)take;
            }
            body[k] = 0;
            /* don't cut an entity or a UTF-8 sequence: trim to a space */
            char *sp = strrchr(body, ' ');
            if (sp)
                *sp = 0;
            n += (size_t)sprintf(s + n,
                "<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' "
                "type='chat' id='msg%ld' xml:lang='en'><body>%s</body>"
                "<request xmlns='urn:xmpp:receipts'/>"
                "<active xmlns='http://jabber.org/protocol/chatstates'/>"
                "<origin-id xmlns='urn:xmpp:sid:0' id='5f2c%ld'/></message>",
                count, body, count);
        } else if (r < 85) {
            n += (size_t)sprintf(s + n,
                "<presence from='user%u@example.com/res' id='p%ld'><show>away</show>"
                "<status>Out to lunch</status><priority>5</priority>"
                "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
                "node='https://conversations.im' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>"
                "<x xmlns='vcard-temp:x:update'><photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x>"
                "</presence>\n",
                seed % 1000, count);
        } else if (r < 93) {
            n += (size_t)sprintf(s + n,
                "<iq type='get' id='ping%ld' to='example.com'><ping xmlns='urn:xmpp:ping'/></iq> ",
                count);
        } else {
            n += (size_t)sprintf(s + n,
                "<iq type='set' id='r%ld'><query xmlns='jabber:iq:roster'>"
                "<item jid='friend%ld@example.org' name='Friend %ld' subscription='both'>"
                "<group>Friends</group><group>Work</group></item></query></iq>",
                count, count, count);
        }
        count++;
    }
    *len = n;
    *nstanzas = count;
    return s;
}

/* ---- raw expat ---- */
static double run_expat(const char *s, size_t len, size_t chunk)
{
    double t0 = now();
    XML_Parser p = XML_ParserCreateNS("UTF-8", '\x01');
    for (size_t off = 0; off < len; off += chunk) {
        size_t k = len - off < chunk ? len - off : chunk;
        if (XML_Parse(p, s + off, (int)k, 0) != XML_STATUS_OK) {
            fprintf(stderr, "expat: %s\n", XML_ErrorString(XML_GetErrorCode(p)));
            exit(1);
        }
    }
    XML_ParserFree(p);
    return now() - t0;
}

/* ---- ours ---- */
typedef struct {
    long count;
    xmppcore_stanza **keep;
    long nkeep;
} sink;

static void on_stanza(void *ud, xmppcore_stanza *st)
{
    sink *k = ud;
    k->count++;
    if (k->keep)
        k->keep[k->nkeep++] = st;
    else
        xmppcore_stanza_free(st);
}

static long allocs;
static void *c_malloc(size_t n, void *ud)
{
    (void)ud;
    allocs++;
    return malloc(n);
}
static void *c_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    allocs++;
    return realloc(p, n);
}
static void c_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}
static const xmppcore_mem counting = {XMPPCORE_MEM_VERSION, NULL, c_malloc,
                                      c_realloc, c_free};

static double run_ours(const char *s, size_t len, size_t chunk, sink *k,
                       const xmppcore_mem *mem)
{
    xmppcore_parser_callbacks cb = {XMPPCORE_PARSER_CALLBACKS_VERSION, NULL,
                                    on_stanza, NULL};
    double t0 = now();
    xmppcore_parser *p = xmppcore_parser_new(&cb, k, mem);
    for (size_t off = 0; off < len; off += chunk) {
        size_t kk = len - off < chunk ? len - off : chunk;
        int rc = xmppcore_parser_feed(p, s + off, kk, NULL);
        if (rc) {
            fprintf(stderr, "parser: %s: %s\n", xmppcore_strerror(rc),
                    xmppcore_parser_error_text(p));
            exit(1);
        }
    }
    xmppcore_parser_free(p);
    return now() - t0;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 32;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (rounds < 1 || rounds > 99)
        rounds = 7;
    const size_t chunk = 4096; /* a typical socket read */
    xmppcore_init();
    size_t len;
    long n;
    char *s = make_stream(mb << 20, &len, &n);
    double mbytes = len / 1048576.0;
    printf("input: %.1f MB, %ld stanzas (avg %.0f bytes), fed in %zu-byte chunks, "
           "median of %d rounds\n", mbytes, n, (double)len / n, chunk, rounds);

    double te[99], to[99], ts[99];
    for (int r = 0; r < rounds; r++) {
        te[r] = run_expat(s, len, chunk);
        sink k = {0, NULL, 0};
        to[r] = run_ours(s, len, chunk, &k, NULL);
        if (k.count != n) {
            fprintf(stderr, "stanza count %ld != %ld\n", k.count, n);
            return 1;
        }
    }
    double e = median(te, rounds), o = median(to, rounds);

    /* allocations per stanza, with a counting allocator */
    sink k = {0, NULL, 0};
    allocs = 0;
    run_ours(s, len, chunk, &k, &counting);
    double per = (double)allocs / k.count;

    /* serializer: all stanzas into a reused buffer */
    sink keep = {0, malloc(sizeof(xmppcore_stanza *) * (size_t)n), 0};
    run_ours(s, len, chunk, &keep, NULL);
    xmppcore_buffer *out = xmppcore_buffer_new(NULL);
    size_t out_bytes = 0;
    for (int r = 0; r < rounds; r++) {
        out_bytes = 0;
        double t0 = now();
        for (long i = 0; i < keep.nkeep; i++) {
            xmppcore_buffer_clear(out);
            xmppcore_stanza_serialize(keep.keep[i], "jabber:client", out);
            out_bytes += xmppcore_buffer_len(out);
        }
        ts[r] = now() - t0;
    }
    double sr = median(ts, rounds);
    for (long i = 0; i < keep.nkeep; i++)
        xmppcore_stanza_free(keep.keep[i]);
    free(keep.keep);
    xmppcore_buffer_free(out);

    printf("raw expat (no callbacks):  %8.1f MB/s  %10.0f stanzas/s\n",
           mbytes / e, n / e);
    printf("parse to stanza objects:   %8.1f MB/s  %10.0f stanzas/s  = %.0f%% of raw expat (goal >= 50%%)\n",
           mbytes / o, n / o, 100.0 * e / o);
    printf("serializer:                %8.1f MB/s  %10.0f stanzas/s  (goal >= 200 MB/s)\n",
           out_bytes / 1048576.0 / sr, n / sr);
    printf("allocations per parsed stanza: %.2f\n", per);
    free(s);
    return 0;
}
